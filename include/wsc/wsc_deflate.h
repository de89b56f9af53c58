/*
 * wsc_deflate.h - the permessage-deflate codec (RFC 7692 7.2), built on zlib.
 *
 * One struct wsc_deflate per connection holds two independent streams: a
 * compressor for the messages we send and a decompressor for the messages the
 * server sends. Both work on one message at a time, in pieces, into buffers the
 * caller supplies; nothing here knows about frames, sockets or the session.
 * Negotiation (which parameters apply) is in wsc_core.h: wsc_pmd_parse_response().
 *
 * The codec needs zlib: it is built with the CMake option WSC_DEFLATE (on by
 * default). Builds without it keep these functions, but wsc_deflate_available()
 * is false and wsc_deflate_new() fails. A connection is used by one thread at a
 * time; so is its wsc_deflate.
 *
 * Memory: each stream is set up on first use, so a connection that only
 * receives never allocates a compressor. With window bits w the compressor
 * holds about 2^(w+2) + 2^(m+9) bytes plus ~6 KiB of zlib state, where the
 * memory level m = w - 7 (so 8 for the default window 15, 2 for 9; zlib's own
 * default is 8); the decompressor holds 2^w bytes of window plus ~7 KiB.
 * wsc_deflate_memory() reports the exact figure.
 */
#ifndef WSC_DEFLATE_H
#define WSC_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsc/wsc_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Allocator hooks, laid out like struct wsc_allocator in wsc.h so that one can
 * be copied member by member. A NULL struct or a NULL malloc/free member falls
 * back to the C library (malloc and free are replaced together). realloc is
 * never used. @p user is passed to every call.
 */
struct wsc_deflate_alloc {
    void *(*malloc)(void *user, size_t size);
    void *(*realloc)(void *user, void *ptr, size_t size);
    void (*free)(void *user, void *ptr);
    void *user;
};

struct wsc_deflate; /* opaque */

/** True when this build has the codec (WSC_DEFLATE, zlib); false in builds
 *  without it, where wsc_deflate_new() returns WSC_EINVAL. */
bool wsc_deflate_available(void);

/**
 * Creates the codec for the agreed parameters @p p (from
 * wsc_pmd_parse_response()): our compressor uses p->client_max_window_bits and
 * resets after every message if p->client_no_context_takeover; our
 * decompressor uses p->server_max_window_bits (8 is inflated with a 9-bit
 * window: a larger window accepts everything a smaller one does, and zlib-based
 * servers asked for 8 really use 9) and resets after every message if
 * p->server_no_context_takeover. @p p and @p a are copied; the hooks must stay
 * usable until wsc_deflate_free(). Only the object itself is allocated here.
 * @return 0 with *out set; WSC_ENOMEM; WSC_EINVAL for NULL arguments, window
 *         bits outside 8..15, or client_max_window_bits 8 (zlib's deflate has
 *         no 256-byte window, and wsc_pmd_parse_response() never agrees to it).
 */
int wsc_deflate_new(struct wsc_deflate **out, const struct wsc_pmd_params *p,
                    const struct wsc_deflate_alloc *a);

/** Releases everything the codec allocated. NULL is ignored. */
void wsc_deflate_free(struct wsc_deflate *d);

/**
 * Compresses one outgoing message, streamed (RFC 7692 7.2.1).
 *
 * Feed the message's bytes in pieces with @p fin false, then the last piece
 * (possibly empty) with @p fin true. Each call consumes input and writes
 * compressed bytes to out[0..*produced); those bytes are the message payload
 * in order: send each call's output as the next frame of the message (RSV1 on
 * the first frame only) or gather them. The 4-byte 00 00 ff ff tail of the
 * final flush is never written.
 *
 * @param in, in_len the next piece; may be NULL when in_len is 0.
 * @param fin        @p in ends the message. Once a call passes fin = true,
 *                   every call up to the one returning 0 must pass it too.
 * @param out        at least 1 byte; any size works (small buffers cost an
 *                   extra copy through a 32-byte staging area).
 * @param consumed   set on every return: bytes of @p in used.
 * @param produced   set on every return: bytes written to @p out.
 * @return
 *  - 0: all of @p in was consumed; with @p fin the message is complete, all
 *    its bytes have been produced and the next call starts a new message.
 *    Without @p fin, zlib may hold back output until later pieces or the fin.
 *  - WSC_ENOBUFS: @p out filled up before the call could finish. Hand out the
 *    produced bytes, then call again with the unconsumed rest (in + *consumed,
 *    in_len - *consumed, possibly 0 bytes) and the same @p fin.
 *  - WSC_ENOMEM: setting up the compressor failed (nothing consumed; a later
 *    call may retry). WSC_EINVAL: bad arguments, or zlib reported an internal
 *    error; the compressor is then unusable and every later call fails.
 *    The decompressor is unaffected by compressor errors.
 */
