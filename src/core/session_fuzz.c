/*
 * libFuzzer target for the receive side of the session (see fuzz_chunks.h for
 * the input layout). Option bits: 0 = an outgoing 10-byte frame is half
 * written before the input arrives and finished after it, 1-2 = max_message
 * (default, 1, 16, 300), 3-4 = bytes passed per wsc_session_next() call (all,
 * 1, 7, 64). Beyond agreement between chunkings it checks: DATA chunks respect
 * the per-call limit and the message flags; delivered text is always valid
 * UTF-8 so far and complete at the end of a message; errors are sticky and
 * leave the session FAILED; everything sent is a well-formed masked client
 * frame, no control frame lands inside our frame, and a failure sends a close
 * with the error's code. Every input runs twice more with permessage-deflate
 * agreed: RSV1 then starts compressed messages, which are delivered with
 * compressed set on all of their chunks and are not UTF-8-checked.
 */
#include "core/fuzz_chunks.h"
#include "wsc/wsc_core.h"

#define OUT_CAP WSC_SESSION_OUT_MIN

static int counting_random(void *user, uint8_t *buf, size_t len)
{
    uint32_t *ctr = user;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)((*ctr)++ * 73u + 29u);
    return 0;
}

/* Everything the session handed out, parsed into frames as they complete. */
struct sent {
    uint8_t *buf;
    size_t len, cap, parsed;
    unsigned frames;
    uint16_t last_close; /* code of the last close sent (1005 = none in it) */
    bool close_seen;
};

static bool valid_utf8(const uint8_t *p, size_t n)
{
    struct wsc_utf8 u;
    wsc_utf8_reset(&u);
    return wsc_utf8_validate(&u, p, n) == n && wsc_utf8_complete(&u);
}

static void parse_sent(struct sent *o, struct fz_log *log)
{
    for (;;) {
        const uint8_t *p = o->buf + o->parsed;
        size_t n = o->len - o->parsed, hs = 2;
        if (n < 2)
            return;
        uint64_t len = p[1] & 0x7f;
        if (len == 126)
            hs = 4;
        else if (len == 127)
            hs = 10;
        hs += 4;
        if (n < hs)
            return;
        FZ_CHECK(p[1] & 0x80);        /* RFC 6455 5.3: clients mask */
        FZ_CHECK((p[0] & 0x70) == 0); /* no RSV */
        if (len == 126)
            len = (uint64_t)p[2] << 8 | p[3];
        else if (len == 127) {
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | p[2 + i];
        }
        if (n - hs < len)
            return;
        uint8_t op = p[0] & 0x0f;
        const uint8_t *key = p + hs - 4;
        uint8_t payload[WSC_CONTROL_MAX];
        if (op & 8) {
            FZ_CHECK((p[0] & 0x80) && len <= WSC_CONTROL_MAX); /* 5.5 */
            for (size_t i = 0; i < len; i++)
                payload[i] = p[hs + i] ^ key[i % 4];
            FZ_CHECK(op == WSC_OP_CLOSE || op == WSC_OP_PING || op == WSC_OP_PONG);
            FZ_CHECK(!o->close_seen); /* nothing after our close */
            if (op == WSC_OP_CLOSE) {
                FZ_CHECK(len != 1);
                o->close_seen = true;
                o->last_close = WSC_CLOSE_NO_STATUS;
                if (len >= 2) {
                    o->last_close = (uint16_t)(payload[0] << 8 | payload[1]);
                    FZ_CHECK(wsc_close_code_valid(o->last_close));
                    FZ_CHECK(valid_utf8(payload + 2, (size_t)len - 2));
                }
                fz_log(log, "OUT close %u\n", o->last_close);
            } else {
                fz_log(
                    log, "OUT %s %llu#%016llx\n", op == WSC_OP_PING ? "ping" : "pong",
                    (unsigned long long)len,
                    (unsigned long long)fz_hash(fz_hash(0, NULL, 0), payload, (size_t)len));
            }
        } else {
            /* Only our own 10-byte frame, always first. */
            FZ_CHECK(op == WSC_OP_BINARY && len == 10 && o->frames == 0);
            fz_log(log, "OUT binary 10\n");
        }
        o->frames++;
        o->parsed += hs + (size_t)len;
    }
}

