/*
 * worker/heartbeat: an activity's heartbeats, from the executor (or the
 * in-process call) to the server, throttled: the latest details are kept
 * and sent at most once per interval (80% of the heartbeat timeout, else
 * 30 s), and the server's answer can ask the activity to stop.
 */
#ifndef TLW_WORKER_HEARTBEAT_H
#define TLW_WORKER_HEARTBEAT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "worker/poller.h"
#include "worker/storage.h"

typedef struct tlw_heartbeat {
    tlw_poller *poller; /* client, names, and the time left for each call */
    ProtobufCBinaryData task_token;
    const char *activity_type; /* for logs */
    json_t *latest;            /* the last details received (a value), or NULL */
    bool pending;              /* received but not sent yet */
    int64_t last_sent_ms;
    int64_t interval_ms;
    bool cancel_requested; /* the server asked the activity to stop */
    pid_t executor; /* > 0: the executor to tell of a cancellation (SIGUSR1) */
    /* Details at or above the threshold go to S3 first (NULL: no storage),
     * stored for `target` (the activity, as the SDKs store heartbeats). */
    tlw_storage *storage;
    tlw_extstore_target target;
} tlw_heartbeat;

/* Sets up the heartbeats of one task (borrowing the token and the type). */
void tlw_heartbeat_init(tlw_heartbeat *hb, tlw_poller *p, ProtobufCBinaryData task_token,
                        const char *activity_type, int64_t heartbeat_timeout_ms);

/* Keeps `details` (copied) and sends them now if the throttle allows. */
void tlw_heartbeat_record(tlw_heartbeat *hb, const json_t *details);

/* When pending details are due (epoch ms), INT64_MAX if none are. */
int64_t tlw_heartbeat_due_ms(const tlw_heartbeat *hb);

/* Sends pending details if they are due. */
void tlw_heartbeat_flush_due(tlw_heartbeat *hb);

/* The last details received (borrowed), or NULL. */
const json_t *tlw_heartbeat_latest(const tlw_heartbeat *hb);

void tlw_heartbeat_free(tlw_heartbeat *hb);

#endif
