/*
 * RFC 6455 5.2 frame codec. Table cases (hex bytes in, event log out) run
 * through wsc_test_each_chunking(): whole, split in two at every offset, one
 * byte per call and seeded random chunkings, each chunk in an exact-size heap
 * block. The log coalesces a frame's payload chunks, so it is the same for
 * every chunking; it carries the cumulative consumed count at every event.
 * Round trips check the encoder against the decoder, and wsc_mask() is
 * compared with a byte-by-byte reference at every key offset and alignment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "wsc/wsc_core.h"

/* ---- table runner ------------------------------------------------------ */

struct frame_case {
    const char *name;
    const char *hex; /* input bytes */
    size_t fill;     /* then this many payload bytes (i * 7 + 3) & 0xff */
    const char *expect;
};

static uint8_t *case_input(const struct frame_case *c, size_t *len)
{
    size_t n;
    uint8_t *hex = wsc_test_hex(c->hex, &n);
    uint8_t *in = malloc(n + c->fill + 1);
    assert_non_null(in);
    memcpy(in, hex, n);
    for (size_t i = 0; i < c->fill; i++)
        in[n + i] = (uint8_t)((i * 7 + 3) & 0xff);
    free(hex);
    *len = n + c->fill;
    return in;
}

static void log_bytes(struct wsc_test_log *log, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wsc_test_log_printf(log, "%02x", p[i]);
}

/* Payload of the frame being decoded, gathered from its PAYLOAD events. */
struct frame_state {
    bool in_frame;
    struct wsc_frame_header hdr;
    size_t start;       /* input offset of the first payload byte */
    size_t got;         /* payload bytes seen so far */
    uint64_t remaining; /* what the last event said is still to come */
};

/* Short payloads as hex; longer ones are checked against the input they came from. */
static void log_payload(struct wsc_test_log *log, const uint8_t *data,
                        const struct frame_state *f)
{
    if (f->got <= 16) {
        wsc_test_log_printf(log, " '");
        log_bytes(log, data + f->start, f->got);
        wsc_test_log_printf(log, "'");
    } else {
        wsc_test_log_printf(log, " =in[%zu..%zu)", f->start, f->start + f->got);
    }
}

static bool same_header(const struct wsc_frame_header *a, const struct wsc_frame_header *b)
{
    return a->fin == b->fin && a->rsv == b->rsv && a->opcode == b->opcode &&
           a->masked == b->masked && memcmp(a->mask, b->mask, 4) == 0 &&
           a->length == b->length && a->size == b->size;
}

