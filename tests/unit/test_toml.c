/* conf/toml: the strict TOML parser, on valid documents (values, positions,
 * key order) and on invalid ones (the exact FILE:LINE:COL and message). */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "conf/toml.h"

/* Parses `text` (strlen) as "t.toml" and fails the test on an error. */
static tlw_toml_value *parse_ok(const char *text, size_t len)
{
    tlw_toml_value *root = NULL;
    tlw_error err;
    tlw_status status = tlw_toml_parse(text, len, "t.toml", &root, &err);
    if (status != TLW_OK)
        fail_msg("unexpected error for <<%s>>: %s", text, err.message);
    assert_non_null(root);
    return root;
}

/* Follows "a.b.2.c": keys of tables, indexes of arrays. */
static const tlw_toml_value *at_path(const tlw_toml_value *v, const char *path)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", path);
    char *save = NULL;
    for (char *part = strtok_r(copy, ".", &save); part && v; part = strtok_r(NULL, ".", &save)) {
        if (tlw_toml_type_of(v) == TLW_TOML_ARRAY)
            v = tlw_toml_array_get(v, strtoul(part, NULL, 10));
        else
            v = tlw_toml_table_get(v, part);
    }
    return v;
}

/* A value as text: strings raw, numbers with %lld / %.15g, containers as
 * their size ("{2}", "[3]"). */
static const char *render(const tlw_toml_value *v, char *buf, size_t size)
{
    size_t len;
    switch (tlw_toml_type_of(v)) {
    case TLW_TOML_TABLE: snprintf(buf, size, "{%zu}", tlw_toml_table_size(v)); break;
    case TLW_TOML_ARRAY: snprintf(buf, size, "[%zu]", tlw_toml_array_size(v)); break;
    case TLW_TOML_STRING:
    case TLW_TOML_DATETIME: {
        const char *s = tlw_toml_string(v, &len);
        assert_int_equal(strlen(s), len);
        snprintf(buf, size, "%s", s);
        break;
    }
    case TLW_TOML_INTEGER: snprintf(buf, size, "%lld", (long long)tlw_toml_integer(v)); break;
    case TLW_TOML_FLOAT: snprintf(buf, size, "%.15g", tlw_toml_float(v)); break;
    case TLW_TOML_BOOL: snprintf(buf, size, "%s", tlw_toml_bool(v) ? "true" : "false"); break;
    }
    return buf;
}

/* --- a temporal.toml ------------------------------------------------------- */

static const char temporal_toml[] = "# Temporal client settings\n"
                                    "[profile.default]\n"
                                    "address = \"localhost:7233\"\n"
                                    "namespace = \"default\"\n"
                                    "api_key = \"key-123\"\n"
                                    "\n"
                                    "[profile.default.tls]\n"
                                    "client_cert_path = \"/certs/client.pem\"\n"
                                    "client_key_path = '/certs/client.key'\n"
                                    "\n"
                                    "[profile.default.grpc_meta]\n"
                                    "some-header = \"v\"\n"
                                    "\n"
                                    "[profile.prod]\n"
                                    "address = \"my-ns.a1b2c.tmprl.cloud:7233\"\n"
                                    "tls = true\n";

