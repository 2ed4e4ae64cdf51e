#include "config.h"

#include "worker/storage.h"

#include <stdlib.h>
#include <string.h>

#include "common/buffer.h"
#include "common/error.h"
#include "common/log.h"
#include "worker/s3.h"

/* The most a fetched object may hold: above the SDKs' default 50 MiB, for
 * a peer that raised its max_payload_size, and within a Lambda's memory. */
#define FETCH_MAX (256 * 1024 * 1024)

struct tlw_storage {
    char *bucket;
    char *region;
    char *endpoint_url;
    char *key_prefix;
    bool path_style;
    int64_t threshold;
    /* From the environment at open; copied into the client. */
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
    tlw_s3_client *client; /* made at the first call */
};

static char *copy(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

static void free_secret(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

tlw_status tlw_storage_open(const tlw_worker_settings *w, char *const *envp, tlw_storage **out,
                            tlw_error *err)
{
    *out = NULL;
    if (!w->s3_bucket.value)
        return TLW_OK;
    tlw_storage *s = calloc(1, sizeof *s);
    if (!s)
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory opening S3 storage");
    s->bucket = copy(w->s3_bucket.value);
    s->region = copy(w->s3_region.value);
    s->endpoint_url = copy(w->s3_endpoint_url.value);
    s->key_prefix = copy(w->s3_key_prefix.value);
    s->path_style = w->s3_path_style.value != 0;
    s->threshold = w->s3_payload_size_threshold.value;
    s->access_key_id = copy(tlw_env_get(envp, "AWS_ACCESS_KEY_ID"));
    s->secret_access_key = copy(tlw_env_get(envp, "AWS_SECRET_ACCESS_KEY"));
    s->session_token = copy(tlw_env_get(envp, "AWS_SESSION_TOKEN"));
    if (!s->bucket) {
        tlw_storage_close(s);
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory opening S3 storage");
    }
    *out = s;
    return TLW_OK;
}

void tlw_storage_close(tlw_storage *s)
{
    if (!s)
        return;
    tlw_s3_close(s->client);
    free(s->bucket);
    free(s->region);
    free(s->endpoint_url);
    free(s->key_prefix);
    free(s->access_key_id);
    free_secret(s->secret_access_key);
    free_secret(s->session_token);
    free(s);
}

static tlw_status client(tlw_storage *s, tlw_error *err)
{
    if (s->client)
        return TLW_OK;
    tlw_s3_config config = {
        .region = s->region,
        .endpoint_url = s->endpoint_url,
        .path_style = s->path_style,
        .access_key_id = s->access_key_id,
        .secret_access_key = s->secret_access_key,
        .session_token = s->session_token,
    };
    return tlw_s3_open(&config, &s->client, err);
}

/* ---- storing --------------------------------------------------------------- */

static tlw_status store_one(tlw_storage *s, const tlw_extstore_target *target, tlw_payload **slot,
                            int64_t deadline_ms, tlw_error *err)
{
    size_t size = protobuf_c_message_get_packed_size(&(*slot)->base);
    if ((int64_t)size < s->threshold)
        return TLW_OK;
    if (size > TLW_EXTSTORE_MAX_OBJECT)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "a payload of %zu bytes is over the %d bytes an S3 object for it "
                             "may hold (the SDKs' max_payload_size); make it smaller",
                             size, TLW_EXTSTORE_MAX_OBJECT);
    /* The client first: it loads libtlw-s3, which hashes too. */
    tlw_status st = client(s, err);
    if (st != TLW_OK)
        return tlw_error_prefix(err, "storing a payload in S3: ");
    uint8_t *bytes = malloc(size ? size : 1);
    if (!bytes)
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory storing a payload of %zu bytes",
                             size);
    protobuf_c_message_pack(&(*slot)->base, bytes);
    char hex[TLW_EXTSTORE_HEX_SIZE];
    tlw_s3_sha256_hex(bytes, size, hex);
    char *key = tlw_extstore_key(s->key_prefix, target, hex);
    if (!key)
        st = tlw_error_set(err, TLW_ERR_NOMEM, "out of memory storing a payload");
    bool exists = false;
    if (st == TLW_OK)
        st = tlw_s3_head(s->client, s->bucket, key, deadline_ms, &exists, err);
    if (st == TLW_OK && !exists)
        st = tlw_s3_put(s->client, s->bucket, key, bytes, size, hex, deadline_ms, err);
    free(bytes);
    tlw_payload *ref = NULL;
    if (st == TLW_OK)
        st = tlw_extstore_reference_new(s->bucket, key, hex, (int64_t)size, &ref, err);
    if (st != TLW_OK) {
        free(key);
        return tlw_error_prefix(err, "storing a payload in S3: ");
    }
    tlw_log_debug("payload of %zu bytes %s S3 bucket %s, key %s", size,
                  exists ? "already in" : "stored in", s->bucket, key);
    free(key);
    protobuf_c_message_free_unpacked(&(*slot)->base, NULL);
    *slot = ref;
    return TLW_OK;
}

