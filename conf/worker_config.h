/*
 * conf/worker_config: the tlw_config that a user's configure() fills, behind the
 * public tlw_config_* functions. The supervisor builds one per invocation:
 * load the settings (defaults < tuning file < environment), run configure()
 * (code wins), then finish and validate.
 */
#ifndef TLW_CONF_WORKER_CONFIG_H
#define TLW_CONF_WORKER_CONFIG_H

#include <stdbool.h>

#include <tlw/lambda_worker.h>

#include "conf/settings.h"

#define TLW_MAX_HOOKS 32

typedef struct tlw_registration {
    char *name;
    tlw_activity_fn activity; /* one of the two is set */
    tlw_workflow_fn workflow;
    /* Workflows: tlw_workflow_options as registered (UNSPECIFIED: the
     * worker's default; see tlw_config_versioning_behavior). */
    tlw_versioning_behavior versioning_behavior;
    void *arg;
} tlw_registration;

typedef struct tlw_hook {
    tlw_hook_fn fn;
    void *arg;
} tlw_hook;

typedef struct tlw_invocation_hooks {
    tlw_hook_fn setup;
    tlw_hook_fn teardown;
    void *arg;
} tlw_invocation_hooks;

struct tlw_config {
    tlw_settings settings;
    bool failed; /* a setter or tlw_config_fail() reported `error` */
    tlw_error error;
    size_t registration_count;
    tlw_registration *registrations;
    size_t shutdown_hook_count;
    tlw_hook shutdown_hooks[TLW_MAX_HOOKS];
    size_t start_hook_count;
    tlw_hook start_hooks[TLW_MAX_HOOKS];
    size_t invocation_hook_count;
    tlw_invocation_hooks invocation_hooks[TLW_MAX_HOOKS];
};

/* Loads the settings from `envp` and records `version`. On failure `cfg`
 * must still be freed. */
tlw_status tlw_config_load(tlw_config *cfg, const tlw_version *version, char *const *envp,
                           tlw_error *err);

/* Runs the user's configure(), then finishes and validates the settings and
 * the registrations (every workflow has a versioning behaviour). */
tlw_status tlw_config_apply(tlw_config *cfg, tlw_configure_fn configure, tlw_error *err);

void tlw_config_free(tlw_config *cfg);

/* Lookups for the workers; NULL when the name is not registered. */
tlw_activity_fn tlw_config_activity(const tlw_config *cfg, const char *name);
tlw_workflow_fn tlw_config_workflow(const tlw_config *cfg, const char *name);
const tlw_registration *tlw_config_workflow_registration(const tlw_config *cfg, const char *name);

/* The behaviour a registered workflow runs with: its own, else the worker's
 * default_versioning_behavior (never UNSPECIFIED once tlw_config_apply
 * succeeded). */
tlw_versioning_behavior tlw_config_versioning_behavior(const tlw_config *cfg,
                                                       const tlw_registration *workflow);

size_t tlw_config_activity_count(const tlw_config *cfg);
size_t tlw_config_workflow_count(const tlw_config *cfg);

/* "a, b, c": the registered names of one kind, for messages. */
void tlw_config_list_names(const tlw_config *cfg, bool activities, char *out, size_t size);

#endif
