/* worker/connect: a gRPC client from the client settings (conf/). */
#ifndef TLW_WORKER_CONNECT_H
#define TLW_WORKER_CONNECT_H

#include "conf/settings.h"
#include "worker/rpc.h"

/* Opens a client to the configured address with TLS, API key and metadata.
 * On success *out is owned by the caller (tlw_rpc_client_close). */
tlw_status tlw_worker_connect(const tlw_settings *settings, tlw_rpc_client **out,
                              tlw_error *err);

#endif
