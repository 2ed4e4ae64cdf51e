#include "config.h"

#include "worker/otel_slot.h"

#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/spans.h"
#include "conf/worker_config.h"
#include "worker/rpc.h"
#include "worker/service.h"

/* gRPC's canonical status names (grpc_status_code order), the values of the
 * status_code label. */
static const char *status_name(int code)
{
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    return code >= 0 && code < (int)(sizeof names / sizeof names[0]) ? names[code] : "UNKNOWN";
}

/* The spans this slot finished, sent with the metrics as it exits (tasks
 * run on the slot's main thread only). */
static tlw_spans slot_spans;

static bool all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

/* The trace context a Temporal header carries under "_tracer-data", as
 * OpenTelemetry interceptors of Temporal's SDKs write it: a json/plain
 * payload of the propagator's carrier, {"traceparent": "00-...", ...}.
 * False when there is none (or it is not that). */
static bool header_context(const Temporal__Api__Common__V1__Header *h, uint8_t trace_id[16],
                           uint8_t span_id[8])
{
    if (!h)
        return false;
    for (size_t i = 0; i < h->n_fields; i++) {
        const Temporal__Api__Common__V1__Payload *p = h->fields[i]->value;
        if (strcmp(h->fields[i]->key, "_tracer-data") != 0 || !p)
            continue;
        bool json = false;
        for (size_t k = 0; k < p->n_metadata; k++)
            if (strcmp(p->metadata[k]->key, "encoding") == 0 && p->metadata[k]->value.len == 10 &&
                memcmp(p->metadata[k]->value.data, "json/plain", 10) == 0)
                json = true;
        if (!json)
            return false;
        json_t *carrier = json_loadb((const char *)p->data.data, p->data.len, 0, NULL);
        const char *tp = json_string_value(json_object_get(carrier, "traceparent"));
        bool ok = tp && tlw_trace_parse_traceparent(tp, trace_id, span_id);
        json_decref(carrier);
        return ok;
    }
    return false;
}

/* A span that ended now and ran for `run_ms`: the child of the header's
 * context if there is one, else the root of a new (X-Ray-compatible) trace. */
static void start_span(tlw_span *s, const Temporal__Api__Common__V1__Header *h, int64_t run_ms)
{
    memset(s, 0, sizeof *s);
    int64_t now = tlw_wall_ms();
    if (!header_context(h, s->trace_id, s->parent_span_id)) {
        tlw_trace_new_trace_id(s->trace_id, now);
        memset(s->parent_span_id, 0, sizeof s->parent_span_id);
    }
    tlw_trace_new_span_id(s->span_id);
    s->kind = TLW_SPAN_KIND_INTERNAL;
    s->end_ns = (uint64_t)now * 1000000u;
    s->start_ns = s->end_ns - (uint64_t)(run_ms > 0 ? run_ms : 0) * 1000000u;
}

void tlw_otel_slot_start(const tlw_slot_spec *spec)
{
    if (!spec->config->settings.worker.otel_enabled.value)
        return;
    tlw_metrics_process_enable(tlw_wall_ms());
    tlw_rpc_set_observer(tlw_otel_record_call);
    tlw_metric_label l = {"worker_type", spec->kind == TLW_IPC_SLOT_ACTIVITY ? "ActivityWorker"
                                                                             : "WorkflowWorker"};
    tlw_metrics_add(tlw_metrics_process(), TLW_M_WORKER_START, &l, 1, 1);
}

void tlw_otel_record_call(const char *method, int grpc_code, int64_t ms)
{
    tlw_metrics *m = tlw_metrics_process();
    if (!m || grpc_code < 0) /* cancelled before it was made */
        return;
    const char *slash = strrchr(method, '/');
    const char *operation = slash ? slash + 1 : method;
    /* The long polls are "long requests", as in Temporal's SDKs. */
    bool long_poll = strncmp(operation, "Poll", 4) == 0;
    tlw_metric_label l[2] = {{"operation", operation}, {"status_code", status_name(grpc_code)}};
    tlw_metrics_add(m, long_poll ? TLW_M_LONG_REQUEST : TLW_M_REQUEST, l, 1, 1);
    tlw_metrics_record(m, long_poll ? TLW_M_LONG_REQUEST_LATENCY : TLW_M_REQUEST_LATENCY, l, 1,
                       (double)ms);
    if (grpc_code != 0)
        tlw_metrics_add(m, long_poll ? TLW_M_LONG_REQUEST_FAILURE : TLW_M_REQUEST_FAILURE, l, 2, 1);
}

