/* Host name lookup on a helper thread; see resolve.h. */
#include "transport/resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wsc/wsc.h"

#define LOOKUP_STACK (256u * 1024u)

struct wsc_resolve {
    atomic_int refs;   /* the caller's and, while it runs, the thread's */
    atomic_bool done;  /* gai and list are final */
    int gai;
    struct addrinfo *list;
    int rd, wr; /* the pipe: the thread writes one byte when done */
    char host[256];
    char service[8];
};

/* The last of the caller and the thread to let go frees everything, so the
 * thread never writes to a closed (or reused) descriptor. */
static void release(struct wsc_resolve *r)
{
    if (atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    if (r->list)
        freeaddrinfo(r->list);
    close(r->rd);
    close(r->wr);
    free(r);
}

static void *run(void *arg)
{
    struct wsc_resolve *r = arg;
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV; /* as wsc_tcp_connect(): no AI_ADDRCONFIG */
    r->gai = getaddrinfo(r->host, r->service, &hints, &r->list);
    atomic_store(&r->done, true);
    const char byte = 1;
    ssize_t n;
    do
        n = write(r->wr, &byte, 1);
    while (n < 0 && errno == EINTR);
    release(r);
    return NULL;
}

static bool set_fd_flags(int fd, bool nonblock)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
        return false;
    if (!nonblock)
        return true;
    fl = fcntl(fd, F_GETFL);
    return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

int wsc__resolve_start(const char *host, const char *service, struct wsc_resolve **out, int *fd)
{
    size_t len = strlen(host);
    if (len >= sizeof(((struct wsc_resolve *)0)->host))
        return WSC_ERESOLVE;
    struct wsc_resolve *r = calloc(1, sizeof(*r));
    if (!r)
        return WSC_ENOMEM;
    memcpy(r->host, host, len + 1);
    strncpy(r->service, service, sizeof(r->service) - 1);
    int p[2];
    if (pipe(p) != 0) {
        free(r);
        return WSC_EIO;
    }
    r->rd = p[0];
    r->wr = p[1];
    atomic_init(&r->refs, 2);
    atomic_init(&r->done, false);
    if (!set_fd_flags(r->rd, true) || !set_fd_flags(r->wr, false))
        goto fail;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        goto fail;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* A loop may start thousands of lookups at once: 256 KiB of stack each
     * (glibc's getaddrinfo and its NSS modules need far less) instead of the
     * default 8 MiB of address space. */
    pthread_attr_setstacksize(&attr, LOOKUP_STACK);
    /* The thread takes none of the process's signals: they stay with the
     * application's own threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    int rc = pthread_create(&t, &attr, run, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        goto fail;
    *out = r;
    *fd = r->rd;
    return WSC_EAGAIN;
fail:
    close(r->rd);
    close(r->wr);
    free(r);
    return WSC_EIO;
}

int wsc__resolve_result(struct wsc_resolve *r, struct addrinfo **list)
{
    if (!atomic_load(&r->done))
        return WSC_EAGAIN;
    if (r->gai != 0)
        return r->gai == EAI_MEMORY ? WSC_ENOMEM : WSC_ERESOLVE;
    *list = r->list;
    r->list = NULL;
    return 0;
}

void wsc__resolve_free(struct wsc_resolve *r)
{
    if (r)
        release(r);
}
