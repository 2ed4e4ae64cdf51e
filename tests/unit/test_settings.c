/*
 * conf/settings: defaults, the tuning file, temporal.toml profiles, the
 * environment, precedence, validation, --print-config, and secrets.
 * Each test runs in a fresh temporary directory as the working directory.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "conf/worker_config.h"
#include "conf/settings.h"

static char dir[256];
static char old_cwd[4096];

static int enter_tmpdir(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/tlw-settings-XXXXXX");
    if (!mkdtemp(dir) || !getcwd(old_cwd, sizeof old_cwd) || chdir(dir) != 0)
        return -1;
    return 0;
}

static int leave_tmpdir(void **state)
{
    char cmd[512];
    if (chdir(old_cwd) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(name, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

#define ENV(...) ((char *const[]){__VA_ARGS__, NULL})

static tlw_status load(tlw_settings *s, char *const *envp, tlw_error *err)
{
    tlw_error_clear(err);
    return tlw_settings_load(s, envp, err);
}

static void has(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

static void lacks(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle))
        fail_msg("\"%s\" contains \"%s\"", haystack, needle);
}

static void defaults_without_any_source(void **state)
{
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV("PATH=/bin"), &err), TLW_OK);
    assert_string_equal(s.client.address.value, "localhost:7233");
    assert_string_equal(s.client.namespace_name.value, "default");
    assert_null(s.client.api_key.value);
    assert_null(s.client.config_file.value);
    assert_int_equal(s.client.tls.value, 0);
    assert_int_equal(s.worker.workflow_slots.value, 2);
    assert_int_equal(s.worker.activity_slots.value, 2);
    assert_int_equal(s.worker.graceful_shutdown_timeout_ms.value, 5000);
    assert_int_equal(s.worker.shutdown_deadline_buffer_ms.value, 7000);
    assert_int_equal(s.worker.isolation.value, TLW_ISOLATION_FORK);
    assert_int_equal(s.client.address.source.kind, TLW_SOURCE_DEFAULT);
    assert_null(s.worker.task_queue.value);
    tlw_settings_free(&s);
}

static const char profile_toml[] = "# connection profiles\n"
                                   "[profile.default]\n"
                                   "address = \"file-host:7233\"\n"
                                   "namespace = \"file-ns\"\n"
                                   "\n"
                                   "[profile.prod]\n"
                                   "address = \"prod.tmprl.cloud:7233\"\n"
                                   "api_key = \"prod-secret-key\"\n"
                                   "[profile.prod.grpc_meta]\n"
                                   "X-Tenant = \"acme\"\n";

static void default_profile_from_the_working_directory(void **state)
{
    write_file("temporal.toml", profile_toml);
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV("PATH=/bin"), &err), TLW_OK);
    assert_string_equal(s.client.address.value, "file-host:7233");
    assert_string_equal(s.client.address.source.where, "temporal.toml:3");
    assert_string_equal(s.client.namespace_name.value, "file-ns");
    assert_string_equal(s.client.config_file.value, "temporal.toml");
    assert_int_equal(s.client.tls.value, 0);
    tlw_settings_free(&s);
}

static void environment_beats_the_file(void **state)
{
    write_file("temporal.toml", profile_toml);
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV("TEMPORAL_ADDRESS=env-host:1234"), &err), TLW_OK);
    assert_string_equal(s.client.address.value, "env-host:1234");
    assert_int_equal(s.client.address.source.kind, TLW_SOURCE_ENV);
    assert_string_equal(s.client.address.source.where, "TEMPORAL_ADDRESS");
    assert_string_equal(s.client.namespace_name.value, "file-ns");
    tlw_settings_free(&s);
}

static void named_profile_api_key_turns_tls_on(void **state)
{
    write_file("temporal.toml", profile_toml);
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV("TEMPORAL_PROFILE=prod"), &err), TLW_OK);
    assert_string_equal(s.client.address.value, "prod.tmprl.cloud:7233");
    assert_string_equal(s.client.namespace_name.value, "default");
    assert_int_equal(s.client.tls.value, 1);
    has(s.client.tls.source.where, "API key");
    assert_int_equal(s.client.meta_count, 1);
    assert_string_equal(s.client.meta[0].key, "x-tenant");
    assert_string_equal(s.client.meta[0].value, "acme");
    tlw_settings_free(&s);

    /* ... unless TLS is explicitly off. */
    assert_int_equal(load(&s, ENV("TEMPORAL_PROFILE=prod", "TEMPORAL_TLS=false"), &err), TLW_OK);
    assert_int_equal(s.client.tls.value, 0);
    assert_string_equal(s.client.tls.source.where, "TEMPORAL_TLS");
    tlw_settings_free(&s);
}

static void missing_named_profile_lists_the_profiles(void **state)
{
    write_file("temporal.toml", profile_toml);
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV("TEMPORAL_PROFILE=staging"), &err), TLW_ERR_INVALID);
    has(err.message, "\"staging\"");
    has(err.message, "default, prod");
    tlw_settings_free(&s);

    unlink("temporal.toml");
    assert_int_equal(load(&s, ENV("TEMPORAL_PROFILE=staging"), &err), TLW_ERR_INVALID);
    has(err.message, "no config file");
    tlw_settings_free(&s);
}

static void named_config_file_must_exist(void **state)
{
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV("TEMPORAL_CONFIG_FILE=/nonexistent/t.toml"), &err), TLW_ERR_IO);
    has(err.message, "/nonexistent/t.toml");
    has(err.message, "TEMPORAL_CONFIG_FILE");
    tlw_settings_free(&s);
}

static void lambda_task_root_is_searched_first(void **state)
{
    mkdir("task", 0755);
    write_file("task/temporal.toml", "[profile.default]\naddress = \"task-root:7233\"\n");
    write_file("temporal.toml", "[profile.default]\naddress = \"cwd:7233\"\n");
    char root[512];
    snprintf(root, sizeof root, "LAMBDA_TASK_ROOT=%s/task", dir);
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV(root), &err), TLW_OK);
    assert_string_equal(s.client.address.value, "task-root:7233");
    tlw_settings_free(&s);
}

static void file_errors_point_at_line_and_column(void **state)
{
    static const struct {
        const char *toml;
        const char *says;
    } cases[] = {
        {"[profile.default]\nadress = \"x:1\"\n", "temporal.toml:2:10: unknown key \"adress\" in "
                                                  "[profile.default]; did you mean \"address\"?"},
        {"[profile.default]\naddress = 7233\n", "temporal.toml:2:11: address in [profile.default] "
                                                "must be a string, not integer"},
        {"[profile.default]\ntls = \"yes\"\n", "must be true, false or a table"},
        {"[profile.default.tls]\nclient_cert_path = \"a.pem\"\nclient_cert_data = \"x\"\n",
         "has both client_cert_path and client_cert_data"},
        {"[profile.default.tls]\nserver_ca_cert_path = \"missing-ca.pem\"\n",
         "temporal.toml:2: cannot open the server CA certificate missing-ca.pem"},
        {"[profile.default.tls]\nserver_nam = \"x\"\n", "did you mean \"server_name\"?"},
        {"[profile.default]\naddress = \"unterminated\n", "temporal.toml:2:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file("temporal.toml", cases[i].toml);
        tlw_settings s;
        tlw_error err;
        if (load(&s, ENV("PATH=/bin"), &err) == TLW_OK)
            fail_msg("case %zu loaded", i);
        has(err.message, cases[i].says);
        tlw_settings_free(&s);
    }
}

static void pem_files_are_read_at_load_time(void **state)
{
    write_file("ca.pem", "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n");
    write_file("temporal.toml", "[profile.default.tls]\nserver_ca_cert_path = \"ca.pem\"\n"
                                "server_name = \"temporal.test\"\n");
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV("PATH=/bin"), &err), TLW_OK);
    has(s.client.server_ca_pem.value, "BEGIN CERTIFICATE");
    has(s.client.server_ca_pem.source.where, "temporal.toml:2 (ca.pem)");
    assert_int_equal(s.client.tls.value, 1); /* implied by the TLS settings */
    tlw_settings_free(&s);

    /* The environment's data replaces the file's path. */
    assert_int_equal(load(&s, ENV("TEMPORAL_TLS_SERVER_CA_CERT_DATA=inline-ca"), &err), TLW_OK);
    assert_string_equal(s.client.server_ca_pem.value, "inline-ca");
    tlw_settings_free(&s);

    assert_int_equal(load(&s, ENV("TEMPORAL_TLS_CLIENT_KEY_PATH=k.pem",
                                  "TEMPORAL_TLS_CLIENT_KEY_DATA=secret-key-data"),
                          &err),
                     TLW_ERR_INVALID);
    has(err.message, "both TEMPORAL_TLS_CLIENT_KEY_PATH and TEMPORAL_TLS_CLIENT_KEY_DATA");
    lacks(err.message, "secret-key-data");
    tlw_settings_free(&s);

    assert_int_equal(load(&s, ENV("TEMPORAL_TLS_CLIENT_CERT_PATH=/nonexistent.pem"), &err),
                     TLW_ERR_IO);
    has(err.message, "TEMPORAL_TLS_CLIENT_CERT_PATH: cannot open the client certificate "
                     "/nonexistent.pem");
    tlw_settings_free(&s);
}

