/*
 * wsc.h - the wsc WebSocket client: URLs, transports and the blocking API.
 *
 * A connection (struct wsc_conn) owns one input buffer. Every byte read from
 * the transport lands there and leaves only when a parser reports it consumed:
 * the handshake parser takes the 101 head, and whatever arrived with it is
 * decoded as frames before the transport is read again. Nothing is dropped at
 * any layer boundary.
 *
 * A connection is used by one thread at a time.
 */
#ifndef WSC_H
#define WSC_H

#include "wsc_core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WSC_VERSION "0.1.0"

/* ------------------------------------------------------------------------ */
/* Transports                                                                */
/* ------------------------------------------------------------------------ */

#define WSC_WAIT_READ 1
#define WSC_WAIT_WRITE 2

/**
 * A byte stream. Transports move bytes and report "would block"; they never
 * parse HTTP or WebSocket. TLS and proxy tunnels stack on another transport.
 */
struct wsc_transport_ops {
    const char *name;
    /** Sends up to @p len bytes: 0 with *sent > 0, WSC_EAGAIN, or an error. */
    int (*send)(void *ctx, const uint8_t *buf, size_t len, size_t *sent);
    /** Receives up to @p cap bytes: 0 with *got > 0, 0 with *got == 0 at end of
     *  stream, WSC_EAGAIN, or an error. */
    int (*recv)(void *ctx, uint8_t *buf, size_t cap, size_t *got);
    /** Waits for WSC_WAIT_* @p events; returns the ready mask, 0 on timeout, or
     *  an error. @p timeout_ms < 0 waits forever. */
    int (*wait)(void *ctx, int events, int timeout_ms);
    /** Bytes already received and held inside the transport (e.g. decrypted
     *  TLS records) that wait() would not report. */
    size_t (*pending)(void *ctx);
    /** Ends the sending direction (TCP FIN); 0 or an error. */
    int (*shutdown)(void *ctx);
    /** Releases the transport; the context is unusable afterwards. */
    void (*close)(void *ctx);
    /** The descriptor an application may poll for readability, or -1. */
    int (*fd)(void *ctx);
    /** Optional (NULL: wait() then recv()): recv() that first waits up to
     *  @p timeout_ms (> 0) for input, in one call where the transport can.
     *  WSC_EAGAIN when nothing came, possibly before the time was up. */
    int (*recv_wait)(void *ctx, uint8_t *buf, size_t cap, size_t *got, int timeout_ms);
};

struct wsc_transport {
    const struct wsc_transport_ops *ops;
    void *ctx;
};

/** Plain TCP over a POSIX socket. */
struct wsc_tcp {
    int fd;
    bool owned; /* close fd on close() */
    bool blocking_fd;     /* wsc_tcp_connect() made fd blocking: recv_wait() can block */
    uint16_t rcvtimeo_cs; /* its SO_RCVTIMEO, in 10 ms units; 0: not set */
    /* wsc_tcp_connect_start(): the addresses still to try, and how the
     * attempts so far ended */
    void *ai_list, *ai_next;
    unsigned refused, failed;
    void *resolving; /* a name lookup in progress; fd is its pipe meanwhile */
};

/**
 * Resolves @p host (getaddrinfo, IPv4 and IPv6) and tries each address in turn
 * with a non-blocking connect bounded by @p timeout_ms overall (< 0: none).
 * The socket gets TCP_NODELAY; once connected it is made blocking (O_NONBLOCK
 * cleared: the transport passes MSG_DONTWAIT on every call except
 * recv_wait(), whose one blocking recv() is bounded by SO_RCVTIMEO; where
 * MSG_DONTWAIT does not exist it stays non-blocking). Returns 0,
 * WSC_ERESOLVE, WSC_ECONNREFUSED, WSC_ETIMEDOUT or WSC_ECONNECT.
 */
int wsc_tcp_connect(struct wsc_tcp *t, const char *host, uint16_t port, int timeout_ms);

/**
 * The same connect without waiting, for event loops. An IP literal is
 * connected to at once; a name is looked up on a helper thread (getaddrinfo
 * has no non-blocking form; if no thread can be started, the lookup blocks).
 * Returns 0 when already connected, WSC_EAGAIN while the lookup or the
 * connect is in progress: wait until t->fd is ready for
 * wsc_tcp_connect_events(t) (READ for the lookup's pipe, WRITE for the
 * socket), then call wsc_tcp_connect_finish(). Or WSC_ERESOLVE,
 * WSC_ECONNREFUSED, WSC_ECONNECT. Call wsc_tcp_connect_abort() to give up.
 */
