/*
 * Failing allocators over wss:// (STYLE.md, "Failing allocators"): the TLS
 * library's allocations join wsc's own.
 *
 * tests/unit/api/blocking_alloc_test.c fails each of wsc's allocator-hook
 * allocations in a scripted session over a test transport, with and without
 * compression. Over TLS most of the memory is the TLS library's, which never
 * goes through wsc's hooks, so this test routes it through the same counting
 * ledger:
 *  - OpenSSL: CRYPTO_set_mem_functions(), first thing in main() (it refuses
 *    once OpenSSL has allocated anything), sends every OPENSSL_malloc,
 *    _realloc and _free of libcrypto and libssl here.
 *  - mbedTLS 2.28: Debian builds it without MBEDTLS_PLATFORM_MEMORY, so
 *    mbedtls_platform_set_calloc_free() does not exist and its libraries call
 *    the C library's calloc() and free() directly. tls_alloc.cmake links this
 *    program with the static mbedTLS archives (which are PIC) and
 *    -Wl,--wrap=calloc,--wrap=free, so every calloc and free in those archives
 *    (and in wsc's objects, linked in directly) lands in __wrap_calloc and
 *    __wrap_free below (WSC_TLS_ALLOC_WRAP). Without the archives the program
 *    is built against the shared libraries and fails wsc's own allocations
 *    only (it says so when it runs).
 *
 * The session, against tests/peers/python_wss_echo.py (server.pem, path
 * /info) on 127.0.0.1 via the name "localhost" (so SNI and the host-name
 * check run): wsc_connect() with the test CA, receive the server's greeting
 * (what it saw of the TLS handshake), send a message, receive its echo,
 * wsc_close(), wsc_conn_free().
 *
 * One warm-up session runs uncounted first: OpenSSL makes its one-time global
 * state then (error strings, providers and their method caches, the DRBGs,
 * this thread's error queue), which stays for the process. Then the session
 * runs clean and counted, twice (the counts may differ by a few: when records
 * such as TLS 1.3 session tickets arrive changes which read meets them), and
 * then once for each k in 1..N + SLACK (N the first clean count), failing the
 * k-th allocation call, wsc's or the TLS library's. Each run must:
 *  - if the failed call was reached: end with WSC_ENOMEM or WSC_ETLS from the
 *    call that met it, with a non-empty wsc_conn_detail(), the connection
 *    FAILED with that error, and further calls returning it without
 *    allocating. A TLS library may also absorb a failure and go on (OpenSSL
 *    does for some caches); then the session must complete correctly;
 *  - if not reached (k beyond this run's count): complete correctly;
 *  - after wsc_conn_free(): no block allocated during the run may be live,
 *    wsc's or mbedTLS's (blocks that existed before the run may be freed,
 *    never the reverse); no block freed by the wrong allocator. OpenSSL's
 *    are the exception: its global state may grow during a run (a method
 *    cache entry after a fetch that failed for want of memory, the text
 *    buffer of an error-queue slot). Such blocks are marked with their run
 *    and, at the end, after a last clean run, OPENSSL_cleanup() must free
 *    every one of them: it frees OpenSSL's global state, never anything a
 *    connection owned, so whatever a connection leaked is still live then;
 *  - finish within HANG_MS.
 * The last clean run must succeed too: nothing a failure left behind breaks
 * the next connection.
 *
 * Every k is tried by default: about 4450 runs for OpenSSL 3.0 (4441 of its
 * allocations and a handful of wsc's per session; about 40 s here, 2 cores)
 * and 7850 for mbedTLS 2.28 (7808 of its allocations, nearly all bignums in
 * the handshake's public-key arithmetic; about 50 s), each a fresh TCP
 * connection and handshake with the python server. WSC_TLS_ALLOC_STEP=s tries
 * only every s-th k plus the first 200 and the last 100 (tls_alloc.cmake sets
 * 2 in sanitizer builds, where a run takes twice as long);
 * WSC_TLS_ALLOC_ONLY="a-b,k,..." tries only those (to rerun some under
 * valgrind or a debugger); WSC_TLS_ALLOC_VERBOSE=1 prints every run.
 *
 * What it found: OpenSSL 3.0 often reports an allocation failure as something
 * else ("PEM lib", "internal error", "bad signature", a certificate that fails
 * verification), with ERR_R_MALLOC_FAILURE queued first; tls_openssl.c now
 * says "out of memory" and returns WSC_ENOMEM from wsc_tls_connect() then. It
 * cannot when OpenSSL queues nothing of the kind (a decoder that failed for
 * want of memory reads as "unknown CA" or "key too weak"), nor can
 * tls_mbedtls.c when mbedTLS 2.28 drops the low-level code, or ignores the
 * failure (its Finished computation does not check the PRF's result, so the
 * handshake fails later as if the peer's Finished were wrong). Those runs
 * still end in a clean WSC_ETLS, which is all this test requires.
 *
 * Needs WSC_TEST_PORT (with_server.sh) and WSC_TLS_CERTS (make_certs.sh's
 * directory); see tls_alloc.cmake.
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

#include "itest.h"
#include "wsc/wsc_tls.h"

#if defined(WSC_TLS_ALLOC_OPENSSL)
#include <openssl/crypto.h>
#include <openssl/err.h>
#endif

#define TIMEOUT_MS 5000
#define HANG_MS 3000 /* a run slower than this is reported as a hang */
#define SLACK 40     /* k beyond the clean count, where the count varies */
#define GREETING "sni=localhost alpn=http/1.1 version=TLSv1."
#define MESSAGE "every allocation may fail"
#define PROBLEMS_SHOWN 25
#define CLEAN_RUN SIZE_MAX /* left_by of a block a clean run left */
#define DETAILS_MAX 200

