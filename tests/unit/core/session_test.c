/*
 * RFC 6455 session rules, client side: 5.1-5.8 (framing, fragmentation,
 * control frames), 7.1-7.4 (closing) and 8.1 (UTF-8), plus the size limit and
 * the send path. Receive cases are server bytes (hex) plus the expected event
 * log, run through wsc_test_each_chunking(). The runner coalesces the DATA
 * chunks of a frame (their sizes depend on the chunking; their bytes, flags
 * and end offsets must not), logs the cumulative consumed count at every
 * event and error, and decodes what the session queued for sending after
 * every event: each frame must be masked, and is unmasked with the key it
 * carries before its opcode, close code and payload are logged.
 * Cases with .pmd run with permessage-deflate agreed: RSV1 starts compressed
 * messages (logged with z=1), which the session passes on as they are.
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

#include "harness.h"
#include "wsc/wsc_core.h"

#define OUT_CAP WSC_SESSION_OUT_MIN

/* ---- helpers ----------------------------------------------------------- */

/* Deterministic mask keys that differ from frame to frame (never all zero). */
static int counting_random(void *user, uint8_t *buf, size_t len)
{
    uint32_t *ctr = user;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(((*ctr)++ * 73u + 29u) & 0xff);
    return 0;
}

/* The key given in user, for byte-exact output. */
static int fixed_random(void *user, uint8_t *buf, size_t len)
{
    const uint8_t *key = user;
    for (size_t i = 0; i < len; i++)
        buf[i] = key[i % 4];
    return 0;
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Short payloads as quoted text with \xNN escapes; long ones as length and hash. */
static void log_payload(struct wsc_test_log *log, const uint8_t *p, size_t n)
{
    if (n > 32) {
        wsc_test_log_printf(log, "len=%zu #%08x", n, fnv1a(p, n));
        return;
    }
    wsc_test_log_printf(log, "'");
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != '\'')
            wsc_test_log_printf(log, "%c", p[i]);
        else
            wsc_test_log_printf(log, "\\x%02x", p[i]);
    }
    wsc_test_log_printf(log, "'");
}

/* A client frame from the output, parsed without the library's decoder. */
struct out_frame {
    bool fin;
    uint8_t rsv, op;
    bool masked;
    uint8_t key[4];
    uint64_t len;
    size_t size; /* header bytes */
};

static bool parse_out_frame(const uint8_t *p, size_t n, struct out_frame *f)
{
    if (n < 2)
        return false;
    f->fin = p[0] >> 7;
    f->rsv = (p[0] >> 4) & 7;
    f->op = p[0] & 0x0f;
    f->masked = p[1] >> 7;
    size_t pos = 2;
    uint64_t len = p[1] & 0x7f;
    if (len == 126) {
        if (n < 4)
            return false;
        len = (uint64_t)p[2] << 8 | p[3];
        pos = 4;
    } else if (len == 127) {
        if (n < 10)
            return false;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | p[2 + i];
        pos = 10;
    }
    if (f->masked) {
        if (n < pos + 4)
            return false;
        memcpy(f->key, p + pos, 4);
        pos += 4;
    }
    f->len = len;
    f->size = pos;
    return true;
}

static bool valid_utf8(const uint8_t *p, size_t n)
{
    struct wsc_utf8 u;
    wsc_utf8_reset(&u);
    return wsc_utf8_validate(&u, p, n) == n && wsc_utf8_complete(&u);
}

static const char *op_name(uint8_t op)
{
    static const char *const names[16] = {"cont", "text", "binary", "op3",  "op4",  "op5",
                                          "op6",  "op7",  "close",  "ping", "pong", "opB",
                                          "opC",  "opD",  "opE",    "opF"};
    return names[op & 15];
}

/* Logs (and checks) every frame in out[0..n): masked, unmasked with its own key. */
static void log_output(struct wsc_test_log *log, const uint8_t *out, size_t n)
{
    size_t pos = 0;
    while (pos < n) {
        struct out_frame f;
        if (!parse_out_frame(out + pos, n - pos, &f) || f.len > n - pos - f.size) {
            wsc_test_log_printf(log, "OUT partial frame (%zu bytes)\n", n - pos);
            return;
        }
        uint8_t payload[WSC_CONTROL_MAX + 1];
        const uint8_t *wire = out + pos + f.size;
        /* RSV1 may only start a compressed message (RFC 7692 6). */
        bool rsv1 = f.rsv == WSC_RSV1 && (f.op == WSC_OP_TEXT || f.op == WSC_OP_BINARY);
        if (!f.masked || (f.rsv && !rsv1))
            wsc_test_log_printf(log, "OUT BAD unmasked or rsv\n");
        if (f.len > WSC_CONTROL_MAX) {
            wsc_test_log_printf(log, "OUT %s%s fin=%d len=%llu\n", op_name(f.op),
                                rsv1 ? " rsv1" : "", f.fin, (unsigned long long)f.len);
            pos += f.size + (size_t)f.len;
            continue;
        }
        for (size_t i = 0; i < f.len; i++)
            payload[i] = wire[i] ^ (f.masked ? f.key[i % 4] : 0);
        size_t len = (size_t)f.len;
        if (f.op == WSC_OP_CLOSE) {
            if (len == 0) {
                wsc_test_log_printf(log, "OUT close (empty)\n");
            } else if (len == 1) {
                wsc_test_log_printf(log, "OUT BAD close with one byte\n");
            } else {
                unsigned code = (unsigned)payload[0] << 8 | payload[1];
                wsc_test_log_printf(log, "OUT close %u%s\n", code,
                                    len > 2 ? " +reason" : "");
                if (!wsc_close_code_valid((uint16_t)code) ||
                    !valid_utf8(payload + 2, len - 2))
                    wsc_test_log_printf(log, "OUT BAD close payload\n");
            }
        } else {
            wsc_test_log_printf(log, "OUT %s%s ", op_name(f.op), rsv1 ? " rsv1" : "");
            log_payload(log, payload, len);
            wsc_test_log_printf(log, "\n");
        }
        if (!f.fin && f.op >= 8)
            wsc_test_log_printf(log, "OUT BAD fragmented control\n");
        pos += f.size + len;
    }
}

static void drain(struct wsc_session *s, struct wsc_test_log *log)
{
    const uint8_t *out;
    size_t n = wsc_session_pending_output(s, &out);
    log_output(log, out, n);
    wsc_session_output_sent(s, n);
}

static const char *state_name(enum wsc_session_state st)
{
    switch (st) {
    case WSC_SESSION_OPEN:
        return "open";
    case WSC_SESSION_CLOSE_SENT:
        return "close_sent";
    case WSC_SESSION_CLOSED:
        return "closed";
    case WSC_SESSION_FAILED:
        return "failed";
    }
    return "?";
}

/* ---- table runner ------------------------------------------------------ */

struct sess_case {
    const char *name;
    const char *hex;
    size_t fill;       /* then this many bytes (i * 7 + 3) & 0xff, */
    uint8_t fill_byte; /* or this byte if not 0 */
    const char *expect;
    uint64_t max_message; /* 0 = default */
    size_t limit;         /* most bytes per wsc_session_next() call; 0 = all */
    bool pmd;             /* permessage-deflate agreed */
};

#define CASE(n, h, e) .name = n, .hex = h, .expect = e

/* The DATA chunks of the current frame, gathered for one log line. */
struct data_run {
    bool open;
    uint8_t op;
    bool first, frame_fin, fin, compressed;
    uint64_t remaining;
    uint8_t *bytes;
    size_t len, cap;
    bool expect_first; /* the next chunk starts a message */
};

static void run_flush(struct data_run *r, struct wsc_test_log *log, size_t at)
{
    if (!r->open)
        return;
    wsc_test_log_printf(log, "DATA op=%u first=%d ffin=%d fin=%d len=%zu rem=%llu %s",
                        r->op, r->first, r->frame_fin, r->fin, r->len,
                        (unsigned long long)r->remaining, r->compressed ? "z=1 " : "");
    log_payload(log, r->bytes, r->len);
    wsc_test_log_printf(log, " at=%zu\n", at);
    r->open = false;
    r->len = 0;
}

static void run_data(struct data_run *r, const struct wsc_event *ev, size_t limit,
                     struct wsc_test_log *log, size_t at)
{
    if (ev->first != r->expect_first && !(r->open && !ev->first))
        wsc_test_log_printf(log, "BAD first=%d\n", ev->first);
    if (ev->opcode != WSC_OP_TEXT && ev->opcode != WSC_OP_BINARY)
        wsc_test_log_printf(log, "BAD opcode %u\n", ev->opcode);
    if (ev->fin != (ev->frame_fin && ev->remaining == 0))
        wsc_test_log_printf(log, "BAD fin\n");
    if (limit && ev->len > limit)
        wsc_test_log_printf(log, "BAD chunk of %zu over the limit\n", ev->len);
    if (!r->open) {
        r->open = true;
        r->op = ev->opcode;
        r->first = ev->first;
        r->frame_fin = ev->frame_fin;
        r->compressed = ev->compressed;
    } else if (ev->first || ev->opcode != r->op || ev->frame_fin != r->frame_fin ||
               ev->compressed != r->compressed || ev->remaining != r->remaining - ev->len) {
        wsc_test_log_printf(log, "BAD chunk does not continue the frame\n");
    }
    if (r->len + ev->len > r->cap) {
        r->cap = (r->len + ev->len) * 2;
        r->bytes = realloc(r->bytes, r->cap);
        assert_non_null(r->bytes);
    }
    if (ev->len)
        memcpy(r->bytes + r->len, ev->data, ev->len);
    r->len += ev->len;
    r->remaining = ev->remaining;
    r->fin = ev->fin;
    r->expect_first = false;
    if (ev->remaining == 0) {
        run_flush(r, log, at);
        r->expect_first = ev->fin;
    }
}

