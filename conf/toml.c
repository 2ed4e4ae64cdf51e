#include "config.h"

#include "conf/toml.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buffer.h"
#include "common/error.h"
#include "common/utf8.h"

/*
 * Strict TOML 1.0. The parser reads the whole input once, front to back, by
 * recursive descent; arrays and inline tables recurse, so nesting is bounded.
 * The whole input is checked for encoding first (valid UTF-8, no control
 * characters but tab and newline, no bare CR), which TOML requires everywhere,
 * so the grammar below never has to think about those bytes.
 */

/* Tables and arrays nest at most this deep. The parser and tlw_toml_free()
 * recurse once per level; this keeps hostile input from exhausting the stack. */
#define MAX_DEPTH 128
/* At most this many bytes of a key are quoted in an error. A value is never
 * quoted, not even in part: it may be a secret (api_key = "..."). */
#define QUOTE_MAX 40

/* What a table was made by decides what may still be added to it. */
enum table_kind {
    TABLE_IMPLICIT, /* a parent named in a [header]; a later [header] may define it */
    TABLE_HEADER,   /* defined by its own [header], or an element of [[array]] */
    TABLE_DOTTED,   /* made by a dotted key (a.b = 1); no [header] may define it */
    TABLE_INLINE,   /* { ... }: complete where it is written */
};

enum array_kind {
    ARRAY_STATIC,    /* a = [ ... ]: complete where it is written */
    ARRAY_OF_TABLES, /* [[a]]: each header appends a table */
};

typedef struct toml_entry {
    char *key; /* NUL-terminated; may also hold NULs written as \u0000 */
    size_t key_len;
    int line; /* where the key was written */
    int column;
    tlw_toml_value *value;
} toml_entry;

struct tlw_toml_value {
    tlw_toml_type type;
    int line;
    int column;
    int depth; /* nesting level: 0 for the root table */
    int kind;  /* enum table_kind or enum array_kind */
    union {
        struct {
            char *bytes; /* NUL-terminated */
            size_t len;
        } text; /* TLW_TOML_STRING and TLW_TOML_DATETIME */
        int64_t integer;
        double real;
        bool boolean;
        struct {
            toml_entry *entries;
            size_t count;
            size_t capacity;
        } table;
        struct {
            tlw_toml_value **items;
            size_t count;
            size_t capacity;
        } array;
    } as;
};

typedef struct parser {
    const char *text;
    size_t len;
    size_t pos;
    size_t start; /* 0, or 3 after a UTF-8 byte order mark */
    const char *filename;
    tlw_error *err;
    /* locate() counts lines from here; positions are asked for mostly in
     * increasing order, so counting resumes instead of restarting. */
    size_t mark_pos;
    int mark_line;
    int mark_column;
    tlw_toml_value *root;
    tlw_toml_value *current; /* the table that key/value lines go to */
} parser;

/* A byte offset in the input and its line and column. */
typedef struct position {
    size_t at;
    int line;
    int column;
} position;

/* One part of a (possibly dotted) key, and where it was written. */
typedef struct key_part {
    char *name; /* NUL-terminated, owned until moved into a table */
    size_t len;
    position pos;
} key_part;

typedef struct key_path {
    key_part *parts;
    size_t count;
    size_t capacity;
} key_path;

static tlw_status parse_value(parser *p, int depth, tlw_toml_value **out);

/* --- positions and errors ------------------------------------------------ */

/*
 * Line and column (1-based, the column in characters) of byte offset `at`.
 * Positions are asked for mostly in document order, so counting resumes from
 * the last answer; a step back (a header's own position, after its key) is
 * counted backwards, which costs the distance and the length of the line.
 */
static void locate(parser *p, size_t at, int *line, int *column)
{
    if (at > p->len)
        at = p->len;
    if (at < p->start)
        at = p->start;
    if (at < p->mark_pos) {
        for (size_t i = at; i < p->mark_pos; i++)
            if (p->text[i] == '\n')
                p->mark_line--;
        size_t line_start = at;
        while (line_start > p->start && p->text[line_start - 1] != '\n')
            line_start--;
        p->mark_pos = line_start;
        p->mark_column = 1;
    }
    for (size_t i = p->mark_pos; i < at; i++) {
        unsigned char c = (unsigned char)p->text[i];
        if (c == '\n') {
            p->mark_line++;
            p->mark_column = 1;
        } else if ((c & 0xC0) != 0x80) {
            p->mark_column++;
        }
    }
    p->mark_pos = at;
    *line = p->mark_line;
    *column = p->mark_column;
}

static position position_of(parser *p, size_t at)
{
    position pos = {.at = at};
    locate(p, at, &pos.line, &pos.column);
    return pos;
}

