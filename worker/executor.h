/*
 * worker/executor: runs one activity function, isolated in a forked process
 * (isolation = "fork", the default) or in the slot itself ("in-process"),
 * and says how it ended.
 *
 * A forked executor runs user code only and never touches gRPC: it sends
 * its heartbeats and its result to the slot as ipc/ executor messages on a
 * pipe, and learns of a cancellation by SIGUSR1. It dies with its slot (or,
 * forked ahead, with the zygote, which kills it when its slot ends), has
 * a process group of its own (killed whole when it ends), keeps only the
 * descriptors it may, and runs under the memory limit. The slot follows it
 * by its pipe and its pid, sends its heartbeats on, and kills it at the
 * start-to-close timeout or the hard stop.
 *
 * With a zygote (worker/zygote.h, the default) the executor was forked
 * before its task, from a small single-threaded process the supervisor
 * forked before anything heavy was loaded, and waits on a socket: the slot hands it the task as one EXEC_JOB
 * message (the JSON of tlw_executor_job_encode) and follows it as above. The
 * slot forks one itself only when no such executor is at hand or the task
 * is too large for a message.
 */
#ifndef TLW_WORKER_EXECUTOR_H
#define TLW_WORKER_EXECUTOR_H

#include <stdint.h>
#include <sys/types.h>

#include <tlw/lambda_worker.h>

#include "common/error.h"
#include "common/proc.h"
#include "conf/worker_config.h"
#include "worker/activity_context.h"

typedef struct tlw_zygote tlw_zygote;

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
    tlw_zygote *zygote; /* where a pre-forked executor comes from; NULL: fork here */
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

/* What an executor does to itself first: a process group of its own, death
 * with `parent` (it exits at once if `parent` is already gone), descriptors,
 * signals, exit(); `fd` is its way to the slot. */
void tlw_executor_isolate(const tlw_fd_set *keep_fds, int fd, pid_t parent);

/*
 * For the zygote, once: walks an executor's own path (an EXEC_JOB written,
 * read and decoded, a result encoded and sent) on a made-up task over a
 * socket pair. Lazy binding fixes up each first call to a shared library's
 * function in the process that makes it; done here, the fix-ups are
 * inherited by every executor forked afterwards instead of being redone in
 * each. Runs no user code and leaves nothing behind.
 */
void tlw_executor_warm_up(void);

/* In a pre-forked executor: waits on `fd` for its EXEC_JOB, runs the
 * activity `cfg` registered under its type under `memory_limit_mb` (0:
 * none), reports on `fd` and exits. It exits quietly if `fd` closes first
 * (an executor left unused). */
void tlw_executor_serve(int fd, const tlw_config *cfg, int64_t memory_limit_mb)
    __attribute__((noreturn));

/*
 * The task as EXEC_JOB carries it: a JSON object with the strings and
 * numbers of act->info, act->deadline_ms, `args`, act->previous_details and
 * the invocation's trace id (the slot's _X_AMZN_TRACE_ID, which
 * tlw_executor_serve sets in the executor; "trace_id" in *owner).
 * encode returns text to free(), or NULL out of memory. decode is strict
 * (every key once, no other key, the right types) and fills *act, whose
 * strings, *args and previous details live in *owner (json_decref it, and
 * act->previous_details).
 */
char *tlw_executor_job_encode(const tlw_activity *act, const json_t *args);
tlw_status tlw_executor_job_decode(const char *json, size_t len, tlw_activity *act, json_t **args,
                                   json_t **owner, tlw_error *err);

#endif
