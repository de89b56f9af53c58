/*
 * wsc: a command-line WebSocket client. Each line of standard input becomes one
 * message; each message received is printed on standard output, one per line.
 * Every failure ends with exactly one line on stderr and a documented exit code.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "wsc/wsc.h"

/* The loop's steps return CONTINUE to keep going, or the exit code to end with. */
#define CONTINUE (-1)

#define DRAIN_MAX 256          /* messages per round before stdin gets a turn */
#define FLUSH_TIMEOUT_MS 1000  /* pongs and close replies queued by wsc_recv */
#define SEND_TIMEOUT_MS 60000  /* one input line; a stuck server must not hang us */
#define CLOSE_TIMEOUT_MS 5000  /* waiting for the reply to our close */
#define FINISH_TIMEOUT_MS 2000 /* sending our reply to the server's close */
#define READ_CHUNK 65536
#define RECONNECT_ATTEMPTS 10
#define CLI_MAX_REDIRECTS 5

struct client {
    struct wsc_conn conn;
    const struct cli_args *args;
    char *line; /* input not yet sent: at most one unfinished line */
    size_t line_len, line_cap;
    uint64_t lines;    /* input lines sent, for error messages */
    uint64_t received; /* data messages printed */
    bool stdin_open;
    uint64_t close_deadline; /* when our close must be answered; 0 = not closing */
};

/* Writes text that came from the network, escaping what could drive the tty. */
static void put_escaped(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            fprintf(stderr, "\\x%02x", ch);
        else
            fputc(ch, stderr);
    }
}

/* Verbose output: "> " for what we sent, "< " for what the server sent. */
static void trace(void *user, enum wsc_trace_kind kind, const char *text, size_t len)
{
    (void)user;
    bool sent = kind == WSC_TRACE_REQUEST || kind == WSC_TRACE_SEND;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    fputs(sent ? "> " : "< ", stderr);
    put_escaped(text, len);
    fputc('\n', stderr);
}

/* The library's detail sentences name the host and the cause ("cannot connect
 * to 127.0.0.1:1: connection refused", "server answered 403 Forbidden", "...
 * (sent close 1002)"), so each failure line is a prefix plus that sentence. */
static int connect_failed(const struct client *cl, int err)
{
    const char *why = wsc_conn_detail(&cl->conn);
    switch (err) {
    case WSC_ENOMEM:
        fputs("wsc: out of memory\n", stderr);
        return CLI_EXIT_ERROR;
    case WSC_EURL:
    case WSC_EHEADER: /* only the command line supplies headers and protocols */
        fprintf(stderr, "wsc: %s\n", why);
        return CLI_EXIT_USAGE;
    case WSC_EHS_STATUS:
    case WSC_EHS_MALFORMED:
    case WSC_EHS_UPGRADE:
    case WSC_EHS_CONNECTION:
    case WSC_EHS_ACCEPT:
    case WSC_EHS_PROTOCOL:
    case WSC_EHS_EXTENSION:
    case WSC_EHS_TOO_LARGE:
    case WSC_EHS_TOO_MANY:
    /* TCP was up, so a hang-up now is the server refusing the handshake. */
    case WSC_EEOF:
    case WSC_ECONNRESET:
        fprintf(stderr, "wsc: handshake failed: %s\n", why);
        return CLI_EXIT_HANDSHAKE;
    default: /* resolve, connect, TLS missing, or a timeout in either phase */
        fprintf(stderr, "wsc: %s\n", why);
        return err == WSC_ETIMEDOUT ? CLI_EXIT_TIMEOUT : CLI_EXIT_CONNECT;
    }
}

