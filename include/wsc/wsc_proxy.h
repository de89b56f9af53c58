/*
 * wsc_proxy.h - tunnelling through an HTTP proxy with CONNECT (RFC 9110 9.3.6).
 *
 * The flow for a ws:// or wss:// URL:
 *   1. pick the proxy: wsc_proxy_parse() for an explicit --proxy value, or
 *      wsc_proxy_from_env() for the environment (curl's variables and rules);
 *   2. wsc_tcp_connect() to p.host:p.port;
 *   3. wsc_proxy_connect() over that transport, reading the reply into the
 *      connection's input buffer;
 *   4. run TLS (wss://) and the WebSocket handshake over the same transport,
 *      starting with the bytes wsc_proxy_connect() left in the buffer: they are
 *      the first bytes of the tunnel (wsc_options.preread for the blocking API).
 *
 * Nothing here touches a socket directly: the exchange runs over any struct
 * wsc_transport, and the environment is read through a getter the caller
 * passes (getenv, or a table in tests).
 */
#ifndef WSC_PROXY_H
#define WSC_PROXY_H

#include "wsc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WSC_PROXY_HOST_MAX 256
#define WSC_PROXY_USERINFO_MAX 256
/* curl's default port for proxies given without one (not 80, not 3128). */
#define WSC_PROXY_DEFAULT_PORT 1080
/* Limits for the proxy's reply head. The head, the header table and the
 * request live in a struct wsc_proxy_exchange: about 6 KB on a 64-bit target
 * (on wsc_proxy_connect()'s stack). More header fields than the table holds
 * are fine: a tunnel needs none of them. */
#define WSC_PROXY_HEAD_MAX 4096
#define WSC_PROXY_HEADERS_MAX 16
/* The longest CONNECT request: "CONNECT " + [255-byte host]:65535 + " HTTP/1.1",
 * the same authority in Host, and Basic credentials of a 256-byte
 * "user:password" (344 base64 characters) come to 928 bytes. */
#define WSC_PROXY_REQUEST_MAX 1024

/** An HTTP proxy. Strings are NUL-terminated. */
struct wsc_proxy {
    char host[WSC_PROXY_HOST_MAX]; /* name or IP literal; IPv6 without brackets */
    bool ipv6;                     /* host is an IPv6 literal */
    uint16_t port;                 /* explicit, or WSC_PROXY_DEFAULT_PORT */
    /* Credentials for Basic proxy authentication: "user:password" after
     * percent-decoding (so "%40" is '@' and "%3A" in the password is ':'),
     * always with the ':' when set ("user:" for a user without password), or
     * "" for none. Never contains a control character. */
    char userinfo[WSC_PROXY_USERINFO_MAX];
    /* wsc_proxy_from_env(): the variable the proxy came from ("http_proxy",
     * "ALL_PROXY", ...; a static string); NULL after wsc_proxy_parse(). */
    const char *source;
};

/**
 * Parses a proxy as curl writes it: "http://[user[:password]@]host[:port][/]".
 * Without a scheme ("host:port", "user:pw@host") the proxy is HTTP; the scheme
 * is case-insensitive. The port defaults to WSC_PROXY_DEFAULT_PORT (1080, as in
 * curl). IPv6 hosts are bracketed ("http://[::1]:3128"). A path other than "/",
 * a query, a fragment, https:// (TLS to the proxy) and socks*:// are refused.
 * The user name and password are percent-decoded (see struct wsc_proxy).
 * Returns 0 with @p p filled, or WSC_EURL with *why (if @p why is not NULL)
 * pointing at a static sentence and @p p cleared; WSC_EINVAL if @p p is NULL.
 */
int wsc_proxy_parse(const char *text, struct wsc_proxy *p, const char **why);

/**
 * True when @p no_proxy (a no_proxy / NO_PROXY value) says to reach @p host
 * directly, with curl's rules plus ports:
 *   - entries are separated by commas and/or blanks; empty entries are skipped;
 *   - "*" matches every host;
 *   - a name matches itself and its subdomains, case-insensitively:
 *     "example.com", ".example.com" and "*.example.com" all match both
 *     "example.com" and "a.b.example.com", never "notexample.com"; one trailing
 *     dot on either side is ignored;
 *   - an IP address matches that address only, compared as an address
 *     ("::1" equals "0:0::1"), and "10.0.0.0/8" or "fd00::/8" match a range;
 *     IPv6 entries may be bracketed. Addresses never match names: no lookup;
 *   - "host:port" or "[v6]:port" matches only connections to that port
 *     (curl ignores such entries; Go's ProxyFromEnvironment does the same as
 *     wsc).
 * @p host is a URL host without brackets (an IPv6 zone "%eth0" is ignored).
 * Malformed entries never match. NULL or "" matches nothing.
 */
bool wsc_proxy_bypass(const char *no_proxy, const char *host, uint16_t port);

