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
    if (task->kind != TLW_IPC_TASK_ACTIVITY) {
        tlw_log_warn("a %s task (%s) was left by a worker that %s; the server retries it after "
                     "its task timeout",
                     tlw_ipc_task_kind_name(task->kind), task->type_name, reason);
        return 0;
    }
    tlw_error err;
    tlw_rpc_client *client = NULL;
    tlw_failure *failure = NULL;
    char message[512];
    snprintf(message, sizeof message,
             "the worker process running this activity %s; failing the attempt so that a "
             "retry starts at once",
             reason);
    int64_t budget_ms = report_by_ms - tlw_wall_ms();
    if (budget_ms <= 0) {
        tlw_log_error("no time left to fail activity %s left by a worker that %s", task->type_name,
                      reason);
        return 1;
    }
    if (budget_ms > RECOVERY_TIMEOUT_MS)
        budget_ms = RECOVERY_TIMEOUT_MS;
    tlw_status st = tlw_worker_connect(&cfg->settings, &client, &err);
    if (st == TLW_OK)
        st = tlw_failure_application(message, "tlw.WorkerCrashed", false, NULL, &failure, &err);
    if (st == TLW_OK) {
        Temporal__Api__Workflowservice__V1__RespondActivityTaskFailedRequest req =
            TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_FAILED_REQUEST__INIT;
        req.task_token.data = (uint8_t *)task->task_token;
        req.task_token.len = task->task_token_len;
        req.failure = failure;
        req.identity = (char *)identity;
        req.namespace_ = cfg->settings.client.namespace_name.value;
        ProtobufCMessage *resp = NULL;
        tlw_rpc_call_options o = {.timeout_ms = budget_ms, .retry_unavailable = true};
        st = tlw_rpc_call(client, TLW_WORKFLOW_SERVICE "RespondActivityTaskFailed", &req.base,
                          &temporal__api__workflowservice__v1__respond_activity_task_failed_response__descriptor,
                          &resp, &o, &err);
        if (resp)
            protobuf_c_message_free_unpacked(resp, NULL);
    }
    if (st == TLW_OK)
        tlw_log_info("failed activity %s (attempt %u): its worker %s", task->type_name,
                     task->attempt, reason);
    else
        tlw_log_error("cannot fail activity %s left by a dead worker: %s", task->type_name,
                      err.message);
    if (failure)
        protobuf_c_message_free_unpacked(&failure->base, NULL);
    tlw_rpc_client_close(client);
    return st == TLW_OK ? 0 : 1;
}
