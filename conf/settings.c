#include "config.h"

#include "conf/settings.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/error.h"
#include "common/metadata.h"

const char *tlw_isolation_name(tlw_isolation isolation)
{
    return isolation == TLW_ISOLATION_IN_PROCESS ? "in-process" : "fork";
}

static const char *versioning_name(int64_t v)
{
    switch (v) {
    case TLW_VERSIONING_PINNED: return "pinned";
    case TLW_VERSIONING_AUTO_UPGRADE: return "auto-upgrade";
    default: return "unspecified";
    }
}

void tlw_source_set(tlw_source *src, tlw_source_kind kind, const char *fmt, ...)
{
    src->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(src->where, sizeof src->where, fmt, ap);
    va_end(ap);
}

tlw_status tlw_str_setting_set(tlw_str_setting *setting, const char *value, size_t len,
                               const tlw_source *source, tlw_error *err)
{
    char *copy = NULL;
    if (value) {
        copy = malloc(len + 1);
        if (!copy)
            return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory storing a setting from %s",
                                 source->where);
        memcpy(copy, value, len);
        copy[len] = '\0';
    }
    tlw_str_setting_clear(setting);
    setting->value = copy;
    setting->source = *source;
    return TLW_OK;
}

void tlw_str_setting_clear(tlw_str_setting *setting)
{
    if (setting->value) {
        /* Secrets live in some of these; do not leave them in freed memory. */
        memset(setting->value, 0, strlen(setting->value));
        free(setting->value);
    }
    setting->value = NULL;
}

void tlw_settings_warn(tlw_settings *s, const char *fmt, ...)
{
    if (s->warning_count == TLW_SETTINGS_MAX_WARNINGS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->warnings[s->warning_count++], sizeof s->warnings[0], fmt, ap);
    va_end(ap);
}

