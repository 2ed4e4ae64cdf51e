#include "config.h"

#include "conf/worker_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/metadata.h"

tlw_status tlw_config_load(tlw_config *cfg, const tlw_version *version, char *const *envp,
                           tlw_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    tlw_status st = tlw_settings_load(&cfg->settings, envp, err);
    if (st)
        return st;
    tlw_source code;
    tlw_source_set(&code, TLW_SOURCE_CODE, "tlw_version");
    if (version && version->deployment_name)
        tlw_str_setting_set(&cfg->settings.worker.deployment_name, version->deployment_name,
                            strlen(version->deployment_name), &code, NULL);
    if (version && version->build_id)
        tlw_str_setting_set(&cfg->settings.worker.build_id, version->build_id,
                            strlen(version->build_id), &code, NULL);
    return TLW_OK;
}

/*
 * Worker deployment versioning is always on here, and the server then needs
 * a versioning behaviour for every workflow run; the Go SDK refuses such a
 * registration outright. Checked after configure() so that the default may
 * be set before or after the registrations.
 */
static tlw_status check_versioning(const tlw_config *cfg, tlw_error *err)
{
    const tlw_registration *first = NULL;
    size_t missing = 0;
    for (size_t i = 0; i < cfg->registration_count; i++) {
        const tlw_registration *r = &cfg->registrations[i];
        if (r->workflow && tlw_config_versioning_behavior(cfg, r) == TLW_VERSIONING_UNSPECIFIED) {
            first = first ? first : r;
            missing++;
        }
    }
    if (!first)
        return TLW_OK;
    const tlw_int_setting *def = &cfg->settings.worker.default_versioning_behavior;
    const tlw_str_setting *file = &cfg->settings.worker.tuning_file;
    char more[48] = "";
    if (missing > 1)
        snprintf(more, sizeof more, " (and %zu more)", missing - 1);
    return tlw_error_set(
        err, TLW_ERR_INVALID,
        "workflow \"%.100s\"%s has no versioning behavior, and the worker has no "
        "default_versioning_behavior (%.100s): worker deployment versioning is always on, so "
        "every workflow needs one. Register it with tlw_register_workflow_ex() and "
        ".versioning_behavior = TLW_VERSIONING_PINNED or TLW_VERSIONING_AUTO_UPGRADE, or set "
        "default_versioning_behavior = \"pinned\"; (or \"auto-upgrade\") in the tuning file "
        "(%.100s) or with tlw_config_set_default_versioning_behavior()",
        first->name, more, def->source.where[0] ? def->source.where : "default",
        file->value ? file->value : TLW_TUNING_FILE_NAME);
}

tlw_status tlw_config_apply(tlw_config *cfg, tlw_configure_fn configure, tlw_error *err)
{
    if (configure) {
        int rc = configure(cfg);
        if (cfg->failed) {
            *err = cfg->error;
            return tlw_error_prefix(err, "configure: ");
        }
        if (rc != 0)
            return tlw_error_set(err, TLW_ERR_INVALID,
                                 "configure returned %d without a message; call "
                                 "tlw_config_fail(cfg, \"...\") to say why",
                                 rc);
    }
    tlw_settings_finish(&cfg->settings);
    tlw_status st = tlw_settings_validate(&cfg->settings, err);
    return st ? st : check_versioning(cfg, err);
}

void tlw_config_free(tlw_config *cfg)
{
    tlw_settings_free(&cfg->settings);
    for (size_t i = 0; i < cfg->registration_count; i++)
        free(cfg->registrations[i].name);
    free(cfg->registrations);
    cfg->registrations = NULL;
    cfg->registration_count = 0;
}

/* Remembers the first error a setter or tlw_config_fail() reports; the
 * worker fails with it. */
static void config_verror(tlw_config *cfg, tlw_status st, const char *fmt, va_list ap)
{
    if (cfg->failed)
        return;
    cfg->failed = true;
    cfg->error.status = st;
    vsnprintf(cfg->error.message, sizeof cfg->error.message, fmt, ap);
}

