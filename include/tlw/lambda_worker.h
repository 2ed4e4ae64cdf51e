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
    TLW_ERR_INTERNAL     /* a bug in tlw: please report it */
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

#ifdef __cplusplus
}
#endif

#endif /* TLW_LAMBDA_WORKER_H */
