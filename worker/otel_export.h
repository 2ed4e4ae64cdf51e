/*
 * worker/otel_export: the OTLP exporter, the one job of a short-lived
 * process the supervisor forks at the end of an invocation (the supervisor
 * never touches gRPC; see docs/observability.md).
 *
 * It turns the supervisor's registry (cumulative since the process started)
 * into one OTLP ExportMetricsServiceRequest, with the OpenTelemetry FaaS
 * resource attributes and the service-wide labels on every point, and sends
 * it with one unary gRPC call to the configured endpoint, by `export_by_ms`.
 */
#ifndef TLW_WORKER_OTEL_EXPORT_H
#define TLW_WORKER_OTEL_EXPORT_H

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/metrics.h"
#include "common/spans.h"
#include "conf/worker_config.h"

/* Exports `metrics` and `spans` (either may be NULL or empty); gives up at
 * `export_by_ms` (epoch ms). Returns the exit status, as above. */
int tlw_otel_export(const tlw_config *cfg, const tlw_metrics *metrics, const tlw_spans *spans,
                    int64_t export_by_ms);

/* The host:port a gRPC channel dials for `endpoint` ("http://host:port",
 * "https://host:port", an optional trailing "/"; no port: 4317), and whether
 * it is TLS. TLW_ERR_INVALID with a message naming the endpoint if it is
 * none of those. */
tlw_status tlw_otel_endpoint_target(const char *endpoint, char *out, size_t size, bool *tls,
                                    tlw_error *err);

/* The request as it would be sent (for the unit tests): the caller frees it
 * with tlw_otel_metrics_request_free. */
ProtobufCMessage *tlw_otel_metrics_request(const tlw_config *cfg, const tlw_metrics *metrics,
                                           int64_t now_ms);
/* The same for the spans (an ExportTraceServiceRequest); freed the same way. */
ProtobufCMessage *tlw_otel_traces_request(const tlw_config *cfg, const tlw_spans *spans);
void tlw_otel_metrics_request_free(ProtobufCMessage *request);

#endif
