/*
 * The AWS Lambda Runtime API client, on supervisor/http.c: one HTTP/1.1
 * connection per client, kept alive between calls. Facts about the peer (header names, status codes, the 6 MiB limit)
 * come from the Runtime Interface Emulator, which is Lambda's own code.
 */
#include "config.h"

#include "supervisor/runtime_api.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "common/buffer.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/utf8.h"
#include "supervisor/http.h"

#define API_VERSION_PATH "/2018-06-01"
/* Largest answer body kept from a POST (Lambda's are small JSON objects). */
#define POST_ANSWER_MAX (64 * 1024)
#define CONNECT_TIMEOUT_MS 1000
/* The delay before a retry: 50 ms, doubling to 1.6 s. */
#define RETRY_FIRST_MS 50
#define RETRY_MAX_MS 1600
#define ERROR_TYPE_MAX 128

/* --- small helpers ------------------------------------------------------------ */

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* NULL when `id` can be put in a URL path as it is, else why not. */
static const char *request_id_problem(const char *id, size_t n)
{
    if (n == 0)
        return "is empty";
    if (n > TLW_RUNTIME_API_REQUEST_ID_MAX)
        return "is too long";
    /* "." and ".." would be squashed out of the path by URL normalisation. */
    if ((n == 1 && id[0] == '.') || (n == 2 && id[0] == '.' && id[1] == '.'))
        return "is a dot segment";
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        if (!unreserved)
            return "has a character that is not safe in a URL path";
    }
    return NULL;
}

/* --- invocation and header parsing ------------------------------------------- */

void tlw_invocation_free(tlw_invocation *inv)
{
    if (!inv)
        return;
    free(inv->request_id);
    free(inv->function_arn);
    free(inv->trace_id);
    free(inv->client_context);
    free(inv->cognito_identity);
    free(inv->event);
    memset(inv, 0, sizeof *inv);
}

enum {
    H_REQUEST_ID,
    H_DEADLINE,
    H_FUNCTION_ARN,
    H_TRACE_ID,
    H_CLIENT_CONTEXT,
    H_COGNITO_IDENTITY,
    H_COUNT
};

static const char *const header_names[H_COUNT] = {
    [H_REQUEST_ID] = "Lambda-Runtime-Aws-Request-Id",
    [H_DEADLINE] = "Lambda-Runtime-Deadline-Ms",
    [H_FUNCTION_ARN] = "Lambda-Runtime-Invoked-Function-Arn",
    [H_TRACE_ID] = "Lambda-Runtime-Trace-Id",
    [H_CLIENT_CONTEXT] = "Lambda-Runtime-Client-Context",
    [H_COGNITO_IDENTITY] = "Lambda-Runtime-Cognito-Identity",
};

