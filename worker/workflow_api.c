/* The public tlw_workflow_* functions: what workflow code can do. Each
 * wait suspends the calling coroutine (worker/engine.c resumes it). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "worker/otel_slot.h"
#include "worker/payload.h"
#include "worker/workflow_run.h"

typedef Temporal__Api__Command__V1__Command command;

#define UNHANDLED \
    TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE

/* ---- small things ------------------------------------------------------------ */

const tlw_workflow_info *tlw_workflow_get_info(const tlw_workflow *wf)
{
    return &wf->info;
}

void *tlw_workflow_arg(const tlw_workflow *wf)
{
    return wf->reg ? wf->reg->arg : NULL;
}

void *tlw_workflow_alloc(tlw_workflow *wf, size_t size)
{
    void **bigger = realloc(wf->allocs, (wf->n_allocs + 1) * sizeof *bigger);
    void *p = calloc(1, size ? size : 1);
    if (!bigger || !p)
        abort(); /* the run cannot go on without its memory */
    wf->allocs = bigger;
    wf->allocs[wf->n_allocs++] = p;
    return p;
}

int tlw_workflow_is_replaying(const tlw_workflow *wf)
{
    return wf->replaying;
}

const tlw_failure *tlw_workflow_last_failure(const tlw_workflow *wf)
{
    return wf->current ? wf->current->last_failure : NULL;
}

long long tlw_workflow_now_ms(const tlw_workflow *wf)
{
    return wf->now_ms;
}

