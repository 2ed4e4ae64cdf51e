/*
 * worker/coro: the coroutines of the workflow engine. A workflow's code runs
 * on its own stack and gives control back (yields) wherever it waits for the
 * server; the scheduler resumes it when the wait is over. Switching is
 * cooperative and happens only at tlw_coro_yield, so a workflow is never
 * interrupted between two of its own statements.
 *
 * One scheduler per thread: tlw_coro_resume is called from a thread's own
 * stack, never from inside a coroutine (no nesting), and a coroutine is only
 * ever resumed by the thread that resumed it first. "Current" is
 * thread-local, so two threads can each run their own set.
 *
 * Each stack is an mmap'd region with a PROT_NONE guard page below it: an
 * overflow faults (SIGSEGV) instead of overwriting other memory. A signal
 * delivered while a coroutine runs is handled on that coroutine's stack
 * unless its handler was installed with SA_ONSTACK and a sigaltstack, so the
 * stack size must leave room for the process's signal handlers, and a
 * handler that must run after an overflow needs the alternate stack.
 */
#ifndef TLW_WORKER_CORO_H
#define TLW_WORKER_CORO_H

#include <stdbool.h>
#include <stddef.h>

#include <tlw/lambda_worker.h>

/* The stack a coroutine gets when tlw_coro_new is passed 0. */
#define TLW_CORO_DEFAULT_STACK_SIZE (256 * 1024)

typedef struct tlw_coro tlw_coro;
typedef void (*tlw_coro_fn)(void *arg);

/*
 * Creates a coroutine that will run fn(arg) on its own stack of stack_size
 * bytes (rounded up to whole pages; 0: TLW_CORO_DEFAULT_STACK_SIZE), with a
 * PROT_NONE guard page below it. It does not run until resumed. Returns the
 * coroutine, owned by the caller (tlw_coro_free), or NULL with `err` set:
 * TLW_ERR_INVALID for a size too large to map, TLW_ERR_NOMEM when memory or
 * address space runs out, TLW_ERR_IO when the kernel refuses otherwise.
 */
tlw_coro *tlw_coro_new(tlw_coro_fn fn, void *arg, size_t stack_size, tlw_error *err);

/*
 * Runs `c` until it yields or fn returns. Returns true if it yielded (still
 * alive), false if fn returned.
 *
 * Refused, returning false and doing nothing, when called from inside a
 * coroutine (resuming is the scheduler's job, and a coroutine that resumed
 * another would lose track of who to yield to) and when `c` has already
 * finished. A caller that must tell these apart asks tlw_coro_finished(c).
 */
bool tlw_coro_resume(tlw_coro *c);

/*
 * From inside a coroutine: suspends it and returns to the tlw_coro_resume
 * that ran it; the next resume continues here. Outside any coroutine it
 * does nothing.
 */
void tlw_coro_yield(void);

/* The coroutine running on this thread now, or NULL outside any. */
tlw_coro *tlw_coro_current(void);

/* True once fn has returned. */
bool tlw_coro_finished(const tlw_coro *c);

/* The usable stack size in bytes after rounding (the guard page excluded). */
size_t tlw_coro_stack_size(const tlw_coro *c);

/*
 * Frees `c` and its stack. `c` may be NULL. Must not be called from inside
 * `c` itself.
 *
 * A coroutine that has not finished is abandoned: its stack is unmapped
 * without unwinding, so nothing its frames point to is freed. The owner of
 * an unfinished coroutine must therefore keep everything that needs freeing
 * (heap memory, descriptors, locks) outside its stack, e.g. in the task's
 * state that `arg` points to, and free it there.
 */
void tlw_coro_free(tlw_coro *c);

#endif
