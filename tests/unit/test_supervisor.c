/*
 * The supervisor's invocation lifecycle with its effects injected: a scripted
 * Runtime API, and children that are real forked processes playing scripted
 * parts (idle, crash after announcing a task, ignore DRAIN). The clock is the
 * real one; deadlines are set a few seconds ahead.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "common/error.h"
#include "supervisor/supervisor.h"
#include "worker/slot.h"
#include "worker/zygote.h"

typedef enum {
    PART_IDLE,
    PART_CRASH_WITH_TASK,
    PART_IGNORE_DRAIN,
    PART_EXIT_AT_ONCE,
    PART_CHATTY,         /* READY, then STATS without pause; ignores DRAIN */
    PART_CANNOT_CONNECT, /* FATAL naming the server, exit 1 (a polling slot) */
    PART_UNREPORTED,     /* a task it could not report to the server, then idle */
} part;

struct fake {
    part activity0_first; /* what activity-0 does the first time */
    part activity0_later; /* ... and when restarted */
    part workflow0;
    unsigned spawns;
    unsigned activity0_spawns;
    /* recover_task */
    unsigned recovered;
    char recovered_token[64];
    char recovered_reason[128];
    bool recover_hangs; /* recover_task forks a process that never ends */
    /* what the slots were given */
    char trace_id[64];
    /* Runtime API */
    unsigned next_calls;
    unsigned invocations_to_serve;
    unsigned bad_answers;   /* the first this many answers are malformed */
    bool bad_answers_named; /* ... yet carry a request id */
    unsigned responses;
    char last_response[2048];
    unsigned errors;
    char last_error_request_id[64];
    char last_error_type[64];
    char last_error[512];
    int64_t pause_before_next_ms; /* idle time before each invocation after the first */
    int64_t deadline_ms[4];       /* of each invocation served */
    int64_t answered_ms[4];       /* when each was answered */
    int64_t hook_sleep_ms;        /* a shutdown hook that takes this long */
    unsigned spawns_at_last_error;
    /* the executor zygote */
    unsigned zygotes; /* forked */
    pid_t zygote_pids[4];
    unsigned zygote_channels;    /* activity slots given a channel to it */
    unsigned kill_zygote_before; /* SIGKILL it before answering this next() (1-based) */
};

static struct fake fake;
static int hook_order[8];
static int hook_calls;

static int64_t now_ms(void *ctx)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void play(part p, const tlw_slot_spec *spec)
{
    tlw_ipc_msg msg = {.type = TLW_IPC_READY};
    msg.ready.pid = (uint32_t)getpid();
    msg.ready.slot_kind = spec->kind;
    msg.ready.slot_index = spec->index;
    switch (p) {
    case PART_IDLE: _exit(tlw_slot_main(spec));
    case PART_CRASH_WITH_TASK:
        tlw_ipc_send(spec->fd, &msg, NULL);
        msg = (tlw_ipc_msg){.type = TLW_IPC_TASK_BEGIN};
        msg.task_begin.kind = TLW_IPC_TASK_ACTIVITY;
        msg.task_begin.attempt = 2;
        memcpy(msg.task_begin.task_token, "tok-1", 5);
        msg.task_begin.task_token_len = 5;
        snprintf(msg.task_begin.type_name, sizeof msg.task_begin.type_name, "flaky");
        tlw_ipc_send(spec->fd, &msg, NULL);
        signal(SIGABRT, SIG_DFL);
        abort();
    case PART_IGNORE_DRAIN:
        tlw_ipc_send(spec->fd, &msg, NULL);
        for (;;)
            pause();
    case PART_EXIT_AT_ONCE: _exit(3);
    case PART_CHATTY: {
        tlw_ipc_send(spec->fd, &msg, NULL);
        /* More writers than the supervisor has cores to read with. */
        for (int i = 0; i < 3; i++)
            if (fork() == 0)
                break;
        tlw_ipc_msg stats = {.type = TLW_IPC_STATS};
        for (;;)
            tlw_ipc_send(spec->fd, &stats, NULL);
    }
    case PART_CANNOT_CONNECT:
        tlw_slot_send_fatal(spec->fd, "DescribeNamespace to 127.0.0.1:1: cannot reach the "
                                      "Temporal server");
        _exit(1);
    case PART_UNREPORTED: {
        tlw_ipc_send(spec->fd, &msg, NULL);
        msg = (tlw_ipc_msg){.type = TLW_IPC_TASK_BEGIN};
        msg.task_begin.kind = TLW_IPC_TASK_ACTIVITY;
        msg.task_begin.attempt = 1;
        memcpy(msg.task_begin.task_token, "tok-2", 5);
        msg.task_begin.task_token_len = 5;
        snprintf(msg.task_begin.type_name, sizeof msg.task_begin.type_name, "big");
        tlw_ipc_send(spec->fd, &msg, NULL);
        msg = (tlw_ipc_msg){.type = TLW_IPC_TASK_END};
        msg.task_end.kind = TLW_IPC_TASK_ACTIVITY;
        msg.task_end.outcome = TLW_IPC_OUTCOME_COMPLETED;
        msg.task_end.reported = 0;
        memcpy(msg.task_end.task_token, "tok-2", 5);
        msg.task_end.task_token_len = 5;
        tlw_ipc_send(spec->fd, &msg, NULL);
        while (tlw_ipc_recv(spec->fd, &msg, NULL) == TLW_OK && msg.type != TLW_IPC_DRAIN)
            ;
        _exit(0);
    }
    }
    _exit(99);
}

