/*
 * Shared by the load server and every client driver: the workloads, the
 * deterministic payloads both sides derive from them, verification helpers,
 * measurement (wall clock, getrusage, latency percentiles) and the one-line
 * result format that bench/report.py reads.
 *
 * A workload is a kind plus a message size and count. Message i of a stream
 * carries payload (i mod M) of a block of M distinct payloads (bench_block_msgs),
 * so the server can send pre-framed blocks from memory while every client still
 * checks each message's bytes, its length and its place in the stream.
 */
#ifndef WSC_BENCH_COMMON_H
#define WSC_BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bench_kind {
    BENCH_RECV,      /* server streams binary messages to the client */
    BENCH_RECV_TEXT, /* the same with UTF-8 text the client must validate */
    BENCH_SEND,      /* client sends binary messages; the server's sink checks them */
    BENCH_ECHO,      /* one message out, the same back; latency per round trip */
};

struct bench_workload {
    enum bench_kind kind;
    size_t size;     /* payload bytes per message */
    uint64_t count;  /* messages (round trips for echo) */
    int server_cpu;  /* CPU the server thread pins itself to, or -1 */
    bool raw_bulk;   /* raw TCP send: large writes instead of one send() per message */
    bool raw_framed; /* raw TCP send: one send() per message of a masked frame's size */
    bool corrupt;    /* self-test: one payload is damaged and the run must fail */
};

/* Distinct payloads per block: enough that a block is at least 256 KiB (and at
 * least 3), so a lost, repeated or reordered message shows up as wrong bytes. */
size_t bench_block_msgs(size_t size);

/*
 * The M payloads of a workload, contiguous: payload k is at k * size. Binary
 * payloads are pseudo-random bytes; text payloads are valid UTF-8, ASCII runs
 * of 10-15 bytes each followed by one 2-, 3- or 4-byte character. Returns a
 * malloc'ed buffer of M * size bytes (exits on allocation failure).
 */
uint8_t *bench_payloads(size_t size, bool text, size_t *msgs);

/*
 * Self-test of the verification (--corrupt): damages the payload of the last
 * message (index (count - 1) mod M) on the side that produces it, so the
 * consumer must notice and fail the run. Received binary: the server
 * flips a byte (the client's comparison must catch it). Received text: both
 * sides put 0xFF in it, so the bytes match what the client expects and only
 * UTF-8 validation can reject the message. Sent: the client flips a byte and
 * the server's sink must catch it. No-op unless w->corrupt.
 */
void bench_corrupt(uint8_t *payloads, size_t msgs, const struct bench_workload *w,
                   bool server);

/* Workload <-> request path ("/recv?size=16&count=100&cpu=0"). */
int bench_path(const struct bench_workload *w, char *out, size_t cap);
int bench_parse_path(const char *path, struct bench_workload *w);
const char *bench_kind_name(enum bench_kind k);
int bench_kind_parse(const char *name, enum bench_kind *k);

/* Pins the calling thread to @p cpu (no-op for cpu < 0); returns 0 or -1. */
int bench_pin(int cpu);

double bench_now(void); /* CLOCK_MONOTONIC seconds */

/* CPU time consumed so far by this process: user and system seconds. */
void bench_cpu(double *user, double *sys);

/* Common command line of the drivers:
 *   --port P --kind recv|recv-text|send|echo --size S --count N
 *   [--cpu C] [--server-cpu C] [--bulk] [--callgrind] [--corrupt]
 * Exits with usage on an error. */
struct bench_args {
    int port;
    struct bench_workload w;
    int cpu;
    bool callgrind; /* count only the measured phase (run under callgrind) */
};
void bench_parse_args(int argc, char **argv, struct bench_args *a, const char *driver);

/* Measurement of one run: call start once the connection is ready, stop after
 * the last message was verified (or the sink acknowledged). */
struct bench_meter {
    const char *driver;
    const struct bench_args *args;
    double t0, u0, s0, t1, u1, s1;
    double *lat; /* echo: one latency per round trip, seconds */
    uint64_t nlat;
};
void bench_meter_init(struct bench_meter *m, const char *driver, const struct bench_args *a);
void bench_meter_start(struct bench_meter *m);
void bench_meter_stop(struct bench_meter *m);
/* Prints "RESULT driver=... key=value ..." on stdout and frees the meter. */
void bench_meter_report(struct bench_meter *m);

/* Prints "<driver>: FAIL <message>" on stderr and exits 1. */
void bench_fail(const char *driver, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/*
 * Stream verifier for consumers that see a message in pieces (libwebsockets
 * delivers fragments; raw TCP sees one byte stream). Checks each piece against
 * the expected payload at the current offset.
 */
struct bench_verifier {
    const uint8_t *payloads; /* M * size bytes */
    size_t msgs, size;
    uint64_t index; /* messages completed */
    size_t offset;  /* bytes of the current message seen */
};
void bench_verifier_init(struct bench_verifier *v, const uint8_t *payloads, size_t msgs,
                         size_t size);
/* A piece of the current message; false if its bytes differ or overrun it. */
bool bench_verify_piece(struct bench_verifier *v, const uint8_t *p, size_t len);
/* The current message ended here; false if it was short. */
bool bench_verify_end(struct bench_verifier *v);
/* A whole message at once. */
bool bench_verify_msg(struct bench_verifier *v, const uint8_t *p, size_t len);
/* A stream with no message boundaries (raw TCP): consecutive payloads. */
bool bench_verify_stream(struct bench_verifier *v, const uint8_t *p, size_t len);

/* Callgrind: count instructions only between these calls when run under
 * valgrind --tool=callgrind --collect-atstart=no (no-ops otherwise). */
void bench_collect_toggle(const struct bench_args *a);

#endif