tlw_status tlw_storage_store(tlw_storage *s, const tlw_extstore_target *target,
                             tlw_payloads *payloads, int64_t deadline_ms, tlw_error *err)
{
    if (!s || !payloads)
        return TLW_OK;
    for (size_t i = 0; i < payloads->n_payloads; i++) {
        tlw_status st = store_one(s, target, &payloads->payloads[i], deadline_ms, err);
        if (st != TLW_OK)
            return st;
    }
    return TLW_OK;
}

tlw_status tlw_storage_store_failure(tlw_storage *s, const tlw_extstore_target *target,
                                     tlw_failure_pb *failure, int64_t deadline_ms, tlw_error *err)
{
    tlw_status st = TLW_OK;
    for (; s && failure && st == TLW_OK; failure = failure->cause) {
        switch (failure->failure_info_case) {
        case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_APPLICATION_FAILURE_INFO:
            st = tlw_storage_store(s, target, failure->application_failure_info->details,
                                   deadline_ms, err);
            break;
        case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_CANCELED_FAILURE_INFO:
            st = tlw_storage_store(s, target, failure->canceled_failure_info->details, deadline_ms,
                                   err);
            break;
        case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_TIMEOUT_FAILURE_INFO:
            st = tlw_storage_store(s, target, failure->timeout_failure_info->last_heartbeat_details,
                                   deadline_ms, err);
            break;
        default: break;
        }
    }
    return st;
}

/* ---- retrieving ------------------------------------------------------------------ */

tlw_status tlw_storage_retrieve_one(tlw_storage *s, tlw_payload **payload, int64_t deadline_ms,
                                    tlw_error *err)
{
    bool is_ref;
    tlw_extstore_ref ref;
    tlw_status st = tlw_extstore_reference_parse(*payload, &is_ref, &ref, err);
    if (st != TLW_OK || !is_ref)
        return st;
    if (strcmp(ref.driver_name, TLW_EXTSTORE_DRIVER_NAME) != 0)
        st = tlw_error_set(err, TLW_ERR_INVALID,
                           "a payload was stored by the external storage driver \"%.64s\" "
                           "(bucket %s, key %s); this worker reads only \"%s\"",
                           ref.driver_name, ref.bucket, ref.key, TLW_EXTSTORE_DRIVER_NAME);
    else if (!s)
        st = tlw_error_set(err, TLW_ERR_INVALID,
                           "a payload is stored in S3 (bucket %s, key %s) but this worker has no "
                           "S3 storage: set s3_bucket in lambda_worker.cfg or call "
                           "tlw_config_set_s3_storage()",
                           ref.bucket, ref.key);
    else if (!ref.hash_algorithm || !ref.hash_value)
        st = tlw_error_set(err, TLW_ERR_INVALID,
                           "the reference to bucket %s, key %s has no content hash "
                           "(hash_algorithm and hash_value)",
                           ref.bucket, ref.key);
    else if (strcmp(ref.hash_algorithm, "sha256") != 0)
        st = tlw_error_set(err, TLW_ERR_INVALID,
                           "the reference to bucket %s, key %s has hash algorithm \"%.32s\"; "
                           "only sha256 is known",
                           ref.bucket, ref.key, ref.hash_algorithm);
    if (st != TLW_OK) {
        tlw_extstore_ref_free(&ref);
        return st;
    }

    tlw_buffer object = {0};
    st = client(s, err);
    if (st == TLW_OK)
        st = tlw_s3_get(s->client, ref.bucket, ref.key, FETCH_MAX, deadline_ms, &object, err);
    char hex[TLW_EXTSTORE_HEX_SIZE];
    if (st == TLW_OK) {
        tlw_s3_sha256_hex(object.data ? object.data : "", object.len, hex);
        if (strcmp(hex, ref.hash_value) != 0)
            st = tlw_error_set(err, TLW_ERR_INVALID,
                               "S3 object integrity check failed [bucket=%s, key=%s]: expected "
                               "sha256:%.64s, got sha256:%s",
                               ref.bucket, ref.key, ref.hash_value, hex);
    }
    tlw_payload *stored = NULL;
    if (st == TLW_OK) {
        stored = (tlw_payload *)protobuf_c_message_unpack(
            &temporal__api__common__v1__payload__descriptor, NULL, object.len,
            (const uint8_t *)(object.data ? object.data : ""));
        if (!stored)
            st = tlw_error_set(err, TLW_ERR_PROTOCOL,
                               "the S3 object at bucket %s, key %s is not a serialized Payload",
                               ref.bucket, ref.key);
    }
    if (st == TLW_OK)
        tlw_log_debug("payload of %zu bytes fetched from S3 bucket %s, key %s", object.len,
                      ref.bucket, ref.key);
    tlw_buffer_free(&object);
    tlw_extstore_ref_free(&ref);
    if (st != TLW_OK)
        return st;
    protobuf_c_message_free_unpacked(&(*payload)->base, NULL);
    *payload = stored;
    return TLW_OK;
}

