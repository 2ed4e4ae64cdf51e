#include "config.h"

#include "worker/engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "worker/otel_slot.h"
#include "worker/payload.h"
#include "worker/service.h"
#include "worker/workflow_run.h"

typedef Temporal__Api__History__V1__HistoryEvent event;
typedef Temporal__Api__Command__V1__Command command;

#define DEFAULT_STACK_SIZE (256 * 1024)

/* ---- the run's bookkeeping (used by workflow_api.c too) ------------------------ */

void tlw_run_fail_task(tlw_workflow *wf, Temporal__Api__Enums__V1__WorkflowTaskFailedCause cause,
                       const char *fmt, ...)
{
    if (wf->task_failed)
        return;
    wf->task_failed = true;
    wf->cause = cause;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(wf->task_message, sizeof wf->task_message, fmt, ap);
    va_end(ap);
}

const json_t *tlw_run_keep(tlw_workflow *wf, json_t *value)
{
    if (!value)
        value = json_null();
    json_array_append_new(wf->owned, value);
    return value;
}

tlw_future *tlw_run_future(tlw_workflow *wf, wf_future_kind kind)
{
    tlw_future *f = calloc(1, sizeof *f);
    if (!f)
        abort(); /* a few bytes: nothing sensible to do without them */
    f->kind = kind;
    f->next = wf->futures;
    wf->futures = f;
    return f;
}

void tlw_run_resolve(tlw_workflow *wf, tlw_future *f, tlw_status status, const json_t *result,
                     const tlw_failure *failure, int64_t event_id)
{
    if (!f || f->ready)
        return;
    f->ready = true;
    f->status = status;
    f->result = result;
    f->failure = failure;
    f->resolved_event_id = event_id;
}

void tlw_run_command(tlw_workflow *wf, command *pb, tlw_future *future)
{
    wf_command *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->pb = pb;
    c->future = future;
    *wf->pending_tail = c;
    wf->pending_tail = &c->next;
}

static void free_command(wf_command *c)
{
    if (c->pb)
        protobuf_c_message_free_unpacked(&c->pb->base, NULL);
    free(c);
}

bool tlw_run_drop_command(tlw_workflow *wf, tlw_future *future)
{
    for (wf_command **p = &wf->pending; *p; p = &(*p)->next) {
        if ((*p)->future != future)
            continue;
        wf_command *c = *p;
        *p = c->next;
        if (!*p)
            wf->pending_tail = p;
        free_command(c);
        return true;
    }
    return false;
}

void tlw_run_match_signals(tlw_workflow *wf)
{
    for (tlw_future *f = wf->futures; f; f = f->next) {
        if (f->kind != FUT_SIGNAL || f->ready)
            continue;
        for (wf_signal *s = wf->signals; s; s = s->next)
            if (!s->taken && strcmp(s->name, f->signal_name) == 0) {
                s->taken = true;
                tlw_run_resolve(wf, f, TLW_OK, s->payload, NULL, s->event_id);
                break;
            }
    }
}

/* ---- failures from history -------------------------------------------------------- */

static const tlw_failure *failure_from_pb(tlw_workflow *wf, const Temporal__Api__Failure__V1__Failure *pb)
{
    if (!pb)
        return NULL;
    tlw_failure *f = tlw_workflow_alloc(wf, sizeof *f);
    char *message = tlw_workflow_alloc(wf, strlen(pb->message ? pb->message : "") + 1);
    strcpy(message, pb->message ? pb->message : "");
    f->message = message;
    const char *type = "Failure";
    switch (pb->failure_info_case) {
    case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_APPLICATION_FAILURE_INFO:
        type = pb->application_failure_info->type ? pb->application_failure_info->type : "";
        f->non_retryable = pb->application_failure_info->non_retryable;
        break;
    case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_TIMEOUT_FAILURE_INFO: type = "TimeoutError"; break;
    case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_CANCELED_FAILURE_INFO: type = "CancelledError"; break;
    case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_TERMINATED_FAILURE_INFO: type = "TerminatedError"; break;
    case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_SERVER_FAILURE_INFO:
        type = "ServerError";
        f->non_retryable = pb->server_failure_info->non_retryable;
        break;
    case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_ACTIVITY_FAILURE_INFO: type = "ActivityError"; break;
    case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_CHILD_WORKFLOW_EXECUTION_FAILURE_INFO:
        type = "ChildWorkflowError";
        break;
    default: break;
    }
    char *type_copy = tlw_workflow_alloc(wf, strlen(type) + 1);
    strcpy(type_copy, type);
    f->type = type_copy;
    json_t *details = NULL;
    tlw_error err;
    if (pb->failure_info_case == TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_APPLICATION_FAILURE_INFO &&
        tlw_failure_details_to_json(pb, &details, &err) == TLW_OK)
        f->details = tlw_run_keep(wf, details);
    f->cause = failure_from_pb(wf, pb->cause);
    return f;
}

/* What a workflow sees of an activity's or a child's failure: an
 * ActivityError or ChildWorkflowError whose cause is the failure reported
 * (by the activity, the child, or the server: a timeout), as the other SDKs
 * present it. */
static const tlw_failure *wrapped_failure(tlw_workflow *wf, const char *type, const char *noun,
                                          const tlw_future *f,
                                          const Temporal__Api__Failure__V1__Failure *pb,
                                          const char *what)
{
    tlw_failure *outer = tlw_workflow_alloc(wf, sizeof *outer);
    char *message = tlw_workflow_alloc(wf, 200);
    snprintf(message, 200, "%s %s %s", noun, f ? f->id : "?", what);
    outer->message = message;
    outer->type = type;
    outer->cause = failure_from_pb(wf, pb);
    outer->non_retryable = outer->cause ? outer->cause->non_retryable : 0;
    return outer;
}

static const tlw_failure *activity_failure(tlw_workflow *wf, const tlw_future *f,
                                           const Temporal__Api__Failure__V1__Failure *pb,
                                           const char *what)
{
    return wrapped_failure(wf, "ActivityError", "activity", f, pb, what);
}

