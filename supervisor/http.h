/*
 * A small HTTP/1.1 client (RFC 9112) for ONE plain-HTTP peer on the local
 * network: the Lambda Runtime API. It is not a general HTTP client: no TLS,
 * no proxies (http_proxy is ignored on purpose), no redirects, no
 * authentication, no pipelining, no HEAD requests, no compression. It
 * exists so that the supervisor does not load libcurl and its dependency
 * tree (issue 11).
 *
 * Two parts:
 *   - a pure, incremental response parser (no I/O, fuzzed by
 *     tests/fuzz/fuzz_http_response.c): feed it bytes as they arrive;
 *   - a blocking client that keeps one connection open between requests
 *     (keep-alive), reconnects when the peer closed it, and bounds each
 *     exchange with a deadline (or none).
 *
 * Not thread-safe: one client per thread. Errors follow the project's
 * convention (status plus a message in the caller's tlw_error).
 */
#ifndef TLW_SUPERVISOR_HTTP_H
#define TLW_SUPERVISOR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tlw/lambda_worker.h>

#include "common/buffer.h"

/* --- the response parser ------------------------------------------------------ */

/*
 * One response being parsed. Set it up with tlw_http_response_init(); the
 * fields above `internal` may be read by the caller, the rest are the
 * parser's.
 *
 * Accepted: a status line "HTTP/1.0 " or "HTTP/1.1 ", a 3-digit code from
 * 100 to 599 and an optional reason; header lines "Name: value" ending in
 * CRLF or a bare LF, up to an empty line; then a body delimited by
 * `Transfer-Encoding: chunked` (chunk extensions ignored, trailer lines
 * skipped), by Content-Length, or by the end of the connection when neither
 * is given. 1xx, 204 and 304 answers have no body; an interim 1xx answer
 * (other than 101) is skipped and the final one parsed.
 *
 * Refused with TLW_ERR_PROTOCOL, the message naming what was wrong: a bad
 * status line (or another version than 1.0/1.1), a header block larger than
 * `headers_max` (status line included), a NUL or control byte in a header
 * line, a folded line, a line without a colon or with a bad name, both
 * Content-Length and Transfer-Encoding, either one twice, a Content-Length
 * that is not a plain decimal number, a transfer coding other than chunked,
 * a bad chunk size or chunk ending, a body larger than `body_max` (refused
 * as soon as Content-Length announces it). TLW_ERR_NOMEM when a buffer cannot
 * grow. Never crashes on any input.
 */
typedef struct tlw_http_response {
    int status;        /* the final status code, once `head_done` */
    int minor_version; /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
    bool head_done;    /* the final header block is complete (`head` holds it) */
    bool done;         /* the whole response has been read */
    bool keep_alive;   /* once done: the connection may carry another request */
    tlw_buffer head;   /* status line and header lines of the final answer, as
                           received, line ends and the closing empty line included */
    tlw_buffer body;   /* the body, de-chunked */
    size_t bytes_read; /* bytes consumed so far, interim answers included */

    /* internal */
    int state;
    size_t headers_max;
    size_t body_max;
    size_t line_start;    /* offset in `head` of the line being read */
    uint64_t remaining;   /* body or chunk bytes still to come */
    bool chunked;         /* the body is chunked */
    bool close;           /* Connection: close, HTTP/1.0 or a body until close */
    bool saw_cr;          /* a CR was the last byte of a chunk ending */
    char line[128];       /* a chunk-size line (extensions are not kept) */
    size_t line_len;      /* its bytes seen, extensions included */
    size_t trailer_bytes; /* bytes of trailer lines seen */
    size_t trailer_line;  /* bytes of the current trailer line */
    tlw_status failed;    /* TLW_OK, or the error that stopped the parser */
} tlw_http_response;

/* Prepares `r`, which owns no memory yet, for a response: `headers_max`
 * bounds the header block, `body_max` (0: no bound) the body. */
