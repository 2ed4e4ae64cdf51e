#include "config.h"

#include "worker/service.h"

#include "common/error.h"

tlw_status tlw_service_get_system_info(tlw_rpc_client *client, const tlw_rpc_call_options *opts,
                                       tlw_system_info **out, tlw_error *err)
{
    Temporal__Api__Workflowservice__V1__GetSystemInfoRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__GET_SYSTEM_INFO_REQUEST__INIT;
    tlw_rpc_call_options o = opts ? *opts : (tlw_rpc_call_options){0};
    o.retry_unavailable = true; /* a read */
    return tlw_rpc_call(client, TLW_WORKFLOW_SERVICE "GetSystemInfo", &req.base,
                        &temporal__api__workflowservice__v1__get_system_info_response__descriptor,
                        (ProtobufCMessage **)out, &o, err);
}

tlw_status tlw_service_describe_namespace(tlw_rpc_client *client, const char *namespace_name,
                                          const tlw_rpc_call_options *opts,
                                          tlw_namespace_description **out, tlw_error *err)
{
    *out = NULL;
    if (!namespace_name || !*namespace_name)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "the namespace name is empty; set TEMPORAL_NAMESPACE or the profile's "
                             "namespace (the default is \"default\")");
    Temporal__Api__Workflowservice__V1__DescribeNamespaceRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__DESCRIBE_NAMESPACE_REQUEST__INIT;
    req.namespace_ = (char *)namespace_name;
    tlw_rpc_call_options o = opts ? *opts : (tlw_rpc_call_options){0};
    o.retry_unavailable = true; /* a read */
    tlw_status st = tlw_rpc_call(
        client, TLW_WORKFLOW_SERVICE "DescribeNamespace", &req.base,
        &temporal__api__workflowservice__v1__describe_namespace_response__descriptor,
        (ProtobufCMessage **)out, &o, err);
    if (st == TLW_ERR_NOT_FOUND) {
        int code = err ? err->rpc_code : 0;
        tlw_error_set(err, TLW_ERR_NOT_FOUND,
                      "namespace \"%s\" not found on %s; create it (temporal operator namespace "
                      "create --namespace %s) or set TEMPORAL_NAMESPACE to an existing one",
                      namespace_name, tlw_rpc_client_address(client), namespace_name);
        if (err)
            err->rpc_code = code;
    }
    return st;
}

void tlw_namespace_capabilities_read(const tlw_namespace_description *description,
                                     tlw_namespace_capabilities *caps)
{
    caps->worker_poll_complete_on_shutdown = false;
    if (description && description->namespace_info && description->namespace_info->capabilities)
        caps->worker_poll_complete_on_shutdown =
            description->namespace_info->capabilities->worker_poll_complete_on_shutdown;
}

int64_t tlw_duration_ms(const Google__Protobuf__Duration *d)
{
    if (!d || d->seconds < 0 || (d->seconds == 0 && d->nanos <= 0))
        return 0;
    if (d->seconds > INT64_MAX / 1000 - 1)
        return INT64_MAX;
    return d->seconds * 1000 + (d->nanos > 0 ? d->nanos / 1000000 : 0);
}

Temporal__Api__Deployment__V1__WorkerDeploymentOptions
tlw_service_versioned_deployment(const char *deployment_name, const char *build_id)
{
    Temporal__Api__Deployment__V1__WorkerDeploymentOptions o =
        TEMPORAL__API__DEPLOYMENT__V1__WORKER_DEPLOYMENT_OPTIONS__INIT;
    o.deployment_name = (char *)deployment_name;
    o.build_id = (char *)build_id;
    o.worker_versioning_mode =
        TEMPORAL__API__ENUMS__V1__WORKER_VERSIONING_MODE__WORKER_VERSIONING_MODE_VERSIONED;
    return o;
}

/* A call whose response the caller does not need. */
static tlw_status call_and_drop(const tlw_service_caller *c, const char *method,
                                const ProtobufCMessage *req,
                                const ProtobufCMessageDescriptor *resp_type,
                                const tlw_rpc_call_options *opts, bool retry, tlw_error *err)
{
    tlw_rpc_call_options o = opts ? *opts : (tlw_rpc_call_options){0};
    o.retry_unavailable = retry;
    ProtobufCMessage *resp = NULL;
    tlw_status st = tlw_rpc_call(c->client, method, req, resp_type, &resp, &o, err);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return st;
}

