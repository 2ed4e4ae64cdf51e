/*
 * worker/activity_context: the tlw_activity that a user's activity function
 * receives, shared by the public tlw_activity_* functions (activity_api.c),
 * the executor that runs the function, and the activity slot that builds it.
 */
#ifndef TLW_WORKER_ACTIVITY_CONTEXT_H
#define TLW_WORKER_ACTIVITY_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include <tlw/lambda_worker.h>

#include "worker/heartbeat.h"

struct tlw_activity {
    tlw_activity_info info; /* its strings live as long as the task */
    json_t *previous_details; /* the last attempt's heartbeat details, or NULL */
    int64_t deadline_ms; /* what tlw_activity_time_left_ms() counts down to (epoch ms) */
    /* Where heartbeats go: the pipe to the slot (in an executor), or the
     * slot's heartbeat itself (in-process, result_fd -1). */
    int result_fd;
    tlw_heartbeat *heartbeat;
    /* tlw_activity_fail() */
    bool failed;
    char fail_type[128];
    bool non_retryable;
    json_t *fail_details;
    char fail_message[1024];
};

/* The SIGUSR1 handler of an executor: the slot forwards a cancellation. */
void tlw_activity_cancel_signal(int sig);

#endif
