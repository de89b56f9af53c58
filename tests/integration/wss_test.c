/*
 * wss:// end to end: wsc_connect() with options.tls against real TLS servers on
 * 127.0.0.1, each started by with_server.sh / with_servers.sh (see wss.cmake).
 *
 * Usage: wss_test GROUP, with WSC_TEST_PORT (and WSC_TEST_LOG) set and
 * WSC_TLS_CERTS naming the directory make_certs.sh filled. GROUP matches the
 * server configuration:
 *   echo        an echo peer (tests/peers/python_wss_echo.py or
 *               tests/peers/node/wss_echo.js) with server.pem (localhost +
 *               127.0.0.1), logging "GET <path>" per request to WSC_TEST_LOG
 *   wrong_name  the python peer with wrong.pem (wrong.example only)
 *   expired     the python peer with expired.pem
 *   mutual      the python peer requiring a client certificate (client_ca.pem)
 *   refused     tls_server.py (raw-echo) requiring a client certificate: the
 *               refusals, which it announces with an alert
 *   node_mutual the node peer requiring a client certificate
 *   coalesced   tests/fixtures/tls_server.py --mode coalesced: the 101, the
 *               text "hello" and the ping "ping-1" in ONE TLS record
 *   front       tests/fixtures/tls_front.py (WSC_FRONT_PORT) terminating TLS in
 *               front of the hostile fixture (WSC_TEST_PORT, WSC_TEST_LOG)
 *   proxy       the python peer (WSC_TEST_PORT) behind the CONNECT proxy
 *               fixture (WSC_PROXY_PORT, WSC_PROXY_LOG, --auth alice:p@ss w:rd)
 * Every group runs with roomy buffers and, from wss.cmake, with
 * WSC_TEST_RX_BUF=16 (itest_options()), which leaves most of every TLS record
 * inside the TLS library between reads.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "wsc/wsc_tls.h"

#define TIMEOUT_MS 20000
/* The proxy fixture's --auth in wss.cmake, percent-encoded. */
#define PROXY_CREDENTIALS "alice:p%40ss%20w%3Ard"

/* ---- environment -------------------------------------------------------- */

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (!v || !v[0])
        fail_msg("%s is not set: run under with_server.sh (see wss.cmake)", name);
    return v;
}

/* $WSC_TLS_CERTS/name, in one of a few rotating static buffers. */
static const char *cert(const char *name)
{
    static char bufs[8][512];
    static unsigned next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof(bufs[0]), "%s/%s", env_or_fail("WSC_TLS_CERTS"), name);
    return b;
}

/* The port the client connects to: the TLS front when there is one. */
static const char *target_port(void)
{
    const char *front = getenv("WSC_FRONT_PORT");
    return front && front[0] ? front : env_or_fail("WSC_TEST_PORT");
}

/* "wss://HOST:PORT" + path, in one of two rotating static buffers. */
static const char *wss_url(const char *host, const char *path_fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *wss_url(const char *host, const char *path_fmt, ...)
{
    static char bufs[2][1024];
    static unsigned next;
    char *url = bufs[next++ % 2];
    int n = snprintf(url, sizeof(bufs[0]), "wss://%s:%s", host, target_port());
    va_list ap;
    va_start(ap, path_fmt);
    vsnprintf(url + n, sizeof(bufs[0]) - (size_t)n, path_fmt, ap);
    va_end(ap);
    return url;
}

/* A tag that makes each request path unique within this run. */
static unsigned next_tag(void)
{
    static unsigned tag;
    return ++tag;
}

static bool log_has(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static bool log_has(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    return itest_log_has(line, 3000);
}

static void expect_has(const char *text, const char *part)
{
    if (strstr(text, part) == NULL)
        print_error("'%s' lacks '%s'\n", text, part);
    assert_non_null(strstr(text, part));
}

/* ---- connecting ---------------------------------------------------------- */

static const char *const chat[] = {"chat"};

/* itest_options() (buffer sizes from the environment) trusting the test CA,
 * offering the subprotocol "chat", reporting pings and pongs. */
static void wss_options(struct wsc_options *o)
{
    itest_options(o);
    o->connect_timeout_ms = TIMEOUT_MS;
    o->tls.ca_file = cert("ca.pem");
    o->protocols = chat;
    o->protocol_count = 1;
    o->report_control = true;
}

static void connect_ok(struct wsc_conn *c, const char *url, const struct wsc_options *o)
{
    int rc = wsc_connect(c, url, o);
    if (rc != 0)
        print_error("wsc_connect(%s): %d %s (%s)\n", url, rc, wsc_strerror(rc),
                    wsc_conn_detail(c));
    assert_int_equal(rc, 0);
    assert_int_equal(wsc_conn_state(c), WSC_CONN_OPEN);
    assert_int_equal(wsc_conn_http_status(c), 101);
    assert_non_null(c->tls);
    assert_true(wsc_conn_fd(c) >= 0);
}

/*
 * The connection must fail with @p want_rc before any HTTP: no status, state
 * FAILED, and wsc_conn_detail() exactly @p want (or containing it, @p exact
 * false). The connection is freed.
 */
static void expect_connect_fails(const char *url, const struct wsc_options *o, int want_rc,
                                 const char *want, bool exact)
{
    struct wsc_conn c;
    int rc = wsc_connect(&c, url, o);
    const char *detail = wsc_conn_detail(&c);
    print_message("%s: %s\n", url, detail);
    if (rc != want_rc || (exact ? strcmp(detail, want) != 0 : strstr(detail, want) == NULL))
        print_error("got %d '%s'\nwant %d %s'%s'\n", rc, detail, want_rc,
                    exact ? "" : "a detail containing ", want);
    assert_int_equal(rc, want_rc);
    if (exact)
        assert_string_equal(detail, want);
    else
        expect_has(detail, want);
    assert_int_equal(wsc_conn_error(&c), want_rc);
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_FAILED);
    assert_int_equal(wsc_conn_http_status(&c), 0);
    assert_null(c.tls);
    assert_int_equal(wsc_conn_fd(&c), -1);
    /* Failing calls keep failing the same way. */
    struct wsc_message m;
    assert_int_equal(wsc_recv(&c, &m, 0), want_rc);
    assert_int_equal(wsc_send(&c, WSC_OP_TEXT, "x", 1, 0), want_rc);
    wsc_conn_free(&c);
}

/*
 * The request for @p path never reached the server: after the failure, a good
 * connection to a fresh path is logged, and the failed path is not (the log is
 * appended in order, so the probe's line comes after anything of the failure).
 */
static void expect_no_request(const char *path, const struct wsc_options *good)
{
    char probe[64];
    snprintf(probe, sizeof(probe), "/probe-%u", next_tag());
    struct wsc_conn c;
    connect_ok(&c, wss_url("localhost", "%s", probe), good);
    assert_true(log_has("GET %s", probe));
    char line[512];
    snprintf(line, sizeof(line), "GET %s", path);
    if (itest_log_has(line, 0))
        print_error("the server saw '%s' from a connection that should have failed\n",
                    line);
    assert_false(itest_log_has(line, 0));
    assert_int_equal(wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS), 0);
    wsc_conn_free(&c);
}