static void sess_run(void *ctx, const uint8_t *data, size_t len, const size_t *bounds,
                     size_t nbounds, struct wsc_test_log *log)
{
    const struct sess_case *c = ctx;
    uint32_t ctr = 1;
    uint8_t *outbuf = malloc(OUT_CAP); /* exact size: over-writes trip ASan */
    assert_non_null(outbuf);
    struct wsc_session_config cfg = {.max_message = c->max_message,
                                     .out_buf = outbuf,
                                     .out_cap = OUT_CAP,
                                     .random = counting_random,
                                     .random_user = &ctr,
                                     .permessage_deflate = c->pmd};
    struct wsc_session s;
    assert_int_equal(wsc_session_init(&s, &cfg), 0);

    struct wsc_test_stream st = {0};
    struct data_run run = {.expect_first = true};
    size_t total = 0, start = 0;
    int settled = 0; /* the sticky error or WSC_ECLOSED, once returned */
    for (size_t b = 0; b < nbounds; b++) {
        wsc_test_stream_push(&st, data + start, bounds[b] - start);
        start = bounds[b];
        size_t used = 0;
        for (;;) {
            /* Consume the previous call's bytes only now: ev.data points into them. */
            wsc_test_stream_consume(&st, used);
            used = 0;
            size_t avail;
            const uint8_t *in = wsc_test_stream_data(&st, &avail);
            size_t pass = c->limit && avail > c->limit ? c->limit : avail;
            struct wsc_event ev;
            size_t got = 12345;
            int rc = wsc_session_next(&s, in, pass, &got, &ev);
            if (got > pass) {
                wsc_test_log_printf(log, "BAD consumed %zu of %zu\n", got, pass);
                break;
            }
            if (settled) {
                if (rc != settled || got != 0)
                    wsc_test_log_printf(log, "BAD after %d: %d consumed %zu\n", settled, rc,
                                        got);
                break;
            }
            used = got;
            total += got;
            if (rc == WSC_EAGAIN) {
                if (got != pass)
                    wsc_test_log_printf(log, "BAD EAGAIN left %zu\n", pass - got);
                if (pass < avail)
                    continue;
                break;
            }
            if (rc == 0 && ev.type == WSC_EV_DATA) {
                run_data(&run, &ev, c->limit, log, total);
                continue;
            }
            run_flush(&run, log, total);
            if (rc == 0) {
                if (ev.type == WSC_EV_PING || ev.type == WSC_EV_PONG) {
                    wsc_test_log_printf(log, "%s ",
                                        ev.type == WSC_EV_PING ? "PING" : "PONG");
                } else if (ev.type == WSC_EV_CLOSE) {
                    wsc_test_log_printf(log, "CLOSE code=%u ", ev.close_code);
                } else {
                    wsc_test_log_printf(log, "BAD event type %d\n", (int)ev.type);
                }
                log_payload(log, ev.data, ev.len);
                wsc_test_log_printf(log, " at=%zu\n", total);
            } else if (rc == WSC_ECLOSED) {
                wsc_test_log_printf(log, "ECLOSED at=%zu\n", total);
                settled = rc;
                if (got != 0)
                    wsc_test_log_printf(log, "BAD ECLOSED consumed\n");
            } else {
                wsc_test_log_printf(log, "ERR %d at=%zu\n", rc, total);
                settled = rc;
                if (wsc_session_state(&s) != WSC_SESSION_FAILED ||
                    wsc_session_error(&s) != rc)
                    wsc_test_log_printf(log, "BAD state after error\n");
            }
            drain(&s, log);
            if (settled)
                break;
        }
        wsc_test_stream_consume(&st, used);
    }
    run_flush(&run, log, total);
    size_t left;
    wsc_test_stream_data(&st, &left);
    if (total + left != len)
        wsc_test_log_printf(log, "BAD bytes lost\n");
    drain(&s, log);
    wsc_test_log_printf(log, "END at=%zu left=%zu state=%s finished=%d\n", total, left,
                        state_name(wsc_session_state(&s)), wsc_session_finished(&s));
    wsc_test_stream_free(&st);
    free(run.bytes);
    free(outbuf);
}

static size_t run_cases(const struct sess_case *cases, size_t n)
{
    size_t runs = 0;
    for (size_t i = 0; i < n; i++) {
        const struct sess_case *c = &cases[i];
        size_t hl;
        uint8_t *hex = wsc_test_hex(c->hex, &hl);
        size_t len = hl + c->fill;
        uint8_t *in = malloc(len ? len : 1);
        assert_non_null(in);
        memcpy(in, hex, hl);
        for (size_t k = 0; k < c->fill; k++)
            in[hl + k] = c->fill_byte ? c->fill_byte : (uint8_t)((k * 7 + 3) & 0xff);
        print_message("  %s (%zu bytes)\n", c->name, len);
        runs += wsc_test_each_chunking(in, len, c->expect, sess_run, (void *)c);
        free(in);
        free(hex);
    }
    return runs;
}

#define RUN(cases) run_cases(cases, sizeof(cases) / sizeof(cases[0]))

#define FAIL1002 "OUT close 1002 +reason\n"
#define FAILED_END(at, left) "END at=" #at " left=" #left " state=failed finished=1\n"

/* ---- 5.1-5.3: framing -------------------------------------------------- */

static void masked_server_frame_fails_with_1002(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("masked text", "81 85 37 fa 21 3d 7f 9f 4d 51 58",
              "ERR -1040 at=1\n" FAIL1002 FAILED_END(1, 10))},
        {CASE("masked empty ping", "89 80 01 02 03 04",
              "ERR -1040 at=1\n" FAIL1002 FAILED_END(1, 5))},
        {CASE("masked close", "88 82 00 00 00 00 03 e8",
              "ERR -1040 at=1\n" FAIL1002 FAILED_END(1, 7))},
        {CASE("masked frame after a good one", "81 02 68 69 82 80 00 00 00 00",
              "DATA op=1 first=1 ffin=1 fin=1 len=2 rem=0 'hi' at=4\n"
              "ERR -1040 at=5\n" FAIL1002 FAILED_END(5, 5))},
        {CASE("masked, only two bytes so far", "82 85",
              "ERR -1040 at=1\n" FAIL1002 FAILED_END(1, 1))},
    };
    RUN(cases);
}

static void rsv_bits_without_an_extension_fail_with_1002(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("rsv1 text", "c1 01 61", "ERR -1041 at=0\n" FAIL1002 FAILED_END(0, 3))},
        {CASE("rsv2 binary", "a2 00", "ERR -1041 at=0\n" FAIL1002 FAILED_END(0, 2))},
        {CASE("rsv3 text", "91 00", "ERR -1041 at=0\n" FAIL1002 FAILED_END(0, 2))},
        {CASE("all rsv", "f1 00", "ERR -1041 at=0\n" FAIL1002 FAILED_END(0, 2))},
        {CASE("rsv1 ping", "c9 00", "ERR -1041 at=0\n" FAIL1002 FAILED_END(0, 2))},
        {CASE("rsv1 on a continuation", "01 01 61 c0 01 62",
              "DATA op=1 first=1 ffin=0 fin=0 len=1 rem=0 'a' at=3\n"
              "ERR -1041 at=3\n" FAIL1002 FAILED_END(3, 3))},
    };
    RUN(cases);
}

static void reserved_opcodes_fail_with_1002(void **state)
{
    (void)state;
    static const char *const ops[] = {"83", "84", "85", "86", "87", "8b",
                                      "8c", "8d", "8e", "8f", "03", "0b"};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        char hex[32];
        snprintf(hex, sizeof(hex), "%s 01 00", ops[i]);
        struct sess_case c = {CASE(hex, hex, "ERR -1042 at=0\n" FAIL1002 FAILED_END(0, 3))};
        run_cases(&c, 1);
    }
    /* Also after a complete message. */
    static const struct sess_case cases[] = {
        {CASE("opcode 3 after a message", "82 01 00 83 00",
              "DATA op=2 first=1 ffin=1 fin=1 len=1 rem=0 '\\x00' at=3\n"
              "ERR -1042 at=3\n" FAIL1002 FAILED_END(3, 2))},
    };
    RUN(cases);
}

static void sixty_four_bit_length_with_top_bit_fails_with_1002(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("binary", "82 7f 80 00 00 00 00 00 00 00",
              "ERR -1049 at=2\n" FAIL1002 FAILED_END(2, 8))},
        {CASE("after a ping", "89 00 82 7f ff ff ff ff ff ff ff ff",
              "PING '' at=2\nOUT pong ''\nERR -1049 at=4\n" FAIL1002 FAILED_END(4, 8))},
    };
    RUN(cases);
}

/* ---- 5.4: fragmentation ------------------------------------------------ */

static void fragmented_message_is_delivered_in_order(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("RFC 6455 5.7 fragmented 'Hello'", "01 03 48 65 6c 80 02 6c 6f",
              "DATA op=1 first=1 ffin=0 fin=0 len=3 rem=0 'Hel' at=5\n"
              "DATA op=1 first=0 ffin=1 fin=1 len=2 rem=0 'lo' at=9\n"
              "END at=9 left=0 state=open finished=0\n")},
        {CASE("binary with an empty middle fragment", "02 01 01 00 00 80 01 02",
              "DATA op=2 first=1 ffin=0 fin=0 len=1 rem=0 '\\x01' at=3\n"
              "DATA op=2 first=0 ffin=0 fin=0 len=0 rem=0 '' at=5\n"
              "DATA op=2 first=0 ffin=1 fin=1 len=1 rem=0 '\\x02' at=8\n"
              "END at=8 left=0 state=open finished=0\n")},
        {CASE("two messages", "81 01 61 82 01 62",
              "DATA op=1 first=1 ffin=1 fin=1 len=1 rem=0 'a' at=3\n"
              "DATA op=2 first=1 ffin=1 fin=1 len=1 rem=0 'b' at=6\n"
              "END at=6 left=0 state=open finished=0\n")},
        {CASE("empty text message", "81 00",
              "DATA op=1 first=1 ffin=1 fin=1 len=0 rem=0 '' at=2\n"
              "END at=2 left=0 state=open finished=0\n")},
        {CASE("input ends inside a frame", "82 05 01 02",
              "DATA op=2 first=1 ffin=1 fin=0 len=2 rem=3 '\\x01\\x02' at=4\n"
              "END at=4 left=0 state=open finished=0\n")},
    };
    RUN(cases);
}

static void continuation_without_a_message_fails_with_1002(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("final continuation first", "80 01 61",
              "ERR -1045 at=0\n" FAIL1002 FAILED_END(0, 3))},
        {CASE("non-final continuation first", "00 01 61",
              "ERR -1045 at=0\n" FAIL1002 FAILED_END(0, 3))},
        {CASE("continuation after a complete message", "81 01 61 80 01 62",
              "DATA op=1 first=1 ffin=1 fin=1 len=1 rem=0 'a' at=3\n"
              "ERR -1045 at=3\n" FAIL1002 FAILED_END(3, 3))},
    };
    RUN(cases);
}

static void new_data_frame_inside_a_message_fails_with_1002(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("text inside text", "01 01 61 81 01 62",
              "DATA op=1 first=1 ffin=0 fin=0 len=1 rem=0 'a' at=3\n"
              "ERR -1046 at=3\n" FAIL1002 FAILED_END(3, 3))},
        {CASE("binary inside binary", "02 01 61 02 01 62",
              "DATA op=2 first=1 ffin=0 fin=0 len=1 rem=0 'a' at=3\n"
              "ERR -1046 at=3\n" FAIL1002 FAILED_END(3, 3))},
        {CASE("empty binary inside text, after a continuation", "01 01 61 00 01 62 82 00",
              "DATA op=1 first=1 ffin=0 fin=0 len=1 rem=0 'a' at=3\n"
              "DATA op=1 first=0 ffin=0 fin=0 len=1 rem=0 'b' at=6\n"
              "ERR -1046 at=6\n" FAIL1002 FAILED_END(6, 2))},
    };
    RUN(cases);
}

/* ---- 5.5: control frames ----------------------------------------------- */

static void control_frame_over_125_bytes_fails_with_1002(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("ping of 126", "89 7e 00 7e", "ERR -1043 at=1\n" FAIL1002 FAILED_END(1, 129)),
         .fill = 126},
        {CASE("pong with a 64-bit length", "8a 7f 00 00 00 00 00 00 00 7e",
              "ERR -1043 at=1\n" FAIL1002 FAILED_END(1, 9))},
        {CASE("close of 126, header only", "88 7e",
              "ERR -1043 at=1\n" FAIL1002 FAILED_END(1, 1))},
    };
    RUN(cases);
}

static void fragmented_control_frame_fails_with_1002(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("ping without fin", "09 00", "ERR -1044 at=0\n" FAIL1002 FAILED_END(0, 2))},
        {CASE("pong without fin", "0a 01 61",
              "ERR -1044 at=0\n" FAIL1002 FAILED_END(0, 3))},
        {CASE("close without fin", "08 02 03 e8",
              "ERR -1044 at=0\n" FAIL1002 FAILED_END(0, 4))},
        {CASE("between fragments", "01 01 61 09 00",
              "DATA op=1 first=1 ffin=0 fin=0 len=1 rem=0 'a' at=3\n"
              "ERR -1044 at=3\n" FAIL1002 FAILED_END(3, 2))},
    };
    RUN(cases);
}