/* Sets "FILE:LINE:COL: message" for byte offset `at`; returns TLW_ERR_INVALID. */
__attribute__((format(printf, 3, 4))) static tlw_status fail(parser *p, size_t at, const char *fmt,
                                                             ...)
{
    char message[TLW_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    int line, column;
    locate(p, at, &line, &column);
    return tlw_error_set(p->err, TLW_ERR_INVALID, "%s:%d:%d: %s", p->filename, line, column,
                         message);
}

static tlw_status no_memory(parser *p)
{
    return tlw_error_set(p->err, TLW_ERR_NOMEM, "%s: out of memory while parsing", p->filename);
}

/* The byte at `i`, or -1 past the end: every read of the input goes through
 * here or checks the length itself, since the input need not end in NUL. */
static int byte_at(const parser *p, size_t i)
{
    return i < p->len ? (unsigned char)p->text[i] : -1;
}

static int peek(const parser *p)
{
    return byte_at(p, p->pos);
}

static bool is_bare_key_char(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Characters that can continue a number, boolean, inf or nan. */
static bool is_token_char(int c)
{
    return is_bare_key_char(c) || c == '+' || c == '.';
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/*
 * Names what is at `at`, for "expected X, found Y": the end of the file or
 * line, a comment, unquoted text, or one punctuation character, quoted. Text
 * is only named, never quoted: it may be the rest of a value, and a value may
 * be a secret.
 */
static const char *describe(const parser *p, size_t at, char *buf, size_t size)
{
    int c = byte_at(p, at);
    if (c < 0)
        return "end of file";
    if (c == '\n' || c == '\r')
        return "end of line";
    if (c == '#')
        return "a comment";
    if (c == '\t')
        return "a tab";
    if (c == ' ')
        return "a space";
    if (is_bare_key_char(c))
        return "unquoted text";
    if (c >= 0x80)
        return "a non-ASCII character";
    if (c == '\'')
        snprintf(buf, size, "\"'\"");
    else
        snprintf(buf, size, "'%c'", c);
    return buf;
}

/* Writes `name` as a quoted key for a message, escaping what is not printable
 * and cutting it short at QUOTE_MAX bytes. */
static const char *quote_key(const char *name, size_t len, char *buf, size_t size)
{
    size_t out = 0;
    if (size < 8)
        return "";
    buf[out++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (i >= QUOTE_MAX && (c & 0xC0) != 0x80) {
            if (out + 5 > size)
                break;
            memcpy(buf + out, "...", 3);
            out += 3;
            break;
        }
        char piece[8];
        size_t n;
        if (c < 0x20 || c == 0x7F)
            n = (size_t)snprintf(piece, sizeof piece, "\\u%04X", c);
        else if (c == '"' || c == '\\')
            n = (size_t)snprintf(piece, sizeof piece, "\\%c", c);
        else {
            piece[0] = (char)c;
            n = 1;
        }
        if (out + n + 2 > size)
            break;
        memcpy(buf + out, piece, n);
        out += n;
    }
    buf[out++] = '"';
    buf[out] = '\0';
    return buf;
}

static bool is_bare_key(const char *name, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_bare_key_char((unsigned char)name[i]))
            return false;
    return true;
}

/* Writes the first `count` parts of `path` as they would be written in a
 * header: a.b."c d". */
static const char *format_path(const key_path *path, size_t count, char *buf, size_t size)
{
    size_t out = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < count && out + 1 < size; i++) {
        const key_part *part = &path->parts[i];
        char quoted[QUOTE_MAX * 6 + 8];
        const char *shown = quoted;
        if (is_bare_key(part->name, part->len) && part->len <= QUOTE_MAX)
            shown = part->name;
        else
            quote_key(part->name, part->len, quoted, sizeof quoted);
        int n = snprintf(buf + out, size - out, "%s%s", i ? "." : "", shown);
        if (n < 0)
            break;
        out += (size_t)n < size - out ? (size_t)n : size - out - 1;
    }
    return buf;
}

/* --- encoding ------------------------------------------------------------ */

/*
 * TOML is UTF-8 throughout, and no control character but tab may appear
 * anywhere, not even in comments or strings (newline ends a line; CR only
 * in CRLF). Checking it all first keeps the grammar free of these cases.
 */
static tlw_status check_encoding(parser *p)
{
    const unsigned char *s = (const unsigned char *)p->text;
    size_t i = p->start;
    while (i < p->len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == '\r') {
                if (i + 1 < p->len && s[i + 1] == '\n') {
                    i += 2;
                    continue;
                }
                return fail(p, i,
                            "carriage return not followed by a line feed: lines end in "
                            "LF or CRLF");
            }
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F)
                return fail(p, i,
                            "control character U+%04X is not allowed in TOML (in a basic "
                            "string, write it as \\u%04X)",
                            c, c);
            i++;
            continue;
        }
        tlw_utf8_problem problem;
        size_t n = tlw_utf8_decode(s + i, p->len - i, NULL, &problem);
        switch (problem) {
        case TLW_UTF8_VALID: break;
        case TLW_UTF8_BAD_LEAD:
            return fail(p, i,
                        "invalid UTF-8 (a byte that cannot start a character): TOML files "
                        "must be UTF-8");
        case TLW_UTF8_TRUNCATED:
            return fail(p, i, "invalid UTF-8 (truncated sequence at the end of the file)");
        case TLW_UTF8_BAD_CONTINUATION:
            return fail(p, i,
                        "invalid UTF-8 (a multi-byte character is cut short by a byte "
                        "that cannot continue it): TOML files must be UTF-8");
        case TLW_UTF8_OUT_OF_RANGE:
            return fail(p, i,
                        "invalid UTF-8 (overlong form, surrogate or value above "
                        "U+10FFFF): TOML files must be UTF-8");
        }
        i += n;
    }
    return TLW_OK;
}

/* --- the tree -------------------------------------------------------------- */

static void free_value(tlw_toml_value *v)
{
    if (!v)
        return;
    switch (v->type) {
    case TLW_TOML_TABLE:
        for (size_t i = 0; i < v->as.table.count; i++) {
            free(v->as.table.entries[i].key);
            free_value(v->as.table.entries[i].value);
        }
        free(v->as.table.entries);
        break;
    case TLW_TOML_ARRAY:
        for (size_t i = 0; i < v->as.array.count; i++)
            free_value(v->as.array.items[i]);
        free(v->as.array.items);
        break;
    case TLW_TOML_STRING:
    case TLW_TOML_DATETIME: free(v->as.text.bytes); break;
    default: break;
    }
    free(v);
}

/* A new value defined at `pos`. NULL when out of memory. */
static tlw_toml_value *new_value(tlw_toml_type type, position pos)
{
    tlw_toml_value *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->type = type;
    v->line = pos.line;
    v->column = pos.column;
    return v;
}

/* A new empty table or array at nesting level `depth`. */
static tlw_status new_container(parser *p, tlw_toml_type type, int kind, int depth, position pos,
                                tlw_toml_value **out)
{
    *out = NULL;
    if (depth > MAX_DEPTH)
        return fail(p, pos.at, "tables and arrays are nested more than %d levels deep", MAX_DEPTH);
    tlw_toml_value *v = new_value(type, pos);
    if (!v)
        return no_memory(p);
    v->kind = kind;
    v->depth = depth;
    *out = v;
    return TLW_OK;
}

static toml_entry *find_entry(const tlw_toml_value *table, const char *key, size_t len)
{
    for (size_t i = 0; i < table->as.table.count; i++) {
        toml_entry *e = &table->as.table.entries[i];
        if (e->key_len == len && memcmp(e->key, key, len) == 0)
            return e;
    }
    return NULL;
}

/* Adds `value` under the part's name. Takes `value` (freed on failure) and
 * the name (part->name becomes NULL). */
static tlw_status table_add(parser *p, tlw_toml_value *table, key_part *part, tlw_toml_value *value)
{
    if (table->as.table.count == table->as.table.capacity) {
        size_t capacity = table->as.table.capacity ? 2 * table->as.table.capacity : 8;
        toml_entry *entries = realloc(table->as.table.entries, capacity * sizeof *entries);
        if (!entries) {
            free_value(value);
            return no_memory(p);
        }
        table->as.table.entries = entries;
        table->as.table.capacity = capacity;
    }
    toml_entry *e = &table->as.table.entries[table->as.table.count++];
    e->key = part->name;
    e->key_len = part->len;
    e->line = part->pos.line;
    e->column = part->pos.column;
    e->value = value;
    part->name = NULL;
    return TLW_OK;
}

/* Appends `value` to `array`. Takes `value` (freed on failure). */
static tlw_status array_add(parser *p, tlw_toml_value *array, tlw_toml_value *value)
{
    if (array->as.array.count == array->as.array.capacity) {
        size_t capacity = array->as.array.capacity ? 2 * array->as.array.capacity : 8;
        tlw_toml_value **items = realloc(array->as.array.items, capacity * sizeof *items);
        if (!items) {
            free_value(value);
            return no_memory(p);
        }
        array->as.array.items = items;
        array->as.array.capacity = capacity;
    }
    array->as.array.items[array->as.array.count++] = value;
    return TLW_OK;
}

/* An inline table, and the tables its dotted keys made, take no more keys. */
static void freeze(tlw_toml_value *table)
{
    table->kind = TABLE_INLINE;
    for (size_t i = 0; i < table->as.table.count; i++) {
        tlw_toml_value *v = table->as.table.entries[i].value;
        if (v->type == TLW_TOML_TABLE && v->kind == TABLE_DOTTED)
            freeze(v);
    }
}

