/*
 * The libconfig tuning file and the environment variables that tune the
 * worker (not the client connection, which is conf/envconfig.c).
 *
 * File: $TLW_WORKER_CONFIG if set (it must exist), else lambda_worker.cfg in
 * $LAMBDA_TASK_ROOT, else in the working directory (either may be absent).
 * Unknown keys and wrong types are errors with the line number: a typo must
 * not pass silently.
 */
#include "config.h"

#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "conf/settings.h"

typedef enum { KEY_STRING, KEY_INT, KEY_BOOL } key_type;

/* Each key of the file, its type, and where it lands. */
static const struct tuning_key {
    const char *name;
    key_type type;
    size_t offset; /* in tlw_worker_settings */
} tuning_keys[] = {
    {"task_queue", KEY_STRING, offsetof(tlw_worker_settings, task_queue)},
    {"workflow_slots", KEY_INT, offsetof(tlw_worker_settings, workflow_slots)},
    {"activity_slots", KEY_INT, offsetof(tlw_worker_settings, activity_slots)},
    {"graceful_shutdown_timeout_ms", KEY_INT,
     offsetof(tlw_worker_settings, graceful_shutdown_timeout_ms)},
    {"shutdown_deadline_buffer_ms", KEY_INT,
     offsetof(tlw_worker_settings, shutdown_deadline_buffer_ms)},
    {"isolation", KEY_STRING, offsetof(tlw_worker_settings, isolation)},
    {"executor_memory_limit_mb", KEY_INT, offsetof(tlw_worker_settings, executor_memory_limit_mb)},
    {"executor_zygote", KEY_BOOL, offsetof(tlw_worker_settings, executor_zygote)},
    {"workflow_stack_kb", KEY_INT, offsetof(tlw_worker_settings, workflow_stack_kb)},
    {"workflow_cache_size", KEY_INT, offsetof(tlw_worker_settings, workflow_cache_size)},
    {"log_level", KEY_STRING, offsetof(tlw_worker_settings, log_level)},
    {"log_format", KEY_STRING, offsetof(tlw_worker_settings, log_format)},
    {"identity", KEY_STRING, offsetof(tlw_worker_settings, identity)},
    {"default_versioning_behavior", KEY_STRING,
     offsetof(tlw_worker_settings, default_versioning_behavior)},
    {"allow_plaintext_credentials", KEY_BOOL,
     offsetof(tlw_worker_settings, allow_plaintext_credentials)},
    {"s3_bucket", KEY_STRING, offsetof(tlw_worker_settings, s3_bucket)},
    {"s3_region", KEY_STRING, offsetof(tlw_worker_settings, s3_region)},
    {"s3_endpoint_url", KEY_STRING, offsetof(tlw_worker_settings, s3_endpoint_url)},
    {"s3_path_style", KEY_BOOL, offsetof(tlw_worker_settings, s3_path_style)},
    {"s3_payload_size_threshold", KEY_INT,
     offsetof(tlw_worker_settings, s3_payload_size_threshold)},
    {"s3_key_prefix", KEY_STRING, offsetof(tlw_worker_settings, s3_key_prefix)},
    {"otel_enabled", KEY_BOOL, offsetof(tlw_worker_settings, otel_enabled)},
    {"otel_endpoint", KEY_STRING, offsetof(tlw_worker_settings, otel_endpoint)},
    {"otel_service_name", KEY_STRING, offsetof(tlw_worker_settings, otel_service_name)},
    {"otel_export_timeout_ms", KEY_INT, offsetof(tlw_worker_settings, otel_export_timeout_ms)},
};

static const char *type_name(int t)
{
    switch (t) {
    case CONFIG_TYPE_GROUP: return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a float";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    default: return "a value";
    }
}

