/*
 * Incremental UTF-8 validation (RFC 3629 4), used for text messages and close
 * reasons (RFC 6455 5.6, 8.1). A text message may arrive in many fragments and
 * each fragment in many reads, so a character can be split anywhere: the state
 * between calls says how many continuation bytes are still owed and which range
 * the next one must fall in.
 *
 * RFC 3629 4 restricts the second byte of some sequences more tightly than
 * 80..BF; those restrictions are what exclude overlong forms, the surrogates
 * U+D800..U+DFFF, and code points above U+10FFFF:
 *
 *   C2..DF   80..BF
 *   E0       A0..BF  80..BF           (E0 80..9F would be overlong)
 *   E1..EC   80..BF  80..BF
 *   ED       80..9F  80..BF           (ED A0..BF would be a surrogate)
 *   EE..EF   80..BF  80..BF
 *   F0       90..BF  80..BF  80..BF   (F0 80..8F would be overlong)
 *   F1..F3   80..BF  80..BF  80..BF
 *   F4       80..8F  80..BF  80..BF   (F4 90.. would exceed U+10FFFF)
 *
 * C0 and C1 only start overlong forms, F5..FF only code points above U+10FFFF
 * (or nothing at all), so they are never valid. Checking the range of each byte
 * as it arrives reports the first byte after which no valid continuation exists.
 *
 * The byte-at-a-time validator below is the reference and the only one on
 * targets without SIMD (the Cortex-M build). Where the compiler targets x86
 * SIMD, vector passes first find the longest prefix of whole characters they
 * can prove valid, cheaply; they stop before anything they cannot vouch for,
 * and the reference takes over from that character boundary. So offsets and
 * states are the reference's by construction: the vector code only decides how
 * far to skip. Which passes run is chosen at compile time:
 *
 *   SSE2 (every x86-64)      ASCII skipped 16 to 64 bytes at a time; each other
 *                            character checked whole by one table lookup and
 *                            one 32-bit mask test, on four parts of the input
 *                            at once. Fastest on text that is mostly ASCII;
 *                            text with no ASCII gains least (1.5 to 3 times).
 *   SSSE3 (-mssse3, x86-64-v2) or AVX2 (-mavx2, x86-64-v3)
 *                            all bytes checked 32 or 64 at a time by nibble
 *                            table lookups, whatever the text; SSE2 then does
 *                            the last few bytes.
 */
#include <string.h>

#if defined(__GNUC__) && defined(__SSE2__)
#define UTF8_SSE2 1
#if defined(__AVX2__)
#include <immintrin.h>
#define UTF8_LOOKUP 32
#elif defined(__SSSE3__)
#include <tmmintrin.h>
#define UTF8_LOOKUP 16
#else
#include <emmintrin.h>
#endif
#endif

#include "core/wsc_internal.h"

/*
 * State layout (struct wsc_utf8 is one uint32_t):
 *   0                 on a character boundary
 *   bits 0..7         continuation bytes still needed (1..3)
 *   bits 8..15        lowest allowed value of the next byte
 *   bits 16..23       highest allowed value of the next byte
 *   STATE_FAILED      the stream is invalid for good
 */
#define SEQ(need, lo, hi) ((uint32_t)(need) | ((uint32_t)(lo) << 8) | ((uint32_t)(hi) << 16))
#define STATE_FAILED 0xffffffffu

#define BAD 0u /* no valid sequence starts with this byte */
#define S2 SEQ(1, 0x80, 0xbf)
#define S3 SEQ(2, 0x80, 0xbf)
#define S4 SEQ(3, 0x80, 0xbf)

