/* The public tlw_activity_* functions: what an activity can ask and say. */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "ipc/ipc.h"
#include "worker/activity_context.h"

/* Set in an executor by the slot's SIGUSR1. */
static volatile sig_atomic_t executor_cancelled;

void tlw_activity_cancel_signal(int sig)
{
    (void)sig;
    executor_cancelled = 1;
}

const tlw_activity_info *tlw_activity_get_info(const tlw_activity *act)
{
    return &act->info;
}

const json_t *tlw_activity_heartbeat_details(const tlw_activity *act)
{
    return act->previous_details;
}

int tlw_activity_is_cancelled(const tlw_activity *act)
{
    return executor_cancelled ||
           (act->heartbeat && act->heartbeat->cancel_requested);
}

long long tlw_activity_time_left_ms(const tlw_activity *act)
{
    int64_t left = act->deadline_ms - tlw_wall_ms();
    return left > 0 ? left : 0;
}

tlw_status tlw_activity_fail(tlw_activity *act, const char *type, int non_retryable,
                             const json_t *details, const char *fmt, ...)
{
    act->failed = true;
    snprintf(act->fail_type, sizeof act->fail_type, "%s", type ? type : "");
    act->non_retryable = non_retryable != 0;
    json_decref(act->fail_details);
    act->fail_details = details ? json_deep_copy(details) : NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(act->fail_message, sizeof act->fail_message, fmt, ap);
    va_end(ap);
    return TLW_ERR_FAILED;
}

tlw_status tlw_activity_heartbeat(tlw_activity *act, const json_t *details)
{
    json_t *null_value = json_null();
    const json_t *value = details ? details : null_value;
    if (act->result_fd >= 0) {
        char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text) {
            tlw_ipc_exec_msg msg = {.type = TLW_IPC_EXEC_HEARTBEAT, .json = text,
                                    .json_len = strlen(text)};
            tlw_ipc_exec_write(act->result_fd, &msg, NULL);
            free(text);
        }
    } else if (act->heartbeat) {
        tlw_heartbeat_record(act->heartbeat, value);
    }
    json_decref(null_value);
    return tlw_activity_is_cancelled(act) ? TLW_ERR_CANCELLED : TLW_OK;
}
