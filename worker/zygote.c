#include "config.h"

#include "worker/zygote.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "ipc/ipc.h"
#include "worker/executor.h"

/* What the zygote tells the slot. */
enum { ZYGOTE_SPARE = 1, ZYGOTE_EXITED = 2 };
typedef struct zygote_msg {
    uint32_t kind;
    uint32_t pid;   /* SPARE: 0 if it could not fork */
    int32_t status; /* EXITED */
} zygote_msg;

/* ---- the zygote ------------------------------------------------------------------ */

/* What the zygote serves: the slots' channels, and the executors it forked
 * for each (until it reaps them). */
struct zygote {
    const tlw_config *cfg;
    tlw_fd_set keep; /* what executors keep besides stdio and their socket */
    int64_t memory_limit_mb;
    int control, sigfd;
    int *chans;
    size_t nchans, chans_cap;
    struct executor {
        pid_t pid;
        int chan; /* -1: its slot hung up (it was killed) */
    } * execs;
    size_t nexecs, execs_cap;
};

static bool grow(void **items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *bigger = realloc(*items, ncap * size);
    if (!bigger)
        return false;
    *items = bigger;
    *cap = ncap;
    return true;
}

static bool send_msg(int chan, const zygote_msg *m, int fd)
{
    return tlw_ipc_send_fd(chan, m, sizeof *m, fd);
}

/* Forks one executor for the slot on `chan` and hands the slot its pid and
 * socket. False if the slot cannot be told (it is gone). */
static bool fork_spare(struct zygote *zy, int chan)
{
    zygote_msg m = {.kind = ZYGOTE_SPARE};
    int sv[2];
    if (!grow((void **)&zy->execs, &zy->execs_cap, zy->nexecs + 1, sizeof *zy->execs) ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return send_msg(chan, &m, -1);
    pid_t zygote_pid = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* Everything but its socket, stdio and the user's descriptors goes
         * (the control and slot channels among them). */
        tlw_executor_isolate(&zy->keep, sv[1], zygote_pid);
        tlw_executor_serve(sv[1], zy->cfg, zy->memory_limit_mb);
    }
    close(sv[1]);
    if (pid > 0)
        zy->execs[zy->nexecs++] = (struct executor){.pid = pid, .chan = chan};
    m.pid = pid > 0 ? (uint32_t)pid : 0;
    bool ok = send_msg(chan, &m, pid > 0 ? sv[0] : -1);
    close(sv[0]); /* if the slot never got it, the executor sees EOF and exits */
    return ok;
}

/* The slot on channel `i` ended or died: its executors go (they are not
 * reaped yet, so their pids and groups are still theirs), and so does the
 * channel. */
static void drop_channel(struct zygote *zy, size_t i)
{
    int chan = zy->chans[i];
    for (size_t e = 0; e < zy->nexecs; e++)
        if (zy->execs[e].chan == chan) {
            tlw_kill_group(zy->execs[e].pid);
            zy->execs[e].chan = -1;
        }
    close(chan);
    zy->chans[i] = zy->chans[--zy->nchans];
}

static void drop_channel_fd(struct zygote *zy, int chan)
{
    for (size_t i = 0; i < zy->nchans; i++)
        if (zy->chans[i] == chan) {
            drop_channel(zy, i);
            return;
        }
}

/* Reaps the executors that ended and tells each one's slot how. */
static void report_exits(struct zygote *zy)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        int chan = -1;
        for (size_t e = 0; e < zy->nexecs; e++)
            if (zy->execs[e].pid == pid) {
                chan = zy->execs[e].chan;
                zy->execs[e] = zy->execs[--zy->nexecs];
                break;
            }
        zygote_msg m = {.kind = ZYGOTE_EXITED, .pid = (uint32_t)pid, .status = status};
        if (chan >= 0 && !send_msg(chan, &m, -1))
            drop_channel_fd(zy, chan);
    }
}

