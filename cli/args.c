/* Option parsing for the wsc tool: every usage error is one line on stderr. */
#include "args.h"

#include "wsc/wsc_deflate.h"
#include "wsc/wsc_proxy.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 10000

/* Long-only options get values outside the character range. */
enum {
    OPT_ORIGIN = 256,
    OPT_CONNECT_TIMEOUT,
    OPT_MAX_MESSAGE,
    OPT_NO_STDIN,
    OPT_VERSION,
    OPT_PING_INTERVAL,
    OPT_PONG_TIMEOUT,
    OPT_STATS,
    OPT_RECONNECT,
    OPT_AUTH_BEARER,
    OPT_LOCATION,
    OPT_ALLOW_DOWNGRADE,
    OPT_PROXY,
    OPT_COMPRESS,
    OPT_CACERT,
    OPT_CAPATH,
    OPT_CERT,
    OPT_KEY,
    OPT_INSECURE,
};

static const char short_opts[] = ":bn:H:p:vh";

static const struct option long_opts[] = {
    {"binary", no_argument, NULL, 'b'},
    {"count", required_argument, NULL, 'n'},
    {"header", required_argument, NULL, 'H'},
    {"protocol", required_argument, NULL, 'p'},
    {"origin", required_argument, NULL, OPT_ORIGIN},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
    {"no-stdin", no_argument, NULL, OPT_NO_STDIN},
    {"ping-interval", required_argument, NULL, OPT_PING_INTERVAL},
    {"pong-timeout", required_argument, NULL, OPT_PONG_TIMEOUT},
    {"stats", no_argument, NULL, OPT_STATS},
    {"reconnect", no_argument, NULL, OPT_RECONNECT},
    {"auth-bearer", required_argument, NULL, OPT_AUTH_BEARER},
    {"location", no_argument, NULL, OPT_LOCATION},
    {"allow-downgrade", no_argument, NULL, OPT_ALLOW_DOWNGRADE},
    {"proxy", required_argument, NULL, OPT_PROXY},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"capath", required_argument, NULL, OPT_CAPATH},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"compress", no_argument, NULL, OPT_COMPRESS},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static const char usage_text[] =
    "Usage: wsc [options] URL\n"
    "\n"
    "Connects to the WebSocket server at URL (ws://host[:port][/path][?query]),\n"
    "sends each line read from standard input as one message (without its\n"
    "newline) and prints each message received on standard output, followed by\n"
    "a newline. Pings are answered automatically. At end of input wsc closes\n"
    "the connection with code 1000 and waits for the server's reply.\n"
    "\n"
    "Options:\n"
    "  -b, --binary               send input lines as binary messages, not text\n"
    "  -n, --count N              close after receiving N messages (0: right after\n"
    "                             the handshake); end of input then only stops\n"
    "                             sending and does not close\n"
    "      --no-stdin             do not read standard input (listen only)\n"
    "  -H, --header 'NAME: VALUE' add a header to the request (repeatable)\n"
    "  -p, --protocol NAME        offer a subprotocol (repeatable)\n"
    "      --origin ORIGIN        send this Origin header\n"
    "      --connect-timeout SECONDS\n"
    "                             limit for connecting and the handshake\n"
    "                             (fractions allowed; default 10)\n"
    "      --max-message BYTES    largest message accepted; suffix k or m for\n"
    "                             KiB or MiB (default 16m); for a compressed\n"
    "                             message, its size once decompressed\n"
    "      --compress             offer permessage-deflate compression (RFC 7692);\n"
    "                             used only if the server accepts (-v shows it)\n"
    "      --auth-bearer TOKEN    send 'Authorization: Bearer TOKEN' (a user:password\n"
    "                             in the URL sends Basic authorization instead)\n"
    "      --cacert FILE          wss://: trust the CAs in this PEM file instead of\n"
    "                             the system store\n"
    "      --capath DIR           wss://: a directory of CA certificates\n"
    "      --cert FILE            wss://: client certificate (PEM) for mutual TLS\n"
    "      --key FILE             its private key (PEM; default: in --cert)\n"
    "      --insecure             wss://: do NOT verify the server's certificate or\n"
    "                             host name (prints a warning)\n"
    "      --proxy URL            HTTP CONNECT proxy http://[user:pass@]host[:port]\n"
    "                             (default port 1080); \"\" for none. Without it,\n"
    "                             http_proxy (ws://), https_proxy (wss://), all_proxy\n"
    "                             and no_proxy are read as curl reads them\n"
    "      --location             follow 301/302/307/308 redirects (at most 5)\n"
    "      --allow-downgrade      let a redirect lead from wss:// to ws://\n"
    "      --ping-interval SECONDS\n"
    "                             keepalive: ping after this long without input\n"
    "      --pong-timeout SECONDS fail (exit 6, close 1011) if nothing arrives this\n"
    "                             long after a keepalive ping (default 10)\n"
    "      --stats                print message, byte, ping and round-trip counters\n"
    "                             on standard error at exit\n"
    "      --reconnect            after the connection is lost without a close frame\n"
    "                             (or the peer stops responding), reconnect with\n"
    "                             exponential backoff (0.5 s doubling to 30 s, up to\n"
    "                             10 attempts); stdin is not read while disconnected\n"
    "  -v, --verbose              show the handshake and control frames on\n"
    "                             standard error ('> ' sent, '< ' received) and,\n"
    "                             with --compress, the agreed compression ('* ')\n"
    "  -h, --help                 show this help and exit\n"
    "      --version              show the version and exit\n"
    "\n";

