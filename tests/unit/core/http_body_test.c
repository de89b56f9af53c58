/*
 * HTTP/1.1 response bodies (RFC 9112 6.3 and 7.1): the framing choice from a
 * parsed head, and the body decoder. Decoder cases are bytes in plus the
 * expected event log, run through wsc_test_each_chunking(): whole, split in
 * two at every offset, one byte per call and seeded random chunkings, each
 * chunk in an exact-size heap block. The log joins adjacent body spans, so it
 * is the same for every chunking, and records the cumulative consumed count
 * at the end of the body or at an error: never a byte past the body.
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

/* ---- decoder table ----------------------------------------------------- */

struct body_case {
    const char *name;
    enum wsc_http_body_mode mode;
    uint64_t length; /* LENGTH mode */
    bool eof;        /* the stream ends after the input */
    const char *in;
    const char *expect;
};

/* Body bytes gathered until the next non-body event, then logged as one line. */
struct gather {
    char buf[16384];
    size_t len;
};

static void flush_body(struct gather *g, struct wsc_test_log *log)
{
    if (!g->len)
        return;
    if (g->len <= 64)
        wsc_test_log_printf(log, "DATA '%.*s'\n", (int)g->len, g->buf);
    else
        wsc_test_log_printf(log, "DATA %zu bytes\n", g->len);
    g->len = 0;
}

static void body_run(void *ctx, const uint8_t *data, size_t len, const size_t *bounds,
                     size_t nbounds, struct wsc_test_log *log)
{
    const struct body_case *c = ctx;
    struct wsc_http_body b;
    struct wsc_test_stream st = {0};
    static struct gather g;
    size_t total = 0, start = 0;
    bool stop = false, ended = false;
    g.len = 0;
    assert_int_equal(wsc_http_body_init(&b, c->mode, c->length), 0);
    for (size_t k = 0; k < nbounds && !stop; k++) {
        wsc_test_stream_push(&st, data + start, bounds[k] - start);
        start = bounds[k];
        size_t used = 0;
        for (;;) {
            wsc_test_stream_consume(&st, used); /* ev.data pointed into these bytes */
            size_t avail;
            const uint8_t *in = wsc_test_stream_data(&st, &avail);
            struct wsc_http_body_event ev;
            used = 12345;
            int rc = wsc_http_body_decode(&b, in, avail, &used, &ev);
            if (used > avail) {
                wsc_test_log_printf(log, "BAD consumed %zu of %zu\n", used, avail);
                stop = true;
                break;
            }
            total += used;
            if (rc == WSC_EAGAIN) {
                if (used != avail)
                    wsc_test_log_printf(log, "BAD EAGAIN left %zu\n", avail - used);
                wsc_test_stream_consume(&st, used);
                break;
            }
            if (rc) {
                flush_body(&g, log);
                wsc_test_log_printf(log, "ERR %d at=%zu\n", rc, total);
                /* The error sticks. */
                if (wsc_http_body_decode(&b, in, avail, &used, &ev) != rc || used != 0)
                    wsc_test_log_printf(log, "BAD error not sticky\n");
                stop = true;
                break;
            }
            switch (ev.type) {
            case WSC_HTTP_BODY_DATA:
                if (ev.len == 0 || ev.data < in || ev.data + ev.len > in + used ||
                    g.len + ev.len > sizeof(g.buf))
                    wsc_test_log_printf(log, "BAD data span\n");
                else
                    memcpy(g.buf + g.len, ev.data, ev.len), g.len += ev.len;
                break;
            case WSC_HTTP_BODY_CHUNK_HEADER:
                flush_body(&g, log);
                wsc_test_log_printf(log, "CHUNK %llu\n", (unsigned long long)ev.chunk_size);
                break;
            case WSC_HTTP_BODY_CHUNK_COMPLETE:
                flush_body(&g, log);
                wsc_test_log_printf(log, "CHUNK-END\n");
                break;
            case WSC_HTTP_BODY_END:
                flush_body(&g, log);
                wsc_test_log_printf(log, "END at=%zu\n", total);
                if (!wsc_http_body_done(&b))
                    wsc_test_log_printf(log, "BAD not done\n");
                /* END repeats and consumes nothing: the rest is not the body's. */
                if (wsc_http_body_decode(&b, in + used, avail - used, &used, &ev) != 0 ||
                    ev.type != WSC_HTTP_BODY_END || used != 0)
                    wsc_test_log_printf(log, "BAD END not repeated\n");
                ended = stop = true;
                break;
            }
            if (stop)
                break;
        }
    }
    flush_body(&g, log);
    if (ended) {
        wsc_test_log_printf(log, "LEFT '%.*s'\n", (int)(len - total), (const char *)data + total);
    } else if (!stop && c->eof) {
        struct wsc_http_body_event ev;
        int rc = wsc_http_body_eof(&b, &ev);
        if (rc == 0 && ev.type == WSC_HTTP_BODY_END)
            wsc_test_log_printf(log, "EOF-END at=%zu\n", total);
        else
            wsc_test_log_printf(log, "EOF-ERR %d at=%zu\n", rc, total);
    } else if (!stop) {
        wsc_test_log_printf(log, "WAIT at=%zu\n", total);
    }
    wsc_test_stream_free(&st);
}

