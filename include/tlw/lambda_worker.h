/*
 * tlw: Temporal workers in C for AWS Lambda.
 *
 * This is the one public header. Everything it declares has the `tlw_`
 * prefix. The library is built in stages; this header declares only what is
 * implemented today (see README.md for the roadmap).
 *
 * Error convention (used by every function in the project): a function that
 * can fail returns a `tlw_status` and, when it fails, fills a `tlw_error` that
 * the caller owns. The message says what failed, on what input, and what to
 * do about it. It never contains a secret (API key, private key).
 */
#ifndef TLW_LAMBDA_WORKER_H
#define TLW_LAMBDA_WORKER_H

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TLW_VERSION_STRING "0.1.0"

typedef enum tlw_status {
    TLW_OK = 0,
    TLW_ERR_INVALID,     /* bad input: an argument or a setting */
    TLW_ERR_IO,          /* a file or a local socket */
    TLW_ERR_NOMEM,       /* out of memory */
    TLW_ERR_UNAVAILABLE, /* the server could not be reached (or TLS failed) */
    TLW_ERR_TIMEOUT,     /* a deadline passed */
    TLW_ERR_CANCELLED,   /* the caller cancelled the operation */
    TLW_ERR_NOT_FOUND,   /* e.g. the namespace does not exist */
    TLW_ERR_DENIED,      /* the server rejected the credentials */
    TLW_ERR_PROTOCOL,    /* a peer sent something malformed */
    TLW_ERR_SERVER,      /* the server answered with another error */
    TLW_ERR_INTERNAL,    /* a bug in tlw: please report it */
    /* An operation failed as its own code said: tlw_activity_fail()
     * returns it, and the workflow API uses it for an awaited activity,
     * child or timer that failed. Last, so that the values above keep
     * their numbers. */
    TLW_ERR_FAILED
} tlw_status;

/* Room for one error message, including its terminating NUL. */
#define TLW_ERROR_MESSAGE_MAX 512

typedef struct tlw_error {
    tlw_status status;
    /* The gRPC status code when the error came from a gRPC call, else 0. */
    int rpc_code;
    char message[TLW_ERROR_MESSAGE_MAX];
} tlw_error;

/* The status's name, e.g. "unavailable". Never NULL. */
const char *tlw_status_name(tlw_status status);

/* ---- the worker --------------------------------------------------------
 *
 *   static int configure(tlw_config *cfg)
 *   {
 *       tlw_config_set_task_queue(cfg, "greetings");
 *       tlw_register_activity(cfg, "compose_greeting", compose_greeting);
 *       return 0;
 *   }
 *
 *   int main(int argc, char **argv)
 *   {
 *       tlw_version v = {.deployment_name = "greetings", .build_id = "v1.0"};
 *       return tlw_main(argc, argv, &v, configure);
 *   }
 */

/* Worker deployment versioning is always on: both fields are required. */
typedef struct tlw_version {
    const char *deployment_name;
    const char *build_id;
} tlw_version;

/* What happens to a workflow's open runs when a new build of the worker
 * deployment becomes current. */
typedef enum tlw_versioning_behavior {
    TLW_VERSIONING_UNSPECIFIED = 0, /* use the worker's default_versioning_behavior */
    TLW_VERSIONING_PINNED,          /* a run stays on the build it started on */
    TLW_VERSIONING_AUTO_UPGRADE     /* a run moves to the current build at its next task */
} tlw_versioning_behavior;

/* Everything configure() can set. Opaque; valid only during configure(). */
typedef struct tlw_config tlw_config;

