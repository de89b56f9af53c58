/*
 * HTTP CONNECT proxies: proxy URL parsing, the choice of proxy from curl's
 * environment variables and no_proxy, and the CONNECT exchange against a
 * scripted in-memory proxy.
 *
 * Exchange cases are the proxy's byte stream (reply head plus whatever follows
 * it) run through wsc_test_each_chunking(), at several input-buffer sizes. The
 * log holds the outcome and, on success, the tunnel as the next layer sees it:
 * the bytes wsc_proxy_connect() left in the buffer followed by everything the
 * transport still delivers. Each case runs twice: through wsc_proxy_connect(),
 * and through wsc_proxy_start()/wsc_proxy_step() with no waits, as an event
 * loop drives them. That text must be identical for every chunking
 * and buffer size, which is the no-loss rule: not one byte of the tunnel may
 * be dropped, duplicated or reordered at the proxy boundary.
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
#include "wsc/wsc_proxy.h"

/* ---- proxy URLs --------------------------------------------------------- */

static const struct {
    const char *text;
    const char *host;
    bool ipv6;
    uint16_t port;
    const char *userinfo;
} good_proxies[] = {
    {"http://proxy.example.com:3128", "proxy.example.com", false, 3128, ""},
    {"http://proxy.example.com", "proxy.example.com", false, 1080, ""},
    {"http://proxy.example.com/", "proxy.example.com", false, 1080, ""},
    {"HTTP://Proxy.Example.COM:8080/", "proxy.example.com", false, 8080, ""},
    {"proxy:3128", "proxy", false, 3128, ""},
    {"proxy", "proxy", false, 1080, ""},
    {"proxy/", "proxy", false, 1080, ""},
    {"10.0.0.1:8080", "10.0.0.1", false, 8080, ""},
    {"http://[::1]:3128", "::1", true, 3128, ""},
    {"[2001:DB8::1]", "2001:db8::1", true, 1080, ""},
    {"http://[fe80::1%25eth0]:3128/", "fe80::1%eth0", true, 3128, ""},
    {"http://user:pass@proxy:3128", "proxy", false, 3128, "user:pass"},
    {"user:pass@proxy:8080", "proxy", false, 8080, "user:pass"},
    {"http://user@proxy", "proxy", false, 1080, "user:"},
    {"http://user:@proxy", "proxy", false, 1080, "user:"},
    {"http://:pass@proxy", "proxy", false, 1080, ":pass"},
    {"http://@proxy", "proxy", false, 1080, ""},
    {"http://us%40er:p%3Ass%25@proxy", "proxy", false, 1080, "us@er:p:ss%"},
    {"http://user:p@ss@proxy", "proxy", false, 1080, "user:p@ss"},
    {"http://u:pass:word@proxy", "proxy", false, 1080, "u:pass:word"},
    {"http://Aladdin:open%20sesame@proxy", "proxy", false, 1080, "Aladdin:open sesame"},
    {"http://j%C3%B6rg:%E2%82%AC@proxy", "proxy", false, 1080, "j\xc3\xb6rg:\xe2\x82\xac"},
    {"http://user:pass@[::1]:1", "::1", true, 1, "user:pass"},
};

static void good_proxy_urls_parse_into_every_field(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good_proxies) / sizeof(good_proxies[0]); i++) {
        struct wsc_proxy p;
        const char *why = "unset";
        memset(&p, 0x5a, sizeof(p)); /* garbage must not survive */
        int rc = wsc_proxy_parse(good_proxies[i].text, &p, &why);
        if (rc)
            print_error("'%s' rejected: %s\n", good_proxies[i].text, why);
        assert_int_equal(rc, 0);
        assert_null(why);
        assert_string_equal(p.host, good_proxies[i].host);
        assert_int_equal(p.ipv6, good_proxies[i].ipv6);
        assert_int_equal(p.port, good_proxies[i].port);
        assert_string_equal(p.userinfo, good_proxies[i].userinfo);
        assert_null(p.source);
    }
}

static const struct {
    const char *text;
    const char *why; /* a substring of the reason */
} bad_proxies[] = {
    {"", "no proxy given"},
    {"https://proxy", "https:// proxies"},
    {"HTTPS://proxy:443", "https:// proxies"},
    {"socks5://proxy:1080", "SOCKS"},
    {"socks5h://proxy", "SOCKS"},
    {"socks4a://proxy", "SOCKS"},
    {"ftp://proxy", "unsupported proxy scheme"},
    {"http://", "missing proxy host"},
    {"http://user:pw@", "missing proxy host"},
    {"http:///", "missing proxy host"},
    {"http://proxy:0", "port out of range"},
    {"http://proxy:65536", "port out of range"},
    {"http://proxy:abc", "not a decimal number"},
    {"http://proxy:", "missing port"},
    {"http://proxy/path", "no path"},
    {"http://proxy:80/x", "no path"},
    {"http://proxy?x=1", "no path"},
    {"http://proxy#frag", "no path"},
    {"http://proxy//", "no path"},
    {"http://pro xy", "spaces"},
    {"http://pro\r\nxy", "control characters"},
    {"http://proxy\r\nX-Injected: 1", "control characters"},
    {"http://pro*xy", "invalid character in host name"},
    {"http://[::1", "unterminated IPv6"},
    {"http://[::g]", "invalid IPv6"},
    {"http://256.1.1.1", "invalid IPv4"},
    {"http://user:pa%zzss@proxy", "percent-encoding"},
    {"http://user:pass%4@proxy", "percent-encoding"},
    {"http://user:pass%@proxy", "percent-encoding"},
    {"http://user:pa%0d%0aX:y@proxy", "control characters"},
    {"http://user:pa%00ss@proxy", "control characters"},
    {"http://user\x01:pass@proxy", "control characters"},
    {"http://us%3Aer:pw@proxy", "must not contain ':'"},
};

static void bad_proxy_urls_fail_with_a_reason(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_proxies) / sizeof(bad_proxies[0]); i++) {
        struct wsc_proxy p;
        const char *why = NULL;
        memset(&p, 0x5a, sizeof(p));
        int rc = wsc_proxy_parse(bad_proxies[i].text, &p, &why);
        if (rc != WSC_EURL || !why || !strstr(why, bad_proxies[i].why))
            print_error("'%s': rc %d, why '%s', expected '%s'\n", bad_proxies[i].text, rc,
                        why ? why : "(null)", bad_proxies[i].why);
        assert_int_equal(rc, WSC_EURL);
        assert_non_null(why);
        assert_non_null(strstr(why, bad_proxies[i].why));
        /* A failed parse leaves nothing half-filled behind. */
        assert_string_equal(p.host, "");
        assert_string_equal(p.userinfo, "");
        assert_int_equal(p.port, 0);
    }
}