static void temporal_toml_profiles(void **state)
{
    char buf[128];
    tlw_toml_value *root = parse_ok(temporal_toml, strlen(temporal_toml));
    assert_int_equal(tlw_toml_table_size(root), 1);
    assert_string_equal(tlw_toml_table_key(root, 0), "profile");

    const tlw_toml_value *profiles = tlw_toml_table_get(root, "profile");
    assert_int_equal(tlw_toml_table_size(profiles), 2);
    assert_string_equal(tlw_toml_table_key(profiles, 0), "default");
    assert_string_equal(tlw_toml_table_key(profiles, 1), "prod");

    const tlw_toml_value *def = tlw_toml_table_get(profiles, "default");
    const char *keys[] = {"address", "namespace", "api_key", "tls", "grpc_meta"};
    assert_int_equal(tlw_toml_table_size(def), 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(tlw_toml_table_key(def, i), keys[i]);
    assert_string_equal(render(at_path(def, "address"), buf, sizeof buf), "localhost:7233");
    assert_string_equal(render(at_path(def, "namespace"), buf, sizeof buf), "default");
    assert_string_equal(render(at_path(def, "api_key"), buf, sizeof buf), "key-123");
    assert_int_equal(tlw_toml_type_of(at_path(def, "tls")), TLW_TOML_TABLE);
    assert_string_equal(render(at_path(def, "tls.client_cert_path"), buf, sizeof buf),
                        "/certs/client.pem");
    assert_string_equal(render(at_path(def, "tls.client_key_path"), buf, sizeof buf),
                        "/certs/client.key");
    assert_string_equal(render(at_path(def, "grpc_meta.some-header"), buf, sizeof buf), "v");

    const tlw_toml_value *tls = at_path(root, "profile.prod.tls");
    assert_int_equal(tlw_toml_type_of(tls), TLW_TOML_BOOL);
    assert_true(tlw_toml_bool(tls));

    /* Where things were written: a [header] at its bracket, a value at its
     * first character. */
    assert_int_equal(tlw_toml_line(def), 2);
    assert_int_equal(tlw_toml_column(def), 1);
    assert_int_equal(tlw_toml_line(at_path(def, "address")), 3);
    assert_int_equal(tlw_toml_column(at_path(def, "address")), 11);
    assert_int_equal(tlw_toml_line(at_path(def, "grpc_meta")), 11);
    assert_int_equal(tlw_toml_line(tls), 16);
    assert_int_equal(tlw_toml_column(tls), 7);
    tlw_toml_free(root);
}

static void temporal_toml_errors_name_the_file(void **state)
{
    static const char text[] = "[profile.default]\n"
                               "address = \"localhost:7233\"\n"
                               "address = \"localhost:7234\"\n";
    tlw_toml_value *root = (tlw_toml_value *)1;
    tlw_error err;
    assert_int_equal(tlw_toml_parse(text, strlen(text), "temporal.toml", &root, &err),
                     TLW_ERR_INVALID);
    assert_null(root);
    assert_int_equal(err.status, TLW_ERR_INVALID);
    assert_string_equal(err.message,
                        "temporal.toml:3:1: duplicate key address (first defined at 2:1)");

    static const char twice[] = "[profile.default.tls]\n[profile.default]\n\n"
                                "[profile.default]\n";
    assert_int_equal(tlw_toml_parse(twice, strlen(twice), "temporal.toml", &root, &err),
                     TLW_ERR_INVALID);
    assert_string_equal(err.message, "temporal.toml:4:1: table [profile.default] is defined "
                                     "twice (first at 2:1)");

    assert_int_equal(tlw_toml_parse("a = ", 4, NULL, &root, &err), TLW_ERR_INVALID);
    assert_string_equal(err.message, "<toml>:1:5: expected a value, found end of file");
}

/* --- valid documents, one value each --------------------------------------- */

typedef struct valid_case {
    const char *toml;
    const char *path;
    tlw_toml_type type;
    const char *want; /* as render() writes it */
} valid_case;

static const valid_case valid_cases[] = {
    /* strings */
    {"a = \"x\"", "a", TLW_TOML_STRING, "x"},
    {"a = \"\"", "a", TLW_TOML_STRING, ""},
    {"a = \"\\b\\t\\n\\f\\r\\\"\\\\\"", "a", TLW_TOML_STRING, "\b\t\n\f\r\"\\"},
    {"a = \"\\u00e9\\u00E9 \\U0001F600\"", "a", TLW_TOML_STRING,
     "\xc3\xa9\xc3\xa9 \xf0\x9f\x98\x80"},
    {"a = \"\\U0010FFFF\\uFFFF\"", "a", TLW_TOML_STRING, "\xf4\x8f\xbf\xbf\xef\xbf\xbf"},
    {"a = \"tab\tinside # not a comment\"", "a", TLW_TOML_STRING, "tab\tinside # not a comment"},
    {"a = \"caf\xc3\xa9\"", "a", TLW_TOML_STRING, "caf\xc3\xa9"},
    {"a = 'C:\\path\\n \"q\"'", "a", TLW_TOML_STRING, "C:\\path\\n \"q\""},
    {"a = \"\"\"\nhello\nworld\"\"\"", "a", TLW_TOML_STRING, "hello\nworld"},
    {"a = \"\"\"\r\nhello\r\nworld\r\n\"\"\"", "a", TLW_TOML_STRING, "hello\nworld\n"},
    {"a = \"\"\"one \\\n     two\"\"\"", "a", TLW_TOML_STRING, "one two"},
    {"a = \"\"\"one \\  \t\n\n   \n  two \\\r\n\"\"\"", "a", TLW_TOML_STRING, "one two "},
    {"a = \"\"\"x\"\"\"\"\"", "a", TLW_TOML_STRING, "x\"\""},
    {"a = \"\"\"\"x\"\"\"", "a", TLW_TOML_STRING, "\"x"},
    {"a = \"\"\"a \"\" b \\\"\"\"\"\"", "a", TLW_TOML_STRING, "a \"\" b \"\""},
    {"a = '''\nraw \\n\n'''", "a", TLW_TOML_STRING, "raw \\n\n"},
    {"a = ''''x''''", "a", TLW_TOML_STRING, "'x'"},
    {"a = '''it's'''''", "a", TLW_TOML_STRING, "it's''"},
    /* integers */
    {"a = 42", "a", TLW_TOML_INTEGER, "42"},
    {"a = +17", "a", TLW_TOML_INTEGER, "17"},
    {"a = -17", "a", TLW_TOML_INTEGER, "-17"},
    {"a = 0", "a", TLW_TOML_INTEGER, "0"},
    {"a = -0", "a", TLW_TOML_INTEGER, "0"},
    {"a = 1_000_000", "a", TLW_TOML_INTEGER, "1000000"},
    {"a = 0xDEADBEEF", "a", TLW_TOML_INTEGER, "3735928559"},
    {"a = 0xdead_beef", "a", TLW_TOML_INTEGER, "3735928559"},
    {"a = 0x00ff", "a", TLW_TOML_INTEGER, "255"},
    {"a = 0o755", "a", TLW_TOML_INTEGER, "493"},
    {"a = 0b1101_0000", "a", TLW_TOML_INTEGER, "208"},
    {"a = 9223372036854775807", "a", TLW_TOML_INTEGER, "9223372036854775807"},
    {"a = -9223372036854775808", "a", TLW_TOML_INTEGER, "-9223372036854775808"},
    {"a = 0x7FFFFFFFFFFFFFFF", "a", TLW_TOML_INTEGER, "9223372036854775807"},
    /* floats */
    {"a = 1.0", "a", TLW_TOML_FLOAT, "1"},
    {"a = -3.5e-2", "a", TLW_TOML_FLOAT, "-0.035"},
    {"a = 1e6", "a", TLW_TOML_FLOAT, "1000000"},
    {"a = 1E+6", "a", TLW_TOML_FLOAT, "1000000"},
    {"a = 6.626e-34", "a", TLW_TOML_FLOAT, "6.626e-34"},
    {"a = 1_000.000_1", "a", TLW_TOML_FLOAT, "1000.0001"},
    {"a = 1e0_1", "a", TLW_TOML_FLOAT, "10"},
    {"a = 1e007", "a", TLW_TOML_FLOAT, "10000000"},
    {"a = 0.0", "a", TLW_TOML_FLOAT, "0"},
    {"a = -0.0", "a", TLW_TOML_FLOAT, "-0"},
    {"a = inf", "a", TLW_TOML_FLOAT, "inf"},
    {"a = +inf", "a", TLW_TOML_FLOAT, "inf"},
    {"a = -inf", "a", TLW_TOML_FLOAT, "-inf"},
    {"a = 1e-400", "a", TLW_TOML_FLOAT, "0"},
    /* booleans */
    {"a = true", "a", TLW_TOML_BOOL, "true"},
    {"a = false", "a", TLW_TOML_BOOL, "false"},
    /* date-times, kept as written */
    {"a = 1979-05-27T07:32:00Z", "a", TLW_TOML_DATETIME, "1979-05-27T07:32:00Z"},
    {"a = 1979-05-27 07:32:00.999-07:00", "a", TLW_TOML_DATETIME, "1979-05-27 07:32:00.999-07:00"},
    {"a = 1979-05-27t07:32:00z", "a", TLW_TOML_DATETIME, "1979-05-27t07:32:00z"},
    {"a = 1979-05-27T07:32:00+05:30 # c", "a", TLW_TOML_DATETIME, "1979-05-27T07:32:00+05:30"},
    {"a = 1979-05-27T07:32:00", "a", TLW_TOML_DATETIME, "1979-05-27T07:32:00"},
    {"a = 1979-05-27", "a", TLW_TOML_DATETIME, "1979-05-27"},
    {"a = 1979-05-27 # a date, then a comment", "a", TLW_TOML_DATETIME, "1979-05-27"},
    {"a = 2000-02-29", "a", TLW_TOML_DATETIME, "2000-02-29"},
    {"a = 07:32:00", "a", TLW_TOML_DATETIME, "07:32:00"},
    {"a = 00:00:00.123456", "a", TLW_TOML_DATETIME, "00:00:00.123456"},
    {"a = 1990-12-31T23:59:60Z", "a", TLW_TOML_DATETIME, "1990-12-31T23:59:60Z"},
    {"a = [1979-05-27, 07:32:00]", "a.1", TLW_TOML_DATETIME, "07:32:00"},
    /* arrays */
    {"a = []", "a", TLW_TOML_ARRAY, "[0]"},
    {"a = [ ]", "a", TLW_TOML_ARRAY, "[0]"},
    {"a = [1, 'two', 3.0, [4], {five = 5}]", "a", TLW_TOML_ARRAY, "[5]"},
    {"a = [1, 'two', 3.0, [4], {five = 5}]", "a.1", TLW_TOML_STRING, "two"},
    {"a = [1, 'two', 3.0, [4], {five = 5}]", "a.3.0", TLW_TOML_INTEGER, "4"},
    {"a = [1, 'two', 3.0, [4], {five = 5}]", "a.4.five", TLW_TOML_INTEGER, "5"},
    {"a = [\n  1, # one\n\n  2, # two\n]", "a", TLW_TOML_ARRAY, "[2]"},
    {"a = [\r\n1\r\n,\r\n2,]", "a.1", TLW_TOML_INTEGER, "2"},
    {"a = [[[]]]", "a.0.0", TLW_TOML_ARRAY, "[0]"},
    /* inline tables */
    {"a = {}", "a", TLW_TOML_TABLE, "{0}"},
    {"a = { x = 1, y.z = 2, y.w = 3 }", "a.y.z", TLW_TOML_INTEGER, "2"},
    {"a = { x = 1, y.z = 2, y.w = 3 }", "a.y", TLW_TOML_TABLE, "{2}"},
    {"a = {b = {c = {d = 'e'}}}", "a.b.c.d", TLW_TOML_STRING, "e"},
    {"a = {b = [1, {c = 2}]}", "a.b.1.c", TLW_TOML_INTEGER, "2"},
    /* keys */
    {"-_- = 1", "-_-", TLW_TOML_INTEGER, "1"},
    {"1234 = 1", "1234", TLW_TOML_INTEGER, "1"},
    {"3.14 = 1", "3.14", TLW_TOML_INTEGER, "1"},
    {"true = 1", "true", TLW_TOML_INTEGER, "1"},
    {"a . b\t.\tc = 1", "a.b.c", TLW_TOML_INTEGER, "1"},
    {"\"quoted\" = 1", "quoted", TLW_TOML_INTEGER, "1"},
    {"'literal \\n' = 1", "literal \\n", TLW_TOML_INTEGER, "1"},
    {"a.\"b\".'c' = 1", "a.b.c", TLW_TOML_INTEGER, "1"},
    {"\"\\u0061\" = 1", "a", TLW_TOML_INTEGER, "1"},
    /* tables */
    {"[a]\nb = 1\n[a.c]\nd = 2", "a.c.d", TLW_TOML_INTEGER, "2"},
    {"[ a . b ]\nc = 1", "a.b.c", TLW_TOML_INTEGER, "1"},
    {"[x.y.z]\n[x]\na = 1", "x.a", TLW_TOML_INTEGER, "1"},
    {"[x.y.z]\n[x]\na = 1", "x.y", TLW_TOML_TABLE, "{1}"},
    {"[a]\n[b]\n[a.c]", "a", TLW_TOML_TABLE, "{1}"},
    {"[\"a b\".'c']\nd = 1", "a b.c.d", TLW_TOML_INTEGER, "1"},
    {"[f]\napple.color = 'red'\n[f.apple.texture]\nsmooth = true", "f.apple.texture.smooth",
     TLW_TOML_BOOL, "true"},
    {"a.b.c = 1\n[a.b.d]\ne = 2", "a.b", TLW_TOML_TABLE, "{2}"},
    {"[a]\nb.c = 1\nb.d = 2", "a.b.d", TLW_TOML_INTEGER, "2"},
    /* arrays of tables */
    {"[[a]]\nb = 1\n[[a]]\nb = 2", "a.1.b", TLW_TOML_INTEGER, "2"},
    {"[[a]]\n[[a]]\n[[a]]", "a", TLW_TOML_ARRAY, "[3]"},
    {"[[a]]\n[a.b]\nc = 1\n[[a]]", "a.0.b.c", TLW_TOML_INTEGER, "1"},
    {"[[a]]\n[[a.b]]\nc = 1\n[[a.b]]\nc = 2\n[[a]]", "a.0.b.1.c", TLW_TOML_INTEGER, "2"},
    {"[[a.b]]\nx = 1\n[a]\ny = 2", "a.y", TLW_TOML_INTEGER, "2"},
    {"[[a]]\nb.c = 1\n[a.b.d]\ne = 2", "a.0.b.d.e", TLW_TOML_INTEGER, "2"},
    /* comments, blank lines, line endings */
    {"# c\n\n  a = 1 # c\t\xc3\xa9\n# end", "a", TLW_TOML_INTEGER, "1"},
    {"a = 1\r\nb = 2\r\n", "b", TLW_TOML_INTEGER, "2"},
    {"[t] # comment\nb = 2", "t.b", TLW_TOML_INTEGER, "2"},
    {"\t[t]\n\tb = 2\n", "t.b", TLW_TOML_INTEGER, "2"},
    {"\xef\xbb\xbf"
     "a = 1",
     "a", TLW_TOML_INTEGER, "1"},
    {"", "", TLW_TOML_TABLE, "{0}"},
    {"# only a comment\n\n\n", "", TLW_TOML_TABLE, "{0}"},
};

static void valid_documents(void **state)
{
    for (size_t i = 0; i < sizeof valid_cases / sizeof valid_cases[0]; i++) {
        const valid_case *c = &valid_cases[i];
        char buf[256];
        tlw_toml_value *root = parse_ok(c->toml, strlen(c->toml));
        const tlw_toml_value *v = c->path[0] ? at_path(root, c->path) : root;
        if (!v)
            fail_msg("<<%s>>: no value at %s", c->toml, c->path);
        if (tlw_toml_type_of(v) != c->type)
            fail_msg("<<%s>>: %s is a %s, want a %s", c->toml, c->path,
                     tlw_toml_type_name(tlw_toml_type_of(v)), tlw_toml_type_name(c->type));
        render(v, buf, sizeof buf);
        if (strcmp(buf, c->want) != 0)
            fail_msg("<<%s>>: %s is <<%s>>, want <<%s>>", c->toml, c->path, buf, c->want);
        tlw_toml_free(root);
    }
}

static void nan_is_a_float(void **state)
{
    tlw_toml_value *root = parse_ok("a = nan\nb = -nan\nc = +nan", 25);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(tlw_toml_type_of(tlw_toml_table_value(root, i)), TLW_TOML_FLOAT);
        assert_true(isnan(tlw_toml_float(tlw_toml_table_value(root, i))));
    }
    tlw_toml_free(root);
}

