#include "config.h"

#include "supervisor/supervisor.h"

#include <ev.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/proc.h"
#include "supervisor/telemetry.h"

/* ---- the default ops ---------------------------------------------------- */

static tlw_status api_next(void *ctx, tlw_invocation *inv, tlw_error *err)
{
    return tlw_runtime_api_next(ctx, inv, err);
}

static tlw_status api_respond(void *ctx, const char *request_id, const char *body, size_t len,
                              tlw_error *err)
{
    return tlw_runtime_api_respond(ctx, request_id, body, len, err);
}

static tlw_status api_invocation_error(void *ctx, const char *request_id, const char *error_type,
                                       const char *message, tlw_error *err)
{
    return tlw_runtime_api_invocation_error(ctx, request_id, error_type, message, err);
}

static tlw_status api_init_error(void *ctx, const char *error_type, const char *message,
                                 tlw_error *err)
{
    return tlw_runtime_api_init_error(ctx, error_type, message, err);
}

static int64_t wall_now_ms(void *ctx)
{
    return tlw_wall_ms();
}

/* The child starts clean: no inherited signal handling from the loop, no
 * descriptor but its channel, stdio and what the user's configure() and
 * setups opened (not the Runtime API connection, the loop's descriptors or
 * another slot's channel), and in a process group of its own, so that the
 * hard stop kills it with everything it started. */
static pid_t fork_slot(const tlw_supervisor_ops *ops, const tlw_slot_spec *spec,
                       const int *close_fds, size_t n, tlw_error *err)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        tlw_error_set(err, TLW_ERR_IO, "cannot fork a %s slot: %s",
                      tlw_ipc_slot_kind_name(spec->kind), strerror(errno));
        return -1;
    }
    if (pid > 0) {
        setpgid(pid, pid); /* also in the child: whichever runs first */
        return pid;
    }
    setpgid(0, 0);
    for (size_t i = 0; i < n; i++)
        close(close_fds[i]);
    /* An activity slot keeps its channel to the executor zygote too. */
    tlw_fd_set keep = {0};
    if (spec->zygote_fd >= 0 && tlw_fd_set_with(spec->keep_fds, spec->zygote_fd, &keep, NULL) ==
                                    TLW_OK)
        tlw_close_fds_except(&keep, spec->fd);
    else
        tlw_close_fds_except(spec->keep_fds, spec->fd);
    tlw_fd_set_free(&keep);
    tlw_reset_signals();
    int rc = ops->slot_main(spec);
    fflush(NULL);
    _exit(rc);
}

/* The supervisor never touches gRPC: a short-lived reporter process fails
 * the dead worker's task. */
static pid_t fork_reporter(const tlw_supervisor_ops *ops, const tlw_config *cfg,
                           const char *identity, const tlw_ipc_task_begin *task,
                           const char *reason, int64_t report_by_ms)
{
    tlw_log_warn("recovering %s task %s (attempt %u): its worker %s",
                 tlw_ipc_task_kind_name(task->kind), task->type_name, task->attempt, reason);
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0) {
        if (pid < 0)
            tlw_log_error("cannot fork a recovery reporter: %s", strerror(errno));
        else
            setpgid(pid, pid);
        return pid;
    }
    setpgid(0, 0);
    tlw_close_fds_except(NULL, -1);
    tlw_reset_signals();
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    int rc = ops->report_task(cfg, identity, task, reason, report_by_ms);
    fflush(NULL);
    _exit(rc);
}

/* The executor zygote (worker/zygote.h): in the supervisor's process group
 * (it ignores SIGINT and SIGTERM, and dies with the supervisor), with
 * default signal handling; it closes what it must not hold itself. */
static pid_t fork_zygote(const tlw_supervisor_ops *ops, const tlw_config *cfg,
                         const tlw_fd_set *keep_fds, int *control, tlw_error *err)
{
    if (!ops->zygote_main) {
        tlw_error_set(err, TLW_ERR_INTERNAL, "no zygote_main to run");
        return -1;
    }
    int fds[2];
    if (tlw_ipc_pair(fds, err) != TLW_OK)
        return -1;
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        tlw_reset_signals();
        int rc = ops->zygote_main(fds[1], cfg, keep_fds, parent);
        fflush(NULL);
        _exit(rc);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        tlw_error_set(err, TLW_ERR_IO, "cannot fork the executor zygote: %s", strerror(errno));
        return -1;
    }
    *control = fds[0];
    return pid;
}

void tlw_supervisor_default_ops(tlw_supervisor_ops *ops, tlw_runtime_api *api)
{
    *ops = (tlw_supervisor_ops){
        .ctx = api,
        .next = api_next,
        .respond = api_respond,
        .invocation_error = api_invocation_error,
        .init_error = api_init_error,
        .now_ms = wall_now_ms,
        .spawn = fork_slot,
        .spawn_zygote = fork_zygote,
        .recover_task = fork_reporter,
    };
}

/* ---- the executor zygote ------------------------------------------------- */

/*
 * The zygote the activity slots' executors come from (worker/zygote.h): one
 * per function, forked at start-up before anything heavy is loaded and kept
 * across invocations; or, when the configuration has invocation setups
 * (whose resources executors must inherit), one per invocation, forked after
 * the setups and ended with the invocation. Gone (crashed, killed), it is
 * replaced at the next invocation's start; meanwhile the slots fork their
 * executors themselves.
 */
struct zygote {
    pid_t pid;   /* 0: none */
    int control; /* our end of its control channel; -1: none, or broken */
    bool started; /* one was started before: a new one replaces it */
    ev_child watcher;
};

/* Whether `cfg` has executors forked from a zygote. */
static bool wants_zygote(const tlw_supervisor_ops *ops, const tlw_config *cfg)
{
    const tlw_worker_settings *w = &cfg->settings.worker;
    return ops->spawn_zygote && w->isolation.value == TLW_ISOLATION_FORK &&
           w->executor_zygote.value && ops->slot_polls &&
           ops->slot_polls(TLW_IPC_SLOT_ACTIVITY, cfg);
}

static bool has_setups(const tlw_config *cfg)
{
    for (size_t i = 0; i < cfg->invocation_hook_count; i++)
        if (cfg->invocation_hooks[i].setup)
            return true;
    return false;
}

