#include "config.h"

#include "worker/zygote.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "worker/executor.h"

/* What the zygote tells the slot. */
enum { ZYGOTE_SPARE = 1, ZYGOTE_EXITED = 2 };
typedef struct zygote_msg {
    uint32_t kind;
    uint32_t pid;   /* SPARE: 0 if it could not fork */
    int32_t status; /* EXITED */
} zygote_msg;

/* ---- the zygote ------------------------------------------------------------------ */

/* A forked executor: it dies with the zygote, isolates itself and waits for
 * its task. */
__attribute__((noreturn)) static void spare_main(int fd, const tlw_config *cfg,
                                                 const tlw_fd_set *keep_fds,
                                                 int64_t memory_limit_mb, pid_t zygote_pid)
{
    tlw_executor_isolate(keep_fds, fd, zygote_pid);
    tlw_executor_serve(fd, cfg, memory_limit_mb);
}

static bool send_msg(int chan, const zygote_msg *m, int fd)
{
    struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof *m};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        memset(&control, 0, sizeof control);
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof control.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    ssize_t sent;
    do
        sent = sendmsg(chan, &mh, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    return sent == (ssize_t)sizeof *m;
}

/* Forks one executor and hands the slot its pid and socket. */
static bool fork_spare(int chan, int sigfd, const tlw_config *cfg, const tlw_fd_set *keep_fds,
                       int64_t memory_limit_mb)
{
    zygote_msg m = {.kind = ZYGOTE_SPARE};
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return send_msg(chan, &m, -1);
    pid_t zygote_pid = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(chan);
        close(sigfd);
        close(sv[0]);
        spare_main(sv[1], cfg, keep_fds, memory_limit_mb, zygote_pid);
    }
    close(sv[1]);
    m.pid = pid > 0 ? (uint32_t)pid : 0;
    bool ok = send_msg(chan, &m, pid > 0 ? sv[0] : -1);
    close(sv[0]); /* if the slot never got it, the executor sees EOF and exits */
    return ok;
}

/* Reaps the executors that ended and tells the slot how. */
static bool report_exits(int chan)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        zygote_msg m = {.kind = ZYGOTE_EXITED, .pid = (uint32_t)pid, .status = status};
        if (!send_msg(chan, &m, -1))
            return false;
    }
    return true;
}

__attribute__((noreturn)) static void zygote_main(int chan, const tlw_config *cfg,
                                                  const tlw_fd_set *keep_fds,
                                                  int64_t memory_limit_mb, pid_t slot_pid)
{
    prctl(PR_SET_NAME, "tlw-zygote");
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != slot_pid)
        _exit(0);
    tlw_close_fds_except(keep_fds, chan);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd < 0)
        _exit(1); /* the slot then forks its executors itself */
    for (;;) {
        struct pollfd p[2] = {{.fd = chan, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            _exit(1);
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo info;
            while (read(sigfd, &info, sizeof info) > 0)
                ;
            if (!report_exits(chan))
                _exit(0);
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char ask;
            ssize_t n = recv(chan, &ask, 1, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                _exit(0); /* the slot closed the channel, or is gone */
            if (n == 1 && !fork_spare(chan, sigfd, cfg, keep_fds, memory_limit_mb))
                _exit(0);
        }
    }
}

/* ---- the slot's side -------------------------------------------------------------- */

/* The zygote is gone or useless: executors are forked by the slot from now. */
static void end_zygote(tlw_zygote *z)
{
    if (z->fd >= 0)
        close(z->fd);
    z->fd = -1;
    if (z->pid > 0) {
        kill(z->pid, SIGKILL);
        while (waitpid(z->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    z->pid = 0;
    z->asked = false;
}

static void gone(tlw_zygote *z)
{
    tlw_log_warn("the executor zygote is gone; forking executors from the slot");
    end_zygote(z);
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
    struct iovec iov = {.iov_base = &m, .iov_len = sizeof m};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof control.buf};
    ssize_t n;
    do
        n = recvmsg(z->fd, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        gone(z);
        return false;
    }
    int fd = -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(sizeof(int)))
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
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

tlw_status tlw_zygote_start(tlw_zygote *z, const tlw_config *cfg, const tlw_fd_set *keep_fds,
                            int64_t memory_limit_mb, tlw_error *err)
{
    *z = (tlw_zygote){.fd = -1, .spare_fd = -1};
#ifndef SYS_pidfd_open
    return tlw_error_set(err, TLW_ERR_INTERNAL, "no pidfd_open on this system");
#endif
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return tlw_error_set(err, TLW_ERR_IO, "cannot make the zygote's channel: %s",
                             strerror(errno));
    pid_t slot_pid = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        zygote_main(sv[1], cfg, keep_fds, memory_limit_mb, slot_pid);
    }
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return tlw_error_set(err, TLW_ERR_IO, "cannot fork the executor zygote: %s",
                             strerror(errno));
    }
    z->pid = pid;
    z->fd = sv[0];
    ask(z);
    return TLW_OK;
}

bool tlw_zygote_take(tlw_zygote *z, pid_t *pid, int *pidfd, int *fd)
{
    int64_t until = tlw_monotonic_ms() + 1000;
    while (z->pid > 0 && !z->spare_pid) {
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
        if (z->pid <= 0 || !receive(z, until))
            return false;
    }
}

void tlw_zygote_stop(tlw_zygote *z)
{
    /* The executor at hand sees its socket close, and dies with the zygote
     * in any case (its pid is not killed by number: the zygote may have
     * reaped it, and the number may be another process's now). */
    if (z->spare_pid > 0)
        close(z->spare_fd);
    z->spare_pid = 0;
    z->spare_fd = -1;
    end_zygote(z);
}
