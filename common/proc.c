#include "config.h"

#include "common/proc.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Parses a directory entry name that is a whole non-negative number. */
static int entry_number(const char *name)
{
    if (!isdigit((unsigned char)name[0]))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(name, &end, 10);
    if (*end || errno || v < 0 || v > INT32_MAX)
        return -1;
    return (int)v;
}

tlw_status tlw_fd_set_open(tlw_fd_set *out, tlw_error *err)
{
    *out = (tlw_fd_set){0};
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return tlw_error_set(err, TLW_ERR_IO, "cannot list /proc/self/fd: %s", strerror(errno));
    int self = dirfd(dir);
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        int fd = entry_number(e->d_name);
        if (fd < 0 || fd == self)
            continue;
        if (out->count == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            int *bigger = realloc(out->fds, ncap * sizeof *bigger);
            if (!bigger) {
                closedir(dir);
                tlw_fd_set_free(out);
                return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory listing descriptors");
            }
            out->fds = bigger;
            cap = ncap;
        }
        out->fds[out->count++] = fd;
    }
    closedir(dir);
    if (out->count)
        qsort(out->fds, out->count, sizeof *out->fds, compare_int);
    return TLW_OK;
}

void tlw_fd_set_free(tlw_fd_set *set)
{
    free(set->fds);
    *set = (tlw_fd_set){0};
}

int tlw_fd_set_has(const tlw_fd_set *set, int fd)
{
    return set && set->count && bsearch(&fd, set->fds, set->count, sizeof fd, compare_int);
}

tlw_status tlw_fd_set_added(const tlw_fd_set *before, const tlw_fd_set *after, tlw_fd_set *out,
                            tlw_error *err)
{
    *out = (tlw_fd_set){0};
    if (!after->count)
        return TLW_OK;
    out->fds = malloc(after->count * sizeof *out->fds);
    if (!out->fds)
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory listing descriptors");
    for (size_t i = 0; i < after->count; i++)
        if (!tlw_fd_set_has(before, after->fds[i]))
            out->fds[out->count++] = after->fds[i];
    return TLW_OK;
}

void tlw_fd_set_remove(tlw_fd_set *set, int fd)
{
    size_t kept = 0;
    for (size_t i = 0; i < set->count; i++)
        if (set->fds[i] != fd)
            set->fds[kept++] = set->fds[i];
    set->count = kept;
}

tlw_status tlw_fd_set_with(const tlw_fd_set *set, int fd, tlw_fd_set *out, tlw_error *err)
{
    size_t count = set ? set->count : 0;
    *out = (tlw_fd_set){.fds = malloc((count + 1) * sizeof *out->fds)};
    if (!out->fds)
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory listing descriptors");
    if (count)
        memcpy(out->fds, set->fds, count * sizeof *out->fds);
    out->count = count;
    if (!tlw_fd_set_has(set, fd)) {
        out->fds[out->count++] = fd;
        qsort(out->fds, out->count, sizeof *out->fds, compare_int);
    }
    return TLW_OK;
}

/* close_range(2) over the gaps between the descriptors to keep: a few
 * system calls whatever the number of descriptors. False where the kernel
 * has no close_range (before 5.9). */
static bool close_gaps(const tlw_fd_set *keep, int also)
{
    int lo = 3; /* the next descriptor that may be closed */
    size_t i = 0;
    for (;;) {
        /* the smallest kept descriptor >= lo */
        int next = -1;
        while (keep && i < keep->count && keep->fds[i] < lo)
            i++;
        if (keep && i < keep->count)
            next = keep->fds[i];
        if (also >= lo && (next < 0 || also < next))
            next = also;
        unsigned int hi = next < 0 ? ~0U : (unsigned int)next - 1;
        if ((next < 0 || next > lo) &&
            syscall(SYS_close_range, (unsigned int)lo, hi, 0) != 0)
            return false;
        if (next < 0)
            return true;
        lo = next + 1;
    }
}

/* Without malloc: an executor runs it right after fork, where an
 * allocation (or a sanitizer's bookkeeping for one) is best avoided. */
void tlw_close_fds_except(const tlw_fd_set *keep, int also)
{
#ifdef SYS_close_range
    if (close_gaps(keep, also))
        return;
#endif
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return;
    for (;;) {
        /* Collect a batch, then close it: closing while reading the
         * directory would move its entries under the reader. */
        int batch[256];
        size_t n = 0;
        char buf[4096];
        bool more = false;
        lseek(dir, 0, SEEK_SET);
        for (;;) {
            long got = syscall(SYS_getdents64, dir, buf, sizeof buf);
            if (got <= 0)
                break;
            for (long off = 0; off < got;) {
                struct linux_dirent64 {
                    uint64_t d_ino;
                    int64_t d_off;
                    unsigned short d_reclen;
                    unsigned char d_type;
                    char d_name[];
                } *e = (void *)(buf + off);
                off += e->d_reclen;
                int fd = entry_number(e->d_name);
                if (fd <= 2 || fd == dir || fd == also || tlw_fd_set_has(keep, fd))
                    continue;
                if (n < sizeof batch / sizeof batch[0])
                    batch[n++] = fd;
                else
                    more = true;
            }
        }
        for (size_t i = 0; i < n; i++)
            close(batch[i]);
        if (!more)
            break;
    }
    close(dir);
}

/* The parent pid in /proc/<pid>/stat, or -1. The command name (field 2) is
 * in parentheses and may hold spaces or ')', so parse after the last ')'. */
static pid_t parent_of(int pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *close_paren = strrchr(buf, ')');
    char state;
    int ppid;
    if (!close_paren || sscanf(close_paren + 1, " %c %d", &state, &ppid) != 2)
        return -1;
    return (pid_t)ppid;
}

unsigned tlw_kill_stray_children(const pid_t *known, size_t n)
{
    DIR *dir = opendir("/proc");
    if (!dir)
        return 0;
    pid_t self = getpid();
    unsigned killed = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        int pid = entry_number(e->d_name);
        if (pid <= 0 || parent_of(pid) != self)
            continue;
        bool is_known = false;
        for (size_t i = 0; i < n && !is_known; i++)
            is_known = known[i] == pid;
        if (is_known)
            continue;
        tlw_kill_group(pid);
        killed++;
    }
    closedir(dir);
    return killed;
}

void tlw_kill_group(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
}

void tlw_describe_wait_status(int status, char *out, size_t size)
{
    if (WIFEXITED(status)) {
        snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        if (abbrev)
            snprintf(out, size, "was killed by SIG%s (%s)", abbrev, strsignal(sig));
        else
            snprintf(out, size, "was killed by signal %d (%s)", sig, strsignal(sig));
    } else {
        snprintf(out, size, "ended with wait status %d", status);
    }
}

void tlw_reset_signals(void)
{
    static const int reset[] = {SIGINT, SIGTERM, SIGCHLD, SIGPIPE, SIGHUP};
    for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
        signal(reset[i], SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}