static void frame_run(void *ctx, const uint8_t *data, size_t len, const size_t *bounds,
                      size_t nbounds, struct wsc_test_log *log)
{
    (void)ctx;
    struct wsc_frame_decoder d;
    struct wsc_test_stream st = {0};
    struct frame_state f = {0};
    size_t total = 0, start = 0;
    bool failed = false;

    wsc_frame_decoder_init(&d);
    for (size_t b = 0; b < nbounds && !failed; b++) {
        wsc_test_stream_push(&st, data + start, bounds[b] - start);
        start = bounds[b];
        size_t used = 0;
        for (;;) {
            /* Consume the previous call's bytes only now: ev.data points into them. */
            wsc_test_stream_consume(&st, used);
            size_t avail;
            const uint8_t *in = wsc_test_stream_data(&st, &avail);
            struct wsc_frame_event ev;
            used = 12345;
            int rc = wsc_frame_decode(&d, in, avail, &used, &ev);
            if (used > avail) {
                wsc_test_log_printf(log, "BAD consumed %zu of %zu\n", used, avail);
                used = 0;
                failed = true;
                break;
            }
            total += used;
            if (rc == WSC_EAGAIN) {
                if (used != avail)
                    wsc_test_log_printf(log, "BAD EAGAIN left %zu\n", avail - used);
                break;
            }
            if (rc != 0) {
                if (f.in_frame && f.got) {
                    wsc_test_log_printf(log, "PART len=%zu", f.got);
                    log_payload(log, data, &f);
                    wsc_test_log_printf(log, "\n");
                }
                wsc_test_log_printf(log, "ERR %d at=%zu\n", rc, total);
                failed = true;
                break;
            }
            const struct wsc_frame_header *h = &ev.header;
            if (ev.type == WSC_FRAME_HEADER) {
                if (f.in_frame)
                    wsc_test_log_printf(log, "BAD header inside a frame\n");
                wsc_test_log_printf(log, "HDR fin=%d rsv=%u op=%u", h->fin, h->rsv,
                                    h->opcode);
                if (h->masked) {
                    wsc_test_log_printf(log, " mask=");
                    log_bytes(log, h->mask, 4);
                }
                wsc_test_log_printf(log, " len=%llu size=%u at=%zu\n",
                                    (unsigned long long)h->length, h->size, total);
                if (ev.remaining != h->length || used > WSC_FRAME_HEADER_MAX)
                    wsc_test_log_printf(log, "BAD header event\n");
                f.in_frame = true;
                f.hdr = *h;
                f.start = total;
                f.got = 0;
                f.remaining = h->length;
                continue;
            }
            /* PAYLOAD: same header, points into the input, remaining counts down. */
            if (!f.in_frame || !same_header(&f.hdr, h))
                wsc_test_log_printf(log, "BAD payload header\n");
            if (ev.len != used || ev.remaining != f.remaining - ev.len ||
                (ev.len && ev.data != in))
                wsc_test_log_printf(log, "BAD payload event len=%zu used=%zu\n", ev.len,
                                    used);
            if (ev.len && memcmp(ev.data, data + f.start + f.got, ev.len) != 0)
                wsc_test_log_printf(log, "BAD payload bytes\n");
            f.got += ev.len;
            f.remaining = ev.remaining;
            if (ev.remaining == 0) {
                wsc_test_log_printf(log, "PAY len=%zu", f.got);
                log_payload(log, data, &f);
                wsc_test_log_printf(log, " at=%zu\n", total);
                f.in_frame = false;
            }
        }
        wsc_test_stream_consume(&st, used);
    }
    if (!failed && f.in_frame) {
        wsc_test_log_printf(log, "PART len=%zu", f.got);
        log_payload(log, data, &f);
        wsc_test_log_printf(log, " rem=%llu\n", (unsigned long long)f.remaining);
    }
    /* Without an error the decoder takes every byte (header bytes are remembered). */
    if (!failed && total != len)
        wsc_test_log_printf(log, "BAD consumed %zu of %zu\n", total, len);
    wsc_test_log_printf(log, "END at=%zu\n", total);
    wsc_test_stream_free(&st);
}

static void run_cases(const struct frame_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len;
        uint8_t *in = case_input(&cases[i], &len);
        print_message("  %s (%zu bytes)\n", cases[i].name, len);
        size_t runs = wsc_test_each_chunking(in, len, cases[i].expect, frame_run, NULL);
        assert_true(runs >= (len > 1 ? len : 1));
        free(in);
    }
}

#define RUN(cases) run_cases(cases, sizeof(cases) / sizeof(cases[0]))

/* ---- decoding ---------------------------------------------------------- */

static void seven_bit_lengths_up_to_125(void **state)
{
    (void)state;
    static const struct frame_case cases[] = {
        {"RFC 6455 5.7 unmasked 'Hello'", "81 05 48 65 6c 6c 6f", 0,
         "HDR fin=1 rsv=0 op=1 len=5 size=2 at=2\n"
         "PAY len=5 '48656c6c6f' at=7\n"
         "END at=7\n"},
        {"length 1", "82 01 ff", 0,
         "HDR fin=1 rsv=0 op=2 len=1 size=2 at=2\n"
         "PAY len=1 'ff' at=3\n"
         "END at=3\n"},
        {"length 125, the largest 7-bit form", "82 7d", 125,
         "HDR fin=1 rsv=0 op=2 len=125 size=2 at=2\n"
         "PAY len=125 =in[2..127) at=127\n"
         "END at=127\n"},
        {"two frames back to back", "81 02 68 69 82 03 01 02 03", 0,
         "HDR fin=1 rsv=0 op=1 len=2 size=2 at=2\n"
         "PAY len=2 '6869' at=4\n"
         "HDR fin=1 rsv=0 op=2 len=3 size=2 at=6\n"
         "PAY len=3 '010203' at=9\n"
         "END at=9\n"},
        {"input ends inside the payload", "82 0a 01 02 03", 0,
         "HDR fin=1 rsv=0 op=2 len=10 size=2 at=2\n"
         "PART len=3 '010203' rem=7\n"
         "END at=5\n"},
        {"input ends inside the header", "81", 0, "END at=1\n"},
    };
    RUN(cases);
}