static void parse_limits_and_null_arguments(void **state)
{
    (void)state;
    struct wsc_proxy p;
    const char *why = NULL;
    assert_int_equal(wsc_proxy_parse(NULL, &p, &why), WSC_EURL);
    assert_string_equal(why, "no proxy given");
    assert_int_equal(wsc_proxy_parse("proxy", NULL, &why), WSC_EINVAL);
    assert_int_equal(wsc_proxy_parse("proxy", &p, NULL), 0); /* why is optional */
    assert_int_equal(wsc_proxy_parse("bad:port", &p, NULL), WSC_EURL);

    /* Credentials: 255 bytes decoded fit (with the NUL), 256 do not. */
    char text[1024];
    char user[300];
    memset(user, 'u', sizeof(user));
    snprintf(text, sizeof(text), "http://%.*s:%.*s@proxy", 100, user, 154, user);
    assert_int_equal(wsc_proxy_parse(text, &p, &why), 0);
    assert_int_equal(strlen(p.userinfo), 255);
    snprintf(text, sizeof(text), "http://%.*s:%.*s@proxy", 100, user, 155, user);
    assert_int_equal(wsc_proxy_parse(text, &p, &why), WSC_EURL);
    assert_non_null(strstr(why, "too long"));
    /* Percent-encoding counts decoded bytes: 85 x "%41" is 85 bytes. */
    int n = snprintf(text, sizeof(text), "http://u:");
    for (int i = 0; i < 85; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "%%41");
    snprintf(text + n, sizeof(text) - (size_t)n, "@proxy");
    assert_int_equal(wsc_proxy_parse(text, &p, &why), 0);
    assert_int_equal(strlen(p.userinfo), 87);

    /* Host names: 255 characters fit, 256 do not. */
    char host[300];
    memset(host, 'h', sizeof(host));
    snprintf(text, sizeof(text), "http://%.*s:1", 255, host);
    assert_int_equal(wsc_proxy_parse(text, &p, &why), 0);
    assert_int_equal(strlen(p.host), 255);
    snprintf(text, sizeof(text), "http://%.*s:1", 256, host);
    assert_int_equal(wsc_proxy_parse(text, &p, &why), WSC_EURL);
    assert_non_null(strstr(why, "too long"));
}

/* ---- no_proxy ----------------------------------------------------------- */

static const struct {
    const char *no_proxy;
    const char *host;
    uint16_t port;
    bool bypass;
} bypass_cases[] = {
    {NULL, "example.com", 80, false},
    {"", "example.com", 80, false},
    {"*", "example.com", 80, true},
    {"*", "::1", 80, true},
    {" * ", "example.com", 80, true},
    {"a.com,*", "example.com", 80, true},
    /* names: exact, subdomains, label boundaries, case, dots */
    {"example.com", "example.com", 80, true},
    {"example.com", "www.example.com", 80, true},
    {"example.com", "a.b.example.com", 80, true},
    {"example.com", "notexample.com", 80, false},
    {"example.com", "example.com.evil", 80, false},
    {"example.com", "com", 80, false},
    {".example.com", "example.com", 80, true},
    {".example.com", "www.example.com", 80, true},
    {"*.example.com", "www.example.com", 80, true},
    {"*.example.com", "example.com", 80, true},
    {"example.com.", "example.com", 80, true},
    {"example.com", "example.com.", 80, true},
    {"EXAMPLE.com", "example.COM", 80, true},
    {"localhost", "localhost", 9000, true},
    {"localhost", "127.0.0.1", 80, false}, /* no lookups */
    {"127.0.0.1", "localhost", 80, false},
    /* lists */
    {"a.com,b.com", "b.com", 80, true},
    {"a.com, b.com", "b.com", 80, true},
    {" a.com ,, b.com ,", "b.com", 80, true},
    {"a.com b.com", "b.com", 80, true},
    {"a.com,\tb.com", "b.com", 80, true},
    {"a.com,b.com", "c.com", 80, false},
    {",,,", "c.com", 80, false},
    /* ports */
    {"example.com:443", "example.com", 443, true},
    {"example.com:443", "example.com", 80, false},
    {"example.com:443", "www.example.com", 443, true},
    {".example.com:8080", "a.example.com", 8080, true},
    {"example.com:0", "example.com", 80, false},
    {"example.com:x", "example.com", 80, false},
    {"example.com:", "example.com", 80, false},
    {"127.0.0.1:9000", "127.0.0.1", 9000, true},
    {"127.0.0.1:9000", "127.0.0.1", 9001, false},
    {"[::1]:9000", "::1", 9000, true},
    {"[::1]:9000", "::1", 80, false},
    {"[::1]", "::1", 80, true},
    {"[::1]x", "::1", 80, false},
    {"[::1", "::1", 80, false},
    /* IPv4 */
    {"127.0.0.1", "127.0.0.1", 80, true},
    {"127.0.0.1", "127.0.0.2", 80, false},
    {"127.0.0.0/8", "127.1.2.3", 80, true},
    {"10.0.0.0/8", "11.0.0.0", 80, false},
    {"192.168.1.0/24", "192.168.1.200", 80, true},
    {"192.168.1.0/25", "192.168.1.200", 80, false},
    {"192.168.1.128/25", "192.168.1.200", 80, true},
    {"0.0.0.0/0", "1.2.3.4", 80, true},
    {"10.0.0.1/32", "10.0.0.1", 80, true},
    {"10.0.0.0/33", "10.0.0.1", 80, false},
    {"10.0.0.0/", "10.0.0.1", 80, false},
    {"10.0.0.0/x", "10.0.0.1", 80, false},
    {"010.0.0.1", "10.0.0.1", 80, false},
    {"10.0.0", "10.0.0.0", 80, false},
    {"::1", "127.0.0.1", 80, false}, /* families never match each other */
    /* IPv6: compared as addresses */
    {"::1", "::1", 80, true},
    {"0:0:0:0:0:0:0:1", "::1", 80, true},
    {"::1", "0:0::1", 80, true},
    {"::2", "::1", 80, false},
    {"2001:DB8::1", "2001:db8::1", 80, true},
    {"fd00::/8", "fd12::1", 80, true},
    {"fd00::/8", "fe80::1", 80, false},
    {"fe80::/10", "febf::1", 80, true},
    {"fe80::/10", "fec0::1", 80, false},
    {"[fd00::]/8", "fd12::1", 80, false}, /* the prefix goes inside the brackets */
    {"[fd00::/8]", "fd12::1", 80, true},
    {"::/0", "2001:db8::1", 80, true},
    {"fe80::1", "fe80::1%eth0", 80, true}, /* the zone is ours, not the address */
    {"::ffff:1.2.3.4", "::ffff:1.2.3.4", 80, true},
    {"::ffff:1.2.3.4", "::ffff:102:304", 80, true},
    {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", 80, true},
    {"1:2:3:4:5:6:7::8", "1:2:3:4:5:6:7:8", 80, false},
    {"1::2::3", "1::3", 80, false},
    {"::1/129", "::1", 80, false},
};

static void no_proxy_matches_like_curl_plus_ports(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bypass_cases) / sizeof(bypass_cases[0]); i++) {
        bool got = wsc_proxy_bypass(bypass_cases[i].no_proxy, bypass_cases[i].host,
                                    bypass_cases[i].port);
        if (got != bypass_cases[i].bypass)
            print_error("no_proxy '%s', host '%s' port %u: got %d\n",
                        bypass_cases[i].no_proxy ? bypass_cases[i].no_proxy : "(null)",
                        bypass_cases[i].host, bypass_cases[i].port, got);
        assert_int_equal(got, bypass_cases[i].bypass);
    }
    assert_false(wsc_proxy_bypass("*", NULL, 80));
    assert_false(wsc_proxy_bypass("*", "", 80));
}

