#include "config.h"

#include "worker/s3.h"

#include <curl/curl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"

/* Retries of a throttled or unreachable call, while time is left. */
#define MAX_ATTEMPTS 5
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 2000
#define CONNECT_TIMEOUT_MS 5000
/* How much of an error answer is kept, to find S3's <Code>. */
#define ERROR_BODY_MAX 4096
/* SHA-256 of no bytes: the x-amz-content-sha256 of a call without a body. */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct tlw_s3_client {
    CURL *curl;
    tlw_s3_config config; /* strings owned, below */
    char *sigv4;          /* "aws:amz:REGION:s3" */
    char curl_error[CURL_ERROR_SIZE];
};

void tlw_s3_sha256_hex(const void *bytes, size_t len, char hex[TLW_S3_HEX_SIZE])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(bytes, len, md);
    for (size_t i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * SHA256_DIGEST_LENGTH] = '\0';
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

tlw_status tlw_s3_open(const tlw_s3_config *config, tlw_s3_client **out, tlw_error *err)
{
    *out = NULL;
    if (!config->region || !*config->region)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "S3: no region; set s3_region (tuning file or "
                             "tlw_config_set_s3_storage) or AWS_REGION");
    if (!config->access_key_id || !*config->access_key_id || !config->secret_access_key ||
        !*config->secret_access_key)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "S3: no credentials; AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                             "must be set (Lambda sets them from the function's role)");
    tlw_s3_client *c = calloc(1, sizeof *c);
    if (!c)
        return tlw_error_set(err, TLW_ERR_NOMEM, "S3: out of memory");
    c->config.path_style = config->path_style;
    c->config.region = strdup(config->region);
    c->config.endpoint_url = dup_or_null(config->endpoint_url);
    c->config.access_key_id = strdup(config->access_key_id);
    c->config.secret_access_key = strdup(config->secret_access_key);
    c->config.session_token = dup_or_null(config->session_token);
    size_t n = strlen(config->region) + 16;
    c->sigv4 = malloc(n);
    if (c->sigv4)
        snprintf(c->sigv4, n, "aws:amz:%s:s3", config->region);
    c->curl = curl_easy_init();
    if (!c->config.region || !c->config.access_key_id || !c->config.secret_access_key ||
        !c->sigv4 || (config->endpoint_url && *config->endpoint_url && !c->config.endpoint_url) ||
        (config->session_token && *config->session_token && !c->config.session_token)) {
        tlw_s3_close(c);
        return tlw_error_set(err, TLW_ERR_NOMEM, "S3: out of memory");
    }
    if (!c->curl) {
        tlw_s3_close(c);
        return tlw_error_set(err, TLW_ERR_INTERNAL, "S3: curl_easy_init failed");
    }
    *out = c;
    return TLW_OK;
}

/* Overwrites a secret before freeing it. */
static void free_secret(const char *s)
{
    if (s) {
        volatile char *p = (volatile char *)s;
        while (*p)
            *p++ = '\0';
        free((char *)s);
    }
}

void tlw_s3_close(tlw_s3_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free((char *)c->config.region);
    free((char *)c->config.endpoint_url);
    free((char *)c->config.access_key_id);
    free_secret(c->config.secret_access_key);
    free_secret(c->config.session_token);
    free(c->sigv4);
    free(c);
}

/* ---- URLs ------------------------------------------------------------------ */

/* SigV4's UriEncode of a key: every byte but the unreserved ones and '/'. */
static void put_key(tlw_buffer *b, const char *key)
{
    static const char digits[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        unsigned char ch = *p;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '/') {
            tlw_buffer_putc(b, (char)ch);
        } else {
            char esc[3] = {'%', digits[ch >> 4], digits[ch & 15]};
            tlw_buffer_append(b, esc, 3);
        }
    }
}

char *tlw_s3_object_url(const tlw_s3_config *config, const char *bucket, const char *key)
{
    tlw_buffer b = {0};
    const char *scheme = "https://";
    const char *host = NULL;
    size_t host_len = 0;
    char aws_host[128];
    if (config->endpoint_url && *config->endpoint_url) {
        const char *e = config->endpoint_url;
        const char *sep = strstr(e, "://");
        if (sep) {
            scheme = NULL;
            tlw_buffer_append(&b, e, (size_t)(sep - e) + 3);
            e = sep + 3;
        }
        host = e;
        host_len = strlen(e);
        while (host_len > 0 && host[host_len - 1] == '/')
            host_len--;
    } else {
        snprintf(aws_host, sizeof aws_host, "s3.%s.amazonaws.com", config->region);
        host = aws_host;
        host_len = strlen(aws_host);
    }
    if (scheme)
        tlw_buffer_puts(&b, scheme);
    if (!config->path_style) {
        tlw_buffer_puts(&b, bucket);
        tlw_buffer_putc(&b, '.');
    }
    tlw_buffer_append(&b, host, host_len);
    tlw_buffer_putc(&b, '/');
    if (config->path_style) {
        put_key(&b, bucket);
        tlw_buffer_putc(&b, '/');
    }
    put_key(&b, key);
    if (b.nomem) {
        tlw_buffer_free(&b);
        return NULL;
    }
    return b.data;
}

