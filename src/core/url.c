/*
 * ws:// and wss:// URL parsing (RFC 6455 3, with the generic syntax of RFC 3986).
 *
 *   ws-URI  = "ws:"  "//" [ userinfo "@" ] host [ ":" port ] path [ "?" query ]
 *   wss-URI = "wss:" "//" [ userinfo "@" ] host [ ":" port ] path [ "?" query ]
 *
 * RFC 6455 itself has no userinfo; it is accepted (and kept as written) so that
 * a front end can turn it into an Authorization header. Every rejection sets
 * u->error to a static sentence naming the problem.
 */
#include <string.h>

#include "core/wsc_internal.h"
#include "wsc/wsc_core.h"

/* Clears every field, so a failed parse never leaves half a URL behind. */
static int fail(struct wsc_url *u, const char *why)
{
    memset(u, 0, sizeof(*u));
    u->error = why;
    return WSC_EURL;
}

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Copies s[0..n) lowercased and NUL-terminates; the caller checked the room. */
static void copy_lower(char *dst, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = wsc__lower(s[i]);
    dst[n] = '\0';
}

/*
 * RFC 3986 3.2.2 dotted-decimal IPv4: four decimal octets 0..255. Leading zeros
 * are refused because inet_aton() and therefore many getaddrinfo()s would read
 * "010" as octal 8, so the same text could mean different hosts.
 */
static bool valid_ipv4(const char *s, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        size_t start = i;
        unsigned v = 0;
        if (part > 0) {
            if (i >= n || s[i] != '.')
                return false;
            start = ++i;
        }
        while (i < n && is_digit(s[i]) && i - start < 3)
            v = v * 10u + (unsigned)(s[i++] - '0');
        if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
            return false;
    }
    return i == n;
}

/*
 * RFC 4291 2.2 text form: eight groups of 1-4 hex digits separated by ':', at
 * most one "::" standing for one or more zero groups, and optionally an IPv4
 * address in place of the last two groups.
 */
static bool valid_ipv6(const char *s, size_t n)
{
    size_t i = 0, groups = 0;
    bool gap = false;

    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = true;
        i = 2;
        if (i == n)
            return true;
    }
    for (;;) {
        size_t start = i;
        while (i < n && is_hex(s[i]) && i - start < 5)
            i++;
        if (i < n && s[i] == '.') {
            /* An IPv4 tail ends the address and fills two groups. */
            if (!valid_ipv4(s + start, n - start))
                return false;
            groups += 2;
            break;
        }
        if (i == start || i - start > 4)
            return false;
        groups++;
        if (i == n)
            break;
        if (s[i] != ':')
            return false;
        i++;
        if (i < n && s[i] == ':') {
            if (gap)
                return false;
            gap = true;
            i++;
            if (i == n)
                break;
        } else if (i == n) {
            return false; /* a single trailing ':' */
        }
    }
    return gap ? groups <= 7 : groups == 8;
}

/*
 * The inside of "[...]". A zone (RFC 6874) is written "%25" plus the zone name
 * in a URL; it is stored with a bare '%' ("fe80::1%eth0"), the form that
 * getaddrinfo() understands. Zone names are case-sensitive, so only the address
 * is lowercased.
 */
static int parse_ipv6(struct wsc_url *u, const char *s, size_t n)
{
    const char *pct = memchr(s, '%', n);
    size_t alen = pct ? (size_t)(pct - s) : n;
    size_t zlen = 0;

    if (!valid_ipv6(s, alen))
        return fail(u, "invalid IPv6 address literal");
    if (pct) {
        if (n - alen < 3 || pct[1] != '2' || pct[2] != '5')
            return fail(u, "an IPv6 zone must be written as %25 followed by its name "
                           "(RFC 6874)");
        zlen = n - alen - 3;
        if (zlen == 0)
            return fail(u, "empty IPv6 zone name after %25");
        for (size_t i = 0; i < zlen; i++) {
            char c = pct[3 + i];
            /* RFC 6874 2: ZoneID = 1*( unreserved / pct-encoded ); the encoded
             * form is not supported, no interface name needs it. */
            if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_' &&
                c != '~')
                return fail(u, "invalid character in IPv6 zone name");
        }
    }
    if (alen + (pct ? 1 + zlen : 0) >= sizeof(u->host))
        return fail(u, "host name too long");
    copy_lower(u->host, s, alen);
    if (pct) {
        u->host[alen] = '%';
        memcpy(u->host + alen + 1, pct + 3, zlen);
        u->host[alen + 1 + zlen] = '\0';
    }
    u->ipv6 = true;
    return 0;
}

/*
 * A registered name or an IPv4 address (RFC 3986 3.2.2). Names are limited to
 * letters, digits, '-', '.' and '_' (what DNS and hosts files use); anything
 * made only of digits and dots must be a valid dotted-quad, because resolvers
 * would otherwise read it as an address in some other notation.
 */
static int parse_host(struct wsc_url *u, const char *s, size_t n)
{
    bool numeric = true;

    if (n == 0)
        return fail(u, "missing host name");
    if (n >= sizeof(u->host))
        return fail(u, "host name too long");
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_')
            return fail(u, "invalid character in host name");
        if (!is_digit(c) && c != '.')
            numeric = false;
    }
    if (numeric && !valid_ipv4(s, n))
        return fail(u, "invalid IPv4 address");
    copy_lower(u->host, s, n);
    return 0;
}

/* RFC 3986 3.2.3: port = *DIGIT; an empty port is allowed there but almost
 * always a typo, so it is refused. Port 0 cannot be connected to. */
