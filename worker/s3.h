/*
 * worker/s3: the few S3 calls external payload storage needs (HeadObject,
 * PutObject, GetObject), over libcurl, signed with SigV4 by libcurl
 * (CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3"). One client keeps one connection
 * alive across calls; it belongs to one process and one thread.
 *
 * Each call ends by `deadline_ms` (epoch ms): its timeout is the time left,
 * and throttling (503 SlowDown, 429, 500) and transport failures are retried
 * with the project's one backoff while time is left. Credentials are never
 * logged nor put in a message. For libtlw.so this file is the module
 * libtlw-s3.so, loaded by the processes that call it (worker/plugins.h).
 */
#ifndef TLW_WORKER_S3_H
#define TLW_WORKER_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tlw/lambda_worker.h>

#include "common/buffer.h"

typedef struct tlw_s3_client tlw_s3_client;

/* A SHA-256 as lower-case hex, with its NUL. */
#define TLW_S3_HEX_SIZE 65

/* `len` bytes' SHA-256 as lower-case hex into `hex` (libcrypto). */
void tlw_s3_sha256_hex(const void *bytes, size_t len, char hex[TLW_S3_HEX_SIZE]);

typedef struct tlw_s3_config {
    const char *region;       /* required */
    const char *endpoint_url; /* NULL: https://s3.REGION.amazonaws.com */
    bool path_style;          /* endpoint/bucket/key rather than bucket.endpoint/key */
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL: none (sent as x-amz-security-token) */
} tlw_s3_config;

/* A new client (copies what `config` points at). Close with tlw_s3_close. */
tlw_status tlw_s3_open(const tlw_s3_config *config, tlw_s3_client **out, tlw_error *err);
void tlw_s3_close(tlw_s3_client *c);

/* HeadObject: *exists true on 200, false on 404. */
tlw_status tlw_s3_head(tlw_s3_client *c, const char *bucket, const char *key, int64_t deadline_ms,
                       bool *exists, tlw_error *err);

/* PutObject of `len` bytes whose SHA-256 (lower-case hex) is `sha256_hex`. */
tlw_status tlw_s3_put(tlw_s3_client *c, const char *bucket, const char *key, const void *data,
                      size_t len, const char *sha256_hex, int64_t deadline_ms, tlw_error *err);

/* GetObject into `out` (cleared first; at most `max` bytes, else
 * TLW_ERR_PROTOCOL). A missing object is TLW_ERR_NOT_FOUND. */
tlw_status tlw_s3_get(tlw_s3_client *c, const char *bucket, const char *key, size_t max,
                      int64_t deadline_ms, tlw_buffer *out, tlw_error *err);

/* The URL of an object ("https://bucket.s3.eu-west-1.amazonaws.com/k%2Fx"
 * or path style), the key's bytes URI-encoded as SigV4 wants them. A new
 * string (free it); NULL when out of memory. For tests too. */
char *tlw_s3_object_url(const tlw_s3_config *config, const char *bucket, const char *key);

#endif
