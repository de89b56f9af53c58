/*
 * The TLS transport against tests/fixtures/tls_server.py on 127.0.0.1, over
 * wsc_tcp_connect (and over wrappers of it that count, dribble or drop bytes).
 *
 * Usage: tls_test GROUP, run by with_server.sh with WSC_TEST_PORT set and
 * WSC_TLS_CERTS naming the directory make_certs.sh filled. GROUP matches the
 * server's configuration:
 *   valid       server.pem (localhost + 127.0.0.1), raw-echo
 *   expired     expired.pem, raw-echo
 *   wrong_name  wrong.pem (wrong.example only), raw-echo
 *   mutual      server.pem, client certificate required (client_ca.pem)
 *   coalesced   server.pem, 101 + text + ping in one TLS record
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "wsc/wsc_tls.h"

#define TIMEOUT_MS 10000

/* ---- environment -------------------------------------------------------- */

static uint16_t fixture_port(void)
{
    const char *p = getenv("WSC_TEST_PORT");
    assert_non_null(p);
    return (uint16_t)strtoul(p, NULL, 10);
}

/* $WSC_TLS_CERTS/name, in one of a few rotating static buffers. */
static const char *cert(const char *name)
{
    static char bufs[6][512];
    static unsigned next;
    const char *dir = getenv("WSC_TLS_CERTS");
    assert_non_null(dir);
    char *b = bufs[next++ % 6];
    snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
    return b;
}

static struct wsc_tls_options verify_with(const char *ca_name)
{
    struct wsc_tls_options o;
    memset(&o, 0, sizeof(o));
    o.ca_file = ca_name ? cert(ca_name) : NULL;
    return o;
}

/* ---- a wrapping lower transport ------------------------------------------ */

/*
 * Wraps TCP to watch and disturb what the TLS library asks of its lower
 * transport: counts calls, records the first bytes received, caps the bytes
 * per call, answers every other call with WSC_EAGAIN, or drops the first
 * bytes of the stream (checking they are the expected ones).
 */
struct wrap {
    struct wsc_tcp tcp;
    struct wsc_transport inner;
    size_t recv_calls, send_calls;
    size_t max_recv, max_send; /* 0: no cap */
    bool flaky;
    unsigned recv_tick, send_tick;
    const uint8_t *drop; /* the bytes expected at the start of the stream */
    size_t drop_len, dropped;
    bool drop_mismatch;
    uint8_t first[16]; /* the first bytes received */
    size_t first_len;
    bool closed;
};

static int wrap_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent)
{
    struct wrap *w = ctx;
    w->send_calls++;
    *sent = 0;
    if (w->flaky && (w->send_tick++ & 1) == 0)
        return WSC_EAGAIN;
    if (w->max_send && len > w->max_send)
        len = w->max_send;
    return w->inner.ops->send(w->inner.ctx, buf, len, sent);
}

static int wrap_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    struct wrap *w = ctx;
    w->recv_calls++;
    *got = 0;
    if (w->flaky && (w->recv_tick++ & 1) == 0)
        return WSC_EAGAIN;
    while (w->dropped < w->drop_len) {
        uint8_t tmp[64];
        size_t want = w->drop_len - w->dropped, n = 0;
        int rc = w->inner.ops->recv(w->inner.ctx, tmp,
                                    want < sizeof(tmp) ? want : sizeof(tmp), &n);
        if (rc != 0 || n == 0)
            return rc;
        if (memcmp(tmp, w->drop + w->dropped, n) != 0)
            w->drop_mismatch = true;
        w->dropped += n;
    }
    if (w->max_recv && cap > w->max_recv)
        cap = w->max_recv;
    int rc = w->inner.ops->recv(w->inner.ctx, buf, cap, got);
    if (rc == 0 && w->first_len < sizeof(w->first)) {
        size_t n = sizeof(w->first) - w->first_len;
        n = n < *got ? n : *got;
        memcpy(w->first + w->first_len, buf, n);
        w->first_len += n;
    }
    return rc;
}

static int wrap_wait(void *ctx, int events, int timeout_ms)
{
    struct wrap *w = ctx;
    return w->inner.ops->wait(w->inner.ctx, events, timeout_ms);
}

static size_t wrap_pending(void *ctx)
{
    struct wrap *w = ctx;
    return w->inner.ops->pending(w->inner.ctx);
}

static int wrap_shutdown(void *ctx)
{
    struct wrap *w = ctx;
    return w->inner.ops->shutdown(w->inner.ctx);
}

static void wrap_close(void *ctx)
{
    struct wrap *w = ctx;
    w->closed = true;
    w->inner.ops->close(w->inner.ctx);
}

static int wrap_fd(void *ctx)
{
    struct wrap *w = ctx;
    return w->inner.ops->fd(w->inner.ctx);
}

static const struct wsc_transport_ops wrap_ops = {
    .name = "test-wrap",
    .send = wrap_send,
    .recv = wrap_recv,
    .wait = wrap_wait,
    .pending = wrap_pending,
    .shutdown = wrap_shutdown,
    .close = wrap_close,
    .fd = wrap_fd,
};

