/*
 * wslay (Debian libwslay-dev) through its event API (wslay_event_*) over a
 * non-blocking socket driven by poll(). wslay does no HTTP, so the driver
 * writes the upgrade request and checks the 101 itself; the response head is
 * read one byte at a time so that no frame byte is read past it. wslay
 * validates text itself (it fails the connection with 1007; --corrupt checks
 * that), so the driver only compares bytes. Mask keys come from getrandom(), one
 * call per frame, as wsc gets them.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include "common.h"
#include "wsc/wsc_core.h" /* wsc_handshake_accept_for, to check the 101 */

#define DRIVER "wslay"
#define TIMEOUT_MS 30000

struct state {
    int fd;
    const struct bench_args *a;
    struct bench_meter *m;
    const uint8_t *payloads;
    size_t msgs;
    struct bench_verifier v;
    bool acked, got_close, echo_back;
    char error[256];
};

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user)
{
    (void)flags;
    struct state *st = user;
    ssize_t n;
    do {
        n = recv(st->fd, buf, len, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    else
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    struct state *st = user;
    int f = MSG_NOSIGNAL | ((flags & WSLAY_MSG_MORE) ? MSG_MORE : 0);
    ssize_t n;
    do {
        n = send(st->fd, data, len, f);
    } while (n < 0 && errno == EINTR);
    if (n >= 0)
        return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    else
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static int genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    (void)user;
    while (len) {
        ssize_t n = getrandom(buf, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
    (void)ctx;
    struct state *st = user;
    const struct bench_workload *w = &st->a->w;
    if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
        st->got_close = true;
        return;
    }
    if (arg->opcode == WSLAY_PING || arg->opcode == WSLAY_PONG || st->error[0])
        return;
    switch (w->kind) {
    case BENCH_RECV:
    case BENCH_RECV_TEXT: {
        bool text = w->kind == BENCH_RECV_TEXT;
        if (arg->opcode != (text ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME) ||
            !bench_verify_msg(&st->v, arg->msg, arg->msg_length)) {
            snprintf(st->error, sizeof(st->error), "message %llu: opcode %u, %zu bytes, wrong",
                     (unsigned long long)st->v.index, arg->opcode, arg->msg_length);
            return;
        }
        if (st->v.index == w->count)
            bench_meter_stop(st->m);
        return;
    }
    case BENCH_SEND:
        st->acked = true;
        if (arg->msg_length != 2 || memcmp(arg->msg, "OK", 2) != 0)
            snprintf(st->error, sizeof(st->error), "sink: %.*s", (int)arg->msg_length,
                     (const char *)arg->msg);
        return;
    case BENCH_ECHO:
        st->echo_back = true;
        if (arg->opcode != WSLAY_BINARY_FRAME ||
            !bench_verify_msg(&st->v, arg->msg, arg->msg_length))
            snprintf(st->error, sizeof(st->error), "echo %llu differs",
                     (unsigned long long)st->v.index);
        return;
    }
}

/* Runs the event loop until *flag is set (or, with flag NULL, until nothing is
 * left to write). */
static void pump(wslay_event_context_ptr ctx, struct state *st, const bool *flag)
{
    for (;;) {
        if (st->error[0])
            bench_fail(DRIVER, "%s", st->error);
        if (flag ? *flag : !wslay_event_want_write(ctx))
            return;
        short ev = (short)((wslay_event_want_read(ctx) ? POLLIN : 0) |
                           (wslay_event_want_write(ctx) ? POLLOUT : 0));
        if (ev == 0)
            bench_fail(DRIVER, "the connection ended early");
        struct pollfd p = {.fd = st->fd, .events = ev, .revents = 0};
        int n = poll(&p, 1, TIMEOUT_MS);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            bench_fail(DRIVER, "poll: %s", n ? strerror(errno) : "timed out");
        if ((p.revents & (POLLIN | POLLERR | POLLHUP)) && wslay_event_want_read(ctx) &&
            wslay_event_recv(ctx) != 0)
            bench_fail(DRIVER, "wslay_event_recv failed%s%s", st->error[0] ? ": " : "",
                       st->error);
        if ((p.revents & POLLOUT) && wslay_event_send(ctx) != 0)
            bench_fail(DRIVER, "wslay_event_send failed");
    }
}

static void base64_16(const uint8_t in[16], char out[25])
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < 16)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < 16)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < 16 ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < 16 ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

/* Connects and upgrades; the socket is left non-blocking with nothing of the
 * frame stream consumed. */
static int handshake(const struct bench_args *a)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)a->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
        bench_fail(DRIVER, "connect: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    uint8_t nonce[16];
    if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
        bench_fail(DRIVER, "getrandom failed");
    char key[25], path[256], req[600];
    base64_16(nonce, key);
    if (bench_path(&a->w, path, sizeof(path)))
        bench_fail(DRIVER, "bad workload");
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     path, a->port, key);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        bench_fail(DRIVER, "sending the request failed");

    char head[4096];
    size_t len = 0;
    while (len < 4 || memcmp(head + len - 4, "\r\n\r\n", 4) != 0) {
        if (len == sizeof(head) - 1 || recv(fd, head + len, 1, 0) != 1)
            bench_fail(DRIVER, "bad handshake response");
        len++;
    }
    head[len] = '\0';
    char want[WSC_HANDSHAKE_ACCEPT_LEN + 1];
    wsc_handshake_accept_for(key, want);
    want[WSC_HANDSHAKE_ACCEPT_LEN] = '\0';
    const char *acc = strcasestr(head, "\r\nsec-websocket-accept:");
    if (strncmp(head, "HTTP/1.1 101", 12) != 0 || !acc)
        bench_fail(DRIVER, "not upgraded: %.40s", head);
    acc += strlen("\r\nsec-websocket-accept:");
    while (*acc == ' ')
        acc++;
    if (strncmp(acc, want, WSC_HANDSHAKE_ACCEPT_LEN) != 0)
        bench_fail(DRIVER, "wrong Sec-WebSocket-Accept");
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
        bench_fail(DRIVER, "fcntl failed");
    return fd;
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
    struct bench_meter m;
    bench_meter_init(&m, DRIVER, &a);
    st.m = &m;

    st.fd = handshake(&a);
    struct wslay_event_callbacks cb = {
        .recv_callback = recv_cb,
        .send_callback = send_cb,
        .genmask_callback = genmask_cb,
        .on_msg_recv_callback = on_msg,
    };
    wslay_event_context_ptr ctx;
    if (wslay_event_context_client_init(&ctx, &cb, &st))
        bench_fail(DRIVER, "wslay_event_context_client_init failed");
    wslay_event_config_set_max_recv_msg_length(ctx, 16u << 20);

    switch (w->kind) {
    case BENCH_RECV:
    case BENCH_RECV_TEXT: {
        bench_meter_start(&m);
        pump(ctx, &st, &st.got_close);
        if (st.v.index != w->count)
            bench_fail(DRIVER, "close after %llu of %llu messages",
                       (unsigned long long)st.v.index, (unsigned long long)w->count);
        pump(ctx, &st, NULL); /* our close reply */
        break;
    }
    case BENCH_SEND:
        bench_meter_start(&m);
        for (uint64_t i = 0; i < w->count; i++) {
            struct wslay_event_msg msg = {WSLAY_BINARY_FRAME,
                                          st.payloads + (size_t)(i % st.msgs) * w->size,
                                          w->size};
            if (wslay_event_queue_msg(ctx, &msg))
                bench_fail(DRIVER, "wslay_event_queue_msg failed");
            if (wslay_event_send(ctx))
                bench_fail(DRIVER, "wslay_event_send failed");
            pump(ctx, &st, NULL);
        }
        pump(ctx, &st, &st.acked);
        bench_meter_stop(&m);
        break;
    case BENCH_ECHO:
        bench_meter_start(&m);
        for (uint64_t i = 0; i < w->count; i++) {
            struct wslay_event_msg msg = {WSLAY_BINARY_FRAME,
                                          st.payloads + (size_t)(i % st.msgs) * w->size,
                                          w->size};
            double t = bench_now();
            st.echo_back = false;
            if (wslay_event_queue_msg(ctx, &msg) || wslay_event_send(ctx))
                bench_fail(DRIVER, "sending failed");
            pump(ctx, &st, &st.echo_back);
            m.lat[m.nlat++] = bench_now() - t;
        }
        bench_meter_stop(&m);
        break;
    }
    if (w->kind != BENCH_RECV && w->kind != BENCH_RECV_TEXT) {
        wslay_event_queue_close(ctx, 1000, NULL, 0);
        pump(ctx, &st, NULL);
    }
    wslay_event_context_free(ctx);
    close(st.fd);
    bench_meter_report(&m);
    free(payloads);
    return 0;
}
