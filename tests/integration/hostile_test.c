/*
 * The library against the project's hostile fixture: negative and odd
 * handshakes, every protocol violation a server can commit (with the close code
 * the fixture saw from us), closes, drops and resets. In every case the messages
 * sent before the fault are delivered first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "itest.h"

#define TIMEOUT_MS 10000

static unsigned next_id;

/* Connects to @p target (a path with query) tagged with a unique id, so the
 * fixture's log lines of this connection can be told apart. */
static int connect_tagged(struct wsc_conn *c, const struct wsc_options *o,
                          const char *target, char *tagged, size_t cap)
{
    struct wsc_options defaults;
    if (!o) {
        itest_options(&defaults);
        o = &defaults;
    }
    snprintf(tagged, cap, "%s%sid=%u", target, strchr(target, '?') ? "&" : "?", ++next_id);
    return wsc_connect(c, itest_url("%s", tagged), o);
}

static void expect_text(struct wsc_conn *c, const char *text)
{
    struct wsc_message m;
    ITEST_OK(c, wsc_recv(c, &m, TIMEOUT_MS));
    assert_int_equal(m.opcode, WSC_OP_TEXT);
    assert_int_equal(m.len, strlen(text));
    assert_memory_equal(m.data, text, m.len);
}

static void expect_log(const char *target, const char *what)
{
    char line[512];
    snprintf(line, sizeof(line), "%s %s", target, what);
    if (!itest_log_has(line, 5000))
        fail_msg("fixture log lacks \"%s\"", line);
}

/* ---- handshakes that must fail ---------------------------------------- */

struct bad_handshake {
    const char *target;
    int error;
    const char *detail; /* a substring of wsc_conn_detail() */
};

static void bad_handshakes_fail_with_their_own_error(void **state)
{
    (void)state;
    static const struct bad_handshake cases[] = {
        {"/status?code=403&reason=Forbidden", WSC_EHS_STATUS, "server answered 403 Forbidden"},
        {"/status?code=404&reason=Not%20Found", WSC_EHS_STATUS, "server answered 404 Not Found"},
        {"/status?code=200&reason=OK", WSC_EHS_STATUS, "server answered 200 OK"},
        {"/bad-accept?kind=wrong", WSC_EHS_ACCEPT, "Sec-WebSocket-Accept is"},
        {"/bad-accept?kind=empty", WSC_EHS_ACCEPT, "Sec-WebSocket-Accept"},
        {"/bad-accept?kind=truncated", WSC_EHS_ACCEPT, "Sec-WebSocket-Accept"},
        {"/bad-accept?kind=extra", WSC_EHS_ACCEPT, "Sec-WebSocket-Accept"},
        {"/bad-accept?kind=raw-key", WSC_EHS_ACCEPT, "Sec-WebSocket-Accept"},
        {"/bad-accept?kind=case", WSC_EHS_ACCEPT, "Sec-WebSocket-Accept"},
        {"/bad-accept?kind=missing", WSC_EHS_ACCEPT, "lacks Sec-WebSocket-Accept"},
        {"/no-upgrade?kind=missing", WSC_EHS_UPGRADE, "Upgrade: websocket"},
        {"/no-upgrade?kind=wrong", WSC_EHS_UPGRADE, "got 'h2c'"},
        {"/no-connection?kind=missing", WSC_EHS_CONNECTION, "Connection: Upgrade"},
        {"/no-connection?kind=wrong", WSC_EHS_CONNECTION, "Connection: Upgrade"},
        {"/unoffered-protocol", WSC_EHS_PROTOCOL, "not offered"},
        {"/unoffered-extension", WSC_EHS_EXTENSION, "permessage-deflate"},
        {"/long-head?size=8193", WSC_EHS_TOO_LARGE, "8192-byte limit"},
        {"/many-headers?n=62", WSC_EHS_TOO_MANY, "more than 64 header fields"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wsc_conn c;
        char tagged[256];
        int rc = connect_tagged(&c, NULL, cases[i].target, tagged, sizeof(tagged));
        if (rc != cases[i].error || !strstr(wsc_conn_detail(&c), cases[i].detail))
            fail_msg("%s: got %d (%s), want %d with \"%s\"", cases[i].target, rc,
                     wsc_conn_detail(&c), cases[i].error, cases[i].detail);
        assert_int_equal(wsc_conn_state(&c), WSC_CONN_FAILED);
        assert_int_equal(wsc_conn_fd(&c), -1);
        wsc_conn_free(&c);
    }
}

static void non_101_response_keeps_status_headers_and_body(void **state)
{
    (void)state;
    struct wsc_conn c;
    char tagged[256];
    assert_int_equal(connect_tagged(&c, NULL, "/status?code=401&reason=Unauthorized&body=token%20expired",
                                    tagged, sizeof(tagged)),
                     WSC_EHS_STATUS);
    assert_int_equal(wsc_conn_http_status(&c), 401);
    const struct wsc_header *h = wsc_handshake_header(&c.hs, "server");
    assert_non_null(h);
    assert_int_equal(h->value_len, strlen("wsc-hostile-fixture"));
    size_t len;
    const uint8_t *body = wsc_conn_error_body(&c, &len);
    assert_int_equal(len, 13);
    assert_memory_equal(body, "token expired", 13);
    wsc_conn_free(&c);
}

static void odd_but_valid_handshakes_are_accepted(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"/connection-list", "connection-list"},
        {"/header-case", "header-case"},
        {"/header-space", "header-space"},
        {"/long-head?n=55", "long-head"},
        {"/many-headers?n=61", "many-headers"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wsc_conn c;
        char tagged[256];
        ITEST_OK(&c, connect_tagged(&c, NULL, cases[i][0], tagged, sizeof(tagged)));
        expect_text(&c, cases[i][1]);
        ITEST_OK(&c, wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS));
        wsc_conn_free(&c);
    }
}

