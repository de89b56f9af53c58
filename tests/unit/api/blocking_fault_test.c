/*
 * The blocking API over a scripted server (fault_transport.h) with faults at
 * every byte offset of the server stream and of the client's output.
 *
 * The server sends its 101 and then: text "hello", ping "p1", an empty binary
 * message, a fragmented text "frag|mented|!" with ping "p2" between the first
 * two fragments, a 300-byte binary message, pong "q", close 1000 "bye", and
 * ends the stream. The client driver receives (wsc_recv with report_control,
 * or wsc_recv_chunk into 7 bytes and reassembling), echoes every data message
 * with wsc_send, and logs every call's result.
 *
 * A model computes the expected log, the expected client bytes and the number
 * of receive timeouts from the fault kind and position:
 *   - short reads/writes, spurious wakeups and write EAGAIN change nothing;
 *   - ECONNRESET or EOF at server offset k: every step whose bytes end at or
 *     before k happens exactly once and in order, the next one fails with that
 *     error, and the client sent exactly the bytes of the steps before it;
 *   - a read that stalls past the timeout at k: wsc_recv returns WSC_ETIMEDOUT
 *     once and the retry loses nothing (in the handshake the timeout is fatal).
 *     A stall costs the call's timeout in real time (the library reads its own
 *     clock), so stall runs use 1 ms timeouts;
 *   - ECONNRESET or a stall past the timeout at client offset j: the call that
 *     was writing byte j fails (a stalled pong, written with a zero deadline,
 *     makes the next wsc_send fail), and the capture is exactly the clean
 *     output's first j bytes: no wsc_send reports success unless its whole
 *     frame is in the capture, and the failed one's frame is not;
 *   - a failed close reply is not reported: the peer's close still completes.
 * Every run is repeated with three buffer configurations and in both receive
 * modes; wsc_recv's messages are echoed straight from the pointer it returned.
 * ASan checks for leaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fault_transport.h"
#include "harness.h"

#define URL "ws://example.test/chat"
#define TIMEOUT_MS 200     /* never spent: wait() answers at once unless stalled */
#define STALL_TIMEOUT_MS 1 /* spent in real time by each stall run */
#define BIG_LEN 300
#define CHUNK_CAP 7
#define MAX_RETRIES 3

static struct ft ft; /* large: capture buffers */

/* ---- helpers ----------------------------------------------------------- */

