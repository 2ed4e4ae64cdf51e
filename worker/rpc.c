#include "config.h"

#include "worker/rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/string_util.h>
#include <grpc/support/time.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/metadata.h"

#define DEFAULT_TIMEOUT_MS 10000
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 2000
/* Workflow histories can be large; the other SDKs accept 128 MiB answers. */
#define MAX_RECEIVE_BYTES (128 * 1024 * 1024)

struct tlw_rpc_client {
    grpc_channel *channel;
    char *address;
    bool tls;
    grpc_metadata *metadata; /* api key and user metadata, sent with every call */
    size_t metadata_count;
};

static gpr_timespec mono_after_ms(int64_t ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

/* gRPC logs its own view of every failure to stderr; we report each failure
 * once, in our words. Its log stays available with GRPC_VERBOSITY set. */
static void grpc_log_discard(gpr_log_func_args *args)
{
    (void)args;
}

static void grpc_start(void)
{
    if (!getenv("GRPC_VERBOSITY"))
        gpr_set_log_function(grpc_log_discard);
    grpc_init();
}

static tlw_rpc_observer observer;

void tlw_rpc_set_observer(tlw_rpc_observer fn)
{
    observer = fn;
}

int64_t tlw_rpc_backoff_ms(int attempt)
{
    return tlw_backoff_ms(attempt, BACKOFF_FIRST_MS, BACKOFF_MAX_MS);
}

/* Accepts host:port, [v6]:port, and gRPC target URIs (dns:///..., unix:...). */
static bool address_valid(const char *address)
{
    if (!address || !*address)
        return false;
    if (strstr(address, ":///") || strncmp(address, "unix:", 5) == 0)
        return true;
    const char *colon = strrchr(address, ':');
    if (!colon || colon == address || colon[1] == '\0')
        return false;
    if (address[0] == '[' && colon[-1] != ']')
        return false;
    if (address[0] != '[' && memchr(address, ':', (size_t)(colon - address)))
        return false; /* a bare IPv6 address needs brackets */
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    return errno == 0 && *end == '\0' && port > 0 && port <= 65535;
}

static grpc_channel_credentials *tls_credentials(const tlw_rpc_tls_options *tls)
{
    grpc_tls_credentials_options *options = grpc_tls_credentials_options_create();
    grpc_tls_identity_pairs *pairs = NULL;
    if (tls->client_cert_pem && tls->client_key_pem) {
        pairs = grpc_tls_identity_pairs_create();
        grpc_tls_identity_pairs_add_pair(pairs, tls->client_key_pem, tls->client_cert_pem);
    }
    if (tls->server_ca_pem || pairs) {
        grpc_tls_certificate_provider *provider =
            grpc_tls_certificate_provider_static_data_create(tls->server_ca_pem, pairs);
        grpc_tls_credentials_options_set_certificate_provider(options, provider);
        grpc_tls_certificate_provider_release(provider);
        if (tls->server_ca_pem)
            grpc_tls_credentials_options_watch_root_certs(options);
        if (pairs)
            grpc_tls_credentials_options_watch_identity_key_cert_pairs(options);
    }
    /* The chain is always verified; only the host name check can be turned off. */
    grpc_tls_credentials_options_set_verify_server_cert(options, 1);
    if (tls->disable_host_verification) {
        grpc_tls_certificate_verifier *verifier = grpc_tls_certificate_verifier_no_op_create();
        grpc_tls_credentials_options_set_certificate_verifier(options, verifier);
        grpc_tls_certificate_verifier_release(verifier);
        grpc_tls_credentials_options_set_check_call_host(options, 0);
    }
    return grpc_tls_credentials_create(options); /* takes `options` */
}

static grpc_arg int_arg(const char *key, int value)
{
    grpc_arg a = {.type = GRPC_ARG_INTEGER, .key = (char *)key, .value.integer = value};
    return a;
}

static grpc_arg string_arg(const char *key, const char *value)
{
    grpc_arg a = {.type = GRPC_ARG_STRING, .key = (char *)key, .value.string = (char *)value};
    return a;
}

static void metadata_add(tlw_rpc_client *client, const char *key, const char *value)
{
    grpc_metadata *md = &client->metadata[client->metadata_count++];
    memset(md, 0, sizeof *md);
    md->key = grpc_slice_from_copied_string(key);
    md->value = grpc_slice_from_copied_string(value);
}

tlw_status tlw_rpc_client_open(const tlw_rpc_connect_options *opts, tlw_rpc_client **out,
                               tlw_error *err)
{
    *out = NULL;
    if (!address_valid(opts->address))
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "Temporal address \"%s\" is not host:port; give it as "
                             "localhost:7233 or my-namespace.a1b2c.tmprl.cloud:7233",
                             opts->address ? opts->address : "");
    const tlw_rpc_tls_options *tls = &opts->tls;
    if (tls->enabled && !tls->client_cert_pem != !tls->client_key_pem)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "TLS for %s: a client certificate needs its private key and a key "
                             "needs its certificate; give both or neither",
                             opts->address);
    for (size_t i = 0; i < opts->metadata_count; i++) {
        /* The settings checked these already (conf/settings.c); tlw-info's
         * --header comes here directly. */
        const tlw_rpc_metadata *md = &opts->metadata[i];
        char shown[160];
        size_t position;
        const char *problem = tlw_metadata_key_problem(md->key);
        if (problem)
            return tlw_error_set(err, TLW_ERR_INVALID, "gRPC metadata key \"%s\" is not valid: %s",
                                 tlw_metadata_key_show(md->key, shown, sizeof shown), problem);
        problem = tlw_metadata_value_problem(md->key, md->value, &position);
        if (problem && position)
            return tlw_error_set(err, TLW_ERR_INVALID,
                                 "the value of gRPC metadata \"%s\" is not valid at byte %zu (the "
                                 "value is not shown): %s",
                                 tlw_metadata_key_show(md->key, shown, sizeof shown), position,
                                 problem);
        if (problem)
            return tlw_error_set(err, TLW_ERR_INVALID, "gRPC metadata \"%s\": %s",
                                 tlw_metadata_key_show(md->key, shown, sizeof shown), problem);
    }

    tlw_rpc_client *client = calloc(1, sizeof *client);
    if (!client)
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory opening a client for %s",
                             opts->address);
    client->address = strdup(opts->address);
    client->metadata = calloc(opts->metadata_count + 1, sizeof *client->metadata);
    if (!client->address || !client->metadata) {
        free(client->address);
        free(client->metadata);
        free(client);
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory opening a client for %s",
                             opts->address);
    }
    client->tls = tls->enabled;

    grpc_start();
    if (opts->api_key && *opts->api_key) {
        size_t n = strlen(opts->api_key) + sizeof "Bearer ";
        char *bearer = malloc(n);
        if (bearer) {
            snprintf(bearer, n, "Bearer %s", opts->api_key);
            metadata_add(client, "authorization", bearer);
            memset(bearer, 0, n);
            free(bearer);
        }
    }
    for (size_t i = 0; i < opts->metadata_count; i++)
        metadata_add(client, opts->metadata[i].key, opts->metadata[i].value);

    grpc_arg args[6];
    size_t nargs = 0;
    args[nargs++] = int_arg(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, MAX_RECEIVE_BYTES);
    args[nargs++] = string_arg(GRPC_ARG_PRIMARY_USER_AGENT_STRING, "tlw/" PACKAGE_VERSION);
    /* Reconnect on our retry schedule rather than gRPC's default (1 s, then longer). */
    args[nargs++] = int_arg(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, BACKOFF_FIRST_MS);
    args[nargs++] = int_arg(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, BACKOFF_MAX_MS);
    if (tls->enabled && tls->server_name && *tls->server_name) {
        args[nargs++] = string_arg(GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, tls->server_name);
        args[nargs++] = string_arg(GRPC_ARG_DEFAULT_AUTHORITY, tls->server_name);
    }
    grpc_channel_args channel_args = {.num_args = nargs, .args = args};

    grpc_channel_credentials *creds =
        tls->enabled ? tls_credentials(tls) : grpc_insecure_credentials_create();
    client->channel = grpc_channel_create(client->address, creds, &channel_args);
    grpc_channel_credentials_release(creds);
    *out = client;
    return TLW_OK;
}

