/*
 * <zephyr/net/websocket.h>: Zephyr's WebSocket client API, implemented by wsc.
 *
 * Code written for Zephyr's client compiles unchanged against this header and
 * behaves the same, except that nothing is lost: frames that arrive in the
 * same TCP segment as the 101 response (Zephyr issue #89193) are kept in the
 * connection's input buffer and returned by websocket_recv_msg() before the
 * socket is read again. Where Zephyr's client is lenient, wsc is strict: the
 * handshake is fully checked, masked server frames and RSV bits fail the
 * connection with close 1002, pings are answered automatically, and a close
 * from the server is answered with its code. docs/zephyr.md lists every
 * difference.
 *
 * Build-time settings (compile definitions of the wsc_zephyr library):
 *   CONFIG_WEBSOCKET_MAX_CONTEXTS    connections open at once (default 4)
 *   CONFIG_WEBSOCKET_TX_BUF_SIZE     per-connection output buffer (default 1024);
 *                                    sends of any size are masked through it
 *   CONFIG_WEBSOCKET_MAX_HEAD        largest 101 response head (default 4096)
 *   CONFIG_WEBSOCKET_MAX_HEADERS     most response header fields (default 32)
 *   CONFIG_WEBSOCKET_RX_BUF_SIZE     input buffer used when tmp_buf is too
 *                                    small (default 4096, from malloc)
 *   CONFIG_WEBSOCKET_DISCONNECT_TIMEOUT_MS  wait for the server's close (1000)
 * All of it lives in a static table: a connection allocates nothing unless
 * tmp_buf is below WEBSOCKET_TMP_BUF_MIN.
 */
#ifndef ZEPHYR_INCLUDE_NET_WEBSOCKET_H_
#define ZEPHYR_INCLUDE_NET_WEBSOCKET_H_

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zephyr/kernel.h>
#include <zephyr/net/http/client.h>
#include <zephyr/net/http/parser.h>
#include <zephyr/net/net_ip.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Bits of the message_type that websocket_recv_msg() reports. They describe
 * the frame the returned bytes belong to: its opcode (no TEXT or BINARY bit
 * for a continuation frame) and whether it has FIN set. FINAL is set on every
 * read from a FIN frame, so a message is complete when FINAL is set and
 * remaining is 0.
 */
#define WEBSOCKET_FLAG_FINAL 0x00000001  /* the frame has FIN set */
#define WEBSOCKET_FLAG_TEXT 0x00000002   /* a text frame */
#define WEBSOCKET_FLAG_BINARY 0x00000004 /* a binary frame */
#define WEBSOCKET_FLAG_CLOSE 0x00000008  /* the server's close: code + reason */
#define WEBSOCKET_FLAG_PING 0x00000010   /* a ping (already answered) */
#define WEBSOCKET_FLAG_PONG 0x00000020   /* a pong */

enum websocket_opcode {
    WEBSOCKET_OPCODE_CONTINUE = 0x00,
    WEBSOCKET_OPCODE_DATA_TEXT = 0x01,
    WEBSOCKET_OPCODE_DATA_BINARY = 0x02,
    WEBSOCKET_OPCODE_CLOSE = 0x08,
    WEBSOCKET_OPCODE_PING = 0x09,
    WEBSOCKET_OPCODE_PONG = 0x0A,
};

/**
 * Called once the connection is established, with the websocket handle.
 * Returning a negative errno closes the connection, and websocket_connect()
 * returns that value.
 */
typedef int (*websocket_connect_cb_t)(int ws_sock, struct http_request *req, void *user_data);

/** The smallest tmp_buf that becomes the connection's input buffer: one frame header. */
#define WEBSOCKET_TMP_BUF_MIN 14

/** What websocket_connect() needs; the application fills it. */
struct websocket_request {
    /** Host header value: "example.com", "192.0.2.1:9001" or an IPv6 literal. */
    const char *host;

    /** Request target, starting with '/', for example "/chat?room=1". */
    const char *url;

    /**
     * Sends extra header lines on the socket itself, at the end of the
     * request head. NULL to use optional_headers. Subprotocols offered this
     * way are unknown to wsc, which then rejects a server that selects one:
     * offer them in optional_headers.
     */
    http_header_cb_t optional_headers_cb;

    /**
     * NULL-terminated list of header lines, "Name: value" with or without the
     * trailing "\r\n" (a string may hold several lines). A
     * Sec-WebSocket-Protocol line offers its subprotocols; the server's
     * choice is checked against them. Host, Upgrade, Connection and the other
     * Sec-WebSocket-* fields are wsc's and are refused (-EINVAL).
     */
    const char **optional_headers;

    /** Called once connected; may be NULL. */
    websocket_connect_cb_t cb;

    /**
     * Taps into the parsing of the 101 response (parser.h); may be NULL.
     * They are called once the head is complete, also for a rejected one.
     */
    const struct http_parser_settings *http_cb;

    /**
     * The connection's input buffer, used from the handshake on: the 101 head
     * and every frame pass through it. It must stay valid, and must not be
     * used for anything else, until websocket_disconnect(). Below
     * WEBSOCKET_TMP_BUF_MIN bytes (or NULL), wsc allocates
     * CONFIG_WEBSOCKET_RX_BUF_SIZE bytes instead. Its size bounds how much one
     * socket read takes, not the size of a frame or a head.
     */
    uint8_t *tmp_buf;
    size_t tmp_buf_len;
};

