/*
 * RFC 6455 4.1 opening handshake: the request writer (byte-exact text for fixed
 * nonces, header validation, buffer sizes) and the 101-response parser. Parser
 * cases are a response head (written as C text, since these bytes are text)
 * plus the bytes that follow it on the wire (hex), run through
 * wsc_test_each_chunking(): the log must show the same outcome, the same
 * cumulative consumed count (always the head length, never a byte more) and
 * the same leftover for every chunking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "wsc/wsc_core.h"

/* RFC 6455 4.1 and 1.3: the sample nonce, its key and the server's answer. */
static const uint8_t SAMPLE_NONCE[WSC_HANDSHAKE_NONCE_LEN] = "the sample nonce";
#define SAMPLE_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define SAMPLE_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* ---- request writer ---------------------------------------------------- */

static int write_request(const struct wsc_request_info *req, char *out, size_t cap,
                         size_t *written)
{
    struct wsc_handshake hs;
    char head[256];
    struct wsc_header headers[8];
    assert_int_equal(wsc_handshake_init(&hs, req, head, sizeof(head), headers, 8), 0);
    return wsc_handshake_write_request(&hs, SAMPLE_NONCE, out, cap, written);
}

static void expect_request(const struct wsc_request_info *req, const char *want)
{
    char out[2048];
    size_t written = 0;
    assert_int_equal(write_request(req, out, sizeof(out), &written), 0);
    assert_int_equal(written, strlen(want));
    if (memcmp(out, want, written) != 0) {
        print_error("got:\n%.*s\nwant:\n%s\n", (int)written, out, want);
        fail();
    }
}

static void request_for_the_rfc_sample_nonce_is_exact(void **state)
{
    (void)state;
    struct wsc_request_info req = {
        .host = "server.example.com", .port = 80, .resource = "/chat"};
    expect_request(&req, "GET /chat HTTP/1.1\r\n"
                         "Host: server.example.com\r\n"
                         "Upgrade: websocket\r\n"
                         "Connection: Upgrade\r\n"
                         "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"
                         "Sec-WebSocket-Version: 13\r\n"
                         "\r\n");
    /* No resource means "/"; port 0 means the scheme's default. */
    struct wsc_request_info bare = {.host = "example.com"};
    expect_request(&bare, "GET / HTTP/1.1\r\n"
                          "Host: example.com\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"
                          "Sec-WebSocket-Version: 13\r\n"
                          "\r\n");
}

