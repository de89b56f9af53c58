/*
 * Hostile peers that attack time and memory rather than the protocol's syntax,
 * from the hostile fixture: a slowloris head, an endless head or header line,
 * 2^63-byte and 2^63-1-byte frame lengths, a close that is never answered, a
 * ping flood, and a reset in the middle of a frame. Each must end with its own
 * error within a bounded time, and the connection's allocations (counted
 * through the allocator hooks) must never exceed its fixed buffers: nothing a
 * server sends makes wsc allocate more. Times are asserted with generous
 * slack; they only have to rule out "waits for the server".
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <cmocka.h>

#include "itest.h"

#define SLACK_MS 2000 /* scheduling, a loaded CI machine, the fixture's Python */

/* ---- counting allocator ---------------------------------------------------- */

struct counter {
    size_t live, peak, allocs;
};

#define HDR 16 /* keeps the caller's block aligned for any type */

static void *count_malloc(void *user, size_t n)
{
    struct counter *k = user;
    unsigned char *p = malloc(n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof(n));
    k->allocs++;
    k->live += n;
    if (k->live > k->peak)
        k->peak = k->live;
    return p + HDR;
}

static void count_free(void *user, void *ptr)
{
    struct counter *k = user;
    if (!ptr)
        return;
    unsigned char *p = (unsigned char *)ptr - HDR;
    size_t n;
    memcpy(&n, p, sizeof(n));
    k->live -= n;
    free(p);
}

static void *count_realloc(void *user, void *ptr, size_t n)
{
    struct counter *k = user;
    if (!ptr)
        return count_malloc(user, n);
    unsigned char *p = (unsigned char *)ptr - HDR;
    size_t old;
    memcpy(&old, p, sizeof(old));
    unsigned char *q = realloc(p, n + HDR);
    if (!q)
        return NULL;
    memcpy(q, &n, sizeof(n));
    k->live = k->live - old + n;
    if (k->live > k->peak)
        k->peak = k->live;
    return q + HDR;
}

/* Options with the counting hooks and a connect timeout. */
static void counted_options(struct wsc_options *o, struct counter *k)
{
    itest_options(o);
    memset(k, 0, sizeof(*k));
    o->alloc.malloc = count_malloc;
    o->alloc.realloc = count_realloc;
    o->alloc.free = count_free;
    o->alloc.user = k;
}

/* What a connection allocates up front: its buffers and the header table. */
static size_t fixed_bytes(const struct wsc_options *o)
{
    /* The buffers, the response head limits, and what connecting and failing
     * add: the parsed URL and its text, the detail sentence, the error body. */
    return o->rx_buf_size + o->tx_buf_size + o->max_head +
           o->max_headers * sizeof(struct wsc_header) + sizeof(struct wsc_url) + 256 +
           WSC_ERROR_DETAIL_MAX + WSC_ERROR_BODY_MAX;
}

/* ---- helpers ------------------------------------------------------------------ */

static unsigned next_id;

static int connect_tagged(struct wsc_conn *c, const struct wsc_options *o,
                          const char *target, char *tagged, size_t cap)
{
    snprintf(tagged, cap, "%s%sid=s%u", target, strchr(target, '?') ? "&" : "?", ++next_id);
    return wsc_connect(c, itest_url("%s", tagged), o);
}

static uint64_t now_ms(void)
{
    return wsc_platform_now_ms();
}

static void expect_text(struct wsc_conn *c, const char *text)
{
    struct wsc_message m;
    ITEST_OK(c, wsc_recv(c, &m, 10000));
    assert_int_equal(m.opcode, WSC_OP_TEXT);
    assert_int_equal(m.len, strlen(text));
    assert_memory_equal(m.data, text, m.len);
}

static void expect_log(const char *target, const char *what)
{
    char line[512];
    snprintf(line, sizeof(line), "%s %s", target, what);
    if (!itest_log_has(line, 5000))
        fail_msg("fixture log lacks \"%s\"", line);
}

/* Waits up to 5 s for a fixture log line "<target> <prefix>..." and copies
 * what follows the prefix into @p rest. */
static void log_line_after(const char *target, const char *prefix, char *rest, size_t cap)
{
    char want[512];
    snprintf(want, sizeof(want), "%s %s", target, prefix);
    const char *path = getenv("WSC_TEST_LOG");
    assert_non_null(path);
    struct timespec ts = {0, 20 * 1000 * 1000};
    for (int waited = 0; waited <= 5000; waited += 20) {
        FILE *f = fopen(path, "r");
        char buf[1024];
        while (f && fgets(buf, sizeof(buf), f)) {
            buf[strcspn(buf, "\r\n")] = '\0';
            if (strncmp(buf, want, strlen(want)) == 0) {
                snprintf(rest, cap, "%s", buf + strlen(want));
                fclose(f);
                return;
            }
        }
        if (f)
            fclose(f);
        nanosleep(&ts, NULL);
    }
    fail_msg("fixture log lacks a line starting \"%s\"", want);
}

