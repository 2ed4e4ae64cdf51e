/*
 * OpenTelemetry: the metric registry (common/metrics), its compact form and
 * strict decoder, and the OTLP request the exporter builds from it
 * (worker/otel_export), decoded back with the OTLP protos.
 */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/metrics.h"
#include "common/spans.h"
#include "conf/worker_config.h"
#include "supervisor/telemetry.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "worker/otel_export.h"

static void counters_histograms_and_gauges_record_by_labels(void **state)
{
    tlw_metrics *m = tlw_metrics_new(1000);
    tlw_metric_label ab[2] = {{"operation", "Poll"}, {"status_code", "OK"}};
    tlw_metric_label ba[2] = {{"status_code", "OK"}, {"operation", "Poll"}};
    tlw_metrics_add(m, TLW_M_REQUEST, ab, 2, 2);
    tlw_metrics_add(m, TLW_M_REQUEST, ba, 2, 3); /* the same series: order does not matter */
    assert_int_equal(tlw_metrics_counter_value(m, TLW_M_REQUEST, ab, 2), 5);
    assert_int_equal(tlw_metrics_series_count(m), 1);

    tlw_metric_label t = {"activity_type", "greet"};
    /* bounds 50, 100, 500, 1000, 5000, 10000, 60000 */
    tlw_metrics_record(m, TLW_M_ACTIVITY_EXECUTION_LATENCY, &t, 1, 50);  /* le 50 */
    tlw_metrics_record(m, TLW_M_ACTIVITY_EXECUTION_LATENCY, &t, 1, 51);  /* le 100 */
    tlw_metrics_record(m, TLW_M_ACTIVITY_EXECUTION_LATENCY, &t, 1, 7e4); /* +Inf */
    const tlw_metric_series *h = tlw_metrics_series_at(m, 1);
    assert_int_equal(h->count, 3);
    assert_int_equal(h->buckets[0], 1);
    assert_int_equal(h->buckets[1], 1);
    assert_int_equal(h->buckets[7], 1);
    assert_true(h->min == 50 && h->max == 7e4 && h->sum == 50 + 51 + 7e4);

    tlw_metrics_set(m, TLW_M_STICKY_CACHE_SIZE, NULL, 0, 4);
    tlw_metrics_set(m, TLW_M_STICKY_CACHE_SIZE, NULL, 0, 9);
    assert_true(tlw_metrics_series_at(m, 2)->sum == 9);
    /* The wrong kind for a metric is ignored, not recorded. */
    tlw_metrics_add(m, TLW_M_STICKY_CACHE_SIZE, NULL, 0, 1);
    tlw_metrics_record(m, TLW_M_REQUEST, ab, 2, 1);
    assert_int_equal(tlw_metrics_series_count(m), 3);
    /* Metrics off: a NULL registry records nothing, without crashing. */
    tlw_metrics_add(NULL, TLW_M_REQUEST, ab, 2, 1);
    tlw_metrics_free(m);
}

static void a_long_label_value_is_cut_at_a_character_boundary(void **state)
{
    char value[TLW_METRIC_VALUE_MAX + 8];
    memset(value, 'a', sizeof value);
    /* "é" (2 bytes) straddling the limit */
    value[TLW_METRIC_VALUE_MAX - 2] = (char)0xc3;
    value[TLW_METRIC_VALUE_MAX - 1] = (char)0xa9;
    value[sizeof value - 1] = '\0';
    tlw_metrics *m = tlw_metrics_new(0);
    tlw_metric_label l = {"activity_type", value};
    tlw_metrics_add(m, TLW_M_ACTIVITY_EXECUTION_FAILED, &l, 1, 1);
    const tlw_metric_series *s = tlw_metrics_series_at(m, 0);
    assert_int_equal(strlen(s->values[0]), TLW_METRIC_VALUE_MAX - 2);
    /* ... and what was kept still passes the strict decoder. */
    uint8_t buf[4096];
    size_t cursor = 0, len = 0;
    assert_int_equal(tlw_metrics_encode(m, &cursor, buf, sizeof buf, &len, NULL), TLW_OK);
    assert_int_equal(tlw_metrics_merge(NULL, buf, len, NULL), TLW_OK);
    tlw_metrics_free(m);
}