/* "a table", "an array of tables", ...: what a value is, for messages. */
static const char *kind_name(const tlw_toml_value *v)
{
    switch (v->type) {
    case TLW_TOML_TABLE: return v->kind == TABLE_INLINE ? "an inline table" : "a table";
    case TLW_TOML_ARRAY: return v->kind == ARRAY_OF_TABLES ? "an array of tables" : "an array";
    case TLW_TOML_STRING: return "a string";
    case TLW_TOML_INTEGER: return "an integer";
    case TLW_TOML_FLOAT: return "a float";
    case TLW_TOML_BOOL: return "a boolean";
    case TLW_TOML_DATETIME: return "a date-time";
    }
    return "a value";
}

/* --- strings --------------------------------------------------------------- */

static bool buf_append_utf8(tlw_buffer *b, uint32_t cp)
{
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return tlw_buffer_append(b, out, n);
}

static bool starts_with(const parser *p, size_t at, const char *s)
{
    size_t n = strlen(s);
    return n <= p->len - at && memcmp(p->text + at, s, n) == 0;
}

/* \uXXXX or \UXXXXXXXX; p->pos is on the u or U, `at` on the backslash. */
static tlw_status parse_unicode_escape(parser *p, tlw_buffer *out, size_t at)
{
    int letter = peek(p);
    int digits = letter == 'u' ? 4 : 8;
    uint32_t cp = 0;
    for (int k = 0; k < digits; k++) {
        int h = tlw_hex_value(byte_at(p, p->pos + 1 + (size_t)k));
        if (h < 0)
            return fail(p, at, "\\%c must be followed by exactly %d hexadecimal digits", letter,
                        digits);
        cp = cp * 16 + (uint32_t)h;
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return fail(p, at,
                    "the \\%c escape is not a Unicode scalar value (surrogates D800-DFFF and "
                    "values above 10FFFF are not allowed)",
                    letter);
    p->pos += 1 + (size_t)digits;
    return buf_append_utf8(out, cp) ? TLW_OK : no_memory(p);
}

/* An escape in a basic string; p->pos is on the backslash. */
static tlw_status parse_escape(parser *p, tlw_buffer *out, bool multiline)
{
    size_t at = p->pos;
    p->pos++;
    int c = peek(p);
    const char *simple = NULL;
    switch (c) {
    case 'b': simple = "\b"; break;
    case 't': simple = "\t"; break;
    case 'n': simple = "\n"; break;
    case 'f': simple = "\f"; break;
    case 'r': simple = "\r"; break;
    case '"': simple = "\""; break;
    case '\\': simple = "\\"; break;
    case 'u':
    case 'U': return parse_unicode_escape(p, out, at);
    default: break;
    }
    if (simple) {
        p->pos++;
        return tlw_buffer_append(out, simple, 1) ? TLW_OK : no_memory(p);
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        /* A line-ending backslash: it, the line break and the whitespace and
         * line breaks after it disappear. */
        size_t i = p->pos;
        while (byte_at(p, i) == ' ' || byte_at(p, i) == '\t')
            i++;
        int end = byte_at(p, i);
        if (!multiline || (end != '\n' && end != '\r'))
            return fail(p, at,
                        multiline ? "a backslash followed by whitespace must end the line"
                                  : "a line-ending backslash is only allowed in a multi-line "
                                    "string (\"\"\")");
        while ((end = byte_at(p, i)) == ' ' || end == '\t' || end == '\n' || end == '\r')
            i++;
        p->pos = i;
        return TLW_OK;
    }
    if (c < 0)
        return fail(p, at, "unterminated string: the file ends after a backslash");
    return fail(p, at,
                "invalid escape: the escapes are \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX "
                "\\UXXXXXXXX (write a backslash as \\\\, or use a '...' string, which has no "
                "escapes)");
}

/* After """ or ''' a line break right away is not part of the string. */
static void skip_first_newline(parser *p)
{
    if (peek(p) == '\n')
        p->pos++;
    else if (peek(p) == '\r' && byte_at(p, p->pos + 1) == '\n')
        p->pos += 2;
}

/*
 * At a run of `quote` characters inside a multi-line string: three of them
 * close it, and up to two more before those belong to the string.
 */
static tlw_status multiline_quotes(parser *p, tlw_buffer *out, char quote, bool *closed)
{
    size_t n = 0;
    while (byte_at(p, p->pos + n) == quote)
        n++;
    *closed = n >= 3;
    if (n > 5)
        return fail(p, p->pos + 5,
                    "too many quotes: a multi-line string ends at the first %c%c%c not "
                    "followed by more than two others",
                    quote, quote, quote);
    size_t keep = *closed ? n - 3 : n;
    if (!tlw_buffer_append(out, p->text + p->pos, keep))
        return no_memory(p);
    p->pos += n;
    return TLW_OK;
}

/* A basic string "..." or """..."""; p->pos is on the first quote. The value
 * is appended to `out`, which is always NUL-terminated on success. */
static tlw_status parse_basic_string(parser *p, tlw_buffer *out, bool multiline)
{
    size_t open = p->pos;
    p->pos += multiline ? 3 : 1;
    if (multiline)
        skip_first_newline(p);
    if (!tlw_buffer_reserve(out, 0))
        return no_memory(p);
    for (;;) {
        size_t run = p->pos;
        int c;
        while ((c = peek(p)) >= 0 && c != '"' && c != '\\' && c != '\n' && c != '\r')
            p->pos++;
        if (!tlw_buffer_append(out, p->text + run, p->pos - run))
            return no_memory(p);
        if (c < 0)
            return fail(p, open,
                        multiline ? "unterminated multi-line string: no closing \"\"\""
                                  : "unterminated string: no closing '\"'");
        if (c == '\\') {
            tlw_status status = parse_escape(p, out, multiline);
            if (status != TLW_OK)
                return status;
        } else if (c == '\n' || c == '\r') {
            if (!multiline)
                return fail(p, open,
                            "unterminated string: a string in \"...\" must end on "
                            "the line it starts (use \"\"\" for a multi-line string)");
            p->pos += c == '\r' ? 2 : 1;
            if (!tlw_buffer_append(out, "\n", 1))
                return no_memory(p);
        } else if (!multiline) {
            p->pos++;
            return TLW_OK;
        } else {
            bool closed;
            tlw_status status = multiline_quotes(p, out, '"', &closed);
            if (status != TLW_OK || closed)
                return status;
        }
    }
}

/* A literal string '...' or '''...'''; like parse_basic_string, no escapes. */
static tlw_status parse_literal_string(parser *p, tlw_buffer *out, bool multiline)
{
    size_t open = p->pos;
    p->pos += multiline ? 3 : 1;
    if (multiline)
        skip_first_newline(p);
    if (!tlw_buffer_reserve(out, 0))
        return no_memory(p);
    for (;;) {
        size_t run = p->pos;
        int c;
        while ((c = peek(p)) >= 0 && c != '\'' && c != '\n' && c != '\r')
            p->pos++;
        if (!tlw_buffer_append(out, p->text + run, p->pos - run))
            return no_memory(p);
        if (c < 0)
            return fail(p, open,
                        multiline ? "unterminated multi-line string: no closing '''"
                                  : "unterminated string: no closing \"'\"");
        if (c == '\n' || c == '\r') {
            if (!multiline)
                return fail(p, open,
                            "unterminated string: a string in '...' must end on the "
                            "line it starts (use ''' for a multi-line string)");
            p->pos += c == '\r' ? 2 : 1;
            if (!tlw_buffer_append(out, "\n", 1))
                return no_memory(p);
        } else if (!multiline) {
            p->pos++;
            return TLW_OK;
        } else {
            bool closed;
            tlw_status status = multiline_quotes(p, out, '\'', &closed);
            if (status != TLW_OK || closed)
                return status;
        }
    }
}

/* --- keys ------------------------------------------------------------------ */

static void skip_ws(parser *p)
{
    while (peek(p) == ' ' || peek(p) == '\t')
        p->pos++;
}

static void free_path(key_path *path)
{
    for (size_t i = 0; i < path->count; i++)
        free(path->parts[i].name);
    free(path->parts);
    path->parts = NULL;
    path->count = path->capacity = 0;
}

/* One simple key: bare, "basic" or 'literal'. */
static tlw_status parse_simple_key(parser *p, key_part *part)
{
    char found[64];
    int c = peek(p);
    part->pos = position_of(p, p->pos);
    tlw_buffer name = {0};
    tlw_status status = TLW_OK;
    if (c == '"' || c == '\'') {
        if (starts_with(p, p->pos, c == '"' ? "\"\"\"" : "'''"))
            return fail(p, p->pos, "a key cannot be a multi-line string");
        status =
            c == '"' ? parse_basic_string(p, &name, false) : parse_literal_string(p, &name, false);
    } else if (is_bare_key_char(c)) {
        size_t run = p->pos;
        while (is_bare_key_char(peek(p)))
            p->pos++;
        if (!tlw_buffer_append(&name, p->text + run, p->pos - run))
            status = no_memory(p);
    } else {
        return fail(p, p->pos,
                    "expected a key, found %s (bare keys may contain only A-Z a-z 0-9 _ -; "
                    "quote any other key)",
                    describe(p, p->pos, found, sizeof found));
    }
    if (status != TLW_OK) {
        free(name.data);
        return status;
    }
    part->name = name.data;
    part->len = name.len;
    return TLW_OK;
}

/* A key, possibly dotted (a."b c".d), and the whitespace after it. */
static tlw_status parse_key(parser *p, key_path *path)
{
    for (;;) {
        if (path->count == MAX_DEPTH)
            return fail(p, p->pos, "key has more than %d dotted parts", MAX_DEPTH);
        if (path->count == path->capacity) {
            size_t capacity = path->capacity ? 2 * path->capacity : 4;
            key_part *parts = realloc(path->parts, capacity * sizeof *parts);
            if (!parts)
                return no_memory(p);
            path->parts = parts;
            path->capacity = capacity;
        }
        key_part part = {0};
        tlw_status status = parse_simple_key(p, &part);
        if (status != TLW_OK)
            return status;
        path->parts[path->count++] = part;
        skip_ws(p);
        if (peek(p) != '.')
            return TLW_OK;
        p->pos++;
        skip_ws(p);
    }
}

/* --- scalars --------------------------------------------------------------- */

static bool is_digit_of(int c, int base)
{
    switch (base) {
    case 2: return c == '0' || c == '1';
    case 8: return c >= '0' && c <= '7';
    case 16: return tlw_hex_value(c) >= 0;
    default: return is_digit(c);
    }
}

/*
 * Skips digits of `base`, each underscore between two digits, from tok[*i].
 * Counts the digits in *count. False if an underscore is misplaced.
 */
static bool scan_digits(const char *tok, size_t n, size_t *i, int base, size_t *count)
{
    *count = 0;
    while (*i < n) {
        int c = (unsigned char)tok[*i];
        if (c == '_') {
            if (*count == 0 || !is_digit_of((unsigned char)tok[*i - 1], base) || *i + 1 >= n ||
                !is_digit_of((unsigned char)tok[*i + 1], base))
                return false;
        } else if (is_digit_of(c, base)) {
            (*count)++;
        } else {
            break;
        }
        (*i)++;
    }
    return true;
}

static tlw_status parse_float_text(parser *p, size_t at, const char *tok, size_t n, double *out)
{
    char *clean = malloc(n + 1);
    if (!clean)
        return no_memory(p);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (tok[i] != '_')
            clean[k++] = tok[i];
    clean[k] = '\0';
    /* The text is checked against TOML's grammar already, so strtod sees only
     * [+-]digits[.digits][e[+-]digits]. (It assumes the "C" locale's '.'.) */
    *out = strtod(clean, NULL);
    free(clean);
    if (isinf(*out))
        return fail(p, at, "float is out of range (larger than a 64-bit float)");
    return TLW_OK;
}

/* An integer or float token (already cut out: tok, n), per TOML 1.0. */
static tlw_status parse_number(parser *p, size_t at, const char *tok, size_t n,
                               tlw_toml_value **out)
{
    size_t i = 0;
    bool negative = false, has_sign = false;
    if (tok[0] == '+' || tok[0] == '-') {
        has_sign = true;
        negative = tok[0] == '-';
        i = 1;
    }

    if (n - i == 3 && (memcmp(tok + i, "inf", 3) == 0 || memcmp(tok + i, "nan", 3) == 0)) {
        tlw_toml_value *v = new_value(TLW_TOML_FLOAT, position_of(p, at));
        if (!v)
            return no_memory(p);
        if (tok[i] == 'i')
            v->as.real = negative ? -INFINITY : INFINITY;
        else
            v->as.real = negative ? -NAN : NAN;
        *out = v;
        return TLW_OK;
    }

    int base = 10;
    if (n - i >= 2 && tok[i] == '0' &&
        (tok[i + 1] == 'x' || tok[i + 1] == 'o' || tok[i + 1] == 'b'))
        base = tok[i + 1] == 'x' ? 16 : tok[i + 1] == 'o' ? 8 : 2;
    if (base != 10) {
        const char *base_name = base == 16 ? "hexadecimal" : base == 8 ? "octal" : "binary";
        if (has_sign)
            return fail(p, at,
                        "invalid number: hexadecimal, octal and binary integers cannot have a "
                        "sign");
        i += 2;
        size_t first = i, count;
        if (!scan_digits(tok, n, &i, base, &count))
            return fail(p, at, "invalid number: an underscore must be between two digits");
        if (count == 0 || i != n)
            return fail(p, at,
                        "invalid %s integer: after 0%c come only %s digits (and '_' between "
                        "two of them)",
                        base_name, tok[1], base_name);
        uint64_t value = 0;
        for (size_t k = first; k < n; k++) {
            if (tok[k] == '_')
                continue;
            uint64_t digit = (uint64_t)tlw_hex_value((unsigned char)tok[k]);
            if (value > ((uint64_t)INT64_MAX - digit) / (uint64_t)base)
                return fail(p, at, "integer is out of range (it must fit in 64 bits)");
            value = value * (uint64_t)base + digit;
        }
        tlw_toml_value *v = new_value(TLW_TOML_INTEGER, position_of(p, at));
        if (!v)
            return no_memory(p);
        v->as.integer = (int64_t)value;
        *out = v;
        return TLW_OK;
    }

    size_t first = i, count;
    if (!scan_digits(tok, n, &i, 10, &count))
        return fail(p, at, "invalid number: an underscore must be between two digits");
    if (count == 0)
        return fail(p, at,
                    "invalid number: a number starts with a digit, after an optional + or - "
                    "(a string must be in quotes)");
    if (tok[first] == '0' && count > 1)
        return fail(p, at, "invalid number: leading zeros are not allowed");
    size_t int_end = i;
    bool is_float = false;
    if (i < n && tok[i] == '.') {
        is_float = true;
        i++;
        if (!scan_digits(tok, n, &i, 10, &count))
            return fail(p, at, "invalid number: an underscore must be between two digits");
        if (count == 0)
            return fail(p, at, "invalid float: a '.' must be followed by a digit");
    }
    if (i < n && (tok[i] == 'e' || tok[i] == 'E')) {
        is_float = true;
        i++;
        if (i < n && (tok[i] == '+' || tok[i] == '-'))
            i++;
        if (!scan_digits(tok, n, &i, 10, &count))
            return fail(p, at, "invalid number: an underscore must be between two digits");
        if (count == 0)
            return fail(p, at, "invalid float: the exponent needs digits");
    }
    if (i != n)
        return fail(p, at,
                    "invalid number: unexpected characters after the digits (a string must be "
                    "in quotes)");

    if (is_float) {
        double real = 0.0;
        tlw_status status = parse_float_text(p, at, tok, n, &real);
        if (status != TLW_OK)
            return status;
        tlw_toml_value *v = new_value(TLW_TOML_FLOAT, position_of(p, at));
        if (!v)
            return no_memory(p);
        v->as.real = real;
        *out = v;
        return TLW_OK;
    }

    /* Accumulate as a negative number: its range is one larger. */
    int64_t value = 0;
    for (size_t k = first; k < int_end; k++) {
        if (tok[k] == '_')
            continue;
        int digit = tok[k] - '0';
        if (value < (INT64_MIN + digit) / 10)
            return fail(p, at, "integer is out of range (it must fit in 64 bits)");
        value = value * 10 - digit;
    }
    if (!negative) {
        if (value == INT64_MIN)
            return fail(p, at, "integer is out of range (it must fit in 64 bits)");
        value = -value;
    }
    tlw_toml_value *v = new_value(TLW_TOML_INTEGER, position_of(p, at));
    if (!v)
        return no_memory(p);
    v->as.integer = value;
    *out = v;
    return TLW_OK;
}

static bool digits_at(const parser *p, size_t at, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(byte_at(p, at + i)))
            return false;
    return true;
}

