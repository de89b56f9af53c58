/*
 * libFuzzer target for the permessage-deflate answer check (RFC 7692 7).
 * A header value arrives whole, so there is no chunking: byte 0 picks the
 * offer (bits 0-1: client_max_window_bits none / no value / 9 / 12; bit 2:
 * server_no_context_takeover asked; bit 3: client_no_context_takeover; bits
 * 4-5: server_max_window_bits not asked / 8 / 10 / 15); the rest is the value.
 * Checks: only 0 or WSC_EHS_EXTENSION; agreed values within range and within
 * what was offered; the result does not change when the value is wrapped in
 * whitespace and empty list elements; no read outside the value (it sits in a
 * heap block of exactly its size).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fuzz_chunks.h"
#include "wsc/wsc_core.h"

static int parse(const struct wsc_pmd_offer *o, const uint8_t *v, size_t n,
                 struct wsc_pmd_params *out)
{
    char *copy = malloc(n ? n : 1);
    FZ_CHECK(copy != NULL);
    if (n)
        memcpy(copy, v, n);
    int rc = wsc_pmd_parse_response(o, copy, n, out);
    free(copy);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t cw[] = {WSC_PMD_NOT_OFFERED, 0, 9, 12};
    static const uint8_t sw[] = {0, 8, 10, 15};
    if (size < 1 || size > 4096)
        return 0;
    struct wsc_pmd_offer o = {(data[0] & 8) != 0, (data[0] & 4) != 0, cw[data[0] & 3],
                              sw[(data[0] >> 4) & 3]};
    const uint8_t *v = data + 1;
    size_t n = size - 1;

    struct wsc_pmd_params p;
    memset(&p, 0, sizeof(p));
    int rc = parse(&o, v, n, &p);
    FZ_CHECK(rc == 0 || rc == WSC_EHS_EXTENSION);
    if (rc == 0) {
        FZ_CHECK(p.server_max_window_bits >= 8 && p.server_max_window_bits <= 15);
        FZ_CHECK(p.client_max_window_bits >= 9 && p.client_max_window_bits <= 15);
        if (o.server_max_window_bits)
            FZ_CHECK(p.server_max_window_bits <= o.server_max_window_bits);
        if (o.client_max_window_bits == WSC_PMD_NOT_OFFERED)
            FZ_CHECK(p.client_max_window_bits == 15);
        else if (o.client_max_window_bits)
            FZ_CHECK(p.client_max_window_bits <= o.client_max_window_bits);
        if (o.server_no_context_takeover)
            FZ_CHECK(p.server_no_context_takeover);
        if (o.client_no_context_takeover)
            FZ_CHECK(p.client_no_context_takeover);
    }

    /* " \t, " + value + " ,\t": optional whitespace and empty list elements
     * around the value change nothing. */
    uint8_t *wrapped = malloc(n + 8);
    FZ_CHECK(wrapped != NULL);
    memcpy(wrapped, " \t, ", 4);
    if (n)
        memcpy(wrapped + 4, v, n);
    memcpy(wrapped + 4 + n, " ,\t", 3);
    struct wsc_pmd_params q;
    memset(&q, 0, sizeof(q));
    int rc2 = parse(&o, wrapped, n + 7, &q);
    /* A value ending in a backslash or an open quote can swallow the suffix. */
    bool open = memchr(v, '"', n) != NULL;
    if (!open) {
        if (rc2 != rc)
            fprintf(stderr, "wrapping changed %d to %d\n", rc, rc2);
        FZ_CHECK(rc2 == rc);
        if (rc == 0)
            FZ_CHECK(memcmp(&p, &q, sizeof(p)) == 0);
    }
    free(wrapped);
    return 0;
}