static pid_t spawn(const tlw_supervisor_ops *ops, const tlw_slot_spec *spec, const int *close_fds,
                   size_t n, tlw_error *err)
{
    struct fake *f = ops->ctx;
    snprintf(f->trace_id, sizeof f->trace_id, "%s", spec->trace_id ? spec->trace_id : "");
    part p = PART_IDLE;
    if (spec->kind == TLW_IPC_SLOT_ACTIVITY && spec->index == 0)
        p = f->activity0_spawns++ == 0 ? f->activity0_first : f->activity0_later;
    if (spec->kind == TLW_IPC_SLOT_WORKFLOW && spec->index == 0)
        p = f->workflow0;
    f->spawns++;
    if (spec->kind == TLW_IPC_SLOT_ACTIVITY && spec->zygote_fd >= 0 &&
        fcntl(spec->zygote_fd, F_GETFD) >= 0)
        f->zygote_channels++;
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0); /* as the real spawn does: the hard stop kills the group */
        for (size_t i = 0; i < n; i++)
            close(close_fds[i]);
        signal(SIGCHLD, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        play(p, spec);
    }
    return pid;
}

static pid_t recover(const tlw_supervisor_ops *ops, const tlw_config *cfg, const char *identity,
                     const tlw_ipc_task_begin *task, const char *reason, int64_t report_by_ms)
{
    struct fake *f = ops->ctx;
    f->recovered++;
    snprintf(f->recovered_token, sizeof f->recovered_token, "%.*s", (int)task->task_token_len,
             (const char *)task->task_token);
    snprintf(f->recovered_reason, sizeof f->recovered_reason, "%s", reason);
    if (!f->recover_hangs)
        return -1;
    pid_t pid = fork();
    if (pid == 0)
        for (;;)
            pause();
    return pid;
}

static tlw_status next(void *ctx, tlw_invocation *inv, tlw_error *err)
{
    struct fake *f = ctx;
    if (f->kill_zygote_before == f->next_calls + 1 && f->zygotes > 0) {
        kill(f->zygote_pids[f->zygotes - 1], SIGKILL);
        usleep(100 * 1000);
    }
    if (f->next_calls++ >= f->invocations_to_serve)
        return tlw_error_set(err, TLW_ERR_UNAVAILABLE, "gone");
    if (f->next_calls > 1 && f->pause_before_next_ms > 0) {
        struct timespec pause = {.tv_sec = f->pause_before_next_ms / 1000,
                                 .tv_nsec = f->pause_before_next_ms % 1000 * 1000000L};
        nanosleep(&pause, NULL);
    }
    char id[32];
    snprintf(id, sizeof id, "req-%u", f->next_calls);
    if (f->next_calls <= f->bad_answers) {
        /* What tlw_runtime_api_next leaves of a malformed answer. */
        if (f->bad_answers_named)
            inv->request_id = strdup(id);
        return tlw_error_set(err, TLW_ERR_PROTOCOL,
                             "Runtime API: Lambda-Runtime-Deadline-Ms \"9223372036854775807\" is "
                             "out of range: a deadline is epoch milliseconds, at most "
                             "4611686018427387903");
    }
    inv->request_id = strdup(id);
    inv->function_arn = strdup("arn:aws:lambda:test");
    inv->trace_id = strdup("Root=1-5759e988-bd862e3fe1be46a994272793");
    inv->client_context = strdup("");
    inv->cognito_identity = strdup("");
    inv->event = strdup("{}");
    inv->event_len = 2;
    inv->deadline_ms = now_ms(ctx) + 2500;
    if (f->next_calls <= 4)
        f->deadline_ms[f->next_calls - 1] = inv->deadline_ms;
    return TLW_OK;
}