int wsc_tcp_connect_start(struct wsc_tcp *t, const char *host, uint16_t port);

/** What wsc_tcp_connect_finish() waits for: WSC_WAIT_READ while the name
 *  lookup runs, WSC_WAIT_WRITE while the socket connects. */
int wsc_tcp_connect_events(const struct wsc_tcp *t);

/** Completes wsc_tcp_connect_start() once t->fd is ready: 0 when connected,
 *  WSC_EAGAIN while still in progress (the lookup done and a connect started,
 *  or the next address tried: t->fd is then a new descriptor, never with the
 *  number of the one it replaces), or the error of the last address. */
int wsc_tcp_connect_finish(struct wsc_tcp *t);

/** Abandons a connect in progress and frees its address list. */
void wsc_tcp_connect_abort(struct wsc_tcp *t);

/** Wraps an already connected socket; @p take_ownership closes it on close(). */
void wsc_tcp_adopt(struct wsc_tcp *t, int fd, bool take_ownership);

/** Fills @p tr with the TCP operations on @p t. */
void wsc_tcp_transport(struct wsc_tcp *t, struct wsc_transport *tr);

/** Fills @p buf from the operating system's CSPRNG (a wsc_random_fn). */
int wsc_platform_random(void *user, uint8_t *buf, size_t len);

/** Monotonic milliseconds. */
uint64_t wsc_platform_now_ms(void);

/** Monotonic microseconds (round-trip times). */
uint64_t wsc_platform_now_us(void);

/** Sleeps at least @p ms milliseconds (reconnect backoff). */
void wsc_platform_sleep_ms(int ms);

/* ------------------------------------------------------------------------ */
/* Blocking API                                                              */
/* ------------------------------------------------------------------------ */

/** TLS settings for wss:// (see wsc_tls.h). Verification is on by default. */
struct wsc_tls_options {
    /* PEM CA bundle; NULL (with ca_path NULL) = the system trust store:
     * OpenSSL's default paths, or for mbedTLS $SSL_CERT_FILE or the first
     * bundle found in the usual places (/etc/ssl/certs/ca-certificates.crt...). */
    const char *ca_file;
    /* Directory of CA certificates, or NULL: OpenSSL looks them up by subject
     * hash (<hash>.0, see "openssl rehash"); mbedTLS loads every file in it. */
    const char *ca_path;
    const char *cert_file; /* client certificate chain (mutual TLS), PEM, or NULL */
    const char *key_file;  /* its private key, PEM, unencrypted; NULL = in cert_file */
    bool insecure; /* skip certificate AND host-name verification (explicit opt-in) */
};

/** Allocator hooks: malloc and free are set together (else WSC_EINVAL) or both
 *  left NULL for the C library; without realloc, growing uses malloc + free. */
struct wsc_allocator {
    void *(*malloc)(void *user, size_t size);
    void *(*realloc)(void *user, void *ptr, size_t size);
    void (*free)(void *user, void *ptr);
    void *user;
};

enum wsc_trace_kind {
    WSC_TRACE_REQUEST,  /* one line of the request head we sent */
    WSC_TRACE_RESPONSE, /* one line of the response head */
    WSC_TRACE_RECV,     /* a control frame received, described in text */
    WSC_TRACE_SEND,     /* a control frame sent, described in text */
};

/** Receives a line of trace text; @p text is valid only during the call. */
typedef void (*wsc_trace_fn)(void *user, enum wsc_trace_kind kind, const char *text,
                             size_t len);

enum wsc_conn_state {
    WSC_CONN_IDLE,        /* before wsc_connect */
    WSC_CONN_CONNECTING,  /* TCP connect */
    WSC_CONN_HANDSHAKING, /* request sent, awaiting the 101 */
    WSC_CONN_OPEN,        /* messages flow */
    WSC_CONN_CLOSING,     /* a close frame was sent or received */
    WSC_CONN_CLOSED,      /* close handshake done, transport closed */
    WSC_CONN_FAILED,      /* an error ended the connection; see last error */
};