/* It died while the loop ran (the loop reaped it). */
static void zygote_exit_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    struct zygote *z = w->data;
    ev_child_stop(loop, w);
    char how[96];
    tlw_describe_wait_status(w->rstatus, how, sizeof how);
    tlw_log_warn("the executor zygote (pid %d) %s; the slots fork their executors until the "
                 "next invocation starts a new one",
                 (int)z->pid, how);
    if (z->control >= 0)
        close(z->control);
    z->control = -1;
    z->pid = 0;
}

/* Ends the zygote (if the loop has not reaped it already) and reaps it;
 * `how` gets how it ended, if it did on its own. */
static void zygote_end(struct zygote *z, char *how, size_t how_size)
{
    if (how_size)
        how[0] = '\0';
    if (z->control >= 0)
        close(z->control);
    z->control = -1;
    if (z->pid <= 0)
        return;
    ev_child_stop(ev_default_loop(0), &z->watcher);
    /* Not reaped yet (the loop reaps only while it runs, and then calls
     * zygote_exit_cb): the pid is still the zygote's. */
    int status;
    pid_t r = waitpid(z->pid, &status, WNOHANG);
    if (r == z->pid && how_size)
        tlw_describe_wait_status(status, how, how_size);
    if (r == 0) {
        kill(z->pid, SIGKILL);
        while (waitpid(z->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    z->pid = 0;
}

/* Whether the zygote is there: it never writes on its control channel, so
 * a readable one has hung up. */
static bool zygote_alive(const struct zygote *z)
{
    if (z->pid <= 0 || z->control < 0)
        return false;
    struct pollfd p = {.fd = z->control, .events = POLLIN};
    return poll(&p, 1, 0) == 0;
}

/* Forks a zygote that keeps `keep_fds` and runs what `cfg` registered. On
 * failure the slots fork their executors (logged). */
static void zygote_start(const tlw_supervisor_ops *ops, struct zygote *z, const tlw_config *cfg,
                         const tlw_fd_set *keep_fds)
{
    tlw_error err;
    int control = -1;
    pid_t pid = ops->spawn_zygote(ops, cfg, keep_fds, &control, &err);
    if (pid < 0) {
        tlw_log_warn("%s; the slots fork their executors", err.message);
        return;
    }
    z->pid = pid;
    z->control = control;
    z->started = true;
    ev_child_init(&z->watcher, zygote_exit_cb, pid, 0);
    z->watcher.data = z;
    ev_child_start(ev_default_loop(0), &z->watcher);
    tlw_log_debug("started the executor zygote (pid %d)", (int)pid);
}

/* Makes sure the function's zygote runs at an invocation's start: a dead
 * one is replaced (from here: the supervisor is single-threaded now). */
static void zygote_ensure(const tlw_supervisor_ops *ops, struct zygote *z, const tlw_config *cfg,
                          const tlw_fd_set *keep_fds)
{
    if (zygote_alive(z))
        return;
    if (z->started) {
        pid_t old = z->pid;
        char how[96];
        zygote_end(z, how, sizeof how);
        if (old > 0)
            tlw_log_warn("the executor zygote (pid %d) is gone%s%s; starting a new one",
                         (int)old, how[0] ? ": it " : "", how);
        else
            tlw_log_warn("starting a new executor zygote");
    }
    zygote_start(ops, z, cfg, keep_fds);
}

/* A channel for an activity slot to the zygote: the zygote gets one end,
 * the slot the other (returned; -1: none, the slot forks its executors). */
static int zygote_channel(struct zygote *z)
{
    if (!z || z->pid <= 0 || z->control < 0)
        return -1;
    int fds[2];
    if (tlw_ipc_pair(fds, NULL) != TLW_OK)
        return -1;
    static const char one = 1;
    bool sent = tlw_ipc_send_fd(z->control, &one, 1, fds[0]);
    close(fds[0]);
    if (sent)
        return fds[1];
    close(fds[1]);
    tlw_log_warn("the executor zygote (pid %d) does not take a slot's channel: %s; killing it, "
                 "the slots fork their executors",
                 (int)z->pid, strerror(errno));
    /* Not reaped yet (z->pid is cleared when it is); the loop reaps it. */
    kill(z->pid, SIGKILL);
    close(z->control);
    z->control = -1;
    return -1;
}

/* ---- one invocation ------------------------------------------------------ */

/* Messages read from one child per wakeup of the loop: a child that writes
 * without pause must not keep the loop from its timers. */
#define MESSAGES_PER_WAKEUP 32
/* Outside Lambda there is no deadline: recovery reporters get this long
 * after the hard stop. */
#define STANDALONE_REPORT_MS 10000

struct run;

struct child {
    struct run *run;
    tlw_ipc_slot_kind kind;
    unsigned index;
    pid_t pid;
    int fd; /* the supervisor's end; -1 when closed */
    bool alive;
    bool polls; /* it connects to the server (see tlw_slot_polls) */
    bool ready; /* it sent READY since it was (re)started */
    unsigned restarts;
    bool has_task;
    tlw_ipc_task_begin task;
    ev_io io;
    ev_child exit_watcher;
};

struct run {
    struct ev_loop *loop;
    const tlw_supervisor_ops *ops;
    const tlw_config *cfg;
    const tlw_invocation *inv;
    char identity[512];
    const tlw_fd_set *keep_fds;
    struct zygote *zygote; /* where activity slots' executors come from; NULL: none */
    struct child *children;
    size_t child_count;
    size_t alive;
    bool draining;
    bool finished; /* the final timer fired: nothing more is started */
    int64_t started_ms;
    int64_t drain_at_ms;    /* epoch ms, or TLW_NO_DEADLINE */
    int64_t final_at_ms;    /* epoch ms, or TLW_NO_DEADLINE until the drain */
    int64_t drain_started_ms;
    ev_timer drain_timer;
    ev_timer hard_timer;
    ev_timer final_timer;
    ev_timer connect_timer;
    ev_signal sigint_watcher;
    ev_signal sigterm_watcher;
    /* Reaching the server: polling slots, whether one got there, and why
     * they did not. */
    unsigned polling_slots;
    bool connected;
    bool connect_failed;
    char connect_error[TLW_IPC_FATAL_MESSAGE_MAX];
    tlw_invocation_summary *summary;
    struct reporter *reporters; /* recovery processes still running */
};

struct reporter {
    struct run *run;
    pid_t pid;
    ev_child watcher;
    struct reporter *next;
};

static const char *child_name(const struct child *c, char out[32])
{
    snprintf(out, 32, "%s-%u", tlw_ipc_slot_kind_name(c->kind), c->index);
    return out;
}

/*
 * Starts `w` to fire at `at_ms` (epoch ms). libev measures a relative timer
 * from its cached time, which is as old as the loop's last wakeup: after a
 * pause between invocations (or a Lambda freeze) it is seconds stale, and a
 * timer set from it fires at once. So refresh it, and take the interval from
 * the wall clock that the deadline is in.
 */
static void arm_at(struct run *run, ev_timer *w, int64_t at_ms)
{
    ev_timer_stop(run->loop, w);
    ev_now_update(run->loop);
    int64_t in_ms = at_ms - run->ops->now_ms(run->ops->ctx);
    ev_timer_set(w, in_ms > 0 ? (double)in_ms / 1000.0 : 0., 0.);
    ev_timer_start(run->loop, w);
}

static void child_io_cb(struct ev_loop *loop, ev_io *w, int revents);

static void reporter_exit_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    struct reporter *r = w->data;
    struct run *run = r->run;
    ev_child_stop(loop, w);
    for (struct reporter **p = &run->reporters; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    free(r);
    if (--run->alive == 0)
        ev_break(loop, EVBREAK_ALL);
}

static void recover(struct run *run, const tlw_ipc_task_begin *task, const char *how)
{
    run->summary->recovered_tasks++;
    int64_t report_by = run->final_at_ms;
    if (report_by == TLW_NO_DEADLINE)
        report_by = run->ops->now_ms(run->ops->ctx) + STANDALONE_REPORT_MS;
    if (run->finished) {
        tlw_log_error("no time left to recover %s task %s (its worker %s); the server retries "
                      "it after its timeout",
                      tlw_ipc_task_kind_name(task->kind), task->type_name, how);
        return;
    }
    pid_t pid = run->ops->recover_task(run->ops, run->cfg, run->identity, task, how, report_by);
    if (pid <= 0)
        return;
    struct reporter *r = calloc(1, sizeof *r);
    if (!r) {
        tlw_kill_group(pid); /* nobody would watch it */
        return;
    }
    r->run = run;
    r->pid = pid;
    ev_child_init(&r->watcher, reporter_exit_cb, pid, 0);
    r->watcher.data = r;
    ev_child_start(run->loop, &r->watcher);
    r->next = run->reporters;
    run->reporters = r;
    run->alive++;
}
static void child_exit_cb(struct ev_loop *loop, ev_child *w, int revents);

/* Forks `c` (again, for a restart). */
static tlw_status start_child(struct run *run, struct child *c, tlw_error *err)
{
    int fds[2];
    tlw_status st = tlw_ipc_pair(fds, err);
    if (st)
        return st;
    /* The child closes every supervisor end, its own included. */
    int close_fds[2 * TLW_MAX_SLOTS + 2];
    size_t n = 0;
    for (size_t i = 0; i < run->child_count; i++)
        if (run->children[i].fd >= 0)
            close_fds[n++] = run->children[i].fd;
    close_fds[n++] = fds[0];
    int zygote_fd = c->kind == TLW_IPC_SLOT_ACTIVITY ? zygote_channel(run->zygote) : -1;
    if (run->zygote && run->zygote->control >= 0)
        close_fds[n++] = run->zygote->control;

    tlw_slot_spec spec = {
        .kind = c->kind,
        .index = c->index,
        .fd = fds[1],
        .config = run->cfg,
        .identity = run->identity,
        .deadline_ms = run->inv->deadline_ms,
        .trace_id = run->inv->trace_id,
        .keep_fds = run->keep_fds,
        .arrived_ms = run->started_ms,
        .zygote_fd = zygote_fd,
    };
    pid_t pid = run->ops->spawn(run->ops, &spec, close_fds, n, err);
    close(fds[1]);
    if (zygote_fd >= 0)
        close(zygote_fd);
    if (pid < 0) {
        close(fds[0]);
        return err ? err->status : TLW_ERR_IO;
    }
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    c->pid = pid;
    c->fd = fds[0];
    c->alive = true;
    c->ready = false;
    c->has_task = false;
    run->alive++;
    ev_io_init(&c->io, child_io_cb, c->fd, EV_READ);
    c->io.data = c;
    ev_io_start(run->loop, &c->io);
    ev_child_init(&c->exit_watcher, child_exit_cb, pid, 0);
    c->exit_watcher.data = c;
    ev_child_start(run->loop, &c->exit_watcher);
    tlw_log_debug("started %s-%u (pid %d)", tlw_ipc_slot_kind_name(c->kind), c->index, (int)pid);
    return TLW_OK;
}

static void start_drain(struct run *run, const char *why);

/* No polling slot reached the server: end the invocation now, as an error
 * that says why, rather than idle to the drain and report success. The
 * slots that never connected have no task: kill them. */
static void fail_connect(struct run *run, const char *why)
{
    if (run->connect_failed || run->connected)
        return;
    run->connect_failed = true;
    ev_timer_stop(run->loop, &run->connect_timer);
    for (size_t i = 0; i < run->child_count; i++) {
        struct child *c = &run->children[i];
        if (c->alive && c->polls && !c->ready && !c->has_task)
            tlw_kill_group(c->pid);
    }
    start_drain(run, why);
}

static void connect_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    fail_connect(w->data, "no worker reached the Temporal server in time");
}

/* Fails the invocation once every polling slot has given up without ever
 * reaching the server. */
static void check_connect(struct run *run)
{
    if (run->connected || run->connect_failed || run->polling_slots == 0)
        return;
    for (size_t i = 0; i < run->child_count; i++)
        if (run->children[i].polls && run->children[i].alive)
            return;
    fail_connect(run, "every worker failed to reach the Temporal server");
}

static void handle_message(struct child *c, const tlw_ipc_msg *msg)
{
    struct run *run = c->run;
    tlw_invocation_summary *s = run->summary;
    char name[32];
    switch (msg->type) {
    case TLW_IPC_READY:
        c->ready = true;
        if (c->polls && !run->connected) {
            run->connected = true;
            ev_timer_stop(run->loop, &run->connect_timer);
        }
        if (++s->ready == run->child_count)
            tlw_log_info("all %zu workers ready %lld ms after the invocation arrived",
                         run->child_count,
                         (long long)(run->ops->now_ms(run->ops->ctx) - run->started_ms));
        break;
    case TLW_IPC_TASK_BEGIN:
        c->task = msg->task_begin;
        c->has_task = true;
        break;
    case TLW_IPC_TASK_END:
        c->has_task = false;
        if ((unsigned)msg->task_end.kind < 3 && (unsigned)msg->task_end.outcome < 6)
            s->tasks[msg->task_end.kind][msg->task_end.outcome]++;
        if (!msg->task_end.reported) {
            /* The slot could not tell the server: the recovery path does. */
            tlw_ipc_task_begin task = c->task;
            task.task_token_len = msg->task_end.task_token_len;
            memcpy(task.task_token, msg->task_end.task_token, msg->task_end.task_token_len);
            s->unreported_tasks++;
            recover(run, &task, "could not report the task's result to the server");
        }
        break;
    case TLW_IPC_METRICS: tlw_telemetry_child_metrics(run->ops, &msg->metrics); break;
    case TLW_IPC_SPAN: tlw_telemetry_child_span(run->ops, &msg->span); break;
    case TLW_IPC_FATAL:
        tlw_log_error("%s: %s", child_name(c, name), msg->fatal.message);
        if (c->polls && !run->connected)
            snprintf(run->connect_error, sizeof run->connect_error, "%s", msg->fatal.message);
        break;
    default:
        break;
    }
}

/* Reads up to `limit` messages, fewer if there are no more now. False once
 * the channel is closed or broken. */
static bool read_messages(struct child *c, unsigned limit)
{
    char name[32];
    for (unsigned n = 0; n < limit; n++) {
        tlw_ipc_msg msg;
        tlw_error err;
        tlw_status st = tlw_ipc_recv(c->fd, &msg, &err);
        if (st == TLW_OK && msg.type == TLW_IPC_NONE)
            return true;
        if (st == TLW_OK) {
            handle_message(c, &msg);
            continue;
        }
        if (st == TLW_ERR_PROTOCOL) {
            tlw_log_error("%s sent a malformed message: %s", child_name(c, name), err.message);
            continue;
        }
        return false; /* end of file or a broken socket */
    }
    return true;
}

static void child_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct child *c = w->data;
    if (!read_messages(c, MESSAGES_PER_WAKEUP))
        ev_io_stop(loop, w); /* the exit watcher takes it from here */
}

static void send_drain(struct run *run, struct child *c, int64_t now, int64_t hard_stop)
{
    tlw_ipc_msg msg = {.type = TLW_IPC_DRAIN};
    msg.drain.drain_deadline_ms = now;
    msg.drain.hard_stop_deadline_ms = hard_stop;
    tlw_error err;
    char name[32];
    if (tlw_ipc_send(c->fd, &msg, &err) != TLW_OK)
        tlw_log_debug("DRAIN to %s: %s", child_name(c, name), err.message);
}

static void kill_children(struct run *run, const char *why)
{
    char name[32];
    for (size_t i = 0; i < run->child_count; i++) {
        struct child *c = &run->children[i];
        if (!c->alive)
            continue;
        tlw_log_warn("%s (pid %d) %s; killing it", child_name(c, name), (int)c->pid, why);
        tlw_kill_group(c->pid);
        run->summary->killed++;
    }
}

static void hard_stop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    kill_children(w->data, "did not finish within the graceful shutdown timeout");
}