static tlw_status respond(void *ctx, const char *request_id, const char *body, size_t len,
                          tlw_error *err)
{
    struct fake *f = ctx;
    if (f->responses < 4)
        f->answered_ms[f->responses] = now_ms(ctx);
    f->responses++;
    snprintf(f->last_response, sizeof f->last_response, "%.*s", (int)len, body);
    return TLW_OK;
}

static tlw_status invocation_error(void *ctx, const char *request_id, const char *error_type,
                                   const char *message, tlw_error *err)
{
    struct fake *f = ctx;
    f->errors++;
    snprintf(f->last_error_request_id, sizeof f->last_error_request_id, "%s", request_id);
    f->spawns_at_last_error = f->spawns;
    snprintf(f->last_error_type, sizeof f->last_error_type, "%s", error_type);
    snprintf(f->last_error, sizeof f->last_error, "%s", message);
    return TLW_OK;
}

static tlw_status init_error(void *ctx, const char *error_type, const char *message, tlw_error *err)
{
    return invocation_error(ctx, "init", error_type, message, err);
}

/* The environment the supervisor reads settings from: no tuning file. */
static char *const environment[] = {"TLW_WORKER_CONFIG=", NULL};

static tlw_supervisor_ops ops = {
    .ctx = &fake,
    .environ = environment,
    .slot_main = tlw_slot_main,
    .slot_polls = tlw_slot_polls,
    .next = next,
    .respond = respond,
    .invocation_error = invocation_error,
    .init_error = init_error,
    .now_ms = now_ms,
    .spawn = spawn,
    .recover_task = recover,
};

static tlw_status hook(void *arg)
{
    int id = (int)(intptr_t)arg;
    if (fake.hook_sleep_ms > 0 && id == 2) {
        struct timespec pause = {.tv_sec = fake.hook_sleep_ms / 1000,
                                 .tv_nsec = fake.hook_sleep_ms % 1000 * 1000000L};
        nanosleep(&pause, NULL);
    }
    hook_order[hook_calls++] = id;
    return id == 1 ? TLW_ERR_IO : TLW_OK; /* the first one fails; the rest still run */
}

/* One workflow and one activity slot, a 400 ms graceful timeout and a
 * 1000 ms buffer: with a deadline 2.5 s ahead, the drain comes at 1.5 s. */
static int configure(tlw_config *cfg)
{
    tlw_config_set_task_queue(cfg, "q");
    tlw_config_set_workflow_slots(cfg, 1);
    tlw_config_set_activity_slots(cfg, 1);
    tlw_config_set_graceful_shutdown_timeout_ms(cfg, 400);
    tlw_config_set_shutdown_deadline_buffer_ms(cfg, 1000);
    tlw_config_add_shutdown_hook(cfg, hook, (void *)(intptr_t)1);
    tlw_config_add_shutdown_hook(cfg, hook, (void *)(intptr_t)2);
    return 0;
}

/* Invocation hooks record "s<id>" / "t<id>" in order; setup 3 fails. */
static char hook_log[64];

static tlw_status setup_hook(void *arg)
{
    int id = (int)(intptr_t)arg;
    snprintf(hook_log + strlen(hook_log), sizeof hook_log - strlen(hook_log), "s%d ", id);
    return id == 3 ? TLW_ERR_IO : TLW_OK;
}