static void head_of_exactly_the_limit_is_accepted(void **state)
{
    (void)state;
    struct wsc_options o;
    itest_options(&o);
    o.max_headers = 1000; /* the fixture pads with many 40-byte lines */
    struct wsc_conn c;
    char tagged[256];
    ITEST_OK(&c, connect_tagged(&c, &o, "/long-head?size=8192", tagged, sizeof(tagged)));
    assert_int_equal(c.hs.head_len, 8192);
    expect_text(&c, "long-head");
    ITEST_OK(&c, wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS));
    wsc_conn_free(&c);
    assert_int_equal(connect_tagged(&c, &o, "/long-head?size=8193", tagged, sizeof(tagged)),
                     WSC_EHS_TOO_LARGE);
    wsc_conn_free(&c);
}

static void silent_server_times_out_the_handshake(void **state)
{
    (void)state;
    struct wsc_options o;
    itest_options(&o);
    o.connect_timeout_ms = 300;
    struct wsc_conn c;
    char tagged[64];
    assert_int_equal(connect_tagged(&c, &o, "/silent", tagged, sizeof(tagged)), WSC_ETIMEDOUT);
    assert_non_null(strstr(wsc_conn_detail(&c), "timed out waiting for the handshake"));
    wsc_conn_free(&c);
}

static void refused_port_and_bad_url_are_reported(void **state)
{
    (void)state;
    struct wsc_conn c;
    assert_int_equal(wsc_connect(&c, "ws://127.0.0.1:1/", NULL), WSC_ECONNREFUSED);
    assert_non_null(strstr(wsc_conn_detail(&c), "connection refused"));
    wsc_conn_free(&c);
    assert_int_equal(wsc_connect(&c, "http://127.0.0.1/", NULL), WSC_EURL);
    assert_non_null(strstr(wsc_conn_detail(&c), "scheme"));
    wsc_conn_free(&c);
    /* wss:// connects TCP first: a refused port is reported as such. */
    assert_int_equal(wsc_connect(&c, "wss://127.0.0.1:1/", NULL), WSC_ECONNREFUSED);
    wsc_conn_free(&c);

}

static void user_header_injection_is_refused(void **state)
{
    (void)state;
    struct wsc_header bad[] = {{"X-Evil", 6, "a\r\nInjected: yes", 16}};
    struct wsc_options o;
    itest_options(&o);
    o.headers = bad;
    o.header_count = 1;
    struct wsc_conn c;
    assert_int_equal(wsc_connect(&c, itest_url("/echo"), &o), WSC_EHEADER);
    wsc_conn_free(&c);
    struct wsc_header reserved[] = {{"Sec-WebSocket-Key", 17, "x", 1}};
    o.headers = reserved;
    assert_int_equal(wsc_connect(&c, itest_url("/echo"), &o), WSC_EHEADER);
    wsc_conn_free(&c);
}

/* ---- authentication and redirects -------------------------------------- */

