/*
 * The AWS Lambda Runtime API client: libcurl's easy interface, one handle per
 * client so that the connection to the Runtime API is kept alive between
 * calls. Facts about the peer (header names, status codes, the 6 MiB limit)
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

#include <curl/curl.h>
#include <jansson.h>

#include "common/buffer.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/utf8.h"

#define API_VERSION_PATH "/2018-06-01"
/* Largest answer body kept from a POST (Lambda's are small JSON objects). */
#define POST_ANSWER_MAX (64 * 1024)
#define CONNECT_TIMEOUT_MS 1000
/* The delay before a retry: 50 ms, doubling to 1.6 s. */
#define RETRY_FIRST_MS 50
#define RETRY_MAX_MS 1600
#define ERROR_TYPE_MAX 128

/* --- small helpers ------------------------------------------------------------ */

/* Copies at most 60 bytes of `s` into `out` for an error message, with
 * anything unprintable shown as '?', so that a hostile peer cannot put
 * control characters into our logs. */
static const char *printable(char out[64], const char *s, size_t n)
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
                             header_names[H_DEADLINE], printable(shown, s, n),
                             (long long)TLW_RUNTIME_API_DEADLINE_MAX);
    if (v <= 0)
        return tlw_error_set(err, TLW_ERR_PROTOCOL,
                             "Runtime API: %s \"%s\" is not a positive number of milliseconds",
                             header_names[H_DEADLINE], printable(shown, s, n));
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
                             printable(shown, line, n));
    }
    hv->last = H_COUNT;
    const char *colon = memchr(line, ':', n);
    if (!colon)
        return tlw_error_set(err, TLW_ERR_PROTOCOL,
                             "Runtime API: header line without a colon: \"%s\"",
                             printable(shown, line, n));
    size_t name_len = (size_t)(colon - line);
    if (name_len == 0)
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "Runtime API: header line with no name: \"%s\"",
                             printable(shown, line, n));
    for (size_t i = 0; i < name_len; i++)
        if (!is_token_char((unsigned char)line[i]))
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "Runtime API: bad character in header name \"%s\"",
                                 printable(shown, line, name_len));
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
                                 printable(shown, line, name_len));
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
        st = tlw_error_set(err, TLW_ERR_PROTOCOL, "Runtime API: %s \"%s\" %s",
                           header_names[H_REQUEST_ID],
                           printable(shown, values[H_REQUEST_ID], lens[H_REQUEST_ID]), problem);
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
    char *base_url; /* "http://host:port/2018-06-01" */
    CURL *curl;
    char curl_error[CURL_ERROR_SIZE];
};

typedef struct exchange {
    tlw_buffer headers;
    tlw_buffer body;
} exchange;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    exchange *ex = userdata;
    size_t n = size * nmemb;
    return tlw_buffer_append(&ex->body, ptr, n) ? n : 0;
}

/* Keeps the header lines of the final answer only: an interim answer
 * (100 Continue) starts over at its status line. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    exchange *ex = userdata;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0)
        tlw_buffer_clear(&ex->headers);
    return tlw_buffer_append(&ex->headers, ptr, n) ? n : 0;
}

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
        return tlw_error_set(
            err, TLW_ERR_INVALID,
            "Runtime API address \"%s\" %s: expected host:port, e.g. "
            "127.0.0.1:9001",
            printable(shown, host_port ? host_port : "", host_port ? strlen(host_port) : 0),
            problem);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return tlw_error_set(err, TLW_ERR_INTERNAL, "Runtime API: curl_global_init failed");

    tlw_runtime_api *api = calloc(1, sizeof *api);
    size_t url_size = strlen("http://") + strlen(host_port) + strlen(API_VERSION_PATH) + 1;
    if (api) {
        api->host_port = strdup(host_port);
        api->base_url = malloc(url_size);
        api->curl = curl_easy_init();
    }
    if (!api || !api->host_port || !api->base_url || !api->curl) {
        if (api) {
            free(api->host_port);
            free(api->base_url);
            if (api->curl)
                curl_easy_cleanup(api->curl);
            free(api);
        }
        curl_global_cleanup();
        return tlw_error_set(err, TLW_ERR_NOMEM, "Runtime API: out of memory");
    }
    snprintf(api->base_url, url_size, "http://%s%s", host_port, API_VERSION_PATH);
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
    curl_easy_cleanup(api->curl);
    free(api->host_port);
    free(api->base_url);
    free(api);
    curl_global_cleanup();
}

const char *tlw_runtime_api_address(const tlw_runtime_api *api)
{
    return api->host_port;
}

/*
 * Runs the request prepared on api->curl, retrying failures that mean the
 * request never reached a live server, for up to TLW_RUNTIME_API_RETRY_MS.
 * A GET /next may also be retried when the connection broke without an
 * answer (nothing was delivered); a POST only when it could not connect, so
 * that an answer is never posted twice. `what` names the call in messages.
 */
