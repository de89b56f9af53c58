/*
 * wsc_core.h - the sans-I/O WebSocket client core.
 *
 * Nothing here touches a socket, a clock, a random source or the heap. Every
 * function takes bytes in, reports exactly how many it consumed, and writes into
 * buffers the caller gives it. Randomness arrives as arguments (the 16-byte
 * handshake nonce) or through a callback (frame mask keys).
 *
 * The usual flow for a client that brings its own loop:
 *   1. wsc_handshake_init() + wsc_handshake_write_request() -> send the bytes;
 *   2. feed received bytes to wsc_handshake_parse() until it returns 0; the
 *      bytes after *consumed are already the first frames: keep them;
 *   3. wsc_session_init(), then feed those bytes and every later read to
 *      wsc_session_next(), and send what wsc_session_pending_output() offers.
 */
#ifndef WSC_CORE_H
#define WSC_CORE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * One code space for the whole library: 0 is success, negative values are
 * errors. Codes that <errno.h> names equal -errno so they pass through POSIX and
 * Zephyr code unchanged; WebSocket-specific ones use a fixed range below -1000.
 */
#define WSC_OK 0
#define WSC_EAGAIN (-EAGAIN)         /* needs more input / would block */
#define WSC_EINVAL (-EINVAL)         /* caller mistake: bad argument or state */
#define WSC_ENOMEM (-ENOMEM)         /* an allocation failed */
#define WSC_ENOBUFS (-ENOBUFS)       /* a caller buffer is too small */
#define WSC_ETIMEDOUT (-ETIMEDOUT)   /* a per-call timeout expired */
#define WSC_ECONNRESET (-ECONNRESET) /* the transport was reset by the peer */
#define WSC_ECONNREFUSED (-ECONNREFUSED)
#define WSC_ENOTCONN (-ENOTCONN) /* the connection is closed */
#define WSC_EIO (-EIO)           /* a transport error not covered above */
#define WSC_EMSGSIZE (-EMSGSIZE) /* a message larger than the send queue can hold */

#define WSC_EURL (-1001)        /* the URL could not be parsed */
#define WSC_ERESOLVE (-1002)    /* the host name did not resolve */
#define WSC_ENOTLS (-1003)      /* wss:// in a build without TLS */
#define WSC_ECONNECT (-1004)    /* no address of the host accepted a connection */
#define WSC_EHEADER (-1005)     /* a user header is invalid or reserved */
#define WSC_EEOF (-1006)        /* the peer closed TCP without a close frame */
#define WSC_ECLOSED (-1007)     /* the WebSocket close handshake has completed */
#define WSC_ETLS (-1008)        /* TLS handshake, certificate or record failure */
#define WSC_EPROXY (-1009)      /* the HTTP proxy refused or botched CONNECT */

#define WSC_EHS_STATUS (-1020)     /* the server did not answer 101 */
#define WSC_EHS_MALFORMED (-1021)  /* the response head is not valid HTTP/1.1 */
#define WSC_EHS_UPGRADE (-1022)    /* Upgrade: websocket missing or wrong */
#define WSC_EHS_CONNECTION (-1023) /* Connection: upgrade missing */
#define WSC_EHS_ACCEPT (-1024)     /* Sec-WebSocket-Accept missing or wrong */
#define WSC_EHS_PROTOCOL (-1025)   /* a subprotocol we did not offer */
#define WSC_EHS_EXTENSION (-1026)  /* an extension we did not offer */
#define WSC_EHS_TOO_LARGE (-1027)  /* the response head exceeds the limit */
#define WSC_EHS_TOO_MANY (-1028)   /* more header fields than the limit */

/* Peer violations; each maps to the close code wsc sends (wsc_error_close_code). */
#define WSC_EMASKED (-1040)        /* 1002: the server masked a frame */
#define WSC_ERSV (-1041)           /* 1002: RSV bits no extension allows */
#define WSC_EOPCODE (-1042)        /* 1002: reserved opcode */
#define WSC_ECONTROL_LEN (-1043)   /* 1002: control payload over 125 bytes */
#define WSC_ECONTROL_FRAG (-1044)  /* 1002: fragmented control frame */
#define WSC_ECONTINUATION (-1045)  /* 1002: continuation without a start */
#define WSC_EINTERLEAVED (-1046)   /* 1002: new data frame inside a message */
#define WSC_ECLOSE_CODE (-1047)    /* 1002: invalid close code received */
#define WSC_ECLOSE_PAYLOAD (-1048) /* 1002: one-byte close payload */
#define WSC_EFRAME_LEN (-1049)     /* 1002: 64-bit length with the top bit set */
#define WSC_EUTF8 (-1050)          /* 1007: invalid UTF-8 in text or reason */
#define WSC_EMSG_TOO_BIG (-1051)   /* 1009: message exceeds max_message */
#define WSC_EPEER_TIMEOUT (-1052)  /* 1011: peer did not answer in time */
#define WSC_EINFLATE (-1053)       /* 1007: compressed payload is not valid DEFLATE */

/** Returns a one-sentence description of any wsc error code (never NULL). */
const char *wsc_strerror(int err);

/**
 * Returns the close code wsc sends to the peer when it fails the connection
 * with @p err (1002, 1007, 1009, 1011), or 0 when no close frame is sent.
 */
