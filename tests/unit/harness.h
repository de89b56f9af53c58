/*
 * Chunked-feeding harness for the sans-I/O parsers.
 *
 * A test case is bytes in plus the expected event log (text). The harness runs
 * the case whole, split in two at every byte offset, one byte at a time, and in
 * a few seeded random chunkings, and asserts that every run logs exactly the
 * expected text. Each chunk is copied into its own heap block of exactly its
 * size, so a parser that reads past the input trips ASan.
 */
#ifndef WSC_TEST_HARNESS_H
#define WSC_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define WSC_TEST_LOG_MAX 65536

struct wsc_test_log {
    char text[WSC_TEST_LOG_MAX];
    size_t len;
};

void wsc_test_log_printf(struct wsc_test_log *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Models the connection input buffer: bytes a parser has not consumed stay and
 * the next chunk is appended after them. wsc_test_stream_data() returns the
 * unconsumed bytes in a heap block of exactly their size.
 */
struct wsc_test_stream {
    uint8_t *buf;
    size_t len;
};

void wsc_test_stream_push(struct wsc_test_stream *s, const uint8_t *chunk, size_t len);
const uint8_t *wsc_test_stream_data(const struct wsc_test_stream *s, size_t *len);
void wsc_test_stream_consume(struct wsc_test_stream *s, size_t n);
void wsc_test_stream_free(struct wsc_test_stream *s);

/*
 * One run: reset the parser, then for each chunk i (bytes data[start..bounds[i]))
 * push it and drive the parser; write the events to @p log. The runner must log
 * the total consumed byte count or anything else that must not depend on the
 * chunking.
 */
typedef void (*wsc_test_run_fn)(void *ctx, const uint8_t *data, size_t len,
                                const size_t *bounds, size_t nbounds,
                                struct wsc_test_log *log);

/* Runs every chunking and asserts each log equals @p expected (or, if NULL,
 * equals the log of the whole-input run). Returns the number of chunkings run. */
size_t wsc_test_each_chunking(const uint8_t *data, size_t len, const char *expected,
                              wsc_test_run_fn run, void *ctx);

/* Hex-decodes "81 05 48 65" style text (spaces ignored) into a malloc'd block. */
uint8_t *wsc_test_hex(const char *hex, size_t *len);

/* Total chunkings run so far by this process (reported by the test main). */
extern size_t wsc_test_chunkings_run;

#endif
