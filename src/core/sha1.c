/*
 * SHA-1 (FIPS 180-4 6.1), needed only for Sec-WebSocket-Accept (RFC 6455 4.1).
 * SHA-1 is not used here for security: the accept value merely proves that the
 * server understood the WebSocket handshake.
 */
#include <string.h>

#include "core/wsc_internal.h"

static uint32_t rotl(uint32_t x, unsigned n) { return (x << n) | (x >> (32u - n)); }

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
           (uint32_t)p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/*
 * FIPS 180-4 6.1.2: one 512-bit block. The message schedule W[t] is kept as a
 * 16-word ring (W[t] lives in w[t mod 16]) rather than all 80 words, which keeps
 * stack use at 64 bytes on small devices.
 */
static void compress(uint32_t h[5], const uint8_t block[64])
{
    uint32_t w[16];
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

    for (unsigned t = 0; t < 16; t++)
        w[t] = load_be32(block + 4 * t);

    for (unsigned t = 0; t < 80; t++) {
        uint32_t f, k;
        if (t >= 16) {
            /* W[t] = ROTL1(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16]) */
            w[t & 15] = rotl(w[(t - 3) & 15] ^ w[(t - 8) & 15] ^ w[(t - 14) & 15] ^
                                 w[t & 15],
                             1);
        }
        /* FIPS 180-4 4.1.1 (functions) and 4.2.1 (constants). */
        if (t < 20) {
            f = (b & c) | (~b & d); /* Ch */
            k = 0x5a827999u;
        } else if (t < 40) {
            f = b ^ c ^ d; /* Parity */
            k = 0x6ed9eba1u;
        } else if (t < 60) {
            f = (b & c) | (b & d) | (c & d); /* Maj */
            k = 0x8f1bbcdcu;
        } else {
            f = b ^ c ^ d; /* Parity */
            k = 0xca62c1d6u;
        }
        uint32_t tmp = rotl(a, 5) + f + e + k + w[t & 15];
        e = d;
        d = c;
        c = rotl(b, 30);
        b = a;
        a = tmp;
    }

    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void wsc__sha1_init(struct wsc__sha1 *s)
{
    /* FIPS 180-4 5.3.1: initial hash value. */
    s->h[0] = 0x67452301u;
    s->h[1] = 0xefcdab89u;
    s->h[2] = 0x98badcfeu;
    s->h[3] = 0x10325476u;
    s->h[4] = 0xc3d2e1f0u;
    s->total = 0;
    s->used = 0;
}

void wsc__sha1_update(struct wsc__sha1 *s, const void *data, size_t len)
{
    const uint8_t *p = data;

    s->total += len;
    /* Top up a partly filled block first. */
    if (s->used > 0) {
        size_t n = 64 - s->used;
        if (n > len)
            n = len;
        memcpy(s->block + s->used, p, n);
        s->used += n;
        p += n;
        len -= n;
        if (s->used < 64)
            return;
        compress(s->h, s->block);
        s->used = 0;
    }
    /* Whole blocks straight from the input, without copying. */
    while (len >= 64) {
        compress(s->h, p);
        p += 64;
        len -= 64;
    }
    if (len > 0) {
        memcpy(s->block, p, len);
        s->used = len;
    }
}

void wsc__sha1_final(struct wsc__sha1 *s, uint8_t out[WSC__SHA1_LEN])
{
    /* FIPS 180-4 5.1.1: a 1 bit, zeros up to 448 mod 512, then the 64-bit
     * big-endian message length in bits. */
    uint64_t bits = s->total * 8u;

    s->block[s->used++] = 0x80;
    if (s->used > 56) {
        memset(s->block + s->used, 0, 64 - s->used);
        compress(s->h, s->block);
        s->used = 0;
    }
    memset(s->block + s->used, 0, 56 - s->used);
    store_be32(s->block + 56, (uint32_t)(bits >> 32));
    store_be32(s->block + 60, (uint32_t)bits);
    compress(s->h, s->block);

    for (unsigned i = 0; i < 5; i++)
        store_be32(out + 4 * i, s->h[i]);
    /* The context is finished; reinitialise so a stray update cannot extend a
     * digest that was already handed out. */
    wsc__sha1_init(s);
}
