/*
 * supervisor/telemetry: the supervisor's part in OpenTelemetry.
 *
 * The slots send what they recorded (ipc METRICS) before they exit; the
 * supervisor merges it into ops->metrics, the registry it keeps for the life
 * of the process, adds its own (invocations, cold starts, restarts,
 * recoveries, drain and work window), and, once the invocation's slots are
 * gone and before it answers, forks a short-lived exporter (ops->otel_export
 * runs in it: gRPC lives there, never here) and waits for it at most until
 * the export bound: min(otel_export_timeout_ms from now, the invocation's
 * final moment). A collector that is dead or slow costs that bound and a
 * log line, never the result or the deadline; the values are cumulative, so
 * an export that did not happen is made good by the next one.
 */
#ifndef TLW_SUPERVISOR_TELEMETRY_H
#define TLW_SUPERVISOR_TELEMETRY_H

#include "supervisor/supervisor.h"

/* A METRICS message from a child: merged into ops->metrics (if any). */
void tlw_telemetry_child_metrics(const tlw_supervisor_ops *ops, const tlw_ipc_metrics *msg);

/* A SPAN message from a child: kept for the next export. */
void tlw_telemetry_child_span(const tlw_supervisor_ops *ops, const tlw_ipc_span *msg);

/* The end of an invocation's work: records the supervisor's own metrics
 * from `summary` and the invocation's span (from `started_ms`, linked to
 * its X-Ray trace) and, if OpenTelemetry is on, exports, by `final_at_ms`
 * (epoch ms; TLW_NO_DEADLINE outside Lambda) at the latest. */
void tlw_telemetry_invocation_end(const tlw_supervisor_ops *ops, const tlw_config *cfg,
                                  const tlw_invocation *inv, const tlw_invocation_summary *summary,
                                  int64_t started_ms, int64_t final_at_ms);

#endif
