#include "config.h"

#include "worker/pbjson.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/utf8.h"

/* How much of a value an error message quotes, and how much of its path it
 * shows (the end of it: the part nearest the error). */
#define VALUE_SHOWN_MAX 40
#define QUOTED_MAX (VALUE_SHOWN_MAX * 4 + 8)
#define PATH_SHOWN_MAX 200

/* google.protobuf.Timestamp's range, 0001-01-01 to 9999-12-31 (UTC), and
 * Duration's, about 10000 years either way. */
#define TIMESTAMP_SECONDS_MIN INT64_C(-62135596800)
#define TIMESTAMP_SECONDS_MAX INT64_C(253402300799)
#define DURATION_SECONDS_MAX INT64_C(315576000000)

#define TIMESTAMP_FORM "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)"

/* ---- where in the JSON: the path an error names ------------------------ */

typedef enum path_kind { PATH_FIELD, PATH_INDEX, PATH_KEY } path_kind;

/* One step from the top-level object, on the stack of the function that
 * takes it; `parent` is NULL for a field of the top-level object. */
typedef struct path_step {
    const struct path_step *parent;
    path_kind kind;
    const char *text; /* PATH_FIELD: the key as the JSON spells it; PATH_KEY: the map key */
    size_t len;
    size_t index; /* PATH_INDEX */
} path_step;

/*
 * `s` (len bytes) for a message, in double quotes: at most VALUE_SHOWN_MAX
 * bytes of it, whole UTF-8 characters as they are, other bytes that are not
 * printable ASCII as \xHH, and "..." after a cut. `out` holds QUOTED_MAX.
 */
static void quote(const char *s, size_t len, char out[QUOTED_MAX])
{
    const unsigned char *p = (const unsigned char *)s;
    size_t used = 0, i = 0;
    out[used++] = '"';
    while (i < len) {
        uint32_t cp;
        size_t n = p[i] >= 0x80 ? tlw_utf8_decode(p + i, len - i, &cp, NULL) : 1;
        size_t take = n ? n : 1;
        if (i + take > VALUE_SHOWN_MAX)
            break;
        if (n > 1) {
            memcpy(out + used, s + i, n);
            used += n;
        } else if (p[i] >= 0x20 && p[i] < 0x7F && p[i] != '"' && p[i] != '\\') {
            out[used++] = s[i];
        } else if (p[i] == '"' || p[i] == '\\') {
            out[used++] = '\\';
            out[used++] = s[i];
        } else {
            used += (size_t)snprintf(out + used, QUOTED_MAX - used, "\\x%02x", p[i]);
        }
        i += take;
    }
    out[used++] = '"';
    if (i < len) {
        memcpy(out + used, "...", 3);
        used += 3;
    }
    out[used] = '\0';
}

static size_t key_length(const char *key)
{
#if JANSSON_VERSION_HEX >= 0x020e00
    return json_object_iter_key_len(json_object_key_to_iter(key));
#else
    return strlen(key);
#endif
}

/* A JSON value as an error message shows it: a string quoted (cut), a
 * number or literal as is, a container by its kind. */
