/*
 * The scale benchmark's server: a single-threaded epoll WebSocket echo server
 * on 127.0.0.1 that holds tens of thousands of connections at a few KiB each
 * (bench/load_server.c spends a thread per connection and cannot).
 *
 * Each connection is a small state machine, allocated on accept and freed on
 * close:
 *   HEAD     reading the HTTP upgrade request (at most IN_CAP bytes of head);
 *   OPEN     echoing: every data frame comes back unmasked with the same
 *            opcode and FIN bit, so fragmented messages are echoed frame by
 *            frame and a frame of any size streams through IN_CAP bytes;
 *            a ping is answered with a pong, a close with a close;
 *   CLOSING  our last bytes (a 400, or the close reply) are still going out;
 *            the socket is closed once they are sent.
 * Reads land in the connection's IN_CAP-byte input buffer; replies go to an
 * output buffer that starts at OUT_MIN bytes, grows only when one batch of
 * input produces more, and shrinks back once it is sent. While output is
 * pending the connection stops reading (epoll waits for EPOLLOUT instead), so
 * a client that does not read cannot make the server buffer without bound.
 * A client that breaks the protocol gets a 400 or a close 1002 and is dropped;
 * one that sends no complete request head within HEAD_TIMEOUT_MS is dropped.
 * Text is echoed without UTF-8 validation: this server measures the client.
 *
 * Usage: scale_server [--port P] [--max-conns N]
 * Prints "PORT <n>" once listening and, on SIGTERM or SIGINT, one line
 * "STATS accepted=... peak=... open=... refused=... bad=... frames=... bytes=..."
 * before it exits 0. It raises its own RLIMIT_NOFILE soft limit to the hard limit.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wsc/wsc_core.h"

#define IN_CAP 4096           /* input buffer per connection; also the request head limit */
#define OUT_MIN 256           /* first output buffer: a few small echoes */
#define LISTEN_BACKLOG 65535  /* the kernel clamps it to net.core.somaxconn */
#define HEAD_TIMEOUT_MS 10000 /* a client gets this long to send its request head */
#define MAX_EVENTS 512
#define ACCEPT_BATCH 1024 /* accepts per wakeup, so open connections are served too */

enum conn_state {
    ST_HEAD,    /* waits for the blank line ending the request head */
    ST_OPEN,    /* waits for frames */
    ST_CLOSING, /* waits until the last output is sent, then closes */
};

struct conn {
    int fd;
    enum conn_state state;
    uint32_t events;            /* what epoll waits for: EPOLLIN or EPOLLOUT */
    struct conn *prev, *next;   /* every connection, for the cleanup at exit */
    struct conn *hprev, *hnext; /* those in ST_HEAD, oldest first, for the timeout */
    int64_t deadline_ms;
    /* The frame whose payload is streaming through (ST_OPEN). */
    bool in_payload;
    bool in_message; /* a fragmented data message is open */
    uint8_t mask[4];
    uint64_t left;      /* payload bytes of this frame still to come */
    uint64_t frame_off; /* payload bytes of this frame already echoed */
    uint8_t *out;
    size_t out_len, out_off, out_cap;
    size_t in_len;
    uint8_t in[IN_CAP];
};

static struct {
    int ep, listen_fd, reserve_fd;
    size_t conns, max_conns;
    struct conn *all;                    /* every connection */
    struct conn *head_first, *head_last; /* connections in ST_HEAD, oldest first */
    uint64_t accepted, peak, refused, bad, frames, bytes;
} srv = {.ep = -1, .listen_fd = -1, .reserve_fd = -1};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connection lists --------------------------------------------------------- */

static void conn_link(struct conn *c)
{
    c->prev = NULL;
    c->next = srv.all;
    if (srv.all)
        srv.all->prev = c;
    srv.all = c;
    /* Every head gets the same time, so appending keeps the list sorted. */
    c->deadline_ms = now_ms() + HEAD_TIMEOUT_MS;
    c->hprev = srv.head_last;
    c->hnext = NULL;
    if (srv.head_last)
        srv.head_last->hnext = c;
    else
        srv.head_first = c;
    srv.head_last = c;
}

/* Leaves ST_HEAD (and its timeout list) for @p st. */
static void conn_set_state(struct conn *c, enum conn_state st)
{
    if (c->state == ST_HEAD && st != ST_HEAD) {
        if (c->hprev)
            c->hprev->hnext = c->hnext;
        else
            srv.head_first = c->hnext;
        if (c->hnext)
            c->hnext->hprev = c->hprev;
        else
            srv.head_last = c->hprev;
    }
    c->state = st;
}