const char *tlw_env_get(char *const *envp, const char *name)
{
    if (!envp)
        return NULL;
    size_t n = strlen(name);
    for (char *const *e = envp; *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

tlw_status tlw_settings_find_file(char *const *envp, const char *env_name, const char *file_name,
                                  const char *what, char *path, size_t size, bool *found,
                                  tlw_source *found_by, tlw_error *err)
{
    *found = false;
    tlw_source_set(found_by, TLW_SOURCE_DEFAULT, "default location");
    const char *named = tlw_env_get(envp, env_name);
    if (named && *named) {
        if (access(named, R_OK) != 0)
            return tlw_error_set(err, TLW_ERR_IO,
                                 "%s names %s %s, which cannot be read: %s; fix the path or "
                                 "unset %s",
                                 env_name, what, named, strerror(errno), env_name);
        snprintf(path, size, "%s", named);
        *found = true;
        tlw_source_set(found_by, TLW_SOURCE_ENV, "%s", env_name);
        return TLW_OK;
    }
    const char *root = tlw_env_get(envp, "LAMBDA_TASK_ROOT");
    if (root && *root) {
        snprintf(path, size, "%s/%s", root, file_name);
        if (access(path, F_OK) == 0) {
            *found = true;
            return TLW_OK;
        }
    }
    snprintf(path, size, "%s", file_name);
    *found = access(path, F_OK) == 0;
    return TLW_OK;
}

static void int_default(tlw_int_setting *setting, int64_t value)
{
    setting->value = value;
    tlw_source_set(&setting->source, TLW_SOURCE_DEFAULT, "default");
}

void tlw_settings_defaults(tlw_settings *s)
{
    memset(s, 0, sizeof *s);
    tlw_source def = {.kind = TLW_SOURCE_DEFAULT, .where = "default"};
    tlw_str_setting_set(&s->client.address, TLW_DEFAULT_ADDRESS, strlen(TLW_DEFAULT_ADDRESS), &def,
                        NULL);
    tlw_str_setting_set(&s->client.namespace_name, TLW_DEFAULT_NAMESPACE,
                        strlen(TLW_DEFAULT_NAMESPACE), &def, NULL);
    tlw_str_setting_set(&s->client.profile, TLW_DEFAULT_PROFILE, strlen(TLW_DEFAULT_PROFILE), &def,
                        NULL);
    s->client.config_file.source = def;
    s->client.api_key.source = def;
    s->client.server_ca_pem.source = def;
    s->client.client_cert_pem.source = def;
    s->client.client_key_pem.source = def;
    s->client.server_name.source = def;
    int_default(&s->client.tls, 0);
    int_default(&s->client.tls_explicit, -1);
    int_default(&s->client.disable_host_verification, 0);

    tlw_worker_settings *w = &s->worker;
    w->tuning_file.source = def;
    w->task_queue.source = def;
    w->identity.source = def;
    w->deployment_name.source = def;
    w->build_id.source = def;
    int_default(&w->workflow_slots, TLW_DEFAULT_WORKFLOW_SLOTS);
    int_default(&w->activity_slots, TLW_DEFAULT_ACTIVITY_SLOTS);
    int_default(&w->graceful_shutdown_timeout_ms, TLW_DEFAULT_GRACEFUL_SHUTDOWN_MS);
    int_default(&w->shutdown_deadline_buffer_ms,
                TLW_DEFAULT_GRACEFUL_SHUTDOWN_MS + TLW_DEFAULT_HOOK_BUFFER_MS);
    int_default(&w->isolation, TLW_ISOLATION_FORK);
    int_default(&w->executor_memory_limit_mb, 0);
    int_default(&w->executor_zygote, 1);
    int_default(&w->workflow_stack_kb, 256);
    int_default(&w->workflow_cache_size, 100);
    int_default(&w->log_level, TLW_LOG_INFO);
    int_default(&w->log_format, TLW_LOG_FORMAT_TEXT);
    int_default(&w->default_versioning_behavior, TLW_VERSIONING_UNSPECIFIED);
    int_default(&w->allow_plaintext_credentials, 0);
    w->s3_bucket.source = def;
    w->s3_region.source = def;
    w->s3_endpoint_url.source = def;
    w->s3_key_prefix.source = def;
    int_default(&w->s3_path_style, 0);
    int_default(&w->s3_payload_size_threshold, 256 * 1024);
    int_default(&w->otel_enabled, 0);
    tlw_str_setting_set(&w->otel_endpoint, TLW_DEFAULT_OTEL_ENDPOINT,
                        strlen(TLW_DEFAULT_OTEL_ENDPOINT), &def, NULL);
    w->otel_service_name.source = def;
    int_default(&w->otel_export_timeout_ms, TLW_DEFAULT_OTEL_EXPORT_TIMEOUT_MS);
}

tlw_status tlw_settings_load(tlw_settings *s, char *const *envp, tlw_error *err)
{
    tlw_settings_defaults(s);
    tlw_status st = tlw_tuning_load(s, envp, err);
    if (st == TLW_OK)
        st = tlw_envconfig_load(s, envp, err);
    if (st == TLW_OK)
        tlw_settings_finish(s);
    return st;
}

void tlw_settings_finish(tlw_settings *s)
{
    tlw_client_settings *c = &s->client;
    if (c->tls_explicit.value != -1) {
        c->tls.value = c->tls_explicit.value;
        c->tls.source = c->tls_explicit.source;
    } else if (c->api_key.value) {
        c->tls.value = 1;
        tlw_source_set(&c->tls.source, c->api_key.source.kind, "implied by the API key (%.200s)",
                       c->api_key.source.where);
    } else {
        const tlw_str_setting *items[] = {&c->server_ca_pem, &c->client_cert_pem,
                                          &c->client_key_pem, &c->server_name};
        c->tls.value = 0;
        tlw_source_set(&c->tls.source, TLW_SOURCE_DEFAULT, "default");
        for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
            if (items[i]->value) {
                c->tls.value = 1;
                tlw_source_set(&c->tls.source, items[i]->source.kind,
                               "implied by a TLS setting (%.200s)", items[i]->source.where);
                break;
            }
        }
    }
    tlw_int_setting *b = &s->worker.shutdown_deadline_buffer_ms;
    if (b->source.kind == TLW_SOURCE_DEFAULT) {
        b->value = s->worker.graceful_shutdown_timeout_ms.value + TLW_DEFAULT_HOOK_BUFFER_MS;
        tlw_source_set(&b->source, TLW_SOURCE_DEFAULT,
                       "default (graceful_shutdown_timeout_ms + %d)", TLW_DEFAULT_HOOK_BUFFER_MS);
    }
}

void tlw_settings_free(tlw_settings *s)
{
    tlw_client_settings *c = &s->client;
    tlw_str_setting *strs[] = {
        &c->config_file,     &c->profile,         &c->address,
        &c->namespace_name,  &c->api_key,         &c->server_ca_pem,
        &c->client_cert_pem, &c->client_key_pem,  &c->server_name,
        &s->worker.tuning_file, &s->worker.task_queue, &s->worker.identity,
        &s->worker.deployment_name, &s->worker.build_id,
        &s->worker.s3_bucket, &s->worker.s3_region, &s->worker.s3_endpoint_url,
        &s->worker.s3_key_prefix,
        &s->worker.otel_endpoint, &s->worker.otel_service_name,
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        tlw_str_setting_clear(strs[i]);
    for (size_t i = 0; i < c->meta_count; i++) {
        free(c->meta[i].key);
        if (c->meta[i].value) {
            memset(c->meta[i].value, 0, strlen(c->meta[i].value));
            free(c->meta[i].value);
        }
    }
    free(c->meta);
    c->meta = NULL;
    c->meta_count = 0;
}

static const char *src(const tlw_source *s)
{
    return s->where[0] ? s->where : "default";
}

/* One gRPC metadata entry against gRPC's rules (common/metadata), named as
 * the user wrote it: the file entry or the variable. */
static tlw_status check_meta(const tlw_client_settings *c, const tlw_meta_setting *m,
                             tlw_error *err)
{
    char key[160], table[200];
    size_t position;
    tlw_metadata_key_show(m->key, key, sizeof key);
    snprintf(table, sizeof table, "[profile.%.150s.grpc_meta]",
             c->profile.value ? c->profile.value : TLW_DEFAULT_PROFILE);
    bool from_file = m->source.kind == TLW_SOURCE_FILE;
    const char *problem = tlw_metadata_key_problem(m->key);
    if (problem && from_file)
        return tlw_error_set(err, TLW_ERR_INVALID, "%s: key \"%s\" in %s is not valid: %s; rename it",
                             src(&m->source), key, table, problem);
    if (problem)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "%s names gRPC metadata key \"%s\", which is not valid: %s ('_' in "
                             "the name reads as '-'); rename the variable",
                             src(&m->source), key, problem);
    problem = tlw_metadata_value_problem(m->key, m->value, &position);
    if (problem && from_file)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "%s: the value of \"%s\" in %s is not valid at byte %zu (the value "
                             "is not shown): %s",
                             src(&m->source), key, table, position, problem);
    if (problem)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "%s: the value is not valid at byte %zu (the value is not shown): %s",
                             src(&m->source), position, problem);
    return TLW_OK;
}

