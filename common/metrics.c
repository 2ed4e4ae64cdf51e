#include "config.h"

#include "common/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/utf8.h"

/* Bucket bounds, in ms, as sdk-core chooses them per metric. */
static const double wf_e2e_ms[] = {100.,     500.,     1000.,     1500.,    2000.,   5000.,
                                   10000.,   30000.,   60000.,    120000.,  300000., 600000.,
                                   1800000., 3600000., 30600000., 86400000.};
static const double wf_task_ms[] = {1., 10., 20., 50., 100., 200., 500., 1000.};
static const double act_exec_ms[] = {50., 100., 500., 1000., 5000., 10000., 60000.};
static const double sched_to_start_ms[] = {100., 500., 1000., 5000., 10000., 100000., 1000000.};
static const double default_ms[] = {50., 100., 500., 1000., 2500., 10000.};
/* This worker's windows: from a second to Lambda's 15 minutes. */
static const double window_ms[] = {1000., 5000., 10000., 30000., 60000., 300000., 900000.};

#define BOUNDS(a) a, sizeof a / sizeof a[0]
/* Counters and gauges have no unit, as in sdk-core (with "1" some exporters
 * add a suffix to the name); durations are in ms. */
#define COUNTER(n, d)                                                                              \
    {                                                                                              \
        n, true, TLW_METRIC_COUNTER, "", d, NULL, 0                                                \
    }
#define HIST(n, d, b)                                                                              \
    {                                                                                              \
        n, true, TLW_METRIC_HISTOGRAM, "ms", d, BOUNDS(b)                                          \
    }
#define GAUGE(n, d)                                                                                \
    {                                                                                              \
        n, true, TLW_METRIC_GAUGE, "", d, NULL, 0                                                  \
    }

