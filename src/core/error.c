/* Error descriptions, the close code each peer violation earns, and close-code validity. */
#include <string.h>

#include "core/wsc_internal.h"

/*
 * Every code and its sentence, side by side in one list from which the two
 * tables below are made, so that they cannot drift apart. The sentences are
 * stored back to back in one string, each ended by its NUL, with the fallback
 * last, and wsc_strerror() counts its way to the one it needs: on a small
 * device a pointer per sentence (or the switch this replaced) costs more than
 * the walk, which only error paths take.
 */
#define ERRORS(X)                                                                          \
    X(WSC_OK, "success")                                                                   \
    X(WSC_EAGAIN, "more input is needed, or the operation would block")                    \
    X(WSC_EINVAL, "invalid argument, or the call is not allowed in the current state")     \
    X(WSC_ENOMEM, "a memory allocation failed")                                            \
    X(WSC_ENOBUFS, "a caller-supplied buffer is too small")                                \
    X(WSC_EMSGSIZE, "the message is larger than the send queue; send it in fragments")     \
    X(WSC_ETIMEDOUT, "the operation timed out")                                            \
    X(WSC_ECONNRESET, "the connection was reset by the peer")                              \
    X(WSC_ECONNREFUSED, "the connection was refused by the server")                        \
    X(WSC_ENOTCONN, "the connection is closed")                                            \
    X(WSC_EIO, "a transport I/O error occurred")                                           \
    X(WSC_EURL, "the URL could not be parsed")                                             \
    X(WSC_ERESOLVE, "the host name could not be resolved")                                 \
    X(WSC_ENOTLS, "wss:// URLs need TLS, which this build of wsc does not include")        \
    X(WSC_ECONNECT, "no address of the host accepted a connection")                        \
    X(WSC_EHEADER,                                                                         \
      "a user-supplied header is invalid or reserved for the WebSocket handshake")         \
    X(WSC_EEOF, "the peer closed the TCP connection without a WebSocket close frame")      \
    X(WSC_ECLOSED, "the WebSocket close handshake has completed")                          \
    X(WSC_ETLS, "the TLS handshake, certificate verification or TLS record layer failed")  \
    X(WSC_EPROXY, "the HTTP proxy refused the CONNECT request or sent an invalid reply")   \
    X(WSC_EHS_STATUS,                                                                      \
      "the server did not answer the handshake with 101 Switching Protocols")              \
    X(WSC_EHS_MALFORMED, "the handshake response is not a valid HTTP/1.1 response head")   \
    X(WSC_EHS_UPGRADE, "the handshake response lacks \"Upgrade: websocket\"")              \
    X(WSC_EHS_CONNECTION, "the handshake response lacks \"Connection: Upgrade\"")          \
    X(WSC_EHS_ACCEPT,                                                                      \
      "the handshake response has a missing or wrong Sec-WebSocket-Accept")                \
    X(WSC_EHS_PROTOCOL, "the server selected a subprotocol that was not offered")          \
    X(WSC_EHS_EXTENSION, "the server selected an extension that was not offered")          \
    X(WSC_EHS_TOO_LARGE, "the handshake response head exceeds the size limit")             \
    X(WSC_EHS_TOO_MANY, "the handshake response has more header fields than the limit")    \
    X(WSC_EMASKED, "the server sent a masked frame (RFC 6455 5.1)")                        \
    X(WSC_ERSV, "the server set RSV bits that no negotiated extension allows there "       \
                "(RFC 6455 5.2, RFC 7692 6)")                                              \
    X(WSC_EOPCODE, "the server sent a frame with a reserved opcode (RFC 6455 5.2)")        \
    X(WSC_ECONTROL_LEN,                                                                    \
      "the server sent a control frame with more than 125 bytes of payload "               \
      "(RFC 6455 5.5)")                                                                    \
    X(WSC_ECONTROL_FRAG, "the server sent a fragmented control frame (RFC 6455 5.5)")      \
    X(WSC_ECONTINUATION,                                                                   \
      "the server sent a continuation frame with no message in progress "                  \
      "(RFC 6455 5.4)")                                                                    \
    X(WSC_EINTERLEAVED,                                                                    \
      "the server started a new data message before finishing the previous one "           \
      "(RFC 6455 5.4)")                                                                    \
    X(WSC_ECLOSE_CODE, "the server sent an invalid close code (RFC 6455 7.4)")             \
    X(WSC_ECLOSE_PAYLOAD,                                                                  \
      "the server sent a close frame with a one-byte payload (RFC 6455 5.5.1)")            \
    X(WSC_EFRAME_LEN,                                                                      \
      "the server sent a 64-bit frame length with the most significant bit set "           \
      "(RFC 6455 5.2)")                                                                    \
    X(WSC_EUTF8, "the server sent invalid UTF-8 in a text message or close reason "        \
                 "(RFC 6455 8.1)")                                                         \
    X(WSC_EMSG_TOO_BIG, "the server sent a message larger than the configured maximum")    \
    X(WSC_EPEER_TIMEOUT, "the server did not respond in time")                             \
    X(WSC_EHTTP_LENGTH, "the HTTP response has an invalid or conflicting Content-Length")  \
    X(WSC_EHTTP_CHUNK, "the HTTP response body has malformed chunked transfer coding "     \
                       "(RFC 9112 7.1)")                                                   \
    X(WSC_EHTTP_TRUNCATED,                                                                 \
      "the connection ended before the end of the HTTP response body")                     \
    X(WSC_EHTTP_TOO_LARGE,                                                                 \
      "an HTTP chunk-size line or trailer section exceeds its size limit")                 \
    X(WSC_EINFLATE, "the server sent a compressed message that is not valid DEFLATE data " \
                    "(RFC 7692 7.2.2)")