uint16_t wsc_error_close_code(int err);

/** True for errors caused by the peer violating RFC 6455 (1002/1007/1009). */
bool wsc_error_is_protocol(int err);

/* ------------------------------------------------------------------------ */
/* Opcodes and close codes                                                   */
/* ------------------------------------------------------------------------ */

enum wsc_opcode {
    WSC_OP_CONTINUATION = 0x0,
    WSC_OP_TEXT = 0x1,
    WSC_OP_BINARY = 0x2,
    WSC_OP_CLOSE = 0x8,
    WSC_OP_PING = 0x9,
    WSC_OP_PONG = 0xA,
};

#define WSC_CLOSE_NORMAL 1000
#define WSC_CLOSE_GOING_AWAY 1001
#define WSC_CLOSE_PROTOCOL 1002
#define WSC_CLOSE_UNSUPPORTED 1003
#define WSC_CLOSE_NO_STATUS 1005 /* never sent: no code in the close frame */
#define WSC_CLOSE_ABNORMAL 1006  /* never sent: TCP closed without a close */
#define WSC_CLOSE_INVALID_DATA 1007
#define WSC_CLOSE_POLICY 1008
#define WSC_CLOSE_TOO_BIG 1009
#define WSC_CLOSE_EXTENSION 1010
#define WSC_CLOSE_INTERNAL 1011

/**
 * True if @p code may appear in a close frame (RFC 6455 7.4.1 and the IANA
 * registry): 1000-1003, 1007-1014 and 3000-4999.
 */
bool wsc_close_code_valid(uint16_t code);

/* ------------------------------------------------------------------------ */
/* UTF-8 validation                                                          */
/* ------------------------------------------------------------------------ */

/** Incremental UTF-8 validator state; zero-initialise or use wsc_utf8_reset. */
struct wsc_utf8 {
    uint32_t state; /* private */
};

static inline void wsc_utf8_reset(struct wsc_utf8 *u) { u->state = 0; }

/**
 * Validates the next @p len bytes of a UTF-8 stream (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF). A sequence may be split across calls.
 * Returns @p len if every byte so far can still start or continue valid UTF-8,
 * else the offset of the first byte that makes the stream invalid (and the
 * state stays failed).
 */
size_t wsc_utf8_validate(struct wsc_utf8 *u, const uint8_t *p, size_t len);

/** True when the stream so far ends on a character boundary. */
static inline bool wsc_utf8_complete(const struct wsc_utf8 *u) { return u->state == 0; }

/* ------------------------------------------------------------------------ */
/* URLs                                                                      */
/* ------------------------------------------------------------------------ */

#define WSC_URL_HOST_MAX 256
#define WSC_URL_RESOURCE_MAX 4096
#define WSC_URL_USERINFO_MAX 256

/** A parsed ws:// or wss:// URL; strings are NUL-terminated copies. */
struct wsc_url {
    bool tls;                             /* wss:// */
    char host[WSC_URL_HOST_MAX];          /* IPv6 literals without brackets */
    bool ipv6;                            /* host is an IPv6 literal */
    uint16_t port;                        /* explicit, or 80 / 443 */
    bool port_explicit;
    char resource[WSC_URL_RESOURCE_MAX];  /* path and query, starts with '/' */
    char userinfo[WSC_URL_USERINFO_MAX];  /* "user:pass" as written, or "" */
    const char *error;                    /* why parsing failed, or NULL */
};

/**
 * Parses @p text as ws://[userinfo@]host[:port][/path][?query]. The scheme and
 * host are case-insensitive; a fragment is rejected (RFC 6455 3). Returns 0, or
 * WSC_EURL with u->error saying why.
 */
int wsc_url_parse(const char *text, struct wsc_url *u);

/**
 * Resolves a redirect target @p loc (@p len bytes, e.g. a Location header)
 * against @p base into a NUL-terminated ws:// or wss:// URL in @p out: absolute
 * ws/wss URLs are kept, http/https map to ws/wss, "//host/x" takes the base's
 * scheme, "/x", "?q" and "x" resolve against the base path; a fragment is
 * dropped. Returns 0, WSC_EURL (another scheme, or control characters) or
 * WSC_ENOBUFS.
 */
int wsc_url_resolve(const struct wsc_url *base, const char *loc, size_t len, char *out,
                    size_t cap);

/** Percent-decodes in[0..len) into @p out; returns 0 with *n set, WSC_EURL for a
 *  malformed escape, or WSC_ENOBUFS. */
int wsc_url_percent_decode(const char *in, size_t len, char *out, size_t cap, size_t *n);

/* ------------------------------------------------------------------------ */
/* permessage-deflate negotiation                                            */
/* ------------------------------------------------------------------------ */

/*
 * RFC 7692 section 7: the Sec-WebSocket-Extensions offer a client sends and the
 * check of the server's answer. Pure text processing; the compression itself is
 * in <wsc/wsc_deflate.h> (zlib, optional). The server's answer may decline the
 * offer by leaving the header out; the connection then runs uncompressed.
 * The handshake writes the offer and checks the answer with these functions
 * when the request was given an offer with wsc_pmd_enable(); they are public
 * for other front ends and tests.
 */

