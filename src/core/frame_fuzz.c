/*
 * libFuzzer target for the frame decoder (see fuzz_chunks.h for the input
 * layout). Beyond agreement between chunkings it checks: consumed never
 * exceeds the input, EAGAIN consumes everything, payload chunks point into the
 * input at the right offset and count down `remaining`, and a header in the
 * shortest length form re-encodes to the bytes it was decoded from.
 */
#include "core/fuzz_chunks.h"
#include "wsc/wsc_core.h"

struct frame {
    bool open;
    struct wsc_frame_header h;
    uint64_t remaining;
    size_t got;
    uint64_t hash;
};

static bool same_header(const struct wsc_frame_header *a, const struct wsc_frame_header *b)
{
    return a->fin == b->fin && a->rsv == b->rsv && a->opcode == b->opcode &&
           a->masked == b->masked && memcmp(a->mask, b->mask, 4) == 0 &&
           a->length == b->length && a->size == b->size;
}

/* The header ends at input offset @p end: re-encode it and compare. */
static void check_header(const struct fz_plan *p, const struct wsc_frame_header *h,
                         size_t end)
{
    uint8_t enc[WSC_FRAME_HEADER_MAX];
    size_t n = wsc_frame_header_encode(enc, h->fin, h->opcode, h->length,
                                       h->masked ? h->mask : NULL);
    FZ_CHECK(h->size >= 2 && h->size <= WSC_FRAME_HEADER_MAX && end >= h->size);
    FZ_CHECK(n <= h->size); /* the encoder never uses a longer form */
    if (n == h->size) {
        enc[0] |= (uint8_t)(h->rsv << 4);
        FZ_CHECK(memcmp(enc, p->data + end - h->size, n) == 0);
    }
}

static void run(const struct fz_plan *p, bool chunked, struct fz_log *log)
{
    struct wsc_frame_decoder d;
    struct fz_stream st = {0};
    struct frame f = {0};
    size_t pos = 0, total = 0, chunk = 0;
    bool failed = false;

    fz_log_reset(log);
    wsc_frame_decoder_init(&d);
    while (pos < p->len && !failed) {
        size_t n = fz_chunk(p, chunked, chunk++, p->len - pos);
        fz_push(&st, p->data + pos, n);
        pos += n;
        size_t used = 0;
        for (;;) {
            /* ev.data points into the buffer: consume only before the next call. */
            fz_consume(&st, used);
            struct wsc_frame_event ev;
            int rc = wsc_frame_decode(&d, st.buf, st.len, &used, &ev);
            FZ_CHECK(used <= st.len);
            total += used;
            if (rc == WSC_EAGAIN) {
                FZ_CHECK(used == st.len);
                break;
            }
            if (rc != 0) {
                FZ_CHECK(rc == WSC_EFRAME_LEN && !f.open);
                fz_log(log, "ERR %d at %zu\n", rc, total);
                failed = true;
                used = 0;
                break;
            }
            if (ev.type == WSC_FRAME_HEADER) {
                FZ_CHECK(!f.open && used <= WSC_FRAME_HEADER_MAX);
                FZ_CHECK(ev.remaining == ev.header.length && !(ev.header.length >> 63));
                check_header(p, &ev.header, total);
                f.open = true;
                f.h = ev.header;
                f.remaining = ev.header.length;
                f.got = 0;
                f.hash = fz_hash(0, NULL, 0);
                fz_log(
                    log,
                    "H fin=%d rsv=%u op=%u m=%d %02x%02x%02x%02x len=%llu size=%u at %zu\n",
                    ev.header.fin, ev.header.rsv, ev.header.opcode, ev.header.masked,
                    ev.header.mask[0], ev.header.mask[1], ev.header.mask[2],
                    ev.header.mask[3], (unsigned long long)ev.header.length, ev.header.size,
                    total);
                continue;
            }
            FZ_CHECK(ev.type == WSC_FRAME_PAYLOAD && f.open &&
                     same_header(&f.h, &ev.header));
            FZ_CHECK(ev.len == used && ev.remaining + ev.len == f.remaining);
            if (ev.len) {
                FZ_CHECK(ev.data == st.buf);
                FZ_CHECK(memcmp(ev.data, p->data + total - used, ev.len) == 0);
            }
            f.hash = fz_hash(f.hash, ev.data, ev.len);
            f.got += ev.len;
            f.remaining = ev.remaining;
            if (f.remaining == 0) {
                fz_log(log, "P len=%zu #%016llx at %zu\n", f.got,
                       (unsigned long long)f.hash, total);
                f.open = false;
            }
        }
        fz_consume(&st, used);
    }
    if (f.open)
        fz_log(log, "PART len=%zu #%016llx rem=%llu\n", f.got, (unsigned long long)f.hash,
               (unsigned long long)f.remaining);
    fz_log(log, "END %zu\n", total);
    fz_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz_log whole, chunked;
    struct fz_plan p;
    if (!fz_plan_parse(data, size, &p))
        return 0;
    run(&p, false, &whole);
    run(&p, true, &chunked);
    fz_compare(&whole, &chunked);
    return 0;
}
