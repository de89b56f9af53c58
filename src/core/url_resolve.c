/* Redirect targets (RFC 3986 5.2, the subset an HTTP Location needs) and userinfo. */
#include <string.h>

#include "core/wsc_internal.h"

static bool has_prefix_ci(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && wsc__ieq(s, n, prefix);
}

/* strcspn over a length-delimited string. */
static size_t strcspn_n(const char *s, size_t len, const char *reject)
{
    size_t i = 0;
    while (i < len && !strchr(reject, s[i]))
        i++;
    return i;
}

struct buf {
    char *p;
    size_t len, cap;
    bool overflow;
};

static void add(struct buf *b, const char *s, size_t n)
{
    if (b->overflow || b->cap - b->len <= n) {
        b->overflow = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void add_str(struct buf *b, const char *s) { add(b, s, strlen(s)); }

static void add_authority(struct buf *b, const struct wsc_url *base)
{
    add_str(b, base->tls ? "wss://" : "ws://");
    if (base->ipv6) {
        /* The zone is stored as "fe80::1%eth0" but written "%25eth0" in a URL
         * (RFC 6874 2), which is what wsc_url_parse() reads back. */
        const char *zone = strchr(base->host, '%');
        add_str(b, "[");
        add(b, base->host, zone ? (size_t)(zone - base->host) : strlen(base->host));
        if (zone) {
            add_str(b, "%25");
            add_str(b, zone + 1);
        }
        add_str(b, "]");
    } else {
        add_str(b, base->host);
    }
    char port[8];
    size_t n = 0;
    uint16_t v = base->port;
    char digits[5];
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    port[0] = ':';
    for (size_t i = 0; i < n; i++)
        port[1 + i] = digits[n - 1 - i];
    add(b, port, n + 1);
}

int wsc_url_resolve(const struct wsc_url *base, const char *loc, size_t len, char *out,
                    size_t cap)
{
    if (!base || !loc || !out || cap == 0)
        return WSC_EINVAL;
    out[0] = '\0';
    /* A fragment never reaches the server (RFC 6455 3). */
    const char *hash = memchr(loc, '#', len);
    if (hash)
        len = (size_t)(hash - loc);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)loc[i] <= 0x20 || loc[i] == 0x7f)
            return WSC_EURL;
    struct buf b = {out, 0, cap, false};
    /* loc need not be NUL-terminated: test the index before reading there. */
    size_t scheme_end = strcspn_n(loc, len, ":/?");
    if (has_prefix_ci(loc, len, "http://") || has_prefix_ci(loc, len, "https://")) {
        /* An HTTP server redirecting the upgrade names an http(s) URL: same
         * host semantics, WebSocket scheme (RFC 6455 3: ws maps to http). */
        bool tls = wsc__lower(loc[4]) == 's';
        add_str(&b, tls ? "wss" : "ws");
        add(&b, loc + (tls ? 5 : 4), len - (tls ? 5 : 4));
    } else if (has_prefix_ci(loc, len, "ws://") || has_prefix_ci(loc, len, "wss://")) {
        add(&b, loc, len);
    } else if (len >= 2 && loc[0] == '/' && loc[1] == '/') {
        add_str(&b, base->tls ? "wss:" : "ws:");
        add(&b, loc, len);
    } else if (scheme_end < len && loc[scheme_end] == ':') {
        return WSC_EURL; /* another scheme: nothing a WebSocket client can follow */
    } else {
        add_authority(&b, base);
        const char *path = base->resource; /* always starts with '/' */
        size_t path_len = strcspn(path, "?");
        if (len == 0) {
            add_str(&b, path);
        } else if (loc[0] == '/') {
            add(&b, loc, len);
        } else if (loc[0] == '?') {
            add(&b, path, path_len);
            add(&b, loc, len);
        } else {
            /* Relative: replace the last segment of the base path. Dot segments
             * are passed through as written; servers resolve them. */
            size_t dir = path_len;
            while (dir > 0 && path[dir - 1] != '/')
                dir--;
            add(&b, path, dir);
            add(&b, loc, len);
        }
    }
    return b.overflow ? WSC_ENOBUFS : 0;
}

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = wsc__lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int wsc_url_percent_decode(const char *in, size_t len, char *out, size_t cap, size_t *n)
{
    size_t o = 0;
    *n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            if (len - i < 3 || hex(in[i + 1]) < 0 || hex(in[i + 2]) < 0)
                return WSC_EURL;
            c = (char)(hex(in[i + 1]) << 4 | hex(in[i + 2]));
            i += 2;
        }
        if (o == cap)
            return WSC_ENOBUFS;
        out[o++] = c;
    }
    *n = o;
    return 0;
}
