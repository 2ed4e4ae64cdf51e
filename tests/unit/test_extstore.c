/*
 * worker/extstore and worker/s3's URLs: object keys are laid out and
 * percent-encoded as the Python SDK's S3StorageDriver lays them out (the
 * expected strings below are what its _percent_encode and store() write for
 * the same inputs); the reference payload reads back, in this SDK's and in
 * the Python SDK's bytes and in the legacy encoding; malformed references
 * are refused with a message; other payloads are not references.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buffer.h"
#include "worker/extstore.h"
#include "worker/s3.h"

#define HEX "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void sha256_is_lower_case_hex(void **state)
{
    (void)state;
    char hex[TLW_EXTSTORE_HEX_SIZE];
    tlw_s3_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, HEX);
}

static void segment(const char *in, const char *want)
{
    tlw_buffer b = {0};
    tlw_extstore_put_segment(&b, in);
    assert_non_null(b.data);
    assert_string_equal(b.data, want);
    tlw_buffer_free(&b);
}

static void segments_are_percent_encoded_as_python_does(void **state)
{
    (void)state;
    /* Python: _percent_encode("a b/c%ü~é!-_.*'()") */
    segment("a b/c%\xc3\xbc~\xc3\xa9!-_.*'()", "a%20b%2Fc%25%C3%BC%7E%C3%A9!-_.*'()");
    segment("wf:1?x=y&z#", "wf%3A1%3Fx%3Dy%26z%23");
    segment("", "null");
    segment(NULL, "null");
    segment("Plain-id_1.2", "Plain-id_1.2");
}

static void keys_follow_the_layout(void **state)
{
    (void)state;
    tlw_extstore_target wf = {.kind = TLW_EXTSTORE_TARGET_WORKFLOW,
                              .namespace_name = "default",
                              .type = "My Workflow",
                              .id = "order/42",
                              .run_id = "r-1"};
    char *key = tlw_extstore_key(NULL, &wf, HEX);
    assert_string_equal(key, "v0/ns/default/wt/My%20Workflow/wi/order%2F42/ri/r-1/d/sha256/" HEX);
    free(key);

    tlw_extstore_target act = {.kind = TLW_EXTSTORE_TARGET_ACTIVITY,
                               .namespace_name = "ns",
                               .type = "compose",
                               .id = "7",
                               .run_id = NULL};
    key = tlw_extstore_key("", &act, HEX);
    assert_string_equal(key, "v0/ns/ns/at/compose/ai/7/ri/null/d/sha256/" HEX);
    free(key);

    key = tlw_extstore_key(NULL, NULL, HEX);
    assert_string_equal(key, "v0/d/sha256/" HEX);
    free(key);

    tlw_extstore_target none = {.kind = TLW_EXTSTORE_TARGET_NONE};
    key = tlw_extstore_key("team-a", &none, HEX);
    assert_string_equal(key, "team-a/v0/d/sha256/" HEX);
    free(key);

    tlw_extstore_target empty_ns = {.kind = TLW_EXTSTORE_TARGET_WORKFLOW, .namespace_name = ""};
    key = tlw_extstore_key("p/", &empty_ns, HEX);
    assert_string_equal(key, "p/v0/ns/null/wt/null/wi/null/ri/null/d/sha256/" HEX);
    free(key);
}

static void a_key_over_1024_bytes_keeps_the_namespace_only(void **state)
{
    (void)state;
    char id[1100];
    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    tlw_extstore_target wf = {.kind = TLW_EXTSTORE_TARGET_WORKFLOW,
                              .namespace_name = "default",
                              .type = "W",
                              .id = id,
                              .run_id = "r"};
    char *key = tlw_extstore_key(NULL, &wf, HEX);
    assert_string_equal(key, "v0/ns/default/d/sha256/" HEX);
    free(key);
}