/* ---- the ledger: every allocation of wsc's hooks and the TLS library ----- */

enum kind { KIND_WSC = 1, KIND_LIB = 2 };

struct block {
    void *p; /* NULL: empty slot */
    size_t serial;
    size_t size;
    const char *file; /* OpenSSL's OPENSSL_FILE, or NULL */
    int line;
    uint8_t kind;
    size_t left_by; /* the run (k; CLEAN_RUN) that left this block to OpenSSL, or 0 */
};

/* Open addressing with linear probing; OpenSSL keeps a few thousand blocks. */
#define SLOT_BITS 16
#define SLOTS ((size_t)1 << SLOT_BITS)
static struct block table[SLOTS];

static struct {
    bool armed;        /* counting and failing (during a run only) */
    size_t fail_at;    /* the 1-based counted call that fails; 0: none */
    size_t calls;      /* counted calls in this run */
    size_t wsc_calls;  /* ... through wsc's hooks */
    size_t lib_calls;  /* ... by the TLS library */
    size_t serial;     /* every block ever tracked */
    size_t run_serial; /* blocks from this serial on were allocated in this run */
    size_t run_live;   /* ... of which this many are live */
    size_t live;       /* all live blocks */
    bool failed;       /* the fail_at call was reached */
    struct block failed_call;
    bool misuse; /* a free or realloc of a block the allocator never gave */
    char misuse_what[160];
} L;

static size_t slot_of(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 29;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> (64 - SLOT_BITS));
}

static void track(void *p, size_t size, enum kind kind, const char *file, int line,
                  size_t serial, size_t left_by)
{
    if (L.live >= SLOTS / 2) {
        fprintf(stderr, "tls_alloc_test: allocation table full\n");
        abort();
    }
    size_t i = slot_of(p);
    while (table[i].p != NULL)
        i = (i + 1) & (SLOTS - 1);
    table[i] = (struct block){p, serial, size, file, line, (uint8_t)kind, left_by};
    L.live++;
    if (serial >= L.run_serial)
        L.run_live++;
}

static void note_misuse(const char *what, const void *p, const char *file, int line)
{
    if (!L.misuse)
        snprintf(L.misuse_what, sizeof(L.misuse_what), "%s %p (%s:%d)", what, p,
                 file ? file : "?", line);
    L.misuse = true;
}

/* Removes @p p (which must be of @p kind) and returns its entry in @p out. */
static bool untrack(void *p, enum kind kind, struct block *out)
{
    size_t i = slot_of(p);
    while (table[i].p != p) {
        if (table[i].p == NULL)
            return false;
        i = (i + 1) & (SLOTS - 1);
    }
    if (table[i].kind != kind)
        note_misuse(kind == KIND_WSC ? "wsc's free hook got a TLS-library block"
                                     : "the TLS library freed a block of wsc's hooks",
                    p, table[i].file, table[i].line);
    if (out)
        *out = table[i];
    L.live--;
    if (table[i].serial >= L.run_serial)
        L.run_live--;
    /* Backward-shift deletion: pull later members of the probe run forward. */
    size_t hole = i;
    for (size_t j = (i + 1) & (SLOTS - 1); table[j].p != NULL; j = (j + 1) & (SLOTS - 1)) {
        size_t home = slot_of(table[j].p);
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            table[hole] = table[j];
            hole = j;
        }
    }
    table[hole].p = NULL;
    return true;
}

