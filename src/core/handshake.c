/* RFC 6455 4.1 opening handshake: the client's request and the check of the 101. */
#include <string.h>

#include "core/wsc_internal.h"

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void wsc_handshake_accept_for(const char key[WSC_HANDSHAKE_KEY_LEN],
                              char out[WSC_HANDSHAKE_ACCEPT_LEN])
{
    struct wsc__sha1 s;
    uint8_t digest[WSC__SHA1_LEN];
    wsc__sha1_init(&s);
    wsc__sha1_update(&s, key, WSC_HANDSHAKE_KEY_LEN);
    wsc__sha1_update(&s, GUID, sizeof(GUID) - 1);
    wsc__sha1_final(&s, digest);
    wsc__base64_encode(digest, sizeof(digest), out);
}

int wsc_handshake_init(struct wsc_handshake *hs, const struct wsc_request_info *req,
                       char *head_buf, size_t head_cap, struct wsc_header *headers,
                       size_t header_cap)
{
    if (!hs || (req && !req->host) || !head_buf || head_cap < 64 || !headers ||
        header_cap == 0)
        return WSC_EINVAL;
    memset(hs, 0, sizeof(*hs));
    hs->req = req;
    hs->head = head_buf;
    hs->head_cap = head_cap;
    hs->headers = headers;
    hs->header_cap = header_cap;
    return 0;
}

/* ---- request writer --------------------------------------------------- */

struct out {
    char *p;
    size_t len, cap;
    bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (n == 0)
        return; /* an empty user header value may have a NULL pointer */
    if (o->overflow || o->cap - o->len < n) {
        o->overflow = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s) { put(o, s, strlen(s)); }

static void put_port(struct out *o, uint16_t port)
{
    char digits[5];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + port % 10);
        port /= 10;
    } while (port);
    while (n)
        put(o, &digits[--n], 1);
}

/* RFC 7230 3.2.6 tchar. */
static bool is_tchar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar(s[i]))
            return false;
    return true;
}

