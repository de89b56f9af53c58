/*
 * TLS transport on OpenSSL 3 (tested with 3.0; 1.1.1 is the oldest it accepts).
 *
 * OpenSSL never sees a socket: a custom BIO hands its ciphertext to the lower
 * transport's ops and takes ciphertext from the preread carry, then from the
 * lower transport. "Would block" travels as BIO retry flags one way and
 * SSL_ERROR_WANT_READ/WRITE the other, and comes out as WSC_EAGAIN plus the
 * direction wait() must watch.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "transport/tls_io.h"

#if OPENSSL_VERSION_NUMBER < 0x10101000L
#error "the wsc OpenSSL backend needs OpenSSL 1.1.1 or later"
#endif

#ifdef OPENSSL_VERSION_STR
#define BACKEND_NAME "openssl " OPENSSL_VERSION_STR
#else
#define BACKEND_NAME "openssl (" OPENSSL_VERSION_TEXT ")"
#endif

struct wsc_tls {
    struct wsc__tls_io io;
    SSL_CTX *ctx;
    SSL *ssl;
    const char *host;    /* during wsc_tls_connect only, for the mismatch message */
    size_t write_retry;  /* length of the send that returned WSC_EAGAIN, else 0 */
    int failed;          /* sticky error once the connection is unusable */
    bool eof;            /* recv reported end of stream */
    bool truncated;      /* ... and it came without close_notify */
    bool shutdown_sent;  /* close_notify has gone to the TLS library */
    bool has_cert;       /* a client certificate was configured */
    bool cert_requested; /* the server asked for one in the handshake */
    bool verify_oom;     /* certificate verification ran out of memory */
    char detail[WSC_TLS_DETAIL_MAX];
    uint8_t carry[]; /* the preread bytes (io.carry points here) */
};

/* ---- the BIO ------------------------------------------------------------ */

static CRYPTO_ONCE bio_once = CRYPTO_ONCE_STATIC_INIT;
static BIO_METHOD *bio_method;

static int bio_write(BIO *b, const char *data, size_t len, size_t *written)
{
    struct wsc_tls *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    int rc = wsc__tls_io_send(&t->io, (const uint8_t *)data, len, written);
    if (rc == 0)
        return 1;
    if (rc == WSC_EAGAIN)
        BIO_set_retry_write(b);
    return 0;
}

static int bio_read(BIO *b, char *data, size_t len, size_t *readbytes)
{
    struct wsc_tls *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    int rc = wsc__tls_io_recv(&t->io, (uint8_t *)data, len, readbytes);
    if (rc == 0)
        return *readbytes > 0; /* 0 bytes: end of stream, which BIO_eof() confirms */
    if (rc == WSC_EAGAIN)
        BIO_set_retry_read(b);
    return 0;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct wsc_tls *t = BIO_get_data(b);
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; /* transports do not buffer output: sent means handed over */
    case BIO_CTRL_EOF:
        /* OpenSSL asks this after a read of 0 bytes to tell a closed stream
         * (reported as "unexpected EOF") from a plain failure. */
        return t->io.lower_eof && wsc__tls_io_carried(&t->io) == 0;
    default:
        return 0;
    }
}

static void make_bio_method(void)
{
    /* One method for the process: BIO_get_new_index() hands out a limited
     * number of type indexes, so it cannot be called per connection. The
     * method lives until exit (it stays reachable, so leak checkers agree). */
    int index = BIO_get_new_index();
    if (index == -1)
        return;
    BIO_METHOD *m = BIO_meth_new(index | BIO_TYPE_SOURCE_SINK, "wsc transport");
    if (m == NULL)
        return;
    if (!BIO_meth_set_write_ex(m, bio_write) || !BIO_meth_set_read_ex(m, bio_read) ||
        !BIO_meth_set_ctrl(m, bio_ctrl)) {
        BIO_meth_free(m);
        return;
    }
    bio_method = m;
}

/* ---- failure details ---------------------------------------------------- */

