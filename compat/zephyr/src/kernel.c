/* The few Zephyr kernel and parser helpers the compatibility headers declare. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zephyr/kernel.h>
#include <zephyr/net/http/parser.h>

#include "wsc/wsc.h"

int32_t k_msleep(int32_t ms)
{
    if (ms <= 0)
        return 0;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
    return 0;
}

int32_t k_sleep(k_timeout_t timeout)
{
    if (timeout.ms < 0) {
        for (;;)
            pause(); /* K_FOREVER: only a signal ends the process */
    }
    return k_msleep(timeout.ms > INT32_MAX ? INT32_MAX : (int32_t)timeout.ms);
}

int64_t k_uptime_get(void) { return (int64_t)wsc_platform_now_ms(); }

void printk(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

void http_parser_init(struct http_parser *parser, enum http_parser_type type)
{
    void *data = parser->data;
    memset(parser, 0, sizeof(*parser));
    parser->data = data;
    parser->type = (unsigned int)type;
}

void http_parser_settings_init(struct http_parser_settings *settings)
{
    memset(settings, 0, sizeof(*settings));
}

const char *http_method_str(enum http_method m)
{
    static const char *const names[HTTP_METHOD_END_VALUE] = {
        [HTTP_DELETE] = "DELETE",       [HTTP_GET] = "GET",
        [HTTP_HEAD] = "HEAD",           [HTTP_POST] = "POST",
        [HTTP_PUT] = "PUT",             [HTTP_CONNECT] = "CONNECT",
        [HTTP_OPTIONS] = "OPTIONS",     [HTTP_TRACE] = "TRACE",
        [HTTP_COPY] = "COPY",           [HTTP_LOCK] = "LOCK",
        [HTTP_MKCOL] = "MKCOL",         [HTTP_MOVE] = "MOVE",
        [HTTP_PROPFIND] = "PROPFIND",   [HTTP_PROPPATCH] = "PROPPATCH",
        [HTTP_SEARCH] = "SEARCH",       [HTTP_UNLOCK] = "UNLOCK",
        [HTTP_BIND] = "BIND",           [HTTP_REBIND] = "REBIND",
        [HTTP_UNBIND] = "UNBIND",       [HTTP_ACL] = "ACL",
        [HTTP_REPORT] = "REPORT",       [HTTP_MKACTIVITY] = "MKACTIVITY",
        [HTTP_CHECKOUT] = "CHECKOUT",   [HTTP_MERGE] = "MERGE",
        [HTTP_MSEARCH] = "M-SEARCH",    [HTTP_NOTIFY] = "NOTIFY",
        [HTTP_SUBSCRIBE] = "SUBSCRIBE", [HTTP_UNSUBSCRIBE] = "UNSUBSCRIBE",
        [HTTP_PATCH] = "PATCH",         [HTTP_PURGE] = "PURGE",
        [HTTP_MKCALENDAR] = "MKCALENDAR", [HTTP_LINK] = "LINK",
        [HTTP_UNLINK] = "UNLINK",
    };
    return (unsigned)m < HTTP_METHOD_END_VALUE ? names[m] : "<unknown>";
}