static void sixteen_bit_lengths(void **state)
{
    (void)state;
    static const struct frame_case cases[] = {
        {"length 126, the smallest 16-bit form", "82 7e 00 7e", 126,
         "HDR fin=1 rsv=0 op=2 len=126 size=4 at=4\n"
         "PAY len=126 =in[4..130) at=130\n"
         "END at=130\n"},
        {"RFC 6455 5.7 256 bytes", "82 7e 01 00", 256,
         "HDR fin=1 rsv=0 op=2 len=256 size=4 at=4\n"
         "PAY len=256 =in[4..260) at=260\n"
         "END at=260\n"},
        {"length 65535, the largest 16-bit form (payload cut short)", "82 7e ff ff", 5,
         "HDR fin=1 rsv=0 op=2 len=65535 size=4 at=4\n"
         "PART len=5 '030a11181f' rem=65530\n"
         "END at=9\n"},
        {"non-minimal 16-bit form is reported as sent", "82 7e 00 03 01 02 03", 0,
         "HDR fin=1 rsv=0 op=2 len=3 size=4 at=4\n"
         "PAY len=3 '010203' at=7\n"
         "END at=7\n"},
    };
    RUN(cases);
}

static void sixty_four_bit_lengths(void **state)
{
    (void)state;
    static const struct frame_case cases[] = {
        {"length 65536, the smallest 64-bit form", "82 7f 00 00 00 00 00 01 00 00", 5,
         "HDR fin=1 rsv=0 op=2 len=65536 size=10 at=10\n"
         "PART len=5 '030a11181f' rem=65531\n"
         "END at=15\n"},
        {"largest legal length 2^63-1", "82 7f 7f ff ff ff ff ff ff ff", 2,
         "HDR fin=1 rsv=0 op=2 len=9223372036854775807 size=10 at=10\n"
         "PART len=2 '030a' rem=9223372036854775805\n"
         "END at=12\n"},
        {"length 2^32 (needs the upper half)", "82 7f 00 00 00 01 00 00 00 00", 0,
         "HDR fin=1 rsv=0 op=2 len=4294967296 size=10 at=10\n"
         "PART len=0 '' rem=4294967296\n"
         "END at=10\n"},
        {"non-minimal 64-bit form is reported as sent",
         "82 7f 00 00 00 00 00 00 00 02 aa bb", 0,
         "HDR fin=1 rsv=0 op=2 len=2 size=10 at=10\n"
         "PAY len=2 'aabb' at=12\n"
         "END at=12\n"},
    };
    RUN(cases);
}

/* RFC 6455 5.2: the most significant bit of a 64-bit length MUST be 0. The
 * error points at the first byte of the length, whatever the split. */
static void sixty_four_bit_length_with_top_bit_fails_at_its_first_byte(void **state)
{
    (void)state;
    static const struct frame_case cases[] = {
        {"top bit only", "82 7f 80 00 00 00 00 00 00 00", 0,
         "ERR -1049 at=2\n"
         "END at=2\n"},
        {"all ones", "81 7f ff ff ff ff ff ff ff ff 00 00", 0,
         "ERR -1049 at=2\n"
         "END at=2\n"},
        {"masked, so the header would be 14 bytes",
         "82 ff 80 00 00 00 00 00 00 05 01 02 03 04", 0,
         "ERR -1049 at=2\n"
         "END at=2\n"},
        {"after a complete frame", "81 01 61 82 7f 80 00 00 00 00 00 00 01", 0,
         "HDR fin=1 rsv=0 op=1 len=1 size=2 at=2\n"
         "PAY len=1 '61' at=3\n"
         "ERR -1049 at=5\n"
         "END at=5\n"},
        {"input stops right after the bad byte", "82 7f 80", 0,
         "ERR -1049 at=2\n"
         "END at=2\n"},
    };
    RUN(cases);
}

