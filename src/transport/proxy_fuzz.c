/*
 * libFuzzer target for the CONNECT exchange, wsc_proxy_connect(), over a
 * scripted in-memory transport whose receive side plays the input as the
 * proxy's reply (see src/core/fuzz_chunks.h for the input layout). Option
 * bits: 0-1 = the input buffer size (16, 100, 4096, 65536 bytes); 2 = send
 * Basic credentials; 3 = the script ends in ECONNRESET instead of EOF; 4 = the
 * target is an IPv6 literal with a zone. Built by fuzz/build.sh with the core
 * and proxy.c; wsc_platform_now_ms() is a constant here (no deadline is set).
 *
 * The whole run hands the transport's reads as much as fits; the chunked run
 * cuts them at the input's chunk sizes, answers WSC_EAGAIN before a chunk
 * whose size byte has its top bit set, and takes the request in short writes
 * with WSC_EAGAIN between them. Both must agree on the result, its detail
 * sentence and where the reply head ended. Checks besides: the request is
 * exactly the expected CONNECT; on success in[0..*in_len) is the stream right
 * after the reply head and nothing was read beyond it (the transport was not
 * read again while bytes were unparsed); on failure *in_len is 0; nothing is
 * written past the input buffer (a heap block of exactly in_cap bytes).
 */
#include "core/fuzz_chunks.h"
#include "wsc/wsc_proxy.h"

uint64_t wsc_platform_now_ms(void)
{
    return 1000000;
}

struct script {
    const struct fz_plan *p;
    bool chunked;
    int end_rc;         /* 0 = EOF after the script, else this error */
    size_t pos;         /* bytes of the script delivered */
    size_t chunk, left; /* current chunk index and bytes left in it */
    bool eagain_done;   /* the EAGAIN before this chunk was returned */
    uint8_t sent[2048]; /* the request as written */
    size_t sent_len, sends;
};

static int s_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    struct script *s = ctx;
    *got = 0;
    FZ_CHECK(cap > 0);
    if (s->pos == s->p->len)
        return s->end_rc;
    if (s->left == 0) {
        size_t i = s->chunk;
        if (s->chunked && s->p->nsizes && (s->p->sizes[i % s->p->nsizes] & 0x80) &&
            !s->eagain_done) {
            s->eagain_done = true;
            return WSC_EAGAIN;
        }
        s->eagain_done = false;
        s->left = fz_chunk(s->p, s->chunked, s->chunk++, s->p->len - s->pos);
    }
    size_t n = s->left < cap ? s->left : cap;
    memcpy(buf, s->p->data + s->pos, n);
    s->pos += n;
    s->left -= n;
    *got = n;
    return 0;
}

static int s_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent)
{
    struct script *s = ctx;
    *sent = 0;
    FZ_CHECK(len > 0);
    size_t k = s->sends++;
    size_t n = len;
    if (s->chunked) {
        if (k % 3 == 1)
            return WSC_EAGAIN;
        n = 1 + (k * 7) % 13;
        if (n > len)
            n = len;
    }
    FZ_CHECK(s->sent_len + n <= sizeof(s->sent));
    memcpy(s->sent + s->sent_len, buf, n);
    s->sent_len += n;
    *sent = n;
    return 0;
}

static int s_wait(void *ctx, int events, int timeout_ms)
{
    (void)ctx;
    FZ_CHECK(timeout_ms < 0); /* no deadline was given */
    return events;
}

static size_t s_pending(void *ctx)
{
    (void)ctx;
    return 0;
}

static int s_shutdown(void *ctx)
{
    (void)ctx;
    return 0;
}

static void s_close(void *ctx)
{
    (void)ctx;
}

static int s_fd(void *ctx)
{
    (void)ctx;
    return -1;
}

static const struct wsc_transport_ops OPS = {"script",  s_send,     s_recv,  s_wait,
                                             s_pending, s_shutdown, s_close, s_fd,    NULL};

struct outcome {
    int rc;
    size_t head_end; /* success: stream offset right after the reply head */
    char detail[WSC_ERROR_DETAIL_MAX];
};

static void run(const struct fz_plan *p, bool chunked, struct outcome *out)
{
    static const size_t caps[] = {16, 100, 4096, 65536};
    size_t in_cap = caps[p->options & 3];
    bool creds = p->options & 4;
    bool v6 = (p->options >> 4) & 1;
    struct script s = {
        .p = p, .chunked = chunked, .end_rc = p->options & 8 ? WSC_ECONNRESET : 0};
    struct wsc_transport tr = {&OPS, &s};
    struct wsc_proxy px = {.host = "proxy.example", .port = 3128};
    if (creds)
        strcpy(px.userinfo, "alice:p@ss w:rd");
    uint8_t *in = malloc(in_cap);
    FZ_CHECK(in != NULL);
    size_t in_len = 12345;
    const char *host = v6 ? "fe80::1%eth0" : "echo.example";
    out->rc = wsc_proxy_connect(&tr, &px, host, v6, 443, in, in_cap, &in_len, -1,
                                out->detail, sizeof(out->detail));

    char want[256];
    const char *authority = v6 ? "[fe80::1]:443" : "echo.example:443";
    int wn = snprintf(want, sizeof(want), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n",
                      authority, authority,
                      creds ? "Proxy-Authorization: Basic YWxpY2U6cEBzcyB3OnJk\r\n" : "");
    FZ_CHECK(s.sent_len == (size_t)wn && memcmp(s.sent, want, s.sent_len) == 0);

    if (out->rc == 0) {
        FZ_CHECK(in_len <= in_cap && in_len <= s.pos);
        out->head_end = s.pos - in_len;
        FZ_CHECK(in_len == 0 || memcmp(in, p->data + out->head_end, in_len) == 0);
        /* The head ends with a blank line (CRLF CRLF, or bare LFs). */
        FZ_CHECK(out->head_end >= 2 && p->data[out->head_end - 1] == '\n');
        FZ_CHECK(out->detail[0] == '\0');
    } else {
        FZ_CHECK(in_len == 0 && out->detail[0] != '\0');
        FZ_CHECK(out->rc == WSC_EPROXY || out->rc == WSC_EEOF || out->rc == WSC_ECONNRESET);
        out->head_end = 0;
    }
    free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct outcome whole, chunked;
    struct fz_plan p;
    if (!fz_plan_parse(data, size, &p))
        return 0;
    run(&p, false, &whole);
    run(&p, true, &chunked);
    if (whole.rc != chunked.rc || whole.head_end != chunked.head_end ||
        strcmp(whole.detail, chunked.detail) != 0) {
        fprintf(stderr, "runs disagree: whole %d at %zu (%s), chunked %d at %zu (%s)\n",
                whole.rc, whole.head_end, whole.detail, chunked.rc, chunked.head_end,
                chunked.detail);
        abort();
    }
    return 0;
}
