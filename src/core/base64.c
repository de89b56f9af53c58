/*
 * Text helpers for the opening handshake: base64 for Sec-WebSocket-Key and
 * Sec-WebSocket-Accept (RFC 6455 4.1), and the case-insensitive comparison that
 * HTTP field names and several field values need (RFC 7230 3.2, RFC 6455 4.1).
 */
#include "core/wsc_internal.h"

/* RFC 4648 4: the base64 alphabet (not the URL-safe one of section 5). */
static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t wsc__base64_encode(const uint8_t *in, size_t len, char *out)
{
    size_t o = 0;
    size_t i = 0;

    /* Each 3 input bytes become 4 characters of 6 bits each. */
    for (; len - i >= 3; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    /* RFC 4648 4: a final 1 or 2 bytes are zero-extended and padded with '='. */
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (len - i == 2) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = '=';
    }
    return o;
}

bool wsc__ieq(const char *a, size_t alen, const char *b)
{
    /* Stop at b's terminator before reading past it, so a short b never
     * over-reads; a NUL inside a[] can then never match. */
    for (size_t i = 0; i < alen; i++) {
        if (b[i] == '\0' || wsc__lower(a[i]) != wsc__lower(b[i]))
            return false;
    }
    return b[alen] == '\0';
}
