#include "config.h"

#include "worker/connect.h"

#include <stdlib.h>

#include "common/error.h"

tlw_status tlw_worker_connect(const tlw_settings *settings, tlw_rpc_client **out,
                              tlw_error *err)
{
    const tlw_client_settings *c = &settings->client;
    tlw_rpc_metadata *meta = NULL;
    if (c->meta_count) {
        meta = calloc(c->meta_count, sizeof *meta);
        if (!meta)
            return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory connecting");
        for (size_t i = 0; i < c->meta_count; i++)
            meta[i] = (tlw_rpc_metadata){c->meta[i].key, c->meta[i].value};
    }
    tlw_rpc_connect_options o = {
        .address = c->address.value,
        .api_key = c->api_key.value,
        .tls =
            {
                .enabled = c->tls.value != 0,
                .server_ca_pem = c->server_ca_pem.value,
                .client_cert_pem = c->client_cert_pem.value,
                .client_key_pem = c->client_key_pem.value,
                .server_name = c->server_name.value,
                .disable_host_verification = c->disable_host_verification.value != 0,
            },
        .metadata = meta,
        .metadata_count = c->meta_count,
    };
    tlw_status st = tlw_rpc_client_open(&o, out, err);
    free(meta);
    return st;
}
