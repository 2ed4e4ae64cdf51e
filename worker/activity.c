/*
 * The activity slot: the activity kind of task for the poller. One task is
 * built into a tlw_activity, dispatched by type to the registered function,
 * run by the executor, and reported with one of the Respond* calls, within
 * the time left before the hard stop.
 */
#include "config.h"

#include "worker/activity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/proc.h"
#include "worker/activity_context.h"
#include "worker/executor.h"
#include "worker/heartbeat.h"
#include "worker/otel_slot.h"
#include "worker/payload.h"
#include "worker/poller.h"
#include "worker/service.h"
#include "worker/zygote.h"
#include "worker/storage.h"

#define RPC_TIMEOUT_MS 10000
/* The longest a payload's trip to or from S3 may take (cut to the time left). */
#define STORE_TIMEOUT_MS 60000
#define STORAGE_FAILURE_TYPE "tlw.ExternalStorageError"

/* ---- polling ------------------------------------------------------------------ */

/* What an activity slot keeps for its tasks (the kind's arg). */
struct activity_slot {
    tlw_zygote zygote;    /* where its executors come from */
    tlw_storage *storage; /* external payload storage, or NULL */
};

static tlw_status poll_activity(tlw_poller *p, void *arg, const tlw_rpc_call_options *opts,
                                void **task, tlw_error *err)
{
    return tlw_service_poll_activity_task(&p->caller, p->settings->worker.task_queue.value,
                                          p->worker_instance_key, opts, (tlw_activity_task **)task,
                                          err);
}

static void describe_activity(const void *task, ProtobufCBinaryData *token, const char **type_name,
                              uint32_t *attempt)
{
    const tlw_activity_task *t = task;
    *token = t->task_token;
    *type_name = t->activity_type ? t->activity_type->name : "";
    *attempt = t->attempt > 0 ? (uint32_t)t->attempt : 1;
}

static void free_activity(void *task)
{
    protobuf_c_message_free_unpacked(task, NULL);
}

/* ---- external storage -------------------------------------------------------------- */

static const char *task_namespace(tlw_poller *p, const tlw_activity_task *task)
{
    return task->workflow_namespace && *task->workflow_namespace ? task->workflow_namespace
                                                                 : p->caller.namespace_name;
}

/* Whom results and failure details are stored for: as the Python SDK does,
 * the workflow that started the activity (its payloads live and die with
 * the run), or the activity itself when no workflow started it. */
static tlw_extstore_target result_target(tlw_poller *p, const tlw_activity_task *task)
{
    const Temporal__Api__Common__V1__WorkflowExecution *wf = task->workflow_execution;
    if (wf && wf->workflow_id && *wf->workflow_id)
        return (tlw_extstore_target){
            .kind = TLW_EXTSTORE_TARGET_WORKFLOW,
            .namespace_name = task_namespace(p, task),
            .type = task->workflow_type ? task->workflow_type->name : NULL,
            .id = wf->workflow_id,
            .run_id = wf->run_id,
        };
    return (tlw_extstore_target){
        .kind = TLW_EXTSTORE_TARGET_ACTIVITY,
        .namespace_name = task_namespace(p, task),
        .type = task->activity_type ? task->activity_type->name : NULL,
        .id = task->activity_id,
        .run_id = task->activity_run_id,
    };
}

/* Whom heartbeat details are stored for: the activity (the SDKs' choice). */
static tlw_extstore_target heartbeat_target(tlw_poller *p, const tlw_activity_task *task)
{
    return (tlw_extstore_target){
        .kind = TLW_EXTSTORE_TARGET_ACTIVITY,
        .namespace_name = task_namespace(p, task),
        .type = task->activity_type ? task->activity_type->name : NULL,
        .id = task->activity_id,
        .run_id = task->activity_run_id,
    };
}

static int64_t store_deadline(tlw_poller *p)
{
    return tlw_wall_ms() + tlw_poller_budget_ms(p, STORE_TIMEOUT_MS);
}

/* A reference that cannot be resolved fails for good when retrying cannot
 * help (a missing object, a hash mismatch, no storage configured); an
 * unreachable S3 or a refusal may pass. */
static bool storage_failure_final(tlw_status st)
{
    return st == TLW_ERR_INVALID || st == TLW_ERR_NOT_FOUND || st == TLW_ERR_PROTOCOL;
}

/* ---- reporting ------------------------------------------------------------------- */

