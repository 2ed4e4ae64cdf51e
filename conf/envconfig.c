/*
 * Temporal's standard client configuration ("envconfig"), as every SDK and
 * the temporal CLI read it: a profile of temporal.toml, then TEMPORAL_*
 * variables over it.
 *
 * File: $TEMPORAL_CONFIG_FILE (must exist), else $LAMBDA_TASK_ROOT/temporal.toml,
 * else ./temporal.toml (either may be absent). Profile: $TEMPORAL_PROFILE
 * (must exist in the file), else "default" (may be absent).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "common/file.h"
#include "conf/settings.h"
#include "conf/toml.h"

#define TOML_MAX_BYTES (1024 * 1024)
#define PEM_MAX_BYTES (1024 * 1024)
/* How errors name temporal.toml. */
#define TEMPORAL_FILE_WHAT "the Temporal config file"

/* The three PEM items, each given as a path or as inline data. */
static const struct pem_item {
    const char *what;     /* for messages */
    const char *toml_key; /* "client_cert" -> client_cert_path / client_cert_data */
    const char *env_path;
    const char *env_data;
    size_t offset; /* in tlw_client_settings */
} pem_items[] = {
    {"the server CA certificate", "server_ca_cert", "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
     "TEMPORAL_TLS_SERVER_CA_CERT_DATA", offsetof(tlw_client_settings, server_ca_pem)},
    {"the client certificate", "client_cert", "TEMPORAL_TLS_CLIENT_CERT_PATH",
     "TEMPORAL_TLS_CLIENT_CERT_DATA", offsetof(tlw_client_settings, client_cert_pem)},
    {"the client private key", "client_key", "TEMPORAL_TLS_CLIENT_KEY_PATH",
     "TEMPORAL_TLS_CLIENT_KEY_DATA", offsetof(tlw_client_settings, client_key_pem)},
};

static tlw_str_setting *pem_field(tlw_settings *s, const struct pem_item *item)
{
    return (tlw_str_setting *)((char *)&s->client + item->offset);
}

tlw_status tlw_pem_setting_read(tlw_str_setting *field, const char *what, const char *path,
                                const tlw_source *where, tlw_error *err)
{
    char *data;
    size_t len;
    tlw_status st = tlw_read_file(path, what, PEM_MAX_BYTES, &data, &len, err);
    if (st)
        return tlw_error_prefix(err, "%s: ", where->where);
    tlw_source source;
    tlw_source_set(&source, where->kind, "%s (%s)", where->where, path);
    st = tlw_str_setting_set(field, data, len, &source, err);
    memset(data, 0, len);
    free(data);
    return st;
}

/* The metadata key a file key or a TEMPORAL_GRPC_META_ variable's name
 * stands for: lower case, and from a variable '_' read as '-'. The caller
 * frees it; NULL when out of memory. */
static char *meta_key(const char *name, size_t len, bool from_env)
{
    char *key = malloc(len + 1);
    if (!key)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (from_env && ch == '_')
            ch = '-';
        else if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        key[i] = ch;
    }
    key[len] = '\0';
    return key;
}

tlw_status tlw_meta_setting_set(tlw_client_settings *c, const char *key, const char *value,
                                const tlw_source *source, tlw_error *err)
{
    for (size_t i = 0; i < c->meta_count; i++) {
        if (strcmp(c->meta[i].key, key) != 0)
            continue;
        free(c->meta[i].value);
        if (!value) {
            free(c->meta[i].key);
            c->meta[i] = c->meta[--c->meta_count];
            return TLW_OK;
        }
        c->meta[i].value = strdup(value);
        c->meta[i].source = *source;
        return c->meta[i].value ? TLW_OK
                                : tlw_error_set(err, TLW_ERR_NOMEM, "out of memory (%s)",
                                                source->where);
    }
    if (!value)
        return TLW_OK;
    tlw_meta_setting *grown = realloc(c->meta, (c->meta_count + 1) * sizeof *grown);
    if (!grown)
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory (%s)", source->where);
    c->meta = grown;
    tlw_meta_setting *m = &c->meta[c->meta_count];
    m->key = strdup(key);
    m->value = strdup(value);
    m->source = *source;
    if (!m->key || !m->value) {
        free(m->key);
        free(m->value);
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory (%s)", source->where);
    }
    c->meta_count++;
    return TLW_OK;
}