/** Buffer size that holds any offer wsc_pmd_write_offer() writes, NUL included. */
#define WSC_PMD_OFFER_MAX 160 /* the longest offer is 128 characters */

/** wsc_pmd_offer.client_max_window_bits: do not offer the parameter at all. */
#define WSC_PMD_NOT_OFFERED 0xff

/** What was agreed: how each side compresses. Defaults (15, takeover) applied. */
struct wsc_pmd_params {
    bool server_no_context_takeover; /* the server resets its window per message */
    bool client_no_context_takeover; /* we reset ours per message */
    uint8_t server_max_window_bits;  /* 8..15: the server's window, for our inflater */
    uint8_t client_max_window_bits;  /* 9..15: our window, for our deflater */
};

/**
 * What the client offers. Zero-initialised, it offers "permessage-deflate;
 * client_max_window_bits": full defaults, and the server may shrink our window.
 */
struct wsc_pmd_offer {
    bool client_no_context_takeover; /* promise to reset our window per message */
    bool server_no_context_takeover; /* ask the server to reset its window */
    /* 0 = offer the parameter without a value (the server may answer 9..15;
     *     an answer of 8 fails the handshake, see wsc_pmd_parse_response);
     * 9..15 = offer it with this value (we will not exceed it);
     * WSC_PMD_NOT_OFFERED = leave it out (we compress with 15).
     * 8 is refused: zlib cannot compress with a 256-byte window. */
    uint8_t client_max_window_bits;
    /* 0 = do not ask; 8..15 = ask the server to use at most this window. */
    uint8_t server_max_window_bits;
};

/**
 * Writes the offer, e.g. "permessage-deflate; client_max_window_bits", as the
 * value of a Sec-WebSocket-Extensions header into @p out (NUL-terminated;
 * WSC_PMD_OFFER_MAX bytes always suffice). Parameters appear in a fixed order.
 * @return the length written (without the NUL); WSC_ENOBUFS if @p cap is too
 *         small (nothing useful is written); WSC_EINVAL for a NULL @p o or a
 *         window value out of range, including client_max_window_bits 8.
 */
int wsc_pmd_write_offer(const struct wsc_pmd_offer *o, char *out, size_t cap);

/**
 * Checks the server's Sec-WebSocket-Extensions value against @p o (RFC 7692
 * 7 and 7.1, RFC 6455 9.1) and fills @p out with the agreed parameters.
 *
 * Call it only when the response has the header; if it has several header
 * fields, pass their values joined with ", " (RFC 7230 3.2.2). @p value need
 * not be NUL-terminated and is read only during the call.
 *
 * Accepted: exactly one extension, "permessage-deflate" (names compare
 * exactly: neither RFC defines case folding), with parameters separated by
 * ';' and optional whitespace around ';', '=' and ','; values as a token or a
 * quoted-string whose unescaped text is the token (RFC 6455 9.1); empty list
 * elements (RFC 7230 7). Rejected with WSC_EHS_EXTENSION (RFC 7692 7: "the
 * client MUST _Fail the WebSocket Connection_"):
 *  - no extension, another extension, or permessage-deflate twice;
 *  - an unknown parameter, or a parameter given twice;
 *  - a value on server_no_context_takeover or client_no_context_takeover;
 *  - a window value missing, not 8..15, or with a leading zero ("08");
 *  - server_no_context_takeover missing although we asked for it (7.1.1.1:
 *    accepting that offer means echoing it);
 *  - server_max_window_bits missing or larger than asked, when we asked (7.1.2.1);
 *  - client_max_window_bits when we did not offer it, larger than the value we
 *    offered, or 8 (7.1.2.2; zlib cannot honour 8, so "the client does not
 *    support the configuration").
 * The server may add server_no_context_takeover, client_no_context_takeover and
 * server_max_window_bits unasked (7.1.1.1, 7.1.1.2, 7.1.2.1).
 * Result: client_no_context_takeover is set if either side asked for it;
 * client_max_window_bits is the response's value, else the value we offered,
 * else 15; server_max_window_bits is the response's value, else 15.
 * @return 0 with *out filled, WSC_EHS_EXTENSION (out untouched), or WSC_EINVAL
 *         for NULL arguments.
 */
int wsc_pmd_parse_response(const struct wsc_pmd_offer *o, const char *value, size_t len,
                           struct wsc_pmd_params *out);

/**
 * The limit to apply to the compressed (wire) size of a compressed message
 * whose inflated size may be @p max_message: zlib's worst-case expansion for
 * any setting (n + n/8 + n/64 + 5) plus a little slack, saturating. The inflated
 * size is limited separately, while inflating (wsc_deflate_decompress).
 */
static inline uint64_t wsc_pmd_wire_limit(uint64_t max_message)
{
    uint64_t extra = (max_message >> 3) + (max_message >> 6) + 64;
    return max_message > UINT64_MAX - extra ? UINT64_MAX : max_message + extra;
}

/* ------------------------------------------------------------------------ */
/* Opening handshake                                                         */
/* ------------------------------------------------------------------------ */

