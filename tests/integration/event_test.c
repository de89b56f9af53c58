/*
 * The event-driven API against real servers, from one thread and one poll()
 * loop: the coalesced burst (101 and frames in one write, and split at many
 * offsets) delivered whole; many connections echoing at once; sends queued
 * past what the socket takes (WSC_EAGAIN, then drained); a message larger
 * than the queue (WSC_EMSGSIZE); refused connects, non-101 answers and the
 * close handshake. ECHO_PATH names the echo path; FIXTURE=1 says the server
 * is tests/fixtures/hostile_server.py, which has the scripted scenarios.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "itest.h"

#define TIMEOUT_MS 10000

static const char *echo_path(void)
{
    const char *p = getenv("ECHO_PATH");
    return p ? p : "/";
}

static bool fixture(void)
{
    const char *f = getenv("FIXTURE");
    return f && f[0] == '1';
}

static void start(struct wsc_conn *c, const char *url, const struct wsc_options *o)
{
    int rc = wsc_conn_start(c, url, o);
    if (rc)
        fail_msg("wsc_conn_start: %d %s", rc, wsc_conn_detail(c));
    /* Receiving before the connection is open just finds nothing yet. */
    struct wsc_message m;
    if (wsc_conn_state(c) != WSC_CONN_OPEN)
        assert_int_equal(wsc_recv(c, &m, 0), WSC_EAGAIN);
    rc = itest_open_in_loop(c);
    if (rc)
        fail_msg("opening %s: %d %s", url, rc, wsc_conn_detail(c));
}

static void expect(struct wsc_conn *c, uint8_t op, const void *data, size_t len)
{
    struct wsc_message m;
    itest_next_message(c, &m);
    assert_int_equal(m.opcode, op);
    assert_int_equal(m.len, len);
    assert_memory_equal(m.data, data, len);
}

/* Queues a message, running the loop while the queue is full. */
static void queue(struct wsc_conn *c, uint8_t op, const void *data, size_t len)
{
    for (int rounds = 0; rounds < 1000; rounds++) {
        int rc = wsc_send(c, op, data, len, 0);
        if (rc == 0)
            return;
        if (rc != WSC_EAGAIN)
            fail_msg("wsc_send: %d %s", rc, wsc_conn_detail(c));
        itest_pump(c, 1);
    }
    fail_msg("the send queue never drained");
}

/* Our close, the server's reply, and the transport closed, all in the loop. */
static void close_in_loop(struct wsc_conn *c)
{
    assert_int_equal(wsc_close(c, WSC_CLOSE_NORMAL, "done", TIMEOUT_MS), WSC_EAGAIN);
    assert_int_equal(wsc_conn_state(c), WSC_CONN_CLOSING);
    struct wsc_message m;
    int rc, rounds = 0;
    while ((rc = wsc_recv(c, &m, 0)) == 0 || rc == WSC_EAGAIN) {
        assert_true(++rounds < 1000);
        itest_pump(c, 1);
    }
    assert_int_equal(rc, WSC_ECLOSED);
    assert_int_equal(wsc_conn_close_code(c), WSC_CLOSE_NORMAL);
    for (rounds = 0; wsc_conn_interest(c) != 0; rounds++) {
        assert_true(rounds < 100);
        itest_pump(c, 1);
    }
    assert_int_equal(wsc_conn_state(c), WSC_CONN_CLOSED);
    assert_int_equal(wsc_conn_fd(c), -1);
    wsc_conn_free(c);
}

/* ---- the coalesced burst ------------------------------------------------ */

static void run_burst(const char *query, size_t big)
{
    struct wsc_options o;
    itest_options(&o);
    o.report_control = true;
    struct wsc_conn c;
    start(&c, itest_url("/coalesced?big=%zu&%s", big, query), &o);
    uint8_t *pattern = malloc(big);
    assert_non_null(pattern);
    itest_pattern(pattern, big);
    expect(&c, WSC_OP_TEXT, "hello", 5);
    expect(&c, WSC_OP_PING, "ping-1", 6);
    expect(&c, WSC_OP_PING, "ping-2", 6);
    expect(&c, WSC_OP_TEXT, "fragmented", 10);
    expect(&c, WSC_OP_BINARY, pattern, big);
    expect(&c, WSC_OP_TEXT, "last", 4);
    free(pattern);
    queue(&c, WSC_OP_TEXT, "stats", 5);
    expect(&c, WSC_OP_TEXT, "pongs=ping-1,ping-2", 19);
    close_in_loop(&c);
}

