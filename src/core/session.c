/*
 * RFC 6455 session rules on top of the frame codec: messages and fragmentation
 * (5.4), control frames (5.5), the close handshake (5.5.1, 7), UTF-8 (8.1) and
 * size limits, plus the framing side of permessage-deflate (RFC 7692 6: RSV1
 * marks compressed messages; inflating them is the layer above's job). Output
 * is pulled: frames are written into the caller's output buffer and
 * wsc_session_pending_output() hands them to the front end.
 */
#include <string.h>

#include "core/wsc_internal.h"

static bool is_control(uint8_t op) { return (op & 0x8) != 0; }

int wsc_session_init(struct wsc_session *s, const struct wsc_session_config *cfg)
{
    if (!s || !cfg || !cfg->out_buf || cfg->out_cap < WSC_SESSION_OUT_MIN || !cfg->random)
        return WSC_EINVAL;
    memset(s, 0, sizeof(*s));
    wsc_frame_decoder_init(&s->dec);
    s->state = WSC_SESSION_OPEN;
    s->max_message = cfg->max_message ? cfg->max_message : WSC_MAX_MESSAGE_DEFAULT;
    s->random = cfg->random;
    s->random_user = cfg->random_user;
    s->pmd = cfg->permessage_deflate;
    s->out = cfg->out_buf;
    s->out_cap = cfg->out_cap;
    s->rx_first = true;
    return 0;
}

/* ---- output buffer ---------------------------------------------------- */

static size_t out_space(struct wsc_session *s)
{
    if (s->out_start == s->out_end) {
        s->out_start = s->out_end = 0;
    } else if (s->out_start > 0 && s->out_cap - s->out_end < s->out_cap / 2) {
        /* Compact only when it frees a useful amount; keeps copies rare. */
        memmove(s->out, s->out + s->out_start, s->out_end - s->out_start);
        s->out_end -= s->out_start;
        s->out_start = 0;
    }
    return s->out_cap - s->out_end;
}

/* Writes a whole masked control frame; the caller checked the space. */
static int put_control(struct wsc_session *s, uint8_t opcode, const uint8_t *payload,
                       size_t len)
{
    uint8_t mask[4];
    int rc = s->random(s->random_user, mask, sizeof(mask));
    if (rc)
        return rc < 0 ? rc : WSC_EIO;
    s->out_end += wsc_frame_header_encode(s->out + s->out_end, true, opcode, len, mask);
    wsc_mask(s->out + s->out_end, payload, len, mask, 0);
    s->out_end += len;
    return 0;
}

static int fail(struct wsc_session *s, int err);

/*
 * RFC 6455 5.4: control frames may be injected between the frames of a
 * message but never inside one. Queued ones go out once no frame is open.
 */
static void write_controls(struct wsc_session *s)
{
    struct {
        bool *pending;
        uint8_t op;
        const uint8_t *p;
        size_t len;
    } q[] = {
        {&s->pong_pending, WSC_OP_PONG, s->pong, s->pong_len},
        {&s->ping_pending, WSC_OP_PING, s->ping, s->ping_len},
        {&s->close_pending, WSC_OP_CLOSE, s->close_frame, s->close_len},
    };
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        if (!*q[i].pending)
            continue;
        if (out_space(s) < 6 + q[i].len)
            return; /* keep order: nothing overtakes a queued frame */
        int rc = put_control(s, q[i].op, q[i].p, q[i].len);
        if (rc) {
            fail(s, rc);
            return;
        }
        *q[i].pending = false;
        if (q[i].op == WSC_OP_CLOSE)
            s->close_queued = true;
    }
}

/* Runs before every frame sent: the usual case, nothing queued, is checked
 * inline (a call per check was 25 instructions of a 128-byte send). */
static inline void flush_controls(struct wsc_session *s)
{
    if (!s->tx_in_frame && (s->pong_pending || s->ping_pending || s->close_pending))
        write_controls(s);
}

static void queue_close(struct wsc_session *s, uint16_t code, const char *reason,
                        size_t reason_len)
{
    if (s->close_pending || s->close_queued)
        return;
    s->close_len = 0;
    if (code) {
        s->close_frame[0] = (uint8_t)(code >> 8);
        s->close_frame[1] = (uint8_t)code;
        if (reason_len)
            memcpy(s->close_frame + 2, reason, reason_len);
        s->close_len = 2 + reason_len;
    }
    s->close_pending = true;
    s->local_close_code = code;
    s->pong_pending = false; /* nothing but the close matters any more */
    s->ping_pending = false;
}

