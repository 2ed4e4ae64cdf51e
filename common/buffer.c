#include "config.h"

#include "common/buffer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The first allocation: enough for a short line of text. */
#define FIRST_CAP 64

bool tlw_buffer_reserve(tlw_buffer *b, size_t extra)
{
    if (b->overflow || b->nomem)
        return false;
    if (b->max && extra > b->max - b->len) {
        b->overflow = true;
        return false;
    }
    if (b->cap > b->len && b->cap - b->len > extra)
        return true;
    size_t cap = b->cap ? b->cap : FIRST_CAP;
    while (cap - b->len <= extra) {
        if (cap > SIZE_MAX / 2) {
            b->nomem = true;
            return false;
        }
        cap *= 2;
    }
    char *data = realloc(b->data, cap);
    if (!data) {
        b->nomem = true;
        return false;
    }
    if (!b->data)
        data[0] = '\0';
    b->data = data;
    b->cap = cap;
    return true;
}

bool tlw_buffer_append(tlw_buffer *b, const void *bytes, size_t n)
{
    if (!tlw_buffer_reserve(b, n))
        return false;
    if (n)
        memcpy(b->data + b->len, bytes, n);
    tlw_buffer_added(b, n);
    return true;
}

bool tlw_buffer_puts(tlw_buffer *b, const char *s)
{
    return tlw_buffer_append(b, s, strlen(s));
}

bool tlw_buffer_putc(tlw_buffer *b, char c)
{
    return tlw_buffer_append(b, &c, 1);
}

size_t tlw_buffer_room(const tlw_buffer *b)
{
    return b->cap > b->len ? b->cap - b->len - 1 : 0;
}

void tlw_buffer_added(tlw_buffer *b, size_t n)
{
    if (!b->data)
        return;
    b->len += n;
    b->data[b->len] = '\0';
}

void tlw_buffer_clear(tlw_buffer *b)
{
    b->len = 0;
    b->overflow = false;
    b->nomem = false;
    if (b->data)
        b->data[0] = '\0';
}

void tlw_buffer_free(tlw_buffer *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->overflow = b->nomem = false;
}
