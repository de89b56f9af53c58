/*
 * libFuzzer target for the request writer, wsc_handshake_write_request(): the
 * host, port, resource, Origin, subprotocols and user headers all come from
 * the input, with any byte values (CR, LF, NUL, obs-text), so the target looks
 * for header injection. A request is written whole, so there is no chunking.
 *
 * Input: byte 0 holds options (bit 0: wss; bit 1: an Origin; bit 2: a
 * resource; bits 3-4: the output capacity: exact, exact - 1, 256, 8192). Then
 * two port bytes, 16 nonce bytes, and length-prefixed fields (one length
 * byte, then the bytes): host, resource, origin, a protocol count (mod 8) and
 * the protocols, a header count (mod 8) and each header's name and value.
 * Missing input reads as empty. Strings end at an embedded NUL, as C strings
 * do; header names and values are length-delimited and may hold NUL.
 *
 * Checks: the return code is what an independent validity check predicts
 * (WSC_EINVAL for a bad host or resource, WSC_EHEADER for a bad Origin,
 * subprotocol or user header, else 0 or WSC_ENOBUFS by capacity); nothing is
 * written past the buffer (a heap block of exactly its size); and a request
 * that was written splits on CRLF into exactly the expected lines (request
 * line, Host, the fixed headers, Origin, Sec-WebSocket-Protocol, then the user
 * headers) with no other CR or LF anywhere, each header line a token, a colon
 * and a value, and the handshake expects the accept value of the key it sent.
 */
#include "core/fuzz_chunks.h"
#include "wsc/wsc_core.h"

#define MAX_LIST 8

struct reader {
    const uint8_t *p;
    size_t left;
};

static uint8_t take_byte(struct reader *r)
{
    if (!r->left)
        return 0;
    r->left--;
    return *r->p++;
}

/* A length-prefixed field as an exact-size heap block (+ NUL when @p cstr). */
static char *take_field(struct reader *r, size_t *len, bool cstr)
{
    size_t n = take_byte(r);
    if (n > r->left)
        n = r->left;
    char *s = malloc(n + (cstr ? 1 : 0) + (n == 0 && !cstr ? 1 : 0));
    FZ_CHECK(s != NULL);
    if (n)
        memcpy(s, r->p, n);
    if (cstr)
        s[n] = '\0';
    r->p += n;
    r->left -= n;
    *len = cstr ? strlen(s) : n;
    return s;
}

static bool tchar(uint8_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool token(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!tchar((uint8_t)s[i]))
            return false;
    return n > 0;
}

/* RFC 9110 5.5 field-value bytes: no CTL except HTAB. */
static bool field_value(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

static bool ieq(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] + 32) : a[i];
        if (x != b[i])
            return false;
    }
    return true;
}