static void conn_free(struct conn *c)
{
    conn_set_state(c, ST_CLOSING);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv.all = c->next;
    if (c->next)
        c->next->prev = c->prev;
    /* close() also removes the descriptor from the epoll set. */
    close(c->fd);
    free(c->out);
    free(c);
    srv.conns--;
}

static void conn_bad(struct conn *c)
{
    srv.bad++;
    conn_free(c);
}

static int conn_watch(struct conn *c, uint32_t events)
{
    if (c->events == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(srv.ep, EPOLL_CTL_MOD, c->fd, &ev))
        return -1;
    c->events = events;
    return 0;
}

/* Room for @p n more output bytes; the buffer doubles from OUT_MIN as needed. */
static uint8_t *out_reserve(struct conn *c, size_t n)
{
    if (c->out && c->out_cap - c->out_len >= n)
        return c->out + c->out_len;
    if (c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
        if (c->out_cap - c->out_len >= n)
            return c->out + c->out_len;
    }
    if (n > SIZE_MAX / 4 - c->out_len)
        return NULL;
    size_t cap = c->out_cap ? c->out_cap : OUT_MIN;
    while (cap - c->out_len < n)
        cap *= 2;
    uint8_t *p = realloc(c->out, cap);
    if (!p)
        return NULL;
    c->out = p;
    c->out_cap = cap;
    return c->out + c->out_len;
}

static int out_append(struct conn *c, const void *p, size_t n)
{
    uint8_t *o = out_reserve(c, n);
    if (!o)
        return -1;
    memcpy(o, p, n);
    c->out_len += n;
    return 0;
}

/* Sends what is pending. Returns 1 when all of it went out, 0 when the socket
 * is full, -1 when the peer is gone. */
