/*
 * The scale benchmark: N WebSocket connections open at once, all driven from
 * one thread by edge-triggered epoll through wsc's event API
 * (wsc_conn_start, wsc_conn_process, wsc_conn_interest), against
 * bench_scale_server.
 *
 *   bench_scale --port P [--conns N] [--msgs M] [--size S] [--rx R] [--tx T]
 *               [--inflight K] [--timeout SECONDS]
 *
 * Phases, each bounded by --timeout (a stall is reported, not waited out):
 *   open      start every connection to ws://127.0.0.1:P/, at most K connecting
 *             at once (the listen backlog is somaxconn), until all are OPEN;
 *   measure   with all N open: library heap (allocator hooks), struct size, RSS;
 *   exchange  each connection sends M binary messages of S bytes (connection id,
 *             sequence number, then bytes derived from both) as fast as its
 *             send queue takes them, and checks every echo, in order;
 *   close     wsc_close() on each (WSC_EAGAIN: the loop completes it), until
 *             wsc_recv() says WSC_ECLOSED and wsc_conn_interest() is 0; then
 *             wsc_conn_free() each, and the hooks must show nothing live.
 *
 * Memory: the struct wsc_conn array and the rx/tx buffers (caller memory, via
 * wsc_options.rx_buf/tx_buf) are allocated and touched before the first
 * connect, so the RSS growth while opening is what the library (and libc on
 * its behalf) added. Everything the library allocates goes through counting
 * hooks (wsc_options.alloc), which give exact live bytes and the peak.
 *
 * Prints a table and one line
 *   SCALE conns=N open_ms=... mem_per_conn=... struct=... heap_per_conn=...
 *         msgs_per_s=... cpu_us_per_msg=... rss_per_conn=...
 * and exits 1 if any connection failed, any echo was wrong, a phase stalled
 * or memory stayed live after wsc_conn_free(); 2 on a usage error.
 */
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"
#include "wsc/wsc.h"

#define MAX_EVENTS 1024
#define SWEEP_S 0.05 /* how often timers are checked (connect, close, linger) */
#define CLOSE_TIMEOUT_MS 5000
#define FD_RESERVE 100  /* descriptors beyond one per connection */
#define ERRORS_SHOWN 10 /* failures printed one by one; the rest are counted */
#define ERROR_KINDS 16

/* ---- counting allocator hooks ------------------------------------------ */

/* Each block carries its size in front, so free() can subtract it. */
#define HOOK_HEAD alignof(max_align_t)

struct heap {
    size_t live, peak; /* requested bytes */
    size_t blocks;     /* live blocks */
    uint64_t calls;    /* malloc and realloc calls */
};

static void *hook_malloc(void *user, size_t n)
{
    struct heap *h = user;
    unsigned char *p = malloc(HOOK_HEAD + n);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof(n));
    h->live += n;
    h->blocks++;
    h->calls++;
    if (h->live > h->peak)
        h->peak = h->live;
    return p + HOOK_HEAD;
}

static void hook_free(void *user, void *ptr)
{
    struct heap *h = user;
    if (!ptr)
        return;
    unsigned char *p = (unsigned char *)ptr - HOOK_HEAD;
    size_t n;
    memcpy(&n, p, sizeof(n));
    h->live -= n;
    h->blocks--;
    free(p);
}

static void *hook_realloc(void *user, void *ptr, size_t n)
{
    struct heap *h = user;
    if (!ptr)
        return hook_malloc(user, n);
    unsigned char *p = (unsigned char *)ptr - HOOK_HEAD;
    size_t old;
    memcpy(&old, p, sizeof(old));
    unsigned char *q = realloc(p, HOOK_HEAD + n);
    if (!q)
        return NULL;
    memcpy(q, &n, sizeof(n));
    h->live = h->live - old + n;
    h->calls++;
    if (h->live > h->peak)
        h->peak = h->live;
    return q + HOOK_HEAD;
}

/* ---- the run ------------------------------------------------------------ */

struct opts {
    int port;
    uint32_t conns, msgs;
    size_t size, rx, tx;
    uint32_t inflight;
    double timeout_s; /* per phase */
};

enum phase {
    PH_IDLE,       /* not started */
    PH_CONNECTING, /* wsc_conn_start() done, not open yet */
    PH_OPEN,       /* open; exchanging once the exchange phase starts */
    PH_CLOSING,    /* wsc_close() returned WSC_EAGAIN */
    PH_CLOSED,     /* WSC_ECLOSED seen and wsc_conn_interest() == 0 */
    PH_FAILED,
    PH_COUNT,
};