static void grpc_meta_from_the_environment(void **state)
{
    write_file("temporal.toml", "[profile.default.grpc_meta]\nx-drop = \"v\"\nx-keep = \"k\"\n");
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV("TEMPORAL_GRPC_META_X_TENANT_ID=acme", "TEMPORAL_GRPC_META_X_DROP="),
                          &err),
                     TLW_OK);
    assert_int_equal(s.client.meta_count, 2);
    bool tenant = false, keep = false;
    for (size_t i = 0; i < s.client.meta_count; i++) {
        if (strcmp(s.client.meta[i].key, "x-tenant-id") == 0) {
            tenant = strcmp(s.client.meta[i].value, "acme") == 0;
            assert_string_equal(s.client.meta[i].source.where, "TEMPORAL_GRPC_META_X_TENANT_ID");
        }
        keep |= strcmp(s.client.meta[i].key, "x-keep") == 0;
        assert_string_not_equal(s.client.meta[i].key, "x-drop");
    }
    assert_true(tenant && keep);
    tlw_settings_free(&s);
}

/* Loads from `envp` as the supervisor does before it forks: the settings,
 * a deployment version from code, then every check. */
static tlw_status validate_env(char *const *envp, tlw_error *err)
{
    tlw_settings s;
    tlw_status st = load(&s, envp, err);
    if (st == TLW_OK) {
        tlw_source code = {.kind = TLW_SOURCE_CODE, .where = "code"};
        tlw_str_setting_set(&s.worker.deployment_name, "dep", 3, &code, NULL);
        tlw_str_setting_set(&s.worker.build_id, "b1", 2, &code, NULL);
        tlw_settings_finish(&s);
        st = tlw_settings_validate(&s, err);
    }
    tlw_settings_free(&s);
    return st;
}

static void grpc_meta_is_checked_before_any_fork(void **state)
{
    static const struct {
        const char *toml; /* NULL: no temporal.toml */
        const char *env;
        const char *says;
    } bad[] = {
        {"[profile.default.grpc_meta]\n\"x tenant\" = \"v\"\n", NULL,
         "temporal.toml:2: key \"x tenant\" in [profile.default.grpc_meta] is not valid: a gRPC "
         "metadata key may contain only lower-case letters, digits, '-', '_' and '.'; rename it"},
        {"[profile.default.grpc_meta]\n\"\" = \"v\"\n", NULL,
         "temporal.toml:2: key \"\" in [profile.default.grpc_meta] is not valid: a gRPC metadata "
         "key cannot be empty"},
        {"[profile.default.grpc_meta]\n\"x\\u0007y\" = \"v\"\n", NULL,
         "key \"x\\x07y\" in [profile.default.grpc_meta] is not valid"},
        {NULL, "TEMPORAL_GRPC_META_X:TENANT=acme",
         "TEMPORAL_GRPC_META_X:TENANT names gRPC metadata key \"x:tenant\", which is not valid: "
         "a gRPC metadata key may contain only lower-case letters"},
        {"[profile.default.grpc_meta]\nauthorization = \"Bearer SECRET-TOKEN\\n\"\n", NULL,
         "temporal.toml:2: the value of \"authorization\" in [profile.default.grpc_meta] is not "
         "valid at byte 20 (the value is not shown): gRPC sends only printable ASCII"},
        {"[profile.default.grpc_meta]\nx-name = \"caf\xc3\xa9-SECRET\"\n", NULL,
         "is not valid at byte 4 (the value is not shown)"},
        {NULL, "TEMPORAL_GRPC_META_X_TENANT=ac\tSECRET",
         "TEMPORAL_GRPC_META_X_TENANT: the value is not valid at byte 3 (the value is not shown)"},
        {NULL, "TEMPORAL_API_KEY=SECRET-API-KEY\n",
         "TEMPORAL_API_KEY: the API key is not valid at byte 15 (the key is not shown)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unlink("temporal.toml");
        if (bad[i].toml)
            write_file("temporal.toml", bad[i].toml);
        tlw_error err;
        char *const *envp = bad[i].env ? ENV("TEMPORAL_TASK_QUEUE=q", (char *)bad[i].env)
                                       : ENV("TEMPORAL_TASK_QUEUE=q");
        if (validate_env(envp, &err) != TLW_ERR_INVALID)
            fail_msg("case %zu validated", i);
        has(err.message, bad[i].says);
        lacks(err.message, "SECRET");

        /* tlw-info --from-env makes the same check. */
        tlw_settings s;
        assert_int_equal(load(&s, envp, &err), TLW_OK);
        assert_int_equal(tlw_settings_validate_client(&s, &err), TLW_ERR_INVALID);
        has(err.message, bad[i].says);
        tlw_settings_free(&s);
    }

    /* What gRPC accepts passes: a -bin key carries any byte, upper case in the
     * file reads as lower case, and a long name is kept whole. */
    write_file("temporal.toml", "[profile.default.grpc_meta]\nX-Tenant = \"acme corp ~!\"\n"
                                "x-trace-bin = \"\\u0001\xc3\xa9\"\n");
    char long_var[300];
    int n = snprintf(long_var, sizeof long_var, "TEMPORAL_GRPC_META_");
    memset(long_var + n, 'K', 200);
    snprintf(long_var + n + 200, sizeof long_var - (size_t)n - 200, "=v");
    tlw_error err;
    if (validate_env(ENV("TEMPORAL_TASK_QUEUE=q", long_var), &err) != TLW_OK)
        fail_msg("valid metadata refused: %s", err.message);
    tlw_settings s;
    assert_int_equal(load(&s, ENV(long_var), &err), TLW_OK);
    assert_int_equal(s.client.meta_count, 3);
    assert_int_equal(strlen(s.client.meta[2].key), 200);
    tlw_settings_free(&s);
}

static void credentials_need_tls_or_the_opt_in(void **state)
{
    static const struct {
        const char *toml; /* NULL: no temporal.toml */
        const char *env1, *env2;
        const char *credential; /* where the message says it came from */
        const char *tls;        /* what it says of TLS */
    } refused[] = {
        {NULL, "TEMPORAL_API_KEY=SECRET-API-KEY", "TEMPORAL_TLS=false",
         "the API key (TEMPORAL_API_KEY)", "TLS is off (TEMPORAL_TLS)"},
        {"[profile.default]\napi_key = \"SECRET-API-KEY\"\ntls = false\n", "PATH=/bin", NULL,
         "the API key (temporal.toml:2)", "TLS is off (temporal.toml:3)"},
        {"[profile.default]\napi_key = \"SECRET-API-KEY\"\n[profile.default.tls]\n"
         "disabled = true\n",
         "PATH=/bin", NULL, "the API key (temporal.toml:2)", "TLS is off (temporal.toml:4)"},
        {"[profile.default.grpc_meta]\nAuthorization = \"Bearer SECRET-TOKEN\"\n", "PATH=/bin",
         NULL, "the gRPC metadata \"authorization\" (temporal.toml:2)",
         "TLS is off because no setting turns it on"},
        {NULL, "TEMPORAL_GRPC_META_AUTHORIZATION=Bearer SECRET-TOKEN", "PATH=/bin",
         "the gRPC metadata \"authorization\" (TEMPORAL_GRPC_META_AUTHORIZATION)",
         "TLS is off because no setting turns it on"},
        {NULL, "TEMPORAL_GRPC_META_AUTHORIZATION=Bearer SECRET-TOKEN", "TEMPORAL_TLS=0",
         "(TEMPORAL_GRPC_META_AUTHORIZATION)", "TLS is off (TEMPORAL_TLS)"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        unlink("temporal.toml");
        unlink("lambda_worker.cfg");
        if (refused[i].toml)
            write_file("temporal.toml", refused[i].toml);
        char *const *envp =
            refused[i].env2
                ? ENV("TEMPORAL_TASK_QUEUE=q", (char *)refused[i].env1, (char *)refused[i].env2)
                : ENV("TEMPORAL_TASK_QUEUE=q", (char *)refused[i].env1);
        tlw_error err;
        if (validate_env(envp, &err) != TLW_ERR_INVALID)
            fail_msg("case %zu validated", i);
        has(err.message, refused[i].credential);
        has(err.message, "would be sent in plaintext");
        has(err.message, refused[i].tls);
        has(err.message, "Turn TLS on");
        has(err.message, "set allow_plaintext_credentials = true; in the tuning file "
                         "(lambda_worker.cfg)");
        lacks(err.message, "SECRET");

        /* tlw-info --from-env refuses it too. */
        tlw_settings s;
        assert_int_equal(load(&s, envp, &err), TLW_OK);
        assert_int_equal(tlw_settings_validate_client(&s, &err), TLW_ERR_INVALID);
        has(err.message, refused[i].credential);
        tlw_settings_free(&s);

        /* The opt-in lets it through, and says where it came from. */
        write_file("lambda_worker.cfg", "allow_plaintext_credentials = true;\n");
        if (validate_env(envp, &err) != TLW_OK)
            fail_msg("case %zu refused with the opt-in: %s", i, err.message);
        assert_int_equal(load(&s, envp, &err), TLW_OK);
        assert_int_equal(s.worker.allow_plaintext_credentials.value, 1);
        assert_string_equal(s.worker.allow_plaintext_credentials.source.where,
                            "lambda_worker.cfg:1");
        tlw_settings_free(&s);

        /* So does TLS, and an explicit false is the default. */
        write_file("lambda_worker.cfg", "allow_plaintext_credentials = false;\n");
        assert_int_equal(validate_env(envp, &err), TLW_ERR_INVALID);
    }

    /* With TLS on nothing needs allowing: an API key turns it on by itself. */
    unlink("temporal.toml");
    unlink("lambda_worker.cfg");
    tlw_error err;
    assert_int_equal(validate_env(ENV("TEMPORAL_TASK_QUEUE=q", "TEMPORAL_API_KEY=k"), &err), TLW_OK);
    assert_int_equal(validate_env(ENV("TEMPORAL_TASK_QUEUE=q", "TEMPORAL_API_KEY=k",
                                      "TEMPORAL_TLS=true"),
                                  &err),
                     TLW_OK);
    assert_int_equal(validate_env(ENV("TEMPORAL_TASK_QUEUE=q", "TEMPORAL_TLS=true",
                                      "TEMPORAL_GRPC_META_AUTHORIZATION=Bearer t"),
                                  &err),
                     TLW_OK);
    /* Other metadata is no credential. */
    assert_int_equal(validate_env(ENV("TEMPORAL_TASK_QUEUE=q", "TEMPORAL_GRPC_META_X_TENANT=a"),
                                  &err),
                     TLW_OK);

    /* A key from code is named as such. */
    tlw_settings s;
    assert_int_equal(load(&s, ENV("TEMPORAL_TASK_QUEUE=q", "TEMPORAL_TLS=false"), &err), TLW_OK);
    tlw_source code = {.kind = TLW_SOURCE_CODE, .where = "tlw_config_set_api_key()"};
    tlw_str_setting_set(&s.client.api_key, "SECRET", 6, &code, NULL);
    tlw_settings_finish(&s);
    assert_int_equal(tlw_settings_validate_client(&s, &err), TLW_ERR_INVALID);
    has(err.message, "the API key (tlw_config_set_api_key()) would be sent in plaintext");
    lacks(err.message, "SECRET");
    tlw_settings_free(&s);

    /* The file named by TLW_WORKER_CONFIG is the one to edit. */
    write_file("tuning.cfg", "workflow_slots = 1;\n");
    assert_int_equal(validate_env(ENV("TEMPORAL_TASK_QUEUE=q", "TLW_WORKER_CONFIG=tuning.cfg",
                                      "TEMPORAL_API_KEY=k", "TEMPORAL_TLS=false"),
                                  &err),
                     TLW_ERR_INVALID);
    has(err.message, "in the tuning file (tuning.cfg) or call "
                     "tlw_config_set_allow_plaintext_credentials(cfg, 1)");

    write_file("lambda_worker.cfg", "allow_plaintext_credentials = 1;\n");
    assert_int_equal(load(&s, ENV("PATH=/bin"), &err), TLW_ERR_INVALID);
    has(err.message, "lambda_worker.cfg:1: allow_plaintext_credentials must be true or false, "
                     "not an integer");
    tlw_settings_free(&s);
}

static void bad_booleans_in_the_environment(void **state)
{
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV("TEMPORAL_TLS=yes please"), &err), TLW_ERR_INVALID);
    has(err.message, "TEMPORAL_TLS is not a boolean; set it to true or false");
    lacks(err.message, "yes please");
    tlw_settings_free(&s);
}

