/*
 * The task as a pre-forked executor receives it (EXEC_JOB): what the slot
 * encodes, the executor decodes to the same activity, and the decoder
 * refuses anything else with a message that says what is wrong.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "worker/executor.h"

static void a_job_round_trips(void **state)
{
    (void)state;
    json_t *details = json_pack("[{s:i}]", "step", 3);
    tlw_activity in = {.info = {.activity_id = "a-1",
                                .activity_type = "compose_greeting",
                                .workflow_id = "wf \xc3\xa9",
                                .workflow_run_id = "run",
                                .workflow_type = "Greeting",
                                .workflow_namespace = "default",
                                .task_queue = "q",
                                .attempt = 4,
                                .heartbeat_timeout_ms = 2500,
                                .start_to_close_timeout_ms = 10000},
                       .deadline_ms = 1790000000123LL,
                       .previous_details = details};
    json_t *args = json_pack("[s, i, f, n]", "World", 7, 0.1, NULL);
    setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793", 1);
    char *text = tlw_executor_job_encode(&in, args);
    assert_non_null(text);

    tlw_activity out;
    json_t *out_args, *owner;
    tlw_error err;
    assert_int_equal(tlw_executor_job_decode(text, strlen(text), &out, &out_args, &owner, &err),
                     TLW_OK);
    assert_string_equal(out.info.activity_id, "a-1");
    assert_string_equal(out.info.activity_type, "compose_greeting");
    assert_string_equal(out.info.workflow_id, "wf \xc3\xa9");
    assert_string_equal(out.info.workflow_run_id, "run");
    assert_string_equal(out.info.workflow_type, "Greeting");
    assert_string_equal(out.info.workflow_namespace, "default");
    assert_string_equal(out.info.task_queue, "q");
    assert_int_equal(out.info.attempt, 4);
    assert_int_equal(out.info.heartbeat_timeout_ms, 2500);
    assert_int_equal(out.info.start_to_close_timeout_ms, 10000);
    assert_true(out.deadline_ms == 1790000000123LL);
    assert_true(json_equal(out_args, args));
    assert_true(json_equal(out.previous_details, details));
    assert_int_equal(out.result_fd, -1);
    /* The slot's trace id, for an executor forked before the invocation. */
    assert_string_equal(json_string_value(json_object_get(owner, "trace_id")),
                        "Root=1-5759e988-bd862e3fe1be46a994272793");
    json_decref(out.previous_details);
    json_decref(owner);

    /* No previous details, no trace id: none after the trip either. */
    in.previous_details = NULL;
    unsetenv("_X_AMZN_TRACE_ID");
    free(text);
    text = tlw_executor_job_encode(&in, args);
    assert_int_equal(tlw_executor_job_decode(text, strlen(text), &out, &out_args, &owner, &err),
                     TLW_OK);
    assert_null(out.previous_details);
    assert_null(json_string_value(json_object_get(owner, "trace_id")));
    json_decref(owner);
    free(text);
    json_decref(args);
    json_decref(details);
}

static void assert_refused(const char *text, const char *says)
{
    tlw_activity out;
    json_t *args = (json_t *)1, *owner = (json_t *)1;
    tlw_error err;
    assert_int_equal(tlw_executor_job_decode(text, strlen(text), &out, &args, &owner, &err),
                     TLW_ERR_PROTOCOL);
    assert_null(args);
    assert_null(owner);
    if (!strstr(err.message, says))
        fail_msg("\"%s\" does not say \"%s\"", err.message, says);
}

#define JOB(extra, args)                                                                           \
    "{\"activity_id\":\"a\",\"activity_type\":\"t\",\"workflow_id\":\"w\","                        \
    "\"workflow_run_id\":\"r\",\"workflow_type\":\"wt\",\"workflow_namespace\":\"n\","             \
    "\"task_queue\":\"q\",\"attempt\":1,\"heartbeat_timeout_ms\":0,"                               \
    "\"start_to_close_timeout_ms\":0,\"deadline_ms\":5,\"args\":" args extra "}"

static void anything_else_is_refused(void **state)
{
    (void)state;
    assert_refused("", "not JSON");
    assert_refused("[1]", "EXEC_JOB");
    assert_refused("{\"activity_id\":\"a\"}", "EXEC_JOB");
    assert_refused(JOB(",\"other\":1", "[]"), "EXEC_JOB");    /* an unknown key */
    assert_refused(JOB(",\"trace_id\":1", "[]"), "EXEC_JOB"); /* a number for a string */
    assert_refused(JOB("", "{}"), "args is not an array");    /* args not an array */
    assert_refused(JOB(",\"args\":[]", "[]"), "not JSON");    /* a key twice */
    assert_refused("{\"activity_id\":1,\"activity_type\":\"t\",\"workflow_id\":\"w\","
                   "\"workflow_run_id\":\"r\",\"workflow_type\":\"wt\",\"workflow_namespace\":"
                   "\"n\",\"task_queue\":\"q\",\"attempt\":1,\"heartbeat_timeout_ms\":0,"
                   "\"start_to_close_timeout_ms\":0,\"deadline_ms\":5,\"args\":[]}",
                   "EXEC_JOB"); /* a number for a string */

    /* The same with the keys right is accepted. */
    tlw_activity out;
    json_t *args, *owner;
    tlw_error err;
    const char *ok = JOB("", "[1]");
    assert_int_equal(tlw_executor_job_decode(ok, strlen(ok), &out, &args, &owner, &err), TLW_OK);
    json_decref(owner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_job_round_trips),
        cmocka_unit_test(anything_else_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
