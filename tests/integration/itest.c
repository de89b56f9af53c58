#include "itest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <poll.h>
#include <setjmp.h>

#include <cmocka.h>

const char *itest_url(const char *path_fmt, ...)
{
    static char url[1024];
    const char *port = getenv("WSC_TEST_PORT");
    int n = snprintf(url, sizeof(url), "ws://127.0.0.1:%s", port ? port : "1");
    va_list ap;
    va_start(ap, path_fmt);
    vsnprintf(url + n, sizeof(url) - (size_t)n, path_fmt, ap);
    va_end(ap);
    return url;
}

static bool file_has_line(const char *path, const char *line)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char buf[1024];
    bool found = false;
    while (!found && fgets(buf, sizeof(buf), f)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        found = strcmp(buf, line) == 0;
    }
    fclose(f);
    return found;
}

bool itest_log_has(const char *line, int timeout_ms)
{
    const char *path = getenv("WSC_TEST_LOG");
    if (!path)
        return false;
    struct timespec ts = {0, 20 * 1000 * 1000};
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        if (file_has_line(path, line))
            return true;
        nanosleep(&ts, NULL);
    }
    return false;
}

void itest_pattern(uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)((i * 31 + 7) & 0xff);
}

void itest_options(struct wsc_options *o)
{
    wsc_options_init(o);
    const char *rx = getenv("WSC_TEST_RX_BUF"), *tx = getenv("WSC_TEST_TX_BUF");
    if (rx)
        o->rx_buf_size = (size_t)strtoul(rx, NULL, 10);
    if (tx)
        o->tx_buf_size = (size_t)strtoul(tx, NULL, 10);
}

void itest_pump(struct wsc_conn *cs, size_t n)
{
    struct pollfd p[ITEST_MAX_CONNS];
    assert_true(n <= ITEST_MAX_CONNS);
    int timeout = 200;
    for (size_t i = 0; i < n; i++) {
        int want = wsc_conn_interest(&cs[i]);
        p[i].fd = want ? wsc_conn_fd(&cs[i]) : -1;
        p[i].events = (short)((want & WSC_WAIT_READ ? POLLIN : 0) |
                              (want & WSC_WAIT_WRITE ? POLLOUT : 0));
        p[i].revents = 0;
        int t = wsc_conn_timer_ms(&cs[i]);
        if (t >= 0 && t < timeout)
            timeout = t;
    }
    assert_true(poll(p, (nfds_t)n, timeout) >= 0);
    for (size_t i = 0; i < n; i++) {
        int ready = (p[i].revents & (POLLIN | POLLHUP | POLLERR) ? WSC_WAIT_READ : 0) |
                    (p[i].revents & (POLLOUT | POLLERR) ? WSC_WAIT_WRITE : 0);
        wsc_conn_process(&cs[i], ready);
    }
}

int itest_open_in_loop(struct wsc_conn *c)
{
    for (int rounds = 0; rounds < 500; rounds++) {
        if (wsc_conn_state(c) == WSC_CONN_OPEN)
            return 0;
        if (wsc_conn_state(c) == WSC_CONN_FAILED)
            return wsc_conn_error(c);
        itest_pump(c, 1);
    }
    fail_msg("the connection neither opened nor failed");
    return -1;
}

void itest_next_message(struct wsc_conn *c, struct wsc_message *m)
{
    for (int rounds = 0; rounds < 1000; rounds++) {
        int rc = wsc_recv(c, m, 0);
        if (rc == 0)
            return;
        if (rc != WSC_EAGAIN)
            fail_msg("wsc_recv: %d %s", rc, wsc_conn_detail(c));
        itest_pump(c, 1);
    }
    fail_msg("no message arrived");
}
