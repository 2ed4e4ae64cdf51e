#include "config.h"

#include "worker/workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "worker/engine.h"
#include "worker/otel_slot.h"
#include "worker/payload.h"
#include "worker/poller.h"
#include "worker/service.h"
#include "worker/storage.h"

#define RPC_TIMEOUT_MS 10000
/* The longest the payloads of one task may take to or from S3 (cut to the
 * time left). */
#define STORE_TIMEOUT_MS 60000
/* How long a sticky poll waits for the next task of a cached run before the
 * slot polls the normal queue again (short: a slot polls one queue at a
 * time, and the normal queue must not wait on it), and how long the server
 * holds a task on the sticky queue before it moves it to the normal one
 * (where, if this slot gets it, the cached run still takes only the events
 * it has not seen). */
#define STICKY_POLL_MS 200
#define STICKY_TIMEOUT_MS 1000
/* A normal poll that waited this long means the queue had nothing for the
 * slot: only then does the slot ask for sticky routing. Under load it does
 * not (a sticky detour would keep the normal queue waiting); its cached runs
 * still take the tasks of theirs that come to it from the normal queue. */
#define IDLE_POLL_MS 50

/* A run kept between its tasks (most recently used first). */
struct cached {
    char *run_id;
    tlw_engine_run *run;
    struct cached *next;
};

/* The workflow slot's own state: its sticky queue and its cache. */
struct workflow_slot {
    char sticky_queue[160];
    size_t cache_max; /* 0: no sticky execution */
    size_t cached_count;
    struct cached *cache;
    bool poll_sticky_next;
    /* The normal queue kept this slot waiting before its last task: the
     * slot has time to spare, so asking for sticky routing costs nothing. */
    bool idle;
    unsigned long long hits, misses;
    tlw_storage *storage; /* large payloads in S3; NULL: none configured */
};

static void cache_drop(struct workflow_slot *ws, const char *run_id)
{
    for (struct cached **c = &ws->cache; *c; c = &(*c)->next)
        if (strcmp((*c)->run_id, run_id) == 0) {
            struct cached *gone = *c;
            *c = gone->next;
            tlw_engine_run_free(gone->run);
            free(gone->run_id);
            free(gone);
            ws->cached_count--;
            return;
        }
}

/* Takes the run of `run_id` out of the cache (NULL if it is not there). */
static tlw_engine_run *cache_take(struct workflow_slot *ws, const char *run_id)
{
    for (struct cached **c = &ws->cache; *c; c = &(*c)->next)
        if (strcmp((*c)->run_id, run_id) == 0) {
            struct cached *found = *c;
            tlw_engine_run *run = found->run;
            *c = found->next;
            free(found->run_id);
            free(found);
            ws->cached_count--;
            return run;
        }
    return NULL;
}

/* Keeps `run` first; the least recently used goes when the cache is full. */
static void cache_put(struct workflow_slot *ws, const char *run_id, tlw_engine_run *run)
{
    struct cached *c = calloc(1, sizeof *c);
    if (!c || !(c->run_id = strdup(run_id))) {
        free(c);
        tlw_engine_run_free(run);
        return;
    }
    c->run = run;
    c->next = ws->cache;
    ws->cache = c;
    ws->cached_count++;
    while (ws->cached_count > ws->cache_max) {
        struct cached **last = &ws->cache;
        while ((*last)->next)
            last = &(*last)->next;
        cache_drop(ws, (*last)->run_id);
    }
}

/* After a task, the next poll asks the sticky queue first (a cached run's
 * next task comes there), briefly; otherwise the normal queue. */
static tlw_status poll_workflow(tlw_poller *p, void *arg, const tlw_rpc_call_options *opts,
                                void **task, tlw_error *err)
{
    struct workflow_slot *ws = arg;
    bool sticky = ws->poll_sticky_next && ws->cached_count > 0;
    ws->poll_sticky_next = false;
    tlw_rpc_call_options o = *opts;
    if (sticky && o.timeout_ms > STICKY_POLL_MS)
        o.timeout_ms = STICKY_POLL_MS;
    int64_t began = tlw_monotonic_ms();
    tlw_status st = tlw_service_poll_workflow_task(
        &p->caller, p->settings->worker.task_queue.value, sticky ? ws->sticky_queue : NULL,
        p->worker_instance_key, &o, (tlw_workflow_task **)task, err);
    if (!sticky)
        ws->idle = tlw_monotonic_ms() - began >= IDLE_POLL_MS;
    if (sticky && st == TLW_ERR_TIMEOUT) {
        *task = NULL; /* nothing for the cached runs: the normal queue next */
        return TLW_OK;
    }
    return st;
}

