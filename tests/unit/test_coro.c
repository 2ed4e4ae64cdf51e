/*
 * worker/coro: order of yields and resumes, interleaving, "current" per
 * thread, the refused nested resume, deep recursion, the guard page (in a
 * forked child), and that freeing coroutines, finished or not, gives their
 * stacks back. LeakSanitizer, in the sanitizer build, checks the heap at
 * exit.
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "worker/coro.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifdef UNDER_ASAN
#include <sanitizer/asan_interface.h>

/*
 * Fake stacks on: a suspended coroutine's frames then live in memory ASan
 * allocates per fiber, which tlw_coro_free must hand back for an abandoned
 * one (the freeing test would see it grow otherwise). ASAN_OPTIONS wins.
 */
const char *__asan_default_options(void)
{
    return "detect_stack_use_after_return=1";
}
#endif

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* The address space of this process in bytes: mapped stacks count, freed ones do not. */
static size_t mapped_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    unsigned long pages = 0;
    assert_int_equal(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    return pages * page_size();
}

static tlw_coro *new_coro(tlw_coro_fn fn, void *arg, size_t stack_size)
{
    tlw_error err = {0};
    tlw_coro *c = tlw_coro_new(fn, arg, stack_size, &err);
    if (!c)
        fail_msg("tlw_coro_new: %s", err.message);
    return c;
}

/* --- order ----------------------------------------------------------------- */

struct steps {
    int done[8];
    int count;
};

static void three_yields(void *arg)
{
    struct steps *s = arg;
    for (int i = 1; i <= 3; i++) {
        s->done[s->count++] = i;
        tlw_coro_yield();
    }
    s->done[s->count++] = 4;
}

static void three_yields_resume_in_order_then_finish(void **state)
{
    struct steps s = {0};
    tlw_coro *c = new_coro(three_yields, &s, 0);
    assert_int_equal(s.count, 0); /* not run until resumed */
    assert_false(tlw_coro_finished(c));
    for (int i = 1; i <= 3; i++) {
        assert_true(tlw_coro_resume(c));
        assert_int_equal(s.count, i);
        assert_int_equal(s.done[i - 1], i);
        assert_false(tlw_coro_finished(c));
    }
    assert_false(tlw_coro_resume(c));
    assert_int_equal(s.count, 4);
    assert_int_equal(s.done[3], 4);
    assert_true(tlw_coro_finished(c));
    /* A finished coroutine is not run again. */
    assert_false(tlw_coro_resume(c));
    assert_int_equal(s.count, 4);
    tlw_coro_free(c);
}

struct speaker {
    char *log;
    size_t log_size;
    char name;
    int lines;
};

static void speak(void *arg)
{
    struct speaker *sp = arg;
    for (int i = 1; i <= sp->lines; i++) {
        size_t len = strlen(sp->log);
        snprintf(sp->log + len, sp->log_size - len, "%c%d ", sp->name, i);
        if (i < sp->lines)
            tlw_coro_yield();
    }
}

static void two_coroutines_interleave_deterministically(void **state)
{
    char log[128] = "";
    struct speaker a = {log, sizeof log, 'a', 3};
    struct speaker b = {log, sizeof log, 'b', 4};
    tlw_coro *ca = new_coro(speak, &a, 0);
    tlw_coro *cb = new_coro(speak, &b, 0);
    int rounds = 0;
    while (!tlw_coro_finished(ca) || !tlw_coro_finished(cb)) {
        tlw_coro_resume(ca);
        tlw_coro_resume(cb);
        assert_true(++rounds <= 10);
    }
    assert_string_equal(log, "a1 b1 a2 b2 a3 b3 b4 ");
    assert_int_equal(rounds, 4);
    tlw_coro_free(ca);
    tlw_coro_free(cb);
}

/* --- current, nesting, misuse --------------------------------------------- */

struct whoami {
    tlw_coro *self;
    tlw_coro *seen_first;
    tlw_coro *seen_after_yield;
};

static void record_current(void *arg)
{
    struct whoami *w = arg;
    w->seen_first = tlw_coro_current();
    tlw_coro_yield();
    w->seen_after_yield = tlw_coro_current();
}

static void current_is_null_outside_and_the_running_one_inside(void **state)
{
    struct whoami w1 = {0}, w2 = {0};
    tlw_coro *c1 = new_coro(record_current, &w1, 0);
    tlw_coro *c2 = new_coro(record_current, &w2, 0);
    w1.self = c1;
    w2.self = c2;
    assert_null(tlw_coro_current());
    assert_true(tlw_coro_resume(c1));
    assert_null(tlw_coro_current());
    assert_true(tlw_coro_resume(c2));
    assert_false(tlw_coro_resume(c1));
    assert_false(tlw_coro_resume(c2));
    assert_null(tlw_coro_current());
    assert_ptr_equal(w1.seen_first, c1);
    assert_ptr_equal(w1.seen_after_yield, c1);
    assert_ptr_equal(w2.seen_first, c2);
    assert_ptr_equal(w2.seen_after_yield, c2);
    tlw_coro_free(c1);
    tlw_coro_free(c2);
}