static void request_key_is_the_base64_of_the_nonce(void **state)
{
    (void)state;
    static const uint8_t zeros[WSC_HANDSHAKE_NONCE_LEN] = {0};
    static const uint8_t ones[WSC_HANDSHAKE_NONCE_LEN] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    struct wsc_request_info req = {.host = "h"};
    struct wsc_handshake hs;
    char head[128], out[512];
    struct wsc_header headers[4];
    size_t w;
    assert_int_equal(wsc_handshake_init(&hs, &req, head, sizeof(head), headers, 4), 0);
    assert_int_equal(wsc_handshake_write_request(&hs, zeros, out, sizeof(out), &w), 0);
    out[w] = '\0';
    assert_non_null(strstr(out, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"));
    assert_int_equal(wsc_handshake_write_request(&hs, ones, out, sizeof(out), &w), 0);
    out[w] = '\0';
    assert_non_null(strstr(out, "Sec-WebSocket-Key: /////////////////////w==\r\n"));
}

static void host_header_carries_the_port_only_when_not_the_default(void **state)
{
    (void)state;
    static const struct {
        const char *host;
        uint16_t port;
        bool tls;
        const char *line;
    } cases[] = {
        {"example.com", 80, false, "Host: example.com\r\n"},
        {"example.com", 443, true, "Host: example.com\r\n"},
        {"example.com", 0, true, "Host: example.com\r\n"},
        {"example.com", 8080, false, "Host: example.com:8080\r\n"},
        {"example.com", 443, false, "Host: example.com:443\r\n"},
        {"example.com", 80, true, "Host: example.com:80\r\n"},
        {"example.com", 65535, true, "Host: example.com:65535\r\n"},
        {"example.com", 1, false, "Host: example.com:1\r\n"},
        {"127.0.0.1", 9001, false, "Host: 127.0.0.1:9001\r\n"},
        {"::1", 9000, false, "Host: [::1]:9000\r\n"},
        {"2001:db8::1", 80, false, "Host: [2001:db8::1]\r\n"},
        {"fe80::1", 443, true, "Host: [fe80::1]\r\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wsc_request_info req = {
            .host = cases[i].host, .port = cases[i].port, .tls = cases[i].tls};
        char out[1024];
        size_t w = 0;
        assert_int_equal(write_request(&req, out, sizeof(out) - 1, &w), 0);
        out[w] = '\0';
        /* Host is the second line, right after the request line. */
        const char *host = strstr(out, "\r\n") + 2;
        assert_int_equal(strncmp(host, cases[i].line, strlen(cases[i].line)), 0);
        assert_int_equal(strncmp(host + strlen(cases[i].line), "Upgrade:", 8), 0);
    }
}

static void request_with_query_origin_protocols_and_user_headers_is_exact(void **state)
{
    (void)state;
    static const char *const protocols[] = {"chat", "superchat"};
    static const struct wsc_header user[] = {
        {"Authorization", 13, "Bearer abc.def", 14},
        {"X-Trace", 7, "1;\tsampled", 10},
        {"Cookie", 6, "a=b; c=d", 8},
    };
    struct wsc_request_info req = {.host = "server.example.com",
                                   .port = 8443,
                                   .tls = true,
                                   .resource = "/chat?room=1&lang=en",
                                   .origin = "http://example.com",
                                   .protocols = protocols,
                                   .protocol_count = 2,
                                   .headers = user,
                                   .header_count = 3};
    expect_request(&req, "GET /chat?room=1&lang=en HTTP/1.1\r\n"
                         "Host: server.example.com:8443\r\n"
                         "Upgrade: websocket\r\n"
                         "Connection: Upgrade\r\n"
                         "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"
                         "Sec-WebSocket-Version: 13\r\n"
                         "Origin: http://example.com\r\n"
                         "Sec-WebSocket-Protocol: chat, superchat\r\n"
                         "Authorization: Bearer abc.def\r\n"
                         "X-Trace: 1;\tsampled\r\n"
                         "Cookie: a=b; c=d\r\n"
                         "\r\n");
    /* One protocol, no origin; a user Origin header is fine when wsc sets none. */
    static const char *const one[] = {"v2.bookings.example.net"};
    static const struct wsc_header origin[] = {{"Origin", 6, "https://a.example", 17}};
    struct wsc_request_info req2 = {.host = "h",
                                    .protocols = one,
                                    .protocol_count = 1,
                                    .headers = origin,
                                    .header_count = 1};
    expect_request(&req2, "GET / HTTP/1.1\r\n"
                          "Host: h\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"
                          "Sec-WebSocket-Version: 13\r\n"
                          "Sec-WebSocket-Protocol: v2.bookings.example.net\r\n"
                          "Origin: https://a.example\r\n"
                          "\r\n");
}

static void expect_header_rejected(const struct wsc_header *h)
{
    struct wsc_request_info req = {.host = "h", .headers = h, .header_count = 1};
    char out[512];
    size_t w = 99;
    int rc = write_request(&req, out, sizeof(out), &w);
    if (rc != WSC_EHEADER) {
        print_error("header '%.*s' accepted (rc %d)\n", (int)h->name_len, h->name, rc);
        fail();
    }
    assert_int_equal(w, 0);
}

static void user_headers_with_cr_lf_nul_or_bad_names_fail_with_eheader(void **state)
{
    (void)state;
    static const struct wsc_header bad[] = {
        /* names */
        {"X-A\r", 4, "v", 1},
        {"X-A\nInjected: 1", 15, "v", 1},
        {"X\0A", 3, "v", 1},
        {"X A", 3, "v", 1},
        {"X-A:", 4, "v", 1},
        {"", 0, "v", 1},
        {"X(A)", 4, "v", 1},
        {"X\"A", 3, "v", 1},
        {"X/A", 3, "v", 1},
        {"\xc3\xa9t\xc3\xa9", 6, "v", 1},
        /* values */
        {"X-A", 3, "a\rb", 3},
        {"X-A", 3, "a\nb", 3},
        {"X-A", 3, "a\r\nInjected: 1", 14},
        {"X-A", 3, "a\0b", 3},
        {"X-A", 3, "\r\n", 2},
        {"X-A", 3, "a\x7f", 2},
        {"X-A", 3, "a\x01", 2},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_header_rejected(&bad[i]);
    /* Token characters other than letters and digits are fine. */
    static const struct wsc_header good[] = {{"X!#$%&'*+-.^_`|~9", 17, "v", 1}};
    struct wsc_request_info req = {.host = "h", .headers = good, .header_count = 1};
    char out[512];
    size_t w;
    assert_int_equal(write_request(&req, out, sizeof(out), &w), 0);
}

static void reserved_header_names_fail_with_eheader_in_any_case(void **state)
{
    (void)state;
    static const char *const names[] = {
        "Host",
        "HOST",
        "host",
        "Upgrade",
        "upgrade",
        "Connection",
        "CONNECTION",
        "Sec-WebSocket-Key",
        "sec-websocket-key",
        "sec-websocket-protocol",
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Extensions",
        "Sec-WebSocket-Accept",
        "SEC-WEBSOCKET-ANYTHING",
        "Content-Length",
        "content-length",
        "Transfer-Encoding",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct wsc_header h = {names[i], strlen(names[i]), "x", 1};
        expect_header_rejected(&h);
    }
    /* Origin is reserved only when wsc writes one itself. */
    struct wsc_header o = {"origin", 6, "x", 1};
    struct wsc_request_info req = {
        .host = "h", .origin = "http://a", .headers = &o, .header_count = 1};
    char out[512];
    size_t w;
    assert_int_equal(write_request(&req, out, sizeof(out), &w), WSC_EHEADER);
    /* Names that merely start like a reserved one are not reserved. */
    static const char *const fine[] = {"Hosts", "X-Host", "Upgrade-Insecure-Requests",
                                       "Sec-WebSocket", "Connections"};
    for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
        struct wsc_header h = {fine[i], strlen(fine[i]), "x", 1};
        struct wsc_request_info r = {.host = "h", .headers = &h, .header_count = 1};
        assert_int_equal(write_request(&r, out, sizeof(out), &w), 0);
    }
}

static void bad_origin_or_protocol_fails_with_eheader(void **state)
{
    (void)state;
    char out[512];
    size_t w;
    struct wsc_request_info req = {.host = "h", .origin = "http://a\r\nX: y"};
    assert_int_equal(write_request(&req, out, sizeof(out), &w), WSC_EHEADER);
    static const char *const bad[][1] = {{"chat room"}, {"a,b"}, {""}, {"a\r\n"}, {"(x)"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct wsc_request_info r = {.host = "h", .protocols = bad[i], .protocol_count = 1};
        assert_int_equal(write_request(&r, out, sizeof(out), &w), WSC_EHEADER);
        assert_int_equal(w, 0);
    }
}

static void bad_host_or_resource_fails_with_einval(void **state)
{
    (void)state;
    static const char *const hosts[] = {"", "a b", "a\r\nX: y", "a\tb"};
    static const char *const resources[] = {"", "chat", "/a b", "/a\r\nX: y", "/\x7f"};
    char out[512];
    size_t w;
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        struct wsc_request_info req = {.host = hosts[i]};
        assert_int_equal(write_request(&req, out, sizeof(out), &w), WSC_EINVAL);
        assert_int_equal(w, 0);
    }
    for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
        struct wsc_request_info req = {.host = "h", .resource = resources[i]};
        assert_int_equal(write_request(&req, out, sizeof(out), &w), WSC_EINVAL);
        assert_int_equal(w, 0);
    }
}

/* An empty value may come without a pointer at all. */
static void user_header_with_an_empty_value_is_written(void **state)
{
    (void)state;
    static const struct wsc_header user[] = {{"X-Empty", 7, NULL, 0}, {"X-B", 3, "1", 1}};
    struct wsc_request_info req = {.host = "h", .headers = user, .header_count = 2};
    char out[512];
    size_t w;
    assert_int_equal(write_request(&req, out, sizeof(out) - 1, &w), 0);
    out[w] = '\0';
    assert_non_null(strstr(out, "\r\nX-Empty:"));
    assert_non_null(strstr(out, "\r\nX-B: 1\r\n\r\n"));
}

/* RFC 7692 5, 7.1: the offer goes after the subprotocols, before user headers. */
static void deflate_offer_is_written_as_sec_websocket_extensions(void **state)
{
    (void)state;
    static const char *const protocols[] = {"chat"};
    static const struct wsc_header user[] = {{"X-A", 3, "b", 1}};
    struct wsc_pmd_offer dflt = {false, false, 0, 0};
    struct wsc_request_info req = {.host = "h",
                                   .protocols = protocols,
                                   .protocol_count = 1,
                                   .headers = user,
                                   .header_count = 1};
    wsc_pmd_enable(&req, &dflt);
    expect_request(
        &req, "GET / HTTP/1.1\r\n"
              "Host: h\r\n"
              "Upgrade: websocket\r\n"
              "Connection: Upgrade\r\n"
              "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"
              "Sec-WebSocket-Version: 13\r\n"
              "Sec-WebSocket-Protocol: chat\r\n"
              "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
              "X-A: b\r\n"
              "\r\n");
    struct wsc_pmd_offer all = {true, true, 10, 9};
    struct wsc_request_info req2 = {.host = "h"};
    wsc_pmd_enable(&req2, &all);
    expect_request(&req2, "GET / HTTP/1.1\r\n"
                          "Host: h\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"
                          "Sec-WebSocket-Version: 13\r\n"
                          "Sec-WebSocket-Extensions: permessage-deflate; "
                          "client_no_context_takeover; server_no_context_takeover; "
                          "client_max_window_bits=10; server_max_window_bits=9\r\n"
                          "\r\n");
    struct wsc_pmd_offer none = {false, false, WSC_PMD_NOT_OFFERED, 0};
    struct wsc_request_info req3 = {.host = "h"};
    wsc_pmd_enable(&req3, &none);
    char out[512];
    size_t w;
    assert_int_equal(write_request(&req3, out, sizeof(out) - 1, &w), 0);
    out[w] = '\0';
    assert_non_null(
        strstr(out, "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"));
    /* An offer we could not keep (a client window of 8) or out of range. */
    static const struct wsc_pmd_offer bad[] = {{false, false, 8, 0},
                                               {false, false, 16, 0},
                                               {false, false, 0, 7},
                                               {false, false, 0, 16}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct wsc_request_info r = {.host = "h"};
        wsc_pmd_enable(&r, &bad[i]);
        w = 99;
        assert_int_equal(write_request(&r, out, sizeof(out), &w), WSC_EINVAL);
        assert_int_equal(w, 0);
    }
    /* The offer counts in the size check like any other line. */
    size_t need;
    assert_int_equal(write_request(&req2, out, sizeof(out), &need), 0);
    for (size_t cap = need - 40; cap < need; cap++) {
        char *small = malloc(cap);
        assert_non_null(small);
        assert_int_equal(write_request(&req2, small, cap, &w), WSC_ENOBUFS);
        free(small);
    }
    /* An offer set by hand, not with wsc_pmd_enable(), has no code to write
     * it: refused rather than silently left out. */
    struct wsc_request_info by_hand = {.host = "h", .deflate = &dflt};
    w = 99;
    assert_int_equal(write_request(&by_hand, out, sizeof(out), &w), WSC_EINVAL);
    assert_int_equal(w, 0);
    /* NULL takes the offer back; a NULL request is ignored. */
    wsc_pmd_enable(&req2, NULL);
    assert_null(req2.deflate);
    assert_int_equal(write_request(&req2, out, sizeof(out) - 1, &w), 0);
    out[w] = '\0';
    assert_null(strstr(out, "Sec-WebSocket-Extensions"));
    wsc_pmd_enable(NULL, &dflt);
}

static void request_into_a_small_buffer_fails_with_enobufs(void **state)
{
    (void)state;
    static const char *const protocols[] = {"chat"};
    static const struct wsc_header user[] = {{"X-A", 3, "b", 1}};
    struct wsc_request_info req = {.host = "server.example.com",
                                   .port = 8080,
                                   .resource = "/x",
                                   .origin = "o",
                                   .protocols = protocols,
                                   .protocol_count = 1,
                                   .headers = user,
                                   .header_count = 1};
    char full[1024];
    size_t need;
    assert_int_equal(write_request(&req, full, sizeof(full), &need), 0);
    for (size_t cap = 0; cap < need; cap++) {
        char *out = malloc(cap ? cap : 1); /* exact size: an over-write trips ASan */
        size_t w = 99;
        assert_non_null(out);
        assert_int_equal(write_request(&req, out, cap, &w), WSC_ENOBUFS);
        assert_int_equal(w, 0);
        free(out);
    }
    char *out = malloc(need);
    size_t w;
    assert_non_null(out);
    assert_int_equal(write_request(&req, out, need, &w), 0);
    assert_int_equal(w, need);
    assert_memory_equal(out, full, need);
    free(out);
}

static void accept_for_the_rfc_sample_key(void **state)
{
    (void)state;
    char out[WSC_HANDSHAKE_ACCEPT_LEN];
    wsc_handshake_accept_for(SAMPLE_KEY, out);
    assert_memory_equal(out, SAMPLE_ACCEPT, WSC_HANDSHAKE_ACCEPT_LEN);
}

static void init_rejects_missing_or_small_buffers(void **state)
{
    (void)state;
    struct wsc_handshake hs;
    struct wsc_request_info req = {.host = "h"}, nohost = {0};
    char head[64];
    struct wsc_header headers[1];
    assert_int_equal(wsc_handshake_init(&hs, &req, head, 64, headers, 1), 0);
    assert_int_equal(wsc_handshake_init(&hs, &req, head, 63, headers, 1), WSC_EINVAL);
    assert_int_equal(wsc_handshake_init(&hs, &req, head, 64, headers, 0), WSC_EINVAL);
    assert_int_equal(wsc_handshake_init(&hs, &req, NULL, 64, headers, 1), WSC_EINVAL);
    assert_int_equal(wsc_handshake_init(&hs, &req, head, 64, NULL, 1), WSC_EINVAL);
    assert_int_equal(wsc_handshake_init(&hs, &nohost, head, 64, headers, 1), WSC_EINVAL);
    /* Without a request: a plain response-head parser that writes no request. */
    assert_int_equal(wsc_handshake_init(&hs, NULL, head, 64, headers, 1), 0);
    char out[512];
    size_t w = 9;
    assert_int_equal(wsc_handshake_write_request(&hs, SAMPLE_NONCE, out, sizeof(out), &w),
                     WSC_EINVAL);
    assert_int_equal(w, 0);
}

/* ---- response parser: table runner ------------------------------------- */

#define HEAD(s) .head = s, .head_len = sizeof(s) - 1
#define HEAD_EXACT ((size_t)-1) /* head_cap = the head's length */
#define HEAD_SHORT ((size_t)-2) /* head_cap = the head's length - 1 */

struct hs_case {
    const char *name;
    const char *head;
    size_t head_len;
    const char *tail_hex; /* bytes after the head (frames, a body), or NULL */
    const char *expect;   /* {H} = head_len, {H-1} = head_len - 1 */
    size_t head_cap;      /* 0 = WSC_HEAD_MAX_DEFAULT */
    size_t header_cap;    /* 0 = WSC_HEADERS_MAX_DEFAULT */
    bool show_headers;
    bool offer; /* offer "chat" and "superchat" */
    bool plain; /* no request: parse any HTTP/1.1 head, no WebSocket checks */
    const struct wsc_pmd_offer *deflate; /* offer permessage-deflate */
};

static const char *const OFFERED[] = {"chat", "superchat"};

static void log_text(struct wsc_test_log *log, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
            wsc_test_log_printf(log, "%c", c);
        else
            wsc_test_log_printf(log, "\\x%02x", c);
    }
}

