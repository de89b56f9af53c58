/*
 * HTTP/1.1 response bodies (RFC 9112 6 and 7): the choice between
 * Content-Length, chunked and close-delimited framing, and a decoder that
 * removes the chunk framing and stops exactly at the end of the body.
 */
#include <string.h>

#include "core/wsc_internal.h"

/* One state per thing the decoder waits for. */
enum state {
    ST_LENGTH,       /* LENGTH: body bytes, b->remaining of them */
    ST_CLOSE,        /* CLOSE: body bytes until end of stream */
    ST_SIZE_FIRST,   /* CHUNKED: the first hex digit of a chunk size */
    ST_SIZE,         /* more hex digits, or what ends them */
    ST_SIZE_WS,      /* whitespace after the digits; only ';' may follow */
    ST_EXT,          /* a chunk extension, skipped up to the line end */
    ST_SIZE_LF,      /* the LF after the chunk-size line's CR */
    ST_DATA,         /* chunk data, b->remaining bytes */
    ST_DATA_END,     /* the CRLF after chunk data */
    ST_DATA_LF,      /* its LF */
    ST_TRAILER,      /* the start of a trailer line, or the final empty line */
    ST_TRAILER_LINE, /* inside a trailer line */
    ST_TRAILER_LF,   /* the LF after a trailer line's CR */
    ST_LAST_LF,      /* the LF of the empty line that ends the body */
    ST_DONE,         /* complete: END from now on */
};

static bool is_hex(uint8_t c, unsigned *v)
{
    if (c >= '0' && c <= '9')
        *v = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
        *v = (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
        *v = (unsigned)(c - 'A' + 10);
    else
        return false;
    return true;
}

/* Bytes a chunk extension or trailer field may hold: VCHAR, SP, HTAB, obs-text. */
static bool is_field_byte(uint8_t c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

/* ---- framing choice --------------------------------------------------- */

static bool is_ows(char c) { return c == ' ' || c == '\t'; }

/*
 * RFC 9110 8.6: Content-Length is 1*DIGIT; a list of identical values (from a
 * proxy that merged duplicates) is accepted as that value, anything else not.
 */
static int parse_length(const char *p, size_t n, bool *seen, uint64_t *out)
{
    const char *end = p + n;
    if (n == 0)
        return WSC_EHTTP_LENGTH;
    /* Every element is checked, the one after a trailing comma too ("5," is
     * as malformed as ",5"). */
    for (;;) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        const char *te = c ? c : end;
        while (p < te && is_ows(*p))
            p++;
        while (te > p && is_ows(te[-1]))
            te--;
        if (p == te)
            return WSC_EHTTP_LENGTH;
        uint64_t v = 0;
        for (; p < te; p++) {
            if (*p < '0' || *p > '9')
                return WSC_EHTTP_LENGTH;
            uint64_t d = (uint64_t)(*p - '0');
            if (v > (UINT64_MAX - d) / 10)
                return WSC_EHTTP_LENGTH; /* beyond 64 bits */
            v = v * 10 + d;
        }
        if (*seen && v != *out)
            return WSC_EHTTP_LENGTH;
        *seen = true;
        *out = v;
        if (!c)
            return 0;
        p = c + 1;
    }
}

/* The last transfer coding named by all Transfer-Encoding fields, as a span. */
static bool last_coding(const struct wsc_handshake *hs, const char **name, size_t *len)
{
    bool any = false;
    for (size_t i = 0; i < hs->header_count; i++) {
        const struct wsc_header *h = &hs->headers[i];
        if (!wsc__ieq(h->name, h->name_len, "transfer-encoding"))
            continue;
        any = true;
        const char *p = h->value, *end = h->value + h->value_len;
        while (p < end) {
            const char *c = memchr(p, ',', (size_t)(end - p));
            const char *te = c ? c : end;
            const char *semi = memchr(p, ';', (size_t)(te - p)); /* coding parameters */
            const char *ne = semi ? semi : te;
            while (p < ne && is_ows(*p))
                p++;
            while (ne > p && is_ows(ne[-1]))
                ne--;
            if (ne > p) {
                *name = p;
                *len = (size_t)(ne - p);
            }
            p = c ? c + 1 : end;
        }
    }
    return any;
}

int wsc_http_body_mode_for(const struct wsc_handshake *hs, bool head_request,
                           enum wsc_http_body_mode *mode, uint64_t *length)
{
    *mode = WSC_HTTP_BODY_NONE;
    *length = 0;
    /* RFC 9112 6.3 rule 1: these responses never have content. */
    if (head_request || (hs->status >= 100 && hs->status < 200) || hs->status == 204 ||
        hs->status == 304)
        return 0;
    /* Rule 4: the final coding decides; Transfer-Encoding overrides Content-Length. */
    const char *coding = "";
    size_t coding_len = 0;
    if (last_coding(hs, &coding, &coding_len)) {
        *mode = wsc__ieq(coding, coding_len, "chunked") ? WSC_HTTP_BODY_CHUNKED
                                                        : WSC_HTTP_BODY_CLOSE;
        return 0;
    }
    /* Rule 5 (and 6.3's note on lists): every Content-Length must agree. */
    bool seen = false;
    for (size_t i = 0; i < hs->header_count; i++) {
        const struct wsc_header *h = &hs->headers[i];
        if (!wsc__ieq(h->name, h->name_len, "content-length"))
            continue;
        int rc = parse_length(h->value, h->value_len, &seen, length);
        if (rc) {
            *length = 0;
            return rc;
        }
    }
    /* Rule 8: otherwise the body runs until the server closes. */
    *mode = seen ? WSC_HTTP_BODY_LENGTH : WSC_HTTP_BODY_CLOSE;
    return 0;
}

/* ---- decoder ---------------------------------------------------------- */

int wsc_http_body_init(struct wsc_http_body *b, enum wsc_http_body_mode mode,
                       uint64_t length)
{
    if (!b)
        return WSC_EINVAL;
    memset(b, 0, sizeof(*b));
    b->mode = (uint8_t)mode;
    switch (mode) {
    case WSC_HTTP_BODY_NONE:
        b->state = ST_DONE;
        return 0;
    case WSC_HTTP_BODY_LENGTH:
        b->remaining = length;
        b->state = length ? ST_LENGTH : ST_DONE;
        return 0;
    case WSC_HTTP_BODY_CHUNKED:
        b->state = ST_SIZE_FIRST;
        return 0;
    case WSC_HTTP_BODY_CLOSE:
        b->state = ST_CLOSE;
        return 0;
    }
    return WSC_EINVAL;
}

bool wsc_http_body_done(const struct wsc_http_body *b) { return b->state == ST_DONE; }

static int fail(struct wsc_http_body *b, int err, size_t at, size_t *consumed)
{
    b->error = err;
    *consumed = at;
    return err;
}

/* A body span of up to b->remaining bytes (all of them in CLOSE mode). */
static void data_event(struct wsc_http_body *b, const uint8_t *p, size_t avail,
                       size_t *took, struct wsc_http_body_event *ev)
{
    size_t n = avail;
    if (b->state != ST_CLOSE && (uint64_t)n > b->remaining)
        n = (size_t)b->remaining;
    if (b->state != ST_CLOSE)
        b->remaining -= n;
    memset(ev, 0, sizeof(*ev));
    ev->type = WSC_HTTP_BODY_DATA;
    ev->data = p;
    ev->len = n;
    *took = n;
}

static void simple_event(struct wsc_http_body_event *ev, enum wsc_http_body_event_type t,
                         uint64_t chunk_size)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = t;
    ev->chunk_size = chunk_size;
}