/*
 * A credential sent without TLS can be read by anyone on the path, so the
 * API key and an authorization header need TLS, unless the tuning file says
 * plaintext is meant (a sidecar or local proxy that adds TLS itself). An API
 * key turns TLS on by itself (tlw_settings_finish), so it reaches here only
 * with TLS explicitly off; metadata never turns TLS on.
 */
static tlw_status check_plaintext_credentials(const tlw_settings *s, tlw_error *err)
{
    const tlw_client_settings *c = &s->client;
    if (c->tls.value || s->worker.allow_plaintext_credentials.value)
        return TLW_OK;
    char what[320];
    what[0] = '\0';
    if (c->api_key.value && *c->api_key.value) {
        snprintf(what, sizeof what, "the API key (%.200s)", src(&c->api_key.source));
    } else {
        for (size_t i = 0; i < c->meta_count && !what[0]; i++)
            if (strcasecmp(c->meta[i].key, "authorization") == 0)
                snprintf(what, sizeof what, "the gRPC metadata \"authorization\" (%.200s)",
                         src(&c->meta[i].source));
    }
    if (!what[0])
        return TLW_OK;
    char tls[240];
    if (c->tls.source.kind == TLW_SOURCE_DEFAULT)
        snprintf(tls, sizeof tls, "TLS is off because no setting turns it on");
    else
        snprintf(tls, sizeof tls, "TLS is off (%.200s)", src(&c->tls.source));
    const tlw_str_setting *file = &s->worker.tuning_file;
    return tlw_error_set(err, TLW_ERR_INVALID,
                         "%s would be sent in plaintext: %s. Turn TLS on (TEMPORAL_TLS=true, or "
                         "tls = true in the profile), or, for a trusted local proxy only, set "
                         "allow_plaintext_credentials = true; in the tuning file (%.200s) or "
                         "call tlw_config_set_allow_plaintext_credentials(cfg, 1)",
                         what, tls, file->value ? file->value : TLW_TUNING_FILE_NAME);
}