static void assert_bounded(const char *what, uint64_t elapsed, uint64_t low, uint64_t high)
{
    print_message("  %s: %" PRIu64 " ms\n", what, elapsed);
    if (elapsed < low || elapsed > high)
        fail_msg("%s took %" PRIu64 " ms, expected %" PRIu64 "..%" PRIu64, what, elapsed,
                 low, high);
}

static void assert_memory_fixed(const struct counter *k, const struct wsc_options *o,
                                size_t extra)
{
    if (k->peak > fixed_bytes(o) + extra)
        fail_msg("peak %zu bytes allocated, the fixed buffers are %zu (+%zu allowed)",
                 k->peak, fixed_bytes(o), extra);
    assert_int_equal(k->live, 0); /* after wsc_conn_free */
}

/* ---- handshake attacks ------------------------------------------------------- */

static void slowloris_head_is_cut_off_by_the_connect_timeout(void **state)
{
    (void)state;
    struct counter k;
    struct wsc_options o;
    counted_options(&o, &k);
    o.connect_timeout_ms = 1500;
    struct wsc_conn c;
    char tagged[128];
    uint64_t t0 = now_ms();
    assert_int_equal(
        connect_tagged(&c, &o, "/slowloris?gap_ms=1000", tagged, sizeof(tagged)),
        WSC_ETIMEDOUT);
    assert_bounded("slowloris", now_ms() - t0, 1400, 1500 + SLACK_MS);
    assert_non_null(strstr(wsc_conn_detail(&c), "timed out waiting for the handshake"));
    assert_true(c.hs.head_len >= 1 && c.hs.head_len <= 4); /* a byte a second */
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_FAILED);
    wsc_conn_free(&c);
    assert_memory_fixed(&k, &o, 0);
}

static void endless_head_fails_after_exactly_max_head_bytes(void **state)
{
    (void)state;
    static const char *const kinds[] = {"lines", "line", "status"};
    static const size_t limits[] = {64, 1000, 8192, 65536};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        for (size_t j = 0; j < sizeof(limits) / sizeof(limits[0]); j++) {
            struct counter k;
            struct wsc_options o;
            counted_options(&o, &k);
            o.max_head = limits[j];
            struct wsc_conn c;
            char tagged[128], target[64], want[64];
            snprintf(target, sizeof(target), "/endless-head?kind=%s", kinds[i]);
            uint64_t t0 = now_ms();
            int rc = connect_tagged(&c, &o, target, tagged, sizeof(tagged));
            uint64_t elapsed = now_ms() - t0;
            if (rc != WSC_EHS_TOO_LARGE || c.hs.head_len != limits[j])
                fail_msg("%s with max_head %zu: got %d (%s) after %zu head bytes", target,
                         limits[j], rc, wsc_conn_detail(&c), c.hs.head_len);
            snprintf(want, sizeof(want), "exceeds the %zu-byte limit", limits[j]);
            assert_non_null(strstr(wsc_conn_detail(&c), want));
            assert_bounded(tagged, elapsed, 0, SLACK_MS);
            wsc_conn_free(&c);
            assert_memory_fixed(&k, &o, 0);
        }
    }
}

/* ---- frame lengths ------------------------------------------------------------ */

static void frame_length_of_2_pow_63_fails_with_1002(void **state)
{
    (void)state;
    struct counter k;
    struct wsc_options o;
    counted_options(&o, &k);
    struct wsc_conn c;
    char tagged[128];
    /* 82 7f 80 00 00 00 00 00 00 00: RFC 6455 5.2, the top bit must be 0. */
    ITEST_OK(&c, connect_tagged(&c, &o, "/violation?kind=too-big&size=9223372036854775808",
                                tagged, sizeof(tagged)));
    expect_text(&c, "before");
    uint64_t t0 = now_ms();
    struct wsc_message m;
    assert_int_equal(wsc_recv(&c, &m, 10000), WSC_EFRAME_LEN);
    assert_bounded("2^63 length", now_ms() - t0, 0, SLACK_MS);
    assert_int_equal(wsc_conn_local_close_code(&c), 1002);
    /* The first length byte, right after "81 06 before" and "82 7f". */
    assert_non_null(strstr(wsc_conn_detail(&c), "at stream offset 10 "));
    expect_log(tagged, "CLOSE 1002");
    wsc_conn_free(&c);
    assert_memory_fixed(&k, &o, 0);
}

