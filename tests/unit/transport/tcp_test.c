/*
 * The non-blocking TCP connect steps (wsc_tcp_connect_start/finish/abort) over
 * real loopback sockets that the test opens itself: a connect completes, a
 * refused port fails with WSC_ECONNREFUSED, a name is looked up on the helper
 * thread while the caller waits on its pipe, and abort closes the descriptor
 * and frees the address list and the lookup at every step (ASan's leak check
 * sees them; the descriptor count is checked).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "wsc/wsc.h"

/* A listening IPv4 socket on an ephemeral loopback port. */
static int listen_v4(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 8), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A loopback port with nothing listening: bound, never listened on, so no
 * other process can take it while the test runs. */
static int closed_port_v4(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static bool fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

/* Steps the connect as an event loop would: wait for what it asks, finish.
 * Each new descriptor must differ from the one it replaces. */
static int drive(struct wsc_tcp *t, int rc)
{
    for (int turns = 0; rc == WSC_EAGAIN && turns < 100; turns++) {
        bool lookup = wsc_tcp_connect_events(t) == WSC_WAIT_READ;
        struct pollfd p = {.fd = t->fd, .events = lookup ? POLLIN : POLLOUT};
        assert_true(poll(&p, 1, 2000) >= 0);
        int before = t->fd;
        rc = wsc_tcp_connect_finish(t);
        if (lookup && t->fd >= 0)
            assert_int_not_equal(t->fd, before);
    }
    return rc;
}

/* Open descriptors of this process. */
static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        n += fd_is_open(fd);
    return n;
}

static void connect_completes_and_the_peer_sees_it(void **state)
{
    (void)state;
    uint16_t port;
    int lfd = listen_v4(&port);
    struct wsc_tcp t;
    int rc = drive(&t, wsc_tcp_connect_start(&t, "127.0.0.1", port));
    assert_int_equal(rc, 0);
    assert_null(t.ai_list); /* freed once connected */
    int peer = accept(lfd, NULL, NULL);
    assert_true(peer >= 0);
    /* Non-blocking, as the header promises. */
    assert_true(fcntl(t.fd, F_GETFL) & O_NONBLOCK);
    assert_int_equal(send(t.fd, "x", 1, 0), 1);
    char c;
    assert_int_equal(recv(peer, &c, 1, 0), 1);
    assert_int_equal(c, 'x');
    /* finish() on a connected socket stays 0. */
    assert_int_equal(wsc_tcp_connect_finish(&t), 0);
    int fd = t.fd;
    wsc_tcp_connect_abort(&t);
    assert_false(fd_is_open(fd));
    assert_int_equal(t.fd, -1);
    close(peer);
    close(lfd);
}

static void refused_port_fails_with_econnrefused(void **state)
{
    (void)state;
    uint16_t port;
    int hold = closed_port_v4(&port);
    struct wsc_tcp t;
    int rc = drive(&t, wsc_tcp_connect_start(&t, "127.0.0.1", port));
    assert_int_equal(rc, WSC_ECONNREFUSED);
    assert_int_equal(t.fd, -1);
    assert_null(t.ai_list);
    wsc_tcp_connect_abort(&t); /* harmless after a failure */
    close(hold);
}

static void abort_right_after_start_closes_and_frees(void **state)
{
    (void)state;
    uint16_t port;
    int lfd = listen_v4(&port);
    for (int i = 0; i < 50; i++) {
        struct wsc_tcp t;
        int rc = wsc_tcp_connect_start(&t, "127.0.0.1", port);
        assert_true(rc == WSC_EAGAIN || rc == 0);
        int fd = t.fd;
        assert_true(fd >= 0);
        wsc_tcp_connect_abort(&t);
        assert_false(fd_is_open(fd));
        assert_int_equal(t.fd, -1);
        assert_null(t.ai_list);
        int peer = accept(lfd, NULL, NULL); /* keep the backlog from filling */
        if (peer >= 0)
            close(peer);
    }
    close(lfd);
}

/* A name goes to the helper thread: the caller gets the lookup's pipe to wait
 * on (READ), then the socket (WRITE), with another number. */
static void a_name_is_looked_up_without_blocking(void **state)
{
    (void)state;
    uint16_t port;
    int lfd = listen_v4(&port);
    struct wsc_tcp t;
    int rc = wsc_tcp_connect_start(&t, "localhost", port);
    assert_int_equal(rc, WSC_EAGAIN);
    assert_non_null(t.resolving);
    assert_int_equal(wsc_tcp_connect_events(&t), WSC_WAIT_READ);
    assert_true(t.fd >= 0);
    rc = drive(&t, rc);
    assert_int_equal(rc, 0);
    assert_null(t.resolving);
    assert_int_equal(wsc_tcp_connect_events(&t), WSC_WAIT_WRITE);
    int peer = accept(lfd, NULL, NULL);
    assert_true(peer >= 0);
    wsc_tcp_connect_abort(&t);
    close(peer);
    close(lfd);
}

/* Giving up while the thread still looks up: nothing leaks, and every
 * descriptor (the pipe's two ends) is closed once the threads are done. */
