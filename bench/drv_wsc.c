/*
 * wsc through its native blocking API with default options: wsc_recv() for
 * whole messages (zero-copy when a message is whole in the input buffer),
 * wsc_send() for one message per call.
 */
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
