/*
 * Incremental UTF-8 validation (RFC 3629). Every table case runs whole, split
 * in two at every offset, and one byte at a time; the absolute offset of the
 * first bad byte and the end-of-input state must be the same every time. A
 * reference validator that reasons about code points instead of byte ranges
 * cross-checks the fast path on exhaustive short inputs and random buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/wsc_internal.h"
#include "wsc/wsc_core.h"

#define NO_ERROR SIZE_MAX

static size_t from_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*hex) {
        if (*hex == ' ') {
            hex++;
            continue;
        }
        char byte[3] = {hex[0], hex[1], '\0'};
        assert_true(n < cap);
        out[n++] = (uint8_t)strtoul(byte, NULL, 16);
        hex += 2;
    }
    return n;
}

struct result {
    size_t bad;    /* absolute offset of the first bad byte, or NO_ERROR */
    bool complete; /* wsc_utf8_complete() after the last chunk */
};

/*
 * Feeds data through wsc_utf8_validate in chunks ending at bounds[0..n). Each
 * chunk sits in its own heap block of exactly its size so that ASan catches a
 * read past the input (the 8-byte fast path is the usual suspect).
 */
static struct result run_chunks(const uint8_t *data, const size_t *bounds, size_t n)
{
    struct wsc_utf8 u;
    struct result r = {NO_ERROR, false};
    size_t start = 0;

    wsc_utf8_reset(&u);
    for (size_t i = 0; i < n; i++) {
        size_t len = bounds[i] - start;
        uint8_t *chunk = malloc(len ? len : 1);
        size_t got;
        assert_non_null(chunk);
        memcpy(chunk, data + start, len);
        got = wsc_utf8_validate(&u, chunk, len);
        free(chunk);
        if (r.bad != NO_ERROR) {
            /* Once failed, the stream stays failed. */
            assert_int_equal(got, 0);
        } else if (got != len) {
            assert_true(got < len);
            r.bad = start + got;
        }
        start = bounds[i];
    }
    r.complete = wsc_utf8_complete(&u);
    if (r.bad != NO_ERROR)
        assert_false(r.complete);
    return r;
}

static struct result run_whole(const uint8_t *data, size_t len)
{
    return run_chunks(data, &len, 1);
}

/* Whole, every split in two (with an empty chunk at either end), one byte at a
 * time: all must agree. Returns the whole-input result. */
static struct result run_all_chunkings(const uint8_t *data, size_t len, const char *name)
{
    struct result whole = run_whole(data, len);
    size_t *bounds = malloc((len + 1) * sizeof(*bounds));
    assert_non_null(bounds);

    for (size_t cut = 0; cut <= len; cut++) {
        size_t two[2] = {cut, len};
        struct result r = run_chunks(data, two, 2);
        if (r.bad != whole.bad || r.complete != whole.complete)
            print_message("%s: split at %zu disagrees\n", name, cut);
        assert_int_equal(r.bad, whole.bad);
        assert_int_equal(r.complete, whole.complete);
    }
    for (size_t i = 0; i < len; i++)
        bounds[i] = i + 1;
    if (len > 0) {
        struct result r = run_chunks(data, bounds, len);
        if (r.bad != whole.bad || r.complete != whole.complete)
            print_message("%s: byte-at-a-time disagrees\n", name);
        assert_int_equal(r.bad, whole.bad);
        assert_int_equal(r.complete, whole.complete);
    }
    free(bounds);
    return whole;
}

#define VALID NO_ERROR
#define A16 "61 62 63 64 65 66 67 68 69 6a 6b 6c 6d 6e 6f 70 "

