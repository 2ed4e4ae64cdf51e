/*
 * The worker bench/perf.py runs, with the activities of the Go reference
 * (../shared/anchors/go-lambdaworker/main.go): compose_greeting(name),
 * noop(), add(a, b) and echo(v). The task queue comes from
 * TEMPORAL_TASK_QUEUE, the deployment name from DEPLOYMENT_NAME (default
 * "bench"), the build id is "b1", as the references have them.
 */
#include <stdlib.h>

#include <tlw/lambda_worker.h>

static tlw_status compose_greeting(tlw_activity *act, const json_t *args, json_t **result)
{
    (void)act;
    const char *name = json_string_value(json_array_get(args, 0));
    *result = json_sprintf("Hello, %s!", name ? name : "stranger");
    return *result ? TLW_OK : TLW_ERR_NOMEM;
}

static tlw_status noop(tlw_activity *act, const json_t *args, json_t **result)
{
    (void)act;
    (void)args;
    *result = json_null();
    return TLW_OK;
}

static tlw_status add(tlw_activity *act, const json_t *args, json_t **result)
{
    (void)act;
    *result = json_integer(json_integer_value(json_array_get(args, 0)) +
                           json_integer_value(json_array_get(args, 1)));
    return *result ? TLW_OK : TLW_ERR_NOMEM;
}

static tlw_status echo(tlw_activity *act, const json_t *args, json_t **result)
{
    (void)act;
    json_t *v = json_array_get(args, 0);
    *result = v ? json_deep_copy(v) : json_null();
    return *result ? TLW_OK : TLW_ERR_NOMEM;
}

static int configure(tlw_config *cfg)
{
    tlw_register_activity(cfg, "compose_greeting", compose_greeting);
    tlw_register_activity(cfg, "noop", noop);
    tlw_register_activity(cfg, "add", add);
    tlw_register_activity(cfg, "echo", echo);
    return 0;
}

int main(int argc, char **argv)
{
    const char *deployment = getenv("DEPLOYMENT_NAME");
    tlw_version version = {.deployment_name = deployment && *deployment ? deployment : "bench",
                           .build_id = "b1"};
    return tlw_main(argc, argv, &version, configure);
}
