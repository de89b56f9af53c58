/* ws:// and wss:// URL parsing: every field of good URLs, a reason for bad ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wsc/wsc.h"

static const struct {
    const char *text;
    bool tls;
    const char *host;
    bool ipv6;
    uint16_t port;
    bool port_explicit;
    const char *resource;
    const char *userinfo;
} good[] = {
    {"ws://example.com", false, "example.com", false, 80, false, "/", ""},
    {"wss://example.com", true, "example.com", false, 443, false, "/", ""},
    {"ws://example.com/", false, "example.com", false, 80, false, "/", ""},
    {"wss://EXAMPLE.com:8443/a/b?c=d", true, "example.com", false, 8443, true, "/a/b?c=d", ""},
    {"ws://127.0.0.1:9001", false, "127.0.0.1", false, 9001, true, "/", ""},
    {"ws://[::1]:8080/x", false, "::1", true, 8080, true, "/x", ""},
    {"ws://[fe80::1%25eth0]/", false, "fe80::1%eth0", true, 80, false, "/", ""},
    {"wss://[2001:DB8::A]", true, "2001:db8::a", true, 443, false, "/", ""},
    {"ws://[::ffff:192.0.2.1]:1/", false, "::ffff:192.0.2.1", true, 1, true, "/", ""},
    {"ws://[1:2:3:4:5:6:7:8]", false, "1:2:3:4:5:6:7:8", true, 80, false, "/", ""},
    {"ws://[::]", false, "::", true, 80, false, "/", ""},
    {"ws://user:pw@host/", false, "host", false, 80, false, "/", "user:pw"},
    {"ws://user@host:81", false, "host", false, 81, true, "/", "user"},
    {"ws://a@b:p@w@host/", false, "host", false, 80, false, "/", "a@b:p@w"},
    {"ws://@host", false, "host", false, 80, false, "/", ""},
    {"ws://host?x=1", false, "host", false, 80, false, "/?x=1", ""},
    {"ws://host:90?x=1", false, "host", false, 90, true, "/?x=1", ""},
    {"ws://host/p?", false, "host", false, 80, false, "/p?", ""},
    {"ws://host/a%20b/?q=%2F&r=[x]", false, "host", false, 80, false, "/a%20b/?q=%2F&r=[x]",
     ""},
    {"WS://H", false, "h", false, 80, false, "/", ""},
    {"WsS://Ab-C.d_e.Example.", true, "ab-c.d_e.example.", false, 443, false, "/", ""},
    {"ws://h:65535", false, "h", false, 65535, true, "/", ""},
    {"ws://h:0080", false, "h", false, 80, true, "/", ""},
    {"ws://0.0.0.0", false, "0.0.0.0", false, 80, false, "/", ""},
    {"ws://255.255.255.255", false, "255.255.255.255", false, 80, false, "/", ""},
    {"ws://1.2.3.4.example", false, "1.2.3.4.example", false, 80, false, "/", ""},
};

static void check_good(size_t i, const struct wsc_url *u)
{
    assert_null(u->error);
    assert_int_equal(u->tls, good[i].tls);
    assert_string_equal(u->host, good[i].host);
    assert_int_equal(u->ipv6, good[i].ipv6);
    assert_int_equal(u->port, good[i].port);
    assert_int_equal(u->port_explicit, good[i].port_explicit);
    assert_string_equal(u->resource, good[i].resource);
    assert_string_equal(u->userinfo, good[i].userinfo);
}

static void test_good_urls(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct wsc_url u;
        int r;
        /* Garbage in the struct must not leak into the result. */
        memset(&u, 0x5a, sizeof(u));
        r = wsc_url_parse(good[i].text, &u);
        if (r != 0)
            print_message("'%s' rejected: %s\n", good[i].text, u.error);
        assert_int_equal(r, 0);
        check_good(i, &u);
    }
}

