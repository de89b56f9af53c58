/*
 * The reason wsc exists: the server writes its 101 response and the first frames
 * (text, ping, a fragmented message with a ping between fragments, a large binary
 * message, text) in one TCP write, or split into two writes at every byte offset,
 * or dribbled one byte per write. Every message must arrive exactly once and in
 * order, and every ping must be answered with its payload (the fixture reports
 * the pongs it got in reply to "stats"). The same with permessage-deflate
 * (deflate=1): the 101 agrees on it and the data messages after it are
 * compressed, one of them cut into two frames around a ping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "itest.h"
#include "wsc/wsc_deflate.h"

#define TIMEOUT_MS 10000

static size_t frame_len(size_t payload)
{
    return payload + (payload < 126 ? 2 : payload <= 0xffff ? 4 : 10);
}

/* Bytes of the fixture's burst after the head, for a big message of @p big bytes. */
static size_t frames_len(size_t big)
{
    return frame_len(5) + frame_len(6) + frame_len(4) + frame_len(6) + frame_len(6) +
           frame_len(big) + frame_len(4);
}

static void expect_data(struct wsc_conn *c, uint8_t op, const void *data, size_t len)
{
    struct wsc_message m;
    ITEST_OK(c, wsc_recv(c, &m, TIMEOUT_MS));
    assert_int_equal(m.opcode, op);
    assert_int_equal(m.len, len);
    assert_memory_equal(m.data, data, len);
}

/*
 * Runs one connection to /coalesced with @p query and checks every event.
 * Returns the response head length so callers can compute the stream length;
 * with @p burst, also the length of the head and the burst behind it.
 */
static size_t run_coalesced_ex(const char *query, size_t big, bool close_in_burst,
                               bool compress, size_t *burst)
{
    struct wsc_options o;
    itest_options(&o);
    o.report_control = true;
    o.compress = compress;
    struct wsc_conn c;
    ITEST_OK(&c, wsc_connect(&c, itest_url("/coalesced?big=%zu&%s", big, query), &o));
    size_t head_len = c.hs.head_len;
    assert_int_equal(wsc_conn_deflate(&c) != NULL, compress);

    uint8_t *pattern = malloc(big ? big : 1);
    assert_non_null(pattern);
    itest_pattern(pattern, big);
    expect_data(&c, WSC_OP_TEXT, "hello", 5);
    expect_data(&c, WSC_OP_PING, "ping-1", 6);
    expect_data(&c, WSC_OP_PING, "ping-2", 6);
    expect_data(&c, WSC_OP_TEXT, "fragmented", 10);
    expect_data(&c, WSC_OP_BINARY, pattern, big);
    expect_data(&c, WSC_OP_TEXT, "last", 4);
    free(pattern);
    if (burst) {
        /* Nothing else comes until we ask: everything read so far is the burst. */
        struct wsc_stats st;
        wsc_conn_stats(&c, &st);
        *burst = (size_t)st.bytes_in;
        if (compress)
            assert_true(st.compressed_in > 0);
    }

    struct wsc_message m;
    if (close_in_burst) {
        assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), WSC_ECLOSED);
        assert_int_equal(wsc_conn_close_code(&c), 1000);
        size_t rlen;
        const char *reason = wsc_conn_close_reason(&c, &rlen);
        assert_int_equal(rlen, 3);
        assert_memory_equal(reason, "bye", 3);
        assert_int_equal(wsc_conn_state(&c), WSC_CONN_CLOSED);
    } else {
        ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, "stats", 5, TIMEOUT_MS));
        expect_data(&c, WSC_OP_TEXT, "pongs=ping-1,ping-2", 19);
        ITEST_OK(&c, wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS));
    }
    wsc_conn_free(&c);
    return head_len;
}

static size_t run_coalesced(const char *query, size_t big, bool close_in_burst)
{
    return run_coalesced_ex(query, big, close_in_burst, false, NULL);
}

/* The compressed burst: whole, with the close, at every split, dribbled, and
 * streamed in 3-byte chunks. */
static void compressed_burst_is_delivered_at_every_split(void **state)
{
    (void)state;
    if (!wsc_deflate_available())
        skip(); /* built without zlib */
    size_t total;
    run_coalesced_ex("deflate=1", 300000, false, true, &total);
    run_coalesced_ex("deflate=1&close=1", 300000, true, true, NULL);
    run_coalesced_ex("deflate=1&close=1&dribble=1", 300, true, true, NULL);
    const size_t big = 1000;
    run_coalesced_ex("deflate=1", big, false, true, &total);
    char q[64];
    for (size_t k = 1; k < total; k++) {
        snprintf(q, sizeof(q), "deflate=1&split=%zu&pause_ms=2", k);
        run_coalesced_ex(q, big, false, true, NULL);
    }
    print_message("compressed split sweep: %zu offsets over a %zu-byte stream\n", total - 1,
                  total);

    struct wsc_options o;
    itest_options(&o);
    o.compress = true;
    struct wsc_conn c;
    ITEST_OK(&c, wsc_connect(&c, itest_url("/coalesced?deflate=1&big=10"), &o));
    assert_true(wsc_conn_has_buffered_input(&c));
    const char *want[] = {"hello", "fragmented"};
    for (int i = 0; i < 2; i++) {
        char buf[64];
        size_t have = 0;
        struct wsc_chunk ch;
        do {
            ITEST_OK(&c, wsc_recv_chunk(&c, buf + have, 3, &ch, TIMEOUT_MS));
            assert_int_equal(ch.opcode, WSC_OP_TEXT);
            assert_int_equal(ch.first, have == 0);
            assert_true(ch.len > 0 && ch.len <= 3);
            have += ch.len;
        } while (!ch.fin);
        assert_int_equal(have, strlen(want[i]));
        assert_memory_equal(buf, want[i], have);
    }
    wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS);
    wsc_conn_free(&c);
}

