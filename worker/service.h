/*
 * Typed calls on the Temporal WorkflowService, on top of worker/rpc.h.
 *
 * Each returns the decoded response, owned by the caller (free it with
 * protobuf_c_message_free_unpacked(&resp->base, NULL)), and maps errors onto
 * messages that name the namespace and the address.
 */
#ifndef TLW_WORKER_SERVICE_H
#define TLW_WORKER_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "temporal/api/workflowservice/v1/request_response.pb-c.h"
#include "worker/rpc.h"

#define TLW_WORKFLOW_SERVICE "/temporal.api.workflowservice.v1.WorkflowService/"

typedef Temporal__Api__Workflowservice__V1__GetSystemInfoResponse tlw_system_info;
typedef Temporal__Api__Workflowservice__V1__DescribeNamespaceResponse tlw_namespace_description;

/* GetSystemInfo: the server version and its capabilities. Retries UNAVAILABLE. */
tlw_status tlw_service_get_system_info(tlw_rpc_client *client, const tlw_rpc_call_options *opts,
                                       tlw_system_info **out, tlw_error *err);

/* DescribeNamespace by name. A namespace that does not exist is
 * TLW_ERR_NOT_FOUND with a message naming it and the address. */
tlw_status tlw_service_describe_namespace(tlw_rpc_client *client, const char *namespace_name,
                                          const tlw_rpc_call_options *opts,
                                          tlw_namespace_description **out, tlw_error *err);

/* What the worker needs to know of a namespace. */
typedef struct tlw_namespace_capabilities {
    /* The server completes polls that carry a worker_instance_key once
     * ShutdownWorker is called with that key (graceful poll shutdown). */
    bool worker_poll_complete_on_shutdown;
} tlw_namespace_capabilities;

/* Who is calling: the fields every worker request repeats. */
typedef struct tlw_service_caller {
    tlw_rpc_client *client;
    const char *namespace_name;
    const char *identity;
    /* NULL, or the worker deployment options (sent with polls and responses) */
    const Temporal__Api__Deployment__V1__WorkerDeploymentOptions *deployment;
} tlw_service_caller;

typedef Temporal__Api__Workflowservice__V1__PollActivityTaskQueueResponse tlw_activity_task;

/* The deployment options of a versioned worker (always on here). The strings
 * are borrowed. */
Temporal__Api__Deployment__V1__WorkerDeploymentOptions
tlw_service_versioned_deployment(const char *deployment_name, const char *build_id);

/* PollActivityTaskQueue (a long poll: `opts` sets its deadline and its
 * cancellation). *out may come back with an empty task token: no task. */
tlw_status tlw_service_poll_activity_task(const tlw_service_caller *c, const char *task_queue,
                                          const char *worker_instance_key,
                                          const tlw_rpc_call_options *opts, tlw_activity_task **out,
                                          tlw_error *err);

/* ShutdownWorker: the server completes this worker's open polls of the given
 * task queue types empty, and moves the tasks waiting on its sticky queue
 * (`sticky_task_queue`, NULL for none) to the normal one at once. */
tlw_status tlw_service_shutdown_worker(const tlw_service_caller *c, const char *task_queue,
                                       const char *sticky_task_queue,
                                       const char *worker_instance_key,
                                       const Temporal__Api__Enums__V1__TaskQueueType *types,
                                       size_t n_types, const char *reason,
                                       const tlw_rpc_call_options *opts, tlw_error *err);

/* RecordActivityTaskHeartbeat; *cancel_requested says whether the server
 * asks the activity to stop. Retries UNAVAILABLE. */
tlw_status tlw_service_record_heartbeat(const tlw_service_caller *c, ProtobufCBinaryData token,
                                        Temporal__Api__Common__V1__Payloads *details,
                                        const tlw_rpc_call_options *opts, bool *cancel_requested,
                                        tlw_error *err);

/* RespondActivityTask{Completed,Failed,Canceled}. The server deduplicates by
 * task token, so each retries UNAVAILABLE. */
