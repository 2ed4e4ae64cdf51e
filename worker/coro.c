#include "config.h"

#include "worker/coro.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"

/*
 * AddressSanitizer keeps one idea of "the stack" per thread. Switching to
 * another stack without telling it makes it misread the frames of the new
 * one (false reports, wrong stack-overflow detection), so every switch is
 * bracketed by __sanitizer_start_switch_fiber (before: where we go) and
 * __sanitizer_finish_switch_fiber (after: where we came from).
 */
#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif

#ifdef CORO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

struct tlw_coro {
    ucontext_t context; /* the coroutine's registers while it is suspended */
    ucontext_t resumer; /* the scheduler's registers while the coroutine runs */
    tlw_coro_fn fn;
    void *arg;
    void *mapping; /* the guard page, then the stack */
    size_t mapping_size;
    char *stack; /* mapping + one page */
    size_t stack_size;
    bool finished;
    /* For ASan only (unused otherwise): the coroutine's fake frames while it
     * is suspended, and the resumer's stack to tell ASan of on the way back. */
    void *fake_stack;
    const void *resumer_stack_bottom;
    size_t resumer_stack_size;
};

/* The one piece of state: which coroutine this thread is running. */
static _Thread_local tlw_coro *current;

/* Before a switch: tell ASan which stack comes next. */
static void start_switch(void **fake_stack_save, const void *bottom, size_t size)
{
#ifdef CORO_ASAN
    __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#else
    (void)fake_stack_save, (void)bottom, (void)size;
#endif
}

/* After a switch: tell ASan it happened; it says which stack we came from. */
static void finish_switch(void *fake_stack, const void **bottom_old, size_t *size_old)
{
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(fake_stack, bottom_old, size_old);
#else
    (void)fake_stack, (void)bottom_old, (void)size_old;
#endif
}

/*
 * The first frame on every coroutine stack. makecontext can only pass int
 * arguments, so instead of splitting the pointer it reads `current`, which
 * tlw_coro_resume has just set to this coroutine. It never returns: uc_link
 * is NULL, and returning would end the thread.
 */
static void coro_main(void)
{
    tlw_coro *c = current;
    finish_switch(NULL, &c->resumer_stack_bottom, &c->resumer_stack_size);
    c->fn(c->arg);
    c->finished = true;
    /* NULL: this stack is done, and ASan may drop its fake frames. */
    start_switch(NULL, c->resumer_stack_bottom, c->resumer_stack_size);
    setcontext(&c->resumer);
    tlw_log_error("coroutine: setcontext back to the scheduler failed: %s", strerror(errno));
    abort();
}

tlw_coro *tlw_coro_new(tlw_coro_fn fn, void *arg, size_t stack_size, tlw_error *err)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (stack_size == 0)
        stack_size = TLW_CORO_DEFAULT_STACK_SIZE;
    if (stack_size > SIZE_MAX - 2 * page) {
        tlw_error_set(err, TLW_ERR_INVALID,
                      "coroutine stack of %zu bytes is too large; ask for less", stack_size);
        return NULL;
    }
    stack_size = (stack_size + page - 1) / page * page;

    tlw_coro *c = calloc(1, sizeof *c);
    if (!c) {
        tlw_error_set(err, TLW_ERR_NOMEM, "out of memory for a coroutine");
        return NULL;
    }
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
#ifdef MAP_STACK
    flags |= MAP_STACK;
#endif
    c->mapping_size = stack_size + page;
    c->mapping = mmap(NULL, c->mapping_size, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (c->mapping == MAP_FAILED) {
        int e = errno;
        tlw_error_set(err, e == ENOMEM ? TLW_ERR_NOMEM : TLW_ERR_IO,
                      "mapping a coroutine stack of %zu bytes: %s; ask for a smaller stack or "
                      "raise the memory limit",
                      stack_size, strerror(e));
        free(c);
        return NULL;
    }
    /* Stacks grow down on every platform this runs on: the guard goes below. */
    if (mprotect(c->mapping, page, PROT_NONE) != 0) {
        tlw_error_set(err, TLW_ERR_IO, "protecting the guard page of a coroutine stack: %s",
                      strerror(errno));
        munmap(c->mapping, c->mapping_size);
        free(c);
        return NULL;
    }
    c->stack = (char *)c->mapping + page;
    c->stack_size = stack_size;
    c->fn = fn;
    c->arg = arg;

    if (getcontext(&c->context) != 0) {
        tlw_error_set(err, TLW_ERR_INTERNAL, "getcontext for a coroutine: %s", strerror(errno));
        munmap(c->mapping, c->mapping_size);
        free(c);
        return NULL;
    }
    c->context.uc_stack.ss_sp = c->stack;
    c->context.uc_stack.ss_size = c->stack_size;
    c->context.uc_link = NULL;
    makecontext(&c->context, coro_main, 0);
    return c;
}

