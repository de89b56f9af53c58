/*
 * The Zephyr compatibility layer against real servers, through Zephyr's API
 * only (websocket_*, http_client_req, zsock_poll). argv[1] picks the group,
 * matching the server with_server.sh started:
 *
 *   hostile  tests/fixtures/hostile_server.py: the 101 and frames in one write,
 *            split at every offset; message_type/remaining sequences; -EAGAIN;
 *            -ENOTCONN; violations; handshake failures; headers; the table.
 *   echo     tests/peers/python_echo.py (python3-websockets): round trips.
 *   http     tests/fixtures/http_server.py: http_client_req() bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <zephyr/kernel.h>
#include <zephyr/net/http/client.h>
#include <zephyr/net/socket.h>
#include <zephyr/net/websocket.h>

#define TIMEOUT_MS 10000
#define HEAD_LEN 129 /* the fixture's 101 head (tests/fixtures/README.md) */

static int server_port(void)
{
    const char *p = getenv("WSC_TEST_PORT");
    return p ? atoi(p) : 1;
}

static int tcp_connect(void)
{
    int sock = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    assert_true(sock >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)server_port());
    zsock_inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(zsock_connect(sock, (struct sockaddr *)&a, sizeof(a)), 0);
    return sock;
}

/* Waits up to @p timeout_ms for a line equal to @p line in $WSC_TEST_LOG. */
static bool log_has(const char *line, int timeout_ms)
{
    const char *path = getenv("WSC_TEST_LOG");
    for (int waited = 0; path && waited <= timeout_ms; waited += 20) {
        FILE *f = fopen(path, "r");
        char buf[1024];
        bool found = false;
        while (f && !found && fgets(buf, sizeof(buf), f)) {
            buf[strcspn(buf, "\r\n")] = '\0';
            found = strcmp(buf, line) == 0;
        }
        if (f)
            fclose(f);
        if (found)
            return true;
        k_msleep(20);
    }
    return false;
}

/* ---- websocket helpers -------------------------------------------------- */

struct ws {
    int sock;
    int ws;
    uint8_t tmp[65536];
};

static int ws_try(struct ws *w, const char *url, size_t tmp_len, const char **headers,
                  http_header_cb_t headers_cb, const struct http_parser_settings *taps,
                  websocket_connect_cb_t cb, void *user_data)
{
    w->sock = tcp_connect();
    struct websocket_request req;
    memset(&req, 0, sizeof(req));
    req.host = "127.0.0.1";
    req.url = url;
    req.optional_headers = headers;
    req.optional_headers_cb = headers_cb;
    req.http_cb = taps;
    req.cb = cb;
    req.tmp_buf = w->tmp;
    req.tmp_buf_len = tmp_len;
    w->ws = websocket_connect(w->sock, &req, TIMEOUT_MS, user_data);
    return w->ws;
}

static void ws_open(struct ws *w, const char *url, size_t tmp_len)
{
    int rc = ws_try(w, url, tmp_len, NULL, NULL, NULL, NULL, NULL);
    if (rc < 0)
        print_error("websocket_connect(%s): %d %s\n", url, rc, wsc_websocket_last_error());
    assert_true(rc >= 0);
    assert_int_not_equal(w->ws, w->sock); /* a handle of its own, as in Zephyr */
}

static void ws_close(struct ws *w)
{
    assert_int_equal(websocket_disconnect(w->ws), 0);
    zsock_close(w->sock);
}

struct frame {
    uint32_t flags;
    const uint8_t *data;
    size_t len;
};

/*
 * Reads one frame through a buffer of @p chunk bytes and checks each read:
 * exactly min(chunk, left) bytes, the frame's flags on every read, and
 * remaining counting down to 0.
 */
static void expect_frame(int ws, size_t chunk, const struct frame *f)
{
    static uint8_t buf[65536];
    size_t got = 0;
    assert_true(chunk <= sizeof(buf));
    do {
        uint32_t type = 0xdead;
        uint64_t remaining = 0xdead;
        int ret = websocket_recv_msg(ws, buf, chunk, &type, &remaining, TIMEOUT_MS);
        size_t want = f->len - got < chunk ? f->len - got : chunk;
        if (ret != (int)want || type != f->flags || remaining != f->len - got - want) {
            print_error("frame of %zu (flags 0x%x) at %zu, chunk %zu: got %d, flags 0x%x, "
                        "remaining %llu\n",
                        f->len, (unsigned)f->flags, got, chunk, ret, (unsigned)type,
                        (unsigned long long)remaining);
            fail();
        }
        assert_memory_equal(buf, f->data + got, want);
        got += want;
    } while (got < f->len);
}

static void expect_text(int ws, const char *text)
{
    struct frame f = {WEBSOCKET_FLAG_TEXT | WEBSOCKET_FLAG_FINAL, (const uint8_t *)text,
                      strlen(text)};
    expect_frame(ws, 4096, &f);
}

static void send_text(int ws, const char *text)
{
    size_t n = strlen(text);
    assert_int_equal(websocket_send_msg(ws, (const uint8_t *)text, n,
                                        WEBSOCKET_OPCODE_DATA_TEXT, true, true, TIMEOUT_MS),
                     (int)n);
}

static uint8_t *pattern(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 31 + 7) & 0xff);
    return p;
}

static size_t frame_len(size_t payload)
{
    return payload + (payload < 126 ? 2 : payload <= 0xffff ? 4 : 10);
}

/* The /coalesced burst after the head (tests/fixtures/README.md). */
static size_t burst_frames_len(size_t big)
{
    return frame_len(5) + frame_len(6) + frame_len(4) + frame_len(6) + frame_len(6) +
           frame_len(big) + frame_len(4);
}

