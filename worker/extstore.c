#include "config.h"

#include "worker/extstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"

#define ENCODING_KEY "encoding"
#define MESSAGE_TYPE_KEY "messageType"
#define ENCODING_REFERENCE "json/protobuf"
#define ENCODING_LEGACY "json/external-storage-reference"
#define MESSAGE_TYPE "temporal.api.sdk.v1.ExternalStorageReference"

/* S3's safe characters for object key names, the set the SDKs keep as is. */
static bool key_safe(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           strchr("!-_.*'()", c) != NULL;
}

void tlw_extstore_put_segment(tlw_buffer *b, const char *value)
{
    if (!value || !*value) {
        tlw_buffer_puts(b, "null");
        return;
    }
    static const char digits[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (key_safe(*p)) {
            tlw_buffer_putc(b, (char)*p);
        } else {
            char esc[3] = {'%', digits[*p >> 4], digits[*p & 15]};
            tlw_buffer_append(b, esc, 3);
        }
    }
}

/* "v0", the namespace, and (when `full`) the target's segments. */
static void put_key(tlw_buffer *b, const tlw_extstore_target *t, bool full, const char *hex)
{
    tlw_buffer_puts(b, "v0");
    if (t && t->kind != TLW_EXTSTORE_TARGET_NONE) {
        tlw_buffer_puts(b, "/ns/");
        tlw_extstore_put_segment(b, t->namespace_name);
        if (full) {
            bool wf = t->kind == TLW_EXTSTORE_TARGET_WORKFLOW;
            tlw_buffer_puts(b, wf ? "/wt/" : "/at/");
            tlw_extstore_put_segment(b, t->type);
            tlw_buffer_puts(b, wf ? "/wi/" : "/ai/");
            tlw_extstore_put_segment(b, t->id);
            tlw_buffer_puts(b, "/ri/");
            tlw_extstore_put_segment(b, t->run_id);
        }
    }
    tlw_buffer_puts(b, "/d/sha256/");
    tlw_buffer_puts(b, hex);
}

char *tlw_extstore_key(const char *prefix, const tlw_extstore_target *target, const char *hex)
{
    tlw_buffer b = {0};
    size_t prefix_len = 0;
    if (prefix && *prefix) {
        tlw_buffer_puts(&b, prefix);
        if (prefix[strlen(prefix) - 1] != '/')
            tlw_buffer_putc(&b, '/');
        prefix_len = b.len;
    }
    put_key(&b, target, true, hex);
    /* S3 keys hold at most 1024 bytes: keep the namespace, which access
     * policies on key prefixes may rely on, and drop the rest. */
    if (b.len - prefix_len > TLW_EXTSTORE_MAX_KEY) {
        b.len = prefix_len;
        put_key(&b, target, false, hex);
    }
    if (b.nomem || !b.data) {
        tlw_buffer_free(&b);
        return NULL;
    }
    return b.data;
}

/* ---- the reference payload ----------------------------------------------- */

static Temporal__Api__Common__V1__Payload__MetadataEntry *entry_new(const char *key,
                                                                    const char *value)
{
    Temporal__Api__Common__V1__Payload__MetadataEntry init =
        TEMPORAL__API__COMMON__V1__PAYLOAD__METADATA_ENTRY__INIT;
    Temporal__Api__Common__V1__Payload__MetadataEntry *e = malloc(sizeof *e);
    if (!e)
        return NULL;
    *e = init;
    size_t len = strlen(value);
    e->key = strdup(key);
    e->value.data = malloc(len);
    if (!e->key || !e->value.data) {
        free(e->key);
        free(e->value.data);
        free(e);
        return NULL;
    }
    memcpy(e->value.data, value, len);
    e->value.len = len;
    return e;
}

tlw_status tlw_extstore_reference_new(const char *bucket, const char *key, const char *hex,
                                      int64_t stored_size, tlw_payload **out, tlw_error *err)
{
    *out = NULL;
    json_t *ref = json_pack("{s:s, s:{s:s, s:s, s:s, s:s}}", "driverName", TLW_EXTSTORE_DRIVER_NAME,
                            "claimData", "bucket", bucket, "key", key, "hash_algorithm", "sha256",
                            "hash_value", hex);
    char *text = ref ? json_dumps(ref, JSON_COMPACT) : NULL;
    json_decref(ref);
    if (!text)
        return tlw_error_set(err, TLW_ERR_NOMEM,
                             "out of memory building the reference to bucket %s, key %s", bucket,
                             key);

    tlw_payload init = TEMPORAL__API__COMMON__V1__PAYLOAD__INIT;
    tlw_payload *p = malloc(sizeof *p);
    if (!p) {
        free(text);
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory building a reference payload");
    }
    *p = init;
    p->data.data = (uint8_t *)text;
    p->data.len = strlen(text);
    p->metadata = calloc(2, sizeof *p->metadata);
    p->external_payloads = calloc(1, sizeof *p->external_payloads);
    if (p->metadata && (p->metadata[0] = entry_new(ENCODING_KEY, ENCODING_REFERENCE)))
        p->n_metadata = 1;
    if (p->n_metadata == 1 && (p->metadata[1] = entry_new(MESSAGE_TYPE_KEY, MESSAGE_TYPE)))
        p->n_metadata = 2;
    Temporal__Api__Common__V1__Payload__ExternalPayloadDetails dinit =
        TEMPORAL__API__COMMON__V1__PAYLOAD__EXTERNAL_PAYLOAD_DETAILS__INIT;
    if (p->external_payloads && (p->external_payloads[0] = malloc(sizeof dinit))) {
        *p->external_payloads[0] = dinit;
        p->external_payloads[0]->size_bytes = stored_size;
        p->n_external_payloads = 1;
    }
    if (p->n_metadata != 2 || p->n_external_payloads != 1) {
        protobuf_c_message_free_unpacked(&p->base, NULL);
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory building a reference payload");
    }
    *out = p;
    return TLW_OK;
}