static const char *const phase_names[PH_COUNT] = {"idle",    "connecting", "open",
                                                  "closing", "closed",     "failed"};

struct slot {
    uint32_t sent, got; /* messages queued; echoes verified */
    int fd;             /* as registered with epoll, or -1 */
    uint8_t phase;
    bool close_seen; /* wsc_recv() returned WSC_ECLOSED */
};

struct error_kind {
    const char *what;
    int rc;
    uint32_t count;
};

struct run {
    struct opts o;
    char url[64];
    struct wsc_options wopt;
    struct heap heap;
    struct wsc_conn *conns;
    struct slot *slots;
    uint8_t *bufs; /* conns x (rx + tx) */
    int ep;
    uint32_t count[PH_COUNT];
    uint32_t next_start;
    bool exchanging;
    uint32_t exchanged; /* connections with all M echoes verified */
    uint64_t echoes;
    uint32_t bad_echoes;
    uint32_t failures;
    struct error_kind kinds[ERROR_KINDS];
    uint8_t *want;          /* scratch: one payload */
    size_t heap_connecting; /* the most one wsc_conn_start() left allocated */
};

static void set_phase(struct run *r, uint32_t i, enum phase p)
{
    r->count[r->slots[i].phase]--;
    r->count[p]++;
    r->slots[i].phase = (uint8_t)p;
}

static const char *state_name(enum wsc_conn_state s)
{
    switch (s) {
    case WSC_CONN_IDLE:
        return "IDLE";
    case WSC_CONN_CONNECTING:
        return "CONNECTING";
    case WSC_CONN_HANDSHAKING:
        return "HANDSHAKING";
    case WSC_CONN_OPEN:
        return "OPEN";
    case WSC_CONN_CLOSING:
        return "CLOSING";
    case WSC_CONN_CLOSED:
        return "CLOSED";
    case WSC_CONN_FAILED:
        return "FAILED";
    }
    return "?";
}

/* A connection failed in @p what with @p rc (0: the benchmark's own check).
 * The first few are printed whole; all are tallied by call and code. */
static void fail(struct run *r, uint32_t i, const char *what, int rc, const char *why)
{
    struct wsc_conn *c = &r->conns[i];
    struct slot *s = &r->slots[i];
    if (s->phase == PH_FAILED)
        return;
    if (r->failures < ERRORS_SHOWN)
        fprintf(stderr,
                "connection %u: %s: %s%s%s [library state %s, error %d: %s; sent %u, "
                "got %u]\n",
                i, what, rc ? wsc_strerror(rc) : "", rc && why ? "; " : "", why ? why : "",
                state_name(wsc_conn_state(c)), wsc_conn_error(c), wsc_conn_detail(c),
                s->sent, s->got);
    r->failures++;
    if (s->phase == PH_OPEN && r->o.msgs && s->got == r->o.msgs)
        r->exchanged--; /* counted as finished, and failed since */
    for (int k = 0; k < ERROR_KINDS; k++) {
        struct error_kind *e = &r->kinds[k];
        if (!e->what) {
            e->what = what;
            e->rc = rc;
        }
        if (e->what == what && e->rc == rc) {
            e->count++;
            break;
        }
    }
    set_phase(r, i, PH_FAILED);
}

/* Message @p seq of connection @p id: the id and the sequence number
 * (little-endian), then bytes of a xorshift stream seeded by both. */
static void payload(uint8_t *p, size_t size, uint32_t id, uint32_t seq)
{
    uint8_t head[8];
    for (int k = 0; k < 4; k++) {
        head[k] = (uint8_t)(id >> (8 * k));
        head[4 + k] = (uint8_t)(seq >> (8 * k));
    }
    uint64_t x = (((uint64_t)id << 32) | seq) * 0x9E3779B97F4A7C15u + 1;
    for (size_t k = 0; k < size; k++) {
        if (k < 8) {
            p[k] = head[k];
            continue;
        }
        if ((k & 7) == 0) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        p[k] = (uint8_t)(x >> (8 * (k & 7)));
    }
}

/* Keeps the epoll registration in step with the connection's descriptor,
 * which may change while connecting and goes when the transport closes. */
