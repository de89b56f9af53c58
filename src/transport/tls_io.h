/*
 * tls_io.h - what the TLS backends share: moving ciphertext through the lower
 * transport (preread carry first), the direction each blocked operation waits
 * for, handshake deadlines, and the wording of failure details. Internal.
 */
#ifndef WSC_TLS_IO_H
#define WSC_TLS_IO_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsc/wsc_tls.h"

/* The ciphertext side of a TLS object. */
struct wsc__tls_io {
    struct wsc_transport lower;
    /* Preread bytes (caller's copy kept by the backend), consumed before lower. */
    const uint8_t *carry;
    size_t carry_len, carry_off;
    /* WSC_WAIT_READ or WSC_WAIT_WRITE: what the last WSC_EAGAIN from recv
     * (read_wants) or from send/shutdown (write_wants) is waiting for. */
    int read_wants, write_wants;
    bool lower_eof; /* lower recv returned 0 bytes */
    bool received;  /* the server has sent at least one byte (preread included) */
    int lower_err;  /* first hard error from lower, reported instead of a TLS error */
    /* During the handshake a failed send is held back in send_err (and the
     * bytes count as sent) so the library goes on to read: a server that
     * rejects us sends an alert and resets, and the alert says why. */
    bool hold_send_errors;
    int send_err;
};

/* Sets up @p io over @p lower with @p carry_len preread bytes at @p carry. */
void wsc__tls_io_init(struct wsc__tls_io *io, const struct wsc_transport *lower,
                      const uint8_t *carry, size_t carry_len);

/* Reads ciphertext for the TLS library: carry first, then lower. Returns 0 with
 * *got > 0, 0 with *got == 0 at EOF, WSC_EAGAIN, or lower's error (remembered). */
int wsc__tls_io_recv(struct wsc__tls_io *io, uint8_t *buf, size_t cap, size_t *got);

/* Writes ciphertext to lower. Returns 0 with *sent > 0, WSC_EAGAIN, or lower's
 * error (remembered). */
int wsc__tls_io_send(struct wsc__tls_io *io, const uint8_t *buf, size_t len, size_t *sent);

/* Unconsumed preread bytes. */
static inline size_t wsc__tls_io_carried(const struct wsc__tls_io *io)
{
    return io->carry_len - io->carry_off;
}

/* The transport wait op, given whether recv can progress without the socket. */
int wsc__tls_io_wait(struct wsc__tls_io *io, int events, int timeout_ms, bool readable_now);

/*
 * Advice for a server that hung up during the handshake: " (is it a TLS
 * server?)" when it never sent a byte; after it asked for a client
 * certificate (@p cert_requested), that ours (@p has_cert) or the lack of one
 * may be the reason; else "".
 */
const char *wsc__tls_hangup_hint(const struct wsc__tls_io *io, bool cert_requested,
                                 bool has_cert);

/* vsnprintf into @p buf (NULL or cap 0: nothing); always NUL-terminated. */
void wsc__tls_setf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends "'name'" (", 'name'" after the first) to the NUL-terminated list in
 * @p buf, replacing unprintable bytes with '?' and ending in "..." when full. */
void wsc__tls_append_name(char *buf, size_t cap, const char *name, size_t len);

/* Formats a 4- or 16-byte address (an iPAddress SAN) as text. */
void wsc__tls_format_ip(const uint8_t *ip, size_t len, char *out, size_t cap);

/* Formats a UTC date and time "YYYY-MM-DD hh:mm:ss UTC". */
void wsc__tls_format_time(int year, int mon, int day, int hour, int min, int sec, char *out,
                          size_t cap);

#endif