/* A slot's registry, sent in chunks and merged twice, adds up. */
static void merging_adds_counters_and_histograms_and_keeps_the_newer_gauge(void **state)
{
    tlw_metrics *slot = tlw_metrics_new(0);
    char type[32];
    for (int i = 0; i < 40; i++) { /* more series than one small chunk holds */
        snprintf(type, sizeof type, "type-%d", i);
        tlw_metric_label l = {"activity_type", type};
        tlw_metrics_add(slot, TLW_M_ACTIVITY_EXECUTION_FAILED, &l, 1, (uint64_t)i + 1);
        tlw_metrics_record(slot, TLW_M_ACTIVITY_EXECUTION_LATENCY, &l, 1, (double)i);
    }
    tlw_metrics_set(slot, TLW_M_STICKY_CACHE_SIZE, NULL, 0, 3);
    tlw_metrics *agg = tlw_metrics_new(0);
    for (int round = 0; round < 2; round++) {
        size_t cursor = 0, chunks = 0;
        while (cursor < tlw_metrics_series_count(slot)) {
            uint8_t buf[TLW_METRICS_CHUNK_MIN];
            size_t len = 0, before = cursor;
            assert_int_equal(tlw_metrics_encode(slot, &cursor, buf, sizeof buf, &len, NULL),
                             TLW_OK);
            assert_true(cursor > before && len <= sizeof buf);
            tlw_error err;
            assert_int_equal(tlw_metrics_merge(agg, buf, len, &err), TLW_OK);
            chunks++;
        }
        assert_true(chunks > 1);
    }
    tlw_metric_label l7 = {"activity_type", "type-7"};
    assert_int_equal(tlw_metrics_counter_value(agg, TLW_M_ACTIVITY_EXECUTION_FAILED, &l7, 1), 16);
    assert_int_equal(tlw_metrics_series_count(agg), 81);
    for (size_t i = 0; i < tlw_metrics_series_count(agg); i++) {
        const tlw_metric_series *s = tlw_metrics_series_at(agg, i);
        if (s->id == TLW_M_ACTIVITY_EXECUTION_LATENCY)
            assert_int_equal(s->count, 2);
        if (s->id == TLW_M_STICKY_CACHE_SIZE)
            assert_true(s->sum == 3);
    }
    tlw_metrics_free(slot);
    tlw_metrics_free(agg);
}

/* A slot takes deltas: what was taken is not sent again; gauges always are. */
static void taking_sends_each_increment_once(void **state)
{
    tlw_metrics *slot = tlw_metrics_new(0), *agg = tlw_metrics_new(0);
    tlw_metric_label l = {"activity_type", "a"};
    uint8_t buf[TLW_METRICS_CHUNK_MIN];
    size_t cursor, len;
    for (int round = 1; round <= 3; round++) {
        if (round != 2) { /* nothing new in round 2 */
            tlw_metrics_add(slot, TLW_M_ACTIVITY_EXECUTION_FAILED, &l, 1, 5);
            tlw_metrics_record(slot, TLW_M_ACTIVITY_EXECUTION_LATENCY, &l, 1, 7);
        }
        tlw_metrics_set(slot, TLW_M_STICKY_CACHE_SIZE, NULL, 0, round);
        cursor = 0;
        assert_int_equal(tlw_metrics_take(slot, &cursor, buf, sizeof buf, &len, NULL), TLW_OK);
        assert_int_equal(cursor, 3);
        uint32_t n;
        memcpy(&n, buf, 4);
        assert_int_equal(n, round == 2 ? 1 : 3); /* the gauge alone when nothing is new */
        assert_int_equal(tlw_metrics_merge(agg, buf, len, NULL), TLW_OK);
    }
    assert_int_equal(tlw_metrics_counter_value(agg, TLW_M_ACTIVITY_EXECUTION_FAILED, &l, 1), 10);
    assert_int_equal(tlw_metrics_series_at(agg, 1)->count, 2);
    assert_true(tlw_metrics_series_at(agg, 2)->sum == 3);
    tlw_metrics_free(slot);
    tlw_metrics_free(agg);
}