/* A value may be a secret put in the wrong place: the file's and the
 * environment's errors name the key or variable and the rule, never the
 * value. */
static void envconfig_errors_never_print_a_value(void **state)
{
    static const struct {
        const char *toml; /* NULL: no temporal.toml */
        const char *env;
        const char *says;
    } cases[] = {
        {"[profile.default]\napi_kye = \"SECRET-1\"\n", NULL,
         "temporal.toml:2:11: unknown key \"api_kye\" in [profile.default]; did you mean "
         "\"api_key\"?"},
        {"[profile.default]\napi_key = 12345678\n", NULL,
         "temporal.toml:2:11: api_key in [profile.default] must be a string, not integer"},
        {"[profile.default]\napi_key = [\"SECRET-1\"]\n", NULL,
         "api_key in [profile.default] must be a string, not array"},
        {"[profile.default.grpc_meta]\nauthorization = { bearer = \"SECRET-1\" }\n", NULL,
         "authorization in [profile.default.grpc_meta] must be a string, not table"},
        {"[profile.default.tls]\nclient_key_data = 1979-05-27\n", NULL,
         "client_key_data in [profile.default.tls] must be a string, not date-time"},
        {"[profile.default.tls]\ndisabled = \"SECRET-1\"\n", NULL,
         "disabled in [profile.default.tls] must be true or false, not string"},
        {"[profile.default]\napi_key = \"SECRET-1\" SECRET-2\n", NULL,
         "temporal.toml:2:22: expected the end of the line after the value"},
        {NULL, "TEMPORAL_TLS=SECRET-1", "TEMPORAL_TLS is not a boolean"},
        {NULL, "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION=SECRET-1",
         "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not a boolean"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unlink("temporal.toml");
        if (cases[i].toml)
            write_file("temporal.toml", cases[i].toml);
        tlw_settings s;
        tlw_error err;
        if (load(&s, cases[i].env ? ENV((char *)cases[i].env) : ENV("PATH=/bin"), &err) ==
            TLW_OK)
            fail_msg("case %zu loaded", i);
        has(err.message, cases[i].says);
        lacks(err.message, "SECRET");
        lacks(err.message, "12345678");
        lacks(err.message, "1979");
        tlw_settings_free(&s);
    }
}

static void codec_is_accepted_with_a_warning(void **state)
{
    write_file("temporal.toml", "[profile.default.codec]\nendpoint = \"http://x\"\n");
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV("PATH=/bin"), &err), TLW_OK);
    assert_int_equal(s.warning_count, 1);
    has(s.warnings[0], "codec is accepted but not used");
    tlw_settings_free(&s);
}

static const char tuning_cfg[] = "# worker tuning\n"
                                 "task_queue = \"from-file\";\n"
                                 "workflow_slots = 3;\n"
                                 "activity_slots = 5;\n"
                                 "graceful_shutdown_timeout_ms = 8000;\n"
                                 "isolation = \"in-process\";\n"
                                 "log_level = \"debug\";\n";

static void tuning_file_and_its_sources(void **state)
{
    write_file("lambda_worker.cfg", tuning_cfg);
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV("PATH=/bin"), &err), TLW_OK);
    assert_string_equal(s.worker.task_queue.value, "from-file");
    assert_string_equal(s.worker.task_queue.source.where, "lambda_worker.cfg:2");
    assert_int_equal(s.worker.workflow_slots.value, 3);
    assert_int_equal(s.worker.activity_slots.value, 5);
    assert_string_equal(s.worker.activity_slots.source.where, "lambda_worker.cfg:4");
    assert_int_equal(s.worker.isolation.value, TLW_ISOLATION_IN_PROCESS);
    assert_int_equal(s.worker.log_level.value, TLW_LOG_DEBUG);
    /* The buffer follows the graceful timeout when not set itself. */
    assert_int_equal(s.worker.shutdown_deadline_buffer_ms.value, 10000);
    tlw_settings_free(&s);

    /* The environment beats the file. */
    assert_int_equal(load(&s, ENV("TEMPORAL_TASK_QUEUE=from-env", "AWS_LAMBDA_LOG_LEVEL=ERROR"),
                          &err),
                     TLW_OK);
    assert_string_equal(s.worker.task_queue.value, "from-env");
    assert_int_equal(s.worker.log_level.value, TLW_LOG_ERROR);
    tlw_settings_free(&s);
}

