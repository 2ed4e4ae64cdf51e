/*
 * worker/pbjson: proto3 JSON into protobuf-c messages. Temporal histories as
 * protojson and the Python SDK write them (one the SDK wrote itself is
 * tests/unit/fixtures/history_python.json) decode field by field and survive
 * a pack/unpack round trip; every accepted spelling of a value gives that
 * value; every malformed value is refused with its JSON path; allocation
 * failures are reported without a leak.
 *
 * Besides the Temporal API, the tests decode into tlw.test.Kitchen and
 * tlw.test.Optionals (tests/unit/pbjson_test.proto, pbjson_test2.proto),
 * which have the field shapes the API lacks.
 *
 * For the allocation failures this file compiles worker/pbjson.c itself,
 * with its allocator calls routed through a counter that can fail the Nth
 * one, as test_payload.c does; its definitions take the place of libtlw's.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocation failures ------------------------------------------------ */

static long allocations_until_failure = -1; /* -1: never fail */

static bool allocation_fails(void)
{
    return allocations_until_failure >= 0 && allocations_until_failure-- == 0;
}

static void *counted_malloc(size_t n)
{
    return allocation_fails() ? NULL : malloc(n);
}

static void *counted_calloc(size_t count, size_t n)
{
    return allocation_fails() ? NULL : calloc(count, n);
}

#define malloc(n) counted_malloc(n)
#define calloc(c, n) counted_calloc(c, n)
#include "worker/pbjson.c"
#undef malloc
#undef calloc

/* After pbjson.c: cmocka's fail() macro would rename nothing there, but
 * keep the two apart. */
#include <cmocka.h>

#include "pbjson_test.pb-c.h"
#include "pbjson_test2.pb-c.h"
#include "temporal/api/history/v1/message.pb-c.h"

typedef Temporal__Api__History__V1__History history_pb;
typedef Temporal__Api__History__V1__HistoryEvent event_pb;
typedef Temporal__Api__Common__V1__Payload payload_pb;
typedef Tlw__Test__Kitchen kitchen_pb;
typedef Tlw__Test__Optionals optionals_pb;

#define HISTORY (&temporal__api__history__v1__history__descriptor)
#define KITCHEN (&tlw__test__kitchen__descriptor)
#define OPTIONALS (&tlw__test__optionals__descriptor)

#define EVENT(name) TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_##name
#define ATTRIBUTES(name)                                                                           \
    TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_##name##_EVENT_ATTRIBUTES

/* 2026-11-28T04:32:34Z */
#define EVENT_TIME_SECONDS INT64_C(1795840354)

/* ---- helpers --------------------------------------------------------------- */

