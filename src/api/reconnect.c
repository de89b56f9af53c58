/* Reconnecting with exponential backoff, on top of the blocking API. */
#include <stdio.h>
#include <string.h>

#include "wsc/wsc.h"

void wsc_reconnect_init(struct wsc_reconnect *r)
{
    memset(r, 0, sizeof(*r));
    r->min_delay_ms = 500;
    r->max_delay_ms = 30000;
    r->factor = 2.0;
    r->jitter = 0.2;
}

/* Delay before attempt @p n (1-based): min * factor^(n-1), capped, with jitter
 * so that many clients dropped together do not return in lockstep. */
static int backoff_delay(const struct wsc_reconnect *r, int n, struct wsc_conn *c)
{
    double d = r->min_delay_ms > 0 ? r->min_delay_ms : 0;
    double factor = r->factor >= 1.0 ? r->factor : 1.0;
    for (int i = 1; i < n && d < r->max_delay_ms; i++)
        d *= factor;
    if (r->max_delay_ms > 0 && d > r->max_delay_ms)
        d = r->max_delay_ms;
    if (r->jitter > 0) {
        uint8_t b[2] = {0, 0};
        c->opt.random(c->opt.random_user, b, sizeof(b));
        double u = ((b[0] << 8 | b[1]) / 65535.0) * 2.0 - 1.0; /* -1 .. 1 */
        double j = r->jitter > 1.0 ? 1.0 : r->jitter;
        d *= 1.0 + j * u;
    }
    return d < 0 ? 0 : (int)d;
}

int wsc_reconnect(struct wsc_conn *c, const struct wsc_reconnect *policy)
{
    if (!c || !c->url_text)
        return WSC_EINVAL; /* only connections made from a URL can be remade */
    struct wsc_reconnect defaults;
    if (!policy) {
        wsc_reconnect_init(&defaults);
        policy = &defaults;
    }
    /* The URL as given (userinfo, Basic credentials, included): the
     * connection's copy goes with wsc_conn_free() below. */
    char url[WSC_URL_USERINFO_MAX + WSC_URL_HOST_MAX + WSC_URL_RESOURCE_MAX + 32];
    if (strlen(c->url_text) >= sizeof(url))
        return WSC_EURL;
    strcpy(url, c->url_text);
    struct wsc_options opt = c->opt;
    struct wsc_stats stats = c->stats;
    int rc = WSC_ECONNECT;
    for (int attempt = 1; policy->max_attempts <= 0 || attempt <= policy->max_attempts;
         attempt++) {
        int delay = backoff_delay(policy, attempt, c);
        if (policy->before_attempt && policy->before_attempt(policy->user, attempt, delay))
            break;
        wsc_platform_sleep_ms(delay);
        wsc_conn_free(c);
        rc = wsc_connect(c, url, &opt);
        /* Counters span the whole life of the connection, outages included. */
        stats.bytes_in += c->stats.bytes_in;
        stats.bytes_out += c->stats.bytes_out;
        stats.last_activity_ms = c->stats.last_activity_ms;
        if (rc == 0)
            stats.reconnects++;
        c->stats = stats;
        if (rc == 0)
            return 0;
    }
    return rc;
}