static bool is_token_char(unsigned char c)
{
    /* RFC 9110 tchar */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/*
 * Reads a Lambda-Runtime-Deadline-Ms value: `n` bytes at `s`, NUL-terminated.
 * The upper bound keeps TLW_NO_DEADLINE (INT64_MAX, "no deadline, run until
 * a signal") out of a peer's reach, and leaves room for arithmetic on
 * deadlines without signed overflow.
 */
static tlw_status parse_deadline(const char *s, size_t n, int64_t *out, tlw_error *err)
{
    char shown[64];
    /* Digits only: strtoll alone would also take spaces, a sign and "0x". */
    bool digits = n > 0 && strspn(s, "0123456789") == n;
    errno = 0;
    long long v = digits ? strtoll(s, NULL, 10) : 0;
    if (digits && (errno == ERANGE || v > TLW_RUNTIME_API_DEADLINE_MAX))
        return tlw_error_set(err, TLW_ERR_PROTOCOL,
                             "Runtime API: %s \"%s\" is out of range: a deadline is epoch "
                             "milliseconds, at most %lld",
                             header_names[H_DEADLINE], tlw_text_printable(shown, s, n),
                             (long long)TLW_RUNTIME_API_DEADLINE_MAX);
    if (v <= 0)
        return tlw_error_set(err, TLW_ERR_PROTOCOL,
                             "Runtime API: %s \"%s\" is not a positive number of milliseconds",
                             header_names[H_DEADLINE], tlw_text_printable(shown, s, n));
    *out = (int64_t)v;
    return TLW_OK;
}

/* What the lines of a header block have said so far. */
typedef struct header_values {
    char *values[H_COUNT];   /* a copy of each Lambda header's value, or NULL */
    size_t lens[H_COUNT];    /* their lengths */
    unsigned lines[H_COUNT]; /* lines naming each header, well-formed or not */
    int last;                /* the Lambda header on the previous line, or H_COUNT */
} header_values;

/* Checks one header line and, if it is one of Lambda's, copies its value
 * into hv. */
static tlw_status parse_line(const char *line, size_t n, header_values *hv, tlw_error *err)
{
    char shown[64];
    if (line[0] == ' ' || line[0] == '\t') {
        /* It continues the previous header, which is then longer than read. */
        if (hv->last < H_COUNT)
            hv->lines[hv->last]++;
        return tlw_error_set(err, TLW_ERR_PROTOCOL,
                             "Runtime API: folded header line \"%s\" (obsolete, not accepted)",
                             tlw_text_printable(shown, line, n));
    }
    hv->last = H_COUNT;
    const char *colon = memchr(line, ':', n);
    if (!colon)
        return tlw_error_set(err, TLW_ERR_PROTOCOL,
                             "Runtime API: header line without a colon: \"%s\"",
                             tlw_text_printable(shown, line, n));
    size_t name_len = (size_t)(colon - line);
    if (name_len == 0)
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "Runtime API: header line with no name: \"%s\"",
                             tlw_text_printable(shown, line, n));
    for (size_t i = 0; i < name_len; i++)
        if (!is_token_char((unsigned char)line[i]))
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "Runtime API: bad character in header name \"%s\"",
                                 tlw_text_printable(shown, line, name_len));
    int h = 0;
    while (h < H_COUNT && (strlen(header_names[h]) != name_len ||
                           strncasecmp(line, header_names[h], name_len) != 0))
        h++;
    hv->last = h;
    if (h < H_COUNT)
        hv->lines[h]++;

    const char *value = colon + 1;
    size_t value_len = n - name_len - 1;
    for (size_t i = 0; i < value_len; i++) {
        unsigned char c = (unsigned char)value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "Runtime API: control character 0x%02x in header %s", c,
                                 tlw_text_printable(shown, line, name_len));
    }
    while (value_len && (value[0] == ' ' || value[0] == '\t'))
        value++, value_len--;
    while (value_len && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
        value_len--;

    if (h == H_COUNT)
        return TLW_OK;
    if (hv->lines[h] > 1)
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "Runtime API: header %s sent twice",
                             header_names[h]);
    if (!(hv->values[h] = dup_n(value, value_len)))
        return tlw_error_set(err, TLW_ERR_NOMEM, "Runtime API: out of memory");
    hv->lens[h] = value_len;
    return TLW_OK;
}