/*
 * True when OpenSSL queued an allocation failure. What it stacks on top (a
 * PEM, ASN.1 or signature error, "internal error", a certificate that seems
 * to fail verification) is then a consequence: the cause is memory. It is
 * raised where the allocation failed, so it is the oldest error, or the only
 * one.
 */
static bool out_of_memory(void)
{
    unsigned long first = ERR_peek_error(), last = ERR_peek_last_error();
    return (first != 0 && ERR_GET_REASON(first) == ERR_R_MALLOC_FAILURE) ||
           (last != 0 && ERR_GET_REASON(last) == ERR_R_MALLOC_FAILURE);
}

/* WSC_ENOMEM after an allocation failure, else WSC_ETLS. */
static int lib_error(void)
{
    return out_of_memory() ? WSC_ENOMEM : WSC_ETLS;
}

/* The reason text of the newest queued OpenSSL error, or @p fallback. */
static const char *err_reason(const char *fallback)
{
    if (out_of_memory())
        return "out of memory";
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : fallback;
}

/* A hint that turns OpenSSL's reason into advice, or "". */
static const char *err_hint(const struct wsc_tls *t)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0 || ERR_GET_LIB(e) != ERR_LIB_SSL || out_of_memory())
        return "";
    switch (ERR_GET_REASON(e)) {
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_RECORD_LENGTH_MISMATCH:
        return " (is the server speaking TLS on this port?)";
#ifdef SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        return " (the server requires a client certificate)";
#endif
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
        return t->has_cert ? " (the server may have rejected our client certificate)"
                           : " (the server may require a client certificate)";
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_UNSUPPORTED_PROTOCOL:
        return " (the server does not offer TLS 1.2 or later)";
    case SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
        return " (the server does not speak HTTP/1.1 over TLS)";
    default:
        return "";
    }
}

/* One-line RFC 2253 form of @p name ("CN=...,O=..."). */
static void name_text(const X509_NAME *name, char *out, size_t cap)
{
    out[0] = '\0';
    BIO *mem = BIO_new(BIO_s_mem());
    if (mem == NULL)
        return;
    if (X509_NAME_print_ex(mem, name, 0, XN_FLAG_RFC2253) >= 0) {
        char *p = NULL;
        long n = BIO_get_mem_data(mem, &p);
        if (n > 0 && p != NULL)
            wsc__tls_setf(out, cap, "%.*s", n > 200 ? 200 : (int)n, p);
    }
    BIO_free(mem);
}

/* "'a', 'b'": the DNS and IP names of @p cert, or its CN without SANs. */
static void cert_names(X509 *cert, char *out, size_t cap)
{
    out[0] = '\0';
    GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        if (g->type == GEN_DNS) {
            const ASN1_STRING *s = g->d.dNSName;
            wsc__tls_append_name(out, cap, (const char *)ASN1_STRING_get0_data(s),
                                 (size_t)ASN1_STRING_length(s));
        } else if (g->type == GEN_IPADD) {
            char ip[48];
            const ASN1_STRING *s = g->d.iPAddress;
            wsc__tls_format_ip(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), ip,
                               sizeof(ip));
            wsc__tls_append_name(out, cap, ip, strlen(ip));
        }
    }
    GENERAL_NAMES_free(sans);
    if (out[0] != '\0')
        return;
    /* RFC 6125 6.4.4: the CN counts only when there are no DNS-ID SANs. */
    const X509_NAME *subject = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    const X509_NAME_ENTRY *cn = idx >= 0 ? X509_NAME_get_entry(subject, idx) : NULL;
    const ASN1_STRING *s = cn ? X509_NAME_ENTRY_get_data(cn) : NULL;
    if (s != NULL)
        wsc__tls_append_name(out, cap, (const char *)ASN1_STRING_get0_data(s),
                             (size_t)ASN1_STRING_length(s));
    else
        wsc__tls_setf(out, cap, "no name at all");
}

static void time_text(const ASN1_TIME *when, char *out, size_t cap)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (when == NULL || !ASN1_TIME_to_tm(when, &tm)) {
        wsc__tls_setf(out, cap, "an unreadable date");
        return;
    }
    wsc__tls_format_time(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                         tm.tm_min, tm.tm_sec, out, cap);
}

