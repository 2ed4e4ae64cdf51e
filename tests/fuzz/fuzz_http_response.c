/*
 * Fuzzes the HTTP/1.1 response parser (supervisor/http.c). The first byte
 * picks a piece size (1 to 16); the rest is what the peer sent, then the
 * connection ends. Properties checked besides "never crash": the answer fed
 * in one piece and in pieces of that size parses the same (status, message,
 * head, body); the limits hold; an accepted answer has a status from 100 to
 * 599 and a NUL-terminated body.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "supervisor/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADERS_MAX 512
#define BODY_MAX 1024

static tlw_status parse(const char *in, size_t n, size_t step, tlw_http_response *r, tlw_error *err)
{
    tlw_http_response_init(r, HEADERS_MAX, BODY_MAX);
    tlw_status st = TLW_OK;
    for (size_t pos = 0; pos < n && st == TLW_OK && !r->done;) {
        size_t piece = step && step < n - pos ? step : n - pos, used = 0;
        st = tlw_http_response_feed(r, in + pos, piece, &used, err);
        if (used > piece || (st == TLW_OK && !r->done && used != piece))
            abort();
        pos += used;
    }
    if (st == TLW_OK)
        st = tlw_http_response_eof(r, err);
    if (r->head.len > HEADERS_MAX || r->body.len > BODY_MAX)
        abort();
    if (st == TLW_OK) {
        if (!r->done || r->status < 100 || r->status > 599 || !r->head_done)
            abort();
        if (r->body.data && r->body.data[r->body.len] != '\0')
            abort();
    }
    return st;
}

static bool same_buffer(const tlw_buffer *a, const tlw_buffer *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)(data[0] % 16) + 1;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;

    tlw_http_response whole, pieces;
    tlw_error err_whole = {0}, err_pieces = {0};
    tlw_status st_whole = parse(in, n, 0, &whole, &err_whole);
    tlw_status st_pieces = parse(in, n, step, &pieces, &err_pieces);
    if (st_whole != st_pieces || whole.status != pieces.status || whole.done != pieces.done ||
        whole.head_done != pieces.head_done || whole.keep_alive != pieces.keep_alive ||
        !same_buffer(&whole.head, &pieces.head) || !same_buffer(&whole.body, &pieces.body) ||
        (st_whole != TLW_OK && strcmp(err_whole.message, err_pieces.message) != 0))
        abort();
    tlw_http_response_free(&whole);
    tlw_http_response_free(&pieces);
    return 0;
}