static tlw_status teardown_hook(void *arg)
{
    snprintf(hook_log + strlen(hook_log), sizeof hook_log - strlen(hook_log), "t%d ",
             (int)(intptr_t)arg);
    return TLW_OK;
}

static tlw_status shutdown_marker(void *arg)
{
    snprintf(hook_log + strlen(hook_log), sizeof hook_log - strlen(hook_log), "hook ");
    return TLW_OK;
}

static int configure_with_invocation_hooks(tlw_config *cfg)
{
    configure(cfg);
    tlw_config_add_shutdown_hook(cfg, shutdown_marker, NULL);
    tlw_config_add_invocation_hooks(cfg, setup_hook, teardown_hook, (void *)(intptr_t)1);
    tlw_config_add_invocation_hooks(cfg, setup_hook, teardown_hook, (void *)(intptr_t)2);
    return 0;
}

static int configure_with_failing_setup(tlw_config *cfg)
{
    configure_with_invocation_hooks(cfg);
    tlw_config_add_invocation_hooks(cfg, setup_hook, teardown_hook, (void *)(intptr_t)3);
    return 0;
}

static tlw_status noop_activity(tlw_activity *act, const json_t *args, json_t **result)
{
    return TLW_OK;
}

/* With an activity registered, activity slots poll (they must connect). */
static int configure_polling(tlw_config *cfg)
{
    configure(cfg);
    tlw_register_activity(cfg, "noop", noop_activity);
    return 0;
}

static int bad_configure(tlw_config *cfg)
{
    return tlw_config_fail(cfg, "no database URL");
}

static const tlw_version version = {.deployment_name = "dep", .build_id = "b1"};

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n;
}

static int setup(void **state)
{
    memset(&fake, 0, sizeof fake);
    hook_calls = 0;
    return 0;
}

static tlw_status run(int64_t deadline_in_ms, tlw_configure_fn fn, tlw_invocation_summary *s,
                      const char **error_type, tlw_error *err, int64_t *elapsed)
{
    tlw_invocation inv = {
        .request_id = "r1", .function_arn = "arn:x", .deadline_ms = now_ms(NULL) + deadline_in_ms};
    int64_t t0 = now_ms(NULL);
    tlw_status st = tlw_supervisor_run_invocation(&ops, &version, fn, &inv, s, error_type, err);
    *elapsed = now_ms(NULL) - t0;
    return st;
}

static void idle_workers_drain_at_the_drain_point(void **state)
{
    ev_default_loop(0); /* its own descriptors live as long as the process */
    int fds_before = count_fds();
    tlw_invocation_summary s;
    const char *type;
    tlw_error err;
    int64_t elapsed;
    assert_int_equal(run(2500, configure, &s, &type, &err, &elapsed), TLW_OK);
    assert_int_equal(s.ready, 2);
    assert_int_equal(s.crashes, 0);
    assert_int_equal(s.killed, 0);
    assert_true(s.work_window_ms > 1300 && s.work_window_ms <= 1500);
    /* Drained at 1.5 s, done well before the 2.5 s deadline. */
    assert_true(elapsed >= 1400);
    assert_true(elapsed < 2300);
    assert_true(s.drain_ms < 300);
    /* The shutdown hooks ran in order, past the failing first one. */
    assert_int_equal(hook_calls, 2);
    assert_int_equal(hook_order[0], 1);
    assert_int_equal(hook_order[1], 2);
    assert_int_equal(count_fds(), fds_before);
}

static void a_child_that_ignores_drain_is_killed(void **state)
{
    fake.workflow0 = PART_IGNORE_DRAIN;
    tlw_invocation_summary s;
    const char *type;
    tlw_error err;
    int64_t elapsed;
    assert_int_equal(run(2500, configure, &s, &type, &err, &elapsed), TLW_OK);
    assert_int_equal(s.killed, 1);
    /* The drain at 1.5 s, the kill 400 ms later, still before the deadline. */
    assert_true(s.drain_ms >= 350);
    assert_true(elapsed < 2450);
}