static tlw_status perform(tlw_runtime_api *api, const char *what, bool retry_broken, exchange *ex,
                          long *status, tlw_error *err)
{
    int64_t start = tlw_monotonic_ms();
    for (int attempt = 1;; attempt++) {
        tlw_buffer_clear(&ex->headers);
        tlw_buffer_clear(&ex->body);
        api->curl_error[0] = '\0';
        CURLcode rc = curl_easy_perform(api->curl);
        if (rc == CURLE_OK) {
            curl_easy_getinfo(api->curl, CURLINFO_RESPONSE_CODE, status);
            return TLW_OK;
        }
        if (ex->headers.nomem || ex->body.nomem)
            return tlw_error_set(err, TLW_ERR_NOMEM, "Runtime API: out of memory reading %s", what);
        if (ex->headers.overflow)
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "Runtime API at %s: the answer to %s has more than %d bytes "
                                 "of headers",
                                 api->host_port, what, TLW_RUNTIME_API_HEADERS_MAX);
        if (ex->body.overflow || rc == CURLE_FILESIZE_EXCEEDED) {
            ex->body.overflow = true; /* announced, if not sent */
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "Runtime API at %s: the answer to %s is larger than %zu bytes",
                                 api->host_port, what, ex->body.max);
        }
        const char *detail = api->curl_error[0] ? api->curl_error : curl_easy_strerror(rc);
        if (rc == CURLE_WEIRD_SERVER_REPLY || rc == CURLE_UNSUPPORTED_PROTOCOL)
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "Runtime API at %s: the answer to %s is not HTTP/1.x: %s",
                                 api->host_port, what, detail);
        if (rc == CURLE_OPERATION_TIMEDOUT)
            return tlw_error_set(err, TLW_ERR_TIMEOUT, "Runtime API at %s: %s: %s", api->host_port,
                                 what, detail);

        bool transient = rc == CURLE_COULDNT_CONNECT ||
                         (retry_broken && (rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR ||
                                           rc == CURLE_SEND_ERROR || rc == CURLE_PARTIAL_FILE));
        int64_t delay = tlw_backoff_ms(attempt, RETRY_FIRST_MS, RETRY_MAX_MS);
        if (transient && tlw_monotonic_ms() - start + delay <= TLW_RUNTIME_API_RETRY_MS) {
            tlw_sleep_ms(delay);
            continue;
        }
        return tlw_error_set(err, TLW_ERR_UNAVAILABLE,
                             "Runtime API at %s is unavailable: %s: %s (%d attempt%s); check "
                             "%s and that the Lambda runtime is still running",
                             api->host_port, what, detail, attempt, attempt == 1 ? "" : "s",
                             TLW_RUNTIME_API_ENV);
    }
}

/* Options every request shares; the handle is reset so that nothing from
 * the previous request carries over (the connection does). */
