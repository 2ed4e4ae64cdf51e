#include "config.h"

#include "worker/slot.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "worker/activity.h"
#include "worker/plugins.h"
#include "worker/workflow.h"

void tlw_slot_send_ready(const tlw_slot_spec *spec)
{
    tlw_ipc_msg msg = {.type = TLW_IPC_READY};
    msg.ready.pid = (uint32_t)getpid();
    msg.ready.slot_kind = spec->kind;
    msg.ready.slot_index = spec->index;
    tlw_error err;
    if (tlw_ipc_send(spec->fd, &msg, &err) != TLW_OK)
        tlw_log_error("cannot report READY: %s", err.message);
}

void tlw_slot_send_fatal(int fd, const char *message)
{
    tlw_ipc_msg msg = {.type = TLW_IPC_FATAL};
    snprintf(msg.fatal.message, sizeof msg.fatal.message, "%s", message);
    tlw_ipc_send(fd, &msg, NULL);
}

bool tlw_slot_polls(tlw_ipc_slot_kind kind, const tlw_config *cfg)
{
    if (kind == TLW_IPC_SLOT_ACTIVITY)
        return tlw_config_activity_count(cfg) > 0;
    return tlw_config_workflow_count(cfg) > 0;
}

tlw_status tlw_slot_preload(const tlw_config *cfg, tlw_error *err)
{
    tlw_status st = tlw_plugin_load(TLW_PLUGIN_GRPC, err);
    if (st == TLW_OK && cfg->settings.worker.s3_bucket.value)
        st = tlw_plugin_load(TLW_PLUGIN_S3, err);
    return st;
}

int64_t tlw_slot_hard_stop_ms(const tlw_slot_spec *spec)
{
    if (spec->deadline_ms == INT64_MAX)
        return INT64_MAX;
    const tlw_worker_settings *w = &spec->config->settings.worker;
    return spec->deadline_ms - w->shutdown_deadline_buffer_ms.value +
           w->graceful_shutdown_timeout_ms.value;
}

int64_t tlw_slot_connect_by_ms(const tlw_slot_spec *spec, int64_t now_ms)
{
    int64_t by = now_ms + TLW_CONNECT_WINDOW_MS;
    if (spec->deadline_ms != INT64_MAX) {
        int64_t drain_at =
            spec->deadline_ms - spec->config->settings.worker.shutdown_deadline_buffer_ms.value;
        if (drain_at < by)
            by = drain_at;
    }
    return by;
}

int tlw_slot_main(const tlw_slot_spec *spec)
{
    char name[32];
    snprintf(name, sizeof name, "%s-%u", tlw_ipc_slot_kind_name(spec->kind), spec->index);
    tlw_log_set_process(name);
    /* ps and top show what each process is: tlw-activity-0, tlw-zygote, ... */
    char comm[16]; /* the kernel keeps 15 bytes */
    memcpy(comm, "tlw-", 4);
    snprintf(comm + 4, sizeof comm - 4, "%.11s", name);
    prctl(PR_SET_NAME, comm);
    /* The drain comes over the channel: a SIGINT or SIGTERM sent to every
     * process (Ctrl-C, a cgroup-wide stop) must not cut a task short. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    /* The trace id is this invocation's; setting it here, not in the
     * supervisor, keeps the supervisor's environment from growing. */
    if (spec->trace_id && *spec->trace_id)
        setenv("_X_AMZN_TRACE_ID", spec->trace_id, 1);
    else
        unsetenv("_X_AMZN_TRACE_ID");

    /* The user's per-process set-up (e.g. a database connection). */
    for (size_t i = 0; i < spec->config->start_hook_count; i++) {
        const tlw_hook *hook = &spec->config->start_hooks[i];
        tlw_status st = hook->fn(hook->arg);
        if (st != TLW_OK) {
            char message[200];
            snprintf(message, sizeof message, "worker start hook %zu failed: %s", i + 1,
                     tlw_status_name(st));
            tlw_log_error("%s", message);
            tlw_slot_send_fatal(spec->fd, message);
            return 1;
        }
    }

    /* A polling slot reports READY once it has reached the server. */
    if (tlw_slot_polls(spec->kind, spec->config))
        return spec->kind == TLW_IPC_SLOT_ACTIVITY ? tlw_activity_slot_run(spec)
                                                   : tlw_workflow_slot_run(spec);

    tlw_error err;
    tlw_ipc_msg msg = {.type = TLW_IPC_READY};
    msg.ready.pid = (uint32_t)getpid();
    msg.ready.slot_kind = spec->kind;
    msg.ready.slot_index = spec->index;
    if (tlw_ipc_send(spec->fd, &msg, &err) != TLW_OK) {
        tlw_log_error("cannot report READY: %s", err.message);
        return 1;
    }


    /* Nothing to poll for this kind yet: wait for the drain. */
    tlw_ipc_stats stats = {0};
    for (;;) {
        tlw_status st = tlw_ipc_recv(spec->fd, &msg, &err);
        if (st == TLW_ERR_UNAVAILABLE)
            return 0; /* the supervisor is gone: nothing to report to */
        if (st != TLW_OK) {
            tlw_log_error("%s", err.message);
            continue;
        }
        if (msg.type == TLW_IPC_DRAIN || msg.type == TLW_IPC_STOP)
            break;
    }
    msg = (tlw_ipc_msg){.type = TLW_IPC_STATS, .stats = stats};
    tlw_ipc_send(spec->fd, &msg, NULL);
    return 0;
}
