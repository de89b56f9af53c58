/*
 * Failing allocators for the blocking API (STYLE.md, "Failing allocators").
 *
 * A scripted session over the fault transport, with no faults: connect (with
 * Basic credentials in the URL, which cost two allocations), receive a whole
 * text message, a fragmented one with a ping between the fragments and a
 * fragmented 10000-byte binary message (reassembly grows its buffer with
 * realloc: 4096, 8192, 16384), echo, then STEADY_N more rounds of the same
 * messages, and close. The allocator hooks count every malloc and realloc
 * and track the live blocks.
 *
 * First the session runs clean and its allocations are counted; the steady
 * rounds must allocate nothing. Then it reruns failing allocation k, for each
 * k in turn: the run must end in WSC_ENOMEM with a detail that says so, the
 * transport must be closed exactly once, and no block may be live after
 * wsc_conn_free().
 *
 * The compressed variant agrees on permessage-deflate: the server's messages
 * are compressed (context carried across messages and rounds) and split into
 * frames the same way, and our messages go out compressed, so the codec, its
 * scratch buffer and both zlib streams join the allocations.
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

#include "fault_transport.h"
#include "wsc/wsc_deflate.h"

#define URL_AUTH "ws://user:secret@example.test/chat"
#define URL_PLAIN "ws://example.test/chat"
#define TIMEOUT_MS 200
#define BIG_LEN 10000
#define BIG_FRAGMENTS 4
#define STEADY_N 8
#define LIVE_MAX 32

static struct ft ft;

/* ---- the counting allocator ------------------------------------------- */

struct counting_alloc {
    size_t calls; /* malloc and realloc calls so far */
    size_t mallocs, reallocs, frees;
    size_t fail_at; /* the 1-based call that fails; 0: none */
    bool failed;
    bool foreign_free; /* free or realloc of a block this allocator never gave */
    void *live[LIVE_MAX];
    size_t nlive;
};

static bool take(struct counting_alloc *a)
{
    a->calls++;
    if (a->calls == a->fail_at) {
        a->failed = true;
        return false;
    }
    return true;
}

static void track(struct counting_alloc *a, void *p)
{
    assert_true(a->nlive < LIVE_MAX);
    a->live[a->nlive++] = p;
}

static bool untrack(struct counting_alloc *a, void *p)
{
    for (size_t i = 0; i < a->nlive; i++) {
        if (a->live[i] == p) {
            a->live[i] = a->live[--a->nlive];
            return true;
        }
    }
    a->foreign_free = true;
    return false;
}

static void *ca_malloc(void *user, size_t n)
{
    struct counting_alloc *a = user;
    a->mallocs++;
    if (!take(a))
        return NULL;
    void *p = malloc(n ? n : 1);
    if (p)
        track(a, p);
    return p;
}

static void *ca_realloc(void *user, void *p, size_t n)
{
    struct counting_alloc *a = user;
    a->reallocs++;
    if (!take(a))
        return NULL; /* p stays valid and live */
    if (p && !untrack(a, p))
        return NULL;
    void *q = realloc(p, n ? n : 1);
    track(a, q ? q : p);
    return q;
}

static void ca_free(void *user, void *p)
{
    struct counting_alloc *a = user;
    a->frees++;
    untrack(a, p);
    free(p); /* a foreign block came from the C library too, in this test */
}

/* ---- the scripted session --------------------------------------------- */

static uint8_t script[(BIG_LEN + 512) * (STEADY_N + 1) + 4096];
static size_t script_len;
static uint8_t big[BIG_LEN];

/* The server's compressor for the compressed script (NULL: plain script). */
static struct wsc_deflate *server_z;

static void put_rsv(bool fin, uint8_t rsv, uint8_t op, const void *p, size_t n)
{
    uint8_t h[WSC_FRAME_HEADER_MAX];
    size_t hl = wsc_frame_header_encode_rsv(h, fin, rsv, op, n, NULL);
    assert_true(sizeof(script) - script_len >= hl + n);
    memcpy(script + script_len, h, hl);
    if (n)
        memcpy(script + script_len + hl, p, n);
    script_len += hl + n;
}

static void put(bool fin, uint8_t op, const void *p, size_t n)
{
    assert_true(ft_put_frame(script, &script_len, sizeof(script), fin, op, p, n));
}

/* A message as @p frames frames (its pieces, compressed when server_z is set),
 * with @p between (a ping) after the first frame. */
static void put_message(uint8_t op, const void *data, size_t len, size_t frames,
                        bool ping_between)
{
    uint8_t z[BIG_LEN + 256];
    const uint8_t *p = data;
    uint8_t rsv = 0;
    if (server_z) {
        size_t used, made;
        int rc = wsc_deflate_compress(server_z, data, len, true, z, sizeof(z), &used, &made);
        assert_int_equal(rc, 0);
        assert_int_equal(used, len);
        p = z;
        len = made;
        rsv = WSC_RSV1;
    }
    size_t step = len / frames, off = 0;
    for (size_t i = 0; i < frames; i++) {
        size_t n = i == frames - 1 ? len - off : step;
        put_rsv(i == frames - 1, i ? 0 : rsv, i ? WSC_OP_CONTINUATION : op, p + off, n);
        off += n;
        if (i == 0 && ping_between)
            put(true, WSC_OP_PING, "p", 1);
    }
}

