/*
 * Zephyr's http_client_req() on wsc's sans-I/O pieces: the response head goes
 * through wsc_handshake_parse() set up as a plain HTTP head parser, the body
 * through wsc_http_body_decode(). Both report exactly how many bytes they
 * used, so nothing after the response is consumed: what follows a 101 (or
 * anything a server sends after a complete response) is handed back in
 * recv_buf and counted in req->data_len.
 *
 * recv_buf holds, for each response callback, the head bytes received so far
 * (in the first callbacks only) followed by body bytes with the chunk framing
 * squeezed out in place: decoded bytes never outrun the bytes they came from,
 * so the copy only ever moves data towards the start of the buffer.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <zephyr/net/http/client.h>

#include "wsc/wsc.h"

#ifndef CONFIG_HTTP_CLIENT_MAX_HEAD
#define CONFIG_HTTP_CLIENT_MAX_HEAD 8192
#endif
#ifndef CONFIG_HTTP_CLIENT_MAX_HEADERS
#define CONFIG_HTTP_CLIENT_MAX_HEADERS 64
#endif

#define SEND_BUF 256 /* small header pieces are gathered into segments of this size */

/* ---- time and socket I/O ---------------------------------------------- */

static uint64_t deadline_after(int32_t timeout)
{
    return timeout < 0 ? UINT64_MAX : wsc_platform_now_ms() + (uint64_t)timeout;
}

static int ms_left(uint64_t deadline)
{
    if (deadline == UINT64_MAX)
        return -1;
    uint64_t now = wsc_platform_now_ms();
    if (now >= deadline)
        return 0;
    return deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

/* Waits for @p events; 0 when ready, -ETIMEDOUT, or -errno. */
static int wait_for(int sock, short events, uint64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = sock, .events = events, .revents = 0};
        int n = poll(&p, 1, ms_left(deadline));
        if (n > 0)
            return 0; /* POLLERR/POLLHUP too: the next call reports them */
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

/* Per-call non-blocking I/O: the socket's own mode is the application's. */
static int send_all(int sock, const void *data, size_t len, uint64_t deadline)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(sock, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        int rc = wait_for(sock, POLLOUT, deadline);
        if (rc)
            return rc;
    }
    return 0;
}

/* Reads into buf: bytes (> 0), 0 at end of stream, or -errno / -ETIMEDOUT. */
static ssize_t recv_some(int sock, uint8_t *buf, size_t cap, uint64_t deadline)
{
    for (;;) {
        ssize_t n = recv(sock, buf, cap, MSG_DONTWAIT);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        int rc = wait_for(sock, POLLIN, deadline);
        if (rc)
            return rc;
    }
}

/* ---- request ---------------------------------------------------------- */

struct out {
    int sock;
    uint64_t deadline;
    char buf[SEND_BUF];
    size_t len;
    size_t total; /* bytes sent so far */
    int error;
};

static void out_flush(struct out *o)
{
    if (o->error || o->len == 0)
        return;
    o->error = send_all(o->sock, o->buf, o->len, o->deadline);
    if (!o->error)
        o->total += o->len;
    o->len = 0;
}

static void out_put(struct out *o, const char *s, size_t n)
{
    while (n && !o->error) {
        size_t room = sizeof(o->buf) - o->len;
        size_t k = n < room ? n : room;
        memcpy(o->buf + o->len, s, k);
        o->len += k;
        s += k;
        n -= k;
        if (o->len == sizeof(o->buf))
            out_flush(o);
    }
}

static void out_str(struct out *o, const char *s) { out_put(o, s, strlen(s)); }

/* A token-ish piece of the request line or Host: no controls, no spaces. */
static bool is_clean(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return false;
    return true;
}

/*
 * Header lines are sent as given, as Zephyr does, but only whole lines: each
 * string must end in CRLF and hold no other CR or LF, so that no string can
 * end the head early or smuggle a line into the next one.
 */
