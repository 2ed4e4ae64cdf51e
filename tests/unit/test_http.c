/*
 * The HTTP/1.1 response parser of supervisor/http.c, without a network.
 * Every input is parsed three ways, in one piece, one byte at a time and
 * split in two at each byte boundary, and the three must agree: the parser
 * keeps its state between calls, so where the bytes are cut must not show.
 * The client itself is tested against a server thread in
 * tests/unit/test_runtime_api.c; here only its address check and deadline.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/error.h"
#include "supervisor/http.h"

#define HEADERS_MAX 1024
#define BODY_MAX 4096

/* What parsing an input came to. */
typedef struct outcome {
    tlw_status st;
    char message[TLW_ERROR_MESSAGE_MAX];
    int status;
    bool done, keep_alive, head_done;
    size_t used; /* bytes consumed (compared only when accepted) */
    char head[2 * HEADERS_MAX];
    size_t head_len;
    char body[2 * BODY_MAX];
    size_t body_len;
} outcome;

/*
 * Parses `n` bytes at `in` fed in pieces: the first of `first` bytes (0: no
 * split), then pieces of `step` bytes (0: all the rest at once). `eof`: the
 * connection then ends. Limits: HEADERS_MAX and `body_max`.
 */
static void parse_in_pieces(const char *in, size_t n, size_t first, size_t step, bool eof,
                            size_t body_max, outcome *out)
{
    memset(out, 0, sizeof *out);
    tlw_http_response r;
    tlw_http_response_init(&r, HEADERS_MAX, body_max);
    tlw_error err = {0};
    tlw_status st = TLW_OK;
    size_t pos = 0;
    while (pos < n && st == TLW_OK && !r.done) {
        size_t piece = n - pos;
        if (pos == 0 && first)
            piece = first < n ? first : n;
        else if (step && step < piece)
            piece = step;
        size_t used = 0;
        st = tlw_http_response_feed(&r, in + pos, piece, &used, &err);
        assert_true(used <= piece);
        if (st == TLW_OK && !r.done)
            assert_int_equal(used, piece); /* all is taken until the end */
        pos += used;
        if (st == TLW_OK && !r.done && used < piece)
            break;
    }
    if (st == TLW_OK && eof)
        st = tlw_http_response_eof(&r, &err);
    out->st = st;
    if (st != TLW_OK)
        snprintf(out->message, sizeof out->message, "%s", err.message);
    out->status = r.status;
    out->done = r.done;
    out->keep_alive = r.keep_alive;
    out->head_done = r.head_done;
    out->used = pos;
    assert_true(r.head.len <= sizeof out->head && r.body.len <= sizeof out->body);
    if (r.head.len)
        memcpy(out->head, r.head.data, r.head.len);
    out->head_len = r.head.len;
    if (r.body.len)
        memcpy(out->body, r.body.data, r.body.len);
    out->body_len = r.body.len;
    tlw_http_response_free(&r);
}

static void assert_same(const outcome *a, const outcome *b, const char *how, size_t at)
{
    if (a->st != b->st || strcmp(a->message, b->message) != 0 || a->status != b->status ||
        a->done != b->done || a->keep_alive != b->keep_alive || a->head_done != b->head_done ||
        (a->st == TLW_OK && a->used != b->used) || a->head_len != b->head_len ||
        memcmp(a->head, b->head, a->head_len) != 0 || a->body_len != b->body_len ||
        memcmp(a->body, b->body, a->body_len) != 0)
        fail_msg("parsed %s (%zu) differs from in one piece: status %d/%d, \"%s\" / \"%s\", "
                 "body %zu/%zu bytes, used %zu/%zu",
                 how, at, a->st, b->st, a->message, b->message, a->body_len, b->body_len, a->used,
                 b->used);
}

/* Parses in one piece, byte by byte and split at every boundary; checks
 * that all agree and returns the one-piece outcome in `out`. */
static void parse_every_way(const char *in, size_t n, bool eof, size_t body_max, outcome *out)
{
    outcome *other = malloc(sizeof *other);
    assert_non_null(other);
    parse_in_pieces(in, n, 0, 0, eof, body_max, out);
    parse_in_pieces(in, n, 0, 1, eof, body_max, other);
    assert_same(out, other, "byte by byte", 1);
    for (size_t k = 1; k < n; k++) {
        parse_in_pieces(in, n, k, 0, eof, body_max, other);
        assert_same(out, other, "split at byte", k);
    }
    free(other);
}