static void abort_during_the_lookup_leaves_nothing(void **state)
{
    (void)state;
    int before = open_fds();
    for (int i = 0; i < 50; i++) {
        struct wsc_tcp t;
        assert_int_equal(wsc_tcp_connect_start(&t, "localhost", 9), WSC_EAGAIN);
        wsc_tcp_connect_abort(&t);
        assert_null(t.resolving);
        assert_int_equal(t.fd, -1);
    }
    /* The last of the threads closes its pipe shortly after its lookup. */
    int now = open_fds();
    for (int waited = 0; now != before && waited < 5000; waited += 10) {
        usleep(10 * 1000);
        now = open_fds();
    }
    if (now != before)
        print_message("open descriptors: %d before, %d after\n", before, now);
    assert_int_equal(now, before);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The blocking API's receive: wsc_tcp_connect() leaves the socket blocking
 * (MSG_DONTWAIT everywhere else), and recv_wait() waits and reads in one
 * call, bounded by SO_RCVTIMEO; nothing in time is WSC_EAGAIN, not an error. */
static void recv_wait_waits_reads_and_times_out(void **state)
{
    (void)state;
    uint16_t port;
    int lfd = listen_v4(&port);
    struct wsc_tcp t;
    assert_int_equal(wsc_tcp_connect(&t, "127.0.0.1", port, 2000), 0);
    assert_true(t.blocking_fd);
    assert_false(fcntl(t.fd, F_GETFL) & O_NONBLOCK);
    int peer = accept(lfd, NULL, NULL);
    assert_true(peer >= 0);
    struct wsc_transport tr;
    wsc_tcp_transport(&t, &tr);
    assert_non_null(tr.ops->recv_wait);
    uint8_t buf[16];
    size_t got = 99;
    /* Plain recv() still never blocks. */
    assert_int_equal(tr.ops->recv(tr.ctx, buf, sizeof(buf), &got), WSC_EAGAIN);
    /* Nothing within 60 ms, then 5 ms (under the 10 ms unit: poll), then 0. */
    static const int waits[] = {60, 5, 0};
    for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
        uint64_t t0 = now_ms();
        assert_int_equal(tr.ops->recv_wait(tr.ctx, buf, sizeof(buf), &got, waits[i]),
                         WSC_EAGAIN);
        assert_int_equal(got, 0);
        assert_true(now_ms() - t0 < 2000);
    }
    assert_int_equal(t.rcvtimeo_cs, 6);
    /* Bytes already there come at once, whatever the timeout; the timeout in
     * place is kept while it is at least half the one asked for. */
    assert_int_equal(send(peer, "hello", 5, 0), 5);
    assert_int_equal(tr.ops->recv_wait(tr.ctx, buf, sizeof(buf), &got, 100), 0);
    assert_int_equal(got, 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(t.rcvtimeo_cs, 6);
    assert_int_equal(send(peer, "x", 1, 0), 1);
    assert_int_equal(tr.ops->recv_wait(tr.ctx, buf, sizeof(buf), &got, -1), 0);
    assert_int_equal(got, 1);
    assert_int_equal(t.rcvtimeo_cs, 65535); /* no limit: the longest it can set */
    /* The peer's FIN is a read of 0 bytes, as from recv(). */
    close(peer);
    assert_int_equal(tr.ops->recv_wait(tr.ctx, buf, sizeof(buf), &got, 1000), 0);
    assert_int_equal(got, 0);
    tr.ops->close(tr.ctx);
    close(lfd);
}

/* Many lookups at once, as a loop opening many connections starts them: each
 * ends (here refused: nothing listens on the port), and every descriptor is
 * closed again. */
static void many_lookups_at_once_all_end(void **state)
{
    (void)state;
    enum { N = 200 };
    static struct wsc_tcp ts[N];
    static int rcs[N];
    uint16_t port;
    int hold = closed_port_v4(&port);
    int before = open_fds();
    for (int i = 0; i < N; i++) {
        rcs[i] = wsc_tcp_connect_start(&ts[i], "localhost", port);
        assert_true(rcs[i] == WSC_EAGAIN || rcs[i] == WSC_ECONNREFUSED);
    }
    for (int i = 0; i < N; i++)
        rcs[i] = drive(&ts[i], rcs[i]);
    for (int i = 0; i < N; i++) {
        assert_int_equal(rcs[i], WSC_ECONNREFUSED);
        wsc_tcp_connect_abort(&ts[i]);
    }
    int now = open_fds();
    for (int waited = 0; now != before && waited < 5000; waited += 10) {
        usleep(10 * 1000);
        now = open_fds();
    }
    assert_int_equal(now, before);
    close(hold);
}

static void bad_arguments_fail_with_einval(void **state)
{
    (void)state;
    struct wsc_tcp t;
    assert_int_equal(wsc_tcp_connect_start(NULL, "127.0.0.1", 80), WSC_EINVAL);
    assert_int_equal(wsc_tcp_connect_start(&t, NULL, 80), WSC_EINVAL);
    /* A name lookup failure is not tested here: it would need DNS. */
}

static void abort_leaves_an_adopted_descriptor_it_does_not_own(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct wsc_tcp t;
    wsc_tcp_adopt(&t, sv[0], false);
    wsc_tcp_connect_abort(&t);
    assert_true(fd_is_open(sv[0]));
    wsc_tcp_adopt(&t, sv[0], true);
    wsc_tcp_connect_abort(&t);
    assert_false(fd_is_open(sv[0]));
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* First: no other test's lookup thread may still hold its pipe. */
        cmocka_unit_test(abort_during_the_lookup_leaves_nothing),
        cmocka_unit_test(a_name_is_looked_up_without_blocking),
        cmocka_unit_test(many_lookups_at_once_all_end),
        cmocka_unit_test(connect_completes_and_the_peer_sees_it),
        cmocka_unit_test(refused_port_fails_with_econnrefused),
        cmocka_unit_test(abort_right_after_start_closes_and_frees),
        cmocka_unit_test(recv_wait_waits_reads_and_times_out),
        cmocka_unit_test(bad_arguments_fail_with_einval),
        cmocka_unit_test(abort_leaves_an_adopted_descriptor_it_does_not_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
