/*
 * The reason wsc exists: the server writes its 101 response and the first frames
 * (text, ping, a fragmented message with a ping between fragments, a large binary
 * message, text) in one TCP write, or split into two writes at every byte offset,
 * or dribbled one byte per write. Every message must arrive exactly once and in
 * order, and every ping must be answered with its payload (the fixture reports
 * the pongs it got in reply to "stats").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "itest.h"

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
 * Returns the response head length so callers can compute the stream length.
 */
static size_t run_coalesced(const char *query, size_t big, bool close_in_burst)
{
    struct wsc_options o;
    itest_options(&o);
    o.report_control = true;
    struct wsc_conn c;
    ITEST_OK(&c, wsc_connect(&c, itest_url("/coalesced?big=%zu&%s", big, query), &o));
    size_t head_len = c.hs.head_len;

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

static void two_writes_split_at_every_byte_offset(void **state)
{
    (void)state;
    const size_t big = 1000;
    size_t head = run_coalesced("", big, false);
    size_t total = head + frames_len(big);
    char q[64];
    for (size_t k = 1; k < total; k++) {
        snprintf(q, sizeof(q), "split=%zu&pause_ms=2", k);
        run_coalesced(q, big, false);
    }
    print_message("split sweep: %zu offsets over a %zu-byte stream\n", total - 1, total);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