tlw_status tlw_service_activity_completed(const tlw_service_caller *c, ProtobufCBinaryData token,
                                          Temporal__Api__Common__V1__Payloads *result,
                                          const tlw_rpc_call_options *opts, tlw_error *err);
tlw_status tlw_service_activity_failed(const tlw_service_caller *c, ProtobufCBinaryData token,
                                       Temporal__Api__Failure__V1__Failure *failure,
                                       Temporal__Api__Common__V1__Payloads *last_heartbeat,
                                       const tlw_rpc_call_options *opts, tlw_error *err);
tlw_status tlw_service_activity_canceled(const tlw_service_caller *c, ProtobufCBinaryData token,
                                         Temporal__Api__Common__V1__Payloads *details,
                                         const tlw_rpc_call_options *opts, tlw_error *err);

typedef Temporal__Api__Workflowservice__V1__PollWorkflowTaskQueueResponse tlw_workflow_task;
typedef Temporal__Api__Workflowservice__V1__RespondWorkflowTaskCompletedRequest__QueryResultsEntry
    tlw_query_result_entry;
typedef Temporal__Api__Workflowservice__V1__GetWorkflowExecutionHistoryResponse tlw_history_page;

/* PollWorkflowTaskQueue (a long poll, as PollActivityTaskQueue): the normal
 * `task_queue`, or this worker's `sticky_queue` (NULL: the normal one). */
tlw_status tlw_service_poll_workflow_task(const tlw_service_caller *c, const char *task_queue,
                                          const char *sticky_queue, const char *worker_instance_key,
                                          const tlw_rpc_call_options *opts, tlw_workflow_task **out,
                                          tlw_error *err);

/* One page of a run's history after `next_page_token`. Retries UNAVAILABLE. */
tlw_status tlw_service_history_page(const tlw_service_caller *c,
                                    const Temporal__Api__Common__V1__WorkflowExecution *execution,
                                    ProtobufCBinaryData next_page_token,
                                    const tlw_rpc_call_options *opts, tlw_history_page **out,
                                    tlw_error *err);

/* RespondWorkflowTaskCompleted with the new commands and the run's
 * versioning behaviour (PINNED or AUTO_UPGRADE), with this worker's sdk name
 * and version, and (`sticky_queue` not NULL) the sticky queue the run's
 * next tasks should go to, for `sticky_timeout_ms`. Retries UNAVAILABLE
 * (the server deduplicates by token). */
tlw_status tlw_service_workflow_task_completed(
    const tlw_service_caller *c, ProtobufCBinaryData token,
    Temporal__Api__Command__V1__Command **commands, size_t n_commands,
    tlw_query_result_entry **query_results, size_t n_query_results,
    Temporal__Api__Enums__V1__VersioningBehavior versioning_behavior, const char *normal_queue,
    const char *sticky_queue, int64_t sticky_timeout_ms, const char *worker_instance_key,
    const tlw_rpc_call_options *opts, tlw_error *err);

/* RespondQueryTaskCompleted: the answer of a query-only task (`answer` set)
 * or its error (`error_message`). */
tlw_status tlw_service_query_completed(const tlw_service_caller *c, ProtobufCBinaryData token,
                                       Temporal__Api__Common__V1__Payloads *answer,
                                       const char *error_message, const tlw_rpc_call_options *opts,
                                       tlw_error *err);

/* RespondWorkflowTaskFailed: the server retries the task. */
tlw_status tlw_service_workflow_task_failed(const tlw_service_caller *c, ProtobufCBinaryData token,
                                            Temporal__Api__Enums__V1__WorkflowTaskFailedCause cause,
                                            Temporal__Api__Failure__V1__Failure *failure,
                                            const tlw_rpc_call_options *opts, tlw_error *err);

/* A server-supplied duration in milliseconds: 0 for none or a negative one,
 * INT64_MAX instead of overflowing (seconds may be any int64). */
int64_t tlw_duration_ms(const Google__Protobuf__Duration *d);

void tlw_namespace_capabilities_read(const tlw_namespace_description *description,
                                     tlw_namespace_capabilities *caps);

#endif