static const tlw_failure *child_failure(tlw_workflow *wf, const tlw_future *f,
                                        const Temporal__Api__Failure__V1__Failure *pb,
                                        const char *what)
{
    return wrapped_failure(wf, "ChildWorkflowError", "child workflow", f, pb, what);
}

/* Both kinds of details entry (command, event) are a key and Payloads. */
typedef struct details_entry {
    ProtobufCMessage base;
    char *key;
    Temporal__Api__Common__V1__Payloads *value;
} details_entry;

void tlw_run_marker_key(const char *name, size_t n_details, void *const *details, char *out,
                        size_t size)
{
    const char *field = strcmp(name, "core_patch") == 0   ? "patch_data"
                        : strcmp(name, "SideEffect") == 0 ? "side-effect-id"
                                                          : NULL;
    snprintf(out, size, "%s", name);
    if (!field)
        return;
    for (size_t i = 0; i < n_details; i++) {
        const details_entry *d = details[i];
        if (strcmp(d->key, field) != 0)
            continue;
        json_t *values = NULL;
        tlw_error err;
        if (tlw_payloads_to_json(d->value, &values, &err) != TLW_OK)
            return;
        const json_t *v = json_array_get(values, 0);
        if (json_is_object(v))
            v = json_object_get(v, "id");
        if (json_is_string(v))
            snprintf(out, size, "%s:%s", name, json_string_value(v));
        else if (json_is_integer(v))
            snprintf(out, size, "%s:%lld", name, (long long)json_integer_value(v));
        json_decref(values);
        return;
    }
}

/* ---- matching commands with history --------------------------------------------- */

static const char *command_name(const command *c)
{
    switch (c->command_type) {
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: return "ScheduleActivityTask";
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: return "RequestCancelActivityTask";
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_START_TIMER: return "StartTimer";
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_CANCEL_TIMER: return "CancelTimer";
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: return "CompleteWorkflowExecution";
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: return "FailWorkflowExecution";
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION: return "CancelWorkflowExecution";
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION: return "ContinueAsNewWorkflowExecution";
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_RECORD_MARKER: return "RecordMarker";
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: return "StartChildWorkflowExecution";
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION: return "SignalExternalWorkflowExecution";
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION: return "RequestCancelExternalWorkflowExecution";
    default: return "another command";
    }
}

/* What a command event says, in words, and whether `c` matches it. */
static bool matches(const event *e, const command *c, char *history_says, size_t size)
{
    typedef Temporal__Api__Enums__V1__CommandType T;
    T want = TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_UNSPECIFIED;
    char marker[160];
    const char *id = NULL, *type = NULL;
    int64_t ref = 0;
    switch (e->attributes_case) {
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_ACTIVITY_TASK_SCHEDULED_EVENT_ATTRIBUTES:
        want = TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK;
        id = e->activity_task_scheduled_event_attributes->activity_id;
        type = e->activity_task_scheduled_event_attributes->activity_type
                   ? e->activity_task_scheduled_event_attributes->activity_type->name
                   : "";
        snprintf(history_says, size, "ActivityTaskScheduled (activity id %s, type %s)", id, type);
        break;
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_ACTIVITY_TASK_CANCEL_REQUESTED_EVENT_ATTRIBUTES:
        want = TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK;
        ref = e->activity_task_cancel_requested_event_attributes->scheduled_event_id;
        snprintf(history_says, size, "ActivityTaskCancelRequested (scheduled event %lld)",
                 (long long)ref);
        break;
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_TIMER_STARTED_EVENT_ATTRIBUTES:
        want = TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_START_TIMER;
        id = e->timer_started_event_attributes->timer_id;
        snprintf(history_says, size, "TimerStarted (timer id %s)", id);
        break;
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_TIMER_CANCELED_EVENT_ATTRIBUTES:
        want = TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_CANCEL_TIMER;
        id = e->timer_canceled_event_attributes->timer_id;
        snprintf(history_says, size, "TimerCanceled (timer id %s)", id);
        break;
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_COMPLETED_EVENT_ATTRIBUTES:
        want = TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION;
        snprintf(history_says, size, "WorkflowExecutionCompleted");
        break;
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_FAILED_EVENT_ATTRIBUTES:
        want = TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION;
        snprintf(history_says, size, "WorkflowExecutionFailed");
        break;
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_CANCELED_EVENT_ATTRIBUTES:
        want = TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION;
        snprintf(history_says, size, "WorkflowExecutionCanceled");
        break;
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_CONTINUED_AS_NEW_EVENT_ATTRIBUTES:
        want = TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION;
        snprintf(history_says, size, "WorkflowExecutionContinuedAsNew");
        break;
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_START_CHILD_WORKFLOW_EXECUTION_INITIATED_EVENT_ATTRIBUTES: {
        const Temporal__Api__History__V1__StartChildWorkflowExecutionInitiatedEventAttributes *a =
            e->start_child_workflow_execution_initiated_event_attributes;
        want = TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION;
        id = a->workflow_id;
        type = a->workflow_type ? a->workflow_type->name : "";
        snprintf(history_says, size, "StartChildWorkflowExecutionInitiated (workflow id %s, type %s)",
                 id, type);
        break;
    }
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED_EVENT_ATTRIBUTES: {
        const Temporal__Api__History__V1__SignalExternalWorkflowExecutionInitiatedEventAttributes *a =
            e->signal_external_workflow_execution_initiated_event_attributes;
        want = TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION;
        id = a->workflow_execution ? a->workflow_execution->workflow_id : "";
        type = a->signal_name;
        snprintf(history_says, size,
                 "SignalExternalWorkflowExecutionInitiated (workflow id %s, signal %s)", id, type);
        break;
    }
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED_EVENT_ATTRIBUTES: {
        const Temporal__Api__History__V1__RequestCancelExternalWorkflowExecutionInitiatedEventAttributes *a =
            e->request_cancel_external_workflow_execution_initiated_event_attributes;
        want = TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION;
        id = a->workflow_execution ? a->workflow_execution->workflow_id : "";
        snprintf(history_says, size,
                 "RequestCancelExternalWorkflowExecutionInitiated (workflow id %s)", id);
        break;
    }
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_MARKER_RECORDED_EVENT_ATTRIBUTES: {
        const Temporal__Api__History__V1__MarkerRecordedEventAttributes *m =
            e->marker_recorded_event_attributes;
        want = TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_RECORD_MARKER;
        tlw_run_marker_key(m->marker_name, m->n_details, (void *const *)m->details, marker,
                           sizeof marker);
        id = marker;
        snprintf(history_says, size, "MarkerRecorded (%s)", marker);
        break;
    }
    default:
        snprintf(history_says, size, "event type %d", (int)e->event_type);
        return false;
    }
    if (!c || c->command_type != want)
        return false;
    switch (want) {
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: {
        const Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes *a =
            c->schedule_activity_task_command_attributes;
        return strcmp(a->activity_id, id) == 0 && strcmp(a->activity_type->name, type) == 0;
    }
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
        return c->request_cancel_activity_task_command_attributes->scheduled_event_id == ref;
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_START_TIMER:
        return strcmp(c->start_timer_command_attributes->timer_id, id) == 0;
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_CANCEL_TIMER:
        return strcmp(c->cancel_timer_command_attributes->timer_id, id) == 0;
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: {
        const Temporal__Api__Command__V1__StartChildWorkflowExecutionCommandAttributes *a =
            c->start_child_workflow_execution_command_attributes;
        return strcmp(a->workflow_id, id) == 0 && strcmp(a->workflow_type->name, type) == 0;
    }
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION: {
        const Temporal__Api__Command__V1__SignalExternalWorkflowExecutionCommandAttributes *a =
            c->signal_external_workflow_execution_command_attributes;
        return strcmp(a->execution->workflow_id, id) == 0 && strcmp(a->signal_name, type) == 0;
    }
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION:
        return strcmp(c->request_cancel_external_workflow_execution_command_attributes->workflow_id,
                      id) == 0;
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_RECORD_MARKER: {
        char mine[160];
        const Temporal__Api__Command__V1__RecordMarkerCommandAttributes *m =
            c->record_marker_command_attributes;
        tlw_run_marker_key(m->marker_name, m->n_details, (void *const *)m->details, mine,
                           sizeof mine);
        return strcmp(mine, id) == 0;
    }
    default: return true;
    }
}

