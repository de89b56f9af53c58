/* Ciphertext plumbing and failure wording shared by the TLS backends. */
#include "transport/tls_io.h"

#include <stdio.h>
#include <string.h>

void wsc__tls_io_init(struct wsc__tls_io *io, const struct wsc_transport *lower,
                      const uint8_t *carry, size_t carry_len)
{
    memset(io, 0, sizeof(*io));
    io->lower = *lower;
    io->carry = carry;
    io->carry_len = carry_len;
    io->read_wants = WSC_WAIT_READ;
    io->write_wants = WSC_WAIT_WRITE;
}

int wsc__tls_io_recv(struct wsc__tls_io *io, uint8_t *buf, size_t cap, size_t *got)
{
    *got = 0;
    if (cap == 0)
        return WSC_EINVAL;
    /* Bytes that arrived before TLS started (after a proxy's reply, say) come
     * first in the stream: hand them out before the lower transport is read at
     * all. A read may end inside them; the rest waits for the next read. */
    size_t carried = wsc__tls_io_carried(io);
    if (carried > 0) {
        size_t n = carried < cap ? carried : cap;
        memcpy(buf, io->carry + io->carry_off, n);
        io->carry_off += n;
        io->received = true;
        *got = n;
        return 0;
    }
    if (io->lower_err)
        return io->lower_err;
    if (io->lower_eof)
        return 0;
    int rc = io->lower.ops->recv(io->lower.ctx, buf, cap, got);
    if (rc == 0 && *got > 0)
        io->received = true;
    if (rc == 0 && *got == 0)
        io->lower_eof = true;
    else if (rc != 0 && rc != WSC_EAGAIN)
        io->lower_err = rc;
    return rc;
}

int wsc__tls_io_send(struct wsc__tls_io *io, const uint8_t *buf, size_t len, size_t *sent)
{
    *sent = 0;
    if (io->lower_err)
        return io->lower_err;
    if (io->send_err) {
        *sent = len; /* the stream is dead; see hold_send_errors */
        return 0;
    }
    int rc = io->lower.ops->send(io->lower.ctx, buf, len, sent);
    if (rc != 0 && rc != WSC_EAGAIN) {
        if (io->hold_send_errors) {
            io->send_err = rc;
            *sent = len;
            return 0;
        }
        io->lower_err = rc;
    }
    return rc;
}

int wsc__tls_io_wait(struct wsc__tls_io *io, int events, int timeout_ms, bool readable_now)
{
    if ((events & WSC_WAIT_READ) && readable_now)
        return WSC_WAIT_READ;
    /* Translate what the caller wants to do into what the TLS library needs
     * from the socket: a read blocked on a write (a TLS 1.3 KeyUpdate reply,
     * a half-sent record) waits for writability, and the other way round. */
    int want = 0;
    if (events & WSC_WAIT_READ)
        want |= io->read_wants;
    if (events & WSC_WAIT_WRITE)
        want |= io->write_wants;
    if (want == 0)
        return WSC_EINVAL;
    int rc = io->lower.ops->wait(io->lower.ctx, want, timeout_ms);
    if (rc <= 0)
        return rc;
    int ready = 0;
    if ((events & WSC_WAIT_READ) && (rc & io->read_wants))
        ready |= WSC_WAIT_READ;
    if ((events & WSC_WAIT_WRITE) && (rc & io->write_wants))
        ready |= WSC_WAIT_WRITE;
    return ready;
}

const char *wsc__tls_hangup_hint(const struct wsc__tls_io *io, bool cert_requested,
                                 bool has_cert)
{
    if (!io->received)
        return " (is it a TLS server?)";
    if (cert_requested)
        return has_cert ? " (the server may have rejected our client certificate)"
                        : " (the server may require a client certificate)";
    return "";
}

/*
 * The same for every backend: wsc_tls_start(), then wsc_tls_handshake_step()
 * with waits on the lower transport in between, within @p timeout_ms.
 */