/* Counts one allocation call; false when it is the one to fail. */
static bool take(enum kind kind, size_t size, const char *file, int line)
{
    if (!L.armed)
        return true;
    L.calls++;
    if (kind == KIND_WSC)
        L.wsc_calls++;
    else
        L.lib_calls++;
    if (L.calls != L.fail_at)
        return true;
    L.failed = true;
    L.failed_call = (struct block){NULL, L.calls, size, file, line, (uint8_t)kind, 0};
    return false;
}

/* ---- the C library underneath (wrapped or not) ------------------------- */

#if defined(WSC_TLS_ALLOC_WRAP)
void *__real_calloc(size_t n, size_t size);
void __real_free(void *p);
void *__wrap_calloc(size_t n, size_t size);
void __wrap_free(void *p);
#define sys_free __real_free
#else
#define sys_free free
#endif

/* ---- wsc's allocator hooks ---------------------------------------------- */

static void *hook_malloc(void *user, size_t n)
{
    (void)user;
    if (!take(KIND_WSC, n, NULL, 0))
        return NULL;
    void *p = malloc(n ? n : 1);
    if (p)
        track(p, n, KIND_WSC, NULL, 0, L.serial++, 0);
    return p;
}

static void *hook_realloc(void *user, void *p, size_t n)
{
    (void)user;
    if (!take(KIND_WSC, n, NULL, 0))
        return NULL; /* p stays valid and live */
    struct block old = {.serial = L.serial++};
    if (p && !untrack(p, KIND_WSC, &old))
        note_misuse("wsc's realloc hook got an unknown block", p, NULL, 0);
    void *q = realloc(p, n ? n : 1);
    /* A grown block keeps its age: it is the same allocation. */
    if (q || p)
        track(q ? q : p, q ? n : old.size, KIND_WSC, NULL, 0, old.serial, 0);
    return q;
}

static void hook_free(void *user, void *p)
{
    (void)user;
    if (p == NULL)
        return;
    if (!untrack(p, KIND_WSC, NULL))
        note_misuse("wsc's free hook got an unknown block", p, NULL, 0);
    sys_free(p);
}

/* ---- the TLS library's allocator ---------------------------------------- */

#if defined(WSC_TLS_ALLOC_OPENSSL)
static void *ossl_malloc(size_t n, const char *file, int line)
{
    if (!take(KIND_LIB, n, file, line))
        return NULL;
    void *p = malloc(n ? n : 1);
    if (p)
        track(p, n, KIND_LIB, file, line, L.serial++, 0);
    return p;
}

static void ossl_free(void *p, const char *file, int line)
{
    if (p == NULL)
        return;
    if (!untrack(p, KIND_LIB, NULL))
        note_misuse("OpenSSL freed an unknown block", p, file, line);
    free(p);
}

/* CRYPTO_realloc() hands a replaced allocator every case, NULL and 0 too. */
static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
    if (p == NULL)
        return ossl_malloc(n, file, line);
    if (n == 0) {
        ossl_free(p, file, line);
        return NULL;
    }
    if (!take(KIND_LIB, n, file, line))
        return NULL;
    struct block old = {.serial = L.serial++};
    if (!untrack(p, KIND_LIB, &old))
        note_misuse("OpenSSL reallocated an unknown block", p, file, line);
    void *q = realloc(p, n);
    track(q ? q : p, q ? n : old.size, KIND_LIB, file, line, old.serial, old.left_by);
    return q;
}

static const char *lib_name = "OpenSSL";
static bool lib_counted = true;
static bool lib_has_global_state = true;

/* Frees OpenSSL's global state; OpenSSL is unusable after. */
static void lib_cleanup(void)
{
    OPENSSL_cleanup();
}

static bool route_lib_allocations(void)
{
    return CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) == 1;
}
#elif defined(WSC_TLS_ALLOC_WRAP)
void *__wrap_calloc(size_t n, size_t size)
{
    if (!take(KIND_LIB, n * size, NULL, 0))
        return NULL;
    void *p = __real_calloc(n, size);
    if (p)
        track(p, n * size, KIND_LIB, NULL, 0, L.serial++, 0);
    return p;
}