static void log_outcome(struct wsc_test_log *log, const struct wsc_handshake *hs,
                        const struct hs_case *c, int rc, size_t at)
{
    if (rc == 0)
        wsc_test_log_printf(log, "OK at=%zu status=%d", at, hs->status);
    else
        wsc_test_log_printf(log, "ERR %d at=%zu status=%d", rc, at, hs->status);
    if (rc == 0 || rc == WSC_EHS_STATUS) {
        wsc_test_log_printf(log, " reason='");
        log_text(log, hs->reason, hs->reason_len);
        wsc_test_log_printf(log, "'");
    }
    if (rc == 0) {
        /* The selected protocol must be the offered string itself. */
        if (!hs->protocol)
            wsc_test_log_printf(log, " protocol=-");
        else if (c->offer && hs->protocol == OFFERED[0])
            wsc_test_log_printf(log, " protocol=offered[0]");
        else if (c->offer && hs->protocol == OFFERED[1])
            wsc_test_log_printf(log, " protocol=offered[1]");
        else
            wsc_test_log_printf(log, " protocol=FOREIGN");
        /* What permessage-deflate agreed on, for cases that offer it. */
        const struct wsc_pmd_params *p = &hs->deflate_params;
        if (hs->deflate && !c->deflate)
            wsc_test_log_printf(log, " BAD deflate without an offer");
        else if (c->deflate && !hs->deflate)
            wsc_test_log_printf(log, " deflate=-");
        else if (c->deflate)
            wsc_test_log_printf(log, " deflate=s%u%s,c%u%s", p->server_max_window_bits,
                                p->server_no_context_takeover ? "nct" : "",
                                p->client_max_window_bits,
                                p->client_no_context_takeover ? "nct" : "");
    } else if (hs->protocol) {
        wsc_test_log_printf(log, " BAD protocol set on failure");
    }
    if (rc != 0 && hs->deflate)
        wsc_test_log_printf(log, " BAD deflate set on failure");
    wsc_test_log_printf(log, "\n");
    if (c->show_headers) {
        for (size_t i = 0; i < hs->header_count; i++) {
            const struct wsc_header *h = &hs->headers[i];
            wsc_test_log_printf(log, "H '");
            log_text(log, h->name, h->name_len);
            wsc_test_log_printf(log, "' '");
            log_text(log, h->value, h->value_len);
            wsc_test_log_printf(log, "'\n");
        }
    }
}

static void hs_run(void *ctx, const uint8_t *data, size_t len, const size_t *bounds,
                   size_t nbounds, struct wsc_test_log *log)
{
    const struct hs_case *c = ctx;
    struct wsc_request_info req = {.host = "server.example.com",
                                   .port = 80,
                                   .resource = "/chat",
                                   .protocols = c->offer ? OFFERED : NULL,
                                   .protocol_count = c->offer ? 2 : 0};
    wsc_pmd_enable(&req, c->deflate);
    size_t head_cap = c->head_cap == HEAD_EXACT   ? c->head_len
                      : c->head_cap == HEAD_SHORT ? c->head_len - 1
                      : c->head_cap               ? c->head_cap
                                                  : WSC_HEAD_MAX_DEFAULT;
    size_t header_cap = c->header_cap ? c->header_cap : WSC_HEADERS_MAX_DEFAULT;
    /* Exact-size blocks: writing past either limit trips ASan. */
    char *head = malloc(head_cap);
    struct wsc_header *headers = malloc(header_cap * sizeof(*headers));
    struct wsc_handshake hs;
    char request[512];
    size_t w;
    assert_non_null(head);
    assert_non_null(headers);
    assert_int_equal(wsc_handshake_init(&hs, c->plain ? NULL : &req, head, head_cap,
                                        headers, header_cap),
                     0);
    if (!c->plain)
        assert_int_equal(
            wsc_handshake_write_request(&hs, SAMPLE_NONCE, request, sizeof(request), &w),
            0);

    struct wsc_test_stream st = {0};
    size_t total = 0, start = 0;
    int result = 1; /* 1 = not settled yet */
    for (size_t b = 0; b < nbounds; b++) {
        wsc_test_stream_push(&st, data + start, bounds[b] - start);
        start = bounds[b];
        size_t avail, used = 12345;
        const uint8_t *in = wsc_test_stream_data(&st, &avail);
        int rc = wsc_handshake_parse(&hs, in, avail, &used);
        if (used > avail) {
            wsc_test_log_printf(log, "BAD consumed %zu of %zu\n", used, avail);
            break;
        }
        if (result != 1) {
            /* Settled: the same answer, and the bytes stay with the caller. */
            if (rc != result || used != 0)
                wsc_test_log_printf(log, "BAD after settling: %d consumed %zu\n", rc, used);
            continue;
        }
        wsc_test_stream_consume(&st, used);
        total += used;
        if (rc == WSC_EAGAIN) {
            if (used != avail)
                wsc_test_log_printf(log, "BAD EAGAIN left %zu\n", avail - used);
            continue;
        }
        result = rc;
        log_outcome(log, &hs, c, rc, total);
    }
    if (result == 1) {
        wsc_test_log_printf(log, "AGAIN at=%zu\n", total);
    } else {
        /* Sticky: one more call, with or without input, changes nothing. */
        size_t used = 12345;
        static const uint8_t more[] = "\r\n\r\n";
        if (wsc_handshake_parse(&hs, more, 4, &used) != result || used != 0)
            wsc_test_log_printf(log, "BAD not sticky\n");
        if (wsc_handshake_parse(&hs, more, 0, &used) != result || used != 0)
            wsc_test_log_printf(log, "BAD not sticky\n");
    }
    /* Whatever follows the head is still in the connection buffer, untouched. */
    size_t left;
    const uint8_t *rest = wsc_test_stream_data(&st, &left);
    if (total + left != len || (left && memcmp(rest, data + total, left) != 0))
        wsc_test_log_printf(log, "BAD leftover\n");
    wsc_test_log_printf(log, "END at=%zu left=%zu\n", total, left);
    wsc_test_stream_free(&st);
    free(head);
    free(headers);
}