static void frame_length_of_2_pow_63_minus_1_fails_with_1009_at_the_header(void **state)
{
    (void)state;
    struct counter k;
    struct wsc_options o;
    counted_options(&o, &k);
    struct wsc_conn c;
    char tagged[128];
    ITEST_OK(&c, connect_tagged(&c, &o, "/violation?kind=too-big&size=9223372036854775807",
                                tagged, sizeof(tagged)));
    expect_text(&c, "before");
    uint64_t t0 = now_ms();
    struct wsc_message m;
    assert_int_equal(wsc_recv(&c, &m, 10000), WSC_EMSG_TOO_BIG);
    assert_bounded("2^63-1 length", now_ms() - t0, 0, SLACK_MS);
    assert_int_equal(wsc_conn_local_close_code(&c), 1009);
    /* Failed at the header's last byte: no payload byte was taken. */
    assert_non_null(strstr(wsc_conn_detail(&c), "at stream offset 17 "));
    struct wsc_stats st;
    wsc_conn_stats(&c, &st);
    assert_int_equal(st.payload_in, 6); /* "before" */
    expect_log(tagged, "CLOSE 1009");
    wsc_conn_free(&c);
    assert_memory_fixed(&k, &o, 0);
}

/* ---- closing -------------------------------------------------------------------- */

/* After our close 1009 the server keeps streaming its 2^63-1-byte frame: the
 * wait for its FIN lasts at most a second (CLOSE_LINGER_MS). */
static void server_streaming_past_our_close_cannot_hold_the_failure(void **state)
{
    (void)state;
    struct counter k;
    struct wsc_options o;
    counted_options(&o, &k);
    struct wsc_conn c;
    char tagged[128];
    ITEST_OK(&c,
             connect_tagged(
                 &c, &o, "/violation?kind=too-big&size=9223372036854775807&ignore_close=1",
                 tagged, sizeof(tagged)));
    expect_text(&c, "before");
    uint64_t t0 = now_ms();
    struct wsc_message m;
    assert_int_equal(wsc_recv(&c, &m, 10000), WSC_EMSG_TOO_BIG);
    assert_bounded("close linger against a streaming server", now_ms() - t0, 0,
                   1000 + SLACK_MS);
    expect_log(tagged, "CLOSE 1009");
    wsc_conn_free(&c);
    assert_memory_fixed(&k, &o, 0);
}

static void close_wait_ends_at_its_timeout_when_the_reply_never_comes(void **state)
{
    (void)state;
    struct counter k;
    struct wsc_options o;
    counted_options(&o, &k);
    struct wsc_conn c;
    char tagged[128];
    ITEST_OK(&c, connect_tagged(&c, &o, "/no-close-reply", tagged, sizeof(tagged)));
    expect_text(&c, "before");
    uint64_t t0 = now_ms();
    assert_int_equal(wsc_close(&c, WSC_CLOSE_NORMAL, "bye", 800), WSC_ETIMEDOUT);
    assert_bounded("close wait", now_ms() - t0, 750, 800 + SLACK_MS);
    assert_non_null(
        strstr(wsc_conn_detail(&c), "timed out waiting for the server's close"));
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_FAILED);
    assert_int_equal(wsc_conn_fd(&c), -1); /* the transport is closed */
    expect_log(tagged, "CLOSE 1000");
    wsc_conn_free(&c);
    assert_memory_fixed(&k, &o, 0);
}

/* ---- ping floods ---------------------------------------------------------------- */

/*
 * The pong policy: the session holds one pong. A ping whose pong cannot be
 * written yet (the output buffer is full because the server does not read)
 * replaces the pending one, so only the latest of several pending pings is
 * answered (RFC 6455 5.5.3 allows it) and memory does not grow. Here 10,000
 * pings of 125 bytes (1.3 MB of pongs) meet a 256-byte output buffer, 4 KiB
 * socket buffers on both sides, and a server that reads nothing for a second.
 */