/*
 * The close reason sent for each error that has a close code, in code order
 * from WSC_EMASKED down to WSC_EINFLATE, each ended by its NUL. A few words
 * for the peer's log rather than wsc_strerror()'s sentences, which would link
 * every sentence into every client. A code outside the table (none today)
 * would be sent without a reason.
 */
static const char close_reasons[] =
    "masked frame\0"                   /* WSC_EMASKED */
    "reserved bits set\0"              /* WSC_ERSV */
    "reserved opcode\0"                /* WSC_EOPCODE */
    "control frame too long\0"         /* WSC_ECONTROL_LEN */
    "fragmented control frame\0"       /* WSC_ECONTROL_FRAG */
    "continuation without a message\0" /* WSC_ECONTINUATION */
    "interleaved messages\0"           /* WSC_EINTERLEAVED */
    "invalid close code\0"             /* WSC_ECLOSE_CODE */
    "one-byte close payload\0"         /* WSC_ECLOSE_PAYLOAD */
    "invalid frame length\0"           /* WSC_EFRAME_LEN */
    "invalid UTF-8\0"                  /* WSC_EUTF8 */
    "message too big\0"                /* WSC_EMSG_TOO_BIG */
    "peer not responding\0"            /* WSC_EPEER_TIMEOUT */
    "invalid compressed data";         /* WSC_EINFLATE */
_Static_assert(WSC_EMASKED - WSC_EINFLATE == 13, "close_reasons has one reason per code");

/* Fails the session and queues the close code and reason that tell the peer why. */
static int fail(struct wsc_session *s, int err)
{
    if (s->state == WSC_SESSION_FAILED)
        return s->error;
    s->error = err;
    s->state = WSC_SESSION_FAILED;
    uint16_t code = wsc_error_close_code(err);
    if (code) {
        const char *why = close_reasons;
        size_t n = 0;
        if (err <= WSC_EMASKED && err >= WSC_EINFLATE) {
            for (int i = WSC_EMASKED; i > err; i--)
                why += strlen(why) + 1;
            n = strlen(why);
        }
        queue_close(s, code, why, n);
    }
    return err;
}

int wsc_session_fail(struct wsc_session *s, int err)
{
    if (!s || err >= 0)
        return WSC_EINVAL;
    return fail(s, err);
}

size_t wsc_session_pending_output(struct wsc_session *s, const uint8_t **data)
{
    flush_controls(s);
    *data = s->out + s->out_start;
    return s->out_end - s->out_start;
}

void wsc_session_output_sent(struct wsc_session *s, size_t n)
{
    size_t avail = s->out_end - s->out_start;
    s->out_start += n < avail ? n : avail;
}

size_t wsc_session_output_room(struct wsc_session *s)
{
    flush_controls(s);
    if (s->tx_in_frame || s->pong_pending || s->ping_pending || s->close_pending)
        return 0;
    if (s->out_start > 0) {
        memmove(s->out, s->out + s->out_start, s->out_end - s->out_start);
        s->out_end -= s->out_start;
        s->out_start = 0;
    }
    return s->out_cap - s->out_end;
}

size_t wsc_session_queued(const struct wsc_session *s)
{
    size_t n = s->out_end - s->out_start;
    n += s->pong_pending ? 6 + s->pong_len : 0;
    n += s->ping_pending ? 6 + s->ping_len : 0;
    return n + (s->close_pending ? 6 + s->close_len : 0);
}

uint64_t wsc_session_data_remaining(const struct wsc_session *s)
{
    if (s->state != WSC_SESSION_OPEN && s->state != WSC_SESSION_CLOSE_SENT)
        return 0;
    if (!s->dec.in_payload || is_control(s->dec.header.opcode) || s->rx_compressed)
        return 0;
    return s->dec.remaining;
}

bool wsc_session_finished(const struct wsc_session *s)
{
    if (s->state != WSC_SESSION_CLOSED && s->state != WSC_SESSION_FAILED)
        return false;
    return s->out_start == s->out_end && !s->close_pending && !s->pong_pending &&
           !s->ping_pending;
}