static void a_crashed_child_is_replaced_and_its_task_recovered(void **state)
{
    fake.activity0_first = PART_CRASH_WITH_TASK;
    fake.activity0_later = PART_IDLE;
    tlw_invocation_summary s;
    const char *type;
    tlw_error err;
    int64_t elapsed;
    assert_int_equal(run(2500, configure, &s, &type, &err, &elapsed), TLW_OK);
    assert_int_equal(s.crashes, 1);
    assert_int_equal(s.restarts, 1);
    assert_int_equal(s.recovered_tasks, 1);
    assert_int_equal(s.tasks[TLW_IPC_TASK_ACTIVITY][TLW_IPC_OUTCOME_CRASHED], 1);
    assert_int_equal(fake.recovered, 1);
    assert_string_equal(fake.recovered_token, "tok-1");
    assert_non_null(strstr(fake.recovered_reason, "SIGABRT"));
    assert_int_equal(s.ready, 3); /* two at the start, one from the replacement */
}

static void a_crash_loop_is_bounded(void **state)
{
    fake.activity0_first = PART_EXIT_AT_ONCE;
    fake.activity0_later = PART_EXIT_AT_ONCE;
    tlw_invocation_summary s;
    const char *type;
    tlw_error err;
    int64_t elapsed;
    assert_int_equal(run(2500, configure, &s, &type, &err, &elapsed), TLW_OK);
    assert_int_equal(s.restarts, TLW_MAX_RESTARTS_PER_SLOT);
    assert_int_equal(s.crashes, TLW_MAX_RESTARTS_PER_SLOT + 1);
    assert_int_equal(fake.activity0_spawns, TLW_MAX_RESTARTS_PER_SLOT + 1);
}

static void too_short_a_window_is_refused_before_forking(void **state)
{
    tlw_invocation_summary s;
    const char *type;
    tlw_error err;
    int64_t elapsed;
    assert_int_equal(run(1800, configure, &s, &type, &err, &elapsed), TLW_ERR_INVALID);
    assert_string_equal(type, "Tlw.DeadlineTooShort");
    assert_non_null(strstr(err.message, "raise the function timeout"));
    assert_int_equal(fake.spawns, 0);
}

static void a_failing_configure_is_a_config_error(void **state)
{
    tlw_invocation_summary s;
    const char *type;
    tlw_error err;
    int64_t elapsed;
    assert_int_equal(run(2500, bad_configure, &s, &type, &err, &elapsed), TLW_ERR_INVALID);
    assert_string_equal(type, "Tlw.ConfigError");
    assert_non_null(strstr(err.message, "no database URL"));
    assert_int_equal(fake.spawns, 0);
}

static void invocation_hooks_wrap_the_workers(void **state)
{
    hook_log[0] = '\0';
    tlw_invocation_summary s;
    const char *type;
    tlw_error err;
    int64_t elapsed;
    assert_int_equal(run(2500, configure_with_invocation_hooks, &s, &type, &err, &elapsed), TLW_OK);
    assert_int_equal(s.ready, 2);
    assert_string_equal(hook_log, "s1 s2 hook t2 t1 ");
}

static void a_failing_setup_fails_the_invocation_and_tears_down(void **state)
{
    hook_log[0] = '\0';
    tlw_invocation_summary s;
    const char *type;
    tlw_error err;
    int64_t elapsed;
    assert_int_equal(run(2500, configure_with_failing_setup, &s, &type, &err, &elapsed),
                     TLW_ERR_IO);
    assert_string_equal(type, "Tlw.SetupError");
    assert_non_null(strstr(err.message, "invocation setup 3 of 3 failed"));
    assert_string_equal(hook_log, "s1 s2 s3 t2 t1 ");
    assert_int_equal(fake.spawns, 0);
}

static void serve_answers_each_invocation_until_the_api_is_gone(void **state)
{
    fake.invocations_to_serve = 2;
    assert_int_equal(tlw_supervisor_serve(&ops, &version, configure), 1);
    assert_int_equal(fake.responses, 2);
    assert_int_equal(fake.errors, 0);
    assert_non_null(strstr(fake.last_response, "\"request_id\":\"req-2\""));
    assert_non_null(strstr(fake.last_response, "\"ready\":2"));
}

