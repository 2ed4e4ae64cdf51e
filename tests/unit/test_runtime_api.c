/*
 * The Lambda Runtime API client without Lambda: the header parser on a table
 * of inputs, the JSON error bodies, and the client against a tiny HTTP/1.1
 * server in a thread for what the real Runtime API never does (malformed
 * answers, oversized events, a server that hangs up, closes a kept-alive
 * connection, or answers in tiny pieces). The client against
 * the real emulator is tested in tests/e2e/test_runtime_api.py.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/error.h"
#include "supervisor/runtime_api.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void assert_says(const tlw_error *err, const char *says)
{
    if (!strstr(err->message, says))
        fail_msg("\"%s\" does not say \"%s\"", err->message, says);
}

/* --- header parsing ------------------------------------------------------------ */

#define ID "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
#define GOOD_ID "Lambda-Runtime-Aws-Request-Id: " ID "\r\n"
#define GOOD_DEADLINE "Lambda-Runtime-Deadline-Ms: 1542409706888\r\n"

static tlw_status parse(const char *block, tlw_invocation *inv, tlw_error *err)
{
    memset(inv, 0, sizeof *inv);
    return tlw_runtime_api_parse_headers(block, strlen(block), inv, err);
}

static void parses_a_full_answer(void **state)
{
    const char *block =
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/json\r\n" GOOD_ID GOOD_DEADLINE
        "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:f\r\n"
        "Lambda-Runtime-Trace-Id: "
        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n"
        "Lambda-Runtime-Client-Context: {\"client\":{\"app_title\":\"a b\"}}\r\n"
        "Lambda-Runtime-Cognito-Identity: {\"cognitoIdentityId\":\"id\"}\r\n"
        "Date: Sat, 17 Nov 2018 23:08:26 GMT\r\n"
        "\r\n";
    tlw_invocation inv;
    tlw_error err;
    assert_int_equal(parse(block, &inv, &err), TLW_OK);
    assert_string_equal(inv.request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
    assert_true(inv.deadline_ms == 1542409706888);
    assert_string_equal(inv.function_arn, "arn:aws:lambda:us-east-1:123456789012:function:f");
    assert_string_equal(
        inv.trace_id, "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1");
    assert_string_equal(inv.client_context, "{\"client\":{\"app_title\":\"a b\"}}");
    assert_string_equal(inv.cognito_identity, "{\"cognitoIdentityId\":\"id\"}");
    assert_null(inv.event);
    tlw_invocation_free(&inv);
    assert_null(inv.request_id);
    tlw_invocation_free(&inv); /* twice is fine */
}

static void absent_optional_headers_read_as_empty(void **state)
{
    tlw_invocation inv;
    tlw_error err;
    assert_int_equal(parse(GOOD_ID GOOD_DEADLINE, &inv, &err), TLW_OK);
    assert_string_equal(inv.function_arn, "");
    assert_string_equal(inv.trace_id, "");
    assert_string_equal(inv.client_context, "");
    assert_string_equal(inv.cognito_identity, "");
    tlw_invocation_free(&inv);
}

static void names_are_case_insensitive_and_values_trimmed(void **state)
{
    const char *block = "lambda-runtime-aws-request-id:abc-123 \t\n"
                        "LAMBDA-RUNTIME-DEADLINE-MS:\t  42  \n"
                        "lAmBdA-rUnTiMe-TrAcE-iD:   Root=1  \n"
                        "X-Other: value with: colons\n"
                        "Lambda-Runtime-Invoked-Function-Arn:\n"; /* last line, empty value */
    tlw_invocation inv;
    tlw_error err;
    assert_int_equal(parse(block, &inv, &err), TLW_OK);
    assert_string_equal(inv.request_id, "abc-123");
    assert_true(inv.deadline_ms == 42);
    assert_string_equal(inv.trace_id, "Root=1");
    assert_string_equal(inv.function_arn, "");
    tlw_invocation_free(&inv);

    /* The last line may lack its newline. */
    assert_int_equal(parse(GOOD_ID "Lambda-Runtime-Deadline-Ms: 7", &inv, &err), TLW_OK);
    assert_true(inv.deadline_ms == 7);
    tlw_invocation_free(&inv);
}

static void deadline_limits(void **state)
{
    static const char *const not_a_number = "is not a positive number of milliseconds";
    static const char *const out_of_range = "is out of range: a deadline is epoch milliseconds, "
                                            "at most 4611686018427387903";
    static const struct {
        const char *value;
        int64_t want; /* 0: refused */
        const char *says;
    } cases[] = {
        {"1", 1, NULL},
        {"0001542409706888", 1542409706888, NULL},
        {"000000000000000000000000000001", 1, NULL},
        {"4611686018427387903", INT64_MAX / 2, NULL},
        /* INT64_MAX is TLW_NO_DEADLINE, "run until a signal": never a deadline. */
        {"9223372036854775807", 0, out_of_range},
        {"4611686018427387904", 0, out_of_range},
        {"9223372036854775808", 0, out_of_range},
        {"99999999999999999999", 0, out_of_range},
        {"123456789012345678901234567890", 0, out_of_range},
        {"0", 0, not_a_number},
        {"-1542409706888", 0, not_a_number},
        {"-9223372036854775808", 0, not_a_number},
        {"+1542409706888", 0, not_a_number},
        {"1542409706888.5", 0, not_a_number},
        {"1e12", 0, not_a_number},
        {"0x10", 0, not_a_number},
        {"15424 09706888", 0, not_a_number},
        {"abc", 0, not_a_number},
        {"", 0, not_a_number},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char block[256];
        snprintf(block, sizeof block, GOOD_ID "Lambda-Runtime-Deadline-Ms: %s\r\n", cases[i].value);
        tlw_invocation inv;
        tlw_error err;
        tlw_status st = parse(block, &inv, &err);
        if (cases[i].want) {
            if (st != TLW_OK)
                fail_msg("deadline \"%s\": %s", cases[i].value, err.message);
            assert_true(inv.deadline_ms == cases[i].want);
        } else {
            if (st != TLW_ERR_PROTOCOL)
                fail_msg("deadline \"%s\" was accepted", cases[i].value);
            assert_says(&err, "Lambda-Runtime-Deadline-Ms");
            assert_says(&err, cases[i].says);
            /* The invocation is named, so that the caller can fail it. */
            assert_string_equal(inv.request_id, ID);
            assert_null(inv.trace_id);
        }
        tlw_invocation_free(&inv);
    }
}

static void request_ids_must_be_safe_in_a_path(void **state)
{
    static const struct {
        const char *value;
        bool ok;
    } cases[] = {
        {"8476a536-e9f4-11e8-9739-2dfe598c3fcd", true},
        {"A.b_c~d-0", true},
        {"...", true},
        {"a/b", false},
        {"../../runtime/init", false},
        {"..", false},
        {".", false},
        {"a%2Fb", false},
        {"a?b", false},
        {"a#b", false},
        {"a b", false}, /* inner space survives the trimming */
        {"\xc3\xa9t\xc3\xa9", false},
        {"", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char block[256];
        snprintf(block, sizeof block, "Lambda-Runtime-Aws-Request-Id: %s\r\n" GOOD_DEADLINE,
                 cases[i].value);
        tlw_invocation inv;
        tlw_error err;
        tlw_status st = parse(block, &inv, &err);
        if (cases[i].ok != (st == TLW_OK))
            fail_msg("request id \"%s\": status %d (%s)", cases[i].value, st,
                     st ? err.message : "");
        if (!cases[i].ok) {
            assert_says(&err, "Lambda-Runtime-Aws-Request-Id");
            assert_null(inv.request_id);
        }
        tlw_invocation_free(&inv);
    }

    char block[512], id[TLW_RUNTIME_API_REQUEST_ID_MAX + 2];
    memset(id, 'a', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    snprintf(block, sizeof block, "Lambda-Runtime-Aws-Request-Id: %s\r\n" GOOD_DEADLINE, id);
    tlw_invocation inv;
    tlw_error err;
    assert_int_equal(parse(block, &inv, &err), TLW_ERR_PROTOCOL);
    assert_says(&err, "is too long");
    id[TLW_RUNTIME_API_REQUEST_ID_MAX] = '\0';
    snprintf(block, sizeof block, "Lambda-Runtime-Aws-Request-Id: %s\r\n" GOOD_DEADLINE, id);
    assert_int_equal(parse(block, &inv, &err), TLW_OK);
    tlw_invocation_free(&inv);
}

static void malformed_blocks_are_refused(void **state)
{
    /* `id`: the request id a refused block still yields (see the header),
     * NULL when it has none, or none that is unambiguous and valid. */
    static const struct {
        const char *block;
        const char *says;
        const char *id;
    } cases[] = {
        {GOOD_DEADLINE, "has no Lambda-Runtime-Aws-Request-Id", NULL},
        {GOOD_ID, "has no Lambda-Runtime-Deadline-Ms", ID},
        {"", "has no Lambda-Runtime-Aws-Request-Id", NULL},
        {GOOD_ID GOOD_DEADLINE GOOD_DEADLINE, "Lambda-Runtime-Deadline-Ms sent twice", ID},
        {GOOD_ID GOOD_ID GOOD_DEADLINE, "Lambda-Runtime-Aws-Request-Id sent twice", NULL},
        {GOOD_ID "lambda-runtime-trace-id: a\r\nLambda-Runtime-Trace-Id: b\r\n" GOOD_DEADLINE,
         "Lambda-Runtime-Trace-Id sent twice", ID},
        {GOOD_ID "no colon here\r\n" GOOD_DEADLINE, "header line without a colon: \"no colon", ID},
        /* The lines after a bad one are still read for the request id. */
        {"no colon here\r\n" GOOD_ID GOOD_DEADLINE, "header line without a colon", ID},
        {"X-Ctl: \x01\r\n" GOOD_ID GOOD_ID GOOD_DEADLINE, "control character 0x01", NULL},
        {GOOD_ID ": value\r\n" GOOD_DEADLINE, "header line with no name", ID},
        {GOOD_ID "Bad Name: x\r\n" GOOD_DEADLINE, "bad character in header name", ID},
        {GOOD_ID "X-Folded: a\r\n continued\r\n" GOOD_DEADLINE, "folded header line", ID},
        /* A folded request id would be longer than what was read. */
        {GOOD_ID " continued\r\n" GOOD_DEADLINE, "folded header line", NULL},
        {GOOD_ID "X-Ctl: a\x01"
                 "b\r\n" GOOD_DEADLINE,
         "control character 0x01 in header X-Ctl", ID},
        {GOOD_ID "X-Cr: a\rb\r\n" GOOD_DEADLINE, "control character 0x0d", ID},
        {GOOD_ID "X-Del: a\x7f\r\n" GOOD_DEADLINE, "control character 0x7f", ID},
        {"Lambda-Runtime-Aws-Request-Id: a\x01\r\n" GOOD_ID GOOD_DEADLINE,
         "control character 0x01 in header Lambda-Runtime-Aws-Request-Id", NULL},
        {"Lambda-Runtime-Aws-Request-Id: a/b\r\n" GOOD_DEADLINE, "not safe in a URL path", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tlw_invocation inv;
        tlw_error err;
        if (parse(cases[i].block, &inv, &err) != TLW_ERR_PROTOCOL)
            fail_msg("case %zu was accepted", i);
        assert_says(&err, cases[i].says);
        if (cases[i].id && (!inv.request_id || strcmp(inv.request_id, cases[i].id) != 0))
            fail_msg("case %zu: request id \"%s\"", i, inv.request_id ? inv.request_id : "(none)");
        if (!cases[i].id && inv.request_id)
            fail_msg("case %zu: request id \"%s\" from a block without a valid one", i,
                     inv.request_id);
        assert_true(inv.deadline_ms == 0);
        assert_null(inv.trace_id);
        assert_null(inv.function_arn);
        tlw_invocation_free(&inv);
    }

    /* A NUL byte inside a value (the length, not strlen, bounds the block). */
    const char with_nul[] = GOOD_ID "X-Nul: a\0b\r\n" GOOD_DEADLINE;
    tlw_invocation inv = {0};
    tlw_error err;
    assert_int_equal(tlw_runtime_api_parse_headers(with_nul, sizeof with_nul - 1, &inv, &err),
                     TLW_ERR_PROTOCOL);
    assert_says(&err, "control character 0x00");
    assert_string_equal(inv.request_id, ID);
    tlw_invocation_free(&inv);
}

static void messages_do_not_echo_control_characters(void **state)
{
    tlw_invocation inv;
    tlw_error err;
    assert_int_equal(
        parse("Lambda-Runtime-Aws-Request-Id: a\x1b[31mred\r\n" GOOD_DEADLINE, &inv, &err),
        TLW_ERR_PROTOCOL);
    assert_null(strchr(err.message, '\x1b'));
}

/* --- error bodies ----------------------------------------------------------------- */

static void error_bodies_are_escaped_json(void **state)
{
    const char *message = "bad \"value\" at C:\\dir\nline 2\ttab \x01 caf\xc3\xa9 </script>";
    tlw_error err;
    char *body = tlw_runtime_api_error_body("Runtime.ConfigError", message, &err);
    assert_non_null(body);
    assert_null(strchr(body, '\n'));
    json_error_t jerr;
    json_t *j = json_loads(body, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "errorMessage")), message);
    assert_string_equal(json_string_value(json_object_get(j, "errorType")), "Runtime.ConfigError");
    assert_true(json_is_array(json_object_get(j, "stackTrace")));
    assert_int_equal(json_array_size(json_object_get(j, "stackTrace")), 0);
    assert_int_equal(json_object_size(j), 3);
    json_decref(j);
    free(body);
}

static void invalid_utf8_becomes_replacement_characters(void **state)
{
    /* A lone continuation byte, a truncated sequence, an overlong '/', a
     * surrogate, and a code point above U+10FFFF. */
    const char *message = "a\x80"
                          "b\xc3"
                          "c\xc0\xaf"
                          "d\xed\xa0\x80"
                          "e\xf4\x90\x80\x80"
                          "f";
    tlw_error err;
    char *body = tlw_runtime_api_error_body("Function.X", message, &err);
    assert_non_null(body);
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    const char *got = json_string_value(json_object_get(j, "errorMessage"));
    assert_non_null(got);
    assert_non_null(strstr(got, "a\xef\xbf\xbd"
                                "b\xef\xbf\xbd"
                                "c"));
    assert_non_null(strstr(got, "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                "e"));
    assert_true(got[strlen(got) - 1] == 'f');
    json_decref(j);
    free(body);

    body = tlw_runtime_api_error_body("Function.X", NULL, &err);
    assert_string_equal(body,
                        "{\"errorMessage\":\"\",\"errorType\":\"Function.X\",\"stackTrace\":[]}");
    free(body);
}

/* --- addresses ---------------------------------------------------------------------- */

static void addresses_are_checked(void **state)
{
    const char *good[] = {"127.0.0.1:9001", "localhost:9001", "[::1]:9001", "a-b.c_d:1",
                          "host:65535"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        tlw_runtime_api *api;
        tlw_error err;
        assert_int_equal(tlw_runtime_api_open(good[i], &api, &err), TLW_OK);
        assert_string_equal(tlw_runtime_api_address(api), good[i]);
        tlw_runtime_api_close(api);
    }
    const char *bad[] = {"",           "localhost", "localhost:",       ":9001",       "host:0",
                         "host:65536", "host:90x1", "http://host:9001", "host:9001/x", "a b:1",
                         "[::1:9001",  "[]:1",      "user@host:1",      "host:123456"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tlw_runtime_api *api = (tlw_runtime_api *)1;
        tlw_error err;
        if (tlw_runtime_api_open(bad[i], &api, &err) != TLW_ERR_INVALID)
            fail_msg("address \"%s\" was accepted", bad[i]);
        assert_null(api);
        assert_says(&err, "expected host:port");
    }
    tlw_runtime_api_close(NULL);
}

static void from_env_names_the_variable(void **state)
{
    unsetenv("AWS_LAMBDA_RUNTIME_API");
    tlw_runtime_api *api;
    tlw_error err;
    assert_int_equal(tlw_runtime_api_from_env(&api, &err), TLW_ERR_INVALID);
    assert_null(api);
    assert_says(&err, "AWS_LAMBDA_RUNTIME_API is not set");

    setenv("AWS_LAMBDA_RUNTIME_API", "", 1);
    assert_int_equal(tlw_runtime_api_from_env(&api, &err), TLW_ERR_INVALID);

    setenv("AWS_LAMBDA_RUNTIME_API", "nonsense", 1);
    assert_int_equal(tlw_runtime_api_from_env(&api, &err), TLW_ERR_INVALID);
    assert_says(&err, "AWS_LAMBDA_RUNTIME_API: Runtime API address \"nonsense\"");

    setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001", 1);
    assert_int_equal(tlw_runtime_api_from_env(&api, &err), TLW_OK);
    assert_string_equal(tlw_runtime_api_address(api), "127.0.0.1:9001");
    tlw_runtime_api_close(api);
    unsetenv("AWS_LAMBDA_RUNTIME_API");
}

/* --- a canned HTTP/1.1 server in a thread ----------------------------------------- */

/*
 * Answers request number i with answers[i] (the last one repeats), then
 * closes the connection, or with `keep_open` waits on it for the next
 * request unless close_after[i]. An answer of NULL closes without
 * answering. `chunked_bytes` > 0 follows the answer with a chunked body of
 * that many bytes. `piece` > 0 sends answers in pieces of that many bytes,
 * a short pause between them. Every request it reads is appended to
 * `requests`. It stops when told to, or after 5 s without a connection, so
 * a test that goes wrong fails instead of hanging.
 */
typedef struct server {
    int listen_fd;
    int port;
    const char *answers[4];
    size_t answer_lens[4]; /* 0: strlen(answer) */
    size_t n_answers;
    bool ipv6; /* listen on [::1] instead of 127.0.0.1 */
    bool keep_open;
    bool close_after[4];
    size_t piece;
    size_t chunked_bytes;
    char *requests;
    size_t requests_len;
    int connections;
    int n_requests;
    atomic_bool stop;
    pthread_t thread;
} server;

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

/* Sends in pieces of `piece` bytes (0: at once), 200 us apart. */
static void send_in_pieces(int fd, const char *p, size_t n, size_t piece)
{
    if (!piece) {
        send_all(fd, p, n);
        return;
    }
    for (size_t off = 0; off < n; off += piece) {
        send_all(fd, p + off, n - off < piece ? n - off : piece);
        struct timespec pause = {.tv_nsec = 200000};
        nanosleep(&pause, NULL);
    }
}

/* Reads one request (headers and a Content-Length body) into s->requests;
 * false when the connection ended or stayed silent first. */
static bool read_request(server *s, int fd)
{
    size_t start = s->requests_len, need = 0;
    bool have_headers = false;
    for (;;) {
        char buf[4096];
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 2000) <= 0)
            return false;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return false;
        s->requests = realloc(s->requests, s->requests_len + (size_t)n + 1);
        memcpy(s->requests + s->requests_len, buf, (size_t)n);
        s->requests_len += (size_t)n;
        s->requests[s->requests_len] = '\0';
        if (!have_headers) {
            char *end = strstr(s->requests + start, "\r\n\r\n");
            if (!end)
                continue;
            have_headers = true;
            const char *cl = strcasestr(s->requests + start, "Content-Length:");
            size_t body = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
            need = (size_t)(end + 4 - (s->requests + start)) + body;
        }
        if (s->requests_len - start >= need)
            return true;
    }
}

static void *serve(void *arg)
{
    server *s = arg;
    int64_t idle_since = now_ms();
    while (!atomic_load(&s->stop) && now_ms() - idle_since < 5000) {
        struct pollfd p = {.fd = s->listen_fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        s->connections++;
        /* The first request is answered even if it did not arrive whole. */
        for (bool first = true; (read_request(s, fd) || first) && !atomic_load(&s->stop);
             first = false) {
            size_t i =
                (size_t)s->n_requests < s->n_answers ? (size_t)s->n_requests : s->n_answers - 1;
            s->n_requests++;
            const char *answer = s->answers[i];
            if (!answer)
                break;
            send_in_pieces(fd, answer, s->answer_lens[i] ? s->answer_lens[i] : strlen(answer),
                           s->piece);
            char chunk[65536 + 32];
            for (size_t sent = 0; sent < s->chunked_bytes;) {
                size_t n = s->chunked_bytes - sent < 65536 ? s->chunked_bytes - sent : 65536;
                int h = snprintf(chunk, 32, "%zx\r\n", n);
                memset(chunk + h, 'e', n);
                memcpy(chunk + h + n, "\r\n", 2);
                send_all(fd, chunk, (size_t)h + n + 2);
                sent += n;
            }
            if (s->chunked_bytes)
                send_all(fd, "0\r\n\r\n", 5);
            if (!s->keep_open || s->close_after[i])
                break;
        }
        close(fd);
        idle_since = now_ms();
    }
    return NULL;
}

static void server_start(server *s)
{
    if (s->ipv6) {
        s->listen_fd = socket(AF_INET6, SOCK_STREAM, 0);
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
        socklen_t len = sizeof a;
        assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
        assert_int_equal(listen(s->listen_fd, 16), 0);
        assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&a, &len), 0);
        s->port = ntohs(a.sin6_port);
    } else {
        s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
        assert_int_equal(listen(s->listen_fd, 16), 0);
        assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&a, &len), 0);
        s->port = ntohs(a.sin_port);
    }
    atomic_init(&s->stop, false);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