static void tuning_file_errors_name_the_line(void **state)
{
    static const struct {
        const char *cfg;
        const char *says;
    } cases[] = {
        {"workflow_slots = 2;\nactivty_slots = 1;\n",
         "lambda_worker.cfg:2: unknown key \"activty_slots\""},
        {"workflow_slots = \"two\";\n", "lambda_worker.cfg:1: workflow_slots must be an integer, "
                                        "not a string"},
        {"task_queue = 5;\n", "task_queue must be a string, not an integer"},
        {"isolation = \"thread\";\n", "isolation = \"thread\" is not known"},
        {"workflow_slots = 2\nactivity_slots = ;\n", "lambda_worker.cfg:2:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file("lambda_worker.cfg", cases[i].cfg);
        tlw_settings s;
        tlw_error err;
        if (load(&s, ENV("PATH=/bin"), &err) == TLW_OK)
            fail_msg("case %zu loaded", i);
        has(err.message, cases[i].says);
        tlw_settings_free(&s);
    }

    unlink("lambda_worker.cfg");
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV("TLW_WORKER_CONFIG=/nonexistent.cfg"), &err), TLW_ERR_IO);
    has(err.message, "TLW_WORKER_CONFIG names the tuning file /nonexistent.cfg");
    tlw_settings_free(&s);

    assert_int_equal(load(&s, ENV("AWS_LAMBDA_LOG_LEVEL=LOUD"), &err), TLW_ERR_INVALID);
    has(err.message, "AWS_LAMBDA_LOG_LEVEL: log level \"LOUD\" is not known");
    tlw_settings_free(&s);
}

/* Loads the defaults plus what validation needs, then applies `cfg`. */
static tlw_status validate_with(const char *cfg, const char *task_queue, tlw_error *err)
{
    write_file("lambda_worker.cfg", cfg);
    tlw_settings s;
    assert_int_equal(load(&s, ENV("PATH=/bin"), err), TLW_OK);
    tlw_source code = {.kind = TLW_SOURCE_CODE, .where = "code"};
    if (task_queue)
        tlw_str_setting_set(&s.worker.task_queue, task_queue, strlen(task_queue), &code, NULL);
    tlw_str_setting_set(&s.worker.deployment_name, "dep", 3, &code, NULL);
    tlw_str_setting_set(&s.worker.build_id, "b1", 2, &code, NULL);
    tlw_settings_finish(&s);
    tlw_status st = tlw_settings_validate(&s, err);
    tlw_settings_free(&s);
    return st;
}

static void validation_rules(void **state)
{
    tlw_error err;
    assert_int_equal(validate_with("", "q", &err), TLW_OK);

    assert_int_equal(validate_with("", NULL, &err), TLW_ERR_INVALID);
    has(err.message, "TEMPORAL_TASK_QUEUE");
    has(err.message, "tlw_config_set_task_queue");

    static const struct {
        const char *cfg;
        const char *says;
    } cases[] = {
        {"workflow_slots = 0;\nactivity_slots = 0;\n", "both 0"},
        {"activity_slots = -1;\n", "lambda_worker.cfg:1: activity_slots = -1 is out of range"},
        {"workflow_slots = 1000;\n", "out of range; use 0 to 64"},
        {"graceful_shutdown_timeout_ms = -5;\n", "graceful_shutdown_timeout_ms = -5"},
        {"shutdown_deadline_buffer_ms = 901000;\n", "900 s"},
        {"graceful_shutdown_timeout_ms = 9000;\nshutdown_deadline_buffer_ms = 3000;\n",
         "must be longer than graceful_shutdown_timeout_ms"},
        {"executor_memory_limit_mb = 99999;\n", "executor_memory_limit_mb"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (validate_with(cases[i].cfg, "q", &err) == TLW_OK)
            fail_msg("case %zu validated", i);
        has(err.message, cases[i].says);
    }
}

static void deployment_version_is_required(void **state)
{
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV("TEMPORAL_TASK_QUEUE=q"), &err), TLW_OK);
    assert_int_equal(tlw_settings_validate(&s, &err), TLW_ERR_INVALID);
    has(err.message, "deployment name");
    tlw_settings_free(&s);
}

static void print_config_redacts_secrets(void **state)
{
    write_file("key.pem", "-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYBYTES\n-----END PRIVATE KEY-----\n");
    write_file("cert.pem", "-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n");
    write_file("temporal.toml", "[profile.default]\napi_key = \"file-api-key-SECRET\"\n"
                                "[profile.default.tls]\nclient_key_path = \"key.pem\"\n"
                                "client_cert_path = \"cert.pem\"\n"
                                "[profile.default.grpc_meta]\nauthorization = \"Bearer META-SECRET\"\n");
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV("TEMPORAL_TASK_QUEUE=q"), &err), TLW_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    tlw_settings_print(&s, out);
    fclose(out);
    has(buf, "client.api_key");
    has(buf, "(set, redacted)");
    has(buf, "worker.task_queue                  q");
    has(buf, "TEMPORAL_TASK_QUEUE");
    has(buf, "temporal.toml:2");
    has(buf, "worker.allow_plaintext_credentials false");
    lacks(buf, "SECRET");
    lacks(buf, "TOPSECRETKEYBYTES");
    free(buf);
    tlw_settings_free(&s);
}

/* ---- configure(): registrations and setters ---------------------------- */

/* Loads from `envp` and runs `configure` as the supervisor does. The caller
 * frees `cfg`. */
static tlw_status configure_with(tlw_config *cfg, char *const *envp, tlw_configure_fn configure,
                                 tlw_error *err)
{
    tlw_version version = {.deployment_name = "dep", .build_id = "b1"};
    tlw_error_clear(err);
    tlw_status st = tlw_config_load(cfg, &version, envp, err);
    return st ? st : tlw_config_apply(cfg, configure, err);
}

static tlw_status greet(tlw_workflow *wf, const json_t *args, json_t **result)
{
    (void)wf;
    (void)args;
    *result = NULL;
    return TLW_OK;
}

static tlw_status compose(tlw_activity *act, const json_t *args, json_t **result)
{
    (void)act;
    (void)args;
    *result = NULL;
    return TLW_OK;
}

/* What the versioning tests' configure() does. */
static struct {
    bool plain;                       /* tlw_register_workflow, not _ex */
    const tlw_workflow_options *opts; /* for _ex; may be NULL */
    int set_default;                  /* -1: do not call the setter */
} versioning_case;

static int configure_versioning(tlw_config *cfg)
{
    tlw_config_set_task_queue(cfg, "q");
    tlw_register_activity(cfg, "Compose", compose);
    if (versioning_case.plain)
        tlw_register_workflow(cfg, "Greet", greet);
    else
        tlw_register_workflow_ex(cfg, "Greet", greet, versioning_case.opts);
    tlw_register_workflow_ex(cfg, "Other", greet, versioning_case.opts);
    /* After the registrations: the order does not matter. */
    if (versioning_case.set_default >= 0)
        tlw_config_set_default_versioning_behavior(
            cfg, (tlw_versioning_behavior)versioning_case.set_default);
    return 0;
}