static void serve_reports_bad_settings_as_an_init_error(void **state)
{
    fake.invocations_to_serve = 1;
    assert_int_equal(tlw_supervisor_serve(&ops, &version, bad_configure), 1);
    assert_int_equal(fake.next_calls, 0);
    assert_int_equal(fake.errors, 1);
    assert_string_equal(fake.last_error_type, "Tlw.ConfigError");
}

/* The drain point of an invocation that follows an idle pause longer than
 * the work window is still its own deadline - buffer (the loop's cached time
 * is stale after the pause). */
static void a_pause_between_invocations_does_not_move_the_drain(void **state)
{
    fake.invocations_to_serve = 2;
    fake.pause_before_next_ms = 2000; /* the work window is 1.5 s */
    assert_int_equal(tlw_supervisor_serve(&ops, &version, configure), 1);
    assert_int_equal(fake.responses, 2);
    for (int i = 0; i < 2; i++) {
        int64_t drain_at = fake.deadline_ms[i] - 1000;
        /* answered after the drain point (idle slots drain at once), before the deadline */
        assert_in_range(fake.answered_ms[i], drain_at - 200, fake.deadline_ms[i] - 1);
    }
}

/* A child that writes without pause must not keep the loop from its timers. */
static void a_chatty_child_cannot_starve_the_timers(void **state)
{
    fake.workflow0 = PART_CHATTY;
    tlw_invocation_summary s;
    const char *type;
    tlw_error err;
    int64_t elapsed;
    assert_int_equal(run(2500, configure, &s, &type, &err, &elapsed), TLW_OK);
    assert_int_equal(s.killed, 1); /* at the hard stop, 1.9 s in */
    assert_in_range(elapsed, 1800, 2400);
}

/* A shutdown hook that runs past the deadline does not make the invocation
 * miss it: the response is posted on time. */
static void an_overrunning_shutdown_hook_does_not_delay_the_answer(void **state)
{
    fake.invocations_to_serve = 1;
    fake.hook_sleep_ms = 2000; /* starts at ~1.5 s, deadline at 2.5 s */
    assert_int_equal(tlw_supervisor_serve(&ops, &version, configure), 1);
    assert_int_equal(fake.responses, 1); /* once, by the watchdog */
    assert_in_range(fake.answered_ms[0], fake.deadline_ms[0] - 300, fake.deadline_ms[0] - 1);
    assert_non_null(strstr(fake.last_response, "\"request_id\":\"req-1\""));
}

/* The trace id reaches the slots through their spec; the supervisor's own
 * environment does not change (setenv there grows it every invocation). */
static void the_trace_id_reaches_the_slots_not_the_supervisor(void **state)
{
    unsetenv("_X_AMZN_TRACE_ID");
    fake.invocations_to_serve = 2;
    assert_int_equal(tlw_supervisor_serve(&ops, &version, configure), 1);
    assert_string_equal(fake.trace_id, "Root=1-5759e988-bd862e3fe1be46a994272793");
    assert_null(getenv("_X_AMZN_TRACE_ID"));
}

/* No slot reaches the server: the invocation fails early, naming why. */
static void an_unreachable_server_fails_the_invocation(void **state)
{
    fake.activity0_first = PART_CANNOT_CONNECT;
    fake.activity0_later = PART_CANNOT_CONNECT;
    tlw_invocation_summary s;
    const char *type;
    tlw_error err;
    int64_t elapsed;
    assert_int_equal(run(2500, configure_polling, &s, &type, &err, &elapsed), TLW_ERR_UNAVAILABLE);
    assert_string_equal(type, "Tlw.ConnectError");
    assert_non_null(strstr(err.message, "no worker could reach the Temporal server at "
                                        "localhost:7233 (namespace \"default\")"));
    assert_non_null(strstr(err.message, "DescribeNamespace to 127.0.0.1:1"));
    assert_true(elapsed < 1000); /* not at the drain point */
}