/* ---- receive ---------------------------------------------------------- */

/* True unless @p b0 starts a text frame whose payload p[0..n) is not complete,
 * valid UTF-8 (the fast path's one check on content). */
static bool whole_text(struct wsc_session *s, uint8_t b0, const uint8_t *p, size_t n)
{
    if (b0 != 0x81)
        return true;
    wsc_utf8_reset(&s->utf8);
    return wsc_utf8_validate(&s->utf8, p, n) == n && wsc_utf8_complete(&s->utf8);
}

/*
 * RFC 6455 5.1-5.5: what the first two header bytes decide. These checks run
 * on the raw bytes before the decoder stores them, so *consumed can point at
 * the offending byte however the header was split across reads: a byte the
 * decoder has stored counts as consumed and cannot be handed back.
 */
static int check_byte0(const struct wsc_session *s, uint8_t b0)
{
    uint8_t op = b0 & 0x0f;
    if (b0 & 0x30)
        return WSC_ERSV; /* 5.2: no extension defines RSV2 or RSV3 */
    /* RFC 7692 6: RSV1 is permessage-deflate's "Per-Message Compressed" bit,
     * set on the first frame of a message only: never on a continuation, and
     * never on a control frame (6.1). Without the extension it is 5.2's. */
    if ((b0 & 0x40) && (!s->pmd || is_control(op) || op == WSC_OP_CONTINUATION))
        return WSC_ERSV;
    if (is_control(op)) {
        if (op > WSC_OP_PONG)
            return WSC_EOPCODE;
        if (!(b0 & 0x80))
            return WSC_ECONTROL_FRAG; /* 5.5 */
        return 0;
    }
    if (op > WSC_OP_BINARY)
        return WSC_EOPCODE;
    if (op == WSC_OP_CONTINUATION && !s->rx_opcode)
        return WSC_ECONTINUATION; /* 5.4 */
    if (op != WSC_OP_CONTINUATION && s->rx_opcode)
        return WSC_EINTERLEAVED; /* 5.4 */
    return 0;
}

static int check_byte1(uint8_t b0, uint8_t b1)
{
    uint8_t op = b0 & 0x0f, len7 = b1 & 0x7f;
    if (b1 & 0x80)
        return WSC_EMASKED; /* 5.1: servers never mask */
    if (len7 > WSC_CONTROL_MAX && is_control(op))
        return WSC_ECONTROL_LEN; /* 5.5 */
    if (len7 == 1 && op == WSC_OP_CLOSE)
        return WSC_ECLOSE_PAYLOAD; /* 5.5.1: a code takes two bytes */
    return 0;
}

/* Checks the header bytes among in[0..len) that the decoder has not stored yet. */
static int check_lead(const struct wsc_session *s, const uint8_t *in, size_t len,
                      size_t *bad)
{
    size_t have = s->dec.hlen; /* header bytes stored by earlier calls */
    int rc;
    if (s->dec.in_payload || have >= 2)
        return 0;
    if (have == 0 && len > 0) {
        *bad = 0;
        if ((rc = check_byte0(s, in[0])) != 0)
            return rc;
    }
    if (len > 1 - have) {
        *bad = 1 - have;
        return check_byte1(have ? s->dec.hbuf[0] : in[0], in[1 - have]);
    }
    return 0;
}

/* A complete header that passed check_lead: message state and the size limit. */
static int check_header(struct wsc_session *s, const struct wsc_frame_header *h)
{
    uint8_t op = h->opcode;
    if (is_control(op)) {
        s->ctl_len = 0;
        /* A close reason is validated as it arrives. Borrowing the text
         * validator is safe: no data frame is read after a close frame. */
        if (op == WSC_OP_CLOSE)
            wsc_utf8_reset(&s->utf8);
        return 0;
    }
    if (op != WSC_OP_CONTINUATION) {
        s->rx_opcode = op;
        s->rx_first = true;
        s->rx_msg_len = 0;
        s->rx_compressed = (h->rsv & WSC_RSV1) != 0;
        wsc_utf8_reset(&s->utf8);
    }
    /* Checked at the header, so an oversized message costs no payload reads.
     * A compressed message may be a little larger on the wire than inflated
     * (incompressible data); its inflated size is checked while inflating. */
    uint64_t limit = s->rx_compressed ? wsc_pmd_wire_limit(s->max_message) : s->max_message;
    if (h->length > limit - s->rx_msg_len)
        return WSC_EMSG_TOO_BIG;
    s->rx_msg_len += h->length;
    return 0;
}