static int session_failed(const struct client *cl, int err)
{
    const char *why = wsc_conn_detail(&cl->conn);
    if (wsc_error_is_protocol(err)) {
        fprintf(stderr, "wsc: protocol error: %s\n", why);
        return CLI_EXIT_PROTOCOL;
    }
    switch (err) {
    case WSC_ETIMEDOUT:
    case WSC_EPEER_TIMEOUT: /* keepalive: we sent close 1011; the peer sent nothing */
        fprintf(stderr, "wsc: %s\n", why);
        return CLI_EXIT_TIMEOUT;
    case WSC_EEOF:
    case WSC_ECONNRESET:
    case WSC_EIO:
        fprintf(stderr, "wsc: connection lost: %s\n", why);
        return CLI_EXIT_ABNORMAL;
    case WSC_ENOMEM:
        fputs("wsc: out of memory\n", stderr);
        return CLI_EXIT_ERROR;
    default:
        fprintf(stderr, "wsc: %s\n", why);
        return CLI_EXIT_ERROR;
    }
}

static bool is_loss(int err)
{
    return err == WSC_EEOF || err == WSC_ECONNRESET || err == WSC_EIO ||
           err == WSC_EPEER_TIMEOUT;
}

static int announce_attempt(void *user, int attempt, int delay_ms)
{
    (void)user;
    fprintf(stderr, "wsc: reconnecting in %.1f s (attempt %d of %d)\n", delay_ms / 1000.0,
            attempt, RECONNECT_ATTEMPTS);
    return 0;
}

/*
 * A loss with --reconnect: say what happened, then reconnect with backoff.
 * Returns 0 once connected again, or the exit code when it gave up.
 */
static int reconnect(struct client *cl)
{
    fprintf(stderr, "wsc: connection lost: %s\n", wsc_conn_detail(&cl->conn));
    struct wsc_reconnect policy;
    wsc_reconnect_init(&policy);
    policy.max_attempts = RECONNECT_ATTEMPTS;
    policy.before_attempt = announce_attempt;
    int rc = wsc_reconnect(&cl->conn, &policy);
    if (rc == 0) {
        fputs("wsc: reconnected\n", stderr);
        return 0;
    }
    return connect_failed(cl, rc);
}

/* Ends the session on @p err, unless --reconnect brings it back (CONTINUE). */
static int failed_or_reconnect(struct client *cl, int err)
{
    if (!cl->args->reconnect || !is_loss(err))
        return session_failed(cl, err);
    int rc = reconnect(cl);
    return rc == 0 ? CONTINUE : rc;
}

/* A failure on our side (stdin, stdout, memory): say so, then leave politely. */
static int local_failed(struct client *cl, const char *what, int err)
{
    fprintf(stderr, "wsc: %s: %s\n", what, strerror(err));
    (void)wsc_close(&cl->conn, WSC_CLOSE_GOING_AWAY, NULL, FINISH_TIMEOUT_MS);
    return CLI_EXIT_ERROR;
}

/* The exit code once the close handshake ended, @p err being how it ended. */
static int closed(const struct client *cl, int err)
{
    if (err != 0)
        return session_failed(cl, err); /* e.g. no close reply in time: 6 */
    uint16_t code = wsc_conn_close_code(&cl->conn);
    if (code == 0 || code == WSC_CLOSE_NORMAL || code == WSC_CLOSE_GOING_AWAY ||
        code == WSC_CLOSE_NO_STATUS)
        return CLI_EXIT_OK;
    size_t len;
    const char *reason = wsc_conn_close_reason(&cl->conn, &len);
    fprintf(stderr, "wsc: connection closed by server with code %u", (unsigned)code);
    if (reason != NULL && len > 0) {
        fputs(": ", stderr);
        put_escaped(reason, len);
    }
    fputc('\n', stderr);
    return CLI_EXIT_CLOSE_CODE;
}

static int close_and_wait(struct client *cl)
{
    return closed(cl, wsc_close(&cl->conn, WSC_CLOSE_NORMAL, NULL, CLOSE_TIMEOUT_MS));
}

static int peer_closed(struct client *cl)
{
    /* The handshake is complete once the server's close arrived; failing to send
     * our queued reply (the server may already have hung up) changes nothing. */
    (void)wsc_close(&cl->conn, 0, NULL, FINISH_TIMEOUT_MS);
    return closed(cl, 0);
}

