/*
 * Zephyr's websocket_* client API on top of wsc's blocking front end.
 *
 * websocket_connect() adopts the application's connected socket (through a
 * duplicate descriptor, which becomes the handle) and runs
 * wsc_connect_transport() with the application's tmp_buf as the connection's
 * one input buffer. The 101 head is parsed out of that buffer and whatever
 * followed it stays there, so websocket_recv_msg() decodes those frames before
 * it reads the socket again: the frames Zephyr's own client drops when they
 * share a TCP segment with the 101 (issue #89193) are delivered here.
 *
 * Everything a connection needs lives in a static table of
 * CONFIG_WEBSOCKET_MAX_CONTEXTS slots: the output buffer, the handshake head
 * and header table (through allocator hooks over a per-slot arena) and the
 * state that maps wsc's events onto Zephyr's (message_type, remaining).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zephyr/net/websocket.h>

#include "wsc/wsc.h"

#ifndef CONFIG_WEBSOCKET_MAX_CONTEXTS
#define CONFIG_WEBSOCKET_MAX_CONTEXTS 4
#endif
#ifndef CONFIG_WEBSOCKET_TX_BUF_SIZE
#define CONFIG_WEBSOCKET_TX_BUF_SIZE 1024
#endif
#ifndef CONFIG_WEBSOCKET_MAX_HEAD
#define CONFIG_WEBSOCKET_MAX_HEAD 4096
#endif
#ifndef CONFIG_WEBSOCKET_MAX_HEADERS
#define CONFIG_WEBSOCKET_MAX_HEADERS 32
#endif
#ifndef CONFIG_WEBSOCKET_RX_BUF_SIZE
#define CONFIG_WEBSOCKET_RX_BUF_SIZE 4096
#endif
#ifndef CONFIG_WEBSOCKET_DISCONNECT_TIMEOUT_MS
#define CONFIG_WEBSOCKET_DISCONNECT_TIMEOUT_MS 1000
#endif

#if CONFIG_WEBSOCKET_TX_BUF_SIZE < WSC_SESSION_OUT_MIN
#error "CONFIG_WEBSOCKET_TX_BUF_SIZE must hold a control frame (WSC_SESSION_OUT_MIN bytes)"
#endif

#define MAX_REQUEST_HEADERS 16 /* optional_headers lines */
#define MAX_PROTOCOLS 8        /* subprotocols offered in optional_headers */
#define PROTOCOL_TEXT 256      /* their names, NUL-terminated */
#define PINGS_KEPT 4           /* reported pings whose echo by the app we absorb */
#define ARENA_ALIGN 16

/*
 * The transport handed to wsc: the adopted TCP socket, plus Zephyr's
 * optional_headers_cb, which writes header lines on the socket itself. It runs
 * when the request head has been sent up to its last header line, so its
 * lines land between wsc's headers and the blank line that ends the head.
 */
struct shim {
    struct wsc_tcp tcp;
    struct wsc_transport inner;
    struct ws_ctx *ctx;
    bool head_sent;
    int cb_error; /* what optional_headers_cb returned, when negative */
};

struct ws_ctx {
    atomic_bool used;   /* the slot is claimed */
    atomic_int handle;  /* the websocket handle once connected, else -1 */
    int real_sock;      /* the application's socket */
    dev_t dev;          /* identity of the socket behind the handle, to spot */
    ino_t ino;          /* a handle closed with close() and its number reused */
    void *user_data;
    const struct websocket_request *wreq; /* during websocket_connect() only */
    uint64_t deadline;                    /* of websocket_connect() */

    struct wsc_conn conn;
    struct shim shim;
    uint8_t tx[CONFIG_WEBSOCKET_TX_BUF_SIZE];
    /* The handshake head and header table, via the allocator hooks. */
    union {
        max_align_t align;
        unsigned char bytes[CONFIG_WEBSOCKET_MAX_HEAD +
                            CONFIG_WEBSOCKET_MAX_HEADERS * sizeof(struct wsc_header) +
                            2 * ARENA_ALIGN];
    } arena;
    size_t arena_used;

    struct wsc_header headers[MAX_REQUEST_HEADERS];
    size_t header_count;
    const char *protocols[MAX_PROTOCOLS];
    size_t protocol_count;
    char protocol_text[PROTOCOL_TEXT];
    struct http_request http_req; /* what Zephyr's callbacks receive */