/* ---- the file --------------------------------------------------------- */

struct file_ctx {
    tlw_settings *s;
    const char *path;
};

static void where_of(const struct file_ctx *f, const tlw_toml_value *v, tlw_source *out)
{
    tlw_source_set(out, TLW_SOURCE_FILE, "%s:%d", f->path, tlw_toml_line(v));
}

static tlw_status type_error(const struct file_ctx *f, const tlw_toml_value *v, const char *table,
                             const char *key, const char *want, tlw_error *err)
{
    return tlw_error_set(err, TLW_ERR_INVALID, "%s:%d:%d: %s in [%s] must be %s, not %s", f->path,
                         tlw_toml_line(v), tlw_toml_column(v), key, table, want,
                         tlw_toml_type_name(tlw_toml_type_of(v)));
}

static tlw_status file_string(const struct file_ctx *f, const char *table, const char *key,
                              const tlw_toml_value *v, tlw_str_setting *field, tlw_error *err)
{
    if (tlw_toml_type_of(v) != TLW_TOML_STRING)
        return type_error(f, v, table, key, "a string", err);
    size_t len;
    const char *text = tlw_toml_string(v, &len);
    tlw_source source;
    where_of(f, v, &source);
    return tlw_str_setting_set(field, text, len, &source, err);
}

static tlw_status file_bool(const struct file_ctx *f, const char *table, const char *key,
                            const tlw_toml_value *v, tlw_int_setting *field, bool invert,
                            tlw_error *err)
{
    if (tlw_toml_type_of(v) != TLW_TOML_BOOL)
        return type_error(f, v, table, key, "true or false", err);
    field->value = tlw_toml_bool(v) != invert;
    where_of(f, v, &field->source);
    return TLW_OK;
}

/* Levenshtein distance <= 2 makes a key worth suggesting. */
static bool close_to(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40 || (la > lb ? la - lb : lb - la) > 2)
        return false;
    unsigned d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (unsigned)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            unsigned sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            unsigned del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb] <= 2;
}

static tlw_status unknown_key(const struct file_ctx *f, const tlw_toml_value *v, const char *table,
                              const char *key, const char *const *known, tlw_error *err)
{
    const char *hint = NULL;
    for (const char *const *k = known; *k; k++)
        if (close_to(key, *k))
            hint = *k;
    if (hint)
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "%s:%d:%d: unknown key \"%s\" in [%s]; did you mean \"%s\"?", f->path,
                             tlw_toml_line(v), tlw_toml_column(v), key, table, hint);
    return tlw_error_set(err, TLW_ERR_INVALID, "%s:%d:%d: unknown key \"%s\" in [%s]", f->path,
                         tlw_toml_line(v), tlw_toml_column(v), key, table);
}

static tlw_status file_tls_table(const struct file_ctx *f, const char *table,
                                 const tlw_toml_value *tls, tlw_error *err)
{
    static const char *const known[] = {
        "disabled",         "server_name",         "disable_host_verification",
        "client_cert_path", "client_cert_data",    "client_key_path",
        "client_key_data",  "server_ca_cert_path", "server_ca_cert_data",
        NULL,
    };
    tlw_client_settings *c = &f->s->client;
    for (size_t i = 0; i < tlw_toml_table_size(tls); i++) {
        const char *key = tlw_toml_table_key(tls, i);
        const tlw_toml_value *v = tlw_toml_table_value(tls, i);
        tlw_status st = TLW_OK;
        if (strcmp(key, "disabled") == 0)
            st = file_bool(f, table, key, v, &c->tls_explicit, true, err);
        else if (strcmp(key, "server_name") == 0)
            st = file_string(f, table, key, v, &c->server_name, err);
        else if (strcmp(key, "disable_host_verification") == 0)
            st = file_bool(f, table, key, v, &c->disable_host_verification, false, err);
        else {
            const struct pem_item *item = NULL;
            bool is_path = false;
            for (size_t j = 0; j < sizeof pem_items / sizeof pem_items[0]; j++) {
                size_t n = strlen(pem_items[j].toml_key);
                if (strncmp(key, pem_items[j].toml_key, n) == 0 &&
                    (strcmp(key + n, "_path") == 0 || strcmp(key + n, "_data") == 0)) {
                    item = &pem_items[j];
                    is_path = strcmp(key + n, "_path") == 0;
                }
            }
            if (!item)
                return unknown_key(f, v, table, key, known, err);
            if (tlw_toml_type_of(v) != TLW_TOML_STRING)
                return type_error(f, v, table, key, "a string", err);
            char other[64];
            snprintf(other, sizeof other, "%s_%s", item->toml_key, is_path ? "data" : "path");
            if (tlw_toml_table_get(tls, other))
                return tlw_error_set(err, TLW_ERR_INVALID,
                                     "%s:%d:%d: [%s] has both %s_path and %s_data; give one",
                                     f->path, tlw_toml_line(v), tlw_toml_column(v), table,
                                     item->toml_key, item->toml_key);
            tlw_source source;
            where_of(f, v, &source);
            size_t len;
            const char *text = tlw_toml_string(v, &len);
            if (is_path)
                st = tlw_pem_setting_read(pem_field(f->s, item), item->what, text, &source, err);
            else
                st = tlw_str_setting_set(pem_field(f->s, item), text, len, &source, err);
        }
        if (st)
            return st;
    }
    return TLW_OK;
}