static void strings_keep_nul_and_length(void **state)
{
    static const char text[] = "a = \"x\\u0000y\"\nb = '\xe2\x82\xac'";
    tlw_toml_value *root = parse_ok(text, strlen(text));
    size_t len = 99;
    const char *s = tlw_toml_string(tlw_toml_table_get(root, "a"), &len);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "x\0y", 4);
    s = tlw_toml_string(tlw_toml_table_get(root, "b"), &len);
    assert_int_equal(len, 3);
    assert_string_equal(s, "\xe2\x82\xac");
    assert_string_equal(tlw_toml_string(tlw_toml_table_get(root, "b"), NULL), "\xe2\x82\xac");
    tlw_toml_free(root);
}

static void keys_in_document_order(void **state)
{
    static const char text[] = "zebra = 1\napple = 2\n[mango]\n[banana]\n[mango.kiwi]\n"
                               "[[cherry]]\n";
    tlw_toml_value *root = parse_ok(text, strlen(text));
    const char *want[] = {"zebra", "apple", "mango", "banana", "cherry"};
    assert_int_equal(tlw_toml_table_size(root), 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(tlw_toml_table_key(root, i), want[i]);
        assert_ptr_equal(tlw_toml_table_value(root, i), tlw_toml_table_get(root, want[i]));
    }
    assert_null(tlw_toml_table_key(root, 5));
    assert_null(tlw_toml_table_value(root, 5));
    tlw_toml_free(root);
}