/* Field values: visible characters, spaces, tabs and obs-text; never CR, LF or NUL. */
static bool is_field_value(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

/* Headers wsc writes itself; setting them by hand would break the handshake. */
static bool is_reserved_header(const char *name, size_t n)
{
    static const char *const reserved[] = {"host", "upgrade", "connection",
                                           "content-length", "transfer-encoding"};
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (wsc__ieq(name, n, reserved[i]))
            return true;
    return n >= 14 && wsc__ieq(name, 14, "sec-websocket-");
}

static int check_request(const struct wsc_request_info *r)
{
    size_t hl = strlen(r->host);
    if (hl == 0 || !is_field_value(r->host, hl) || memchr(r->host, ' ', hl) ||
        memchr(r->host, '\t', hl))
        return WSC_EINVAL;
    if (r->resource) {
        size_t rl = strlen(r->resource);
        if (rl == 0 || r->resource[0] != '/')
            return WSC_EINVAL;
        for (size_t i = 0; i < rl; i++)
            if ((unsigned char)r->resource[i] <= 0x20 || r->resource[i] == 0x7f)
                return WSC_EINVAL;
    }
    if (r->origin && !is_field_value(r->origin, strlen(r->origin)))
        return WSC_EHEADER;
    for (size_t i = 0; i < r->protocol_count; i++)
        if (!r->protocols[i] || !is_token(r->protocols[i], strlen(r->protocols[i])))
            return WSC_EHEADER;
    for (size_t i = 0; i < r->header_count; i++) {
        const struct wsc_header *h = &r->headers[i];
        if (!h->name || !is_token(h->name, h->name_len) || is_reserved_header(h->name, h->name_len))
            return WSC_EHEADER;
        if (h->value_len && (!h->value || !is_field_value(h->value, h->value_len)))
            return WSC_EHEADER;
        if (r->origin && wsc__ieq(h->name, h->name_len, "origin"))
            return WSC_EHEADER;
    }
    return 0;
}

int wsc_handshake_write_request(struct wsc_handshake *hs,
                                const uint8_t nonce[WSC_HANDSHAKE_NONCE_LEN], char *out,
                                size_t cap, size_t *written)
{
    *written = 0;
    const struct wsc_request_info *r = hs->req;
    if (!r)
        return WSC_EINVAL;
    int rc = check_request(r);
    if (rc)
        return rc;
    /* RFC 7692 5 and 7: the offer, "permessage-deflate" and its parameters.
     * An offer set without wsc_pmd_enable() has no code to write it. */
    char ext[WSC_PMD_OFFER_MAX];
    if (r->deflate &&
        (!r->deflate_ops || r->deflate_ops->write_offer(r->deflate, ext, sizeof(ext)) < 0))
        return WSC_EINVAL;

    char key[WSC_HANDSHAKE_KEY_LEN];
    wsc__base64_encode(nonce, WSC_HANDSHAKE_NONCE_LEN, key);
    wsc_handshake_accept_for(key, hs->accept);

    struct out o = {out, 0, cap, false};
    puts_(&o, "GET ");
    puts_(&o, r->resource ? r->resource : "/");
    puts_(&o, " HTTP/1.1\r\nHost: ");
    bool v6 = strchr(r->host, ':') != NULL;
    if (v6)
        puts_(&o, "[");
    /* An IPv6 zone ("%eth0") is local to this host and has no place in Host. */
    put(&o, r->host, v6 ? strcspn(r->host, "%") : strlen(r->host));
    if (v6)
        puts_(&o, "]");
    /* RFC 6455 4.1 / RFC 7230 5.4: the port only when it is not the default. */
    if (r->port != 0 && r->port != (r->tls ? 443 : 80)) {
        puts_(&o, ":");
        put_port(&o, r->port);
    }
    puts_(&o, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    put(&o, key, sizeof(key));
    puts_(&o, "\r\nSec-WebSocket-Version: 13\r\n");
    if (r->origin) {
        puts_(&o, "Origin: ");
        puts_(&o, r->origin);
        puts_(&o, "\r\n");
    }
    if (r->protocol_count) {
        puts_(&o, "Sec-WebSocket-Protocol: ");
        for (size_t i = 0; i < r->protocol_count; i++) {
            if (i)
                puts_(&o, ", ");
            puts_(&o, r->protocols[i]);
        }
        puts_(&o, "\r\n");
    }
    if (r->deflate) {
        puts_(&o, "Sec-WebSocket-Extensions: ");
        puts_(&o, ext);
        puts_(&o, "\r\n");
    }
    for (size_t i = 0; i < r->header_count; i++) {
        const struct wsc_header *h = &r->headers[i];
        put(&o, h->name, h->name_len);
        puts_(&o, ": ");
        put(&o, h->value, h->value_len);
        puts_(&o, "\r\n");
    }
    puts_(&o, "\r\n");
    if (o.overflow)
        return WSC_ENOBUFS;
    *written = o.len;
    return 0;
}

/* ---- response parser -------------------------------------------------- */

static bool is_ows(char c) { return c == ' ' || c == '\t'; }

/* Splits the head into lines; fills status fields and the header table. */
static int parse_head(struct wsc_handshake *hs)
{
    const char *p = hs->head, *end = hs->head + hs->head_len;
    size_t line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl;
        if (le > p && le[-1] == '\r')
            le--;
        size_t n = (size_t)(le - p);
        if (memchr(p, '\r', n) || memchr(p, '\0', n))
            return WSC_EHS_MALFORMED; /* bare CR or NUL inside a line */
        if (n == 0) {
            if (line == 0) /* tolerate nothing before the status line */
                return WSC_EHS_MALFORMED;
            break;
        }
        if (line == 0) {
            /* HTTP-version SP 3DIGIT [SP reason-phrase] */
            if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' ||
                p[8] != ' ')
                return WSC_EHS_MALFORMED;
            int code = 0;
            for (int i = 9; i < 12; i++) {
                if (p[i] < '0' || p[i] > '9')
                    return WSC_EHS_MALFORMED;
                code = code * 10 + (p[i] - '0');
            }
            if (n > 12 && p[12] != ' ')
                return WSC_EHS_MALFORMED;
            hs->status = code;
            hs->reason = n > 13 ? p + 13 : p + n;
            hs->reason_len = n > 13 ? n - 13 : 0;
        } else {
            /* RFC 7230 3.2.4: no obs-fold, no space before the colon. */
            if (is_ows(p[0]))
                return WSC_EHS_MALFORMED;
            const char *colon = memchr(p, ':', n);
            if (!colon || !is_token(p, (size_t)(colon - p)))
                return WSC_EHS_MALFORMED;
            if (hs->header_count == hs->header_cap)
                return WSC_EHS_TOO_MANY;
            const char *v = colon + 1, *ve = le;
            while (v < ve && is_ows(*v))
                v++;
            while (ve > v && is_ows(ve[-1]))
                ve--;
            struct wsc_header *h = &hs->headers[hs->header_count++];
            h->name = p;
            h->name_len = (size_t)(colon - p);
            h->value = v;
            h->value_len = (size_t)(ve - v);
        }
        line++;
        p = nl + 1;
    }
    return 0;
}

const struct wsc_header *wsc_handshake_header(const struct wsc_handshake *hs,
                                              const char *name)
{
    for (size_t i = 0; i < hs->header_count; i++)
        if (wsc__ieq(hs->headers[i].name, hs->headers[i].name_len, name))
            return &hs->headers[i];
    return NULL;
}

/*
 * Walks the comma-separated tokens of every header called @p name. Returns the
 * number of tokens; *found is set when one equals @p want case-insensitively.
 */
