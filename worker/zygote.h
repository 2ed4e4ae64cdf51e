/*
 * worker/zygote: where an activity slot's executors come from.
 *
 * Forking an executor from the slot costs the task: the slot has gRPC's
 * threads and memory mapped, so the fork copies a large page table, every
 * page the slot then writes is copied again, and a lock a gRPC thread held
 * at the fork (in OpenSSL, in malloc's arenas) stays held in the child,
 * where user code may deadlock on it. So before it starts gRPC an activity
 * slot forks a zygote: a small single-threaded process that forks an
 * executor whenever the slot asks for one. The next executor is forked while
 * the current task runs, and waits on its socket for its task (EXEC_JOB):
 * the fork is off the task's path.
 *
 * The executor is the zygote's child: the zygote reaps it and sends the slot
 * its wait status; the slot follows it by a pidfd (which tells it ended),
 * its socket, and that status, and kills its process group as before. It
 * dies with the zygote, which dies with the slot (PR_SET_PDEATHSIG).
 *
 *   slot ──(SOCK_SEQPACKET)── zygote
 *     slot -> zygote   one byte: fork the next executor
 *     zygote -> slot   SPARE (pid, and in SCM_RIGHTS the slot's end of a
 *                      socket to it), or EXITED (pid, wait status)
 */
#ifndef TLW_WORKER_ZYGOTE_H
#define TLW_WORKER_ZYGOTE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/proc.h"
#include "conf/worker_config.h"

#define TLW_ZYGOTE_EXITS 8

typedef struct tlw_zygote {
    pid_t pid;       /* the zygote; 0: none (executors are forked by the slot) */
    int fd;          /* the slot's end of the channel */
    bool asked;      /* an executor was asked for and not yet received */
    pid_t spare_pid; /* an executor waiting for its task; 0: none at hand */
    int spare_fd;
    /* EXITED reports not yet asked for (a ring; the oldest is dropped) */
    struct {
        pid_t pid;
        int status;
    } exits[TLW_ZYGOTE_EXITS];
    unsigned exits_next;
} tlw_zygote;

/*
 * Forks the zygote and asks it for the first executor. Call it in the slot
 * before any thread starts (before gRPC). Executors keep stdio, `keep_fds`
 * and their socket, run under `memory_limit_mb` (0: none), and run what
 * `cfg` registered.
 */
tlw_status tlw_zygote_start(tlw_zygote *z, const tlw_config *cfg, const tlw_fd_set *keep_fds,
                            int64_t memory_limit_mb, tlw_error *err);

/*
 * An executor ready for its task: its pid (in a process group of its own),
 * a pidfd for it, and this side's end of its socket (blocking). Asks for
 * the next one. False when there is none (the zygote is gone or did not
 * answer within a second): the caller forks one itself.
 */
bool tlw_zygote_take(tlw_zygote *z, pid_t *pid, int *pidfd, int *fd);

/* The wait status of executor `pid`, which ended (its pidfd said so), as
 * the zygote reaped it; waits up to a second for the report. False if none
 * came (the zygote is gone). */
bool tlw_zygote_status(tlw_zygote *z, pid_t pid, int *status);

/* Ends the zygote and the executor at hand, and reaps them. */
void tlw_zygote_stop(tlw_zygote *z);

#endif
