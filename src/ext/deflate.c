/* RFC 7692 7.2: permessage-deflate compression and decompression with zlib. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* next_in becomes a pointer to const (zlib 1.2.5.2 and later). */
#define ZLIB_CONST
#include <zlib.h>

#include "wsc/wsc_deflate.h"

/* RFC 7692 7.2.1/7.2.2: a Z_SYNC_FLUSH ends with an empty stored block whose
 * last four bytes the sender removes and the receiver puts back. */
static const uint8_t TAIL[4] = {0x00, 0x00, 0xff, 0xff};

/*
 * zlib asks for avail_out > 6 on a sync flush, or it may repeat the flush
 * marker. Caller buffers smaller than STAGE_MIN therefore receive their bytes
 * through a staging area, which also lets a 1-byte buffer make progress.
 */
#define STAGE_SIZE 32
#define STAGE_MIN 16

/* zlib hands zfree only a pointer; a header in front of each block remembers
 * its size for the memory figure. The union keeps the block aligned. */
union block_header {
    max_align_t align;
    size_t size;
};

struct wsc_deflate {
    struct wsc_deflate_alloc alloc;
    size_t mem; /* bytes held through the hooks, this object included */
    struct wsc_pmd_params p;

    /* Compressor: our messages. */
    z_stream tx;
    bool tx_init;
    int tx_error;    /* sticky; 0 = usable */
    bool tx_flushed; /* the final sync flush of this message is complete */
    bool tx_data;    /* this message has given zlib input */
    uint8_t hold[4]; /* newest output, withheld: it may be the flush tail */
    size_t hold_len;
    uint8_t stage[STAGE_SIZE];
    uint8_t ready[STAGE_SIZE]; /* staged bytes cleared for output, not yet given */
    size_t ready_off, ready_len;

    /* Decompressor: the server's messages. */
    z_stream rx;
    bool rx_init;
    int rx_error;      /* sticky; 0 = usable */
    uint64_t rx_total; /* inflated bytes of this message */
    uint64_t rx_in;    /* compressed bytes of this message seen so far */
    size_t tail_used;  /* bytes of TAIL fed (4 = fed or skipped) */
    bool rx_drained;   /* inflate() has no output pending */
    bool rx_boundary;  /* the stream is between two blocks */
    unsigned rx_bits;  /* at a boundary: unused bits of rx_last, 0..7 */
    bool rx_peek;      /* at a boundary: the next BFINAL bit is still unread */
    bool rx_final;     /* the current block was final (its BFINAL cleared) */
    uint8_t rx_last;   /* the last input byte inflate() took */
};

/* zlib counts in uInt; larger amounts go through in several rounds. (The
 * >= keeps the test meaningful where size_t and uInt have the same width.) */
static uInt clamp_uint(size_t n)
{
    return n >= (size_t)UINT_MAX ? UINT_MAX : (uInt)n;
}

/* ---- memory ----------------------------------------------------------- */

static void *lib_malloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}

static void lib_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

static void *mem_alloc(struct wsc_deflate *d, size_t size)
{
    if (size > SIZE_MAX - sizeof(union block_header))
        return NULL;
    size_t total = size + sizeof(union block_header);
    union block_header *h = d->alloc.malloc(d->alloc.user, total);
    if (!h)
        return NULL;
    h->size = total;
    d->mem += total;
    return h + 1;
}

static void mem_free(struct wsc_deflate *d, void *ptr)
{
    if (!ptr)
        return;
    union block_header *h = (union block_header *)ptr - 1;
    d->mem -= h->size;
    d->alloc.free(d->alloc.user, h);
}

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    if (size && items > SIZE_MAX / size)
        return Z_NULL;
    void *p = mem_alloc(opaque, (size_t)items * size);
    return p ? p : Z_NULL;
}

static void z_free(voidpf opaque, voidpf ptr)
{
    mem_free(opaque, ptr);
}

/* ---- lifetime --------------------------------------------------------- */

bool wsc_deflate_available(void)
{
    return true;
}

