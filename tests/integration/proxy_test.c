/*
 * WebSocket sessions through a real HTTP CONNECT proxy (tests/fixtures/
 * connect_proxy.py, started with --auth) to the hostile fixture, both started
 * by with_servers.sh: WSC_PROXY_PORT/_LOG and WSC_TEST_PORT/_LOG.
 *
 * The no-loss case needs the proxy's "200 Connection established" and the
 * server's first bytes in one read. A server speaks only after the client's
 * GET and a client normally sends its GET only after the 200, so a
 * pipelining client is played here (struct pipeliner): the GET the library is
 * about to send goes out right behind the CONNECT. The proxy forwards it,
 * holds its 200 until the hostile server has answered /coalesced, and writes
 * 200 + 101 + frames in one go. wsc_proxy_connect() must leave the 101 and
 * the frames in the buffer, and wsc_connect_transport() (options.preread)
 * must take them from there: every message has to arrive.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "wsc/wsc_proxy.h"

#define TIMEOUT_MS 10000
/* The fixture's --auth in tests/integration/proxy.cmake, percent-encoded. */
#define PROXY_CREDENTIALS "alice:p%40ss%20w%3Ard"

static uint16_t port_from_env(const char *name)
{
    const char *v = getenv(name);
    if (!v)
        fail_msg("%s is not set: run under with_servers.sh", name);
    return (uint16_t)atoi(v);
}

static uint16_t proxy_port(void)
{
    return port_from_env("WSC_PROXY_PORT");
}
static uint16_t server_port(void)
{
    return port_from_env("WSC_TEST_PORT");
}

/* "http://[credentials@]127.0.0.1:$WSC_PROXY_PORT" */
static void proxy_url(char *buf, size_t cap, const char *credentials)
{
    snprintf(buf, cap, "http://%s%s127.0.0.1:%u", credentials ? credentials : "",
             credentials ? "@" : "", proxy_port());
}

static bool file_has_line(const char *path, const char *line)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char buf[1024];
    bool found = false;
    while (!found && fgets(buf, sizeof(buf), f)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        found = strcmp(buf, line) == 0;
    }
    fclose(f);
    return found;
}

/* Waits up to two seconds for @p line in the proxy's log. */
static bool proxy_log_has(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static bool proxy_log_has(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    const char *path = getenv("WSC_PROXY_LOG");
    struct timespec ts = {0, 20 * 1000 * 1000};
    for (int waited = 0; path && waited <= 2000; waited += 20) {
        if (file_has_line(path, line))
            return true;
        nanosleep(&ts, NULL);
    }
    print_error("proxy log lacks '%s'\n", line);
    return false;
}

/* The same nonce and mask keys every time, so a dry run predicts the request. */
static int fixed_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    memset(buf, 0x42, len);
    return 0;
}

/* ---- a capturing transport: what will the library send? ----------------- */

struct capture {
    uint8_t buf[16384];
    size_t len;
};

static int cap_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent)
{
    struct capture *c = ctx;
    assert_true(c->len + len <= sizeof(c->buf));
    memcpy(c->buf + c->len, buf, len);
    c->len += len;
    *sent = len;
    return 0;
}

static int cap_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    (void)ctx;
    (void)buf;
    (void)cap;
    *got = 0; /* end of stream: the dry run stops after the request */
    return 0;
}

static int cap_wait(void *ctx, int events, int timeout_ms)
{
    (void)ctx;
    (void)timeout_ms;
    return events;
}

static size_t cap_pending(void *ctx)
{
    (void)ctx;
    return 0;
}

static int cap_shutdown(void *ctx)
{
    (void)ctx;
    return 0;
}

static void cap_close(void *ctx)
{
    (void)ctx;
}

static int cap_fd(void *ctx)
{
    (void)ctx;
    return -1;
}

static const struct wsc_transport_ops cap_ops = {
    "capture", cap_send, cap_recv, cap_wait, cap_pending, cap_shutdown, cap_close, cap_fd, NULL,
};