/* ---- the environment ---------------------------------------------------- */

#define ENV_MAX 16

static const char *const *fake_env;   /* name, value, ..., NULL */
static char queried[ENV_MAX * 4][16]; /* every name looked up, in order */
static size_t nqueried;

static char *fake_getenv(const char *name)
{
    if (nqueried < sizeof(queried) / sizeof(queried[0]))
        snprintf(queried[nqueried++], sizeof(queried[0]), "%s", name);
    for (const char *const *e = fake_env; e && e[0]; e += 2)
        if (strcmp(e[0], name) == 0)
            return (char *)e[1];
    return NULL;
}

/* One case per line (clang-format would put one field per line). */
/* clang-format off */
static const struct env_case {
    const char *url;
    const char *env[ENV_MAX]; /* name, value pairs */
    int rc;
    const char *host; /* rc 1: the proxy */
    uint16_t port;
    const char *source; /* rc 1 and WSC_EURL: the variable */
} env_cases[] = {
    {"ws://example.com", {NULL}, 0, NULL, 0, NULL},
    /* ws:// */
    {"ws://example.com", {"http_proxy", "http://p1:3128", NULL}, 1, "p1", 3128,
     "http_proxy"},
    {"ws://example.com", {"HTTP_PROXY", "http://p1:3128", NULL}, 0, NULL, 0, NULL},
    {"ws://example.com", {"ws_proxy", "p2:1", "http_proxy", "p1:1", NULL}, 1, "p2", 1,
     "ws_proxy"},
    {"ws://example.com", {"WS_PROXY", "p3:1", "http_proxy", "p1:1", NULL}, 1, "p3", 1,
     "WS_PROXY"},
    {"ws://example.com", {"ws_proxy", "p2:1", "WS_PROXY", "p3:1", NULL}, 1, "p2", 1,
     "ws_proxy"},
    {"ws://example.com", {"all_proxy", "p4:1", NULL}, 1, "p4", 1, "all_proxy"},
    {"ws://example.com", {"ALL_PROXY", "p5:1", NULL}, 1, "p5", 1, "ALL_PROXY"},
    {"ws://example.com", {"all_proxy", "p4:1", "ALL_PROXY", "p5:1", NULL}, 1, "p4", 1,
     "all_proxy"},
    {"ws://example.com", {"http_proxy", "p1:1", "all_proxy", "p4:1", NULL}, 1, "p1", 1,
     "http_proxy"},
    {"ws://example.com", {"https_proxy", "p6:1", "HTTPS_PROXY", "p7:1", NULL}, 0, NULL, 0,
     NULL},
    {"ws://example.com", {"https_proxy", "p6:1", "all_proxy", "p4:1", NULL}, 1, "p4", 1,
     "all_proxy"},
    {"ws://example.com", {"wss_proxy", "p8:1", NULL}, 0, NULL, 0, NULL},
    /* wss:// */
    {"wss://example.com", {"https_proxy", "p6:1", NULL}, 1, "p6", 1, "https_proxy"},
    {"wss://example.com", {"HTTPS_PROXY", "p7:1", NULL}, 1, "p7", 1, "HTTPS_PROXY"},
    {"wss://example.com", {"https_proxy", "p6:1", "HTTPS_PROXY", "p7:1", NULL}, 1, "p6",
     1, "https_proxy"},
    {"wss://example.com", {"wss_proxy", "p8:1", "https_proxy", "p6:1", NULL}, 1, "p8", 1,
     "wss_proxy"},
    {"wss://example.com", {"WSS_PROXY", "p9:1", "https_proxy", "p6:1", NULL}, 1, "p9", 1,
     "WSS_PROXY"},
    {"wss://example.com", {"http_proxy", "p1:1", NULL}, 0, NULL, 0, NULL},
    {"wss://example.com", {"ws_proxy", "p2:1", NULL}, 0, NULL, 0, NULL},
    {"wss://example.com", {"http_proxy", "p1:1", "ALL_PROXY", "p5:1", NULL}, 1, "p5", 1,
     "ALL_PROXY"},
    /* empty means unset, as curl_getenv() */
    {"ws://example.com", {"http_proxy", "", "all_proxy", "p4:1", NULL}, 1, "p4", 1,
     "all_proxy"},
    {"ws://example.com", {"ws_proxy", "", "http_proxy", "", NULL}, 0, NULL, 0, NULL},
    /* credentials and defaults come through the parser */
    {"ws://example.com", {"http_proxy", "http://u:p%40ss@proxy", NULL}, 1, "proxy", 1080,
     "http_proxy"},
    /* no_proxy */
    {"ws://example.com", {"http_proxy", "p1:1", "no_proxy", "example.com", NULL}, 0, NULL,
     0, NULL},
    {"ws://www.example.com", {"http_proxy", "p1:1", "no_proxy", ".example.com", NULL}, 0,
     NULL, 0, NULL},
    {"ws://www.example.com", {"http_proxy", "p1:1", "no_proxy", "example.com", NULL}, 0,
     NULL, 0, NULL},
    {"ws://example.org", {"http_proxy", "p1:1", "no_proxy", "example.com", NULL}, 1, "p1",
     1, "http_proxy"},
    {"ws://example.com", {"http_proxy", "p1:1", "no_proxy", "*", NULL}, 0, NULL, 0, NULL},
    {"ws://example.com", {"http_proxy", "p1:1", "NO_PROXY", "*", NULL}, 0, NULL, 0, NULL},
    {"ws://example.com", {"http_proxy", "p1:1", "no_proxy", "", "NO_PROXY", "*", NULL}, 0,
     NULL, 0, NULL},
    {"ws://example.com", {"http_proxy", "p1:1", "no_proxy", "other", "NO_PROXY", "*",
     NULL}, 1, "p1", 1, "http_proxy"},
    {"ws://EXAMPLE.COM", {"http_proxy", "p1:1", "no_proxy", "Example.Com", NULL}, 0, NULL,
     0, NULL},
    {"ws://example.com", {"http_proxy", "p1:1", "no_proxy", "example.com:80", NULL}, 0,
     NULL, 0, NULL},
    {"ws://example.com:8080", {"http_proxy", "p1:1", "no_proxy", "example.com:80", NULL},
     1, "p1", 1, "http_proxy"},
    {"wss://example.com", {"https_proxy", "p6:1", "no_proxy", "example.com:443", NULL}, 0,
     NULL, 0, NULL},
    {"ws://127.0.0.1:9000", {"http_proxy", "p1:1", "no_proxy", "127.0.0.0/8", NULL}, 0,
     NULL, 0, NULL},
    {"ws://[::1]:9000", {"http_proxy", "p1:1", "no_proxy", "::1", NULL}, 0, NULL, 0, NULL},
    {"ws://[::1]:9000", {"http_proxy", "p1:1", "no_proxy", "[::1]:9000", NULL}, 0, NULL,
     0, NULL},
    {"ws://[::1]:9000", {"http_proxy", "p1:1", "no_proxy", "127.0.0.1", NULL}, 1, "p1", 1,
     "http_proxy"},
    /* a malformed variable is an error naming it, unless no_proxy applies */
    {"ws://example.com", {"http_proxy", "socks5://p1", NULL}, WSC_EURL, NULL, 0,
     "http_proxy"},
    {"wss://example.com", {"https_proxy", "http://p6/x", "all_proxy", "p4:1", NULL},
     WSC_EURL, NULL, 0, "https_proxy"},
    {"ws://example.com", {"http_proxy", "socks5://p1", "no_proxy", "*", NULL}, 0, NULL, 0,
     NULL},
};
/* clang-format on */