static tlw_payload *payload_with(const char *encoding, const char *message_type, const char *data)
{
    tlw_payload init = TEMPORAL__API__COMMON__V1__PAYLOAD__INIT;
    tlw_payload *p = malloc(sizeof *p);
    *p = init;
    p->metadata = calloc(2, sizeof *p->metadata);
    const char *keys[2] = {"encoding", "messageType"};
    const char *values[2] = {encoding, message_type};
    for (int i = 0; i < 2; i++) {
        if (!values[i])
            continue;
        Temporal__Api__Common__V1__Payload__MetadataEntry e =
            TEMPORAL__API__COMMON__V1__PAYLOAD__METADATA_ENTRY__INIT;
        Temporal__Api__Common__V1__Payload__MetadataEntry *m = malloc(sizeof e);
        *m = e;
        m->key = strdup(keys[i]);
        m->value.len = strlen(values[i]);
        m->value.data = malloc(m->value.len);
        memcpy(m->value.data, values[i], m->value.len);
        p->metadata[p->n_metadata++] = m;
    }
    p->data.len = strlen(data);
    p->data.data = malloc(p->data.len + 1);
    memcpy(p->data.data, data, p->data.len);
    return p;
}

static void references_round_trip(void **state)
{
    (void)state;
    tlw_payload *p = NULL;
    tlw_error err;
    assert_int_equal(tlw_extstore_reference_new("bkt", "v0/d/sha256/" HEX, HEX, 1234, &p, &err),
                     TLW_OK);
    assert_int_equal(p->n_external_payloads, 1);
    assert_int_equal(p->external_payloads[0]->size_bytes, 1234);
    /* Through the wire and back. */
    size_t n = protobuf_c_message_get_packed_size(&p->base);
    uint8_t *bytes = malloc(n);
    protobuf_c_message_pack(&p->base, bytes);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    p = (tlw_payload *)protobuf_c_message_unpack(&temporal__api__common__v1__payload__descriptor,
                                                 NULL, n, bytes);
    free(bytes);
    bool is_ref = false;
    tlw_extstore_ref ref;
    assert_int_equal(tlw_extstore_reference_parse(p, &is_ref, &ref, &err), TLW_OK);
    assert_true(is_ref);
    assert_string_equal(ref.driver_name, "aws.s3driver");
    assert_string_equal(ref.bucket, "bkt");
    assert_string_equal(ref.key, "v0/d/sha256/" HEX);
    assert_string_equal(ref.hash_algorithm, "sha256");
    assert_string_equal(ref.hash_value, HEX);
    tlw_extstore_ref_free(&ref);
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

static void pythons_reference_bytes_are_read(void **state)
{
    (void)state;
    /* What the Python SDK's JSONProtoPayloadConverter writes. */
    tlw_payload *p = payload_with(
        "json/protobuf", "temporal.api.sdk.v1.ExternalStorageReference",
        "{\"claimData\":{\"bucket\":\"b\",\"hash_algorithm\":\"sha256\",\"hash_value\":\"00\","
        "\"key\":\"k\"},\"driverName\":\"aws.s3driver\"}");
    bool is_ref = false;
    tlw_extstore_ref ref;
    tlw_error err;
    assert_int_equal(tlw_extstore_reference_parse(p, &is_ref, &ref, &err), TLW_OK);
    assert_true(is_ref);
    assert_string_equal(ref.bucket, "b");
    assert_string_equal(ref.key, "k");
    assert_string_equal(ref.hash_value, "00");
    tlw_extstore_ref_free(&ref);
    protobuf_c_message_free_unpacked(&p->base, NULL);

    /* The proto field names are JSON too. */
    p = payload_with("json/protobuf", "temporal.api.sdk.v1.ExternalStorageReference",
                     "{\"driver_name\":\"aws.s3driver\",\"claim_data\":{\"bucket\":\"b2\","
                     "\"key\":\"k2\"}}");
    assert_int_equal(tlw_extstore_reference_parse(p, &is_ref, &ref, &err), TLW_OK);
    assert_true(is_ref);
    assert_string_equal(ref.bucket, "b2");
    assert_null(ref.hash_value);
    tlw_extstore_ref_free(&ref);
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

static void the_legacy_encoding_is_read(void **state)
{
    (void)state;
    tlw_payload *p = payload_with("json/external-storage-reference", NULL,
                                  "{\"driver_name\":\"aws.s3driver\",\"driver_claim\":{"
                                  "\"claim_data\":{\"bucket\":\"old\",\"key\":\"v0/k\"}}}");
    bool is_ref = false;
    tlw_extstore_ref ref;
    tlw_error err;
    assert_int_equal(tlw_extstore_reference_parse(p, &is_ref, &ref, &err), TLW_OK);
    assert_true(is_ref);
    assert_string_equal(ref.bucket, "old");
    assert_string_equal(ref.key, "v0/k");
    tlw_extstore_ref_free(&ref);
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

static void other_payloads_are_not_references(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"json/plain", NULL},
        {"json/protobuf", "temporal.api.common.v1.Payload"},
        {"json/protobuf", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tlw_payload *p = payload_with(cases[i][0], cases[i][1], "{}");
        bool is_ref = true;
        tlw_extstore_ref ref;
        tlw_error err;
        assert_int_equal(tlw_extstore_reference_parse(p, &is_ref, &ref, &err), TLW_OK);
        assert_false(is_ref);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
}

static void malformed_references_are_refused(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"not json", "not JSON"},
        {"[]", "not a JSON object"},
        {"{\"claimData\":{\"bucket\":\"b\",\"key\":\"k\"}}", "no driver name"},
        {"{\"driverName\":\"aws.s3driver\"}", "no claim data"},
        {"{\"driverName\":\"aws.s3driver\",\"claimData\":{\"key\":\"k\"}}", "no \"bucket\""},
        {"{\"driverName\":\"aws.s3driver\",\"claimData\":{\"bucket\":1,\"key\":\"k\"}}",
         "\"bucket\" is a number"},
        {"{\"driverName\":\"x\",\"driverName\":\"y\",\"claimData\":{}}", "not JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tlw_payload *p = payload_with("json/protobuf",
                                      "temporal.api.sdk.v1.ExternalStorageReference", cases[i][0]);
        bool is_ref = false;
        tlw_extstore_ref ref;
        tlw_error err;
        assert_int_equal(tlw_extstore_reference_parse(p, &is_ref, &ref, &err), TLW_ERR_INVALID);
        assert_true(is_ref);
        if (!strstr(err.message, cases[i][1]))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.message, cases[i][1]);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
}

static void object_urls_are_uri_encoded(void **state)
{
    (void)state;
    tlw_s3_config aws = {.region = "eu-west-1"};
    char *url = tlw_s3_object_url(&aws, "bkt", "v0/ns/a%20b/x~y!");
    assert_string_equal(url, "https://bkt.s3.eu-west-1.amazonaws.com/v0/ns/a%2520b/x~y%21");
    free(url);
    tlw_s3_config local = {
        .region = "us-east-1", .endpoint_url = "http://127.0.0.1:5000/", .path_style = true};
    url = tlw_s3_object_url(&local, "bkt", "v0/d/k");
    assert_string_equal(url, "http://127.0.0.1:5000/bkt/v0/d/k");
    free(url);
    tlw_s3_config hosted = {.region = "us-east-1", .endpoint_url = "https://minio.example"};
    url = tlw_s3_object_url(&hosted, "b", "k");
    assert_string_equal(url, "https://b.minio.example/k");
    free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_is_lower_case_hex),
        cmocka_unit_test(segments_are_percent_encoded_as_python_does),
        cmocka_unit_test(keys_follow_the_layout),
        cmocka_unit_test(a_key_over_1024_bytes_keeps_the_namespace_only),
        cmocka_unit_test(references_round_trip),
        cmocka_unit_test(pythons_reference_bytes_are_read),
        cmocka_unit_test(the_legacy_encoding_is_read),
        cmocka_unit_test(other_payloads_are_not_references),
        cmocka_unit_test(malformed_references_are_refused),
        cmocka_unit_test(object_urls_are_uri_encoded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
