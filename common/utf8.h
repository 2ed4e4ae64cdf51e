/*
 * common/utf8: the one UTF-8 check (RFC 3629). Valid is what Unicode calls
 * well-formed: no overlong form, no surrogate (U+D800..U+DFFF), nothing
 * above U+10FFFF. The TOML parser refuses a file that is not, the payload
 * converter refuses a string that is not, and the Runtime API client
 * replaces what is not before jansson sees it; all three ask this decoder,
 * so they agree on every byte. And two helpers for text from peers.
 */
#ifndef TLW_COMMON_UTF8_H
#define TLW_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a sequence is not valid UTF-8, for messages that say. */
typedef enum tlw_utf8_problem {
    TLW_UTF8_VALID,
    TLW_UTF8_BAD_LEAD,         /* a byte that cannot start a character */
    TLW_UTF8_TRUNCATED,        /* the input ends inside a character */
    TLW_UTF8_BAD_CONTINUATION, /* a byte that cannot continue the character */
    TLW_UTF8_OUT_OF_RANGE,     /* an overlong form, a surrogate or above U+10FFFF */
} tlw_utf8_problem;

/*
 * Decodes the character at s[0..len) (len >= 1). Returns its length in
 * bytes (1 to 4) and sets *cp (if not NULL) to its code point; or returns 0
 * and sets *problem (if not NULL). The checks run in the order of the enum,
 * so a sequence cut short by the end of the input is TRUNCATED whatever its
 * last bytes are.
 */
size_t tlw_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp,
                       tlw_utf8_problem *problem);

/* Whether s[0..len) is valid UTF-8 without a NUL byte: the text the
 * decoders of messages between processes accept (ipc, metrics, spans). */
bool tlw_utf8_text(const char *s, size_t len);

/* At most 60 bytes of s[0..n) for an error message, into `out`, anything
 * unprintable shown as '?' and a longer text cut with "...", so that a
 * hostile peer cannot put control characters into the logs. Returns `out`. */
const char *tlw_text_printable(char out[64], const char *s, size_t n);

/* The value of hexadecimal digit `c` (either case), or -1. */
int tlw_hex_value(int c);

#endif
