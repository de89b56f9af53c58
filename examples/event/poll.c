/*
 * Many WebSocket connections from one thread with poll():
 *   event_poll ws://127.0.0.1:8080/ [connections] [messages]
 * Each connection sends its messages and checks the echoes, then closes.
 */
#include <poll.h>

#include "echo_client.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s URL [connections] [messages]\n", argv[0]);
        return 2;
    }
    struct echo_run r = {0};
    if (echo_start(&r, argv[1], argc > 2 ? atoi(argv[2]) : 10, argc > 3 ? atoi(argv[3]) : 100))
        return 1;
    struct pollfd *p = calloc((size_t)r.count, sizeof(*p));
    while (p && r.finished < r.count) {
        int timeout = -1;
        for (int i = 0; i < r.count; i++) {
            struct wsc_conn *c = &r.conns[i].c;
            int want = r.conns[i].done ? 0 : wsc_conn_interest(c);
            p[i].fd = want ? wsc_conn_fd(c) : -1; /* negative: poll() skips it */
            p[i].events = (short)((want & WSC_WAIT_READ ? POLLIN : 0) |
                                  (want & WSC_WAIT_WRITE ? POLLOUT : 0));
            int t = wsc_conn_timer_ms(c);
            if (want && t >= 0 && (timeout < 0 || t < timeout))
                timeout = t;
        }
        if (poll(p, (nfds_t)r.count, timeout) < 0)
            break;
        for (int i = 0; i < r.count; i++) {
            short ev = p[i].revents;
            int ready = (ev & (POLLIN | POLLHUP | POLLERR) ? WSC_WAIT_READ : 0) |
                        (ev & (POLLOUT | POLLERR) ? WSC_WAIT_WRITE : 0);
            echo_step(&r, &r.conns[i], ready); /* timers run even when nothing is ready */
        }
    }
    free(p);
    return echo_report(&r);
}
