/*
 * worker/zygote: where the activity slots' executors come from.
 *
 * Forking an executor from a slot costs the task: the slot has gRPC's
 * threads and libraries mapped, so the fork copies a large page table, every
 * page the slot then writes is copied again, and a lock a gRPC thread held
 * at the fork (in OpenSSL, in malloc's arenas) stays held in the child,
 * where user code may deadlock on it. So the supervisor forks one zygote per
 * function, at start-up, before it loads anything heavy: a small
 * single-threaded process that forks an executor whenever a slot asks for
 * one. The next executor is forked while the current task runs, and waits on
 * its socket for its task (EXEC_JOB): the fork is off the task's path.
 *
 * Each activity slot of each invocation has a channel of its own to the
 * zygote: the supervisor makes a socketpair, sends one end to the zygote
 * over the control channel and gives the slot the other
 * (tlw_slot_spec.zygote_fd). The executors are the zygote's children: it
 * reaps them and sends each slot the wait status of its own; the slot
 * follows an executor by a pidfd (which tells it ended), its socket and that
 * status, and kills its process group as before. When a slot's channel
 * hangs up (the slot ended or died), the zygote kills that channel's
 * executors, running or waiting, so no activity outlives its slot (the
 * supervisor reports the task of a slot that died). The zygote dies with
 * the supervisor (PR_SET_PDEATHSIG), and its executors with it.
 *
 *   supervisor ──(control, SOCK_SEQPACKET)── zygote
 *     supervisor -> zygote  one byte, and in SCM_RIGHTS a slot's channel
 *   slot ──(SOCK_SEQPACKET)── zygote
 *     slot -> zygote        one byte: fork the next executor
 *     zygote -> slot        SPARE (pid, and in SCM_RIGHTS the slot's end of a
 *                           socket to it), or EXITED (pid, wait status)
 *
 * The zygote runs the worker start hooks once and keeps what they and the
 * user's configure() opened, so executors inherit both. It runs what the
 * configure() before its fork registered: the supervisor's at start-up. When
 * the configuration has invocation setups, whose resources executors must
 * inherit, the supervisor forks a zygote per invocation instead, after the
 * setups, and ends it with the invocation. If the zygote is gone, a slot
 * forks its executors itself, and the supervisor forks a new zygote at the
 * next invocation.
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

/* ---- the zygote ------------------------------------------------------------------ */

/*
 * The zygote's life, in the process the supervisor forked for it: `control`
 * is its end of the control channel, `parent` the supervisor's pid. It keeps
 * stdio, `keep_fds` and what the start hooks open; executors run what `cfg`
 * registered, under its executor memory limit. Returns its exit status once
 * the control channel closes (0) or it cannot go on (1; a start hook
 * failed, say): the slots then fork their executors themselves.
 */
int tlw_zygote_main(int control, const tlw_config *cfg, const tlw_fd_set *keep_fds, pid_t parent);

/* ---- a slot's side --------------------------------------------------------------- */

typedef struct tlw_zygote {
    int fd;          /* the slot's end of its channel; -1: none (the slot forks executors) */
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

/* Takes the slot's channel to the zygote (tlw_slot_spec.zygote_fd; -1 for
 * none) and asks for the first executor. */
void tlw_zygote_attach(tlw_zygote *z, int fd);

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

/* Closes the channel: the zygote kills this slot's executors still there
 * (the one at hand). */
void tlw_zygote_stop(tlw_zygote *z);

#endif