static void ping_flood_is_answered_latest_first_in_fixed_memory(void **state)
{
    (void)state;
    struct counter k;
    struct wsc_options o;
    counted_options(&o, &k);
    o.tx_buf_size = WSC_SESSION_OUT_MIN;
    struct wsc_conn c;
    char tagged[128];
    ITEST_OK(&c, connect_tagged(
                     &c, &o, "/ping-flood?n=10000&size=125&read_delay_ms=1000&rcvbuf=4096",
                     tagged, sizeof(tagged)));
    int sndbuf = 4096;
    assert_int_equal(
        setsockopt(wsc_conn_fd(&c), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
    uint64_t t0 = now_ms();
    expect_text(&c, "done");
    assert_bounded("10000 pings", now_ms() - t0, 0, 10000);
    struct wsc_stats st;
    wsc_conn_stats(&c, &st);
    assert_int_equal(st.pings_in, 10000);
    ITEST_OK(&c, wsc_flush(&c, 10000)); /* the pending pong, for p10000 */
    ITEST_OK(&c, wsc_close(&c, WSC_CLOSE_NORMAL, NULL, 10000));
    char rest[128];
    log_line_after(tagged, "PONGS-SEEN ", rest, sizeof(rest));
    unsigned seen = 0;
    char order[8] = "", last[32] = "";
    assert_int_equal(sscanf(rest, "%u SUBSEQUENCE %7s LAST %31s", &seen, order, last), 3);
    print_message("  pongs for 10000 pings: %u, the last for %s\n", seen, last);
    assert_string_equal(order, "ok");
    assert_string_equal(last, "p10000");
    assert_true(seen >= 1 && seen < 10000); /* some were replaced: the policy at work */
    wsc_conn_free(&c);
    assert_memory_fixed(&k, &o, 0);
}

static void endless_ping_flood_ends_at_the_receive_timeout(void **state)
{
    (void)state;
    struct counter k;
    struct wsc_options o;
    counted_options(&o, &k);
    struct wsc_conn c;
    char tagged[128];
    ITEST_OK(&c, connect_tagged(&c, &o, "/ping-flood?forever=1&size=125", tagged,
                                sizeof(tagged)));
    uint64_t t0 = now_ms();
    struct wsc_message m;
    /* Reading goes on past the deadline while bytes keep coming, for at most
     * a second (READ_GRACE_MS in blocking.c); before that bound the call never
     * returned while the server kept sending. */
    assert_int_equal(wsc_recv(&c, &m, 1500), WSC_ETIMEDOUT);
    assert_bounded("endless flood", now_ms() - t0, 1400, 1500 + 1000 + SLACK_MS);
    struct wsc_stats st;
    wsc_conn_stats(&c, &st);
    print_message("  pings answered or replaced: %" PRIu64 "\n", st.pings_in);
    assert_true(st.pings_in > 0);
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_OPEN); /* a timeout is not fatal */
    /* The server reads nothing, so not even our close frame gets out. */
    t0 = now_ms();
    assert_int_equal(wsc_close(&c, WSC_CLOSE_NORMAL, NULL, 1000), WSC_ETIMEDOUT);
    assert_bounded("close to a flooding server", now_ms() - t0, 0, 1000 + SLACK_MS);
    wsc_conn_free(&c);
    assert_memory_fixed(&k, &o, 0);
}

/* ---- resets --------------------------------------------------------------------- */

static void reset_mid_frame_delivers_what_came_before(void **state)
{
    (void)state;
    /* have= bytes of a 1000-byte binary frame: in the payload, in the 16-bit
     * length, right after the first header byte; delay_ms=0 resets at once. */
    static const char *const targets[] = {
        "/reset-mid-frame",
        "/reset-mid-frame?have=3",
        "/reset-mid-frame?have=1",
        "/reset-mid-frame?have=500&delay_ms=0",
    };
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        struct counter k;
        struct wsc_options o;
        counted_options(&o, &k);
        struct wsc_conn c;
        char tagged[128];
        ITEST_OK(&c, connect_tagged(&c, &o, targets[i], tagged, sizeof(tagged)));
        expect_text(&c, "before");
        uint64_t t0 = now_ms();
        struct wsc_message m;
        int rc = wsc_recv(&c, &m, 10000);
        if (rc != WSC_ECONNRESET && rc != WSC_EEOF)
            fail_msg("%s: got %d (%s)", tagged, rc, wsc_conn_detail(&c));
        assert_bounded(tagged, now_ms() - t0, 0, SLACK_MS);
        assert_int_equal(wsc_conn_state(&c), WSC_CONN_FAILED);
        assert_int_equal(wsc_recv(&c, &m, 0), rc); /* sticky */
        wsc_conn_free(&c);
        /* The partial message is reassembled in a buffer of its own (4 KiB to start). */
        assert_memory_fixed(&k, &o, 4096);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slowloris_head_is_cut_off_by_the_connect_timeout),
        cmocka_unit_test(endless_head_fails_after_exactly_max_head_bytes),
        cmocka_unit_test(frame_length_of_2_pow_63_fails_with_1002),
        cmocka_unit_test(frame_length_of_2_pow_63_minus_1_fails_with_1009_at_the_header),
        cmocka_unit_test(server_streaming_past_our_close_cannot_hold_the_failure),
        cmocka_unit_test(close_wait_ends_at_its_timeout_when_the_reply_never_comes),
        cmocka_unit_test(ping_flood_is_answered_latest_first_in_fixed_memory),
        cmocka_unit_test(endless_ping_flood_ends_at_the_receive_timeout),
        cmocka_unit_test(reset_mid_frame_delivers_what_came_before),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
