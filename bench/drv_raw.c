/*
 * Raw TCP: the limit the WebSocket clients are measured against. The same
 * payload bytes without framing, read in large reads and checked as one stream;
 * sent either one send() per message, or (--bulk) in large writes, or (--framed)
 * one send() per message of the size a masked frame of it has: the same payload
 * stream cut at header + payload bytes, the limit for any WebSocket client that
 * sends each message when asked (the kernel's cost per write depends on its size:
 * on loopback 65,550-byte writes cost up to 1.7x the CPU of 65,536-byte ones).
 *
 * Reads are 64 KiB, the size of wsc's default input buffer: on the reference
 * machine 256 KiB reads cost more CPU per byte, not less (the data has left L1
 * by the time it is compared), so 64 KiB is the better limit as well as the
 * like-for-like one.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define DRIVER "raw"
#define READ_SIZE (64u * 1024u)
#define WRITE_SIZE (256u * 1024u)

static void send_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            bench_fail(DRIVER, "send: %s", strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
}

/* Header bytes of a masked client frame carrying len payload bytes. */
static size_t masked_header_len(size_t len)
{
    return 2 + 4 + (len < 126 ? 0 : len < 65536 ? 2 : 8);
}

static void recv_exact(int fd, uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            bench_fail(DRIVER, "recv: %s", n ? strerror(errno) : "end of stream");
        p += n;
        len -= (size_t)n;
    }
}

static int dial(const struct bench_args *a)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)a->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
        bench_fail(DRIVER, "connect: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char path[256], req[300];
    if (bench_path(&a->w, path, sizeof(path)))
        bench_fail(DRIVER, "bad workload");
    int n = snprintf(req, sizeof(req), "RAW %s\r\n\r\n", path);
    send_all(fd, (const uint8_t *)req, (size_t)n);
    uint8_t ok[3];
    recv_exact(fd, ok, 3);
    if (memcmp(ok, "OK\n", 3) != 0)
        bench_fail(DRIVER, "server refused the workload");
    return fd;
}

int main(int argc, char **argv)
{
    struct bench_args a;
    bench_parse_args(argc, argv, &a, DRIVER);
    const struct bench_workload *w = &a.w;
    size_t msgs;
    uint8_t *payloads = bench_payloads(w->size, w->kind == BENCH_RECV_TEXT, &msgs);
    bench_corrupt(payloads, msgs, w, false);
    struct bench_verifier v;
    bench_verifier_init(&v, payloads, msgs, w->size);
    struct bench_meter m;
    bench_meter_init(&m, DRIVER, &a);
    int fd = dial(&a);
    uint64_t total = (uint64_t)w->size * w->count;

    switch (w->kind) {
    case BENCH_RECV:
    case BENCH_RECV_TEXT: {
        uint8_t *buf = malloc(READ_SIZE);
        if (!buf)
            bench_fail(DRIVER, "out of memory");
        uint64_t got = 0;
        bench_meter_start(&m);
        while (got < total) {
            ssize_t n = recv(fd, buf, READ_SIZE, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                bench_fail(DRIVER, "stream ended after %llu of %llu bytes",
                           (unsigned long long)got, (unsigned long long)total);
            if ((uint64_t)n > total - got || !bench_verify_stream(&v, buf, (size_t)n))
                bench_fail(DRIVER, "wrong bytes in message %llu", (unsigned long long)v.index);
            got += (uint64_t)n;
        }
        bench_meter_stop(&m);
        if (recv(fd, buf, 1, 0) != 0)
            bench_fail(DRIVER, "bytes after the last message");
        free(buf);
        break;
    }
    case BENCH_SEND: {
        size_t block = msgs * w->size;
        /* Writes of one size come from the payload block, which repeats; it is
         * followed by a copy of its start, so no write is cut at its end. */
        size_t piece = w->raw_bulk ? WRITE_SIZE : w->size + masked_header_len(w->size);
        uint8_t *ring = malloc(block + piece);
        if (!ring)
            bench_fail(DRIVER, "out of memory");
        for (size_t at = 0; at < block + piece; at += block)
            memcpy(ring + at, payloads, block + piece - at < block ? block + piece - at : block);
        bench_meter_start(&m);
        if (w->raw_bulk || w->raw_framed) {
            uint64_t sent = 0;
            while (sent < total) {
                size_t n = piece;
                if ((uint64_t)n > total - sent)
                    n = (size_t)(total - sent);
                send_all(fd, ring + sent % block, n);
                sent += n;
            }
        } else {
            for (uint64_t i = 0; i < w->count; i++)
                send_all(fd, payloads + (size_t)(i % msgs) * w->size, w->size);
        }
        uint8_t ack[2];
        recv_exact(fd, ack, 2);
        bench_meter_stop(&m);
        free(ring);
        if (memcmp(ack, "OK", 2) != 0)
            bench_fail(DRIVER, "the sink found an error (see the server's output)");
        break;
    }
    case BENCH_ECHO: {
        uint8_t *buf = malloc(w->size);
        if (!buf)
            bench_fail(DRIVER, "out of memory");
        bench_meter_start(&m);
        for (uint64_t i = 0; i < w->count; i++) {
            const uint8_t *p = payloads + (size_t)(i % msgs) * w->size;
            double t = bench_now();
            send_all(fd, p, w->size);
            recv_exact(fd, buf, w->size);
            m.lat[m.nlat++] = bench_now() - t;
            if (memcmp(buf, p, w->size) != 0)
                bench_fail(DRIVER, "echo %llu differs", (unsigned long long)i);
        }
        bench_meter_stop(&m);
        free(buf);
        break;
    }
    }
    close(fd);
    bench_meter_report(&m);
    free(payloads);
    return 0;
}
