/*
 * permessage-deflate negotiation (RFC 7692 7): the offer writer and the check
 * of the server's Sec-WebSocket-Extensions answer. A table of answers, good
 * and bad, each parsed from a heap block of exactly its length so that an
 * over-read trips ASan; then every combination of offer and answer parameters
 * against a model written from the RFC's rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wsc/wsc_core.h"

#define NO WSC_PMD_NOT_OFFERED
#define BAD WSC_EHS_EXTENSION

/* Offers used by the table, by name. */
static const struct wsc_pmd_offer O_DEFAULT = {false, false, 0, 0}; /* cmwb, no value */
static const struct wsc_pmd_offer O_BARE = {false, false, NO, 0};   /* no parameters */
static const struct wsc_pmd_offer O_CMWB12 = {false, false, 12, 0};
static const struct wsc_pmd_offer O_SNCT = {false, true, 0, 0};
static const struct wsc_pmd_offer O_CNCT = {true, false, 0, 0};
static const struct wsc_pmd_offer O_SMWB10 = {false, false, 0, 10};

struct pcase {
    const char *what;
    const struct wsc_pmd_offer *offer;
    const char *response;
    int rc;
    struct wsc_pmd_params want; /* server_nct, client_nct, server_mwb, client_mwb */
};

#define OK 0
#define P(snct, cnct, smwb, cmwb)                                                          \
    {                                                                                      \
        snct, cnct, smwb, cmwb                                                             \
    }
#define DEF P(false, false, 15, 15)
#define NONE P(false, false, 0, 0)

