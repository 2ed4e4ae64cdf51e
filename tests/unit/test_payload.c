/*
 * worker/payload: every JSON type round-trips; the encoded bytes are exactly
 * what the Python SDK writes (metadata and data); binary/plain reads as
 * base64; every malformed payload is refused with a message naming it;
 * failures carry their details; and every allocation failure is reported
 * without a leak.
 *
 * For the allocation failures this file compiles worker/payload.c and the
 * buffer it writes JSON text into (common/buffer.c) itself, with their
 * allocator calls routed through a counter that can fail the Nth one
 * (jansson's allocations go through the same counter). Their definitions
 * take the place of libtlw's copies in this program.
 */
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
#include "worker/payload.h"

/* ---- allocation failures ------------------------------------------------ */

static long allocations_until_failure = -1; /* -1: never fail */
static long allocations_failed;

static bool allocation_fails(void)
{
    if (allocations_until_failure < 0)
        return false;
    if (allocations_until_failure-- == 0) {
        allocations_failed++;
        return true;
    }
    return false;
}

static void *counted_malloc(size_t n)
{
    return allocation_fails() ? NULL : malloc(n);
}

static void *counted_calloc(size_t count, size_t n)
{
    return allocation_fails() ? NULL : calloc(count, n);
}

static void *counted_realloc(void *p, size_t n)
{
    return allocation_fails() ? NULL : realloc(p, n);
}

static char *counted_strdup(const char *s)
{
    return allocation_fails() ? NULL : strdup(s);
}

#define malloc(n) counted_malloc(n)
#define calloc(c, n) counted_calloc(c, n)
#define realloc(p, n) counted_realloc(p, n)
#define strdup(s) counted_strdup(s)
#include "common/buffer.c"
#include "worker/payload.c"
#undef malloc
#undef calloc
#undef realloc
#undef strdup

/* Fails the `n`th allocation from now on (0 = the next one). */
static void fail_allocation(long n)
{
    allocations_until_failure = n;
    allocations_failed = 0;
    json_set_alloc_funcs(counted_malloc, free);
}

static void stop_failing(void)
{
    allocations_until_failure = -1;
    json_set_alloc_funcs(malloc, free);
}

/* ---- helpers --------------------------------------------------------------- */

static void has(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!v)
        fail_msg("test JSON %s: %s", text, jerr.text);
    return v;
}