/* A task whose slot could not tell the server goes to the recovery path. */
static void an_unreported_task_is_recovered(void **state)
{
    fake.activity0_first = PART_UNREPORTED;
    tlw_invocation_summary s;
    const char *type;
    tlw_error err;
    int64_t elapsed;
    assert_int_equal(run(2500, configure, &s, &type, &err, &elapsed), TLW_OK);
    assert_int_equal(s.unreported_tasks, 1);
    assert_int_equal(fake.recovered, 1);
    assert_string_equal(fake.recovered_token, "tok-2");
    assert_non_null(strstr(fake.recovered_reason, "could not report"));
}

/* A recovery reporter that hangs is killed at the final moment; the
 * invocation still ends before its deadline. */
static void a_hanging_reporter_is_killed_before_the_deadline(void **state)
{
    fake.activity0_first = PART_CRASH_WITH_TASK;
    fake.activity0_later = PART_IDLE;
    fake.recover_hangs = true;
    tlw_invocation_summary s;
    const char *type;
    tlw_error err;
    int64_t elapsed;
    assert_int_equal(run(2500, configure, &s, &type, &err, &elapsed), TLW_OK);
    assert_int_equal(fake.recovered, 1);
    assert_in_range(elapsed, 2500 - TLW_FINAL_MARGIN_MS - 100, 2499);
}

static void serve_fails_a_bad_invocation_that_has_a_request_id(void **state)
{
    /* Eleven bad answers, each naming its invocation, then a good one. */
    fake.invocations_to_serve = 12;
    fake.bad_answers = 11;
    fake.bad_answers_named = true;
    assert_int_equal(tlw_supervisor_serve(&ops, &version, configure), 1);
    /* Each bad one is failed at once, without forking, and does not count
     * towards giving up: Lambda got its answer. */
    assert_int_equal(fake.errors, 11);
    assert_string_equal(fake.last_error_request_id, "req-11");
    assert_string_equal(fake.last_error_type, "Tlw.BadInvocation");
    assert_string_equal(fake.last_error,
                        "invocation req-11 was not run: Runtime API: Lambda-Runtime-Deadline-Ms "
                        "\"9223372036854775807\" is out of range: a deadline is epoch "
                        "milliseconds, at most 4611686018427387903");
    assert_int_equal(fake.spawns_at_last_error, 0);
    assert_int_equal(fake.responses, 1);
    assert_non_null(strstr(fake.last_response, "\"request_id\":\"req-12\""));
    assert_int_equal(fake.next_calls, 13);
}

static void serve_gives_up_after_ten_bad_answers_without_a_request_id(void **state)
{
    fake.invocations_to_serve = 20;
    fake.bad_answers = 20;
    assert_int_equal(tlw_supervisor_serve(&ops, &version, configure), 1);
    assert_int_equal(fake.next_calls, 10);
    assert_int_equal(fake.errors, 0);
    assert_int_equal(fake.spawns, 0);
}

/* ---- the executor zygote ---- */

/* The real fork_zygote, counted. */
static pid_t count_zygote(const tlw_supervisor_ops *o, const tlw_config *cfg,
                          const tlw_fd_set *keep_fds, int *control, tlw_error *err)
{
    tlw_supervisor_ops real;
    tlw_supervisor_default_ops(&real, NULL);
    pid_t pid = real.spawn_zygote(o, cfg, keep_fds, control, err);
    struct fake *f = o->ctx;
    if (pid > 0 && f->zygotes < 4)
        f->zygote_pids[f->zygotes++] = pid;
    return pid;
}

/* Activity slots that the supervisor takes for polling ones (so that it
 * wants a zygote), which idle as slots do when nothing is registered. */
static bool activity_polls(tlw_ipc_slot_kind kind, const tlw_config *cfg)
{
    return kind == TLW_IPC_SLOT_ACTIVITY;
}

static tlw_supervisor_ops zygote_ops(void)
{
    tlw_supervisor_ops o = ops;
    o.spawn_zygote = count_zygote;
    o.zygote_main = tlw_zygote_main;
    o.slot_polls = activity_polls;
    return o;
}

static void one_zygote_serves_every_invocation(void **state)
{
    tlw_supervisor_ops o = zygote_ops();
    fake.invocations_to_serve = 3;
    assert_int_equal(tlw_supervisor_serve(&o, &version, configure), 1);
    assert_int_equal(fake.responses, 3);
    assert_int_equal(fake.zygotes, 1);
    assert_int_equal(fake.zygote_channels, 3);
    /* Ended and reaped when serve returns. */
    assert_int_equal(kill(fake.zygote_pids[0], 0), -1);
}