/**
 * Performs the opening handshake on @p http_sock, a connected TCP socket,
 * within @p timeout ms (SYS_FOREVER_MS: no limit).
 *
 * @return a websocket handle (>= 0) for the other websocket_* calls: a
 *         duplicate of @p http_sock (poll() on it reports new bytes; see
 *         wsc_websocket_poll() for buffered ones). @p http_sock stays the
 *         caller's and must stay open until websocket_disconnect().
 *         -EINVAL (bad argument or optional header), -EEXIST (@p http_sock
 *         already has a websocket), -ENOENT (all CONFIG_WEBSOCKET_MAX_CONTEXTS
 *         in use), -ETIMEDOUT, -ECONNABORTED (the server's answer is not a
 *         valid 101: wsc_websocket_last_error() says why), the cb's or
 *         optional_headers_cb's negative value, or another -errno.
 */
int websocket_connect(int http_sock, struct websocket_request *req, int32_t timeout,
                      void *user_data);

/**
 * Sends one frame of @p opcode carrying @p payload, within @p timeout ms.
 * TEXT or BINARY starts a message, CONTINUE continues it, @p final ends it.
 * PING, PONG and CLOSE (payload: a 2-byte code then a UTF-8 reason, or
 * nothing) must be final and at most 125 bytes. Every frame is masked with a
 * fresh key whatever @p mask says (RFC 6455 5.3), chunk by chunk through the
 * output buffer, with no copy of the payload. A PONG whose payload matches a
 * ping that websocket_recv_msg() reported is not sent again: wsc answered it.
 *
 * @return @p payload_len, or -EINVAL (opcode out of sequence, a control
 *         frame too long, an invalid close code or reason), -EBADF (unknown
 *         handle), -ETIMEDOUT (the frame may be partly sent; the connection
 *         is then unusable), -ENOTCONN (closing or closed), or another -errno.
 */
int websocket_send_msg(int ws_sock, const uint8_t *payload, size_t payload_len,
                       enum websocket_opcode opcode, bool mask, bool final, int32_t timeout);

/**
 * Receives up to @p buf_len bytes of one frame into @p buf, waiting at most
 * @p timeout ms (SYS_FOREVER_MS: no limit; 0: only what is already there).
 * Returns once @p buf is full or the frame is complete, or with what has
 * arrived when the time runs out. Bytes buffered in the connection (frames
 * that came with the 101 included) are returned before the socket is read.
 *
 * *message_type gets the WEBSOCKET_FLAG_* bits of the frame; *remaining the
 * bytes of that frame still to come after this read. Pings (already answered),
 * pongs and the server's close (its 2-byte code and reason, answered with the
 * same code) are returned as frames of their own. Either pointer may be NULL.
 *
 * @retval >=0 bytes received (0 for an empty frame).
 * @retval -EAGAIN nothing arrived within the timeout.
 * @retval -ENOTCONN the connection is closed: after the server's close frame
 *         was returned, or when TCP ended without one.
 * @retval -EPROTO the server broke RFC 6455 (masked frame, RSV bits, bad
 *         UTF-8, ...): wsc sent the matching close code; later calls return
 *         -ENOTCONN.
 * @retval -EINVAL, -EBADF, -ECONNRESET, or another -errno.
 */
int websocket_recv_msg(int ws_sock, uint8_t *buf, size_t buf_len, uint32_t *message_type,
                       uint64_t *remaining, int32_t timeout);

/**
 * Closes the connection: sends close 1000 if the connection is open, waits up
 * to CONFIG_WEBSOCKET_DISCONNECT_TIMEOUT_MS for the server's close (dropping
 * any data still arriving), then releases the handle. The TCP socket given to
 * websocket_connect() stays open: close it afterwards.
 *
 * @return 0, -EBADF for an unknown handle, or the error that kept the close
 *         handshake from completing (the handle is released in every case).
 */
int websocket_disconnect(int ws_sock);

/** Kept for Zephyr code that calls it; the table needs no initialisation. */
void websocket_init(void);

/* ---- wsc extensions ------------------------------------------------------ */

/**
 * True when websocket_recv_msg() on @p ws_sock can return without reading the
 * socket: bytes are buffered in the connection (such as frames that arrived
 * with the 101), a control frame is half returned, or the connection has
 * ended. poll() on the handle cannot know this. May be true once more than
 * needed (a partial frame buffered), never less.
 */
bool wsc_websocket_has_buffered(int ws_sock);

/**
 * poll() that knows websocket handles: an entry whose fd is a handle with
 * buffered input (wsc_websocket_has_buffered()) and that asks for POLLIN gets
 * POLLIN at once and the call does not wait; other entries are polled as
 * usual. zsock_poll() in <zephyr/net/socket.h> is this function.
 */
int wsc_websocket_poll(struct pollfd *fds, nfds_t nfds, int timeout);

/**
 * Why the calling thread's last websocket_connect() failed, as a sentence
 * (from wsc_conn_detail()), or "" after a success.
 */
const char *wsc_websocket_last_error(void);

#ifdef __cplusplus
}
#endif
#endif /* ZEPHYR_INCLUDE_NET_WEBSOCKET_H_ */