struct wsc_conn;
struct wsc_tls;
struct wsc_deflate; /* <wsc/wsc_deflate.h> */

/** Called on every state change; @p c may be inspected (state, error, close
 *  codes, stats) but not used for I/O from inside the callback. */
typedef void (*wsc_state_fn)(void *user, const struct wsc_conn *c,
                             enum wsc_conn_state state);

struct wsc_options {
    int connect_timeout_ms;   /* TCP connect and handshake; default 10000 */
    uint64_t max_message;     /* default WSC_MAX_MESSAGE_DEFAULT (16 MiB) */
    size_t max_head;          /* response head limit; default 8192 */
    size_t max_headers;       /* response header-count limit; default 64 */
    bool keep_response_head;  /* keep the 101's head (c->hs) once open; by default
                                 its max_head + max_headers bytes are freed then */
    size_t rx_buf_size;       /* connection input buffer; default 65550: a 64 KiB
                                 message and its header, delivered in place */
    size_t tx_buf_size;       /* output buffer (holds the whole request head); default
                                 65550: a 64 KiB message and its header in one write */
    uint8_t *rx_buf;          /* caller memory of rx_buf_size bytes, or NULL to allocate */
    uint8_t *tx_buf;          /* caller memory of tx_buf_size bytes, or NULL to allocate */
    /* wsc_connect_transport() only: bytes already read from the transport that
     * belong to this connection, such as what wsc_proxy_connect() left behind
     * the proxy's reply. They become the start of the input buffer (so at most
     * rx_buf_size bytes; preread may point into rx_buf itself) and are parsed
     * before the transport is read. Read only during the call. */
    const uint8_t *preread;
    size_t preread_len;
    const char *origin;
    const char *const *protocols;
    size_t protocol_count;
    const struct wsc_header *headers;
    size_t header_count;
    struct wsc_tls_options tls; /* wss://: CA, client certificate, insecure */
    const char *auth_bearer;  /* sends "Authorization: Bearer TOKEN"; URL userinfo
                                 ("ws://user:pass@host/") sends Basic instead */
    const char *proxy;        /* HTTP CONNECT proxy "http://[user:pass@]host[:port]"
                                 (see wsc_proxy.h); "" = none, even from the env */
    bool proxy_from_env;      /* without proxy: http_proxy, https_proxy, all_proxy
                                 and no_proxy as curl reads them */
    int max_redirects;        /* follow 301/302/307/308 up to this many hops; 0 = off */
    bool allow_tls_downgrade; /* let a redirect lead from wss:// to ws:// */
    bool report_control;      /* wsc_recv() also returns PING/PONG events */
    /* permessage-deflate (RFC 7692), off by default. With compress set, the
     * request offers deflate_offer (all zero: "permessage-deflate;
     * client_max_window_bits", zlib's defaults); a build without zlib fails
     * wsc_connect() with WSC_EINVAL. The server may decline: then messages
     * flow uncompressed (wsc_conn_deflate() says what was agreed). Received
     * compressed messages are inflated (max_message bounds the inflated size,
     * checked while inflating: 1009 when exceeded) and their text checked as
     * UTF-8; sent messages are compressed, except whole messages shorter than
     * compress_min bytes (default 0: every message), which go out as they
     * are. A message sent in fragments is compressed whatever its size. */
    bool compress;
    struct wsc_pmd_offer deflate_offer;
    size_t compress_min;
    int ping_interval_ms;     /* keepalive: ping after this long without input; 0 = off */
    int pong_timeout_ms;      /* fail if nothing arrives this long after a keepalive
                                 ping (WSC_EPEER_TIMEOUT); default 10000 */
    wsc_state_fn on_state;
    void *state_user;
    wsc_trace_fn trace;
    void *trace_user;
    wsc_random_fn random;     /* default wsc_platform_random */
    void *random_user;
    struct wsc_allocator alloc;
};

/** Fills @p o with the defaults above. */
void wsc_options_init(struct wsc_options *o);

#define WSC_ERROR_DETAIL_MAX 256
#define WSC_ERROR_BODY_MAX 1024

