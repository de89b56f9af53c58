/* TLS transport for builds without a TLS library: every connect fails with WSC_ENOTLS. */
#include <stdio.h>

#include "wsc/wsc_tls.h"

/* No struct wsc_tls can exist in this build, so these ops are never reached
 * through a valid object; they answer WSC_ENOTLS rather than crash if a caller
 * fills a transport from a NULL pointer. */
static int none_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent)
{
    (void)ctx;
    (void)buf;
    (void)len;
    *sent = 0;
    return WSC_ENOTLS;
}

static int none_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    (void)ctx;
    (void)buf;
    (void)cap;
    *got = 0;
    return WSC_ENOTLS;
}

static int none_wait(void *ctx, int events, int timeout_ms)
{
    (void)ctx;
    (void)events;
    (void)timeout_ms;
    return WSC_ENOTLS;
}

static size_t none_pending(void *ctx)
{
    (void)ctx;
    return 0;
}

static int none_shutdown(void *ctx)
{
    (void)ctx;
    return WSC_ENOTLS;
}

static void none_close(void *ctx)
{
    (void)ctx;
}

static int none_fd(void *ctx)
{
    (void)ctx;
    return -1;
}

static const struct wsc_transport_ops none_ops = {
    .name = "tls-none",
    .send = none_send,
    .recv = none_recv,
    .wait = none_wait,
    .pending = none_pending,
    .shutdown = none_shutdown,
    .close = none_close,
    .fd = none_fd,
};

int wsc_tls_connect(struct wsc_tls **out, const struct wsc_transport *lower,
                    const char *host, const struct wsc_tls_options *o,
                    const uint8_t *preread, size_t preread_len, int timeout_ms,
                    char *detail, size_t detail_len)
{
    (void)host;
    (void)o;
    (void)preread;
    (void)preread_len;
    (void)timeout_ms;
    if (out != NULL)
        *out = NULL;
    /* Same ownership rule as the real backends: lower is closed on failure. */
    if (lower != NULL && lower->ops != NULL)
        lower->ops->close(lower->ctx);
    if (detail != NULL && detail_len > 0)
        snprintf(detail, detail_len, "%s", "this build of wsc has no TLS backend");
    return WSC_ENOTLS;
}

int wsc_tls_start(struct wsc_tls **out, const struct wsc_transport *lower, const char *host,
                  const struct wsc_tls_options *o, const uint8_t *preread, size_t preread_len,
                  char *detail, size_t detail_len)
{
    return wsc_tls_connect(out, lower, host, o, preread, preread_len, 0, detail, detail_len);
}

int wsc_tls_handshake_step(struct wsc_tls *t, int *want, char *detail, size_t detail_len)
{
    (void)t;
    *want = 0;
    if (detail != NULL && detail_len > 0)
        snprintf(detail, detail_len, "%s", "this build of wsc has no TLS backend");
    return WSC_ENOTLS;
}

void wsc_tls_transport(struct wsc_tls *t, struct wsc_transport *tr)
{
    tr->ops = &none_ops;
    tr->ctx = t;
}

const char *wsc_tls_detail(const struct wsc_tls *t)
{
    (void)t;
    return "";
}

bool wsc_tls_truncated(const struct wsc_tls *t)
{
    (void)t;
    return false;
}

const char *wsc_tls_backend(void)
{
    return "none";
}
