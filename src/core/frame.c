/* RFC 6455 5.2 frame codec: header decoding at any split, header encoding, masking. */
#include <string.h>

#include "core/wsc_internal.h"

void wsc_frame_decoder_init(struct wsc_frame_decoder *d) { memset(d, 0, sizeof(*d)); }

/* Bytes the header needs in total, known once the first two bytes are in. */
static size_t header_size(const uint8_t *h)
{
    size_t n = 2;
    uint8_t len7 = h[1] & 0x7f;
    if (len7 == 126)
        n += 2;
    else if (len7 == 127)
        n += 8;
    if (h[1] & 0x80)
        n += 4;
    return n;
}

/* Parses a complete header; returns 0 or WSC_EFRAME_LEN. */
static int parse_header(const uint8_t *h, struct wsc_frame_header *out)
{
    size_t pos = 2;
    uint8_t len7 = h[1] & 0x7f;
    out->fin = (h[0] & 0x80) != 0;
    out->rsv = (uint8_t)((h[0] >> 4) & 0x7);
    out->opcode = h[0] & 0x0f;
    out->masked = (h[1] & 0x80) != 0;
    if (len7 < 126) {
        out->length = len7;
    } else if (len7 == 126) {
        out->length = ((uint64_t)h[2] << 8) | h[3];
        pos = 4;
    } else {
        uint64_t v = 0;
        for (size_t i = 0; i < 8; i++)
            v = (v << 8) | h[2 + i];
        /* RFC 6455 5.2: the most significant bit of a 64-bit length MUST be 0. */
        if (v >> 63)
            return WSC_EFRAME_LEN;
        out->length = v;
        pos = 10;
    }
    if (out->masked) {
        memcpy(out->mask, h + pos, 4);
        pos += 4;
    } else {
        memset(out->mask, 0, 4);
    }
    out->size = (uint8_t)pos;
    return 0;
}

int wsc_frame_peek_size(const uint8_t *in, size_t len, uint64_t *size)
{
    if (len < 2 || len < header_size(in))
        return WSC_EAGAIN;
    size_t h = header_size(in);
    uint64_t n = in[1] & 0x7f;
    if (n == 126) {
        n = (uint64_t)in[2] << 8 | in[3];
    } else if (n == 127) {
        n = 0;
        for (int i = 2; i < 10; i++)
            n = n << 8 | in[i];
    }
    *size = n > UINT64_MAX - h ? UINT64_MAX : h + n; /* 2^64 - 1 lengths saturate */
    return 0;
}

int wsc_frame_decode(struct wsc_frame_decoder *d, const uint8_t *in, size_t len,
                     size_t *consumed, struct wsc_frame_event *ev)
{
    *consumed = 0;
    if (d->in_payload) {
        size_t n = len;
        if ((uint64_t)n > d->remaining)
            n = (size_t)d->remaining;
        /* A non-empty frame with no input yet: nothing to report. */
        if (n == 0 && d->remaining > 0)
            return WSC_EAGAIN;
        d->remaining -= n;
        ev->type = WSC_FRAME_PAYLOAD;
        ev->header = d->header;
        ev->data = in;
        ev->len = n;
        ev->remaining = d->remaining;
        if (d->remaining == 0)
            d->in_payload = false;
        *consumed = n;
        return 0;
    }

    const uint8_t *h;
    size_t need, take;
    if (d->hlen == 0 && len >= 2 && len >= header_size(in)) {
        /* Fast path: the whole header is in this input, no copy. */
        h = in;
        need = header_size(in);
        take = need;
    } else {
        /* Slow path: gather the header in the 14-byte array across calls. */
        take = 0;
        while (take < len) {
            need = d->hlen < 2 ? 2 : header_size(d->hbuf);
            if (d->hlen >= need)
                break;
            /* RFC 6455 5.2: fail on the first byte of a 64-bit length with its top
             * bit set, before storing it, so the error offset is the same however
             * the header was split (earlier bytes are consumed for good). */
            if (d->hlen == 2 && (d->hbuf[1] & 0x7f) == 127 && (in[take] & 0x80)) {
                *consumed = take;
                return WSC_EFRAME_LEN;
            }
            d->hbuf[d->hlen++] = in[take++];
        }
        need = d->hlen < 2 ? 2 : header_size(d->hbuf);
        if (d->hlen < need) {
            *consumed = take;
            return WSC_EAGAIN;
        }
        h = d->hbuf;
    }
    int rc = parse_header(h, &d->header);
    if (rc != 0) {
        /* Only the fast path gets here: point at the first byte of the length. */
        *consumed = 2;
        return rc;
    }
    d->hlen = 0;
    d->remaining = d->header.length;
    d->in_payload = true;
    *consumed = take;
    ev->type = WSC_FRAME_HEADER;
    ev->header = d->header;
    ev->data = NULL;
    ev->len = 0;
    ev->remaining = d->remaining;
    return 0;
}

size_t wsc_frame_header_encode(uint8_t *out, bool fin, uint8_t opcode, uint64_t length,
                               const uint8_t *mask)
{
    return wsc_frame_header_encode_rsv(out, fin, 0, opcode, length, mask);
}

size_t wsc_frame_header_encode_rsv(uint8_t *out, bool fin, uint8_t rsv, uint8_t opcode,
                                   uint64_t length, const uint8_t *mask)
{
    size_t n = 2;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0x0f));
    uint8_t m = mask ? 0x80 : 0;
    if (length < 126) {
        out[1] = (uint8_t)(m | length);
    } else if (length <= 0xffff) {
        out[1] = (uint8_t)(m | 126);
        out[2] = (uint8_t)(length >> 8);
        out[3] = (uint8_t)length;
        n = 4;
    } else {
        out[1] = (uint8_t)(m | 127);
        for (size_t i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(length >> (56 - 8 * i));
        n = 10;
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

uint64_t wsc_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t mask[4],
                  uint64_t offset)
{
    size_t i = 0;
    unsigned k = (unsigned)(offset & 3);
    /* Align to the key, then XOR eight bytes at a time with a rotated key word. */
    while (i < len && k != 0) {
        dst[i] = (uint8_t)(src[i] ^ mask[k]);
        i++;
        k = (k + 1) & 3;
    }
    if (len - i >= 8) {
        /* The key twice, in memory order on any byte order. */
        uint32_t k4;
        memcpy(&k4, mask, 4);
        uint64_t kw = (uint64_t)k4 << 32 | k4;
        /* 32 bytes per turn in four named words, which compilers turn into two
         * vector loads and stores; an array here was also spilled to the stack,
         * at half the speed (25 against 47 GB/s in cache). */
        for (; len - i >= 32; i += 32) {
            uint64_t a, b, c, d;
            memcpy(&a, src + i, 8);
            memcpy(&b, src + i + 8, 8);
            memcpy(&c, src + i + 16, 8);
            memcpy(&d, src + i + 24, 8);
            a ^= kw;
            b ^= kw;
            c ^= kw;
            d ^= kw;
            memcpy(dst + i, &a, 8);
            memcpy(dst + i + 8, &b, 8);
            memcpy(dst + i + 16, &c, 8);
            memcpy(dst + i + 24, &d, 8);
        }
        for (; len - i >= 8; i += 8) {
            uint64_t w;
            memcpy(&w, src + i, 8);
            w ^= kw;
            memcpy(dst + i, &w, 8);
        }
    }
    for (; i < len; i++) {
        dst[i] = (uint8_t)(src[i] ^ mask[k]);
        k = (k + 1) & 3;
    }
    return offset + len;
}