void tlw_otel_record_poll(tlw_ipc_task_kind kind, bool got_task)
{
    tlw_metrics *m = tlw_metrics_process();
    if (!m)
        return;
    if (kind == TLW_IPC_TASK_ACTIVITY) {
        tlw_metric_label l = {"poller_type", "activity_task"};
        tlw_metrics_add(m, got_task ? TLW_M_ACTIVITY_TASK_RECEIVED : TLW_M_ACTIVITY_POLL_NO_TASK,
                        got_task ? NULL : &l, got_task ? 0 : 1, 1);
    } else {
        tlw_metrics_add(m,
                        got_task ? TLW_M_WORKFLOW_TASK_QUEUE_POLL_SUCCEED
                                 : TLW_M_WORKFLOW_TASK_QUEUE_POLL_EMPTY,
                        NULL, 0, 1);
    }
}

/* Milliseconds from `a` to `b`; -1 if either is missing. */
static int64_t between_ms(const Google__Protobuf__Timestamp *a,
                          const Google__Protobuf__Timestamp *b)
{
    if (!a || !b)
        return -1;
    return (b->seconds - a->seconds) * 1000 + (b->nanos - a->nanos) / 1000000;
}

static int64_t since_ms(const Google__Protobuf__Timestamp *a)
{
    if (!a)
        return -1;
    return tlw_wall_ms() - (a->seconds * 1000 + a->nanos / 1000000);
}

void tlw_otel_activity_task(const void *task_ptr, tlw_ipc_outcome outcome, int64_t run_ms)
{
    tlw_metrics *m = tlw_metrics_process();
    if (!m)
        return;
    const tlw_activity_task *task = task_ptr;
    tlw_metric_label l = {"activity_type", task->activity_type ? task->activity_type->name : ""};
    tlw_metrics_record(m, TLW_M_ACTIVITY_EXECUTION_LATENCY, &l, 1, (double)run_ms);
    int64_t s2s = between_ms(task->current_attempt_scheduled_time, task->started_time);
    if (s2s >= 0)
        tlw_metrics_record(m, TLW_M_ACTIVITY_SCHEDULE_TO_START_LATENCY, &l, 1, (double)s2s);
    if (outcome == TLW_IPC_OUTCOME_COMPLETED) {
        int64_t e2e = since_ms(task->scheduled_time);
        if (e2e >= 0)
            tlw_metrics_record(m, TLW_M_ACTIVITY_SUCCEED_ENDTOEND_LATENCY, &l, 1, (double)e2e);
    } else if (outcome != TLW_IPC_OUTCOME_CANCELED) {
        tlw_metrics_add(m, TLW_M_ACTIVITY_EXECUTION_FAILED, &l, 1, 1);
    }

    /* As the interceptors of Temporal's SDKs name and describe it. */
    tlw_span s;
    start_span(&s, task->header, run_ms);
    snprintf(s.name, sizeof s.name, "RunActivity:%s", l.value);
    s.status = outcome == TLW_IPC_OUTCOME_COMPLETED ? TLW_SPAN_STATUS_UNSET : TLW_SPAN_STATUS_ERROR;
    const Temporal__Api__Common__V1__WorkflowExecution *wf = task->workflow_execution;
    tlw_span_attr(&s, "temporalWorkflowID", wf ? wf->workflow_id : "");
    tlw_span_attr(&s, "temporalRunID", wf ? wf->run_id : "");
    tlw_span_attr(&s, "temporalActivityID", task->activity_id);
    tlw_spans_add(&slot_spans, &s);
}