static const struct pcase cases[] = {
    /* RFC 7692 7.1: the plain acceptance, defaults applied. */
    {"bare acceptance", &O_DEFAULT, "permessage-deflate", OK, DEF},
    {"bare acceptance of a bare offer", &O_BARE, "permessage-deflate", OK, DEF},

    /* 7.1.1.1 server_no_context_takeover: echoed when asked, allowed unasked. */
    {"snct echoed", &O_SNCT, "permessage-deflate; server_no_context_takeover", OK,
     P(true, false, 15, 15)},
    {"snct unasked", &O_DEFAULT, "permessage-deflate; server_no_context_takeover", OK,
     P(true, false, 15, 15)},
    {"snct asked, not echoed", &O_SNCT, "permessage-deflate", BAD, NONE},
    {"snct with a value", &O_DEFAULT, "permessage-deflate; server_no_context_takeover=1",
     BAD, NONE},
    {"snct with an empty quoted value", &O_DEFAULT,
     "permessage-deflate; server_no_context_takeover=\"\"", BAD, NONE},

    /* 7.1.1.2 client_no_context_takeover: the server may impose it; our offer
     * of it is a promise whether or not it is echoed. */
    {"cnct imposed", &O_DEFAULT, "permessage-deflate; client_no_context_takeover", OK,
     P(false, true, 15, 15)},
    {"cnct offered, echoed", &O_CNCT, "permessage-deflate; client_no_context_takeover", OK,
     P(false, true, 15, 15)},
    {"cnct offered, not echoed", &O_CNCT, "permessage-deflate", OK, P(false, true, 15, 15)},
    {"cnct with a value", &O_DEFAULT, "permessage-deflate; client_no_context_takeover=true",
     BAD, NONE},

    /* 7.1.2.1 server_max_window_bits. */
    {"smwb unasked", &O_DEFAULT, "permessage-deflate; server_max_window_bits=10", OK,
     P(false, false, 10, 15)},
    {"smwb unasked, 8", &O_DEFAULT, "permessage-deflate; server_max_window_bits=8", OK,
     P(false, false, 8, 15)},
    {"smwb asked, same", &O_SMWB10, "permessage-deflate; server_max_window_bits=10", OK,
     P(false, false, 10, 15)},
    {"smwb asked, smaller", &O_SMWB10, "permessage-deflate; server_max_window_bits=9", OK,
     P(false, false, 9, 15)},
    {"smwb asked, larger", &O_SMWB10, "permessage-deflate; server_max_window_bits=11", BAD,
     NONE},
    {"smwb asked, missing", &O_SMWB10, "permessage-deflate", BAD, NONE},
    {"smwb without a value", &O_DEFAULT, "permessage-deflate; server_max_window_bits", BAD,
     NONE},
    {"smwb 7", &O_DEFAULT, "permessage-deflate; server_max_window_bits=7", BAD, NONE},
    {"smwb 16", &O_DEFAULT, "permessage-deflate; server_max_window_bits=16", BAD, NONE},
    {"smwb 0", &O_DEFAULT, "permessage-deflate; server_max_window_bits=0", BAD, NONE},
    {"smwb leading zero", &O_DEFAULT, "permessage-deflate; server_max_window_bits=08", BAD,
     NONE},
    {"smwb leading zero, two digits", &O_DEFAULT,
     "permessage-deflate; server_max_window_bits=015", BAD, NONE},
    {"smwb sign", &O_DEFAULT, "permessage-deflate; server_max_window_bits=+9", BAD, NONE},
    {"smwb trailing letter", &O_DEFAULT, "permessage-deflate; server_max_window_bits=9a",
     BAD, NONE},
    {"smwb empty value", &O_DEFAULT, "permessage-deflate; server_max_window_bits=", BAD,
     NONE},
    {"smwb huge", &O_DEFAULT,
     "permessage-deflate; server_max_window_bits=100000000000000000009", BAD, NONE},

    /* 7.1.2.2 client_max_window_bits. */
    {"cmwb chosen", &O_DEFAULT, "permessage-deflate; client_max_window_bits=10", OK,
     P(false, false, 15, 10)},
    {"cmwb 15", &O_DEFAULT, "permessage-deflate; client_max_window_bits=15", OK, DEF},
    {"cmwb 9", &O_DEFAULT, "permessage-deflate; client_max_window_bits=9", OK,
     P(false, false, 15, 9)},
    {"cmwb 8: zlib cannot", &O_DEFAULT, "permessage-deflate; client_max_window_bits=8", BAD,
     NONE},
    {"cmwb not offered", &O_BARE, "permessage-deflate; client_max_window_bits=10", BAD,
     NONE},
    {"cmwb not offered, 15", &O_BARE, "permessage-deflate; client_max_window_bits=15", BAD,
     NONE},
    {"cmwb without a value", &O_DEFAULT, "permessage-deflate; client_max_window_bits", BAD,
     NONE},
    {"cmwb offered 12, absent: our promise", &O_CMWB12, "permessage-deflate", OK,
     P(false, false, 15, 12)},
    {"cmwb offered 12, lowered", &O_CMWB12, "permessage-deflate; client_max_window_bits=11",
     OK, P(false, false, 15, 11)},
    {"cmwb offered 12, same", &O_CMWB12, "permessage-deflate; client_max_window_bits=12",
     OK, P(false, false, 15, 12)},
    {"cmwb offered 12, raised", &O_CMWB12, "permessage-deflate; client_max_window_bits=13",
     BAD, NONE},
    {"cmwb 7", &O_DEFAULT, "permessage-deflate; client_max_window_bits=7", BAD, NONE},
    {"cmwb 16", &O_DEFAULT, "permessage-deflate; client_max_window_bits=16", BAD, NONE},
    {"cmwb 08", &O_DEFAULT, "permessage-deflate; client_max_window_bits=08", BAD, NONE},

    /* Everything at once, in two orders. */
    {"all four", &O_DEFAULT,
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
     "server_max_window_bits=12; client_max_window_bits=11",
     OK, P(true, true, 12, 11)},
    {"all four, reversed", &O_DEFAULT,
     "permessage-deflate; client_max_window_bits=11; server_max_window_bits=12; "
     "client_no_context_takeover; server_no_context_takeover",
     OK, P(true, true, 12, 11)},

    /* Duplicates (7: "multiple extension parameters with the same name"). */
    {"snct twice", &O_DEFAULT,
     "permessage-deflate; server_no_context_takeover; server_no_context_takeover", BAD,
     NONE},
    {"cnct twice", &O_DEFAULT,
     "permessage-deflate; client_no_context_takeover; client_no_context_takeover", BAD,
     NONE},
    {"smwb twice, same value", &O_DEFAULT,
     "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", BAD, NONE},
    {"cmwb twice", &O_DEFAULT,
     "permessage-deflate; client_max_window_bits=10; client_max_window_bits=11", BAD, NONE},

    /* Unknown parameters and extensions. */
    {"unknown parameter", &O_DEFAULT, "permessage-deflate; foo", BAD, NONE},
    {"unknown parameter with value", &O_DEFAULT, "permessage-deflate; foo=1", BAD, NONE},
    {"offer-only spelling", &O_DEFAULT, "permessage-deflate; c2s_max_window_bits=10", BAD,
     NONE},
    {"another extension", &O_DEFAULT, "x-webkit-deflate-frame", BAD, NONE},
    {"two extensions", &O_DEFAULT, "permessage-deflate, x-foo", BAD, NONE},
    {"two extensions, ours second", &O_DEFAULT, "x-foo, permessage-deflate", BAD, NONE},
    {"ours twice", &O_DEFAULT, "permessage-deflate, permessage-deflate", BAD, NONE},
    {"ours twice with parameters", &O_DEFAULT,
     "permessage-deflate; server_no_context_takeover, permessage-deflate", BAD, NONE},
    {"no extension", &O_DEFAULT, "", BAD, NONE},
    {"only commas", &O_DEFAULT, " , ,", BAD, NONE},

    /* Names compare exactly: neither RFC 6455 nor 7692 defines case folding,
     * and a server echoes the registered names. */
    {"name in capitals", &O_DEFAULT, "Permessage-Deflate", BAD, NONE},
    {"parameter in capitals", &O_DEFAULT, "permessage-deflate; Server_No_Context_Takeover",
     BAD, NONE},

    /* Whitespace and list syntax (RFC 6455 9.1 implied LWS, RFC 7230 7). */
    {"no spaces", &O_DEFAULT,
     "permessage-deflate;server_no_context_takeover;client_max_window_bits=10", OK,
     P(true, false, 15, 10)},
    {"spaces everywhere", &O_DEFAULT,
     "  permessage-deflate  ;  server_no_context_takeover ;client_max_window_bits = 10  ",
     OK, P(true, false, 15, 10)},
    {"tabs", &O_DEFAULT, "\tpermessage-deflate\t;\tserver_max_window_bits\t=\t9\t", OK,
     P(false, false, 9, 15)},
    {"empty elements around", &O_DEFAULT, ", permessage-deflate ,, ", OK, DEF},
    {"trailing comma", &O_DEFAULT, "permessage-deflate,", OK, DEF},
    {"trailing semicolon", &O_DEFAULT, "permessage-deflate;", BAD, NONE},
    {"double semicolon", &O_DEFAULT, "permessage-deflate;; server_no_context_takeover", BAD,
     NONE},
    {"missing semicolon", &O_DEFAULT, "permessage-deflate server_no_context_takeover", BAD,
     NONE},
    {"value without name", &O_DEFAULT, "permessage-deflate; =10", BAD, NONE},
    {"double equals", &O_DEFAULT, "permessage-deflate; server_max_window_bits==10", BAD,
     NONE},
    {"two values", &O_DEFAULT, "permessage-deflate; server_max_window_bits=10 11", BAD,
     NONE},
    {"separator in value", &O_DEFAULT, "permessage-deflate; server_max_window_bits=1{0}",
     BAD, NONE},
    {"leading semicolon", &O_DEFAULT, "; permessage-deflate", BAD, NONE},
    {"CR inside", &O_DEFAULT, "permessage-deflate\r", BAD, NONE},
    {"NUL inside", &O_DEFAULT, "permessage-deflate\0", BAD, NONE},

    /* Quoted values (RFC 6455 9.1: the unescaped text must be a token). */
    {"quoted value", &O_DEFAULT, "permessage-deflate; server_max_window_bits=\"15\"", OK,
     DEF},
    {"quoted cmwb", &O_DEFAULT, "permessage-deflate; client_max_window_bits=\"10\"", OK,
     P(false, false, 15, 10)},
    {"quoted with an escape", &O_DEFAULT,
     "permessage-deflate; server_max_window_bits=\"1\\2\"", OK, P(false, false, 12, 15)},
    {"quoted, comma inside", &O_DEFAULT, "permessage-deflate; foo=\"a,b\"", BAD, NONE},
    {"quoted leading zero", &O_DEFAULT, "permessage-deflate; server_max_window_bits=\"08\"",
     BAD, NONE},
    {"quoted with a space", &O_DEFAULT, "permessage-deflate; server_max_window_bits=\" 9\"",
     BAD, NONE},
    {"quoted empty", &O_DEFAULT, "permessage-deflate; server_max_window_bits=\"\"", BAD,
     NONE},
    {"quoted, unterminated", &O_DEFAULT, "permessage-deflate; server_max_window_bits=\"10",
     BAD, NONE},
    {"quoted, escape at end", &O_DEFAULT,
     "permessage-deflate; server_max_window_bits=\"10\\", BAD, NONE},
    {"quoted, too long", &O_DEFAULT,
     "permessage-deflate; server_max_window_bits=\"1111111111111111\"", BAD, NONE},
    {"quoted, then more", &O_DEFAULT, "permessage-deflate; server_max_window_bits=\"9\"x",
     BAD, NONE},
};

