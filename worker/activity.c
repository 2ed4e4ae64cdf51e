#include "config.h"

#include "worker/activity.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/proc.h"
#include "worker/connect.h"
#include "worker/payload.h"
#include "worker/service.h"

typedef Temporal__Api__Workflowservice__V1__PollActivityTaskQueueResponse activity_task;

#define POLL_TIMEOUT_MS 70000 /* the server ends a long poll after ~60 s */
#define RPC_TIMEOUT_MS 10000
#define DEFAULT_HEARTBEAT_INTERVAL_MS 30000
#define FRAME_MAX (4 * 1024 * 1024)

/* ---- the slot ------------------------------------------------------------ */

struct slot {
    const tlw_slot_spec *spec;
    const tlw_settings *settings;
    tlw_rpc_client *client;
    char worker_instance_key[40];
    bool graceful_poll_shutdown;
    tlw_rpc_cancel poll_cancel;
    atomic_int draining;
    atomic_int polling;        /* a PollActivityTaskQueue call is open */
    /* epoch ms: the invocation's hard stop, known from the start and moved
     * by DRAIN (a drain by signal comes early); LLONG_MAX outside Lambda
     * until DRAIN */
    atomic_llong hard_stop_ms;
    /* What an executor keeps of the slot's descriptors: those open before
     * the slot connected (stdio, the user's), not its gRPC sockets. */
    tlw_fd_set executor_fds;
    tlw_ipc_stats stats;
};

/* A random (version 4) UUID. Fails rather than give every worker the same
 * key when the kernel has no randomness to give. */
static tlw_status make_instance_key(char *out, size_t size, tlw_error *err)
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return tlw_error_set(err, TLW_ERR_IO,
                                 "cannot make a worker instance key: getrandom: %s",
                                 n < 0 ? strerror(errno) : "no bytes");
        got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, size,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return TLW_OK;
}

static Temporal__Api__Deployment__V1__WorkerDeploymentOptions deployment_options(const struct slot *s)
{
    Temporal__Api__Deployment__V1__WorkerDeploymentOptions o =
        TEMPORAL__API__DEPLOYMENT__V1__WORKER_DEPLOYMENT_OPTIONS__INIT;
    o.deployment_name = s->settings->worker.deployment_name.value;
    o.build_id = s->settings->worker.build_id.value;
    o.worker_versioning_mode =
        TEMPORAL__API__ENUMS__V1__WORKER_VERSIONING_MODE__WORKER_VERSIONING_MODE_VERSIONED;
    return o;
}

static int64_t executor_stop_ms(struct slot *s);

/* A call's timeout: `want`, cut to what is left before the hard stop (less
 * a little, to send TASK_END after it). 0 means no time is left: do not
 * start the call. */
static int64_t rpc_budget_ms(struct slot *s, int64_t want)
{
    long long hard = atomic_load(&s->hard_stop_ms);
    if (hard == LLONG_MAX)
        return want;
    int64_t left = hard - 50 - tlw_wall_ms();
    if (left <= 0)
        return 0;
    return left < want ? left : want;
}

/* Asks the server to complete this slot's open polls empty (the namespace
 * has worker_poll_complete_on_shutdown). False if the call failed. */
static bool shutdown_worker(struct slot *s)
{
    Temporal__Api__Workflowservice__V1__ShutdownWorkerRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__SHUTDOWN_WORKER_REQUEST__INIT;
    Temporal__Api__Enums__V1__TaskQueueType types[] = {
        TEMPORAL__API__ENUMS__V1__TASK_QUEUE_TYPE__TASK_QUEUE_TYPE_ACTIVITY};
    req.namespace_ = s->settings->client.namespace_name.value;
    req.identity = (char *)s->spec->identity;
    req.reason = "the Lambda invocation is draining";
    req.worker_instance_key = s->worker_instance_key;
    req.task_queue = s->settings->worker.task_queue.value;
    req.n_task_queue_types = 1;
    req.task_queue_types = types;
    ProtobufCMessage *resp = NULL;
    tlw_error err;
    tlw_rpc_call_options o = {.timeout_ms = rpc_budget_ms(s, 5000)};
    if (o.timeout_ms == 0)
        return false;
    tlw_status st = tlw_rpc_call(s->client, TLW_WORKFLOW_SERVICE "ShutdownWorker", &req.base,
                                 &temporal__api__workflowservice__v1__shutdown_worker_response__descriptor,
                                 &resp, &o, &err);
    if (st != TLW_OK)
        tlw_log_warn("ShutdownWorker: %s; cancelling the poll instead", err.message);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return st == TLW_OK;
}

/* The control thread: reads the supervisor's messages while the main
 * thread polls or runs a task, and turns DRAIN into the right way to end
 * the open poll. */