/* The state after each lead byte C0..FF (bytes below C0 never lead). */
static const uint32_t lead_state[64] = {
    /* C0 */ BAD, BAD, S2, S2, S2, S2, S2, S2,
    /* C8 */ S2, S2, S2, S2, S2, S2, S2, S2,
    /* D0 */ S2, S2, S2, S2, S2, S2, S2, S2,
    /* D8 */ S2, S2, S2, S2, S2, S2, S2, S2,
    /* E0 */ SEQ(2, 0xa0, 0xbf), S3, S3, S3, S3, S3, S3, S3,
    /* E8 */ S3, S3, S3, S3, S3, SEQ(2, 0x80, 0x9f), S3, S3,
    /* F0 */ SEQ(3, 0x90, 0xbf), S4, S4, S4, SEQ(3, 0x80, 0x8f), BAD, BAD, BAD,
    /* F8 */ BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
};

/* A high bit in any of 8 bytes marks a non-ASCII byte; byte order is irrelevant. */
#define HIGH_BITS 0x8080808080808080u

/* The reference: validates p[0..len) from *state; returns as wsc_utf8_validate. */
static size_t validate_bytes(uint32_t *state, const uint8_t *p, size_t len)
{
    uint32_t st = *state;
    size_t i = 0;

    if (st == STATE_FAILED)
        return 0;

    while (i < len) {
        if (st == 0) {
            /* Text is mostly ASCII: skip 8 bytes at a time while no byte has its
             * high bit set. memcpy keeps the load free of alignment and aliasing
             * problems and compiles to one unaligned load where that is cheap. */
            while (len - i >= 8) {
                uint64_t w;
                memcpy(&w, p + i, sizeof(w));
                if (w & HIGH_BITS)
                    break;
                i += 8;
            }
            while (i < len && p[i] < 0x80)
                i++;
            if (i == len)
                break;
            /* A continuation byte (80..BF) cannot start a character. */
            if (p[i] < 0xc0 || (st = lead_state[p[i] - 0xc0]) == BAD)
                goto fail;
            i++;
        }
        /* Continuation bytes of the current character. */
        while (st != 0 && i < len) {
            uint8_t b = p[i];
            if (b < ((st >> 8) & 0xff) || b > ((st >> 16) & 0xff))
                goto fail;
            i++;
            /* Only the first continuation byte has a narrowed range. */
            st = (st & 0xff) > 1 ? SEQ((st & 0xff) - 1, 0x80, 0xbf) : 0;
        }
    }
    *state = st;
    return len;

fail:
    *state = STATE_FAILED;
    return i;
}

size_t wsc__utf8_validate_scalar(struct wsc_utf8 *u, const uint8_t *p, size_t len)
{
    return validate_bytes(&u->state, p, len);
}

#if defined(UTF8_SSE2)

/*
 * Whole-character checks for the SSE2 pass, one entry per lead byte L. With w
 * the four bytes L c1 c2 c3 (L in the low byte), the character is valid when
 * (w & mask[L]) - bits[L] <= spread[L] (unsigned): c1 lies in L's range (the
 * table at the top) and the other continuation bytes it needs are 10xxxxxx.
 * Each range is one aligned block of values, so one mask, except F0's 90..BF:
 * for F0 the mask keeps c1's high nibble and spread lets 9, A and B through.
 * Bytes that never lead, and ASCII, always fail: mask 0, bits 1, and 0 - 1
 * wraps around.
 */
#define LEAD_LEN(L) ((L) < 0xc2 ? 0 : (L) < 0xe0 ? 2 : (L) < 0xf0 ? 3 : (L) < 0xf5 ? 4 : 0)
#define LEAD_LO(L) ((L) == 0xe0 ? 0xa0 : (L) == 0xf0 ? 0x90 : 0x80)
#define LEAD_HI(L) ((L) == 0xed ? 0x9f : (L) == 0xf4 ? 0x8f : (L) == 0xf0 ? 0x9f : 0xbf)
#define CONT_MASK(L)                                                                       \
    ((LEAD_LEN(L) >= 3 ? 0x00c00000u : 0) | (LEAD_LEN(L) == 4 ? 0xc0000000u : 0))