static void parse_text(const char *in, bool eof, outcome *out)
{
    parse_every_way(in, strlen(in), eof, BODY_MAX, out);
}

static void assert_says(const outcome *o, const char *says)
{
    if (o->st == TLW_OK)
        fail_msg("accepted; expected a refusal saying \"%s\"", says);
    if (!strstr(o->message, says))
        fail_msg("\"%s\" does not say \"%s\"", o->message, says);
}

/* --- what is accepted ----------------------------------------------------------- */

static void content_length_body(void **state)
{
    outcome *o = malloc(sizeof *o);
    const char *in = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"
                     "hello";
    parse_text(in, false, o);
    assert_int_equal(o->st, TLW_OK);
    assert_true(o->done && o->keep_alive && o->head_done);
    assert_int_equal(o->status, 200);
    assert_int_equal(o->body_len, 5);
    assert_memory_equal(o->body, "hello", 5);
    /* The head is the block as received, for tlw_runtime_api_parse_headers. */
    assert_int_equal(o->head_len, strlen(in) - 5);
    assert_memory_equal(o->head, in, o->head_len);
    assert_int_equal(o->used, strlen(in));

    /* Bytes after the end of the answer are not taken. */
    parse_text("HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200", false, o);
    assert_int_equal(o->st, TLW_OK);
    assert_true(o->done);
    assert_int_equal(o->status, 202);
    assert_int_equal(o->used, strlen("HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}"));

    /* A body with every byte value in it, NUL included. */
    char in2[400];
    int h = snprintf(in2, sizeof in2, "HTTP/1.1 200 OK\r\ncontent-length:  256 \r\n\r\n");
    for (int i = 0; i < 256; i++)
        in2[h + i] = (char)i;
    parse_every_way(in2, (size_t)h + 256, false, BODY_MAX, o);
    assert_int_equal(o->st, TLW_OK);
    assert_int_equal(o->body_len, 256);
    assert_memory_equal(o->body, in2 + h, 256);
    free(o);
}

static void chunked_body(void **state)
{
    outcome *o = malloc(sizeof *o);
    const char *in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5;name=value;other\r\nhello\r\n"
                     "7 ; ext\r\n worl\r\n\r\n" /* data may hold CRLF */
                     "A\r\n0123456789\r\n"
                     "0\r\nTrailer-One: x\r\nTrailer-Two: y\r\n\r\n";
    parse_text(in, false, o);
    assert_int_equal(o->st, TLW_OK);
    assert_true(o->done && o->keep_alive);
    assert_int_equal(o->body_len, 22);
    assert_memory_equal(o->body, "hello worl\r\n0123456789", 22);
    assert_int_equal(o->used, strlen(in));

    /* Bare LF line ends, upper-case hex, no trailers. */
    parse_text("HTTP/1.1 200 OK\ntransfer-encoding: Chunked\n\n1F\n"
               "0123456789012345678901234567890\n0\n\n",
               false, o);
    if (o->st != TLW_OK)
        fail_msg("%s", o->message);
    assert_true(o->done);
    assert_int_equal(o->body_len, 31);

    /* An empty chunked body. */
    parse_text("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false, o);
    assert_int_equal(o->st, TLW_OK);
    assert_true(o->done);
    assert_int_equal(o->body_len, 0);
    free(o);
}

static void body_until_close(void **state)
{
    outcome *o = malloc(sizeof *o);
    parse_text("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", false, o);
    assert_int_equal(o->st, TLW_OK);
    assert_false(o->done); /* the end is the connection's */
    assert_true(o->head_done);
    parse_text("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", true, o);
    assert_int_equal(o->st, TLW_OK);
    assert_true(o->done);
    assert_false(o->keep_alive);
    assert_int_equal(o->body_len, 13);
    assert_memory_equal(o->body, "until the end", 13);
    free(o);
}

static void answers_without_a_body(void **state)
{
    static const char *const cases[] = {
        "HTTP/1.1 204 No Content\r\n\r\n",
        "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
        /* 304 has no body whatever Content-Length says. */
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
        "HTTP/1.1 204\r\n\r\n", /* no reason phrase */
        "HTTP/1.1 202 \r\nContent-Length: 0\r\n\r\n",
    };
    outcome *o = malloc(sizeof *o);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        parse_text(cases[i], false, o);
        if (o->st != TLW_OK)
            fail_msg("case %zu: %s", i, o->message);
        assert_true(o->done && o->keep_alive);
        assert_int_equal(o->body_len, 0);
        assert_int_equal(o->used, strlen(cases[i]));
    }
    free(o);
}