static void empty_frames_end_with_an_empty_payload_event(void **state)
{
    (void)state;
    static const struct frame_case cases[] = {
        {"empty text", "81 00", 0,
         "HDR fin=1 rsv=0 op=1 len=0 size=2 at=2\n"
         "PAY len=0 '' at=2\n"
         "END at=2\n"},
        {"empty ping, pong and close in a row", "89 00 8a 00 88 00", 0,
         "HDR fin=1 rsv=0 op=9 len=0 size=2 at=2\n"
         "PAY len=0 '' at=2\n"
         "HDR fin=1 rsv=0 op=10 len=0 size=2 at=4\n"
         "PAY len=0 '' at=4\n"
         "HDR fin=1 rsv=0 op=8 len=0 size=2 at=6\n"
         "PAY len=0 '' at=6\n"
         "END at=6\n"},
        {"empty fragments", "01 00 00 00 80 00", 0,
         "HDR fin=0 rsv=0 op=1 len=0 size=2 at=2\n"
         "PAY len=0 '' at=2\n"
         "HDR fin=0 rsv=0 op=0 len=0 size=2 at=4\n"
         "PAY len=0 '' at=4\n"
         "HDR fin=1 rsv=0 op=0 len=0 size=2 at=6\n"
         "PAY len=0 '' at=6\n"
         "END at=6\n"},
        {"empty masked frame", "82 80 01 02 03 04", 0,
         "HDR fin=1 rsv=0 op=2 mask=01020304 len=0 size=6 at=6\n"
         "PAY len=0 '' at=6\n"
         "END at=6\n"},
        {"empty frame in the 16-bit form", "82 7e 00 00", 0,
         "HDR fin=1 rsv=0 op=2 len=0 size=4 at=4\n"
         "PAY len=0 '' at=4\n"
         "END at=4\n"},
    };
    RUN(cases);
}

/* The decoder validates nothing but the 64-bit length: the session judges the rest. */
static void fin_rsv_and_opcode_bits_are_reported_raw(void **state)
{
    (void)state;
    static const struct frame_case cases[] = {
        {"no fin, all rsv, continuation", "70 00", 0,
         "HDR fin=0 rsv=7 op=0 len=0 size=2 at=2\n"
         "PAY len=0 '' at=2\n"
         "END at=2\n"},
        {"rsv1 reserved opcode 3", "c3 00", 0,
         "HDR fin=1 rsv=4 op=3 len=0 size=2 at=2\n"
         "PAY len=0 '' at=2\n"
         "END at=2\n"},
        {"rsv2", "a2 00", 0,
         "HDR fin=1 rsv=2 op=2 len=0 size=2 at=2\n"
         "PAY len=0 '' at=2\n"
         "END at=2\n"},
        {"rsv3 opcode 15", "9f 00", 0,
         "HDR fin=1 rsv=1 op=15 len=0 size=2 at=2\n"
         "PAY len=0 '' at=2\n"
         "END at=2\n"},
        {"fragmented control opcode 11", "0b 01 00", 0,
         "HDR fin=0 rsv=0 op=11 len=1 size=2 at=2\n"
         "PAY len=1 '00' at=3\n"
         "END at=3\n"},
        {"control frame over 125 bytes", "89 7e 00 7e", 3,
         "HDR fin=1 rsv=0 op=9 len=126 size=4 at=4\n"
         "PART len=3 '030a11' rem=123\n"
         "END at=7\n"},
    };
    RUN(cases);
}

static void masked_frames_report_the_key_and_the_payload_as_sent(void **state)
{
    (void)state;
    static const struct frame_case cases[] = {
        {"RFC 6455 5.7 masked 'Hello'", "81 85 37 fa 21 3d 7f 9f 4d 51 58", 0,
         "HDR fin=1 rsv=0 op=1 mask=37fa213d len=5 size=6 at=6\n"
         "PAY len=5 '7f9f4d5158' at=11\n"
         "END at=11\n"},
        {"masked 16-bit length", "82 fe 00 7e a1 b2 c3 d4", 126,
         "HDR fin=1 rsv=0 op=2 mask=a1b2c3d4 len=126 size=8 at=8\n"
         "PAY len=126 =in[8..134) at=134\n"
         "END at=134\n"},
        {"masked 64-bit length, the 14-byte header",
         "82 ff 00 00 00 00 00 01 00 00 0a 0b 0c 0d", 1,
         "HDR fin=1 rsv=0 op=2 mask=0a0b0c0d len=65536 size=14 at=14\n"
         "PART len=1 '03' rem=65535\n"
         "END at=15\n"},
    };
    RUN(cases);
}