#define CONT_BITS(L)                                                                       \
    ((LEAD_LEN(L) >= 3 ? 0x00800000u : 0) | (LEAD_LEN(L) == 4 ? 0x80000000u : 0))
#define MASK(L)                                                                            \
    (LEAD_LEN(L) ? (0x100u - (LEAD_HI(L) - LEAD_LO(L) + 1)) << 8 | CONT_MASK(L) : 0)
#define BITS(L) (LEAD_LEN(L) ? (unsigned)LEAD_LO(L) << 8 | CONT_BITS(L) : 1)
#define SPREAD(L) ((L) == 0xf0 ? 0x2000u : 0)

#define ALL4(F, L) F(L), F(L + 1), F(L + 2), F(L + 3)
#define ALL16(F, L) ALL4(F, L), ALL4(F, L + 4), ALL4(F, L + 8), ALL4(F, L + 12)
#define ALL64(F, L) ALL16(F, L), ALL16(F, L + 16), ALL16(F, L + 32), ALL16(F, L + 48)
#define ALL256(F) ALL64(F, 0x00), ALL64(F, 0x40), ALL64(F, 0x80), ALL64(F, 0xc0)

/* One object, so that one base register reaches every table in the loop. */
static const struct {
    uint32_t mask[256], bits[256], spread[256];
    size_t len[256]; /* size_t, so that the step can add it straight from memory */
} chars = {{ALL256(MASK)}, {ALL256(BITS)}, {ALL256(SPREAD)}, {ALL256(LEAD_LEN)}};

/*
 * One step over ASCII and one character: finds the first non-ASCII byte among
 * the 16 at *q (or takes the byte after them) and checks the character that
 * starts there. Moves *q past it and returns true, or moves *q to it and
 * returns false if it is ASCII or invalid. Reads at most 20 bytes from *q.
 */
static inline bool step_sse2(const uint8_t **qp)
{
    const uint8_t *q = *qp;
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_loadu_si128((const void *)q));

    /* The extra bit stands for the 17th byte: no test for "none found". */
    q += (unsigned)__builtin_ctz(m | 0x10000u);
    uint32_t w; /* L in the low byte: x86 is little-endian */
    memcpy(&w, q, sizeof(w));
    size_t L = w & 0xff;
    *qp = q;
    if ((w & chars.mask[L]) - chars.bits[L] > chars.spread[L])
        return false;
    *qp = q + chars.len[L];
    return true;
}

/*
 * Handles what stopped a step at *qp: ASCII, skipped 64 bytes at a time while
 * there is room before end. False if it was an invalid character.
 */
static bool recover_sse2(const uint8_t **qp, const uint8_t *end)
{
    const uint8_t *q = *qp;

    if (*q >= 0x80)
        return false; /* the reference reports where */
    while (end - q >= 64) {
        __m128i a = _mm_or_si128(_mm_loadu_si128((const void *)q),
                                 _mm_loadu_si128((const void *)(q + 16)));
        __m128i b = _mm_or_si128(_mm_loadu_si128((const void *)(q + 32)),
                                 _mm_loadu_si128((const void *)(q + 48)));
        if (_mm_movemask_epi8(_mm_or_si128(a, b)) != 0)
            break;
        q += 64;
    }
    *qp = q == *qp ? q + 1 : q;
    return true;
}

/* Steps from q, a character boundary, while there is room before end; returns
 * where it stopped, a character boundary. */
static const uint8_t *run_sse2(const uint8_t *q, const uint8_t *end)
{
    while (end - q >= 20) {
        if (!step_sse2(&q) && !recover_sse2(&q, end))
            break;
    }
    return q;
}

/*
 * Length of a prefix of p[0..len) known to be whole valid characters; p[0]
 * must start a character. A step waits for its loads and its table lookups,
 * one after the other, so on long inputs four independent runs share the
 * work: one from the start and three from the first non-continuation byte at
 * or after a quarter, a half and three quarters of the way. A run's result
 * counts only when the part before it is whole valid characters ending exactly
 * where the run began; otherwise the input is invalid there, and the prefix
 * stops before it so that the reference says where.
 */