static int conn_flush(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    if (c->out_cap > OUT_MIN) {
        /* A large frame passed: idle connections go back to a small buffer. */
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
    return 1;
}

/* ---- frames ---------------------------------------------------------------- */

static size_t put_header(uint8_t *o, uint8_t b0, uint64_t len)
{
    o[0] = b0;
    if (len < 126) {
        o[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        o[1] = 126;
        o[2] = (uint8_t)(len >> 8);
        o[3] = (uint8_t)len;
        return 4;
    }
    o[1] = 127;
    for (int i = 0; i < 8; i++)
        o[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

static int send_frame(struct conn *c, uint8_t opcode, const uint8_t *p, size_t len)
{
    uint8_t h[14];
    size_t hl = put_header(h, (uint8_t)(0x80 | opcode), len);
    return out_append(c, h, hl) || out_append(c, p, len) ? -1 : 0;
}

/* Ends the connection with a close frame carrying @p code (RFC 6455 7.4.1). */
static int fail_ws(struct conn *c, uint16_t code)
{
    uint8_t p[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    srv.bad++;
    conn_set_state(c, ST_CLOSING);
    return send_frame(c, WSC_OP_CLOSE, p, 2);
}

/* RFC 6455 7.4: the codes a peer may send in a close frame. */
static bool close_code_valid(uint16_t code)
{
    if (code >= 3000 && code <= 4999)
        return true;
    return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

/*
 * Consumes frames from in[0..in_len): echoes data, answers control frames.
 * Stops at a partial header or partial control frame, which stays at the
 * start of the buffer. Returns -1 when output cannot be allocated.
 */
static int process_frames(struct conn *c)
{
    size_t pos = 0;
    while (c->state == ST_OPEN) {
        const uint8_t *p = c->in + pos;
        size_t avail = c->in_len - pos;
        if (c->in_payload) {
            if (c->left == 0) {
                c->in_payload = false; /* an empty frame */
                continue;
            }
            size_t n = avail < c->left ? avail : (size_t)c->left;
            if (n == 0)
                break;
            uint8_t *o = out_reserve(c, n);
            if (!o)
                return -1;
            for (size_t i = 0; i < n; i++)
                o[i] = p[i] ^ c->mask[(c->frame_off + i) & 3];
            c->out_len += n;
            c->frame_off += n;
            c->left -= n;
            srv.bytes += n;
            pos += n;
            if (c->left == 0)
                c->in_payload = false;
            continue;
        }
        if (avail < 2)
            break;
        uint8_t b0 = p[0], b1 = p[1], l7 = b1 & 0x7f, opcode = b0 & 0x0f;
        bool fin = (b0 & 0x80) != 0;
        /* Checked on the first two bytes, so a bad frame fails at once rather
         * than waiting for a header that may never complete. RFC 6455 5.2: no
         * extension was negotiated, so RSV bits are 0; 5.1: clients mask;
         * 5.5: control frames are final and carry at most 125 bytes. */
        if ((b0 & 0x70) || !(b1 & 0x80))
            return fail_ws(c, 1002);
        if ((opcode & 0x8) && (!fin || l7 > 125 || opcode > WSC_OP_PONG))
            return fail_ws(c, 1002);
        size_t hl = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + 4;
        if (avail < hl)
            break;
        uint64_t len = l7;
        if (l7 == 126)
            len = (uint64_t)p[2] << 8 | p[3];
        else if (l7 == 127)
            for (int i = 0; i < 8; i++)
                len = (i ? len << 8 : 0) | p[2 + i];
        if (len >> 63) /* RFC 6455 5.2: the 64-bit length has its top bit clear */
            return fail_ws(c, 1002);
        if (opcode & 0x8) {
            /* Control frames are short, so they are handled whole. */
            if (avail < hl + len)
                break;
            uint8_t payload[125];
            for (size_t i = 0; i < len; i++)
                payload[i] = p[hl + i] ^ p[hl - 4 + (i & 3)];
            pos += hl + (size_t)len;
            srv.frames++;
            if (opcode == WSC_OP_PING) {
                if (send_frame(c, WSC_OP_PONG, payload, (size_t)len))
                    return -1;
            } else if (opcode == WSC_OP_CLOSE) {
                /* RFC 6455 5.5.1: answer with the status code received. */
                if (len == 1)
                    return fail_ws(c, 1002);
                uint16_t code = (uint16_t)(len ? payload[0] << 8 | payload[1] : 0);
                if (len && !close_code_valid(code))
                    return fail_ws(c, 1002);
                conn_set_state(c, ST_CLOSING);
                return send_frame(c, WSC_OP_CLOSE, payload, len ? 2 : 0);
            }
            continue; /* a pong: nothing to do */
        }
        /* RFC 6455 5.4: continuations only inside a message, data frames only
         * outside one. Unknown data opcodes (3-7) fail too. */
        if (opcode == WSC_OP_CONTINUATION ? !c->in_message
                                          : (c->in_message || opcode > WSC_OP_BINARY))
            return fail_ws(c, 1002);
        c->in_message = !fin;
        /* Same FIN bit and opcode: a fragment is echoed as a fragment. */
        uint8_t h[14];
        size_t oh = put_header(h, b0, len);
        if (out_append(c, h, oh))
            return -1;
        memcpy(c->mask, p + hl - 4, 4);
        c->left = len;
        c->frame_off = 0;
        c->in_payload = true;
        srv.frames++;
        pos += hl;
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    return 0;
}

/* ---- the upgrade request ---------------------------------------------------- */

/* The value of header @p name in @p head (NUL-terminated, lines end in CRLF). */
static const char *header_value(const char *head, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *e = strstr(v, "\r\n");
            if (!e)
                return NULL;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            *len = (size_t)(e - v);
            return v;
        }
    }
    return NULL;
}

/* True when the comma-separated list @p v contains @p token (any case). */
static bool has_token(const char *v, size_t len, const char *token)
{
    size_t tl = strlen(token);
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < len && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, token, tl) == 0)
            return true;
    }
    return false;
}

/* RFC 6455 4.2.1: the key must be base64 of 16 bytes. */
static bool key_valid(const char *k, size_t len)
{
    if (len != WSC_HANDSHAKE_KEY_LEN || k[22] != '=' || k[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++) {
        char ch = k[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              (ch >= '0' && ch <= '9') || ch == '+' || ch == '/'))
            return false;
    }
    return true;
}

static int reply_400(struct conn *c, const char *why)
{
    char buf[256];
    int n =
        snprintf(buf, sizeof(buf),
                 "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: %zu\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n%s",
                 strlen(why), why);
    srv.bad++;
    conn_set_state(c, ST_CLOSING);
    return out_append(c, buf, (size_t)n);
}

/* Looks for the end of the request head; answers it once complete. */
static int process_head(struct conn *c)
{
    uint8_t *e = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!e) {
        if (c->in_len == IN_CAP)
            return reply_400(c, "request head too large");
        return 0;
    }
    size_t hlen = (size_t)(e - c->in) + 4;
    char head[IN_CAP + 1];
    memcpy(head, c->in, hlen);
    head[hlen] = '\0';
    if (memchr(head, '\0', hlen))
        return reply_400(c, "NUL in request head");
    conn_set_state(c, ST_OPEN);

    size_t ulen = 0, clen = 0, vlen = 0, klen = 0;
    const char *upgrade = header_value(head, "Upgrade", &ulen);
    const char *connection = header_value(head, "Connection", &clen);
    const char *version = header_value(head, "Sec-WebSocket-Version", &vlen);
    const char *key = header_value(head, "Sec-WebSocket-Key", &klen);
    const char *eol = strstr(head, "\r\n");
    if (strncmp(head, "GET /", 5) != 0 || eol - head < 14 ||
        memcmp(eol - 9, " HTTP/1.1", 9) != 0)
        return reply_400(c, "not a GET over HTTP/1.1");
    if (!upgrade || !has_token(upgrade, ulen, "websocket") || !connection ||
        !has_token(connection, clen, "upgrade"))
        return reply_400(c, "not a WebSocket upgrade");
    if (!version || vlen != 2 || memcmp(version, "13", 2) != 0)
        return reply_400(c, "unsupported Sec-WebSocket-Version");
    if (!key || !key_valid(key, klen))
        return reply_400(c, "bad Sec-WebSocket-Key");

    char accept[WSC_HANDSHAKE_ACCEPT_LEN];
    wsc_handshake_accept_for(key, accept);
    char resp[160];
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %.*s\r\n\r\n",
                     WSC_HANDSHAKE_ACCEPT_LEN, accept);
    if (out_append(c, resp, (size_t)n))
        return -1;
    /* Frames sent right behind the request are already in the buffer. */
    memmove(c->in, c->in + hlen, c->in_len - hlen);
    c->in_len -= hlen;
    return process_frames(c);
}