static int print_message(struct client *cl, const struct wsc_message *m)
{
    /* Flushed per message so a pipe reader sees each one as it arrives. */
    if ((m->len > 0 && fwrite(m->data, 1, m->len, stdout) != m->len) ||
        putchar('\n') == EOF || fflush(stdout) != 0)
        return local_failed(cl, "cannot write to standard output", errno);
    cl->received++;
    return CONTINUE;
}

/*
 * Prints every message that is complete without waiting, then sends what
 * wsc_recv queued (pongs). *more says the socket need not be waited for: the
 * round stopped at DRAIN_MAX, or it made progress and input is still buffered.
 */
static int drain(struct client *cl, bool *more)
{
    struct wsc_conn *c = &cl->conn;
    size_t n = 0;
    *more = false;
    for (;;) {
        if (cl->args->has_count && cl->received >= cl->args->count)
            return close_and_wait(cl);
        if (n == DRAIN_MAX) {
            *more = true;
            break;
        }
        struct wsc_message m;
        int rc = wsc_recv(c, &m, 0);
        if (rc == WSC_ETIMEDOUT)
            break;
        if (rc == WSC_ECLOSED)
            return peer_closed(cl);
        if (rc != 0)
            return failed_or_reconnect(cl, rc);
        if ((rc = print_message(cl, &m)) != CONTINUE)
            return rc;
        n++;
    }
    int rc = wsc_flush(c, FLUSH_TIMEOUT_MS);
    /* A slow reader on the other side only delays the pong; the next round retries. */
    if (rc != 0 && rc != WSC_ETIMEDOUT)
        return session_failed(cl, rc);
    /* Without progress the buffered bytes are an unfinished message: wait for more. */
    if (n > 0 && wsc_conn_has_buffered_input(c))
        *more = true;
    return CONTINUE;
}

static int send_line(struct client *cl, const char *p, size_t len)
{
    cl->lines++;
    if (!cl->args->binary) {
        /* wsc_send trusts text to be UTF-8; catching it here gives a clear message
         * instead of the server failing the connection with 1007. */
        struct wsc_utf8 u;
        wsc_utf8_reset(&u);
        if (wsc_utf8_validate(&u, (const uint8_t *)p, len) != len ||
            !wsc_utf8_complete(&u)) {
            fprintf(stderr, "wsc: input line %llu is not valid UTF-8 (use --binary)\n",
                    (unsigned long long)cl->lines);
            (void)wsc_close(&cl->conn, WSC_CLOSE_GOING_AWAY, NULL, FINISH_TIMEOUT_MS);
            return CLI_EXIT_ERROR;
        }
    }
    uint8_t op = cl->args->binary ? WSC_OP_BINARY : WSC_OP_TEXT;
    int rc = wsc_send(&cl->conn, op, p, len, SEND_TIMEOUT_MS);
    if (rc != 0 && cl->args->reconnect && is_loss(rc)) {
        /* The line was not sent: send it on the new connection, never drop it. */
        int again = reconnect(cl);
        if (again != 0)
            return again;
        rc = wsc_send(&cl->conn, op, p, len, SEND_TIMEOUT_MS);
    }
    if (rc == WSC_ENOTCONN) {
        /* The server is closing: stop sending; the next drain reports how it ended. */
        cl->stdin_open = false;
        return CONTINUE;
    }
    return rc == 0 ? CONTINUE : session_failed(cl, rc);
}

static int stdin_ended(struct client *cl)
{
    if (cl->stdin_open && cl->line_len > 0) {
        int rc = send_line(cl, cl->line, cl->line_len); /* a last line without '\n' */
        if (rc != CONTINUE)
            return rc;
    }
    cl->line_len = 0;
    cl->stdin_open = false;
    /* With -n the count decides: "echo hi | wsc -n 1 URL" must wait for the answer. */
    if (cl->args->has_count)
        return CONTINUE;
    /* Start the close but keep printing: replies to the last lines may still be on
     * their way, and they come before the server's close. */
    int rc = wsc_close_start(&cl->conn, WSC_CLOSE_NORMAL, NULL, CLOSE_TIMEOUT_MS);
    if (rc != 0)
        return session_failed(cl, rc);
    cl->close_deadline = wsc_platform_now_ms() + CLOSE_TIMEOUT_MS;
    return CONTINUE;
}

