/*
 * permessage-deflate codec (RFC 7692 7.2) on zlib.
 *
 * - The RFC's own byte vectors (7.2.3.1-7.2.3.5) and vectors made by Python's
 *   zlib, decoded in every split of input and every output buffer size.
 * - Round trips of many sizes of text and random data, in every combination
 *   of input piece and output buffer sizes (1, 7, 4096, whole), long runs of
 *   messages with and without context takeover, and Python decoding what we
 *   compress and the reverse (skipped when python3 is missing).
 * - Limits and hostile input: a 100 MiB bomb stopped after max_message bytes,
 *   a storm of final blocks, corrupt and truncated data, windows exceeded.
 * - Failing allocator hooks: every allocation in turn; a clean WSC_ENOMEM and
 *   nothing leaked. And the memory each configuration holds.
 * Input pieces live in heap blocks of exactly their size so over-reads trip ASan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "wsc/wsc_core.h"
#include "wsc/wsc_deflate.h"

#define WHOLE SIZE_MAX
#define KiB 1024u
#define MiB (1024u * 1024u)

/* ---- helpers ------------------------------------------------------------ */

struct buf {
    uint8_t *p;
    size_t len, cap;
};

static void buf_put(struct buf *b, const uint8_t *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void buf_free(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static uint8_t *hex(const char *s, size_t *len)
{
    uint8_t *out = malloc(strlen(s) / 2 + 1);
    size_t n = 0;
    assert_non_null(out);
    while (*s) {
        if (*s == ' ' || *s == '|') {
            s++;
            continue;
        }
        char byte[3] = {s[0], s[1], '\0'};
        out[n++] = (uint8_t)strtoul(byte, NULL, 16);
        s += 2;
    }
    *len = n;
    return out;
}

static struct wsc_pmd_params params(bool snct, bool cnct, uint8_t sw, uint8_t cw)
{
    struct wsc_pmd_params p = {snct, cnct, sw, cw};
    return p;
}

static struct wsc_deflate *make(struct wsc_pmd_params p)
{
    struct wsc_deflate *d = NULL;
    assert_int_equal(wsc_deflate_new(&d, &p, NULL), 0);
    assert_non_null(d);
    return d;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(rnd() >> 56);
}

/* Text-like data: words from a small vocabulary, so it compresses as prose. */
static void fill_text(uint8_t *p, size_t n)
{
    static const char *const words[] = {
        "the ",  "socket ", "frame ", "deflate ",  "window ",   "message ",
        "of ",   "and ",    "a ",     "server ",   "client ",   "compression ",
        "is ",   "to ",     "with ",  "context ",  "takeover ", "RFC ",
        "7692 ", "bits ",   "\n",     "{\"id\": ", "42, ",      "\"ok\": true} "};
    size_t i = 0;
    while (i < n) {
        const char *w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
        for (; *w && i < n; w++)
            p[i++] = (uint8_t)*w;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/*
 * Compresses one message: input in pieces of in_chunk bytes (each in its own
 * exact heap block), output through a buffer of out_chunk bytes, appended to
 * wire. Checks the streaming contract on every call.
 */
static void compress_msg(struct wsc_deflate *d, const uint8_t *msg, size_t len,
                         size_t in_chunk, size_t out_chunk, struct buf *wire)
{
    uint8_t *out = malloc(out_chunk);
    assert_non_null(out);
    size_t off = 0;
    do {
        size_t n = min_size(in_chunk, len - off);
        bool fin = off + n == len;
        uint8_t *piece = n ? malloc(n) : NULL;
        if (n)
            memcpy(piece, msg + off, n);
        size_t pos = 0;
        int rc;
        do {
            size_t c = 99, p = 99;
            rc = wsc_deflate_compress(d, piece ? piece + pos : NULL, n - pos, fin, out,
                                      out_chunk, &c, &p);
            assert_true(c <= n - pos);
            assert_true(p <= out_chunk);
            if (rc == WSC_ENOBUFS)
                assert_int_equal(p, out_chunk); /* only a full buffer pauses */
            pos += c;
            buf_put(wire, out, p);
        } while (rc == WSC_ENOBUFS);
        assert_int_equal(rc, 0);
        assert_int_equal(pos, n);
        free(piece);
        off += n;
    } while (off < len);
    free(out);
}

/*
 * Decompresses one message from wire[0..len) fed in pieces of in_chunk bytes
 * with an output buffer of out_chunk bytes; appends to plain. Returns 0 or the
 * first error; *fed is the number of wire bytes consumed.
 */
static int decompress_msg(struct wsc_deflate *d, const uint8_t *wire, size_t len,
                          size_t in_chunk, size_t out_chunk, uint64_t max,
                          struct buf *plain, size_t *fed)
{
    uint8_t *out = malloc(out_chunk);
    assert_non_null(out);
    size_t off = 0;
    int rc = 0;
    bool done = false;
    do {
        size_t n = min_size(in_chunk, len - off);
        bool fin = off + n == len;
        uint8_t *piece = n ? malloc(n) : NULL;
        if (n)
            memcpy(piece, wire + off, n);
        size_t pos = 0;
        do {
            size_t c = 99, p = 99;
            done = true;
            rc = wsc_deflate_decompress(d, piece ? piece + pos : NULL, n - pos, fin, max,
                                        out, out_chunk, &c, &p, &done);
            assert_true(c <= n - pos);
            assert_true(p <= out_chunk);
            if (rc == WSC_ENOBUFS)
                assert_int_equal(p, out_chunk);
            assert_true(!done || (rc == 0 && fin));
            pos += c;
            buf_put(plain, out, p);
        } while (rc == WSC_ENOBUFS);
        free(piece);
        off += pos;
        if (rc)
            break;
        assert_int_equal(pos, n);
        assert_int_equal(done, fin);
    } while (off < len);
    free(out);
    if (fed)
        *fed = off;
    return rc;
}

static void expect_decode(struct wsc_deflate *d, const char *wire_hex, const char *want,
                          size_t in_chunk, size_t out_chunk)
{
    size_t len;
    uint8_t *wire = hex(wire_hex, &len);
    struct buf plain = {0};
    int rc = decompress_msg(d, wire, len, in_chunk, out_chunk, UINT64_MAX, &plain, NULL);
    if (rc)
        print_message("decoding %s: rc %d\n", wire_hex, rc);
    assert_int_equal(rc, 0);
    assert_int_equal(plain.len, strlen(want));
    assert_memory_equal(plain.p ? plain.p : (uint8_t *)"", want, plain.len);
    buf_free(&plain);
    free(wire);
}

/* ---- RFC 7692 7.2.3 and Python vectors ---------------------------------- */

/* A sequence of messages on one connection: wire hex and expected text. */
struct vector {
    const char *what;
    struct wsc_pmd_params p;
    const char *msgs[4][2];
};

static const struct vector vectors[] = {
    /* 7.2.3.1: "Hello" in one frame (also the payload of the fragmented
     * example, whose frames split it as f2 48 cd | c9 c9 07 00). */
    {"7.2.3.1 Hello", {false, false, 15, 15}, {{"f2 48 cd c9 c9 07 00", "Hello"}}},
    /* 7.2.3.2: the second "Hello" refers back into the first message. */
    {"7.2.3.2 sliding window",
     {false, false, 15, 15},
     {{"f2 48 cd c9 c9 07 00", "Hello"}, {"f2 00 11 00 00", "Hello"}}},
    /* 7.2.3.3: a stored (uncompressed) block. */
    {"7.2.3.3 stored block",
     {false, false, 15, 15},
     {{"00 05 00 fa ff 48 65 6c 6c 6f 00", "Hello"}}},
    /* 7.2.3.4: a BFINAL block and the extra byte; the window survives it. */
    {"7.2.3.4 BFINAL",
     {false, false, 15, 15},
     {{"f3 48 cd c9 c9 07 00 00", "Hello"}, {"f2 00 11 00 00", "Hello"}}},
    /* 7.2.3.5: two blocks in one message, a sync flush between them. */
    {"7.2.3.5 two blocks",
     {false, false, 15, 15},
     {{"f2 48 05 00 00 00 ff ff ca c9 c9 07 00", "Hello"}}},
    /* 7.2.3.6 style: an empty message is one 0x00 byte; an empty payload is
     * accepted as an empty message too. */
    {"empty messages",
     {false, false, 15, 15},
     {{"00", ""}, {"", ""}, {"f2 48 cd c9 c9 07 00", "Hello"}}},
    /* Python: zlib.compressobj(6, DEFLATED, -15), sync flush, tail removed,
     * two messages sharing the window. */
    {"python takeover",
     {false, false, 15, 15},
     {{"0a c9 48 55 28 2c cd 4c ce 56 48 2a ca 2f cf 53 48 cb af 50 c8 2a cd 2d 28 56 c8 "
       "2f 4b "
       "2d 52 28 01 4a e7 24 56 55 2a a4 e4 a7 eb 29 84 d0 4c 31 00",
       "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the "
       "lazy "
       "dog. The quick brown fox jumps over the lazy dog. "},
      {"1a 24 8a 01 00", "The quick brown fox jumps over the lazy dog. The quick brown fox "
                         "jumps over the lazy "
                         "dog. The quick brown fox jumps over the lazy dog. "}}},
    /* Python: a Z_FINISH stream without the extra byte (tolerated), then a
     * new stream primed with its window, in one message. */
    {"python final block mid-message",
     {false, false, 15, 15},
     {{"f3 48 cd c9 c9 07 00 | 52 28 cf 2f ca 49 d1 51 f0 00 71 00 00",
       "Hello world, Hello"}}},
    {"python final block ends the data",
     {false, false, 15, 15},
     {{"f3 48 cd c9 c9 07 00", "Hello"}, {"f2 00 11 00 00", "Hello"}}},
    /* Python: Z_FULL_FLUSH inside the message. */
    {"python full flush",
     {false, false, 15, 15},
     {{"f2 48 cd c9 c9 d7 51 00 00 00 00 ff ff 2a cf 2f ca 49 01 00", "Hello, world"}}},
    /* Python: the same message twice without context takeover. */
    {"python no takeover",
     {true, false, 15, 15},
     {{"f2 48 cd c9 c9 07 00", "Hello"}, {"f2 48 cd c9 c9 07 00", "Hello"}}},
};

static void test_rfc_and_python_vectors_every_split(void **state)
{
    (void)state;
    static const size_t outs[] = {1, 2, 3, 5, 7, 64, 4096};
    size_t runs = 0;
    for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
        const struct vector *vec = &vectors[v];
        for (size_t ic = 1; ic <= 14; ic++)
            for (size_t oc = 0; oc < sizeof(outs) / sizeof(outs[0]); oc++) {
                struct wsc_deflate *d = make(vec->p);
                for (size_t m = 0; m < 4 && vec->msgs[m][0]; m++)
                    expect_decode(d, vec->msgs[m][0], vec->msgs[m][1],
                                  ic == 14 ? WHOLE : ic, outs[oc]);
                wsc_deflate_free(d);
                runs++;
            }
    }
    print_message("%zu vector runs\n", runs);
}

/* The RFC 7.2.3.1 fragmented example: the frames' payloads as the pieces. */
static void test_rfc_fragmented_example(void **state)
{
    (void)state;
    struct wsc_deflate *d = make(params(false, false, 15, 15));
    static const uint8_t f1[] = {0xf2, 0x48, 0xcd}, f2[] = {0xc9, 0xc9, 0x07, 0x00};
    uint8_t out[16];
    size_t c, p, total = 0;
    bool done;
    assert_int_equal(
        wsc_deflate_decompress(d, f1, 3, false, 100, out, sizeof(out), &c, &p, &done), 0);
    assert_int_equal(c, 3);
    assert_false(done);
    total += p;
    assert_int_equal(wsc_deflate_decompress(d, f2, 4, true, 100, out + total,
                                            sizeof(out) - total, &c, &p, &done),
                     0);
    assert_int_equal(c, 4);
    assert_true(done);
    total += p;
    assert_int_equal(total, 5);
    assert_memory_equal(out, "Hello", 5);
    wsc_deflate_free(d);
}

/* Python at window 9 (compressobj(9, DEFLATED, -9, 1)); we inflate with 9. */
static void test_python_window_9(void **state)
{
    (void)state;
    static const char *wire = "5c ce bb 0d 80 30 00 43 c1 55 32 02 b6 f9 8a 75 a0 a0 81 82 "
                              "48 59 1f 4a 78 e5 75 d7 8e "
                              "73 bb 5a a9 fb 5d 4b d7 ad a5 7d 2d d8 70 e0 1e 1e e0 11 9e "
                              "e0 19 5e fe 16 7e c2 4f f8 "
                              "09 3f e1 27 fc 84 9f f0 13 7e c2 cf f8 19 3f e3 67 fc 8c 9f "
                              "f1 33 7e c6 cf f8 19 bf e0 "
                              "17 fc 82 5f f0 0b 7e c1 2f f8 05 bf e0 97 f7 f7 00";
    char want[641];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(want + n, sizeof(want) - n, "window test %02d; ", i);
    assert_int_equal(n, 640);
    for (uint8_t bits = 8; bits <= 15; bits++) {
        struct wsc_deflate *d = make(params(false, false, bits, 15));
        expect_decode(d, wire, want, 7, 13);
        wsc_deflate_free(d);
    }
}

/* RFC 7.2.3.1/7.2.3.2 from our side: the compressor writes the RFC's bytes. */
static void test_compress_matches_rfc(void **state)
{
    (void)state;
    static const uint8_t hello1[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    static const uint8_t hello2[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
    for (int takeover = 0; takeover < 2; takeover++)
        for (size_t oc = 1; oc <= 9; oc++) {
            struct wsc_deflate *d = make(params(false, !takeover, 15, 15));
            struct buf w = {0};
            compress_msg(d, (const uint8_t *)"Hello", 5, oc, oc, &w);
            assert_int_equal(w.len, sizeof(hello1));
            assert_memory_equal(w.p, hello1, sizeof(hello1));
            w.len = 0;
            compress_msg(d, (const uint8_t *)"Hello", 5, WHOLE, oc, &w);
            if (takeover) {
                assert_int_equal(w.len, sizeof(hello2));
                assert_memory_equal(w.p, hello2, sizeof(hello2));
            } else {
                assert_int_equal(w.len, sizeof(hello1));
                assert_memory_equal(w.p, hello1, sizeof(hello1));
            }
            w.len = 0;
            compress_msg(d, NULL, 0, WHOLE, oc, &w); /* empty: one 0x00 byte */
            assert_int_equal(w.len, 1);
            assert_int_equal(w.p[0], 0x00);
            buf_free(&w);
            wsc_deflate_free(d);
        }
}

/* ---- round trips ---------------------------------------------------------- */

static void round_trip(const uint8_t *msg, size_t len, size_t in_chunk, size_t out_chunk,
                       const struct buf *reference)
{
    struct wsc_deflate *tx = make(params(false, false, 15, 15));
    struct wsc_deflate *rx = make(params(false, false, 15, 15));
    struct buf wire = {0}, plain = {0};
    compress_msg(tx, msg, len, in_chunk, out_chunk, &wire);
    /* The output buffer size never changes the bytes (zlib.h: deflate's output
     * does not depend on avail_out, given more than six bytes at a flush). */
    if (reference && in_chunk == WHOLE) {
        assert_int_equal(wire.len, reference->len);
        assert_memory_equal(wire.p, reference->p, wire.len);
    }
    assert_int_equal(
        decompress_msg(rx, wire.p, wire.len, in_chunk, out_chunk, len, &plain, NULL), 0);
    assert_int_equal(plain.len, len);
    if (len)
        assert_memory_equal(plain.p, msg, len);
    buf_free(&wire);
    buf_free(&plain);
    wsc_deflate_free(tx);
    wsc_deflate_free(rx);
}

static void test_round_trips_every_chunking(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 100, 64 * KiB, 1 * MiB};
    static const size_t chunks[] = {1, 7, 4096, WHOLE};
    double t0 = now_s();
    for (int kind = 0; kind < 2; kind++)
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            size_t len = sizes[s];
            uint8_t *msg = malloc(len ? len : 1);
            assert_non_null(msg);
            if (kind)
                fill_random(msg, len);
            else
                fill_text(msg, len);
            struct buf ref = {0};
            struct wsc_deflate *tx = make(params(false, false, 15, 15));
            compress_msg(tx, msg, len, WHOLE, 1 * MiB, &ref);
            wsc_deflate_free(tx);
            print_message("%s %7zu bytes -> %7zu compressed\n", kind ? "random" : "text  ",
                          len, ref.len);
            for (size_t i = 0; i < 4; i++)
                for (size_t o = 0; o < 4; o++) {
                    /* A megabyte one byte at a time on both sides says nothing
                     * the 64 KiB run has not; keep the suite fast. */
                    if (len >= MiB && chunks[i] == 1 && chunks[o] == 1)
                        continue;
                    round_trip(msg, len, chunks[i],
                               chunks[o] == WHOLE ? 2 * MiB : chunks[o], &ref);
                }
            buf_free(&ref);
            free(msg);
        }
    print_message("round trips: %.2f s\n", now_s() - t0);
}

/*
 * Many messages on one connection with random sizes, content and chunkings,
 * in every context mode and window: hold/staging state must carry correctly
 * from message to message.
 */
static void test_message_runs_random_chunkings(void **state)
{
    (void)state;
    for (int mode = 0; mode < 4; mode++)
        for (uint8_t bits = 9; bits <= 15; bits += 3) {
            bool nct = mode & 1;
            struct wsc_pmd_params p = params(nct, nct, bits, bits);
            struct wsc_deflate *tx = make(p), *rx = make(p);
            for (int m = 0; m < 150; m++) {
                size_t len = (size_t)(rnd() % (mode & 2 ? 20000 : 600));
                uint8_t *msg = malloc(len ? len : 1);
                if (rnd() & 1)
                    fill_text(msg, len);
                else
                    fill_random(msg, len);
                struct buf wire = {0}, plain = {0};
                compress_msg(tx, msg, len, 1 + rnd() % 3000, 1 + rnd() % 700, &wire);
                assert_int_equal(decompress_msg(rx, wire.p, wire.len, 1 + rnd() % 300,
                                                1 + rnd() % 900, len, &plain, NULL),
                                 0);
                assert_int_equal(plain.len, len);
                if (len)
                    assert_memory_equal(plain.p, msg, len);
                buf_free(&wire);
                buf_free(&plain);
                free(msg);
            }
            wsc_deflate_free(tx);
            wsc_deflate_free(rx);
        }
}

static void test_context_takeover_shrinks_repeats(void **state)
{
    (void)state;
    uint8_t msg[2000];
    fill_text(msg, sizeof(msg));
    size_t first[2], second[2];
    for (int nct = 0; nct < 2; nct++) {
        struct wsc_deflate *d = make(params(false, nct, 15, 15));
        struct buf a = {0}, b = {0};
        compress_msg(d, msg, sizeof(msg), WHOLE, 4096, &a);
        compress_msg(d, msg, sizeof(msg), WHOLE, 4096, &b);
        first[nct] = a.len;
        second[nct] = b.len;
        if (nct) { /* reset between messages: byte for byte the same again */
            assert_int_equal(a.len, b.len);
            assert_memory_equal(a.p, b.p, a.len);
        }
        buf_free(&a);
        buf_free(&b);
        wsc_deflate_free(d);
    }
    print_message(
        "2000 bytes of text twice: takeover %zu then %zu; no takeover %zu then %zu\n",
        first[0], second[0], first[1], second[1]);
    assert_int_equal(first[0], first[1]);
    assert_true(second[0] * 10 < first[0]); /* the repeat is a few back-references */
}

/* With server_no_context_takeover the window is emptied after each message:
 * a message referring back into the previous one is invalid. */
static void test_no_takeover_decoder_forgets(void **state)
{
    (void)state;
    struct wsc_deflate *d = make(params(true, false, 15, 15));
    expect_decode(d, "f2 48 cd c9 c9 07 00", "Hello", WHOLE, 64);
    size_t len;
    uint8_t *wire = hex("f2 00 11 00 00", &len);
    struct buf plain = {0};
    assert_int_equal(decompress_msg(d, wire, len, WHOLE, 64, 100, &plain, NULL),
                     WSC_EINFLATE);
    buf_free(&plain);
    free(wire);
    wsc_deflate_free(d);
}

/* ---- interoperability with Python's zlib at run time ---------------------- */

static bool have_python(void)
{
    return system("python3 -c 'import zlib' >/dev/null 2>&1") == 0;
}

static void put_record(FILE *f, const uint8_t *p, size_t n)
{
    uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
                      (uint8_t)n};
    assert_int_equal(fwrite(len, 1, 4, f), 4);
    if (n)
        assert_int_equal(fwrite(p, 1, n, f), n);
}

static uint8_t *get_record(FILE *f, size_t *n)
{
    uint8_t len[4];
    if (fread(len, 1, 4, f) != 4)
        return NULL;
    *n = (size_t)len[0] << 24 | (size_t)len[1] << 16 | (size_t)len[2] << 8 | len[3];
    uint8_t *p = malloc(*n ? *n : 1);
    assert_non_null(p);
    if (*n)
        assert_int_equal(fread(p, 1, *n, f), *n);
    return p;
}

/* Python inflates what we compress, with the window and mode we used. */
static void test_python_inflates_our_output(void **state)
{
    (void)state;
    if (!have_python())
        skip();
    char path[] = "/tmp/wsc_deflate_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    size_t total = 0;
    for (uint8_t bits = 9; bits <= 15; bits++)
        for (int nct = 0; nct < 2; nct++) {
            struct wsc_deflate *d = make(params(false, nct, 15, bits));
            uint8_t hdr[2] = {bits, (uint8_t)nct};
            put_record(f, hdr, 2);
            for (int m = 0; m < 12; m++) {
                size_t len = 1 + (size_t)(rnd() % 70000); /* 0 marks the end */
                uint8_t *msg = malloc(len ? len : 1);
                if (m % 3 == 2)
                    fill_random(msg, len);
                else
                    fill_text(msg, len);
                struct buf wire = {0};
                compress_msg(d, msg, len, 1 + rnd() % 5000, 1 + rnd() % 5000, &wire);
                put_record(f, msg, len);
                put_record(f, wire.p, wire.len);
                total++;
                buf_free(&wire);
                free(msg);
            }
            uint8_t end[1] = {0};
            put_record(f, end, 0); /* end of this configuration */
            wsc_deflate_free(d);
        }
    fclose(f);
    char cmd[2048];
    int cn = snprintf(cmd, sizeof(cmd),
                      "python3 -c '\n"
                      "import sys, zlib\n"
                      "f = open(sys.argv[1], \"rb\")\n"
                      "def rec():\n"
                      "    b = f.read(4)\n"
                      "    return None if not b else f.read(int.from_bytes(b, \"big\"))\n"
                      "while True:\n"
                      "    h = rec()\n"
                      "    if h is None: break\n"
                      "    bits, nct = h[0], h[1]\n"
                      "    d = zlib.decompressobj(-bits)\n"
                      "    while True:\n"
                      "        plain = rec()\n"
                      "        if plain == b\"\": break\n"
                      "        wire = rec()\n"
                      "        if nct: d = zlib.decompressobj(-bits)\n"
                      "        got = d.decompress(wire + b\"\\x00\\x00\\xff\\xff\")\n"
                      "        assert got == plain, (bits, nct, len(got), len(plain))\n"
                      "' %s",
                      path);
    assert_true(cn > 0 && (size_t)cn < sizeof(cmd));
    int rc = system(cmd);
    unlink(path);
    print_message("python inflated %zu messages: exit %d\n", total, rc);
    assert_int_equal(rc, 0);
}

/* We inflate what Python compresses: every window, memory level, flush style. */
static void test_we_inflate_python_output(void **state)
{
    (void)state;
    if (!have_python())
        skip();
    char path[] = "/tmp/wsc_deflate_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char cmd[2048];
    int cn = snprintf(
        cmd, sizeof(cmd),
        "python3 -c '\n"
        "import sys, zlib, random\n"
        "r = random.Random(7692)\n"
        "out = open(sys.argv[1], \"wb\")\n"
        "def rec(b): out.write(len(b).to_bytes(4, \"big\") + b)\n"
        "words = [b\"alpha \", b\"beta \", b\"gamma \", b\"{\\\"k\\\": 1} \", b\"\\n\"]\n"
        "for bits in range(9, 16):\n"
        "  for style in range(4):\n"
        "    rec(bytes([bits, style]))\n"
        "    c = zlib.compressobj(r.randint(1, 9), zlib.DEFLATED, -bits, r.randint(1, 9))\n"
        "    hist = b\"\"\n"
        "    for m in range(10):\n"
        "      n = r.randint(1, 30000)\n"
        "      plain = b\"\".join(r.choice(words) for _ in range(n // 5 + 1)) if m %% 2 "
        "else r.randbytes(n)\n"
        "      if style == 3:\n"
        "        c = zlib.compressobj(6, zlib.DEFLATED, -bits, 8, zlib.Z_DEFAULT_STRATEGY, "
        "hist[-(1 << bits):]) if hist else zlib.compressobj(6, zlib.DEFLATED, -bits)\n"
        "        wire = c.compress(plain) + c.flush(zlib.Z_FINISH) + (b\"\\x00\" if m %% 3 "
        "else b\"\")\n"
        "      else:\n"
        "        wire = c.compress(plain[: n // 2])\n"
        "        if style == 1: wire += c.flush(zlib.Z_FULL_FLUSH)\n"
        "        if style == 2: wire += c.flush(zlib.Z_SYNC_FLUSH)\n"
        "        wire += c.compress(plain[n // 2:]) + c.flush(zlib.Z_SYNC_FLUSH)\n"
        "        assert wire.endswith(b\"\\x00\\x00\\xff\\xff\")\n"
        "        wire = wire[:-4]\n"
        "      hist += plain\n"
        "      rec(plain); rec(wire)\n"
        "    rec(b\"\")\n"
        "' %s",
        path);
    assert_true(cn > 0 && (size_t)cn < sizeof(cmd));
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n, total = 0;
    uint8_t *hdr;
    while ((hdr = get_record(f, &n)) != NULL) {
        assert_int_equal(n, 2);
        /* Style 3 ends every message with a BFINAL block (Z_FINISH) and
         * starts the next stream from the previous window (7.2.3.4). */
        struct wsc_deflate *d = make(params(false, false, hdr[0], 15));
        free(hdr);
        for (;;) {
            size_t plen, wlen;
            uint8_t *plain = get_record(f, &plen);
            assert_non_null(plain);
            if (plen == 0) {
                free(plain);
                break;
            }
            uint8_t *wire = get_record(f, &wlen);
            assert_non_null(wire);
            struct buf got = {0};
            assert_int_equal(decompress_msg(d, wire, wlen, 1 + rnd() % 4000,
                                            1 + rnd() % 4000, plen, &got, NULL),
                             0);
            assert_int_equal(got.len, plen);
            assert_memory_equal(got.p, plain, plen);
            buf_free(&got);
            free(plain);
            free(wire);
            total++;
        }
        wsc_deflate_free(d);
    }
    fclose(f);
    unlink(path);
    print_message("inflated %zu python messages\n", total);
    assert_int_equal(total, 7 * 4 * 10);
}

/* ---- limits and hostile input --------------------------------------------- */

static void test_bomb_stops_at_max_message(void **state)
{
    (void)state;
    /* 100 MiB of zeros, compressed by us in 1 MiB pieces. */
    uint8_t *zeros = calloc(1, MiB);
    uint8_t *out = malloc(64 * KiB);
    assert_non_null(zeros);
    struct wsc_deflate *tx = make(params(false, false, 15, 15));
    struct buf wire = {0};
    double t0 = now_s();
    for (int i = 0; i < 100; i++) {
        size_t pos = 0, c, p;
        int rc;
        do {
            rc = wsc_deflate_compress(tx, zeros + pos, MiB - pos, i == 99, out, 64 * KiB,
                                      &c, &p);
            pos += c;
            buf_put(&wire, out, p);
        } while (rc == WSC_ENOBUFS);
        assert_int_equal(rc, 0);
    }
    double t1 = now_s();
    wsc_deflate_free(tx);
    print_message("100 MiB of zeros -> %zu bytes in %.2f s\n", wire.len, t1 - t0);
    assert_true(wire.len < 200 * KiB);

    /* Inflated with a 1 MiB limit: stops with exactly 1 MiB delivered. */
    static const size_t outs[] = {1 * KiB, 64 * KiB, 1 * MiB + 4096};
    for (size_t o = 0; o < sizeof(outs) / sizeof(outs[0]); o++) {
        struct wsc_deflate *rx = make(params(false, false, 15, 15));
        struct buf plain = {0};
        size_t fed = 0;
        t0 = now_s();
        int rc =
            decompress_msg(rx, wire.p, wire.len, WHOLE, outs[o], 1 * MiB, &plain, &fed);
        t1 = now_s();
        print_message(
            "bomb, %zu-byte buffer: rc %d after %zu output bytes, %zu of %zu input "
            "bytes, %.3f s\n",
            outs[o], rc, plain.len, fed, wire.len, t1 - t0);
        assert_int_equal(rc, WSC_EMSG_TOO_BIG);
        assert_int_equal(plain.len, 1 * MiB);
        assert_true(fed < 4 * KiB); /* ~1 KiB of input makes 1 MiB */
        assert_true(t1 - t0 < 2.0); /* generous; typically a few ms */
        for (size_t i = 0; i < plain.len; i++)
            assert_int_equal(plain.p[i], 0);
        /* The decompressor stays failed. */
        size_t c, p;
        bool done;
        assert_int_equal(
            wsc_deflate_decompress(rx, wire.p, 10, false, 1 * MiB, out, 1, &c, &p, &done),
            WSC_EMSG_TOO_BIG);
        buf_free(&plain);
        wsc_deflate_free(rx);
    }
    buf_free(&wire);
    free(zeros);
    free(out);
}

/* The limit is exact: a message of n bytes passes max n and fails max n - 1
 * with n - 1 bytes delivered, whatever the buffer sizes. */
static void test_limit_is_exact(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 5, 1000, 70000};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t len = sizes[s];
        uint8_t *msg = malloc(len ? len : 1);
        fill_text(msg, len);
        struct wsc_deflate *tx = make(params(false, false, 15, 15));
        struct buf wire = {0};
        compress_msg(tx, msg, len, WHOLE, 4096, &wire);
        wsc_deflate_free(tx);
        static const size_t outs[] = {1, 3, 4096, WHOLE};
        for (size_t o = 0; o < 4; o++) {
            size_t oc = outs[o] == WHOLE ? len + 10 : outs[o];
            struct wsc_deflate *rx = make(params(false, false, 15, 15));
            struct buf plain = {0};
            assert_int_equal(decompress_msg(rx, wire.p, wire.len, 5, oc, len, &plain, NULL),
                             0);
            assert_int_equal(plain.len, len);
            wsc_deflate_free(rx);
            if (len) {
                rx = make(params(false, false, 15, 15));
                plain.len = 0;
                assert_int_equal(
                    decompress_msg(rx, wire.p, wire.len, 5, oc, len - 1, &plain, NULL),
                    WSC_EMSG_TOO_BIG);
                assert_int_equal(plain.len, len - 1);
                assert_memory_equal(plain.p ? plain.p : msg, msg, len - 1);
                wsc_deflate_free(rx);
            }
            buf_free(&plain);
        }
        buf_free(&wire);
        free(msg);
    }
}

