/*
 * <zephyr/net/socket.h> for Linux: Zephyr's zsock_* names on top of the BSD
 * socket calls, so client code written for Zephyr builds unchanged.
 *
 * One call differs on purpose: zsock_poll() is wsc_websocket_poll(), which
 * also reports a websocket handle readable while frames are already buffered
 * in its connection (for example those that arrived with the 101 response),
 * since poll() on the socket cannot see them. See <zephyr/net/websocket.h>.
 */
#ifndef ZEPHYR_INCLUDE_NET_SOCKET_H_
#define ZEPHYR_INCLUDE_NET_SOCKET_H_

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <zephyr/net/net_ip.h>
#include <zephyr/net/websocket.h>

#ifdef __cplusplus
extern "C" {
#endif

#define zsock_pollfd pollfd
#define zsock_addrinfo addrinfo
#define ZSOCK_POLLIN POLLIN
#define ZSOCK_POLLOUT POLLOUT
#define ZSOCK_POLLERR POLLERR
#define ZSOCK_POLLHUP POLLHUP
#define ZSOCK_POLLNVAL POLLNVAL
#define ZSOCK_MSG_PEEK MSG_PEEK
#define ZSOCK_MSG_DONTWAIT MSG_DONTWAIT
#define ZSOCK_MSG_WAITALL MSG_WAITALL

static inline int zsock_socket(int family, int type, int proto)
{
    return socket(family, type, proto);
}

static inline int zsock_connect(int sock, const struct sockaddr *addr, socklen_t addrlen)
{
    return connect(sock, addr, addrlen);
}

static inline int zsock_close(int sock) { return close(sock); }

static inline ssize_t zsock_send(int sock, const void *buf, size_t len, int flags)
{
    return send(sock, buf, len, flags | MSG_NOSIGNAL);
}

static inline ssize_t zsock_recv(int sock, void *buf, size_t max_len, int flags)
{
    return recv(sock, buf, max_len, flags);
}

static inline int zsock_setsockopt(int sock, int level, int optname, const void *optval,
                                   socklen_t optlen)
{
    return setsockopt(sock, level, optname, optval, optlen);
}

static inline int zsock_shutdown(int sock, int how) { return shutdown(sock, how); }

static inline int zsock_inet_pton(sa_family_t family, const char *src, void *dst)
{
    return inet_pton(family, src, dst);
}

static inline int zsock_getaddrinfo(const char *host, const char *service,
                                    const struct addrinfo *hints, struct addrinfo **res)
{
    return getaddrinfo(host, service, hints, res);
}

static inline void zsock_freeaddrinfo(struct addrinfo *ai) { freeaddrinfo(ai); }

/* Readiness that counts frames already buffered by a websocket handle. */
static inline int zsock_poll(struct zsock_pollfd *fds, int nfds, int timeout)
{
    return wsc_websocket_poll(fds, (nfds_t)nfds, timeout);
}

#ifdef __cplusplus
}
#endif
#endif /* ZEPHYR_INCLUDE_NET_SOCKET_H_ */