#define WSC_HANDSHAKE_NONCE_LEN 16
#define WSC_HANDSHAKE_KEY_LEN 24    /* base64 of the 16-byte nonce */
#define WSC_HANDSHAKE_ACCEPT_LEN 28 /* base64 of a SHA-1 digest */
#define WSC_HEAD_MAX_DEFAULT 8192
#define WSC_HEADERS_MAX_DEFAULT 64

/** A header field: name and value, not NUL-terminated when from the parser. */
struct wsc_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* The permessage-deflate negotiation as the handshake calls it (private). */
struct wsc__pmd_ops;

/** What the request writer needs. Strings are NUL-terminated; NULL = absent. */
struct wsc_request_info {
    const char *host;     /* host name or IP literal; IPv6 without brackets */
    uint16_t port;        /* included in Host: when not the scheme's default */
    bool tls;             /* wss: default port 443 instead of 80 */
    const char *resource; /* path and query, e.g. "/chat?room=1"; NULL = "/" */
    const char *origin;
    const char *const *protocols; /* offered subprotocols */
    size_t protocol_count;
    const struct wsc_header *headers; /* user headers (name_len/value_len used) */
    size_t header_count;
    /* Offer permessage-deflate (RFC 7692) with these parameters in a
     * Sec-WebSocket-Extensions header; NULL = offer no extension. Set both
     * fields with wsc_pmd_enable(), never by hand. */
    const struct wsc_pmd_offer *deflate;
    const struct wsc__pmd_ops *deflate_ops; /* private */
};

/**
 * Makes @p req offer permessage-deflate with the parameters in @p offer, or
 * offer no extension when @p offer is NULL. @p offer is read, not copied: it
 * must stay valid as long as @p req. This is the one way to offer it: the
 * handshake reaches the negotiation code only through what this sets, so a
 * client that never calls it does not link that code.
 */
void wsc_pmd_enable(struct wsc_request_info *req, const struct wsc_pmd_offer *offer);

/**
 * Response-head parser and handshake checker. Lives in caller memory; the head
 * is copied into the caller's @p head_buf so that status, reason and headers
 * can be inspected after the parse (also after a failure), and @p headers
 * receives one entry per header field.
 */
struct wsc_handshake {
    /* private */
    char accept[WSC_HANDSHAKE_ACCEPT_LEN];
    const struct wsc_request_info *req;
    char *head;
    size_t head_len, head_cap;
    struct wsc_header *headers;
    size_t header_count, header_cap;
    size_t scan;       /* bytes of head already scanned for line ends */
    uint8_t newlines;  /* consecutive line ends seen (2 = end of head) */
    bool done;
    int error;
    /* public after a parse that reached the end of the head */
    int status;             /* e.g. 101; 0 until the status line is parsed */
    const char *reason;     /* reason phrase, not NUL-terminated */
    size_t reason_len;
    const char *protocol;   /* selected subprotocol, NUL-terminated, or NULL */
    bool deflate;           /* permessage-deflate was agreed (only after a 0 return) */
    struct wsc_pmd_params deflate_params; /* what was agreed, when deflate is set */
};

/**
 * Prepares @p hs for one handshake. @p req must stay valid until the handshake
 * ends. With @p req NULL, @p hs is a plain HTTP/1.1 response-head parser (for a
 * proxy's CONNECT reply or an HTTP client): wsc_handshake_parse() then returns 0
 * for any complete, well-formed head and makes no WebSocket check. @p head_buf (at least 64 bytes; its size is the head-size limit) and
 * @p headers (its count is the header-count limit) are caller memory used until
 * the handshake object is discarded. Returns 0 or WSC_EINVAL.
 */
int wsc_handshake_init(struct wsc_handshake *hs, const struct wsc_request_info *req,
                       char *head_buf, size_t head_cap, struct wsc_header *headers,
                       size_t header_cap);

/**
 * Writes the GET request into @p out using the 16 random bytes of @p nonce (from
 * a CSPRNG) for Sec-WebSocket-Key, and remembers the expected accept value.
 * After wsc_pmd_enable() with an offer, the request offers permessage-deflate
 * (Sec-WebSocket-Extensions, as wsc_pmd_write_offer() writes it).
 * Returns 0 with *written set, WSC_ENOBUFS if @p cap is too small, WSC_EINVAL
 * for an invalid deflate offer (or req->deflate set by hand), or WSC_EHEADER
 * if a user header contains CR, LF or NUL, is not a token, or names a header
 * that wsc sets itself (Host, Upgrade, Connection, Sec-WebSocket-*).
 */
int wsc_handshake_write_request(struct wsc_handshake *hs,
                                const uint8_t nonce[WSC_HANDSHAKE_NONCE_LEN], char *out,
                                size_t cap, size_t *written);