/* ---- encoding ---------------------------------------------------------- */

static size_t expected_header_size(uint64_t length, bool masked)
{
    size_t n = length < 126 ? 2 : length <= 0xffff ? 4 : 10;
    return n + (masked ? 4 : 0);
}

static void header_encode_uses_the_shortest_length_form(void **state)
{
    (void)state;
    static const struct {
        uint64_t length;
        const char *hex;
    } cases[] = {
        {0, "82 00"},
        {125, "82 7d"},
        {126, "82 7e 00 7e"},
        {65535, "82 7e ff ff"},
        {65536, "82 7f 00 00 00 00 00 01 00 00"},
        {0x0102030405060708u, "82 7f 01 02 03 04 05 06 07 08"},
        {INT64_MAX, "82 7f 7f ff ff ff ff ff ff ff"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n;
        uint8_t *want = wsc_test_hex(cases[i].hex, &n);
        uint8_t out[WSC_FRAME_HEADER_MAX];
        memset(out, 0xee, sizeof(out));
        assert_int_equal(
            wsc_frame_header_encode(out, true, WSC_OP_BINARY, cases[i].length, NULL), n);
        assert_memory_equal(out, want, n);
        /* Masked: the mask bit and the key after the length. */
        static const uint8_t key[4] = {0xde, 0xad, 0xbe, 0xef};
        assert_int_equal(
            wsc_frame_header_encode(out, true, WSC_OP_BINARY, cases[i].length, key), n + 4);
        assert_int_equal(out[0], want[0]);
        assert_int_equal(out[1], want[1] | 0x80);
        assert_memory_equal(out + 2, want + 2, n - 2);
        assert_memory_equal(out + n, key, 4);
        free(want);
    }
    /* fin and opcode bits. */
    uint8_t out[WSC_FRAME_HEADER_MAX];
    wsc_frame_header_encode(out, false, WSC_OP_TEXT, 3, NULL);
    assert_int_equal(out[0], 0x01);
    wsc_frame_header_encode(out, false, WSC_OP_CONTINUATION, 3, NULL);
    assert_int_equal(out[0], 0x00);
    wsc_frame_header_encode(out, true, WSC_OP_PING, 0, NULL);
    assert_int_equal(out[0], 0x89);
    wsc_frame_header_encode(out, true, WSC_OP_CLOSE, 2, NULL);
    assert_int_equal(out[0], 0x88);
    /* Reserved bits (RFC 7692 6: RSV1 marks a compressed message), and that
     * they decode as written; the rest of the header is unchanged. */
    for (uint8_t rsv = 0; rsv < 8; rsv++) {
        static const uint8_t key[4] = {1, 2, 3, 4};
        uint8_t plain[WSC_FRAME_HEADER_MAX];
        size_t n = wsc_frame_header_encode_rsv(out, rsv & 1, rsv, WSC_OP_TEXT, 300, key);
        assert_int_equal(wsc_frame_header_encode(plain, rsv & 1, WSC_OP_TEXT, 300, key), n);
        assert_int_equal(out[0], plain[0] | (rsv << 4));
        assert_memory_equal(out + 1, plain + 1, n - 1);
        struct wsc_frame_decoder d;
        struct wsc_frame_event ev;
        size_t used;
        wsc_frame_decoder_init(&d);
        assert_int_equal(wsc_frame_decode(&d, out, n, &used, &ev), 0);
        assert_int_equal(used, n);
        assert_int_equal(ev.header.rsv, rsv);
        assert_int_equal(ev.header.fin, rsv & 1);
        assert_int_equal(ev.header.opcode, WSC_OP_TEXT);
    }
    wsc_frame_header_encode_rsv(out, true, 0xff, WSC_OP_BINARY, 0, NULL); /* 3 bits used */
    assert_int_equal(out[0], 0xf2);
    /* Every length up to 70000 takes the minimal form. */
    for (uint64_t len = 0; len <= 70000; len++) {
        assert_int_equal(wsc_frame_header_encode(out, true, WSC_OP_TEXT, len, NULL),
                         expected_header_size(len, false));
    }
}

/* Decodes a whole frame from @p buf in chunks of @p step bytes (each in its own
 * exact-size block) and returns the unmasked payload in @p payload. */
static void decode_frame(const uint8_t *buf, size_t len, size_t step,
                         struct wsc_frame_header *hdr, uint8_t *payload)
{
    struct wsc_frame_decoder d;
    struct wsc_test_stream st = {0};
    size_t pos = 0, got = 0;
    bool header = false, done = false;
    wsc_frame_decoder_init(&d);
    while (!done) {
        size_t n = len - pos < step ? len - pos : step;
        wsc_test_stream_push(&st, buf + pos, n);
        pos += n;
        for (;;) {
            size_t avail, used;
            const uint8_t *in = wsc_test_stream_data(&st, &avail);
            struct wsc_frame_event ev;
            int rc = wsc_frame_decode(&d, in, avail, &used, &ev);
            if (rc == WSC_EAGAIN) {
                assert_int_equal(used, avail);
                assert_true(pos < len);
                wsc_test_stream_consume(&st, used);
                break;
            }
            assert_int_equal(rc, 0);
            if (ev.type == WSC_FRAME_HEADER) {
                assert_false(header);
                header = true;
                *hdr = ev.header;
                wsc_test_stream_consume(&st, used);
                continue;
            }
            assert_true(header);
            if (ev.header.masked)
                wsc_mask(payload + got, ev.data, ev.len, ev.header.mask, got);
            else if (ev.len)
                memcpy(payload + got, ev.data, ev.len);
            got += ev.len;
            wsc_test_stream_consume(&st, used);
            if (ev.remaining == 0) {
                done = true;
                break;
            }
        }
    }
    assert_int_equal(got, hdr->length);
    assert_int_equal(pos, len);
    assert_int_equal(st.len, 0);
    wsc_test_stream_free(&st);
}

static void encoded_frames_decode_to_the_same_frame(void **state)
{
    (void)state;
    static const size_t lengths[] = {
        0,   1,   2,   3,   4,   5,   7,    8,    9,     15,    16,    17,    124,
        125, 126, 127, 128, 255, 256, 1000, 4095, 65534, 65535, 65536, 65537, 100000};
    static const size_t steps[] = {1, 3, 7, 64, 1000000};
    uint8_t op_cycle[] = {WSC_OP_TEXT, WSC_OP_BINARY, WSC_OP_CONTINUATION, WSC_OP_PING};
    size_t frames = 0;
    for (size_t li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++) {
        size_t len = lengths[li];
        uint8_t *payload = malloc(len + 1);
        uint8_t *back = malloc(len + 1);
        assert_non_null(payload);
        assert_non_null(back);
        for (size_t i = 0; i < len; i++)
            payload[i] = (uint8_t)(i * 31 + li);
        for (int masked = 0; masked < 2; masked++) {
            const uint8_t key[4] = {(uint8_t)(0x10 + li), 0x5a, 0xa5, (uint8_t)(0xf0 - li)};
            bool fin = (li + (size_t)masked) % 2 == 0;
            uint8_t op = op_cycle[li % 4];
            uint8_t *wire = malloc(WSC_FRAME_HEADER_MAX + len);
            assert_non_null(wire);
            size_t h = wsc_frame_header_encode(wire, fin, op, len, masked ? key : NULL);
            assert_int_equal(h, expected_header_size(len, masked));
            /* Mask in uneven pieces, carrying the offset, as the session does. */
            if (masked) {
                uint64_t off = 0;
                size_t piece = 1;
                while (off < len) {
                    size_t n = len - off < piece ? len - (size_t)off : piece;
                    off = wsc_mask(wire + h + off, payload + off, n, key, off);
                    piece = piece * 3 + 1;
                }
                assert_int_equal(off, len);
                if (len >= 4)
                    assert_memory_not_equal(wire + h, payload, len);
            } else if (len) {
                memcpy(wire + h, payload, len);
            }
            for (size_t si = 0; si < sizeof(steps) / sizeof(steps[0]); si++) {
                if (steps[si] < 7 && len > 5000)
                    continue; /* tiny reads of big frames add time, not coverage */
                struct wsc_frame_header hdr;
                memset(back, 0, len + 1);
                decode_frame(wire, h + len, steps[si], &hdr, back);
                assert_int_equal(hdr.fin, fin);
                assert_int_equal(hdr.rsv, 0);
                assert_int_equal(hdr.opcode, op);
                assert_int_equal(hdr.masked, masked);
                if (masked)
                    assert_memory_equal(hdr.mask, key, 4);
                assert_int_equal(hdr.length, len);
                assert_int_equal(hdr.size, h);
                assert_memory_equal(back, payload, len);
                frames++;
            }
            free(wire);
        }
        free(payload);
        free(back);
    }
    assert_true(frames > 200);
}

/* Lengths too large to materialise: the header alone must round-trip. */
static void encoded_headers_of_huge_lengths_decode_to_the_same_length(void **state)
{
    (void)state;
    static const uint64_t lengths[] = {65536, 0xffffffffu, 0x100000000u,
                                       0x7fffffffffffffffu, 0x0123456789abcdefu};
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        for (int masked = 0; masked < 2; masked++) {
            static const uint8_t key[4] = {1, 2, 3, 4};
            uint8_t wire[WSC_FRAME_HEADER_MAX];
            size_t h = wsc_frame_header_encode(wire, true, WSC_OP_BINARY, lengths[i],
                                               masked ? key : NULL);
            struct wsc_frame_decoder d;
            struct wsc_frame_event ev;
            size_t used;
            wsc_frame_decoder_init(&d);
            /* One byte at a time, each byte in its own block. */
            for (size_t k = 0; k < h; k++) {
                uint8_t *one = malloc(1);
                assert_non_null(one);
                *one = wire[k];
                int rc = wsc_frame_decode(&d, one, 1, &used, &ev);
                free(one);
                assert_int_equal(used, 1);
                assert_int_equal(rc, k + 1 < h ? WSC_EAGAIN : 0);
            }
            assert_int_equal(ev.type, WSC_FRAME_HEADER);
            assert_int_equal(ev.header.length, lengths[i]);
            assert_int_equal(ev.header.size, h);
            assert_int_equal(ev.header.masked, masked);
        }
    }
}