static bool bits_ok(uint8_t b)
{
    return b >= 8 && b <= 15;
}

int wsc_deflate_new(struct wsc_deflate **out, const struct wsc_pmd_params *p,
                    const struct wsc_deflate_alloc *a)
{
    if (!out)
        return WSC_EINVAL;
    *out = NULL;
    /* zlib rejects 8 for raw deflate (a 256-byte window is not supported);
     * using 9 instead would break the promise the negotiation made. */
    if (!p || !bits_ok(p->server_max_window_bits) || !bits_ok(p->client_max_window_bits) ||
        p->client_max_window_bits == 8)
        return WSC_EINVAL;
    struct wsc_deflate tmp;
    memset(&tmp, 0, sizeof(tmp));
    if (a && a->malloc && a->free) {
        tmp.alloc = *a;
    } else {
        tmp.alloc.malloc = lib_malloc;
        tmp.alloc.free = lib_free;
    }
    struct wsc_deflate *d = mem_alloc(&tmp, sizeof(*d));
    if (!d)
        return WSC_ENOMEM;
    tmp.p = *p;
    *d = tmp; /* carries mem, which already counts d itself */
    *out = d;
    return 0;
}

void wsc_deflate_free(struct wsc_deflate *d)
{
    if (!d)
        return;
    if (d->tx_init)
        deflateEnd(&d->tx);
    if (d->rx_init)
        inflateEnd(&d->rx);
    struct wsc_deflate tmp = *d; /* the hooks must outlive the block they free */
    mem_free(&tmp, d);
}

size_t wsc_deflate_memory(const struct wsc_deflate *d)
{
    return d ? d->mem : 0;
}

/* ---- compression ------------------------------------------------------ */

static int tx_setup(struct wsc_deflate *d)
{
    int wbits = d->p.client_max_window_bits;
    /* A small negotiated window exists to save memory; zlib's hash tables
     * (memLevel) dominate then, so they shrink with the window: 15 gives
     * zlib's default of 8, 9 gives 2. */
    int mem_level = wbits - 7;
    memset(&d->tx, 0, sizeof(d->tx));
    d->tx.zalloc = z_alloc;
    d->tx.zfree = z_free;
    d->tx.opaque = d;
    /* Negative window bits: raw DEFLATE, no zlib header or checksum (7.2.1). */
    int rc = deflateInit2(&d->tx, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -wbits, mem_level,
                          Z_DEFAULT_STRATEGY);
    if (rc == Z_MEM_ERROR)
        return WSC_ENOMEM;
    if (rc != Z_OK)
        return WSC_EINVAL;
    d->tx_init = true;
    return 0;
}

/* The message is out: forget the tail and start the next one. */
static int tx_finish_message(struct wsc_deflate *d)
{
    d->tx_flushed = false;
    d->tx_data = false;
    /* A completed sync flush always ends with the empty stored block. */
    if (d->hold_len != 4 || memcmp(d->hold, TAIL, 4) != 0)
        return d->tx_error = WSC_EINVAL;
    d->hold_len = 0;
    /* 7.1.1.2: without context takeover each message starts from an empty
     * window, which deflateReset gives while keeping the allocations. */
    if (d->p.client_no_context_takeover && deflateReset(&d->tx) != Z_OK)
        return d->tx_error = WSC_EINVAL;
    return 0;
}

static size_t give_ready(struct wsc_deflate *d, uint8_t *out, size_t space)
{
    size_t k = d->ready_len < space ? d->ready_len : space;
    memcpy(out, d->ready + d->ready_off, k);
    d->ready_off += k;
    d->ready_len -= k;
    return k;
}