/** Per-connection counters (wsc_conn_stats); they survive wsc_reconnect(). */
struct wsc_stats {
    uint64_t messages_in, messages_out; /* whole data messages */
    uint64_t payload_in, payload_out;   /* data payload bytes */
    uint64_t bytes_in, bytes_out;       /* bytes on the transport, headers included */
    uint64_t pings_in, pongs_in, pings_out, pongs_out;
    uint64_t last_activity_ms; /* wsc_platform_now_ms() of the last byte in or out */
    int64_t last_rtt_us;       /* ping to matching pong, latest; -1 until measured */
    uint32_t reconnects;
    /* permessage-deflate: payload bytes of compressed messages as sent on the
     * wire, and the same messages uncompressed (payload_* count them so too). */
    uint64_t compressed_in, compressed_out;
    uint64_t uncompressed_in, uncompressed_out;
};

/**
 * A connection. Fields are private; the struct is public so it can live in
 * static, stack or pooled memory.
 */
struct wsc__proxying; /* private to the library */

struct wsc_conn {
    enum wsc_conn_state state;
    struct wsc_options opt;
    struct wsc_url *url;  /* parsed, while connecting (freed once open) */
    char *url_text;       /* as given, for wsc_reconnect() */
    struct wsc_tcp tcp;
    struct wsc_transport tr;
    bool tr_open;
    struct wsc_tls *tls; /* the TLS layer of tr, for error details; NULL for ws:// */
    struct wsc_request_info req;
    struct wsc_header *req_headers; /* the user's headers plus Authorization */
    char *auth_value;
    struct wsc_handshake hs;
    struct wsc_header *hs_headers;
    char *hs_head;
    struct wsc_session session;
    uint8_t *in;  /* the connection's one input buffer */
    size_t in_cap, in_start, in_end;
    uint8_t *out;
    size_t out_cap;
    bool in_owned, out_owned; /* allocated here, not supplied in the options */
    bool peer_eof;
    uint8_t *msg;  /* whole-message reassembly, grown through the allocator */
    size_t msg_len, msg_cap;
    uint8_t msg_opcode;
    /* permessage-deflate, when agreed: the codec, and a scratch buffer for
     * compressed output and wsc_recv_event()'s inflated chunks. */
    struct wsc_deflate *deflate;
    uint8_t *zbuf;
    size_t zbuf_cap;
    struct {                /* the compressed message being received */
        bool active;        /* one is in progress */
        bool pending;       /* compressed bytes or inflated output still due */
        bool first;         /* nothing of it delivered yet */
        bool fin, frame_fin; /* the pending bytes end the message / a FIN frame */
        uint8_t opcode;
        size_t off, len;    /* pending compressed bytes: in[off..off+len), which
                               the session consumed; never moved until inflated */
        uint64_t frame_left; /* compressed bytes of that frame not yet received */
        struct wsc_utf8 utf8;
        int error;          /* found after the bytes before it; reported next */
    } zrx;
    struct {                /* the compressed message being sent */
        bool active, started; /* in progress; its first frame (RSV1) is out */
        uint8_t opcode;
    } ztx;
    bool chunk_first;    /* a skipped empty chunk started a message */
    uint64_t rx_offset;  /* bytes of the frame stream consumed so far */
    const char *close_reason; /* the peer's, in the session's control buffer */
    size_t close_reason_len;
    struct wsc_stats stats;
    uint8_t mask_pool[64];     /* CSPRNG bytes for mask keys, drawn in batches */
    size_t mask_pool_left;
    uint64_t last_rx_ms;       /* keepalive: last byte received */
    uint64_t ping_sent_ms;     /* keepalive: last ping we sent */
    uint64_t ping_sent_us;     /* the same, for the round-trip time */
    bool ping_unanswered;      /* nothing has arrived since that ping */
    bool rtt_pending;          /* the pong for ping_payload is still due */
    uint8_t ping_payload[32];
    size_t ping_payload_len;
    uint32_t ping_counter;
    /* event-driven operation (wsc_conn_start): nothing waits */
    bool nonblock;
    uint8_t phase;             /* how far connecting has got */
    uint8_t tls_want;          /* TLS handshake or proxy exchange waits to read/write */
    uint8_t redirects;         /* event-driven: redirects followed so far */
    struct wsc__proxying *proxying; /* the CONNECT exchange, while it runs */
    size_t req_len, req_sent;  /* the request head in out[], and how much went */
    uint64_t connect_deadline; /* connecting must be done by then */
    uint64_t close_deadline;   /* our close must be answered by then, or 0 */
    uint64_t linger_until;     /* closing: the transport is closed by then */
    uint64_t call_deadline;    /* this call's deadline once read, else 0 */
    int call_timeout_ms;
    bool lingering, shut;      /* draining the peer after a close; FIN sent */
    bool keep_transport;       /* a failure leaves the transport open (a redirect
                                  may follow, on a socket with a new number) */
    bool rx_drained;           /* the last read emptied the socket */
    int error;
    char *detail;   /* WSC_ERROR_DETAIL_MAX bytes, allocated on failure */
    uint8_t *body; /* start of a non-101 response body (WSC_ERROR_BODY_MAX) */
    size_t body_len;
};

