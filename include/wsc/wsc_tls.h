/*
 * wsc_tls.h - the TLS transport: TLS over any connected wsc transport.
 *
 * The backend is chosen when wsc is built (OpenSSL 3, mbedTLS 2.28, or none;
 * see wsc_tls_backend()). Whatever the backend, every byte of the TLS stream
 * moves through the lower transport's ops, never through its descriptor, so
 * TLS stacks on plain TCP, on an HTTP proxy tunnel, or on a test transport.
 *
 * A TLS object is used by one thread at a time, like the connection it serves.
 */
#ifndef WSC_TLS_H
#define WSC_TLS_H

#include "wsc.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What to trust and who we are. Strings are read during wsc_tls_connect() only. */
/* struct wsc_tls_options is declared in wsc.h: connection options embed it. */

/** A TLS connection. Opaque; allocated through the TLS library's allocator. */
struct wsc_tls;

/** Room for any detail sentence wsc_tls_connect() writes. */
#define WSC_TLS_DETAIL_MAX 256

/**
 * Runs the TLS client handshake over @p lower, a connected transport, within
 * @p timeout_ms (< 0: no limit).
 *
 * The handshake sends SNI = @p host unless @p host is an IP literal (RFC 6066
 * 3), offers ALPN "http/1.1", accepts TLS 1.2 or later, and, unless
 * @p o->insecure, verifies the certificate chain against the trust anchors of
 * @p o and the name: a DNS @p host against the certificate's DNS names
 * (wildcards in the leftmost label only; the subject CN only without SANs),
 * an IP literal (IPv6 without brackets) against its IP-address SANs.
 *
 * @param out        receives the TLS object on success, NULL on failure.
 * @param lower      the transport to run TLS over; the struct is copied, but
 *                   what its ctx points to (a struct wsc_tcp, a tunnel) must
 *                   stay valid until the TLS transport is closed. Ownership
 *                   passes to this call at once: on success the TLS object
 *                   closes it in its close op; on EVERY failure (bad arguments
 *                   included, when @p lower has ops) it is closed before
 *                   returning. All TLS bytes go through its ops, never its fd.
 * @param host       the server's name as the user gave it; required unless
 *                   @p o->insecure (then it only sets SNI and may be NULL).
 * @param o          trust and identity; NULL = system trust store, no client
 *                   certificate, verification on.
 * @param preread    bytes already received from @p lower that belong to the
 *                   TLS stream (e.g. what an HTTP proxy sent right after its
 *                   200 reply), or NULL. They are copied into the TLS object
 *                   (the one allowed copy, freed once consumed) and read
 *                   before anything is read from @p lower.
 * @param preread_len their length.
 * @param detail     receives a NUL-terminated sentence saying exactly why the
 *                   call failed (at most @p detail_len bytes including the NUL;
 *                   WSC_TLS_DETAIL_MAX is always enough), e.g.
 *                   "certificate verify failed: unable to get local issuer
 *                   certificate (unknown CA); the certificate was issued by
 *                   'CN=...'", "certificate verify failed: certificate has
 *                   expired (not valid after 2020-01-02 00:00:00 UTC)",
 *                   "host name mismatch: certificate is for 'localhost',
 *                   '127.0.0.1', not '127.0.0.2'". Set to "" on success. May
 *                   be NULL when @p detail_len is 0.
 * @return 0; WSC_ETLS (handshake, verification, or a credential file that
 *         would not load); WSC_ETIMEDOUT; WSC_EINVAL (NULL @p out or
 *         @p lower, no @p host with verification on, key without
 *         certificate); WSC_ENOMEM; WSC_ENOTLS (a build without TLS); or the
 *         lower transport's error (WSC_ECONNRESET, WSC_EIO, ...). Whether
 *         the server accepts a client certificate may only show after this
 *         returns 0: with TLS 1.3 the server checks it after the client's
 *         last handshake message, and a rejection arrives as WSC_ETLS from
 *         the first recv (see wsc_tls_detail()).
 */
int wsc_tls_connect(struct wsc_tls **out, const struct wsc_transport *lower,
                    const char *host, const struct wsc_tls_options *o,
                    const uint8_t *preread, size_t preread_len, int timeout_ms,
                    char *detail, size_t detail_len);

