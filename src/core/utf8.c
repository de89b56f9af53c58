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
 */
#include <string.h>

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

size_t wsc_utf8_validate(struct wsc_utf8 *u, const uint8_t *p, size_t len)
{
    uint32_t st = u->state;
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
    u->state = st;
    return len;

fail:
    u->state = STATE_FAILED;
    return i;
}