/* ---- one call, retried ------------------------------------------------------------- */

typedef struct call {
    const char *op; /* "HeadObject", for messages */
    const char *method;
    const char *bucket;
    const char *key;
    const void *body; /* PUT */
    size_t body_len;
    const char *body_sha256;
    tlw_buffer *response; /* GET: the object; else an error body */
    long status;
} call;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    tlw_buffer *b = arg;
    return tlw_buffer_append(b, data, size * n) ? size * n : 0;
}

/* S3's error <Code> from an XML answer, or "" when there is none. */
static void error_code(const tlw_buffer *b, char *out, size_t size)
{
    out[0] = '\0';
    const char *start = b->data ? strstr(b->data, "<Code>") : NULL;
    const char *end = start ? strstr(start, "</Code>") : NULL;
    if (!end)
        return;
    start += 6;
    size_t n = (size_t)(end - start);
    if (n >= size)
        n = size - 1;
    memcpy(out, start, n);
    out[n] = '\0';
}

static bool throttled(long status, const char *code)
{
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504 ||
           strcmp(code, "SlowDown") == 0 || strcmp(code, "Throttling") == 0 ||
           strcmp(code, "ThrottlingException") == 0 || strcmp(code, "RequestTimeout") == 0;
}

/* Appends `line` to *list; on failure frees the whole list (*list NULL). */
static void append(struct curl_slist **list, const char *line)
{
    if (!*list)
        return;
    struct curl_slist *more = curl_slist_append(*list, line);
    if (!more) {
        curl_slist_free_all(*list);
        *list = NULL;
        return;
    }
    *list = more;
}

static CURLcode perform_once(tlw_s3_client *c, call *k, const char *url, int64_t timeout_ms)
{
    CURL *h = c->curl;
    curl_easy_reset(h);
    c->curl_error[0] = '\0';
    char line[256];
    snprintf(line, sizeof line, "x-amz-content-sha256: %s",
             k->body_sha256 ? k->body_sha256 : EMPTY_SHA256);
    struct curl_slist *headers = curl_slist_append(NULL, line);
    if (c->config.session_token && headers) {
        /* The token is long: built apart from `line`. */
        size_t n = strlen(c->config.session_token) + 32;
        char *token_line = malloc(n);
        if (!token_line) {
            curl_slist_free_all(headers);
            return CURLE_OUT_OF_MEMORY;
        }
        snprintf(token_line, n, "x-amz-security-token: %s", c->config.session_token);
        append(&headers, token_line);
        free_secret(token_line);
    }
    /* (No "Expect:" to turn 100-continue off: libcurl 7.88 signs such an
     * empty header without sending it, and S3 refuses the signature.) */
    if (k->body)
        append(&headers, "Content-Type: application/octet-stream");
    if (!headers)
        return CURLE_OUT_OF_MEMORY;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_error);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, c->sigv4);
    curl_easy_setopt(h, CURLOPT_USERNAME, c->config.access_key_id);
    curl_easy_setopt(h, CURLOPT_PASSWORD, c->config.secret_access_key);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : CONNECT_TIMEOUT_MS));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, k->response);
    if (strcmp(k->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(k->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)k->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)k->body_len);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(h);
    k->status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &k->status);
    /* The slist held the token: nothing of it stays with curl. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    return rc;
}

/* Runs `k` until it gets an answer that is not throttling, or time runs
 * out. TLW_OK with k->status set when S3 answered. */