/* ---- events ------------------------------------------------------------------ */

/* After input was processed or output sent: send what is pending, then wait
 * for room (output left) or for input (all sent), or close a finished one. */
static void conn_settle(struct conn *c)
{
    int rc = conn_flush(c);
    if (rc < 0) {
        conn_free(c);
        return;
    }
    if (rc == 1 && c->state == ST_CLOSING) {
        /* RFC 6455 7.1.1: the server closes the TCP connection first. */
        conn_free(c);
        return;
    }
    if (conn_watch(c, rc == 1 ? EPOLLIN : EPOLLOUT))
        conn_bad(c);
}

static void conn_readable(struct conn *c)
{
    ssize_t n;
    do
        n = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        conn_free(c); /* the peer is gone, with or without a close frame */
        return;
    }
    c->in_len += (size_t)n;
    int rc = c->state == ST_HEAD ? process_head(c) : process_frames(c);
    if (rc) {
        conn_bad(c);
        return;
    }
    conn_settle(c);
}

/* One client past the limit: accept it and close it at once. Returns false
 * when the backlog is empty. */
static bool refuse_one(void)
{
    int fd = accept4(srv.listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return errno == EINTR || errno == ECONNABORTED;
    close(fd);
    srv.refused++;
    return true;
}

static void accept_some(void)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        if (srv.conns >= srv.max_conns) {
            /* Closing at once tells the client; leaving it in the backlog
             * would keep the listener readable and the loop spinning. */
            if (!refuse_one())
                return;
            continue;
        }
        int fd = accept4(srv.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if ((errno == EMFILE || errno == ENFILE) && srv.reserve_fd >= 0) {
                /* Out of descriptors: free the reserve to refuse one client,
                 * rather than leave the listener readable forever. */
                close(srv.reserve_fd);
                refuse_one();
                srv.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                continue;
            }
            return; /* EAGAIN: the backlog is empty */
        }
        struct conn *c = malloc(sizeof(*c));
        if (!c) {
            close(fd);
            srv.refused++;
            continue;
        }
        memset(c, 0, offsetof(struct conn, in));
        c->fd = fd;
        c->state = ST_HEAD;
        c->events = EPOLLIN;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(srv.ep, EPOLL_CTL_ADD, fd, &ev)) {
            close(fd);
            free(c);
            srv.refused++;
            continue;
        }
        conn_link(c);
        srv.conns++;
        srv.accepted++;
        if (srv.conns > srv.peak)
            srv.peak = srv.conns;
    }
}

