/* POSIX platform glue: the CSPRNG behind mask keys and nonces, and the clock. */
#include <errno.h>
#include <sys/random.h>
#include <time.h>

#include "wsc/wsc.h"

int wsc_platform_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    /* No buffering on our side: a pool of random bytes kept in a static would be
     * shared between threads and survive fork(), repeating mask keys in the child. */
    while (len > 0) {
        /* Flags 0: blocks only until the kernel pool is first seeded, which is what
         * a nonce needs; afterwards it never blocks. Large requests may come back
         * short, so keep asking until the buffer is full. */
        ssize_t n = getrandom(buf, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return WSC_EIO;
        }
        buf += (size_t)n;
        len -= (size_t)n;
    }
    return 0;
}

uint64_t wsc_platform_now_ms(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC: timeouts must not jump when the wall clock is set. It cannot
     * fail for this clock id on any POSIX system that defines it. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t wsc_platform_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void wsc_platform_sleep_ms(int ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    /* Resume after signals: a backoff delay is a lower bound. */
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
