/*
 * wsc through its Zephyr-compatible API (compat/zephyr, docs/zephyr.md), used
 * as a Zephyr application would: a TCP socket of its own, websocket_connect()
 * with a 64 KiB tmp_buf as the connection's input buffer (the size of wsc's
 * default input buffer) and TCP_NODELAY set on the socket (as wsc's own
 * transport does), websocket_send_msg() for one message per call, and
 * websocket_recv_msg() into a buffer of the message's size, following
 * message_type and remaining until a frame has FINAL and nothing remaining.
 * Unlike wsc_recv(), every received byte is copied into that buffer, and
 * sends are masked through the layer's CONFIG_WEBSOCKET_TX_BUF_SIZE output
 * buffer (1 KiB unless configured otherwise), as the API prescribes.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/net/socket.h>
#include <zephyr/net/websocket.h>

#include "common.h"

#define DRIVER "zephyr"
#define TIMEOUT_MS 30000
#define TMP_BUF_SIZE 65536
#define DATA_FLAGS (WEBSOCKET_FLAG_TEXT | WEBSOCKET_FLAG_BINARY)
#define CONTROL_FLAGS (WEBSOCKET_FLAG_CLOSE | WEBSOCKET_FLAG_PING | WEBSOCKET_FLAG_PONG)

static uint8_t tmp_buf[TMP_BUF_SIZE]; /* the connection's input buffer */

/*
 * Reads one message into buf[0..cap): frames until one has FINAL and nothing
 * remaining. Pings (wsc has answered them) and pongs are skipped. Returns the
 * message length and its first frame's TEXT or BINARY bit in *kind, or the
 * server's close (kind CLOSE, its payload in buf). Fails the run on an error,
 * or when the message does not fit: callers pass one byte more than they
 * expect, so a message that fills buf is too long.
 */
static size_t recv_message(int ws, uint8_t *buf, size_t cap, uint32_t *kind)
{
    size_t got = 0;
    bool first = true;
    for (;;) {
        uint32_t type = 0;
        uint64_t remaining = 0;
        int n = websocket_recv_msg(ws, buf + got, cap - got, &type, &remaining, TIMEOUT_MS);
        if (n < 0)
            bench_fail(DRIVER, "websocket_recv_msg: %s (%s)", strerror(-n),
                       n == -EPROTO ? "the server broke RFC 6455" : "no message");
        /* Control frames come whole and between data frames (wsc enforces
         * the RFC 6455 5.4 ordering, so this loop need not). */
        if (type & CONTROL_FLAGS) {
            if (!(type & WEBSOCKET_FLAG_CLOSE))
                continue;
            if (!first)
                bench_fail(DRIVER, "close inside a message, after %zu bytes", got);
            *kind = WEBSOCKET_FLAG_CLOSE;
            return (size_t)n;
        }
        if (first) {
            *kind = type & DATA_FLAGS;
            first = false;
        }
        got += (size_t)n;
        if ((type & WEBSOCKET_FLAG_FINAL) && remaining == 0)
            return got;
        if (got == cap)
            bench_fail(DRIVER, "message longer than %zu bytes", cap - 1);
    }
}

static void check_sent(int rc, size_t len, const char *what)
{
    if (rc != (int)len)
        bench_fail(DRIVER, "websocket_send_msg (%s): %s", what,
                   rc < 0 ? strerror(-rc) : "short count");
}

