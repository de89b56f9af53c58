/*
 * libFuzzer target for the incremental UTF-8 validator, differential against a
 * reference decoder written here from RFC 3629 alone (code point arithmetic,
 * no lookup table), at every chunking: the input's own chunk plan (see
 * fuzz_chunks.h), one byte per call, and (for inputs up to 512 bytes) every
 * split in two. Option bit 0 of byte 0 makes the chunked runs also pass
 * zero-length calls between chunks.
 *
 * The reference decides, for the stream as a whole, the offset of the first
 * byte after which no valid continuation exists (or none), and whether a
 * valid stream ends on a character boundary. Every run must report exactly
 * that offset (the sum of earlier chunks plus the return value), accept
 * nothing after the failure (later calls return 0), and agree on
 * wsc_utf8_complete(). Each chunk is a heap block of exactly its size, so the
 * fast paths cannot read past it unnoticed: the reference's 8-byte ASCII skip
 * and, in x86 builds, the vector passes that run first (SSE2: 16-byte loads
 * and a 4-byte character load, on calls of 20 bytes or more, in four runs from
 * 1 KiB; with -mssse3 or -mavx2 also 32- or 64-byte blocks). The whole input,
 * the larger chunks of the plan and the splits in two reach them at every
 * alignment of the text to their blocks.
 */
#include "core/fuzz_chunks.h"
#include "wsc/wsc_core.h"

/* Could the code point of an @p n byte sequence lie in [lo, hi] and be valid? */
static bool viable(uint32_t lo, uint32_t hi, size_t n)
{
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    static const uint32_t max[5] = {0, 0x7f, 0x7ff, 0xffff, 0x10ffff};
    if (lo < min[n])
        lo = min[n];
    if (hi > max[n])
        hi = max[n];
    if (lo > hi)
        return false;
    /* Surrogates U+D800..U+DFFF are not characters. */
    return lo < 0xd800 || hi > 0xdfff;
}

struct ref {
    size_t bad;    /* offset of the first invalid byte, or SIZE_MAX */
    bool complete; /* valid and ending on a character boundary */
};

static struct ref reference(const uint8_t *p, size_t len)
{
    struct ref r = {SIZE_MAX, true};
    size_t i = 0;
    while (i < len) {
        uint8_t b = p[i];
        size_t n = b < 0x80             ? 1
                   : (b & 0xe0) == 0xc0 ? 2
                   : (b & 0xf0) == 0xe0 ? 3
                   : (b & 0xf8) == 0xf0 ? 4
                                        : 0;
        if (n == 0) {
            r.bad = i; /* a continuation byte or F8..FF cannot lead */
            return r;
        }
        uint32_t cp = n == 1 ? b : (uint32_t)(b & (0x7f >> n));
        /* After k bytes, the remaining n - k continuation bytes add 6 bits each. */
        for (size_t k = 1; k <= n; k++) {
            if (k > 1) {
                if (i + k - 1 >= len) {
                    r.complete = false; /* valid so far, cut inside a character */
                    return r;
                }
                uint8_t c = p[i + k - 1];
                if ((c & 0xc0) != 0x80) {
                    r.bad = i + k - 1;
                    return r;
                }
                cp = cp << 6 | (c & 0x3f);
            }
            unsigned rest = 6 * (unsigned)(n - k);
            uint32_t lo = cp << rest, hi = lo | ((1u << rest) - 1);
            if (!viable(lo, hi, n)) {
                r.bad = i + k - 1;
                return r;
            }
        }
        i += n;
    }
    return r;
}

/* Validates @p len bytes as one call, from an exact-size copy. */
static size_t call(struct wsc_utf8 *u, const uint8_t *p, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    FZ_CHECK(copy != NULL);
    if (len)
        memcpy(copy, p, len);
    size_t r = wsc_utf8_validate(u, len ? copy : NULL, len);
    free(copy);
    return r;
}

/* Feeds data in the chunks ends[0..n) (each an end offset) and checks the result. */
static void check_run(const uint8_t *data, size_t len, const size_t *ends, size_t n,
                      bool empty_calls, const struct ref *want)
{
    struct wsc_utf8 u;
    wsc_utf8_reset(&u);
    size_t start = 0, bad = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t clen = ends[i] - start;
        size_t got = call(&u, data + start, clen);
        if (bad != SIZE_MAX) {
            FZ_CHECK(got == 0); /* failed for good */
        } else if (got < clen) {
            bad = start + got;
        } else {
            FZ_CHECK(got == clen);
        }
        if (empty_calls)
            FZ_CHECK(call(&u, NULL, 0) == 0);
        start = ends[i];
    }
    FZ_CHECK(start == len);
    if (bad != want->bad) {
        fprintf(stderr, "validator says %zu, reference %zu\n", bad, want->bad);
        abort();
    }
    if (bad == SIZE_MAX)
        FZ_CHECK(wsc_utf8_complete(&u) == want->complete);
    else
        FZ_CHECK(!wsc_utf8_complete(&u));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_plan p;
    if (!fz_plan_parse(data, size, &p) || p.len > 65536)
        return 0;
    bool empty_calls = p.options & 1;
    struct ref want = reference(p.data, p.len);
    size_t *ends = malloc((p.len + 1) * sizeof(*ends));
    FZ_CHECK(ends != NULL);

    /* Whole. */
    ends[0] = p.len;
    check_run(p.data, p.len, ends, 1, false, &want);
    /* The input's chunk plan. */
    size_t n = 0, pos = 0;
    while (pos < p.len) {
        pos += fz_chunk(&p, true, n, p.len - pos);
        ends[n++] = pos;
    }
    check_run(p.data, p.len, ends, n, empty_calls, &want);
    /* One byte per call. */
    for (size_t i = 0; i < p.len; i++)
        ends[i] = i + 1;
    check_run(p.data, p.len, ends, p.len, empty_calls, &want);
    /* Every split in two. */
    if (p.len <= 512) {
        for (size_t cut = 1; cut < p.len; cut++) {
            ends[0] = cut;
            ends[1] = p.len;
            check_run(p.data, p.len, ends, 2, false, &want);
        }
    }
    free(ends);
    return 0;
}
