/* Plain TCP transport over a POSIX socket: connect with a deadline, then move bytes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "transport/resolve.h"
#include "wsc/wsc.h"

/* Linux and the BSDs have MSG_NOSIGNAL; macOS only has the SO_NOSIGPIPE socket
 * option, set in open_socket(). Either way a write to a dead peer must come back
 * as EPIPE instead of killing the process. */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/* Per-call non-blocking I/O, so an adopted socket works even if its owner left it
 * in blocking mode, without changing flags on a descriptor we may not own. */
#ifndef MSG_DONTWAIT
#define MSG_DONTWAIT 0
#define WSC_TCP_NEED_O_NONBLOCK 1
#endif

/* Milliseconds left until @p deadline, clamped for poll(); -1 means no deadline. */
static int remaining_ms(uint64_t deadline, bool has_deadline)
{
    if (!has_deadline)
        return -1;
    uint64_t now = wsc_platform_now_ms();
    if (now >= deadline)
        return 0;
    uint64_t left = deadline - now;
    return left > (uint64_t)INT_MAX ? INT_MAX : (int)left;
}

/* poll() on one descriptor, retrying EINTR with whatever time is left. Returns the
 * revents (0 on timeout) or -1 with errno set. */
static int poll_one(int fd, short events, int timeout_ms)
{
    bool has_deadline = timeout_ms >= 0;
    uint64_t deadline = has_deadline ? wsc_platform_now_ms() + (uint64_t)timeout_ms : 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int n = poll(&p, 1, timeout_ms);
        if (n > 0)
            return p.revents;
        if (n == 0)
            return 0;
        if (errno != EINTR)
            return -1;
        timeout_ms = remaining_ms(deadline, has_deadline);
    }
}

#if !(defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)) || defined(WSC_TCP_NEED_O_NONBLOCK)
static bool set_flag(int fd, int get_cmd, int set_cmd, int flag)
{
    int flags = fcntl(fd, get_cmd);
    return flags >= 0 && fcntl(fd, set_cmd, flags | flag) == 0;
}
#endif

/* A non-blocking, close-on-exec stream socket, or -1 with errno set. */
static int open_socket(const struct addrinfo *ai)
{
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    /* Atomic: another thread's fork+exec cannot inherit the descriptor. */
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    if (fd < 0)
        return -1;
#else
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0)
        return -1;
    if (!set_flag(fd, F_GETFD, F_SETFD, FD_CLOEXEC) ||
        !set_flag(fd, F_GETFL, F_SETFL, O_NONBLOCK)) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
#endif
#ifdef SO_NOSIGPIPE
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#endif
    return fd;
}

/* How one address attempt ended. */
enum attempt {
    ATTEMPT_OK,
    ATTEMPT_REFUSED,
    ATTEMPT_TIMEOUT,
    ATTEMPT_UNUSABLE, /* this address family cannot be used here (e.g. no IPv6) */
    ATTEMPT_FAILED,
};

static enum attempt classify(int err)
{
    switch (err) {
    case ECONNREFUSED:
        return ATTEMPT_REFUSED;
    case ETIMEDOUT:
        return ATTEMPT_TIMEOUT;
    /* A host without IPv6 (or without a route for the family) reports these for
     * ::1 or 2001:db8::x; they say nothing about the server itself, so they must
     * not turn "every real attempt was refused" into a generic failure. */
    case EAFNOSUPPORT:
    case EADDRNOTAVAIL:
    case ENETUNREACH:
    case EPROTONOSUPPORT:
        return ATTEMPT_UNUSABLE;
    default:
        return ATTEMPT_FAILED;
    }
}

/* Tries one address within @p timeout_ms (< 0: no limit). On ATTEMPT_OK *out is
 * the connected socket. */
static enum attempt try_address(const struct addrinfo *ai, int timeout_ms, int *out)
{
    int fd = open_socket(ai);
    if (fd < 0)
        return classify(errno);

    int err = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        /* EINTR: POSIX says the connection continues asynchronously, exactly as
         * with EINPROGRESS, and completion is reported the same way. */
        if (errno != EINPROGRESS && errno != EINTR) {
            err = errno;
        } else {
            int rev = poll_one(fd, POLLOUT, timeout_ms);
            socklen_t len = sizeof(err);
            if (rev < 0)
                err = errno;
            else if (rev == 0)
                err = ETIMEDOUT;
            /* Writable (or POLLERR/POLLHUP) means the attempt finished; SO_ERROR
             * holds its outcome. */
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                err = errno;
        }
    }
    if (err != 0) {
        close(fd);
        return classify(err);
    }

    /* WebSocket frames are small and latency-bound; Nagle would hold back a
     * short message waiting for the ACK of the previous one. A failure here only
     * costs latency, so it is not an error. */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *out = fd;
    return ATTEMPT_OK;
}

