/*
 * supervisor: the bootstrap's main loop (DESIGN.md section 3).
 *
 * Per invocation, on a libev loop: load the settings and run configure(),
 * check the work window, fork the workflow and activity slot children (one
 * ipc channel each), send them DRAIN at deadline - shutdown_deadline_buffer,
 * kill what is left at the hard stop (drain + graceful_shutdown_timeout),
 * replace children that die unexpectedly (a bounded number of times), hand
 * the task a dead child had announced to the recovery path, run the shutdown
 * hooks, and post a JSON summary as the response, before the deadline.
 *
 * Every external effect is in tlw_supervisor_ops, so that the lifecycle is
 * unit-tested with a scripted Runtime API, a chosen clock and environment,
 * and fake children. The supervisor includes only conf/, ipc/ and common/:
 * what a slot and a recovery reporter run is passed in (main.c wires it),
 * and the supervisor itself never calls into gRPC: forking it is always
 * safe.
 */
#ifndef TLW_SUPERVISOR_SUPERVISOR_H
#define TLW_SUPERVISOR_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <tlw/lambda_worker.h>

#include "common/metrics.h"
#include "common/spans.h"
#include "conf/worker_config.h"
#include "ipc/ipc.h"
#include "ipc/spawn.h"
#include "supervisor/runtime_api.h"

/* A slot may be restarted this many times per invocation; after that it
 * stays down (the others go on) so that a crash loop cannot spin. */
#define TLW_MAX_RESTARTS_PER_SLOT 3
/* The work window below which an invocation is refused, and below which a
 * warning is logged. */
#define TLW_MIN_WORK_WINDOW_MS 1000
#define TLW_WARN_WORK_WINDOW_MS 5000
/* The part of the deadline kept for the end of an invocation: at deadline -
 * this, whatever still runs (a slot, a recovery reporter) is killed and the
 * loop ends, leaving the time for the shutdown hooks and the response; a
 * watchdog posts the response at deadline - half of this if the hooks have
 * not returned by then. */
#define TLW_FINAL_MARGIN_MS 300
/* No deadline: outside Lambda the worker runs until a signal. */
#define TLW_NO_DEADLINE INT64_MAX

typedef struct tlw_supervisor_ops tlw_supervisor_ops;
struct tlw_supervisor_ops {
    void *ctx;
    /* The environment settings are read from (NULL-terminated). */
    char *const *environ;
    /* The Runtime API (see runtime_api.h for what each returns). */
    tlw_status (*next)(void *ctx, tlw_invocation *inv, tlw_error *err);
    tlw_status (*respond)(void *ctx, const char *request_id, const char *body, size_t len,
                          tlw_error *err);
    tlw_status (*invocation_error)(void *ctx, const char *request_id, const char *error_type,
                                   const char *message, tlw_error *err);
    tlw_status (*init_error)(void *ctx, const char *error_type, const char *message,
                             tlw_error *err);
    /* Wall clock, epoch ms: deadlines are in it. */
    int64_t (*now_ms)(void *ctx);
    /* Forks a child that runs `spec` (the default forks and runs slot_main)
     * and returns its pid, or -1 with `err` set. In the child, every
     * descriptor in close_fds[0..n) must be closed first. */
    pid_t (*spawn)(const tlw_supervisor_ops *ops, const tlw_slot_spec *spec,
                   const int *close_fds, size_t n, tlw_error *err);
    /* Forks the executor zygote (worker/zygote.h; the default forks and runs
     * zygote_main) keeping stdio and `keep_fds`, and returns its pid and in
     * *control the supervisor's end of its control channel, or -1 with
     * `err` set. NULL: no zygote (the slots fork their executors). */
    pid_t (*spawn_zygote)(const tlw_supervisor_ops *ops, const tlw_config *cfg,
                          const tlw_fd_set *keep_fds, int *control, tlw_error *err);
    /* A task whose process died before it was reported, or whose slot could
     * not report it: fail it now so it is retried without waiting for a
     * server timeout, by `report_by_ms` (epoch ms). Returns the pid of a
     * process doing that (the invocation waits for it, until its final
     * moment), or -1. */
    pid_t (*recover_task)(const tlw_supervisor_ops *ops, const tlw_config *cfg,
                          const char *identity, const tlw_ipc_task_begin *task,
                          const char *reason, int64_t report_by_ms);