/* Every free() in the wrapped objects: mbedTLS's blocks, and the odd C
 * library block wsc frees (which the ledger never saw). */
void __wrap_free(void *p)
{
    if (p != NULL)
        untrack(p, KIND_LIB, NULL);
    __real_free(p);
}

static const char *lib_name = "mbedTLS";
static bool lib_counted = true;
static bool lib_has_global_state = false; /* 2.28 keeps everything in its contexts */

static void lib_cleanup(void) {}

static bool route_lib_allocations(void)
{
    return true; /* done by the linker */
}
#else
static const char *lib_name = "the TLS library";
static bool lib_counted = false;
static bool lib_has_global_state = false;

static void lib_cleanup(void) {}

static bool route_lib_allocations(void)
{
    return true;
}
#endif

/* ---- the session -------------------------------------------------------- */

static char url[256];
static char ca_file[512];

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (!v || !v[0])
        fail_msg("%s is not set: run under with_server.sh (see tls_alloc.cmake)", name);
    return v;
}

struct run {
    size_t fail_at;
    int rc;
    const char *stage; /* the call that returned rc */
    char detail[WSC_ERROR_DETAIL_MAX];
    size_t calls, wsc_calls, lib_calls;
    bool failed; /* the fail_at call was reached */
    struct block failed_call;
    size_t leaked;      /* blocks of this run live after wsc_conn_free() */
    size_t left_to_lib; /* ... of which OpenSSL's global state may hold */
    char leak_what[200];
    bool misuse;
    char misuse_what[160];
    bool wrong_message;
    bool not_sticky; /* a later call did not report the same error, or allocated */
    uint64_t ms;
};

static bool is_text(const struct wsc_message *m, const char *prefix, bool whole)
{
    size_t n = strlen(prefix);
    return m->opcode == WSC_OP_TEXT && (whole ? m->len == n : m->len >= n) &&
           memcmp(m->data, prefix, n) == 0;
}

static int session(struct wsc_conn *c, struct run *r)
{
    struct wsc_options o;
    wsc_options_init(&o);
    o.connect_timeout_ms = TIMEOUT_MS;
    o.tls.ca_file = ca_file;
    o.proxy = ""; /* never an https_proxy from the environment */
    o.alloc.malloc = hook_malloc;
    o.alloc.realloc = hook_realloc;
    o.alloc.free = hook_free;
    struct wsc_message m;
    int rc;
    r->stage = "wsc_connect";
    if ((rc = wsc_connect(c, url, &o)) != 0)
        return rc;
    r->stage = "wsc_recv (greeting)";
    if ((rc = wsc_recv(c, &m, TIMEOUT_MS)) != 0)
        return rc;
    r->wrong_message |= !is_text(&m, GREETING, false);
    r->stage = "wsc_send";
    if ((rc = wsc_send(c, WSC_OP_TEXT, MESSAGE, strlen(MESSAGE), TIMEOUT_MS)) != 0)
        return rc;
    r->stage = "wsc_recv (echo)";
    if ((rc = wsc_recv(c, &m, TIMEOUT_MS)) != 0)
        return rc;
    r->wrong_message |= !is_text(&m, MESSAGE, true);
    r->stage = "wsc_close";
    return wsc_close(c, WSC_CLOSE_NORMAL, "bye", TIMEOUT_MS);
}

static void describe_block(char *out, size_t cap, size_t *used, const struct block *b)
{
    int w = snprintf(out + *used, cap - *used, "%s%s %zu B %s:%d", *used ? "; " : "",
                     b->kind == KIND_WSC ? "wsc" : lib_name, b->size,
                     b->file ? b->file : "?", b->line);
    if (w > 0 && (size_t)w < cap - *used)
        *used += (size_t)w;
}

/*
 * Sorts the blocks of this run still live after wsc_conn_free(). wsc's are
 * leaks. OpenSSL's may be its global state: a fetch that failed for want of
 * memory can leave a method-cache or name-map entry behind, and an error with
 * data keeps a text buffer in whichever of the thread's 16 error-queue slots
 * it used (so even a clean run may add one, once the failures have moved the
 * queue along). Those are marked with the run and must be gone after
 * OPENSSL_cleanup(), which frees OpenSSL's global state and nothing that a
 * connection owned.
 */