static void describe_workflow(const void *task, ProtobufCBinaryData *token,
                              const char **type_name, uint32_t *attempt)
{
    const tlw_workflow_task *t = task;
    *token = t->task_token;
    *type_name = t->workflow_type ? t->workflow_type->name : "";
    *attempt = t->attempt > 0 ? (uint32_t)t->attempt : 1;
}

static void free_workflow(void *task)
{
    protobuf_c_message_free_unpacked(task, NULL);
}

/* The events of the task's history, then of every further page. `pages`
 * keeps the pages the events live in. */
struct history {
    Temporal__Api__History__V1__HistoryEvent **events;
    size_t n, cap;
    tlw_history_page **pages;
    size_t n_pages;
};

static bool add_events(struct history *h, const Temporal__Api__History__V1__History *from)
{
    if (!from)
        return true;
    if (h->n + from->n_events > h->cap) {
        size_t cap = (h->n + from->n_events) * 2;
        void *bigger = realloc(h->events, cap * sizeof *h->events);
        if (!bigger)
            return false;
        h->events = bigger;
        h->cap = cap;
    }
    memcpy(h->events + h->n, from->events, from->n_events * sizeof *h->events);
    h->n += from->n_events;
    return true;
}

static void free_history(struct history *h)
{
    for (size_t i = 0; i < h->n_pages; i++)
        protobuf_c_message_free_unpacked(&h->pages[i]->base, NULL);
    free(h->pages);
    free(h->events);
}

/* The task's events and the pages after them; with `from_start`, the whole
 * history from the server instead (a sticky task whose run is not cached). */
static tlw_status fetch_history(tlw_poller *p, const tlw_workflow_task *task, bool from_start,
                                struct history *h, tlw_error *err)
{
    ProtobufCBinaryData token = {0};
    if (from_start) {
        tlw_rpc_call_options o;
        tlw_history_page *page = NULL;
        tlw_status st = tlw_poller_call_options(p, RPC_TIMEOUT_MS, &o, err);
        if (st == TLW_OK)
            st = tlw_service_history_page(&p->caller, task->workflow_execution, token, &o, &page,
                                          err);
        if (st != TLW_OK)
            return st;
        h->pages = malloc(sizeof *h->pages);
        if (!h->pages) {
            protobuf_c_message_free_unpacked(&page->base, NULL);
            return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory reading a workflow's history");
        }
        h->pages[h->n_pages++] = page;
        if (!add_events(h, page->history))
            return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory reading a workflow's history");
        token = page->next_page_token;
    } else {
        if (!add_events(h, task->history))
            return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory reading a workflow's history");
        token = task->next_page_token;
    }
    while (token.len > 0) {
        tlw_rpc_call_options o;
        tlw_history_page *page = NULL;
        tlw_status st = tlw_poller_call_options(p, RPC_TIMEOUT_MS, &o, err);
        if (st == TLW_OK)
            st = tlw_service_history_page(&p->caller, task->workflow_execution, token, &o, &page,
                                          err);
        if (st != TLW_OK)
            return st;
        void *bigger = realloc(h->pages, (h->n_pages + 1) * sizeof *h->pages);
        if (!bigger) {
            protobuf_c_message_free_unpacked(&page->base, NULL);
            return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory reading a workflow's history");
        }
        h->pages = bigger;
        h->pages[h->n_pages++] = page;
        if (!add_events(h, page->history))
            return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory reading a workflow's history");
        token = page->next_page_token;
    }
    return TLW_OK;
}

/* ---- external storage ------------------------------------------------------------------ */

static int64_t store_deadline(tlw_poller *p)
{
    return tlw_wall_ms() + tlw_poller_budget_ms(p, STORE_TIMEOUT_MS);
}

