/*
 * worker/pbjson: JSON in the proto3 canonical mapping -> protobuf-c messages,
 * for histories as `temporal workflow show --output json`, Go's protojson
 * and the Python SDK's WorkflowHistory.to_json() write them (replay tests,
 * fixtures). It is driven by protobuf-c's own descriptors, so any message
 * compiled into libtlwproto decodes, not a hand-written list.
 *
 * What it accepts, per field type:
 *   field names   lowerCamelCase ("eventId") or the proto name ("event_id");
 *                 keys the descriptor does not know are ignored (a newer
 *                 server's fields), a known field of the wrong type is not
 *   null          the field is absent
 *   int32, uint32, sint32, fixed32, sfixed32 and their 64-bit kinds
 *                 a number or a string holding one ("5", "-3", "1e2"),
 *                 integral and in the type's range
 *   float, double a number, a numeric string, "NaN", "Infinity", "-Infinity"
 *   bool          true or false
 *   string        a string (no NUL)
 *   bytes         standard or URL-safe base64, padded or not
 *   enum          the value's name ("EVENT_TYPE_TIMER_FIRED"), its number,
 *                 or the short form Temporal's older CLI wrote: the name
 *                 without the prefix all the enum's names share, matched
 *                 ignoring case and underscores ("TimerFired")
 *   repeated      an array; a map field (repeated XxxEntry) an object
 *   message       an object; a oneof member sets its oneof's case
 *   google.protobuf.Timestamp  RFC 3339: "2026-11-28T04:32:34.094Z",
 *                 0 to 9 fractional digits, 'Z' or an offset ("+02:00")
 *   google.protobuf.Duration   "1.5s", "-3s", "0.000000001s"
 *   google.protobuf.FieldMask  "a.fooBar,baz" (paths in lowerCamelCase)
 *   google.protobuf wrappers   the bare value ("5" for an Int64Value)
 *   google.protobuf.Empty      {}
 *
 * What it refuses, beyond values of the wrong type or out of range:
 *   google.protobuf.Any (it would need a type registry, which protobuf-c
 *   lacks), Struct, Value and ListValue (not compiled into libtlwproto);
 *   null as an element of an array or a value of a map; a string holding a
 *   NUL; a key given twice, or two members of one oneof; a timestamp with
 *   a leap second or outside years 1 to 9999.
 * What it cannot see: a json_name option (protobuf-c does not keep it, so
 *   only the derived lowerCamelCase name and the proto name match); an
 *   integer beyond int64 written as a bare number, which jansson's parser
 *   refuses (protojson writes 64-bit integers as strings, which work).
 * Enum numbers are not checked against the enum's values (proto3 enums are
 * open: a newer server's value decodes as its number).
 *
 * Errors (TLW_ERR_INVALID) name the JSON path and what was expected, and
 * quote at most 40 bytes of the offending value:
 *   events[3].eventTime: not an RFC 3339 timestamp: "yesterday"
 * Messages nest at most 64 deep. Out of memory is TLW_ERR_NOMEM.
 */
#ifndef TLW_WORKER_PBJSON_H
#define TLW_WORKER_PBJSON_H

#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include <tlw/lambda_worker.h>

/* How deep messages may nest in the JSON (the top-level message is 1). */
#define TLW_PBJSON_MAX_DEPTH 64

/*
 * Decodes `json` (an object; for a well-known type, its own form) into a new
 * message of type `desc`. On success *out is owned by the caller:
 * protobuf_c_message_free_unpacked(*out, NULL) frees it and everything in
 * it. On failure *out is NULL and nothing is left allocated.
 */
tlw_status tlw_pbjson_decode(const ProtobufCMessageDescriptor *desc, const json_t *json,
                             ProtobufCMessage **out, tlw_error *err);

/*
 * The same from the text of a whole JSON document, `len` bytes (need not be
 * NUL-terminated). A key given twice in one object is an error, as it is for
 * protojson; a parse error names its line and column.
 */
tlw_status tlw_pbjson_decode_text(const ProtobufCMessageDescriptor *desc, const char *text,
                                  size_t len, ProtobufCMessage **out, tlw_error *err);

#endif