static size_t runs_leaving; /* runs that left blocks to OpenSSL */

static void sort_leftovers(struct run *r)
{
    size_t used = 0, shown = 0;
    for (size_t i = 0; i < SLOTS; i++) {
        struct block *b = &table[i];
        if (b->p == NULL || b->serial < L.run_serial)
            continue;
        if (b->kind == KIND_LIB && lib_has_global_state) {
            b->left_by = r->fail_at ? r->fail_at : CLEAN_RUN;
            r->left_to_lib++;
            continue;
        }
        r->leaked++;
        if (shown++ < 3)
            describe_block(r->leak_what, sizeof(r->leak_what), &used, b);
    }
    runs_leaving += r->left_to_lib != 0;
}

static void run_once(size_t fail_at, bool counted, struct run *r)
{
    memset(r, 0, sizeof(*r));
    r->fail_at = fail_at;
    L.fail_at = fail_at;
    L.calls = L.wsc_calls = L.lib_calls = 0;
    L.failed = false;
    L.run_serial = L.serial;
    L.run_live = 0;
    L.misuse = false;
    uint64_t t0 = wsc_platform_now_ms();
    struct wsc_conn c;
    L.armed = counted;
    int rc = session(&c, r);
    r->rc = rc;
    snprintf(r->detail, sizeof(r->detail), "%s", wsc_conn_detail(&c));
    if (rc != 0) {
        /* The connection stays failed with that error, and says so at no cost. */
        size_t before = L.calls;
        struct wsc_message m;
        r->not_sticky =
            wsc_conn_state(&c) != WSC_CONN_FAILED || wsc_conn_error(&c) != rc ||
            wsc_recv(&c, &m, 100) != rc || wsc_send(&c, WSC_OP_TEXT, "x", 1, 100) != rc ||
            wsc_close(&c, WSC_CLOSE_NORMAL, NULL, 100) != rc || L.calls != before;
    }
    wsc_conn_free(&c);
    L.armed = false;
    r->ms = wsc_platform_now_ms() - t0;
    r->calls = L.calls;
    r->wsc_calls = L.wsc_calls;
    r->lib_calls = L.lib_calls;
    r->failed = L.failed;
    r->failed_call = L.failed_call;
    /* What the warm-up leaves is the baseline: OpenSSL's one-time state, and
     * the BIO method the OpenSSL backend makes once and keeps until exit. */
    if (counted && L.run_live)
        sort_leftovers(r);
    r->misuse = L.misuse;
    snprintf(r->misuse_what, sizeof(r->misuse_what), "%s", L.misuse_what);
}

/* ---- judging the runs --------------------------------------------------- */

static const char *call_text(const struct block *b)
{
    static char buf[160];
    int n = snprintf(buf, sizeof(buf), "%s, %zu B",
                     b->kind == KIND_WSC ? "wsc hook" : lib_name, b->size);
    if (b->file && n > 0 && (size_t)n < sizeof(buf))
        snprintf(buf + n, sizeof(buf) - (size_t)n, ", %s:%d", b->file, b->line);
    return buf;
}

/* What is wrong with @p r, or NULL. */
static const char *problem(const struct run *r)
{
    static char why[600];
    if (r->misuse)
        snprintf(why, sizeof(why), "allocator misuse: %s", r->misuse_what);
    else if (r->leaked)
        snprintf(why, sizeof(why), "%zu block(s) leaked: %s", r->leaked, r->leak_what);
    else if (r->ms > HANG_MS)
        snprintf(why, sizeof(why), "took %llu ms", (unsigned long long)r->ms);
    else if (r->wrong_message)
        snprintf(why, sizeof(why), "a message arrived wrong");
    else if (r->rc == 0)
        return NULL; /* completed: not reached, or absorbed by the library */
    else if (!r->failed)
        snprintf(why, sizeof(why), "failed without a failed allocation: %s: %d %s",
                 r->stage, r->rc, r->detail);
    else if (r->rc != WSC_ENOMEM && r->rc != WSC_ETLS)
        snprintf(why, sizeof(why), "%s returned %d (%s), not WSC_ENOMEM or WSC_ETLS: %s",
                 r->stage, r->rc, wsc_strerror(r->rc), r->detail);
    else if (r->detail[0] == '\0')
        snprintf(why, sizeof(why), "%s returned %d with no detail", r->stage, r->rc);
    else if (r->not_sticky)
        snprintf(why, sizeof(why), "the error did not stick (or later calls allocated)");
    else
        return NULL;
    return why;
}