/* One round: whole text, fragmented text with a ping inside, fragmented binary. */
static void put_round(void)
{
    if (server_z) {
        put_message(WSC_OP_TEXT, "hello", 5, 1, false);
        put_message(WSC_OP_TEXT, "fragmented!", 11, 3, true);
        put_message(WSC_OP_BINARY, big, BIG_LEN, BIG_FRAGMENTS, false);
        return;
    }
    put(true, WSC_OP_TEXT, "hello", 5);
    put(false, WSC_OP_TEXT, "frag", 4);
    put(true, WSC_OP_PING, "p", 1);
    put(false, WSC_OP_CONTINUATION, "mented", 6);
    put(true, WSC_OP_CONTINUATION, "!", 1);
    size_t step = BIG_LEN / BIG_FRAGMENTS;
    for (size_t i = 0; i < BIG_FRAGMENTS; i++)
        put(i == BIG_FRAGMENTS - 1, i ? WSC_OP_CONTINUATION : WSC_OP_BINARY, big + i * step,
            step);
}

static void build_script(bool compressed)
{
    for (size_t i = 0; i < BIG_LEN; i++)
        big[i] = (uint8_t)(i * 13 + 5);
    script_len = 0;
    if (compressed) {
        struct wsc_pmd_params p = {false, false, 15, 15};
        assert_int_equal(wsc_deflate_new(&server_z, &p, NULL), 0);
    }
    for (int r = 0; r < 1 + STEADY_N; r++)
        put_round();
    wsc_deflate_free(server_z);
    server_z = NULL;
    /* The reply to the client's close. */
    assert_true(ft_put_close(script, &script_len, sizeof(script), 1000, "done"));
}

static int random_bytes(void *user, uint8_t *buf, size_t len)
{
    uint32_t *ctr = user;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(((*ctr)++ * 73u + 29u) & 0xff);
    return 0;
}

struct session {
    const char *url;
    bool compress;      /* permessage-deflate agreed */
    bool caller_buffers;
    bool realloc_hook;  /* false: malloc and free hooks only */
    size_t first_round; /* allocation calls after the first round */
    size_t steady;      /* allocation calls during the steady rounds */
    int rc;             /* the first error, or 0 */
    char detail[WSC_ERROR_DETAIL_MAX];
};

static int expect_msg(struct wsc_conn *c, uint8_t op, const void *data, size_t len)
{
    struct wsc_message m;
    int rc = wsc_recv(c, &m, TIMEOUT_MS);
    if (rc)
        return rc;
    assert_int_equal(m.opcode, op);
    assert_int_equal(m.len, len);
    assert_memory_equal(m.data, data, len);
    return 0;
}

static int round_trip(struct wsc_conn *c)
{
    int rc;
    if ((rc = expect_msg(c, WSC_OP_TEXT, "hello", 5)) ||
        (rc = wsc_send(c, WSC_OP_TEXT, "hello", 5, TIMEOUT_MS)) ||
        (rc = expect_msg(c, WSC_OP_TEXT, "fragmented!", 11)) ||
        (rc = wsc_send(c, WSC_OP_TEXT, "fragmented!", 11, TIMEOUT_MS)) ||
        (rc = expect_msg(c, WSC_OP_BINARY, big, BIG_LEN)))
        return rc;
    return 0;
}

static void run_session(struct session *s, struct counting_alloc *a)
{
    static uint8_t rx[4096], tx[1024];
    ft_reset(&ft, script, script_len, (struct ft_fault){.kind = FT_NONE});
    ft.extensions = s->compress ? "permessage-deflate" : NULL;
    uint32_t ctr = 0;
    struct wsc_options o;
    wsc_options_init(&o);
    o.compress = s->compress;
    o.connect_timeout_ms = TIMEOUT_MS;
    o.random = random_bytes;
    o.random_user = &ctr;
    o.alloc.malloc = ca_malloc;
    o.alloc.realloc = s->realloc_hook ? ca_realloc : NULL;
    o.alloc.free = ca_free;
    o.alloc.user = a;
    if (s->caller_buffers) {
        o.rx_buf = rx;
        o.rx_buf_size = sizeof(rx);
        o.tx_buf = tx;
        o.tx_buf_size = sizeof(tx);
    }
    struct wsc_transport tr = ft_transport(&ft);
    struct wsc_conn c;
    int rc = wsc_connect_transport(&c, &tr, s->url, &o);
    if (rc == 0) {
        assert_int_equal(wsc_conn_deflate(&c) != NULL, s->compress);
        rc = round_trip(&c);
    }
    s->first_round = a->calls;
    for (int i = 0; i < STEADY_N && rc == 0; i++)
        rc = round_trip(&c);
    s->steady = a->calls - s->first_round;
    if (rc == 0)
        rc = wsc_close(&c, WSC_CLOSE_NORMAL, "bye", TIMEOUT_MS);
    s->rc = rc;
    snprintf(s->detail, sizeof(s->detail), "%s", wsc_conn_detail(&c));
    if (rc) {
        assert_int_equal(wsc_conn_state(&c), WSC_CONN_FAILED);
        assert_int_equal(wsc_conn_error(&c), rc);
        /* Further calls report the same error and allocate nothing. */
        size_t before = a->calls;
        struct wsc_message m;
        assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), rc);
        assert_int_equal(wsc_send(&c, WSC_OP_TEXT, "x", 1, TIMEOUT_MS), rc);
        assert_int_equal(wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS), rc);
        assert_int_equal(a->calls, before);
    }
    wsc_conn_free(&c);
    wsc_conn_free(&c); /* freeing twice is harmless */
    assert_int_equal(ft.close_calls, 1);
    if (ft.misuse)
        fail_msg("transport misuse: %s", ft.misuse_what);
}