/* splitmix64: a sequence every replay of the run agrees on. */
unsigned long long tlw_workflow_random(tlw_workflow *wf)
{
    uint64_t z = (wf->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

const char *tlw_workflow_uuid(tlw_workflow *wf)
{
    unsigned char b[16];
    for (int i = 0; i < 16; i += 8) {
        uint64_t r = tlw_workflow_random(wf);
        memcpy(b + i, &r, 8);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char *out = tlw_workflow_alloc(wf, 37);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
    return out;
}

int tlw_workflow_is_cancel_requested(const tlw_workflow *wf)
{
    return wf->cancel_requested;
}

tlw_status tlw_workflow_fail(tlw_workflow *wf, const char *type, int non_retryable,
                             const json_t *details, const char *fmt, ...)
{
    wf->failed_set = true;
    snprintf(wf->fail_type, sizeof wf->fail_type, "%s", type ? type : "");
    wf->fail_non_retryable = non_retryable != 0;
    json_decref(wf->fail_details);
    wf->fail_details = details ? json_deep_copy(details) : NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(wf->fail_message, sizeof wf->fail_message, fmt, ap);
    va_end(ap);
    return TLW_ERR_FAILED;
}

tlw_status tlw_workflow_continue_as_new(tlw_workflow *wf, const json_t *args)
{
    wf->continue_as_new = true;
    json_decref(wf->can_args);
    wf->can_args = args ? json_deep_copy(args) : json_array();
    return TLW_OK;
}

/* ---- commands ---------------------------------------------------------------------- */

static Google__Protobuf__Duration *duration(long long ms)
{
    if (ms <= 0)
        return NULL;
    Google__Protobuf__Duration *d = malloc(sizeof *d);
    if (!d)
        abort();
    *d = (Google__Protobuf__Duration)GOOGLE__PROTOBUF__DURATION__INIT;
    d->seconds = ms / 1000;
    d->nanos = (int32_t)(ms % 1000 * 1000000);
    return d;
}


static Temporal__Api__Common__V1__RetryPolicy *retry_policy(const tlw_retry_policy *p)
{
    if (!p)
        return NULL;
    Temporal__Api__Common__V1__RetryPolicy *r = malloc(sizeof *r);
    if (!r)
        abort();
    *r = (Temporal__Api__Common__V1__RetryPolicy)TEMPORAL__API__COMMON__V1__RETRY_POLICY__INIT;
    r->initial_interval = duration(p->initial_interval_ms);
    r->backoff_coefficient = p->backoff_coefficient;
    r->maximum_interval = duration(p->maximum_interval_ms);
    r->maximum_attempts = p->maximum_attempts;
    size_t n = 0;
    while (p->non_retryable_error_types && p->non_retryable_error_types[n])
        n++;
    if (n) {
        r->non_retryable_error_types = calloc(n, sizeof *r->non_retryable_error_types);
        for (size_t i = 0; i < n; i++)
            r->non_retryable_error_types[i] = strdup(p->non_retryable_error_types[i]);
        r->n_non_retryable_error_types = n;
    }
    return r;
}

tlw_future *tlw_workflow_start_activity(tlw_workflow *wf, const char *type, const json_t *args,
                                        const tlw_activity_options *opts)
{
    static const tlw_activity_options none = {0};
    if (!opts)
        opts = &none;
    tlw_future *f = tlw_run_future(wf, FUT_ACTIVITY);
    f->cancel_type = opts->cancellation_type;
    if (opts->activity_id)
        snprintf(f->id, sizeof f->id, "%s", opts->activity_id);
    else
        snprintf(f->id, sizeof f->id, "%u", ++wf->activity_seq);
    if (!type || !*type || (opts->start_to_close_timeout_ms <= 0 &&
                            opts->schedule_to_close_timeout_ms <= 0)) {
        tlw_run_fail_task(wf, UNHANDLED,
                          "activity %s needs a type and start_to_close_timeout_ms or "
                          "schedule_to_close_timeout_ms in its tlw_activity_options",
                          type ? type : "(no type)");
        return f;
    }
    Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes *a = malloc(sizeof *a);
    *a = (Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes)
        TEMPORAL__API__COMMAND__V1__SCHEDULE_ACTIVITY_TASK_COMMAND_ATTRIBUTES__INIT;
    a->activity_id = strdup(f->id);
    a->activity_type = malloc(sizeof *a->activity_type);
    *a->activity_type = (Temporal__Api__Common__V1__ActivityType)TEMPORAL__API__COMMON__V1__ACTIVITY_TYPE__INIT;
    a->activity_type->name = strdup(type);
    a->task_queue = malloc(sizeof *a->task_queue);
    *a->task_queue = (Temporal__Api__Taskqueue__V1__TaskQueue)TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    a->task_queue->name = strdup(opts->task_queue ? opts->task_queue : wf->info.task_queue);
    a->task_queue->kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
    tlw_error err;
    json_t *none_args = json_array();
    if (tlw_payloads_from_json(args ? args : none_args, true, &a->input, &err) != TLW_OK) {
        tlw_run_fail_task(wf, UNHANDLED, "the arguments of activity %s cannot be encoded: %s",
                          type, err.message);
        a->input = NULL;
    }
    json_decref(none_args);
    a->schedule_to_close_timeout = duration(opts->schedule_to_close_timeout_ms);
    a->schedule_to_start_timeout = duration(opts->schedule_to_start_timeout_ms);
    a->start_to_close_timeout = duration(opts->start_to_close_timeout_ms);
    a->heartbeat_timeout = duration(opts->heartbeat_timeout_ms);
    a->retry_policy = retry_policy(opts->retry_policy);
    char otel_what[300]; /* OpenTelemetry */
    snprintf(otel_what, sizeof otel_what, "activity/%s", f->id);
    a->header = tlw_otel_header(wf->trace_context, otel_what);
    command *c = tlw_run_new_command(TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK);
    c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_SCHEDULE_ACTIVITY_TASK_COMMAND_ATTRIBUTES;
    c->schedule_activity_task_command_attributes = a;
    tlw_run_command(wf, c, f);
    return f;
}

tlw_future *tlw_workflow_start_timer(tlw_workflow *wf, long long ms)
{
    tlw_future *f = tlw_run_future(wf, FUT_TIMER);
    snprintf(f->id, sizeof f->id, "%u", ++wf->timer_seq);
    if (ms <= 0) {
        tlw_run_resolve(wf, f, TLW_OK, tlw_run_keep(wf, json_null()), NULL, 0);
        return f;
    }
    Temporal__Api__Command__V1__StartTimerCommandAttributes *a = malloc(sizeof *a);
    *a = (Temporal__Api__Command__V1__StartTimerCommandAttributes)
        TEMPORAL__API__COMMAND__V1__START_TIMER_COMMAND_ATTRIBUTES__INIT;
    a->timer_id = strdup(f->id);
    a->start_to_fire_timeout = duration(ms);
    command *c = tlw_run_new_command(TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_START_TIMER);
    c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_START_TIMER_COMMAND_ATTRIBUTES;
    c->start_timer_command_attributes = a;
    tlw_run_command(wf, c, f);
    return f;
}

static Temporal__Api__Taskqueue__V1__TaskQueue *task_queue(const char *name)
{
    Temporal__Api__Taskqueue__V1__TaskQueue *q = malloc(sizeof *q);
    if (!q)
        abort();
    *q = (Temporal__Api__Taskqueue__V1__TaskQueue)TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    q->name = strdup(name);
    q->kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
    return q;
}

static Temporal__Api__Common__V1__Payloads *input(tlw_workflow *wf, const json_t *args,
                                                  const char *what)
{
    Temporal__Api__Common__V1__Payloads *p = NULL;
    json_t *none = json_array();
    tlw_error err;
    if (tlw_payloads_from_json(args ? args : none, true, &p, &err) != TLW_OK) {
        tlw_run_fail_task(wf, UNHANDLED, "the arguments of %s cannot be encoded: %s", what,
                          err.message);
        p = NULL;
    }
    json_decref(none);
    return p;
}

tlw_future *tlw_workflow_start_child(tlw_workflow *wf, const char *type, const json_t *args,
                                     const tlw_child_options *opts)
{
    static const tlw_child_options none = {0};
    if (!opts)
        opts = &none;
    tlw_future *f = tlw_run_future(wf, FUT_CHILD);
    f->cancel_type = opts->cancellation_type;
    snprintf(f->id, sizeof f->id, "%s",
             opts->workflow_id ? opts->workflow_id : tlw_workflow_uuid(wf));
    if (!type || !*type) {
        tlw_run_fail_task(wf, UNHANDLED, "a child workflow needs a type");
        return f;
    }
    Temporal__Api__Command__V1__StartChildWorkflowExecutionCommandAttributes *a = malloc(sizeof *a);
    *a = (Temporal__Api__Command__V1__StartChildWorkflowExecutionCommandAttributes)
        TEMPORAL__API__COMMAND__V1__START_CHILD_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
    a->workflow_id = strdup(f->id);
    a->workflow_type = malloc(sizeof *a->workflow_type);
    *a->workflow_type = (Temporal__Api__Common__V1__WorkflowType)TEMPORAL__API__COMMON__V1__WORKFLOW_TYPE__INIT;
    a->workflow_type->name = strdup(type);
    a->task_queue = task_queue(opts->task_queue ? opts->task_queue : wf->info.task_queue);
    a->input = input(wf, args, type);
    a->workflow_execution_timeout = duration(opts->execution_timeout_ms);
    a->workflow_run_timeout = duration(opts->run_timeout_ms);
    a->retry_policy = retry_policy(opts->retry_policy);
    static const Temporal__Api__Enums__V1__ParentClosePolicy policies[] = {
        TEMPORAL__API__ENUMS__V1__PARENT_CLOSE_POLICY__PARENT_CLOSE_POLICY_TERMINATE,
        TEMPORAL__API__ENUMS__V1__PARENT_CLOSE_POLICY__PARENT_CLOSE_POLICY_ABANDON,
        TEMPORAL__API__ENUMS__V1__PARENT_CLOSE_POLICY__PARENT_CLOSE_POLICY_REQUEST_CANCEL};
    a->parent_close_policy = opts->parent_close_policy >= 0 && opts->parent_close_policy <= 2
                                 ? policies[opts->parent_close_policy]
                                 : policies[0];
    char otel_what[300]; /* OpenTelemetry */
    snprintf(otel_what, sizeof otel_what, "child/%s", f->id);
    a->header = tlw_otel_header(wf->trace_context, otel_what);
    command *c = tlw_run_new_command(TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION);
    c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_START_CHILD_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES;
    c->start_child_workflow_execution_command_attributes = a;
    tlw_run_command(wf, c, f);
    return f;
}

static int external_done(tlw_workflow *wf, void *arg)
{
    return ((tlw_future *)arg)->ready;
}

tlw_status tlw_workflow_signal_external(tlw_workflow *wf, const char *workflow_id,
                                        const char *run_id, const char *signal_name,
                                        const json_t *args)
{
    if (!workflow_id || !*workflow_id || !signal_name || !*signal_name)
        return TLW_ERR_INVALID;
    tlw_future *f = tlw_run_future(wf, FUT_EXTERNAL_SIGNAL);
    snprintf(f->id, sizeof f->id, "%s", workflow_id);
    Temporal__Api__Command__V1__SignalExternalWorkflowExecutionCommandAttributes *a =
        malloc(sizeof *a);
    *a = (Temporal__Api__Command__V1__SignalExternalWorkflowExecutionCommandAttributes)
        TEMPORAL__API__COMMAND__V1__SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
    a->execution = malloc(sizeof *a->execution);
    *a->execution = (Temporal__Api__Common__V1__WorkflowExecution)
        TEMPORAL__API__COMMON__V1__WORKFLOW_EXECUTION__INIT;
    a->execution->workflow_id = strdup(workflow_id);
    a->execution->run_id = strdup(run_id ? run_id : "");
    a->signal_name = strdup(signal_name);
    a->input = input(wf, args, signal_name);
    command *c = tlw_run_new_command(TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION);
    c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES;
    c->signal_external_workflow_execution_command_attributes = a;
    tlw_run_command(wf, c, f);
    tlw_status st = tlw_run_wait(wf, external_done, f);
    if (st != TLW_OK)
        return st;
    if (f->status == TLW_ERR_FAILED && wf->current)
        wf->current->last_failure = f->failure;
    return f->status;
}

/* Cancels what `f` stands for: before its command was sent, the command is
 * dropped; after, a cancel command goes (activities, timers). */
tlw_status tlw_future_cancel(tlw_workflow *wf, tlw_future *f)
{
    if (!f || f->ready || f->cancel_requested)
        return TLW_OK;
    f->cancel_requested = true;
    if (f->kind == FUT_SIGNAL) {
        tlw_run_resolve(wf, f, TLW_ERR_CANCELLED, NULL, NULL, 0);
        return TLW_OK;
    }
    if (!f->initiated_event_id && tlw_run_drop_command(wf, f)) {
        tlw_run_resolve(wf, f, TLW_ERR_CANCELLED, NULL, NULL, 0);
        return TLW_OK;
    }
    command *c;
    if (f->kind == FUT_TIMER) {
        Temporal__Api__Command__V1__CancelTimerCommandAttributes *a = malloc(sizeof *a);
        *a = (Temporal__Api__Command__V1__CancelTimerCommandAttributes)
            TEMPORAL__API__COMMAND__V1__CANCEL_TIMER_COMMAND_ATTRIBUTES__INIT;
        a->timer_id = strdup(f->id);
        c = tlw_run_new_command(TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_CANCEL_TIMER);
        c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_CANCEL_TIMER_COMMAND_ATTRIBUTES;
        c->cancel_timer_command_attributes = a;
        tlw_run_command(wf, c, NULL);
        tlw_run_resolve(wf, f, TLW_ERR_CANCELLED, NULL, NULL, 0);
        return TLW_OK;
    }
    if (f->cancel_type == TLW_CANCEL_ABANDON || f->kind == FUT_EXTERNAL_SIGNAL) {
        /* Abandoned (a child's parent close policy applies when this run
         * ends); an external signal in flight goes on. */
        tlw_run_resolve(wf, f, TLW_ERR_CANCELLED, NULL, NULL, 0);
        return TLW_OK;
    }
    if (f->kind == FUT_CHILD) {
        Temporal__Api__Command__V1__RequestCancelExternalWorkflowExecutionCommandAttributes *a =
            malloc(sizeof *a);
        *a = (Temporal__Api__Command__V1__RequestCancelExternalWorkflowExecutionCommandAttributes)
            TEMPORAL__API__COMMAND__V1__REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES__INIT;
        a->workflow_id = strdup(f->id);
        a->child_workflow_only = 1;
        a->reason = strdup("the parent cancelled it");
        c = tlw_run_new_command(TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION);
        c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES;
        c->request_cancel_external_workflow_execution_command_attributes = a;
        tlw_run_command(wf, c, NULL);
        if (f->cancel_type == TLW_CANCEL_TRY_CANCEL)
            tlw_run_resolve(wf, f, TLW_ERR_CANCELLED, NULL, NULL, 0);
        return TLW_OK; /* WAIT_CANCELLATION_COMPLETED: ChildWorkflowExecutionCanceled resolves it */
    }
    Temporal__Api__Command__V1__RequestCancelActivityTaskCommandAttributes *a = malloc(sizeof *a);
    *a = (Temporal__Api__Command__V1__RequestCancelActivityTaskCommandAttributes)
        TEMPORAL__API__COMMAND__V1__REQUEST_CANCEL_ACTIVITY_TASK_COMMAND_ATTRIBUTES__INIT;
    a->scheduled_event_id = f->initiated_event_id;
    c = tlw_run_new_command(TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK);
    c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_REQUEST_CANCEL_ACTIVITY_TASK_COMMAND_ATTRIBUTES;
    c->request_cancel_activity_task_command_attributes = a;
    tlw_run_command(wf, c, NULL);
    if (f->cancel_type == TLW_CANCEL_TRY_CANCEL)
        tlw_run_resolve(wf, f, TLW_ERR_CANCELLED, NULL, NULL, 0);
    return TLW_OK;
}

/* ---- waiting ---------------------------------------------------------------------- */

int tlw_future_is_ready(const tlw_future *f)
{
    return f && f->ready;
}

static int future_ready(tlw_workflow *wf, void *arg)
{
    return ((tlw_future *)arg)->ready;
}

tlw_status tlw_future_wait(tlw_workflow *wf, tlw_future *f, const json_t **result)
{
    if (result)
        *result = NULL;
    if (!f)
        return TLW_ERR_INVALID;
    tlw_status st = tlw_run_wait(wf, future_ready, f);
    if (st == TLW_ERR_CANCELLED) {
        /* The run's cancellation: cancel what we waited for, per its type. */
        tlw_future_cancel(wf, f);
        if ((f->kind == FUT_ACTIVITY || f->kind == FUT_CHILD) &&
            f->cancel_type == TLW_CANCEL_WAIT_CANCELLATION_COMPLETED)
            while (!f->ready && tlw_run_wait(wf, future_ready, f) == TLW_ERR_CANCELLED)
                ;
        return TLW_ERR_CANCELLED;
    }
    if (st != TLW_OK)
        return st;
    if (result)
        *result = f->result;
    if (f->status == TLW_ERR_FAILED && wf->current)
        wf->current->last_failure = f->failure;
    return f->status;
}

struct any {
    tlw_future *const *futures;
    int n;
};

static int any_ready(tlw_workflow *wf, void *arg)
{
    struct any *a = arg;
    for (int i = 0; i < a->n; i++)
        if (a->futures[i] && a->futures[i]->ready)
            return 1;
    return 0;
}

int tlw_workflow_wait_any(tlw_workflow *wf, tlw_future *const *futures, int n)
{
    struct any a = {futures, n};
    if (tlw_run_wait(wf, any_ready, &a) != TLW_OK && !any_ready(wf, &a))
        return -1;
    int best = -1;
    for (int i = 0; i < n; i++)
        if (futures[i] && futures[i]->ready &&
            (best < 0 || futures[i]->resolved_event_id < futures[best]->resolved_event_id))
            best = i;
    return best;
}

tlw_status tlw_workflow_execute_activity(tlw_workflow *wf, const char *type, const json_t *args,
                                         const tlw_activity_options *opts, const json_t **result)
{
    return tlw_future_wait(wf, tlw_workflow_start_activity(wf, type, args, opts), result);
}

tlw_status tlw_workflow_execute_child(tlw_workflow *wf, const char *type, const json_t *args,
                                      const tlw_child_options *opts, const json_t **result)
{
    return tlw_future_wait(wf, tlw_workflow_start_child(wf, type, args, opts), result);
}

tlw_status tlw_workflow_sleep(tlw_workflow *wf, long long ms)
{
    return tlw_future_wait(wf, tlw_workflow_start_timer(wf, ms), NULL);
}

/* ---- signals ----------------------------------------------------------------------- */

tlw_future *tlw_workflow_signal_future(tlw_workflow *wf, const char *name)
{
    tlw_future *f = tlw_run_future(wf, FUT_SIGNAL);
    f->signal_name = strdup(name ? name : "");
    tlw_run_match_signals(wf);
    return f;
}

tlw_status tlw_workflow_receive_signal(tlw_workflow *wf, const char *name, const json_t **payload)
{
    return tlw_future_wait(wf, tlw_workflow_signal_future(wf, name), payload);
}

int tlw_workflow_try_receive_signal(tlw_workflow *wf, const char *name, const json_t **payload)
{
    for (wf_signal *s = wf->signals; s; s = s->next)
        if (!s->taken && strcmp(s->name, name ? name : "") == 0) {
            s->taken = true;
            if (payload)
                *payload = s->payload;
            return 1;
        }
    return 0;
}

/* ---- conditions ---------------------------------------------------------------------- */

struct user_cond {
    int (*cond)(void *arg);
    void *arg;
    tlw_future *timer;
};

static int user_cond_true(tlw_workflow *wf, void *arg)
{
    struct user_cond *u = arg;
    return u->cond(u->arg) || (u->timer && u->timer->ready);
}

tlw_status tlw_workflow_await(tlw_workflow *wf, int (*cond)(void *arg), void *arg)
{
    struct user_cond u = {cond, arg, NULL};
    return tlw_run_wait(wf, user_cond_true, &u);
}

tlw_status tlw_workflow_await_timeout(tlw_workflow *wf, int (*cond)(void *arg), void *arg,
                                      long long ms)
{
    if (cond(arg))
        return TLW_OK;
    struct user_cond u = {cond, arg, tlw_workflow_start_timer(wf, ms)};
    tlw_status st = tlw_run_wait(wf, user_cond_true, &u);
    if (st == TLW_OK && cond(arg)) {
        tlw_future_cancel(wf, u.timer);
        return TLW_OK;
    }
    if (st != TLW_OK) {
        tlw_future_cancel(wf, u.timer);
        return st;
    }
    return TLW_ERR_TIMEOUT;
}

/* ---- not yet ---------------------------------------------------------------------------- */

tlw_status tlw_workflow_set_query_handler(tlw_workflow *wf, const char *name, tlw_query_fn fn,
                                          void *arg)
{
    if (!name || !*name)
        return TLW_ERR_INVALID;
    for (wf_query *q = wf->queries; q; q = q->next)
        if (strcmp(q->name, name) == 0) {
            q->fn = fn; /* the last one set wins; NULL removes it */
            q->arg = arg;
            return TLW_OK;
        }
    wf_query *q = calloc(1, sizeof *q);
    if (!q || !(q->name = strdup(name))) {
        free(q);
        return TLW_ERR_NOMEM;
    }
    q->fn = fn;
    q->arg = arg;
    q->next = wf->queries;
    wf->queries = q;
    return TLW_OK;
}

/* ---- markers: side effects and patches ------------------------------------------------ */

/* A RecordMarker command with one detail. */
static void record_marker(tlw_workflow *wf, const char *name, const char *key,
                          const json_t *value)
{
    Temporal__Api__Command__V1__RecordMarkerCommandAttributes *a = malloc(sizeof *a);
    *a = (Temporal__Api__Command__V1__RecordMarkerCommandAttributes)
        TEMPORAL__API__COMMAND__V1__RECORD_MARKER_COMMAND_ATTRIBUTES__INIT;
    a->marker_name = strdup(name);
    a->details = calloc(1, sizeof *a->details);
    a->details[0] = malloc(sizeof *a->details[0]);
    *a->details[0] = (Temporal__Api__Command__V1__RecordMarkerCommandAttributes__DetailsEntry)
        TEMPORAL__API__COMMAND__V1__RECORD_MARKER_COMMAND_ATTRIBUTES__DETAILS_ENTRY__INIT;
    a->details[0]->key = strdup(key);
    tlw_error err;
    if (tlw_payloads_from_json(value, false, &a->details[0]->value, &err) != TLW_OK)
        tlw_run_fail_task(wf, UNHANDLED, "cannot encode a %s marker: %s", name, err.message);
    a->n_details = 1;
    command *c = tlw_run_new_command(TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_RECORD_MARKER);
    c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_RECORD_MARKER_COMMAND_ATTRIBUTES;
    c->record_marker_command_attributes = a;
    tlw_run_command(wf, c, NULL);
}

/* The marker this replayed activation recorded under `key`, or NULL. */
static const Temporal__Api__History__V1__MarkerRecordedEventAttributes *upcoming_marker(
    const tlw_workflow *wf, const char *key)
{
    for (size_t i = 0; i < wf->n_upcoming; i++) {
        const Temporal__Api__History__V1__HistoryEvent *e = wf->upcoming[i];
        if (e->attributes_case !=
            TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_MARKER_RECORDED_EVENT_ATTRIBUTES)
            continue;
        const Temporal__Api__History__V1__MarkerRecordedEventAttributes *m =
            e->marker_recorded_event_attributes;
        char k[160];
        tlw_run_marker_key(m->marker_name, m->n_details, (void *const *)m->details, k, sizeof k);
        if (strcmp(k, key) == 0)
            return m;
    }
    return NULL;
}

/* Run once, recorded in a "SideEffect" marker ({"side-effect-id": n,
 * "data": value}); a replay returns the recorded value without calling fn. */
tlw_status tlw_workflow_side_effect(tlw_workflow *wf, json_t *(*fn)(void *arg), void *arg,
                                    const json_t **result)
{
    unsigned id = ++wf->side_effect_seq;
    char key[64];
    snprintf(key, sizeof key, "SideEffect:%u", id);
    json_t *value = NULL;
    if (wf->replaying) {
        const Temporal__Api__History__V1__MarkerRecordedEventAttributes *m = upcoming_marker(wf, key);
        for (size_t i = 0; m && i < m->n_details && !value; i++)
            if (strcmp(m->details[i]->key, "data") == 0) {
                json_t *all = NULL;
                tlw_error err;
                if (tlw_payloads_to_json(m->details[i]->value, &all, &err) == TLW_OK)
                    value = json_incref(json_array_get(all, 0));
                json_decref(all);
            }
        if (!value) {
            tlw_run_fail_task(wf,
                              TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR,
                              "nondeterminism: the workflow code asked for side effect %u, which "
                              "history did not record here",
                              id);
            return TLW_ERR_INTERNAL;
        }
    } else {
        value = fn(arg);
        if (!value)
            value = json_null();
    }
    /* The command carries both details, as recorded. */
    Temporal__Api__Command__V1__RecordMarkerCommandAttributes *a = malloc(sizeof *a);
    *a = (Temporal__Api__Command__V1__RecordMarkerCommandAttributes)
        TEMPORAL__API__COMMAND__V1__RECORD_MARKER_COMMAND_ATTRIBUTES__INIT;
    a->marker_name = strdup("SideEffect");
    a->details = calloc(2, sizeof *a->details);
    const char *keys[2] = {"side-effect-id", "data"};
    json_t *id_value = json_integer(id);
    const json_t *values[2] = {id_value, value};
    tlw_error err;
    for (int i = 0; i < 2; i++) {
        a->details[i] = malloc(sizeof *a->details[i]);
        *a->details[i] = (Temporal__Api__Command__V1__RecordMarkerCommandAttributes__DetailsEntry)
            TEMPORAL__API__COMMAND__V1__RECORD_MARKER_COMMAND_ATTRIBUTES__DETAILS_ENTRY__INIT;
        a->details[i]->key = strdup(keys[i]);
        if (tlw_payloads_from_json(values[i], false, &a->details[i]->value, &err) != TLW_OK)
            tlw_run_fail_task(wf, UNHANDLED, "the side effect's value cannot be encoded: %s",
                              err.message);
        a->n_details++;
    }
    json_decref(id_value);
    command *c = tlw_run_new_command(TEMPORAL__API__ENUMS__V1__COMMAND_TYPE__COMMAND_TYPE_RECORD_MARKER);
    c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_RECORD_MARKER_COMMAND_ATTRIBUTES;
    c->record_marker_command_attributes = a;
    tlw_run_command(wf, c, NULL);
    const json_t *kept = tlw_run_keep(wf, value);
    if (result)
        *result = kept;
    return TLW_OK;
}

/* As the core-based SDKs do: a "core_patch" marker with patch_data {"id",
 * "deprecated"}; on replay, true only where history recorded it. The answer
 * for a patch id is given once per run. */
int tlw_workflow_patched(tlw_workflow *wf, const char *patch_id)
{
    if (!patch_id)
        patch_id = "";
    for (wf_patch *p = wf->patches; p; p = p->next)
        if (strcmp(p->id, patch_id) == 0)
            return p->patched;
    char key[160];
    snprintf(key, sizeof key, "core_patch:%s", patch_id);
    bool patched = !wf->replaying || upcoming_marker(wf, key) != NULL;
    if (patched) {
        json_t *data = json_pack("{s:s, s:b}", "id", patch_id, "deprecated", 0);
        record_marker(wf, "core_patch", "patch_data", data);
        json_decref(data);
    }
    wf_patch *p = calloc(1, sizeof *p);
    if (!p || !(p->id = strdup(patch_id)))
        abort();
    p->patched = patched;
    p->next = wf->patches;
    wf->patches = p;
    return patched;
}