/* ---- message helpers ----------------------------------------------------- */

/* Valid UTF-8 of exactly @p n bytes: ASCII with a 3-byte euro sign every 64. */
static void text_pattern(uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n;) {
        if (i % 64 == 0 && i + 3 <= n) {
            memcpy(buf + i, "\xe2\x82\xac", 3);
            i += 3;
        } else {
            buf[i] = (uint8_t)('a' + i % 26);
            i++;
        }
    }
}

static void make_payload(uint8_t opcode, uint8_t *buf, size_t n)
{
    if (opcode == WSC_OP_TEXT)
        text_pattern(buf, n);
    else
        itest_pattern(buf, n);
}

/* Receives the next data message, which must be @p opcode with @p want. */
static void expect_message(struct wsc_conn *c, uint8_t opcode, const void *want, size_t len)
{
    struct wsc_message m;
    ITEST_OK(c, wsc_recv(c, &m, TIMEOUT_MS));
    assert_int_equal(m.opcode, opcode);
    assert_int_equal(m.len, len);
    if (len)
        assert_memory_equal(m.data, want, len);
}

static void expect_text(struct wsc_conn *c, const char *text)
{
    expect_message(c, WSC_OP_TEXT, text, strlen(text));
}

/* Receives a text message into @p out (NUL-terminated). */
static void recv_text(struct wsc_conn *c, char *out, size_t cap)
{
    struct wsc_message m;
    ITEST_OK(c, wsc_recv(c, &m, TIMEOUT_MS));
    assert_int_equal(m.opcode, WSC_OP_TEXT);
    assert_true(m.len < cap);
    memcpy(out, m.data, m.len);
    out[m.len] = '\0';
}

static void roundtrip(struct wsc_conn *c, uint8_t opcode, size_t n)
{
    uint8_t *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    make_payload(opcode, buf, n);
    ITEST_OK(c, wsc_send(c, opcode, buf, n, TIMEOUT_MS));
    expect_message(c, opcode, buf, n);
    free(buf);
}

static const size_t sizes[] = {0,     1,     125,   126,   127,   1000,   16383,
                               16384, 16385, 65535, 65536, 65537, 300000, 1 << 20};

/* Every size as text and binary, and the stats that follow from them. */
static void roundtrips_of_every_size(struct wsc_conn *c)
{
    struct wsc_stats before, after;
    wsc_conn_stats(c, &before);
    uint64_t bytes = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        roundtrip(c, WSC_OP_TEXT, sizes[i]);
        roundtrip(c, WSC_OP_BINARY, sizes[i]);
        bytes += 2 * sizes[i];
    }
    wsc_conn_stats(c, &after);
    size_t count = 2 * (sizeof(sizes) / sizeof(sizes[0]));
    assert_int_equal(after.messages_out - before.messages_out, count);
    assert_int_equal(after.messages_in - before.messages_in, count);
    assert_int_equal(after.payload_out - before.payload_out, bytes);
    assert_int_equal(after.payload_in - before.payload_in, bytes);
}

static void ping_pong(struct wsc_conn *c, const char *payload)
{
    size_t len = strlen(payload);
    ITEST_OK(c, wsc_ping(c, payload, len, TIMEOUT_MS));
    struct wsc_message m;
    ITEST_OK(c, wsc_recv(c, &m, TIMEOUT_MS));
    assert_int_equal(m.opcode, WSC_OP_PONG);
    assert_int_equal(m.len, len);
    if (len)
        assert_memory_equal(m.data, payload, len);
}

/* Our close, the peer's echo of it, and a closed connection. */
static void close_cleanly(struct wsc_conn *c)
{
    ITEST_OK(c, wsc_close(c, WSC_CLOSE_NORMAL, "done", TIMEOUT_MS));
    assert_int_equal(wsc_conn_state(c), WSC_CONN_CLOSED);
    assert_int_equal(wsc_conn_close_code(c), WSC_CLOSE_NORMAL);
    assert_int_equal(wsc_conn_local_close_code(c), WSC_CLOSE_NORMAL);
    assert_null(c->tls);
    struct wsc_message m;
    assert_int_equal(wsc_recv(c, &m, 0), WSC_ECLOSED);
    wsc_conn_free(c);
}

/* ---- group "echo" -------------------------------------------------------- */

static void test_backend(void **state)
{
    (void)state;
    print_message("backend: %s, rx buffer %s\n", wsc_tls_backend(),
                  getenv("WSC_TEST_RX_BUF") ? getenv("WSC_TEST_RX_BUF") : "default");
}

static void test_roundtrips_of_every_size(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    struct wsc_conn c;
    unsigned tag = next_tag();
    connect_ok(&c, wss_url("localhost", "/sizes-%u", tag), &o);
    assert_non_null(wsc_conn_protocol(&c));
    assert_string_equal(wsc_conn_protocol(&c), "chat");
    assert_true(log_has("GET /sizes-%u", tag));
    roundtrips_of_every_size(&c);
    close_cleanly(&c);
}