/* Connects TCP to @p port and wraps it (no disturbance until fields are set). */
static void wrap_connect(struct wrap *w, uint16_t port)
{
    memset(w, 0, sizeof(*w));
    assert_int_equal(wsc_tcp_connect(&w->tcp, "127.0.0.1", port, TIMEOUT_MS), 0);
    wsc_tcp_transport(&w->tcp, &w->inner);
}

/* ---- a TLS connection to the fixture ------------------------------------- */

struct conn {
    struct wrap lower; /* must outlive the TLS object: it is the lower ctx */
    struct wsc_tls *tls;
    struct wsc_transport tr;
    char detail[WSC_TLS_DETAIL_MAX];
};

/* TCP to the fixture, then TLS for @p host. @p setup may disturb the lower
 * transport first. Returns wsc_tls_connect()'s result. */
static int conn_open_ex(struct conn *c, const char *host, const struct wsc_tls_options *o,
                        const uint8_t *preread, size_t preread_len,
                        void (*setup)(struct wrap *, void *), void *arg)
{
    memset(c, 0, sizeof(*c));
    wrap_connect(&c->lower, fixture_port());
    if (setup)
        setup(&c->lower, arg);
    struct wsc_transport lower = {&wrap_ops, &c->lower};
    int rc = wsc_tls_connect(&c->tls, &lower, host, o, preread, preread_len, TIMEOUT_MS,
                             c->detail, sizeof(c->detail));
    if (rc == 0) {
        assert_non_null(c->tls);
        assert_string_equal(c->detail, "");
        wsc_tls_transport(c->tls, &c->tr);
    } else {
        assert_null(c->tls);
        assert_true(c->lower.closed); /* ownership passed even on failure */
        assert_true(c->detail[0] != '\0');
    }
    return rc;
}

static int conn_open(struct conn *c, const char *host, const struct wsc_tls_options *o)
{
    return conn_open_ex(c, host, o, NULL, 0, NULL, NULL);
}

static void conn_close(struct conn *c)
{
    if (c->tls) {
        c->tr.ops->close(c->tr.ctx);
        c->tls = NULL;
        assert_true(c->lower.closed);
    }
}

#define CONN_OK(c, expr)                                                                   \
    do {                                                                                   \
        int conn_rc_ = (expr);                                                             \
        if (conn_rc_ != 0)                                                                 \
            print_error("%s failed: %d %s (%s)\n", #expr, conn_rc_,                        \
                        wsc_strerror(conn_rc_), (c)->detail);                              \
        assert_int_equal(conn_rc_, 0);                                                     \
    } while (0)

/* The detail must be exactly @p want. */
static void expect_failure(int rc, const struct conn *c, int want_rc, const char *want)
{
    if (rc != want_rc || strcmp(c->detail, want) != 0)
        print_error("got %d '%s'\nwant %d '%s'\n", rc, c->detail, want_rc, want);
    assert_int_equal(rc, want_rc);
    assert_string_equal(c->detail, want);
}

static void expect_detail_has(const char *detail, const char *part)
{
    if (strstr(detail, part) == NULL)
        print_error("detail '%s' lacks '%s'\n", detail, part);
    assert_non_null(strstr(detail, part));
}

/* ---- I/O helpers over any transport -------------------------------------- */

static void send_all(const struct wsc_transport *tr, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t deadline = wsc_platform_now_ms() + TIMEOUT_MS;
    while (len > 0) {
        size_t n = 0;
        int rc = tr->ops->send(tr->ctx, p, len, &n);
        if (rc == 0) {
            p += n;
            len -= n;
            continue;
        }
        assert_int_equal(rc, WSC_EAGAIN);
        assert_true(wsc_platform_now_ms() < deadline);
        assert_true(tr->ops->wait(tr->ctx, WSC_WAIT_WRITE, TIMEOUT_MS) > 0);
    }
}

/* Receives at least one byte (or EOF: *got == 0). Returns 0 or the error. */
static int recv_some(const struct wsc_transport *tr, uint8_t *buf, size_t cap, size_t *got)
{
    uint64_t deadline = wsc_platform_now_ms() + TIMEOUT_MS;
    for (;;) {
        int rc = tr->ops->recv(tr->ctx, buf, cap, got);
        if (rc != WSC_EAGAIN)
            return rc;
        assert_true(wsc_platform_now_ms() < deadline);
        rc = tr->ops->wait(tr->ctx, WSC_WAIT_READ, TIMEOUT_MS);
        if (rc < 0)
            return rc;
        assert_true(rc > 0);
    }
}

/* Asks the fixture what it saw of our handshake ("sni=... alpn=..."). */
static void fixture_info(struct conn *c, char *out, size_t cap)
{
    send_all(&c->tr, "@info", 5);
    size_t got = 0;
    CONN_OK(c, recv_some(&c->tr, (uint8_t *)out, cap - 1, &got));
    assert_true(got > 0);
    out[got] = '\0';
}