/**
 * Feeds response bytes. Consumes at most up to and including the blank line
 * that ends the head, never a byte more: in[*consumed..len) is the start of the
 * next protocol and belongs to the caller. *consumed is set on every return.
 * Returns 0 when a valid 101 head has been checked, WSC_EAGAIN when all input
 * was consumed and more is needed, or an error: WSC_EHS_STATUS (a complete
 * non-101 head; status, reason and headers are available and the body, if any,
 * follows *consumed), WSC_EHS_MALFORMED, WSC_EHS_UPGRADE, WSC_EHS_CONNECTION,
 * WSC_EHS_ACCEPT, WSC_EHS_PROTOCOL, WSC_EHS_EXTENSION, WSC_EHS_TOO_LARGE,
 * WSC_EHS_TOO_MANY. After an error every further call returns the same error.
 *
 * Extensions (RFC 6455 9.1, RFC 7692 7): a 101 without Sec-WebSocket-Extensions
 * leaves deflate false (the server declined; run uncompressed). One with it
 * fails with WSC_EHS_EXTENSION when no offer was made; otherwise every
 * field of that name is checked as one list (as if joined with ", ") by the
 * rules of wsc_pmd_parse_response(), and on success deflate and
 * deflate_params say what was agreed.
 */
int wsc_handshake_parse(struct wsc_handshake *hs, const uint8_t *in, size_t len,
                        size_t *consumed);

/** Looks up a response header by case-insensitive name (first match) or NULL. */
const struct wsc_header *wsc_handshake_header(const struct wsc_handshake *hs,
                                              const char *name);

/** Computes base64(SHA-1(key || GUID)) into @p out (not NUL-terminated). */
void wsc_handshake_accept_for(const char key[WSC_HANDSHAKE_KEY_LEN],
                              char out[WSC_HANDSHAKE_ACCEPT_LEN]);

/* ------------------------------------------------------------------------ */
/* Frame codec                                                               */
/* ------------------------------------------------------------------------ */

#define WSC_FRAME_HEADER_MAX 14
#define WSC_CONTROL_MAX 125

/** struct wsc_frame_header.rsv: RSV1, which permessage-deflate uses (RFC 7692 6). */
#define WSC_RSV1 0x4

struct wsc_frame_header {
    bool fin;
    uint8_t rsv;    /* RSV1..RSV3 as bits 2..0 */
    uint8_t opcode; /* raw 4-bit opcode, not validated by the decoder */
    bool masked;
    uint8_t mask[4];
    uint64_t length;
    uint8_t size; /* bytes the header took on the wire (2..14) */
};

enum wsc_frame_event_type {
    WSC_FRAME_HEADER,  /* a complete header; ev.header is set */
    WSC_FRAME_PAYLOAD, /* a payload chunk (possibly empty) of the current frame */
};

struct wsc_frame_event {
    enum wsc_frame_event_type type;
    struct wsc_frame_header header; /* of the current frame, for both types */
    const uint8_t *data;            /* PAYLOAD: points into the input, as sent */
    size_t len;
    uint64_t remaining; /* PAYLOAD: bytes of this frame still to come */
};

/** Frame decoder state; zero-initialise or call wsc_frame_decoder_init. */
struct wsc_frame_decoder {
    /* private */
    uint8_t hbuf[WSC_FRAME_HEADER_MAX];
    uint8_t hlen;
    bool in_payload;
    struct wsc_frame_header header;
    uint64_t remaining;
};

void wsc_frame_decoder_init(struct wsc_frame_decoder *d);

/**
 * The size of the frame that starts at in[0] (header and payload), without
 * decoding or checking it: 0 with *size set once in[0..len) holds the whole
 * header, else WSC_EAGAIN. Lets a front end see whether a frame would fit its
 * input buffer before feeding it in.
 */
int wsc_frame_peek_size(const uint8_t *in, size_t len, uint64_t *size);

/**
 * Decodes from in[0..len), accepting any split (one byte per call included).
 * Returns 0 with *ev filled: a HEADER event, then one or more PAYLOAD events
 * whose data point into @p in (masked payload is delivered as sent); every
 * frame ends with a PAYLOAD event whose remaining is 0 (of length 0 for an
 * empty frame). Returns WSC_EAGAIN when all input was consumed without an
 * event (header bytes are remembered), or WSC_EFRAME_LEN. *consumed is set on
 * every return.
 */
int wsc_frame_decode(struct wsc_frame_decoder *d, const uint8_t *in, size_t len,
                     size_t *consumed, struct wsc_frame_event *ev);

/**
 * Encodes a frame header into @p out (at least WSC_FRAME_HEADER_MAX bytes) using
 * the shortest length form. A NULL @p mask writes an unmasked header. Returns
 * the header length (2..14).
 */
size_t wsc_frame_header_encode(uint8_t *out, bool fin, uint8_t opcode, uint64_t length,
                               const uint8_t *mask);

/**
 * As wsc_frame_header_encode(), with the reserved bits @p rsv (RSV1..RSV3 as
 * bits 2..0, like struct wsc_frame_header.rsv; e.g. WSC_RSV1) in the first byte.
 */
size_t wsc_frame_header_encode_rsv(uint8_t *out, bool fin, uint8_t rsv, uint8_t opcode,
                                   uint64_t length, const uint8_t *mask);

/**
 * XORs @p len bytes of @p src with @p mask into @p dst (which may equal src),
 * starting at byte @p offset of the payload. Returns offset + len.
 */
uint64_t wsc_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t mask[4],
                  uint64_t offset);

/* ------------------------------------------------------------------------ */
/* Session: messages, control frames, close handshake, limits                */
/* ------------------------------------------------------------------------ */

#define WSC_MAX_MESSAGE_DEFAULT (16u * 1024u * 1024u)
#define WSC_SESSION_OUT_MIN 256 /* fits any control frame */