void tlw_otel_executor_died(const void *task_ptr, int wait_status)
{
    tlw_metrics *m = tlw_metrics_process();
    if (!m)
        return;
    const tlw_activity_task *task = task_ptr;
    char sig[32] = "exit";
    if (WIFSIGNALED(wait_status)) {
        const char *abbrev = sigabbrev_np(WTERMSIG(wait_status));
        if (abbrev)
            snprintf(sig, sizeof sig, "SIG%s", abbrev);
        else
            snprintf(sig, sizeof sig, "%d", WTERMSIG(wait_status));
    }
    tlw_metric_label l[2] = {
        {"activity_type", task->activity_type ? task->activity_type->name : ""},
        {"signal", sig},
    };
    tlw_metrics_add(m, TLW_M_TLW_EXECUTOR_CRASHES, l, 2, 1);
}

void tlw_otel_workflow_task(const void *task_ptr, tlw_ipc_outcome outcome, int64_t run_ms)
{
    tlw_metrics *m = tlw_metrics_process();
    if (!m)
        return;
    const tlw_workflow_task *task = task_ptr;
    tlw_metric_label l = {"workflow_type", task->workflow_type ? task->workflow_type->name : ""};
    tlw_metrics_record(m, TLW_M_WORKFLOW_TASK_EXECUTION_LATENCY, &l, 1, (double)run_ms);
    int64_t s2s = between_ms(task->scheduled_time, task->started_time);
    if (s2s >= 0)
        tlw_metrics_record(m, TLW_M_WORKFLOW_TASK_SCHEDULE_TO_START_LATENCY, &l, 1, (double)s2s);
    if (outcome != TLW_IPC_OUTCOME_COMPLETED) {
        tlw_metric_label f[2] = {l, {"failure_reason", tlw_ipc_outcome_name(outcome)}};
        tlw_metrics_add(m, TLW_M_WORKFLOW_TASK_EXECUTION_FAILED, f, 2, 1);
    }

    /* RunWorkflow:<type> once per run, for its first task (as the SDKs'
     * interceptors, which make none while replaying), continuing the trace
     * its starter put in the WorkflowExecutionStarted header. */
    const Temporal__Api__History__V1__HistoryEvent *first =
        task->history && task->history->n_events ? task->history->events[0] : NULL;
    if (task->previous_started_event_id != 0 || !first ||
        first->attributes_case !=
            TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_STARTED_EVENT_ATTRIBUTES)
        return;
    /* Its ids are the run's (tlw_otel_run_context), so that the activities
     * its commands start are its children. */
    tlw_span s;
    start_span(&s, first->workflow_execution_started_event_attributes->header, run_ms);
    const char *run_id = task->workflow_execution ? task->workflow_execution->run_id : "";
    int64_t started_ms =
        first->event_time ? first->event_time->seconds * 1000 + first->event_time->nanos / 1000000
                          : 0;
    if (all_zero(s.parent_span_id, 8))
        tlw_trace_trace_id_from(run_id, started_ms, s.trace_id);
    tlw_trace_span_id_from(run_id, s.span_id);
    snprintf(s.name, sizeof s.name, "RunWorkflow:%s", l.value);
    s.status = outcome == TLW_IPC_OUTCOME_COMPLETED ? TLW_SPAN_STATUS_UNSET : TLW_SPAN_STATUS_ERROR;
    const Temporal__Api__Common__V1__WorkflowExecution *wf = task->workflow_execution;
    tlw_span_attr(&s, "temporalWorkflowID", wf ? wf->workflow_id : "");
    tlw_span_attr(&s, "temporalRunID", wf ? wf->run_id : "");
    tlw_spans_add(&slot_spans, &s);
}

static void record_start_span(const tlw_workflow_task *task, const char *prefix, const char *type,
                              const Temporal__Api__Common__V1__Header *h);