tlw_status tlw_settings_validate_client(const tlw_settings *s, tlw_error *err)
{
    const tlw_client_settings *c = &s->client;
    for (size_t i = 0; i < c->meta_count; i++) {
        tlw_status st = check_meta(c, &c->meta[i], err);
        if (st)
            return st;
    }
    size_t position;
    if (c->api_key.value &&
        tlw_metadata_value_problem("authorization", c->api_key.value, &position))
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "%s: the API key is not valid at byte %zu (the key is not shown): "
                             "gRPC sends only printable ASCII (space to '~') in it; remove the "
                             "character (often a trailing newline)",
                             src(&c->api_key.source), position);
    return check_plaintext_credentials(s, err);
}

tlw_status tlw_settings_validate(const tlw_settings *s, tlw_error *err)
{
    tlw_status st = tlw_settings_validate_client(s, err);
    if (st)
        return st;
    const tlw_worker_settings *w = &s->worker;
    if (!w->task_queue.value || !*w->task_queue.value)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "no task queue: set the TEMPORAL_TASK_QUEUE environment variable, or "
                             "call tlw_config_set_task_queue() in your configure function");
    if (!w->deployment_name.value || !*w->deployment_name.value)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "the worker deployment version has no deployment name: set "
                             "deployment_name in the tlw_version passed to tlw_run_worker()");
    if (!w->build_id.value || !*w->build_id.value)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "the worker deployment version has no build id: set build_id in "
                             "the tlw_version passed to tlw_run_worker()");

    static const struct {
        const char *name;
        size_t offset;
    } slots[] = {
        {"workflow_slots", offsetof(tlw_worker_settings, workflow_slots)},
        {"activity_slots", offsetof(tlw_worker_settings, activity_slots)},
    };
    for (size_t i = 0; i < 2; i++) {
        const tlw_int_setting *v = (const void *)((const char *)w + slots[i].offset);
        if (v->value < 0 || v->value > TLW_MAX_SLOTS)
            return tlw_error_set(err, TLW_ERR_INVALID,
                                 "%s: %s = %lld is out of range; use 0 to %d", src(&v->source),
                                 slots[i].name, (long long)v->value, TLW_MAX_SLOTS);
    }
    if (w->workflow_slots.value + w->activity_slots.value == 0)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "workflow_slots and activity_slots are both 0 (%s, %s): the worker "
                             "would poll nothing; give at least one slot",
                             src(&w->workflow_slots.source), src(&w->activity_slots.source));

    const tlw_int_setting *g = &w->graceful_shutdown_timeout_ms;
    if (g->value < 0 || g->value >= TLW_LAMBDA_MAX_TIMEOUT_MS)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "%s: graceful_shutdown_timeout_ms = %lld is out of range; use 0 to "
                             "%d (Lambda's 900 s maximum)",
                             src(&g->source), (long long)g->value, TLW_LAMBDA_MAX_TIMEOUT_MS - 1);
    const tlw_int_setting *b = &w->shutdown_deadline_buffer_ms;
    if (b->value <= 0 || b->value >= TLW_LAMBDA_MAX_TIMEOUT_MS)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "%s: shutdown_deadline_buffer_ms = %lld is out of range; it must be "
                             "more than 0 and less than Lambda's 900 s maximum (%d)",
                             src(&b->source), (long long)b->value, TLW_LAMBDA_MAX_TIMEOUT_MS);
    if (b->value <= g->value)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "shutdown_deadline_buffer_ms (%lld, %s) must be longer than "
                             "graceful_shutdown_timeout_ms (%lld, %s), or the drain would run "
                             "past the invocation deadline",
                             (long long)b->value, src(&b->source), (long long)g->value,
                             src(&g->source));
    const tlw_int_setting *m = &w->executor_memory_limit_mb;
    if (m->value < 0 || m->value > TLW_MAX_EXECUTOR_MEMORY_MB)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "%s: executor_memory_limit_mb = %lld is out of range; use 0 (no "
                             "limit) to %d (Lambda's largest function)",
                             src(&m->source), (long long)m->value, TLW_MAX_EXECUTOR_MEMORY_MB);
    const tlw_int_setting *k = &w->workflow_stack_kb;
    if (k->value < 64 || k->value > 65536)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "%s: workflow_stack_kb = %lld is out of range; use 64 to 65536 "
                             "(each workflow coroutine's stack, with a guard page below it)",
                             src(&k->source), (long long)k->value);
    const tlw_int_setting *cache = &w->workflow_cache_size;
    if (cache->value < 0 || cache->value > 100000)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "%s: workflow_cache_size = %lld is out of range; use 0 (no sticky "
                             "execution: every task replays the whole history) to 100000",
                             src(&cache->source), (long long)cache->value);
    const tlw_int_setting *threshold = &w->s3_payload_size_threshold;
    if (threshold->value < 1 || threshold->value > 50 * 1024 * 1024)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "%s: s3_payload_size_threshold = %lld is out of range; use 1 (store "
                             "every payload) to 52428800 (default 262144, as the SDKs)",
                             src(&threshold->source), (long long)threshold->value);
    if (w->s3_bucket.value && !w->s3_region.value)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "s3_bucket is set (%s) but no region is known: set s3_region in the "
                             "tuning file or with tlw_config_set_s3_storage(), or AWS_REGION",
                             src(&w->s3_bucket.source));
    const tlw_int_setting *ot = &w->otel_export_timeout_ms;
    if (ot->value < 50 || ot->value > 30000)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "%s: otel_export_timeout_ms = %lld is out of range; use 50 to 30000 "
                             "(the most an OpenTelemetry export may add to an invocation)",
                             src(&ot->source), (long long)ot->value);
    const char *ep = w->otel_endpoint.value;
    if (ep && strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "%s: the OpenTelemetry endpoint \"%.200s\" is not an http:// or "
                             "https:// URL; use e.g. http://localhost:4317 (an OTLP/gRPC "
                             "receiver such as the ADOT collector layer)",
                             src(&w->otel_endpoint.source), ep);
    const char *path = ep ? strchr(ep + (ep[4] == 's' ? 8 : 7), '/') : NULL;
    if (path && path[1])
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "%s: the OpenTelemetry endpoint \"%.200s\" has a path; OTLP/gRPC "
                             "takes scheme://host:port only (OTLP/HTTP is not supported)",
                             src(&w->otel_endpoint.source), ep);
    return TLW_OK;
}