static void positions_of_values(void **state)
{
    static const char text[] = "a = 1\n"                                  /* 1 */
                               "  b = \"x\"\n"                            /* 2 */
                               "[t]\n"                                    /* 3 */
                               "c = [\n"                                  /* 4 */
                               "  10,\n"                                  /* 5 */
                               "    20]\n"                                /* 6 */
                               "\"\xc3\xa9\" = \"\xc3\xbc\" # \xc3\xa9\n" /* 7 */
                               "d = \"\"\"\none\ntwo\"\"\" \n"            /* 8-10 */
                               "e = {f = 1, g = [true]}\n"                /* 11 */
                               "  [[h]]\n";                               /* 12 */
    tlw_toml_value *root = parse_ok(text, strlen(text));
    struct {
        const char *path;
        int line, column;
    } want[] = {
        {"a", 1, 5},         {"b", 2, 7},   {"t", 3, 1},    {"t.c", 4, 5},     {"t.c.0", 5, 3},
        {"t.c.1", 6, 5},     {"t.d", 8, 5}, {"t.e", 11, 5}, {"t.e.f", 11, 10}, {"t.e.g", 11, 17},
        {"t.e.g.0", 11, 18}, {"h", 12, 3},  {"h.0", 12, 3},
    };
    assert_int_equal(tlw_toml_line(root), 1);
    assert_int_equal(tlw_toml_column(root), 1);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const tlw_toml_value *v = at_path(root, want[i].path);
        assert_non_null(v);
        if (tlw_toml_line(v) != want[i].line || tlw_toml_column(v) != want[i].column)
            fail_msg("%s at %d:%d, want %d:%d", want[i].path, tlw_toml_line(v), tlw_toml_column(v),
                     want[i].line, want[i].column);
    }
    /* Columns count characters, not bytes. */
    const tlw_toml_value *u = tlw_toml_table_get(at_path(root, "t"), "\xc3\xa9");
    assert_int_equal(tlw_toml_line(u), 7);
    assert_int_equal(tlw_toml_column(u), 7);
    tlw_toml_free(root);
}

static void input_need_not_end_in_nul(void **state)
{
    char text[] = "a = 12345";
    tlw_toml_value *root = parse_ok(text, 5); /* "a = 1" */
    assert_int_equal(tlw_toml_integer(tlw_toml_table_get(root, "a")), 1);
    tlw_toml_free(root);

    tlw_error err;
    assert_int_equal(tlw_toml_parse(text, 3, "t.toml", &root, &err), TLW_ERR_INVALID);
    assert_string_equal(err.message, "t.toml:1:4: expected a value, found end of file");
    char open[] = "s = \"abc\"";
    assert_int_equal(tlw_toml_parse(open, 8, "t.toml", &root, &err), TLW_ERR_INVALID);
    assert_string_equal(err.message, "t.toml:1:5: unterminated string: no closing '\"'");
}

static void accessors_of_another_type_answer_zero(void **state)
{
    tlw_toml_value *root = parse_ok("s = 'x'\ni = 7\na = [1]", 21);
    const tlw_toml_value *s = tlw_toml_table_get(root, "s");
    const tlw_toml_value *i = tlw_toml_table_get(root, "i");
    const tlw_toml_value *a = tlw_toml_table_get(root, "a");
    size_t len = 5;
    assert_null(tlw_toml_string(i, &len));
    assert_int_equal(len, 0);
    assert_int_equal(tlw_toml_integer(s), 0);
    assert_true(tlw_toml_float(i) == 0.0);
    assert_false(tlw_toml_bool(i));
    assert_int_equal(tlw_toml_table_size(a), 0);
    assert_null(tlw_toml_table_get(a, "x"));
    assert_int_equal(tlw_toml_array_size(root), 0);
    assert_null(tlw_toml_array_get(a, 1));
    assert_null(tlw_toml_table_get(root, "missing"));
    /* NULL reads as an empty table, so lookups chain. */
    assert_null(tlw_toml_table_get(tlw_toml_table_get(root, "missing"), "deeper"));
    assert_int_equal(tlw_toml_table_size(NULL), 0);
    assert_string_equal(tlw_toml_type_name(TLW_TOML_STRING), "string");
    assert_string_equal(tlw_toml_type_name(TLW_TOML_BOOL), "boolean");
    assert_string_equal(tlw_toml_type_name(TLW_TOML_DATETIME), "date-time");
    tlw_toml_free(root);
    tlw_toml_free(NULL);
}

/* --- invalid documents ----------------------------------------------------- */

typedef struct invalid_case {
    const char *toml;
    size_t len;        /* 0: strlen(toml) */
    const char *where; /* "LINE:COL" */
    const char *says;  /* part of the message */
} invalid_case;