static void sync_fd(struct run *r, uint32_t i)
{
    struct slot *s = &r->slots[i];
    int fd =
        s->phase == PH_FAILED || s->phase == PH_CLOSED ? -1 : wsc_conn_fd(&r->conns[i]);
    if (fd == s->fd)
        return;
    if (s->fd >= 0) /* usually closed already, which removed it: ENOENT/EBADF */
        epoll_ctl(r->ep, EPOLL_CTL_DEL, s->fd, NULL);
    s->fd = fd;
    if (fd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.u32 = i};
        if (epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            fprintf(stderr, "connection %u: epoll_ctl(ADD, %d): %s\n", i, fd,
                    strerror(errno));
            exit(1);
        }
    }
}

static void send_more(struct run *r, uint32_t i)
{
    struct slot *s = &r->slots[i];
    while (s->sent < r->o.msgs) {
        payload(r->want, r->o.size, i, s->sent);
        int rc = wsc_send(&r->conns[i], WSC_OP_BINARY, r->want, r->o.size, 0);
        if (rc == WSC_EAGAIN)
            return; /* the queue is full: more once wsc_conn_process() wrote some */
        if (rc) {
            fail(r, i, "wsc_send", rc, NULL);
            return;
        }
        s->sent++;
    }
}

/* Reads every message buffered or readable now (edge-triggered: until the
 * socket is drained) and checks each echo. */
static void receive(struct run *r, uint32_t i)
{
    struct wsc_conn *c = &r->conns[i];
    struct slot *s = &r->slots[i];
    struct wsc_message m;
    int rc;
    while ((rc = wsc_recv(c, &m, 0)) == 0) {
        char why[160];
        if (!r->exchanging || s->phase != PH_OPEN || s->got >= s->sent) {
            snprintf(why, sizeof(why), "unexpected message (%zu bytes) in phase %s", m.len,
                     phase_names[s->phase]);
            r->bad_echoes++;
            fail(r, i, "wsc_recv", 0, why);
            return;
        }
        payload(r->want, r->o.size, i, s->got);
        if (m.opcode != WSC_OP_BINARY || m.len != r->o.size ||
            memcmp(m.data, r->want, m.len) != 0) {
            uint32_t id = 0, seq = 0;
            for (int k = 0; k < 4 && (size_t)(4 + k) < m.len; k++) {
                id |= (uint32_t)m.data[k] << (8 * k);
                seq |= (uint32_t)m.data[4 + k] << (8 * k);
            }
            snprintf(why, sizeof(why),
                     "echo %u came back wrong: opcode %u, %zu bytes (want %zu), "
                     "starts as connection %u message %u",
                     s->got, m.opcode, m.len, r->o.size, id, seq);
            r->bad_echoes++;
            fail(r, i, "wsc_recv", 0, why);
            return;
        }
        s->got++;
        r->echoes++;
        if (s->got == r->o.msgs)
            r->exchanged++;
    }
    if (rc == WSC_EAGAIN)
        return;
    if (rc == WSC_ECLOSED && s->phase == PH_CLOSING) {
        s->close_seen = true;
        return;
    }
    fail(r, i, "wsc_recv", rc, NULL);
}

/* The loop saw @p ready (WSC_WAIT_*) on connection @p i, or its timer is due (0). */
static void step(struct run *r, uint32_t i, int ready)
{
    struct wsc_conn *c = &r->conns[i];
    struct slot *s = &r->slots[i];
    if (s->phase == PH_IDLE || s->phase == PH_FAILED || s->phase == PH_CLOSED)
        return;
    int rc = wsc_conn_process(c, ready);
    if (rc) {
        fail(r, i, "wsc_conn_process", rc, NULL);
        return;
    }
    if (s->phase == PH_CONNECTING) {
        if (wsc_conn_state(c) != WSC_CONN_OPEN) {
            if (wsc_conn_interest(c) == 0)
                fail(r, i, "wsc_conn_process", 0, "connecting ended without error or open");
            return;
        }
        set_phase(r, i, PH_OPEN);
    }
    if (s->phase == PH_OPEN && r->exchanging)
        send_more(r, i);
    if (s->phase == PH_FAILED)
        return;
    receive(r, i);
    if (s->phase == PH_CLOSING && s->close_seen && wsc_conn_interest(c) == 0) {
        if (wsc_conn_state(c) == WSC_CONN_CLOSED)
            set_phase(r, i, PH_CLOSED);
        else
            fail(r, i, "wsc_conn_interest", 0,
                 "0 after WSC_ECLOSED, but not in state CLOSED");
    }
}

