/*
 * TLS transport on mbedTLS 2.28 (LTS).
 *
 * mbedTLS never sees a socket: the callbacks given to mbedtls_ssl_set_bio()
 * hand ciphertext to the lower transport's ops and take it from the preread
 * carry, then from the lower transport; WSC_EAGAIN becomes
 * MBEDTLS_ERR_SSL_WANT_READ/WRITE and back.
 *
 * mbedTLS 2.28 speaks TLS 1.2 at most here (its TLS 1.3 is an experimental
 * option that Debian leaves off), and it only checks DNS names: an IP-literal
 * host is matched against the certificate's iPAddress SANs by this file, in
 * the verify callback, because 2.28 neither parses those nor may an address
 * go into SNI (RFC 6066 3).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/version.h>
#if !defined(MBEDTLS_CONFIG_FILE)
#include <mbedtls/config.h>
#else
#include MBEDTLS_CONFIG_FILE
#endif

#include <mbedtls/asn1.h>
#include <mbedtls/bignum.h>
#include <mbedtls/cipher.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/dhm.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "transport/tls_io.h"

#if MBEDTLS_VERSION_MAJOR != 2
#error "the wsc mbedTLS backend targets mbedTLS 2.x (2.28 LTS)"
#endif
#if !defined(MBEDTLS_SSL_CLI_C) || !defined(MBEDTLS_X509_CRT_PARSE_C) ||                   \
    !defined(MBEDTLS_FS_IO) || !defined(MBEDTLS_CTR_DRBG_C) || !defined(MBEDTLS_ENTROPY_C)
#error "mbedTLS needs SSL_CLI_C, X509_CRT_PARSE_C, FS_IO, CTR_DRBG_C and ENTROPY_C for wsc"
#endif

#define SAN_DNS_NAME 0x82   /* [2] IA5String, context-specific primitive */
#define SAN_IP_ADDRESS 0x87 /* [7] OCTET STRING */

struct wsc_tls {
    struct wsc__tls_io io;
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt cert;
    mbedtls_pk_context key;
    size_t write_retry; /* length of the send that returned WSC_EAGAIN, else 0 */
    int failed;         /* sticky error once the connection is unusable */
    bool eof;           /* recv reported end of stream */
    bool truncated;     /* ... and it came without close_notify */
    bool shutdown_sent; /* close_notify has gone to mbedTLS */
    bool has_cert;      /* a client certificate was configured */
    /* During the handshake, for the verify callback and failure details. */
    const char *host;
    bool host_is_ip;
    uint8_t ip[16];
    size_t ip_len;
    uint32_t vflags;      /* verification flags of the whole chain */
    char leaf_names[160]; /* "'a', 'b'" */
    char leaf_from[40];   /* validity of the server certificate */
    char leaf_to[40];
    char untrusted[160]; /* issuer of the certificate no trust anchor signed */
    bool untrusted_self; /* ... which signed itself */
    char detail[WSC_TLS_DETAIL_MAX];
    uint8_t carry[]; /* the preread bytes (io.carry points here) */
};

/* ---- IP literals -------------------------------------------------------- */

static bool parse_ipv4(const char *s, size_t n, uint8_t out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || s[i] != '.')
                return false;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        /* Dotted decimal exactly as inet_pton(): no empty part, no leading
         * zero (it could be read as octal), nothing above 255. */
        if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
            return false;
        out[part] = (uint8_t)v;
    }
    return i == n;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* RFC 4291 2.2 text forms: eight groups, one "::", an IPv4 tail. */
