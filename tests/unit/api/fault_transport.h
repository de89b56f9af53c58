/*
 * An in-memory transport for the blocking API that plays a scripted server and
 * injects faults at exact byte offsets.
 *
 * The server stream is a 101 response computed for the Sec-WebSocket-Key the
 * client actually sent (the request is captured and parsed first; until it is
 * complete the server says nothing), followed by the caller's frames and then
 * end of stream (the server's FIN). With t->extensions set, the 101 also carries
 * "Sec-WebSocket-Extensions: <extensions>" (e.g. permessage-deflate). Everything the client sends is captured,
 * and ft_client_frames() decodes and unmasks it.
 *
 * Nothing sleeps: wait() answers at once. It reports readable while the script
 * has bytes or its end (EOF is readable, as on a socket), writable unless a
 * write stall is armed, and 0 when nothing is ready (only a stall leaves
 * nothing ready; anything else counts as misuse). The library measures its
 * deadlines with wsc_platform_now_ms() and waits again after an early 0, so a
 * stall costs the caller's timeout in real time: keep those short in stall
 * runs. A stall lasts until ft_resume(), which the driver calls once the API
 * has reported WSC_ETIMEDOUT (the peer resumes after the caller's timeout).
 *
 * Faults (struct ft_fault): "at" faults apply at one byte offset of the server
 * stream (reads) or of the client's output (writes). A read never crosses the
 * offset, so the stream is also split there, and a send that would cross it
 * takes only the bytes before it.
 *
 * Header-only (static inline): each test executable includes it once, so
 * tests/CMakeLists.txt needs no helper source.
 */
#ifndef WSC_TEST_FAULT_TRANSPORT_H
#define WSC_TEST_FAULT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "wsc/wsc.h"

#define FT_HEAD_MAX 256         /* the 101 response head */
#define FT_CAPTURE_MAX 65536    /* client output */
#define FT_CLIENT_FRAMES_MAX 64 /* ft_client_frames() results */
#define FT_CALLS_MAX 5000000u   /* transport calls per run before "runaway" */

enum ft_kind {
    FT_NONE,
    FT_READ_CHUNK,    /* every recv returns at most `size` bytes */
    FT_READ_SPURIOUS, /* at `at`: recv says EAGAIN twice, wait() says readable */
    FT_READ_TIMEOUT,  /* at `at`: recv says EAGAIN until ft_resume() */
    FT_READ_RESET,    /* at `at`: recv (and later send) fails: WSC_ECONNRESET */
    FT_READ_EOF,      /* at `at`: end of stream */
    FT_WRITE_CHUNK,   /* every send takes at most `size` bytes */
    FT_WRITE_AGAIN,   /* at `at`: send says EAGAIN twice, wait() says writable */
    FT_WRITE_TIMEOUT, /* at `at`: send says EAGAIN until ft_resume() */
    FT_WRITE_RESET,   /* at `at`: send (and later recv) fails: WSC_ECONNRESET */
};

struct ft_fault {
    enum ft_kind kind;
    size_t at;         /* byte offset for the "at" kinds */
    size_t size;       /* bytes per call for the CHUNK kinds */
    size_t read_split; /* with any kind: no read crosses this server offset (0: none) */
};

/* A frame the client sent, unmasked. */
struct ft_client_frame {
    bool fin, masked;
    uint8_t opcode;
    const uint8_t *payload; /* into ft.unmasked */
    size_t len;
    size_t start, end; /* offsets in the capture */
};

struct ft {
    /* script */
    const uint8_t *frames; /* caller memory, kept until the run ends */
    size_t frames_len;
    const char *extensions; /* Sec-WebSocket-Extensions of the 101, or NULL */
    struct ft_fault fault;
    char head[FT_HEAD_MAX]; /* the 101 response, built from the request */
    size_t head_len;
    bool head_built;
    size_t rpos; /* server bytes delivered */
    /* client output */
    uint8_t capture[FT_CAPTURE_MAX];
    size_t wpos;        /* bytes captured */
    size_t request_len; /* bytes of the request head, 0 until complete */
    char key[WSC_HANDSHAKE_KEY_LEN];
    uint8_t unmasked[FT_CAPTURE_MAX];
    /* fault state */
    bool fired; /* the fault happened */
    unsigned spurious_left;
    bool read_blocked;  /* a read stall waits for ft_resume() */
    bool write_blocked; /* a write stall waits for ft_resume() */
    bool reset;
    /* observations */
    unsigned calls, recv_calls, send_calls, wait_calls, wait_timeouts;
    unsigned shutdown_calls, close_calls, eofs;
    bool closed, shut_wr;
    bool misuse; /* a call no correct client makes: see misuse_what */
    bool runaway;
    char misuse_what[96];
};