int wsc_tls_connect(struct wsc_tls **out, const struct wsc_transport *lower,
                    const char *host, const struct wsc_tls_options *o,
                    const uint8_t *preread, size_t preread_len, int timeout_ms,
                    char *detail, size_t detail_len)
{
    if (out == NULL) /* reported, and lower closed, as wsc_tls_start() does */
        return wsc_tls_start(NULL, lower, host, o, preread, preread_len, detail, detail_len);
    *out = NULL;
    struct wsc_transport low = {0};
    if (lower != NULL)
        low = *lower; /* waited on below; wsc_tls_start() checks it */
    uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : wsc_platform_now_ms() + (uint64_t)timeout_ms;
    struct wsc_tls *t = NULL;
    int rc = wsc_tls_start(&t, lower, host, o, preread, preread_len, detail, detail_len);
    if (rc)
        return rc;
    int want;
    while ((rc = wsc_tls_handshake_step(t, &want, detail, detail_len)) == WSC_EAGAIN) {
        int left = -1;
        if (deadline != UINT64_MAX) {
            uint64_t now = wsc_platform_now_ms();
            left = now >= deadline ? 0 : deadline - now > 0x7fffffff ? 0x7fffffff
                                                                    : (int)(deadline - now);
        }
        int ready = left == 0 ? 0 : low.ops->wait(low.ctx, want, left);
        if (ready == 0) {
            rc = WSC_ETIMEDOUT;
            wsc__tls_setf(detail, detail_len, "timed out during the TLS handshake");
            break;
        }
        if (ready < 0) {
            rc = ready;
            wsc__tls_setf(detail, detail_len, "TLS handshake failed: %s", wsc_strerror(rc));
            break;
        }
    }
    if (rc) {
        struct wsc_transport tr;
        wsc_tls_transport(t, &tr);
        tr.ops->close(tr.ctx); /* the lower transport with it */
        return rc;
    }
    *out = t;
    return 0;
}

void wsc__tls_setf(char *buf, size_t cap, const char *fmt, ...)
{
    if (buf == NULL || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0)
        buf[0] = '\0';
}

void wsc__tls_append_name(char *buf, size_t cap, const char *name, size_t len)
{
    size_t used = strlen(buf);
    /* Keep room for "..." and the NUL so a cut list still says it was cut. */
    if (cap < 5 || used + 4 > cap)
        return;
    size_t room = cap - 4 - used;
    char tmp[128];
    size_t n = 0;
    const char *sep = used ? ", " : "";
    for (const char *s = sep; *s && n < sizeof(tmp); s++)
        tmp[n++] = *s;
    if (n < sizeof(tmp))
        tmp[n++] = '\'';
    for (size_t i = 0; i < len && n + 1 < sizeof(tmp); i++) {
        unsigned char ch = (unsigned char)name[i];
        /* Names come from the peer's certificate: never copy control bytes
         * into a message that ends up in logs and terminals. */
        tmp[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    if (n < sizeof(tmp))
        tmp[n++] = '\'';
    if (n > room) {
        memcpy(buf + used, "...", 4);
        return;
    }
    memcpy(buf + used, tmp, n);
    buf[used + n] = '\0';
}

void wsc__tls_format_ip(const uint8_t *ip, size_t len, char *out, size_t cap)
{
    if (len == 4) {
        wsc__tls_setf(out, cap, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
    } else if (len == 16) {
        /* Full form without "::" compression: unambiguous and short enough. */
        size_t used = 0;
        out[0] = '\0';
        for (size_t i = 0; i < 16 && used < cap; i += 2) {
            int n = snprintf(out + used, cap - used, i ? ":%x" : "%x",
                             (unsigned)(ip[i] << 8 | ip[i + 1]));
            if (n < 0)
                break;
            used += (size_t)n;
        }
    } else {
        wsc__tls_setf(out, cap, "(%zu-byte address)", len);
    }
}

void wsc__tls_format_time(int year, int mon, int day, int hour, int min, int sec, char *out,
                          size_t cap)
{
    wsc__tls_setf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d UTC", year, mon, day, hour, min,
                  sec);
}
