#include "config.h"

#include "worker/poller.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "worker/connect.h"
#include "worker/otel_slot.h"

#define POLL_TIMEOUT_MS 70000 /* the server ends a long poll after ~60 s */

/* A random (version 4) UUID. Fails rather than give every worker the same
 * key when the kernel has no randomness to give. */
static tlw_status make_instance_key(char *out, size_t size, tlw_error *err)
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return tlw_error_set(err, TLW_ERR_IO,
                                 "cannot make a worker instance key: getrandom: %s",
                                 n < 0 ? strerror(errno) : "no bytes");
        got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, size,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return TLW_OK;
}

int64_t tlw_poller_budget_ms(tlw_poller *p, int64_t want)
{
    long long hard = atomic_load(&p->hard_stop_ms);
    if (hard == LLONG_MAX)
        return want;
    int64_t left = hard - 50 - tlw_wall_ms();
    if (left <= 0)
        return 0;
    return left < want ? left : want;
}

tlw_status tlw_poller_call_options(tlw_poller *p, int64_t want, tlw_rpc_call_options *o,
                                   tlw_error *err)
{
    *o = (tlw_rpc_call_options){.timeout_ms = tlw_poller_budget_ms(p, want)};
    if (o->timeout_ms == 0)
        return tlw_error_set(err, TLW_ERR_TIMEOUT, "no time left before the hard stop");
    return TLW_OK;
}

bool tlw_poller_server_knows(tlw_status st)
{
    return st == TLW_OK || st == TLW_ERR_NOT_FOUND;
}

int64_t tlw_poller_task_stop_ms(tlw_poller *p)
{
    long long hard = atomic_load(&p->hard_stop_ms);
    if (hard == LLONG_MAX)
        return INT64_MAX;
    int64_t margin = p->settings->worker.graceful_shutdown_timeout_ms.value / 4;
    return hard - (margin < 500 ? margin : 500);
}

/* Asks the server to complete this slot's open polls empty. False if the
 * call failed or there was no time for it. */
static bool shutdown_worker(tlw_poller *p, const tlw_task_kind *kind)
{
    tlw_error err;
    tlw_rpc_call_options o = {.timeout_ms = tlw_poller_budget_ms(p, 5000)};
    if (o.timeout_ms == 0)
        return false;
    tlw_status st = tlw_service_shutdown_worker(
        &p->caller, p->settings->worker.task_queue.value, kind->sticky_queue,
        p->worker_instance_key,
        &kind->queue_type, 1, "the Lambda invocation is draining", &o, &err);
    if (st != TLW_OK)
        tlw_log_warn("ShutdownWorker: %s; cancelling the poll instead", err.message);
    return st == TLW_OK;
}

struct control {
    tlw_poller *p;
    const tlw_task_kind *kind;
};

/* The control thread: reads the supervisor's messages while the main
 * thread polls or runs a task, and turns DRAIN into the right way to end
 * the open poll. */
static void *control_thread(void *arg)
{
    struct control *ctl = arg;
    tlw_poller *p = ctl->p;
    for (;;) {
        tlw_ipc_msg msg;
        tlw_error err;
        tlw_status st = tlw_ipc_recv(p->spec->fd, &msg, &err);
        if (st == TLW_ERR_PROTOCOL)
            continue;
        bool stop = st != TLW_OK || msg.type == TLW_IPC_STOP;
        if (st == TLW_OK && msg.type == TLW_IPC_DRAIN)
            atomic_store(&p->hard_stop_ms, (long long)msg.drain.hard_stop_deadline_ms);
        else if (stop)
            atomic_store(&p->hard_stop_ms, (long long)tlw_wall_ms());
        else
            continue;
        atomic_store(&p->draining, 1);
        tlw_otel_slot_flush_metrics(p->spec->fd); /* OpenTelemetry: before a hard stop can */
        if (!atomic_load(&p->graceful_poll_shutdown) || !shutdown_worker(p, ctl->kind))
            tlw_rpc_cancel_request(&p->poll_cancel);
        /* A poll that opened just as the drain began is not one ShutdownWorker
         * completes: give it a moment, then cancel it, so that no poll is
         * open when the supervisor ends the process. */
        int64_t give_up = tlw_wall_ms() + 1000;
        if (tlw_poller_task_stop_ms(p) < give_up)
            give_up = tlw_poller_task_stop_ms(p);
        while (atomic_load(&p->polling) && tlw_wall_ms() < give_up)
            tlw_sleep_ms(20);
        if (atomic_load(&p->polling))
            tlw_rpc_cancel_request(&p->poll_cancel);
        return NULL;
    }
}

/* TASK_BEGIN (so that the supervisor can have the task failed if this slot
 * dies) and TASK_END. */
