/* SHA-1 against FIPS 180-4 example vectors and one-shot/incremental agreement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/wsc_internal.h"

static void to_hex(const uint8_t d[WSC__SHA1_LEN], char out[2 * WSC__SHA1_LEN + 1])
{
    for (size_t i = 0; i < WSC__SHA1_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void digest_hex(const void *msg, size_t len, char out[2 * WSC__SHA1_LEN + 1])
{
    struct wsc__sha1 s;
    uint8_t d[WSC__SHA1_LEN];
    wsc__sha1_init(&s);
    wsc__sha1_update(&s, msg, len);
    wsc__sha1_final(&s, d);
    to_hex(d, out);
}

/* Feeds msg in chunks of the given sizes, cycling through them. */
static void digest_chunked_hex(const uint8_t *msg, size_t len, const size_t *sizes,
                               size_t nsizes, char out[2 * WSC__SHA1_LEN + 1])
{
    struct wsc__sha1 s;
    uint8_t d[WSC__SHA1_LEN];
    size_t off = 0, k = 0;
    wsc__sha1_init(&s);
    while (off < len) {
        size_t n = sizes[k++ % nsizes];
        if (n > len - off)
            n = len - off;
        wsc__sha1_update(&s, msg + off, n);
        off += n;
    }
    wsc__sha1_final(&s, d);
    to_hex(d, out);
}

/* FIPS 180-4 example messages (the NIST "SHA1.pdf" examples and the SHA
 * validation system's short messages). */
static const struct {
    const char *msg;
    const char *digest;
} fips_vectors[] = {
    {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
    /* 448 bits: padding must spill into a second block. */
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
    /* 896 bits. */
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmno"
     "pqrsmnopqrstnopqrstu",
     "a49b2446a02c645bf419f995b67091253a04a259"},
};

static void test_fips_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(fips_vectors) / sizeof(fips_vectors[0]); i++) {
        char hex[41];
        digest_hex(fips_vectors[i].msg, strlen(fips_vectors[i].msg), hex);
        assert_string_equal(hex, fips_vectors[i].digest);
    }
}

static void test_million_a_in_odd_chunks(void **state)
{
    static const size_t sizes[] = {1, 3, 7, 13, 61, 64, 65, 127, 997, 4093};
    const size_t len = 1000000;
    uint8_t *msg = malloc(len);
    char hex[41];
    (void)state;
    assert_non_null(msg);
    memset(msg, 'a', len);
    digest_chunked_hex(msg, len, sizes, sizeof(sizes) / sizeof(sizes[0]), hex);
    assert_string_equal(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    digest_hex(msg, len, hex);
    assert_string_equal(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(msg);
}

/*
 * Lengths around the block (64) and padding (56) boundaries, where the length
 * field either fits in the last block or needs another one. Message byte i is
 * (7 * i + 3) mod 256; digests computed with an independent implementation
 * (Python hashlib).
 */
static const struct {
    size_t len;
    const char *digest;
} boundary_vectors[] = {
    {0, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    {1, "9842926af7ca0a8cca12604f945414f07b01e13d"},
    {55, "ddf57317ef34bfee3b6df83d359098930eb278bc"},
    {56, "a0d492bb0fc889d0eca3bc137066ab6f4f74f369"},
    {57, "11a02dcf95859677a62e75024067c22b165d890f"},
    {63, "c55856749bef509bdfe6bfebfc7bf4e793e82132"},
    {64, "bede92be29c3874e1b54ddc77988d606fc857a8e"},
    {65, "b05a80522b053d6dc7e0a517d0e70212c7dad11f"},
    {119, "504e27376a6e0f0dba8295b85cb25dc4dfa17d23"},
    {120, "82134b02fb3f702491be9bed581eeab59334acb2"},
    {127, "34d5e582029e9b9b85b2febe31da3db7cdabaaea"},
    {128, "a09133e6730ffe899efb70204cb5646cd5dc24ee"},
    {1000, "4231a8a50a10fa9758db8ec71fdef855b751048a"},
};

static void test_boundary_lengths_every_split(void **state)
{
    uint8_t msg[1000];
    (void)state;
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(7 * i + 3);

    for (size_t v = 0; v < sizeof(boundary_vectors) / sizeof(boundary_vectors[0]); v++) {
        size_t len = boundary_vectors[v].len;
        const char *want = boundary_vectors[v].digest;
        char hex[41];
        static const size_t one[] = {1};
        static const size_t odd[] = {5, 63, 1, 64, 129, 2};

        digest_hex(msg, len, hex);
        assert_string_equal(hex, want);
        digest_chunked_hex(msg, len, one, 1, hex);
        assert_string_equal(hex, want);
        digest_chunked_hex(msg, len, odd, sizeof(odd) / sizeof(odd[0]), hex);
        assert_string_equal(hex, want);

        /* Every split in two, with an empty update at the split as well. */
        for (size_t cut = 0; cut <= len; cut++) {
            struct wsc__sha1 s;
            uint8_t d[WSC__SHA1_LEN];
            wsc__sha1_init(&s);
            wsc__sha1_update(&s, msg, cut);
            wsc__sha1_update(&s, msg + cut, 0);
            wsc__sha1_update(&s, msg + cut, len - cut);
            wsc__sha1_final(&s, d);
            to_hex(d, hex);
            if (strcmp(hex, want) != 0)
                print_message("len %zu split at %zu\n", len, cut);
            assert_string_equal(hex, want);
        }
    }
}

/* A context is reusable after final: it starts a fresh digest. */
static void test_context_reusable_after_final(void **state)
{
    struct wsc__sha1 s;
    uint8_t d[WSC__SHA1_LEN];
    char hex[41];
    (void)state;
    wsc__sha1_init(&s);
    wsc__sha1_update(&s, "xyz", 3);
    wsc__sha1_final(&s, d);
    wsc__sha1_update(&s, "abc", 3);
    wsc__sha1_final(&s, d);
    to_hex(d, hex);
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_vectors),
        cmocka_unit_test(test_million_a_in_odd_chunks),
        cmocka_unit_test(test_boundary_lengths_every_split),
        cmocka_unit_test(test_context_reusable_after_final),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
