/*
 * worker/slot: the life of one worker child (one task slot), from fork to
 * exit. The supervisor forks it with its end of an ipc channel.
 *
 * A slot ignores SIGINT and SIGTERM (the drain comes over the channel), sets
 * the invocation's trace id, runs the user's start hooks, and then either
 * polls (it reports READY once it has reached the server, and polls until
 * DRAIN) or, for a kind with nothing to poll, reports READY at once and
 * waits for DRAIN or STOP. It reports STATS and exits 0.
 */
#ifndef TLW_WORKER_SLOT_H
#define TLW_WORKER_SLOT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/proc.h"
#include "conf/config.h"
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
} tlw_slot_spec;

/* Whether a slot of `kind` polls the server with `cfg` (an idle slot does
 * not connect at all). */
bool tlw_slot_polls(tlw_ipc_slot_kind kind, const tlw_config *cfg);

/* When the invocation will stop the slot's running tasks (epoch ms): the
 * hard stop, drain point + graceful shutdown timeout, known from the start.
 * INT64_MAX outside Lambda. */
int64_t tlw_slot_hard_stop_ms(const tlw_slot_spec *spec);

/* When the slot must have reached the server or give up (epoch ms). */
int64_t tlw_slot_connect_by_ms(const tlw_slot_spec *spec, int64_t now_ms);

/* Tells the supervisor the slot is connected and polling. */
void tlw_slot_send_ready(const tlw_slot_spec *spec);

/* Tells the supervisor why this slot gives up (it exits next). */
void tlw_slot_send_fatal(int fd, const char *message);

/* Runs the slot in the (forked) child. Returns the exit status. */
int tlw_slot_main(const tlw_slot_spec *spec);

#endif