static int number_at(const parser *p, size_t at, size_t n)
{
    int value = 0;
    for (size_t i = 0; i < n; i++)
        value = value * 10 + (p->text[at + i] - '0');
    return value;
}

/* YYYY- starts a date, HH: a time. */
static bool looks_like_datetime(const parser *p, size_t at)
{
    return (digits_at(p, at, 4) && byte_at(p, at + 4) == '-') ||
           (digits_at(p, at, 2) && byte_at(p, at + 2) == ':');
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    return month == 2 && leap ? 29 : days[month - 1];
}

/* HH:MM:SS[.fraction] at `at`; sets *end past it. */
static tlw_status parse_time(parser *p, size_t start, size_t at, size_t *end)
{
    if (!digits_at(p, at, 2) || byte_at(p, at + 2) != ':' || !digits_at(p, at + 3, 2) ||
        byte_at(p, at + 5) != ':' || !digits_at(p, at + 6, 2))
        return fail(p, start,
                    "invalid time: expected HH:MM:SS (two digits each; TOML 1.0 "
                    "requires the seconds)");
    int hour = number_at(p, at, 2), minute = number_at(p, at + 3, 2),
        second = number_at(p, at + 6, 2);
    if (hour > 23 || minute > 59 || second > 60)
        return fail(p, start,
                    "invalid time: hours go to 23, minutes to 59, seconds to 59 (60 for a "
                    "leap second)");
    size_t i = at + 8;
    if (byte_at(p, i) == '.') {
        i++;
        if (!is_digit(byte_at(p, i)))
            return fail(p, start,
                        "invalid time: a '.' after the seconds must be followed by "
                        "digits");
        while (is_digit(byte_at(p, i)))
            i++;
    }
    *end = i;
    return TLW_OK;
}