static size_t one_histogram(uint8_t *buf, size_t cap)
{
    tlw_metrics *m = tlw_metrics_new(0);
    tlw_metric_label l = {"workflow_type", "W"};
    tlw_metrics_record(m, TLW_M_WORKFLOW_TASK_EXECUTION_LATENCY, &l, 1, 12);
    size_t cursor = 0, len = 0;
    assert_int_equal(tlw_metrics_encode(m, &cursor, buf, cap, &len, NULL), TLW_OK);
    tlw_metrics_free(m);
    return len;
}

static void assert_merge_refuses(const uint8_t *buf, size_t len, const char *says)
{
    tlw_metrics *m = tlw_metrics_new(0);
    tlw_error err;
    assert_int_equal(tlw_metrics_merge(m, buf, len, &err), TLW_ERR_PROTOCOL);
    if (!strstr(err.message, says))
        fail_msg("\"%s\" does not say \"%s\"", err.message, says);
    assert_int_equal(tlw_metrics_series_count(m), 0); /* nothing merged */
    tlw_metrics_free(m);
}

static void the_decoder_refuses_anything_but_the_exact_form(void **state)
{
    uint8_t good[1024], bad[1024];
    size_t len = one_histogram(good, sizeof good);
    assert_int_equal(tlw_metrics_merge(NULL, good, len, NULL), TLW_OK);
    /* layout: count(4) | id(2) | n(1) | klen(1) "workflow_type"(13) | vlen(2) "W" | ... */
    size_t key_at = 4 + 2 + 1 + 1, value_at = key_at + 13 + 2;
    size_t hist_at = value_at + 1;
    assert_merge_refuses(good, 3, "no series count");
    for (size_t cut = 5; cut < len; cut += 7)
        assert_merge_refuses(good, cut, "truncated");
    memcpy(bad, good, len);
    bad[6] = 4; /* label count */
    assert_merge_refuses(bad, len, "too many labels");
    memcpy(bad, good, len);
    bad[key_at] = 'W';
    assert_merge_refuses(bad, len, "label key is not [a-z_]+");
    memcpy(bad, good, len);
    bad[value_at] = 0;
    assert_merge_refuses(bad, len, "not UTF-8 without NUL");
    memcpy(bad, good, len);
    bad[value_at] = (char)0xff;
    assert_merge_refuses(bad, len, "not UTF-8 without NUL");
    memcpy(bad, good, len);
    bad[hist_at] = 2; /* count 2, but one value in the buckets */
    assert_merge_refuses(bad, len, "do not add up");
    memcpy(bad, good, len);
    double nan = NAN;
    memcpy(bad + hist_at + 8, &nan, 8); /* sum */
    assert_merge_refuses(bad, len, "not finite");
    memcpy(bad, good, len);
    bad[len] = 1;
    assert_merge_refuses(bad, len + 1, "left over");
}

static void endpoints_map_to_grpc_targets(void **state)
{
    char target[128];
    bool tls;
    tlw_error err;
    assert_int_equal(
        tlw_otel_endpoint_target("http://localhost:4317", target, sizeof target, &tls, &err),
        TLW_OK);
    assert_string_equal(target, "localhost:4317");
    assert_false(tls);
    assert_int_equal(
        tlw_otel_endpoint_target("https://collector.example/", target, sizeof target, &tls, &err),
        TLW_OK);
    assert_string_equal(target, "collector.example:4317");
    assert_true(tls);
    assert_int_equal(tlw_otel_endpoint_target("http://[::1]", target, sizeof target, &tls, &err),
                     TLW_OK);
    assert_string_equal(target, "[::1]:4317");
    assert_int_equal(tlw_otel_endpoint_target("localhost:4317", target, sizeof target, &tls, &err),
                     TLW_ERR_INVALID);
    assert_non_null(strstr(err.message, "not an http:// or https:// URL"));
    assert_int_equal(
        tlw_otel_endpoint_target("http://h:4318/v1/metrics", target, sizeof target, &tls, &err),
        TLW_ERR_INVALID);
    assert_non_null(strstr(err.message, "has a path"));
}

static const Opentelemetry__Proto__Metrics__V1__Metric *
find_metric(const Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *r,
            const char *name)
{
    const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
        r->resource_metrics[0]->scope_metrics[0];
    for (size_t i = 0; i < sm->n_metrics; i++)
        if (strcmp(sm->metrics[i]->name, name) == 0)
            return sm->metrics[i];
    fail_msg("no metric %s", name);
    return NULL;
}

