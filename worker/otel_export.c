#include "config.h"

#include "worker/otel_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "worker/rpc.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue otlp_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue otlp_any;
typedef Opentelemetry__Proto__Metrics__V1__Metric otlp_metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint otlp_number_point;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint otlp_histogram_point;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest otlp_request;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse otlp_response;

#define METRICS_EXPORT_METHOD "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
#define TRACES_EXPORT_METHOD "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

typedef Opentelemetry__Proto__Trace__V1__Span otlp_span;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest otlp_trace_request;

/* ---- the endpoint ---------------------------------------------------------- */

tlw_status tlw_otel_endpoint_target(const char *endpoint, char *out, size_t size, bool *tls,
                                    tlw_error *err)
{
    const char *rest;
    if (strncmp(endpoint, "http://", 7) == 0) {
        rest = endpoint + 7;
        *tls = false;
    } else if (strncmp(endpoint, "https://", 8) == 0) {
        rest = endpoint + 8;
        *tls = true;
    } else {
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "OpenTelemetry endpoint \"%.200s\" is not an http:// or https:// URL "
                             "(e.g. http://localhost:4317)",
                             endpoint);
    }
    size_t len = strcspn(rest, "/");
    if (rest[len] == '/' && rest[len + 1] != '\0')
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "OpenTelemetry endpoint \"%.200s\" has a path; OTLP/gRPC takes "
                             "scheme://host:port only",
                             endpoint);
    if (len == 0)
        return tlw_error_set(err, TLW_ERR_INVALID, "OpenTelemetry endpoint \"%.200s\" has no host",
                             endpoint);
    /* A port is the digits after the last colon, unless that colon is
     * inside an IPv6 literal's brackets. */
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (rest[i] == ':')
            colon = rest + i;
    bool has_port = colon && !memchr(colon, ']', (size_t)(rest + len - colon));
    int n = has_port ? snprintf(out, size, "%.*s", (int)len, rest)
                     : snprintf(out, size, "%.*s:4317", (int)len, rest);
    if (n < 0 || (size_t)n >= size)
        return tlw_error_set(err, TLW_ERR_INVALID, "OpenTelemetry endpoint \"%.200s\" is too long",
                             endpoint);
    return TLW_OK;
}

/* ---- building the request ---------------------------------------------------- */

/* Everything a request points to, freed at once. */
typedef struct arena {
    void **blocks;
    size_t count, cap;
    bool failed;
} arena;

static void *alloc(arena *a, size_t size)
{
    if (a->failed)
        return NULL;
    if (a->count == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        void **grown = realloc(a->blocks, cap * sizeof *grown);
        if (!grown) {
            a->failed = true;
            return NULL;
        }
        a->blocks = grown;
        a->cap = cap;
    }
    void *p = calloc(1, size ? size : 1);
    if (!p) {
        a->failed = true;
        return NULL;
    }
    a->blocks[a->count++] = p;
    return p;
}

static void arena_free(arena *a)
{
    for (size_t i = 0; i < a->count; i++)
        free(a->blocks[i]);
    free(a->blocks);
}

static otlp_kv *kv_string(arena *a, const char *key, const char *value)
{
    otlp_kv *kv = alloc(a, sizeof *kv);
    otlp_any *v = alloc(a, sizeof *v);
    if (!kv || !v)
        return NULL;
    *kv = (otlp_kv)OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    *v = (otlp_any)OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = (char *)value;
    kv->key = (char *)key;
    kv->value = v;
    return kv;
}

/* A request and what it points to, in one allocation the caller frees. */
struct built {
    union { /* first: the pointer handed out is this */
        otlp_request request;
        otlp_trace_request traces;
    };
    arena arena;
};

static const char *service_name(const tlw_config *cfg)
{
    const char *s = cfg->settings.worker.otel_service_name.value;
    return s && *s ? s : TLW_DEFAULT_OTEL_SERVICE_NAME;
}

/* The resource: who is reporting, as the OpenTelemetry FaaS conventions
 * name it (what Lambda's environment says; unset ones are left out). */