void tlw_rpc_client_close(tlw_rpc_client *client)
{
    if (!client)
        return;
    grpc_channel_destroy(client->channel);
    for (size_t i = 0; i < client->metadata_count; i++) {
        grpc_slice_unref(client->metadata[i].key);
        grpc_slice_unref(client->metadata[i].value);
    }
    free(client->metadata);
    free(client->address);
    free(client);
    grpc_shutdown();
}

const char *tlw_rpc_client_address(const tlw_rpc_client *client)
{
    return client->address;
}

static const char *short_method(const char *method)
{
    const char *slash = strrchr(method, '/');
    return slash ? slash + 1 : method;
}

static bool mentions_tls(const char *details)
{
    static const char *const words[] = {"ssl", "tls", "handshake", "certificate", "verification"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasestr(details, words[i]))
            return true;
    return false;
}

tlw_status tlw_rpc_error_from_status(tlw_error *err, int grpc_code, const char *details,
                                     const char *method, const char *address, bool tls)
{
    const char *m = short_method(method);
    if (!details || !*details)
        details = "no details from gRPC";
    tlw_status st;
    switch ((grpc_status_code)grpc_code) {
    case GRPC_STATUS_OK:
        st = tlw_error_set(err, TLW_OK, "%s to %s: ok", m, address);
        break;
    case GRPC_STATUS_UNAVAILABLE:
        if (tls && mentions_tls(details))
            st = tlw_error_set(err, TLW_ERR_UNAVAILABLE,
                               "%s to %s: TLS handshake failed: %s; check the server CA "
                               "certificate, the server name and the client certificate",
                               m, address, details);
        else
            st = tlw_error_set(err, TLW_ERR_UNAVAILABLE,
                               "%s to %s: cannot reach the Temporal server: %s; check the "
                               "address, that the server is running, and whether it uses TLS",
                               m, address, details);
        break;
    case GRPC_STATUS_DEADLINE_EXCEEDED:
        st = tlw_error_set(err, TLW_ERR_TIMEOUT,
                           "%s to %s: no answer before the deadline (%s); check the address and "
                           "that the server is running",
                           m, address, details);
        break;
    case GRPC_STATUS_CANCELLED:
        st = tlw_error_set(err, TLW_ERR_CANCELLED, "%s to %s: cancelled (%s)", m, address, details);
        break;
    case GRPC_STATUS_UNAUTHENTICATED:
    case GRPC_STATUS_PERMISSION_DENIED:
        st = tlw_error_set(err, TLW_ERR_DENIED,
                           "%s to %s: the server rejected the credentials: %s; check the API key "
                           "or the client certificate",
                           m, address, details);
        break;
    case GRPC_STATUS_NOT_FOUND:
        st = tlw_error_set(err, TLW_ERR_NOT_FOUND, "%s to %s: not found: %s", m, address, details);
        break;
    case GRPC_STATUS_INVALID_ARGUMENT:
        st = tlw_error_set(err, TLW_ERR_INVALID, "%s to %s: invalid argument: %s", m, address,
                           details);
        break;
    case GRPC_STATUS_UNIMPLEMENTED:
        st = tlw_error_set(err, TLW_ERR_SERVER,
                           "%s to %s: not implemented by the server (%s); is it a Temporal "
                           "frontend of a recent version?",
                           m, address, details);
        break;
    default:
        if (strstr(details, "http2 header with status"))
            /* Not gRPC speaking: an HTTP proxy or load balancer refused us. */
            st = tlw_error_set(err, TLW_ERR_SERVER,
                               "%s to %s: an HTTP proxy in front of the server refused the call "
                               "(%s); check the address, the client certificate and the API key",
                               m, address, details);
        else
            st = tlw_error_set(err, TLW_ERR_SERVER, "%s to %s: gRPC status %d: %s", m, address,
                               grpc_code, details);
        break;
    }
    if (err)
        err->rpc_code = grpc_code;
    return st;
}