/* Runs the handshake against a transport that records and hangs up. */
static void capture_request(const char *url, const struct wsc_options *o,
                            struct capture *cap)
{
    memset(cap, 0, sizeof(*cap));
    struct wsc_transport tr = {&cap_ops, cap};
    struct wsc_conn c;
    struct wsc_options dry = *o;
    dry.rx_buf = NULL;
    dry.preread = NULL;
    dry.preread_len = 0;
    assert_int_equal(wsc_connect_transport(&c, &tr, url, &dry), WSC_EEOF);
    wsc_conn_free(&c);
    assert_true(cap->len > 4);
    assert_memory_equal(cap->buf + cap->len - 4, "\r\n\r\n", 4);
}

/* ---- a pipelining client ------------------------------------------------ */

/*
 * Wraps the TCP transport. The CONNECT passes through; as soon as it is
 * complete, the WebSocket request recorded by capture_request() follows at
 * once, before anything is read. When wsc_connect_transport() later sends
 * that request itself, it is compared with what already went out and
 * swallowed; everything after it passes through.
 */
struct pipeliner {
    struct wsc_transport inner;
    const uint8_t *get;
    size_t get_len;
    char connect[2048];
    size_t connect_len;
    bool connect_done;
    size_t swallowed;
    bool mismatch;
};

static int send_fully(const struct wsc_transport *tr, const uint8_t *p, size_t len)
{
    while (len) {
        size_t n = 0;
        int rc = tr->ops->send(tr->ctx, p, len, &n);
        if (rc == WSC_EAGAIN) {
            rc = tr->ops->wait(tr->ctx, WSC_WAIT_WRITE, TIMEOUT_MS);
            if (rc <= 0)
                return rc ? rc : WSC_ETIMEDOUT;
            continue;
        }
        if (rc)
            return rc;
        p += n;
        len -= n;
    }
    return 0;
}

static int pl_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent)
{
    struct pipeliner *pl = ctx;
    *sent = 0;
    if (!pl->connect_done) {
        int rc = pl->inner.ops->send(pl->inner.ctx, buf, len, sent);
        if (rc)
            return rc;
        assert_true(pl->connect_len + *sent <= sizeof(pl->connect));
        memcpy(pl->connect + pl->connect_len, buf, *sent);
        pl->connect_len += *sent;
        if (pl->connect_len >= 4 &&
            memcmp(pl->connect + pl->connect_len - 4, "\r\n\r\n", 4) == 0) {
            pl->connect_done = true;
            return send_fully(&pl->inner, pl->get, pl->get_len);
        }
        return 0;
    }
    if (pl->swallowed < pl->get_len) {
        size_t n = len < pl->get_len - pl->swallowed ? len : pl->get_len - pl->swallowed;
        if (memcmp(buf, pl->get + pl->swallowed, n) != 0)
            pl->mismatch = true;
        pl->swallowed += n;
        *sent = n;
        return 0;
    }
    return pl->inner.ops->send(pl->inner.ctx, buf, len, sent);
}

static int pl_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    struct pipeliner *pl = ctx;
    return pl->inner.ops->recv(pl->inner.ctx, buf, cap, got);
}

static int pl_wait(void *ctx, int events, int timeout_ms)
{
    struct pipeliner *pl = ctx;
    return pl->inner.ops->wait(pl->inner.ctx, events, timeout_ms);
}

static size_t pl_pending(void *ctx)
{
    struct pipeliner *pl = ctx;
    return pl->inner.ops->pending(pl->inner.ctx);
}

static int pl_shutdown(void *ctx)
{
    struct pipeliner *pl = ctx;
    return pl->inner.ops->shutdown(pl->inner.ctx);
}

static void pl_close(void *ctx)
{
    struct pipeliner *pl = ctx;
    pl->inner.ops->close(pl->inner.ctx);
}

static int pl_fd(void *ctx)
{
    struct pipeliner *pl = ctx;
    return pl->inner.ops->fd(pl->inner.ctx);
}

static const struct wsc_transport_ops pl_ops = {
    "pipeliner", pl_send, pl_recv, pl_wait, pl_pending, pl_shutdown, pl_close, pl_fd, NULL,
};

/* ---- helpers ------------------------------------------------------------ */