static void describe_command(const command *c, char *out, size_t size)
{
    if (!c) {
        snprintf(out, size, "nothing");
        return;
    }
    switch (c->command_type) {
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
        snprintf(out, size, "ScheduleActivityTask (activity id %s, type %s)",
                 c->schedule_activity_task_command_attributes->activity_id,
                 c->schedule_activity_task_command_attributes->activity_type->name);
        break;
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_START_TIMER:
        snprintf(out, size, "StartTimer (timer id %s)",
                 c->start_timer_command_attributes->timer_id);
        break;
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_CANCEL_TIMER:
        snprintf(out, size, "CancelTimer (timer id %s)",
                 c->cancel_timer_command_attributes->timer_id);
        break;
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
        snprintf(out, size, "StartChildWorkflowExecution (workflow id %s, type %s)",
                 c->start_child_workflow_execution_command_attributes->workflow_id,
                 c->start_child_workflow_execution_command_attributes->workflow_type->name);
        break;
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
        snprintf(out, size, "SignalExternalWorkflowExecution (workflow id %s, signal %s)",
                 c->signal_external_workflow_execution_command_attributes->execution->workflow_id,
                 c->signal_external_workflow_execution_command_attributes->signal_name);
        break;
    case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_RECORD_MARKER: {
        char key[160];
        const Temporal__Api__Command__V1__RecordMarkerCommandAttributes *m =
            c->record_marker_command_attributes;
        tlw_run_marker_key(m->marker_name, m->n_details, (void *const *)m->details, key,
                           sizeof key);
        snprintf(out, size, "RecordMarker (%s)", key);
        break;
    }
    default: snprintf(out, size, "%s", command_name(c)); break;
    }
}

/* A command event: the next command the code produced must be its twin. */
static void match_command_event(tlw_workflow *wf, const event *e)
{
    wf_command *c = wf->pending;
    char history_says[256], code_did[256];
    bool ok = matches(e, c ? c->pb : NULL, history_says, sizeof history_says);
    if (!ok && e->attributes_case ==
                   TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_MARKER_RECORDED_EVENT_ATTRIBUTES &&
        strcmp(e->marker_recorded_event_attributes->marker_name, "core_patch") == 0)
        return; /* a patch the code no longer asks about (deprecated, then removed) */
    if (!ok) {
        describe_command(c ? c->pb : NULL, code_did, sizeof code_did);
        tlw_run_fail_task(wf,
                          TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR,
                          "nondeterminism at event %lld: history has %s, the workflow code did %s; "
                          "the code must make the same calls in the same order on replay",
                          (long long)e->event_id, history_says, code_did);
        return;
    }
    wf->pending = c->next;
    if (!wf->pending)
        wf->pending_tail = &wf->pending;
    if (c->future && !c->future->initiated_event_id &&
        (c->pb->command_type == TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK ||
         c->pb->command_type == TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_START_TIMER ||
         c->pb->command_type == TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION ||
         c->pb->command_type == TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION))
        c->future->initiated_event_id = e->event_id;
    free_command(c);
}

static tlw_future *activity_by_scheduled_id(tlw_workflow *wf, int64_t scheduled_event_id)
{
    for (tlw_future *f = wf->futures; f; f = f->next)
        if (f->kind == FUT_ACTIVITY && f->initiated_event_id == scheduled_event_id)
            return f;
    return NULL;
}

static tlw_future *initiated_by(tlw_workflow *wf, wf_future_kind kind, int64_t initiated_event_id)
{
    for (tlw_future *f = wf->futures; f; f = f->next)
        if (f->kind == kind && f->initiated_event_id == initiated_event_id)
            return f;
    return NULL;
}

static tlw_future *timer_by_id(tlw_workflow *wf, const char *timer_id)
{
    for (tlw_future *f = wf->futures; f; f = f->next)
        if (f->kind == FUT_TIMER && strcmp(f->id, timer_id) == 0)
            return f;
    return NULL;
}