static void environment_chooses_the_proxy_like_curl(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(env_cases) / sizeof(env_cases[0]); i++) {
        const struct env_case *c = &env_cases[i];
        struct wsc_url target;
        assert_int_equal(wsc_url_parse(c->url, &target), 0);
        fake_env = c->env;
        nqueried = 0;
        struct wsc_proxy p;
        memset(&p, 0x5a, sizeof(p));
        const char *why = "unset";
        int rc = wsc_proxy_from_env(&target, fake_getenv, &p, &why);
        if (rc != c->rc)
            print_error("case %zu (%s): rc %d, expected %d\n", i, c->url, rc, c->rc);
        assert_int_equal(rc, c->rc);
        /* httpoxy: the upper-case HTTP_PROXY is never even read. */
        for (size_t q = 0; q < nqueried; q++)
            assert_string_not_equal(queried[q], "HTTP_PROXY");
        if (rc == 1) {
            assert_null(why);
            assert_string_equal(p.host, c->host);
            assert_int_equal(p.port, c->port);
            assert_string_equal(p.source, c->source);
        } else if (rc == 0) {
            assert_null(why);
            assert_string_equal(p.host, "");
            assert_null(p.source);
        } else {
            assert_non_null(why);
            assert_string_equal(p.source, c->source);
        }
    }
    fake_env = NULL;
}

static void environment_credentials_and_null_arguments(void **state)
{
    (void)state;
    struct wsc_url target;
    struct wsc_proxy p;
    const char *why;
    assert_int_equal(wsc_url_parse("ws://example.com", &target), 0);
    static const char *const env[] = {"http_proxy", "http://u:p%40ss@proxy:3128", NULL};
    fake_env = env;
    assert_int_equal(wsc_proxy_from_env(&target, fake_getenv, &p, &why), 1);
    assert_string_equal(p.userinfo, "u:p@ss");
    assert_int_equal(wsc_proxy_from_env(&target, fake_getenv, &p, NULL), 1);
    assert_int_equal(wsc_proxy_from_env(NULL, fake_getenv, &p, &why), WSC_EINVAL);
    assert_int_equal(wsc_proxy_from_env(&target, NULL, &p, &why), WSC_EINVAL);
    assert_int_equal(wsc_proxy_from_env(&target, fake_getenv, NULL, &why), WSC_EINVAL);
    fake_env = NULL;
}

/* ---- a scripted proxy --------------------------------------------------- */

/*
 * The proxy side of one exchange. It stays silent until the whole CONNECT
 * request has arrived (a real proxy cannot answer sooner), then delivers
 * data[0..len) without ever crossing a chunk boundary in one recv, saying
 * EAGAIN once at each boundary so the caller's wait path runs. After the data:
 * end of stream, or silence that wait() reports as a timeout. Nothing sleeps.
 */
struct script {
    const uint8_t *data;
    size_t len, pos;
    const size_t *bounds; /* chunk ends, ascending, the last == len */
    size_t nbounds, next;
    bool again_pending; /* one EAGAIN before the next chunk */
    bool eof_at_end;
    size_t send_max; /* bytes per send, 0 = any */
    bool send_stall; /* every other send says EAGAIN */
    bool stalled;
    int send_error;    /* send fails with this */
    bool send_blocked; /* send says EAGAIN forever; wait(WRITE) times out */
    char sent[4096];
    size_t sent_len;
    bool early_read; /* recv was called before the request was complete */
    unsigned calls;
};

static bool request_complete(const struct script *s)
{
    return s->sent_len >= 4 && memcmp(s->sent + s->sent_len - 4, "\r\n\r\n", 4) == 0;
}

static int s_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent)
{
    struct script *s = ctx;
    *sent = 0;
    s->calls++;
    if (s->send_error)
        return s->send_error;
    if (s->send_blocked)
        return WSC_EAGAIN;
    if (s->send_stall && (s->stalled = !s->stalled))
        return WSC_EAGAIN;
    size_t n = s->send_max && len > s->send_max ? s->send_max : len;
    assert_true(s->sent_len + n <= sizeof(s->sent));
    memcpy(s->sent + s->sent_len, buf, n);
    s->sent_len += n;
    *sent = n;
    return 0;
}

static int s_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    struct script *s = ctx;
    *got = 0;
    s->calls++;
    assert_true(cap > 0);
    if (!request_complete(s)) {
        s->early_read = true;
        return WSC_EAGAIN;
    }
    if (s->pos == s->len)
        return s->eof_at_end ? 0 : WSC_EAGAIN;
    if (s->again_pending) {
        s->again_pending = false;
        return WSC_EAGAIN;
    }
    while (s->next < s->nbounds && s->bounds[s->next] <= s->pos)
        s->next++;
    size_t end = s->next < s->nbounds ? s->bounds[s->next] : s->len;
    size_t n = end - s->pos < cap ? end - s->pos : cap;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    if (s->pos == end)
        s->again_pending = true;
    *got = n;
    return 0;
}

static int s_wait(void *ctx, int events, int timeout_ms)
{
    struct script *s = ctx;
    (void)timeout_ms;
    s->calls++;
    int ready = 0;
    if ((events & WSC_WAIT_WRITE) && !s->send_blocked)
        ready |= WSC_WAIT_WRITE;
    if ((events & WSC_WAIT_READ) && request_complete(s) &&
        (s->pos < s->len || s->eof_at_end))
        ready |= WSC_WAIT_READ;
    return ready; /* 0: "the timeout expired" */
}

static size_t s_pending(void *ctx)
{
    (void)ctx;
    return 0;
}

static int s_shutdown(void *ctx)
{
    (void)ctx;
    return 0;
}

static void s_close(void *ctx)
{
    (void)ctx;
}

static int s_fd(void *ctx)
{
    (void)ctx;
    return -1;
}