static void ping_is_answered_with_a_pong_of_the_same_payload(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("ping 'abc'", "89 03 61 62 63",
              "PING 'abc' at=5\nOUT pong 'abc'\nEND at=5 left=0 state=open finished=0\n")},
        {CASE("empty ping", "89 00",
              "PING '' at=2\nOUT pong ''\nEND at=2 left=0 state=open finished=0\n")},
        {CASE("binary payload", "89 04 00 ff 0d 0a",
              "PING '\\x00\\xff\\x0d\\x0a' at=6\nOUT pong '\\x00\\xff\\x0d\\x0a'\n"
              "END at=6 left=0 state=open finished=0\n")},
        {CASE("125-byte ping", "89 7d",
              "PING len=125 #e408f8ea at=127\nOUT pong len=125 #e408f8ea\n"
              "END at=127 left=0 state=open finished=0\n"),
         .fill = 125},
        {CASE("two pings, two pongs", "89 01 31 89 01 32",
              "PING '1' at=3\nOUT pong '1'\nPING '2' at=6\nOUT pong '2'\n"
              "END at=6 left=0 state=open finished=0\n")},
    };
    RUN(cases);
}

static void pong_is_reported_and_not_answered(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("pong 'hi'", "8a 02 68 69",
              "PONG 'hi' at=4\nEND at=4 left=0 state=open finished=0\n")},
        {CASE("empty pong", "8a 00",
              "PONG '' at=2\nEND at=2 left=0 state=open finished=0\n")},
    };
    RUN(cases);
}

static void control_frames_between_fragments_are_delivered_in_order(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("ping between fragments", "01 03 61 62 63 89 01 78 80 02 64 65",
              "DATA op=1 first=1 ffin=0 fin=0 len=3 rem=0 'abc' at=5\n"
              "PING 'x' at=8\n"
              "OUT pong 'x'\n"
              "DATA op=1 first=0 ffin=1 fin=1 len=2 rem=0 'de' at=12\n"
              "END at=12 left=0 state=open finished=0\n")},
        {CASE("pong and ping between fragments", "02 01 01 8a 00 89 00 00 01 02 80 00",
              "DATA op=2 first=1 ffin=0 fin=0 len=1 rem=0 '\\x01' at=3\n"
              "PONG '' at=5\n"
              "PING '' at=7\n"
              "OUT pong ''\n"
              "DATA op=2 first=0 ffin=0 fin=0 len=1 rem=0 '\\x02' at=10\n"
              "DATA op=2 first=0 ffin=1 fin=1 len=0 rem=0 '' at=12\n"
              "END at=12 left=0 state=open finished=0\n")},
        {CASE("close between fragments", "01 01 61 88 02 03 e8",
              "DATA op=1 first=1 ffin=0 fin=0 len=1 rem=0 'a' at=3\n"
              "CLOSE code=1000 '' at=7\n"
              "OUT close 1000\n"
              "ECLOSED at=7\n"
              "END at=7 left=0 state=closed finished=1\n")},
    };
    RUN(cases);
}

/* ---- 5.5.1 and 7.4: close frames --------------------------------------- */

static void close_with_a_one_byte_payload_fails_with_1002(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("one byte", "88 01 03", "ERR -1048 at=1\n" FAIL1002 FAILED_END(1, 2))},
        {CASE("header only", "88 01", "ERR -1048 at=1\n" FAIL1002 FAILED_END(1, 1))},
    };
    RUN(cases);
}

static void invalid_close_codes_fail_with_1002(void **state)
{
    (void)state;
    static const unsigned codes[] = {0,    999,  1004, 1005, 1006,
                                     1015, 1016, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char hex[64], name[32];
        snprintf(name, sizeof(name), "code %u", codes[i]);
        /* The error points at the byte that completes the code. */
        snprintf(hex, sizeof(hex), "88 02 %02x %02x", codes[i] >> 8, codes[i] & 0xff);
        struct sess_case c = {
            CASE(name, hex, "ERR -1047 at=3\n" FAIL1002 FAILED_END(3, 1))};
        run_cases(&c, 1);
        snprintf(hex, sizeof(hex), "88 05 %02x %02x 62 79 65", codes[i] >> 8,
                 codes[i] & 0xff);
        struct sess_case r = {
            CASE(name, hex, "ERR -1047 at=3\n" FAIL1002 FAILED_END(3, 4))};
        run_cases(&r, 1);
    }
}

static void valid_close_codes_are_echoed_with_the_same_code(void **state)
{
    (void)state;
    static const unsigned codes[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                     1011, 1012, 1013, 1014, 3000, 4000, 4999};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char hex[64], name[32], expect[256];
        snprintf(name, sizeof(name), "code %u", codes[i]);
        snprintf(hex, sizeof(hex), "88 02 %02x %02x", codes[i] >> 8, codes[i] & 0xff);
        snprintf(expect, sizeof(expect),
                 "CLOSE code=%u '' at=4\nOUT close %u\nECLOSED at=4\n"
                 "END at=4 left=0 state=closed finished=1\n",
                 codes[i], codes[i]);
        struct sess_case c = {CASE(name, hex, expect)};
        run_cases(&c, 1);
    }
    /* The reason is reported; the echo carries the code only. */
    static const struct sess_case cases[] = {
        {CASE("code and reason", "88 05 03 e8 62 79 65",
              "CLOSE code=1000 'bye' at=7\nOUT close 1000\nECLOSED at=7\n"
              "END at=7 left=0 state=closed finished=1\n")},
        {CASE("UTF-8 reason", "88 08 0f a0 c3 a9 e2 82 ac 21",
              "CLOSE code=4000 '\\xc3\\xa9\\xe2\\x82\\xac!' at=10\nOUT close 4000\nECLOSED "
              "at=10\n"
              "END at=10 left=0 state=closed finished=1\n")},
        {CASE("123-byte reason", "88 7d 03 e9",
              "CLOSE code=1001 len=123 #35b5bb75 at=127\nOUT close 1001\nECLOSED at=127\n"
              "END at=127 left=0 state=closed finished=1\n"),
         .fill = 123, .fill_byte = 'r'},
    };
    RUN(cases);
}

static void empty_close_is_echoed_with_an_empty_payload(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("empty close", "88 00",
              "CLOSE code=1005 '' at=2\nOUT close (empty)\nECLOSED at=2\n"
              "END at=2 left=0 state=closed finished=1\n")},
    };
    RUN(cases);
}

static void close_reason_with_invalid_utf8_fails_with_1007(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("invalid byte", "88 04 03 e8 ff 61",
              "ERR -1050 at=4\nOUT close 1007 +reason\n" FAILED_END(4, 2))},
        {CASE("surrogate", "88 06 03 e8 61 ed a0 80",
              "ERR -1050 at=6\nOUT close 1007 +reason\n" FAILED_END(6, 2))},
        {CASE("truncated character at the end", "88 04 03 e8 61 e2",
              "ERR -1050 at=5\nOUT close 1007 +reason\n" FAILED_END(5, 1))},
    };
    RUN(cases);
}

static void data_after_the_peer_close_is_not_consumed(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("text after close", "88 02 03 e8 81 02 68 69",
              "CLOSE code=1000 '' at=4\nOUT close 1000\nECLOSED at=4\n"
              "END at=4 left=4 state=closed finished=1\n")},
        {CASE("garbage after close", "88 00 ff ff ff",
              "CLOSE code=1005 '' at=2\nOUT close (empty)\nECLOSED at=2\n"
              "END at=2 left=3 state=closed finished=1\n")},
        {CASE("a second close", "88 00 88 00",
              "CLOSE code=1005 '' at=2\nOUT close (empty)\nECLOSED at=2\n"
              "END at=2 left=2 state=closed finished=1\n")},
    };
    RUN(cases);
}

/* ---- 8.1: UTF-8 in text messages --------------------------------------- */

static void valid_utf8_text_is_delivered(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("greek", "81 0b ce ba e1 bd b9 cf 83 ce bc ce b5",
              "DATA op=1 first=1 ffin=1 fin=1 len=11 rem=0 "
              "'\\xce\\xba\\xe1\\xbd\\xb9\\xcf\\x83\\xce\\xbc\\xce\\xb5' at=13\n"
              "END at=13 left=0 state=open finished=0\n")},
        {CASE("four-byte character", "81 04 f0 9f 98 80",
              "DATA op=1 first=1 ffin=1 fin=1 len=4 rem=0 '\\xf0\\x9f\\x98\\x80' at=6\n"
              "END at=6 left=0 state=open finished=0\n")},
        {CASE("binary is not checked", "82 03 ff c0 e2",
              "DATA op=2 first=1 ffin=1 fin=1 len=3 rem=0 '\\xff\\xc0\\xe2' at=5\n"
              "END at=5 left=0 state=open finished=0\n")},
    };
    RUN(cases);
}

static void invalid_utf8_fails_with_1007_after_the_valid_bytes(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("bad byte in the middle", "81 07 68 65 6c ff 6c 6f 21",
              "DATA op=1 first=1 ffin=1 fin=0 len=3 rem=4 'hel' at=5\n"
              "ERR -1050 at=5\nOUT close 1007 +reason\n" FAILED_END(5, 4))},
        {CASE("bad first byte", "81 02 ff 61",
              "ERR -1050 at=2\nOUT close 1007 +reason\n" FAILED_END(2, 2))},
        {CASE("overlong", "81 03 61 c0 80",
              "DATA op=1 first=1 ffin=1 fin=0 len=1 rem=2 'a' at=3\n"
              "ERR -1050 at=3\nOUT close 1007 +reason\n" FAILED_END(3, 2))},
        {CASE("surrogate", "81 04 61 ed a0 80",
              "DATA op=1 first=1 ffin=1 fin=0 len=2 rem=2 'a\\xed' at=4\n"
              "ERR -1050 at=4\nOUT close 1007 +reason\n" FAILED_END(4, 2))},
        {CASE("above U+10FFFF", "81 05 61 f4 90 80 80",
              "DATA op=1 first=1 ffin=1 fin=0 len=2 rem=3 'a\\xf4' at=4\n"
              "ERR -1050 at=4\nOUT close 1007 +reason\n" FAILED_END(4, 3))},
        {CASE("bad byte in the last position", "81 03 61 62 80",
              "DATA op=1 first=1 ffin=1 fin=0 len=2 rem=1 'ab' at=4\n"
              "ERR -1050 at=4\nOUT close 1007 +reason\n" FAILED_END(4, 1))},
        {CASE("in a later fragment", "01 02 68 69 80 03 61 c0 62",
              "DATA op=1 first=1 ffin=0 fin=0 len=2 rem=0 'hi' at=4\n"
              "DATA op=1 first=0 ffin=1 fin=0 len=1 rem=2 'a' at=7\n"
              "ERR -1050 at=7\nOUT close 1007 +reason\n" FAILED_END(7, 2))},
        {CASE("at the start of a later fragment", "01 02 68 e2 80 02 28 61",
              "DATA op=1 first=1 ffin=0 fin=0 len=2 rem=0 'h\\xe2' at=4\n"
              "ERR -1050 at=6\nOUT close 1007 +reason\n" FAILED_END(6, 2))},
    };
    RUN(cases);
}

static void utf8_character_split_across_fragments_is_valid(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("euro sign over two fragments", "01 02 61 e2 80 02 82 ac",
              "DATA op=1 first=1 ffin=0 fin=0 len=2 rem=0 'a\\xe2' at=4\n"
              "DATA op=1 first=0 ffin=1 fin=1 len=2 rem=0 '\\x82\\xac' at=8\n"
              "END at=8 left=0 state=open finished=0\n")},
        {CASE("four bytes over three fragments with a ping",
              "01 01 f0 89 00 00 02 9f 98 80 01 80",
              "DATA op=1 first=1 ffin=0 fin=0 len=1 rem=0 '\\xf0' at=3\n"
              "PING '' at=5\nOUT pong ''\n"
              "DATA op=1 first=0 ffin=0 fin=0 len=2 rem=0 '\\x9f\\x98' at=9\n"
              "DATA op=1 first=0 ffin=1 fin=1 len=1 rem=0 '\\x80' at=12\n"
              "END at=12 left=0 state=open finished=0\n")},
    };
    RUN(cases);
}

