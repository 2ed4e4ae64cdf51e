#include "config.h"

#include "worker/executor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "ipc/ipc.h"
#include "worker/zygote.h"

/* ---- what a return becomes ------------------------------------------------ */

/* The message an activity's return becomes (both sides use it). */
static void outcome_of_return(tlw_activity *act, tlw_status st, json_t *result,
                              tlw_executor_result *out)
{
    if (st == TLW_OK) {
        out->ran = TLW_RAN_RESULT;
        out->result = result ? result : json_null();
        return;
    }
    json_decref(result);
    if (st == TLW_ERR_CANCELLED && tlw_activity_is_cancelled(act)) {
        out->ran = TLW_RAN_CANCELLED;
        return;
    }
    if (!act->failed)
        tlw_activity_fail(act, "tlw.ActivityError", 0, NULL,
                          "the activity returned \"%s\" without tlw_activity_fail()",
                          tlw_status_name(st));
    out->ran = TLW_RAN_FAILURE;
    snprintf(out->failure_type, sizeof out->failure_type, "%s", act->fail_type);
    snprintf(out->failure_message, sizeof out->failure_message, "%s", act->fail_message);
    out->non_retryable = act->non_retryable;
    out->failure_details = act->fail_details ? json_incref(act->fail_details) : json_array();
}

void tlw_executor_result_free(tlw_executor_result *r)
{
    json_decref(r->result);
    json_decref(r->failure_details);
    r->result = r->failure_details = NULL;
}

/* ---- the executor's side ----------------------------------------------------- */

/* exit() in user code must end the executor with the user's status, before
 * the atexit handlers of libraries (gRPC's among them), which are not safe
 * in a forked child. Registered last, it runs first. */
static void exit_now(int status, void *arg)
{
    (void)arg;
    fflush(NULL); /* the activity's own stdout lines reach the log */
    _exit(status);
}

/* Sends what the function's return became to the slot. */
static bool report(int fd, const tlw_executor_result *r)
{
    tlw_ipc_exec_msg msg = {0};
    char *json = NULL;
    switch (r->ran) {
    case TLW_RAN_RESULT:
        msg.type = TLW_IPC_EXEC_RESULT;
        json = json_dumps(r->result, JSON_COMPACT | JSON_ENCODE_ANY);
        break;
    case TLW_RAN_CANCELLED: msg.type = TLW_IPC_EXEC_CANCELLED; break;
    default:
        msg.type = TLW_IPC_EXEC_FAILURE;
        msg.non_retryable = r->non_retryable;
        msg.failure_type = r->failure_type;
        msg.failure_type_len = strlen(r->failure_type);
        msg.message = r->failure_message;
        msg.message_len = strlen(r->failure_message);
        json = json_dumps(r->failure_details, JSON_COMPACT | JSON_ENCODE_ANY);
        break;
    }
    if (json) {
        msg.json = json;
        msg.json_len = strlen(json);
    } else if (msg.type != TLW_IPC_EXEC_CANCELLED) {
        return false;
    }
    tlw_error err;
    tlw_status st = tlw_ipc_exec_write(fd, &msg, &err);
    if (st == TLW_ERR_INVALID && msg.json_len > TLW_IPC_EXEC_BODY_MAX) {
        /* More than a worker can carry: say so instead. */
        char text[256];
        snprintf(text, sizeof text,
                 "the activity's %s is %zu bytes as JSON, over the %d a worker can send; "
                 "store large data elsewhere and return a reference",
                 msg.type == TLW_IPC_EXEC_RESULT ? "result" : "failure details", msg.json_len,
                 TLW_IPC_EXEC_BODY_MAX);
        tlw_ipc_exec_msg too_large = {.type = TLW_IPC_EXEC_FAILURE,
                                      .non_retryable = 1,
                                      .failure_type = "tlw.ResultTooLarge",
                                      .failure_type_len = strlen("tlw.ResultTooLarge"),
                                      .message = text,
                                      .message_len = strlen(text),
                                      .json = "[]",
                                      .json_len = 2};
        st = tlw_ipc_exec_write(fd, &too_large, &err);
    }
    free(json);
    return st == TLW_OK;
}