static const struct {
    const char *text;
    const char *reason; /* a word the error must contain */
} bad[] = {
    {"ws://host:0", "port"},
    {"ws://host:65536", "port"},
    {"ws://host:99999999999999999999", "port"},
    {"ws://host:", "port"},
    {"ws://host:/x", "port"},
    {"ws://host:8a", "port"},
    {"ws://host:-1", "port"},
    {"ws://host:80:81", "port"},
    {"ws://[::1]:", "port"},
    {"ws://", "host"},
    {"ws:///path", "host"},
    {"ws://:80/", "host"},
    {"ws://user@", "host"},
    {"ws://user@:80", "host"},
    {"http://x", "'http'"},
    {"HTTPS://x", "'https'"},
    {"ftp://x", "scheme"},
    {"wss+x://x", "scheme"},
    {"websocket://x", "scheme"},
    {"example.com", "scheme"},
    {"//example.com", "scheme"},
    {"", "scheme"},
    {"1ws://x", "scheme"},
    {"ws:example.com", "//"},
    {"ws:/example.com", "//"},
    {"ws:", "//"},
    {"ws://host/#frag", "fragment"},
    {"ws://host#", "fragment"},
    {"ws://host/p?q#f", "fragment"},
    {"ws://ho st", "space"},
    {"ws://host/a b", "space"},
    {" ws://host", "space"},
    {"ws://host/\r\nX: y", "control"},
    {"ws://host/\t", "control"},
    {"ws://host/\x7f", "control"},
    {"ws://h\xc3\xa9st/", "non-ASCII"},
    {"ws://host/caf\xc3\xa9", "non-ASCII"},
    {"ws://[::1", "']'"},
    {"ws://[::1]x", "after"},
    {"ws://[]", "IPv6"},
    {"ws://[:::1]", "IPv6"},
    {"ws://[1::2::3]", "IPv6"},
    {"ws://[1:2:3:4:5:6:7:8:9]", "IPv6"},
    {"ws://[1:2:3:4:5:6:7]", "IPv6"},
    {"ws://[12345::1]", "IPv6"},
    {"ws://[::1:]", "IPv6"},
    {"ws://[:1::]", "IPv6"},
    {"ws://[g::1]", "IPv6"},
    {"ws://[::ffff:1.2.3]", "IPv6"},
    {"ws://[::ffff:1.2.3.256]", "IPv6"},
    {"ws://[127.0.0.1]", "IPv6"},
    {"ws://[fe80::1%eth0]", "%25"},
    {"ws://[fe80::1%25]", "zone"},
    {"ws://[fe80::1%25eth!0]", "zone"},
    {"ws://ho%41st", "host"},
    {"ws://host!/", "host"},
    {"ws://ho\\st/", "host"},
    {"ws://256.0.0.1", "IPv4"},
    {"ws://1.2.3", "IPv4"},
    {"ws://1.2.3.4.", "IPv4"},
    {"ws://010.0.0.1", "IPv4"},
    {"ws://12345", "IPv4"},
    {"ws://1..2.3", "IPv4"},
};

static void test_bad_urls(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct wsc_url u;
        int r;
        memset(&u, 0x5a, sizeof(u));
        r = wsc_url_parse(bad[i].text, &u);
        if (r != WSC_EURL || u.error == NULL || strstr(u.error, bad[i].reason) == NULL)
            print_message("'%s': r=%d error=%s (want '%s')\n", bad[i].text, r,
                          r == 0 ? "(none)" : u.error ? u.error : "(null)", bad[i].reason);
        assert_int_equal(r, WSC_EURL);
        assert_non_null(u.error);
        assert_non_null(strstr(u.error, bad[i].reason));
        /* A failed parse leaves no half-filled fields behind. */
        assert_string_equal(u.host, "");
        assert_string_equal(u.resource, "");
        assert_string_equal(u.userinfo, "");
        assert_int_equal(u.port, 0);
    }
}

/* Builds "ws://" + prefix + n copies of c + suffix in a heap block. */
static char *make_url(const char *prefix, char c, size_t n, const char *suffix)
{
    size_t plen = strlen(prefix), slen = strlen(suffix);
    char *s = malloc(5 + plen + n + slen + 1);
    assert_non_null(s);
    memcpy(s, "ws://", 5);
    memcpy(s + 5, prefix, plen);
    memset(s + 5 + plen, c, n);
    memcpy(s + 5 + plen + n, suffix, slen + 1);
    return s;
}