static const tlw_metric_def defs[TLW_M_COUNT] = {
    [TLW_M_REQUEST] = COUNTER("request", "Client requests to the Temporal server"),
    [TLW_M_REQUEST_FAILURE] = COUNTER("request_failure", "Client requests that failed"),
    [TLW_M_REQUEST_LATENCY] = HIST("request_latency", "Client request latency", default_ms),
    [TLW_M_LONG_REQUEST] = COUNTER("long_request", "Long polls to the Temporal server"),
    [TLW_M_LONG_REQUEST_FAILURE] = COUNTER("long_request_failure", "Long polls that failed"),
    [TLW_M_LONG_REQUEST_LATENCY] = HIST("long_request_latency", "Long poll latency", default_ms),
    [TLW_M_ACTIVITY_POLL_NO_TASK] =
        COUNTER("activity_poll_no_task", "Activity polls that ended without a task"),
    [TLW_M_ACTIVITY_TASK_RECEIVED] = COUNTER("activity_task_received", "Activity tasks received"),
    [TLW_M_ACTIVITY_EXECUTION_FAILED] =
        COUNTER("activity_execution_failed", "Activity executions that failed"),
    [TLW_M_ACTIVITY_EXECUTION_LATENCY] =
        HIST("activity_execution_latency", "Activity execution time", act_exec_ms),
    [TLW_M_ACTIVITY_SCHEDULE_TO_START_LATENCY] =
        HIST("activity_schedule_to_start_latency", "Activity task schedule-to-start time",
             sched_to_start_ms),
    [TLW_M_ACTIVITY_SUCCEED_ENDTOEND_LATENCY] =
        HIST("activity_succeed_endtoend_latency",
             "Time from an activity's scheduling to its successful completion", act_exec_ms),
    [TLW_M_WORKFLOW_TASK_QUEUE_POLL_SUCCEED] =
        COUNTER("workflow_task_queue_poll_succeed", "Workflow polls that returned a task"),
    [TLW_M_WORKFLOW_TASK_QUEUE_POLL_EMPTY] =
        COUNTER("workflow_task_queue_poll_empty", "Workflow polls that ended without a task"),
    [TLW_M_WORKFLOW_TASK_EXECUTION_LATENCY] =
        HIST("workflow_task_execution_latency", "Workflow task execution time", wf_task_ms),
    [TLW_M_WORKFLOW_TASK_SCHEDULE_TO_START_LATENCY] =
        HIST("workflow_task_schedule_to_start_latency", "Workflow task schedule-to-start time",
             sched_to_start_ms),
    [TLW_M_WORKFLOW_TASK_REPLAY_LATENCY] =
        HIST("workflow_task_replay_latency", "Time to replay a workflow's history", wf_task_ms),
    [TLW_M_WORKFLOW_TASK_EXECUTION_FAILED] =
        COUNTER("workflow_task_execution_failed", "Workflow tasks that failed"),
    [TLW_M_WORKFLOW_COMPLETED] = COUNTER("workflow_completed", "Workflows completed"),
    [TLW_M_WORKFLOW_FAILED] = COUNTER("workflow_failed", "Workflows failed"),
    [TLW_M_WORKFLOW_CANCELED] = COUNTER("workflow_canceled", "Workflows canceled"),
    [TLW_M_WORKFLOW_CONTINUE_AS_NEW] =
        COUNTER("workflow_continue_as_new", "Workflows continued as new"),
    [TLW_M_WORKFLOW_ENDTOEND_LATENCY] =
        HIST("workflow_endtoend_latency", "Workflow run time, start to close", wf_e2e_ms),
    [TLW_M_STICKY_CACHE_HIT] = COUNTER("sticky_cache_hit", "Workflow tasks with a cached run"),
    [TLW_M_STICKY_CACHE_MISS] =
        COUNTER("sticky_cache_miss", "Workflow tasks that had to replay the whole history"),
    [TLW_M_STICKY_CACHE_SIZE] = GAUGE("sticky_cache_size", "Runs in the workflow cache"),
    [TLW_M_NUM_POLLERS] = GAUGE("num_pollers", "Pollers per poller type"),
    [TLW_M_WORKER_TASK_SLOTS_AVAILABLE] =
        GAUGE("worker_task_slots_available", "Task slots free per worker type"),
    [TLW_M_WORKER_TASK_SLOTS_USED] =
        GAUGE("worker_task_slots_used", "Task slots in use per worker type"),
    [TLW_M_WORKER_START] = COUNTER("worker_start", "Workers started"),
    [TLW_M_TLW_INVOCATIONS] = {"invocations", false, TLW_METRIC_COUNTER, "",
                               "Lambda invocations served", NULL, 0},
    [TLW_M_TLW_COLD_STARTS] = {"cold_starts", false, TLW_METRIC_COUNTER, "",
                               "Invocations that were the first of their environment", NULL, 0},
    [TLW_M_TLW_EXECUTOR_CRASHES] = {"executor_crashes", false, TLW_METRIC_COUNTER, "",
                                    "Activity executors that died, by activity type and signal",
                                    NULL, 0},
    [TLW_M_TLW_SLOT_RESTARTS] = {"slot_restarts", false, TLW_METRIC_COUNTER, "",
                                 "Worker slots restarted after dying", NULL, 0},
    [TLW_M_TLW_RECOVERED_TASKS] = {"recovered_tasks", false, TLW_METRIC_COUNTER, "",
                                   "Tasks of dead slots failed by a recovery reporter", NULL, 0},
    [TLW_M_TLW_DRAIN_DURATION] = {"drain_duration", false, TLW_METRIC_HISTOGRAM, "ms",
                                  "From DRAIN to the last slot gone", BOUNDS(default_ms)},
    [TLW_M_TLW_WORK_WINDOW] = {"work_window", false, TLW_METRIC_HISTOGRAM, "ms",
                               "Time to work before the drain, per invocation", BOUNDS(window_ms)},
    [TLW_M_TLW_EXPORT_FAILURES] = {"export_failures", false, TLW_METRIC_COUNTER, "",
                                   "OTLP exports that failed or ran out of time", NULL, 0},
};

const tlw_metric_def *tlw_metric_def_of(tlw_metric_id id)
{
    return &defs[id];
}

struct tlw_metrics {
    pthread_mutex_t mu;
    int64_t start_ms;
    uint64_t dropped;
    size_t count, cap;
    tlw_metric_series *series;
};

