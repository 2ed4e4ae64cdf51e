/*
 * The gRPC client layer without a server: argument checks, error mapping,
 * backoff, and the behaviour against local sockets that refuse or never
 * answer (deadline, cancellation from another thread, retry bound).
 * The calls against a real Temporal server are in tests/e2e.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <grpc/status.h>

#include "common/error.h"
#include "worker/rpc.h"
#include "worker/service.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A loopback port that nothing listens on. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* A loopback listener that never accepts: connections hang in the backlog. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static tlw_rpc_client *open_client(const char *address, const char *api_key)
{
    tlw_rpc_connect_options o = {.address = address, .api_key = api_key};
    tlw_rpc_client *c = NULL;
    tlw_error err;
    assert_int_equal(tlw_rpc_client_open(&o, &c, &err), TLW_OK);
    return c;
}

static void backoff_doubles_to_a_cap(void **state)
{
    const int64_t want[] = {100, 200, 400, 800, 1600, 2000, 2000};
    for (int i = 0; i < 7; i++)
        assert_int_equal(tlw_rpc_backoff_ms(i + 1), want[i]);
}

static void bad_addresses_are_rejected_with_the_fix(void **state)
{
    const char *bad[] = {"", "localhost", "localhost:", "localhost:0", "localhost:70000",
                         "localhost:72x", "::1:7233", "[::1:7233"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tlw_rpc_connect_options o = {.address = bad[i]};
        tlw_rpc_client *c = (tlw_rpc_client *)1;
        tlw_error err;
        assert_int_equal(tlw_rpc_client_open(&o, &c, &err), TLW_ERR_INVALID);
        assert_null(c);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", bad[i]);
        assert_non_null(strstr(err.message, quoted));
        assert_non_null(strstr(err.message, "host:port"));
    }
    tlw_rpc_connect_options none = {0};
    tlw_rpc_client *c;
    tlw_error err;
    assert_int_equal(tlw_rpc_client_open(&none, &c, &err), TLW_ERR_INVALID);
}

static void good_addresses_are_accepted(void **state)
{
    const char *good[] = {"localhost:7233", "127.0.0.1:1", "[::1]:7233",
                          "dns:///localhost:7233", "ns.acct.tmprl.cloud:7233"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        tlw_rpc_client_close(open_client(good[i], NULL));
}

static void client_cert_needs_its_key(void **state)
{
    tlw_rpc_connect_options o = {.address = "localhost:7233",
                                 .tls = {.enabled = true, .client_cert_pem = "CERT"}};
    tlw_rpc_client *c;
    tlw_error err;
    assert_int_equal(tlw_rpc_client_open(&o, &c, &err), TLW_ERR_INVALID);
    assert_non_null(strstr(err.message, "private key"));
    assert_null(strstr(err.message, "CERT"));
}

static void metadata_keys_are_checked(void **state)
{
    tlw_rpc_metadata md[] = {{"Bad Key", "v"}};
    tlw_rpc_connect_options o = {.address = "localhost:7233", .metadata = md,
                                 .metadata_count = 1};
    tlw_rpc_client *c;
    tlw_error err;
    assert_int_equal(tlw_rpc_client_open(&o, &c, &err), TLW_ERR_INVALID);
    assert_non_null(strstr(err.message, "\"Bad Key\""));
    assert_non_null(strstr(err.message, "lower-case letters"));

    /* Values gRPC would refuse are refused here, and never quoted. */
    md[0] = (tlw_rpc_metadata){"authorization", "Bearer SECRET-VALUE\n"};
    assert_int_equal(tlw_rpc_client_open(&o, &c, &err), TLW_ERR_INVALID);
    assert_non_null(strstr(err.message, "\"authorization\" is not valid at byte 20"));
    assert_non_null(strstr(err.message, "printable ASCII"));
    assert_null(strstr(err.message, "SECRET"));

    /* A -bin key carries any bytes. */
    md[0] = (tlw_rpc_metadata){"x-trace-bin", "\x01\x7f\xff"};
    assert_int_equal(tlw_rpc_client_open(&o, &c, &err), TLW_OK);
    tlw_rpc_client_close(c);
}

