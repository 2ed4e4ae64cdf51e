#include "config.h"

#include "common/metadata.h"

#include <stdio.h>
#include <string.h>

static bool key_char_valid(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

const char *tlw_metadata_key_problem(const char *key)
{
    if (!key || !*key)
        return "a gRPC metadata key cannot be empty";
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        if (!key_char_valid(*p))
            return "a gRPC metadata key may contain only lower-case letters, digits, '-', '_' "
                   "and '.'";
    return NULL;
}

bool tlw_metadata_key_is_binary(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    return n >= 4 && strcmp(key + n - 4, "-bin") == 0;
}

const char *tlw_metadata_value_problem(const char *key, const char *value, size_t *position)
{
    if (position)
        *position = 0;
    if (!value)
        return "a gRPC metadata entry needs a value";
    if (tlw_metadata_key_is_binary(key))
        return NULL;
    for (size_t i = 0; value[i]; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c > 0x7E) {
            if (position)
                *position = i + 1;
            return "gRPC sends only printable ASCII (space to '~') in the value of a key that "
                   "does not end in \"-bin\"; remove the character (often a trailing newline) "
                   "or send binary data under a key ending in \"-bin\"";
        }
    }
    return NULL;
}

const char *tlw_metadata_key_show(const char *key, char *buf, size_t size)
{
    size_t out = 0;
    if (size == 0)
        return buf;
    for (const unsigned char *p = (const unsigned char *)(key ? key : ""); *p; p++) {
        char piece[8];
        size_t n;
        if (*p >= 0x20 && *p <= 0x7E && *p != '"' && *p != '\\') {
            piece[0] = (char)*p;
            n = 1;
        } else {
            n = (size_t)snprintf(piece, sizeof piece, "\\x%02X", *p);
        }
        if (out + n + 4 > size) {
            if (out + 4 <= size) {
                memcpy(buf + out, "...", 3);
                out += 3;
            }
            break;
        }
        memcpy(buf + out, piece, n);
        out += n;
    }
    buf[out] = '\0';
    return buf;
}
