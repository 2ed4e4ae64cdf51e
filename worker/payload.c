#include "config.h"

#include "worker/payload.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buffer.h"
#include "common/error.h"
#include "common/utf8.h"

#define ENCODING_KEY "encoding"
#define ENCODING_JSON "json/plain"
#define ENCODING_NULL "binary/null"
#define ENCODING_BINARY "binary/plain"
#define ENCODINGS_KNOWN "tlw decodes json/plain, binary/plain and binary/null"
#define FAILURE_SOURCE "tlw"

/* jansson's parser stops at this depth, so every value it parses encodes
 * again; values built in code that nest deeper (or contain themselves) are
 * refused instead of overflowing the stack. */
#define MAX_NESTING 2048

/* How much of an unknown encoding's name an error message shows. */
#define ENCODING_SHOWN_MAX 64

/* ---- building the JSON text -------------------------------------------- */

/*
 * A JSON string as Python's json.dumps writes it by default (ensure_ascii):
 * printable ASCII as is, the short escapes \" \\ \b \f \n \r \t, and every
 * other code point as lower-case \uXXXX, beyond the BMP as a surrogate
 * pair. Returns false, with *bad_at set, when `s` is not UTF-8.
 */
static bool put_string(tlw_buffer *b, const char *s, size_t len, size_t *bad_at)
{
    const unsigned char *p = (const unsigned char *)s;
    tlw_buffer_putc(b, '"');
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && p[run] >= 0x20 && p[run] <= 0x7E && p[run] != '"' && p[run] != '\\')
            run++;
        tlw_buffer_append(b, s + i, run - i);
        i = run;
        if (i == len)
            break;
        uint32_t cp;
        size_t n = tlw_utf8_decode(p + i, len - i, &cp, NULL);
        if (n == 0) {
            *bad_at = i;
            return false;
        }
        i += n;
        char esc[16];
        switch (cp) {
        case '"': tlw_buffer_puts(b, "\\\""); continue;
        case '\\': tlw_buffer_puts(b, "\\\\"); continue;
        case '\b': tlw_buffer_puts(b, "\\b"); continue;
        case '\f': tlw_buffer_puts(b, "\\f"); continue;
        case '\n': tlw_buffer_puts(b, "\\n"); continue;
        case '\r': tlw_buffer_puts(b, "\\r"); continue;
        case '\t': tlw_buffer_puts(b, "\\t"); continue;
        default: break;
        }
        if (cp < 0x10000) {
            snprintf(esc, sizeof esc, "\\u%04" PRIx32, cp);
        } else {
            cp -= 0x10000;
            snprintf(esc, sizeof esc, "\\u%04" PRIx32 "\\u%04" PRIx32, 0xD800 + (cp >> 10),
                     0xDC00 + (cp & 0x3FF));
        }
        tlw_buffer_puts(b, esc);
    }
    tlw_buffer_putc(b, '"');
    return true;
}

/*
 * The shortest decimal digits that read back as `mag` (finite, >= 0), and
 * among those the nearest to it, as Python's repr() and David Gay's dtoa
 * choose them. Writes the digits (no leading or trailing zeros, "0" for
 * zero) and returns the decimal exponent of the first one.
 */
static int shortest_digits(double mag, char digits[24], size_t *ndigits)
{
    char text[48];
    for (int precision = 1; precision <= 17; precision++) {
        /* The nearest decimal of `precision` digits, as mantissa * 10^scale. */
        snprintf(text, sizeof text, "%.*e", precision - 1, mag);
        unsigned long long mantissa = 0;
        const char *p = text;
        for (; *p && *p != 'e'; p++)
            if (*p >= '0' && *p <= '9')
                mantissa = mantissa * 10 + (unsigned)(*p - '0');
        int scale = (*p == 'e' ? atoi(p + 1) : 0) - (precision - 1);
        /* Next to a power of two the gap to the double below is half the
         * gap above, so the nearest decimal can miss while its neighbour
         * on the wide side still reads back. */
        unsigned long long candidates[3] = {mantissa, mantissa + 1, mantissa - 1};
        for (int c = 0; c < 3; c++) {
            if (c > 0 && candidates[c] == 0)
                continue;
            snprintf(text, sizeof text, "%llue%d", candidates[c], scale);
            /* (17 significant digits always read back.) */
            if (strtod(text, NULL) != mag && precision < 17)
                continue;
            int n = snprintf(digits, 24, "%llu", candidates[c]);
            int exponent = scale + n - 1;
            while (n > 1 && digits[n - 1] == '0')
                n--;
            *ndigits = (size_t)n;
            return exponent;
        }
    }
    digits[0] = '0'; /* not reached */
    *ndigits = 1;
    return 0;
}