static void *control_thread(void *arg)
{
    struct slot *s = arg;
    for (;;) {
        tlw_ipc_msg msg;
        tlw_error err;
        tlw_status st = tlw_ipc_recv(s->spec->fd, &msg, &err);
        if (st == TLW_ERR_PROTOCOL)
            continue;
        bool stop = st != TLW_OK || msg.type == TLW_IPC_STOP;
        if (st == TLW_OK && msg.type == TLW_IPC_DRAIN)
            atomic_store(&s->hard_stop_ms, (long long)msg.drain.hard_stop_deadline_ms);
        else if (stop)
            atomic_store(&s->hard_stop_ms, (long long)tlw_wall_ms());
        else
            continue;
        atomic_store(&s->draining, 1);
        if (!s->graceful_poll_shutdown || !shutdown_worker(s))
            tlw_rpc_cancel_request(&s->poll_cancel);
        /* A poll that opened just as the drain began is not one ShutdownWorker
         * completes: give it a moment, then cancel it, so that no poll is
         * open when the supervisor ends the process. */
        int64_t give_up = tlw_wall_ms() + 1000;
        if (executor_stop_ms(s) < give_up)
            give_up = executor_stop_ms(s);
        while (atomic_load(&s->polling) && tlw_wall_ms() < give_up) {
            struct timespec tick = {.tv_sec = 0, .tv_nsec = 20 * 1000000L};
            nanosleep(&tick, NULL);
        }
        if (atomic_load(&s->polling))
            tlw_rpc_cancel_request(&s->poll_cancel);
        return NULL;
    }
}

/* When a running executor must be killed so that the slot can still report
 * its task before the supervisor's hard stop kills the slot itself. */
static int64_t executor_stop_ms(struct slot *s)
{
    long long hard = atomic_load(&s->hard_stop_ms);
    if (hard == LLONG_MAX)
        return INT64_MAX;
    int64_t margin = s->settings->worker.graceful_shutdown_timeout_ms.value / 4;
    return hard - (margin < 500 ? margin : 500);
}

/* ---- the activity context (both sides) ----------------------------------- */

struct tlw_activity {
    tlw_activity_info info;
    json_t *previous_details;
    int64_t deadline_ms;
    /* executor side */
    int result_fd; /* pipe to the slot; -1 in-process */
    /* in-process side */
    struct task_run *run;
    bool cancelled;
    /* tlw_activity_fail() */
    bool failed;
    char fail_type[128];
    bool non_retryable;
    json_t *fail_details;
    char fail_message[1024];
};

static volatile sig_atomic_t executor_cancelled;

static void on_cancel_signal(int sig)
{
    (void)sig;
    executor_cancelled = 1;
}

const tlw_activity_info *tlw_activity_get_info(const tlw_activity *act)
{
    return &act->info;
}

const json_t *tlw_activity_heartbeat_details(const tlw_activity *act)
{
    return act->previous_details;
}

int tlw_activity_is_cancelled(const tlw_activity *act)
{
    return act->cancelled || executor_cancelled;
}

long long tlw_activity_time_left_ms(const tlw_activity *act)
{
    int64_t left = act->deadline_ms - tlw_wall_ms();
    return left > 0 ? left : 0;
}

tlw_status tlw_activity_fail(tlw_activity *act, const char *type, int non_retryable,
                             const json_t *details, const char *fmt, ...)
{
    act->failed = true;
    snprintf(act->fail_type, sizeof act->fail_type, "%s", type ? type : "");
    act->non_retryable = non_retryable != 0;
    json_decref(act->fail_details);
    act->fail_details = details ? json_deep_copy(details) : NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(act->fail_message, sizeof act->fail_message, fmt, ap);
    va_end(ap);
    return TLW_ERR_FAILED;
}

/* Frames on the executor's pipe: uint32 length, one kind byte, JSON text. */
static bool write_frame(int fd, char kind, const json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return false;
    uint32_t len = (uint32_t)strlen(text) + 1;
    char head[5];
    memcpy(head, &len, 4);
    head[4] = kind;
    bool ok = true;
    const char *parts[2] = {head, text};
    size_t sizes[2] = {5, len - 1};
    for (int i = 0; i < 2 && ok; i++) {
        size_t off = 0;
        while (off < sizes[i]) {
            ssize_t n = write(fd, parts[i] + off, sizes[i] - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                ok = false;
                break;
            }
            off += (size_t)n;
        }
    }
    free(text);
    return ok;
}

static void heartbeat_now(struct task_run *run, const json_t *details);

tlw_status tlw_activity_heartbeat(tlw_activity *act, const json_t *details)
{
    json_t *null_value = json_null();
    if (act->result_fd >= 0)
        write_frame(act->result_fd, 'H', details ? details : null_value);
    else if (act->run)
        heartbeat_now(act->run, details ? details : null_value);
    json_decref(null_value);
    return tlw_activity_is_cancelled(act) ? TLW_ERR_CANCELLED : TLW_OK;
}

/* ---- one task, slot side ---------------------------------------------------- */

struct task_run {
    struct slot *slot;
    const activity_task *task;
    tlw_activity act;
    json_t *latest_details; /* the last heartbeat's details (a value), or NULL */
    bool details_pending;   /* received but not yet sent */
    int64_t last_sent_ms;
    int64_t heartbeat_interval_ms;
    bool cancel_requested;
    pid_t executor;
    int64_t stc_deadline_ms; /* epoch ms: kill a hung attempt here; INT64_MAX: none */
};