/* Final blocks cost nothing extra: 200000 of them in one message. */
static void test_final_block_storm(void **state)
{
    (void)state;
    const size_t blocks = 200000;
    size_t len = 2 * blocks + 1;
    uint8_t *wire = malloc(len);
    for (size_t i = 0; i < blocks; i++) {
        wire[2 * i] = 0x03; /* BFINAL=1, fixed Huffman, end of block */
        wire[2 * i + 1] = 0x00;
    }
    wire[len - 1] = 0x00; /* 7.2.3.4: the byte that lets the tail follow */
    struct wsc_deflate *d = make(params(false, false, 15, 15));
    expect_decode(d, "f2 48 cd c9 c9 07 00", "Hello", WHOLE, 64);
    struct buf plain = {0};
    double t0 = now_s();
    assert_int_equal(decompress_msg(d, wire, len, 4096, 64, 100, &plain, NULL), 0);
    double t1 = now_s();
    print_message("%zu final blocks in %.3f s\n", blocks, t1 - t0);
    assert_int_equal(plain.len, 0);
    assert_true(t1 - t0 < 2.0);
    /* The window from before the storm is still there. */
    expect_decode(d, "f2 00 11 00 00", "Hello", WHOLE, 64);
    buf_free(&plain);
    free(wire);
    wsc_deflate_free(d);
}