static void a_killed_zygote_is_replaced_at_the_next_invocation(void **state)
{
    tlw_supervisor_ops o = zygote_ops();
    fake.invocations_to_serve = 3;
    fake.kill_zygote_before = 2;
    assert_int_equal(tlw_supervisor_serve(&o, &version, configure), 1);
    assert_int_equal(fake.responses, 3);
    assert_int_equal(fake.errors, 0);
    assert_int_equal(fake.zygotes, 2);
    assert_int_equal(fake.zygote_channels, 3);
}

static void with_invocation_setups_each_invocation_has_its_zygote(void **state)
{
    tlw_supervisor_ops o = zygote_ops();
    fake.invocations_to_serve = 2;
    assert_int_equal(tlw_supervisor_serve(&o, &version, configure_with_invocation_hooks), 1);
    assert_int_equal(fake.responses, 2);
    assert_int_equal(fake.zygotes, 2); /* none at start-up */
    assert_int_equal(fake.zygote_channels, 2);
    for (unsigned i = 0; i < 2; i++) /* each ended with its invocation */
        assert_int_equal(kill(fake.zygote_pids[i], 0), -1);
}

static int configure_without_zygote(tlw_config *cfg)
{
    configure(cfg);
    tlw_config_set_executor_zygote(cfg, 0);
    return 0;
}

static void no_zygote_when_it_is_turned_off(void **state)
{
    tlw_supervisor_ops o = zygote_ops();
    fake.invocations_to_serve = 1;
    assert_int_equal(tlw_supervisor_serve(&o, &version, configure_without_zygote), 1);
    assert_int_equal(fake.responses, 1);
    assert_int_equal(fake.zygotes, 0);
    assert_int_equal(fake.zygote_channels, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(idle_workers_drain_at_the_drain_point, setup),
        cmocka_unit_test_setup(a_child_that_ignores_drain_is_killed, setup),
        cmocka_unit_test_setup(a_crashed_child_is_replaced_and_its_task_recovered, setup),
        cmocka_unit_test_setup(a_crash_loop_is_bounded, setup),
        cmocka_unit_test_setup(too_short_a_window_is_refused_before_forking, setup),
        cmocka_unit_test_setup(a_failing_configure_is_a_config_error, setup),
        cmocka_unit_test_setup(invocation_hooks_wrap_the_workers, setup),
        cmocka_unit_test_setup(a_failing_setup_fails_the_invocation_and_tears_down, setup),
        cmocka_unit_test_setup(serve_answers_each_invocation_until_the_api_is_gone, setup),
        cmocka_unit_test_setup(serve_reports_bad_settings_as_an_init_error, setup),
        cmocka_unit_test_setup(a_pause_between_invocations_does_not_move_the_drain, setup),
        cmocka_unit_test_setup(a_chatty_child_cannot_starve_the_timers, setup),
        cmocka_unit_test_setup(an_overrunning_shutdown_hook_does_not_delay_the_answer, setup),
        cmocka_unit_test_setup(the_trace_id_reaches_the_slots_not_the_supervisor, setup),
        cmocka_unit_test_setup(an_unreachable_server_fails_the_invocation, setup),
        cmocka_unit_test_setup(an_unreported_task_is_recovered, setup),
        cmocka_unit_test_setup(a_hanging_reporter_is_killed_before_the_deadline, setup),
        cmocka_unit_test_setup(serve_fails_a_bad_invocation_that_has_a_request_id, setup),
        cmocka_unit_test_setup(serve_gives_up_after_ten_bad_answers_without_a_request_id, setup),
        cmocka_unit_test_setup(one_zygote_serves_every_invocation, setup),
        cmocka_unit_test_setup(a_killed_zygote_is_replaced_at_the_next_invocation, setup),
        cmocka_unit_test_setup(with_invocation_setups_each_invocation_has_its_zygote, setup),
        cmocka_unit_test_setup(no_zygote_when_it_is_turned_off, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