static void send_heartbeat(struct task_run *run)
{
    struct slot *s = run->slot;
    Temporal__Api__Workflowservice__V1__RecordActivityTaskHeartbeatRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RECORD_ACTIVITY_TASK_HEARTBEAT_REQUEST__INIT;
    tlw_error err;
    tlw_payloads *details = NULL;
    if (run->latest_details &&
        tlw_payloads_from_json(run->latest_details, false, &details, &err) != TLW_OK) {
        tlw_log_warn("heartbeat details of %s: %s", run->act.info.activity_type, err.message);
        details = NULL;
    }
    req.task_token = run->task->task_token;
    req.details = details;
    req.identity = (char *)s->spec->identity;
    req.namespace_ = s->settings->client.namespace_name.value;
    ProtobufCMessage *resp = NULL;
    tlw_rpc_call_options o = {.timeout_ms = rpc_budget_ms(s, RPC_TIMEOUT_MS),
                              .retry_unavailable = true};
    if (o.timeout_ms == 0) {
        tlw_error_set(&err, TLW_ERR_TIMEOUT, "no time left before the hard stop");
    } else if (tlw_rpc_call(s->client, TLW_WORKFLOW_SERVICE "RecordActivityTaskHeartbeat", &req.base,
                     &temporal__api__workflowservice__v1__record_activity_task_heartbeat_response__descriptor,
                     &resp, &o, &err) == TLW_OK) {
        Temporal__Api__Workflowservice__V1__RecordActivityTaskHeartbeatResponse *r = (void *)resp;
        if (r->cancel_requested && !run->cancel_requested) {
            run->cancel_requested = true;
            run->act.cancelled = true;
            if (run->executor > 0)
                kill(run->executor, SIGUSR1);
        }
        protobuf_c_message_free_unpacked(resp, NULL);
    } else {
        tlw_log_warn("heartbeat of %s: %s", run->act.info.activity_type, err.message);
    }
    if (details)
        protobuf_c_message_free_unpacked(&details->base, NULL);
    run->last_sent_ms = tlw_wall_ms();
    run->details_pending = false;
}

/* Keeps the latest details and sends them when the throttle allows. */
static void heartbeat_now(struct task_run *run, const json_t *details)
{
    json_decref(run->latest_details);
    run->latest_details = json_deep_copy(details);
    run->details_pending = true;
    if (tlw_wall_ms() - run->last_sent_ms >= run->heartbeat_interval_ms)
        send_heartbeat(run);
}

enum run_outcome { RAN_RESULT, RAN_CRASHED, RAN_EXITED, RAN_TIMED_OUT, RAN_SHUTDOWN, RAN_OVERSIZED };

/* What the executor (or the in-process call) produced. */
struct ran {
    enum run_outcome outcome;
    json_t *message; /* the 'R' frame: {"result":v} | {"failure":{...}} | {"cancelled":true} */
    int wait_status;
    int64_t limit_ms;
};

/* The frame the activity's return becomes. */
static json_t *result_frame(tlw_activity *act, tlw_status st, json_t *result)
{
    if (st == TLW_OK)
        return json_pack("{s:o}", "result", result ? result : json_null());
    json_decref(result);
    if (st == TLW_ERR_CANCELLED && tlw_activity_is_cancelled(act))
        return json_pack("{s:b}", "cancelled", 1);
    if (!act->failed)
        tlw_activity_fail(act, "tlw.ActivityError", 0, NULL,
                          "the activity returned \"%s\" without tlw_activity_fail()",
                          tlw_status_name(st));
    json_t *details = act->fail_details ? json_incref(act->fail_details) : json_array();
    return json_pack("{s:{s:s, s:s, s:b, s:o}}", "failure", "message", act->fail_message, "type",
                     act->fail_type, "non_retryable", act->non_retryable, "details", details);
}

/* exit() in user code must end the executor with the user's status, before
 * the atexit handlers of libraries (gRPC's among them), which are not safe
 * in a forked child. Registered last, it runs first. */
static void exit_now(int status, void *arg)
{
    (void)arg;
    fflush(NULL); /* the activity's own stdout lines reach the log */
    _exit(status);
}

/*
 * The first thing a new executor does. It dies with its slot (a slot killed
 * at the hard stop takes it along), in a process group of its own so that
 * the slot can kill it with whatever it started; it holds no descriptor but
 * stdio, its pipe and what the user's hooks opened (not the slot's channel
 * or gRPC sockets); and it ignores SIGINT and SIGTERM, as its slot does.
 */
static void executor_isolate(struct slot *s, pid_t slot_pid, int result_fd)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != slot_pid)
        _exit(1); /* the slot died before the line above */
    tlw_close_fds_except(&s->executor_fds, result_fd);
    close(s->spec->fd);
}

static void executor_main(tlw_activity_fn fn, tlw_activity *act, const json_t *args,
                          int64_t memory_limit_mb)
{
    /* A crash must kill the executor with its own signal, whatever handlers
     * the libraries of the slot process installed. */
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGPIPE};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        signal(fatal[i], SIG_DFL);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGUSR1, on_cancel_signal);
    on_exit(exit_now, NULL);
    if (memory_limit_mb > 0) {
        struct rlimit rl = {.rlim_cur = (rlim_t)memory_limit_mb << 20,
                            .rlim_max = (rlim_t)memory_limit_mb << 20};
        setrlimit(RLIMIT_DATA, &rl);
    }
    json_t *result = NULL;
    tlw_status st = fn(act, args, &result);
    json_t *frame = result_frame(act, st, result);
    int rc = frame && write_frame(act->result_fd, 'R', frame) ? 0 : 1;
    json_decref(frame);
    fflush(NULL);
    _exit(rc);
}

enum pipe_state { PIPE_OPEN, PIPE_EOF, PIPE_BAD };

/* Reads what the executor's pipe has now (one read) into `buf`. PIPE_BAD
 * for a read error or a frame over FRAME_MAX. */
