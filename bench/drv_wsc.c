/*
 * wsc through its native blocking API with default options: wsc_recv() for
 * whole messages (zero-copy when a message is whole in the input buffer),
 * wsc_send() for one message per call. With --bulk, sends go through the
 * event-driven API instead: queued until the 1 MiB output buffer is full,
 * written by wsc_conn_process() when the socket is writable.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "wsc/wsc.h"

#define DRIVER "wsc"
#define TIMEOUT_MS 30000

static void check(struct wsc_conn *c, int rc, const char *what)
{
    if (rc)
        bench_fail(DRIVER, "%s: %s (%s)", what, wsc_strerror(rc), wsc_conn_detail(c));
}

/* Waits for what the connection wants (at most 1 s), then processes it. */
static void turn(struct wsc_conn *c)
{
    int want = wsc_conn_interest(c);
    struct pollfd p = {.fd = wsc_conn_fd(c), .events = 0, .revents = 0};
    p.events = (short)((want & WSC_WAIT_READ ? POLLIN : 0) | (want & WSC_WAIT_WRITE ? POLLOUT : 0));
    if (want && poll(&p, 1, 1000) < 0)
        bench_fail(DRIVER, "poll failed");
    int ready = (p.revents & (POLLIN | POLLHUP | POLLERR) ? WSC_WAIT_READ : 0) |
                (p.revents & (POLLOUT | POLLERR) ? WSC_WAIT_WRITE : 0);
    check(c, wsc_conn_process(c, ready), "process");
}

/* The send workload, batched: every message queued as soon as there is room,
 * the queue written out in large writes. */
static void send_batched(const char *url, const struct bench_workload *w,
                         const uint8_t *payloads, size_t msgs, struct bench_meter *m)
{
    struct wsc_options o;
    wsc_options_init(&o);
    o.tx_buf_size = 1u << 20;
    struct wsc_conn c;
    check(&c, wsc_conn_start(&c, url, &o), "start");
    while (wsc_conn_state(&c) != WSC_CONN_OPEN) {
        if (wsc_conn_state(&c) == WSC_CONN_FAILED)
            check(&c, wsc_conn_error(&c), "connect");
        turn(&c);
    }
    struct wsc_message msg;
    bench_meter_start(m);
    uint64_t i = 0;
    int rc = 0;
    while (i < w->count || wsc_conn_queued(&c) > 0) {
        /* Queue until the buffer is full (WSC_EAGAIN: nothing was queued),
         * then let wsc_conn_process() write once the socket takes more. */
        while (i < w->count && (rc = wsc_send(&c, WSC_OP_BINARY,
                                              payloads + (size_t)(i % msgs) * w->size,
                                              w->size, 0)) == 0)
            i++;
        if (i < w->count && rc != WSC_EAGAIN)
            check(&c, rc, "send");
        turn(&c);
    }
    while ((rc = wsc_recv(&c, &msg, 0)) == WSC_EAGAIN)
        turn(&c);
    check(&c, rc, "recv ack");
    bench_meter_stop(m);
    if (msg.len != 2 || memcmp(msg.data, "OK", 2) != 0)
        bench_fail(DRIVER, "sink: %.*s", (int)msg.len, (const char *)msg.data);
    if (wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS) == WSC_EAGAIN)
        while (wsc_conn_interest(&c) != 0) {
            turn(&c);
            while (wsc_recv(&c, &msg, 0) == 0)
                ;
        }
    wsc_conn_free(&c);
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

    char path[256], url[300];
    if (bench_path(w, path, sizeof(path)))
        bench_fail(DRIVER, "bad workload");
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d%s", a.port, path);
    if (w->kind == BENCH_SEND && w->raw_bulk) {
        send_batched(url, w, payloads, msgs, &m);
        bench_meter_report(&m);
        free(payloads);
        return 0;
    }
    struct wsc_conn c;
    check(&c, wsc_connect(&c, url, NULL), "connect");

    struct wsc_message msg;
    switch (w->kind) {
    case BENCH_RECV:
    case BENCH_RECV_TEXT: {
        /* wsc validates text itself (RFC 6455 8.1) and fails the connection
         * with 1007 on invalid UTF-8, so the driver only checks the bytes. */
        uint8_t op = w->kind == BENCH_RECV_TEXT ? WSC_OP_TEXT : WSC_OP_BINARY;
        bench_meter_start(&m);
        for (uint64_t i = 0; i < w->count; i++) {
            check(&c, wsc_recv(&c, &msg, TIMEOUT_MS), "recv");
            if (msg.opcode != op || !bench_verify_msg(&v, msg.data, msg.len))
                bench_fail(DRIVER, "message %llu: opcode %u, %zu bytes, wrong content",
                           (unsigned long long)i, msg.opcode, msg.len);
        }
        bench_meter_stop(&m);
        int rc = wsc_recv(&c, &msg, TIMEOUT_MS);
        if (rc != WSC_ECLOSED)
            bench_fail(DRIVER, "expected the server's close after the last message, got %s",
                       wsc_strerror(rc));
        break;
    }
    case BENCH_SEND:
        bench_meter_start(&m);
        for (uint64_t i = 0; i < w->count; i++)
            check(&c,
                  wsc_send(&c, WSC_OP_BINARY, payloads + (size_t)(i % msgs) * w->size,
                           w->size, TIMEOUT_MS),
                  "send");
        check(&c, wsc_recv(&c, &msg, TIMEOUT_MS), "recv ack");
        bench_meter_stop(&m);
        if (msg.len != 2 || memcmp(msg.data, "OK", 2) != 0)
            bench_fail(DRIVER, "sink: %.*s", (int)msg.len, (const char *)msg.data);
        break;
    case BENCH_ECHO:
        bench_meter_start(&m);
        for (uint64_t i = 0; i < w->count; i++) {
            const uint8_t *p = payloads + (size_t)(i % msgs) * w->size;
            double t = bench_now();
            check(&c, wsc_send(&c, WSC_OP_BINARY, p, w->size, TIMEOUT_MS), "send");
            check(&c, wsc_recv(&c, &msg, TIMEOUT_MS), "recv");
            m.lat[m.nlat++] = bench_now() - t;
            if (msg.opcode != WSC_OP_BINARY || msg.len != w->size ||
                memcmp(msg.data, p, w->size) != 0)
                bench_fail(DRIVER, "echo %llu differs", (unsigned long long)i);
        }
        bench_meter_stop(&m);
        break;
    }
    if (wsc_conn_state(&c) == WSC_CONN_OPEN)
        check(&c, wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS), "close");
    wsc_conn_free(&c);
    bench_meter_report(&m);
    free(payloads);
    return 0;
}