static tlw_status config_error(tlw_config *cfg, tlw_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static tlw_status config_error(tlw_config *cfg, tlw_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    config_verror(cfg, st, fmt, ap);
    va_end(ap);
    return st;
}

int tlw_config_fail(tlw_config *cfg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    config_verror(cfg, TLW_ERR_INVALID, fmt, ap);
    va_end(ap);
    return 1;
}

static tlw_status set_str(tlw_config *cfg, tlw_str_setting *field, const char *fn,
                          const char *value)
{
    if (!value || !*value)
        return config_error(cfg, TLW_ERR_INVALID, "%s: the value is empty", fn);
    tlw_source code;
    tlw_source_set(&code, TLW_SOURCE_CODE, "%s()", fn);
    tlw_error err;
    tlw_status st = tlw_str_setting_set(field, value, strlen(value), &code, &err);
    return st ? config_error(cfg, st, "%s", err.message) : TLW_OK;
}

static tlw_status set_int(tlw_config *cfg, tlw_int_setting *field, const char *fn,
                          long long value, long long lo, long long hi)
{
    if (value < lo || value > hi)
        return config_error(cfg, TLW_ERR_INVALID, "%s(%lld): out of range; use %lld to %lld", fn,
                            value, lo, hi);
    field->value = value;
    tlw_source_set(&field->source, TLW_SOURCE_CODE, "%s()", fn);
    return TLW_OK;
}

/* An enum-valued setting, in the words the tuning file uses for it. */
static tlw_status set_enum(tlw_config *cfg, tlw_int_setting *field, const char *fn, const char *key,
                           const char *text)
{
    if (!text || !*text)
        return config_error(cfg, TLW_ERR_INVALID, "%s: the value is empty", fn);
    char where[TLW_SOURCE_WHERE_MAX];
    snprintf(where, sizeof where, "%s()", fn);
    int64_t value;
    tlw_error err;
    tlw_status st = tlw_tuning_parse_enum(key, text, &value, where, &err);
    if (st)
        return config_error(cfg, st, "%s", err.message);
    field->value = value;
    tlw_source_set(&field->source, TLW_SOURCE_CODE, "%s", where);
    return TLW_OK;
}

static tlw_status set_bool(tlw_config *cfg, tlw_int_setting *field, const char *fn, int value)
{
    return set_int(cfg, field, fn, value != 0, 0, 1);
}

tlw_status tlw_config_set_task_queue(tlw_config *cfg, const char *task_queue)
{
    return set_str(cfg, &cfg->settings.worker.task_queue, __func__, task_queue);
}

tlw_status tlw_config_set_address(tlw_config *cfg, const char *host_port)
{
    return set_str(cfg, &cfg->settings.client.address, __func__, host_port);
}

tlw_status tlw_config_set_namespace(tlw_config *cfg, const char *namespace_name)
{
    return set_str(cfg, &cfg->settings.client.namespace_name, __func__, namespace_name);
}

tlw_status tlw_config_set_api_key(tlw_config *cfg, const char *api_key)
{
    return set_str(cfg, &cfg->settings.client.api_key, __func__, api_key);
}

tlw_status tlw_config_set_tls(tlw_config *cfg, int enabled)
{
    return set_bool(cfg, &cfg->settings.client.tls_explicit, __func__, enabled);
}

/* A PEM item from a file, read now so that a bad path fails configure. */
static tlw_status set_pem_path(tlw_config *cfg, tlw_str_setting *field, const char *fn,
                               const char *what, const char *path)
{
    if (!path || !*path)
        return config_error(cfg, TLW_ERR_INVALID, "%s: the path is empty", fn);
    tlw_source code;
    tlw_source_set(&code, TLW_SOURCE_CODE, "%s()", fn);
    tlw_error err;
    tlw_status st = tlw_pem_setting_read(field, what, path, &code, &err);
    return st ? config_error(cfg, st, "%s: %s", code.where, err.message) : TLW_OK;
}

tlw_status tlw_config_set_tls_server_ca_cert_path(tlw_config *cfg, const char *path)
{
    return set_pem_path(cfg, &cfg->settings.client.server_ca_pem, __func__,
                        "the server CA certificate", path);
}

tlw_status tlw_config_set_tls_server_ca_cert_data(tlw_config *cfg, const char *pem)
{
    return set_str(cfg, &cfg->settings.client.server_ca_pem, __func__, pem);
}

tlw_status tlw_config_set_tls_client_cert_path(tlw_config *cfg, const char *path)
{
    return set_pem_path(cfg, &cfg->settings.client.client_cert_pem, __func__,
                        "the client certificate", path);
}

tlw_status tlw_config_set_tls_client_cert_data(tlw_config *cfg, const char *pem)
{
    return set_str(cfg, &cfg->settings.client.client_cert_pem, __func__, pem);
}

tlw_status tlw_config_set_tls_client_key_path(tlw_config *cfg, const char *path)
{
    return set_pem_path(cfg, &cfg->settings.client.client_key_pem, __func__,
                        "the client private key", path);
}

tlw_status tlw_config_set_tls_client_key_data(tlw_config *cfg, const char *pem)
{
    return set_str(cfg, &cfg->settings.client.client_key_pem, __func__, pem);
}

tlw_status tlw_config_set_tls_server_name(tlw_config *cfg, const char *server_name)
{
    return set_str(cfg, &cfg->settings.client.server_name, __func__, server_name);
}

tlw_status tlw_config_set_tls_disable_host_verification(tlw_config *cfg, int disable)
{
    return set_bool(cfg, &cfg->settings.client.disable_host_verification, __func__, disable);
}

/*
 * A metadata entry from code is checked here rather than with the others in
 * tlw_settings_validate_client, whose messages name a file entry or a
 * variable to rename. The value is never quoted: it may be a credential.
 */
tlw_status tlw_config_set_grpc_meta(tlw_config *cfg, const char *key, const char *value)
{
    if (!key)
        return config_error(cfg, TLW_ERR_INVALID, "%s: the key is NULL", __func__);
    char *lower = strdup(key);
    if (!lower)
        return config_error(cfg, TLW_ERR_NOMEM, "%s: out of memory", __func__);
    for (char *p = lower; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    char shown[160];
    tlw_metadata_key_show(lower, shown, sizeof shown);
    size_t position;
    const char *problem = tlw_metadata_key_problem(lower);
    tlw_status st = TLW_OK;
    if (problem)
        st = config_error(cfg, TLW_ERR_INVALID, "%s(\"%s\"): the key is not valid: %s", __func__,
                          shown, problem);
    else if (value && (problem = tlw_metadata_value_problem(lower, value, &position)))
        st = config_error(cfg, TLW_ERR_INVALID,
                          "%s(\"%s\"): the value is not valid at byte %zu (the value is not "
                          "shown): %s",
                          __func__, shown, position, problem);
    if (st == TLW_OK) {
        tlw_source code;
        tlw_source_set(&code, TLW_SOURCE_CODE, "%s()", __func__);
        tlw_error err;
        st = tlw_meta_setting_set(&cfg->settings.client, lower, value, &code, &err);
        if (st)
            config_error(cfg, st, "%s", err.message);
    }
    free(lower);
    return st;
}

tlw_status tlw_config_set_identity(tlw_config *cfg, const char *identity)
{
    return set_str(cfg, &cfg->settings.worker.identity, __func__, identity);
}

tlw_status tlw_config_set_workflow_slots(tlw_config *cfg, int slots)
{
    return set_int(cfg, &cfg->settings.worker.workflow_slots, __func__, slots, 0, TLW_MAX_SLOTS);
}

tlw_status tlw_config_set_activity_slots(tlw_config *cfg, int slots)
{
    return set_int(cfg, &cfg->settings.worker.activity_slots, __func__, slots, 0, TLW_MAX_SLOTS);
}

tlw_status tlw_config_set_graceful_shutdown_timeout_ms(tlw_config *cfg, long long ms)
{
    return set_int(cfg, &cfg->settings.worker.graceful_shutdown_timeout_ms, __func__, ms, 0,
                   TLW_LAMBDA_MAX_TIMEOUT_MS - 1);
}

tlw_status tlw_config_set_shutdown_deadline_buffer_ms(tlw_config *cfg, long long ms)
{
    return set_int(cfg, &cfg->settings.worker.shutdown_deadline_buffer_ms, __func__, ms, 1,
                   TLW_LAMBDA_MAX_TIMEOUT_MS - 1);
}

tlw_status tlw_config_set_isolation(tlw_config *cfg, const char *isolation)
{
    return set_enum(cfg, &cfg->settings.worker.isolation, __func__, "isolation", isolation);
}

tlw_status tlw_config_set_executor_memory_limit_mb(tlw_config *cfg, long long mb)
{
    return set_int(cfg, &cfg->settings.worker.executor_memory_limit_mb, __func__, mb, 0,
                   TLW_MAX_EXECUTOR_MEMORY_MB);
}

tlw_status tlw_config_set_executor_zygote(tlw_config *cfg, int enabled)
{
    return set_bool(cfg, &cfg->settings.worker.executor_zygote, __func__, enabled);
}

tlw_status tlw_config_set_workflow_cache_size(tlw_config *cfg, long long runs)
{
    return set_int(cfg, &cfg->settings.worker.workflow_cache_size, __func__, runs, 0, 100000);
}

tlw_status tlw_config_set_workflow_stack_kb(tlw_config *cfg, long long kb)
{
    return set_int(cfg, &cfg->settings.worker.workflow_stack_kb, __func__, kb, 64, 65536);
}

tlw_status tlw_config_set_log_level(tlw_config *cfg, const char *level)
{
    return set_enum(cfg, &cfg->settings.worker.log_level, __func__, "log_level", level);
}

tlw_status tlw_config_set_log_format(tlw_config *cfg, const char *format)
{
    return set_enum(cfg, &cfg->settings.worker.log_format, __func__, "log_format", format);
}

tlw_status tlw_config_enable_otel(tlw_config *cfg, const tlw_otel_options *opts)
{
    tlw_worker_settings *w = &cfg->settings.worker;
    tlw_status st = set_bool(cfg, &w->otel_enabled, __func__, 1);
    if (st == TLW_OK && opts && opts->endpoint)
        st = set_str(cfg, &w->otel_endpoint, __func__, opts->endpoint);
    if (st == TLW_OK && opts && opts->service_name)
        st = set_str(cfg, &w->otel_service_name, __func__, opts->service_name);
    if (st == TLW_OK && opts && opts->export_timeout_ms)
        st = set_int(cfg, &w->otel_export_timeout_ms, __func__, opts->export_timeout_ms, 50,
                     30000);
    return st;
}

tlw_status tlw_config_set_allow_plaintext_credentials(tlw_config *cfg, int allow)
{
    return set_bool(cfg, &cfg->settings.worker.allow_plaintext_credentials, __func__, allow);
}

tlw_status tlw_config_set_s3_storage(tlw_config *cfg, const tlw_s3_options *opts)
{
    const char *fn = __func__;
    if (!opts || !opts->bucket || !*opts->bucket)
        return config_error(cfg, TLW_ERR_INVALID, "%s: the bucket is required", fn);
    tlw_worker_settings *w = &cfg->settings.worker;
    tlw_status st = set_str(cfg, &w->s3_bucket, fn, opts->bucket);
    if (st == TLW_OK && opts->region)
        st = set_str(cfg, &w->s3_region, fn, opts->region);
    if (st == TLW_OK && opts->endpoint_url)
        st = set_str(cfg, &w->s3_endpoint_url, fn, opts->endpoint_url);
    if (st == TLW_OK && opts->key_prefix)
        st = set_str(cfg, &w->s3_key_prefix, fn, opts->key_prefix);
    if (st == TLW_OK && opts->path_style)
        st = set_bool(cfg, &w->s3_path_style, fn, 1);
    if (st == TLW_OK && opts->payload_size_threshold)
        st = set_int(cfg, &w->s3_payload_size_threshold, fn, opts->payload_size_threshold, 1,
                     50 * 1024 * 1024);
    return st;
}

tlw_status tlw_config_set_default_versioning_behavior(tlw_config *cfg,
                                                      tlw_versioning_behavior behavior)
{
    if (behavior != TLW_VERSIONING_UNSPECIFIED && behavior != TLW_VERSIONING_PINNED &&
        behavior != TLW_VERSIONING_AUTO_UPGRADE)
        return config_error(cfg, TLW_ERR_INVALID,
                            "%s(%d): not a tlw_versioning_behavior; use TLW_VERSIONING_PINNED, "
                            "TLW_VERSIONING_AUTO_UPGRADE or TLW_VERSIONING_UNSPECIFIED",
                            __func__, (int)behavior);
    return set_int(cfg, &cfg->settings.worker.default_versioning_behavior, __func__, behavior,
                   TLW_VERSIONING_UNSPECIFIED, TLW_VERSIONING_AUTO_UPGRADE);
}

static tlw_status add_registration(tlw_config *cfg, const char *fn_name, const char *name,
                                   tlw_activity_fn activity, tlw_workflow_fn workflow,
                                   const tlw_workflow_options *opts)
{
    if (!name || !*name)
        return config_error(cfg, TLW_ERR_INVALID, "%s: the name is empty", fn_name);
    if ((activity ? tlw_config_activity(cfg, name) != NULL : tlw_config_workflow(cfg, name) != NULL))
        return config_error(cfg, TLW_ERR_INVALID, "%s: \"%s\" is registered twice", fn_name, name);
    tlw_registration *grown =
        realloc(cfg->registrations, (cfg->registration_count + 1) * sizeof *grown);
    if (!grown)
        return config_error(cfg, TLW_ERR_NOMEM, "%s: out of memory", fn_name);
    cfg->registrations = grown;
    tlw_registration *r = &grown[cfg->registration_count];
    r->name = strdup(name);
    if (!r->name)
        return config_error(cfg, TLW_ERR_NOMEM, "%s: out of memory", fn_name);
    r->activity = activity;
    r->workflow = workflow;
    r->versioning_behavior = opts ? opts->versioning_behavior : TLW_VERSIONING_UNSPECIFIED;
    r->arg = opts ? opts->arg : NULL;
    cfg->registration_count++;
    return TLW_OK;
}

tlw_status tlw_register_activity(tlw_config *cfg, const char *name, tlw_activity_fn fn)
{
    if (!fn)
        return config_error(cfg, TLW_ERR_INVALID, "%s(\"%s\"): the function is NULL", __func__,
                            name ? name : "");
    return add_registration(cfg, __func__, name, fn, NULL, NULL);
}

static tlw_status register_workflow(tlw_config *cfg, const char *fn_name, const char *name,
                                    tlw_workflow_fn fn, const tlw_workflow_options *opts)
{
    if (!fn)
        return config_error(cfg, TLW_ERR_INVALID, "%s(\"%s\"): the function is NULL", fn_name,
                            name ? name : "");
    if (opts && opts->versioning_behavior != TLW_VERSIONING_UNSPECIFIED &&
        opts->versioning_behavior != TLW_VERSIONING_PINNED &&
        opts->versioning_behavior != TLW_VERSIONING_AUTO_UPGRADE)
        return config_error(cfg, TLW_ERR_INVALID,
                            "%s(\"%s\"): versioning_behavior %d is not a tlw_versioning_behavior; "
                            "use TLW_VERSIONING_PINNED, TLW_VERSIONING_AUTO_UPGRADE or "
                            "TLW_VERSIONING_UNSPECIFIED (the worker's default)",
                            fn_name, name ? name : "", (int)opts->versioning_behavior);
    return add_registration(cfg, fn_name, name, NULL, fn, opts);
}

tlw_status tlw_register_workflow(tlw_config *cfg, const char *name, tlw_workflow_fn fn)
{
    return register_workflow(cfg, __func__, name, fn, NULL);
}

tlw_status tlw_register_workflow_ex(tlw_config *cfg, const char *name, tlw_workflow_fn fn,
                                    const tlw_workflow_options *opts)
{
    return register_workflow(cfg, __func__, name, fn, opts);
}

static tlw_status add_hook(tlw_config *cfg, const char *fn_name, tlw_hook *hooks, size_t *count,
                           tlw_hook_fn fn, void *arg)
{
    if (!fn)
        return config_error(cfg, TLW_ERR_INVALID, "%s: the hook is NULL", fn_name);
    if (*count == TLW_MAX_HOOKS)
        return config_error(cfg, TLW_ERR_INVALID, "%s: more than %d hooks", fn_name,
                            TLW_MAX_HOOKS);
    hooks[(*count)++] = (tlw_hook){fn, arg};
    return TLW_OK;
}

tlw_status tlw_config_add_shutdown_hook(tlw_config *cfg, tlw_hook_fn fn, void *arg)
{
    return add_hook(cfg, __func__, cfg->shutdown_hooks, &cfg->shutdown_hook_count, fn, arg);
}

tlw_status tlw_config_add_worker_start_hook(tlw_config *cfg, tlw_hook_fn fn, void *arg)
{
    return add_hook(cfg, __func__, cfg->start_hooks, &cfg->start_hook_count, fn, arg);
}

tlw_status tlw_config_add_invocation_hooks(tlw_config *cfg, tlw_hook_fn setup,
                                           tlw_hook_fn teardown, void *arg)
{
    if (!setup && !teardown)
        return config_error(cfg, TLW_ERR_INVALID, "%s: both hooks are NULL", __func__);
    if (cfg->invocation_hook_count == TLW_MAX_HOOKS)
        return config_error(cfg, TLW_ERR_INVALID, "%s: more than %d hooks", __func__,
                            TLW_MAX_HOOKS);
    cfg->invocation_hooks[cfg->invocation_hook_count++] =
        (tlw_invocation_hooks){setup, teardown, arg};
    return TLW_OK;
}

tlw_activity_fn tlw_config_activity(const tlw_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->registration_count; i++)
        if (cfg->registrations[i].activity && strcmp(cfg->registrations[i].name, name) == 0)
            return cfg->registrations[i].activity;
    return NULL;
}

const tlw_registration *tlw_config_workflow_registration(const tlw_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->registration_count; i++)
        if (cfg->registrations[i].workflow && strcmp(cfg->registrations[i].name, name) == 0)
            return &cfg->registrations[i];
    return NULL;
}