/* In two parts: C11 promises only 4095-byte string literals. */
static const char usage_exit_text[] =
    "Exit status:\n"
    "  0  the connection was closed normally\n"
    "  1  other error (standard input/output error, out of memory, ...)\n"
    "  2  usage error (bad option, header or URL)\n"
    "  3  cannot connect: name resolution, TCP connect, the proxy, or TLS (e.g. a\n"
    "     certificate that does not verify; wss:// in a build without TLS)\n"
    "  4  the opening handshake failed (not 101, invalid response, bad header)\n"
    "  5  the server violated the WebSocket protocol\n"
    "  6  timeout (connect, handshake, waiting for the server's close reply) or\n"
    "     the peer stopped responding to keepalive pings\n"
    "  7  connection lost without a close frame\n"
    "  8  the server closed with an error code (not 1000, 1001 or no code)\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("wsc: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see wsc --help)\n", stderr);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

/* RFC 7230 3.2.6 tchar: header names and subprotocols must be tokens. */
static bool is_token(const char *s, size_t len)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9');
        if (!alnum && (ch == '\0' || strchr(extra, ch) == NULL))
            return false;
    }
    return true;
}

/* Control characters other than tab would break the request head (CR, LF) or
 * never be valid in a field value. */
static bool has_ctl(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return true;
    }
    return false;
}

static bool is_blank(char ch) { return ch == ' ' || ch == '\t'; }

/* "Name: value": split at the first ':' and trim blanks around both parts. */
static bool parse_header(const char *arg, struct wsc_header *h)
{
    const char *colon = strchr(arg, ':');
    if (colon == NULL)
        return false;
    const char *name = arg, *name_end = colon;
    while (name < name_end && is_blank(*name))
        name++;
    while (name_end > name && is_blank(name_end[-1]))
        name_end--;
    const char *value = colon + 1, *value_end = colon + strlen(colon);
    while (value < value_end && is_blank(*value))
        value++;
    while (value_end > value && is_blank(value_end[-1]))
        value_end--;
    h->name = name;
    h->name_len = (size_t)(name_end - name);
    h->value = value;
    h->value_len = (size_t)(value_end - value);
    return is_token(h->name, h->name_len) && !has_ctl(h->value, h->value_len);
}