/* Words the first verification failure into t->detail. */
static void describe_verify_error(struct wsc_tls *t, int err, X509 *cert)
{
    const char *why = X509_verify_cert_error_string(err);
    char extra[WSC_TLS_DETAIL_MAX];
    switch (err) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        if (cert == NULL)
            break;
        cert_names(cert, extra, 160);
        wsc__tls_setf(t->detail, sizeof(t->detail),
                      "host name mismatch: certificate is for %s, not '%.60s'", extra,
                      t->host ? t->host : "");
        return;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        if (cert == NULL)
            break;
        time_text(err == X509_V_ERR_CERT_HAS_EXPIRED ? X509_get0_notAfter(cert)
                                                     : X509_get0_notBefore(cert),
                  extra, sizeof(extra));
        wsc__tls_setf(t->detail, sizeof(t->detail),
                      "certificate verify failed: %s (not valid %s %s)", why,
                      err == X509_V_ERR_CERT_HAS_EXPIRED ? "after" : "before", extra);
        return;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        if (cert == NULL)
            break;
        name_text(X509_get_issuer_name(cert), extra, sizeof(extra));
        wsc__tls_setf(t->detail, sizeof(t->detail),
                      "certificate verify failed: %s (unknown CA); the certificate was "
                      "issued by '%.100s'",
                      why, extra);
        return;
    default:
        break;
    }
    wsc__tls_setf(t->detail, sizeof(t->detail), "certificate verify failed: %s", why);
}

static int cert_requested_cb(SSL *ssl, void *arg)
{
    (void)ssl;
    struct wsc_tls *t = arg;
    t->cert_requested = true;
    return 1; /* go on with what is configured, or with no certificate */
}

static int verify_cb(int ok, X509_STORE_CTX *store)
{
    if (ok)
        return ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct wsc_tls *t = ssl ? SSL_get_app_data(ssl) : NULL;
    /* OpenSSL stops at the first failure (we return 0), so this is the one
     * that decides; the handshake then fails with a generic reason. A check
     * that ran out of memory says nothing about the certificate. */
    if (t != NULL && t->detail[0] == '\0' && out_of_memory()) {
        t->verify_oom = true;
        wsc__tls_setf(t->detail, sizeof(t->detail),
                      "out of memory verifying the certificate");
    } else if (t != NULL && t->detail[0] == '\0') {
        describe_verify_error(t, X509_STORE_CTX_get_error(store),
                              X509_STORE_CTX_get_current_cert(store));
    }
    return ok;
}

/* True when OpenSSL's newest error is an alert the server sent: reason
 * SSL_AD_REASON_OFFSET plus the alert's number (0-255). In OpenSSL 3 common
 * reasons such as ERR_R_MALLOC_FAILURE carry flag bits above these. */
static bool alert_received(void)
{
    unsigned long e = ERR_peek_last_error();
    int reason = ERR_GET_REASON(e);
    return e != 0 && ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET &&
           reason < SSL_AD_REASON_OFFSET + 256;
}

/* After a failed SSL_* call with SSL_get_error() == @p e: the error to return,
 * with t->detail saying "<what>: <why>". The connection is unusable after. */
static int fail(struct wsc_tls *t, const char *what, int e)
{
    if (t->io.lower_err) {
        t->failed = t->io.lower_err;
        wsc__tls_setf(t->detail, sizeof(t->detail), "%s: %s", what,
                      wsc_strerror(t->io.lower_err));
    } else {
        t->failed = WSC_ETLS;
        const char *why = e == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0
                              ? "the connection ended abruptly"
                              : err_reason("unknown TLS error");
        wsc__tls_setf(t->detail, sizeof(t->detail), "%s: %s%s", what, why, err_hint(t));
    }
    ERR_clear_error(); /* leave the thread's error queue as we found it */
    return t->failed;
}

/* ---- the transport ops -------------------------------------------------- */

static size_t tls_pending(void *ctx)
{
    struct wsc_tls *t = ctx;
    int n = SSL_pending(t->ssl);
    return (n > 0 ? (size_t)n : 0) + wsc__tls_io_carried(&t->io);
}