/* TCP to the proxy. */
static void connect_to_proxy(struct wsc_tcp *tcp, struct wsc_transport *tr)
{
    assert_int_equal(wsc_tcp_connect(tcp, "127.0.0.1", proxy_port(), TIMEOUT_MS), 0);
    wsc_tcp_transport(tcp, tr);
}

/* CONNECT through the fixture with @p credentials (NULL: none) to @p host:@p port;
 * returns what wsc_proxy_connect() returned. */
static int tunnel(const struct wsc_transport *tr, const char *credentials, const char *host,
                  uint16_t port, uint8_t *in, size_t in_cap, size_t *in_len, char *detail)
{
    char url[128];
    struct wsc_proxy p;
    const char *why = NULL;
    proxy_url(url, sizeof(url), credentials);
    assert_int_equal(wsc_proxy_parse(url, &p, &why), 0);
    return wsc_proxy_connect(tr, &p, host, false, port, in, in_cap, in_len, TIMEOUT_MS,
                             detail, 256);
}

static void expect_data(struct wsc_conn *c, uint8_t op, const void *data, size_t len)
{
    struct wsc_message m;
    ITEST_OK(c, wsc_recv(c, &m, TIMEOUT_MS));
    assert_int_equal(m.opcode, op);
    assert_int_equal(m.len, len);
    assert_memory_equal(m.data, data, len);
}

/* ---- tests -------------------------------------------------------------- */

/*
 * @p in_place: the proxy reply is read straight into the connection's input
 * buffer (options.rx_buf) and preread points there, so nothing is copied;
 * otherwise a separate buffer is copied into a library-allocated one.
 */
static void run_coalesced(bool in_place)
{
    struct wsc_options o;
    itest_options(&o);
    o.report_control = true;
    o.random = fixed_random;
    char url[256], tag[64];
    snprintf(tag, sizeof(tag), "proxy-%s-%zu", in_place ? "inplace" : "copy",
             o.rx_buf_size);
    snprintf(url, sizeof(url), "%s", itest_url("/coalesced?tag=%s", tag));

    struct capture *cap = malloc(sizeof(*cap));
    assert_non_null(cap);
    capture_request(url, &o, cap);

    struct wsc_tcp tcp;
    struct pipeliner pl;
    memset(&pl, 0, sizeof(pl));
    connect_to_proxy(&tcp, &pl.inner);
    pl.get = cap->buf;
    pl.get_len = cap->len;
    struct wsc_transport tr = {&pl_ops, &pl};

    size_t rx_size = o.rx_buf_size;
    uint8_t *rx = malloc(rx_size);
    uint8_t *in = in_place ? rx : malloc(rx_size);
    assert_non_null(rx);
    assert_non_null(in);
    size_t left = 0;
    char detail[256];
    int rc = tunnel(&tr, PROXY_CREDENTIALS, "127.0.0.1", server_port(), in, rx_size, &left,
                    detail);
    if (rc)
        print_error("CONNECT failed: %d %s\n", rc, detail);
    assert_int_equal(rc, 0);
    /* The 101 (and frames) came in the same read as the end of the 200. */
    print_message("%zu tunnel bytes arrived with the proxy's reply (buffer %zu)\n", left,
                  rx_size);
    assert_true(left > 0);
    assert_true(left <= rx_size);
    assert_true(proxy_log_has("CONNECT 127.0.0.1:%u TUNNEL coalesced", server_port()));

    o.rx_buf = in_place ? rx : NULL;
    o.preread = in;
    o.preread_len = left;
    struct wsc_conn c;
    ITEST_OK(&c, wsc_connect_transport(&c, &tr, url, &o));
    assert_int_equal(wsc_conn_http_status(&c), 101);
    assert_false(pl.mismatch);
    assert_int_equal(pl.swallowed, pl.get_len);

    const size_t big = 300000;
    uint8_t *pattern = malloc(big);
    assert_non_null(pattern);
    itest_pattern(pattern, big);
    expect_data(&c, WSC_OP_TEXT, "hello", 5);
    expect_data(&c, WSC_OP_PING, "ping-1", 6);
    expect_data(&c, WSC_OP_PING, "ping-2", 6);
    expect_data(&c, WSC_OP_TEXT, "fragmented", 10);
    expect_data(&c, WSC_OP_BINARY, pattern, big);
    expect_data(&c, WSC_OP_TEXT, "last", 4);
    free(pattern);
    ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, "stats", 5, TIMEOUT_MS));
    expect_data(&c, WSC_OP_TEXT, "pongs=ping-1,ping-2", 19);
    ITEST_OK(&c, wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS));
    wsc_conn_free(&c);

    char line[128];
    snprintf(line, sizeof(line), "/coalesced?tag=%s CLOSE 1000", tag);
    assert_true(itest_log_has(line, 2000));
    snprintf(line, sizeof(line), "/coalesced?tag=%s PONGS 2 ORDER ok", tag);
    assert_true(itest_log_has(line, 2000));
    if (!in_place)
        free(in);
    free(rx);
    free(cap);
}