/*
 * Return 0, or non-zero to fail with the message set by tlw_config_fail().
 * It runs in the supervisor process, before any worker is forked (what it
 * leaves in globals, the workers inherit), and more than once, each time on
 * a fresh tlw_config:
 *   - once at start-up, before the first invocation, to check the settings
 *     and to set up logging from them: an error there is reported to Lambda
 *     as an init error (Tlw.ConfigError), or outside Lambda logged, and the
 *     process exits 1;
 *   - then once per invocation (outside Lambda: once more, for the run),
 *     before the invocation setups and the worker slots; an error fails
 *     that invocation (Tlw.ConfigError);
 *   - with --print-config, once, and nothing else runs.
 * So it should only set and register: open per-invocation resources in
 * tlw_config_add_invocation_hooks() setups, not here. Activity executors
 * (isolation "fork" with executor_zygote, the defaults) are forked by a
 * zygote the supervisor starts once, after the start-up run: they run the
 * activities that run registered, and inherit what it left in globals and
 * the descriptors it opened, not those of a later run (see
 * tlw_config_set_executor_zygote).
 */
typedef int (*tlw_configure_fn)(tlw_config *cfg);

typedef struct tlw_activity tlw_activity;
typedef struct tlw_workflow tlw_workflow;
typedef tlw_status (*tlw_activity_fn)(tlw_activity *act, const json_t *args, json_t **result);
typedef tlw_status (*tlw_workflow_fn)(tlw_workflow *wf, const json_t *args, json_t **result);

/* A hook run after the workers stopped (shutdown hooks, in order; an error is
 * logged, never fatal) or in each worker process after fork, and once in the
 * executor zygote, so that activity executors inherit what they set up
 * (start hooks). */
typedef tlw_status (*tlw_hook_fn)(void *arg);

/*
 * The bootstrap's main. Handles the command line:
 *   --print-config   print every setting, its value and its source (secrets
 *                    redacted); exit 1 with the error if the settings are invalid
 *   --help, --version
 * and otherwise runs the worker: under Lambda (AWS_LAMBDA_RUNTIME_API set) it
 * serves invocations; elsewhere it runs until SIGINT/SIGTERM, then drains.
 * Returns the process exit status.
 */
int tlw_main(int argc, char **argv, const tlw_version *version, tlw_configure_fn configure);

/* tlw_main without a command line. */
int tlw_run_worker(const tlw_version *version, tlw_configure_fn configure);

/* Settings from code win over the tuning file and the environment; each
 * records itself (e.g. "tlw_config_set_task_queue()") as the setting's
 * source for --print-config and for messages. Each returns TLW_ERR_INVALID
 * for a bad value (and remembers the error so that configure fails with it),
 * else TLW_OK. Every string argument is copied: the caller may free or
 * reuse it once the call returns. */
tlw_status tlw_config_set_task_queue(tlw_config *cfg, const char *task_queue);
tlw_status tlw_config_set_address(tlw_config *cfg, const char *host_port);
tlw_status tlw_config_set_namespace(tlw_config *cfg, const char *namespace_name);
/* An API key turns TLS on. With TLS explicitly off (TEMPORAL_TLS=false, or
 * tls = false in the profile) the worker refuses to start rather than send
 * the key in plaintext, unless allow_plaintext_credentials is set (a
 * trusted local proxy). */
tlw_status tlw_config_set_api_key(tlw_config *cfg, const char *api_key);
/* TLS, as [profile.NAME.tls] of temporal.toml and TEMPORAL_TLS_*. Without
 * tlw_config_set_tls() (or TEMPORAL_TLS, or tls in the profile) TLS is on
 * when an API key or any of the items below is set. */
tlw_status tlw_config_set_tls(tlw_config *cfg, int enabled);
/* PEM items: a file, read during the call (an unreadable one is an error,
 * TLW_ERR_IO), or the data itself. Of the two calls for an item, the later
 * wins. */