/*
 * What every executor does to itself before it runs user code: it holds no
 * descriptor but stdio, `fd` (its way to the slot) and what the user's hooks
 * opened (not the slot's channel or gRPC sockets); it ignores SIGINT and
 * SIGTERM, as its slot does; a crash kills it with its own signal, whatever
 * handlers the slot's libraries installed; a cancellation arrives as
 * SIGUSR1; exit() in user code skips the libraries' atexit handlers.
 */
void tlw_executor_isolate(const tlw_fd_set *keep_fds, int fd, pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1); /* the parent died before the line above */
    prctl(PR_SET_NAME, "tlw-executor");
    tlw_close_fds_except(keep_fds, fd);
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGPIPE};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        signal(fatal[i], SIG_DFL);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGUSR1, tlw_activity_cancel_signal);
    on_exit(exit_now, NULL);
}

/* The activity's memory limit, set just before it runs. */
static void limit_memory(int64_t memory_limit_mb)
{
    if (memory_limit_mb > 0) {
        struct rlimit rl = {.rlim_cur = (rlim_t)memory_limit_mb << 20,
                            .rlim_max = (rlim_t)memory_limit_mb << 20};
        setrlimit(RLIMIT_DATA, &rl);
    }
}

/* Runs the function and reports how it returned on `fd`; never returns. */
__attribute__((noreturn)) static void run_and_exit(tlw_activity_fn fn, tlw_activity *act,
                                                   const json_t *args, int fd)
{
    act->result_fd = fd;
    act->heartbeat = NULL;
    json_t *result = NULL;
    tlw_status st = fn(act, args, &result);
    tlw_executor_result r = {0};
    outcome_of_return(act, st, result, &r);
    /* The activity's own output first: once the slot has the result, it
     * may end this process without waiting for it to exit. */
    fflush(NULL);
    _exit(report(fd, &r) ? 0 : 1);
}

/*
 * An executor forked from the slot (when no pre-forked one is at hand). It
 * dies with its slot (a slot killed at the hard stop takes it along), in a
 * process group of its own so that the slot can kill it with whatever it
 * started.
 */
static void executor_main(const tlw_executor_job *job, pid_t slot_pid, int result_fd)
{
    tlw_executor_isolate(job->keep_fds, result_fd, slot_pid);
    limit_memory(job->memory_limit_mb);
    run_and_exit(job->fn, job->act, job->args, result_fd);
}

/* ---- a task as EXEC_JOB ---------------------------------------------------------- */

char *tlw_executor_job_encode(const tlw_activity *act, const json_t *args)
{
    const tlw_activity_info *i = &act->info;
#define S(x) ((x) ? (x) : "")
    /* The slot's environment has the invocation's trace id; an executor
     * forked ahead, by the function's zygote, has not. */
    json_t *job = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:O, s:O?, s:s?}", "activity_id",
        S(i->activity_id), "activity_type", S(i->activity_type), "workflow_id", S(i->workflow_id),
        "workflow_run_id", S(i->workflow_run_id), "workflow_type", S(i->workflow_type),
        "workflow_namespace", S(i->workflow_namespace), "task_queue", S(i->task_queue), "attempt",
        i->attempt, "heartbeat_timeout_ms", (json_int_t)i->heartbeat_timeout_ms,
        "start_to_close_timeout_ms", (json_int_t)i->start_to_close_timeout_ms, "deadline_ms",
        (json_int_t)act->deadline_ms, "args", args, "previous_details", act->previous_details,
        "trace_id", getenv("_X_AMZN_TRACE_ID"));
#undef S
    if (!job)
        return NULL;
    char *text = json_dumps(job, JSON_COMPACT);
    json_decref(job);
    return text;
}

