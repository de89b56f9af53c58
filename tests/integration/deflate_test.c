/*
 * permessage-deflate (RFC 7692) end to end against real servers, chosen by
 * with_server.sh: python3-websockets (python_echo.py --compress / --deflate),
 * npm ws (echo.js --deflate) and the project's fixture (/echo?deflate=1).
 *
 * Environment: ECHO_PATH is the echo path ("/" by default); DEFLATE_AGREED is
 * what the default offer must agree on with this server, as "s12,c12" (window
 * bits, "nct" after a side without context takeover) or "-" when the server
 * declines compression (then the tests check that messages flow uncompressed);
 * HOSTILE=1 adds the fixture's hostile scenarios (decompression bombs, corrupt
 * data, RSV1 misuse), with the close code the fixture saw from us.
 *
 * Round trips cover sizes across every length encoding, text and binary,
 * compressible and random data, fragmented sends, streaming receives, every
 * context-takeover and window variant of the offer, and reconnects. The memory
 * a connection holds with and without compression is printed for the README.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "itest.h"

#define TIMEOUT_MS 20000
#define MiB (1024u * 1024u)

/* ---- helpers ------------------------------------------------------------ */

static const char *echo_path(void)
{
    const char *p = getenv("ECHO_PATH");
    return p ? p : "/";
}

static bool hostile(void)
{
    const char *h = getenv("HOSTILE");
    return h && strcmp(h, "1") == 0;
}

/* Whether this server is expected to accept compression at all. */
static bool server_compresses(void)
{
    const char *a = getenv("DEFLATE_AGREED");
    return !a || strcmp(a, "-") != 0;
}

static void params_text(const struct wsc_pmd_params *p, char *out, size_t cap)
{
    if (!p) {
        snprintf(out, cap, "-");
        return;
    }
    snprintf(out, cap, "s%u%s,c%u%s", p->server_max_window_bits,
             p->server_no_context_takeover ? "nct" : "", p->client_max_window_bits,
             p->client_no_context_takeover ? "nct" : "");
}

static void compress_options(struct wsc_options *o)
{
    itest_options(o);
    o->compress = true;
}

static void open_conn(struct wsc_conn *c, const struct wsc_options *o)
{
    ITEST_OK(c, wsc_connect(c, itest_url("%s", echo_path()), o));
    assert_int_equal(wsc_conn_state(c), WSC_CONN_OPEN);
    assert_int_equal(wsc_conn_deflate(c) != NULL, server_compresses());
}

static void close_conn(struct wsc_conn *c)
{
    ITEST_OK(c, wsc_close(c, WSC_CLOSE_NORMAL, "done", TIMEOUT_MS));
    assert_int_equal(wsc_conn_state(c), WSC_CONN_CLOSED);
    assert_int_equal(wsc_conn_close_code(c), WSC_CLOSE_NORMAL);
    wsc_conn_free(c);
}

static void expect_echo(struct wsc_conn *c, uint8_t op, const void *data, size_t len)
{
    struct wsc_message m;
    ITEST_OK(c, wsc_recv(c, &m, TIMEOUT_MS));
    assert_int_equal(m.opcode, op);
    assert_int_equal(m.len, len);
    if (len)
        assert_memory_equal(m.data, data, len);
}

/* Incompressible bytes (xorshift32), different for every seed. */
static void random_bytes(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

/* JSON-like text: repetitive across messages, as real traffic is. */
static size_t json_message(char *out, size_t cap, unsigned i)
{
    int n = snprintf(out, cap,
                     "{\"type\":\"trade\",\"symbol\":\"BTC-EUR\",\"seq\":%u,"
                     "\"price\":\"%u.%02u\",\"size\":\"0.%03u\",\"side\":\"%s\"}",
                     i, 40000 + i % 97, i % 100, i % 1000, i % 2 ? "buy" : "sell");
    return (size_t)n;
}

/* Sizes on both sides of every length encoding and of the 16 KiB scratch. */
static const size_t sizes[] = {0,     1,     2,     31,     125,    126,
                               127,   4095,  4096,  16383,  16384,  16385,
                               65535, 65536, 65537, 131072, 300000, 1048576};

/* ---- negotiation --------------------------------------------------------- */

static void default_offer_is_agreed_as_expected(void **state)
{
    (void)state;
    struct wsc_options o;
    compress_options(&o);
    struct wsc_conn c;
    open_conn(&c, &o);
    char got[64];
    params_text(wsc_conn_deflate(&c), got, sizeof(got));
    print_message("default offer agreed: %s\n", got);
    const char *want = getenv("DEFLATE_AGREED");
    if (want)
        assert_string_equal(got, want);
    close_conn(&c);

    /* Without the option nothing is offered, whatever the server does. */
    itest_options(&o);
    ITEST_OK(&c, wsc_connect(&c, itest_url("%s", echo_path()), &o));
    assert_null(wsc_conn_deflate(&c));
    ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, "plain", 5, TIMEOUT_MS));
    expect_echo(&c, WSC_OP_TEXT, "plain", 5);
    close_conn(&c);
}