/* Runs `c` from where its context points until it switches back. */
static void switch_into(tlw_coro *c)
{
    tlw_coro *outer = current;
    current = c;
    void *resumer_fake_stack = NULL;
    start_switch(&resumer_fake_stack, c->stack, c->stack_size);
    if (swapcontext(&c->resumer, &c->context) != 0) {
        tlw_log_error("coroutine: swapcontext into it failed: %s", strerror(errno));
        abort();
    }
    finish_switch(resumer_fake_stack, NULL, NULL);
    current = outer;
}

bool tlw_coro_resume(tlw_coro *c)
{
    if (current != NULL || c->finished)
        return false;
    switch_into(c);
    return !c->finished;
}

void tlw_coro_yield(void)
{
    tlw_coro *c = current;
    if (!c)
        return;
    start_switch(&c->fake_stack, c->resumer_stack_bottom, c->resumer_stack_size);
    if (swapcontext(&c->context, &c->resumer) != 0) {
        tlw_log_error("coroutine: swapcontext to the scheduler failed: %s", strerror(errno));
        abort();
    }
    finish_switch(c->fake_stack, &c->resumer_stack_bottom, &c->resumer_stack_size);
    c->fake_stack = NULL; /* live again: ASan owns it until the next yield */
}

#ifdef CORO_ASAN
/*
 * With detect_stack_use_after_return, ASan keeps a suspended coroutine's
 * frames in a "fake stack" it allocated, which only a switch away from that
 * fiber with a NULL save slot releases. An abandoned coroutine never makes
 * that switch, so tlw_coro_free makes it for it: this runs once on the
 * abandoned stack (its old frames are discarded anyway), takes the fake
 * stack back, ends the fiber and returns.
 */
static void release_fake_stack(void)
{
    tlw_coro *c = current;
    finish_switch(c->fake_stack, &c->resumer_stack_bottom, &c->resumer_stack_size);
    c->fake_stack = NULL;
    start_switch(NULL, c->resumer_stack_bottom, c->resumer_stack_size);
    setcontext(&c->resumer);
    tlw_log_error("coroutine: setcontext back from releasing a stack failed: %s", strerror(errno));
    abort();
}

static void abandon(tlw_coro *c)
{
    if (!c->fake_stack)
        return; /* never started, finished, or no fake stacks in this run */
    if (getcontext(&c->context) != 0) {
        tlw_log_error("coroutine: getcontext to release a stack failed: %s", strerror(errno));
        return; /* ASan's fake frames leak; the stack itself is still freed */
    }
    c->context.uc_stack.ss_sp = c->stack;
    c->context.uc_stack.ss_size = c->stack_size;
    c->context.uc_link = NULL;
    makecontext(&c->context, release_fake_stack, 0);
    switch_into(c);
}
#endif

tlw_coro *tlw_coro_current(void)
{
    return current;
}

bool tlw_coro_finished(const tlw_coro *c)
{
    return c->finished;
}

size_t tlw_coro_stack_size(const tlw_coro *c)
{
    return c->stack_size;
}

void tlw_coro_free(tlw_coro *c)
{
    if (!c)
        return;
    if (c == current) {
        /* Unmapping the stack we run on would crash at the next instruction. */
        tlw_log_error("coroutine: tlw_coro_free called from inside the coroutine; not freed");
        return;
    }
#ifdef CORO_ASAN
    abandon(c);
    /*
     * The frames of an abandoned coroutine were never unwound, so their
     * redzones are still poisoned; a later mapping at this address would
     * inherit them as false reports.
     */
    ASAN_UNPOISON_MEMORY_REGION(c->stack, c->stack_size);
#endif
    munmap(c->mapping, c->mapping_size);
    free(c);
}