static void has(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

/* The tests write JSON with single quotes, which read better in C strings;
 * this puts the double quotes back. A new string: free() it. */
static char *json_text(const char *single_quoted)
{
    char *text = strdup(single_quoted);
    assert_non_null(text);
    for (char *c = text; *c; c++)
        if (*c == '\'')
            *c = '"';
    return text;
}

/* Decodes `text` (single-quoted JSON) as `desc`; fails the test on an
 * error. */
static ProtobufCMessage *decoded(const ProtobufCMessageDescriptor *desc, const char *text)
{
    char *json = json_text(text);
    tlw_error err = {0};
    ProtobufCMessage *message = NULL;
    tlw_status st = tlw_pbjson_decode_text(desc, json, strlen(json), &message, &err);
    free(json);
    if (st != TLW_OK)
        fail_msg("%s: %s", text, err.message);
    assert_non_null(message);
    assert_ptr_equal(message->descriptor, desc);
    return message;
}

/* Decoding `text` (single-quoted JSON) as `desc` fails with
 * TLW_ERR_INVALID, no message, and an error containing `needle`. */
static void refused(const ProtobufCMessageDescriptor *desc, const char *text, const char *needle)
{
    char *json = json_text(text);
    tlw_error err = {0};
    ProtobufCMessage *message = (ProtobufCMessage *)&err;
    tlw_status st = tlw_pbjson_decode_text(desc, json, strlen(json), &message, &err);
    free(json);
    if (st != TLW_ERR_INVALID)
        fail_msg("%s: status %d (%s); expected TLW_ERR_INVALID", text, st, err.message);
    assert_null(message);
    if (!strstr(err.message, needle))
        fail_msg("%s:\n  error \"%s\"\n  lacks \"%s\"", text, err.message, needle);
}

static void assert_bytes(ProtobufCBinaryData data, const char *expected, size_t len)
{
    assert_int_equal(data.len, len);
    if (len)
        assert_memory_equal(data.data, expected, len);
}

/* `p` is a json/plain payload of exactly `data`. */
static void assert_json_payload(const payload_pb *p, const char *data)
{
    assert_non_null(p);
    assert_int_equal(p->n_metadata, 1);
    assert_string_equal(p->metadata[0]->key, "encoding");
    assert_bytes(p->metadata[0]->value, "json/plain", 10);
    assert_bytes(p->data, data, strlen(data));
}

static void assert_duration(const Google__Protobuf__Duration *d, int64_t seconds, int32_t nanos)
{
    assert_non_null(d);
    assert_int_equal(d->seconds, seconds);
    assert_int_equal(d->nanos, nanos);
}

static void free_message(void *message)
{
    protobuf_c_message_free_unpacked(message, NULL);
}

/* ---- Temporal histories --------------------------------------------------- */

/* "json/plain" and "\"World\"" in base64 are anNvbi9wbGFpbg== and
 * IldvcmxkIg==. */
#define STARTED_EVENT                                                                              \
    "{'eventId': '1', 'eventTime': '2026-11-28T04:32:34.094Z',"                                    \
    " 'eventType': 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED', 'taskId': 1048587,"                    \
    " 'workflowExecutionStartedEventAttributes': {"                                                \
    "   'workflowType': {'name': 'Greet'},"                                                        \
    "   'taskQueue': {'name': 'greetings', 'kind': 'TASK_QUEUE_KIND_NORMAL'},"                     \
    "   'input': {'payloads': [{'metadata': {'encoding': 'anNvbi9wbGFpbg=='},"                     \
    "                           'data': 'IldvcmxkIg=='}]},"                                        \
    "   'workflowTaskTimeout': '10s', 'attempt': 1,"                                               \
    "   'workflow_id': 'greet-1'}}"

#define SCHEDULED_EVENT                                                                            \
    "{'eventId': '5', 'eventTime': '2026-11-28T04:32:35Z', 'eventType': 'ActivityTaskScheduled',"  \
    " 'activityTaskScheduledEventAttributes': {"                                                   \
    "   'activityId': '1', 'activityType': {'name': 'greet'},"                                     \
    "   'taskQueue': {'name': 'greetings', 'kind': 'Normal'},"                                     \
    "   'scheduleToCloseTimeout': '1.5s', 'scheduleToStartTimeout': '0s',"                         \
    "   'startToCloseTimeout': '3s', 'heartbeatTimeout': '0.000000001s',"                          \
    "   'workflowTaskCompletedEventId': 4,"                                                        \
    "   'retryPolicy': {'initialInterval': '1s', 'backoffCoefficient': 2.0,"                       \
    "                   'maximumInterval': '100.250s', 'maximumAttempts': 5,"                      \
    "                   'nonRetryableErrorTypes': ['ValueError', 'KeyError']}}}"

/* "42" and "1" in base64 are NDI= and MQ==. */
#define MARKER_EVENT                                                                               \
    "{'eventId': '7', 'eventType': 'EVENT_TYPE_MARKER_RECORDED',"                                  \
    " 'markerRecordedEventAttributes': {'markerName': 'SideEffect',"                               \
    "   'details': {"                                                                              \
    "     'data': {'payloads': [{'metadata': {'encoding': 'anNvbi9wbGFpbg=='}, 'data': 'NDI='}]}," \
    "     'side_effect_id': {'payloads': [{'metadata': {'encoding': 'anNvbi9wbGFpbg=='},"          \
    "                                      'data': 'MQ=='}]}},"                                    \
    "   'workflowTaskCompletedEventId': '6'}}"

static void check_started(const event_pb *e)
{
    assert_int_equal(e->event_id, 1);
    assert_non_null(e->event_time);
    assert_int_equal(e->event_time->seconds, EVENT_TIME_SECONDS);
    assert_int_equal(e->event_time->nanos, 94000000);
    assert_int_equal(e->event_type, EVENT(WORKFLOW_EXECUTION_STARTED));
    assert_int_equal(e->task_id, 1048587);
    assert_int_equal(e->attributes_case, ATTRIBUTES(WORKFLOW_EXECUTION_STARTED));
    const Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes *a =
        e->workflow_execution_started_event_attributes;
    assert_non_null(a);
    assert_string_equal(a->workflow_type->name, "Greet");
    assert_string_equal(a->task_queue->name, "greetings");
    assert_int_equal(a->task_queue->kind,
                     TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL);
    assert_non_null(a->input);
    assert_int_equal(a->input->n_payloads, 1);
    assert_json_payload(a->input->payloads[0], "\"World\"");
    assert_duration(a->workflow_task_timeout, 10, 0);
    assert_null(a->workflow_run_timeout);
    assert_int_equal(a->attempt, 1);
    assert_string_equal(a->workflow_id, "greet-1");
    assert_string_equal(a->identity, "");
}

static void check_scheduled(const event_pb *e)
{
    assert_int_equal(e->event_id, 5);
    assert_int_equal(e->event_time->seconds, EVENT_TIME_SECONDS + 1);
    assert_int_equal(e->event_time->nanos, 0);
    assert_int_equal(e->event_type, EVENT(ACTIVITY_TASK_SCHEDULED));
    assert_int_equal(e->attributes_case, ATTRIBUTES(ACTIVITY_TASK_SCHEDULED));
    const Temporal__Api__History__V1__ActivityTaskScheduledEventAttributes *a =
        e->activity_task_scheduled_event_attributes;
    assert_string_equal(a->activity_id, "1");
    assert_string_equal(a->activity_type->name, "greet");
    assert_int_equal(a->task_queue->kind,
                     TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL);
    assert_duration(a->schedule_to_close_timeout, 1, 500000000);
    assert_duration(a->schedule_to_start_timeout, 0, 0);
    assert_duration(a->start_to_close_timeout, 3, 0);
    assert_duration(a->heartbeat_timeout, 0, 1);
    assert_int_equal(a->workflow_task_completed_event_id, 4);
    const Temporal__Api__Common__V1__RetryPolicy *r = a->retry_policy;
    assert_non_null(r);
    assert_duration(r->initial_interval, 1, 0);
    assert_true(r->backoff_coefficient == 2.0);
    assert_duration(r->maximum_interval, 100, 250000000);
    assert_int_equal(r->maximum_attempts, 5);
    assert_int_equal(r->n_non_retryable_error_types, 2);
    assert_string_equal(r->non_retryable_error_types[0], "ValueError");
    assert_string_equal(r->non_retryable_error_types[1], "KeyError");
}

static void check_marker(const event_pb *e)
{
    assert_int_equal(e->event_id, 7);
    assert_null(e->event_time);
    assert_int_equal(e->event_type, EVENT(MARKER_RECORDED));
    assert_int_equal(e->attributes_case, ATTRIBUTES(MARKER_RECORDED));
    const Temporal__Api__History__V1__MarkerRecordedEventAttributes *a =
        e->marker_recorded_event_attributes;
    assert_string_equal(a->marker_name, "SideEffect");
    assert_int_equal(a->workflow_task_completed_event_id, 6);
    /* Map keys are data: never renamed. */
    assert_int_equal(a->n_details, 2);
    assert_string_equal(a->details[0]->key, "data");
    assert_int_equal(a->details[0]->value->n_payloads, 1);
    assert_json_payload(a->details[0]->value->payloads[0], "42");
    assert_string_equal(a->details[1]->key, "side_effect_id");
    assert_json_payload(a->details[1]->value->payloads[0], "1");
}

static void a_started_event_decodes_field_by_field(void **state)
{
    (void)state;
    history_pb *h = (history_pb *)decoded(HISTORY, "{'events': [" STARTED_EVENT "]}");
    assert_int_equal(h->n_events, 1);
    check_started(h->events[0]);
    free_message(h);
}

static void an_activity_schedule_decodes_its_durations(void **state)
{
    (void)state;
    history_pb *h = (history_pb *)decoded(HISTORY, "{'events': [" SCHEDULED_EVENT "]}");
    assert_int_equal(h->n_events, 1);
    check_scheduled(h->events[0]);
    free_message(h);
}

static void a_marker_decodes_its_details_map(void **state)
{
    (void)state;
    history_pb *h = (history_pb *)decoded(HISTORY, "{'events': [" MARKER_EVENT "]}");
    assert_int_equal(h->n_events, 1);
    check_marker(h->events[0]);
    free_message(h);
}

/* What decodes packs, unpacks to the same fields, and packs again to the
 * same bytes. */
static void a_history_survives_pack_and_unpack(void **state)
{
    (void)state;
    history_pb *h = (history_pb *)decoded(HISTORY, "{'events': [" STARTED_EVENT ", " SCHEDULED_EVENT
                                                   ", " MARKER_EVENT "]}");
    size_t size = protobuf_c_message_get_packed_size(&h->base);
    uint8_t *wire = malloc(size);
    assert_non_null(wire);
    assert_int_equal(protobuf_c_message_pack(&h->base, wire), size);

    history_pb *back = (history_pb *)protobuf_c_message_unpack(HISTORY, NULL, size, wire);
    assert_non_null(back);
    assert_int_equal(back->n_events, 3);
    check_started(back->events[0]);
    check_scheduled(back->events[1]);
    check_marker(back->events[2]);

    assert_int_equal(protobuf_c_message_get_packed_size(&back->base), size);
    uint8_t *again = malloc(size);
    assert_non_null(again);
    protobuf_c_message_pack(&back->base, again);
    assert_memory_equal(again, wire, size);

    free(again);
    free(wire);
    free_message(back);
    free_message(h);
}

/* An enum by its name, by the short form tctl wrote, or by its number. */
static void enums_read_every_spelling(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int event_type;
    } cases[] = {
        {"'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED'", EVENT(WORKFLOW_EXECUTION_STARTED)},
        {"'WorkflowExecutionStarted'", EVENT(WORKFLOW_EXECUTION_STARTED)},
        {"'workflow_execution_started'", EVENT(WORKFLOW_EXECUTION_STARTED)},
        {"'TimerFired'", EVENT(TIMER_FIRED)},
        {"'MarkerRecorded'", EVENT(MARKER_RECORDED)},
        {"'Unspecified'", EVENT(UNSPECIFIED)},
        {"1", EVENT(WORKFLOW_EXECUTION_STARTED)},
        {"18", EVENT(TIMER_FIRED)},
        {"18.0", EVENT(TIMER_FIRED)},
        {"999", 999}, /* proto3 enums are open: a newer server's value */
        {"-1", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[256];
        snprintf(text, sizeof text, "{'events': [{'eventType': %s}]}", cases[i].json);
        history_pb *h = (history_pb *)decoded(HISTORY, text);
        if ((int)h->events[0]->event_type != cases[i].event_type)
            fail_msg("%s: event type %d, expected %d", cases[i].json, h->events[0]->event_type,
                     cases[i].event_type);
        free_message(h);
    }

    kitchen_pb *k = (kitchen_pb *)decoded(
        KITCHEN,
        "{'shade': 'DarkRed', 'clash': 'CLASH_A_BC', 'shades': ['blue', 'SHADE_BLUE', 1]}");
    assert_int_equal(k->shade, TLW__TEST__SHADE__SHADE_DARK_RED);
    assert_int_equal(k->clash, TLW__TEST__CLASH__CLASH_A_BC);
    assert_int_equal(k->n_shades, 3);
    assert_int_equal(k->shades[0], TLW__TEST__SHADE__SHADE_BLUE);
    assert_int_equal(k->shades[1], TLW__TEST__SHADE__SHADE_BLUE);
    assert_int_equal(k->shades[2], TLW__TEST__SHADE__SHADE_DARK_RED);
    free_message(k);

    /* The shared prefix ends at an underscore: "TONE_", not "TONE_LO". */
    k = (kitchen_pb *)decoded(KITCHEN, "{'tone': 'Loud'}");
    assert_int_equal(k->tone, TLW__TEST__TONE__TONE_LOUD);
    free_message(k);
    k = (kitchen_pb *)decoded(KITCHEN, "{'tone': 'low'}");
    assert_int_equal(k->tone, TLW__TEST__TONE__TONE_LOW);
    free_message(k);
}

static void null_means_absent_and_unknown_keys_are_skipped(void **state)
{
    (void)state;
    history_pb *h = (history_pb *)decoded(
        HISTORY, "{'events': [{'eventId': '3', 'eventTime': null, 'eventType': null,"
                 " 'workflowExecutionStartedEventAttributes': null,"
                 " 'aFieldFromTheFuture': {'x': [1, {'y': null}], 'z': 'EVENT_TYPE_NOPE'},"
                 " 'links': null, 'timerFiredEventAttributes': {'timerId': 't',"
                 "     'startedEventId': '2', 'alsoNew': true}}],"
                 " 'nextPageToken': 'ignored'}");
    const event_pb *e = h->events[0];
    assert_int_equal(e->event_id, 3);
    assert_null(e->event_time);
    assert_int_equal(e->event_type, EVENT(UNSPECIFIED));
    assert_int_equal(e->n_links, 0);
    assert_int_equal(e->attributes_case, ATTRIBUTES(TIMER_FIRED));
    assert_string_equal(e->timer_fired_event_attributes->timer_id, "t");
    assert_int_equal(e->timer_fired_event_attributes->started_event_id, 2);
    free_message(h);

    h = (history_pb *)decoded(HISTORY, "{}");
    assert_int_equal(h->n_events, 0);
    assert_null(h->events);
    free_message(h);
    h = (history_pb *)decoded(HISTORY, "{'events': []}");
    assert_int_equal(h->n_events, 0);
    free_message(h);
}

/* ---- every field shape -------------------------------------------------------- */

static void every_field_shape_decodes(void **state)
{
    (void)state;
    kitchen_pb *k = (kitchen_pb *)decoded(
        KITCHEN, "{'i32': -1, 's32': -2, 'sf32': -3, 'i64': '-4', 's64': '-5', 'sf64': '-6',"
                 " 'u32': 7, 'f32': 8, 'u64': '18446744073709551615', 'f64': '9',"
                 " 'flt': 1.5, 'dbl': -2.25, 'flag': true, 'text': 'h\xc3\xa9llo', 'blob': '+//+',"
                 " 'shade': 'SHADE_BLUE', 'clash': 2,"
                 " 'numbers': [1, '2', -3], 'words': ['a', ''], 'blobs': ['AA==', '-__-'],"
                 " 'reals': [0.5, 'NaN', '-Infinity', 3],"
                 " 'children': [{'i32': 1}, {'text': 'two', 'children': [{'i32': 3}]}],"
                 " 'namesById': {'1': 'one', '-2': 'minus two'},"
                 " 'by_flag': {'true': {'i32': 10}, 'false': {}},"
                 " 'blobsBySize': {'18446744073709551615': 'AQ'},"
                 " 'shadeByName': {'sky': 'Blue'},"
                 " 'choiceNested': {'text': 'inside'},"
                 " 'wrappedI64': '-9223372036854775808', 'wrappedText': '', 'wrappedBlob': 'aGk',"
                 " 'wrappedFlag': false, 'wrappedDbl': 'Infinity',"
                 " 'mask': 'events.eventId,workflowExecutionStartedEventAttributes.taskQueue,a',"
                 " 'nothing': {}, 'when': '2026-11-28T04:32:34.094Z', 'howLong': '1.5s',"
                 " 'child': {'child': {'u32': 1}}}");
    assert_int_equal(k->i32, -1);
    assert_int_equal(k->s32, -2);
    assert_int_equal(k->sf32, -3);
    assert_int_equal(k->i64, -4);
    assert_int_equal(k->s64, -5);
    assert_int_equal(k->sf64, -6);
    assert_int_equal(k->u32, 7);
    assert_int_equal(k->f32, 8);
    assert_true(k->u64 == UINT64_MAX);
    assert_int_equal(k->f64, 9);
    assert_true(k->flt == 1.5f);
    assert_true(k->dbl == -2.25);
    assert_true(k->flag);
    assert_string_equal(k->text, "h\xc3\xa9llo");
    assert_bytes(k->blob, "\xfb\xff\xfe", 3);
    assert_int_equal(k->shade, TLW__TEST__SHADE__SHADE_BLUE);
    assert_int_equal(k->clash, TLW__TEST__CLASH__CLASH_A_BC);

    assert_int_equal(k->n_numbers, 3);
    assert_int_equal(k->numbers[0], 1);
    assert_int_equal(k->numbers[1], 2);
    assert_int_equal(k->numbers[2], -3);
    assert_int_equal(k->n_words, 2);
    assert_string_equal(k->words[0], "a");
    assert_string_equal(k->words[1], "");
    assert_int_equal(k->n_blobs, 2);
    assert_bytes(k->blobs[0], "\0", 1);
    assert_bytes(k->blobs[1], "\xfb\xff\xfe", 3);
    assert_int_equal(k->n_reals, 4);
    assert_true(k->reals[0] == 0.5);
    assert_true(isnan(k->reals[1]));
    assert_true(isinf(k->reals[2]) && k->reals[2] < 0);
    assert_true(k->reals[3] == 3.0);
    assert_int_equal(k->n_children, 2);
    assert_int_equal(k->children[0]->i32, 1);
    assert_string_equal(k->children[1]->text, "two");
    assert_int_equal(k->children[1]->n_children, 1);
    assert_int_equal(k->children[1]->children[0]->i32, 3);

    assert_int_equal(k->n_names_by_id, 2);
    assert_int_equal(k->names_by_id[0]->key, 1);
    assert_string_equal(k->names_by_id[0]->value, "one");
    assert_int_equal(k->names_by_id[1]->key, -2);
    assert_string_equal(k->names_by_id[1]->value, "minus two");
    assert_int_equal(k->n_by_flag, 2);
    assert_true(k->by_flag[0]->key);
    assert_int_equal(k->by_flag[0]->value->i32, 10);
    assert_false(k->by_flag[1]->key);
    assert_non_null(k->by_flag[1]->value);
    assert_int_equal(k->n_blobs_by_size, 1);
    assert_true(k->blobs_by_size[0]->key == UINT64_MAX);
    assert_bytes(k->blobs_by_size[0]->value, "\x01", 1);
    assert_int_equal(k->n_shade_by_name, 1);
    assert_string_equal(k->shade_by_name[0]->key, "sky");
    assert_int_equal(k->shade_by_name[0]->value, TLW__TEST__SHADE__SHADE_BLUE);

    assert_int_equal(k->choice_case, TLW__TEST__KITCHEN__CHOICE_CHOICE_NESTED);
    assert_string_equal(k->choice_nested->text, "inside");

    assert_true(k->wrapped_i64->value == INT64_MIN);
    assert_string_equal(k->wrapped_text->value, "");
    assert_bytes(k->wrapped_blob->value, "hi", 2);
    assert_false(k->wrapped_flag->value);
    assert_true(isinf(k->wrapped_dbl->value) && k->wrapped_dbl->value > 0);
    assert_int_equal(k->mask->n_paths, 3);
    assert_string_equal(k->mask->paths[0], "events.event_id");
    assert_string_equal(k->mask->paths[1],
                        "workflow_execution_started_event_attributes.task_queue");
    assert_string_equal(k->mask->paths[2], "a");
    assert_non_null(k->nothing);
    assert_int_equal(k->when->seconds, EVENT_TIME_SECONDS);
    assert_int_equal(k->when->nanos, 94000000);
    assert_duration(k->how_long, 1, 500000000);
    assert_int_equal(k->child->child->u32, 1);
    assert_null(k->child->child->child);
    free_message(k);
}

/* The scalar fields of a Kitchen a spelling sets; the others stay 0. */
typedef struct scalars {
    int32_t i32;
    int32_t s32;
    int64_t i64;
    int64_t sf64;
    uint32_t u32;
    uint64_t u64;
    float flt;
    double dbl;
} scalars;

static void numbers_read_every_spelling(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        scalars want;
    } cases[] = {
        {"{'i32': 5}", {.i32 = 5}},
        {"{'i32': '5'}", {.i32 = 5}},
        {"{'i32': 5.0}", {.i32 = 5}},
        {"{'i32': '1e2'}", {.i32 = 100}},
        {"{'i32': '-0'}", {.i32 = 0}},
        {"{'i32': -2147483648}", {.i32 = INT32_MIN}},
        {"{'i32': '2147483647'}", {.i32 = INT32_MAX}},
        {"{'s32': -7}", {.s32 = -7}},
        {"{'i64': '-9223372036854775808'}", {.i64 = INT64_MIN}},
        {"{'i64': 9223372036854775807}", {.i64 = INT64_MAX}},
        {"{'i64': '1.5e3'}", {.i64 = 1500}},
        {"{'sf64': '-1'}", {.sf64 = -1}},
        {"{'u32': 4294967295}", {.u32 = UINT32_MAX}},
        {"{'u64': '18446744073709551615'}", {.u64 = UINT64_MAX}},
        {"{'u64': 1e19}", {.u64 = UINT64_C(10000000000000000000)}},
        {"{'flt': 3.4028234663852886e38}", {.flt = FLT_MAX}},
        {"{'flt': '0.5'}", {.flt = 0.5f}},
        {"{'flt': '-Infinity'}", {.flt = -INFINITY}},
        {"{'dbl': 1}", {.dbl = 1.0}},
        {"{'dbl': '2.5E-3'}", {.dbl = 2.5e-3}},
        {"{'dbl': 'Infinity'}", {.dbl = INFINITY}},
        {"{'dbl': '1e-400'}", {.dbl = 0.0}},
        {"{'dbl': 'NaN'}", {.dbl = NAN}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const scalars *w = &cases[i].want;
        kitchen_pb *k = (kitchen_pb *)decoded(KITCHEN, cases[i].json);
        bool same_dbl = isnan(w->dbl) ? isnan(k->dbl) : k->dbl == w->dbl;
        if (k->i32 != w->i32 || k->s32 != w->s32 || k->i64 != w->i64 || k->sf64 != w->sf64 ||
            k->u32 != w->u32 || k->u64 != w->u64 || k->flt != w->flt || !same_dbl)
            fail_msg("%s decodes to i32 %d s32 %d i64 %lld sf64 %lld u32 %u u64 %llu flt %g dbl %g",
                     cases[i].json, k->i32, k->s32, (long long)k->i64, (long long)k->sf64, k->u32,
                     (unsigned long long)k->u64, k->flt, k->dbl);
        free_message(k);
    }
}

static void bytes_read_both_base64_alphabets(void **state)
{
    (void)state;
    static const struct {
        const char *base64;
        const char *bytes;
        size_t len;
    } cases[] = {
        {"aGk=", "hi", 2},
        {"aGk", "hi", 2},
        {"YQ==", "a", 1},
        {"YQ", "a", 1},
        {"YWJj", "abc", 3},
        {"", "", 0},
        {"+//+", "\xfb\xff\xfe", 3},
        {"-__-", "\xfb\xff\xfe", 3},
        {"AAEC", "\x00\x01\x02", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[64];
        snprintf(text, sizeof text, "{'blob': '%s'}", cases[i].base64);
        kitchen_pb *k = (kitchen_pb *)decoded(KITCHEN, text);
        if (k->blob.len != cases[i].len ||
            (cases[i].len && memcmp(k->blob.data, cases[i].bytes, cases[i].len) != 0))
            fail_msg("%s decodes to %zu bytes, expected %zu", cases[i].base64, k->blob.len,
                     cases[i].len);
        free_message(k);
    }
}

static void timestamps_and_durations_read_every_spelling(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int64_t seconds;
        int32_t nanos;
    } timestamps[] = {
        {"1970-01-01T00:00:00Z", 0, 0},
        {"2026-11-28T04:32:34.094Z", EVENT_TIME_SECONDS, 94000000},
        {"2026-11-28T04:32:34.094000Z", EVENT_TIME_SECONDS, 94000000},
        {"2026-11-28T06:32:34.5+02:00", EVENT_TIME_SECONDS, 500000000},
        {"2026-11-27T23:32:34-05:00", EVENT_TIME_SECONDS, 0},
        {"2026-11-28t04:32:34z", EVENT_TIME_SECONDS, 0},
        {"2024-02-29T00:00:00Z", 1709164800, 0},
        {"1969-12-31T23:59:59.123456789Z", -1, 123456789},
        {"0001-01-01T00:00:00Z", INT64_C(-62135596800), 0},
        {"9999-12-31T23:59:59.999999999Z", INT64_C(253402300799), 999999999},
    };
    for (size_t i = 0; i < sizeof timestamps / sizeof *timestamps; i++) {
        char text[128];
        snprintf(text, sizeof text, "{'when': '%s'}", timestamps[i].json);
        kitchen_pb *k = (kitchen_pb *)decoded(KITCHEN, text);
        if (k->when->seconds != timestamps[i].seconds || k->when->nanos != timestamps[i].nanos)
            fail_msg("%s: %lld s %d ns", timestamps[i].json, (long long)k->when->seconds,
                     k->when->nanos);
        free_message(k);
    }

    static const struct {
        const char *json;
        int64_t seconds;
        int32_t nanos;
    } durations[] = {
        {"0s", 0, 0},
        {"3s", 3, 0},
        {"1.5s", 1, 500000000},
        {"0.000000001s", 0, 1},
        {"-1.5s", -1, -500000000},
        {"-0.25s", 0, -250000000},
        {"315576000000s", INT64_C(315576000000), 0},
        {"-315576000000.999999999s", -INT64_C(315576000000), -999999999},
    };
    for (size_t i = 0; i < sizeof durations / sizeof *durations; i++) {
        char text[128];
        snprintf(text, sizeof text, "{'howLong': '%s'}", durations[i].json);
        kitchen_pb *k = (kitchen_pb *)decoded(KITCHEN, text);
        if (k->how_long->seconds != durations[i].seconds ||
            k->how_long->nanos != durations[i].nanos)
            fail_msg("%s: %lld s %d ns", durations[i].json, (long long)k->how_long->seconds,
                     k->how_long->nanos);
        free_message(k);
    }
}

/* proto2 optional fields: a has_ flag beside each scalar, defaults that
 * stay where nothing is given (and are not freed). */
static void optional_fields_set_their_flags(void **state)
{
    (void)state;
    optionals_pb *o = (optionals_pb *)decoded(OPTIONALS, "{}");
    assert_false(o->has_count);
    assert_null(o->name);
    assert_false(o->has_blob);
    assert_false(o->has_size);
    assert_int_equal(o->size, TLW__TEST__SIZE__SIZE_SMALL);
    assert_string_equal(o->greeting, "hi");
    assert_false(o->has_total);
    assert_int_equal(o->total, 7);
    free_message(o);

    o = (optionals_pb *)decoded(OPTIONALS,
                                "{'count': 0, 'name': 'n', 'blob': '', 'size': 'Large',"
                                " 'greeting': 'yo', 'total': '8', 'flag': false, 'ratio': 0.5,"
                                " 'more': [{'count': 1}, {}], 'child': {'greeting': null}}");
    assert_true(o->has_count);
    assert_int_equal(o->count, 0);
    assert_string_equal(o->name, "n");
    assert_true(o->has_blob);
    assert_int_equal(o->blob.len, 0);
    assert_true(o->has_size);
    assert_int_equal(o->size, TLW__TEST__SIZE__SIZE_LARGE);
    assert_string_equal(o->greeting, "yo");
    assert_true(o->has_total);
    assert_int_equal(o->total, 8);
    assert_true(o->has_flag);
    assert_false(o->flag);
    assert_true(o->has_ratio);
    assert_true(o->ratio == 0.5);
    assert_int_equal(o->n_more, 2);
    assert_true(o->more[0]->has_count);
    assert_int_equal(o->more[0]->count, 1);
    assert_false(o->more[1]->has_count);
    assert_string_equal(o->child->greeting, "hi");
    free_message(o);
}

/* ---- refusals ------------------------------------------------------------------ */

static void malformed_histories_are_refused_with_their_path(void **state)
{
    (void)state;
    static const struct {
        const char *json, *error;
    } cases[] = {
        /* wrong types */
        {"[]", "expected an object (temporal.api.history.v1.History), got an array"},
        {"{'events': {}}", "events: expected an array, got an object"},
        {"{'events': [[]]}",
         "events[0]: expected an object (temporal.api.history.v1.HistoryEvent), got an array"},
        {"{'events': [{}, {'eventId': {}}]}",
         "events[1].eventId: expected an int64 (a number or a numeric string), got an object"},
        {"{'events': [{'eventId': 'one'}]}", "events[0].eventId: not an int64: \"one\""},
        {"{'events': [{'workerMayIgnore': 'yes'}]}",
         "events[0].workerMayIgnore: expected a bool (true or false), got \"yes\""},
        {"{'events': [{'workflowExecutionStartedEventAttributes': {'workflowId': 7}}]}",
         "events[0].workflowExecutionStartedEventAttributes.workflowId: expected a string, got 7"},
        {"{'events': [{'activityTaskScheduledEventAttributes': {'input': {'payloads': "
         "[{'metadata': []}]}}}]}",
         "events[0].activityTaskScheduledEventAttributes.input.payloads[0].metadata: expected an "
         "object (a map), got an array"},
        {"{'events': [null]}", "events[0]: null cannot be an element of a repeated field"},
        /* base64 */
        {"{'events': [{'activityTaskScheduledEventAttributes': {'input': {'payloads': "
         "[{'data': 'not base64!'}]}}}]}",
         "events[0].activityTaskScheduledEventAttributes.input.payloads[0].data: not base64 "
         "(standard or URL-safe): character 4 is not a base64 digit: \"not base64!\""},
        {"{'events': [{'markerRecordedEventAttributes': {'details': {'data': {'payloads': "
         "[{'metadata': {'encoding': 'a'}}]}}}}]}",
         "events[0].markerRecordedEventAttributes.details[\"data\"].payloads[0].metadata["
         "\"encoding\"]: not base64: 1 characters cannot be a whole number of bytes: \"a\""},
        /* timestamps */
        {"{'events': [{'eventTime': '2026-11-28'}]}",
         "events[0].eventTime: not an RFC 3339 timestamp: \"2026-11-28\""},
        {"{'events': [{'eventTime': 1795840354}]}",
         "events[0].eventTime: expected an RFC 3339 timestamp (a string), got 1795840354"},
        /* durations */
        {"{'events': [{'activityTaskScheduledEventAttributes': {'startToCloseTimeout': '10'}}]}",
         "events[0].activityTaskScheduledEventAttributes.startToCloseTimeout: not a duration: "
         "\"10\""},
        /* enums */
        {"{'events': [{'eventType': 'EVENT_TYPE_NOPE'}]}",
         "events[0].eventType: \"EVENT_TYPE_NOPE\" is not a value of "
         "temporal.api.enums.v1.EventType"},
        {"{'events': [{'eventType': 'TimerFiredd'}]}",
         "\"TimerFiredd\" is not a value of temporal.api.enums.v1.EventType"},
        {"{'events': [{'eventType': true}]}",
         "events[0].eventType: expected a temporal.api.enums.v1.EventType value (its name or "
         "number), got true"},
        {"{'events': [{'eventType': 2147483648}]}",
         "events[0].eventType: out of range for enum: 2147483648"},
        {"{'events': [{'eventType': 1.5}]}", "events[0].eventType: not an integer: 1.5"},
        {"5", "expected an object (temporal.api.history.v1.History), got 5"},
        {"'events'", "expected an object (temporal.api.history.v1.History), got \"events\""},
        /* a field twice, a oneof twice */
        {"{'events': [{'eventId': '1', 'event_id': '2'}]}",
         "events[0].event_id: field event_id is given twice"},
        {"{'events': [{'timerFiredEventAttributes': {}, 'timerStartedEventAttributes': {}}]}",
         "events[0].timerStartedEventAttributes: timer_fired_event_attributes and "
         "timer_started_event_attributes are members of one oneof"},
        /* text that is not one JSON document */
        {"{", "invalid JSON at line 1"},
        {"{'events': []} {}", "invalid JSON at line 1"},
        {"{'events': [], 'events': []}", "duplicate object key"},
        {"{'events': [{'workflowExecutionStartedEventAttributes': {'identity': 'a\\u0000b'}}]}",
         "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        refused(HISTORY, cases[i].json, cases[i].error);
}

static void malformed_values_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *json, *error;
    } cases[] = {
        /* integers out of range or not integers */
        {"{'i32': 3000000000}", "i32: out of range for int32: 3000000000"},
        {"{'i32': '-2147483649'}", "i32: out of range for int32: \"-2147483649\""},
        {"{'i32': 1e10}", "i32: out of range for int32: 1e+10"},
        {"{'u32': -1}", "u32: out of range for uint32: -1"},
        {"{'u32': 4294967296}", "u32: out of range for uint32"},
        {"{'u32': {}}", "u32: expected a uint32 (a number or a numeric string), got an object"},
        {"{'u64': 'x'}", "u64: not a uint64: \"x\""},
        {"{'u64': '18446744073709551616'}", "u64: out of range for uint64"},
        {"{'u64': '-1'}", "u64: out of range for uint64: \"-1\""},
        {"{'i64': '9223372036854775808'}", "i64: out of range for int64"},
        {"{'i64': 1e19}", "i64: out of range for int64"},
        {"{'i64': '1e30'}", "i64: out of range for int64"},
        {"{'i32': 1.5}", "i32: not an integer: 1.5"},
        {"{'i32': '1.5'}", "i32: not an integer: \"1.5\""},
        {"{'i32': ' 5'}", "i32: not an int32: \" 5\""},
        {"{'i32': '05'}", "i32: not an int32: \"05\""},
        {"{'i32': '0x10'}", "i32: not an int32"},
        {"{'i32': true}", "i32: expected an int32 (a number or a numeric string), got true"},
        {"{'sf32': [1]}", "sf32: expected an sfixed32"},
        /* reals */
        {"{'flt': 1e39}", "flt: out of range for float: 1e+39"},
        {"{'i32': 0.1}", "i32: not an integer: 0.1"},
        {"{'flt': '-1e39'}", "flt: out of range for float"},
        {"{'dbl': '1e400'}", "dbl: out of range for double: \"1e400\""},
        {"{'dbl': 'nan'}", "dbl: not a double (a number, \"NaN\", \"Infinity\" or \"-Infinity\")"},
        {"{'dbl': {}}", "dbl: expected a double (a number or a string), got an object"},
        /* other scalars */
        {"{'flag': 'true'}", "flag: expected a bool (true or false), got \"true\""},
        {"{'flag': 1}", "flag: expected a bool"},
        {"{'text': 5}", "text: expected a string, got 5"},
        {"{'text': ['a']}", "text: expected a string, got an array"},
        {"{'blob': 5}", "blob: expected base64 bytes (a string), got 5"},
        {"{'blob': 'a!b='}",
         "blob: not base64 (standard or URL-safe): character 2 is not a base64 digit"},
        {"{'blob': 'abcde'}", "blob: not base64: 5 characters cannot be a whole number of bytes"},
        {"{'blob': 'YQ='}", "cannot be a whole number of bytes with that padding: \"YQ=\""},
        {"{'blob': 'Y==='}", "not base64"},
        {"{'blob': 'YQ==YQ=='}", "character 3 is not a base64 digit"},
        {"{'blob': 'aGk= '}", "not base64"},
        {"{'clash': 'abc'}",
         "clash: \"abc\" is ambiguous in tlw.test.Clash: it could be CLASH_AB_C or CLASH_A_BC"},
        {"{'shade': ''}", "shade: \"\" is not a value of tlw.test.Shade"},
        {"{'shade': '1'}", "shade: \"1\" is not a value of tlw.test.Shade"},
        /* repeated fields and maps */
        {"{'numbers': [1, null]}", "numbers[1]: null cannot be an element of a repeated field"},
        {"{'numbers': 1}", "numbers: expected an array, got 1"},
        {"{'words': [[]]}", "words[0]: expected a string, got an array"},
        {"{'children': [{}, {'children': [{'i32': 'x'}]}]}",
         "children[1].children[0].i32: not an int32: \"x\""},
        {"{'namesById': {'x': 'a'}}", "namesById[\"x\"]: not an int32: \"x\""},
        {"{'namesById': {'1': null}}", "namesById[\"1\"]: a map value cannot be null"},
        {"{'namesById': {'1': 2}}", "namesById[\"1\"]: expected a string, got 2"},
        {"{'namesById': [{'key': 1, 'value': 'a'}]}",
         "namesById: expected an object (a map), got an array"},
        {"{'byFlag': {'yes': {}}}",
         "byFlag[\"yes\"]: a bool map key must be \"true\" or \"false\", not \"yes\""},
        {"{'byFlag': {'true': {'child': {'flag': 0}}}}",
         "byFlag[\"true\"].child.flag: expected a bool"},
        {"{'blobsBySize': {'-1': ''}}", "blobsBySize[\"-1\"]: out of range for uint64"},
        {"{'shadeByName': {'a': 'Red'}}",
         "shadeByName[\"a\"]: \"Red\" is not a value of tlw.test.Shade"},
        /* oneofs and names */
        {"{'choiceText': 'a', 'choiceNumber': 5}",
         "choiceNumber: choice_text and choice_number are members of one oneof: set one of them"},
        {"{'choiceText': 'a', 'choice_text': 'b'}", "field choice_text is given twice"},
        {"{'child': []}", "child: expected an object (tlw.test.Kitchen), got an array"},
        {"{'child': 'x'}", "child: expected an object (tlw.test.Kitchen), got \"x\""},
        /* well-known types */
        {"{'anything': {'@type': 'type.googleapis.com/tlw.test.Kitchen'}}",
         "anything: google.protobuf.Any is not supported"},
        {"{'wrappedI64': {'value': 5}}",
         "wrappedI64: expected an int64 (a number or a numeric string), got an object"},
        {"{'wrappedText': 5}", "wrappedText: expected a string, got 5"},
        {"{'mask': 'a,,b'}", "mask: not a field mask: path 2 is empty: \"a,,b\""},
        {"{'mask': ['a']}", "mask: expected a field mask"},
        {"{'nothing': []}", "nothing: expected an object (google.protobuf.Empty), got an array"},
        {"{'howLong': 5}", "howLong: expected a duration (a string), got 5"},
        {"{'howLong': '1.5'}", "howLong: not a duration: \"1.5\" (expected a number of seconds"},
        {"{'howLong': 's'}", "not a duration: \"s\" (expected seconds"},
        {"{'howLong': '+1s'}", "not a duration: \"+1s\""},
        {"{'howLong': '1.5m'}", "not a duration: \"1.5m\""},
        {"{'howLong': '1.s'}", "(no digit after the '.')"},
        {"{'howLong': '1.0000000001s'}", "(more than 9 fractional digits)"},
        {"{'howLong': '315576000001s'}", "(out of range"},
        {"{'howLong': '1s '}", "not a duration"},
        {"{'when': '2026-13-01T00:00:00Z'}", "when: not an RFC 3339 timestamp: "
                                             "\"2026-13-01T00:00:00Z\" (no such date)"},
        {"{'when': '2023-02-29T00:00:00Z'}", "(no such date)"},
        {"{'when': '2026-04-31T00:00:00Z'}", "(no such date)"},
        {"{'when': '0000-12-31T23:59:59Z'}", "(no such date)"},
        {"{'when': '2026-11-28T24:00:00Z'}", "(no such time of day)"},
        {"{'when': '2026-11-28T04:32:60Z'}", "(no such time of day)"},
        {"{'when': '2026-11-28 04:32:34Z'}", "(expected YYYY-MM-DDTHH:MM:SS"},
        {"{'when': '2026-11-28T04:32:34'}", "(expected 'Z' or an offset"},
        {"{'when': '2026-11-28T04:32:34.Z'}", "(no digit after the '.')"},
        {"{'when': '2026-11-28T04:32:34.1234567891Z'}", "(more than 9 fractional digits)"},
        {"{'when': '2026-11-28T04:32:34+2:00'}", "(expected an offset +HH:MM or -HH:MM)"},
        {"{'when': '2026-11-28T04:32:34+24:00'}", "(the offset is out of range)"},
        {"{'when': '2026-11-28T04:32:34Z '}", "(unexpected text after the offset)"},
        {"{'when': '0001-01-01T00:00:00+01:00'}", "(outside 0001-01-01T00:00:00Z"},
        {"{'when': '9999-12-31T23:59:59-01:00'}", "(outside 0001-01-01T00:00:00Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        refused(KITCHEN, cases[i].json, cases[i].error);
}

/* An error quotes at most 40 bytes of a value, with whole UTF-8 characters,
 * and never the rest. */
static void errors_quote_at_most_40_bytes(void **state)
{
    (void)state;
    char value[120], text[200];
    for (int i = 0; i < 100; i++)
        value[i] = (char)('a' + i % 26);
    value[100] = '\0';
    snprintf(text, sizeof text, "{'i32': '%s'}", value);
    char shown[160];
    snprintf(shown, sizeof shown, "i32: not an int32: \"%.40s\"...", value);
    refused(KITCHEN, text, shown);
    char *json = json_text(text);
    tlw_error err;
    ProtobufCMessage *m;
    assert_int_equal(tlw_pbjson_decode_text(KITCHEN, json, strlen(json), &m, &err),
                     TLW_ERR_INVALID);
    free(json);
    char longer[48];
    snprintf(longer, sizeof longer, "%.41s", value);
    assert_null(strstr(err.message, longer));

    /* A map key too, and a 2-byte character that would straddle byte 40. */
    memset(value, 'k', 39);
    strcpy(value + 39, "\xc3\xa9tail");
    snprintf(text, sizeof text, "{'namesById': {'%s': 'v'}}", value);
    snprintf(shown, sizeof shown, "namesById[\"%.39s\"...]: not an int32: \"%.39s\"...", value,
             value);
    refused(KITCHEN, text, shown);

    /* Control characters are escaped. */
    refused(KITCHEN, "{'i32': 'a\\tb'}", "not an int32: \"a\\x09b\"");
}

/* Messages nest at most TLW_PBJSON_MAX_DEPTH deep; the error shows the end
 * of its path. */
static void deep_nesting_is_refused(void **state)
{
    (void)state;
    size_t size = 16 * 200;
    char *text = malloc(size);
    assert_non_null(text);
    for (int levels = TLW_PBJSON_MAX_DEPTH - 1; levels <= TLW_PBJSON_MAX_DEPTH; levels++) {
        /* `levels` children below the top-level message */
        size_t used = 0;
        for (int i = 0; i < levels; i++)
            used += (size_t)snprintf(text + used, size - used, "{'child': ");
        used += (size_t)snprintf(text + used, size - used, "{'i32': 1}");
        for (int i = 0; i < levels; i++)
            text[used++] = '}';
        text[used] = '\0';
        if (levels + 1 <= TLW_PBJSON_MAX_DEPTH) {
            free_message(decoded(KITCHEN, text));
            continue;
        }
        char *json = json_text(text);
        tlw_error err;
        ProtobufCMessage *m;
        assert_int_equal(tlw_pbjson_decode_text(KITCHEN, json, strlen(json), &m, &err),
                         TLW_ERR_INVALID);
        free(json);
        assert_null(m);
        has(err.message, ".child.child: messages nest deeper than 64 levels");
        assert_memory_equal(err.message, "....child.child", 15);
    }

    /* A Temporal failure's chain of causes, 70 deep. */
    size_t used = (size_t)snprintf(
        text, size, "{'events': [{'workflowExecutionFailedEventAttributes': {'failure': ");
    for (int i = 0; i < 70; i++)
        used += (size_t)snprintf(text + used, size - used, "{'message': 'm', 'cause': ");
    used += (size_t)snprintf(text + used, size - used, "{}");
    for (int i = 0; i < 70; i++)
        text[used++] = '}';
    used += (size_t)snprintf(text + used, size - used, "}}]}");
    refused(HISTORY, text, ".cause.cause: messages nest deeper than 64 levels");

    /* Past jansson's own limit, even in a key the decoder would skip. */
    used = (size_t)snprintf(text, size, "{'unknown': ");
    for (int i = 0; i < 3000 && used + 2 < size; i++)
        text[used++] = '[';
    text[used] = '\0';
    refused(HISTORY, text, "invalid JSON");
    free(text);
}

/* Values built in code rather than parsed: a NUL inside a string, which
 * the parser refuses but json_stringn() makes. */
static void values_built_in_code_are_checked_too(void **state)
{
    (void)state;
    json_t *object = json_object();
    json_object_set_new(object, "text", json_stringn("a\0b", 3));
    tlw_error err;
    ProtobufCMessage *m = (ProtobufCMessage *)&err;
    assert_int_equal(tlw_pbjson_decode(KITCHEN, object, &m, &err), TLW_ERR_INVALID);
    assert_null(m);
    has(err.message, "text: the string contains a NUL character");
#if JANSSON_VERSION_HEX >= 0x020e00
    /* A key with a NUL in it names no field, even one its start spells. */
    json_object_clear(object);
    json_object_setn_new(object, "i32\0x", 5, json_integer(5));
    assert_int_equal(tlw_pbjson_decode(KITCHEN, object, &m, &err), TLW_OK);
    assert_int_equal(((kitchen_pb *)m)->i32, 0);
    free_message(m);
    json_object_set_new(object, "text", json_stringn("a\0b", 3));
#endif
    /* A NULL error is allowed. */
    assert_int_equal(tlw_pbjson_decode(KITCHEN, object, &m, NULL), TLW_ERR_INVALID);
    json_decref(object);

    /* A top-level value of a well-known type is its own JSON. */
    json_t *number = json_string("-5");
    assert_int_equal(
        tlw_pbjson_decode(&google__protobuf__int64_value__descriptor, number, &m, &err), TLW_OK);
    assert_int_equal(((Google__Protobuf__Int64Value *)m)->value, -5);
    free_message(m);
    json_decref(number);
    const char *when = "\"2026-11-28T04:32:34Z\"";
    assert_int_equal(tlw_pbjson_decode_text(&google__protobuf__timestamp__descriptor, when,
                                            strlen(when), &m, &err),
                     TLW_OK);
    assert_int_equal(((Google__Protobuf__Timestamp *)m)->seconds, EVENT_TIME_SECONDS);
    free_message(m);

    assert_int_equal(tlw_pbjson_decode(NULL, json_null(), &m, &err), TLW_ERR_INVALID);
    assert_int_equal(tlw_pbjson_decode(HISTORY, NULL, &m, &err), TLW_ERR_INVALID);
}

/* ---- a history the Python SDK wrote ------------------------------------------ */

static char *read_fixture(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", TLW_PBJSON_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *text = NULL;
    size_t used = 0, cap = 0, n;
    do {
        if (used + 4096 > cap) {
            cap = cap ? cap * 2 : 16384;
            text = realloc(text, cap);
            assert_non_null(text);
        }
        n = fread(text + used, 1, cap - used, f);
        used += n;
    } while (n > 0);
    fclose(f);
    *len = used;
    return text;
}

/*
 * tests/unit/fixtures/history_python.json: a workflow that calls one
 * activity, sleeps one second (a timer) and returns the activity's result,
 * run on a dev server with the Python SDK 1.35 and dumped with
 * WorkflowHistory.to_json().
 */
static void a_python_sdk_history_decodes(void **state)
{
    (void)state;
    size_t len;
    char *text = read_fixture("history_python.json", &len);
    tlw_error err;
    ProtobufCMessage *m;
    if (tlw_pbjson_decode_text(HISTORY, text, len, &m, &err) != TLW_OK)
        fail_msg("history_python.json: %s", err.message);
    free(text);
    history_pb *h = (history_pb *)m;

    static const int types[] = {
        EVENT(WORKFLOW_EXECUTION_STARTED),
        EVENT(WORKFLOW_TASK_SCHEDULED),
        EVENT(WORKFLOW_TASK_STARTED),
        EVENT(WORKFLOW_TASK_COMPLETED),
        EVENT(ACTIVITY_TASK_SCHEDULED),
        EVENT(ACTIVITY_TASK_STARTED),
        EVENT(ACTIVITY_TASK_COMPLETED),
        EVENT(WORKFLOW_TASK_SCHEDULED),
        EVENT(WORKFLOW_TASK_STARTED),
        EVENT(WORKFLOW_TASK_COMPLETED),
        EVENT(TIMER_STARTED),
        EVENT(TIMER_FIRED),
        EVENT(WORKFLOW_TASK_SCHEDULED),
        EVENT(WORKFLOW_TASK_STARTED),
        EVENT(WORKFLOW_TASK_COMPLETED),
        EVENT(WORKFLOW_EXECUTION_COMPLETED),
    };
    assert_int_equal(h->n_events, sizeof types / sizeof *types);
    for (size_t i = 0; i < h->n_events; i++) {
        const event_pb *e = h->events[i];
        assert_int_equal(e->event_id, (int64_t)i + 1);
        assert_int_equal(e->event_type, types[i]);
        assert_int_not_equal(e->attributes_case, 0);
        assert_non_null(e->event_time);
        assert_true(e->event_time->seconds > EVENT_TIME_SECONDS - 86400 * 365);
        if (i > 0)
            assert_true(e->event_time->seconds > h->events[i - 1]->event_time->seconds ||
                        (e->event_time->seconds == h->events[i - 1]->event_time->seconds &&
                         e->event_time->nanos >= h->events[i - 1]->event_time->nanos));
    }

    const Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes *started =
        h->events[0]->workflow_execution_started_event_attributes;
    assert_string_equal(started->workflow_type->name, "GreetingWorkflow");
    assert_string_equal(started->task_queue->name, "pbjson-fixture");
    assert_int_equal(started->task_queue->kind,
                     TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL);
    assert_int_equal(started->input->n_payloads, 1);
    assert_json_payload(started->input->payloads[0], "\"pbjson\"");
    assert_duration(started->workflow_task_timeout, 10, 0);
    assert_string_equal(started->workflow_id, "pbjson-fixture");

    const Temporal__Api__History__V1__ActivityTaskScheduledEventAttributes *scheduled =
        h->events[4]->activity_task_scheduled_event_attributes;
    assert_string_equal(scheduled->activity_type->name, "greet");
    assert_duration(scheduled->start_to_close_timeout, 10, 0);
    assert_int_equal(scheduled->workflow_task_completed_event_id, 4);
    assert_true(scheduled->retry_policy->backoff_coefficient == 2.0);

    assert_json_payload(h->events[6]->activity_task_completed_event_attributes->result->payloads[0],
                        "\"Hello, pbjson!\"");
    assert_duration(h->events[10]->timer_started_event_attributes->start_to_fire_timeout, 1, 0);
    assert_int_equal(h->events[11]->timer_fired_event_attributes->started_event_id, 11);
    assert_json_payload(
        h->events[15]->workflow_execution_completed_event_attributes->result->payloads[0],
        "\"Hello, pbjson!\"");
    assert_int_equal(
        h->events[3]->workflow_task_completed_event_attributes->sdk_metadata->n_core_used_flags, 4);
    free_message(h);
}

/* ---- allocation failures ------------------------------------------------------ */

/* Decodes `text` with each allocation in turn failing: each failure is
 * TLW_ERR_NOMEM with no message out (and, under ASan, no leak). */
static void survives_every_allocation_failure(const ProtobufCMessageDescriptor *desc,
                                              const char *text)
{
    char *plain = json_text(text);
    json_error_t jerr;
    json_t *json = json_loads(plain, 0, &jerr);
    free(plain);
    assert_non_null(json);
    long failures = 0;
    for (long n = 0;; n++) {
        allocations_until_failure = n;
        tlw_error err;
        ProtobufCMessage *m = (ProtobufCMessage *)&err;
        tlw_status st = tlw_pbjson_decode(desc, json, &m, &err);
        allocations_until_failure = -1;
        if (st == TLW_OK) {
            free_message(m);
            break;
        }
        assert_int_equal(st, TLW_ERR_NOMEM);
        assert_null(m);
        has(err.message, "out of memory");
        failures++;
    }
    assert_true(failures > 10);
    json_decref(json);
}

static void out_of_memory_is_reported_without_leaks(void **state)
{
    (void)state;
    survives_every_allocation_failure(HISTORY, "{'events': [" STARTED_EVENT ", " SCHEDULED_EVENT
                                               ", " MARKER_EVENT "]}");
    survives_every_allocation_failure(
        KITCHEN, "{'text': 'x', 'numbers': [1, 2], 'words': ['a', 'b'], 'blobs': ['AA=='],"
                 " 'children': [{'text': 'c'}], 'namesById': {'1': 'one', '2': 'two'},"
                 " 'choiceNested': {'text': 'n'}, 'wrappedText': 'w', 'mask': 'a,bC',"
                 " 'when': '2026-11-28T04:32:34Z', 'i64': '1.5e3'}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_started_event_decodes_field_by_field),
        cmocka_unit_test(an_activity_schedule_decodes_its_durations),
        cmocka_unit_test(a_marker_decodes_its_details_map),
        cmocka_unit_test(a_history_survives_pack_and_unpack),
        cmocka_unit_test(enums_read_every_spelling),
        cmocka_unit_test(null_means_absent_and_unknown_keys_are_skipped),
        cmocka_unit_test(every_field_shape_decodes),
        cmocka_unit_test(numbers_read_every_spelling),
        cmocka_unit_test(bytes_read_both_base64_alphabets),
        cmocka_unit_test(timestamps_and_durations_read_every_spelling),
        cmocka_unit_test(optional_fields_set_their_flags),
        cmocka_unit_test(malformed_histories_are_refused_with_their_path),
        cmocka_unit_test(malformed_values_are_refused),
        cmocka_unit_test(errors_quote_at_most_40_bytes),
        cmocka_unit_test(deep_nesting_is_refused),
        cmocka_unit_test(values_built_in_code_are_checked_too),
        cmocka_unit_test(a_python_sdk_history_decodes),
        cmocka_unit_test(out_of_memory_is_reported_without_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