static enum pipe_state read_frames(int fd, char **buf, size_t *len, size_t *cap)
{
    if (*cap - *len < 65536) {
        size_t ncap = *cap ? *cap * 2 : 131072;
        if (ncap > 2 * (FRAME_MAX + 5) + 65536)
            return PIPE_BAD;
        char *bigger = realloc(*buf, ncap);
        if (!bigger)
            return PIPE_BAD;
        *buf = bigger;
        *cap = ncap;
    }
    ssize_t n;
    do
        n = read(fd, *buf + *len, *cap - *len);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        *len += (size_t)n;
        return PIPE_OPEN;
    }
    if (n < 0 && errno == EAGAIN)
        return PIPE_OPEN;
    return n == 0 ? PIPE_EOF : PIPE_BAD;
}

/* Consumes the whole frames at the start of `buf`. False if what is left
 * cannot be the start of a valid frame (too long, or zero length). */
static bool handle_frames(struct task_run *run, char *buf, size_t *len, struct ran *ran)
{
    size_t off = 0;
    bool ok = true;
    while (*len - off >= 5) {
        uint32_t flen;
        memcpy(&flen, buf + off, 4);
        if (flen == 0 || flen > FRAME_MAX) {
            ok = false;
            break;
        }
        if (*len - off - 5 < flen - 1)
            break;
        char kind = buf[off + 4];
        json_t *value = json_loadb(buf + off + 5, flen - 1, JSON_DECODE_ANY, NULL);
        off += 5 + flen - 1;
        if (!value)
            continue;
        if (kind == 'H')
            heartbeat_now(run, value);
        else if (kind == 'R' && !ran->message)
            ran->message = json_incref(value);
        json_decref(value);
    }
    memmove(buf, buf + off, *len - off);
    *len -= off;
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

/*
 * Runs the activity in a forked executor and follows it until it ends:
 * frames from its pipe (heartbeats, the result), its start-to-close and the
 * hard stop (it is killed at either), and its process, watched by pid: a
 * process that closes its pipe early, or leaves a grandchild holding it
 * open, cannot keep the slot waiting. Whatever the executor started is
 * killed with its process group when it ends.
 */
static void run_forked(struct task_run *run, tlw_activity_fn fn, const json_t *args,
                       struct ran *ran)
{
    struct slot *s = run->slot;
    const tlw_worker_settings *w = &s->settings->worker;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        ran->outcome = RAN_EXITED;
        ran->wait_status = -1;
        return;
    }
    pid_t slot_pid = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        executor_isolate(s, slot_pid, fds[1]);
        run->act.result_fd = fds[1];
        executor_main(fn, &run->act, args, w->executor_memory_limit_mb.value);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        ran->outcome = RAN_EXITED;
        ran->wait_status = -1;
        return;
    }
    setpgid(pid, pid); /* also in the child: whichever runs first */
    run->executor = pid;
    int pidfd = watch_pid(pid);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    enum pipe_state pipe_state = PIPE_OPEN;
    bool killed = false, ended = false, out_of_time = false, oversized = false;
    int status = 0;
    int64_t start_deadline = run->stc_deadline_ms;
    int64_t eof_at = 0; /* when the pipe closed while the process ran */
    while (!ended) {
        int64_t now = tlw_wall_ms();
        int64_t hard = executor_stop_ms(s);
        if (!killed && (now >= start_deadline || now >= hard)) {
            tlw_kill_group(pid);
            killed = out_of_time = true;
            ran->outcome = now >= hard ? RAN_SHUTDOWN : RAN_TIMED_OUT;
            ran->limit_ms = now >= hard ? 0 : run->act.info.start_to_close_timeout_ms;
        }
        if (!killed && pipe_state == PIPE_BAD) {
            tlw_log_error("activity %s wrote a malformed or oversized frame (over %d bytes); "
                          "killing it",
                          run->act.info.activity_type, FRAME_MAX);
            tlw_kill_group(pid);
            killed = oversized = true;
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
        int64_t wake = start_deadline < hard ? start_deadline : hard;
        if (run->details_pending) {
            int64_t flush = run->last_sent_ms + run->heartbeat_interval_ms;
            if (flush < wake)
                wake = flush;
        }
        int64_t wait_ms = wake - now;
        if (wait_ms > 1000)
            wait_ms = 1000; /* also re-reads the hard stop, which DRAIN may move */
        if (pidfd < 0 || pipe_state == PIPE_EOF)
            wait_ms = wait_ms > 20 ? 20 : wait_ms;
        if (wait_ms < 0 || killed)
            wait_ms = killed ? 20 : 0;
        struct pollfd p[2] = {{.fd = pipe_state == PIPE_OPEN ? fds[0] : -1, .events = POLLIN},
                              {.fd = pidfd, .events = POLLIN}};
        int r = poll(p, 2, (int)wait_ms);
        if (r > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            pipe_state = read_frames(fds[0], &buf, &len, &cap);
            if (!handle_frames(run, buf, &len, ran) && pipe_state == PIPE_OPEN)
                pipe_state = PIPE_BAD;
        }
        if (run->details_pending && tlw_wall_ms() - run->last_sent_ms >= run->heartbeat_interval_ms)
            send_heartbeat(run);
        if (reaped(pid, &status)) {
            ended = true;
            /* What it wrote just before it ended. */
            while (pipe_state == PIPE_OPEN) {
                pipe_state = read_frames(fds[0], &buf, &len, &cap);
                if (!handle_frames(run, buf, &len, ran))
                    break;
                if (pipe_state == PIPE_OPEN && len == 0) {
                    struct pollfd q = {.fd = fds[0], .events = POLLIN};
                    if (poll(&q, 1, 0) <= 0)
                        break;
                }
            }
        }
    }
    /* A grandchild it left behind (holding the pipe or not) goes too; the
     * group outlives its leader, so its id is not reused yet. */
    tlw_kill_group(pid);
    free(buf);
    close(fds[0]);
    if (pidfd >= 0)
        close(pidfd);
    run->executor = 0;
    ran->wait_status = status;
    if (out_of_time)
        return;
    if (oversized) {
        ran->outcome = RAN_OVERSIZED;
        return;
    }
    ran->outcome = ran->message ? RAN_RESULT
                   : WIFSIGNALED(status) ? RAN_CRASHED
                                         : RAN_EXITED;
}

