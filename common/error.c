#include "config.h"

#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[] = {
    [TLW_OK] = "ok",
    [TLW_ERR_INVALID] = "invalid",
    [TLW_ERR_IO] = "io",
    [TLW_ERR_NOMEM] = "out of memory",
    [TLW_ERR_UNAVAILABLE] = "unavailable",
    [TLW_ERR_TIMEOUT] = "timeout",
    [TLW_ERR_CANCELLED] = "cancelled",
    [TLW_ERR_NOT_FOUND] = "not found",
    [TLW_ERR_DENIED] = "denied",
    [TLW_ERR_PROTOCOL] = "protocol",
    [TLW_ERR_SERVER] = "server",
    [TLW_ERR_INTERNAL] = "internal",
    [TLW_ERR_FAILED] = "failed",
};

const char *tlw_status_name(tlw_status status)
{
    if ((unsigned)status < sizeof status_names / sizeof status_names[0] && status_names[status])
        return status_names[status];
    return "unknown";
}

void tlw_error_clear(tlw_error *err)
{
    if (!err)
        return;
    err->status = TLW_OK;
    err->rpc_code = 0;
    err->message[0] = '\0';
}

tlw_status tlw_error_set(tlw_error *err, tlw_status status, const char *fmt, ...)
{
    if (!err)
        return status;
    err->status = status;
    err->rpc_code = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return status;
}

tlw_status tlw_error_prefix(tlw_error *err, const char *fmt, ...)
{
    if (!err)
        return TLW_ERR_INTERNAL;
    char old[sizeof err->message];
    memcpy(old, err->message, sizeof old);

    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof err->message)
        snprintf(err->message + n, sizeof err->message - (size_t)n, "%s", old);
    return err->status;
}