/* Replaces {H} and {H-1} in the expected log with the head length. */
static char *expand(const char *tmpl, size_t head_len)
{
    size_t cap = strlen(tmpl) * 2 + 64, n = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    for (const char *p = tmpl; *p;) {
        assert_true(n + 32 < cap);
        if (strncmp(p, "{H}", 3) == 0) {
            n += (size_t)snprintf(out + n, cap - n, "%zu", head_len);
            p += 3;
        } else if (strncmp(p, "{H-1}", 5) == 0) {
            n += (size_t)snprintf(out + n, cap - n, "%zu", head_len - 1);
            p += 5;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return out;
}

static void run_cases(const struct hs_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct hs_case *c = &cases[i];
        size_t tail_len = 0;
        uint8_t *tail = c->tail_hex ? wsc_test_hex(c->tail_hex, &tail_len) : NULL;
        size_t len = c->head_len + tail_len;
        uint8_t *in = malloc(len);
        assert_non_null(in);
        memcpy(in, c->head, c->head_len);
        if (tail_len)
            memcpy(in + c->head_len, tail, tail_len);
        char *expect = expand(c->expect, c->head_len);
        print_message("  %s (%zu bytes)\n", c->name, len);
        wsc_test_each_chunking(in, len, expect, hs_run, (void *)c);
        free(expect);
        free(in);
        free(tail);
    }
}

#define RUN(cases) run_cases(cases, sizeof(cases) / sizeof(cases[0]))

#define S101 "HTTP/1.1 101 Switching Protocols\r\n"
#define UPG "Upgrade: websocket\r\n"
#define CONN "Connection: Upgrade\r\n"
#define ACC "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"
#define GOOD S101 UPG CONN ACC "\r\n"
#define OK_END "OK at={H} status=101 reason='Switching Protocols' protocol=-\n"

/* ---- response parser: cases -------------------------------------------- */

static void valid_101_is_consumed_up_to_the_blank_line_and_no_further(void **state)
{
    (void)state;
    static const struct hs_case cases[] = {
        {"nothing after the head", HEAD(GOOD), NULL, OK_END "END at={H} left=0\n"},
        {"one frame after the head", HEAD(GOOD), "81 02 68 69",
         OK_END "END at={H} left=4\n"},
        {"many frames after the head", HEAD(GOOD),
         "81 02 68 69 89 00 82 7e 00 04 01 02 03 04 01 01 61 80 01 62 88 02 03 e8",
         OK_END "END at={H} left=24\n"},
        {"one byte after the head", HEAD(GOOD), "81", OK_END "END at={H} left=1\n"},
        {"a frame that looks like a line end", HEAD(GOOD), "0d 0a 0d 0a",
         OK_END "END at={H} left=4\n"},
        {"a frame that looks like a bare line feed", HEAD(GOOD), "0a",
         OK_END "END at={H} left=1\n"},
        {"a frame that looks like another response", HEAD(GOOD),
         "48 54 54 50 2f 31 2e 31 20 32 30 30 0d 0a 0d 0a", OK_END "END at={H} left=16\n"},
        {"headers listed", HEAD(GOOD), NULL,
         OK_END "H 'Upgrade' 'websocket'\n"
                "H 'Connection' 'Upgrade'\n"
                "H 'Sec-WebSocket-Accept' '" SAMPLE_ACCEPT "'\n"
                "END at={H} left=0\n",
         0, 0, true},
    };
    RUN(cases);
}

static void header_spelling_variants_are_accepted(void **state)
{
    (void)state;
    static const struct hs_case cases[] = {
        {"lower-case names and mixed-case values",
         HEAD(S101 "upgrade: WebSocket\r\nconnection: uPgRaDe\r\n"
                   "sec-websocket-accept: " SAMPLE_ACCEPT "\r\n\r\n"),
         "82 00", OK_END "END at={H} left=2\n"},
        {"upper-case names and values",
         HEAD(S101 "UPGRADE: WEBSOCKET\r\nCONNECTION: UPGRADE\r\n"
                   "SEC-WEBSOCKET-ACCEPT: " SAMPLE_ACCEPT "\r\n\r\n"),
         NULL, OK_END "END at={H} left=0\n"},
        {"spaces and tabs around values",
         HEAD(S101 "Upgrade: \t websocket \t\r\nConnection:\tUpgrade\r\n"
                   "Sec-WebSocket-Accept:    " SAMPLE_ACCEPT " \t \r\n\r\n"),
         NULL,
         OK_END "H 'Upgrade' 'websocket'\n"
                "H 'Connection' 'Upgrade'\n"
                "H 'Sec-WebSocket-Accept' '" SAMPLE_ACCEPT "'\n"
                "END at={H} left=0\n",
         0, 0, true},
        {"Connection with several tokens",
         HEAD(S101 UPG "Connection: keep-alive, Upgrade\r\n" ACC "\r\n"), NULL,
         OK_END "END at={H} left=0\n"},
        {"Connection tokens with odd spacing",
         HEAD(S101 UPG "Connection: keep-alive ,\tUpgrade , close\r\n" ACC "\r\n"), NULL,
         OK_END "END at={H} left=0\n"},
        {"Connection in two header lines",
         HEAD(S101 UPG "Connection: keep-alive\r\nConnection: upgrade\r\n" ACC "\r\n"),
         NULL, OK_END "END at={H} left=0\n"},
        {"no space after the colon",
         HEAD(S101 "Upgrade:websocket\r\nConnection:upgrade\r\n"
                   "Sec-WebSocket-Accept:" SAMPLE_ACCEPT "\r\n\r\n"),
         NULL, OK_END "END at={H} left=0\n"},
        {"LF-only line endings",
         HEAD("HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\n"
              "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\n\n"),
         "81 00", OK_END "END at={H} left=2\n"},
        {"mixed CRLF and LF",
         HEAD(S101 "Upgrade: websocket\nConnection: Upgrade\r\n" ACC "\n"), "0a",
         OK_END "END at={H} left=1\n"},
        {"headers in another order, with extra ones",
         HEAD(S101 "Server: test/1.0\r\n" ACC "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n" CONN
                   "X-Empty:\r\n" UPG "\r\n"),
         NULL,
         OK_END "H 'Server' 'test/1.0'\n"
                "H 'Sec-WebSocket-Accept' '" SAMPLE_ACCEPT "'\n"
                "H 'Date' 'Thu, 01 Jan 1970 00:00:00 GMT'\n"
                "H 'Connection' 'Upgrade'\n"
                "H 'X-Empty' ''\n"
                "H 'Upgrade' 'websocket'\n"
                "END at={H} left=0\n",
         0, 0, true},
        {"another reason phrase",
         HEAD("HTTP/1.1 101 Web Socket Protocol Handshake\r\n" UPG CONN ACC "\r\n"), NULL,
         "OK at={H} status=101 reason='Web Socket Protocol Handshake' protocol=-\n"
         "END at={H} left=0\n"},
        {"no reason phrase", HEAD("HTTP/1.1 101\r\n" UPG CONN ACC "\r\n"), NULL,
         "OK at={H} status=101 reason='' protocol=-\n"
         "END at={H} left=0\n"},
        {"empty reason phrase", HEAD("HTTP/1.1 101 \r\n" UPG CONN ACC "\r\n"), NULL,
         "OK at={H} status=101 reason='' protocol=-\n"
         "END at={H} left=0\n"},
    };
    RUN(cases);
}

static void accept_must_be_present_once_and_exact(void **state)
{
    (void)state;
    static const struct hs_case cases[] = {
        {"wrong value (one character changed)",
         HEAD(S101 UPG CONN "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOp=\r\n\r\n"),
         "81 00", "ERR -1024 at={H} status=101\nEND at={H} left=2\n"},
        {"wrong case",
         HEAD(S101 UPG CONN "Sec-WebSocket-Accept: S3PPLMBITXAQ9KYGZZHZRBK+XOO=\r\n\r\n"),
         NULL, "ERR -1024 at={H} status=101\nEND at={H} left=0\n"},
        {"truncated to 27 characters",
         HEAD(S101 UPG CONN "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo\r\n\r\n"),
         NULL, "ERR -1024 at={H} status=101\nEND at={H} left=0\n"},
        {"one character too many",
         HEAD(S101 UPG CONN "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "x\r\n\r\n"), NULL,
         "ERR -1024 at={H} status=101\nEND at={H} left=0\n"},
        {"two values in one line",
         HEAD(S101 UPG CONN "Sec-WebSocket-Accept: " SAMPLE_ACCEPT ", " SAMPLE_ACCEPT
                            "\r\n\r\n"),
         NULL, "ERR -1024 at={H} status=101\nEND at={H} left=0\n"},
        {"empty", HEAD(S101 UPG CONN "Sec-WebSocket-Accept:\r\n\r\n"), NULL,
         "ERR -1024 at={H} status=101\nEND at={H} left=0\n"},
        {"only spaces", HEAD(S101 UPG CONN "Sec-WebSocket-Accept:    \r\n\r\n"), NULL,
         "ERR -1024 at={H} status=101\nEND at={H} left=0\n"},
        {"duplicated with the right value", HEAD(S101 UPG CONN ACC ACC "\r\n"), NULL,
         "ERR -1024 at={H} status=101\nEND at={H} left=0\n"},
        {"duplicated, the second one wrong",
         HEAD(S101 UPG CONN ACC "Sec-WebSocket-Accept: x\r\n\r\n"), NULL,
         "ERR -1024 at={H} status=101\nEND at={H} left=0\n"},
        {"missing", HEAD(S101 UPG CONN "\r\n"), "81 00",
         "ERR -1024 at={H} status=101\nEND at={H} left=2\n"},
        {"the key echoed instead of the accept",
         HEAD(S101 UPG CONN "Sec-WebSocket-Accept: " SAMPLE_KEY "\r\n\r\n"), NULL,
         "ERR -1024 at={H} status=101\nEND at={H} left=0\n"},
        {"accept value in the last bytes of the input, head unfinished",
         HEAD(S101 UPG CONN "Sec-WebSocket-Accept: " SAMPLE_ACCEPT), NULL,
         "AGAIN at={H}\nEND at={H} left=0\n"},
        {"truncated accept in the last bytes of the input",
         HEAD(S101 UPG CONN "Sec-WebSocket-Accept: s3pPLMBiTxaQ9k"), NULL,
         "AGAIN at={H}\nEND at={H} left=0\n"},
        {"accept line complete, blank line missing", HEAD(S101 UPG CONN ACC), NULL,
         "AGAIN at={H}\nEND at={H} left=0\n"},
        {"blank line half there", HEAD(S101 UPG CONN ACC "\r"), NULL,
         "AGAIN at={H}\nEND at={H} left=0\n"},
    };
    RUN(cases);
}

static void upgrade_must_be_websocket(void **state)
{
    (void)state;
    static const struct hs_case cases[] = {
        {"missing", HEAD(S101 CONN ACC "\r\n"), NULL,
         "ERR -1022 at={H} status=101\nEND at={H} left=0\n"},
        {"websocket2", HEAD(S101 "Upgrade: websocket2\r\n" CONN ACC "\r\n"), NULL,
         "ERR -1022 at={H} status=101\nEND at={H} left=0\n"},
        {"h2c", HEAD(S101 "Upgrade: h2c\r\n" CONN ACC "\r\n"), "81 00",
         "ERR -1022 at={H} status=101\nEND at={H} left=2\n"},
        {"empty", HEAD(S101 "Upgrade:\r\n" CONN ACC "\r\n"), NULL,
         "ERR -1022 at={H} status=101\nEND at={H} left=0\n"},
        {"websocket and another protocol",
         HEAD(S101 "Upgrade: websocket, h2c\r\n" CONN ACC "\r\n"), NULL,
         "ERR -1022 at={H} status=101\nEND at={H} left=0\n"},
        {"web socket", HEAD(S101 "Upgrade: web socket\r\n" CONN ACC "\r\n"), NULL,
         "ERR -1022 at={H} status=101\nEND at={H} left=0\n"},
    };
    RUN(cases);
}

static void connection_must_include_upgrade(void **state)
{
    (void)state;
    static const struct hs_case cases[] = {
        {"missing", HEAD(S101 UPG ACC "\r\n"), NULL,
         "ERR -1023 at={H} status=101\nEND at={H} left=0\n"},
        {"keep-alive only", HEAD(S101 UPG "Connection: keep-alive\r\n" ACC "\r\n"), NULL,
         "ERR -1023 at={H} status=101\nEND at={H} left=0\n"},
        {"upgrades", HEAD(S101 UPG "Connection: upgrades\r\n" ACC "\r\n"), NULL,
         "ERR -1023 at={H} status=101\nEND at={H} left=0\n"},
        {"empty", HEAD(S101 UPG "Connection:\r\n" ACC "\r\n"), NULL,
         "ERR -1023 at={H} status=101\nEND at={H} left=0\n"},
    };
    RUN(cases);
}

static void non_101_status_fails_with_status_reason_and_headers_readable(void **state)
{
    (void)state;
    static const struct hs_case cases[] = {
        {"200 with a body", HEAD("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
         "68 65 6c 6c 6f",
         "ERR -1020 at={H} status=200 reason='OK'\n"
         "H 'Content-Length' '5'\n"
         "END at={H} left=5\n",
         0, 0, true},
        {"403", HEAD("HTTP/1.1 403 Forbidden\r\nServer: test\r\n" UPG CONN ACC "\r\n"),
         NULL,
         "ERR -1020 at={H} status=403 reason='Forbidden'\n"
         "H 'Server' 'test'\n"
         "H 'Upgrade' 'websocket'\n"
         "H 'Connection' 'Upgrade'\n"
         "H 'Sec-WebSocket-Accept' '" SAMPLE_ACCEPT "'\n"
         "END at={H} left=0\n",
         0, 0, true},
        {"302 with a location",
         HEAD("HTTP/1.1 302 Found\r\nLocation: wss://other.example/chat\r\n\r\n"), NULL,
         "ERR -1020 at={H} status=302 reason='Found'\n"
         "H 'Location' 'wss://other.example/chat'\n"
         "END at={H} left=0\n",
         0, 0, true},
        {"404 without a reason, LF only", HEAD("HTTP/1.1 404\n\n"), NULL,
         "ERR -1020 at={H} status=404 reason=''\nEND at={H} left=0\n"},
        {"100 Continue is not 101", HEAD("HTTP/1.1 100 Continue\r\n\r\n"), NULL,
         "ERR -1020 at={H} status=100 reason='Continue'\nEND at={H} left=0\n"},
    };
    RUN(cases);
}

static void malformed_heads_fail_with_ehs_malformed(void **state)
{
    (void)state;
    static const struct hs_case cases[] = {
        {"HTTP/1.0 101", HEAD("HTTP/1.0 101 Switching Protocols\r\n" UPG CONN ACC "\r\n"),
         NULL, "ERR -1021 at={H} status=101\nEND at={H} left=0\n"},
        {"garbage status line", HEAD("hello there\r\n\r\n"), "81 00",
         "ERR -1021 at={H} status=0\nEND at={H} left=2\n"},
        {"wrong protocol name",
         HEAD("HTTX/1.1 101 Switching Protocols\r\n" UPG CONN ACC "\r\n"), NULL,
         "ERR -1021 at={H} status=0\nEND at={H} left=0\n"},
        {"two-digit status", HEAD("HTTP/1.1 10 x\r\n" UPG CONN ACC "\r\n"), NULL,
         "ERR -1021 at={H} status=0\nEND at={H} left=0\n"},
        {"letter in the status", HEAD("HTTP/1.1 1O1 x\r\n" UPG CONN ACC "\r\n"), NULL,
         "ERR -1021 at={H} status=0\nEND at={H} left=0\n"},
        {"four-digit status", HEAD("HTTP/1.1 1010 x\r\n" UPG CONN ACC "\r\n"), NULL,
         "ERR -1021 at={H} status=0\nEND at={H} left=0\n"},
        {"no space after the version", HEAD("HTTP/1.1101 x\r\n" UPG CONN ACC "\r\n"), NULL,
         "ERR -1021 at={H} status=0\nEND at={H} left=0\n"},
        {"blank line before the status line",
         HEAD("\r\nHTTP/1.1 101 x\r\n" UPG CONN ACC "\r\n"), NULL,
         "ERR -1021 at={H} status=0\nEND at={H} left=0\n"},
        {"obs-fold continuation line",
         HEAD(S101 UPG CONN "X-Long: a\r\n  continued\r\n" ACC "\r\n"), NULL,
         "ERR -1021 at={H} status=101\nEND at={H} left=0\n"},
        {"obs-fold with a tab", HEAD(S101 UPG CONN "X-Long: a\r\n\tb\r\n" ACC "\r\n"), NULL,
         "ERR -1021 at={H} status=101\nEND at={H} left=0\n"},
        {"space before the colon", HEAD(S101 "Upgrade : websocket\r\n" CONN ACC "\r\n"),
         NULL, "ERR -1021 at={H} status=101\nEND at={H} left=0\n"},
        {"line without a colon", HEAD(S101 UPG CONN "garbage\r\n" ACC "\r\n"), NULL,
         "ERR -1021 at={H} status=101\nEND at={H} left=0\n"},
        {"empty header name", HEAD(S101 UPG CONN ": x\r\n" ACC "\r\n"), NULL,
         "ERR -1021 at={H} status=101\nEND at={H} left=0\n"},
        {"bare CR inside a value", HEAD(S101 "Upgrade: web\rsocket\r\n" CONN ACC "\r\n"),
         NULL, "ERR -1021 at={H} status=101\nEND at={H} left=0\n"},
        {"bare CR ending a line", HEAD(S101 UPG "X-A: b\r\r\n" CONN ACC "\r\n"), NULL,
         "ERR -1021 at={H} status=101\nEND at={H} left=0\n"},
        {"NUL inside a value", HEAD(S101 UPG CONN "X-A: a\0b\r\n" ACC "\r\n"), NULL,
         "ERR -1021 at={H} status=101\nEND at={H} left=0\n"},
    };
    RUN(cases);
}

static void subprotocol_must_be_one_we_offered(void **state)
{
    (void)state;
    static const struct hs_case cases[] = {
        {"selected among the offered",
         HEAD(S101 UPG CONN ACC "Sec-WebSocket-Protocol: superchat\r\n\r\n"), "81 00",
         "OK at={H} status=101 reason='Switching Protocols' protocol=offered[1]\n"
         "END at={H} left=2\n",
         0, 0, false, true},
        {"the first offered, with spaces",
         HEAD(S101 UPG CONN ACC "Sec-WebSocket-Protocol:  chat \r\n\r\n"), NULL,
         "OK at={H} status=101 reason='Switching Protocols' protocol=offered[0]\n"
         "END at={H} left=0\n",
         0, 0, false, true},
        {"offered, none selected", HEAD(GOOD), NULL, OK_END "END at={H} left=0\n", 0, 0,
         false, true},
        {"selected without an offer",
         HEAD(S101 UPG CONN ACC "Sec-WebSocket-Protocol: chat\r\n\r\n"), NULL,
         "ERR -1025 at={H} status=101\nEND at={H} left=0\n"},
        {"not among the offered",
         HEAD(S101 UPG CONN ACC "Sec-WebSocket-Protocol: mqtt\r\n\r\n"), NULL,
         "ERR -1025 at={H} status=101\nEND at={H} left=0\n", 0, 0, false, true},
        {"different case", HEAD(S101 UPG CONN ACC "Sec-WebSocket-Protocol: Chat\r\n\r\n"),
         NULL, "ERR -1025 at={H} status=101\nEND at={H} left=0\n", 0, 0, false, true},
        {"prefix of an offered one",
         HEAD(S101 UPG CONN ACC "Sec-WebSocket-Protocol: super\r\n\r\n"), NULL,
         "ERR -1025 at={H} status=101\nEND at={H} left=0\n", 0, 0, false, true},
        {"two selected in one line",
         HEAD(S101 UPG CONN ACC "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n"), NULL,
         "ERR -1025 at={H} status=101\nEND at={H} left=0\n", 0, 0, false, true},
        {"two protocol lines",
         HEAD(S101 UPG CONN ACC
              "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n\r\n"),
         NULL, "ERR -1025 at={H} status=101\nEND at={H} left=0\n", 0, 0, false, true},
        {"empty selection", HEAD(S101 UPG CONN ACC "Sec-WebSocket-Protocol:\r\n\r\n"), NULL,
         "ERR -1025 at={H} status=101\nEND at={H} left=0\n", 0, 0, false, true},
    };
    RUN(cases);
}

/* RFC 6455 4.1 (6): without our offer, any extension in the answer fails. */
static void any_extension_fails_the_handshake(void **state)
{
    (void)state;
    static const struct hs_case cases[] = {
        {"permessage-deflate",
         HEAD(S101 UPG CONN ACC "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"),
         NULL, "ERR -1026 at={H} status=101\nEND at={H} left=0\n"},
        {"lower-case name, before the accept",
         HEAD(S101 UPG CONN "sec-websocket-extensions: x-webkit-deflate-frame\r\n" ACC
                            "\r\n"),
         "81 00", "ERR -1026 at={H} status=101\nEND at={H} left=2\n"},
        {"empty value", HEAD(S101 UPG CONN ACC "Sec-WebSocket-Extensions:\r\n\r\n"), NULL,
         "ERR -1026 at={H} status=101\nEND at={H} left=0\n"},
    };
    RUN(cases);
}

/* ---- permessage-deflate answers (RFC 7692 7) -------------------------------- */

/* "permessage-deflate; client_max_window_bits" */
static const struct wsc_pmd_offer O_DEFAULT = {false, false, 0, 0};
/* "...; client_no_context_takeover; server_no_context_takeover;
 *  client_max_window_bits=10; server_max_window_bits=10" */
static const struct wsc_pmd_offer O_ALL = {true, true, 10, 10};
/* "permessage-deflate": client_max_window_bits not offered */
static const struct wsc_pmd_offer O_BARE = {false, false, WSC_PMD_NOT_OFFERED, 0};

#define EXT(v) "Sec-WebSocket-Extensions: " v "\r\n"
#define HS_OK(pmd) "OK at={H} status=101 reason='Switching Protocols' protocol=- " pmd "\n"
#define HS_EXT_ERR "ERR -1026 at={H} status=101\nEND at={H} left=0\n"
/* A case offering @p o that fails with WSC_EHS_EXTENSION. */
#define BAD_ANSWER(name, o, ext)                                                           \
    {                                                                                      \
        name, HEAD(S101 UPG CONN ACC ext "\r\n"), NULL, HS_EXT_ERR, .deflate = &o          \
    }

static void deflate_answer_within_the_offer_is_agreed(void **state)
{
    (void)state;
    static const struct hs_case cases[] = {
        {"declined: no header", HEAD(GOOD), NULL, HS_OK("deflate=-") "END at={H} left=0\n",
         .deflate = &O_DEFAULT},
        {"bare answer: full windows, takeover",
         HEAD(S101 UPG CONN ACC EXT("permessage-deflate") "\r\n"), NULL,
         HS_OK("deflate=s15,c15") "END at={H} left=0\n", .deflate = &O_DEFAULT},
        /* python3-websockets' default answer, with a compressed frame behind it. */
        {"windows chosen by the server, then a frame",
         HEAD(S101 UPG CONN ACC EXT("permessage-deflate; server_max_window_bits=12; "
                                    "client_max_window_bits=12") "\r\n"),
         "c1 07 f2 48 cd c9 c9 07 00", HS_OK("deflate=s12,c12") "END at={H} left=9\n",
         .deflate = &O_DEFAULT},
        {"no context takeover, unasked (7.1.1.1, 7.1.1.2)",
         HEAD(S101 UPG CONN ACC EXT("permessage-deflate; server_no_context_takeover; "
                                    "client_no_context_takeover") "\r\n"),
         NULL, HS_OK("deflate=s15nct,c15nct") "END at={H} left=0\n", .deflate = &O_DEFAULT},
        {"everything asked, smallest windows",
         HEAD(S101 UPG CONN ACC EXT(
             "permessage-deflate;server_no_context_takeover;"
             "server_max_window_bits=8;client_max_window_bits=9") "\r\n"),
         NULL, HS_OK("deflate=s8nct,c9nct") "END at={H} left=0\n", .deflate = &O_ALL},
        {"everything asked, our promise kept without an echo",
         HEAD(S101 UPG CONN ACC EXT("permessage-deflate; server_max_window_bits=10; "
                                    "server_no_context_takeover") "\r\n"),
         NULL, HS_OK("deflate=s10nct,c10nct") "END at={H} left=0\n", .deflate = &O_ALL},
        {"bare offer, bare answer",
         HEAD(S101 UPG CONN ACC EXT("permessage-deflate") "\r\n"), NULL,
         HS_OK("deflate=s15,c15") "END at={H} left=0\n", .deflate = &O_BARE},
        {"quoted value, spaces around ; and =",
         HEAD(S101 UPG CONN ACC EXT("permessage-deflate ;server_max_window_bits = \"10\" ; "
                                    "client_max_window_bits=11") "\r\n"),
         NULL, HS_OK("deflate=s10,c11") "END at={H} left=0\n", .deflate = &O_DEFAULT},
        {"lower-case header name, empty list elements",
         HEAD(S101 UPG CONN ACC "sec-websocket-extensions: , permessage-deflate ,\r\n\r\n"),
         NULL, HS_OK("deflate=s15,c15") "END at={H} left=0\n", .deflate = &O_DEFAULT},
        /* RFC 7230 3.2.2: two fields are their values joined with ", ". */
        {"the answer and an empty list in two fields",
         HEAD(S101 UPG CONN EXT("permessage-deflate; client_max_window_bits=9")
                  ACC EXT(",") "\r\n"),
         "81 00", HS_OK("deflate=s15,c9") "END at={H} left=2\n", .deflate = &O_DEFAULT},
    };
    RUN(cases);
}

static void deflate_answer_breaking_rfc7692_section7_fails_the_handshake(void **state)
{
    (void)state;
    static const struct hs_case cases[] = {
        BAD_ANSWER("another extension", O_DEFAULT, EXT("x-webkit-deflate-frame")),
        BAD_ANSWER("another extension too", O_DEFAULT,
                   EXT("permessage-deflate, x-webkit-deflate-frame")),
        BAD_ANSWER("permessage-deflate twice", O_DEFAULT,
                   EXT("permessage-deflate, permessage-deflate")),
        BAD_ANSWER("permessage-deflate in two fields", O_DEFAULT,
                   EXT("permessage-deflate") EXT("permessage-deflate")),
        BAD_ANSWER("name in another case", O_DEFAULT, EXT("Permessage-Deflate")),
        BAD_ANSWER("empty value", O_DEFAULT, EXT("")),
        BAD_ANSWER("only commas", O_DEFAULT, EXT(", ,")),
        BAD_ANSWER("unknown parameter", O_DEFAULT, EXT("permessage-deflate; mux")),
        BAD_ANSWER("a parameter twice", O_DEFAULT,
                   EXT("permessage-deflate; server_no_context_takeover; "
                       "server_no_context_takeover")),
        BAD_ANSWER(
            "a window twice", O_DEFAULT,
            EXT("permessage-deflate; client_max_window_bits=9; client_max_window_bits=9")),
        BAD_ANSWER("a parameter in a second field", O_DEFAULT,
                   EXT("permessage-deflate") EXT("; server_no_context_takeover")),
        BAD_ANSWER("value on server_no_context_takeover", O_DEFAULT,
                   EXT("permessage-deflate; server_no_context_takeover=1")),
        BAD_ANSWER("value on client_no_context_takeover", O_DEFAULT,
                   EXT("permessage-deflate; client_no_context_takeover=\"x\"")),
        BAD_ANSWER("server window without a value", O_DEFAULT,
                   EXT("permessage-deflate; server_max_window_bits")),
        BAD_ANSWER("client window without a value", O_DEFAULT,
                   EXT("permessage-deflate; client_max_window_bits")),
        BAD_ANSWER("server window 7", O_DEFAULT,
                   EXT("permessage-deflate; server_max_window_bits=7")),
        BAD_ANSWER("server window 16", O_DEFAULT,
                   EXT("permessage-deflate; server_max_window_bits=16")),
        BAD_ANSWER("leading zero", O_DEFAULT,
                   EXT("permessage-deflate; server_max_window_bits=09")),
        BAD_ANSWER("not a number", O_DEFAULT,
                   EXT("permessage-deflate; server_max_window_bits=x")),
        BAD_ANSWER("empty quoted value", O_DEFAULT,
                   EXT("permessage-deflate; server_max_window_bits=\"\"")),
        BAD_ANSWER("unterminated quote", O_DEFAULT,
                   EXT("permessage-deflate; server_max_window_bits=\"10")),
        BAD_ANSWER("trailing semicolon", O_DEFAULT, EXT("permessage-deflate;")),
        /* 7.1.1.1: asked for, server_no_context_takeover must come back. */
        BAD_ANSWER("server_no_context_takeover not echoed", O_ALL,
                   EXT("permessage-deflate; server_max_window_bits=10")),
        /* 7.1.2.1: asked for a window, the answer must carry it, no larger. */
        BAD_ANSWER("server window asked, not answered", O_ALL,
                   EXT("permessage-deflate; server_no_context_takeover")),
        BAD_ANSWER("server window larger than asked", O_ALL,
                   EXT("permessage-deflate; server_no_context_takeover; "
                       "server_max_window_bits=11")),
        /* 7.1.2.2: client window only if offered, never larger, and never 8. */
        BAD_ANSWER("client window not offered", O_BARE,
                   EXT("permessage-deflate; client_max_window_bits=15")),
        BAD_ANSWER("client window larger than offered", O_ALL,
                   EXT("permessage-deflate; server_no_context_takeover; "
                       "server_max_window_bits=10; client_max_window_bits=11")),
        BAD_ANSWER("client window 8", O_DEFAULT,
                   EXT("permessage-deflate; client_max_window_bits=8")),
        /* A good answer does not survive another failure. */
        {"good answer, subprotocol not offered",
         HEAD(S101 UPG CONN ACC EXT(
             "permessage-deflate") "Sec-WebSocket-Protocol: chat\r\n\r\n"),
         NULL, "ERR -1025 at={H} status=101\nEND at={H} left=0\n", .deflate = &O_DEFAULT},
    };
    RUN(cases);
}

#define LONG_HEAD S101 UPG CONN ACC "Server: a-rather-long-server-name/1.2.3\r\n\r\n"

static void head_size_limit_is_inclusive(void **state)
{
    (void)state;
    static const struct hs_case cases[] = {
        {"exactly at the limit", HEAD(LONG_HEAD), "81 02 68 69",
         OK_END "END at={H} left=4\n", HEAD_EXACT},
        {"the limit is the head, not what follows", HEAD(GOOD), "82 7e 01 00",
         OK_END "END at={H} left=4\n", HEAD_EXACT},
        {"one byte over", HEAD(LONG_HEAD), "81 02 68 69",
         "ERR -1027 at={H-1} status=0\nEND at={H-1} left=5\n", HEAD_SHORT},
        {"one byte over, LF-only head",
         HEAD("HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n"
              "Connection: Upgrade\nSec-WebSocket-Accept: " SAMPLE_ACCEPT "\n\n"),
         NULL, "ERR -1027 at={H-1} status=0\nEND at={H-1} left=1\n", HEAD_SHORT},
        {"a stream with no line end at all",
         HEAD("HTTP/1.1 101 "
              "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
              "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
         NULL, "ERR -1027 at=64 status=0\nEND at=64 left=53\n", 64},
    };
    RUN(cases);
}

static void header_count_limit_is_inclusive(void **state)
{
    (void)state;
    static const struct hs_case cases[] = {
        {"three headers, limit three", HEAD(GOOD), "81 00", OK_END "END at={H} left=2\n", 0,
         3},
        {"four headers, limit three", HEAD(S101 UPG CONN ACC "Server: x\r\n\r\n"), "81 00",
         "ERR -1028 at={H} status=101\nEND at={H} left=2\n", 0, 3},
        {"empty header lines count too", HEAD(S101 UPG CONN "X-A:\r\n" ACC "\r\n"), NULL,
         "ERR -1028 at={H} status=101\nEND at={H} left=0\n", 0, 3},
        {"a limit of one", HEAD("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n"), NULL,
         "ERR -1028 at={H} status=200\nEND at={H} left=0\n", 0, 1},
    };
    RUN(cases);
}

/* A proxy's CONNECT reply or an HTTP client's response: the same head parser,
 * the same limits and the same leftover rule, without the 101 checks. */
static void plain_head_parser_accepts_any_well_formed_head(void **state)
{
    (void)state;
    static const struct hs_case cases[] = {
        {HEAD("HTTP/1.1 200 Connection established\r\n\r\n"), .tail_hex = "16 03 01 00",
         .name = "CONNECT reply followed by a TLS record",
         .expect = "OK at={H} status=200 reason='Connection established' protocol=-\n"
                   "END at={H} left=4\n",
         .plain = true},
        {HEAD("HTTP/1.0 407 Proxy Authentication Required\r\n"
              "Proxy-Authenticate: Basic realm=\"x\"\r\n\r\n"),
         .name = "HTTP/1.0 407 with a header",
         .expect =
             "OK at={H} status=407 reason='Proxy Authentication Required' protocol=-\n"
             "H 'Proxy-Authenticate' 'Basic realm=\"x\"'\n"
             "END at={H} left=0\n",
         .show_headers = true, .plain = true},
        {HEAD(GOOD), .name = "a 101 is just a head too", .tail_hex = "81 00",
         .expect = OK_END "END at={H} left=2\n", .plain = true},
        {HEAD("HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n"), .name = "malformed is still malformed",
         .expect = "ERR -1021 at={H} status=200\nEND at={H} left=0\n", .plain = true},
        {HEAD("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n"), .name = "limits still apply",
         .expect = "ERR -1028 at={H} status=200\nEND at={H} left=0\n", .header_cap = 1,
         .plain = true},
    };
    RUN(cases);
}

/* The runner already checks stickiness after every case; here by hand as well. */
static void errors_are_sticky_and_success_is_final(void **state)
{
    (void)state;
    struct wsc_request_info req = {.host = "server.example.com"};
    struct wsc_handshake hs;
    char head[256], out[512];
    struct wsc_header headers[4];
    size_t w, used;
    static const char bad[] = "HTTP/1.1 200 OK\r\n\r\n";
    static const char good[] = GOOD;

    assert_int_equal(wsc_handshake_init(&hs, &req, head, sizeof(head), headers, 4), 0);
    assert_int_equal(wsc_handshake_write_request(&hs, SAMPLE_NONCE, out, sizeof(out), &w),
                     0);
    assert_int_equal(wsc_handshake_parse(&hs, (const uint8_t *)bad, 10, &used), WSC_EAGAIN);
    assert_int_equal(used, 10);
    assert_int_equal(
        wsc_handshake_parse(&hs, (const uint8_t *)bad + 10, sizeof(bad) - 11, &used),
        WSC_EHS_STATUS);
    assert_int_equal(used, sizeof(bad) - 11);
    assert_int_equal(hs.status, 200);
    for (int i = 0; i < 3; i++) {
        used = 77;
        assert_int_equal(
            wsc_handshake_parse(&hs, (const uint8_t *)good, sizeof(good) - 1, &used),
            WSC_EHS_STATUS);
        assert_int_equal(used, 0);
    }
    assert_int_equal(hs.status, 200);

    /* After success, more bytes are the caller's: nothing consumed, still 0. */
    assert_int_equal(wsc_handshake_init(&hs, &req, head, sizeof(head), headers, 4), 0);
    assert_int_equal(wsc_handshake_write_request(&hs, SAMPLE_NONCE, out, sizeof(out), &w),
                     0);
    assert_int_equal(
        wsc_handshake_parse(&hs, (const uint8_t *)good, sizeof(good) - 1, &used), 0);
    assert_int_equal(used, sizeof(good) - 1);
    assert_int_equal(wsc_handshake_parse(&hs, (const uint8_t *)bad, sizeof(bad) - 1, &used),
                     0);
    assert_int_equal(used, 0);
    assert_int_equal(hs.status, 101);
}

static void header_lookup_is_case_insensitive_and_takes_the_first(void **state)
{
    (void)state;
    struct wsc_request_info req = {.host = "server.example.com"};
    struct wsc_handshake hs;
    char head[256], out[512];
    struct wsc_header headers[8];
    size_t w, used;
    static const char resp[] = "HTTP/1.1 403 Forbidden\r\nX-Reason: first\r\n"
                               "x-reason: second\r\nRetry-After:  120 \r\n\r\n";
    assert_int_equal(wsc_handshake_init(&hs, &req, head, sizeof(head), headers, 8), 0);
    assert_int_equal(wsc_handshake_write_request(&hs, SAMPLE_NONCE, out, sizeof(out), &w),
                     0);
    assert_int_equal(
        wsc_handshake_parse(&hs, (const uint8_t *)resp, sizeof(resp) - 1, &used),
        WSC_EHS_STATUS);
    const struct wsc_header *h = wsc_handshake_header(&hs, "X-REASON");
    assert_non_null(h);
    assert_int_equal(h->value_len, 5);
    assert_memory_equal(h->value, "first", 5);
    h = wsc_handshake_header(&hs, "retry-after");
    assert_non_null(h);
    assert_int_equal(h->value_len, 3);
    assert_memory_equal(h->value, "120", 3);
    assert_null(wsc_handshake_header(&hs, "Retry"));
    assert_null(wsc_handshake_header(&hs, "X-Reason-Extra"));
    /* Name and value point into the caller's head buffer. */
    assert_true(h->name >= head && h->name < head + sizeof(head));
    assert_int_equal(hs.reason_len, 9);
    assert_memory_equal(hs.reason, "Forbidden", 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_for_the_rfc_sample_nonce_is_exact),
        cmocka_unit_test(request_key_is_the_base64_of_the_nonce),
        cmocka_unit_test(host_header_carries_the_port_only_when_not_the_default),
        cmocka_unit_test(request_with_query_origin_protocols_and_user_headers_is_exact),
        cmocka_unit_test(user_headers_with_cr_lf_nul_or_bad_names_fail_with_eheader),
        cmocka_unit_test(reserved_header_names_fail_with_eheader_in_any_case),
        cmocka_unit_test(bad_origin_or_protocol_fails_with_eheader),
        cmocka_unit_test(bad_host_or_resource_fails_with_einval),
        cmocka_unit_test(user_header_with_an_empty_value_is_written),
        cmocka_unit_test(deflate_offer_is_written_as_sec_websocket_extensions),
        cmocka_unit_test(request_into_a_small_buffer_fails_with_enobufs),
        cmocka_unit_test(accept_for_the_rfc_sample_key),
        cmocka_unit_test(init_rejects_missing_or_small_buffers),
        cmocka_unit_test(valid_101_is_consumed_up_to_the_blank_line_and_no_further),
        cmocka_unit_test(header_spelling_variants_are_accepted),
        cmocka_unit_test(accept_must_be_present_once_and_exact),
        cmocka_unit_test(upgrade_must_be_websocket),
        cmocka_unit_test(connection_must_include_upgrade),
        cmocka_unit_test(non_101_status_fails_with_status_reason_and_headers_readable),
        cmocka_unit_test(malformed_heads_fail_with_ehs_malformed),
        cmocka_unit_test(subprotocol_must_be_one_we_offered),
        cmocka_unit_test(any_extension_fails_the_handshake),
        cmocka_unit_test(deflate_answer_within_the_offer_is_agreed),
        cmocka_unit_test(deflate_answer_breaking_rfc7692_section7_fails_the_handshake),
        cmocka_unit_test(head_size_limit_is_inclusive),
        cmocka_unit_test(header_count_limit_is_inclusive),
        cmocka_unit_test(plain_head_parser_accepts_any_well_formed_head),
        cmocka_unit_test(errors_are_sticky_and_success_is_final),
        cmocka_unit_test(header_lookup_is_case_insensitive_and_takes_the_first),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    printf("chunkings run: %zu\n", wsc_test_chunkings_run);
    return failed;
}