static const struct {
    const char *name;
    const char *hex;
    size_t bad;    /* offset of the first bad byte, or VALID */
    bool complete; /* when VALID: ends on a character boundary */
} cases[] = {
    /* Edges of each sequence length (RFC 3629 3). */
    {"empty", "", VALID, true},
    {"U+0000", "00", VALID, true},
    {"U+007F", "7f", VALID, true},
    {"U+0080", "c2 80", VALID, true},
    {"U+07FF", "df bf", VALID, true},
    {"U+0800", "e0 a0 80", VALID, true},
    {"U+D7FF", "ed 9f bf", VALID, true},
    {"U+E000", "ee 80 80", VALID, true},
    {"U+FFFD", "ef bf bd", VALID, true},
    {"U+FFFE noncharacter is valid UTF-8", "ef bf be", VALID, true},
    {"U+FFFF", "ef bf bf", VALID, true},
    {"U+10000", "f0 90 80 80", VALID, true},
    {"U+10FFFF", "f4 8f bf bf", VALID, true},
    {"kosme", "ce ba e1 bd b9 cf 83 ce bc ce b5", VALID, true},
    {"ASCII runs around a euro sign", A16 A16 "e2 82 ac" A16 "61", VALID, true},
    {"every length in a row", "24 c2 a2 e2 82 ac f0 90 8d 88 24", VALID, true},

    /* Overlong forms: the first byte that rules out every shortest form. */
    {"overlong U+0000 in 2", "c0 80", 0, false},
    {"overlong U+007F in 2", "c1 bf", 0, false},
    {"overlong U+0000 in 3", "e0 80 80", 1, false},
    {"overlong U+07FF in 3", "e0 9f bf", 1, false},
    {"overlong U+0000 in 4", "f0 80 80 80", 1, false},
    {"overlong U+FFFF in 4", "f0 8f bf bf", 1, false},
    {"overlong slash after ASCII", "61 62 c0 af", 2, false},

    /* UTF-16 surrogates (RFC 3629 3). */
    {"U+D800", "ed a0 80", 1, false},
    {"U+DFFF", "ed bf bf", 1, false},
    {"surrogate pair", "ed a0 80 ed b0 80", 1, false},
    {"kosme then surrogate (Autobahn 6.3.1)",
     "ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64", 12, false},

    /* Above U+10FFFF. */
    {"U+110000", "f4 90 80 80", 1, false},
    {"U+13FFFF", "f4 bf bf bf", 1, false},
    {"F5 lead", "f5 80 80 80", 0, false},
    {"F7 lead", "f7 bf bf bf", 0, false},
    {"F8 five-byte lead", "f8 88 80 80 80", 0, false},
    {"FC six-byte lead", "fc 84 80 80 80 80", 0, false},
    {"FE", "fe", 0, false},
    {"FF after ASCII", "41 ff", 1, false},

    /* Continuation bytes where a character must start. */
    {"lone 80", "80", 0, false},
    {"lone BF", "bf", 0, false},
    {"extra continuation", "c2 80 80", 2, false},
    {"continuation after 4-byte", "f0 90 80 80 bf", 4, false},

    /* Truncated sequences followed by more input: the interrupting byte. */
    {"2-byte cut by ASCII", "c2 41", 1, false},
    {"3-byte cut by ASCII", "e1 80 41", 2, false},
    {"4-byte cut by ASCII", "f1 80 80 41", 3, false},
    {"3-byte cut by a new lead", "e1 80 c2 80", 2, false},
    {"4-byte cut by a new 4-byte", "f0 90 f0 90 80 80", 2, false},

    /* Truncated at the end: valid so far, but not complete. */
    {"ends in 2-byte lead", "c2", VALID, false},
    {"ends after E0 A0", "e0 a0", VALID, false},
    {"ends after ED", "ed", VALID, false},
    {"ends after F0 90 80", "f0 90 80", VALID, false},
    {"ends after F4 8F BF", "f4 8f bf", VALID, false},
    {"ASCII then truncated euro", A16 "e2 82", VALID, false},

    /* Errors where the 8-byte fast path stops. */
    {"80 after 7 ASCII", "61 62 63 64 65 66 67 80", 7, false},
    {"C0 after 8 ASCII", "61 62 63 64 65 66 67 68 c0", 8, false},
    {"FF after 16 ASCII", A16 "ff", 16, false},
    {"FF after 17 ASCII", A16 "61 ff", 17, false},
};