/* Strings with an embedded NUL carry their length; the rest use strlen. */
static size_t case_len(const struct pcase *c)
{
    if (strcmp(c->what, "NUL inside") == 0)
        return strlen(c->response) + 1;
    return strlen(c->response);
}

static void test_response_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct pcase *c = &cases[i];
        size_t len = case_len(c);
        /* Exactly len bytes on the heap: reading one past trips ASan. */
        char *v = malloc(len ? len : 1);
        assert_non_null(v);
        memcpy(v, c->response, len);
        struct wsc_pmd_params got;
        memset(&got, 0xa5, sizeof(got));
        const struct wsc_pmd_params untouched = got;
        int rc = wsc_pmd_parse_response(c->offer, v, len, &got);
        if (rc != c->rc)
            print_message("case \"%s\": rc %d, want %d\n", c->what, rc, c->rc);
        assert_int_equal(rc, c->rc);
        if (rc == 0) {
            if (memcmp(&got, &c->want, sizeof(got)) != 0)
                print_message("case \"%s\": got %d %d %u %u\n", c->what,
                              got.server_no_context_takeover,
                              got.client_no_context_takeover, got.server_max_window_bits,
                              got.client_max_window_bits);
            assert_int_equal(got.server_no_context_takeover,
                             c->want.server_no_context_takeover);
            assert_int_equal(got.client_no_context_takeover,
                             c->want.client_no_context_takeover);
            assert_int_equal(got.server_max_window_bits, c->want.server_max_window_bits);
            assert_int_equal(got.client_max_window_bits, c->want.client_max_window_bits);
        } else {
            assert_memory_equal(&got, &untouched, sizeof(got));
        }
        free(v);
    }
}

