/*
 * wsc_connect_transport() with options.preread: bytes read from the transport
 * before the connection took it over (what wsc_proxy_connect() leaves behind
 * a proxy's 200) are the connection's first input.
 *
 * The server's stream (101, text "hello", ping, text "last", close 1000) is
 * cut at every offset k: stream[0..k) is the preread, the transport delivers
 * stream[k..) and then ends. Every k must give the same messages and the same
 * close, with the preread in a separate buffer and in the input buffer itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/wsc_internal.h"
#include "wsc/wsc.h"

#define URL "ws://example.test/chat"

/* 16 bytes of 0x42: a nonce the test can predict. */
static int fixed_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    memset(buf, 0x42, len);
    return 0;
}

/* The server's whole stream, with the accept value for the fixed nonce. */
static size_t server_stream(uint8_t *out, size_t cap)
{
    uint8_t nonce[WSC_HANDSHAKE_NONCE_LEN];
    char key[WSC_HANDSHAKE_KEY_LEN], accept[WSC_HANDSHAKE_ACCEPT_LEN];
    fixed_random(NULL, nonce, sizeof(nonce));
    wsc__base64_encode(nonce, sizeof(nonce), key);
    wsc_handshake_accept_for(key, accept);
    int n = snprintf((char *)out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %.28s\r\n\r\n",
                     accept);
    static const uint8_t frames[] = {
        0x81, 0x05, 'h',  'e',  'l', 'l', 'o', /* text "hello" */
        0x89, 0x01, 'p',                       /* ping "p" */
        0x81, 0x04, 'l',  'a',  's', 't',      /* text "last" */
        0x88, 0x02, 0x03, 0xe8,                /* close 1000 */
    };
    assert_true((size_t)n + sizeof(frames) <= cap);
    memcpy(out + n, frames, sizeof(frames));
    return (size_t)n + sizeof(frames);
}

/* Delivers data[0..len) and then end of stream; swallows what is sent. */
struct feed {
    const uint8_t *data;
    size_t len, pos;
    bool closed;
};

static int f_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent)
{
    (void)ctx;
    (void)buf;
    *sent = len;
    return 0;
}

static int f_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    struct feed *f = ctx;
    size_t n = f->len - f->pos < cap ? f->len - f->pos : cap;
    if (n) /* data may be NULL when there is nothing to deliver */
        memcpy(buf, f->data + f->pos, n);
    f->pos += n;
    *got = n; /* 0 at the end: EOF */
    return 0;
}

static int f_wait(void *ctx, int events, int timeout_ms)
{
    (void)ctx;
    (void)timeout_ms;
    return events;
}

static size_t f_pending(void *ctx)
{
    (void)ctx;
    return 0;
}

static int f_shutdown(void *ctx)
{
    (void)ctx;
    return 0;
}

static void f_close(void *ctx)
{
    ((struct feed *)ctx)->closed = true;
}

static int f_fd(void *ctx)
{
    (void)ctx;
    return -1;
}

static const struct wsc_transport_ops feed_ops = {
    "feed", f_send, f_recv, f_wait, f_pending, f_shutdown, f_close, f_fd, NULL,
};

static void expect_text(struct wsc_conn *c, const char *text)
{
    struct wsc_message m;
    int rc = wsc_recv(c, &m, 1000);
    if (rc)
        print_error("wsc_recv: %d %s\n", rc, wsc_conn_detail(c));
    assert_int_equal(rc, 0);
    assert_int_equal(m.opcode, WSC_OP_TEXT);
    assert_int_equal(m.len, strlen(text));
    assert_memory_equal(m.data, text, m.len);
}

static void every_split_between_preread_and_transport_loses_nothing(void **state)
{
    (void)state;
    uint8_t stream[512];
    size_t len = server_stream(stream, sizeof(stream));
    for (int in_place = 0; in_place < 2; in_place++) {
        for (size_t k = 0; k <= len; k++) {
            uint8_t rx[1024];
            /* An exact-size copy, so reading past the preread trips ASan. */
            uint8_t *pre = malloc(k ? k : 1);
            assert_non_null(pre);
            memcpy(pre, stream, k);
            struct wsc_options o;
            wsc_options_init(&o);
            o.random = fixed_random;
            if (in_place) {
                memcpy(rx, stream, k);
                o.rx_buf = rx;
                o.rx_buf_size = sizeof(rx);
                o.preread = rx;
            } else {
                o.preread = pre;
            }
            o.preread_len = k;
            struct feed f = {stream + k, len - k, 0, false};
            struct wsc_transport tr = {&feed_ops, &f};
            struct wsc_conn c;
            int rc = wsc_connect_transport(&c, &tr, URL, &o);
            if (rc)
                print_error("split %zu: %d %s\n", k, rc, wsc_conn_detail(&c));
            assert_int_equal(rc, 0);
            expect_text(&c, "hello");
            expect_text(&c, "last");
            struct wsc_message m;
            assert_int_equal(wsc_recv(&c, &m, 1000), WSC_ECLOSED);
            assert_int_equal(wsc_conn_close_code(&c), 1000);
            assert_int_equal(f.pos, f.len);
            wsc_conn_free(&c);
            assert_true(f.closed);
            free(pre);
        }
    }
}

static void preread_that_does_not_fit_or_has_no_bytes_fails(void **state)
{
    (void)state;
    uint8_t pre[300] = {0};
    struct feed f = {NULL, 0, 0, false};
    struct wsc_transport tr = {&feed_ops, &f};
    struct wsc_options o;
    wsc_options_init(&o);
    o.rx_buf_size = 256;
    o.preread = pre;
    o.preread_len = 257;
    struct wsc_conn c;
    assert_int_equal(wsc_connect_transport(&c, &tr, URL, &o), WSC_ENOBUFS);
    assert_non_null(strstr(wsc_conn_detail(&c), "257 bytes"));
    assert_true(f.closed); /* the connection owned the transport */
    wsc_conn_free(&c);

    /* Exactly the buffer size fits (and is then parsed as a bad head). */
    f.closed = false;
    o.preread_len = 256;
    assert_int_not_equal(wsc_connect_transport(&c, &tr, URL, &o), WSC_ENOBUFS);
    wsc_conn_free(&c);

    f.closed = false;
    o.preread = NULL;
    o.preread_len = 5;
    assert_int_equal(wsc_connect_transport(&c, &tr, URL, &o), WSC_EINVAL);
    assert_true(f.closed);
    wsc_conn_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_split_between_preread_and_transport_loses_nothing),
        cmocka_unit_test(preread_that_does_not_fit_or_has_no_bytes_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
