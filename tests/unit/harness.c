#include "harness.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

size_t wsc_test_chunkings_run;

void wsc_test_log_printf(struct wsc_test_log *log, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = sizeof(log->text) - log->len;
    int n = vsnprintf(log->text + log->len, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        log->len += (size_t)n < room ? (size_t)n : room - 1;
}

void wsc_test_stream_push(struct wsc_test_stream *s, const uint8_t *chunk, size_t len)
{
    /* A fresh block of exactly the unconsumed size: over-reads hit the redzone. */
    uint8_t *b = malloc(s->len + len ? s->len + len : 1);
    assert_non_null(b);
    if (s->len)
        memcpy(b, s->buf, s->len);
    if (len)
        memcpy(b + s->len, chunk, len);
    free(s->buf);
    s->buf = b;
    s->len += len;
}

const uint8_t *wsc_test_stream_data(const struct wsc_test_stream *s, size_t *len)
{
    *len = s->len;
    return s->buf;
}

void wsc_test_stream_consume(struct wsc_test_stream *s, size_t n)
{
    assert_true(n <= s->len);
    size_t rest = s->len - n;
    uint8_t *b = malloc(rest ? rest : 1);
    assert_non_null(b);
    if (rest)
        memcpy(b, s->buf + n, rest);
    free(s->buf);
    s->buf = b;
    s->len = rest;
}

void wsc_test_stream_free(struct wsc_test_stream *s)
{
    free(s->buf);
    s->buf = NULL;
    s->len = 0;
}

static void check_run(const uint8_t *data, size_t len, const size_t *bounds, size_t n,
                      const char *expected, wsc_test_run_fn run, void *ctx,
                      const char *what)
{
    static struct wsc_test_log log;
    log.len = 0;
    log.text[0] = '\0';
    run(ctx, data, len, bounds, n, &log);
    wsc_test_chunkings_run++;
    if (strcmp(log.text, expected) != 0) {
        print_error("chunking %s (%zu chunks; first bound %zu) gave:\n%s\nexpected:\n%s\n",
                    what, n, n ? bounds[0] : 0, log.text, expected);
        fail();
    }
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

size_t wsc_test_each_chunking(const uint8_t *data, size_t len, const char *expected,
                              wsc_test_run_fn run, void *ctx)
{
    size_t before = wsc_test_chunkings_run;
    size_t *bounds = malloc((len + 1) * sizeof(size_t));
    assert_non_null(bounds);
    static struct wsc_test_log whole;
    whole.len = 0;
    whole.text[0] = '\0';
    bounds[0] = len;
    run(ctx, data, len, bounds, 1, &whole);
    wsc_test_chunkings_run++;
    if (!expected) {
        expected = whole.text;
    } else if (strcmp(whole.text, expected) != 0) {
        print_error("whole input gave:\n%s\nexpected:\n%s\n", whole.text, expected);
        fail();
    }
    /* Split in two at every offset. */
    for (size_t k = 1; k < len; k++) {
        bounds[0] = k;
        bounds[1] = len;
        check_run(data, len, bounds, 2, expected, run, ctx, "split-in-two");
    }
    /* One byte per call. */
    for (size_t i = 0; i < len; i++)
        bounds[i] = i + 1;
    if (len > 1)
        check_run(data, len, bounds, len, expected, run, ctx, "one-byte");
    /* Seeded random chunkings. */
    uint64_t seed = 0x9e3779b97f4a7c15u ^ len;
    for (int r = 0; r < 8 && len > 2; r++) {
        size_t n = 0, pos = 0;
        while (pos < len) {
            size_t step = 1 + (size_t)(next_rand(&seed) % (len / 3 + 1));
            pos = pos + step > len ? len : pos + step;
            bounds[n++] = pos;
        }
        check_run(data, len, bounds, n, expected, run, ctx, "random");
    }
    free(bounds);
    return wsc_test_chunkings_run - before;
}

uint8_t *wsc_test_hex(const char *hex, size_t *len)
{
    size_t cap = strlen(hex) / 2 + 1, n = 0;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        int v;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            v = *p - 'A' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    *len = n;
    return out;
}
