/*
 * worker/slot: the life of one worker child (one task slot), from fork to
 * exit. The supervisor forks it with its end of an ipc channel.
 *
 * Today a slot runs the user's start hooks, reports READY, and waits for the
 * supervisor's DRAIN or STOP; it then reports STATS and exits 0. Polling
 * (activity and workflow tasks) plugs in here: the poll loop runs between
 * READY and DRAIN.
 */
#ifndef TLW_WORKER_SLOT_H
#define TLW_WORKER_SLOT_H

#include <stdint.h>

#include "conf/config.h"
#include "ipc/ipc.h"

typedef struct tlw_slot_spec {
    tlw_ipc_slot_kind kind;
    unsigned index;          /* among the slots of its kind */
    int fd;                  /* the child's end of the channel */
    const tlw_config *config; /* the invocation's settings and registrations */
    const char *identity;
    int64_t deadline_ms; /* the invocation's deadline, epoch ms (INT64_MAX outside Lambda) */
} tlw_slot_spec;

/* Tells the supervisor why this slot gives up (it exits next). */
void tlw_slot_send_fatal(int fd, const char *message);

/* Runs the slot in the (forked) child. Returns the exit status. */
int tlw_slot_main(const tlw_slot_spec *spec);

#endif