/* Logs what could not be reported. */
static tlw_status logged(tlw_status st, const char *what, const tlw_error *err)
{
    if (st == TLW_ERR_NOT_FOUND)
        tlw_log_warn("cannot %s: the server no longer has the task (it timed out or was "
                     "canceled): %s",
                     what, err->message);
    else if (st != TLW_OK)
        tlw_log_error("cannot %s: %s", what, err->message);
    return st;
}

static tlw_status respond_failed(tlw_poller *p, tlw_storage *storage, const tlw_activity_task *task,
                                 const char *message, const char *type, bool non_retryable,
                                 const json_t *details, const json_t *last_heartbeat)
{
    tlw_error err;
    tlw_failure_pb *failure = NULL;
    tlw_payloads *hb = NULL;
    tlw_status st = tlw_failure_application(message, type, non_retryable, details, &failure, &err);
    if (st == TLW_OK && last_heartbeat)
        tlw_payloads_from_json(last_heartbeat, false, &hb, &err);
    tlw_extstore_target rt = result_target(p, task), ht = heartbeat_target(p, task);
    if (st == TLW_OK &&
        (tlw_storage_store_failure(storage, &rt, failure, store_deadline(p), &err) != TLW_OK ||
         tlw_storage_store(storage, &ht, hb, store_deadline(p), &err) != TLW_OK)) {
        /* Fail without the details rather than not at all. */
        char shown[TLW_ERROR_MESSAGE_MAX + 256];
        snprintf(shown, sizeof shown, "%.200s (its details could not be stored: %s)", message,
                 err.message);
        protobuf_c_message_free_unpacked(&failure->base, NULL);
        failure = NULL;
        if (hb)
            protobuf_c_message_free_unpacked(&hb->base, NULL);
        hb = NULL;
        st = tlw_failure_application(shown, type, non_retryable, NULL, &failure, &err);
    }
    if (st == TLW_OK) {
        tlw_rpc_call_options o;
        st = tlw_poller_call_options(p, RPC_TIMEOUT_MS, &o, &err);
        if (st == TLW_OK)
            st = tlw_service_activity_failed(&p->caller, task->task_token, failure, hb, &o, &err);
        logged(st, "fail the activity task", &err);
    } else {
        tlw_log_error("cannot build the failure of an activity task: %s", err.message);
    }
    if (failure)
        protobuf_c_message_free_unpacked(&failure->base, NULL);
    if (hb)
        protobuf_c_message_free_unpacked(&hb->base, NULL);
    return st;
}

static tlw_status respond_completed(tlw_poller *p, tlw_storage *storage,
                                    const tlw_activity_task *task, const json_t *result)
{
    tlw_error err;
    tlw_payloads *payloads = NULL;
    tlw_status st = tlw_payloads_from_json(result, false, &payloads, &err);
    if (st != TLW_OK) {
        char message[TLW_ERROR_MESSAGE_MAX + 64];
        snprintf(message, sizeof message, "the activity's result cannot be encoded: %s",
                 err.message);
        return respond_failed(p, storage, task, message, "tlw.ResultEncodingError", true, NULL,
                              NULL);
    }
    tlw_extstore_target target = result_target(p, task);
    st = tlw_storage_store(storage, &target, payloads, store_deadline(p), &err);
    if (st != TLW_OK) {
        protobuf_c_message_free_unpacked(&payloads->base, NULL);
        char message[TLW_ERROR_MESSAGE_MAX + 64];
        snprintf(message, sizeof message, "the activity's result cannot be stored: %s",
                 err.message);
        return respond_failed(p, storage, task, message, STORAGE_FAILURE_TYPE,
                              storage_failure_final(st), NULL, NULL);
    }
    tlw_rpc_call_options o;
    st = tlw_poller_call_options(p, RPC_TIMEOUT_MS, &o, &err);
    if (st == TLW_OK)
        st = tlw_service_activity_completed(&p->caller, task->task_token, payloads, &o, &err);
    logged(st, "complete the activity task", &err);
    size_t result_size = protobuf_c_message_get_packed_size(&payloads->base);
    protobuf_c_message_free_unpacked(&payloads->base, NULL);
    if (tlw_poller_server_knows(st) || st == TLW_ERR_UNAVAILABLE || st == TLW_ERR_TIMEOUT ||
        st == TLW_ERR_CANCELLED)
        return st;
    /* Refused for a reason that a retry of the same call would meet again
     * (e.g. the result is over the server's size limit): fail the attempt
     * instead, saying why, rather than leave it to time out. */
    char message[TLW_ERROR_MESSAGE_MAX + 128];
    snprintf(message, sizeof message,
             "the server refused the activity's result (%zu bytes encoded): %s", result_size,
             err.message);
    return respond_failed(p, storage, task, message, "tlw.ResultRefused", true, NULL, NULL);
}