/* ---- round trips --------------------------------------------------------- */

static void messages_of_every_size_round_trip_compressed(void **state)
{
    (void)state;
    struct wsc_options o;
    compress_options(&o);
    struct wsc_conn c;
    open_conn(&c, &o);
    size_t max = sizes[sizeof(sizes) / sizeof(sizes[0]) - 1];
    uint8_t *buf = malloc(max);
    assert_non_null(buf);
    for (int kind = 0; kind < 2; kind++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            if (kind == 0)
                itest_pattern(buf, sizes[i]); /* compresses well */
            else
                random_bytes(buf, sizes[i], (uint32_t)i); /* does not */
            ITEST_OK(&c, wsc_send(&c, WSC_OP_BINARY, buf, sizes[i], TIMEOUT_MS));
            expect_echo(&c, WSC_OP_BINARY, buf, sizes[i]);
        }
    }
    /* Text: UTF-8 characters split anywhere by the compressor and the frames. */
    size_t len = 0;
    while (len + 9 <= 200000) {
        memcpy(buf + len, "abc\xc3\xa9\xe2\x82\xac", 8);
        buf[len + 8] = (uint8_t)('0' + len % 10);
        len += 9;
    }
    ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, buf, len, TIMEOUT_MS));
    expect_echo(&c, WSC_OP_TEXT, buf, len);
    static const char *const texts[] = {"", "h\xc3\xa9llo \xf0\x9f\x98\x80",
                                        "\xef\xbf\xbf\xf4\x8f\xbf\xbf"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, texts[i], strlen(texts[i]), TIMEOUT_MS));
        expect_echo(&c, WSC_OP_TEXT, texts[i], strlen(texts[i]));
    }

    struct wsc_stats st;
    wsc_conn_stats(&c, &st);
    print_message(
        "compressed out %llu of %llu, in %llu of %llu\n",
        (unsigned long long)st.compressed_out, (unsigned long long)st.uncompressed_out,
        (unsigned long long)st.compressed_in, (unsigned long long)st.uncompressed_in);
    if (server_compresses()) {
        /* compress_min is 0: every message went out compressed. */
        assert_int_equal(st.uncompressed_out, st.payload_out);
        assert_true(st.compressed_out > 0 && st.compressed_out < st.uncompressed_out);
        assert_true(st.compressed_in > 0 && st.compressed_in < st.uncompressed_in);
    } else {
        assert_int_equal(st.compressed_out + st.compressed_in, 0);
    }
    free(buf);
    close_conn(&c);
}