static bool is_header_lines(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || s[n - 2] != '\r' || s[n - 1] != '\n')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' && (i + 1 >= n || s[i + 1] != '\n'))
            return false;
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            return false;
        if (s[i] == '\n' && i + 1 < n && s[i + 1] == '\r')
            return false; /* an empty line inside: the head would end there */
    }
    return true;
}

static bool lines_ok(const char *const *list)
{
    for (size_t i = 0; list && list[i]; i++)
        if (!is_header_lines(list[i]))
            return false;
    return true;
}

static int check_request(const struct http_request *req)
{
    if (!is_clean(req->url) || !is_clean(req->protocol) || !is_clean(req->host) ||
        (req->port && !is_clean(req->port)) || (unsigned)req->method >= HTTP_METHOD_END_VALUE)
        return -EINVAL;
    if (req->content_type_value && strpbrk(req->content_type_value, "\r\n"))
        return -EINVAL;
    if (!req->optional_headers_cb && !lines_ok(req->optional_headers))
        return -EINVAL;
    return lines_ok(req->header_fields) ? 0 : -EINVAL;
}

static int send_request(int sock, struct http_request *req, void *user_data,
                        uint64_t deadline, size_t *total)
{
    struct out o = {.sock = sock, .deadline = deadline};
    out_str(&o, http_method_str(req->method));
    out_str(&o, " ");
    out_str(&o, req->url);
    out_str(&o, " ");
    out_str(&o, req->protocol);
    out_str(&o, HTTP_CRLF "Host: ");
    out_str(&o, req->host);
    if (req->port) {
        out_str(&o, ":");
        out_str(&o, req->port);
    }
    out_str(&o, HTTP_CRLF);
    if (req->optional_headers_cb) {
        out_flush(&o);
        if (o.error)
            return o.error;
        int ret = req->optional_headers_cb(sock, req, user_data);
        if (ret < 0)
            return ret;
        o.total += (size_t)ret;
    } else {
        for (size_t i = 0; req->optional_headers && req->optional_headers[i]; i++)
            out_str(&o, req->optional_headers[i]);
    }
    for (size_t i = 0; req->header_fields && req->header_fields[i]; i++)
        out_str(&o, req->header_fields[i]);
    if (req->content_type_value) {
        out_str(&o, "Content-Type: ");
        out_str(&o, req->content_type_value);
        out_str(&o, HTTP_CRLF);
    }
    if (req->payload || req->payload_cb) {
        if (req->payload_len) {
            char num[32];
            snprintf(num, sizeof(num), "%zu", req->payload_len);
            out_str(&o, "Content-Length: ");
            out_str(&o, num);
            out_str(&o, HTTP_CRLF);
        }
        out_str(&o, HTTP_CRLF);
        out_flush(&o);
        if (o.error)
            return o.error;
        if (req->payload_cb) {
            int ret = req->payload_cb(sock, req, user_data);
            if (ret < 0)
                return ret;
            o.total += (size_t)ret;
        } else {
            size_t n = req->payload_len ? req->payload_len : strlen(req->payload);
            int rc = send_all(sock, req->payload, n, deadline);
            if (rc)
                return rc;
            o.total += n;
        }
    } else {
        out_str(&o, HTTP_CRLF);
        out_flush(&o);
    }
    *total = o.total;
    return o.error;
}

/* ---- response --------------------------------------------------------- */

enum phase {
    PH_HEAD, /* reading a response head */
    PH_BODY, /* decoding its body */
    PH_DONE, /* complete; what follows is not ours */
};

struct rx {
    struct http_request *req;
    struct http_response *rsp;
    struct http_parser *parser;
    const struct http_parser_settings *cb;
    void *user_data;
    uint8_t *buf;
    size_t cap;
    size_t fill;       /* bytes received into buf */
    size_t pos;        /* bytes of buf the parsers have used */
    size_t out;        /* bytes of buf that hold response data for the callback */
    size_t body_start; /* offset of this callback's first body byte, or SIZE_MAX */
    size_t received;   /* bytes received in all */
    bool began;        /* on_message_begin was called for the current head */
    enum phase phase;
    struct wsc_handshake hs;
    struct wsc_http_body body;
};