static void test_fragments_and_pipelined_messages(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    struct wsc_conn c;
    connect_ok(&c, wss_url("localhost", "/pipelined-%u", next_tag()), &o);

    /* A text message in three fragments comes back whole. */
    ITEST_OK(&c, wsc_send_fragment(&c, WSC_OP_TEXT, "frag", 4, false, TIMEOUT_MS));
    ITEST_OK(&c, wsc_send_fragment(&c, WSC_OP_CONTINUATION, "men", 3, false, TIMEOUT_MS));
    ITEST_OK(&c, wsc_send_fragment(&c, WSC_OP_CONTINUATION, "ted", 3, true, TIMEOUT_MS));
    expect_text(&c, "fragmented");

    /* 200 messages out before any is read: the echoes queue up in TLS records
     * that hold several frames each, and all come back in order. */
    enum { N = 200 };
    uint8_t buf[3000];
    for (int i = 0; i < N; i++) {
        size_t n = (size_t)(i * 97 % 3000);
        itest_pattern(buf, n);
        if (n)
            buf[0] = (uint8_t)i;
        ITEST_OK(&c, wsc_send(&c, WSC_OP_BINARY, buf, n, TIMEOUT_MS));
    }
    for (int i = 0; i < N; i++) {
        size_t n = (size_t)(i * 97 % 3000);
        itest_pattern(buf, n);
        if (n)
            buf[0] = (uint8_t)i;
        expect_message(&c, WSC_OP_BINARY, buf, n);
    }
    close_cleanly(&c);
}

static void test_large_message_in_chunks(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    struct wsc_conn c;
    connect_ok(&c, wss_url("localhost", "/chunks-%u", next_tag()), &o);
    size_t n = 3 * 1024 * 1024 + 5;
    uint8_t *out = malloc(n), *in = malloc(n);
    assert_non_null(out);
    assert_non_null(in);
    itest_pattern(out, n);
    ITEST_OK(&c, wsc_send(&c, WSC_OP_BINARY, out, n, TIMEOUT_MS));
    size_t got = 0;
    bool fin = false;
    while (!fin) {
        struct wsc_chunk ch;
        uint8_t part[4096];
        ITEST_OK(&c, wsc_recv_chunk(&c, part, sizeof(part), &ch, TIMEOUT_MS));
        assert_int_equal(ch.opcode, WSC_OP_BINARY);
        assert_int_equal(ch.first, got == 0);
        assert_true(got + ch.len <= n);
        memcpy(in + got, part, ch.len);
        got += ch.len;
        fin = ch.fin;
    }
    assert_int_equal(got, n);
    assert_memory_equal(in, out, n);
    free(out);
    free(in);
    close_cleanly(&c);
}

static void test_ping_and_pong(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    struct wsc_conn c;
    connect_ok(&c, wss_url("localhost", "/ping-%u", next_tag()), &o);
    ping_pong(&c, "wss-ping");
    ping_pong(&c, "");
    char big[126];
    memset(big, 'p', 125);
    big[125] = '\0';
    ping_pong(&c, big);
    struct wsc_stats st;
    wsc_conn_stats(&c, &st);
    assert_int_equal(st.pings_out, 3);
    assert_int_equal(st.pongs_in, 3);
    assert_true(st.last_rtt_us >= 0);
    roundtrip(&c, WSC_OP_TEXT, 10); /* data still flows after control frames */
    close_cleanly(&c);
}

/* The peer reports what it saw of our TLS handshake in its first message. */
static void test_sni_alpn_and_version_seen_by_server(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    struct wsc_conn c;
    char info[256];
    connect_ok(&c, wss_url("localhost", "/info"), &o);
    recv_text(&c, info, sizeof(info));
    print_message("localhost: %s\n", info);
    expect_has(info, "sni=localhost ");
    expect_has(info, "alpn=http/1.1 ");
    expect_has(info, "version=TLSv1.");
    expect_has(info, "client=-");
    close_cleanly(&c);

    /* An IP literal is verified against the IP SAN and sent without SNI. */
    connect_ok(&c, wss_url("127.0.0.1", "/info"), &o);
    recv_text(&c, info, sizeof(info));
    expect_has(info, "sni=- ");
    close_cleanly(&c);
}

static void test_ca_path_directory(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    o.tls.ca_file = NULL;
    o.tls.ca_path = cert("capath");
    struct wsc_conn c;
    connect_ok(&c, wss_url("localhost", "/capath-%u", next_tag()), &o);
    roundtrip(&c, WSC_OP_BINARY, 5000);
    close_cleanly(&c);
}

/* No ca_file: the system store, which SSL_CERT_FILE points elsewhere. */
static void test_system_store_from_ssl_cert_file(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    o.tls.ca_file = NULL;
    assert_int_equal(setenv("SSL_CERT_FILE", cert("ca.pem"), 1), 0);
    struct wsc_conn c;
    int rc = wsc_connect(&c, wss_url("localhost", "/ssl-cert-file-%u", next_tag()), &o);
    unsetenv("SSL_CERT_FILE");
    ITEST_OK(&c, rc);
    roundtrip(&c, WSC_OP_TEXT, 100);
    close_cleanly(&c);
}

static void test_unknown_ca_in_system_store_fails(void **state)
{
    (void)state;
    unsetenv("SSL_CERT_FILE");
    unsetenv("SSL_CERT_DIR");
    struct wsc_options o;
    wss_options(&o);
    o.tls.ca_file = NULL; /* the system trust store, which lacks the test CA */
    char path[64];
    snprintf(path, sizeof(path), "/unknown-ca-%u", next_tag());
    expect_connect_fails(wss_url("localhost", "%s", path), &o, WSC_ETLS,
                         "TLS with localhost failed: certificate verify failed: unable to "
                         "get local issuer certificate (unknown CA); the certificate was "
                         "issued by 'CN=wsc test CA'",
                         true);
    struct wsc_options good;
    wss_options(&good);
    expect_no_request(path, &good);
}

