/*
 * The TLS transport's failure paths that need no TLS peer: bad arguments, and
 * a scripted lower transport that resets, ends, fails to send or never answers
 * during the handshake. Every failure must close the lower transport exactly
 * once and say why. In a build without TLS, wsc_tls_connect() must fail the
 * same way with WSC_ENOTLS. Handshakes with real servers are in
 * tests/integration/tls_test.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wsc/wsc_tls.h"

/* A lower transport whose every answer is scripted. */
struct fake {
    int send_rc; /* 0: accept everything */
    int recv_rc; /* 0 with recv_eof: end of stream */
    int wait_rc; /* returned by wait */
    size_t sent, send_calls, recv_calls, wait_calls;
    int closes;
};

static int fake_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent)
{
    struct fake *f = ctx;
    (void)buf;
    f->send_calls++;
    *sent = 0;
    if (f->send_rc)
        return f->send_rc;
    *sent = len;
    f->sent += len;
    return 0;
}

static int fake_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    struct fake *f = ctx;
    (void)buf;
    (void)cap;
    f->recv_calls++;
    *got = 0;
    return f->recv_rc; /* 0 with *got == 0: end of stream */
}

static int fake_wait(void *ctx, int events, int timeout_ms)
{
    struct fake *f = ctx;
    (void)events;
    (void)timeout_ms;
    f->wait_calls++;
    return f->wait_rc;
}

static size_t fake_pending(void *ctx)
{
    (void)ctx;
    return 0;
}

static int fake_shutdown(void *ctx)
{
    (void)ctx;
    return 0;
}

static void fake_close(void *ctx)
{
    struct fake *f = ctx;
    f->closes++;
}

static int fake_fd(void *ctx)
{
    (void)ctx;
    return -1;
}

static const struct wsc_transport_ops fake_ops = {
    .name = "fake",
    .send = fake_send,
    .recv = fake_recv,
    .wait = fake_wait,
    .pending = fake_pending,
    .shutdown = fake_shutdown,
    .close = fake_close,
    .fd = fake_fd,
};

static bool have_tls(void)
{
    return strcmp(wsc_tls_backend(), "none") != 0;
}

/* Runs wsc_tls_connect over @p f; expects failure with @p want_rc and a detail
 * starting with @p want_detail (NULL: any non-empty detail). */
static void expect_connect_fails(struct fake *f, const char *host,
                                 const struct wsc_tls_options *o, const uint8_t *preread,
                                 size_t preread_len, int timeout_ms, int want_rc,
                                 const char *want_detail)
{
    struct wsc_transport lower = {&fake_ops, f};
    struct wsc_tls *t = (struct wsc_tls *)(uintptr_t)1;
    char detail[WSC_TLS_DETAIL_MAX];
    int rc = wsc_tls_connect(&t, &lower, host, o, preread, preread_len, timeout_ms, detail,
                             sizeof(detail));
    if (rc != want_rc ||
        (want_detail && strncmp(detail, want_detail, strlen(want_detail)) != 0))
        print_error("got %d '%s'\nwant %d '%s...'\n", rc, detail, want_rc,
                    want_detail ? want_detail : "");
    assert_int_equal(rc, want_rc);
    assert_null(t);
    assert_int_equal(f->closes, 1);
    assert_true(detail[0] != '\0');
    if (want_detail)
        assert_true(strncmp(detail, want_detail, strlen(want_detail)) == 0);
}

static const struct wsc_tls_options insecure = {.insecure = true};

static void test_backend_is_named(void **state)
{
    (void)state;
    const char *b = wsc_tls_backend();
    assert_true(strcmp(b, "none") == 0 || strncmp(b, "openssl ", 8) == 0 ||
                strncmp(b, "mbedtls ", 8) == 0);
}

static void test_without_tls_connect_fails_and_closes_lower(void **state)
{
    (void)state;
    if (have_tls())
        skip();
    struct fake f = {0};
    expect_connect_fails(&f, "localhost", NULL, NULL, 0, 1000, WSC_ENOTLS,
                         "this build of wsc has no TLS backend");
    assert_int_equal(f.send_calls, 0);
}