static void fragmented_sends_are_compressed_as_one_message(void **state)
{
    (void)state;
    struct wsc_options o;
    compress_options(&o);
    struct wsc_conn c;
    open_conn(&c, &o);
    ITEST_OK(&c, wsc_send_fragment(&c, WSC_OP_TEXT, "frag", 4, false, TIMEOUT_MS));
    ITEST_OK(&c, wsc_send_fragment(&c, WSC_OP_CONTINUATION, "", 0, false, TIMEOUT_MS));
    ITEST_OK(&c, wsc_send_fragment(&c, WSC_OP_CONTINUATION, "mented", 6, true, TIMEOUT_MS));
    expect_echo(&c, WSC_OP_TEXT, "fragmented", 10);

    /* A large message in uneven fragments, random and repetitive halves. */
    size_t n = 700001;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    itest_pattern(buf, n / 2);
    random_bytes(buf + n / 2, n - n / 2, 7);
    size_t off = 0, piece = 1;
    while (off < n) {
        size_t k = n - off < piece ? n - off : piece;
        ITEST_OK(&c, wsc_send_fragment(&c, off ? WSC_OP_CONTINUATION : WSC_OP_BINARY,
                                       buf + off, k, off + k == n, TIMEOUT_MS));
        off += k;
        piece = piece * 3 + 7;
    }
    expect_echo(&c, WSC_OP_BINARY, buf, n);
    /* An empty fragmented message, and misuse refused locally. */
    ITEST_OK(&c, wsc_send_fragment(&c, WSC_OP_BINARY, "", 0, false, TIMEOUT_MS));
    assert_int_equal(wsc_send(&c, WSC_OP_TEXT, "x", 1, TIMEOUT_MS), WSC_EINVAL);
    ITEST_OK(&c, wsc_send_fragment(&c, WSC_OP_CONTINUATION, "", 0, true, TIMEOUT_MS));
    expect_echo(&c, WSC_OP_BINARY, "", 0);
    assert_int_equal(wsc_send_fragment(&c, WSC_OP_CONTINUATION, "x", 1, true, TIMEOUT_MS),
                     WSC_EINVAL);
    free(buf);
    close_conn(&c);
}

/* wsc_recv_chunk() and wsc_recv_event() deliver inflated bytes in bounded pieces. */
static void streaming_receive_inflates_in_bounded_chunks(void **state)
{
    (void)state;
    struct wsc_options o;
    compress_options(&o);
    if (!getenv("WSC_TEST_RX_BUF"))
        o.rx_buf_size = 4096;
    struct wsc_conn c;
    open_conn(&c, &o);
    size_t n = MiB + 17;
    uint8_t *buf = malloc(n), *got = malloc(n);
    assert_non_null(buf);
    assert_non_null(got);
    for (int kind = 0; kind < 2; kind++) {
        if (kind == 0)
            itest_pattern(buf, n);
        else
            random_bytes(buf, n, 99);
        ITEST_OK(&c, wsc_send(&c, WSC_OP_BINARY, buf, n, TIMEOUT_MS));
        size_t have = 0, chunks = 0;
        struct wsc_chunk ch;
        do {
            uint8_t part[1000];
            ITEST_OK(&c, wsc_recv_chunk(&c, part, sizeof(part), &ch, TIMEOUT_MS));
            assert_true(ch.len <= sizeof(part));
            assert_int_equal(ch.opcode, WSC_OP_BINARY);
            assert_int_equal(ch.first, have == 0);
            assert_true(have + ch.len <= n);
            assert_true(ch.len > 0 || ch.fin);
            memcpy(got + have, part, ch.len);
            have += ch.len;
            chunks++;
        } while (!ch.fin);
        assert_int_equal(have, n);
        assert_int_equal(ch.remaining, 0);
        assert_memory_equal(got, buf, n);
        assert_true(chunks >= n / 1000);

        /* The same through wsc_recv_event(): chunks of at most max_len. */
        ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, "x", 1, TIMEOUT_MS));
        ITEST_OK(&c, wsc_send(&c, WSC_OP_BINARY, buf, n, TIMEOUT_MS));
        struct wsc_event ev;
        do {
            ITEST_OK(&c, wsc_recv_event(&c, &ev, 777, TIMEOUT_MS));
        } while (ev.type != WSC_EV_DATA);
        assert_int_equal(ev.opcode, WSC_OP_TEXT);
        assert_true(ev.first && ev.fin && ev.len == 1 && ev.data[0] == 'x');
        assert_int_equal(ev.compressed, server_compresses());
        have = 0;
        do {
            ITEST_OK(&c, wsc_recv_event(&c, &ev, 777, TIMEOUT_MS));
            if (ev.type != WSC_EV_DATA)
                continue;
            assert_true(ev.len <= 777);
            assert_int_equal(ev.first, have == 0);
            assert_true(have + ev.len <= n);
            if (ev.len)
                memcpy(got + have, ev.data, ev.len);
            have += ev.len;
        } while (ev.type != WSC_EV_DATA || !ev.fin);
        assert_int_equal(have, n);
        assert_memory_equal(got, buf, n);
    }
    free(buf);
    free(got);
    close_conn(&c);
}