static size_t scan_tokens(const struct wsc_handshake *hs, const char *name,
                          const char *want, bool *found)
{
    size_t count = 0;
    *found = false;
    for (size_t i = 0; i < hs->header_count; i++) {
        const struct wsc_header *h = &hs->headers[i];
        if (!wsc__ieq(h->name, h->name_len, name))
            continue;
        const char *p = h->value, *end = h->value + h->value_len;
        while (p < end) {
            const char *c = memchr(p, ',', (size_t)(end - p));
            const char *te = c ? c : end;
            const char *ts = p;
            while (ts < te && is_ows(*ts))
                ts++;
            while (te > ts && is_ows(te[-1]))
                te--;
            if (te > ts) {
                count++;
                if (wsc__ieq(ts, (size_t)(te - ts), want))
                    *found = true;
            }
            p = c ? c + 1 : end;
        }
    }
    return count;
}

static size_t count_headers(const struct wsc_handshake *hs, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < hs->header_count; i++)
        if (wsc__ieq(hs->headers[i].name, hs->headers[i].name_len, name))
            n++;
    return n;
}

/* RFC 6455 4.1, the client's checks of the server's opening handshake. */
static int check_101(struct wsc_handshake *hs)
{
    bool found;
    if (hs->status != 101)
        return WSC_EHS_STATUS;
    if (memcmp(hs->head, "HTTP/1.1", 8) != 0)
        return WSC_EHS_MALFORMED;
    if (scan_tokens(hs, "upgrade", "websocket", &found) != 1 || !found)
        return WSC_EHS_UPGRADE;
    scan_tokens(hs, "connection", "upgrade", &found);
    if (!found)
        return WSC_EHS_CONNECTION;

    const struct wsc_header *acc = wsc_handshake_header(hs, "sec-websocket-accept");
    if (!acc || count_headers(hs, "sec-websocket-accept") != 1 ||
        acc->value_len != WSC_HANDSHAKE_ACCEPT_LEN)
        return WSC_EHS_ACCEPT;
    unsigned diff = 0;
    for (size_t i = 0; i < WSC_HANDSHAKE_ACCEPT_LEN; i++)
        diff |= (unsigned)(acc->value[i] ^ hs->accept[i]);
    if (diff)
        return WSC_EHS_ACCEPT;

    /* RFC 6455 4.1 (6) and 9.1: only an extension we offered may come back;
     * RFC 7692 7: permessage-deflate's answer must fit our offer. No header:
     * the server declined, and the connection runs without extensions. */
    struct wsc_pmd_params pmd = {false, false, 0, 0};
    bool deflate = count_headers(hs, "sec-websocket-extensions") > 0;
    if (deflate) {
        const struct wsc_request_info *r = hs->req;
        if (!r->deflate || !r->deflate_ops)
            return WSC_EHS_EXTENSION;
        int rc =
            r->deflate_ops->parse_fields(r->deflate, hs->headers, hs->header_count, &pmd);
        if (rc)
            return rc;
    }

    const struct wsc_header *proto = wsc_handshake_header(hs, "sec-websocket-protocol");
    if (proto) {
        if (count_headers(hs, "sec-websocket-protocol") != 1)
            return WSC_EHS_PROTOCOL;
        const struct wsc_request_info *r = hs->req;
        for (size_t i = 0; i < r->protocol_count; i++) {
            const char *offered = r->protocols[i];
            if (strlen(offered) == proto->value_len &&
                memcmp(offered, proto->value, proto->value_len) == 0) {
                hs->protocol = offered;
                break;
            }
        }
        if (!hs->protocol)
            return WSC_EHS_PROTOCOL;
    }
    /* Published only for a handshake that succeeded. */
    hs->deflate = deflate;
    if (deflate)
        hs->deflate_params = pmd;
    return 0;
}

int wsc_handshake_parse(struct wsc_handshake *hs, const uint8_t *in, size_t len,
                        size_t *consumed)
{
    *consumed = 0;
    if (hs->error)
        return hs->error;
    if (hs->done)
        return 0;
    size_t i = 0;
    for (; i < len; i++) {
        if (hs->head_len == hs->head_cap) {
            *consumed = i;
            return hs->error = WSC_EHS_TOO_LARGE;
        }
        char c = (char)in[i];
        hs->head[hs->head_len++] = c;
        if (c == '\n') {
            if (++hs->newlines == 2) {
                i++;
                break;
            }
        } else if (c != '\r') {
            hs->newlines = 0;
        }
    }
    *consumed = i;
    if (hs->newlines < 2)
        return WSC_EAGAIN;
    hs->done = true;
    int rc = parse_head(hs);
    if (rc == 0)
        rc = hs->req ? check_101(hs) : 0; /* no request: a plain HTTP head */
    if (rc)
        hs->error = rc;
    return rc;
}
