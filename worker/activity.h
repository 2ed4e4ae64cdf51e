/*
 * worker/activity: an activity slot's poll loop.
 *
 *   PollActivityTaskQueue -> TASK_BEGIN -> run the registered function
 *   (in a forked executor by default) -> RespondActivityTask{Completed,
 *   Failed,Canceled} -> TASK_END -> poll again, until DRAIN.
 *
 * The executor runs user code only and never touches gRPC: it sends its
 * heartbeats and its result through a pipe, and learns of cancellation by
 * SIGUSR1. A crash, an exit(), a hang past the start-to-close timeout or
 * past the drain, or a memory limit reached is reported at once as a
 * retryable ApplicationFailure that says what happened; the slot goes on.
 *
 * On DRAIN: where the namespace has worker_poll_complete_on_shutdown, the
 * slot calls ShutdownWorker with its worker_instance_key and the server
 * completes the open poll empty; otherwise the poll is cancelled. A task that
 * still arrives is run until the hard stop, then failed as retryable.
 */
#ifndef TLW_WORKER_ACTIVITY_H
#define TLW_WORKER_ACTIVITY_H

#include "worker/slot.h"

/* Runs the activity slot after READY was sent. Returns the exit status. */
int tlw_activity_slot_run(const tlw_slot_spec *spec);

#endif