static void one_write_delivers_everything_and_reports_it_readable(void **state)
{
    (void)state;
    struct wsc_options o;
    itest_options(&o);
    struct wsc_conn c;
    ITEST_OK(&c, wsc_connect(&c, itest_url("/coalesced"), &o));
    /* The frames came with the 101: they are buffered, so a poll()-based loop
     * must learn from wsc_conn_has_buffered_input() that it need not wait. */
    assert_true(wsc_conn_has_buffered_input(&c));
    struct wsc_message m;
    ITEST_OK(&c, wsc_recv(&c, &m, 0));
    assert_int_equal(m.len, 5);
    assert_memory_equal(m.data, "hello", 5);
    wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS);
    wsc_conn_free(&c);

    run_coalesced("", 300000, false);
}

static void close_in_the_same_write_comes_after_every_message(void **state)
{
    (void)state;
    run_coalesced("close=1", 300000, true);
    run_coalesced("close=1&dribble=1", 300, true);
}

static void run_split(size_t k, size_t big)
{
    char q[64];
    snprintf(q, sizeof(q), "split=%zu&pause_ms=2", k);
    run_coalesced(q, big, false);
}

static void two_writes_split_at_every_byte_offset(void **state)
{
    (void)state;
    const size_t big = 1000;
    size_t head = run_coalesced("", big, false);
    size_t total = head + frames_len(big);
    /* WSC_TEST_SWEEP_STEP=N tries every Nth offset and the last one, for slow
     * runs such as valgrind's; the default is every offset. */
    const char *env = getenv("WSC_TEST_SWEEP_STEP");
    size_t step = env && strtoul(env, NULL, 10) > 0 ? (size_t)strtoul(env, NULL, 10) : 1;
    size_t tried = 0, last = 0;
    for (size_t k = 1; k < total; k += step, tried++)
        run_split(last = k, big);
    if (last != total - 1 && total > 1) {
        run_split(total - 1, big);
        tried++;
    }
    print_message("split sweep: %zu of %zu offsets over a %zu-byte stream\n", tried,
                  total - 1, total);
}

static void large_message_split_near_every_boundary(void **state)
{
    (void)state;
    const size_t big = 300000;
    size_t head = run_coalesced("", big, false);
    size_t big_start = head + frames_len(0) - frame_len(0) - frame_len(4);
    size_t cuts[] = {head - 1, head, head + 1, big_start, big_start + 5, big_start + 10,
                     big_start + 11, big_start + 65536, big_start + 10 + big - 1,
                     head + frames_len(big) - 1};
    char q[64];
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        snprintf(q, sizeof(q), "split=%zu&pause_ms=5", cuts[i]);
        run_coalesced(q, big, false);
    }
}

static void one_byte_per_write_delivers_everything(void **state)
{
    (void)state;
    run_coalesced("dribble=1", 3000, false);
}

static void streaming_receive_sees_the_same_stream(void **state)
{
    (void)state;
    struct wsc_options o;
    itest_options(&o);
    struct wsc_conn c;
    ITEST_OK(&c, wsc_connect(&c, itest_url("/coalesced"), &o));
    const char *want[] = {"hello", "fragmented"};
    for (int i = 0; i < 2; i++) {
        char buf[64];
        size_t have = 0;
        struct wsc_chunk ch;
        do {
            ITEST_OK(&c, wsc_recv_chunk(&c, buf + have, 3, &ch, TIMEOUT_MS));
            assert_int_equal(ch.opcode, WSC_OP_TEXT);
            assert_int_equal(ch.first, have == 0);
            have += ch.len;
        } while (!ch.fin);
        assert_int_equal(have, strlen(want[i]));
        assert_memory_equal(buf, want[i], have);
    }
    wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS);
    wsc_conn_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_write_delivers_everything_and_reports_it_readable),
        cmocka_unit_test(close_in_the_same_write_comes_after_every_message),
        cmocka_unit_test(two_writes_split_at_every_byte_offset),
        cmocka_unit_test(large_message_split_near_every_boundary),
        cmocka_unit_test(one_byte_per_write_delivers_everything),
        cmocka_unit_test(streaming_receive_sees_the_same_stream),
        cmocka_unit_test(compressed_burst_is_delivered_at_every_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