static const json_t *payloads_value(tlw_workflow *wf, const Temporal__Api__Common__V1__Payloads *p)
{
    json_t *values = NULL;
    tlw_error err;
    if (tlw_payloads_to_json(p, &values, &err) != TLW_OK) {
        tlw_run_fail_task(wf,
                          TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                          "cannot decode a payload: %s", err.message);
        return tlw_run_keep(wf, json_null());
    }
    return tlw_run_keep(wf, values);
}

/* A single result: the first payload's value (JSON null if none). */
static const json_t *result_value(tlw_workflow *wf, const Temporal__Api__Common__V1__Payloads *p)
{
    const json_t *all = payloads_value(wf, p);
    const json_t *first = json_is_array(all) ? json_array_get(all, 0) : NULL;
    return first ? first : tlw_run_keep(wf, json_null());
}

/* ---- the coroutines ---------------------------------------------------------------- */

static void coroutine_entry(void *arg)
{
    tlw_workflow *wf = arg;
    wf_coroutine *co = wf->current;
    co->fn(wf, co->arg);
}

static void main_fn(tlw_workflow *wf, void *arg)
{
    json_t *result = NULL;
    tlw_status st = wf->reg->workflow(wf, wf->args, &result);
    wf->main_status = st;
    wf->main_result = result;
    wf->main_done = true;
}

tlw_status tlw_workflow_spawn(tlw_workflow *wf, void (*fn)(tlw_workflow *wf, void *arg), void *arg)
{
    wf_coroutine *co = calloc(1, sizeof *co);
    if (!co)
        return TLW_ERR_NOMEM;
    tlw_error err;
    co->coro = tlw_coro_new(coroutine_entry, wf, wf->stack_size, &err);
    if (!co->coro) {
        free(co);
        tlw_run_fail_task(wf,
                          TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                          "cannot start a coroutine: %s", err.message);
        return TLW_ERR_NOMEM;
    }
    co->fn = fn;
    co->arg = arg;
    *wf->co_tail = co;
    wf->co_tail = &co->next;
    return TLW_OK;
}

tlw_status tlw_run_wait(tlw_workflow *wf, int (*cond)(tlw_workflow *wf, void *arg), void *arg)
{
    wf_coroutine *co = wf->current;
    if (!co)
        return TLW_ERR_INVALID;
    if (co->cancel_delivery) {
        co->cancel_delivery = false;
        return TLW_ERR_CANCELLED;
    }
    if (cond(wf, arg))
        return TLW_OK;
    co->cond = cond;
    co->cond_arg = arg;
    tlw_coro_yield();
    co->cond = NULL;
    if (co->cancel_delivery) {
        co->cancel_delivery = false;
        return TLW_ERR_CANCELLED;
    }
    return TLW_OK;
}

static bool runnable(tlw_workflow *wf, wf_coroutine *co)
{
    if (tlw_coro_finished(co->coro))
        return false;
    return !co->started || co->cancel_delivery || !co->cond || co->cond(wf, co->cond_arg);
}

/* Runs every runnable coroutine in creation order until all are blocked. */
static void run_coroutines(tlw_workflow *wf)
{
    bool progressed = true;
    while (progressed && !wf->task_failed && !wf->main_done) {
        progressed = false;
        for (wf_coroutine *co = wf->coroutines; co && !wf->task_failed && !wf->main_done;
             co = co->next) {
            if (!runnable(wf, co))
                continue;
            co->started = true;
            wf->current = co;
            tlw_coro_resume(co->coro);
            wf->current = NULL;
            tlw_run_match_signals(wf);
            progressed = true;
        }
    }
}

/* ---- ending the run ----------------------------------------------------------------- */

command *tlw_run_new_command(Temporal__Api__Enums__V1__CommandType type)
{
    command *c = malloc(sizeof *c);
    if (!c)
        abort();
    *c = (command)TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    c->command_type = type;
    return c;
}