static int parse_port(struct wsc_url *u, const char *s, size_t n)
{
    uint32_t v = 0;

    if (n == 0)
        return fail(u, "missing port number after ':'");
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return fail(u, "the port is not a decimal number");
        v = v * 10u + (uint32_t)(s[i] - '0');
        if (v > 65535)
            return fail(u, "port out of range (1-65535)");
    }
    if (v == 0)
        return fail(u, "port out of range (1-65535)");
    u->port = (uint16_t)v;
    u->port_explicit = true;
    return 0;
}

/* Checks characters that are wrong anywhere in a URL, so that each gets a
 * precise message before the structure is looked at. */
static int check_chars(struct wsc_url *u, const char *text)
{
    for (const char *c = text; *c != '\0'; c++) {
        unsigned char ch = (unsigned char)*c;
        if (ch == ' ')
            return fail(u, "spaces are not allowed in URLs (percent-encode them as %20)");
        if (ch < 0x20 || ch == 0x7f)
            return fail(u, "control characters are not allowed in URLs");
        if (ch >= 0x80)
            return fail(u, "non-ASCII characters must be percent-encoded in URLs");
        /* '#' cannot appear unencoded anywhere but at the start of a fragment. */
        if (ch == '#')
            return fail(u, "URL fragments are not allowed in WebSocket URLs (RFC 6455 3)");
    }
    return 0;
}

/* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), compared
 * case-insensitively. Returns the length of "scheme://" or sets the error. */
static int parse_scheme(struct wsc_url *u, const char *text, size_t *len)
{
    size_t n = 0;

    if (is_alpha(text[0])) {
        n = 1;
        while (is_alpha(text[n]) || is_digit(text[n]) || text[n] == '+' ||
               text[n] == '-' || text[n] == '.')
            n++;
    }
    if (n == 0 || text[n] != ':')
        return fail(u, "missing scheme (the URL must start with ws:// or wss://)");
    if (wsc__ieq(text, n, "ws")) {
        u->tls = false;
    } else if (wsc__ieq(text, n, "wss")) {
        u->tls = true;
    } else if (wsc__ieq(text, n, "http")) {
        return fail(u, "unsupported scheme 'http' (use ws:// or wss://)");
    } else if (wsc__ieq(text, n, "https")) {
        return fail(u, "unsupported scheme 'https' (use ws:// or wss://)");
    } else {
        return fail(u, "unsupported scheme (use ws:// or wss://)");
    }
    if (text[n + 1] != '/' || text[n + 2] != '/')
        return fail(u, "expected '//' after the scheme");
    *len = n + 3;
    return 0;
}

int wsc_url_parse(const char *text, struct wsc_url *u)
{
    const char *auth, *at = NULL, *port = NULL, *rest;
    size_t alen, plen = 0, skip = 0;
    int r;

    if (u == NULL)
        return WSC_EINVAL;
    memset(u, 0, sizeof(*u));
    if (text == NULL)
        return fail(u, "no URL given");
    if ((r = check_chars(u, text)) != 0 || (r = parse_scheme(u, text, &skip)) != 0)
        return r;

    /* RFC 3986 3.2: the authority ends at the first '/' or '?' ('#' is gone). */
    auth = text + skip;
    alen = strcspn(auth, "/?");
    rest = auth + alen;

    /* The last '@' ends the userinfo, as browsers do: an '@' in a password is
     * more likely than one in a host name. */
    for (size_t i = 0; i < alen; i++) {
        if (auth[i] == '@')
            at = auth + i;
    }
    if (at) {
        size_t ulen = (size_t)(at - auth);
        if (ulen >= sizeof(u->userinfo))
            return fail(u, "userinfo (user:password) too long");
        memcpy(u->userinfo, auth, ulen);
        u->userinfo[ulen] = '\0';
        alen -= ulen + 1;
        auth = at + 1;
    }

    if (alen > 0 && auth[0] == '[') {
        /* RFC 3986 3.2.2: IP-literal = "[" IPv6address "]". */
        const char *close = memchr(auth, ']', alen);
        size_t after;
        if (close == NULL)
            return fail(u, "unterminated IPv6 address literal (missing ']')");
        if ((r = parse_ipv6(u, auth + 1, (size_t)(close - auth) - 1)) != 0)
            return r;
        after = (size_t)(close + 1 - auth);
        if (after < alen) {
            if (close[1] != ':')
                return fail(u, "unexpected character after IPv6 address literal");
            port = close + 2;
            plen = alen - after - 1;
        }
    } else {
        const char *colon = memchr(auth, ':', alen);
        size_t hlen = colon ? (size_t)(colon - auth) : alen;
        if ((r = parse_host(u, auth, hlen)) != 0)
            return r;
        if (colon) {
            port = colon + 1;
            plen = alen - hlen - 1;
        }
    }

    if (port) {
        if ((r = parse_port(u, port, plen)) != 0)
            return r;
    } else {
        /* RFC 6455 3: the default ports are 80 (ws) and 443 (wss). */
        u->port = u->tls ? 443 : 80;
    }

    /* RFC 6455 3: resource name = path (or "/" if empty) plus "?" query. */
    {
        size_t rlen = strlen(rest);
        size_t off = rest[0] == '/' ? 0 : 1;
        if (off + rlen >= sizeof(u->resource))
            return fail(u, "path and query too long");
        u->resource[0] = '/';
        memcpy(u->resource + off, rest, rlen);
        u->resource[off + rlen] = '\0';
    }
    u->error = NULL;
    return 0;
}
