/*
 * tlw-info: checks that a Temporal server is reachable with the given
 * connection settings, and prints what the worker needs to know of it as one
 * JSON object: the server version, the system capabilities and the
 * namespace's capabilities.
 *
 *   tlw-info --address localhost:7233 --namespace default
 *
 * On failure it prints one line "tlw-info: <what failed and what to do>" on
 * stderr and exits 1 (2 for a bad command line).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/file.h"
#include "conf/settings.h"
#include "worker/connect.h"
#include "worker/rpc.h"
#include "worker/service.h"

extern char **environ;

#define PEM_MAX_BYTES (1024 * 1024)
#define MAX_METADATA 32

static void usage(FILE *out)
{
    fputs("usage: tlw-info --from-env [--timeout-ms MS]\n"
          "       tlw-info [--address HOST:PORT] [--namespace NAME] [--timeout-ms MS]\n"
          "                [--api-key-env VAR] [--header KEY=VALUE]...\n"
          "                [--tls] [--tls-ca FILE] [--tls-cert FILE] [--tls-key FILE]\n"
          "                [--tls-server-name NAME] [--tls-disable-host-verification]\n"
          "Prints the Temporal server's version and capabilities, and the namespace's,\n"
          "as JSON. Defaults: localhost:7233, namespace default, 10000 ms.\n"
          "--from-env connects exactly as the worker would: temporal.toml and the\n"
          "TEMPORAL_* variables (Temporal's envconfig); other connection flags are ignored.\n"
          "The API key is read from the environment variable named by --api-key-env,\n"
          "never from the command line.\n",
          out);
}

/* Every bool field of a message, by its proto name: capabilities as JSON. */
static json_t *bool_fields_json(const ProtobufCMessage *msg)
{
    json_t *obj = json_object();
    if (!msg)
        return obj;
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_BOOL || f->label == PROTOBUF_C_LABEL_REPEATED)
            continue;
        const protobuf_c_boolean *v =
            (const protobuf_c_boolean *)((const char *)msg + f->offset);
        json_object_set_new(obj, f->name, json_boolean(*v));
    }
    return obj;
}

static int fail(const tlw_error *err)
{
    fprintf(stderr, "tlw-info: %s\n", err->message);
    return 1;
}

