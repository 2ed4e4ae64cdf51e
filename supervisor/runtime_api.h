/*
 * The AWS Lambda Runtime API client (blocking calls over one kept-alive
 * HTTP/1.1 connection, supervisor/http.h; no libcurl). The supervisor uses
 * it for its loop:
 *
 *     GET  /2018-06-01/runtime/invocation/next            -> 200, one invocation
 *     POST /2018-06-01/runtime/invocation/{id}/response   -> 202
 *     POST /2018-06-01/runtime/invocation/{id}/error      -> 202
 *     POST /2018-06-01/runtime/init/error                 -> 202
 *
 * on http://$AWS_LAMBDA_RUNTIME_API. An answer that is not what Lambda sends
 * (a status other than the expected one, a missing, non-numeric or absurd
 * deadline, a missing request id or one unsafe in a URL path, an oversized
 * event or header block) is an error, never a crash. Connection failures are retried
 * for about a second; a Runtime API that stays away is TLW_ERR_UNAVAILABLE
 * with a message naming its address.
 *
 * The client never exports anything (the trace id goes to _X_AMZN_TRACE_ID in
 * the supervisor). It is not thread-safe: one client per thread.
 */
#ifndef TLW_SUPERVISOR_RUNTIME_API_H
#define TLW_SUPERVISOR_RUNTIME_API_H

#include <stddef.h>
#include <stdint.h>

#include <tlw/lambda_worker.h>

/* The environment variable Lambda sets to the Runtime API's "host:port". */
#define TLW_RUNTIME_API_ENV "AWS_LAMBDA_RUNTIME_API"

/* Largest event body accepted: Lambda's 6 MiB limit for a synchronous
 * request, plus a margin for the emulator's 100 extra bytes and framing. */
#define TLW_RUNTIME_API_EVENT_MAX (6 * 1024 * 1024 + 4096)
/* Largest header block of a /next answer (all header lines together). The
 * client context header alone may be up to about 3.5 KiB. */
#define TLW_RUNTIME_API_HEADERS_MAX (64 * 1024)
/* Longest request id accepted. Lambda's are 36-character UUIDs. */
#define TLW_RUNTIME_API_REQUEST_ID_MAX 128
/* Latest deadline accepted, in epoch ms (INT64_MAX / 2, some 146 million
 * years away). Higher is absurd, and INT64_MAX is the supervisor's
 * TLW_NO_DEADLINE: an invocation from Lambda always has a deadline. */
#define TLW_RUNTIME_API_DEADLINE_MAX (INT64_MAX / 2)
/* How long connection failures are retried before TLW_ERR_UNAVAILABLE. */
#define TLW_RUNTIME_API_RETRY_MS 1000
/* Bound on a POST (response, error) including its retries. */
#define TLW_RUNTIME_API_POST_TIMEOUT_MS 30000

/*
 * One invocation, as GET /next delivered it. Every string is heap memory
 * owned by the struct, NUL-terminated and never NULL after a successful
 * tlw_runtime_api_next(); a header Lambda did not send is "". Free all of it
 * with tlw_invocation_free().
 */
typedef struct tlw_invocation {
    char *request_id;       /* Lambda-Runtime-Aws-Request-Id (required) */
    int64_t deadline_ms;    /* Lambda-Runtime-Deadline-Ms, epoch ms (required) */
    char *function_arn;     /* Lambda-Runtime-Invoked-Function-Arn */
    char *trace_id;         /* Lambda-Runtime-Trace-Id (for _X_AMZN_TRACE_ID) */
    char *client_context;   /* Lambda-Runtime-Client-Context (JSON, mobile SDKs) */
    char *cognito_identity; /* Lambda-Runtime-Cognito-Identity (JSON) */
    char *event;            /* the body; NUL-terminated for convenience, may hold NULs */
    size_t event_len;       /* its length, without the terminating NUL */
    int64_t arrived_ms;     /* when it arrived, epoch ms (set by the supervisor) */
} tlw_invocation;

/* Frees what `inv` owns and zeroes it. `inv` may be NULL; safe to call twice. */
void tlw_invocation_free(tlw_invocation *inv);