tlw_status tlw_runtime_api_parse_headers(const char *block, size_t len, tlw_invocation *inv,
                                         tlw_error *err)
{
    header_values hv = {.last = H_COUNT};
    char **values = hv.values;
    size_t *lens = hv.lens;
    tlw_status st = TLW_OK;
    char shown[64];

    /* Every line is read, past a bad one too, so that a refused block still
     * yields the request id it names (and `err` keeps the first problem). */
    size_t pos = 0;
    while (pos < len) {
        const char *line = block + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (n && line[n - 1] == '\r')
            n--;
        if (n == 0 || (n >= 5 && memcmp(line, "HTTP/", 5) == 0)) {
            hv.last = H_COUNT;
            continue;
        }
        tlw_error ignored;
        tlw_status line_st = parse_line(line, n, &hv, st == TLW_OK ? err : &ignored);
        if (st == TLW_OK)
            st = line_st;
    }

    if (st == TLW_OK && !values[H_REQUEST_ID])
        st = tlw_error_set(err, TLW_ERR_PROTOCOL, "Runtime API: the answer to /next has no %s",
                           header_names[H_REQUEST_ID]);
    const char *problem =
        values[H_REQUEST_ID] ? request_id_problem(values[H_REQUEST_ID], lens[H_REQUEST_ID]) : NULL;
    if (st == TLW_OK && problem)
        st = tlw_error_set(
            err, TLW_ERR_PROTOCOL, "Runtime API: %s \"%s\" %s", header_names[H_REQUEST_ID],
            tlw_text_printable(shown, values[H_REQUEST_ID], lens[H_REQUEST_ID]), problem);
    if (st == TLW_OK && !values[H_DEADLINE])
        st = tlw_error_set(err, TLW_ERR_PROTOCOL, "Runtime API: the answer to /next has no %s",
                           header_names[H_DEADLINE]);
    int64_t deadline_ms = 0;
    if (st == TLW_OK)
        st = parse_deadline(values[H_DEADLINE], lens[H_DEADLINE], &deadline_ms, err);
    /* Headers Lambda did not send read as "". */
    for (int h = 0; h < H_COUNT && st == TLW_OK; h++)
        if (!values[h] && !(values[h] = dup_n("", 0)))
            st = tlw_error_set(err, TLW_ERR_NOMEM, "Runtime API: out of memory");

    if (st != TLW_OK) {
        /* A request id that is unambiguous and safe stays, so that the
         * caller can fail the invocation instead of leaving Lambda to wait. */
        if (values[H_REQUEST_ID] && !problem && hv.lines[H_REQUEST_ID] == 1) {
            inv->request_id = values[H_REQUEST_ID];
            values[H_REQUEST_ID] = NULL;
        }
        for (int h = 0; h < H_COUNT; h++)
            free(values[h]);
        return st;
    }
    free(values[H_DEADLINE]);
    inv->request_id = values[H_REQUEST_ID];
    inv->deadline_ms = deadline_ms;
    inv->function_arn = values[H_FUNCTION_ARN];
    inv->trace_id = values[H_TRACE_ID];
    inv->client_context = values[H_CLIENT_CONTEXT];
    inv->cognito_identity = values[H_COGNITO_IDENTITY];
    return TLW_OK;
}

/* --- error bodies -------------------------------------------------------------- */

/* A copy of `s` in which every byte that does not start a valid UTF-8
 * sequence is replaced by U+FFFD: jansson accepts only valid UTF-8, and an
 * error message may quote anything. Caller frees. */
static char *valid_utf8(const char *s)
{
    size_t len = strlen(s);
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    const unsigned char *end = (const unsigned char *)s + len;
    for (const unsigned char *p = (const unsigned char *)s; p < end;) {
        size_t n = tlw_utf8_decode(p, (size_t)(end - p), NULL, NULL);
        if (n) {
            memcpy(out + o, p, n);
            o += n;
            p += n;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            p++;
        }
    }
    out[o] = '\0';
    return out;
}

static const char *error_type_problem(const char *error_type)
{
    if (!error_type || !*error_type)
        return "is empty";
    size_t n = strlen(error_type);
    if (n > ERROR_TYPE_MAX)
        return "is longer than 128 characters";
    for (size_t i = 0; i < n; i++)
        if (error_type[i] < 0x21 || error_type[i] > 0x7e)
            return "must be visible ASCII without spaces";
    return NULL;
}

char *tlw_runtime_api_error_body(const char *error_type, const char *message, tlw_error *err)
{
    char *type_utf8 = valid_utf8(error_type ? error_type : "");
    char *message_utf8 = valid_utf8(message ? message : "");
    json_t *body = NULL;
    char *text = NULL;
    if (type_utf8 && message_utf8)
        body = json_pack("{s:s, s:s, s:[]}", "errorMessage", message_utf8, "errorType", type_utf8,
                         "stackTrace");
    if (body)
        text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    free(type_utf8);
    free(message_utf8);
    if (!text)
        tlw_error_set(err, TLW_ERR_NOMEM, "Runtime API: out of memory building an error body");
    return text;
}

/* --- the client -------------------------------------------------------------- */

struct tlw_runtime_api {
    char *host_port;
    tlw_http_client *http; /* one connection, kept alive between calls */
};

static const char *address_problem(const char *hp)
{
    size_t n = strlen(hp);
    if (n == 0)
        return "is empty";
    if (n > 255)
        return "is too long";
    const char *port;
    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (!close || close == hp + 1 || close[1] != ':')
            return "is not [v6-address]:port";
        for (const char *p = hp + 1; p < close; p++)
            if (!strchr("0123456789abcdefABCDEF:.", *p))
                return "has a bad character in its IPv6 address";
        port = close + 2;
    } else {
        const char *colon = strrchr(hp, ':');
        if (!colon || colon == hp)
            return "is not host:port";
        for (const char *p = hp; p < colon; p++) {
            char c = *p;
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_'))
                return "has a bad character in its host name";
        }
        port = colon + 1;
    }
    size_t digits = strlen(port);
    if (digits == 0 || digits > 5 || strspn(port, "0123456789") != digits)
        return "has no port number";
    long v = strtol(port, NULL, 10);
    if (v < 1 || v > 65535)
        return "has a port out of range";
    return NULL;
}

