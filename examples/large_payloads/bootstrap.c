/*
 * A Lambda worker whose large payloads go through S3, readable by Python and
 * Go workers and clients that use their SDK's S3 storage driver with the
 * same bucket. The C counterpart of the Python lambda worker's
 * async-generator configure (open the S3 client before `yield`, close it
 * after): configure() runs once per invocation and names the bucket; the
 * invocation hooks open an S3 connection before the workers start, check
 * that the bucket answers (so that a wrong bucket, region or role fails the
 * invocation at once, with a message, rather than each task), and close it
 * after the workers stopped. The workers' own S3 connections live exactly
 * as long: each worker process opens its connection at its first S3 call of
 * the invocation and closes it when it exits at the invocation's end.
 *
 *   cc -o bootstrap bootstrap.c $(pkg-config --cflags --libs tlw libcurl)
 *
 * Environment: PAYLOAD_BUCKET, and what Lambda sets (AWS_REGION and the
 * function role's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN); S3_ENDPOINT_URL for an S3-compatible server instead
 * of AWS (path-style URLs, as local servers want). The role needs s3:GetObject, s3:PutObject and
 * s3:ListBucket (without ListBucket a missing object reads as 403).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <tlw/lambda_worker.h>

/* A report far over the 256 KiB threshold: it travels as a reference. */
static tlw_status make_report(tlw_activity *act, const json_t *args, json_t **result)
{
    json_t *rows = json_array();
    for (int i = 0; i < 20000; i++)
        json_array_append_new(rows, json_pack("{s:i, s:s}", "row", i, "status", "ok"));
    *result = rows;
    return TLW_OK;
}

/* An S3-compatible server to use instead of AWS, or NULL. */
static const char *endpoint(void)
{
    const char *url = getenv("S3_ENDPOINT_URL");
    return url && *url ? url : NULL;
}

/* One invocation's S3 connection (the hooks' `arg`). */
struct s3_check {
    CURL *curl;
};

/* Opens a connection and asks S3 for the bucket (HeadBucket, signed with
 * SigV4 by libcurl). A failure fails this invocation with what S3 said. */
static tlw_status open_s3(void *arg)
{
    struct s3_check *c = arg;
    const char *bucket = getenv("PAYLOAD_BUCKET"), *region = getenv("AWS_REGION");
    const char *key = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv("AWS_SESSION_TOKEN");
    if (!bucket || !region || !key || !secret) {
        fprintf(stderr, "PAYLOAD_BUCKET, AWS_REGION or the role's credentials are not set\n");
        return TLW_ERR_INVALID;
    }
    char url[512], sigv4[128], token_header[4096];
    if (endpoint())
        snprintf(url, sizeof url, "%s/%s", endpoint(), bucket);
    else
        snprintf(url, sizeof url, "https://%s.s3.%s.amazonaws.com/", bucket, region);
    snprintf(sigv4, sizeof sigv4, "aws:amz:%s:s3", region);
    struct curl_slist *headers =
        curl_slist_append(NULL, "x-amz-content-sha256: "
                                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    if (token && *token) {
        snprintf(token_header, sizeof token_header, "x-amz-security-token: %s", token);
        headers = curl_slist_append(headers, token_header);
    }
    c->curl = curl_easy_init();
    if (!c->curl || !headers) {
        curl_slist_free_all(headers);
        curl_easy_cleanup(c->curl);
        c->curl = NULL;
        return TLW_ERR_NOMEM;
    }
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c->curl, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(c->curl, CURLOPT_USERNAME, key);
    curl_easy_setopt(c->curl, CURLOPT_PASSWORD, secret);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, 3000L);
    CURLcode rc = curl_easy_perform(c->curl);
    long status = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK || status != 200) {
        fprintf(stderr, "bucket %s in %s: %s, HTTP %ld\n", bucket, region, curl_easy_strerror(rc),
                status);
        /* The teardown runs only after a setup that succeeded. */
        curl_easy_cleanup(c->curl);
        c->curl = NULL;
        return rc != CURLE_OK ? TLW_ERR_UNAVAILABLE : TLW_ERR_DENIED;
    }
    return TLW_OK;
}

static tlw_status close_s3(void *arg)
{
    struct s3_check *c = arg;
    curl_easy_cleanup(c->curl);
    c->curl = NULL;
    return TLW_OK;
}

static int configure(tlw_config *cfg)
{
    static struct s3_check check;
    const char *bucket = getenv("PAYLOAD_BUCKET");
    if (!bucket || !*bucket)
        return tlw_config_fail(cfg, "PAYLOAD_BUCKET is not set: name the payload bucket");
    /* Region: AWS_REGION; threshold: 256 KiB. */
    tlw_s3_options s3 = {.bucket = bucket, .endpoint_url = endpoint(), .path_style = !!endpoint()};
    tlw_config_set_s3_storage(cfg, &s3);
    tlw_config_add_invocation_hooks(cfg, open_s3, close_s3, &check);
    tlw_config_set_task_queue(cfg, "reports");
    tlw_register_activity(cfg, "make_report", make_report);
    return 0;
}

int main(int argc, char **argv)
{
    tlw_version v = {.deployment_name = "reports", .build_id = "v1.0"};
    return tlw_main(argc, argv, &v, configure);
}