/* The run itself: whom its payloads are stored for by default. */
static tlw_extstore_target run_target(tlw_poller *p, const tlw_workflow_task *task)
{
    const Temporal__Api__Common__V1__WorkflowExecution *wf = task->workflow_execution;
    return (tlw_extstore_target){
        .kind = TLW_EXTSTORE_TARGET_WORKFLOW,
        .namespace_name = p->caller.namespace_name,
        .type = task->workflow_type ? task->workflow_type->name : NULL,
        .id = wf ? wf->workflow_id : NULL,
        .run_id = wf ? wf->run_id : NULL,
    };
}

/* Whom a command's payloads are stored for, as the Python SDK chooses: the
 * child a command starts, the workflow a signal goes to, else the run. */
static tlw_extstore_target command_target(tlw_poller *p, const tlw_workflow_task *task,
                                          const Temporal__Api__Command__V1__Command *c)
{
    tlw_extstore_target t = run_target(p, task);
    if (c->attributes_case ==
            TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_START_CHILD_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES &&
        c->start_child_workflow_execution_command_attributes) {
        const Temporal__Api__Command__V1__StartChildWorkflowExecutionCommandAttributes *a =
            c->start_child_workflow_execution_command_attributes;
        t.type = a->workflow_type ? a->workflow_type->name : NULL;
        t.id = a->workflow_id;
        t.run_id = NULL;
    } else if (c->attributes_case ==
                   TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES &&
               c->signal_external_workflow_execution_command_attributes) {
        const Temporal__Api__Common__V1__WorkflowExecution *to =
            c->signal_external_workflow_execution_command_attributes->execution;
        t.type = NULL;
        t.id = to ? to->workflow_id : NULL;
        t.run_id = NULL;
    }
    return t;
}

/* Events that carry only what the workflow itself sent (its commands'
 * payloads): the engine never reads them, so their references are not
 * fetched (a replay would otherwise download every activity input again). */
static bool sent_by_the_workflow(const Temporal__Api__History__V1__HistoryEvent *e)
{
    switch (e->event_type) {
    case TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
    case TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
    case TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
    case TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
    case TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
    case TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        return true;
    default:
        return false;
    }
}

/* The payloads the task brings (the new events, the queries) with every
 * reference the workflow may read replaced by what it names. */
static tlw_status retrieve_task_payloads(tlw_poller *p, tlw_storage *storage,
                                         const tlw_workflow_task *task,
                                         Temporal__Api__History__V1__HistoryEvent *const *events,
                                         size_t n, tlw_error *err)
{
    int64_t deadline = store_deadline(p);
    tlw_status st = TLW_OK;
    for (size_t i = 0; i < n && st == TLW_OK; i++)
        if (!sent_by_the_workflow(events[i]))
            st = tlw_storage_retrieve_all(storage, &events[i]->base, deadline, err);
    if (st == TLW_OK && task->query)
        st = tlw_storage_retrieve_all(storage, &task->query->base, deadline, err);
    for (size_t i = 0; i < task->n_queries && st == TLW_OK; i++)
        if (task->queries[i]->value)
            st = tlw_storage_retrieve_all(storage, &task->queries[i]->value->base, deadline, err);
    return st;
}

static tlw_status respond_failed(tlw_poller *p, const tlw_workflow_task *task,
                                 Temporal__Api__Enums__V1__WorkflowTaskFailedCause cause,
                                 const char *message)
{
    tlw_error err;
    tlw_failure_pb *failure = NULL;
    tlw_status st = tlw_failure_application(message, "tlw.WorkflowTaskFailed", false, NULL,
                                            &failure, &err);
    if (st == TLW_OK) {
        tlw_rpc_call_options o;
        st = tlw_poller_call_options(p, RPC_TIMEOUT_MS, &o, &err);
        if (st == TLW_OK)
            st = tlw_service_workflow_task_failed(&p->caller, task->task_token, cause, failure,
                                                  &o, &err);
    }
    if (st != TLW_OK)
        tlw_log_error("cannot fail the workflow task: %s", err.message);
    if (failure)
        protobuf_c_message_free_unpacked(&failure->base, NULL);
    return st;
}

