/*
 * The gRPC client layer: one channel to a Temporal frontend, and unary calls
 * on it with protobuf-c messages.
 *
 * Built on grpc core's C API. A worker child opens its own client after fork;
 * the supervisor never calls gRPC (see docs/ and DESIGN.md section 3). For
 * libtlw.so this file is the module libtlw-grpc.so, loaded by the processes
 * that call it (worker/plugins.h).
 *
 * Errors follow the project convention: a tlw_status, and a tlw_error filled
 * with one line that names the method and the address and says what to do.
 * The API key is never part of a message.
 */
#ifndef TLW_WORKER_RPC_H
#define TLW_WORKER_RPC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include <tlw/lambda_worker.h>

typedef struct tlw_rpc_metadata {
    const char *key; /* lower case, e.g. "x-tenant" */
    const char *value;
} tlw_rpc_metadata;

typedef struct tlw_rpc_tls_options {
    bool enabled;
    const char *server_ca_pem;   /* NULL: the system's trusted roots */
    const char *client_cert_pem; /* mutual TLS: both cert and key, or neither */
    const char *client_key_pem;
    const char *server_name; /* NULL: the host part of the address */
    /* Still verifies the chain against the CA, but not the host name. */
    bool disable_host_verification;
} tlw_rpc_tls_options;

typedef struct tlw_rpc_connect_options {
    const char *address; /* "host:port", "[v6]:port", or a gRPC target "dns:///host:port" */
    const char *api_key; /* NULL or "": none. Sent as "authorization: Bearer <key>" */
    tlw_rpc_tls_options tls;
    const tlw_rpc_metadata *metadata; /* sent with every call */
    size_t metadata_count;
} tlw_rpc_connect_options;

typedef struct tlw_rpc_client tlw_rpc_client;

/*
 * Opens a client. Copies everything it needs from `opts`. No connection is
 * made yet: the first call connects. On success *out owns the client; free it
 * with tlw_rpc_client_close().
 */
tlw_status tlw_rpc_client_open(const tlw_rpc_connect_options *opts, tlw_rpc_client **out,
                               tlw_error *err);
void tlw_rpc_client_close(tlw_rpc_client *client);
const char *tlw_rpc_client_address(const tlw_rpc_client *client);

/*
 * A cancellation flag a call watches. tlw_rpc_cancel_request() may be called
 * from any thread or from a signal handler; a call in flight notices within
 * TLW_RPC_CANCEL_POLL_MS and ends with TLW_ERR_CANCELLED. A cancelled token
 * stays cancelled: later calls with it fail at once.
 */
typedef struct tlw_rpc_cancel {
    atomic_int requested;
} tlw_rpc_cancel;

#define TLW_RPC_CANCEL_POLL_MS 20

static inline void tlw_rpc_cancel_init(tlw_rpc_cancel *cancel)
{
    atomic_init(&cancel->requested, 0);
}

static inline void tlw_rpc_cancel_request(tlw_rpc_cancel *cancel)
{
    atomic_store(&cancel->requested, 1);
}

static inline bool tlw_rpc_cancel_requested(const tlw_rpc_cancel *cancel)
{
    return cancel && atomic_load(&((tlw_rpc_cancel *)cancel)->requested) != 0;
}

/*
 * Called once after each tlw_rpc_call() with the method, the last attempt's
 * gRPC status code (-1 when no attempt was made: cancelled before it) and
 * the call's duration, retries included. For the process's metrics
 * (worker/otel_slot); NULL (the default): nobody is told.
 */
typedef void (*tlw_rpc_observer)(const char *method, int grpc_code, int64_t ms);
void tlw_rpc_set_observer(tlw_rpc_observer observer);

typedef struct tlw_rpc_call_options {
    /* The whole call, retries included, ends by then. <= 0: 10 s. */
    int64_t timeout_ms;
    /* Retry UNAVAILABLE with backoff until the timeout. Only for calls that
     * are safe to repeat (reads, and writes the server deduplicates). */
    bool retry_unavailable;
    tlw_rpc_cancel *cancel; /* NULL: the call cannot be cancelled */
} tlw_rpc_call_options;

/*
 * One unary call. `method` is the full path, e.g.
 * "/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo".
 * On success *response is a message of type `response_type` owned by the
 * caller: free it with protobuf_c_message_free_unpacked(*response, NULL).
 */
tlw_status tlw_rpc_call(tlw_rpc_client *client, const char *method,
                        const ProtobufCMessage *request,
                        const ProtobufCMessageDescriptor *response_type,
                        ProtobufCMessage **response, const tlw_rpc_call_options *opts,
                        tlw_error *err);

/* The delay before retry number `attempt` (1, 2, ...): 100 ms doubling to 2 s. */
int64_t tlw_rpc_backoff_ms(int attempt);

/*
 * Maps a gRPC status (grpc_status_code as int) and its details onto `err`, in
 * words that name the method and the address and suggest a fix. Exposed for
 * the unit tests; tlw_rpc_call uses it.
 */
tlw_status tlw_rpc_error_from_status(tlw_error *err, int grpc_code, const char *details,
                                     const char *method, const char *address, bool tls);

#endif
