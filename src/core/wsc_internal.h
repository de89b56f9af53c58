/* Internals shared between core files; never installed. */
#ifndef WSC_INTERNAL_H
#define WSC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsc/wsc_core.h"

#define WSC__SHA1_LEN 20

struct wsc__sha1 {
    uint32_t h[5];
    uint64_t total;
    uint8_t block[64];
    size_t used;
};

void wsc__sha1_init(struct wsc__sha1 *s);
void wsc__sha1_update(struct wsc__sha1 *s, const void *data, size_t len);
void wsc__sha1_final(struct wsc__sha1 *s, uint8_t out[WSC__SHA1_LEN]);

/** Length of the base64 text for @p n input bytes (padded). */
#define WSC__BASE64_LEN(n) ((((n) + 2) / 3) * 4)

/** Writes padded base64 of in[0..len) to @p out (not NUL-terminated); returns its length. */
size_t wsc__base64_encode(const uint8_t *in, size_t len, char *out);

static inline char wsc__lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

/** Case-insensitive ASCII comparison of a[0..alen) with the NUL-terminated @p b. */
bool wsc__ieq(const char *a, size_t alen, const char *b);

/**
 * wsc_pmd_parse_response() for a response whose Sec-WebSocket-Extensions may
 * come in several fields: checks those among headers[0..count) (other names are
 * skipped) as their values joined with ", ". WSC_EHS_EXTENSION when there is
 * none. Returns as wsc_pmd_parse_response().
 */
int wsc__pmd_parse_fields(const struct wsc_pmd_offer *o, const struct wsc_header *headers,
                          size_t count, struct wsc_pmd_params *out);

/*
 * The permessage-deflate negotiation, as the handshake reaches it: through
 * pointers that wsc_pmd_enable() (in pmd.c) puts in the request, not by name,
 * so that a client that never offers the extension does not link pmd.c.
 */
/* The byte-at-a-time validator: the reference the vector paths of
 * wsc_utf8_validate() hand over to, and that tests compare them with. */
size_t wsc__utf8_validate_scalar(struct wsc_utf8 *u, const uint8_t *p, size_t len);

struct wsc__pmd_ops {
    int (*write_offer)(const struct wsc_pmd_offer *o, char *out, size_t cap);
    int (*parse_fields)(const struct wsc_pmd_offer *o, const struct wsc_header *headers,
                        size_t count, struct wsc_pmd_params *out);
};

#endif
