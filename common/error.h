/*
 * The project's error convention, internal side: helpers that fill the
 * caller-owned `tlw_error` declared in <tlw/lambda_worker.h>.
 */
#ifndef TLW_COMMON_ERROR_H
#define TLW_COMMON_ERROR_H

#include <tlw/lambda_worker.h>

/* Clears `err` (status TLW_OK, empty message). `err` may be NULL. */
void tlw_error_clear(tlw_error *err);

/*
 * Sets `err` to `status` with a printf-style message (truncated to fit) and
 * returns `status`, so that a failure path reads
 *     return tlw_error_set(err, TLW_ERR_INVALID, "...", ...);
 * `err` may be NULL, in which case only the status is returned.
 */
tlw_status tlw_error_set(tlw_error *err, tlw_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Puts context in front of an error that is already set:
 * "loading temporal.toml: " + old message. Returns err->status.
 */
tlw_status tlw_error_prefix(tlw_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