tlw_status tlw_service_poll_activity_task(const tlw_service_caller *c, const char *task_queue,
                                          const char *worker_instance_key,
                                          const tlw_rpc_call_options *opts, tlw_activity_task **out,
                                          tlw_error *err)
{
    Temporal__Api__Workflowservice__V1__PollActivityTaskQueueRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__POLL_ACTIVITY_TASK_QUEUE_REQUEST__INIT;
    Temporal__Api__Taskqueue__V1__TaskQueue tq = TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    tq.name = (char *)task_queue;
    tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
    req.namespace_ = (char *)c->namespace_name;
    req.task_queue = &tq;
    req.identity = (char *)c->identity;
    req.worker_instance_key = (char *)worker_instance_key;
    req.deployment_options =
        (Temporal__Api__Deployment__V1__WorkerDeploymentOptions *)c->deployment;
    *out = NULL;
    return tlw_rpc_call(c->client, TLW_WORKFLOW_SERVICE "PollActivityTaskQueue", &req.base,
                        &temporal__api__workflowservice__v1__poll_activity_task_queue_response__descriptor,
                        (ProtobufCMessage **)out, opts, err);
}

tlw_status tlw_service_shutdown_worker(const tlw_service_caller *c, const char *task_queue,
                                       const char *sticky_task_queue,
                                       const char *worker_instance_key,
                                       const Temporal__Api__Enums__V1__TaskQueueType *types,
                                       size_t n_types, const char *reason,
                                       const tlw_rpc_call_options *opts, tlw_error *err)
{
    Temporal__Api__Workflowservice__V1__ShutdownWorkerRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__SHUTDOWN_WORKER_REQUEST__INIT;
    req.namespace_ = (char *)c->namespace_name;
    req.identity = (char *)c->identity;
    req.reason = (char *)reason;
    if (sticky_task_queue)
        req.sticky_task_queue = (char *)sticky_task_queue;
    req.worker_instance_key = (char *)worker_instance_key;
    req.task_queue = (char *)task_queue;
    req.n_task_queue_types = n_types;
    req.task_queue_types = (Temporal__Api__Enums__V1__TaskQueueType *)types;
    return call_and_drop(c, TLW_WORKFLOW_SERVICE "ShutdownWorker", &req.base,
                         &temporal__api__workflowservice__v1__shutdown_worker_response__descriptor,
                         opts, false, err);
}