/* A query-only task: RespondQueryTaskCompleted with the answer or why not. */
static tlw_status answer_query_task(tlw_poller *p, tlw_storage *storage,
                                    const tlw_workflow_task *task, const tlw_engine_result *r,
                                    tlw_engine_query *q)
{
    tlw_error err;
    tlw_payloads *answer = NULL;
    const char *error = NULL;
    char message[TLW_ERROR_MESSAGE_MAX + 64];
    if (r->task_failed)
        error = r->message;
    else if (!q || q->error[0])
        error = q ? q->error : "out of memory answering a query";
    else if (tlw_payloads_from_json(q->answer, false, &answer, &err) != TLW_OK) {
        snprintf(message, sizeof message, "the query's answer cannot be encoded: %s",
                 err.message);
        error = message;
    } else {
        tlw_extstore_target target = run_target(p, task);
        if (tlw_storage_store(storage, &target, answer, store_deadline(p), &err) != TLW_OK) {
            snprintf(message, sizeof message, "the query's answer cannot be stored: %s",
                     err.message);
            error = message;
            protobuf_c_message_free_unpacked(&answer->base, NULL);
            answer = NULL;
        }
    }
    tlw_rpc_call_options o;
    tlw_status st = tlw_poller_call_options(p, RPC_TIMEOUT_MS, &o, &err);
    if (st == TLW_OK)
        st = tlw_service_query_completed(&p->caller, task->task_token, answer, error, &o, &err);
    if (st != TLW_OK)
        tlw_log_error("cannot answer a query: %s", err.message);
    if (answer)
        protobuf_c_message_free_unpacked(&answer->base, NULL);
    return st;
}

/* RespondWorkflowTaskCompleted, with the answers of the queries that rode
 * on the task (keyed as the server keyed them). */
static tlw_status respond_completed(tlw_poller *p, tlw_storage *storage,
                                    const tlw_workflow_task *task, const tlw_engine_result *r,
                                    tlw_engine_query *queries,
                                    size_t n_queries,
                                    Temporal__Api__Enums__V1__VersioningBehavior behavior,
                                    const char *sticky_queue, const tlw_rpc_call_options *o,
                                    tlw_error *err)
{
    typedef Temporal__Api__Workflowservice__V1__RespondWorkflowTaskCompletedRequest__QueryResultsEntry entry;
    entry **results = n_queries ? calloc(n_queries, sizeof *results) : NULL;
    entry *entries = n_queries ? calloc(n_queries, sizeof *entries) : NULL;
    Temporal__Api__Query__V1__WorkflowQueryResult *values =
        n_queries ? calloc(n_queries, sizeof *values) : NULL;
    size_t n = 0;
    for (size_t i = 0; results && entries && values && i < n_queries; i++) {
        entry e = TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_WORKFLOW_TASK_COMPLETED_REQUEST__QUERY_RESULTS_ENTRY__INIT;
        Temporal__Api__Query__V1__WorkflowQueryResult v =
            TEMPORAL__API__QUERY__V1__WORKFLOW_QUERY_RESULT__INIT;
        tlw_error perr;
        tlw_extstore_target target = run_target(p, task);
        if (!queries[i].error[0] &&
            tlw_payloads_from_json(queries[i].answer, false, &v.answer, &perr) == TLW_OK &&
            tlw_storage_store(storage, &target, v.answer, store_deadline(p), &perr) == TLW_OK) {
            v.result_type = TEMPORAL__API__ENUMS__V1__QUERY_RESULT_TYPE__QUERY_RESULT_TYPE_ANSWERED;
        } else {
            v.result_type = TEMPORAL__API__ENUMS__V1__QUERY_RESULT_TYPE__QUERY_RESULT_TYPE_FAILED;
            v.error_message =
                queries[i].error[0] ? queries[i].error : "cannot encode or store the answer";
            if (v.answer)
                protobuf_c_message_free_unpacked(&v.answer->base, NULL);
            v.answer = NULL;
        }
        values[n] = v;
        e.key = task->queries[i]->key;
        e.value = &values[n];
        entries[n] = e;
        results[n] = &entries[n];
        n++;
    }
    tlw_status st = tlw_service_workflow_task_completed(&p->caller, task->task_token, r->commands,
                                                        r->n_commands, results, n, behavior,
                                                        p->settings->worker.task_queue.value,
                                                        sticky_queue, STICKY_TIMEOUT_MS,
                                                        p->worker_instance_key, o, err);
    for (size_t i = 0; i < n; i++)
        if (values[i].answer)
            protobuf_c_message_free_unpacked(&values[i].answer->base, NULL);
    free(results);
    free(entries);
    free(values);
    return st;
}