    /* Receive side: the frame being returned, and pending control frames. */
    bool in_frame;        /* the last read ended inside a data frame */
    uint32_t frame_flags; /* message_type of that frame */
    bool ctl_pending;     /* ctl[ctl_off..ctl_len) is still to be returned */
    uint32_t ctl_flags;
    uint8_t ctl[WSC_CONTROL_MAX];
    size_t ctl_len, ctl_off;
    bool ended;           /* the end was reported: -ENOTCONN from now on */
    uint8_t pings[PINGS_KEPT][WSC_CONTROL_MAX];
    size_t ping_len[PINGS_KEPT];
    size_t ping_count;
};

static struct ws_ctx contexts[CONFIG_WEBSOCKET_MAX_CONTEXTS];

static _Thread_local char last_error[WSC_ERROR_DETAIL_MAX];

/* ---- table ------------------------------------------------------------ */

static struct ws_ctx *claim(void)
{
    for (size_t i = 0; i < CONFIG_WEBSOCKET_MAX_CONTEXTS; i++) {
        bool expected = false;
        if (atomic_compare_exchange_strong(&contexts[i].used, &expected, true)) {
            atomic_store(&contexts[i].handle, -1);
            return &contexts[i];
        }
    }
    return NULL;
}

static void release(struct ws_ctx *x)
{
    atomic_store(&x->handle, -1);
    atomic_store(&x->used, false);
}

static struct ws_ctx *lookup(int ws_sock)
{
    if (ws_sock < 0)
        return NULL;
    for (size_t i = 0; i < CONFIG_WEBSOCKET_MAX_CONTEXTS; i++)
        if (atomic_load(&contexts[i].used) && atomic_load(&contexts[i].handle) == ws_sock)
            return &contexts[i];
    return NULL;
}

static bool same_socket(int fd, dev_t dev, ino_t ino)
{
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

/*
 * A handle the application closed with close() instead of
 * websocket_disconnect() (which Zephyr allows) leaves its slot behind. Its
 * number may since belong to another file, so such a slot is recognised by
 * the socket identity and dropped without touching the descriptor.
 */
static void reap_stale(void)
{
    for (size_t i = 0; i < CONFIG_WEBSOCKET_MAX_CONTEXTS; i++) {
        struct ws_ctx *x = &contexts[i];
        int h = atomic_load(&x->handle);
        if (!atomic_load(&x->used) || h < 0 || same_socket(h, x->dev, x->ino))
            continue;
        if (atomic_compare_exchange_strong(&x->handle, &h, -1)) {
            wsc_conn_free(&x->conn); /* the adopted descriptor is not owned: kept */
            release(x);
        }
    }
}

static bool has_websocket(int http_sock)
{
    for (size_t i = 0; i < CONFIG_WEBSOCKET_MAX_CONTEXTS; i++)
        if (atomic_load(&contexts[i].used) && atomic_load(&contexts[i].handle) >= 0 &&
            contexts[i].real_sock == http_sock)
            return true;
    return false;
}

/* ---- allocator hooks over the slot's arena ---------------------------- */

static bool in_arena(const struct ws_ctx *x, const void *p)
{
    uintptr_t a = (uintptr_t)x->arena.bytes, q = (uintptr_t)p;
    return q >= a && q < a + sizeof(x->arena.bytes);
}

/* wsc_connect_transport() asks for the head buffer and the header table; both
 * fit the arena, sized for them. Anything else (a fallback input buffer) comes
 * from malloc. */
static void *arena_malloc(void *user, size_t size)
{
    struct ws_ctx *x = user;
    size_t at = (x->arena_used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (at <= sizeof(x->arena.bytes) && size <= sizeof(x->arena.bytes) - at) {
        x->arena_used = at + size;
        return x->arena.bytes + at;
    }
    return malloc(size);
}

/* Only whole-message reassembly grows memory, and this layer never asks wsc
 * for whole messages; an arena block cannot grow. */
static void *arena_realloc(void *user, void *ptr, size_t size)
{
    return in_arena(user, ptr) ? NULL : realloc(ptr, size);
}

static void arena_free(void *user, void *ptr)
{
    if (!in_arena(user, ptr))
        free(ptr);
}

/* ---- errors ----------------------------------------------------------- */

/* wsc codes equal -errno where errno has the name; the rest map to the errno a
 * Zephyr application already handles. */
static int to_errno(int rc)
{
    if (rc > -1000)
        return rc;
    if (rc == WSC_EEOF || rc == WSC_ECLOSED)
        return -ENOTCONN;
    if (wsc_error_is_protocol(rc))
        return -EPROTO;
    if (rc == WSC_EHEADER || rc == WSC_EURL)
        return -EINVAL;
    return -EIO;
}

/* ---- the transport shim ----------------------------------------------- */

static int shim_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent)
{
    struct shim *s = ctx;
    if (s->head_sent)
        return s->inner.ops->send(s->inner.ctx, buf, len, sent);
    /* The blocking front end hands over the whole request head in its first
     * send; cut it before the blank line that ends it. */
    size_t cut = 0;
    for (size_t i = 0; i + 3 < len; i++) {
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
            cut = i + 2;
            break;
        }
    }
    s->head_sent = true;
    if (cut == 0)
        return s->inner.ops->send(s->inner.ctx, buf, len, sent);
    size_t done = 0;
    while (done < cut) {
        size_t n = 0;
        int rc = s->inner.ops->send(s->inner.ctx, buf + done, cut - done, &n);
        if (rc == WSC_EAGAIN) {
            uint64_t now = wsc_platform_now_ms();
            int left = s->ctx->deadline == UINT64_MAX ? -1
                       : now >= s->ctx->deadline      ? 0
                                                      : (int)(s->ctx->deadline - now);
            if (left == 0)
                return WSC_ETIMEDOUT;
            rc = s->inner.ops->wait(s->inner.ctx, WSC_WAIT_WRITE, left);
            if (rc < 0)
                return rc;
            continue;
        }
        if (rc)
            return rc;
        done += n;
    }
    const struct websocket_request *wreq = s->ctx->wreq;
    int ret = wreq->optional_headers_cb(s->ctx->real_sock, &s->ctx->http_req,
                                        s->ctx->user_data);
    if (ret < 0) {
        /* Kept aside: a value such as -EAGAIN means something else to wsc. */
        s->cb_error = ret;
        return WSC_EIO;
    }
    *sent = cut;
    return 0;
}