/** Fills @p buf with @p len CSPRNG bytes; returns 0 or a negative error. */
typedef int (*wsc_random_fn)(void *user, uint8_t *buf, size_t len);

enum wsc_session_state {
    WSC_SESSION_OPEN,        /* data flows both ways */
    WSC_SESSION_CLOSE_SENT,  /* our close is queued/sent; awaiting the peer's */
    WSC_SESSION_CLOSED,      /* both closes exchanged (ours may still be queued) */
    WSC_SESSION_FAILED,      /* a violation or error; a close may be queued */
};

enum wsc_event_type {
    WSC_EV_DATA,  /* a chunk of a text or binary message */
    WSC_EV_PING,  /* a ping; the pong is already queued */
    WSC_EV_PONG,  /* a pong */
    WSC_EV_CLOSE, /* the peer's close frame; our reply is queued if needed */
};

/**
 * One event from wsc_session_next(). data points into the caller's input (DATA)
 * or into the session (control payloads) and is valid until the next call into
 * the session or until the input buffer changes, whichever comes first.
 */
struct wsc_event {
    enum wsc_event_type type;
    uint8_t opcode;     /* DATA: WSC_OP_TEXT or WSC_OP_BINARY of the message */
    bool first;         /* DATA: first chunk of the message */
    bool fin;           /* DATA: last chunk of the message */
    bool frame_fin;     /* DATA: the current frame has its FIN bit */
    const uint8_t *data;
    size_t len;
    uint64_t remaining; /* DATA: bytes of the current frame still to come */
    uint16_t close_code; /* CLOSE: received code, or 1005 when absent */
    /* DATA: the message started with RSV1 (permessage-deflate negotiated): data
     * is compressed payload as sent, to inflate (wsc_deflate_decompress). Its
     * text is not UTF-8-checked here; the layer that inflates must do it. */
    bool compressed;
};

struct wsc_session_config {
    /* 0 = WSC_MAX_MESSAGE_DEFAULT. For a compressed message the header check
     * uses wsc_pmd_wire_limit(max_message) on its wire size; the inflated size
     * is the inflating layer's to check. */
    uint64_t max_message;
    uint8_t *out_buf;      /* output buffer, at least WSC_SESSION_OUT_MIN bytes */
    size_t out_cap;
    wsc_random_fn random;  /* mask keys; required */
    void *random_user;
    /* permessage-deflate was agreed (RFC 7692 6): RSV1 may mark the first frame
     * of a message as compressed, received and sent. Without it RSV1 is 1002. */
    bool permessage_deflate;
};

struct wsc_session {
    /* private */
    struct wsc_frame_decoder dec;
    struct wsc_utf8 utf8;
    enum wsc_session_state state;
    int error;
    uint64_t max_message;
    wsc_random_fn random;
    void *random_user;
    bool pmd;              /* permessage-deflate: RSV1 allowed on message starts */
    /* receive side */
    uint8_t rx_opcode;     /* opcode of the message in progress, 0 = none */
    bool rx_compressed;    /* the message in progress started with RSV1 */
    bool rx_first;         /* next chunk is the first of its message */
    uint64_t rx_msg_len;   /* bytes of the message in progress so far */
    uint8_t ctl[WSC_CONTROL_MAX];
    size_t ctl_len;
    /* send side */
    uint8_t *out;
    size_t out_cap, out_start, out_end;
    uint8_t tx_opcode;      /* opcode of the message being sent, 0 = none */
    uint64_t tx_remaining;  /* payload bytes of the current frame still owed */
    uint64_t tx_offset;     /* payload bytes of the current frame written */
    uint8_t tx_mask[4];
    bool tx_in_frame;
    bool pong_pending;
    uint8_t pong[WSC_CONTROL_MAX];
    size_t pong_len;
    bool ping_pending;
    uint8_t ping[WSC_CONTROL_MAX];
    size_t ping_len;
    bool close_pending;
    uint8_t close_frame[WSC_CONTROL_MAX];
    size_t close_len;
    bool close_queued; /* our close frame is in the output buffer or sent */
    /* close status */
    uint16_t peer_close_code; /* 0 until the peer's close arrives */
    uint16_t local_close_code;
};

/** Prepares a session for an open connection. Returns 0 or WSC_EINVAL. */
int wsc_session_init(struct wsc_session *s, const struct wsc_session_config *cfg);

/**
 * Processes received bytes in[0..len) and returns at most one event.
 * Returns 0 with *ev set; WSC_EAGAIN when all input was consumed and more is
 * needed; WSC_ECLOSED once the close handshake has completed (remaining input
 * is not consumed); or a peer-violation error (WSC_EMASKED ... WSC_EMSG_TOO_BIG)
 * after which the session is FAILED, a close frame with the matching code is
 * queued and every later call returns the same error. Every message byte
 * before the violation has been delivered; *consumed is set on every return
 * and, on an error, points at the first offending byte.
 * Passing a smaller @p len limits the size of a DATA chunk.
 *
 * RSV2 and RSV3 always fail with WSC_ERSV; so does RSV1 unless
 * permessage_deflate is configured, and then too on a continuation or a
 * control frame (RFC 7692 6, 6.1). A message whose first frame has RSV1 is
 * delivered with ev->compressed set and is not UTF-8-checked.
 */