static void test_unknown_ca_in_other_ca_file_fails(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    o.tls.ca_file = cert("other_ca.pem");
    char path[64];
    snprintf(path, sizeof(path), "/other-ca-%u", next_tag());
    expect_connect_fails(wss_url("127.0.0.1", "%s", path), &o, WSC_ETLS,
                         "TLS with 127.0.0.1 failed: certificate verify failed: unable to "
                         "get local issuer certificate (unknown CA)",
                         false);
    struct wsc_options good;
    wss_options(&good);
    expect_no_request(path, &good);
}

static void test_missing_ca_file_fails(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    o.tls.ca_file = "/nonexistent/wsc-ca.pem";
    expect_connect_fails(wss_url("localhost", "/"), &o, WSC_ETLS,
                         "TLS with localhost failed: cannot load CA certificates from "
                         "'/nonexistent/wsc-ca.pem'",
                         false);
}

/* insecure: no CA at all, still a working session. */
static void test_insecure_accepts_unknown_ca(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    o.tls.ca_file = NULL;
    o.tls.insecure = true;
    struct wsc_conn c;
    connect_ok(&c, wss_url("localhost", "/insecure-%u", next_tag()), &o);
    roundtrip(&c, WSC_OP_TEXT, 70000);
    ping_pong(&c, "insecure");
    close_cleanly(&c);
}

/* wsc_reconnect() over wss:// runs a fresh TLS handshake on the same options. */
static void test_reconnect_after_close(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    struct wsc_conn c;
    unsigned tag = next_tag();
    connect_ok(&c, wss_url("localhost", "/reconnect-%u", tag), &o);
    roundtrip(&c, WSC_OP_TEXT, 20);
    ITEST_OK(&c, wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS));
    assert_null(c.tls);
    struct wsc_reconnect r;
    wsc_reconnect_init(&r);
    r.min_delay_ms = 1;
    r.max_delay_ms = 10;
    r.max_attempts = 3;
    ITEST_OK(&c, wsc_reconnect(&c, &r));
    assert_non_null(c.tls);
    roundtrip(&c, WSC_OP_BINARY, 70000);
    struct wsc_stats st;
    wsc_conn_stats(&c, &st);
    assert_int_equal(st.reconnects, 1);
    close_cleanly(&c);
}

/* ---- group "wrong_name": wrong.pem (DNS:wrong.example only) --------------- */

static void test_wrong_name_fails_for_ip_and_localhost(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    char path[64];
    snprintf(path, sizeof(path), "/wrong-ip-%u", next_tag());
    expect_connect_fails(
        wss_url("127.0.0.1", "%s", path), &o, WSC_ETLS,
        "TLS with 127.0.0.1 failed: host name mismatch: certificate is for "
        "'wrong.example', not '127.0.0.1'",
        true);
    char path2[64];
    snprintf(path2, sizeof(path2), "/wrong-dns-%u", next_tag());
    expect_connect_fails(
        wss_url("localhost", "%s", path2), &o, WSC_ETLS,
        "TLS with localhost failed: host name mismatch: certificate is for "
        "'wrong.example', not 'localhost'",
        true);
    struct wsc_options good;
    wss_options(&good);
    good.tls.insecure = true;
    expect_no_request(path, &good);
    expect_no_request(path2, &good);
}

static void test_wrong_name_accepted_when_insecure(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    o.tls.insecure = true;
    struct wsc_conn c;
    char info[256];
    connect_ok(&c, wss_url("127.0.0.1", "/info"), &o);
    recv_text(&c, info, sizeof(info));
    expect_has(info, "sni=- ");
    roundtrip(&c, WSC_OP_BINARY, 1 << 20);
    ping_pong(&c, "wrong-name");
    close_cleanly(&c);
}

/* ---- group "expired": expired.pem ---------------------------------------- */

static void test_expired_certificate_fails(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    char path[64];
    snprintf(path, sizeof(path), "/expired-%u", next_tag());
    expect_connect_fails(
        wss_url("localhost", "%s", path), &o, WSC_ETLS,
        "TLS with localhost failed: certificate verify failed: certificate "
        "has expired (not valid after 2020-01-02 00:00:00 UTC)",
        true);
    struct wsc_options good;
    wss_options(&good);
    good.tls.insecure = true;
    expect_no_request(path, &good);
}

static void test_expired_certificate_accepted_when_insecure(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    o.tls.insecure = true;
    struct wsc_conn c;
    connect_ok(&c, wss_url("localhost", "/expired-insecure-%u", next_tag()), &o);
    roundtrip(&c, WSC_OP_TEXT, 1 << 20);
    ping_pong(&c, "expired");
    close_cleanly(&c);
}

/* ---- group "mutual": a client certificate is required --------------------- */

static void test_client_certificate_accepted(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    o.tls.cert_file = cert("client.pem");
    o.tls.key_file = cert("client.key");
    struct wsc_conn c;
    char info[256];
    connect_ok(&c, wss_url("localhost", "/info"), &o);
    recv_text(&c, info, sizeof(info));
    print_message("%s\n", info);
    expect_has(info, "client=wsc-test-client");
    roundtrip(&c, WSC_OP_BINARY, 300000);
    ping_pong(&c, "mutual");
    close_cleanly(&c);
}

/* key_file NULL: the key comes from cert_file, one PEM holding both. */
static void test_client_certificate_and_key_in_one_file(void **state)
{
    (void)state;
    char both[] = "/tmp/wss-client-XXXXXX";
    int fd = mkstemp(both);
    assert_true(fd >= 0);
    FILE *out = fdopen(fd, "w");
    assert_non_null(out);
    const char *parts[] = {cert("client.pem"), cert("client.key")};
    for (size_t i = 0; i < 2; i++) {
        FILE *in = fopen(parts[i], "r");
        assert_non_null(in);
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
            assert_int_equal(fwrite(buf, 1, n, out), n);
        fclose(in);
    }
    assert_int_equal(fclose(out), 0);

    struct wsc_options o;
    wss_options(&o);
    o.tls.cert_file = both;
    struct wsc_conn c;
    char info[256];
    int rc = wsc_connect(&c, wss_url("localhost", "/info"), &o);
    unlink(both);
    ITEST_OK(&c, rc);
    recv_text(&c, info, sizeof(info));
    expect_has(info, "client=wsc-test-client");
    close_cleanly(&c);
}

