#include "config.h"

#include "worker/otel_slot.h"

#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
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