/*
 * An offset date-time, local date-time, local date or local time (RFC 3339
 * as TOML 1.0 allows it). It is checked strictly and kept as written.
 */
static tlw_status parse_datetime(parser *p, tlw_toml_value **out)
{
    size_t at = p->pos, i = at;
    bool has_date = false;
    tlw_status status;
    if (digits_at(p, i, 4) && byte_at(p, i + 4) == '-') {
        if (!digits_at(p, i + 5, 2) || byte_at(p, i + 7) != '-' || !digits_at(p, i + 8, 2))
            return fail(p, at, "invalid date: expected YYYY-MM-DD (with leading zeros)");
        int year = number_at(p, i, 4), month = number_at(p, i + 5, 2), day = number_at(p, i + 8, 2);
        if (month < 1 || month > 12)
            return fail(p, at, "invalid date: the month must be 01 to 12");
        if (day < 1 || day > days_in_month(year, month))
            return fail(p, at, "invalid date: the day is not in that month (01 to %02d)",
                        days_in_month(year, month));
        has_date = true;
        i += 10;
        int sep = byte_at(p, i);
        bool time_follows = sep == 'T' || sep == 't' ||
                            (sep == ' ' && digits_at(p, i + 1, 2) && byte_at(p, i + 3) == ':');
        if (time_follows) {
            status = parse_time(p, at, i + 1, &i);
            if (status != TLW_OK)
                return status;
            int c = byte_at(p, i);
            if (c == 'Z' || c == 'z') {
                i++;
            } else if (c == '+' || c == '-') {
                if (!digits_at(p, i + 1, 2) || byte_at(p, i + 3) != ':' || !digits_at(p, i + 4, 2))
                    return fail(p, at,
                                "invalid date-time: the offset must be Z or +HH:MM / "
                                "-HH:MM");
                if (number_at(p, i + 1, 2) > 23 || number_at(p, i + 4, 2) > 59)
                    return fail(p, at,
                                "invalid date-time: the offset is out of range (hours to 23, "
                                "minutes to 59)");
                i += 6;
            }
        }
    } else {
        status = parse_time(p, at, i, &i);
        if (status != TLW_OK)
            return status;
    }
    int c = byte_at(p, i);
    if (is_token_char(c) || c == ':')
        return fail(p, at,
                    "invalid %s: more characters follow it (a string must be in quotes)",
                    has_date ? "date-time" : "time");
    tlw_toml_value *v = new_value(TLW_TOML_DATETIME, position_of(p, at));
    if (!v)
        return no_memory(p);
    v->as.text.len = i - at;
    v->as.text.bytes = malloc(i - at + 1);
    if (!v->as.text.bytes) {
        free(v);
        return no_memory(p);
    }
    memcpy(v->as.text.bytes, p->text + at, i - at);
    v->as.text.bytes[i - at] = '\0';
    p->pos = i;
    *out = v;
    return TLW_OK;
}