int wsc_deflate_compress(struct wsc_deflate *d, const uint8_t *in, size_t in_len, bool fin,
                         uint8_t *out, size_t out_cap, size_t *consumed, size_t *produced);

/**
 * Decompresses one incoming message, streamed (RFC 7692 7.2.2).
 *
 * Feed the payload of each frame of a compressed message (the message started
 * with RSV1 set), in order and in any pieces, with @p fin false; the piece
 * that ends the message's final frame (possibly empty) goes with @p fin true.
 * The 00 00 ff ff tail is appended internally. Inflated bytes go to
 * out[0..*produced) in order.
 *
 * The inflated size of the message is limited to @p max_message: output stops
 * as soon as it would exceed the limit, so a decompression bomb costs at most
 * max_message + 1 bytes of inflating (the extra byte is written past
 * *produced, inside @p out). The limit counts from the first byte of the
 * message; pass the same value for every call of a message.
 *
 * A sender may end DEFLATE streams with BFINAL blocks (RFC 7692 7.2.3.4); the
 * data after such a block is inflated as a new stream sharing the window.
 * A message must end on a block boundary: one that stops inside a block
 * (truncated, or missing the 00 00 ff ff flush) fails with WSC_EINFLATE rather
 * than corrupting the next message. An empty payload is an empty message.
 *
 * @param in, in_len the next piece of compressed payload; NULL when in_len is 0.
 * @param fin        @p in ends the message. Once passed, keep passing it until
 *                   the call that returns 0.
 * @param out        at least 1 byte.
 * @param consumed   set on every return: bytes of @p in used.
 * @param produced   set on every return: bytes written to @p out.
 * @param done       set on every return: true when this call completed the
 *                   message (only with @p fin and a return of 0); the next
 *                   call starts a new message.
 * @return
 *  - 0: all of @p in was consumed. Without @p fin, feed the next piece; with
 *    @p fin, the message is complete and *done is true.
 *  - WSC_ENOBUFS: @p out is full and more output may be due (a message whose
 *    output fills @p out exactly still completes with 0 when nothing follows
 *    it). Hand out the produced bytes, then call again with the unconsumed
 *    rest (possibly 0 bytes) and the same @p fin.
 *  - WSC_EMSG_TOO_BIG: the message inflates to more than @p max_message; the
 *    first max_message bytes were produced (over this and earlier calls).
 *  - WSC_EINFLATE: the payload is not valid DEFLATE data, or the message ends
 *    inside a block, or a match reaches back further than the window allows.
 *    That last check is zlib's: it counts the window plus what the current
 *    call has written, so a server using a larger window than it agreed to is
 *    caught only when a match reaches past both (small output buffers catch
 *    more); the bytes produced are correct either way.
 *  - WSC_ENOMEM: an allocation failed.
 *  - WSC_EINVAL: bad arguments (nothing done; the state is unchanged).
 * WSC_EMSG_TOO_BIG, WSC_EINFLATE and WSC_ENOMEM end the decompressor: every
 * later call returns the same error (fail the connection: the close code is
 * wsc_error_close_code()). *consumed and *produced report the progress made
 * before the error; bytes produced before it are valid inflated data. The
 * compressor is unaffected.
 */
int wsc_deflate_decompress(struct wsc_deflate *d, const uint8_t *in, size_t in_len,
                           bool fin, uint64_t max_message, uint8_t *out, size_t out_cap,
                           size_t *consumed, size_t *produced, bool *done);

/**
 * Bytes currently held through the allocator hooks for @p d: the object, the
 * zlib states and windows that have been set up so far, and the small header
 * wsc keeps in front of each block to know its size when freeing.
 */
size_t wsc_deflate_memory(const struct wsc_deflate *d);

#ifdef __cplusplus
}
#endif
#endif /* WSC_DEFLATE_H */