/* Sends @p n bytes and reads their echo, interleaving both directions so
 * neither side's socket buffer fills up and stalls the other. */
static void echo_roundtrip(const struct wsc_transport *tr, size_t n)
{
    uint8_t *out = malloc(n), *in = malloc(n);
    assert_non_null(out);
    assert_non_null(in);
    itest_pattern(out, n);
    size_t sent = 0, got = 0;
    uint64_t deadline = wsc_platform_now_ms() + 60000;
    while (got < n) {
        bool progress = false;
        if (sent < n) {
            size_t k = 0;
            /* After WSC_EAGAIN the same bytes come again, from the same offset. */
            int rc = tr->ops->send(tr->ctx, out + sent, n - sent, &k);
            if (rc == 0) {
                assert_true(k > 0);
                sent += k;
                progress = true;
            } else {
                assert_int_equal(rc, WSC_EAGAIN);
            }
        }
        size_t k = 0;
        int rc = tr->ops->recv(tr->ctx, in + got, n - got, &k);
        if (rc == 0) {
            assert_true(k > 0); /* no EOF in the middle */
            got += k;
            progress = true;
        } else {
            assert_int_equal(rc, WSC_EAGAIN);
        }
        if (!progress) {
            assert_true(wsc_platform_now_ms() < deadline);
            int ev = WSC_WAIT_READ | (sent < n ? WSC_WAIT_WRITE : 0);
            assert_true(tr->ops->wait(tr->ctx, ev, TIMEOUT_MS) > 0);
        }
    }
    assert_memory_equal(in, out, n);
    free(out);
    free(in);
}

/* ---- local peers that are not TLS servers -------------------------------- */

struct local_peer {
    int listen_fd, fd;
    struct wsc_tcp tcp;
    struct wsc_transport lower;
};

/* A listener on 127.0.0.1, our TCP connection to it, and the accepted end. */
static void local_peer_open(struct local_peer *p)
{
    p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(p->listen_fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(p->listen_fd, 4), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(p->listen_fd, (struct sockaddr *)&a, &len), 0);
    assert_int_equal(wsc_tcp_connect(&p->tcp, "127.0.0.1", ntohs(a.sin_port), TIMEOUT_MS),
                     0);
    wsc_tcp_transport(&p->tcp, &p->lower);
    /* The kernel completed the connection already; accept does not block. */
    p->fd = accept(p->listen_fd, NULL, NULL);
    assert_true(p->fd >= 0);
}

static void local_peer_close(struct local_peer *p)
{
    close(p->fd);
    close(p->listen_fd);
}

/* ---- group "valid": server.pem ------------------------------------------- */

static void test_backend_is_named(void **state)
{
    (void)state;
    const char *b = wsc_tls_backend();
    assert_true(strncmp(b, "openssl ", 8) == 0 || strncmp(b, "mbedtls ", 8) == 0);
    print_message("backend: %s\n", b);
}

static void test_dns_name_verified_with_ca_file_sends_sni_and_alpn(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    struct conn c;
    CONN_OK(&c, conn_open(&c, "localhost", &o));
    char info[256];
    fixture_info(&c, info, sizeof(info));
    expect_detail_has(info, "sni=localhost ");
    expect_detail_has(info, "alpn=http/1.1 ");
    expect_detail_has(info, "client=-");
    assert_string_equal(wsc_tls_detail(c.tls), "");
    assert_int_equal(c.tr.ops->fd(c.tr.ctx), c.lower.tcp.fd);
    assert_string_equal(c.tr.ops->name, "tls");
    conn_close(&c);
}

static void test_ip_literal_verified_against_ip_san_without_sni(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    struct conn c;
    CONN_OK(&c, conn_open(&c, "127.0.0.1", &o));
    char info[256];
    fixture_info(&c, info, sizeof(info));
    expect_detail_has(info, "sni=- "); /* RFC 6066 3: no address in SNI */
    conn_close(&c);
}

static void test_verified_with_ca_path_directory(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with(NULL);
    o.ca_path = cert("capath");
    struct conn c;
    CONN_OK(&c, conn_open(&c, "localhost", &o));
    conn_close(&c);
}

static void test_system_store_honours_ssl_cert_file(void **state)
{
    (void)state;
    /* OpenSSL's default paths read SSL_CERT_FILE; the mbedTLS backend does the
     * same so both builds can point "the system store" somewhere else. */
    assert_int_equal(setenv("SSL_CERT_FILE", cert("ca.pem"), 1), 0);
    struct wsc_tls_options o = verify_with(NULL);
    struct conn c;
    int rc = conn_open(&c, "localhost", &o);
    unsetenv("SSL_CERT_FILE");
    CONN_OK(&c, rc);
    conn_close(&c);
}

