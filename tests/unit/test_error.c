/* The error convention: tlw_error_set / tlw_error_prefix / tlw_status_name. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"

static void set_returns_status_and_formats(void **state)
{
    tlw_error err;
    tlw_error_clear(&err);
    assert_int_equal(tlw_error_set(&err, TLW_ERR_INVALID, "bad %s at %d", "key", 12),
                     TLW_ERR_INVALID);
    assert_int_equal(err.status, TLW_ERR_INVALID);
    assert_string_equal(err.message, "bad key at 12");
}

static void set_truncates_long_messages(void **state)
{
    tlw_error err;
    char big[2 * TLW_ERROR_MESSAGE_MAX];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tlw_error_set(&err, TLW_ERR_IO, "%s", big);
    assert_int_equal(strlen(err.message), TLW_ERROR_MESSAGE_MAX - 1);
}

static void set_accepts_null(void **state)
{
    assert_int_equal(tlw_error_set(NULL, TLW_ERR_TIMEOUT, "ignored"), TLW_ERR_TIMEOUT);
    tlw_error_clear(NULL);
}

static void prefix_adds_context(void **state)
{
    tlw_error err;
    tlw_error_set(&err, TLW_ERR_NOT_FOUND, "no such file");
    assert_int_equal(tlw_error_prefix(&err, "loading %s: ", "temporal.toml"), TLW_ERR_NOT_FOUND);
    assert_string_equal(err.message, "loading temporal.toml: no such file");
}

static void status_names_are_distinct(void **state)
{
    assert_string_equal(tlw_status_name(TLW_OK), "ok");
    assert_string_equal(tlw_status_name(TLW_ERR_UNAVAILABLE), "unavailable");
    assert_string_equal(tlw_status_name(TLW_ERR_FAILED), "failed");
    assert_string_equal(tlw_status_name((tlw_status)999), "unknown");
    /* TLW_ERR_FAILED is the last value: every one up to it has a name. */
    for (int a = TLW_OK; a <= TLW_ERR_FAILED; a++) {
        assert_string_not_equal(tlw_status_name(a), "unknown");
        for (int b = a + 1; b <= TLW_ERR_FAILED; b++)
            assert_string_not_equal(tlw_status_name(a), tlw_status_name(b));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_returns_status_and_formats),
        cmocka_unit_test(set_truncates_long_messages),
        cmocka_unit_test(set_accepts_null),
        cmocka_unit_test(prefix_adds_context),
        cmocka_unit_test(status_names_are_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