tlw_status tlw_tuning_parse_enum(const char *key, const char *text, int64_t *out, const char *where,
                                 tlw_error *err)
{
    if (strcmp(key, "isolation") == 0) {
        if (strcmp(text, "fork") == 0)
            *out = TLW_ISOLATION_FORK;
        else if (strcmp(text, "in-process") == 0)
            *out = TLW_ISOLATION_IN_PROCESS;
        else
            return tlw_error_set(err, TLW_ERR_INVALID,
                                 "%s: isolation = \"%s\" is not known; use \"fork\" (each "
                                 "activity in its own process) or \"in-process\"",
                                 where, text);
    } else if (strcmp(key, "log_level") == 0) {
        tlw_log_level level;
        if (!tlw_log_level_parse(text, &level))
            return tlw_error_set(err, TLW_ERR_INVALID,
                                 "%s: log level \"%s\" is not known; use TRACE, DEBUG, INFO, "
                                 "WARN, ERROR or FATAL",
                                 where, text);
        *out = level;
    } else if (strcmp(key, "log_format") == 0) {
        if (strcasecmp(text, "text") == 0)
            *out = TLW_LOG_FORMAT_TEXT;
        else if (strcasecmp(text, "json") == 0)
            *out = TLW_LOG_FORMAT_JSON;
        else
            return tlw_error_set(err, TLW_ERR_INVALID,
                                 "%s: log format \"%s\" is not known; use \"text\" or \"json\"",
                                 where, text);
    } else if (strcmp(key, "default_versioning_behavior") == 0) {
        if (strcmp(text, "pinned") == 0)
            *out = TLW_VERSIONING_PINNED;
        else if (strcmp(text, "auto-upgrade") == 0)
            *out = TLW_VERSIONING_AUTO_UPGRADE;
        else if (strcmp(text, "unspecified") == 0)
            *out = TLW_VERSIONING_UNSPECIFIED;
        else
            return tlw_error_set(err, TLW_ERR_INVALID,
                                 "%s: default_versioning_behavior = \"%s\" is not known; use "
                                 "\"pinned\", \"auto-upgrade\" or \"unspecified\"",
                                 where, text);
    } else {
        return tlw_error_set(err, TLW_ERR_INTERNAL, "%s: %s is not an enum", where, key);
    }
    return TLW_OK;
}

static bool is_enum(const struct tuning_key *k)
{
    return k->type == KEY_STRING && strcmp(k->name, "task_queue") != 0 &&
           strcmp(k->name, "identity") != 0 && strncmp(k->name, "s3_", 3) != 0 &&
           strncmp(k->name, "otel_", 5) != 0;
}

static tlw_status apply_setting(tlw_settings *s, const struct tuning_key *k,
                                const config_setting_t *setting, const char *where,
                                tlw_error *err)
{
    int t = config_setting_type(setting);
    char *field = (char *)&s->worker + k->offset;
    tlw_source source;
    tlw_source_set(&source, TLW_SOURCE_FILE, "%s", where);
    if (k->type == KEY_INT) {
        if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
            return tlw_error_set(err, TLW_ERR_INVALID, "%s: %s must be an integer, not %s", where,
                                 k->name, type_name(t));
        tlw_int_setting *v = (tlw_int_setting *)field;
        v->value = config_setting_get_int64(setting);
        v->source = source;
        return TLW_OK;
    }
    if (k->type == KEY_BOOL) {
        if (t != CONFIG_TYPE_BOOL)
            return tlw_error_set(err, TLW_ERR_INVALID, "%s: %s must be true or false, not %s",
                                 where, k->name, type_name(t));
        tlw_int_setting *v = (tlw_int_setting *)field;
        v->value = config_setting_get_bool(setting) != 0;
        v->source = source;
        return TLW_OK;
    }
    if (t != CONFIG_TYPE_STRING)
        return tlw_error_set(err, TLW_ERR_INVALID, "%s: %s must be a string, not %s", where,
                             k->name, type_name(t));
    const char *text = config_setting_get_string(setting);
    if (is_enum(k)) {
        tlw_int_setting *v = (tlw_int_setting *)field;
        tlw_status st = tlw_tuning_parse_enum(k->name, text, &v->value, where, err);
        if (st == TLW_OK)
            v->source = source;
        return st;
    }
    return tlw_str_setting_set((tlw_str_setting *)field, text, strlen(text), &source, err);
}

static tlw_status load_file(tlw_settings *s, const char *path, const tlw_source *found_by,
                            tlw_error *err)
{
    config_t cfg;
    config_init(&cfg);
    tlw_status st = TLW_OK;
    if (config_read_file(&cfg, path) != CONFIG_TRUE) {
        if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
            st = tlw_error_set(err, TLW_ERR_IO, "cannot read the tuning file %s: %s", path,
                               strerror(errno));
        else
            st = tlw_error_set(err, TLW_ERR_INVALID, "%s:%d: %s", path, config_error_line(&cfg),
                               config_error_text(&cfg));
        config_destroy(&cfg);
        return st;
    }
    tlw_str_setting_set(&s->worker.tuning_file, path, strlen(path), found_by, NULL);

    config_setting_t *root = config_root_setting(&cfg);
    int n = config_setting_length(root);
    for (int i = 0; i < n && st == TLW_OK; i++) {
        config_setting_t *setting = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(setting);
        char where[TLW_SOURCE_WHERE_MAX];
        snprintf(where, sizeof where, "%s:%d", path, config_setting_source_line(setting));
        const struct tuning_key *k = NULL;
        for (size_t j = 0; j < sizeof tuning_keys / sizeof tuning_keys[0]; j++)
            if (strcmp(tuning_keys[j].name, name) == 0)
                k = &tuning_keys[j];
        if (!k) {
            char known[512] = "";
            for (size_t j = 0; j < sizeof tuning_keys / sizeof tuning_keys[0]; j++) {
                strncat(known, j ? ", " : "", sizeof known - strlen(known) - 1);
                strncat(known, tuning_keys[j].name, sizeof known - strlen(known) - 1);
            }
            st = tlw_error_set(err, TLW_ERR_INVALID, "%s: unknown key \"%s\"; known keys: %s",
                               where, name, known);
            break;
        }
        st = apply_setting(s, k, setting, where, err);
    }
    config_destroy(&cfg);
    return st;
}