static inline bool ft_kind_is_at(enum ft_kind k)
{
    return k != FT_NONE && k != FT_READ_CHUNK && k != FT_WRITE_CHUNK;
}

static inline bool ft_kind_is_read(enum ft_kind k)
{
    return k >= FT_READ_CHUNK && k <= FT_READ_EOF;
}

static inline const char *ft_kind_name(enum ft_kind k)
{
    switch (k) {
    case FT_NONE:
        return "none";
    case FT_READ_CHUNK:
        return "short reads";
    case FT_READ_SPURIOUS:
        return "spurious wakeups";
    case FT_READ_TIMEOUT:
        return "read EAGAIN until timeout";
    case FT_READ_RESET:
        return "ECONNRESET on read";
    case FT_READ_EOF:
        return "EOF";
    case FT_WRITE_CHUNK:
        return "short writes";
    case FT_WRITE_AGAIN:
        return "write EAGAIN and spurious wakeups";
    case FT_WRITE_TIMEOUT:
        return "write EAGAIN until timeout";
    case FT_WRITE_RESET:
        return "ECONNRESET on write";
    }
    return "?";
}

static inline void ft_misuse(struct ft *t, const char *what)
{
    if (!t->misuse)
        snprintf(t->misuse_what, sizeof(t->misuse_what), "%s", what);
    t->misuse = true;
}

/* Counts a call; false once the run looks endless (the call then fails). */
static inline bool ft_count(struct ft *t)
{
    if (++t->calls > FT_CALLS_MAX) {
        t->runaway = true;
        return false;
    }
    return true;
}

/* The 101 head with an optional Sec-WebSocket-Extensions line. */
static inline size_t ft_format_head_ext(char *out, size_t cap, const char *accept,
                                        const char *extensions)
{
    int n = snprintf(out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %.*s\r\n"
                     "%s%s%s"
                     "\r\n",
                     WSC_HANDSHAKE_ACCEPT_LEN, accept,
                     extensions ? "Sec-WebSocket-Extensions: " : "",
                     extensions ? extensions : "", extensions ? "\r\n" : "");
    return n > 0 ? (size_t)n : 0;
}

/* The length of the 101 head: fixed, since the accept value always has 28 chars. */
static inline size_t ft_format_head(char *out, size_t cap, const char *accept)
{
    return ft_format_head_ext(out, cap, accept, NULL);
}

static inline size_t ft_head_len(void)
{
    char buf[FT_HEAD_MAX];
    return ft_format_head(buf, sizeof(buf), "0123456789012345678901234567");
}

/* Bytes of the whole server stream (head and frames). */
static inline size_t ft_stream_len(const struct ft *t)
{
    return ft_head_len() + t->frames_len;
}

static inline void ft_reset(struct ft *t, const uint8_t *frames, size_t frames_len,
                            struct ft_fault fault)
{
    t->frames = frames;
    t->frames_len = frames_len;
    t->fault = fault;
    t->head_len = 0;
    t->head_built = false;
    t->rpos = 0;
    t->wpos = 0;
    t->request_len = 0;
    memset(t->key, 0, sizeof(t->key));
    t->fired = false;
    t->spurious_left = 2;
    t->read_blocked = t->write_blocked = t->reset = false;
    t->calls = t->recv_calls = t->send_calls = t->wait_calls = t->wait_timeouts = 0;
    t->shutdown_calls = t->close_calls = t->eofs = 0;
    t->closed = t->shut_wr = false;
    t->misuse = t->runaway = false;
    t->misuse_what[0] = '\0';
}

/* Once the request head is complete: parse the key and prepare the 101. */
static inline void ft_try_answer(struct ft *t)
{
    static const char name[] = "\r\nsec-websocket-key:";
    const char *req = (const char *)t->capture;
    size_t end = 0;
    for (size_t i = 0; i + 4 <= t->wpos; i++) {
        if (memcmp(req + i, "\r\n\r\n", 4) == 0) {
            end = i + 4;
            break;
        }
    }
    if (!end)
        return;
    t->request_len = end;
    size_t nl = sizeof(name) - 1;
    for (size_t i = 0; i + nl <= end; i++) {
        size_t k = 0;
        while (k < nl) {
            char c = req[i + k];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != name[k])
                break;
            k++;
        }
        if (k < nl)
            continue;
        size_t v = i + nl;
        while (v < end && req[v] == ' ')
            v++;
        if (v + WSC_HANDSHAKE_KEY_LEN <= end)
            memcpy(t->key, req + v, WSC_HANDSHAKE_KEY_LEN);
        break;
    }
    char accept[WSC_HANDSHAKE_ACCEPT_LEN];
    wsc_handshake_accept_for(t->key, accept);
    t->head_len = ft_format_head_ext(t->head, sizeof(t->head), accept, t->extensions);
    t->head_built = true;
}