static const invalid_case invalid_cases[] = {
    /* redefinitions */
    {"a = 1\na = 2\n", 0, "2:1", "duplicate key a (first defined at 1:1)"},
    {"a = 1\n\"a\" = 2\n", 0, "2:1", "duplicate key a (first defined at 1:1)"},
    {"[a]\nb = 1\n[a]\n", 0, "3:1", "table [a] is defined twice (first at 1:1)"},
    {"[a]\n[a.b]\n[a.b]", 0, "3:1", "table [a.b] is defined twice (first at 2:1)"},
    {"[a.b]\n[a]\n[a]", 0, "3:1", "table [a] is defined twice (first at 2:1)"},
    {"a = {b = 1}\na.c = 2\n", 0, "2:1",
     "cannot add keys to a: it is an inline table (defined at 1:1)"},
    {"a = {b = 1}\n[a]\n", 0, "2:1",
     "cannot define table [a]: the key is already an inline "
     "table (defined at 1:1)"},
    {"[a]\nb = {c = 1}\n[a.b.d]\n", 0, "3:4",
     "cannot add to a.b: it is an inline table (defined at 2:1)"},
    {"a = {b = {c = 1}, b.d = 2}", 0, "1:19",
     "cannot add keys to b: it is an inline table (defined at 1:6)"},
    {"a = [1]\n[[a]]\n", 0, "2:1",
     "cannot append to [[a]]: the key is already an array (defined at 1:1)"},
    {"[a]\n[[a]]\n", 0, "2:1", "cannot append to [[a]]: the key is already a table"},
    {"[[a]]\n[a]\n", 0, "2:1",
     "[a] is an array of tables (defined at 1:1); use [[a]] to add an element"},
    {"[a]\nb.c = 1\n[a.b]\n", 0, "3:1", "table [a.b] is already defined by dotted keys (at 2:1)"},
    {"a.b = 1\n[a]\n", 0, "2:1", "table [a] is already defined by dotted keys (at 1:1)"},
    {"[a.b]\nx = 1\n[a]\nb.y = 2\n", 0, "4:1",
     "cannot add keys to table [b] with a dotted key: it is defined by a [header] (at 1:1)"},
    {"[a.b.c]\n[a]\nb.d = 2\n", 0, "3:1", "cannot add keys to table [b] with a dotted key"},
    {"[[a.b]]\n[a]\nb.y = 2\n", 0, "3:1",
     "b is already an array of tables (defined at 1:1), not a table"},
    {"a = 1\na.b = 2\n", 0, "2:1", "a is already an integer (defined at 1:1), not a table"},
    {"a.b = 1\na.b.c = 2", 0, "2:3", "a.b is already an integer (defined at 1:3), not a table"},
    {"a = 1\n[a]\n", 0, "2:1",
     "cannot define table [a]: the key is already an integer (defined at 1:1)"},
    {"a = 's'\n[a.b]\n", 0, "2:2", "a is already a string (defined at 1:1), not a table"},
    {"a = [{}]\n[a.b]\n", 0, "2:2", "a is already an array (defined at 1:1), not a table"},
    {"a = {b = 1, b = 2}", 0, "1:13", "duplicate key b (first defined at 1:6)"},
    {"a = {b.c = 1, b = 2}", 0, "1:15", "duplicate key b (first defined at 1:6)"},
    /* lines, keys and headers */
    {"a = \n", 0, "1:5", "expected a value, found end of line"},
    {"a = # no value\n", 0, "1:5", "expected a value, found a comment"},
    {"a = 1 2\n", 0, "1:7", "expected the end of the line after the value, found unquoted text"},
    {"a = 1 b = 2\n", 0, "1:7",
     "expected the end of the line after the value, found unquoted text"},
    {"a b = 1", 0, "1:3", "expected '=' after the key, found unquoted text"},
    {"a\n= 1", 0, "1:2", "expected '=' after the key, found end of line"},
    {"= 1", 0, "1:1", "expected a key, found '='"},
    {"a. = 1", 0, "1:4", "expected a key, found '='"},
    {".a = 1", 0, "1:1", "expected a key, found '.'"},
    {"\xc3\xbc = 1", 0, "1:1",
     "expected a key, found a non-ASCII character (bare keys may contain only"},
    {"\"\"\"a\"\"\" = 1", 0, "1:1", "a key cannot be a multi-line string"},
    {"[]", 0, "1:2", "expected a key, found ']'"},
    {"[a", 0, "1:3", "expected ']' to close the header [a, found end of file"},
    {"[a.b\n]", 0, "1:5", "expected ']' to close the header [a.b, found end of line"},
    {"[[a]", 0, "1:4", "expected ']]' to close the header [[a, found ']'"},
    {"[[a] ]", 0, "1:4", "expected ']]' to close the header [[a, found ']'"},
    {"[a] b = 1", 0, "1:5",
     "expected the end of the line after the table header, found unquoted text"},
    {"[a]]", 0, "1:4", "expected the end of the line after the table header, found ']'"},
    {"[ [a]]", 0, "1:3", "expected a key, found '['"},
    /* strings */
    {"a = \"abc\nb = 1", 0, "1:5", "unterminated string: a string in \"...\" must end on the line"},
    {"a = \"abc", 0, "1:5", "unterminated string: no closing '\"'"},
    {"a = 'abc\n'", 0, "1:5", "unterminated string: a string in '...' must end on the line"},
    {"a = \"\"\"abc\n", 0, "1:5", "unterminated multi-line string: no closing \"\"\""},
    {"a = '''abc''", 0, "1:5", "unterminated multi-line string: no closing '''"},
    {"a = \"\\x41\"", 0, "1:6", "invalid escape: the escapes are \\b \\t \\n"},
    {"a = \"\\e\"", 0, "1:6", "invalid escape: the escapes are"},
    {"a = \"\\\xc3\xa9\"", 0, "1:6", "invalid escape: the escapes are"},
    {"a = \"\\uD800\"", 0, "1:6", "the \\u escape is not a Unicode scalar value"},
    {"a = \"\\uDFFF\"", 0, "1:6", "the \\u escape is not a Unicode scalar value"},
    {"a = \"\\U00110000\"", 0, "1:6", "the \\U escape is not a Unicode scalar value"},
    {"a = \"\\u12\"", 0, "1:6", "\\u must be followed by exactly 4 hexadecimal digits"},
    {"a = \"\\U1234567\"", 0, "1:6", "\\U must be followed by exactly 8 hexadecimal digits"},
    {"a = \"\\u", 0, "1:6", "\\u must be followed by exactly 4 hexadecimal digits"},
    {"a = \"\\", 0, "1:6", "unterminated string: the file ends after a backslash"},
    {"a = \"a\\ \nb\"", 0, "1:7", "a line-ending backslash is only allowed in a multi-line string"},
    {"a = \"\"\"a\\ b\"\"\"", 0, "1:9", "a backslash followed by whitespace must end the line"},
    {"a = \"\"\"x\"\"\"\"\"\"", 0, "1:14", "too many quotes"},
    {"a = '''x''''''", 0, "1:14", "too many quotes"},
    {"a = \"x\" \"y\"", 0, "1:9", "expected the end of the line after the value, found '\"'"},
    {"a = 'x''y'", 0, "1:8", "expected the end of the line after the value, found \"'\""},
    /* integers and floats */
    {"a = 01", 0, "1:5", "invalid number: leading zeros are not allowed"},
    {"a = -01", 0, "1:5", "leading zeros are not allowed"},
    {"a = 0_0", 0, "1:5", "leading zeros are not allowed"},
    {"a = 03.14", 0, "1:5", "leading zeros are not allowed"},
    {"a = 1__2", 0, "1:5", "invalid number: an underscore must be between two digits"},
    {"a = 1_", 0, "1:5", "an underscore must be between two digits"},
    {"a = 1_.5", 0, "1:5", "an underscore must be between two digits"},
    {"a = 1e_5", 0, "1:5", "an underscore must be between two digits"},
    {"a = 0x_1", 0, "1:5", "an underscore must be between two digits"},
    {"a = _1", 0, "1:5", "invalid value: a string must be in quotes"},
    {"a = 9223372036854775808", 0, "1:5",
     "integer is out of range (it must fit in 64 bits)"},
    {"a = -9223372036854775809", 0, "1:5", "is out of range (it must fit in 64 bits)"},
    {"a = 0x8000000000000000", 0, "1:5", "is out of range (it must fit in 64 bits)"},
    {"a = 0b11111111111111111111111111111111111111111111111111111111111111111", 0, "1:5",
     "is out of range"},
    {"a = +0x1", 0, "1:5",
     "invalid number: hexadecimal, octal and binary integers cannot have a sign"},
    {"a = -0o1", 0, "1:5", "integers cannot have a sign"},
    {"a = 0x", 0, "1:5", "invalid hexadecimal integer: after 0x come only hexadecimal digits"},
    {"a = 0XFF", 0, "1:5", "invalid number: unexpected characters after the digits"},
    {"a = 0o8", 0, "1:5", "invalid octal integer: after 0o come only octal digits"},
    {"a = 0b102", 0, "1:5", "invalid binary integer: after 0b come only binary digits"},
    {"a = 0x1.5", 0, "1:5", "invalid hexadecimal integer"},
    {"a = 1.", 0, "1:5", "invalid float: a '.' must be followed by a digit"},
    {"a = 1.e5", 0, "1:5", "a '.' must be followed by a digit"},
    {"a = .5", 0, "1:5", "invalid number: a number starts with a digit"},
    {"a = +", 0, "1:5", "invalid number: a number starts with a digit"},
    {"a = 1e", 0, "1:5", "invalid float: the exponent needs digits"},
    {"a = 1.5e+", 0, "1:5", "the exponent needs digits"},
    {"a = 1e5.5", 0, "1:5", "invalid number: unexpected characters after the digits"},
    {"a = 1.2.3", 0, "1:5", "invalid number: unexpected characters after the digits"},
    {"a = 1e400", 0, "1:5", "float is out of range"},
    {"a = infinity", 0, "1:5", "invalid value: a string must be in quotes"},
    {"a = Inf", 0, "1:5", "invalid value: a string must be in quotes"},
    {"a = True", 0, "1:5", "invalid value: a string must be in quotes"},
    {"a = truex", 0, "1:5", "invalid value: a string must be in quotes"},
    {"a = hello", 0, "1:5", "invalid value: a string must be in quotes"},
    /* date-times */
    {"a = 1979-13-01", 0, "1:5", "invalid date: the month must be 01 to 12"},
    {"a = 1979-00-01", 0, "1:5", "the month must be 01 to 12"},
    {"a = 1979-02-29", 0, "1:5", "invalid date: the day is not in that month (01 to 28)"},
    {"a = 1900-02-29", 0, "1:5", "the day is not in that month (01 to 28)"},
    {"a = 2000-04-31", 0, "1:5", "the day is not in that month (01 to 30)"},
    {"a = 2000-04-00", 0, "1:5", "the day is not in that month (01 to 30)"},
    {"a = 1979-5-27", 0, "1:5", "invalid date: expected YYYY-MM-DD (with leading zeros)"},
    {"a = 10000-01-01", 0, "1:5", "invalid number: unexpected characters after the digits"},
    {"a = 1979-05-27T25:00:00", 0, "1:5", "invalid time: hours go to 23"},
    {"a = 1979-05-27T07:60:00", 0, "1:5", "invalid time: hours go to 23, minutes to 59"},
    {"a = 1979-05-27T07:32:61", 0, "1:5", "seconds to 59 (60 for a leap second)"},
    {"a = 1979-05-27T07:32", 0, "1:5", "invalid time: expected HH:MM:SS"},
    {"a = 1979-05-27T", 0, "1:5", "invalid time: expected HH:MM:SS"},
    {"a = 1979-05-27T7:32:00", 0, "1:5", "invalid time: expected HH:MM:SS"},
    {"a = 07:32", 0, "1:5", "invalid time: expected HH:MM:SS"},
    {"a = 07:32:00Z", 0, "1:5", "invalid time: more characters follow it"},
    {"a = 07:32:00.", 0, "1:5", "a '.' after the seconds must be followed by digits"},
    {"a = 1979-05-27T07:32:00.", 0, "1:5", "a '.' after the seconds must be followed"},
    {"a = 1979-05-27T07:32:00+25:00", 0, "1:5", "the offset is out of range"},
    {"a = 1979-05-27T07:32:00+05", 0, "1:5", "the offset must be Z or +HH:MM"},
    {"a = 1979-05-27T07:32:00-7:00", 0, "1:5", "the offset must be Z or +HH:MM"},
    {"a = 1979-05-27X", 0, "1:5", "invalid date-time: more characters follow it"},
    {"a = 1979-05-27T07:32:00Zx", 0, "1:5", "more characters follow it"},
    {"a = 1979-05-27 07:32:00 x", 0, "1:25", "expected the end of the line after the value"},
    /* arrays */
    {"a = [1 2]", 0, "1:8",
     "expected ',' or ']' in the array opened at 1:5, found unquoted text"},
    {"a = [1,,2]", 0, "1:8", "expected a value, found ','"},
    {"a = [,]", 0, "1:6", "expected a value, found ','"},
    {"a = [\n1,\n", 0, "3:1", "unterminated array: no ']' closing the array opened at 1:5"},
    {"a = [1", 0, "1:7", "unterminated array: no ']' closing the array opened at 1:5"},
    {"a = [1}", 0, "1:7", "expected ',' or ']' in the array opened at 1:5, found '}'"},
    /* inline tables */
    {"a = {b = 1,}", 0, "1:12", "trailing comma in an inline table"},
    {"a = {b = 1\n}", 0, "1:11", "an inline table must be on one line"},
    {"a = {\nb = 1}", 0, "1:6", "an inline table must be on one line"},
    {"a = {b = 1, # c\n}", 0, "1:13", "an inline table must be on one line"},
    {"a = {b = 1 c = 2}", 0, "1:12",
     "expected ',' or '}' in the inline table, found unquoted text"},
    {"a = {b = 1", 0, "1:11", "expected ',' or '}' in the inline table, found end of file"},
    {"a = {,}", 0, "1:6", "expected a key, found ','"},
    {"a = {b}", 0, "1:7", "expected '=' after the key, found '}'"},
    /* encoding */
    {"a = \"\xff\"", 0, "1:6", "invalid UTF-8 (a byte that cannot start a character)"},
    {"a = \"\xc0\xaf\"", 0, "1:6", "invalid UTF-8 (a byte that cannot start a character)"},
    {"a = \"\xe0\x80\xaf\"", 0, "1:6", "invalid UTF-8 (overlong form"},
    {"a = \"\xed\xa0\x80\"", 0, "1:6", "invalid UTF-8 (overlong form, surrogate"},
    {"a = \"\xf4\x90\x80\x80\"", 0, "1:6", "above U+10FFFF"},
    {"a = \"\xc3(\"", 0, "1:6", "invalid UTF-8 (a multi-byte character is cut short"},
    {"a = \"\xe2\x82", 0, "1:6", "invalid UTF-8 (truncated sequence"},
    {"# \xc3\xa9\xff", 0, "1:4", "invalid UTF-8"},
    {"a = 1\rb = 2", 0, "1:6", "carriage return not followed by a line feed"},
    {"a = '''\rx'''", 0, "1:8", "carriage return not followed by a line feed"},
    {"a = \"\x01\"", 0, "1:6",
     "control character U+0001 is not allowed in TOML (in a basic "
     "string, write it as \\u0001)"},
    {"# \x7f comment", 0, "1:3", "control character U+007F is not allowed"},
    {"a = 'tab\tok'\nb = \"\x1b[0m\"", 0, "2:6", "control character U+001B"},
    {"a = 1 \0", 7, "1:7", "control character U+0000"},
    {"\xef\xbb\xbf\xef\xbb\xbf"
     "a = 1",
     0, "1:1", "expected a key, found a non-ASCII character"},
};