/* Each field is accepted up to its buffer size minus the NUL, and one more
 * byte is a clean error rather than a truncation. */
static void test_field_length_limits(void **state)
{
    struct wsc_url u;
    char *s;
    (void)state;

    s = make_url("", 'h', WSC_URL_HOST_MAX - 1, "");
    assert_int_equal(wsc_url_parse(s, &u), 0);
    assert_int_equal(strlen(u.host), WSC_URL_HOST_MAX - 1);
    free(s);
    s = make_url("", 'h', WSC_URL_HOST_MAX, "");
    assert_int_equal(wsc_url_parse(s, &u), WSC_EURL);
    assert_non_null(strstr(u.error, "too long"));
    free(s);

    s = make_url("", 'u', WSC_URL_USERINFO_MAX - 1, "@h");
    assert_int_equal(wsc_url_parse(s, &u), 0);
    assert_int_equal(strlen(u.userinfo), WSC_URL_USERINFO_MAX - 1);
    free(s);
    s = make_url("", 'u', WSC_URL_USERINFO_MAX, "@h");
    assert_int_equal(wsc_url_parse(s, &u), WSC_EURL);
    assert_non_null(strstr(u.error, "too long"));
    free(s);

    /* "/" plus WSC_URL_RESOURCE_MAX - 2 bytes fills the buffer exactly. */
    s = make_url("h/", 'r', WSC_URL_RESOURCE_MAX - 2, "");
    assert_int_equal(wsc_url_parse(s, &u), 0);
    assert_int_equal(strlen(u.resource), WSC_URL_RESOURCE_MAX - 1);
    free(s);
    s = make_url("h/", 'r', WSC_URL_RESOURCE_MAX - 1, "");
    assert_int_equal(wsc_url_parse(s, &u), WSC_EURL);
    assert_non_null(strstr(u.error, "too long"));
    free(s);
    /* A query alone gains a '/', which counts against the limit too. */
    s = make_url("h?", 'q', WSC_URL_RESOURCE_MAX - 3, "");
    assert_int_equal(wsc_url_parse(s, &u), 0);
    assert_int_equal(strlen(u.resource), WSC_URL_RESOURCE_MAX - 1);
    free(s);
    s = make_url("h?", 'q', WSC_URL_RESOURCE_MAX - 2, "");
    assert_int_equal(wsc_url_parse(s, &u), WSC_EURL);
    free(s);

    /* An IPv6 literal with a zone, one byte too long. */
    s = make_url("[fe80::1%25", 'z', WSC_URL_HOST_MAX - 8, "]");
    assert_int_equal(wsc_url_parse(s, &u), WSC_EURL);
    assert_non_null(strstr(u.error, "too long"));
    free(s);
    s = make_url("[fe80::1%25", 'z', WSC_URL_HOST_MAX - 9, "]");
    assert_int_equal(wsc_url_parse(s, &u), 0);
    assert_int_equal(strlen(u.host), WSC_URL_HOST_MAX - 1);
    free(s);
}

static void test_null_arguments(void **state)
{
    struct wsc_url u;
    (void)state;
    assert_int_equal(wsc_url_parse(NULL, &u), WSC_EURL);
    assert_non_null(u.error);
    assert_int_equal(wsc_url_parse("ws://h", NULL), WSC_EINVAL);
}

/* Every error is a sentence fragment a user can act on: non-empty, and every
 * bad case above gets some reason, never a generic one shared by all. */
static void test_errors_are_specific(void **state)
{
    const char *first = NULL;
    bool differ = false;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct wsc_url u;
        assert_int_equal(wsc_url_parse(bad[i].text, &u), WSC_EURL);
        assert_true(strlen(u.error) > 10);
        if (first == NULL)
            first = u.error;
        else if (strcmp(first, u.error) != 0)
            differ = true;
    }
    assert_true(differ);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_urls),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_field_length_limits),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_errors_are_specific),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