tlw_metrics *tlw_metrics_new(int64_t start_ms)
{
    tlw_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    pthread_mutex_init(&m->mu, NULL);
    m->start_ms = start_ms;
    return m;
}

void tlw_metrics_free(tlw_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m->series);
    free(m);
}

/* Copies `s` into dst (room for `cap`), cut at a character boundary. */
static void copy_cut(char *dst, size_t cap, const char *s)
{
    size_t len = strlen(s);
    if (len >= cap) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
            len--; /* s[len] continues a character: cut before it */
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
}

/* A series key: labels sorted by key, so that the order they were given in
 * does not make two series of one. */
typedef struct key {
    tlw_metric_id id;
    size_t n;
    char keys[TLW_METRIC_LABELS_MAX][TLW_METRIC_KEY_MAX];
    char values[TLW_METRIC_LABELS_MAX][TLW_METRIC_VALUE_MAX];
} key;

static void make_key(key *k, tlw_metric_id id, const tlw_metric_label *labels, size_t n)
{
    k->id = id;
    k->n = n < TLW_METRIC_LABELS_MAX ? n : TLW_METRIC_LABELS_MAX;
    for (size_t i = 0; i < k->n; i++) {
        copy_cut(k->keys[i], sizeof k->keys[i], labels[i].key ? labels[i].key : "");
        copy_cut(k->values[i], sizeof k->values[i], labels[i].value ? labels[i].value : "");
    }
    for (size_t i = 1; i < k->n; i++) /* insertion sort: at most 3 */
        for (size_t j = i; j > 0 && strcmp(k->keys[j - 1], k->keys[j]) > 0; j--) {
            char tk[TLW_METRIC_KEY_MAX], tv[TLW_METRIC_VALUE_MAX];
            memcpy(tk, k->keys[j], sizeof tk);
            memcpy(tv, k->values[j], sizeof tv);
            memcpy(k->keys[j], k->keys[j - 1], sizeof tk);
            memcpy(k->values[j], k->values[j - 1], sizeof tv);
            memcpy(k->keys[j - 1], tk, sizeof tk);
            memcpy(k->values[j - 1], tv, sizeof tv);
        }
}

static bool same(const tlw_metric_series *s, const key *k)
{
    if (s->id != k->id || s->label_count != k->n)
        return false;
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(s->keys[i], k->keys[i]) || strcmp(s->values[i], k->values[i]))
            return false;
    return true;
}

/* The series of `k`, created empty if new; NULL (and counted as dropped)
 * when it cannot be. Under the lock. */
static tlw_metric_series *find(tlw_metrics *m, const key *k)
{
    for (size_t i = 0; i < m->count; i++)
        if (same(&m->series[i], k))
            return &m->series[i];
    if (m->count == TLW_METRICS_SERIES_MAX) {
        m->dropped++;
        return NULL;
    }
    if (m->count == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 32;
        tlw_metric_series *grown = realloc(m->series, cap * sizeof *grown);
        if (!grown) {
            m->dropped++;
            return NULL;
        }
        m->series = grown;
        m->cap = cap;
    }
    tlw_metric_series *s = &m->series[m->count++];
    memset(s, 0, sizeof *s);
    s->id = k->id;
    s->label_count = k->n;
    memcpy(s->keys, k->keys, sizeof s->keys);
    memcpy(s->values, k->values, sizeof s->values);
    return s;
}

static void observe(tlw_metric_series *s, double value)
{
    const tlw_metric_def *d = &defs[s->id];
    size_t b = 0;
    while (b < d->bound_count && value > d->bounds[b])
        b++;
    s->buckets[b]++;
    if (s->count == 0 || value < s->min)
        s->min = value;
    if (s->count == 0 || value > s->max)
        s->max = value;
    s->count++;
    s->sum += value;
}