/* A compressed message half read when we close: the rest is discarded, and no
 * later call inflates what the close drained from the input buffer. */
static void close_with_a_compressed_message_half_read_discards_the_rest(void **state)
{
    (void)state;
    struct wsc_options o;
    compress_options(&o);
    struct wsc_conn c;
    open_conn(&c, &o);
    size_t n = MiB;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    random_bytes(buf, n, 5);
    ITEST_OK(&c, wsc_send(&c, WSC_OP_BINARY, buf, n, TIMEOUT_MS));
    uint8_t part[1000];
    struct wsc_chunk ch;
    for (int i = 0; i < 3; i++)
        ITEST_OK(&c, wsc_recv_chunk(&c, part, sizeof(part), &ch, TIMEOUT_MS));
    assert_false(ch.fin);
    assert_true(wsc_conn_has_buffered_input(&c) || ch.remaining > 0);
    ITEST_OK(&c, wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS));
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_CLOSED);
    assert_false(wsc_conn_has_buffered_input(&c));
    assert_int_equal(wsc_recv_chunk(&c, part, sizeof(part), &ch, TIMEOUT_MS), WSC_ECLOSED);
    struct wsc_message m;
    assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), WSC_ECLOSED);
    struct wsc_event ev;
    assert_int_equal(wsc_recv_event(&c, &ev, 100, TIMEOUT_MS), WSC_ECLOSED);
    free(buf);
    wsc_conn_free(&c);
}

/* Context takeover makes repetitive small messages cheaper: the same stream of
 * JSON messages costs less on the wire with it than without it. */
static void many_small_messages_arrive_in_order_and_share_context(void **state)
{
    (void)state;
    uint64_t wire[2];
    bool takeover = false; /* the server may impose client_no_context_takeover */
    for (int nct = 0; nct < 2; nct++) {
        struct wsc_options o;
        compress_options(&o);
        o.deflate_offer.client_no_context_takeover = nct;
        struct wsc_conn c;
        open_conn(&c, &o);
        if (nct == 0 && wsc_conn_deflate(&c))
            takeover = !wsc_conn_deflate(&c)->client_no_context_takeover;
        char msg[256];
        for (unsigned i = 0; i < 2000; i++) {
            size_t n = json_message(msg, sizeof(msg), i);
            ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, msg, n, TIMEOUT_MS));
        }
        for (unsigned i = 0; i < 2000; i++) {
            size_t n = json_message(msg, sizeof(msg), i);
            expect_echo(&c, WSC_OP_TEXT, msg, n);
        }
        struct wsc_stats st;
        wsc_conn_stats(&c, &st);
        wire[nct] = st.compressed_out;
        print_message("2000 JSON messages, %s: %llu bytes compressed of %llu\n",
                      nct ? "no context takeover" : "context takeover",
                      (unsigned long long)st.compressed_out,
                      (unsigned long long)st.uncompressed_out);
        close_conn(&c);
    }
    if (takeover)
        assert_true(wire[0] < wire[1]);
}

/* Every variant of the offer: what comes back must honour it (RFC 7692 7.1),
 * and messages flow under it. */