tlw_status tlw_executor_job_decode(const char *json, size_t len, tlw_activity *act, json_t **args,
                                   json_t **owner, tlw_error *err)
{
    *owner = NULL;
    *args = NULL;
    json_error_t jerr;
    json_t *job = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!job)
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "EXEC_JOB is not JSON: %s", jerr.text);
    *act = (tlw_activity){.result_fd = -1};
    tlw_activity_info *i = &act->info;
    json_int_t hb = 0, stc = 0, deadline = 0;
    json_t *a = NULL, *details = NULL;
    json_t *trace_id = NULL; /* read by tlw_executor_serve */
    if (json_unpack_ex(job, &jerr, JSON_STRICT,
                       "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:o, s?o, s?o}",
                       "activity_id", &i->activity_id, "activity_type", &i->activity_type,
                       "workflow_id", &i->workflow_id, "workflow_run_id", &i->workflow_run_id,
                       "workflow_type", &i->workflow_type, "workflow_namespace",
                       &i->workflow_namespace, "task_queue", &i->task_queue, "attempt", &i->attempt,
                       "heartbeat_timeout_ms", &hb, "start_to_close_timeout_ms", &stc,
                       "deadline_ms", &deadline, "args", &a, "previous_details", &details,
                       "trace_id", &trace_id) != 0) {
        json_decref(job);
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "EXEC_JOB: %s", jerr.text);
    }
    if (!json_is_array(a) || hb < 0 || stc < 0) {
        json_decref(job);
        return tlw_error_set(err, TLW_ERR_PROTOCOL,
                             "EXEC_JOB: args is not an array or a timeout is negative");
    }
    if (trace_id && !json_is_string(trace_id) && !json_is_null(trace_id)) {
        json_decref(job);
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "EXEC_JOB: trace_id is not a string");
    }
    i->heartbeat_timeout_ms = hb;
    i->start_to_close_timeout_ms = stc;
    act->deadline_ms = deadline;
    act->previous_details = json_is_null(details) ? NULL : json_incref(details);
    *args = a;
    *owner = job;
    return TLW_OK;
}

void tlw_executor_serve(int fd, const tlw_config *cfg, int64_t memory_limit_mb)
{
    /* Most tasks are small: start small, grow to the most a message holds. */
    size_t max = TLW_IPC_HEADER_SIZE + TLW_IPC_EXEC_BODY_MAX, cap = 65536, len = 0;
    char *buf = malloc(cap);
    tlw_ipc_exec_msg m = {0};
    tlw_error err;
    for (;;) {
        size_t used = 0;
        if (!buf || tlw_ipc_exec_decode(buf, len, &used, &m, &err) != TLW_OK)
            _exit(1);
        if (used > 0)
            break;
        if (len == cap) {
            char *bigger = cap < max ? realloc(buf, cap * 2 < max ? cap * 2 : max) : NULL;
            if (!bigger)
                _exit(1);
            buf = bigger;
            cap = cap * 2 < max ? cap * 2 : max;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(0); /* the slot is gone, or let this one go unused */
        len += (size_t)n;
    }
    tlw_activity act;
    json_t *args, *owner;
    if (m.type != TLW_IPC_EXEC_JOB ||
        tlw_executor_job_decode(m.json, m.json_len, &act, &args, &owner, &err) != TLW_OK)
        _exit(1); /* the slot sees a pipe that closed without a result */
    free(buf);
    const char *trace_id = json_string_value(json_object_get(owner, "trace_id"));
    if (trace_id)
        setenv("_X_AMZN_TRACE_ID", trace_id, 1);
    else
        unsetenv("_X_AMZN_TRACE_ID");
    tlw_activity_fn fn = tlw_config_activity(cfg, act.info.activity_type);
    if (!fn)
        _exit(1); /* the slot checked: a registry that differs is a bug */
    limit_memory(memory_limit_mb);
    run_and_exit(fn, &act, args, fd);
}

void tlw_executor_warm_up(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return;
    tlw_activity act = {.info = {.activity_type = "warm-up", .attempt = 1}};
    json_t *args = json_pack("[s, i, f, b, n, {s:[]}]", "text", 1, 0.5, 1, "key");
    char *job = args ? tlw_executor_job_encode(&act, args) : NULL;
    json_decref(args);
    tlw_ipc_exec_msg m = {.type = TLW_IPC_EXEC_JOB, .json = job, .json_len = job ? strlen(job) : 0};
    tlw_error err;
    char buf[4096];
    ssize_t n;
    if (job && tlw_ipc_exec_write(sv[0], &m, &err) == TLW_OK &&
        (n = read(sv[1], buf, sizeof buf)) > 0) {
        size_t used = 0;
        tlw_activity got;
        json_t *got_args, *owner = NULL;
        if (tlw_ipc_exec_decode(buf, (size_t)n, &used, &m, &err) == TLW_OK && used > 0 &&
            tlw_executor_job_decode(m.json, m.json_len, &got, &got_args, &owner, &err) == TLW_OK) {
            tlw_executor_result r = {.ran = TLW_RAN_RESULT, .result = got_args};
            if (report(sv[0], &r))
                (void)read(sv[1], buf, sizeof buf);
            json_decref(got.previous_details);
        }
        json_decref(owner);
    }
    free(job);
    close(sv[0]);
    close(sv[1]);
}

/* ---- the slot's side ------------------------------------------------------------ */

enum pipe_state { PIPE_OPEN, PIPE_EOF, PIPE_BAD };

struct follow {
    const tlw_executor_job *job;
    tlw_executor_result *out;
    pid_t pid;
    char *buf;
    size_t len, cap;
    bool got_end; /* RESULT, FAILURE or CANCELLED arrived */
};

/* Reads what the pipe has now (one read). */
static enum pipe_state read_some(int fd, struct follow *f)
{
    if (f->cap - f->len < 65536) {
        size_t ncap = f->cap ? f->cap * 2 : 131072;
        if (ncap > 2 * ((size_t)TLW_IPC_EXEC_BODY_MAX + TLW_IPC_HEADER_SIZE) + 65536)
            return PIPE_BAD;
        char *bigger = realloc(f->buf, ncap);
        if (!bigger)
            return PIPE_BAD;
        f->buf = bigger;
        f->cap = ncap;
    }
    ssize_t n;
    do
        n = read(fd, f->buf + f->len, f->cap - f->len);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        f->len += (size_t)n;
        return PIPE_OPEN;
    }
    if (n < 0 && errno == EAGAIN)
        return PIPE_OPEN;
    return n == 0 ? PIPE_EOF : PIPE_BAD;
}

