/*
 * A small HTTP/1.1 client for the Lambda Runtime API (see http.h for what it
 * is and is not). The response parser is a byte-driven state machine, so
 * that an answer fed in one piece or one byte at a time parses the same.
 * The client is blocking, with poll() for every wait so that a deadline
 * bounds connect, send and receive alike.
 */
#include "config.h"

#include "supervisor/http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/buffer.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/utf8.h"

/* Longest chunk-size line, extensions included. Ours are a few bytes; the
 * bound only stops a peer from making us read forever. */
#define CHUNK_LINE_MAX 4096
/* Most hex digits in a chunk size: 15 keeps it below 2^60. */
#define CHUNK_SIZE_DIGITS_MAX 15
/* Most digits in a Content-Length: 18 keeps it below 10^18 < 2^63. */
#define CONTENT_LENGTH_DIGITS_MAX 18
/* Room reserved ahead for a body announced by Content-Length (it grows past
 * this as bytes arrive). */
#define BODY_RESERVE_MAX (8 * 1024 * 1024)
#define RECV_SIZE (64 * 1024)

enum {
    ST_STATUS,      /* reading the status line */
    ST_HEADERS,     /* reading header lines up to the empty line */
    ST_BODY_LENGTH, /* `remaining` bytes of a Content-Length body */
    ST_BODY_CLOSE,  /* body bytes until the connection ends */
    ST_CHUNK_SIZE,  /* a chunk-size line */
    ST_CHUNK_DATA,  /* `remaining` bytes of chunk data */
    ST_CHUNK_END,   /* the CRLF after chunk data */
    ST_TRAILERS,    /* trailer lines up to the empty line */
    ST_DONE,
};

/* --- the response parser --------------------------------------------------------- */

void tlw_http_response_init(tlw_http_response *r, size_t headers_max, size_t body_max)
{
    /* The buffers have no cap of their own: the parser checks the limits,
     * with messages that say which one was passed. */
    memset(r, 0, sizeof *r);
    r->headers_max = headers_max;
    r->body_max = body_max;
    r->state = ST_STATUS;
}

void tlw_http_response_reset(tlw_http_response *r)
{
    tlw_buffer head = r->head, body = r->body;
    tlw_buffer_clear(&head);
    tlw_buffer_clear(&body);
    tlw_http_response_init(r, r->headers_max, r->body_max);
    r->head = head;
    r->body = body;
}

void tlw_http_response_free(tlw_http_response *r)
{
    tlw_buffer_free(&r->head);
    tlw_buffer_free(&r->body);
}