static tlw_status perform(tlw_s3_client *c, call *k, int64_t deadline_ms, tlw_error *err)
{
    char *url = tlw_s3_object_url(&c->config, k->bucket, k->key);
    if (!url)
        return tlw_error_set(err, TLW_ERR_NOMEM, "S3 %s: out of memory", k->op);
    tlw_status st = TLW_OK;
    for (int attempt = 1;; attempt++) {
        int64_t left = deadline_ms - tlw_wall_ms();
        if (left <= 0) {
            st = tlw_error_set(err, TLW_ERR_TIMEOUT,
                               "S3 %s of bucket %s, key %s: no time left (after %d attempts)",
                               k->op, k->bucket, k->key, attempt - 1);
            break;
        }
        tlw_buffer_clear(k->response);
        CURLcode rc = perform_once(c, k, url, left);
        char code[64] = "";
        if (rc == CURLE_OK && k->status >= 400)
            error_code(k->response, code, sizeof code);
        bool retry = rc == CURLE_OK ? throttled(k->status, code)
                                    : rc != CURLE_WRITE_ERROR && rc != CURLE_OUT_OF_MEMORY &&
                                          rc != CURLE_URL_MALFORMAT;
        if (retry && attempt < MAX_ATTEMPTS) {
            int64_t pause = tlw_backoff_ms(attempt, BACKOFF_FIRST_MS, BACKOFF_MAX_MS);
            if (tlw_wall_ms() + pause < deadline_ms) {
                tlw_sleep_ms(pause);
                continue;
            }
        }
        if (rc == CURLE_WRITE_ERROR && k->response->overflow)
            st = tlw_error_set(err, TLW_ERR_PROTOCOL,
                               "S3 %s of bucket %s, key %s: the object is over %zu bytes", k->op,
                               k->bucket, k->key, k->response->max);
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            st = tlw_error_set(err, TLW_ERR_TIMEOUT, "S3 %s of bucket %s, key %s: timed out (%s)",
                               k->op, k->bucket, k->key, c->curl_error);
        else if (rc == CURLE_OUT_OF_MEMORY)
            st = tlw_error_set(err, TLW_ERR_NOMEM, "S3 %s: out of memory", k->op);
        else if (rc != CURLE_OK)
            st = tlw_error_set(err, TLW_ERR_UNAVAILABLE, "S3 %s of bucket %s, key %s: %s (%s)",
                               k->op, k->bucket, k->key, curl_easy_strerror(rc), c->curl_error);
        else if (k->status >= 400 && k->status != 404 && retry)
            st = tlw_error_set(err, TLW_ERR_UNAVAILABLE,
                               "S3 %s of bucket %s, key %s: HTTP %ld %s after %d attempts", k->op,
                               k->bucket, k->key, k->status, code, attempt);
        else if (k->status == 403 || k->status == 401)
            st = tlw_error_set(err, TLW_ERR_DENIED,
                               "S3 %s of bucket %s, key %s: HTTP %ld %s (check the function "
                               "role's permissions and the region)",
                               k->op, k->bucket, k->key, k->status, code);
        else if (k->status >= 400 && k->status != 404)
            st = tlw_error_set(err, TLW_ERR_SERVER, "S3 %s of bucket %s, key %s: HTTP %ld %s",
                               k->op, k->bucket, k->key, k->status, code);
        break;
    }
    free(url);
    return st;
}

tlw_status tlw_s3_head(tlw_s3_client *c, const char *bucket, const char *key, int64_t deadline_ms,
                       bool *exists, tlw_error *err)
{
    tlw_buffer body = {.max = ERROR_BODY_MAX};
    call k = {
        .op = "HeadObject", .method = "HEAD", .bucket = bucket, .key = key, .response = &body};
    tlw_status st = perform(c, &k, deadline_ms, err);
    tlw_buffer_free(&body);
    *exists = st == TLW_OK && k.status / 100 == 2;
    return st;
}

tlw_status tlw_s3_put(tlw_s3_client *c, const char *bucket, const char *key, const void *data,
                      size_t len, const char *sha256_hex, int64_t deadline_ms, tlw_error *err)
{
    tlw_buffer body = {.max = ERROR_BODY_MAX};
    call k = {.op = "PutObject",
              .method = "PUT",
              .bucket = bucket,
              .key = key,
              .body = len ? data : "",
              .body_len = len,
              .body_sha256 = sha256_hex,
              .response = &body};
    tlw_status st = perform(c, &k, deadline_ms, err);
    tlw_buffer_free(&body);
    if (st == TLW_OK && k.status / 100 != 2)
        st = tlw_error_set(err, TLW_ERR_SERVER, "S3 PutObject of bucket %s, key %s: HTTP %ld",
                           bucket, key, k.status);
    return st;
}

tlw_status tlw_s3_get(tlw_s3_client *c, const char *bucket, const char *key, size_t max,
                      int64_t deadline_ms, tlw_buffer *out, tlw_error *err)
{
    tlw_buffer_clear(out);
    out->max = max;
    call k = {.op = "GetObject", .method = "GET", .bucket = bucket, .key = key, .response = out};
    tlw_status st = perform(c, &k, deadline_ms, err);
    if (st == TLW_OK && k.status == 404)
        st = tlw_error_set(err, TLW_ERR_NOT_FOUND,
                           "S3 GetObject of bucket %s, key %s: no such object (HTTP 404)", bucket,
                           key);
    else if (st == TLW_OK && k.status / 100 != 2)
        st = tlw_error_set(err, TLW_ERR_SERVER, "S3 GetObject of bucket %s, key %s: HTTP %ld",
                           bucket, key, k.status);
    return st;
}

#ifdef TLW_PLUGIN
/* libtlw-s3.so: what libtlw.so calls (worker/plugins.h). */
#include "worker/plugins.h"

__attribute__((visibility("default"))) const tlw_s3_plugin tlw_s3_plugin_v1 = {
    .abi = TLW_PLUGIN_ABI,
    .open = tlw_s3_open,
    .close = tlw_s3_close,
    .head = tlw_s3_head,
    .put = tlw_s3_put,
    .get = tlw_s3_get,
    .sha256_hex = tlw_s3_sha256_hex,
};
#endif