/*
 * 5.5.1 and 7.4: checks close payload bytes p[0..n) as they arrive, so that an
 * error points at the byte that causes it (the second byte of an invalid code,
 * the first bad byte of the reason) however the frame was split.
 */
static int check_close_bytes(struct wsc_session *s, const uint8_t *p, size_t n, size_t *bad)
{
    size_t have = s->ctl_len, skip = have < 2 ? 2 - have : 0;
    if (have < 2 && n > 1 - have) {
        uint16_t code = (uint16_t)(((have ? s->ctl[0] : p[0]) << 8) | p[1 - have]);
        if (!wsc_close_code_valid(code)) {
            *bad = 1 - have;
            return WSC_ECLOSE_CODE;
        }
    }
    if (skip < n) {
        size_t ok = wsc_utf8_validate(&s->utf8, p + skip, n - skip);
        if (ok < n - skip) {
            *bad = skip + ok;
            return WSC_EUTF8;
        }
    }
    return 0;
}

/* A complete control frame is in s->ctl: act on it and describe it in *ev. */
static int finish_control(struct wsc_session *s, uint8_t op, struct wsc_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->data = s->ctl;
    ev->len = s->ctl_len;
    if (op == WSC_OP_PING) {
        ev->type = WSC_EV_PING;
        /* 5.5.2/5.5.3: answer with the same payload (the latest ping wins)
         * unless a close was received; having sent ours changes nothing. */
        if (s->state == WSC_SESSION_OPEN || s->state == WSC_SESSION_CLOSE_SENT) {
            memcpy(s->pong, s->ctl, s->ctl_len);
            s->pong_len = s->ctl_len;
            s->pong_pending = true;
        }
        return 0;
    }
    if (op == WSC_OP_PONG) {
        ev->type = WSC_EV_PONG;
        return 0;
    }
    /* 5.5.1 and 7.4: an optional code, then an optional UTF-8 reason; the
     * length, the code and the reason bytes were checked on the way in. */
    uint16_t code = WSC_CLOSE_NO_STATUS;
    if (s->ctl_len >= 2) {
        code = (uint16_t)((s->ctl[0] << 8) | s->ctl[1]);
        if (!wsc_utf8_complete(&s->utf8))
            return WSC_EUTF8; /* the reason ends inside a character */
        ev->data = s->ctl + 2;
        ev->len = s->ctl_len - 2;
    } else {
        ev->data = s->ctl;
        ev->len = 0;
    }
    ev->type = WSC_EV_CLOSE;
    ev->close_code = code;
    s->peer_close_code = code;
    /* 5.5.1: echo the status code we received (none if it had none). */
    if (s->state == WSC_SESSION_OPEN)
        queue_close(s, code == WSC_CLOSE_NO_STATUS ? 0 : code, NULL, 0);
    s->state = WSC_SESSION_CLOSED;
    return 0;
}