static void url_userinfo_sends_basic_auth(void **state)
{
    (void)state;
    struct wsc_conn c;
    const char *port = getenv("WSC_TEST_PORT");
    char url[256];
    /* "p%40ss" is "p@ss": userinfo is percent-decoded before base64. */
    snprintf(url, sizeof(url), "ws://user:p%%40ss@127.0.0.1:%s/auth?basic=user:p%%40ss", port);
    ITEST_OK(&c, wsc_connect(&c, url, NULL));
    expect_text(&c, "authorized");
    ITEST_OK(&c, wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS));
    wsc_conn_free(&c);

    snprintf(url, sizeof(url), "ws://user:wrong@127.0.0.1:%s/auth?basic=user:p%%40ss", port);
    assert_int_equal(wsc_connect(&c, url, NULL), WSC_EHS_STATUS);
    assert_int_equal(wsc_conn_http_status(&c), 401);
    assert_non_null(strstr(wsc_conn_detail(&c), "401 Unauthorized"));
    wsc_conn_free(&c);
}

static void bearer_token_is_sent(void **state)
{
    (void)state;
    struct wsc_options o;
    itest_options(&o);
    o.auth_bearer = "t0ken.abc";
    struct wsc_conn c;
    ITEST_OK(&c, wsc_connect(&c, itest_url("/auth?bearer=t0ken.abc"), &o));
    expect_text(&c, "authorized");
    wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS);
    wsc_conn_free(&c);
    o.auth_bearer = "bad\r\nX-Injected: 1";
    assert_int_equal(wsc_connect(&c, itest_url("/auth?bearer=x"), &o), WSC_EHEADER);
    wsc_conn_free(&c);
}

static void redirects_are_followed_only_when_asked(void **state)
{
    (void)state;
    struct wsc_options o;
    itest_options(&o);
    struct wsc_conn c;
    /* Off by default: the 302 is the answer. */
    assert_int_equal(wsc_connect(&c, itest_url("/status?code=302&reason=Found&location=/echo"), &o),
                     WSC_EHS_STATUS);
    assert_int_equal(wsc_conn_http_status(&c), 302);
    wsc_conn_free(&c);

    o.max_redirects = 3;
    static const char *const followed[] = {
        "/status?code=302&reason=Found&location=/protocol",
        "/status?code=301&reason=Moved&location=protocol",
        ("/status?code=308&reason=Permanent&location=%2Fstatus%3Fcode%3D307%26reason%3DTemp"
         "%26location%3D%252Fprotocol"),
    };
    for (size_t i = 0; i < sizeof(followed) / sizeof(followed[0]); i++) {
        ITEST_OK(&c, wsc_connect(&c, itest_url("%s", followed[i]), &o));
        expect_text(&c, "protocol=none"); /* /protocol greets with this */
        wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS);
        wsc_conn_free(&c);
    }
    /* An absolute http:// Location maps to ws://. */
    char loc[128];
    snprintf(loc, sizeof(loc), "/status?code=307&reason=Temp&location=http://127.0.0.1:%s/protocol",
             getenv("WSC_TEST_PORT"));
    ITEST_OK(&c, wsc_connect(&c, itest_url("%s", loc), &o));
    expect_text(&c, "protocol=none");
    wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS);
    wsc_conn_free(&c);

    /* A loop ends at the hop limit with a clear reason. */
    assert_int_equal(wsc_connect(&c, itest_url("/status?code=302&reason=Found&location=%%2Fstatus%%3Fcode%%3D302%%26reason%%3DFound%%26location%%3D%%252Fstatus"), &o),
                     WSC_EHS_STATUS);
    o.max_redirects = 1;
    wsc_conn_free(&c);
    assert_int_equal(wsc_connect(&c, itest_url("/status?code=302&reason=Found&location=%%2Fstatus%%3Fcode%%3D302%%26reason%%3DFound%%26location%%3D%%252Fecho"), &o),
                     WSC_EHS_STATUS);
    assert_non_null(strstr(wsc_conn_detail(&c), "too many redirects"));
    wsc_conn_free(&c);
    /* A Location that is no WebSocket target is reported, not followed. */
    assert_int_equal(wsc_connect(&c, itest_url("/status?code=302&reason=Found&location=ftp://x/"), &o),
                     WSC_EHS_STATUS);
    assert_non_null(strstr(wsc_conn_detail(&c), "cannot follow"));
    wsc_conn_free(&c);
}

/* ---- protocol violations after a valid 101 ---------------------------- */

struct violation {
    const char *target;
    int error;
    const char *close_seen; /* what the fixture logs about our close frame */
};

