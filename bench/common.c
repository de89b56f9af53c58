/* Workloads, payloads, verification and measurement shared by server and drivers. */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#include "common.h"

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#ifdef BENCH_HAVE_CALLGRIND
#include <valgrind/callgrind.h>
#endif

size_t bench_block_msgs(size_t size)
{
    size_t m = (256u * 1024u + size - 1) / size;
    return m < 3 ? 3 : m;
}

/* splitmix64: a tiny deterministic generator, so both ends derive the same bytes. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static size_t put_utf8(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* Mixed text: 10-15 ASCII bytes, then one multi-byte character of a random
 * width and value (surrogates excluded), padded with ASCII to exactly len. */
static void gen_text(uint8_t *o, size_t len, uint64_t *rs)
{
    static const char ascii[] = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789.,";
    size_t i = 0;
    while (i < len) {
        size_t run = 10 + (size_t)(next_rand(rs) % 6);
        for (size_t k = 0; k < run && i < len; k++)
            o[i++] = (uint8_t)ascii[next_rand(rs) % (sizeof(ascii) - 1)];
        uint64_t r = next_rand(rs);
        uint32_t cp;
        switch (r % 3) {
        case 0:
            cp = 0x80 + (uint32_t)((r >> 8) % (0x800 - 0x80));
            break;
        case 1:
            cp = 0x800 + (uint32_t)((r >> 8) % (0x10000 - 0x800 - 0x800));
            if (cp >= 0xd800)
                cp += 0x800; /* skip the surrogates */
            break;
        default:
            cp = 0x10000 + (uint32_t)((r >> 8) % (0x110000 - 0x10000));
            break;
        }
        uint8_t ch[4];
        size_t n = put_utf8(ch, cp);
        if (len - i < n)
            break;
        memcpy(o + i, ch, n);
        i += n;
    }
    while (i < len)
        o[i++] = (uint8_t)ascii[next_rand(rs) % (sizeof(ascii) - 1)];
}

uint8_t *bench_payloads(size_t size, bool text, size_t *msgs)
{
    size_t m = bench_block_msgs(size);
    uint8_t *buf = malloc(m * size + 8);
    if (!buf) {
        fprintf(stderr, "bench: out of memory for %zu payloads of %zu bytes\n", m, size);
        exit(1);
    }
    for (size_t k = 0; k < m; k++) {
        uint64_t rs = 0x5eed0000u ^ ((uint64_t)size << 20) ^ k ^ (text ? 1u << 31 : 0);
        uint8_t *p = buf + k * size;
        if (text) {
            gen_text(p, size, &rs);
        } else {
            for (size_t i = 0; i < size; i += 8) {
                uint64_t r = next_rand(&rs);
                size_t n = size - i < 8 ? size - i : 8;
                memcpy(p + i, &r, n);
            }
        }
    }
    *msgs = m;
    return buf;
}

void bench_corrupt(uint8_t *payloads, size_t msgs, const struct bench_workload *w,
                   bool server)
{
    if (!w->corrupt)
        return;
    /* The last message's payload (earlier messages may share it). */
    uint8_t *p = payloads + (size_t)((w->count - 1) % msgs) * w->size + w->size / 2;
    if (w->kind == BENCH_RECV_TEXT)
        *p = 0xff; /* never valid in UTF-8 */
    else if ((w->kind == BENCH_RECV && server) || (w->kind == BENCH_SEND && !server))
        *p ^= 0x01;
}

static const char *const kind_names[] = {"recv", "recv-text", "send", "echo"};

const char *bench_kind_name(enum bench_kind k) { return kind_names[k]; }

int bench_kind_parse(const char *name, enum bench_kind *k)
{
    for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
        if (strcmp(name, kind_names[i]) == 0) {
            *k = (enum bench_kind)i;
            return 0;
        }
    }
    return -1;
}