/* ---- masking ----------------------------------------------------------- */

static void mask_matches_a_byte_by_byte_reference(void **state)
{
    (void)state;
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t checks = 0;
    for (uint64_t offset = 0; offset < 16; offset++) {
        for (size_t len = 0; len <= 70; len++) {
            for (size_t sa = 0; sa < 8; sa++) {
                for (size_t da = 0; da < 8; da += (sa == 0 ? 1 : 3)) {
                    /* src ends at its block's edge, so an over-read trips ASan;
                     * dst has guard bytes on both sides to catch over-writes. */
                    uint8_t *src = malloc(sa + len ? sa + len : 1);
                    uint8_t *dst = malloc(da + len + 2);
                    uint8_t ref[80];
                    assert_non_null(src);
                    assert_non_null(dst);
                    for (size_t i = 0; i < len; i++)
                        src[sa + i] = (uint8_t)(i * 13 + offset + 1);
                    memset(dst, 0xcc, da + len + 2);
                    for (size_t i = 0; i < len; i++)
                        ref[i] = (uint8_t)(src[sa + i] ^ key[(offset + i) % 4]);
                    uint64_t r = wsc_mask(dst + da + 1, src + sa, len, key, offset);
                    assert_int_equal(r, offset + len);
                    assert_memory_equal(dst + da + 1, ref, len);
                    assert_int_equal(dst[da], 0xcc);
                    assert_int_equal(dst[da + len + 1], 0xcc);
                    /* In place gives the same bytes. */
                    wsc_mask(src + sa, src + sa, len, key, offset);
                    assert_memory_equal(src + sa, ref, len);
                    free(src);
                    free(dst);
                    checks++;
                }
            }
        }
    }
    assert_int_equal(checks, 16 * 71 * (8 + 7 * 3));
}