static void violations_fail_with_the_right_close_code(void **state)
{
    (void)state;
    static const struct violation cases[] = {
        {"/violation?kind=masked", WSC_EMASKED, "CLOSE 1002"},
        {"/violation?kind=rsv&bits=4", WSC_ERSV, "CLOSE 1002"},
        {"/violation?kind=rsv&bits=2", WSC_ERSV, "CLOSE 1002"},
        {"/violation?kind=rsv&bits=1", WSC_ERSV, "CLOSE 1002"},
        {"/violation?kind=opcode&op=3", WSC_EOPCODE, "CLOSE 1002"},
        {"/violation?kind=opcode&op=7", WSC_EOPCODE, "CLOSE 1002"},
        {"/violation?kind=opcode&op=11", WSC_EOPCODE, "CLOSE 1002"},
        {"/violation?kind=opcode&op=15", WSC_EOPCODE, "CLOSE 1002"},
        {"/violation?kind=ctl-long", WSC_ECONTROL_LEN, "CLOSE 1002"},
        {"/violation?kind=ctl-frag", WSC_ECONTROL_FRAG, "CLOSE 1002"},
        {"/violation?kind=cont-start", WSC_ECONTINUATION, "CLOSE 1002"},
        {"/violation?kind=interleaved", WSC_EINTERLEAVED, "CLOSE 1002"},
        {"/violation?kind=close-1byte", WSC_ECLOSE_PAYLOAD, "CLOSE 1002"},
        {"/violation?kind=close-code&code=1005", WSC_ECLOSE_CODE, "CLOSE 1002"},
        {"/violation?kind=close-code&code=1006", WSC_ECLOSE_CODE, "CLOSE 1002"},
        {"/violation?kind=close-code&code=999", WSC_ECLOSE_CODE, "CLOSE 1002"},
        {"/violation?kind=close-code&code=2999", WSC_ECLOSE_CODE, "CLOSE 1002"},
        {"/violation?kind=close-code&code=5000", WSC_ECLOSE_CODE, "CLOSE 1002"},
        {"/violation?kind=bad-utf8", WSC_EUTF8, "CLOSE 1007"},
        {"/violation?kind=bad-utf8&hex=eda080", WSC_EUTF8, "CLOSE 1007"},
        {"/violation?kind=bad-utf8&hex=c0af", WSC_EUTF8, "CLOSE 1007"},
        {"/violation?kind=bad-utf8&hex=f4908080", WSC_EUTF8, "CLOSE 1007"},
        {"/violation?kind=bad-utf8&hex=41e282", WSC_EUTF8, "CLOSE 1007"},
        {"/violation?kind=bad-utf8-frag", WSC_EUTF8, "CLOSE 1007"},
        {"/violation?kind=bad-utf8-close", WSC_EUTF8, "CLOSE 1007"},
        {"/violation?kind=too-big", WSC_EMSG_TOO_BIG, "CLOSE 1009"},
        {"/violation?kind=too-big&size=20000000&frag=1048576", WSC_EMSG_TOO_BIG, "CLOSE 1009"},
        {"/violation?kind=masked&split=head&pause_ms=5", WSC_EMASKED, "CLOSE 1002"},
        {"/violation?kind=bad-utf8&dribble=1", WSC_EUTF8, "CLOSE 1007"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wsc_conn c;
        char tagged[256];
        ITEST_OK(&c, connect_tagged(&c, NULL, cases[i].target, tagged, sizeof(tagged)));
        expect_text(&c, "before"); /* what came before the fault is delivered */
        struct wsc_message m;
        int rc = wsc_recv(&c, &m, TIMEOUT_MS);
        if (rc != cases[i].error)
            fail_msg("%s: got %d (%s), want %d", tagged, rc, wsc_conn_detail(&c), cases[i].error);
        assert_int_equal(wsc_conn_state(&c), WSC_CONN_FAILED);
        assert_true(wsc_error_is_protocol(rc));
        assert_int_equal(wsc_recv(&c, &m, 0), rc); /* the failure is sticky */
        expect_log(tagged, cases[i].close_seen);
        wsc_conn_free(&c);
    }
}

static void smaller_message_limit_applies_across_fragments(void **state)
{
    (void)state;
    struct wsc_options o;
    itest_options(&o);
    o.max_message = 5000;
    struct wsc_conn c;
    char tagged[256];
    ITEST_OK(&c, connect_tagged(&c, &o, "/violation?kind=too-big&size=5001&frag=1000", tagged,
                                sizeof(tagged)));
    expect_text(&c, "before");
    struct wsc_message m;
    assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), WSC_EMSG_TOO_BIG);
    expect_log(tagged, "CLOSE 1009");
    wsc_conn_free(&c);
}