static void test_table_every_chunking(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t buf[256];
        size_t len = from_hex(cases[i].hex, buf, sizeof(buf));
        struct result r = run_all_chunkings(buf, len, cases[i].name);
        bool complete = cases[i].bad == VALID && cases[i].complete;
        if (r.bad != cases[i].bad || r.complete != complete)
            print_message("case '%s': bad %zu complete %d\n", cases[i].name, r.bad,
                          (int)r.complete);
        assert_int_equal(r.bad, cases[i].bad);
        assert_int_equal(r.complete, complete);
    }
}

/* C0, C1 and F5..FF can never appear; 80..BF never start a character. */
static void test_bytes_that_never_lead(void **state)
{
    (void)state;
    for (unsigned b = 0x80; b <= 0xff; b++) {
        uint8_t buf[4] = {(uint8_t)b, 0x80, 0x80, 0x80};
        bool never = b < 0xc2 || b > 0xf4;
        struct result r = run_whole(buf, 4);
        assert_int_equal(r.bad == 0, never);
    }
}

static void test_failed_state_is_sticky_until_reset(void **state)
{
    struct wsc_utf8 u = {0};
    static const uint8_t bad[] = {0x61, 0xc0, 0x80};
    static const uint8_t good[] = {0x61, 0x62};
    (void)state;
    assert_true(wsc_utf8_complete(&u));
    assert_int_equal(wsc_utf8_validate(&u, bad, sizeof(bad)), 1);
    assert_false(wsc_utf8_complete(&u));
    assert_int_equal(wsc_utf8_validate(&u, good, sizeof(good)), 0);
    assert_int_equal(wsc_utf8_validate(&u, good, 0), 0);
    assert_false(wsc_utf8_complete(&u));
    wsc_utf8_reset(&u);
    assert_int_equal(wsc_utf8_validate(&u, good, sizeof(good)), 2);
    assert_true(wsc_utf8_complete(&u));
    /* An empty chunk changes nothing, with or without a pointer. */
    assert_int_equal(wsc_utf8_validate(&u, NULL, 0), 0);
    assert_true(wsc_utf8_complete(&u));
}

/*
 * Reference validator: decodes the bits of each sequence and, after every byte,
 * asks whether any completion of the partial character is a Unicode scalar
 * value that needs exactly this many bytes. The first byte for which none is
 * is the bad byte; this must agree with the byte-range table in utf8.c.
 */
static bool prefix_possible(uint32_t bits, int have, int total)
{
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    int missing = total - have;
    uint32_t lo = bits << (6 * missing);
    uint32_t hi = lo | ((1u << (6 * missing)) - 1);
    if (lo < min_cp[total])
        lo = min_cp[total];
    if (hi > 0x10ffff)
        hi = 0x10ffff;
    if (lo > hi)
        return false;
    return !(lo >= 0xd800 && hi <= 0xdfff);
}

static struct result ref_validate(const uint8_t *p, size_t len)
{
    struct result r = {NO_ERROR, true};
    uint32_t bits = 0;
    int have = 0, total = 0;

    for (size_t i = 0; i < len; i++) {
        uint8_t b = p[i];
        if (have == total) {
            if (b < 0x80) {
                have = total = 0;
                continue;
            }
            if ((b & 0xe0) == 0xc0) {
                total = 2, bits = b & 0x1fu;
            } else if ((b & 0xf0) == 0xe0) {
                total = 3, bits = b & 0x0fu;
            } else if ((b & 0xf8) == 0xf0) {
                total = 4, bits = b & 0x07u;
            } else {
                r.bad = i;
                r.complete = false;
                return r;
            }
            have = 1;
        } else {
            if ((b & 0xc0) != 0x80) {
                r.bad = i;
                r.complete = false;
                return r;
            }
            bits = (bits << 6) | (b & 0x3fu);
            have++;
        }
        if (!prefix_possible(bits, have, total)) {
            r.bad = i;
            r.complete = false;
            return r;
        }
    }
    r.complete = have == total;
    return r;
}