/* A slot's channel from the supervisor. False when the supervisor is gone. */
static bool take_channel(struct zygote *zy)
{
    char one;
    int fd;
    ssize_t n = tlw_ipc_recv_fd(zy->control, &one, 1, MSG_DONTWAIT, &fd);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK;
    if (n == 0)
        return false;
    if (fd < 0)
        return true;
    if (!grow((void **)&zy->chans, &zy->chans_cap, zy->nchans + 1, sizeof *zy->chans)) {
        close(fd); /* the slot sees it hang up and forks its executors itself */
        return true;
    }
    /* A slot that stops reading must not stall the others: a send that
     * would block drops its channel instead. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    zy->chans[zy->nchans++] = fd;
    return true;
}

/* Runs the user's start hooks; false (logged) if one fails. */
static bool run_start_hooks(const tlw_config *cfg)
{
    for (size_t i = 0; i < cfg->start_hook_count; i++) {
        const tlw_hook *hook = &cfg->start_hooks[i];
        tlw_status st = hook->fn(hook->arg);
        if (st != TLW_OK) {
            tlw_log_error("worker start hook %zu failed in the executor zygote: %s; the slots "
                          "fork their executors themselves",
                          i + 1, tlw_status_name(st));
            return false;
        }
    }
    return true;
}

int tlw_zygote_main(int control, const tlw_config *cfg, const tlw_fd_set *keep_fds, pid_t parent)
{
    tlw_log_set_process("zygote");
    tlw_log_set_request_id(NULL); /* it outlives the invocation it may be forked in */
    prctl(PR_SET_NAME, "tlw-zygote");
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        return 0;
    tlw_close_fds_except(keep_fds, control);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    if (!run_start_hooks(cfg))
        return 1;
    tlw_executor_warm_up();
    struct zygote zy = {.cfg = cfg,
                        .memory_limit_mb = cfg->settings.worker.executor_memory_limit_mb.value,
                        .control = control};
    /* What executors keep: what the user opened, the start hooks included. */
    if (tlw_fd_set_open(&zy.keep, NULL) != TLW_OK)
        return 1;
    tlw_fd_set_remove(&zy.keep, control);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    zy.sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (zy.sigfd < 0)
        return 1;
    struct pollfd *p = NULL;
    size_t p_cap = 0;
    for (;;) {
        size_t n = 2 + zy.nchans;
        if (!grow((void **)&p, &p_cap, n, sizeof *p))
            return 1;
        p[0] = (struct pollfd){.fd = control, .events = POLLIN};
        p[1] = (struct pollfd){.fd = zy.sigfd, .events = POLLIN};
        for (size_t i = 0; i < zy.nchans; i++)
            p[2 + i] = (struct pollfd){.fd = zy.chans[i], .events = POLLIN};
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo info;
            while (read(zy.sigfd, &info, sizeof info) > 0)
                ;
            report_exits(&zy);
        }
        /* The slots' asks, last first: dropping a channel moves the last
         * one into its place, which this walk has then already seen. */
        for (size_t i = n - 2; i-- > 0;) {
            if (i >= zy.nchans || p[2 + i].fd != zy.chans[i] ||
                !(p[2 + i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char ask;
            ssize_t got = recv(zy.chans[i], &ask, 1, MSG_DONTWAIT);
            if (got < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
                continue;
            if (got <= 0 || !fork_spare(&zy, zy.chans[i]))
                drop_channel(&zy, i); /* the slot ended, or is gone */
        }
        if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !take_channel(&zy))
            return 0; /* the supervisor is gone; PR_SET_PDEATHSIG ends the executors */
    }
}

/* ---- the slot's side -------------------------------------------------------------- */

/* The zygote is gone or useless: executors are forked by the slot from now. */
static void gone(tlw_zygote *z)
{
    tlw_log_warn("the executor zygote is gone; forking executors from the slot");
    if (z->fd >= 0)
        close(z->fd);
    z->fd = -1;
    z->asked = false;
}

static bool ask(tlw_zygote *z)
{
    if (z->asked)
        return true;
    char one = 1;
    ssize_t n;
    do
        n = send(z->fd, &one, 1, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != 1) {
        gone(z);
        return false;
    }
    z->asked = true;
    return true;
}

/* Receives one message, waiting until `until_ms` (monotonic). False on
 * time-out or when the zygote is gone. */
static bool receive(tlw_zygote *z, int64_t until_ms)
{
    int64_t left = until_ms - tlw_monotonic_ms();
    struct pollfd p = {.fd = z->fd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, left > 0 ? (int)left : 0);
    while (r < 0 && errno == EINTR);
    if (r <= 0)
        return false;
    zygote_msg m = {0};
    int fd;
    ssize_t n = tlw_ipc_recv_fd(z->fd, &m, sizeof m, 0, &fd);
    if (n <= 0) {
        gone(z);
        return false;
    }
    if (n == (ssize_t)sizeof m && m.kind == ZYGOTE_SPARE) {
        z->asked = false;
        if (m.pid && fd >= 0 && !z->spare_pid) {
            z->spare_pid = (pid_t)m.pid;
            z->spare_fd = fd;
            return true;
        }
    } else if (n == (ssize_t)sizeof m && m.kind == ZYGOTE_EXITED) {
        unsigned i = z->exits_next++ % TLW_ZYGOTE_EXITS;
        z->exits[i].pid = (pid_t)m.pid;
        z->exits[i].status = m.status;
    }
    if (fd >= 0)
        close(fd);
    return true;
}

void tlw_zygote_attach(tlw_zygote *z, int fd)
{
    *z = (tlw_zygote){.fd = fd, .spare_fd = -1};
#ifndef SYS_pidfd_open
    /* Without pidfds the slot cannot follow an executor it did not fork. */
    if (fd >= 0)
        close(fd);
    z->fd = -1;
#endif
    if (z->fd >= 0)
        ask(z);
}

bool tlw_zygote_take(tlw_zygote *z, pid_t *pid, int *pidfd, int *fd)
{
    int64_t until = tlw_monotonic_ms() + 1000;
    while (z->fd >= 0 && !z->spare_pid) {
        if (!ask(z) || !receive(z, until))
            return false;
    }
    if (!z->spare_pid)
        return false;
    pid_t spare = z->spare_pid;
    int spare_fd = z->spare_fd;
    z->spare_pid = 0;
    z->spare_fd = -1;
    ask(z); /* the next one forks while this task runs */
    int watch = (int)syscall(SYS_pidfd_open, spare, 0);
    /* A waiting executor writes nothing: its socket readable or hung up
     * means it died waiting (and its pid may be another process's now). */
    struct pollfd check[2] = {{.fd = watch, .events = POLLIN}, {.fd = spare_fd, .events = POLLIN}};
    if (watch < 0 || poll(check, 2, 0) != 0) {
        if (watch >= 0)
            close(watch);
        close(spare_fd);
        return false;
    }
    *pid = spare;
    *pidfd = watch;
    *fd = spare_fd;
    return true;
}

bool tlw_zygote_status(tlw_zygote *z, pid_t pid, int *status)
{
    int64_t until = tlw_monotonic_ms() + 1000;
    for (;;) {
        for (unsigned i = 0; i < TLW_ZYGOTE_EXITS; i++)
            if (z->exits[i].pid == pid) {
                *status = z->exits[i].status;
                z->exits[i].pid = 0;
                return true;
            }
        if (z->fd < 0 || !receive(z, until))
            return false;
    }
}

void tlw_zygote_stop(tlw_zygote *z)
{
    /* The executor at hand sees its socket close; the zygote kills it in
     * any case once the channel hangs up (its pid is not killed here by
     * number: the zygote may have reaped it, and the number may be another
     * process's now). */
    if (z->spare_pid > 0)
        close(z->spare_fd);
    z->spare_pid = 0;
    z->spare_fd = -1;
    if (z->fd >= 0)
        close(z->fd);
    z->fd = -1;
    z->asked = false;
}
