/*
 * The smallest useful worker: a workflow and the activity it calls, both in
 * C, for the task queue "greetings". Build it, copy it to your function as
 * `bootstrap`, and set TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (or ship a
 * temporal.toml).
 *
 *   ./bootstrap --print-config    shows what it would run with
 */
#include <tlw/lambda_worker.h>

static tlw_status compose_greeting(tlw_activity *act, const json_t *args, json_t **result)
{
    (void)act;
    const char *name = json_string_value(json_array_get(args, 0));
    *result = json_sprintf("Hello, %s!", name ? name : "stranger");
    return *result ? TLW_OK : TLW_ERR_NOMEM;
}

/* Replayed from history: it must make the same calls in the same order. */
static tlw_status greeting_workflow(tlw_workflow *wf, const json_t *args, json_t **result)
{
    tlw_activity_options opt = {.start_to_close_timeout_ms = 10000};
    const json_t *greeting;
    tlw_status st = tlw_workflow_execute_activity(wf, "compose_greeting", args, &opt, &greeting);
    if (st != TLW_OK)
        return st; /* the activity's failure fails the workflow */
    *result = json_deep_copy(greeting);
    return TLW_OK;
}

static int configure(tlw_config *cfg)
{
    tlw_config_set_task_queue(cfg, "greetings");
    /* Worker versioning is always on: a run stays on the build it began on. */
    tlw_config_set_default_versioning_behavior(cfg, TLW_VERSIONING_PINNED);
    tlw_register_workflow(cfg, "GreetingWorkflow", greeting_workflow);
    tlw_register_activity(cfg, "compose_greeting", compose_greeting);
    return 0;
}

int main(int argc, char **argv)
{
    tlw_version version = {.deployment_name = "greetings", .build_id = "v1.0"};
    return tlw_main(argc, argv, &version, configure);
}