void tlw_otel_workflow_commands(const void *task_ptr,
                                Temporal__Api__Command__V1__Command *const *commands, size_t n,
                                int64_t start_time_ms, int64_t replay_ms)
{
    tlw_metrics *m = tlw_metrics_process();
    if (!m)
        return;
    const tlw_workflow_task *task = task_ptr;
    tlw_metric_label l = {"workflow_type", task->workflow_type ? task->workflow_type->name : ""};
    if (replay_ms >= 0)
        tlw_metrics_record(m, TLW_M_WORKFLOW_TASK_REPLAY_LATENCY, &l, 1, (double)replay_ms);
    for (size_t i = 0; i < n; i++) {
        tlw_metric_id id;
        switch (commands[i]->command_type) {
        case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION:
            id = TLW_M_WORKFLOW_COMPLETED;
            break;
        case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
            id = TLW_M_WORKFLOW_FAILED;
            break;
        case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
            id = TLW_M_WORKFLOW_CANCELED;
            break;
        case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
            id = TLW_M_WORKFLOW_CONTINUE_AS_NEW;
            break;
        case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: {
            const Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes *a =
                commands[i]->schedule_activity_task_command_attributes;
            if (a)
                record_start_span(task, "StartActivity",
                                  a->activity_type ? a->activity_type->name : "", a->header);
            continue;
        }
        case TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: {
            const Temporal__Api__Command__V1__StartChildWorkflowExecutionCommandAttributes *a =
                commands[i]->start_child_workflow_execution_command_attributes;
            if (a)
                record_start_span(task, "StartChildWorkflow",
                                  a->workflow_type ? a->workflow_type->name : "", a->header);
            continue;
        }
        default: continue;
        }
        tlw_metrics_add(m, id, &l, 1, 1);
        /* As sdk-core: the end-to-end latency of runs that completed. */
        if (id == TLW_M_WORKFLOW_COMPLETED && start_time_ms > 0)
            tlw_metrics_record(m, TLW_M_WORKFLOW_ENDTOEND_LATENCY, &l, 1,
                               (double)(tlw_wall_ms() - start_time_ms));
    }
}

/* The span of a command that starts something (an activity, a child
 * workflow), as the SDKs' interceptors make one: its ids are in the
 * command's header (tlw_otel_header), its parent is the run's span. */
static void record_start_span(const tlw_workflow_task *task, const char *prefix, const char *type,
                              const Temporal__Api__Common__V1__Header *h)
{
    tlw_span s;
    memset(&s, 0, sizeof s);
    if (!header_context(h, s.trace_id, s.span_id))
        return;
    const Temporal__Api__Common__V1__WorkflowExecution *wf = task->workflow_execution;
    tlw_trace_span_id_from(wf ? wf->run_id : "", s.parent_span_id);
    s.kind = TLW_SPAN_KIND_INTERNAL;
    s.start_ns = s.end_ns = (uint64_t)tlw_wall_ms() * 1000000u;
    snprintf(s.name, sizeof s.name, "%s:%s", prefix, type ? type : "");
    tlw_span_attr(&s, "temporalWorkflowID", wf ? wf->workflow_id : "");
    tlw_span_attr(&s, "temporalRunID", wf ? wf->run_id : "");
    tlw_spans_add(&slot_spans, &s);
}

void tlw_otel_run_context(char *out, size_t size,
                          const Temporal__Api__Common__V1__Header *started_header,
                          const char *run_id, int64_t start_time_ms)
{
    if (size)
        out[0] = '\0';
    if (!tlw_metrics_process() || size < 56)
        return;
    uint8_t trace_id[16], parent[8], span_id[8];
    if (!header_context(started_header, trace_id, parent))
        tlw_trace_trace_id_from(run_id ? run_id : "", start_time_ms, trace_id);
    tlw_trace_span_id_from(run_id ? run_id : "", span_id);
    tlw_trace_format_traceparent(trace_id, span_id, out);
}