static void context_takeover_and_window_variants_are_negotiated(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        struct wsc_pmd_offer offer;
    } variants[] = {
        {"client_no_context_takeover", {true, false, 0, 0}},
        {"server_no_context_takeover", {false, true, 0, 0}},
        {"both no_context_takeover", {true, true, 0, 0}},
        {"client_max_window_bits=9", {false, false, 9, 0}},
        {"client_max_window_bits=12", {false, false, 12, 0}},
        {"client_max_window_bits not offered", {false, false, WSC_PMD_NOT_OFFERED, 0}},
        {"server_max_window_bits=10", {false, false, 0, 10}},
        {"server_max_window_bits=15", {false, false, 0, 15}},
        {"everything, smallest windows", {true, true, 9, 9}},
    };
    char *big = malloc(200000);
    assert_non_null(big);
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        const struct wsc_pmd_offer *off = &variants[i].offer;
        struct wsc_options o;
        compress_options(&o);
        o.deflate_offer = *off;
        struct wsc_conn c;
        int rc = wsc_connect(&c, itest_url("%s", echo_path()), &o);
        if (rc != 0) {
            print_error("%s: %s\n", variants[i].name, wsc_conn_detail(&c));
            fail();
        }
        const struct wsc_pmd_params *p = wsc_conn_deflate(&c);
        char got[64];
        params_text(p, got, sizeof(got));
        print_message("offer %-36s agreed %s\n", variants[i].name, got);
        assert_int_equal(p != NULL, server_compresses());
        if (p) {
            if (off->server_no_context_takeover)
                assert_true(p->server_no_context_takeover);
            if (off->client_no_context_takeover)
                assert_true(p->client_no_context_takeover);
            if (off->server_max_window_bits)
                assert_true(p->server_max_window_bits <= off->server_max_window_bits);
            if (off->client_max_window_bits == WSC_PMD_NOT_OFFERED)
                assert_int_equal(p->client_max_window_bits, 15);
            else if (off->client_max_window_bits)
                assert_true(p->client_max_window_bits <= off->client_max_window_bits);
        }
        char msg[256];
        for (unsigned k = 0; k < 50; k++) {
            size_t n = json_message(msg, sizeof(msg), k);
            ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, msg, n, TIMEOUT_MS));
            expect_echo(&c, WSC_OP_TEXT, msg, n);
        }
        /* Far more than any window: matches reach back as far as allowed. */
        for (size_t k = 0; k < 200000; k++)
            big[k] = (char)('a' + (k * 7 + k / 4096) % 26);
        ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, big, 200000, TIMEOUT_MS));
        expect_echo(&c, WSC_OP_TEXT, big, 200000);
        close_conn(&c);
    }
    free(big);
}

static void messages_under_compress_min_go_out_uncompressed(void **state)
{
    (void)state;
    struct wsc_options o;
    compress_options(&o);
    o.compress_min = 64;
    struct wsc_conn c;
    open_conn(&c, &o);
    struct wsc_stats before, after;
    wsc_conn_stats(&c, &before);
    ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, "short and plain", 15, TIMEOUT_MS));
    expect_echo(&c, WSC_OP_TEXT, "short and plain", 15);
    wsc_conn_stats(&c, &after);
    assert_int_equal(after.uncompressed_out, before.uncompressed_out);
    char msg[256];
    size_t n = json_message(msg, sizeof(msg), 1);
    assert_true(n >= 64);
    ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, msg, n, TIMEOUT_MS));
    expect_echo(&c, WSC_OP_TEXT, msg, n);
    wsc_conn_stats(&c, &after);
    assert_int_equal(after.uncompressed_out - before.uncompressed_out,
                     server_compresses() ? n : 0);
    /* A fragmented message is compressed whatever its size. */
    ITEST_OK(&c, wsc_send_fragment(&c, WSC_OP_TEXT, "a", 1, false, TIMEOUT_MS));
    ITEST_OK(&c, wsc_send_fragment(&c, WSC_OP_CONTINUATION, "b", 1, true, TIMEOUT_MS));
    expect_echo(&c, WSC_OP_TEXT, "ab", 2);
    close_conn(&c);
}

/* max_message bounds the inflated size, whatever the wire size. */
static void inflated_size_over_max_message_fails_with_1009(void **state)
{
    (void)state;
    struct wsc_options o;
    compress_options(&o);
    o.max_message = 1000;
    struct wsc_conn c;
    open_conn(&c, &o);
    uint8_t zeros[1001];
    memset(zeros, 0, sizeof(zeros));
    ITEST_OK(&c, wsc_send(&c, WSC_OP_BINARY, zeros, 1000, TIMEOUT_MS));
    expect_echo(&c, WSC_OP_BINARY, zeros, 1000);
    /* The echo of 1001 zeros is a few compressed bytes. */
    ITEST_OK(&c, wsc_send(&c, WSC_OP_BINARY, zeros, 1001, TIMEOUT_MS));
    struct wsc_message m;
    assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), WSC_EMSG_TOO_BIG);
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_FAILED);
    assert_int_equal(wsc_conn_local_close_code(&c), 1009);
    assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), WSC_EMSG_TOO_BIG);
    wsc_conn_free(&c);
}