static void run_in_process(struct task_run *run, tlw_activity_fn fn, const json_t *args,
                           struct ran *ran)
{
    run->act.result_fd = -1;
    run->act.run = run;
    json_t *result = NULL;
    tlw_status st = fn(&run->act, args, &result);
    ran->message = result_frame(&run->act, st, result);
    ran->outcome = RAN_RESULT;
}

/* ---- responses -------------------------------------------------------------- */

/* Sends one of the Respond* requests within the time left before the hard
 * stop; the server deduplicates by task token, so UNAVAILABLE is retried.
 * Logs what could not be reported; `err` (may be NULL) says why. */
static tlw_status respond(struct slot *s, const char *method, const ProtobufCMessage *req,
                          const ProtobufCMessageDescriptor *resp_type, const char *what,
                          tlw_error *err)
{
    tlw_error local;
    if (!err)
        err = &local;
    ProtobufCMessage *resp = NULL;
    tlw_rpc_call_options o = {.timeout_ms = rpc_budget_ms(s, RPC_TIMEOUT_MS),
                              .retry_unavailable = true};
    tlw_status st = o.timeout_ms == 0
                        ? tlw_error_set(err, TLW_ERR_TIMEOUT, "no time left before the hard stop")
                        : tlw_rpc_call(s->client, method, req, resp_type, &resp, &o, err);
    if (st == TLW_ERR_NOT_FOUND)
        tlw_log_warn("cannot %s: the server no longer has the task (it timed out or was "
                     "canceled): %s",
                     what, err->message);
    else if (st != TLW_OK)
        tlw_log_error("cannot %s: %s", what, err->message);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return st;
}

/* Whether the server now knows how the task ended: it took the report, or
 * has no such task any more. Otherwise the recovery path must try. */
static bool server_knows(tlw_status respond_status)
{
    return respond_status == TLW_OK || respond_status == TLW_ERR_NOT_FOUND;
}

static tlw_status respond_failed(struct slot *s, const activity_task *task, const char *message,
                                 const char *type, bool non_retryable, const json_t *details,
                                 const json_t *last_heartbeat)
{
    tlw_error err;
    tlw_failure *failure = NULL;
    tlw_payloads *hb = NULL;
    tlw_status st = tlw_failure_application(message, type, non_retryable, details, &failure, &err);
    if (st == TLW_OK && last_heartbeat)
        tlw_payloads_from_json(last_heartbeat, false, &hb, &err);
    if (st == TLW_OK) {
        Temporal__Api__Workflowservice__V1__RespondActivityTaskFailedRequest req =
            TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_FAILED_REQUEST__INIT;
        Temporal__Api__Deployment__V1__WorkerDeploymentOptions dep = deployment_options(s);
        req.task_token = task->task_token;
        req.failure = failure;
        req.identity = (char *)s->spec->identity;
        req.namespace_ = s->settings->client.namespace_name.value;
        req.last_heartbeat_details = hb;
        req.deployment_options = &dep;
        st = respond(s, TLW_WORKFLOW_SERVICE "RespondActivityTaskFailed", &req.base,
                     &temporal__api__workflowservice__v1__respond_activity_task_failed_response__descriptor,
                     "fail the activity task", NULL);
    } else {
        tlw_log_error("cannot build the failure of an activity task: %s", err.message);
    }
    if (failure)
        protobuf_c_message_free_unpacked(&failure->base, NULL);
    if (hb)
        protobuf_c_message_free_unpacked(&hb->base, NULL);
    return st;
}

static tlw_status respond_completed(struct slot *s, const activity_task *task,
                                    const json_t *result)
{
    tlw_error err;
    tlw_payloads *payloads = NULL;
    tlw_status st = tlw_payloads_from_json(result, false, &payloads, &err);
    if (st != TLW_OK) {
        char message[TLW_ERROR_MESSAGE_MAX + 64];
        snprintf(message, sizeof message, "the activity's result cannot be encoded: %s",
                 err.message);
        return respond_failed(s, task, message, "tlw.ResultEncodingError", true, NULL, NULL);
    }
    Temporal__Api__Workflowservice__V1__RespondActivityTaskCompletedRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_COMPLETED_REQUEST__INIT;
    Temporal__Api__Deployment__V1__WorkerDeploymentOptions dep = deployment_options(s);
    req.task_token = task->task_token;
    req.result = payloads;
    req.identity = (char *)s->spec->identity;
    req.namespace_ = s->settings->client.namespace_name.value;
    req.deployment_options = &dep;
    st = respond(s, TLW_WORKFLOW_SERVICE "RespondActivityTaskCompleted", &req.base,
                 &temporal__api__workflowservice__v1__respond_activity_task_completed_response__descriptor,
                 "complete the activity task", &err);
    size_t result_size = protobuf_c_message_get_packed_size(&payloads->base);
    protobuf_c_message_free_unpacked(&payloads->base, NULL);
    if (server_knows(st) || st == TLW_ERR_UNAVAILABLE || st == TLW_ERR_TIMEOUT ||
        st == TLW_ERR_CANCELLED)
        return st;
    /* Refused for a reason that a retry of the same call would meet again
     * (e.g. the result is over the server's size limit): fail the attempt
     * instead, saying why, rather than leave it to time out. */
    char message[TLW_ERROR_MESSAGE_MAX + 128];
    snprintf(message, sizeof message,
             "the server refused the activity's result (%zu bytes encoded): %s", result_size,
             err.message);
    return respond_failed(s, task, message, "tlw.ResultRefused", true, NULL, NULL);
}