static int tls_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    struct wsc_tls *t = ctx;
    *got = 0;
    if (cap == 0)
        return WSC_EINVAL;
    if (t->failed)
        return t->failed;
    if (t->eof)
        return 0;
    ERR_clear_error();
    size_t n = 0;
    int r = SSL_read_ex(t->ssl, buf, cap, &n);
    if (r == 1) {
        t->io.read_wants = WSC_WAIT_READ;
        *got = n;
        return 0;
    }
    int e = SSL_get_error(t->ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        t->io.read_wants = WSC_WAIT_READ;
        return WSC_EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        t->io.read_wants = WSC_WAIT_WRITE;
        return WSC_EAGAIN;
    case SSL_ERROR_ZERO_RETURN: /* the peer's close_notify */
        t->eof = true;
        return 0;
    default:
        break;
    }
    /* TCP EOF without close_notify. A WebSocket connection has its own close
     * handshake, so the layer above can still tell a complete conversation
     * from a cut one; report end of stream and remember how it ended. */
    unsigned long last = ERR_peek_last_error();
    bool eof_only = last == 0;
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING /* OpenSSL 3; 1.1.1 leaves the queue empty */
    eof_only = eof_only || (ERR_GET_LIB(last) == ERR_LIB_SSL &&
                            ERR_GET_REASON(last) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
#endif
    if (t->io.lower_eof && !t->io.lower_err && eof_only) {
        ERR_clear_error();
        t->eof = true;
        t->truncated = true;
        return 0;
    }
    return fail(t, "TLS error while receiving", e);
}

/*
 * The lower transport failed a send (a reset). A server that refuses us after
 * the TLS 1.3 handshake, say over our client certificate, which it judges only
 * after our last handshake message, sends an alert and hangs up; our first
 * send (the HTTP request) can meet the reset before anything has read the
 * alert, which still waits in the socket. Looks for it by peeking, so any
 * application data before it stays for recv: true, with the alert in the
 * error queue, when the server said why.
 */
static bool alert_before_reset(struct wsc_tls *t)
{
    int send_err = t->io.lower_err;
    t->io.lower_err = 0; /* let the peek read what arrived before the reset */
    ERR_clear_error();
    uint8_t byte;
    size_t n = 0;
    if (SSL_peek_ex(t->ssl, &byte, 1, &n) != 1 && alert_received())
        return true;
    ERR_clear_error();
    t->io.lower_err = send_err;
    return false;
}

static int tls_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent)
{
    struct wsc_tls *t = ctx;
    *sent = 0;
    if (t->failed)
        return t->failed;
    if (t->shutdown_sent)
        return WSC_ENOTCONN;
    if (len == 0)
        return 0;
    /* After WANT_WRITE OpenSSL has the first bytes in a record already; it
     * must be called again with the same length (SSL_write(3)). */
    if (t->write_retry) {
        if (len < t->write_retry)
            return WSC_EINVAL;
        len = t->write_retry;
    }
    ERR_clear_error();
    size_t n = 0;
    int r = SSL_write_ex(t->ssl, buf, len, &n);
    if (r == 1) {
        t->write_retry = 0;
        t->io.write_wants = WSC_WAIT_WRITE;
        *sent = n;
        return 0;
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
        t->write_retry = len;
        t->io.write_wants = e == SSL_ERROR_WANT_WRITE ? WSC_WAIT_WRITE : WSC_WAIT_READ;
        return WSC_EAGAIN;
    }
    if (t->io.lower_err && alert_before_reset(t))
        t->io.lower_err = 0; /* the alert says why; the reset says nothing */
    return fail(t, "TLS error while sending", e);
}

static int tls_wait(void *ctx, int events, int timeout_ms)
{
    struct wsc_tls *t = ctx;
    if (t->failed)
        return events & (WSC_WAIT_READ | WSC_WAIT_WRITE);
    /* Decrypted bytes in OpenSSL's buffer are invisible to poll(). */
    return wsc__tls_io_wait(&t->io, events, timeout_ms, t->eof || tls_pending(t) > 0);
}