int wsc_session_next(struct wsc_session *s, const uint8_t *in, size_t len,
                     size_t *consumed, struct wsc_event *ev);

/**
 * Starts a frame of @p length payload bytes: a message start (TEXT/BINARY), a
 * continuation (fin=false keeps the message open), or a PING/PONG control frame
 * (fin=true, length <= 125; a close goes through wsc_session_close()). The header is written to the
 * output buffer; the payload follows through wsc_session_write().
 * Returns 0, WSC_EAGAIN if the output buffer has no room for the header (drain
 * it first), WSC_EINVAL on a bad opcode sequence or while a frame is unfinished,
 * WSC_ENOTCONN after a close was sent or the session failed, or the random
 * callback's error.
 */
int wsc_session_frame_begin(struct wsc_session *s, uint8_t opcode, bool fin,
                            uint64_t length);

/**
 * As wsc_session_frame_begin(), with the reserved bits @p rsv of the frame: 0,
 * or WSC_RSV1 on the first frame (TEXT or BINARY) of a message whose payload
 * is compressed with permessage-deflate, only when the session was configured
 * with permessage_deflate. Anything else returns WSC_EINVAL. The payload
 * written is the compressed bytes; the caller compresses.
 */
int wsc_session_frame_begin_rsv(struct wsc_session *s, uint8_t opcode, bool fin,
                                uint8_t rsv, uint64_t length);

/**
 * Masks up to @p len payload bytes of the current frame into the output buffer.
 * Returns 0 with *accepted set (possibly less than len when the buffer is full,
 * 0 meaning drain first), or WSC_EINVAL if no frame is in progress or @p len
 * exceeds what the frame still owes.
 */
int wsc_session_write(struct wsc_session *s, const void *data, size_t len,
                      size_t *accepted);

/** Payload bytes the current outgoing frame still owes (0 when none). */
static inline uint64_t wsc_session_write_remaining(const struct wsc_session *s)
{
    return s->tx_remaining;
}

/**
 * Queues a ping with up to 125 bytes of payload; sent after the frame being
 * written, if any. Returns 0, WSC_EINVAL or WSC_ENOTCONN.
 */
int wsc_session_ping(struct wsc_session *s, const void *payload, size_t len);

/**
 * Starts the close handshake with @p code (a valid code, or 0 for no code) and
 * a UTF-8 @p reason of at most 123 bytes. The close frame is sent after the
 * frame being written. Returns 0, WSC_EINVAL (bad code or reason) or
 * WSC_ENOTCONN (already closing).
 */
int wsc_session_close(struct wsc_session *s, uint16_t code, const char *reason,
                      size_t reason_len);

/**
 * Returns the number of bytes waiting to be sent and points *data at them.
 * Queued control frames are moved into the buffer here, between frames.
 */
size_t wsc_session_pending_output(struct wsc_session *s, const uint8_t **data);

/** Reports that @p n bytes from wsc_session_pending_output() went out. */
void wsc_session_output_sent(struct wsc_session *s, size_t n);

/**
 * Contiguous bytes a new frame (header and payload) can take in the output
 * buffer now, after queued control frames have been placed and unsent output
 * moved to the front. 0 while a control frame still waits for room or a
 * frame is being written (the next frame must wait for it), so a caller that
 * queues whole frames can refuse one that does not fit instead of blocking.
 */
size_t wsc_session_output_room(struct wsc_session *s);

/** Bytes waiting to be sent: the output buffer plus queued control frames. */
size_t wsc_session_queued(const struct wsc_session *s);


/**
 * Payload bytes of the current frame still to come when they are plain
 * message data (an uncompressed data frame, its header decoded), else 0.
 * A front end may read them straight into its message buffer and pass them
 * to wsc_session_next() from there: the DATA event then points at them.
 */
uint64_t wsc_session_data_remaining(const struct wsc_session *s);

/** True when the next input byte starts a frame (no header or payload is
 *  part-way through the decoder). Inline: front ends ask before each frame. */
static inline bool wsc_session_at_frame_start(const struct wsc_session *s)
{
    return !s->dec.in_payload && s->dec.hlen == 0;
}

static inline enum wsc_session_state wsc_session_state(const struct wsc_session *s)
{
    return s->state;
}

/** The error that failed the session, or 0. */
static inline int wsc_session_error(const struct wsc_session *s) { return s->error; }

/**
 * Fails the session with @p err, a violation found by the layer above the core,
 * such as the one that inflates compressed messages (WSC_EINFLATE or WSC_EUTF8:
 * 1007; WSC_EMSG_TOO_BIG: 1009). The session becomes FAILED, the close frame
 * with wsc_error_close_code(err) and a short reason naming the violation
 * ("invalid UTF-8") is queued (none when that code is 0, or when a close was
 * already queued or sent) and every later wsc_session_next() returns
 * @p err. Returns @p err; if the session had already failed, nothing changes
 * and its first error is returned. WSC_EINVAL for an @p err that is not negative.
 */
int wsc_session_fail(struct wsc_session *s, int err);

/** True when the session has nothing more to send and nothing more to expect. */
bool wsc_session_finished(const struct wsc_session *s);