static bool parse_ipv6(const char *s, size_t n, uint8_t out[16])
{
    uint16_t w[8];
    int count = 0, gap = -1;
    size_t i = 0;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (n == 0 || s[0] == ':') {
        return false;
    }
    while (i < n) {
        if (count == 8)
            return false;
        size_t j = i;
        while (j < n && s[j] != ':')
            j++;
        if (memchr(s + i, '.', j - i) != NULL) {
            uint8_t v4[4];
            if (j != n || count > 6 || !parse_ipv4(s + i, j - i, v4))
                return false;
            w[count++] = (uint16_t)(v4[0] << 8 | v4[1]);
            w[count++] = (uint16_t)(v4[2] << 8 | v4[3]);
            break;
        }
        if (j == i || j - i > 4)
            return false;
        unsigned v = 0;
        for (size_t k = i; k < j; k++) {
            int d = hex_digit(s[k]);
            if (d < 0)
                return false;
            v = v << 4 | (unsigned)d;
        }
        w[count++] = (uint16_t)v;
        i = j;
        if (i == n)
            break;
        i++; /* the ':' */
        if (i < n && s[i] == ':') {
            if (gap >= 0)
                return false;
            gap = count;
            i++;
        } else if (i == n) {
            return false; /* a single trailing ':' */
        }
    }
    if (gap < 0 ? count != 8 : count > 7)
        return false;
    int zeros = 8 - count;
    for (int k = 0, o = 0; k < 8; k++) {
        uint16_t v = 0;
        if (gap >= 0 && k >= gap && k < gap + zeros)
            v = 0;
        else
            v = w[o++];
        out[2 * k] = (uint8_t)(v >> 8);
        out[2 * k + 1] = (uint8_t)v;
    }
    return true;
}

/* An IPv4 or IPv6 literal (IPv6 without brackets; a "%zone" is ignored). */
static size_t parse_ip(const char *host, uint8_t out[16])
{
    size_t n = strlen(host);
    const char *zone = memchr(host, '%', n);
    if (parse_ipv4(host, n, out))
        return 4;
    if (parse_ipv6(host, zone ? (size_t)(zone - host) : n, out))
        return 16;
    return 0;
}

/* ---- certificate inspection --------------------------------------------- */

/* Calls @p fn for each GeneralName of @p crt's subjectAltName extension. Walks
 * the raw extensions because mbedTLS 2.28 keeps only the DNS names. */