int main(int argc, char **argv)
{
    const char *address = "localhost:7233";
    const char *namespace_name = "default";
    const char *ca_path = NULL, *cert_path = NULL, *key_path = NULL;
    const char *api_key_env = NULL;
    long timeout_ms = 10000;
    tlw_rpc_connect_options conn = {0};
    tlw_rpc_metadata metadata[MAX_METADATA];
    char *header_copies[MAX_METADATA];
    size_t nmeta = 0;

    enum { OPT_TLS = 256, OPT_CA, OPT_CERT, OPT_KEY, OPT_SERVER_NAME, OPT_NO_HOST, OPT_KEY_ENV,
           OPT_FROM_ENV };
    bool from_env = false;
    static const struct option options[] = {
        {"address", required_argument, NULL, 'a'},
        {"namespace", required_argument, NULL, 'n'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"header", required_argument, NULL, 'H'},
        {"api-key-env", required_argument, NULL, OPT_KEY_ENV},
        {"from-env", no_argument, NULL, OPT_FROM_ENV},
        {"tls", no_argument, NULL, OPT_TLS},
        {"tls-ca", required_argument, NULL, OPT_CA},
        {"tls-cert", required_argument, NULL, OPT_CERT},
        {"tls-key", required_argument, NULL, OPT_KEY},
        {"tls-server-name", required_argument, NULL, OPT_SERVER_NAME},
        {"tls-disable-host-verification", no_argument, NULL, OPT_NO_HOST},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "a:n:t:H:h", options, NULL)) != -1) {
        switch (c) {
        case 'a': address = optarg; break;
        case 'n': namespace_name = optarg; break;
        case 't': {
            char *end;
            timeout_ms = strtol(optarg, &end, 10);
            if (*end || timeout_ms <= 0) {
                fprintf(stderr, "tlw-info: --timeout-ms %s is not a positive number of milliseconds\n",
                        optarg);
                return 2;
            }
            break;
        }
        case 'H': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || nmeta == MAX_METADATA) {
                fprintf(stderr, "tlw-info: --header %s: give KEY=VALUE (at most %d headers)\n",
                        optarg, MAX_METADATA);
                return 2;
            }
            header_copies[nmeta] = strndup(optarg, (size_t)(eq - optarg));
            metadata[nmeta] = (tlw_rpc_metadata){header_copies[nmeta], eq + 1};
            nmeta++;
            break;
        }
        case OPT_KEY_ENV: api_key_env = optarg; break;
        case OPT_FROM_ENV: from_env = true; break;
        case OPT_TLS: conn.tls.enabled = true; break;
        case OPT_CA: ca_path = optarg; conn.tls.enabled = true; break;
        case OPT_CERT: cert_path = optarg; conn.tls.enabled = true; break;
        case OPT_KEY: key_path = optarg; conn.tls.enabled = true; break;
        case OPT_SERVER_NAME: conn.tls.server_name = optarg; conn.tls.enabled = true; break;
        case OPT_NO_HOST: conn.tls.disable_host_verification = true; conn.tls.enabled = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    tlw_error err;
    tlw_error_clear(&err);
    char *ca = NULL, *cert = NULL, *key = NULL;
    int rc = 1;
    tlw_rpc_client *client = NULL;
    tlw_system_info *info = NULL;
    tlw_namespace_description *ns = NULL;
    tlw_settings settings;
    bool have_settings = false;
    tlw_rpc_call_options call = {.timeout_ms = timeout_ms};

    if (from_env) {
        have_settings = true;
        /* The worker's own checks of the connection settings, so that
         * tlw-info refuses what the worker would refuse. */
        if (tlw_settings_load(&settings, environ, &err) ||
            tlw_settings_validate_client(&settings, &err) ||
            tlw_worker_connect(&settings, &client, &err)) {
            rc = fail(&err);
            goto out;
        }
        address = settings.client.address.value;
        namespace_name = settings.client.namespace_name.value;
        goto connected;
    }

    if ((ca_path && tlw_read_file(ca_path, "the server CA certificate", PEM_MAX_BYTES, &ca, NULL, &err)) ||
        (cert_path && tlw_read_file(cert_path, "the client certificate", PEM_MAX_BYTES, &cert, NULL, &err)) ||
        (key_path && tlw_read_file(key_path, "the client private key", PEM_MAX_BYTES, &key, NULL, &err))) {
        rc = fail(&err);
        goto out;
    }
    conn.address = address;
    conn.api_key = api_key_env ? getenv(api_key_env) : NULL;
    conn.tls.server_ca_pem = ca;
    conn.tls.client_cert_pem = cert;
    conn.tls.client_key_pem = key;
    conn.metadata = metadata;
    conn.metadata_count = nmeta;

    if (tlw_rpc_client_open(&conn, &client, &err)) {
        rc = fail(&err);
        goto out;
    }
connected:
    if (tlw_service_get_system_info(client, &call, &info, &err) ||
        tlw_service_describe_namespace(client, namespace_name, &call, &ns, &err)) {
        rc = fail(&err);
        goto out;
    }

    tlw_namespace_capabilities caps;
    tlw_namespace_capabilities_read(ns, &caps);
    json_t *out = json_pack(
        "{s:s, s:s, s:o, s:{s:s, s:s, s:o}, s:b}", "address", address, "server_version",
        info->server_version ? info->server_version : "", "system_capabilities",
        bool_fields_json(info->capabilities ? &info->capabilities->base : NULL), "namespace",
        "name", ns->namespace_info && ns->namespace_info->name ? ns->namespace_info->name : "",
        "id", ns->namespace_info && ns->namespace_info->id ? ns->namespace_info->id : "",
        "capabilities",
        bool_fields_json(ns->namespace_info && ns->namespace_info->capabilities
                             ? &ns->namespace_info->capabilities->base
                             : NULL),
        "graceful_poll_shutdown", caps.worker_poll_complete_on_shutdown);
    if (out) {
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(out);
        rc = 0;
    }

out:
    if (info)
        protobuf_c_message_free_unpacked(&info->base, NULL);
    if (ns)
        protobuf_c_message_free_unpacked(&ns->base, NULL);
    tlw_rpc_client_close(client);
    if (have_settings)
        tlw_settings_free(&settings);
    free(ca);
    free(cert);
    if (key) {
        memset(key, 0, strlen(key));
        free(key);
    }
    for (size_t i = 0; i < nmeta; i++)
        free(header_copies[i]);
    return rc;
}