static void complete_run(tlw_workflow *wf)
{
    tlw_error err;
    command *c = NULL;
    tlw_status st = wf->main_status;
    if (st == TLW_ERR_INTERNAL) {
        tlw_run_fail_task(wf,
                          TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                          "workflow %s returned an internal error; the task is retried",
                          wf->info.workflow_type);
        return;
    }
    if (st == TLW_OK && wf->continue_as_new) {
        c = tlw_run_new_command(TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION);
        Temporal__Api__Command__V1__ContinueAsNewWorkflowExecutionCommandAttributes *a = malloc(sizeof *a);
        *a = (Temporal__Api__Command__V1__ContinueAsNewWorkflowExecutionCommandAttributes)
            TEMPORAL__API__COMMAND__V1__CONTINUE_AS_NEW_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
        a->workflow_type = malloc(sizeof *a->workflow_type);
        *a->workflow_type = (Temporal__Api__Common__V1__WorkflowType)TEMPORAL__API__COMMON__V1__WORKFLOW_TYPE__INIT;
        a->workflow_type->name = strdup(wf->info.workflow_type);
        a->task_queue = malloc(sizeof *a->task_queue);
        *a->task_queue = (Temporal__Api__Taskqueue__V1__TaskQueue)TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
        a->task_queue->name = strdup(wf->info.task_queue);
        a->task_queue->kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
        if (wf->can_args && tlw_payloads_from_json(wf->can_args, true, &a->input, &err) != TLW_OK)
            a->input = NULL;
        c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_CONTINUE_AS_NEW_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES;
        c->continue_as_new_workflow_execution_command_attributes = a;
    } else if (st == TLW_OK) {
        c = tlw_run_new_command(TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION);
        Temporal__Api__Command__V1__CompleteWorkflowExecutionCommandAttributes *a = malloc(sizeof *a);
        *a = (Temporal__Api__Command__V1__CompleteWorkflowExecutionCommandAttributes)
            TEMPORAL__API__COMMAND__V1__COMPLETE_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
        if (tlw_payloads_from_json(wf->main_result, false, &a->result, &err) != TLW_OK) {
            free(a);
            free(c);
            wf->failed_set = true;
            snprintf(wf->fail_type, sizeof wf->fail_type, "tlw.ResultEncodingError");
            snprintf(wf->fail_message, sizeof wf->fail_message,
                     "the workflow's result cannot be encoded: %s", err.message);
            wf->fail_non_retryable = true;
            st = TLW_ERR_FAILED;
            c = NULL;
        } else {
            c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_COMPLETE_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES;
            c->complete_workflow_execution_command_attributes = a;
        }
    } else if (st == TLW_ERR_CANCELLED && wf->cancel_requested) {
        c = tlw_run_new_command(TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION);
        Temporal__Api__Command__V1__CancelWorkflowExecutionCommandAttributes *a = malloc(sizeof *a);
        *a = (Temporal__Api__Command__V1__CancelWorkflowExecutionCommandAttributes)
            TEMPORAL__API__COMMAND__V1__CANCEL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
        c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_CANCEL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES;
        c->cancel_workflow_execution_command_attributes = a;
    }
    if (!c) {
        if (!wf->failed_set) {
            wf_coroutine *main = wf->coroutines;
            const tlw_failure *last = main ? main->last_failure : NULL;
            snprintf(wf->fail_type, sizeof wf->fail_type, "tlw.WorkflowError");
            snprintf(wf->fail_message, sizeof wf->fail_message,
                     "workflow %s returned \"%s\" without tlw_workflow_fail()%s%s",
                     wf->info.workflow_type, tlw_status_name(st), last ? ": " : "",
                     last ? last->message : "");
        }
        tlw_failure_pb *failure = NULL;
        if (tlw_failure_application(wf->fail_message, wf->fail_type, wf->fail_non_retryable,
                                    wf->fail_details, &failure, &err) != TLW_OK) {
            tlw_run_fail_task(wf,
                              TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                              "cannot build the workflow's failure: %s", err.message);
            return;
        }
        c = tlw_run_new_command(TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION);
        Temporal__Api__Command__V1__FailWorkflowExecutionCommandAttributes *a = malloc(sizeof *a);
        *a = (Temporal__Api__Command__V1__FailWorkflowExecutionCommandAttributes)
            TEMPORAL__API__COMMAND__V1__FAIL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
        a->failure = failure;
        c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_FAIL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES;
        c->fail_workflow_execution_command_attributes = a;
    }
    tlw_run_command(wf, c, NULL);
    wf->completed = true;
}

/* One activation: the code runs until every coroutine is blocked. */
static void activate(tlw_workflow *wf, const event *started, bool replaying)
{
    wf->replaying = replaying;
    if (started->event_time)
        wf->now_ms = started->event_time->seconds * 1000 + started->event_time->nanos / 1000000;
    if (wf->completed)
        return;
    /* The run's cancellation goes once to every wait in progress. */
    if (wf->cancel_requested && !wf->cancel_delivered) {
        wf->cancel_delivered = true;
        for (wf_coroutine *co = wf->coroutines; co; co = co->next)
            if (co->started && co->cond && !tlw_coro_finished(co->coro))
                co->cancel_delivery = true;
    }
    tlw_run_match_signals(wf);
    run_coroutines(wf);
    if (wf->main_done && !wf->completed && !wf->task_failed)
        complete_run(wf);
}

/* ---- the run ---------------------------------------------------------------------- */

static char *keep_string(tlw_workflow *wf, int slot, const char *s)
{
    free(wf->strings[slot]);
    wf->strings[slot] = s ? strdup(s) : NULL;
    return wf->strings[slot];
}


static bool start_run(tlw_workflow *wf, const char *namespace_name, const event *first)
{
    if (first->attributes_case !=
        TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_STARTED_EVENT_ATTRIBUTES) {
        tlw_run_fail_task(wf,
                          TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                          "the history does not begin with WorkflowExecutionStarted");
        return false;
    }
    const Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes *a =
        first->workflow_execution_started_event_attributes;
    const char *type = a->workflow_type ? a->workflow_type->name : "";
    wf->info.workflow_type = keep_string(wf, 0, type);
    if (namespace_name != wf->strings[1])
        wf->info.namespace_name = keep_string(wf, 1, namespace_name);
    wf->info.task_queue = keep_string(wf, 2, a->task_queue ? a->task_queue->name : "");
    wf->info.continued_from_run_id =
        a->continued_execution_run_id && *a->continued_execution_run_id
            ? keep_string(wf, 3, a->continued_execution_run_id)
            : NULL;
    wf->info.attempt = a->attempt > 0 ? a->attempt : 1;
    wf->info.execution_timeout_ms = tlw_duration_ms(a->workflow_execution_timeout);
    wf->info.run_timeout_ms = tlw_duration_ms(a->workflow_run_timeout);
    if (first->event_time)
        wf->info.start_time_ms =
            first->event_time->seconds * 1000 + first->event_time->nanos / 1000000;
    wf->reg = tlw_config_workflow_registration(wf->cfg, type);
    if (!wf->reg) {
        char names[512];
        tlw_config_list_names(wf->cfg, false, names, sizeof names);
        tlw_run_fail_task(wf,
                          TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                          "workflow type \"%s\" is not registered with this worker (registered: %s)",
                          type, names);
        return false;
    }
    wf->args = payloads_value(wf, a->input);
    tlw_otel_run_context(wf->trace_context, sizeof wf->trace_context, a->header, wf->info.run_id,
                         wf->info.start_time_ms); /* OpenTelemetry */
    /* A seed every replay of this run agrees on. */
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = wf->info.run_id ? wf->info.run_id : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    wf->rng = h;
    return tlw_workflow_spawn(wf, main_fn, NULL) == TLW_OK;
}