static int shim_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    struct shim *s = ctx;
    return s->inner.ops->recv(s->inner.ctx, buf, cap, got);
}

static int shim_wait(void *ctx, int events, int timeout_ms)
{
    struct shim *s = ctx;
    return s->inner.ops->wait(s->inner.ctx, events, timeout_ms);
}

static size_t shim_pending(void *ctx)
{
    struct shim *s = ctx;
    return s->inner.ops->pending(s->inner.ctx);
}

static int shim_shutdown(void *ctx)
{
    struct shim *s = ctx;
    return s->inner.ops->shutdown(s->inner.ctx);
}

static void shim_close(void *ctx)
{
    struct shim *s = ctx;
    s->inner.ops->close(s->inner.ctx);
}

static int shim_fd(void *ctx)
{
    struct shim *s = ctx;
    return s->inner.ops->fd(s->inner.ctx);
}

static const struct wsc_transport_ops shim_ops = {
    .name = "zephyr-tcp",
    .send = shim_send,
    .recv = shim_recv,
    .wait = shim_wait,
    .pending = shim_pending,
    .shutdown = shim_shutdown,
    .close = shim_close,
    .fd = shim_fd,
};

/* ---- websocket_connect ------------------------------------------------ */

static bool is_ows(char c) { return c == ' ' || c == '\t'; }

static bool name_is(const char *p, size_t n, const char *want)
{
    size_t w = strlen(want);
    if (n != w)
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = p[i], b = want[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a + 32);
        if (a != b)
            return false;
    }
    return true;
}

/* Splits a Sec-WebSocket-Protocol value into NUL-terminated offers. */
static int add_protocols(struct ws_ctx *x, const char *v, size_t n, size_t *text_used)
{
    const char *end = v + n;
    while (v < end) {
        const char *c = memchr(v, ',', (size_t)(end - v));
        const char *te = c ? c : end;
        while (v < te && is_ows(*v))
            v++;
        while (te > v && is_ows(te[-1]))
            te--;
        size_t len = (size_t)(te - v);
        if (len) {
            if (x->protocol_count == MAX_PROTOCOLS || len + 1 > PROTOCOL_TEXT - *text_used)
                return -EINVAL;
            char *dst = x->protocol_text + *text_used;
            memcpy(dst, v, len);
            dst[len] = '\0';
            *text_used += len + 1;
            x->protocols[x->protocol_count++] = dst;
        }
        v = c ? c + 1 : end;
    }
    return 0;
}