static tlw_status file_profile(const struct file_ctx *f, const char *name,
                               const tlw_toml_value *profile, tlw_error *err)
{
    static const char *const known[] = {"address", "namespace", "api_key", "tls", "grpc_meta",
                                        "codec", NULL};
    char table[160];
    snprintf(table, sizeof table, "profile.%s", name);
    tlw_client_settings *c = &f->s->client;
    for (size_t i = 0; i < tlw_toml_table_size(profile); i++) {
        const char *key = tlw_toml_table_key(profile, i);
        const tlw_toml_value *v = tlw_toml_table_value(profile, i);
        tlw_status st = TLW_OK;
        if (strcmp(key, "address") == 0) {
            st = file_string(f, table, key, v, &c->address, err);
        } else if (strcmp(key, "namespace") == 0) {
            st = file_string(f, table, key, v, &c->namespace_name, err);
        } else if (strcmp(key, "api_key") == 0) {
            st = file_string(f, table, key, v, &c->api_key, err);
        } else if (strcmp(key, "tls") == 0) {
            if (tlw_toml_type_of(v) == TLW_TOML_BOOL) {
                st = file_bool(f, table, key, v, &c->tls_explicit, false, err);
            } else if (tlw_toml_type_of(v) == TLW_TOML_TABLE) {
                char sub[200];
                snprintf(sub, sizeof sub, "%s.tls", table);
                st = file_tls_table(f, sub, v, err);
            } else {
                st = type_error(f, v, table, key, "true, false or a table", err);
            }
        } else if (strcmp(key, "grpc_meta") == 0) {
            if (tlw_toml_type_of(v) != TLW_TOML_TABLE)
                return type_error(f, v, table, key, "a table", err);
            char sub[200];
            snprintf(sub, sizeof sub, "%s.grpc_meta", table);
            for (size_t j = 0; j < tlw_toml_table_size(v) && st == TLW_OK; j++) {
                const tlw_toml_value *mv = tlw_toml_table_value(v, j);
                if (tlw_toml_type_of(mv) != TLW_TOML_STRING)
                    return type_error(f, mv, sub, tlw_toml_table_key(v, j), "a string", err);
                tlw_source source;
                where_of(f, mv, &source);
                const char *written = tlw_toml_table_key(v, j);
                char *mkey = meta_key(written, strlen(written), false);
                st = mkey ? tlw_meta_setting_set(c, mkey, tlw_toml_string(mv, NULL), &source, err)
                          : tlw_error_set(err, TLW_ERR_NOMEM, "out of memory (%s)", source.where);
                free(mkey);
            }
        } else if (strcmp(key, "codec") == 0) {
            tlw_settings_warn(f->s,
                              "%s:%d: [%s] codec is accepted but not used: tlw has no remote "
                              "codec support, payloads are sent as they are",
                              f->path, tlw_toml_line(v), table);
        } else {
            return unknown_key(f, v, table, key, known, err);
        }
        if (st)
            return st;
    }
    return TLW_OK;
}

