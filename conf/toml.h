/*
 * conf/toml: a strict TOML parser for the settings files this project reads
 * (temporal.toml). It builds a read-only tree; every node remembers where it
 * was defined, so that later errors can point at file:line:column.
 *
 * Supported: tables, sub-tables and arrays of tables; bare, quoted and dotted
 * keys; basic and literal strings, single- and multi-line, with every escape
 * and \uXXXX / \UXXXXXXXX; integers (decimal, hex, octal, binary, with _);
 * floats; booleans; date-times (kept as their text); arrays; inline tables;
 * comments. Anything malformed is an error naming file:line:column.
 */
#ifndef TLW_CONF_TOML_H
#define TLW_CONF_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tlw/lambda_worker.h>

typedef enum tlw_toml_type {
    TLW_TOML_TABLE,
    TLW_TOML_ARRAY,
    TLW_TOML_STRING,
    TLW_TOML_INTEGER,
    TLW_TOML_FLOAT,
    TLW_TOML_BOOL,
    TLW_TOML_DATETIME, /* offset date-time, local date-time, local date, local time */
} tlw_toml_type;

typedef struct tlw_toml_value tlw_toml_value;

/*
 * Parses `len` bytes of `text` (need not be NUL-terminated). `filename` is
 * used in error messages only: "temporal.toml:12:3: duplicate key \"address\"".
 * On success *root is a table owned by the caller: free it with
 * tlw_toml_free(). On failure *root is NULL and `err` says where and why
 * (status TLW_ERR_INVALID). It may quote a key (at most 40 bytes), never
 * any part of a value: a value may be a secret, such as an API key.
 */
tlw_status tlw_toml_parse(const char *text, size_t len, const char *filename,
                          tlw_toml_value **root, tlw_error *err);
void tlw_toml_free(tlw_toml_value *root);

tlw_toml_type tlw_toml_type_of(const tlw_toml_value *v);
const char *tlw_toml_type_name(tlw_toml_type type); /* "table", "string", ... */

/* Where the value was defined (1-based), for messages. */
int tlw_toml_line(const tlw_toml_value *v);
int tlw_toml_column(const tlw_toml_value *v);

/* Tables: keys in document order. */
size_t tlw_toml_table_size(const tlw_toml_value *table);
const char *tlw_toml_table_key(const tlw_toml_value *table, size_t i);
const tlw_toml_value *tlw_toml_table_value(const tlw_toml_value *table, size_t i);
const tlw_toml_value *tlw_toml_table_get(const tlw_toml_value *table, const char *key);

/* Arrays. */
size_t tlw_toml_array_size(const tlw_toml_value *array);
const tlw_toml_value *tlw_toml_array_get(const tlw_toml_value *array, size_t i);

/* Scalars. Calling one on a value of another type is a bug (it returns a zero
 * value). Strings are NUL-terminated; *len (if not NULL) excludes the NUL and
 * counts any \u0000 inside. A date-time's string is its text as written. */
const char *tlw_toml_string(const tlw_toml_value *v, size_t *len);
int64_t tlw_toml_integer(const tlw_toml_value *v);
double tlw_toml_float(const tlw_toml_value *v);
bool tlw_toml_bool(const tlw_toml_value *v);

#endif