static Opentelemetry__Proto__Resource__V1__Resource *make_resource(arena *a, const tlw_config *cfg)
{
    static const struct {
        const char *key;
        const char *env;
    } from_env[] = {
        {"faas.name", "AWS_LAMBDA_FUNCTION_NAME"},
        {"faas.version", "AWS_LAMBDA_FUNCTION_VERSION"},
        {"faas.instance", "AWS_LAMBDA_LOG_STREAM_NAME"},
        {"faas.max_memory", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"},
        {"cloud.region", "AWS_REGION"},
    };
    size_t max = 4 + sizeof from_env / sizeof from_env[0];
    Opentelemetry__Proto__Resource__V1__Resource *r = alloc(a, sizeof *r);
    otlp_kv **attrs = alloc(a, max * sizeof *attrs);
    if (!r || !attrs)
        return NULL;
    *r = (Opentelemetry__Proto__Resource__V1__Resource)
        OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    size_t n = 0;
    attrs[n++] = kv_string(a, "service.name", service_name(cfg));
    attrs[n++] = kv_string(a, "cloud.provider", "aws");
    attrs[n++] = kv_string(a, "telemetry.sdk.name", "tlw");
    attrs[n++] = kv_string(a, "telemetry.sdk.language", "c");
    for (size_t i = 0; i < sizeof from_env / sizeof from_env[0]; i++) {
        const char *v = getenv(from_env[i].env);
        if (v && *v)
            attrs[n++] = kv_string(a, from_env[i].key, v);
    }
    r->attributes = attrs;
    r->n_attributes = n;
    return r;
}

/* A point's attributes: the service-wide labels, then the series' own. */
static otlp_kv **point_attributes(arena *a, const tlw_config *cfg, const tlw_metric_series *s,
                                  size_t *n)
{
    otlp_kv **attrs = alloc(a, (3 + s->label_count) * sizeof *attrs);
    if (!attrs)
        return NULL;
    size_t k = 0;
    attrs[k++] = kv_string(a, "service_name", service_name(cfg));
    attrs[k++] = kv_string(
        a, "namespace",
        cfg->settings.client.namespace_name.value ? cfg->settings.client.namespace_name.value : "");
    attrs[k++] = kv_string(
        a, "task_queue",
        cfg->settings.worker.task_queue.value ? cfg->settings.worker.task_queue.value : "");
    for (size_t i = 0; i < s->label_count; i++)
        attrs[k++] = kv_string(a, s->keys[i], s->values[i]);
    *n = k;
    return attrs;
}

static char *full_name(arena *a, const tlw_metric_def *d)
{
    size_t size = strlen(d->name) + 16;
    char *name = alloc(a, size);
    if (name)
        snprintf(name, size, "%s%s", d->temporal ? "temporal_" : "tlw_", d->name);
    return name;
}

/* One OTLP metric with the points of every series of `id`. */
static otlp_metric *make_metric(arena *a, const tlw_config *cfg, const tlw_metrics *m,
                                tlw_metric_id id, uint64_t start_ns, uint64_t now_ns)
{
    const tlw_metric_def *d = tlw_metric_def_of(id);
    size_t points = 0;
    for (size_t i = 0; i < tlw_metrics_series_count(m); i++)
        if (tlw_metrics_series_at(m, i)->id == id)
            points++;
    if (points == 0)
        return NULL;
    otlp_metric *metric = alloc(a, sizeof *metric);
    void **list = alloc(a, points * sizeof *list);
    if (!metric || !list)
        return NULL;
    *metric = (otlp_metric)OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
    metric->name = full_name(a, d);
    metric->description = (char *)d->description;
    metric->unit = (char *)d->unit;
    size_t k = 0;
    for (size_t i = 0; i < tlw_metrics_series_count(m); i++) {
        const tlw_metric_series *s = tlw_metrics_series_at(m, i);
        if (s->id != id)
            continue;
        if (d->kind == TLW_METRIC_HISTOGRAM) {
            otlp_histogram_point *p = alloc(a, sizeof *p);
            uint64_t *buckets = alloc(a, (d->bound_count + 1) * sizeof *buckets);
            if (!p || !buckets)
                return NULL;
            *p =
                (otlp_histogram_point)OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT;
            p->attributes = point_attributes(a, cfg, s, &p->n_attributes);
            p->start_time_unix_nano = start_ns;
            p->time_unix_nano = now_ns;
            p->count = s->count;
            memcpy(buckets, s->buckets, (d->bound_count + 1) * sizeof *buckets);
            p->bucket_counts = buckets;
            p->n_bucket_counts = d->bound_count + 1;
            p->explicit_bounds = (double *)d->bounds;
            p->n_explicit_bounds = d->bound_count;
            p->_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM;
            p->sum = s->sum;
            if (s->count > 0) {
                p->_min_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___MIN_MIN;
                p->min = s->min;
                p->_max_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___MAX_MAX;
                p->max = s->max;
            }
            list[k++] = p;
        } else {
            otlp_number_point *p = alloc(a, sizeof *p);
            if (!p)
                return NULL;
            *p = (otlp_number_point)OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT;
            p->attributes = point_attributes(a, cfg, s, &p->n_attributes);
            p->time_unix_nano = now_ns;
            if (d->kind == TLW_METRIC_COUNTER) {
                p->start_time_unix_nano = start_ns;
                p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
                p->as_int = (int64_t)s->count;
            } else {
                p->value_case =
                    OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
                p->as_double = s->sum;
            }
            list[k++] = p;
        }
    }
    /* Cumulative since the process started: a collector or backend that
     * misses one export loses nothing, the next one carries it. */
    Opentelemetry__Proto__Metrics__V1__AggregationTemporality cumulative =
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
    switch (d->kind) {
    case TLW_METRIC_COUNTER: {
        Opentelemetry__Proto__Metrics__V1__Sum *sum = alloc(a, sizeof *sum);
        if (!sum)
            return NULL;
        *sum = (Opentelemetry__Proto__Metrics__V1__Sum)OPENTELEMETRY__PROTO__METRICS__V1__SUM__INIT;
        sum->data_points = (otlp_number_point **)list;
        sum->n_data_points = k;
        sum->aggregation_temporality = cumulative;
        sum->is_monotonic = 1;
        metric->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
        metric->sum = sum;
        break;
    }
    case TLW_METRIC_GAUGE: {
        Opentelemetry__Proto__Metrics__V1__Gauge *g = alloc(a, sizeof *g);
        if (!g)
            return NULL;
        *g = (Opentelemetry__Proto__Metrics__V1__Gauge)
            OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT;
        g->data_points = (otlp_number_point **)list;
        g->n_data_points = k;
        metric->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
        metric->gauge = g;
        break;
    }
    case TLW_METRIC_HISTOGRAM: {
        Opentelemetry__Proto__Metrics__V1__Histogram *h = alloc(a, sizeof *h);
        if (!h)
            return NULL;
        *h = (Opentelemetry__Proto__Metrics__V1__Histogram)
            OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM__INIT;
        h->data_points = (otlp_histogram_point **)list;
        h->n_data_points = k;
        h->aggregation_temporality = cumulative;
        metric->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
        metric->histogram = h;
        break;
    }
    }
    return metric;
}

ProtobufCMessage *tlw_otel_metrics_request(const tlw_config *cfg, const tlw_metrics *metrics,
                                           int64_t now_ms)
{
    struct built *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    arena *a = &b->arena;
    b->request = (otlp_request)
        OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = alloc(a, sizeof *rm);
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = alloc(a, sizeof *sm);
    Opentelemetry__Proto__Common__V1__InstrumentationScope *scope = alloc(a, sizeof *scope);
    otlp_metric **list = alloc(a, TLW_M_COUNT * sizeof *list);
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics **rms = alloc(a, sizeof *rms);
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics **sms = alloc(a, sizeof *sms);
    if (!rm || !sm || !scope || !list || !rms || !sms) {
        tlw_otel_metrics_request_free(&b->request.base);
        return NULL;
    }
    *rm = (Opentelemetry__Proto__Metrics__V1__ResourceMetrics)
        OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT;
    *sm = (Opentelemetry__Proto__Metrics__V1__ScopeMetrics)
        OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT;
    *scope = (Opentelemetry__Proto__Common__V1__InstrumentationScope)
        OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    scope->name = "tlw";
    scope->version = TLW_VERSION_STRING;
    uint64_t start_ns = (uint64_t)tlw_metrics_start_ms(metrics) * 1000000u;
    uint64_t now_ns = (uint64_t)now_ms * 1000000u;
    size_t n = 0;
    for (int id = 0; id < TLW_M_COUNT; id++) {
        otlp_metric *m = make_metric(a, cfg, metrics, (tlw_metric_id)id, start_ns, now_ns);
        if (m)
            list[n++] = m;
    }
    sm->scope = scope;
    sm->metrics = list;
    sm->n_metrics = n;
    sms[0] = sm;
    rm->resource = make_resource(a, cfg);
    rm->scope_metrics = sms;
    rm->n_scope_metrics = 1;
    rms[0] = rm;
    b->request.resource_metrics = rms;
    b->request.n_resource_metrics = 1;
    if (a->failed) {
        tlw_otel_metrics_request_free(&b->request.base);
        return NULL;
    }
    return &b->request.base;
}

static ProtobufCBinaryData bytes(arena *a, const uint8_t *src, size_t n)
{
    uint8_t *copy = alloc(a, n);
    if (copy)
        memcpy(copy, src, n);
    return (ProtobufCBinaryData){.len = copy ? n : 0, .data = copy};
}

static otlp_span *make_span(arena *a, const tlw_span *in)
{
    static const uint8_t zero[8];
    otlp_span *s = alloc(a, sizeof *s);
    Opentelemetry__Proto__Trace__V1__Status *status = alloc(a, sizeof *status);
    otlp_kv **attrs = alloc(a, (in->attr_count + 1) * sizeof *attrs);
    if (!s || !status || !attrs)
        return NULL;
    *s = (otlp_span)OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    *status =
        (Opentelemetry__Proto__Trace__V1__Status)OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    s->trace_id = bytes(a, in->trace_id, 16);
    s->span_id = bytes(a, in->span_id, 8);
    if (memcmp(in->parent_span_id, zero, 8) != 0)
        s->parent_span_id = bytes(a, in->parent_span_id, 8);
    s->name = (char *)in->name;
    s->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)in->kind;
    s->start_time_unix_nano = in->start_ns;
    s->end_time_unix_nano = in->end_ns;
    for (size_t i = 0; i < in->attr_count; i++)
        attrs[i] = kv_string(a, in->attr_keys[i], in->attr_values[i]);
    s->attributes = attrs;
    s->n_attributes = in->attr_count;
    status->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)in->status;
    s->status = status;
    if (in->has_link) {
        Opentelemetry__Proto__Trace__V1__Span__Link *link = alloc(a, sizeof *link);
        Opentelemetry__Proto__Trace__V1__Span__Link **links = alloc(a, sizeof *links);
        if (!link || !links)
            return NULL;
        *link = (Opentelemetry__Proto__Trace__V1__Span__Link)
            OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT;
        link->trace_id = bytes(a, in->link_trace_id, 16);
        if (memcmp(in->link_span_id, zero, 8) != 0)
            link->span_id = bytes(a, in->link_span_id, 8);
        links[0] = link;
        s->links = links;
        s->n_links = 1;
    }
    return s;
}