static tlw_metric_series *locked_series(tlw_metrics *m, tlw_metric_id id, tlw_metric_kind kind,
                                        const tlw_metric_label *labels, size_t n)
{
    if (!m || (unsigned)id >= TLW_M_COUNT || defs[id].kind != kind)
        return NULL;
    key k;
    make_key(&k, id, labels, n);
    pthread_mutex_lock(&m->mu);
    tlw_metric_series *s = find(m, &k);
    if (!s)
        pthread_mutex_unlock(&m->mu);
    return s;
}

void tlw_metrics_add(tlw_metrics *m, tlw_metric_id id, const tlw_metric_label *labels, size_t n,
                     uint64_t delta)
{
    tlw_metric_series *s = locked_series(m, id, TLW_METRIC_COUNTER, labels, n);
    if (!s)
        return;
    s->count += delta;
    pthread_mutex_unlock(&m->mu);
}

void tlw_metrics_record(tlw_metrics *m, tlw_metric_id id, const tlw_metric_label *labels, size_t n,
                        double value)
{
    if (!isfinite(value))
        return;
    tlw_metric_series *s = locked_series(m, id, TLW_METRIC_HISTOGRAM, labels, n);
    if (!s)
        return;
    observe(s, value);
    pthread_mutex_unlock(&m->mu);
}

void tlw_metrics_set(tlw_metrics *m, tlw_metric_id id, const tlw_metric_label *labels, size_t n,
                     double value)
{
    if (!isfinite(value))
        return;
    tlw_metric_series *s = locked_series(m, id, TLW_METRIC_GAUGE, labels, n);
    if (!s)
        return;
    s->sum = value;
    s->count = 1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->updated_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    pthread_mutex_unlock(&m->mu);
}

size_t tlw_metrics_series_count(const tlw_metrics *m)
{
    return m ? m->count : 0;
}

const tlw_metric_series *tlw_metrics_series_at(const tlw_metrics *m, size_t i)
{
    return &m->series[i];
}

int64_t tlw_metrics_start_ms(const tlw_metrics *m)
{
    return m->start_ms;
}

uint64_t tlw_metrics_dropped(const tlw_metrics *m)
{
    return m ? m->dropped : 0;
}

uint64_t tlw_metrics_counter_value(const tlw_metrics *m, tlw_metric_id id,
                                   const tlw_metric_label *labels, size_t n)
{
    if (!m)
        return 0;
    key k;
    make_key(&k, id, labels, n);
    for (size_t i = 0; i < m->count; i++)
        if (same(&m->series[i], &k))
            return m->series[i].count;
    return 0;
}

/* ---- the compact form ---------------------------------------------------- */

static size_t encoded_size(const tlw_metric_series *s)
{
    size_t size = 2 + 1;
    for (size_t i = 0; i < s->label_count; i++)
        size += 1 + strlen(s->keys[i]) + 2 + strlen(s->values[i]);
    switch (defs[s->id].kind) {
    case TLW_METRIC_COUNTER: size += 8; break;
    case TLW_METRIC_GAUGE: size += 16; break;
    case TLW_METRIC_HISTOGRAM: size += 32 + 8 * (defs[s->id].bound_count + 1); break;
    }
    return size;
}

static uint8_t *put(uint8_t *at, const void *src, size_t n)
{
    memcpy(at, src, n);
    return at + n;
}

static uint8_t *put_series(uint8_t *at, const tlw_metric_series *s)
{
    uint16_t id = (uint16_t)s->id;
    uint8_t n = (uint8_t)s->label_count;
    at = put(at, &id, 2);
    at = put(at, &n, 1);
    for (size_t i = 0; i < s->label_count; i++) {
        uint8_t kl = (uint8_t)strlen(s->keys[i]);
        uint16_t vl = (uint16_t)strlen(s->values[i]);
        at = put(at, &kl, 1);
        at = put(at, s->keys[i], kl);
        at = put(at, &vl, 2);
        at = put(at, s->values[i], vl);
    }
    const tlw_metric_def *d = &defs[s->id];
    switch (d->kind) {
    case TLW_METRIC_COUNTER: at = put(at, &s->count, 8); break;
    case TLW_METRIC_GAUGE:
        at = put(at, &s->sum, 8);
        at = put(at, &s->updated_ms, 8);
        break;
    case TLW_METRIC_HISTOGRAM:
        at = put(at, &s->count, 8);
        at = put(at, &s->sum, 8);
        at = put(at, &s->min, 8);
        at = put(at, &s->max, 8);
        at = put(at, s->buckets, 8 * (d->bound_count + 1));
        break;
    }
    return at;
}