static void coalesced_reply_101_and_frames_all_arrive_in_place(void **state)
{
    (void)state;
    run_coalesced(true);
}

static void coalesced_reply_101_and_frames_all_arrive_copied(void **state)
{
    (void)state;
    run_coalesced(false);
}

static void missing_or_wrong_credentials_get_407(void **state)
{
    (void)state;
    static const char *const creds[] = {NULL, "alice:wrong"};
    static const char *const auth_log[] = {"missing", "wrong"};
    for (int i = 0; i < 2; i++) {
        struct wsc_tcp tcp;
        struct wsc_transport tr;
        connect_to_proxy(&tcp, &tr);
        uint8_t in[4096];
        size_t left = 99;
        char detail[256];
        int rc = tunnel(&tr, creds[i], "127.0.0.1", server_port(), in, sizeof(in), &left,
                        detail);
        assert_int_equal(rc, WSC_EPROXY);
        assert_string_equal(detail,
                            "proxy refused CONNECT: 407 Proxy Authentication Required");
        assert_int_equal(left, 0);
        tr.ops->close(tr.ctx);
        assert_true(
            proxy_log_has("CONNECT 127.0.0.1:%u AUTH %s", server_port(), auth_log[i]));
        assert_true(proxy_log_has("CONNECT 127.0.0.1:%u REFUSED 407", server_port()));
    }
}

/* The ordinary flow: wait for the 200, then handshake and talk. */
static void session_through_the_proxy_with_credentials(void **state)
{
    (void)state;
    struct wsc_options o;
    itest_options(&o);
    struct wsc_tcp tcp;
    struct wsc_transport tr;
    connect_to_proxy(&tcp, &tr);
    uint8_t *rx = malloc(o.rx_buf_size);
    assert_non_null(rx);
    size_t left = 0;
    char detail[256];
    int rc = tunnel(&tr, PROXY_CREDENTIALS, "127.0.0.1", server_port(), rx, o.rx_buf_size,
                    &left, detail);
    if (rc)
        print_error("CONNECT failed: %d %s\n", rc, detail);
    assert_int_equal(rc, 0);
    assert_true(proxy_log_has("CONNECT 127.0.0.1:%u AUTH ok", server_port()));

    o.rx_buf = rx;
    o.preread = rx;
    o.preread_len = left; /* nothing, unless the proxy sent more than its reply */
    struct wsc_conn c;
    ITEST_OK(&c, wsc_connect_transport(&c, &tr, itest_url("/echo"), &o));
    ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, "through the tunnel", 18, TIMEOUT_MS));
    expect_data(&c, WSC_OP_TEXT, "through the tunnel", 18);
    const size_t big = 100000;
    uint8_t *pattern = malloc(big);
    assert_non_null(pattern);
    itest_pattern(pattern, big);
    ITEST_OK(&c, wsc_send(&c, WSC_OP_BINARY, pattern, big, TIMEOUT_MS));
    expect_data(&c, WSC_OP_BINARY, pattern, big);
    free(pattern);
    ITEST_OK(&c, wsc_close(&c, WSC_CLOSE_NORMAL, "bye", TIMEOUT_MS));
    wsc_conn_free(&c);
    free(rx);
}