static tlw_status respond_canceled(struct slot *s, const activity_task *task,
                                   const json_t *details)
{
    tlw_error err;
    tlw_payloads *payloads = NULL;
    if (details)
        tlw_payloads_from_json(details, false, &payloads, &err);
    Temporal__Api__Workflowservice__V1__RespondActivityTaskCanceledRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__RESPOND_ACTIVITY_TASK_CANCELED_REQUEST__INIT;
    Temporal__Api__Deployment__V1__WorkerDeploymentOptions dep = deployment_options(s);
    req.task_token = task->task_token;
    req.details = payloads;
    req.identity = (char *)s->spec->identity;
    req.namespace_ = s->settings->client.namespace_name.value;
    req.deployment_options = &dep;
    tlw_status st = respond(
        s, TLW_WORKFLOW_SERVICE "RespondActivityTaskCanceled", &req.base,
        &temporal__api__workflowservice__v1__respond_activity_task_canceled_response__descriptor,
        "report the activity canceled", NULL);
    if (payloads)
        protobuf_c_message_free_unpacked(&payloads->base, NULL);
    return st;
}

static void describe_death(const struct ran *ran, int64_t memory_limit_mb, char *out, size_t size)
{
    int status = ran->wait_status;
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        int n = snprintf(out, size, "the activity's process was killed by SIG%s (%s)",
                         abbrev ? abbrev : "?", strsignal(sig));
        if (memory_limit_mb > 0 && n > 0 && (size_t)n < size)
            snprintf(out + n, size - (size_t)n,
                     "; executor_memory_limit_mb is %lld, so it may have run out of memory",
                     (long long)memory_limit_mb);
    } else if (WIFEXITED(status)) {
        snprintf(out, size,
                 "the activity's process exited with status %d before returning a result "
                 "(did it call exit()?)",
                 WEXITSTATUS(status));
    } else {
        snprintf(out, size, "the activity's process could not be started");
    }
}