/* Distinct outcomes of the failing runs, for the summary. */
struct outcome {
    const char *stage;
    int rc;
    char detail[WSC_ERROR_DETAIL_MAX];
    size_t count, wsc, lib;
    size_t first_k;
};
static struct outcome outcomes[DETAILS_MAX];
static size_t noutcomes;

static void note_outcome(const struct run *r)
{
    for (size_t i = 0; i < noutcomes; i++) {
        struct outcome *o = &outcomes[i];
        if (o->rc == r->rc && o->stage == r->stage && strcmp(o->detail, r->detail) == 0) {
            o->count++;
            o->wsc += r->failed_call.kind == KIND_WSC;
            o->lib += r->failed_call.kind == KIND_LIB;
            return;
        }
    }
    if (noutcomes == DETAILS_MAX)
        return;
    struct outcome *o = &outcomes[noutcomes++];
    o->stage = r->stage;
    o->rc = r->rc;
    snprintf(o->detail, sizeof(o->detail), "%s", r->detail);
    o->count = 1;
    o->wsc = r->failed_call.kind == KIND_WSC;
    o->lib = r->failed_call.kind == KIND_LIB;
    o->first_k = r->fail_at;
}

/* The k to try: WSC_TLS_ALLOC_ONLY ("k", "a-b", comma-separated), else every
 * k in 1..last, or with WSC_TLS_ALLOC_STEP=s every s-th plus the first 200 and
 * the last 100. */
static bool chosen(size_t k, size_t last)
{
    const char *only = getenv("WSC_TLS_ALLOC_ONLY");
    if (only && only[0]) {
        for (const char *p = only; *p;) {
            char *end;
            unsigned long a = strtoul(p, &end, 10), b = a;
            if (*end == '-')
                b = strtoul(end + 1, &end, 10);
            if (k >= a && k <= b)
                return true;
            if (end == p || *end != ',')
                break;
            p = end + 1;
        }
        return false;
    }
    const char *s = getenv("WSC_TLS_ALLOC_STEP");
    unsigned long step = s && s[0] ? strtoul(s, NULL, 10) : 1;
    if (step <= 1)
        return true;
    return k <= 200 || k + 100 > last || k % step == 0;
}