static void every_workflow_needs_a_versioning_behavior(void **state)
{
    static int marker;
    static const tlw_workflow_options none = {0};
    static const tlw_workflow_options pinned = {.versioning_behavior = TLW_VERSIONING_PINNED,
                                                .arg = &marker};
    static const tlw_workflow_options upgrade = {.versioning_behavior =
                                                     TLW_VERSIONING_AUTO_UPGRADE};
    static const struct {
        const char *cfg; /* the tuning file, or NULL */
        bool plain;
        const tlw_workflow_options *opts;
        int set_default;
        tlw_versioning_behavior greet, other; /* UNSPECIFIED: configure fails */
    } cases[] = {
        /* Neither its own nor a default. */
        {NULL, true, NULL, -1, TLW_VERSIONING_UNSPECIFIED, 0},
        {NULL, false, NULL, -1, TLW_VERSIONING_UNSPECIFIED, 0},
        {NULL, false, &none, -1, TLW_VERSIONING_UNSPECIFIED, 0},
        {"default_versioning_behavior = \"unspecified\";\n", true, NULL, -1,
         TLW_VERSIONING_UNSPECIFIED, 0},
        /* Code clears the file's default. */
        {"default_versioning_behavior = \"pinned\";\n", true, NULL, TLW_VERSIONING_UNSPECIFIED,
         TLW_VERSIONING_UNSPECIFIED, 0},
        /* Its own. */
        {NULL, false, &pinned, -1, TLW_VERSIONING_PINNED, TLW_VERSIONING_PINNED},
        /* The default, from the file or from code (code wins). */
        {"default_versioning_behavior = \"pinned\";\n", true, NULL, -1, TLW_VERSIONING_PINNED,
         TLW_VERSIONING_PINNED},
        {"default_versioning_behavior = \"pinned\";\n", true, NULL, TLW_VERSIONING_AUTO_UPGRADE,
         TLW_VERSIONING_AUTO_UPGRADE, TLW_VERSIONING_AUTO_UPGRADE},
        {NULL, false, &none, TLW_VERSIONING_PINNED, TLW_VERSIONING_PINNED, TLW_VERSIONING_PINNED},
        /* Its own beats the default. */
        {"default_versioning_behavior = \"pinned\";\n", false, &upgrade, -1,
         TLW_VERSIONING_AUTO_UPGRADE, TLW_VERSIONING_AUTO_UPGRADE},
        {"default_versioning_behavior = \"auto-upgrade\";\n", true, &pinned, -1,
         TLW_VERSIONING_AUTO_UPGRADE, TLW_VERSIONING_PINNED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unlink("lambda_worker.cfg");
        if (cases[i].cfg)
            write_file("lambda_worker.cfg", cases[i].cfg);
        versioning_case.plain = cases[i].plain;
        versioning_case.opts = cases[i].opts;
        versioning_case.set_default = cases[i].set_default;
        tlw_config cfg;
        tlw_error err;
        tlw_status st = configure_with(&cfg, ENV("PATH=/bin"), configure_versioning, &err);
        if (cases[i].greet == TLW_VERSIONING_UNSPECIFIED) {
            if (st != TLW_ERR_INVALID)
                fail_msg("case %zu: configure did not fail", i);
            has(err.message, "workflow \"Greet\" (and 1 more) has no versioning behavior");
            has(err.message, "tlw_register_workflow_ex()");
            has(err.message, "TLW_VERSIONING_PINNED");
            has(err.message, "default_versioning_behavior = \"pinned\"; (or \"auto-upgrade\") in "
                             "the tuning file (lambda_worker.cfg)");
            has(err.message, "tlw_config_set_default_versioning_behavior()");
        } else {
            if (st != TLW_OK)
                fail_msg("case %zu: %s", i, err.message);
            const tlw_registration *g = tlw_config_workflow_registration(&cfg, "Greet");
            const tlw_registration *o = tlw_config_workflow_registration(&cfg, "Other");
            assert_non_null(g);
            assert_non_null(o);
            assert_ptr_equal(g->workflow, greet);
            assert_int_equal(tlw_config_versioning_behavior(&cfg, g), cases[i].greet);
            assert_int_equal(tlw_config_versioning_behavior(&cfg, o), cases[i].other);
            assert_ptr_equal(o->arg, cases[i].opts ? cases[i].opts->arg : NULL);
        }
        tlw_config_free(&cfg);
    }

    /* The message names where the default came from. */
    write_file("lambda_worker.cfg", "workflow_slots = 1;\ndefault_versioning_behavior = "
                                    "\"unspecified\";\n");
    versioning_case.plain = true;
    versioning_case.set_default = -1;
    tlw_config cfg;
    tlw_error err;
    assert_int_equal(configure_with(&cfg, ENV("PATH=/bin"), configure_versioning, &err),
                     TLW_ERR_INVALID);
    has(err.message, "no default_versioning_behavior (lambda_worker.cfg:2)");
    tlw_config_free(&cfg);

    /* The default's source shows in --print-config. */
    versioning_case.set_default = TLW_VERSIONING_PINNED;
    assert_int_equal(configure_with(&cfg, ENV("PATH=/bin"), configure_versioning, &err), TLW_OK);
    assert_string_equal(cfg.settings.worker.default_versioning_behavior.source.where,
                        "tlw_config_set_default_versioning_behavior()");
    tlw_config_free(&cfg);
}

static int configure_bad_versioning(tlw_config *cfg)
{
    tlw_workflow_options bad = {.versioning_behavior = (tlw_versioning_behavior)7};
    tlw_config_set_task_queue(cfg, "q");
    if (tlw_register_workflow_ex(cfg, "Greet", greet, &bad) != TLW_ERR_INVALID)
        return tlw_config_fail(cfg, "a bad versioning_behavior was accepted");
    return 0;
}

static int configure_bad_default(tlw_config *cfg)
{
    tlw_config_set_task_queue(cfg, "q");
    tlw_config_set_default_versioning_behavior(cfg, (tlw_versioning_behavior)-1);
    return 0;
}

static void bad_versioning_behaviors_are_refused(void **state)
{
    tlw_config cfg;
    tlw_error err;
    assert_int_equal(configure_with(&cfg, ENV("PATH=/bin"), configure_bad_versioning, &err),
                     TLW_ERR_INVALID);
    assert_string_equal(err.message,
                        "configure: tlw_register_workflow_ex(\"Greet\"): versioning_behavior 7 is "
                        "not a tlw_versioning_behavior; use TLW_VERSIONING_PINNED, "
                        "TLW_VERSIONING_AUTO_UPGRADE or TLW_VERSIONING_UNSPECIFIED (the worker's "
                        "default)");
    tlw_config_free(&cfg);

    assert_int_equal(configure_with(&cfg, ENV("PATH=/bin"), configure_bad_default, &err),
                     TLW_ERR_INVALID);
    has(err.message, "configure: tlw_config_set_default_versioning_behavior(-1): not a "
                     "tlw_versioning_behavior");
    tlw_config_free(&cfg);
}

/* ---- every setting from code ------------------------------------------- */

/* One tlw_config_set_* function: a good value, which must win over the
 * tuning file (or temporal.toml) and the environment, and a bad one, which
 * must fail configure with a message that says why. */
static const struct setter_case {
    const char *setter; /* its name, as the setting's source names it */
    tlw_status (*set_str)(tlw_config *cfg, const char *value);
    tlw_status (*set_int)(tlw_config *cfg, int value);
    tlw_status (*set_ll)(tlw_config *cfg, long long value);
    const char *good_str, *bad_str;
    long long good_num, bad_num;
    bool no_bad;             /* every value is good (a boolean) */
    const char *says;        /* what refusing the bad value says */
    const char *file, *text; /* another source: a file and its text */
    const char *env;         /* and a variable, or NULL */
    size_t offset;           /* the setting in tlw_settings */
    bool str_field;          /* a tlw_str_setting, else a tlw_int_setting */
    const char *want_str;    /* what code leaves there */
    long long want_num;
} setter_cases[] = {
#define WORKER(field) .offset = offsetof(tlw_settings, worker.field)
#define CLIENT(field) .offset = offsetof(tlw_settings, client.field)
#define TUNING(text_) .file = "lambda_worker.cfg", .text = text_
#define TOML(text_) .file = "temporal.toml", .text = "[profile.default]\n" text_
    {"tlw_config_set_task_queue", .set_str = tlw_config_set_task_queue, .good_str = "code-q",
     .bad_str = "", .says = "tlw_config_set_task_queue: the value is empty",
     TUNING("task_queue = \"file-q\";\n"), .env = "TEMPORAL_TASK_QUEUE=env-q", WORKER(task_queue),
     .str_field = true, .want_str = "code-q"},
    {"tlw_config_set_address", .set_str = tlw_config_set_address, .good_str = "code:7233",
     .bad_str = NULL, .says = "tlw_config_set_address: the value is empty",
     TOML("address = \"file:7233\"\n"), .env = "TEMPORAL_ADDRESS=env:7233", CLIENT(address),
     .str_field = true, .want_str = "code:7233"},
    {"tlw_config_set_namespace", .set_str = tlw_config_set_namespace, .good_str = "code-ns",
     .bad_str = "", .says = "tlw_config_set_namespace: the value is empty",
     TOML("namespace = \"file-ns\"\n"), .env = "TEMPORAL_NAMESPACE=env-ns", CLIENT(namespace_name),
     .str_field = true, .want_str = "code-ns"},
    {"tlw_config_set_api_key", .set_str = tlw_config_set_api_key, .good_str = "code-key",
     .bad_str = "", .says = "tlw_config_set_api_key: the value is empty",
     TOML("api_key = \"file-key\"\n"), .env = "TEMPORAL_API_KEY=env-key", CLIENT(api_key),
     .str_field = true, .want_str = "code-key"},
    {"tlw_config_set_identity", .set_str = tlw_config_set_identity, .good_str = "code-id",
     .bad_str = "", .says = "tlw_config_set_identity: the value is empty",
     TUNING("identity = \"file-id\";\n"), WORKER(identity), .str_field = true,
     .want_str = "code-id"},
    {"tlw_config_set_workflow_slots", .set_int = tlw_config_set_workflow_slots, .good_num = 7,
     .bad_num = 65, .says = "tlw_config_set_workflow_slots(65): out of range; use 0 to 64",
     TUNING("workflow_slots = 3;\n"), WORKER(workflow_slots), .want_num = 7},
    {"tlw_config_set_activity_slots", .set_int = tlw_config_set_activity_slots, .good_num = 0,
     .bad_num = -1, .says = "tlw_config_set_activity_slots(-1): out of range; use 0 to 64",
     TUNING("activity_slots = 3;\n"), WORKER(activity_slots), .want_num = 0},
    {"tlw_config_set_graceful_shutdown_timeout_ms",
     .set_ll = tlw_config_set_graceful_shutdown_timeout_ms, .good_num = 4000, .bad_num = 900000,
     .says = "tlw_config_set_graceful_shutdown_timeout_ms(900000): out of range; use 0 to 899999",
     TUNING("graceful_shutdown_timeout_ms = 3000;\n"), WORKER(graceful_shutdown_timeout_ms),
     .want_num = 4000},
    {"tlw_config_set_shutdown_deadline_buffer_ms",
     .set_ll = tlw_config_set_shutdown_deadline_buffer_ms, .good_num = 9000, .bad_num = 0,
     .says = "tlw_config_set_shutdown_deadline_buffer_ms(0): out of range; use 1 to 899999",
     TUNING("shutdown_deadline_buffer_ms = 8000;\n"), WORKER(shutdown_deadline_buffer_ms),
     .want_num = 9000},
    {"tlw_config_set_isolation", .set_str = tlw_config_set_isolation, .good_str = "in-process",
     .bad_str = "thread",
     .says = "tlw_config_set_isolation(): isolation = \"thread\" is not known; use \"fork\"",
     TUNING("isolation = \"fork\";\n"), WORKER(isolation), .want_num = TLW_ISOLATION_IN_PROCESS},
    {"tlw_config_set_executor_memory_limit_mb", .set_ll = tlw_config_set_executor_memory_limit_mb,
     .good_num = 256, .bad_num = 10241,
     .says = "tlw_config_set_executor_memory_limit_mb(10241): out of range; use 0 to 10240",
     TUNING("executor_memory_limit_mb = 128;\n"), WORKER(executor_memory_limit_mb),
     .want_num = 256},
    {"tlw_config_set_log_level", .set_str = tlw_config_set_log_level, .good_str = "debug",
     .bad_str = "LOUD",
     .says = "tlw_config_set_log_level(): log level \"LOUD\" is not known; use TRACE, DEBUG",
     TUNING("log_level = \"WARN\";\n"), .env = "AWS_LAMBDA_LOG_LEVEL=ERROR", WORKER(log_level),
     .want_num = TLW_LOG_DEBUG},
    {"tlw_config_set_log_format", .set_str = tlw_config_set_log_format, .good_str = "json",
     .bad_str = "xml",
     .says = "tlw_config_set_log_format(): log format \"xml\" is not known; use \"text\" or "
             "\"json\"",
     TUNING("log_format = \"json\";\n"), .env = "AWS_LAMBDA_LOG_FORMAT=text", WORKER(log_format),
     .want_num = TLW_LOG_FORMAT_JSON},
    {"tlw_config_set_executor_zygote", .set_int = tlw_config_set_executor_zygote, .good_num = 0,
     .no_bad = true, TUNING("executor_zygote = true;\n"), WORKER(executor_zygote),
     .want_num = 0},
    {"tlw_config_set_allow_plaintext_credentials",
     .set_int = tlw_config_set_allow_plaintext_credentials, .good_num = 2, .no_bad = true,
     TUNING("allow_plaintext_credentials = false;\n"), WORKER(allow_plaintext_credentials),
     .want_num = 1},
    {"tlw_config_set_tls", .set_int = tlw_config_set_tls, .good_num = 0, .no_bad = true,
     TOML("tls = true\n"), .env = "TEMPORAL_TLS=true", CLIENT(tls_explicit), .want_num = 0},
    {"tlw_config_set_tls_server_ca_cert_path", .set_str = tlw_config_set_tls_server_ca_cert_path,
     .good_str = "code-ca.pem", .bad_str = "/nonexistent/ca.pem",
     .says = "tlw_config_set_tls_server_ca_cert_path(): cannot open the server CA certificate "
             "/nonexistent/ca.pem",
     TOML("[profile.default.tls]\nserver_ca_cert_data = \"file-ca\"\n"),
     .env = "TEMPORAL_TLS_SERVER_CA_CERT_DATA=env-ca", CLIENT(server_ca_pem), .str_field = true,
     .want_str = "PEM code-ca.pem\n"},
    {"tlw_config_set_tls_server_ca_cert_data", .set_str = tlw_config_set_tls_server_ca_cert_data,
     .good_str = "code-ca", .bad_str = "",
     .says = "tlw_config_set_tls_server_ca_cert_data: the value is empty",
     TOML("[profile.default.tls]\nserver_ca_cert_data = \"file-ca\"\n"),
     .env = "TEMPORAL_TLS_SERVER_CA_CERT_DATA=env-ca", CLIENT(server_ca_pem), .str_field = true,
     .want_str = "code-ca"},
    {"tlw_config_set_tls_client_cert_path", .set_str = tlw_config_set_tls_client_cert_path,
     .good_str = "code-cert.pem", .bad_str = "",
     .says = "tlw_config_set_tls_client_cert_path: the path is empty",
     TOML("[profile.default.tls]\nclient_cert_data = \"file-cert\"\n"),
     .env = "TEMPORAL_TLS_CLIENT_CERT_DATA=env-cert", CLIENT(client_cert_pem), .str_field = true,
     .want_str = "PEM code-cert.pem\n"},
    {"tlw_config_set_tls_client_cert_data", .set_str = tlw_config_set_tls_client_cert_data,
     .good_str = "code-cert", .bad_str = NULL,
     .says = "tlw_config_set_tls_client_cert_data: the value is empty",
     TOML("[profile.default.tls]\nclient_cert_data = \"file-cert\"\n"),
     .env = "TEMPORAL_TLS_CLIENT_CERT_DATA=env-cert", CLIENT(client_cert_pem), .str_field = true,
     .want_str = "code-cert"},
    {"tlw_config_set_tls_client_key_path", .set_str = tlw_config_set_tls_client_key_path,
     .good_str = "code-key.pem", .bad_str = "/nonexistent/key.pem",
     .says = "tlw_config_set_tls_client_key_path(): cannot open the client private key "
             "/nonexistent/key.pem",
     TOML("[profile.default.tls]\nclient_key_data = \"file-key\"\n"),
     .env = "TEMPORAL_TLS_CLIENT_KEY_DATA=env-key", CLIENT(client_key_pem), .str_field = true,
     .want_str = "PEM code-key.pem\n"},
    {"tlw_config_set_tls_client_key_data", .set_str = tlw_config_set_tls_client_key_data,
     .good_str = "code-key", .bad_str = "",
     .says = "tlw_config_set_tls_client_key_data: the value is empty",
     TOML("[profile.default.tls]\nclient_key_data = \"file-key\"\n"),
     .env = "TEMPORAL_TLS_CLIENT_KEY_DATA=env-key", CLIENT(client_key_pem), .str_field = true,
     .want_str = "code-key"},
    {"tlw_config_set_tls_server_name", .set_str = tlw_config_set_tls_server_name,
     .good_str = "code.test", .bad_str = "",
     .says = "tlw_config_set_tls_server_name: the value is empty",
     TOML("[profile.default.tls]\nserver_name = \"file.test\"\n"),
     .env = "TEMPORAL_TLS_SERVER_NAME=env.test", CLIENT(server_name), .str_field = true,
     .want_str = "code.test"},
    {"tlw_config_set_tls_disable_host_verification",
     .set_int = tlw_config_set_tls_disable_host_verification, .good_num = -1, .no_bad = true,
     TOML("[profile.default.tls]\ndisable_host_verification = false\n"),
     .env = "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION=false", CLIENT(disable_host_verification),
     .want_num = 1},
#undef WORKER
#undef CLIENT
#undef TUNING
#undef TOML
};

static const struct setter_case *current_setter;
static bool current_bad;
static tlw_status current_status;

static int configure_one_setter(tlw_config *cfg)
{
    const struct setter_case *c = current_setter;
    tlw_config_set_task_queue(cfg, "q");
    if (c->set_str)
        current_status = c->set_str(cfg, current_bad ? c->bad_str : c->good_str);
    else if (c->set_int)
        current_status = c->set_int(cfg, (int)(current_bad ? c->bad_num : c->good_num));
    else
        current_status = c->set_ll(cfg, current_bad ? c->bad_num : c->good_num);
    return 0;
}

static const tlw_source *setting_source(const tlw_settings *s, const struct setter_case *c)
{
    const char *field = (const char *)s + c->offset;
    return c->str_field ? &((const tlw_str_setting *)field)->source
                        : &((const tlw_int_setting *)field)->source;
}

static void every_setter_wins_and_refuses_bad_values(void **state)
{
    for (size_t i = 0; i < sizeof setter_cases / sizeof setter_cases[0]; i++) {
        const struct setter_case *c = &setter_cases[i];
        unlink("lambda_worker.cfg");
        unlink("temporal.toml");
        write_file(c->file, c->text);
        write_file("code-ca.pem", "PEM code-ca.pem\n");
        write_file("code-cert.pem", "PEM code-cert.pem\n");
        write_file("code-key.pem", "PEM code-key.pem\n");
        char *const *envp = c->env ? ENV("PATH=/bin", (char *)c->env) : ENV("PATH=/bin");
        tlw_config cfg;
        tlw_error err;

        /* Without code, the file or the variable sets it. */
        tlw_version version = {.deployment_name = "dep", .build_id = "b1"};
        if (tlw_config_load(&cfg, &version, envp, &err) != TLW_OK)
            fail_msg("%s: %s", c->setter, err.message);
        const tlw_source *before = setting_source(&cfg.settings, c);
        if (before->kind != (c->env ? TLW_SOURCE_ENV : TLW_SOURCE_FILE))
            fail_msg("%s: the setting comes from %s, not from the %s", c->setter, before->where,
                     c->env ? "environment" : "file");
        tlw_config_free(&cfg);

        /* Code wins, and says so. */
        current_setter = c;
        current_bad = false;
        if (configure_with(&cfg, envp, configure_one_setter, &err) != TLW_OK)
            fail_msg("%s: %s", c->setter, err.message);
        assert_int_equal(current_status, TLW_OK);
        const char *field = (const char *)&cfg.settings + c->offset;
        if (c->str_field) {
            const char *value = ((const tlw_str_setting *)field)->value;
            if (!value || strcmp(value, c->want_str) != 0)
                fail_msg("%s: the value is \"%s\"", c->setter, value ? value : "(null)");
        } else if (((const tlw_int_setting *)field)->value != c->want_num) {
            fail_msg("%s: the value is %lld, not %lld", c->setter,
                     (long long)((const tlw_int_setting *)field)->value, c->want_num);
        }
        const tlw_source *after = setting_source(&cfg.settings, c);
        char want_where[128];
        snprintf(want_where, sizeof want_where, "%s()", c->setter);
        assert_int_equal(after->kind, TLW_SOURCE_CODE);
        if (strncmp(after->where, want_where, strlen(want_where)) != 0)
            fail_msg("%s: the source says \"%s\"", c->setter, after->where);
        tlw_config_free(&cfg);

        /* A bad value fails configure, with a message that says why. */
        if (c->no_bad)
            continue;
        current_bad = true;
        tlw_status st = configure_with(&cfg, envp, configure_one_setter, &err);
        if (st == TLW_OK)
            fail_msg("%s: a bad value was accepted", c->setter);
        assert_int_equal(current_status, st);
        if (strncmp(err.message, "configure: ", 11) != 0)
            fail_msg("%s: \"%s\" does not start with \"configure: \"", c->setter, err.message);
        has(err.message, c->says);
        tlw_config_free(&cfg);
    }
}

/* What the metadata test's configure() sets: key/value pairs. */
static const char *const (*meta_calls)[2];
static size_t meta_call_count;

static int configure_meta(tlw_config *cfg)
{
    tlw_config_set_task_queue(cfg, "q");
    for (size_t i = 0; i < meta_call_count; i++)
        current_status = tlw_config_set_grpc_meta(cfg, meta_calls[i][0], meta_calls[i][1]);
    return 0;
}

static const tlw_meta_setting *find_meta(const tlw_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->settings.client.meta_count; i++)
        if (strcmp(cfg->settings.client.meta[i].key, key) == 0)
            return &cfg->settings.client.meta[i];
    return NULL;
}