static void reconnect_negotiates_again(void **state)
{
    (void)state;
    struct wsc_options o;
    compress_options(&o);
    struct wsc_conn c;
    open_conn(&c, &o);
    ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, "first life", 10, TIMEOUT_MS));
    expect_echo(&c, WSC_OP_TEXT, "first life", 10);
    ITEST_OK(&c, wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS));
    struct wsc_reconnect r;
    wsc_reconnect_init(&r);
    r.min_delay_ms = 1;
    r.max_attempts = 3;
    ITEST_OK(&c, wsc_reconnect(&c, &r));
    assert_int_equal(wsc_conn_deflate(&c) != NULL, server_compresses());
    for (unsigned i = 0; i < 20; i++) {
        char msg[256];
        size_t n = json_message(msg, sizeof(msg), i);
        ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, msg, n, TIMEOUT_MS));
        expect_echo(&c, WSC_OP_TEXT, msg, n);
    }
    struct wsc_stats st;
    wsc_conn_stats(&c, &st);
    assert_int_equal(st.reconnects, 1);
    close_conn(&c);
}

/* ---- memory per connection ------------------------------------------------ */

struct meter {
    size_t live, peak, blocks;
};

/* A size header in front of every block, so free() knows what to subtract. */
static void *meter_malloc(void *user, size_t n)
{
    struct meter *m = user;
    size_t *p = malloc(n + sizeof(max_align_t));
    if (!p)
        return NULL;
    *p = n;
    m->live += n;
    m->blocks++;
    if (m->live > m->peak)
        m->peak = m->live;
    return (char *)p + sizeof(max_align_t);
}

static void meter_free(void *user, void *ptr)
{
    struct meter *m = user;
    if (!ptr)
        return;
    size_t *p = (size_t *)(void *)((char *)ptr - sizeof(max_align_t));
    m->live -= *p;
    m->blocks--;
    free(p);
}

/* Connects, echoes @p len bytes each way; *after_connect and *after_echo are the
 * bytes held through the hooks at those points, *peak the most ever held. */
static void measure(bool compress, struct wsc_pmd_offer offer, size_t len,
                    size_t *after_connect, size_t *after_echo, size_t *peak)
{
    struct meter m = {0, 0, 0};
    struct wsc_options o;
    itest_options(&o);
    o.compress = compress;
    o.deflate_offer = offer;
    o.alloc.malloc = meter_malloc;
    o.alloc.free = meter_free;
    o.alloc.user = &m;
    struct wsc_conn c;
    ITEST_OK(&c, wsc_connect(&c, itest_url("%s", echo_path()), &o));
    *after_connect = m.live;
    char *msg = malloc(len);
    assert_non_null(msg);
    for (size_t k = 0; k < len; k++)
        msg[k] = (char)('a' + (k * 7 + k / 4096) % 26);
    ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, msg, len, TIMEOUT_MS));
    expect_echo(&c, WSC_OP_TEXT, msg, len);
    *after_echo = m.live;
    *peak = m.peak;
    free(msg);
    ITEST_OK(&c, wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS));
    wsc_conn_free(&c);
    assert_int_equal(m.live, 0);
    assert_int_equal(m.blocks, 0);
}

static void memory_per_connection_is_reported(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        struct wsc_pmd_offer offer;
    } offers[] = {
        {"default offer", {false, false, 0, 0}},
        {"windows 10, no takeover", {true, true, 10, 10}},
        {"windows 9", {false, false, 9, 9}},
    };
    size_t base_c, base_e, base_p;
    measure(false, offers[0].offer, 100, &base_c, &base_e, &base_p);
    print_message("memory, uncompressed: %zu bytes after connect, %zu after a 100-byte "
                  "echo (peak %zu)\n",
                  base_c, base_e, base_p);
    for (size_t i = 0; i < sizeof(offers) / sizeof(offers[0]); i++) {
        struct wsc_conn c;
        struct wsc_options o;
        compress_options(&o);
        o.deflate_offer = offers[i].offer;
        ITEST_OK(&c, wsc_connect(&c, itest_url("%s", echo_path()), &o));
        char agreed[64];
        params_text(wsc_conn_deflate(&c), agreed, sizeof(agreed));
        wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS);
        wsc_conn_free(&c);
        size_t ac, ae, pk;
        measure(true, offers[i].offer, 100, &ac, &ae, &pk);
        print_message("memory, %s (agreed %s): %zu bytes after connect, %zu after a "
                      "100-byte echo (+%zu over uncompressed; peak %zu)\n",
                      offers[i].name, agreed, ac, ae, ae - base_e, pk);
        size_t ac2, ae2, pk2;
        measure(true, offers[i].offer, 65536, &ac2, &ae2, &pk2);
        print_message("memory, %s: after a 64 KiB echo %zu (reassembly included; "
                      "peak %zu)\n",
                      offers[i].name, ae2, pk2);
        if (server_compresses()) {
            assert_true(ae > base_e);
            assert_true(ae - base_e < 400 * 1024); /* both zlib streams at 15 bits */
        }
    }
}