static void print_row(FILE *out, const char *name, const char *value, const tlw_source *source)
{
    fprintf(out, "%-34s %-40s %s\n", name, value, src(source));
}

static void print_str(FILE *out, const char *name, const tlw_str_setting *s)
{
    print_row(out, name, s->value ? s->value : "(not set)", &s->source);
}

static void print_secret(FILE *out, const char *name, const tlw_str_setting *s)
{
    print_row(out, name, s->value ? "(set, redacted)" : "(not set)", &s->source);
}

static void print_pem(FILE *out, const char *name, const tlw_str_setting *s)
{
    char v[64];
    if (s->value)
        snprintf(v, sizeof v, "(PEM, %zu bytes)", strlen(s->value));
    print_row(out, name, s->value ? v : "(not set)", &s->source);
}

static void print_int(FILE *out, const char *name, const tlw_int_setting *s)
{
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)s->value);
    print_row(out, name, v, &s->source);
}

void tlw_settings_print(const tlw_settings *s, FILE *out)
{
    const tlw_client_settings *c = &s->client;
    const tlw_worker_settings *w = &s->worker;
    fprintf(out, "%-34s %-40s %s\n", "setting", "value", "source");
    print_str(out, "client.config_file", &c->config_file);
    print_str(out, "client.profile", &c->profile);
    print_str(out, "client.address", &c->address);
    print_str(out, "client.namespace", &c->namespace_name);
    print_secret(out, "client.api_key", &c->api_key);
    print_row(out, "client.tls", c->tls.value ? "true" : "false", &c->tls.source);
    print_pem(out, "client.tls.server_ca_cert", &c->server_ca_pem);
    print_pem(out, "client.tls.client_cert", &c->client_cert_pem);
    print_secret(out, "client.tls.client_key", &c->client_key_pem);
    print_str(out, "client.tls.server_name", &c->server_name);
    print_row(out, "client.tls.disable_host_verification",
              c->disable_host_verification.value ? "true" : "false",
              &c->disable_host_verification.source);
    for (size_t i = 0; i < c->meta_count; i++) {
        char name[128];
        snprintf(name, sizeof name, "client.grpc_meta.%s", c->meta[i].key);
        /* Metadata often carries credentials (authorization headers). */
        print_row(out, name, "(set, redacted)", &c->meta[i].source);
    }
    print_str(out, "worker.tuning_file", &w->tuning_file);
    print_str(out, "worker.task_queue", &w->task_queue);
    print_int(out, "worker.workflow_slots", &w->workflow_slots);
    print_int(out, "worker.activity_slots", &w->activity_slots);
    print_int(out, "worker.graceful_shutdown_timeout_ms", &w->graceful_shutdown_timeout_ms);
    print_int(out, "worker.shutdown_deadline_buffer_ms", &w->shutdown_deadline_buffer_ms);
    print_row(out, "worker.isolation", tlw_isolation_name((tlw_isolation)w->isolation.value),
              &w->isolation.source);
    print_int(out, "worker.executor_memory_limit_mb", &w->executor_memory_limit_mb);
    print_row(out, "worker.executor_zygote", w->executor_zygote.value ? "true" : "false",
              &w->executor_zygote.source);
    print_int(out, "worker.workflow_stack_kb", &w->workflow_stack_kb);
    print_int(out, "worker.workflow_cache_size", &w->workflow_cache_size);
    print_row(out, "worker.log_level", tlw_log_level_name((tlw_log_level)w->log_level.value),
              &w->log_level.source);
    print_row(out, "worker.log_format", w->log_format.value == TLW_LOG_FORMAT_JSON ? "json" : "text",
              &w->log_format.source);
    print_str(out, "worker.identity", &w->identity);
    print_str(out, "worker.deployment_name", &w->deployment_name);
    print_str(out, "worker.build_id", &w->build_id);
    print_row(out, "worker.default_versioning_behavior",
              versioning_name(w->default_versioning_behavior.value),
              &w->default_versioning_behavior.source);
    print_row(out, "worker.allow_plaintext_credentials",
              w->allow_plaintext_credentials.value ? "true" : "false",
              &w->allow_plaintext_credentials.source);
    print_str(out, "worker.s3_bucket", &w->s3_bucket);
    print_str(out, "worker.s3_region", &w->s3_region);
    print_str(out, "worker.s3_endpoint_url", &w->s3_endpoint_url);
    print_row(out, "worker.s3_path_style", w->s3_path_style.value ? "true" : "false",
              &w->s3_path_style.source);
    print_int(out, "worker.s3_payload_size_threshold", &w->s3_payload_size_threshold);
    print_str(out, "worker.s3_key_prefix", &w->s3_key_prefix);
    print_row(out, "worker.otel_enabled", w->otel_enabled.value ? "true" : "false",
              &w->otel_enabled.source);
    print_str(out, "worker.otel_endpoint", &w->otel_endpoint);
    print_row(out, "worker.otel_service_name",
              w->otel_service_name.value ? w->otel_service_name.value
                                         : TLW_DEFAULT_OTEL_SERVICE_NAME,
              &w->otel_service_name.source);
    print_int(out, "worker.otel_export_timeout_ms", &w->otel_export_timeout_ms);
    for (size_t i = 0; i < s->warning_count; i++)
        fprintf(out, "warning: %s\n", s->warnings[i]);
}