/* The table stores codes in 16 bits; errno values and ours all fit. */
#define FITS(code, text) _Static_assert((code) >= INT16_MIN && (code) <= 0, #code);
#define CODE(code, text) code,
#define TEXT(code, text) text "\0"
ERRORS(FITS)
static const int16_t codes[] = {ERRORS(CODE)};
static const char texts[] = ERRORS(TEXT) "unknown error";

const char *wsc_strerror(int err)
{
    const char *s = texts;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]) && codes[i] != err; i++)
        s += strlen(s) + 1;
    return s;
}

uint16_t wsc_error_close_code(int err)
{
    switch (err) {
    /* RFC 6455 7.4.1: 1002 for protocol errors. */
    case WSC_EMASKED:
    case WSC_ERSV:
    case WSC_EOPCODE:
    case WSC_ECONTROL_LEN:
    case WSC_ECONTROL_FRAG:
    case WSC_ECONTINUATION:
    case WSC_EINTERLEAVED:
    case WSC_ECLOSE_CODE:
    case WSC_ECLOSE_PAYLOAD:
    case WSC_EFRAME_LEN:
        return WSC_CLOSE_PROTOCOL;
    /* 1007: data inconsistent with the message type (non-UTF-8 text, 8.1). */
    case WSC_EUTF8:
    /* RFC 7692 only says to fail the connection; undecodable DEFLATE is
     * "data within a message that was not consistent with the type of the
     * message", 1007's meaning in RFC 6455 7.4.1. */
    case WSC_EINFLATE:
        return WSC_CLOSE_INVALID_DATA;
    /* 1009: a message too big to process. */
    case WSC_EMSG_TOO_BIG:
        return WSC_CLOSE_TOO_BIG;
    /* 1011: we cannot go on; the peer is not at fault in protocol terms. */
    case WSC_EPEER_TIMEOUT:
        return WSC_CLOSE_INTERNAL;
    default:
        return 0;
    }
}

bool wsc_error_is_protocol(int err)
{
    uint16_t code = wsc_error_close_code(err);
    return code == WSC_CLOSE_PROTOCOL || code == WSC_CLOSE_INVALID_DATA ||
           code == WSC_CLOSE_TOO_BIG;
}

bool wsc_close_code_valid(uint16_t code)
{
    /* RFC 6455 7.4.1/7.4.2: 1004 is reserved, and 1005, 1006 and 1015 mark
     * conditions locally and must never appear on the wire. 1012-1014 were
     * registered with IANA later (service restart, try again later, bad
     * gateway). 3000-3999 are for libraries and frameworks, 4000-4999 private. */
    if (code >= 1000 && code <= 1003)
        return true;
    if (code >= 1007 && code <= 1014)
        return true;
    return code >= 3000 && code <= 4999;
}