/* The last moment to leave the loop and still answer before the deadline:
 * whatever still runs (a slot, a late recovery reporter) is killed and the
 * loop ends without waiting for it. */
static void final_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct run *run = w->data;
    run->finished = true;
    kill_children(run, "still runs at the invocation's final moment");
    for (struct reporter *r = run->reporters; r; r = r->next) {
        tlw_log_warn("recovery reporter (pid %d) still runs at the invocation's final moment; "
                     "killing it",
                     (int)r->pid);
        tlw_kill_group(r->pid);
    }
    ev_break(loop, EVBREAK_ALL);
}

static void start_drain(struct run *run, const char *why)
{
    if (run->draining)
        return;
    run->draining = true;
    int64_t now = run->ops->now_ms(run->ops->ctx);
    run->drain_started_ms = now;
    int64_t graceful = run->cfg->settings.worker.graceful_shutdown_timeout_ms.value;
    int64_t hard_stop = now + graceful;
    if (run->final_at_ms == TLW_NO_DEADLINE) {
        run->final_at_ms = hard_stop + STANDALONE_REPORT_MS;
        arm_at(run, &run->final_timer, run->final_at_ms);
    }
    if (hard_stop > run->final_at_ms)
        hard_stop = run->final_at_ms;
    tlw_log_info("draining (%s): %zu worker(s), graceful timeout %lld ms", why, run->alive,
                 (long long)graceful);
    for (size_t i = 0; i < run->child_count; i++)
        if (run->children[i].alive)
            send_drain(run, &run->children[i], now, hard_stop);
    ev_timer_stop(run->loop, &run->drain_timer);
    ev_timer_stop(run->loop, &run->connect_timer);
    arm_at(run, &run->hard_timer, hard_stop);
}