struct bad_case {
    const char *what;
    const char *wire;
};

static const struct bad_case bad_cases[] = {
    {"reserved block type", "07"},
    {"reserved block type, not final", "06 00"},
    {"stored block with a wrong NLEN", "00 05 00 00 00 48 65 6c 6c 6f 00"},
    {"last byte missing", "f2 48 cd c9 c9 07"},
    {"stops inside a stored block", "00 05 00 fa ff 48 65"},
    {"no flush at the end", "f2 48 cd c9 c9 07 00 00 00 ff ff f2"},
    {"distance before the start", "f2 00 11 00 00"},
    {"invalid code lengths", "04 ff ff ff ff ff"},
};

static void test_corrupt_input(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
        for (size_t ic = 1; ic <= 3; ic++) {
            size_t len;
            uint8_t *wire = hex(bad_cases[i].wire, &len);
            struct wsc_deflate *d = make(params(false, false, 15, 15));
            struct buf plain = {0};
            int rc =
                decompress_msg(d, wire, len, ic == 3 ? WHOLE : ic, 7, 1000, &plain, NULL);
            if (rc != WSC_EINFLATE)
                print_message("%s: rc %d\n", bad_cases[i].what, rc);
            assert_int_equal(rc, WSC_EINFLATE);
            /* Sticky: the decompressor stays failed... */
            size_t c, p;
            bool done;
            uint8_t out[8];
            assert_int_equal(
                wsc_deflate_decompress(d, NULL, 0, true, 1000, out, 8, &c, &p, &done),
                WSC_EINFLATE);
            assert_false(done);
            /* ...and the compressor is unaffected. */
            struct buf w = {0};
            compress_msg(d, (const uint8_t *)"Hello", 5, WHOLE, 64, &w);
            assert_int_equal(w.len, 7);
            buf_free(&w);
            buf_free(&plain);
            free(wire);
            wsc_deflate_free(d);
        }
}

