/*
 * libFuzzer target for the URL functions: wsc_url_parse(), wsc_url_resolve()
 * and wsc_url_percent_decode(). A URL arrives whole, so there is no chunking.
 *
 * Input: byte 0 holds options (bits 0-1: the base URL when the input's own URL
 * does not parse; bits 2-4: the output capacity for wsc_url_resolve). The rest
 * is TEXT [NUL LOCATION]: TEXT is parsed as a URL; LOCATION (or TEXT again when
 * there is no NUL) is resolved against the parsed URL, and percent-decoded.
 *
 * Checks: a parse returns 0 or WSC_EURL; a failure leaves a reason and nothing
 * else; a success has a host, port and resource of the documented shape and
 * prints back to a URL that parses to the same struct. wsc_url_resolve() reads
 * LOCATION only within its length (a heap block of exactly that size), returns
 * 0, WSC_EURL or WSC_ENOBUFS consistently for every capacity, writes nothing
 * past @p cap, always NUL-terminates, and gives a ws/wss URL free of control
 * characters, blanks and fragments; a relative location keeps the base's host,
 * port and scheme. wsc_url_percent_decode() matches a reference decoder.
 */
#include "core/fuzz_chunks.h"
#include "wsc/wsc_core.h"

static const char *const BASES[] = {
    "ws://example.com/a/b?q=1",
    "wss://[fe80::1%25eth0]:8443/x/",
    "ws://user:pw@10.0.0.1:1/",
    "wss://h",
};

static size_t bounded_len(const char *s, size_t cap)
{
    size_t n = 0;
    while (n < cap && s[n])
        n++;
    return n;
}

static bool lower_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
}

static void check_parsed(const struct wsc_url *u)
{
    size_t hl = bounded_len(u->host, sizeof(u->host));
    FZ_CHECK(u->error == NULL);
    FZ_CHECK(hl > 0 && hl < sizeof(u->host));
    if (u->ipv6) {
        const char *zone = strchr(u->host, '%');
        size_t alen = zone ? (size_t)(zone - u->host) : hl;
        for (size_t i = 0; i < alen; i++) {
            char c = u->host[i];
            FZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' ||
                     c == '.');
        }
        FZ_CHECK(!zone || zone[1] != '\0');
    } else {
        for (size_t i = 0; i < hl; i++)
            FZ_CHECK(lower_host_char(u->host[i]));
    }
    FZ_CHECK(u->port != 0);
    if (!u->port_explicit)
        FZ_CHECK(u->port == (u->tls ? 443 : 80));
    size_t rl = bounded_len(u->resource, sizeof(u->resource));
    FZ_CHECK(rl > 0 && rl < sizeof(u->resource) && u->resource[0] == '/');
    for (size_t i = 0; i < rl; i++) {
        unsigned char c = (unsigned char)u->resource[i];
        FZ_CHECK(c > 0x20 && c < 0x7f && c != '#');
    }
    size_t ul = bounded_len(u->userinfo, sizeof(u->userinfo));
    FZ_CHECK(ul < sizeof(u->userinfo));
    for (size_t i = 0; i < ul; i++) {
        unsigned char c = (unsigned char)u->userinfo[i];
        FZ_CHECK(c > 0x20 && c < 0x7f && c != '/' && c != '?' && c != '#');
    }
}

/* Prints @p u back as a URL (the zone as "%25") and checks it parses the same. */
static void check_round_trip(const struct wsc_url *u)
{
    static char text[16 + sizeof(u->userinfo) + sizeof(u->host) + sizeof(u->resource)];
    size_t n = 0;
    const char *zone = u->ipv6 ? strchr(u->host, '%') : NULL;
    size_t alen = zone ? (size_t)(zone - u->host) : strlen(u->host);
    n += (size_t)sprintf(text + n, "%s://", u->tls ? "wss" : "ws");
    if (u->userinfo[0])
        n += (size_t)sprintf(text + n, "%s@", u->userinfo);
    if (u->ipv6)
        n += (size_t)sprintf(text + n, "[%.*s%s%s]", (int)alen, u->host, zone ? "%25" : "",
                             zone ? zone + 1 : "");
    else
        n += (size_t)sprintf(text + n, "%s", u->host);
    if (u->port_explicit)
        n += (size_t)sprintf(text + n, ":%u", (unsigned)u->port);
    sprintf(text + n, "%s", u->resource);
    static struct wsc_url again;
    FZ_CHECK(wsc_url_parse(text, &again) == 0);
    FZ_CHECK(memcmp(&again, u, sizeof(again)) == 0);
}

static void check_failed(const struct wsc_url *u)
{
    static struct wsc_url zero;
    struct wsc_url copy = *u;
    FZ_CHECK(u->error != NULL && u->error[0] != '\0');
    copy.error = NULL;
    FZ_CHECK(memcmp(&copy, &zero, sizeof(copy)) == 0);
}

static int resolve(const struct wsc_url *base, const uint8_t *loc, size_t len, size_t cap,
                   char *result)
{
    /* Exact-size blocks: reading past the location or writing past cap trips ASan. */
    char *l = malloc(len ? len : 1);
    char *out = malloc(cap);
    FZ_CHECK(l && out);
    if (len)
        memcpy(l, loc, len);
    memset(out, 0x55, cap);
    int rc = wsc_url_resolve(base, l, len, out, cap);
    FZ_CHECK(rc == 0 || rc == WSC_EURL || rc == WSC_ENOBUFS);
    FZ_CHECK(memchr(out, '\0', cap) != NULL);
    if (rc == 0)
        strcpy(result, out);
    free(out);
    free(l);
    return rc;
}