tlw_status tlw_storage_retrieve(tlw_storage *s, tlw_payloads *payloads, int64_t deadline_ms,
                                tlw_error *err)
{
    if (!payloads)
        return TLW_OK;
    for (size_t i = 0; i < payloads->n_payloads; i++) {
        tlw_status st = tlw_storage_retrieve_one(s, &payloads->payloads[i], deadline_ms, err);
        if (st != TLW_OK)
            return tlw_error_prefix(err, "payload %zu: ", i + 1);
    }
    return TLW_OK;
}

/* ---- every payload of a message ------------------------------------------------- */

/* Deeper than any Temporal message nests, bar a Failure's chain of causes
 * (cut there rather than overflow the stack). */
#define WALK_DEPTH_MAX 64

typedef struct walk {
    tlw_storage *s;
    const tlw_extstore_target *target; /* NULL: retrieve */
    int64_t deadline_ms;
    tlw_error *err;
} walk;

static bool left_alone(const char *field)
{
    return strcmp(field, "header") == 0 || strcmp(field, "memo") == 0 ||
           strcmp(field, "search_attributes") == 0;
}

static tlw_status walk_message(const walk *w, ProtobufCMessage *m, int depth);

static tlw_status visit(const walk *w, ProtobufCMessage **slot, int depth)
{
    if (!*slot)
        return TLW_OK;
    if ((*slot)->descriptor == &temporal__api__common__v1__payload__descriptor)
        return w->target
                   ? store_one(w->s, w->target, (tlw_payload **)slot, w->deadline_ms, w->err)
                   : tlw_storage_retrieve_one(w->s, (tlw_payload **)slot, w->deadline_ms, w->err);
    return walk_message(w, *slot, depth + 1);
}

static tlw_status walk_message(const walk *w, ProtobufCMessage *m, int depth)
{
    if (depth > WALK_DEPTH_MAX)
        return TLW_OK;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE || left_alone(f->name))
            continue;
        char *member = (char *)m + f->offset;
        tlw_status st = TLW_OK;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(size_t *)((char *)m + f->quantifier_offset);
            ProtobufCMessage **items = *(ProtobufCMessage ***)member;
            for (size_t j = 0; j < n && st == TLW_OK; j++)
                st = visit(w, &items[j], depth);
        } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* The members of a oneof share their storage: only the one
             * the case names is there. */
            if (*(uint32_t *)((char *)m + f->quantifier_offset) == f->id)
                st = visit(w, (ProtobufCMessage **)member, depth);
        } else {
            st = visit(w, (ProtobufCMessage **)member, depth);
        }
        if (st != TLW_OK)
            return st;
    }
    return TLW_OK;
}

tlw_status tlw_storage_store_all(tlw_storage *s, const tlw_extstore_target *target,
                                 ProtobufCMessage *message, int64_t deadline_ms, tlw_error *err)
{
    static const tlw_extstore_target none = {.kind = TLW_EXTSTORE_TARGET_NONE};
    if (!s || !message)
        return TLW_OK;
    walk w = {s, target ? target : &none, deadline_ms, err};
    return walk_message(&w, message, 0);
}

tlw_status tlw_storage_retrieve_all(tlw_storage *s, ProtobufCMessage *message, int64_t deadline_ms,
                                    tlw_error *err)
{
    if (!message)
        return TLW_OK;
    walk w = {s, NULL, deadline_ms, err};
    return walk_message(&w, message, 0);
}