#define E_CHUNK "-1061"
#define E_TRUNC "-1062"
#define E_LARGE "-1063"

static const struct body_case cases[] = {
    {"content-length stops at the end of the body", WSC_HTTP_BODY_LENGTH, 5, false,
     "helloNEXT", "DATA 'hello'\nEND at=5\nLEFT 'NEXT'\n"},
    {"content-length 0 consumes nothing", WSC_HTTP_BODY_LENGTH, 0, false, "abc",
     "END at=0\nLEFT 'abc'\n"},
    {"no body consumes nothing", WSC_HTTP_BODY_NONE, 0, false, "xyz",
     "END at=0\nLEFT 'xyz'\n"},
    {"content-length waits for the rest", WSC_HTTP_BODY_LENGTH, 10, false, "abc",
     "DATA 'abc'\nWAIT at=3\n"},
    {"content-length cut short by the close", WSC_HTTP_BODY_LENGTH, 10, true, "abc",
     "DATA 'abc'\nEOF-ERR " E_TRUNC " at=3\n"},
    {"close-delimited body ends at the close", WSC_HTTP_BODY_CLOSE, 0, true, "anything\r\n0",
     "DATA 'anything\r\n0'\nEOF-END at=11\n"},
    {"chunked: two chunks, the last chunk, then the next response",
     WSC_HTTP_BODY_CHUNKED, 0, false, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT",
     "CHUNK 5\nDATA 'hello'\nCHUNK-END\nCHUNK 6\nDATA ' world'\nCHUNK-END\nCHUNK 0\n"
     "CHUNK-END\nEND at=26\nLEFT 'NEXT'\n"},
    {"chunked: upper-case hex, leading zeros and extensions are skipped",
     WSC_HTTP_BODY_CHUNKED, 0, false,
     "0A;name=value;q=\"x y\"\r\n0123456789\r\n000;last\r\n\r\n",
     "CHUNK 10\nDATA '0123456789'\nCHUNK-END\nCHUNK 0\nCHUNK-END\nEND at=47\nLEFT ''\n"},
    {"chunked: whitespace before an extension", WSC_HTTP_BODY_CHUNKED, 0, false,
     "3 \t;ext\r\nabc\r\n0\r\n\r\n",
     "CHUNK 3\nDATA 'abc'\nCHUNK-END\nCHUNK 0\nCHUNK-END\nEND at=19\nLEFT ''\n"},
    {"chunked: trailer fields are skipped", WSC_HTTP_BODY_CHUNKED, 0, false,
     "3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\nNEXT",
     "CHUNK 3\nDATA 'abc'\nCHUNK-END\nCHUNK 0\nCHUNK-END\nEND at=39\nLEFT 'NEXT'\n"},
    {"chunked: bare LF line ends", WSC_HTTP_BODY_CHUNKED, 0, false, "3\nabc\n0\nX: y\n\nZ",
     "CHUNK 3\nDATA 'abc'\nCHUNK-END\nCHUNK 0\nCHUNK-END\nEND at=14\nLEFT 'Z'\n"},
    {"chunked: CRLF bytes inside chunk data are data", WSC_HTTP_BODY_CHUNKED, 0, false,
     "4\r\n\r\n\r\n\r\n0\r\n\r\n",
     "CHUNK 4\nDATA '\r\n\r\n'\nCHUNK-END\nCHUNK 0\nCHUNK-END\nEND at=14\nLEFT ''\n"},
    {"chunked: whitespace without an extension", WSC_HTTP_BODY_CHUNKED, 0, false,
     "3 \r\nabc", "ERR " E_CHUNK " at=2\n"},
    {"chunked: not a hex digit", WSC_HTTP_BODY_CHUNKED, 0, false, "g\r\n",
     "ERR " E_CHUNK " at=0\n"},
    {"chunked: empty size line", WSC_HTTP_BODY_CHUNKED, 0, false, "\r\n0\r\n\r\n",
     "ERR " E_CHUNK " at=0\n"},
    {"chunked: sign before the size", WSC_HTTP_BODY_CHUNKED, 0, false, "+5\r\nhello",
     "ERR " E_CHUNK " at=0\n"},
    {"chunked: junk after the size", WSC_HTTP_BODY_CHUNKED, 0, false, "5x\r\nhello",
     "ERR " E_CHUNK " at=1\n"},
    {"chunked: CR without LF after the size", WSC_HTTP_BODY_CHUNKED, 0, false, "5\rhello",
     "ERR " E_CHUNK " at=2\n"},
    {"chunked: data longer than its size", WSC_HTTP_BODY_CHUNKED, 0, false, "3\r\nabcd\r\n",
     "CHUNK 3\nDATA 'abc'\nERR " E_CHUNK " at=6\n"},
    {"chunked: CR then junk after data", WSC_HTTP_BODY_CHUNKED, 0, false, "3\r\nabc\rX",
     "CHUNK 3\nDATA 'abc'\nERR " E_CHUNK " at=7\n"},
    {"chunked: a size over 64 bits", WSC_HTTP_BODY_CHUNKED, 0, false,
     "10000000000000000\r\n", "ERR " E_CHUNK " at=16\n"},
    {"chunked: the largest size, cut short", WSC_HTTP_BODY_CHUNKED, 0, true,
     "ffffffffffffffff\r\nab", "CHUNK 18446744073709551615\nDATA 'ab'\nEOF-ERR " E_TRUNC
                              " at=20\n"},
    {"chunked: a control byte in an extension", WSC_HTTP_BODY_CHUNKED, 0, false,
     "1;a\001b\r\nx", "ERR " E_CHUNK " at=3\n"},
    {"chunked: obs-fold in the trailers", WSC_HTTP_BODY_CHUNKED, 0, false,
     "0\r\n folded\r\n\r\n", "CHUNK 0\nERR " E_CHUNK " at=3\n"},
    {"chunked: CR without LF in a trailer", WSC_HTTP_BODY_CHUNKED, 0, false,
     "0\r\nX: y\rz\r\n\r\n", "CHUNK 0\nERR " E_CHUNK " at=8\n"},
    {"chunked: CR then junk at the last line", WSC_HTTP_BODY_CHUNKED, 0, false,
     "0\r\n\rX", "CHUNK 0\nERR " E_CHUNK " at=4\n"},
    {"chunked: cut short inside the trailers", WSC_HTTP_BODY_CHUNKED, 0, true,
     "0\r\nX: y\r\n", "CHUNK 0\nEOF-ERR " E_TRUNC " at=9\n"},
};