/*
 * Parses the header lines of a /next answer into `inv`: the request id,
 * deadline, function ARN, trace id, client context and cognito identity.
 * Pure (no I/O), so that it can be fuzzed.
 *
 * `block` is `len` bytes of "Name: value" lines, each ending in "\n" or
 * "\r\n"; a status line ("HTTP/...") and empty lines are skipped. Names match
 * case-insensitively; values lose surrounding spaces and tabs; other headers
 * are ignored. Refused with TLW_ERR_PROTOCOL: a line without a colon, a
 * folded (continuation) line, a control character or NUL byte, a repeated
 * Lambda header, a missing request id, a request id that is longer than
 * TLW_RUNTIME_API_REQUEST_ID_MAX or has a character other than
 * [A-Za-z0-9._~-] (or is "." or ".."), a missing deadline, or one that is not
 * a decimal integer from 1 to TLW_RUNTIME_API_DEADLINE_MAX.
 *
 * Every line is read, even past a bad one. On success the header fields
 * of `inv` are set (its event is left alone) and owned by it. On failure
 * `inv` is left without them, except for the request id when the block
 * names its invocation: exactly one Lambda-Runtime-Aws-Request-Id line, not
 * folded, with a valid value. Then inv->request_id is set and owned by
 * `inv`, so that the caller can fail that invocation rather than leave
 * Lambda waiting for an answer until the function times out. `inv` must not
 * already own header fields (start from a zeroed struct).
 */
tlw_status tlw_runtime_api_parse_headers(const char *block, size_t len, tlw_invocation *inv,
                                         tlw_error *err);

/*
 * The JSON body Lambda expects for an error:
 *     {"errorMessage": message, "errorType": error_type, "stackTrace": []}
 * Escaped by jansson; bytes of `message` that are not valid UTF-8 become
 * U+FFFD so that any C string can be sent. Returns a heap string the caller
 * frees with free(), or NULL (with `err` set) when out of memory.
 */
char *tlw_runtime_api_error_body(const char *error_type, const char *message, tlw_error *err);

typedef struct tlw_runtime_api tlw_runtime_api;

/*
 * Opens a client for the Runtime API at `host_port` ("127.0.0.1:9001",
 * "localhost:9001", "[::1]:9001"). No connection is made yet. On success
 * *out owns the client; free it with tlw_runtime_api_close().
 */
tlw_status tlw_runtime_api_open(const char *host_port, tlw_runtime_api **out, tlw_error *err);

/* Opens a client for $AWS_LAMBDA_RUNTIME_API; TLW_ERR_INVALID naming the
 * variable when it is unset or empty. */
tlw_status tlw_runtime_api_from_env(tlw_runtime_api **out, tlw_error *err);

/* Closes the client and its connection. `api` may be NULL. */
void tlw_runtime_api_close(tlw_runtime_api *api);

/* The "host:port" the client talks to. */
const char *tlw_runtime_api_address(const tlw_runtime_api *api);

/*
 * Waits for the next invocation (GET /next blocks until there is one; there
 * is no timeout). `inv` must be zeroed or freed; on success it owns the
 * invocation. Free it with tlw_invocation_free() in every case.
 *   TLW_ERR_UNAVAILABLE  the Runtime API cannot be reached
 *   TLW_ERR_SERVER       it answered with a status other than 200
 *   TLW_ERR_PROTOCOL     the answer is malformed (see parse_headers) or the
 *                        event is larger than TLW_RUNTIME_API_EVENT_MAX
 * On failure `inv` owns nothing, except that inv->request_id is set when a
 * 200 answer named its invocation (see parse_headers) that cannot be run: a
 * malformed header block, an event that is too large, no memory for it, an
 * answer that HTTP refuses once its header block arrived whole (a bad chunk,
 * two Content-Lengths, a control character in a header line).
 * The caller should then post an invocation error for that request id, for
 * Lambda waits for an answer to it.
 */
tlw_status tlw_runtime_api_next(tlw_runtime_api *api, tlw_invocation *inv, tlw_error *err);

/*
 * Posts the result of invocation `request_id`: `len` bytes of `body`, sent as
 * application/json. TLW_ERR_INVALID for an unsafe request id, TLW_ERR_SERVER
 * when Lambda refuses it (e.g. 413 for a body over 6 MiB, 400 for an unknown
 * request id, 403 for a second answer), with Lambda's reason in the message.
 */
tlw_status tlw_runtime_api_respond(tlw_runtime_api *api, const char *request_id, const void *body,
                                   size_t len, tlw_error *err);

/*
 * Fails invocation `request_id`: posts tlw_runtime_api_error_body() with the
 * header Lambda-Runtime-Function-Error-Type. `error_type` is 1 to 128
 * visible ASCII characters; Lambda keeps it when it reads "Runtime.Reason" or
 * "Function.Reason" and otherwise reports "Runtime.Unknown" in its logs (the
 * caller of the function still sees it in the body).
 */
tlw_status tlw_runtime_api_invocation_error(tlw_runtime_api *api, const char *request_id,
                                            const char *error_type, const char *message,
                                            tlw_error *err);

/* Reports a failed initialisation (POST /runtime/init/error, same body and
 * header). The process should exit afterwards: Lambda restarts it. */
tlw_status tlw_runtime_api_init_error(tlw_runtime_api *api, const char *error_type,
                                      const char *message, tlw_error *err);

#endif