static void each_san(const mbedtls_x509_crt *crt,
                     void (*fn)(void *arg, unsigned char tag, const unsigned char *p,
                                size_t len),
                     void *arg)
{
    static const unsigned char san_oid[] = {0x55, 0x1d, 0x11}; /* 2.5.29.17 */
    unsigned char *p = crt->v3_ext.p;
    if (p == NULL || crt->v3_ext.len == 0)
        return;
    const unsigned char *end = p + crt->v3_ext.len;
    size_t len;
    if (mbedtls_asn1_get_tag(&p, end, &len,
                             MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
        return;
    end = p + len;
    while (p < end) {
        /* Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
         *                          extnValue OCTET STRING } (RFC 5280 4.1) */
        if (mbedtls_asn1_get_tag(&p, end, &len,
                                 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
            return;
        unsigned char *ext_end = p + len;
        size_t oid_len;
        if (mbedtls_asn1_get_tag(&p, ext_end, &oid_len, MBEDTLS_ASN1_OID))
            return;
        bool is_san = oid_len == sizeof(san_oid) && memcmp(p, san_oid, oid_len) == 0;
        p += oid_len;
        int critical;
        (void)mbedtls_asn1_get_bool(&p, ext_end, &critical); /* optional */
        size_t value_len;
        if (mbedtls_asn1_get_tag(&p, ext_end, &value_len, MBEDTLS_ASN1_OCTET_STRING))
            return;
        if (is_san) {
            unsigned char *q = p;
            const unsigned char *q_end = p + value_len;
            size_t seq_len;
            if (mbedtls_asn1_get_tag(&q, q_end, &seq_len,
                                     MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
                return;
            q_end = q + seq_len;
            while (q < q_end) {
                unsigned char tag = *q++;
                size_t n;
                if (mbedtls_asn1_get_len(&q, q_end, &n))
                    return;
                fn(arg, tag, q, n);
                q += n;
            }
        }
        p = ext_end;
    }
}

struct ip_match {
    const uint8_t *ip;
    size_t len;
    bool found;
};

static void match_ip(void *arg, unsigned char tag, const unsigned char *p, size_t len)
{
    struct ip_match *m = arg;
    if (tag == SAN_IP_ADDRESS && len == m->len && memcmp(p, m->ip, len) == 0)
        m->found = true;
}

struct name_list {
    char *buf;
    size_t cap;
};

static void list_name(void *arg, unsigned char tag, const unsigned char *p, size_t len)
{
    struct name_list *l = arg;
    if (tag == SAN_DNS_NAME) {
        wsc__tls_append_name(l->buf, l->cap, (const char *)p, len);
    } else if (tag == SAN_IP_ADDRESS) {
        char ip[48];
        wsc__tls_format_ip(p, len, ip, sizeof(ip));
        wsc__tls_append_name(l->buf, l->cap, ip, strlen(ip));
    }
}

/* "'a', 'b'": the DNS and IP names of @p crt, or its CN without SANs. */
static void cert_names(const mbedtls_x509_crt *crt, char *out, size_t cap)
{
    struct name_list l = {out, cap};
    out[0] = '\0';
    each_san(crt, list_name, &l);
    if (out[0] != '\0')
        return;
    /* RFC 6125 6.4.4: the CN counts only when there are no SANs. */
    for (const mbedtls_x509_name *n = &crt->subject; n != NULL; n = n->next) {
        if (n->oid.p != NULL && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
            wsc__tls_append_name(out, cap, (const char *)n->val.p, n->val.len);
            return;
        }
    }
    wsc__tls_setf(out, cap, "no name at all");
}

static void time_text(const mbedtls_x509_time *t, char *out, size_t cap)
{
    wsc__tls_format_time(t->year, t->mon, t->day, t->hour, t->min, t->sec, out, cap);
}

/* Runs for every certificate of the chain, the trust anchor's end first. */
static int verify_cb(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    struct wsc_tls *t = arg;
    if (depth == 0) {
        if (t->host_is_ip) {
            struct ip_match m = {t->ip, t->ip_len, false};
            each_san(crt, match_ip, &m);
            if (!m.found)
                *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
        }
        cert_names(crt, t->leaf_names, sizeof(t->leaf_names));
        time_text(&crt->valid_from, t->leaf_from, sizeof(t->leaf_from));
        time_text(&crt->valid_to, t->leaf_to, sizeof(t->leaf_to));
    }
    if ((*flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) && t->untrusted[0] == '\0') {
        if (mbedtls_x509_dn_gets(t->untrusted, sizeof(t->untrusted), &crt->issuer) < 0)
            wsc__tls_setf(t->untrusted, sizeof(t->untrusted), "?");
        t->untrusted_self =
            crt->issuer_raw.len == crt->subject_raw.len &&
            memcmp(crt->issuer_raw.p, crt->subject_raw.p, crt->issuer_raw.len) == 0;
    }
    t->vflags |= *flags;
    return 0; /* the flags decide; a non-zero return would abort without them */
}

/* ---- failure details ---------------------------------------------------- */

/* RFC 8446 6 and RFC 5246 7.2 alert descriptions, for the failure detail. */
static const struct {
    unsigned char code;
    const char *name;
} alerts[] = {
    {0, "close notify"},
    {10, "unexpected message"},
    {20, "bad record MAC"},
    {22, "record overflow"},
    {40, "handshake failure"},
    {42, "bad certificate"},
    {43, "unsupported certificate"},
    {44, "certificate revoked"},
    {45, "certificate expired"},
    {46, "certificate unknown"},
    {47, "illegal parameter"},
    {48, "unknown CA"},
    {49, "access denied"},
    {50, "decode error"},
    {51, "decrypt error"},
    {70, "protocol version"},
    {71, "insufficient security"},
    {80, "internal error"},
    {86, "inappropriate fallback"},
    {90, "user canceled"},
    {100, "no renegotiation"},
    {109, "missing extension"},
    {110, "unsupported extension"},
    {112, "unrecognized name"},
    {116, "certificate required"},
    {120, "no application protocol"},
};

static const char *alert_name(unsigned char a)
{
    for (size_t i = 0; i < sizeof(alerts) / sizeof(alerts[0]); i++) {
        if (alerts[i].code == a)
            return alerts[i].name;
    }
    return "unknown";
}

static const char *alert_hint(const struct wsc_tls *t, unsigned char a)
{
    switch (a) {
    case 116:
        return " (the server requires a client certificate)";
    case 40:
    case 42:
    case 48:
    case 49:
        return t->has_cert ? " (the server may have rejected our client certificate)"
                           : " (the server may require a client certificate)";
    case 70:
        return " (the server does not offer TLS 1.2)";
    case 120:
        return " (the server does not speak HTTP/1.1 over TLS)";
    default:
        return "";
    }
}

static void mbed_text(int ret, char *out, size_t cap)
{
#if defined(MBEDTLS_ERROR_C)
    mbedtls_strerror(ret, out, cap);
#else
    wsc__tls_setf(out, cap, "mbedTLS error -0x%04x", (unsigned)-ret);
#endif
}

/* True when @p ret says an allocation failed. mbedTLS adds a low-level
 * module's code (bits 0-6) to a high-level one (bits 7-14): either may say it. */
static bool alloc_failed(int ret)
{
    if (ret >= 0)
        return false;
    int high = -(-ret & 0x7F80), low = -(-ret & 0x007F);
    return low == MBEDTLS_ERR_MPI_ALLOC_FAILED || low == MBEDTLS_ERR_ASN1_ALLOC_FAILED ||
           high == MBEDTLS_ERR_SSL_ALLOC_FAILED || high == MBEDTLS_ERR_X509_ALLOC_FAILED ||
           high == MBEDTLS_ERR_PK_ALLOC_FAILED || high == MBEDTLS_ERR_PEM_ALLOC_FAILED ||
           high == MBEDTLS_ERR_MD_ALLOC_FAILED || high == MBEDTLS_ERR_CIPHER_ALLOC_FAILED ||
           high == MBEDTLS_ERR_ECP_ALLOC_FAILED || high == MBEDTLS_ERR_DHM_ALLOC_FAILED;
}

/* What wsc_tls_connect() returns for a setup or handshake step that failed
 * with @p ret: WSC_ENOMEM when memory ran out, else WSC_ETLS. */
static int connect_error(int ret)
{
    return alloc_failed(ret) ? WSC_ENOMEM : WSC_ETLS;
}

/* The error to return after mbedTLS failed with @p ret, with t->detail saying
 * "<what>: <why>". The connection is unusable after. */
static int fail(struct wsc_tls *t, const char *what, int ret)
{
    if (t->io.lower_err) {
        t->failed = t->io.lower_err;
        wsc__tls_setf(t->detail, sizeof(t->detail), "%s: %s", what,
                      wsc_strerror(t->io.lower_err));
        return t->failed;
    }
    t->failed = WSC_ETLS;
    if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
        /* 2.28 keeps the received alert in the input buffer: level, description. */
        unsigned char a = t->ssl.in_msg ? t->ssl.in_msg[1] : 255;
        wsc__tls_setf(t->detail, sizeof(t->detail),
                      "%s: the server sent the alert '%s' (%u)%s", what, alert_name(a), a,
                      alert_hint(t, a));
        return t->failed;
    }
    char why[128];
    mbed_text(ret, why, sizeof(why));
    const char *hint = "";
    if (ret == MBEDTLS_ERR_SSL_INVALID_RECORD)
        hint = " (is the server speaking TLS on this port?)";
    else if (ret == MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION)
        hint = " (the server does not offer TLS 1.2)";
    wsc__tls_setf(t->detail, sizeof(t->detail), "%s: %s (-0x%04x)%s", what, why,
                  (unsigned)-ret, hint);
    return t->failed;
}

/* Words a failed chain or name check, in the same terms as the OpenSSL
 * backend, into @p out. The order follows OpenSSL's: trust, purpose, name,
 * then validity dates. */
static void describe_verify_failure(const struct wsc_tls *t, uint32_t f, char *out,
                                    size_t cap)
{
    if (f & MBEDTLS_X509_BADCERT_NOT_TRUSTED) {
        wsc__tls_setf(out, cap,
                      "certificate verify failed: %s (unknown CA); the certificate was "
                      "issued by '%.100s'",
                      t->untrusted_self ? "self-signed certificate"
                                        : "unable to get local issuer certificate",
                      t->untrusted);
    } else if (f & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
                    MBEDTLS_X509_BADCERT_NS_CERT_TYPE)) {
        wsc__tls_setf(out, cap,
                      "certificate verify failed: unsuitable certificate purpose");
    } else if (f & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
        wsc__tls_setf(out, cap, "host name mismatch: certificate is for %s, not '%.60s'",
                      t->leaf_names, t->host ? t->host : "");
    } else if (f & MBEDTLS_X509_BADCERT_EXPIRED) {
        wsc__tls_setf(
            out, cap,
            "certificate verify failed: certificate has expired (not valid after %s)",
            t->leaf_to);
    } else if (f & MBEDTLS_X509_BADCERT_FUTURE) {
        wsc__tls_setf(out, cap,
                      "certificate verify failed: certificate is not yet valid (not valid "
                      "before %s)",
                      t->leaf_from);
    } else if (f & MBEDTLS_X509_BADCERT_REVOKED) {
        wsc__tls_setf(out, cap, "certificate verify failed: certificate revoked");
    } else if (f & (MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK |
                    MBEDTLS_X509_BADCERT_BAD_KEY)) {
        wsc__tls_setf(out, cap,
                      "certificate verify failed: the certificate uses a hash, key type or "
                      "key size that is not allowed");
    } else {
        char info[160];
        int n = mbedtls_x509_crt_verify_info(info, sizeof(info), "", f);
        if (n <= 0)
            wsc__tls_setf(info, sizeof(info), "flags 0x%08x", (unsigned)f);
        info[strcspn(info, "\n")] = '\0'; /* first reason only */
        wsc__tls_setf(out, cap, "certificate verify failed: %s", info);
    }
}

/* ---- the BIO callbacks -------------------------------------------------- */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct wsc_tls *t = ctx;
    size_t sent = 0;
    int rc = wsc__tls_io_send(&t->io, buf, len > INT_MAX ? INT_MAX : len, &sent);
    if (rc == 0)
        return (int)sent;
    return rc == WSC_EAGAIN ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct wsc_tls *t = ctx;
    size_t got = 0;
    int rc = wsc__tls_io_recv(&t->io, buf, len > INT_MAX ? INT_MAX : len, &got);
    if (rc == 0)
        return (int)got; /* 0: end of stream */
    return rc == WSC_EAGAIN ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
}

/* ---- the transport ops -------------------------------------------------- */

static size_t tls_pending(void *ctx)
{
    struct wsc_tls *t = ctx;
    return mbedtls_ssl_get_bytes_avail(&t->ssl) + wsc__tls_io_carried(&t->io);
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
    int r = mbedtls_ssl_read(&t->ssl, buf, cap > INT_MAX ? INT_MAX : cap);
    if (r > 0) {
        t->io.read_wants = WSC_WAIT_READ;
        *got = (size_t)r;
        return 0;
    }
    switch (r) {
    case MBEDTLS_ERR_SSL_WANT_READ:
        t->io.read_wants = WSC_WAIT_READ;
        return WSC_EAGAIN;
    case MBEDTLS_ERR_SSL_WANT_WRITE:
        t->io.read_wants = WSC_WAIT_WRITE;
        return WSC_EAGAIN;
    case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
        t->eof = true;
        return 0;
    case 0:
    case MBEDTLS_ERR_SSL_CONN_EOF:
        /* TCP EOF without close_notify. A WebSocket connection has its own
         * close handshake, so the layer above can still tell a complete
         * conversation from a cut one; report end of stream, remember how. */
        if (t->io.lower_err == 0) {
            t->eof = true;
            t->truncated = true;
            return 0;
        }
        break;
    default:
        break;
    }
    return fail(t, "TLS error while receiving", r);
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
    if (len > INT_MAX)
        len = INT_MAX;
    /* After WANT_WRITE mbedTLS holds a record made from the first bytes and, on
     * the next call, reports the length it is given as sent once the record is
     * out (mbedtls_ssl_write() docs): it must get the same length again, or
     * it would count bytes it never took. */
    if (t->write_retry) {
        if (len < t->write_retry)
            return WSC_EINVAL;
        len = t->write_retry;
    }
    int r = mbedtls_ssl_write(&t->ssl, buf, len);
    if (r >= 0) {
        t->write_retry = 0;
        t->io.write_wants = WSC_WAIT_WRITE;
        *sent = (size_t)r;
        return 0;
    }
    if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ) {
        t->write_retry = len;
        t->io.write_wants =
            r == MBEDTLS_ERR_SSL_WANT_WRITE ? WSC_WAIT_WRITE : WSC_WAIT_READ;
        return WSC_EAGAIN;
    }
    return fail(t, "TLS error while sending", r);
}

static int tls_wait(void *ctx, int events, int timeout_ms)
{
    struct wsc_tls *t = ctx;
    if (t->failed)
        return events & (WSC_WAIT_READ | WSC_WAIT_WRITE);
    /* Decrypted bytes in mbedTLS's buffer are invisible to poll(). */
    return wsc__tls_io_wait(&t->io, events, timeout_ms, t->eof || tls_pending(t) > 0);
}

static int tls_shutdown(void *ctx)
{
    struct wsc_tls *t = ctx;
    if (t->failed)
        return t->failed;
    /* mbedTLS would only flush the half-sent record and report success without
     * sending the alert: the pending send must be completed first. */
    if (t->write_retry)
        return WSC_EINVAL;
    if (!t->shutdown_sent) {
        int r = mbedtls_ssl_close_notify(&t->ssl);
        if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ) {
            t->io.write_wants =
                r == MBEDTLS_ERR_SSL_WANT_WRITE ? WSC_WAIT_WRITE : WSC_WAIT_READ;
            return WSC_EAGAIN;
        }
        if (r != 0)
            return fail(t, "sending close_notify failed", r);
        t->shutdown_sent = true;
    }
    return t->io.lower.ops->shutdown(t->io.lower.ctx);
}

static void tls_close(void *ctx)
{
    struct wsc_tls *t = ctx;
    mbedtls_ssl_free(&t->ssl);
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_ctr_drbg_free(&t->drbg);
    mbedtls_entropy_free(&t->entropy);
    mbedtls_x509_crt_free(&t->ca);
    mbedtls_x509_crt_free(&t->cert);
    mbedtls_pk_free(&t->key);
    t->io.lower.ops->close(t->io.lower.ctx);
    mbedtls_free(t);
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

/* mbedTLS has no notion of a system trust store: load the bundle where the
 * common distributions keep it, after SSL_CERT_FILE as OpenSSL honours it. */
static int load_system_cas(struct wsc_tls *t, char *detail, size_t cap)
{
    static const char *const bundles[] = {
        "/etc/ssl/certs/ca-certificates.crt",     /* Debian, Ubuntu, Arch, Gentoo */
        "/etc/pki/tls/certs/ca-bundle.crt",       /* Fedora, RHEL */
        "/etc/ssl/ca-bundle.pem",                 /* openSUSE */
        "/etc/ssl/cert.pem",                      /* Alpine, macOS, OpenBSD */
        "/usr/local/share/certs/ca-root-nss.crt", /* FreeBSD */
    };
    const char *env = getenv("SSL_CERT_FILE");
    if (env != NULL && env[0] != '\0') {
        /* Bundles may hold certificates 2.28 cannot parse; the rest still count. */
        if (mbedtls_x509_crt_parse_file(&t->ca, env) >= 0 && t->ca.version != 0)
            return 0;
        wsc__tls_setf(detail, cap, "cannot load CA certificates from SSL_CERT_FILE '%.80s'",
                      env);
        return WSC_ETLS;
    }
    for (size_t i = 0; i < sizeof(bundles) / sizeof(bundles[0]); i++) {
        if (mbedtls_x509_crt_parse_file(&t->ca, bundles[i]) >= 0 && t->ca.version != 0)
            return 0;
    }
    wsc__tls_setf(
        detail, cap,
        "no system trust store found for mbedTLS; set ca_file (or SSL_CERT_FILE)");
    return WSC_ETLS;
}

static int load_cas(struct wsc_tls *t, const struct wsc_tls_options *o, char *detail,
                    size_t cap)
{
    if (o->ca_file == NULL && o->ca_path == NULL)
        return load_system_cas(t, detail, cap);
    const char *what = o->ca_file ? o->ca_file : o->ca_path;
    int r = 0;
    if (o->ca_file != NULL)
        r = mbedtls_x509_crt_parse_file(&t->ca, o->ca_file);
    if (r >= 0 && o->ca_path != NULL) {
        what = o->ca_path;
        r = mbedtls_x509_crt_parse_path(&t->ca, o->ca_path);
    }
    /* A positive count means some certificates failed to parse; as long as
     * one loaded, the others are skipped like OpenSSL skips unknown ones. */
    if (r >= 0 && t->ca.version != 0)
        return 0;
    char why[128];
    if (r < 0)
        mbed_text(r, why, sizeof(why));
    else
        wsc__tls_setf(why, sizeof(why), "no certificate could be parsed");
    wsc__tls_setf(detail, cap, "cannot load CA certificates from '%.80s': %s", what, why);
    return connect_error(r);
}

static int load_own_cert(struct wsc_tls *t, const struct wsc_tls_options *o, char *detail,
                         size_t cap)
{
    const char *key = o->key_file ? o->key_file : o->cert_file;
    char why[128];
    int r = mbedtls_x509_crt_parse_file(&t->cert, o->cert_file);
    if (r != 0) {
        if (r < 0)
            mbed_text(r, why, sizeof(why));
        else
            wsc__tls_setf(why, sizeof(why), "%d certificates could not be parsed", r);
        wsc__tls_setf(detail, cap, "cannot load the client certificate '%.80s': %s",
                      o->cert_file, why);
        return connect_error(r);
    }
    r = mbedtls_pk_parse_keyfile(&t->key, key, NULL);
    if (r != 0) {
        mbed_text(r, why, sizeof(why));
        wsc__tls_setf(detail, cap, "cannot load the private key '%.80s': %s", key, why);
        return connect_error(r);
    }
    if (mbedtls_pk_check_pair(&t->cert.pk, &t->key) != 0) {
        wsc__tls_setf(detail, cap,
                      "the private key '%.80s' does not match the certificate '%.80s'", key,
                      o->cert_file);
        return WSC_ETLS;
    }
    r = mbedtls_ssl_conf_own_cert(&t->conf, &t->cert, &t->key);
    if (r != 0) {
        mbed_text(r, why, sizeof(why));
        wsc__tls_setf(detail, cap, "cannot use the client certificate: %s", why);
        return connect_error(r);
    }
    t->has_cert = true;
    return 0;
}

static int setup(struct wsc_tls *t, const char *host, const struct wsc_tls_options *o,
                 char *detail, size_t cap)
{
    static const unsigned char personal[] = "wsc tls client";
    char why[128];
    int r = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy, personal,
                                  sizeof(personal) - 1);
    if (r != 0) {
        mbed_text(r, why, sizeof(why));
        wsc__tls_setf(detail, cap, "cannot seed the TLS random generator: %s", why);
        return WSC_ETLS;
    }
    r = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT,
                                    MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT);
    if (r != 0) {
        mbed_text(r, why, sizeof(why));
        wsc__tls_setf(detail, cap, "cannot configure TLS: %s", why);
        return connect_error(r);
    }
    mbedtls_ssl_conf_min_version(&t->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3); /* TLS 1.2 */
    mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);

    if (o->insecure) {
        mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_NONE);
    } else {
        int rc = load_cas(t, o, detail, cap);
        if (rc != 0)
            return rc;
        mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
        mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    }
    if (o->cert_file) {
        int rc = load_own_cert(t, o, detail, cap);
        if (rc != 0)
            return rc;
    }
