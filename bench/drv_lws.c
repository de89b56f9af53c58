/*
 * libwebsockets (Debian libwebsockets-dev) through its client API and its own
 * event loop (lws_service). Received fragments are checked as they arrive,
 * without reassembly; text is validated by lws itself
 * (LWS_SERVER_OPTION_VALIDATE_UTF8). Sends follow the documented pattern: one
 * lws_write() per LWS_CALLBACK_CLIENT_WRITEABLE, from a buffer with LWS_PRE
 * bytes of headroom that lws masks in place (so the payload is copied in first).
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define DRIVER "lws"
#define RX_BUFFER 65536 /* the same input buffer size as wsc's default */

struct state {
    const struct bench_args *a;
    struct bench_meter *m;
    const uint8_t *payloads;
    size_t msgs;
    struct bench_verifier v;
    uint8_t *txbuf; /* LWS_PRE + size */
    uint64_t sent, echoed;
    double t_echo;
    uint8_t ack[64];
    size_t ack_len;
    bool established, done, closed;
    char error[256];
};

static int fail_cb(struct state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail_cb(struct state *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->error, sizeof(st->error), fmt, ap);
    va_end(ap);
    st->done = true;
    return -1;
}

static int write_next(struct lws *wsi, struct state *st)
{
    const struct bench_workload *w = &st->a->w;
    const uint8_t *p = st->payloads + (size_t)(st->sent % st->msgs) * w->size;
    memcpy(st->txbuf + LWS_PRE, p, w->size);
    if (w->kind == BENCH_ECHO)
        st->t_echo = bench_now();
    int n = lws_write(wsi, st->txbuf + LWS_PRE, w->size, LWS_WRITE_BINARY);
    if (n < 0)
        return fail_cb(st, "lws_write failed");
    st->sent++;
    if (w->kind == BENCH_SEND && st->sent < w->count)
        lws_callback_on_writable(wsi);
    return 0;
}

static int on_receive(struct lws *wsi, struct state *st, const uint8_t *in, size_t len)
{
    const struct bench_workload *w = &st->a->w;
    bool first = lws_is_first_fragment(wsi), last = lws_is_final_fragment(wsi);
    bool binary = lws_frame_is_binary(wsi);
    switch (w->kind) {
    case BENCH_RECV:
    case BENCH_RECV_TEXT:
        if (st->done)
            return fail_cb(st, "a message after the last one");
        if (first && binary != (w->kind == BENCH_RECV))
            return fail_cb(st, "message %llu has the wrong opcode",
                           (unsigned long long)st->v.index);
        if (!bench_verify_piece(&st->v, in, len))
            return fail_cb(st, "message %llu: wrong bytes", (unsigned long long)st->v.index);
        if (last) {
            if (!bench_verify_end(&st->v))
                return fail_cb(st, "message %llu is short", (unsigned long long)st->v.index);
            if (st->v.index == w->count) {
                bench_meter_stop(st->m);
                st->done = true;
            }
        }
        return 0;
    case BENCH_SEND:
        if (len > sizeof(st->ack) - st->ack_len)
            return fail_cb(st, "unexpected message from the sink");
        memcpy(st->ack + st->ack_len, in, len);
        st->ack_len += len;
        if (last) {
            bench_meter_stop(st->m);
            if (st->ack_len != 2 || memcmp(st->ack, "OK", 2) != 0)
                return fail_cb(st, "sink: %.*s", (int)st->ack_len, (const char *)st->ack);
            st->done = true;
        }
        return 0;
    case BENCH_ECHO:
        if (!bench_verify_piece(&st->v, in, len))
            return fail_cb(st, "echo %llu differs", (unsigned long long)st->v.index);
        if (!last)
            return 0;
        st->m->lat[st->m->nlat++] = bench_now() - st->t_echo;
        if (!binary || !bench_verify_end(&st->v))
            return fail_cb(st, "echo %llu differs", (unsigned long long)st->v.index);
        if (st->v.index == w->count) {
            bench_meter_stop(st->m);
            st->done = true;
        } else {
            lws_callback_on_writable(wsi);
        }
        return 0;
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    struct state *st = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fail_cb(st, "connection error: %s", in ? (const char *)in : "(none)");
        st->closed = true;
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        st->established = true;
        bench_meter_start(st->m);
        if (st->a->w.kind == BENCH_SEND || st->a->w.kind == BENCH_ECHO)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (st->done || st->sent >= st->a->w.count)
            return 0;
        return write_next(wsi, st);
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (on_receive(wsi, st, in, len))
            return -1;
        if (st->done && st->a->w.kind != BENCH_RECV && st->a->w.kind != BENCH_RECV_TEXT) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        st->closed = true;
        if (!st->done)
            fail_cb(st, "connection closed early");
        return 0;
    default:
        return 0;
    }
}

int main(int argc, char **argv)
{
    struct bench_args a;
    bench_parse_args(argc, argv, &a, DRIVER);
    const struct bench_workload *w = &a.w;
    struct state st = {.a = &a};
    uint8_t *payloads = bench_payloads(w->size, w->kind == BENCH_RECV_TEXT, &st.msgs);
    bench_corrupt(payloads, st.msgs, w, false);
    st.payloads = payloads;
    bench_verifier_init(&st.v, st.payloads, st.msgs, w->size);
    st.txbuf = malloc(LWS_PRE + w->size);
    if (!st.txbuf)
        bench_fail(DRIVER, "out of memory");
    struct bench_meter m;
    bench_meter_init(&m, DRIVER, &a);
    st.m = &m;

    lws_set_log_level(LLL_ERR, NULL);
    static struct lws_protocols protocols[] = {
        {"bench", callback, 0, RX_BUFFER, 0, NULL, 4u << 20},
        {NULL, NULL, 0, 0, 0, NULL, 0},
    };
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    info.user = &st;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx)
        bench_fail(DRIVER, "lws_create_context failed");

    char path[256];
    if (bench_path(w, path, sizeof(path)))
        bench_fail(DRIVER, "bad workload");
    struct lws_client_connect_info cc;
    memset(&cc, 0, sizeof(cc));
    cc.context = ctx;
    cc.address = "127.0.0.1";
    cc.port = a.port;
    cc.path = path;
    cc.host = "127.0.0.1";
    cc.origin = "127.0.0.1";
    cc.local_protocol_name = "bench";
    if (!lws_client_connect_via_info(&cc))
        bench_fail(DRIVER, "lws_client_connect_via_info failed");

    /* Until every message is checked, then until the close completes. */
    double give_up = 0;
    while (!st.closed) {
        if (lws_service(ctx, 0) < 0)
            break;
        if (st.done && give_up == 0)
            give_up = bench_now() + 2.0;
        if (give_up != 0 && bench_now() > give_up)
            break;
    }
    lws_context_destroy(ctx);
    if (st.error[0])
        bench_fail(DRIVER, "%s", st.error);
    if (!st.done)
        bench_fail(DRIVER, "stopped before the workload completed");
    bench_meter_report(&m);
    free(st.txbuf);
    free(payloads);
    return 0;
}
