/*
 * conf/settings: every setting the worker runs with, where each came from,
 * and the rules that check them.
 *
 * Sources, weakest first (DESIGN.md section 4):
 *   built-in Lambda defaults < libconfig tuning file < environment < code
 * Client connection settings follow Temporal's standard envconfig
 * (temporal.toml profiles and TEMPORAL_* variables), read by conf/envconfig.c;
 * worker tuning comes from the libconfig file, read by conf/tuning.c.
 *
 * Every setting records its source ("default", "temporal.toml:12",
 * "TEMPORAL_ADDRESS", "code"), so that --print-config can show it and errors
 * can point at it. Secrets (the API key, the client private key) are kept
 * only in memory and never printed.
 */
#ifndef TLW_CONF_SETTINGS_H
#define TLW_CONF_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <tlw/lambda_worker.h>

#include "common/log.h"

typedef enum tlw_source_kind {
    TLW_SOURCE_DEFAULT,
    TLW_SOURCE_FILE, /* where: "file:line" */
    TLW_SOURCE_ENV,  /* where: the variable's name */
    TLW_SOURCE_CODE, /* where: the function that set it */
} tlw_source_kind;

#define TLW_SOURCE_WHERE_MAX 256

typedef struct tlw_source {
    tlw_source_kind kind;
    char where[TLW_SOURCE_WHERE_MAX];
} tlw_source;

/* A string setting. NULL value: not set. The value is owned by the setting. */
typedef struct tlw_str_setting {
    char *value;
    tlw_source source;
} tlw_str_setting;

typedef struct tlw_int_setting {
    int64_t value;
    tlw_source source;
} tlw_int_setting;

typedef struct tlw_meta_setting {
    char *key;
    char *value;
    tlw_source source;
} tlw_meta_setting;

/* Client connection (envconfig). PEM items hold the data, read at load time;
 * their source names the file they came from. */
typedef struct tlw_client_settings {
    tlw_str_setting config_file; /* the temporal.toml used, or NULL */
    tlw_str_setting profile;
    tlw_str_setting address;
    tlw_str_setting namespace_name;
    tlw_str_setting api_key; /* secret */
    tlw_int_setting tls;     /* 1 on, 0 off (effective, after the API key rule) */
    tlw_int_setting tls_explicit; /* -1 not set, else what the user set */
    tlw_str_setting server_ca_pem;
    tlw_str_setting client_cert_pem;
    tlw_str_setting client_key_pem; /* secret */
    tlw_str_setting server_name;
    tlw_int_setting disable_host_verification;
    size_t meta_count;
    tlw_meta_setting *meta;
} tlw_client_settings;

typedef enum tlw_isolation {
    TLW_ISOLATION_FORK,       /* each activity runs in a forked executor */
    TLW_ISOLATION_IN_PROCESS, /* activities run in the slot process */
} tlw_isolation;

/* Worker tuning (libconfig file, environment, code). */
typedef struct tlw_worker_settings {
    tlw_str_setting tuning_file; /* the libconfig file used, or NULL */
    tlw_str_setting task_queue;
    tlw_int_setting workflow_slots;
    tlw_int_setting activity_slots;
    tlw_int_setting graceful_shutdown_timeout_ms;
    tlw_int_setting shutdown_deadline_buffer_ms;
    tlw_int_setting isolation; /* tlw_isolation */
    tlw_int_setting executor_memory_limit_mb; /* 0: no limit */
    tlw_int_setting executor_zygote;          /* 1: executors forked ahead (worker/zygote.h) */
    tlw_int_setting workflow_stack_kb;        /* each workflow coroutine's stack */
    tlw_int_setting workflow_cache_size;      /* runs kept across tasks, all slots; 0: no sticky */
    tlw_int_setting log_level;                /* tlw_log_level */
    tlw_int_setting log_format;               /* tlw_log_format */
    tlw_str_setting identity;                 /* NULL: request_id@function_arn */
    tlw_str_setting deployment_name;
    tlw_str_setting build_id;
    tlw_int_setting default_versioning_behavior; /* tlw_versioning_behavior */
    /* 1: an API key or authorization metadata may go over a plaintext
     * channel (a trusted local proxy); 0 (default): that is an error. */
    tlw_int_setting allow_plaintext_credentials;
    /* External payload storage in S3 (worker/storage.h): off while
     * s3_bucket is NULL. s3_region NULL: none known (AWS_REGION fills it
     * when the file and code leave it unset). */
    tlw_str_setting s3_bucket;
    tlw_str_setting s3_region;
    tlw_str_setting s3_endpoint_url; /* NULL: AWS's own endpoint */
    tlw_int_setting s3_path_style;   /* 1: endpoint/bucket/key */
    tlw_int_setting s3_payload_size_threshold; /* bytes; stored at or above */
    tlw_str_setting s3_key_prefix;             /* NULL: keys start with v0/ */
    /* OpenTelemetry: metrics and traces exported over OTLP before each
     * invocation answers (docs/observability.md). */
    tlw_int_setting otel_enabled;           /* 0 (default) off, 1 on */
    tlw_str_setting otel_endpoint;          /* http(s)://host:port of an OTLP/gRPC receiver */
    tlw_str_setting otel_service_name;      /* NULL: TLW_DEFAULT_OTEL_SERVICE_NAME */
    tlw_int_setting otel_export_timeout_ms; /* the most an export may add to an invocation */
} tlw_worker_settings;

#define TLW_SETTINGS_MAX_WARNINGS 16

typedef struct tlw_settings {
    tlw_client_settings client;
    tlw_worker_settings worker;
    size_t warning_count;
    char warnings[TLW_SETTINGS_MAX_WARNINGS][TLW_ERROR_MESSAGE_MAX];
} tlw_settings;

