/*
 * worker/recovery: fails the task of a worker process that died before it
 * reported it, so that a retry starts at once instead of after a server
 * timeout. It runs in a short-lived process the supervisor forks (the
 * supervisor itself never touches gRPC).
 */
#ifndef TLW_WORKER_RECOVERY_H
#define TLW_WORKER_RECOVERY_H

#include <stdint.h>

#include "conf/config.h"
#include "ipc/ipc.h"

/* Reports `task` failed (retryable, type "tlw.WorkerCrashed", the message
 * saying what happened to its worker), giving up at `report_by_ms` (epoch
 * ms). Returns the exit status for the reporter. */
int tlw_recovery_report(const tlw_config *cfg, const char *identity,
                        const tlw_ipc_task_begin *task, const char *reason, int64_t report_by_ms);

#endif
