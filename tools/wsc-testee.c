/*
 * wsc-testee: the Autobahn|Testsuite client-testee protocol on wsc's blocking
 * API, so that a fuzzing server (Autobahn's own, or tests/conformance/server.py)
 * can judge wsc against RFC 6455.
 *
 *     wsc-testee [--compress] ws://host:port AGENT
 *
 * Every step is one WebSocket connection to the server:
 *   1. /getCaseCount: the first text message is the number of cases;
 *   2. /runCase?case=N&agent=AGENT for N = 1..count: echo every message back
 *      whole, with its type, until the server closes or the connection fails;
 *   3. /updateReports?agent=AGENT: the server writes its reports; we close.
 *
 * The server judges each case; the testee only prints one line per case on
 * stdout saying how the connection ended. Exit codes: 0 every case ran, 1 the
 * server could not be used (case count, a case connection, the reports), 2 usage
 * error, or --compress in a build without zlib. --compress offers
 * permessage-deflate (RFC 7692) with wsc's default offer on every connection;
 * the echoes of a connection that agreed on it go out compressed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsc/wsc.h"
#include "wsc/wsc_deflate.h"

#define EXIT_USAGE 2

/* Autobahn's 9.x cases send messages of up to 16 MiB; the headroom keeps a
 * limit exactly at the largest case from deciding its verdict. */
#define MAX_MESSAGE (16u * 1024u * 1024u + 1024u * 1024u)

/* The server drives every case, so these only bound a server that hangs. */
#define RECV_TIMEOUT_MS 30000
#define SEND_TIMEOUT_MS 30000
#define CLOSE_TIMEOUT_MS 5000
#define REPORT_TIMEOUT_MS 30000

#define CASE_COUNT_MAX 100000u
#define URL_MAX (WSC_URL_RESOURCE_MAX + WSC_URL_HOST_MAX + 64)

static void usage(FILE *f)
{
    fputs("usage: wsc-testee [--compress] ws://host:port AGENT\n"
          "Runs the Autobahn|Testsuite client-testee protocol: asks the server at\n"
          "ws://host:port for its case count, runs every case as AGENT by echoing\n"
          "each message, then asks the server to write its reports. --compress\n"
          "offers permessage-deflate compression on every connection.\n",
          f);
}

/* A copy of the message being echoed: wsc_recv()'s data is valid only until
 * the next call on the connection, and the echo is that next call. */
struct echo_buf {
    uint8_t *p;
    size_t cap;
};

static int echo_keep(struct echo_buf *b, const struct wsc_message *m)
{
    if (m->len > b->cap) {
        uint8_t *p = realloc(b->p, m->len);
        if (!p)
            return WSC_ENOMEM;
        b->p = p;
        b->cap = m->len;
    }
    if (m->len)
        memcpy(b->p, m->data, m->len);
    return 0;
}

/* RFC 3986 2.3: everything but unreserved characters is percent-encoded, so
 * any agent name survives the trip through the query string. */
static int query_escape(const char *in, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL;
        if (cap - n < 4)
            return -1;
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 0xf];
        }
    }
    out[n] = '\0';
    return 0;
}

struct testee {
    const char *base; /* ws://host:port, without a trailing slash */
    size_t base_len;
    char agent[1024]; /* percent-encoded */
    struct wsc_options opt;
    struct echo_buf echo;
};