static void tap(const struct rx *r, http_cb fn)
{
    if (fn)
        fn(r->parser);
}

static void tap_data(const struct rx *r, http_data_cb fn, const char *at, size_t len)
{
    if (fn)
        fn(r->parser, at, len);
}

static int deliver(struct rx *r, enum http_final_call final)
{
    struct http_response *rsp = r->rsp;
    rsp->data_len = r->out;
    rsp->body_frag_start = r->body_start == SIZE_MAX ? NULL : r->buf + r->body_start;
    rsp->body_frag_len = r->body_start == SIZE_MAX ? 0 : r->out - r->body_start;
    int ret = rsp->cb(rsp, final, r->user_data);
    return ret < 0 ? ret : 0;
}

/* Content-Range: bytes first-last/complete ('*' for an unknown length). */
static void parse_content_range(struct rx *r, const struct wsc_header *h)
{
    const char *p = h->value, *end = h->value + h->value_len;
    uint64_t v[3] = {0, 0, 0};
    if (end - p < 6 || strncmp(p, "bytes ", 6) != 0)
        return;
    p += 6;
    for (int i = 0; i < 3; i++) {
        if (i == 2 && p < end && *p == '*') {
            p++;
            break;
        }
        if (p == end || *p < '0' || *p > '9')
            return;
        while (p < end && *p >= '0' && *p <= '9')
            v[i] = v[i] * 10 + (uint64_t)(*p++ - '0');
        if (i < 2 && (p == end || *p++ != (i == 0 ? '-' : '/')))
            return;
    }
    if (p != end)
        return;
    r->rsp->cr_present = 1;
    r->rsp->content_range.start = v[0];
    r->rsp->content_range.end = v[1];
    r->rsp->content_range.total = v[2];
    r->parser->content_range_present = true;
    r->parser->content_range = r->rsp->content_range;
}

/* A final response head is complete: status, taps, and how its body ends. */
static int head_complete(struct rx *r)
{
    const struct wsc_handshake *hs = &r->hs;
    struct http_response *rsp = r->rsp;
    struct http_parser *p = r->parser;
    enum wsc_http_body_mode mode, full_mode;
    uint64_t length, full_length;
    int rc = wsc_http_body_mode_for(hs, r->req->method == HTTP_HEAD, &mode, &length);
    /* What the head announces, also where no body follows (HEAD, 304). */
    if (rc == 0)
        rc = wsc_http_body_mode_for(hs, false, &full_mode, &full_length);
    if (rc)
        return -EPROTO;

    rsp->http_status_code = (uint16_t)hs->status;
    size_t n = hs->reason_len < HTTP_STATUS_STR_SIZE - 1 ? hs->reason_len
                                                         : HTTP_STATUS_STR_SIZE - 1;
    memcpy(rsp->http_status, hs->reason, n);
    rsp->http_status[n] = '\0';
    p->status_code = (unsigned int)hs->status;
    p->http_major = 1;
    p->http_minor = hs->head[7] == '0' ? 0 : 1;

    for (size_t i = 0; i < hs->header_count; i++) {
        const struct wsc_header *h = &hs->headers[i];
        if (h->name_len == 14 && strncasecmp(h->name, "content-length", 14) == 0) {
            rsp->cl_present = 1;
            p->flags |= F_CONTENTLENGTH;
        } else if (h->name_len == 13 && strncasecmp(h->name, "content-range", 13) == 0) {
            parse_content_range(r, h);
        }
    }
    if (full_mode == WSC_HTTP_BODY_LENGTH) {
        rsp->content_length = full_length > SIZE_MAX ? SIZE_MAX : (size_t)full_length;
        p->content_length = full_length;
    }
    if (mode == WSC_HTTP_BODY_CHUNKED)
        p->flags |= F_CHUNKED;

    /* 101, or 2xx to CONNECT: the bytes after the head are another protocol. */
    bool switched = hs->status == 101 ||
                    (r->req->method == HTTP_CONNECT && hs->status >= 200 && hs->status < 300);
    if (switched) {
        p->upgrade = 1;
        p->flags |= F_UPGRADE;
        mode = WSC_HTTP_BODY_NONE;
    }

    tap_data(r, r->cb ? r->cb->on_status : NULL, hs->reason, hs->reason_len);
    for (size_t i = 0; i < hs->header_count; i++) {
        const struct wsc_header *h = &hs->headers[i];
        tap_data(r, r->cb ? r->cb->on_header_field : NULL, h->name, h->name_len);
        tap_data(r, r->cb ? r->cb->on_header_value : NULL, h->value, h->value_len);
    }
    tap(r, r->cb ? r->cb->on_headers_complete : NULL);
    wsc_http_body_init(&r->body, mode, length);
    r->phase = PH_BODY;
    return 0;
}