static void start_one(struct run *r, uint32_t i)
{
    struct wsc_conn *c = &r->conns[i];
    r->wopt.rx_buf = r->bufs + (size_t)i * (r->o.rx + r->o.tx);
    r->wopt.tx_buf = r->wopt.rx_buf + r->o.rx;
    set_phase(r, i, PH_CONNECTING);
    size_t before = r->heap.live;
    int rc = wsc_conn_start(c, r->url, &r->wopt);
    /* Often the connection opens (and frees this again) inside the call. */
    if (r->heap.live - before > r->heap_connecting)
        r->heap_connecting = r->heap.live - before;
    if (rc) {
        fail(r, i, "wsc_conn_start", rc, NULL);
        return;
    }
    step(r, i, 0); /* it may have got further already */
    sync_fd(r, i);
}

/* Every timer due (connect and close timeouts, the closing linger). */
static void sweep(struct run *r)
{
    for (uint32_t i = 0; i < r->o.conns; i++) {
        uint8_t p = r->slots[i].phase;
        if (p == PH_IDLE || p == PH_FAILED || p == PH_CLOSED)
            continue;
        if (wsc_conn_timer_ms(&r->conns[i]) == 0) {
            step(r, i, 0);
            sync_fd(r, i);
        }
    }
}

/* What the connections that have not finished @p phase are waiting for. */
static void report_stall(struct run *r, const char *phase,
                         bool (*finished)(struct run *, uint32_t))
{
    fprintf(stderr, "STALL in the %s phase after %.0f s:", phase, r->o.timeout_s);
    for (int p = 0; p < PH_COUNT; p++)
        fprintf(stderr, " %s=%u", phase_names[p], r->count[p]);
    fprintf(stderr, "\n");
    uint32_t shown = 0, stuck = 0;
    for (uint32_t i = 0; i < r->o.conns; i++) {
        if (r->slots[i].phase == PH_FAILED || finished(r, i))
            continue;
        stuck++;
        if (shown++ >= ERRORS_SHOWN)
            continue;
        const struct wsc_conn *c = &r->conns[i];
        struct wsc_stats st;
        wsc_conn_stats(c, &st);
        fprintf(stderr,
                "  connection %u: phase %s, library state %s, interest %d, fd %d, "
                "queued %zu, timer %d ms, sent %u, got %u, bytes in %llu out %llu, "
                "error %d: %s\n",
                i, phase_names[r->slots[i].phase], state_name(wsc_conn_state(c)),
                wsc_conn_interest(c), wsc_conn_fd(c), wsc_conn_queued(c),
                wsc_conn_timer_ms(c), r->slots[i].sent, r->slots[i].got,
                (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out,
                wsc_conn_error(c), wsc_conn_detail(c));
    }
    fprintf(stderr, "  %u connections stuck\n", stuck);
}

/* Runs the loop until every connection has finished the phase or failed.
 * Returns 0, or -1 on a stall (the phase's timeout). */
static int run_phase(struct run *r, const char *phase,
                     bool (*finished)(struct run *, uint32_t),
                     uint32_t (*done_count)(struct run *))
{
    struct epoll_event evs[MAX_EVENTS];
    double start = bench_now(), next_sweep = start + SWEEP_S;
    for (;;) {
        while (r->next_start < r->o.conns && r->count[PH_CONNECTING] < r->o.inflight)
            start_one(r, r->next_start++);
        if (done_count(r) + r->count[PH_FAILED] >= r->o.conns)
            return 0;
        double now = bench_now();
        if (now - start > r->o.timeout_s) {
            report_stall(r, phase, finished);
            return -1;
        }
        int wait_ms = (int)((next_sweep - now) * 1000.0) + 1;
        if (wait_ms < 0)
            wait_ms = 0;
        int n = epoll_wait(r->ep, evs, MAX_EVENTS, wait_ms);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            exit(1);
        }
        for (int k = 0; k < n; k++) {
            uint32_t i = evs[k].data.u32;
            uint32_t ev = evs[k].events;
            int ready =
                (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR) ? WSC_WAIT_READ : 0) |
                (ev & (EPOLLOUT | EPOLLERR) ? WSC_WAIT_WRITE : 0);
            step(r, i, ready);
            sync_fd(r, i);
        }
        if (bench_now() >= next_sweep) {
            sweep(r);
            next_sweep = bench_now() + SWEEP_S;
        }
    }
}