ProtobufCMessage *tlw_otel_traces_request(const tlw_config *cfg, const tlw_spans *spans)
{
    struct built *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    arena *a = &b->arena;
    b->traces = (otlp_trace_request)
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = alloc(a, sizeof *rs);
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = alloc(a, sizeof *ss);
    Opentelemetry__Proto__Common__V1__InstrumentationScope *scope = alloc(a, sizeof *scope);
    otlp_span **list = alloc(a, (spans->count + 1) * sizeof *list);
    Opentelemetry__Proto__Trace__V1__ResourceSpans **rss = alloc(a, sizeof *rss);
    Opentelemetry__Proto__Trace__V1__ScopeSpans **sss = alloc(a, sizeof *sss);
    if (!rs || !ss || !scope || !list || !rss || !sss) {
        tlw_otel_metrics_request_free(&b->traces.base);
        return NULL;
    }
    *rs = (Opentelemetry__Proto__Trace__V1__ResourceSpans)
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    *ss = (Opentelemetry__Proto__Trace__V1__ScopeSpans)
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    *scope = (Opentelemetry__Proto__Common__V1__InstrumentationScope)
        OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    scope->name = "tlw";
    scope->version = TLW_VERSION_STRING;
    for (size_t i = 0; i < spans->count; i++)
        list[i] = make_span(a, &spans->items[i]);
    ss->scope = scope;
    ss->spans = list;
    ss->n_spans = spans->count;
    sss[0] = ss;
    rs->resource = make_resource(a, cfg);
    rs->scope_spans = sss;
    rs->n_scope_spans = 1;
    rss[0] = rs;
    b->traces.resource_spans = rss;
    b->traces.n_resource_spans = 1;
    if (a->failed) {
        tlw_otel_metrics_request_free(&b->traces.base);
        return NULL;
    }
    return &b->traces.base;
}