/* Deterministic mask keys and nonce, so clean and faulty runs send the same bytes. */
static int counting_random(void *user, uint8_t *buf, size_t len)
{
    uint32_t *ctr = user;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(((*ctr)++ * 73u + 29u) & 0xff);
    return 0;
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static const char *err_name(int rc)
{
    static char buf[32];
    switch (rc) {
    case 0:
        return "0";
    case WSC_ECONNRESET:
        return "ECONNRESET";
    case WSC_EEOF:
        return "EEOF";
    case WSC_ETIMEDOUT:
        return "ETIMEDOUT";
    case WSC_ECLOSED:
        return "ECLOSED";
    case WSC_ENOTCONN:
        return "ENOTCONN";
    case WSC_EIO:
        return "EIO";
    case WSC_ENOMEM:
        return "ENOMEM";
    case WSC_EINVAL:
        return "EINVAL";
    default:
        snprintf(buf, sizeof(buf), "%d", rc);
        return buf;
    }
}

static const char *op_name(uint8_t op)
{
    switch (op) {
    case WSC_OP_TEXT:
        return "TEXT";
    case WSC_OP_BINARY:
        return "BINARY";
    case WSC_OP_PING:
        return "PING";
    case WSC_OP_PONG:
        return "PONG";
    case WSC_OP_CLOSE:
        return "CLOSE";
    default:
        return "OP?";
    }
}

static void log_payload(struct wsc_test_log *log, const uint8_t *p, size_t n)
{
    if (n > 32) {
        wsc_test_log_printf(log, "%zu #%08x", n, fnv1a(p, n));
        return;
    }
    wsc_test_log_printf(log, "'%.*s'", (int)n, (const char *)p);
}

/* ---- the script and the model ----------------------------------------- */

enum verb { V_CONNECT, V_RECV, V_SEND };

/* What the client writes, in order; offsets come from the clean run. */
enum unit {
    U_NONE = -1,
    U_REQUEST,
    U_ECHO_HELLO,
    U_PONG1,
    U_ECHO_EMPTY,
    U_PONG2,
    U_ECHO_FRAG,
    U_ECHO_BIG,
    U_CLOSE,
    U_COUNT
};

/* One API call of the clean run, and what it needs and writes. */
struct step {
    enum verb verb;
    bool control; /* a ping/pong event: not returned by wsc_recv_chunk */
    size_t need;  /* server bytes that must have arrived */
    int unit;     /* what the step writes, or U_NONE */
    char line[96];
};

#define STEPS_MAX 16

struct conf {
    const char *name;
    size_t rx, tx;
};

static const struct conf confs[] = {
    {"default buffers", 65536, 65536},
    {"32-byte input, 256-byte output", 32, 256},
    /* The 300-byte message arrives whole and is echoed from the input buffer
     * through an output buffer too small for it. */
    {"1024-byte input, 256-byte output", 1024, 256},
};
#define NCONF (sizeof(confs) / sizeof(confs[0]))

struct world {
    uint8_t frames[1024];
    size_t frames_len;
    size_t head, total; /* 101 head length; server stream length */
    uint8_t big[BIG_LEN];
    struct step steps[STEPS_MAX];
    int nsteps;
    size_t unit_start[U_COUNT], unit_end[U_COUNT];
    uint8_t clean[4096]; /* the clean run's client output */
    size_t clean_len;
    bool ready;
};

static struct world worlds[NCONF];

static void add_step(struct world *w, enum verb v, bool control, int unit, const char *line)
{
    assert_true(w->nsteps < STEPS_MAX);
    struct step *s = &w->steps[w->nsteps++];
    s->verb = v;
    s->control = control;
    s->need = v == V_SEND ? 0 : w->head + w->frames_len; /* the frames so far */
    s->unit = unit;
    snprintf(s->line, sizeof(s->line), "%s", line);
}

/* Appends a server frame. */
static void put(struct world *w, bool fin, uint8_t op, const void *p, size_t n)
{
    assert_true(ft_put_frame(w->frames, &w->frames_len, sizeof(w->frames), fin, op, p, n));
}

static void build_script(struct world *w)
{
    for (size_t i = 0; i < BIG_LEN; i++)
        w->big[i] = (uint8_t)(i * 7 + 3);
    char line[96];
    snprintf(line, sizeof(line), "recv BINARY %d #%08x", BIG_LEN, fnv1a(w->big, BIG_LEN));
    w->head = ft_head_len();
    w->frames_len = 0;
    w->nsteps = 0;
    add_step(w, V_CONNECT, false, U_REQUEST, "connect 0");
    put(w, true, WSC_OP_TEXT, "hello", 5);
    add_step(w, V_RECV, false, U_NONE, "recv TEXT 'hello'");
    add_step(w, V_SEND, false, U_ECHO_HELLO, "send 0");
    put(w, true, WSC_OP_PING, "p1", 2);
    add_step(w, V_RECV, true, U_PONG1, "recv PING 'p1'");
    put(w, true, WSC_OP_BINARY, NULL, 0);
    add_step(w, V_RECV, false, U_NONE, "recv BINARY ''");
    add_step(w, V_SEND, false, U_ECHO_EMPTY, "send 0");
    put(w, false, WSC_OP_TEXT, "frag", 4);
    put(w, true, WSC_OP_PING, "p2", 2);
    add_step(w, V_RECV, true, U_PONG2, "recv PING 'p2'");
    put(w, false, WSC_OP_CONTINUATION, "mented", 6);
    put(w, true, WSC_OP_CONTINUATION, "!", 1);
    add_step(w, V_RECV, false, U_NONE, "recv TEXT 'fragmented!'");
    add_step(w, V_SEND, false, U_ECHO_FRAG, "send 0");
    put(w, true, WSC_OP_BINARY, w->big, BIG_LEN);
    add_step(w, V_RECV, false, U_NONE, line);
    add_step(w, V_SEND, false, U_ECHO_BIG, "send 0");
    put(w, true, WSC_OP_PONG, "q", 1);
    add_step(w, V_RECV, true, U_NONE, "recv PONG 'q'");
    assert_true(ft_put_close(w->frames, &w->frames_len, sizeof(w->frames), 1000, "bye"));
    add_step(w, V_RECV, false, U_CLOSE, "recv ECLOSED 1000 'bye'");
    w->total = w->head + w->frames_len;
}

static const char *const verbs[] = {"connect", "recv", "send"};

struct expect {
    struct wsc_test_log log;
    size_t capture_len;
    unsigned timeouts;
};

/* The step that owns client byte j. */
static int owner_of(const struct world *w, size_t j)
{
    for (int i = 0; i < w->nsteps; i++) {
        int u = w->steps[i].unit;
        if (u != U_NONE && w->unit_start[u] <= j && j < w->unit_end[u])
            return i;
    }
    fail_msg("client offset %zu belongs to no step", j);
    return -1;
}

static void model(const struct world *w, struct ft_fault f, bool chunked, struct expect *e)
{
    int fail = -1, err = 0;
    size_t capture = w->clean_len;
    e->timeouts = 0;
    e->log.len = 0;
    e->log.text[0] = '\0';
    switch (f.kind) {
    case FT_READ_TIMEOUT:
        if (f.at < w->head) {
            fail = 0;
            err = WSC_ETIMEDOUT;
        } else if (f.at < w->total) {
            e->timeouts = 1; /* at total: only the read after the close stalls */
        }
        break;
    case FT_READ_RESET:
    case FT_READ_EOF:
        err = f.kind == FT_READ_RESET ? WSC_ECONNRESET : WSC_EEOF;
        for (int i = 0; i < w->nsteps && fail < 0; i++)
            if (w->steps[i].need > f.at)
                fail = i;
        break;
    case FT_WRITE_RESET:
    case FT_WRITE_TIMEOUT: {
        err = f.kind == FT_WRITE_RESET ? WSC_ECONNRESET : WSC_ETIMEDOUT;
        capture = f.at;
        int o = owner_of(w, f.at);
        if (w->steps[o].unit == U_CLOSE)
            break; /* the peer's close completes anyway */
        fail = o;
        if (f.kind == FT_WRITE_TIMEOUT && w->steps[o].control)
            while (w->steps[fail].verb != V_SEND)
                fail++;
        break;
    }
    default:
        break;
    }
    if (fail >= 0 && ft_kind_is_read(f.kind)) {
        /* The steps before the failure wrote their bytes; the connect step
         * writes its request before it reads. */
        int upto = fail == 0 ? 1 : fail;
        capture = 0;
        for (int i = 0; i < upto; i++)
            if (w->steps[i].unit != U_NONE)
                capture = w->unit_end[w->steps[i].unit];
    }
    e->capture_len = capture;
    for (int i = 0; i < w->nsteps; i++) {
        const struct step *s = &w->steps[i];
        if (i == fail) {
            wsc_test_log_printf(&e->log, "%s %s\n", verbs[s->verb], err_name(err));
            break;
        }
        if (!(chunked && s->control))
            wsc_test_log_printf(&e->log, "%s\n", s->line);
    }
    if (fail >= 0)
        wsc_test_log_printf(&e->log, "again recv=%s send=%s\nclose %s\n", err_name(err),
                            err_name(err), err_name(err));
    else
        wsc_test_log_printf(&e->log, "again recv=ECLOSED send=ENOTCONN\nclose 0\n");
}

/* ---- the driver ------------------------------------------------------- */

struct msg {
    uint8_t opcode;
    uint8_t data[1024];
    size_t len;
    const uint8_t *lib_data; /* wsc_recv's own pointer, or data */
};

struct sent {
    int rc;
    size_t index; /* which data message: 0, 1, ... */
};

struct run {
    struct wsc_test_log log;
    int timeout_ms;
    unsigned timeouts;
    struct sent sends[8];
    size_t nsends;
    bool chunk_order_ok;
};

/* Receives one message through wsc_recv_chunk, reassembling it. */
static int recv_chunked(struct wsc_conn *c, struct msg *m, struct run *r)
{
    bool in_msg = false;
    for (;;) {
        uint8_t buf[CHUNK_CAP];
        struct wsc_chunk ch;
        int rc = wsc_recv_chunk(c, buf, sizeof(buf), &ch, r->timeout_ms);
        if (rc == WSC_ETIMEDOUT && wsc_conn_state(c) != WSC_CONN_FAILED &&
            r->timeouts < MAX_RETRIES) {
            r->timeouts++;
            ft_resume(&ft);
            continue;
        }
        if (rc)
            return rc;
        if (ch.first == in_msg || ch.len > sizeof(buf) || m->len + ch.len > sizeof(m->data))
            r->chunk_order_ok = false;
        if (ch.first) {
            m->len = 0;
            m->opcode = ch.opcode;
            in_msg = true;
        }
        memcpy(m->data + m->len, buf, ch.len);
        m->len += ch.len;
        if (ch.fin) {
            m->lib_data = m->data;
            return 0;
        }
    }
}

static int recv_whole(struct wsc_conn *c, struct msg *m, struct run *r)
{
    for (;;) {
        struct wsc_message wm;
        int rc = wsc_recv(c, &wm, r->timeout_ms);
        if (rc == WSC_ETIMEDOUT && wsc_conn_state(c) != WSC_CONN_FAILED &&
            r->timeouts < MAX_RETRIES) {
            r->timeouts++;
            ft_resume(&ft);
            continue;
        }
        if (rc)
            return rc;
        /* A copy for the log; the echo sends the library's pointer, which
         * must stay intact while wsc_send reads input during a full socket. */
        assert_true(wm.len <= sizeof(m->data));
        m->opcode = wm.opcode;
        m->len = wm.len;
        memcpy(m->data, wm.data, wm.len);
        m->lib_data = wm.data;
        return 0;
    }
}

static void drive(const struct conf *cf, struct world *w, struct ft_fault f, bool chunked,
                  struct run *r)
{
    memset(r, 0, sizeof(*r));
    r->chunk_order_ok = true;
    bool stall = f.kind == FT_READ_TIMEOUT || f.kind == FT_WRITE_TIMEOUT;
    int timeout = r->timeout_ms = stall ? STALL_TIMEOUT_MS : TIMEOUT_MS;
    ft_reset(&ft, w->frames, w->frames_len, f);
    uint32_t ctr = 0;
    struct wsc_options o;
    wsc_options_init(&o);
    o.connect_timeout_ms = timeout;
    o.report_control = true;
    o.random = counting_random;
    o.random_user = &ctr;
    o.rx_buf_size = cf->rx;
    o.tx_buf_size = cf->tx;
    struct wsc_transport tr = ft_transport(&ft);
    struct wsc_conn c;
    int rc = wsc_connect_transport(&c, &tr, URL, &o);
    wsc_test_log_printf(&r->log, "connect %s\n", err_name(rc));
    size_t index = 0;
    static struct msg m;
    while (rc == 0) {
        rc = chunked ? recv_chunked(&c, &m, r) : recv_whole(&c, &m, r);
        if (rc == WSC_ECLOSED) {
            size_t rlen;
            const char *reason = wsc_conn_close_reason(&c, &rlen);
            wsc_test_log_printf(&r->log, "recv ECLOSED %u '%.*s'\n",
                                wsc_conn_close_code(&c), (int)rlen, reason);
            break;
        }
        if (rc) {
            wsc_test_log_printf(&r->log, "recv %s\n", err_name(rc));
            break;
        }
        wsc_test_log_printf(&r->log, "recv %s ", op_name(m.opcode));
        log_payload(&r->log, m.data, m.len);
        wsc_test_log_printf(&r->log, "\n");
        if (m.opcode != WSC_OP_TEXT && m.opcode != WSC_OP_BINARY)
            continue;
        rc = wsc_send(&c, m.opcode, m.lib_data, m.len, timeout);
        wsc_test_log_printf(&r->log, "send %s\n", err_name(rc));
        r->sends[r->nsends++] = (struct sent){rc, index++};
    }
    if (rc && rc != WSC_ECLOSED) {
        /* A failure says what happened, and stays. */
        assert_int_equal(wsc_conn_error(&c), rc);
        assert_int_equal(wsc_conn_state(&c), WSC_CONN_FAILED);
        const char *detail = wsc_conn_detail(&c);
        assert_true(strlen(detail) > 0 && strcmp(detail, "no error") != 0);
    }
    struct wsc_message wm;
    uint8_t one[CHUNK_CAP];
    struct wsc_chunk ch;
    int again = chunked ? wsc_recv_chunk(&c, one, sizeof(one), &ch, timeout)
                        : wsc_recv(&c, &wm, timeout);
    wsc_test_log_printf(&r->log, "again recv=%s", err_name(again));
    again = wsc_send(&c, WSC_OP_TEXT, "x", 1, timeout);
    wsc_test_log_printf(&r->log, " send=%s\n", err_name(again));
    rc = wsc_close(&c, WSC_CLOSE_NORMAL, NULL, timeout);
    wsc_test_log_printf(&r->log, "close %s\n", err_name(rc));
    wsc_conn_free(&c);
}

/* ---- checking one run ------------------------------------------------- */

static void describe(const struct conf *cf, struct ft_fault f, bool chunked)
{
    print_message("fault: %s, at %zu, size %zu; %s; %s\n", ft_kind_name(f.kind), f.at,
                  f.size, cf->name, chunked ? "wsc_recv_chunk" : "wsc_recv");
}

static void clean_run(size_t ci);

static void check_run(size_t ci, struct ft_fault f, bool chunked)
{
    const struct conf *cf = &confs[ci];
    struct world *w = &worlds[ci];
    if (!w->ready)
        clean_run(ci);
    struct expect e;
    struct run r;
    model(w, f, chunked, &e);
    drive(cf, w, f, chunked, &r);

    bool ok = strcmp(r.log.text, e.log.text) == 0 && ft.wpos == e.capture_len &&
              memcmp(ft.capture, w->clean, e.capture_len) == 0 &&
              r.timeouts == e.timeouts && r.chunk_order_ok && ft.close_calls == 1 &&
              !ft.misuse && !ft.runaway && (!ft_kind_is_at(f.kind) || ft.fired);

    /* No message is reported sent unless its whole frame was written, and a
     * failed wsc_send left its frame incomplete. */
    int echo_units[STEPS_MAX], nechos = 0;
    for (int i = 0; i < w->nsteps; i++)
        if (w->steps[i].verb == V_SEND)
            echo_units[nechos++] = w->steps[i].unit;
    for (size_t i = 0; i < r.nsends; i++) {
        assert_true(r.sends[i].index < (size_t)nechos);
        size_t end = w->unit_end[echo_units[r.sends[i].index]];
        if ((r.sends[i].rc == 0) != (end <= ft.wpos)) {
            print_message(
                "send %zu returned %s, its frame ends at %zu, %zu bytes written\n", i,
                err_name(r.sends[i].rc), end, ft.wpos);
            ok = false;
        }
    }
    struct ft_client_frame frames[FT_CLIENT_FRAMES_MAX];
    size_t partial, data_frames = 0, reported = 0;
    size_t n = ft_client_frames(&ft, ft.wpos, frames, FT_CLIENT_FRAMES_MAX, &partial);
    for (size_t i = 0; i < n; i++)
        data_frames += frames[i].opcode == WSC_OP_TEXT || frames[i].opcode == WSC_OP_BINARY;
    for (size_t i = 0; i < r.nsends; i++)
        reported += r.sends[i].rc == 0;
    if (data_frames != reported) {
        print_message("%zu complete data frames written, %zu sends reported\n", data_frames,
                      reported);
        ok = false;
    }
    if (ok)
        return;
    describe(cf, f, chunked);
    print_message("expected log:\n%sactual log:\n%s", e.log.text, r.log.text);
    print_message(
        "client bytes: expected %zu, got %zu (%s); timeouts: expected %u, got %u\n",
        e.capture_len, ft.wpos,
        ft.wpos <= w->clean_len && memcmp(ft.capture, w->clean, ft.wpos) == 0
            ? "a prefix of the clean output"
            : "NOT a prefix of the clean output",
        e.timeouts, r.timeouts);
    print_message(
        "transport: fired=%d close_calls=%u misuse=%s runaway=%d chunk order %s\n",
        ft.fired, ft.close_calls, ft.misuse ? ft.misuse_what : "none", ft.runaway,
        r.chunk_order_ok ? "ok" : "BROKEN");
    fail();
}

/* The clean run: records and checks what the client sends, byte by byte. */
static void clean_run(size_t ci)
{
    struct world *w = &worlds[ci];
    build_script(w);
    struct run r;
    struct ft_fault none = {.kind = FT_NONE};
    drive(&confs[ci], w, none, false, &r);

    const char *req = (const char *)ft.capture;
    assert_true(ft.request_len > 0);
    assert_memory_equal(req, "GET /chat HTTP/1.1\r\n", 20);
    assert_non_null(strstr(req, "\r\nHost: example.test\r\n"));
    w->unit_start[U_REQUEST] = 0;
    w->unit_end[U_REQUEST] = ft.request_len;

    struct ft_client_frame fr[FT_CLIENT_FRAMES_MAX];
    size_t partial;
    size_t n = ft_client_frames(&ft, ft.wpos, fr, FT_CLIENT_FRAMES_MAX, &partial);
    assert_int_equal(partial, 0);
    static const struct {
        uint8_t op;
        const char *payload; /* NULL: the big binary message */
        int unit;
    } want[] = {
        {WSC_OP_TEXT, "hello", U_ECHO_HELLO},      {WSC_OP_PONG, "p1", U_PONG1},
        {WSC_OP_BINARY, "", U_ECHO_EMPTY},         {WSC_OP_PONG, "p2", U_PONG2},
        {WSC_OP_TEXT, "fragmented!", U_ECHO_FRAG}, {WSC_OP_BINARY, NULL, U_ECHO_BIG},
        {WSC_OP_CLOSE, "\x03\xe8", U_CLOSE},
    };
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++) {
        assert_true(fr[i].masked);
        assert_true(fr[i].fin);
        assert_int_equal(fr[i].opcode, want[i].op);
        if (want[i].payload) {
            assert_int_equal(fr[i].len, strlen(want[i].payload));
            assert_memory_equal(fr[i].payload, want[i].payload, fr[i].len);
        } else {
            assert_int_equal(fr[i].len, BIG_LEN);
            assert_memory_equal(fr[i].payload, w->big, BIG_LEN);
        }
        w->unit_start[want[i].unit] = fr[i].start;
        w->unit_end[want[i].unit] = fr[i].end;
    }
    assert_true(ft.wpos <= sizeof(w->clean));
    memcpy(w->clean, ft.capture, ft.wpos);
    w->clean_len = ft.wpos;
    /* The handshake answered the key the client sent, and the client closed
     * politely: FIN after its close reply, transport closed once. */
    assert_int_equal(ft.shutdown_calls, 1);
    assert_int_equal(ft.close_calls, 1);
    assert_false(ft.misuse);

    struct expect e;
    model(w, none, false, &e);
    assert_string_equal(r.log.text, e.log.text);
    assert_int_equal(r.timeouts, 0);
    w->ready = true;
}