tlw_workflow_fn tlw_config_workflow(const tlw_config *cfg, const char *name)
{
    const tlw_registration *r = tlw_config_workflow_registration(cfg, name);
    return r ? r->workflow : NULL;
}

tlw_versioning_behavior tlw_config_versioning_behavior(const tlw_config *cfg,
                                                       const tlw_registration *workflow)
{
    if (workflow->versioning_behavior != TLW_VERSIONING_UNSPECIFIED)
        return workflow->versioning_behavior;
    return (tlw_versioning_behavior)cfg->settings.worker.default_versioning_behavior.value;
}

void tlw_config_list_names(const tlw_config *cfg, bool activities, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < cfg->registration_count && used < size; i++) {
        const tlw_registration *r = &cfg->registrations[i];
        if (activities ? !r->activity : !r->workflow)
            continue;
        int n = snprintf(out + used, size - used, "%s%s", used ? ", " : "", r->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (!out[0])
        snprintf(out, size, "(none)");
}

size_t tlw_config_activity_count(const tlw_config *cfg)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->registration_count; i++)
        n += cfg->registrations[i].activity != NULL;
    return n;
}

size_t tlw_config_workflow_count(const tlw_config *cfg)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->registration_count; i++)
        n += cfg->registrations[i].workflow != NULL;
    return n;
}