/*
 * Runs the session clean, then failing each allocation in turn. Returns the
 * number of allocation calls of the clean run.
 */
static size_t fail_each(struct session proto, const char *name)
{
    build_script(proto.compress);
    struct counting_alloc a = {0};
    struct session s = proto;
    run_session(&s, &a);
    if (s.rc)
        fail_msg("%s: the clean session failed: %s", name, s.detail);
    assert_int_equal(a.nlive, 0);
    assert_false(a.foreign_free);
    assert_int_equal(s.steady, 0); /* the steady state allocates nothing */
    size_t total = a.calls;
    print_message("%s: %zu allocation calls (%zu malloc, %zu realloc; %zu in the first "
                  "round, %zu in %d steady rounds); failing each in turn\n",
                  name, total, a.mallocs, a.reallocs, s.first_round, s.steady, STEADY_N);
    for (size_t k = 1; k <= total; k++) {
        struct counting_alloc f = {0};
        f.fail_at = k;
        s = proto;
        run_session(&s, &f);
        if (s.rc != WSC_ENOMEM || !f.failed || f.nlive != 0 || f.foreign_free ||
            !strstr(s.detail, "out of memory"))
            fail_msg("%s, failing allocation %zu of %zu: rc %d (%s), live blocks %zu%s",
                     name, k, total, s.rc, s.detail, f.nlive,
                     f.foreign_free ? ", foreign free" : "");
        print_message("  allocation %zu fails: %s\n", k, s.detail);
    }
    return total;
}

static void every_allocation_failure_ends_cleanly(void **state)
{
    (void)state;
    struct session s = {.url = URL_AUTH, .realloc_hook = true};
    size_t n = fail_each(s, "own buffers, Basic auth");
    /* URL parsed and as text, in, out, head, headers, Authorization list and
     * value; 3 reallocs. */
    assert_int_equal(n, 2 + 6 + 3);
}

static void every_allocation_failure_ends_cleanly_with_caller_buffers(void **state)
{
    (void)state;
    struct session s = {.url = URL_PLAIN, .caller_buffers = true, .realloc_hook = true};
    size_t n = fail_each(s, "caller buffers");
    assert_int_equal(n, 2 + 2 + 3); /* URL parsed and as text, head, headers */
}

/* The header lets any hook be NULL. Without a realloc hook, reassembly must
 * still take its memory from the malloc hook that free will be given. */
static void allocator_without_realloc_never_mixes_heaps(void **state)
{
    (void)state;
    struct session s = {.url = URL_PLAIN, .realloc_hook = false};
    size_t n = fail_each(s, "malloc and free hooks only");
    assert_int_equal(n, 2 + 4 + 3);
}

/*
 * Compressed: the codec and its scratch buffer at the handshake, zlib's inflate
 * state and window with the first message received, deflate's five blocks with
 * the first sent. Each failing ends with close 1011 and WSC_ENOMEM.
 */
static void every_allocation_failure_ends_cleanly_when_compressing(void **state)
{
    (void)state;
    if (!wsc_deflate_available())
        skip(); /* built without zlib */
    struct session s = {.url = URL_PLAIN, .compress = true, .realloc_hook = true};
    size_t n = fail_each(s, "permessage-deflate");
    /* URL 2; in, out, head, headers; codec, scratch; inflate 2, deflate 5;
     * 3 reallocs. */
    assert_int_equal(n, 2 + 4 + 2 + 2 + 5 + 3);
    s.realloc_hook = false;
    s.caller_buffers = true;
    fail_each(s, "permessage-deflate, caller buffers, malloc and free hooks only");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_allocation_failure_ends_cleanly_when_compressing),
        cmocka_unit_test(every_allocation_failure_ends_cleanly),
        cmocka_unit_test(every_allocation_failure_ends_cleanly_with_caller_buffers),
        cmocka_unit_test(allocator_without_realloc_never_mixes_heaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