static tlw_status load_file(tlw_settings *s, const char *path, const char *profile_name,
                            bool profile_named, tlw_error *err)
{
    char *text;
    size_t len;
    tlw_status st = tlw_read_file(path, TEMPORAL_FILE_WHAT, TOML_MAX_BYTES, &text, &len, err);
    if (st)
        return st;
    tlw_toml_value *root = NULL;
    st = tlw_toml_parse(text, len, path, &root, err);
    free(text);
    if (st)
        return st;

    struct file_ctx f = {.s = s, .path = path};
    const tlw_toml_value *profiles = tlw_toml_table_get(root, "profile");
    for (size_t i = 0; i < tlw_toml_table_size(root); i++) {
        const char *key = tlw_toml_table_key(root, i);
        if (strcmp(key, "profile") != 0)
            tlw_settings_warn(s, "%s:%d: top-level key \"%s\" is not used (settings go under "
                                 "[profile.NAME])",
                              path, tlw_toml_line(tlw_toml_table_value(root, i)), key);
    }
    if (profiles && tlw_toml_type_of(profiles) != TLW_TOML_TABLE) {
        st = tlw_error_set(err, TLW_ERR_INVALID, "%s:%d:%d: profile must be a table of profiles",
                           path, tlw_toml_line(profiles), tlw_toml_column(profiles));
        goto out;
    }
    const tlw_toml_value *profile = profiles ? tlw_toml_table_get(profiles, profile_name) : NULL;
    if (!profile) {
        if (profile_named) {
            char names[256] = "";
            for (size_t i = 0; profiles && i < tlw_toml_table_size(profiles); i++) {
                strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1);
                strncat(names, tlw_toml_table_key(profiles, i), sizeof names - strlen(names) - 1);
            }
            st = tlw_error_set(err, TLW_ERR_INVALID,
                               "TEMPORAL_PROFILE names profile \"%s\", which %s does not have "
                               "(profiles there: %s); fix TEMPORAL_PROFILE or add "
                               "[profile.%s]",
                               profile_name, path, names[0] ? names : "none", profile_name);
        }
        goto out;
    }
    if (tlw_toml_type_of(profile) != TLW_TOML_TABLE) {
        st = tlw_error_set(err, TLW_ERR_INVALID, "%s:%d:%d: profile.%s must be a table", path,
                           tlw_toml_line(profile), tlw_toml_column(profile), profile_name);
        goto out;
    }
    st = file_profile(&f, profile_name, profile, err);
out:
    tlw_toml_free(root);
    return st;
}

/* ---- the environment ------------------------------------------------- */

/* The value is not quoted in the error: a variable set by mistake may hold
 * a secret (an API key pasted into the wrong one). */
static tlw_status env_bool(const char *name, const char *text, int64_t *out, tlw_error *err)
{
    if (strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0)
        *out = 1;
    else if (strcasecmp(text, "false") == 0 || strcmp(text, "0") == 0)
        *out = 0;
    else
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "%s is not a boolean; set it to true or false (or 1 or 0)", name);
    return TLW_OK;
}

static tlw_status env_string(char *const *envp, const char *name, tlw_str_setting *field,
                             tlw_error *err)
{
    const char *v = tlw_env_get(envp, name);
    if (!v || !*v)
        return TLW_OK;
    tlw_source source;
    tlw_source_set(&source, TLW_SOURCE_ENV, "%s", name);
    return tlw_str_setting_set(field, v, strlen(v), &source, err);
}