static void coalesced_burst_arrives_whole_at_many_splits(void **state)
{
    (void)state;
    if (!fixture())
        skip();
    run_burst("", 300000);
    run_burst("dribble=1", 300);
    char q[64];
    size_t offsets = 0;
    for (size_t k = 1; k < 1200; k += 7, offsets++) {
        snprintf(q, sizeof(q), "split=%zu&pause_ms=2", k);
        run_burst(q, 1000);
    }
    print_message("event loop: burst split at %zu offsets\n", offsets);
}

/* ---- many connections, queued sends ------------------------------------- */

/* Connection i's message j: sizes cross the 126 and 65536 length encodings
 * unless the send queue is smaller. */
static size_t msg_size(size_t i, size_t j, size_t cap)
{
    static const size_t sizes[] = {0, 1, 125, 126, 1000, 65535, 65536, 70000};
    size_t n = sizes[(i + j) % (sizeof(sizes) / sizeof(sizes[0]))];
    return n + 14 > cap ? cap / 2 : n;
}

static void many_connections_echo_from_one_loop(void **state)
{
    (void)state;
    enum { CONNS = 64, MSGS = 12 };
    struct wsc_options o;
    itest_options(&o);
    if (o.tx_buf_size < 200000 && !getenv("WSC_TEST_TX_BUF"))
        o.tx_buf_size = 200000;
    static struct wsc_conn cs[CONNS];
    size_t sent[CONNS] = {0}, got[CONNS] = {0};
    uint8_t *buf = malloc(70000);
    assert_non_null(buf);
    itest_pattern(buf, 70000);
    for (size_t i = 0; i < CONNS; i++)
        assert_int_equal(wsc_conn_start(&cs[i], itest_url("%s", echo_path()), &o), 0);
    size_t done = 0;
    for (int rounds = 0; done < CONNS; rounds++) {
        assert_true(rounds < 20000);
        itest_pump(cs, CONNS);
        done = 0;
        for (size_t i = 0; i < CONNS; i++) {
            struct wsc_conn *c = &cs[i];
            assert_int_not_equal(wsc_conn_state(c), WSC_CONN_FAILED);
            if (wsc_conn_state(c) != WSC_CONN_OPEN)
                continue;
            /* Queue as much as fits; the rest waits for the next round. */
            while (sent[i] < MSGS) {
                size_t n = msg_size(i, sent[i], o.tx_buf_size);
                int rc = wsc_send(c, WSC_OP_BINARY, buf, n, 0);
                if (rc == WSC_EAGAIN)
                    break;
                assert_int_equal(rc, 0);
                sent[i]++;
            }
            struct wsc_message m;
            int rc;
            while ((rc = wsc_recv(c, &m, 0)) == 0) {
                size_t n = msg_size(i, got[i], o.tx_buf_size);
                assert_int_equal(m.opcode, WSC_OP_BINARY);
                assert_int_equal(m.len, n);
                assert_memory_equal(m.data, buf, n);
                got[i]++;
            }
            assert_int_equal(rc, WSC_EAGAIN);
            done += got[i] == MSGS;
        }
    }
    for (size_t i = 0; i < CONNS; i++)
        close_in_loop(&cs[i]);
    free(buf);
}

static void queue_fills_then_drains(void **state)
{
    (void)state;
    struct wsc_options o;
    itest_options(&o);
    struct wsc_conn c;
    start(&c, itest_url("%s", echo_path()), &o);
    uint8_t msg[100];
    itest_pattern(msg, sizeof(msg));
    /* Without running the loop, queue until the queue refuses: the socket
     * and the server take some, the output buffer holds the rest. */
    size_t queued = 0;
    int rc;
    while ((rc = wsc_send(&c, WSC_OP_BINARY, msg, sizeof(msg), 0)) == 0) {
        queued++;
        assert_true(queued < 1000000);
        assert_true(wsc_conn_queued(&c) <= o.tx_buf_size);
    }
    assert_int_equal(rc, WSC_EAGAIN);
    assert_true(wsc_conn_queued(&c) > 0);
    assert_int_equal(wsc_conn_interest(&c) & WSC_WAIT_WRITE, WSC_WAIT_WRITE);
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_OPEN);
    /* Then every one of them comes back. */
    for (size_t i = 0; i < queued; i++)
        expect(&c, WSC_OP_BINARY, msg, sizeof(msg));
    assert_int_equal(wsc_conn_queued(&c), 0);
    print_message("queued %zu messages before WSC_EAGAIN\n", queued);
    close_in_loop(&c);
}