int main(int argc, char **argv)
{
    struct bench_args a;
    bench_parse_args(argc, argv, &a, DRIVER);
    const struct bench_workload *w = &a.w;
    size_t msgs;
    uint8_t *payloads = bench_payloads(w->size, w->kind == BENCH_RECV_TEXT, &msgs);
    bench_corrupt(payloads, msgs, w, false);
    struct bench_verifier v;
    bench_verifier_init(&v, payloads, msgs, w->size);
    struct bench_meter m;
    bench_meter_init(&m, DRIVER, &a);
    /* One byte more than a message, so a longer one shows; room for the sink's answer. */
    size_t cap = (w->size > 256 ? w->size : 256) + 1;
    uint8_t *buf = malloc(cap);
    if (!buf)
        bench_fail(DRIVER, "out of memory");

    char path[256], host[32];
    if (bench_path(w, path, sizeof(path)))
        bench_fail(DRIVER, "bad workload");
    snprintf(host, sizeof(host), "127.0.0.1:%d", a.port);
    int sock = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)a.port);
    zsock_inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (sock < 0 || zsock_connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        bench_fail(DRIVER, "connect: %s", strerror(errno));
    /* wsc's own TCP transport turns Nagle off; the application owns this
     * socket, so it does the same, and only the API layer differs. */
    int one = 1;
    zsock_setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct websocket_request req;
    memset(&req, 0, sizeof(req));
    req.host = host;
    req.url = path;
    req.tmp_buf = tmp_buf;
    req.tmp_buf_len = sizeof(tmp_buf);
    int ws = websocket_connect(sock, &req, TIMEOUT_MS, NULL);
    if (ws < 0)
        bench_fail(DRIVER, "websocket_connect: %s (%s)", strerror(-ws),
                   wsc_websocket_last_error());

    uint32_t kind;
    switch (w->kind) {
    case BENCH_RECV:
    case BENCH_RECV_TEXT: {
        /* wsc validates text itself (RFC 6455 8.1) and fails the connection
         * with 1007 on invalid UTF-8 (-EPROTO), so the driver checks bytes. */
        uint32_t want =
            w->kind == BENCH_RECV_TEXT ? WEBSOCKET_FLAG_TEXT : WEBSOCKET_FLAG_BINARY;
        bench_meter_start(&m);
        for (uint64_t i = 0; i < w->count; i++) {
            size_t len = recv_message(ws, buf, cap, &kind);
            if (kind != want || !bench_verify_msg(&v, buf, len))
                bench_fail(DRIVER, "message %llu: type 0x%x, %zu bytes, wrong content",
                           (unsigned long long)i, (unsigned)kind, len);
        }
        bench_meter_stop(&m);
        size_t len = recv_message(ws, buf, cap, &kind);
        if (kind != WEBSOCKET_FLAG_CLOSE || len < 2 || buf[0] != 0x03 || buf[1] != 0xe8)
            bench_fail(DRIVER, "expected the server's close 1000 after the last message");
        break;
    }
    case BENCH_SEND: {
        bench_meter_start(&m);
        for (uint64_t i = 0; i < w->count; i++)
            check_sent(websocket_send_msg(ws, payloads + (size_t)(i % msgs) * w->size,
                                          w->size, WEBSOCKET_OPCODE_DATA_BINARY, true, true,
                                          TIMEOUT_MS),
                       w->size, "message");
        size_t len = recv_message(ws, buf, cap, &kind);
        bench_meter_stop(&m);
        if (kind != WEBSOCKET_FLAG_BINARY || len != 2 || memcmp(buf, "OK", 2) != 0)
            bench_fail(DRIVER, "sink: %.*s", (int)len, (const char *)buf);
        break;
    }
    case BENCH_ECHO:
        bench_meter_start(&m);
        for (uint64_t i = 0; i < w->count; i++) {
            const uint8_t *p = payloads + (size_t)(i % msgs) * w->size;
            double t = bench_now();
            check_sent(websocket_send_msg(ws, p, w->size, WEBSOCKET_OPCODE_DATA_BINARY,
                                          true, true, TIMEOUT_MS),
                       w->size, "echo");
            size_t len = recv_message(ws, buf, cap, &kind);
            m.lat[m.nlat++] = bench_now() - t;
            if (kind != WEBSOCKET_FLAG_BINARY || len != w->size ||
                memcmp(buf, p, w->size) != 0)
                bench_fail(DRIVER, "echo %llu differs", (unsigned long long)i);
        }
        bench_meter_stop(&m);
        break;
    }
    int rc = websocket_disconnect(ws);
    if (rc)
        bench_fail(DRIVER, "websocket_disconnect: %s", strerror(-rc));
    zsock_close(sock);
    bench_meter_report(&m);
    free(buf);
    free(payloads);
    return 0;
}