/* Applies a result event: what it resolves becomes ready. */
static void apply_result(tlw_workflow *wf, const event *e)
{
    switch (e->attributes_case) {
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_ACTIVITY_TASK_COMPLETED_EVENT_ATTRIBUTES: {
        const Temporal__Api__History__V1__ActivityTaskCompletedEventAttributes *a =
            e->activity_task_completed_event_attributes;
        tlw_run_resolve(wf, activity_by_scheduled_id(wf, a->scheduled_event_id), TLW_OK,
                        result_value(wf, a->result), NULL, e->event_id);
        break;
    }
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_ACTIVITY_TASK_FAILED_EVENT_ATTRIBUTES: {
        const Temporal__Api__History__V1__ActivityTaskFailedEventAttributes *a =
            e->activity_task_failed_event_attributes;
        tlw_future *f = activity_by_scheduled_id(wf, a->scheduled_event_id);
        tlw_run_resolve(wf, f, TLW_ERR_FAILED, NULL,
                        activity_failure(wf, f, a->failure, "failed"), e->event_id);
        break;
    }
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_ACTIVITY_TASK_TIMED_OUT_EVENT_ATTRIBUTES: {
        const Temporal__Api__History__V1__ActivityTaskTimedOutEventAttributes *a =
            e->activity_task_timed_out_event_attributes;
        tlw_future *f = activity_by_scheduled_id(wf, a->scheduled_event_id);
        tlw_run_resolve(wf, f, TLW_ERR_FAILED, NULL,
                        activity_failure(wf, f, a->failure, "timed out"), e->event_id);
        break;
    }
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_ACTIVITY_TASK_CANCELED_EVENT_ATTRIBUTES: {
        const Temporal__Api__History__V1__ActivityTaskCanceledEventAttributes *a =
            e->activity_task_canceled_event_attributes;
        tlw_run_resolve(wf, activity_by_scheduled_id(wf, a->scheduled_event_id),
                        TLW_ERR_CANCELLED, NULL, NULL, e->event_id);
        break;
    }
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_TIMER_FIRED_EVENT_ATTRIBUTES:
        tlw_run_resolve(wf, timer_by_id(wf, e->timer_fired_event_attributes->timer_id), TLW_OK,
                        tlw_run_keep(wf, json_null()), NULL, e->event_id);
        break;
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_SIGNALED_EVENT_ATTRIBUTES: {
        const Temporal__Api__History__V1__WorkflowExecutionSignaledEventAttributes *a =
            e->workflow_execution_signaled_event_attributes;
        wf_signal *s = calloc(1, sizeof *s);
        if (!s)
            abort();
        s->name = strdup(a->signal_name ? a->signal_name : "");
        s->payload = payloads_value(wf, a->input);
        s->event_id = e->event_id;
        *wf->signals_tail = s;
        wf->signals_tail = &s->next;
        break;
    }
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_CANCEL_REQUESTED_EVENT_ATTRIBUTES:
        wf->cancel_requested = true;
        break;
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_CHILD_WORKFLOW_EXECUTION_COMPLETED_EVENT_ATTRIBUTES: {
        const Temporal__Api__History__V1__ChildWorkflowExecutionCompletedEventAttributes *a =
            e->child_workflow_execution_completed_event_attributes;
        tlw_run_resolve(wf, initiated_by(wf, FUT_CHILD, a->initiated_event_id), TLW_OK,
                        result_value(wf, a->result), NULL, e->event_id);
        break;
    }
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_CHILD_WORKFLOW_EXECUTION_FAILED_EVENT_ATTRIBUTES: {
        const Temporal__Api__History__V1__ChildWorkflowExecutionFailedEventAttributes *a =
            e->child_workflow_execution_failed_event_attributes;
        tlw_future *f = initiated_by(wf, FUT_CHILD, a->initiated_event_id);
        tlw_run_resolve(wf, f, TLW_ERR_FAILED, NULL, child_failure(wf, f, a->failure, "failed"),
                        e->event_id);
        break;
    }
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_CHILD_WORKFLOW_EXECUTION_CANCELED_EVENT_ATTRIBUTES:
        tlw_run_resolve(wf,
                        initiated_by(wf, FUT_CHILD,
                                     e->child_workflow_execution_canceled_event_attributes
                                         ->initiated_event_id),
                        TLW_ERR_CANCELLED, NULL, NULL, e->event_id);
        break;
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_CHILD_WORKFLOW_EXECUTION_TIMED_OUT_EVENT_ATTRIBUTES: {
        tlw_future *f = initiated_by(
            wf, FUT_CHILD, e->child_workflow_execution_timed_out_event_attributes->initiated_event_id);
        tlw_run_resolve(wf, f, TLW_ERR_FAILED, NULL, child_failure(wf, f, NULL, "timed out"),
                        e->event_id);
        break;
    }
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_CHILD_WORKFLOW_EXECUTION_TERMINATED_EVENT_ATTRIBUTES: {
        tlw_future *f = initiated_by(
            wf, FUT_CHILD,
            e->child_workflow_execution_terminated_event_attributes->initiated_event_id);
        tlw_run_resolve(wf, f, TLW_ERR_FAILED, NULL, child_failure(wf, f, NULL, "was terminated"),
                        e->event_id);
        break;
    }
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_START_CHILD_WORKFLOW_EXECUTION_FAILED_EVENT_ATTRIBUTES: {
        const Temporal__Api__History__V1__StartChildWorkflowExecutionFailedEventAttributes *a =
            e->start_child_workflow_execution_failed_event_attributes;
        tlw_future *f = initiated_by(wf, FUT_CHILD, a->initiated_event_id);
        char what[96];
        snprintf(what, sizeof what, "could not start (cause %d: a workflow with that id runs?)",
                 (int)a->cause);
        tlw_run_resolve(wf, f, TLW_ERR_FAILED, NULL, child_failure(wf, f, NULL, what),
                        e->event_id);
        break;
    }
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED_EVENT_ATTRIBUTES:
        tlw_run_resolve(wf,
                        initiated_by(wf, FUT_EXTERNAL_SIGNAL,
                                     e->external_workflow_execution_signaled_event_attributes
                                         ->initiated_event_id),
                        TLW_OK, tlw_run_keep(wf, json_null()), NULL, e->event_id);
        break;
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_EVENT_ATTRIBUTES: {
        const Temporal__Api__History__V1__SignalExternalWorkflowExecutionFailedEventAttributes *a =
            e->signal_external_workflow_execution_failed_event_attributes;
        tlw_failure *f = tlw_workflow_alloc(wf, sizeof *f);
        char *message = tlw_workflow_alloc(wf, 160);
        snprintf(message, 160, "the signal could not be delivered (cause %d: no such workflow?)",
                 (int)a->cause);
        f->message = message;
        f->type = "SignalExternalWorkflowError";
        tlw_run_resolve(wf, initiated_by(wf, FUT_EXTERNAL_SIGNAL, a->initiated_event_id),
                        TLW_ERR_FAILED, NULL, f, e->event_id);
        break;
    }
    default: break;
    }
}