static json_t *parse_json(const tlw_ipc_exec_msg *m)
{
    return json_loadb(m->json, m->json_len, JSON_DECODE_ANY, NULL);
}

/* Takes the whole messages at the start of the buffer. False if the stream
 * holds something that is not a message (the problem is in out->problem). */
static bool take_messages(struct follow *f)
{
    size_t off = 0;
    bool ok = true;
    while (off < f->len) {
        tlw_ipc_exec_msg m;
        size_t used;
        tlw_error err;
        if (tlw_ipc_exec_decode(f->buf + off, f->len - off, &used, &m, &err) != TLW_OK) {
            snprintf(f->out->problem, sizeof f->out->problem, "%s", err.message);
            f->out->ran =
                strstr(err.message, "-byte limit") ? TLW_RAN_OVERSIZED : TLW_RAN_MALFORMED;
            ok = false;
            break;
        }
        if (used == 0)
            break;
        off += used;
        json_t *value = m.type == TLW_IPC_EXEC_CANCELLED ? NULL : parse_json(&m);
        if (m.type != TLW_IPC_EXEC_CANCELLED && !value) {
            snprintf(f->out->problem, sizeof f->out->problem, "%s carries text that is not JSON",
                     tlw_ipc_type_name(m.type));
            f->out->ran = TLW_RAN_MALFORMED;
            ok = false;
            break;
        }
        if (m.type == TLW_IPC_EXEC_JOB) {
            json_decref(value);
            snprintf(f->out->problem, sizeof f->out->problem, "%s from an executor",
                     tlw_ipc_type_name(m.type));
            f->out->ran = TLW_RAN_MALFORMED;
            ok = false;
            break;
        }
        if (m.type == TLW_IPC_EXEC_HEARTBEAT) {
            if (f->job->heartbeat)
                tlw_heartbeat_record(f->job->heartbeat, value);
            json_decref(value);
        } else if (f->got_end) {
            json_decref(value); /* one end only: the first counts */
        } else {
            f->got_end = true;
            tlw_executor_result *r = f->out;
            if (m.type == TLW_IPC_EXEC_RESULT) {
                r->ran = TLW_RAN_RESULT;
                r->result = value;
            } else if (m.type == TLW_IPC_EXEC_CANCELLED) {
                r->ran = TLW_RAN_CANCELLED;
            } else {
                r->ran = TLW_RAN_FAILURE;
                r->non_retryable = m.non_retryable;
                snprintf(r->failure_type, sizeof r->failure_type, "%.*s", (int)m.failure_type_len,
                         m.failure_type);
                snprintf(r->failure_message, sizeof r->failure_message, "%.*s", (int)m.message_len,
                         m.message);
                r->failure_details = value;
            }
        }
    }
    memmove(f->buf, f->buf + off, f->len - off);
    f->len -= off;
    return ok;
}

