/*
 * worker/plugins: gRPC and libcurl, loaded where they are needed.
 *
 * libtlw.so links neither. With their own dependencies they are some 80
 * shared libraries: every process that maps them pays about 7 ms to load
 * them, 0.5 ms more CPU for each fork, and several MiB of memory. Only the
 * processes that talk to a server need them, so their two users are built
 * as modules installed beside libtlw.so:
 *
 *   libtlw-grpc.so  worker/rpc.c: the gRPC client (Temporal, OTLP)
 *   libtlw-s3.so    worker/s3.c: the S3 client and SHA-256 (libcurl, libcrypto)
 *
 * and in libtlw.so the functions of worker/rpc.h and worker/s3.h call
 * through the table the module exports, loading it on first use. The
 * supervisor loads them once it has forked the executor zygote
 * (worker/zygote.h): the slots it forks inherit them loaded, the executors
 * never map them.
 *
 * A module is looked for in the directory libtlw.so was loaded from, then
 * by name on the library search path. In the internal static library that
 * unit tests and tools link, the modules' code is linked in and loading is
 * a no-op.
 */
#ifndef TLW_WORKER_PLUGINS_H
#define TLW_WORKER_PLUGINS_H

#include <stdbool.h>

#include <tlw/lambda_worker.h>

#include "worker/rpc.h"
#include "worker/s3.h"

typedef enum tlw_plugin {
    TLW_PLUGIN_GRPC, /* libtlw-grpc.so */
    TLW_PLUGIN_S3,   /* libtlw-s3.so */
} tlw_plugin;

/*
 * Loads module `which` unless it is loaded (thread-safe). TLW_ERR_INTERNAL
 * naming the file and the loader's reason when it cannot be loaded.
 */
tlw_status tlw_plugin_load(tlw_plugin which, tlw_error *err);

/* ---- the modules' side ---------------------------------------------------------
 * Each module exports one table, by this name, of this layout. */

#define TLW_PLUGIN_ABI 1

typedef struct tlw_grpc_plugin {
    unsigned abi; /* TLW_PLUGIN_ABI */
    tlw_status (*client_open)(const tlw_rpc_connect_options *opts, tlw_rpc_client **out,
                              tlw_error *err);
    void (*client_close)(tlw_rpc_client *client);
    const char *(*client_address)(const tlw_rpc_client *client);
    tlw_status (*call)(tlw_rpc_client *client, const char *method, const ProtobufCMessage *request,
                       const ProtobufCMessageDescriptor *response_type, ProtobufCMessage **response,
                       const tlw_rpc_call_options *opts, tlw_error *err);
    void (*set_observer)(tlw_rpc_observer observer);
} tlw_grpc_plugin;
#define TLW_GRPC_PLUGIN_SYMBOL "tlw_grpc_plugin_v1"

typedef struct tlw_s3_plugin {
    unsigned abi; /* TLW_PLUGIN_ABI */
    tlw_status (*open)(const tlw_s3_config *config, tlw_s3_client **out, tlw_error *err);
    void (*close)(tlw_s3_client *c);
    tlw_status (*head)(tlw_s3_client *c, const char *bucket, const char *key, int64_t deadline_ms,
                       bool *exists, tlw_error *err);
    tlw_status (*put)(tlw_s3_client *c, const char *bucket, const char *key, const void *data,
                      size_t len, const char *sha256_hex, int64_t deadline_ms, tlw_error *err);
    tlw_status (*get)(tlw_s3_client *c, const char *bucket, const char *key, size_t max,
                      int64_t deadline_ms, tlw_buffer *out, tlw_error *err);
    void (*sha256_hex)(const void *bytes, size_t len, char hex[TLW_S3_HEX_SIZE]);
} tlw_s3_plugin;
#define TLW_S3_PLUGIN_SYMBOL "tlw_s3_plugin_v1"

#endif