static void drain(struct wsc_session *s, struct sent *o, struct fz_log *log)
{
    const uint8_t *p;
    size_t n = wsc_session_pending_output(s, &p);
    if (n == 0)
        return;
    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2;
        o->buf = realloc(o->buf, o->cap);
        FZ_CHECK(o->buf != NULL);
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
    wsc_session_output_sent(s, n);
    parse_sent(o, log);
}

/* The DATA chunks of the current frame, gathered for one log line. */
struct data_run {
    bool open, expect_first, text, compressed;
    bool first, frame_fin;
    uint8_t op;
    uint64_t remaining, hash;
    size_t len;
    struct wsc_utf8 utf8; /* of the text message delivered so far */
};

static void run_flush(struct data_run *r, struct fz_log *log, size_t at)
{
    if (!r->open)
        return;
    fz_log(log, "DATA op=%u first=%d ffin=%d z=%d len=%zu rem=%llu #%016llx at %zu\n",
           r->op, r->first, r->frame_fin, r->compressed, r->len,
           (unsigned long long)r->remaining, (unsigned long long)r->hash, at);
    r->open = false;
}

static void on_data(struct data_run *r, const struct wsc_event *ev, size_t limit,
                    struct fz_log *log, size_t at)
{
    FZ_CHECK(ev->opcode == WSC_OP_TEXT || ev->opcode == WSC_OP_BINARY);
    FZ_CHECK(ev->fin == (ev->frame_fin && ev->remaining == 0));
    FZ_CHECK(!limit || ev->len <= limit);
    if (!r->open) {
        FZ_CHECK(ev->first == r->expect_first);
        if (ev->first) {
            /* Compressed text is UTF-8 only once inflated. */
            r->compressed = ev->compressed;
            r->text = ev->opcode == WSC_OP_TEXT && !ev->compressed;
            wsc_utf8_reset(&r->utf8);
        } else {
            FZ_CHECK(ev->opcode == r->op);
        }
        FZ_CHECK(ev->compressed == r->compressed);
        r->open = true;
        r->op = ev->opcode;
        r->first = ev->first;
        r->frame_fin = ev->frame_fin;
        r->len = 0;
        r->hash = fz_hash(0, NULL, 0);
    } else {
        FZ_CHECK(!ev->first && ev->opcode == r->op && ev->frame_fin == r->frame_fin);
        FZ_CHECK(ev->remaining + ev->len == r->remaining);
    }
    if (r->text) /* RFC 6455 8.1: only valid UTF-8 is ever delivered */
        FZ_CHECK(wsc_utf8_validate(&r->utf8, ev->data, ev->len) == ev->len);
    r->hash = fz_hash(r->hash, ev->data, ev->len);
    r->len += ev->len;
    r->remaining = ev->remaining;
    r->expect_first = false;
    if (ev->remaining == 0) {
        if (ev->fin && r->text)
            FZ_CHECK(wsc_utf8_complete(&r->utf8));
        run_flush(r, log, at);
        r->expect_first = ev->fin;
    }
}

