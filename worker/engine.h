/*
 * worker/engine: the deterministic replay of one workflow run.
 *
 * History in, commands out. The engine walks the run's events from the
 * first: a workflow task that was completed in history is an activation
 * replayed (the coroutines run until all are blocked, and the commands they
 * produce must match the command events that follow, in order: type,
 * activity id and type, timer id, ...; a mismatch is a nondeterminism);
 * result events (activity completed, timer fired, signal, cancel request)
 * resolve what the code waits for; the last workflow task is the one to
 * answer, and the commands its activation produces are the new ones.
 *
 * Every workflow task replays the whole history (no sticky cache yet).
 */
#ifndef TLW_WORKER_ENGINE_H
#define TLW_WORKER_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/worker_config.h"
#include "temporal/api/command/v1/message.pb-c.h"
#include "temporal/api/enums/v1/failed_cause.pb-c.h"
#include "temporal/api/history/v1/message.pb-c.h"

/* A query to answer once history is replayed. */
typedef struct tlw_engine_query {
    const char *query_type;
    const Temporal__Api__Common__V1__Payloads *args;
    /* out: the answer (a new reference), or an error message */
    json_t *answer;
    char error[512];
} tlw_engine_query;

typedef struct tlw_engine_result {
    bool task_failed; /* fail the workflow task (the server retries it) */
    Temporal__Api__Enums__V1__WorkflowTaskFailedCause cause;
    char message[1024];
    /* the new commands, otherwise: owned by the result (owns_commands) or,
     * from a cached run, by the run until their events are matched */
    Temporal__Api__Command__V1__Command **commands;
    size_t n_commands;
    bool owns_commands;
    tlw_versioning_behavior versioning_behavior;
    int64_t start_time_ms; /* the run's start (epoch ms; 0: unknown), for metrics */
} tlw_engine_result;

/* Replays `events` (the run's history from its first event to the current
 * workflow task's WorkflowTaskStarted) with the workflows registered in
 * `cfg`. Never fails: what goes wrong is a task failure in *out. */
void tlw_engine_replay(const tlw_config *cfg, const char *namespace_name,
                       const char *workflow_id, const char *run_id,
                       Temporal__Api__History__V1__HistoryEvent *const *events, size_t n_events,
                       tlw_engine_result *out);

/* The same, then answers `queries` with the handlers the workflow set
 * (tlw_workflow_set_query_handler). For a query-only task (the history's
 * last workflow task already completed), nothing new is produced. */
void tlw_engine_replay_and_query(const tlw_config *cfg, const char *namespace_name,
                                 const char *workflow_id, const char *run_id,
                                 Temporal__Api__History__V1__HistoryEvent *const *events,
                                 size_t n_events, tlw_engine_query *queries, size_t n_queries,
                                 tlw_engine_result *out);

void tlw_engine_result_free(tlw_engine_result *r);

/*
 * A run kept between workflow tasks (the sticky cache): fed the whole
 * history first, then each later task's new events (the events after the
 * last one fed), it resumes where it stopped instead of replaying from the
 * start. The commands a feed returns stay the run's.
 */
typedef struct tlw_engine_run tlw_engine_run;

tlw_engine_run *tlw_engine_run_new(const tlw_config *cfg, const char *namespace_name,
                                   const char *workflow_id, const char *run_id);
void tlw_engine_run_feed(tlw_engine_run *r, Temporal__Api__History__V1__HistoryEvent *const *events,
                         size_t n_events, tlw_engine_query *queries, size_t n_queries,
                         tlw_engine_result *out);
/* The id of the last event fed (the next batch must start after it). */
int64_t tlw_engine_run_last_event_id(const tlw_engine_run *r);
/* Whether the run can take the next task (it did not fail or end). */
bool tlw_engine_run_reusable(const tlw_engine_run *r);
void tlw_engine_run_free(tlw_engine_run *r);

#endif