int wsc_http_body_decode(struct wsc_http_body *b, const uint8_t *in, size_t len,
                         size_t *consumed, struct wsc_http_body_event *ev)
{
    size_t i = 0;
    *consumed = 0;
    if (b->error)
        return b->error;
    while (b->state != ST_DONE && i < len) {
        uint8_t c = in[i];
        unsigned v;
        switch (b->state) {
        case ST_LENGTH:
        case ST_CLOSE:
        case ST_DATA: {
            size_t took;
            data_event(b, in + i, len - i, &took, ev);
            i += took;
            if (b->state == ST_LENGTH && b->remaining == 0)
                b->state = ST_DONE;
            else if (b->state == ST_DATA && b->remaining == 0)
                b->state = ST_DATA_END;
            *consumed = i;
            return 0;
        }
        case ST_SIZE_FIRST:
        case ST_SIZE:
            if (is_hex(c, &v)) {
                /* RFC 9112 7.1: the size must fit; leading zeros are fine. */
                if (b->chunk_size > (UINT64_MAX >> 4))
                    return fail(b, WSC_EHTTP_CHUNK, i, consumed);
                b->chunk_size = b->chunk_size << 4 | v;
                b->state = ST_SIZE;
                break;
            }
            if (b->state == ST_SIZE_FIRST)
                return fail(b, WSC_EHTTP_CHUNK, i, consumed);
            if (c == ';')
                b->state = ST_EXT;
            else if (c == ' ' || c == '\t')
                b->state = ST_SIZE_WS; /* BWS, allowed only before ';' (7.1.1) */
            else if (c == '\r')
                b->state = ST_SIZE_LF;
            else if (c == '\n')
                goto size_line_done; /* 2.2: a bare LF may end a line */
            else
                return fail(b, WSC_EHTTP_CHUNK, i, consumed);
            break;
        case ST_SIZE_WS:
            if (c == ';')
                b->state = ST_EXT;
            else if (c != ' ' && c != '\t')
                return fail(b, WSC_EHTTP_CHUNK, i, consumed);
            break;
        case ST_EXT:
            if (c == '\r')
                b->state = ST_SIZE_LF;
            else if (c == '\n')
                goto size_line_done;
            else if (!is_field_byte(c))
                return fail(b, WSC_EHTTP_CHUNK, i, consumed);
            break;
        case ST_SIZE_LF:
            if (c != '\n')
                return fail(b, WSC_EHTTP_CHUNK, i, consumed);
        size_line_done:
            i++;
            *consumed = i;
            simple_event(ev, WSC_HTTP_BODY_CHUNK_HEADER, b->chunk_size);
            b->line_len = 0;
            b->remaining = b->chunk_size;
            b->state = b->chunk_size ? ST_DATA : ST_TRAILER;
            b->chunk_size = 0;
            return 0;
        case ST_DATA_END:
            if (c == '\r') {
                b->state = ST_DATA_LF;
                break;
            }
            if (c == '\n')
                goto chunk_done; /* 2.2: a bare LF may end a line */
            return fail(b, WSC_EHTTP_CHUNK, i, consumed);
        case ST_DATA_LF:
            if (c != '\n')
                return fail(b, WSC_EHTTP_CHUNK, i, consumed);
        chunk_done:
            i++;
            *consumed = i;
            simple_event(ev, WSC_HTTP_BODY_CHUNK_COMPLETE, 0);
            b->state = ST_SIZE_FIRST;
            return 0;
        case ST_TRAILER:
            if (c == '\r') {
                b->state = ST_LAST_LF;
                break;
            }
            if (c == '\n')
                goto body_done;
            if (!is_field_byte(c) || c == ' ' || c == '\t')
                return fail(b, WSC_EHTTP_CHUNK, i, consumed); /* no obs-fold (5.2) */
            b->state = ST_TRAILER_LINE;
            break;
        case ST_TRAILER_LINE:
            if (c == '\r')
                b->state = ST_TRAILER_LF;
            else if (c == '\n')
                b->state = ST_TRAILER;
            else if (!is_field_byte(c))
                return fail(b, WSC_EHTTP_CHUNK, i, consumed);
            break;
        case ST_TRAILER_LF:
            if (c != '\n')
                return fail(b, WSC_EHTTP_CHUNK, i, consumed);
            b->state = ST_TRAILER;
            break;
        case ST_LAST_LF:
            if (c != '\n')
                return fail(b, WSC_EHTTP_CHUNK, i, consumed);
        body_done:
            i++;
            *consumed = i;
            simple_event(ev, WSC_HTTP_BODY_CHUNK_COMPLETE, 0);
            b->state = ST_DONE;
            return 0;
        default:
            return fail(b, WSC_EINVAL, i, consumed);
        }
        /* Only line bytes get here. A chunk-size line's limit leaves out its
         * line end; the trailer section's counts every byte. */
        if (b->state >= ST_SIZE && b->state <= ST_EXT) {
            if (++b->line_len > WSC_HTTP_CHUNK_LINE_MAX)
                return fail(b, WSC_EHTTP_TOO_LARGE, i, consumed);
        } else if (b->state >= ST_TRAILER && b->state <= ST_LAST_LF) {
            if (++b->trailer_len > WSC_HTTP_TRAILER_MAX)
                return fail(b, WSC_EHTTP_TOO_LARGE, i, consumed);
        }
        i++;
    }
    *consumed = i;
    if (b->state == ST_DONE) {
        simple_event(ev, WSC_HTTP_BODY_END, 0);
        return 0;
    }
    return WSC_EAGAIN;
}

int wsc_http_body_eof(struct wsc_http_body *b, struct wsc_http_body_event *ev)
{
    if (b->error)
        return b->error;
    if (b->state == ST_CLOSE)
        b->state = ST_DONE; /* RFC 9112 6.3 rule 8: the close ends the body */
    if (b->state != ST_DONE)
        return b->error = WSC_EHTTP_TRUNCATED;
    simple_event(ev, WSC_HTTP_BODY_END, 0);
    return 0;
}