static size_t skip_sse2(const uint8_t *p, size_t len)
{
    const uint8_t *q[4], *end[4];

    if (len < 1024)
        return (size_t)(run_sse2(p, p + len) - p);
    q[0] = p;
    end[3] = p + len;
    for (size_t j = 1; j < 4; j++) {
        const uint8_t *s = p + j * (len / 4);
        for (int k = 0; k < 3 && (*s & 0xc0) == 0x80; k++)
            s++;
        q[j] = end[j - 1] = s;
    }
    const uint8_t *q0 = q[0], *q1 = q[1], *q2 = q[2], *q3 = q[3];
    for (;;) {
        /* A step moves at most 20 bytes, so every run can take n more. */
        ptrdiff_t room = end[0] - q0;
        room = end[1] - q1 < room ? end[1] - q1 : room;
        room = end[2] - q2 < room ? end[2] - q2 : room;
        room = end[3] - q3 < room ? end[3] - q3 : room;
        if (room < 40)
            break;
        size_t n = (size_t)room / 20 - 1;
        while (n-- > 0) {
            if (!step_sse2(&q0)) {
                if (!recover_sse2(&q0, end[0]))
                    goto finish;
                break;
            }
            if (!step_sse2(&q1)) {
                if (!recover_sse2(&q1, end[1]))
                    goto finish;
                break;
            }
            if (!step_sse2(&q2)) {
                if (!recover_sse2(&q2, end[2]))
                    goto finish;
                break;
            }
            if (!step_sse2(&q3)) {
                if (!recover_sse2(&q3, end[3]))
                    goto finish;
                break;
            }
        }
    }
finish:
    q[0] = q0, q[1] = q1, q[2] = q2, q[3] = q3;
    for (size_t j = 0;; j++) {
        const uint8_t *at = run_sse2(q[j], end[j]);
        size_t rest = (size_t)(end[j] - at);
        uint32_t st = 0;
        if (j == 3 || validate_bytes(&st, at, rest) != rest || st != 0)
            return (size_t)(at - p);
    }
}

#endif /* UTF8_SSE2 */

#if defined(UTF8_LOOKUP)

/*
 * SSSE3 and AVX2: every pair of adjacent bytes (a, b) is classified by three
 * 16-entry lookups (pshufb) on the high nibble of a, the low nibble of a and
 * the high nibble of b; each gives the set of faults that nibble allows, and a
 * fault all three allow is real (the "lookup" method of Keiser and Lemire,
 * 2020). The faults:
 */
#define TOO_SHORT 0x01  /* a leads, b is not a continuation */
#define TOO_LONG 0x02   /* a is ASCII, b is a continuation */
#define OVERLONG_3 0x04 /* E0 80..9F */
#define TOO_LARGE 0x08  /* F4..FF 90..BF */
#define SURROGATE 0x10  /* ED A0..BF */
#define OVERLONG_2 0x20 /* C0..C1 80..BF */
#define F_80 0x40       /* F0 80..8F (overlong) or F5..FF 80..8F (too large) */
#define TWO_CONTS 0x80  /* both continuations: right for a third or fourth byte only */
#define ANY_A (TOO_SHORT | TOO_LONG | TWO_CONTS)

/* One vector type for both widths. V(x) names the intrinsic _mm_x or _mm256_x,
 * VSI(x) the one ending in _si128 or _si256. PREV(cur, prev, n) gives, for each
 * byte of cur, the byte n places before it (prev holds the bytes before cur). */
#define B(x) ((char)(x))
#if UTF8_LOOKUP == 32
typedef __m256i vec;
#define V(x) _mm256_##x
#define VSI(x) _mm256_##x##_si256
#define PREV(cur, prev, n)                                                                 \
    _mm256_alignr_epi8(cur, _mm256_permute2x128_si256(prev, cur, 0x21), 16 - (n))
