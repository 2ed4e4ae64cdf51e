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

#include "conf/worker_config.h"
#include "ipc/ipc.h"
#include "ipc/spawn.h"

/* Whether a slot of `kind` polls the server with `cfg` (an idle slot does
 * not connect at all). */
bool tlw_slot_polls(tlw_ipc_slot_kind kind, const tlw_config *cfg);

/* Loads the modules slots use with `cfg` (worker/plugins.h): gRPC, and
 * libcurl when payloads go to S3. For the supervisor, once, so that the
 * slots it forks have them. */
tlw_status tlw_slot_preload(const tlw_config *cfg, tlw_error *err);

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