static void every_allocation_failure_ends_cleanly(void **state)
{
    (void)state;
    snprintf(url, sizeof(url), "wss://localhost:%s/info", env_or_fail("WSC_TEST_PORT"));
    snprintf(ca_file, sizeof(ca_file), "%s/ca.pem", env_or_fail("WSC_TLS_CERTS"));
    bool verbose = getenv("WSC_TLS_ALLOC_VERBOSE") != NULL;
    if (!lib_counted)
        print_message("%s (%s) allocates outside wsc's hooks and is not routed here: "
                      "only wsc's own allocations are failed\n",
                      lib_name, wsc_tls_backend());

    /* The warm-up: the TLS library's one-time state is made here, uncounted. */
    struct run r;
    run_once(0, false, &r);
    if (r.rc != 0 || r.wrong_message)
        fail_msg("the warm-up session failed: %s: %d %s", r.stage, r.rc, r.detail);

    struct run clean[2];
    for (int i = 0; i < 2; i++) {
        run_once(0, true, &clean[i]);
        if (clean[i].rc != 0 || problem(&clean[i]))
            fail_msg("clean session %d: %s: %d %s (%s)", i + 1, clean[i].stage, clean[i].rc,
                     clean[i].detail, problem(&clean[i]) ? problem(&clean[i]) : "");
    }
    size_t total = clean[0].calls, last = total + SLACK;
    print_message("%s over %s: %zu allocation calls (%zu through wsc's hooks, %zu by %s; "
                  "a second clean run: %zu = %zu + %zu), %llu ms per clean run\n",
                  url, wsc_tls_backend(), total, clean[0].wsc_calls, clean[0].lib_calls,
                  lib_name, clean[1].calls, clean[1].wsc_calls, clean[1].lib_calls,
                  (unsigned long long)clean[0].ms);

    size_t runs = 0, hit = 0, missed = 0, bad = 0, enomem = 0, etls = 0;
    size_t absorbed[3] = {0}; /* by kind */
    uint64_t t0 = wsc_platform_now_ms(), slowest = 0;
    size_t slowest_k = 0;
    for (size_t k = 1; k <= last; k++) {
        if (!chosen(k, last))
            continue;
        run_once(k, true, &r);
        runs++;
        if (r.ms > slowest) {
            slowest = r.ms;
            slowest_k = k;
        }
        const char *why = problem(&r);
        if (why) {
            if (bad++ < PROBLEMS_SHOWN)
                print_error("failing allocation %zu (%s): %s\n", k,
                            r.failed ? call_text(&r.failed_call) : "not reached", why);
        } else if (!r.failed) {
            missed++;
        } else if (r.rc == 0) {
            absorbed[r.failed_call.kind]++;
            if (verbose)
                print_message("  %zu (%s): absorbed, the session completed\n", k,
                              call_text(&r.failed_call));
        } else {
            hit++;
            enomem += r.rc == WSC_ENOMEM;
            etls += r.rc == WSC_ETLS;
            note_outcome(&r);
        }
        if (verbose && r.failed && r.rc != 0)
            print_message("  %zu (%s): %s: %s\n", k, call_text(&r.failed_call), r.stage,
                          r.detail);
    }
    uint64_t elapsed = wsc_platform_now_ms() - t0;

    print_message(
        "%zu runs in %llu ms (slowest %llu ms, k=%zu): %zu ended in a clean error "
        "(%zu WSC_ENOMEM, %zu WSC_ETLS); %zu completed correctly though an "
        "allocation failed (%zu of %s's, %zu of wsc's); %zu completed with k beyond "
        "their count; %zu with problems\n",
        runs, (unsigned long long)elapsed, (unsigned long long)slowest, slowest_k, hit,
        enomem, etls, absorbed[KIND_LIB] + absorbed[KIND_WSC], absorbed[KIND_LIB], lib_name,
        absorbed[KIND_WSC], missed, bad);
    print_message(
        "distinct outcomes (count: wsc hook / %s; first k; call, code, detail):\n",
        lib_name);
    for (size_t i = 0; i < noutcomes; i++)
        print_message("  %4zu: %zu/%zu k=%-5zu %s %d %s\n", outcomes[i].count,
                      outcomes[i].wsc, outcomes[i].lib, outcomes[i].first_k,
                      outcomes[i].stage, outcomes[i].rc, outcomes[i].detail);

    /* Nothing a failure left behind breaks the next connection. */
    run_once(0, true, &r);
    if (r.rc != 0 || problem(&r))
        fail_msg("the clean session after the failures: %s: %d %s (%s)", r.stage, r.rc,
                 r.detail, problem(&r) ? problem(&r) : "");

    /* What runs left to OpenSSL must be its global state: freed by
     * OPENSSL_cleanup(), unlike anything a connection forgot to free. */
    size_t left = 0, kept = 0, used = 0;
    char kept_what[400] = "";
    for (size_t i = 0; i < SLOTS; i++)
        left += table[i].p != NULL && table[i].left_by != 0;
    lib_cleanup();
    for (size_t i = 0; i < SLOTS; i++) {
        const struct block *b = &table[i];
        if (b->p == NULL || b->left_by == 0)
            continue;
        if (kept++ < 5) {
            int w = b->left_by == CLEAN_RUN
                        ? snprintf(kept_what + used, sizeof(kept_what) - used,
                                   "%sa clean run: ", used ? "; " : "")
                        : snprintf(kept_what + used, sizeof(kept_what) - used,
                                   "%sk=%zu: ", used ? "; " : "", b->left_by);
            if (w > 0 && (size_t)w < sizeof(kept_what) - used)
                used += (size_t)w;
            describe_block(kept_what, sizeof(kept_what), &used, b);
        }
    }
    if (lib_has_global_state)
        print_message("%zu runs left %zu blocks to %s's global state; %zu of them "
                      "outlived its cleanup\n",
                      runs_leaving, left, lib_name, kept);
    if (kept)
        print_error("leaked (still live after the library's cleanup): %s\n", kept_what);
    assert_int_equal(kept, 0);
    assert_int_equal(bad, 0);
    assert_true(runs > 0);
}

int main(void)
{
    /* Before anything else: OpenSSL refuses new functions once it allocated. */
    if (!route_lib_allocations()) {
        fprintf(stderr, "tls_alloc_test: CRYPTO_set_mem_functions() refused: OpenSSL "
                        "allocated before main()\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_allocation_failure_ends_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