static void interim_answers_are_skipped(void **state)
{
    outcome *o = malloc(sizeof *o);
    const char *final = "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n";
    char in[256];
    snprintf(in, sizeof in,
             "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
             "Link: </a>\r\n\r\n%s{}",
             final);
    parse_text(in, false, o);
    assert_int_equal(o->st, TLW_OK);
    assert_int_equal(o->status, 202);
    assert_memory_equal(o->body, "{}", 2);
    /* Only the final answer's head is kept. */
    assert_int_equal(o->head_len, strlen(final));
    assert_memory_equal(o->head, final, strlen(final));
    free(o);
}

static void connection_reuse(void **state)
{
    static const struct {
        const char *in;
        bool keep_alive;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
        {"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true},
        {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false},
        {"HTTP/1.1 200 OK\r\nconnection: Keep-Alive, CLOSE\r\nContent-Length: 0\r\n\r\n", false},
        {"HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 0\r\n\r\n", true},
        {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false},
    };
    outcome *o = malloc(sizeof *o);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        parse_text(cases[i].in, false, o);
        assert_int_equal(o->st, TLW_OK);
        assert_true(o->done);
        if (o->keep_alive != cases[i].keep_alive)
            fail_msg("case %zu: keep_alive %d", i, o->keep_alive);
    }
    free(o);
}

/* --- what is refused ------------------------------------------------------------ */

#define OK_LINE "HTTP/1.1 200 OK\r\n"
#define CHUNKED OK_LINE "Transfer-Encoding: chunked\r\n\r\n"

static void malformed_answers_are_refused(void **state)
{
    static const struct {
        const char *in;
        const char *says;
        bool head_done; /* the final header block was whole when refused */
    } cases[] = {
        {"garbage\r\n\r\n", "is not HTTP/1.x: bad status line \"garbage\"", false},
        {"HTTP/2 200 OK\r\n\r\n", "bad status line", false},
        {"HTTP/1.2 200 OK\r\n\r\n", "bad status line", false},
        {"HTTP/1.1  200 OK\r\n\r\n", "bad status line", false},
        {"HTTP/1.1 20 OK\r\n\r\n", "bad status line", false},
        {"HTTP/1.1 2000 OK\r\n\r\n", "bad status line", false},
        {"HTTP/1.1 099 Low\r\n\r\n", "bad status line", false},
        {"HTTP/1.1 600 High\r\n\r\n", "bad status line", false},
        {"HTTP/1.1 2x0 OK\r\n\r\n", "bad status line", false},
        {"http/1.1 200 OK\r\n\r\n", "bad status line", false},
        {"HTTP/1.1 200 O\x01K\r\n\r\n", "bad status line \"HTTP/1.1 200 O?K\"", false},
        {"\r\nHTTP/1.1 200 OK\r\n\r\n", "bad status line", false},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", "101 Switching Protocols",
         false},
        {OK_LINE "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
         "both Content-Length and Transfer-Encoding", true},
        {OK_LINE "Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n",
         "both Content-Length and Transfer-Encoding", true},
        {OK_LINE "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", "Content-Length twice", true},
        {OK_LINE "Content-Length: 2, 2\r\n\r\n{}", "invalid Content-Length \"2, 2\"", true},
        {OK_LINE "Content-Length: -1\r\n\r\n", "invalid Content-Length \"-1\"", true},
        {OK_LINE "Content-Length: +2\r\n\r\n{}", "invalid Content-Length", true},
        {OK_LINE "Content-Length: 0x10\r\n\r\n", "invalid Content-Length", true},
        {OK_LINE "Content-Length: 1 0\r\n\r\n", "invalid Content-Length", true},
        {OK_LINE "Content-Length:\r\n\r\n", "invalid Content-Length \"\"", true},
        {OK_LINE "Content-Length: 1234567890123456789\r\n\r\n", "invalid Content-Length", true},
        {OK_LINE "Transfer-Encoding: gzip, chunked\r\n\r\n", "only \"chunked\" is supported", true},
        {OK_LINE "Transfer-Encoding: identity\r\n\r\n", "only \"chunked\" is supported", true},
        {OK_LINE "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
         "Transfer-Encoding twice", true},
        {OK_LINE "X-Ctl: a\x01z\r\n\r\n", "control character 0x01 in header line \"X-Ctl: a?z\"",
         true},
        {OK_LINE "X-Cr: a\rb\r\n\r\n", "control character 0x0d", true},
        {OK_LINE "X-Del: a\x7f\r\n\r\n", "control character 0x7f", true},
        {OK_LINE "X-Folded: a\r\n continued\r\n\r\n", "folded header line", true},
        {OK_LINE "no colon here\r\n\r\n", "header line without a colon: \"no colon here\"", true},
        {OK_LINE ": no name\r\n\r\n", "bad header name", true},
        {OK_LINE "Bad Name: x\r\n\r\n", "bad header name in \"Bad Name: x\"", true},
        {OK_LINE "Content-Length : 2\r\n\r\n{}", "bad header name", true},
        {CHUNKED "zz\r\n", "bad chunk size line \"zz\"", true},
        {CHUNKED "\r\n", "bad chunk size line", true},
        {CHUNKED "-1\r\n", "bad chunk size line", true},
        {CHUNKED " 5\r\nhello\r\n0\r\n\r\n", "bad chunk size line", true},
        {CHUNKED "5 x\r\nhello\r\n0\r\n\r\n", "bad chunk size line", true},
        {CHUNKED "0x5\r\nhello\r\n0\r\n\r\n", "bad chunk size line", true},
        {CHUNKED "1000000000000000\r\n", "bad chunk size line", true},
        {CHUNKED "5\r\nhelloXX", "bad chunk ending: byte 0x58 where CRLF was expected", true},
        {CHUNKED "5\r\nhello\r\r\n", "bad chunk ending: byte 0x0d", true},
    };
    outcome *o = malloc(sizeof *o);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        parse_text(cases[i].in, true, o);
        if (o->st != TLW_ERR_PROTOCOL)
            fail_msg("case %zu (%s): status %d, \"%s\"", i, cases[i].in, o->st, o->message);
        assert_says(o, cases[i].says);
        assert_false(o->done);
        if (o->head_done != cases[i].head_done)
            fail_msg("case %zu: head_done %d", i, o->head_done);
    }

    /* A NUL byte in a header value: the length, not strlen, counts. */
    static const char with_nul[] = OK_LINE "X-Nul: a\0b\r\nContent-Length: 0\r\n\r\n";
    parse_every_way(with_nul, sizeof with_nul - 1, true, BODY_MAX, o);
    assert_int_equal(o->st, TLW_ERR_PROTOCOL);
    assert_says(o, "control character 0x00");
    free(o);
}