static inline size_t ft_min(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* Copies server bytes [rpos, rpos + n) into buf. */
static inline void ft_copy_out(struct ft *t, uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++, t->rpos++)
        buf[i] = t->rpos < t->head_len ? (uint8_t)t->head[t->rpos]
                                       : t->frames[t->rpos - t->head_len];
}

static inline int ft_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    struct ft *t = ctx;
    const struct ft_fault *f = &t->fault;
    *got = 0;
    t->recv_calls++;
    if (!ft_count(t))
        return WSC_EIO;
    if (t->closed) {
        ft_misuse(t, "recv after close");
        return WSC_EIO;
    }
    if (cap == 0)
        ft_misuse(t, "recv with no room");
    if (t->reset)
        return WSC_ECONNRESET;
    if (t->eofs) {
        ft_misuse(t, "recv after end of stream"); /* would spin on a socket */
        return WSC_EIO;
    }
    if (!t->head_built)
        return WSC_EAGAIN; /* the server answers a complete request only */
    size_t total = t->head_len + t->frames_len;
    size_t limit = total - t->rpos;
    if (ft_kind_is_read(f->kind) && ft_kind_is_at(f->kind)) {
        if (t->rpos == f->at) {
            switch (f->kind) {
            case FT_READ_RESET:
                t->fired = true;
                t->reset = true;
                return WSC_ECONNRESET;
            case FT_READ_EOF:
                t->fired = true;
                t->eofs++;
                return 0;
            case FT_READ_SPURIOUS:
                t->fired = true;
                if (t->spurious_left) {
                    t->spurious_left--;
                    return WSC_EAGAIN;
                }
                break;
            case FT_READ_TIMEOUT:
                if (!t->fired) {
                    t->fired = true;
                    t->read_blocked = true;
                }
                if (t->read_blocked)
                    return WSC_EAGAIN;
                break;
            default:
                break;
            }
        } else if (t->rpos < f->at) {
            limit = ft_min(limit, f->at - t->rpos);
        }
    }
    if (f->kind == FT_READ_CHUNK)
        limit = ft_min(limit, f->size);
    if (t->rpos < f->read_split)
        limit = ft_min(limit, f->read_split - t->rpos);
    if (limit == 0) {
        t->eofs++; /* the script is over: the server closed TCP */
        return 0;
    }
    size_t n = ft_min(cap, limit);
    ft_copy_out(t, buf, n);
    *got = n;
    return 0;
}

static inline int ft_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent)
{
    struct ft *t = ctx;
    const struct ft_fault *f = &t->fault;
    *sent = 0;
    t->send_calls++;
    if (!ft_count(t))
        return WSC_EIO;
    if (t->closed) {
        ft_misuse(t, "send after close");
        return WSC_EIO;
    }
    if (t->shut_wr) {
        ft_misuse(t, "send after shutdown");
        return WSC_EIO;
    }
    if (len == 0) {
        ft_misuse(t, "empty send");
        return WSC_EINVAL;
    }
    if (t->reset)
        return WSC_ECONNRESET;
    size_t limit = len;
    if (!ft_kind_is_read(f->kind) && ft_kind_is_at(f->kind)) {
        if (t->wpos == f->at) {
            switch (f->kind) {
            case FT_WRITE_RESET:
                t->fired = true;
                t->reset = true;
                return WSC_ECONNRESET;
            case FT_WRITE_AGAIN:
                t->fired = true;
                if (t->spurious_left) {
                    t->spurious_left--;
                    return WSC_EAGAIN;
                }
                break;
            case FT_WRITE_TIMEOUT:
                if (!t->fired) {
                    t->fired = true;
                    t->write_blocked = true;
                }
                if (t->write_blocked)
                    return WSC_EAGAIN;
                break;
            default:
                break;
            }
        } else if (t->wpos < f->at) {
            limit = ft_min(limit, f->at - t->wpos);
        }
    }
    if (f->kind == FT_WRITE_CHUNK)
        limit = ft_min(limit, f->size);
    if (limit > sizeof(t->capture) - t->wpos) {
        ft_misuse(t, "capture overflow");
        return WSC_EIO;
    }
    memcpy(t->capture + t->wpos, buf, limit);
    t->wpos += limit;
    *sent = limit;
    if (!t->head_built)
        ft_try_answer(t);
    return 0;
}

static inline bool ft_readable(const struct ft *t)
{
    if (t->reset)
        return true;
    return t->head_built && !t->read_blocked; /* bytes, or EOF, remain */
}