static tlw_status encode(tlw_metrics *m, size_t *cursor, void *buf, size_t cap, size_t *len,
                         bool take, tlw_error *err)
{
    if (cap < TLW_METRICS_CHUNK_MIN)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "metrics: a buffer of %zu bytes is under the %d minimum", cap,
                             TLW_METRICS_CHUNK_MIN);
    pthread_mutex_lock(&m->mu);
    uint8_t *at = (uint8_t *)buf + 4;
    uint32_t n = 0;
    while (*cursor < m->count) {
        tlw_metric_series *s = &m->series[*cursor];
        bool gauge = defs[s->id].kind == TLW_METRIC_GAUGE;
        if (take && !gauge && s->count == 0) { /* nothing new since the last take */
            (*cursor)++;
            continue;
        }
        if ((size_t)(at - (uint8_t *)buf) + encoded_size(s) > cap)
            break;
        at = put_series(at, s);
        n++;
        (*cursor)++;
        if (take && !gauge) { /* what was taken is the receiver's now */
            s->count = 0;
            s->sum = s->min = s->max = 0;
            memset(s->buckets, 0, sizeof s->buckets);
        }
    }
    pthread_mutex_unlock(&m->mu);
    memcpy(buf, &n, 4);
    *len = (size_t)(at - (uint8_t *)buf);
    return TLW_OK;
}

tlw_status tlw_metrics_encode(tlw_metrics *m, size_t *cursor, void *buf, size_t cap, size_t *len,
                              tlw_error *err)
{
    return encode(m, cursor, buf, cap, len, false, err);
}

tlw_status tlw_metrics_take(tlw_metrics *m, size_t *cursor, void *buf, size_t cap, size_t *len,
                            tlw_error *err)
{
    return encode(m, cursor, buf, cap, len, true, err);
}

typedef struct reader {
    const uint8_t *at;
    size_t left;
} reader;

static bool take(reader *r, void *dst, size_t n)
{
    if (r->left < n)
        return false;
    memcpy(dst, r->at, n);
    r->at += n;
    r->left -= n;
    return true;
}

static tlw_status bad(tlw_error *err, size_t index, const char *what)
{
    return tlw_error_set(err, TLW_ERR_PROTOCOL, "metrics: series %zu: %s", index, what);
}

static bool key_ok(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
            return false;
    return true;
}

