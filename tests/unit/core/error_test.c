/* Error strings, error-to-close-code mapping and close-code validity. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wsc/wsc_core.h"

/* Every code wsc_core.h defines, with the close code wsc sends for it. */
static const struct {
    int err;
    const char *name;
    uint16_t close_code;
} codes[] = {
    {WSC_OK, "WSC_OK", 0},
    {WSC_EAGAIN, "WSC_EAGAIN", 0},
    {WSC_EINVAL, "WSC_EINVAL", 0},
    {WSC_ENOMEM, "WSC_ENOMEM", 0},
    {WSC_ENOBUFS, "WSC_ENOBUFS", 0},
    {WSC_EMSGSIZE, "WSC_EMSGSIZE", 0},
    {WSC_ETIMEDOUT, "WSC_ETIMEDOUT", 0},
    {WSC_ECONNRESET, "WSC_ECONNRESET", 0},
    {WSC_ECONNREFUSED, "WSC_ECONNREFUSED", 0},
    {WSC_ENOTCONN, "WSC_ENOTCONN", 0},
    {WSC_EIO, "WSC_EIO", 0},
    {WSC_EURL, "WSC_EURL", 0},
    {WSC_ERESOLVE, "WSC_ERESOLVE", 0},
    {WSC_ENOTLS, "WSC_ENOTLS", 0},
    {WSC_ECONNECT, "WSC_ECONNECT", 0},
    {WSC_EHEADER, "WSC_EHEADER", 0},
    {WSC_EEOF, "WSC_EEOF", 0},
    {WSC_ECLOSED, "WSC_ECLOSED", 0},
    {WSC_ETLS, "WSC_ETLS", 0},
    {WSC_EPROXY, "WSC_EPROXY", 0},
    {WSC_EHS_STATUS, "WSC_EHS_STATUS", 0},
    {WSC_EHS_MALFORMED, "WSC_EHS_MALFORMED", 0},
    {WSC_EHS_UPGRADE, "WSC_EHS_UPGRADE", 0},
    {WSC_EHS_CONNECTION, "WSC_EHS_CONNECTION", 0},
    {WSC_EHS_ACCEPT, "WSC_EHS_ACCEPT", 0},
    {WSC_EHS_PROTOCOL, "WSC_EHS_PROTOCOL", 0},
    {WSC_EHS_EXTENSION, "WSC_EHS_EXTENSION", 0},
    {WSC_EHS_TOO_LARGE, "WSC_EHS_TOO_LARGE", 0},
    {WSC_EHS_TOO_MANY, "WSC_EHS_TOO_MANY", 0},
    {WSC_EMASKED, "WSC_EMASKED", 1002},
    {WSC_ERSV, "WSC_ERSV", 1002},
    {WSC_EOPCODE, "WSC_EOPCODE", 1002},
    {WSC_ECONTROL_LEN, "WSC_ECONTROL_LEN", 1002},
    {WSC_ECONTROL_FRAG, "WSC_ECONTROL_FRAG", 1002},
    {WSC_ECONTINUATION, "WSC_ECONTINUATION", 1002},
    {WSC_EINTERLEAVED, "WSC_EINTERLEAVED", 1002},
    {WSC_ECLOSE_CODE, "WSC_ECLOSE_CODE", 1002},
    {WSC_ECLOSE_PAYLOAD, "WSC_ECLOSE_PAYLOAD", 1002},
    {WSC_EFRAME_LEN, "WSC_EFRAME_LEN", 1002},
    {WSC_EUTF8, "WSC_EUTF8", 1007},
    {WSC_EMSG_TOO_BIG, "WSC_EMSG_TOO_BIG", 1009},
    {WSC_EPEER_TIMEOUT, "WSC_EPEER_TIMEOUT", 1011},
};
#define NCODES (sizeof(codes) / sizeof(codes[0]))

/* Values that are no wsc code: the fallback must answer, never NULL. */
static const int unknown[] = {1, 2, 42, 1001, INT_MAX, -1000, -1018, -1019, -1029,
                              -1039, -1099, -9999, INT_MIN};

static void test_every_code_has_distinct_sentence(void **state)
{
    const char *fallback = wsc_strerror(-9999);
    (void)state;
    assert_non_null(fallback);
    assert_true(strlen(fallback) > 0);
    for (size_t i = 0; i < NCODES; i++) {
        const char *s = wsc_strerror(codes[i].err);
        if (s == NULL || strlen(s) == 0 || strcmp(s, fallback) == 0)
            print_message("%s has no description of its own\n", codes[i].name);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, fallback);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(s, wsc_strerror(codes[j].err)) == 0)
                print_message("%s and %s share a description\n", codes[i].name,
                              codes[j].name);
            assert_string_not_equal(s, wsc_strerror(codes[j].err));
        }
    }
}

static void test_unknown_codes_fall_back(void **state)
{
    const char *fallback = wsc_strerror(-9999);
    (void)state;
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        const char *s = wsc_strerror(unknown[i]);
        assert_non_null(s);
        assert_string_equal(s, fallback);
        assert_int_equal(wsc_error_close_code(unknown[i]), 0);
        assert_false(wsc_error_is_protocol(unknown[i]));
    }
}

static void test_close_code_mapping(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCODES; i++) {
        uint16_t got = wsc_error_close_code(codes[i].err);
        bool protocol = codes[i].close_code == 1002 || codes[i].close_code == 1007 ||
                        codes[i].close_code == 1009;
        if (got != codes[i].close_code || wsc_error_is_protocol(codes[i].err) != protocol)
            print_message("%s: close code %u\n", codes[i].name, (unsigned)got);
        assert_int_equal(got, codes[i].close_code);
        assert_int_equal(wsc_error_is_protocol(codes[i].err), protocol);
        /* Whatever wsc sends must itself be a valid close code. */
        if (got != 0)
            assert_true(wsc_close_code_valid(got));
    }
}

static const struct {
    uint16_t code;
    bool valid;
} close_codes[] = {
    {0, false},     {999, false},  {1000, true},  {1001, true},  {1002, true},
    {1003, true},   {1004, false}, {1005, false}, {1006, false}, {1007, true},
    {1008, true},   {1009, true},  {1010, true},  {1011, true},  {1012, true},
    {1013, true},   {1014, true},  {1015, false}, {1016, false}, {1999, false},
    {2000, false},  {2999, false}, {3000, true},  {3999, true},  {4000, true},
    {4999, true},   {5000, false}, {65535, false},
};

static void test_close_code_valid_boundaries(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(close_codes) / sizeof(close_codes[0]); i++) {
        bool got = wsc_close_code_valid(close_codes[i].code);
        if (got != close_codes[i].valid)
            print_message("close code %u\n", (unsigned)close_codes[i].code);
        assert_int_equal(got, close_codes[i].valid);
    }
}

/* The whole 16-bit range agrees with the rule written out independently. */
static void test_close_code_valid_exhaustive(void **state)
{
    (void)state;
    for (uint32_t c = 0; c <= 0xffff; c++) {
        bool want = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
                    (c >= 3000 && c <= 4999);
        assert_int_equal(wsc_close_code_valid((uint16_t)c), want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_distinct_sentence),
        cmocka_unit_test(test_unknown_codes_fall_back),
        cmocka_unit_test(test_close_code_mapping),
        cmocka_unit_test(test_close_code_valid_boundaries),
        cmocka_unit_test(test_close_code_valid_exhaustive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
