#include "config.h"

#include "common/utf8.h"

#include <string.h>

static size_t refuse(tlw_utf8_problem why, tlw_utf8_problem *problem)
{
    if (problem)
        *problem = why;
    return 0;
}

size_t tlw_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp,
                       tlw_utf8_problem *problem)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        n = 1, v = c, min = 0;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return refuse(TLW_UTF8_BAD_LEAD, problem);
    }
    if (n > len)
        return refuse(TLW_UTF8_TRUNCATED, problem);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return refuse(TLW_UTF8_BAD_CONTINUATION, problem);
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return refuse(TLW_UTF8_OUT_OF_RANGE, problem);
    if (cp)
        *cp = v;
    if (problem)
        *problem = TLW_UTF8_VALID;
    return n;
}

bool tlw_utf8_text(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        if (p[i] == 0)
            return false;
        size_t n = tlw_utf8_decode(p + i, len - i, NULL, NULL);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

const char *tlw_text_printable(char out[64], const char *s, size_t n)
{
    size_t i = 0;
    for (; i < n && i < 60; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (n > 60) {
        memcpy(out + 57, "...", 3);
        i = 60;
    }
    out[i] = '\0';
    return out;
}

int tlw_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