static tlw_status parse_string_value(parser *p, tlw_toml_value **out)
{
    size_t at = p->pos;
    tlw_buffer text = {0};
    tlw_status status;
    if (peek(p) == '"')
        status = parse_basic_string(p, &text, starts_with(p, at, "\"\"\""));
    else
        status = parse_literal_string(p, &text, starts_with(p, at, "'''"));
    if (status != TLW_OK) {
        free(text.data);
        return status;
    }
    tlw_toml_value *v = new_value(TLW_TOML_STRING, position_of(p, at));
    if (!v) {
        free(text.data);
        return no_memory(p);
    }
    v->as.text.bytes = text.data;
    v->as.text.len = text.len;
    *out = v;
    return TLW_OK;
}

/* Booleans, numbers, inf and nan: a run of token characters. */
static tlw_status parse_bare_value(parser *p, tlw_toml_value **out)
{
    char found[64];
    size_t at = p->pos, n = 0;
    while (is_token_char(byte_at(p, at + n)))
        n++;
    const char *tok = p->text + at;
    if (n == 0)
        return fail(p, at, "expected a value, found %s", describe(p, at, found, sizeof found));
    tlw_status status = TLW_OK;
    if ((n == 4 && memcmp(tok, "true", 4) == 0) || (n == 5 && memcmp(tok, "false", 5) == 0)) {
        tlw_toml_value *v = new_value(TLW_TOML_BOOL, position_of(p, at));
        if (!v)
            return no_memory(p);
        v->as.boolean = n == 4;
        *out = v;
    } else if (is_digit((unsigned char)tok[0]) || tok[0] == '+' || tok[0] == '-' || tok[0] == '.' ||
               (n == 3 && memcmp(tok, "inf", 3) == 0) || (n == 3 && memcmp(tok, "nan", 3) == 0)) {
        status = parse_number(p, at, tok, n, out);
    } else {
        return fail(p, at,
                    "invalid value: a string must be in quotes (true, false, numbers and "
                    "dates are the only unquoted values)");
    }
    if (status == TLW_OK)
        p->pos = at + n;
    return status;
}

/* --- arrays, inline tables, key/values ------------------------------------- */

static void skip_comment(parser *p)
{
    while (peek(p) >= 0 && peek(p) != '\n' && peek(p) != '\r')
        p->pos++;
}

/* Inside an array: whitespace, comments and line breaks. */
static void skip_blank(parser *p)
{
    for (;;) {
        skip_ws(p);
        int c = peek(p);
        if (c == '#')
            skip_comment(p);
        else if (c == '\n')
            p->pos++;
        else if (c == '\r' && byte_at(p, p->pos + 1) == '\n')
            p->pos += 2;
        else
            return;
    }
}

/* [ value, value, ... ] over any number of lines, a trailing comma allowed. */
static tlw_status parse_array(parser *p, int depth, tlw_toml_value **out)
{
    char found[64];
    tlw_toml_value *array;
    tlw_status status =
        new_container(p, TLW_TOML_ARRAY, ARRAY_STATIC, depth, position_of(p, p->pos), &array);
    if (status != TLW_OK)
        return status;
    p->pos++;
    for (;;) {
        skip_blank(p);
        int c = peek(p);
        if (c == ']')
            break;
        if (c < 0) {
            status = fail(p, p->pos,
                          "unterminated array: no ']' closing the array opened at "
                          "%d:%d",
                          array->line, array->column);
            break;
        }
        tlw_toml_value *item = NULL;
        status = parse_value(p, depth + 1, &item);
        if (status == TLW_OK)
            status = array_add(p, array, item);
        if (status != TLW_OK)
            break;
        skip_blank(p);
        c = peek(p);
        if (c == ',') {
            p->pos++;
        } else if (c != ']' && c >= 0) {
            status = fail(p, p->pos, "expected ',' or ']' in the array opened at %d:%d, found %s",
                          array->line, array->column, describe(p, p->pos, found, sizeof found));
            break;
        }
    }
    if (status != TLW_OK) {
        free_value(array);
        return status;
    }
    p->pos++;
    *out = array;
    return TLW_OK;
}

static tlw_status parse_keyval(parser *p, tlw_toml_value *table);

static bool ends_line(int c)
{
    return c == '\n' || c == '\r' || c == '#';
}

/* { key = value, ... } on one line, without a trailing comma (TOML 1.0). */
static tlw_status parse_inline_table(parser *p, int depth, tlw_toml_value **out)
{
    char found[64];
    tlw_toml_value *table;
    tlw_status status =
        new_container(p, TLW_TOML_TABLE, TABLE_DOTTED, depth, position_of(p, p->pos), &table);
    if (status != TLW_OK)
        return status;
    p->pos++;
    for (bool first = true;; first = false) {
        skip_ws(p);
        int c = peek(p);
        if (c == '}' && first)
            break;
        if (ends_line(c))
            status = fail(p, p->pos,
                          "an inline table must be on one line, without comments "
                          "(TOML 1.0): close it with '}' on this line");
        else if (c == '}')
            status = fail(p, p->pos,
                          "trailing comma in an inline table: remove the ',' before "
                          "'}'");
        else
            status = parse_keyval(p, table);
        if (status != TLW_OK)
            break;
        skip_ws(p);
        c = peek(p);
        if (c == '}')
            break;
        if (c == ',') {
            p->pos++;
            continue;
        }
        if (ends_line(c))
            status = fail(p, p->pos,
                          "an inline table must be on one line, without comments "
                          "(TOML 1.0): close it with '}' on this line");
        else
            status = fail(p, p->pos, "expected ',' or '}' in the inline table, found %s",
                          describe(p, p->pos, found, sizeof found));
        break;
    }
    if (status != TLW_OK) {
        free_value(table);
        return status;
    }
    p->pos++;
    freeze(table);
    *out = table;
    return TLW_OK;
}

static tlw_status parse_value(parser *p, int depth, tlw_toml_value **out)
{
    char found[64];
    *out = NULL;
    switch (peek(p)) {
    case '"':
    case '\'': return parse_string_value(p, out);
    case '[': return parse_array(p, depth, out);
    case '{': return parse_inline_table(p, depth, out);
    case -1:
    case '\n':
    case '\r':
    case '#':
        return fail(p, p->pos, "expected a value, found %s",
                    describe(p, p->pos, found, sizeof found));
    default: break;
    }
    if (looks_like_datetime(p, p->pos))
        return parse_datetime(p, out);
    return parse_bare_value(p, out);
}

/* Where an entry was first written, for messages: the [header] of a table or
 * array of tables that one defined, else the key. */
static void defined_at(const toml_entry *e, int *line, int *column)
{
    const tlw_toml_value *v = e->value;
    bool by_header = (v->type == TLW_TOML_TABLE && v->kind == TABLE_HEADER) ||
                     (v->type == TLW_TOML_ARRAY && v->kind == ARRAY_OF_TABLES);
    *line = by_header ? v->line : e->line;
    *column = by_header ? v->column : e->column;
}

/*
 * key = value, into `table` (the current [table], or an inline table being
 * read). The parts of a dotted key before the last make tables, or go into
 * tables that dotted keys made; they may not reach into a table defined any
 * other way.
 */