static tlw_status respond_canceled(tlw_poller *p, tlw_storage *storage,
                                   const tlw_activity_task *task, const json_t *details)
{
    tlw_error err;
    tlw_payloads *payloads = NULL;
    if (details)
        tlw_payloads_from_json(details, false, &payloads, &err);
    tlw_extstore_target target = heartbeat_target(p, task);
    if (tlw_storage_store(storage, &target, payloads, store_deadline(p), &err) != TLW_OK) {
        tlw_log_warn("the cancellation's details are not sent: %s", err.message);
        protobuf_c_message_free_unpacked(&payloads->base, NULL);
        payloads = NULL;
    }
    tlw_rpc_call_options o;
    tlw_status st = tlw_poller_call_options(p, RPC_TIMEOUT_MS, &o, &err);
    if (st == TLW_OK)
        st = tlw_service_activity_canceled(&p->caller, task->task_token, payloads, &o, &err);
    logged(st, "report the activity canceled", &err);
    if (payloads)
        protobuf_c_message_free_unpacked(&payloads->base, NULL);
    return st;
}

static void describe_death(const tlw_executor_result *r, int64_t memory_limit_mb, char *out,
                           size_t size)
{
    int status = r->wait_status;
    if (status == -1) {
        snprintf(out, size, "the activity's process could not be started");
        return;
    }
    char how[128];
    tlw_describe_wait_status(status, how, sizeof how);
    if (WIFSIGNALED(status) && memory_limit_mb > 0)
        snprintf(out, size,
                 "the activity's process %s; executor_memory_limit_mb is %lld, so it may have "
                 "run out of memory",
                 how, (long long)memory_limit_mb);
    else if (WIFEXITED(status))
        snprintf(out, size,
                 "the activity's process %s before returning a result (did it call exit()?)", how);
    else
        snprintf(out, size, "the activity's process %s", how);
}

/* Reports what the executor said; returns the TASK_END outcome. */
static tlw_ipc_outcome report(tlw_poller *p, tlw_storage *storage, const tlw_activity_task *task,
                              const tlw_executor_result *r, const json_t *last_heartbeat,
                              int64_t stc_ms, tlw_status *rs)
{
    char message[1024];
    int64_t memory_limit = p->settings->worker.executor_memory_limit_mb.value;
    switch (r->ran) {
    case TLW_RAN_RESULT:
        *rs = respond_completed(p, storage, task, r->result);
        return TLW_IPC_OUTCOME_COMPLETED;
    case TLW_RAN_FAILURE:
        *rs = respond_failed(p, storage, task, r->failure_message, r->failure_type,
                             r->non_retryable, r->failure_details, last_heartbeat);
        return TLW_IPC_OUTCOME_FAILED;
    case TLW_RAN_CANCELLED:
        *rs = respond_canceled(p, storage, task, last_heartbeat);
        return TLW_IPC_OUTCOME_CANCELED;
    case TLW_RAN_CRASHED:
    case TLW_RAN_EXITED:
        tlw_otel_executor_died(task, r->wait_status); /* OpenTelemetry */
        describe_death(r, memory_limit, message, sizeof message);
        *rs =
            respond_failed(p, storage, task, message,
                           r->ran == TLW_RAN_CRASHED ? "tlw.ActivityCrashed" : "tlw.ActivityExited",
                           false, NULL, last_heartbeat);
        return TLW_IPC_OUTCOME_CRASHED;
    case TLW_RAN_TIMED_OUT:
        snprintf(message, sizeof message,
                 "the activity ran past its start-to-close timeout (%lld ms) and was killed",
                 (long long)stc_ms);
        *rs = respond_failed(p, storage, task, message, "tlw.ActivityTimedOut", false, NULL,
                             last_heartbeat);
        return TLW_IPC_OUTCOME_TIMED_OUT;
    case TLW_RAN_SHUTDOWN:
        snprintf(message, sizeof message,
                 "the worker drained before the activity finished (the Lambda invocation "
                 "ended); failing it so that a retry starts at once");
        *rs = respond_failed(p, storage, task, message, "tlw.WorkerShutdown", false, NULL,
                             last_heartbeat);
        return TLW_IPC_OUTCOME_TIMED_OUT;
    case TLW_RAN_OVERSIZED:
        snprintf(message, sizeof message,
                 "the activity's result or heartbeat details are over %d bytes as JSON, more "
                 "than a worker can send; store large data elsewhere and return a reference",
                 TLW_IPC_EXEC_BODY_MAX);
        *rs = respond_failed(p, storage, task, message, "tlw.ResultTooLarge", true, NULL,
                             last_heartbeat);
        return TLW_IPC_OUTCOME_FAILED;
    case TLW_RAN_MALFORMED:
        snprintf(message, sizeof message,
                 "the activity's process sent its worker something that is not a message "
                 "(%s) and was killed",
                 r->problem);
        *rs = respond_failed(p, storage, task, message, "tlw.ActivityCrashed", false, NULL,
                             last_heartbeat);
        return TLW_IPC_OUTCOME_CRASHED;
    }
    return TLW_IPC_OUTCOME_FAILED;
}