/* Stops the thread; s->requests stays for the test to read, then free. */
static void server_stop(server *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
}

static tlw_runtime_api *client_for(const server *s)
{
    char address[32];
    snprintf(address, sizeof address, "127.0.0.1:%d", s->port);
    tlw_runtime_api *api;
    tlw_error err;
    assert_int_equal(tlw_runtime_api_open(address, &api, &err), TLW_OK);
    return api;
}

#define NEXT_HEADERS                                                                               \
    "HTTP/1.1 200 OK\r\n"                                                                          \
    "Content-Type: application/json\r\n"                                                           \
    "Connection: close\r\n" GOOD_ID GOOD_DEADLINE                                                  \
    "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:1:function:f\r\n"               \
    "Lambda-Runtime-Trace-Id: Root=1-abc\r\n"

/* One GET /next against a server giving `answers`; returns the status. */
static tlw_status next_against(server *s, tlw_invocation *inv, tlw_error *err)
{
    server_start(s);
    tlw_runtime_api *api = client_for(s);
    tlw_status st = tlw_runtime_api_next(api, inv, err);
    tlw_runtime_api_close(api);
    return st;
}

static void next_returns_the_invocation(void **state)
{
    /* The event holds a NUL byte: its length, not strlen, counts. */
    static const char answer[] = NEXT_HEADERS "Content-Length: 14\r\n\r\n{\"a\":\"x\0y\"}end";
    server s = {.answers = {answer}, .answer_lens = {sizeof answer - 1}, .n_answers = 1};
    tlw_invocation inv;
    tlw_error err;
    assert_int_equal(next_against(&s, &inv, &err), TLW_OK);
    server_stop(&s);
    assert_string_equal(inv.request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
    assert_true(inv.deadline_ms == 1542409706888);
    assert_string_equal(inv.function_arn, "arn:aws:lambda:us-east-1:1:function:f");
    assert_string_equal(inv.trace_id, "Root=1-abc");
    assert_string_equal(inv.client_context, "");
    assert_int_equal(inv.event_len, 14);
    assert_memory_equal(inv.event, "{\"a\":\"x\0y\"}end", 15);
    assert_non_null(strstr(s.requests, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n"));
    assert_non_null(strcasestr(s.requests, "\r\nHost: 127.0.0.1:"));
    tlw_invocation_free(&inv);
    free(s.requests);
}

static void next_accepts_an_empty_event_and_a_chunked_one(void **state)
{
    server s = {.answers = {NEXT_HEADERS "Content-Length: 0\r\n\r\n"}, .n_answers = 1};
    tlw_invocation inv;
    tlw_error err;
    assert_int_equal(next_against(&s, &inv, &err), TLW_OK);
    assert_int_equal(inv.event_len, 0);
    assert_string_equal(inv.event, "");
    tlw_invocation_free(&inv);
    server_stop(&s);
    free(s.requests);

    server c = {.answers = {NEXT_HEADERS "Transfer-Encoding: chunked\r\n\r\n"},
                .n_answers = 1,
                .chunked_bytes = 200000};
    assert_int_equal(next_against(&c, &inv, &err), TLW_OK);
    assert_int_equal(inv.event_len, 200000);
    assert_true(inv.event[0] == 'e' && inv.event[199999] == 'e' && inv.event[200000] == '\0');
    tlw_invocation_free(&inv);
    server_stop(&c);
    free(c.requests);
}

static void next_refuses_malformed_answers(void **state)
{
    /* `id`: the request id left in the invocation, so that the caller can
     * fail it; only a 200 answer names one. */
    static const struct {
        const char *answer;
        tlw_status want;
        const char *says;
        const char *id;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nConnection: close\r\n" GOOD_ID "Content-Length: 2\r\n\r\n{}",
         TLW_ERR_PROTOCOL, "has no Lambda-Runtime-Deadline-Ms", ID},
        {"HTTP/1.1 200 OK\r\nConnection: close\r\n" GOOD_ID
         "Lambda-Runtime-Deadline-Ms: soon\r\nContent-Length: 2\r\n\r\n{}",
         TLW_ERR_PROTOCOL, "\"soon\" is not a positive number", ID},
        {"HTTP/1.1 200 OK\r\nConnection: close\r\n" GOOD_ID
         "Lambda-Runtime-Deadline-Ms: 9223372036854775807\r\nContent-Length: 2\r\n\r\n{}",
         TLW_ERR_PROTOCOL, "\"9223372036854775807\" is out of range", ID},
        {"HTTP/1.1 200 OK\r\nConnection: close\r\n" GOOD_DEADLINE "Content-Length: 2\r\n\r\n{}",
         TLW_ERR_PROTOCOL, "has no Lambda-Runtime-Aws-Request-Id", NULL},
        {"HTTP/1.1 200 OK\r\nConnection: close\r\nLambda-Runtime-Aws-Request-Id: "
         "../init\r\n" GOOD_DEADLINE "Content-Length: 2\r\n\r\n{}",
         TLW_ERR_PROTOCOL, "not safe in a URL path", NULL},
        {"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n" GOOD_ID
         "Content-Length: 59\r\n\r\n"
         "{\"errorMessage\":\"Internal Server Error\",\"errorType\":\"X\"}   ",
         TLW_ERR_SERVER, "with HTTP 500: {\"errorMessage\":\"Internal Server Error\"", NULL},
        {"HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", TLW_ERR_SERVER,
         "answered GET /runtime/invocation/next with HTTP 403", NULL},
        {"HTTP/1.1 200 OK\r\nConnection: close\r\n" GOOD_ID GOOD_DEADLINE
         "Content-Length: 7000000\r\n\r\n{}",
         TLW_ERR_PROTOCOL, "is larger than 6295552 bytes", ID},
        {"garbage\r\n\r\n", TLW_ERR_PROTOCOL, "is not HTTP/1.x", NULL},
        /* What HTTP itself refuses after a whole header block still names
         * the invocation. */
        {"HTTP/1.1 200 OK\r\nConnection: close\r\n" GOOD_ID GOOD_DEADLINE
         "X-Ctl: a\x01\r\nContent-Length: 2\r\n\r\n{}",
         TLW_ERR_PROTOCOL, "control character 0x01", ID},
        {"HTTP/1.1 200 OK\r\nConnection: close\r\n" GOOD_ID GOOD_DEADLINE
         "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
         TLW_ERR_PROTOCOL, "bad chunk size line \"zz\"", ID},
        {"HTTP/1.1 200 OK\r\nConnection: close\r\n" GOOD_ID GOOD_DEADLINE
         "Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n{}",
         TLW_ERR_PROTOCOL, "both Content-Length and Transfer-Encoding", ID},
        {"HTTP/1.1 200 OK\r\nConnection: close\r\n" GOOD_ID GOOD_DEADLINE
         "Content-Length: 1\r\nContent-Length: 2\r\n\r\n{}",
         TLW_ERR_PROTOCOL, "Content-Length twice", ID},
        /* A status line HTTP refuses: no header block, no request id. */
        {"HTTP/1.1 2000 OK\r\n" GOOD_ID GOOD_DEADLINE "Content-Length: 2\r\n\r\n{}",
         TLW_ERR_PROTOCOL, "bad status line", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        server s = {.answers = {cases[i].answer}, .n_answers = 1};
        tlw_invocation inv;
        tlw_error err;
        tlw_status st = next_against(&s, &inv, &err);
        if (st != cases[i].want)
            fail_msg("case %zu: status %d: %s", i, st, err.message);
        assert_says(&err, cases[i].says);
        if (cases[i].id)
            assert_string_equal(inv.request_id, cases[i].id);
        else
            assert_null(inv.request_id);
        assert_null(inv.event);
        assert_null(inv.function_arn);
        assert_true(inv.deadline_ms == 0);
        tlw_invocation_free(&inv);
        server_stop(&s);
        free(s.requests);
    }
}

static void next_refuses_an_oversized_chunked_event(void **state)
{
    server s = {.answers = {NEXT_HEADERS "Transfer-Encoding: chunked\r\n\r\n"},
                .n_answers = 1,
                .chunked_bytes = TLW_RUNTIME_API_EVENT_MAX + 1};
    tlw_invocation inv;
    tlw_error err;
    assert_int_equal(next_against(&s, &inv, &err), TLW_ERR_PROTOCOL);
    assert_says(&err, "is larger than 6295552 bytes");
    assert_null(inv.event);
    assert_string_equal(inv.request_id, ID); /* the headers came first */
    tlw_invocation_free(&inv);
    server_stop(&s);
    free(s.requests);
}

static void next_refuses_an_oversized_header_block(void **state)
{
    size_t pad = TLW_RUNTIME_API_HEADERS_MAX;
    char *answer = malloc(pad + 512);
    int n = snprintf(answer, 512, NEXT_HEADERS "X-Pad: ");
    memset(answer + n, 'p', pad);
    strcpy(answer + n + pad, "\r\nContent-Length: 0\r\n\r\n");
    server s = {.answers = {answer}, .n_answers = 1};
    tlw_invocation inv;
    tlw_error err;
    assert_int_equal(next_against(&s, &inv, &err), TLW_ERR_PROTOCOL);
    assert_says(&err, "more than 65536 bytes of headers");
    server_stop(&s);
    free(s.requests);
    free(answer);
}

static void next_retries_a_server_that_hung_up(void **state)
{
    server s = {.answers = {NULL, NEXT_HEADERS "Content-Length: 2\r\n\r\n{}"}, .n_answers = 2};
    tlw_invocation inv;
    tlw_error err;
    assert_int_equal(next_against(&s, &inv, &err), TLW_OK);
    assert_string_equal(inv.event, "{}");
    assert_int_equal(s.connections, 2);
    tlw_invocation_free(&inv);
    server_stop(&s);
    free(s.requests);
}

static void next_gives_up_on_a_server_that_always_hangs_up(void **state)
{
    server s = {.answers = {NULL}, .n_answers = 1};
    tlw_invocation inv;
    tlw_error err;
    int64_t start = now_ms();
    assert_int_equal(next_against(&s, &inv, &err), TLW_ERR_UNAVAILABLE);
    int64_t took = now_ms() - start;
    assert_true(took < 3000);
    assert_true(s.connections >= 2);
    char address[64];
    snprintf(address, sizeof address, "Runtime API at 127.0.0.1:%d is unavailable", s.port);
    assert_says(&err, address);
    assert_says(&err, "AWS_LAMBDA_RUNTIME_API");
    server_stop(&s);
    free(s.requests);
}

static void a_runtime_api_that_is_gone_is_unavailable(void **state)
{
    /* A loopback port nothing listens on. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    char address[32];
    snprintf(address, sizeof address, "127.0.0.1:%d", ntohs(a.sin_port));

    tlw_runtime_api *api;
    tlw_error err;
    assert_int_equal(tlw_runtime_api_open(address, &api, &err), TLW_OK);
    int64_t start = now_ms();
    tlw_invocation inv;
    assert_int_equal(tlw_runtime_api_next(api, &inv, &err), TLW_ERR_UNAVAILABLE);
    int64_t took = now_ms() - start;
    assert_true(took >= 500 && took < 2500); /* retried for about a second */
    assert_says(&err, address);
    assert_says(&err, "attempts");

    assert_int_equal(tlw_runtime_api_respond(api, "id-1", "{}", 2, &err), TLW_ERR_UNAVAILABLE);
    assert_int_equal(tlw_runtime_api_init_error(api, "Runtime.X", "m", &err), TLW_ERR_UNAVAILABLE);
    assert_says(&err, "POST /runtime/init/error");
    tlw_runtime_api_close(api);
}

#define ACCEPTED                                                                                   \
    "HTTP/1.1 202 Accepted\r\nConnection: close\r\nContent-Type: application/json\r\n"             \
    "Content-Length: 16\r\n\r\n{\"status\":\"OK\"}\n"

static void respond_posts_the_body(void **state)
{
    server s = {.answers = {ACCEPTED}, .n_answers = 1};
    server_start(&s);
    tlw_runtime_api *api = client_for(&s);
    tlw_error err;
    /* 3 KiB: more than the size at which curl would otherwise wait for
     * "100 Continue". Bodies are bytes, not strings. */
    size_t len = 3000;
    char *body = malloc(len);
    memset(body, 'r', len);
    body[0] = '\0';
    int64_t start = now_ms();
    assert_int_equal(tlw_runtime_api_respond(api, "req-1", body, len, &err), TLW_OK);
    assert_true(now_ms() - start < 900);
    tlw_runtime_api_close(api);
    server_stop(&s);
    assert_non_null(
        strstr(s.requests, "POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\n"));
    assert_non_null(strcasestr(s.requests, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strcasestr(s.requests, "\r\nContent-Length: 3000\r\n"));
    assert_null(strcasestr(s.requests, "Expect:"));
    char *end = strstr(s.requests, "\r\n\r\n");
    assert_int_equal(s.requests_len - (size_t)(end + 4 - s.requests), len);
    assert_memory_equal(end + 4, body, len);
    free(s.requests);
    free(body);
}

static void respond_reports_lambdas_refusal(void **state)
{
    server s = {.answers = {"HTTP/1.1 413 Request Entity Too Large\r\nConnection: close\r\n"
                            "Content-Length: 109\r\n\r\n"
                            "{\"errorMessage\":\"Exceeded maximum allowed payload size (6291556 "
                            "bytes).\",\"errorType\":\"RequestEntityTooLarge\"}"},
                .n_answers = 1};
    server_start(&s);
    tlw_runtime_api *api = client_for(&s);
    tlw_error err;
    assert_int_equal(tlw_runtime_api_respond(api, "req-1", "{}", 2, &err), TLW_ERR_SERVER);
    assert_says(&err, "refused POST /runtime/invocation/req-1/response with HTTP 413: "
                      "RequestEntityTooLarge: Exceeded maximum allowed payload size");
    tlw_runtime_api_close(api);
    server_stop(&s);
    free(s.requests);
}

static void unsafe_request_ids_and_error_types_are_refused_before_sending(void **state)
{
    tlw_runtime_api *api;
    tlw_error err;
    /* Nothing listens on port 1: reaching the network would be UNAVAILABLE. */
    assert_int_equal(tlw_runtime_api_open("127.0.0.1:1", &api, &err), TLW_OK);
    assert_int_equal(tlw_runtime_api_respond(api, "a/../b", "{}", 2, &err), TLW_ERR_INVALID);
    assert_says(&err, "request id \"a/../b\"");
    assert_int_equal(tlw_runtime_api_respond(api, NULL, "{}", 2, &err), TLW_ERR_INVALID);
    assert_int_equal(tlw_runtime_api_invocation_error(api, "ok", "Bad Type", "m", &err),
                     TLW_ERR_INVALID);
    assert_says(&err, "error type \"Bad Type\"");
    assert_int_equal(
        tlw_runtime_api_invocation_error(api, "ok", "Runtime.X\r\nInjected: yes", "m", &err),
        TLW_ERR_INVALID);
    assert_int_equal(tlw_runtime_api_init_error(api, "", "m", &err), TLW_ERR_INVALID);
    assert_int_equal(tlw_runtime_api_init_error(api, NULL, "m", &err), TLW_ERR_INVALID);
    tlw_runtime_api_close(api);
}

static void errors_post_the_type_header_and_a_json_body(void **state)
{
    server s = {.answers = {ACCEPTED}, .n_answers = 1};
    server_start(&s);
    tlw_runtime_api *api = client_for(&s);
    tlw_error err;
    assert_int_equal(tlw_runtime_api_invocation_error(api, "req-9", "Function.DeadlineTooShort",
                                                      "only \"1 s\" left", &err),
                     TLW_OK);
    assert_int_equal(tlw_runtime_api_init_error(api, "Runtime.ConfigError", "no task queue", &err),
                     TLW_OK);
    tlw_runtime_api_close(api);
    server_stop(&s);

    char *second = strstr(s.requests, "POST /2018-06-01/runtime/init/error HTTP/1.1\r\n");
    assert_non_null(second);
    assert_non_null(
        strstr(s.requests, "POST /2018-06-01/runtime/invocation/req-9/error HTTP/1.1\r\n"));
    assert_true(strstr(s.requests, "/invocation/req-9/error") < second);
    assert_non_null(strcasestr(
        s.requests, "\r\nLambda-Runtime-Function-Error-Type: Function.DeadlineTooShort\r\n"));
    assert_non_null(strstr(s.requests, "{\"errorMessage\":\"only \\\"1 s\\\" left\","
                                       "\"errorType\":\"Function.DeadlineTooShort\","
                                       "\"stackTrace\":[]}"));
    assert_non_null(
        strcasestr(second, "\r\nLambda-Runtime-Function-Error-Type: Runtime.ConfigError\r\n"));
    assert_non_null(strstr(second, "{\"errorMessage\":\"no task queue\","
                                   "\"errorType\":\"Runtime.ConfigError\",\"stackTrace\":[]}"));
    free(s.requests);
}

/* --- keep-alive, reconnection, answers in pieces ----------------------------------- */

#define NEXT_KEEP_ALIVE                                                                            \
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" GOOD_ID GOOD_DEADLINE                  \
    "Content-Length: 2\r\n\r\n{}"
#define NEXT_KEEP_ALIVE_CHUNKED                                                                    \
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" GOOD_ID GOOD_DEADLINE                  \
    "Transfer-Encoding: chunked\r\n\r\n"                                                           \
    "4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nX-Trailer: t\r\n\r\n"
#define ACCEPTED_KEEP_ALIVE                                                                        \
    "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n"                                  \
    "Content-Length: 16\r\n\r\n{\"status\":\"OK\"}\n"

static int count_of(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = haystack; p && (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void next_accepts_chunked_events_with_extensions_and_trailers(void **state)
{
    server s = {.answers = {NEXT_KEEP_ALIVE_CHUNKED}, .n_answers = 1};
    tlw_invocation inv;
    tlw_error err;
    assert_int_equal(next_against(&s, &inv, &err), TLW_OK);
    assert_int_equal(inv.event_len, 7);
    assert_string_equal(inv.event, "{\"a\":1}");
    assert_string_equal(inv.request_id, ID);
    tlw_invocation_free(&inv);
    server_stop(&s);
    free(s.requests);
}

static void the_connection_is_kept_alive_between_calls(void **state)
{
    server s = {.answers = {NEXT_KEEP_ALIVE, ACCEPTED_KEEP_ALIVE, NEXT_KEEP_ALIVE_CHUNKED,
                            ACCEPTED_KEEP_ALIVE},
                .n_answers = 4,
                .keep_open = true};
    server_start(&s);
    tlw_runtime_api *api = client_for(&s);
    tlw_invocation inv;
    tlw_error err;
    assert_int_equal(tlw_runtime_api_next(api, &inv, &err), TLW_OK);
    assert_string_equal(inv.event, "{}");
    tlw_invocation_free(&inv);
    assert_int_equal(tlw_runtime_api_respond(api, ID, "{}", 2, &err), TLW_OK);
    /* A chunked answer on a kept connection is read to its last byte, so
     * that the next answer starts where it should. */
    assert_int_equal(tlw_runtime_api_next(api, &inv, &err), TLW_OK);
    assert_string_equal(inv.event, "{\"a\":1}");
    tlw_invocation_free(&inv);
    assert_int_equal(tlw_runtime_api_respond(api, ID, "{}", 2, &err), TLW_OK);
    tlw_runtime_api_close(api);
    server_stop(&s);
    assert_int_equal(s.connections, 1);
    assert_int_equal(s.n_requests, 4);
    free(s.requests);
}

static void a_connection_the_server_closed_between_calls_is_replaced(void **state)
{
    server s = {.answers = {NEXT_KEEP_ALIVE, ACCEPTED_KEEP_ALIVE},
                .n_answers = 2,
                .keep_open = true,
                .close_after = {true}};
    server_start(&s);
    tlw_runtime_api *api = client_for(&s);
    tlw_invocation inv;
    tlw_error err;
    assert_int_equal(tlw_runtime_api_next(api, &inv, &err), TLW_OK);
    tlw_invocation_free(&inv);
    struct timespec pause = {.tv_nsec = 50 * 1000000};
    nanosleep(&pause, NULL); /* the server's close arrives */
    assert_int_equal(tlw_runtime_api_respond(api, ID, "{}", 2, &err), TLW_OK);
    tlw_runtime_api_close(api);
    server_stop(&s);
    assert_int_equal(s.connections, 2);
    assert_int_equal(s.n_requests, 2); /* the POST went out once */
    free(s.requests);
}

static void a_request_dropped_unanswered_on_a_kept_connection_is_sent_again(void **state)
{
    /* The server reads the second request and closes without a byte of an
     * answer, as one closing an idle connection does when a request
     * crosses its close: the request goes once more on a new connection. */
    server s = {
        .answers = {NEXT_KEEP_ALIVE, NULL, ACCEPTED_KEEP_ALIVE}, .n_answers = 3, .keep_open = true};
    server_start(&s);
    tlw_runtime_api *api = client_for(&s);
    tlw_invocation inv;
    tlw_error err;
    assert_int_equal(tlw_runtime_api_next(api, &inv, &err), TLW_OK);
    tlw_invocation_free(&inv);
    int64_t start = now_ms();
    assert_int_equal(tlw_runtime_api_respond(api, ID, "{\"r\":1}", 7, &err), TLW_OK);
    assert_true(now_ms() - start < 500); /* at once, not after a backoff */
    tlw_runtime_api_close(api);
    server_stop(&s);
    assert_int_equal(s.connections, 2);
    assert_int_equal(s.n_requests, 3);
    assert_int_equal(count_of(s.requests, "POST /2018-06-01/runtime/invocation/" ID "/response"),
                     2);
    free(s.requests);

    /* The same for GET /next. */
    server g = {.answers = {NEXT_KEEP_ALIVE, NULL, NEXT_KEEP_ALIVE_CHUNKED},
                .n_answers = 3,
                .keep_open = true};
    server_start(&g);
    api = client_for(&g);
    assert_int_equal(tlw_runtime_api_next(api, &inv, &err), TLW_OK);
    tlw_invocation_free(&inv);
    assert_int_equal(tlw_runtime_api_next(api, &inv, &err), TLW_OK);
    assert_string_equal(inv.event, "{\"a\":1}");
    tlw_invocation_free(&inv);
    tlw_runtime_api_close(api);
    server_stop(&g);
    assert_int_equal(g.connections, 2);
    free(g.requests);
}

static void a_post_is_never_sent_twice_once_an_answer_began(void **state)
{
    /* Part of an answer, then the connection ends: the server acted on the
     * POST, so it is not sent again. */
    server s = {.answers = {NEXT_KEEP_ALIVE, "HTTP/1.1 202 Acc"},
                .n_answers = 2,
                .keep_open = true,
                .close_after = {false, true}};
    server_start(&s);
    tlw_runtime_api *api = client_for(&s);
    tlw_invocation inv;
    tlw_error err;
    assert_int_equal(tlw_runtime_api_next(api, &inv, &err), TLW_OK);
    tlw_invocation_free(&inv);
    assert_int_equal(tlw_runtime_api_respond(api, ID, "{}", 2, &err), TLW_ERR_UNAVAILABLE);
    assert_says(&err, "is unavailable");
    assert_says(&err, "in the middle of the answer");
    assert_says(&err, "(1 attempt)");
    tlw_runtime_api_close(api);
    server_stop(&s);
    assert_int_equal(s.connections, 1);
    assert_int_equal(s.n_requests, 2);
    free(s.requests);

    /* A new connection closed without an answer: the server may have
     * acted on it too. */
    server f = {.answers = {NULL}, .n_answers = 1};
    server_start(&f);
    api = client_for(&f);
    assert_int_equal(tlw_runtime_api_respond(api, ID, "{}", 2, &err), TLW_ERR_UNAVAILABLE);
    assert_says(&err, "closed the connection without answering");
    tlw_runtime_api_close(api);
    server_stop(&f);
    assert_int_equal(f.connections, 1);
    assert_int_equal(f.n_requests, 1);
    free(f.requests);
}

static void answers_in_tiny_pieces(void **state)
{
    server s = {.answers = {NEXT_KEEP_ALIVE_CHUNKED}, .n_answers = 1, .piece = 1};
    tlw_invocation inv;
    tlw_error err;
    assert_int_equal(next_against(&s, &inv, &err), TLW_OK);
    assert_string_equal(inv.event, "{\"a\":1}");
    assert_string_equal(inv.request_id, ID);
    assert_true(inv.deadline_ms == 1542409706888);
    tlw_invocation_free(&inv);
    server_stop(&s);
    free(s.requests);

    server p = {.answers = {ACCEPTED_KEEP_ALIVE}, .n_answers = 1, .piece = 3};
    server_start(&p);
    tlw_runtime_api *api = client_for(&p);
    assert_int_equal(tlw_runtime_api_respond(api, ID, "{}", 2, &err), TLW_OK);
    tlw_runtime_api_close(api);
    server_stop(&p);
    free(p.requests);
}

static void host_names_and_ipv6_addresses_are_reached(void **state)
{
    /* A name, resolved with getaddrinfo (and the Host header as given). */
    server s = {.answers = {ACCEPTED}, .n_answers = 1};
    server_start(&s);
    char address[64];
    snprintf(address, sizeof address, "localhost:%d", s.port);
    tlw_runtime_api *api;
    tlw_error err;
    assert_int_equal(tlw_runtime_api_open(address, &api, &err), TLW_OK);
    assert_int_equal(tlw_runtime_api_respond(api, ID, "{}", 2, &err), TLW_OK);
    tlw_runtime_api_close(api);
    server_stop(&s);
    char host[80];
    snprintf(host, sizeof host, "\r\nHost: %s\r\n", address);
    assert_non_null(strstr(s.requests, host));
    free(s.requests);

    /* [::1]:port, where the machine has IPv6. */
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
    bool has_ipv6 = probe >= 0 && bind(probe, (struct sockaddr *)&a, sizeof a) == 0;
    if (probe >= 0)
        close(probe);
    if (!has_ipv6)
        skip();
    server v6 = {.answers = {ACCEPTED}, .n_answers = 1, .ipv6 = true};
    server_start(&v6);
    snprintf(address, sizeof address, "[::1]:%d", v6.port);
    assert_int_equal(tlw_runtime_api_open(address, &api, &err), TLW_OK);
    assert_int_equal(tlw_runtime_api_respond(api, ID, "{}", 2, &err), TLW_OK);
    tlw_runtime_api_close(api);
    server_stop(&v6);
    snprintf(host, sizeof host, "\r\nHost: %s\r\n", address);
    assert_non_null(strstr(v6.requests, host));
    free(v6.requests);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_a_full_answer),
        cmocka_unit_test(absent_optional_headers_read_as_empty),
        cmocka_unit_test(names_are_case_insensitive_and_values_trimmed),
        cmocka_unit_test(deadline_limits),
        cmocka_unit_test(request_ids_must_be_safe_in_a_path),
        cmocka_unit_test(malformed_blocks_are_refused),
        cmocka_unit_test(messages_do_not_echo_control_characters),
        cmocka_unit_test(error_bodies_are_escaped_json),
        cmocka_unit_test(invalid_utf8_becomes_replacement_characters),
        cmocka_unit_test(addresses_are_checked),
        cmocka_unit_test(from_env_names_the_variable),
        cmocka_unit_test(next_returns_the_invocation),
        cmocka_unit_test(next_accepts_an_empty_event_and_a_chunked_one),
        cmocka_unit_test(next_refuses_malformed_answers),
        cmocka_unit_test(next_refuses_an_oversized_chunked_event),
        cmocka_unit_test(next_refuses_an_oversized_header_block),
        cmocka_unit_test(next_retries_a_server_that_hung_up),
        cmocka_unit_test(next_gives_up_on_a_server_that_always_hangs_up),
        cmocka_unit_test(a_runtime_api_that_is_gone_is_unavailable),
        cmocka_unit_test(respond_posts_the_body),
        cmocka_unit_test(respond_reports_lambdas_refusal),
        cmocka_unit_test(unsafe_request_ids_and_error_types_are_refused_before_sending),
        cmocka_unit_test(errors_post_the_type_header_and_a_json_body),
        cmocka_unit_test(next_accepts_chunked_events_with_extensions_and_trailers),
        cmocka_unit_test(the_connection_is_kept_alive_between_calls),
        cmocka_unit_test(a_connection_the_server_closed_between_calls_is_replaced),
        cmocka_unit_test(a_request_dropped_unanswered_on_a_kept_connection_is_sent_again),
        cmocka_unit_test(a_post_is_never_sent_twice_once_an_answer_began),
        cmocka_unit_test(answers_in_tiny_pieces),
        cmocka_unit_test(host_names_and_ipv6_addresses_are_reached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