static void test_truncated_messages(void **state)
{
    (void)state;
    uint8_t msg[5000];
    fill_text(msg, sizeof(msg));
    struct wsc_deflate *tx = make(params(false, false, 15, 15));
    struct buf wire = {0};
    compress_msg(tx, msg, sizeof(msg), WHOLE, 8192, &wire);
    wsc_deflate_free(tx);
    /* Every cut of the payload but the whole: never a silent success. The
     * tail appended to a cut stream may also decode as junk that overflows
     * the limit before the stream is found broken. */
    size_t too_big = 0;
    for (size_t cut = 1; cut < wire.len; cut++) {
        struct wsc_deflate *rx = make(params(false, false, 15, 15));
        struct buf plain = {0};
        int rc = decompress_msg(rx, wire.p, cut, WHOLE, 8192, sizeof(msg), &plain, NULL);
        if (rc != WSC_EINFLATE)
            assert_int_equal(rc, WSC_EMSG_TOO_BIG);
        too_big += rc == WSC_EMSG_TOO_BIG;
        assert_true(plain.len <= sizeof(msg));
        buf_free(&plain);
        wsc_deflate_free(rx);
    }
    print_message("%zu cuts: %zu WSC_EINFLATE, %zu WSC_EMSG_TOO_BIG\n", wire.len - 1,
                  wire.len - 1 - too_big, too_big);
    buf_free(&wire);
}

