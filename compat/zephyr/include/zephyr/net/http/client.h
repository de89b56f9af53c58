/*
 * <zephyr/net/http/client.h>: Zephyr's HTTP client API, implemented by wsc.
 *
 * http_client_req() writes the request on a connected socket, then reads the
 * response with wsc's sans-I/O head parser and body decoder: any method,
 * Content-Length, chunked (extensions and trailers skipped) and close-delimited
 * bodies, interim 1xx responses skipped. Bytes after the end of the response
 * (after a 101 Switching Protocols: the new protocol's first bytes) are never
 * dropped: they are moved to the start of recv_buf and counted in
 * http_request.data_len. See docs/zephyr.md for where this differs from Zephyr.
 */
#ifndef ZEPHYR_INCLUDE_NET_HTTP_CLIENT_H_
#define ZEPHYR_INCLUDE_NET_HTTP_CLIENT_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zephyr/kernel.h>
#include <zephyr/net/http/parser.h>
#include <zephyr/net/net_ip.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef HTTP_CRLF
#define HTTP_CRLF "\r\n"
#endif

#ifndef HTTP_STATUS_STR_SIZE
#define HTTP_STATUS_STR_SIZE 32
#endif

/** Whether a response callback is the last one for this request. */
enum http_final_call {
    HTTP_DATA_MORE = 0,  /* recv_buf is full; more of the response follows */
    HTTP_DATA_FINAL = 1, /* the response is complete */
};

struct http_request;
struct http_response;

/**
 * Sends (part of) the request body on @p sock itself. Returns the number of
 * bytes it sent (>= 0), or a negative errno that http_client_req() returns.
 */
typedef int (*http_payload_cb_t)(int sock, struct http_request *req, void *user_data);

/**
 * Sends extra header lines ("Name: value\r\n") on @p sock itself, after Host.
 * Returns the number of bytes sent (>= 0) or a negative errno.
 */
typedef int (*http_header_cb_t)(int sock, struct http_request *req, void *user_data);

/**
 * Receives the response as it arrives: with HTTP_DATA_MORE each time recv_buf
 * is full, then once with HTTP_DATA_FINAL. @p rsp and the buffer contents are
 * valid during the call only. Returning a negative errno aborts the request
 * and http_client_req() returns it.
 */
typedef int (*http_response_cb_t)(struct http_response *rsp, enum http_final_call final_data,
                                  void *user_data);

/** The response, as the response callback sees it. */
struct http_response {
    /** The request's http_cb taps. */
    const struct http_parser_settings *http_cb;

    /** The request's response callback. */
    http_response_cb_t cb;

    /**
     * The body bytes in recv_buf for this callback (chunk framing already
     * removed): body_frag_len bytes at body_frag_start, or NULL and 0 when this
     * part of the response holds no body (the head only, for instance).
     */
    uint8_t *body_frag_start;
    size_t body_frag_len;

    /** The application's receive buffer and its size. */
    uint8_t *recv_buf;
    size_t recv_buf_len;

    /**
     * Bytes of recv_buf used for this callback: head bytes (in the first
     * ones) followed by body bytes. 0 for a null response (the server closed
     * without answering).
     */
    size_t data_len;

    /** Content-Length, or 0 without one. */
    size_t content_length;

    /** Body bytes delivered so far, this callback's included. */
    size_t processed;

    /** The reason phrase ("OK"), NUL-terminated, possibly truncated. */
    char http_status[HTTP_STATUS_STR_SIZE];

    /** The status code (200), or 0 for a null response. */
    uint16_t http_status_code;

    /** Content-Range, valid when cr_present is set. */
    struct http_content_range content_range;

    unsigned int cl_present : 1;       /* a Content-Length field was present */
    unsigned int body_found : 1;       /* body bytes were received */
    unsigned int message_complete : 1; /* the whole response has been received */
    unsigned int cr_present : 1;       /* a Content-Range field was present */
};

/** State http_client_req() keeps in the request; the application leaves it alone. */
struct http_client_internal_data {
    /** Passed to the http_cb taps; CONTAINER_OF() it to reach the request. */
    struct http_parser parser;

    /** Not used by wsc; kept so that code touching it compiles. */
    struct http_parser_settings parser_settings;

    /** The response handed to the callback. */
    struct http_response response;

    /** The user_data of http_client_req(). */
    void *user_data;

    /** The socket of the request. */
    int sock;
};

/** An HTTP request. The application fills everything after `internal`. */
struct http_request {
    struct http_client_internal_data internal;

    /** GET, HEAD, POST, ... */
    enum http_method method;

    /** Required: receives the response. */
    http_response_cb_t response;

    /** Optional taps into the response parsing (see parser.h). */
    const struct http_parser_settings *http_cb;

    /** Required: where the response is received, and its size. */
    uint8_t *recv_buf;
    size_t recv_buf_len;

    /**
     * Set by http_client_req(): bytes received after the end of the response,
     * moved to the start of recv_buf. After a 101 Switching Protocols these
     * are the new protocol's first bytes; otherwise normally 0.
     */
    size_t data_len;

    /** Request target, for example "/index.html". */
    const char *url;

    /** "HTTP/1.1". */
    const char *protocol;

    /**
     * NULL-terminated list of complete header lines, each "Name: value\r\n",
     * sent as given after the optional headers.
     */
    const char *const *header_fields;

    /** Content-Type value, or NULL. */
    const char *content_type_value;

    /** Host header value (and port, below, if set). */
    const char *host;

    /** Port appended to Host as ":port", or NULL. */
    const char *port;

    /** Sends the body itself, instead of payload. */
    http_payload_cb_t payload_cb;

    /** Body, or NULL. */
    const char *payload;

    /**
     * Body length, sent as Content-Length. 0 sends no Content-Length (and
     * strlen(payload) bytes if payload is set): for chunked uploads through
     * payload_cb with "Transfer-Encoding: chunked" in header_fields.
     */
    size_t payload_len;

    /** Sends extra header lines itself, instead of optional_headers. */
    http_header_cb_t optional_headers_cb;

    /** NULL-terminated list of complete header lines ("Name: value\r\n"). */
    const char **optional_headers;
};

/**
 * Sends @p req on @p sock, a connected TCP socket, and receives the response
 * through req->response, waiting at most @p timeout ms overall
 * (SYS_FOREVER_MS: no limit). The socket stays open and is the caller's.
 *
 * @return the number of bytes sent (>= 0) once the response is complete (or
 *         the server closed without answering: a null response, status 0);
 *         -EINVAL for a bad argument or a header line that is not "...\r\n"
 *         without bare CR or LF; -ETIMEDOUT; -ECONNRESET when the connection
 *         ended inside the response; -EPROTO for a malformed response;
 *         -EMSGSIZE for a head over CONFIG_HTTP_CLIENT_MAX_HEAD bytes or a
 *         chunk line or trailer over its limit; a callback's negative value;
 *         or another -errno from the socket.
 */
int http_client_req(int sock, struct http_request *req, int32_t timeout, void *user_data);

#ifdef __cplusplus
}
#endif
#endif /* ZEPHYR_INCLUDE_NET_HTTP_CLIENT_H_ */