void tlw_otel_metrics_request_free(ProtobufCMessage *request)
{
    if (!request)
        return;
    struct built *b = (struct built *)request;
    arena_free(&b->arena);
    free(b);
}

/* ---- sending ----------------------------------------------------------------- */

/* One Export call within the time left: its response (the caller frees
 * it), or NULL, logged. */
static ProtobufCMessage *send(tlw_rpc_client *client, const char *endpoint, const char *what,
                              const char *method, const ProtobufCMessage *request,
                              const ProtobufCMessageDescriptor *response_type, int64_t export_by_ms)
{
    tlw_error err;
    ProtobufCMessage *response = NULL;
    int64_t left = export_by_ms - tlw_wall_ms();
    tlw_status st = TLW_OK;
    if (!request)
        st = tlw_error_set(&err, TLW_ERR_NOMEM, "out of memory building the request");
    else if (left <= 0)
        st = tlw_error_set(&err, TLW_ERR_TIMEOUT, "no time left");
    else {
        tlw_rpc_call_options call = {.timeout_ms = left};
        st = tlw_rpc_call(client, method, request, response_type, &response, &call, &err);
    }
    if (st != TLW_OK) {
        tlw_log_error("OTLP %s export to %s failed: %s", what, endpoint, err.message);
        return NULL;
    }
    return response;
}