/*
 * A server that uses a larger window than agreed. zlib checks a distance
 * against the window plus what the current inflate() call has written, so the
 * violation is caught when it reaches further back than that (small output
 * buffers), and the data still decodes correctly otherwise.
 */
static void test_window_exceeded(void **state)
{
    (void)state;
    uint8_t msg[1200];
    fill_random(msg, 700);
    memcpy(msg + 700, msg, 500); /* a match 700 bytes back: beyond 512 */
    struct wsc_deflate *tx = make(params(false, false, 15, 15));
    struct buf wire = {0};
    compress_msg(tx, msg, sizeof(msg), WHOLE, 4096, &wire);
    wsc_deflate_free(tx);
    assert_true(wire.len < 1000); /* the repeat was found */

    struct wsc_deflate *rx = make(params(false, false, 9, 15));
    struct buf plain = {0};
    assert_int_equal(decompress_msg(rx, wire.p, wire.len, WHOLE, 64, 5000, &plain, NULL),
                     WSC_EINFLATE);
    wsc_deflate_free(rx);
    plain.len = 0;
    rx = make(params(false, false, 9, 15));
    assert_int_equal(decompress_msg(rx, wire.p, wire.len, WHOLE, 4096, 5000, &plain, NULL),
                     0);
    assert_memory_equal(plain.p, msg, sizeof(msg));
    wsc_deflate_free(rx);
    /* With the full window it decodes in any chunking. */
    plain.len = 0;
    rx = make(params(false, false, 15, 15));
    assert_int_equal(decompress_msg(rx, wire.p, wire.len, 3, 1, 5000, &plain, NULL), 0);
    assert_memory_equal(plain.p, msg, sizeof(msg));
    wsc_deflate_free(rx);
    buf_free(&plain);
    buf_free(&wire);
}