/* ---- reading a reference ------------------------------------------------------ */

static bool metadata_is(const tlw_payload *p, const char *key, const char *value)
{
    size_t len = strlen(value);
    for (size_t i = 0; i < p->n_metadata; i++) {
        const Temporal__Api__Common__V1__Payload__MetadataEntry *e = p->metadata[i];
        if (e && e->key && strcmp(e->key, key) == 0)
            return e->value.len == len && memcmp(e->value.data, value, len) == 0;
    }
    return false;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* The member `camel` or, as proto JSON parsers accept both, `snake`. */
static json_t *member(const json_t *obj, const char *camel, const char *snake)
{
    json_t *v = json_object_get(obj, camel);
    return v ? v : json_object_get(obj, snake);
}

/* A string member of the claim, copied; NULL (not an error) when absent. */
static tlw_status claim_string(const json_t *claim, const char *name, bool required, char **out,
                               tlw_error *err)
{
    json_t *v = json_object_get(claim, name);
    if (!v) {
        if (required)
            return tlw_error_set(err, TLW_ERR_INVALID,
                                 "the external storage reference's claim has no \"%s\"", name);
        return TLW_OK;
    }
    if (!json_is_string(v))
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "the external storage reference's claim \"%s\" is %s, not a string",
                             name, type_name(v));
    *out = strdup(json_string_value(v));
    if (!*out)
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory reading a reference");
    return TLW_OK;
}

tlw_status tlw_extstore_reference_parse(const tlw_payload *payload, bool *is_ref,
                                        tlw_extstore_ref *ref, tlw_error *err)
{
    *ref = (tlw_extstore_ref){0};
    bool legacy = metadata_is(payload, ENCODING_KEY, ENCODING_LEGACY);
    *is_ref = legacy || (metadata_is(payload, ENCODING_KEY, ENCODING_REFERENCE) &&
                         metadata_is(payload, MESSAGE_TYPE_KEY, MESSAGE_TYPE));
    if (!*is_ref)
        return TLW_OK;

    json_error_t jerr;
    json_t *root = json_loadb((const char *)payload->data.data, payload->data.len,
                              JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "an external storage reference is not JSON: %s (at byte %d)",
                             jerr.text, jerr.position);
    tlw_status st = TLW_OK;
    json_t *driver, *claim;
    if (legacy) {
        driver = json_object_get(root, "driver_name");
        json_t *outer = json_object_get(root, "driver_claim");
        claim = json_is_object(outer) ? json_object_get(outer, "claim_data") : NULL;
    } else {
        driver = member(root, "driverName", "driver_name");
        claim = member(root, "claimData", "claim_data");
    }
    if (!json_is_object(root))
        st = tlw_error_set(err, TLW_ERR_INVALID,
                           "an external storage reference is %s, not a JSON object",
                           type_name(root));
    else if (!json_is_string(driver))
        st = tlw_error_set(err, TLW_ERR_INVALID,
                           "an external storage reference has no driver name (a string)");
    else if (!json_is_object(claim))
        st = tlw_error_set(err, TLW_ERR_INVALID,
                           "an external storage reference has no claim data (an object)");
    if (st == TLW_OK && !(ref->driver_name = strdup(json_string_value(driver))))
        st = tlw_error_set(err, TLW_ERR_NOMEM, "out of memory reading a reference");
    if (st == TLW_OK)
        st = claim_string(claim, "bucket", true, &ref->bucket, err);
    if (st == TLW_OK)
        st = claim_string(claim, "key", true, &ref->key, err);
    if (st == TLW_OK)
        st = claim_string(claim, "hash_algorithm", false, &ref->hash_algorithm, err);
    if (st == TLW_OK)
        st = claim_string(claim, "hash_value", false, &ref->hash_value, err);
    json_decref(root);
    if (st != TLW_OK)
        tlw_extstore_ref_free(ref);
    return st;
}

void tlw_extstore_ref_free(tlw_extstore_ref *ref)
{
    free(ref->driver_name);
    free(ref->bucket);
    free(ref->key);
    free(ref->hash_algorithm);
    free(ref->hash_value);
    *ref = (tlw_extstore_ref){0};
}