static void announce(tlw_poller *p, const tlw_task_kind *kind, tlw_ipc_type type,
                     const void *task, tlw_ipc_outcome outcome, bool reported)
{
    ProtobufCBinaryData token;
    const char *type_name;
    uint32_t attempt;
    kind->describe(task, &token, &type_name, &attempt);
    if (token.len > TLW_IPC_TASK_TOKEN_MAX) {
        if (type == TLW_IPC_TASK_BEGIN)
            tlw_log_error("the task token of %s task %s is %zu bytes, over the %d that a "
                          "TASK_BEGIN carries: if this worker dies running it, the server "
                          "retries it only after its timeout",
                          tlw_ipc_task_kind_name(kind->kind), type_name, token.len,
                          TLW_IPC_TASK_TOKEN_MAX);
        return;
    }
    tlw_ipc_msg msg = {.type = type};
    if (type == TLW_IPC_TASK_BEGIN) {
        msg.task_begin.kind = kind->kind;
        msg.task_begin.attempt = attempt > 0 ? attempt : 1;
        msg.task_begin.task_token_len = (uint32_t)token.len;
        memcpy(msg.task_begin.task_token, token.data, token.len);
        snprintf(msg.task_begin.type_name, sizeof msg.task_begin.type_name, "%s",
                 type_name && *type_name ? type_name : "?");
    } else {
        msg.task_end.kind = kind->kind;
        msg.task_end.outcome = outcome;
        msg.task_end.reported = reported ? 1 : 0;
        msg.task_end.task_token_len = (uint32_t)token.len;
        memcpy(msg.task_end.task_token, token.data, token.len);
    }
    tlw_error err;
    if (tlw_ipc_send(p->spec->fd, &msg, &err) != TLW_OK)
        tlw_log_warn("%s: %s", tlw_ipc_type_name(type), err.message);
}

/* DescribeNamespace, beside the first poll: the slot is READY once the
 * server answered it for the namespace, within the connect window (the
 * supervisor fails the invocation after it: a little less, so that the
 * reason arrives first). If it fails, the slot says why and gives up: its
 * poll is cancelled and the poll loop ends. */
static void *describe_thread(void *arg)
{
    tlw_poller *p = arg;
    int64_t now = tlw_wall_ms();
    tlw_rpc_call_options call = {.timeout_ms = tlw_slot_connect_by_ms(p->spec, now) - now - 300};
    if (call.timeout_ms < 100)
        call.timeout_ms = 100;
    tlw_namespace_description *ns = NULL;
    tlw_error err;
    tlw_status st = tlw_service_describe_namespace(p->caller.client, p->caller.namespace_name,
                                                   &call, &ns, &err);
    if (st != TLW_OK) {
        tlw_log_error("%s", err.message);
        tlw_slot_send_fatal(p->spec->fd, err.message);
        atomic_store(&p->unreachable, 1);
        atomic_store(&p->draining, 1);
        tlw_rpc_cancel_request(&p->poll_cancel);
        return NULL;
    }
    tlw_namespace_capabilities caps;
    tlw_namespace_capabilities_read(ns, &caps);
    protobuf_c_message_free_unpacked(&ns->base, NULL);
    atomic_store(&p->graceful_poll_shutdown, caps.worker_poll_complete_on_shutdown);
    tlw_log_debug("DescribeNamespace answered %lld ms after the channel was made",
                  (long long)(tlw_wall_ms() - p->connected_ms));
    tlw_slot_send_ready(p->spec);
    return NULL;
}

/* Where the time to the first poll went, once per slot. */
static void log_first_poll(tlw_poller *p)
{
    p->polled = true;
    int64_t arrived = p->spec->arrived_ms, now = tlw_wall_ms();
    if (arrived <= 0 || arrived > p->started_ms)
        arrived = p->started_ms;
    tlw_log_debug("first poll %lld ms after the invocation arrived: fork and start hooks %lld ms, "
                  "channel %lld ms, then %lld ms",
                  (long long)(now - arrived), (long long)(p->started_ms - arrived),
                  (long long)(p->connected_ms - p->started_ms),
                  (long long)(now - p->connected_ms));
}