/* ---- the tests -------------------------------------------------------- */

/* Runs @p kind at every position in [first, last] in every configuration and
 * receive mode; returns the number of positions. */
static size_t sweep(enum ft_kind kind, size_t first, size_t last_read, size_t last_write)
{
    size_t positions = 0, runs = 0;
    for (size_t ci = 0; ci < NCONF; ci++) {
        if (!worlds[ci].ready)
            clean_run(ci);
        size_t last = ft_kind_is_read(kind) ? last_read : last_write;
        if (last == SIZE_MAX) /* "every offset of the stream" */
            last = ft_kind_is_read(kind) ? worlds[ci].total : worlds[ci].clean_len - 1;
        for (size_t p = first; p <= last; p++) {
            struct ft_fault f = {.kind = kind, .at = p, .size = p};
            check_run(ci, f, false);
            check_run(ci, f, true);
            runs += 2;
            if (ci == 0)
                positions++;
        }
    }
    print_message("%s: fault positions exercised: %zu (%zu runs: %zu buffer configurations "
                  "x 2 receive modes)\n",
                  ft_kind_name(kind), positions, runs, NCONF);
    return positions;
}

static void clean_session_is_byte_exact_in_both_directions(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < NCONF; ci++) {
        clean_run(ci);
        check_run(ci, (struct ft_fault){.kind = FT_NONE}, true);
    }
    print_message("server stream %zu bytes (101 head %zu), client output %zu bytes\n",
                  worlds[0].total, worlds[0].head, worlds[0].clean_len);
}