/** A received message or control event (wsc_recv). */
struct wsc_message {
    uint8_t opcode;      /* WSC_OP_TEXT, _BINARY, or _PING/_PONG if reported */
    const uint8_t *data; /* valid until the next call on the connection */
    size_t len;
};

/** A chunk of a message (wsc_recv_chunk). */
struct wsc_chunk {
    uint8_t opcode;     /* WSC_OP_TEXT or WSC_OP_BINARY of the message */
    bool first;         /* first chunk of the message */
    bool fin;           /* last chunk of the message */
    size_t len;         /* bytes written to the caller's buffer */
    /* Bytes of the current frame still to come. For a compressed message
     * (permessage-deflate) the inflated size is unknown until the end: then
     * remaining is only 0 or not, nonzero while the current frame has more to
     * deliver (it counts the frame's compressed bytes not yet inflated, or is 1
     * while only inflated output is left). Use fin for the message's end. */
    uint64_t remaining;
};

/**
 * Connects to a ws:// URL and performs the opening handshake. @p c is caller
 * memory; @p opt may be NULL for defaults and is copied (the strings and arrays
 * it points to must stay valid until wsc_conn_free). Returns 0, or an error
 * with wsc_conn_detail() explaining it: WSC_EURL, WSC_ENOTLS, WSC_ERESOLVE,
 * WSC_ECONNREFUSED, WSC_ECONNECT, WSC_ETIMEDOUT, WSC_EHEADER, a WSC_EHS_*
 * handshake error, WSC_ENOMEM. Call wsc_conn_free() in every case.
 */
int wsc_connect(struct wsc_conn *c, const char *url, const struct wsc_options *opt);

/**
 * Performs the opening handshake for @p url over @p tr, a transport that is
 * already connected (an adopted socket, a tunnel, a test transport); the URL's
 * scheme only sets the default port left out of Host. The connection owns the
 * transport from here on and closes it in wsc_close()/wsc_conn_free(), even when
 * this call fails. Bytes already read from @p tr (opt->preread, e.g. behind a
 * proxy's CONNECT reply) are parsed before @p tr is read. Returns as
 * wsc_connect() without the connect errors, plus WSC_ENOBUFS when preread_len
 * exceeds the input buffer.
 */
int wsc_connect_transport(struct wsc_conn *c, const struct wsc_transport *tr,
                          const char *url, const struct wsc_options *opt);

/**
 * Sends one whole message (WSC_OP_TEXT or WSC_OP_BINARY) as a single frame,
 * waiting at most @p timeout_ms (< 0: forever). Text is not validated; sending
 * valid UTF-8 is the caller's duty. With permessage-deflate agreed the message
 * is compressed (see wsc_options.compress_min) and sent as one or more frames
 * of compressed output. Returns 0, WSC_ETIMEDOUT (the message may
 * be partly sent; the connection is then failed), WSC_ENOTCONN, WSC_ENOMEM
 * (the compressor could not be set up: the connection closes with 1011), or
 * an error.
 */
int wsc_send(struct wsc_conn *c, uint8_t opcode, const void *data, size_t len,
             int timeout_ms);

/**
 * Sends one fragment: @p opcode is TEXT or BINARY for the first fragment and
 * WSC_OP_CONTINUATION afterwards; @p fin ends the message. With
 * permessage-deflate agreed, a fragmented message is compressed as one
 * stream: frames carry the compressed output as the compressor releases it,
 * so a fragment may be held back until later ones (all of it is out once the
 * fin fragment returns), and the frames need not match the fragments.
 */