static void truncated_character_at_message_end_fails_with_1007(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("two of three bytes", "81 03 61 e2 82",
              "DATA op=1 first=1 ffin=1 fin=0 len=2 rem=1 'a\\xe2' at=4\n"
              "ERR -1050 at=4\nOUT close 1007 +reason\n" FAILED_END(4, 1))},
        {CASE("lead byte only", "81 01 e2",
              "ERR -1050 at=2\nOUT close 1007 +reason\n" FAILED_END(2, 1))},
        {CASE("final fragment empty", "01 02 61 e2 80 00",
              "DATA op=1 first=1 ffin=0 fin=0 len=2 rem=0 'a\\xe2' at=4\n"
              "ERR -1050 at=6\nOUT close 1007 +reason\n" FAILED_END(6, 0))},
    };
    RUN(cases);
}

/* ---- limits ------------------------------------------------------------ */

static void message_over_max_message_fails_with_1009_at_the_header(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("7-bit length, no payload sent", "82 0b",
              "ERR -1051 at=1\nOUT close 1009 +reason\n" FAILED_END(1, 1)),
         .max_message = 10},
        {CASE("16-bit length", "81 7e 01 00 61 62",
              "ERR -1051 at=3\nOUT close 1009 +reason\n" FAILED_END(3, 3)),
         .max_message = 100},
        {CASE("64-bit length", "82 7f 00 00 00 01 00 00 00 00",
              "ERR -1051 at=9\nOUT close 1009 +reason\n" FAILED_END(9, 1)),
         .max_message = 1000},
        {CASE("over the limit across fragments",
              "02 06 01 02 03 04 05 06 00 05 07 08 09 0a 0b",
              "DATA op=2 first=1 ffin=0 fin=0 len=6 rem=0 '\\x01\\x02\\x03\\x04\\x05\\x06' "
              "at=8\n"
              "ERR -1051 at=9\nOUT close 1009 +reason\n" FAILED_END(9, 6)),
         .max_message = 10},
        {CASE("exactly at the limit", "82 0a 00 01 02 03 04 05 06 07 08 09",
              "DATA op=2 first=1 ffin=1 fin=1 len=10 rem=0 "
              "'\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\x09' at=12\n"
              "END at=12 left=0 state=open finished=0\n"),
         .max_message = 10},
        {CASE("at the limit across fragments, control frames not counted",
              "01 05 61 62 63 64 65 89 03 31 32 33 80 05 66 67 68 69 6a 81 0a 61 61 61 61 "
              "61 61 61 61 61 61",
              "DATA op=1 first=1 ffin=0 fin=0 len=5 rem=0 'abcde' at=7\n"
              "PING '123' at=12\nOUT pong '123'\n"
              "DATA op=1 first=0 ffin=1 fin=1 len=5 rem=0 'fghij' at=19\n"
              "DATA op=1 first=1 ffin=1 fin=1 len=10 rem=0 'aaaaaaaaaa' at=31\n"
              "END at=31 left=0 state=open finished=0\n"),
         .max_message = 10},
    };
    RUN(cases);
}

/* ---- RFC 7692 6: RSV1 with permessage-deflate ---------------------------- */

#define FAIL1009 "OUT close 1009 +reason\n"
#define PMD(...) __VA_ARGS__, .pmd = true

static void rsv1_starts_a_compressed_message_passed_on_unchecked(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        /* 7.2.3.1: "Hello" compressed; not UTF-8 as it stands, and not checked. */
        {PMD(CASE("compressed text", "c1 07 f2 48 cd c9 c9 07 00",
                  "DATA op=1 first=1 ffin=1 fin=1 len=7 rem=0 z=1 "
                  "'\\xf2H\\xcd\\xc9\\xc9\\x07\\x00' at=9\n"
                  "END at=9 left=0 state=open finished=0\n"))},
        /* 7.2.3.1's fragmented example: RSV1 on the first frame only. */
        {PMD(CASE("compressed text in two frames", "41 03 f2 48 cd 80 04 c9 c9 07 00",
                  "DATA op=1 first=1 ffin=0 fin=0 len=3 rem=0 z=1 '\\xf2H\\xcd' at=5\n"
                  "DATA op=1 first=0 ffin=1 fin=1 len=4 rem=0 z=1 '\\xc9\\xc9\\x07\\x00' "
                  "at=11\n"
                  "END at=11 left=0 state=open finished=0\n"))},
        {PMD(CASE("compressed binary, empty", "c2 00",
                  "DATA op=2 first=1 ffin=1 fin=1 len=0 rem=0 z=1 '' at=2\n"
                  "END at=2 left=0 state=open finished=0\n"))},
        {PMD(CASE("compressed, then a plain message", "c1 01 00 81 02 68 69",
                  "DATA op=1 first=1 ffin=1 fin=1 len=1 rem=0 z=1 '\\x00' at=3\n"
                  "DATA op=1 first=1 ffin=1 fin=1 len=2 rem=0 'hi' at=7\n"
                  "END at=7 left=0 state=open finished=0\n"))},
        {PMD(CASE("a ping between compressed fragments", "41 01 f2 89 01 70 80 01 00",
                  "DATA op=1 first=1 ffin=0 fin=0 len=1 rem=0 z=1 '\\xf2' at=3\n"
                  "PING 'p' at=6\nOUT pong 'p'\n"
                  "DATA op=1 first=0 ffin=1 fin=1 len=1 rem=0 z=1 '\\x00' at=9\n"
                  "END at=9 left=0 state=open finished=0\n"))},
        /* Plain text is still checked when deflate is agreed. */
        {PMD(CASE("plain text with a bad byte", "81 02 61 ff",
                  "DATA op=1 first=1 ffin=1 fin=0 len=1 rem=1 'a' at=3\n"
                  "ERR -1050 at=3\nOUT close 1007 +reason\n" FAILED_END(3, 1)))},
        /* 5.4's rules come after RSV1's: a new message inside one. */
        {PMD(CASE("compressed text inside a message", "01 01 61 c1 01 62",
                  "DATA op=1 first=1 ffin=0 fin=0 len=1 rem=0 'a' at=3\n"
                  "ERR -1046 at=3\n" FAIL1002 FAILED_END(3, 3)))},
    };
    RUN(cases);
}

static void rsv1_on_a_continuation_or_control_frame_fails_with_1002(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {PMD(CASE("rsv1 on a continuation", "41 01 00 c0 01 00",
                  "DATA op=1 first=1 ffin=0 fin=0 len=1 rem=0 z=1 '\\x00' at=3\n"
                  "ERR -1041 at=3\n" FAIL1002 FAILED_END(3, 3)))},
        {PMD(CASE("rsv1 on a plain message's continuation", "02 01 00 c0 00",
                  "DATA op=2 first=1 ffin=0 fin=0 len=1 rem=0 '\\x00' at=3\n"
                  "ERR -1041 at=3\n" FAIL1002 FAILED_END(3, 2)))},
        {PMD(CASE("rsv1 ping", "c9 00", "ERR -1041 at=0\n" FAIL1002 FAILED_END(0, 2)))},
        {PMD(CASE("rsv1 pong", "ca 01 61", "ERR -1041 at=0\n" FAIL1002 FAILED_END(0, 3)))},
        {PMD(CASE("rsv1 close", "c8 02 03 e8",
                  "ERR -1041 at=0\n" FAIL1002 FAILED_END(0, 4)))},
        {PMD(CASE("rsv1 ping between compressed fragments", "41 01 00 c9 00",
                  "DATA op=1 first=1 ffin=0 fin=0 len=1 rem=0 z=1 '\\x00' at=3\n"
                  "ERR -1041 at=3\n" FAIL1002 FAILED_END(3, 2)))},
        {PMD(CASE("rsv2", "a1 00", "ERR -1041 at=0\n" FAIL1002 FAILED_END(0, 2)))},
        {PMD(CASE("rsv3", "92 00", "ERR -1041 at=0\n" FAIL1002 FAILED_END(0, 2)))},
        {PMD(CASE("rsv1 and rsv2", "e1 00", "ERR -1041 at=0\n" FAIL1002 FAILED_END(0, 2)))},
        {PMD(CASE("rsv1 with a reserved opcode", "c3 00",
                  "ERR -1042 at=0\n" FAIL1002 FAILED_END(0, 2)))},
        {PMD(CASE("rsv1 on a continuation with nothing to continue", "c0 00",
                  "ERR -1041 at=0\n" FAIL1002 FAILED_END(0, 2)))},
    };
    RUN(cases);
}

/* wsc_pmd_wire_limit(100) = 100 + 12 + 1 + 64 = 177 compressed bytes. */
static void compressed_message_is_limited_by_the_wire_limit_at_the_header(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {PMD(CASE("177 compressed bytes", "c2 7e 00 b1",
                  "DATA op=2 first=1 ffin=1 fin=1 len=177 rem=0 z=1 len=177 #b5583d62 "
                  "at=181\nEND at=181 left=0 state=open finished=0\n")),
         .fill = 177, .max_message = 100},
        {PMD(CASE("178 compressed bytes", "c2 7e 00 b2",
                  "ERR -1051 at=3\n" FAIL1009 FAILED_END(3, 179))),
         .fill = 178, .max_message = 100},
        {PMD(CASE("177 in two frames", "42 02 00 00 80 7e 00 af",
                  "DATA op=2 first=1 ffin=0 fin=0 len=2 rem=0 z=1 '\\x00\\x00' at=4\n"
                  "DATA op=2 first=0 ffin=1 fin=1 len=175 rem=0 z=1 len=175 #4b36ea4b "
                  "at=183\nEND at=183 left=0 state=open finished=0\n")),
         .fill = 175, .max_message = 100},
        {PMD(CASE("178 in two frames", "42 02 00 00 80 7e 00 b0",
                  "DATA op=2 first=1 ffin=0 fin=0 len=2 rem=0 z=1 '\\x00\\x00' at=4\n"
                  "ERR -1051 at=7\n" FAIL1009 FAILED_END(7, 177))),
         .fill = 176, .max_message = 100},
        /* The plain limit is unchanged by the extension. */
        {PMD(CASE("101 plain bytes", "82 65",
                  "ERR -1051 at=1\n" FAIL1009 FAILED_END(1, 102))),
         .fill = 101, .max_message = 100},
    };
    RUN(cases);
}

static void small_len_limits_the_data_chunk_size(void **state)
{
    (void)state;
    static const struct sess_case cases[] = {
        {CASE("3 bytes per call", "81 0a 30 31 32 33 34 35 36 37 38 39 89 01 7a",
              "DATA op=1 first=1 ffin=1 fin=1 len=10 rem=0 '0123456789' at=12\n"
              "PING 'z' at=15\nOUT pong 'z'\n"
              "END at=15 left=0 state=open finished=0\n"),
         .limit = 3},
        {CASE("1 byte per call, invalid UTF-8", "81 05 61 62 ff 63 64",
              "DATA op=1 first=1 ffin=1 fin=0 len=2 rem=3 'ab' at=4\n"
              "ERR -1050 at=4\nOUT close 1007 +reason\n" FAILED_END(4, 3)),
         .limit = 1},
    };
    RUN(cases);
}

/* ---- non-table tests: sessions driven by hand --------------------------- */

struct fixture {
    struct wsc_session s;
    uint8_t *out;
    uint32_t ctr;
    uint8_t key[4];
    uint8_t *sent; /* everything taken from pending_output so far */
    size_t sent_len, sent_cap;
};

