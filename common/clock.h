/* Clocks and sleeping, in milliseconds. */
#ifndef TLW_COMMON_CLOCK_H
#define TLW_COMMON_CLOCK_H

#include <stdint.h>

/* For measuring intervals and per-call deadlines (never jumps). */
int64_t tlw_monotonic_ms(void);

/* Epoch milliseconds: Lambda's deadlines are in this clock. */
int64_t tlw_wall_ms(void);

/* Sleeps `ms`, resuming after signals. */
void tlw_sleep_ms(int64_t ms);

#endif