static void yield_outside_any_coroutine_does_nothing(void **state)
{
    tlw_coro_yield(); /* returns at once */
    assert_null(tlw_coro_current());
}

static void count_runs(void *arg)
{
    (*(int *)arg)++;
}

struct nester {
    tlw_coro *inner;
    bool inner_resume_result;
    tlw_coro *current_after;
    bool reached_end;
};

static void resume_another(void *arg)
{
    struct nester *n = arg;
    n->inner_resume_result = tlw_coro_resume(n->inner);
    n->current_after = tlw_coro_current();
    n->reached_end = true;
}

static void resume_from_inside_a_coroutine_is_refused(void **state)
{
    int inner_runs = 0;
    struct nester n = {.inner_resume_result = true};
    n.inner = new_coro(count_runs, &inner_runs, 0);
    tlw_coro *outer = new_coro(resume_another, &n, 0);

    assert_false(tlw_coro_resume(outer));
    assert_true(n.reached_end);
    assert_false(n.inner_resume_result);
    assert_int_equal(inner_runs, 0); /* refused: the inner one did not run */
    assert_false(tlw_coro_finished(n.inner));
    assert_ptr_equal(n.current_after, outer);

    /* The scheduler can still run it. */
    assert_false(tlw_coro_resume(n.inner));
    assert_int_equal(inner_runs, 1);
    assert_true(tlw_coro_finished(n.inner));
    tlw_coro_free(outer);
    tlw_coro_free(n.inner);
}

static void free_self(void *arg)
{
    tlw_coro_free(tlw_coro_current());
    *(bool *)arg = true;
}

static void freeing_itself_from_inside_is_refused(void **state)
{
    bool survived = false;
    tlw_coro *c = new_coro(free_self, &survived, 0);
    assert_false(tlw_coro_resume(c));
    assert_true(survived);
    assert_true(tlw_coro_finished(c));
    tlw_coro_free(c);
}

enum { PER_THREAD = 20, STEPS = 1000 };

struct self_check {
    tlw_coro *self;
    int steps;
    int wrong_current; /* steps where tlw_coro_current() was not self */
};

static void check_self_each_step(void *arg)
{
    struct self_check *sc = arg;
    for (int i = 0; i < STEPS; i++) {
        sc->wrong_current += tlw_coro_current() != sc->self;
        sc->steps++;
        tlw_coro_yield();
    }
}

struct thread_set {
    pthread_barrier_t *start; /* both sets run at the same time */
    struct self_check checks[PER_THREAD];
};

/* One thread's scheduler: PER_THREAD coroutines, round robin to the end. */
static void *schedule_own_set(void *arg)
{
    struct thread_set *set = arg;
    tlw_coro *coros[PER_THREAD];
    for (int i = 0; i < PER_THREAD; i++) {
        coros[i] = tlw_coro_new(check_self_each_step, &set->checks[i], 0, NULL);
        if (!coros[i])
            return "tlw_coro_new failed";
        set->checks[i].self = coros[i];
    }
    pthread_barrier_wait(set->start);
    for (bool alive = true; alive;) {
        alive = false;
        for (int i = 0; i < PER_THREAD; i++) {
            alive |= tlw_coro_resume(coros[i]);
            if (tlw_coro_current() != NULL)
                return "current is set between resumes";
        }
    }
    for (int i = 0; i < PER_THREAD; i++)
        tlw_coro_free(coros[i]);
    return NULL;
}

static void two_threads_each_run_their_own_set(void **state)
{
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
    struct thread_set sets[2] = {{.start = &start}, {.start = &start}};
    pthread_t threads[2];
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, schedule_own_set, &sets[t]), 0);
    for (int t = 0; t < 2; t++) {
        void *failure;
        assert_int_equal(pthread_join(threads[t], &failure), 0);
        if (failure)
            fail_msg("thread %d: %s", t, (const char *)failure);
        for (int i = 0; i < PER_THREAD; i++) {
            assert_int_equal(sets[t].checks[i].steps, STEPS);
            assert_int_equal(sets[t].checks[i].wrong_current, 0);
        }
    }
    pthread_barrier_destroy(&start);
}

/* --- stacks ---------------------------------------------------------------- */