static bool is_command_event(const event *e)
{
    switch (e->attributes_case) {
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_ACTIVITY_TASK_SCHEDULED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_ACTIVITY_TASK_CANCEL_REQUESTED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_TIMER_STARTED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_TIMER_CANCELED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_COMPLETED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_FAILED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_CANCELED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_CONTINUED_AS_NEW_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_MARKER_RECORDED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_START_CHILD_WORKFLOW_EXECUTION_INITIATED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED_EVENT_ATTRIBUTES:
        return true;
    default: return false;
    }
}

static bool is_result_or_ignored_event(const event *e)
{
    switch (e->attributes_case) {
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_ACTIVITY_TASK_COMPLETED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_ACTIVITY_TASK_FAILED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_ACTIVITY_TASK_TIMED_OUT_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_ACTIVITY_TASK_CANCELED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_ACTIVITY_TASK_STARTED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_TIMER_FIRED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_SIGNALED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_CANCEL_REQUESTED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_TASK_SCHEDULED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_TASK_COMPLETED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_TASK_FAILED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_TASK_TIMED_OUT_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_TASK_STARTED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_CHILD_WORKFLOW_EXECUTION_STARTED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_CHILD_WORKFLOW_EXECUTION_COMPLETED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_CHILD_WORKFLOW_EXECUTION_FAILED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_CHILD_WORKFLOW_EXECUTION_CANCELED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_CHILD_WORKFLOW_EXECUTION_TIMED_OUT_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_CHILD_WORKFLOW_EXECUTION_TERMINATED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_START_CHILD_WORKFLOW_EXECUTION_FAILED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED_EVENT_ATTRIBUTES:
    case TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_EVENT_ATTRIBUTES:
        return true;
    default: return false;
    }
}

static void free_run(tlw_workflow *wf)
{
    for (wf_coroutine *co = wf->coroutines, *next; co; co = next) {
        next = co->next;
        tlw_coro_free(co->coro);
        free(co);
    }
    for (tlw_future *f = wf->futures, *next; f; f = next) {
        next = f->next;
        free(f->signal_name);
        free(f);
    }
    for (wf_command *c = wf->pending, *next; c; c = next) {
        next = c->next;
        free_command(c);
    }
    for (wf_signal *s = wf->signals, *next; s; s = next) {
        next = s->next;
        free(s->name);
        free(s);
    }
    for (wf_query *q = wf->queries, *next; q; q = next) {
        next = q->next;
        free(q->name);
        free(q);
    }
    for (wf_patch *p = wf->patches, *next; p; p = next) {
        next = p->next;
        free(p->id);
        free(p);
    }
    for (size_t i = 0; i < wf->n_allocs; i++)
        free(wf->allocs[i]);
    free(wf->allocs);
    for (size_t i = 0; i < sizeof wf->strings / sizeof wf->strings[0]; i++)
        free(wf->strings[i]);
    json_decref(wf->owned);
    json_decref(wf->main_result);
    json_decref(wf->fail_details);
    json_decref(wf->can_args);
}

/* Answers one query with the run's handler for it. */
static void answer(tlw_workflow *wf, tlw_engine_query *q)
{
    q->answer = NULL;
    q->error[0] = '\0';
    wf_query *h = wf->queries;
    while (h && (strcmp(h->name, q->query_type ? q->query_type : "") != 0 || !h->fn))
        h = h->next;
    if (!h) {
        char known[256] = "";
        for (wf_query *k = wf->queries; k; k = k->next)
            if (k->fn)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                         known[0] ? ", " : "", k->name);
        snprintf(q->error, sizeof q->error,
                 "workflow %s has no handler for query \"%s\" (it has: %s)",
                 wf->info.workflow_type, q->query_type ? q->query_type : "",
                 known[0] ? known : "none");
        return;
    }
    json_t *args = NULL;
    tlw_error err;
    if (tlw_payloads_to_json(q->args, &args, &err) != TLW_OK) {
        snprintf(q->error, sizeof q->error, "the query's arguments cannot be decoded: %.400s",
                 err.message);
        return;
    }
    json_t *result = NULL;
    tlw_status st = h->fn(wf, args, &result, h->arg);
    json_decref(args);
    if (st != TLW_OK) {
        json_decref(result);
        snprintf(q->error, sizeof q->error, "query handler %s returned \"%s\"", h->name,
                 tlw_status_name(st));
        return;
    }
    q->answer = result ? result : json_null();
}

struct tlw_engine_run {
    tlw_workflow wf;
    bool started;
    int64_t last_event_id; /* the last event fed */
};

tlw_engine_run *tlw_engine_run_new(const tlw_config *cfg, const char *namespace_name,
                                   const char *workflow_id, const char *run_id)
{
    tlw_engine_run *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    tlw_workflow *wf = &r->wf;
    wf->cfg = cfg;
    wf->owned = json_array();
    wf->info.workflow_id = keep_string(wf, 4, workflow_id ? workflow_id : "");
    wf->info.run_id = keep_string(wf, 5, run_id ? run_id : "");
    wf->info.namespace_name = keep_string(wf, 1, namespace_name ? namespace_name : "");
    wf->co_tail = &wf->coroutines;
    wf->pending_tail = &wf->pending;
    wf->signals_tail = &wf->signals;
    long long stack_kb = cfg->settings.worker.workflow_stack_kb.value;
    wf->stack_size = stack_kb > 0 ? (size_t)stack_kb * 1024 : DEFAULT_STACK_SIZE;
    return r;
}

int64_t tlw_engine_run_last_event_id(const tlw_engine_run *r)
{
    return r->last_event_id;
}

