#include "config.h"

#include "worker/slot.h"

#include <stdio.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "worker/activity.h"

void tlw_slot_send_fatal(int fd, const char *message)
{
    tlw_ipc_msg msg = {.type = TLW_IPC_FATAL};
    snprintf(msg.fatal.message, sizeof msg.fatal.message, "%s", message);
    tlw_ipc_send(fd, &msg, NULL);
}

int tlw_slot_main(const tlw_slot_spec *spec)
{
    char name[32];
    snprintf(name, sizeof name, "%s-%u", tlw_ipc_slot_kind_name(spec->kind), spec->index);
    tlw_log_set_process(name);

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

    tlw_error err;
    tlw_ipc_msg msg = {.type = TLW_IPC_READY};
    msg.ready.pid = (uint32_t)getpid();
    msg.ready.slot_kind = spec->kind;
    msg.ready.slot_index = spec->index;
    if (tlw_ipc_send(spec->fd, &msg, &err) != TLW_OK) {
        tlw_log_error("cannot report READY: %s", err.message);
        return 1;
    }

    if (spec->kind == TLW_IPC_SLOT_ACTIVITY && tlw_config_activity_count(spec->config) > 0)
        return tlw_activity_slot_run(spec);

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
