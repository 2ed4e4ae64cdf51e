/*
 * worker/executor: runs one activity function, isolated in a forked process
 * (isolation = "fork", the default) or in the slot itself ("in-process"),
 * and says how it ended.
 *
 * A forked executor runs user code only and never touches gRPC: it sends
 * its heartbeats and its result to the slot as ipc/ executor messages on a
 * pipe, and learns of a cancellation by SIGUSR1. It dies with its slot, has
 * a process group of its own (killed whole when it ends), keeps only the
 * descriptors it may, and runs under the memory limit. The slot follows it
 * by its pipe and its pid, sends its heartbeats on, and kills it at the
 * start-to-close timeout or the hard stop.
 */
#ifndef TLW_WORKER_EXECUTOR_H
#define TLW_WORKER_EXECUTOR_H

#include <stdint.h>
#include <sys/types.h>

#include <tlw/lambda_worker.h>

#include "common/error.h"
#include "common/proc.h"
#include "worker/activity_context.h"

typedef enum tlw_ran {
    TLW_RAN_RESULT,    /* returned a result */
    TLW_RAN_FAILURE,   /* returned a failure (tlw_activity_fail or another status) */
    TLW_RAN_CANCELLED, /* accepted a cancellation */
    TLW_RAN_CRASHED,   /* killed by a signal */
    TLW_RAN_EXITED,    /* exited without a result */
    TLW_RAN_TIMED_OUT, /* killed at its start-to-close timeout */
    TLW_RAN_SHUTDOWN,  /* killed at the invocation's hard stop */
    TLW_RAN_OVERSIZED, /* a message over TLW_IPC_EXEC_BODY_MAX */
    TLW_RAN_MALFORMED  /* a message that is not one (its problem in `problem`) */
} tlw_ran;

typedef struct tlw_executor_job {
    tlw_activity_fn fn;
    tlw_activity *act;
    const json_t *args;
    int64_t memory_limit_mb;       /* 0: none */
    const tlw_fd_set *keep_fds;    /* what a forked executor keeps besides stdio, its pipe */
    int64_t stc_deadline_ms;       /* kill at this epoch ms (INT64_MAX: never) */
    /* The hard stop (epoch ms), asked again and again since DRAIN moves it. */
    int64_t (*stop_ms)(void *arg);
    void *stop_arg;
    tlw_heartbeat *heartbeat;
} tlw_executor_job;

typedef struct tlw_executor_result {
    tlw_ran ran;
    json_t *result; /* RESULT */
    /* FAILURE */
    char failure_type[128];
    char failure_message[1024];
    bool non_retryable;
    json_t *failure_details; /* an array, or NULL */
    int wait_status;         /* of a forked executor */
    char problem[TLW_ERROR_MESSAGE_MAX]; /* MALFORMED, OVERSIZED */
} tlw_executor_result;

void tlw_executor_run_forked(const tlw_executor_job *job, tlw_executor_result *out);
void tlw_executor_run_in_process(const tlw_executor_job *job, tlw_executor_result *out);
void tlw_executor_result_free(tlw_executor_result *r);

#endif