static tlw_ipc_outcome run_workflow(tlw_poller *p, void *arg, const void *task_ptr,
                                    bool *reported)
{
    struct workflow_slot *ws = arg;
    const tlw_workflow_task *task = task_ptr;
    struct history h = {0};
    tlw_error err;
    tlw_status rs;
    tlw_ipc_outcome outcome = TLW_IPC_OUTCOME_FAILED;
    const char *workflow_id = task->workflow_execution ? task->workflow_execution->workflow_id : "";
    const char *run_id = task->workflow_execution ? task->workflow_execution->run_id : "";
    bool query_only = task->query != NULL;
    int64_t first_event = task->history && task->history->n_events
                              ? task->history->events[0]->event_id
                              : 0;
    /* A cached run resumes with the task's events if they follow the last
     * it saw; otherwise (a miss, or a query-only task) it replays from the
     * start, the whole history fetched if the task brought only its end. */
    tlw_engine_run *run = query_only ? NULL : cache_take(ws, run_id);
    if (run && (!tlw_engine_run_reusable(run) || first_event < 1 ||
                first_event > tlw_engine_run_last_event_id(run) + 1)) {
        tlw_engine_run_free(run);
        run = NULL;
    }
    if (run)
        ws->hits++;
    else if (!query_only)
        ws->misses++;
    bool otel_replay = !run && first_event != 1; /* OpenTelemetry: a miss replays */
    if (run || !query_only)
        tlw_otel_record_cache(run != NULL, ws->cached_count);
    if (fetch_history(p, task, !run && first_event != 1, &h, &err) != TLW_OK) {
        tlw_log_error("workflow %s: %s", workflow_id, err.message);
        rs = respond_failed(p, task,
                            TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                            err.message);
        tlw_engine_run_free(run);
        goto out;
    }
    /* A cached run takes only the events it has not seen (a task from the
     * normal queue brings the whole history). */
    size_t skip = 0;
    if (run)
        while (skip < h.n && h.events[skip]->event_id <= tlw_engine_run_last_event_id(run))
            skip++;
    else
        run = tlw_engine_run_new(p->spec->config, p->caller.namespace_name, workflow_id, run_id);
    /* References in the new events and the queries are resolved before the
     * workflow sees them (a cached run never sees an event twice). */
    if (retrieve_task_payloads(p, ws->storage, task,
                               (Temporal__Api__History__V1__HistoryEvent *const *)h.events + skip,
                               h.n - skip, &err) != TLW_OK) {
        char message[TLW_ERROR_MESSAGE_MAX + 64];
        snprintf(message, sizeof message, "cannot fetch a payload stored externally: %s",
                 err.message);
        tlw_log_error("workflow %s: %s", workflow_id, message);
        if (query_only) {
            tlw_engine_result failed = {.task_failed = true};
            snprintf(failed.message, sizeof failed.message, "%s", message);
            rs = answer_query_task(p, ws->storage, task, &failed, NULL);
        } else {
            rs = respond_failed(p, task,
                                TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                                message);
        }
        tlw_engine_run_free(run);
        goto out;
    }
    /* Queries: a query-only task's one, or those riding on this task. */
    size_t n_queries = query_only ? 1 : task->n_queries;
    tlw_engine_query *queries = n_queries ? calloc(n_queries, sizeof *queries) : NULL;
    for (size_t i = 0; queries && i < n_queries; i++) {
        const Temporal__Api__Query__V1__WorkflowQuery *q =
            query_only ? task->query : task->queries[i]->value;
        queries[i].query_type = q ? q->query_type : "";
        queries[i].args = q ? q->query_args : NULL;
    }
    tlw_engine_result r = {.task_failed = true};
    int64_t otel_feed_ms = tlw_monotonic_ms(); /* OpenTelemetry */
    if (run)
        tlw_engine_run_feed(run,
                            (Temporal__Api__History__V1__HistoryEvent *const *)h.events + skip,
                            h.n - skip, queries, queries ? n_queries : 0, &r);
    else
        snprintf(r.message, sizeof r.message, "out of memory replaying workflow %s", workflow_id);
    bool keep = false;
    if (query_only) {
        rs = answer_query_task(p, ws->storage, task, &r, queries);
        if (rs == TLW_OK)
            outcome = TLW_IPC_OUTCOME_COMPLETED;
    } else if (r.task_failed) {
        tlw_log_error("workflow %s (%s): %s", workflow_id,
                      task->workflow_type ? task->workflow_type->name : "?", r.message);
        rs = respond_failed(p, task,
                            r.cause ? r.cause
                                    : TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                            r.message);
    } else {
        tlw_rpc_call_options o;
        Temporal__Api__Enums__V1__VersioningBehavior behavior =
            r.versioning_behavior == TLW_VERSIONING_AUTO_UPGRADE
                ? TEMPORAL__API__ENUMS__V1__VERSIONING_BEHAVIOR__VERSIONING_BEHAVIOR_AUTO_UPGRADE
                : TEMPORAL__API__ENUMS__V1__VERSIONING_BEHAVIOR__VERSIONING_BEHAVIOR_PINNED;
        bool cacheable = ws->cache_max > 0 && tlw_engine_run_reusable(run);
        bool sticky = cacheable && ws->idle;
        /* Large payloads of the new commands go to S3 first. */
        for (size_t i = 0; i < r.n_commands; i++) {
            tlw_extstore_target target = command_target(p, task, r.commands[i]);
            if (tlw_storage_store_all(ws->storage, &target, &r.commands[i]->base,
                                      store_deadline(p), &err) != TLW_OK) {
                tlw_log_error("workflow %s: %s", workflow_id, err.message);
                rs = respond_failed(p, task,
                                    TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                                    err.message);
                goto done;
            }
        }
        rs = tlw_poller_call_options(p, RPC_TIMEOUT_MS, &o, &err);
        if (rs == TLW_OK)
            rs = respond_completed(p, ws->storage, task, &r, queries, n_queries, behavior,
                                   sticky ? ws->sticky_queue : NULL, &o, &err);
        if (rs != TLW_OK) {
            tlw_log_error("cannot complete the workflow task of %s: %s", workflow_id, err.message);
        } else {
            outcome = TLW_IPC_OUTCOME_COMPLETED;
            keep = cacheable;
            ws->poll_sticky_next = sticky;
            tlw_otel_workflow_commands(task, r.commands, r.n_commands, r.start_time_ms,
                                       otel_replay ? tlw_monotonic_ms() - otel_feed_ms : -1);
        }
    }
done:
    tlw_engine_result_free(&r);
    for (size_t i = 0; queries && i < n_queries; i++)
        json_decref(queries[i].answer);
    free(queries);
    if (keep) {
        cache_put(ws, run_id, run);
    } else {
        tlw_engine_run_free(run);
    }
out:
    *reported = tlw_poller_server_knows(rs);
    free_history(&h);
    return outcome;
}