/* The environment's say on tuning: the task queue and Lambda's log controls.
 * allow_plaintext_credentials has no variable, on purpose: lowering that check
 * belongs in the file shipped with the function, next to the code. */
static tlw_status load_env(tlw_settings *s, char *const *envp, tlw_error *err)
{
    tlw_worker_settings *w = &s->worker;
    const char *v = tlw_env_get(envp, "TEMPORAL_TASK_QUEUE");
    if (v && *v) {
        tlw_source source = {.kind = TLW_SOURCE_ENV, .where = "TEMPORAL_TASK_QUEUE"};
        tlw_status st = tlw_str_setting_set(&w->task_queue, v, strlen(v), &source, err);
        if (st)
            return st;
    }
    v = tlw_env_get(envp, "AWS_LAMBDA_LOG_LEVEL");
    if (v && *v) {
        tlw_status st =
            tlw_tuning_parse_enum("log_level", v, &w->log_level.value, "AWS_LAMBDA_LOG_LEVEL", err);
        if (st)
            return st;
        tlw_source_set(&w->log_level.source, TLW_SOURCE_ENV, "AWS_LAMBDA_LOG_LEVEL");
    }
    v = tlw_env_get(envp, "AWS_LAMBDA_LOG_FORMAT");
    if (v && *v) {
        tlw_status st = tlw_tuning_parse_enum("log_format", v, &w->log_format.value,
                                              "AWS_LAMBDA_LOG_FORMAT", err);
        if (st)
            return st;
        tlw_source_set(&w->log_format.source, TLW_SOURCE_ENV, "AWS_LAMBDA_LOG_FORMAT");
    }
    /* Lambda always sets AWS_REGION: the function's own region, a fallback
     * only, so that a bucket elsewhere named in the file keeps its region. */
    v = tlw_env_get(envp, "AWS_REGION");
    if (v && *v && !w->s3_region.value) {
        tlw_source source = {.kind = TLW_SOURCE_ENV, .where = "AWS_REGION"};
        tlw_status st = tlw_str_setting_set(&w->s3_region, v, strlen(v), &source, err);
        if (st)
            return st;
    }
    /* OpenTelemetry's standard variables; the function's name is the
     * service name only when nothing else names it. */
    static const struct {
        const char *var;
        size_t offset;
        bool fallback;
    } otel_env[] = {
        {"OTEL_EXPORTER_OTLP_ENDPOINT", offsetof(tlw_worker_settings, otel_endpoint), false},
        {"OTEL_SERVICE_NAME", offsetof(tlw_worker_settings, otel_service_name), false},
        {"AWS_LAMBDA_FUNCTION_NAME", offsetof(tlw_worker_settings, otel_service_name), true},
    };
    for (size_t i = 0; i < sizeof otel_env / sizeof otel_env[0]; i++) {
        tlw_str_setting *field = (tlw_str_setting *)((char *)w + otel_env[i].offset);
        v = tlw_env_get(envp, otel_env[i].var);
        if (!v || !*v || (otel_env[i].fallback && field->value))
            continue;
        tlw_source source = {.kind = TLW_SOURCE_ENV};
        snprintf(source.where, sizeof source.where, "%s", otel_env[i].var);
        tlw_status st = tlw_str_setting_set(field, v, strlen(v), &source, err);
        if (st)
            return st;
    }
    return TLW_OK;
}

tlw_status tlw_tuning_load(tlw_settings *s, char *const *envp, tlw_error *err)
{
    char path[PATH_MAX];
    bool found;
    tlw_source found_by;
    tlw_status st = tlw_settings_find_file(envp, TLW_TUNING_FILE_ENV, TLW_TUNING_FILE_NAME,
                                           "the tuning file", path, sizeof path, &found,
                                           &found_by, err);
    if (st == TLW_OK && found)
        st = load_file(s, path, &found_by, err);
    if (st == TLW_OK)
        st = load_env(s, envp, err);
    return st;
}
