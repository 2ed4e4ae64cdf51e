/*
 * Fuzzes the IPC decoder. Besides "never crash", it checks a property: any
 * input the decoder accepts encodes back to exactly the same bytes, so the
 * decoder accepts only the canonical form the encoder writes.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlw_ipc_msg msg;
    tlw_error err;
    if (tlw_ipc_decode(data, size, &msg, &err) != TLW_OK)
        return 0;
    uint8_t again[TLW_IPC_MSG_MAX];
    size_t len = 0;
    if (tlw_ipc_encode(&msg, again, sizeof again, &len, &err) != TLW_OK)
        abort();
    if (len != size || memcmp(again, data, size) != 0)
        abort();
    return 0;
}
