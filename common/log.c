#include "config.h"

#include "common/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static struct {
    tlw_log_level level;
    tlw_log_format format;
    char request_id[128];
    char process[32];
} logger = {TLW_LOG_INFO, TLW_LOG_FORMAT_TEXT, "", "supervisor"};

static const char *const log_level_names[] = {
    [TLW_LOG_TRACE] = "TRACE", [TLW_LOG_DEBUG] = "DEBUG", [TLW_LOG_INFO] = "INFO",
    [TLW_LOG_WARN] = "WARN",   [TLW_LOG_ERROR] = "ERROR", [TLW_LOG_FATAL] = "FATAL",
};

const char *tlw_log_level_name(tlw_log_level level)
{
    return (unsigned)level <= TLW_LOG_FATAL ? log_level_names[level] : "INFO";
}

bool tlw_log_level_parse(const char *text, tlw_log_level *out)
{
    for (int i = TLW_LOG_TRACE; i <= TLW_LOG_FATAL; i++) {
        if (strcasecmp(text, log_level_names[i]) == 0) {
            *out = (tlw_log_level)i;
            return true;
        }
    }
    if (strcasecmp(text, "warning") == 0) {
        *out = TLW_LOG_WARN;
        return true;
    }
    return false;
}

void tlw_log_setup(tlw_log_level level, tlw_log_format format)
{
    logger.level = level;
    logger.format = format;
}

void tlw_log_set_request_id(const char *request_id)
{
    snprintf(logger.request_id, sizeof logger.request_id, "%s", request_id ? request_id : "");
}

void tlw_log_set_process(const char *name)
{
    snprintf(logger.process, sizeof logger.process, "%s", name ? name : "");
}

bool tlw_log_enabled(tlw_log_level level)
{
    return level >= logger.level;
}

void tlw_log(tlw_log_level level, const char *fmt, ...)
{
    if (!tlw_log_enabled(level))
        return;
    char message[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char stamp[40];
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", now.tv_nsec / 1000000);
    const char *lvl = tlw_log_level_name(level);

    /* One write per line, so that lines from several processes never mix. */
    char line[4096];
    int len;
    if (logger.format == TLW_LOG_FORMAT_JSON) {
        json_t *obj = json_pack("{s:s, s:s, s:s, s:s}", "timestamp", stamp, "level", lvl,
                                "process", logger.process, "message", message);
        if (obj && logger.request_id[0])
            json_object_set_new(obj, "requestId", json_string(logger.request_id));
        char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        len = snprintf(line, sizeof line, "%s\n", text ? text : "{}");
        free(text);
        json_decref(obj);
    } else if (logger.request_id[0]) {
        len = snprintf(line, sizeof line, "%s %s [%s] %s: %s\n", stamp, lvl, logger.request_id,
                       logger.process, message);
    } else {
        len = snprintf(line, sizeof line, "%s %s %s: %s\n", stamp, lvl, logger.process, message);
    }
    if (len < 0)
        return;
    if ((size_t)len >= sizeof line) {
        len = sizeof line - 1;
        line[len - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, line, (size_t)len);
    (void)w;
}
