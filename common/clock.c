#include "config.h"

#include "common/clock.h"

#include <errno.h>
#include <time.h>

static int64_t read_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tlw_monotonic_ms(void)
{
    return read_ms(CLOCK_MONOTONIC);
}

int64_t tlw_wall_ms(void)
{
    return read_ms(CLOCK_REALTIME);
}

void tlw_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

int64_t tlw_backoff_ms(int attempt, int64_t first_ms, int64_t max_ms)
{
    int64_t ms = first_ms;
    for (int i = 1; i < attempt && ms < max_ms; i++)
        ms *= 2;
    return ms < max_ms ? ms : max_ms;
}
