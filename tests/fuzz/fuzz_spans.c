/*
 * Fuzzes the decoder of a span's compact form (common/spans.h), which the
 * supervisor runs on what a slot sends, and the trace-context parsers,
 * which read what a Temporal header or Lambda hands the worker. Besides
 * "never crash": a span the decoder accepts encodes back to the same bytes.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/spans.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlw_span s;
    if (tlw_span_decode(data, size, &s, NULL) == TLW_OK) {
        static uint8_t again[TLW_SPAN_ENCODED_MAX];
        size_t len = tlw_span_encode(&s, again);
        if (len != size || memcmp(again, data, size) != 0)
            abort();
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    uint8_t trace_id[16], span_id[8];
    tlw_trace_parse_traceparent(text, trace_id, span_id);
    tlw_trace_parse_xray(text, trace_id, span_id);
    free(text);
    return 0;
}