/* Clears O_NONBLOCK once connected, for tcp_recv_wait(); every other call
 * passes MSG_DONTWAIT, so nothing else can block. */
static bool make_blocking(int fd)
{
#ifdef WSC_TCP_NEED_O_NONBLOCK
    (void)fd;
    return false; /* no MSG_DONTWAIT: the descriptor must stay non-blocking */
#else
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0;
#endif
}

int wsc_tcp_connect(struct wsc_tcp *t, const char *host, uint16_t port, int timeout_ms)
{
    if (t == NULL || host == NULL)
        return WSC_EINVAL;
    memset(t, 0, sizeof(*t));
    t->fd = -1;

    bool has_deadline = timeout_ms >= 0;
    uint64_t deadline = has_deadline ? wsc_platform_now_ms() + (uint64_t)timeout_ms : 0;

    char service[8];
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* No AI_ADDRCONFIG: glibc ignores loopback when deciding which families are
     * "configured", so on a machine with only lo it would hide ::1 and even
     * 127.0.0.1. Unusable families are skipped per address instead. The lookup
     * itself cannot be bounded by the deadline; getaddrinfo has no timeout. */
    hints.ai_flags = AI_NUMERICSERV;
    struct addrinfo *list = NULL;
    int gai = getaddrinfo(host, service, &hints, &list);
    if (gai != 0)
        return gai == EAI_MEMORY ? WSC_ENOMEM : WSC_ERESOLVE;

    size_t count = 0;
    for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next)
        count++;

    size_t refused = 0, timed_out = 0, failed = 0;
    for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next, count--) {
        /* Share what is left of the deadline among the addresses still to try, so
         * one black-holed address (say an unreachable IPv6 route) cannot use up
         * the whole budget; the last address gets everything that remains. */
        int budget = remaining_ms(deadline, has_deadline);
        if (budget > 0 && count > 1)
            budget = (int)((size_t)budget / count);
        int fd = -1;
        enum attempt a = try_address(ai, budget, &fd);
        if (a == ATTEMPT_OK) {
            freeaddrinfo(list);
            t->fd = fd;
            t->owned = true;
            t->blocking_fd = make_blocking(fd);
            return 0;
        }
        refused += a == ATTEMPT_REFUSED;
        timed_out += a == ATTEMPT_TIMEOUT;
        failed += a == ATTEMPT_FAILED;
        /* Out of time with addresses left untried: the outcome is a timeout, whatever
         * the last attempt said. */
        if (has_deadline && remaining_ms(deadline, true) == 0 && ai->ai_next != NULL) {
            timed_out++;
            break;
        }
    }
    freeaddrinfo(list);

    if (refused > 0 && timed_out == 0 && failed == 0)
        return WSC_ECONNREFUSED;
    if (timed_out > 0)
        return WSC_ETIMEDOUT;
    return WSC_ECONNECT;
}

/* ---- connecting without waiting (event loops) --------------------------- */

