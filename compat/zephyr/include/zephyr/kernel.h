/*
 * <zephyr/kernel.h> for Linux builds of the wsc Zephyr compatibility layer.
 *
 * Only what the websocket and HTTP client headers need, plus the few kernel
 * helpers that typical network client applications call (sleeping, uptime,
 * SYS_FOREVER_MS, MSEC_PER_SEC, ARRAY_SIZE, CONTAINER_OF, ARG_UNUSED). Time
 * values here are plain milliseconds; there are no ticks on this side.
 */
#ifndef ZEPHYR_INCLUDE_KERNEL_H_
#define ZEPHYR_INCLUDE_KERNEL_H_

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <zephyr/sys/printk.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A timeout in milliseconds meaning "wait forever" (Zephyr's sys_clock.h value). */
#ifndef SYS_FOREVER_MS
#define SYS_FOREVER_MS (-1)
#endif

#ifndef MSEC_PER_SEC
#define MSEC_PER_SEC 1000
#endif

/** A kernel timeout. Zephyr counts ticks; here the unit is one millisecond. */
typedef struct {
    int64_t ms; /* -1: forever */
} k_timeout_t;

#define K_MSEC(ms) ((k_timeout_t){(int64_t)(ms)})
#define K_SECONDS(s) K_MSEC((int64_t)(s) * MSEC_PER_SEC)
#define K_NO_WAIT K_MSEC(0)
#define K_FOREVER K_MSEC(-1)
#define K_TIMEOUT_EQ(a, b) ((a).ms == (b).ms)

/** Sleeps for @p timeout (K_FOREVER never returns); returns 0. */
int32_t k_sleep(k_timeout_t timeout);

/** Sleeps for @p ms milliseconds; returns 0. */
int32_t k_msleep(int32_t ms);

/** Milliseconds since an arbitrary fixed point (monotonic). */
int64_t k_uptime_get(void);

#ifndef ARG_UNUSED
#define ARG_UNUSED(x) (void)(x)
#endif

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(array) (sizeof(array) / sizeof((array)[0]))
#endif

#ifndef CONTAINER_OF
#define CONTAINER_OF(ptr, type, field) ((type *)(void *)((char *)(ptr) - offsetof(type, field)))
#endif

#ifdef __cplusplus
}
#endif
#endif /* ZEPHYR_INCLUDE_KERNEL_H_ */
