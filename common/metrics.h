/*
 * common/metrics: process-local metric recording, and the compact form in
 * which a process hands what it recorded to another.
 *
 * Every process records into its own registry: counters, histograms with
 * explicit bucket bounds, gauges (last value). A slot sends what it recorded
 * to the supervisor over its channel (ipc METRICS) before it exits; the
 * supervisor merges that into the registry it keeps for the life of the
 * process (so the values it exports are cumulative since the process
 * started), and a short-lived exporter process (worker/otel_export.c) turns
 * that registry into OTLP. No gRPC and no protobuf here: the supervisor uses
 * this module too.
 *
 * The metrics are a fixed table (tlw_metric_id): names, units, label keys
 * and bucket bounds follow Temporal's core-based SDKs (sdk-core) so that
 * existing dashboards work; the names are given here without the
 * "temporal_" prefix the exporter adds; this worker's own metrics carry
 * "tlw_" instead.
 *
 * The service-wide labels (service_name, namespace, task_queue) are not
 * recorded per series: the exporter adds them to every point.
 *
 * A registry is safe to use from several threads of one process (a slot's
 * control thread makes calls too). Recording never fails: a series that
 * cannot be stored (out of memory, more than TLW_METRICS_SERIES_MAX) is
 * dropped and counted in tlw_metrics_dropped().
 */
#ifndef TLW_COMMON_METRICS_H
#define TLW_COMMON_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tlw/lambda_worker.h>

typedef enum tlw_metric_kind {
    TLW_METRIC_COUNTER = 1,   /* monotonic sum of uint64 increments */
    TLW_METRIC_HISTOGRAM = 2, /* explicit-bucket histogram of values */
    TLW_METRIC_GAUGE = 3      /* last value wins */
} tlw_metric_kind;

typedef enum tlw_metric_id {
    /* client: every call to the Temporal server (operation = the method) */
    TLW_M_REQUEST,
    TLW_M_REQUEST_FAILURE,
    TLW_M_REQUEST_LATENCY,
    TLW_M_LONG_REQUEST, /* the long polls */
    TLW_M_LONG_REQUEST_FAILURE,
    TLW_M_LONG_REQUEST_LATENCY,
    /* activity worker */
    TLW_M_ACTIVITY_POLL_NO_TASK,
    TLW_M_ACTIVITY_TASK_RECEIVED,
    TLW_M_ACTIVITY_EXECUTION_FAILED,
    TLW_M_ACTIVITY_EXECUTION_LATENCY,
    TLW_M_ACTIVITY_SCHEDULE_TO_START_LATENCY,
    TLW_M_ACTIVITY_SUCCEED_ENDTOEND_LATENCY,
    /* workflow worker */
    TLW_M_WORKFLOW_TASK_QUEUE_POLL_SUCCEED,
    TLW_M_WORKFLOW_TASK_QUEUE_POLL_EMPTY,
    TLW_M_WORKFLOW_TASK_EXECUTION_LATENCY,
    TLW_M_WORKFLOW_TASK_SCHEDULE_TO_START_LATENCY,
    TLW_M_WORKFLOW_TASK_REPLAY_LATENCY,
    TLW_M_WORKFLOW_TASK_EXECUTION_FAILED,
    TLW_M_WORKFLOW_COMPLETED,
    TLW_M_WORKFLOW_FAILED,
    TLW_M_WORKFLOW_CANCELED,
    TLW_M_WORKFLOW_CONTINUE_AS_NEW,
    TLW_M_WORKFLOW_ENDTOEND_LATENCY,
    TLW_M_STICKY_CACHE_HIT,
    TLW_M_STICKY_CACHE_MISS,
    TLW_M_STICKY_CACHE_SIZE,
    /* worker */
    TLW_M_NUM_POLLERS,
    TLW_M_WORKER_TASK_SLOTS_AVAILABLE,
    TLW_M_WORKER_TASK_SLOTS_USED,
    TLW_M_WORKER_START,
    /* this worker's own (tlw_ prefix) */
    TLW_M_TLW_INVOCATIONS,
    TLW_M_TLW_COLD_STARTS,
    TLW_M_TLW_EXECUTOR_CRASHES,
    TLW_M_TLW_SLOT_RESTARTS,
    TLW_M_TLW_RECOVERED_TASKS,
    TLW_M_TLW_DRAIN_DURATION,
    TLW_M_TLW_WORK_WINDOW,
    TLW_M_TLW_EXPORT_FAILURES,
    TLW_M_COUNT
} tlw_metric_id;

/* Room for a label key and a label value, terminating NUL included; a longer
 * value is cut (at a UTF-8 character boundary) when recorded. */
#define TLW_METRIC_KEY_MAX 32
#define TLW_METRIC_VALUE_MAX 256
/* Labels a series carries besides the service-wide ones. */
#define TLW_METRIC_LABELS_MAX 3
/* Bucket bounds of the longest histogram. */
#define TLW_METRIC_BOUNDS_MAX 16
/* Series one registry holds; past that new ones are dropped. */
#define TLW_METRICS_SERIES_MAX 4096

typedef struct tlw_metric_def {
    const char *name; /* without the temporal_ prefix, e.g. "request_latency" */
    bool temporal;    /* exported as "temporal_" + name; else "tlw_" + name */
    tlw_metric_kind kind;
    const char *unit; /* "ms" for durations, "" for counts (as sdk-core) */
    const char *description;
    const double *bounds; /* HISTOGRAM: ascending upper bounds */
    size_t bound_count;
} tlw_metric_def;