static void run(const struct fz_plan *p, bool chunked, bool pmd, struct fz_log *log)
{
    static const uint64_t max_messages[] = {0, 1, 16, 300};
    static const size_t limits[] = {0, 1, 7, 64};
    bool sending = p->options & 1;
    size_t limit = limits[(p->options >> 3) & 3];
    uint32_t ctr = 1;
    uint8_t *out = malloc(OUT_CAP); /* exact size: over-writes trip ASan */
    FZ_CHECK(out != NULL);
    struct wsc_session_config cfg = {.max_message = max_messages[(p->options >> 1) & 3],
                                     .out_buf = out,
                                     .out_cap = OUT_CAP,
                                     .random = counting_random,
                                     .random_user = &ctr,
                                     .permessage_deflate = pmd};
    struct wsc_session s;
    struct sent o = {0};
    struct data_run r = {.expect_first = true};
    size_t acc;
    FZ_CHECK(wsc_session_init(&s, &cfg) == 0);
    fz_log_reset(log);
    if (sending) {
        FZ_CHECK(wsc_session_frame_begin(&s, WSC_OP_BINARY, true, 10) == 0);
        FZ_CHECK(wsc_session_write(&s, "0123", 4, &acc) == 0 && acc == 4);
        drain(&s, &o, log);
    }

    struct fz_stream st = {0};
    size_t pos = 0, total = 0, chunk = 0;
    int settled = 0;
    while (pos < p->len) {
        size_t n = fz_chunk(p, chunked, chunk++, p->len - pos);
        fz_push(&st, p->data + pos, n);
        pos += n;
        size_t used = 0;
        for (;;) {
            /* ev.data points into the buffer: consume only before the next call. */
            fz_consume(&st, used);
            used = 0;
            size_t pass = limit && st.len > limit ? limit : st.len;
            struct wsc_event ev;
            size_t got;
            int rc = wsc_session_next(&s, st.buf, pass, &got, &ev);
            FZ_CHECK(got <= pass);
            if (settled) {
                FZ_CHECK(rc == settled && got == 0);
                break;
            }
            used = got;
            total += got;
            if (rc == WSC_EAGAIN) {
                FZ_CHECK(got == pass);
                if (pass < st.len)
                    continue;
                break;
            }
            if (rc == 0 && ev.type == WSC_EV_DATA) {
                if (ev.len)
                    FZ_CHECK(ev.data >= st.buf && ev.data + ev.len <= st.buf + got);
                on_data(&r, &ev, limit, log, total);
                continue;
            }
            run_flush(&r, log, total);
            if (rc == 0) {
                FZ_CHECK(ev.type == WSC_EV_PING || ev.type == WSC_EV_PONG ||
                         ev.type == WSC_EV_CLOSE);
                FZ_CHECK(ev.len <= WSC_CONTROL_MAX);
                fz_log(log, "CTL %d code=%u %zu#%016llx at %zu\n", (int)ev.type,
                       ev.close_code, ev.len,
                       (unsigned long long)fz_hash(fz_hash(0, NULL, 0), ev.data, ev.len),
                       total);
                if (ev.type == WSC_EV_CLOSE)
                    FZ_CHECK(wsc_session_state(&s) == WSC_SESSION_CLOSED);
            } else if (rc == WSC_ECLOSED) {
                FZ_CHECK(got == 0 && wsc_session_state(&s) == WSC_SESSION_CLOSED);
                fz_log(log, "ECLOSED at %zu\n", total);
                settled = rc;
            } else {
                FZ_CHECK(rc < 0 && wsc_error_is_protocol(rc));
                FZ_CHECK(wsc_session_state(&s) == WSC_SESSION_FAILED &&
                         wsc_session_error(&s) == rc);
                fz_log(log, "ERR %d at %zu\n", rc, total);
                settled = rc;
            }
            drain(&s, &o, log);
            if (settled)
                break;
        }
        fz_consume(&st, used);
    }
    run_flush(&r, log, total);
    if (sending) {
        drain(&s, &o, log);
        FZ_CHECK(o.frames == 0); /* nothing may go out inside our frame */
        FZ_CHECK(wsc_session_write(&s, "456789", 6, &acc) == 0 && acc == 6);
    }
    drain(&s, &o, log);
    FZ_CHECK(o.parsed == o.len); /* only whole frames */
    enum wsc_session_state state = wsc_session_state(&s);
    if (state == WSC_SESSION_FAILED)
        FZ_CHECK(o.close_seen &&
                 o.last_close == wsc_error_close_code(wsc_session_error(&s)));
    if (state == WSC_SESSION_CLOSED)
        FZ_CHECK(o.close_seen);
    FZ_CHECK(wsc_session_finished(&s) ==
             (state == WSC_SESSION_FAILED || state == WSC_SESSION_CLOSED));
    fz_log(log, "END %zu left %zu state %d\n", total, st.len, (int)state);
    fz_free(&st);
    free(o.buf);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz_log whole, chunked;
    struct fz_plan p;
    if (!fz_plan_parse(data, size, &p))
        return 0;
    for (int pmd = 0; pmd < 2; pmd++) {
        run(&p, false, pmd, &whole);
        run(&p, true, pmd, &chunked);
        fz_compare(&whole, &chunked);
    }
    return 0;
}