static bool is_open(struct run *r, uint32_t i)
{
    return r->slots[i].phase == PH_OPEN;
}
static uint32_t open_count(struct run *r)
{
    return r->count[PH_OPEN];
}

static bool is_exchanged(struct run *r, uint32_t i)
{
    return r->slots[i].got == r->o.msgs;
}
static uint32_t exchanged_count(struct run *r)
{
    return r->exchanged;
}

static bool is_closed(struct run *r, uint32_t i)
{
    return r->slots[i].phase == PH_CLOSED;
}
static uint32_t closed_count(struct run *r)
{
    return r->count[PH_CLOSED];
}

/* ---- measurement helpers ------------------------------------------------- */

static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* Zeroes @p n bytes page by page through a volatile pointer: the compiler may
 * turn malloc + memset into calloc, which leaves fresh pages unmapped. */
static void prefault(void *p, size_t n)
{
    volatile unsigned char *b = p;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    memset(p, 0, n);
    for (size_t k = 0; k < n; k += page)
        b[k] = 0;
}

static double cpu_seconds(void)
{
    double u, s;
    bench_cpu(&u, &s);
    return u + s;
}

/* Raises the descriptor limit to the hard limit; fails if that is too low. */
static void raise_nofile(uint32_t conns)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        perror("getrlimit(RLIMIT_NOFILE)");
        exit(1);
    }
    rlim_t need = (rlim_t)conns + FD_RESERVE;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        fprintf(stderr,
                "bench_scale: %u connections need %llu descriptors, but the hard limit "
                "(RLIMIT_NOFILE) is %llu: raise it (ulimit -Hn as root, or "
                "/etc/security/limits.conf) or use fewer --conns\n",
                conns, (unsigned long long)need, (unsigned long long)rl.rlim_max);
        exit(1);
    }
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        perror("setrlimit(RLIMIT_NOFILE)");
        exit(1);
    }
}

static void usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "bench_scale: %s\n", msg);
    fprintf(
        stderr,
        "usage: bench_scale --port P [--conns N (10000)] [--msgs M (10)] [--size S (64)]\n"
        "                   [--rx R (4096)] [--tx T (4096)] [--inflight K (500)]\n"
        "                   [--timeout SECONDS per phase (60)]\n");
    exit(2);
}

static unsigned long long num_arg(int argc, char **argv, int *i, unsigned long long max)
{
    if (*i + 1 >= argc)
        usage("missing value");
    char *end;
    errno = 0;
    unsigned long long v = strtoull(argv[++*i], &end, 10);
    if (errno || *end || end == argv[*i] || v > max)
        usage("bad number");
    return v;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.conns = 10000,
                       .msgs = 10,
                       .size = 64,
                       .rx = 4096,
                       .tx = 4096,
                       .inflight = 500,
                       .timeout_s = 60};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--port"))
            o->port = (int)num_arg(argc, argv, &i, 65535);
        else if (!strcmp(a, "--conns"))
            o->conns = (uint32_t)num_arg(argc, argv, &i, 1000000);
        else if (!strcmp(a, "--msgs"))
            o->msgs = (uint32_t)num_arg(argc, argv, &i, UINT32_MAX - 1);
        else if (!strcmp(a, "--size"))
            o->size = (size_t)num_arg(argc, argv, &i, 1u << 30);
        else if (!strcmp(a, "--rx"))
            o->rx = (size_t)num_arg(argc, argv, &i, 1u << 30);
        else if (!strcmp(a, "--tx"))
            o->tx = (size_t)num_arg(argc, argv, &i, 1u << 30);
        else if (!strcmp(a, "--inflight"))
            o->inflight = (uint32_t)num_arg(argc, argv, &i, 1000000);
        else if (!strcmp(a, "--timeout"))
            o->timeout_s = (double)num_arg(argc, argv, &i, 86400);
        else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            usage(NULL);
        else
            usage("unknown option");
    }
    if (o->port <= 0)
        usage("--port is required");
    if (o->conns == 0 || o->size == 0 || o->inflight == 0 || o->timeout_s <= 0)
        usage("--conns, --size, --inflight and --timeout must be positive");
    if (o->size + WSC_FRAME_HEADER_MAX > o->tx)
        usage("--size plus a 14-byte frame header must fit in --tx (the send queue)");
}