/* ------------------------------------------------------------------------ */
/* HTTP/1.1 response bodies                                                  */
/* ------------------------------------------------------------------------ */

/*
 * The body decoder for an HTTP client built on wsc_handshake_parse() used as a
 * plain response-head parser (wsc_handshake_init() with a NULL request). It
 * decodes Content-Length, chunked (RFC 9112 7.1) and close-delimited bodies
 * from any split of the input, reports body bytes as spans of the input (the
 * chunk framing removed), and stops exactly at the end of the body: bytes
 * after it (the next response, or a new protocol) are never consumed.
 */

#define WSC_EHTTP_LENGTH (-1060)    /* invalid or conflicting Content-Length */
#define WSC_EHTTP_CHUNK (-1061)     /* malformed chunked transfer coding */
#define WSC_EHTTP_TRUNCATED (-1062) /* the stream ended inside the body */
#define WSC_EHTTP_TOO_LARGE (-1063) /* a chunk line or the trailers exceed the limit */

#define WSC_HTTP_CHUNK_LINE_MAX 4096 /* chunk-size line with its extensions */
#define WSC_HTTP_TRAILER_MAX 8192    /* the whole trailer section */

/** How the end of a response body is found (RFC 9112 6.3). */
enum wsc_http_body_mode {
    WSC_HTTP_BODY_NONE,    /* no body: HEAD, 1xx, 204, 304 */
    WSC_HTTP_BODY_LENGTH,  /* exactly Content-Length bytes */
    WSC_HTTP_BODY_CHUNKED, /* chunked transfer coding */
    WSC_HTTP_BODY_CLOSE,   /* everything until the connection closes */
};

enum wsc_http_body_event_type {
    WSC_HTTP_BODY_DATA,           /* body bytes: data/len point into the input */
    WSC_HTTP_BODY_CHUNK_HEADER,   /* a chunk-size line; chunk_size set (0: last chunk) */
    WSC_HTTP_BODY_CHUNK_COMPLETE, /* a chunk ended (the last one: after its trailers) */
    WSC_HTTP_BODY_END,            /* the body is complete */
};

struct wsc_http_body_event {
    enum wsc_http_body_event_type type;
    const uint8_t *data; /* DATA: valid as long as the input is */
    size_t len;
    uint64_t chunk_size; /* CHUNK_HEADER */
};

/** Body decoder state in caller memory; set up with wsc_http_body_init(). */
struct wsc_http_body {
    /* private */
    uint8_t mode;
    uint8_t state;
    uint8_t digits;      /* hex digits of the chunk size so far */
    uint64_t remaining;  /* body (LENGTH) or chunk (CHUNKED) bytes still to come */
    uint64_t chunk_size; /* the chunk size being read */
    size_t line_len;     /* bytes of the current chunk-size line */
    size_t trailer_len;  /* bytes of the trailer section so far */
    int error;
};

/**
 * Chooses the body mode of a response whose head @p hs has parsed (RFC 9112
 * 6.3): none for a response to HEAD (@p head_request) and for 1xx, 204 and 304;
 * chunked when the final transfer coding is chunked; close-delimited for any
 * other Transfer-Encoding (which overrides Content-Length); Content-Length when
 * present (a list of identical values counts as one); close-delimited
 * otherwise. A 101 or a 2xx to CONNECT ends HTTP: the caller decides that.
 * Returns 0 with *mode and *length (LENGTH only) set, or WSC_EHTTP_LENGTH for
 * a Content-Length that is not a decimal number or that conflicts with another.
 */
int wsc_http_body_mode_for(const struct wsc_handshake *hs, bool head_request,
                           enum wsc_http_body_mode *mode, uint64_t *length);

/** Prepares @p b for one body. @p length is used in LENGTH mode. Returns 0 or WSC_EINVAL. */
int wsc_http_body_init(struct wsc_http_body *b, enum wsc_http_body_mode mode,
                       uint64_t length);

/**
 * Decodes body bytes in[0..len), accepting any split (one byte per call
 * included). Returns 0 with *ev set: DATA (a span of the input, never empty),
 * CHUNK_HEADER, CHUNK_COMPLETE, or END once the body is complete (END consumes
 * nothing more and is returned again by every later call, so in[*consumed..len)
 * is what follows the body); WSC_EAGAIN when all input was consumed without an
 * event; or WSC_EHTTP_CHUNK / WSC_EHTTP_TOO_LARGE with *consumed at the
 * offending byte (every later call returns the same error). *consumed is set
 * on every return. Chunk extensions and trailer fields are checked for
 * syntax and size, then skipped.
 */
int wsc_http_body_decode(struct wsc_http_body *b, const uint8_t *in, size_t len,
                         size_t *consumed, struct wsc_http_body_event *ev);

/**
 * Reports the end of the stream. Returns 0 with an END event when the body is
 * complete (a close-delimited body always is), or WSC_EHTTP_TRUNCATED.
 */
int wsc_http_body_eof(struct wsc_http_body *b, struct wsc_http_body_event *ev);

/** True once the decoder has reached the end of the body. */
bool wsc_http_body_done(const struct wsc_http_body *b);

#ifdef __cplusplus
}
#endif
#endif /* WSC_CORE_H */