bool tlw_engine_run_reusable(const tlw_engine_run *r)
{
    return r->started && !r->wf.task_failed && !r->wf.completed;
}

void tlw_engine_run_free(tlw_engine_run *r)
{
    if (!r)
        return;
    free_run(&r->wf);
    free(r);
}

/* Fails the task if the code produced a command that history, at the start
 * of the task at event `e`, does not have. */
static bool nothing_left_over(tlw_workflow *wf, const event *e)
{
    if (!wf->pending)
        return true;
    char code_did[256];
    describe_command(wf->pending->pb, code_did, sizeof code_did);
    tlw_run_fail_task(wf,
                      TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR,
                      "nondeterminism before event %lld: the workflow code did %s, which history "
                      "does not have",
                      (long long)e->event_id, code_did);
    return false;
}

void tlw_engine_run_feed(tlw_engine_run *r, Temporal__Api__History__V1__HistoryEvent *const *events,
                         size_t n_events, tlw_engine_query *queries, size_t n_queries,
                         tlw_engine_result *out)
{
    *out = (tlw_engine_result){0};
    tlw_workflow *wf = &r->wf;
    /* Commands this run handed out last time were sent: the events of that
     * completion come first in this batch and must match them. */
    for (wf_command *c = wf->pending; c; c = c->next)
        c->sent = true;
    size_t first = 0;
    if (!r->started) {
        if (n_events == 0) {
            tlw_run_fail_task(wf,
                              TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                              "the workflow task came with an empty history");
        } else {
            r->started = true;
            r->last_event_id = events[0]->event_id;
            start_run(wf, wf->info.namespace_name, events[0]);
            first = 1;
        }
    }
    /* The last WorkflowTaskStarted of the batch is the task to answer. */
    size_t last_started = n_events;
    for (size_t i = n_events; i-- > first;)
        if (events[i]->event_type ==
            TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_WORKFLOW_TASK_STARTED) {
            last_started = i;
            break;
        }
    for (size_t i = first; i < n_events && !wf->task_failed; i++) {
        const event *e = events[i];
        r->last_event_id = e->event_id;
        if (e->event_type == TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_WORKFLOW_TASK_STARTED) {
            bool completed_in_history =
                i + 1 < n_events &&
                events[i + 1]->event_type ==
                    TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_WORKFLOW_TASK_COMPLETED;
            if (i == last_started && !completed_in_history) {
                if (nothing_left_over(wf, e))
                    activate(wf, e, false);
                break;
            }
            if (completed_in_history) {
                /* What this task recorded: the events up to the next task. */
                size_t end = i + 1;
                while (end < n_events &&
                       events[end]->event_type !=
                           TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_WORKFLOW_TASK_STARTED)
                    end++;
                wf->upcoming = events + i + 1;
                wf->n_upcoming = end - i - 1;
                if (!nothing_left_over(wf, e))
                    break;
                activate(wf, e, true);
                wf->upcoming = NULL;
                wf->n_upcoming = 0;
            }
            continue;
        }
        if (is_command_event(e)) {
            match_command_event(wf, e);
            continue;
        }
        if (is_result_or_ignored_event(e)) {
            apply_result(wf, e);
            continue;
        }
        if (!e->worker_may_ignore)
            tlw_run_fail_task(wf,
                              TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                              "history event %lld is of a type this worker does not handle yet "
                              "(event type %d)",
                              (long long)e->event_id, (int)e->event_type);
    }
    if (!wf->task_failed)
        for (size_t q = 0; q < n_queries; q++)
            answer(wf, &queries[q]);
    if (wf->task_failed) {
        out->task_failed = true;
        out->cause = wf->cause;
        snprintf(out->message, sizeof out->message, "%s", wf->task_message);
        return;
    }
    /* The new commands: those not sent before (the run keeps them, to
     * match their events in the next batch). */
    size_t n = 0;
    for (wf_command *c = wf->pending; c; c = c->next)
        n += !c->sent;
    out->commands = n ? calloc(n, sizeof *out->commands) : NULL;
    for (wf_command *c = wf->pending; c && out->commands; c = c->next)
        if (!c->sent)
            out->commands[out->n_commands++] = c->pb;
    out->versioning_behavior =
        wf->reg ? tlw_config_versioning_behavior(wf->cfg, wf->reg) : TLW_VERSIONING_UNSPECIFIED;
    out->start_time_ms = wf->info.start_time_ms;
}

void tlw_engine_replay_and_query(const tlw_config *cfg, const char *namespace_name,
                                 const char *workflow_id, const char *run_id,
                                 Temporal__Api__History__V1__HistoryEvent *const *events,
                                 size_t n_events, tlw_engine_query *queries, size_t n_queries,
                                 tlw_engine_result *out)
{
    tlw_engine_run *r = tlw_engine_run_new(cfg, namespace_name, workflow_id, run_id);
    if (!r) {
        *out = (tlw_engine_result){.task_failed = true,
                                   .cause = TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE};
        snprintf(out->message, sizeof out->message, "out of memory replaying a workflow");
        return;
    }
    tlw_engine_run_feed(r, events, n_events, queries, n_queries, out);
    /* The run goes: the result takes its commands. */
    for (size_t i = 0; i < out->n_commands; i++)
        for (wf_command *c = r->wf.pending; c; c = c->next)
            if (c->pb == out->commands[i])
                c->pb = NULL;
    out->owns_commands = true;
    tlw_engine_run_free(r);
}

void tlw_engine_replay(const tlw_config *cfg, const char *namespace_name,
                       const char *workflow_id, const char *run_id,
                       Temporal__Api__History__V1__HistoryEvent *const *events, size_t n_events,
                       tlw_engine_result *out)
{
    tlw_engine_replay_and_query(cfg, namespace_name, workflow_id, run_id, events, n_events, NULL,
                                0, out);
}

void tlw_engine_result_free(tlw_engine_result *r)
{
    if (r->owns_commands)
        for (size_t i = 0; i < r->n_commands; i++)
            protobuf_c_message_free_unpacked(&r->commands[i]->base, NULL);
    free(r->commands);
    r->commands = NULL;
    r->n_commands = 0;
}
