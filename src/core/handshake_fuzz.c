/*
 * libFuzzer target for the 101-response parser (see fuzz_chunks.h for the
 * input layout). Option bits: 0 = no request (plain HTTP head parser),
 * 1-2 = head limit (64, 200, 1024, 8192 bytes), 3-4 = header limit (1, 3, 8,
 * 64). Beyond agreement between chunkings it checks: the parser never
 * consumes past the blank line ending the head, never more than the head
 * limit, consumes nothing once settled, and a successful 101 really carries
 * the expected Sec-WebSocket-Accept and an offered protocol (or none). Every
 * input with a request runs twice more offering permessage-deflate: a 101
 * with Sec-WebSocket-Extensions then succeeds only with an answer that
 * wsc_pmd_parse_response() accepts on the fields' joined value, and the
 * agreed parameters are the ones it gives; without the offer, never.
 */
#include "core/fuzz_chunks.h"
#include "wsc/wsc_core.h"

static const uint8_t NONCE[WSC_HANDSHAKE_NONCE_LEN] = "the sample nonce";
static const char ACCEPT[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
static const char *const OFFERED[] = {"chat", "superchat"};
/* "permessage-deflate; server_no_context_takeover; client_max_window_bits=12;
 *  server_max_window_bits=10" */
static const struct wsc_pmd_offer DEFLATE = {false, true, 12, 10};

static void log_head(struct fz_log *log, const struct wsc_handshake *hs)
{
    uint64_t h = fz_hash(0, NULL, 0);
    for (size_t i = 0; i < hs->header_count; i++) {
        const struct wsc_header *x = &hs->headers[i];
        h = fz_hash(h, x->name, x->name_len);
        h = fz_hash(h, ":", 1);
        h = fz_hash(h, x->value, x->value_len);
        h = fz_hash(h, "\n", 1);
    }
    fz_log(log, " status=%d reason=%zu#%016llx headers=%zu#%016llx", hs->status,
           hs->reason_len,
           (unsigned long long)fz_hash(fz_hash(0, NULL, 0), hs->reason, hs->reason_len),
           hs->header_count, (unsigned long long)h);
}

/* in[0..end) was consumed as a complete head: it must end with a blank line. */
static void check_head_end(const uint8_t *in, size_t end)
{
    FZ_CHECK(end >= 2 && in[end - 1] == '\n');
    FZ_CHECK(in[end - 2] == '\n' ||
             (end >= 3 && in[end - 2] == '\r' && in[end - 3] == '\n'));
}

/* The Sec-WebSocket-Extensions fields joined with ", " as RFC 7230 3.2.2 says,
 * checked by the public parser: the handshake must agree with it. */
static void check_deflate(const struct wsc_handshake *hs)
{
    size_t cap = 0, n = 0;
    for (size_t i = 0; i < hs->header_count; i++)
        cap += hs->headers[i].value_len + 2;
    char *joined = malloc(cap ? cap : 1);
    FZ_CHECK(joined != NULL);
    bool any = false;
    for (size_t i = 0; i < hs->header_count; i++) {
        const struct wsc_header *h = &hs->headers[i];
        static const char name[] = "sec-websocket-extensions";
        if (h->name_len != sizeof(name) - 1)
            continue;
        bool same = true;
        for (size_t k = 0; k < sizeof(name) - 1; k++) {
            char c = h->name[k];
            if ((c >= 'A' && c <= 'Z' ? (char)(c + 32) : c) != name[k])
                same = false;
        }
        if (!same)
            continue;
        if (any) {
            memcpy(joined + n, ", ", 2);
            n += 2;
        }
        if (h->value_len)
            memcpy(joined + n, h->value, h->value_len);
        n += h->value_len;
        any = true;
    }
    struct wsc_pmd_params p;
    FZ_CHECK(hs->deflate == any);
    if (any) {
        FZ_CHECK(wsc_pmd_parse_response(&DEFLATE, joined, n, &p) == 0);
        FZ_CHECK(memcmp(&p, &hs->deflate_params, sizeof(p)) == 0);
        FZ_CHECK(p.server_no_context_takeover && p.server_max_window_bits <= 10 &&
                 p.client_max_window_bits <= 12);
    }
    free(joined);
}

static void check_success(const struct wsc_handshake *hs, bool plain, bool deflate)
{
    if (plain) {
        FZ_CHECK(hs->protocol == NULL && !hs->deflate);
        return;
    }
    FZ_CHECK(hs->status == 101);
    const struct wsc_header *acc = wsc_handshake_header(hs, "Sec-WebSocket-Accept");
    FZ_CHECK(acc && acc->value_len == 28 && memcmp(acc->value, ACCEPT, 28) == 0);
    if (deflate)
        check_deflate(hs);
    else
        FZ_CHECK(!wsc_handshake_header(hs, "Sec-WebSocket-Extensions") && !hs->deflate);
    FZ_CHECK(hs->protocol == NULL || hs->protocol == OFFERED[0] ||
             hs->protocol == OFFERED[1]);
}

static void run(const struct fz_plan *p, bool chunked, bool deflate, struct fz_log *log)
{
    static const size_t head_caps[] = {64, 200, 1024, 8192};
    static const size_t header_caps[] = {1, 3, 8, 64};
    bool plain = p->options & 1;
    size_t head_cap = head_caps[(p->options >> 1) & 3];
    size_t header_cap = header_caps[(p->options >> 3) & 3];
    struct wsc_request_info req = {.host = "server.example.com",
                                   .resource = "/chat",
                                   .protocols = OFFERED,
                                   .protocol_count = 2};
    wsc_pmd_enable(&req, deflate ? &DEFLATE : NULL);
    /* Exact-size blocks: writing past either limit trips ASan. */
    char *head = malloc(head_cap);
    struct wsc_header *headers = malloc(header_cap * sizeof(*headers));
    struct wsc_handshake hs;
    char request[512];
    size_t w;
    FZ_CHECK(head && headers);
    FZ_CHECK(wsc_handshake_init(&hs, plain ? NULL : &req, head, head_cap, headers,
                                header_cap) == 0);
    if (!plain)
        FZ_CHECK(wsc_handshake_write_request(&hs, NONCE, request, sizeof(request), &w) ==
                 0);

    fz_log_reset(log);
    struct fz_stream st = {0};
    size_t pos = 0, total = 0, chunk = 0;
    int result = 1; /* 1 = not settled */
    while (pos < p->len) {
        size_t n = fz_chunk(p, chunked, chunk++, p->len - pos);
        fz_push(&st, p->data + pos, n);
        pos += n;
        size_t used;
        int rc = wsc_handshake_parse(&hs, st.buf, st.len, &used);
        FZ_CHECK(used <= st.len);
        if (result != 1) {
            FZ_CHECK(rc == result && used == 0);
            continue;
        }
        fz_consume(&st, used);
        total += used;
        FZ_CHECK(total <= head_cap);
        if (rc == WSC_EAGAIN) {
            FZ_CHECK(st.len == 0); /* all of it consumed and remembered */
            continue;
        }
        result = rc;
        fz_log(log, "RC %d at %zu", rc, total);
        if (rc == WSC_EHS_TOO_LARGE) {
            FZ_CHECK(total == head_cap);
        } else {
            /* A head that parsed ends with a real blank line. (Malformed ones
             * may stop at a line of bare CRs, or before a line too many.) */
            if (rc != WSC_EHS_MALFORMED && rc != WSC_EHS_TOO_MANY)
                check_head_end(p->data, total);
            log_head(log, &hs);
        }
        if (rc == 0)
            check_success(&hs, plain, deflate);
        else
            FZ_CHECK(hs.protocol == NULL && !hs.deflate);
        fz_log(log, "\n");
    }
    if (result == 1)
        fz_log(log, "AGAIN at %zu\n", total);
    fz_log(log, "END %zu left %zu\n", total, st.len);
    fz_free(&st);
    free(head);
    free(headers);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz_log whole, chunked;
    struct fz_plan p;
    if (!fz_plan_parse(data, size, &p))
        return 0;
    for (int deflate = 0; deflate < 2 - (p.options & 1); deflate++) {
        run(&p, false, deflate, &whole);
        run(&p, true, deflate, &chunked);
        fz_compare(&whole, &chunked);
    }
    return 0;
}