static void describe(const json_t *value, char out[QUOTED_MAX])
{
    switch (json_typeof(value)) {
    case JSON_STRING: quote(json_string_value(value), json_string_length(value), out); return;
    case JSON_INTEGER:
        snprintf(out, QUOTED_MAX, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        return;
    case JSON_REAL: {
        /* The fewest digits that read back, as protojson would write it. */
        double v = json_real_value(value);
        for (int precision = 1; precision <= 17; precision++) {
            snprintf(out, QUOTED_MAX, "%.*g", precision, v);
            if (strtod(out, NULL) == v)
                break;
        }
        return;
    }
    case JSON_OBJECT: snprintf(out, QUOTED_MAX, "an object"); return;
    case JSON_ARRAY: snprintf(out, QUOTED_MAX, "an array"); return;
    case JSON_TRUE: snprintf(out, QUOTED_MAX, "true"); return;
    case JSON_FALSE: snprintf(out, QUOTED_MAX, "false"); return;
    case JSON_NULL: snprintf(out, QUOTED_MAX, "null"); return;
    }
    snprintf(out, QUOTED_MAX, "an unknown JSON value");
}

/*
 * The path as JavaScript would spell it, e.g. events[3].eventTime or
 * metadata["encoding"]. Built from the leaf up, so that a path too long to
 * show keeps its end (the part nearest the error) behind "...".
 */
static void render_path(const path_step *leaf, char out[PATH_SHOWN_MAX + 1])
{
    char text[PATH_SHOWN_MAX + 1];
    size_t start = PATH_SHOWN_MAX;
    text[PATH_SHOWN_MAX] = '\0';
    for (const path_step *step = leaf; step; step = step->parent) {
        char piece[QUOTED_MAX + 64];
        switch (step->kind) {
        case PATH_FIELD:
            snprintf(piece, sizeof piece, "%s%.*s", step->parent ? "." : "",
                     (int)(step->len < 64 ? step->len : 64), step->text);
            break;
        case PATH_INDEX: snprintf(piece, sizeof piece, "[%zu]", step->index); break;
        case PATH_KEY: {
            char key[QUOTED_MAX];
            quote(step->text, step->len, key);
            snprintf(piece, sizeof piece, "[%s]", key);
            break;
        }
        }
        size_t n = strlen(piece);
        if (n + 3 > start) {
            start -= 3;
            memcpy(text + start, "...", 3);
            break;
        }
        start -= n;
        memcpy(text + start, piece, n);
    }
    memcpy(out, text + start, PATH_SHOWN_MAX + 1 - start);
}

/* Sets `err` to "PATH: message" (just the message at the top level) and
 * returns `status`. */
static tlw_status error_at(tlw_error *err, const path_step *path, tlw_status status,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static tlw_status error_at(tlw_error *err, const path_step *path, tlw_status status,
                           const char *fmt, ...)
{
    char message[TLW_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (!path)
        return tlw_error_set(err, status, "%s", message);
    char where[PATH_SHOWN_MAX + 1];
    render_path(path, where);
    return tlw_error_set(err, status, "%s: %s", where, message);
}

static tlw_status no_memory(tlw_error *err, const path_step *path)
{
    return error_at(err, path, TLW_ERR_NOMEM, "out of memory decoding JSON into protobuf");
}

/* "expected WHAT, got VALUE" */
static tlw_status wrong_type(tlw_error *err, const path_step *path, const char *expected,
                             const json_t *value)
{
    char got[QUOTED_MAX];
    describe(value, got);
    return error_at(err, path, TLW_ERR_INVALID, "expected %s, got %s", expected, got);
}

/* ---- descriptors ------------------------------------------------------- */

static const char *type_name(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32: return "int32";
    case PROTOBUF_C_TYPE_SINT32: return "sint32";
    case PROTOBUF_C_TYPE_SFIXED32: return "sfixed32";
    case PROTOBUF_C_TYPE_INT64: return "int64";
    case PROTOBUF_C_TYPE_SINT64: return "sint64";
    case PROTOBUF_C_TYPE_SFIXED64: return "sfixed64";
    case PROTOBUF_C_TYPE_UINT32: return "uint32";
    case PROTOBUF_C_TYPE_FIXED32: return "fixed32";
    case PROTOBUF_C_TYPE_UINT64: return "uint64";
    case PROTOBUF_C_TYPE_FIXED64: return "fixed64";
    case PROTOBUF_C_TYPE_FLOAT: return "float";
    case PROTOBUF_C_TYPE_DOUBLE: return "double";
    case PROTOBUF_C_TYPE_BOOL: return "bool";
    case PROTOBUF_C_TYPE_ENUM: return "enum";
    case PROTOBUF_C_TYPE_STRING: return "string";
    case PROTOBUF_C_TYPE_BYTES: return "bytes";
    case PROTOBUF_C_TYPE_MESSAGE: return "message";
    }
    return "unknown type";
}

/* "a" or "an", as a type's name is read aloud: an int32, an sfixed32, a
 * uint64. */
static const char *article(ProtobufCType type)
{
    const char *name = type_name(type);
    return name[0] == 'i' || name[0] == 's' || name[0] == 'e' ? "an" : "a";
}

/* The bytes one value of `type` takes in a message or a repeated array, as
 * protobuf-c lays them out. */
static size_t value_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return sizeof(int32_t);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return sizeof(uint32_t);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: return sizeof(int64_t);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return sizeof(uint64_t);
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM: return sizeof(uint32_t); /* protobuf-c's enums are int-sized */
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static void *member(ProtobufCMessage *message, unsigned offset)
{
    return (char *)message + offset;
}

/*
 * Records that `field` was set, where protobuf-c looks for it: a oneof's
 * case, or an optional scalar's has_ flag. Proto3 scalars (LABEL_NONE),
 * strings and messages have no flag: being set is their value.
 */
static void mark_present(ProtobufCMessage *message, const ProtobufCFieldDescriptor *field)
{
    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *(uint32_t *)member(message, field->quantifier_offset) = field->id;
    else if (field->label == PROTOBUF_C_LABEL_OPTIONAL && field->quantifier_offset != 0 &&
             field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)member(message, field->quantifier_offset) = 1;
}

/* Whether `key` is `proto_name` in lowerCamelCase, as protoc derives a
 * field's json_name: each '_' dropped and the letter after it upper-cased. */
static bool is_camel_case_of(const char *proto_name, const char *key, size_t len)
{
    size_t k = 0;
    bool upper_next = false;
    for (const char *p = proto_name; *p; p++) {
        if (*p == '_') {
            upper_next = true;
            continue;
        }
        char c = *p;
        if (upper_next && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        upper_next = false;
        if (k == len || key[k] != c)
            return false;
        k++;
    }
    return k == len;
}

/* The field a JSON key names, by its proto name or its lowerCamelCase
 * name; NULL for a key the descriptor does not know. */
static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *desc,
                                                  const char *key, size_t len)
{
    if (strlen(key) != len)
        return NULL; /* a NUL in the key: no field has one */
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name(desc, key);
    if (field)
        return field;
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (is_camel_case_of(desc->fields[i].name, key, len))
            return &desc->fields[i];
    return NULL;
}

/*
 * Whether `field` is a map: protobuf-c sees map<K, V> name = N as
 * `repeated NameEntry name = N` with a nested message of two fields, key = 1
 * and value = 2, named as protoc names it (MapEntryName: the field's name in
 * UpperCamelCase + "Entry").
 */
static bool is_map_field(const ProtobufCMessageDescriptor *parent,
                         const ProtobufCFieldDescriptor *field)
{
    if (field->label != PROTOBUF_C_LABEL_REPEATED || field->type != PROTOBUF_C_TYPE_MESSAGE)
        return false;
    const ProtobufCMessageDescriptor *entry = field->descriptor;
    if (entry->n_fields != 2)
        return false;
    const ProtobufCFieldDescriptor *key = protobuf_c_message_descriptor_get_field(entry, 1);
    const ProtobufCFieldDescriptor *value = protobuf_c_message_descriptor_get_field(entry, 2);
    if (!key || !value || strcmp(key->name, "key") != 0 || strcmp(value->name, "value") != 0 ||
        key->label == PROTOBUF_C_LABEL_REPEATED || value->label == PROTOBUF_C_LABEL_REPEATED)
        return false;

    size_t parent_len = strlen(parent->name);
    if (strncmp(entry->name, parent->name, parent_len) != 0 || entry->name[parent_len] != '.' ||
        strcmp(entry->name + parent_len + 1, entry->short_name) != 0)
        return false;
    const char *s = entry->short_name;
    bool upper_next = true;
    for (const char *p = field->name; *p; p++) {
        if (*p == '_') {
            upper_next = true;
            continue;
        }
        char c = *p;
        if (upper_next && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        upper_next = false;
        if (*s++ != c)
            return false;
    }
    return strcmp(s, "Entry") == 0;
}

/* The well-known types whose JSON is not an object of their fields. */
typedef enum well_known {
    WKT_NONE,
    WKT_TIMESTAMP,
    WKT_DURATION,
    WKT_FIELD_MASK,
    WKT_WRAPPER,
    WKT_UNSUPPORTED,
} well_known;

static well_known well_known_type(const ProtobufCMessageDescriptor *desc)
{
    static const char *const wrappers[] = {
        "DoubleValue", "FloatValue", "Int64Value",  "UInt64Value", "Int32Value",
        "UInt32Value", "BoolValue",  "StringValue", "BytesValue",
    };
    static const char *const unsupported[] = {"Any", "Struct", "Value", "ListValue"};
    if (!desc->package_name || strcmp(desc->package_name, "google.protobuf") != 0)
        return WKT_NONE;
    const char *name = desc->short_name;
    if (strcmp(name, "Timestamp") == 0)
        return WKT_TIMESTAMP;
    if (strcmp(name, "Duration") == 0)
        return WKT_DURATION;
    if (strcmp(name, "FieldMask") == 0)
        return WKT_FIELD_MASK;
    for (size_t i = 0; i < sizeof wrappers / sizeof *wrappers; i++)
        if (strcmp(name, wrappers[i]) == 0)
            return WKT_WRAPPER;
    for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
        if (strcmp(name, unsupported[i]) == 0)
            return WKT_UNSUPPORTED;
    return WKT_NONE;
}

/* A field of a well-known type by name, checked against the type the code
 * that writes it assumes. */
static const ProtobufCFieldDescriptor *wkt_field(const ProtobufCMessageDescriptor *desc,
                                                 const char *name, ProtobufCType type)
{
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name(desc, name);
    return field && field->type == type ? field : NULL;
}

/* ---- numbers ------------------------------------------------------------ */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Whether s[0..len) is one JSON number (RFC 8259); *plain is true when it
 * has neither a fraction nor an exponent. */
static bool is_json_number(const char *s, size_t len, bool *plain)
{
    size_t i = 0;
    if (i < len && s[i] == '-')
        i++;
    if (i == len)
        return false;
    if (s[i] == '0')
        i++;
    else if (s[i] >= '1' && s[i] <= '9')
        while (i < len && is_digit(s[i]))
            i++;
    else
        return false;
    *plain = true;
    if (i < len && s[i] == '.') {
        size_t first = ++i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == first)
            return false;
        *plain = false;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t first = i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == first)
            return false;
        *plain = false;
    }
    return i == len;
}

typedef enum number_result { NUMBER_OK, NUMBER_RANGE, NUMBER_NOMEM } number_result;

/* The double a JSON number's text (checked by is_json_number) reads as,
 * whatever the C locale's decimal point. NUMBER_RANGE past DBL_MAX;
 * values too small to represent read as 0 or the nearest subnormal. */
static number_result text_to_double(const char *s, size_t len, double *out)
{
    char local[64];
    char *copy = len < sizeof local ? local : malloc(len + 1);
    if (!copy)
        return NUMBER_NOMEM;
    memcpy(copy, s, len);
    copy[len] = '\0';
    const char *point = localeconv()->decimal_point;
    if (point[0] != '.' && point[0] != '\0')
        for (char *c = copy; *c; c++)
            if (*c == '.')
                *c = point[0];
    double value = strtod(copy, NULL);
    if (copy != local)
        free(copy);
    *out = value;
    return isinf(value) ? NUMBER_RANGE : NUMBER_OK;
}

/* The sign and magnitude of a plain JSON integer's text; false when the
 * magnitude passes UINT64_MAX. */
static bool text_to_magnitude(const char *s, size_t len, bool *negative, uint64_t *magnitude)
{
    size_t i = 0;
    *negative = len > 0 && s[0] == '-';
    if (*negative)
        i++;
    uint64_t m = 0;
    for (; i < len; i++) {
        unsigned digit = (unsigned)(s[i] - '0');
        if (m > (UINT64_MAX - digit) / 10)
            return false;
        m = m * 10 + digit;
    }
    *magnitude = m;
    return true;
}

/* An integral double's sign and magnitude; false when it is not integral
 * or its magnitude does not fit in 64 bits. */
static bool double_to_magnitude(double value, bool *negative, uint64_t *magnitude)
{
    if (isnan(value))
        return false;
    double m = fabs(value);
    if (m >= 18446744073709551616.0) /* 2^64 */
        return false;
    *negative = value < 0;
    *magnitude = (uint64_t)m;
    return (double)*magnitude == m;
}

static bool is_signed_type(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_ENUM: return true;
    default: return false;
    }
}

