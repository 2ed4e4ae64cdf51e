/*
 * common/buffer: the one growable byte buffer (as Redis has one sds). It
 * doubles as it grows, keeps its bytes NUL-terminated so that text can be
 * used as a C string, and may be capped: a peer that sends more than the
 * cap is refused, not followed.
 *
 * A failure is remembered (`nomem`, `overflow`) and every later addition
 * fails too, so that a writer that makes many small additions may check
 * once at the end.
 *
 * Start with `tlw_buffer b = {0}` (or set .max); the caller owns b.data and
 * frees it with tlw_buffer_free(), or takes it over (then must free() it).
 */
#ifndef TLW_COMMON_BUFFER_H
#define TLW_COMMON_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tlw_buffer {
    char *data;    /* NULL until the first addition; then NUL-terminated */
    size_t len;    /* bytes held, the NUL not counted */
    size_t cap;    /* bytes allocated at data */
    size_t max;    /* the most bytes it may hold; 0: no cap */
    bool overflow; /* an addition would have passed `max` */
    bool nomem;    /* an allocation failed */
} tlw_buffer;

/* Makes room for `extra` more bytes and the NUL, and allocates `data` if it
 * was NULL. False (and the flag set) past `max` or out of memory. */
bool tlw_buffer_reserve(tlw_buffer *b, size_t extra);

/* Appends `n` bytes. False (and nothing appended) past `max`, out of
 * memory, or after an earlier failure. */
bool tlw_buffer_append(tlw_buffer *b, const void *bytes, size_t n);
bool tlw_buffer_puts(tlw_buffer *b, const char *s);
bool tlw_buffer_putc(tlw_buffer *b, char c);

/* The bytes free after data + len (the NUL's byte not counted): where a
 * read may write after tlw_buffer_reserve(). */
size_t tlw_buffer_room(const tlw_buffer *b);

/* Counts `n` bytes written at data + len (at most tlw_buffer_room()). */
void tlw_buffer_added(tlw_buffer *b, size_t n);

/* Empties the buffer and forgets its failures, keeping its memory. */
void tlw_buffer_clear(tlw_buffer *b);

/* Frees the memory and empties the buffer (max stays). */
void tlw_buffer_free(tlw_buffer *b);

#endif