/*
 * The server refuses our client certificate (or its absence). With TLS 1.2
 * that ends the TLS handshake; with TLS 1.3 the server judges the certificate
 * after our last handshake message, so the TLS layer succeeds and the refusal
 * arrives on the first read: the read of the 101 inside wsc_connect(), or,
 * should the 101 come first, the next wsc_recv().
 *
 * How it arrives depends on the server. One that sends its alert (OpenSSL in a
 * plain thread: tls_server.py; node for a missing certificate) must give
 * WSC_ETLS and a detail about the certificate (REFUSAL_ALERT). Python's
 * asyncio drops a failed TLS handshake without sending the alert OpenSSL
 * queued (CPython 3.11 sslproto._do_handshake), and node checks a presented
 * certificate in JavaScript and just destroys the socket: the client sees a
 * hang-up or a reset, nothing to name (REFUSAL_SILENT). Either way: no
 * WebSocket session, and (@p probe, for WebSocket peers that log requests)
 * the request never reached the server.
 */
enum refusal { REFUSAL_ALERT, REFUSAL_SILENT };

static void expect_refused(const struct wsc_options *o, enum refusal how, bool probe)
{
    struct wsc_conn c;
    char path[64];
    snprintf(path, sizeof(path), "/refused-%u", next_tag());
    int rc = wsc_connect(&c, wss_url("localhost", "%s", path), o);
    if (rc == 0) {
        struct wsc_message m;
        rc = wsc_recv(&c, &m, TIMEOUT_MS);
    }
    const char *detail = wsc_conn_detail(&c);
    print_message("refused: %d %s\n", rc, detail);
    bool rc_ok = rc == WSC_ETLS ||
                 (how == REFUSAL_SILENT && (rc == WSC_ECONNRESET || rc == WSC_EEOF));
    if (!rc_ok)
        print_error("got %d %s: %s\n", rc, wsc_strerror(rc), detail);
    assert_true(rc_ok);
    assert_int_equal(wsc_conn_error(&c), rc);
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_FAILED);
    assert_int_not_equal(wsc_conn_http_status(&c), 101);
    if (how == REFUSAL_ALERT)
        expect_has(detail, "certificate");
    /* A silent refusal inside the TLS handshake (TLS 1.2: the server asked for a
     * certificate, got ours or none, and hung up) is still worth a hint, and
     * not "is it a TLS server?": it has spoken TLS all along. */
    if (strncmp(detail, "TLS with ", 9) == 0)
        expect_has(detail, "client certificate");
    /* The detail says what happened, not a bare error name. */
    assert_string_not_equal(detail, wsc_strerror(rc));
    wsc_conn_free(&c);
    if (probe) {
        struct wsc_options good;
        wss_options(&good);
        good.tls.cert_file = cert("client.pem");
        good.tls.key_file = cert("client.key");
        expect_no_request(path, &good);
    }
}

/* Signed by ca.pem, not by client_ca.pem, which the servers trust for clients. */
static void use_other_ca_client_cert(struct wsc_options *o)
{
    o->tls.cert_file = cert("wrong.pem");
    o->tls.key_file = cert("wrong.key");
}

/* Group "mutual": the python peer, which refuses silently. */
static void test_missing_client_certificate_refused_silently(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    expect_refused(&o, REFUSAL_SILENT, true);
}

static void test_other_ca_client_certificate_refused_silently(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    use_other_ca_client_cert(&o);
    expect_refused(&o, REFUSAL_SILENT, true);
}

/* Group "refused": tls_server.py, which sends its alert (not a WebSocket
 * server: nothing to probe, the refusal comes first anyway). */
static void test_missing_client_certificate_refused_with_alert(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    expect_refused(&o, REFUSAL_ALERT, false);
}

static void test_other_ca_client_certificate_refused_with_alert(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    use_other_ca_client_cert(&o);
    expect_refused(&o, REFUSAL_ALERT, false);
}

/* Group "node_mutual": OpenSSL's alert for a missing certificate, node's
 * silent hang-up for one it rejects. */
static void test_node_missing_client_certificate_refused_with_alert(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    expect_refused(&o, REFUSAL_ALERT, true);
}

static void test_client_key_not_matching_fails_locally(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    o.tls.cert_file = cert("client.pem");
    o.tls.key_file = cert("server.key");
    expect_connect_fails(wss_url("localhost", "/"), &o, WSC_ETLS,
                         "does not match the certificate", false);
}

/* ---- group "coalesced": tls_server.py --mode coalesced -------------------- */

/*
 * The 101, the text "hello" and the ping "ping-1" arrive in one TLS record.
 * wsc_connect() returns with the frames already decrypted (in the input
 * buffer, or with a 16-byte buffer mostly still in the TLS library, where
 * poll() cannot see them): wsc_conn_has_buffered_input() must say so while
 * the socket has nothing to read, and both must be delivered.
 * The fixture reads and drops what we send, so the pong is checked on our
 * side: answered, counted, flushed without error.
 */
static void test_frames_in_the_101_record_are_delivered(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    o.protocols = NULL;
    o.protocol_count = 0;
    struct wsc_conn c;
    connect_ok(&c, wss_url("localhost", "/"), &o);
    assert_true(wsc_conn_has_buffered_input(&c));
    struct pollfd p = {.fd = wsc_conn_fd(&c), .events = POLLIN, .revents = 0};
    assert_int_equal(poll(&p, 1, 0), 0); /* nothing more in the socket */
    expect_text(&c, "hello");
    struct wsc_message m;
    ITEST_OK(&c, wsc_recv(&c, &m, TIMEOUT_MS));
    assert_int_equal(m.opcode, WSC_OP_PING);
    assert_int_equal(m.len, 6);
    assert_memory_equal(m.data, "ping-1", 6);
    ITEST_OK(&c, wsc_flush(&c, TIMEOUT_MS));
    struct wsc_stats st;
    wsc_conn_stats(&c, &st);
    assert_int_equal(st.messages_in, 1);
    assert_int_equal(st.pings_in, 1);
    assert_int_equal(st.pongs_out, 1);
    /* Pong frame: 2 + 4 (mask) + 6 bytes, sent after the request head. */
    assert_true(st.bytes_out > 12);
    assert_false(wsc_conn_has_buffered_input(&c));
    /* Nothing else comes: the next read times out, and the connection lives. */
    assert_int_equal(wsc_recv(&c, &m, 200), WSC_ETIMEDOUT);
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_OPEN);
    ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, "after", 5, TIMEOUT_MS));
    /* The fixture never answers a close; it ends the TLS stream when we do. */
    int rc = wsc_close(&c, WSC_CLOSE_NORMAL, NULL, 2000);
    print_message("close against a fixture that never answers: %d %s\n", rc,
                  wsc_conn_detail(&c));
    assert_int_not_equal(rc, 0);
    assert_null(c.tls);
    wsc_conn_free(&c);
}

