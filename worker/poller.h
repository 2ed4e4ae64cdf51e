/*
 * worker/poller: a polling slot's life between fork and exit, for any kind
 * of task: connect, reach the namespace (READY), poll until DRAIN, and turn
 * DRAIN into the right way to end the open poll.
 *
 *   connect + DescribeNamespace -> READY -> poll -> TASK_BEGIN -> run the
 *   task (the kind's job) -> TASK_END -> poll ... until DRAIN -> STATS
 *
 * A control thread reads the supervisor's channel while the main thread
 * polls or runs a task. On DRAIN, where the namespace has
 * worker_poll_complete_on_shutdown, it calls ShutdownWorker with the slot's
 * worker_instance_key and the server completes the open poll empty;
 * otherwise (or if that fails) the poll is cancelled. A task that still
 * arrives is run until the hard stop, never dropped.
 *
 * What a kind of task adds (how to poll, what a task's token and type are,
 * how to run and report it) comes in a tlw_task_kind.
 */
#ifndef TLW_WORKER_POLLER_H
#define TLW_WORKER_POLLER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/proc.h"
#include "ipc/ipc.h"
#include "worker/rpc.h"
#include "worker/service.h"
#include "worker/slot.h"

typedef struct tlw_poller {
    const tlw_slot_spec *spec;
    const tlw_settings *settings;
    tlw_service_caller caller; /* client, namespace, identity, deployment */
    Temporal__Api__Deployment__V1__WorkerDeploymentOptions deployment;
    char worker_instance_key[40];
    /* the namespace has worker_poll_complete_on_shutdown (known once
     * DescribeNamespace answered; false until then) */
    atomic_bool graceful_poll_shutdown;
    atomic_int unreachable; /* DescribeNamespace failed: the slot gives up */
    tlw_rpc_cancel poll_cancel;
    atomic_int draining;
    atomic_int polling; /* a poll call is open */
    /* epoch ms: the invocation's hard stop, known from the start and moved
     * by DRAIN (a drain by signal comes early); LLONG_MAX outside Lambda
     * until DRAIN */
    atomic_llong hard_stop_ms;
    /* The descriptors open before the slot connected (stdio, the user's):
     * what a process forked from the slot may keep. */
    tlw_fd_set inherited_fds;
    tlw_ipc_stats stats;
    /* The start-up's steps (epoch ms), logged once with the first poll. */
    int64_t started_ms, connected_ms;
    bool polled;
} tlw_poller;

/* One kind of task. Each function gets the poller and the kind's `arg`. */
typedef struct tlw_task_kind {
    tlw_ipc_task_kind kind;
    Temporal__Api__Enums__V1__TaskQueueType queue_type; /* for ShutdownWorker */
    const char *sticky_queue; /* the slot's sticky queue, for ShutdownWorker; NULL: none */
    void *arg;
    /* One long poll with `opts` (its deadline and cancellation). *task is
     * NULL or has an empty token when none came. */
    tlw_status (*poll)(tlw_poller *p, void *arg, const tlw_rpc_call_options *opts, void **task,
                       tlw_error *err);
    /* The token, type name and attempt of a task, for TASK_BEGIN. */
    void (*describe)(const void *task, ProtobufCBinaryData *token, const char **type_name,
                     uint32_t *attempt);
    /* Runs and reports the task; *reported says whether the server knows
     * how it ended. Returns the TASK_END outcome. */
    tlw_ipc_outcome (*run)(tlw_poller *p, void *arg, const void *task, bool *reported);
    void (*free)(void *task);
    /* Optional: set-up once the inherited descriptors are known, before the
     * slot connects (no other thread runs yet), and its undoing at the end.
     * A failed start ends the slot. */
    tlw_status (*start)(tlw_poller *p, void *arg, tlw_error *err);
    void (*stop)(tlw_poller *p, void *arg);
    /* OpenTelemetry: records a task that ran for `run_ms` (worker/otel_slot.h);
     * NULL: none. */
    void (*observe)(const void *task, tlw_ipc_outcome outcome, int64_t run_ms);
} tlw_task_kind;

/* Runs the slot with `kind` until DRAIN. Returns the exit status. */
int tlw_poller_run(const tlw_slot_spec *spec, const tlw_task_kind *kind);

/* A call's timeout: `want`, cut to what is left before the hard stop (less a
 * little, to send TASK_END after it). 0 means no time is left: do not start
 * the call. */
int64_t tlw_poller_budget_ms(tlw_poller *p, int64_t want);

/* The options of a call a slot makes for a task (Respond*, heartbeat,
 * history): `want`, cut to the time left before the hard stop. With no
 * time left it is TLW_ERR_TIMEOUT, and the call must not be made. */
tlw_status tlw_poller_call_options(tlw_poller *p, int64_t want, tlw_rpc_call_options *o,
                                   tlw_error *err);

/* Whether the server knows how a task ended after a report that returned
 * `st`: it took the report, or has no such task any more (NOT_FOUND).
 * Otherwise TASK_END says so and the recovery path tries. */
bool tlw_poller_server_knows(tlw_status st);

/* When a running task's process must be killed so that the slot can still
 * report the task before the supervisor's hard stop kills the slot itself
 * (epoch ms; INT64_MAX for never). Moves if DRAIN moves the hard stop. */
int64_t tlw_poller_task_stop_ms(tlw_poller *p);

#endif