int wsc_send_fragment(struct wsc_conn *c, uint8_t opcode, const void *data, size_t len,
                      bool fin, int timeout_ms);

/** Sends a ping with up to 125 bytes of payload. */
int wsc_ping(struct wsc_conn *c, const void *data, size_t len, int timeout_ms);

/**
 * Receives the next whole message, reassembling fragments up to max_message.
 * Pings are answered automatically. Returns 0 with *m set; WSC_ETIMEDOUT when
 * nothing complete arrived in time (no data is lost: a partial message stays
 * buffered; bytes still arriving at the deadline are read for at most one more
 * second, so a peer that never stops sending cannot hold any call longer); WSC_ECLOSED when the peer closed (see wsc_conn_close_code()); a
 * peer violation (the matching close code has been sent); WSC_EEOF,
 * WSC_ECONNRESET, WSC_ENOMEM, or WSC_ENOTCONN. A compressed message is
 * inflated into the reassembly buffer, never pointed to in place: more than
 * max_message inflated bytes fail with WSC_EMSG_TOO_BIG (close 1009) after
 * at most max_message + 1 bytes of inflating and of buffer; data that is not
 * valid DEFLATE fails with WSC_EINFLATE and text that is not UTF-8 with
 * WSC_EUTF8 (both close 1007).
 */
int wsc_recv(struct wsc_conn *c, struct wsc_message *m, int timeout_ms);

/**
 * Receives the next chunk of a message into @p buf (at most @p cap bytes), for
 * messages of any size in bounded memory. Compressed messages arrive inflated
 * (see wsc_chunk.remaining). Same returns as wsc_recv(); when a compressed
 * message turns out invalid (bad DEFLATE data or UTF-8, or over max_message),
 * the valid bytes before the fault are delivered first and the next call
 * returns the error.
 */
int wsc_recv_chunk(struct wsc_conn *c, void *buf, size_t cap, struct wsc_chunk *ch,
                   int timeout_ms);

/**
 * Receives the next event without reassembling or copying, for front ends that
 * stream frame by frame (the Zephyr layer): a DATA chunk of at most @p max_len
 * bytes of one frame (an empty frame gives one empty chunk; remaining and
 * frame_fin describe the frame), or a PING or PONG whatever report_control
 * says (a ping's pong is already sent, or queued if the socket was full).
 * ev->data points into the connection and is valid until the next call on
 * @p c. A compressed message comes inflated, with ev->compressed set, in
 * chunks that never are empty unless they end the message; remaining then
 * means what it means in struct wsc_chunk, and a fault is reported as
 * wsc_recv_chunk() reports it. Returns 0, WSC_EINVAL (max_len 0), or as
 * wsc_recv(): WSC_ETIMEDOUT, WSC_ECLOSED once the peer's close arrived (see wsc_conn_close_code() and
 * wsc_conn_close_reason()), a peer violation, WSC_EEOF, WSC_ENOTCONN...
 */
int wsc_recv_event(struct wsc_conn *c, struct wsc_event *ev, size_t max_len,
                   int timeout_ms);

/** Sends whatever output is queued (pongs, close replies) within @p timeout_ms. */
int wsc_flush(struct wsc_conn *c, int timeout_ms);

/**
 * Starts the close handshake: sends a close frame with @p code (0 = none) and a
 * UTF-8 @p reason (at most 123 bytes) and returns without waiting. Messages the
 * server sent before its close reply are still delivered by wsc_recv(), which
 * returns WSC_ECLOSED once the reply arrives. Returns 0 (also when closing has
 * already started), WSC_EINVAL (bad code or reason), WSC_ENOTCONN, or a send
 * error.
 */
int wsc_close_start(struct wsc_conn *c, uint16_t code, const char *reason, int timeout_ms);

/**
 * Closes: sends a close frame with @p code (0 = none) and @p reason, waits up
 * to @p timeout_ms for the peer's close (data arriving meanwhile is discarded),
 * then closes the transport. Returns 0 after a complete close handshake, or
 * the error that prevented it. Safe to call in any state.
 */
int wsc_close(struct wsc_conn *c, uint16_t code, const char *reason, int timeout_ms);