/*
 * One /coalesced connection: every frame exactly once and in order, read
 * through @p chunk-byte reads with the Zephyr flags of each frame; both pings
 * answered (the fixture's "stats" reply lists the pongs it got).
 */
static void run_coalesced(const char *query, size_t big, size_t tmp_len, size_t chunk,
                          bool app_pongs)
{
    static struct ws w;
    char url[128];
    snprintf(url, sizeof(url), "/coalesced?big=%zu&%s", big, query);
    ws_open(&w, url, tmp_len);
    uint8_t *bin = pattern(big);
    const uint32_t F = WEBSOCKET_FLAG_FINAL;
    const struct frame frames[] = {
        {WEBSOCKET_FLAG_TEXT | F, (const uint8_t *)"hello", 5},
        {WEBSOCKET_FLAG_PING | F, (const uint8_t *)"ping-1", 6},
        {WEBSOCKET_FLAG_TEXT, (const uint8_t *)"frag", 4}, /* FIN=0: no FINAL */
        {WEBSOCKET_FLAG_PING | F, (const uint8_t *)"ping-2", 6},
        {F, (const uint8_t *)"mented", 6}, /* a continuation has no type bit */
        {WEBSOCKET_FLAG_BINARY | F, bin, big},
        {WEBSOCKET_FLAG_TEXT | F, (const uint8_t *)"last", 4},
    };
    for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
        expect_frame(w.ws, chunk, &frames[i]);
        if (app_pongs && (frames[i].flags & WEBSOCKET_FLAG_PING))
            assert_int_equal(websocket_send_msg(w.ws, frames[i].data, frames[i].len,
                                                WEBSOCKET_OPCODE_PONG, true, true, TIMEOUT_MS),
                             (int)frames[i].len);
    }
    free(bin);
    send_text(w.ws, "stats");
    expect_text(w.ws, "pongs=ping-1,ping-2");
    ws_close(&w);
}

/* ---- hostile group ------------------------------------------------------ */

static void seed_case_greeting_and_ping_from_the_101_segment_arrive(void **state)
{
    (void)state;
    static struct ws w;
    ws_open(&w, "/demo", 256);
    struct zsock_pollfd pfd = {.fd = w.ws, .events = ZSOCK_POLLIN};
    assert_int_equal(zsock_poll(&pfd, 1, 0), 1); /* buffered, not yet on the socket */
    assert_true(pfd.revents & ZSOCK_POLLIN);
    const char *greeting = "Welcome to the wsc demo server! This greeting arrived in the same "
                           "TCP segment as the 101 response.";
    /* timeout 0: both frames must already be in the connection's buffer */
    uint8_t buf[256];
    uint32_t type;
    uint64_t remaining;
    int ret = websocket_recv_msg(w.ws, buf, sizeof(buf), &type, &remaining, 0);
    assert_int_equal(ret, (int)strlen(greeting));
    assert_memory_equal(buf, greeting, strlen(greeting));
    assert_int_equal(type, WEBSOCKET_FLAG_TEXT | WEBSOCKET_FLAG_FINAL);
    assert_int_equal(remaining, 0);
    ret = websocket_recv_msg(w.ws, buf, sizeof(buf), &type, &remaining, 0);
    assert_int_equal(ret, 11);
    assert_memory_equal(buf, "keepalive-1", 11);
    assert_int_equal(type, WEBSOCKET_FLAG_PING | WEBSOCKET_FLAG_FINAL);
    expect_text(w.ws, "server: pong \"keepalive-1\" received");
    ws_close(&w);
}

static void coalesced_stream_split_at_every_offset_delivers_every_frame_once(void **state)
{
    (void)state;
    const size_t big = 1000;
    const size_t total = HEAD_LEN + burst_frames_len(big);
    static const size_t tmp_sizes[] = {512, 14, 64, 4096};
    static const size_t chunks[] = {64, 1, 7, 4096};
    char q[64];
    /* WSC_TEST_SWEEP_STEP=N tries every Nth offset and the last one, for slow
     * runs such as valgrind's (an N coprime with 16 still meets every buffer
     * combination); the default is every offset. */
    const char *env = getenv("WSC_TEST_SWEEP_STEP");
    size_t step = env && strtoul(env, NULL, 10) > 0 ? (size_t)strtoul(env, NULL, 10) : 1;
    size_t tried = 0;
    for (size_t k = 1;; k += step) {
        if (k > total - 1)
            k = total - 1; /* always end on the last offset */
        snprintf(q, sizeof(q), "split=%zu&pause_ms=2", k);
        run_coalesced(q, big, tmp_sizes[k % 4], chunks[(k / 4) % 4], false);
        tried++;
        if (k == total - 1)
            break;
    }
    print_message("split sweep: %zu of %zu offsets over a %zu-byte stream\n", tried,
                  total - 1, total);
}

static void coalesced_in_one_write_with_every_buffer_size(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 2, 3, 13, 14, 15, 125, 126, 1000, 65536};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        run_coalesced("tag=one", 300000, sizes[i] < 14 ? 14 : sizes[i], sizes[i], false);
        run_coalesced("tag=small", 1000, 14, sizes[i] > 4096 ? 4096 : sizes[i], false);
    }
    run_coalesced("dribble=1", 3000, 64, 100, false);
    run_coalesced("tag=tiny-tmp", 3000, 3, 64, false); /* below the minimum: allocated */
}

static void application_pongs_are_absorbed_not_sent_twice(void **state)
{
    (void)state;
    run_coalesced("tag=app-pongs", 1000, 512, 64, true);
}

