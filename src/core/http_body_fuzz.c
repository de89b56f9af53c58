/*
 * libFuzzer target for the HTTP/1.1 body decoder (wsc_http_body_*), see
 * fuzz_chunks.h for the input layout. Option bits: 2 = the stream starts with
 * a response head, parsed by the plain head parser, whose headers choose the
 * body mode through wsc_http_body_mode_for() (bit 3: it answers a HEAD
 * request); without bit 2, bits 0-1 choose the mode (none, Content-Length,
 * chunked, close-delimited) and bits 3-4 the length (0, 7, 300, 2^64 - 1).
 *
 * Both runs (whole, chunked) log the body events with offsets from the start
 * of the body and a running hash of the body bytes, and end with
 * wsc_http_body_eof(). Beyond agreement between chunkings it checks: DATA is
 * never empty and is exactly the input bytes just consumed; EAGAIN consumes
 * everything; END and errors consume nothing more and repeat on every later
 * call. The whole run must also log exactly what a reference decoder written
 * here from RFC 9112 7.1 (whole-buffer, line oriented) predicts, including
 * the offset of an error and the limits on chunk-size lines and trailers; and
 * the body mode must be what a reference reading of RFC 9112 6.3 gives.
 */
#include "core/fuzz_chunks.h"
#include "wsc/wsc_core.h"

#define HEAD_CAP 8192
#define HEADERS_CAP 32

static bool ieq(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] + 32) : a[i];
        if (x != b[i])
            return false;
    }
    return true;
}

static bool ows(char c)
{
    return c == ' ' || c == '\t';
}

/* ---- reference: RFC 9112 6.3, the body's framing ---------------------- */

static int ref_mode(const struct wsc_handshake *hs, bool head_request,
                    enum wsc_http_body_mode *mode, uint64_t *length)
{
    *mode = WSC_HTTP_BODY_NONE;
    *length = 0;
    if (head_request || hs->status / 100 == 1 || hs->status == 204 || hs->status == 304)
        return 0;
    const char *last = NULL;
    size_t last_len = 0;
    bool te = false, cl = false;
    for (size_t i = 0; i < hs->header_count; i++) {
        const struct wsc_header *h = &hs->headers[i];
        if (!ieq(h->name, h->name_len, "transfer-encoding"))
            continue;
        te = true;
        /* transfer-coding = token *( OWS ";" OWS transfer-parameter ), listed. */
        size_t s = 0;
        while (s <= h->value_len) {
            size_t e = s;
            while (e < h->value_len && h->value[e] != ',')
                e++;
            size_t ne = s;
            while (ne < e && h->value[ne] != ';')
                ne++;
            size_t a = s;
            while (a < ne && ows(h->value[a]))
                a++;
            while (ne > a && ows(h->value[ne - 1]))
                ne--;
            if (ne > a) {
                last = h->value + a;
                last_len = ne - a;
            }
            s = e + 1;
        }
    }
    if (te) {
        *mode = last && ieq(last, last_len, "chunked") ? WSC_HTTP_BODY_CHUNKED
                                                       : WSC_HTTP_BODY_CLOSE;
        return 0;
    }
    for (size_t i = 0; i < hs->header_count; i++) {
        const struct wsc_header *h = &hs->headers[i];
        if (!ieq(h->name, h->name_len, "content-length"))
            continue;
        if (h->value_len == 0)
            goto bad;
        size_t s = 0;
        while (s <= h->value_len) {
            size_t e = s;
            while (e < h->value_len && h->value[e] != ',')
                e++;
            size_t a = s, z = e;
            while (a < z && ows(h->value[a]))
                a++;
            while (z > a && ows(h->value[z - 1]))
                z--;
            if (a == z)
                goto bad;
            uint64_t v = 0;
            for (size_t k = a; k < z; k++) {
                unsigned d = (unsigned)(h->value[k] - '0');
                if (d > 9 || v > (UINT64_MAX - d) / 10)
                    goto bad;
                v = v * 10 + d;
            }
            if (cl && v != *length)
                goto bad;
            cl = true;
            *length = v;
            s = e + 1;
        }
    }
    *mode = cl ? WSC_HTTP_BODY_LENGTH : WSC_HTTP_BODY_CLOSE;
    return 0;
bad:
    *mode = WSC_HTTP_BODY_NONE;
    *length = 0;
    return WSC_EHTTP_LENGTH;
}

/* ---- reference: RFC 9112 7.1, decoding a whole buffer ----------------- */

