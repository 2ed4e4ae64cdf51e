#include "config.h"

#include "worker/otel_slot.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/spans.h"
#include "conf/worker_config.h"
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
    tlw_metric_label l = {"worker_type", spec->kind == TLW_IPC_SLOT_ACTIVITY ? "ActivityWorker"
                                                                             : "WorkflowWorker"};
    tlw_metrics_add(tlw_metrics_process(), TLW_M_WORKER_START, &l, 1, 1);
}

void tlw_otel_record_call(const char *method, int grpc_code, int64_t ms)
{
    tlw_metrics *m = tlw_metrics_process();
    if (!m)
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
    if (outcome == TLW_IPC_OUTCOME_CRASHED)
        tlw_metrics_add(m, TLW_M_TLW_EXECUTOR_CRASHES, &l, 1, 1);

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
    tlw_span s;
    start_span(&s, first->workflow_execution_started_event_attributes->header, run_ms);
    snprintf(s.name, sizeof s.name, "RunWorkflow:%s", l.value);
    s.status = outcome == TLW_IPC_OUTCOME_COMPLETED ? TLW_SPAN_STATUS_UNSET : TLW_SPAN_STATUS_ERROR;
    const Temporal__Api__Common__V1__WorkflowExecution *wf = task->workflow_execution;
    tlw_span_attr(&s, "temporalWorkflowID", wf ? wf->workflow_id : "");
    tlw_span_attr(&s, "temporalRunID", wf ? wf->run_id : "");
    tlw_spans_add(&slot_spans, &s);
}

void tlw_otel_record_cache(bool hit, uint64_t size)
{
    tlw_metrics *m = tlw_metrics_process();
    if (!m)
        return;
    tlw_metrics_add(m, hit ? TLW_M_STICKY_CACHE_HIT : TLW_M_STICKY_CACHE_MISS, NULL, 0, 1);
    tlw_metrics_set(m, TLW_M_STICKY_CACHE_SIZE, NULL, 0, (double)size);
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
    size_t cursor = 0, total = tlw_metrics_series_count(m);
    while (cursor < total) {
        tlw_ipc_msg msg = {.type = TLW_IPC_METRICS};
        size_t len = 0, before = cursor;
        tlw_error err;
        if (tlw_metrics_encode(m, &cursor, msg.metrics.data, sizeof msg.metrics.data, &len, &err) !=
                TLW_OK ||
            cursor == before)
            break;
        msg.metrics.len = (uint32_t)len;
        if (tlw_ipc_send(fd, &msg, &err) != TLW_OK) {
            tlw_log_warn("cannot send the metrics to the supervisor: %s", err.message);
            return;
        }
    }
    if (tlw_metrics_dropped(m))
        tlw_log_warn("%llu metric series dropped (more than %d, or out of memory)",
                     (unsigned long long)tlw_metrics_dropped(m), TLW_METRICS_SERIES_MAX);
}