/* ---- closes, drops, resets -------------------------------------------- */

static void server_close_is_echoed_with_its_code(void **state)
{
    (void)state;
    static const struct {
        const char *target;
        uint16_t code;
        const char *echo;
    } cases[] = {
        {"/close?code=1000&reason=bye", 1000, "CLOSE 1000"},
        {"/close?code=1001&reason=going", 1001, "CLOSE 1001"},
        {"/close?code=4000&reason=custom", 4000, "CLOSE 4000"},
        {"/close?code=1011&reason=oops", 1011, "CLOSE 1011"},
        {"/close?code=none", 1005, "CLOSE none"},
        {"/close?code=1000&dribble=1", 1000, "CLOSE 1000"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wsc_conn c;
        char tagged[256];
        ITEST_OK(&c, connect_tagged(&c, NULL, cases[i].target, tagged, sizeof(tagged)));
        expect_text(&c, "before");
        struct wsc_message m;
        assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), WSC_ECLOSED);
        assert_int_equal(wsc_conn_close_code(&c), cases[i].code);
        assert_int_equal(wsc_conn_state(&c), WSC_CONN_CLOSED);
        assert_int_equal(wsc_recv(&c, &m, 0), WSC_ECLOSED);
        assert_int_equal(wsc_send(&c, WSC_OP_TEXT, "x", 1, 100), WSC_ENOTCONN);
        ITEST_OK(&c, wsc_close(&c, WSC_CLOSE_NORMAL, NULL, 100));
        expect_log(tagged, cases[i].echo);
        wsc_conn_free(&c);
    }
}

static void drop_without_close_frame_is_abnormal(void **state)
{
    (void)state;
    struct wsc_conn c;
    char tagged[64];
    ITEST_OK(&c, connect_tagged(&c, NULL, "/drop", tagged, sizeof(tagged)));
    expect_text(&c, "before");
    struct wsc_message m;
    assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), WSC_EEOF);
    assert_non_null(strstr(wsc_conn_detail(&c), "without a close frame"));
    wsc_conn_free(&c);
}

static void reset_is_reported_after_the_data_before_it(void **state)
{
    (void)state;
    struct wsc_conn c;
    char tagged[64];
    ITEST_OK(&c, connect_tagged(&c, NULL, "/reset", tagged, sizeof(tagged)));
    expect_text(&c, "before");
    struct wsc_message m;
    int rc = wsc_recv(&c, &m, TIMEOUT_MS);
    assert_true(rc == WSC_ECONNRESET || rc == WSC_EEOF);
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_FAILED);
    wsc_conn_free(&c);
}

static void every_ping_of_a_flood_is_answered_in_order(void **state)
{
    (void)state;
    struct wsc_conn c;
    char tagged[64];
    ITEST_OK(&c, connect_tagged(&c, NULL, "/ping-flood?n=300", tagged, sizeof(tagged)));
    expect_text(&c, "done");
    ITEST_OK(&c, wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS));
    expect_log(tagged, "PONGS 300 ORDER ok");
    wsc_conn_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_handshakes_fail_with_their_own_error),
        cmocka_unit_test(non_101_response_keeps_status_headers_and_body),
        cmocka_unit_test(odd_but_valid_handshakes_are_accepted),
        cmocka_unit_test(head_of_exactly_the_limit_is_accepted),
        cmocka_unit_test(silent_server_times_out_the_handshake),
        cmocka_unit_test(refused_port_and_bad_url_are_reported),
        cmocka_unit_test(user_header_injection_is_refused),
        cmocka_unit_test(url_userinfo_sends_basic_auth),
        cmocka_unit_test(bearer_token_is_sent),
        cmocka_unit_test(redirects_are_followed_only_when_asked),
        cmocka_unit_test(violations_fail_with_the_right_close_code),
        cmocka_unit_test(smaller_message_limit_applies_across_fragments),
        cmocka_unit_test(server_close_is_echoed_with_its_code),
        cmocka_unit_test(drop_without_close_frame_is_abnormal),
        cmocka_unit_test(reset_is_reported_after_the_data_before_it),
        cmocka_unit_test(every_ping_of_a_flood_is_answered_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