static bool starts_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (*s == '\0' || (*s | 0x20) != *prefix)
            return false;
    return true;
}

static void check_resolve(const struct wsc_url *base, const uint8_t *loc, size_t len,
                          size_t cap_choice)
{
    static char big[2 * 65536 + 8192], small[sizeof(big)];
    size_t big_cap = 8192 + 2 * len;
    int rc = resolve(base, loc, len, big_cap, big);
    FZ_CHECK(rc != WSC_ENOBUFS);
    static const size_t caps[] = {1, 2, 16, 64, 0 /* exact */, 1 /* exact - 1 */, 4096, 8};
    size_t want = rc == 0 ? strlen(big) + 1 : 1;
    size_t cap = caps[cap_choice];
    if (cap_choice == 4)
        cap = want;
    else if (cap_choice == 5)
        cap = want > 1 ? want - 1 : 1;
    int rc2 = resolve(base, loc, len, cap, small);
    if (rc != 0) {
        FZ_CHECK(rc2 == rc);
        return;
    }
    FZ_CHECK(rc2 == (want <= cap ? 0 : WSC_ENOBUFS));
    if (rc2 == 0)
        FZ_CHECK(strcmp(small, big) == 0);

    FZ_CHECK(starts_ci(big, "ws://") || starts_ci(big, "wss://"));
    for (const char *c = big; *c; c++)
        FZ_CHECK((unsigned char)*c > 0x20 && *c != 0x7f && *c != '#');

    /* A location without a scheme or authority stays on the base's server. */
    size_t n = 0;
    while (n < len && loc[n] != '#')
        n++;
    bool relative = !(n >= 2 && loc[0] == '/' && loc[1] == '/');
    for (size_t i = 0; i < n && relative && loc[i] != '/' && loc[i] != '?'; i++)
        relative = loc[i] != ':';
    /* Non-ASCII bytes pass through (wsc_url_parse refuses them later, and the
     * front end reports the Location as one it cannot follow); so does a path
     * longer than a resource may be. */
    for (size_t i = 0; i < n && relative; i++)
        relative = loc[i] < 0x80;
    if (!relative || strlen(big) > 2048)
        return;
    static struct wsc_url r;
    FZ_CHECK(wsc_url_parse(big, &r) == 0);
    FZ_CHECK(strcmp(r.host, base->host) == 0 && r.port == base->port &&
             r.tls == base->tls && r.ipv6 == base->ipv6);
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void check_percent_decode(const uint8_t *in, size_t len, size_t cap)
{
    /* Reference: decode everything, then compare with the room there is. */
    uint8_t *ref = malloc(len + 1);
    size_t rn = 0;
    int rrc = 0;
    FZ_CHECK(ref != NULL);
    for (size_t i = 0; i < len && rrc == 0; i++) {
        if (in[i] != '%') {
            ref[rn++] = in[i];
        } else if (i + 2 < len && hexval(in[i + 1]) >= 0 && hexval(in[i + 2]) >= 0) {
            ref[rn++] = (uint8_t)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
            i += 2;
        } else {
            rrc = WSC_EURL;
        }
    }
    char *l = malloc(len ? len : 1);
    char *out = malloc(cap ? cap : 1);
    FZ_CHECK(l && out);
    if (len)
        memcpy(l, in, len);
    size_t n = 12345;
    int rc = wsc_url_percent_decode(l, len, out, cap, &n);
    if (rc == 0) {
        FZ_CHECK(rrc == 0 && n == rn && n <= cap);
        FZ_CHECK(n == 0 || memcmp(out, ref, n) == 0);
    } else if (rc == WSC_ENOBUFS) {
        /* Out of room before the end; a bad escape may follow. */
        FZ_CHECK(n == 0 && (rrc != 0 || rn > cap));
    } else {
        FZ_CHECK(rc == WSC_EURL && rrc == WSC_EURL && n == 0);
    }
    free(out);
    free(l);
    free(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    uint8_t opt = data[0];
    const uint8_t *rest = data + 1;
    size_t len = size - 1;
    const uint8_t *nul = memchr(rest, '\0', len);
    size_t tlen = nul ? (size_t)(nul - rest) : len;

    char *text = malloc(tlen + 1);
    FZ_CHECK(text != NULL);
    memcpy(text, rest, tlen);
    text[tlen] = '\0';
    static struct wsc_url u, base;
    int rc = wsc_url_parse(text, &u);
    FZ_CHECK(rc == 0 || rc == WSC_EURL);
    if (rc == 0) {
        check_parsed(&u);
        check_round_trip(&u);
        base = u;
    } else {
        check_failed(&u);
        FZ_CHECK(wsc_url_parse(BASES[opt & 3], &base) == 0);
    }
    free(text);

    const uint8_t *loc = nul ? nul + 1 : rest;
    size_t loc_len = nul ? len - tlen - 1 : tlen;
    check_resolve(&base, loc, loc_len, (opt >> 2) & 7);
    check_percent_decode(loc, loc_len, (size_t)(opt >> 5) * 9);
    return 0;
}
