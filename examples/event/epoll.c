/*
 * Many WebSocket connections from one thread with epoll (edge-triggered):
 *   event_epoll ws://127.0.0.1:8080/ [connections] [messages]
 * Edge-triggered works because wsc_recv() reads until the socket says
 * EAGAIN, and wsc_conn_process() writes until the queue is empty or the
 * socket is full.
 */
#include <sys/epoll.h>

#include "echo_client.h"

/* Keeps the registration in step with the connection's descriptor, which
 * changes while a connect tries another address and goes at the end. */
static void sync_fd(int ep, struct echo_conn *e)
{
    int fd = e->done ? -1 : wsc_conn_fd(&e->c);
    if (fd == e->fd)
        return;
    if (e->fd >= 0)
        epoll_ctl(ep, EPOLL_CTL_DEL, e->fd, NULL);
    e->fd = fd;
    if (fd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = e};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
}

static int next_timeout(struct echo_run *r)
{
    int timeout = -1;
    for (int i = 0; i < r->count; i++) {
        int t = r->conns[i].done ? -1 : wsc_conn_timer_ms(&r->conns[i].c);
        if (t >= 0 && (timeout < 0 || t < timeout))
            timeout = t;
    }
    return timeout;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s URL [connections] [messages]\n", argv[0]);
        return 2;
    }
    struct echo_run r = {0};
    if (echo_start(&r, argv[1], argc > 2 ? atoi(argv[2]) : 10, argc > 3 ? atoi(argv[3]) : 100))
        return 1;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < r.count; i++) {
        echo_step(&r, &r.conns[i], 0); /* the connect may have finished already */
        sync_fd(ep, &r.conns[i]);
    }
    struct epoll_event evs[64];
    while (ep >= 0 && r.finished < r.count) {
        int n = epoll_wait(ep, evs, 64, next_timeout(&r));
        if (n < 0)
            break;
        for (int i = 0; i < n; i++) {
            struct echo_conn *e = evs[i].data.ptr;
            uint32_t ev = evs[i].events;
            echo_step(&r, e, (ev & (EPOLLIN | EPOLLHUP | EPOLLERR) ? WSC_WAIT_READ : 0) |
                                 (ev & (EPOLLOUT | EPOLLERR) ? WSC_WAIT_WRITE : 0));
            sync_fd(ep, e);
        }
        if (n == 0) /* a timer is due somewhere */
            for (int i = 0; i < r.count; i++) {
                echo_step(&r, &r.conns[i], 0);
                sync_fd(ep, &r.conns[i]);
            }
    }
    return echo_report(&r);
}