static void a_refused_answer_stays_refused(void **state)
{
    tlw_http_response r;
    tlw_http_response_init(&r, HEADERS_MAX, BODY_MAX);
    tlw_error err;
    size_t used;
    assert_int_equal(tlw_http_response_feed(&r, "garbage\n", 8, &used, &err), TLW_ERR_PROTOCOL);
    assert_int_equal(tlw_http_response_feed(&r, "HTTP/1.1 200 OK\r\n", 17, &used, &err),
                     TLW_ERR_PROTOCOL);
    assert_int_equal(used, 0);
    assert_int_equal(tlw_http_response_eof(&r, &err), TLW_ERR_PROTOCOL);
    /* reset makes it usable again */
    tlw_http_response_reset(&r);
    assert_int_equal(tlw_http_response_feed(&r, "HTTP/1.1 204 No\r\n\r\n", 19, &used, &err),
                     TLW_OK);
    assert_true(r.done);
    tlw_http_response_free(&r);
}

static void answers_cut_short(void **state)
{
    static const struct {
        const char *in;
        const char *says;
    } cases[] = {
        {"HTTP/1.1 200", "closed in the middle of the answer's headers"},
        {OK_LINE "Content-Length: 10\r\n", "closed in the middle of the answer's headers"},
        {OK_LINE "Content-Length: 10\r\n\r\nabc", "answer's body (7 bytes missing)"},
        {CHUNKED "5\r\nhel", "answer's chunked body"},
        {CHUNKED "5\r\nhello\r\n", "answer's chunked body"},
        {CHUNKED "0\r\nTrailer: x\r\n", "answer's chunked body"},
    };
    outcome *o = malloc(sizeof *o);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        parse_text(cases[i].in, false, o);
        assert_int_equal(o->st, TLW_OK); /* so far so good */
        assert_false(o->done);
        parse_text(cases[i].in, true, o);
        if (o->st != TLW_ERR_PROTOCOL)
            fail_msg("case %zu was accepted at its end", i);
        assert_says(o, cases[i].says);
    }
    free(o);
}

