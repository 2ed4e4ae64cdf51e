#include "config.h"

#include "worker/recovery.h"

#include <stdio.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "worker/connect.h"
#include "worker/payload.h"
#include "worker/service.h"

/* At most this long per report, within the time the supervisor gives. */
#define RECOVERY_TIMEOUT_MS 5000

int tlw_recovery_report(const tlw_config *cfg, const char *identity,
                        const tlw_ipc_task_begin *task, const char *reason, int64_t report_by_ms)
{
    tlw_log_set_process("recovery");
    tlw_error err;
    tlw_rpc_client *client = NULL;
    tlw_failure_pb *failure = NULL;
    bool workflow = task->kind == TLW_IPC_TASK_WORKFLOW;
    char message[512];
    snprintf(message, sizeof message,
             workflow ? "the worker process running this workflow task %s; failing the task so "
                        "that the server retries it at once"
                      : "the worker process running this activity %s; failing the attempt so "
                        "that a retry starts at once",
             reason);
    int64_t budget_ms = report_by_ms - tlw_wall_ms();
    if (budget_ms <= 0) {
        tlw_log_error("no time left to fail %s task %s left by a worker that %s",
                      tlw_ipc_task_kind_name(task->kind), task->type_name, reason);
        return 1;
    }
    if (budget_ms > RECOVERY_TIMEOUT_MS)
        budget_ms = RECOVERY_TIMEOUT_MS;
    tlw_status st = tlw_worker_connect(&cfg->settings, &client, &err);
    if (st == TLW_OK)
        st = tlw_failure_application(message, "tlw.WorkerCrashed", false, NULL, &failure, &err);
    if (st == TLW_OK) {
        tlw_service_caller caller = {.client = client,
                                     .namespace_name = cfg->settings.client.namespace_name.value,
                                     .identity = identity};
        ProtobufCBinaryData token = {.len = task->task_token_len,
                                     .data = (uint8_t *)task->task_token};
        tlw_rpc_call_options o = {.timeout_ms = budget_ms};
        st = workflow
                 ? tlw_service_workflow_task_failed(
                       &caller, token,
                       TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                       failure, &o, &err)
                 : tlw_service_activity_failed(&caller, token, failure, NULL, &o, &err);
    }
    if (st == TLW_OK)
        tlw_log_info("failed %s task %s (attempt %u): its worker %s",
                     tlw_ipc_task_kind_name(task->kind), task->type_name, task->attempt, reason);
    else
        tlw_log_error("cannot fail %s task %s left by a dead worker: %s",
                      tlw_ipc_task_kind_name(task->kind), task->type_name, err.message);
    if (failure)
        protobuf_c_message_free_unpacked(&failure->base, NULL);
    tlw_rpc_client_close(client);
    return st == TLW_OK ? 0 : 1;
}