static void stack_size_is_rounded_up_to_pages(void **state)
{
    size_t page = page_size();
    struct {
        size_t asked, got;
    } cases[] = {
        {0, TLW_CORO_DEFAULT_STACK_SIZE},
        {1, page},
        {page, page},
        {64 * 1024 + 1, 64 * 1024 + page},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tlw_coro *c = new_coro(count_runs, NULL, cases[i].asked);
        assert_int_equal(tlw_coro_stack_size(c), cases[i].got);
        tlw_coro_free(c);
    }
}

static void impossible_stack_sizes_are_errors(void **state)
{
    size_t sizes[] = {SIZE_MAX, (size_t)1 << 60};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        tlw_error err = {0};
        assert_null(tlw_coro_new(count_runs, NULL, sizes[i], &err));
        assert_int_not_equal(err.status, TLW_OK);
        assert_non_null(strstr(err.message, "coroutine stack"));
    }
}

struct dig_state {
    uintptr_t top;        /* the first frame's address */
    size_t target;        /* how deep to go, in bytes of stack */
    size_t deepest;       /* how deep it went */
    int depth;            /* frames at the bottom */
    unsigned long result; /* computed on the way back up */
};

static unsigned long dig_down(struct dig_state *d, int depth)
{
    volatile unsigned char pad[128];
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] = (unsigned char)(depth + i);
    size_t used = d->top - (uintptr_t)__builtin_frame_address(0);
    unsigned long below;
    if (used < d->target) {
        below = dig_down(d, depth + 1);
    } else {
        d->deepest = used;
        d->depth = depth;
        tlw_coro_yield(); /* the whole stack must survive a switch */
        below = 0;
    }
    unsigned long sum = below;
    for (size_t i = 0; i < sizeof pad; i++)
        sum += pad[i];
    return sum;
}

static void dig(void *arg)
{
    struct dig_state *d = arg;
    d->top = (uintptr_t)__builtin_frame_address(0);
    d->result = dig_down(d, 0);
}

static void deep_recursion_within_the_stack_size_works(void **state)
{
    size_t stack = 1024 * 1024;
    struct dig_state d = {.target = stack / 4 * 3};
    tlw_coro *c = new_coro(dig, &d, stack);
    assert_true(tlw_coro_resume(c));
    assert_true(d.deepest >= d.target);
    assert_true(d.depth > 100);
    assert_false(tlw_coro_resume(c));

    unsigned long expected = 0;
    for (int depth = 0; depth <= d.depth; depth++)
        for (size_t i = 0; i < 128; i++)
            expected += (unsigned char)(depth + i);
    assert_int_equal(d.result, expected);
    tlw_coro_free(c);
}

/* In the forked child only: where the guard page of the overflowing stack is. */
static volatile uintptr_t guard_low, guard_high;

enum { EXIT_GUARD_HIT = 42, EXIT_FAULT_ELSEWHERE = 43, EXIT_NO_FAULT = 44 };

static void on_segv(int sig, siginfo_t *info, void *ucontext)
{
    uintptr_t addr = (uintptr_t)info->si_addr;
    _exit(addr >= guard_low && addr < guard_high ? EXIT_GUARD_HIT : EXIT_FAULT_ELSEWHERE);
}

static volatile unsigned long overflow_sink;

static unsigned long recurse_forever(unsigned long n)
{
    volatile unsigned char pad[128];
    pad[n % sizeof pad] = (unsigned char)n;
    if (n == ULONG_MAX) /* never: keeps the compiler from calling it infinite */
        return 0;
    return recurse_forever(n + 1) + pad[n % sizeof pad]; /* not a tail call */
}

static void overflow(void *arg)
{
    size_t stack_size = *(size_t *)arg;
    size_t page = page_size();
    /* The stack's top is page-aligned and this first frame lies in its top page. */
    uintptr_t top = ((uintptr_t)__builtin_frame_address(0) + page - 1) / page * page;
    guard_high = top - stack_size;
    guard_low = guard_high - page;
    overflow_sink = recurse_forever(0);
}

static void stack_overflow_faults_on_the_guard_page(void **state)
{
    int err_pipe[2];
    assert_int_equal(pipe(err_pipe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(err_pipe[1], STDERR_FILENO);
        close(err_pipe[0]);
        close(err_pipe[1]);
        /* The handler needs a stack of its own: the coroutine's is used up. */
        static char alt[64 * 1024];
        stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
        struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK};
        sigemptyset(&sa.sa_mask);
        if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGSEGV, &sa, NULL) != 0)
            _exit(2);
        size_t stack_size = 64 * 1024;
        tlw_coro *c = tlw_coro_new(overflow, &stack_size, stack_size, NULL);
        if (!c)
            _exit(3);
        tlw_coro_resume(c);
        _exit(EXIT_NO_FAULT);
    }
    close(err_pipe[1]);
    char report[8192];
    size_t len = 0;
    ssize_t n;
    while ((n = read(err_pipe[0], report + len, sizeof report - 1 - len)) > 0)
        len += (size_t)n;
    report[len] = '\0';
    close(err_pipe[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);

    if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_GUARD_HIT)
        return; /* our handler saw the fault, on the guard page */
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)
        return;