/* ---- contract details ------------------------------------------------------ */

static void test_streaming_contract(void **state)
{
    (void)state;
    struct wsc_deflate *d = make(params(false, false, 15, 15));
    uint8_t out[1];
    size_t c, p;
    bool done;
    /* Pieces without fin: all consumed, output may be held back by zlib. */
    assert_int_equal(
        wsc_deflate_compress(d, (const uint8_t *)"Hel", 3, false, out, 1, &c, &p), 0);
    assert_int_equal(c, 3);
    /* The fin call pauses on every full byte; the tail is never produced. */
    struct buf w = {0};
    buf_put(&w, out, p);
    int rc;
    const uint8_t *rest = (const uint8_t *)"lo";
    size_t left = 2;
    do {
        rc = wsc_deflate_compress(d, rest, left, true, out, 1, &c, &p);
        rest += c;
        left -= c;
        buf_put(&w, out, p);
    } while (rc == WSC_ENOBUFS);
    assert_int_equal(rc, 0);
    assert_int_equal(w.len, 7);
    assert_memory_equal(w.p, "\xf2\x48\xcd\xc9\xc9\x07\x00", 7);

    /* Decompression: empty pieces are fine, done only on the fin call. */
    assert_int_equal(wsc_deflate_decompress(d, NULL, 0, false, 10, out, 1, &c, &p, &done),
                     0);
    assert_false(done);
    assert_int_equal(p, 0);
    struct buf plain = {0};
    size_t pos = 0;
    do {
        rc = wsc_deflate_decompress(d, w.p + pos, w.len - pos, true, 10, out, 1, &c, &p,
                                    &done);
        pos += c;
        buf_put(&plain, out, p);
        assert_true(!done || rc == 0);
    } while (rc == WSC_ENOBUFS);
    assert_int_equal(rc, 0);
    assert_true(done);
    assert_int_equal(plain.len, 5);
    assert_memory_equal(plain.p, "Hello", 5);
    buf_free(&w);
    buf_free(&plain);
    wsc_deflate_free(d);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct wsc_deflate *d = NULL;
    struct wsc_pmd_params p = params(false, false, 15, 15);
    assert_int_equal(wsc_deflate_new(NULL, &p, NULL), WSC_EINVAL);
    assert_int_equal(wsc_deflate_new(&d, NULL, NULL), WSC_EINVAL);
    static const uint8_t bad[][2] = {{7, 15}, {16, 15}, {15, 8}, {15, 7}, {15, 16}, {0, 0}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct wsc_pmd_params q = params(false, false, bad[i][0], bad[i][1]);
        assert_int_equal(wsc_deflate_new(&d, &q, NULL), WSC_EINVAL);
        assert_null(d);
    }
    d = make(params(false, false, 8, 9)); /* 8 for the server's window is fine */
    uint8_t out[4];
    size_t c = 1, pr = 1;
    bool done = true;
    assert_int_equal(wsc_deflate_compress(d, NULL, 1, false, out, 4, &c, &pr), WSC_EINVAL);
    assert_int_equal(c + pr, 0);
    assert_int_equal(wsc_deflate_compress(d, out, 1, false, out, 0, &c, &pr), WSC_EINVAL);
    assert_int_equal(wsc_deflate_compress(d, out, 1, false, NULL, 4, &c, &pr), WSC_EINVAL);
    assert_int_equal(wsc_deflate_compress(NULL, out, 1, false, out, 4, &c, &pr),
                     WSC_EINVAL);
    assert_int_equal(wsc_deflate_decompress(d, NULL, 1, false, 9, out, 4, &c, &pr, &done),
                     WSC_EINVAL);
    assert_false(done);
    assert_int_equal(wsc_deflate_decompress(d, out, 1, false, 9, out, 0, &c, &pr, &done),
                     WSC_EINVAL);
    assert_int_equal(wsc_deflate_decompress(d, out, 1, false, 9, out, 4, &c, &pr, NULL),
                     WSC_EINVAL);
    /* Argument errors change nothing: the codec still works. */
    expect_decode(d, "f2 48 cd c9 c9 07 00", "Hello", WHOLE, 8);
    wsc_deflate_free(d);
    wsc_deflate_free(NULL);
    assert_int_equal(wsc_deflate_memory(NULL), 0);
}