static void fixture_init(struct fixture *f, size_t out_cap, const uint8_t *key,
                         uint64_t max_message)
{
    memset(f, 0, sizeof(*f));
    f->out = malloc(out_cap);
    assert_non_null(f->out);
    struct wsc_session_config cfg = {.max_message = max_message,
                                     .out_buf = f->out,
                                     .out_cap = out_cap,
                                     .random = key ? fixed_random : counting_random,
                                     .random_user = key ? (void *)f->key : (void *)&f->ctr};
    if (key)
        memcpy(f->key, key, 4);
    f->ctr = 1;
    assert_int_equal(wsc_session_init(&f->s, &cfg), 0);
}

/* Takes up to @p max bytes of pending output into f->sent; returns how many. */
static size_t take_output(struct fixture *f, size_t max)
{
    const uint8_t *p;
    size_t n = wsc_session_pending_output(&f->s, &p);
    if (n > max)
        n = max;
    if (n == 0)
        return 0;
    if (f->sent_len + n > f->sent_cap) {
        f->sent_cap = (f->sent_len + n) * 2 + 64;
        f->sent = realloc(f->sent, f->sent_cap);
        assert_non_null(f->sent);
    }
    memcpy(f->sent + f->sent_len, p, n);
    f->sent_len += n;
    wsc_session_output_sent(&f->s, n);
    return n;
}

static void fixture_free(struct fixture *f)
{
    free(f->out);
    free(f->sent);
}

/* Feeds a whole hex string; expects exactly one event consuming all of it. */
static struct wsc_event feed_one(struct fixture *f, const char *hex, int want_rc)
{
    size_t n, used;
    uint8_t *in = wsc_test_hex(hex, &n);
    struct wsc_event ev;
    memset(&ev, 0, sizeof(ev));
    int rc = wsc_session_next(&f->s, in, n, &used, &ev);
    assert_int_equal(rc, want_rc);
    if (rc == 0)
        assert_int_equal(used, n);
    free(in);
    return ev;
}

/* The log of every frame sent so far (see log_output). */
static void expect_sent(struct fixture *f, const char *want)
{
    static struct wsc_test_log log;
    log.len = 0;
    log.text[0] = '\0';
    log_output(&log, f->sent, f->sent_len);
    if (strcmp(log.text, want) != 0) {
        print_error("sent:\n%s\nexpected:\n%s\n", log.text, want);
        fail();
    }
}

static void expect_sent_hex(struct fixture *f, const char *hex)
{
    size_t n;
    uint8_t *want = wsc_test_hex(hex, &n);
    assert_int_equal(f->sent_len, n);
    assert_memory_equal(f->sent, want, n);
    free(want);
}

static void write_all(struct fixture *f, const void *data, size_t len)
{
    size_t acc;
    assert_int_equal(wsc_session_write(&f->s, data, len, &acc), 0);
    assert_int_equal(acc, len);
}

static const uint8_t RFC_KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

static void sending_masks_with_the_injected_key_byte_exact(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, OUT_CAP, RFC_KEY, 0);
    /* RFC 6455 5.7: a single-frame masked text message containing "Hello". */
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_TEXT, true, 5), 0);
    assert_int_equal(wsc_session_write_remaining(&f.s), 5);
    write_all(&f, "Hello", 5);
    assert_int_equal(wsc_session_write_remaining(&f.s), 0);
    take_output(&f, SIZE_MAX);
    expect_sent_hex(&f, "81 85 37 fa 21 3d 7f 9f 4d 51 58");

    /* The same in pieces: the key offset carries over between writes. */
    f.sent_len = 0;
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_TEXT, true, 5), 0);
    write_all(&f, "H", 1);
    write_all(&f, "el", 2);
    take_output(&f, SIZE_MAX); /* drained mid-frame */
    write_all(&f, "lo", 2);
    take_output(&f, SIZE_MAX);
    expect_sent_hex(&f, "81 85 37 fa 21 3d 7f 9f 4d 51 58");

    /* Empty frames, a ping, and the 16-bit length form. */
    f.sent_len = 0;
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_BINARY, true, 0), 0);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_PING, true, 2), 0);
    write_all(&f, "\x00\xff", 2);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_BINARY, true, 126), 0);
    uint8_t zeros[126] = {0};
    write_all(&f, zeros, 126);
    take_output(&f, SIZE_MAX);
    assert_int_equal(f.sent_len, 6 + 8 + 8 + 126);
    size_t n;
    uint8_t *want = wsc_test_hex("82 80 37 fa 21 3d"
                                 "89 82 37 fa 21 3d 37 05"
                                 "82 fe 00 7e 37 fa 21 3d",
                                 &n);
    assert_int_equal(n, 22);
    assert_memory_equal(f.sent, want, n);
    free(want);
    /* Zeros masked are the key, repeated. */
    for (size_t i = 0; i < 126; i++)
        assert_int_equal(f.sent[22 + i], RFC_KEY[i % 4]);

    /* wsc_session_ping and wsc_session_close go out masked with the key too. */
    f.sent_len = 0;
    assert_int_equal(wsc_session_ping(&f.s, "hi", 2), 0);
    take_output(&f, SIZE_MAX);
    expect_sent_hex(&f, "89 82 37 fa 21 3d 5f 93");
    f.sent_len = 0;
    assert_int_equal(wsc_session_close(&f.s, 1000, "bye", 3), 0);
    take_output(&f, SIZE_MAX);
    expect_sent_hex(&f, "88 85 37 fa 21 3d 34 12 43 44 52");
    fixture_free(&f);
}

static void sixty_four_bit_send_header_is_minimal_and_masked(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, OUT_CAP, RFC_KEY, 0);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_BINARY, true, 65536), 0);
    write_all(&f, "\x01\x02", 2);
    take_output(&f, SIZE_MAX);
    expect_sent_hex(&f, "82 ff 00 00 00 00 00 01 00 00 37 fa 21 3d 36 f8");
    assert_int_equal(wsc_session_write_remaining(&f.s), 65534);
    fixture_free(&f);
}

static void fragmented_send_follows_the_sequence_rules(void **state)
{
    (void)state;
    struct fixture f;
    size_t acc;
    fixture_init(&f, OUT_CAP, NULL, 0);
    /* No message open: a continuation is a caller mistake. */
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_CONTINUATION, true, 1),
                     WSC_EINVAL);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_CONTINUATION, false, 1),
                     WSC_EINVAL);
    /* Bad opcodes and control frame shapes. */
    assert_int_equal(wsc_session_frame_begin(&f.s, 3, true, 1), WSC_EINVAL);
    assert_int_equal(wsc_session_frame_begin(&f.s, 0xb, true, 1), WSC_EINVAL);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_PING, false, 1), WSC_EINVAL);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_PONG, true, 126), WSC_EINVAL);
    /* No frame: nothing to write. */
    assert_int_equal(wsc_session_write(&f.s, "x", 1, &acc), WSC_EINVAL);
    assert_int_equal(acc, 0);

    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_TEXT, false, 3), 0);
    /* A frame in progress: nothing else may start, and no overrun. */
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_PING, true, 0), WSC_EINVAL);
    assert_int_equal(wsc_session_write(&f.s, "abcd", 4, &acc), WSC_EINVAL);
    write_all(&f, "abc", 3);
    /* The message is open: a new one may not start, control frames may. */
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_TEXT, true, 1), WSC_EINVAL);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_BINARY, false, 1), WSC_EINVAL);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_PONG, true, 1), 0);
    write_all(&f, "p", 1);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_CONTINUATION, false, 2), 0);
    write_all(&f, "de", 2);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_CONTINUATION, true, 1), 0);
    write_all(&f, "f", 1);
    /* Finished: another continuation is a mistake, a new message is fine. */
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_CONTINUATION, true, 1),
                     WSC_EINVAL);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_BINARY, true, 1), 0);
    write_all(&f, "\x07", 1);
    take_output(&f, SIZE_MAX);
    /* Output frames: TEXT fin=0, PONG, CONT fin=0, CONT fin=1, BINARY. */
    static const uint8_t first_bytes[] = {0x01, 0x8a, 0x00, 0x80, 0x82};
    size_t pos = 0;
    for (size_t i = 0; i < sizeof(first_bytes); i++) {
        struct out_frame of;
        assert_true(parse_out_frame(f.sent + pos, f.sent_len - pos, &of));
        assert_int_equal(f.sent[pos], first_bytes[i]);
        assert_true(of.masked);
        pos += of.size + (size_t)of.len;
    }
    assert_int_equal(pos, f.sent_len);
    expect_sent(&f, "OUT text 'abc'\nOUT pong 'p'\nOUT cont 'de'\nOUT cont 'f'\n"
                    "OUT binary '\\x07'\n");
    fixture_free(&f);
}

static void write_larger_than_the_output_buffer_continues_after_output_sent(void **state)
{
    (void)state;
    struct fixture f;
    enum { LEN = 1000 };
    uint8_t payload[LEN];
    for (size_t i = 0; i < LEN; i++)
        payload[i] = (uint8_t)(i * 11 + 5);
    fixture_init(&f, OUT_CAP, RFC_KEY, 0);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_BINARY, true, LEN), 0);
    size_t done = 0, acc, rounds = 0;
    assert_int_equal(wsc_session_write(&f.s, payload, LEN, &acc), 0);
    assert_int_equal(acc, OUT_CAP - 8); /* what fits after the 8-byte header */
    done += acc;
    /* Full: nothing more is accepted until some output is sent. */
    assert_int_equal(wsc_session_write(&f.s, payload + done, LEN - done, &acc), 0);
    assert_int_equal(acc, 0);
    while (done < LEN) {
        /* Send odd amounts so the buffer wraps and compacts at odd places. */
        take_output(&f, 37 + rounds * 13);
        assert_int_equal(wsc_session_write(&f.s, payload + done, LEN - done, &acc), 0);
        done += acc;
        assert_int_equal(wsc_session_write_remaining(&f.s), LEN - done);
        assert_true(++rounds < 1000);
    }
    take_output(&f, SIZE_MAX);
    assert_int_equal(f.sent_len, 8 + LEN);
    struct out_frame of;
    assert_true(parse_out_frame(f.sent, f.sent_len, &of));
    assert_int_equal(of.len, LEN);
    assert_memory_equal(of.key, RFC_KEY, 4);
    for (size_t i = 0; i < LEN; i++)
        assert_int_equal(f.sent[8 + i] ^ RFC_KEY[i % 4], payload[i]);
    fixture_free(&f);
}

static void frame_begin_without_room_for_a_header_returns_eagain(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, OUT_CAP, NULL, 0);
    /* Leave 4 bytes: a header needs up to 14. */
    size_t len = OUT_CAP - 4 - 8;
    uint8_t *payload = calloc(1, len);
    assert_non_null(payload);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_BINARY, true, len), 0);
    write_all(&f, payload, len);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_BINARY, true, 1), WSC_EAGAIN);
    /* A pong owed also waits for room and keeps its place before new frames. */
    feed_one(&f, "89 01 71", 0);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_BINARY, true, 1), WSC_EAGAIN);
    take_output(&f, SIZE_MAX);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_BINARY, true, 1), 0);
    write_all(&f, "z", 1);
    take_output(&f, SIZE_MAX);
    expect_sent(&f, "OUT binary fin=1 len=244\nOUT pong 'q'\nOUT binary 'z'\n");
    free(payload);
    fixture_free(&f);
}

/* RFC 6455 5.4: a control frame may come between the frames of a message,
 * never inside a frame. The pong waits until the frame being sent is done. */