/* ---- group "front": the hostile fixture behind a TLS front ---------------- */

/*
 * The hostile fixture's /coalesced scenario over wss://: the 101 and the first
 * frames arrive in one TLS record, a 300000-byte binary spans many, pings sit
 * between fragments, and the fixture's own log tells whether both pongs
 * arrived, in order.
 */
static void test_hostile_coalesced_over_tls(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    o.protocols = NULL;
    o.protocol_count = 0;
    o.report_control = false;
    struct wsc_conn c;
    char path[64];
    snprintf(path, sizeof(path), "/coalesced?tag=%u", next_tag());
    connect_ok(&c, wss_url("localhost", "%s", path), &o);
    assert_true(wsc_conn_has_buffered_input(&c));
    expect_text(&c, "hello");
    expect_text(&c, "fragmented");
    uint8_t *big = malloc(300000);
    assert_non_null(big);
    itest_pattern(big, 300000);
    expect_message(&c, WSC_OP_BINARY, big, 300000);
    free(big);
    expect_text(&c, "last");
    ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, "stats", 5, TIMEOUT_MS));
    expect_text(&c, "pongs=ping-1,ping-2");
    close_cleanly(&c);
    assert_true(log_has("%s CLOSE 1000", path));
    assert_true(log_has("%s PONGS 2 ORDER ok", path));
}

static void test_hostile_ping_flood_over_tls(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    o.protocols = NULL;
    o.protocol_count = 0;
    o.report_control = false;
    struct wsc_conn c;
    char path[64];
    snprintf(path, sizeof(path), "/ping-flood?n=300&tag=%u", next_tag());
    connect_ok(&c, wss_url("localhost", "%s", path), &o);
    expect_text(&c, "done");
    close_cleanly(&c);
    assert_true(log_has("%s PONGS 300 ORDER ok", path));
}

static void test_hostile_server_close_over_tls(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    o.protocols = NULL;
    o.protocol_count = 0;
    struct wsc_conn c;
    char path[64];
    snprintf(path, sizeof(path), "/close?code=1001&reason=away&tag=%u", next_tag());
    connect_ok(&c, wss_url("localhost", "%s", path), &o);
    expect_text(&c, "before");
    struct wsc_message m;
    assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), WSC_ECLOSED);
    assert_int_equal(wsc_conn_close_code(&c), 1001);
    size_t len = 0;
    const char *reason = wsc_conn_close_reason(&c, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(reason, "away", 4);
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_CLOSED);
    wsc_conn_free(&c);
    assert_true(log_has("%s CLOSE 1001", path));
}

static void test_hostile_violation_over_tls(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    o.protocols = NULL;
    o.protocol_count = 0;
    struct wsc_conn c;
    char path[64];
    snprintf(path, sizeof(path), "/violation?kind=masked&tag=%u", next_tag());
    connect_ok(&c, wss_url("localhost", "%s", path), &o);
    expect_text(&c, "before");
    struct wsc_message m;
    assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), WSC_EMASKED);
    wsc_conn_free(&c);
    assert_true(log_has("%s CLOSE 1002", path));
}

static void test_hostile_drop_over_tls(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    o.protocols = NULL;
    o.protocol_count = 0;
    struct wsc_conn c;
    connect_ok(&c, wss_url("localhost", "/drop?tag=%u", next_tag()), &o);
    expect_text(&c, "before");
    struct wsc_message m;
    assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), WSC_EEOF);
    wsc_conn_free(&c);
}

/* ---- group "proxy": wss:// through the HTTP CONNECT proxy ------------------ */

static void proxy_url(char *buf, size_t cap, const char *credentials)
{
    snprintf(buf, cap, "http://%s%s127.0.0.1:%s", credentials ? credentials : "",
             credentials ? "@" : "", env_or_fail("WSC_PROXY_PORT"));
}

