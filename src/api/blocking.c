/*
 * The blocking front end: drives transport + core with per-call timeouts.
 *
 * The seam rule lives here: every read lands in c->in, and the transport is
 * read again only after the core has consumed everything buffered (it returned
 * WSC_EAGAIN). The bytes that follow the 101 head are therefore decoded as
 * frames before any further read, whatever the chunking of the stream.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wsc_internal.h"
#include "wsc/wsc.h"
#include "wsc/wsc_deflate.h"
#include "wsc/wsc_proxy.h"
#include "wsc/wsc_tls.h"

#include "api/conn_internal.h"

#define CLOSE_LINGER_MS 1000 /* wait for the server's FIN after the close */
#define CLOSE_WAIT_MS 5000   /* event loops: wsc_close_start() awaits the reply */
#define READ_GRACE_MS 1000   /* reading on past a call's deadline while bytes come */
#define DIRECT_MIN 512        /* payload read straight into the message buffer */
#define ZBUF_MAX 16384       /* permessage-deflate scratch, at most tx_buf_size */

void wsc_options_init(struct wsc_options *o)
{
    memset(o, 0, sizeof(*o));
    o->connect_timeout_ms = 10000;
    o->max_message = WSC_MAX_MESSAGE_DEFAULT;
    o->max_head = WSC_HEAD_MAX_DEFAULT;
    o->max_headers = WSC_HEADERS_MAX_DEFAULT;
    o->rx_buf_size = 65536 + WSC_FRAME_HEADER_MAX; /* a 64 KiB message, delivered in place */
    o->tx_buf_size = 65536 + WSC_FRAME_HEADER_MAX; /* a 64 KiB message in one write */
}

/* Event loops through a proxy: the CONNECT exchange, and where it goes (for
 * messages: the proxy's struct is not kept). Freed once the tunnel is open. */
struct wsc__proxying {
    struct wsc_proxy_exchange x;
    char host[WSC_PROXY_HOST_MAX];
    uint16_t port;
    bool ipv6;
};

/* ---- allocation and errors -------------------------------------------- */

static void *mem_alloc(struct wsc_conn *c, size_t n)
{
    const struct wsc_allocator *a = &c->opt.alloc;
    return a->malloc ? a->malloc(a->user, n) : malloc(n);
}

static void mem_free(struct wsc_conn *c, void *p)
{
    const struct wsc_allocator *a = &c->opt.alloc;
    if (!p)
        return;
    if (a->free)
        a->free(a->user, p);
    else
        free(p);
}

/* Grows @p p (of which @p used bytes matter) to @p n bytes. Without a realloc
 * hook, a block from the malloc hook must not reach the C library's realloc,
 * nor a block of the C library's the free hook: move it within the hooks. */
static void *mem_realloc(struct wsc_conn *c, void *p, size_t used, size_t n)
{
    const struct wsc_allocator *a = &c->opt.alloc;
    if (a->realloc)
        return a->realloc(a->user, p, n);
    if (!a->malloc)
        return realloc(p, n);
    void *q = a->malloc(a->user, n);
    if (q && p) {
        memcpy(q, p, used);
        mem_free(c, p);
    }
    return q;
}

static void set_state(struct wsc_conn *c, enum wsc_conn_state st)
{
    if (c->state == st)
        return;
    c->state = st;
    if (c->opt.on_state)
        c->opt.on_state(c->opt.state_user, c, st);
}

static void close_transport(struct wsc_conn *c)
{
    if (c->tr_open) {
        c->tr.ops->close(c->tr.ctx);
        c->tr_open = false;
        c->tls = NULL; /* freed with the transport */
    }
}