/* A descriptor that becomes readable when process `pid` ends (pidfd), or
 * -1 where the kernel has none (the loop then polls waitpid). */
static int watch_pid(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

/* Whether `pid` has ended; reaps it into *status if so. */
static bool reaped(pid_t pid, int *status)
{
    pid_t r;
    do
        r = waitpid(pid, status, WNOHANG);
    while (r < 0 && errno == EINTR);
    return r == pid || (r < 0 && errno == ECHILD);
}

/* Forks the executor from the slot itself: the way when no pre-forked one
 * is at hand. False if it cannot. */
static bool fork_here(const tlw_executor_job *job, pid_t *pid_out, int *fd_out)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return false;
    pid_t slot_pid = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        executor_main(job, slot_pid, fds[1]);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return false;
    }
    setpgid(pid, pid); /* also in the child: whichever runs first */
    *pid_out = pid;
    *fd_out = fds[0];
    return true;
}

/* Hands the task to an executor the zygote forked before it (EXEC_JOB).
 * False if there is none or it cannot take the task (it is then gone). */
static bool hand_to_spare(const tlw_executor_job *job, pid_t *pid_out, int *pidfd_out, int *fd_out)
{
    pid_t pid;
    int fd, pidfd;
    if (!job->zygote || !tlw_zygote_take(job->zygote, &pid, &pidfd, &fd))
        return false;
    char *json = tlw_executor_job_encode(job->act, job->args);
    tlw_ipc_exec_msg msg = {
        .type = TLW_IPC_EXEC_JOB, .json = json, .json_len = json ? strlen(json) : 0};
    tlw_error err;
    bool sent = json && tlw_ipc_exec_write(fd, &msg, &err) == TLW_OK;
    free(json);
    if (!sent) {
        /* Too large for a message, or the executor died waiting: fork one
         * here instead, which inherits the task. The pidfd names this
         * executor even if its pid was reused. */
#ifdef SYS_pidfd_send_signal
        syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
#else
        tlw_kill_group(pid);
#endif
        close(pidfd);
        close(fd);
        return false;
    }
    *pid_out = pid;
    *pidfd_out = pidfd;
    *fd_out = fd;
    return true;
}

/* Whether the executor ended; its wait status in *status if so. One the
 * slot forked it reaps; one from the zygote the zygote reaped. */
static bool executor_ended(tlw_zygote *zygote, pid_t pid, int pidfd, int *status)
{
    if (!zygote)
        return reaped(pid, status);
    struct pollfd q = {.fd = pidfd, .events = POLLIN};
    if (poll(&q, 1, 0) <= 0)
        return false;
    if (!tlw_zygote_status(zygote, pid, status))
        *status = SIGKILL; /* the zygote died, and took it along */
    return true;
}