/* A port nothing listens on: bound, then released. */
static uint16_t closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void refused_target_gets_502_and_foreign_target_403(void **state)
{
    (void)state;
    struct wsc_tcp tcp;
    struct wsc_transport tr;
    uint8_t in[512];
    size_t left = 99;
    char detail[256];

    uint16_t port = closed_port();
    connect_to_proxy(&tcp, &tr);
    assert_int_equal(
        tunnel(&tr, PROXY_CREDENTIALS, "127.0.0.1", port, in, sizeof(in), &left, detail),
        WSC_EPROXY);
    assert_string_equal(detail, "proxy refused CONNECT: 502 Bad Gateway");
    assert_int_equal(left, 0);
    tr.ops->close(tr.ctx);
    assert_true(proxy_log_has("CONNECT 127.0.0.1:%u REFUSED 502", port));

    /* The fixture never leaves the machine. */
    connect_to_proxy(&tcp, &tr);
    assert_int_equal(
        tunnel(&tr, PROXY_CREDENTIALS, "192.0.2.1", 80, in, sizeof(in), &left, detail),
        WSC_EPROXY);
    assert_string_equal(detail, "proxy refused CONNECT: 403 Forbidden");
    tr.ops->close(tr.ctx);
}

/* ---- the environment ---------------------------------------------------- */

static const char *const *test_env;

static char *test_getenv(const char *name)
{
    for (const char *const *e = test_env; e && e[0]; e += 2)
        if (strcmp(e[0], name) == 0)
            return (char *)e[1];
    return NULL;
}

/* Echoes one message over @p c and closes it. */
static void echo_once(struct wsc_conn *c)
{
    ITEST_OK(c, wsc_send(c, WSC_OP_TEXT, "env", 3, TIMEOUT_MS));
    expect_data(c, WSC_OP_TEXT, "env", 3);
    ITEST_OK(c, wsc_close(c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS));
    wsc_conn_free(c);
}

static void environment_proxy_is_used_unless_no_proxy_says_otherwise(void **state)
{
    (void)state;
    char proxy[128], here[64], elsewhere[64], url[256];
    proxy_url(proxy, sizeof(proxy), PROXY_CREDENTIALS);
    snprintf(here, sizeof(here), "example.com, 127.0.0.1:%u", server_port());
    snprintf(elsewhere, sizeof(elsewhere), "127.0.0.1:%u", (unsigned)server_port() ^ 1u);
    snprintf(url, sizeof(url), "%s", itest_url("/echo"));
    struct wsc_url target;
    assert_int_equal(wsc_url_parse(url, &target), 0);
    struct wsc_proxy p;
    const char *why = NULL;

    /* no_proxy names the server (with its port): connect directly. */
    const char *bypass[] = {"http_proxy", proxy, "no_proxy", here, NULL};
    test_env = bypass;
    assert_int_equal(wsc_proxy_from_env(&target, test_getenv, &p, &why), 0);
    struct wsc_options o;
    itest_options(&o);
    struct wsc_conn c;
    ITEST_OK(&c, wsc_connect(&c, url, &o));
    echo_once(&c);

    /* Also through NO_PROXY and a range. */
    const char *upper[] = {"all_proxy", proxy, "NO_PROXY", "127.0.0.0/8", NULL};
    test_env = upper;
    assert_int_equal(wsc_proxy_from_env(&target, test_getenv, &p, &why), 0);

    /* An entry for another port does not apply: the proxy carries the session. */
    const char *other[] = {"http_proxy", proxy, "no_proxy", elsewhere, NULL};
    test_env = other;
    assert_int_equal(wsc_proxy_from_env(&target, test_getenv, &p, &why), 1);
    assert_string_equal(p.source, "http_proxy");
    assert_string_equal(p.host, "127.0.0.1");
    assert_int_equal(p.port, proxy_port());
    assert_string_equal(p.userinfo, "alice:p@ss w:rd");

    struct wsc_tcp tcp;
    struct wsc_transport tr;
    assert_int_equal(wsc_tcp_connect(&tcp, p.host, p.port, TIMEOUT_MS), 0);
    wsc_tcp_transport(&tcp, &tr);
    uint8_t *rx = malloc(o.rx_buf_size);
    assert_non_null(rx);
    size_t left = 0;
    char detail[256];
    int rc = wsc_proxy_connect(&tr, &p, target.host, target.ipv6, target.port, rx,
                               o.rx_buf_size, &left, TIMEOUT_MS, detail, sizeof(detail));
    if (rc)
        print_error("CONNECT failed: %d %s\n", rc, detail);
    assert_int_equal(rc, 0);
    o.rx_buf = rx;
    o.preread = rx;
    o.preread_len = left;
    ITEST_OK(&c, wsc_connect_transport(&c, &tr, url, &o));
    echo_once(&c);
    free(rx);
    test_env = NULL;
}