static void test_bad_arguments_close_lower(void **state)
{
    (void)state;
    if (!have_tls())
        skip();
    struct fake f = {0};
    expect_connect_fails(&f, NULL, NULL, NULL, 0, 1000, WSC_EINVAL,
                         "invalid TLS options: no host name to verify");
    f = (struct fake){0};
    expect_connect_fails(&f, "localhost", &insecure, NULL, 5, 1000, WSC_EINVAL,
                         "invalid TLS options: preread bytes missing");
    f = (struct fake){0};
    struct wsc_tls_options key_only = {.insecure = true, .key_file = "client.key"};
    expect_connect_fails(&f, "localhost", &key_only, NULL, 0, 1000, WSC_EINVAL,
                         "invalid TLS options: a key file without a certificate");

    f = (struct fake){0};
    struct wsc_transport lower = {&fake_ops, &f};
    char detail[WSC_TLS_DETAIL_MAX];
    assert_int_equal(wsc_tls_connect(NULL, &lower, "localhost", &insecure, NULL, 0, 1000,
                                     detail, sizeof(detail)),
                     WSC_EINVAL);
    assert_int_equal(f.closes, 1);
    assert_int_equal(f.send_calls, 0);
    /* No transport at all: nothing to close, and no detail buffer is fine. */
    struct wsc_tls *t = NULL;
    assert_int_equal(wsc_tls_connect(&t, NULL, "localhost", NULL, NULL, 0, 1000, NULL, 0),
                     WSC_EINVAL);
}

static void test_reset_during_handshake_is_the_transport_error(void **state)
{
    (void)state;
    if (!have_tls())
        skip();
    struct fake f = {.recv_rc = WSC_ECONNRESET};
    expect_connect_fails(&f, "localhost", &insecure, NULL, 0, 1000, WSC_ECONNRESET,
                         "TLS handshake failed: the connection was reset by the peer");
    assert_true(f.sent > 0); /* the ClientHello went out first */
}

static void test_eof_during_handshake_says_server_closed(void **state)
{
    (void)state;
    if (!have_tls())
        skip();
    struct fake f = {0}; /* every read: end of stream */
    expect_connect_fails(&f, NULL, &insecure, NULL, 0, 1000, WSC_ETLS,
                         "TLS handshake failed: the server closed the connection (is it a "
                         "TLS server?)");
}

static void test_send_failure_is_reported_when_no_alert_explains_it(void **state)
{
    (void)state;
    if (!have_tls())
        skip();
    /* The send error is held back so the server's alert could be read; with
     * nothing to read, the send error itself is the answer. */
    struct fake f = {.send_rc = WSC_EIO};
    expect_connect_fails(&f, "localhost", &insecure, NULL, 0, 1000, WSC_EIO,
                         "TLS handshake failed: a transport I/O error occurred");
}

static void test_silent_server_times_out(void **state)
{
    (void)state;
    if (!have_tls())
        skip();
    /* The lower transport's wait times out: the handshake ends at once. */
    struct fake f = {.recv_rc = WSC_EAGAIN, .wait_rc = 0};
    expect_connect_fails(&f, "localhost", &insecure, NULL, 0, 5000, WSC_ETIMEDOUT,
                         "timed out during the TLS handshake");
    assert_int_equal(f.wait_calls, 1);
    /* No time left when the library first needs input: no wait at all. */
    f = (struct fake){.recv_rc = WSC_EAGAIN, .wait_rc = WSC_WAIT_READ};
    expect_connect_fails(&f, "localhost", &insecure, NULL, 0, 0, WSC_ETIMEDOUT,
                         "timed out during the TLS handshake");
    assert_int_equal(f.wait_calls, 0);
}

static void test_wait_error_ends_handshake(void **state)
{
    (void)state;
    if (!have_tls())
        skip();
    struct fake f = {.recv_rc = WSC_EAGAIN, .wait_rc = WSC_EIO};
    expect_connect_fails(&f, "localhost", &insecure, NULL, 0, 1000, WSC_EIO,
                         "TLS handshake failed: a transport I/O error occurred");
}

static void test_preread_is_parsed_before_lower_is_read(void **state)
{
    (void)state;
    if (!have_tls())
        skip();
    /* An HTTP reply where the server's first TLS record belongs: the library
     * must reject it from the preread alone, never reading the transport. */
    static const char http[] = "HTTP/1.1 200 Connection established\r\n\r\n";
    struct fake f = {.recv_rc = WSC_ECONNRESET};
    expect_connect_fails(&f, "localhost", &insecure, (const uint8_t *)http,
                         sizeof(http) - 1, 1000, WSC_ETLS, "TLS handshake failed: ");
    assert_int_equal(f.recv_calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend_is_named),
        cmocka_unit_test(test_without_tls_connect_fails_and_closes_lower),
        cmocka_unit_test(test_bad_arguments_close_lower),
        cmocka_unit_test(test_reset_during_handshake_is_the_transport_error),
        cmocka_unit_test(test_eof_during_handshake_says_server_closed),
        cmocka_unit_test(test_send_failure_is_reported_when_no_alert_explains_it),
        cmocka_unit_test(test_silent_server_times_out),
        cmocka_unit_test(test_wait_error_ends_handshake),
        cmocka_unit_test(test_preread_is_parsed_before_lower_is_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
