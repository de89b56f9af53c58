/* Error descriptions, the close code each peer violation earns, and close-code validity. */
#include "core/wsc_internal.h"

const char *wsc_strerror(int err)
{
    switch (err) {
    case WSC_OK:
        return "success";
    case WSC_EAGAIN:
        return "more input is needed, or the operation would block";
    case WSC_EINVAL:
        return "invalid argument, or the call is not allowed in the current state";
    case WSC_ENOMEM:
        return "a memory allocation failed";
    case WSC_ENOBUFS:
        return "a caller-supplied buffer is too small";
    case WSC_ETIMEDOUT:
        return "the operation timed out";
    case WSC_ECONNRESET:
        return "the connection was reset by the peer";
    case WSC_ECONNREFUSED:
        return "the connection was refused by the server";
    case WSC_ENOTCONN:
        return "the connection is closed";
    case WSC_EIO:
        return "a transport I/O error occurred";

    case WSC_EURL:
        return "the URL could not be parsed";
    case WSC_ERESOLVE:
        return "the host name could not be resolved";
    case WSC_ENOTLS:
        return "wss:// URLs need TLS, which this build of wsc does not include";
    case WSC_ECONNECT:
        return "no address of the host accepted a connection";
    case WSC_EHEADER:
        return "a user-supplied header is invalid or reserved for the WebSocket handshake";
    case WSC_EEOF:
        return "the peer closed the TCP connection without a WebSocket close frame";
    case WSC_ECLOSED:
        return "the WebSocket close handshake has completed";
    case WSC_ETLS:
        return "the TLS handshake, certificate verification or TLS record layer failed";
    case WSC_EPROXY:
        return "the HTTP proxy refused the CONNECT request or sent an invalid reply";

    case WSC_EHS_STATUS:
        return "the server did not answer the handshake with 101 Switching Protocols";
    case WSC_EHS_MALFORMED:
        return "the handshake response is not a valid HTTP/1.1 response head";
    case WSC_EHS_UPGRADE:
        return "the handshake response lacks \"Upgrade: websocket\"";
    case WSC_EHS_CONNECTION:
        return "the handshake response lacks \"Connection: Upgrade\"";
    case WSC_EHS_ACCEPT:
        return "the handshake response has a missing or wrong Sec-WebSocket-Accept";
    case WSC_EHS_PROTOCOL:
        return "the server selected a subprotocol that was not offered";
    case WSC_EHS_EXTENSION:
        return "the server selected an extension that was not offered";
    case WSC_EHS_TOO_LARGE:
        return "the handshake response head exceeds the size limit";
    case WSC_EHS_TOO_MANY:
        return "the handshake response has more header fields than the limit";

    case WSC_EMASKED:
        return "the server sent a masked frame (RFC 6455 5.1)";
    case WSC_ERSV:
        return "the server set RSV bits that no negotiated extension allows there "
               "(RFC 6455 5.2, RFC 7692 6)";
    case WSC_EOPCODE:
        return "the server sent a frame with a reserved opcode (RFC 6455 5.2)";
    case WSC_ECONTROL_LEN:
        return "the server sent a control frame with more than 125 bytes of payload "
               "(RFC 6455 5.5)";
    case WSC_ECONTROL_FRAG:
        return "the server sent a fragmented control frame (RFC 6455 5.5)";
    case WSC_ECONTINUATION:
        return "the server sent a continuation frame with no message in progress "
               "(RFC 6455 5.4)";
    case WSC_EINTERLEAVED:
        return "the server started a new data message before finishing the previous one "
               "(RFC 6455 5.4)";
    case WSC_ECLOSE_CODE:
        return "the server sent an invalid close code (RFC 6455 7.4)";
    case WSC_ECLOSE_PAYLOAD:
        return "the server sent a close frame with a one-byte payload (RFC 6455 5.5.1)";
    case WSC_EFRAME_LEN:
        return "the server sent a 64-bit frame length with the most significant bit set "
               "(RFC 6455 5.2)";
    case WSC_EUTF8:
        return "the server sent invalid UTF-8 in a text message or close reason "
               "(RFC 6455 8.1)";
    case WSC_EMSG_TOO_BIG:
        return "the server sent a message larger than the configured maximum";
    case WSC_EPEER_TIMEOUT:
        return "the server did not respond in time";

    case WSC_EHTTP_LENGTH:
        return "the HTTP response has an invalid or conflicting Content-Length";
    case WSC_EHTTP_CHUNK:
        return "the HTTP response body has malformed chunked transfer coding "
               "(RFC 9112 7.1)";
    case WSC_EHTTP_TRUNCATED:
        return "the connection ended before the end of the HTTP response body";
    case WSC_EHTTP_TOO_LARGE:
        return "an HTTP chunk-size line or trailer section exceeds its size limit";
    case WSC_EINFLATE:
        return "the server sent a compressed message that is not valid DEFLATE data "
               "(RFC 7692 7.2.2)";
    default:
        return "unknown error";
    }
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