/* The definition of `id` (< TLW_M_COUNT). */
const tlw_metric_def *tlw_metric_def_of(tlw_metric_id id);

typedef struct tlw_metric_label {
    const char *key;
    const char *value;
} tlw_metric_label;

/* One series: a metric and its labels, and what was recorded into it. */
typedef struct tlw_metric_series {
    tlw_metric_id id;
    size_t label_count;
    char keys[TLW_METRIC_LABELS_MAX][TLW_METRIC_KEY_MAX];
    char values[TLW_METRIC_LABELS_MAX][TLW_METRIC_VALUE_MAX];
    uint64_t count;  /* COUNTER: the sum; HISTOGRAM: the number of values */
    double sum;      /* HISTOGRAM: the sum of values; GAUGE: the value */
    double min, max; /* HISTOGRAM, when count > 0 */
    uint64_t buckets[TLW_METRIC_BOUNDS_MAX + 1]; /* HISTOGRAM: bound_count + 1 used */
    int64_t updated_ms; /* GAUGE: when it was set (epoch ms), so the newer wins a merge */
} tlw_metric_series;

typedef struct tlw_metrics tlw_metrics;

/* A new, empty registry (caller frees with tlw_metrics_free), or NULL when
 * out of memory. `start_ms` (epoch ms) is when its cumulative values start. */
tlw_metrics *tlw_metrics_new(int64_t start_ms);
void tlw_metrics_free(tlw_metrics *m);

/* Recording. `m` may be NULL (metrics off): nothing happens. Labels are
 * copied; their order does not matter. */
void tlw_metrics_add(tlw_metrics *m, tlw_metric_id id, const tlw_metric_label *labels, size_t n,
                     uint64_t delta);
void tlw_metrics_record(tlw_metrics *m, tlw_metric_id id, const tlw_metric_label *labels, size_t n,
                        double value);
void tlw_metrics_set(tlw_metrics *m, tlw_metric_id id, const tlw_metric_label *labels, size_t n,
                     double value);

/* Reading (under no lock: for a registry no other thread records into, e.g.
 * the supervisor's, or a forked exporter's copy). */
size_t tlw_metrics_series_count(const tlw_metrics *m);
const tlw_metric_series *tlw_metrics_series_at(const tlw_metrics *m, size_t i);
int64_t tlw_metrics_start_ms(const tlw_metrics *m);
uint64_t tlw_metrics_dropped(const tlw_metrics *m);
/* The counter value of the series of `id` with exactly these labels; 0 if
 * there is none. */
uint64_t tlw_metrics_counter_value(const tlw_metrics *m, tlw_metric_id id,
                                   const tlw_metric_label *labels, size_t n);

/*
 * The compact form (host byte order: both ends are one machine):
 *
 *     uint32 series count, then per series:
 *       uint16 metric id | uint8 label count (<= TLW_METRIC_LABELS_MAX) |
 *       per label: uint8 key length | key bytes | uint16 value length | value bytes |
 *       COUNTER    uint64 value
 *       GAUGE      double value | int64 updated_ms
 *       HISTOGRAM  uint64 count | double sum | double min | double max |
 *                  (bound_count + 1) x uint64 bucket counts
 *
 * Keys are [a-z_]+, values UTF-8 without NUL, both without a terminating
 * NUL and within the limits above (a value may be empty); doubles are
 * finite; a histogram's buckets add up to its count.
 *
 * tlw_metrics_encode writes the series from *cursor on that fit in
 * buf[0..cap) (at least one, if any is left: cap >= TLW_METRICS_CHUNK_MIN),
 * advances *cursor past them and sets *len; *cursor ==
 * tlw_metrics_series_count(m) when all are written. It takes the lock.
 */
#define TLW_METRICS_CHUNK_MIN 1024
tlw_status tlw_metrics_encode(tlw_metrics *m, size_t *cursor, void *buf, size_t cap, size_t *len,
                              tlw_error *err);

/*
 * The same, for a sender of deltas: counters and histograms written are
 * reset to zero (what was taken is the receiver's now), and those with
 * nothing new since the last take are skipped (*cursor still passes them,
 * so a chunk may hold no series: go on until *cursor stops moving). Gauges
 * are always written. Safe while other threads record.
 */
tlw_status tlw_metrics_take(tlw_metrics *m, size_t *cursor, void *buf, size_t cap, size_t *len,
                            tlw_error *err);

/*
 * Decodes buf[0..len) strictly (TLW_ERR_PROTOCOL with what is wrong, and
 * nothing merged, for anything but exactly the form above) and adds it to
 * `m`: counters and histograms add up, a gauge takes the newer value. With
 * m == NULL it only checks. Never reads outside buf[0..len).
 */
tlw_status tlw_metrics_merge(tlw_metrics *m, const void *buf, size_t len, tlw_error *err);

/* The registry this process records into, or NULL when metrics are off
 * (the default). A slot turns it on at its start (a slot is a fresh fork of
 * the supervisor, which never turns it on, so it starts empty). This is the
 * one piece of process-global state here: the recording points (every gRPC
 * call, every task) are deep in code that has no other way to reach it, as
 * with the log's process name. */
tlw_metrics *tlw_metrics_process(void);
void tlw_metrics_process_enable(int64_t start_ms);

#endif
