/*
 * The event-driven front end: the application owns the loop (poll, epoll,
 * kqueue, an RTOS scheduler) and calls in when the socket is ready or the
 * timer is due. Nothing here waits. The steps are the blocking front end's
 * own (conn_internal.h): with c->nonblock set they return WSC_EAGAIN where
 * the blocking API would wait.
 */
#include "api/conn_internal.h"

static int advance_connect(struct wsc_conn *c);

/* TCP (and the tunnel, through a proxy) is up: TLS for wss://, then the request. */
static int transport_ready(struct wsc_conn *c)
{
    c->phase = 0;
    if (c->url->tls) {
        int rc = wsc__tls_begin(c);
        if (rc)
            return rc == WSC_EAGAIN ? 0 : rc;
    }
    return advance_connect(c);
}

static int start(struct wsc_conn *c, const char *url, const struct wsc_options *opt,
                 uint8_t hops);

/* A redirect to follow (options.max_redirects): the connection starts over at
 * the Location, on a new socket whose number differs from the old one's. */
static int follow_redirect(struct wsc_conn *c, int rc)
{
    char next[WSC__REDIRECT_URL_MAX];
    uint8_t hops = c->redirects;
    if (!wsc__redirect_next(c, rc, hops, next, sizeof(next))) {
        wsc__close_transport(c); /* the failure stands */
        return rc;
    }
    struct wsc_options opt = c->opt;
    struct wsc_tcp held;
    bool holding = wsc__hold_socket(c, &held);
    wsc_conn_free(c);
    rc = start(c, next, &opt, (uint8_t)(hops + 1));
    if (holding)
        wsc__release_socket(&held);
    return rc;
}

/* Opens the session once the 101 is in, or says what the handshake waits for. */
static int advance_connect(struct wsc_conn *c)
{
    int rc = 0;
    switch (c->phase) {
    case WSC__PHASE_TCP:
        if ((rc = wsc__tcp_finish(c)) != 0)
            return rc == WSC_EAGAIN ? 0 : rc;
        if (!c->proxying)
            return transport_ready(c);
        /* fall through */
    case WSC__PHASE_PROXY:
        if ((rc = wsc__proxy_step(c)) != 0)
            return rc == WSC_EAGAIN ? 0 : rc;
        return transport_ready(c);
    case 0:
        if ((rc = wsc__handshake_request(c)) != 0)
            return rc;
        /* fall through */
    case WSC__PHASE_REQUEST:
        if ((rc = wsc__handshake_send(c, 0)) != 0)
            return rc == WSC_EAGAIN ? 0 : rc;
        /* fall through */
    case WSC__PHASE_RESPONSE:
        /* A failure here may be a redirect to follow: the socket stays open
         * until follow_redirect() has decided. */
        c->keep_transport = c->opt.max_redirects > 0;
        rc = wsc__handshake_receive(c, 0);
        c->keep_transport = false;
        if (rc)
            return rc == WSC_EAGAIN ? 0 : follow_redirect(c, rc);
        return wsc__session_start(c, 0);
    case WSC__PHASE_TLS:
        if ((rc = wsc__tls_step(c)) != 0)
            return rc == WSC_EAGAIN ? 0 : rc;
        return advance_connect(c); /* on to the request */
    default:
        return 0;
    }
}

static int start(struct wsc_conn *c, const char *url, const struct wsc_options *opt,
                 uint8_t hops)
{
    int rc = wsc__prepare(c, url, opt);
    if (rc)
        return rc;
    c->nonblock = true;
    c->redirects = hops;
    c->connect_deadline = c->opt.connect_timeout_ms < 0
                              ? UINT64_MAX
                              : wsc_platform_now_ms() + (uint64_t)c->opt.connect_timeout_ms;
    rc = wsc__connect_layers(c, false);
    if (rc && rc != WSC_EAGAIN)
        return rc;
    return advance_connect(c);
}

int wsc_conn_start(struct wsc_conn *c, const char *url, const struct wsc_options *opt)
{
    if (!c)
        return WSC_EINVAL;
    return start(c, url, opt, 0);
}

int wsc_conn_start_transport(struct wsc_conn *c, const struct wsc_transport *tr,
                             const char *url, const struct wsc_options *opt)
{
    if (!c || !tr || !tr->ops)
        return WSC_EINVAL;
    int rc = wsc__adopt_transport(c, tr, url, opt);
    if (rc)
        return rc;
    c->nonblock = true;
    return advance_connect(c);
}

int wsc_conn_interest(const struct wsc_conn *c)
{
    if (!c || !c->tr_open)
        return 0;
    if (c->phase == WSC__PHASE_TCP)
        return wsc_tcp_connect_events(&c->tcp); /* READ while the name is looked up */
    if (c->phase == WSC__PHASE_REQUEST)
        return WSC_WAIT_WRITE;
    if (c->phase == WSC__PHASE_TLS || c->phase == WSC__PHASE_PROXY)
        return c->tls_want;
    if (c->state == WSC_CONN_FAILED && !c->lingering)
        return 0;
    int want = c->peer_eof ? 0 : WSC_WAIT_READ;
    if (wsc_session_queued(&c->session) > 0 && c->phase == WSC__PHASE_OPEN)
        want |= WSC_WAIT_WRITE;
    return want;
}

int wsc_conn_process(struct wsc_conn *c, int ready)
{
    if (!c || !c->nonblock)
        return WSC_EINVAL;
    if (c->lingering) {
        wsc__linger_step(c);
        return c->state == WSC_CONN_FAILED ? c->error : 0;
    }
    if (c->state == WSC_CONN_FAILED)
        return c->error;
    if (c->state == WSC_CONN_IDLE || c->state == WSC_CONN_CLOSED)
        return 0;
    int rc = wsc__run_timers(c);
    if (rc)
        return rc;
    if (c->phase != WSC__PHASE_OPEN)
        return advance_connect(c);
    if (ready & WSC_WAIT_WRITE || wsc_session_queued(&c->session) > 0)
        return wsc__flush(c);
    return 0;
}

size_t wsc_conn_queued(const struct wsc_conn *c)
{
    if (!c || c->phase != WSC__PHASE_OPEN)
        return 0;
    return wsc_session_queued(&c->session);
}