#if defined(MBEDTLS_SSL_ALPN)
    /* RFC 6455 does not require ALPN, but servers that route on it (and
     * HTTP/2-capable ones) must not pick h2 for a WebSocket upgrade. */
    static const char *alpn[] = {"http/1.1", NULL};
    mbedtls_ssl_conf_alpn_protocols(&t->conf, alpn);
#endif

    r = mbedtls_ssl_setup(&t->ssl, &t->conf);
    if (r != 0) {
        mbed_text(r, why, sizeof(why));
        wsc__tls_setf(detail, cap, "cannot set up the TLS connection: %s", why);
        return connect_error(r);
    }
    if (host != NULL) {
        t->ip_len = parse_ip(host, t->ip);
        t->host_is_ip = t->ip_len != 0;
        /* A DNS name goes into SNI and into mbedTLS's own name check; an IP
         * literal into neither (RFC 6066 3; verify_cb checks it). */
        if (!t->host_is_ip && (r = mbedtls_ssl_set_hostname(&t->ssl, host)) != 0) {
            mbed_text(r, why, sizeof(why));
            wsc__tls_setf(detail, cap, "cannot use the host name '%.80s': %s", host, why);
            return connect_error(r);
        }
    }
    if (!o->insecure)
        mbedtls_ssl_set_verify(&t->ssl, verify_cb, t);
    mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
    return 0;
}