    /* The worker side, run in the children the default spawn and
     * recover_task fork: */
    /* a slot's life; returns its exit status */
    int (*slot_main)(const tlw_slot_spec *spec);
    /* the executor zygote's life; returns its exit status */
    int (*zygote_main)(int control, const tlw_config *cfg, const tlw_fd_set *keep_fds,
                       pid_t parent);
    /* a recovery reporter's one job; returns its exit status */
    int (*report_task)(const tlw_config *cfg, const char *identity,
                       const tlw_ipc_task_begin *task, const char *reason, int64_t report_by_ms);
    /* whether a slot of this kind connects to the server (it must reach it
     * within TLW_CONNECT_WINDOW_MS); NULL: none does */
    bool (*slot_polls)(tlw_ipc_slot_kind kind, const tlw_config *cfg);
    /* Loads, once at start-up, what the slots will need and the supervisor
     * itself does not (worker/plugins.h), so that each slot does not load it
     * again; an error fails the start-up. NULL: nothing to load. */
    tlw_status (*preload)(const tlw_config *cfg, tlw_error *err);

    /* OpenTelemetry (supervisor/telemetry.h): the registry the children's
     * metrics are merged into for the life of the process (NULL: none), the
     * spans waiting for export, and what the exporter process runs (NULL:
     * no export; its exit status says which part failed). */
    tlw_metrics *metrics;
    tlw_spans *spans;
    int (*otel_export)(const tlw_config *cfg, const tlw_metrics *metrics, const tlw_spans *spans,
                       int64_t export_by_ms);
};

/* The ops of a real bootstrap: the Runtime API client, the real clock, fork.
 * The caller sets environ, slot_main, zygote_main, report_task, slot_polls
 * and preload. */
void tlw_supervisor_default_ops(tlw_supervisor_ops *ops, tlw_runtime_api *api);

/* What one invocation did, posted as the response body (JSON). */
typedef struct tlw_invocation_summary {
    unsigned slots[3];                   /* by tlw_ipc_slot_kind */
    uint64_t tasks[3][6];                /* by task kind, by tlw_ipc_outcome */
    unsigned crashes;                    /* children that died unexpectedly */
    unsigned restarts;
    unsigned recovered_tasks;            /* handed to recover_task */
    unsigned unreported_tasks;           /* TASK_END said the server was not told */
    unsigned killed;                     /* children killed at the hard stop */
    unsigned ready;                      /* READY messages */
    int64_t work_window_ms;
    int64_t drain_ms;                    /* DRAIN sent -> last child gone */
    bool drained_by_signal;
    bool responded; /* the hooks overran and the watchdog posted the response */
} tlw_invocation_summary;

/*
 * Runs one invocation with `configure` and returns once every child is gone
 * and the shutdown hooks ran. Under Lambda, the caller posts the response;
 * `inv->deadline_ms` may be TLW_NO_DEADLINE (then SIGINT/SIGTERM drain).
 * Fails (without forking) when configure() or the settings fail or the work
 * window is too short, and after the fact when no slot could reach the
 * Temporal server (within TLW_CONNECT_WINDOW_MS, or the work window if
 * shorter); `err` then says why and *error_type names the kind
 * ("Tlw.ConfigError", "Tlw.DeadlineTooShort", "Tlw.SetupError",
 * "Tlw.SpawnError", "Tlw.ConnectError").
 *
 * Timers are taken from the invocation's deadline and the current time,
 * whatever happened between invocations: DRAIN at deadline -
 * shutdown_deadline_buffer_ms, the hard stop (SIGKILL to every slot's
 * process group) graceful_shutdown_timeout_ms later, and the final moment
 * at deadline - TLW_FINAL_MARGIN_MS.
 */
tlw_status tlw_supervisor_run_invocation(const tlw_supervisor_ops *ops,
                                         const tlw_version *version, tlw_configure_fn configure,
                                         const tlw_invocation *inv,
                                         tlw_invocation_summary *summary,
                                         const char **error_type, tlw_error *err);

/* The summary as a JSON document (heap, caller frees). */
char *tlw_invocation_summary_json(const tlw_invocation *inv, const tlw_invocation_summary *s);

/*
 * The Lambda loop: check the settings once (an error is posted as an init
 * error, and the process exits 1), then GET next -> run -> POST response or
 * error, until the Runtime API is gone. A bad answer to GET next that names
 * its invocation is failed with "Tlw.BadInvocation" without running it;
 * after 10 bad answers in a row that name none, the loop gives up. Returns
 * the exit status.
 */
int tlw_supervisor_serve(const tlw_supervisor_ops *ops, const tlw_version *version,
                         tlw_configure_fn configure);

/* Outside Lambda: one long "invocation" without a deadline, drained by
 * SIGINT or SIGTERM. Returns the exit status. */
int tlw_supervisor_run_standalone(const tlw_supervisor_ops *ops, const tlw_version *version,
                                  tlw_configure_fn configure);

#endif