/* ---- running ------------------------------------------------------------------------ */

static int64_t task_stop_ms(void *arg)
{
    return tlw_poller_task_stop_ms(arg);
}

static tlw_ipc_outcome run_activity(tlw_poller *p, void *arg, const void *task_ptr, bool *reported)
{
    const tlw_activity_task *task = task_ptr;
    struct activity_slot *slot = arg;
    tlw_storage *storage = slot->storage;
    const tlw_config *cfg = p->spec->config;
    tlw_activity act = {.result_fd = -1};
    act.info = (tlw_activity_info){
        .activity_id = task->activity_id,
        .activity_type = task->activity_type ? task->activity_type->name : "",
        .workflow_id = task->workflow_execution ? task->workflow_execution->workflow_id : "",
        .workflow_run_id = task->workflow_execution ? task->workflow_execution->run_id : "",
        .workflow_type = task->workflow_type ? task->workflow_type->name : "",
        .workflow_namespace = task->workflow_namespace,
        .task_queue = p->settings->worker.task_queue.value,
        .attempt = task->attempt,
        .heartbeat_timeout_ms = tlw_duration_ms(task->heartbeat_timeout),
        .start_to_close_timeout_ms = tlw_duration_ms(task->start_to_close_timeout),
    };
    /* Kill a hung attempt a little before the server's start-to-close timer
     * fires, so that the failure says what happened. */
    int64_t now = tlw_wall_ms();
    int64_t stc = act.info.start_to_close_timeout_ms;
    int64_t early = stc / 10 < 500 ? stc / 10 : 500;
    int64_t stc_deadline = stc > 0 && stc < INT64_MAX / 2 ? now + stc - early : INT64_MAX;
    /* What tlw_activity_time_left_ms() counts down to: the earlier of that
     * and the moment this invocation stops the activity. */
    int64_t stop = tlw_poller_task_stop_ms(p);
    act.deadline_ms = stc_deadline < stop ? stc_deadline : stop;
    tlw_heartbeat hb;
    tlw_heartbeat_init(&hb, p, task->task_token, act.info.activity_type,
                       act.info.heartbeat_timeout_ms);
    hb.storage = storage;
    hb.target = heartbeat_target(p, task);
    tlw_error err;
    /* Payloads stored in S3 come back first: the arguments and the last
     * attempt's heartbeat details (the task owns them; they are replaced
     * in place). */
    int64_t fetch_deadline = store_deadline(p);
    if (fetch_deadline > act.deadline_ms)
        fetch_deadline = act.deadline_ms;
    tlw_error fetch_err;
    tlw_status fetched = tlw_storage_retrieve(storage, task->input, fetch_deadline, &fetch_err);
    if (fetched == TLW_OK) {
        fetched =
            tlw_storage_retrieve(storage, task->heartbeat_details, fetch_deadline, &fetch_err);
        if (fetched != TLW_OK)
            tlw_error_prefix(&fetch_err, "the previous heartbeat details: ");
    } else {
        tlw_error_prefix(&fetch_err, "the arguments: ");
    }
    if (fetched == TLW_OK && task->heartbeat_details && task->heartbeat_details->n_payloads &&
        tlw_payloads_to_json(task->heartbeat_details, &act.previous_details, &err) != TLW_OK) {
        tlw_log_warn("previous heartbeat details of %s: %s", act.info.activity_type, err.message);
        act.previous_details = NULL;
    }

    tlw_ipc_outcome outcome = TLW_IPC_OUTCOME_FAILED;
    tlw_status rs = TLW_OK; /* how the report went */
    tlw_activity_fn fn = tlw_config_activity(cfg, act.info.activity_type);
    json_t *args = NULL;
    if (!fn) {
        char names[512], message[1024];
        tlw_config_list_names(cfg, true, names, sizeof names);
        snprintf(message, sizeof message,
                 "activity type \"%s\" is not registered with this worker (registered: %s)",
                 act.info.activity_type, names);
        rs = respond_failed(p, storage, task, message, "NotFoundError", false, NULL, NULL);
    } else if (fetched != TLW_OK) {
        char message[TLW_ERROR_MESSAGE_MAX + 64];
        snprintf(message, sizeof message, "%s: cannot fetch a payload stored externally: %s",
                 act.info.activity_type, fetch_err.message);
        rs = respond_failed(p, storage, task, message, STORAGE_FAILURE_TYPE,
                            storage_failure_final(fetched), NULL, NULL);
    } else if (tlw_payloads_to_json(task->input, &args, &err) != TLW_OK) {
        char message[TLW_ERROR_MESSAGE_MAX + 64];
        snprintf(message, sizeof message, "the arguments of %s cannot be decoded: %s",
                 act.info.activity_type, err.message);
        rs = respond_failed(p, storage, task, message, "tlw.ArgumentDecodingError", true, NULL,
                            NULL);
    } else {
        tlw_executor_job job = {
            .fn = fn,
            .act = &act,
            .args = args,
            .memory_limit_mb = p->settings->worker.executor_memory_limit_mb.value,
            .keep_fds = &p->inherited_fds,
            .stc_deadline_ms = stc_deadline,
            .stop_ms = task_stop_ms,
            .stop_arg = p,
            .heartbeat = &hb,
            .zygote = &slot->zygote,
        };
        tlw_executor_result r;
        if (p->settings->worker.isolation.value == TLW_ISOLATION_IN_PROCESS)
            tlw_executor_run_in_process(&job, &r);
        else
            tlw_executor_run_forked(&job, &r);
        outcome = report(p, storage, task, &r, tlw_heartbeat_latest(&hb), stc, &rs);
        tlw_executor_result_free(&r);
    }
    *reported = tlw_poller_server_knows(rs);
    json_decref(args);
    json_decref(act.previous_details);
    json_decref(act.fail_details);
    tlw_heartbeat_free(&hb);
    return outcome;
}