static void test_unknown_ca_in_system_store_fails_naming_the_cause(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with(NULL); /* system trust store */
    struct conn c;
    int rc = conn_open(&c, "localhost", &o);
    assert_int_equal(rc, WSC_ETLS);
    expect_detail_has(c.detail,
                      "certificate verify failed: unable to get local issuer "
                      "certificate (unknown CA); the certificate was issued by '");
    expect_detail_has(c.detail, "CN=wsc test CA");
}

static void test_unknown_ca_with_other_ca_file_fails_naming_the_cause(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("other_ca.pem");
    struct conn c;
    int rc = conn_open(&c, "localhost", &o);
    assert_int_equal(rc, WSC_ETLS);
    expect_detail_has(c.detail, "certificate verify failed: unable to get local issuer "
                                "certificate (unknown CA)");
}

static void test_other_ip_fails_as_host_name_mismatch(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    struct conn c;
    int rc = conn_open(&c, "127.0.0.2", &o);
    expect_failure(rc, &c, WSC_ETLS,
                   "host name mismatch: certificate is for 'localhost', '127.0.0.1', not "
                   "'127.0.0.2'");
}

static void test_other_dns_name_fails_as_host_name_mismatch(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    struct conn c;
    int rc = conn_open(&c, "other.test", &o);
    expect_failure(rc, &c, WSC_ETLS,
                   "host name mismatch: certificate is for 'localhost', '127.0.0.1', not "
                   "'other.test'");
}

static void test_insecure_skips_chain_and_name(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with(NULL);
    o.insecure = true;
    struct conn c;
    CONN_OK(&c, conn_open(&c, "other.test", &o));
    echo_roundtrip(&c.tr, 1000);
    conn_close(&c);
}

static void test_missing_ca_file_fails_before_connecting(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with(NULL);
    o.ca_file = "/nonexistent/wsc-ca.pem";
    struct conn c;
    int rc = conn_open(&c, "localhost", &o);
    assert_int_equal(rc, WSC_ETLS);
    expect_detail_has(c.detail,
                      "cannot load CA certificates from '/nonexistent/wsc-ca.pem'");
    assert_int_equal(c.lower.send_calls, 0);
}

static void test_invalid_arguments_close_lower(void **state)
{
    (void)state;
    struct conn c;
    struct wsc_tls_options o = verify_with("ca.pem");
    assert_int_equal(conn_open(&c, NULL, &o), WSC_EINVAL); /* nothing to verify */
    o.key_file = cert("client.key");                       /* a key, no certificate */
    assert_int_equal(conn_open(&c, "localhost", &o), WSC_EINVAL);
    assert_int_equal(c.lower.send_calls, 0);

    struct wsc_tls *t = (struct wsc_tls *)(uintptr_t)1; /* must be overwritten with NULL */
    char detail[WSC_TLS_DETAIL_MAX];
    assert_int_equal(
        wsc_tls_connect(&t, NULL, "localhost", NULL, NULL, 0, 1000, detail, sizeof(detail)),
        WSC_EINVAL);
    assert_null(t);
    assert_string_equal(wsc_tls_detail(NULL), "");
    assert_false(wsc_tls_truncated(NULL));
}

static void test_megabyte_echo_with_partial_writes(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    struct conn c;
    CONN_OK(&c, conn_open(&c, "localhost", &o));
    echo_roundtrip(&c.tr, 1024 * 1024 + 17);
    conn_close(&c);
}

static void dribble(struct wrap *w, void *arg)
{
    (void)arg;
    w->flaky = true;
    w->max_recv = 3;
    w->max_send = 7;
}

static void test_dribbling_flaky_lower_transport(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    struct conn c;
    CONN_OK(&c, conn_open_ex(&c, "localhost", &o, NULL, 0, dribble, NULL));
    echo_roundtrip(&c.tr, 64 * 1024 + 3);
    assert_true(c.lower.recv_calls > 1000);
    conn_close(&c);
}

static void test_server_close_notify_is_clean_eof(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    struct conn c;
    CONN_OK(&c, conn_open(&c, "localhost", &o));
    send_all(&c.tr, "@close-notify", 13);
    uint8_t buf[64];
    size_t got = 1;
    CONN_OK(&c, recv_some(&c.tr, buf, sizeof(buf), &got));
    assert_int_equal(got, 0);
    assert_false(wsc_tls_truncated(c.tls));
    /* End of stream stays readable, so nobody waits for it on the socket. */
    assert_int_equal(c.tr.ops->wait(c.tr.ctx, WSC_WAIT_READ, 0), WSC_WAIT_READ);
    assert_int_equal(c.tr.ops->recv(c.tr.ctx, buf, sizeof(buf), &got), 0);
    assert_int_equal(got, 0);
    conn_close(&c);
}

static void test_eof_without_close_notify_is_flagged_truncated(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    struct conn c;
    CONN_OK(&c, conn_open(&c, "localhost", &o));
    send_all(&c.tr, "@truncate", 9);
    uint8_t buf[64];
    size_t got = 1;
    CONN_OK(&c, recv_some(&c.tr, buf, sizeof(buf), &got));
    assert_int_equal(got, 0);
    assert_true(wsc_tls_truncated(c.tls));
    conn_close(&c);
}