Temporal__Api__Common__V1__Header *tlw_otel_header(const char *run_context, const char *what)
{
    uint8_t trace_id[16], run_span[8], span_id[8];
    if (!run_context || !tlw_trace_parse_traceparent(run_context, trace_id, run_span))
        return NULL;
    char seed[400], traceparent[56];
    snprintf(seed, sizeof seed, "%s/%s", run_context, what);
    tlw_trace_span_id_from(seed, span_id);
    tlw_trace_format_traceparent(trace_id, span_id, traceparent);
    json_t *carrier = json_pack("{s:s}", "traceparent", traceparent);
    char *data = carrier ? json_dumps(carrier, JSON_COMPACT) : NULL;
    json_decref(carrier);
    Temporal__Api__Common__V1__Header *h = malloc(sizeof *h);
    Temporal__Api__Common__V1__Header__FieldsEntry **fields = malloc(sizeof *fields);
    Temporal__Api__Common__V1__Header__FieldsEntry *entry = malloc(sizeof *entry);
    Temporal__Api__Common__V1__Payload *p = malloc(sizeof *p);
    Temporal__Api__Common__V1__Payload__MetadataEntry **meta = malloc(sizeof *meta);
    Temporal__Api__Common__V1__Payload__MetadataEntry *enc = malloc(sizeof *enc);
    char *key = strdup("_tracer-data"), *enc_key = strdup("encoding");
    uint8_t *enc_value = malloc(10);
    if (!data || !h || !fields || !entry || !p || !meta || !enc || !key || !enc_key || !enc_value) {
        free(data), free(h), free(fields), free(entry), free(p), free(meta), free(enc);
        free(key), free(enc_key), free(enc_value);
        return NULL;
    }
    memcpy(enc_value, "json/plain", 10);
    *enc = (Temporal__Api__Common__V1__Payload__MetadataEntry)
        TEMPORAL__API__COMMON__V1__PAYLOAD__METADATA_ENTRY__INIT;
    enc->key = enc_key;
    enc->value = (ProtobufCBinaryData){.len = 10, .data = enc_value};
    meta[0] = enc;
    *p = (Temporal__Api__Common__V1__Payload)TEMPORAL__API__COMMON__V1__PAYLOAD__INIT;
    p->metadata = meta;
    p->n_metadata = 1;
    p->data = (ProtobufCBinaryData){.len = strlen(data), .data = (uint8_t *)data};
    *entry = (Temporal__Api__Common__V1__Header__FieldsEntry)
        TEMPORAL__API__COMMON__V1__HEADER__FIELDS_ENTRY__INIT;
    entry->key = key;
    entry->value = p;
    fields[0] = entry;
    *h = (Temporal__Api__Common__V1__Header)TEMPORAL__API__COMMON__V1__HEADER__INIT;
    h->fields = fields;
    h->n_fields = 1;
    return h;
}

void tlw_otel_record_cache(bool hit, uint64_t size)
{
    tlw_metrics *m = tlw_metrics_process();
    if (!m)
        return;
    tlw_metrics_add(m, hit ? TLW_M_STICKY_CACHE_HIT : TLW_M_STICKY_CACHE_MISS, NULL, 0, 1);
    tlw_metrics_set(m, TLW_M_STICKY_CACHE_SIZE, NULL, 0, (double)size);
}

void tlw_otel_slot_flush_metrics(int fd)
{
    tlw_metrics *m = tlw_metrics_process();
    if (!m)
        return;
    size_t cursor = 0;
    for (;;) {
        tlw_ipc_msg msg = {.type = TLW_IPC_METRICS};
        size_t len = 0, before = cursor;
        tlw_error err;
        if (tlw_metrics_take(m, &cursor, msg.metrics.data, sizeof msg.metrics.data, &len, &err) !=
                TLW_OK ||
            cursor == before)
            break;
        if (len <= 4) /* only series with nothing new */
            continue;
        msg.metrics.len = (uint32_t)len;
        if (tlw_ipc_send(fd, &msg, &err) != TLW_OK) {
            tlw_log_warn("cannot send the metrics to the supervisor: %s", err.message);
            return;
        }
    }
}

void tlw_otel_slot_flush(int fd)
{
    tlw_metrics *m = tlw_metrics_process();
    if (!m)
        return;
    for (size_t i = 0; i < slot_spans.count; i++) {
        tlw_ipc_msg msg = {.type = TLW_IPC_SPAN};
        msg.span.len = (uint32_t)tlw_span_encode(&slot_spans.items[i], msg.span.data);
        tlw_error err;
        if (tlw_ipc_send(fd, &msg, &err) != TLW_OK) {
            tlw_log_warn("cannot send a trace span to the supervisor: %s", err.message);
            break;
        }
    }
    tlw_spans_free(&slot_spans);
    tlw_otel_slot_flush_metrics(fd);
    if (tlw_metrics_dropped(m))
        tlw_log_warn("%llu metric series dropped (more than %d, or out of memory)",
                     (unsigned long long)tlw_metrics_dropped(m), TLW_METRICS_SERIES_MAX);
}