static void drain_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    start_drain(w->data, "the invocation deadline approaches");
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct run *run = w->data;
    run->summary->drained_by_signal = true;
    start_drain(run, w->signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void child_exit_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    struct child *c = w->data;
    struct run *run = c->run;
    char name[32];
    ev_child_stop(loop, w);
    ev_io_stop(loop, &c->io);
    /* Read what it said before it died (TASK_END, STATS); bounded, since a
     * process it left behind could still be writing. */
    read_messages(c, 64 * MESSAGES_PER_WAKEUP);
    close(c->fd);
    c->fd = -1;
    c->alive = false;
    run->alive--;

    char how[96];
    tlw_describe_wait_status(w->rstatus, how, sizeof how);
    bool clean = WIFEXITED(w->rstatus) && WEXITSTATUS(w->rstatus) == 0;
    if (c->has_task) {
        recover(run, &c->task, how);
        if ((unsigned)c->task.kind < 3)
            run->summary->tasks[c->task.kind][TLW_IPC_OUTCOME_CRASHED]++;
        c->has_task = false;
    }

    if (!run->draining) {
        run->summary->crashes++;
        int64_t left = run->drain_at_ms - run->ops->now_ms(run->ops->ctx);
        if (c->restarts < TLW_MAX_RESTARTS_PER_SLOT && left > TLW_MIN_WORK_WINDOW_MS) {
            tlw_log_warn("%s (pid %d) %s before the drain; restarting it", child_name(c, name),
                         (int)c->pid, how);
            c->restarts++;
            run->summary->restarts++;
            tlw_error err;
            if (start_child(run, c, &err) == TLW_OK)
                return;
            tlw_log_error("cannot restart %s: %s", child_name(c, name), err.message);
        } else {
            tlw_log_error("%s (pid %d) %s; not restarting it (%u restarts, %lld ms left)",
                          child_name(c, name), (int)c->pid, how, c->restarts, (long long)left);
        }
        check_connect(run);
    } else if (!clean) {
        tlw_log_warn("%s (pid %d) %s while draining", child_name(c, name), (int)c->pid, how);
    }
    if (run->alive == 0)
        ev_break(loop, EVBREAK_ALL);
}