static bool is_64_bit_type(ProtobufCType type)
{
    return value_size(type) == 8;
}

/*
 * Stores the integer `negative` `magnitude` in `slot` as an integer `type`
 * (an enum as int32); false, storing nothing, when it is out of range.
 */
static bool store_integer(ProtobufCType type, bool negative, uint64_t magnitude, void *slot)
{
    if (negative && magnitude == 0)
        negative = false; /* -0 */
    if (is_signed_type(type)) {
        uint64_t max = is_64_bit_type(type) ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX;
        if (magnitude > max + (negative ? 1 : 0))
            return false;
        /* -(max + 1) is the type's minimum; go through int64's minimum so
         * that no step overflows. */
        int64_t value = !negative                              ? (int64_t)magnitude
                        : magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN
                                                               : -(int64_t)magnitude;
        if (is_64_bit_type(type))
            *(int64_t *)slot = value;
        else
            *(int32_t *)slot = (int32_t)value;
        return true;
    }
    if (negative)
        return false;
    if (is_64_bit_type(type)) {
        *(uint64_t *)slot = magnitude;
    } else {
        if (magnitude > UINT32_MAX)
            return false;
        *(uint32_t *)slot = (uint32_t)magnitude;
    }
    return true;
}

/* An integer field's value from its JSON text (a string's contents or a map
 * key): a JSON number, integral and in range. */
static tlw_status integer_from_text(ProtobufCType type, const char *s, size_t len, void *slot,
                                    const path_step *path, tlw_error *err)
{
    char shown[QUOTED_MAX];
    bool plain, negative = false;
    uint64_t magnitude = 0;
    if (!is_json_number(s, len, &plain)) {
        quote(s, len, shown);
        return error_at(err, path, TLW_ERR_INVALID, "not %s %s: %s", article(type), type_name(type),
                        shown);
    }
    bool fits;
    if (plain) {
        fits = text_to_magnitude(s, len, &negative, &magnitude);
    } else {
        double value;
        number_result r = text_to_double(s, len, &value);
        if (r == NUMBER_NOMEM)
            return no_memory(err, path);
        fits = r == NUMBER_OK && fabs(value) < 18446744073709551616.0; /* 2^64 */
        if (fits && !double_to_magnitude(value, &negative, &magnitude)) {
            quote(s, len, shown);
            return error_at(err, path, TLW_ERR_INVALID, "not an integer: %s", shown);
        }
    }
    if (!fits || !store_integer(type, negative, magnitude, slot)) {
        quote(s, len, shown);
        return error_at(err, path, TLW_ERR_INVALID, "out of range for %s: %s", type_name(type),
                        shown);
    }
    return TLW_OK;
}