/* One call on the caller's buffer: cheap enough for millions of inputs. Stack
 * buffers have ASan redzones too, so over-reads are still caught. */
static struct result validate_once(const uint8_t *p, size_t len)
{
    struct wsc_utf8 u = {0};
    struct result r = {NO_ERROR, false};
    size_t got = wsc_utf8_validate(&u, p, len);
    if (got != len)
        r.bad = got;
    r.complete = wsc_utf8_complete(&u);
    return r;
}

static void check_against_ref(const uint8_t *p, size_t len)
{
    struct result want = ref_validate(p, len);
    struct result got = validate_once(p, len);
    if (got.bad != want.bad || got.complete != want.complete) {
        print_message("mismatch on:");
        for (size_t i = 0; i < len; i++)
            print_message(" %02x", p[i]);
        print_message("\n got bad %zu complete %d; want bad %zu complete %d\n", got.bad,
                      (int)got.complete, want.bad, (int)want.complete);
    }
    assert_int_equal(got.bad, want.bad);
    assert_int_equal(got.complete, want.complete);
}

/* Every one- and two-byte input, and every three- and four-byte input built
 * from bytes at the edges of the ranges that matter. */
static void test_exhaustive_short_inputs_match_reference(void **state)
{
    static const uint8_t edges[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
                                    0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef,
                                    0xf0, 0xf4, 0xf5, 0xff};
    const size_t ne = sizeof(edges);
    (void)state;
    for (unsigned a = 0; a < 256; a++) {
        uint8_t one = (uint8_t)a;
        check_against_ref(&one, 1);
        for (unsigned b = 0; b < 256; b++) {
            uint8_t two[2] = {(uint8_t)a, (uint8_t)b};
            check_against_ref(two, 2);
            for (size_t c = 0; c < ne; c++) {
                uint8_t three[3] = {(uint8_t)a, (uint8_t)b, edges[c]};
                check_against_ref(three, 3);
                for (size_t d = 0; d < ne; d++) {
                    uint8_t four[4] = {(uint8_t)a, (uint8_t)b, edges[c], edges[d]};
                    check_against_ref(four, 4);
                }
            }
        }
    }
}

static uint32_t rng_state;