static int tls_shutdown(void *ctx)
{
    struct wsc_tls *t = ctx;
    if (t->failed)
        return t->failed;
    /* The alert would have to follow a half-written record; OpenSSL cannot
     * interleave them, so the pending send must be completed first. */
    if (t->write_retry)
        return WSC_EINVAL;
    if (!t->shutdown_sent) {
        ERR_clear_error();
        int r = SSL_shutdown(t->ssl);
        if (r < 0) {
            int e = SSL_get_error(t->ssl, r);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                t->io.write_wants =
                    e == SSL_ERROR_WANT_WRITE ? WSC_WAIT_WRITE : WSC_WAIT_READ;
                return WSC_EAGAIN;
            }
            return fail(t, "sending close_notify failed", e);
        }
        /* r is 0 (our alert sent, the peer's not seen) or 1 (both): either
         * way ours is out. Never call again: that would wait for the peer's. */
        t->shutdown_sent = true;
    }
    return t->io.lower.ops->shutdown(t->io.lower.ctx);
}

static void tls_close(void *ctx)
{
    struct wsc_tls *t = ctx;
    SSL_free(t->ssl); /* frees the BIO too */
    SSL_CTX_free(t->ctx);
    t->io.lower.ops->close(t->io.lower.ctx);
    OPENSSL_free(t);
}

static int tls_fd(void *ctx)
{
    struct wsc_tls *t = ctx;
    return t->io.lower.ops->fd(t->io.lower.ctx);
}

static const struct wsc_transport_ops tls_ops = {
    .name = "tls",
    .send = tls_send,
    .recv = tls_recv,
    .wait = tls_wait,
    .pending = tls_pending,
    .shutdown = tls_shutdown,
    .close = tls_close,
    .fd = tls_fd,
};

/* ---- connect ------------------------------------------------------------ */

static bool is_ip_literal(const char *host)
{
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);
    ASN1_OCTET_STRING_free(ip);
    return ip != NULL;
}

/* Context and connection objects from the options. Returns 0 or an error with
 * @p detail set. */