static void message_larger_than_the_queue_is_refused(void **state)
{
    (void)state;
    struct wsc_options o;
    itest_options(&o);
    o.tx_buf_size = 4096;
    struct wsc_conn c;
    start(&c, itest_url("%s", echo_path()), &o);
    static uint8_t big[5000];
    assert_int_equal(wsc_send(&c, WSC_OP_BINARY, big, sizeof(big), 0), WSC_EMSGSIZE);
    assert_int_equal(wsc_conn_queued(&c), 0);
    /* In fragments it fits; the connection is unharmed. */
    assert_int_equal(wsc_send_fragment(&c, WSC_OP_BINARY, big, 2500, false, 0), 0);
    assert_int_equal(wsc_send_fragment(&c, WSC_OP_CONTINUATION, big + 2500, 2500, true, 0), 0);
    expect(&c, WSC_OP_BINARY, big, sizeof(big));
    close_in_loop(&c);
}

/* ---- name lookup -------------------------------------------------------- */

/* A host name is looked up on the helper thread: the connection first waits
 * for READ on the lookup's pipe, then connects (to ::1 and, refused there, to
 * 127.0.0.1 where localhost has both) and echoes. */
static void a_host_name_is_looked_up_in_the_loop(void **state)
{
    (void)state;
    char url[128];
    snprintf(url, sizeof(url), "ws://localhost:%s%s", getenv("WSC_TEST_PORT"), echo_path());
    struct wsc_options o;
    itest_options(&o);
    struct wsc_conn c;
    ITEST_OK(&c, wsc_conn_start(&c, url, &o));
    /* Usually the lookup is still running; a quick one (localhost is in
     * /etc/hosts) may have finished within the call, under load. */
    bool looking_up = c.tcp.resolving != NULL;
    if (looking_up)
        assert_int_equal(wsc_conn_interest(&c), WSC_WAIT_READ);
    /* Each call that replaces the descriptor gives one with a new number. */
    int fd = wsc_conn_fd(&c), changes = 0;
    assert_true(fd >= 0);
    for (int rounds = 0; wsc_conn_state(&c) == WSC_CONN_CONNECTING ||
                         wsc_conn_state(&c) == WSC_CONN_HANDSHAKING;
         rounds++) {
        assert_true(rounds < 500);
        itest_pump(&c, 1);
        if (wsc_conn_fd(&c) != fd) {
            changes++;
            fd = wsc_conn_fd(&c);
        }
    }
    ITEST_OK(&c, wsc_conn_state(&c) == WSC_CONN_OPEN ? 0 : wsc_conn_error(&c));
    if (looking_up)
        assert_true(changes >= 1); /* from the lookup's pipe to the socket */
    queue(&c, WSC_OP_TEXT, "looked up", 9);
    expect(&c, WSC_OP_TEXT, "looked up", 9);
    close_in_loop(&c);
}

/* ---- failures ----------------------------------------------------------- */

static void refused_connect_fails_in_the_loop(void **state)
{
    (void)state;
    struct wsc_conn c;
    /* Port 1 on loopback: nothing listens. Linux refuses at once or on the
     * first writable wakeup; either way with ECONNREFUSED. */
    int rc = wsc_conn_start(&c, "ws://127.0.0.1:1/", NULL);
    if (rc == 0)
        rc = itest_open_in_loop(&c);
    assert_int_equal(rc, WSC_ECONNREFUSED);
    assert_non_null(strstr(wsc_conn_detail(&c), "connection refused"));
    assert_int_equal(wsc_conn_interest(&c), 0);
    wsc_conn_free(&c);
}

static void non_101_answer_fails_with_its_status(void **state)
{
    (void)state;
    if (!fixture())
        skip();
    struct wsc_conn c;
    int rc = wsc_conn_start(&c, itest_url("/status?code=404&reason=Nope"), NULL);
    if (rc == 0) /* the answer may come before wsc_conn_start() returns */
        rc = itest_open_in_loop(&c);
    assert_int_equal(rc, WSC_EHS_STATUS);
    assert_int_equal(wsc_conn_http_status(&c), 404);
    assert_non_null(strstr(wsc_conn_detail(&c), "404"));
    assert_int_equal(wsc_conn_interest(&c), 0);
    wsc_conn_free(&c);
}

/* The trace hook sees each redirect before the old socket is let go: note
 * the descriptor the connection has then. */
static int redirected_from_fd;

static void note_redirect_fd(void *user, enum wsc_trace_kind kind, const char *text,
                             size_t len)
{
    (void)kind;
    struct wsc_conn *c = user;
    if (len >= 9 && memcmp(text, "following", 9) == 0)
        redirected_from_fd = wsc_conn_fd(c);
}