static bool proxy_log_has(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static bool proxy_log_has(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* itest_log_has() reads WSC_TEST_LOG: point it at the proxy's log. */
    char *saved = strdup(env_or_fail("WSC_TEST_LOG"));
    assert_non_null(saved);
    setenv("WSC_TEST_LOG", env_or_fail("WSC_PROXY_LOG"), 1);
    bool found = itest_log_has(line, 3000);
    setenv("WSC_TEST_LOG", saved, 1);
    free(saved);
    if (!found)
        print_error("proxy log lacks '%s'\n", line);
    return found;
}

static void test_wss_through_proxy(void **state)
{
    (void)state;
    char proxy[256];
    proxy_url(proxy, sizeof(proxy), PROXY_CREDENTIALS);
    struct wsc_options o;
    wss_options(&o);
    o.proxy = proxy;
    struct wsc_conn c;
    char info[256];
    connect_ok(&c, wss_url("localhost", "/info"), &o);
    assert_true(
        proxy_log_has("CONNECT localhost:%s AUTH ok", env_or_fail("WSC_TEST_PORT")));
    assert_string_equal(wsc_conn_protocol(&c), "chat");
    recv_text(&c, info, sizeof(info));
    expect_has(info, "sni=localhost "); /* the TLS handshake is end to end */
    expect_has(info, "alpn=http/1.1 ");
    roundtrips_of_every_size(&c);
    ping_pong(&c, "proxied");
    close_cleanly(&c);

    connect_ok(&c, wss_url("127.0.0.1", "/info"), &o);
    assert_true(
        proxy_log_has("CONNECT 127.0.0.1:%s AUTH ok", env_or_fail("WSC_TEST_PORT")));
    recv_text(&c, info, sizeof(info));
    expect_has(info, "sni=- ");
    roundtrip(&c, WSC_OP_BINARY, 100000);
    close_cleanly(&c);
}

static void test_wss_through_proxy_verifies_the_server(void **state)
{
    (void)state;
    char proxy[256];
    proxy_url(proxy, sizeof(proxy), PROXY_CREDENTIALS);
    struct wsc_options o;
    wss_options(&o);
    o.proxy = proxy;
    o.tls.ca_file = cert("other_ca.pem");
    char path[64];
    snprintf(path, sizeof(path), "/proxy-unknown-ca-%u", next_tag());
    expect_connect_fails(wss_url("localhost", "%s", path), &o, WSC_ETLS,
                         "TLS with localhost failed: certificate verify failed: unable to "
                         "get local issuer certificate (unknown CA)",
                         false);
    o.tls.ca_file = NULL;
    o.tls.insecure = true;
    struct wsc_conn c;
    connect_ok(&c, wss_url("localhost", "/proxy-insecure-%u", next_tag()), &o);
    roundtrip(&c, WSC_OP_TEXT, 5000);
    close_cleanly(&c);
    struct wsc_options good;
    wss_options(&good);
    expect_no_request(path, &good);
}

static void test_wss_proxy_refusal_is_not_a_tls_error(void **state)
{
    (void)state;
    char proxy[256];
    proxy_url(proxy, sizeof(proxy), "alice:nope");
    struct wsc_options o;
    wss_options(&o);
    o.proxy = proxy;
    expect_connect_fails(wss_url("localhost", "/"), &o, WSC_EPROXY,
                         "proxy refused CONNECT: 407 Proxy Authentication Required", true);
}

/* ---- main ---------------------------------------------------------------- */

#define GROUP(name, tests)                                                                 \
    {                                                                                      \
        name, tests, sizeof(tests) / sizeof(tests[0])                                      \
    }


/* ---- the event-driven API over TLS ----------------------------------------- */

/* Twenty wss:// connections from one poll() loop: the TLS handshakes run in
 * the loop as the sockets become ready, then each echoes ten messages and
 * closes. */
static void test_event_loop_connections_over_tls(void **state)
{
    (void)state;
    enum { N = 20, MSGS = 10 };
    struct wsc_options o;
    wss_options(&o);
    static struct wsc_conn cs[N];
    int sent[N] = {0}, got[N] = {0}, closed = 0;
    for (size_t i = 0; i < N; i++) {
        /* Usually still connecting on return; a fast server (or a slow,
         * sanitized client) may have answered already, even the 101. */
        int rc = wsc_conn_start(&cs[i], wss_url("localhost", "/event-%zu", i), &o);
        if (rc != 0 || wsc_conn_state(&cs[i]) == WSC_CONN_FAILED)
            fail_msg("connection %zu: start %d, state %d: %s", i, rc,
                     (int)wsc_conn_state(&cs[i]), wsc_conn_detail(&cs[i]));
    }
    for (int rounds = 0; closed < N; rounds++) {
        assert_true(rounds < 5000);
        itest_pump(cs, N);
        closed = 0;
        for (size_t i = 0; i < N; i++) {
            struct wsc_conn *c = &cs[i];
            if (wsc_conn_state(c) == WSC_CONN_FAILED)
                fail_msg("connection %zu: %s", i, wsc_conn_detail(c));
            if (wsc_conn_state(c) == WSC_CONN_CLOSED && wsc_conn_interest(c) == 0) {
                closed++;
                continue;
            }
            if (wsc_conn_state(c) != WSC_CONN_OPEN && wsc_conn_state(c) != WSC_CONN_CLOSING)
                continue;
            char text[32];
            while (sent[i] < MSGS && wsc_conn_state(c) == WSC_CONN_OPEN) {
                snprintf(text, sizeof(text), "conn %zu msg %d", i, sent[i]);
                int src = wsc_send(c, WSC_OP_TEXT, text, strlen(text), 0);
                if (src == WSC_EAGAIN)
                    break;
                if (src != 0)
                    fail_msg("connection %zu: send %d: %s", i, src, wsc_conn_detail(c));
                sent[i]++;
            }
            struct wsc_message m;
            int rc;
            while ((rc = wsc_recv(c, &m, 0)) == 0) {
                snprintf(text, sizeof(text), "conn %zu msg %d", i, got[i]++);
                assert_int_equal(m.len, strlen(text));
                assert_memory_equal(m.data, text, m.len);
            }
            if (rc != WSC_EAGAIN && rc != WSC_ECLOSED)
                fail_msg("connection %zu: recv %d: %s", i, rc, wsc_conn_detail(c));
            if (got[i] == MSGS && wsc_conn_state(c) == WSC_CONN_OPEN)
                assert_int_equal(wsc_close(c, WSC_CLOSE_NORMAL, "done", TIMEOUT_MS), WSC_EAGAIN);
        }
    }
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(got[i], MSGS);
        assert_int_equal(wsc_conn_close_code(&cs[i]), WSC_CLOSE_NORMAL);
        wsc_conn_free(&cs[i]);
    }
}

/* wss:// through the proxy from the loop: TCP to the proxy, CONNECT, TLS end
 * to end with the server, the handshake and a session, none of it waiting. */