static tlw_status parse_keyval(parser *p, tlw_toml_value *table)
{
    char found[64], where[QUOTE_MAX * 12 + 64];
    int line, column;
    key_path path = {0};
    tlw_status status = parse_key(p, &path);
    if (status != TLW_OK)
        goto done;
    if (peek(p) != '=') {
        /* The "key" is not quoted: with no '=' after it, it may be a value
         * written on a line of its own. */
        status = fail(p, p->pos, "expected '=' after the key, found %s",
                      describe(p, p->pos, found, sizeof found));
        goto done;
    }
    p->pos++;
    skip_ws(p);

    tlw_toml_value *t = table;
    for (size_t i = 0; i + 1 < path.count; i++) {
        key_part *part = &path.parts[i];
        toml_entry *e = find_entry(t, part->name, part->len);
        if (!e) {
            tlw_toml_value *child;
            status =
                new_container(p, TLW_TOML_TABLE, TABLE_DOTTED, t->depth + 1, part->pos, &child);
            if (status == TLW_OK)
                status = table_add(p, t, part, child);
            if (status != TLW_OK)
                goto done;
            t = child;
            continue;
        }
        tlw_toml_value *v = e->value;
        if (v->type == TLW_TOML_TABLE && v->kind == TABLE_DOTTED) {
            t = v;
            continue;
        }
        /* No part so far was new, so every name is still in `path`. */
        format_path(&path, i + 1, where, sizeof where);
        defined_at(e, &line, &column);
        if (v->type == TLW_TOML_TABLE && v->kind == TABLE_INLINE)
            status = fail(p, part->pos.at,
                          "cannot add keys to %s: it is an inline table (defined at %d:%d), "
                          "complete where it is written",
                          where, line, column);
        else if (v->type == TLW_TOML_TABLE)
            status = fail(p, part->pos.at,
                          "cannot add keys to table [%s] with a dotted key: it is defined by a "
                          "[header] (at %d:%d); put the key under that header",
                          where, line, column);
        else
            status = fail(p, part->pos.at, "%s is already %s (defined at %d:%d), not a table",
                          where, kind_name(v), line, column);
        goto done;
    }

    key_part *last = &path.parts[path.count - 1];
    toml_entry *e = find_entry(t, last->name, last->len);
    if (e) {
        defined_at(e, &line, &column);
        status = fail(p, last->pos.at, "duplicate key %s (first defined at %d:%d)",
                      format_path(&path, path.count, where, sizeof where), line, column);
        goto done;
    }
    tlw_toml_value *value = NULL;
    status = parse_value(p, t->depth + 1, &value);
    if (status == TLW_OK)
        status = table_add(p, t, last, value);
done:
    free_path(&path);
    return status;
}

/* --- headers and the document ---------------------------------------------- */

/* Goes down the parts of a [header] but the last, making the tables missing. */
static tlw_status header_parent(parser *p, key_path *path, tlw_toml_value **parent)
{
    char where[QUOTE_MAX * 12 + 64];
    int line, column;
    tlw_toml_value *t = p->root;
    for (size_t i = 0; i + 1 < path->count; i++) {
        key_part *part = &path->parts[i];
        toml_entry *e = find_entry(t, part->name, part->len);
        if (!e) {
            tlw_toml_value *child;
            tlw_status status =
                new_container(p, TLW_TOML_TABLE, TABLE_IMPLICIT, t->depth + 1, part->pos, &child);
            if (status == TLW_OK)
                status = table_add(p, t, part, child);
            if (status != TLW_OK)
                return status;
            t = child;
            continue;
        }
        tlw_toml_value *v = e->value;
        if (v->type == TLW_TOML_TABLE && v->kind != TABLE_INLINE) {
            t = v;
            continue;
        }
        if (v->type == TLW_TOML_ARRAY && v->kind == ARRAY_OF_TABLES) {
            t = v->as.array.items[v->as.array.count - 1]; /* the latest [[element]] */
            continue;
        }
        format_path(path, i + 1, where, sizeof where);
        defined_at(e, &line, &column);
        if (v->type == TLW_TOML_TABLE)
            return fail(p, part->pos.at,
                        "cannot add to %s: it is an inline table (defined at %d:%d), complete "
                        "where it is written",
                        where, line, column);
        return fail(p, part->pos.at, "%s is already %s (defined at %d:%d), not a table", where,
                    kind_name(v), line, column);
    }
    *parent = t;
    return TLW_OK;
}

/* [a.b.c]: defines the table, which must not be defined yet. */
static tlw_status define_table(parser *p, key_path *path, tlw_toml_value *parent, position header)
{
    char where[QUOTE_MAX * 12 + 64];
    int line, column;
    key_part *last = &path->parts[path->count - 1];
    toml_entry *e = find_entry(parent, last->name, last->len);
    if (!e) {
        tlw_toml_value *table;
        tlw_status status =
            new_container(p, TLW_TOML_TABLE, TABLE_HEADER, parent->depth + 1, header, &table);
        if (status == TLW_OK)
            status = table_add(p, parent, last, table);
        if (status == TLW_OK)
            p->current = table;
        return status;
    }
    tlw_toml_value *v = e->value;
    if (v->type == TLW_TOML_TABLE && v->kind == TABLE_IMPLICIT) {
        /* Named before as a parent ([a.b] then [a]): this defines it. */
        v->kind = TABLE_HEADER;
        v->line = header.line;
        v->column = header.column;
        p->current = v;
        return TLW_OK;
    }
    format_path(path, path->count, where, sizeof where);
    defined_at(e, &line, &column);
    if (v->type == TLW_TOML_TABLE && v->kind == TABLE_HEADER)
        return fail(p, header.at, "table [%s] is defined twice (first at %d:%d)", where, line,
                    column);
    if (v->type == TLW_TOML_TABLE && v->kind == TABLE_DOTTED)
        return fail(p, header.at, "table [%s] is already defined by dotted keys (at %d:%d)", where,
                    line, column);
    if (v->type == TLW_TOML_ARRAY && v->kind == ARRAY_OF_TABLES)
        return fail(p, header.at,
                    "[%s] is an array of tables (defined at %d:%d); use [[%s]] to add an "
                    "element",
                    where, line, column, where);
    return fail(p, header.at,
                "cannot define table [%s]: the key is already %s (defined at "
                "%d:%d)",
                where, kind_name(v), line, column);
}

/* [[a.b.c]]: appends a table to the array of tables, making it if need be. */
static tlw_status append_table(parser *p, key_path *path, tlw_toml_value *parent, position header)
{
    char where[QUOTE_MAX * 12 + 64];
    int line, column;
    key_part *last = &path->parts[path->count - 1];
    toml_entry *e = find_entry(parent, last->name, last->len);
    tlw_toml_value *array;
    tlw_status status;
    if (!e) {
        status =
            new_container(p, TLW_TOML_ARRAY, ARRAY_OF_TABLES, parent->depth + 1, header, &array);
        if (status == TLW_OK)
            status = table_add(p, parent, last, array);
        if (status != TLW_OK)
            return status;
    } else if (e->value->type == TLW_TOML_ARRAY && e->value->kind == ARRAY_OF_TABLES) {
        array = e->value;
    } else {
        format_path(path, path->count, where, sizeof where);
        defined_at(e, &line, &column);
        return fail(p, header.at,
                    "cannot append to [[%s]]: the key is already %s (defined at %d:%d), not an "
                    "array of tables",
                    where, kind_name(e->value), line, column);
    }
    tlw_toml_value *element;
    status = new_container(p, TLW_TOML_TABLE, TABLE_HEADER, array->depth + 1, header, &element);
    if (status == TLW_OK)
        status = array_add(p, array, element);
    if (status == TLW_OK)
        p->current = element;
    return status;
}

