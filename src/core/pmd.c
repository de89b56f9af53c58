/* RFC 7692 7: the permessage-deflate offer and the check of the server's answer. */
#include <string.h>

#include "core/wsc_internal.h"

static const char NAME[] = "permessage-deflate";
static const char SERVER_NCT[] = "server_no_context_takeover";
static const char CLIENT_NCT[] = "client_no_context_takeover";
static const char SERVER_MWB[] = "server_max_window_bits";
static const char CLIENT_MWB[] = "client_max_window_bits";

/* ---- offer ------------------------------------------------------------ */

struct out {
    char *p;
    size_t len, cap;
};

static void put(struct out *o, const char *s)
{
    size_t n = strlen(s);
    /* Keep one byte for the NUL; on overflow only the length keeps growing. */
    if (o->len + n < o->cap)
        memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void put_param(struct out *o, const char *name, uint8_t value)
{
    char digits[4] = {'=', 0, 0, 0};
    put(o, "; ");
    put(o, name);
    if (value == 0)
        return;
    if (value >= 10) {
        digits[1] = '1';
        digits[2] = (char)('0' + value - 10);
    } else {
        digits[1] = (char)('0' + value);
    }
    put(o, digits);
}

int wsc_pmd_write_offer(const struct wsc_pmd_offer *o, char *out, size_t cap)
{
    if (!o || (cap && !out))
        return WSC_EINVAL;
    uint8_t cw = o->client_max_window_bits, sw = o->server_max_window_bits;
    /* RFC 7692 7.1.2: window values are 8..15. We never offer a client window
     * of 8: zlib's deflate cannot use a 256-byte window (it silently uses 512
     * for zlib streams and rejects 8 for raw ones), so we could not keep that
     * promise. */
    if (!(cw == 0 || cw == WSC_PMD_NOT_OFFERED || (cw >= 9 && cw <= 15)))
        return WSC_EINVAL;
    if (!(sw == 0 || (sw >= 8 && sw <= 15)))
        return WSC_EINVAL;

    struct out w = {out, 0, cap};
    put(&w, NAME);
    if (o->client_no_context_takeover)
        put_param(&w, CLIENT_NCT, 0);
    if (o->server_no_context_takeover)
        put_param(&w, SERVER_NCT, 0);
    if (cw != WSC_PMD_NOT_OFFERED)
        put_param(&w, CLIENT_MWB, cw); /* 0: the parameter without a value */
    if (sw)
        put_param(&w, SERVER_MWB, sw);
    if (w.len >= cap) {
        if (cap)
            out[0] = '\0';
        return WSC_ENOBUFS;
    }
    out[w.len] = '\0';
    return (int)w.len;
}

/* ---- response --------------------------------------------------------- */

/*
 * RFC 6455 9.1, with the list rules of RFC 7230 7:
 *   Sec-WebSocket-Extensions = 1#extension
 *   extension       = extension-token *( OWS ";" OWS extension-param )
 *   extension-param = token [ OWS "=" OWS ( token / quoted-string ) ]
 * The whitespace around '=' follows RFC 6455's implied *LWS rule.
 */

struct cursor {
    const char *p, *end;
};

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void skip_ows(struct cursor *c)
{
    while (c->p < c->end && is_ows(*c->p))
        c->p++;
}

static bool at(const struct cursor *c, char ch)
{
    return c->p < c->end && *c->p == ch;
}

/* RFC 7230 3.2.6 tchar. */
static bool is_tchar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool read_token(struct cursor *c, const char **s, size_t *n)
{
    const char *start = c->p;
    while (c->p < c->end && is_tchar(*c->p))
        c->p++;
    *s = start;
    *n = (size_t)(c->p - start);
    return *n > 0;
}

/*
 * Reads a token or a quoted-string and leaves its (unescaped) text in buf. Our
 * values are at most two digits, so anything longer than the buffer is
 * invalid anyway and is reported as such rather than truncated.
 */
static bool read_value(struct cursor *c, char *buf, size_t cap, size_t *n)
{
    *n = 0;
    if (!at(c, '"')) {
        const char *s;
        if (!read_token(c, &s, n) || *n > cap)
            return false;
        memcpy(buf, s, *n);
        return true;
    }
    c->p++;
    for (;;) {
        if (c->p >= c->end)
            return false; /* unterminated */
        unsigned char ch = (unsigned char)*c->p++;
        if (ch == '"')
            break;
        if (ch == '\\') {
            /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
            if (c->p >= c->end)
                return false;
            ch = (unsigned char)*c->p++;
            if (ch < 0x20 ? ch != '\t' : ch == 0x7f)
                return false;
        } else if (ch < 0x20 ? ch != '\t' : ch == 0x7f) {
            return false; /* qdtext excludes controls */
        }
        if (*n == cap)
            return false;
        buf[(*n)++] = (char)ch;
    }
    /* RFC 6455 9.1: the unescaped value MUST conform to the token ABNF. */
    if (*n == 0)
        return false;
    for (size_t i = 0; i < *n; i++)
        if (!is_tchar(buf[i]))
            return false;
    return true;
}

static bool eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* RFC 7692 7.1.2.1/7.1.2.2: "a decimal integer value without leading zeroes
 * between 8 to 15, inclusive". Returns the value or 0. */
static uint8_t window_bits(const char *v, size_t n)
{
    if (n == 1 && v[0] >= '8' && v[0] <= '9')
        return (uint8_t)(v[0] - '0');
    if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
        return (uint8_t)(10 + v[1] - '0');
    return 0;
}

/* What the response said; a window of 0 means the parameter was absent. */
struct seen {
    bool server_nct, client_nct;
    uint8_t server_mwb, client_mwb;
};

/* RFC 7692 7: each parameter at most once, with a valid value or none. */
static bool apply_param(struct seen *s, const char *name, size_t n, bool has_value,
                        const char *v, size_t vn)
{
    bool *flag = NULL;
    uint8_t *bits = NULL;
    if (eq(name, n, SERVER_NCT))
        flag = &s->server_nct;
    else if (eq(name, n, CLIENT_NCT))
        flag = &s->client_nct;
    else if (eq(name, n, SERVER_MWB))
        bits = &s->server_mwb;
    else if (eq(name, n, CLIENT_MWB))
        bits = &s->client_mwb;
    else
        return false; /* not defined for use in a response */
    if (flag) {
        /* 7.1.1.1/7.1.1.2: "This extension parameter has no value." */
        if (*flag || has_value)
            return false;
        *flag = true;
        return true;
    }
    /* In a response both window parameters carry a value (7.1.2.1, 7.1.2.2:
     * only the offer may have client_max_window_bits without one). */
    if (*bits || !has_value)
        return false;
    *bits = window_bits(v, vn);
    return *bits != 0;
}

/* Parses one field's list, counting its elements into *elements; false when
 * it is malformed or names anything but one permessage-deflate in all. */
static bool parse_list(struct cursor *c, struct seen *s, size_t *elements)
{
    for (;;) {
        skip_ows(c);
        if (c->p == c->end)
            break;
        if (at(c, ',')) { /* an empty element: RFC 7230 7 says ignore it */
            c->p++;
            continue;
        }
        const char *name;
        size_t n;
        if (!read_token(c, &name, &n))
            return false;
        /* We offered one extension, so only it may come back (RFC 6455 9.1),
         * and only once (RFC 7692 7: one accepted offer). */
        if (++*elements > 1 || !eq(name, n, NAME))
            return false;
        for (;;) {
            skip_ows(c);
            if (c->p == c->end || at(c, ','))
                break;
            if (!at(c, ';'))
                return false;
            c->p++;
            skip_ows(c);
            const char *pname, *v = NULL;
            size_t pn, vn = 0;
            char vbuf[8];
            bool has_value = false;
            if (!read_token(c, &pname, &pn))
                return false;
            skip_ows(c);
            if (at(c, '=')) {
                c->p++;
                skip_ows(c);
                if (!read_value(c, vbuf, sizeof(vbuf), &vn))
                    return false;
                v = vbuf;
                has_value = true;
            }
            if (!apply_param(s, pname, pn, has_value, v, vn))
                return false;
        }
        if (at(c, ','))
            c->p++;
    }
    return true;
}

/* The answer as a whole, once every element has been read (RFC 7692 7). */
static int check_answer(const struct wsc_pmd_offer *o, const struct seen *s,
                        struct wsc_pmd_params *out)
{
    /* 7.1.1.1: a server accepts our request for server_no_context_takeover
     * only by echoing it; it may also send it unasked. */
    if (o->server_no_context_takeover && !s->server_nct)
        return WSC_EHS_EXTENSION;
    /* 7.1.2.1: when we asked for a window limit, the answer must carry "the
     * same or smaller value"; unasked, any valid value may come back. */
    if (o->server_max_window_bits &&
        (!s->server_mwb || s->server_mwb > o->server_max_window_bits))
        return WSC_EHS_EXTENSION;

    uint8_t cw = 15;
    if (o->client_max_window_bits == WSC_PMD_NOT_OFFERED) {
        /* 7.1.2.2: not offered, so the response MUST NOT include it. */
        if (s->client_mwb)
            return WSC_EHS_EXTENSION;
    } else {
        if (o->client_max_window_bits)
            cw = o->client_max_window_bits; /* our promise holds either way */
        if (s->client_mwb) {
            /* 7.1.2.2: the server may only lower the value we offered. A
             * window of 8 is a configuration zlib cannot produce. */
            if (s->client_mwb > cw || s->client_mwb == 8)
                return WSC_EHS_EXTENSION;
            cw = s->client_mwb;
        }
    }

    out->server_no_context_takeover = s->server_nct;
    /* 7.1.1.2: offering client_no_context_takeover is a promise to the server
     * that holds whether or not the response repeats it. */
    out->client_no_context_takeover = s->client_nct || o->client_no_context_takeover;
    out->server_max_window_bits = s->server_mwb ? s->server_mwb : 15;
    out->client_max_window_bits = cw;
    return 0;
}

int wsc_pmd_parse_response(const struct wsc_pmd_offer *o, const char *value, size_t len,
                           struct wsc_pmd_params *out)
{
    if (!o || !out || (len && !value))
        return WSC_EINVAL;
    struct wsc_header h = {"Sec-WebSocket-Extensions", 24, value, len};
    return wsc__pmd_parse_fields(o, &h, 1, out);
}

/*
 * RFC 7230 3.2.2: several fields of a list header mean their values joined
 * with ", ". An element never spans two fields (a comma separates them), so
 * each field is parsed as a list on its own while the elements and parameters
 * seen add up across fields: the same verdict as the joined value, no copy.
 */
int wsc__pmd_parse_fields(const struct wsc_pmd_offer *o, const struct wsc_header *headers,
                          size_t count, struct wsc_pmd_params *out)
{
    if (!o || !out || (count && !headers))
        return WSC_EINVAL;
    struct seen s = {false, false, 0, 0};
    size_t elements = 0;
    for (size_t i = 0; i < count; i++) {
        const struct wsc_header *h = &headers[i];
        if (!wsc__ieq(h->name, h->name_len, "sec-websocket-extensions"))
            continue;
        if (h->value_len == 0)
            continue; /* an empty field: no elements */
        if (!h->value)
            return WSC_EINVAL;
        struct cursor c = {h->value, h->value + h->value_len};
        if (!parse_list(&c, &s, &elements))
            return WSC_EHS_EXTENSION;
    }
    /* 1#extension: an empty list (or no field) answers nothing we offered. */
    if (elements != 1)
        return WSC_EHS_EXTENSION;
    return check_answer(o, &s, out);
}

static const struct wsc__pmd_ops ops = {wsc_pmd_write_offer, wsc__pmd_parse_fields};

void wsc_pmd_enable(struct wsc_request_info *req, const struct wsc_pmd_offer *offer)
{
    if (!req)
        return;
    req->deflate = offer;
    req->deflate_ops = offer ? &ops : NULL;
}