/* For a server that reset the connection during the handshake: advice once
 * it had asked for a client certificate (mbedTLS 2.28 notes its
 * CertificateRequest in client_auth), else "". */
static const char *reset_hint(const struct wsc_tls *t)
{
    return t->ssl.client_auth ? wsc__tls_hangup_hint(&t->io, true, t->has_cert) : "";
}

/* One handshake attempt: 0 when done, WSC_EAGAIN with *wantp the direction
 * to wait for, or the failure with @p detail set. */
static int handshake_once(struct wsc_tls *t, int *wantp, char *detail, size_t cap)
{
    for (;;) {
        int r = mbedtls_ssl_handshake(&t->ssl);
        if (r == 0) {
            if (t->io.send_err == 0)
                return 0;
            /* A held-back send failure and no alert to explain it. */
            wsc__tls_setf(detail, cap, "TLS handshake failed: %s%s",
                          wsc_strerror(t->io.send_err), reset_hint(t));
            return t->io.send_err;
        }
        int want = r == MBEDTLS_ERR_SSL_WANT_READ    ? WSC_WAIT_READ
                   : r == MBEDTLS_ERR_SSL_WANT_WRITE ? WSC_WAIT_WRITE
                                                     : 0;
        if (want != 0) {
            *wantp = want;
            return WSC_EAGAIN;
        }
        if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
            uint32_t flags = t->vflags | mbedtls_ssl_get_verify_result(&t->ssl);
            describe_verify_failure(t, flags, detail, cap);
            return WSC_ETLS;
        }
        if (r == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
            /* Even when the server reset the connection right after: its
             * alert says why, the reset says nothing. */
            t->io.lower_err = 0;
            int rc = fail(t, "TLS handshake failed", r);
            wsc__tls_setf(detail, cap, "%s", t->detail);
            return rc;
        }
        if (t->io.lower_err == 0 && t->io.send_err != 0) {
            wsc__tls_setf(detail, cap, "TLS handshake failed: %s%s",
                          wsc_strerror(t->io.send_err), reset_hint(t));
            return t->io.send_err;
        }
        if (t->io.lower_err == 0 && (r == MBEDTLS_ERR_SSL_CONN_EOF || t->io.lower_eof)) {
            wsc__tls_setf(
                detail, cap, "TLS handshake failed: the server closed the connection%s",
                wsc__tls_hangup_hint(&t->io, t->ssl.client_auth != 0, t->has_cert));
            return WSC_ETLS;
        }
        int rc = fail(t, "TLS handshake failed", r);
        wsc__tls_setf(detail, cap, "%s%s", t->detail, t->io.lower_err ? reset_hint(t) : "");
        return rc == WSC_ETLS ? connect_error(r) : rc;
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
                      : preread_len > SIZE_MAX - sizeof(struct wsc_tls)
                          ? "preread too large"
                          : NULL;
    if (bad != NULL) {
        lower->ops->close(lower->ctx);
        wsc__tls_setf(detail, detail_len, "invalid TLS options: %s", bad);
        return WSC_EINVAL;
    }
    struct wsc_tls *t = mbedtls_calloc(1, sizeof(*t) + preread_len);
    if (t == NULL) {
        lower->ops->close(lower->ctx);
        wsc__tls_setf(detail, detail_len, "out of memory creating the TLS connection");
        return WSC_ENOMEM;
    }
    /* Every context is initialised before anything can fail, so tls_close()
     * can free them all on any path. */
    mbedtls_ssl_init(&t->ssl);
    mbedtls_ssl_config_init(&t->conf);
    mbedtls_entropy_init(&t->entropy);
    mbedtls_ctr_drbg_init(&t->drbg);
    mbedtls_x509_crt_init(&t->ca);
    mbedtls_x509_crt_init(&t->cert);
    mbedtls_pk_init(&t->key);
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
    return "mbedtls " MBEDTLS_VERSION_STRING;
}