/* Runs one task and reports it. Returns the TASK_END outcome. */
static tlw_ipc_outcome handle_task(struct slot *s, const activity_task *task, bool *reported)
{
    const tlw_config *cfg = s->spec->config;
    struct task_run run = {.slot = s, .task = task};
    tlw_activity *act = &run.act;
    act->result_fd = -1;
    act->info = (tlw_activity_info){
        .activity_id = task->activity_id,
        .activity_type = task->activity_type ? task->activity_type->name : "",
        .workflow_id = task->workflow_execution ? task->workflow_execution->workflow_id : "",
        .workflow_run_id = task->workflow_execution ? task->workflow_execution->run_id : "",
        .workflow_type = task->workflow_type ? task->workflow_type->name : "",
        .workflow_namespace = task->workflow_namespace,
        .task_queue = s->settings->worker.task_queue.value,
        .attempt = task->attempt,
        .heartbeat_timeout_ms = tlw_duration_ms(task->heartbeat_timeout),
        .start_to_close_timeout_ms = tlw_duration_ms(task->start_to_close_timeout),
    };
    int64_t now = tlw_wall_ms();
    int64_t hard = executor_stop_ms(s);
    /* Kill a hung attempt a little before the server's start-to-close timer
     * fires, so that the failure says what happened. */
    int64_t stc = act->info.start_to_close_timeout_ms;
    int64_t early = stc / 10 < 500 ? stc / 10 : 500;
    run.stc_deadline_ms = stc > 0 && stc < INT64_MAX / 2 ? now + stc - early : INT64_MAX;
    /* What tlw_activity_time_left_ms() counts down to: the earlier of that
     * and the moment this invocation stops the activity. */
    act->deadline_ms = run.stc_deadline_ms < hard ? run.stc_deadline_ms : hard;
    run.heartbeat_interval_ms = act->info.heartbeat_timeout_ms > 0
                                    ? act->info.heartbeat_timeout_ms / 10 * 8
                                    : DEFAULT_HEARTBEAT_INTERVAL_MS;
    tlw_error err;
    if (task->heartbeat_details && task->heartbeat_details->n_payloads &&
        tlw_payloads_to_json(task->heartbeat_details, &act->previous_details, &err) != TLW_OK) {
        tlw_log_warn("previous heartbeat details of %s: %s", act->info.activity_type,
                     err.message);
        act->previous_details = NULL;
    }

    tlw_ipc_outcome outcome = TLW_IPC_OUTCOME_FAILED;
    tlw_status rs = TLW_OK; /* how the report went */
    tlw_activity_fn fn = tlw_config_activity(cfg, act->info.activity_type);
    json_t *args = NULL;
    if (!fn) {
        char names[512], message[1024];
        tlw_config_list_names(cfg, true, names, sizeof names);
        snprintf(message, sizeof message,
                 "activity type \"%s\" is not registered with this worker (registered: %s)",
                 act->info.activity_type, names);
        rs = respond_failed(s, task, message, "NotFoundError", false, NULL, NULL);
        goto out;
    }
    if (tlw_payloads_to_json(task->input, &args, &err) != TLW_OK) {
        char message[TLW_ERROR_MESSAGE_MAX + 64];
        snprintf(message, sizeof message, "the arguments of %s cannot be decoded: %s",
                 act->info.activity_type, err.message);
        rs = respond_failed(s, task, message, "tlw.ArgumentDecodingError", true, NULL, NULL);
        goto out;
    }

    struct ran ran = {0};
    int64_t memory_limit = s->settings->worker.executor_memory_limit_mb.value;
    if (s->settings->worker.isolation.value == TLW_ISOLATION_IN_PROCESS)
        run_in_process(&run, fn, args, &ran);
    else
        run_forked(&run, fn, args, &ran);

    char message[1024];
    switch (ran.outcome) {
    case RAN_RESULT: {
        json_t *result = json_object_get(ran.message, "result");
        json_t *failure = json_object_get(ran.message, "failure");
        if (result) {
            rs = respond_completed(s, task, result);
            outcome = TLW_IPC_OUTCOME_COMPLETED;
        } else if (failure) {
            rs = respond_failed(s, task, json_string_value(json_object_get(failure, "message")),
                           json_string_value(json_object_get(failure, "type")),
                           json_is_true(json_object_get(failure, "non_retryable")),
                           json_object_get(failure, "details"), run.latest_details);
        } else {
            rs = respond_canceled(s, task, run.latest_details);
            outcome = TLW_IPC_OUTCOME_CANCELED;
        }
        break;
    }
    case RAN_CRASHED:
    case RAN_EXITED:
        describe_death(&ran, memory_limit, message, sizeof message);
        rs = respond_failed(s, task, message,
                       ran.outcome == RAN_CRASHED ? "tlw.ActivityCrashed" : "tlw.ActivityExited",
                       false, NULL, run.latest_details);
        outcome = TLW_IPC_OUTCOME_CRASHED;
        break;
    case RAN_TIMED_OUT:
        snprintf(message, sizeof message,
                 "the activity ran past its start-to-close timeout (%lld ms) and was killed",
                 (long long)ran.limit_ms);
        rs = respond_failed(s, task, message, "tlw.ActivityTimedOut", false, NULL, run.latest_details);
        outcome = TLW_IPC_OUTCOME_TIMED_OUT;
        break;
    case RAN_OVERSIZED:
        snprintf(message, sizeof message,
                 "the activity's result or heartbeat details are over %d bytes as JSON, more "
                 "than a worker can send; store large data elsewhere and return a reference",
                 FRAME_MAX);
        rs = respond_failed(s, task, message, "tlw.ResultTooLarge", true, NULL,
                            run.latest_details);
        break;
    case RAN_SHUTDOWN:
        snprintf(message, sizeof message,
                 "the worker drained before the activity finished (the Lambda invocation "
                 "ended); failing it so that a retry starts at once");
        rs = respond_failed(s, task, message, "tlw.WorkerShutdown", false, NULL, run.latest_details);
        outcome = TLW_IPC_OUTCOME_TIMED_OUT;
        break;
    }
    json_decref(ran.message);
out:
    *reported = server_knows(rs);
    json_decref(args);
    json_decref(act->previous_details);
    json_decref(act->fail_details);
    json_decref(run.latest_details);
    return outcome;
}

/* ---- the loop ----------------------------------------------------------------- */

static void announce(int fd, tlw_ipc_type type, const activity_task *task,
                     tlw_ipc_outcome outcome, bool reported)
{
    if (task->task_token.len > TLW_IPC_TASK_TOKEN_MAX) {
        if (type == TLW_IPC_TASK_BEGIN)
            tlw_log_error("the task token of activity %s is %zu bytes, over the %d that a "
                          "TASK_BEGIN carries: if this worker dies running it, the server "
                          "retries it only after its timeout",
                          task->activity_type ? task->activity_type->name : "?",
                          task->task_token.len, TLW_IPC_TASK_TOKEN_MAX);
        return;
    }
    tlw_ipc_msg msg = {.type = type};
    if (type == TLW_IPC_TASK_BEGIN) {
        msg.task_begin.kind = TLW_IPC_TASK_ACTIVITY;
        msg.task_begin.attempt = task->attempt > 0 ? (uint32_t)task->attempt : 1;
        msg.task_begin.task_token_len = (uint32_t)task->task_token.len;
        memcpy(msg.task_begin.task_token, task->task_token.data, task->task_token.len);
        snprintf(msg.task_begin.type_name, sizeof msg.task_begin.type_name, "%s",
                 task->activity_type && task->activity_type->name[0] ? task->activity_type->name
                                                                      : "?");
    } else {
        msg.task_end.kind = TLW_IPC_TASK_ACTIVITY;
        msg.task_end.outcome = outcome;
        msg.task_end.reported = reported ? 1 : 0;
        msg.task_end.task_token_len = (uint32_t)task->task_token.len;
        memcpy(msg.task_end.task_token, task->task_token.data, task->task_token.len);
    }
    tlw_error err;
    if (tlw_ipc_send(fd, &msg, &err) != TLW_OK)
        tlw_log_warn("%s: %s", tlw_ipc_type_name(type), err.message);
}