static void short_reads_of_every_size_change_nothing(void **state)
{
    (void)state;
    assert_true(sweep(FT_READ_CHUNK, 1, SIZE_MAX, 0) > 0);
}

static void spurious_wakeups_at_every_offset_change_nothing(void **state)
{
    (void)state;
    assert_true(sweep(FT_READ_SPURIOUS, 0, SIZE_MAX, 0) > 0);
}

static void read_stall_at_every_offset_times_out_once_and_loses_nothing(void **state)
{
    (void)state;
    assert_true(sweep(FT_READ_TIMEOUT, 0, SIZE_MAX, 0) > 0);
}

static void reset_at_every_server_offset_delivers_the_prefix_then_fails(void **state)
{
    (void)state;
    assert_true(sweep(FT_READ_RESET, 0, SIZE_MAX, 0) > 0);
}

static void eof_at_every_server_offset_delivers_the_prefix_then_fails(void **state)
{
    (void)state;
    assert_true(sweep(FT_READ_EOF, 0, SIZE_MAX, 0) > 0);
}

static void short_writes_of_every_size_change_nothing(void **state)
{
    (void)state;
    /* Sizes 1..M: the last one takes the whole output in one send. */
    size_t positions = 0, runs = 0;
    for (size_t ci = 0; ci < NCONF; ci++) {
        if (!worlds[ci].ready)
            clean_run(ci);
        for (size_t s = 1; s <= worlds[ci].clean_len; s++) {
            struct ft_fault f = {.kind = FT_WRITE_CHUNK, .size = s};
            check_run(ci, f, false);
            check_run(ci, f, true);
            runs += 2;
            if (ci == 0)
                positions++;
        }
    }
    print_message("%s: fault positions exercised: %zu (%zu runs)\n",
                  ft_kind_name(FT_WRITE_CHUNK), positions, runs);
}