struct attempt {
    grpc_status_code code;
    char *details; /* gpr_free */
    grpc_byte_buffer *response;
};

/* Waits for the call's one batch. A cancel request is checked every
 * TLW_RPC_CANCEL_POLL_MS; gRPC itself ends the call at its deadline. */
static void wait_for_batch(grpc_completion_queue *cq, grpc_call *call, tlw_rpc_cancel *cancel)
{
    bool cancel_sent = false;
    for (;;) {
        gpr_timespec wake = cancel ? mono_after_ms(TLW_RPC_CANCEL_POLL_MS)
                                   : gpr_inf_future(GPR_CLOCK_MONOTONIC);
        grpc_event ev = grpc_completion_queue_next(cq, wake, NULL);
        if (ev.type == GRPC_OP_COMPLETE)
            return;
        if (!cancel_sent && tlw_rpc_cancel_requested(cancel)) {
            grpc_call_cancel(call, NULL);
            cancel_sent = true;
        }
    }
}

static void call_once(tlw_rpc_client *client, const char *method, grpc_slice request,
                      int64_t deadline_ms, tlw_rpc_cancel *cancel, struct attempt *out)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    gpr_timespec deadline = mono_after_ms(deadline_ms - tlw_monotonic_ms());
    grpc_call *call = grpc_channel_create_call(client->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                               grpc_slice_from_static_string(method), NULL,
                                               deadline, NULL);
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&request, 1);
    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_slice details = grpc_empty_slice();
    const char *error_string = NULL;

    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = client->metadata_count;
    ops[0].data.send_initial_metadata.metadata = client->metadata;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &out->response;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = &out->code;
    ops[5].data.recv_status_on_client.status_details = &details;
    ops[5].data.recv_status_on_client.error_string = &error_string;

    out->response = NULL;
    grpc_call_error started = grpc_call_start_batch(call, ops, 6, ops, NULL);
    if (started == GRPC_CALL_OK) {
        wait_for_batch(cq, call, cancel);
        out->details = grpc_slice_to_c_string(details);
        /* gRPC's error_string has the transport's reason (e.g. the TLS
         * failure) where the status details are only generic. */
        if (out->code != GRPC_STATUS_OK && error_string && !strstr(out->details, "SSL") &&
            strstr(error_string, "SSL")) {
            gpr_free(out->details);
            out->details = gpr_strdup(error_string);
        }
    } else {
        out->code = GRPC_STATUS_INTERNAL;
        out->details = gpr_strdup("grpc_call_start_batch failed");
    }
    if (error_string)
        gpr_free((void *)error_string);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_byte_buffer_destroy(send);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
}

