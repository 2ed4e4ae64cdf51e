/*
 * Logging: one line per message on stderr, as Lambda's log formats expect.
 *   text:  2026-11-26T15:59:00.123Z INFO [request-id] supervisor: message
 *   json:  {"timestamp":"...","level":"INFO","requestId":"...","process":"supervisor","message":"..."}
 * (AWS_LAMBDA_LOG_FORMAT=JSON selects json; AWS_LAMBDA_LOG_LEVEL the level.)
 *
 * The logger's settings are process-wide, set once at start-up and once per
 * invocation (the request id); each forked child names its own process.
 */
#ifndef TLW_COMMON_LOG_H
#define TLW_COMMON_LOG_H

#include <stdbool.h>

/* The levels of AWS_LAMBDA_LOG_LEVEL, in order. */
typedef enum tlw_log_level {
    TLW_LOG_TRACE,
    TLW_LOG_DEBUG,
    TLW_LOG_INFO,
    TLW_LOG_WARN,
    TLW_LOG_ERROR,
    TLW_LOG_FATAL,
} tlw_log_level;

typedef enum tlw_log_format { TLW_LOG_FORMAT_TEXT, TLW_LOG_FORMAT_JSON } tlw_log_format;

/* The one table of level names: "TRACE" ... "FATAL" (an unknown level reads
 * "INFO"); parsing ignores case and takes "warning" for WARN too. */
const char *tlw_log_level_name(tlw_log_level level);
bool tlw_log_level_parse(const char *text, tlw_log_level *out);

void tlw_log_setup(tlw_log_level level, tlw_log_format format);
/* The invocation the next lines belong to; NULL or "" for none. */
void tlw_log_set_request_id(const char *request_id);
/* "supervisor", "workflow-0", "activity-1", ... */
void tlw_log_set_process(const char *name);
bool tlw_log_enabled(tlw_log_level level);

void tlw_log(tlw_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define tlw_log_debug(...) tlw_log(TLW_LOG_DEBUG, __VA_ARGS__)
#define tlw_log_info(...) tlw_log(TLW_LOG_INFO, __VA_ARGS__)
#define tlw_log_warn(...) tlw_log(TLW_LOG_WARN, __VA_ARGS__)
#define tlw_log_error(...) tlw_log(TLW_LOG_ERROR, __VA_ARGS__)

#endif