/* --- limits ----------------------------------------------------------------------- */

static void header_block_limit(void **state)
{
    /* HEADERS_MAX bytes of head (the empty line included) pass; one more
     * does not. */
    char *in = malloc(HEADERS_MAX + 64);
    outcome *o = malloc(sizeof *o);
    for (int extra = 0; extra <= 1; extra++) {
        const char *start = OK_LINE "X-Pad: ";
        const char *end = "\r\nContent-Length: 0\r\n\r\n";
        size_t pad = HEADERS_MAX - strlen(start) - strlen(end) + (size_t)extra;
        strcpy(in, start);
        memset(in + strlen(start), 'p', pad);
        strcpy(in + strlen(start) + pad, end);
        parse_text(in, false, o);
        if (extra) {
            assert_int_equal(o->st, TLW_ERR_PROTOCOL);
            assert_says(o, "the answer has more than 1024 bytes of headers");
            assert_false(o->head_done);
        } else {
            assert_int_equal(o->st, TLW_OK);
            assert_true(o->done);
            assert_int_equal(o->head_len, HEADERS_MAX);
        }
    }
    /* A status line that never ends. */
    memset(in, 'H', HEADERS_MAX + 10);
    memcpy(in, "HTTP/1.1 200 ", 13);
    in[HEADERS_MAX + 10] = '\0';
    parse_text(in, false, o);
    assert_says(o, "more than 1024 bytes of headers");
    free(in);
    free(o);
}

static void body_limit(void **state)
{
    outcome *o = malloc(sizeof *o);
    char *in = malloc(3 * BODY_MAX);
    enum { LENGTH, CHUNKS, UNTIL_CLOSE };
    for (int how = LENGTH; how <= UNTIL_CLOSE; how++) {
        for (size_t size = BODY_MAX; size <= BODY_MAX + 1; size++) {
            int n = 0;
            if (how == LENGTH) {
                n = sprintf(in, OK_LINE "Content-Length: %zu\r\n\r\n", size);
                memset(in + n, 'b', size);
                n += (int)size;
            } else if (how == CHUNKS) {
                /* Chunks of 1000 bytes: the one that passes the limit is refused. */
                n = sprintf(in, CHUNKED);
                for (size_t left = size; left;) {
                    size_t k = left < 1000 ? left : 1000;
                    n += sprintf(in + n, "%zx\r\n", k);
                    memset(in + n, 'b', k);
                    n += (int)k;
                    n += sprintf(in + n, "\r\n");
                    left -= k;
                }
                n += sprintf(in + n, "0\r\n\r\n");
            } else {
                n = sprintf(in, OK_LINE "\r\n");
                memset(in + n, 'b', size);
                n += (int)size;
            }
            /* Every split is too slow for 4 KiB bodies: one piece and bytes. */
            outcome *bytes = malloc(sizeof *bytes);
            parse_in_pieces(in, (size_t)n, 0, 0, true, BODY_MAX, o);
            parse_in_pieces(in, (size_t)n, 0, 1, true, BODY_MAX, bytes);
            assert_same(o, bytes, "byte by byte", 1);
            free(bytes);
            if (size == BODY_MAX) {
                if (o->st != TLW_OK)
                    fail_msg("framing %d: %s", how, o->message);
                assert_true(o->done);
                assert_int_equal(o->body_len, BODY_MAX);
            } else {
                assert_int_equal(o->st, TLW_ERR_PROTOCOL);
                assert_says(o, "the answer's body is larger than 4096 bytes");
                assert_true(o->head_done);
                if (how == LENGTH) {
                    /* Refused when announced, before any byte of it. */
                    assert_says(o, "(Content-Length: 4097)");
                    assert_int_equal(o->body_len, 0);
                }
            }
        }
    }
    /* No limit: 0. */
    int n = sprintf(in, OK_LINE "Content-Length: %d\r\n\r\n", 2 * BODY_MAX);
    memset(in + n, 'b', 2 * BODY_MAX);
    parse_in_pieces(in, (size_t)n + 2 * BODY_MAX, 0, 0, false, 0, o);
    assert_int_equal(o->st, TLW_OK);
    assert_int_equal(o->body_len, 2 * BODY_MAX);
    free(in);
    free(o);
}