static void decoder_cases_agree_for_every_chunking(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct body_case *c = &cases[i];
        size_t n = strlen(c->in);
        print_message("case: %s\n", c->name);
        wsc_test_each_chunking((const uint8_t *)c->in, n, c->expect, body_run, (void *)c);
    }
}

/* RFC 9112 7.1.1 has no limit; a client needs one, reported at the first
 * byte past it. */
static void chunk_line_and_trailer_limits(void **state)
{
    (void)state;
    static char line[WSC_HTTP_CHUNK_LINE_MAX + 64];
    size_t n = 0;
    n += (size_t)sprintf(line, "1;");
    while (n < WSC_HTTP_CHUNK_LINE_MAX + 40)
        line[n++] = 'a';
    line[n] = '\0';
    char expect[64];
    snprintf(expect, sizeof(expect), "ERR " E_LARGE " at=%d\n", WSC_HTTP_CHUNK_LINE_MAX);
    struct body_case c = {"long chunk line", WSC_HTTP_BODY_CHUNKED, 0, false, line, expect};
    wsc_test_each_chunking((const uint8_t *)line, n, expect, body_run, &c);

    /* Exactly at the limit is fine. */
    n = (size_t)sprintf(line, "1;");
    while (n < WSC_HTTP_CHUNK_LINE_MAX)
        line[n++] = 'b';
    n += (size_t)sprintf(line + n, "\r\nx\r\n0\r\n\r\n");
    struct wsc_http_body b;
    struct wsc_http_body_event ev;
    size_t used, pos = 0;
    wsc_http_body_init(&b, WSC_HTTP_BODY_CHUNKED, 0);
    int events = 0;
    while (wsc_http_body_decode(&b, (const uint8_t *)line + pos, n - pos, &used, &ev) == 0) {
        pos += used;
        events++;
        if (ev.type == WSC_HTTP_BODY_END)
            break;
    }
    assert_int_equal(ev.type, WSC_HTTP_BODY_END);
    assert_int_equal(pos, n);
    assert_int_equal(events, 6);

    static char trailer[WSC_HTTP_TRAILER_MAX + 64];
    n = (size_t)sprintf(trailer, "0\r\n");
    while (n < WSC_HTTP_TRAILER_MAX + 40)
        n += (size_t)sprintf(trailer + n, "X: 123456\r\n");
    snprintf(expect, sizeof(expect), "CHUNK 0\nERR " E_LARGE " at=%d\n",
             WSC_HTTP_TRAILER_MAX + 3);
    struct body_case t = {"long trailers", WSC_HTTP_BODY_CHUNKED, 0, false, trailer, expect};
    wsc_test_each_chunking((const uint8_t *)trailer, n, expect, body_run, &t);
}

