/*
 * Shared by the *_fuzz.c targets; never part of the library (fuzz/build.sh
 * compiles them, the CMake build does not).
 *
 * Every target runs its input twice: whole, and in the chunks that the first
 * input bytes choose. Both runs feed a model of the connection input buffer
 * (unconsumed bytes stay and the next chunk is appended; the buffer is a heap
 * block of exactly the unconsumed size, so an over-read trips ASan) and write
 * an event log that must not depend on the chunking. Any difference, or any
 * broken invariant, aborts.
 *
 * Input layout: byte 0 bits 0-2 give k, the number of chunk-size bytes that
 * follow (k = 0: one byte per chunk); chunk i is (size byte i mod k) + 1
 * bytes long. Bits 3-7 of byte 0 are the target's options. The rest is the
 * byte stream under test.
 */
#ifndef WSC_FUZZ_CHUNKS_H
#define WSC_FUZZ_CHUNKS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_CHECK(cond)                                                                     \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);       \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

struct fz_plan {
    const uint8_t *data; /* the stream under test */
    size_t len;
    uint8_t options; /* bits 3-7 of byte 0, shifted down */
    const uint8_t *sizes;
    size_t nsizes;
};

static inline bool fz_plan_parse(const uint8_t *in, size_t n, struct fz_plan *p)
{
    if (n < 1 || n < 1 + (size_t)(in[0] & 7))
        return false;
    p->nsizes = in[0] & 7;
    p->options = (uint8_t)(in[0] >> 3);
    p->sizes = in + 1;
    p->data = in + 1 + p->nsizes;
    p->len = n - 1 - p->nsizes;
    return true;
}

/* Size of chunk @p i of a chunked run, or everything for the whole run. */
static inline size_t fz_chunk(const struct fz_plan *p, bool chunked, size_t i, size_t left)
{
    size_t n = !chunked ? left : p->nsizes ? (size_t)p->sizes[i % p->nsizes] + 1 : 1;
    return n < left ? n : left;
}

/* The connection input buffer. */
struct fz_stream {
    uint8_t *buf;
    size_t len;
};

static inline void fz_push(struct fz_stream *s, const uint8_t *p, size_t n)
{
    uint8_t *b = malloc(s->len + n ? s->len + n : 1);
    FZ_CHECK(b != NULL);
    if (s->len)
        memcpy(b, s->buf, s->len);
    if (n)
        memcpy(b + s->len, p, n);
    free(s->buf);
    s->buf = b;
    s->len += n;
}

static inline void fz_consume(struct fz_stream *s, size_t n)
{
    FZ_CHECK(n <= s->len);
    if (n == 0)
        return;
    size_t rest = s->len - n;
    uint8_t *b = malloc(rest ? rest : 1);
    FZ_CHECK(b != NULL);
    if (rest)
        memcpy(b, s->buf + n, rest);
    free(s->buf);
    s->buf = b;
    s->len = rest;
}

static inline void fz_free(struct fz_stream *s)
{
    free(s->buf);
    s->buf = NULL;
    s->len = 0;
}

/* The event log: the first 64 KiB as text (for the report), a hash of all of it. */
struct fz_log {
    char text[65536];
    size_t len, total;
    uint64_t hash;
};

static inline void fz_log_reset(struct fz_log *l)
{
    l->len = l->total = 0;
    l->text[0] = '\0';
    l->hash = 14695981039346656037u;
}

static inline uint64_t fz_hash(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211u;
    return h;
}

__attribute__((format(printf, 2, 3))) static inline void fz_log(struct fz_log *l,
                                                                const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    FZ_CHECK(n >= 0 && (size_t)n < sizeof(line));
    l->hash = fz_hash(l->hash, line, (size_t)n);
    l->total += (size_t)n;
    if (l->len + (size_t)n < sizeof(l->text)) {
        memcpy(l->text + l->len, line, (size_t)n + 1);
        l->len += (size_t)n;
    }
}

/* Aborts, showing both logs, unless the chunked run logged what the whole run did. */
static inline void fz_compare(const struct fz_log *whole, const struct fz_log *chunked)
{
    if (whole->total == chunked->total && whole->hash == chunked->hash &&
        strcmp(whole->text, chunked->text) == 0)
        return;
    fprintf(stderr, "chunkings disagree\n--- whole input:\n%s\n--- chunked:\n%s\n",
            whole->text, chunked->text);
    abort();
}

#endif