static void free_payload(tlw_payload *p)
{
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

static void free_payloads(tlw_payloads *p)
{
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

static void free_failure(tlw_failure_pb *f)
{
    protobuf_c_message_free_unpacked(&f->base, NULL);
}

/* Asserts that `p` has exactly one metadata entry, encoding = `encoding`,
 * and exactly the data `data` (of `len` bytes). */
static void assert_payload(const tlw_payload *p, const char *encoding, const char *data,
                           size_t len)
{
    assert_non_null(p);
    assert_int_equal(p->n_metadata, 1);
    assert_string_equal(p->metadata[0]->key, "encoding");
    assert_int_equal(p->metadata[0]->value.len, strlen(encoding));
    assert_memory_equal(p->metadata[0]->value.data, encoding, strlen(encoding));
    assert_int_equal(p->data.len, len);
    if (len)
        assert_memory_equal(p->data.data, data, len);
    assert_int_equal(p->n_external_payloads, 0);
}

/* Encodes `value`, checks the bytes are `json` under json/plain, and that
 * they decode to a value equal to `value`. */
static void round_trips_as(const json_t *value, const char *json)
{
    tlw_error err;
    tlw_payload *p;
    assert_int_equal(tlw_payload_from_json(value, &p, &err), TLW_OK);
    assert_payload(p, "json/plain", json, strlen(json));
    json_t *back;
    assert_int_equal(tlw_payload_to_json(p, &back, &err), TLW_OK);
    if (!json_equal(back, value))
        fail_msg("%s does not decode to the value it came from", json);
    json_decref(back);
    free_payload(p);
}

static void text_round_trips_as(const char *text, const char *json)
{
    json_t *v = parse(text);
    round_trips_as(v, json);
    json_decref(v);
}

/* A payload with the given metadata (NULL key: none) and data, built on the
 * stack as a peer's bytes would unpack. */
typedef struct test_payload {
    tlw_payload payload;
    Temporal__Api__Common__V1__Payload__MetadataEntry entry;
    Temporal__Api__Common__V1__Payload__MetadataEntry *entries[1];
} test_payload;

static void make_payload(test_payload *t, const char *key, const void *value, size_t value_len,
                         const void *data, size_t data_len)
{
    tlw_payload init = TEMPORAL__API__COMMON__V1__PAYLOAD__INIT;
    Temporal__Api__Common__V1__Payload__MetadataEntry entry_init =
        TEMPORAL__API__COMMON__V1__PAYLOAD__METADATA_ENTRY__INIT;
    t->payload = init;
    t->entry = entry_init;
    if (key) {
        t->entry.key = (char *)key;
        t->entry.value.data = (uint8_t *)value;
        t->entry.value.len = value_len;
        t->entries[0] = &t->entry;
        t->payload.metadata = t->entries;
        t->payload.n_metadata = 1;
    }
    t->payload.data.data = (uint8_t *)data;
    t->payload.data.len = data_len;
}

static void make_encoded(test_payload *t, const char *encoding, const void *data, size_t len)
{
    make_payload(t, "encoding", encoding, strlen(encoding), data, len);
}

/* Decoding `t` fails with TLW_ERR_INVALID and exactly `message`. */
static void refused_with(const tlw_payload *p, const char *message)
{
    tlw_error err;
    json_t *out = (json_t *)1;
    assert_int_equal(tlw_payload_to_json(p, &out, &err), TLW_ERR_INVALID);
    assert_null(out);
    assert_int_equal(err.status, TLW_ERR_INVALID);
    assert_string_equal(err.message, message);
}

/* ---- encoding ---------------------------------------------------------- */

static void null_is_binary_null_without_data(void **state)
{
    tlw_error err;
    tlw_payload *p;
    assert_int_equal(tlw_payload_from_json(json_null(), &p, &err), TLW_OK);
    assert_payload(p, "binary/null", NULL, 0);
    json_t *back;
    assert_int_equal(tlw_payload_to_json(p, &back, &err), TLW_OK);
    assert_true(json_is_null(back));
    free_payload(p);

    /* A NULL value means JSON null. */
    assert_int_equal(tlw_payload_from_json(NULL, &p, &err), TLW_OK);
    assert_payload(p, "binary/null", NULL, 0);
    free_payload(p);
}

static void booleans_and_integers_round_trip(void **state)
{
    round_trips_as(json_true(), "true");
    round_trips_as(json_false(), "false");
    text_round_trips_as("0", "0");
    text_round_trips_as("-0", "0");
    text_round_trips_as("42", "42");
    text_round_trips_as("-17", "-17");
    text_round_trips_as("9223372036854775807", "9223372036854775807");
    text_round_trips_as("-9223372036854775808", "-9223372036854775808");
}

static void reals_are_written_as_python_repr(void **state)
{
    static const struct {
        double value;
        const char *json;
    } cases[] = {
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {0.5, "0.5"},
        {0.1, "0.1"},
        {1.0, "1.0"},
        {100.0, "100.0"},
        {-2.5, "-2.5"},
        {123.456, "123.456"},
        {1.0 / 3.0, "0.3333333333333333"},
        {2.0 / 3.0, "0.6666666666666666"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {2.5e-7, "2.5e-07"},
        {1e15, "1000000000000000.0"},
        {1e16, "1e+16"},
        {1.5e300, "1.5e+300"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {5e-324, "5e-324"},
        {2.2250738585072014e-308, "2.2250738585072014e-308"},
        {9007199254740993.0, "9007199254740992.0"},
        {123456789012345.67, "123456789012345.67"},
        /* 2^-1016: the nearest 16 digits do not read back, the next ones do. */
        {7.120236347223045e-307, "7.120236347223045e-307"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = json_real(cases[i].value);
        round_trips_as(v, cases[i].json);
        json_decref(v);
    }
    /* A real that reads back as an integer-valued real stays a real. */
    text_round_trips_as("1e2", "100.0");
    text_round_trips_as("1.5E3", "1500.0");
}

static void strings_are_escaped_as_python_does(void **state)
{
    text_round_trips_as("\"\"", "\"\"");
    text_round_trips_as("\"hello, world\"", "\"hello, world\"");
    /* Non-ASCII as lower-case \u escapes, beyond the BMP as surrogate pairs. */
    text_round_trips_as("\"caf\xc3\xa9\"", "\"caf\\u00e9\"");
    text_round_trips_as("\"\xe2\x82\xac\xef\xbf\xbf\"", "\"\\u20ac\\uffff\"");
    text_round_trips_as("\"\xf0\x9f\x98\x80\"", "\"\\ud83d\\ude00\"");
    text_round_trips_as("\"\xf4\x8f\xbf\xbf\"", "\"\\udbff\\udfff\"");
    /* Short escapes, other controls and DEL as \u00XX; '/' is not escaped. */
    text_round_trips_as("\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001\\u001f\\u007f /\"",
                        "\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001\\u001f\\u007f /\"");
    /* An embedded NUL survives both ways. */
    json_t *v = json_stringn("a\0b", 3);
    round_trips_as(v, "\"a\\u0000b\"");
    json_decref(v);
}

static void containers_are_written_with_sorted_keys(void **state)
{
    text_round_trips_as("[]", "[]");
    text_round_trips_as("{}", "{}");
    text_round_trips_as("[1, [2, [3, []]], {\"a\": [null, true]}]",
                        "[1,[2,[3,[]]],{\"a\":[null,true]}]");
    /* Keys are sorted by code point, as Python's SDK writes them, so the
     * same value has the same bytes in both. */
    text_round_trips_as("{\"zeta\": 1, \"alpha\": {\"y\": 2.5, \"b\": \"\xc3\xa9\"}, \"mid\": []}",
                        "{\"alpha\":{\"b\":\"\\u00e9\",\"y\":2.5},\"mid\":[],\"zeta\":1}");
    text_round_trips_as("{\"k\\u00e9y\\n\": \"v\"}", "{\"k\\u00e9y\\n\":\"v\"}");
}

static void deep_nesting_is_bounded(void **state)
{
    /* As deep as jansson parses: encodes. */
    char text[2 * MAX_NESTING + 1];
    memset(text, '[', MAX_NESTING);
    memset(text + MAX_NESTING, ']', MAX_NESTING);
    text[2 * MAX_NESTING] = '\0';
    json_t *v = parse(text);
    round_trips_as(v, text);

    /* One level deeper, built in code: refused, no crash. */
    json_t *outer = json_array();
    json_array_append_new(outer, v);
    tlw_error err;
    tlw_payload *p = (tlw_payload *)1;
    assert_int_equal(tlw_payload_from_json(outer, &p, &err), TLW_ERR_INVALID);
    assert_null(p);
    has(err.message, "nests deeper than 2048");
    json_decref(outer);
}

static void invalid_utf8_in_a_value_is_refused(void **state)
{
    tlw_error err;
    json_t *args = json_pack("[i, o]", 1, json_string_nocheck("ok \xff"));
    tlw_payloads *ps = (tlw_payloads *)1;
    assert_int_equal(tlw_payloads_from_json(args, true, &ps, &err), TLW_ERR_INVALID);
    assert_null(ps);
    assert_string_equal(err.message, "payload 2: a string is not valid UTF-8 (byte 3); build "
                                     "strings with json_string() or json_stringn(), which "
                                     "check it");
    json_decref(args);

    /* Overlong, surrogate and out-of-range sequences, and a cut one. */
    static const char *bad[] = {"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                "\xe2\x82"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *s = json_string_nocheck(bad[i]);
        tlw_payload *p;
        assert_int_equal(tlw_payload_from_json(s, &p, &err), TLW_ERR_INVALID);
        has(err.message, "not valid UTF-8 (byte 0)");
        json_decref(s);
    }
    json_t *o = json_object();
    json_object_set_new_nocheck(o, "k\xfe", json_true());
    tlw_payload *p;
    assert_int_equal(tlw_payload_from_json(o, &p, &err), TLW_ERR_INVALID);
    has(err.message, "an object key is not valid UTF-8 (byte 1)");
    json_decref(o);
}

static void payloads_from_a_value_or_an_array(void **state)
{
    tlw_error err;
    tlw_payloads *ps;
    json_t *args = parse("[\"Temporal\", 7, null, {\"a\": [1]}]");

    /* An array of arguments: one payload per element. */
    assert_int_equal(tlw_payloads_from_json(args, true, &ps, &err), TLW_OK);
    assert_int_equal(ps->n_payloads, 4);
    assert_payload(ps->payloads[0], "json/plain", "\"Temporal\"", 10);
    assert_payload(ps->payloads[1], "json/plain", "7", 1);
    assert_payload(ps->payloads[2], "binary/null", NULL, 0);
    assert_payload(ps->payloads[3], "json/plain", "{\"a\":[1]}", 9);
    json_t *back;
    assert_int_equal(tlw_payloads_to_json(ps, &back, &err), TLW_OK);
    assert_true(json_equal(back, args));
    json_decref(back);
    free_payloads(ps);

    /* The same array as one result. */
    assert_int_equal(tlw_payloads_from_json(args, false, &ps, &err), TLW_OK);
    assert_int_equal(ps->n_payloads, 1);
    assert_payload(ps->payloads[0], "json/plain", "[\"Temporal\",7,null,{\"a\":[1]}]", 29);
    free_payloads(ps);
    json_decref(args);

    /* A NULL result is one binary/null payload; no arguments, no payloads. */
    assert_int_equal(tlw_payloads_from_json(NULL, false, &ps, &err), TLW_OK);
    assert_int_equal(ps->n_payloads, 1);
    assert_payload(ps->payloads[0], "binary/null", NULL, 0);
    free_payloads(ps);
    json_t *none = json_array();
    assert_int_equal(tlw_payloads_from_json(none, true, &ps, &err), TLW_OK);
    assert_int_equal(ps->n_payloads, 0);
    assert_int_equal(protobuf_c_message_get_packed_size(&ps->base), 0);
    free_payloads(ps);
    json_decref(none);

    /* Arguments that are not an array. */
    json_t *one = json_integer(1);
    assert_int_equal(tlw_payloads_from_json(one, true, &ps, &err), TLW_ERR_INVALID);
    assert_string_equal(err.message, "arguments must be a JSON array (one element per "
                                     "argument), not an integer");
    assert_int_equal(tlw_payloads_from_json(NULL, true, &ps, &err), TLW_ERR_INVALID);
    has(err.message, "not NULL");
    json_decref(one);
}

static void encoded_payloads_survive_the_wire(void **state)
{
    tlw_error err;
    tlw_payloads *ps;
    json_t *args = parse("[null, \"x\\u0000y\", [1.5, {\"k\": false}]]");
    assert_int_equal(tlw_payloads_from_json(args, true, &ps, &err), TLW_OK);
    size_t len = protobuf_c_message_get_packed_size(&ps->base);
    uint8_t *bytes = malloc(len);
    assert_int_equal(protobuf_c_message_pack(&ps->base, bytes), len);
    free_payloads(ps);

    ps = (tlw_payloads *)protobuf_c_message_unpack(&temporal__api__common__v1__payloads__descriptor,
                                                   NULL, len, bytes);
    assert_non_null(ps);
    assert_payload(ps->payloads[0], "binary/null", NULL, 0);
    assert_payload(ps->payloads[1], "json/plain", "\"x\\u0000y\"", 10);
    assert_payload(ps->payloads[2], "json/plain", "[1.5,{\"k\":false}]", 17);
    json_t *back;
    assert_int_equal(tlw_payloads_to_json(ps, &back, &err), TLW_OK);
    assert_true(json_equal(back, args));
    json_decref(back);
    free_payloads(ps);
    free(bytes);
    json_decref(args);

    /* The bytes of one json/plain payload, field by field: metadata entry
     * {1: "encoding", 2: "json/plain"}, then data. */
    tlw_payload *p;
    json_t *v = json_integer(5);
    assert_int_equal(tlw_payload_from_json(v, &p, &err), TLW_OK);
    static const uint8_t expected[] = {0x0a, 0x16, 0x0a, 0x08, 'e', 'n',  'c', 'o', 'd', 'i',
                                       'n',  'g',  0x12, 0x0a, 'j', 's',  'o', 'n', '/', 'p',
                                       'l',  'a',  'i',  'n',  0x12, 0x01, '5'};
    uint8_t one[sizeof expected];
    assert_int_equal(protobuf_c_message_get_packed_size(&p->base), sizeof expected);
    protobuf_c_message_pack(&p->base, one);
    assert_memory_equal(one, expected, sizeof expected);
    free_payload(p);
    json_decref(v);
}

/* ---- decoding ---------------------------------------------------------- */

static void binary_plain_reads_as_base64(void **state)
{
    static const struct {
        const char *bytes;
        size_t len;
        const char *base64;
    } cases[] = {
        {"", 0, ""},
        {"f", 1, "Zg=="},
        {"fo", 2, "Zm8="},
        {"foo", 3, "Zm9v"},
        {"foob", 4, "Zm9vYg=="},
        {"\x00\xff\xfe\x80", 4, "AP/+gA=="},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_payload t;
        make_encoded(&t, "binary/plain", cases[i].bytes, cases[i].len);
        json_t *out;
        tlw_error err;
        assert_int_equal(tlw_payload_to_json(&t.payload, &out, &err), TLW_OK);
        assert_true(json_is_object(out));
        assert_int_equal(json_object_size(out), 1);
        assert_string_equal(json_string_value(json_object_get(out, "binary")), cases[i].base64);
        json_decref(out);
    }
}

static void json_plain_reads_any_json_value(void **state)
{
    static const char *texts[] = {"null", " true ", "\"\\u00e9\\ud83d\\ude00\"", "[1,2]",
                                  "{\"a\":{\"b\":[]}}", "-1.5e-3"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        test_payload t;
        make_encoded(&t, "json/plain", texts[i], strlen(texts[i]));
        json_t *out;
        tlw_error err;
        assert_int_equal(tlw_payload_to_json(&t.payload, &out, &err), TLW_OK);
        json_t *want = parse(texts[i]);
        assert_true(json_equal(out, want));
        json_decref(want);
        json_decref(out);
    }

    /* Other metadata is ignored; the last "encoding" entry counts, as in any
     * protobuf map. */
    Temporal__Api__Common__V1__Payload__MetadataEntry e[3] = {
        TEMPORAL__API__COMMON__V1__PAYLOAD__METADATA_ENTRY__INIT,
        TEMPORAL__API__COMMON__V1__PAYLOAD__METADATA_ENTRY__INIT,
        TEMPORAL__API__COMMON__V1__PAYLOAD__METADATA_ENTRY__INIT,
    };
    e[0].key = "encoding";
    e[0].value = (ProtobufCBinaryData){10, (uint8_t *)"binary/xyz"};
    e[1].key = "messageType";
    e[1].value = (ProtobufCBinaryData){3, (uint8_t *)"Foo"};
    e[2].key = "encoding";
    e[2].value = (ProtobufCBinaryData){10, (uint8_t *)"json/plain"};
    Temporal__Api__Common__V1__Payload__MetadataEntry *entries[] = {&e[0], &e[1], &e[2]};
    tlw_payload p = TEMPORAL__API__COMMON__V1__PAYLOAD__INIT;
    p.n_metadata = 3;
    p.metadata = entries;
    p.data = (ProtobufCBinaryData){2, (uint8_t *)"[]"};
    json_t *out;
    tlw_error err;
    assert_int_equal(tlw_payload_to_json(&p, &out, &err), TLW_OK);
    assert_true(json_is_array(out));
    json_decref(out);
}

static void unknown_and_missing_encodings_are_refused(void **state)
{
    test_payload t;
    make_encoded(&t, "binary/encrypted", "\x01\x02", 2);
    refused_with(&t.payload, "payload 1: unknown encoding \"binary/encrypted\"; tlw decodes "
                             "json/plain, binary/plain and binary/null");
    make_encoded(&t, "json/protobuf", "{}", 2);
    refused_with(&t.payload, "payload 1: unknown encoding \"json/protobuf\"; tlw decodes "
                             "json/plain, binary/plain and binary/null");
    /* An encoding name that is not text is shown byte by byte. */
    make_payload(&t, "encoding", "a\0\"\xff", 4, "1", 1);
    refused_with(&t.payload, "payload 1: unknown encoding \"a\\x00\\x22\\xff\"; tlw decodes "
                             "json/plain, binary/plain and binary/null");
    /* A long one is cut. */
    char name[200];
    memset(name, 'x', sizeof name);
    make_payload(&t, "encoding", name, sizeof name, "1", 1);
    tlw_error err;
    json_t *out;
    assert_int_equal(tlw_payload_to_json(&t.payload, &out, &err), TLW_ERR_INVALID);
    has(err.message, "xxx...\"; tlw decodes");
    /* "json/plain" must match exactly. */
    make_payload(&t, "encoding", "json/plain\0", 11, "1", 1);
    refused_with(&t.payload, "payload 1: unknown encoding \"json/plain\\x00\"; tlw decodes "
                             "json/plain, binary/plain and binary/null");

    make_payload(&t, NULL, NULL, 0, "1", 1);
    refused_with(&t.payload, "payload 1: no \"encoding\" metadata; tlw decodes json/plain, "
                             "binary/plain and binary/null");
    make_payload(&t, "Encoding", "json/plain", 10, "1", 1);
    refused_with(&t.payload, "payload 1: no \"encoding\" metadata; tlw decodes json/plain, "
                             "binary/plain and binary/null");

    refused_with(NULL, "payload 1: missing (NULL)");
}

static void malformed_data_is_refused(void **state)
{
    test_payload t;
    make_encoded(&t, "json/plain", "", 0);
    refused_with(&t.payload, "payload 1: json/plain payload has no data; expected JSON text");
    make_encoded(&t, "json/plain", "{\"a\": tru}", 10);
    refused_with(&t.payload, "payload 1: invalid JSON at line 1 column 9: invalid token near "
                             "'tru'");
    make_encoded(&t, "json/plain", "[1] [2]", 7);
    tlw_error err;
    json_t *out;
    assert_int_equal(tlw_payload_to_json(&t.payload, &out, &err), TLW_ERR_INVALID);
    has(err.message, "payload 1: invalid JSON at line 1 column 5: end of file expected");
    make_encoded(&t, "binary/null", "x", 1);
    refused_with(&t.payload,
                 "payload 1: binary/null payload carries 1 bytes of data; it must carry none");

    /* Bytes that are not UTF-8, a raw NUL, a lone surrogate: refused, no crash. */
    static const struct {
        const char *data;
        size_t len;
    } bad[] = {{"\"\xff\"", 3}, {"\"a\0b\"", 5}, {"\0", 1}, {"\"\\ud800\"", 8}, {"1e999", 5}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        make_encoded(&t, "json/plain", bad[i].data, bad[i].len);
        assert_int_equal(tlw_payload_to_json(&t.payload, &out, &err), TLW_ERR_INVALID);
        has(err.message, "payload 1: invalid JSON at line 1 column ");
    }
}

static void errors_name_the_payload_position(void **state)
{
    test_payload a, b, c;
    make_encoded(&a, "json/plain", "1", 1);
    make_encoded(&b, "binary/null", NULL, 0);
    make_encoded(&c, "binary/encrypted", "zz", 2);
    tlw_payload *list[] = {&a.payload, &b.payload, &c.payload};
    tlw_payloads ps = TEMPORAL__API__COMMON__V1__PAYLOADS__INIT;
    ps.n_payloads = 3;
    ps.payloads = list;
    tlw_error err;
    json_t *out = (json_t *)1;
    assert_int_equal(tlw_payloads_to_json(&ps, &out, &err), TLW_ERR_INVALID);
    assert_null(out);
    assert_string_equal(err.message, "payload 3: unknown encoding \"binary/encrypted\"; tlw "
                                     "decodes json/plain, binary/plain and binary/null");

    ps.n_payloads = 2;
    assert_int_equal(tlw_payloads_to_json(&ps, &out, &err), TLW_OK);
    json_t *want = parse("[1, null]");
    assert_true(json_equal(out, want));
    json_decref(want);
    json_decref(out);

    /* No payloads at all (NULL or empty) is an empty array. */
    assert_int_equal(tlw_payloads_to_json(NULL, &out, &err), TLW_OK);
    assert_true(json_is_array(out) && json_array_size(out) == 0);
    json_decref(out);
    ps.n_payloads = 0;
    assert_int_equal(tlw_payloads_to_json(&ps, &out, &err), TLW_OK);
    assert_int_equal(json_array_size(out), 0);
    json_decref(out);

    /* err may be NULL: the status still says what happened. */
    ps.n_payloads = 3;
    assert_int_equal(tlw_payloads_to_json(&ps, &out, NULL), TLW_ERR_INVALID);
}

/* ---- failures ---------------------------------------------------------- */

static void a_failure_carries_message_type_and_details(void **state)
{
    tlw_error err;
    tlw_failure_pb *f;
    json_t *details = parse("[\"card declined\", 402, null, {\"retry_in\": 1.5}]");
    assert_int_equal(
        tlw_failure_application("payment failed", "PaymentError", true, details, &f, &err),
        TLW_OK);
    assert_string_equal(f->message, "payment failed");
    assert_string_equal(f->source, "tlw");
    assert_string_equal(f->stack_trace, "");
    assert_null(f->cause);
    assert_null(f->encoded_attributes);
    assert_int_equal(f->failure_info_case,
                     TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_APPLICATION_FAILURE_INFO);
    Temporal__Api__Failure__V1__ApplicationFailureInfo *info = f->application_failure_info;
    assert_string_equal(info->type, "PaymentError");
    assert_true(info->non_retryable);
    assert_null(info->next_retry_delay);
    assert_non_null(info->details);
    assert_int_equal(info->details->n_payloads, 4);
    assert_payload(info->details->payloads[0], "json/plain", "\"card declined\"", 15);
    assert_payload(info->details->payloads[1], "json/plain", "402", 3);
    assert_payload(info->details->payloads[2], "binary/null", NULL, 0);
    assert_payload(info->details->payloads[3], "json/plain", "{\"retry_in\":1.5}", 16);

    /* Through the wire and back. */
    size_t len = protobuf_c_message_get_packed_size(&f->base);
    uint8_t *bytes = malloc(len);
    protobuf_c_message_pack(&f->base, bytes);
    free_failure(f);
    f = (tlw_failure_pb *)protobuf_c_message_unpack(&temporal__api__failure__v1__failure__descriptor,
                                                 NULL, len, bytes);
    free(bytes);
    assert_non_null(f);
    json_t *back;
    assert_int_equal(tlw_failure_details_to_json(f, &back, &err), TLW_OK);
    assert_true(json_equal(back, details));
    json_decref(back);
    free_failure(f);
    json_decref(details);
}

static void a_failure_without_details_has_none(void **state)
{
    tlw_error err;
    tlw_failure_pb *f;
    json_t *empty = json_array();
    const json_t *none[] = {NULL, empty};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(tlw_failure_application("boom", "ValueError", false, none[i], &f, &err),
                         TLW_OK);
        assert_string_equal(f->message, "boom");
        assert_string_equal(f->application_failure_info->type, "ValueError");
        assert_false(f->application_failure_info->non_retryable);
        assert_null(f->application_failure_info->details);
        json_t *back;
        assert_int_equal(tlw_failure_details_to_json(f, &back, &err), TLW_OK);
        assert_true(json_is_array(back) && json_array_size(back) == 0);
        json_decref(back);
        free_failure(f);
    }
    json_decref(empty);

    /* NULL message and type are empty strings. */
    assert_int_equal(tlw_failure_application(NULL, NULL, false, NULL, &f, &err), TLW_OK);
    assert_string_equal(f->message, "");
    assert_string_equal(f->application_failure_info->type, "");
    free_failure(f);
}

static void failure_details_are_checked(void **state)
{
    tlw_error err;
    tlw_failure_pb *f = (tlw_failure_pb *)1;
    json_t *obj = parse("{\"a\": 1}");
    assert_int_equal(tlw_failure_application("m", "T", false, obj, &f, &err), TLW_ERR_INVALID);
    assert_null(f);
    assert_string_equal(err.message,
                        "failure details must be a JSON array of values (or NULL), not an object");
    json_decref(obj);

    json_t *bad = json_pack("[i, o]", 1, json_string_nocheck("\xc3"));
    assert_int_equal(tlw_failure_application("m", "T", false, bad, &f, &err), TLW_ERR_INVALID);
    assert_null(f);
    has(err.message, "failure details: payload 2: a string is not valid UTF-8");
    json_decref(bad);
}

static void details_of_other_failures_are_empty(void **state)
{
    tlw_error err;
    json_t *out;
    assert_int_equal(tlw_failure_details_to_json(NULL, &out, &err), TLW_OK);
    assert_int_equal(json_array_size(out), 0);
    json_decref(out);

    Temporal__Api__Failure__V1__CanceledFailureInfo canceled =
        TEMPORAL__API__FAILURE__V1__CANCELED_FAILURE_INFO__INIT;
    tlw_failure_pb f = TEMPORAL__API__FAILURE__V1__FAILURE__INIT;
    f.failure_info_case = TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_CANCELED_FAILURE_INFO;
    f.canceled_failure_info = &canceled;
    assert_int_equal(tlw_failure_details_to_json(&f, &out, &err), TLW_OK);
    assert_true(json_is_array(out) && json_array_size(out) == 0);
    json_decref(out);

    /* Details that cannot be read say so. */
    test_payload t;
    make_encoded(&t, "binary/encrypted", "zz", 2);
    tlw_payload *list[] = {&t.payload};
    tlw_payloads details = TEMPORAL__API__COMMON__V1__PAYLOADS__INIT;
    details.n_payloads = 1;
    details.payloads = list;
    Temporal__Api__Failure__V1__ApplicationFailureInfo info =
        TEMPORAL__API__FAILURE__V1__APPLICATION_FAILURE_INFO__INIT;
    info.details = &details;
    f.failure_info_case =
        TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_APPLICATION_FAILURE_INFO;
    f.application_failure_info = &info;
    assert_int_equal(tlw_failure_details_to_json(&f, &out, &err), TLW_ERR_INVALID);
    has(err.message, "failure details: payload 1: unknown encoding \"binary/encrypted\"");
}

/* ---- out of memory ------------------------------------------------------ */

/*
 * Runs `attempt` failing the 0th, 1st, 2nd ... allocation until it succeeds
 * without a failed allocation. LeakSanitizer (in the sanitizer build) finds
 * anything a failing run left behind. With `strict`, every failing run must
 * say TLW_ERR_NOMEM. Decoding cannot be strict: jansson's parser (2.14)
 * reports some failed allocations as a syntax error and, when a string's
 * buffer cannot grow, drops bytes and succeeds.
 */
static void every_allocation_failure(tlw_status (*attempt)(tlw_error *err), bool strict,
                                     const char *what)
{
    for (long n = 0;; n++) {
        tlw_error err;
        tlw_error_clear(&err);
        fail_allocation(n);
        tlw_status st = attempt(&err);
        long failed = allocations_failed;
        stop_failing();
        if (failed == 0) {
            assert_int_equal(st, TLW_OK);
            assert_true(n > 3); /* the attempt did allocate */
            return;
        }
        if (st == TLW_ERR_NOMEM || (!strict && (st == TLW_OK || st == TLW_ERR_INVALID)))
            continue;
        fail_msg("%s, allocation %ld failing: status %s: %s", what, n, tlw_status_name(st),
                 err.message);
    }
}

static json_t *oom_value;

static tlw_status oom_encode(tlw_error *err)
{
    tlw_payloads *ps;
    tlw_status st = tlw_payloads_from_json(oom_value, true, &ps, err);
    if (st == TLW_OK)
        free_payloads(ps);
    return st;
}

static tlw_status oom_failure(tlw_error *err)
{
    tlw_failure_pb *f;
    tlw_status st = tlw_failure_application("message", "Type", true, oom_value, &f, err);
    if (st == TLW_OK)
        free_failure(f);
    return st;
}

static tlw_payloads *oom_payloads;

static tlw_status oom_decode(tlw_error *err)
{
    json_t *out;
    tlw_status st = tlw_payloads_to_json(oom_payloads, &out, err);
    if (st == TLW_OK)
        json_decref(out);
    return st;
}

static void out_of_memory_is_reported_without_leaks(void **state)
{
    /* Long enough strings that the text buffer grows several times. */
    char long_text[600];
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    oom_value = json_pack("[n, s, {s:[i, f, b]}, s]", long_text, "k", 1, 2.5, 1, "\xc3\xa9");
    every_allocation_failure(oom_encode, true, "encoding");
    every_allocation_failure(oom_failure, true, "building a failure");

    tlw_error err;
    assert_int_equal(tlw_payloads_from_json(oom_value, true, &oom_payloads, &err), TLW_OK);
    /* And one binary/plain payload to read. */
    test_payload bin;
    make_encoded(&bin, "binary/plain", "\x01\x02\x03\x04", 4);
    tlw_payload **list = malloc((oom_payloads->n_payloads + 1) * sizeof *list);
    memcpy(list, oom_payloads->payloads, oom_payloads->n_payloads * sizeof *list);
    list[oom_payloads->n_payloads] = &bin.payload;
    tlw_payloads decode_me = *oom_payloads;
    decode_me.payloads = list;
    decode_me.n_payloads++;
    tlw_payloads *own = oom_payloads;
    oom_payloads = &decode_me;
    every_allocation_failure(oom_decode, false, "decoding");
    free(list);
    free_payloads(own);
    json_decref(oom_value);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(null_is_binary_null_without_data),
        cmocka_unit_test(booleans_and_integers_round_trip),
        cmocka_unit_test(reals_are_written_as_python_repr),
        cmocka_unit_test(strings_are_escaped_as_python_does),
        cmocka_unit_test(containers_are_written_with_sorted_keys),
        cmocka_unit_test(deep_nesting_is_bounded),
        cmocka_unit_test(invalid_utf8_in_a_value_is_refused),
        cmocka_unit_test(payloads_from_a_value_or_an_array),
        cmocka_unit_test(encoded_payloads_survive_the_wire),
        cmocka_unit_test(binary_plain_reads_as_base64),
        cmocka_unit_test(json_plain_reads_any_json_value),
        cmocka_unit_test(unknown_and_missing_encodings_are_refused),
        cmocka_unit_test(malformed_data_is_refused),
        cmocka_unit_test(errors_name_the_payload_position),
        cmocka_unit_test(a_failure_carries_message_type_and_details),
        cmocka_unit_test(a_failure_without_details_has_none),
        cmocka_unit_test(failure_details_are_checked),
        cmocka_unit_test(details_of_other_failures_are_empty),
        cmocka_unit_test(out_of_memory_is_reported_without_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