int wsc_session_next(struct wsc_session *s, const uint8_t *in, size_t len,
                     size_t *consumed, struct wsc_event *ev)
{
    size_t pos = 0;
    *consumed = 0;
    if (s->state == WSC_SESSION_FAILED)
        return s->error;
    if (s->state == WSC_SESSION_CLOSED)
        return WSC_ECLOSED;
    for (;;) {
        /* A whole unfragmented, unmasked data frame of at most 64 KiB at a
         * frame boundary, with no message in progress: the steps below in
         * one pass, same event and state. Anything else takes them, text
         * that is not valid UTF-8 too (for its exact error offset). */
        if (s->dec.hlen == 0 && !s->dec.in_payload && s->rx_opcode == 0 &&
            s->state == WSC_SESSION_OPEN && len - pos >= 2) {
            const uint8_t *h = in + pos;
            size_t avail = len - pos, hl = 0, n = 0;
            if (h[1] < 126) {
                hl = 2;
                n = h[1];
            } else if (h[1] == 126 && avail >= 4) {
                hl = 4;
                n = (size_t)h[2] << 8 | h[3];
            }
            if (hl && (h[0] == 0x82 || h[0] == 0x81) && n <= avail - hl &&
                n <= s->max_message && whole_text(s, h[0], h + hl, n)) {
                ev->type = WSC_EV_DATA;
                ev->opcode = h[0] & 0x0f;
                ev->first = ev->fin = ev->frame_fin = true;
                ev->data = h + hl;
                ev->len = n;
                ev->remaining = 0;
                ev->close_code = 0;
                ev->compressed = false;
                *consumed = pos + hl + n;
                return 0;
            }
        }
        struct wsc_frame_event fe;
        size_t used, bad;
        int rc = check_lead(s, in + pos, len - pos, &bad);
        if (rc) {
            *consumed = pos + bad;
            return fail(s, rc);
        }
        rc = wsc_frame_decode(&s->dec, in + pos, len - pos, &used, &fe);
        if (rc == WSC_EAGAIN) {
            *consumed = pos + used;
            return WSC_EAGAIN;
        }
        if (rc) {
            *consumed = pos + used;
            return fail(s, rc);
        }
        if (fe.type == WSC_FRAME_HEADER) {
            rc = check_header(s, &fe.header);
            if (rc) {
                /* Known once the length is complete: point at its last byte,
                 * which this call consumed. */
                *consumed = pos + used - 1;
                return fail(s, rc);
            }
            pos += used;
            continue;
        }

        uint8_t op = fe.header.opcode;
        if (is_control(op)) {
            if (op == WSC_OP_CLOSE && (rc = check_close_bytes(s, fe.data, fe.len, &bad))) {
                *consumed = pos + bad;
                return fail(s, rc);
            }
            if (fe.len)
                memcpy(s->ctl + s->ctl_len, fe.data, fe.len);
            s->ctl_len += fe.len;
            pos += used;
            if (fe.remaining)
                continue;
            rc = finish_control(s, op, ev);
            /* Only a reason cut inside a character fails here: point at the
             * frame's last byte, which this call consumed. */
            *consumed = rc ? pos - 1 : pos;
            return rc ? fail(s, rc) : 0;
        }

        size_t n = fe.len;
        /* Compressed text is UTF-8 only once inflated: checked above the core. */
        if (s->rx_opcode == WSC_OP_TEXT && !s->rx_compressed) {
            struct wsc_utf8 before = s->utf8;
            size_t ok = wsc_utf8_validate(&s->utf8, fe.data, n);
            if (ok < n) {
                /* 8.1: fail at the first invalid byte, after delivering the
                 * bytes before it; the rest goes back to the decoder. */
                s->dec.remaining += n - ok;
                s->dec.in_payload = true;
                if (ok == 0) {
                    *consumed = pos;
                    return fail(s, WSC_EUTF8);
                }
                n = ok;
                fe.remaining += fe.len - ok;
            } else if (fe.header.fin && fe.remaining == 0 && !wsc_utf8_complete(&s->utf8)) {
                /* 8.1: the message ends inside a character. The last byte is
                 * the offending one: deliver the bytes before it, then fail
                 * there (at the end of an empty final frame, if it is one). */
                if (n <= 1) {
                    *consumed = pos;
                    return fail(s, WSC_EUTF8);
                }
                s->utf8 = before;
                wsc_utf8_validate(&s->utf8, fe.data, n - 1);
                s->dec.remaining += 1;
                s->dec.in_payload = true;
                n -= 1;
                fe.remaining += 1;
            }
        }
        pos += n;
        ev->type = WSC_EV_DATA;
        ev->opcode = s->rx_opcode;
        ev->first = s->rx_first;
        ev->frame_fin = fe.header.fin;
        ev->fin = fe.header.fin && fe.remaining == 0;
        ev->data = fe.data;
        ev->len = n;
        ev->remaining = fe.remaining;
        ev->close_code = 0;
        ev->compressed = s->rx_compressed;
        s->rx_first = false;
        if (ev->fin) {
            s->rx_opcode = 0;
            s->rx_first = true;
            s->rx_msg_len = 0;
            s->rx_compressed = false;
        }
        *consumed = pos;
        return 0;
    }
}

/* ---- send ------------------------------------------------------------- */

