/*
 * The replay engine on histories built here, event by event: the commands a
 * first task produces, a replayed task matched against history, and each
 * way a task fails (nondeterminism, an unknown type, an event it does not
 * handle).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/worker_config.h"
#include "common/file.h"
#include "worker/engine.h"
#include "worker/payload.h"
#include "worker/pbjson.h"

typedef Temporal__Api__History__V1__HistoryEvent event;

/* ---- histories -------------------------------------------------------------- */

static event *events[32];
static size_t n_events;

static event *add(Temporal__Api__Enums__V1__EventType type)
{
    event *e = calloc(1, sizeof *e);
    *e = (event)TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__INIT;
    e->event_id = (int64_t)n_events + 1;
    e->event_type = type;
    e->event_time = calloc(1, sizeof *e->event_time);
    *e->event_time = (Google__Protobuf__Timestamp)GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    e->event_time->seconds = 1800000000 + (int64_t)n_events;
    events[n_events++] = e;
    return e;
}

static void started(const char *type, const char *arg)
{
    event *e = add(TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
    Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes *a = calloc(1, sizeof *a);
    *a = (Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes)
        TEMPORAL__API__HISTORY__V1__WORKFLOW_EXECUTION_STARTED_EVENT_ATTRIBUTES__INIT;
    a->workflow_type = calloc(1, sizeof *a->workflow_type);
    *a->workflow_type = (Temporal__Api__Common__V1__WorkflowType)TEMPORAL__API__COMMON__V1__WORKFLOW_TYPE__INIT;
    a->workflow_type->name = strdup(type);
    a->task_queue = calloc(1, sizeof *a->task_queue);
    *a->task_queue = (Temporal__Api__Taskqueue__V1__TaskQueue)TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    a->task_queue->name = strdup("q");
    json_t *args = json_pack("[s]", arg);
    tlw_error err;
    assert_int_equal(tlw_payloads_from_json(args, true, &a->input, &err), TLW_OK);
    json_decref(args);
    e->attributes_case =
        TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_STARTED_EVENT_ATTRIBUTES;
    e->workflow_execution_started_event_attributes = a;
}

/* A workflow task: scheduled, started, and (if `completed`) completed. */
static void task(bool completed)
{
    event *e = add(TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
    e->attributes_case =
        TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_TASK_SCHEDULED_EVENT_ATTRIBUTES;
    e->workflow_task_scheduled_event_attributes = calloc(1, sizeof *e->workflow_task_scheduled_event_attributes);
    *e->workflow_task_scheduled_event_attributes = (Temporal__Api__History__V1__WorkflowTaskScheduledEventAttributes)
        TEMPORAL__API__HISTORY__V1__WORKFLOW_TASK_SCHEDULED_EVENT_ATTRIBUTES__INIT;
    e = add(TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_WORKFLOW_TASK_STARTED);
    e->attributes_case =
        TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_TASK_STARTED_EVENT_ATTRIBUTES;
    e->workflow_task_started_event_attributes = calloc(1, sizeof *e->workflow_task_started_event_attributes);
    *e->workflow_task_started_event_attributes = (Temporal__Api__History__V1__WorkflowTaskStartedEventAttributes)
        TEMPORAL__API__HISTORY__V1__WORKFLOW_TASK_STARTED_EVENT_ATTRIBUTES__INIT;
    if (!completed)
        return;
    e = add(TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
    e->attributes_case =
        TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_TASK_COMPLETED_EVENT_ATTRIBUTES;
    e->workflow_task_completed_event_attributes = calloc(1, sizeof *e->workflow_task_completed_event_attributes);
    *e->workflow_task_completed_event_attributes = (Temporal__Api__History__V1__WorkflowTaskCompletedEventAttributes)
        TEMPORAL__API__HISTORY__V1__WORKFLOW_TASK_COMPLETED_EVENT_ATTRIBUTES__INIT;
}

static int64_t activity_scheduled(const char *id, const char *type)
{
    event *e = add(TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    Temporal__Api__History__V1__ActivityTaskScheduledEventAttributes *a = calloc(1, sizeof *a);
    *a = (Temporal__Api__History__V1__ActivityTaskScheduledEventAttributes)
        TEMPORAL__API__HISTORY__V1__ACTIVITY_TASK_SCHEDULED_EVENT_ATTRIBUTES__INIT;
    a->activity_id = strdup(id);
    a->activity_type = calloc(1, sizeof *a->activity_type);
    *a->activity_type = (Temporal__Api__Common__V1__ActivityType)TEMPORAL__API__COMMON__V1__ACTIVITY_TYPE__INIT;
    a->activity_type->name = strdup(type);
    e->attributes_case =
        TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_ACTIVITY_TASK_SCHEDULED_EVENT_ATTRIBUTES;
    e->activity_task_scheduled_event_attributes = a;
    return e->event_id;
}

static void activity_completed(int64_t scheduled, const char *result)
{
    event *e = add(TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
    Temporal__Api__History__V1__ActivityTaskCompletedEventAttributes *a = calloc(1, sizeof *a);
    *a = (Temporal__Api__History__V1__ActivityTaskCompletedEventAttributes)
        TEMPORAL__API__HISTORY__V1__ACTIVITY_TASK_COMPLETED_EVENT_ATTRIBUTES__INIT;
    a->scheduled_event_id = scheduled;
    json_t *v = json_string(result);
    tlw_error err;
    assert_int_equal(tlw_payloads_from_json(v, false, &a->result, &err), TLW_OK);
    json_decref(v);
    e->attributes_case =
        TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_ACTIVITY_TASK_COMPLETED_EVENT_ATTRIBUTES;
    e->activity_task_completed_event_attributes = a;
}

static void timer_started(const char *id)
{
    event *e = add(TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_TIMER_STARTED);
    Temporal__Api__History__V1__TimerStartedEventAttributes *a = calloc(1, sizeof *a);
    *a = (Temporal__Api__History__V1__TimerStartedEventAttributes)
        TEMPORAL__API__HISTORY__V1__TIMER_STARTED_EVENT_ATTRIBUTES__INIT;
    a->timer_id = strdup(id);
    e->attributes_case = TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_TIMER_STARTED_EVENT_ATTRIBUTES;
    e->timer_started_event_attributes = a;
}

static void timer_fired(const char *id)
{
    event *e = add(TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_TIMER_FIRED);
    Temporal__Api__History__V1__TimerFiredEventAttributes *a = calloc(1, sizeof *a);
    *a = (Temporal__Api__History__V1__TimerFiredEventAttributes)
        TEMPORAL__API__HISTORY__V1__TIMER_FIRED_EVENT_ATTRIBUTES__INIT;
    a->timer_id = strdup(id);
    e->attributes_case = TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_TIMER_FIRED_EVENT_ATTRIBUTES;
    e->timer_fired_event_attributes = a;
}

static void patch_marker(const char *id)
{
    event *e = add(TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_MARKER_RECORDED);
    Temporal__Api__History__V1__MarkerRecordedEventAttributes *a = calloc(1, sizeof *a);
    *a = (Temporal__Api__History__V1__MarkerRecordedEventAttributes)
        TEMPORAL__API__HISTORY__V1__MARKER_RECORDED_EVENT_ATTRIBUTES__INIT;
    a->marker_name = strdup("core_patch");
    a->details = calloc(1, sizeof *a->details);
    a->details[0] = calloc(1, sizeof *a->details[0]);
    *a->details[0] = (Temporal__Api__History__V1__MarkerRecordedEventAttributes__DetailsEntry)
        TEMPORAL__API__HISTORY__V1__MARKER_RECORDED_EVENT_ATTRIBUTES__DETAILS_ENTRY__INIT;
    a->details[0]->key = strdup("patch_data");
    json_t *data = json_pack("{s:s, s:b}", "id", id, "deprecated", 0);
    tlw_error err;
    assert_int_equal(tlw_payloads_from_json(data, false, &a->details[0]->value, &err), TLW_OK);
    json_decref(data);
    a->n_details = 1;
    e->attributes_case = TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_MARKER_RECORDED_EVENT_ATTRIBUTES;
    e->marker_recorded_event_attributes = a;
}

static int free_history(void **state)
{
    for (size_t i = 0; i < n_events; i++)
        protobuf_c_message_free_unpacked(&events[i]->base, NULL);
    n_events = 0;
    return 0;
}

/* ---- the workflow and the config --------------------------------------------- */

static tlw_status greet_once(tlw_workflow *wf, const json_t *args, json_t **result)
{
    tlw_activity_options o = {.start_to_close_timeout_ms = 5000};
    const json_t *greeting;
    tlw_status st = tlw_workflow_execute_activity(wf, "compose_greeting", args, &o, &greeting);
    if (st != TLW_OK)
        return st;
    *result = json_deep_copy(greeting);
    return TLW_OK;
}

/* Asks about patch "v2", sleeps, returns the answer. */
static tlw_status patched_then_sleep(tlw_workflow *wf, const json_t *args, json_t **result)
{
    int patched = tlw_workflow_patched(wf, "v2");
    tlw_status st = tlw_workflow_sleep(wf, 1000);
    if (st != TLW_OK)
        return st;
    *result = json_boolean(patched);
    return TLW_OK;
}

/* The e2e fixture's "Greeting": two activities, their results returned. */
static tlw_status greet_twice(tlw_workflow *wf, const json_t *args, json_t **result)
{
    tlw_activity_options o = {.start_to_close_timeout_ms = 10000};
    const json_t *first, *second;
    tlw_status st = tlw_workflow_execute_activity(wf, "compose_greeting", args, &o, &first);
    if (st != TLW_OK)
        return st;
    json_t *again = json_pack("[s]", "again");
    st = tlw_workflow_execute_activity(wf, "compose_greeting", again, &o, &second);
    json_decref(again);
    if (st != TLW_OK)
        return st;
    *result = json_pack("[O, O]", first, second);
    return TLW_OK;
}

static int configure(tlw_config *cfg)
{
    tlw_config_set_default_versioning_behavior(cfg, TLW_VERSIONING_PINNED);
    tlw_register_workflow(cfg, "Greeting", greet_twice);
    tlw_register_workflow(cfg, "Patched", patched_then_sleep);
    tlw_register_workflow(cfg, "Greet", greet_once);
    return 0;
}

static tlw_config cfg;

static int load_config(void **state)
{
    static char *const env[] = {"TLW_WORKER_CONFIG=", "TEMPORAL_TASK_QUEUE=q", NULL};
    static const tlw_version version = {.deployment_name = "d", .build_id = "b"};
    tlw_error err;
    assert_int_equal(tlw_config_load(&cfg, &version, env, &err), TLW_OK);
    assert_int_equal(tlw_config_apply(&cfg, configure, &err), TLW_OK);
    return 0;
}

static int free_config(void **state)
{
    tlw_config_free(&cfg);
    return 0;
}

static void replay(tlw_engine_result *r)
{
    tlw_engine_replay(&cfg, "default", "wf-1", "run-1", events, n_events, r);
}

/* ---- tests ---------------------------------------------------------------------- */

static void a_first_task_schedules_the_activity(void **state)
{
    started("Greet", "World");
    task(false);
    tlw_engine_result r;
    replay(&r);
    assert_false(r.task_failed);
    assert_int_equal(r.n_commands, 1);
    assert_int_equal(r.commands[0]->command_type,
                     TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK);
    const Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes *a =
        r.commands[0]->schedule_activity_task_command_attributes;
    assert_string_equal(a->activity_id, "1");
    assert_string_equal(a->activity_type->name, "compose_greeting");
    assert_string_equal(a->task_queue->name, "q");
    assert_int_equal(a->start_to_close_timeout->seconds, 5);
    assert_int_equal(r.versioning_behavior, TLW_VERSIONING_PINNED);
    tlw_engine_result_free(&r);
}

static void a_replayed_task_matches_and_the_result_completes_the_run(void **state)
{
    started("Greet", "World");
    task(true);
    int64_t scheduled = activity_scheduled("1", "compose_greeting");
    activity_completed(scheduled, "Hello, World!");
    task(false);
    tlw_engine_result r;
    replay(&r);
    assert_false(r.task_failed);
    assert_int_equal(r.n_commands, 1);
    assert_int_equal(r.commands[0]->command_type,
                     TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION);
    json_t *result = NULL;
    tlw_error err;
    assert_int_equal(tlw_payloads_to_json(r.commands[0]->complete_workflow_execution_command_attributes->result,
                                          &result, &err),
                     TLW_OK);
    assert_string_equal(json_string_value(json_array_get(result, 0)), "Hello, World!");
    json_decref(result);
    tlw_engine_result_free(&r);
}

static void a_different_command_is_a_nondeterminism_naming_both(void **state)
{
    started("Greet", "World");
    task(true);
    timer_started("1"); /* history: a timer; the code: an activity */
    task(false);
    tlw_engine_result r;
    replay(&r);
    assert_true(r.task_failed);
    assert_int_equal(r.cause,
                     TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
    assert_non_null(strstr(r.message, "at event 5"));
    assert_non_null(strstr(r.message, "history has TimerStarted (timer id 1)"));
    assert_non_null(strstr(r.message, "did ScheduleActivityTask (activity id 1, type compose_greeting)"));
    assert_int_equal(r.n_commands, 0);
}

static void another_activity_type_is_a_nondeterminism(void **state)
{
    started("Greet", "World");
    task(true);
    activity_scheduled("1", "other_activity");
    task(false);
    tlw_engine_result r;
    replay(&r);
    assert_true(r.task_failed);
    assert_non_null(strstr(r.message, "type other_activity"));
}

static void a_command_missing_from_history_is_a_nondeterminism(void **state)
{
    started("Greet", "World");
    task(true); /* completed with no command: the code schedules one */
    task(false);
    tlw_engine_result r;
    replay(&r);
    assert_true(r.task_failed);
    assert_int_equal(r.cause,
                     TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
    assert_non_null(strstr(r.message, "which history does not have"));
}

static void an_unknown_type_fails_the_task_naming_the_registered(void **state)
{
    started("Nope", "x");
    task(false);
    tlw_engine_result r;
    replay(&r);
    assert_true(r.task_failed);
    assert_int_equal(r.cause,
                     TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE);
    assert_non_null(strstr(r.message, "\"Nope\" is not registered"));
    assert_non_null(strstr(r.message, "Greet"));
}

static void an_event_it_does_not_handle_fails_the_task(void **state)
{
    started("Greet", "World");
    task(true);
    activity_scheduled("1", "compose_greeting");
    /* a search attribute upsert: not something this engine handles */
    event *e = add(TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
    e->attributes_case =
        TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES_EVENT_ATTRIBUTES;
    e->upsert_workflow_search_attributes_event_attributes =
        calloc(1, sizeof(Temporal__Api__History__V1__UpsertWorkflowSearchAttributesEventAttributes));
    *e->upsert_workflow_search_attributes_event_attributes =
        (Temporal__Api__History__V1__UpsertWorkflowSearchAttributesEventAttributes)
            TEMPORAL__API__HISTORY__V1__UPSERT_WORKFLOW_SEARCH_ATTRIBUTES_EVENT_ATTRIBUTES__INIT;
    task(false);
    tlw_engine_result r;
    replay(&r);
    assert_true(r.task_failed);
    assert_non_null(strstr(r.message, "event 6"));
    assert_non_null(strstr(r.message, "does not handle"));
}

/* The run's result, from the one CompleteWorkflowExecution command. */
static json_t *completed_result(tlw_engine_result *r)
{
    assert_false(r->task_failed);
    assert_int_equal(r->n_commands, 1);
    assert_int_equal(r->commands[0]->command_type,
                     TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION);
    json_t *values = NULL;
    tlw_error err;
    assert_int_equal(tlw_payloads_to_json(r->commands[0]->complete_workflow_execution_command_attributes->result,
                                          &values, &err),
                     TLW_OK);
    json_t *v = json_incref(json_array_get(values, 0));
    json_decref(values);
    return v;
}

static void a_patch_is_false_replaying_history_that_lacks_it(void **state)
{
    started("Patched", "x");
    task(true);
    timer_started("1"); /* the old code: no marker before the timer */
    timer_fired("1");
    task(false);
    tlw_engine_result r;
    replay(&r);
    json_t *v = completed_result(&r);
    assert_true(json_is_false(v));
    json_decref(v);
    tlw_engine_result_free(&r);
}

static void a_patch_is_true_where_history_recorded_it(void **state)
{
    started("Patched", "x");
    task(true);
    patch_marker("v2");
    timer_started("1");
    timer_fired("1");
    task(false);
    tlw_engine_result r;
    replay(&r);
    json_t *v = completed_result(&r);
    assert_true(json_is_true(v));
    json_decref(v);
    tlw_engine_result_free(&r);
}

static void a_new_run_records_the_patch(void **state)
{
    started("Patched", "x");
    task(false);
    tlw_engine_result r;
    replay(&r);
    assert_false(r.task_failed);
    assert_int_equal(r.n_commands, 2);
    assert_int_equal(r.commands[0]->command_type,
                     TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_RECORD_MARKER);
    assert_string_equal(r.commands[0]->record_marker_command_attributes->marker_name, "core_patch");
    assert_int_equal(r.commands[1]->command_type,
                     TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_START_TIMER);
    tlw_engine_result_free(&r);
}

static void an_empty_history_fails_the_task(void **state)
{
    tlw_engine_result r;
    replay(&r);
    assert_true(r.task_failed);
    assert_non_null(strstr(r.message, "empty history"));
}

/* A cached run fed its history in two tasks answers as one replay would. */
static void a_cached_run_resumes_with_the_next_tasks_events(void **state)
{
    started("Greet", "World");
    task(true);
    int64_t scheduled = activity_scheduled("1", "compose_greeting");
    activity_completed(scheduled, "Hello again");
    task(false);
    tlw_engine_run *run = tlw_engine_run_new(&cfg, "default", "wf-1", "run-1");
    tlw_engine_result r;
    tlw_engine_run_feed(run, events, 3, NULL, 0, &r); /* started, scheduled, started */
    assert_false(r.task_failed);
    assert_int_equal(r.n_commands, 1);
    assert_int_equal(r.commands[0]->command_type,
                     TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK);
    tlw_engine_result_free(&r);
    assert_int_equal(tlw_engine_run_last_event_id(run), 3);
    assert_true(tlw_engine_run_reusable(run));
    tlw_engine_run_feed(run, events + 3, n_events - 3, NULL, 0, &r);
    json_t *v = completed_result(&r);
    assert_string_equal(json_string_value(v), "Hello again");
    json_decref(v);
    tlw_engine_result_free(&r);
    assert_false(tlw_engine_run_reusable(run)); /* it completed */
    tlw_engine_run_free(run);
}

/* The next task's events that disagree with what the cached run sent. */
static void a_cached_run_detects_nondeterminism_in_the_next_task(void **state)
{
    started("Greet", "World");
    task(true);
    timer_started("1");
    task(false);
    tlw_engine_run *run = tlw_engine_run_new(&cfg, "default", "wf-1", "run-1");
    tlw_engine_result r;
    tlw_engine_run_feed(run, events, 3, NULL, 0, &r);
    tlw_engine_result_free(&r);
    tlw_engine_run_feed(run, events + 3, n_events - 3, NULL, 0, &r);
    assert_true(r.task_failed);
    assert_non_null(strstr(r.message, "history has TimerStarted (timer id 1)"));
    assert_false(tlw_engine_run_reusable(run));
    tlw_engine_run_free(run);
}

/* A history a live run wrote (tests/unit/fixtures/history_c_greeting.json,
 * recorded from the dev server with the e2e fixture's Greeting): it replays
 * with the same code, and not with code that calls another activity. */
static void a_recorded_history_replays_and_a_changed_one_does_not(void **state)
{
    char *text = NULL;
    size_t len = 0;
    tlw_error err;
    assert_int_equal(tlw_read_file(TLW_ENGINE_FIXTURES "/history_c_greeting.json", "fixture",
                                   1 << 20, &text, &len, &err),
                     TLW_OK);
    ProtobufCMessage *m = NULL;
    assert_int_equal(tlw_pbjson_decode_text(&temporal__api__history__v1__history__descriptor, text,
                                            len, &m, &err),
                     TLW_OK);
    const Temporal__Api__History__V1__History *h = (const void *)m;
    assert_true(h->n_events > 10);
    tlw_engine_result r;
    tlw_engine_replay(&cfg, "default", "fixture-greeting", "run", h->events, h->n_events, &r);
    assert_false(r.task_failed);
    assert_int_equal(r.n_commands, 0); /* the run is over: nothing new */
    tlw_engine_result_free(&r);
    protobuf_c_message_free_unpacked(m, NULL);

    /* The same history, as if the code now called another activity first. */
    char *changed = strstr(text, "\"compose_greeting\"");
    assert_non_null(changed);
    memcpy(changed + 1, "compose_farewell", 16);
    assert_int_equal(tlw_pbjson_decode_text(&temporal__api__history__v1__history__descriptor, text,
                                            len, &m, &err),
                     TLW_OK);
    h = (const void *)m;
    tlw_engine_replay(&cfg, "default", "fixture-greeting", "run", h->events, h->n_events, &r);
    assert_true(r.task_failed);
    assert_non_null(strstr(r.message, "type compose_farewell"));
    protobuf_c_message_free_unpacked(m, NULL);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(a_first_task_schedules_the_activity, free_history),
        cmocka_unit_test_teardown(a_replayed_task_matches_and_the_result_completes_the_run,
                                  free_history),
        cmocka_unit_test_teardown(a_different_command_is_a_nondeterminism_naming_both,
                                  free_history),
        cmocka_unit_test_teardown(another_activity_type_is_a_nondeterminism, free_history),
        cmocka_unit_test_teardown(a_command_missing_from_history_is_a_nondeterminism,
                                  free_history),
        cmocka_unit_test_teardown(an_unknown_type_fails_the_task_naming_the_registered,
                                  free_history),
        cmocka_unit_test_teardown(an_event_it_does_not_handle_fails_the_task, free_history),
        cmocka_unit_test_teardown(an_empty_history_fails_the_task, free_history),
        cmocka_unit_test_teardown(a_patch_is_false_replaying_history_that_lacks_it, free_history),
        cmocka_unit_test_teardown(a_patch_is_true_where_history_recorded_it, free_history),
        cmocka_unit_test_teardown(a_new_run_records_the_patch, free_history),
        cmocka_unit_test(a_recorded_history_replays_and_a_changed_one_does_not),
        cmocka_unit_test_teardown(a_cached_run_resumes_with_the_next_tasks_events, free_history),
        cmocka_unit_test_teardown(a_cached_run_detects_nondeterminism_in_the_next_task,
                                  free_history),
    };
    return cmocka_run_group_tests(tests, load_config, free_config);
}
