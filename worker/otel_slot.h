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

/* At the slot's start: turns recording on if the settings say so and counts
 * the worker's start. */
void tlw_otel_slot_start(const tlw_slot_spec *spec);

/* One gRPC call (worker/rpc.c): `method` its full path, `grpc_code` its
 * final status (0: OK), `ms` how long it took, retries included. */
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

/* Sends what the slot recorded to the supervisor on `fd` (its channel), in
 * as many METRICS messages as it takes. */
void tlw_otel_slot_flush(int fd);

#endif
