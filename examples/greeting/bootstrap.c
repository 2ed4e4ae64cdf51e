/*
 * The smallest useful worker: one activity, registered for the task queue
 * "greetings". Build it, copy it to your function as `bootstrap`, and set
 * TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (or ship a temporal.toml).
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

static int configure(tlw_config *cfg)
{
    tlw_config_set_task_queue(cfg, "greetings");
    tlw_register_activity(cfg, "compose_greeting", compose_greeting);
    return 0;
}

int main(int argc, char **argv)
{
    tlw_version version = {.deployment_name = "greetings", .build_id = "v1.0"};
    return tlw_main(argc, argv, &version, configure);
}
