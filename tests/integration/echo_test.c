/*
 * Round trips against a real echo server (python3-websockets, npm ws, or the
 * project's fixture at /echo): message sizes across every length encoding,
 * text and binary, fragmented sends, pings, streaming receive and the close
 * handshake. The server is chosen by with_server.sh; ECHO_PATH names its path.
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

static const char *echo_path(void)
{
    const char *p = getenv("ECHO_PATH");
    return p ? p : "/";
}

static void open_conn(struct wsc_conn *c, const struct wsc_options *o)
{
    struct wsc_options defaults;
    if (!o) {
        itest_options(&defaults);
        o = &defaults;
    }
    ITEST_OK(c, wsc_connect(c, itest_url("%s", echo_path()), o));
    assert_int_equal(wsc_conn_state(c), WSC_CONN_OPEN);
    assert_int_equal(wsc_conn_http_status(c), 101);
}

static void close_conn(struct wsc_conn *c)
{
    ITEST_OK(c, wsc_close(c, WSC_CLOSE_NORMAL, "done", TIMEOUT_MS));
    assert_int_equal(wsc_conn_state(c), WSC_CONN_CLOSED);
    assert_int_equal(wsc_conn_close_code(c), WSC_CLOSE_NORMAL);
    wsc_conn_free(c);
}

static void expect_echo(struct wsc_conn *c, uint8_t op, const uint8_t *data, size_t len)
{
    struct wsc_message m;
    ITEST_OK(c, wsc_recv(c, &m, TIMEOUT_MS));
    assert_int_equal(m.opcode, op);
    assert_int_equal(m.len, len);
    if (len)
        assert_memory_equal(m.data, data, len);
}

/* Sizes on both sides of every length encoding and of the 64 KiB buffers. */
static const size_t sizes[] = {0,     1,     125,   126,    127,    4095,   4096,
                               65535, 65536, 65537, 131072, 300000, 1048576};

static void binary_messages_of_every_length_class_echo_intact(void **state)
{
    (void)state;
    struct wsc_conn c;
    open_conn(&c, NULL);
    uint8_t *buf = malloc(1048576);
    assert_non_null(buf);
    itest_pattern(buf, 1048576);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        ITEST_OK(&c, wsc_send(&c, WSC_OP_BINARY, buf, sizes[i], TIMEOUT_MS));
        expect_echo(&c, WSC_OP_BINARY, buf, sizes[i]);
    }
    free(buf);
    close_conn(&c);
}

static void text_messages_echo_intact(void **state)
{
    (void)state;
    struct wsc_conn c;
    open_conn(&c, NULL);
    const char *texts[] = {"", "hello", "h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac \xf0\x9f\x98\x80",
                           "\xef\xbf\xbf\xf4\x8f\xbf\xbf"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        size_t n = strlen(texts[i]);
        ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, texts[i], n, TIMEOUT_MS));
        expect_echo(&c, WSC_OP_TEXT, (const uint8_t *)texts[i], n);
    }
    /* A long text with a multi-byte character every few bytes. */
    size_t n = 200000, len = 0;
    char *big = malloc(n + 4);
    assert_non_null(big);
    while (len < n) {
        memcpy(big + len, "abc\xc3\xa9\xe2\x82\xac", 8);
        len += 8;
    }
    ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, big, len, TIMEOUT_MS));
    expect_echo(&c, WSC_OP_TEXT, (const uint8_t *)big, len);
    free(big);
    close_conn(&c);
}

static void fragmented_send_is_reassembled_by_the_server(void **state)
{
    (void)state;
    struct wsc_conn c;
    open_conn(&c, NULL);
    ITEST_OK(&c, wsc_send_fragment(&c, WSC_OP_TEXT, "frag", 4, false, TIMEOUT_MS));
    ITEST_OK(&c, wsc_send_fragment(&c, WSC_OP_CONTINUATION, "", 0, false, TIMEOUT_MS));
    ITEST_OK(&c, wsc_send_fragment(&c, WSC_OP_CONTINUATION, "mented", 6, true, TIMEOUT_MS));
    expect_echo(&c, WSC_OP_TEXT, (const uint8_t *)"fragmented", 10);
    /* A continuation without a start is refused locally, not sent. */
    assert_int_equal(wsc_send_fragment(&c, WSC_OP_CONTINUATION, "x", 1, true, TIMEOUT_MS),
                     WSC_EINVAL);
    close_conn(&c);
}