/* ---- the hostile fixture --------------------------------------------------- */

static unsigned next_id;

static const char *tagged(const char *target, char *out, size_t cap)
{
    snprintf(out, cap, "%s%sid=%u", target, strchr(target, '?') ? "&" : "?", ++next_id);
    return out;
}

static void expect_log(const char *target, const char *what)
{
    char line[512];
    snprintf(line, sizeof(line), "%s %s", target, what);
    if (!itest_log_has(line, 5000))
        fail_msg("fixture log lacks \"%s\"", line);
}

/* A 64 MiB message compressed to 64 KiB, against a 1 MiB limit: 1009 after at
 * most 1 MiB + 1 inflated bytes, and about that much memory. */
static void decompression_bomb_fails_with_1009_in_bounded_memory(void **state)
{
    (void)state;
    if (!hostile())
        skip();
    static const char *const targets[] = {"/deflate-bomb",
                                          "/deflate-bomb?fragments=9&op=text"};
    for (size_t i = 0; i < 2; i++) {
        for (int chunked = 0; chunked < 2; chunked++) {
            struct meter m = {0, 0, 0};
            struct wsc_options o;
            compress_options(&o);
            o.max_message = MiB;
            o.alloc.malloc = meter_malloc;
            o.alloc.free = meter_free;
            o.alloc.user = &m;
            char target[128];
            tagged(targets[i], target, sizeof(target));
            struct wsc_conn c;
            ITEST_OK(&c, wsc_connect(&c, itest_url("%s", target), &o));
            size_t connected = m.live;
            int rc;
            uint64_t delivered = 0;
            if (chunked) {
                /* Streaming: the limit's worth of zeros arrives, then the error. */
                uint8_t part[4096];
                struct wsc_chunk ch;
                while ((rc = wsc_recv_chunk(&c, part, sizeof(part), &ch, TIMEOUT_MS)) ==
                       0) {
                    for (size_t k = 0; k < ch.len; k++)
                        assert_int_equal(part[k], 0);
                    delivered += ch.len;
                    assert_false(ch.fin);
                }
            } else {
                struct wsc_message msg;
                rc = wsc_recv(&c, &msg, TIMEOUT_MS);
            }
            assert_int_equal(rc, WSC_EMSG_TOO_BIG);
            assert_int_equal(wsc_conn_local_close_code(&c), 1009);
            assert_non_null(strstr(wsc_conn_detail(&c), "sent close 1009"));
            if (chunked)
                assert_int_equal(delivered, MiB);
            print_message("bomb %s (%s): %zu bytes held after connect, peak %zu\n", target,
                          chunked ? "wsc_recv_chunk" : "wsc_recv", connected, m.peak);
            /* zlib's inflate state and window (40 KiB at 15 bits), plus for
             * reassembly a buffer that never exceeds max_message + 1 bytes
             * (growing it moves it: twice that for a moment); streaming, none. */
            assert_true(m.peak <= connected + 48 * 1024 + (chunked ? 0 : 2 * (MiB + 1)));
            expect_log(target, "CLOSE 1009");
            wsc_conn_free(&c);
            assert_int_equal(m.live, 0);
        }
    }
}