static void test_wss_event_loop_through_proxy(void **state)
{
    (void)state;
    char proxy[256];
    proxy_url(proxy, sizeof(proxy), PROXY_CREDENTIALS);
    struct wsc_options o;
    wss_options(&o);
    o.proxy = proxy;
    struct wsc_conn c;
    int rc = wsc_conn_start(&c, wss_url("localhost", "/info"), &o);
    if (rc == 0)
        rc = itest_open_in_loop(&c);
    if (rc)
        fail_msg("through the proxy: %d %s", rc, wsc_conn_detail(&c));
    assert_null(c.proxying);
    struct wsc_message m;
    itest_next_message(&c, &m);
    char info[256];
    assert_true(m.len < sizeof(info));
    memcpy(info, m.data, m.len);
    info[m.len] = '\0';
    expect_has(info, "sni=localhost ");
    assert_true(
        proxy_log_has("CONNECT localhost:%s AUTH ok", env_or_fail("WSC_TEST_PORT")));
    assert_int_equal(wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS), WSC_EAGAIN);
    for (int rounds = 0; wsc_conn_interest(&c) != 0; rounds++) {
        assert_true(rounds < 500);
        while (wsc_recv(&c, &m, 0) == 0) {
        }
        itest_pump(&c, 1);
    }
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_CLOSED);
    wsc_conn_free(&c);
}

/* A verification failure during a handshake run by the loop reads as it
 * does from wsc_connect(). */
static void test_event_loop_tls_failure_is_specific(void **state)
{
    (void)state;
    struct wsc_options o;
    wss_options(&o);
    o.tls.ca_file = cert("other_ca.pem");
    struct wsc_conn c;
    int rc = wsc_conn_start(&c, wss_url("127.0.0.1", "/event-other-ca-%u", next_tag()), &o);
    for (int rounds = 0; rc == 0 && wsc_conn_state(&c) != WSC_CONN_FAILED; rounds++) {
        assert_true(rounds < 500);
        itest_pump(&c, 1);
    }
    assert_int_equal(wsc_conn_error(&c), WSC_ETLS);
    expect_has(wsc_conn_detail(&c), "TLS with 127.0.0.1 failed: certificate verify failed");
    assert_int_equal(wsc_conn_interest(&c), 0);
    wsc_conn_free(&c);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest echo[] = {
        cmocka_unit_test(test_backend),
        cmocka_unit_test(test_roundtrips_of_every_size),
        cmocka_unit_test(test_fragments_and_pipelined_messages),
        cmocka_unit_test(test_large_message_in_chunks),
        cmocka_unit_test(test_ping_and_pong),
        cmocka_unit_test(test_sni_alpn_and_version_seen_by_server),
        cmocka_unit_test(test_ca_path_directory),
        cmocka_unit_test(test_system_store_from_ssl_cert_file),
        cmocka_unit_test(test_unknown_ca_in_system_store_fails),
        cmocka_unit_test(test_unknown_ca_in_other_ca_file_fails),
        cmocka_unit_test(test_missing_ca_file_fails),
        cmocka_unit_test(test_insecure_accepts_unknown_ca),
        cmocka_unit_test(test_reconnect_after_close),
        cmocka_unit_test(test_event_loop_connections_over_tls),
        cmocka_unit_test(test_event_loop_tls_failure_is_specific),
    };
    const struct CMUnitTest wrong_name[] = {
        cmocka_unit_test(test_backend),
        cmocka_unit_test(test_wrong_name_fails_for_ip_and_localhost),
        cmocka_unit_test(test_wrong_name_accepted_when_insecure),
    };
    const struct CMUnitTest expired[] = {
        cmocka_unit_test(test_backend),
        cmocka_unit_test(test_expired_certificate_fails),
        cmocka_unit_test(test_expired_certificate_accepted_when_insecure),
    };
    const struct CMUnitTest mutual[] = {
        cmocka_unit_test(test_backend),
        cmocka_unit_test(test_client_certificate_accepted),
        cmocka_unit_test(test_client_certificate_and_key_in_one_file),
        cmocka_unit_test(test_missing_client_certificate_refused_silently),
        cmocka_unit_test(test_other_ca_client_certificate_refused_silently),
        cmocka_unit_test(test_client_key_not_matching_fails_locally),
    };
    const struct CMUnitTest refused[] = {
        cmocka_unit_test(test_backend),
        cmocka_unit_test(test_missing_client_certificate_refused_with_alert),
        cmocka_unit_test(test_other_ca_client_certificate_refused_with_alert),
    };
    const struct CMUnitTest node_mutual[] = {
        cmocka_unit_test(test_backend),
        cmocka_unit_test(test_client_certificate_accepted),
        cmocka_unit_test(test_node_missing_client_certificate_refused_with_alert),
        cmocka_unit_test(test_other_ca_client_certificate_refused_silently),
    };
    const struct CMUnitTest coalesced[] = {
        cmocka_unit_test(test_backend),
        cmocka_unit_test(test_frames_in_the_101_record_are_delivered),
    };
    const struct CMUnitTest front[] = {
        cmocka_unit_test(test_backend),
        cmocka_unit_test(test_hostile_coalesced_over_tls),
        cmocka_unit_test(test_hostile_ping_flood_over_tls),
        cmocka_unit_test(test_hostile_server_close_over_tls),
        cmocka_unit_test(test_hostile_violation_over_tls),
        cmocka_unit_test(test_hostile_drop_over_tls),
    };
    const struct CMUnitTest proxy[] = {
        cmocka_unit_test(test_backend),
        cmocka_unit_test(test_wss_through_proxy),
        cmocka_unit_test(test_wss_through_proxy_verifies_the_server),
        cmocka_unit_test(test_wss_proxy_refusal_is_not_a_tls_error),
        cmocka_unit_test(test_wss_event_loop_through_proxy),
    };
    const struct {
        const char *name;
        const struct CMUnitTest *tests;
        size_t count;
    } groups[] = {
        GROUP("echo", echo),           GROUP("wrong_name", wrong_name),
        GROUP("expired", expired),     GROUP("mutual", mutual),
        GROUP("refused", refused),     GROUP("node_mutual", node_mutual),
        GROUP("coalesced", coalesced), GROUP("front", front),
        GROUP("proxy", proxy),
    };
    if (argc == 2) {
        for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
            if (strcmp(argv[1], groups[i].name) == 0)
                return _cmocka_run_group_tests(groups[i].name, groups[i].tests,
                                               groups[i].count, NULL, NULL);
    }
    fprintf(stderr, "usage: %s GROUP (", argv[0]);
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        fprintf(stderr, "%s%s", i ? "|" : "", groups[i].name);
    fprintf(stderr, ")\n");
    return 2;
}
