/*
 * The benchmark's load server: one thread per connection on 127.0.0.1, kept
 * cheap so that the client is what gets measured.
 *
 * The request line picks the protocol and the workload:
 *   GET /<kind>?size=S&count=N&cpu=C&bulk=B&corrupt=X HTTP/1.1   WebSocket (RFC 6455)
 *   RAW /<kind>?size=S&count=N&cpu=C&bulk=B&corrupt=X            plain TCP, answered "OK\n"
 * and the kinds are served as:
 *   recv, recv-text  N messages sent from a pre-framed block in memory, in writes
 *                    of the whole block, then a close frame (raw: FIN);
 *   send             a sink: unmasks and checks every message's size and bytes,
 *                    then answers "OK" as one binary message (raw: 2 bytes), or
 *                    "FAIL ..." and closes;
 *   echo             every data frame comes back unmasked (raw: every byte).
 * The server thread pins itself to CPU C when C >= 0; corrupt=1 damages one
 * payload (bench_corrupt) to prove that the clients check what they get.
 *
 * Usage: load_server [--port P]   prints "PORT <n>" once listening.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common.h"
#include "wsc/wsc_core.h"

#define HEAD_MAX 8192
#define SINK_BUF (1u << 20)
#define IO_TIMEOUT_S 60

struct conn {
    int fd;
    bool ws;
    struct bench_workload w;
    uint8_t *payloads;
    size_t msgs;
    uint8_t *in; /* SINK_BUF bytes; starts with what followed the request head */
    size_t in_len;
};

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static ssize_t read_some(int fd, uint8_t *p, size_t cap)
{
    for (;;) {
        ssize_t n = recv(fd, p, cap, 0);
        if (n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

static size_t frame_header(uint8_t *o, uint8_t opcode, uint64_t len)
{
    o[0] = (uint8_t)(0x80 | opcode);
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

static int send_frame(int fd, uint8_t opcode, const void *payload, size_t len)
{
    uint8_t buf[14 + 256];
    if (len > 256)
        return -1;
    size_t h = frame_header(buf, opcode, len);
    memcpy(buf + h, payload, len);
    return write_all(fd, buf, h + len);
}

/* A client frame header: returns its size, or 0 when more bytes are needed. */
struct hdr {
    bool fin, masked;
    uint8_t opcode;
    uint64_t len;
    uint8_t mask[4];
};

static size_t parse_header(const uint8_t *p, size_t n, struct hdr *h)
{
    if (n < 2)
        return 0;
    size_t need = 2;
    uint8_t l7 = p[1] & 0x7f;
    need += l7 == 126 ? 2 : l7 == 127 ? 8 : 0;
    need += (p[1] & 0x80) ? 4 : 0;
    if (n < need)
        return 0;
    h->fin = (p[0] & 0x80) != 0;
    h->opcode = p[0] & 0x0f;
    h->masked = (p[1] & 0x80) != 0;
    size_t pos = 2;
    if (l7 < 126) {
        h->len = l7;
    } else if (l7 == 126) {
        h->len = (uint64_t)p[2] << 8 | p[3];
        pos = 4;
    } else {
        h->len = 0;
        for (int i = 0; i < 8; i++)
            h->len = h->len << 8 | p[2 + i];
        pos = 10;
    }
    memset(h->mask, 0, 4);
    if (h->masked)
        memcpy(h->mask, p + pos, 4);
    return need;
}

/* Compares masked bytes with the expected payload without writing anything:
 * eight bytes at a time against the key rotated to this frame offset. */
static bool masked_equal(const uint8_t *p, size_t n, const uint8_t mask[4], uint64_t frame_off,
                         const uint8_t *want)
{
    uint8_t k8[8];
    for (unsigned j = 0; j < 8; j++)
        k8[j] = mask[(frame_off + j) & 3];
    uint64_t kw;
    memcpy(&kw, k8, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t a, b;
        memcpy(&a, p + i, 8);
        memcpy(&b, want + i, 8);
        if ((a ^ kw) != b)
            return false;
    }
    for (; i < n; i++)
        if ((uint8_t)(p[i] ^ k8[i & 7]) != want[i])
            return false;
    return true;
}

/* Reads until the peer's FIN (or an error), so our close is read, not reset. */
static void drain(struct conn *c)
{
    uint8_t buf[4096];
    while (read_some(c->fd, buf, sizeof(buf)) > 0) {
    }
}

/* ---- recv: pre-framed messages from memory ------------------------------ */

static int serve_recv(struct conn *c)
{
    size_t m = c->msgs, size = c->w.size;
    size_t hmax = c->ws ? 10 : 0;
    uint8_t *block = malloc(m * (size + hmax));
    size_t *off = malloc((m + 1) * sizeof(size_t));
    if (!block || !off) {
        free(block);
        free(off);
        return -1;
    }
    uint8_t opcode = c->w.kind == BENCH_RECV_TEXT ? WSC_OP_TEXT : WSC_OP_BINARY;
    size_t pos = 0;
    for (size_t k = 0; k < m; k++) {
        off[k] = pos;
        if (c->ws)
            pos += frame_header(block + pos, opcode, size);
        memcpy(block + pos, c->payloads + k * size, size);
        pos += size;
    }
    off[m] = pos;
    int rc = 0;
    for (uint64_t sent = 0; sent < c->w.count && rc == 0;) {
        uint64_t left = c->w.count - sent;
        size_t take = left < m ? (size_t)left : m;
        rc = write_all(c->fd, block, off[take]);
        sent += take;
    }
    free(block);
    free(off);
    if (rc)
        return rc;
    if (c->ws) {
        uint8_t code[2] = {0x03, 0xe8}; /* 1000 */
        send_frame(c->fd, WSC_OP_CLOSE, code, 2);
    } else {
        shutdown(c->fd, SHUT_WR);
    }
    drain(c);
    return 0;
}

/* ---- send: the verifying sink ------------------------------------------- */

static int sink_result(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int sink_result(struct conn *c, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
    bool ok = strcmp(msg, "OK") == 0;
    if (!ok)
        fprintf(stderr, "load_server: sink %s %zu: %s\n", bench_kind_name(c->w.kind),
                c->w.size, msg);
    if (c->ws)
        send_frame(c->fd, ok ? WSC_OP_BINARY : WSC_OP_TEXT, msg, len);
    else
        write_all(c->fd, (const uint8_t *)msg, len);
    return ok ? 0 : -1;
}

static int serve_sink_raw(struct conn *c)
{
    struct bench_verifier v;
    bench_verifier_init(&v, c->payloads, c->msgs, c->w.size);
    uint64_t total = c->w.size * c->w.count, got = 0;
    size_t len = c->in_len;
    for (;;) {
        if (len > total - got)
            return sink_result(c, "FAIL %zu bytes beyond the %llu expected", len,
                               (unsigned long long)total);
        if (!bench_verify_stream(&v, c->in, len))
            return sink_result(c, "FAIL wrong bytes in message %llu",
                               (unsigned long long)v.index);
        got += len;
        if (got == total)
            break;
        ssize_t n = read_some(c->fd, c->in, SINK_BUF);
        if (n <= 0)
            return sink_result(c, "FAIL stream ended after %llu of %llu bytes",
                               (unsigned long long)got, (unsigned long long)total);
        len = (size_t)n;
    }
    int rc = sink_result(c, "OK");
    drain(c);
    return rc;
}

static int serve_sink_ws(struct conn *c)
{
    const size_t size = c->w.size;
    uint64_t done = 0;     /* messages verified */
    size_t msg_off = 0;    /* bytes of the current message so far */
    bool in_msg = false;   /* a data message is open (fragments may follow) */
    bool in_payload = false;
    struct hdr h = {0};
    uint64_t frame_off = 0; /* payload bytes of the current frame so far */
    size_t start = 0, end = c->in_len;
    for (;;) {
        /* Consume what is buffered. */
        for (;;) {
            size_t avail = end - start;
            uint8_t *p = c->in + start;
            if (!in_payload) {
                size_t hl = parse_header(p, avail, &h);
                if (hl == 0)
                    break;
                if (!h.masked)
                    return sink_result(c, "FAIL unmasked client frame");
                if (h.opcode & 0x8) {
                    if (h.len > 125)
                        return sink_result(c, "FAIL control frame of %llu bytes",
                                           (unsigned long long)h.len);
                    if (avail < hl + h.len)
                        break; /* control frames are handled whole */
                    if (h.opcode == WSC_OP_CLOSE) {
                        if (done != c->w.count)
                            return sink_result(c, "FAIL close after %llu of %llu messages",
                                               (unsigned long long)done,
                                               (unsigned long long)c->w.count);
                        uint8_t code[2] = {0x03, 0xe8};
                        send_frame(c->fd, WSC_OP_CLOSE, code, 2);
                        shutdown(c->fd, SHUT_WR);
                        drain(c);
                        return 0;
                    }
                    start += hl + (size_t)h.len; /* pings and pongs: ignored */
                    continue;
                }
                if (h.opcode == WSC_OP_CONTINUATION ? !in_msg : in_msg || h.opcode != WSC_OP_BINARY)
                    return sink_result(c, "FAIL unexpected opcode %u in message %llu",
                                       h.opcode, (unsigned long long)done);
                if (done == c->w.count)
                    return sink_result(c, "FAIL more than %llu messages",
                                       (unsigned long long)c->w.count);
                if (h.len > size - msg_off)
                    return sink_result(c, "FAIL message %llu longer than %zu bytes",
                                       (unsigned long long)done, size);
                in_msg = true;
                in_payload = true;
                frame_off = 0;
                start += hl;
                avail -= hl;
                p += hl;
            }
            size_t n = avail;
            if ((uint64_t)n > h.len - frame_off)
                n = (size_t)(h.len - frame_off);
            const uint8_t *want = c->payloads + (size_t)(done % c->msgs) * size + msg_off;
            if (!masked_equal(p, n, h.mask, frame_off, want))
                return sink_result(c, "FAIL wrong bytes in message %llu",
                                   (unsigned long long)done);
            frame_off += n;
            msg_off += n;
            start += n;
            if (frame_off < h.len)
                break; /* the rest of the frame is still to come */
            in_payload = false;
            if (h.fin) {
                if (msg_off != size)
                    return sink_result(c, "FAIL message %llu has %zu bytes, not %zu",
                                       (unsigned long long)done, msg_off, size);
                in_msg = false;
                msg_off = 0;
                if (++done == c->w.count && sink_result(c, "OK"))
                    return -1;
            }
        }
        /* Keep a partial header or control frame, then read more. */
        if (start > 0) {
            memmove(c->in, c->in + start, end - start);
            end -= start;
            start = 0;
        }
        ssize_t n = read_some(c->fd, c->in + end, SINK_BUF - end);
        if (n <= 0)
            return done == c->w.count ? 0
                                      : sink_result(c, "FAIL stream ended after %llu messages",
                                                    (unsigned long long)done);
        end += (size_t)n;
    }
}

/* ---- echo ----------------------------------------------------------------- */

static int serve_echo(struct conn *c)
{
    uint8_t *out = malloc(SINK_BUF + 16);
    if (!out)
        return -1;
    size_t start = 0, end = c->in_len;
    int rc = 0;
    for (;;) {
        size_t olen = 0;
        if (!c->ws) {
            olen = end;
            memcpy(out, c->in, end);
            start = end;
        }
        while (c->ws) {
            struct hdr h;
            size_t hl = parse_header(c->in + start, end - start, &h);
            if (hl == 0 || end - start - hl < h.len)
                break;
            if (h.len > SINK_BUF / 2 || !h.masked) {
                fprintf(stderr, "load_server: echo: bad frame\n");
                rc = -1;
                goto out;
            }
            uint8_t *p = c->in + start + hl;
            for (size_t i = 0; i < h.len; i++)
                p[i] ^= h.mask[i & 3];
            if (h.opcode == WSC_OP_CLOSE) {
                write_all(c->fd, out, olen);
                send_frame(c->fd, WSC_OP_CLOSE, p, h.len < 2 ? 0 : 2);
                shutdown(c->fd, SHUT_WR);
                drain(c);
                goto out;
            }
            if (olen + 10 + h.len > SINK_BUF) {
                if (write_all(c->fd, out, olen)) {
                    rc = -1;
                    goto out;
                }
                olen = 0;
            }
            size_t at = olen;
            olen += frame_header(out + olen, h.opcode, h.len);
            out[at] = (uint8_t)((h.fin ? 0x80 : 0) | h.opcode); /* fragments stay fragments */
            memcpy(out + olen, p, h.len);
            olen += h.len;
            start += hl + h.len;
        }
        if (olen && write_all(c->fd, out, olen)) {
            rc = -1;
            break;
        }
        if (start > 0) {
            memmove(c->in, c->in + start, end - start);
            end -= start;
            start = 0;
        }
        ssize_t n = read_some(c->fd, c->in + end, SINK_BUF - end);
        if (n <= 0)
            break;
        end += (size_t)n;
    }
out:
    free(out);
    return rc;
}

/* ---- connection setup ----------------------------------------------------- */

static const char *header_value(char *head, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (char *line = strstr(head, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            char *e = strstr(v, "\r\n");
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

static void reply_error(int fd, const char *why)
{
    char buf[256];
    int n = snprintf(buf, sizeof(buf),
                     "HTTP/1.1 400 Bad Request\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     strlen(why), why);
    if (n > 0)
        write_all(fd, (const uint8_t *)buf, (size_t)n);
}

static void *serve(void *arg)
{
    struct conn *c = arg;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct timeval tv = {IO_TIMEOUT_S, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

    c->in = malloc(SINK_BUF);
    char head[HEAD_MAX + 1];
    size_t hlen = 0, end = 0;
    if (!c->in)
        goto done;
    /* The request head, and whatever already followed it. */
    for (;;) {
        ssize_t n = read_some(c->fd, c->in + end, SINK_BUF - end);
        if (n <= 0)
            goto done;
        end += (size_t)n;
        uint8_t *e = memmem(c->in, end, "\r\n\r\n", 4);
        if (e) {
            hlen = (size_t)(e - c->in) + 4;
            break;
        }
        if (end > HEAD_MAX)
            goto done;
    }
    if (hlen > HEAD_MAX)
        goto done;
    memcpy(head, c->in, hlen);
    head[hlen] = '\0';
    memmove(c->in, c->in + hlen, end - hlen);
    c->in_len = end - hlen;

    char method[8], path[1024];
    if (sscanf(head, "%7s %1023s", method, path) != 2) {
        reply_error(c->fd, "bad request line");
        goto done;
    }
    c->ws = strcmp(method, "GET") == 0;
    if ((!c->ws && strcmp(method, "RAW") != 0) || bench_parse_path(path, &c->w)) {
        reply_error(c->fd, "unknown workload");
        goto done;
    }
    if (bench_pin(c->w.server_cpu)) {
        reply_error(c->fd, "cannot pin to that CPU");
        goto done;
    }
    c->payloads = bench_payloads(c->w.size, c->w.kind == BENCH_RECV_TEXT, &c->msgs);
    bench_corrupt(c->payloads, c->msgs, &c->w, true);

    if (c->ws) {
        size_t klen = 0;
        const char *key = header_value(head, "Sec-WebSocket-Key", &klen);
        if (!key || klen != WSC_HANDSHAKE_KEY_LEN) {
            reply_error(c->fd, "missing Sec-WebSocket-Key");
            goto done;
        }
        char accept[WSC_HANDSHAKE_ACCEPT_LEN];
        wsc_handshake_accept_for(key, accept);
        char resp[256];
        int n = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Accept: %.*s\r\n\r\n",
                         WSC_HANDSHAKE_ACCEPT_LEN, accept);
        if (write_all(c->fd, (const uint8_t *)resp, (size_t)n))
            goto done;
    } else if (write_all(c->fd, (const uint8_t *)"OK\n", 3)) {
        goto done;
    }

    switch (c->w.kind) {
    case BENCH_RECV:
    case BENCH_RECV_TEXT:
        serve_recv(c);
        break;
    case BENCH_SEND:
        if (c->ws)
            serve_sink_ws(c);
        else
            serve_sink_raw(c);
        break;
    case BENCH_ECHO:
        serve_echo(c);
        break;
    }
done:
    close(c->fd);
    free(c->in);
    free(c->payloads);
    free(c);
    return NULL;
}

int main(int argc, char **argv)
{
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: load_server [--port P]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 64)) {
        perror("load_server: listen");
        return 1;
    }
    socklen_t alen = sizeof(a);
    getsockname(ls, (struct sockaddr *)&a, &alen);
    printf("PORT %u\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("load_server: accept");
            return 1;
        }
        struct conn *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &at, serve, c)) {
            close(fd);
            free(c);
        }
        pthread_attr_destroy(&at);
    }
}
