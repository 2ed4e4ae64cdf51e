/*
 * Fuzzes the decoder of the metrics' compact form (common/metrics.h), which
 * the supervisor runs on what a slot sends. Besides "never crash": what it
 * accepts, it merges into a registry whose own encoding it accepts again,
 * and checking alone (no registry) agrees with merging.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlw_metrics *m = tlw_metrics_new(0);
    if (!m)
        return 0;
    tlw_status checked = tlw_metrics_merge(NULL, data, size, NULL);
    tlw_status merged = tlw_metrics_merge(m, data, size, NULL);
    if (checked != merged)
        abort();
    size_t cursor = 0;
    while (merged == TLW_OK && cursor < tlw_metrics_series_count(m)) {
        static uint8_t buf[4096];
        size_t len = 0;
        if (tlw_metrics_encode(m, &cursor, buf, sizeof buf, &len, NULL) != TLW_OK ||
            tlw_metrics_merge(NULL, buf, len, NULL) != TLW_OK)
            abort();
    }
    tlw_metrics_free(m);
    return 0;
}
