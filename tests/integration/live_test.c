/*
 * Live-connection care against the hostile fixture: keepalive and dead-peer
 * detection, state callbacks, counters, and reconnecting with backoff.
 * Times are asserted only with generous bounds (shared, noisy machines).
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

static const char *tagged(const char *target, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%sid=live%u", target, strchr(target, '?') ? "&" : "?", ++next_id);
    return buf;
}

static void dead_peer_fails_within_interval_plus_timeout(void **state)
{
    (void)state;
    struct wsc_options o;
    itest_options(&o);
    o.ping_interval_ms = 200;
    o.pong_timeout_ms = 300;
    struct wsc_conn c;
    char t[128];
    ITEST_OK(&c, wsc_connect(&c, itest_url("%s", tagged("/keepalive?pong=none", t, sizeof(t))), &o));
    uint64_t start = wsc_platform_now_ms();
    struct wsc_message m;
    assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), WSC_EPEER_TIMEOUT);
    uint64_t took = wsc_platform_now_ms() - start;
    assert_true(took >= 450);  /* interval + timeout = 500, less clock granularity */
    assert_true(took < 5000);  /* and nowhere near the recv timeout */
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_FAILED);
    assert_non_null(strstr(wsc_conn_detail(&c), "peer not responding"));
    assert_int_equal(wsc_conn_local_close_code(&c), WSC_CLOSE_INTERNAL);
    assert_int_equal(wsc_conn_close_code(&c), 0); /* nothing came back: 1006 semantics */
    struct wsc_stats st;
    wsc_conn_stats(&c, &st);
    assert_int_equal(st.pings_out, 1);
    assert_int_equal(st.pongs_in, 0);
    char line[160];
    snprintf(line, sizeof(line), "%s CLOSE 1011", t);
    assert_true(itest_log_has(line, 5000));
    wsc_conn_free(&c);
}

static void late_pongs_within_the_timeout_keep_the_connection(void **state)
{
    (void)state;
    struct wsc_options o;
    itest_options(&o);
    o.ping_interval_ms = 150;
    o.pong_timeout_ms = 1500;
    struct wsc_conn c;
    char t[128];
    ITEST_OK(&c, wsc_connect(&c, itest_url("%s", tagged("/keepalive?pong=late&delay_ms=250", t, sizeof(t))), &o));
    struct wsc_message m;
    assert_int_equal(wsc_recv(&c, &m, 1500), WSC_ETIMEDOUT); /* no data, still alive */
    assert_int_equal(wsc_conn_state(&c), WSC_CONN_OPEN);
    struct wsc_stats st;
    wsc_conn_stats(&c, &st);
    assert_true(st.pings_out >= 2);
    assert_true(st.pongs_in >= 1);
    assert_true(st.last_rtt_us >= 200000);  /* the fixture waits 250 ms */
    assert_true(st.last_rtt_us < 1500000);
    /* The timer is exposed for applications that poll the descriptor themselves. */
    int timer = wsc_conn_timer_ms(&c);
    assert_true(timer >= 0 && timer <= 1500);
    ITEST_OK(&c, wsc_close(&c, WSC_CLOSE_NORMAL, NULL, TIMEOUT_MS));
    wsc_conn_free(&c);
}

struct state_log {
    enum wsc_conn_state seen[16];
    size_t n;
};

static void record_state(void *user, const struct wsc_conn *c, enum wsc_conn_state st)
{
    struct state_log *log = user;
    assert_int_equal(wsc_conn_state(c), st);
    if (log->n < 16)
        log->seen[log->n++] = st;
}

static void states_and_counters_follow_the_session(void **state)
{
    (void)state;
    struct state_log log = {{0}, 0};
    struct wsc_options o;
    itest_options(&o);
    o.on_state = record_state;
    o.state_user = &log;
    struct wsc_conn c;
    char t[128];
    ITEST_OK(&c, wsc_connect(&c, itest_url("%s", tagged("/echo", t, sizeof(t))), &o));
    const char *msgs[] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++)
        ITEST_OK(&c, wsc_send(&c, WSC_OP_TEXT, msgs[i], strlen(msgs[i]), TIMEOUT_MS));
    ITEST_OK(&c, wsc_ping(&c, "rtt", 3, TIMEOUT_MS));
    struct wsc_message m;
    for (int i = 0; i < 3; i++)
        ITEST_OK(&c, wsc_recv(&c, &m, TIMEOUT_MS));
    ITEST_OK(&c, wsc_close(&c, WSC_CLOSE_NORMAL, "bye", TIMEOUT_MS));

    const enum wsc_conn_state want[] = {WSC_CONN_CONNECTING, WSC_CONN_HANDSHAKING, WSC_CONN_OPEN,
                                        WSC_CONN_CLOSING, WSC_CONN_CLOSED};
    assert_int_equal(log.n, 5);
    assert_memory_equal(log.seen, want, sizeof(want));

    struct wsc_stats st;
    wsc_conn_stats(&c, &st);
    assert_int_equal(st.messages_out, 3);
    assert_int_equal(st.messages_in, 3);
    assert_int_equal(st.payload_out, 11);
    assert_int_equal(st.payload_in, 11);
    assert_int_equal(st.pings_out, 1);
    assert_int_equal(st.pongs_in, 1);
    assert_true(st.last_rtt_us >= 0);
    assert_true(st.bytes_in > st.payload_in + 129); /* the 101 head and frame headers */
    assert_true(st.bytes_out > st.payload_out + 100);
    assert_true(st.last_activity_ms > 0);
    assert_int_equal(wsc_conn_local_close_code(&c), WSC_CLOSE_NORMAL);
    assert_int_equal(wsc_conn_close_code(&c), WSC_CLOSE_NORMAL);
    wsc_conn_free(&c);
}