/* Large bodies: spans stay inside the input, and every byte arrives once. */
static void large_chunked_body_is_delivered_once(void **state)
{
    (void)state;
    size_t cap = 20000, n = 0, body = 0;
    char *in = malloc(cap);
    assert_non_null(in);
    for (size_t size = 1; size < 300; size = size * 3 + 1) {
        n += (size_t)sprintf(in + n, "%zx\r\n", size);
        for (size_t i = 0; i < size; i++)
            in[n++] = (char)('a' + (body + i) % 26);
        body += size;
        n += (size_t)sprintf(in + n, "\r\n");
    }
    n += (size_t)sprintf(in + n, "0\r\n\r\n");
    struct body_case c = {"large", WSC_HTTP_BODY_CHUNKED, 0, false, in, NULL};
    wsc_test_each_chunking((const uint8_t *)in, n, NULL, body_run, &c);
    free(in);
}

/* ---- framing choice ----------------------------------------------------- */

struct mode_case {
    const char *head;
    bool head_request;
    int rc;
    enum wsc_http_body_mode mode;
    uint64_t length;
};

static const struct mode_case modes[] = {
    {"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", false, 0, WSC_HTTP_BODY_LENGTH, 12},
    {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, 0, WSC_HTTP_BODY_LENGTH, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", false, 0, WSC_HTTP_BODY_LENGTH, 5},
    {"HTTP/1.1 200 OK\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n", false, 0,
     WSC_HTTP_BODY_LENGTH, 7},
    {"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n", false, 0,
     WSC_HTTP_BODY_LENGTH, UINT64_MAX},
    {"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", false, WSC_EHTTP_LENGTH,
     WSC_HTTP_BODY_NONE, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", false,
     WSC_EHTTP_LENGTH, WSC_HTTP_BODY_NONE, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", false, WSC_EHTTP_LENGTH,
     WSC_HTTP_BODY_NONE, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, WSC_EHTTP_LENGTH,
     WSC_HTTP_BODY_NONE, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", false, WSC_EHTTP_LENGTH,
     WSC_HTTP_BODY_NONE, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n", false,
     WSC_EHTTP_LENGTH, WSC_HTTP_BODY_NONE, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", false, WSC_EHTTP_LENGTH,
     WSC_HTTP_BODY_NONE, 0},
    /* Empty list elements are refused wherever they are (found by http_body_fuzz). */
    {"HTTP/1.1 200 OK\r\nContent-Length: 1,\r\n\r\n", false, WSC_EHTTP_LENGTH,
     WSC_HTTP_BODY_NONE, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 5, 5 ,\r\n\r\n", false, WSC_EHTTP_LENGTH,
     WSC_HTTP_BODY_NONE, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: ,5\r\n\r\n", false, WSC_EHTTP_LENGTH,
     WSC_HTTP_BODY_NONE, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, 0,
     WSC_HTTP_BODY_CHUNKED, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nContent-Length: 3\r\n\r\n", false, 0,
     WSC_HTTP_BODY_CHUNKED, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, 0,
     WSC_HTTP_BODY_CHUNKED, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
     false, 0, WSC_HTTP_BODY_CHUNKED, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", false, 0,
     WSC_HTTP_BODY_CLOSE, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", false, 0,
     WSC_HTTP_BODY_CHUNKED, 0},
    {"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", false, 0, WSC_HTTP_BODY_CLOSE, 0},
    {"HTTP/1.0 200 OK\r\n\r\n", false, 0, WSC_HTTP_BODY_CLOSE, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", true, 0, WSC_HTTP_BODY_NONE, 0},
    {"HTTP/1.1 204 No Content\r\nContent-Length: 12\r\n\r\n", false, 0, WSC_HTTP_BODY_NONE, 0},
    {"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", false, 0,
     WSC_HTTP_BODY_NONE, 0},
    {"HTTP/1.1 100 Continue\r\n\r\n", false, 0, WSC_HTTP_BODY_NONE, 0},
    {"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n", false, 0, WSC_HTTP_BODY_LENGTH, 9},
};

static void body_mode_follows_rfc_9112_section_6_3(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        const struct mode_case *m = &modes[i];
        struct wsc_handshake hs;
        char head[512];
        struct wsc_header headers[8];
        size_t used;
        assert_int_equal(wsc_handshake_init(&hs, NULL, head, sizeof(head), headers, 8), 0);
        assert_int_equal(wsc_handshake_parse(&hs, (const uint8_t *)m->head, strlen(m->head),
                                             &used),
                         0);
        enum wsc_http_body_mode mode = (enum wsc_http_body_mode)99;
        uint64_t length = 99;
        int rc = wsc_http_body_mode_for(&hs, m->head_request, &mode, &length);
        if (rc != m->rc || mode != m->mode || length != m->length) {
            print_error("head %zu: rc %d mode %d length %llu\n%s", i, rc, (int)mode,
                        (unsigned long long)length, m->head);
            fail();
        }
    }
}

static void init_rejects_an_unknown_mode(void **state)
{
    (void)state;
    struct wsc_http_body b;
    assert_int_equal(wsc_http_body_init(&b, (enum wsc_http_body_mode)7, 0), WSC_EINVAL);
    assert_int_equal(wsc_http_body_init(NULL, WSC_HTTP_BODY_NONE, 0), WSC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decoder_cases_agree_for_every_chunking),
        cmocka_unit_test(chunk_line_and_trailer_limits),
        cmocka_unit_test(large_chunked_body_is_delivered_once),
        cmocka_unit_test(body_mode_follows_rfc_9112_section_6_3),
        cmocka_unit_test(init_rejects_an_unknown_mode),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    print_message("%zu chunkings run\n", wsc_test_chunkings_run);
    return rc;
}
