/*
 * Fuzzes the external storage reference parser with the data of a payload
 * that claims to be a reference (both encodings). Besides "never crash": a
 * reference that parses has a driver name, a bucket and a key, and one
 * written from those parses back to the same.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/extstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *encoding, const char *message_type, const uint8_t *data, size_t size)
{
    Temporal__Api__Common__V1__Payload__MetadataEntry e[2] = {
        TEMPORAL__API__COMMON__V1__PAYLOAD__METADATA_ENTRY__INIT,
        TEMPORAL__API__COMMON__V1__PAYLOAD__METADATA_ENTRY__INIT,
    };
    Temporal__Api__Common__V1__Payload__MetadataEntry *entries[2] = {&e[0], &e[1]};
    e[0].key = "encoding";
    e[0].value = (ProtobufCBinaryData){strlen(encoding), (uint8_t *)encoding};
    e[1].key = "messageType";
    e[1].value = (ProtobufCBinaryData){strlen(message_type), (uint8_t *)message_type};
    tlw_payload p = TEMPORAL__API__COMMON__V1__PAYLOAD__INIT;
    p.n_metadata = 2;
    p.metadata = entries;
    p.data = (ProtobufCBinaryData){size, (uint8_t *)data};

    bool is_ref = false;
    tlw_extstore_ref ref;
    tlw_error err;
    if (tlw_extstore_reference_parse(&p, &is_ref, &ref, &err) != TLW_OK)
        return;
    if (!is_ref || !ref.driver_name || !ref.bucket || !ref.key)
        abort();
    tlw_payload *again = NULL;
    if (tlw_extstore_reference_new(ref.bucket, ref.key, ref.hash_value ? ref.hash_value : "", 1,
                                   &again, &err) == TLW_OK) {
        tlw_extstore_ref back;
        if (tlw_extstore_reference_parse(again, &is_ref, &back, &err) != TLW_OK || !is_ref ||
            strcmp(back.bucket, ref.bucket) != 0 || strcmp(back.key, ref.key) != 0)
            abort();
        tlw_extstore_ref_free(&back);
        protobuf_c_message_free_unpacked(&again->base, NULL);
    }
    tlw_extstore_ref_free(&ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check("json/protobuf", "temporal.api.sdk.v1.ExternalStorageReference", data, size);
    check("json/external-storage-reference", "", data, size);
    return 0;
}