int bench_path(const struct bench_workload *w, char *out, size_t cap)
{
    int n = snprintf(out, cap, "/%s?size=%zu&count=%llu&cpu=%d&bulk=%d&corrupt=%d",
                     bench_kind_name(w->kind), w->size, (unsigned long long)w->count,
                     w->server_cpu, w->raw_bulk ? 1 : 0, w->corrupt ? 1 : 0);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int bench_parse_path(const char *path, struct bench_workload *w)
{
    memset(w, 0, sizeof(*w));
    w->server_cpu = -1;
    if (path[0] != '/')
        return -1;
    char kind[16];
    size_t n = strcspn(path + 1, "?");
    if (n == 0 || n >= sizeof(kind))
        return -1;
    memcpy(kind, path + 1, n);
    kind[n] = '\0';
    if (bench_kind_parse(kind, &w->kind))
        return -1;
    const char *q = path + 1 + n;
    while (*q == '?' || *q == '&') {
        q++;
        char key[16];
        size_t k = strcspn(q, "=&");
        if (k >= sizeof(key) || q[k] != '=')
            return -1;
        memcpy(key, q, k);
        key[k] = '\0';
        char *end;
        long long v = strtoll(q + k + 1, &end, 10);
        if (strcmp(key, "size") == 0)
            w->size = (size_t)v;
        else if (strcmp(key, "count") == 0)
            w->count = (uint64_t)v;
        else if (strcmp(key, "cpu") == 0)
            w->server_cpu = (int)v;
        else if (strcmp(key, "bulk") == 0)
            w->raw_bulk = v != 0;
        else if (strcmp(key, "corrupt") == 0)
            w->corrupt = v != 0;
        else
            return -1;
        q = end;
    }
    return w->size > 0 && w->count > 0 && (*q == '\0' || *q == ' ') ? 0 : -1;
}

int bench_pin(int cpu)
{
    if (cpu < 0)
        return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((size_t)cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set);
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_cpu(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

void bench_fail(const char *driver, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: FAIL ", driver);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void usage(const char *driver)
{
    fprintf(stderr,
            "usage: %s --port P --kind recv|recv-text|send|echo --size BYTES --count N\n"
            "          [--cpu C] [--server-cpu C] [--bulk] [--framed] [--callgrind] [--corrupt]\n",
            driver);
    exit(2);
}

void bench_parse_args(int argc, char **argv, struct bench_args *a, const char *driver)
{
    memset(a, 0, sizeof(*a));
    a->cpu = -1;
    a->w.server_cpu = -1;
    bool have_kind = false;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--bulk") == 0) {
            a->w.raw_bulk = true;
            continue;
        }
        if (strcmp(k, "--framed") == 0) {
            a->w.raw_framed = true;
            continue;
        }
        if (strcmp(k, "--callgrind") == 0) {
            a->callgrind = true;
            continue;
        }
        if (strcmp(k, "--corrupt") == 0) {
            a->w.corrupt = true;
            continue;
        }
        if (!v)
            usage(driver);
        i++;
        if (strcmp(k, "--port") == 0)
            a->port = atoi(v);
        else if (strcmp(k, "--kind") == 0)
            have_kind = bench_kind_parse(v, &a->w.kind) == 0;
        else if (strcmp(k, "--size") == 0)
            a->w.size = (size_t)strtoull(v, NULL, 10);
        else if (strcmp(k, "--count") == 0)
            a->w.count = strtoull(v, NULL, 10);
        else if (strcmp(k, "--cpu") == 0)
            a->cpu = atoi(v);
        else if (strcmp(k, "--server-cpu") == 0)
            a->w.server_cpu = atoi(v);
        else
            usage(driver);
    }
    if (a->port <= 0 || !have_kind || a->w.size == 0 || a->w.count == 0)
        usage(driver);
    if (bench_pin(a->cpu))
        bench_fail(driver, "cannot pin to CPU %d", a->cpu);
}

void bench_meter_init(struct bench_meter *m, const char *driver, const struct bench_args *a)
{
    memset(m, 0, sizeof(*m));
    m->driver = driver;
    m->args = a;
    if (a->w.kind == BENCH_ECHO) {
        m->lat = calloc((size_t)a->w.count, sizeof(double));
        if (!m->lat)
            bench_fail(driver, "out of memory for %llu latencies",
                       (unsigned long long)a->w.count);
    }
}

void bench_meter_start(struct bench_meter *m)
{
    bench_collect_toggle(m->args);
    bench_cpu(&m->u0, &m->s0);
    m->t0 = bench_now();
}

void bench_meter_stop(struct bench_meter *m)
{
    m->t1 = bench_now();
    bench_cpu(&m->u1, &m->s1);
    bench_collect_toggle(m->args);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void bench_meter_report(struct bench_meter *m)
{
    const struct bench_workload *w = &m->args->w;
    double wall = m->t1 - m->t0;
    double bytes = (double)w->size * (double)w->count;
    printf("RESULT driver=%s kind=%s size=%zu count=%llu bulk=%d framed=%d wall_s=%.6f "
           "mbps=%.3f user_s=%.6f sys_s=%.6f cpu_us_per_msg=%.4f",
           m->driver, bench_kind_name(w->kind), w->size, (unsigned long long)w->count,
           w->raw_bulk ? 1 : 0, w->raw_framed ? 1 : 0, wall, bytes / wall / 1e6, m->u1 - m->u0, m->s1 - m->s0,
           (m->u1 - m->u0 + m->s1 - m->s0) * 1e6 / (double)w->count);
    if (m->lat && m->nlat > 0) {
        qsort(m->lat, (size_t)m->nlat, sizeof(double), cmp_double);
        printf(" p50_us=%.3f p90_us=%.3f p99_us=%.3f", m->lat[m->nlat / 2] * 1e6,
               m->lat[m->nlat * 9 / 10] * 1e6, m->lat[m->nlat * 99 / 100] * 1e6);
    }
    printf("\n");
    fflush(stdout);
    free(m->lat);
    m->lat = NULL;
}

void bench_verifier_init(struct bench_verifier *v, const uint8_t *payloads, size_t msgs,
                         size_t size)
{
    v->payloads = payloads;
    v->msgs = msgs;
    v->size = size;
    v->index = 0;
    v->offset = 0;
}

bool bench_verify_piece(struct bench_verifier *v, const uint8_t *p, size_t len)
{
    if (len > v->size - v->offset)
        return false;
    const uint8_t *want = v->payloads + (size_t)(v->index % v->msgs) * v->size + v->offset;
    if (len && memcmp(p, want, len) != 0)
        return false;
    v->offset += len;
    return true;
}

bool bench_verify_end(struct bench_verifier *v)
{
    if (v->offset != v->size)
        return false;
    v->offset = 0;
    v->index++;
    return true;
}

bool bench_verify_msg(struct bench_verifier *v, const uint8_t *p, size_t len)
{
    return len == v->size && bench_verify_piece(v, p, len) && bench_verify_end(v);
}

bool bench_verify_stream(struct bench_verifier *v, const uint8_t *p, size_t len)
{
    while (len) {
        size_t n = v->size - v->offset;
        if (n > len)
            n = len;
        if (!bench_verify_piece(v, p, n))
            return false;
        if (v->offset == v->size)
            bench_verify_end(v);
        p += n;
        len -= n;
    }
    return true;
}

void bench_collect_toggle(const struct bench_args *a)
{
#ifdef BENCH_HAVE_CALLGRIND
    if (a->callgrind)
        CALLGRIND_TOGGLE_COLLECT;
#else
    (void)a;
#endif
}