struct attempts {
    int delays[16];
    int n;
    int stop_at;
};

static int record_attempt(void *user, int attempt, int delay_ms)
{
    struct attempts *a = user;
    assert_int_equal(attempt, a->n + 1);
    if (a->n < 16)
        a->delays[a->n++] = delay_ms;
    return a->stop_at && attempt >= a->stop_at;
}

static void reconnect_backs_off_exponentially_up_to_the_cap(void **state)
{
    (void)state;
    struct wsc_conn c;
    assert_int_equal(wsc_connect(&c, "ws://127.0.0.1:1/", NULL), WSC_ECONNREFUSED);
    struct attempts a = {{0}, 0, 0};
    struct wsc_reconnect r;
    wsc_reconnect_init(&r);
    r.min_delay_ms = 5;
    r.max_delay_ms = 40;
    r.factor = 2.0;
    r.jitter = 0;
    r.max_attempts = 6;
    r.before_attempt = record_attempt;
    r.user = &a;
    assert_int_equal(wsc_reconnect(&c, &r), WSC_ECONNREFUSED);
    const int want[] = {5, 10, 20, 40, 40, 40};
    assert_int_equal(a.n, 6);
    assert_memory_equal(a.delays, want, sizeof(want));
    wsc_conn_free(&c);

    /* With jitter the delays stay within the band and still grow overall. */
    assert_int_equal(wsc_connect(&c, "ws://127.0.0.1:1/", NULL), WSC_ECONNREFUSED);
    struct attempts b = {{0}, 0, 3};
    r.jitter = 0.2;
    r.user = &b;
    assert_int_equal(wsc_reconnect(&c, &r), WSC_ECONNREFUSED);
    assert_int_equal(b.n, 3); /* the callback stopped it */
    assert_true(b.delays[0] >= 4 && b.delays[0] <= 6);
    assert_true(b.delays[2] >= 16 && b.delays[2] <= 24);
    assert_true(b.delays[0] < b.delays[2]);
    wsc_conn_free(&c);
}

static void reconnect_resumes_after_each_drop(void **state)
{
    (void)state;
    struct wsc_conn c;
    char t[128];
    ITEST_OK(&c, wsc_connect(&c, itest_url("%s", tagged("/drop", t, sizeof(t))), NULL));
    struct wsc_reconnect r;
    wsc_reconnect_init(&r);
    r.min_delay_ms = 1;
    r.max_attempts = 3;
    struct wsc_message m;
    for (int round = 0; round < 4; round++) {
        ITEST_OK(&c, wsc_recv(&c, &m, TIMEOUT_MS));
        assert_int_equal(m.len, 6);
        assert_memory_equal(m.data, "before", 6);
        assert_int_equal(wsc_recv(&c, &m, TIMEOUT_MS), WSC_EEOF);
        assert_int_equal(wsc_send(&c, WSC_OP_TEXT, "lost?", 5, 100), WSC_EEOF);
        if (round < 3)
            ITEST_OK(&c, wsc_reconnect(&c, &r));
    }
    struct wsc_stats st;
    wsc_conn_stats(&c, &st);
    assert_int_equal(st.reconnects, 3);
    assert_int_equal(st.messages_in, 4);
    assert_int_equal(st.messages_out, 0);
    wsc_conn_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dead_peer_fails_within_interval_plus_timeout),
        cmocka_unit_test(late_pongs_within_the_timeout_keep_the_connection),
        cmocka_unit_test(states_and_counters_follow_the_session),
        cmocka_unit_test(reconnect_backs_off_exponentially_up_to_the_cap),
        cmocka_unit_test(reconnect_resumes_after_each_drop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
