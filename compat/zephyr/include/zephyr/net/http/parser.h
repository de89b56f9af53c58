/*
 * <zephyr/net/http/parser.h> for the wsc compatibility layer: the types that
 * the HTTP client and websocket APIs expose (struct http_parser_settings taps
 * and the struct http_parser they receive), not a parser. Responses are
 * parsed by wsc's own sans-I/O head parser and body decoder, and the taps are
 * called with the same meanings:
 *
 *   on_message_begin     a response head starts
 *   on_status            the reason phrase ("OK"); parser->status_code is set
 *   on_header_field      a header name      } once per header field, in order,
 *   on_header_value      its value, trimmed } each as one whole span
 *   on_headers_complete  the head is complete; parser->content_length is set
 *   on_chunk_header      a chunk starts; parser->content_length = its size
 *   on_body              decoded body bytes (chunk framing removed)
 *   on_chunk_complete    a chunk ended
 *   on_message_complete  the response is complete
 *
 * Pointers given to a tap are valid only during the call. Tap return values
 * are ignored, as Zephyr's HTTP client ignores them.
 */
#ifndef ZEPHYR_INCLUDE_NET_HTTP_PARSER_H_
#define ZEPHYR_INCLUDE_NET_HTTP_PARSER_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zephyr/net/http/method.h>

#ifdef __cplusplus
extern "C" {
#endif

struct http_parser;

typedef int (*http_data_cb)(struct http_parser *parser, const char *at, size_t length);
typedef int (*http_cb)(struct http_parser *parser);

enum http_parser_type { HTTP_REQUEST, HTTP_RESPONSE, HTTP_BOTH };

/* Values of http_parser.flags. */
enum flags {
    F_CHUNKED = 1 << 0,
    F_CONNECTION_KEEP_ALIVE = 1 << 1,
    F_CONNECTION_CLOSE = 1 << 2,
    F_CONNECTION_UPGRADE = 1 << 3,
    F_TRAILING = 1 << 4,
    F_UPGRADE = 1 << 5,
    F_SKIPBODY = 1 << 6,
    F_CONTENTLENGTH = 1 << 7,
};

/** Content-Range: bytes start-end/total (total 0 when given as '*'). */
struct http_content_range {
    uint64_t start;
    uint64_t end;
    uint64_t total;
};

/** What a tap can read about the response being parsed. */
struct http_parser {
    unsigned int type;       /* enum http_parser_type: HTTP_RESPONSE */
    unsigned int flags;      /* enum flags */
    uint64_t content_length; /* Content-Length; the chunk size in on_chunk_header */
    bool content_range_present;
    struct http_content_range content_range;
    unsigned short http_major;
    unsigned short http_minor;
    unsigned int status_code;
    unsigned int method;     /* the request's enum http_method */
    unsigned int http_errno; /* always 0: errors are returned by the calls */
    unsigned int upgrade;    /* 1 after a 101 Switching Protocols */
    void *data;              /* the application's, untouched */
};

struct http_parser_settings {
    http_cb on_message_begin;
    http_data_cb on_url;
    http_data_cb on_status;
    http_data_cb on_header_field;
    http_data_cb on_header_value;
    http_cb on_headers_complete;
    http_data_cb on_body;
    http_cb on_message_complete;
    http_cb on_chunk_header;
    http_cb on_chunk_complete;
};

/** Clears @p parser and sets its type (data is kept, as in Zephyr). */
void http_parser_init(struct http_parser *parser, enum http_parser_type type);

/** Sets every tap in @p settings to NULL. */
void http_parser_settings_init(struct http_parser_settings *settings);

/** The method's name ("GET"), or "<unknown>". */
const char *http_method_str(enum http_method m);

#ifdef __cplusplus
}
#endif
#endif /* ZEPHYR_INCLUDE_NET_HTTP_PARSER_H_ */