tlw_status tlw_service_record_heartbeat(const tlw_service_caller *c, ProtobufCBinaryData token,
                                        Temporal__Api__Common__V1__Payloads *details,
                                        const tlw_rpc_call_options *opts, bool *cancel_requested,
                                        tlw_error *err)
{
    Temporal__Api__Workflowservice__V1__RecordActivityTaskHeartbeatRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RECORD_ACTIVITY_TASK_HEARTBEAT_REQUEST__INIT;
    req.task_token = token;
    req.details = details;
    req.identity = (char *)c->identity;
    req.namespace_ = (char *)c->namespace_name;
    tlw_rpc_call_options o = opts ? *opts : (tlw_rpc_call_options){0};
    o.retry_unavailable = true;
    ProtobufCMessage *resp = NULL;
    *cancel_requested = false;
    tlw_status st = tlw_rpc_call(
        c->client, TLW_WORKFLOW_SERVICE "RecordActivityTaskHeartbeat", &req.base,
        &temporal__api__workflowservice__v1__record_activity_task_heartbeat_response__descriptor,
        &resp, &o, err);
    if (resp) {
        *cancel_requested =
            ((Temporal__Api__Workflowservice__V1__RecordActivityTaskHeartbeatResponse *)resp)
                ->cancel_requested;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return st;
}

tlw_status tlw_service_activity_completed(const tlw_service_caller *c, ProtobufCBinaryData token,
                                          Temporal__Api__Common__V1__Payloads *result,
                                          const tlw_rpc_call_options *opts, tlw_error *err)
{
    Temporal__Api__Workflowservice__V1__RespondActivityTaskCompletedRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_COMPLETED_REQUEST__INIT;
    req.task_token = token;
    req.result = result;
    req.identity = (char *)c->identity;
    req.namespace_ = (char *)c->namespace_name;
    req.deployment_options =
        (Temporal__Api__Deployment__V1__WorkerDeploymentOptions *)c->deployment;
    return call_and_drop(
        c, TLW_WORKFLOW_SERVICE "RespondActivityTaskCompleted", &req.base,
        &temporal__api__workflowservice__v1__respond_activity_task_completed_response__descriptor,
        opts, true, err);
}

tlw_status tlw_service_activity_failed(const tlw_service_caller *c, ProtobufCBinaryData token,
                                       Temporal__Api__Failure__V1__Failure *failure,
                                       Temporal__Api__Common__V1__Payloads *last_heartbeat,
                                       const tlw_rpc_call_options *opts, tlw_error *err)
{
    Temporal__Api__Workflowservice__V1__RespondActivityTaskFailedRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_FAILED_REQUEST__INIT;
    req.task_token = token;
    req.failure = failure;
    req.identity = (char *)c->identity;
    req.namespace_ = (char *)c->namespace_name;
    req.last_heartbeat_details = last_heartbeat;
    req.deployment_options =
        (Temporal__Api__Deployment__V1__WorkerDeploymentOptions *)c->deployment;
    return call_and_drop(
        c, TLW_WORKFLOW_SERVICE "RespondActivityTaskFailed", &req.base,
        &temporal__api__workflowservice__v1__respond_activity_task_failed_response__descriptor,
        opts, true, err);
}

tlw_status tlw_service_activity_canceled(const tlw_service_caller *c, ProtobufCBinaryData token,
                                         Temporal__Api__Common__V1__Payloads *details,
                                         const tlw_rpc_call_options *opts, tlw_error *err)
{
    Temporal__Api__Workflowservice__V1__RespondActivityTaskCanceledRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_CANCELED_REQUEST__INIT;
    req.task_token = token;
    req.details = details;
    req.identity = (char *)c->identity;
    req.namespace_ = (char *)c->namespace_name;
    req.deployment_options =
        (Temporal__Api__Deployment__V1__WorkerDeploymentOptions *)c->deployment;
    return call_and_drop(
        c, TLW_WORKFLOW_SERVICE "RespondActivityTaskCanceled", &req.base,
        &temporal__api__workflowservice__v1__respond_activity_task_canceled_response__descriptor,
        opts, true, err);
}

tlw_status tlw_service_poll_workflow_task(const tlw_service_caller *c, const char *task_queue,
                                          const char *sticky_queue,
                                          const char *worker_instance_key,
                                          const tlw_rpc_call_options *opts, tlw_workflow_task **out,
                                          tlw_error *err)
{
    Temporal__Api__Workflowservice__V1__PollWorkflowTaskQueueRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__POLL_WORKFLOW_TASK_QUEUE_REQUEST__INIT;
    Temporal__Api__Taskqueue__V1__TaskQueue tq = TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    if (sticky_queue) {
        tq.name = (char *)sticky_queue;
        tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_STICKY;
        tq.normal_name = (char *)task_queue;
    } else {
        tq.name = (char *)task_queue;
        tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
    }
    req.namespace_ = (char *)c->namespace_name;
    req.task_queue = &tq;
    req.identity = (char *)c->identity;
    req.worker_instance_key = (char *)worker_instance_key;
    req.deployment_options =
        (Temporal__Api__Deployment__V1__WorkerDeploymentOptions *)c->deployment;
    *out = NULL;
    return tlw_rpc_call(c->client, TLW_WORKFLOW_SERVICE "PollWorkflowTaskQueue", &req.base,
                        &temporal__api__workflowservice__v1__poll_workflow_task_queue_response__descriptor,
                        (ProtobufCMessage **)out, opts, err);
}

tlw_status tlw_service_history_page(const tlw_service_caller *c,
                                    const Temporal__Api__Common__V1__WorkflowExecution *execution,
                                    ProtobufCBinaryData next_page_token,
                                    const tlw_rpc_call_options *opts, tlw_history_page **out,
                                    tlw_error *err)
{
    Temporal__Api__Workflowservice__V1__GetWorkflowExecutionHistoryRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__GET_WORKFLOW_EXECUTION_HISTORY_REQUEST__INIT;
    req.namespace_ = (char *)c->namespace_name;
    req.execution = (Temporal__Api__Common__V1__WorkflowExecution *)execution;
    req.next_page_token = next_page_token;
    tlw_rpc_call_options o = opts ? *opts : (tlw_rpc_call_options){0};
    o.retry_unavailable = true;
    *out = NULL;
    return tlw_rpc_call(
        c->client, TLW_WORKFLOW_SERVICE "GetWorkflowExecutionHistory", &req.base,
        &temporal__api__workflowservice__v1__get_workflow_execution_history_response__descriptor,
        (ProtobufCMessage **)out, &o, err);
}

tlw_status tlw_service_workflow_task_completed(
    const tlw_service_caller *c, ProtobufCBinaryData token,
    Temporal__Api__Command__V1__Command **commands, size_t n_commands,
    tlw_query_result_entry **query_results, size_t n_query_results,
    Temporal__Api__Enums__V1__VersioningBehavior versioning_behavior, const char *normal_queue,
    const char *sticky_queue, int64_t sticky_timeout_ms, const char *worker_instance_key,
    const tlw_rpc_call_options *opts, tlw_error *err)
{
    Temporal__Api__Workflowservice__V1__RespondWorkflowTaskCompletedRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_WORKFLOW_TASK_COMPLETED_REQUEST__INIT;
    Temporal__Api__Sdk__V1__WorkflowTaskCompletedMetadata meta =
        TEMPORAL__API__SDK__V1__WORKFLOW_TASK_COMPLETED_METADATA__INIT;
    meta.sdk_name = "tlw";
    meta.sdk_version = PACKAGE_VERSION;
    req.task_token = token;
    req.n_commands = n_commands;
    req.commands = commands;
    req.n_query_results = n_query_results;
    req.query_results = query_results;
    Temporal__Api__Taskqueue__V1__TaskQueue sticky = TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    Temporal__Api__Taskqueue__V1__StickyExecutionAttributes attrs =
        TEMPORAL__API__TASKQUEUE__V1__STICKY_EXECUTION_ATTRIBUTES__INIT;
    Google__Protobuf__Duration timeout = GOOGLE__PROTOBUF__DURATION__INIT;
    if (sticky_queue) {
        sticky.name = (char *)sticky_queue;
        sticky.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_STICKY;
        sticky.normal_name = (char *)normal_queue;
        timeout.seconds = sticky_timeout_ms / 1000;
        timeout.nanos = (int32_t)(sticky_timeout_ms % 1000 * 1000000);
        attrs.worker_task_queue = &sticky;
        attrs.schedule_to_start_timeout = &timeout;
        req.sticky_attributes = &attrs;
    }
    req.identity = (char *)c->identity;
    req.namespace_ = (char *)c->namespace_name;
    req.sdk_metadata = &meta;
    req.versioning_behavior = versioning_behavior;
    req.deployment_options =
        (Temporal__Api__Deployment__V1__WorkerDeploymentOptions *)c->deployment;
    req.worker_instance_key = (char *)worker_instance_key;
    return call_and_drop(
        c, TLW_WORKFLOW_SERVICE "RespondWorkflowTaskCompleted", &req.base,
        &temporal__api__workflowservice__v1__respond_workflow_task_completed_response__descriptor,
        opts, true, err);
}

tlw_status tlw_service_workflow_task_failed(const tlw_service_caller *c, ProtobufCBinaryData token,
                                            Temporal__Api__Enums__V1__WorkflowTaskFailedCause cause,
                                            Temporal__Api__Failure__V1__Failure *failure,
                                            const tlw_rpc_call_options *opts, tlw_error *err)
{
    Temporal__Api__Workflowservice__V1__RespondWorkflowTaskFailedRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_WORKFLOW_TASK_FAILED_REQUEST__INIT;
    req.task_token = token;
    req.cause = cause;
    req.failure = failure;
    req.identity = (char *)c->identity;
    req.namespace_ = (char *)c->namespace_name;
    req.deployment_options =
        (Temporal__Api__Deployment__V1__WorkerDeploymentOptions *)c->deployment;
    return call_and_drop(
        c, TLW_WORKFLOW_SERVICE "RespondWorkflowTaskFailed", &req.base,
        &temporal__api__workflowservice__v1__respond_workflow_task_failed_response__descriptor,
        opts, true, err);
}

tlw_status tlw_service_query_completed(const tlw_service_caller *c, ProtobufCBinaryData token,
                                       Temporal__Api__Common__V1__Payloads *answer,
                                       const char *error_message,
                                       const tlw_rpc_call_options *opts, tlw_error *err)
{
    Temporal__Api__Workflowservice__V1__RespondQueryTaskCompletedRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_QUERY_TASK_COMPLETED_REQUEST__INIT;
    req.task_token = token;
    req.namespace_ = (char *)c->namespace_name;
    if (error_message) {
        req.completed_type = TEMPORAL__API__ENUMS__V1__QUERY_RESULT_TYPE__QUERY_RESULT_TYPE_FAILED;
        req.error_message = (char *)error_message;
    } else {
        req.completed_type =
            TEMPORAL__API__ENUMS__V1__QUERY_RESULT_TYPE__QUERY_RESULT_TYPE_ANSWERED;
        req.query_result = answer;
    }
    return call_and_drop(
        c, TLW_WORKFLOW_SERVICE "RespondQueryTaskCompleted", &req.base,
        &temporal__api__workflowservice__v1__respond_query_task_completed_response__descriptor,
        opts, true, err);
}