/* Stops every watcher of the run (they point into it) and kills what the
 * final timer left running; the loop reaps the zombies later. */
static void close_run(struct run *run)
{
    ev_timer_stop(run->loop, &run->drain_timer);
    ev_timer_stop(run->loop, &run->hard_timer);
    ev_timer_stop(run->loop, &run->final_timer);
    ev_timer_stop(run->loop, &run->connect_timer);
    ev_signal_stop(run->loop, &run->sigint_watcher);
    ev_signal_stop(run->loop, &run->sigterm_watcher);
    for (size_t i = 0; i < run->child_count; i++) {
        struct child *c = &run->children[i];
        if (!c->alive)
            continue;
        tlw_kill_group(c->pid);
        ev_child_stop(run->loop, &c->exit_watcher);
        ev_io_stop(run->loop, &c->io);
        close(c->fd);
        c->fd = -1;
        c->alive = false;
    }
    while (run->reporters) {
        struct reporter *r = run->reporters;
        tlw_kill_group(r->pid);
        ev_child_stop(run->loop, &r->watcher);
        run->reporters = r->next;
        free(r);
    }
    /* A process an activity started and left behind (its executor died, so
     * it became our child: the supervisor is a subreaper). */
    pid_t zygote = run->zygote ? run->zygote->pid : 0;
    unsigned strays = tlw_kill_stray_children(&zygote, zygote > 0 ? 1 : 0);
    if (strays)
        tlw_log_debug("killed %u process(es) left behind by this invocation", strays);
}

/* A shutdown hook or teardown that overruns must not make the invocation
 * miss its deadline: a watchdog thread posts the response on time if the
 * hooks have not finished by then. */
struct watchdog {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    bool fired;
    const tlw_supervisor_ops *ops;
    const tlw_invocation *inv;
    char *body;
    int64_t fire_at_ms;
    pthread_t thread;
};

static void *watchdog_main(void *arg)
{
    struct watchdog *wd = arg;
    pthread_mutex_lock(&wd->mu);
    while (!wd->done) {
        int64_t now = wd->ops->now_ms(wd->ops->ctx);
        if (now >= wd->fire_at_ms)
            break;
        int64_t wake = tlw_wall_ms() + (wd->fire_at_ms - now);
        struct timespec ts = {.tv_sec = wake / 1000, .tv_nsec = (wake % 1000) * 1000000L};
        pthread_cond_timedwait(&wd->cv, &wd->mu, &ts);
    }
    if (wd->done) {
        pthread_mutex_unlock(&wd->mu);
        return NULL;
    }
    wd->fired = true;
    pthread_mutex_unlock(&wd->mu);
    tlw_log_error("the shutdown hooks or invocation teardowns still run %d ms before the "
                  "deadline; answering without waiting for them",
                  TLW_FINAL_MARGIN_MS / 2);
    tlw_error err;
    if (wd->ops->respond(wd->ops->ctx, wd->inv->request_id, wd->body, strlen(wd->body), &err) !=
        TLW_OK)
        tlw_log_error("cannot post the response: %s", err.message);
    return NULL;
}

static void run_shutdown_hooks(const tlw_config *cfg)
{
    for (size_t i = 0; i < cfg->shutdown_hook_count; i++) {
        const tlw_hook *hook = &cfg->shutdown_hooks[i];
        tlw_status st = hook->fn(hook->arg);
        if (st != TLW_OK)
            tlw_log_error("shutdown hook %zu of %zu failed: %s (going on)", i + 1,
                          cfg->shutdown_hook_count, tlw_status_name(st));
    }
}

/* Tears down the first `n` invocation hooks' resources, last first. */
static void run_teardowns(const tlw_config *cfg, size_t n)
{
    while (n-- > 0) {
        const tlw_invocation_hooks *h = &cfg->invocation_hooks[n];
        if (!h->teardown)
            continue;
        tlw_status st = h->teardown(h->arg);
        if (st != TLW_OK)
            tlw_log_error("invocation teardown %zu failed: %s (going on)", n + 1,
                          tlw_status_name(st));
    }
}

/* Runs the shutdown hooks and the teardowns; under a deadline, with the
 * watchdog above. Sets summary->responded if the watchdog answered. */
static void finish_invocation(const tlw_supervisor_ops *ops, const tlw_config *cfg,
                              const tlw_invocation *inv, tlw_invocation_summary *summary,
                              bool succeeded)
{
    struct watchdog wd = {.ops = ops, .inv = inv};
    bool watched = false;
    if (succeeded && inv->deadline_ms != TLW_NO_DEADLINE && ops->respond &&
        (cfg->shutdown_hook_count || cfg->invocation_hook_count)) {
        wd.body = tlw_invocation_summary_json(inv, summary);
        wd.fire_at_ms = inv->deadline_ms - TLW_FINAL_MARGIN_MS / 2;
        pthread_mutex_init(&wd.mu, NULL);
        pthread_cond_init(&wd.cv, NULL);
        watched = wd.body && pthread_create(&wd.thread, NULL, watchdog_main, &wd) == 0;
        if (!watched) {
            pthread_mutex_destroy(&wd.mu);
            pthread_cond_destroy(&wd.cv);
        }
    }
    run_shutdown_hooks(cfg);
    run_teardowns(cfg, cfg->invocation_hook_count);
    if (!watched) {
        free(wd.body);
        return;
    }
    pthread_mutex_lock(&wd.mu);
    wd.done = true;
    pthread_cond_signal(&wd.cv);
    pthread_mutex_unlock(&wd.mu);
    pthread_join(wd.thread, NULL);
    summary->responded = wd.fired;
    pthread_mutex_destroy(&wd.mu);
    pthread_cond_destroy(&wd.cv);
    free(wd.body);
}