static void mask_is_its_own_inverse_and_splits_anywhere(void **state)
{
    (void)state;
    static const uint8_t key[4] = {0x01, 0x80, 0xff, 0x7e};
    uint8_t src[200], whole[200], pieces[200], back[200];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i ^ 0x5c);
    wsc_mask(whole, src, sizeof(src), key, 0);
    for (size_t cut1 = 0; cut1 <= sizeof(src); cut1 += 7) {
        for (size_t cut2 = cut1; cut2 <= sizeof(src); cut2 += 11) {
            uint64_t off = wsc_mask(pieces, src, cut1, key, 0);
            off = wsc_mask(pieces + cut1, src + cut1, cut2 - cut1, key, off);
            off = wsc_mask(pieces + cut2, src + cut2, sizeof(src) - cut2, key, off);
            assert_int_equal(off, sizeof(src));
            assert_memory_equal(pieces, whole, sizeof(src));
        }
    }
    wsc_mask(back, whole, sizeof(whole), key, 0);
    assert_memory_equal(back, src, sizeof(src));
    /* A large offset only matters modulo 4. */
    wsc_mask(back, src, 9, key, 0x100000001u);
    for (size_t i = 0; i < 9; i++)
        assert_int_equal(back[i], src[i] ^ key[(i + 1) % 4]);
}