static tlw_status load_env(tlw_settings *s, char *const *envp, tlw_error *err)
{
    tlw_client_settings *c = &s->client;
    tlw_status st;
    if ((st = env_string(envp, "TEMPORAL_ADDRESS", &c->address, err)) ||
        (st = env_string(envp, "TEMPORAL_NAMESPACE", &c->namespace_name, err)) ||
        (st = env_string(envp, "TEMPORAL_API_KEY", &c->api_key, err)) ||
        (st = env_string(envp, "TEMPORAL_TLS_SERVER_NAME", &c->server_name, err)))
        return st;

    static const struct {
        const char *name;
        size_t offset;
    } bools[] = {
        {"TEMPORAL_TLS", offsetof(tlw_client_settings, tls_explicit)},
        {"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION",
         offsetof(tlw_client_settings, disable_host_verification)},
    };
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        const char *v = tlw_env_get(envp, bools[i].name);
        if (!v || !*v)
            continue;
        tlw_int_setting *field = (tlw_int_setting *)((char *)c + bools[i].offset);
        if ((st = env_bool(bools[i].name, v, &field->value, err)))
            return st;
        tlw_source_set(&field->source, TLW_SOURCE_ENV, "%s", bools[i].name);
    }

    for (size_t i = 0; i < sizeof pem_items / sizeof pem_items[0]; i++) {
        const struct pem_item *item = &pem_items[i];
        const char *path = tlw_env_get(envp, item->env_path);
        const char *data = tlw_env_get(envp, item->env_data);
        if (path && !*path)
            path = NULL;
        if (data && !*data)
            data = NULL;
        if (path && data)
            return tlw_error_set(err, TLW_ERR_INVALID, "both %s and %s are set; set one",
                                 item->env_path, item->env_data);
        tlw_source source;
        if (path) {
            tlw_source_set(&source, TLW_SOURCE_ENV, "%s", item->env_path);
            st = tlw_pem_setting_read(pem_field(s, item), item->what, path, &source, err);
        } else if (data) {
            tlw_source_set(&source, TLW_SOURCE_ENV, "%s", item->env_data);
            st = tlw_str_setting_set(pem_field(s, item), data, strlen(data), &source, err);
        }
        if (st)
            return st;
    }

    static const char meta_prefix[] = "TEMPORAL_GRPC_META_";
    for (char *const *e = envp; e && *e; e++) {
        if (strncmp(*e, meta_prefix, sizeof meta_prefix - 1) != 0)
            continue;
        const char *name = *e + sizeof meta_prefix - 1;
        const char *eq = strchr(name, '=');
        if (!eq || eq == name)
            continue;
        tlw_source source;
        tlw_source_set(&source, TLW_SOURCE_ENV, "%.*s", (int)(eq - *e), *e);
        char *key = meta_key(name, (size_t)(eq - name), true);
        if (!key)
            return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory (%s)", source.where);
        /* An empty variable removes the header the file set. Whether the key
         * is one gRPC accepts is checked with the other settings
         * (tlw_settings_validate_client). */
        st = tlw_meta_setting_set(c, key, eq[1] ? eq + 1 : NULL, &source, err);
        free(key);
        if (st)
            return st;
    }

    if (tlw_env_get(envp, "TEMPORAL_CODEC_ENDPOINT") || tlw_env_get(envp, "TEMPORAL_CODEC_AUTH"))
        tlw_settings_warn(s, "TEMPORAL_CODEC_ENDPOINT/TEMPORAL_CODEC_AUTH are accepted but not "
                             "used: tlw has no remote codec support");
    return TLW_OK;
}

tlw_status tlw_envconfig_load(tlw_settings *s, char *const *envp, tlw_error *err)
{
    const char *profile = tlw_env_get(envp, "TEMPORAL_PROFILE");
    bool profile_named = profile && *profile;
    if (profile_named) {
        tlw_source source = {.kind = TLW_SOURCE_ENV, .where = "TEMPORAL_PROFILE"};
        tlw_status st = tlw_str_setting_set(&s->client.profile, profile, strlen(profile), &source, err);
        if (st)
            return st;
    }
    char path[PATH_MAX];
    bool found;
    tlw_source found_by;
    tlw_status st = tlw_settings_find_file(envp, TLW_TEMPORAL_FILE_ENV, TLW_TEMPORAL_FILE_NAME,
                                           TEMPORAL_FILE_WHAT, path, sizeof path, &found,
                                           &found_by, err);
    if (st == TLW_OK && found) {
        st = tlw_str_setting_set(&s->client.config_file, path, strlen(path), &found_by, err);
        if (st == TLW_OK)
            st = load_file(s, path, s->client.profile.value, profile_named, err);
    } else if (st == TLW_OK && profile_named) {
        st = tlw_error_set(err, TLW_ERR_INVALID,
                           "TEMPORAL_PROFILE names profile \"%s\", but there is no config file "
                           "(TEMPORAL_CONFIG_FILE is unset, and there is no temporal.toml in "
                           "$LAMBDA_TASK_ROOT or the working directory)",
                           profile);
    }
    if (st == TLW_OK)
        st = load_env(s, envp, err);
    return st;
}