static tlw_status poll_once(struct slot *s, activity_task **out, tlw_error *err)
{
    Temporal__Api__Workflowservice__V1__PollActivityTaskQueueRequest req =
        TEMPORAL__API__WORKFLOWSERVICE__V1__POLL_ACTIVITY_TASK_QUEUE_REQUEST__INIT;
    Temporal__Api__Taskqueue__V1__TaskQueue tq = TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
    tq.name = s->settings->worker.task_queue.value;
    tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
    Temporal__Api__Deployment__V1__WorkerDeploymentOptions dep = deployment_options(s);
    req.namespace_ = s->settings->client.namespace_name.value;
    req.task_queue = &tq;
    req.identity = (char *)s->spec->identity;
    req.worker_instance_key = s->worker_instance_key;
    req.deployment_options = &dep;
    tlw_rpc_call_options o = {.timeout_ms = POLL_TIMEOUT_MS, .cancel = &s->poll_cancel};
    return tlw_rpc_call(s->client, TLW_WORKFLOW_SERVICE "PollActivityTaskQueue", &req.base,
                        &temporal__api__workflowservice__v1__poll_activity_task_queue_response__descriptor,
                        (ProtobufCMessage **)out, &o, err);
}

int tlw_activity_slot_run(const tlw_slot_spec *spec)
{
    struct slot s = {.spec = spec, .settings = &spec->config->settings};
    tlw_rpc_cancel_init(&s.poll_cancel);
    atomic_init(&s.draining, 0);
    atomic_init(&s.polling, 0);
    int64_t hard_stop = tlw_slot_hard_stop_ms(spec);
    atomic_init(&s.hard_stop_ms, hard_stop == INT64_MAX ? LLONG_MAX : (long long)hard_stop);
    signal(SIGPIPE, SIG_IGN);

    tlw_error err;
    if (make_instance_key(s.worker_instance_key, sizeof s.worker_instance_key, &err) != TLW_OK ||
        tlw_fd_set_open(&s.executor_fds, &err) != TLW_OK) {
        tlw_log_error("%s", err.message);
        tlw_slot_send_fatal(spec->fd, err.message);
        tlw_fd_set_free(&s.executor_fds);
        return 1;
    }
    if (tlw_worker_connect(s.settings, &s.client, &err) != TLW_OK) {
        tlw_slot_send_fatal(spec->fd, err.message);
        tlw_fd_set_free(&s.executor_fds);
        return 1;
    }
    /* Reaching the server within the connect window (the supervisor fails
     * the invocation after it): a little less, so that the reason arrives
     * first. */
    tlw_namespace_description *ns = NULL;
    int64_t now = tlw_wall_ms();
    tlw_rpc_call_options call = {.timeout_ms = tlw_slot_connect_by_ms(spec, now) - now - 300};
    if (call.timeout_ms < 100)
        call.timeout_ms = 100;
    if (tlw_service_describe_namespace(s.client, s.settings->client.namespace_name.value, &call,
                                       &ns, &err) != TLW_OK) {
        tlw_log_error("%s", err.message);
        tlw_slot_send_fatal(spec->fd, err.message);
        tlw_rpc_client_close(s.client);
        tlw_fd_set_free(&s.executor_fds);
        return 1;
    }
    tlw_namespace_capabilities caps;
    tlw_namespace_capabilities_read(ns, &caps);
    protobuf_c_message_free_unpacked(&ns->base, NULL);
    s.graceful_poll_shutdown = caps.worker_poll_complete_on_shutdown;

    pthread_t control;
    if (pthread_create(&control, NULL, control_thread, &s) != 0) {
        tlw_slot_send_fatal(spec->fd, "cannot start the control thread");
        tlw_rpc_client_close(s.client);
        tlw_fd_set_free(&s.executor_fds);
        return 1;
    }
    tlw_slot_send_ready(spec);

    /* Poll until DRAIN. A task that arrives, even while draining, is run. */
    unsigned failures = 0;
    while (!atomic_load(&s.draining)) {
        activity_task *task = NULL;
        atomic_store(&s.polling, 1);
        tlw_status st = atomic_load(&s.draining) ? TLW_ERR_CANCELLED : poll_once(&s, &task, &err);
        atomic_store(&s.polling, 0);
        if (st == TLW_OK && task->task_token.len > 0) {
            failures = 0;
            s.stats.tasks_started++;
            announce(spec->fd, TLW_IPC_TASK_BEGIN, task, 0, false);
            bool reported = false;
            tlw_ipc_outcome outcome = handle_task(&s, task, &reported);
            announce(spec->fd, TLW_IPC_TASK_END, task, outcome, reported);
            if (outcome == TLW_IPC_OUTCOME_COMPLETED)
                s.stats.tasks_completed++;
            else if (outcome == TLW_IPC_OUTCOME_CANCELED)
                s.stats.tasks_canceled++;
            else
                s.stats.tasks_failed++;
        } else if (st != TLW_OK && st != TLW_ERR_CANCELLED && !atomic_load(&s.draining)) {
            /* The server may be restarting: say so, back off, poll again. */
            tlw_log_warn("%s", err.message);
            if (failures < 5)
                failures++;
            struct timespec pause = {.tv_sec = 0, .tv_nsec = 200000000L * (long)failures};
            nanosleep(&pause, NULL);
        }
        if (task)
            protobuf_c_message_free_unpacked(&task->base, NULL);
    }
    tlw_rpc_cancel_request(&s.poll_cancel);
    pthread_join(control, NULL);
    tlw_ipc_msg msg = {.type = TLW_IPC_STATS, .stats = s.stats};
    tlw_ipc_send(spec->fd, &msg, NULL);
    tlw_rpc_client_close(s.client);
    tlw_fd_set_free(&s.executor_fds);
    return 0;
}