/* wsc_frame_peek_size(): the frame's whole size from its header alone, and
 * WSC_EAGAIN for every prefix shorter than the header. */
static void peek_size_reads_every_length_encoding(void **state)
{
    (void)state;
    static const struct {
        uint8_t h[14];
        size_t hlen;
        uint64_t size;
    } cases[] = {
        {{0x82, 0x00}, 2, 2},
        {{0x81, 0x7d}, 2, 2 + 125},
        {{0x82, 0x7e, 0x00, 0x7e}, 4, 4 + 126},
        {{0x82, 0x7e, 0xff, 0xff}, 4, 4 + 65535},
        {{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}, 10, 10 + 65536},
        {{0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 10,
         10 + 0x7fffffffffffffffull},
        {{0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 10, UINT64_MAX},
        {{0x82, 0x85, 1, 2, 3, 4}, 6, 6 + 5}, /* masked: the key counts */
        {{0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4}, 8, 8 + 256},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t size = 0;
        for (size_t n = 0; n < cases[i].hlen; n++)
            assert_int_equal(wsc_frame_peek_size(cases[i].h, n, &size), WSC_EAGAIN);
        assert_int_equal(wsc_frame_peek_size(cases[i].h, cases[i].hlen, &size), 0);
        assert_true(size == cases[i].size);
        /* Bytes after the header change nothing. */
        uint8_t more[20] = {0};
        memcpy(more, cases[i].h, cases[i].hlen);
        assert_int_equal(wsc_frame_peek_size(more, sizeof(more), &size), 0);
        assert_true(size == cases[i].size);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seven_bit_lengths_up_to_125),
        cmocka_unit_test(sixteen_bit_lengths),
        cmocka_unit_test(sixty_four_bit_lengths),
        cmocka_unit_test(sixty_four_bit_length_with_top_bit_fails_at_its_first_byte),
        cmocka_unit_test(empty_frames_end_with_an_empty_payload_event),
        cmocka_unit_test(fin_rsv_and_opcode_bits_are_reported_raw),
        cmocka_unit_test(masked_frames_report_the_key_and_the_payload_as_sent),
        cmocka_unit_test(header_encode_uses_the_shortest_length_form),
        cmocka_unit_test(encoded_frames_decode_to_the_same_frame),
        cmocka_unit_test(encoded_headers_of_huge_lengths_decode_to_the_same_length),
        cmocka_unit_test(mask_matches_a_byte_by_byte_reference),
        cmocka_unit_test(mask_is_its_own_inverse_and_splits_anywhere),
        cmocka_unit_test(peek_size_reads_every_length_encoding),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    printf("chunkings run: %zu\n", wsc_test_chunkings_run);
    return failed;
}