#define TABLE(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, xa, xb, xc, xd, xe, xf)              \
    _mm256_setr_epi8(B(x0), B(x1), B(x2), B(x3), B(x4), B(x5), B(x6), B(x7), B(x8), B(x9), \
                     B(xa), B(xb), B(xc), B(xd), B(xe), B(xf), B(x0), B(x1), B(x2), B(x3), \
                     B(x4), B(x5), B(x6), B(x7), B(x8), B(x9), B(xa), B(xb), B(xc), B(xd), \
                     B(xe), B(xf))
#define LAST3(x, y, z)                                                                     \
    _mm256_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,   \
                     -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, B(x), B(y), B(z))
static inline bool any(vec v)
{
    return !_mm256_testz_si256(v, v);
}
#else
typedef __m128i vec;
#define V(x) _mm_##x
#define VSI(x) _mm_##x##_si128
#define PREV(cur, prev, n) _mm_alignr_epi8(cur, prev, 16 - (n))
#define TABLE(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, xa, xb, xc, xd, xe, xf)              \
    _mm_setr_epi8(B(x0), B(x1), B(x2), B(x3), B(x4), B(x5), B(x6), B(x7), B(x8), B(x9),    \
                  B(xa), B(xb), B(xc), B(xd), B(xe), B(xf))
#define LAST3(x, y, z)                                                                     \
    _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, B(x), B(y), B(z))
static inline bool any(vec v)
{
    return _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())) != 0xffff;
}
#endif
#define VBYTES UTF8_LOOKUP

/* Is each byte b of cur consistent with the bytes before it (prev holds the
 * VBYTES bytes before cur)? Nonzero bytes mark faults. */
static inline vec check_lookup(vec cur, vec prev)
{
    const vec a_high = TABLE(
        /* 0..7 ASCII */ TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,
        TOO_LONG, TOO_LONG,
        /* 8..B continuation */ TWO_CONTS, TWO_CONTS, TWO_CONTS, TWO_CONTS,
        /* C */ TOO_SHORT | OVERLONG_2,
        /* D */ TOO_SHORT,
        /* E */ TOO_SHORT | OVERLONG_3 | SURROGATE,
        /* F */ TOO_SHORT | TOO_LARGE | F_80);
    const vec a_low = TABLE(
        /* 0 */ ANY_A | OVERLONG_3 | OVERLONG_2 | F_80,
        /* 1 */ ANY_A | OVERLONG_2,
        /* 2 */ ANY_A,
        /* 3 */ ANY_A,
        /* 4 */ ANY_A | TOO_LARGE,
        /* 5..C */ ANY_A | TOO_LARGE | F_80, ANY_A | TOO_LARGE | F_80,
        ANY_A | TOO_LARGE | F_80, ANY_A | TOO_LARGE | F_80, ANY_A | TOO_LARGE | F_80,
        ANY_A | TOO_LARGE | F_80, ANY_A | TOO_LARGE | F_80, ANY_A | TOO_LARGE | F_80,
        /* D */ ANY_A | TOO_LARGE | F_80 | SURROGATE,
        /* E..F */ ANY_A | TOO_LARGE | F_80, ANY_A | TOO_LARGE | F_80);
    const vec b_high = TABLE(
        /* 0..7 ASCII */ TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
        TOO_SHORT, TOO_SHORT,
        /* 8 */ TOO_LONG | TWO_CONTS | OVERLONG_2 | OVERLONG_3 | F_80,
        /* 9 */ TOO_LONG | TWO_CONTS | OVERLONG_2 | OVERLONG_3 | TOO_LARGE,
        /* A */ TOO_LONG | TWO_CONTS | OVERLONG_2 | SURROGATE | TOO_LARGE,
        /* B */ TOO_LONG | TWO_CONTS | OVERLONG_2 | SURROGATE | TOO_LARGE,
        /* C..F leads */ TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT);
    const vec nibble = V(set1_epi8)(0x0f);
    vec prev1 = PREV(cur, prev, 1);

    vec f = V(shuffle_epi8)(a_high, VSI(and)(V(srli_epi16)(prev1, 4), nibble));
    f = VSI(and)(f, V(shuffle_epi8)(a_low, VSI(and)(prev1, nibble)));
    f = VSI(and)(f, V(shuffle_epi8)(b_high, VSI(and)(V(srli_epi16)(cur, 4), nibble)));

    /* A third byte is owed after E0..FF two places back, a fourth after F0..FF
     * three places back: bit 7 of the saturated differences says which. Where
     * it is owed, TWO_CONTS is the right answer and the XOR clears it; where it
     * is owed and b is anything else, the XOR makes it a fault. */
    vec owed = VSI(or)(V(subs_epu8)(PREV(cur, prev, 2), V(set1_epi8)(0xe0 - 0x80)),
                       V(subs_epu8)(PREV(cur, prev, 3), V(set1_epi8)(0xf0 - 0x80)));
    owed = VSI(and)(owed, V(set1_epi8)(B(0x80)));
    return VSI(xor)(f, owed);
}