static void expire_heads(void)
{
    int64_t now = now_ms();
    while (srv.head_first && srv.head_first->deadline_ms <= now)
        conn_bad(srv.head_first);
}

/* ---- main -------------------------------------------------------------------- */

static size_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl))
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (size_t)rl.rlim_cur;
}

static void usage(void)
{
    fprintf(stderr, "usage: scale_server [--port P] [--max-conns N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int port = 0;
    long long max_conns = -1;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 0 || v > 65535)
                usage();
            port = (int)v;
        } else if (strcmp(argv[i], "--max-conns") == 0 && i + 1 < argc) {
            max_conns = strtoll(argv[++i], &end, 10);
            if (*end || max_conns < 1)
                usage();
        } else {
            usage();
        }
    }

    /* Descriptors beside the connections: stdio, epoll, listener, reserve. */
    size_t nofile = raise_nofile();
    size_t fd_room = nofile > 16 ? nofile - 16 : 1;
    if (max_conns < 0) {
        srv.max_conns = fd_room;
    } else {
        srv.max_conns = (size_t)max_conns;
        if (srv.max_conns > fd_room)
            fprintf(stderr,
                    "scale_server: --max-conns %lld exceeds the descriptor limit (%zu); "
                    "accept will fail beyond it\n",
                    max_conns, nofile);
    }

    signal(SIGPIPE, SIG_IGN);
    /* The stop signals are blocked except inside epoll_pwait(), so one that
     * arrives between two waits is taken at the next wait, never lost. */
    sigset_t stop_set, wait_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    sigprocmask(SIG_BLOCK, &stop_set, &wait_set);
    sigdelset(&wait_set, SIGTERM);
    sigdelset(&wait_set, SIGINT);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    srv.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (srv.listen_fd < 0 ||
        setsockopt(srv.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        bind(srv.listen_fd, (struct sockaddr *)&a, sizeof(a)) ||
        listen(srv.listen_fd, LISTEN_BACKLOG)) {
        perror("scale_server: listen");
        return 1;
    }
    srv.ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    if (srv.ep < 0 || epoll_ctl(srv.ep, EPOLL_CTL_ADD, srv.listen_fd, &lev)) {
        perror("scale_server: epoll");
        return 1;
    }
    srv.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    socklen_t alen = sizeof(a);
    getsockname(srv.listen_fd, (struct sockaddr *)&a, &alen);
    printf("PORT %u\n", ntohs(a.sin_port));
    fflush(stdout);

    static struct epoll_event events[MAX_EVENTS];
    while (!stop_requested) {
        int timeout = -1;
        if (srv.head_first) {
            int64_t left = srv.head_first->deadline_ms - now_ms();
            timeout = left < 0 ? 0 : (int)left + 1;
        }
        int n = epoll_pwait(srv.ep, events, MAX_EVENTS, timeout, &wait_set);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("scale_server: epoll_wait");
            return 1;
        }
        /* epoll reports each descriptor at most once per wait, so freeing a
         * connection here cannot leave a stale pointer later in events[]. */
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (!c) {
                accept_some();
                continue;
            }
            if (events[i].events & EPOLLERR)
                conn_free(c);
            else if (c->events == EPOLLOUT)
                conn_settle(c); /* room to send, or the peer is gone (send fails) */
            else
                conn_readable(c); /* input, or EOF / HUP (recv returns 0 or fails) */
        }
        expire_heads();
    }

    printf("STATS accepted=%llu peak=%llu open=%zu refused=%llu bad=%llu frames=%llu "
           "bytes=%llu\n",
           (unsigned long long)srv.accepted, (unsigned long long)srv.peak, srv.conns,
           (unsigned long long)srv.refused, (unsigned long long)srv.bad,
           (unsigned long long)srv.frames, (unsigned long long)srv.bytes);
    fflush(stdout);
    /* Everything is freed, so leak checkers see a clean exit. */
    while (srv.all)
        conn_free(srv.all);
    close(srv.ep);
    close(srv.listen_fd);
    if (srv.reserve_fd >= 0)
        close(srv.reserve_fd);
    return 0;
}