/** Closes the transport if open and frees every buffer. */
void wsc_conn_free(struct wsc_conn *c);

/** The socket to poll for readability, or -1. */
int wsc_conn_fd(const struct wsc_conn *c);

/**
 * True when input is already buffered (in the connection or the transport),
 * so wsc_recv() can make progress without waiting for the socket: check this
 * before polling the descriptor.
 */
bool wsc_conn_has_buffered_input(const struct wsc_conn *c);

static inline enum wsc_conn_state wsc_conn_state(const struct wsc_conn *c)
{
    return c->state;
}

/** The error that ended the connection, or 0. */
static inline int wsc_conn_error(const struct wsc_conn *c) { return c->error; }

/** A sentence describing the last error, with specifics (never NULL). */
const char *wsc_conn_detail(const struct wsc_conn *c);

/** HTTP status of the handshake response (101 on success), 0 if none yet. */
int wsc_conn_http_status(const struct wsc_conn *c);

/** The subprotocol the server selected, or NULL. */
const char *wsc_conn_protocol(const struct wsc_conn *c);

/** The permessage-deflate parameters agreed in the handshake, or NULL when the
 *  connection runs uncompressed (not offered, or declined by the server). */
const struct wsc_pmd_params *wsc_conn_deflate(const struct wsc_conn *c);

/** The start of a non-101 response body (at most WSC_ERROR_BODY_MAX bytes). */
const uint8_t *wsc_conn_error_body(const struct wsc_conn *c, size_t *len);

/** The close code the peer sent (1005 if its close had none), or 0. */
uint16_t wsc_conn_close_code(const struct wsc_conn *c);

/** Copies the connection's counters into @p st. */
void wsc_conn_stats(const struct wsc_conn *c, struct wsc_stats *st);

/** The close code wsc sent (ours, or the echo of the peer's), or 0. */
uint16_t wsc_conn_local_close_code(const struct wsc_conn *c);

/**
 * Milliseconds until the connection's next timer (a keepalive ping or the pong
 * deadline; for wsc_conn_start() connections also the connect and close
 * timeouts), or -1 when none. A blocking-API application that polls the
 * descriptor itself bounds its wait by this and then calls wsc_recv(c, m, 0),
 * which runs timers; an event-driven one calls wsc_conn_process(c, 0).
 */
int wsc_conn_timer_ms(const struct wsc_conn *c);

/* ------------------------------------------------------------------------ */
/* Event-driven API                                                          */
/* ------------------------------------------------------------------------ */

/*
 * For applications that run their own loop over many connections (poll,
 * epoll, kqueue, an RTOS scheduler). A connection started here never waits;
 * the loop calls in when its socket is ready or its timer is due:
 *
 *   wsc_conn_start(c, url, &opt);
 *   loop:
 *     poll wsc_conn_fd(c) for wsc_conn_interest(c) (READ/WRITE), with a
 *       timeout of wsc_conn_timer_ms(c);
 *     wsc_conn_process(c, ready);        connect steps, queued output, timers
 *     while (wsc_recv(c, &m, 0) == 0)    every message read so far; WSC_EAGAIN
 *       handle(m);                       when the socket has nothing more
 *     stop when wsc_conn_interest(c) == 0 (closed or failed), then
 *     wsc_conn_free(c).
 *
 * The same receive, send and close functions as the blocking API work on such
 * a connection, with these differences: they ignore timeout_ms and never wait.
 * wsc_recv(), wsc_recv_chunk() and wsc_recv_event() return WSC_EAGAIN when no
 * complete event is buffered and the socket has nothing more (and while the
 * connection is still being set up) (read until then:
 * with edge-triggered epoll this drains the socket, and TLS never keeps
 * decrypted bytes that poll() cannot see). wsc_send() and wsc_send_fragment()
 * queue the frame whole in the output buffer (tx_buf_size bytes: the bound on
 * queued bytes) without writing: wsc_conn_process() writes what is queued
 * (wsc_conn_interest() asks for WRITE while anything is), so the sends of one
 * turn of the loop leave together in large writes. WSC_EAGAIN means the queue
 * has no room for the frame now (nothing was queued: try again once
 * wsc_conn_process() has written some out), WSC_EMSGSIZE that it can never
 * fit (send it in fragments, or use a bigger tx buffer). wsc_close() starts the close and returns
 * WSC_EAGAIN; its timeout_ms bounds the wait for the server's close frame
 * (wsc_close_start(): 5 s), after which the connection fails with
 * WSC_ETIMEDOUT. Keepalive pings and pongs run from wsc_conn_process().
 *
 * Connecting: nothing waits. A host name is looked up on a short-lived helper
 * thread (getaddrinfo has no non-blocking form), the connection meanwhile
 * asking for READ on a pipe that becomes readable with the answer (an IP
 * literal needs no lookup; if no thread can be started, the lookup blocks).
 * The TCP connect, the TLS handshake and the WebSocket handshake run in the
 * loop, all within connect_timeout_ms. Through a proxy the TCP connect to it and the CONNECT
 * exchange run in the loop too (the exchange's state, about 6 KB, is
 * allocated until the tunnel is open). With max_redirects, a 301/302/307/308
 * is followed in the loop as wsc_connect() follows it (connect_timeout_ms
 * then applies to each hop). The descriptor changes from the lookup's pipe to
 * the socket, while addresses are tried and when a redirect is followed: read
 * wsc_conn_fd() after each call.
 * A replacement never has the number of the descriptor it replaces (that one
 * is closed only after the new one exists), so comparing numbers is enough to
 * know when to register the new one (epoll drops a closed descriptor).
 */

