/*
 * HTTP CONNECT proxy tunnels (RFC 9110 9.3.6): proxy URLs, the choice of proxy
 * from curl's environment variables, and the CONNECT exchange.
 *
 * The exchange keeps the connection-buffer rule of STYLE.md: the reply is read
 * into the caller's input buffer, the plain head parser takes exactly the reply
 * head, and whatever arrived behind it is the start of the tunnel. It stays in
 * that buffer for the next layer (TLS or the WebSocket handshake); the
 * transport is read again only once every buffered byte has been parsed.
 *
 * Nothing here is POSIX: I/O goes through the transport operations, time
 * through wsc_platform_now_ms(), and the environment through a getter.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/wsc_internal.h"
#include "wsc/wsc_proxy.h"

/* wsc_proxy_parse() copies the host of a struct wsc_url. */
_Static_assert(WSC_PROXY_HOST_MAX == WSC_URL_HOST_MAX, "proxy and URL hosts differ");

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int hex_value(char c)
{
    if (is_digit(c))
        return c - '0';
    c = wsc__lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* C0 controls and DEL: never valid in a header value (RFC 9110 5.5). */
static bool is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static bool ieq_n(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (wsc__lower(a[i]) != wsc__lower(b[i]))
            return false;
    return true;
}

/* ---- addresses ---------------------------------------------------------- */

/* Dotted-quad IPv4 into out[4]. Leading zeros are refused, as inet_pton()
 * does, because some resolvers read "010" as octal. */
static bool ipv4_bytes(const char *s, size_t n, uint8_t out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || s[i] != '.')
                return false;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < n && is_digit(s[i]) && i - start < 3)
            v = v * 10u + (unsigned)(s[i++] - '0');
        if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
            return false;
        out[part] = (uint8_t)v;
    }
    return i == n;
}

/*
 * RFC 4291 2.2 text form into out[16]: groups of 1-4 hex digits, at most one
 * "::" standing for one or more zero groups, optionally a dotted quad in place
 * of the last two groups. Needed to compare addresses rather than spellings
 * ("::1" and "0:0::1" are the same host) and to match prefixes.
 */
static bool ipv6_bytes(const char *s, size_t n, uint8_t out[16])
{
    uint8_t head[16], tail[16]; /* the groups before and after "::" */
    size_t hn = 0, tn = 0, i = 0;
    bool gap = false;

    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = true;
        i = 2;
    } else if (n == 0 || s[0] == ':') {
        return false;
    }
    while (i < n) {
        uint8_t *dst = gap ? tail : head;
        size_t *dn = gap ? &tn : &hn;
        size_t start = i;
        while (i < n && hex_value(s[i]) >= 0 && i - start <= 4)
            i++;
        if (i < n && s[i] == '.') {
            /* The IPv4 tail ends the address and fills two groups. */
            if (hn + tn + 4 > 16 || !ipv4_bytes(s + start, n - start, dst + *dn))
                return false;
            *dn += 4;
            break;
        }
        if (i == start || i - start > 4 || hn + tn + 2 > 16)
            return false;
        unsigned v = 0;
        for (size_t k = start; k < i; k++)
            v = v * 16u + (unsigned)hex_value(s[k]);
        dst[(*dn)++] = (uint8_t)(v >> 8);
        dst[(*dn)++] = (uint8_t)v;
        if (i == n)
            break;
        if (s[i] != ':' || ++i == n)
            return false; /* junk, or a single trailing ':' */
        if (s[i] == ':') {
            if (gap)
                return false;
            gap = true;
            i++;
        }
    }
    if (gap ? hn + tn > 14 : hn != 16)
        return false;
    memset(out, 0, 16);
    memcpy(out, head, hn);
    memcpy(out + 16 - tn, tail, tn);
    return true;
}

/* The first @p bits bits of a and b are equal. */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    size_t whole = bits / 8;
    unsigned rest = bits % 8;
    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return ((a[whole] ^ b[whole]) & mask) == 0;
}