/* ---- every combination against the RFC's rules ------------------------ */

/*
 * The rules of RFC 7692 7.1 for a client, written out independently of the
 * parser: returns 0 and fills *want, or BAD. Response windows of 0 = absent.
 */
static int model(const struct wsc_pmd_offer *o, bool snct, bool cnct, uint8_t smwb,
                 uint8_t cmwb, struct wsc_pmd_params *want)
{
    if (o->server_no_context_takeover && !snct)
        return BAD;
    if (o->server_max_window_bits && (smwb == 0 || smwb > o->server_max_window_bits))
        return BAD;
    uint8_t ours;
    if (o->client_max_window_bits == NO) {
        if (cmwb)
            return BAD;
        ours = 15;
    } else {
        uint8_t limit = o->client_max_window_bits ? o->client_max_window_bits : 15;
        if (cmwb == 8 || cmwb > limit)
            return BAD;
        ours = cmwb ? cmwb : limit;
    }
    want->server_no_context_takeover = snct;
    want->client_no_context_takeover = cnct || o->client_no_context_takeover;
    want->server_max_window_bits = smwb ? smwb : 15;
    want->client_max_window_bits = ours;
    return 0;
}

static size_t build(char *buf, size_t cap, int style, bool snct, bool cnct, uint8_t smwb,
                    uint8_t cmwb)
{
    /* Three layouts: compact, spaced, and reversed order with quoted values. */
    const char *sep = style == 0 ? ";" : style == 1 ? " ;  " : "; ";
    char parts[4][64];
    size_t n = 0;
    if (snct)
        snprintf(parts[n++], sizeof(parts[0]), "server_no_context_takeover");
    if (cnct)
        snprintf(parts[n++], sizeof(parts[0]), "client_no_context_takeover");
    if (smwb)
        snprintf(parts[n++], sizeof(parts[0]),
                 style == 2   ? "server_max_window_bits=\"%u\""
                 : style == 1 ? "server_max_window_bits = %u"
                              : "server_max_window_bits=%u",
                 smwb);
    if (cmwb)
        snprintf(parts[n++], sizeof(parts[0]),
                 style == 2 ? "client_max_window_bits=\"%u\"" : "client_max_window_bits=%u",
                 cmwb);
    size_t len = (size_t)snprintf(buf, cap, "%spermessage-deflate", style == 1 ? " " : "");
    for (size_t i = 0; i < n; i++) {
        const char *part = parts[style == 2 ? n - 1 - i : i];
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", sep, part);
    }
    assert_true(len < cap);
    return len;
}