static const struct wsc_transport_ops script_ops = {
    .name = "script",
    .send = s_send,
    .recv = s_recv,
    .wait = s_wait,
    .pending = s_pending,
    .shutdown = s_shutdown,
    .close = s_close,
    .fd = s_fd,
};

static void script_init(struct script *s, struct wsc_transport *tr, const uint8_t *data,
                        size_t len, const size_t *bounds, size_t nbounds)
{
    memset(s, 0, sizeof(*s));
    s->data = data;
    s->len = len;
    s->bounds = bounds;
    s->nbounds = nbounds;
    s->eof_at_end = true;
    tr->ops = &script_ops;
    tr->ctx = s;
}

/* Appends bytes to the log as they are: the scripts hold no NUL, and the
 * expected logs are written with the same C literals as the replies. */
static void log_bytes(struct wsc_test_log *log, const uint8_t *p, size_t n)
{
    wsc_test_log_printf(log, "%.*s", (int)n, (const char *)p);
}

/* ---- the CONNECT exchange ----------------------------------------------- */

#define PLAIN_REQUEST "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
#define AUTH_REQUEST                                                                       \
    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"                        \
    "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"

/* A 101 and a text frame: what a WebSocket server sends into a fresh tunnel. */
#define WS_101                                                                             \
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"    \
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x05hello"

struct exchange {
    const char *name;
    const char *reply; /* what the proxy sends, text (NUL-free) */
    bool silent_end;   /* after the reply: silence instead of EOF */
    bool auth;         /* send Aladdin's credentials */
    const char *log;   /* the expected log */
};

static const struct exchange exchanges[] = {
    {"200 with the tunnel's first bytes behind it",
     "HTTP/1.1 200 Connection established\r\n\r\n" WS_101, false, false,
     "rc=0 sent=ok tunnel=" WS_101 "\n"},
    {"200 alone", "HTTP/1.1 200 Connection established\r\n\r\n", false, false,
     "rc=0 sent=ok tunnel=\n"},
    {"200 alone, then silence", "HTTP/1.1 200 Connection established\r\n\r\n", true, false,
     "rc=0 sent=ok tunnel=\n"},
    {"HTTP/1.0 200 with headers and leftover",
     "HTTP/1.0 200 Connection established\r\nProxy-Agent: test/1.0\r\n\r\nX", false, false,
     "rc=0 sent=ok tunnel=X\n"},
    {"other 2xx codes open the tunnel too", "HTTP/1.1 204 No Content\r\n\r\nY", false,
     false, "rc=0 sent=ok tunnel=Y\n"},
    {"a Content-Length on a 2xx is ignored: the bytes are tunnel data",
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello, tunnel", false, false,
     "rc=0 sent=ok tunnel=hello, tunnel\n"},
    {"bare LF line ends", "HTTP/1.1 200 OK\nVia: x\n\nZZ", false, false,
     "rc=0 sent=ok tunnel=ZZ\n"},
    {"interim 100 before the 200",
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
     "HTTP/1.1 200 OK\r\n\r\nTUNNEL",
     false, false, "rc=0 sent=ok tunnel=TUNNEL\n"},
    {"more header fields than the table holds still opens the tunnel",
     "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\n"
     "I: 9\r\nJ: 10\r\nK: 11\r\nL: 12\r\nM: 13\r\nN: 14\r\nO: 15\r\nP: 16\r\nQ: 17\r\n"
     "R: 18\r\n\r\nafter",
     false, false, "rc=0 sent=ok tunnel=after\n"},
    {"credentials are sent", "HTTP/1.1 200 OK\r\n\r\n", false, true,
     "rc=0 sent=ok tunnel=\n"},
    {"407",
     "HTTP/1.1 407 Proxy Authentication Required\r\n"
     "Proxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n",
     false, false,
     "rc=EPROXY sent=ok detail=proxy refused CONNECT: 407 Proxy Authentication Required\n"},
    {"407 despite credentials", "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", true,
     true,
     "rc=EPROXY sent=ok detail=proxy refused CONNECT: 407 Proxy Authentication Required\n"},
    {"403 with a body", "HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\nno way", false,
     false, "rc=EPROXY sent=ok detail=proxy refused CONNECT: 403 Forbidden\n"},
    {"502", "HTTP/1.1 502 Bad Gateway\r\n\r\n", false, false,
     "rc=EPROXY sent=ok detail=proxy refused CONNECT: 502 Bad Gateway\n"},
    {"101 is no tunnel", "HTTP/1.1 101 Switching Protocols\r\n\r\n", false, false,
     "rc=EPROXY sent=ok detail=proxy refused CONNECT: 101 Switching Protocols\n"},
    {"300 is no tunnel", "HTTP/1.1 301 Moved\r\nLocation: x\r\n\r\n", false, false,
     "rc=EPROXY sent=ok detail=proxy refused CONNECT: 301 Moved\n"},
    {"no reason phrase", "HTTP/1.1 407\r\n\r\n", false, false,
     "rc=EPROXY sent=ok detail=proxy refused CONNECT: 407\n"},
    {"unprintable reason bytes are masked", "HTTP/1.1 403 No\x01\x7f\xff!\r\n\r\n", false,
     false, "rc=EPROXY sent=ok detail=proxy refused CONNECT: 403 No\?\?\?!\n"},
    {"malformed status code", "HTTP/1.1 2OO OK\r\n\r\n", false, false,
     "rc=EPROXY sent=ok detail=the proxy sent a malformed reply to CONNECT\n"},
    {"malformed header line", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\nX", false, false,
     "rc=EPROXY sent=ok detail=the proxy sent a malformed reply to CONNECT\n"},
    {"not HTTP: a SOCKS server's answer", "\x05\xff", false, false,
     "rc=EPROXY sent=ok detail=the proxy's reply is not HTTP (is it an HTTP proxy?)\n"},
    {"not HTTP: a banner", "SSH-2.0-OpenSSH_9.2\r\n", true, false,
     "rc=EPROXY sent=ok detail=the proxy's reply is not HTTP (is it an HTTP proxy?)\n"},
    {"not HTTP after five bytes", "HTTPS 200 OK\r\n\r\n", false, false,
     "rc=EPROXY sent=ok detail=the proxy's reply is not HTTP (is it an HTTP proxy?)\n"},
    {"EOF before any reply", "", false, false,
     "rc=EEOF sent=ok detail=proxy closed the connection\n"},
    {"EOF inside the reply head", "HTTP/1.1 200 Connection est", false, false,
     "rc=EEOF sent=ok detail=proxy closed the connection\n"},
    {"EOF after an interim reply", "HTTP/1.1 100 Continue\r\n\r\n", false, false,
     "rc=EEOF sent=ok detail=proxy closed the connection\n"},
    {"silence inside the reply head", "HTTP/1.1 200 Connection est", true, false,
     "rc=ETIMEDOUT sent=ok detail=timed out waiting for the proxy's reply to CONNECT\n"},
    {"silence before any reply", "", true, false,
     "rc=ETIMEDOUT sent=ok detail=timed out waiting for the proxy's reply to CONNECT\n"},
};