static const char *attr(Opentelemetry__Proto__Common__V1__KeyValue **kvs, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kvs[i]->key, key) == 0)
            return kvs[i]->value->string_value;
    return NULL;
}

/* The request, packed and decoded again as a collector would. */
static void the_otlp_request_has_temporal_names_labels_and_cumulative_points(void **state)
{
    tlw_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char ns[] = "prod", tq[] = "orders", svc[] = "billing";
    cfg.settings.client.namespace_name.value = ns;
    cfg.settings.worker.task_queue.value = tq;
    cfg.settings.worker.otel_service_name.value = svc;
    tlw_metrics *m = tlw_metrics_new(1000);
    tlw_metric_label op = {"operation", "RespondActivityTaskCompleted"};
    tlw_metrics_add(m, TLW_M_REQUEST, &op, 1, 3);
    tlw_metric_label t = {"activity_type", "greet"};
    tlw_metrics_record(m, TLW_M_ACTIVITY_EXECUTION_LATENCY, &t, 1, 75);
    tlw_metrics_add(m, TLW_M_TLW_INVOCATIONS, NULL, 0, 2);
    tlw_metrics_set(m, TLW_M_NUM_POLLERS, NULL, 0, 2);

    ProtobufCMessage *req = tlw_otel_metrics_request(&cfg, m, 5000);
    assert_non_null(req);
    size_t size = protobuf_c_message_get_packed_size(req);
    uint8_t *wire = malloc(size);
    protobuf_c_message_pack(req, wire);
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *r =
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
            NULL, size, wire);
    assert_non_null(r);
    const Opentelemetry__Proto__Resource__V1__Resource *res = r->resource_metrics[0]->resource;
    assert_string_equal(attr(res->attributes, res->n_attributes, "service.name"), "billing");
    assert_string_equal(attr(res->attributes, res->n_attributes, "cloud.provider"), "aws");

    const Opentelemetry__Proto__Metrics__V1__Metric *req_m = find_metric(r, "temporal_request");
    assert_int_equal(req_m->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
    assert_true(req_m->sum->is_monotonic);
    assert_int_equal(
        req_m->sum->aggregation_temporality,
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE);
    const Opentelemetry__Proto__Metrics__V1__NumberDataPoint *p = req_m->sum->data_points[0];
    assert_int_equal(p->as_int, 3);
    assert_int_equal(p->start_time_unix_nano, 1000ull * 1000000);
    assert_int_equal(p->time_unix_nano, 5000ull * 1000000);
    assert_string_equal(attr(p->attributes, p->n_attributes, "namespace"), "prod");
    assert_string_equal(attr(p->attributes, p->n_attributes, "task_queue"), "orders");
    assert_string_equal(attr(p->attributes, p->n_attributes, "service_name"), "billing");
    assert_string_equal(attr(p->attributes, p->n_attributes, "operation"),
                        "RespondActivityTaskCompleted");

    const Opentelemetry__Proto__Metrics__V1__Metric *lat =
        find_metric(r, "temporal_activity_execution_latency");
    assert_string_equal(lat->unit, "ms");
    const Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *h = lat->histogram->data_points[0];
    assert_int_equal(h->count, 1);
    assert_int_equal(h->n_explicit_bounds, 7);
    assert_int_equal(h->n_bucket_counts, 8);
    assert_int_equal(h->bucket_counts[1], 1); /* 50 < 75 <= 100 */
    /* The rewritten proto3 optional fields keep their presence. */
    assert_int_equal(h->_sum_case,
                     OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM);
    assert_true(h->sum == 75 && h->min == 75 && h->max == 75);

    assert_int_equal(find_metric(r, "tlw_invocations")->sum->data_points[0]->as_int, 2);
    assert_true(find_metric(r, "temporal_num_pollers")->gauge->data_points[0]->as_double == 2);

    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
        r, NULL);
    free(wire);
    tlw_otel_metrics_request_free(req);
    tlw_metrics_free(m);
}