static void test_every_combination_matches_the_rules(void **state)
{
    (void)state;
    static const uint8_t cw_offers[] = {0, 9, 10, 11, 12, 13, 14, 15, NO};
    static const uint8_t sw_offers[] = {0, 8, 9, 10, 11, 12, 13, 14, 15};
    static const uint8_t windows[] = {0, 8, 9, 10, 11, 12, 13, 14, 15};
    size_t runs = 0, accepted = 0;
    for (int flags = 0; flags < 4; flags++)
        for (size_t a = 0; a < sizeof(cw_offers); a++)
            for (size_t b = 0; b < sizeof(sw_offers); b++) {
                struct wsc_pmd_offer o = {(flags & 1) != 0, (flags & 2) != 0, cw_offers[a],
                                          sw_offers[b]};
                for (int rflags = 0; rflags < 4; rflags++)
                    for (size_t s = 0; s < sizeof(windows); s++)
                        for (size_t c = 0; c < sizeof(windows); c++)
                            for (int style = 0; style < 3; style++) {
                                char buf[256];
                                bool snct = rflags & 1, cnct = rflags & 2;
                                size_t len = build(buf, sizeof(buf), style, snct, cnct,
                                                   windows[s], windows[c]);
                                struct wsc_pmd_params want, got;
                                memset(&want, 0, sizeof(want));
                                memset(&got, 0, sizeof(got));
                                int wrc =
                                    model(&o, snct, cnct, windows[s], windows[c], &want);
                                int rc = wsc_pmd_parse_response(&o, buf, len, &got);
                                if (rc != wrc)
                                    print_message("offer %d/%u/%u, \"%s\": rc %d want %d\n",
                                                  flags, o.client_max_window_bits,
                                                  o.server_max_window_bits, buf, rc, wrc);
                                assert_int_equal(rc, wrc);
                                if (rc == 0) {
                                    assert_memory_equal(&got, &want, sizeof(got));
                                    accepted++;
                                }
                                runs++;
                            }
            }
    print_message("%zu offer/answer combinations, %zu accepted\n", runs, accepted);
}

/* ---- the offer -------------------------------------------------------- */

static void test_offer_strings(void **state)
{
    (void)state;
    static const struct {
        struct wsc_pmd_offer o;
        const char *want;
    } offers[] = {
        {{false, false, 0, 0}, "permessage-deflate; client_max_window_bits"},
        {{false, false, NO, 0}, "permessage-deflate"},
        {{false, false, 9, 0}, "permessage-deflate; client_max_window_bits=9"},
        {{false, false, 15, 8},
         "permessage-deflate; client_max_window_bits=15; "
         "server_max_window_bits=8"},
        {{true, true, 10, 12},
         "permessage-deflate; client_no_context_takeover; server_no_context_takeover; "
         "client_max_window_bits=10; server_max_window_bits=12"},
        {{true, false, NO, 15},
         "permessage-deflate; client_no_context_takeover; server_max_window_bits=15"},
    };
    for (size_t i = 0; i < sizeof(offers) / sizeof(offers[0]); i++) {
        char buf[WSC_PMD_OFFER_MAX];
        int n = wsc_pmd_write_offer(&offers[i].o, buf, sizeof(buf));
        assert_int_equal(n, (int)strlen(offers[i].want));
        assert_string_equal(buf, offers[i].want);

        /* Exactly enough room (with the NUL) works; one byte less does not. */
        size_t need = (size_t)n + 1;
        char *exact = malloc(need);
        assert_non_null(exact);
        assert_int_equal(wsc_pmd_write_offer(&offers[i].o, exact, need), n);
        assert_string_equal(exact, offers[i].want);
        assert_int_equal(wsc_pmd_write_offer(&offers[i].o, exact, need - 1), WSC_ENOBUFS);
        assert_int_equal(exact[0], '\0'); /* never a truncated, unterminated offer */
        free(exact);
    }
    char one[1] = {'x'};
    assert_int_equal(wsc_pmd_write_offer(&offers[0].o, one, 1), WSC_ENOBUFS);
    assert_int_equal(wsc_pmd_write_offer(&offers[0].o, NULL, 0), WSC_ENOBUFS);
}