int main(int argc, char **argv)
{
    struct run r = {0};
    struct opts *o = &r.o;
    parse_args(argc, argv, o);
    raise_nofile(o->conns);
    snprintf(r.url, sizeof(r.url), "ws://127.0.0.1:%d/", o->port);

    wsc_options_init(&r.wopt);
    r.wopt.rx_buf_size = o->rx;
    r.wopt.tx_buf_size = o->tx;
    r.wopt.alloc = (struct wsc_allocator){hook_malloc, hook_realloc, hook_free, &r.heap};

    /* Caller memory, touched now so that RSS growth later is the library's. */
    size_t per = o->rx + o->tx;
    r.conns = malloc((size_t)o->conns * sizeof(*r.conns));
    r.slots = malloc((size_t)o->conns * sizeof(*r.slots));
    r.bufs = malloc((size_t)o->conns * per);
    r.want = malloc(o->size);
    if (!r.conns || !r.slots || !r.bufs || !r.want) {
        fprintf(stderr, "bench_scale: out of memory for %u connections\n", o->conns);
        return 1;
    }
    prefault(r.conns, (size_t)o->conns * sizeof(*r.conns));
    prefault(r.bufs, (size_t)o->conns * per);
    for (uint32_t i = 0; i < o->conns; i++)
        r.slots[i] = (struct slot){.fd = -1, .phase = PH_IDLE};
    r.count[PH_IDLE] = o->conns;
    r.ep = epoll_create1(EPOLL_CLOEXEC);
    if (r.ep < 0) {
        perror("epoll_create1");
        return 1;
    }

    printf("bench_scale: %u connections to %s, %u messages x %zu B each; "
           "rx %zu + tx %zu B caller buffers per connection, at most %u connecting\n",
           o->conns, r.url, o->msgs, o->size, o->rx, o->tx, o->inflight);
    fflush(stdout);
    bool stalled = false;

    /* Open. */
    size_t rss0 = rss_bytes();
    double t0 = bench_now();
    if (run_phase(&r, "open", is_open, open_count))
        stalled = true;
    double open_s = bench_now() - t0;
    uint32_t opened = r.count[PH_OPEN];

    /* Measure, with every connection open at once. */
    size_t rss1 = rss_bytes();
    struct heap h_open = r.heap;
    double heap_pc = opened ? (double)h_open.live / opened : 0;
    double blocks_pc = opened ? (double)h_open.blocks / opened : 0;
    double rss_pc = opened ? ((double)rss1 - (double)rss0) / opened : 0;
    double mem_pc = (double)sizeof(struct wsc_conn) + heap_pc;

    /* Exchange. */
    double x_s = 0, x_cpu = 0;
    if (!stalled && opened && o->msgs) {
        r.exchanging = true;
        double c0 = cpu_seconds();
        t0 = bench_now();
        for (uint32_t i = 0; i < o->conns; i++) {
            if (r.slots[i].phase == PH_OPEN) {
                step(&r, i, 0);
                sync_fd(&r, i);
            }
        }
        if (run_phase(&r, "exchange", is_exchanged, exchanged_count))
            stalled = true;
        x_s = bench_now() - t0;
        x_cpu = cpu_seconds() - c0;
        r.exchanging = false;
    }
    struct heap h_exchanged = r.heap;

    /* Close. */
    double close_s = 0;
    if (!stalled) {
        t0 = bench_now();
        for (uint32_t i = 0; i < o->conns; i++) {
            if (r.slots[i].phase != PH_OPEN)
                continue;
            int rc = wsc_close(&r.conns[i], WSC_CLOSE_NORMAL, "done", CLOSE_TIMEOUT_MS);
            if (rc != WSC_EAGAIN) {
                fail(&r, i, "wsc_close", rc, rc ? NULL : "returned 0, not WSC_EAGAIN");
                continue;
            }
            set_phase(&r, i, PH_CLOSING);
            step(&r, i, 0);
            sync_fd(&r, i);
        }
        if (run_phase(&r, "close", is_closed, closed_count))
            stalled = true;
        close_s = bench_now() - t0;
    }

    /* Free: afterwards the hooks must show nothing live. */
    for (uint32_t i = 0; i < o->conns; i++)
        if (r.slots[i].phase != PH_IDLE)
            wsc_conn_free(&r.conns[i]);
    struct heap h_end = r.heap;

    uint64_t expected = (uint64_t)o->conns * o->msgs;
    double mps = x_s > 0 ? (double)r.echoes / x_s : 0;
    double cpu_us = r.echoes ? x_cpu * 1e6 / (double)r.echoes : 0;
    printf("  %-44s %10.0f ms  (%u of %u opened, %.0f per second)\n",
           "open all connections", open_s * 1e3, opened, o->conns,
           open_s > 0 ? opened / open_s : 0);
    printf("  %-44s %10zu B\n", "sizeof(struct wsc_conn)", sizeof(struct wsc_conn));
    printf("  %-44s %10.1f B  (%.2f blocks per connection)\n",
           "library heap per connection, all open", heap_pc, blocks_pc);
    printf("  %-44s %10.1f B  (beyond the %zu B of caller buffers)\n",
           "library memory per connection", mem_pc, per);
    printf("  %-44s %10zu B  (freed once open)\n",
           "library heap per connection, connecting", r.heap_connecting);
    printf("  %-44s %10zu B\n", "library heap peak, all connections", r.heap.peak);
    printf("  %-44s %10.1f B  (caller arrays excluded)\n",
           "RSS growth per connection, opening", rss_pc);
    printf("  %-44s %10.1f B  (%.2f blocks per connection)\n",
           "library heap per connection, after exchange",
           opened ? (double)h_exchanged.live / opened : 0,
           opened ? (double)h_exchanged.blocks / opened : 0);
    printf("  %-44s %10.0f ms  (%llu of %llu echoes verified)\n", "exchange", x_s * 1e3,
           (unsigned long long)r.echoes, (unsigned long long)expected);
    printf("  %-44s %10.0f /s\n", "echoed messages per second", mps);
    printf("  %-44s %10.2f us (user + system, send + receive + checks)\n",
           "client CPU per echoed message", cpu_us);
    printf("  %-44s %10.0f ms  (%u closed cleanly)\n", "close all connections",
           close_s * 1e3, r.count[PH_CLOSED]);
    printf("  %-44s %10zu B  in %zu blocks (%llu allocations in all)\n",
           "library heap after wsc_conn_free", h_end.live, h_end.blocks,
           (unsigned long long)h_end.calls);
    printf(
        "SCALE conns=%u msgs=%u size=%zu rx=%zu tx=%zu open_ms=%.0f mem_per_conn=%.0f "
        "struct=%zu heap_per_conn=%.1f heap_peak=%zu msgs_per_s=%.0f cpu_us_per_msg=%.2f "
        "rss_per_conn=%.0f heap_after_per_conn=%.1f close_ms=%.0f failed=%u bad=%u "
        "leaked=%zu\n",
        o->conns, o->msgs, o->size, o->rx, o->tx, open_s * 1e3, mem_pc,
        sizeof(struct wsc_conn), heap_pc, r.heap.peak, mps, cpu_us, rss_pc,
        opened ? (double)h_exchanged.live / opened : 0, close_s * 1e3, r.failures,
        r.bad_echoes, h_end.live);

    int status = 0;
    if (r.failures) {
        fprintf(stderr, "FAIL: %u connections failed:\n", r.failures);
        for (int k = 0; k < ERROR_KINDS && r.kinds[k].what; k++)
            fprintf(stderr, "  %6u x %s: %s\n", r.kinds[k].count, r.kinds[k].what,
                    r.kinds[k].rc ? wsc_strerror(r.kinds[k].rc)
                                  : "(check by the benchmark)");
        status = 1;
    }
    if (r.bad_echoes) {
        fprintf(stderr, "FAIL: %u wrong echoes\n", r.bad_echoes);
        status = 1;
    }
    if (stalled)
        status = 1;
    if (!stalled && r.echoes != (uint64_t)opened * o->msgs && !r.failures) {
        fprintf(stderr, "FAIL: %llu echoes verified, %llu expected\n",
                (unsigned long long)r.echoes, (unsigned long long)expected);
        status = 1;
    }
    if (h_end.live || h_end.blocks) {
        fprintf(stderr, "FAIL: %zu bytes in %zu blocks still live after wsc_conn_free\n",
                h_end.live, h_end.blocks);
        status = 1;
    }
    close(r.ep);
    free(r.conns);
    free(r.slots);
    free(r.bufs);
    free(r.want);
    return status;
}