static void chunk_line_and_trailer_limits(void **state)
{
    outcome *o = malloc(sizeof *o);
    char *in = malloc(3 * HEADERS_MAX + 8192);
    /* Extensions are skipped, but not forever. */
    int n = sprintf(in, CHUNKED "5;");
    memset(in + n, 'e', 4000);
    n += 4000;
    n += sprintf(in + n, "\r\nhello\r\n0\r\n\r\n");
    parse_in_pieces(in, (size_t)n, 0, 0, false, BODY_MAX, o);
    assert_int_equal(o->st, TLW_OK);
    assert_memory_equal(o->body, "hello", 5);
    n = sprintf(in, CHUNKED "5;");
    memset(in + n, 'e', 5000);
    n += 5000;
    parse_in_pieces(in, (size_t)n, 0, 0, false, BODY_MAX, o);
    assert_says(o, "chunk size line longer than 4096 bytes");

    /* Trailers are skipped, within the header limit. */
    n = sprintf(in, CHUNKED "0\r\nX-T: ");
    memset(in + n, 't', HEADERS_MAX);
    n += HEADERS_MAX;
    n += sprintf(in + n, "\r\n\r\n");
    parse_in_pieces(in, (size_t)n, 0, 0, false, BODY_MAX, o);
    assert_says(o, "more than 1024 bytes of trailer lines");
    free(in);
    free(o);
}

/* --- the client: addresses and deadline ----------------------------------------- */

static void client_addresses_are_host_and_port(void **state)
{
    const char *good[] = {"127.0.0.1:9001", "localhost:1", "[::1]:9001"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        tlw_http_client *c;
        tlw_error err;
        assert_int_equal(tlw_http_client_open(good[i], 1000, &c, &err), TLW_OK);
        tlw_http_client_close(c);
    }
    const char *bad[] = {"", "host", "host:", ":1", "[::1]", "[::1]9001", "[]:1", "host:1x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tlw_http_client *c = (tlw_http_client *)1;
        tlw_error err;
        if (tlw_http_client_open(bad[i], 1000, &c, &err) != TLW_ERR_INVALID)
            fail_msg("address \"%s\" was accepted", bad[i]);
        assert_null(c);
    }
    tlw_http_client_close(NULL);
}

static void the_client_gives_up_at_its_deadline(void **state)
{
    /* A peer that accepts (the kernel does, from the backlog) and never
     * answers. */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(listener, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(listener, 4), 0);
    assert_int_equal(getsockname(listener, (struct sockaddr *)&a, &len), 0);
    char address[32];
    snprintf(address, sizeof address, "127.0.0.1:%d", ntohs(a.sin_port));

    tlw_http_client *c;
    tlw_error err;
    assert_int_equal(tlw_http_client_open(address, 1000, &c, &err), TLW_OK);
    tlw_http_response r;
    tlw_http_response_init(&r, HEADERS_MAX, BODY_MAX);
    tlw_http_request req = {.method = "POST", .path = "/x", .body = "{}", .body_len = 2};
    bool maybe_sent = false;
    int64_t start = tlw_monotonic_ms();
    assert_int_equal(tlw_http_client_exchange(c, &req, start + 200, &r, &maybe_sent, &err),
                     TLW_ERR_TIMEOUT);
    int64_t took = tlw_monotonic_ms() - start;
    assert_true(took >= 190 && took < 1500);
    assert_true(maybe_sent);
    char says[96];
    snprintf(says, sizeof says, "the deadline passed waiting for %s to answer", address);
    if (!strstr(err.message, says))
        fail_msg("\"%s\" does not say \"%s\"", err.message, says);
    tlw_http_response_free(&r);
    tlw_http_client_close(c);
    close(listener);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(content_length_body),
        cmocka_unit_test(chunked_body),
        cmocka_unit_test(body_until_close),
        cmocka_unit_test(answers_without_a_body),
        cmocka_unit_test(interim_answers_are_skipped),
        cmocka_unit_test(connection_reuse),
        cmocka_unit_test(malformed_answers_are_refused),
        cmocka_unit_test(a_refused_answer_stays_refused),
        cmocka_unit_test(answers_cut_short),
        cmocka_unit_test(header_block_limit),
        cmocka_unit_test(body_limit),
        cmocka_unit_test(chunk_line_and_trailer_limits),
        cmocka_unit_test(client_addresses_are_host_and_port),
        cmocka_unit_test(the_client_gives_up_at_its_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