/*
 * Length of a prefix of p[0..len) known to be whole valid characters, found
 * 2 * VBYTES bytes at a time; p[0] must start a character. A fault in a block
 * ends the scan at the last character boundary before that block: every fault
 * is marked at the byte the reference reports or, for C0, C1 and F5..FF, at
 * the byte after it, so the blocks before are valid apart from perhaps their
 * last byte, and a bad last byte is not a continuation byte, so the walk back
 * stops there.
 */
static size_t skip_lookup(const uint8_t *p, size_t len)
{
    /* Nonzero when one of the last three bytes leads a character that goes on
     * past them: ASCII next would be a fault. */
    const vec ends_open = LAST3(0xef, 0xdf, 0xbf);
    vec prev = VSI(setzero)(); /* the bytes before p[0] end a character, as zeros do */
    size_t i = 0;

    while (len - i >= 2 * VBYTES) {
        vec a = VSI(loadu)((const void *)(p + i));
        vec b = VSI(loadu)((const void *)(p + i + VBYTES));
        vec fault;
        if (V(movemask_epi8)(VSI(or)(a, b)) == 0)
            fault = V(subs_epu8)(prev, ends_open);
        else
            fault = VSI(or)(check_lookup(a, prev), check_lookup(b, a));
        if (any(fault))
            break;
        prev = b;
        i += 2 * VBYTES;
    }
    /* Back to the start of the character that contains p[i - 1]: at most three
     * continuation bytes end a valid prefix. */
    for (size_t k = 1; k <= 3 && k <= i; k++) {
        uint8_t c = p[i - k];
        if (c < 0x80)
            return i - k + 1;
        if (c >= 0xc0)
            return i - k;
    }
    return i;
}

#endif /* UTF8_LOOKUP */

size_t wsc_utf8_validate(struct wsc_utf8 *u, const uint8_t *p, size_t len)
{
#if defined(UTF8_SSE2)
    size_t i = 0, r;

    if (len == 0 || u->state == STATE_FAILED)
        return 0;
    if (u->state != 0) {
        /* Finish the character an earlier call began. */
        size_t need = u->state & 0xff;
        i = need < len ? need : len;
        r = validate_bytes(&u->state, p, i);
        if (u->state != 0)
            return r; /* failed, or still inside it at the end of p */
    }
#if defined(UTF8_LOOKUP)
    i += skip_lookup(p + i, len - i);
#endif
    i += skip_sse2(p + i, len - i);
    return i + validate_bytes(&u->state, p + i, len - i);
#else
    return validate_bytes(&u->state, p, len);
#endif
}