/*
 * Zephyr sends optional_headers verbatim; wsc writes the request itself, so
 * each line is split into a name and a value here. A subprotocol offer
 * becomes wsc's, so that the server's choice is checked against it.
 */
static int parse_optional_headers(struct ws_ctx *x, const char **lines)
{
    size_t text_used = 0;
    x->header_count = 0;
    x->protocol_count = 0;
    for (size_t i = 0; lines && lines[i]; i++) {
        const char *p = lines[i], *end = p + strlen(p);
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            if (le > p && le[-1] == '\r')
                le--;
            if (le > p) {
                const char *colon = memchr(p, ':', (size_t)(le - p));
                if (!colon || colon == p)
                    return -EINVAL;
                const char *v = colon + 1, *ve = le;
                while (v < ve && is_ows(*v))
                    v++;
                while (ve > v && is_ows(ve[-1]))
                    ve--;
                size_t name_len = (size_t)(colon - p);
                if (name_is(p, name_len, "sec-websocket-protocol")) {
                    if (add_protocols(x, v, (size_t)(ve - v), &text_used))
                        return -EINVAL;
                } else {
                    if (x->header_count == MAX_REQUEST_HEADERS)
                        return -EINVAL;
                    struct wsc_header *h = &x->headers[x->header_count++];
                    h->name = p;
                    h->name_len = name_len;
                    h->value = v;
                    h->value_len = (size_t)(ve - v);
                }
            }
            p = nl ? nl + 1 : end;
        }
    }
    return 0;
}