/* Whether the collector took everything (a partial success names what it
 * rejected). */
static bool accepted(ProtobufCMessage *response, int64_t rejected, const char *message,
                     const char *endpoint, const char *what)
{
    if (!response)
        return false;
    bool ok = rejected <= 0;
    if (!ok)
        tlw_log_warn("the OpenTelemetry collector at %s rejected %lld %s: %s", endpoint,
                     (long long)rejected, what, message ? message : "");
    protobuf_c_message_free_unpacked(response, NULL);
    return ok;
}

int tlw_otel_export(const tlw_config *cfg, const tlw_metrics *metrics, const tlw_spans *spans,
                    int64_t export_by_ms)
{
    tlw_log_set_process("otel-export");
    const char *endpoint = cfg->settings.worker.otel_endpoint.value;
    char target[512];
    bool tls = false;
    tlw_error err;
    if (tlw_otel_endpoint_target(endpoint, target, sizeof target, &tls, &err) != TLW_OK) {
        tlw_log_error("%s", err.message);
        return TLW_OTEL_METRICS_FAILED | TLW_OTEL_SPANS_FAILED;
    }
    bool want_metrics = metrics && tlw_metrics_series_count(metrics) > 0;
    bool want_spans = spans && spans->count > 0;
    if (!want_metrics && !want_spans)
        return 0;
    tlw_rpc_connect_options o = {.address = target, .tls = {.enabled = tls}};
    tlw_rpc_client *client = NULL;
    if (tlw_rpc_client_open(&o, &client, &err) != TLW_OK) {
        tlw_log_error("OTLP export to %s: %s", endpoint, err.message);
        return TLW_OTEL_METRICS_FAILED | TLW_OTEL_SPANS_FAILED;
    }
    int rc = 0;
    /* The spans first: the metrics are cumulative, so a late metrics export
     * loses nothing, while spans not sent wait for the next invocation. */
    if (want_spans) {
        ProtobufCMessage *req = tlw_otel_traces_request(cfg, spans);
        ProtobufCMessage *resp = send(
            client, endpoint, "spans", TRACES_EXPORT_METHOD, req,
            &opentelemetry__proto__collector__trace__v1__export_trace_service_response__descriptor,
            export_by_ms);
        const Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess *p =
            resp ? ((Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *)resp)
                       ->partial_success
                 : NULL;
        if (!accepted(resp, p ? p->rejected_spans : 0, p ? p->error_message : NULL, endpoint,
                      "spans"))
            rc |= TLW_OTEL_SPANS_FAILED;
        tlw_otel_metrics_request_free(req);
    }
    if (want_metrics) {
        ProtobufCMessage *req = tlw_otel_metrics_request(cfg, metrics, tlw_wall_ms());
        ProtobufCMessage *resp = send(
            client, endpoint, "metrics", METRICS_EXPORT_METHOD, req,
            &opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__descriptor,
            export_by_ms);
        const Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsPartialSuccess *p =
            resp ? ((otlp_response *)resp)->partial_success : NULL;
        if (!accepted(resp, p ? p->rejected_data_points : 0, p ? p->error_message : NULL, endpoint,
                      "data points"))
            rc |= TLW_OTEL_METRICS_FAILED;
        tlw_otel_metrics_request_free(req);
    }
    if (rc == 0)
        tlw_log_debug("exported %zu metric series and %zu spans to %s",
                      want_metrics ? tlw_metrics_series_count(metrics) : 0,
                      want_spans ? spans->count : 0, endpoint);
    tlw_rpc_client_close(client);
    return rc;
}