static int setup(struct wsc_tls *t, const char *host, const struct wsc_tls_options *o,
                 char *detail, size_t cap)
{
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->ctx == NULL) {
        wsc__tls_setf(detail, cap, "cannot create a TLS context: %s",
                      err_reason("out of memory"));
        return WSC_ENOMEM;
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    /* Partial writes: SSL_write returns after each record, so a send reports
     * progress record by record. Moving buffer: a retry may come from a
     * different address holding the same bytes (the caller compacted). */
    SSL_CTX_set_mode(t->ctx,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Called when the server asks for a client certificate, whether or not we
     * have one: a server that hangs up after that may not like our answer. */
    SSL_CTX_set_cert_cb(t->ctx, cert_requested_cb, t);

    if (o->insecure) {
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
    } else {
        if (o->ca_file || o->ca_path) {
            if (SSL_CTX_load_verify_locations(t->ctx, o->ca_file, o->ca_path) != 1) {
                wsc__tls_setf(detail, cap, "cannot load CA certificates from '%.80s': %s",
                              o->ca_file ? o->ca_file : o->ca_path,
                              err_reason("no certificates found"));
                return lib_error();
            }
        } else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
            wsc__tls_setf(detail, cap, "cannot load the system trust store: %s",
                          err_reason("unknown error"));
            return lib_error();
        }
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, verify_cb);
    }

    if (o->cert_file) {
        const char *key = o->key_file ? o->key_file : o->cert_file;
        if (SSL_CTX_use_certificate_chain_file(t->ctx, o->cert_file) != 1) {
            wsc__tls_setf(detail, cap, "cannot load the client certificate '%.80s': %s",
                          o->cert_file, err_reason("unknown error"));
            return lib_error();
        }
        /* OpenSSL checks the key against the certificate while loading it. */
        int loaded = SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM);
        unsigned long e = ERR_peek_last_error();
        bool mismatch = ERR_GET_LIB(e) == ERR_LIB_X509 &&
                        ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH;
        if (loaded != 1 && !mismatch) {
            wsc__tls_setf(detail, cap, "cannot load the private key '%.80s': %s", key,
                          err_reason("unknown error"));
            return lib_error();
        }
        if (mismatch || SSL_CTX_check_private_key(t->ctx) != 1) {
            wsc__tls_setf(detail, cap,
                          "the private key '%.80s' does not match the certificate '%.80s'",
                          key, o->cert_file);
            return WSC_ETLS;
        }
        t->has_cert = true;
    }

    t->ssl = SSL_new(t->ctx);
    BIO *bio = t->ssl ? BIO_new(bio_method) : NULL;
    if (bio == NULL) {
        wsc__tls_setf(detail, cap, "out of memory creating the TLS connection");
        return WSC_ENOMEM;
    }
    BIO_set_data(bio, t);
    BIO_set_init(bio, 1);
    SSL_set_bio(t->ssl, bio, bio); /* one BIO both ways: SSL owns its one reference */
    SSL_set_app_data(t->ssl, t);

    /* RFC 6455 does not require ALPN, but servers that route on it (and
     * HTTP/2-capable ones) must not pick h2 for a WebSocket upgrade. */
    static const unsigned char alpn[] = "\x08http/1.1";
    bool ip = host != NULL && is_ip_literal(host);
    if (SSL_set_alpn_protos(t->ssl, alpn, sizeof(alpn) - 1) != 0 ||
        /* RFC 6066 3: SNI carries DNS names only, never address literals. */
        (host != NULL && !ip && SSL_set_tlsext_host_name(t->ssl, host) != 1)) {
        wsc__tls_setf(detail, cap, "cannot set up the TLS connection for '%.80s': %s",
                      host ? host : "", err_reason("unknown error"));
        return lib_error();
    }
    if (!o->insecure) {
        X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);
        /* "w*.example.com" style partial wildcards are not honoured (RFC 6125 7.2). */
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        int ok =
            ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host) : SSL_set1_host(t->ssl, host);
        if (ok != 1) {
            wsc__tls_setf(detail, cap, "cannot verify the name '%.80s': %s", host,
                          err_reason("invalid host name"));
            return lib_error();
        }
    }
    SSL_set_connect_state(t->ssl);
    return 0;
}

static int handshake_failure(struct wsc_tls *t, int e, char *detail, size_t cap)
{
    int rc;
    int transport_err = t->io.lower_err ? t->io.lower_err : t->io.send_err;
    if (t->detail[0] != '\0') {
        /* The verify callback worded the certificate problem. */
        wsc__tls_setf(detail, cap, "%s", t->detail);
        rc = t->verify_oom ? WSC_ENOMEM : WSC_ETLS;
    } else if (alert_received()) {
        /* Even when the server reset the connection right after: its alert
         * says why, the reset says nothing. */
        t->io.lower_err = 0;
        rc = fail(t, "TLS handshake failed", e);
        wsc__tls_setf(detail, cap, "%s", t->detail);
    } else if (transport_err) {
        wsc__tls_setf(
            detail, cap, "TLS handshake failed: %s%s", wsc_strerror(transport_err),
            t->cert_requested ? wsc__tls_hangup_hint(&t->io, true, t->has_cert) : "");
        rc = transport_err;
    } else if (t->io.lower_eof) {
        wsc__tls_setf(detail, cap,
                      "TLS handshake failed: the server closed the connection%s",
                      wsc__tls_hangup_hint(&t->io, t->cert_requested, t->has_cert));
        rc = WSC_ETLS;
    } else {
        int lib_rc = lib_error(); /* before fail() clears the queue */
        rc = fail(t, "TLS handshake failed", e);
        wsc__tls_setf(detail, cap, "%s", t->detail);
        if (rc == WSC_ETLS)
            rc = lib_rc;
    }
    ERR_clear_error();
    return rc;
}

/* One handshake attempt: 0 when done, WSC_EAGAIN with *wantp the direction
 * to wait for, or the failure with @p detail set. */