/* An integer field's value from JSON: a number, or a string holding one. */
static tlw_status integer_from_json(ProtobufCType type, const json_t *value, void *slot,
                                    const path_step *path, tlw_error *err)
{
    char expected[64];
    snprintf(expected, sizeof expected, "%s %s (a number or a numeric string)", article(type),
             type_name(type));
    bool negative;
    uint64_t magnitude;
    char shown[QUOTED_MAX];
    switch (json_typeof(value)) {
    case JSON_INTEGER: {
        json_int_t v = json_integer_value(value);
        negative = v < 0;
        magnitude = negative ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        break;
    }
    case JSON_REAL: {
        double v = json_real_value(value);
        if (!double_to_magnitude(v, &negative, &magnitude)) {
            describe(value, shown);
            if (fabs(v) >= 18446744073709551616.0)
                return error_at(err, path, TLW_ERR_INVALID, "out of range for %s: %s",
                                type_name(type), shown);
            return error_at(err, path, TLW_ERR_INVALID, "not an integer: %s", shown);
        }
        break;
    }
    case JSON_STRING:
        return integer_from_text(type, json_string_value(value), json_string_length(value), slot,
                                 path, err);
    default: return wrong_type(err, path, expected, value);
    }
    if (!store_integer(type, negative, magnitude, slot)) {
        describe(value, shown);
        return error_at(err, path, TLW_ERR_INVALID, "out of range for %s: %s", type_name(type),
                        shown);
    }
    return TLW_OK;
}

/* A float or double field's value: a number, a numeric string, "NaN",
 * "Infinity" or "-Infinity". */
static tlw_status real_from_json(ProtobufCType type, const json_t *value, void *slot,
                                 const path_step *path, tlw_error *err)
{
    char shown[QUOTED_MAX];
    double v;
    switch (json_typeof(value)) {
    case JSON_INTEGER: v = (double)json_integer_value(value); break;
    case JSON_REAL: v = json_real_value(value); break;
    case JSON_STRING: {
        const char *s = json_string_value(value);
        size_t len = json_string_length(value);
        bool plain;
        if (strcmp(s, "NaN") == 0 && len == 3) {
            v = NAN;
        } else if (strcmp(s, "Infinity") == 0 && len == 8) {
            v = INFINITY;
        } else if (strcmp(s, "-Infinity") == 0 && len == 9) {
            v = -INFINITY;
        } else if (is_json_number(s, len, &plain)) {
            number_result r = text_to_double(s, len, &v);
            if (r == NUMBER_NOMEM)
                return no_memory(err, path);
            if (r == NUMBER_RANGE) {
                quote(s, len, shown);
                return error_at(err, path, TLW_ERR_INVALID, "out of range for %s: %s",
                                type_name(type), shown);
            }
        } else {
            quote(s, len, shown);
            return error_at(err, path, TLW_ERR_INVALID,
                            "not a %s (a number, \"NaN\", \"Infinity\" or \"-Infinity\"): %s",
                            type_name(type), shown);
        }
        break;
    }
    default:
        return wrong_type(err, path,
                          type == PROTOBUF_C_TYPE_FLOAT ? "a float (a number or a string)"
                                                        : "a double (a number or a string)",
                          value);
    }
    if (type == PROTOBUF_C_TYPE_FLOAT) {
        if (isfinite(v) && fabs(v) > FLT_MAX) {
            describe(value, shown);
            return error_at(err, path, TLW_ERR_INVALID, "out of range for float: %s", shown);
        }
        *(float *)slot = (float)v;
    } else {
        *(double *)slot = v;
    }
    return TLW_OK;
}

/* ---- strings, bytes, enums --------------------------------------------- */

/* A copy of s[0..len) with a NUL after it; NULL when out of memory. */
static char *copy_text(const char *s, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    return copy;
}

static tlw_status string_from_text(const char *s, size_t len, char **slot, const path_step *path,
                                   tlw_error *err)
{
    if (memchr(s, '\0', len))
        return error_at(err, path, TLW_ERR_INVALID,
                        "the string contains a NUL character (\\u0000), which a protobuf-c "
                        "string cannot hold");
    char *copy = copy_text(s, len);
    if (!copy)
        return no_memory(err, path);
    *slot = copy;
    return TLW_OK;
}

/* A base64 digit's value in either alphabet, standard (+/) or URL-safe
 * (-_); -1 for any other byte. */
static int base64_digit(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/*
 * Standard or URL-safe base64, with its padding or without (protojson
 * writes the first, other encoders the others). Padding, when there is
 * some, must complete the last group of four.
 */
static tlw_status bytes_from_json(const json_t *value, ProtobufCBinaryData *slot,
                                  const path_step *path, tlw_error *err)
{
    if (!json_is_string(value))
        return wrong_type(err, path, "base64 bytes (a string)", value);
    const char *s = json_string_value(value);
    size_t len = json_string_length(value);
    char shown[QUOTED_MAX];

    size_t digits = len;
    while (digits > 0 && len - digits < 2 && s[digits - 1] == '=')
        digits--;
    bool padded = digits < len;
    if ((padded && len % 4 != 0) || digits % 4 == 1) {
        quote(s, len, shown);
        return error_at(err, path, TLW_ERR_INVALID,
                        "not base64: %zu characters cannot be a whole number of bytes%s: %s", len,
                        padded ? " with that padding" : "", shown);
    }
    for (size_t i = 0; i < digits; i++) {
        if (base64_digit((unsigned char)s[i]) < 0) {
            quote(s, len, shown);
            return error_at(err, path, TLW_ERR_INVALID,
                            "not base64 (standard or URL-safe): character %zu is not a base64 "
                            "digit: %s",
                            i + 1, shown);
        }
    }

    size_t size = digits / 4 * 3 + (digits % 4 == 0 ? 0 : digits % 4 - 1);
    uint8_t *data = NULL;
    if (size > 0 && !(data = malloc(size)))
        return no_memory(err, path);
    size_t o = 0;
    uint32_t bits = 0;
    int nbits = 0;
    for (size_t i = 0; i < digits; i++) {
        bits = bits << 6 | (uint32_t)base64_digit((unsigned char)s[i]);
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            data[o++] = (uint8_t)(bits >> nbits);
            bits &= (1u << nbits) - 1;
        }
    }
    slot->data = data;
    slot->len = size;
    return TLW_OK;
}