/* Connects to base + the formatted resource; prints why on failure. */
static int open_conn(struct testee *t, struct wsc_conn *c, const char *what,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int open_conn(struct testee *t, struct wsc_conn *c, const char *what,
                     const char *fmt, ...)
{
    char url[URL_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(url, sizeof(url), "%.*s", (int)t->base_len, t->base);
    int m = n < 0 ? -1 : vsnprintf(url + n, sizeof(url) - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0 || (size_t)n + (size_t)m >= sizeof(url)) {
        fprintf(stderr, "wsc-testee: %s: URL too long\n", what);
        memset(c, 0, sizeof(*c));
        return WSC_EURL;
    }
    int rc = wsc_connect(c, url, &t->opt);
    if (rc)
        fprintf(stderr, "wsc-testee: %s: %s\n", what, wsc_conn_detail(c));
    return rc;
}

/* Reads the case count from the first text message, then lets the server close. */
static int get_case_count(struct testee *t, unsigned long *count)
{
    struct wsc_conn c;
    int rc = open_conn(t, &c, "case count", "/getCaseCount");
    if (rc) {
        wsc_conn_free(&c);
        return rc;
    }
    struct wsc_message m;
    rc = wsc_recv(&c, &m, RECV_TIMEOUT_MS);
    if (rc == 0) {
        char digits[16];
        char *end = NULL;
        bool ok = m.opcode == WSC_OP_TEXT && m.len > 0 && m.len < sizeof(digits);
        if (ok) {
            memcpy(digits, m.data, m.len);
            digits[m.len] = '\0';
            *count = strtoul(digits, &end, 10);
            ok = digits[0] >= '0' && digits[0] <= '9' && *end == '\0' &&
                 *count <= CASE_COUNT_MAX;
        }
        if (!ok) {
            fprintf(stderr,
                    "wsc-testee: case count: expected a number in a text message,"
                    " got %zu bytes\n",
                    m.len);
            rc = WSC_EINVAL;
        }
    } else {
        fprintf(stderr, "wsc-testee: case count: %s\n", wsc_conn_detail(&c));
    }
    /* The server closes after the count; whatever ends the wait is fine now. */
    int ended = rc;
    while (ended == 0)
        ended = wsc_recv(&c, &m, CLOSE_TIMEOUT_MS);
    (void)wsc_close(&c, WSC_CLOSE_NORMAL, NULL, CLOSE_TIMEOUT_MS);
    wsc_conn_free(&c);
    return rc;
}

/*
 * Runs case @p n: echoes every message until the connection ends, however it
 * ends; the server has seen all it needs by then. Returns 0 once the case ran,
 * or the error when it could not be started at all.
 */
static int run_case(struct testee *t, unsigned long n)
{
    char what[32];
    snprintf(what, sizeof(what), "case %lu", n);
    struct wsc_conn c;
    int rc = open_conn(t, &c, what, "/runCase?case=%lu&agent=%s", n, t->agent);
    if (rc) {
        wsc_conn_free(&c);
        return rc;
    }
    unsigned long echoed = 0;
    for (;;) {
        struct wsc_message m;
        rc = wsc_recv(&c, &m, RECV_TIMEOUT_MS);
        if (rc)
            break;
        rc = echo_keep(&t->echo, &m);
        if (rc)
            break;
        rc = wsc_send(&c, m.opcode, t->echo.p, m.len, SEND_TIMEOUT_MS);
        if (rc)
            break;
        echoed++;
    }
    if (rc == WSC_ECLOSED) {
        printf("%s: %lu echoed, server closed with %u\n", what, echoed,
               (unsigned)wsc_conn_close_code(&c));
    } else if (rc == WSC_ENOMEM && wsc_conn_state(&c) == WSC_CONN_OPEN) {
        printf("%s: %lu echoed, out of memory copying a message\n", what, echoed);
        (void)wsc_close(&c, WSC_CLOSE_INTERNAL, NULL, CLOSE_TIMEOUT_MS);
    } else {
        printf("%s: %lu echoed, ended: %s\n", what, echoed, wsc_conn_detail(&c));
        /* After a timeout the connection may still be open: leave politely. */
        (void)wsc_close(&c, WSC_CLOSE_GOING_AWAY, NULL, CLOSE_TIMEOUT_MS);
    }
    fflush(stdout);
    wsc_conn_free(&c);
    return 0;
}

/* Asks the server to write its reports; it closes once they are written. */
static int update_reports(struct testee *t)
{
    struct wsc_conn c;
    int rc = open_conn(t, &c, "update reports", "/updateReports?agent=%s", t->agent);
    if (rc == 0) {
        rc = wsc_close(&c, WSC_CLOSE_NORMAL, NULL, REPORT_TIMEOUT_MS);
        if (rc)
            fprintf(stderr, "wsc-testee: update reports: %s\n", wsc_conn_detail(&c));
    }
    wsc_conn_free(&c);
    return rc;
}

int main(int argc, char **argv)
{
    bool compress = false;
    const char *args[2];
    int nargs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--compress") == 0) {
            compress = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "wsc-testee: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        } else if (nargs < 2) {
            args[nargs++] = argv[i];
        } else {
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (nargs != 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (compress && !wsc_deflate_available()) {
        fputs("wsc-testee: permessage-deflate not available in this build (no zlib)\n",
              stderr);
        return EXIT_USAGE;
    }

    struct testee t;
    memset(&t, 0, sizeof(t));
    t.base = args[0];
    t.base_len = strlen(t.base);
    while (t.base_len > 0 && t.base[t.base_len - 1] == '/')
        t.base_len--;
    if (query_escape(args[1], t.agent, sizeof(t.agent))) {
        fputs("wsc-testee: AGENT is too long\n", stderr);
        return EXIT_USAGE;
    }
    wsc_options_init(&t.opt);
    t.opt.max_message = MAX_MESSAGE;
    t.opt.compress = compress;

    unsigned long count = 0;
    int rc = get_case_count(&t, &count);
    if (rc) {
        /* A URL the library rejects is the caller's mistake, not the server's. */
        return rc == WSC_EURL ? EXIT_USAGE : EXIT_FAILURE;
    }
    printf("%lu cases\n", count);
    fflush(stdout);

    unsigned long missed = 0;
    for (unsigned long n = 1; n <= count; n++) {
        if (run_case(&t, n))
            missed++;
    }
    free(t.echo.p);

    rc = update_reports(&t);
    if (missed)
        fprintf(stderr, "wsc-testee: %lu of %lu cases could not connect\n", missed, count);
    return rc || missed ? EXIT_FAILURE : EXIT_SUCCESS;
}
