/*
 * Process hygiene shared by the supervisor and the slots: which descriptors
 * a forked child keeps, the processes an invocation leaves behind, and how
 * to say that a process ended.
 */
#ifndef TLW_COMMON_PROC_H
#define TLW_COMMON_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include <tlw/lambda_worker.h>

/* A set of open descriptors (sorted, no duplicates). */
typedef struct tlw_fd_set {
    int *fds;
    size_t count;
} tlw_fd_set;

/* The descriptors open in this process now (from /proc/self/fd). The caller
 * frees the set with tlw_fd_set_free(). */
tlw_status tlw_fd_set_open(tlw_fd_set *out, tlw_error *err);
void tlw_fd_set_free(tlw_fd_set *set);
/* Whether `fd` is in `set`. */
int tlw_fd_set_has(const tlw_fd_set *set, int fd);
/* The descriptors in `after` that are not in `before` (a new set). */
tlw_status tlw_fd_set_added(const tlw_fd_set *before, const tlw_fd_set *after, tlw_fd_set *out,
                            tlw_error *err);

/* Takes `fd` out of `set`, if it is there. */
void tlw_fd_set_remove(tlw_fd_set *set, int fd);

/* `set` (NULL: empty) and `fd` (a new set). */
tlw_status tlw_fd_set_with(const tlw_fd_set *set, int fd, tlw_fd_set *out, tlw_error *err);

/*
 * In a freshly forked child: closes every descriptor but 0, 1, 2, `also`
 * (-1 for none) and those in `keep` (NULL for none). Used so that a child
 * holds no socket it must not touch (the Runtime API connection, the event
 * loop's descriptors, another child's channel, the slot's gRPC sockets).
 */
void tlw_close_fds_except(const tlw_fd_set *keep, int also);

/*
 * Sends SIGKILL to every process whose parent is this one, except those in
 * known[0..n). The supervisor is a child subreaper, so a process that a
 * dead slot or executor left behind becomes its child and ends here.
 * Returns how many it killed. Linux only (reads /proc).
 */
unsigned tlw_kill_stray_children(const pid_t *known, size_t n);

/* In a child the supervisor forked: default handling for the signals its
 * event loop set up, and nothing blocked. */
void tlw_reset_signals(void);

/* Kills the process group `pid` leads and the process itself (in case it
 * has not made its own group yet). */
void tlw_kill_group(pid_t pid);

/*
 * How a process ended, from its wait status, to follow its name in a
 * message ("slot-0 (pid 12) ...", "the activity's process ..."):
 *   "exited with status 3"
 *   "was killed by SIGSEGV (Segmentation fault)"
 *   "was killed by signal 40 (Real-time signal 6)"  (no SIG name for it)
 *   "ended with wait status N"                       (anything else)
 */
void tlw_describe_wait_status(int status, char *out, size_t size);

#endif
