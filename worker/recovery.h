/*
 * worker/recovery: fails the task of a worker process that died before it
 * reported it, so that a retry starts at once instead of after a server
 * timeout. It runs in a short-lived process the supervisor forks (the
 * supervisor itself never touches gRPC).
 */
#ifndef TLW_WORKER_RECOVERY_H
#define TLW_WORKER_RECOVERY_H

#include <stdint.h>

#include "conf/worker_config.h"
#include "ipc/ipc.h"

/* Reports `task` failed, giving up at `report_by_ms` (epoch ms): an
 * activity attempt as a retryable failure of type "tlw.WorkerCrashed", a
 * workflow task with RespondWorkflowTaskFailed (the server retries it at
 * once); the message says what happened to its worker. Returns the exit
 * status for the reporter. */
int tlw_recovery_report(const tlw_config *cfg, const char *identity,
                        const tlw_ipc_task_begin *task, const char *reason, int64_t report_by_ms);

#endif