/* Redirects are followed in the loop when asked, on a socket whose number
 * differs from the one it replaces (an epoll set drops the old one, and a loop
 * that compares numbers would miss a new socket with the same number). */
static void redirects_are_followed_in_the_loop(void **state)
{
    (void)state;
    if (!fixture())
        skip();
    struct wsc_options o;
    itest_options(&o);
    struct wsc_conn c;
    int rc = wsc_conn_start(&c, itest_url("/status?code=302&reason=Found&location=/echo"), &o);
    if (rc == 0)
        rc = itest_open_in_loop(&c);
    assert_int_equal(rc, WSC_EHS_STATUS); /* off by default */
    assert_int_equal(wsc_conn_http_status(&c), 302);
    wsc_conn_free(&c);

    o.max_redirects = 3;
    /* One hop: the new socket is opened while the old one is still open. */
    o.trace = note_redirect_fd;
    o.trace_user = &c;
    redirected_from_fd = -1;
    rc = wsc_conn_start(&c, itest_url("/status?code=302&reason=Found&location=/echo"), &o);
    if (rc == 0)
        rc = itest_open_in_loop(&c);
    ITEST_OK(&c, rc);
    assert_int_equal(c.redirects, 1);
    assert_true(redirected_from_fd >= 0);
    assert_true(wsc_conn_fd(&c) != redirected_from_fd);
    o.trace = NULL;
    queue(&c, WSC_OP_TEXT, "after a redirect", 16);
    expect(&c, WSC_OP_TEXT, "after a redirect", 16);
    close_in_loop(&c);

    /* Two hops: a 308 to a 307 to /protocol. */
    ITEST_OK(&c, wsc_conn_start(&c, itest_url("/status?code=308&reason=Permanent&location="
                                              "%%2Fstatus%%3Fcode%%3D307%%26reason%%3DTemp"
                                              "%%26location%%3D%%252Fprotocol"),
                                &o));
    ITEST_OK(&c, itest_open_in_loop(&c));
    assert_int_equal(c.redirects, 2);
    expect(&c, WSC_OP_TEXT, "protocol=none", 13); /* /protocol greets with this */
    close_in_loop(&c);

    /* The hop limit ends a chain with a clear reason. */
    o.max_redirects = 1;
    rc = wsc_conn_start(&c, itest_url("/status?code=302&reason=Found&location=%%2Fstatus%%3F"
                                      "code%%3D302%%26reason%%3DFound%%26location%%3D%%252Fecho"),
                        &o);
    if (rc == 0)
        rc = itest_open_in_loop(&c);
    assert_int_equal(rc, WSC_EHS_STATUS);
    assert_non_null(strstr(wsc_conn_detail(&c), "too many redirects"));
    assert_int_equal(wsc_conn_interest(&c), 0);
    wsc_conn_free(&c);
}

static void violation_sends_its_close_code_and_fails(void **state)
{
    (void)state;
    if (!fixture())
        skip();
    struct wsc_conn c;
    start(&c, itest_url("/violation?kind=masked&id=event"), NULL);
    struct wsc_message m;
    int rc, rounds = 0;
    while ((rc = wsc_recv(&c, &m, 0)) == WSC_EAGAIN || rc == 0) {
        assert_true(++rounds < 1000);
        itest_pump(&c, 1);
    }
    assert_int_equal(rc, WSC_EMASKED);
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_FAILED);
    assert_int_equal(wsc_conn_local_close_code(&c), 1002);
    /* Our close goes out and the peer is drained, then the transport closes. */
    for (rounds = 0; wsc_conn_interest(&c) != 0; rounds++) {
        assert_true(rounds < 100);
        itest_pump(&c, 1);
    }
    wsc_conn_free(&c);
    if (!itest_log_has("/violation?kind=masked&id=event CLOSE 1002", 5000))
        fail_msg("the fixture did not receive close 1002");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(coalesced_burst_arrives_whole_at_many_splits),
        cmocka_unit_test(many_connections_echo_from_one_loop),
        cmocka_unit_test(queue_fills_then_drains),
        cmocka_unit_test(message_larger_than_the_queue_is_refused),
        cmocka_unit_test(a_host_name_is_looked_up_in_the_loop),
        cmocka_unit_test(refused_connect_fails_in_the_loop),
        cmocka_unit_test(non_101_answer_fails_with_its_status),
        cmocka_unit_test(redirects_are_followed_in_the_loop),
        cmocka_unit_test(violation_sends_its_close_code_and_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