/* The library's own proxy support: wsc_connect() with options.proxy, and with
 * proxy_from_env reading http_proxy / no_proxy from the process environment. */
static void wsc_connect_goes_through_the_proxy_option_and_environment(void **state)
{
    (void)state;
    char proxy[128];
    proxy_url(proxy, sizeof(proxy), PROXY_CREDENTIALS);
    struct wsc_options o;
    itest_options(&o);
    o.proxy = proxy;
    struct wsc_conn c;
    ITEST_OK(&c, wsc_connect(&c, itest_url("/coalesced?big=70000"), &o));
    uint8_t *big = malloc(70000);
    assert_non_null(big);
    itest_pattern(big, 70000);
    expect_data(&c, WSC_OP_TEXT, "hello", 5);
    expect_data(&c, WSC_OP_TEXT, "fragmented", 10);
    expect_data(&c, WSC_OP_BINARY, big, 70000);
    expect_data(&c, WSC_OP_TEXT, "last", 4);
    free(big);
    ITEST_OK(&c, wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS));
    wsc_conn_free(&c);
    assert_true(proxy_log_has("CONNECT 127.0.0.1:%u AUTH ok", server_port()));

    /* Wrong credentials: one clear line naming the proxy's answer. */
    char bad[128];
    proxy_url(bad, sizeof(bad), "alice:nope");
    o.proxy = bad;
    assert_int_equal(wsc_connect(&c, itest_url("/echo"), &o), WSC_EPROXY);
    assert_non_null(strstr(wsc_conn_detail(&c), "proxy refused CONNECT: 407"));
    wsc_conn_free(&c);

    /* From the environment, unless no_proxy names the target. */
    o.proxy = NULL;
    o.proxy_from_env = true;
    setenv("http_proxy", proxy, 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    ITEST_OK(&c, wsc_connect(&c, itest_url("/echo"), &o));
    echo_once(&c);
    setenv("http_proxy", bad, 1);
    assert_int_equal(wsc_connect(&c, itest_url("/echo"), &o), WSC_EPROXY);
    wsc_conn_free(&c);
    setenv("no_proxy", "127.0.0.1", 1);
    ITEST_OK(&c, wsc_connect(&c, itest_url("/echo"), &o)); /* bypassed: direct */
    echo_once(&c);
    /* "" turns proxies off even when the environment names one. */
    unsetenv("no_proxy");
    o.proxy = "";
    ITEST_OK(&c, wsc_connect(&c, itest_url("/echo"), &o));
    echo_once(&c);
    unsetenv("http_proxy");
}

/* ---- the event-driven API through the proxy ------------------------------ */

/* The next message, running the loop while none is buffered. */
static void loop_expect(struct wsc_conn *c, uint8_t op, const void *data, size_t len)
{
    struct wsc_message m;
    itest_next_message(c, &m);
    assert_int_equal(m.opcode, op);
    assert_int_equal(m.len, len);
    assert_memory_equal(m.data, data, len);
}

/* wsc_conn_start() through the proxy: the TCP connect to it, the CONNECT
 * exchange and the handshake all run in the loop, and the server's frames
 * that arrive with its 101 (behind the proxy's 200) all come through. */
