/*
 * Fuzzes the payload decoder with serialized Payloads, as a peer sends them.
 * Besides "never crash", it checks properties: whatever decodes encodes
 * again; that encoding decodes to an equal value; and encoding is stable
 * (the second encoding has the bytes of the first).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "worker/payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_payloads(const tlw_payloads *a, const tlw_payloads *b)
{
    if (a->n_payloads != b->n_payloads)
        return false;
    for (size_t i = 0; i < a->n_payloads; i++) {
        const ProtobufCBinaryData *x = &a->payloads[i]->data, *y = &b->payloads[i]->data;
        if (x->len != y->len || (x->len && memcmp(x->data, y->data, x->len) != 0))
            return false;
        const ProtobufCBinaryData *ex = &a->payloads[i]->metadata[0]->value;
        const ProtobufCBinaryData *ey = &b->payloads[i]->metadata[0]->value;
        if (ex->len != ey->len || memcmp(ex->data, ey->data, ex->len) != 0)
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlw_payloads *input = (tlw_payloads *)protobuf_c_message_unpack(
        &temporal__api__common__v1__payloads__descriptor, NULL, size, data);
    if (!input)
        return 0;
    tlw_error err;
    json_t *values;
    tlw_status st = tlw_payloads_to_json(input, &values, &err);
    protobuf_c_message_free_unpacked(&input->base, NULL);
    if (st != TLW_OK) {
        if (st != TLW_ERR_INVALID || err.message[0] == '\0')
            abort();
        return 0;
    }

    tlw_payloads *encoded, *again;
    json_t *decoded;
    if (tlw_payloads_from_json(values, true, &encoded, &err) != TLW_OK)
        abort();
    if (tlw_payloads_to_json(encoded, &decoded, &err) != TLW_OK || !json_equal(decoded, values))
        abort();
    if (tlw_payloads_from_json(decoded, true, &again, &err) != TLW_OK ||
        !same_payloads(encoded, again))
        abort();

    /* The values as failure details, too. */
    tlw_failure_pb *failure;
    json_t *details;
    if (tlw_failure_application("fuzz", "Fuzz", false, values, &failure, &err) != TLW_OK ||
        tlw_failure_details_to_json(failure, &details, &err) != TLW_OK ||
        !json_equal(details, values))
        abort();

    json_decref(details);
    protobuf_c_message_free_unpacked(&failure->base, NULL);
    protobuf_c_message_free_unpacked(&again->base, NULL);
    protobuf_c_message_free_unpacked(&encoded->base, NULL);
    json_decref(decoded);
    json_decref(values);
    return 0;
}
