/* base64 (RFC 4648) vectors, the RFC 6455 accept example, and wsc__ieq. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/wsc_internal.h"

/* Encodes into a buffer with guard bytes on both sides and checks that exactly
 * WSC__BASE64_LEN(len) bytes were written and nothing else was touched. */
static void encode_checked(const uint8_t *in, size_t len, char *out, size_t out_cap)
{
    size_t want = WSC__BASE64_LEN(len);
    char *buf = malloc(want + 2);
    size_t n;
    assert_non_null(buf);
    assert_true(want < out_cap);
    memset(buf, '#', want + 2);
    n = wsc__base64_encode(in, len, buf + 1);
    assert_int_equal(n, want);
    assert_int_equal(buf[0], '#');
    assert_int_equal(buf[want + 1], '#');
    memcpy(out, buf + 1, want);
    out[want] = '\0';
    free(buf);
}

static const struct {
    const char *in_hex; /* input bytes, as hex */
    const char *out;
} vectors[] = {
    /* RFC 4648 10. */
    {"", ""},
    {"66", "Zg=="},
    {"666f", "Zm8="},
    {"666f6f", "Zm9v"},
    {"666f6f62", "Zm9vYg=="},
    {"666f6f6261", "Zm9vYmE="},
    {"666f6f626172", "Zm9vYmFy"},
    /* The last two alphabet characters and the zero value. */
    {"fbff", "+/8="},
    {"ff", "/w=="},
    {"fbefbe", "++++"},
    {"00", "AA=="},
    {"000000", "AAAA"},
    /* A 16-byte nonce becomes a 24-character Sec-WebSocket-Key (RFC 6455 4.1). */
    {"000102030405060708090a0b0c0d0e0f", "AAECAwQFBgcICQoLDA0ODw=="},
};

static size_t from_hex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        char byte[3] = {hex[0], hex[1], '\0'};
        out[n++] = (uint8_t)strtoul(byte, NULL, 16);
    }
    return n;
}

static void test_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        uint8_t in[64];
        char out[128];
        size_t n = from_hex(vectors[i].in_hex, in);
        encode_checked(in, n, out, sizeof(out));
        assert_string_equal(out, vectors[i].out);
    }
}

/* An independent decoder for the round trip below. */
static int dec_char(char c)
{
    const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = strchr(a, c);
    return (c != '\0' && p) ? (int)(p - a) : -1;
}

static size_t decode(const char *s, size_t len, uint8_t *out)
{
    size_t n = 0;
    assert_int_equal(len % 4, 0);
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++)
            v[k] = s[i + k] == '=' ? 0 : dec_char(s[i + k]);
        for (int k = 0; k < 4; k++)
            assert_true(v[k] >= 0);
        uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
                     (uint32_t)v[3];
        out[n++] = (uint8_t)(w >> 16);
        if (s[i + 2] != '=')
            out[n++] = (uint8_t)(w >> 8);
        if (s[i + 3] != '=')
            out[n++] = (uint8_t)w;
    }
    return n;
}

static void test_round_trip_all_lengths(void **state)
{
    uint8_t in[300], back[300];
    char out[WSC__BASE64_LEN(300) + 1];
    uint32_t x = 12345;
    (void)state;
    for (size_t i = 0; i < sizeof(in); i++) {
        x = x * 1103515245u + 12345u;
        in[i] = (uint8_t)(x >> 16);
    }
    for (size_t len = 0; len <= sizeof(in); len++) {
        encode_checked(in, len, out, sizeof(out));
        /* Padding only at the end, and only as much as RFC 4648 4 says. */
        size_t pad = (3 - len % 3) % 3;
        for (size_t k = 0; k < WSC__BASE64_LEN(len); k++)
            assert_true((out[k] == '=') == (k >= WSC__BASE64_LEN(len) - pad));
        assert_int_equal(decode(out, WSC__BASE64_LEN(len), back), len);
        assert_memory_equal(back, in, len);
    }
}

/* RFC 6455 1.3: the worked Sec-WebSocket-Accept example. */
static void test_rfc6455_accept_example(void **state)
{
    static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    struct wsc__sha1 s;
    uint8_t digest[WSC__SHA1_LEN];
    char accept[WSC__BASE64_LEN(WSC__SHA1_LEN) + 1];
    (void)state;
    wsc__sha1_init(&s);
    wsc__sha1_update(&s, key, strlen(key));
    wsc__sha1_update(&s, guid, strlen(guid));
    wsc__sha1_final(&s, digest);
    assert_int_equal(WSC__BASE64_LEN(WSC__SHA1_LEN), WSC_HANDSHAKE_ACCEPT_LEN);
    encode_checked(digest, sizeof(digest), accept, sizeof(accept));
    assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_int_equal(WSC__BASE64_LEN(WSC_HANDSHAKE_NONCE_LEN), WSC_HANDSHAKE_KEY_LEN);
}

static const struct {
    const char *a;
    size_t alen; /* bytes of a compared; may stop short of its end */
    const char *b;
    bool equal;
} ieq_cases[] = {
    {"websocket", 9, "websocket", true},
    {"WebSocket", 9, "websocket", true},
    {"UPGRADE", 7, "upgrade", true},
    {"Sec-WebSocket-Accept", 20, "sec-websocket-accept", true},
    {"", 0, "", true},
    {"upgrade, keep-alive", 7, "Upgrade", true}, /* a prefix of a longer buffer */
    {"websocket", 8, "websocket", false},        /* a shorter than b */
    {"websockets", 10, "websocket", false},      /* a longer than b */
    {"websocket", 9, "", false},
    {"", 0, "x", false},
    {"web-ocket", 9, "web_ocket", false},
    /* Only ASCII letters fold: '@' (0x40) and '`' (0x60) differ by 32 too. */
    {"@", 1, "`", false},
    {"[", 1, "{", false},
    {"\xc4", 1, "\xe4", false}, /* Latin-1 'Ä'/'ä' are not folded */
    {"a\0b", 3, "a", false},    /* a NUL inside a never matches b's end */
};

static void test_ieq(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ieq_cases) / sizeof(ieq_cases[0]); i++) {
        bool got = wsc__ieq(ieq_cases[i].a, ieq_cases[i].alen, ieq_cases[i].b);
        if (got != ieq_cases[i].equal)
            print_message("ieq case %zu (\"%s\", %zu, \"%s\")\n", i, ieq_cases[i].a,
                          ieq_cases[i].alen, ieq_cases[i].b);
        assert_int_equal(got, ieq_cases[i].equal);
    }
}

/* b is read only up to its terminator even when a is longer: with b at the very
 * end of its allocation, ASan would catch an over-read. */
static void test_ieq_stops_at_b_terminator(void **state)
{
    char *b = malloc(2);
    (void)state;
    assert_non_null(b);
    memcpy(b, "x", 2);
    assert_false(wsc__ieq("xyzzy", 5, b));
    assert_true(wsc__ieq("X", 1, b));
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_round_trip_all_lengths),
        cmocka_unit_test(test_rfc6455_accept_example),
        cmocka_unit_test(test_ieq),
        cmocka_unit_test(test_ieq_stops_at_b_terminator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