static void invalid_documents(void **state)
{
    for (size_t i = 0; i < sizeof invalid_cases / sizeof invalid_cases[0]; i++) {
        const invalid_case *c = &invalid_cases[i];
        size_t len = c->len ? c->len : strlen(c->toml);
        tlw_toml_value *root = (tlw_toml_value *)&root;
        tlw_error err;
        tlw_error_clear(&err);
        tlw_status status = tlw_toml_parse(c->toml, len, "t.toml", &root, &err);
        if (status != TLW_ERR_INVALID)
            fail_msg("<<%s>> parsed (status %d), want an error at %s", c->toml, status, c->where);
        assert_null(root);
        assert_int_equal(err.status, TLW_ERR_INVALID);
        char prefix[64];
        snprintf(prefix, sizeof prefix, "t.toml:%s: ", c->where);
        if (strncmp(err.message, prefix, strlen(prefix)) != 0 ||
            !strstr(err.message + strlen(prefix), c->says))
            fail_msg("<<%s>>:\n  got  %s\n  want %s%s...", c->toml, err.message, prefix, c->says);
    }
}

/* A value may be a secret (api_key = "..."): a malformed one is described
 * and located, never quoted, not even in part. */
static void errors_never_quote_a_value(void **state)
{
#define SECRET "sk-live-4f9Qz7Xw"
    static const invalid_case cases[] = {
        {"api_key = \"" SECRET "\n", 0, "1:11", "unterminated string: a string in \"...\""},
        {"api_key = \"" SECRET, 0, "1:11", "unterminated string: no closing '\"'"},
        {"api_key = '" SECRET "\n", 0, "1:11", "unterminated string: a string in '...'"},
        {"api_key = \"\"\"" SECRET "\n", 0, "1:11", "unterminated multi-line string"},
        {"api_key = \"" SECRET "\\q" SECRET "\"", 0, "1:28", "invalid escape: the escapes are"},
        {"api_key = \"" SECRET "\\uZZZZ\"", 0, "1:28", "\\u must be followed by exactly 4"},
        {"api_key = \"" SECRET "\\uD800" SECRET "\"", 0, "1:28",
         "the \\u escape is not a Unicode scalar value"},
        {"api_key = \"" SECRET "\" " SECRET, 0, "1:30",
         "expected the end of the line after the value, found unquoted text"},
        {"api_key = \"sk\"" SECRET "\"", 0, "1:15",
         "expected the end of the line after the value, found unquoted text"},
        {"api_key = \"" SECRET "\", x = 1", 0, "1:29",
         "expected the end of the line after the value, found ','"},
        {"api_key = " SECRET, 0, "1:11", "invalid value: a string must be in quotes"},
        {"api_key = " SECRET "\n", 0, "1:11", "invalid value: a string must be in quotes"},
        {"x = 12ab" SECRET, 0, "1:5", "invalid number: unexpected characters after the digits"},
        {"x = 12_" SECRET, 0, "1:5", "invalid number: an underscore must be between two digits"},
        {"x = 0x" SECRET, 0, "1:5", "invalid hexadecimal integer"},
        {"x = +" SECRET, 0, "1:5", "invalid number: a number starts with a digit"},
        {"x = 1e" SECRET, 0, "1:5", "invalid float: the exponent needs digits"},
        {"x = 1979-05-27" SECRET, 0, "1:5", "invalid date-time: more characters follow it"},
        {"x = 1979-13-27", 0, "1:5", "invalid date: the month must be 01 to 12"},
        {"x = 2024-" SECRET, 0, "1:5", "invalid date: expected YYYY-MM-DD"},
        {"x = 12:" SECRET, 0, "1:5", "invalid time: expected HH:MM:SS"},
        {"x = 07:32:00" SECRET, 0, "1:5", "invalid time: more characters follow it"},
        {"x = 9999999999999999999" SECRET, 0, "1:5", "invalid number: unexpected characters"},
        {"x = 99999999999999999999999", 0, "1:5", "integer is out of range"},
        {"x = [\"" SECRET "\" " SECRET "]", 0, "1:25",
         "expected ',' or ']' in the array opened at 1:5, found unquoted text"},
        {"x = {a = \"" SECRET "\" " SECRET "}", 0, "1:29",
         "expected ',' or '}' in the inline table, found unquoted text"},
        /* A key with no '=' after it may be a secret pasted on its own line. */
        {SECRET "\n", 0, "1:17", "expected '=' after the key, found end of line"},
        {"\"" SECRET "\"\n", 0, "1:19", "expected '=' after the key, found end of line"},
        {"api_key = \"" SECRET "\xff\"", 0, "1:28", "invalid UTF-8 (a byte that cannot start"},
        {"api_key = \"" SECRET "\xc3(\"", 0, "1:28", "invalid UTF-8 (a multi-byte character is"},
        {"api_key = \"" SECRET "\x01\"", 0, "1:28", "control character U+0001 is not allowed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const invalid_case *c = &cases[i];
        tlw_toml_value *root;
        tlw_error err;
        if (tlw_toml_parse(c->toml, strlen(c->toml), "t.toml", &root, &err) != TLW_ERR_INVALID)
            fail_msg("<<%s>> parsed, want an error at %s", c->toml, c->where);
        char prefix[64];
        snprintf(prefix, sizeof prefix, "t.toml:%s: ", c->where);
        if (strncmp(err.message, prefix, strlen(prefix)) != 0 ||
            !strstr(err.message + strlen(prefix), c->says))
            fail_msg("<<%s>>:\n  got  %s\n  want %s%s...", c->toml, err.message, prefix, c->says);
        /* Not the secret, nor any piece of it a reader could stitch together. */
        if (strstr(err.message, "4f9Q") || strstr(err.message, "sk-") ||
            strstr(err.message, "12ab") || strstr(err.message, "9999") ||
            strstr(err.message, "1979") || strstr(err.message, "live"))
            fail_msg("<<%s>>: the message quotes the value: %s", c->toml, err.message);
    }
#undef SECRET

    /* Keys are quoted (they name the setting), cut short at 40 bytes. */
    char text[4096];
    int n = snprintf(text, sizeof text, "[a]\n\"");
    while (n < 4000)
        text[n++] = 'k';
    n += snprintf(text + n, sizeof text - (size_t)n, "\" = 1\n[a]\n\"");
    while (n < 4080)
        text[n++] = 'k';
    n += snprintf(text + n, sizeof text - (size_t)n, "\" = 1\n");
    tlw_toml_value *root;
    tlw_error err;
    assert_int_equal(tlw_toml_parse(text, (size_t)n, "t.toml", &root, &err), TLW_ERR_INVALID);
    assert_non_null(strstr(err.message, "t.toml:3:1: table [a] is defined twice"));
    assert_int_equal(tlw_toml_parse("a = 1\na = 2", 11, "t.toml", &root, &err), TLW_ERR_INVALID);
    assert_string_equal(err.message, "t.toml:2:1: duplicate key a (first defined at 1:1)");
}

static void nesting_is_bounded(void **state)
{
    char text[1024];
    tlw_toml_value *root;
    tlw_error err;

    /* 128 levels of arrays below the root table parse... */
    int n = snprintf(text, sizeof text, "a = ");
    for (int i = 0; i < 128; i++)
        text[n++] = '[';
    for (int i = 0; i < 128; i++)
        text[n++] = ']';
    assert_int_equal(tlw_toml_parse(text, (size_t)n, "t.toml", &root, &err), TLW_OK);
    tlw_toml_free(root);

    /* ... 129 do not. */
    n = snprintf(text, sizeof text, "a = ");
    for (int i = 0; i < 200; i++)
        text[n++] = '[';
    assert_int_equal(tlw_toml_parse(text, (size_t)n, "t.toml", &root, &err), TLW_ERR_INVALID);
    assert_string_equal(err.message,
                        "t.toml:1:133: tables and arrays are nested more than 128 levels deep");

    n = snprintf(text, sizeof text, "a = ");
    for (int i = 0; i < 200; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "{a=");
    assert_int_equal(tlw_toml_parse(text, (size_t)n, "t.toml", &root, &err), TLW_ERR_INVALID);
    assert_non_null(strstr(err.message, "nested more than 128 levels deep"));

    n = 0;
    for (int i = 0; i < 200; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "a.");
    n += snprintf(text + n, sizeof text - (size_t)n, "a = 1");
    assert_int_equal(tlw_toml_parse(text, (size_t)n, "t.toml", &root, &err), TLW_ERR_INVALID);
    assert_string_equal(err.message, "t.toml:1:257: key has more than 128 dotted parts");

    /* Headers and dotted keys add up: [a.b...] then c.d... below it. */
    n = snprintf(text, sizeof text, "[");
    for (int i = 0; i < 100; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "%sa", i ? "." : "");
    n += snprintf(text + n, sizeof text - (size_t)n, "]\n");
    for (int i = 0; i < 40; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "b.");
    n += snprintf(text + n, sizeof text - (size_t)n, "c = 1\n");
    assert_int_equal(tlw_toml_parse(text, (size_t)n, "t.toml", &root, &err), TLW_ERR_INVALID);
    assert_non_null(strstr(err.message, "t.toml:2:57: tables and arrays are nested more than"));
}

static void misuse_is_an_error(void **state)
{
    tlw_error err;
    tlw_toml_value *root;
    assert_int_equal(tlw_toml_parse("a = 1", 5, "t.toml", NULL, &err), TLW_ERR_INVALID);
    assert_int_equal(tlw_toml_parse(NULL, 5, "t.toml", &root, &err), TLW_ERR_INVALID);
    assert_null(root);
    assert_int_equal(tlw_toml_parse(NULL, 0, "t.toml", &root, &err), TLW_OK);
    assert_int_equal(tlw_toml_table_size(root), 0);
    tlw_toml_free(root);
    /* err may be NULL: only the status comes back. */
    assert_int_equal(tlw_toml_parse("a = ", 4, "t.toml", &root, NULL), TLW_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(temporal_toml_profiles),
        cmocka_unit_test(temporal_toml_errors_name_the_file),
        cmocka_unit_test(valid_documents),
        cmocka_unit_test(nan_is_a_float),
        cmocka_unit_test(strings_keep_nul_and_length),
        cmocka_unit_test(keys_in_document_order),
        cmocka_unit_test(positions_of_values),
        cmocka_unit_test(input_need_not_end_in_nul),
        cmocka_unit_test(accessors_of_another_type_answer_zero),
        cmocka_unit_test(invalid_documents),
        cmocka_unit_test(errors_never_quote_a_value),
        cmocka_unit_test(nesting_is_bounded),
        cmocka_unit_test(misuse_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