/* Whether `a` and s[0..len) are equal ignoring ASCII case and every '_'. */
static bool same_loosely(const char *a, const char *s, size_t len)
{
    size_t k = 0;
    for (;; a++) {
        while (*a == '_')
            a++;
        while (k < len && s[k] == '_')
            k++;
        if (!*a || k == len)
            return !*a && k == len;
        char x = *a, y = s[k++];
        if (x >= 'a' && x <= 'z')
            x = (char)(x - 'a' + 'A');
        if (y >= 'a' && y <= 'z')
            y = (char)(y - 'a' + 'A');
        if (x != y)
            return false;
    }
}

/* The length of the prefix every value name of `desc` shares, cut back to
 * its last '_': "EVENT_TYPE_" for temporal.api.enums.v1.EventType. */
static size_t enum_prefix_length(const ProtobufCEnumDescriptor *desc)
{
    if (desc->n_values == 0)
        return 0;
    const char *first = desc->values[0].name;
    size_t len = strlen(first);
    for (unsigned i = 1; i < desc->n_values; i++) {
        size_t k = 0;
        while (k < len && desc->values[i].name[k] == first[k])
            k++;
        len = k;
    }
    while (len > 0 && first[len - 1] != '_')
        len--;
    return len;
}

/*
 * An enum's value: its name, its number (any int32: proto3 enums are open),
 * or the short form Temporal's older CLI (tctl) wrote, which
 * WorkflowHistory.from_json in the Python SDK still reads: the name without
 * the shared prefix, in PascalCase ("WorkflowExecutionStarted").
 */
static tlw_status enum_from_json(const ProtobufCEnumDescriptor *desc, const json_t *value,
                                 void *slot, const path_step *path, tlw_error *err)
{
    if (json_is_number(value))
        return integer_from_json(PROTOBUF_C_TYPE_ENUM, value, slot, path, err);
    if (!json_is_string(value)) {
        char expected[256];
        snprintf(expected, sizeof expected, "a %s value (its name or number)", desc->name);
        return wrong_type(err, path, expected, value);
    }
    const char *s = json_string_value(value);
    size_t len = json_string_length(value);
    const ProtobufCEnumValue *found = NULL;
    if (strlen(s) == len)
        found = protobuf_c_enum_descriptor_get_value_by_name(desc, s);
    if (!found) {
        size_t prefix = enum_prefix_length(desc);
        for (unsigned i = 0; i < desc->n_values; i++) {
            const ProtobufCEnumValue *candidate = &desc->values[i];
            if (!same_loosely(candidate->name + prefix, s, len))
                continue;
            if (found && found->value != candidate->value) {
                char shown[QUOTED_MAX];
                quote(s, len, shown);
                return error_at(err, path, TLW_ERR_INVALID,
                                "%s is ambiguous in %s: it could be %s or %s; use the full name",
                                shown, desc->name, found->name, candidate->name);
            }
            found = candidate;
        }
    }
    if (!found) {
        char shown[QUOTED_MAX];
        quote(s, len, shown);
        return error_at(err, path, TLW_ERR_INVALID, "%s is not a value of %s", shown, desc->name);
    }
    *(int32_t *)slot = (int32_t)found->value;
    return TLW_OK;
}

/* ---- messages ------------------------------------------------------------ */

static tlw_status decode_message(const ProtobufCMessageDescriptor *desc, const json_t *json,
                                 const path_step *path, int depth, ProtobufCMessage **out,
                                 tlw_error *err);

/* A new message of type `desc`, every field at its default; NULL when out
 * of memory. */
static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *message = malloc(desc->sizeof_message);
    if (message)
        protobuf_c_message_init(desc, message);
    return message;
}

/*
 * One value of `field` (a singular field's, a repeated field's element or a
 * map entry's value) into `slot`. Writes `slot` only on success, so that on
 * failure it holds what it held and nothing new is allocated. `depth` is
 * that of the message holding the field.
 */
static tlw_status decode_value(const ProtobufCFieldDescriptor *field, const json_t *value,
                               void *slot, const path_step *path, int depth, tlw_error *err)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return integer_from_json(field->type, value, slot, path, err);
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: return real_from_json(field->type, value, slot, path, err);
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(value))
            return wrong_type(err, path, "a bool (true or false)", value);
        *(protobuf_c_boolean *)slot = json_is_true(value);
        return TLW_OK;
    case PROTOBUF_C_TYPE_ENUM: return enum_from_json(field->descriptor, value, slot, path, err);
    case PROTOBUF_C_TYPE_STRING:
        if (!json_is_string(value))
            return wrong_type(err, path, "a string", value);
        return string_from_text(json_string_value(value), json_string_length(value), slot, path,
                                err);
    case PROTOBUF_C_TYPE_BYTES: return bytes_from_json(value, slot, path, err);
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *message;
        tlw_status st = decode_message(field->descriptor, value, path, depth + 1, &message, err);
        if (st == TLW_OK)
            *(ProtobufCMessage **)slot = message;
        return st;
    }
    }
    return error_at(err, path, TLW_ERR_INTERNAL,
                    "field %s has protobuf-c type %d, which tlw "
                    "does not know",
                    field->name, (int)field->type);
}

/* A map key, which JSON always writes as a string, into an entry's key
 * field (a string, an integer or a bool). */
static tlw_status decode_map_key(ProtobufCMessage *entry, const ProtobufCFieldDescriptor *field,
                                 const char *key, size_t len, const path_step *path, tlw_error *err)
{
    void *slot = member(entry, field->offset);
    tlw_status st;
    char shown[QUOTED_MAX];
    switch (field->type) {
    case PROTOBUF_C_TYPE_STRING: st = string_from_text(key, len, slot, path, err); break;
    case PROTOBUF_C_TYPE_BOOL:
        if (len == 4 && memcmp(key, "true", 4) == 0) {
            *(protobuf_c_boolean *)slot = 1;
        } else if (len == 5 && memcmp(key, "false", 5) == 0) {
            *(protobuf_c_boolean *)slot = 0;
        } else {
            quote(key, len, shown);
            return error_at(err, path, TLW_ERR_INVALID,
                            "a bool map key must be \"true\" or "
                            "\"false\", not %s",
                            shown);
        }
        st = TLW_OK;
        break;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        st = integer_from_text(field->type, key, len, slot, path, err);
        break;
    default:
        return error_at(err, path, TLW_ERR_INTERNAL, "map key of protobuf-c type %s",
                        type_name(field->type));
    }
    if (st == TLW_OK)
        mark_present(entry, field);
    return st;
}