/* Names, not numbers: WSC_ETIMEDOUT is -ETIMEDOUT, which differs between systems. */
static const char *rc_name(int rc)
{
    static char other[16];
    switch (rc) {
    case 0:
        return "0";
    case WSC_EPROXY:
        return "EPROXY";
    case WSC_EEOF:
        return "EEOF";
    case WSC_ETIMEDOUT:
        return "ETIMEDOUT";
    default:
        snprintf(other, sizeof(other), "%d", rc);
        return other;
    }
}

struct run_ctx {
    const struct exchange *ex;
    size_t in_cap;
    bool stepped; /* wsc_proxy_start/step as an event loop runs them */
};

/* The exchange without waits: a step after every EAGAIN, checking that it
 * asks for the right readiness, with every other send refused too. */
static int run_steps(struct script *s, struct wsc_transport *tr, const struct wsc_proxy *p,
                     uint8_t *in, size_t in_cap, size_t *in_len, char *detail,
                     size_t detail_len)
{
    struct wsc_proxy_exchange *x = malloc(sizeof(*x));
    assert_non_null(x);
    s->send_stall = true;
    int rc = wsc_proxy_start(x, p, "example.com", false, 443, detail, detail_len);
    assert_int_equal(s->calls, 0); /* start sends nothing */
    for (unsigned turns = 0; rc == 0; turns++) {
        assert_true(turns < 100000);
        int want = -1;
        rc = wsc_proxy_step(x, tr, in, in_cap, in_len, &want, detail, detail_len);
        if (rc != WSC_EAGAIN) {
            assert_int_equal(want, 0);
            break;
        }
        assert_int_equal(want, request_complete(s) ? WSC_WAIT_READ : WSC_WAIT_WRITE);
        if (want == WSC_WAIT_READ && s->pos == s->len && !s->eof_at_end) {
            /* Nothing more will come: a loop's timer ends this, as the
             * blocking wrapper's deadline does. */
            strcpy(detail, "timed out waiting for the proxy's reply to CONNECT");
            rc = WSC_ETIMEDOUT;
            *in_len = 0;
        } else {
            rc = 0;
        }
    }
    free(x);
    return rc;
}

static void run_exchange(void *vctx, const uint8_t *data, size_t len, const size_t *bounds,
                         size_t nbounds, struct wsc_test_log *log)
{
    const struct run_ctx *ctx = vctx;
    struct script s;
    struct wsc_transport tr;
    script_init(&s, &tr, data, len, bounds, nbounds);
    s.eof_at_end = !ctx->ex->silent_end;
    struct wsc_proxy p;
    assert_int_equal(wsc_proxy_parse(ctx->ex->auth ? "http://Aladdin:open%20sesame@proxy"
                                                   : "http://proxy",
                                     &p, NULL),
                     0);
    /* Exactly in_cap bytes, so a write past the buffer trips ASan. */
    uint8_t *in = malloc(ctx->in_cap);
    assert_non_null(in);
    size_t in_len = 12345;
    char detail[256];
    int rc = ctx->stepped ? run_steps(&s, &tr, &p, in, ctx->in_cap, &in_len, detail,
                                      sizeof(detail))
                          : wsc_proxy_connect(&tr, &p, "example.com", false, 443, in,
                                              ctx->in_cap, &in_len, 1000, detail,
                                              sizeof(detail));
    const char *want = ctx->ex->auth ? AUTH_REQUEST : PLAIN_REQUEST;
    bool sent_ok = s.sent_len == strlen(want) && memcmp(s.sent, want, s.sent_len) == 0;
    wsc_test_log_printf(log, "rc=%s sent=%s", rc_name(rc), sent_ok ? "ok" : "WRONG");
    assert_false(s.early_read);
    if (rc == 0) {
        assert_true(in_len <= ctx->in_cap);
        assert_string_equal(detail, "");
        /* What the next layer sees: the leftover, then the transport's bytes. */
        wsc_test_log_printf(log, " tunnel=");
        log_bytes(log, in, in_len);
        log_bytes(log, s.data + s.pos, s.len - s.pos);
    } else {
        assert_int_equal(in_len, 0);
        wsc_test_log_printf(log, " detail=%s", detail);
    }
    wsc_test_log_printf(log, "\n");
    free(in);
}

static void connect_exchange_keeps_the_tunnel_bytes_at_every_split(void **state)
{
    (void)state;
    /* 4096: the whole reply in one read; 64 and 7: the head spans reads and a
     * read ends inside the tunnel bytes; 1: one byte per read. */
    static const size_t caps[] = {4096, 64, 7, 1};
    for (size_t i = 0; i < sizeof(exchanges) / sizeof(exchanges[0]); i++) {
        for (size_t c = 0; c < 2 * sizeof(caps) / sizeof(caps[0]); c++) {
            struct run_ctx ctx = {&exchanges[i], caps[c / 2], c % 2 == 1};
            const char *reply = exchanges[i].reply;
            size_t len = strlen(reply);
            /* An exact-size copy: reading past the script trips ASan. */
            uint8_t *data = malloc(len ? len : 1);
            assert_non_null(data);
            memcpy(data, reply, len);
            print_message("%s (in_cap %zu%s)\n", exchanges[i].name, ctx.in_cap,
                          ctx.stepped ? ", in steps" : "");
            wsc_test_each_chunking(data, len, exchanges[i].log, run_exchange, &ctx);
            free(data);
        }
    }
}

/* A head of @p size bytes (status line, filler headers, blank line) + "T". */
static char *big_reply(size_t size)
{
    char *r = malloc(size + 2);
    assert_non_null(r);
    size_t n = (size_t)snprintf(r, size + 2, "HTTP/1.1 200 OK\r\n");
    while (size - n > 40) {
        n += (size_t)snprintf(r + n, size + 2 - n, "X-Filler: %026d\r\n", 0);
    }
    /* One last header line landing exactly on @p size with the blank line. */
    size_t last = size - n - 2; /* bytes for "Y: ...\r\n" */
    assert_true(last >= 5);
    memcpy(r + n, "Y: ", 3);
    memset(r + n + 3, 'y', last - 5);
    memcpy(r + n + last - 2, "\r\n\r\nT", 5);
    r[size + 1] = '\0';
    assert_int_equal(strlen(r), size + 1);
    return r;
}

static void reply_head_limit_is_inclusive(void **state)
{
    (void)state;
    char *fits = big_reply(WSC_PROXY_HEAD_MAX);
    char *over = big_reply(WSC_PROXY_HEAD_MAX + 1);
    struct exchange ex[2] = {
        {"head at the limit", fits, false, false, "rc=0 sent=ok tunnel=T\n"},
        {"head over the limit", over, false, false,
         "rc=EPROXY sent=ok detail=the proxy's reply head exceeds 4096 bytes\n"},
    };
    for (int i = 0; i < 4; i++) {
        struct run_ctx ctx = {&ex[i / 2], 1500, i % 2 == 1};
        wsc_test_each_chunking((const uint8_t *)ex[i / 2].reply, strlen(ex[i / 2].reply),
                               ex[i / 2].log, run_exchange, &ctx);
    }
    free(fits);
    free(over);
}