void tlw_http_response_init(tlw_http_response *r, size_t headers_max, size_t body_max);

/* Prepares `r` for another response with the same limits, keeping its
 * memory. */
void tlw_http_response_reset(tlw_http_response *r);

/*
 * Feeds `n` bytes that arrived. Stops at the end of the response: *used is
 * set to the bytes consumed, fewer than `n` only when r->done (what follows
 * belongs to no request of ours) or on failure. Returns TLW_OK while the response is
 * well-formed so far, else the error (and every later call fails too).
 */
tlw_status tlw_http_response_feed(tlw_http_response *r, const char *data, size_t n, size_t *used,
                                  tlw_error *err);

/*
 * The peer closed the connection. Ends a body read until close (r->done),
 * and is TLW_ERR_PROTOCOL ("ends before ...") for a response cut short.
 * OK and nothing changed when the response was already done.
 */
tlw_status tlw_http_response_eof(tlw_http_response *r, tlw_error *err);

/* Frees the buffers; `r` may then be initialised again. */
void tlw_http_response_free(tlw_http_response *r);

/* --- the client ---------------------------------------------------------------- */

/* No deadline: wait as long as it takes (GET /next). */
#define TLW_HTTP_NO_DEADLINE INT64_MAX

typedef struct tlw_http_client tlw_http_client;

/*
 * A client for the peer at `host_port`: "127.0.0.1:9001", "localhost:9001"
 * or "[::1]:9001" (resolved with getaddrinfo at each connection). No
 * connection is made yet. TLW_ERR_INVALID when it is not host:port.
 * `connect_timeout_ms` bounds each connection attempt. On success *out owns
 * the client; free it with tlw_http_client_close().
 */
tlw_status tlw_http_client_open(const char *host_port, int64_t connect_timeout_ms,
                                tlw_http_client **out, tlw_error *err);

/* Closes the connection and frees the client. `c` may be NULL. */
void tlw_http_client_close(tlw_http_client *c);

typedef struct tlw_http_request {
    const char *method;         /* "GET", "POST" */
    const char *path;           /* "/2018-06-01/runtime/invocation/next": sent as it is */
    const char *const *headers; /* "Name: value" lines without CRLF, checked by the caller */
    size_t n_headers;
    const void *body; /* sent with Content-Length when not NULL (may be 0 bytes) */
    size_t body_len;
} tlw_http_request;

/*
 * Sends `req` (with Host and, for a body, Content-Length) and reads the
 * answer into `resp`: the caller sets its limits with
 * tlw_http_response_init() and frees it with tlw_http_response_free()
 * afterwards, whatever the outcome.
 * `deadline_ms` is on tlw_monotonic_ms()'s clock, or TLW_HTTP_NO_DEADLINE.
 *
 * The connection is reused when the previous answer allowed it. A request
 * on a reused connection that the peer had closed (the send fails, or the
 * connection ends before the first byte of an answer) is sent again once on
 * a new connection: no byte of an answer arrived, so the peer did not act
 * on it, or dropped it unanswered as it was closing an idle connection.
 *
 * Returns TLW_OK with a complete response of any status, or:
 *   TLW_ERR_UNAVAILABLE  no connection could be made (*maybe_sent false),
 *                        or the connection broke (*maybe_sent true: the
 *                        peer may have received the request), before an
 *                        answer or in the middle of one
 *   TLW_ERR_TIMEOUT      the deadline passed (*maybe_sent says the same)
 *   TLW_ERR_PROTOCOL     the answer was malformed (see the parser); resp
 *                        keeps what was parsed (e.g. a complete head)
 *   TLW_ERR_NOMEM
 * The connection is closed after any failure. Messages name the peer.
 */
tlw_status tlw_http_client_exchange(tlw_http_client *c, const tlw_http_request *req,
                                    int64_t deadline_ms, tlw_http_response *resp, bool *maybe_sent,
                                    tlw_error *err);

#endif