tlw_status tlw_runtime_api_open(const char *host_port, tlw_runtime_api **out, tlw_error *err)
{
    *out = NULL;
    const char *problem = address_problem(host_port ? host_port : "");
    if (problem) {
        char shown[64];
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "Runtime API address \"%s\" %s: expected host:port, e.g. "
                             "127.0.0.1:9001",
                             tlw_text_printable(shown, host_port ? host_port : "",
                                                host_port ? strlen(host_port) : 0),
                             problem);
    }
    tlw_runtime_api *api = calloc(1, sizeof *api);
    if (!api || !(api->host_port = strdup(host_port))) {
        free(api);
        return tlw_error_set(err, TLW_ERR_NOMEM, "Runtime API: out of memory");
    }
    tlw_status st = tlw_http_client_open(host_port, CONNECT_TIMEOUT_MS, &api->http, err);
    if (st != TLW_OK) {
        tlw_runtime_api_close(api);
        return tlw_error_prefix(err, "Runtime API: ");
    }
    *out = api;
    return TLW_OK;
}

tlw_status tlw_runtime_api_from_env(tlw_runtime_api **out, tlw_error *err)
{
    *out = NULL;
    const char *host_port = getenv(TLW_RUNTIME_API_ENV);
    if (!host_port || !*host_port)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "%s is not set: the supervisor runs inside AWS Lambda or the "
                             "Runtime Interface Emulator (scripts/lambda-emulator), which set it",
                             TLW_RUNTIME_API_ENV);
    tlw_status st = tlw_runtime_api_open(host_port, out, err);
    if (st != TLW_OK)
        tlw_error_prefix(err, "%s: ", TLW_RUNTIME_API_ENV);
    return st;
}

void tlw_runtime_api_close(tlw_runtime_api *api)
{
    if (!api)
        return;
    tlw_http_client_close(api->http);
    free(api->host_port);
    free(api);
}

const char *tlw_runtime_api_address(const tlw_runtime_api *api)
{
    return api->host_port;
}

/*
 * Sends `req` and reads the answer into `resp`, retrying failures that mean
 * the request never reached a live server, for up to
 * TLW_RUNTIME_API_RETRY_MS. A GET /next may also be retried when the
 * connection broke without a complete answer (nothing was delivered); a POST
 * only when it could not connect, so that an answer is never posted twice.
 * (http.c itself sends a request once more on a new connection when a
 * kept-alive one turns out to be closed before any byte of an answer.)
 * `deadline_ms` (monotonic, or TLW_HTTP_NO_DEADLINE) bounds it all. `what`
 * names the call in messages.
 */
static tlw_status perform(tlw_runtime_api *api, const char *what, bool retry_broken,
                          const tlw_http_request *req, int64_t deadline_ms, tlw_http_response *resp,
                          tlw_error *err)
{
    int64_t start = tlw_monotonic_ms();
    for (int attempt = 1;; attempt++) {
        bool maybe_sent = false;
        tlw_error why;
        tlw_status st =
            tlw_http_client_exchange(api->http, req, deadline_ms, resp, &maybe_sent, &why);
        switch (st) {
        case TLW_OK: return TLW_OK;
        case TLW_ERR_NOMEM:
            return tlw_error_set(err, TLW_ERR_NOMEM, "Runtime API: out of memory reading %s: %s",
                                 what, why.message);
        case TLW_ERR_PROTOCOL:
            return tlw_error_set(err, TLW_ERR_PROTOCOL, "Runtime API at %s: %s: %s", api->host_port,
                                 what, why.message);
        case TLW_ERR_TIMEOUT:
            return tlw_error_set(err, TLW_ERR_TIMEOUT, "Runtime API at %s: %s: %s", api->host_port,
                                 what, why.message);
        default: break;
        }
        bool transient = st == TLW_ERR_UNAVAILABLE && (!maybe_sent || retry_broken);
        int64_t delay = tlw_backoff_ms(attempt, RETRY_FIRST_MS, RETRY_MAX_MS);
        int64_t now = tlw_monotonic_ms();
        if (transient && now - start + delay <= TLW_RUNTIME_API_RETRY_MS &&
            (deadline_ms == TLW_HTTP_NO_DEADLINE || now + delay < deadline_ms)) {
            tlw_sleep_ms(delay);
            continue;
        }
        return tlw_error_set(err, st,
                             "Runtime API at %s is unavailable: %s: %s (%d attempt%s); check "
                             "%s and that the Lambda runtime is still running",
                             api->host_port, what, why.message, attempt, attempt == 1 ? "" : "s",
                             TLW_RUNTIME_API_ENV);
    }
}