static int head_error(int rc)
{
    return rc == WSC_EHS_TOO_LARGE || rc == WSC_EHS_TOO_MANY ? -EMSGSIZE : -EPROTO;
}

/* Runs the parsers over buf[pos..fill). */
static int process(struct rx *r, char *head, struct wsc_header *headers)
{
    while (r->pos < r->fill && r->phase != PH_DONE) {
        size_t used = 0;
        if (r->phase == PH_HEAD) {
            if (!r->began) {
                r->began = true;
                tap(r, r->cb ? r->cb->on_message_begin : NULL);
            }
            int rc = wsc_handshake_parse(&r->hs, r->buf + r->pos, r->fill - r->pos, &used);
            r->pos += used;
            r->out = r->pos; /* head bytes are response data too */
            if (rc == WSC_EAGAIN)
                return 0;
            if (rc)
                return head_error(rc);
            if (r->hs.status >= 100 && r->hs.status < 200 && r->hs.status != 101) {
                /* RFC 9110 15.2: an interim response; the final one follows. */
                wsc_handshake_init(&r->hs, NULL, head, CONFIG_HTTP_CLIENT_MAX_HEAD, headers,
                                   CONFIG_HTTP_CLIENT_MAX_HEADERS);
                r->began = false;
                continue;
            }
            rc = head_complete(r);
            if (rc)
                return rc;
            continue;
        }
        struct wsc_http_body_event ev;
        int rc = wsc_http_body_decode(&r->body, r->buf + r->pos, r->fill - r->pos, &used, &ev);
        r->pos += used;
        if (rc == WSC_EAGAIN)
            return 0;
        if (rc)
            return rc == WSC_EHTTP_TOO_LARGE ? -EMSGSIZE : -EPROTO;
        switch (ev.type) {
        case WSC_HTTP_BODY_DATA:
            if (r->body_start == SIZE_MAX)
                r->body_start = r->out;
            memmove(r->buf + r->out, ev.data, ev.len);
            r->out += ev.len;
            r->rsp->body_found = 1;
            r->rsp->processed += ev.len;
            tap_data(r, r->cb ? r->cb->on_body : NULL, (const char *)r->buf + r->out - ev.len,
                     ev.len);
            break;
        case WSC_HTTP_BODY_CHUNK_HEADER:
            r->parser->content_length = ev.chunk_size;
            tap(r, r->cb ? r->cb->on_chunk_header : NULL);
            break;
        case WSC_HTTP_BODY_CHUNK_COMPLETE:
            tap(r, r->cb ? r->cb->on_chunk_complete : NULL);
            break;
        case WSC_HTTP_BODY_END:
            r->phase = PH_DONE;
            break;
        }
    }
    /* A body that needs no bytes (HEAD, 204, 101, Content-Length: 0) ends here. */
    if (r->phase == PH_BODY && wsc_http_body_done(&r->body))
        r->phase = PH_DONE;
    return 0;
}

