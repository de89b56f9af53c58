/*
 * <zephyr/net/net_ip.h> for Linux: the BSD address types and byte-order
 * helpers come from the C library; net_sin()/net_sin6() are provided as in
 * Zephyr.
 */
#ifndef ZEPHYR_INCLUDE_NET_NET_IP_H_
#define ZEPHYR_INCLUDE_NET_NET_IP_H_

#include <stdint.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

static inline struct sockaddr_in *net_sin(const struct sockaddr *addr)
{
    return (struct sockaddr_in *)(void *)(uintptr_t)addr;
}

static inline struct sockaddr_in6 *net_sin6(const struct sockaddr *addr)
{
    return (struct sockaddr_in6 *)(void *)(uintptr_t)addr;
}

#ifdef __cplusplus
}
#endif
#endif /* ZEPHYR_INCLUDE_NET_NET_IP_H_ */