/**
 * Starts connecting to @p url without waiting. Returns 0 (in progress, or
 * already open: see wsc_conn_state()) or a failure as wsc_connect() does.
 * Call wsc_conn_free() in every case.
 */
int wsc_conn_start(struct wsc_conn *c, const char *url, const struct wsc_options *opt);

/** wsc_connect_transport() without waiting: @p tr must return WSC_EAGAIN
 *  rather than block. */
int wsc_conn_start_transport(struct wsc_conn *c, const struct wsc_transport *tr,
                             const char *url, const struct wsc_options *opt);

/** What the connection waits for: WSC_WAIT_READ and/or WSC_WAIT_WRITE, or 0
 *  once its transport is closed (the connection is done). */
int wsc_conn_interest(const struct wsc_conn *c);

/**
 * Advances the connection: the connect and handshake steps, queued output
 * (when @p ready has WSC_WAIT_WRITE or output is queued), timers (keepalive,
 * connect and close timeouts) and the closing drain. Call it when the socket
 * is ready (@p ready: the WSC_WAIT_* bits seen) or the timer is due (0).
 * Returns 0, or the error that ended the connection (see wsc_conn_detail()).
 */
int wsc_conn_process(struct wsc_conn *c, int ready);

/** Bytes queued for sending and not yet written to the socket. */
size_t wsc_conn_queued(const struct wsc_conn *c);

/** Reconnect policy: exponential backoff with jitter. */
struct wsc_reconnect {
    int min_delay_ms;   /* first delay; default 500 */
    int max_delay_ms;   /* cap; default 30000 */
    double factor;      /* growth per attempt; default 2.0 */
    double jitter;      /* each delay is scaled by 1 +- jitter (0..1); default 0.2 */
    int max_attempts;   /* 0 = unlimited */
    /** Called before each attempt with the delay about to be slept; a non-zero
     *  return stops reconnecting (wsc_reconnect returns WSC_ECONNECT). */
    int (*before_attempt)(void *user, int attempt, int delay_ms);
    void *user;
};

/** Fills @p r with the defaults above. */
void wsc_reconnect_init(struct wsc_reconnect *r);

/**
 * Re-establishes a connection made with wsc_connect() after it failed or
 * closed: same URL and options, buffers and counters kept. Sleeps the backoff
 * delay before each attempt (the first one included). Messages are never
 * queued across an outage: a wsc_send() while the connection is down fails
 * with the error that ended it (WSC_ENOTCONN after a close) and sends nothing, and what arrived before the failure
 * was delivered before it was reported. Returns 0 once open, or the last
 * attempt's error when max_attempts is exhausted or the callback stops it.
 */
int wsc_reconnect(struct wsc_conn *c, const struct wsc_reconnect *policy);

/** The reason the peer gave in its close frame (UTF-8, may be empty). */
const char *wsc_conn_close_reason(const struct wsc_conn *c, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* WSC_H */