/* Poll timeout: none while input is buffered, bounded while our close is pending. */
static int poll_timeout(const struct client *cl, bool more)
{
    if (more)
        return 0;
    /* The keepalive timer runs inside wsc_recv(), which the next drain calls. */
    int t = wsc_conn_timer_ms(&cl->conn);
    if (cl->close_deadline != 0) {
        uint64_t now = wsc_platform_now_ms();
        int c = now >= cl->close_deadline ? 0 : (int)(cl->close_deadline - now);
        t = t < 0 || c < t ? c : t;
    }
    return t;
}

/* Reads what stdin has (poll said it won't block) and sends each complete line. */
static int read_stdin(struct client *cl)
{
    if (cl->line_cap - cl->line_len < READ_CHUNK) {
        size_t cap = cl->line_cap > 0 ? cl->line_cap * 2 : 2 * READ_CHUNK;
        char *grown = realloc(cl->line, cap);
        if (grown == NULL)
            return local_failed(cl, "cannot buffer input line", ENOMEM);
        cl->line = grown;
        cl->line_cap = cap;
    }
    ssize_t got = read(STDIN_FILENO, cl->line + cl->line_len, READ_CHUNK);
    if (got < 0)
        return errno == EINTR || errno == EAGAIN
                   ? CONTINUE
                   : local_failed(cl, "cannot read standard input", errno);
    if (got == 0)
        return stdin_ended(cl);

    /* The bytes kept from earlier hold no newline; only the new ones need a look. */
    size_t start = 0, i = cl->line_len;
    cl->line_len += (size_t)got;
    for (; i < cl->line_len && cl->stdin_open; i++) {
        if (cl->line[i] != '\n')
            continue;
        int rc = send_line(cl, cl->line + start, i - start);
        if (rc != CONTINUE)
            return rc;
        start = i + 1;
    }
    memmove(cl->line, cl->line + start, cl->line_len - start);
    cl->line_len -= start;
    return CONTINUE;
}

static int run(struct client *cl)
{
    for (;;) {
        bool more;
        int rc = drain(cl, &more);
        if (rc != CONTINUE)
            return rc;
        int fd = wsc_conn_fd(&cl->conn);
        if (fd < 0) /* not expected while open; never poll nothing forever */
            return session_failed(cl, WSC_ENOTCONN);
        struct pollfd fds[2] = {
            {.fd = fd, .events = POLLIN, .revents = 0},
            {.fd = STDIN_FILENO, .events = POLLIN, .revents = 0},
        };
        int ready = poll(fds, cl->stdin_open ? 2 : 1, poll_timeout(cl, more));
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            return local_failed(cl, "poll", errno);
        }
        if (ready == 0 && cl->close_deadline && wsc_platform_now_ms() >= cl->close_deadline) {
            fputs("wsc: timed out waiting for the server's close frame\n", stderr);
            return CLI_EXIT_TIMEOUT;
        }
        /* POLLHUP at the end of a pipe is read as EOF; POLLNVAL: stdin is closed. */
        if (cl->stdin_open && fds[1].revents != 0) {
            rc = (fds[1].revents & POLLNVAL) ? stdin_ended(cl) : read_stdin(cl);
            if (rc != CONTINUE)
                return rc;
        }
        /* The socket needs no check here: the next drain reads whatever came. */
    }
}

