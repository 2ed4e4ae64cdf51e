/*
 * worker/activity: the activity slot, the activity kind of task for the
 * poller (worker/poller.h).
 *
 *   PollActivityTaskQueue -> build the tlw_activity -> run the registered
 *   function (worker/executor.h: a forked executor by default) ->
 *   RespondActivityTask{Completed,Failed,Canceled} (worker/service.h)
 *
 * What went wrong in the executor is reported at once as an
 * ApplicationFailure that says what happened (tlw.ActivityCrashed,
 * tlw.ActivityExited, tlw.ActivityTimedOut, tlw.WorkerShutdown,
 * tlw.ResultTooLarge); a result the server refuses for good fails the
 * attempt as tlw.ResultRefused. Whether the server was told goes into
 * TASK_END, so that the supervisor's recovery path can try when it was not.
 */
#ifndef TLW_WORKER_ACTIVITY_H
#define TLW_WORKER_ACTIVITY_H

#include "worker/slot.h"

/* Runs the activity slot: connects, reports READY, polls until DRAIN.
 * Returns the exit status. */
int tlw_activity_slot_run(const tlw_slot_spec *spec);

#endif