int wsc_deflate_compress(struct wsc_deflate *d, const uint8_t *in, size_t in_len, bool fin,
                         uint8_t *out, size_t out_cap, size_t *consumed, size_t *produced)
{
    size_t c = 0, p = 0;
    if (consumed)
        *consumed = 0;
    if (produced)
        *produced = 0;
    if (!d || !consumed || !produced || !out || out_cap == 0 || (!in && in_len))
        return WSC_EINVAL;
    if (d->tx_error)
        return d->tx_error;
    if (!d->tx_init) {
        int rc = tx_setup(d);
        if (rc)
            return rc;
    }
    int rc = 0;
    for (;;) {
        p += give_ready(d, out + p, out_cap - p);
        if (d->ready_len) {
            rc = WSC_ENOBUFS;
            break;
        }
        if (d->tx_flushed) {
            rc = tx_finish_message(d);
            break;
        }
        if (!fin && c == in_len)
            break; /* zlib keeps what it has not emitted until more comes */
        size_t space = out_cap - p;
        if (space == 0) {
            rc = WSC_ENOBUFS;
            break;
        }
        if (fin && in_len == 0 && !d->tx_data) {
            /* An empty message. zlib refuses a second sync flush with no
             * input in between (Z_BUF_ERROR), but the answer is known: every
             * flush leaves the stream byte-aligned, so the message is one
             * empty stored block, 00 00 00 ff ff, which is 00 once the tail
             * goes. zlib's state needs no change for it. */
            out[p++] = 0x00;
            memcpy(d->hold, TAIL, 4);
            d->hold_len = 4;
            d->tx_flushed = true;
            continue;
        }
        /*
         * The last four bytes produced so far might be the flush tail, which
         * must not be sent; they wait in hold until newer bytes follow. Each
         * round puts them in front of zlib's new output and takes the newest
         * four back out.
         */
        bool staged = space < STAGE_MIN;
        uint8_t *dst = staged ? d->stage : out + p;
        size_t dcap = staged ? sizeof(d->stage) : space;
        size_t h = d->hold_len;
        memcpy(dst, d->hold, h);
        size_t ain = in_len - c, aout = dcap - h;
        d->tx.next_in = in ? in + c : NULL;
        d->tx.avail_in = clamp_uint(ain);
        d->tx.next_out = dst + h;
        d->tx.avail_out = clamp_uint(aout);
        uInt before_in = d->tx.avail_in, before_out = d->tx.avail_out;
        int zr = deflate(&d->tx, fin ? Z_SYNC_FLUSH : Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = d->tx_error = WSC_EINVAL; /* Z_STREAM_ERROR: state damaged */
            break;
        }
        c += before_in - d->tx.avail_in;
        if (before_in)
            d->tx_data = true;
        size_t total = h + (before_out - d->tx.avail_out);
        size_t keep = total < 4 ? total : 4;
        memcpy(d->hold, dst + total - keep, keep);
        d->hold_len = keep;
        size_t emit = total - keep;
        if (staged) {
            size_t k = emit < space ? emit : space;
            memcpy(out + p, d->stage, k);
            p += k;
            memcpy(d->ready, d->stage + k, emit - k);
            d->ready_off = 0;
            d->ready_len = emit - k;
        } else {
            p += emit;
        }
        /* zlib.h: the flush is complete once all input is in and deflate()
         * returns with output space left (Z_BUF_ERROR, no progress possible,
         * also leaves space). */
        if (fin && c == in_len && d->tx.avail_out != 0)
            d->tx_flushed = true;
    }
    *consumed = c;
    *produced = p;
    return rc;
}

/* ---- decompression ---------------------------------------------------- */

/*
 * RFC 7692 7.2.3.4 lets a sender end its data with a BFINAL block and go on
 * with more blocks after the padding, in the same message or the next, still
 * referring to the window. zlib's stream would end at such a block, and a new
 * stream would need the window copied over (32 KiB per final block, which a
 * peer could demand every two bytes). Instead, inflate() runs with Z_BLOCK,
 * stopping at each block boundary, and before each block header is read its
 * BFINAL bit is cleared through inflatePrime(): zlib then sees one endless
 * stream. After a block that was final, the rest of its byte is padding and is
 * dropped, as zlib itself would do at the end of a stream.
 */

