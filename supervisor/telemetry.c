#include "config.h"

#include "supervisor/telemetry.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/proc.h"

void tlw_telemetry_child_metrics(const tlw_supervisor_ops *ops, const tlw_ipc_metrics *msg)
{
    if (!ops->metrics)
        return;
    tlw_error err;
    /* The decoder already checked it; a failure here would be a bug. */
    if (tlw_metrics_merge(ops->metrics, msg->data, msg->len, &err) != TLW_OK)
        tlw_log_error("cannot merge a worker's metrics: %s", err.message);
}

void tlw_telemetry_child_span(const tlw_supervisor_ops *ops, const tlw_ipc_span *msg)
{
    if (!ops->spans)
        return;
    tlw_span s;
    tlw_error err;
    if (tlw_span_decode(msg->data, msg->len, &s, &err) != TLW_OK) {
        tlw_log_error("cannot keep a worker's span: %s", err.message);
        return;
    }
    tlw_spans_add(ops->spans, &s);
}

/* The invocation's own span, as the OpenTelemetry FaaS conventions describe
 * a function's invocation, in a trace of its own (X-Ray-compatible id),
 * linked to the trace Lambda gave the invocation (_X_AMZN_TRACE_ID). */
static void record_invocation_span(const tlw_supervisor_ops *ops, const tlw_config *cfg,
                                   const tlw_invocation *inv, bool cold, int64_t started_ms)
{
    tlw_span s;
    memset(&s, 0, sizeof s);
    int64_t now = ops->now_ms(ops->ctx);
    tlw_trace_new_trace_id(s.trace_id, started_ms);
    tlw_trace_new_span_id(s.span_id);
    if (inv->trace_id && tlw_trace_parse_xray(inv->trace_id, s.link_trace_id, s.link_span_id))
        s.has_link = true;
    const char *fn = getenv("AWS_LAMBDA_FUNCTION_NAME");
    snprintf(s.name, sizeof s.name, "%s", fn && *fn ? fn : "invocation");
    s.kind = TLW_SPAN_KIND_SERVER;
    s.start_ns = (uint64_t)started_ms * 1000000u;
    s.end_ns = (uint64_t)(now > started_ms ? now : started_ms) * 1000000u;
    tlw_span_attr(&s, "faas.invocation_id", inv->request_id ? inv->request_id : "");
    tlw_span_attr(&s, "faas.coldstart", cold ? "true" : "false");
    tlw_span_attr(&s, "faas.trigger", "other");
    if (inv->function_arn && *inv->function_arn)
        tlw_span_attr(&s, "cloud.resource_id", inv->function_arn);
    tlw_spans_add(ops->spans, &s);
}

static void record_own(tlw_metrics *m, const tlw_invocation_summary *s, bool cold)
{
    tlw_metrics_add(m, TLW_M_TLW_INVOCATIONS, NULL, 0, 1);
    if (cold)
        tlw_metrics_add(m, TLW_M_TLW_COLD_STARTS, NULL, 0, 1);
    if (s->restarts)
        tlw_metrics_add(m, TLW_M_TLW_SLOT_RESTARTS, NULL, 0, s->restarts);
    if (s->recovered_tasks)
        tlw_metrics_add(m, TLW_M_TLW_RECOVERED_TASKS, NULL, 0, s->recovered_tasks);
    if (s->drain_ms > 0)
        tlw_metrics_record(m, TLW_M_TLW_DRAIN_DURATION, NULL, 0, (double)s->drain_ms);
    if (s->work_window_ms >= 0)
        tlw_metrics_record(m, TLW_M_TLW_WORK_WINDOW, NULL, 0, (double)s->work_window_ms);
    /* Each slot is one poller and one task slot; when the invocation ends
     * they are all free again. */
    static const struct {
        tlw_ipc_slot_kind kind;
        const char *poller_type, *worker_type;
    } kinds[] = {{TLW_IPC_SLOT_WORKFLOW, "workflow_task", "WorkflowWorker"},
                 {TLW_IPC_SLOT_ACTIVITY, "activity_task", "ActivityWorker"}};
    for (size_t i = 0; i < 2; i++) {
        tlw_metric_label p = {"poller_type", kinds[i].poller_type};
        tlw_metric_label w = {"worker_type", kinds[i].worker_type};
        double slots = (double)s->slots[kinds[i].kind];
        tlw_metrics_set(m, TLW_M_NUM_POLLERS, &p, 1, slots);
        tlw_metrics_set(m, TLW_M_WORKER_TASK_SLOTS_AVAILABLE, &w, 1, slots);
        tlw_metrics_set(m, TLW_M_WORKER_TASK_SLOTS_USED, &w, 1, 0);
    }
}