/*
 * A finite double as Python's repr() writes it: the shortest digits;
 * positional notation with at least one digit after the point when the
 * decimal exponent is in [-4, 16), else d[.ddd]e+XX / e-XX with at least two
 * exponent digits.
 */
static void put_real(tlw_buffer *b, double v)
{
    char digits[24];
    size_t ndigits;
    int exponent = shortest_digits(fabs(v), digits, &ndigits);

    if (signbit(v))
        tlw_buffer_putc(b, '-');
    if (exponent < -4 || exponent >= 16) {
        tlw_buffer_putc(b, digits[0]);
        if (ndigits > 1) {
            tlw_buffer_putc(b, '.');
            tlw_buffer_append(b, digits + 1, ndigits - 1);
        }
        char exp_text[16];
        snprintf(exp_text, sizeof exp_text, "e%c%02d", exponent < 0 ? '-' : '+',
                 abs(exponent));
        tlw_buffer_puts(b, exp_text);
    } else if (exponent < 0) {
        tlw_buffer_puts(b, "0.");
        for (int i = -1; i > exponent; i--)
            tlw_buffer_putc(b, '0');
        tlw_buffer_append(b, digits, ndigits);
    } else {
        size_t whole = (size_t)exponent + 1; /* digits before the point */
        if (ndigits > whole) {
            tlw_buffer_append(b, digits, whole);
            tlw_buffer_putc(b, '.');
            tlw_buffer_append(b, digits + whole, ndigits - whole);
        } else {
            tlw_buffer_append(b, digits, ndigits);
            for (size_t i = ndigits; i < whole; i++)
                tlw_buffer_putc(b, '0');
            tlw_buffer_puts(b, ".0");
        }
    }
}

static const char *json_type_name(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "an unknown JSON type";
}

static size_t object_key_len(const char *key)
{
#if JANSSON_VERSION_HEX >= 0x020e00
    return json_object_iter_key_len(json_object_key_to_iter(key));
#else
    return strlen(key);
#endif
}

/*
 * Writes `value` as compact JSON in the bytes Python's
 * json.dumps(value, separators=(",", ":")) gives for the same value; object
 * keys keep their insertion order.
 */
static int compare_keys(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    size_t lx = object_key_len(x), ly = object_key_len(y);
    int c = memcmp(x, y, lx < ly ? lx : ly);
    return c ? c : (lx > ly) - (lx < ly);
}

static tlw_status put_value(tlw_buffer *b, const json_t *value, int depth, tlw_error *err)
{
    char number[32];
    size_t bad_at;
    switch (json_typeof(value)) {
    case JSON_NULL: tlw_buffer_puts(b, "null"); return TLW_OK;
    case JSON_TRUE: tlw_buffer_puts(b, "true"); return TLW_OK;
    case JSON_FALSE: tlw_buffer_puts(b, "false"); return TLW_OK;
    case JSON_INTEGER:
        snprintf(number, sizeof number, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        tlw_buffer_puts(b, number);
        return TLW_OK;
    case JSON_REAL: {
        double v = json_real_value(value);
        if (!isfinite(v))
            return tlw_error_set(err, TLW_ERR_INVALID,
                                 "a real number is not finite; JSON has no NaN or infinity");
        put_real(b, v);
        return TLW_OK;
    }
    case JSON_STRING:
        if (!put_string(b, json_string_value(value), json_string_length(value), &bad_at))
            return tlw_error_set(err, TLW_ERR_INVALID,
                                 "a string is not valid UTF-8 (byte %zu); build strings with "
                                 "json_string() or json_stringn(), which check it",
                                 bad_at);
        return TLW_OK;
    case JSON_ARRAY:
    case JSON_OBJECT: break;
    }

    if (depth >= MAX_NESTING)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "the value nests deeper than %d arrays and objects (or contains "
                             "itself)",
                             MAX_NESTING);
    if (json_is_array(value)) {
        tlw_buffer_putc(b, '[');
        for (size_t i = 0; i < json_array_size(value); i++) {
            if (i > 0)
                tlw_buffer_putc(b, ',');
            tlw_status st = put_value(b, json_array_get(value, i), depth + 1, err);
            if (st != TLW_OK)
                return st;
        }
        tlw_buffer_putc(b, ']');
        return TLW_OK;
    }
    /* Sorted keys, as Python's converter writes them (sort_keys=True), so
     * that the same value has the same bytes in every SDK. Byte order of
     * UTF-8 is code point order. */
    size_t n = json_object_size(value);
    const char **keys = n ? malloc(n * sizeof *keys) : NULL;
    if (n && !keys)
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory encoding an object");
    size_t k = 0;
    const char *key;
    json_t *member;
    json_object_foreach((json_t *)value, key, member)
        keys[k++] = key;
    if (n > 1)
        qsort(keys, n, sizeof *keys, compare_keys);
    tlw_status st = TLW_OK;
    tlw_buffer_putc(b, '{');
    for (size_t i = 0; i < n && st == TLW_OK; i++) {
        if (i > 0)
            tlw_buffer_putc(b, ',');
        if (!put_string(b, keys[i], object_key_len(keys[i]), &bad_at)) {
            st = tlw_error_set(err, TLW_ERR_INVALID,
                               "an object key is not valid UTF-8 (byte %zu); set keys with "
                               "json_object_set(), which checks it",
                               bad_at);
            break;
        }
        tlw_buffer_putc(b, ':');
        st = put_value(b, json_object_getn(value, keys[i], object_key_len(keys[i])), depth + 1, err);
    }
    free(keys);
    if (st != TLW_OK)
        return st;
    tlw_buffer_putc(b, '}');
    return TLW_OK;
}