static void ping_is_answered_with_the_same_payload(void **state)
{
    (void)state;
    struct wsc_options o;
    itest_options(&o);
    o.report_control = true;
    struct wsc_conn c;
    open_conn(&c, &o);
    ITEST_OK(&c, wsc_ping(&c, "are you there", 13, TIMEOUT_MS));
    struct wsc_message m;
    ITEST_OK(&c, wsc_recv(&c, &m, TIMEOUT_MS));
    assert_int_equal(m.opcode, WSC_OP_PONG);
    assert_int_equal(m.len, 13);
    assert_memory_equal(m.data, "are you there", 13);
    close_conn(&c);
}

static void streaming_receive_delivers_a_large_message_in_bounded_chunks(void **state)
{
    (void)state;
    struct wsc_options o;
    itest_options(&o);
    if (!getenv("WSC_TEST_RX_BUF"))
        o.rx_buf_size = 4096;
    struct wsc_conn c;
    open_conn(&c, &o);
    size_t n = 1048576 + 17;
    uint8_t *buf = malloc(n), *got = malloc(n);
    assert_non_null(buf);
    assert_non_null(got);
    itest_pattern(buf, n);
    ITEST_OK(&c, wsc_send(&c, WSC_OP_BINARY, buf, n, TIMEOUT_MS));
    size_t have = 0, chunks = 0;
    struct wsc_chunk ch;
    do {
        uint8_t part[1000];
        ITEST_OK(&c, wsc_recv_chunk(&c, part, sizeof(part), &ch, TIMEOUT_MS));
        assert_true(ch.len <= sizeof(part));
        assert_int_equal(ch.opcode, WSC_OP_BINARY);
        assert_int_equal(ch.first, have == 0);
        assert_true(have + ch.len <= n);
        memcpy(got + have, part, ch.len);
        have += ch.len;
        chunks++;
    } while (!ch.fin);
    assert_int_equal(have, n);
    assert_int_equal(ch.remaining, 0);
    assert_memory_equal(got, buf, n);
    assert_true(chunks >= n / 1000);
    free(buf);
    free(got);
    close_conn(&c);
}

static void offered_subprotocol_is_selected(void **state)
{
    (void)state;
    const char *protos[] = {"chat"};
    struct wsc_options o;
    itest_options(&o);
    o.protocols = protos;
    o.protocol_count = 1;
    struct wsc_conn c;
    open_conn(&c, &o);
    assert_non_null(wsc_conn_protocol(&c));
    assert_string_equal(wsc_conn_protocol(&c), "chat");
    close_conn(&c);
}

static void message_over_the_limit_fails_with_1009(void **state)
{
    (void)state;
    struct wsc_options o;
    itest_options(&o);
    o.max_message = 1000;
    struct wsc_conn c;
    open_conn(&c, &o);
    uint8_t buf[1001];
    itest_pattern(buf, sizeof(buf));
    ITEST_OK(&c, wsc_send(&c, WSC_OP_BINARY, buf, 1000, TIMEOUT_MS));
    expect_echo(&c, WSC_OP_BINARY, buf, 1000);
    ITEST_OK(&c, wsc_send(&c, WSC_OP_BINARY, buf, 1001, TIMEOUT_MS));
    struct wsc_message m;
    assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), WSC_EMSG_TOO_BIG);
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_FAILED);
    assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), WSC_EMSG_TOO_BIG);
    wsc_conn_free(&c);
}

static void many_small_messages_arrive_in_order(void **state)
{
    (void)state;
    struct wsc_conn c;
    open_conn(&c, NULL);
    char msg[32];
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(msg, sizeof(msg), "message %d", i);
        ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, msg, (size_t)n, TIMEOUT_MS));
    }
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(msg, sizeof(msg), "message %d", i);
        expect_echo(&c, WSC_OP_TEXT, (const uint8_t *)msg, (size_t)n);
    }
    close_conn(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binary_messages_of_every_length_class_echo_intact),
        cmocka_unit_test(text_messages_echo_intact),
        cmocka_unit_test(fragmented_send_is_reassembled_by_the_server),
        cmocka_unit_test(ping_is_answered_with_the_same_payload),
        cmocka_unit_test(streaming_receive_delivers_a_large_message_in_bounded_chunks),
        cmocka_unit_test(offered_subprotocol_is_selected),
        cmocka_unit_test(message_over_the_limit_fails_with_1009),
        cmocka_unit_test(many_small_messages_arrive_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
