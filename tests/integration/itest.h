/* Helpers for integration tests run by with_server.sh against a real server. */
#ifndef WSC_ITEST_H
#define WSC_ITEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsc/wsc.h"

/* "ws://127.0.0.1:$WSC_TEST_PORT" + path, in a static buffer. */
const char *itest_url(const char *path_fmt, ...) __attribute__((format(printf, 1, 2)));

/* Waits up to @p timeout_ms for a line equal to @p line in $WSC_TEST_LOG. */
bool itest_log_has(const char *line, int timeout_ms);

/*
 * wsc_options_init() plus the buffer sizes named by WSC_TEST_RX_BUF and
 * WSC_TEST_TX_BUF, so the same tests can run with tiny buffers that force every
 * boundary (a frame header split across reads, a message across many sends).
 */
void itest_options(struct wsc_options *o);

/* Deterministic payload: byte i = (i * 31 + 7) & 0xff. */
void itest_pattern(uint8_t *buf, size_t len);

/* Event-driven API: one poll() round over @p n connections (at most
 * ITEST_MAX_CONNS), waiting for what they want or their next timer (at most
 * 200 ms), then wsc_conn_process() on each with what was seen. */
#define ITEST_MAX_CONNS 128
void itest_pump(struct wsc_conn *cs, size_t n);

/* Runs itest_pump() on @p c until it is open (0) or failed (its error). */
int itest_open_in_loop(struct wsc_conn *c);

/* The next message of an event-API connection, running itest_pump() while
 * none is buffered; fails the test on any other result. */
void itest_next_message(struct wsc_conn *c, struct wsc_message *m);

/* Asserts a wsc call returned 0, printing the connection's detail otherwise. */
#define ITEST_OK(conn, expr)                                                        \
    do {                                                                            \
        int itest_rc_ = (expr);                                                     \
        if (itest_rc_ != 0)                                                         \
            print_error("%s failed: %d %s (%s)\n", #expr, itest_rc_,                \
                        wsc_strerror(itest_rc_), wsc_conn_detail(conn));            \
        assert_int_equal(itest_rc_, 0);                                             \
    } while (0)

#endif