static void test_shutdown_sends_close_notify(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    struct conn c;
    CONN_OK(&c, conn_open(&c, "localhost", &o));
    echo_roundtrip(&c.tr, 100);
    int rc;
    while ((rc = c.tr.ops->shutdown(c.tr.ctx)) == WSC_EAGAIN)
        assert_true(c.tr.ops->wait(c.tr.ctx, WSC_WAIT_WRITE, TIMEOUT_MS) > 0);
    assert_int_equal(rc, 0);
    size_t n = 1;
    assert_int_equal(c.tr.ops->send(c.tr.ctx, (const uint8_t *)"x", 1, &n), WSC_ENOTCONN);
    assert_int_equal(n, 0);
    /* The fixture answers a clean close_notify with its own: a clean EOF. */
    uint8_t buf[64];
    size_t got = 1;
    CONN_OK(&c, recv_some(&c.tr, buf, sizeof(buf), &got));
    assert_int_equal(got, 0);
    assert_false(wsc_tls_truncated(c.tls));
    conn_close(&c);
}

/* The first bytes the server sends, seen by a plain handshake. */
static void record_server_start(uint8_t *out, size_t len)
{
    struct wsc_tls_options o = verify_with("ca.pem");
    struct conn c;
    CONN_OK(&c, conn_open(&c, "localhost", &o));
    assert_true(c.lower.first_len >= len);
    memcpy(out, c.lower.first, len);
    conn_close(&c);
}

struct drop_arg {
    const uint8_t *bytes;
    size_t len;
};

static void drop_start(struct wrap *w, void *arg)
{
    const struct drop_arg *d = arg;
    w->drop = d->bytes;
    w->drop_len = d->len;
}

/*
 * Preread bytes are the start of the TLS stream. No ClientHello can be sent
 * before wsc_tls_connect(), so real server bytes cannot be read ahead; but the
 * first bytes of a server's reply (record header, handshake type and length)
 * are the same on every connection with the same configuration. So: record
 * them once, then connect with them as preread while the lower transport
 * drops (and checks) the same bytes of the live stream. The handshake can only
 * succeed if the preread bytes are consumed first and spliced exactly to what
 * follows from the lower transport; every split inside the record header and
 * the handshake header is tried.
 */
static void test_preread_is_consumed_before_lower(void **state)
{
    (void)state;
    uint8_t start[9];
    record_server_start(start, sizeof(start));
    assert_int_equal(start[0], 0x16); /* a handshake record */
    static const size_t splits[] = {1, 3, 5, 6, 9};
    for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
        struct drop_arg d = {start, splits[i]};
        struct wsc_tls_options o = verify_with("ca.pem");
        struct conn c;
        int rc = conn_open_ex(&c, "localhost", &o, start, splits[i], drop_start, &d);
        if (rc != 0)
            print_error("preread of %zu bytes: %d %s\n", splits[i], rc, c.detail);
        assert_int_equal(rc, 0);
        assert_false(c.lower.drop_mismatch);
        assert_int_equal(c.lower.dropped, splits[i]);
        echo_roundtrip(&c.tr, 3000);
        conn_close(&c);
    }
}

static void test_preread_alert_ends_handshake_before_lower_is_read(void **state)
{
    (void)state;
    /* A fatal handshake_failure alert record, as if an intermediary had put it
     * in front of the server's stream. */
    static const uint8_t alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
    struct wsc_tls_options o = verify_with("ca.pem");
    struct conn c;
    int rc = conn_open_ex(&c, "localhost", &o, alert, sizeof(alert), NULL, NULL);
    assert_int_equal(rc, WSC_ETLS);
    expect_detail_has(c.detail, "TLS handshake failed: ");
    expect_detail_has(c.detail, "handshake failure");
    assert_int_equal(c.lower.recv_calls, 0);
}

static void test_handshake_times_out(void **state)
{
    (void)state;
    struct local_peer p;
    local_peer_open(&p); /* accepts, never answers */
    struct wsc_tls *t = NULL;
    char detail[WSC_TLS_DETAIL_MAX];
    struct wsc_tls_options o = verify_with("ca.pem");
    uint64_t t0 = wsc_platform_now_ms();
    int rc = wsc_tls_connect(&t, &p.lower, "localhost", &o, NULL, 0, 300, detail,
                             sizeof(detail));
    uint64_t took = wsc_platform_now_ms() - t0;
    assert_int_equal(rc, WSC_ETIMEDOUT);
    assert_string_equal(detail, "timed out during the TLS handshake");
    assert_true(took >= 250 && took < 3000);
    assert_int_equal(p.tcp.fd, -1); /* closed by wsc_tls_connect */
    local_peer_close(&p);
}