/* ---- allocator hooks ---------------------------------------------------- */

struct talloc {
    size_t count;   /* allocations attempted */
    size_t fail_at; /* the attempt that fails, or SIZE_MAX */
    size_t blocks;  /* blocks outstanding */
    size_t bytes;   /* bytes outstanding */
};

/* A header in front of each block remembers its size. */
union theader {
    max_align_t align;
    size_t size;
};

static void *t_malloc(void *user, size_t size)
{
    struct talloc *t = user;
    if (t->count++ == t->fail_at)
        return NULL;
    union theader *h = malloc(sizeof(*h) + size);
    if (!h)
        return NULL;
    h->size = size;
    t->blocks++;
    t->bytes += size;
    return h + 1;
}

static void *t_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    (void)ptr;
    (void)size;
    fail_msg("realloc is never used");
    return NULL;
}

static void t_free(void *user, void *ptr)
{
    struct talloc *t = user;
    if (!ptr)
        return;
    union theader *h = (union theader *)ptr - 1;
    t->blocks--;
    t->bytes -= h->size;
    free(h);
}

/* new, compress two messages, inflate them; every step may meet ENOMEM. */
static int scenario(struct talloc *t, bool *saw_enomem)
{
    struct wsc_deflate_alloc a = {t_malloc, t_realloc, t_free, t};
    struct wsc_pmd_params p = params(false, false, 15, 12);
    struct wsc_deflate *d = NULL;
    int rc = wsc_deflate_new(&d, &p, &a);
    if (rc) {
        assert_int_equal(rc, WSC_ENOMEM);
        assert_null(d);
        *saw_enomem = true;
        return rc;
    }
    assert_int_equal(wsc_deflate_memory(d), t->bytes);
    uint8_t msg[3000], out[8192], back[4000];
    fill_text(msg, sizeof(msg));
    size_t c, pr, wire_len = 0;
    rc = wsc_deflate_compress(d, msg, sizeof(msg), true, out, sizeof(out), &c, &pr);
    if (rc == WSC_ENOMEM) {
        assert_int_equal(c + pr, 0);
        *saw_enomem = true;
        /* Setting up the compressor may be retried. */
        rc = wsc_deflate_compress(d, msg, sizeof(msg), true, out, sizeof(out), &c, &pr);
    }
    if (rc == 0) {
        wire_len = pr;
        bool done;
        rc = wsc_deflate_decompress(d, out, wire_len, true, sizeof(back), back,
                                    sizeof(back), &c, &pr, &done);
        if (rc == 0) {
            assert_true(done);
            assert_int_equal(pr, sizeof(msg));
            assert_memory_equal(back, msg, sizeof(msg));
        } else {
            assert_int_equal(rc, WSC_ENOMEM);
            *saw_enomem = true;
            /* Sticky, as documented. */
            assert_int_equal(wsc_deflate_decompress(d, out, wire_len, true, sizeof(back),
                                                    back, sizeof(back), &c, &pr, &done),
                             WSC_ENOMEM);
        }
    }
    assert_int_equal(wsc_deflate_memory(d), t->bytes);
    wsc_deflate_free(d);
    return rc;
}