/* A decimal port 1..65535. */
static bool parse_port(const char *s, size_t n, uint16_t *port)
{
    uint32_t v = 0;
    if (n == 0 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10u + (uint32_t)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

/* ---- no_proxy ----------------------------------------------------------- */

/* The target host, classified once for all no_proxy entries. */
struct target {
    const char *name; /* for names: compared without one trailing dot */
    size_t name_len;
    uint8_t addr[16]; /* for IP addresses */
    size_t addr_len;  /* 4, 16, or 0 for a name */
    uint16_t port;
};

static bool entry_matches(const char *e, size_t n, const struct target *t)
{
    if (n == 1 && e[0] == '*')
        return true;

    /* Split off a port: "[v6]:port", or "name:port" / "v4:port" (exactly one
     * ':'; more colons make an unbracketed IPv6 address, which has no port). */
    const char *a = e;
    size_t an = n;
    bool has_port = false;
    uint16_t port = 0;
    if (e[0] == '[') {
        const char *close = memchr(e, ']', n);
        if (!close)
            return false;
        a = e + 1;
        an = (size_t)(close - a);
        size_t after = (size_t)(close + 1 - e);
        if (after < n) {
            if (e[after] != ':' || !parse_port(e + after + 1, n - after - 1, &port))
                return false;
            has_port = true;
        }
    } else {
        const char *colon = memchr(e, ':', n);
        if (colon && !memchr(colon + 1, ':', n - (size_t)(colon + 1 - e))) {
            an = (size_t)(colon - e);
            if (!parse_port(colon + 1, n - an - 1, &port))
                return false;
            has_port = true;
        }
    }
    if (has_port && port != t->port)
        return false;

    if (t->addr_len) {
        /* Addresses are compared as numbers, with an optional "/bits" prefix. */
        const char *slash = memchr(a, '/', an);
        size_t base = slash ? (size_t)(slash - a) : an;
        unsigned bits = (unsigned)t->addr_len * 8;
        if (slash) {
            size_t dn = an - base - 1;
            if (dn == 0 || dn > 3)
                return false;
            bits = 0;
            for (size_t i = 0; i < dn; i++) {
                if (!is_digit(slash[1 + i]))
                    return false;
                bits = bits * 10u + (unsigned)(slash[1 + i] - '0');
            }
            if (bits > t->addr_len * 8)
                return false;
        }
        uint8_t net[16];
        size_t len = ipv4_bytes(a, base, net) ? 4 : ipv6_bytes(a, base, net) ? 16 : 0;
        return len == t->addr_len && prefix_equal(t->addr, net, bits);
    }

    /* Names: "*.example.com" and ".example.com" mean what "example.com" means,
     * the domain and everything below it; one trailing dot is insignificant. */
    if (an >= 2 && a[0] == '*' && a[1] == '.') {
        a++;
        an--;
    }
    if (an && a[0] == '.') {
        a++;
        an--;
    }
    if (an && a[an - 1] == '.')
        an--;
    if (an == 0 || an > t->name_len)
        return false;
    const char *tail = t->name + (t->name_len - an);
    if (!ieq_n(tail, a, an))
        return false;
    /* A label boundary, so "example.com" never matches "notexample.com". */
    return an == t->name_len || tail[-1] == '.';
}

bool wsc_proxy_bypass(const char *no_proxy, const char *host, uint16_t port)
{
    if (!no_proxy || !host || !host[0])
        return false;
    struct target t;
    memset(&t, 0, sizeof(t));
    t.port = port;
    /* An IPv6 zone names one of our interfaces; it is not part of the address. */
    size_t alen = strcspn(host, "%");
    if (ipv4_bytes(host, alen, t.addr)) {
        t.addr_len = 4;
    } else if (ipv6_bytes(host, alen, t.addr)) {
        t.addr_len = 16;
    } else {
        t.name = host;
        t.name_len = strlen(host);
        if (t.name[t.name_len - 1] == '.')
            t.name_len--;
    }
    /* curl separates entries with commas and tolerates blanks around them;
     * blanks also separate here, so "a b" is two entries, not a typo ignored. */
    for (const char *s = no_proxy; *s;) {
        size_t n = strcspn(s, ", \t");
        if (n > 0 && entry_matches(s, n, &t))
            return true;
        s += n;
        if (*s)
            s++;
    }
    return false;
}

/* ---- proxy URLs --------------------------------------------------------- */

static int parse_fail(struct wsc_proxy *p, const char **why, const char *msg)
{
    memset(p, 0, sizeof(*p));
    if (why)
        *why = msg;
    return WSC_EURL;
}

/*
 * Appends the percent-decoding (RFC 3986 2.1) of s[0..n) to out[*len..), keeping
 * room for the NUL. Control characters are refused in either form: RFC 7617 2
 * excludes them from credentials, and a CR or LF must never get near a header.
 * Returns NULL or why it failed.
 */
static const char *decode_into(const char *s, size_t n, char *out, size_t cap, size_t *len)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hex_value(s[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
            if (lo < 0)
                return "invalid percent-encoding in the proxy user name or password";
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (is_ctl(c))
            return "control characters are not allowed in the proxy user name or password";
        if (*len + 1 >= cap)
            return "proxy user name and password too long";
        out[(*len)++] = (char)c;
    }
    out[*len] = '\0';
    return NULL;
}

/* userinfo = user [":" password]; stored decoded as "user:password". */
static const char *parse_userinfo(const char *s, size_t n, struct wsc_proxy *p)
{
    size_t len = 0;
    if (n == 0)
        return NULL; /* "http://@host": no credentials */
    const char *colon = memchr(s, ':', n);
    size_t user_n = colon ? (size_t)(colon - s) : n;
    const char *err = decode_into(s, user_n, p->userinfo, sizeof(p->userinfo), &len);
    if (err)
        return err;
    /* RFC 7617 2: the user-id ends at the first ':', so it cannot hold one. */
    if (memchr(p->userinfo, ':', len))
        return "the proxy user name must not contain ':' (RFC 7617)";
    if (len + 1 >= sizeof(p->userinfo))
        return "proxy user name and password too long";
    p->userinfo[len++] = ':'; /* always present: "user" alone has an empty password */
    p->userinfo[len] = '\0';
    if (colon)
        return decode_into(colon + 1, n - user_n - 1, p->userinfo, sizeof(p->userinfo),
                           &len);
    return NULL;
}

/* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
static bool is_scheme(const char *s, size_t n)
{
    if (n == 0 || !is_alpha(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '+' && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

int wsc_proxy_parse(const char *text, struct wsc_proxy *p, const char **why)
{
    if (!p)
        return WSC_EINVAL;
    memset(p, 0, sizeof(*p));
    if (why)
        *why = NULL;
    if (!text || !text[0])
        return parse_fail(p, why, "no proxy given");

    const char *auth = text;
    const char *sep = strstr(text, "://");
    if (sep && is_scheme(text, (size_t)(sep - text))) {
        size_t n = (size_t)(sep - text);
        if (wsc__ieq(text, n, "https"))
            return parse_fail(p, why,
                              "https:// proxies (TLS to the proxy) are not supported; "
                              "use http://");
        if (n >= 5 && ieq_n(text, "socks", 5))
            return parse_fail(p, why, "SOCKS proxies are not supported; use an HTTP proxy");
        if (!wsc__ieq(text, n, "http"))
            return parse_fail(p, why, "unsupported proxy scheme (use http://)");
        auth = sep + 3;
    }

    /* RFC 3986 3.2: the authority ends at the first '/', '?' or '#'. A proxy
     * has no resource, so only a lone trailing '/' may follow. */
    size_t alen = strcspn(auth, "/?#");
    if (auth[alen] != '\0' && strcmp(auth + alen, "/") != 0)
        return parse_fail(p, why,
                          "a proxy has no path, query or fragment "
                          "(write http://[user:password@]host[:port])");

    /* The last '@' ends the userinfo, as in wsc_url_parse(). */
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@')
            at = auth + i;
    const char *hp = auth;
    size_t hplen = alen;
    if (at) {
        const char *err = parse_userinfo(auth, (size_t)(at - auth), p);
        if (err)
            return parse_fail(p, why, err);
        hp = at + 1;
        hplen = alen - (size_t)(hp - auth);
    }
    if (hplen == 0)
        return parse_fail(p, why, "missing proxy host name");

    /* Host and port have exactly the syntax of a ws:// authority: reuse that
     * parser (names, IPv4, bracketed IPv6 with zones, port range) rather than
     * keep a second copy of its rules. */
    char url[5 + WSC_PROXY_HOST_MAX + 16];
    if (hplen > sizeof(url) - 7)
        return parse_fail(p, why, "proxy host name too long");
    memcpy(url, "ws://", 5);
    memcpy(url + 5, hp, hplen);
    memcpy(url + 5 + hplen, "/", 2);
    struct wsc_url u;
    if (wsc_url_parse(url, &u) != 0)
        return parse_fail(p, why, u.error ? u.error : "invalid proxy host");

    memcpy(p->host, u.host, sizeof(p->host));
    p->ipv6 = u.ipv6;
    p->port = u.port_explicit ? u.port : WSC_PROXY_DEFAULT_PORT;
    return 0;
}

/* ---- the environment ---------------------------------------------------- */

/* curl's order (lib/url.c, detect_proxy): the scheme's own variable in lower
 * then upper case, the WebSocket fallback to the HTTP one, then all_proxy.
 * HTTP_PROXY is left out on purpose: under CGI it holds the client's "Proxy:"
 * request header, so an attacker could pick our proxy ("httpoxy"). */
static const char *const ws_vars[] = {"ws_proxy",  "WS_PROXY",  "http_proxy",
                                      "all_proxy", "ALL_PROXY", NULL};
static const char *const wss_vars[] = {
    "wss_proxy", "WSS_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", NULL};

/* As curl_getenv(): an empty variable is no variable. */
static const char *lookup(char *(*get)(const char *), const char *name)
{
    const char *v = get(name);
    return v && v[0] ? v : NULL;
}

int wsc_proxy_from_env(const struct wsc_url *target, char *(*get)(const char *name),
                       struct wsc_proxy *p, const char **why)
{
    if (!p)
        return WSC_EINVAL;
    memset(p, 0, sizeof(*p));
    if (why)
        *why = NULL;
    if (!target || !get)
        return WSC_EINVAL;

    /* no_proxy first, as curl: a bypassed host does not care whether the
     * proxy variable would have parsed. */
    const char *no_proxy = lookup(get, "no_proxy");
    if (!no_proxy)
        no_proxy = lookup(get, "NO_PROXY");
    if (wsc_proxy_bypass(no_proxy, target->host, target->port))
        return 0;

    for (const char *const *name = target->tls ? wss_vars : ws_vars; *name; name++) {
        const char *value = lookup(get, *name);
        if (!value)
            continue;
        int rc = wsc_proxy_parse(value, p, why);
        p->source = *name;
        return rc ? rc : 1;
    }
    return 0;
}

/* ---- the CONNECT exchange ----------------------------------------------- */

static void set_detail(char *detail, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_detail(char *detail, size_t len, const char *fmt, ...)
{
    if (!detail || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, len, fmt, ap);
    va_end(ap);
}

/* UINT64_MAX means no deadline. */
static uint64_t deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? UINT64_MAX : wsc_platform_now_ms() + (uint64_t)timeout_ms;
}

static int ms_left(uint64_t deadline)
{
    if (deadline == UINT64_MAX)
        return -1;
    uint64_t now = wsc_platform_now_ms();
    if (now >= deadline)
        return 0;
    uint64_t left = deadline - now;
    return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

/* Waits for @p events by the deadline: 0 when ready, WSC_ETIMEDOUT or an error. */
static int wait_for(const struct wsc_transport *tr, int events, uint64_t deadline)
{
    int left = ms_left(deadline);
    if (left == 0)
        return WSC_ETIMEDOUT;
    int rc = tr->ops->wait(tr->ctx, events, left);
    if (rc < 0)
        return rc;
    return rc == 0 ? WSC_ETIMEDOUT : 0;
}

/* Request text, with overflow noted instead of checked at every step. */
struct out {
    char *p;
    size_t len, cap;
    bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->overflow || o->cap - o->len < n) {
        o->overflow = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void put_str(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* RFC 9110 9.3.6 / 7.2: the authority-form target, "host:port", with an IPv6
 * literal in brackets. It appears twice: request target and Host. */
static void put_authority(struct out *o, const char *host, size_t host_len, bool ipv6,
                          uint16_t port)
{
    char digits[8];
    int n = snprintf(digits, sizeof(digits), ":%u", (unsigned)port);
    if (ipv6)
        put_str(o, "[");
    put(o, host, host_len);
    if (ipv6)
        put_str(o, "]");
    put(o, digits, (size_t)n);
}

/* The target must read as one host in the authority: a name or IPv4 address
 * (letters, digits, '-', '.', '_'), or an IPv6 literal (hex digits, ':', '.').
 * Anything else could end the request line early, add a header, or point the
 * tunnel elsewhere ("evil:80@good", a second ':'). */
static bool valid_target(const char *host, size_t n, bool ipv6)
{
    if (n == 0 || n >= WSC_URL_HOST_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = host[i];
        bool ok = ipv6 ? hex_value(c) >= 0 || c == ':' || c == '.'
                       : is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

/* Builds the CONNECT request. Returns 0, WSC_EINVAL or WSC_EHEADER. */
static int write_request(struct out *o, const struct wsc_proxy *p, const char *host,
                         bool ipv6, uint16_t port, char *detail, size_t detail_len)
{
    /* The zone of "fe80::1%eth0" names one of our interfaces, not the proxy's. */
    size_t host_len = ipv6 ? strcspn(host, "%") : strlen(host);
    if (!valid_target(host, host_len, ipv6)) {
        set_detail(detail, detail_len, "invalid target host for CONNECT");
        return WSC_EINVAL;
    }
    put_str(o, "CONNECT ");
    put_authority(o, host, host_len, ipv6, port);
    put_str(o, " HTTP/1.1\r\nHost: ");
    put_authority(o, host, host_len, ipv6, port);
    put_str(o, "\r\n");

    if (p && p->userinfo[0]) {
        size_t n = 0;
        while (n < sizeof(p->userinfo) && p->userinfo[n])
            n++;
        bool bad = n == sizeof(p->userinfo);
        for (size_t i = 0; i < n && !bad; i++)
            bad = is_ctl((unsigned char)p->userinfo[i]);
        if (bad) {
            set_detail(detail, detail_len,
                       "proxy credentials contain a control character or are too long");
            return WSC_EHEADER;
        }
        /* RFC 7617 2: credentials are base64("user-id:password"); a struct
         * filled by hand with a bare user name still gets its ':'. */
        uint8_t cred[WSC_PROXY_USERINFO_MAX + 1];
        memcpy(cred, p->userinfo, n);
        if (!memchr(cred, ':', n))
            cred[n++] = ':';
        char b64[WSC__BASE64_LEN(WSC_PROXY_USERINFO_MAX + 1)];
        size_t b64_len = wsc__base64_encode(cred, n, b64);
        put_str(o, "Proxy-Authorization: Basic ");
        put(o, b64, b64_len);
        put_str(o, "\r\n");
    }
    put_str(o, "\r\n");
    if (o->overflow) { /* cannot happen with the limits above; be safe anyway */
        set_detail(detail, detail_len, "CONNECT request too long");
        return WSC_EINVAL;
    }
    return 0;
}

/* The reply so far could still be HTTP: "HTTP/" or a prefix of it. A SOCKS or
 * TLS server on the proxy port then fails at once with a clear message instead
 * of after a timeout or a 4 KiB head. */
static bool looks_like_http(const struct wsc_handshake *hs)
{
    size_t n = hs->head_len < 5 ? hs->head_len : 5;
    return memcmp(hs->head, "HTTP/", n) == 0;
}

/* The reason phrase for a message: printable ASCII only, at most 100 bytes. */
static void printable(char *dst, size_t cap, const char *s, size_t n)
{
    size_t i = 0;
    for (; i < n && i + 1 < cap && i < 100; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    dst[i] = '\0';
}

int wsc_proxy_start(struct wsc_proxy_exchange *x, const struct wsc_proxy *p, const char *host,
                    bool host_ipv6, uint16_t port, char *detail, size_t detail_len)
{
    set_detail(detail, detail_len, "%s", "");
    if (!x || !host || port == 0) {
        set_detail(detail, detail_len, "invalid arguments to wsc_proxy_start");
        return WSC_EINVAL;
    }
    struct out o = {x->request, 0, sizeof(x->request), false};
    int rc = write_request(&o, p, host, host_ipv6, port, detail, detail_len);
    if (rc)
        return rc;
    x->request_len = o.len;
    x->request_sent = 0;
    wsc_handshake_init(&x->hs, NULL, x->head, sizeof(x->head), x->headers,
                       WSC_PROXY_HEADERS_MAX);
    x->pos = x->end = 0;
    return 0;
}

/* The rest of the request, as far as the transport takes it. */
static int send_request(struct wsc_proxy_exchange *x, const struct wsc_transport *tr, int *want,
                        char *detail, size_t detail_len)
{
    while (x->request_sent < x->request_len) {
        size_t n = 0;
        int rc = tr->ops->send(tr->ctx, (const uint8_t *)x->request + x->request_sent,
                               x->request_len - x->request_sent, &n);
        if (rc == WSC_EAGAIN) {
            *want = WSC_WAIT_WRITE;
            return rc;
        }
        if (rc) {
            set_detail(detail, detail_len, "sending CONNECT to the proxy failed: %s",
                       wsc_strerror(rc));
            return rc;
        }
        x->request_sent += n;
    }
    return 0;
}

/* Judges a complete head: 0 for a 2xx (the tunnel), WSC_EAGAIN to read the
 * next head after an interim 1xx, else WSC_EPROXY. */
static int judge_reply(struct wsc_proxy_exchange *x, char *detail, size_t detail_len)
{
    const struct wsc_handshake *hs = &x->hs;
    if (hs->status >= 100 && hs->status < 200 && hs->status != 101) {
        /* RFC 9110 15.2: interim replies precede the final one; parse the
         * next head from the bytes that follow. */
        wsc_handshake_init(&x->hs, NULL, x->head, sizeof(x->head), x->headers,
                           WSC_PROXY_HEADERS_MAX);
        return WSC_EAGAIN;
    }
    if (hs->status >= 200 && hs->status < 300)
        return 0;
    char reason[104];
    printable(reason, sizeof(reason), hs->reason, hs->reason_len);
    set_detail(detail, detail_len, "proxy refused CONNECT: %d%s%s", hs->status,
               reason[0] ? " " : "", reason);
    return WSC_EPROXY;
}

int wsc_proxy_step(struct wsc_proxy_exchange *x, const struct wsc_transport *tr, uint8_t *in,
                   size_t in_cap, size_t *in_len, int *want, char *detail, size_t detail_len)
{
    set_detail(detail, detail_len, "%s", "");
    if (in_len)
        *in_len = 0;
    if (want)
        *want = 0;
    if (!x || !tr || !tr->ops || !in || in_cap == 0 || !in_len || !want) {
        set_detail(detail, detail_len, "invalid arguments to wsc_proxy_step");
        return WSC_EINVAL;
    }
    int rc = send_request(x, tr, want, detail, detail_len);
    if (rc)
        return rc;
    for (;;) {
        if (x->pos == x->end) {
            /* Everything read so far is parsed: only now read again. */
            size_t got = 0;
            rc = tr->ops->recv(tr->ctx, in, in_cap, &got);
            if (rc == WSC_EAGAIN) {
                *want = WSC_WAIT_READ;
                return rc;
            }
            if (rc) {
                set_detail(detail, detail_len, "reading the proxy's reply failed: %s",
                           wsc_strerror(rc));
                return rc;
            }
            if (got == 0) {
                set_detail(detail, detail_len, "proxy closed the connection");
                return WSC_EEOF;
            }
            x->pos = 0;
            x->end = got;
        }
        size_t used;
        rc = wsc_handshake_parse(&x->hs, in + x->pos, x->end - x->pos, &used);
        x->pos += used;
        /* Checked on every outcome, so the verdict cannot depend on whether
         * the head arrived in one read or many. */
        if (!looks_like_http(&x->hs)) {
            set_detail(detail, detail_len,
                       "the proxy's reply is not HTTP (is it an HTTP proxy?)");
            return WSC_EPROXY;
        }
        if (rc == WSC_EAGAIN)
            continue;
        if (rc == WSC_EHS_TOO_LARGE) {
            set_detail(detail, detail_len, "the proxy's reply head exceeds %d bytes",
                       WSC_PROXY_HEAD_MAX);
            return WSC_EPROXY;
        }
        /* Too many header fields still means a complete head with a parsed
         * status line; a tunnel needs no header, so only the table is short. */
        if (rc != 0 && rc != WSC_EHS_TOO_MANY) {
            set_detail(detail, detail_len, "the proxy sent a malformed reply to CONNECT");
            return WSC_EPROXY;
        }
        rc = judge_reply(x, detail, detail_len);
        if (rc == WSC_EAGAIN)
            continue;
        if (rc)
            return rc;
        /* RFC 9110 9.3.6: after a 2xx the connection is the tunnel, right
         * after the blank line (a Content-Length here means nothing), so
         * what followed the head is the peer's first bytes: keep them. */
        memmove(in, in + x->pos, x->end - x->pos);
        *in_len = x->end - x->pos;
        return 0;
    }
}

int wsc_proxy_connect(const struct wsc_transport *tr, const struct wsc_proxy *p,
                      const char *host, bool host_ipv6, uint16_t port, uint8_t *in,
                      size_t in_cap, size_t *in_len, int timeout_ms, char *detail,
                      size_t detail_len)
{
    set_detail(detail, detail_len, "%s", "");
    if (in_len)
        *in_len = 0;
    if (!tr || !tr->ops || !host || !in || in_cap == 0 || !in_len || port == 0) {
        set_detail(detail, detail_len, "invalid arguments to wsc_proxy_connect");
        return WSC_EINVAL;
    }
    uint64_t deadline = deadline_after(timeout_ms);
    struct wsc_proxy_exchange x;
    int rc = wsc_proxy_start(&x, p, host, host_ipv6, port, detail, detail_len);
    while (rc == 0) {
        int want = 0;
        rc = wsc_proxy_step(&x, tr, in, in_cap, in_len, &want, detail, detail_len);
        if (rc != WSC_EAGAIN)
            break;
        /* wait_for() tries no read first: the step just found nothing to read
         * and the proxy exchange runs over plain TCP, which holds no bytes. */
        rc = wait_for(tr, want, deadline);
        const char *doing = want == WSC_WAIT_WRITE ? "sending CONNECT to the proxy"
                                                   : "waiting for the proxy's reply to CONNECT";
        if (rc == WSC_ETIMEDOUT)
            set_detail(detail, detail_len, "timed out %s", doing);
        else if (rc)
            set_detail(detail, detail_len, "%s failed: %s", doing, wsc_strerror(rc));
    }
    return rc;
}