static int receive_response(int sock, struct http_request *req, void *user_data,
                            uint64_t deadline)
{
    char head[CONFIG_HTTP_CLIENT_MAX_HEAD];
    struct wsc_header headers[CONFIG_HTTP_CLIENT_MAX_HEADERS];
    struct rx r;
    memset(&r, 0, sizeof(r));
    r.req = req;
    r.rsp = &req->internal.response;
    r.parser = &req->internal.parser;
    r.cb = r.rsp->http_cb;
    r.user_data = user_data;
    r.buf = req->recv_buf;
    r.cap = req->recv_buf_len;
    r.body_start = SIZE_MAX;
    r.phase = PH_HEAD;
    wsc_handshake_init(&r.hs, NULL, head, sizeof(head), headers, CONFIG_HTTP_CLIENT_MAX_HEADERS);

    for (;;) {
        int rc = process(&r, head, headers);
        if (rc)
            return rc;
        if (r.phase == PH_DONE)
            break;
        /* Everything received is used. Make room: hand a full buffer to the
         * callback, or reuse the bytes that chunk framing left free. */
        if (r.fill == r.cap) {
            if (r.out == r.cap) {
                rc = deliver(&r, HTTP_DATA_MORE);
                if (rc)
                    return rc;
                r.out = 0;
                r.body_start = SIZE_MAX;
            }
            r.fill = r.pos = r.out;
        }
        ssize_t n = recv_some(sock, r.buf + r.fill, r.cap - r.fill, deadline);
        if (n < 0)
            return (int)n;
        if (n > 0) {
            r.fill += (size_t)n;
            r.received += (size_t)n;
            continue;
        }
        /* The server closed. */
        if (r.phase == PH_HEAD && r.received == 0) {
            /* A null response: closed without a byte, reported as status 0. */
            r.out = 0;
            r.body_start = SIZE_MAX;
            return deliver(&r, HTTP_DATA_FINAL);
        }
        struct wsc_http_body_event ev;
        if (r.phase != PH_BODY || wsc_http_body_eof(&r.body, &ev) != 0)
            return -ECONNRESET;
        r.phase = PH_DONE;
        break;
    }
    r.rsp->message_complete = 1;
    tap(&r, r.cb ? r.cb->on_message_complete : NULL);
    int rc = deliver(&r, HTTP_DATA_FINAL);
    /* What came after the response stays the application's, at the start of
     * recv_buf: after a 101, the new protocol's first bytes. */
    req->data_len = r.fill - r.pos;
    memmove(r.buf, r.buf + r.pos, req->data_len);
    return rc;
}

int http_client_req(int sock, struct http_request *req, int32_t timeout, void *user_data)
{
    if (sock < 0 || !req || !req->response || !req->recv_buf || req->recv_buf_len == 0)
        return -EINVAL;
    int rc = check_request(req);
    if (rc)
        return rc;
    memset(&req->internal.response, 0, sizeof(req->internal.response));
    void *data = req->internal.parser.data;
    memset(&req->internal.parser, 0, sizeof(req->internal.parser));
    req->internal.parser.data = data;
    req->internal.parser.type = HTTP_RESPONSE;
    req->internal.parser.method = (unsigned int)req->method;
    req->internal.response.http_cb = req->http_cb;
    req->internal.response.cb = req->response;
    req->internal.response.recv_buf = req->recv_buf;
    req->internal.response.recv_buf_len = req->recv_buf_len;
    req->internal.user_data = user_data;
    req->internal.sock = sock;
    req->data_len = 0;

    uint64_t deadline = deadline_after(timeout);
    size_t sent = 0;
    rc = send_request(sock, req, user_data, deadline, &sent);
    if (rc)
        return rc;
    rc = receive_response(sock, req, user_data, deadline);
    if (rc)
        return rc;
    return sent > INT_MAX ? INT_MAX : (int)sent;
}