int tlw_workflow_slot_run(const tlw_slot_spec *spec)
{
    struct workflow_slot ws = {0};
    const tlw_worker_settings *w = &spec->config->settings.worker;
    long long slots = w->workflow_slots.value > 0 ? w->workflow_slots.value : 1;
    long long per_slot = w->workflow_cache_size.value / slots;
    ws.cache_max = w->workflow_cache_size.value > 0 ? (size_t)(per_slot > 0 ? per_slot : 1) : 0;
    /* Unique to this slot process: the server routes a cached run's next
     * tasks here. */
    snprintf(ws.sticky_queue, sizeof ws.sticky_queue, "%s-sticky-%d-%u",
             w->task_queue.value, (int)getpid(), spec->index);
    /* The slot lives for one invocation: so does its S3 connection. */
    tlw_error err;
    if (tlw_storage_open(w, environ, &ws.storage, &err) != TLW_OK)
        tlw_log_error("external payload storage: %s", err.message);
    tlw_task_kind kind = {
        .kind = TLW_IPC_TASK_WORKFLOW,
        .queue_type = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_TYPE__TASK_QUEUE_TYPE_WORKFLOW,
        .sticky_queue = ws.cache_max > 0 ? ws.sticky_queue : NULL,
        .arg = &ws,
        .poll = poll_workflow,
        .describe = describe_workflow,
        .run = run_workflow,
        .free = free_workflow,
        .observe = tlw_otel_workflow_task,
    };
    int rc = tlw_poller_run(spec, &kind);
    if (ws.hits + ws.misses)
        tlw_log_debug("workflow cache: %llu hits, %llu misses", ws.hits, ws.misses);
    while (ws.cache)
        cache_drop(&ws, ws.cache->run_id);
    tlw_storage_close(ws.storage);
    return rc;
}