static tlw_span sample_span(void)
{
    tlw_span s;
    memset(&s, 0, sizeof s);
    tlw_trace_new_trace_id(s.trace_id, 1700000000123);
    tlw_trace_new_span_id(s.span_id);
    s.parent_span_id[7] = 1;
    s.kind = TLW_SPAN_KIND_INTERNAL;
    s.start_ns = 10;
    s.end_ns = 20;
    snprintf(s.name, sizeof s.name, "RunActivity:greet");
    tlw_span_attr(&s, "temporalWorkflowID", "wf-1");
    tlw_span_attr(&s, "temporalActivityID", "1");
    return s;
}

static void spans_round_trip_and_the_decoder_is_strict(void **state)
{
    tlw_span s = sample_span();
    /* X-Ray-compatible: the trace id starts with the epoch seconds. */
    assert_int_equal(s.trace_id[0], 0x65);
    assert_int_equal(s.trace_id[1], 0x53);
    assert_int_equal(s.trace_id[2], 0xf1);
    assert_int_equal(s.trace_id[3], 0x00);
    uint8_t buf[TLW_SPAN_ENCODED_MAX], bad[TLW_SPAN_ENCODED_MAX + 1];
    size_t len = tlw_span_encode(&s, buf);
    tlw_span back;
    tlw_error err;
    assert_int_equal(tlw_span_decode(buf, len, &back, &err), TLW_OK);
    assert_memory_equal(back.trace_id, s.trace_id, 16);
    assert_memory_equal(back.span_id, s.span_id, 8);
    assert_string_equal(back.name, "RunActivity:greet");
    assert_int_equal(back.attr_count, 2);
    assert_string_equal(back.attr_values[0], "wf-1");
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(tlw_span_decode(buf, cut, NULL, NULL), TLW_ERR_PROTOCOL);
    memcpy(bad, buf, len);
    bad[len] = 0;
    assert_int_equal(tlw_span_decode(bad, len + 1, NULL, &err), TLW_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "left over"));
    memcpy(bad, buf, len);
    memset(bad, 0, 16); /* trace id */
    assert_int_equal(tlw_span_decode(bad, len, NULL, &err), TLW_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "all-zero"));
    memcpy(bad, buf, len);
    bad[16 + 8 + 8 + 1 + 16 + 8] = 9; /* kind */
    assert_int_equal(tlw_span_decode(bad, len, NULL, &err), TLW_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "kind"));
}