static inline int ft_wait(void *ctx, int events, int timeout_ms)
{
    struct ft *t = ctx;
    t->wait_calls++;
    if (!ft_count(t))
        return WSC_EIO;
    if (t->closed) {
        ft_misuse(t, "wait after close");
        return WSC_EIO;
    }
    if (timeout_ms < 0)
        ft_misuse(t, "wait without a timeout");
    int ready = 0;
    if ((events & WSC_WAIT_READ) && ft_readable(t))
        ready |= WSC_WAIT_READ;
    if ((events & WSC_WAIT_WRITE) && !t->write_blocked)
        ready |= WSC_WAIT_WRITE;
    if (ready == 0) {
        t->wait_timeouts++;
        if (!t->read_blocked && !t->write_blocked) {
            /* Only a stall leaves nothing ready: the script always ends in EOF. */
            ft_misuse(t, "wait for nothing: no stall is armed");
            return WSC_EIO;
        }
    }
    return ready;
}

/* Ends a stall: the peer reads and writes again. */
static inline void ft_resume(struct ft *t)
{
    t->read_blocked = t->write_blocked = false;
}

static inline size_t ft_pending(void *ctx)
{
    (void)ctx;
    return 0;
}

static inline int ft_shutdown(void *ctx)
{
    struct ft *t = ctx;
    if (t->closed)
        ft_misuse(t, "shutdown after close");
    t->shutdown_calls++;
    t->shut_wr = true;
    return t->reset ? WSC_ECONNRESET : 0;
}

static inline void ft_close(void *ctx)
{
    struct ft *t = ctx;
    if (t->closed)
        ft_misuse(t, "closed twice");
    t->close_calls++;
    t->closed = true;
}

static inline int ft_fd(void *ctx)
{
    (void)ctx;
    return -1;
}

static const struct wsc_transport_ops ft_ops = {
    .name = "fault",
    .send = ft_send,
    .recv = ft_recv,
    .wait = ft_wait,
    .pending = ft_pending,
    .shutdown = ft_shutdown,
    .close = ft_close,
    .fd = ft_fd,
};

static inline struct wsc_transport ft_transport(struct ft *t)
{
    struct wsc_transport tr = {.ops = &ft_ops, .ctx = t};
    return tr;
}

/* ---- scripting and decoding ------------------------------------------- */

/* Appends an unmasked server frame to out[*len..cap); false if it does not fit. */
static inline bool ft_put_frame(uint8_t *out, size_t *len, size_t cap, bool fin,
                                uint8_t opcode, const void *payload, size_t n)
{
    uint8_t h[WSC_FRAME_HEADER_MAX];
    size_t hl = wsc_frame_header_encode(h, fin, opcode, n, NULL);
    if (cap - *len < hl + n)
        return false;
    memcpy(out + *len, h, hl);
    if (n)
        memcpy(out + *len + hl, payload, n);
    *len += hl + n;
    return true;
}

/* A close frame with @p code and @p reason. */
static inline bool ft_put_close(uint8_t *out, size_t *len, size_t cap, uint16_t code,
                                const char *reason)
{
    uint8_t p[WSC_CONTROL_MAX];
    size_t rl = strlen(reason);
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    memcpy(p + 2, reason, rl);
    return ft_put_frame(out, len, cap, true, WSC_OP_CLOSE, p, 2 + rl);
}

/*
 * Decodes the client's frames after the request head in capture[0..upto),
 * unmasking each payload into t->unmasked. Returns the number of complete
 * frames; *partial gets the bytes of an incomplete last frame (0 if none).
 */
static inline size_t ft_client_frames(struct ft *t, size_t upto,
                                      struct ft_client_frame *out, size_t max,
                                      size_t *partial)
{
    size_t pos = t->request_len, n = 0;
    *partial = 0;
    if (!t->request_len || upto < pos)
        return 0;
    while (pos < upto && n < max) {
        const uint8_t *p = t->capture + pos;
        size_t avail = upto - pos;
        if (avail < 2)
            break;
        size_t hl = 2;
        uint64_t len = p[1] & 0x7f;
        bool masked = (p[1] & 0x80) != 0;
        if (len == 126)
            hl += 2;
        else if (len == 127)
            hl += 8;
        if (masked)
            hl += 4;
        if (avail < hl)
            break;
        if (len == 126) {
            len = (uint64_t)p[2] << 8 | p[3];
        } else if (len == 127) {
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | p[2 + i];
        }
        if (len > avail - hl)
            break;
        struct ft_client_frame *fr = &out[n++];
        fr->fin = (p[0] & 0x80) != 0;
        fr->opcode = p[0] & 0x0f;
        fr->masked = masked;
        fr->len = (size_t)len;
        fr->start = pos;
        fr->end = pos + hl + (size_t)len;
        fr->payload = t->unmasked + pos + hl;
        if (masked)
            wsc_mask(t->unmasked + pos + hl, p + hl, (size_t)len, p + hl - 4, 0);
        else
            memcpy(t->unmasked + pos + hl, p + hl, (size_t)len);
        pos = fr->end;
    }
    *partial = upto > pos ? upto - pos : 0;
    return n;
}

#endif
