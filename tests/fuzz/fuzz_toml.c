/*
 * Fuzz target for conf/toml: parses the input and, when it parses, walks the
 * whole tree through every accessor before freeing it. Any input must give
 * either a tree or an error, never a crash, a leak or an out-of-bounds read.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every byte a caller could read, so ASan checks the bounds. */
static size_t touch(const char *s, size_t len)
{
    size_t sum = 0;
    for (size_t i = 0; i <= len; i++) /* including the NUL */
        sum += (unsigned char)s[i];
    return sum;
}

static size_t walk(const tlw_toml_value *v)
{
    size_t sum = (size_t)tlw_toml_line(v) + (size_t)tlw_toml_column(v);
    if (tlw_toml_line(v) < 1 || tlw_toml_column(v) < 1)
        abort();
    sum += strlen(tlw_toml_type_name(tlw_toml_type_of(v)));
    size_t len;
    const char *s;
    switch (tlw_toml_type_of(v)) {
    case TLW_TOML_TABLE:
        for (size_t i = 0; i < tlw_toml_table_size(v); i++) {
            const char *key = tlw_toml_table_key(v, i);
            const tlw_toml_value *value = tlw_toml_table_value(v, i);
            /* A key with \u0000 in it reads short; lookup by the C string may
             * then find another key, but never nothing. */
            if (!key || !value || !tlw_toml_table_get(v, key))
                abort();
            sum += touch(key, strlen(key)) + walk(value);
        }
        if (tlw_toml_table_value(v, tlw_toml_table_size(v)) != NULL)
            abort();
        break;
    case TLW_TOML_ARRAY:
        for (size_t i = 0; i < tlw_toml_array_size(v); i++)
            sum += walk(tlw_toml_array_get(v, i));
        if (tlw_toml_array_get(v, tlw_toml_array_size(v)) != NULL)
            abort();
        break;
    case TLW_TOML_STRING:
    case TLW_TOML_DATETIME:
        s = tlw_toml_string(v, &len);
        if (!s || s[len] != '\0')
            abort();
        sum += touch(s, len);
        break;
    case TLW_TOML_INTEGER: sum += (size_t)tlw_toml_integer(v); break;
    case TLW_TOML_FLOAT: sum += tlw_toml_float(v) > 0; break;
    case TLW_TOML_BOOL: sum += tlw_toml_bool(v); break;
    }
    /* Accessors of the other types answer zero values. */
    sum += tlw_toml_array_size(v) * (tlw_toml_type_of(v) != TLW_TOML_ARRAY);
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly `size` bytes, without a NUL after it: the parser must
     * not read past the end. */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    tlw_toml_value *root = NULL;
    tlw_error err;
    if (tlw_toml_parse(text, size, "fuzz.toml", &root, &err) == TLW_OK) {
        volatile size_t sink = walk(root);
        (void)sink;
        tlw_toml_free(root);
    } else if (root != NULL || err.message[0] == '\0') {
        abort();
    }
    free(text);
    return 0;
}