/* ---- protobuf-c messages built from malloc'ed pieces ------------------ */

/*
 * A new Payload with metadata {"encoding": encoding} and `data` (taken over
 * even on failure; NULL for none). NULL when out of memory.
 */
static tlw_payload *payload_new(const char *encoding, char *data, size_t len)
{
    tlw_payload *payload = malloc(sizeof *payload);
    if (!payload) {
        free(data);
        return NULL;
    }
    tlw_payload init = TEMPORAL__API__COMMON__V1__PAYLOAD__INIT;
    *payload = init;
    payload->data.data = (uint8_t *)data;
    payload->data.len = data ? len : 0;

    Temporal__Api__Common__V1__Payload__MetadataEntry entry_init =
        TEMPORAL__API__COMMON__V1__PAYLOAD__METADATA_ENTRY__INIT;
    Temporal__Api__Common__V1__Payload__MetadataEntry *entry = NULL;
    size_t encoding_len = strlen(encoding);
    payload->metadata = malloc(sizeof *payload->metadata);
    if (!payload->metadata)
        goto fail;
    if (!(entry = malloc(sizeof *entry)))
        goto fail;
    *entry = entry_init;
    payload->metadata[0] = entry;
    payload->n_metadata = 1;

    entry->key = strdup(ENCODING_KEY);
    if (!entry->key)
        goto fail;
    entry->value.data = malloc(encoding_len);
    if (!entry->value.data)
        goto fail;
    memcpy(entry->value.data, encoding, encoding_len);
    entry->value.len = encoding_len;
    return payload;

fail:
    protobuf_c_message_free_unpacked(&payload->base, NULL);
    return NULL;
}

tlw_status tlw_payload_from_json(const json_t *value, tlw_payload **out, tlw_error *err)
{
    *out = NULL;
    if (!value || json_is_null(value)) {
        *out = payload_new(ENCODING_NULL, NULL, 0);
        if (!*out)
            return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory encoding a payload");
        return TLW_OK;
    }
    tlw_buffer text = {0};
    tlw_status st = put_value(&text, value, 0, err);
    if (st != TLW_OK) {
        free(text.data);
        return st;
    }
    if (text.nomem) {
        tlw_buffer_free(&text);
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory encoding a payload as JSON");
    }
    *out = payload_new(ENCODING_JSON, text.data, text.len);
    if (!*out)
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory encoding a payload");
    return TLW_OK;
}

tlw_status tlw_payloads_from_json(const json_t *value, bool from_array, tlw_payloads **out,
                                  tlw_error *err)
{
    *out = NULL;
    if (from_array && !json_is_array(value))
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "arguments must be a JSON array (one element per argument), not %s",
                             value ? json_type_name(value) : "NULL");
    size_t count = from_array ? json_array_size(value) : 1;

    tlw_payloads *payloads = malloc(sizeof *payloads);
    if (!payloads)
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory encoding %zu payloads", count);
    tlw_payloads init = TEMPORAL__API__COMMON__V1__PAYLOADS__INIT;
    *payloads = init;
    if (count > 0) {
        payloads->payloads = calloc(count, sizeof *payloads->payloads);
        if (!payloads->payloads) {
            free(payloads);
            return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory encoding %zu payloads",
                                 count);
        }
    }
    /* n_payloads counts only finished payloads, so that freeing the message
     * on a failure frees exactly what was built. */
    for (size_t i = 0; i < count; i++) {
        const json_t *element = from_array ? json_array_get(value, i) : value;
        tlw_status st = tlw_payload_from_json(element, &payloads->payloads[i], err);
        if (st != TLW_OK) {
            protobuf_c_message_free_unpacked(&payloads->base, NULL);
            tlw_error_prefix(err, "payload %zu: ", i + 1);
            return st;
        }
        payloads->n_payloads = i + 1;
    }
    *out = payloads;
    return TLW_OK;
}