/* The Lambda-tuned defaults (README.md explains how each maps onto the
 * reference packages' numbers). */
#define TLW_DEFAULT_ADDRESS "localhost:7233"
#define TLW_DEFAULT_NAMESPACE "default"
#define TLW_DEFAULT_PROFILE "default"
#define TLW_DEFAULT_WORKFLOW_SLOTS 2
#define TLW_DEFAULT_ACTIVITY_SLOTS 2
#define TLW_DEFAULT_GRACEFUL_SHUTDOWN_MS 5000
#define TLW_DEFAULT_HOOK_BUFFER_MS 2000 /* deadline buffer = graceful + this */
#define TLW_MAX_SLOTS 64
#define TLW_LAMBDA_MAX_TIMEOUT_MS (900 * 1000)
#define TLW_MAX_EXECUTOR_MEMORY_MB 10240 /* Lambda's largest function */
/* OpenTelemetry defaults, as the reference Lambda workers' otel modules. */
#define TLW_DEFAULT_OTEL_ENDPOINT "http://localhost:4317"
#define TLW_DEFAULT_OTEL_SERVICE_NAME "temporal-lambda-worker"
#define TLW_DEFAULT_OTEL_EXPORT_TIMEOUT_MS 1000

/* The file names and variables the loaders read. */
#define TLW_TUNING_FILE_NAME "lambda_worker.cfg"
#define TLW_TUNING_FILE_ENV "TLW_WORKER_CONFIG"
#define TLW_TEMPORAL_FILE_NAME "temporal.toml"
#define TLW_TEMPORAL_FILE_ENV "TEMPORAL_CONFIG_FILE"

/*
 * Fills `s` with the defaults, then the libconfig tuning file, then the
 * environment `envp` ("KEY=VALUE" strings, NULL-terminated; pass `environ`).
 * Reads temporal.toml and the PEM files it names. On failure the error names
 * the file:line or the variable, and `s` must still be freed.
 */
tlw_status tlw_settings_load(tlw_settings *s, char *const *envp, tlw_error *err);

/* Works out what follows from the others: TLS on when an API key or a TLS
 * item is set (unless TLS is explicitly off), and the default deadline
 * buffer from the graceful timeout. Call after every layer; idempotent. */
void tlw_settings_finish(tlw_settings *s);

/* The final checks, after code had its say: the client's
 * (tlw_settings_validate_client), a task queue, a deployment version, ranges
 * that hold together. The supervisor makes them before it forks anything. */
tlw_status tlw_settings_validate(const tlw_settings *s, tlw_error *err);

/* The checks of the client connection alone, which tlw-info --from-env makes
 * too: every gRPC metadata entry and the API key are ones gRPC would send
 * (common/metadata), and no credential (the API key, authorization metadata)
 * goes over a plaintext channel unless allow_plaintext_credentials is set.
 * Messages name the variable or file:line, never a value. */
tlw_status tlw_settings_validate_client(const tlw_settings *s, tlw_error *err);

void tlw_settings_free(tlw_settings *s);

/* Prints every setting, its value and its source, secrets redacted. */
void tlw_settings_print(const tlw_settings *s, FILE *out);

/* Setting helpers, shared by the loaders and the configure API. */
void tlw_source_set(tlw_source *src, tlw_source_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
tlw_status tlw_str_setting_set(tlw_str_setting *setting, const char *value, size_t len,
                               const tlw_source *source, tlw_error *err);
void tlw_str_setting_clear(tlw_str_setting *setting);
/* Reads the PEM file at `path` into `field`, its source "<where> (<path>)";
 * `what` names it in errors ("the client certificate"), which never quote
 * its contents. */
tlw_status tlw_pem_setting_read(tlw_str_setting *field, const char *what, const char *path,
                                const tlw_source *where, tlw_error *err);
/* Sets, replaces or (value NULL) removes the gRPC metadata entry `key`
 * (already lower case); the entry owns copies. */
tlw_status tlw_meta_setting_set(tlw_client_settings *c, const char *key, const char *value,
                                const tlw_source *source, tlw_error *err);
void tlw_settings_warn(tlw_settings *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "KEY=VALUE" lookup in an environment array; NULL when absent. */
const char *tlw_env_get(char *const *envp, const char *name);

/*
 * Finds a settings file the way both loaders do: the file the variable
 * `env_name` names (it must be readable), else `file_name` in
 * $LAMBDA_TASK_ROOT, else in the working directory (either may be absent:
 * then *found is false). `what` names the file in the error ("the tuning
 * file"); *found_by says how it was found, for the setting's source.
 */
tlw_status tlw_settings_find_file(char *const *envp, const char *env_name, const char *file_name,
                                  const char *what, char *path, size_t size, bool *found,
                                  tlw_source *found_by, tlw_error *err);

/* Names of enum values, for printing (the log levels' are in common/log.h). */
const char *tlw_isolation_name(tlw_isolation isolation);

/* Parses an enum-valued tuning setting (`key`: isolation, log_level,
 * log_format, default_versioning_behavior) as the file, the environment and
 * the tlw_config_set_* functions write it. `where` starts the message. */
tlw_status tlw_tuning_parse_enum(const char *key, const char *text, int64_t *out, const char *where,
                                 tlw_error *err);

/* Loaders, one per source; tlw_settings_load calls them in order. */
void tlw_settings_defaults(tlw_settings *s);
tlw_status tlw_tuning_load(tlw_settings *s, char *const *envp, tlw_error *err);
tlw_status tlw_envconfig_load(tlw_settings *s, char *const *envp, tlw_error *err);

#endif