/* One exchange with a transport that takes a few bytes per send and stalls. */
static int connect_with(struct script *s, const struct wsc_proxy *p, const char *host,
                        bool ipv6, uint16_t port, const char *reply, char *detail)
{
    struct wsc_transport tr;
    size_t len = strlen(reply), bounds[1] = {len};
    script_init(s, &tr, (const uint8_t *)reply, len, bounds, 1);
    s->send_max = 3;
    s->send_stall = true;
    uint8_t in[64];
    size_t in_len;
    return wsc_proxy_connect(&tr, p, host, ipv6, port, in, sizeof(in), &in_len, 1000,
                             detail, 256);
}

static void request_text_is_exact(void **state)
{
    (void)state;
    static const char ok[] = "HTTP/1.1 200 OK\r\n\r\n";
    struct script s;
    struct wsc_proxy p;
    char detail[256];

    /* No credentials: a NULL proxy, or one without userinfo. */
    assert_int_equal(connect_with(&s, NULL, "example.com", false, 443, ok, detail), 0);
    assert_int_equal(s.sent_len, strlen(PLAIN_REQUEST));
    assert_memory_equal(s.sent, PLAIN_REQUEST, s.sent_len);

    /* RFC 7617 2's example credentials. */
    assert_int_equal(wsc_proxy_parse("http://Aladdin:open%20sesame@proxy:3128", &p, NULL),
                     0);
    assert_int_equal(connect_with(&s, &p, "example.com", false, 443, ok, detail), 0);
    assert_int_equal(s.sent_len, strlen(AUTH_REQUEST));
    assert_memory_equal(s.sent, AUTH_REQUEST, s.sent_len);

    /* A user without password still sends "user:". */
    assert_int_equal(wsc_proxy_parse("http://user@proxy", &p, NULL), 0);
    assert_int_equal(connect_with(&s, &p, "h", false, 80, ok, detail), 0);
    static const char user_only[] = "CONNECT h:80 HTTP/1.1\r\nHost: h:80\r\n"
                                    "Proxy-Authorization: Basic dXNlcjo=\r\n\r\n";
    assert_int_equal(s.sent_len, strlen(user_only));
    assert_memory_equal(s.sent, user_only, s.sent_len);
    /* So does a struct filled by hand with a bare user name. */
    memset(&p, 0, sizeof(p));
    strcpy(p.userinfo, "user");
    assert_int_equal(connect_with(&s, &p, "h", false, 80, ok, detail), 0);
    assert_memory_equal(s.sent, user_only, s.sent_len);

    /* IPv6 targets are bracketed; a zone stays on this host. */
    static const char v6[] = "CONNECT [2001:db8::1]:8080 HTTP/1.1\r\n"
                             "Host: [2001:db8::1]:8080\r\n\r\n";
    assert_int_equal(connect_with(&s, NULL, "2001:db8::1", true, 8080, ok, detail), 0);
    assert_int_equal(s.sent_len, strlen(v6));
    assert_memory_equal(s.sent, v6, s.sent_len);
    static const char zone[] = "CONNECT [fe80::1]:1 HTTP/1.1\r\nHost: [fe80::1]:1\r\n\r\n";
    assert_int_equal(connect_with(&s, NULL, "fe80::1%eth0", true, 1, ok, detail), 0);
    assert_int_equal(s.sent_len, strlen(zone));
    assert_memory_equal(s.sent, zone, s.sent_len);

    /* The largest request: 255-byte host, 255-byte credentials. */
    char host[256], text[600];
    memset(host, 'h', 255);
    host[255] = '\0';
    memset(text, 0, sizeof(text));
    memcpy(text, "http://", 7);
    memset(text + 7, 'u', 100);
    text[107] = ':';
    memset(text + 108, 'p', 154);
    strcpy(text + 262, "@proxy");
    assert_int_equal(wsc_proxy_parse(text, &p, NULL), 0);
    assert_int_equal(connect_with(&s, &p, host, false, 65535, ok, detail), 0);
    assert_true(request_complete(&s));
    assert_non_null(strstr(s.sent, "Host: hhhh"));
}

static void injection_and_bad_arguments_are_refused_before_sending(void **state)
{
    (void)state;
    static const char ok[] = "HTTP/1.1 200 OK\r\n\r\n";
    static const struct {
        const char *host;
        bool ipv6;
    } bad_hosts[] = {
        {"", false},           {"evil.com\r\nX-Injected: 1", false},
        {"evil.com\n", false}, {"evil.com HTTP/1.1", false},
        {"a\tb", false},       {"a/b", false},
        {"user@host", false},  {"host:80", false},
        {"[::1]", true},       {"::1\r\n", true},
        {"::g", true},         {"h\x7f", false},
        {"h\xc3\xa9", false},
    };
    struct script s;
    char detail[256];
    for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
        int rc =
            connect_with(&s, NULL, bad_hosts[i].host, bad_hosts[i].ipv6, 443, ok, detail);
        assert_int_equal(rc, WSC_EINVAL);
        assert_int_equal(s.sent_len, 0);
        assert_string_equal(detail, "invalid target host for CONNECT");
    }
    char longhost[300];
    memset(longhost, 'h', 256);
    longhost[256] = '\0';
    assert_int_equal(connect_with(&s, NULL, longhost, false, 443, ok, detail), WSC_EINVAL);

    /* Credentials filled by hand with CR/LF, or without a terminating NUL. */
    struct wsc_proxy p;
    memset(&p, 0, sizeof(p));
    strcpy(p.userinfo, "user:pass\r\nX-Injected: 1");
    assert_int_equal(connect_with(&s, &p, "h", false, 80, ok, detail), WSC_EHEADER);
    assert_int_equal(s.sent_len, 0);
    assert_non_null(strstr(detail, "control character"));
    memset(p.userinfo, 'a', sizeof(p.userinfo));
    assert_int_equal(connect_with(&s, &p, "h", false, 80, ok, detail), WSC_EHEADER);
    assert_int_equal(s.sent_len, 0);

    /* Plain bad arguments. */
    struct wsc_transport tr;
    uint8_t in[16];
    size_t in_len = 7;
    size_t bounds[1] = {0};
    script_init(&s, &tr, (const uint8_t *)"", 0, bounds, 1);
    assert_int_equal(wsc_proxy_connect(NULL, NULL, "h", false, 80, in, sizeof(in), &in_len,
                                       0, detail, sizeof(detail)),
                     WSC_EINVAL);
    assert_int_equal(in_len, 0);
    assert_int_equal(wsc_proxy_connect(&tr, NULL, NULL, false, 80, in, sizeof(in), &in_len,
                                       0, detail, sizeof(detail)),
                     WSC_EINVAL);
    assert_int_equal(wsc_proxy_connect(&tr, NULL, "h", false, 80, NULL, sizeof(in), &in_len,
                                       0, detail, sizeof(detail)),
                     WSC_EINVAL);
    assert_int_equal(wsc_proxy_connect(&tr, NULL, "h", false, 80, in, 0, &in_len, 0, detail,
                                       sizeof(detail)),
                     WSC_EINVAL);
    assert_int_equal(wsc_proxy_connect(&tr, NULL, "h", false, 80, in, sizeof(in), NULL, 0,
                                       detail, sizeof(detail)),
                     WSC_EINVAL);
    assert_int_equal(wsc_proxy_connect(&tr, NULL, "h", false, 0, in, sizeof(in), &in_len, 0,
                                       detail, sizeof(detail)),
                     WSC_EINVAL);
    /* The same checks in steps; a bad host fails at start, before any step. */
    struct wsc_proxy_exchange x;
    int want = 0;
    assert_int_equal(wsc_proxy_start(NULL, NULL, "h", false, 80, detail, sizeof(detail)),
                     WSC_EINVAL);
    assert_int_equal(wsc_proxy_start(&x, NULL, NULL, false, 80, detail, sizeof(detail)),
                     WSC_EINVAL);
    assert_int_equal(wsc_proxy_start(&x, NULL, "h", false, 0, detail, sizeof(detail)),
                     WSC_EINVAL);
    assert_int_equal(wsc_proxy_start(&x, NULL, "a\r\nX: y", false, 80, detail, sizeof(detail)),
                     WSC_EINVAL);
    assert_int_equal(wsc_proxy_start(&x, NULL, "h", false, 80, detail, sizeof(detail)), 0);
    assert_int_equal(wsc_proxy_step(&x, NULL, in, sizeof(in), &in_len, &want, detail,
                                    sizeof(detail)),
                     WSC_EINVAL);
    assert_int_equal(wsc_proxy_step(&x, &tr, in, 0, &in_len, &want, detail, sizeof(detail)),
                     WSC_EINVAL);
    assert_int_equal(wsc_proxy_step(&x, &tr, in, sizeof(in), &in_len, NULL, detail,
                                    sizeof(detail)),
                     WSC_EINVAL);
    assert_int_equal(s.calls, 0);
}