tlw_status tlw_runtime_api_next(tlw_runtime_api *api, tlw_invocation *inv, tlw_error *err)
{
    memset(inv, 0, sizeof *inv);
    const char *what = "GET /runtime/invocation/next";
    tlw_http_request req = {.method = "GET", .path = API_VERSION_PATH "/runtime/invocation/next"};
    tlw_http_response resp;
    /* An oversized event is refused as soon as Content-Length announces it. */
    tlw_http_response_init(&resp, TLW_RUNTIME_API_HEADERS_MAX, TLW_RUNTIME_API_EVENT_MAX);
    /* No deadline: /next blocks until Lambda has an invocation. */
    tlw_status st = perform(api, what, true, &req, TLW_HTTP_NO_DEADLINE, &resp, err);
    if (st == TLW_OK && resp.status != 200) {
        char shown[64];
        st = tlw_error_set(
            err, TLW_ERR_SERVER, "Runtime API at %s answered %s with HTTP %d: %s", api->host_port,
            what, resp.status,
            tlw_text_printable(shown, resp.body.data ? resp.body.data : "", resp.body.len));
    }
    if (st == TLW_OK)
        st = tlw_runtime_api_parse_headers(resp.head.data ? resp.head.data : "", resp.head.len, inv,
                                           err);
    if ((st == TLW_ERR_PROTOCOL || st == TLW_ERR_NOMEM) && !inv->request_id && resp.head_done &&
        resp.status == 200) {
        /* The headers came before the fault (an event that is too large or
         * finds no memory, a bad chunk, a header line HTTP refuses): the
         * invocation they name can still be failed. */
        tlw_error ignored;
        tlw_runtime_api_parse_headers(resp.head.data, resp.head.len, inv, &ignored);
    }
    if (st == TLW_OK && !resp.body.data && !(resp.body.data = dup_n("", 0)))
        st = tlw_error_set(err, TLW_ERR_NOMEM, "Runtime API: out of memory");
    if (st != TLW_OK) {
        /* Only the request id stays (see the header). */
        char *request_id = inv->request_id;
        inv->request_id = NULL;
        tlw_invocation_free(inv);
        inv->request_id = request_id;
        tlw_http_response_free(&resp);
        return st;
    }
    /* The event is handed over; the buffer keeps it NUL-terminated. */
    inv->event = resp.body.data;
    inv->event_len = resp.body.len;
    resp.body.data = NULL;
    tlw_http_response_free(&resp);
    return TLW_OK;
}

/* Lambda's reason for refusing a POST: "errorType: errorMessage" from its
 * JSON answer, or the start of the raw answer. */
static const char *refusal_reason(char out[256], const tlw_buffer *body)
{
    json_t *j = body->data ? json_loadb(body->data, body->len, 0, NULL) : NULL;
    const char *type = json_string_value(json_object_get(j, "errorType"));
    const char *message = json_string_value(json_object_get(j, "errorMessage"));
    if (type || message) {
        snprintf(out, 256, "%s%s%s", type ? type : "", type && message ? ": " : "",
                 message ? message : "");
    } else {
        char shown[64];
        snprintf(out, 256, "%s",
                 tlw_text_printable(shown, body->data ? body->data : "", body->len));
    }
    json_decref(j);
    return out;
}