/* Sleeps `ms`, or less if the call is cancelled meanwhile. */
static void backoff_sleep(int64_t ms, tlw_rpc_cancel *cancel)
{
    int64_t until = tlw_monotonic_ms() + ms;
    for (int64_t left = ms; left > 0 && !tlw_rpc_cancel_requested(cancel); left = until - tlw_monotonic_ms())
        tlw_sleep_ms(left < TLW_RPC_CANCEL_POLL_MS ? left : TLW_RPC_CANCEL_POLL_MS);
}

static tlw_status decode_response(grpc_byte_buffer *buffer, const ProtobufCMessageDescriptor *type,
                                  ProtobufCMessage **response, const char *method,
                                  const char *address, tlw_error *err)
{
    if (!buffer)
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "%s to %s: the server sent no message",
                             short_method(method), address);
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, buffer))
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "%s to %s: unreadable answer",
                             short_method(method), address);
    grpc_slice bytes = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    *response = protobuf_c_message_unpack(type, NULL, GRPC_SLICE_LENGTH(bytes),
                                          GRPC_SLICE_START_PTR(bytes));
    size_t len = GRPC_SLICE_LENGTH(bytes);
    grpc_slice_unref(bytes);
    if (!*response)
        return tlw_error_set(err, TLW_ERR_PROTOCOL,
                             "%s to %s: cannot decode the %zu-byte answer as %s",
                             short_method(method), address, len, type->name);
    return TLW_OK;
}