/* At a boundary: start the next block; true if it consumed the byte at src. */
static bool rx_peek_header(struct wsc_deflate *d, const uint8_t *src, size_t avail)
{
    if (d->rx_bits) {
        /* The next header starts inside rx_last, whose top rx_bits bits are
         * what zlib's bit buffer holds; the lowest of them is BFINAL. */
        unsigned v = (unsigned)d->rx_last >> (8 - d->rx_bits);
        d->rx_peek = false;
        if (v & 1) {
            inflatePrime(&d->rx, -1, 0);
            inflatePrime(&d->rx, (int)d->rx_bits, (int)(v & ~1u));
            d->rx_final = true;
            d->rx_boundary = false;
        }
        return false;
    }
    if (avail == 0)
        return false; /* look when the next byte arrives */
    d->rx_peek = false;
    if (!(src[0] & 1))
        return false;
    /* Hand zlib the first byte ourselves, with BFINAL cleared. */
    inflatePrime(&d->rx, 8, src[0] & 0xfe);
    d->rx_last = src[0];
    d->rx_final = true;
    d->rx_boundary = false;
    return true;
}

/* A fresh stream: a boundary before the first header. */
static void rx_fresh(struct wsc_deflate *d)
{
    d->rx_boundary = true;
    d->rx_bits = 0;
    d->rx_peek = true;
    d->rx_final = false;
    d->rx_drained = true;
}

static int rx_setup(struct wsc_deflate *d)
{
    /* 8 would reject the 9-bit distances zlib-based servers produce when
     * asked for 8; a larger inflate window accepts every smaller one. */
    int wbits = d->p.server_max_window_bits < 9 ? 9 : d->p.server_max_window_bits;
    memset(&d->rx, 0, sizeof(d->rx));
    d->rx.zalloc = z_alloc;
    d->rx.zfree = z_free;
    d->rx.opaque = d;
    int rc = inflateInit2(&d->rx, -wbits);
    if (rc == Z_MEM_ERROR)
        return WSC_ENOMEM;
    if (rc != Z_OK)
        return WSC_EINVAL;
    d->rx_init = true;
    rx_fresh(d);
    return 0;
}

/* All input of the message is in: check where it ended, prepare the next. */
static int rx_finish_message(struct wsc_deflate *d)
{
    /* Every message ends with a flush (7.2.1), which leaves the stream
     * between blocks on a byte boundary. Anything else is a truncated or
     * unflushed message, whose leftovers would corrupt the next one. */
    if (!d->rx_boundary || d->rx_bits != 0)
        return WSC_EINFLATE;
    d->rx_total = 0;
    d->rx_in = 0;
    d->tail_used = 0;
    /* 7.1.1.1: the server starts every message from an empty window. */
    if (d->p.server_no_context_takeover) {
        if (inflateReset(&d->rx) != Z_OK)
            return WSC_EINVAL;
        rx_fresh(d);
    }
    return 0;
}

