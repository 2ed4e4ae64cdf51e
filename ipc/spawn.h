/*
 * What a forked child is given: the supervisor fills a tlw_slot_spec and
 * hands it to the slot's entry point (which main.c wires in; the supervisor
 * never includes worker code), as nginx hands a cycle to its worker
 * process. Together with the messages in ipc.h it is the whole contract
 * between the supervisor and a slot.
 */
#ifndef TLW_IPC_SPAWN_H
#define TLW_IPC_SPAWN_H

#include <stdint.h>

#include "common/proc.h"
#include "conf/worker_config.h"
#include "ipc/ipc.h"

/* How long the slots of an invocation get to reach the Temporal server
 * (connect and DescribeNamespace) before the invocation is failed as
 * unable to reach it; shorter when the work window is. */
#define TLW_CONNECT_WINDOW_MS 10000

typedef struct tlw_slot_spec {
    tlw_ipc_slot_kind kind;
    unsigned index;          /* among the slots of its kind */
    int fd;                  /* the child's end of the channel */
    const tlw_config *config; /* the invocation's settings and registrations */
    const char *identity;
    int64_t deadline_ms; /* the invocation's deadline, epoch ms (INT64_MAX outside Lambda) */
    const char *trace_id;   /* the invocation's X-Ray trace id; NULL or "" for none */
    /* Descriptors the user's configure() and invocation setups opened, which
     * the slot keeps; it closes every other one it inherited. */
    const tlw_fd_set *keep_fds;
    int64_t arrived_ms; /* when the invocation arrived, epoch ms (for the start-up log) */
    /* An activity slot's end of its channel to the executor zygote
     * (worker/zygote.h), which the slot keeps besides `fd`; -1: none (the
     * slot forks its executors itself). */
    int zygote_fd;
} tlw_slot_spec;

#endif