static void test_offer_longest_fits_the_macro(void **state)
{
    (void)state;
    struct wsc_pmd_offer o = {true, true, 15, 15};
    char buf[WSC_PMD_OFFER_MAX];
    int n = wsc_pmd_write_offer(&o, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(n, 128); /* as the macro's comment says */
    assert_true((size_t)n < WSC_PMD_OFFER_MAX);
}

static void test_offer_rejects_bad_values(void **state)
{
    (void)state;
    char buf[WSC_PMD_OFFER_MAX];
    /* 8 for our own window: zlib's deflate cannot keep that promise. */
    static const uint8_t bad_cw[] = {1, 7, 8, 16, 100, 0xfe};
    static const uint8_t bad_sw[] = {1, 7, 16, 0xff};
    for (size_t i = 0; i < sizeof(bad_cw); i++) {
        struct wsc_pmd_offer o = {false, false, bad_cw[i], 0};
        assert_int_equal(wsc_pmd_write_offer(&o, buf, sizeof(buf)), WSC_EINVAL);
    }
    for (size_t i = 0; i < sizeof(bad_sw); i++) {
        struct wsc_pmd_offer o = {false, false, 0, bad_sw[i]};
        assert_int_equal(wsc_pmd_write_offer(&o, buf, sizeof(buf)), WSC_EINVAL);
    }
    assert_int_equal(wsc_pmd_write_offer(NULL, buf, sizeof(buf)), WSC_EINVAL);
}

static void test_parse_rejects_null_arguments(void **state)
{
    (void)state;
    struct wsc_pmd_params p;
    assert_int_equal(wsc_pmd_parse_response(NULL, "permessage-deflate", 18, &p),
                     WSC_EINVAL);
    assert_int_equal(wsc_pmd_parse_response(&O_DEFAULT, "permessage-deflate", 18, NULL),
                     WSC_EINVAL);
    assert_int_equal(wsc_pmd_parse_response(&O_DEFAULT, NULL, 5, &p), WSC_EINVAL);
    assert_int_equal(wsc_pmd_parse_response(&O_DEFAULT, NULL, 0, &p), BAD);
}

/* Only the first len bytes count: what follows is another header's text. */
static void test_parse_respects_length(void **state)
{
    (void)state;
    struct wsc_pmd_params p;
    const char *v = "permessage-deflate; server_no_context_takeover, x-foo";
    assert_int_equal(wsc_pmd_parse_response(&O_DEFAULT, v, 18, &p), 0);
    assert_false(p.server_no_context_takeover);
    assert_int_equal(wsc_pmd_parse_response(&O_DEFAULT, v, 46, &p), 0);
    assert_true(p.server_no_context_takeover);
    assert_int_equal(wsc_pmd_parse_response(&O_DEFAULT, v, 47, &p), 0); /* trailing ',' */
    assert_int_equal(wsc_pmd_parse_response(&O_DEFAULT, v, strlen(v), &p), BAD);
    /* A window value cut short: "1" of "15" is not a valid window. */
    const char *w = "permessage-deflate; server_max_window_bits=15";
    assert_int_equal(wsc_pmd_parse_response(&O_DEFAULT, w, strlen(w) - 1, &p), BAD);
}

static void test_wire_limit(void **state)
{
    (void)state;
    assert_int_equal(wsc_pmd_wire_limit(0), 64);
    assert_true(wsc_pmd_wire_limit(WSC_MAX_MESSAGE_DEFAULT) > WSC_MAX_MESSAGE_DEFAULT);
    /* zlib's worst case (deflateBound's conservative form) always fits. */
    for (uint64_t n = 1; n < (1ull << 40); n = n * 3 + 1) {
        uint64_t bound = n + ((n + 7) >> 3) + ((n + 63) >> 6) + 5;
        assert_true(wsc_pmd_wire_limit(n) >= bound);
    }
    assert_true(wsc_pmd_wire_limit(UINT64_MAX) == UINT64_MAX);
    assert_true(wsc_pmd_wire_limit(UINT64_MAX - 100) == UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response_table),
        cmocka_unit_test(test_every_combination_matches_the_rules),
        cmocka_unit_test(test_offer_strings),
        cmocka_unit_test(test_offer_longest_fits_the_macro),
        cmocka_unit_test(test_offer_rejects_bad_values),
        cmocka_unit_test(test_parse_rejects_null_arguments),
        cmocka_unit_test(test_parse_respects_length),
        cmocka_unit_test(test_wire_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
