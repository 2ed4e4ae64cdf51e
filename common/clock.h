/* Clocks, sleeping and backing off, in milliseconds. */
#ifndef TLW_COMMON_CLOCK_H
#define TLW_COMMON_CLOCK_H

#include <stdint.h>

/* For measuring intervals and per-call deadlines (never jumps). */
int64_t tlw_monotonic_ms(void);

/* Epoch milliseconds: Lambda's deadlines are in this clock. */
int64_t tlw_wall_ms(void);

/* Sleeps `ms`, resuming after signals. */
void tlw_sleep_ms(int64_t ms);

/* The one backoff: the delay before retry number `attempt` (1, 2, ...) is
 * `first_ms`, doubling each time up to `max_ms`. */
int64_t tlw_backoff_ms(int attempt, int64_t first_ms, int64_t max_ms);

#endif
