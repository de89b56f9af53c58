/*
 * libFuzzer target for the permessage-deflate decompressor: hostile compressed
 * payloads (layout in src/core/fuzz_chunks.h). The stream under test is a
 * sequence of messages, each a length byte L and L bytes of payload (the last
 * may be cut short). Option bits: 0 = server_no_context_takeover; 1-2 =
 * max_message (0, 100, 65536, unlimited); 3-4 = output buffer of the chunked
 * run (1, 7, 64, 4096 bytes; the whole run uses 1 MiB).
 *
 * Both runs must log the same result and output (length and hash) for every
 * message. The window is 15 bits: zlib then rejects a match exactly when it
 * reaches before the start of the output, whatever the buffers; with a smaller
 * window the verdict may depend on them (see wsc_deflate.h). Also checked: a
 * finished message consumed all of its payload, output never exceeds
 * max_message, errors stay put.
 */
#include "core/fuzz_chunks.h"
#include "wsc/wsc_deflate.h"

#define WHOLE_OUT (1u << 20)

static void run(const struct fz_plan *p, bool chunked, struct fz_log *log)
{
    static const uint64_t maxes[] = {0, 100, 65536, UINT64_MAX};
    static const size_t outs[] = {1, 7, 64, 4096};
    struct wsc_pmd_params params = {(p->options & 1) != 0, false, 15, 15};
    uint64_t max = maxes[(p->options >> 1) & 3];
    size_t out_cap = chunked ? outs[(p->options >> 3) & 3] : WHOLE_OUT;
    struct wsc_deflate *d = NULL;
    FZ_CHECK(wsc_deflate_new(&d, &params, NULL) == 0);
    uint8_t *out = malloc(out_cap);
    FZ_CHECK(out != NULL);
    fz_log_reset(log);

    size_t pos = 0, chunk = 0;
    int failed = 0;
    while (pos < p->len && !failed) {
        size_t len = p->data[pos++];
        if (len > p->len - pos)
            len = p->len - pos;
        const uint8_t *msg = p->data + pos;
        pos += len;
        uint64_t total = 0, h = fz_hash(0, NULL, 0);
        size_t off = 0;
        int rc = 0;
        bool done = false;
        do {
            size_t n = fz_chunk(p, chunked, chunk++, len - off);
            bool fin = off + n == len;
            uint8_t *piece = malloc(n ? n : 1); /* exact size: over-reads trip ASan */
            FZ_CHECK(piece != NULL);
            if (n)
                memcpy(piece, msg + off, n);
            size_t at = 0;
            do {
                size_t c, prod;
                rc = wsc_deflate_decompress(d, n ? piece + at : NULL, n - at, fin, max, out,
                                            out_cap, &c, &prod, &done);
                FZ_CHECK(c <= n - at && prod <= out_cap);
                FZ_CHECK(!done || (rc == 0 && fin));
                at += c;
                total += prod;
                h = fz_hash(h, out, prod);
            } while (rc == WSC_ENOBUFS);
            free(piece);
            if (rc) {
                FZ_CHECK(rc == WSC_EINFLATE || rc == WSC_EMSG_TOO_BIG);
                break;
            }
            FZ_CHECK(at == n);
            off += n;
        } while (off < len);
        FZ_CHECK(total <= max);
        if (rc == WSC_EMSG_TOO_BIG)
            FZ_CHECK(total == max);
        if (rc == 0)
            FZ_CHECK(done);
        fz_log(log, "msg %zu: rc %d out %llu#%016llx\n", len, rc, (unsigned long long)total,
               (unsigned long long)h);
        if (rc) {
            size_t c, prod;
            bool dn;
            FZ_CHECK(wsc_deflate_decompress(d, NULL, 0, true, max, out, out_cap, &c, &prod,
                                            &dn) == rc);
            failed = rc;
        }
    }
    /* The compressor still works, whatever happened to the decompressor. */
    uint8_t small[16];
    size_t c, prod;
    FZ_CHECK(wsc_deflate_compress(d, (const uint8_t *)"ok", 2, true, small, sizeof(small),
                                  &c, &prod) == 0);
    FZ_CHECK(c == 2 && prod == 4);
    wsc_deflate_free(d);
    free(out);
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