/* With fork isolation, executors come from the function's zygote, over the
 * channel the supervisor gave this slot (worker/zygote.h); without one the
 * slot forks them itself. */
static tlw_status start_zygote(tlw_poller *p, void *arg, tlw_error *err)
{
    (void)err;
    struct activity_slot *slot = arg;
    tlw_zygote_attach(&slot->zygote, p->spec->zygote_fd);
    return TLW_OK;
}

static void stop_zygote(tlw_poller *p, void *arg)
{
    (void)p;
    struct activity_slot *slot = arg;
    tlw_zygote_stop(&slot->zygote);
}

int tlw_activity_slot_run(const tlw_slot_spec *spec)
{
    struct activity_slot slot = {.zygote = {.fd = -1, .spare_fd = -1}};
    /* The slot lives for one invocation: so does its S3 connection. */
    tlw_error err;
    if (tlw_storage_open(&spec->config->settings.worker, environ, &slot.storage, &err) != TLW_OK)
        tlw_log_error("external payload storage: %s", err.message);
    tlw_task_kind kind = {
        .kind = TLW_IPC_TASK_ACTIVITY,
        .queue_type = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_TYPE__TASK_QUEUE_TYPE_ACTIVITY,
        .poll = poll_activity,
        .describe = describe_activity,
        .run = run_activity,
        .free = free_activity,
        .start = start_zygote,
        .stop = stop_zygote,
        .arg = &slot,
        .observe = tlw_otel_activity_task,
    };
    int status = tlw_poller_run(spec, &kind);
    tlw_storage_close(slot.storage);
    return status;
}