/* S3 payload storage: the tuning file's s3_* keys, AWS_REGION as a fallback
 * only, tlw_config_set_s3_storage over the file (keeping what it leaves
 * NULL), and the checks. */
static const tlw_s3_options *current_s3;

static int configure_s3(tlw_config *cfg)
{
    tlw_config_set_task_queue(cfg, "q");
    tlw_config_set_s3_storage(cfg, current_s3);
    return 0;
}

static void s3_storage_settings(void **state)
{
    (void)state;
    write_file("lambda_worker.cfg", "task_queue = \"q\";\n"
                                    "s3_bucket = \"file-bucket\";\n"
                                    "s3_endpoint_url = \"http://127.0.0.1:9000\";\n"
                                    "s3_path_style = true;\n"
                                    "s3_payload_size_threshold = 1000;\n"
                                    "s3_key_prefix = \"team\";\n");
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV("AWS_REGION=eu-west-3"), &err), TLW_OK);
    const tlw_worker_settings *w = &s.worker;
    assert_string_equal(w->s3_bucket.value, "file-bucket");
    assert_string_equal(w->s3_bucket.source.where, "lambda_worker.cfg:2");
    assert_string_equal(w->s3_endpoint_url.value, "http://127.0.0.1:9000");
    assert_int_equal(w->s3_path_style.value, 1);
    assert_int_equal(w->s3_payload_size_threshold.value, 1000);
    assert_string_equal(w->s3_key_prefix.value, "team");
    assert_string_equal(w->s3_region.value, "eu-west-3");
    assert_string_equal(w->s3_region.source.where, "AWS_REGION");
    tlw_settings_free(&s);

    /* A region in the file is kept: the function's own region is only a
     * fallback. */
    write_file("lambda_worker.cfg", "s3_bucket = \"b\";\ns3_region = \"us-west-2\";\n");
    assert_int_equal(load(&s, ENV("AWS_REGION=eu-west-3"), &err), TLW_OK);
    assert_string_equal(s.worker.s3_region.value, "us-west-2");
    tlw_settings_free(&s);

    /* A bucket with no region known, and a threshold out of range. */
    write_file("lambda_worker.cfg", "task_queue = \"q\";\ns3_bucket = \"b\";\n");
    assert_int_equal(load(&s, ENV("PATH=/bin"), &err), TLW_OK);
    tlw_str_setting_set(&s.worker.deployment_name, "dep", 3, &s.worker.task_queue.source, NULL);
    tlw_str_setting_set(&s.worker.build_id, "b1", 2, &s.worker.task_queue.source, NULL);
    assert_int_equal(tlw_settings_validate(&s, &err), TLW_ERR_INVALID);
    has(err.message, "no region is known");
    has(err.message, "AWS_REGION");
    tlw_settings_free(&s);
    write_file("lambda_worker.cfg", "task_queue = \"q\";\ns3_payload_size_threshold = 0;\n");
    assert_int_equal(load(&s, ENV("PATH=/bin"), &err), TLW_OK);
    tlw_str_setting_set(&s.worker.deployment_name, "dep", 3, &s.worker.task_queue.source, NULL);
    tlw_str_setting_set(&s.worker.build_id, "b1", 2, &s.worker.task_queue.source, NULL);
    assert_int_equal(tlw_settings_validate(&s, &err), TLW_ERR_INVALID);
    has(err.message, "lambda_worker.cfg:2: s3_payload_size_threshold = 0 is out of range");
    tlw_settings_free(&s);

    /* Code wins over the file and keeps what it leaves NULL or 0. */
    write_file("lambda_worker.cfg", "s3_bucket = \"file-bucket\";\n"
                                    "s3_endpoint_url = \"http://127.0.0.1:9000\";\n");
    tlw_s3_options code = {.bucket = "code-bucket", .region = "ap-south-1",
                           .payload_size_threshold = 4096};
    current_s3 = &code;
    tlw_config cfg;
    assert_int_equal(configure_with(&cfg, ENV("PATH=/bin"), configure_s3, &err), TLW_OK);
    w = &cfg.settings.worker;
    assert_string_equal(w->s3_bucket.value, "code-bucket");
    assert_string_equal(w->s3_bucket.source.where, "tlw_config_set_s3_storage()");
    assert_string_equal(w->s3_region.value, "ap-south-1");
    assert_string_equal(w->s3_endpoint_url.value, "http://127.0.0.1:9000");
    assert_int_equal(w->s3_payload_size_threshold.value, 4096);
    tlw_config_free(&cfg);

    /* The bucket is required; a bad threshold names the function. */
    tlw_s3_options no_bucket = {.region = "x"};
    current_s3 = &no_bucket;
    assert_int_not_equal(configure_with(&cfg, ENV("PATH=/bin"), configure_s3, &err), TLW_OK);
    has(err.message, "tlw_config_set_s3_storage: the bucket is required");
    tlw_config_free(&cfg);
    tlw_s3_options bad = {.bucket = "b", .region = "x", .payload_size_threshold = -5};
    current_s3 = &bad;
    assert_int_not_equal(configure_with(&cfg, ENV("PATH=/bin"), configure_s3, &err), TLW_OK);
    has(err.message, "tlw_config_set_s3_storage(-5): out of range");
    tlw_config_free(&cfg);
}

