/*
 * Host name lookup off the caller's thread, for event loops: getaddrinfo()
 * has no non-blocking form, so it runs on a short-lived detached thread that
 * signals a pipe when done. The loop polls the pipe's read end for READ.
 */
#ifndef WSC_RESOLVE_H
#define WSC_RESOLVE_H

#include <netdb.h>

struct wsc_resolve;

/*
 * Starts looking up @p host for @p service (TCP, IPv4 and IPv6). Returns
 * WSC_EAGAIN with *r and *fd (readable once the answer is in), or WSC_ENOMEM
 * / WSC_EIO when no thread or pipe could be had: then the caller looks up
 * synchronously. Names longer than 255 bytes fail with WSC_ERESOLVE.
 */
int wsc__resolve_start(const char *host, const char *service, struct wsc_resolve **r, int *fd);

/* WSC_EAGAIN while the lookup runs; then 0 with *list (the caller's, for
 * freeaddrinfo()), WSC_ERESOLVE or WSC_ENOMEM. The pipe stays open until
 * wsc__resolve_free(). */
int wsc__resolve_result(struct wsc_resolve *r, struct addrinfo **list);

/* Lets go of the lookup, finished or not; the thread cleans up after itself
 * if it is still running (the pipe's descriptors close when both are done). */
void wsc__resolve_free(struct wsc_resolve *r);

#endif