static void trace_contexts_parse_strictly(void **state)
{
    uint8_t t[16], sp[8];
    assert_true(tlw_trace_parse_traceparent(
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", t, sp));
    assert_int_equal(t[0], 0x0a);
    assert_int_equal(t[15], 0x9c);
    assert_int_equal(sp[0], 0xb7);
    assert_false(tlw_trace_parse_traceparent(
        "00-00000000000000000000000000000000-b7ad6b7169203331-01", t, sp));
    assert_false(tlw_trace_parse_traceparent(
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x", t, sp));
    assert_false(tlw_trace_parse_traceparent("00-0af7651916cd43dd8448eb211c80319c", t, sp));
    assert_false(tlw_trace_parse_traceparent(
        "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01", t, sp));
    assert_true(tlw_trace_parse_xray(
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", t, sp));
    assert_int_equal(t[0], 0x57);
    assert_int_equal(t[4], 0xbd);
    assert_int_equal(sp[0], 0x53);
    assert_true(tlw_trace_parse_xray("Sampled=0;Root=1-5759e988-bd862e3fe1be46a994272793", t, sp));
    assert_int_equal(sp[0], 0);
    assert_false(tlw_trace_parse_xray("Parent=53995c3f42cd8ad8", t, sp));
    assert_false(tlw_trace_parse_xray("Root=2-5759e988-bd862e3fe1be46a994272793", t, sp));
}

static void the_traces_request_carries_ids_links_and_attributes(void **state)
{
    tlw_config cfg;
    memset(&cfg, 0, sizeof cfg);
    tlw_spans spans = {0};
    tlw_span s = sample_span();
    s.has_link = true;
    s.link_trace_id[0] = 0x57;
    s.link_span_id[0] = 0x53;
    s.status = TLW_SPAN_STATUS_ERROR;
    tlw_spans_add(&spans, &s);
    ProtobufCMessage *req = tlw_otel_traces_request(&cfg, &spans);
    size_t size = protobuf_c_message_get_packed_size(req);
    uint8_t *wire = malloc(size);
    protobuf_c_message_pack(req, wire);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *r =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, size,
                                                                                         wire);
    assert_non_null(r);
    const Opentelemetry__Proto__Trace__V1__Span *out =
        r->resource_spans[0]->scope_spans[0]->spans[0];
    assert_string_equal(out->name, "RunActivity:greet");
    assert_memory_equal(out->trace_id.data, s.trace_id, 16);
    assert_int_equal(out->parent_span_id.len, 8);
    assert_int_equal(out->n_links, 1);
    assert_int_equal(out->links[0]->trace_id.data[0], 0x57);
    assert_int_equal(out->status->code,
                     OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
    assert_string_equal(attr(out->attributes, out->n_attributes, "temporalWorkflowID"), "wf-1");
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r,
                                                                                            NULL);
    free(wire);
    tlw_otel_metrics_request_free(req);
    tlw_spans_free(&spans);
}

static int64_t fixed_now(void *ctx)
{
    return 1700000005000;
}

/* The supervisor's part: its own metrics, and the invocation's span linked
 * to the X-Ray trace Lambda gave the invocation. */
static void the_invocation_span_links_the_xray_trace(void **state)
{
    tlw_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.settings.worker.otel_enabled.value = 1;
    tlw_spans spans = {0};
    tlw_supervisor_ops ops = {.now_ms = fixed_now, .metrics = tlw_metrics_new(0), .spans = &spans};
    tlw_invocation inv = {
        .request_id = "req-1",
        .trace_id = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        .deadline_ms = 1700000060000,
    };
    tlw_invocation_summary sum = {.work_window_ms = 5000, .drain_ms = 40, .restarts = 1};
    sum.slots[TLW_IPC_SLOT_ACTIVITY] = 2;
    tlw_telemetry_invocation_end(&ops, &cfg, &inv, &sum, 1700000001000, 1700000059700);
    tlw_telemetry_invocation_end(&ops, &cfg, &inv, &sum, 1700000001000, 1700000059700);
    assert_int_equal(spans.count, 2);
    const tlw_span *s = &spans.items[0];
    assert_true(s->has_link);
    assert_int_equal(s->link_trace_id[0], 0x57);
    assert_int_equal(s->link_trace_id[4], 0xbd);
    assert_int_equal(s->link_span_id[0], 0x53);
    assert_int_equal(s->kind, TLW_SPAN_KIND_SERVER);
    /* its own trace, X-Ray-compatible from its start (0x6553f101 = 1700000001 s) */
    assert_int_equal(s->trace_id[0], 0x65);
    assert_int_equal(s->trace_id[3], 0x01);
    assert_int_equal(s->start_ns, 1700000001000ull * 1000000);
    assert_int_equal(s->end_ns, 1700000005000ull * 1000000);
    assert_string_equal(s->attr_values[0], "req-1");
    assert_string_equal(s->attr_values[1], "true"); /* faas.coldstart */
    assert_string_equal(spans.items[1].attr_values[1], "false");
    assert_int_equal(tlw_metrics_counter_value(ops.metrics, TLW_M_TLW_INVOCATIONS, NULL, 0), 2);
    assert_int_equal(tlw_metrics_counter_value(ops.metrics, TLW_M_TLW_COLD_STARTS, NULL, 0), 1);
    assert_int_equal(tlw_metrics_counter_value(ops.metrics, TLW_M_TLW_SLOT_RESTARTS, NULL, 0), 2);
    tlw_metrics_free(ops.metrics);
    tlw_spans_free(&spans);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counters_histograms_and_gauges_record_by_labels),
        cmocka_unit_test(a_long_label_value_is_cut_at_a_character_boundary),
        cmocka_unit_test(merging_adds_counters_and_histograms_and_keeps_the_newer_gauge),
        cmocka_unit_test(taking_sends_each_increment_once),
        cmocka_unit_test(the_decoder_refuses_anything_but_the_exact_form),
        cmocka_unit_test(endpoints_map_to_grpc_targets),
        cmocka_unit_test(the_otlp_request_has_temporal_names_labels_and_cumulative_points),
        cmocka_unit_test(spans_round_trip_and_the_decoder_is_strict),
        cmocka_unit_test(trace_contexts_parse_strictly),
        cmocka_unit_test(the_traces_request_carries_ids_links_and_attributes),
        cmocka_unit_test(the_invocation_span_links_the_xray_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
