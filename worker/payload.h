/*
 * worker/payload: the default data converter, as the Python and Go SDKs use
 * it, and the Failure messages other SDKs read.
 *
 * A user's values are jansson values. One value <-> one Payload:
 *   JSON null            <-> metadata encoding "binary/null", no data
 *   any other JSON value <-> encoding "json/plain", data = compact JSON (UTF-8)
 *   encoding "binary/plain" (from another SDK's bytes) -> a JSON object
 *        {"binary": "<standard base64 of the bytes>"}   (one way only)
 * Anything else (another encoding, an encrypted payload, malformed JSON) is
 * TLW_ERR_INVALID naming the encoding or the JSON error and the payload's
 * position, and never crashes.
 *
 * Every protobuf-c message returned here is built from separately malloc'ed
 * pieces, so it is freed with protobuf_c_message_free_unpacked(&m->base, NULL).
 */
#ifndef TLW_WORKER_PAYLOAD_H
#define TLW_WORKER_PAYLOAD_H

#include <stdbool.h>

#include <jansson.h>

#include <tlw/lambda_worker.h>

#include "temporal/api/common/v1/message.pb-c.h"
#include "temporal/api/failure/v1/message.pb-c.h"

typedef Temporal__Api__Common__V1__Payload tlw_payload;
typedef Temporal__Api__Common__V1__Payloads tlw_payloads;
typedef Temporal__Api__Failure__V1__Failure tlw_failure_pb;

/* One payload -> a new JSON value (caller json_decref's it). */
tlw_status tlw_payload_to_json(const tlw_payload *payload, json_t **out, tlw_error *err);

/* Every payload of `payloads` (NULL means none) -> a new JSON array. */
tlw_status tlw_payloads_to_json(const tlw_payloads *payloads, json_t **out, tlw_error *err);

/* A JSON value (NULL means JSON null) -> a new Payload. */
tlw_status tlw_payload_from_json(const json_t *value, tlw_payload **out, tlw_error *err);

/* A JSON value -> new Payloads with exactly one payload (an activity result).
 * A JSON array `values` with from_array true -> one payload per element
 * (arguments). */
tlw_status tlw_payloads_from_json(const json_t *value, bool from_array, tlw_payloads **out,
                                  tlw_error *err);

/*
 * A new Failure with ApplicationFailureInfo, as Python's ApplicationError and
 * Go's ApplicationError read it: message, type, non_retryable, and details
 * (a JSON array of values, or NULL for none) as payloads. `source` is "tlw".
 */
tlw_status tlw_failure_application(const char *message, const char *type, bool non_retryable,
                                   const json_t *details, tlw_failure_pb **out, tlw_error *err);

/* The JSON array of a failure's application details ([] when none). */
tlw_status tlw_failure_details_to_json(const tlw_failure_pb *failure, json_t **out, tlw_error *err);

#endif