static tlw_status fail(tlw_http_response *r, tlw_error *err, tlw_status status, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

static tlw_status fail(tlw_http_response *r, tlw_error *err, tlw_status status, const char *fmt,
                       ...)
{
    char message[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    r->failed = status;
    return tlw_error_set(err, status, "%s", message);
}

static tlw_status too_large(tlw_http_response *r, tlw_error *err)
{
    /* What was kept of it depends on how the bytes were cut: none is. */
    tlw_buffer_clear(&r->body);
    return fail(r, err, TLW_ERR_PROTOCOL, "the answer's body is larger than %zu bytes",
                r->body_max);
}

static tlw_status finish(tlw_http_response *r)
{
    r->state = ST_DONE;
    r->done = true;
    r->keep_alive = !r->close;
    return TLW_OK;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_token_char(unsigned char c)
{
    /* RFC 9110 tchar */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit((char)c) ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* `line` without its line end: "HTTP/1.1 200 OK". */
static tlw_status parse_status_line(tlw_http_response *r, const char *line, size_t n,
                                    tlw_error *err)
{
    char shown[64];
    /* HTTP-version SP 3DIGIT [SP reason]: the reason may be absent, which
     * some servers do (RFC 9112 section 4 asks clients to accept that). */
    bool ok = n >= 12 && memcmp(line, "HTTP/1.", 7) == 0 && (line[7] == '0' || line[7] == '1') &&
              line[8] == ' ' && is_digit(line[9]) && is_digit(line[10]) && is_digit(line[11]) &&
              (n == 12 || line[12] == ' ');
    int status = ok ? (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0') : 0;
    if (ok && (status < 100 || status > 599))
        ok = false;
    for (size_t i = 12; ok && i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            ok = false;
    }
    if (!ok)
        return fail(r, err, TLW_ERR_PROTOCOL,
                    "the answer is not HTTP/1.x: bad status line \"%s\" (expected "
                    "\"HTTP/1.1 200 OK\")",
                    tlw_text_printable(shown, line, n));
    if (status == 101)
        return fail(r, err, TLW_ERR_PROTOCOL,
                    "the answer is 101 Switching Protocols, which was not asked for");
    r->status = status;
    r->minor_version = line[7] - '0';
    return TLW_OK;
}

/* What the header lines of a block said about framing. */
typedef struct framing {
    int content_lengths;
    int transfer_encodings;
    uint64_t content_length;
    bool chunked;
    bool close;
} framing;

/* Whether the comma-separated list `v` (`n` bytes) has the token `token`. */
static bool list_has(const char *v, size_t n, const char *token)
{
    size_t tlen = strlen(token), i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < n && v[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (end - start == tlen && strncasecmp(v + start, token, tlen) == 0)
            return true;
    }
    return false;
}

/* One header line, without its line end. */
static tlw_status parse_header_line(tlw_http_response *r, const char *line, size_t n, framing *f,
                                    tlw_error *err)
{
    char shown[64];
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(r, err, TLW_ERR_PROTOCOL,
                        "the answer has a control character 0x%02x in header line \"%s\"", c,
                        tlw_text_printable(shown, line, n));
    }
    if (line[0] == ' ' || line[0] == '\t')
        return fail(r, err, TLW_ERR_PROTOCOL,
                    "the answer has a folded header line \"%s\" (obsolete, not accepted)",
                    tlw_text_printable(shown, line, n));
    const char *colon = memchr(line, ':', n);
    if (!colon)
        return fail(r, err, TLW_ERR_PROTOCOL,
                    "the answer has a header line without a colon: \"%s\"",
                    tlw_text_printable(shown, line, n));
    size_t name_len = (size_t)(colon - line);
    bool name_ok = name_len > 0;
    for (size_t i = 0; i < name_len && name_ok; i++)
        name_ok = is_token_char((unsigned char)line[i]);
    if (!name_ok)
        return fail(r, err, TLW_ERR_PROTOCOL, "the answer has a bad header name in \"%s\"",
                    tlw_text_printable(shown, line, n));
    const char *v = colon + 1;
    size_t vlen = n - name_len - 1;
    while (vlen && (v[0] == ' ' || v[0] == '\t'))
        v++, vlen--;
    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;

    if (name_len == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
        if (++f->content_lengths > 1)
            return fail(r, err, TLW_ERR_PROTOCOL, "the answer has Content-Length twice");
        bool digits = vlen > 0 && vlen <= CONTENT_LENGTH_DIGITS_MAX;
        uint64_t value = 0;
        for (size_t i = 0; i < vlen && digits; i++) {
            digits = is_digit(v[i]);
            value = value * 10 + (uint64_t)(v[i] - '0');
        }
        if (!digits)
            return fail(r, err, TLW_ERR_PROTOCOL,
                        "the answer has an invalid Content-Length \"%s\" (not a decimal number "
                        "of at most %d digits)",
                        tlw_text_printable(shown, v, vlen), CONTENT_LENGTH_DIGITS_MAX);
        f->content_length = value;
    } else if (name_len == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
        if (++f->transfer_encodings > 1)
            return fail(r, err, TLW_ERR_PROTOCOL, "the answer has Transfer-Encoding twice");
        if (vlen != 7 || strncasecmp(v, "chunked", 7) != 0)
            return fail(r, err, TLW_ERR_PROTOCOL,
                        "the answer has Transfer-Encoding \"%s\": only \"chunked\" is supported",
                        tlw_text_printable(shown, v, vlen));
        f->chunked = true;
    } else if (name_len == 10 && strncasecmp(line, "Connection", 10) == 0) {
        if (list_has(v, vlen, "close"))
            f->close = true;
    }
    return TLW_OK;
}

/* The header block is complete (`head` ends with the empty line): check
 * every line, then decide how the body is delimited (RFC 9112 section 6.3). */
static tlw_status end_of_head(tlw_http_response *r, tlw_error *err)
{
    framing f = {0};
    const char *p = r->head.data;
    size_t len = r->head.len;
    /* The status line was checked when it arrived. */
    const char *nl = memchr(p, '\n', len);
    size_t pos = (size_t)(nl - p) + 1;
    bool interim = r->status < 200;
    if (!interim)
        r->head_done = true;
    while (pos < len) {
        const char *line = p + pos;
        nl = memchr(line, '\n', len - pos);
        size_t n = (size_t)(nl - line);
        pos += n + 1;
        if (n && line[n - 1] == '\r')
            n--;
        if (n == 0)
            break; /* the empty line, last in `head` */
        tlw_status st = parse_header_line(r, line, n, &f, err);
        if (st != TLW_OK)
            return st;
    }
    if (f.content_lengths && f.transfer_encodings)
        return fail(r, err, TLW_ERR_PROTOCOL,
                    "the answer has both Content-Length and Transfer-Encoding (an answer "
                    "that could be read two ways is refused)");
    if (interim) {
        /* 100 Continue, 103 Early Hints: the final answer follows. */
        tlw_buffer_clear(&r->head);
        r->line_start = 0;
        r->state = ST_STATUS;
        return TLW_OK;
    }
    r->close = f.close || r->minor_version == 0;
    if (r->status == 204 || r->status == 304)
        return finish(r);
    if (f.chunked) {
        r->chunked = true;
        r->state = ST_CHUNK_SIZE;
        r->line_len = 0;
        return TLW_OK;
    }
    if (f.content_lengths) {
        if (r->body_max && f.content_length > r->body_max)
            return fail(r, err, TLW_ERR_PROTOCOL,
                        "the answer's body is larger than %zu bytes (Content-Length: %llu)",
                        r->body_max, (unsigned long long)f.content_length);
        if (f.content_length == 0)
            return finish(r);
        size_t reserve =
            f.content_length < BODY_RESERVE_MAX ? (size_t)f.content_length : BODY_RESERVE_MAX;
        if (!tlw_buffer_reserve(&r->body, reserve))
            return fail(r, err, TLW_ERR_NOMEM, "out of memory for a body of %llu bytes",
                        (unsigned long long)f.content_length);
        r->remaining = f.content_length;
        r->state = ST_BODY_LENGTH;
        return TLW_OK;
    }
    r->close = true;
    r->state = ST_BODY_CLOSE;
    return TLW_OK;
}

/* Reads status and header lines into `head`; returns the bytes consumed. */
static tlw_status feed_head(tlw_http_response *r, const char *data, size_t n, size_t *used,
                            tlw_error *err)
{
    const char *nl = memchr(data, '\n', n);
    size_t take = nl ? (size_t)(nl - data) + 1 : n;
    *used = take;
    if (r->head.len > r->headers_max || take > r->headers_max - r->head.len) {
        tlw_buffer_clear(&r->head); /* as for the body in too_large() */
        return fail(r, err, TLW_ERR_PROTOCOL, "the answer has more than %zu bytes of headers",
                    r->headers_max);
    }
    if (!tlw_buffer_append(&r->head, data, take))
        return fail(r, err, TLW_ERR_NOMEM, "out of memory reading the answer's headers");
    if (!nl)
        return TLW_OK;
    const char *line = r->head.data + r->line_start;
    size_t line_len = r->head.len - r->line_start - 1;
    if (line_len && line[line_len - 1] == '\r')
        line_len--;
    r->line_start = r->head.len;
    if (r->state == ST_STATUS) {
        r->state = ST_HEADERS;
        return parse_status_line(r, line, line_len, err);
    }
    return line_len == 0 ? end_of_head(r, err) : TLW_OK;
}

/* A complete chunk-size line (without its LF) whose first bytes are in
 * r->line: hex digits, optional spaces, then the end or ";extensions". */
static tlw_status end_of_chunk_line(tlw_http_response *r, tlw_error *err)
{
    char shown[64];
    size_t kept = r->line_len < sizeof r->line ? r->line_len : sizeof r->line;
    const char *s = r->line;
    size_t i = 0;
    uint64_t size = 0;
    while (i < kept && tlw_hex_value(s[i]) >= 0 && i < CHUNK_SIZE_DIGITS_MAX + 1) {
        size = size * 16 + (uint64_t)tlw_hex_value(s[i]);
        i++;
    }
    size_t digits = i;
    while (i < kept && (s[i] == ' ' || s[i] == '\t'))
        i++;
    bool ends = i == r->line_len || (i + 1 == r->line_len && i < kept && s[i] == '\r');
    bool ok = digits > 0 && digits <= CHUNK_SIZE_DIGITS_MAX && (ends || (i < kept && s[i] == ';'));
    if (!ok) {
        size_t shown_len = kept && s[kept - 1] == '\r' ? kept - 1 : kept;
        return fail(r, err, TLW_ERR_PROTOCOL, "the answer has a bad chunk size line \"%s\"",
                    tlw_text_printable(shown, s, shown_len));
    }
    r->line_len = 0;
    if (size == 0) {
        r->state = ST_TRAILERS;
        r->trailer_line = 0;
        r->saw_cr = false;
        return TLW_OK;
    }
    if (r->body_max && size > r->body_max - r->body.len)
        return too_large(r, err);
    r->remaining = size;
    r->state = ST_CHUNK_DATA;
    return TLW_OK;
}

tlw_status tlw_http_response_feed(tlw_http_response *r, const char *data, size_t n, size_t *used,
                                  tlw_error *err)
{
    *used = 0;
    if (r->failed != TLW_OK)
        return tlw_error_set(err, r->failed, "the answer was already refused");
    size_t i = 0;
    tlw_status st = TLW_OK;
    while (i < n && st == TLW_OK && r->state != ST_DONE) {
        const char *p = data + i;
        size_t left = n - i, take = 0;
        switch (r->state) {
        case ST_STATUS:
        case ST_HEADERS: st = feed_head(r, p, left, &take, err); break;
        case ST_BODY_LENGTH:
            take = left < r->remaining ? left : (size_t)r->remaining;
            if (!tlw_buffer_append(&r->body, p, take))
                st = fail(r, err, TLW_ERR_NOMEM, "out of memory reading the answer's body");
            else if ((r->remaining -= take) == 0)
                st = finish(r);
            break;
        case ST_BODY_CLOSE:
            take = left;
            if (r->body_max && take > r->body_max - r->body.len)
                st = too_large(r, err);
            else if (!tlw_buffer_append(&r->body, p, take))
                st = fail(r, err, TLW_ERR_NOMEM, "out of memory reading the answer's body");
            break;
        case ST_CHUNK_SIZE:
            take = 1;
            if (*p == '\n') {
                st = end_of_chunk_line(r, err);
            } else if (r->line_len >= CHUNK_LINE_MAX) {
                st = fail(r, err, TLW_ERR_PROTOCOL,
                          "the answer has a chunk size line longer than %d bytes", CHUNK_LINE_MAX);
            } else {
                if (r->line_len < sizeof r->line)
                    r->line[r->line_len] = *p;
                r->line_len++;
            }
            break;
        case ST_CHUNK_DATA:
            take = left < r->remaining ? left : (size_t)r->remaining;
            if (!tlw_buffer_append(&r->body, p, take))
                st = fail(r, err, TLW_ERR_NOMEM, "out of memory reading the answer's body");
            else if ((r->remaining -= take) == 0) {
                r->state = ST_CHUNK_END;
                r->saw_cr = false;
            }
            break;
        case ST_CHUNK_END:
            take = 1;
            if (*p == '\r' && !r->saw_cr)
                r->saw_cr = true;
            else if (*p == '\n')
                r->state = ST_CHUNK_SIZE;
            else
                st = fail(r, err, TLW_ERR_PROTOCOL,
                          "the answer has a bad chunk ending: byte 0x%02x where CRLF was expected",
                          (unsigned char)*p);
            break;
        case ST_TRAILERS:
            /* Trailer fields are skipped: nothing of ours is sent in them. */
            take = 1;
            if (*p == '\n') {
                if (r->trailer_line == 0 || (r->trailer_line == 1 && r->saw_cr))
                    st = finish(r);
                r->trailer_line = 0;
            } else {
                r->trailer_line++;
                r->saw_cr = *p == '\r';
            }
            if (st == TLW_OK && ++r->trailer_bytes > r->headers_max)
                st = fail(r, err, TLW_ERR_PROTOCOL,
                          "the answer has more than %zu bytes of trailer lines", r->headers_max);
            break;
        default:
            st = fail(r, err, TLW_ERR_INTERNAL, "HTTP parser in an unknown state %d", r->state);
            break;
        }
        i += take;
    }
    r->bytes_read += i;
    *used = i;
    return st;
}

tlw_status tlw_http_response_eof(tlw_http_response *r, tlw_error *err)
{
    if (r->failed != TLW_OK)
        return tlw_error_set(err, r->failed, "the answer was already refused");
    switch (r->state) {
    case ST_DONE: return TLW_OK;
    case ST_BODY_CLOSE: return finish(r);
    case ST_STATUS:
    case ST_HEADERS:
        return fail(r, err, TLW_ERR_PROTOCOL,
                    "the connection closed in the middle of the answer's headers");
    case ST_BODY_LENGTH:
        return fail(r, err, TLW_ERR_PROTOCOL,
                    "the connection closed in the middle of the answer's body (%llu bytes "
                    "missing)",
                    (unsigned long long)r->remaining);
    default:
        return fail(r, err, TLW_ERR_PROTOCOL,
                    "the connection closed in the middle of the answer's chunked body");
    }
}

/* --- the client ------------------------------------------------------------------- */

struct tlw_http_client {
    char *host_port; /* as given, for messages and the Host header */
    char *host;      /* without brackets */
    char *port;
    int64_t connect_timeout_ms;
    int fd; /* -1: not connected */
};

tlw_status tlw_http_client_open(const char *host_port, int64_t connect_timeout_ms,
                                tlw_http_client **out, tlw_error *err)
{
    char shown[64];
    *out = NULL;
    const char *hp = host_port ? host_port : "";
    const char *host = hp, *host_end, *port;
    if (hp[0] == '[') {
        host = hp + 1;
        host_end = strchr(host, ']');
        port = host_end && host_end[1] == ':' ? host_end + 2 : NULL;
    } else {
        host_end = strrchr(hp, ':');
        port = host_end ? host_end + 1 : NULL;
    }
    if (!port || host_end == host || !*port || strspn(port, "0123456789") != strlen(port))
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "HTTP peer address \"%s\" is not host:port or [v6-address]:port",
                             tlw_text_printable(shown, hp, strlen(hp)));
    tlw_http_client *c = calloc(1, sizeof *c);
    if (c) {
        c->fd = -1;
        c->connect_timeout_ms = connect_timeout_ms;
        c->host_port = strdup(hp);
        c->host = strndup(host, (size_t)(host_end - host));
        c->port = strdup(port);
    }
    if (!c || !c->host_port || !c->host || !c->port) {
        tlw_http_client_close(c);
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory for an HTTP client");
    }
    *out = c;
    return TLW_OK;
}

static void drop_connection(tlw_http_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

void tlw_http_client_close(tlw_http_client *c)
{
    if (!c)
        return;
    drop_connection(c);
    free(c->host_port);
    free(c->host);
    free(c->port);
    free(c);
}

/* Waits for `events` on `fd` until `deadline_ms`: 1 ready, 0 the deadline
 * passed, -1 poll failed (errno). Signals do not cut the wait short. */
static int wait_for(int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        int timeout = -1;
        if (deadline_ms != TLW_HTTP_NO_DEADLINE) {
            int64_t left = deadline_ms - tlw_monotonic_ms();
            if (left <= 0)
                return 0;
            timeout = left > 60000 ? 60000 : (int)left;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, timeout);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

/* Connects to one address within the deadline; 0, or an errno value
 * (ETIMEDOUT when the deadline passed). */
static int connect_one(const struct addrinfo *ai, int64_t deadline_ms, int *fd_out)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return errno;
    int e = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        e = errno;
        if (e == EINPROGRESS || e == EINTR) {
            int ready = wait_for(fd, POLLOUT, deadline_ms);
            socklen_t len = sizeof e;
            if (ready == 0)
                e = ETIMEDOUT;
            else if (ready < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
                e = errno;
        }
    }
    if (e != 0) {
        close(fd);
        return e;
    }
    /* A request goes out in one sendmsg; no reason to let Nagle hold a tail. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *fd_out = fd;
    return 0;
}

static tlw_status connect_peer(tlw_http_client *c, int64_t deadline_ms, tlw_error *err)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *list = NULL;
    int gai = getaddrinfo(c->host, c->port, &hints, &list);
    if (gai != 0)
        return tlw_error_set(err, TLW_ERR_UNAVAILABLE, "cannot resolve %s: %s", c->host,
                             gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
    int64_t connect_by = tlw_monotonic_ms() + c->connect_timeout_ms;
    bool by_deadline = deadline_ms != TLW_HTTP_NO_DEADLINE && deadline_ms < connect_by;
    int e = ENOENT;
    for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        e = connect_one(ai, by_deadline ? deadline_ms : connect_by, &c->fd);
        if (e == 0 || e == ETIMEDOUT)
            break;
    }
    freeaddrinfo(list);
    if (e == 0)
        return TLW_OK;
    if (e == ETIMEDOUT && by_deadline)
        return tlw_error_set(err, TLW_ERR_TIMEOUT, "the deadline passed connecting to %s",
                             c->host_port);
    if (e == ETIMEDOUT)
        return tlw_error_set(err, TLW_ERR_UNAVAILABLE, "cannot connect to %s within %lld ms",
                             c->host_port, (long long)c->connect_timeout_ms);
    return tlw_error_set(err, TLW_ERR_UNAVAILABLE, "cannot connect to %s: %s", c->host_port,
                         strerror(e));
}

/* A kept-alive connection on which nothing is expected is readable only when
 * the peer closed it (or sent bytes no request asked for): then it cannot
 * carry a request. */
static bool idle_connection_usable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 0;
}

/* Sends the request head and body: 0, an errno value, or ETIMEDOUT. */
static int send_request(tlw_http_client *c, const tlw_buffer *head, const tlw_http_request *req,
                        int64_t deadline_ms)
{
    struct iovec iov[2] = {
        {.iov_base = head->data, .iov_len = head->len},
        {.iov_base = (void *)req->body, .iov_len = req->body ? req->body_len : 0}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    while (iov[0].iov_len || iov[1].iov_len) {
        msg.msg_iov = iov[0].iov_len ? iov : iov + 1;
        msg.msg_iovlen = iov[0].iov_len ? 2 : 1;
        /* MSG_NOSIGNAL: a peer that went away is EPIPE, not SIGPIPE. */
        ssize_t k = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return errno;
            int ready = wait_for(c->fd, POLLOUT, deadline_ms);
            if (ready <= 0)
                return ready == 0 ? ETIMEDOUT : errno;
            continue;
        }
        size_t sent = (size_t)k;
        for (int i = 0; i < 2 && sent; i++) {
            size_t part = sent < iov[i].iov_len ? sent : iov[i].iov_len;
            iov[i].iov_base = (char *)iov[i].iov_base + part;
            iov[i].iov_len -= part;
            sent -= part;
        }
    }
    return 0;
}

/* The request head: request line, Host, the caller's lines, Content-Length. */
static bool build_head(const tlw_http_client *c, const tlw_http_request *req, tlw_buffer *head)
{
    char length[64];
    tlw_buffer_puts(head, req->method);
    tlw_buffer_putc(head, ' ');
    tlw_buffer_puts(head, req->path);
    tlw_buffer_puts(head, " HTTP/1.1\r\nHost: ");
    tlw_buffer_puts(head, c->host_port);
    tlw_buffer_puts(head, "\r\n");
    for (size_t i = 0; i < req->n_headers; i++) {
        tlw_buffer_puts(head, req->headers[i]);
        tlw_buffer_puts(head, "\r\n");
    }
    if (req->body) {
        snprintf(length, sizeof length, "Content-Length: %zu\r\n", req->body_len);
        tlw_buffer_puts(head, length);
    }
    return tlw_buffer_puts(head, "\r\n");
}

typedef enum read_outcome {
    READ_DONE,
    READ_FAILED,  /* `err` set by the parser (protocol, nomem) */
    READ_TIMEOUT, /* the deadline passed */
    READ_BROKEN,  /* the connection ended or failed; `broken_errno` (0: closed) */
} read_outcome;

static read_outcome read_response(tlw_http_client *c, tlw_http_response *resp, int64_t deadline_ms,
                                  int *broken_errno, tlw_error *err)
{
    char buf[RECV_SIZE];
    while (!resp->done) {
        int ready = wait_for(c->fd, POLLIN, deadline_ms);
        if (ready == 0)
            return READ_TIMEOUT;
        if (ready < 0) {
            *broken_errno = errno;
            return READ_BROKEN;
        }
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n < 0) {
            *broken_errno = errno;
            return READ_BROKEN;
        }
        if (n == 0) {
            *broken_errno = 0;
            /* The end of a body read until close, or an answer cut short. */
            if (resp->bytes_read == 0)
                return READ_BROKEN;
            return tlw_http_response_eof(resp, err) == TLW_OK ? READ_DONE : READ_BROKEN;
        }
        size_t used;
        if (tlw_http_response_feed(resp, buf, (size_t)n, &used, err) != TLW_OK)
            return READ_FAILED;
        if (used < (size_t)n)
            resp->keep_alive = false; /* bytes no request asked for */
    }
    return READ_DONE;
}

tlw_status tlw_http_client_exchange(tlw_http_client *c, const tlw_http_request *req,
                                    int64_t deadline_ms, tlw_http_response *resp, bool *maybe_sent,
                                    tlw_error *err)
{
    *maybe_sent = false;
    tlw_buffer head = {0};
    if (!build_head(c, req, &head)) {
        tlw_buffer_free(&head);
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory for a request to %s", c->host_port);
    }
    tlw_status st;
    for (int attempt = 1;; attempt++) {
        tlw_http_response_reset(resp);
        /* A request that was sent again is counted as not sent: the peer
         * answered not a byte of it on the old connection. */
        *maybe_sent = false;
        bool reused = c->fd >= 0;
        if (reused && !idle_connection_usable(c->fd)) {
            drop_connection(c);
            reused = false;
        }
        if (c->fd < 0 && (st = connect_peer(c, deadline_ms, err)) != TLW_OK)
            break;
        *maybe_sent = true;
        int send_errno = send_request(c, &head, req, deadline_ms);
        if (send_errno == ETIMEDOUT) {
            st = tlw_error_set(err, TLW_ERR_TIMEOUT, "the deadline passed sending to %s",
                               c->host_port);
            break;
        }
        /* A failed send is followed by a read all the same: the peer may
         * have answered (and closed) before taking the whole request. Our
         * side is shut so that a peer still waiting for the rest of the
         * request sees its end instead of waiting with us. */
        if (send_errno)
            shutdown(c->fd, SHUT_WR);
        int broken_errno = 0;
        tlw_error parse_err;
        read_outcome outcome = read_response(c, resp, deadline_ms, &broken_errno, &parse_err);
        if (outcome == READ_DONE) {
            if (!resp->keep_alive)
                drop_connection(c);
            st = TLW_OK;
            break;
        }
        if (outcome == READ_TIMEOUT) {
            st = tlw_error_set(err, TLW_ERR_TIMEOUT, "the deadline passed waiting for %s to answer",
                               c->host_port);
            break;
        }
        if (outcome == READ_FAILED) {
            st = tlw_error_set(err, parse_err.status, "%s", parse_err.message);
            break;
        }
        if (resp->bytes_read == 0) {
            /* Nothing of an answer came: on a reused connection, the peer
             * closed it as idle before the request arrived. Once more on a
             * new connection. */
            drop_connection(c);
            if (reused && attempt == 1)
                continue;
            int e = send_errno ? send_errno : broken_errno;
            st = e ? tlw_error_set(err, TLW_ERR_UNAVAILABLE,
                                   "the connection to %s broke before an answer: %s", c->host_port,
                                   strerror(e))
                   : tlw_error_set(err, TLW_ERR_UNAVAILABLE,
                                   "%s closed the connection without answering", c->host_port);
            break;
        }
        st = broken_errno ? tlw_error_set(err, TLW_ERR_UNAVAILABLE,
                                          "the connection to %s broke in the middle of the "
                                          "answer: %s",
                                          c->host_port, strerror(broken_errno))
                          : tlw_error_set(err, TLW_ERR_UNAVAILABLE, "%s: %s", c->host_port,
                                          parse_err.message);
        break;
    }
    if (st != TLW_OK)
        drop_connection(c);
    tlw_buffer_free(&head);
    return st;
}