#ifdef UNDER_ASAN
    /* ASan's own SIGSEGV handler may report it first and exit non-zero. */
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != EXIT_NO_FAULT &&
        WEXITSTATUS(status) != EXIT_FAULT_ELSEWHERE && strstr(report, "stack-overflow"))
        return;
#endif
    fail_msg("child: %s %d, stderr:\n%s", WIFEXITED(status) ? "exit" : "signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), report);
}

/* --- freeing --------------------------------------------------------------- */

static void dig_and_stay(void *arg)
{
    struct dig_state d = {.target = 64 * 1024};
    dig(&d);
    /* Only the last resume gets here. */
    *(bool *)arg = true;
}

static void freeing_unfinished_coroutines_gives_everything_back(void **state)
{
    enum { COUNT = 200 };
    tlw_coro *coros[COUNT];
    bool finished[COUNT] = {0};
    size_t before = mapped_bytes();
    for (int i = 0; i < COUNT; i++) {
        coros[i] = new_coro(dig_and_stay, &finished[i], 0);
        if (i % 2 == 0) /* half suspended deep in their stack, half never started */
            assert_true(tlw_coro_resume(coros[i]));
    }
    size_t during = mapped_bytes();
    assert_true(during - before >= COUNT * (size_t)TLW_CORO_DEFAULT_STACK_SIZE);
    for (int i = 0; i < COUNT; i++) {
        assert_false(finished[i]);
        tlw_coro_free(coros[i]);
    }
    size_t after = mapped_bytes();
    /* Leaked stacks would add 50 MiB; allow the allocator some growth. */
    assert_true(after < before + 8 * 1024 * 1024);

    /* A new stack, likely where an abandoned one was, runs clean. */
    bool done = false;
    tlw_coro *c = new_coro(dig_and_stay, &done, 0);
    assert_true(tlw_coro_resume(c));
    assert_false(tlw_coro_resume(c));
    assert_true(done);
    tlw_coro_free(c);
}

static void count_three_steps(void *arg)
{
    for (int i = 0; i < 3; i++) {
        (*(int *)arg)++;
        tlw_coro_yield();
    }
}

static void a_thousand_coroutines_finish_and_leave_nothing(void **state)
{
    enum { COUNT = 1000 };
    tlw_coro **coros = calloc(COUNT, sizeof *coros);
    int *counts = calloc(COUNT, sizeof *counts);
    assert_non_null(coros);
    assert_non_null(counts);
    size_t before = mapped_bytes();
    for (int i = 0; i < COUNT; i++)
        coros[i] = new_coro(count_three_steps, &counts[i], 0);
    int alive = COUNT, rounds = 0;
    while (alive > 0) {
        alive = 0;
        for (int i = 0; i < COUNT; i++)
            alive += tlw_coro_resume(coros[i]);
        assert_true(++rounds <= 4);
    }
    assert_int_equal(rounds, 4);
    for (int i = 0; i < COUNT; i++) {
        assert_int_equal(counts[i], 3);
        assert_true(tlw_coro_finished(coros[i]));
        tlw_coro_free(coros[i]);
    }
    size_t after = mapped_bytes();
    /* Leaked stacks would add 250 MiB. */
    assert_true(after < before + 8 * 1024 * 1024);
    free(coros);
    free(counts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(three_yields_resume_in_order_then_finish),
        cmocka_unit_test(two_coroutines_interleave_deterministically),
        cmocka_unit_test(current_is_null_outside_and_the_running_one_inside),
        cmocka_unit_test(yield_outside_any_coroutine_does_nothing),
        cmocka_unit_test(resume_from_inside_a_coroutine_is_refused),
        cmocka_unit_test(freeing_itself_from_inside_is_refused),
        cmocka_unit_test(two_threads_each_run_their_own_set),
        cmocka_unit_test(stack_size_is_rounded_up_to_pages),
        cmocka_unit_test(impossible_stack_sizes_are_errors),
        cmocka_unit_test(deep_recursion_within_the_stack_size_works),
        cmocka_unit_test(stack_overflow_faults_on_the_guard_page),
        cmocka_unit_test(freeing_unfinished_coroutines_gives_everything_back),
        cmocka_unit_test(a_thousand_coroutines_finish_and_leave_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
