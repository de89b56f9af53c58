/*
 * The part of the event-loop examples that is not the loop: N connections,
 * each sending M text messages and checking that they come back in order.
 */
#ifndef ECHO_CLIENT_H
#define ECHO_CLIENT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wsc/wsc.h>

struct echo_conn {
    struct wsc_conn c;
    int id, sent, got, fd; /* fd as last registered with the loop */
    bool done, closing;
};

struct echo_run {
    struct echo_conn *conns;
    int count, messages, finished, failed;
};

static void echo_text(const struct echo_conn *e, int j, char *buf, size_t cap)
{
    snprintf(buf, cap, "connection %d message %d", e->id, j);
}

/* Starts every connection; returns 0, or 1 when one cannot even start. */
static int echo_start(struct echo_run *r, const char *url, int count, int messages)
{
    r->conns = calloc((size_t)count, sizeof(*r->conns));
    if (!r->conns)
        return 1;
    r->count = count;
    r->messages = messages;
    struct wsc_options o;
    wsc_options_init(&o);
    o.rx_buf_size = o.tx_buf_size = 4096; /* small messages, many connections */
    for (int i = 0; i < count; i++) {
        struct echo_conn *e = &r->conns[i];
        e->id = i;
        e->fd = -1;
        if (wsc_conn_start(&e->c, url, &o) != 0) {
            fprintf(stderr, "connection %d: %s\n", i, wsc_conn_detail(&e->c));
            return 1;
        }
    }
    return 0;
}

static void echo_finish(struct echo_run *r, struct echo_conn *e, bool ok)
{
    if (e->done)
        return;
    e->done = true;
    r->finished++;
    if (!ok) {
        r->failed++;
        fprintf(stderr, "connection %d: %s\n", e->id, wsc_conn_detail(&e->c));
    }
}

/* After the loop saw @p ready on the connection (or its timer fired). */
static void echo_step(struct echo_run *r, struct echo_conn *e, int ready)
{
    if (e->done)
        return;
    struct wsc_conn *c = &e->c;
    if (wsc_conn_process(c, ready) != 0) {
        echo_finish(r, e, false);
        return;
    }
    if (wsc_conn_state(c) == WSC_CONN_OPEN) {
        char text[64];
        while (e->sent < r->messages) {
            echo_text(e, e->sent, text, sizeof(text));
            int rc = wsc_send(c, WSC_OP_TEXT, text, strlen(text), 0);
            if (rc == WSC_EAGAIN)
                break; /* the queue is full: more once it drains */
            if (rc) {
                echo_finish(r, e, false);
                return;
            }
            e->sent++;
        }
    }
    struct wsc_message m;
    int rc;
    while ((rc = wsc_recv(c, &m, 0)) == 0) {
        char want[64];
        echo_text(e, e->got, want, sizeof(want));
        if (m.len != strlen(want) || memcmp(m.data, want, m.len) != 0) {
            fprintf(stderr, "connection %d: message %d came back wrong\n", e->id, e->got);
            echo_finish(r, e, false);
            return;
        }
        e->got++;
    }
    if (rc == WSC_ECLOSED) {
        if (wsc_conn_interest(c) == 0)
            echo_finish(r, e, e->closing && e->got == r->messages);
        return;
    }
    if (rc != WSC_EAGAIN && rc != WSC_ENOTCONN) {
        echo_finish(r, e, false);
        return;
    }
    if (e->got == r->messages && !e->closing) {
        e->closing = true;
        wsc_close(c, WSC_CLOSE_NORMAL, "done", 5000); /* WSC_EAGAIN: in progress */
    }
    if (wsc_conn_interest(c) == 0 && wsc_conn_state(c) != WSC_CONN_OPEN)
        echo_finish(r, e, wsc_conn_state(c) == WSC_CONN_CLOSED);
}

static int echo_report(struct echo_run *r)
{
    printf("%d connections, %d messages each: %d echoed in order, %d failed\n", r->count,
           r->messages, r->count - r->failed, r->failed);
    for (int i = 0; i < r->count; i++)
        wsc_conn_free(&r->conns[i].c);
    free(r->conns);
    return r->failed ? 1 : 0;
}

#endif
