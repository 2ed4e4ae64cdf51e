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
