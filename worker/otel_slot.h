/*
 * worker/otel_slot: what a slot records for OpenTelemetry, and how it hands
 * that to the supervisor.
 *
 * Each function is one hook call at a point the metric describes (a gRPC
 * call, a poll, a task); all of them do nothing unless the invocation turned
 * OpenTelemetry on (tlw_otel_slot_start found otel_enabled), so the hooks
 * cost nothing by default. What is recorded goes into the process's registry
 * (common/metrics.h) and reaches the supervisor in METRICS messages that
 * tlw_otel_slot_flush sends just before the slot's STATS, as it exits.
 */
#ifndef TLW_WORKER_OTEL_SLOT_H
#define TLW_WORKER_OTEL_SLOT_H

#include <stdbool.h>
#include <stdint.h>

#include "ipc/ipc.h"
#include "ipc/spawn.h"
#include "temporal/api/command/v1/message.pb-c.h"
#include "temporal/api/common/v1/message.pb-c.h"

/* At the slot's start: turns recording on if the settings say so and counts
 * the worker's start. */
void tlw_otel_slot_start(const tlw_slot_spec *spec);

/* One gRPC call (worker/rpc.c): `method` its full path, `grpc_code` its
 * final status (0: OK; < 0: none was made), `ms` how long it took, retries
 * included. */
void tlw_otel_record_call(const char *method, int grpc_code, int64_t ms);

/* A poll ended, with a task or without. */
void tlw_otel_record_poll(tlw_ipc_task_kind kind, bool got_task);

/* A task ran for `run_ms` and ended with `outcome`: `task` is the poll
 * response (tlw_activity_task or tlw_workflow_task). */
void tlw_otel_activity_task(const void *task, tlw_ipc_outcome outcome, int64_t run_ms);
void tlw_otel_workflow_task(const void *task, tlw_ipc_outcome outcome, int64_t run_ms);

/* A workflow task found its run in the slot's cache (hit) or had to replay
 * the whole history (miss); `size`: the runs the cache holds now. */
void tlw_otel_record_cache(bool hit, uint64_t size);

/* An activity's executor died (crashed or exited without a result) with
 * `wait_status` (waitpid's): counts tlw_executor_crashes by activity type and
 * signal ("SIGSEGV"; "exit" for an exit). */
void tlw_otel_executor_died(const void *task, int wait_status);

/* A workflow task completed with `commands`: counts the runs it closed
 * (workflow_completed, _failed, _canceled, _continue_as_new) and their
 * end-to-end latency from `start_time_ms` (0: unknown); `replay_ms` >= 0:
 * how long replaying the history took (a cache miss). */
void tlw_otel_workflow_commands(const void *task,
                                Temporal__Api__Command__V1__Command *const *commands, size_t n,
                                int64_t start_time_ms, int64_t replay_ms);

/* Trace context for workflow runs (deterministic: every replay of a run
 * agrees). Writes into `out` the W3C traceparent a run's commands carry:
 * the trace of `started_header` (the WorkflowExecutionStarted header's
 * _tracer-data; none: a new trace from the run id) with the run's
 * RunWorkflow span as the parent. "" when OpenTelemetry is off. */
void tlw_otel_run_context(char *out, size_t size,
                          const Temporal__Api__Common__V1__Header *started_header,
                          const char *run_id, int64_t start_time_ms);
/* The _tracer-data header (a json/plain payload of {"traceparent": ...}) for
 * a command the run `run_context` (tlw_otel_run_context) makes: its trace,
 * and as the parent the command's own span (StartActivity:<type>,
 * StartChildWorkflow:<type>, which tlw_otel_workflow_commands records), whose
 * id is derived from the run's context and `what` ("activity/<id>", ...), so
 * that every replay agrees. malloc'd as protobuf-c frees it; NULL when
 * `run_context` is "" (OpenTelemetry off). */
Temporal__Api__Common__V1__Header *tlw_otel_header(const char *run_context, const char *what);

/* Sends what the slot recorded since the last flush to the supervisor on
 * `fd` (its channel), in as many METRICS messages as it takes (deltas: the
 * supervisor adds them up). Safe from any thread: the control thread
 * flushes when DRAIN comes, so that a slot killed at the hard stop (a task
 * that overran) has handed over all but that task's. */
void tlw_otel_slot_flush_metrics(int fd);

/* As the slot exits: its spans (SPAN messages), then its metrics. Main
 * thread only. */
void tlw_otel_slot_flush(int fd);

#endif