static bool reserved(const char *name, size_t n)
{
    static const char *const names[] = {"host", "upgrade", "connection", "content-length",
                                        "transfer-encoding"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (ieq(name, n, names[i]))
            return true;
    return n >= 14 && ieq(name, 14, "sec-websocket-");
}

static int expected_rc(const struct wsc_request_info *r)
{
    size_t hl = strlen(r->host);
    if (hl == 0 || !field_value(r->host, hl) || strchr(r->host, ' ') ||
        strchr(r->host, '\t'))
        return WSC_EINVAL;
    if (r->resource) {
        size_t rl = strlen(r->resource);
        if (rl == 0 || r->resource[0] != '/')
            return WSC_EINVAL;
        for (size_t i = 0; i < rl; i++)
            if ((uint8_t)r->resource[i] <= 0x20 || (uint8_t)r->resource[i] == 0x7f)
                return WSC_EINVAL;
    }
    if (r->origin && !field_value(r->origin, strlen(r->origin)))
        return WSC_EHEADER;
    for (size_t i = 0; i < r->protocol_count; i++)
        if (!token(r->protocols[i], strlen(r->protocols[i])))
            return WSC_EHEADER;
    for (size_t i = 0; i < r->header_count; i++) {
        const struct wsc_header *h = &r->headers[i];
        if (!token(h->name, h->name_len) || reserved(h->name, h->name_len) ||
            !field_value(h->value, h->value_len) ||
            (r->origin && ieq(h->name, h->name_len, "origin")))
            return WSC_EHEADER;
    }
    return 0;
}

/* The expected request, built independently of the writer. */
struct text {
    char *p;
    size_t len, cap;
};

static void add(struct text *t, const char *s, size_t n)
{
    if (t->len + n > t->cap) {
        t->cap = (t->len + n) * 2;
        t->p = realloc(t->p, t->cap);
        FZ_CHECK(t->p != NULL);
    }
    if (n)
        memcpy(t->p + t->len, s, n);
    t->len += n;
}

static void adds(struct text *t, const char *s)
{
    add(t, s, strlen(s));
}

static void expected_request(const struct wsc_request_info *r, const char *key,
                             struct text *t)
{
    char port[16];
    adds(t, "GET ");
    adds(t, r->resource ? r->resource : "/");
    adds(t, " HTTP/1.1\r\nHost: ");
    if (strchr(r->host, ':')) {
        adds(t, "[");
        add(t, r->host, strcspn(r->host, "%"));
        adds(t, "]");
    } else {
        adds(t, r->host);
    }
    if (r->port && r->port != (r->tls ? 443 : 80)) {
        snprintf(port, sizeof(port), ":%u", (unsigned)r->port);
        adds(t, port);
    }
    adds(t, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    add(t, key, WSC_HANDSHAKE_KEY_LEN);
    adds(t, "\r\nSec-WebSocket-Version: 13\r\n");
    if (r->origin) {
        adds(t, "Origin: ");
        adds(t, r->origin);
        adds(t, "\r\n");
    }
    for (size_t i = 0; i < r->protocol_count; i++) {
        adds(t, i ? ", " : "Sec-WebSocket-Protocol: ");
        adds(t, r->protocols[i]);
        if (i + 1 == r->protocol_count)
            adds(t, "\r\n");
    }
    for (size_t i = 0; i < r->header_count; i++) {
        add(t, r->headers[i].name, r->headers[i].name_len);
        adds(t, ": ");
        add(t, r->headers[i].value, r->headers[i].value_len);
        adds(t, "\r\n");
    }
    adds(t, "\r\n");
}

/* The written request read as HTTP: lines end in CRLF and nowhere else, the
 * head ends at the first empty line, which is the end of the output, and every
 * header line is "token: value". Returns the number of header lines. */
static size_t check_http(const char *p, size_t n)
{
    size_t lines = 0, start = 0;
    for (size_t i = 0; i < n; i++) {
        FZ_CHECK(p[i] != '\0');
        if (p[i] == '\r') {
            FZ_CHECK(i + 1 < n && p[i + 1] == '\n');
            continue;
        }
        if (p[i] != '\n')
            continue;
        FZ_CHECK(i > 0 && p[i - 1] == '\r');
        size_t len = i - 1 - start;
        if (len == 0) {
            FZ_CHECK(i + 1 == n && lines > 0);
            return lines - 1;
        }
        if (lines > 0) {
            const char *colon = memchr(p + start, ':', len);
            FZ_CHECK(colon && token(p + start, (size_t)(colon - (p + start))));
            FZ_CHECK(field_value(colon + 1, len - (size_t)(colon + 1 - (p + start))));
        } else {
            FZ_CHECK(len >= 14 && memcmp(p + start, "GET /", 5) == 0);
            FZ_CHECK(memcmp(p + start + len - 9, " HTTP/1.1", 9) == 0);
            FZ_CHECK(memchr(p + start + 4, ' ', len - 13) == NULL);
        }
        lines++;
        start = i + 1;
    }
    FZ_CHECK(false); /* no empty line */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct reader r = {data + 1, size - 1};
    uint8_t opt = data[0];
    uint8_t nonce[WSC_HANDSHAKE_NONCE_LEN];
    struct wsc_request_info req = {.tls = opt & 1};
    req.port = (uint16_t)(take_byte(&r) << 8);
    req.port = (uint16_t)(req.port | take_byte(&r));
    for (size_t i = 0; i < sizeof(nonce); i++)
        nonce[i] = take_byte(&r);

    size_t n;
    char *host = take_field(&r, &n, true);
    char *resource = take_field(&r, &n, true);
    char *origin = take_field(&r, &n, true);
    req.host = host;
    req.resource = opt & 4 ? resource : NULL;
    req.origin = opt & 2 ? origin : NULL;
    char *protocols[MAX_LIST];
    req.protocol_count = take_byte(&r) % MAX_LIST;
    for (size_t i = 0; i < req.protocol_count; i++)
        protocols[i] = take_field(&r, &n, true);
    req.protocols = (const char *const *)protocols;
    struct wsc_header headers[MAX_LIST];
    req.header_count = take_byte(&r) % MAX_LIST;
    for (size_t i = 0; i < req.header_count; i++) {
        headers[i].name = take_field(&r, &headers[i].name_len, false);
        headers[i].value = take_field(&r, &headers[i].value_len, false);
    }
    req.headers = headers;

    char head[64];
    struct wsc_header resp_headers[1];
    struct wsc_handshake hs;
    FZ_CHECK(wsc_handshake_init(&hs, &req, head, sizeof(head), resp_headers, 1) == 0);

    int want = expected_rc(&req);
    struct text expect = {0};
    char key[WSC_HANDSHAKE_KEY_LEN + 1];
    if (want == 0) {
        /* The key is base64 of the nonce; take it from a large-buffer run. */
        char *big = malloc(65536);
        size_t w = 0;
        FZ_CHECK(big != NULL);
        FZ_CHECK(wsc_handshake_write_request(&hs, nonce, big, 65536, &w) == 0);
        const char *k = strstr(big, "\r\nSec-WebSocket-Key: ");
        FZ_CHECK(k != NULL);
        memcpy(key, k + 21, WSC_HANDSHAKE_KEY_LEN);
        key[WSC_HANDSHAKE_KEY_LEN] = '\0';
        expected_request(&req, key, &expect);
        free(big);
    }

    static const size_t caps[] = {0, 0, 256, 8192};
    size_t which = (opt >> 3) & 3;
    size_t cap = caps[which];
    if (which == 0)
        cap = expect.len ? expect.len : 1;
    else if (which == 1)
        cap = expect.len > 1 ? expect.len - 1 : 1;
    char *out = malloc(cap);
    size_t written = 99;
    FZ_CHECK(out != NULL);
    int rc = wsc_handshake_write_request(&hs, nonce, out, cap, &written);
    if (want != 0) {
        FZ_CHECK(rc == want && written == 0);
    } else if (expect.len > cap) {
        FZ_CHECK(rc == WSC_ENOBUFS && written == 0);
    } else {
        FZ_CHECK(rc == 0 && written == expect.len);
        if (memcmp(out, expect.p, written) != 0) {
            fprintf(stderr, "--- expected:\n%.*s\n--- written:\n%.*s\n", (int)expect.len,
                    expect.p, (int)written, out);
            abort();
        }
        size_t lines = check_http(out, written);
        FZ_CHECK(lines ==
                 5 + (req.origin != NULL) + (req.protocol_count > 0) + req.header_count);
        char accept[WSC_HANDSHAKE_ACCEPT_LEN];
        wsc_handshake_accept_for(key, accept);
        FZ_CHECK(memcmp(accept, hs.accept, sizeof(accept)) == 0);
    }

    free(out);
    free(expect.p);
    for (size_t i = 0; i < req.header_count; i++) {
        free((void *)headers[i].name);
        free((void *)headers[i].value);
    }
    for (size_t i = 0; i < req.protocol_count; i++)
        free(protocols[i]);
    free(host);
    free(resource);
    free(origin);
    return 0;
}