tlw_status tlw_rpc_call(tlw_rpc_client *client, const char *method,
                        const ProtobufCMessage *request,
                        const ProtobufCMessageDescriptor *response_type,
                        ProtobufCMessage **response, const tlw_rpc_call_options *opts,
                        tlw_error *err)
{
    static const tlw_rpc_call_options defaults = {0};
    if (!opts)
        opts = &defaults;
    *response = NULL;
    int64_t timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    int64_t start_ms = tlw_monotonic_ms();
    int64_t deadline_ms = start_ms + timeout_ms;

    size_t size = protobuf_c_message_get_packed_size(request);
    grpc_slice payload = grpc_slice_malloc(size);
    protobuf_c_message_pack(request, GRPC_SLICE_START_PTR(payload));

    tlw_status st = TLW_OK;
    int last_code = -1; /* for OpenTelemetry: -1 until a call was made */
    for (int attempt = 1;; attempt++) {
        if (tlw_rpc_cancel_requested(opts->cancel)) {
            st = tlw_error_set(err, TLW_ERR_CANCELLED, "%s to %s: cancelled",
                               short_method(method), client->address);
            break;
        }
        struct attempt a = {0};
        call_once(client, method, payload, deadline_ms, opts->cancel, &a);
        last_code = (int)a.code;
        if (a.code == GRPC_STATUS_OK) {
            st = decode_response(a.response, response_type, response, method, client->address,
                                 err);
        } else {
            st = tlw_rpc_error_from_status(err, a.code, a.details, method, client->address,
                                           client->tls);
        }
        if (a.response)
            grpc_byte_buffer_destroy(a.response);

        /* A TLS failure will not mend itself; a server that is starting may. */
        bool retry = st == TLW_ERR_UNAVAILABLE && opts->retry_unavailable &&
                     !(client->tls && a.details && mentions_tls(a.details)) &&
                     tlw_monotonic_ms() + tlw_rpc_backoff_ms(attempt) < deadline_ms;
        gpr_free(a.details);
        if (!retry) {
            if (st == TLW_ERR_UNAVAILABLE && attempt > 1)
                tlw_error_prefix(err, "after %d attempts in %lld ms: ", attempt,
                                 (long long)(tlw_monotonic_ms() - start_ms));
            break;
        }
        backoff_sleep(tlw_rpc_backoff_ms(attempt), opts->cancel);
    }
    grpc_slice_unref(payload);
    if (observer)
        observer(method, last_code, tlw_monotonic_ms() - start_ms);
    return st;
}

#ifdef TLW_PLUGIN
/* libtlw-grpc.so: what libtlw.so calls (worker/plugins.h). */
#include "worker/plugins.h"

__attribute__((visibility("default"))) const tlw_grpc_plugin tlw_grpc_plugin_v1 = {
    .abi = TLW_PLUGIN_ABI,
    .client_open = tlw_rpc_client_open,
    .client_close = tlw_rpc_client_close,
    .client_address = tlw_rpc_client_address,
    .call = tlw_rpc_call,
    .set_observer = tlw_rpc_set_observer,
};
#endif