/* [a.b.c] or [[a.b.c]]: finds or makes the table that the next lines fill. */
static tlw_status parse_header(parser *p)
{
    char found[64], where[QUOTE_MAX * 12 + 64];
    position header = position_of(p, p->pos);
    bool is_array = byte_at(p, p->pos + 1) == '[';
    p->pos += is_array ? 2 : 1;
    skip_ws(p);
    key_path path = {0};
    tlw_toml_value *parent = NULL;
    tlw_status status = parse_key(p, &path);
    if (status == TLW_OK && (is_array ? !starts_with(p, p->pos, "]]") : peek(p) != ']'))
        status = fail(p, p->pos, "expected '%s' to close the header %s%s, found %s",
                      is_array ? "]]" : "]", is_array ? "[[" : "[",
                      format_path(&path, path.count, where, sizeof where),
                      describe(p, p->pos, found, sizeof found));
    if (status == TLW_OK) {
        p->pos += is_array ? 2 : 1;
        status = header_parent(p, &path, &parent);
    }
    if (status == TLW_OK)
        status = is_array ? append_table(p, &path, parent, header)
                          : define_table(p, &path, parent, header);
    free_path(&path);
    return status;
}

/* After a key/value or a header: a comment, then the end of the line. */
static tlw_status end_line(parser *p, const char *after)
{
    char found[64];
    skip_ws(p);
    if (peek(p) == '#')
        skip_comment(p);
    int c = peek(p);
    if (c < 0)
        return TLW_OK;
    if (c == '\n') {
        p->pos++;
        return TLW_OK;
    }
    if (c == '\r' && byte_at(p, p->pos + 1) == '\n') {
        p->pos += 2;
        return TLW_OK;
    }
    return fail(p, p->pos, "expected the end of the line after %s, found %s", after,
                describe(p, p->pos, found, sizeof found));
}

static tlw_status parse_document(parser *p)
{
    for (;;) {
        skip_ws(p);
        int c = peek(p);
        tlw_status status;
        if (c < 0)
            return TLW_OK;
        if (c == '[')
            status = parse_header(p);
        else if (c == '#' || c == '\n' || c == '\r')
            status = TLW_OK;
        else
            status = parse_keyval(p, p->current);
        if (status == TLW_OK)
            status = end_line(p, c == '[' ? "the table header" : "the value");
        if (status != TLW_OK)
            return status;
    }
}

/* --- the contract ---------------------------------------------------------- */

tlw_status tlw_toml_parse(const char *text, size_t len, const char *filename, tlw_toml_value **root,
                          tlw_error *err)
{
    if (!root)
        return tlw_error_set(err, TLW_ERR_INVALID, "tlw_toml_parse: root is NULL");
    *root = NULL;
    if (!text && len > 0)
        return tlw_error_set(err, TLW_ERR_INVALID, "tlw_toml_parse: text is NULL");
    /* Lines and columns are ints. */
    if (len > INT_MAX)
        return tlw_error_set(err, TLW_ERR_INVALID, "%s: too large for a settings file (%zu bytes)",
                             filename ? filename : "<toml>", len);
    parser p = {
        .text = text ? text : "",
        .len = len,
        .filename = filename ? filename : "<toml>",
        .err = err,
        .mark_line = 1,
        .mark_column = 1,
    };
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        p.start = p.pos = p.mark_pos = 3;

    tlw_status status = check_encoding(&p);
    if (status == TLW_OK)
        status =
            new_container(&p, TLW_TOML_TABLE, TABLE_HEADER, 0, position_of(&p, p.start), &p.root);
    if (status == TLW_OK) {
        p.current = p.root;
        status = parse_document(&p);
    }
    if (status != TLW_OK) {
        free_value(p.root);
        return status;
    }
    *root = p.root;
    return TLW_OK;
}

void tlw_toml_free(tlw_toml_value *root)
{
    free_value(root);
}

/* NULL reads as an empty table, so a chain of lookups needs no checks. */
tlw_toml_type tlw_toml_type_of(const tlw_toml_value *v)
{
    return v ? v->type : TLW_TOML_TABLE;
}

const char *tlw_toml_type_name(tlw_toml_type type)
{
    switch (type) {
    case TLW_TOML_TABLE: return "table";
    case TLW_TOML_ARRAY: return "array";
    case TLW_TOML_STRING: return "string";
    case TLW_TOML_INTEGER: return "integer";
    case TLW_TOML_FLOAT: return "float";
    case TLW_TOML_BOOL: return "boolean";
    case TLW_TOML_DATETIME: return "date-time";
    }
    return "unknown";
}

int tlw_toml_line(const tlw_toml_value *v)
{
    return v ? v->line : 0;
}

int tlw_toml_column(const tlw_toml_value *v)
{
    return v ? v->column : 0;
}

static bool is_table(const tlw_toml_value *v)
{
    return v && v->type == TLW_TOML_TABLE;
}

static bool is_array(const tlw_toml_value *v)
{
    return v && v->type == TLW_TOML_ARRAY;
}

size_t tlw_toml_table_size(const tlw_toml_value *table)
{
    return is_table(table) ? table->as.table.count : 0;
}

const char *tlw_toml_table_key(const tlw_toml_value *table, size_t i)
{
    return is_table(table) && i < table->as.table.count ? table->as.table.entries[i].key : NULL;
}

const tlw_toml_value *tlw_toml_table_value(const tlw_toml_value *table, size_t i)
{
    return is_table(table) && i < table->as.table.count ? table->as.table.entries[i].value : NULL;
}

const tlw_toml_value *tlw_toml_table_get(const tlw_toml_value *table, const char *key)
{
    if (!is_table(table) || !key)
        return NULL;
    toml_entry *e = find_entry(table, key, strlen(key));
    return e ? e->value : NULL;
}

size_t tlw_toml_array_size(const tlw_toml_value *array)
{
    return is_array(array) ? array->as.array.count : 0;
}

const tlw_toml_value *tlw_toml_array_get(const tlw_toml_value *array, size_t i)
{
    return is_array(array) && i < array->as.array.count ? array->as.array.items[i] : NULL;
}

const char *tlw_toml_string(const tlw_toml_value *v, size_t *len)
{
    bool has_text = v && (v->type == TLW_TOML_STRING || v->type == TLW_TOML_DATETIME);
    if (len)
        *len = has_text ? v->as.text.len : 0;
    return has_text ? v->as.text.bytes : NULL;
}

int64_t tlw_toml_integer(const tlw_toml_value *v)
{
    return v && v->type == TLW_TOML_INTEGER ? v->as.integer : 0;
}

double tlw_toml_float(const tlw_toml_value *v)
{
    return v && v->type == TLW_TOML_FLOAT ? v->as.real : 0.0;
}

bool tlw_toml_bool(const tlw_toml_value *v)
{
    return v && v->type == TLW_TOML_BOOL ? v->as.boolean : false;
}