static int handshake_once(struct wsc_tls *t, int *wantp, char *detail, size_t cap)
{
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(t->ssl);
        if (r == 1) {
            if (t->io.send_err == 0)
                return 0;
            /* A held-back send failure and no alert to explain it. */
            wsc__tls_setf(
                detail, cap, "TLS handshake failed: %s%s", wsc_strerror(t->io.send_err),
                t->cert_requested ? wsc__tls_hangup_hint(&t->io, true, t->has_cert) : "");
            return t->io.send_err;
        }
        int e = SSL_get_error(t->ssl, r);
        int want = e == SSL_ERROR_WANT_READ    ? WSC_WAIT_READ
                   : e == SSL_ERROR_WANT_WRITE ? WSC_WAIT_WRITE
                                               : 0;
        if (want == 0)
            return handshake_failure(t, e, detail, cap);
        *wantp = want;
        return WSC_EAGAIN;
    }
}

int wsc_tls_start(struct wsc_tls **out, const struct wsc_transport *lower, const char *host,
                  const struct wsc_tls_options *o, const uint8_t *preread, size_t preread_len,
                  char *detail, size_t detail_len)
{
    static const struct wsc_tls_options defaults = {0};
    wsc__tls_setf(detail, detail_len, "%s", "");
    if (out != NULL)
        *out = NULL;
    if (lower == NULL || lower->ops == NULL) {
        wsc__tls_setf(detail, detail_len, "no lower transport");
        return WSC_EINVAL;
    }
    if (o == NULL)
        o = &defaults;
    const char *bad = out == NULL                      ? "no place for the result"
                      : preread_len && preread == NULL ? "preread bytes missing"
                      : host == NULL && !o->insecure   ? "no host name to verify"
                      : o->key_file && !o->cert_file   ? "a key file without a certificate"
                                                       : NULL;
    if (bad != NULL) {
        lower->ops->close(lower->ctx);
        wsc__tls_setf(detail, detail_len, "invalid TLS options: %s", bad);
        return WSC_EINVAL;
    }
    if (!CRYPTO_THREAD_run_once(&bio_once, make_bio_method) || bio_method == NULL) {
        lower->ops->close(lower->ctx);
        wsc__tls_setf(detail, detail_len, "cannot create the OpenSSL BIO method");
        return WSC_ENOMEM;
    }
    if (preread_len > SIZE_MAX - sizeof(struct wsc_tls)) {
        lower->ops->close(lower->ctx);
        wsc__tls_setf(detail, detail_len, "invalid TLS options: preread too large");
        return WSC_EINVAL;
    }
    struct wsc_tls *t = OPENSSL_zalloc(sizeof(*t) + preread_len);
    if (t == NULL) {
        lower->ops->close(lower->ctx);
        wsc__tls_setf(detail, detail_len, "out of memory creating the TLS connection");
        return WSC_ENOMEM;
    }
    if (preread_len)
        memcpy(t->carry, preread, preread_len);
    wsc__tls_io_init(&t->io, lower, t->carry, preread_len);
    t->host = host;

    int rc = setup(t, host, o, detail, detail_len);
    if (rc != 0) {
        tls_close(t);
        return rc;
    }
    t->io.hold_send_errors = true; /* until the handshake is done */
    *out = t;
    return 0;
}

/* The handshake is done: what only it needed goes. */
static void handshake_done(struct wsc_tls *t)
{
    t->io.hold_send_errors = false;
    t->host = NULL;
    t->detail[0] = '\0';
}

int wsc_tls_handshake_step(struct wsc_tls *t, int *want, char *detail, size_t detail_len)
{
    *want = 0;
    int rc = handshake_once(t, want, detail, detail_len);
    if (rc != WSC_EAGAIN)
        ERR_clear_error(); /* nothing of it may surface in a later call */
    if (rc == 0)
        handshake_done(t);
    return rc;
}

void wsc_tls_transport(struct wsc_tls *t, struct wsc_transport *tr)
{
    tr->ops = &tls_ops;
    tr->ctx = t;
}

const char *wsc_tls_detail(const struct wsc_tls *t)
{
    return t ? t->detail : "";
}

bool wsc_tls_truncated(const struct wsc_tls *t)
{
    return t != NULL && t->truncated;
}

const char *wsc_tls_backend(void)
{
    return BACKEND_NAME;
}
