/*
 * worker/extstore: the external storage format that Temporal's Python and Go
 * SDKs share (sdk-python temporalio/converter/_extstore.py and
 * contrib/aws/s3driver, sdk-go contrib/aws/s3driver, the API's
 * temporal/api/sdk/v1/external_storage.proto). Pure functions: no I/O.
 *
 * A payload whose serialized size is at or above the threshold is stored
 * as an object (its serialized bytes) and replaced by a reference payload:
 *   metadata encoding    = "json/protobuf"
 *            messageType = "temporal.api.sdk.v1.ExternalStorageReference"
 *   data = {"driverName":"aws.s3driver","claimData":{"bucket":..,"key":..,
 *           "hash_algorithm":"sha256","hash_value":<lower-case hex>}}
 *   external_payloads = [{size_bytes: the stored payload's size}]
 * A reference is read by parsing its JSON (either the camelCase or the
 * proto field names), never by comparing bytes; the older encoding
 * "json/external-storage-reference" ({"driver_name":..,"driver_claim":
 * {"claim_data":{..}}}) is read too.
 *
 * Object keys:
 *   [prefix/]v0/ns/{ns}/wt/{workflow type}/wi/{workflow id}/ri/{run id}/d/sha256/{hex}
 *   [prefix/]v0/ns/{ns}/at/{activity type}/ai/{activity id}/ri/{run id}/d/sha256/{hex}
 *   [prefix/]v0/d/sha256/{hex}                          (no target)
 * each segment percent-encoded outside A-Za-z0-9!-_.*'() (UTF-8 bytes,
 * upper-case hex), an empty or missing value written "null"; a key over 1024
 * bytes falls back to v0/ns/{ns}/d/sha256/{hex}, as the SDKs do.
 */
#ifndef TLW_WORKER_EXTSTORE_H
#define TLW_WORKER_EXTSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tlw/lambda_worker.h>

#include "common/buffer.h"
#include "worker/payload.h"

#define TLW_EXTSTORE_DRIVER_NAME "aws.s3driver"
#define TLW_EXTSTORE_DEFAULT_THRESHOLD (256 * 1024)
/* The most a stored object may hold (the SDKs' default max_payload_size). */
#define TLW_EXTSTORE_MAX_OBJECT (50 * 1024 * 1024)
#define TLW_EXTSTORE_MAX_KEY 1024
/* A SHA-256 as lower-case hex, with its NUL. */
#define TLW_EXTSTORE_HEX_SIZE 65

typedef enum tlw_extstore_target_kind {
    TLW_EXTSTORE_TARGET_NONE,     /* v0/d/sha256/... */
    TLW_EXTSTORE_TARGET_WORKFLOW, /* .../wt/../wi/../ri/.. */
    TLW_EXTSTORE_TARGET_ACTIVITY, /* .../at/../ai/../ri/.. */
} tlw_extstore_target_kind;

/* Whom a payload is stored for. NULL or "" fields are written "null". */
typedef struct tlw_extstore_target {
    tlw_extstore_target_kind kind;
    const char *namespace_name;
    const char *type; /* workflow or activity type */
    const char *id;   /* workflow or activity id */
    const char *run_id;
} tlw_extstore_target;

/* A parsed reference. The strings are owned by it: tlw_extstore_ref_free. */
typedef struct tlw_extstore_ref {
    char *driver_name;
    char *bucket;
    char *key;
    char *hash_algorithm; /* NULL when the claim has none */
    char *hash_value;     /* NULL when the claim has none */
} tlw_extstore_ref;

/* Appends `value` percent-encoded as a key segment ("null" when NULL or
 * empty) to `b`. */
void tlw_extstore_put_segment(tlw_buffer *b, const char *value);

/* The object key for a payload with hash `hex` stored for `target` (NULL:
 * none), under `prefix` (NULL or "": none; else "prefix/" goes first). A
 * new string (free it); NULL when out of memory. */
char *tlw_extstore_key(const char *prefix, const tlw_extstore_target *target, const char *hex);

/* A new reference payload for an object (free with
 * protobuf_c_message_free_unpacked). */
tlw_status tlw_extstore_reference_new(const char *bucket, const char *key, const char *hex,
                                      int64_t stored_size, tlw_payload **out, tlw_error *err);

/*
 * Whether `payload` is a reference (by its metadata alone). When it is,
 * parses it into *ref (which the caller frees); a reference whose JSON is
 * malformed or lacks the driver name, bucket or key is TLW_ERR_INVALID
 * saying what is wrong. When it is not, returns TLW_OK with *is_ref false.
 */
tlw_status tlw_extstore_reference_parse(const tlw_payload *payload, bool *is_ref,
                                        tlw_extstore_ref *ref, tlw_error *err);

void tlw_extstore_ref_free(tlw_extstore_ref *ref);

#endif
