/* Command-line options of the wsc tool and its exit codes. */
#ifndef WSC_CLI_ARGS_H
#define WSC_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsc/wsc.h"

/* Exit codes, documented in --help; scripts depend on them, so never renumber. */
enum cli_exit {
    CLI_EXIT_OK = 0,         /* the connection closed normally */
    CLI_EXIT_ERROR = 1,      /* anything else: local I/O error, out of memory */
    CLI_EXIT_USAGE = 2,      /* bad option, header or URL */
    CLI_EXIT_CONNECT = 3,    /* resolve/connect failed, or TLS not in this build */
    CLI_EXIT_HANDSHAKE = 4,  /* the opening handshake failed */
    CLI_EXIT_PROTOCOL = 5,   /* the server violated RFC 6455 */
    CLI_EXIT_TIMEOUT = 6,    /* connect, handshake or close reply took too long */
    CLI_EXIT_ABNORMAL = 7,   /* the connection was lost without a close frame */
    CLI_EXIT_CLOSE_CODE = 8, /* the server closed with an error code */
};

/* cli_args_parse() result meaning "go on and connect". */
#define CLI_ARGS_RUN (-1)

struct cli_args {
    struct wsc_url url;     /* parsed from the URL argument */
    const char *url_text;   /* the URL argument as given */
    bool binary;            /* send stdin lines as binary messages */
    bool no_stdin;          /* listen only */
    bool verbose;           /* trace handshake and control frames */
    bool has_count;         /* -n given */
    uint64_t count;         /* close after this many data messages */
    int connect_timeout_ms;
    uint64_t max_message;
    const char *origin;
    const char **protocols; /* point into argv */
    size_t protocol_count;
    struct wsc_header *headers; /* point into argv */
    size_t header_count;
    int ping_interval_ms;   /* 0 = no keepalive */
    int pong_timeout_ms;    /* 0 = the library default */
    bool stats;             /* print counters on stderr at exit */
    bool reconnect;         /* reconnect after an abnormal loss */
    const char *auth_bearer;
    const char *proxy;      /* --proxy; NULL = from the environment */
    struct wsc_tls_options tls; /* --cacert, --capath, --cert, --key, --insecure */
    bool follow_redirects;
    bool allow_downgrade;
    bool compress;          /* --compress: offer permessage-deflate */
};

/**
 * Parses argv into @p a. Returns CLI_ARGS_RUN to go on, or an exit code after
 * printing help/version (CLI_EXIT_OK), a one-line usage error (CLI_EXIT_USAGE)
 * or an allocation failure (CLI_EXIT_ERROR). Call cli_args_free() in every case.
 * argv must outlive @p a: headers and protocols point into it.
 */
int cli_args_parse(int argc, char **argv, struct cli_args *a);

void cli_args_free(struct cli_args *a);

#endif