/*
 * A map field: a JSON object, one entry message per member. Each entry is
 * counted in the message as soon as it exists, so that freeing the message
 * on a later failure frees it too.
 */
static tlw_status decode_map(ProtobufCMessage *message, const ProtobufCFieldDescriptor *field,
                             const json_t *object, const path_step *path, int depth, tlw_error *err)
{
    const ProtobufCMessageDescriptor *entry_desc = field->descriptor;
    const ProtobufCFieldDescriptor *key_field =
        protobuf_c_message_descriptor_get_field(entry_desc, 1);
    const ProtobufCFieldDescriptor *value_field =
        protobuf_c_message_descriptor_get_field(entry_desc, 2);
    size_t n = json_object_size(object);
    if (n == 0)
        return TLW_OK;
    ProtobufCMessage **entries = calloc(n, sizeof *entries);
    if (!entries)
        return no_memory(err, path);
    size_t *count = member(message, field->quantifier_offset);
    *(ProtobufCMessage ***)member(message, field->offset) = entries;
    *count = 0;

    const char *key;
    json_t *value;
    json_object_foreach((json_t *)object, key, value)
    {
        path_step step = {path, PATH_KEY, key, key_length(key), 0};
        if (json_is_null(value))
            return error_at(err, &step, TLW_ERR_INVALID, "a map value cannot be null");
        ProtobufCMessage *entry = new_message(entry_desc);
        if (!entry)
            return no_memory(err, &step);
        entries[(*count)++] = entry;
        tlw_status st = decode_map_key(entry, key_field, step.text, step.len, &step, err);
        if (st != TLW_OK)
            return st;
        st =
            decode_value(value_field, value, member(entry, value_field->offset), &step, depth, err);
        if (st != TLW_OK)
            return st;
        mark_present(entry, value_field);
    }
    return TLW_OK;
}

/* A repeated field: a JSON array (a map: an object). Elements are counted as
 * they are decoded, as map entries are. */
static tlw_status decode_repeated(ProtobufCMessage *message, const ProtobufCFieldDescriptor *field,
                                  const json_t *value, const path_step *path, int depth,
                                  tlw_error *err)
{
    if (is_map_field(message->descriptor, field)) {
        if (!json_is_object(value))
            return wrong_type(err, path, "an object (a map)", value);
        return decode_map(message, field, value, path, depth, err);
    }
    if (!json_is_array(value))
        return wrong_type(err, path, "an array", value);
    size_t n = json_array_size(value);
    if (n == 0)
        return TLW_OK;
    size_t size = value_size(field->type);
    char *items = calloc(n, size);
    if (!items)
        return no_memory(err, path);
    size_t *count = member(message, field->quantifier_offset);
    *(void **)member(message, field->offset) = items;
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        path_step step = {path, PATH_INDEX, NULL, 0, i};
        const json_t *item = json_array_get(value, i);
        if (json_is_null(item))
            return error_at(err, &step, TLW_ERR_INVALID,
                            "null cannot be an element of a repeated field");
        tlw_status st = decode_value(field, item, items + i * size, &step, depth, err);
        if (st != TLW_OK)
            return st;
        (*count)++;
    }
    return TLW_OK;
}

/* The members of a JSON object into the fields of `message`. */
static tlw_status decode_fields(ProtobufCMessage *message, const json_t *object,
                                const path_step *path, int depth, tlw_error *err)
{
    const ProtobufCMessageDescriptor *desc = message->descriptor;
    /* Which fields are set: a field given under both its names, or two
     * members of one oneof, would overwrite (and leak) the first value. */
    unsigned char *seen = NULL;
    if (desc->n_fields > 0 && !(seen = calloc(desc->n_fields, 1)))
        return no_memory(err, path);

    tlw_status st = TLW_OK;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)object, key, value)
    {
        size_t len = key_length(key);
        const ProtobufCFieldDescriptor *field = find_field(desc, key, len);
        /* Unknown keys are a newer server's fields: skipped, as the
         * Temporal SDKs skip them. */
        if (!field || json_is_null(value))
            continue;
        path_step step = {path, PATH_FIELD, key, len, 0};
        size_t index = (size_t)(field - desc->fields);
        if (seen[index]) {
            st = error_at(err, &step, TLW_ERR_INVALID,
                          "field %s is given twice (by its proto name and its JSON name)",
                          field->name);
            break;
        }
        seen[index] = 1;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            st = decode_repeated(message, field, value, &step, depth, err);
        } else {
            if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
                uint32_t set = *(uint32_t *)member(message, field->quantifier_offset);
                if (set != 0) {
                    const ProtobufCFieldDescriptor *other =
                        protobuf_c_message_descriptor_get_field(desc, set);
                    st = error_at(err, &step, TLW_ERR_INVALID,
                                  "%s and %s are members of one oneof: set one of them",
                                  other ? other->name : "another field", field->name);
                    break;
                }
            }
            st = decode_value(field, value, member(message, field->offset), &step, depth, err);
            if (st == TLW_OK)
                mark_present(message, field);
        }
        if (st != TLW_OK)
            break;
    }
    free(seen);
    return st;
}

/* ---- well-known types ---------------------------------------------------- */

/* `count` digits at s[*at], as a number; false when they are not there. */
static bool read_digits(const char *s, size_t len, size_t *at, int count, int *out)
{
    int value = 0;
    for (int i = 0; i < count; i++, (*at)++) {
        if (*at >= len || !is_digit(s[*at]))
            return false;
        value = value * 10 + (s[*at] - '0');
    }
    *out = value;
    return true;
}

static bool accept_char(const char *s, size_t len, size_t *at, char c1, char c2)
{
    if (*at >= len || (s[*at] != c1 && s[*at] != c2))
        return false;
    (*at)++;
    return true;
}

/* Up to 9 fractional digits after a '.' at s[*at], as nanoseconds; none
 * (no '.') is 0. NULL, or what is wrong. */