static void test_plain_http_peer_is_reported(void **state)
{
    (void)state;
    struct local_peer p;
    local_peer_open(&p);
    static const char reply[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(write(p.fd, reply, sizeof(reply) - 1), (ssize_t)(sizeof(reply) - 1));
    struct wsc_tls *t = NULL;
    char detail[WSC_TLS_DETAIL_MAX];
    struct wsc_tls_options o = verify_with("ca.pem");
    int rc = wsc_tls_connect(&t, &p.lower, "localhost", &o, NULL, 0, TIMEOUT_MS, detail,
                             sizeof(detail));
    assert_int_equal(rc, WSC_ETLS);
    print_message("plain HTTP peer: %s\n", detail);
    expect_detail_has(detail, "TLS handshake failed: ");
    expect_detail_has(detail, "(is the server speaking TLS on this port?)");
    local_peer_close(&p);
}

static void test_peer_closing_during_handshake_is_reported(void **state)
{
    (void)state;
    struct local_peer p;
    local_peer_open(&p);
    /* FIN now, but keep the socket: no RST when the ClientHello arrives. */
    assert_int_equal(shutdown(p.fd, SHUT_WR), 0);
    struct wsc_tls *t = NULL;
    char detail[WSC_TLS_DETAIL_MAX];
    struct wsc_tls_options o = verify_with("ca.pem");
    int rc = wsc_tls_connect(&t, &p.lower, "localhost", &o, NULL, 0, TIMEOUT_MS, detail,
                             sizeof(detail));
    assert_int_equal(rc, WSC_ETLS);
    assert_string_equal(
        detail, "TLS handshake failed: the server closed the connection (is it a TLS "
                "server?)");
    local_peer_close(&p);
}

/* ---- group "expired": expired.pem ---------------------------------------- */

static void test_expired_certificate_fails_with_its_date(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    struct conn c;
    int rc = conn_open(&c, "localhost", &o);
    expect_failure(rc, &c, WSC_ETLS,
                   "certificate verify failed: certificate has expired (not valid after "
                   "2020-01-02 00:00:00 UTC)");
}

static void test_expired_certificate_accepted_when_insecure(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with(NULL);
    o.insecure = true;
    struct conn c;
    CONN_OK(&c, conn_open(&c, "localhost", &o));
    echo_roundtrip(&c.tr, 500);
    conn_close(&c);
}

/* ---- group "wrong_name": wrong.pem --------------------------------------- */

static void test_wrong_name_fails_naming_both_names(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    struct conn c;
    int rc = conn_open(&c, "127.0.0.1", &o);
    expect_failure(
        rc, &c, WSC_ETLS,
        "host name mismatch: certificate is for 'wrong.example', not '127.0.0.1'");
    rc = conn_open(&c, "localhost", &o);
    expect_failure(
        rc, &c, WSC_ETLS,
        "host name mismatch: certificate is for 'wrong.example', not 'localhost'");
}

static void test_wrong_name_cert_verifies_for_its_own_name(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    struct conn c;
    CONN_OK(&c, conn_open(&c, "wrong.example", &o));
    char info[256];
    fixture_info(&c, info, sizeof(info));
    expect_detail_has(info, "sni=wrong.example ");
    conn_close(&c);
}

static void test_wrong_name_accepted_when_insecure(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with(NULL);
    o.insecure = true;
    struct conn c;
    CONN_OK(&c, conn_open(&c, "127.0.0.1", &o));
    echo_roundtrip(&c.tr, 500);
    conn_close(&c);
}

/* ---- group "mutual": client certificate required ------------------------- */

static void test_client_certificate_accepted(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    o.cert_file = cert("client.pem");
    o.key_file = cert("client.key");
    struct conn c;
    CONN_OK(&c, conn_open(&c, "localhost", &o));
    char info[256];
    fixture_info(&c, info, sizeof(info));
    expect_detail_has(info, "client=wsc-test-client");
    conn_close(&c);
}

/*
 * The server refuses us. With TLS 1.2 that ends the handshake; with TLS 1.3
 * the server judges the client certificate only after our last handshake
 * message, so wsc_tls_connect() succeeds and the alert arrives on the first
 * read. Either way: WSC_ETLS and a detail about the certificate.
 */
static void expect_refused(const struct wsc_tls_options *o)
{
    struct conn c;
    int rc = conn_open(&c, "localhost", o);
    const char *detail = c.detail;
    if (rc == 0) {
        uint8_t buf[64];
        size_t got = 0;
        rc = recv_some(&c.tr, buf, sizeof(buf), &got);
        detail = wsc_tls_detail(c.tls);
        /* The error sticks, and wait() does not block on a dead connection. */
        assert_int_equal(c.tr.ops->recv(c.tr.ctx, buf, sizeof(buf), &got), rc);
        assert_int_equal(c.tr.ops->wait(c.tr.ctx, WSC_WAIT_READ, 5000), WSC_WAIT_READ);
    }
    print_message("refused: %s\n", detail);
    assert_int_equal(rc, WSC_ETLS);
    expect_detail_has(detail, "certificate");
    conn_close(&c); /* no-op when the handshake already failed */
}

static void test_missing_client_certificate_refused(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    expect_refused(&o);
}

static void test_client_certificate_from_other_ca_refused(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    o.cert_file = cert("wrong.pem"); /* signed by ca.pem, not client_ca.pem */
    o.key_file = cert("wrong.key");
    expect_refused(&o);
}

static void test_key_not_matching_certificate_fails_locally(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    o.cert_file = cert("client.pem");
    o.key_file = cert("server.key");
    struct conn c;
    int rc = conn_open(&c, "localhost", &o);
    assert_int_equal(rc, WSC_ETLS);
    expect_detail_has(c.detail, "does not match the certificate");
    assert_int_equal(c.lower.send_calls, 0);

    o.key_file = "/nonexistent/wsc.key";
    rc = conn_open(&c, "localhost", &o);
    assert_int_equal(rc, WSC_ETLS);
    expect_detail_has(c.detail, "cannot load the private key '/nonexistent/wsc.key'");
}

/* ---- group "coalesced": 101 + frames in one TLS record ------------------- */

static void test_coalesced_record_is_delivered_whole_through_small_reads(void **state)
{
    (void)state;
    struct wsc_tls_options o = verify_with("ca.pem");
    struct conn c;
    CONN_OK(&c, conn_open(&c, "localhost", &o));

    /* The upgrade request, written by the core. */
    struct wsc_request_info req;
    memset(&req, 0, sizeof(req));
    req.host = "localhost";
    req.port = fixture_port();
    req.tls = true;
    req.resource = "/";
    struct wsc_handshake hs;
    char head[1024];
    struct wsc_header headers[16];
    assert_int_equal(wsc_handshake_init(&hs, &req, head, sizeof(head), headers, 16), 0);
    uint8_t nonce[WSC_HANDSHAKE_NONCE_LEN];
    itest_pattern(nonce, sizeof(nonce));
    char request[1024];
    size_t request_len = 0;
    assert_int_equal(
        wsc_handshake_write_request(&hs, nonce, request, sizeof(request), &request_len), 0);
    send_all(&c.tr, request, request_len);

    /* The first read, into 16 bytes, decrypts the whole record. */
    uint8_t stream[1024];
    size_t total = 0, got = 0;
    CONN_OK(&c, recv_some(&c.tr, stream, 16, &got));
    assert_int_equal(got, 16);
    total = got;
    size_t lower_reads = c.lower.recv_calls;

    /* The rest sits in the TLS library, where poll() cannot see it. */
    assert_true(c.tr.ops->pending(c.tr.ctx) > 0);
    struct pollfd p = {.fd = c.tr.ops->fd(c.tr.ctx), .events = POLLIN, .revents = 0};
    assert_int_equal(poll(&p, 1, 0), 0);
    assert_int_equal(c.tr.ops->wait(c.tr.ctx, WSC_WAIT_READ, 0), WSC_WAIT_READ);
    uint64_t t0 = wsc_platform_now_ms();
    assert_int_equal(c.tr.ops->wait(c.tr.ctx, WSC_WAIT_READ, 5000), WSC_WAIT_READ);
    assert_true(wsc_platform_now_ms() - t0 < 1000);

    /* Drain it 16 bytes at a time without touching the lower transport. */
    while (c.tr.ops->pending(c.tr.ctx) > 0) {
        assert_true(total + 16 <= sizeof(stream));
        CONN_OK(&c, c.tr.ops->recv(c.tr.ctx, stream + total, 16, &got));
        assert_true(got > 0);
        total += got;
    }
    assert_int_equal(c.lower.recv_calls, lower_reads);

    /* The 101 head, then exactly the two frames. */
    size_t used = 0;
    int rc = wsc_handshake_parse(&hs, stream, total, &used);
    if (rc != 0)
        print_error("handshake: %d %s\n%.*s\n", rc, wsc_strerror(rc), (int)total,
                    (const char *)stream);
    assert_int_equal(rc, 0);
    assert_int_equal(hs.status, 101);
    static const uint8_t frames[] = "\x81\x05hello\x89\x06ping-1";
    assert_int_equal(total - used, sizeof(frames) - 1);
    assert_memory_equal(stream + used, frames, sizeof(frames) - 1);

    /* Nothing more: the next read would block. */
    assert_int_equal(c.tr.ops->recv(c.tr.ctx, stream, sizeof(stream), &got), WSC_EAGAIN);
    assert_int_equal(got, 0);
    conn_close(&c);
}

/* The blocking front end over the TLS transport: the frames that came in the
 * same record as the 101 are delivered, with a roomy and a 16-byte input
 * buffer (which leaves most of the record inside the TLS library). */
static void test_blocking_api_over_tls_delivers_frames_coalesced_with_101(void **state)
{
    (void)state;
    static const size_t rx_sizes[] = {65536, 16};
    for (size_t i = 0; i < sizeof(rx_sizes) / sizeof(rx_sizes[0]); i++) {
        struct wsc_tls_options to = verify_with("ca.pem");
        struct conn c;
        CONN_OK(&c, conn_open(&c, "localhost", &to));
        struct wsc_options o;
        wsc_options_init(&o);
        o.rx_buf_size = rx_sizes[i];
        o.report_control = true;
        char url[64];
        snprintf(url, sizeof(url), "wss://localhost:%u/", (unsigned)fixture_port());
        struct wsc_conn ws;
        int rc = wsc_connect_transport(&ws, &c.tr, url, &o);
        c.tls = NULL; /* the connection owns the TLS transport now */
        if (rc != 0)
            print_error("wsc_connect_transport: %d %s\n", rc, wsc_conn_detail(&ws));
        assert_int_equal(rc, 0);
        struct wsc_message m;
        assert_int_equal(wsc_recv(&ws, &m, TIMEOUT_MS), 0);
        assert_int_equal(m.opcode, WSC_OP_TEXT);
        assert_int_equal(m.len, 5);
        assert_memory_equal(m.data, "hello", 5);
        assert_int_equal(wsc_recv(&ws, &m, TIMEOUT_MS), 0);
        assert_int_equal(m.opcode, WSC_OP_PING);
        assert_int_equal(m.len, 6);
        assert_memory_equal(m.data, "ping-1", 6);
        wsc_conn_free(&ws);
        assert_true(c.lower.closed);
    }
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const struct CMUnitTest valid[] = {
        cmocka_unit_test(test_backend_is_named),
        cmocka_unit_test(test_dns_name_verified_with_ca_file_sends_sni_and_alpn),
        cmocka_unit_test(test_ip_literal_verified_against_ip_san_without_sni),
        cmocka_unit_test(test_verified_with_ca_path_directory),
        cmocka_unit_test(test_system_store_honours_ssl_cert_file),
        cmocka_unit_test(test_unknown_ca_in_system_store_fails_naming_the_cause),
        cmocka_unit_test(test_unknown_ca_with_other_ca_file_fails_naming_the_cause),
        cmocka_unit_test(test_other_ip_fails_as_host_name_mismatch),
        cmocka_unit_test(test_other_dns_name_fails_as_host_name_mismatch),
        cmocka_unit_test(test_insecure_skips_chain_and_name),
        cmocka_unit_test(test_missing_ca_file_fails_before_connecting),
        cmocka_unit_test(test_invalid_arguments_close_lower),
        cmocka_unit_test(test_megabyte_echo_with_partial_writes),
        cmocka_unit_test(test_dribbling_flaky_lower_transport),
        cmocka_unit_test(test_server_close_notify_is_clean_eof),
        cmocka_unit_test(test_eof_without_close_notify_is_flagged_truncated),
        cmocka_unit_test(test_shutdown_sends_close_notify),
        cmocka_unit_test(test_preread_is_consumed_before_lower),
        cmocka_unit_test(test_preread_alert_ends_handshake_before_lower_is_read),
        cmocka_unit_test(test_handshake_times_out),
        cmocka_unit_test(test_plain_http_peer_is_reported),
        cmocka_unit_test(test_peer_closing_during_handshake_is_reported),
    };
    const struct CMUnitTest expired[] = {
        cmocka_unit_test(test_expired_certificate_fails_with_its_date),
        cmocka_unit_test(test_expired_certificate_accepted_when_insecure),
    };
    const struct CMUnitTest wrong_name[] = {
        cmocka_unit_test(test_wrong_name_fails_naming_both_names),
        cmocka_unit_test(test_wrong_name_cert_verifies_for_its_own_name),
        cmocka_unit_test(test_wrong_name_accepted_when_insecure),
    };
    const struct CMUnitTest mutual[] = {
        cmocka_unit_test(test_client_certificate_accepted),
        cmocka_unit_test(test_missing_client_certificate_refused),
        cmocka_unit_test(test_client_certificate_from_other_ca_refused),
        cmocka_unit_test(test_key_not_matching_certificate_fails_locally),
    };
    const struct CMUnitTest coalesced[] = {
        cmocka_unit_test(test_coalesced_record_is_delivered_whole_through_small_reads),
        cmocka_unit_test(test_blocking_api_over_tls_delivers_frames_coalesced_with_101),
    };
    const char *group = argc > 1 ? argv[1] : "";
    if (strcmp(group, "valid") == 0)
        return cmocka_run_group_tests_name("tls valid", valid, NULL, NULL);
    if (strcmp(group, "expired") == 0)
        return cmocka_run_group_tests_name("tls expired", expired, NULL, NULL);
    if (strcmp(group, "wrong_name") == 0)
        return cmocka_run_group_tests_name("tls wrong_name", wrong_name, NULL, NULL);
    if (strcmp(group, "mutual") == 0)
        return cmocka_run_group_tests_name("tls mutual", mutual, NULL, NULL);
    if (strcmp(group, "coalesced") == 0)
        return cmocka_run_group_tests_name("tls coalesced", coalesced, NULL, NULL);
    fprintf(stderr, "usage: %s valid|expired|wrong_name|mutual|coalesced\n", argv[0]);
    return 2;
}