int wsc_deflate_decompress(struct wsc_deflate *d, const uint8_t *in, size_t in_len,
                           bool fin, uint64_t max_message, uint8_t *out, size_t out_cap,
                           size_t *consumed, size_t *produced, bool *done)
{
    size_t c = 0, p = 0;
    if (consumed)
        *consumed = 0;
    if (produced)
        *produced = 0;
    if (done)
        *done = false;
    if (!d || !consumed || !produced || !done || !out || out_cap == 0 || (!in && in_len))
        return WSC_EINVAL;
    if (d->rx_error)
        return d->rx_error;
    int rc = 0;
    if (!d->rx_init && (rc = rx_setup(d)) != 0)
        return d->rx_error = rc;
    if (d->rx_total > max_message)
        return d->rx_error = WSC_EMSG_TOO_BIG; /* the limit shrank mid-message */
    /* An empty payload carries no DEFLATE data, not even the flush block the
     * tail belongs to; it can only mean an empty message. */
    if (fin && in_len == 0 && d->rx_in == 0 && d->tail_used == 0 && d->rx_drained)
        d->tail_used = sizeof(TAIL);
    d->rx_in += in_len;

    for (;;) {
        const uint8_t *src = NULL;
        size_t avail = 0;
        bool from_tail = false;
        if (c < in_len) {
            src = in + c;
            avail = in_len - c;
        } else if (fin && d->tail_used < sizeof(TAIL)) {
            src = TAIL + d->tail_used;
            avail = sizeof(TAIL) - d->tail_used;
            from_tail = true;
        }
        if (d->rx_peek && rx_peek_header(d, src, avail)) {
            if (from_tail)
                d->tail_used++;
            else
                c++;
            continue;
        }
        if (avail == 0 && d->rx_drained) {
            /* All input is in and inflate() has nothing pending. */
            if (fin) {
                rc = rx_finish_message(d);
                *done = rc == 0;
            }
            break;
        }
        /* A full buffer still lets inflate() read block headers and empty
         * blocks, such as the flush block our tail completes: a message that
         * fills the buffer exactly can still finish in this call. */
        size_t space = out_cap - p;
        /* Never let inflate() produce more than one byte beyond the limit: the
         * work a decompression bomb can cause is bounded by max_message. */
        uint64_t allow = max_message - d->rx_total;
        size_t lim = allow < space ? (size_t)allow + 1 : space;
        d->rx.next_in = src;
        d->rx.avail_in = clamp_uint(avail);
        d->rx.next_out = out + p;
        d->rx.avail_out = clamp_uint(lim);
        uInt before_in = d->rx.avail_in, before_out = d->rx.avail_out;
        int zr = inflate(&d->rx, Z_BLOCK);
        size_t used = before_in - d->rx.avail_in, n = before_out - d->rx.avail_out;
        if (from_tail)
            d->tail_used += used;
        else
            c += used;
        if (used)
            d->rx_last = src[used - 1];
        d->rx_drained = d->rx.avail_out != 0;
        if (n > allow) {
            p += (size_t)allow;
            d->rx_total = max_message;
            rc = WSC_EMSG_TOO_BIG;
            break;
        }
        p += n;
        d->rx_total += n;
        if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT) {
            rc = WSC_EINFLATE;
            break;
        }
        if (zr == Z_MEM_ERROR) {
            rc = WSC_ENOMEM;
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            /* Z_STREAM_END cannot happen: no BFINAL bit reaches zlib. */
            rc = WSC_EINVAL;
            break;
        }
        if (used == 0 && n == 0) {
            /* Z_BUF_ERROR. Without output space: output or input is waiting
             * for room. With room, zlib always progresses on input, so no
             * progress means nothing is pending. */
            if (lim == 0) {
                rc = WSC_ENOBUFS;
                break;
            }
            if (avail) {
                rc = WSC_EINVAL;
                break;
            }
            d->rx_drained = true;
            continue;
        }
        /* data_type (zlib.h, on Z_BLOCK): bit 7 = stopped at a block
         * boundary; bits 0-2 = unused bits of the last byte, then < 8. Only a
         * call that progressed says so: on entry zlib moves past the boundary
         * state, so a call without progress leaves bit 7 clear. */
        d->rx_boundary = (d->rx.data_type & 128) != 0;
        if (!d->rx_boundary)
            continue;
        /* zlib.h: "The end-of-block will not be indicated until all of the
         * uncompressed data from that block has been written". */
        d->rx_drained = true;
        d->rx_bits = (unsigned)d->rx.data_type & 7;
        if (d->rx_final) {
            /* The end of a final block: the rest of its byte is padding. */
            inflatePrime(&d->rx, -1, 0);
            d->rx_bits = 0;
            d->rx_final = false;
            /* If the sender's data ended with it, the flush block our tail
             * completes was never sent (7.2.3.4 adds one byte so that it
             * is); the tail, or what is left of it, is not data. */
            if (fin && c == in_len)
                d->tail_used = sizeof(TAIL);
        }
        d->rx_peek = true;
    }
    *consumed = c;
    *produced = p;
    if (rc && rc != WSC_ENOBUFS)
        d->rx_error = rc;
    return rc;
}