/* POSTs `len` bytes to API_VERSION_PATH + `path`; Lambda answers 202 Accepted. */
static tlw_status post(tlw_runtime_api *api, const char *path, const char *error_type,
                       const void *body, size_t len, tlw_error *err)
{
    char url_path[512], what[256];
    snprintf(url_path, sizeof url_path, "%s%s", API_VERSION_PATH, path);
    snprintf(what, sizeof what, "POST %s", path);

    /* error_type was checked: visible ASCII, no CR or LF to inject lines. */
    char type_header[64 + ERROR_TYPE_MAX];
    const char *headers[2] = {"Content-Type: application/json", type_header};
    if (error_type)
        snprintf(type_header, sizeof type_header, "Lambda-Runtime-Function-Error-Type: %s",
                 error_type);
    tlw_http_request req = {.method = "POST",
                            .path = url_path,
                            .headers = headers,
                            .n_headers = error_type ? 2 : 1,
                            .body = body ? body : "",
                            .body_len = body ? len : 0};
    tlw_http_response resp;
    tlw_http_response_init(&resp, TLW_RUNTIME_API_HEADERS_MAX, POST_ANSWER_MAX);
    int64_t deadline_ms = tlw_monotonic_ms() + TLW_RUNTIME_API_POST_TIMEOUT_MS;
    tlw_status st = perform(api, what, false, &req, deadline_ms, &resp, err);
    if (st == TLW_OK && (resp.status < 200 || resp.status > 299)) {
        char reason[256];
        st = tlw_error_set(err, TLW_ERR_SERVER, "Runtime API at %s refused %s with HTTP %d: %s",
                           api->host_port, what, resp.status, refusal_reason(reason, &resp.body));
    }
    tlw_http_response_free(&resp);
    return st;
}

static tlw_status check_request_id(const char *request_id, tlw_error *err)
{
    const char *problem =
        request_id_problem(request_id ? request_id : "", request_id ? strlen(request_id) : 0);
    if (problem) {
        char shown[64];
        return tlw_error_set(err, TLW_ERR_INVALID, "Runtime API: request id \"%s\" %s",
                             tlw_text_printable(shown, request_id ? request_id : "",
                                                request_id ? strlen(request_id) : 0),
                             problem);
    }
    return TLW_OK;
}

static tlw_status check_error_type(const char *error_type, tlw_error *err)
{
    const char *problem = error_type_problem(error_type);
    if (problem) {
        char shown[64];
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "Runtime API: error type \"%s\" %s (e.g. Runtime.ConfigError)",
                             tlw_text_printable(shown, error_type ? error_type : "",
                                                error_type ? strlen(error_type) : 0),
                             problem);
    }
    return TLW_OK;
}

tlw_status tlw_runtime_api_respond(tlw_runtime_api *api, const char *request_id, const void *body,
                                   size_t len, tlw_error *err)
{
    tlw_status st = check_request_id(request_id, err);
    if (st != TLW_OK)
        return st;
    char path[64 + TLW_RUNTIME_API_REQUEST_ID_MAX];
    snprintf(path, sizeof path, "/runtime/invocation/%s/response", request_id);
    return post(api, path, NULL, body, len, err);
}

/* Posts an error body with its type header to `path`. */
static tlw_status post_error(tlw_runtime_api *api, const char *path, const char *error_type,
                             const char *message, tlw_error *err)
{
    char *body = tlw_runtime_api_error_body(error_type, message, err);
    if (!body)
        return TLW_ERR_NOMEM;
    tlw_status st = post(api, path, error_type, body, strlen(body), err);
    free(body);
    return st;
}

tlw_status tlw_runtime_api_invocation_error(tlw_runtime_api *api, const char *request_id,
                                            const char *error_type, const char *message,
                                            tlw_error *err)
{
    tlw_status st = check_request_id(request_id, err);
    if (st == TLW_OK)
        st = check_error_type(error_type, err);
    if (st != TLW_OK)
        return st;
    char path[64 + TLW_RUNTIME_API_REQUEST_ID_MAX];
    snprintf(path, sizeof path, "/runtime/invocation/%s/error", request_id);
    return post_error(api, path, error_type, message, err);
}

tlw_status tlw_runtime_api_init_error(tlw_runtime_api *api, const char *error_type,
                                      const char *message, tlw_error *err)
{
    tlw_status st = check_error_type(error_type, err);
    if (st != TLW_OK)
        return st;
    return post_error(api, "/runtime/init/error", error_type, message, err);
}