/* Decodes one series into *s; TLW_ERR_PROTOCOL if it is not well formed. */
static tlw_status take_series(reader *r, size_t index, tlw_metric_series *s, tlw_error *err)
{
    uint16_t id;
    uint8_t n;
    memset(s, 0, sizeof *s);
    if (!take(r, &id, 2) || !take(r, &n, 1))
        return bad(err, index, "truncated header");
    if (id >= TLW_M_COUNT)
        return bad(err, index, "unknown metric id");
    if (n > TLW_METRIC_LABELS_MAX)
        return bad(err, index, "too many labels");
    s->id = (tlw_metric_id)id;
    s->label_count = n;
    for (size_t i = 0; i < n; i++) {
        uint8_t kl;
        uint16_t vl;
        if (!take(r, &kl, 1) || kl >= TLW_METRIC_KEY_MAX || !take(r, s->keys[i], kl))
            return bad(err, index, "label key truncated or too long");
        if (!key_ok(s->keys[i], kl))
            return bad(err, index, "label key is not [a-z_]+");
        if (!take(r, &vl, 2) || vl >= TLW_METRIC_VALUE_MAX || !take(r, s->values[i], vl))
            return bad(err, index, "label value truncated or too long");
        if (!tlw_utf8_text(s->values[i], vl))
            return bad(err, index, "label value is not UTF-8 without NUL");
        if (i > 0 && strcmp(s->keys[i - 1], s->keys[i]) >= 0)
            return bad(err, index, "label keys are not sorted and distinct");
    }
    const tlw_metric_def *d = &defs[s->id];
    switch (d->kind) {
    case TLW_METRIC_COUNTER:
        if (!take(r, &s->count, 8))
            return bad(err, index, "truncated counter");
        break;
    case TLW_METRIC_GAUGE:
        if (!take(r, &s->sum, 8) || !take(r, &s->updated_ms, 8))
            return bad(err, index, "truncated gauge");
        if (!isfinite(s->sum))
            return bad(err, index, "gauge value is not finite");
        s->count = 1;
        break;
    case TLW_METRIC_HISTOGRAM: {
        if (!take(r, &s->count, 8) || !take(r, &s->sum, 8) || !take(r, &s->min, 8) ||
            !take(r, &s->max, 8) || !take(r, s->buckets, 8 * (d->bound_count + 1)))
            return bad(err, index, "truncated histogram");
        if (!isfinite(s->sum) || !isfinite(s->min) || !isfinite(s->max))
            return bad(err, index, "histogram sum, min or max is not finite");
        uint64_t total = 0;
        for (size_t b = 0; b <= d->bound_count; b++) {
            if (s->buckets[b] > UINT64_MAX - total)
                return bad(err, index, "histogram buckets overflow");
            total += s->buckets[b];
        }
        if (total != s->count)
            return bad(err, index, "histogram buckets do not add up to its count");
        break;
    }
    }
    return TLW_OK;
}

static void merge_one(tlw_metrics *m, const tlw_metric_series *in)
{
    key k = {.id = in->id, .n = in->label_count};
    memcpy(k.keys, in->keys, sizeof k.keys);
    memcpy(k.values, in->values, sizeof k.values);
    tlw_metric_series *s = find(m, &k);
    if (!s)
        return;
    const tlw_metric_def *d = &defs[in->id];
    switch (d->kind) {
    case TLW_METRIC_COUNTER: s->count += in->count; break;
    case TLW_METRIC_GAUGE:
        if (s->count == 0 || in->updated_ms >= s->updated_ms) {
            s->sum = in->sum;
            s->updated_ms = in->updated_ms;
            s->count = 1;
        }
        break;
    case TLW_METRIC_HISTOGRAM:
        if (in->count == 0)
            break;
        if (s->count == 0 || in->min < s->min)
            s->min = in->min;
        if (s->count == 0 || in->max > s->max)
            s->max = in->max;
        s->count += in->count;
        s->sum += in->sum;
        for (size_t b = 0; b <= d->bound_count; b++)
            s->buckets[b] += in->buckets[b];
        break;
    }
}

tlw_status tlw_metrics_merge(tlw_metrics *m, const void *buf, size_t len, tlw_error *err)
{
    reader r = {.at = buf, .left = len};
    uint32_t n;
    if (!take(&r, &n, 4))
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "metrics: %zu bytes, no series count", len);
    /* Check everything first: a malformed message merges nothing. */
    reader check = r;
    tlw_metric_series s;
    for (uint32_t i = 0; i < n; i++) {
        tlw_status st = take_series(&check, i, &s, err);
        if (st != TLW_OK)
            return st;
    }
    if (check.left != 0)
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "metrics: %zu bytes left over after %u series",
                             check.left, (unsigned)n);
    if (!m)
        return TLW_OK;
    pthread_mutex_lock(&m->mu);
    for (uint32_t i = 0; i < n; i++) {
        take_series(&r, i, &s, NULL);
        merge_one(m, &s);
    }
    pthread_mutex_unlock(&m->mu);
    return TLW_OK;
}

/* ---- the process's registry ------------------------------------------------ */

static tlw_metrics *process_metrics;

tlw_metrics *tlw_metrics_process(void)
{
    return process_metrics;
}

void tlw_metrics_process_enable(int64_t start_ms)
{
    if (!process_metrics)
        process_metrics = tlw_metrics_new(start_ms);
}