static void write_eagain_at_every_offset_changes_nothing(void **state)
{
    (void)state;
    assert_true(sweep(FT_WRITE_AGAIN, 0, 0, SIZE_MAX) > 0);
}

static void write_stall_at_every_offset_fails_the_writing_call(void **state)
{
    (void)state;
    assert_true(sweep(FT_WRITE_TIMEOUT, 0, 0, SIZE_MAX) > 0);
}

static void write_reset_at_every_offset_fails_the_writing_call(void **state)
{
    (void)state;
    assert_true(sweep(FT_WRITE_RESET, 0, 0, SIZE_MAX) > 0);
}

/*
 * wsc_recv returns a whole single-frame message in place, in the input buffer.
 * Echoing it through a smaller output buffer takes several sends; when one
 * would block, wsc_send reads what arrived meanwhile into the input buffer.
 * That read must not land on the message being sent. The server's burst ends
 * with the 300-byte message, the rest (more than the message's offset in the
 * buffer) arrives during the echo, and the echo meets EAGAIN at every offset.
 */
static void echo_from_the_input_buffer_survives_reads_during_a_full_socket(void **state)
{
    (void)state;
    static uint8_t frames[2048], msg[BIG_LEN];
    size_t len = 0;
    for (size_t i = 0; i < BIG_LEN; i++)
        msg[i] = (uint8_t)(i * 11 + 1);
    assert_true(
        ft_put_frame(frames, &len, sizeof(frames), true, WSC_OP_BINARY, msg, BIG_LEN));
    size_t burst = ft_head_len() + len;
    char text[40];
    for (int i = 0; i < 20; i++) {
        int n =
            snprintf(text, sizeof(text), "after the echo %02d .....................", i);
        assert_true(
            ft_put_frame(frames, &len, sizeof(frames), true, WSC_OP_TEXT, text, (size_t)n));
    }
    assert_true(ft_put_close(frames, &len, sizeof(frames), 1000, ""));
    size_t positions = 0;
    for (size_t j = 0;; j++) {
        ft_reset(&ft, frames, len, (struct ft_fault){.kind = FT_NONE});
        if (j > 0) /* run 0 finds where the echo starts */
            ft.fault =
                (struct ft_fault){.kind = FT_WRITE_AGAIN, .at = j, .read_split = burst};
        else
            ft.fault.read_split = burst;
        uint32_t ctr = 0;
        struct wsc_options o;
        wsc_options_init(&o);
        o.random = counting_random;
        o.random_user = &ctr;
        o.rx_buf_size = 1024;
        o.tx_buf_size = WSC_SESSION_OUT_MIN;
        struct wsc_transport tr = ft_transport(&ft);
        struct wsc_conn c;
        assert_int_equal(wsc_connect_transport(&c, &tr, URL, &o), 0);
        size_t echo_start = ft.wpos;
        struct wsc_message m;
        assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), 0);
        assert_int_equal(m.len, BIG_LEN);
        assert_true(m.data >= c.in && m.data < c.in + c.in_cap); /* in place, no copy */
        assert_int_equal(wsc_send(&c, WSC_OP_BINARY, m.data, m.len, TIMEOUT_MS), 0);
        size_t echo_end = ft.wpos;
        for (int i = 0; i < 20; i++) {
            int n = snprintf(text, sizeof(text),
                             "after the echo %02d .....................", i);
            assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), 0);
            assert_int_equal(m.len, (size_t)n);
            assert_memory_equal(m.data, text, (size_t)n);
        }
        assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), WSC_ECLOSED);
        struct ft_client_frame fr[FT_CLIENT_FRAMES_MAX];
        size_t partial;
        size_t n = ft_client_frames(&ft, ft.wpos, fr, FT_CLIENT_FRAMES_MAX, &partial);
        assert_true(n >= 1);
        assert_int_equal(fr[0].len, BIG_LEN);
        if (memcmp(fr[0].payload, msg, BIG_LEN) != 0)
            fail_msg("EAGAIN at client offset %zu: the echo differs from the message", j);
        wsc_conn_free(&c);
        if (j == 0) {
            j = echo_start - 1; /* the next run fails at echo_start */
            continue;
        }
        assert_true(ft.fired);
        positions++;
        if (j + 1 >= echo_end)
            break;
    }
    print_message("%s during an in-place echo: fault positions exercised: %zu\n",
                  ft_kind_name(FT_WRITE_AGAIN), positions);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_session_is_byte_exact_in_both_directions),
        cmocka_unit_test(short_reads_of_every_size_change_nothing),
        cmocka_unit_test(spurious_wakeups_at_every_offset_change_nothing),
        cmocka_unit_test(read_stall_at_every_offset_times_out_once_and_loses_nothing),
        cmocka_unit_test(reset_at_every_server_offset_delivers_the_prefix_then_fails),
        cmocka_unit_test(eof_at_every_server_offset_delivers_the_prefix_then_fails),
        cmocka_unit_test(short_writes_of_every_size_change_nothing),
        cmocka_unit_test(write_eagain_at_every_offset_changes_nothing),
        cmocka_unit_test(write_stall_at_every_offset_fails_the_writing_call),
        cmocka_unit_test(write_reset_at_every_offset_fails_the_writing_call),
        cmocka_unit_test(echo_from_the_input_buffer_survives_reads_during_a_full_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
