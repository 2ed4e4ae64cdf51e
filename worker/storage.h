/*
 * worker/storage: external payload storage for a slot, the C counterpart of
 * the SDKs' S3StorageDriver. On the way out every payload at or above the
 * threshold is stored in S3 (HeadObject, then PutObject only if missing) and
 * replaced by a reference (worker/extstore.h); on the way in every reference
 * is fetched and its SHA-256 checked. Payloads stay in place otherwise.
 *
 * A slot opens one per invocation (the slot lives for one invocation) and
 * keeps its S3 connection for all its tasks; the S3 client itself is made at
 * the first call that needs it, so a worker whose payloads stay small never
 * needs the credentials.
 *
 * Failures name the bucket and key: a reference that cannot be resolved
 * (missing object, hash mismatch, no storage configured) must fail the task
 * with a message, never yield a silent null.
 */
#ifndef TLW_WORKER_STORAGE_H
#define TLW_WORKER_STORAGE_H

#include <stdint.h>

#include <tlw/lambda_worker.h>

#include "conf/settings.h"
#include "worker/extstore.h"
#include "worker/payload.h"

typedef struct tlw_storage tlw_storage;

/* A storage for `w`'s s3_* settings and the credentials in `envp`; *out is
 * NULL (and TLW_OK) when no bucket is configured. No I/O. */
tlw_status tlw_storage_open(const tlw_worker_settings *w, char *const *envp, tlw_storage **out,
                            tlw_error *err);
void tlw_storage_close(tlw_storage *s);

/* Stores every payload of `payloads` (NULL: none) at or above the threshold
 * for `target`, replacing each by its reference. `s` NULL: nothing to do.
 * On failure some payloads may already be references; the caller drops the
 * message. */
tlw_status tlw_storage_store(tlw_storage *s, const tlw_extstore_target *target,
                             tlw_payloads *payloads, int64_t deadline_ms, tlw_error *err);

/* The same for every payload of a Failure and its causes (the application
 * details). */
tlw_status tlw_storage_store_failure(tlw_storage *s, const tlw_extstore_target *target,
                                     tlw_failure_pb *failure, int64_t deadline_ms, tlw_error *err);

/* Replaces every reference in `payloads` (NULL: none) by the payload it
 * names, checked. A reference with `s` NULL is TLW_ERR_INVALID naming the
 * bucket, the key and how to configure storage. */
tlw_status tlw_storage_retrieve(tlw_storage *s, tlw_payloads *payloads, int64_t deadline_ms,
                                tlw_error *err);

/* The same for one payload in place (*payload may be replaced). */
tlw_status tlw_storage_retrieve_one(tlw_storage *s, tlw_payload **payload, int64_t deadline_ms,
                                    tlw_error *err);

/*
 * Every Payload inside `message` (any message: a history event, a command, a
 * query), found through the protobuf-c descriptors, stored (those at or
 * above the threshold, for `target`) or retrieved in place. Headers, memos
 * and search attributes are left alone: the SDKs do not store those
 * externally. On failure the message is partly converted; the caller drops
 * or fails it.
 */
tlw_status tlw_storage_store_all(tlw_storage *s, const tlw_extstore_target *target,
                                 ProtobufCMessage *message, int64_t deadline_ms, tlw_error *err);
tlw_status tlw_storage_retrieve_all(tlw_storage *s, ProtobufCMessage *message, int64_t deadline_ms,
                                    tlw_error *err);

#endif