static uint32_t rnd(void)
{
    /* xorshift32: fixed seed, reproducible runs. */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static uint32_t rnd_range(uint32_t lo, uint32_t hi) { return lo + rnd() % (hi - lo + 1); }

/* Encodes cp in exactly n bytes (n may be longer than needed: overlong). */
static size_t encode(uint32_t cp, size_t n, uint8_t *out)
{
    static const uint8_t lead[5] = {0, 0x00, 0xc0, 0xe0, 0xf0};
    for (size_t i = n - 1; i > 0; i--) {
        out[i] = (uint8_t)(0x80 | (cp & 0x3f));
        cp >>= 6;
    }
    out[0] = (uint8_t)(lead[n] | cp);
    return n;
}

/* Appends one random piece: mostly valid text, sometimes something wrong. */
static size_t random_piece(uint8_t *out, bool clean)
{
    uint32_t kind = rnd() % (clean ? 6 : 12);
    switch (kind) {
    case 0:
    case 1: { /* an ASCII run, long enough to use the 8-byte path */
        size_t n = rnd() % 24;
        for (size_t i = 0; i < n; i++)
            out[i] = (uint8_t)rnd_range(0, 0x7f);
        return n;
    }
    case 2:
        return encode(rnd_range(0x80, 0x7ff), 2, out);
    case 3: {
        uint32_t cp = rnd_range(0x800, 0xffff - 0x800);
        if (cp >= 0xd800) /* skip the surrogates */
            cp += 0x800;
        return encode(cp, 3, out);
    }
    case 4:
        return encode(rnd_range(0x10000, 0x10ffff), 4, out);
    case 5: { /* a code point at an edge of a range */
        static const uint32_t edge[] = {0x0,   0x7f,   0x80,    0x7ff,   0x800,
                                        0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000,
                                        0x10ffff};
        uint32_t cp = edge[rnd() % (sizeof(edge) / sizeof(edge[0]))];
        size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        return encode(cp, n, out);
    }
    case 6: /* any byte at all */
        out[0] = (uint8_t)rnd();
        return 1;
    case 7: /* a stray continuation byte */
        out[0] = (uint8_t)rnd_range(0x80, 0xbf);
        return 1;
    case 8: /* a surrogate */
        return encode(rnd_range(0xd800, 0xdfff), 3, out);
    case 9: /* an overlong form */
    {
        size_t n = rnd_range(2, 4);
        static const uint32_t below[5] = {0, 0, 0x80, 0x800, 0x10000};
        return encode(rnd() % below[n], n, out);
    }
    case 10: /* above U+10FFFF */
        return encode(rnd_range(0x110000, 0x1fffff), 4, out);
    default: { /* a valid multibyte sequence cut short */
        uint8_t tmp[4];
        size_t n = encode(rnd_range(0x10000, 0x10ffff), 4, tmp);
        size_t keep = rnd_range(1, (uint32_t)n - 1);
        memcpy(out, tmp, keep);
        return keep;
    }
    }
}

static void test_random_buffers_match_reference(void **state)
{
    enum { BUFFERS = 20000, CAP = 320 };
    uint8_t buf[CAP];
    size_t invalid = 0;
    (void)state;
    rng_state = 0x2545f491u;
    for (int iter = 0; iter < BUFFERS; iter++) {
        bool clean = rnd() % 2 == 0;
        size_t target = rnd() % 256;
        size_t len = 0;
        while (len < target)
            len += random_piece(buf + len, clean);

        struct result want = ref_validate(buf, len);
        check_against_ref(buf, len);
        if (want.bad != NO_ERROR)
            invalid++;

        /* And in three random chunks, so the fast path also starts mid-stream. */
        size_t b1 = len ? rnd() % (len + 1) : 0;
        size_t b2 = b1 + (len - b1 ? rnd() % (len - b1 + 1) : 0);
        size_t bounds[3] = {b1, b2, len};
        struct result r = run_chunks(buf, bounds, 3);
        assert_int_equal(r.bad, want.bad);
        assert_int_equal(r.complete, want.complete);
    }
    /* Both outcomes must be well represented for the check to mean anything. */
    assert_true(invalid > BUFFERS / 10);
    assert_true(invalid < BUFFERS - BUFFERS / 10);
}

/*
 * Differential: wsc_utf8_validate (with the SSE2, SSSE3 or AVX2 passes where
 * the build targets them) against the byte-at-a-time reference it falls back
 * on, which utf8.c exports for this test only. Inputs are long enough for the
 * vector loops (16- to 64-byte blocks, four runs from 1 KiB): text of every
 * character length, sparse and dense, with long ASCII runs, and faults
 * injected at random places. Every call must return the same count and leave
 * the same state.
 */

/* Appends valid text in one of four styles; returns its length. */
static size_t valid_piece(uint8_t *out, int style)
{
    size_t n = 0, ascii;
    if (style == 0)
        ascii = rnd_range(8, 16); /* like bench/: a character every 10-15 bytes */
    else if (style == 1)
        ascii = 0; /* dense: no ASCII at all */
    else if (style == 2)
        ascii = rnd_range(0, 200); /* long ASCII runs */
    else
        ascii = rnd_range(0, 40);
    for (size_t i = 0; i < ascii; i++)
        out[n++] = (uint8_t)rnd_range(0x20, 0x7e);
    switch (rnd() % 4) {
    case 0:
        n += encode(rnd_range(0x80, 0x7ff), 2, out + n);
        break;
    case 1: {
        uint32_t cp = rnd_range(0x800, 0xffff - 0x800);
        n += encode(cp >= 0xd800 ? cp + 0x800 : cp, 3, out + n);
        break;
    }
    case 2:
        n += encode(rnd_range(0x10000, 0x10ffff), 4, out + n);
        break;
    default: { /* the edges of the ranges, where the special second bytes are */
        static const uint32_t edge[] = {0x80,    0x7ff,   0x800,   0xfff,
                                        0x1000,  0xd7ff,  0xe000,  0xffff,
                                        0x10000, 0x3ffff, 0x40000, 0x10ffff};
        uint32_t cp = edge[rnd() % (sizeof(edge) / sizeof(edge[0]))];
        n += encode(cp, cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4, out + n);
        break;
    }
    }
    return n;
}

/* Damages buf[pos..] in place (the length may shrink by one); returns the new length. */
static size_t inject_fault(uint8_t *buf, size_t len, size_t pos)
{
    static const uint8_t never[] = {0xc0, 0xc1, 0xf5, 0xf8, 0xfe, 0xff};
    uint8_t tmp[4];
    size_t n;
    switch (rnd() % 9) {
    case 0: /* a byte that can never appear */
        buf[pos] = never[rnd() % sizeof(never)];
        return len;
    case 1: /* a stray continuation byte (or one where a lead was) */
        buf[pos] = (uint8_t)rnd_range(0x80, 0xbf);
        return len;
    case 2: /* ASCII or a lead where a continuation may be owed */
        buf[pos] = rnd() % 2 ? (uint8_t)rnd_range(0, 0x7f) : (uint8_t)rnd_range(0xc2, 0xf4);
        return len;
    case 3: /* a byte dropped: cuts a character short, or leaves orphans */
        memmove(buf + pos, buf + pos + 1, len - pos - 1);
        return len - 1;
    case 4: /* a surrogate */
        n = encode(rnd_range(0xd800, 0xdfff), 3, tmp);
        break;
    case 5: { /* an overlong form */
        static const uint32_t below[5] = {0, 0, 0x80, 0x800, 0x10000};
        size_t w = rnd_range(2, 4);
        n = encode(rnd() % below[w], w, tmp);
        break;
    }
    case 6: /* above U+10FFFF */
        n = encode(rnd_range(0x110000, 0x1fffff), 4, tmp);
        break;
    case 7: /* the second byte just outside E0, ED, F0 or F4's range */
        tmp[0] = (uint8_t)(0xe0 + 0x10 * (rnd() % 2));
        tmp[1] = tmp[0] == 0xe0 ? 0x9f : 0x8f;
        if (rnd() % 2) {
            tmp[0] = (uint8_t)(tmp[0] == 0xe0 ? 0xed : 0xf4);
            tmp[1] = tmp[0] == 0xed ? 0xa0 : 0x90;
        }
        tmp[2] = tmp[3] = 0x80;
        n = tmp[0] >= 0xf0 ? 4 : 3;
        break;
    default: /* any byte */
        buf[pos] = (uint8_t)rnd();
        return len;
    }
    if (n > len - pos)
        n = len - pos;
    memcpy(buf + pos, tmp, n);
    return len;
}

/* Feeds data through both validators in the chunks ending at bounds[0..n). */
static void compare_chunked(const uint8_t *data, const size_t *bounds, size_t n)
{
    struct wsc_utf8 fast = {0}, ref = {0};
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = bounds[i] - start;
        uint8_t *chunk = malloc(len ? len : 1); /* exact size: ASan sees over-reads */
        assert_non_null(chunk);
        memcpy(chunk, data + start, len);
        size_t got = wsc_utf8_validate(&fast, chunk, len);
        size_t want = wsc__utf8_validate_scalar(&ref, chunk, len);
        free(chunk);
        if (got != want || fast.state != ref.state) {
            print_message(
                "chunk %zu (offset %zu, %zu bytes): got %zu state %08x, reference "
                "%zu state %08x; input:",
                i, start, len, got, (unsigned)fast.state, want, (unsigned)ref.state);
            for (size_t k = 0; k < bounds[n - 1]; k++)
                print_message(" %02x", data[k]);
            print_message("\n");
        }
        assert_int_equal(got, want);
        assert_int_equal(fast.state, ref.state);
        start = bounds[i];
    }
}