tlw_status tlw_config_set_tls_server_ca_cert_path(tlw_config *cfg, const char *path);
tlw_status tlw_config_set_tls_server_ca_cert_data(tlw_config *cfg, const char *pem);
tlw_status tlw_config_set_tls_client_cert_path(tlw_config *cfg, const char *path);
tlw_status tlw_config_set_tls_client_cert_data(tlw_config *cfg, const char *pem);
tlw_status tlw_config_set_tls_client_key_path(tlw_config *cfg, const char *path);
tlw_status tlw_config_set_tls_client_key_data(tlw_config *cfg, const char *pem);
tlw_status tlw_config_set_tls_server_name(tlw_config *cfg, const char *server_name);
tlw_status tlw_config_set_tls_disable_host_verification(tlw_config *cfg, int disable);
/* A gRPC metadata entry (request header) sent with every call, as
 * [profile.NAME.grpc_meta] and TEMPORAL_GRPC_META_*. The key is lower-cased
 * and must be one gRPC accepts (a-z 0-9 - _ .); the value printable ASCII
 * unless the key ends in "-bin". A NULL value removes the entry, wherever it
 * came from. */
tlw_status tlw_config_set_grpc_meta(tlw_config *cfg, const char *key, const char *value);
tlw_status tlw_config_set_identity(tlw_config *cfg, const char *identity);
tlw_status tlw_config_set_workflow_slots(tlw_config *cfg, int slots);
tlw_status tlw_config_set_activity_slots(tlw_config *cfg, int slots);
tlw_status tlw_config_set_graceful_shutdown_timeout_ms(tlw_config *cfg, long long ms);
tlw_status tlw_config_set_shutdown_deadline_buffer_ms(tlw_config *cfg, long long ms);
/* "fork" (each activity in a process of its own, the default) or
 * "in-process", as the tuning file's isolation. */
tlw_status tlw_config_set_isolation(tlw_config *cfg, const char *isolation);
/* Caps each activity executor's data segment; 0 (the default): no limit. */
tlw_status tlw_config_set_executor_memory_limit_mb(tlw_config *cfg, long long mb);
/* Non-zero (the default): with fork isolation, the supervisor forks one
 * small single-threaded zygote per function, at start-up, before any
 * worker starts gRPC, and the zygote forks each executor ahead of its task,
 * so that the fork is off the task's path, cheap, and never happens in a
 * process with gRPC's threads. The zygote lives across invocations; it runs
 * the start hooks once and what the start-up configure() registered. When
 * configure() adds invocation setups, whose resources executors must
 * inherit, a zygote is forked per invocation instead, after the setups.
 * Zero: each slot forks each executor itself when its task arrives.
 * Tuning file: executor_zygote. */
tlw_status tlw_config_set_executor_zygote(tlw_config *cfg, int enabled);
/* Each workflow coroutine's stack, in KiB (64 to 65536; default 256), mmap'd
 * with a guard page below it: a deeper recursion faults instead of
 * corrupting memory. */
tlw_status tlw_config_set_workflow_stack_kb(tlw_config *cfg, long long kb);
/* Workflow runs kept between their tasks within an invocation, across all
 * workflow slots (default 100, as the reference workers' sticky cache): a
 * cached run resumes with the new events only. A slot asks for sticky
 * routing (its own queue) only when it has time to spare; see the README.
 * 0 turns the cache off (every task replays the whole history). */
tlw_status tlw_config_set_workflow_cache_size(tlw_config *cfg, long long runs);
/* TRACE, DEBUG, INFO, WARN, ERROR or FATAL (any case), as log_level and
 * AWS_LAMBDA_LOG_LEVEL. */
tlw_status tlw_config_set_log_level(tlw_config *cfg, const char *level);
/* "text" or "json", as log_format and AWS_LAMBDA_LOG_FORMAT. */
tlw_status tlw_config_set_log_format(tlw_config *cfg, const char *format);
/* Non-zero: the API key or an authorization header may go over a plaintext
 * channel (a trusted local proxy that adds TLS). Off by default. */
tlw_status tlw_config_set_allow_plaintext_credentials(tlw_config *cfg, int allow);
/* For workflows registered without a versioning behaviour of their own
 * (tuning file: default_versioning_behavior). UNSPECIFIED clears it. */
