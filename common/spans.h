/*
 * common/spans: finished trace spans, how a process hands one to another,
 * and the trace context they carry (W3C traceparent, X-Ray trace ids).
 *
 * A slot records a span when a task it ran ends (RunActivity:<type>,
 * RunWorkflow:<type>) and sends it to the supervisor (ipc SPAN); the
 * supervisor adds the invocation's own span and keeps them until an export
 * has taken them (a bounded list: the oldest go first when it is full). No
 * gRPC and no protobuf here; worker/otel_export.c turns them into OTLP.
 */
#ifndef TLW_COMMON_SPANS_H
#define TLW_COMMON_SPANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tlw/lambda_worker.h>

#define TLW_SPAN_NAME_MAX 256 /* terminating NUL included */
#define TLW_SPAN_ATTRS_MAX 4
#define TLW_SPAN_KEY_MAX 32
#define TLW_SPAN_VALUE_MAX 256
/* Spans the supervisor keeps for export; past that the oldest are dropped. */
#define TLW_SPANS_MAX 2048

/* OTLP's SpanKind and Status.code values. */
enum { TLW_SPAN_KIND_INTERNAL = 1, TLW_SPAN_KIND_SERVER = 2, TLW_SPAN_KIND_CONSUMER = 5 };
enum { TLW_SPAN_STATUS_UNSET = 0, TLW_SPAN_STATUS_OK = 1, TLW_SPAN_STATUS_ERROR = 2 };

typedef struct tlw_span {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8]; /* all zero: a root span */
    bool has_link;             /* a link to another trace (the invocation's X-Ray one) */
    uint8_t link_trace_id[16];
    uint8_t link_span_id[8];
    uint8_t kind;              /* TLW_SPAN_KIND_* */
    uint8_t status;            /* TLW_SPAN_STATUS_* */
    uint64_t start_ns, end_ns; /* epoch ns */
    char name[TLW_SPAN_NAME_MAX];
    size_t attr_count;
    char attr_keys[TLW_SPAN_ATTRS_MAX][TLW_SPAN_KEY_MAX];
    char attr_values[TLW_SPAN_ATTRS_MAX][TLW_SPAN_VALUE_MAX];
} tlw_span;

/* Adds an attribute (cut to fit, at a character boundary); ignored past
 * TLW_SPAN_ATTRS_MAX. */
void tlw_span_attr(tlw_span *s, const char *key, const char *value);

/*
 * The compact form of one span (host byte order):
 *   16 trace id | 8 span id | 8 parent span id | uint8 has_link |
 *   16 link trace id | 8 link span id | uint8 kind | uint8 status |
 *   uint64 start_ns | uint64 end_ns | uint16 name length | name |
 *   uint8 attribute count | per attribute: uint8 key length | key |
 *   uint16 value length | value
 * Strict: a trace id and a span id are not all zero; has_link is 0 or 1
 * (and its ids are zero when 0); kind 1..5; status 0..2; end >= start; the
 * name is 1 to TLW_SPAN_NAME_MAX - 1 bytes and keys 1 to TLW_SPAN_KEY_MAX -
 * 1 of [A-Za-z0-9_.], values UTF-8 without NUL; nothing after the last
 * attribute. At most TLW_SPAN_ENCODED_MAX bytes.
 */
#define TLW_SPAN_ENCODED_MAX                                                                       \
    (16 + 8 + 8 + 1 + 16 + 8 + 1 + 1 + 16 + 2 + TLW_SPAN_NAME_MAX + 1 +                            \
     TLW_SPAN_ATTRS_MAX * (1 + TLW_SPAN_KEY_MAX + 2 + TLW_SPAN_VALUE_MAX))
size_t tlw_span_encode(const tlw_span *s, uint8_t *buf); /* buf: TLW_SPAN_ENCODED_MAX bytes */
/* TLW_ERR_PROTOCOL with what is wrong; `s` may be NULL to only check. */
tlw_status tlw_span_decode(const void *buf, size_t len, tlw_span *s, tlw_error *err);

/* The spans a supervisor keeps for export. */
typedef struct tlw_spans {
    tlw_span *items;
    size_t count, cap;
    uint64_t dropped;
} tlw_spans;

void tlw_spans_add(tlw_spans *list, const tlw_span *s);
void tlw_spans_clear(tlw_spans *list);
void tlw_spans_free(tlw_spans *list);

/* The exit status of an OTLP exporter process says which part failed (0:
 * the collector took everything); the supervisor keeps the spans unless
 * they went. */
#define TLW_OTEL_METRICS_FAILED 1
#define TLW_OTEL_SPANS_FAILED 2

/* ---- trace context ----------------------------------------------------- */

/* A new X-Ray-compatible trace id: the first 4 bytes are the epoch seconds
 * `now_ms` falls in (X-Ray refuses a trace id whose time is not recent),
 * the other 12 random. */
void tlw_trace_new_trace_id(uint8_t id[16], int64_t now_ms);
void tlw_trace_new_span_id(uint8_t id[8]);

/* Ids that every replay of a workflow run agrees on, from `seed` (its run
 * id): a span id, and an X-Ray-compatible trace id for `start_ms`. */
void tlw_trace_span_id_from(const char *seed, uint8_t id[8]);
void tlw_trace_trace_id_from(const char *seed, int64_t start_ms, uint8_t id[16]);

/* Writes "00-<trace id>-<span id>-01" (56 bytes with the NUL). */
void tlw_trace_format_traceparent(const uint8_t trace_id[16], const uint8_t span_id[8],
                                  char out[56]);

/* Parses a W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>"); false if it
 * is not one (or its ids are all zero). */
bool tlw_trace_parse_traceparent(const char *text, uint8_t trace_id[16], uint8_t span_id[8]);

/* Parses an X-Ray trace header ("Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;
 * Sampled=1", in any order, other keys ignored); false without a valid
 * Root. span_id is zero when there is no Parent. */
bool tlw_trace_parse_xray(const char *text, uint8_t trace_id[16], uint8_t span_id[8]);

#endif