static void set_nodelay(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void count_failure(struct wsc_tcp *t, int err)
{
    enum attempt a = classify(err);
    t->refused += a == ATTEMPT_REFUSED;
    t->failed += a == ATTEMPT_FAILED || a == ATTEMPT_TIMEOUT;
}

static void free_list(struct wsc_tcp *t)
{
    if (t->ai_list)
        freeaddrinfo(t->ai_list);
    t->ai_list = t->ai_next = NULL;
    if (t->resolving) { /* its pipe was t->fd, which is not ours to close */
        wsc__resolve_free(t->resolving);
        t->resolving = NULL;
        t->fd = -1;
    }
}

/* Starts connects from t->ai_next on until one is in progress or done. */
static int start_next(struct wsc_tcp *t)
{
    for (struct addrinfo *ai = t->ai_next; ai != NULL; ai = ai->ai_next) {
        t->ai_next = ai->ai_next;
        int fd = open_socket(ai);
        if (fd < 0) {
            count_failure(t, errno);
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            set_nodelay(fd);
            free_list(t);
            t->fd = fd;
            t->owned = true;
            return 0;
        }
        if (errno == EINPROGRESS || errno == EINTR) {
            t->fd = fd;
            t->owned = true;
            return WSC_EAGAIN;
        }
        count_failure(t, errno);
        close(fd);
    }
    free_list(t);
    return t->refused > 0 && t->failed == 0 ? WSC_ECONNREFUSED : WSC_ECONNECT;
}

int wsc_tcp_connect_start(struct wsc_tcp *t, const char *host, uint16_t port)
{
    if (t == NULL || host == NULL)
        return WSC_EINVAL;
    memset(t, 0, sizeof(*t));
    t->fd = -1;
    char service[8];
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* An address literal needs no lookup; a name is looked up on a helper
     * thread, its pipe standing in for the socket until the answer is in.
     * Without a thread the lookup blocks, as it did before. AI_ADDRCONFIG:
     * see wsc_tcp_connect(). */
    hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
    struct addrinfo *list = NULL;
    int gai = getaddrinfo(host, service, &hints, &list);
    if (gai == EAI_NONAME) {
        struct wsc_resolve *r = NULL;
        int rc = wsc__resolve_start(host, service, &r, &t->fd);
        t->resolving = r;
        if (rc == WSC_EAGAIN || rc == WSC_ERESOLVE)
            return rc;
        hints.ai_flags = AI_NUMERICSERV;
        gai = getaddrinfo(host, service, &hints, &list);
    }
    if (gai != 0)
        return gai == EAI_MEMORY ? WSC_ENOMEM : WSC_ERESOLVE;
    t->ai_list = t->ai_next = list;
    return start_next(t);
}

/* The lookup has answered (or not yet): on to the first address. The new
 * socket is made while the pipe is still open, so their numbers differ. */
static int finish_lookup(struct wsc_tcp *t)
{
    struct addrinfo *list = NULL;
    int rc = wsc__resolve_result(t->resolving, &list);
    if (rc == WSC_EAGAIN)
        return rc;
    struct wsc_resolve *r = t->resolving;
    t->resolving = NULL;
    t->fd = -1;
    if (rc == 0) {
        t->ai_list = t->ai_next = list;
        rc = start_next(t);
    }
    wsc__resolve_free(r);
    return rc;
}

int wsc_tcp_connect_events(const struct wsc_tcp *t)
{
    return t->resolving ? WSC_WAIT_READ : WSC_WAIT_WRITE;
}

int wsc_tcp_connect_finish(struct wsc_tcp *t)
{
    if (t->resolving)
        return finish_lookup(t);
    if (t->fd < 0)
        return WSC_EINVAL;
    if (t->ai_list == NULL)
        return 0; /* already connected */
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err == 0) {
        /* Writable without an error may still be early on some systems: a
         * connected socket has a peer. */
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        if (getpeername(t->fd, (struct sockaddr *)&peer, &plen) == 0) {
            set_nodelay(t->fd);
            free_list(t);
            return 0;
        }
        if (errno == ENOTCONN)
            return WSC_EAGAIN;
        err = errno;
    }
    if (err == EINPROGRESS || err == EALREADY)
        return WSC_EAGAIN;
    count_failure(t, err);
    /* The next address gets its socket while the failed one is still open, so
     * its number differs: an event loop that registered the old descriptor
     * (epoll drops it on close) sees the change in wsc_conn_fd(). */
    int failed = t->fd;
    t->fd = -1;
    int rc = start_next(t);
    close(failed);
    return rc;
}

void wsc_tcp_connect_abort(struct wsc_tcp *t)
{
    free_list(t); /* and a lookup in progress, with its pipe */
    if (t->fd >= 0 && t->owned)
        close(t->fd);
    t->fd = -1;
}

void wsc_tcp_adopt(struct wsc_tcp *t, int fd, bool take_ownership)
{
    memset(t, 0, sizeof(*t));
    t->fd = fd;
    t->owned = take_ownership;
#ifdef WSC_TCP_NEED_O_NONBLOCK
    /* Without MSG_DONTWAIT the blocking API's timeouts need a non-blocking fd. */
    (void)set_flag(fd, F_GETFL, F_SETFL, O_NONBLOCK);
#endif
}

static int tcp_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent)
{
    struct wsc_tcp *t = ctx;
    *sent = 0;
    for (;;) {
        ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            *sent = (size_t)n;
            return 0;
        }
        switch (errno) {
        case EINTR:
            continue;
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
            return WSC_EAGAIN;
        case EPIPE:
        case ECONNRESET:
            return WSC_ECONNRESET;
        default:
            return WSC_EIO;
        }
    }
}

/* One recv(): 0 with *got (0 at the peer's FIN), or the error; *interrupted
 * says a signal came first (the caller retries or looks at the time). */
static int recv_once(struct wsc_tcp *t, uint8_t *buf, size_t cap, size_t *got, int flags,
                     bool *interrupted)
{
    *interrupted = false;
    ssize_t n = recv(t->fd, buf, cap, flags);
    if (n >= 0) {
        *got = (size_t)n;
        return 0;
    }
    switch (errno) {
    case EINTR:
        *interrupted = true;
        return WSC_EAGAIN;
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
        return WSC_EAGAIN;
    case ECONNRESET:
        return WSC_ECONNRESET;
    default:
        return WSC_EIO;
    }
}

