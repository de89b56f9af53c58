/*
 * Shared by the two front ends (blocking.c, event.c): the connection
 * machinery, in steps that either wait (blocking) or return WSC_EAGAIN
 * (c->nonblock, driven by the application's event loop).
 */
#ifndef WSC_CONN_INTERNAL_H
#define WSC_CONN_INTERNAL_H

#include "wsc/wsc.h"

/* struct wsc_conn.phase while connecting */
enum {
    WSC__PHASE_TCP = 1, /* non-blocking TCP connect in progress (server or proxy) */
    WSC__PHASE_PROXY,   /* CONNECT exchange with the proxy in progress */
    WSC__PHASE_TLS,     /* TLS handshake in progress */
    WSC__PHASE_REQUEST, /* request head being sent */
    WSC__PHASE_RESPONSE, /* awaiting the 101 */
    WSC__PHASE_OPEN,
};

/* Redirect hops are counted in a uint8_t (struct wsc_conn.redirects). */
#define WSC__MAX_HOPS 255
#define WSC__REDIRECT_URL_MAX (WSC_URL_HOST_MAX + WSC_URL_RESOURCE_MAX + 32)

int wsc__prepare(struct wsc_conn *c, const char *url, const struct wsc_options *opt);
/* After attempt @p hops (0 for the first) failed with @p rc: true with @p next
 * filled when it is a redirect to follow; else false, the failure standing
 * (its detail says why a redirect was not followed). */
bool wsc__redirect_next(struct wsc_conn *c, int rc, int hops, char *next, size_t cap);
/* Keeps the connection's own socket open through wsc_conn_free() in @p held
 * (false: none to keep), so that a socket opened before wsc__release_socket()
 * gets another number: an epoll set drops a closed descriptor, and a loop
 * that compares numbers would not register a new one with the old number. */
bool wsc__hold_socket(struct wsc_conn *c, struct wsc_tcp *held);
void wsc__close_transport(struct wsc_conn *c);
void wsc__release_socket(struct wsc_tcp *held);
int wsc__adopt_transport(struct wsc_conn *c, const struct wsc_transport *tr, const char *url,
                         const struct wsc_options *opt);
int wsc__connect_layers(struct wsc_conn *c, bool wait);
int wsc__tcp_finish(struct wsc_conn *c);
int wsc__proxy_step(struct wsc_conn *c);
int wsc__tls_begin(struct wsc_conn *c);
int wsc__tls_step(struct wsc_conn *c);
int wsc__handshake_request(struct wsc_conn *c);
int wsc__handshake_send(struct wsc_conn *c, uint64_t deadline);
int wsc__handshake_receive(struct wsc_conn *c, uint64_t deadline);
int wsc__session_start(struct wsc_conn *c, uint64_t deadline);
void wsc__linger_step(struct wsc_conn *c);
/* Sends queued output without waiting; 0 or the failure (recorded). */
int wsc__flush(struct wsc_conn *c);
/* Keepalive and close timers; 0 or the failure (recorded). */
int wsc__run_timers(struct wsc_conn *c);
/* When the next timer is due (wsc_platform_now_ms() scale), or UINT64_MAX. */
uint64_t wsc__next_deadline(const struct wsc_conn *c);

#endif