static const char *read_nanos(const char *s, size_t len, size_t *at, int32_t *nanos)
{
    *nanos = 0;
    if (*at >= len || s[*at] != '.')
        return NULL;
    size_t first = ++(*at);
    int32_t value = 0;
    while (*at < len && is_digit(s[*at])) {
        if (*at - first == 9)
            return "more than 9 fractional digits";
        value = value * 10 + (s[*at] - '0');
        (*at)++;
    }
    if (*at == first)
        return "no digit after the '.'";
    for (size_t n = *at - first; n < 9; n++)
        value *= 10;
    *nanos = value;
    return NULL;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard
 * Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t year_of_era = y - era * 400;
    int64_t day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/*
 * RFC 3339 (section 5.6) as protojson reads it: a 'T' between date and time,
 * 0 to 9 fractional digits, 'Z' or a numeric offset; no leap second. NULL,
 * with the time since the epoch set, or what is wrong.
 */
static const char *parse_timestamp(const char *s, size_t len, int64_t *seconds, int32_t *nanos)
{
    size_t at = 0;
    int year, month, day, hour, minute, second;
    if (!read_digits(s, len, &at, 4, &year) || !accept_char(s, len, &at, '-', '-') ||
        !read_digits(s, len, &at, 2, &month) || !accept_char(s, len, &at, '-', '-') ||
        !read_digits(s, len, &at, 2, &day) || !accept_char(s, len, &at, 'T', 't') ||
        !read_digits(s, len, &at, 2, &hour) || !accept_char(s, len, &at, ':', ':') ||
        !read_digits(s, len, &at, 2, &minute) || !accept_char(s, len, &at, ':', ':') ||
        !read_digits(s, len, &at, 2, &second))
        return "expected " TIMESTAMP_FORM;
    const char *problem = read_nanos(s, len, &at, nanos);
    if (problem)
        return problem;
    int offset = 0;
    if (accept_char(s, len, &at, 'Z', 'z')) {
        offset = 0;
    } else if (at < len && (s[at] == '+' || s[at] == '-')) {
        int sign = s[at++] == '-' ? -1 : 1, offset_hours, offset_minutes;
        if (!read_digits(s, len, &at, 2, &offset_hours) || !accept_char(s, len, &at, ':', ':') ||
            !read_digits(s, len, &at, 2, &offset_minutes))
            return "expected an offset +HH:MM or -HH:MM";
        if (offset_hours > 23 || offset_minutes > 59)
            return "the offset is out of range";
        offset = sign * (offset_hours * 3600 + offset_minutes * 60);
    } else {
        return "expected 'Z' or an offset (+HH:MM) after the time";
    }
    if (at != len)
        return "unexpected text after the offset";
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return "no such date";
    if (hour > 23 || minute > 59 || second > 59)
        return "no such time of day";
    int64_t t =
        days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
    if (t < TIMESTAMP_SECONDS_MIN || t > TIMESTAMP_SECONDS_MAX)
        return "outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z";
    *seconds = t;
    return NULL;
}

/* "1.5s", "-3s", "0.000000001s": whole seconds, up to 9 fractional digits,
 * and 's'; seconds and nanos get the same sign. NULL, or what is wrong. */
static const char *parse_duration(const char *s, size_t len, int64_t *seconds, int32_t *nanos)
{
    size_t at = 0;
    bool negative = at < len && s[at] == '-';
    if (negative)
        at++;
    size_t first = at;
    int64_t whole = 0;
    while (at < len && is_digit(s[at])) {
        whole = whole * 10 + (s[at++] - '0');
        if (whole > DURATION_SECONDS_MAX)
            return "out of range (at most 315576000000 seconds either way)";
    }
    if (at == first)
        return "expected seconds, e.g. \"1.5s\"";
    const char *problem = read_nanos(s, len, &at, nanos);
    if (problem)
        return problem;
    if (at + 1 != len || s[at] != 's')
        return "expected a number of seconds ending in 's', e.g. \"1.5s\"";
    *seconds = negative ? -whole : whole;
    if (negative)
        *nanos = -*nanos;
    return NULL;
}

/* A Timestamp or a Duration from its string: both have int64 seconds and
 * int32 nanos. */
static tlw_status decode_time(ProtobufCMessage *message, well_known kind, const json_t *value,
                              const path_step *path, tlw_error *err)
{
    const char *what = kind == WKT_TIMESTAMP ? "an RFC 3339 timestamp" : "a duration";
    if (!json_is_string(value)) {
        char expected[64];
        snprintf(expected, sizeof expected, "%s (a string)", what);
        return wrong_type(err, path, expected, value);
    }
    const ProtobufCFieldDescriptor *seconds_field =
        wkt_field(message->descriptor, "seconds", PROTOBUF_C_TYPE_INT64);
    const ProtobufCFieldDescriptor *nanos_field =
        wkt_field(message->descriptor, "nanos", PROTOBUF_C_TYPE_INT32);
    if (!seconds_field || !nanos_field)
        return error_at(err, path, TLW_ERR_INTERNAL, "%s lacks int64 seconds or int32 nanos",
                        message->descriptor->name);
    const char *s = json_string_value(value);
    size_t len = json_string_length(value);
    int64_t seconds = 0;
    int32_t nanos = 0;
    const char *problem = kind == WKT_TIMESTAMP ? parse_timestamp(s, len, &seconds, &nanos)
                                                : parse_duration(s, len, &seconds, &nanos);
    if (problem) {
        char shown[QUOTED_MAX];
        quote(s, len, shown);
        return error_at(err, path, TLW_ERR_INVALID, "not %s: %s (%s)", what, shown, problem);
    }
    *(int64_t *)member(message, seconds_field->offset) = seconds;
    mark_present(message, seconds_field);
    *(int32_t *)member(message, nanos_field->offset) = nanos;
    mark_present(message, nanos_field);
    return TLW_OK;
}

/* A FieldMask from "a.fooBar,baz": its paths in lowerCamelCase, back to the
 * proto names ("a.foo_bar", "baz"). */
static tlw_status decode_field_mask(ProtobufCMessage *message, const json_t *value,
                                    const path_step *path, tlw_error *err)
{
    if (!json_is_string(value))
        return wrong_type(err, path, "a field mask (a string of comma-separated paths)", value);
    const ProtobufCFieldDescriptor *paths_field =
        wkt_field(message->descriptor, "paths", PROTOBUF_C_TYPE_STRING);
    if (!paths_field || paths_field->label != PROTOBUF_C_LABEL_REPEATED)
        return error_at(err, path, TLW_ERR_INTERNAL, "%s lacks repeated string paths",
                        message->descriptor->name);
    const char *s = json_string_value(value);
    size_t len = json_string_length(value);
    if (len == 0)
        return TLW_OK;
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += s[i] == ',';
    char **paths = calloc(n, sizeof *paths);
    if (!paths)
        return no_memory(err, path);
    size_t *count = member(message, paths_field->quantifier_offset);
    *(char ***)member(message, paths_field->offset) = paths;
    *count = 0;
    for (size_t start = 0; start <= len;) {
        size_t end = start;
        while (end < len && s[end] != ',')
            end++;
        if (end == start || memchr(s + start, '\0', end - start)) {
            char shown[QUOTED_MAX];
            quote(s, len, shown);
            return error_at(err, path, TLW_ERR_INVALID, "not a field mask: path %zu is %s: %s",
                            *count + 1, end == start ? "empty" : "not text", shown);
        }
        size_t upper = 0;
        for (size_t i = start; i < end; i++)
            upper += s[i] >= 'A' && s[i] <= 'Z';
        char *proto_path = malloc(end - start + upper + 1);
        if (!proto_path)
            return no_memory(err, path);
        size_t o = 0;
        for (size_t i = start; i < end; i++) {
            if (s[i] >= 'A' && s[i] <= 'Z') {
                proto_path[o++] = '_';
                proto_path[o++] = (char)(s[i] - 'A' + 'a');
            } else {
                proto_path[o++] = s[i];
            }
        }
        proto_path[o] = '\0';
        paths[(*count)++] = proto_path;
        start = end + 1;
    }
    return TLW_OK;
}

/*
 * A message from its JSON: an object of its fields, or a well-known type's
 * own form. On failure *out is NULL and whatever was built is freed.
 * `depth` counts messages from the top-level one (1).
 */
static tlw_status decode_message(const ProtobufCMessageDescriptor *desc, const json_t *json,
                                 const path_step *path, int depth, ProtobufCMessage **out,
                                 tlw_error *err)
{
    *out = NULL;
    if (depth > TLW_PBJSON_MAX_DEPTH)
        return error_at(err, path, TLW_ERR_INVALID,
                        "messages nest deeper than %d levels here; tlw refuses deeper JSON",
                        TLW_PBJSON_MAX_DEPTH);
    well_known kind = well_known_type(desc);
    if (kind == WKT_UNSUPPORTED)
        return error_at(err, path, TLW_ERR_INVALID,
                        "%s is not supported by tlw's JSON decoder (no type registry, or not "
                        "compiled in)",
                        desc->name);
    if (kind == WKT_NONE && !json_is_object(json)) {
        char expected[256];
        snprintf(expected, sizeof expected, "an object (%s)", desc->name);
        return wrong_type(err, path, expected, json);
    }

    ProtobufCMessage *message = new_message(desc);
    if (!message)
        return no_memory(err, path);
    tlw_status st;
    switch (kind) {
    case WKT_TIMESTAMP:
    case WKT_DURATION: st = decode_time(message, kind, json, path, err); break;
    case WKT_FIELD_MASK: st = decode_field_mask(message, json, path, err); break;
    case WKT_WRAPPER: {
        /* The wrapped value itself: 5, not {"value": 5}. */
        const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field(desc, 1);
        if (!field || field->label == PROTOBUF_C_LABEL_REPEATED) {
            st = error_at(err, path, TLW_ERR_INTERNAL, "%s has no field 1 to wrap", desc->name);
            break;
        }
        st = decode_value(field, json, member(message, field->offset), path, depth, err);
        if (st == TLW_OK)
            mark_present(message, field);
        break;
    }
    default: st = decode_fields(message, json, path, depth, err); break;
    }
    if (st != TLW_OK) {
        protobuf_c_message_free_unpacked(message, NULL);
        return st;
    }
    *out = message;
    return TLW_OK;
}

/* ---- the contract -------------------------------------------------------- */

tlw_status tlw_pbjson_decode(const ProtobufCMessageDescriptor *desc, const json_t *json,
                             ProtobufCMessage **out, tlw_error *err)
{
    *out = NULL;
    if (!desc || desc->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "tlw_pbjson_decode needs a protobuf-c message descriptor");
    if (!json)
        return tlw_error_set(err, TLW_ERR_INVALID, "tlw_pbjson_decode needs a JSON value");
    return decode_message(desc, json, NULL, 1, out, err);
}

/* jansson's message for a parse error, which may quote up to 20 bytes of
 * the text, with bytes that are not printable ASCII as \xHH. */
static void parse_error_text(const char *text, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (const unsigned char *p = (const unsigned char *)text; *p && used + 5 < size; p++) {
        if (*p >= 0x20 && *p < 0x7F)
            out[used++] = (char)*p;
        else
            used += (size_t)snprintf(out + used, size - used, "\\x%02x", *p);
        out[used] = '\0';
    }
}

tlw_status tlw_pbjson_decode_text(const ProtobufCMessageDescriptor *desc, const char *text,
                                  size_t len, ProtobufCMessage **out, tlw_error *err)
{
    *out = NULL;
    if (!text)
        return tlw_error_set(err, TLW_ERR_INVALID, "tlw_pbjson_decode_text needs text");
    json_error_t jerr;
    /* Any value at the top, so that a well-known type's own form (a
     * Timestamp's string) decodes as it would as a field. */
    json_t *json = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!json) {
        /* jansson reports a failed allocation as such, except when setting
         * up the parser, where it returns with the error still blank. */
        if (json_error_code(&jerr) == json_error_out_of_memory ||
            (jerr.line < 0 && jerr.text[0] == '\0'))
            return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory parsing %zu bytes of JSON",
                                 len);
        char reason[sizeof jerr.text * 4];
        parse_error_text(jerr.text, reason, sizeof reason);
        return tlw_error_set(err, TLW_ERR_INVALID, "invalid JSON at line %d column %d: %s",
                             jerr.line, jerr.column, reason);
    }
    tlw_status st = tlw_pbjson_decode(desc, json, out, err);
    json_decref(json);
    return st;
}