static int tcp_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    struct wsc_tcp *t = ctx;
    *got = 0;
    /* recv() of 0 bytes returns 0, which would read as end of stream. */
    if (cap == 0)
        return WSC_EINVAL;
    bool interrupted;
    int rc;
    do
        rc = recv_once(t, buf, cap, got, MSG_DONTWAIT, &interrupted);
    while (interrupted);
    return rc;
}

/*
 * The blocking API's wait for input in one syscall instead of poll() and then
 * recv(): a blocking recv() bounded by SO_RCVTIMEO, on a socket that
 * wsc_tcp_connect() made blocking (every other call passes MSG_DONTWAIT). The
 * timeout is rounded down to 10 ms and set again only when the one in place
 * would overshoot the caller's or be under half of it, so a run of receives
 * with the same timeout sets it once. Elsewhere: poll(), then recv().
 */
static int tcp_recv_wait(void *ctx, uint8_t *buf, size_t cap, size_t *got, int timeout_ms)
{
    struct wsc_tcp *t = ctx;
    *got = 0;
    if (timeout_ms == 0)
        return tcp_recv(ctx, buf, cap, got);
    long cs = timeout_ms < 0 ? 65535 : timeout_ms / 10;
    if (!t->blocking_fd || cap == 0 || cs == 0) {
        int rev = poll_one(t->fd, POLLIN, timeout_ms);
        if (rev < 0)
            return WSC_EIO;
        return rev == 0 ? WSC_EAGAIN : tcp_recv(ctx, buf, cap, got);
    }
    if (cs > 65535)
        cs = 65535;
    if (t->rcvtimeo_cs == 0 || t->rcvtimeo_cs > cs || 2 * t->rcvtimeo_cs < cs) {
        struct timeval tv = {cs / 100, (cs % 100) * 10000};
        if (setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
            return WSC_EIO;
        t->rcvtimeo_cs = (uint16_t)cs;
    }
    bool interrupted; /* then WSC_EAGAIN: the caller looks at the time and calls again */
    return recv_once(t, buf, cap, got, 0, &interrupted);
}

static int tcp_wait(void *ctx, int events, int timeout_ms)
{
    struct wsc_tcp *t = ctx;
    short want = 0;
    if (events & WSC_WAIT_READ)
        want |= POLLIN;
    if (events & WSC_WAIT_WRITE)
        want |= POLLOUT;
    int rev = poll_one(t->fd, want, timeout_ms < 0 ? -1 : timeout_ms);
    if (rev < 0)
        return WSC_EIO;
    if (rev & POLLNVAL)
        return WSC_EINVAL;
    int ready = 0;
    if (rev & POLLIN)
        ready |= WSC_WAIT_READ;
    if (rev & POLLOUT)
        ready |= WSC_WAIT_WRITE;
    /* A hang-up or socket error is reported as readable (and as writable if the
     * caller waits for that), so the next recv()/send() returns the EOF or the
     * error instead of the caller waiting for an event that never comes. */
    if (rev & (POLLHUP | POLLERR))
        ready |= WSC_WAIT_READ | (events & WSC_WAIT_WRITE);
    return ready;
}

static size_t tcp_pending(void *ctx)
{
    (void)ctx;
    return 0; /* the kernel buffer is visible to poll(); nothing is held here */
}

static int tcp_shutdown(void *ctx)
{
    struct wsc_tcp *t = ctx;
    if (shutdown(t->fd, SHUT_WR) == 0)
        return 0;
    return errno == ENOTCONN ? WSC_ENOTCONN : WSC_EIO;
}

static void tcp_close(void *ctx)
{
    struct wsc_tcp *t = ctx;
    free_list(t); /* closed while a non-blocking connect was in progress */
    /* No retry on EINTR: Linux releases the descriptor even then, and a retry
     * could close one another thread just opened. */
    if (t->owned && t->fd >= 0)
        (void)close(t->fd);
    t->fd = -1;
}

static int tcp_fd(void *ctx) { return ((struct wsc_tcp *)ctx)->fd; }

static const struct wsc_transport_ops tcp_ops = {
    .name = "tcp",
    .send = tcp_send,
    .recv = tcp_recv,
    .wait = tcp_wait,
    .pending = tcp_pending,
    .shutdown = tcp_shutdown,
    .close = tcp_close,
    .fd = tcp_fd,
    .recv_wait = tcp_recv_wait,
};

void wsc_tcp_transport(struct wsc_tcp *t, struct wsc_transport *tr)
{
    tr->ops = &tcp_ops;
    tr->ctx = t;
}
