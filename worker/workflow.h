/*
 * worker/workflow: the workflow slot, the workflow kind of task for the
 * poller (worker/poller.h).
 *
 *   PollWorkflowTaskQueue -> the run's whole history (the task's events,
 *   then GetWorkflowExecutionHistory pages) -> replay (worker/engine.h) ->
 *   RespondWorkflowTaskCompleted with the new commands and the versioning
 *   behaviour, or RespondWorkflowTaskFailed (nondeterminism, an unknown
 *   workflow type, an internal error), which the server retries.
 */
#ifndef TLW_WORKER_WORKFLOW_H
#define TLW_WORKER_WORKFLOW_H

#include "worker/slot.h"

/* Runs the workflow slot: connects, reports READY, polls until DRAIN.
 * Returns the exit status. */
int tlw_workflow_slot_run(const tlw_slot_spec *spec);

#endif