/* Records the error, its detail sentence, and fails the connection. */
static int failf(struct wsc_conn *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int failf(struct wsc_conn *c, int err, const char *fmt, ...)
{
    if (c->state == WSC_CONN_FAILED)
        return c->error; /* the first failure is the one to report */
    va_list ap;
    va_start(ap, fmt);
    /* The sentence is kept only for failures: no room in every connection. */
    if (!c->detail)
        c->detail = mem_alloc(c, WSC_ERROR_DETAIL_MAX);
    if (c->detail)
        vsnprintf(c->detail, WSC_ERROR_DETAIL_MAX, fmt, ap);
    va_end(ap);
    c->error = err;
    if (!c->lingering && !c->keep_transport)
        close_transport(c);
    set_state(c, WSC_CONN_FAILED);
    return err;
}

static void trace(struct wsc_conn *c, enum wsc_trace_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void trace(struct wsc_conn *c, enum wsc_trace_kind kind, const char *fmt, ...)
{
    if (!c->opt.trace)
        return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    c->opt.trace(c->opt.trace_user, kind, line,
                 (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Passes each line of an HTTP head to the trace callback. */
static void trace_head(struct wsc_conn *c, enum wsc_trace_kind kind, const char *p,
                       size_t len)
{
    if (!c->opt.trace)
        return;
    while (len) {
        const char *nl = memchr(p, '\n', len);
        size_t n = nl ? (size_t)(nl - p) : len;
        size_t shown = n && p[n - 1] == '\r' ? n - 1 : n;
        if (shown)
            c->opt.trace(c->opt.trace_user, kind, p, shown);
        if (!nl)
            break;
        len -= n + 1;
        p = nl + 1;
    }
}

/* ---- time ------------------------------------------------------------- */

/* UINT64_MAX means no deadline. */
static uint64_t deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? UINT64_MAX : wsc_platform_now_ms() + (uint64_t)timeout_ms;
}

static int ms_left(uint64_t deadline)
{
    if (deadline == UINT64_MAX)
        return -1;
    uint64_t now = wsc_platform_now_ms();
    if (now >= deadline)
        return 0;
    uint64_t left = deadline - now;
    return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

static uint64_t earlier(uint64_t a, uint64_t b) { return a < b ? a : b; }

/*
 * The deadline of a receive or send call, read from the clock only once the
 * call is about to wait: most calls find their message already buffered, and
 * a clock read per small message was a measurable share of its cost.
 * Functions that wait resolve it first (resolve()).
 */
#define DEADLINE_LAZY (UINT64_MAX - 1)

static uint64_t call_deadline(struct wsc_conn *c, int timeout_ms)
{
    if (timeout_ms < 0)
        return UINT64_MAX;
    c->call_timeout_ms = timeout_ms;
    c->call_deadline = 0;
    return DEADLINE_LAZY;
}

static uint64_t resolve(struct wsc_conn *c, uint64_t deadline)
{
    if (deadline != DEADLINE_LAZY)
        return deadline;
    if (c->call_deadline == 0)
        c->call_deadline = wsc_platform_now_ms() + (uint64_t)c->call_timeout_ms;
    return c->call_deadline;
}

/* ---- transport I/O ---------------------------------------------------- */

/* Room at the end of the input buffer, compacting consumed bytes away. */
static size_t in_room(struct wsc_conn *c)
{
    if (c->in_start == c->in_end) {
        c->in_start = c->in_end = 0;
    } else if (c->in_end == c->in_cap && c->in_start > 0) {
        memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
        c->in_end -= c->in_start;
        c->in_start = 0;
    }
    return c->in_cap - c->in_end;
}

/*
 * One transport read into the input buffer: 0 (bytes added), EAGAIN, EOF or
 * error. @p keep_place reads only into the free tail, moving nothing: a message
 * wsc_recv() returned may point into the buffer while the caller sends it on.
 */
static int read_waiting(struct wsc_conn *c, uint8_t *dst, size_t cap, size_t *got,
                        int wait_ms)
{
    *got = 0;
    /* wait_ms != 0: first wait up to that long (< 0: no limit) for input, in
     * one call where the transport can (recv_wait), else wait() then recv(). */
    int rc;
    if (wait_ms == 0) {
        rc = c->tr.ops->recv(c->tr.ctx, dst, cap, got);
    } else if (c->tr.ops->recv_wait) {
        rc = c->tr.ops->recv_wait(c->tr.ctx, dst, cap, got, wait_ms);
    } else {
        rc = c->tr.ops->wait(c->tr.ctx, WSC_WAIT_READ, wait_ms);
        rc = rc < 0 ? rc : rc == 0 ? WSC_EAGAIN : c->tr.ops->recv(c->tr.ctx, dst, cap, got);
    }
    /* A read short of what fit found the socket empty; so did WSC_EAGAIN. */
    c->rx_drained = rc == WSC_EAGAIN || (rc == 0 && *got < cap);
    if (rc)
        return rc;
    if (*got == 0) {
        c->peer_eof = true;
        return WSC_EEOF;
    }
    c->stats.bytes_in += *got;
    c->last_rx_ms = c->stats.last_activity_ms = wsc_platform_now_ms();
    c->ping_unanswered = false; /* any input shows the peer is alive */
    return 0;
}

static int read_into(struct wsc_conn *c, uint8_t *dst, size_t cap, size_t *got)
{
    return read_waiting(c, dst, cap, got, 0);
}

static int read_some_waiting(struct wsc_conn *c, bool keep_place, int wait_ms)
{
    size_t room = keep_place ? c->in_cap - c->in_end : in_room(c);
    if (room == 0)
        return WSC_ENOBUFS;
    size_t got;
    int rc = read_waiting(c, c->in + c->in_end, room, &got, wait_ms);
    if (rc == 0)
        c->in_end += got;
    return rc;
}

static int read_some(struct wsc_conn *c, bool keep_place)
{
    return read_some_waiting(c, keep_place, 0);
}

/* ---- keepalive -------------------------------------------------------- */

/* When the keepalive next needs attention, or UINT64_MAX. */
static uint64_t next_timer(const struct wsc_conn *c)
{
    if (c->opt.ping_interval_ms <= 0 || c->state != WSC_CONN_OPEN)
        return UINT64_MAX;
    if (c->ping_unanswered)
        return c->ping_sent_ms + (uint64_t)c->opt.pong_timeout_ms;
    uint64_t last = c->last_rx_ms > c->ping_sent_ms ? c->last_rx_ms : c->ping_sent_ms;
    return last + (uint64_t)c->opt.ping_interval_ms;
}

static int flush_session(struct wsc_conn *c, uint64_t deadline);
static int fill(struct wsc_conn *c, uint64_t deadline);
static int fill_into(struct wsc_conn *c, uint64_t deadline, uint8_t *dst, size_t cap,
                     size_t *got);

/* Queues a ping whose pong gives the round-trip time. */
static int send_ping(struct wsc_conn *c, const void *data, size_t len)
{
    int rc = wsc_session_ping(&c->session, data, len);
    if (rc)
        return rc;
    c->stats.pings_out++;
    c->ping_sent_ms = wsc_platform_now_ms();
    c->ping_sent_us = wsc_platform_now_us();
    c->rtt_pending = len <= sizeof(c->ping_payload);
    if (c->rtt_pending && len)
        memcpy(c->ping_payload, data, len);
    c->ping_payload_len = len;
    return 0;
}

/*
 * Keepalive: after ping_interval_ms without input, ping (a counter payload);
 * if then nothing at all arrives within pong_timeout_ms, the peer is gone:
 * fail with WSC_EPEER_TIMEOUT, sending close 1011 without waiting for a reply.
 */
static int run_timers(struct wsc_conn *c)
{
    uint64_t now = wsc_platform_now_ms();
    if (now < next_timer(c))
        return 0;
    if (c->ping_unanswered) {
        if (wsc_session_close(&c->session, WSC_CLOSE_INTERNAL, "peer not responding", 19) == 0)
            flush_session(c, now);
        return failf(c, WSC_EPEER_TIMEOUT,
                     "peer not responding: nothing received within %d ms of a ping",
                     c->opt.pong_timeout_ms);
    }
    char payload[24];
    int n = snprintf(payload, sizeof(payload), "wsc-keepalive %u", ++c->ping_counter);
    if (send_ping(c, payload, (size_t)n) == 0) {
        trace(c, WSC_TRACE_SEND, "ping (%d bytes) '%s'", n, payload);
        c->ping_unanswered = true;
        int rc = flush_session(c, now);
        if (rc && rc != WSC_ETIMEDOUT)
            return failf(c, rc, "sending a keepalive ping failed: %s", wsc_strerror(rc));
    }
    return 0;
}

static int fill(struct wsc_conn *c, uint64_t deadline)
{
    return fill_into(c, deadline, NULL, 0, NULL);
}

int wsc__run_timers(struct wsc_conn *c)
{
    uint64_t now = wsc_platform_now_ms();
    if (c->state == WSC_CONN_CONNECTING || c->state == WSC_CONN_HANDSHAKING) {
        if (now < c->connect_deadline)
            return 0;
        if (c->phase == WSC__PHASE_TCP && c->tcp.resolving)
            return failf(c, WSC_ETIMEDOUT, "timed out looking up %s",
                         c->proxying ? c->proxying->host : c->url->host);
        if (c->phase == WSC__PHASE_PROXY)
            return failf(c, WSC_ETIMEDOUT, "timed out %s", c->tls_want == WSC_WAIT_WRITE
                                                             ? "sending CONNECT to the proxy"
                                                             : "waiting for the proxy's reply "
                                                               "to CONNECT");
        return failf(c, WSC_ETIMEDOUT, "%s", c->state == WSC_CONN_CONNECTING
                                                 ? "timed out connecting"
                                                 : "timed out waiting for the handshake response");
    }
    if (c->state == WSC_CONN_CLOSING && c->close_deadline && now >= c->close_deadline)
        return failf(c, WSC_ETIMEDOUT, "timed out waiting for the server's close frame");
    return c->state == WSC_CONN_OPEN ? run_timers(c) : 0;
}

uint64_t wsc__next_deadline(const struct wsc_conn *c)
{
    uint64_t t = next_timer(c);
    if (c->state == WSC_CONN_CONNECTING || c->state == WSC_CONN_HANDSHAKING)
        t = earlier(t, c->connect_deadline);
    if (c->state == WSC_CONN_CLOSING && c->close_deadline)
        t = earlier(t, c->close_deadline);
    if (c->lingering)
        t = earlier(t, c->linger_until);
    return t;
}

/* Reads at least one byte by the deadline: 0, WSC_ETIMEDOUT, WSC_EEOF or an error.
 * Keepalive timers run while it waits. The bytes go to the input buffer, or
 * with @p dst to dst[0..cap) (*got of them). */
static int fill_into(struct wsc_conn *c, uint64_t deadline, uint8_t *dst, size_t cap,
                     size_t *got)
{
    if (c->peer_eof)
        return WSC_EEOF;
    if (c->nonblock) /* WSC_EAGAIN: the application's loop waits */
        return dst ? read_into(c, dst, cap, got) : read_some(c, false);
    deadline = resolve(c, deadline);
    /* A peer that never stops sending (a ping flood, endless empty fragments,
     * data after our close) must not hold a call forever: bytes that keep
     * coming are read past the deadline (a call that is already late still
     * finishes what is arriving, as before) but for READ_GRACE_MS at most. */
    if (deadline < UINT64_MAX - READ_GRACE_MS &&
        wsc_platform_now_ms() > deadline + READ_GRACE_MS)
        return WSC_ETIMEDOUT;
    /* After a read that emptied the socket, a call that may wait waits first:
     * a reply is rarely there yet, and a read that finds nothing is a wasted
     * syscall on the latency path. Bytes a transport holds inside (TLS) are
     * read first. The wait and the read are one call where the transport can
     * (recv_wait): a 32-byte echo went from four syscalls (send, a read
     * finding nothing, poll, read) to two, as raw TCP's. */
    bool wait_first = c->rx_drained && ms_left(deadline) != 0 &&
                      (!c->tr.ops->pending || c->tr.ops->pending(c->tr.ctx) == 0);
    for (;;) {
        int rc;
        if (!wait_first) {
            rc = dst ? read_into(c, dst, cap, got) : read_some(c, false);
            if (rc != WSC_EAGAIN)
                return rc;
        }
        rc = run_timers(c);
        if (rc)
            return rc;
        int left = ms_left(earlier(deadline, next_timer(c)));
        if (left == 0 && ms_left(deadline) == 0)
            return WSC_ETIMEDOUT;
        rc = dst ? read_waiting(c, dst, cap, got, left) : read_some_waiting(c, false, left);
        if (rc != WSC_EAGAIN)
            return rc;
        if (ms_left(deadline) == 0)
            return WSC_ETIMEDOUT;
        wait_first = true; /* nothing came in the wait: no read before the next */
    }
}

/* Sends buf[0..len) by the deadline. While the socket is full, incoming bytes
 * are read into the input buffer (kept for later) so neither side stalls. */
static int send_all(struct wsc_conn *c, const uint8_t *buf, size_t len, size_t *sent,
                    uint64_t deadline)
{
    *sent = 0;
    while (*sent < len) {
        size_t n = 0;
        int rc = c->tr.ops->send(c->tr.ctx, buf + *sent, len - *sent, &n);
        if (rc == 0) {
            *sent += n;
            c->stats.bytes_out += n;
            c->stats.last_activity_ms = wsc_platform_now_ms();
            continue;
        }
        if (rc != WSC_EAGAIN || c->nonblock)
            return rc;
        deadline = resolve(c, deadline);
        int left = ms_left(deadline);
        if (left == 0)
            return WSC_ETIMEDOUT;
        int events = WSC_WAIT_WRITE;
        if (!c->peer_eof && c->in_end < c->in_cap)
            events |= WSC_WAIT_READ;
        rc = c->tr.ops->wait(c->tr.ctx, events, left);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return WSC_ETIMEDOUT;
        if (rc & WSC_WAIT_READ) {
            rc = read_some(c, true);
            if (rc && rc != WSC_EAGAIN && rc != WSC_EEOF)
                return rc;
        }
    }
    return 0;
}

/* Sends what the session has queued. Without waiting (nonblock), what the
 * socket does not take stays queued: the loop sends it once writable. */
static int flush_session(struct wsc_conn *c, uint64_t deadline)
{
    for (;;) {
        const uint8_t *p;
        size_t len = wsc_session_pending_output(&c->session, &p);
        if (len == 0)
            return 0;
        size_t sent = 0;
        int rc = send_all(c, p, len, &sent, deadline);
        wsc_session_output_sent(&c->session, sent);
        if (rc)
            return rc == WSC_EAGAIN ? 0 : rc;
    }
}

static const char *transport_error(const struct wsc_conn *c, int rc);

int wsc__flush(struct wsc_conn *c)
{
    int rc = flush_session(c, 0);
    return rc ? failf(c, rc, "sending failed: %s", transport_error(c, rc)) : 0;
}

static const char *transport_error(const struct wsc_conn *c, int rc)
{
    /* A TLS failure after the handshake (e.g. a TLS 1.3 client-certificate
     * refusal, seen on the first read) says why in the TLS layer. */
    if (rc == WSC_ETLS && c->tls && wsc_tls_detail(c->tls) && wsc_tls_detail(c->tls)[0])
        return wsc_tls_detail(c->tls);
    if (rc == WSC_EEOF)
        return "server closed the connection without a close frame";
    if (rc == WSC_ECONNRESET)
        return "connection reset by peer";
    return wsc_strerror(rc);
}

/* ---- connect and handshake -------------------------------------------- */

static int handshake_failure(struct wsc_conn *c, int rc)
{
    struct wsc_handshake *hs = &c->hs;
    const struct wsc_header *h;
    switch (rc) {
    case WSC_EHS_STATUS:
        return failf(c, rc, "server answered %d %.*s", hs->status, (int)hs->reason_len,
                     hs->reason);
    case WSC_EHS_UPGRADE:
        h = wsc_handshake_header(hs, "upgrade");
        return failf(c, rc, "response lacks 'Upgrade: websocket' (got '%.*s')",
                     h ? (int)h->value_len : 0, h ? h->value : "");
    case WSC_EHS_CONNECTION:
        return failf(c, rc, "response lacks 'Connection: Upgrade'");
    case WSC_EHS_ACCEPT:
        h = wsc_handshake_header(hs, "sec-websocket-accept");
        if (!h)
            return failf(c, rc, "response lacks Sec-WebSocket-Accept");
        return failf(c, rc, "Sec-WebSocket-Accept is '%.*s', expected '%.*s'",
                     (int)(h->value_len > 64 ? 64 : h->value_len), h->value,
                     WSC_HANDSHAKE_ACCEPT_LEN, hs->accept);
    case WSC_EHS_PROTOCOL:
        h = wsc_handshake_header(hs, "sec-websocket-protocol");
        return failf(c, rc, "server selected subprotocol '%.*s', which was not offered",
                     h ? (int)h->value_len : 0, h ? h->value : "");
    case WSC_EHS_EXTENSION:
        h = wsc_handshake_header(hs, "sec-websocket-extensions");
        return failf(c, rc, "server selected extension '%.*s', which was not offered",
                     h ? (int)h->value_len : 0, h ? h->value : "");
    case WSC_EHS_TOO_LARGE:
        return failf(c, rc, "response head exceeds the %zu-byte limit", hs->head_cap);
    case WSC_EHS_TOO_MANY:
        return failf(c, rc, "response has more than %zu header fields", hs->header_cap);
    default:
        return failf(c, rc, "malformed HTTP response: %s", wsc_strerror(rc));
    }
}

/* Keeps the start of a non-101 body for the user: what came with the head,
 * plus what arrives shortly after, bounded by size and time. */
static void collect_body(struct wsc_conn *c, uint64_t deadline)
{
    const struct wsc_header *cl = wsc_handshake_header(&c->hs, "content-length");
    size_t want = WSC_ERROR_BODY_MAX;
    if (cl) {
        size_t v = 0;
        for (size_t i = 0; i < cl->value_len && cl->value[i] >= '0' && cl->value[i] <= '9'; i++)
            v = v * 10 + (size_t)(cl->value[i] - '0');
        if (v < want)
            want = v;
    }
    uint64_t until = earlier(resolve(c, deadline), deadline_after(2000));
    if (!(c->body = mem_alloc(c, WSC_ERROR_BODY_MAX)))
        return; /* the status alone still says what happened */
    while (c->body_len < want) {
        size_t n = c->in_end - c->in_start;
        if (n > want - c->body_len)
            n = want - c->body_len;
        memcpy(c->body + c->body_len, c->in + c->in_start, n);
        c->body_len += n;
        c->in_start += n;
        if (c->body_len == want || fill(c, until) != 0)
            break;
    }
}

/* Writes the request head into the output buffer (c->req_len bytes). */
int wsc__handshake_request(struct wsc_conn *c)
{
    uint8_t nonce[WSC_HANDSHAKE_NONCE_LEN];
    int rc = c->opt.random(c->opt.random_user, nonce, sizeof(nonce));
    if (rc)
        return failf(c, WSC_EIO, "the random source failed");
    rc = wsc_handshake_write_request(&c->hs, nonce, (char *)c->out, c->out_cap, &c->req_len);
    if (rc == WSC_ENOBUFS)
        return failf(c, WSC_EHEADER, "request head exceeds the %zu-byte output buffer",
                     c->out_cap);
    if (rc)
        return failf(c, rc, "invalid request: %s", wsc_strerror(rc));
    trace_head(c, WSC_TRACE_REQUEST, (const char *)c->out, c->req_len);
    c->req_sent = 0;
    c->phase = WSC__PHASE_REQUEST;
    set_state(c, WSC_CONN_HANDSHAKING);
    return 0;
}

/* Sends the rest of the request head: 0 once all is out, WSC_EAGAIN (nonblock:
 * the socket is full), or the failure. */
int wsc__handshake_send(struct wsc_conn *c, uint64_t deadline)
{
    size_t sent = 0;
    int rc = send_all(c, c->out + c->req_sent, c->req_len - c->req_sent, &sent, deadline);
    c->req_sent += sent;
    if (rc == WSC_EAGAIN)
        return rc;
    if (rc == WSC_ETIMEDOUT)
        return failf(c, rc, "timed out sending the handshake request");
    if (rc)
        return failf(c, rc, "sending the handshake failed: %s", transport_error(c, rc));
    c->phase = WSC__PHASE_RESPONSE;
    return 0;
}

/* Reads and checks the response head: 0 once a valid 101 is in, WSC_EAGAIN
 * (nonblock: nothing more to read now), or the failure. */
int wsc__handshake_receive(struct wsc_conn *c, uint64_t deadline)
{
    int rc;
    for (;;) {
        size_t used;
        rc = wsc_handshake_parse(&c->hs, c->in + c->in_start, c->in_end - c->in_start, &used);
        c->in_start += used;
        if (rc != WSC_EAGAIN)
            break;
        rc = fill(c, deadline);
        if (rc == WSC_EAGAIN)
            return rc;
        if (rc == WSC_ETIMEDOUT)
            return failf(c, rc, "timed out waiting for the handshake response");
        if (rc == WSC_EEOF)
            return failf(c, rc, "server closed the connection during the handshake");
        if (rc)
            return failf(c, rc, "reading the handshake response failed: %s",
                         transport_error(c, rc));
    }
    trace_head(c, WSC_TRACE_RESPONSE, c->hs.head, c->hs.head_len);
    if (rc == WSC_EHS_STATUS)
        collect_body(c, deadline);
    if (rc)
        return handshake_failure(c, rc);
    /* Whatever follows the head in c->in is already the first frames. */
    return 0;
}

static int handshake(struct wsc_conn *c, uint64_t deadline)
{
    int rc = wsc__handshake_request(c);
    if (rc == 0)
        rc = wsc__handshake_send(c, deadline);
    return rc ? rc : wsc__handshake_receive(c, deadline);
}

static int alloc_buffers(struct wsc_conn *c)
{
    c->in_owned = !c->opt.rx_buf;
    c->out_owned = !c->opt.tx_buf;
    c->in = c->in_owned ? mem_alloc(c, c->opt.rx_buf_size) : c->opt.rx_buf;
    c->out = c->out_owned ? mem_alloc(c, c->opt.tx_buf_size) : c->opt.tx_buf;
    c->hs_head = mem_alloc(c, c->opt.max_head);
    c->hs_headers = mem_alloc(c, c->opt.max_headers * sizeof(struct wsc_header));
    if (!c->in || !c->out || !c->hs_head || !c->hs_headers)
        return WSC_ENOMEM;
    c->in_cap = c->opt.rx_buf_size;
    c->out_cap = c->opt.tx_buf_size;
    return 0;
}

static void apply_defaults(struct wsc_options *o)
{
    struct wsc_options d;
    wsc_options_init(&d);
    if (!o->max_message)
        o->max_message = d.max_message;
    if (o->max_head < 64)
        o->max_head = d.max_head;
    if (!o->max_headers)
        o->max_headers = d.max_headers;
    if (o->rx_buf_size < WSC_FRAME_HEADER_MAX && !o->rx_buf)
        o->rx_buf_size = d.rx_buf_size;
    if (o->tx_buf_size < WSC_SESSION_OUT_MIN && !o->tx_buf)
        o->tx_buf_size = d.tx_buf_size;
    if (!o->random)
        o->random = wsc_platform_random;
    if (o->ping_interval_ms > 0 && o->pong_timeout_ms <= 0)
        o->pong_timeout_ms = 10000;
}

/*
 * The request's header list: the user's, plus Authorization from the URL's
 * userinfo (Basic, RFC 7617) or the bearer token option (RFC 6750).
 */
static int add_authorization(struct wsc_conn *c)
{
    c->req.headers = c->opt.headers;
    c->req.header_count = c->opt.header_count;
    const char *bearer = c->opt.auth_bearer;
    size_t ui_len = strlen(c->url->userinfo);
    if (!bearer && ui_len == 0)
        return 0;
    size_t n = c->opt.header_count;
    c->req_headers = mem_alloc(c, (n + 1) * sizeof(struct wsc_header));
    size_t cap = 7 + (bearer ? strlen(bearer) : WSC__BASE64_LEN(ui_len)) + 1;
    c->auth_value = mem_alloc(c, cap);
    if (!c->req_headers || !c->auth_value)
        return failf(c, WSC_ENOMEM, "out of memory building the Authorization header");
    size_t len;
    if (bearer) {
        len = (size_t)snprintf(c->auth_value, cap, "Bearer %s", bearer);
    } else {
        char plain[WSC_URL_USERINFO_MAX];
        size_t plain_len;
        if (wsc_url_percent_decode(c->url->userinfo, ui_len, plain, sizeof(plain), &plain_len))
            return failf(c, WSC_EURL, "invalid URL: malformed %%-escape in the user name or password");
        memcpy(c->auth_value, "Basic ", 6);
        len = 6 + wsc__base64_encode((const uint8_t *)plain, plain_len, c->auth_value + 6);
        memset(plain, 0, sizeof(plain)); /* do not leave the password on the stack */
    }
    if (n)
        memcpy(c->req_headers, c->opt.headers, n * sizeof(struct wsc_header));
    c->req_headers[n] = (struct wsc_header){"Authorization", 13, c->auth_value, len};
    c->req.headers = c->req_headers;
    c->req.header_count = n + 1;
    return 0;
}

/* Everything before the transport exists: options, URL, buffers, request. */
int wsc__prepare(struct wsc_conn *c, const char *url, const struct wsc_options *opt)
{
    memset(c, 0, sizeof(*c));
    c->tcp.fd = -1;
    c->stats.last_rtt_us = -1;
    if (opt)
        c->opt = *opt;
    else
        wsc_options_init(&c->opt);
    apply_defaults(&c->opt);
    /* A block from one heap must never reach the other's free. */
    if (!c->opt.alloc.malloc != !c->opt.alloc.free) {
        memset(&c->opt.alloc, 0, sizeof(c->opt.alloc));
        return failf(c, WSC_EINVAL, "allocator hooks: set malloc and free together");
    }
    if (!url)
        return failf(c, WSC_EINVAL, "no URL given");
    /* The parsed URL (4.6 KB) is needed only until the connection is open;
     * the text stays for wsc_reconnect(). */
    size_t url_len = strlen(url) + 1;
    c->url = mem_alloc(c, sizeof(*c->url));
    c->url_text = mem_alloc(c, url_len);
    if (!c->url || !c->url_text)
        return failf(c, WSC_ENOMEM, "out of memory parsing the URL");
    memcpy(c->url_text, url, url_len);
    if (wsc_url_parse(url, c->url))
        return failf(c, WSC_EURL, "invalid URL: %s", c->url->error ? c->url->error : "?");
    if ((c->opt.rx_buf && c->opt.rx_buf_size < WSC_FRAME_HEADER_MAX) ||
        (c->opt.tx_buf && c->opt.tx_buf_size < WSC_SESSION_OUT_MIN))
        return failf(c, WSC_EINVAL, "caller buffers too small (input %d, output %d bytes minimum)",
                     WSC_FRAME_HEADER_MAX, WSC_SESSION_OUT_MIN);
    if (alloc_buffers(c))
        return failf(c, WSC_ENOMEM, "out of memory allocating connection buffers");

    c->req.host = c->url->host;
    c->req.port = c->url->port;
    c->req.tls = c->url->tls;
    c->req.resource = c->url->resource;
    c->req.origin = c->opt.origin;
    c->req.protocols = c->opt.protocols;
    c->req.protocol_count = c->opt.protocol_count;
    if (c->opt.compress) {
        char offer[WSC_PMD_OFFER_MAX];
        if (!wsc_deflate_available())
            return failf(c, WSC_EINVAL, "compression (permessage-deflate) is not available: "
                                        "this build has no zlib");
        if (wsc_pmd_write_offer(&c->opt.deflate_offer, offer, sizeof(offer)) < 0)
            return failf(c, WSC_EINVAL, "invalid permessage-deflate offer (window bits: "
                                        "client 9..15, server 8..15)");
        wsc_pmd_enable(&c->req, &c->opt.deflate_offer); /* the copy in c->opt lives as long */
    }
    int rc = add_authorization(c);
    if (rc)
        return rc;
    if (wsc_handshake_init(&c->hs, &c->req, c->hs_head, c->opt.max_head, c->hs_headers,
                           c->opt.max_headers))
        return failf(c, WSC_EINVAL, "invalid handshake parameters");
    return 0;
}

/*
 * Mask keys for the session, 32 frames' worth per call to the CSPRNG: one
 * getrandom() per small message was a sixth of the cost of sending it. The
 * pool lives in the connection (not a static), so threads and connections
 * never share keys; the handshake nonce is drawn directly.
 */
static int pooled_random(void *user, uint8_t *buf, size_t len)
{
    struct wsc_conn *c = user;
    if (len > sizeof(c->mask_pool))
        return c->opt.random(c->opt.random_user, buf, len);
    if (c->mask_pool_left < len) {
        int rc = c->opt.random(c->opt.random_user, c->mask_pool, sizeof(c->mask_pool));
        if (rc)
            return rc;
        c->mask_pool_left = sizeof(c->mask_pool);
    }
    /* Used bytes are wiped: a key must not be readable after its frame. A
     * mask key (4 bytes) is copied with fixed sizes, which compile to moves
     * instead of library calls. */
    uint8_t *p = c->mask_pool + sizeof(c->mask_pool) - c->mask_pool_left;
    if (len == 4) {
        memcpy(buf, p, 4);
        memset(p, 0, 4);
    } else {
        memcpy(buf, p, len);
        memset(p, 0, len);
    }
    c->mask_pool_left -= len;
    return 0;
}

/*
 * permessage-deflate was agreed: the codec (its zlib streams are set up on
 * first use) and the scratch buffer, through the connection's hooks.
 */
static int start_deflate(struct wsc_conn *c, uint64_t deadline)
{
    const struct wsc_allocator *h = &c->opt.alloc;
    struct wsc_deflate_alloc a = {h->malloc, h->realloc, h->free, h->user};
    int rc = wsc_deflate_new(&c->deflate, &c->hs.deflate_params, &a);
    c->zbuf_cap = c->out_cap < ZBUF_MAX ? c->out_cap : ZBUF_MAX;
    if (rc == 0 && !(c->zbuf = mem_alloc(c, c->zbuf_cap)))
        rc = WSC_ENOMEM;
    if (rc == 0)
        return 0;
    /* The server agreed to something we cannot do now: tell it why. */
    if (wsc_session_close(&c->session, WSC_CLOSE_INTERNAL, NULL, 0) == 0)
        flush_session(c, earlier(resolve(c, deadline), deadline_after(CLOSE_LINGER_MS)));
    if (rc == WSC_ENOMEM)
        return failf(c, rc, "out of memory setting up permessage-deflate");
    return failf(c, rc, "cannot set up permessage-deflate: %s", wsc_strerror(rc));
}

/*
 * Once open, what only connecting needed goes: the parsed URL, the request's
 * headers, the response head (max_head + max_headers bytes; what the API
 * reports of it, status, subprotocol and deflate parameters, lives in c->hs).
 */
static void shed_connect_state(struct wsc_conn *c)
{
    mem_free(c, c->url);
    mem_free(c, c->req_headers);
    mem_free(c, c->auth_value);
    c->url = NULL;
    c->req_headers = NULL;
    c->auth_value = NULL;
    c->hs.req = NULL;
    if (c->opt.keep_response_head)
        return;
    mem_free(c, c->hs_head);
    mem_free(c, c->hs_headers);
    c->hs_head = NULL;
    c->hs_headers = NULL;
    c->hs.head = NULL;
    c->hs.head_cap = 0;
    c->hs.headers = NULL;
    c->hs.header_count = c->hs.header_cap = 0;
    c->hs.reason = NULL;
    c->hs.reason_len = 0;
}

/* The 101 is in: the session starts. */
int wsc__session_start(struct wsc_conn *c, uint64_t deadline)
{
    int rc;
    struct wsc_session_config sc = {
        .max_message = c->opt.max_message,
        .out_buf = c->out,
        .out_cap = c->out_cap,
        .random = pooled_random,
        .random_user = c,
        .permessage_deflate = c->hs.deflate,
    };
    if (wsc_session_init(&c->session, &sc))
        return failf(c, WSC_EINVAL, "invalid session parameters");
    if (c->hs.deflate && (rc = start_deflate(c, deadline)) != 0)
        return rc;
    shed_connect_state(c);
    c->last_rx_ms = wsc_platform_now_ms();
    c->phase = WSC__PHASE_OPEN;
    set_state(c, WSC_CONN_OPEN);
    return 0;
}

/* The transport is up: handshake, then open the session. */
static int open_session(struct wsc_conn *c, uint64_t deadline)
{
    int rc = handshake(c, deadline);
    return rc ? rc : wsc__session_start(c, deadline);
}

/* Which proxy, if any: the explicit one, else the environment when asked. */
static int choose_proxy(struct wsc_conn *c, struct wsc_proxy *px, bool *use)
{
    const char *why = NULL;
    *use = false;
    if (c->opt.proxy && c->opt.proxy[0]) {
        if (wsc_proxy_parse(c->opt.proxy, px, &why))
            return failf(c, WSC_EURL, "invalid proxy: %s", why ? why : "?");
        const char *no_proxy = getenv("no_proxy");
        if (!no_proxy || !no_proxy[0])
            no_proxy = getenv("NO_PROXY");
        *use = !c->opt.proxy_from_env || !wsc_proxy_bypass(no_proxy, c->url->host, c->url->port);
        return 0;
    }
    if (c->opt.proxy || !c->opt.proxy_from_env)
        return 0;
    int rc = wsc_proxy_from_env(c->url, getenv, px, &why);
    if (rc < 0)
        return failf(c, WSC_EURL, "invalid %s: %s", px->source ? px->source : "proxy variable",
                     why ? why : "?");
    *use = rc == 1;
    return 0;
}

static int connect_failed(struct wsc_conn *c, const char *what, const char *host, bool ipv6,
                          uint16_t port, int rc)
{
    const char *why = rc == WSC_ECONNREFUSED ? "connection refused"
                      : rc == WSC_ETIMEDOUT  ? "timed out"
                      : rc == WSC_ERESOLVE   ? "host name not found"
                                             : wsc_strerror(rc);
    return failf(c, rc, "cannot connect to %s%s%s%s:%u: %s", what, ipv6 ? "[" : "", host,
                 ipv6 ? "]" : "", port, why);
}

static int tcp_to(struct wsc_conn *c, const char *what, const char *host, bool ipv6,
                  uint16_t port, uint64_t deadline)
{
    int rc = wsc_tcp_connect(&c->tcp, host, port, ms_left(deadline));
    if (rc)
        return connect_failed(c, what, host, ipv6, port, rc);
    wsc_tcp_transport(&c->tcp, &c->tr);
    c->tr_open = true;
    return 0;
}

static void free_proxying(struct wsc_conn *c)
{
    mem_free(c, c->proxying);
    c->proxying = NULL;
}

/* Event loops: the TCP connect started by wsc__connect_layers() is done when
 * this returns 0; WSC_EAGAIN while it is still in progress. */
int wsc__tcp_finish(struct wsc_conn *c)
{
    int rc = wsc_tcp_connect_finish(&c->tcp);
    if (rc == WSC_EAGAIN || rc == 0)
        return rc;
    c->tr_open = false; /* the descriptor is gone already */
    const struct wsc__proxying *p = c->proxying;
    if (p)
        return connect_failed(c, "proxy ", p->host, p->ipv6, p->port, rc);
    return connect_failed(c, "", c->url->host, c->url->ipv6, c->url->port, rc);
}

/* Event loops: one step of the CONNECT exchange. 0 once the tunnel is open,
 * its first bytes in the input buffer; WSC_EAGAIN (c->tls_want says for what),
 * or the failure. */
int wsc__proxy_step(struct wsc_conn *c)
{
    char detail[WSC_ERROR_DETAIL_MAX];
    size_t left = 0;
    int want = 0;
    c->phase = WSC__PHASE_PROXY;
    int rc = wsc_proxy_step(&c->proxying->x, &c->tr, c->in, c->in_cap, &left, &want, detail,
                            sizeof(detail));
    if (rc == WSC_EAGAIN) {
        c->tls_want = (uint8_t)want;
        return rc;
    }
    free_proxying(c);
    if (rc)
        return failf(c, rc, "%s", detail[0] ? detail : wsc_strerror(rc));
    /* What followed the proxy's reply is the start of the tunnel: keep it. */
    c->in_start = 0;
    c->in_end = left;
    c->phase = 0;
    return 0;
}

/* Event loops: the request for the exchange, and the TCP connect to the proxy
 * started; the loop finishes both. */
static int start_proxying(struct wsc_conn *c, const struct wsc_proxy *px)
{
    c->proxying = mem_alloc(c, sizeof(*c->proxying));
    if (!c->proxying)
        return failf(c, WSC_ENOMEM, "out of memory for the proxy exchange");
    struct wsc__proxying *p = c->proxying;
    memcpy(p->host, px->host, sizeof(p->host));
    p->port = px->port;
    p->ipv6 = px->ipv6;
    char detail[WSC_ERROR_DETAIL_MAX];
    int rc = wsc_proxy_start(&p->x, px, c->url->host, c->url->ipv6, c->url->port, detail,
                             sizeof(detail));
    if (rc)
        return failf(c, rc, "%s", detail[0] ? detail : wsc_strerror(rc));
    trace(c, WSC_TRACE_REQUEST, "CONNECT %s:%u via proxy %s:%u%s%s", c->url->host,
          c->url->port, px->host, px->port, px->source ? " from " : "",
          px->source ? px->source : "");
    rc = wsc_tcp_connect_start(&c->tcp, px->host, px->port);
    if (rc && rc != WSC_EAGAIN)
        return connect_failed(c, "proxy ", px->host, px->ipv6, px->port, rc);
    return 0;
}

/* After wsc_tls_start() or wsc_tls_connect() returned @p rc: the input buffer
 * went to TLS as preread, and the TLS transport is the connection's, or the
 * failure is recorded. */
static int tls_in_place(struct wsc_conn *c, int rc, const char *why)
{
    c->in_start = c->in_end = 0;
    if (rc == WSC_ENOTLS)
        return failf(c, rc, "wss:// needs TLS, which is not available in this build");
    if (rc)
        return failf(c, rc, "TLS with %s failed: %s", c->url->host,
                     why[0] ? why : wsc_strerror(rc));
    wsc_tls_transport(c->tls, &c->tr);
    c->tr_open = true;
    return 0;
}

/* Event loops: TLS over the connected TCP transport, the handshake run by
 * wsc__tls_step() as the socket allows. */
int wsc__tls_begin(struct wsc_conn *c)
{
    char why[WSC_ERROR_DETAIL_MAX];
    why[0] = '\0';
    struct wsc_transport lower = c->tr;
    c->tr_open = false; /* wsc_tls_start owns it now, and closes it on failure */
    int rc = wsc_tls_start(&c->tls, &lower, c->url->host, &c->opt.tls, c->in + c->in_start,
                           c->in_end - c->in_start, why, sizeof(why));
    if ((rc = tls_in_place(c, rc, why)) != 0)
        return rc;
    c->phase = WSC__PHASE_TLS;
    return wsc__tls_step(c);
}

/* 0 once the TLS handshake is done, WSC_EAGAIN (c->tls_want says for what),
 * or the failure. */
int wsc__tls_step(struct wsc_conn *c)
{
    char why[WSC_ERROR_DETAIL_MAX];
    why[0] = '\0';
    int want = 0;
    int rc = wsc_tls_handshake_step(c->tls, &want, why, sizeof(why));
    if (rc == WSC_EAGAIN) {
        c->tls_want = (uint8_t)want;
        return rc;
    }
    if (rc)
        return failf(c, rc, "TLS with %s failed: %s", c->url->host,
                     why[0] ? why : wsc_strerror(rc));
    c->phase = 0;
    return 0;
}

/*
 * Stacks TLS on the connected transport. Bytes already in the input buffer (a
 * proxy's tunnel start) belong to the TLS stream: they go to the TLS layer as
 * preread, and the input buffer then holds only decrypted bytes.
 */
static int start_tls(struct wsc_conn *c, uint64_t deadline)
{
    char why[WSC_ERROR_DETAIL_MAX];
    why[0] = '\0';
    struct wsc_transport lower = c->tr;
    c->tr_open = false; /* wsc_tls_connect owns it now, and closes it on failure */
    int rc = wsc_tls_connect(&c->tls, &lower, c->url->host, &c->opt.tls, c->in + c->in_start,
                             c->in_end - c->in_start, ms_left(deadline), why, sizeof(why));
    return tls_in_place(c, rc, why);
}

/*
 * TCP (to the server or the proxy), the CONNECT tunnel, TLS: the transport
 * under the WebSocket handshake. Without @p wait the TCP connect is only
 * started (WSC_EAGAIN, phase TCP) and the event loop finishes it and runs the
 * CONNECT exchange and the TLS handshake; with it, all of it completes here,
 * within the connect timeout.
 */
int wsc__connect_layers(struct wsc_conn *c, bool wait)
{
    struct wsc_proxy px;
    bool use_proxy;
    int rc = choose_proxy(c, &px, &use_proxy);
    if (rc)
        return rc;
    uint64_t deadline = c->connect_deadline;
    set_state(c, WSC_CONN_CONNECTING);
    if (!wait) {
        if (use_proxy)
            rc = start_proxying(c, &px);
        else if ((rc = wsc_tcp_connect_start(&c->tcp, c->url->host, c->url->port)) != 0 &&
                 rc != WSC_EAGAIN)
            rc = connect_failed(c, "", c->url->host, c->url->ipv6, c->url->port, rc);
        else
            rc = 0;
        if (rc)
            return rc;
        wsc_tcp_transport(&c->tcp, &c->tr);
        c->tr_open = true;
        c->phase = WSC__PHASE_TCP; /* finished (then CONNECT, TLS) in the loop */
        return WSC_EAGAIN;
    }
    if (!use_proxy)
        rc = tcp_to(c, "", c->url->host, c->url->ipv6, c->url->port, deadline);
    else if ((rc = tcp_to(c, "proxy ", px.host, px.ipv6, px.port, deadline)) == 0) {
        trace(c, WSC_TRACE_REQUEST, "CONNECT %s:%u via proxy %s:%u%s%s", c->url->host,
              c->url->port, px.host, px.port, px.source ? " from " : "",
              px.source ? px.source : "");
        char detail[WSC_ERROR_DETAIL_MAX];
        size_t left = 0;
        rc = wsc_proxy_connect(&c->tr, &px, c->url->host, c->url->ipv6, c->url->port, c->in,
                               c->in_cap, &left, ms_left(deadline), detail, sizeof(detail));
        if (rc)
            return failf(c, rc, "%s", detail[0] ? detail : wsc_strerror(rc));
        /* What followed the proxy's reply is the start of the tunnel: keep it. */
        c->in_start = 0;
        c->in_end = left;
    }
    if (rc == 0 && c->url->tls)
        rc = start_tls(c, deadline);
    return rc;
}

static int connect_once(struct wsc_conn *c, const char *url, const struct wsc_options *opt)
{
    int rc = wsc__prepare(c, url, opt);
    if (rc)
        return rc;
    c->connect_deadline = deadline_after(c->opt.connect_timeout_ms);
    rc = wsc__connect_layers(c, true);
    return rc ? rc : open_session(c, c->connect_deadline);
}

static bool is_redirect(int status)
{
    return status == 301 || status == 302 || status == 307 || status == 308;
}

/* Rewrites the failure detail of a redirect that is not followed, saying why. */
static int redirect_refused(struct wsc_conn *c, const char *why, const char *target)
{
    if (!c->detail)
        return c->error;
    size_t used = strlen(c->detail);
    snprintf(c->detail + used, WSC_ERROR_DETAIL_MAX - used, "; %s%s%s", why,
             target ? ": " : "", target ? target : "");
    return c->error;
}

bool wsc__redirect_next(struct wsc_conn *c, int rc, int hops, char *next, size_t cap)
{
    if (rc != WSC_EHS_STATUS || !is_redirect(c->hs.status) || c->opt.max_redirects <= 0)
        return false;
    const struct wsc_header *loc = wsc_handshake_header(&c->hs, "location");
    if (!loc)
        return redirect_refused(c, "the redirect has no Location", NULL), false;
    if (wsc_url_resolve(c->url, loc->value, loc->value_len, next, cap))
        return redirect_refused(c, "cannot follow the Location", "not a ws/wss/http(s) URL"),
               false;
    if (hops >= c->opt.max_redirects || hops >= WSC__MAX_HOPS)
        return redirect_refused(c, "too many redirects", NULL), false;
    struct wsc_url target;
    if (wsc_url_parse(next, &target))
        return redirect_refused(c, "cannot follow the Location", next), false;
    /* Never let a redirect silently drop TLS. */
    if (c->url->tls && !target.tls && !c->opt.allow_tls_downgrade)
        return redirect_refused(c, "refusing a redirect from wss:// to ws://", next), false;
    trace(c, WSC_TRACE_RESPONSE, "following %d redirect to %s", c->hs.status, next);
    return true;
}

void wsc__close_transport(struct wsc_conn *c)
{
    close_transport(c);
}

bool wsc__hold_socket(struct wsc_conn *c, struct wsc_tcp *held)
{
    if (!c->tr_open || !c->tcp.owned || c->tcp.fd < 0)
        return false; /* none, or an adopted transport: the caller's */
    wsc_tcp_adopt(held, c->tcp.fd, true);
    c->tcp.owned = false; /* closing the connection leaves it open */
    return true;
}

void wsc__release_socket(struct wsc_tcp *held)
{
    struct wsc_transport tr;
    wsc_tcp_transport(held, &tr);
    tr.ops->close(tr.ctx);
}

int wsc_connect(struct wsc_conn *c, const char *url, const struct wsc_options *opt)
{
    if (!c)
        return WSC_EINVAL;
    char next[WSC__REDIRECT_URL_MAX];
    for (int hops = 0;; hops++) {
        int rc = connect_once(c, url, opt);
        if (!wsc__redirect_next(c, rc, hops, next, sizeof(next)))
            return rc;
        wsc_conn_free(c);
        url = next;
    }
}

/* wsc_connect_transport() up to the handshake: options, buffers, the transport
 * taken over, and what was read from it before. */
int wsc__adopt_transport(struct wsc_conn *c, const struct wsc_transport *tr, const char *url,
                         const struct wsc_options *opt)
{
    int rc = wsc__prepare(c, url, opt);
    c->tr = *tr;
    c->tr_open = true; /* ours now, closed on every path below */
    if (rc) {
        close_transport(c);
        return rc;
    }
    c->connect_deadline = deadline_after(c->opt.connect_timeout_ms);
    /* Bytes read before the connection took over the transport (the start of
     * a proxy tunnel) are its first input, ahead of every later read. */
    if (c->opt.preread_len) {
        if (!c->opt.preread)
            return failf(c, WSC_EINVAL, "preread_len is set but preread is NULL");
        if (c->opt.preread_len > c->in_cap)
            return failf(c, WSC_ENOBUFS,
                         "%zu bytes read before the handshake exceed the %zu-byte input "
                         "buffer", c->opt.preread_len, c->in_cap);
        memmove(c->in, c->opt.preread, c->opt.preread_len); /* may overlap: rx_buf */
        c->in_end = c->opt.preread_len;
    }
    return 0;
}

int wsc_connect_transport(struct wsc_conn *c, const struct wsc_transport *tr,
                          const char *url, const struct wsc_options *opt)
{
    if (!c || !tr || !tr->ops)
        return WSC_EINVAL;
    int rc = wsc__adopt_transport(c, tr, url, opt);
    return rc ? rc : open_session(c, c->connect_deadline);
}

/* ---- receive ---------------------------------------------------------- */

static void trace_control(struct wsc_conn *c, enum wsc_trace_kind kind, const char *what,
                          const uint8_t *p, size_t len)
{
    trace(c, kind, "%s (%zu bytes) '%.*s'", what, len, (int)(len > 125 ? 125 : len),
          (const char *)p);
}

/*
 * Sends what is queued (the close frame), then lets the server close TCP first
 * (RFC 6455 7.1.1) while discarding what it still sends: closing a socket with
 * unread input makes the kernel send RST, which can destroy our close frame
 * before the server reads it.
 */
static int linger_close(struct wsc_conn *c, uint64_t deadline)
{
    if (c->nonblock) {
        int rc = flush_session(c, 0);
        if (rc == 0 && c->tr_open && !c->lingering) {
            c->lingering = true;
            c->linger_until = wsc_platform_now_ms() + CLOSE_LINGER_MS;
            wsc__linger_step(c);
        } else if (rc) {
            close_transport(c);
        }
        return rc;
    }
    uint64_t until = earlier(resolve(c, deadline), deadline_after(CLOSE_LINGER_MS));
    int rc = flush_session(c, until);
    if (rc == 0 && c->tr_open) {
        c->tr.ops->shutdown(c->tr.ctx);
        while (!c->peer_eof) {
            c->in_start = c->in_end = 0; /* nothing after a close is data */
            if (fill(c, until) != 0)
                break;
        }
    }
    close_transport(c);
    return rc;
}

/*
 * linger_close() for event loops, one step per call: send what is queued, then
 * FIN, then read and drop until the peer's FIN, an error or linger_until.
 */
void wsc__linger_step(struct wsc_conn *c)
{
    if (!c->lingering)
        return;
    if (!c->tr_open) {
        c->lingering = false;
        return;
    }
    bool late = wsc_platform_now_ms() >= c->linger_until;
    if (flush_session(c, 0) != 0 || late) {
        c->lingering = false;
        close_transport(c);
        return;
    }
    if (wsc_session_queued(&c->session) > 0)
        return; /* the rest goes once the socket is writable */
    if (!c->shut) {
        c->tr.ops->shutdown(c->tr.ctx);
        c->shut = true;
    }
    for (;;) {
        c->in_start = c->in_end = 0; /* nothing after a close is data */
        int rc = read_some(c, false);
        if (rc == WSC_EAGAIN)
            return;
        if (rc) {
            c->lingering = false;
            close_transport(c);
            return;
        }
    }
}

/* The peer's close arrived and our reply is queued. */
static void finish_close(struct wsc_conn *c, uint64_t deadline)
{
    linger_close(c, deadline);
    set_state(c, WSC_CONN_CLOSED);
}

/* Session failed on a peer violation: send its close frame, then give up. */
static int protocol_failure(struct wsc_conn *c, int rc, uint64_t deadline)
{
    linger_close(c, deadline);
    uint16_t code = wsc_error_close_code(rc);
    return failf(c, rc, "%s, at stream offset %llu (sent close %u)", wsc_strerror(rc),
                 (unsigned long long)c->rx_offset, code);
}

/*
 * Returns the next DATA event (or PING/PONG with @p want_control), answering
 * control frames on the way. @p max_len bounds a DATA chunk.
 */
static int next_event(struct wsc_conn *c, size_t max_len, bool want_control,
                      uint64_t deadline, struct wsc_event *ev)
{
    if (c->state == WSC_CONN_FAILED)
        return c->error;
    if (c->state == WSC_CONN_CLOSED || c->state == WSC_CONN_IDLE)
        return c->session.peer_close_code ? WSC_ECLOSED : WSC_ENOTCONN;
    /* Still connecting (event loops): no message yet. */
    if (c->state == WSC_CONN_CONNECTING || c->state == WSC_CONN_HANDSHAKING)
        return c->nonblock ? WSC_EAGAIN : WSC_ENOTCONN;
    for (;;) {
        size_t avail = c->in_end - c->in_start, used;
        int rc = wsc_session_next(&c->session, c->in + c->in_start,
                                  avail < max_len ? avail : max_len, &used, ev);
        c->in_start += used;
        c->rx_offset += used;
        if (rc == 0) {
            if (ev->type == WSC_EV_DATA)
                return 0;
            if (ev->type == WSC_EV_PING) {
                c->stats.pings_in++;
                if (c->state == WSC_CONN_OPEN || c->state == WSC_CONN_CLOSING)
                    c->stats.pongs_out++;
                trace_control(c, WSC_TRACE_RECV, "ping", ev->data, ev->len);
                trace_control(c, WSC_TRACE_SEND, "pong", ev->data, ev->len);
                /* Answer now if the socket takes it; else it goes with the next call. */
                int frc = flush_session(c, wsc_platform_now_ms());
                if (frc && frc != WSC_ETIMEDOUT)
                    return failf(c, frc, "sending a pong failed: %s", transport_error(c, frc));
            } else if (ev->type == WSC_EV_PONG) {
                c->stats.pongs_in++;
                trace_control(c, WSC_TRACE_RECV, "pong", ev->data, ev->len);
                if (c->rtt_pending && ev->len == c->ping_payload_len &&
                    (ev->len == 0 || memcmp(ev->data, c->ping_payload, ev->len) == 0)) {
                    c->stats.last_rtt_us = (int64_t)(wsc_platform_now_us() - c->ping_sent_us);
                    c->rtt_pending = false;
                }
            } else {
                /* The reason lies in the session's control-frame buffer, which
                 * nothing overwrites: no frame is decoded after the close. */
                size_t n = ev->len;
                c->close_reason = (const char *)ev->data;
                c->close_reason_len = n;
                trace(c, WSC_TRACE_RECV, "close %u '%.*s'", ev->close_code, (int)n,
                      c->close_reason);
                if (c->state == WSC_CONN_OPEN)
                    trace(c, WSC_TRACE_SEND, "close %u (echo)",
                          ev->close_code == WSC_CLOSE_NO_STATUS ? 0 : ev->close_code);
                set_state(c, WSC_CONN_CLOSING);
                finish_close(c, deadline);
                return WSC_ECLOSED;
            }
            if (want_control)
                return 0;
            continue;
        }
        if (rc == WSC_ECLOSED) {
            finish_close(c, deadline);
            return WSC_ECLOSED;
        }
        if (rc != WSC_EAGAIN)
            return protocol_failure(c, rc, deadline);
        /* A max_len below what is buffered showed the session only part of it
         * (say half a frame header): the rest is still here, so decode it
         * before waiting for the transport, which may have nothing more. */
        if (c->in_start < c->in_end)
            continue;
        /* Everything buffered is consumed; only now read the transport again. */
        int frc = flush_session(c, wsc_platform_now_ms());
        if (frc && frc != WSC_ETIMEDOUT)
            return failf(c, frc, "sending failed: %s", transport_error(c, frc));
        rc = fill(c, deadline);
        if (rc == WSC_ETIMEDOUT || rc == WSC_EAGAIN)
            return rc; /* not fatal: partial input stays buffered */
        if (rc)
            return failf(c, rc, "%s", transport_error(c, rc));
    }
}

/* ---- receiving compressed messages (RFC 7692 7.2.2) -------------------- */

/*
 * The session hands over a compressed message's payload as it arrives, and
 * consumes it from the input buffer. It is inflated from where it lies: the
 * span stays in zrx until the inflater has taken it, and the input buffer is
 * not compacted meanwhile (only fill() moves it, and only next_event() calls
 * fill(), never while a span is pending).
 */
static void zrx_take(struct wsc_conn *c, const struct wsc_event *ev)
{
    if (ev->first) {
        c->zrx.active = true;
        c->zrx.first = true;
        c->zrx.opcode = ev->opcode;
        wsc_utf8_reset(&c->zrx.utf8);
    }
    c->zrx.off = (size_t)(ev->data - c->in);
    c->zrx.len = ev->len;
    c->zrx.fin = ev->fin;
    c->zrx.frame_fin = ev->frame_fin;
    c->zrx.frame_left = ev->remaining;
    c->zrx.pending = true;
    c->stats.compressed_in += ev->len;
}

/* Our side cannot go on (memory, a codec fault): close with 1011, then fail.
 * @p doing says what failed, as in "inflating a message". */
static int internal_failure(struct wsc_conn *c, int err, uint64_t deadline,
                            const char *doing)
{
    if (wsc_session_close(&c->session, WSC_CLOSE_INTERNAL, NULL, 0) == 0)
        linger_close(c, deadline);
    if (err == WSC_ENOMEM)
        return failf(c, err, "out of memory %s (sent close 1011)", doing);
    return failf(c, err, "%s failed: %s (sent close 1011)", doing, wsc_strerror(err));
}

/* A compressed message failed: a peer violation closes with its code (1007,
 * 1009); our own failure (memory) with 1011. */
static int zrx_fail(struct wsc_conn *c, int err, uint64_t deadline)
{
    c->zrx.active = c->zrx.pending = false;
    c->zrx.error = 0;
    if (!wsc_error_close_code(err))
        return internal_failure(c, err, deadline, "inflating a message");
    wsc_session_fail(&c->session, err);
    linger_close(c, deadline);
    return failf(c, err, "%s, in a compressed message ending before stream offset %llu "
                         "(sent close %u)",
                 wsc_strerror(err), (unsigned long long)c->rx_offset,
                 wsc_error_close_code(err));
}

/*
 * Inflates what is pending of the compressed message into out[0..cap) and
 * describes the bytes in *ev: a DATA event that may be empty (the caller skips
 * those unless they end the message). A fault found after some valid bytes
 * delivers those first and is kept in zrx.error for the next call.
 */
static int zrx_inflate(struct wsc_conn *c, uint8_t *out, size_t cap, uint64_t deadline,
                       struct wsc_event *ev)
{
    size_t used, made;
    bool done;
    int rc = wsc_deflate_decompress(c->deflate, c->in + c->zrx.off, c->zrx.len, c->zrx.fin,
                                    c->opt.max_message, out, cap, &used, &made, &done);
    c->zrx.off += used;
    c->zrx.len -= used;
    int err = 0;
    if (rc == 0)
        c->zrx.pending = false; /* all taken; with fin, the message is complete */
    else if (rc != WSC_ENOBUFS)
        err = rc;
    /* RFC 6455 8.1 on the inflated text (the session cannot see it). */
    if (c->zrx.opcode == WSC_OP_TEXT) {
        size_t ok = wsc_utf8_validate(&c->zrx.utf8, out, made);
        if (ok < made) {
            made = ok;
            err = WSC_EUTF8;
        } else if (done && !wsc_utf8_complete(&c->zrx.utf8)) {
            made -= made ? 1 : 0; /* the last byte is the one that fails it */
            err = WSC_EUTF8;
        }
    }
    c->stats.uncompressed_in += made;
    if (err && made == 0)
        return zrx_fail(c, err, deadline);
    c->zrx.error = err;
    memset(ev, 0, sizeof(*ev));
    ev->type = WSC_EV_DATA;
    ev->opcode = c->zrx.opcode;
    ev->compressed = true;
    ev->data = out;
    ev->len = made;
    ev->fin = done && !err;
    ev->first = c->zrx.first && (made || ev->fin);
    ev->frame_fin = c->zrx.frame_fin;
    /* Nonzero while this frame has more to give: compressed bytes, or output. */
    ev->remaining = c->zrx.frame_left + c->zrx.len;
    if (ev->remaining == 0 && c->zrx.pending)
        ev->remaining = 1;
    if (ev->first)
        c->zrx.first = false;
    if (ev->fin)
        c->zrx.active = false;
    return 0;
}

/* A fault of the compressed message, kept until its valid bytes were out; or
 * the connection ended meanwhile (wsc_close() discards what is pending). */
static int zrx_check(struct wsc_conn *c, uint64_t deadline)
{
    if (c->state == WSC_CONN_FAILED)
        return c->error;
    if (c->state == WSC_CONN_CLOSED || c->state == WSC_CONN_IDLE) {
        c->zrx.active = c->zrx.pending = false;
        c->zrx.error = 0;
        return c->session.peer_close_code ? WSC_ECLOSED : WSC_ENOTCONN;
    }
    return c->zrx.error ? zrx_fail(c, c->zrx.error, deadline) : 0;
}

/*
 * next_event() for wsc_recv_chunk() and wsc_recv_event(): the same events,
 * except that a compressed message comes inflated into out[0..cap) in DATA
 * events that are never empty unless they end the message.
 */
static int next_data(struct wsc_conn *c, size_t max_len, bool want_control, uint8_t *out,
                     size_t cap, uint64_t deadline, struct wsc_event *ev)
{
    for (;;) {
        int rc = zrx_check(c, deadline);
        if (rc)
            return rc;
        if (!c->zrx.pending) {
            rc = next_event(c, max_len, want_control, deadline, ev);
            if (rc || ev->type != WSC_EV_DATA || !ev->compressed)
                return rc;
            zrx_take(c, ev);
        }
        rc = zrx_inflate(c, out, cap, deadline, ev);
        if (rc || ev->len || ev->fin)
            return rc;
    }
}

static int append_message(struct wsc_conn *c, const uint8_t *p, size_t n)
{
    if (n && c->msg && p == c->msg + c->msg_len) { /* read there directly (recv_direct) */
        c->msg_len += n;
        return 0;
    }
    if (c->msg_cap - c->msg_len < n) {
        size_t cap = c->msg_cap ? c->msg_cap : 4096;
        while (cap - c->msg_len < n)
            cap *= 2;
        uint8_t *m = mem_realloc(c, c->msg, c->msg_len, cap);
        if (!m)
            return WSC_ENOMEM;
        c->msg = m;
        c->msg_cap = cap;
    }
    if (n)
        memcpy(c->msg + c->msg_len, p, n);
    c->msg_len += n;
    return 0;
}

/*
 * Room for inflating into the reassembly buffer: doubled as needed, never
 * beyond max_message + 1 bytes, all the inflater can write for a message.
 */
static int grow_for_inflate(struct wsc_conn *c)
{
    if (c->msg_cap > c->msg_len)
        return 0;
    uint64_t most = c->opt.max_message < SIZE_MAX - 1 ? c->opt.max_message + 1 : SIZE_MAX;
    size_t cap = c->msg_cap ? c->msg_cap : 4096;
    while (cap <= c->msg_len && cap <= SIZE_MAX / 2)
        cap *= 2;
    if (cap > most)
        cap = (size_t)most;
    if (cap <= c->msg_len)
        return WSC_ENOMEM;
    uint8_t *m = mem_realloc(c, c->msg, c->msg_len, cap);
    if (!m)
        return WSC_ENOMEM;
    c->msg = m;
    c->msg_cap = cap;
    return 0;
}

/* wsc_recv() for a compressed message: inflated whole into c->msg. */
static int recv_inflated(struct wsc_conn *c, struct wsc_message *m, uint64_t deadline)
{
    for (;;) {
        int rc = zrx_check(c, deadline);
        if (rc)
            return rc;
        if (!c->zrx.pending)
            return WSC_EAGAIN; /* wait for the next frame */
        if (grow_for_inflate(c))
            return zrx_fail(c, WSC_ENOMEM, deadline);
        struct wsc_event ev;
        rc = zrx_inflate(c, c->msg + c->msg_len, c->msg_cap - c->msg_len, deadline, &ev);
        if (rc)
            return rc;
        c->msg_len += ev.len;
        if (ev.fin) {
            m->opcode = ev.opcode;
            m->data = c->msg;
            m->len = c->msg_len;
            c->msg_len = 0;
            c->stats.messages_in++;
            c->stats.payload_in += m->len;
            return 0;
        }
    }
}

/* Room for @p n more bytes in the reassembly buffer, grown exactly. */
static int reserve_message(struct wsc_conn *c, size_t n)
{
    if (c->msg_cap - c->msg_len >= n)
        return 0;
    uint8_t *m = mem_realloc(c, c->msg, c->msg_len, c->msg_len + n);
    if (!m)
        return WSC_ENOMEM;
    c->msg = m;
    c->msg_cap = c->msg_len + n;
    return 0;
}

/*
 * The frame at the start of the buffered input is not all in, but would fit
 * the input buffer, so it is worth reading the rest before decoding. Only
 * for a frame the session will take: one it would fail on (RSV bits, a mask,
 * a reserved opcode, a continuation, a control frame of over 125 bytes or a
 * one-byte close), or text already invalid in what is
 * here, is decoded at once, so the failure is not delayed (RFC 6455 8.1: fail
 * fast). Inline for frames up to 64 KiB: the first test runs per message.
 */
static inline bool frame_straddles(const struct wsc_conn *c)
{
    size_t have = c->in_end - c->in_start;
    const uint8_t *h = c->in + c->in_start;
    uint64_t size;
    size_t hl;
    if (have >= 2 && h[1] < 126) {
        size = 2u + h[1];
        hl = 2;
    } else if (have >= 4 && h[1] == 126) {
        size = 4u + ((size_t)h[2] << 8 | h[3]);
        hl = 4;
    } else if (have == 0 || wsc_frame_peek_size(h, have, &size) != 0) {
        return false;
    } else {
        hl = 10;
    }
    if (size <= have || size > c->in_cap)
        return false;
    uint8_t op = h[0] & 0x0f;
    if ((h[0] & 0x70) || (h[1] & 0x80) || op == 0 || (op > 2 && op < 8) || op > 10)
        return false;
    if (op >= 8 && (h[1] > WSC_CONTROL_MAX || (op == WSC_OP_CLOSE && h[1] == 1)))
        return false; /* a control frame the session refuses at its header */
    if (op == WSC_OP_TEXT) {
        struct wsc_utf8 u;
        wsc_utf8_reset(&u);
        if (wsc_utf8_validate(&u, h + hl, have - hl) != have - hl)
            return false;
    }
    return true;
}

/*
 * wsc_recv() without copies where it can: a frame that fits the input buffer
 * but is not all in yet is read in whole before it is decoded, so the message
 * is returned in place instead of being reassembled; the payload of a frame
 * larger than the input buffer is read straight into the reassembly buffer
 * and decoded there. Called when frame_straddles() or, mid-frame, the input
 * buffer is empty. Returns 0 with a DATA event over c->msg, 1 to go on as
 * usual (decode what is buffered), 2 after reading more input, or WSC_EAGAIN
 * / WSC_ETIMEDOUT from reading (nothing lost). A read error is left to the
 * usual path, which reports it after decoding what came before.
 */
static int recv_direct(struct wsc_conn *c, uint64_t deadline, struct wsc_event *ev)
{
    int rc;
    if (wsc_session_at_frame_start(&c->session)) {
        rc = fill(c, deadline);
        return rc == 0 ? 2 : rc == WSC_EAGAIN || rc == WSC_ETIMEDOUT ? rc : 1;
    }
    uint64_t left = wsc_session_data_remaining(&c->session);
    if (left < DIRECT_MIN)
        return 1;
    size_t want = left < (uint64_t)(SIZE_MAX / 2) ? (size_t)left : SIZE_MAX / 2;
    if (reserve_message(c, want))
        return failf(c, WSC_ENOMEM,
                     "out of memory reassembling a message (%llu bytes received so far)",
                     (unsigned long long)c->msg_len);
    uint8_t *dst = c->msg + c->msg_len;
    size_t got = 0, used;
    rc = fill_into(c, deadline, dst, want, &got);
    if (rc)
        return rc == WSC_EAGAIN || rc == WSC_ETIMEDOUT ? rc : 1;
    rc = wsc_session_next(&c->session, dst, got, &used, ev);
    c->rx_offset += used;
    if (used < got) {
        /* Invalid UTF-8 inside: the session fails at the first bad byte next
         * time; give it those bytes back through the (empty) input buffer. */
        size_t n = got - used < c->in_cap ? got - used : c->in_cap;
        memcpy(c->in, dst + used, n);
        c->in_start = 0;
        c->in_end = n;
    }
    if (rc == 0 && ev->type == WSC_EV_DATA)
        return 0;
    return rc && rc != WSC_EAGAIN ? protocol_failure(c, rc, deadline) : 1;
}

int wsc_recv(struct wsc_conn *c, struct wsc_message *m, int timeout_ms)
{
    if (!c || !m)
        return WSC_EINVAL;
    uint64_t deadline = call_deadline(c, timeout_ms);
    for (;;) {
        struct wsc_event ev;
        int rc;
        if (c->zrx.pending || c->zrx.error) {
            rc = recv_inflated(c, m, deadline);
            if (rc != WSC_EAGAIN)
                return rc;
        }
        rc = 1;
        if (!c->zrx.active && (c->state == WSC_CONN_OPEN || c->state == WSC_CONN_CLOSING) &&
            (wsc_session_at_frame_start(&c->session) ? frame_straddles(c)
                                                     : c->in_start == c->in_end))
            rc = recv_direct(c, deadline, &ev);
        if (rc == 2)
            continue;
        if (rc == 1)
            rc = next_event(c, SIZE_MAX, c->opt.report_control, deadline, &ev);
        if (rc)
            return rc;
        if (ev.type == WSC_EV_DATA && ev.compressed) {
            /* Never in place: the input holds the compressed bytes. */
            if (ev.first)
                c->msg_len = 0;
            zrx_take(c, &ev);
            continue;
        }
        if (ev.type != WSC_EV_DATA) {
            m->opcode = ev.type == WSC_EV_PING ? WSC_OP_PING : WSC_OP_PONG;
            m->data = ev.data;
            m->len = ev.len;
            return 0;
        }
        if (ev.first)
            c->msg_len = 0;
        if (ev.first && ev.fin) {
            /* The whole message sits in the input buffer: no copy. */
            m->opcode = ev.opcode;
            m->data = ev.data;
            m->len = ev.len;
            c->stats.messages_in++;
            c->stats.payload_in += ev.len;
            return 0;
        }
        if (append_message(c, ev.data, ev.len))
            return failf(c, WSC_ENOMEM,
                         "out of memory reassembling a message (%llu bytes received so far)",
                         (unsigned long long)(c->msg_len + ev.len));
        if (ev.fin) {
            m->opcode = ev.opcode;
            m->data = c->msg;
            m->len = c->msg_len;
            c->msg_len = 0;
            c->stats.messages_in++;
            c->stats.payload_in += m->len;
            return 0;
        }
    }
}

int wsc_recv_chunk(struct wsc_conn *c, void *buf, size_t cap, struct wsc_chunk *ch,
                   int timeout_ms)
{
    if (!c || !buf || !ch || cap == 0)
        return WSC_EINVAL;
    uint64_t deadline = call_deadline(c, timeout_ms);
    for (;;) {
        struct wsc_event ev;
        /* Compressed messages are inflated straight into buf. */
        int rc = next_data(c, cap, false, buf, cap, deadline, &ev);
        if (rc)
            return rc;
        if (ev.type != WSC_EV_DATA)
            continue; /* control events have no place in a byte stream */
        if (ev.len == 0 && !ev.fin) {
            c->chunk_first |= ev.first; /* an empty frame carries nothing */
            continue;
        }
        if (ev.data != buf && ev.len)
            memcpy(buf, ev.data, ev.len);
        ch->opcode = ev.opcode;
        ch->first = ev.first || c->chunk_first;
        ch->fin = ev.fin;
        ch->len = ev.len;
        ch->remaining = ev.remaining;
        c->chunk_first = false;
        c->stats.payload_in += ev.len;
        c->stats.messages_in += ev.fin;
        return 0;
    }
}

int wsc_recv_event(struct wsc_conn *c, struct wsc_event *ev, size_t max_len,
                   int timeout_ms)
{
    if (!c || !ev || max_len == 0)
        return WSC_EINVAL;
    size_t zcap = max_len < c->zbuf_cap ? max_len : c->zbuf_cap;
    int rc = next_data(c, max_len, true, c->zbuf, zcap, call_deadline(c, timeout_ms), ev);
    if (rc == 0 && ev->type == WSC_EV_DATA) {
        c->stats.payload_in += ev->len;
        c->stats.messages_in += ev->fin;
    }
    return rc;
}

/* ---- send ------------------------------------------------------------- */

static int send_failed(struct wsc_conn *c, int rc)
{
    if (rc == WSC_ETIMEDOUT)
        return failf(c, rc, "timed out sending");
    return failf(c, rc, "sending failed: %s", transport_error(c, rc));
}

static int check_open(struct wsc_conn *c)
{
    if (c->state == WSC_CONN_FAILED)
        return c->error;
    if (c->state != WSC_CONN_OPEN)
        return WSC_ENOTCONN;
    return 0;
}

/*
 * One frame of a compressed message: compressed bytes p[0..n), RSV1 on the
 * first frame only (RFC 7692 6). The output buffer is sent only when full:
 * the caller flushes at the end of the call.
 */
static int send_zframe(struct wsc_conn *c, const uint8_t *p, size_t n, bool fin,
                       uint64_t deadline)
{
    uint8_t op = c->ztx.started ? WSC_OP_CONTINUATION : c->ztx.opcode;
    uint8_t rsv = c->ztx.started ? 0 : WSC_RSV1;
    int rc;
    while ((rc = wsc_session_frame_begin_rsv(&c->session, op, fin, rsv, n)) == WSC_EAGAIN) {
        rc = flush_session(c, deadline);
        if (rc)
            return send_failed(c, rc);
    }
    if (rc)
        return rc;
    c->ztx.started = true;
    c->stats.compressed_out += n;
    while (n) {
        size_t took;
        wsc_session_write(&c->session, p, n, &took);
        p += took;
        n -= took;
        if (n && (rc = flush_session(c, deadline)) != 0)
            return send_failed(c, rc);
    }
    return 0;
}

/*
 * RFC 7692 7.2.1: a message (or the next fragment of one) through the
 * compressor, each run of output it releases sent as the next frame. The last
 * frame, FIN set, carries what the final flush releases (at least one byte
 * for a message that began in this call; an empty continuation otherwise).
 */
static int send_compressed(struct wsc_conn *c, uint8_t opcode, const uint8_t *p, size_t len,
                           bool fin, uint64_t deadline)
{
    if (opcode != WSC_OP_CONTINUATION) {
        if (c->ztx.active || (opcode != WSC_OP_TEXT && opcode != WSC_OP_BINARY))
            return WSC_EINVAL;
        c->ztx.active = true;
        c->ztx.started = false;
        c->ztx.opcode = opcode;
    }
    size_t total = len;
    for (;;) {
        size_t used, made;
        int rc = wsc_deflate_compress(c->deflate, p, len, fin, c->zbuf, c->zbuf_cap, &used,
                                      &made);
        p += used;
        len -= used;
        /* zlib's state could not be set up (WSC_ENOMEM, nothing sent), or it
         * broke: as for any allocation that fails, the connection ends. */
        if (rc && rc != WSC_ENOBUFS)
            return internal_failure(c, rc, deadline, "compressing a message");
        bool last = fin && rc == 0;
        if (made || last) {
            int frc = send_zframe(c, c->zbuf, made, last, deadline);
            if (frc)
                return frc;
        }
        if (rc == 0)
            break;
    }
    if (fin)
        c->ztx.active = false;
    int rc = c->nonblock ? 0 : flush_session(c, deadline);
    if (rc)
        return send_failed(c, rc);
    c->stats.payload_out += total;
    c->stats.uncompressed_out += total;
    c->stats.messages_out += fin;
    return 0;
}

/*
 * Bytes of output a frame (or a compressed message part) of @p len payload
 * bytes can take: a deflate stream may grow incompressible data a little, and
 * every zbuf of compressed output becomes a frame with its own header.
 */
static size_t output_needed(const struct wsc_conn *c, size_t len, bool compress)
{
    if (!compress)
        return WSC_FRAME_HEADER_MAX + len;
    size_t bound = len + len / 1024 + 64;
    return bound + WSC_FRAME_HEADER_MAX * (bound / c->zbuf_cap + 2);
}

int wsc_send_fragment(struct wsc_conn *c, uint8_t opcode, const void *data, size_t len,
                      bool fin, int timeout_ms)
{
    if (!c || (len && !data))
        return WSC_EINVAL;
    int rc = check_open(c);
    if (rc)
        return rc;
    uint64_t deadline = call_deadline(c, timeout_ms);
    /* Whole messages under compress_min go out as they are; a fragmented one
     * is compressed, its size being unknown at the start. */
    bool compress = c->deflate && (c->ztx.active || (opcode != WSC_OP_CONTINUATION &&
                                                     (!fin || len >= c->opt.compress_min)));
    if (c->nonblock) {
        /* Event loops: the frame is queued whole or not at all, so nothing
         * below waits for the socket. */
        size_t need = output_needed(c, len, compress);
        if (need > c->out_cap)
            return WSC_EMSGSIZE;
        if (wsc_session_output_room(&c->session) < need) {
            /* Full: write what the socket takes, then look again. */
            if ((rc = flush_session(c, 0)) != 0)
                return send_failed(c, rc);
            if (wsc_session_output_room(&c->session) < need)
                return WSC_EAGAIN;
        }
    }
    if (compress)
        return send_compressed(c, opcode, data, len, fin, deadline);
    while ((rc = wsc_session_frame_begin(&c->session, opcode, fin, len)) == WSC_EAGAIN) {
        rc = flush_session(c, deadline);
        if (rc)
            return send_failed(c, rc);
    }
    if (rc)
        return rc;
    const uint8_t *p = data;
    size_t total = len;
    while (len) {
        size_t took;
        wsc_session_write(&c->session, p, len, &took);
        p += took;
        len -= took;
        if (len && (rc = flush_session(c, deadline)) != 0)
            return send_failed(c, rc);
    }
    /* Event loops: wsc_conn_process() writes what is queued, so the sends of
     * one turn of the loop leave together, in large writes. */
    if (!c->nonblock && (rc = flush_session(c, deadline)) != 0)
        return send_failed(c, rc);
    c->stats.payload_out += total;
    c->stats.messages_out += fin;
    return 0;
}

int wsc_send(struct wsc_conn *c, uint8_t opcode, const void *data, size_t len,
             int timeout_ms)
{
    if (opcode != WSC_OP_TEXT && opcode != WSC_OP_BINARY)
        return WSC_EINVAL;
    return wsc_send_fragment(c, opcode, data, len, true, timeout_ms);
}

int wsc_ping(struct wsc_conn *c, const void *data, size_t len, int timeout_ms)
{
    if (!c)
        return WSC_EINVAL;
    int rc = check_open(c);
    if (rc)
        return rc;
    rc = send_ping(c, data, len);
    if (rc)
        return rc;
    trace_control(c, WSC_TRACE_SEND, "ping", data, len);
    rc = flush_session(c, deadline_after(timeout_ms));
    return rc ? send_failed(c, rc) : 0;
}

int wsc_flush(struct wsc_conn *c, int timeout_ms)
{
    if (!c)
        return WSC_EINVAL;
    if (!c->tr_open)
        return c->state == WSC_CONN_FAILED ? c->error : 0;
    int rc = flush_session(c, deadline_after(timeout_ms));
    if (rc == WSC_ETIMEDOUT)
        return rc;
    return rc ? send_failed(c, rc) : 0;
}

int wsc_close_start(struct wsc_conn *c, uint16_t code, const char *reason, int timeout_ms)
{
    if (!c)
        return WSC_EINVAL;
    if (c->state == WSC_CONN_FAILED)
        return c->error;
    if (c->state != WSC_CONN_OPEN)
        return c->state == WSC_CONN_CLOSING ? 0 : WSC_ENOTCONN;
    size_t rlen = reason ? strlen(reason) : 0;
    int rc = wsc_session_close(&c->session, code, reason, rlen);
    if (rc)
        return rc;
    trace(c, WSC_TRACE_SEND, "close %u '%s'", code, reason ? reason : "");
    set_state(c, WSC_CONN_CLOSING);
    if (c->nonblock && !c->close_deadline)
        c->close_deadline = wsc_platform_now_ms() + CLOSE_WAIT_MS;
    rc = flush_session(c, deadline_after(timeout_ms));
    return rc ? send_failed(c, rc) : 0;
}

int wsc_close(struct wsc_conn *c, uint16_t code, const char *reason, int timeout_ms)
{
    if (!c)
        return WSC_EINVAL;
    if (c->state == WSC_CONN_FAILED) {
        close_transport(c);
        return c->error;
    }
    if (c->state == WSC_CONN_CLOSED || c->state == WSC_CONN_IDLE)
        return 0;
    uint64_t deadline = deadline_after(timeout_ms);
    if (c->nonblock && c->state == WSC_CONN_OPEN)
        c->close_deadline = timeout_ms < 0 ? UINT64_MAX : deadline;
    if (c->state == WSC_CONN_OPEN) {
        int rc = wsc_close_start(c, code, reason, timeout_ms);
        if (rc)
            return rc;
    }
    if (c->nonblock) /* the loop completes it: wsc_recv() returns WSC_ECLOSED */
        return c->state == WSC_CONN_CLOSING ? WSC_EAGAIN : 0;
    /* Wait for the peer's close; data arriving meanwhile is dropped. */
    for (;;) {
        struct wsc_event ev;
        int rc = next_event(c, SIZE_MAX, c->opt.report_control, deadline, &ev);
        if (rc == WSC_ECLOSED)
            return 0;
        if (rc == WSC_ETIMEDOUT)
            return failf(c, rc, "timed out waiting for the server's close frame");
        if (rc)
            return rc;
    }
}

void wsc_conn_free(struct wsc_conn *c)
{
    if (!c)
        return;
    close_transport(c);
    if (c->in_owned)
        mem_free(c, c->in);
    if (c->out_owned)
        mem_free(c, c->out);
    mem_free(c, c->hs_head);
    mem_free(c, c->hs_headers);
    mem_free(c, c->msg);
    wsc_deflate_free(c->deflate);
    mem_free(c, c->zbuf);
    c->deflate = NULL;
    c->zbuf = NULL;
    mem_free(c, c->req_headers);
    mem_free(c, c->auth_value);
    mem_free(c, c->url);
    mem_free(c, c->url_text);
    mem_free(c, c->body);
    mem_free(c, c->detail);
    free_proxying(c);
    c->detail = NULL;
    c->close_reason = NULL;
    c->req_headers = NULL;
    c->auth_value = NULL;
    c->url = NULL;
    c->url_text = NULL;
    c->body = NULL;
    c->in = c->out = c->msg = NULL;
    c->hs_head = NULL;
    c->hs_headers = NULL;
}

/* ---- queries ---------------------------------------------------------- */

int wsc_conn_fd(const struct wsc_conn *c)
{
    return c->tr_open && c->tr.ops->fd ? c->tr.ops->fd(c->tr.ctx) : -1;
}

bool wsc_conn_has_buffered_input(const struct wsc_conn *c)
{
    /* A compressed message part-way inflated is input too, while open. */
    bool zrx = (c->zrx.pending || c->zrx.error) && c->state != WSC_CONN_CLOSED &&
               c->state != WSC_CONN_FAILED;
    if (c->in_end > c->in_start || zrx)
        return true;
    return c->tr_open && c->tr.ops->pending && c->tr.ops->pending(c->tr.ctx) > 0;
}

const char *wsc_conn_detail(const struct wsc_conn *c)
{
    if (c->detail && c->detail[0])
        return c->detail;
    return c->error ? wsc_strerror(c->error) : "no error";
}

int wsc_conn_http_status(const struct wsc_conn *c) { return c->hs.status; }

const char *wsc_conn_protocol(const struct wsc_conn *c) { return c->hs.protocol; }

const struct wsc_pmd_params *wsc_conn_deflate(const struct wsc_conn *c)
{
    return c->hs.deflate ? &c->hs.deflate_params : NULL;
}

const uint8_t *wsc_conn_error_body(const struct wsc_conn *c, size_t *len)
{
    *len = c->body_len;
    return c->body;
}

uint16_t wsc_conn_close_code(const struct wsc_conn *c) { return c->session.peer_close_code; }

const char *wsc_conn_close_reason(const struct wsc_conn *c, size_t *len)
{
    *len = c->close_reason_len;
    return c->close_reason ? c->close_reason : "";
}

void wsc_conn_stats(const struct wsc_conn *c, struct wsc_stats *st) { *st = c->stats; }

uint16_t wsc_conn_local_close_code(const struct wsc_conn *c)
{
    return c->session.local_close_code;
}

int wsc_conn_timer_ms(const struct wsc_conn *c)
{
    uint64_t t = c->nonblock ? wsc__next_deadline(c) : next_timer(c);
    return t == UINT64_MAX ? -1 : ms_left(t);
}
