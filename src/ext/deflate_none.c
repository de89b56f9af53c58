/*
 * The permessage-deflate codec in builds without zlib (WSC_DEFLATE=OFF): the
 * functions exist so that front ends link either way, and say the codec is
 * missing. Connections then never offer compression.
 */
#include "wsc/wsc_deflate.h"

bool wsc_deflate_available(void)
{
    return false;
}

int wsc_deflate_new(struct wsc_deflate **out, const struct wsc_pmd_params *p,
                    const struct wsc_deflate_alloc *a)
{
    (void)p;
    (void)a;
    if (out)
        *out = NULL;
    return WSC_EINVAL;
}

void wsc_deflate_free(struct wsc_deflate *d)
{
    (void)d;
}

/* No struct wsc_deflate can exist in this build; these answer a NULL one. */
int wsc_deflate_compress(struct wsc_deflate *d, const uint8_t *in, size_t in_len, bool fin,
                         uint8_t *out, size_t out_cap, size_t *consumed, size_t *produced)
{
    (void)d;
    (void)in;
    (void)in_len;
    (void)fin;
    (void)out;
    (void)out_cap;
    if (consumed)
        *consumed = 0;
    if (produced)
        *produced = 0;
    return WSC_EINVAL;
}

int wsc_deflate_decompress(struct wsc_deflate *d, const uint8_t *in, size_t in_len,
                           bool fin, uint64_t max_message, uint8_t *out, size_t out_cap,
                           size_t *consumed, size_t *produced, bool *done)
{
    (void)d;
    (void)in;
    (void)in_len;
    (void)fin;
    (void)max_message;
    (void)out;
    (void)out_cap;
    if (consumed)
        *consumed = 0;
    if (produced)
        *produced = 0;
    if (done)
        *done = false;
    return WSC_EINVAL;
}

size_t wsc_deflate_memory(const struct wsc_deflate *d)
{
    (void)d;
    return 0;
}