static void event_api_runs_the_connect_exchange_in_the_loop(void **state)
{
    (void)state;
    char proxy[128];
    proxy_url(proxy, sizeof(proxy), PROXY_CREDENTIALS);
    struct wsc_options o;
    itest_options(&o);
    o.proxy = proxy;
    struct wsc_conn c;
    ITEST_OK(&c, wsc_conn_start(&c, itest_url("/coalesced?big=70000&tag=event"), &o));
    ITEST_OK(&c, itest_open_in_loop(&c));
    assert_null(c.proxying); /* the exchange's 6 KB are freed once the tunnel is up */
    assert_int_equal(wsc_conn_http_status(&c), 101);
    uint8_t *big = malloc(70000);
    assert_non_null(big);
    itest_pattern(big, 70000);
    loop_expect(&c, WSC_OP_TEXT, "hello", 5);
    loop_expect(&c, WSC_OP_TEXT, "fragmented", 10);
    loop_expect(&c, WSC_OP_BINARY, big, 70000);
    loop_expect(&c, WSC_OP_TEXT, "last", 4);
    free(big);
    assert_int_equal(wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS), WSC_EAGAIN);
    struct wsc_message m;
    int rc, rounds = 0;
    while ((rc = wsc_recv(&c, &m, 0)) == 0 || rc == WSC_EAGAIN) {
        assert_true(++rounds < 1000);
        itest_pump(&c, 1);
    }
    assert_int_equal(rc, WSC_ECLOSED);
    wsc_conn_free(&c);
    assert_true(proxy_log_has("CONNECT 127.0.0.1:%u AUTH ok", server_port()));
    assert_true(itest_log_has("/coalesced?big=70000&tag=event CLOSE 1000", 2000));
}

/* Starts through @p proxy and runs the loop to the end: the error. */
static int event_connect(struct wsc_conn *c, const char *proxy, int timeout_ms)
{
    struct wsc_options o;
    itest_options(&o);
    o.proxy = proxy;
    o.connect_timeout_ms = timeout_ms;
    int rc = wsc_conn_start(c, itest_url("/echo"), &o);
    return rc ? rc : itest_open_in_loop(c);
}

static void event_api_reports_proxy_failures_from_the_loop(void **state)
{
    (void)state;
    struct wsc_conn c;
    char proxy[128];
    proxy_url(proxy, sizeof(proxy), "alice:nope");
    assert_int_equal(event_connect(&c, proxy, TIMEOUT_MS), WSC_EPROXY);
    assert_string_equal(wsc_conn_detail(&c),
                        "proxy refused CONNECT: 407 Proxy Authentication Required");
    wsc_conn_free(&c);

    uint16_t port = closed_port();
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", port);
    assert_int_equal(event_connect(&c, proxy, TIMEOUT_MS), WSC_ECONNREFUSED);
    char want[128];
    snprintf(want, sizeof(want), "cannot connect to proxy 127.0.0.1:%u: connection refused",
             port);
    assert_string_equal(wsc_conn_detail(&c), want);
    wsc_conn_free(&c);

    /* A proxy that accepts and never answers: wsc_conn_start() returns while
     * the reply is outstanding, and the connect timer ends the wait. */
    int silent = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(silent >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(silent, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(silent, 4), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(silent, (struct sockaddr *)&a, &len), 0);
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", ntohs(a.sin_port));
    struct wsc_options o;
    itest_options(&o);
    o.proxy = proxy;
    o.connect_timeout_ms = 300;
    ITEST_OK(&c, wsc_conn_start(&c, itest_url("/echo"), &o));
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_CONNECTING);
    assert_int_equal(itest_open_in_loop(&c), WSC_ETIMEDOUT);
    assert_string_equal(wsc_conn_detail(&c),
                        "timed out waiting for the proxy's reply to CONNECT");
    wsc_conn_free(&c);
    close(silent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(coalesced_reply_101_and_frames_all_arrive_in_place),
        cmocka_unit_test(coalesced_reply_101_and_frames_all_arrive_copied),
        cmocka_unit_test(missing_or_wrong_credentials_get_407),
        cmocka_unit_test(session_through_the_proxy_with_credentials),
        cmocka_unit_test(refused_target_gets_502_and_foreign_target_403),
        cmocka_unit_test(environment_proxy_is_used_unless_no_proxy_says_otherwise),
        cmocka_unit_test(wsc_connect_goes_through_the_proxy_option_and_environment),
        cmocka_unit_test(event_api_runs_the_connect_exchange_in_the_loop),
        cmocka_unit_test(event_api_reports_proxy_failures_from_the_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