void tlw_executor_run_forked(const tlw_executor_job *job, tlw_executor_result *out)
{
    *out = (tlw_executor_result){0};
    pid_t pid;
    int fd, pidfd = -1;
    tlw_zygote *zygote = job->zygote;
    if (!hand_to_spare(job, &pid, &pidfd, &fd)) {
        zygote = NULL;
        if (!fork_here(job, &pid, &fd)) {
            out->ran = TLW_RAN_EXITED;
            out->wait_status = -1;
            return;
        }
        pidfd = watch_pid(pid);
    }
    if (job->heartbeat) {
        /* A cancellation from the server reaches the executor as SIGUSR1. */
        job->heartbeat->executor = pid;
        if (job->heartbeat->cancel_requested)
            kill(pid, SIGUSR1);
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    struct follow f = {.job = job, .out = out, .pid = pid};
    enum pipe_state pipe_state = PIPE_OPEN;
    bool killed = false, ended = false, out_of_time = false, bad = false;
    tlw_ran killed_as = TLW_RAN_SHUTDOWN;
    int status = 0;
    int64_t eof_at = 0; /* when the pipe closed while the process ran */
    while (!ended) {
        int64_t now = tlw_wall_ms();
        int64_t hard = job->stop_ms(job->stop_arg);
        if (!killed && (now >= job->stc_deadline_ms || now >= hard)) {
            tlw_kill_group(pid);
            killed = out_of_time = true;
            killed_as = now >= hard ? TLW_RAN_SHUTDOWN : TLW_RAN_TIMED_OUT;
        }
        if (!killed && bad) {
            tlw_log_error("activity %s: %s; killing it", job->act->info.activity_type,
                          out->problem);
            tlw_kill_group(pid);
            killed = true;
        }
        /* The pipe closed but the process goes on: it can no longer report,
         * so give it a moment to finish exiting, then kill it. */
        if (!killed && pipe_state == PIPE_EOF) {
            if (!eof_at)
                eof_at = now;
            else if (now - eof_at > 200) {
                tlw_kill_group(pid);
                killed = true;
            }
        }
        int64_t wake = job->stc_deadline_ms < hard ? job->stc_deadline_ms : hard;
        if (job->heartbeat && tlw_heartbeat_due_ms(job->heartbeat) < wake)
            wake = tlw_heartbeat_due_ms(job->heartbeat);
        int64_t wait_ms = wake - now;
        if (wait_ms > 1000)
            wait_ms = 1000; /* also re-reads the hard stop, which DRAIN may move */
        if (pidfd < 0 || pipe_state != PIPE_OPEN || killed)
            wait_ms = wait_ms > 20 ? 20 : wait_ms;
        if (wait_ms < 0)
            wait_ms = 0;
        struct pollfd p[2] = {{.fd = pipe_state == PIPE_OPEN && !bad ? fd : -1, .events = POLLIN},
                              {.fd = pidfd, .events = POLLIN}};
        int r = poll(p, 2, (int)wait_ms);
        if (r > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            pipe_state = read_some(fd, &f);
            if (pipe_state == PIPE_BAD && !bad) {
                snprintf(out->problem, sizeof out->problem,
                         "its pipe broke or it wrote more than %d bytes at once",
                         TLW_IPC_EXEC_BODY_MAX);
                out->ran = TLW_RAN_OVERSIZED;
                bad = true;
            }
            if (!bad && !take_messages(&f))
                bad = true;
            /* The whole answer is in: an executor from the zygote, which
             * reaps it, is not waited for (it only exits now), nor is its
             * wait status, which says nothing an answer does not. */
            if (zygote && f.got_end && !bad)
                break;
        }
        if (job->heartbeat)
            tlw_heartbeat_flush_due(job->heartbeat);
        if (executor_ended(zygote, pid, pidfd, &status)) {
            ended = true;
            /* What it wrote just before it ended. */
            while (pipe_state == PIPE_OPEN && !bad) {
                size_t before = f.len;
                pipe_state = read_some(fd, &f);
                if (!take_messages(&f)) {
                    bad = true;
                    break;
                }
                if (pipe_state == PIPE_OPEN && f.len == before) {
                    struct pollfd q = {.fd = fd, .events = POLLIN};
                    if (poll(&q, 1, 0) <= 0)
                        break;
                }
            }
        }
    }
    /* A grandchild it left behind (holding the pipe or not) goes too; the
     * group outlives its leader, so its id is not reused yet. */
    tlw_kill_group(pid);
    free(f.buf);
    close(fd);
    if (pidfd >= 0)
        close(pidfd);
    if (job->heartbeat)
        job->heartbeat->executor = 0;
    out->wait_status = status;
    if (out_of_time) {
        tlw_executor_result_free(out);
        out->ran = killed_as;
        return;
    }
    if (bad) {
        tlw_executor_result_free(out);
        return; /* OVERSIZED or MALFORMED, with the problem */
    }
    if (!f.got_end)
        out->ran = WIFSIGNALED(status) ? TLW_RAN_CRASHED : TLW_RAN_EXITED;
}

void tlw_executor_run_in_process(const tlw_executor_job *job, tlw_executor_result *out)
{
    *out = (tlw_executor_result){0};
    job->act->result_fd = -1;
    job->act->heartbeat = job->heartbeat;
    json_t *result = NULL;
    tlw_status st = job->fn(job->act, job->args, &result);
    outcome_of_return(job->act, st, result, out);
}
