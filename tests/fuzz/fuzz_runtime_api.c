/*
 * Fuzzes the Runtime API header parser, and the error-body builder with the
 * same bytes as a message. Properties checked besides "never crash": an
 * accepted block yields a request id that is safe in a URL path and a
 * deadline from 1 to TLW_RUNTIME_API_DEADLINE_MAX; a refused one yields at
 * most such a request id; an error body is always valid JSON.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "supervisor/runtime_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool safe_in_a_path(const char *id)
{
    size_t n = strlen(id);
    return n > 0 && n <= TLW_RUNTIME_API_REQUEST_ID_MAX &&
           strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789-._~") == n &&
           strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlw_invocation inv = {0};
    tlw_error err;
    if (tlw_runtime_api_parse_headers((const char *)data, size, &inv, &err) == TLW_OK) {
        if (!safe_in_a_path(inv.request_id))
            abort();
        if (inv.deadline_ms <= 0 || inv.deadline_ms > TLW_RUNTIME_API_DEADLINE_MAX ||
            !inv.function_arn || !inv.trace_id || !inv.client_context || !inv.cognito_identity)
            abort();
    } else if ((inv.request_id && !safe_in_a_path(inv.request_id)) || inv.deadline_ms ||
               inv.function_arn || inv.trace_id || inv.client_context || inv.cognito_identity) {
        abort(); /* a failed parse owns nothing but a valid request id */
    }
    tlw_invocation_free(&inv);

    char *message = malloc(size + 1);
    if (!message)
        return 0;
    memcpy(message, data, size);
    message[size] = '\0';
    char *body = tlw_runtime_api_error_body("Runtime.Fuzz", message, &err);
    if (body) {
        json_t *j = json_loads(body, 0, NULL);
        if (!j || !json_is_string(json_object_get(j, "errorMessage")))
            abort();
        json_decref(j);
        free(body);
    }
    free(message);
    return 0;
}