tlw_status tlw_config_set_default_versioning_behavior(tlw_config *cfg,
                                                      tlw_versioning_behavior behavior);

/*
 * OpenTelemetry: metrics (with the names and labels of Temporal's SDKs) and
 * traces, exported over OTLP/gRPC once per invocation, before it answers.
 * Off by default; also turned on by the tuning file (otel_enabled = true).
 * Any field left NULL or 0 keeps its default:
 *   endpoint           OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4317
 *                      (the ADOT collector layer's OTLP/gRPC receiver)
 *   service_name       OTEL_SERVICE_NAME, else AWS_LAMBDA_FUNCTION_NAME, else
 *                      "temporal-lambda-worker"
 *   export_timeout_ms  1000: the most an export adds to an invocation (a dead
 *                      collector costs this, logged, never the result)
 * opts == NULL: all defaults.
 */
typedef struct tlw_otel_options {
    const char *endpoint;
    const char *service_name;
    long long export_timeout_ms;
} tlw_otel_options;
tlw_status tlw_config_enable_otel(tlw_config *cfg, const tlw_otel_options *opts);

/* Makes configure() fail with this message (printf-style). Returns 1, so
 * that `return tlw_config_fail(cfg, "...")` reads well. */
int tlw_config_fail(tlw_config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Registration. Names are the Temporal type names other SDKs call; they are
 * copied. */
tlw_status tlw_register_activity(tlw_config *cfg, const char *name, tlw_activity_fn fn);
/* The same as tlw_register_workflow_ex(cfg, name, fn, NULL). */
tlw_status tlw_register_workflow(tlw_config *cfg, const char *name, tlw_workflow_fn fn);

typedef struct tlw_workflow_options {
    tlw_versioning_behavior versioning_behavior;
    void *arg; /* tlw_workflow_arg(), for the workflow engine; kept as given, never freed */
} tlw_workflow_options;

/* Registers a workflow with options; `opts` may be NULL (all zero) and is
 * read during the call only. Worker deployment versioning is always on, so,
 * as in the Go SDK, every workflow needs a versioning behaviour: its own, or
 * the worker's default_versioning_behavior (tuning file, or
 * tlw_config_set_default_versioning_behavior()). A workflow with neither
 * fails configure, naming the workflow and both ways to fix it. */
tlw_status tlw_register_workflow_ex(tlw_config *cfg, const char *name, tlw_workflow_fn fn,
                                    const tlw_workflow_options *opts);

/*
 * Large payloads through S3, in the format Temporal's Python and Go SDKs
 * use (their S3StorageDriver, driver name "aws.s3driver"): a payload whose
 * serialized size is at or above the threshold is stored as an object and
 * only a small reference goes through the server; a reference that comes in
 * is fetched and its SHA-256 checked. Credentials come from the environment
 * as Lambda provides them (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN), never logged. The tuning file has the same settings
 * (s3_bucket, s3_region, ...); NULL or 0 fields here keep what it set.
 */
typedef struct tlw_s3_options {
    const char *bucket;       /* required */
    const char *region;       /* NULL: s3_region, else AWS_REGION */
    const char *endpoint_url; /* NULL: AWS; e.g. "http://127.0.0.1:9000" for an S3-compatible server */
    int path_style;           /* non-zero: endpoint/bucket/key instead of bucket.endpoint/key */
    long long payload_size_threshold; /* bytes; 0: keep (default 262144); 1: store every payload */
    const char *key_prefix;           /* NULL: keys start with v0/ as the SDKs write them */
} tlw_s3_options;

tlw_status tlw_config_set_s3_storage(tlw_config *cfg, const tlw_s3_options *opts);

tlw_status tlw_config_add_shutdown_hook(tlw_config *cfg, tlw_hook_fn fn, void *arg);
/* Runs `fn` in each worker slot after fork, and once in the executor zygote
 * (activity executors inherit what it sets up); an error ends that slot. */
tlw_status tlw_config_add_worker_start_hook(tlw_config *cfg, tlw_hook_fn fn, void *arg);

/* Per-invocation set-up and tear-down, run by the supervisor: `setup` after
 * configure() and before the workers start (an error fails the invocation,
 * after tearing down what was set up), `teardown` after the workers stopped
 * and after the shutdown hooks, in reverse order of registration. Either may
 * be NULL. A resource opened in `setup` is inherited by the workers. */
tlw_status tlw_config_add_invocation_hooks(tlw_config *cfg, tlw_hook_fn setup,
                                           tlw_hook_fn teardown, void *arg);

/* ---- inside an activity ------------------------------------------------
 *
 * `args` (a JSON array) is owned by the task and valid until the activity
 * function returns; never decref it. The function returns TLW_OK with
 * *result set (a new reference, which tlw takes; NULL means JSON null), or
 * fails:
 *     return tlw_activity_fail(act, "InvalidInput", true, NULL, "no name given");
 * Returning another status without tlw_activity_fail() fails the attempt as
 * retryable with type "tlw.ActivityError". Returning TLW_ERR_CANCELLED after
 * cancellation was requested reports the activity as canceled.
 *
 * By default each activity runs in its own forked process: a crash, exit()
 * or hang costs that attempt only, reported at once as a retryable failure.
 */
/* The struct and its strings belong to the task: valid until the activity
 * function returns. Copy what must live longer. */
typedef struct tlw_activity_info {
    const char *activity_id;
    const char *activity_type;
    const char *workflow_id;
    const char *workflow_run_id;
    const char *workflow_type;
    const char *workflow_namespace;
    const char *task_queue;
    int attempt;                   /* 1 for the first */
    long long heartbeat_timeout_ms; /* 0: none */
    long long start_to_close_timeout_ms;
} tlw_activity_info;

const tlw_activity_info *tlw_activity_get_info(const tlw_activity *act);

/* The details the previous attempt last heartbeated (JSON array), or NULL.
 * Owned by the task, like `args`. */
const json_t *tlw_activity_heartbeat_details(const tlw_activity *act);

/* Records progress; `details` (any JSON value, may be NULL; copied, the
 * caller keeps its reference) reaches the next attempt if this one fails.
 * Heartbeats are sent to the server at most once per 80% of the heartbeat
 * timeout (else every 30 s), the latest details winning. Returns
 * TLW_ERR_CANCELLED once the server asked the activity to cancel, else
 * TLW_OK. */
tlw_status tlw_activity_heartbeat(tlw_activity *act, const json_t *details);

/* True once cancellation was requested (seen through a heartbeat). */
int tlw_activity_is_cancelled(const tlw_activity *act);

/* Milliseconds before this attempt must end: the earlier of its
 * start-to-close deadline and the worker's drain. */
long long tlw_activity_time_left_ms(const tlw_activity *act);

/* Sets the failure this attempt reports and returns TLW_ERR_FAILED (return
 * it from the activity). `type` may be NULL; `details` is a JSON array or
 * NULL. All three are copied (the caller keeps its reference to `details`). */
tlw_status tlw_activity_fail(tlw_activity *act, const char *type, int non_retryable,
                             const json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- inside a workflow ------------------------------------------------
 *
 * A workflow function runs as a coroutine in a workflow slot and is replayed
 * from history: every call below that waits suspends it until history says
 * the thing happened, and on replay returns what history recorded. It must
 * take time, randomness and ids only from the tlw_workflow_* helpers.
 * Every `const json_t *` handed to workflow code (arguments, results,
 * signal payloads, failure details) is owned by the run and valid until the
 * run ends; never decref it. What the function returns in *result is a new
 * reference the engine takes. Returning TLW_ERR_CANCELLED after the
 * cancellation was requested ends the run as canceled; another non-OK status
 * without tlw_workflow_fail() fails it with type "tlw.WorkflowError".
 *
 * Supported today: activities (start, wait, cancel), timers, signals
 * received (a payload is the signal's arguments as a JSON array), queries,
 * wait_any, await, spawn, the determinism helpers, side effects (a
 * "SideEffect" marker), patches ("core_patch" markers, as the core-based
 * SDKs record them), child workflows, signals to other workflows, failing,
 * cancellation, continue-as-new. Cancelling a started child sends it a
 * cancel request (TRY_CANCEL, WAIT_CANCELLATION_COMPLETED) or abandons it
 * (ABANDON: its parent close policy applies when this run ends).
 */
typedef struct tlw_future tlw_future; /* owned by the run */

typedef struct tlw_retry_policy {
    long long initial_interval_ms; /* 0: server default */
    double backoff_coefficient;    /* 0: server default */
    long long maximum_interval_ms; /* 0: server default */
    int maximum_attempts;          /* 0: unlimited */
    const char *const *non_retryable_error_types; /* NULL-terminated, or NULL */
} tlw_retry_policy;

typedef enum tlw_cancellation_type {
    TLW_CANCEL_TRY_CANCEL = 0,
    TLW_CANCEL_WAIT_CANCELLATION_COMPLETED,
    TLW_CANCEL_ABANDON
} tlw_cancellation_type;

typedef struct tlw_activity_options {
    const char *task_queue;  /* NULL: the workflow's task queue */
    const char *activity_id; /* NULL: generated, as the other SDKs do */
    long long schedule_to_close_timeout_ms;
    long long schedule_to_start_timeout_ms;
    long long start_to_close_timeout_ms; /* this or schedule-to-close is required */
    long long heartbeat_timeout_ms;
    const tlw_retry_policy *retry_policy; /* NULL: server default */
    tlw_cancellation_type cancellation_type;
} tlw_activity_options;

typedef struct tlw_child_options {
    const char *workflow_id; /* NULL: generated */
    const char *task_queue;  /* NULL: the parent's */
    long long execution_timeout_ms;
    long long run_timeout_ms;
    const tlw_retry_policy *retry_policy;
    int parent_close_policy; /* 0 terminate (default), 1 abandon, 2 request cancel */
    tlw_cancellation_type cancellation_type;
} tlw_child_options;

typedef struct tlw_workflow_info {
    const char *workflow_id;
    const char *run_id;
    const char *workflow_type;
    const char *namespace_name;
    const char *task_queue;
    int attempt;
    const char *continued_from_run_id; /* NULL if none */
    long long execution_timeout_ms;    /* 0: none */
    long long run_timeout_ms;
    long long start_time_ms; /* epoch ms of the run's first event */
} tlw_workflow_info;

typedef struct tlw_failure {
    const char *message;
    const char *type; /* application failure type, or e.g. "TimeoutError" */
    int non_retryable;
    const json_t *details;           /* JSON array or NULL */
    const struct tlw_failure *cause; /* NULL at the end of the chain */
} tlw_failure;

const tlw_workflow_info *tlw_workflow_get_info(const tlw_workflow *wf);
void *tlw_workflow_arg(const tlw_workflow *wf);
void *tlw_workflow_alloc(tlw_workflow *wf, size_t size);
int tlw_workflow_is_replaying(const tlw_workflow *wf);
/* The failure behind the last TLW_ERR_FAILED this coroutine received. */
const tlw_failure *tlw_workflow_last_failure(const tlw_workflow *wf);

/* Activities, timers, children: start returns at once; wait suspends. */
tlw_future *tlw_workflow_start_activity(tlw_workflow *wf, const char *type, const json_t *args,
                                        const tlw_activity_options *opts);
tlw_future *tlw_workflow_start_timer(tlw_workflow *wf, long long ms);
tlw_future *tlw_workflow_start_child(tlw_workflow *wf, const char *type, const json_t *args,
                                     const tlw_child_options *opts);
tlw_status tlw_future_wait(tlw_workflow *wf, tlw_future *f, const json_t **result);
int tlw_future_is_ready(const tlw_future *f);
/* Index of the first of n futures to be ready (in history order). */
int tlw_workflow_wait_any(tlw_workflow *wf, tlw_future *const *futures, int n);
/* Requests cancellation of what the future stands for (per its cancellation type). */
tlw_status tlw_future_cancel(tlw_workflow *wf, tlw_future *f);

/* Start + wait in one call. */
tlw_status tlw_workflow_execute_activity(tlw_workflow *wf, const char *type, const json_t *args,
                                         const tlw_activity_options *opts, const json_t **result);
tlw_status tlw_workflow_execute_child(tlw_workflow *wf, const char *type, const json_t *args,
                                      const tlw_child_options *opts, const json_t **result);
tlw_status tlw_workflow_sleep(tlw_workflow *wf, long long ms);

/* Signals: buffered per name, delivered in history order. */
tlw_status tlw_workflow_receive_signal(tlw_workflow *wf, const char *name, const json_t **payload);
int tlw_workflow_try_receive_signal(tlw_workflow *wf, const char *name, const json_t **payload);
tlw_status tlw_workflow_signal_external(tlw_workflow *wf, const char *workflow_id,
                                        const char *run_id, const char *signal_name,
                                        const json_t *args);
/* The next signal of that name as a future, so it can be waited on together
 * with timers and activities in tlw_workflow_wait_any. */
tlw_future *tlw_workflow_signal_future(tlw_workflow *wf, const char *name);
/* Suspends until cond(arg) is true; cond is re-evaluated after each event.
 * The _timeout form returns TLW_ERR_TIMEOUT when ms pass first (a durable timer). */
tlw_status tlw_workflow_await(tlw_workflow *wf, int (*cond)(void *arg), void *arg);
tlw_status tlw_workflow_await_timeout(tlw_workflow *wf, int (*cond)(void *arg), void *arg,
                                      long long ms);

/* Queries: read-only handlers over the workflow's state. */
typedef tlw_status (*tlw_query_fn)(tlw_workflow *wf, const json_t *args, json_t **result,
                                   void *arg);
tlw_status tlw_workflow_set_query_handler(tlw_workflow *wf, const char *name, tlw_query_fn fn,
                                          void *arg);

/* More coroutines in the same run, scheduled deterministically. */
tlw_status tlw_workflow_spawn(tlw_workflow *wf, void (*fn)(tlw_workflow *wf, void *arg),
                              void *arg);

/* Determinism helpers. */
long long tlw_workflow_now_ms(const tlw_workflow *wf);
unsigned long long tlw_workflow_random(tlw_workflow *wf);
const char *tlw_workflow_uuid(tlw_workflow *wf);
tlw_status tlw_workflow_side_effect(tlw_workflow *wf, json_t *(*fn)(void *arg), void *arg,
                                    const json_t **result);
/* Code changes on live workflows: true for new runs and for runs that
 * already passed this point with the change; false while replaying an older
 * run's history that did not have it. */
int tlw_workflow_patched(tlw_workflow *wf, const char *patch_id);

int tlw_workflow_is_cancel_requested(const tlw_workflow *wf);

/* Ending: return TLW_OK with *result, or one of these. */
tlw_status tlw_workflow_fail(tlw_workflow *wf, const char *type, int non_retryable,
                             const json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 5, 6))); /* returns TLW_ERR_FAILED */
tlw_status tlw_workflow_continue_as_new(tlw_workflow *wf, const json_t *args); /* returns a status to return */

#ifdef __cplusplus
}
#endif

#endif /* TLW_LAMBDA_WORKER_H */