static bool closing(const struct wsc_session *s)
{
    return s->state != WSC_SESSION_OPEN || s->close_pending || s->close_queued;
}

int wsc_session_frame_begin(struct wsc_session *s, uint8_t opcode, bool fin,
                            uint64_t length)
{
    return wsc_session_frame_begin_rsv(s, opcode, fin, 0, length);
}

int wsc_session_frame_begin_rsv(struct wsc_session *s, uint8_t opcode, bool fin,
                                uint8_t rsv, uint64_t length)
{
    if (closing(s))
        return WSC_ENOTCONN;
    if (s->tx_in_frame)
        return WSC_EINVAL;
    /* RFC 7692 6: RSV1 only with the extension, on the first frame of a data
     * message (TEXT/BINARY; the sequence check below rejects one inside a
     * message). */
    if (rsv != 0 &&
        (rsv != WSC_RSV1 || !s->pmd || (opcode != WSC_OP_TEXT && opcode != WSC_OP_BINARY)))
        return WSC_EINVAL;
    if (is_control(opcode)) {
        if ((opcode != WSC_OP_PING && opcode != WSC_OP_PONG) || !fin ||
            length > WSC_CONTROL_MAX)
            return WSC_EINVAL;
    } else if (opcode == WSC_OP_CONTINUATION) {
        if (!s->tx_opcode)
            return WSC_EINVAL;
    } else if (opcode == WSC_OP_TEXT || opcode == WSC_OP_BINARY) {
        if (s->tx_opcode)
            return WSC_EINVAL;
    } else {
        return WSC_EINVAL;
    }
    flush_controls(s);
    if (s->state == WSC_SESSION_FAILED)
        return WSC_ENOTCONN;
    if (s->pong_pending || s->ping_pending || out_space(s) < WSC_FRAME_HEADER_MAX)
        return WSC_EAGAIN;
    int rc = s->random(s->random_user, s->tx_mask, sizeof(s->tx_mask));
    if (rc)
        return rc < 0 ? rc : WSC_EIO;
    s->out_end += wsc_frame_header_encode_rsv(s->out + s->out_end, fin, rsv, opcode, length,
                                              s->tx_mask);
    s->tx_remaining = length;
    s->tx_offset = 0;
    s->tx_in_frame = length > 0;
    if (!is_control(opcode)) {
        if (fin)
            s->tx_opcode = 0;
        else if (opcode != WSC_OP_CONTINUATION)
            s->tx_opcode = opcode;
    }
    return 0;
}

int wsc_session_write(struct wsc_session *s, const void *data, size_t len,
                      size_t *accepted)
{
    *accepted = 0;
    if (!s->tx_in_frame || (uint64_t)len > s->tx_remaining)
        return WSC_EINVAL;
    size_t n = out_space(s);
    if (n > len)
        n = len;
    s->tx_offset = wsc_mask(s->out + s->out_end, data, n, s->tx_mask, s->tx_offset);
    s->out_end += n;
    s->tx_remaining -= n;
    if (s->tx_remaining == 0)
        s->tx_in_frame = false;
    *accepted = n;
    return 0;
}

int wsc_session_ping(struct wsc_session *s, const void *payload, size_t len)
{
    if (len > WSC_CONTROL_MAX || (len && !payload))
        return WSC_EINVAL;
    if (closing(s))
        return WSC_ENOTCONN;
    if (len)
        memcpy(s->ping, payload, len);
    s->ping_len = len;
    s->ping_pending = true;
    return 0;
}

int wsc_session_close(struct wsc_session *s, uint16_t code, const char *reason,
                      size_t reason_len)
{
    if (reason_len > WSC_CONTROL_MAX - 2 || (reason_len && (!reason || !code)))
        return WSC_EINVAL;
    if (code && !wsc_close_code_valid(code))
        return WSC_EINVAL;
    struct wsc_utf8 u;
    wsc_utf8_reset(&u);
    if (reason_len && (wsc_utf8_validate(&u, (const uint8_t *)reason, reason_len) !=
                           reason_len ||
                       !wsc_utf8_complete(&u)))
        return WSC_EINVAL;
    if (closing(s))
        return WSC_ENOTCONN;
    queue_close(s, code, reason, reason_len);
    s->state = WSC_SESSION_CLOSE_SENT;
    return 0;
}