static void poll_loop(tlw_poller *p, const tlw_task_kind *kind)
{
    unsigned failures = 0;
    while (!atomic_load(&p->draining)) {
        void *task = NULL;
        tlw_error err;
        if (!p->polled)
            log_first_poll(p);
        atomic_store(&p->polling, 1);
        tlw_rpc_call_options o = {.timeout_ms = POLL_TIMEOUT_MS, .cancel = &p->poll_cancel};
        tlw_status st = atomic_load(&p->draining) ? TLW_ERR_CANCELLED
                                                  : kind->poll(p, kind->arg, &o, &task, &err);
        atomic_store(&p->polling, 0);
        ProtobufCBinaryData token = {0};
        if (st == TLW_OK && task) {
            const char *type_name;
            uint32_t attempt;
            kind->describe(task, &token, &type_name, &attempt);
        }
        if (st == TLW_OK)
            tlw_otel_record_poll(kind->kind, token.len > 0); /* OpenTelemetry */
        if (st == TLW_OK && token.len > 0) {
            /* A task that arrives, even while draining, is run. */
            failures = 0;
            p->stats.tasks_started++;
            announce(p, kind, TLW_IPC_TASK_BEGIN, task, 0, false);
            bool reported = false;
            int64_t run_started_ms = tlw_monotonic_ms();
            tlw_ipc_outcome outcome = kind->run(p, kind->arg, task, &reported);
            if (kind->observe) /* OpenTelemetry */
                kind->observe(task, outcome, tlw_monotonic_ms() - run_started_ms);
            announce(p, kind, TLW_IPC_TASK_END, task, outcome, reported);
            if (outcome == TLW_IPC_OUTCOME_COMPLETED)
                p->stats.tasks_completed++;
            else if (outcome == TLW_IPC_OUTCOME_CANCELED)
                p->stats.tasks_canceled++;
            else
                p->stats.tasks_failed++;
        } else if (st != TLW_OK && st != TLW_ERR_CANCELLED && !atomic_load(&p->draining)) {
            /* The server may be restarting: say so, back off, poll again. */
            tlw_log_warn("%s", err.message);
            if (failures < 16)
                failures++;
            tlw_sleep_ms(tlw_backoff_ms((int)failures, 200, 1000));
        }
        if (task)
            kind->free(task);
    }
}

int tlw_poller_run(const tlw_slot_spec *spec, const tlw_task_kind *kind)
{
    tlw_poller p = {.spec = spec, .settings = &spec->config->settings, .started_ms = tlw_wall_ms()};
    const tlw_worker_settings *w = &p.settings->worker;
    p.deployment = tlw_service_versioned_deployment(w->deployment_name.value, w->build_id.value);
    p.caller = (tlw_service_caller){.namespace_name = p.settings->client.namespace_name.value,
                                    .identity = spec->identity,
                                    .deployment = &p.deployment};
    tlw_rpc_cancel_init(&p.poll_cancel);
    atomic_init(&p.draining, 0);
    atomic_init(&p.polling, 0);
    atomic_init(&p.graceful_poll_shutdown, false);
    atomic_init(&p.unreachable, 0);
    int64_t hard_stop = tlw_slot_hard_stop_ms(spec);
    atomic_init(&p.hard_stop_ms, hard_stop == INT64_MAX ? LLONG_MAX : (long long)hard_stop);
    signal(SIGPIPE, SIG_IGN);
    tlw_otel_slot_start(spec);

    tlw_error err;
    tlw_status st = make_instance_key(p.worker_instance_key, sizeof p.worker_instance_key, &err);
    if (st == TLW_OK)
        st = tlw_fd_set_open(&p.inherited_fds, &err);
    /* ... but not the supervisor's channel or the zygote's: those are the
     * slot's alone. */
    if (st == TLW_OK) {
        tlw_fd_set_remove(&p.inherited_fds, spec->fd);
        tlw_fd_set_remove(&p.inherited_fds, spec->zygote_fd);
    }
    bool started = false;
    if (st == TLW_OK && kind->start) {
        st = kind->start(&p, kind->arg, &err);
        started = st == TLW_OK;
    }
    if (st == TLW_OK) {
        st = tlw_worker_connect(p.settings, &p.caller.client, &err);
        p.connected_ms = tlw_wall_ms();
    }
    pthread_t describe, control;
    bool describing = false, controlling = false;
    if (st == TLW_OK) {
        describing = pthread_create(&describe, NULL, describe_thread, &p) == 0;
        if (!describing)
            st = tlw_error_set(&err, TLW_ERR_INTERNAL, "cannot start a thread");
    }
    struct control ctl = {.p = &p, .kind = kind};
    if (st == TLW_OK) {
        controlling = pthread_create(&control, NULL, control_thread, &ctl) == 0;
        if (!controlling)
            st = tlw_error_set(&err, TLW_ERR_INTERNAL, "cannot start the control thread");
    }
    if (st == TLW_OK) {
        poll_loop(&p, kind);
    } else {
        tlw_log_error("%s", err.message);
        tlw_slot_send_fatal(spec->fd, err.message);
    }

    /* The end, whichever way it came: the slot gave up (FATAL is sent) or
     * the drain ended the poll loop. */
    tlw_rpc_cancel_request(&p.poll_cancel);
    if (describing)
        pthread_join(describe, NULL);
    bool gave_up = st != TLW_OK || atomic_load(&p.unreachable);
    if (controlling) {
        if (gave_up)
            shutdown(spec->fd, SHUT_RD); /* the control thread waits for nothing more */
        pthread_join(control, NULL);
    }
    if (started && kind->stop)
        kind->stop(&p, kind->arg);
    if (!gave_up) {
        tlw_otel_slot_flush(spec->fd);
        tlw_ipc_msg msg = {.type = TLW_IPC_STATS, .stats = p.stats};
        tlw_ipc_send(spec->fd, &msg, NULL);
    }
    tlw_rpc_client_close(p.caller.client);
    tlw_fd_set_free(&p.inherited_fds);
    return gave_up ? 1 : 0;
}
