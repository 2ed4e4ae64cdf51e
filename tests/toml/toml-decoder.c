/*
 * toml-decoder: the decoder interface of toml-lang/toml-test for conf/toml.
 * Reads TOML on stdin and prints it as toml-test's tagged JSON
 * ({"type": "integer", "value": "42"}); on invalid input prints the error on
 * stderr and exits 1. Driven by tests/toml/run-toml-test.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf/toml.h"

static json_t *tagged(const char *type, const char *value, size_t len)
{
    return json_pack("{s:s, s:s%}", "type", type, "value", value, len);
}

/* The four date-time kinds differ only in their text. */
static const char *datetime_kind(const char *text, size_t len)
{
    if (len >= 3 && text[2] == ':')
        return "time-local";
    if (len == 10)
        return "date-local";
    char last = text[len - 1];
    if (last == 'Z' || last == 'z' || (len > 6 && (text[len - 6] == '+' || text[len - 6] == '-')))
        return "datetime";
    return "datetime-local";
}

static json_t *to_json(const tlw_toml_value *v)
{
    char buf[64];
    size_t len;
    const char *text;
    switch (tlw_toml_type_of(v)) {
    case TLW_TOML_TABLE: {
        json_t *object = json_object();
        for (size_t i = 0; i < tlw_toml_table_size(v); i++)
            json_object_set_new(object, tlw_toml_table_key(v, i),
                                to_json(tlw_toml_table_value(v, i)));
        return object;
    }
    case TLW_TOML_ARRAY: {
        json_t *array = json_array();
        for (size_t i = 0; i < tlw_toml_array_size(v); i++)
            json_array_append_new(array, to_json(tlw_toml_array_get(v, i)));
        return array;
    }
    case TLW_TOML_STRING: text = tlw_toml_string(v, &len); return tagged("string", text, len);
    case TLW_TOML_INTEGER:
        snprintf(buf, sizeof buf, "%" PRId64, tlw_toml_integer(v));
        return tagged("integer", buf, strlen(buf));
    case TLW_TOML_FLOAT: {
        double d = tlw_toml_float(v);
        if (isnan(d))
            snprintf(buf, sizeof buf, "nan");
        else if (isinf(d))
            snprintf(buf, sizeof buf, "%sinf", d < 0 ? "-" : "");
        else
            snprintf(buf, sizeof buf, "%.17g", d);
        return tagged("float", buf, strlen(buf));
    }
    case TLW_TOML_BOOL:
        text = tlw_toml_bool(v) ? "true" : "false";
        return tagged("bool", text, strlen(text));
    case TLW_TOML_DATETIME:
        text = tlw_toml_string(v, &len);
        return tagged(datetime_kind(text, len), text, len);
    }
    return json_null();
}

int main(void)
{
    size_t len = 0, capacity = 4096;
    char *text = malloc(capacity);
    size_t n;
    while (text && (n = fread(text + len, 1, capacity - len, stdin)) > 0) {
        len += n;
        if (len == capacity) {
            capacity *= 2;
            char *bigger = realloc(text, capacity);
            if (!bigger)
                free(text);
            text = bigger;
        }
    }
    if (!text || ferror(stdin)) {
        fprintf(stderr, "toml-decoder: cannot read stdin\n");
        return 2;
    }

    tlw_toml_value *root;
    tlw_error err;
    if (tlw_toml_parse(text, len, "<stdin>", &root, &err) != TLW_OK) {
        fprintf(stderr, "%s\n", err.message);
        free(text);
        return 1;
    }
    json_t *json = to_json(root);
    json_dumpf(json, stdout, JSON_INDENT(1) | JSON_SORT_KEYS);
    putchar('\n');
    json_decref(json);
    tlw_toml_free(root);
    free(text);
    return 0;
}