static void pong_is_not_inserted_inside_an_outgoing_frame(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, OUT_CAP, NULL, 0);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_BINARY, true, 10), 0);
    write_all(&f, "0123", 4);
    take_output(&f, SIZE_MAX);
    struct wsc_event ev = feed_one(&f, "89 02 68 69", 0);
    assert_int_equal(ev.type, WSC_EV_PING);
    assert_int_equal(ev.len, 2);
    assert_memory_equal(ev.data, "hi", 2);
    /* Nothing may go out now: we are inside the frame. */
    assert_int_equal(take_output(&f, SIZE_MAX), 0);
    write_all(&f, "45", 2);
    take_output(&f, SIZE_MAX);
    /* A ping we queue ourselves waits as well. */
    assert_int_equal(wsc_session_ping(&f.s, "me", 2), 0);
    assert_int_equal(take_output(&f, SIZE_MAX), 0);
    write_all(&f, "6789", 4);
    take_output(&f, SIZE_MAX);
    expect_sent(&f, "OUT binary '0123456789'\nOUT pong 'hi'\nOUT ping 'me'\n");
    fixture_free(&f);
}

static void pong_goes_between_the_frames_of_an_outgoing_message(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, OUT_CAP, NULL, 0);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_TEXT, false, 3), 0);
    write_all(&f, "abc", 3);
    feed_one(&f, "89 01 21", 0);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_CONTINUATION, true, 2), 0);
    write_all(&f, "de", 2);
    take_output(&f, SIZE_MAX);
    expect_sent(&f, "OUT text 'abc'\nOUT pong '!'\nOUT cont 'de'\n");
    fixture_free(&f);
}

/* RFC 6455 7.1.2-7.1.4: we close, the peer answers, the session is done. */
static void local_close_then_peer_close_finishes(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, OUT_CAP, NULL, 0);
    assert_int_equal(wsc_session_close(&f.s, 1001, "going", 5), 0);
    assert_int_equal(wsc_session_state(&f.s), WSC_SESSION_CLOSE_SENT);
    assert_false(wsc_session_finished(&f.s));
    take_output(&f, SIZE_MAX);
    expect_sent(&f, "OUT close 1001 +reason\n");
    /* Data still arrives until the peer's close. */
    struct wsc_event ev = feed_one(&f, "81 02 68 69", 0);
    assert_int_equal(ev.type, WSC_EV_DATA);
    assert_false(wsc_session_finished(&f.s));
    ev = feed_one(&f, "88 02 03 e9", 0);
    assert_int_equal(ev.type, WSC_EV_CLOSE);
    assert_int_equal(ev.close_code, 1001);
    assert_int_equal(wsc_session_state(&f.s), WSC_SESSION_CLOSED);
    /* No second close frame. */
    assert_int_equal(take_output(&f, SIZE_MAX), 0);
    expect_sent(&f, "OUT close 1001 +reason\n");
    assert_true(wsc_session_finished(&f.s));
    size_t used = 9;
    assert_int_equal(wsc_session_next(&f.s, (const uint8_t *)"\x81\x00", 2, &used, &ev),
                     WSC_ECLOSED);
    assert_int_equal(used, 0);
    fixture_free(&f);
}

/* RFC 6455 5.5.2: a ping is answered unless a close was *received*; having sent
 * ours is no reason to leave the peer's ping unanswered. */
static void ping_after_our_close_is_still_answered(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, OUT_CAP, NULL, 0);
    assert_int_equal(wsc_session_close(&f.s, 1000, NULL, 0), 0);
    take_output(&f, SIZE_MAX);
    struct wsc_event ev = feed_one(&f, "89 02 68 69", 0);
    assert_int_equal(ev.type, WSC_EV_PING);
    take_output(&f, SIZE_MAX);
    expect_sent(&f, "OUT close 1000\nOUT pong 'hi'\n");
    /* After the peer's close, nothing more is sent. */
    ev = feed_one(&f, "88 02 03 e8", 0);
    assert_int_equal(ev.type, WSC_EV_CLOSE);
    assert_int_equal(take_output(&f, SIZE_MAX), 0);
    fixture_free(&f);
}

static void peer_close_before_ours_went_out_sends_one_close(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, OUT_CAP, NULL, 0);
    assert_int_equal(wsc_session_close(&f.s, 1000, NULL, 0), 0);
    struct wsc_event ev = feed_one(&f, "88 02 03 e8", 0);
    assert_int_equal(ev.type, WSC_EV_CLOSE);
    assert_false(wsc_session_finished(&f.s)); /* ours is still queued */
    take_output(&f, SIZE_MAX);
    expect_sent(&f, "OUT close 1000\n");
    assert_true(wsc_session_finished(&f.s));
    fixture_free(&f);
}

static void peer_close_while_sending_a_frame_is_echoed_after_it(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, OUT_CAP, NULL, 0);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_BINARY, true, 3), 0);
    write_all(&f, "x", 1);
    struct wsc_event ev = feed_one(&f, "88 04 0b b8 6f 6b", 0);
    assert_int_equal(ev.type, WSC_EV_CLOSE);
    assert_int_equal(ev.close_code, 3000);
    assert_int_equal(ev.len, 2);
    assert_memory_equal(ev.data, "ok", 2);
    take_output(&f, SIZE_MAX);
    assert_false(wsc_session_finished(&f.s));
    /* Nothing new may start, but the frame in progress is finished. */
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_BINARY, true, 1), WSC_ENOTCONN);
    write_all(&f, "yz", 2);
    take_output(&f, SIZE_MAX);
    expect_sent(&f, "OUT binary 'xyz'\nOUT close 3000\n");
    assert_true(wsc_session_finished(&f.s));
    fixture_free(&f);
}

static void sending_after_close_fails_with_enotconn(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, OUT_CAP, NULL, 0);
    assert_int_equal(wsc_session_close(&f.s, 1000, NULL, 0), 0);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_TEXT, true, 1), WSC_ENOTCONN);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_PING, true, 0), WSC_ENOTCONN);
    assert_int_equal(wsc_session_ping(&f.s, "x", 1), WSC_ENOTCONN);
    assert_int_equal(wsc_session_close(&f.s, 1000, NULL, 0), WSC_ENOTCONN);
    take_output(&f, SIZE_MAX);
    expect_sent(&f, "OUT close 1000\n");
    fixture_free(&f);

    /* After the peer's close. */
    fixture_init(&f, OUT_CAP, NULL, 0);
    feed_one(&f, "88 00", 0);
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_BINARY, true, 1), WSC_ENOTCONN);
    assert_int_equal(wsc_session_ping(&f.s, NULL, 0), WSC_ENOTCONN);
    assert_int_equal(wsc_session_close(&f.s, 1000, NULL, 0), WSC_ENOTCONN);
    take_output(&f, SIZE_MAX);
    expect_sent(&f, "OUT close (empty)\n");
    fixture_free(&f);
}

static void failed_session_is_sticky_and_refuses_to_send(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, OUT_CAP, NULL, 0);
    feed_one(&f, "81 81 00 00 00 00 61", WSC_EMASKED);
    assert_int_equal(wsc_session_state(&f.s), WSC_SESSION_FAILED);
    assert_int_equal(wsc_session_error(&f.s), WSC_EMASKED);
    for (int i = 0; i < 3; i++) {
        struct wsc_event ev;
        size_t used = 5;
        assert_int_equal(wsc_session_next(&f.s, (const uint8_t *)"\x81\x00", 2, &used, &ev),
                         WSC_EMASKED);
        assert_int_equal(used, 0);
    }
    assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_TEXT, true, 1), WSC_ENOTCONN);
    assert_int_equal(wsc_session_ping(&f.s, "x", 1), WSC_ENOTCONN);
    assert_int_equal(wsc_session_close(&f.s, 1000, NULL, 0), WSC_ENOTCONN);
    assert_false(wsc_session_finished(&f.s)); /* the 1002 close is still to go */
    take_output(&f, SIZE_MAX);
    expect_sent(&f, "OUT close 1002 +reason\n");
    assert_true(wsc_session_finished(&f.s));
    fixture_free(&f);
}

static void close_arguments_are_checked(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, OUT_CAP, NULL, 0);
    static const uint16_t bad_codes[] = {1,    999,  1004, 1005, 1006,
                                         1015, 1016, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof(bad_codes) / sizeof(bad_codes[0]); i++)
        assert_int_equal(wsc_session_close(&f.s, bad_codes[i], NULL, 0), WSC_EINVAL);
    char reason[125];
    memset(reason, 'r', sizeof(reason));
    assert_int_equal(wsc_session_close(&f.s, 1000, reason, 124), WSC_EINVAL);
    assert_int_equal(wsc_session_close(&f.s, 1000, "\xff", 1), WSC_EINVAL);
    assert_int_equal(wsc_session_close(&f.s, 1000, "a\xe2\x82", 3), WSC_EINVAL);
    assert_int_equal(wsc_session_close(&f.s, 1000, "\xed\xa0\x80", 3), WSC_EINVAL);
    assert_int_equal(wsc_session_close(&f.s, 0, "why", 3), WSC_EINVAL);
    assert_int_equal(wsc_session_close(&f.s, 1000, NULL, 3), WSC_EINVAL);
    /* None of that changed anything. */
    assert_int_equal(wsc_session_state(&f.s), WSC_SESSION_OPEN);
    assert_int_equal(take_output(&f, SIZE_MAX), 0);
    assert_int_equal(wsc_session_ping(&f.s, "ok", 2), 0);
    /* The longest reason fits exactly in a control frame. */
    assert_int_equal(wsc_session_close(&f.s, 4999, reason, 123), 0);
    take_output(&f, SIZE_MAX);
    struct out_frame of;
    assert_true(parse_out_frame(f.sent, f.sent_len, &of));
    expect_sent(&f, "OUT close 4999 +reason\n"); /* the queued ping gives way */
    assert_true(parse_out_frame(f.sent, f.sent_len, &of));
    assert_int_equal(of.len, 125);
    fixture_free(&f);

    /* Code 0 sends a close without a payload. */
    fixture_init(&f, OUT_CAP, NULL, 0);
    assert_int_equal(wsc_session_close(&f.s, 0, NULL, 0), 0);
    take_output(&f, SIZE_MAX);
    expect_sent(&f, "OUT close (empty)\n");
    fixture_free(&f);
}

static void ping_arguments_are_checked(void **state)
{
    (void)state;
    struct fixture f;
    uint8_t big[126] = {0};
    fixture_init(&f, OUT_CAP, NULL, 0);
    assert_int_equal(wsc_session_ping(&f.s, big, 126), WSC_EINVAL);
    assert_int_equal(wsc_session_ping(&f.s, NULL, 1), WSC_EINVAL);
    assert_int_equal(wsc_session_ping(&f.s, big, 125), 0);
    take_output(&f, SIZE_MAX);
    struct out_frame of;
    assert_true(parse_out_frame(f.sent, f.sent_len, &of));
    assert_int_equal(of.op, WSC_OP_PING);
    assert_int_equal(of.len, 125);
    fixture_free(&f);
}

static void fixture_init_pmd(struct fixture *f, const uint8_t *key)
{
    memset(f, 0, sizeof(*f));
    f->out = malloc(OUT_CAP);
    assert_non_null(f->out);
    memcpy(f->key, key, 4);
    struct wsc_session_config cfg = {.out_buf = f->out,
                                     .out_cap = OUT_CAP,
                                     .random = fixed_random,
                                     .random_user = f->key,
                                     .permessage_deflate = true};
    assert_int_equal(wsc_session_init(&f->s, &cfg), 0);
}