static void test_vector_pass_matches_scalar_on_random_text(void **state)
{
    enum { BUFFERS = 6000, CAP = 1600 };
    static uint8_t buf[CAP + 400];
    size_t invalid = 0;
    (void)state;
    rng_state = 0x6a09e667u;
    for (int iter = 0; iter < BUFFERS; iter++) {
        int style = (int)(rnd() % 4);
        size_t target = rnd_range(1, CAP), len = 0;
        while (len < target)
            len += valid_piece(buf + len, style);
        /* Half clean, half with up to three faults anywhere. */
        size_t faults = rnd() % 2 ? 0 : rnd_range(1, 3);
        for (size_t f = 0; f < faults && len > 0; f++)
            len = inject_fault(buf, len, rnd() % len);
        invalid += ref_validate(buf, len).bad != NO_ERROR;

        /* Whole, then in 2 to 6 chunks cut at random (empty chunks included). */
        compare_chunked(buf, &len, 1);
        size_t bounds[6], nb = rnd_range(2, 6);
        for (size_t i = 0; i + 1 < nb; i++)
            bounds[i] = rnd() % (len + 1);
        bounds[nb - 1] = len;
        for (size_t i = 1; i < nb; i++) /* insertion sort */
            for (size_t j = i; j > 0 && bounds[j - 1] > bounds[j]; j--) {
                size_t t = bounds[j];
                bounds[j] = bounds[j - 1];
                bounds[j - 1] = t;
            }
        compare_chunked(buf, bounds, nb);
    }
    assert_true(invalid > BUFFERS / 4);
    assert_true(invalid < BUFFERS - BUFFERS / 4);
}

