/*
 * tlw_main: the bootstrap's command line, then the supervisor. The one place
 * that knows both sides: it hands the supervisor what a slot and a recovery
 * reporter run (worker/), the environment and the Runtime API.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tlw/lambda_worker.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "conf/worker_config.h"
#include "supervisor/runtime_api.h"
#include "supervisor/supervisor.h"
#include "worker/otel_export.h"
#include "worker/recovery.h"
#include "worker/replay.h"
#include "worker/slot.h"
#include "worker/zygote.h"

extern char **environ;

static void usage(FILE *out, const char *argv0)
{
    fprintf(out,
            "usage: %s [--print-config | --replay FILE | --replay-workflow ID | --help |\n"
            "          --version]\n"
            "Runs a Temporal worker. Under AWS Lambda (AWS_LAMBDA_RUNTIME_API set) it serves\n"
            "invocations; elsewhere it runs until SIGINT or SIGTERM, then drains.\n"
            "  --print-config         print every setting, its value and where it came from\n"
            "                         (secrets redacted); exit 1 if the settings are invalid\n"
            "  --replay FILE          replay a run's history (JSON, as `temporal workflow show\n"
            "                         --output json` writes it) against this program's\n"
            "                         workflows; exit 0 if it replays, 1 with the\n"
            "                         nondeterminism if not\n"
            "  --replay-workflow ID   the same with the history of workflow ID, fetched from\n"
            "                         the configured server\n",
            argv0);
}

/* Loads everything as an invocation would, prints it, and says whether it
 * would run. */
static int print_config(const tlw_version *version, tlw_configure_fn configure)
{
    tlw_config cfg;
    tlw_error err;
    tlw_status st = tlw_config_load(&cfg, version, environ, &err);
    if (st == TLW_OK) {
        st = tlw_config_apply(&cfg, configure, &err);
        tlw_settings_print(&cfg.settings, stdout);
        char names[1024];
        tlw_config_list_names(&cfg, false, names, sizeof names);
        printf("%-34s %s\n", "workflows", names);
        tlw_config_list_names(&cfg, true, names, sizeof names);
        printf("%-34s %s\n", "activities", names);
    }
    tlw_config_free(&cfg);
    fflush(stdout);
    if (st != TLW_OK) {
        fprintf(stderr, "error: %s\n", err.message);
        return 1;
    }
    return 0;
}

/* Replays a history from a file or the server against the workflows
 * configure() registers. */
static int replay(const tlw_version *version, tlw_configure_fn configure, const char *file,
                  const char *workflow_id)
{
    tlw_config cfg;
    tlw_error err;
    tlw_status st = tlw_config_load(&cfg, version, environ, &err);
    if (st == TLW_OK)
        st = tlw_config_apply(&cfg, configure, &err);
    if (st == TLW_OK)
        st =
            file ? tlw_replay_file(&cfg, file, &err) : tlw_replay_workflow(&cfg, workflow_id, &err);
    tlw_config_free(&cfg);
    if (st != TLW_OK) {
        fprintf(stderr, "replay of %s failed: %s\n", file ? file : workflow_id, err.message);
        return 1;
    }
    printf("%s replays cleanly\n", file ? file : workflow_id);
    return 0;
}

/* What the supervisor's children run, and the environment it reads. */
static void wire_worker(tlw_supervisor_ops *ops)
{
    ops->environ = environ;
    ops->slot_main = tlw_slot_main;
    ops->zygote_main = tlw_zygote_main;
    ops->report_task = tlw_recovery_report;
    ops->slot_polls = tlw_slot_polls;
    ops->preload = tlw_slot_preload;
    ops->otel_export = tlw_otel_export;
}

int tlw_main(int argc, char **argv, const tlw_version *version, tlw_configure_fn configure)
{
    const char *argv0 = argc > 0 && argv && argv[0] ? argv[0] : "bootstrap";
    static const struct option options[] = {
        {"print-config", no_argument, NULL, 'p'},
        {"replay", required_argument, NULL, 'r'},
        {"replay-workflow", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    bool want_print = false;
    const char *replay_file = NULL, *replay_workflow = NULL;
    if (argc > 1) {
        optind = 1;
        int c;
        while ((c = getopt_long(argc, argv, "hV", options, NULL)) != -1) {
            switch (c) {
            case 'p': want_print = true; break;
            case 'r': replay_file = optarg; break;
            case 'w': replay_workflow = optarg; break;
            case 'h': usage(stdout, argv0); return 0;
            case 'V': printf("tlw %s\n", TLW_VERSION_STRING); return 0;
            default: usage(stderr, argv0); return 2;
            }
        }
        if (optind < argc) {
            fprintf(stderr, "%s: unexpected argument \"%s\"\n", argv0, argv[optind]);
            usage(stderr, argv0);
            return 2;
        }
    }
    if (want_print)
        return print_config(version, configure);
    if (replay_file || replay_workflow)
        return replay(version, configure, replay_file, replay_workflow);

    tlw_supervisor_ops ops;
    const char *api_address = getenv(TLW_RUNTIME_API_ENV);
    if (!api_address || !*api_address) {
        tlw_supervisor_default_ops(&ops, NULL);
        wire_worker(&ops);
        tlw_spans spans = {0};
        ops.metrics = tlw_metrics_new(tlw_wall_ms());
        ops.spans = &spans;
        int rc = tlw_supervisor_run_standalone(&ops, version, configure);
        tlw_metrics_free(ops.metrics);
        tlw_spans_free(&spans);
        return rc;
    }
    tlw_runtime_api *api;
    tlw_error err;
    if (tlw_runtime_api_open(api_address, &api, &err) != TLW_OK) {
        tlw_log_error("%s", err.message);
        return 1;
    }
    tlw_supervisor_default_ops(&ops, api);
    wire_worker(&ops);
    /* For the life of the environment: the exported values are cumulative. */
    tlw_spans spans = {0};
    ops.metrics = tlw_metrics_new(tlw_wall_ms());
    ops.spans = &spans;
    int rc = tlw_supervisor_serve(&ops, version, configure);
    tlw_metrics_free(ops.metrics);
    tlw_spans_free(&spans);
    tlw_runtime_api_close(api);
    return rc;
}

int tlw_run_worker(const tlw_version *version, tlw_configure_fn configure)
{
    return tlw_main(0, NULL, version, configure);
}