static void send_failures_and_timeouts(void **state)
{
    (void)state;
    struct script s;
    struct wsc_transport tr;
    uint8_t in[64];
    size_t in_len, bounds[1] = {0};
    char detail[256];

    script_init(&s, &tr, (const uint8_t *)"", 0, bounds, 1);
    s.send_error = WSC_ECONNRESET;
    assert_int_equal(wsc_proxy_connect(&tr, NULL, "h", false, 80, in, sizeof(in), &in_len,
                                       1000, detail, sizeof(detail)),
                     WSC_ECONNRESET);
    assert_non_null(strstr(detail, "sending CONNECT to the proxy failed"));

    script_init(&s, &tr, (const uint8_t *)"", 0, bounds, 1);
    s.send_blocked = true;
    assert_int_equal(wsc_proxy_connect(&tr, NULL, "h", false, 80, in, sizeof(in), &in_len,
                                       1000, detail, sizeof(detail)),
                     WSC_ETIMEDOUT);
    assert_string_equal(detail, "timed out sending CONNECT to the proxy");

    /* A zero timeout gives up at the first wait. */
    script_init(&s, &tr, (const uint8_t *)"", 0, bounds, 1);
    s.eof_at_end = false;
    assert_int_equal(wsc_proxy_connect(&tr, NULL, "h", false, 80, in, sizeof(in), &in_len,
                                       0, detail, sizeof(detail)),
                     WSC_ETIMEDOUT);

    /* A NULL detail is allowed. */
    static const char reply[] = "HTTP/1.1 403 Forbidden\r\n\r\n";
    bounds[0] = sizeof(reply) - 1;
    script_init(&s, &tr, (const uint8_t *)reply, sizeof(reply) - 1, bounds, 1);
    assert_int_equal(wsc_proxy_connect(&tr, NULL, "h", false, 80, in, sizeof(in), &in_len,
                                       1000, NULL, 0),
                     WSC_EPROXY);
    /* A short detail buffer is truncated, still terminated. */
    script_init(&s, &tr, (const uint8_t *)reply, sizeof(reply) - 1, bounds, 1);
    assert_int_equal(wsc_proxy_connect(&tr, NULL, "h", false, 80, in, sizeof(in), &in_len,
                                       1000, detail, 8),
                     WSC_EPROXY);
    assert_string_equal(detail, "proxy r");
}

/* A transport error other than EOF is passed through with its sentence. */
static int failing_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    (void)ctx;
    (void)buf;
    (void)cap;
    *got = 0;
    return WSC_ECONNRESET;
}

static void read_errors_pass_through(void **state)
{
    (void)state;
    struct script s;
    struct wsc_transport tr;
    size_t bounds[1] = {0};
    script_init(&s, &tr, (const uint8_t *)"", 0, bounds, 1);
    struct wsc_transport_ops ops = script_ops;
    ops.recv = failing_recv;
    tr.ops = &ops;
    uint8_t in[8];
    size_t in_len;
    char detail[256];
    assert_int_equal(wsc_proxy_connect(&tr, NULL, "h", false, 80, in, sizeof(in), &in_len,
                                       1000, detail, sizeof(detail)),
                     WSC_ECONNRESET);
    assert_non_null(strstr(detail, "reading the proxy's reply failed"));
}

static void eproxy_has_its_own_sentence(void **state)
{
    (void)state;
    assert_non_null(strstr(wsc_strerror(WSC_EPROXY), "proxy"));
    assert_string_not_equal(wsc_strerror(WSC_EPROXY), wsc_strerror(-9999));
    assert_int_equal(wsc_error_close_code(WSC_EPROXY), 0);
    assert_false(wsc_error_is_protocol(WSC_EPROXY));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_proxy_urls_parse_into_every_field),
        cmocka_unit_test(bad_proxy_urls_fail_with_a_reason),
        cmocka_unit_test(parse_limits_and_null_arguments),
        cmocka_unit_test(no_proxy_matches_like_curl_plus_ports),
        cmocka_unit_test(environment_chooses_the_proxy_like_curl),
        cmocka_unit_test(environment_credentials_and_null_arguments),
        cmocka_unit_test(connect_exchange_keeps_the_tunnel_bytes_at_every_split),
        cmocka_unit_test(reply_head_limit_is_inclusive),
        cmocka_unit_test(request_text_is_exact),
        cmocka_unit_test(injection_and_bad_arguments_are_refused_before_sending),
        cmocka_unit_test(send_failures_and_timeouts),
        cmocka_unit_test(read_errors_pass_through),
        cmocka_unit_test(eproxy_has_its_own_sentence),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    printf("chunkings run: %zu\n", wsc_test_chunkings_run);
    return failed;
}