static void compressed_message_start_is_sent_with_rsv1(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init_pmd(&f, RFC_KEY);
    /* 7.2.3.1's "Hello", compressed, masked with RFC 6455 5.7's key. */
    static const uint8_t hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    assert_int_equal(wsc_session_frame_begin_rsv(&f.s, WSC_OP_TEXT, true, WSC_RSV1, 7), 0);
    write_all(&f, hello, sizeof(hello));
    take_output(&f, SIZE_MAX);
    expect_sent_hex(&f, "c1 87 37 fa 21 3d c5 b2 ec f4 fe fd 21");

    /* Fragmented: RSV1 on the first frame only; continuations refuse it. */
    f.sent_len = 0;
    assert_int_equal(wsc_session_frame_begin_rsv(&f.s, WSC_OP_BINARY, false, WSC_RSV1, 3),
                     0);
    write_all(&f, hello, 3);
    assert_int_equal(
        wsc_session_frame_begin_rsv(&f.s, WSC_OP_CONTINUATION, true, WSC_RSV1, 4),
        WSC_EINVAL);
    assert_int_equal(wsc_session_frame_begin_rsv(&f.s, WSC_OP_CONTINUATION, true, 0, 4), 0);
    write_all(&f, hello + 3, 4);
    take_output(&f, SIZE_MAX);
    expect_sent(&f, "OUT binary rsv1 '\\xf2H\\xcd'\nOUT cont '\\xc9\\xc9\\x07\\x00'\n");

    /* Never on control frames, never RSV2/RSV3. */
    assert_int_equal(wsc_session_frame_begin_rsv(&f.s, WSC_OP_PING, true, WSC_RSV1, 0),
                     WSC_EINVAL);
    assert_int_equal(wsc_session_frame_begin_rsv(&f.s, WSC_OP_PONG, true, WSC_RSV1, 0),
                     WSC_EINVAL);
    assert_int_equal(wsc_session_frame_begin_rsv(&f.s, WSC_OP_TEXT, true, 2, 0),
                     WSC_EINVAL);
    assert_int_equal(wsc_session_frame_begin_rsv(&f.s, WSC_OP_TEXT, true, 1, 0),
                     WSC_EINVAL);
    assert_int_equal(wsc_session_frame_begin_rsv(&f.s, WSC_OP_TEXT, true, WSC_RSV1 | 2, 0),
                     WSC_EINVAL);
    /* An empty compressed message still has a header with RSV1. */
    f.sent_len = 0;
    assert_int_equal(wsc_session_frame_begin_rsv(&f.s, WSC_OP_BINARY, true, WSC_RSV1, 0),
                     0);
    take_output(&f, SIZE_MAX);
    expect_sent_hex(&f, "c2 80 37 fa 21 3d");
    fixture_free(&f);

    /* Without the extension RSV1 is refused, and nothing is written. */
    fixture_init(&f, OUT_CAP, RFC_KEY, 0);
    assert_int_equal(wsc_session_frame_begin_rsv(&f.s, WSC_OP_TEXT, true, WSC_RSV1, 1),
                     WSC_EINVAL);
    assert_int_equal(take_output(&f, SIZE_MAX), 0);
    assert_int_equal(wsc_session_frame_begin_rsv(&f.s, WSC_OP_TEXT, true, 0, 0), 0);
    take_output(&f, SIZE_MAX);
    expect_sent_hex(&f, "81 80 37 fa 21 3d");
    fixture_free(&f);
}

static void session_fail_queues_the_close_code_of_the_error(void **state)
{
    (void)state;
    static const struct {
        int err;
        const char *sent;
    } cases[] = {
        {WSC_EINFLATE, "OUT close 1007 +reason\n"},
        {WSC_EUTF8, "OUT close 1007 +reason\n"},
        {WSC_EMSG_TOO_BIG, "OUT close 1009 +reason\n"},
        {WSC_ERSV, "OUT close 1002 +reason\n"},
        {WSC_ENOMEM, ""}, /* no close code: nothing is sent */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        fixture_init_pmd(&f, RFC_KEY);
        /* Part of a compressed message has been delivered. */
        struct wsc_event ev = feed_one(&f, "41 01 f2", 0);
        assert_true(ev.compressed);
        assert_int_equal(wsc_session_fail(&f.s, cases[i].err), cases[i].err);
        assert_int_equal(wsc_session_state(&f.s), WSC_SESSION_FAILED);
        assert_int_equal(wsc_session_error(&f.s), cases[i].err);
        take_output(&f, SIZE_MAX);
        expect_sent(&f, cases[i].sent);
        assert_true(wsc_session_finished(&f.s));
        /* Sticky: the first error stays, input is refused, nothing more is sent. */
        assert_int_equal(wsc_session_fail(&f.s, WSC_EPEER_TIMEOUT), cases[i].err);
        feed_one(&f, "80 01 00", cases[i].err);
        assert_int_equal(wsc_session_frame_begin(&f.s, WSC_OP_TEXT, true, 0), WSC_ENOTCONN);
        assert_int_equal(take_output(&f, SIZE_MAX), 0);
        fixture_free(&f);
    }

    /* After our close went out, failing sends no second close. */
    struct fixture f;
    fixture_init_pmd(&f, RFC_KEY);
    assert_int_equal(wsc_session_close(&f.s, 1000, NULL, 0), 0);
    take_output(&f, SIZE_MAX);
    assert_int_equal(wsc_session_fail(&f.s, WSC_EINFLATE), WSC_EINFLATE);
    take_output(&f, SIZE_MAX);
    expect_sent(&f, "OUT close 1000\n");
    /* Not an error: refused, and the session is unchanged. */
    fixture_free(&f);
    fixture_init_pmd(&f, RFC_KEY);
    assert_int_equal(wsc_session_fail(&f.s, 0), WSC_EINVAL);
    assert_int_equal(wsc_session_fail(&f.s, 1), WSC_EINVAL);
    assert_int_equal(wsc_session_fail(NULL, WSC_EINFLATE), WSC_EINVAL);
    assert_int_equal(wsc_session_state(&f.s), WSC_SESSION_OPEN);
    fixture_free(&f);
}

/*
 * What the peer reads when we fail the connection: the close code and a few
 * words naming its violation (wsc_strerror()'s sentences stay local). A zero
 * mask key leaves the payload readable on the wire.
 */