/* Runs the setups in order; on a failure tears down those that succeeded. */
static tlw_status run_setups(const tlw_config *cfg, tlw_error *err)
{
    for (size_t i = 0; i < cfg->invocation_hook_count; i++) {
        const tlw_invocation_hooks *h = &cfg->invocation_hooks[i];
        if (!h->setup)
            continue;
        tlw_status st = h->setup(h->arg);
        if (st != TLW_OK) {
            run_teardowns(cfg, i);
            return tlw_error_set(err, st, "invocation setup %zu of %zu failed: %s", i + 1,
                                 cfg->invocation_hook_count, tlw_status_name(st));
        }
    }
    return TLW_OK;
}

/* The descriptors opened since `before` was taken (which it frees) into
 * `out`: what configure() and the setups opened, the user's, which the
 * slots and the executors keep. */
static void opened_since(tlw_fd_set *before, tlw_fd_set *out)
{
    tlw_fd_set after = {0};
    if (tlw_fd_set_open(&after, NULL) == TLW_OK)
        tlw_fd_set_added(before, &after, out, NULL);
    tlw_fd_set_free(before);
    tlw_fd_set_free(&after);
}

/* Loads the settings and runs configure(); the caller frees `cfg`. */
static tlw_status prepare_config(const tlw_supervisor_ops *ops, tlw_config *cfg,
                                 const tlw_version *version, tlw_configure_fn configure,
                                 tlw_error *err)
{
    static char *const no_environment[] = {NULL};
    tlw_status st =
        tlw_config_load(cfg, version, ops->environ ? ops->environ : no_environment, err);
    if (st == TLW_OK)
        st = tlw_config_apply(cfg, configure, err);
    for (size_t i = 0; i < cfg->settings.warning_count; i++)
        tlw_log_warn("%s", cfg->settings.warnings[i]);
    return st;
}

/* One invocation (tlw_supervisor_run_invocation), with the function's
 * executor zygote `function_zygote` (NULL: none). */
static tlw_status run_invocation(const tlw_supervisor_ops *ops, const tlw_version *version,
                                 tlw_configure_fn configure, const tlw_invocation *inv,
                                 struct zygote *function_zygote, tlw_invocation_summary *summary,
                                 const char **error_type, tlw_error *err)
{
    memset(summary, 0, sizeof *summary);
    *error_type = NULL;
    /* Processes that activities leave behind become ours, to be killed. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    /* Descriptors that configure() and the setups open are the user's, for
     * the slots to keep; the rest are the supervisor's own. */
    tlw_fd_set fds_before = {0}, user_fds = {0};
    tlw_fd_set_open(&fds_before, NULL);
    tlw_config cfg;
    tlw_status st = prepare_config(ops, &cfg, version, configure, err);
    if (st) {
        *error_type = "Tlw.ConfigError";
        tlw_config_free(&cfg);
        tlw_fd_set_free(&fds_before);
        return st;
    }
    const tlw_worker_settings *w = &cfg.settings.worker;

    struct run run = {.loop = ev_default_loop(0), .ops = ops, .cfg = &cfg, .inv = inv,
                      .summary = summary, .keep_fds = &user_fds};
    int64_t now = ops->now_ms(ops->ctx);
    run.started_ms = inv->arrived_ms > 0 && inv->arrived_ms <= now ? inv->arrived_ms : now;
    if (inv->deadline_ms == TLW_NO_DEADLINE) {
        run.drain_at_ms = TLW_NO_DEADLINE;
        run.final_at_ms = TLW_NO_DEADLINE;
        summary->work_window_ms = -1;
    } else {
        run.drain_at_ms = inv->deadline_ms - w->shutdown_deadline_buffer_ms.value;
        run.final_at_ms = inv->deadline_ms - TLW_FINAL_MARGIN_MS;
        summary->work_window_ms = run.drain_at_ms - now;
        if (summary->work_window_ms <= TLW_MIN_WORK_WINDOW_MS) {
            *error_type = "Tlw.DeadlineTooShort";
            st = tlw_error_set(err, TLW_ERR_INVALID,
                               "the invocation has %lld ms left, and the shutdown deadline buffer "
                               "takes %lld ms of it, leaving %lld ms to work (at least %d needed); "
                               "raise the function timeout or lower shutdown_deadline_buffer_ms",
                               (long long)(inv->deadline_ms - now),
                               (long long)w->shutdown_deadline_buffer_ms.value,
                               (long long)summary->work_window_ms, TLW_MIN_WORK_WINDOW_MS);
            tlw_config_free(&cfg);
            tlw_fd_set_free(&fds_before);
            return st;
        }
        if (summary->work_window_ms < TLW_WARN_WORK_WINDOW_MS)
            tlw_log_warn("only %lld ms to work before the drain; consider a longer function "
                         "timeout",
                         (long long)summary->work_window_ms);
    }
    if (run_setups(&cfg, err) != TLW_OK) {
        *error_type = "Tlw.SetupError";
        st = err->status;
        tlw_config_free(&cfg);
        tlw_fd_set_free(&fds_before);
        return st;
    }
    opened_since(&fds_before, &user_fds);
    if (w->identity.value)
        snprintf(run.identity, sizeof run.identity, "%s", w->identity.value);
    else
        snprintf(run.identity, sizeof run.identity, "%s@%s", inv->request_id,
                 inv->function_arn && *inv->function_arn ? inv->function_arn : "unknown");

    size_t n_wf = (size_t)w->workflow_slots.value, n_act = (size_t)w->activity_slots.value;
    /* Which kinds reach the server. Slots of a kind with nothing to poll (no
     * workflow registered, say) would only idle: they are not started when
     * the other kind polls. */
    bool polls[3] = {false};
    polls[TLW_IPC_SLOT_WORKFLOW] = ops->slot_polls && ops->slot_polls(TLW_IPC_SLOT_WORKFLOW, &cfg);
    polls[TLW_IPC_SLOT_ACTIVITY] = ops->slot_polls && ops->slot_polls(TLW_IPC_SLOT_ACTIVITY, &cfg);
    if (polls[TLW_IPC_SLOT_WORKFLOW] && !polls[TLW_IPC_SLOT_ACTIVITY])
        n_act = 0;
    if (polls[TLW_IPC_SLOT_ACTIVITY] && !polls[TLW_IPC_SLOT_WORKFLOW])
        n_wf = 0;
    summary->slots[TLW_IPC_SLOT_WORKFLOW] = (unsigned)n_wf;
    summary->slots[TLW_IPC_SLOT_ACTIVITY] = (unsigned)n_act;
    run.child_count = n_wf + n_act;
    run.children = calloc(run.child_count, sizeof *run.children);
    if (!run.children) {
        run_teardowns(&cfg, cfg.invocation_hook_count);
        tlw_config_free(&cfg);
        tlw_fd_set_free(&user_fds);
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory for %zu workers",
                             run.child_count);
    }
    for (size_t i = 0; i < run.child_count; i++) {
        struct child *c = &run.children[i];
        c->run = &run;
        c->fd = -1;
        c->kind = i < n_wf ? TLW_IPC_SLOT_WORKFLOW : TLW_IPC_SLOT_ACTIVITY;
        c->index = (unsigned)(i < n_wf ? i : i - n_wf);
        c->polls = polls[c->kind];
        if (c->polls)
            run.polling_slots++;
    }

    /* Executors come from the function's zygote; with invocation setups,
     * whose resources they must inherit, from one forked now, after them. */
    struct zygote invocation_zygote = {.control = -1};
    if (function_zygote && wants_zygote(ops, &cfg)) {
        if (has_setups(&cfg)) {
            zygote_start(ops, &invocation_zygote, &cfg, &user_fds);
            run.zygote = &invocation_zygote;
        } else {
            zygote_ensure(ops, function_zygote, &cfg, &user_fds);
            run.zygote = function_zygote;
        }
    }
    ev_signal_init(&run.sigint_watcher, signal_cb, SIGINT);
    ev_signal_init(&run.sigterm_watcher, signal_cb, SIGTERM);
    run.sigint_watcher.data = run.sigterm_watcher.data = &run;
    ev_signal_start(run.loop, &run.sigint_watcher);
    ev_signal_start(run.loop, &run.sigterm_watcher);
    ev_init(&run.drain_timer, drain_timer_cb);
    ev_init(&run.hard_timer, hard_stop_cb);
    ev_init(&run.final_timer, final_cb);
    ev_init(&run.connect_timer, connect_timer_cb);
    run.drain_timer.data = run.hard_timer.data = run.final_timer.data =
        run.connect_timer.data = &run;
    if (run.drain_at_ms != TLW_NO_DEADLINE) {
        arm_at(&run, &run.drain_timer, run.drain_at_ms);
        arm_at(&run, &run.final_timer, run.final_at_ms);
    }
    if (run.polling_slots > 0) {
        int64_t connect_by = now + TLW_CONNECT_WINDOW_MS;
        if (connect_by > run.drain_at_ms)
            connect_by = run.drain_at_ms;
        arm_at(&run, &run.connect_timer, connect_by);
    }

    for (size_t i = 0; i < run.child_count; i++) {
        if (start_child(&run, &run.children[i], err) != TLW_OK) {
            tlw_log_error("%s", err->message);
            *error_type = "Tlw.SpawnError";
            st = err->status;
            start_drain(&run, "a worker could not be started");
            break;
        }
    }
    tlw_log_info("%zu workflow and %zu activity worker(s); drain in %lld ms", n_wf, n_act,
                 (long long)summary->work_window_ms);
    if (run.alive > 0)
        ev_run(run.loop, 0);
    if (run.draining)
        summary->drain_ms = ops->now_ms(ops->ctx) - run.drain_started_ms;
    close_run(&run);
    zygote_end(&invocation_zygote, NULL, 0);
    free(run.children);
    tlw_fd_set_free(&user_fds);

    if (run.connect_failed && st == TLW_OK) {
        *error_type = "Tlw.ConnectError";
        st = tlw_error_set(err, TLW_ERR_UNAVAILABLE,
                           "no worker could reach the Temporal server at %s (namespace \"%s\") "
                           "within %lld ms: %s",
                           cfg.settings.client.address.value,
                           cfg.settings.client.namespace_name.value,
                           (long long)(ops->now_ms(ops->ctx) - run.started_ms),
                           run.connect_error[0] ? run.connect_error
                                                : "no answer; check that the server runs and "
                                                  "that the address and TLS settings are right");
    }
    tlw_telemetry_invocation_end(ops, &cfg, inv, summary, run.started_ms,
                                 run.final_at_ms); /* OpenTelemetry */
    finish_invocation(ops, &cfg, inv, summary, st == TLW_OK);
    tlw_config_free(&cfg);
    return st;
}