static void prepare(tlw_runtime_api *api, const char *url, exchange *ex)
{
    curl_easy_reset(api->curl);
    curl_easy_setopt(api->curl, CURLOPT_URL, url);
    curl_easy_setopt(api->curl, CURLOPT_ERRORBUFFER, api->curl_error);
    /* No SIGALRM-based timeouts in a process that handles signals. */
    curl_easy_setopt(api->curl, CURLOPT_NOSIGNAL, 1L);
    /* The Runtime API is local: an http_proxy in the environment must not apply. */
    curl_easy_setopt(api->curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(api->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(api->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(api->curl, CURLOPT_WRITEDATA, ex);
    curl_easy_setopt(api->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(api->curl, CURLOPT_HEADERDATA, ex);
}

static void exchange_free(exchange *ex)
{
    tlw_buffer_free(&ex->headers);
    tlw_buffer_free(&ex->body);
}

tlw_status tlw_runtime_api_next(tlw_runtime_api *api, tlw_invocation *inv, tlw_error *err)
{
    memset(inv, 0, sizeof *inv);
    char url[512];
    snprintf(url, sizeof url, "%s/runtime/invocation/next", api->base_url);
    exchange ex = {.headers.max = TLW_RUNTIME_API_HEADERS_MAX,
                   .body.max = TLW_RUNTIME_API_EVENT_MAX};
    prepare(api, url, &ex);
    curl_easy_setopt(api->curl, CURLOPT_HTTPGET, 1L);
    /* Refuses an announced oversized body before reading it. */
    curl_easy_setopt(api->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)TLW_RUNTIME_API_EVENT_MAX);

    const char *what = "GET /runtime/invocation/next";
    long status = 0;
    tlw_status st = perform(api, what, true, &ex, &status, err);
    if (st == TLW_OK && status != 200) {
        char shown[64];
        st = tlw_error_set(err, TLW_ERR_SERVER, "Runtime API at %s answered %s with HTTP %ld: %s",
                           api->host_port, what, status,
                           printable(shown, ex.body.data ? ex.body.data : "", ex.body.len));
    }
    if (st == TLW_OK)
        st = tlw_runtime_api_parse_headers(ex.headers.data ? ex.headers.data : "", ex.headers.len,
                                           inv, err);
    if (st == TLW_ERR_PROTOCOL && ex.body.overflow) {
        /* The headers came before the event that is too large: the
         * invocation they name can still be failed. */
        tlw_error ignored;
        curl_easy_getinfo(api->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status == 200)
            tlw_runtime_api_parse_headers(ex.headers.data ? ex.headers.data : "", ex.headers.len,
                                          inv, &ignored);
    }
    if (st == TLW_OK && !ex.body.data && !(ex.body.data = dup_n("", 0)))
        st = tlw_error_set(err, TLW_ERR_NOMEM, "Runtime API: out of memory");
    if (st != TLW_OK) {
        /* Only the request id stays (see the header). */
        char *request_id = inv->request_id;
        inv->request_id = NULL;
        tlw_invocation_free(inv);
        inv->request_id = request_id;
        exchange_free(&ex);
        return st;
    }
    inv->event = ex.body.data;
    inv->event_len = ex.body.len;
    free(ex.headers.data);
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
        snprintf(out, 256, "%s", printable(shown, body->data ? body->data : "", body->len));
    }
    json_decref(j);
    return out;
}

static bool append_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *longer = curl_slist_append(*list, line);
    if (!longer)
        return false;
    *list = longer;
    return true;
}

/* POSTs `len` bytes to base_url + `path`; Lambda answers 202 Accepted. */
static tlw_status post(tlw_runtime_api *api, const char *path, const char *error_type,
                       const void *body, size_t len, tlw_error *err)
{
    char url[512], what[256];
    snprintf(url, sizeof url, "%s%s", api->base_url, path);
    snprintf(what, sizeof what, "POST %s", path);
    exchange ex = {.headers.max = TLW_RUNTIME_API_HEADERS_MAX, .body.max = POST_ANSWER_MAX};
    prepare(api, url, &ex);

    char type_header[64 + ERROR_TYPE_MAX];
    if (error_type)
        snprintf(type_header, sizeof type_header, "Lambda-Runtime-Function-Error-Type: %s",
                 error_type);
    struct curl_slist *headers = NULL;
    /* "Expect:" stops curl from waiting for 100 Continue on larger bodies. */
    if (!append_header(&headers, "Content-Type: application/json") ||
        !append_header(&headers, "Expect:") ||
        (error_type && !append_header(&headers, type_header))) {
        curl_slist_free_all(headers);
        return tlw_error_set(err, TLW_ERR_NOMEM, "Runtime API: out of memory");
    }

    curl_easy_setopt(api->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(api->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(api->curl, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
    curl_easy_setopt(api->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
    curl_easy_setopt(api->curl, CURLOPT_TIMEOUT_MS, (long)TLW_RUNTIME_API_POST_TIMEOUT_MS);

    long status = 0;
    tlw_status st = perform(api, what, false, &ex, &status, err);
    if (st == TLW_OK && (status < 200 || status > 299)) {
        char reason[256];
        st = tlw_error_set(err, TLW_ERR_SERVER, "Runtime API at %s refused %s with HTTP %ld: %s",
                           api->host_port, what, status, refusal_reason(reason, &ex.body));
    }
    curl_slist_free_all(headers);
    exchange_free(&ex);
    return st;
}

static tlw_status check_request_id(const char *request_id, tlw_error *err)
{
    const char *problem =
        request_id_problem(request_id ? request_id : "", request_id ? strlen(request_id) : 0);
    if (problem) {
        char shown[64];
        return tlw_error_set(
            err, TLW_ERR_INVALID, "Runtime API: request id \"%s\" %s",
            printable(shown, request_id ? request_id : "", request_id ? strlen(request_id) : 0),
            problem);
    }
    return TLW_OK;
}

static tlw_status check_error_type(const char *error_type, tlw_error *err)
{
    const char *problem = error_type_problem(error_type);
    if (problem) {
        char shown[64];
        return tlw_error_set(
            err, TLW_ERR_INVALID, "Runtime API: error type \"%s\" %s (e.g. Runtime.ConfigError)",
            printable(shown, error_type ? error_type : "", error_type ? strlen(error_type) : 0),
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
