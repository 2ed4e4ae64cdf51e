/*
 * Fuzzes worker/pbjson with arbitrary bytes as the JSON of a Temporal
 * History, as a replay test would read a file. Besides "never crash or
 * leak", it checks properties: a refusal leaves no message and says why;
 * what decodes is a well-formed protobuf-c message: it packs, unpacks, and
 * packs again to the same bytes.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/api/history/v1/message.pb-c.h"
#include "worker/pbjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The packed bytes of `message` (free() them); *size is their length. */
static uint8_t *packed(const ProtobufCMessage *message, size_t *size)
{
    *size = protobuf_c_message_get_packed_size(message);
    uint8_t *wire = malloc(*size ? *size : 1);
    if (!wire)
        abort();
    if (protobuf_c_message_pack(message, wire) != *size)
        abort();
    return wire;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ProtobufCMessageDescriptor *desc = &temporal__api__history__v1__history__descriptor;
    tlw_error err;
    ProtobufCMessage *history = (ProtobufCMessage *)&err;
    tlw_status st = tlw_pbjson_decode_text(desc, (const char *)data, size, &history, &err);
    if (st != TLW_OK) {
        if (history != NULL || (st != TLW_ERR_INVALID && st != TLW_ERR_NOMEM) ||
            err.message[0] == '\0')
            abort();
        return 0;
    }

    size_t first_size, second_size;
    uint8_t *first = packed(history, &first_size);
    ProtobufCMessage *back = protobuf_c_message_unpack(desc, NULL, first_size, first);
    if (!back)
        abort();
    uint8_t *second = packed(back, &second_size);
    if (second_size != first_size || memcmp(first, second, first_size) != 0)
        abort();

    free(second);
    free(first);
    protobuf_c_message_free_unpacked(back, NULL);
    protobuf_c_message_free_unpacked(history, NULL);
    return 0;
}
