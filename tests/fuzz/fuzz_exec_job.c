/*
 * Fuzzes the decoder of the task a pre-forked executor receives (EXEC_JOB).
 * Besides "never crash", what it accepts encodes and decodes again to the
 * same activity.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/executor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlw_activity a;
    json_t *args, *owner;
    tlw_error err;
    if (tlw_executor_job_decode((const char *)data, size, &a, &args, &owner, &err) != TLW_OK)
        return 0;
    char *again = tlw_executor_job_encode(&a, args);
    if (!again)
        abort();
    tlw_activity b;
    json_t *args_b, *owner_b;
    if (tlw_executor_job_decode(again, strlen(again), &b, &args_b, &owner_b, &err) != TLW_OK ||
        strcmp(a.info.activity_type, b.info.activity_type) != 0 ||
        strcmp(a.info.workflow_id, b.info.workflow_id) != 0 || a.info.attempt != b.info.attempt ||
        a.deadline_ms != b.deadline_ms || !json_equal(args, args_b) ||
        (a.previous_details == NULL) != (b.previous_details == NULL) ||
        (a.previous_details && !json_equal(a.previous_details, b.previous_details)))
        abort();
    json_decref(a.previous_details);
    json_decref(b.previous_details);
    json_decref(owner);
    json_decref(owner_b);
    free(again);
    return 0;
}