tlw_status tlw_supervisor_run_invocation(const tlw_supervisor_ops *ops,
                                         const tlw_version *version, tlw_configure_fn configure,
                                         const tlw_invocation *inv,
                                         tlw_invocation_summary *summary,
                                         const char **error_type, tlw_error *err)
{
    return run_invocation(ops, version, configure, inv, NULL, summary, error_type, err);
}

char *tlw_invocation_summary_json(const tlw_invocation *inv, const tlw_invocation_summary *s)
{
    static const char *const outcomes[] = {NULL, "completed", "failed", "canceled", "crashed",
                                           "timed_out"};
    json_t *tasks = json_object();
    for (int kind = TLW_IPC_TASK_WORKFLOW; kind <= TLW_IPC_TASK_ACTIVITY; kind++) {
        json_t *by = json_object();
        for (int o = TLW_IPC_OUTCOME_COMPLETED; o <= TLW_IPC_OUTCOME_TIMED_OUT; o++)
            json_object_set_new(by, outcomes[o], json_integer((json_int_t)s->tasks[kind][o]));
        json_object_set_new(tasks, tlw_ipc_task_kind_name((tlw_ipc_task_kind)kind), by);
    }
    json_t *doc = json_pack(
        "{s:s, s:{s:i, s:i}, s:i, s:o, s:i, s:i, s:i, s:i, s:i, s:I, s:I, s:b}", "request_id",
        inv->request_id ? inv->request_id : "", "slots", "workflow",
        (int)s->slots[TLW_IPC_SLOT_WORKFLOW], "activity", (int)s->slots[TLW_IPC_SLOT_ACTIVITY],
        "ready", (int)s->ready, "tasks", tasks, "crashes", (int)s->crashes, "restarts",
        (int)s->restarts, "recovered_tasks", (int)s->recovered_tasks, "unreported_tasks",
        (int)s->unreported_tasks, "killed", (int)s->killed,
        "work_window_ms", (json_int_t)s->work_window_ms, "drain_ms", (json_int_t)s->drain_ms,
        "drained_by_signal", s->drained_by_signal);
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    return text;
}