static void poll_reports_buffered_frames_then_waits_for_the_socket(void **state)
{
    (void)state;
    static struct ws w;
    ws_open(&w, "/coalesced?big=100", 4096);
    assert_true(wsc_websocket_has_buffered(w.ws));
    struct pollfd pfd[2] = {{.fd = w.ws, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
    assert_int_equal(wsc_websocket_poll(pfd, 2, 5000), 1);
    assert_int_equal(pfd[0].revents, POLLIN);
    uint8_t buf[256];
    uint32_t type;
    uint64_t rem;
    for (int i = 0; i < 7; i++) /* the seven frames of the burst */
        assert_true(websocket_recv_msg(w.ws, buf, sizeof(buf), &type, &rem, TIMEOUT_MS) >= 0);
    assert_false(wsc_websocket_has_buffered(w.ws));
    assert_int_equal(wsc_websocket_poll(pfd, 1, 50), 0); /* nothing more was sent */
    send_text(w.ws, "stats");
    assert_int_equal(wsc_websocket_poll(pfd, 1, TIMEOUT_MS), 1);
    expect_text(w.ws, "pongs=ping-1,ping-2");
    ws_close(&w);
}

static void recv_times_out_with_eagain(void **state)
{
    (void)state;
    static struct ws w;
    ws_open(&w, "/echo", 512);
    uint8_t buf[16];
    uint32_t type;
    uint64_t rem;
    assert_int_equal(websocket_recv_msg(w.ws, buf, sizeof(buf), &type, &rem, 0), -EAGAIN);
    int64_t t0 = k_uptime_get();
    assert_int_equal(websocket_recv_msg(w.ws, buf, sizeof(buf), &type, &rem, 200), -EAGAIN);
    int64_t took = k_uptime_get() - t0;
    assert_true(took >= 190 && took < 3000);
    /* The connection is still fine. */
    send_text(w.ws, "still here");
    expect_text(w.ws, "still here");
    ws_close(&w);
}

static void server_close_is_returned_then_enotconn(void **state)
{
    (void)state;
    static struct ws w;
    ws_open(&w, "/close?code=1000&reason=bye", 512);
    expect_text(w.ws, "before");
    /* The close payload through a 2-byte buffer: code, then the reason. */
    const uint8_t payload[] = {0x03, 0xe8, 'b', 'y', 'e'};
    struct frame f = {WEBSOCKET_FLAG_CLOSE | WEBSOCKET_FLAG_FINAL, payload, sizeof(payload)};
    expect_frame(w.ws, 2, &f);
    uint8_t buf[16];
    uint32_t type;
    uint64_t rem;
    assert_int_equal(websocket_recv_msg(w.ws, buf, sizeof(buf), &type, &rem, 1000), -ENOTCONN);
    assert_int_equal(websocket_recv_msg(w.ws, buf, sizeof(buf), &type, &rem, 0), -ENOTCONN);
    assert_true(wsc_websocket_has_buffered(w.ws)); /* recv returns at once */
    assert_true(log_has("/close?code=1000&reason=bye CLOSE 1000", 2000)); /* echoed */
    assert_int_equal(websocket_send_msg(w.ws, (const uint8_t *)"x", 1,
                                        WEBSOCKET_OPCODE_DATA_TEXT, true, true, 1000),
                     -ENOTCONN);
    ws_close(&w);

    ws_open(&w, "/close?code=none", 512);
    expect_text(w.ws, "before");
    assert_int_equal(websocket_recv_msg(w.ws, buf, sizeof(buf), &type, &rem, TIMEOUT_MS), 0);
    assert_int_equal(type, WEBSOCKET_FLAG_CLOSE | WEBSOCKET_FLAG_FINAL);
    assert_int_equal(websocket_recv_msg(w.ws, buf, sizeof(buf), &type, &rem, 0), -ENOTCONN);
    ws_close(&w);

    ws_open(&w, "/drop", 512);
    expect_text(w.ws, "before");
    assert_int_equal(websocket_recv_msg(w.ws, buf, sizeof(buf), &type, &rem, TIMEOUT_MS),
                     -ENOTCONN);
    assert_int_equal(websocket_recv_msg(w.ws, buf, sizeof(buf), &type, &rem, 0), -ENOTCONN);
    websocket_disconnect(w.ws);
    zsock_close(w.sock);
}

static void peer_violations_fail_with_eproto_and_the_close_code(void **state)
{
    (void)state;
    static const char *const kinds[] = {"masked", "rsv", "opcode", "bad-utf8"};
    static const char *const codes[] = {"1002", "1002", "1002", "1007"};
    for (size_t i = 0; i < 4; i++) {
        static struct ws w;
        char url[64], line[128];
        snprintf(url, sizeof(url), "/violation?kind=%s", kinds[i]);
        ws_open(&w, url, 512);
        expect_text(w.ws, "before");
        uint8_t buf[64];
        uint32_t type;
        uint64_t rem;
        int ret = websocket_recv_msg(w.ws, buf, sizeof(buf), &type, &rem, TIMEOUT_MS);
        if (i == 3 && ret > 0) /* bytes before the bad one are delivered first */
            ret = websocket_recv_msg(w.ws, buf, sizeof(buf), &type, &rem, TIMEOUT_MS);
        assert_int_equal(ret, -EPROTO);
        assert_int_equal(websocket_recv_msg(w.ws, buf, sizeof(buf), &type, &rem, 0),
                         -ENOTCONN);
        snprintf(line, sizeof(line), "%s CLOSE %s", url, codes[i]);
        assert_true(log_has(line, 3000));
        websocket_disconnect(w.ws);
        zsock_close(w.sock);
    }
}

/* http_cb taps record what they saw. */
static char tap_log[1 << 18];
static size_t tap_len;

static void tap_add(const char *what, const char *at, size_t len)
{
    int n = snprintf(tap_log + tap_len, sizeof(tap_log) - tap_len, "%s%s%.*s\n", what,
                     at ? " " : "", (int)len, at ? at : "");
    assert_true(n > 0 && (size_t)n < sizeof(tap_log) - tap_len);
    tap_len += (size_t)n;
}

static int t_begin(struct http_parser *p) { (void)p; tap_add("begin", NULL, 0); return 0; }
static int t_status(struct http_parser *p, const char *at, size_t len)
{
    char code[16];
    snprintf(code, sizeof(code), "status %u", p->status_code);
    tap_add(code, at, len);
    return 0;
}
static int t_field(struct http_parser *p, const char *at, size_t len)
{
    (void)p;
    tap_add("field", at, len);
    return 0;
}
static int t_value(struct http_parser *p, const char *at, size_t len)
{
    (void)p;
    tap_add("value", at, len);
    return 0;
}
static int t_headers(struct http_parser *p) { (void)p; tap_add("headers-complete", NULL, 0); return 0; }
static int t_body(struct http_parser *p, const char *at, size_t len)
{
    (void)p;
    tap_add("body", at, len);
    return 0;
}
static int t_complete(struct http_parser *p) { (void)p; tap_add("complete", NULL, 0); return 0; }
static int t_chunk(struct http_parser *p)
{
    char s[32];
    snprintf(s, sizeof(s), "chunk %llu", (unsigned long long)p->content_length);
    tap_add(s, NULL, 0);
    return 0;
}
static int t_chunk_end(struct http_parser *p) { (void)p; tap_add("chunk-end", NULL, 0); return 0; }

static const struct http_parser_settings taps = {
    .on_message_begin = t_begin,
    .on_status = t_status,
    .on_header_field = t_field,
    .on_header_value = t_value,
    .on_headers_complete = t_headers,
    .on_body = t_body,
    .on_message_complete = t_complete,
    .on_chunk_header = t_chunk,
    .on_chunk_complete = t_chunk_end,
};

static void handshake_failures_abort_and_taps_see_the_head(void **state)
{
    (void)state;
    static struct ws w;
    tap_len = 0;
    assert_int_equal(ws_try(&w, "/status?code=403&reason=Forbidden&body=go+away", 512, NULL,
                            NULL, &taps, NULL, NULL),
                     -ECONNABORTED);
    zsock_close(w.sock);
    assert_non_null(strstr(tap_log, "begin\nstatus 403 Forbidden\n"));
    assert_non_null(strstr(tap_log, "field Content-Length\nvalue 7\n"));
    assert_non_null(strstr(tap_log, "headers-complete\nbody go away\ncomplete\n"));
    assert_non_null(strstr(wsc_websocket_last_error(), "403"));

    static const char *const kinds[] = {"wrong", "missing", "truncated", "raw-key"};
    for (size_t i = 0; i < 4; i++) {
        char url[64];
        snprintf(url, sizeof(url), "/bad-accept?kind=%s", kinds[i]);
        assert_int_equal(ws_try(&w, url, 512, NULL, NULL, NULL, NULL, NULL), -ECONNABORTED);
        assert_non_null(strstr(wsc_websocket_last_error(), "Sec-WebSocket-Accept"));
        zsock_close(w.sock);
    }
    assert_int_equal(ws_try(&w, "/no-upgrade", 512, NULL, NULL, NULL, NULL, NULL),
                     -ECONNABORTED);
    zsock_close(w.sock);
    assert_int_equal(ws_try(&w, "/unoffered-protocol?value=chat", 512, NULL, NULL, NULL, NULL,
                            NULL),
                     -ECONNABORTED);
    zsock_close(w.sock);

    /* A successful handshake shows its 101 to the taps too. */
    tap_len = 0;
    assert_true(ws_try(&w, "/echo", 512, NULL, NULL, &taps, NULL, NULL) >= 0);
    assert_non_null(strstr(tap_log, "begin\nstatus 101 Switching Protocols\nfield Upgrade\n"
                                    "value websocket\n"));
    assert_non_null(strstr(tap_log, "headers-complete\ncomplete\n"));
    ws_close(&w);
}

static void optional_headers_offer_subprotocols_and_reach_the_server(void **state)
{
    (void)state;
    static struct ws w;
    const char *headers[] = {"Origin: http://foobar\r\n",
                             "X-One: 1\r\nSec-WebSocket-Protocol: chat\r\n", NULL};
    assert_true(ws_try(&w, "/protocol", 512, headers, NULL, NULL, NULL, NULL) >= 0);
    expect_text(w.ws, "protocol=chat");
    ws_close(&w);

    const char *reserved[] = {"Sec-WebSocket-Key: abc\r\n", NULL};
    assert_int_equal(ws_try(&w, "/protocol", 512, reserved, NULL, NULL, NULL, NULL), -EINVAL);
    zsock_close(w.sock);
    const char *broken[] = {"no colon here\r\n", NULL};
    assert_int_equal(ws_try(&w, "/protocol", 512, broken, NULL, NULL, NULL, NULL), -EINVAL);
    zsock_close(w.sock);
}

static int headers_cb_sock = -1;

static int headers_cb(int sock, struct http_request *req, void *user_data)
{
    assert_string_equal(req->url, "/protocol");
    assert_string_equal((const char *)user_data, "user");
    headers_cb_sock = sock;
    const char *line = "Sec-WebSocket-Protocol: chat\r\n";
    return (int)zsock_send(sock, line, strlen(line), 0);
}

static int failing_headers_cb(int sock, struct http_request *req, void *user_data)
{
    (void)sock, (void)req, (void)user_data;
    return -EMSGSIZE;
}

static void optional_headers_cb_writes_inside_the_request_head(void **state)
{
    (void)state;
    static struct ws w;
    /* The server reads the callback's line as a header (it selects "chat"),
     * and wsc, which did not offer it, rejects the answer, as documented. */
    assert_int_equal(ws_try(&w, "/protocol", 512, NULL, headers_cb, NULL, NULL, "user"),
                     -ECONNABORTED);
    assert_int_equal(headers_cb_sock, w.sock);
    assert_non_null(strstr(wsc_websocket_last_error(), "chat"));
    zsock_close(w.sock);
    assert_int_equal(ws_try(&w, "/echo", 512, NULL, failing_headers_cb, NULL, NULL, NULL),
                     -EMSGSIZE);
    zsock_close(w.sock);
}

static int connect_cb_handle = -1;

static int connect_cb(int ws, struct http_request *req, void *user_data)
{
    (void)req;
    connect_cb_handle = ws;
    /* The handle works inside the callback already. */
    send_text(ws, "from the callback");
    return user_data ? -EPERM : 0;
}

static void connect_cb_gets_the_handle_and_can_refuse(void **state)
{
    (void)state;
    static struct ws w;
    assert_true(ws_try(&w, "/echo", 512, NULL, NULL, NULL, connect_cb, NULL) >= 0);
    assert_int_equal(connect_cb_handle, w.ws);
    expect_text(w.ws, "from the callback");
    ws_close(&w);
    assert_int_equal(ws_try(&w, "/echo", 512, NULL, NULL, NULL, connect_cb, "refuse"), -EPERM);
    zsock_close(w.sock);
}

#ifndef CONFIG_WEBSOCKET_MAX_CONTEXTS
#define CONFIG_WEBSOCKET_MAX_CONTEXTS 4
#endif
#define SLOTS CONFIG_WEBSOCKET_MAX_CONTEXTS

static void the_table_is_bounded_and_handles_are_checked(void **state)
{
    (void)state;
    static struct ws w[SLOTS + 1];
    for (int i = 0; i < SLOTS; i++)
        ws_open(&w[i], "/echo", 512);
    assert_int_equal(ws_try(&w[SLOTS], "/echo", 512, NULL, NULL, NULL, NULL, NULL), -ENOENT);
    zsock_close(w[SLOTS].sock);
    struct websocket_request req = {.host = "127.0.0.1", .url = "/echo"};
    assert_int_equal(websocket_connect(w[0].sock, &req, 1000, NULL), -EEXIST);
    /* A handle closed with close() (Zephyr allows it) frees its slot. */
    zsock_close(w[SLOTS - 1].ws);
    zsock_close(w[SLOTS - 1].sock);
    ws_open(&w[SLOTS - 1], "/echo", 512);
    for (int i = 0; i < SLOTS; i++) {
        send_text(w[i].ws, "hi");
        expect_text(w[i].ws, "hi");
        ws_close(&w[i]);
    }
    uint8_t b[4];
    assert_int_equal(websocket_recv_msg(999, b, 4, NULL, NULL, 0), -EBADF);
    assert_int_equal(websocket_send_msg(999, b, 1, WEBSOCKET_OPCODE_DATA_TEXT, true, true, 0),
                     -EBADF);
    assert_int_equal(websocket_disconnect(999), -EBADF);
    assert_int_equal(websocket_connect(-1, &req, 1000, NULL), -EINVAL);
}

static void sends_are_masked_checked_and_closed_with_a_code(void **state)
{
    (void)state;
    static struct ws w;
    ws_open(&w, "/echo?tag=sends", 512);
    /* mask=false is overridden: the fixture fails unmasked frames with 1002. */
    assert_int_equal(websocket_send_msg(w.ws, (const uint8_t *)"plain", 5,
                                        WEBSOCKET_OPCODE_DATA_TEXT, false, true, TIMEOUT_MS),
                     5);
    expect_text(w.ws, "plain");
    /* Fragments, with a ping between them. */
    assert_int_equal(websocket_send_msg(w.ws, (const uint8_t *)"frag", 4,
                                        WEBSOCKET_OPCODE_DATA_TEXT, true, false, TIMEOUT_MS),
                     4);
    assert_int_equal(websocket_send_msg(w.ws, (const uint8_t *)"p", 1, WEBSOCKET_OPCODE_PING,
                                        true, true, TIMEOUT_MS),
                     1);
    assert_int_equal(websocket_send_msg(w.ws, (const uint8_t *)"mented", 6,
                                        WEBSOCKET_OPCODE_CONTINUE, true, true, TIMEOUT_MS),
                     6);
    struct frame pong = {WEBSOCKET_FLAG_PONG | WEBSOCKET_FLAG_FINAL, (const uint8_t *)"p", 1};
    expect_frame(w.ws, 16, &pong);
    expect_text(w.ws, "fragmented");
    /* Out of sequence, too long, unknown: refused without touching the wire. */
    uint8_t big[200] = {0};
    assert_int_equal(websocket_send_msg(w.ws, big, 1, WEBSOCKET_OPCODE_CONTINUE, true, true, 0),
                     -EINVAL);
    assert_int_equal(websocket_send_msg(w.ws, big, 126, WEBSOCKET_OPCODE_PING, true, true, 0),
                     -EINVAL);
    assert_int_equal(websocket_send_msg(w.ws, big, 1, (enum websocket_opcode)3, true, true, 0),
                     -EINVAL);
    const uint8_t bad_close[] = {0x03, 0xed}; /* 1005 never goes on the wire */
    assert_int_equal(websocket_send_msg(w.ws, bad_close, 2, WEBSOCKET_OPCODE_CLOSE, true, true,
                                        1000),
                     -EINVAL);
    /* A close with a code and reason; the server's echo comes back as a frame. */
    const uint8_t close[] = {0x0f, 0xa0, 'd', 'o', 'n', 'e'}; /* 4000 */
    assert_int_equal(websocket_send_msg(w.ws, close, sizeof(close), WEBSOCKET_OPCODE_CLOSE,
                                        true, true, TIMEOUT_MS),
                     (int)sizeof(close));
    assert_true(log_has("/echo?tag=sends CLOSE 4000", 3000));
    struct frame f = {WEBSOCKET_FLAG_CLOSE | WEBSOCKET_FLAG_FINAL, close, sizeof(close)};
    expect_frame(w.ws, 4, &f); /* the fixture echoes code and reason */
    uint8_t buf[8];
    assert_int_equal(websocket_recv_msg(w.ws, buf, sizeof(buf), NULL, NULL, 0), -ENOTCONN);
    ws_close(&w);
}

/* ---- echo group (python3-websockets) ------------------------------------ */

static void echo_round_trips_of_every_size(void **state)
{
    (void)state;
    static struct ws w;
    ws_open(&w, "/", 1024);
    static const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 200000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *p = pattern(sizes[i]);
        assert_int_equal(websocket_send_msg(w.ws, p, sizes[i], WEBSOCKET_OPCODE_DATA_BINARY,
                                            true, true, TIMEOUT_MS),
                         (int)sizes[i]);
        struct frame f = {WEBSOCKET_FLAG_BINARY | WEBSOCKET_FLAG_FINAL, p, sizes[i]};
        expect_frame(w.ws, 777, &f);
        free(p);
    }
    send_text(w.ws, "text too");
    expect_text(w.ws, "text too");
    assert_int_equal(websocket_send_msg(w.ws, (const uint8_t *)"are you there", 13,
                                        WEBSOCKET_OPCODE_PING, true, true, TIMEOUT_MS),
                     13);
    struct frame pong = {WEBSOCKET_FLAG_PONG | WEBSOCKET_FLAG_FINAL,
                         (const uint8_t *)"are you there", 13};
    expect_frame(w.ws, 5, &pong);
    ws_close(&w);
}

static void echo_recv_times_out_with_eagain(void **state)
{
    (void)state;
    static struct ws w;
    ws_open(&w, "/", 64);
    uint8_t buf[8];
    assert_int_equal(websocket_recv_msg(w.ws, buf, sizeof(buf), NULL, NULL, 100), -EAGAIN);
    ws_close(&w);
}

/* ---- http group ---------------------------------------------------------- */

struct collected {
    uint8_t body[300000];
    size_t body_len;
    int calls_more, calls_final;
    uint16_t status;
    char status_text[HTTP_STATUS_STR_SIZE];
    size_t content_length, processed;
    bool complete, cl_present, cr_present;
    struct http_content_range range;
};

static struct collected got;

static int collect(struct http_response *rsp, enum http_final_call final, void *user_data)
{
    assert_ptr_equal(user_data, &got);
    if (rsp->body_frag_start) {
        assert_true(rsp->body_frag_start >= rsp->recv_buf);
        assert_true(rsp->body_frag_start + rsp->body_frag_len <= rsp->recv_buf + rsp->data_len);
        assert_true(got.body_len + rsp->body_frag_len <= sizeof(got.body));
        memcpy(got.body + got.body_len, rsp->body_frag_start, rsp->body_frag_len);
        got.body_len += rsp->body_frag_len;
    } else {
        assert_int_equal(rsp->body_frag_len, 0);
    }
    assert_int_equal(rsp->processed, got.body_len);
    if (final == HTTP_DATA_FINAL)
        got.calls_final++;
    else
        got.calls_more++;
    got.status = rsp->http_status_code;
    snprintf(got.status_text, sizeof(got.status_text), "%s", rsp->http_status);
    got.content_length = rsp->content_length;
    got.processed = rsp->processed;
    got.complete = rsp->message_complete;
    got.cl_present = rsp->cl_present;
    got.cr_present = rsp->cr_present;
    got.range = rsp->content_range;
    return 0;
}

static uint8_t recv_buf[65536];

static int http_get(enum http_method method, const char *url, size_t buf_len,
                    struct http_request *req)
{
    int sock = tcp_connect();
    memset(&got, 0, sizeof(got));
    req->method = method;
    req->url = url;
    req->host = "127.0.0.1";
    req->protocol = "HTTP/1.1";
    req->response = collect;
    req->recv_buf = recv_buf;
    req->recv_buf_len = buf_len;
    int rc = http_client_req(sock, req, TIMEOUT_MS, &got);
    zsock_close(sock);
    return rc;
}

static void expect_pattern_body(size_t n, size_t start)
{
    assert_int_equal(got.body_len, n);
    for (size_t i = 0; i < n; i++)
        if (got.body[i] != (uint8_t)('a' + (start + i) % 26))
            fail_msg("body byte %zu differs", i);
}

static void http_content_length_bodies_in_fragments(void **state)
{
    (void)state;
    static const size_t bufs[] = {1, 7, 64, 65536};
    for (size_t i = 0; i < 4; i++) {
        for (int dribble = 0; dribble < 2; dribble++) {
            struct http_request req;
            memset(&req, 0, sizeof(req));
            char url[64];
            snprintf(url, sizeof(url), "/length?size=5000%s", dribble ? "&dribble=97" : "");
            assert_true(http_get(HTTP_GET, url, bufs[i], &req) > 0);
            expect_pattern_body(5000, 0);
            assert_int_equal(got.status, 200);
            assert_string_equal(got.status_text, "OK");
            assert_int_equal(got.content_length, 5000);
            assert_true(got.cl_present && got.complete);
            assert_int_equal(got.calls_final, 1);
            assert_int_equal(req.data_len, 0);
            if (bufs[i] < 100)
                assert_true(got.calls_more > 0);
        }
    }
}

static void http_chunked_with_extensions_and_trailers(void **state)
{
    (void)state;
    static const size_t bufs[] = {1, 16, 4096};
    for (size_t i = 0; i < 3; i++) {
        struct http_request req;
        memset(&req, 0, sizeof(req));
        req.http_cb = &taps;
        tap_len = 0;
        assert_true(http_get(HTTP_GET, "/chunked?sizes=5,1,300,4000&ext=1&trailers=1", bufs[i],
                             &req) > 0);
        expect_pattern_body(4306, 0);
        assert_int_equal(got.status, 200);
        assert_false(got.cl_present);
        assert_true(got.complete);
        assert_non_null(strstr(tap_log, "chunk 5\n"));
        assert_non_null(strstr(tap_log, "chunk 4000\n"));
        assert_non_null(strstr(tap_log, "chunk 0\nchunk-end\ncomplete\n"));
        assert_null(strstr(tap_log, "Expires")); /* trailers are skipped */
        assert_int_equal(req.data_len, 0);
    }
    struct http_request req;
    memset(&req, 0, sizeof(req));
    assert_true(http_get(HTTP_GET, "/chunked?sizes=1,2,3&dribble=1", 64, &req) > 0);
    expect_pattern_body(6, 0);
}

static void http_close_delimited_404_head_and_range(void **state)
{
    (void)state;
    struct http_request req;
    memset(&req, 0, sizeof(req));
    assert_true(http_get(HTTP_GET, "/close?size=3000", 100, &req) > 0);
    expect_pattern_body(3000, 0);
    assert_true(got.complete);
    assert_false(got.cl_present);

    memset(&req, 0, sizeof(req));
    assert_true(http_get(HTTP_GET, "/status?code=404&reason=Not%20Found&body=nothing+here",
                         4096, &req) > 0);
    assert_int_equal(got.status, 404);
    assert_string_equal(got.status_text, "Not Found");
    assert_int_equal(got.body_len, 12);
    assert_memory_equal(got.body, "nothing here", 12);

    memset(&req, 0, sizeof(req));
    assert_true(http_get(HTTP_GET, "/status?code=503&reason=Busy&body=later", 4096, &req) > 0);
    assert_int_equal(got.status, 503);
    assert_memory_equal(got.body, "later", 5); /* Zephyr drops 5xx bodies; wsc does not */

    memset(&req, 0, sizeof(req));
    assert_true(http_get(HTTP_HEAD, "/length?size=5000", 4096, &req) > 0);
    assert_int_equal(got.status, 200);
    assert_int_equal(got.content_length, 5000);
    assert_int_equal(got.body_len, 0);
    assert_true(got.complete);
    assert_int_equal(req.data_len, 0);

    memset(&req, 0, sizeof(req));
    assert_true(http_get(HTTP_GET, "/range", 4096, &req) > 0);
    assert_int_equal(got.status, 206);
    assert_true(got.cr_present);
    assert_int_equal(got.range.start, 10);
    assert_int_equal(got.range.end, 19);
    assert_int_equal(got.range.total, 100);
    expect_pattern_body(10, 10);

    memset(&req, 0, sizeof(req));
    assert_true(http_get(HTTP_GET, "/continue?size=20", 4096, &req) > 0);
    assert_int_equal(got.status, 200);
    expect_pattern_body(20, 0);
}

static void http_switching_protocols_keeps_the_new_protocols_bytes(void **state)
{
    (void)state;
    for (int dribble = 0; dribble < 2; dribble++) {
        struct http_request req;
        memset(&req, 0, sizeof(req));
        static const char *const upgrade[] = {"Upgrade: echo-proto\r\n",
                                              "Connection: Upgrade\r\n", NULL};
        req.header_fields = upgrade;
        int sock = tcp_connect();
        memset(&got, 0, sizeof(got));
        req.method = HTTP_GET;
        req.url = dribble ? "/switch?dribble=1" : "/switch";
        req.host = "127.0.0.1";
        req.protocol = "HTTP/1.1";
        req.response = collect;
        req.recv_buf = recv_buf;
        req.recv_buf_len = sizeof(recv_buf);
        assert_true(http_client_req(sock, &req, TIMEOUT_MS, &got) > 0);
        assert_int_equal(got.status, 101);
        assert_int_equal(got.body_len, 0);
        /* Whatever arrived with the head is at the start of recv_buf; the rest
         * is still in the socket. Together: the new protocol's bytes, once. */
        size_t have = req.data_len;
        uint8_t all[64];
        memcpy(all, recv_buf, have);
        while (have < 18) {
            ssize_t n = zsock_recv(sock, all + have, sizeof(all) - have, 0);
            assert_true(n > 0);
            have += (size_t)n;
        }
        assert_int_equal(have, 18);
        assert_memory_equal(all, "HELLO-NEW-PROTOCOL", 18);
        zsock_close(sock);
    }
    struct http_request req;
    memset(&req, 0, sizeof(req));
    assert_true(http_get(HTTP_GET, "/pipelined?size=10", 4096, &req) > 0);
    expect_pattern_body(10, 0);
    assert_int_equal(req.data_len, 5);
    assert_memory_equal(recv_buf, "EXTRA", 5);
}

static int payload_cb(int sock, struct http_request *req, void *user_data)
{
    (void)req, (void)user_data;
    const char *chunks = "4\r\nwsc \r\n6\r\nchunks\r\n0\r\n\r\n";
    return (int)zsock_send(sock, chunks, strlen(chunks), 0);
}

static int extra_headers_cb(int sock, struct http_request *req, void *user_data)
{
    (void)req, (void)user_data;
    const char *h = "X-From-Callback: yes\r\n";
    return (int)zsock_send(sock, h, strlen(h), 0);
}

static void http_requests_carry_headers_and_payloads(void **state)
{
    (void)state;
    struct http_request req;
    memset(&req, 0, sizeof(req));
    static const char *const fields[] = {"Accept: */*\r\n", NULL};
    const char *optional[] = {"X-Optional: 1\r\nX-Two: 2\r\n", NULL};
    req.header_fields = fields;
    req.optional_headers = optional;
    req.content_type_value = "text/plain";
    req.payload = "hello body";
    req.payload_len = 10;
    req.port = "8080";
    int sent = http_get(HTTP_POST, "/echo?x=1", 4096, &req);
    assert_true(sent > 0);
    got.body[got.body_len] = '\0';
    const char *b = (const char *)got.body;
    assert_non_null(strstr(b, "POST /echo?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                              "X-Optional: 1\r\nX-Two: 2\r\nAccept: */*\r\n"
                              "Content-Type: text/plain\r\nContent-Length: 10\r\n\r\n"
                              "hello body"));
    assert_int_equal((size_t)sent, strlen(b));

    memset(&req, 0, sizeof(req));
    static const char *const te[] = {"Transfer-Encoding: chunked\r\n", NULL};
    req.header_fields = te;
    req.payload_cb = payload_cb;
    req.optional_headers_cb = extra_headers_cb;
    assert_true(http_get(HTTP_PUT, "/echo", 4096, &req) > 0);
    got.body[got.body_len] = '\0';
    assert_non_null(strstr((const char *)got.body, "PUT /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                   "X-From-Callback: yes\r\n"));
    assert_non_null(strstr((const char *)got.body, "\r\n\r\nwsc chunks"));

    /* Lines that could split the head are refused before anything is sent. */
    memset(&req, 0, sizeof(req));
    const char *bad[] = {"X-Bad: 1\nInjected: 2\r\n", NULL};
    req.optional_headers = bad;
    assert_int_equal(http_get(HTTP_GET, "/echo", 4096, &req), -EINVAL);
    memset(&req, 0, sizeof(req));
    const char *unterminated[] = {"X-Bad: 1", NULL};
    req.optional_headers = unterminated;
    assert_int_equal(http_get(HTTP_GET, "/echo", 4096, &req), -EINVAL);
    memset(&req, 0, sizeof(req));
    assert_int_equal(http_get(HTTP_GET, "/with space", 4096, &req), -EINVAL);
}

static void http_endings_null_timeout_truncated_and_malformed(void **state)
{
    (void)state;
    struct http_request req;
    memset(&req, 0, sizeof(req));
    assert_true(http_get(HTTP_GET, "/empty", 4096, &req) >= 0);
    assert_int_equal(got.calls_final, 1); /* a null response: status 0 */
    assert_int_equal(got.status, 0);

    memset(&req, 0, sizeof(req));
    int sock = tcp_connect();
    req.method = HTTP_GET;
    req.url = "/slow";
    req.host = "127.0.0.1";
    req.protocol = "HTTP/1.1";
    req.response = collect;
    req.recv_buf = recv_buf;
    req.recv_buf_len = 64;
    int64_t t0 = k_uptime_get();
    assert_int_equal(http_client_req(sock, &req, 300, &got), -ETIMEDOUT);
    assert_true(k_uptime_get() - t0 < 3000);
    zsock_close(sock);

    memset(&req, 0, sizeof(req));
    assert_int_equal(http_get(HTTP_GET, "/truncated", 4096, &req), -ECONNRESET);
    memset(&req, 0, sizeof(req));
    assert_int_equal(http_get(HTTP_GET, "/bad-length", 4096, &req), -EPROTO);
    memset(&req, 0, sizeof(req));
    assert_int_equal(http_get(HTTP_GET, "/bad-chunk", 4096, &req), -EPROTO);
    memset(&req, 0, sizeof(req));
    req.response = NULL;
    assert_int_equal(http_client_req(0, &req, 100, NULL), -EINVAL);
}

int main(int argc, char **argv)
{
    const char *group = argc > 1 ? argv[1] : "hostile";
    const struct CMUnitTest hostile[] = {
        cmocka_unit_test(seed_case_greeting_and_ping_from_the_101_segment_arrive),
        cmocka_unit_test(coalesced_in_one_write_with_every_buffer_size),
        cmocka_unit_test(application_pongs_are_absorbed_not_sent_twice),
        cmocka_unit_test(poll_reports_buffered_frames_then_waits_for_the_socket),
        cmocka_unit_test(recv_times_out_with_eagain),
        cmocka_unit_test(server_close_is_returned_then_enotconn),
        cmocka_unit_test(peer_violations_fail_with_eproto_and_the_close_code),
        cmocka_unit_test(handshake_failures_abort_and_taps_see_the_head),
        cmocka_unit_test(optional_headers_offer_subprotocols_and_reach_the_server),
        cmocka_unit_test(optional_headers_cb_writes_inside_the_request_head),
        cmocka_unit_test(connect_cb_gets_the_handle_and_can_refuse),
        cmocka_unit_test(the_table_is_bounded_and_handles_are_checked),
        cmocka_unit_test(sends_are_masked_checked_and_closed_with_a_code),
        cmocka_unit_test(coalesced_stream_split_at_every_offset_delivers_every_frame_once),
    };
    const struct CMUnitTest echo[] = {
        cmocka_unit_test(echo_round_trips_of_every_size),
        cmocka_unit_test(echo_recv_times_out_with_eagain),
    };
    const struct CMUnitTest http[] = {
        cmocka_unit_test(http_content_length_bodies_in_fragments),
        cmocka_unit_test(http_chunked_with_extensions_and_trailers),
        cmocka_unit_test(http_close_delimited_404_head_and_range),
        cmocka_unit_test(http_switching_protocols_keeps_the_new_protocols_bytes),
        cmocka_unit_test(http_requests_carry_headers_and_payloads),
        cmocka_unit_test(http_endings_null_timeout_truncated_and_malformed),
    };
    websocket_init();
    if (strcmp(group, "echo") == 0)
        return cmocka_run_group_tests_name("zephyr_echo", echo, NULL, NULL);
    if (strcmp(group, "http") == 0)
        return cmocka_run_group_tests_name("zephyr_http", http, NULL, NULL);
    return cmocka_run_group_tests_name("zephyr_hostile", hostile, NULL, NULL);
}