/* "ws://" + host + url; an IPv6 literal gets its brackets. */
static int build_url(char *out, size_t cap, const char *host, const char *url)
{
    if (url[0] != '/')
        return -EINVAL;
    const char *first = strchr(host, ':');
    bool v6 = host[0] != '[' && first && strchr(first + 1, ':');
    int n = snprintf(out, cap, "ws://%s%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "", url);
    return n < 0 || (size_t)n >= cap ? -EINVAL : 0;
}

static void fill_parser(struct http_parser *p, const struct wsc_handshake *hs)
{
    void *data = p->data;
    memset(p, 0, sizeof(*p));
    p->data = data;
    p->type = HTTP_RESPONSE;
    p->method = HTTP_GET;
    p->status_code = (unsigned int)hs->status;
    p->http_major = 1;
    p->http_minor = hs->head_len > 7 && hs->head[7] == '0' ? 0 : 1;
    if (hs->status == 101) {
        p->upgrade = 1;
        p->flags = F_UPGRADE | F_CONNECTION_UPGRADE;
    }
}

/* The head has been parsed by wsc; Zephyr's taps see it field by field. */
static void replay_taps(struct ws_ctx *x, const struct http_parser_settings *cb)
{
    const struct wsc_handshake *hs = &x->conn.hs;
    struct http_parser *p = &x->http_req.internal.parser;
    struct http_response *rsp = &x->http_req.internal.response;
    if (hs->status == 0)
        return; /* no status line arrived: nothing to show */
    fill_parser(p, hs);
    rsp->http_status_code = (uint16_t)hs->status;
    size_t n = hs->reason_len < HTTP_STATUS_STR_SIZE - 1 ? hs->reason_len
                                                         : HTTP_STATUS_STR_SIZE - 1;
    memcpy(rsp->http_status, hs->reason, n);
    rsp->http_status[n] = '\0';
    if (!cb)
        return;
    if (cb->on_message_begin)
        cb->on_message_begin(p);
    if (cb->on_status)
        cb->on_status(p, hs->reason, hs->reason_len);
    for (size_t i = 0; i < hs->header_count; i++) {
        const struct wsc_header *h = &hs->headers[i];
        if (cb->on_header_field)
            cb->on_header_field(p, h->name, h->name_len);
        if (cb->on_header_value)
            cb->on_header_value(p, h->value, h->value_len);
    }
    if (cb->on_headers_complete)
        cb->on_headers_complete(p);
    size_t body_len;
    const uint8_t *body = wsc_conn_error_body(&x->conn, &body_len);
    if (body_len && cb->on_body)
        cb->on_body(p, (const char *)body, body_len);
    if (cb->on_message_complete)
        cb->on_message_complete(p);
}

static void reset_receive_state(struct ws_ctx *x)
{
    x->in_frame = false;
    x->frame_flags = 0;
    x->ctl_pending = false;
    x->ctl_len = x->ctl_off = 0;
    x->ended = false;
    x->ping_count = 0;
}

static int connect_slot(struct ws_ctx *x, int http_sock, struct websocket_request *wreq,
                        int32_t timeout, void *user_data)
{
    memset(&x->http_req, 0, sizeof(x->http_req));
    x->http_req.method = HTTP_GET;
    x->http_req.url = wreq->url;
    x->http_req.host = wreq->host;
    x->http_req.protocol = "HTTP/1.1";
    x->http_req.optional_headers_cb = wreq->optional_headers_cb;
    x->http_req.optional_headers = wreq->optional_headers;
    x->http_req.recv_buf = wreq->tmp_buf;
    x->http_req.recv_buf_len = wreq->tmp_buf_len;
    x->http_req.internal.user_data = user_data;
    x->http_req.internal.sock = http_sock;
    x->real_sock = http_sock;
    x->user_data = user_data;
    x->wreq = wreq;
    x->arena_used = 0;
    reset_receive_state(x);
    x->deadline = timeout < 0 ? UINT64_MAX : wsc_platform_now_ms() + (uint64_t)timeout;

    x->header_count = x->protocol_count = 0;
    int rc = 0;
    if (!wreq->optional_headers_cb && (rc = parse_optional_headers(x, wreq->optional_headers)))
        return rc;
    char url[WSC_URL_HOST_MAX + WSC_URL_RESOURCE_MAX + 16];
    if (build_url(url, sizeof(url), wreq->host, wreq->url))
        return -EINVAL;

    /* The handle: a descriptor of our own for the same socket, so it is
     * distinct from http_sock as in Zephyr, and poll() on it sees the socket. */
    int fd = fcntl(http_sock, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    x->dev = st.st_dev;
    x->ino = st.st_ino;

    struct wsc_options o;
    wsc_options_init(&o);
    o.connect_timeout_ms = timeout < 0 ? -1 : (int)timeout;
    if (wreq->tmp_buf && wreq->tmp_buf_len >= WEBSOCKET_TMP_BUF_MIN) {
        o.rx_buf = wreq->tmp_buf;
        o.rx_buf_size = wreq->tmp_buf_len;
    } else {
        o.rx_buf_size = CONFIG_WEBSOCKET_RX_BUF_SIZE;
    }
    o.tx_buf = x->tx;
    o.tx_buf_size = sizeof(x->tx);
    o.max_head = CONFIG_WEBSOCKET_MAX_HEAD;
    o.max_headers = CONFIG_WEBSOCKET_MAX_HEADERS;
    o.keep_response_head = true; /* replayed to the http_parser taps */
    o.headers = x->headers;
    o.header_count = x->header_count;
    o.protocols = x->protocols;
    o.protocol_count = x->protocol_count;
    o.alloc.malloc = arena_malloc;
    o.alloc.realloc = arena_realloc;
    o.alloc.free = arena_free;
    o.alloc.user = x;

    /* Not owned: the descriptor must outlive wsc's close of the transport, so
     * that the handle's number is not reused while the application holds it. */
    memset(&x->shim, 0, sizeof(x->shim));
    x->shim.ctx = x;
    wsc_tcp_adopt(&x->shim.tcp, fd, false);
    wsc_tcp_transport(&x->shim.tcp, &x->shim.inner);
    struct wsc_transport tr = x->shim.inner;
    if (wreq->optional_headers_cb) {
        tr.ops = &shim_ops;
        tr.ctx = &x->shim;
    }
    rc = wsc_connect_transport(&x->conn, &tr, url, &o);
    replay_taps(x, wreq->http_cb);
    x->wreq = NULL;
    if (rc) {
        snprintf(last_error, sizeof(last_error), "%s", wsc_conn_detail(&x->conn));
        wsc_conn_free(&x->conn);
        close(fd);
        if (x->shim.cb_error)
            return x->shim.cb_error;
        if (rc == WSC_ETIMEDOUT || rc == WSC_ENOMEM || rc == WSC_EINVAL)
            return rc;
        if (rc == WSC_EHEADER)
            return -EINVAL;
        return -ECONNABORTED; /* as in Zephyr: the upgrade did not happen */
    }
    last_error[0] = '\0';
    atomic_store(&x->handle, fd);
    return fd;
}

static void drop_slot(struct ws_ctx *x, bool send_close)
{
    int fd = atomic_exchange(&x->handle, -1);
    if (send_close)
        wsc_close(&x->conn, WSC_CLOSE_NORMAL, NULL, CONFIG_WEBSOCKET_DISCONNECT_TIMEOUT_MS);
    wsc_conn_free(&x->conn);
    if (fd >= 0)
        close(fd);
    release(x);
}

int websocket_connect(int http_sock, struct websocket_request *req, int32_t timeout,
                      void *user_data)
{
    snprintf(last_error, sizeof(last_error), "invalid argument");
    if (http_sock < 0 || !req || !req->host || !req->url)
        return -EINVAL;
    reap_stale();
    if (has_websocket(http_sock)) {
        snprintf(last_error, sizeof(last_error), "the socket already has a websocket");
        return -EEXIST;
    }
    struct ws_ctx *x = claim();
    if (!x) {
        snprintf(last_error, sizeof(last_error),
                 "all %d websocket contexts are in use (CONFIG_WEBSOCKET_MAX_CONTEXTS)",
                 CONFIG_WEBSOCKET_MAX_CONTEXTS);
        return -ENOENT;
    }
    int fd = connect_slot(x, http_sock, req, timeout, user_data);
    if (fd < 0) {
        release(x);
        return fd;
    }
    if (req->cb) {
        int ret = req->cb(fd, &x->http_req, user_data);
        if (ret < 0) {
            snprintf(last_error, sizeof(last_error), "the connect callback refused (%d)", ret);
            drop_slot(x, true);
            return ret;
        }
    }
    return fd;
}

/* ---- send ------------------------------------------------------------- */

/* A pong the application sends for a ping we reported and already answered. */
static bool absorb_pong(struct ws_ctx *x, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < x->ping_count; i++) {
        if (x->ping_len[i] != len || (len && memcmp(x->pings[i], p, len) != 0))
            continue;
        for (size_t j = i + 1; j < x->ping_count; j++) {
            memcpy(x->pings[j - 1], x->pings[j], x->ping_len[j]);
            x->ping_len[j - 1] = x->ping_len[j];
        }
        x->ping_count--;
        return true;
    }
    return false;
}

static void remember_ping(struct ws_ctx *x, const uint8_t *p, size_t len)
{
    if (x->ping_count == PINGS_KEPT) {
        for (size_t j = 1; j < PINGS_KEPT; j++) {
            memcpy(x->pings[j - 1], x->pings[j], x->ping_len[j]);
            x->ping_len[j - 1] = x->ping_len[j];
        }
        x->ping_count--;
    }
    if (len)
        memcpy(x->pings[x->ping_count], p, len);
    x->ping_len[x->ping_count++] = len;
}

static int send_close(struct ws_ctx *x, const uint8_t *p, size_t len, int timeout)
{
    if (len == 1 || len > WSC_CONTROL_MAX)
        return -EINVAL;
    uint16_t code = len ? (uint16_t)(p[0] << 8 | p[1]) : 0;
    char reason[WSC_CONTROL_MAX];
    size_t rlen = len > 2 ? len - 2 : 0;
    if (rlen) {
        if (memchr(p + 2, '\0', rlen))
            return -EINVAL; /* wsc_close_start() takes a C string */
        memcpy(reason, p + 2, rlen);
    }
    reason[rlen] = '\0';
    return wsc_close_start(&x->conn, code, rlen ? reason : NULL, timeout);
}

int websocket_send_msg(int ws_sock, const uint8_t *payload, size_t payload_len,
                       enum websocket_opcode opcode, bool mask, bool final, int32_t timeout)
{
    (void)mask; /* RFC 6455 5.3: a client masks every frame, whatever it is told */
    if ((payload_len && !payload) || payload_len > INT_MAX)
        return -EINVAL;
    struct ws_ctx *x = lookup(ws_sock);
    if (!x)
        return -EBADF;
    int to = timeout < 0 ? -1 : (int)timeout;
    int rc;
    switch (opcode) {
    case WEBSOCKET_OPCODE_DATA_TEXT:
    case WEBSOCKET_OPCODE_DATA_BINARY:
    case WEBSOCKET_OPCODE_CONTINUE:
        rc = wsc_send_fragment(&x->conn, (uint8_t)opcode, payload, payload_len, final, to);
        break;
    case WEBSOCKET_OPCODE_PING:
        if (!final || payload_len > WSC_CONTROL_MAX)
            return -EINVAL;
        rc = wsc_ping(&x->conn, payload, payload_len, to);
        break;
    case WEBSOCKET_OPCODE_PONG:
        if (!final || payload_len > WSC_CONTROL_MAX)
            return -EINVAL;
        /* Zephyr applications answer pings themselves; wsc already did. */
        if (absorb_pong(x, payload, payload_len))
            return (int)payload_len;
        rc = wsc_send_fragment(&x->conn, WSC_OP_PONG, payload, payload_len, true, to);
        break;
    case WEBSOCKET_OPCODE_CLOSE:
        if (!final)
            return -EINVAL;
        rc = send_close(x, payload, payload_len, to);
        break;
    default:
        return -EINVAL;
    }
    if (rc == 0)
        return (int)payload_len;
    if (rc == WSC_EINVAL || rc == WSC_ETIMEDOUT || rc == WSC_ECONNRESET || rc == WSC_EIO)
        return rc;
    return -ENOTCONN; /* closing, closed, or failed on the receive side */
}

/* ---- receive ---------------------------------------------------------- */

static int ms_left(uint64_t deadline)
{
    if (deadline == UINT64_MAX)
        return -1;
    uint64_t now = wsc_platform_now_ms();
    if (now >= deadline)
        return 0;
    uint64_t left = deadline - now;
    return left > INT_MAX ? INT_MAX : (int)left;
}

/* Returns the next part of a pending control frame. */
static int take_control(struct ws_ctx *x, uint8_t *buf, size_t buf_len, uint32_t *type,
                        uint64_t *remaining)
{
    size_t n = x->ctl_len - x->ctl_off;
    if (n > buf_len)
        n = buf_len;
    if (n)
        memcpy(buf, x->ctl + x->ctl_off, n);
    x->ctl_off += n;
    *type = x->ctl_flags;
    *remaining = x->ctl_len - x->ctl_off;
    if (*remaining == 0) {
        x->ctl_pending = false;
        if (x->ctl_flags & WEBSOCKET_FLAG_CLOSE)
            x->ended = true;
    }
    return (int)n;
}

static void stash_control(struct ws_ctx *x, uint32_t flags, const uint8_t *p, size_t len)
{
    if (len)
        memcpy(x->ctl, p, len);
    x->ctl_len = len;
    x->ctl_off = 0;
    x->ctl_flags = flags | WEBSOCKET_FLAG_FINAL;
    x->ctl_pending = true;
}

/* The server's close, as the frame payload Zephyr returns: code, then reason. */
static void stash_close(struct ws_ctx *x)
{
    uint8_t p[WSC_CONTROL_MAX];
    size_t len = 0, rlen;
    uint16_t code = wsc_conn_close_code(&x->conn);
    const char *reason = wsc_conn_close_reason(&x->conn, &rlen);
    if (code && code != WSC_CLOSE_NO_STATUS) {
        p[0] = (uint8_t)(code >> 8);
        p[1] = (uint8_t)code;
        if (rlen > sizeof(p) - 2)
            rlen = sizeof(p) - 2;
        memcpy(p + 2, reason, rlen);
        len = 2 + rlen;
    }
    stash_control(x, WEBSOCKET_FLAG_CLOSE, p, len);
}

int websocket_recv_msg(int ws_sock, uint8_t *buf, size_t buf_len, uint32_t *message_type,
                       uint64_t *remaining, int32_t timeout)
{
    uint32_t type_local;
    uint64_t rem_local;
    uint32_t *type = message_type ? message_type : &type_local;
    uint64_t *rem = remaining ? remaining : &rem_local;
    if (!buf || buf_len == 0)
        return -EINVAL;
    struct ws_ctx *x = lookup(ws_sock);
    if (!x)
        return -EBADF;
    if (buf_len > INT_MAX)
        buf_len = INT_MAX;
    if (x->ctl_pending)
        return take_control(x, buf, buf_len, type, rem);
    if (x->ended)
        return -ENOTCONN;

    uint64_t deadline =
        timeout < 0 ? UINT64_MAX : wsc_platform_now_ms() + (uint64_t)timeout;
    size_t count = 0;
    for (;;) {
        struct wsc_event ev;
        int rc = wsc_recv_event(&x->conn, &ev, buf_len - count, ms_left(deadline));
        /* A timeout of this call, not a send timeout that failed the connection. */
        if (rc == WSC_ETIMEDOUT && wsc_conn_state(&x->conn) != WSC_CONN_FAILED)
            return count ? (int)count : -EAGAIN; /* *type and *rem are set */
        if (rc == WSC_ECLOSED && count == 0) {
            stash_close(x);
            return take_control(x, buf, buf_len, type, rem);
        }
        if (rc) {
            if (count)
                return (int)count; /* the error comes with the next call */
            x->ended = true;
            return to_errno(rc);
        }
        if (ev.type == WSC_EV_PING || ev.type == WSC_EV_PONG) {
            /* Control frames come between data frames, so count is 0 here. */
            if (ev.type == WSC_EV_PING)
                remember_ping(x, ev.data, ev.len);
            stash_control(x, ev.type == WSC_EV_PING ? WEBSOCKET_FLAG_PING : WEBSOCKET_FLAG_PONG,
                          ev.data, ev.len);
            if (count)
                return (int)count;
            return take_control(x, buf, buf_len, type, rem);
        }
        /*
         * Zephyr describes the frame, not the message: the opcode bit of the
         * frame (none for a continuation) and its FIN bit, on every read from
         * it; remaining counts what is left of the frame.
         */
        if (!x->in_frame)
            x->frame_flags = (ev.first ? (ev.opcode == WSC_OP_TEXT ? WEBSOCKET_FLAG_TEXT
                                                                   : WEBSOCKET_FLAG_BINARY)
                                       : 0) |
                             (ev.frame_fin ? WEBSOCKET_FLAG_FINAL : 0);
        if (ev.len)
            memcpy(buf + count, ev.data, ev.len);
        count += ev.len;
        x->in_frame = ev.remaining > 0;
        *type = x->frame_flags;
        *rem = ev.remaining;
        if (ev.remaining == 0 || count == buf_len)
            return (int)count;
    }
}

/* ---- disconnect, readiness -------------------------------------------- */

int websocket_disconnect(int ws_sock)
{
    struct ws_ctx *x = lookup(ws_sock);
    if (!x)
        return -EBADF;
    int fd = atomic_exchange(&x->handle, -1);
    int rc = 0;
    enum wsc_conn_state st = wsc_conn_state(&x->conn);
    if (st == WSC_CONN_OPEN || st == WSC_CONN_CLOSING)
        rc = wsc_close(&x->conn, WSC_CLOSE_NORMAL, NULL, CONFIG_WEBSOCKET_DISCONNECT_TIMEOUT_MS);
    wsc_conn_free(&x->conn);
    if (fd >= 0)
        close(fd);
    release(x);
    return rc ? to_errno(rc) : 0;
}

void websocket_init(void) {}

bool wsc_websocket_has_buffered(int ws_sock)
{
    struct ws_ctx *x = lookup(ws_sock);
    if (!x)
        return false;
    if (x->ctl_pending || x->ended)
        return true;
    enum wsc_conn_state st = wsc_conn_state(&x->conn);
    if (st == WSC_CONN_CLOSED || st == WSC_CONN_FAILED)
        return true; /* websocket_recv_msg() returns at once */
    return wsc_conn_has_buffered_input(&x->conn);
}

int wsc_websocket_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    bool any = false;
    for (nfds_t i = 0; i < nfds; i++)
        if (fds[i].fd >= 0 && (fds[i].events & POLLIN) && wsc_websocket_has_buffered(fds[i].fd))
            any = true;
    if (!any)
        return poll(fds, nfds, timeout);
    /* Something is ready already: look at the rest without waiting. */
    int rc = poll(fds, nfds, 0);
    if (rc < 0)
        return rc;
    int ready = 0;
    for (nfds_t i = 0; i < nfds; i++) {
        if (fds[i].fd >= 0 && (fds[i].events & POLLIN) && wsc_websocket_has_buffered(fds[i].fd))
            fds[i].revents |= POLLIN;
        ready += fds[i].revents != 0;
    }
    return ready;
}

const char *wsc_websocket_last_error(void) { return last_error; }
