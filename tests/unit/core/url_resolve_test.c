/* Redirect targets resolved against a base URL, and userinfo percent-decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "wsc/wsc_core.h"

struct resolve_case {
    const char *base;
    const char *location;
    int rc;
    const char *want;
};

static void locations_resolve_against_the_base(void **state)
{
    (void)state;
    static const struct resolve_case cases[] = {
        {"ws://a.example/x/y?q=1", "ws://b.example:81/z", 0, "ws://b.example:81/z"},
        {"ws://a.example/x", "WSS://b.example/z", 0, "WSS://b.example/z"},
        {"ws://a.example/x", "http://b.example/z?k", 0, "ws://b.example/z?k"},
        {"ws://a.example/x", "https://b.example/z", 0, "wss://b.example/z"},
        {"ws://a.example/x", "HTTPS://b.example", 0, "wss://b.example"},
        {"wss://a.example/x", "//c.example/p", 0, "wss://c.example/p"},
        {"ws://a.example:8080/x/y", "/other", 0, "ws://a.example:8080/other"},
        {"ws://a.example/x/y?q=1", "z", 0, "ws://a.example:80/x/z"},
        {"ws://a.example/x/y?q=1", "?r=2", 0, "ws://a.example:80/x/y?r=2"},
        {"ws://a.example/", "z?s", 0, "ws://a.example:80/z?s"},
        {"ws://[::1]:9/x", "/v6", 0, "ws://[::1]:9/v6"},
        /* The zone goes back into the URL as "%25" (found by url_fuzz). */
        {"wss://[fe80::1%25eth0]:8443/x/", "z", 0, "wss://[fe80::1%25eth0]:8443/x/z"},
        {"ws://[fe80::a%25en0]/", "?q", 0, "ws://[fe80::a%25en0]:80/?q"},
        {"wss://a.example/x", "/p#frag", 0, "wss://a.example:443/p"},
        {"ws://a.example/x", "", 0, "ws://a.example:80/x"},
        {"ws://a.example/x", "ftp://b.example/", WSC_EURL, ""},
        {"ws://a.example/x", "mailto:a@b", WSC_EURL, ""},
        {"ws://a.example/x", "/a b", WSC_EURL, ""},
        {"ws://a.example/x", "/a\r\nX: y", WSC_EURL, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wsc_url base;
        assert_int_equal(wsc_url_parse(cases[i].base, &base), 0);
        char out[256];
        int rc = wsc_url_resolve(&base, cases[i].location, strlen(cases[i].location), out,
                                 sizeof(out));
        if (rc != cases[i].rc || (rc == 0 && strcmp(out, cases[i].want) != 0))
            fail_msg("%s + '%s': got %d '%s', want %d '%s'", cases[i].base, cases[i].location,
                     rc, out, cases[i].rc, cases[i].want);
        if (rc == 0) {
            struct wsc_url again;
            assert_int_equal(wsc_url_parse(out, &again), 0); /* followable as is */
        }
    }
}

static void resolve_reports_a_small_buffer(void **state)
{
    (void)state;
    struct wsc_url base;
    assert_int_equal(wsc_url_parse("ws://a.example/x", &base), 0);
    char out[24];
    assert_int_equal(wsc_url_resolve(&base, "/a-long-path-here", 17, out, sizeof(out)),
                     WSC_ENOBUFS);
    assert_int_equal(wsc_url_resolve(&base, "/ok", 3, out, sizeof(out)), 0);
    assert_string_equal(out, "ws://a.example:80/ok");
}

/* A Location is length-delimited: its last byte may be the last readable
 * one. Put it just before a PROT_NONE page, so a read past it faults (found by
 * url_fuzz: a scheme check read loc[len]). */
static void location_is_read_only_within_its_length(void **state)
{
    (void)state;
    static const char *const locations[] = {"z", "/p", "?q", "rel/x", "ftp:", "ws://h"};
    long page = sysconf(_SC_PAGESIZE);
    assert_true(page > 0);
    char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(mprotect(map + page, (size_t)page, PROT_NONE), 0);
    struct wsc_url base;
    assert_int_equal(wsc_url_parse("ws://a.example/x/y", &base), 0);
    for (size_t i = 0; i < sizeof(locations) / sizeof(locations[0]); i++) {
        size_t n = strlen(locations[i]);
        char *loc = map + page - n;
        memcpy(loc, locations[i], n);
        char out[128], want[128];
        int rc = wsc_url_resolve(&base, loc, n, out, sizeof(out));
        int want_rc = wsc_url_resolve(&base, locations[i], n, want, sizeof(want));
        assert_int_equal(rc, want_rc);
        if (rc == 0)
            assert_string_equal(out, want);
    }
    munmap(map, (size_t)page * 2);
}

static void userinfo_is_percent_decoded(void **state)
{
    (void)state;
    char out[32];
    size_t n;
    assert_int_equal(wsc_url_percent_decode("us%65r:p%40ss%3a", 16, out, sizeof(out), &n), 0);
    assert_int_equal(n, 10);
    assert_memory_equal(out, "user:p@ss:", 10);
    assert_int_equal(wsc_url_percent_decode("bad%4", 5, out, sizeof(out), &n), WSC_EURL);
    assert_int_equal(wsc_url_percent_decode("bad%zz", 6, out, sizeof(out), &n), WSC_EURL);
    assert_int_equal(wsc_url_percent_decode("abc", 3, out, 2, &n), WSC_ENOBUFS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(locations_resolve_against_the_base),
        cmocka_unit_test(resolve_reports_a_small_buffer),
        cmocka_unit_test(location_is_read_only_within_its_length),
        cmocka_unit_test(userinfo_is_percent_decoded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