struct body_acc {
    uint64_t len, hash;
};

static void ref_line(struct fz_log *log, const char *what, const struct body_acc *b,
                     size_t at)
{
    fz_log(log, "%s body=%llu#%016llx at %zu\n", what, (unsigned long long)b->len,
           (unsigned long long)b->hash, at);
}

static bool field_byte(uint8_t c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Result codes of the reference besides WSC_E*: */
#define MORE 1 /* the input ended inside the body */

/* Logs the chunked body in p[0..n) and returns 0 (END), MORE or an error. */
static int ref_chunked(const uint8_t *p, size_t n, struct fz_log *log, struct body_acc *b,
                       size_t *at)
{
    size_t i = 0;
#define NEED()                                                                             \
    do {                                                                                   \
        if (i >= n)                                                                        \
            return MORE;                                                                   \
    } while (0)
#define FAIL(code)                                                                         \
    do {                                                                                   \
        *at = i;                                                                           \
        return code;                                                                       \
    } while (0)
    for (;;) {
        /* chunk-size [ chunk-ext ] CRLF, at most WSC_HTTP_CHUNK_LINE_MAX bytes
         * before the line end; a bare LF ends a line too (RFC 9112 2.2). */
        uint64_t size = 0;
        size_t line = 0;
        NEED();
        if (hexval(p[i]) < 0)
            FAIL(WSC_EHTTP_CHUNK);
        while (i < n && hexval(p[i]) >= 0) {
            unsigned v = (unsigned)hexval(p[i]);
            if (size > (UINT64_MAX - v) / 16)
                FAIL(WSC_EHTTP_CHUNK);
            size = size * 16 + v;
            if (++line > WSC_HTTP_CHUNK_LINE_MAX)
                FAIL(WSC_EHTTP_TOO_LARGE);
            i++;
        }
        NEED();
        bool ext = false;
        if (ows((char)p[i])) {
            /* BWS only before ';' (7.1.1) */
            while (i < n && ows((char)p[i])) {
                if (++line > WSC_HTTP_CHUNK_LINE_MAX)
                    FAIL(WSC_EHTTP_TOO_LARGE);
                i++;
            }
            NEED();
            if (p[i] != ';')
                FAIL(WSC_EHTTP_CHUNK);
        }
        if (p[i] == ';') {
            ext = true;
            if (++line > WSC_HTTP_CHUNK_LINE_MAX)
                FAIL(WSC_EHTTP_TOO_LARGE);
            i++;
        }
        while (ext && i < n && p[i] != '\r' && p[i] != '\n') {
            if (!field_byte(p[i]))
                FAIL(WSC_EHTTP_CHUNK);
            if (++line > WSC_HTTP_CHUNK_LINE_MAX)
                FAIL(WSC_EHTTP_TOO_LARGE);
            i++;
        }
        NEED();
        if (p[i] == '\r') {
            i++;
            NEED();
            if (p[i] != '\n')
                FAIL(WSC_EHTTP_CHUNK);
        } else if (p[i] != '\n') {
            FAIL(WSC_EHTTP_CHUNK);
        }
        i++;
        char what[48];
        snprintf(what, sizeof(what), "CH %llu", (unsigned long long)size);
        ref_line(log, what, b, i);
        if (size) {
            uint64_t avail = n - i < size ? n - i : size;
            b->hash = fz_hash(b->hash, p + i, (size_t)avail);
            b->len += avail;
            i += (size_t)avail;
            if (avail < size)
                return MORE;
            NEED();
            if (p[i] == '\r') {
                i++;
                NEED();
                if (p[i] != '\n')
                    FAIL(WSC_EHTTP_CHUNK);
            } else if (p[i] != '\n') {
                FAIL(WSC_EHTTP_CHUNK);
            }
            i++;
            ref_line(log, "CC", b, i);
            continue;
        }
        /* The last chunk: trailer fields, then an empty line. Every byte of
         * the section but the final LF counts against WSC_HTTP_TRAILER_MAX. */
        size_t trailer = 0;
        for (;;) {
            NEED();
            if (p[i] == '\n')
                break;
            if (p[i] == '\r') {
                if (++trailer > WSC_HTTP_TRAILER_MAX)
                    FAIL(WSC_EHTTP_TOO_LARGE);
                i++;
                NEED();
                if (p[i] != '\n')
                    FAIL(WSC_EHTTP_CHUNK);
                break;
            }
            if (!field_byte(p[i]) || ows((char)p[i]))
                FAIL(WSC_EHTTP_CHUNK); /* no obs-fold (5.2) */
            for (;;) {
                if (++trailer > WSC_HTTP_TRAILER_MAX)
                    FAIL(WSC_EHTTP_TOO_LARGE);
                i++;
                NEED();
                if (p[i] == '\n')
                    break;
                if (p[i] == '\r') {
                    if (++trailer > WSC_HTTP_TRAILER_MAX)
                        FAIL(WSC_EHTTP_TOO_LARGE);
                    i++;
                    NEED();
                    if (p[i] != '\n')
                        FAIL(WSC_EHTTP_CHUNK);
                    break;
                }
                if (!field_byte(p[i]))
                    FAIL(WSC_EHTTP_CHUNK);
            }
            /* The LF ending a trailer line. */
            if (++trailer > WSC_HTTP_TRAILER_MAX)
                FAIL(WSC_EHTTP_TOO_LARGE);
            i++;
        }
        i++;
        ref_line(log, "CC", b, i);
        *at = i;
        return 0;
    }
#undef NEED
#undef FAIL
}

static void reference(const uint8_t *p, size_t n, enum wsc_http_body_mode mode,
                      uint64_t length, struct fz_log *log)
{
    struct body_acc b = {0, fz_hash(0, NULL, 0)};
    size_t at = 0;
    int rc;
    fz_log_reset(log);
    switch (mode) {
    case WSC_HTTP_BODY_NONE:
        rc = 0;
        break;
    case WSC_HTTP_BODY_LENGTH: {
        uint64_t take = n < length ? n : length;
        b.hash = fz_hash(b.hash, p, (size_t)take);
        b.len = take;
        rc = take < length ? MORE : 0;
        at = (size_t)take;
        break;
    }
    case WSC_HTTP_BODY_CLOSE:
        b.hash = fz_hash(b.hash, p, n);
        b.len = n;
        rc = MORE;
        break;
    default:
        rc = ref_chunked(p, n, log, &b, &at);
        break;
    }
    if (rc == 0)
        ref_line(log, "END", &b, at);
    if (rc < 0) {
        char what[32];
        snprintf(what, sizeof(what), "ERR %d", rc);
        ref_line(log, what, &b, at);
    }
    int eof = rc == MORE ? (mode == WSC_HTTP_BODY_CLOSE ? 0 : WSC_EHTTP_TRUNCATED) : rc;
    fz_log(log, "EOF %d body=%llu#%016llx\n", eof, (unsigned long long)b.len,
           (unsigned long long)b.hash);
}

/* ---- the decoder under test -------------------------------------------- */

struct result {
    struct fz_log head; /* head parse and body mode */
    struct fz_log body; /* body events, offsets from the body's start */
    bool body_started;
    size_t body_start;
    enum wsc_http_body_mode mode;
    uint64_t length;
};

static void run(const struct fz_plan *p, bool chunked, struct result *res)
{
    static const uint64_t lengths[] = {0, 7, 300, UINT64_MAX};
    bool with_head = p->options & 4;
    char *head = malloc(HEAD_CAP);
    struct wsc_header *headers = malloc(HEADERS_CAP * sizeof(*headers));
    struct wsc_handshake hs;
    struct wsc_http_body b;
    struct body_acc acc = {0, fz_hash(0, NULL, 0)};
    FZ_CHECK(head && headers);
    FZ_CHECK(wsc_handshake_init(&hs, NULL, head, HEAD_CAP, headers, HEADERS_CAP) == 0);
    fz_log_reset(&res->head);
    fz_log_reset(&res->body);
    res->body_started = false;
    if (!with_head) {
        res->mode = (enum wsc_http_body_mode)(p->options & 3);
        res->length = lengths[(p->options >> 3) & 3];
        FZ_CHECK(wsc_http_body_init(&b, res->mode, res->length) == 0);
        res->body_started = true;
        res->body_start = 0;
    }

    struct fz_stream st = {0};
    size_t pos = 0, total = 0, chunk = 0;
    int settled = 1; /* 1 = still going */
    do {             /* at least once, so an empty body still reaches the decoder */
        size_t n = fz_chunk(p, chunked, chunk++, p->len - pos);
        fz_push(&st, p->data + pos, n);
        pos += n;
        while (settled == 1) {
            size_t used;
            if (!res->body_started) {
                int rc = wsc_handshake_parse(&hs, st.buf, st.len, &used);
                FZ_CHECK(used <= st.len);
                fz_consume(&st, used);
                total += used;
                if (rc == WSC_EAGAIN) {
                    FZ_CHECK(st.len == 0);
                    break;
                }
                fz_log(&res->head, "HEAD %d status=%d headers=%zu at %zu\n", rc, hs.status,
                       hs.header_count, total);
                if (rc != 0) {
                    settled = rc;
                    break;
                }
                bool head_request = p->options & 8;
                enum wsc_http_body_mode rmode;
                uint64_t rlen;
                int want = ref_mode(&hs, head_request, &rmode, &rlen);
                rc = wsc_http_body_mode_for(&hs, head_request, &res->mode, &res->length);
                FZ_CHECK(rc == want && res->mode == rmode && res->length == rlen);
                fz_log(&res->head, "MODE %d %d %llu\n", rc, (int)res->mode,
                       (unsigned long long)res->length);
                if (rc != 0) {
                    settled = rc;
                    break;
                }
                FZ_CHECK(wsc_http_body_init(&b, res->mode, res->length) == 0);
                res->body_started = true;
                res->body_start = total;
                continue;
            }
            struct wsc_http_body_event ev;
            int rc = wsc_http_body_decode(&b, st.buf, st.len, &used, &ev);
            FZ_CHECK(used <= st.len);
            size_t at = total + used - res->body_start;
            if (rc == WSC_EAGAIN) {
                FZ_CHECK(used == st.len);
            } else if (rc == 0 && ev.type == WSC_HTTP_BODY_DATA) {
                FZ_CHECK(ev.len > 0 && ev.data + ev.len == st.buf + used);
                FZ_CHECK(ev.data >= st.buf);
                FZ_CHECK(memcmp(ev.data, p->data + total + used - ev.len, ev.len) == 0);
                acc.hash = fz_hash(acc.hash, ev.data, ev.len);
                acc.len += ev.len;
            } else if (rc == 0) {
                const char *what = ev.type == WSC_HTTP_BODY_CHUNK_COMPLETE ? "CC" : "END";
                char buf[48];
                if (ev.type == WSC_HTTP_BODY_CHUNK_HEADER) {
                    snprintf(buf, sizeof(buf), "CH %llu",
                             (unsigned long long)ev.chunk_size);
                    what = buf;
                }
                ref_line(&res->body, what, &acc, at);
                if (ev.type == WSC_HTTP_BODY_END) {
                    FZ_CHECK(wsc_http_body_done(&b));
                    settled = 0;
                }
            } else {
                FZ_CHECK(rc == WSC_EHTTP_CHUNK || rc == WSC_EHTTP_TOO_LARGE);
                char buf[32];
                snprintf(buf, sizeof(buf), "ERR %d", rc);
                ref_line(&res->body, buf, &acc, at);
                settled = rc;
            }
            fz_consume(&st, used);
            total += used;
            if (settled != 1) {
                /* Sticky: nothing more is consumed, the same answer again. */
                size_t again;
                struct wsc_http_body_event ev2;
                FZ_CHECK(wsc_http_body_decode(&b, st.buf, st.len, &again, &ev2) ==
                             settled &&
                         again == 0);
                if (settled == 0)
                    FZ_CHECK(ev2.type == WSC_HTTP_BODY_END);
            }
            if (rc == WSC_EAGAIN)
                break;
        }
    } while (pos < p->len);
    if (!res->body_started) {
        fz_log(&res->head, "HEAD-END %d at %zu\n", settled, total);
    } else {
        /* A caller that stops at an error never reports the end of the
         * stream; the reference says what eof() then returns anyway. */
        struct wsc_http_body_event ev;
        int rc = wsc_http_body_eof(&b, &ev);
        if (rc == 0)
            FZ_CHECK(ev.type == WSC_HTTP_BODY_END && wsc_http_body_done(&b));
        fz_log(&res->body, "EOF %d body=%llu#%016llx\n", rc, (unsigned long long)acc.len,
               (unsigned long long)acc.hash);
    }
    fz_free(&st);
    free(head);
    free(headers);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct result whole, chunked;
    static struct fz_log ref;
    struct fz_plan p;
    if (!fz_plan_parse(data, size, &p))
        return 0;
    run(&p, false, &whole);
    run(&p, true, &chunked);
    fz_compare(&whole.head, &chunked.head);
    fz_compare(&whole.body, &chunked.body);
    if (whole.body_started) {
        reference(p.data + whole.body_start, p.len - whole.body_start, whole.mode,
                  whole.length, &ref);
        fz_compare(&ref, &whole.body);
    }
    return 0;
}
