/*
 * worker/workflow_run: one workflow run as the engine replays it: its
 * coroutines, futures, signals and the commands it produced. Shared by the
 * engine (engine.c: history in, commands out) and the public tlw_workflow_*
 * functions (workflow_api.c).
 */
#ifndef TLW_WORKER_WORKFLOW_RUN_H
#define TLW_WORKER_WORKFLOW_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include <tlw/lambda_worker.h>

#include "conf/worker_config.h"
#include "temporal/api/command/v1/message.pb-c.h"
#include "temporal/api/enums/v1/failed_cause.pb-c.h"
#include "temporal/api/history/v1/message.pb-c.h"
#include "worker/coro.h"

typedef enum { FUT_ACTIVITY, FUT_TIMER, FUT_SIGNAL, FUT_CHILD, FUT_EXTERNAL_SIGNAL } wf_future_kind;

struct tlw_future {
    wf_future_kind kind;
    bool ready;
    tlw_status status; /* TLW_OK, TLW_ERR_FAILED, TLW_ERR_CANCELLED */
    const json_t *result;
    const tlw_failure *failure;
    int64_t resolved_event_id; /* for wait_any: history order */
    char id[64];               /* activity or timer id */
    int64_t initiated_event_id; /* ActivityTaskScheduled / TimerStarted, 0 until matched */
    tlw_cancellation_type cancel_type;
    bool cancel_requested;
    char *signal_name;
    struct tlw_future *next;
};

typedef struct wf_command {
    Temporal__Api__Command__V1__Command *pb; /* malloc'd whole */
    tlw_future *future;
    bool sent; /* handed out in an earlier task's answer (a cached run) */
    struct wf_command *next;
} wf_command;

typedef struct wf_coroutine {
    tlw_coro *coro;
    void (*fn)(tlw_workflow *wf, void *arg);
    void *arg;
    bool started;
    /* what it waits for (NULL: nothing, it runs) */
    int (*cond)(tlw_workflow *wf, void *arg);
    void *cond_arg;
    bool cancel_delivery; /* the run's cancellation, for its wait in progress */
    const tlw_failure *last_failure;
    struct wf_coroutine *next;
} wf_coroutine;

/* A patch id and what tlw_workflow_patched() said of it (said once per run). */
typedef struct wf_patch {
    char *id;
    bool patched;
    struct wf_patch *next;
} wf_patch;

typedef struct wf_query {
    char *name;
    tlw_query_fn fn;
    void *arg;
    struct wf_query *next;
} wf_query;

typedef struct wf_signal {
    char *name;
    const json_t *payload;
    int64_t event_id;
    bool taken;
    struct wf_signal *next;
} wf_signal;

struct tlw_workflow {
    const tlw_config *cfg;
    const tlw_registration *reg;
    tlw_workflow_info info;
    char *strings[6]; /* what info points to */
    const json_t *args;
    json_t *owned; /* a JSON array keeping everything handed to workflow code */
    size_t stack_size;

    wf_coroutine *coroutines, **co_tail;
    wf_coroutine *current;
    tlw_future *futures;
    wf_command *pending, **pending_tail; /* produced, not yet matched or sent */
    wf_signal *signals, **signals_tail;
    wf_query *queries;
    wf_patch *patches;
    unsigned side_effect_seq;
    /* While replaying an activation: the events after its task completed,
     * up to the next task (its command events among them), to look ahead
     * for the markers of patches and side effects. */
    Temporal__Api__History__V1__HistoryEvent *const *upcoming;
    size_t n_upcoming;
    unsigned activity_seq, timer_seq;

    int64_t now_ms;
    bool replaying;
    bool cancel_requested, cancel_delivered;
    uint64_t rng;

    /* the main function's end */
    bool main_done;
    tlw_status main_status;
    json_t *main_result;
    bool completed; /* the completion command was produced */
    bool failed_set;
    char fail_type[128];
    bool fail_non_retryable;
    json_t *fail_details;
    char fail_message[1024];
    bool continue_as_new;
    json_t *can_args;

    /* the workflow task fails (nondeterminism, unsupported, ...) */
    bool task_failed;
    Temporal__Api__Enums__V1__WorkflowTaskFailedCause cause;
    char task_message[1024];

    void **allocs;
    size_t n_allocs;

    /* OpenTelemetry: the W3C traceparent the run's commands carry in their
     * _tracer-data header (worker/otel_slot.h); "" for none. */
    char trace_context[64];
};

/* Fails the workflow task (first reason wins). */
void tlw_run_fail_task(tlw_workflow *wf, Temporal__Api__Enums__V1__WorkflowTaskFailedCause cause,
                       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Suspends the current coroutine until cond(wf, arg) or a cancellation to
 * deliver; TLW_ERR_CANCELLED for the latter. */
tlw_status tlw_run_wait(tlw_workflow *wf, int (*cond)(tlw_workflow *wf, void *arg), void *arg);

/* A new command of `type` (malloc'd, attributes still to set). */
Temporal__Api__Command__V1__Command *tlw_run_new_command(Temporal__Api__Enums__V1__CommandType type);

/* Appends a command (taking `pb`) for `future` (may be NULL). */
void tlw_run_command(tlw_workflow *wf, Temporal__Api__Command__V1__Command *pb, tlw_future *future);

/* Removes the pending command of `future` (not sent yet); true if found. */
bool tlw_run_drop_command(tlw_workflow *wf, tlw_future *future);

/* Keeps `value` (taking the reference) for as long as the run, and returns it. */
const json_t *tlw_run_keep(tlw_workflow *wf, json_t *value);

/* A new future of `kind`, owned by the run. */
tlw_future *tlw_run_future(tlw_workflow *wf, wf_future_kind kind);

/* Resolves `f` (no-op if already ready). */
void tlw_run_resolve(tlw_workflow *wf, tlw_future *f, tlw_status status, const json_t *result,
                     const tlw_failure *failure, int64_t event_id);

/* The key of a marker, from its name and details: "core_patch:<id>",
 * "SideEffect:<n>", else the name. */
void tlw_run_marker_key(const char *name, size_t n_details, void *const *details, char *out,
                        size_t size);

/* Gives a waiting signal future its signal, if one is there. */
void tlw_run_match_signals(tlw_workflow *wf);

#endif