/* ---- reading payloads -------------------------------------------------- */

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64 with padding; a new string (free it), NULL when out of
 * memory. */
static char *base64_encode(const uint8_t *data, size_t len, size_t *out_len)
{
    if (len / 3 >= SIZE_MAX / 4 - 1)
        return NULL;
    size_t n = (len + 2) / 3 * 4;
    char *text = malloc(n + 1);
    if (!text)
        return NULL;
    char *o = text;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        *o++ = base64_alphabet[v >> 18];
        *o++ = base64_alphabet[(v >> 12) & 63];
        *o++ = base64_alphabet[(v >> 6) & 63];
        *o++ = base64_alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < len ? (uint32_t)data[i + 1] << 8 : 0);
        *o++ = base64_alphabet[v >> 18];
        *o++ = base64_alphabet[(v >> 12) & 63];
        *o++ = i + 1 < len ? base64_alphabet[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    *out_len = n;
    return text;
}

/* An encoding name for an error message: printable ASCII as is, other bytes
 * as \xHH, cut after ENCODING_SHOWN_MAX bytes. */
static void describe_encoding(const ProtobufCBinaryData *name, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < name->len && used + 8 < size; i++) {
        if (i == ENCODING_SHOWN_MAX) {
            used += (size_t)snprintf(out + used, size - used, "...");
            break;
        }
        unsigned char c = name->data[i];
        if (c >= 0x20 && c <= 0x7E && c != '"' && c != '\\')
            out[used++] = (char)c;
        else
            used += (size_t)snprintf(out + used, size - used, "\\x%02x", c);
        out[used] = '\0';
    }
}

static bool encoding_is(const ProtobufCBinaryData *encoding, const char *name)
{
    size_t n = strlen(name);
    return encoding->len == n && memcmp(encoding->data, name, n) == 0;
}

/* A payload's "encoding" metadata (the last one, as for any protobuf map),
 * or NULL. */
static const ProtobufCBinaryData *payload_encoding(const tlw_payload *payload)
{
    const ProtobufCBinaryData *found = NULL;
    for (size_t i = 0; i < payload->n_metadata; i++) {
        const Temporal__Api__Common__V1__Payload__MetadataEntry *entry = payload->metadata[i];
        if (entry && entry->key && strcmp(entry->key, ENCODING_KEY) == 0)
            found = &entry->value;
    }
    return found;
}

/* One payload -> JSON; `position` (from 1) names it in errors. */
static tlw_status payload_to_json(const tlw_payload *payload, size_t position, json_t **out,
                                  tlw_error *err)
{
    *out = NULL;
    if (!payload)
        return tlw_error_set(err, TLW_ERR_INVALID, "payload %zu: missing (NULL)", position);
    const ProtobufCBinaryData *encoding = payload_encoding(payload);
    if (!encoding)
        return tlw_error_set(err, TLW_ERR_INVALID, "payload %zu: no \"encoding\" metadata; %s",
                             position, ENCODINGS_KNOWN);
    const ProtobufCBinaryData *data = &payload->data;

    if (encoding_is(encoding, ENCODING_NULL)) {
        if (data->len != 0)
            return tlw_error_set(err, TLW_ERR_INVALID,
                                 "payload %zu: binary/null payload carries %zu bytes of data; "
                                 "it must carry none",
                                 position, data->len);
        *out = json_null();
        return TLW_OK;
    }

    if (encoding_is(encoding, ENCODING_JSON)) {
        if (data->len == 0)
            return tlw_error_set(err, TLW_ERR_INVALID,
                                 "payload %zu: json/plain payload has no data; expected JSON text",
                                 position);
        json_error_t jerr;
        *out = json_loadb((const char *)data->data, data->len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                          &jerr);
        if (*out)
            return TLW_OK;
        /* jansson reports a failed allocation as such, except when setting
         * up the parser, where it returns with the error still blank. */
        if (json_error_code(&jerr) == json_error_out_of_memory ||
            (jerr.line < 0 && jerr.text[0] == '\0'))
            return tlw_error_set(err, TLW_ERR_NOMEM,
                                 "payload %zu: out of memory reading %zu bytes of JSON", position,
                                 data->len);
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "payload %zu: invalid JSON at line %d column %d: %s", position,
                             jerr.line, jerr.column, jerr.text);
    }

    if (encoding_is(encoding, ENCODING_BINARY)) {
        size_t text_len = 0;
        char *text = base64_encode(data->data, data->len, &text_len);
        json_t *string = text ? json_stringn_nocheck(text, text_len) : NULL;
        free(text);
        json_t *object = string ? json_object() : NULL;
        if (!object || json_object_set_new_nocheck(object, "binary", string) != 0) {
            if (!object)
                json_decref(string);
            json_decref(object);
            return tlw_error_set(err, TLW_ERR_NOMEM,
                                 "payload %zu: out of memory reading %zu bytes of binary/plain",
                                 position, data->len);
        }
        *out = object;
        return TLW_OK;
    }

    char shown[ENCODING_SHOWN_MAX * 4 + 8];
    describe_encoding(encoding, shown, sizeof shown);
    return tlw_error_set(err, TLW_ERR_INVALID, "payload %zu: unknown encoding \"%s\"; %s",
                         position, shown, ENCODINGS_KNOWN);
}