/* Puts each of faults[0..nfaults) and one random fault at every offset of
 * text[0..len), and compares whole and cut at the fault. */
static void fault_at_every_offset(const uint8_t *text, size_t len, const uint8_t *faults,
                                  size_t nfaults)
{
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    for (size_t pos = 0; pos < len; pos++) {
        for (size_t f = 0; f <= nfaults; f++) {
            size_t n = len;
            memcpy(buf, text, len);
            if (f < nfaults)
                buf[pos] = faults[f];
            else
                n = inject_fault(buf, len, pos);
            size_t cut = pos < n ? pos : n;
            size_t two[2] = {cut, n}, three[3] = {cut, cut + 1 < n ? cut + 1 : n, n};
            compare_chunked(buf, &n, 1);
            compare_chunked(buf, two, 2);
            compare_chunked(buf, three, 3);
        }
    }
    free(buf);
}

/* One fault at every offset of a text that spans several vector blocks, so
 * that faults meet every block boundary. The long text is also split into
 * several runs when validated in one call (1 KiB and up on SSE2), so faults
 * meet the places where those runs meet, too. */
static void test_vector_pass_matches_scalar_for_a_fault_anywhere(void **state)
{
    static const uint8_t faults[] = {0x00, 0x41, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
                                     0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed,
                                     0xef, 0xf0, 0xf4, 0xf5, 0xff};
    static const uint8_t few[] = {0x41, 0x80, 0xc0, 0xe0, 0xf4};
    uint8_t text[1100 + 210]; /* a piece adds at most 204 bytes */
    size_t len = 0;
    (void)state;
    rng_state = 0xbb67ae85u;
    while (len < 160)
        len += valid_piece(text + len, (int)(len / 40 % 4));
    fault_at_every_offset(text, len, faults, sizeof(faults));

    len = 0;
    while (len < 1100)
        len += valid_piece(text + len, (int)(len / 100 % 4));
    fault_at_every_offset(text, len, few, sizeof(few));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_every_chunking),
        cmocka_unit_test(test_bytes_that_never_lead),
        cmocka_unit_test(test_failed_state_is_sticky_until_reset),
        cmocka_unit_test(test_exhaustive_short_inputs_match_reference),
        cmocka_unit_test(test_random_buffers_match_reference),
        cmocka_unit_test(test_vector_pass_matches_scalar_on_random_text),
        cmocka_unit_test(test_vector_pass_matches_scalar_for_a_fault_anywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