static void grpc_meta_from_code(void **state)
{
    write_file("temporal.toml", "[profile.default.grpc_meta]\nx-file = \"f\"\nx-drop = \"d\"\n"
                                "x-tenant = \"file-tenant\"\n");
    char *const *envp = ENV("TEMPORAL_GRPC_META_X_TENANT=env-tenant");

    /* Code wins over the file and the environment, lower-cases the key, may
     * remove an entry from either, and records itself as the source. */
    static const char *const good[][2] = {
        {"X-Tenant", "code-tenant"},
        {"x-drop", NULL},
        {"x-new-bin", "\x01\x02"},
        {"x-gone", "v"},
        {"x-gone", NULL},
    };
    meta_calls = good;
    meta_call_count = sizeof good / sizeof good[0];
    tlw_config cfg;
    tlw_error err;
    if (configure_with(&cfg, envp, configure_meta, &err) != TLW_OK)
        fail_msg("%s", err.message);
    assert_int_equal(current_status, TLW_OK);
    const tlw_meta_setting *tenant = find_meta(&cfg, "x-tenant");
    assert_non_null(tenant);
    assert_string_equal(tenant->value, "code-tenant");
    assert_int_equal(tenant->source.kind, TLW_SOURCE_CODE);
    assert_string_equal(tenant->source.where, "tlw_config_set_grpc_meta()");
    assert_null(find_meta(&cfg, "x-drop"));
    assert_null(find_meta(&cfg, "x-gone"));
    assert_non_null(find_meta(&cfg, "x-file"));
    assert_non_null(find_meta(&cfg, "x-new-bin"));
    assert_int_equal(cfg.settings.client.meta_count, 3);
    tlw_config_free(&cfg);

    /* Bad keys and values are refused at once; a value is never shown. */
    static const struct {
        const char *key, *value;
        const char *says;
    } bad[] = {
        {"x tenant", "v",
         "configure: tlw_config_set_grpc_meta(\"x tenant\"): the key is not valid: a gRPC "
         "metadata key may contain only lower-case letters, digits, '-', '_' and '.'"},
        {"", "v",
         "tlw_config_set_grpc_meta(\"\"): the key is not valid: a gRPC metadata key cannot be "
         "empty"},
        {NULL, "v", "configure: tlw_config_set_grpc_meta: the key is NULL"},
        {"authorization", "Bearer SECRET\n",
         "configure: tlw_config_set_grpc_meta(\"authorization\"): the value is not valid at byte "
         "14 (the value is not shown): gRPC sends only printable ASCII"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *const calls[][2] = {{bad[i].key, bad[i].value}};
        meta_calls = calls;
        meta_call_count = 1;
        if (configure_with(&cfg, envp, configure_meta, &err) != TLW_ERR_INVALID)
            fail_msg("case %zu was accepted", i);
        assert_int_equal(current_status, TLW_ERR_INVALID);
        has(err.message, bad[i].says);
        lacks(err.message, "SECRET");
        tlw_config_free(&cfg);
    }

    /* An authorization header from code is a credential like any other. */
    static const char *const auth[][2] = {{"authorization", "Bearer SECRET"}};
    meta_calls = auth;
    meta_call_count = 1;
    assert_int_equal(configure_with(&cfg, envp, configure_meta, &err), TLW_ERR_INVALID);
    has(err.message, "the gRPC metadata \"authorization\" (tlw_config_set_grpc_meta()) would be "
                     "sent in plaintext");
    lacks(err.message, "SECRET");
    tlw_config_free(&cfg);
}

/* OpenTelemetry: off by default; the file, OTEL_* (and the function's name
 * as the last resort for the service name), then code; bad values refused. */
static void otel_settings_from_every_source(void **state)
{
    tlw_settings s;
    tlw_error err;
    assert_int_equal(load(&s, ENV("PATH=/bin"), &err), TLW_OK);
    assert_int_equal(s.worker.otel_enabled.value, 0);
    assert_string_equal(s.worker.otel_endpoint.value, "http://localhost:4317");
    assert_null(s.worker.otel_service_name.value);
    assert_int_equal(s.worker.otel_export_timeout_ms.value, 1000);
    tlw_settings_free(&s);

    assert_int_equal(load(&s, ENV("AWS_LAMBDA_FUNCTION_NAME=fn"), &err), TLW_OK);
    assert_string_equal(s.worker.otel_service_name.value, "fn");
    tlw_settings_free(&s);

    write_file("lambda_worker.cfg", "otel_enabled = true;\notel_service_name = \"file-svc\";\n"
                                    "otel_endpoint = \"https://collector:4317\";\n"
                                    "otel_export_timeout_ms = 300;\n");
    assert_int_equal(load(&s, ENV("AWS_LAMBDA_FUNCTION_NAME=fn"), &err), TLW_OK);
    assert_int_equal(s.worker.otel_enabled.value, 1);
    assert_string_equal(s.worker.otel_service_name.value, "file-svc"); /* not the fallback */
    assert_string_equal(s.worker.otel_endpoint.value, "https://collector:4317");
    assert_int_equal(s.worker.otel_export_timeout_ms.value, 300);
    assert_int_equal(tlw_settings_validate(&s, &err) == TLW_ERR_INVALID, 1); /* no task queue */
    tlw_settings_free(&s);

    assert_int_equal(load(&s,
                          ENV("OTEL_SERVICE_NAME=env-svc",
                              "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9999",
                              "TEMPORAL_TASK_QUEUE=q"),
                          &err),
                     TLW_OK);
    assert_string_equal(s.worker.otel_service_name.value, "env-svc");
    assert_string_equal(s.worker.otel_service_name.source.where, "OTEL_SERVICE_NAME");
    assert_string_equal(s.worker.otel_endpoint.value, "http://127.0.0.1:9999");
    tlw_settings_free(&s);
    assert_int_equal(validate_env(ENV("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9999",
                                      "TEMPORAL_TASK_QUEUE=q"),
                                  &err),
                     TLW_OK);

    static const struct {
        const char *env;
        const char *says;
    } bad[] = {
        {"OTEL_EXPORTER_OTLP_ENDPOINT=localhost:4317", "is not an http:// or https:// URL"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT=http://h:4318/v1/metrics", "has a path"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(validate_env(ENV((char *)bad[i].env, "TEMPORAL_TASK_QUEUE=q"), &err),
                         TLW_ERR_INVALID);
        has(err.message, bad[i].says);
        has(err.message, "OTEL_EXPORTER_OTLP_ENDPOINT");
    }
    write_file("lambda_worker.cfg", "otel_export_timeout_ms = 5;\n");
    assert_int_equal(validate_env(ENV("TEMPORAL_TASK_QUEUE=q"), &err), TLW_ERR_INVALID);
    has(err.message, "lambda_worker.cfg:1: otel_export_timeout_ms = 5 is out of range");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(defaults_without_any_source, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(default_profile_from_the_working_directory, enter_tmpdir,
                                        leave_tmpdir),
        cmocka_unit_test_setup_teardown(environment_beats_the_file, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(named_profile_api_key_turns_tls_on, enter_tmpdir,
                                        leave_tmpdir),
        cmocka_unit_test_setup_teardown(missing_named_profile_lists_the_profiles, enter_tmpdir,
                                        leave_tmpdir),
        cmocka_unit_test_setup_teardown(named_config_file_must_exist, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(lambda_task_root_is_searched_first, enter_tmpdir,
                                        leave_tmpdir),
        cmocka_unit_test_setup_teardown(file_errors_point_at_line_and_column, enter_tmpdir,
                                        leave_tmpdir),
        cmocka_unit_test_setup_teardown(pem_files_are_read_at_load_time, enter_tmpdir,
                                        leave_tmpdir),
        cmocka_unit_test_setup_teardown(grpc_meta_from_the_environment, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(grpc_meta_is_checked_before_any_fork, enter_tmpdir,
                                        leave_tmpdir),
        cmocka_unit_test_setup_teardown(credentials_need_tls_or_the_opt_in, enter_tmpdir,
                                        leave_tmpdir),
        cmocka_unit_test_setup_teardown(bad_booleans_in_the_environment, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(envconfig_errors_never_print_a_value, enter_tmpdir,
                                        leave_tmpdir),
        cmocka_unit_test_setup_teardown(codec_is_accepted_with_a_warning, enter_tmpdir,
                                        leave_tmpdir),
        cmocka_unit_test_setup_teardown(tuning_file_and_its_sources, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(tuning_file_errors_name_the_line, enter_tmpdir,
                                        leave_tmpdir),
        cmocka_unit_test_setup_teardown(validation_rules, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(deployment_version_is_required, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(print_config_redacts_secrets, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(every_workflow_needs_a_versioning_behavior, enter_tmpdir,
                                        leave_tmpdir),
        cmocka_unit_test_setup_teardown(bad_versioning_behaviors_are_refused, enter_tmpdir,
                                        leave_tmpdir),
        cmocka_unit_test_setup_teardown(every_setter_wins_and_refuses_bad_values, enter_tmpdir,
                                        leave_tmpdir),
        cmocka_unit_test_setup_teardown(grpc_meta_from_code, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(s3_storage_settings, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(otel_settings_from_every_source, enter_tmpdir,
                                        leave_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