/**
 * Chooses the proxy for @p target from the environment the way curl does,
 * reading variables through @p get (pass getenv; a test passes a table). A
 * variable that is unset or empty counts as absent. In order of precedence:
 *   ws://   ws_proxy, WS_PROXY, http_proxy, all_proxy, ALL_PROXY
 *   wss://  wss_proxy, WSS_PROXY, https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY
 * HTTP_PROXY (upper case) is never read: CGI servers put a client's "Proxy:"
 * request header there ("httpoxy"), as curl explains. Before any of these,
 * no_proxy (or NO_PROXY when no_proxy is absent) is checked with
 * wsc_proxy_bypass() against the target host and port.
 * Returns 1 with @p p filled (p->source names the variable), 0 when no proxy
 * applies (@p p cleared), WSC_EURL when the chosen variable does not parse
 * (*why says why and p->source names the variable, so a caller can report
 * "invalid https_proxy: ..."), or WSC_EINVAL for NULL arguments.
 */
int wsc_proxy_from_env(const struct wsc_url *target, char *(*get)(const char *name),
                       struct wsc_proxy *p, const char **why);

/**
 * Opens a tunnel to @p host:@p port through the proxy at the other end of
 * @p tr (a connected transport, typically TCP to p->host:p->port). Sends
 *
 *     CONNECT host:port HTTP/1.1
 *     Host: host:port
 *     Proxy-Authorization: Basic base64(p->userinfo)     (only if set)
 *
 * with @p host in brackets when @p host_ipv6 (an IPv6 zone is dropped: it
 * means nothing to the proxy), then reads the reply into @p in[0..in_cap), the
 * caller's connection input buffer, never reading past the reply head while
 * bytes are still unparsed. Interim 1xx replies are skipped. @p p may be NULL
 * (no credentials). @p timeout_ms bounds the whole exchange (< 0: no limit).
 * @p detail (may be NULL) receives a sentence on failure, "" on success.
 *
 * Returns:
 *   0               a 2xx reply: the tunnel is open. in[0..*in_len) holds the
 *                   bytes that followed the reply head in the last read (the
 *                   start of the tunnelled stream, possibly none): give them to
 *                   the next layer before reading @p tr again;
 *   WSC_EPROXY      any other status ("proxy refused CONNECT: 407 Proxy
 *                   Authentication Required"), or a reply that is not HTTP,
 *                   is malformed, or has a head over WSC_PROXY_HEAD_MAX bytes;
 *   WSC_EEOF        the proxy closed the connection before a full reply;
 *   WSC_ETIMEDOUT   @p timeout_ms passed;
 *   WSC_EINVAL      bad arguments: NULLs, in_cap 0, port 0, or a target host
 *                   that is empty, too long or has characters that do not
 *                   belong in a host (control characters, blanks, '/', '@',
 *                   and ':' unless @p host_ipv6);
 *   WSC_EHEADER     p->userinfo contains a control character (CR, LF, ...) or
 *                   is not NUL-terminated;
 *   or the transport's error (WSC_ECONNRESET, WSC_EIO, ...).
 * *in_len is 0 on every failure. The transport stays open either way; the
 * caller closes it.
 */
int wsc_proxy_connect(const struct wsc_transport *tr, const struct wsc_proxy *p,
                      const char *host, bool host_ipv6, uint16_t port, uint8_t *in,
                      size_t in_cap, size_t *in_len, int timeout_ms, char *detail,
                      size_t detail_len);

/** The state of one CONNECT exchange run in steps. It points into itself:
 *  do not move or copy it between wsc_proxy_start() and the last step. */
struct wsc_proxy_exchange {
    char request[WSC_PROXY_REQUEST_MAX];
    size_t request_len, request_sent;
    char head[WSC_PROXY_HEAD_MAX];
    struct wsc_header headers[WSC_PROXY_HEADERS_MAX];
    struct wsc_handshake hs;
    size_t pos, end; /* in[pos..end) was read but is not parsed yet */
};

/**
 * wsc_proxy_connect() without waiting, for event loops: wsc_proxy_start()
 * writes the request (same arguments and checks: WSC_EINVAL, WSC_EHEADER) and
 * sends nothing; each wsc_proxy_step() then sends and reads what the transport
 * takes and gives without blocking. A step returns 0 with the tunnel open and
 * in[0..*in_len) as wsc_proxy_connect() leaves it; WSC_EAGAIN with *want set
 * to WSC_WAIT_WRITE or WSC_WAIT_READ, to be called again once the transport is
 * ready for it; or wsc_proxy_connect()'s errors (never WSC_ETIMEDOUT: the
 * caller keeps the time). Pass the same @p in buffer to every step.
 */
int wsc_proxy_start(struct wsc_proxy_exchange *x, const struct wsc_proxy *p, const char *host,
                    bool host_ipv6, uint16_t port, char *detail, size_t detail_len);
int wsc_proxy_step(struct wsc_proxy_exchange *x, const struct wsc_transport *tr, uint8_t *in,
                   size_t in_cap, size_t *in_len, int *want, char *detail, size_t detail_len);

#ifdef __cplusplus
}
#endif
#endif /* WSC_PROXY_H */