static void print_stats(const struct wsc_conn *c)
{
    struct wsc_stats st;
    wsc_conn_stats(c, &st);
    fprintf(stderr,
            "wsc: stats: messages in %llu out %llu; payload bytes in %llu out %llu; "
            "wire bytes in %llu out %llu; pings in %llu out %llu; pongs in %llu out %llu; "
            "reconnects %u",
            (unsigned long long)st.messages_in, (unsigned long long)st.messages_out,
            (unsigned long long)st.payload_in, (unsigned long long)st.payload_out,
            (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out,
            (unsigned long long)st.pings_in, (unsigned long long)st.pings_out,
            (unsigned long long)st.pongs_in, (unsigned long long)st.pongs_out,
            (unsigned)st.reconnects);
    if (st.last_rtt_us >= 0)
        fprintf(stderr, "; last rtt %.3f ms", (double)st.last_rtt_us / 1000.0);
    if (st.compressed_in || st.compressed_out)
        fprintf(
            stderr,
            "; compressed payload bytes in %llu (%llu inflated) out %llu (%llu deflated)",
            (unsigned long long)st.compressed_in, (unsigned long long)st.uncompressed_in,
            (unsigned long long)st.compressed_out, (unsigned long long)st.uncompressed_out);
    fputc('\n', stderr);
}

/* -v: what the compression negotiation gave, after the response head's trace. */
static void trace_extension(const struct wsc_conn *c)
{
    const struct wsc_pmd_params *p = wsc_conn_deflate(c);
    if (p == NULL) {
        fputs("* compression: none (the server declined permessage-deflate)\n", stderr);
        return;
    }
    fprintf(stderr,
            "* compression: permessage-deflate; server_max_window_bits=%u%s; "
            "client_max_window_bits=%u%s\n",
            p->server_max_window_bits,
            p->server_no_context_takeover ? "; server_no_context_takeover" : "",
            p->client_max_window_bits,
            p->client_no_context_takeover ? "; client_no_context_takeover" : "");
}

static int connect_and_run(const struct cli_args *args)
{
    /* A vanished reader of stdout must give EPIPE to report, not kill us silently. */
    signal(SIGPIPE, SIG_IGN);

    struct wsc_options opt;
    wsc_options_init(&opt);
    opt.connect_timeout_ms = args->connect_timeout_ms;
    opt.max_message = args->max_message;
    opt.origin = args->origin;
    opt.protocols = args->protocols;
    opt.protocol_count = args->protocol_count;
    opt.headers = args->headers;
    opt.header_count = args->header_count;
    if (args->verbose)
        opt.trace = trace;
    opt.auth_bearer = args->auth_bearer;
    opt.proxy = args->proxy;
    opt.tls = args->tls;
    if (args->tls.insecure && args->url.tls)
        fputs("wsc: warning: --insecure: the server's certificate and host name are not "
              "verified\n",
              stderr);
    opt.proxy_from_env = true; /* like curl; no_proxy applies to --proxy too */
    opt.max_redirects = args->follow_redirects ? CLI_MAX_REDIRECTS : 0;
    opt.allow_tls_downgrade = args->allow_downgrade;
    opt.ping_interval_ms = args->ping_interval_ms;
    opt.pong_timeout_ms = args->pong_timeout_ms;
    opt.compress = args->compress;

    static struct client cl; /* the connection struct is large; keep it off the stack */
    memset(&cl, 0, sizeof(cl));
    cl.args = args;
    cl.stdin_open = !args->no_stdin;
    int rc = wsc_connect(&cl.conn, args->url_text, &opt);
    if (rc == 0 && args->verbose && args->compress)
        trace_extension(&cl.conn);
    rc = rc == 0 ? run(&cl) : connect_failed(&cl, rc);
    if (args->stats)
        print_stats(&cl.conn);
    wsc_conn_free(&cl.conn);
    free(cl.line);
    return rc;
}

/*
 * With descriptor 0, 1 or 2 closed, the socket would get that number and our
 * own output would go to the server. Park /dev/null there instead: read-only,
 * it reads as empty input and makes writes to a closed stdout fail as before.
 */
static bool reserve_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        int got = open("/dev/null", O_RDONLY); /* the lowest free number: fd */
        if (got != fd) {
            if (got >= 0)
                close(got);
            return false;
        }
    }
    return true;
}

int main(int argc, char **argv)
{
    if (!reserve_std_fds()) {
        fprintf(stderr, "wsc: cannot open /dev/null: %s\n", strerror(errno));
        return CLI_EXIT_ERROR;
    }
    struct cli_args args;
    int rc = cli_args_parse(argc, argv, &args);
    if (rc == CLI_ARGS_RUN)
        rc = connect_and_run(&args);
    cli_args_free(&args);
    return rc;
}