static void corrupt_compressed_data_fails_with_the_right_close_code(void **state)
{
    (void)state;
    if (!hostile())
        skip();
    static const struct {
        const char *target;
        int error;
        const char *close;
    } cases[] = {
        {"/deflate-corrupt", WSC_EINFLATE, "CLOSE 1007"},
        {"/deflate-corrupt?kind=truncated", WSC_EINFLATE, "CLOSE 1007"},
        {"/deflate-corrupt?kind=utf8", WSC_EUTF8, "CLOSE 1007"},
        {"/deflate-corrupt?kind=rsv1-continuation", WSC_ERSV, "CLOSE 1002"},
        {"/deflate-corrupt?kind=rsv1-ping", WSC_ERSV, "CLOSE 1002"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int good = 0; good < 2; good++) {
            for (int chunked = 0; chunked < 2; chunked++) {
                char base[128], target[160];
                snprintf(base, sizeof(base), "%s%sgood=%d", cases[i].target,
                         strchr(cases[i].target, '?') ? "&" : "?", good);
                tagged(base, target, sizeof(target));
                struct wsc_options o;
                compress_options(&o);
                struct wsc_conn c;
                ITEST_OK(&c, wsc_connect(&c, itest_url("%s", target), &o));
                int rc;
                if (chunked) {
                    /* Byte by byte: the valid bytes come out before the error. */
                    char got[8192];
                    size_t have = 0;
                    struct wsc_chunk ch;
                    while ((rc = wsc_recv_chunk(&c, got + have, 1, &ch, TIMEOUT_MS)) == 0) {
                        have += ch.len;
                        assert_true(have < sizeof(got));
                        if (ch.fin) {
                            assert_int_equal(have, 6);
                            assert_memory_equal(got, "before", 6);
                            have = 0;
                        }
                    }
                    if (cases[i].error == WSC_EUTF8)
                        assert_memory_equal(got, "caf\xc3\xa9 ", have < 6 ? have : 6);
                } else {
                    struct wsc_message m;
                    if (good) {
                        ITEST_OK(&c, wsc_recv(&c, &m, TIMEOUT_MS));
                        assert_int_equal(m.len, 6);
                        assert_memory_equal(m.data, "before", 6);
                    }
                    rc = wsc_recv(&c, &m, TIMEOUT_MS);
                }
                if (rc != cases[i].error)
                    print_error("%s: %d %s\n", target, rc, wsc_conn_detail(&c));
                assert_int_equal(rc, cases[i].error);
                expect_log(target, cases[i].close);
                wsc_conn_free(&c);
            }
        }
    }
}

/* The fixture's RSV1 rules match ours: it accepts our compressed messages only
 * because deflate was agreed; without the offer, it sends nothing compressed. */
static void bomb_without_an_offer_is_refused_by_the_fixture(void **state)
{
    (void)state;
    if (!hostile())
        skip();
    char target[128];
    tagged("/deflate-bomb", target, sizeof(target));
    struct wsc_options o;
    itest_options(&o);
    struct wsc_conn c;
    assert_int_equal(wsc_connect(&c, itest_url("%s", target), &o), WSC_EHS_STATUS);
    assert_int_equal(wsc_conn_http_status(&c), 400);
    expect_log(target, "BAD-REQUEST no-deflate-offer");
    wsc_conn_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_offer_is_agreed_as_expected),
        cmocka_unit_test(messages_of_every_size_round_trip_compressed),
        cmocka_unit_test(fragmented_sends_are_compressed_as_one_message),
        cmocka_unit_test(streaming_receive_inflates_in_bounded_chunks),
        cmocka_unit_test(close_with_a_compressed_message_half_read_discards_the_rest),
        cmocka_unit_test(many_small_messages_arrive_in_order_and_share_context),
        cmocka_unit_test(context_takeover_and_window_variants_are_negotiated),
        cmocka_unit_test(messages_under_compress_min_go_out_uncompressed),
        cmocka_unit_test(inflated_size_over_max_message_fails_with_1009),
        cmocka_unit_test(reconnect_negotiates_again),
        cmocka_unit_test(memory_per_connection_is_reported),
        cmocka_unit_test(decompression_bomb_fails_with_1009_in_bounded_memory),
        cmocka_unit_test(corrupt_compressed_data_fails_with_the_right_close_code),
        cmocka_unit_test(bomb_without_an_offer_is_refused_by_the_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