static void status_mapping(void **state)
{
    static const struct {
        int code;
        bool tls;
        const char *details;
        tlw_status want;
        const char *says;
    } cases[] = {
        {GRPC_STATUS_UNAVAILABLE, false, "Connection refused", TLW_ERR_UNAVAILABLE,
         "cannot reach the Temporal server"},
        {GRPC_STATUS_UNAVAILABLE, true, "Ssl handshake failed: CERTIFICATE_VERIFY_FAILED",
         TLW_ERR_UNAVAILABLE, "TLS handshake failed"},
        {GRPC_STATUS_DEADLINE_EXCEEDED, false, "Deadline Exceeded", TLW_ERR_TIMEOUT,
         "no answer before the deadline"},
        {GRPC_STATUS_CANCELLED, false, "Cancelled", TLW_ERR_CANCELLED, "cancelled"},
        {GRPC_STATUS_UNAUTHENTICATED, true, "bad token", TLW_ERR_DENIED, "API key"},
        {GRPC_STATUS_PERMISSION_DENIED, true, "nope", TLW_ERR_DENIED, "rejected the credentials"},
        {GRPC_STATUS_NOT_FOUND, false, "Namespace x is not found.", TLW_ERR_NOT_FOUND,
         "Namespace x is not found."},
        {GRPC_STATUS_INVALID_ARGUMENT, false, "bad", TLW_ERR_INVALID, "invalid argument"},
        {GRPC_STATUS_UNIMPLEMENTED, false, "", TLW_ERR_SERVER, "not implemented"},
        {GRPC_STATUS_INTERNAL, false, "boom", TLW_ERR_SERVER, "gRPC status 13: boom"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tlw_error err;
        assert_int_equal(tlw_rpc_error_from_status(&err, cases[i].code, cases[i].details,
                                                   TLW_WORKFLOW_SERVICE "GetSystemInfo",
                                                   "example:7233", cases[i].tls),
                         cases[i].want);
        assert_int_equal(err.rpc_code, cases[i].code);
        assert_non_null(strstr(err.message, "GetSystemInfo to example:7233"));
        if (!strstr(err.message, cases[i].says))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.message, cases[i].says);
    }
}

static void refused_connection_is_unavailable_and_names_the_address(void **state)
{
    char address[64];
    snprintf(address, sizeof address, "127.0.0.1:%d", closed_port());
    tlw_rpc_client *c = open_client(address, "sekrit-api-key-123");
    tlw_system_info *info = NULL;
    tlw_error err;

    /* GetSystemInfo retries UNAVAILABLE, but never past its timeout. */
    tlw_rpc_call_options o = {.timeout_ms = 1500};
    int64_t t0 = now_ms();
    assert_int_equal(tlw_service_get_system_info(c, &o, &info, &err), TLW_ERR_UNAVAILABLE);
    int64_t elapsed = now_ms() - t0;
    assert_null(info);
    assert_true(elapsed < 2500);
    assert_non_null(strstr(err.message, address));
    assert_non_null(strstr(err.message, "cannot reach the Temporal server"));
    assert_non_null(strstr(err.message, "attempts"));
    assert_null(strstr(err.message, "sekrit"));
    assert_int_equal(err.rpc_code, GRPC_STATUS_UNAVAILABLE);
    tlw_rpc_client_close(c);
}

static void silent_server_ends_at_the_deadline(void **state)
{
    int port;
    int fd = silent_listener(&port);
    char address[64];
    snprintf(address, sizeof address, "127.0.0.1:%d", port);
    tlw_rpc_client *c = open_client(address, NULL);
    tlw_system_info *info = NULL;
    tlw_error err;
    tlw_rpc_call_options o = {.timeout_ms = 400};
    int64_t t0 = now_ms();
    assert_int_equal(tlw_service_get_system_info(c, &o, &info, &err), TLW_ERR_TIMEOUT);
    int64_t elapsed = now_ms() - t0;
    assert_true(elapsed >= 350);
    assert_true(elapsed < 2000);
    assert_non_null(strstr(err.message, address));
    tlw_rpc_client_close(c);
    close(fd);
}