static void failing_sends_a_short_reason_for_each_violation(void **state)
{
    (void)state;
    static const uint8_t zero_key[4] = {0, 0, 0, 0};
    static const struct {
        int err;
        uint16_t code;
        const char *reason;
    } cases[] = {
        {WSC_EMASKED, 1002, "masked frame"},
        {WSC_ERSV, 1002, "reserved bits set"},
        {WSC_EOPCODE, 1002, "reserved opcode"},
        {WSC_ECONTROL_LEN, 1002, "control frame too long"},
        {WSC_ECONTROL_FRAG, 1002, "fragmented control frame"},
        {WSC_ECONTINUATION, 1002, "continuation without a message"},
        {WSC_EINTERLEAVED, 1002, "interleaved messages"},
        {WSC_ECLOSE_CODE, 1002, "invalid close code"},
        {WSC_ECLOSE_PAYLOAD, 1002, "one-byte close payload"},
        {WSC_EFRAME_LEN, 1002, "invalid frame length"},
        {WSC_EUTF8, 1007, "invalid UTF-8"},
        {WSC_EMSG_TOO_BIG, 1009, "message too big"},
        {WSC_EPEER_TIMEOUT, 1011, "peer not responding"},
        {WSC_EINFLATE, 1007, "invalid compressed data"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        fixture_init(&f, OUT_CAP, zero_key, 0);
        assert_int_equal(wsc_session_fail(&f.s, cases[i].err), cases[i].err);
        take_output(&f, SIZE_MAX);
        size_t n = strlen(cases[i].reason);
        uint8_t want[6 + 2 + 123] = {0x88, (uint8_t)(0x80 | (2 + n)), 0, 0, 0, 0,
                                     (uint8_t)(cases[i].code >> 8), (uint8_t)cases[i].code};
        memcpy(want + 8, cases[i].reason, n);
        if (f.sent_len != 8 + n || memcmp(f.sent, want, 8 + n) != 0)
            print_error("%s: close payload differs\n", cases[i].reason);
        assert_int_equal(f.sent_len, 8 + n);
        assert_memory_equal(f.sent, want, 8 + n);
        fixture_free(&f);
    }
}

static int failing_random(void *user, uint8_t *buf, size_t len)
{
    (void)buf;
    (void)len;
    return *(int *)user;
}

static void random_failure_is_reported_by_frame_begin(void **state)
{
    (void)state;
    uint8_t out[OUT_CAP];
    int err = -1234;
    struct wsc_session s;
    struct wsc_session_config cfg = {.out_buf = out,
                                     .out_cap = sizeof(out),
                                     .random = failing_random,
                                     .random_user = &err};
    assert_int_equal(wsc_session_init(&s, &cfg), 0);
    assert_int_equal(wsc_session_frame_begin(&s, WSC_OP_TEXT, true, 1), -1234);
    err = 1; /* a positive return is not a valid error code */
    assert_int_equal(wsc_session_frame_begin(&s, WSC_OP_TEXT, true, 1), WSC_EIO);
    err = 0;
    assert_int_equal(wsc_session_frame_begin(&s, WSC_OP_TEXT, true, 0), 0);
}

static void init_rejects_a_bad_config(void **state)
{
    (void)state;
    uint8_t out[OUT_CAP];
    uint32_t ctr = 0;
    struct wsc_session s;
    struct wsc_session_config ok = {.out_buf = out,
                                    .out_cap = sizeof(out),
                                    .random = counting_random,
                                    .random_user = &ctr};
    struct wsc_session_config c = ok;
    c.out_cap = WSC_SESSION_OUT_MIN - 1;
    assert_int_equal(wsc_session_init(&s, &c), WSC_EINVAL);
    c = ok;
    c.out_buf = NULL;
    assert_int_equal(wsc_session_init(&s, &c), WSC_EINVAL);
    c = ok;
    c.random = NULL;
    assert_int_equal(wsc_session_init(&s, &c), WSC_EINVAL);
    assert_int_equal(wsc_session_init(&s, NULL), WSC_EINVAL);
    assert_int_equal(wsc_session_init(&s, &ok), 0);
    assert_int_equal(wsc_session_state(&s), WSC_SESSION_OPEN);
    assert_false(wsc_session_finished(&s));
}

/*
 * The event API queues whole frames: output_room says how much one may take,
 * counting unsent output moved to the front and control frames placed first,
 * and 0 while a control frame waits or a frame is half written.
 */
static void output_room_counts_queued_output_and_controls(void **state)
{
    (void)state;
    uint8_t out[256];
    uint32_t ctr = 0;
    struct wsc_session s;
    struct wsc_session_config cfg = {.out_buf = out, .out_cap = sizeof(out),
                                     .random = counting_random, .random_user = &ctr};
    assert_int_equal(wsc_session_init(&s, &cfg), 0);
    assert_int_equal(wsc_session_output_room(&s), 256);
    size_t took;
    assert_int_equal(wsc_session_frame_begin(&s, WSC_OP_BINARY, true, 10), 0);
    assert_int_equal(wsc_session_output_room(&s), 0); /* frame half written */
    assert_int_equal(wsc_session_write(&s, "0123456789", 10, &took), 0);
    assert_int_equal(took, 10);
    assert_int_equal(wsc_session_output_room(&s), 256 - 16);
    const uint8_t *p;
    assert_int_equal(wsc_session_pending_output(&s, &p), 16);
    wsc_session_output_sent(&s, 6); /* 10 unsent bytes move to the front */
    assert_int_equal(wsc_session_output_room(&s), 256 - 10);
    assert_int_equal(wsc_session_pending_output(&s, &p), 10);
    assert_memory_equal(p, out, 10);
    wsc_session_output_sent(&s, 10);
    /* A ping whose frame (6 + 100) does not fit yet holds the room at 0. */
    uint8_t big[200] = {0}, ping[100] = {0};
    assert_int_equal(wsc_session_frame_begin(&s, WSC_OP_BINARY, true, sizeof(big)), 0);
    assert_int_equal(wsc_session_write(&s, big, sizeof(big), &took), 0);
    assert_int_equal(wsc_session_ping(&s, ping, sizeof(ping)), 0);
    assert_int_equal(wsc_session_output_room(&s), 0);
    assert_int_equal(wsc_session_queued(&s), 208 + 106);
    assert_int_equal(wsc_session_pending_output(&s, &p), 208);
    wsc_session_output_sent(&s, 208);
    assert_int_equal(wsc_session_output_room(&s), 256 - 106);
    assert_int_equal(wsc_session_pending_output(&s, &p), 106);
}

/* What a front end reading payload directly relies on: the frame start, and
 * the bytes of plain data still due (none for control frames). */
static void frame_start_and_data_remaining_follow_the_stream(void **state)
{
    (void)state;
    uint8_t out[256];
    uint32_t ctr = 0;
    struct wsc_session s;
    struct wsc_session_config cfg = {.out_buf = out, .out_cap = sizeof(out),
                                     .random = counting_random, .random_user = &ctr};
    assert_int_equal(wsc_session_init(&s, &cfg), 0);
    const uint8_t frames[] = {0x82, 0x05, 'a', 'b', 'c', 'd', 'e', 0x89, 0x02, 'p', 'q'};
    struct wsc_event ev;
    size_t used;
    assert_true(wsc_session_at_frame_start(&s));
    assert_int_equal(wsc_session_data_remaining(&s), 0);
    /* Header and two payload bytes: three data bytes still due. */
    assert_int_equal(wsc_session_next(&s, frames, 4, &used, &ev), 0);
    assert_int_equal(ev.len, 2);
    assert_false(wsc_session_at_frame_start(&s));
    assert_int_equal(wsc_session_data_remaining(&s), 3);
    assert_int_equal(wsc_session_next(&s, frames + 4, 3, &used, &ev), 0);
    assert_true(ev.fin);
    assert_true(wsc_session_at_frame_start(&s));
    /* Half a ping: inside a frame, but no data is due. */
    assert_int_equal(wsc_session_next(&s, frames + 7, 3, &used, &ev), WSC_EAGAIN);
    assert_false(wsc_session_at_frame_start(&s));
    assert_int_equal(wsc_session_data_remaining(&s), 0);
    assert_int_equal(wsc_session_next(&s, frames + 10, 1, &used, &ev), 0);
    assert_int_equal(ev.type, WSC_EV_PING);
    assert_true(wsc_session_at_frame_start(&s));
}

/* ---- streaming ----------------------------------------------------------- */

/*
 * Feeds @p msg in reads of @p read bytes into a connection buffer, passing at
 * most @p limit bytes per wsc_session_next() call, and checks that the DATA
 * chunks respect the limit and concatenate to @p payload.
 */
static void stream_through(const uint8_t *wire, size_t wire_len, const uint8_t *payload,
                           size_t payload_len, size_t read, size_t limit, size_t frames)
{
    struct fixture f;
    fixture_init(&f, OUT_CAP, NULL, 0);
    uint8_t *got = malloc(payload_len);
    assert_non_null(got);
    struct wsc_test_stream st = {0};
    size_t pos = 0, got_len = 0, total = 0, chunks = 0, frame_ends = 0;
    bool first_seen = false, fin_seen = false;
    while (pos < wire_len) {
        size_t n = wire_len - pos < read ? wire_len - pos : read;
        wsc_test_stream_push(&st, wire + pos, n);
        pos += n;
        /* Calls walk through the buffer; what they consumed leaves it once per
         * read (consuming per call would copy the buffer thousands of times). */
        size_t avail, off = 0;
        const uint8_t *in = wsc_test_stream_data(&st, &avail);
        for (;;) {
            size_t used;
            struct wsc_event ev;
            size_t pass = avail - off < limit ? avail - off : limit;
            int rc = wsc_session_next(&f.s, in + off, pass, &used, &ev);
            if (rc == WSC_EAGAIN) {
                assert_int_equal(used, pass);
                off += used;
                if (off == avail)
                    break;
                continue;
            }
            assert_int_equal(rc, 0);
            assert_int_equal(ev.type, WSC_EV_DATA);
            assert_true(ev.len <= limit);
            assert_false(fin_seen);
            assert_int_equal(ev.first, !first_seen);
            first_seen = true;
            assert_true(got_len + ev.len <= payload_len);
            assert_ptr_equal(ev.data, in + off + used - ev.len); /* the last bytes taken */
            memcpy(got + got_len, ev.data, ev.len);
            got_len += ev.len;
            chunks++;
            if (ev.remaining == 0)
                frame_ends++;
            fin_seen = ev.fin;
            off += used;
        }
        wsc_test_stream_consume(&st, off);
        total += off;
    }
    assert_true(fin_seen);
    assert_int_equal(frame_ends, frames);
    assert_int_equal(total, wire_len);
    assert_int_equal(got_len, payload_len);
    assert_memory_equal(got, payload, payload_len);
    assert_true(chunks >= payload_len / limit);
    wsc_test_stream_free(&st);
    free(got);
    fixture_free(&f);
}

static void large_binary_message_streams_in_bounded_chunks(void **state)
{
    (void)state;
    enum { LEN = 300000 };
    uint8_t *wire = malloc(LEN + 10);
    assert_non_null(wire);
    size_t h = wsc_frame_header_encode(wire, true, WSC_OP_BINARY, LEN, NULL);
    assert_int_equal(h, 10);
    for (size_t i = 0; i < LEN; i++)
        wire[h + i] = (uint8_t)(i * 2654435761u >> 13);
    static const size_t reads[] = {LEN + 10, 65536, 4096, 1000, 777};
    static const size_t limits[] = {1024, 100, 4097, SIZE_MAX};
    for (size_t r = 0; r < sizeof(reads) / sizeof(reads[0]); r++)
        for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++)
            stream_through(wire, h + LEN, wire + h, LEN, reads[r], limits[l], 1);
    free(wire);
}

static void large_fragmented_text_streams_with_characters_split_anywhere(void **state)
{
    (void)state;
    enum { LEN = 300000 };
    /* Three fragments of 1-, 2-, 3- and 4-byte characters, cut so that
     * characters straddle fragments (and reads, and calls). */
    static const size_t frag[3] = {99997, 100004, 99999};
    static const uint8_t pattern[] = {'a',  0xc3, 0xa9, 0xe2, 0x82,
                                      0xac, 0xf0, 0x9f, 0x98, 0x80};
    uint8_t *text = malloc(LEN);
    uint8_t *wire = malloc(LEN + 3 * 10);
    assert_non_null(text);
    assert_non_null(wire);
    for (size_t i = 0; i < LEN; i++)
        text[i] = pattern[i % sizeof(pattern)];
    size_t n = 0;
    for (int k = 0; k < 3; k++) {
        uint8_t op = k == 0 ? WSC_OP_TEXT : WSC_OP_CONTINUATION;
        size_t at = k == 0 ? 0 : k == 1 ? frag[0] : frag[0] + frag[1];
        n += wsc_frame_header_encode(wire + n, k == 2, op, frag[k], NULL);
        memcpy(wire + n, text + at, frag[k]);
        n += frag[k];
    }
    assert_int_equal(frag[0] + frag[1] + frag[2], LEN);
    stream_through(wire, n, text, LEN, 4096, 333, 3);
    stream_through(wire, n, text, LEN, 1001, 1024, 3);
    stream_through(wire, n, text, LEN, n, 7, 3);
    free(text);
    free(wire);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(masked_server_frame_fails_with_1002),
        cmocka_unit_test(rsv_bits_without_an_extension_fail_with_1002),
        cmocka_unit_test(reserved_opcodes_fail_with_1002),
        cmocka_unit_test(sixty_four_bit_length_with_top_bit_fails_with_1002),
        cmocka_unit_test(fragmented_message_is_delivered_in_order),
        cmocka_unit_test(continuation_without_a_message_fails_with_1002),
        cmocka_unit_test(new_data_frame_inside_a_message_fails_with_1002),
        cmocka_unit_test(control_frame_over_125_bytes_fails_with_1002),
        cmocka_unit_test(fragmented_control_frame_fails_with_1002),
        cmocka_unit_test(ping_is_answered_with_a_pong_of_the_same_payload),
        cmocka_unit_test(pong_is_reported_and_not_answered),
        cmocka_unit_test(control_frames_between_fragments_are_delivered_in_order),
        cmocka_unit_test(close_with_a_one_byte_payload_fails_with_1002),
        cmocka_unit_test(invalid_close_codes_fail_with_1002),
        cmocka_unit_test(valid_close_codes_are_echoed_with_the_same_code),
        cmocka_unit_test(empty_close_is_echoed_with_an_empty_payload),
        cmocka_unit_test(close_reason_with_invalid_utf8_fails_with_1007),
        cmocka_unit_test(data_after_the_peer_close_is_not_consumed),
        cmocka_unit_test(valid_utf8_text_is_delivered),
        cmocka_unit_test(invalid_utf8_fails_with_1007_after_the_valid_bytes),
        cmocka_unit_test(utf8_character_split_across_fragments_is_valid),
        cmocka_unit_test(truncated_character_at_message_end_fails_with_1007),
        cmocka_unit_test(message_over_max_message_fails_with_1009_at_the_header),
        cmocka_unit_test(rsv1_starts_a_compressed_message_passed_on_unchecked),
        cmocka_unit_test(rsv1_on_a_continuation_or_control_frame_fails_with_1002),
        cmocka_unit_test(compressed_message_is_limited_by_the_wire_limit_at_the_header),
        cmocka_unit_test(small_len_limits_the_data_chunk_size),
        cmocka_unit_test(sending_masks_with_the_injected_key_byte_exact),
        cmocka_unit_test(sixty_four_bit_send_header_is_minimal_and_masked),
        cmocka_unit_test(compressed_message_start_is_sent_with_rsv1),
        cmocka_unit_test(session_fail_queues_the_close_code_of_the_error),
        cmocka_unit_test(fragmented_send_follows_the_sequence_rules),
        cmocka_unit_test(write_larger_than_the_output_buffer_continues_after_output_sent),
        cmocka_unit_test(frame_begin_without_room_for_a_header_returns_eagain),
        cmocka_unit_test(pong_is_not_inserted_inside_an_outgoing_frame),
        cmocka_unit_test(pong_goes_between_the_frames_of_an_outgoing_message),
        cmocka_unit_test(local_close_then_peer_close_finishes),
        cmocka_unit_test(ping_after_our_close_is_still_answered),
        cmocka_unit_test(peer_close_before_ours_went_out_sends_one_close),
        cmocka_unit_test(peer_close_while_sending_a_frame_is_echoed_after_it),
        cmocka_unit_test(sending_after_close_fails_with_enotconn),
        cmocka_unit_test(failed_session_is_sticky_and_refuses_to_send),
        cmocka_unit_test(close_arguments_are_checked),
        cmocka_unit_test(ping_arguments_are_checked),
        cmocka_unit_test(failing_sends_a_short_reason_for_each_violation),
        cmocka_unit_test(random_failure_is_reported_by_frame_begin),
        cmocka_unit_test(init_rejects_a_bad_config),
        cmocka_unit_test(output_room_counts_queued_output_and_controls),
        cmocka_unit_test(frame_start_and_data_remaining_follow_the_stream),
        cmocka_unit_test(large_binary_message_streams_in_bounded_chunks),
        cmocka_unit_test(large_fragmented_text_streams_with_characters_split_anywhere),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    printf("chunkings run: %zu\n", wsc_test_chunkings_run);
    return failed;
}