/**
 * wsc_tls_connect() in steps, for event loops: checks the arguments and sets
 * up the TLS connection over @p lower (whose recv/send must return WSC_EAGAIN
 * rather than block), without starting the handshake. Returns 0 with *out
 * set, or the errors of wsc_tls_connect() that need no handshake (@p lower
 * is then closed). Run the handshake with wsc_tls_handshake_step(); close a
 * connection that fails there through its transport ops (wsc_tls_transport()).
 */
int wsc_tls_start(struct wsc_tls **out, const struct wsc_transport *lower, const char *host,
                  const struct wsc_tls_options *o, const uint8_t *preread, size_t preread_len,
                  char *detail, size_t detail_len);

/**
 * Advances the handshake of a wsc_tls_start() connection as far as the lower
 * transport allows: 0 once it is done (verification included), WSC_EAGAIN
 * with *want WSC_WAIT_READ or WSC_WAIT_WRITE (call again when the lower
 * transport is ready that way), or a failure as wsc_tls_connect() reports it.
 */
int wsc_tls_handshake_step(struct wsc_tls *t, int *want, char *detail, size_t detail_len);

/**
 * Fills @p tr with the transport ops over @p t. The ops behave as
 * struct wsc_transport_ops documents, with these TLS specifics:
 *  - send: encrypts and sends. After WSC_EAGAIN the TLS library has already
 *    taken the first bytes into a record, so the next send must offer the
 *    same bytes again (at least as many; more is fine): the blocking front end
 *    retries from the same offset, which satisfies this. A shorter retry is
 *    refused with WSC_EINVAL. Errors: WSC_ETLS, or the lower transport's.
 *  - recv: decrypted bytes. WSC_EAGAIN when the library needs more input OR
 *    needs to write first (wait() knows which). 0 bytes (end of stream) for
 *    the peer's close_notify and also for TCP EOF without close_notify (a
 *    truncated stream, see wsc_tls_truncated()): WebSocket's own close
 *    handshake tells a complete conversation from a cut one.
 *  - wait: waits for what the last WSC_EAGAIN needed in each direction (a
 *    read may need the socket writable and vice versa). With WSC_WAIT_READ it
 *    returns readable at once while pending() > 0, or after end of stream or
 *    an error, so recv() never blocks on the socket with data in hand.
 *  - pending: bytes of plaintext the library has decrypted and not yet
 *    returned, plus preread bytes not yet consumed: non-zero means recv()
 *    makes progress without the socket. poll() on fd() cannot see these.
 *  - shutdown: sends close_notify without blocking, then ends the lower
 *    transport's sending direction. Best effort: returns WSC_EAGAIN when the
 *    alert could not be sent yet (call again after wait(WSC_WAIT_WRITE), or
 *    ignore it), WSC_EINVAL while a send that returned WSC_EAGAIN is still
 *    unfinished (the alert cannot overtake its record), 0 once sent, or an
 *    error. Later sends return WSC_ENOTCONN; receiving goes on.
 *  - close: frees everything and closes the lower transport. It does not send
 *    close_notify; call shutdown first for an orderly end.
 *  - fd: the lower transport's descriptor.
 * @p t must stay valid while @p tr is used; close() frees it.
 */
void wsc_tls_transport(struct wsc_tls *t, struct wsc_transport *tr);

/**
 * A sentence about the last TLS error on @p t after the handshake (an alert
 * from the server, a bad record), or "" if none. Valid until the next call on
 * @p t. Never NULL.
 */
const char *wsc_tls_detail(const struct wsc_tls *t);

/**
 * True when recv() reported end of stream because the lower transport hit EOF
 * without the peer's close_notify: the peer (or something on the path) may
 * have cut the stream short.
 */
bool wsc_tls_truncated(const struct wsc_tls *t);

/**
 * The TLS backend this build uses and the version it was compiled against:
 * "openssl 3.0.x", "mbedtls 2.28.x", or "none". A static string.
 */
const char *wsc_tls_backend(void);

#ifdef __cplusplus
}
#endif
#endif /* WSC_TLS_H */