tlw_status tlw_payload_to_json(const tlw_payload *payload, json_t **out, tlw_error *err)
{
    return payload_to_json(payload, 1, out, err);
}

tlw_status tlw_payloads_to_json(const tlw_payloads *payloads, json_t **out, tlw_error *err)
{
    *out = NULL;
    json_t *array = json_array();
    if (!array)
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory reading payloads");
    size_t count = payloads ? payloads->n_payloads : 0;
    for (size_t i = 0; i < count; i++) {
        json_t *value;
        tlw_status st = payload_to_json(payloads->payloads[i], i + 1, &value, err);
        if (st == TLW_OK && json_array_append_new(array, value) != 0)
            st = tlw_error_set(err, TLW_ERR_NOMEM, "out of memory reading %zu payloads", count);
        if (st != TLW_OK) {
            json_decref(array);
            return st;
        }
    }
    *out = array;
    return TLW_OK;
}

/* ---- failures ---------------------------------------------------------- */

tlw_status tlw_failure_application(const char *message, const char *type, bool non_retryable,
                                   const json_t *details, tlw_failure_pb **out, tlw_error *err)
{
    *out = NULL;
    if (details && !json_is_array(details))
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "failure details must be a JSON array of values (or NULL), not %s",
                             json_type_name(details));

    tlw_failure_pb *failure = malloc(sizeof *failure);
    if (!failure)
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory building a failure");
    tlw_failure_pb failure_init = TEMPORAL__API__FAILURE__V1__FAILURE__INIT;
    *failure = failure_init;

    Temporal__Api__Failure__V1__ApplicationFailureInfo *info = malloc(sizeof *info);
    if (!info)
        goto nomem;
    Temporal__Api__Failure__V1__ApplicationFailureInfo info_init =
        TEMPORAL__API__FAILURE__V1__APPLICATION_FAILURE_INFO__INIT;
    *info = info_init;
    failure->failure_info_case =
        TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_APPLICATION_FAILURE_INFO;
    failure->application_failure_info = info;

    /* Each string replaces the shared empty default only once it exists, so
     * that freeing a half-built failure frees exactly what was allocated. */
    char *copy = strdup(message ? message : "");
    if (!copy)
        goto nomem;
    failure->message = copy;
    if (!(copy = strdup(FAILURE_SOURCE)))
        goto nomem;
    failure->source = copy;
    if (!(copy = strdup(type ? type : "")))
        goto nomem;
    info->type = copy;
    info->non_retryable = non_retryable;

    /* As the other SDKs: no details, no Payloads message. */
    if (details && json_array_size(details) > 0) {
        tlw_status st = tlw_payloads_from_json(details, true, &info->details, err);
        if (st != TLW_OK) {
            protobuf_c_message_free_unpacked(&failure->base, NULL);
            tlw_error_prefix(err, "failure details: ");
            return st;
        }
    }
    *out = failure;
    return TLW_OK;

nomem:
    protobuf_c_message_free_unpacked(&failure->base, NULL);
    return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory building a failure");
}

tlw_status tlw_failure_details_to_json(const tlw_failure_pb *failure, json_t **out, tlw_error *err)
{
    const tlw_payloads *details = NULL;
    if (failure &&
        failure->failure_info_case ==
            TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_APPLICATION_FAILURE_INFO &&
        failure->application_failure_info)
        details = failure->application_failure_info->details;
    tlw_status st = tlw_payloads_to_json(details, out, err);
    if (st != TLW_OK)
        tlw_error_prefix(err, "failure details: ");
    return st;
}