/* Plain decimal digits only: strtoull alone would accept "-1", "+5" and " 7". */
static bool parse_uint(const char *s, uint64_t *out, const char **end)
{
    if (*s < '0' || *s > '9')
        return false;
    char *e;
    errno = 0;
    unsigned long long v = strtoull(s, &e, 10);
    if (errno != 0)
        return false;
    *out = v;
    *end = e;
    return true;
}

static bool parse_count(const char *s, uint64_t *out)
{
    const char *end;
    return parse_uint(s, out, &end) && *end == '\0';
}

static bool parse_size(const char *s, uint64_t *out)
{
    uint64_t v, mult = 1;
    const char *end;
    if (!parse_uint(s, &v, &end))
        return false;
    if (*end == 'k' || *end == 'K')
        mult = 1024;
    else if (*end == 'm' || *end == 'M')
        mult = 1024 * 1024;
    if (mult != 1)
        end++;
    if (*end != '\0' || v == 0 || v > UINT64_MAX / mult)
        return false;
    *out = v * mult;
    return true;
}

/* Seconds, fractions allowed, to milliseconds; at least 1 ms, at most INT_MAX. */
static bool parse_seconds(const char *s, int *out_ms)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* The comparison also rejects NaN; the upper bound keeps ms within an int. */
    if (errno != 0 || end == s || *end != '\0' || !(v > 0.0 && v <= 2147483.0))
        return false;
    int ms = (int)(v * 1000.0 + 0.5);
    *out_ms = ms > 0 ? ms : 1;
    return true;
}

/* getopt_long stays silent (leading ':'); this names the offending option. */
static int bad_option(int ch, char **argv)
{
    const char *arg = argv[optind - 1];
    if (ch == ':')
        return usage_error("option '%s' needs an argument", arg);
    if (optopt > 0 && optopt < 256 && strncmp(arg, "--", 2) != 0) {
        char text[3] = {'-', (char)optopt, '\0'};
        return usage_error("unknown option '%s'", text);
    }
    return usage_error("unknown or malformed option '%s'", arg);
}