static void test_failing_allocator(void **state)
{
    (void)state;
    struct talloc t = {0, SIZE_MAX, 0, 0};
    bool saw = false;
    assert_int_equal(scenario(&t, &saw), 0);
    assert_false(saw);
    assert_int_equal(t.blocks, 0);
    size_t n = t.count;
    print_message("the scenario makes %zu allocations\n", n);
    assert_true(n >= 3);
    for (size_t i = 0; i < n; i++) {
        struct talloc f = {0, i, 0, 0};
        saw = false;
        int rc = scenario(&f, &saw);
        assert_true(saw);
        assert_true(rc == 0 || rc == WSC_ENOMEM);
        assert_int_equal(f.blocks, 0); /* nothing leaked */
        assert_int_equal(f.bytes, 0);
    }
}

/* ---- memory per connection ---------------------------------------------- */

static void test_memory_figures(void **state)
{
    (void)state;
    print_message(
        "window  deflate(tx)  inflate(rx)  both (bytes held through the hooks)\n");
    uint8_t msg[4096], out[8192], back[4096];
    fill_text(msg, sizeof(msg));
    for (uint8_t bits = 9; bits <= 15; bits++) {
        struct wsc_pmd_params p = params(false, false, bits, bits);
        struct wsc_deflate *tx = make(p), *rx = make(p), *both = make(p);
        size_t base = wsc_deflate_memory(tx);
        size_t c, pr, wire_len;
        bool done;
        assert_int_equal(
            wsc_deflate_compress(tx, msg, sizeof(msg), true, out, sizeof(out), &c, &pr), 0);
        wire_len = pr;
        assert_int_equal(wsc_deflate_decompress(rx, out, wire_len, true, sizeof(back), back,
                                                sizeof(back), &c, &pr, &done),
                         0);
        assert_int_equal(
            wsc_deflate_compress(both, msg, sizeof(msg), true, out, sizeof(out), &c, &pr),
            0);
        assert_int_equal(wsc_deflate_decompress(both, out, pr, true, sizeof(back), back,
                                                sizeof(back), &c, &pr, &done),
                         0);
        print_message("  %2u     %8zu     %8zu     %8zu   (object alone %zu)\n", bits,
                      wsc_deflate_memory(tx), wsc_deflate_memory(rx),
                      wsc_deflate_memory(both), base);
        /* Each stream is set up on first use only. */
        assert_true(wsc_deflate_memory(tx) > base && wsc_deflate_memory(rx) > base);
        assert_int_equal(wsc_deflate_memory(both),
                         wsc_deflate_memory(tx) + wsc_deflate_memory(rx) - base);
        wsc_deflate_free(tx);
        wsc_deflate_free(rx);
        wsc_deflate_free(both);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_and_python_vectors_every_split),
        cmocka_unit_test(test_rfc_fragmented_example),
        cmocka_unit_test(test_python_window_9),
        cmocka_unit_test(test_compress_matches_rfc),
        cmocka_unit_test(test_round_trips_every_chunking),
        cmocka_unit_test(test_message_runs_random_chunkings),
        cmocka_unit_test(test_context_takeover_shrinks_repeats),
        cmocka_unit_test(test_no_takeover_decoder_forgets),
        cmocka_unit_test(test_python_inflates_our_output),
        cmocka_unit_test(test_we_inflate_python_output),
        cmocka_unit_test(test_bomb_stops_at_max_message),
        cmocka_unit_test(test_limit_is_exact),
        cmocka_unit_test(test_final_block_storm),
        cmocka_unit_test(test_corrupt_input),
        cmocka_unit_test(test_truncated_messages),
        cmocka_unit_test(test_window_exceeded),
        cmocka_unit_test(test_streaming_contract),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_failing_allocator),
        cmocka_unit_test(test_memory_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