/* ---- the loops ----------------------------------------------------------- */

static void setup_logging(const tlw_config *cfg)
{
    tlw_log_setup((tlw_log_level)cfg->settings.worker.log_level.value,
                  (tlw_log_format)cfg->settings.worker.log_format.value);
}

/*
 * The function's start, before its first invocation: check the settings,
 * set up logging from them, and fork the executor zygote now, while the
 * process is small (see worker/zygote.h), keeping what configure() opened.
 * Not when the configuration has invocation setups: each invocation then
 * forks its own after them.
 */
static tlw_status start_up(const tlw_supervisor_ops *ops, const tlw_version *version,
                           tlw_configure_fn configure, struct zygote *z, const char **error_type,
                           tlw_error *err)
{
    *error_type = "Tlw.ConfigError";
    tlw_fd_set fds_before = {0}, user_fds = {0};
    tlw_fd_set_open(&fds_before, NULL);
    tlw_config cfg;
    tlw_status st = prepare_config(ops, &cfg, version, configure, err);
    opened_since(&fds_before, &user_fds);
    if (st == TLW_OK) {
        setup_logging(&cfg);
        if (wants_zygote(ops, &cfg) && !has_setups(&cfg))
            zygote_start(ops, z, &cfg, &user_fds);
    }
    tlw_fd_set_free(&user_fds);
    /* Heavy libraries may be loaded from here on: the zygote does not
     * have them, the slots forked from now on inherit them loaded. */
    if (st == TLW_OK && ops->preload) {
        st = ops->preload(&cfg, err);
        if (st != TLW_OK)
            *error_type = "Tlw.InitError";
    } else if (st != TLW_OK) {
        tlw_error_prefix(err, "invalid settings: ");
    }
    tlw_config_free(&cfg);
    return st;
}

int tlw_supervisor_serve(const tlw_supervisor_ops *ops, const tlw_version *version,
                         tlw_configure_fn configure)
{
    tlw_error err;
    struct zygote zygote = {.control = -1};
    const char *init_error_type;
    tlw_status st = start_up(ops, version, configure, &zygote, &init_error_type, &err);
    if (st) {
        tlw_log_error("%s", err.message);
        tlw_error post_err;
        if (ops->init_error(ops->ctx, init_error_type, err.message, &post_err) != TLW_OK)
            tlw_log_error("cannot report the init error: %s", post_err.message);
        zygote_end(&zygote, NULL, 0);
        return 1;
    }

    unsigned malformed = 0;
    for (;;) {
        tlw_invocation inv = {0};
        st = ops->next(ops->ctx, &inv, &err);
        inv.arrived_ms = ops->now_ms(ops->ctx);
        if (st == TLW_ERR_UNAVAILABLE) {
            tlw_log_error("the Lambda Runtime API is gone, exiting: %s", err.message);
            zygote_end(&zygote, NULL, 0);
            return 1;
        }
        if (st != TLW_OK) {
            /* A bad answer that names its invocation is failed at once:
             * Lambda would otherwise wait for an answer to it until the
             * function times out. Once Lambda has that answer, the bad one
             * does not count towards giving up. */
            bool answered = false;
            if (inv.request_id) {
                tlw_error_prefix(&err, "invocation %s was not run: ", inv.request_id);
                tlw_log_error("bad answer from the Runtime API: %s", err.message);
                tlw_error post_err;
                answered = ops->invocation_error(ops->ctx, inv.request_id, "Tlw.BadInvocation",
                                                 err.message, &post_err) == TLW_OK;
                if (!answered)
                    tlw_log_error("cannot report the invocation error: %s", post_err.message);
            } else {
                tlw_log_error("bad answer from the Runtime API: %s", err.message);
            }
            tlw_invocation_free(&inv);
            if (answered) {
                malformed = 0;
                continue;
            }
            if (++malformed >= 10) {
                tlw_log_error("10 bad answers in a row from the Runtime API; exiting");
                zygote_end(&zygote, NULL, 0);
                return 1;
            }
            continue;
        }
        malformed = 0;
        tlw_log_set_request_id(inv.request_id);

        tlw_invocation_summary summary;
        const char *error_type = NULL;
        st = run_invocation(ops, version, configure, &inv, &zygote, &summary, &error_type, &err);
        tlw_error post_err;
        if (st != TLW_OK) {
            tlw_log_error("invocation failed: %s", err.message);
            if (ops->invocation_error(ops->ctx, inv.request_id,
                                      error_type ? error_type : "Tlw.Error", err.message,
                                      &post_err) != TLW_OK)
                tlw_log_error("cannot report the invocation error: %s", post_err.message);
        } else if (!summary.responded) {
            char *body = tlw_invocation_summary_json(&inv, &summary);
            const char *text = body ? body : "{}";
            if (ops->respond(ops->ctx, inv.request_id, text, strlen(text), &post_err) != TLW_OK)
                tlw_log_error("cannot post the response: %s", post_err.message);
            else
                tlw_log_info("done: %s", text);
            free(body);
        }
        tlw_log_set_request_id(NULL);
        tlw_invocation_free(&inv);
    }
}

int tlw_supervisor_run_standalone(const tlw_supervisor_ops *ops, const tlw_version *version,
                                  tlw_configure_fn configure)
{
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    char request_id[64];
    snprintf(request_id, sizeof request_id, "%d", (int)getpid());
    tlw_invocation inv = {.request_id = request_id, .deadline_ms = TLW_NO_DEADLINE,
                          .function_arn = host};

    tlw_error err;
    struct zygote zygote = {.control = -1};
    const char *init_error_type;
    if (start_up(ops, version, configure, &zygote, &init_error_type, &err) != TLW_OK) {
        tlw_log_error("%s", err.message);
        zygote_end(&zygote, NULL, 0);
        return 1;
    }

    tlw_log_info("running outside Lambda until SIGINT or SIGTERM");
    tlw_invocation_summary summary;
    const char *error_type;
    tlw_status st =
        run_invocation(ops, version, configure, &inv, &zygote, &summary, &error_type, &err);
    zygote_end(&zygote, NULL, 0);
    if (st != TLW_OK) {
        tlw_log_error("%s", err.message);
        return 1;
    }
    char *body = tlw_invocation_summary_json(&inv, &summary);
    tlw_log_info("stopped: %s", body ? body : "{}");
    free(body);
    return 0;
}