static int handle_option(int ch, const char *arg, struct cli_args *a)
{
    switch (ch) {
    case 'b':
        a->binary = true;
        return CLI_ARGS_RUN;
    case 'n':
        a->has_count = true;
        if (!parse_count(arg, &a->count))
            return usage_error("invalid count '%s': expected a whole number", arg);
        return CLI_ARGS_RUN;
    case 'H':
        if (has_ctl(arg, strlen(arg)))
            return usage_error("header contains a control character (CR, LF and NUL are "
                               "refused to prevent header injection)");
        if (!parse_header(arg, &a->headers[a->header_count]))
            return usage_error("invalid header '%s': expected 'Name: value'", arg);
        a->header_count++;
        return CLI_ARGS_RUN;
    case 'p':
        if (!is_token(arg, strlen(arg)))
            return usage_error("invalid subprotocol name '%s'", arg);
        a->protocols[a->protocol_count++] = arg;
        return CLI_ARGS_RUN;
    case OPT_ORIGIN:
        if (has_ctl(arg, strlen(arg)))
            return usage_error("invalid origin '%s'", arg);
        a->origin = arg;
        return CLI_ARGS_RUN;
    case OPT_CONNECT_TIMEOUT:
        if (!parse_seconds(arg, &a->connect_timeout_ms))
            return usage_error("invalid timeout '%s': expected seconds > 0", arg);
        return CLI_ARGS_RUN;
    case OPT_MAX_MESSAGE:
        if (!parse_size(arg, &a->max_message))
            return usage_error("invalid size '%s': expected bytes, e.g. 64k or 1m", arg);
        return CLI_ARGS_RUN;
    case OPT_NO_STDIN:
        a->no_stdin = true;
        return CLI_ARGS_RUN;
    case OPT_PING_INTERVAL:
        if (!parse_seconds(arg, &a->ping_interval_ms))
            return usage_error("invalid interval '%s': expected seconds > 0", arg);
        return CLI_ARGS_RUN;
    case OPT_PONG_TIMEOUT:
        if (!parse_seconds(arg, &a->pong_timeout_ms))
            return usage_error("invalid timeout '%s': expected seconds > 0", arg);
        return CLI_ARGS_RUN;
    case OPT_STATS:
        a->stats = true;
        return CLI_ARGS_RUN;
    case OPT_RECONNECT:
        a->reconnect = true;
        return CLI_ARGS_RUN;
    case OPT_AUTH_BEARER:
        if (has_ctl(arg, strlen(arg)))
            return usage_error("the bearer token contains a control character");
        a->auth_bearer = arg;
        return CLI_ARGS_RUN;
    case OPT_PROXY: {
        struct wsc_proxy p;
        const char *why = NULL;
        if (arg[0] && wsc_proxy_parse(arg, &p, &why) != 0)
            return usage_error("invalid --proxy: %s", why ? why : "malformed");
        a->proxy = arg;
        return CLI_ARGS_RUN;
    }
    case OPT_CACERT:
        a->tls.ca_file = arg;
        return CLI_ARGS_RUN;
    case OPT_CAPATH:
        a->tls.ca_path = arg;
        return CLI_ARGS_RUN;
    case OPT_CERT:
        a->tls.cert_file = arg;
        return CLI_ARGS_RUN;
    case OPT_KEY:
        a->tls.key_file = arg;
        return CLI_ARGS_RUN;
    case OPT_INSECURE:
        a->tls.insecure = true;
        return CLI_ARGS_RUN;
    case OPT_LOCATION:
        a->follow_redirects = true;
        return CLI_ARGS_RUN;
    case OPT_COMPRESS:
        if (!wsc_deflate_available())
            return usage_error("--compress is not available: wsc was built without zlib");
        a->compress = true;
        return CLI_ARGS_RUN;
    case OPT_ALLOW_DOWNGRADE:
        a->allow_downgrade = true;
        return CLI_ARGS_RUN;
    case 'v':
        a->verbose = true;
        return CLI_ARGS_RUN;
    case 'h':
        fputs(usage_text, stdout);
        fputs(usage_exit_text, stdout);
        return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    case OPT_VERSION:
        puts("wsc " WSC_VERSION);
        return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    default:
        return CLI_EXIT_USAGE; /* not reached: bad_option() handles the rest */
    }
}

int cli_args_parse(int argc, char **argv, struct cli_args *a)
{
    memset(a, 0, sizeof(*a));
    a->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    a->max_message = WSC_MAX_MESSAGE_DEFAULT;
    /* At most one header or protocol per argument, so argc entries always fit. */
    size_t slots = argc > 0 ? (size_t)argc : 1;
    a->headers = calloc(slots, sizeof(*a->headers));
    a->protocols = calloc(slots, sizeof(*a->protocols));
    if (a->headers == NULL || a->protocols == NULL) {
        fputs("wsc: out of memory\n", stderr);
        return CLI_EXIT_ERROR;
    }

    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
        int rc = (ch == '?' || ch == ':') ? bad_option(ch, argv)
                                          : handle_option(ch, optarg, a);
        if (rc != CLI_ARGS_RUN)
            return rc;
    }

    if (optind >= argc)
        return usage_error("missing URL");
    if (optind + 1 < argc)
        return usage_error("unexpected argument '%s'", argv[optind + 1]);
    a->url_text = argv[optind];
    if (wsc_url_parse(a->url_text, &a->url) != 0) {
        fprintf(stderr, "wsc: invalid URL '%s': %s (see wsc --help)\n", a->url_text,
                a->url.error != NULL ? a->url.error : "not a ws:// or wss:// URL");
        return CLI_EXIT_USAGE;
    }
    return CLI_ARGS_RUN;
}

void cli_args_free(struct cli_args *a)
{
    free(a->headers);
    free(a->protocols);
    a->headers = NULL;
    a->protocols = NULL;
}
