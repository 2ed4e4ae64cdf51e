/*
 * common/metadata: the rules gRPC holds a metadata entry (a request header)
 * to, in one place. The settings check every entry against them before any
 * process forks (conf/settings.c), and the gRPC client layer checks again
 * before it opens a channel (worker/rpc.c), so a bad entry is refused the same
 * way, with the same words, wherever it came from.
 *
 * The rules are grpc core's (validate_metadata): a key is not empty and has
 * only a-z 0-9 - _ . (no upper case: HTTP/2 header names are lower case); the
 * value of a key that does not end in "-bin" is printable ASCII, space to '~'.
 * A "-bin" key's value is sent base64-encoded and may hold any byte.
 */
#ifndef TLW_COMMON_METADATA_H
#define TLW_COMMON_METADATA_H

#include <stdbool.h>
#include <stddef.h>

/* NULL when `key` is a valid metadata key; else the rule it breaks, as a
 * static phrase for a message ("a gRPC metadata key may contain only ..."). */
const char *tlw_metadata_key_problem(const char *key);

/*
 * NULL when `value` may be sent under `key`; else the rule it breaks, as a
 * static phrase, and *position (if not NULL) the 1-based byte position of the
 * first byte refused. The phrase never quotes the value: it may be a secret
 * (an authorization header).
 */
const char *tlw_metadata_value_problem(const char *key, const char *value, size_t *position);

/* True when `key` ends in "-bin" (its value is binary). */
bool tlw_metadata_key_is_binary(const char *key);

/* Writes `key` for a message into `buf`: bytes outside printable ASCII as
 * \xNN, cut short with "..." to fit. Returns `buf`. */
const char *tlw_metadata_key_show(const char *key, char *buf, size_t size);

#endif