static void *cancel_later(void *arg)
{
    usleep(200 * 1000);
    tlw_rpc_cancel_request(arg);
    return NULL;
}

static void cancel_from_another_thread_ends_the_call(void **state)
{
    int port;
    int fd = silent_listener(&port);
    char address[64];
    snprintf(address, sizeof address, "127.0.0.1:%d", port);
    tlw_rpc_client *c = open_client(address, NULL);
    tlw_rpc_cancel cancel;
    tlw_rpc_cancel_init(&cancel);
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, &cancel);

    tlw_system_info *info = NULL;
    tlw_error err;
    tlw_rpc_call_options o = {.timeout_ms = 10000, .cancel = &cancel};
    int64_t t0 = now_ms();
    assert_int_equal(tlw_service_get_system_info(c, &o, &info, &err), TLW_ERR_CANCELLED);
    int64_t elapsed = now_ms() - t0;
    pthread_join(th, NULL);
    assert_true(elapsed >= 150);
    assert_true(elapsed < 1500);

    /* The token stays cancelled: the next call fails at once. */
    t0 = now_ms();
    assert_int_equal(tlw_service_get_system_info(c, &o, &info, &err), TLW_ERR_CANCELLED);
    assert_true(now_ms() - t0 < 100);
    tlw_rpc_client_close(c);
    close(fd);
}

static void empty_namespace_is_invalid(void **state)
{
    tlw_rpc_client *c = open_client("127.0.0.1:1", NULL);
    tlw_namespace_description *d = NULL;
    tlw_error err;
    assert_int_equal(tlw_service_describe_namespace(c, "", NULL, &d, &err), TLW_ERR_INVALID);
    assert_non_null(strstr(err.message, "TEMPORAL_NAMESPACE"));
    tlw_rpc_client_close(c);
}

/* Durations come from the server: any int64 of seconds must not overflow. */
static void durations_saturate_instead_of_overflowing(void **state)
{
    Google__Protobuf__Duration d = GOOGLE__PROTOBUF__DURATION__INIT;
    assert_int_equal(tlw_duration_ms(NULL), 0);
    d.seconds = 12, d.nanos = 345000000;
    assert_int_equal(tlw_duration_ms(&d), 12345);
    d.seconds = 0, d.nanos = 1500000;
    assert_int_equal(tlw_duration_ms(&d), 1);
    d.seconds = -5, d.nanos = 0;
    assert_int_equal(tlw_duration_ms(&d), 0);
    d.seconds = INT64_MAX, d.nanos = 999999999;
    assert_true(tlw_duration_ms(&d) == INT64_MAX);
    d.seconds = INT64_MAX / 1000, d.nanos = 999999999;
    assert_true(tlw_duration_ms(&d) == INT64_MAX);
    d.seconds = 9223372036854774, d.nanos = 0; /* the largest that fits */
    assert_true(tlw_duration_ms(&d) == 9223372036854774000LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_doubles_to_a_cap),
        cmocka_unit_test(bad_addresses_are_rejected_with_the_fix),
        cmocka_unit_test(good_addresses_are_accepted),
        cmocka_unit_test(client_cert_needs_its_key),
        cmocka_unit_test(metadata_keys_are_checked),
        cmocka_unit_test(status_mapping),
        cmocka_unit_test(refused_connection_is_unavailable_and_names_the_address),
        cmocka_unit_test(silent_server_ends_at_the_deadline),
        cmocka_unit_test(cancel_from_another_thread_ends_the_call),
        cmocka_unit_test(empty_namespace_is_invalid),
        cmocka_unit_test(durations_saturate_instead_of_overflowing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