/* Forks the exporter; it holds the write end of `done` until it exits, so
 * the supervisor sees its end as the pipe's end, with poll()'s timeout as
 * the bound. Returns its pid, or -1. */
static pid_t fork_exporter(const tlw_supervisor_ops *ops, const tlw_config *cfg, int done_fd,
                           int64_t export_by_ms)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0) {
        if (pid > 0)
            setpgid(pid, pid);
        return pid;
    }
    setpgid(0, 0);
    tlw_close_fds_except(NULL, done_fd);
    tlw_reset_signals();
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    int rc = ops->otel_export(cfg, ops->metrics, ops->spans, export_by_ms);
    fflush(NULL);
    _exit(rc);
}

static void export_bounded(const tlw_supervisor_ops *ops, const tlw_config *cfg,
                           int64_t final_at_ms)
{
    const tlw_worker_settings *w = &cfg->settings.worker;
    int64_t now = ops->now_ms(ops->ctx);
    int64_t by = now + w->otel_export_timeout_ms.value;
    if (final_at_ms != TLW_NO_DEADLINE && final_at_ms < by)
        by = final_at_ms;
    if (by - now < 20) {
        tlw_log_warn("no time left to export the OpenTelemetry data to %s before the "
                     "invocation's deadline; it goes with the next export",
                     w->otel_endpoint.value);
        tlw_metrics_add(ops->metrics, TLW_M_TLW_EXPORT_FAILURES, NULL, 0, 1);
        return;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        tlw_log_error("cannot export the OpenTelemetry data: pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork_exporter(ops, cfg, fds[1], by);
    close(fds[1]);
    if (pid < 0) {
        tlw_log_error("cannot fork the OpenTelemetry exporter: %s", strerror(errno));
        close(fds[0]);
        return;
    }
    bool finished = false;
    for (;;) {
        int64_t left = by - ops->now_ms(ops->ctx);
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0) {
            char c;
            if (read(fds[0], &c, 1) <= 0) {
                finished = true;
                break;
            }
            continue;
        }
        break;
    }
    close(fds[0]);
    if (!finished) {
        tlw_log_warn("the OpenTelemetry export to %s did not finish within %lld ms; stopped it "
                     "(what it carried goes with the next export)",
                     w->otel_endpoint.value, (long long)(by - now));
        tlw_kill_group(pid);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int rc = finished && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (rc != 0)
        tlw_metrics_add(ops->metrics, TLW_M_TLW_EXPORT_FAILURES, NULL, 0, 1);
    /* Spans the collector took are done; the others wait for the next export
     * (a killed exporter may have delivered them: the collector may then see
     * them twice, which is better than never). */
    if (ops->spans && rc >= 0 && !(rc & TLW_OTEL_SPANS_FAILED))
        tlw_spans_clear(ops->spans);
    tlw_log_debug("OpenTelemetry export took %lld ms", (long long)(ops->now_ms(ops->ctx) - now));
}

void tlw_telemetry_invocation_end(const tlw_supervisor_ops *ops, const tlw_config *cfg,
                                  const tlw_invocation *inv, const tlw_invocation_summary *summary,
                                  int64_t started_ms, int64_t final_at_ms)
{
    if (!ops->metrics || !cfg->settings.worker.otel_enabled.value)
        return;
    bool cold = tlw_metrics_counter_value(ops->metrics, TLW_M_TLW_INVOCATIONS, NULL, 0) == 0;
    record_own(ops->metrics, summary, cold);
    if (ops->spans)
        record_invocation_span(ops, cfg, inv, cold, started_ms);
    if (ops->otel_export)
        export_bounded(ops, cfg, final_at_ms);
}
