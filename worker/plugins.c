#include "config.h"

#include "worker/plugins.h"

#ifndef TLW_DYNAMIC_PLUGINS

/* The internal static library: worker/rpc.c and worker/s3.c are linked in. */

tlw_status tlw_plugin_load(tlw_plugin which, tlw_error *err)
{
    (void)which;
    (void)err;
    return TLW_OK;
}

#else /* libtlw.so */

#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

static const struct {
    const char *file, *symbol;
} modules[] = {
    [TLW_PLUGIN_GRPC] = {"libtlw-grpc.so", TLW_GRPC_PLUGIN_SYMBOL},
    [TLW_PLUGIN_S3] = {"libtlw-s3.so", TLW_S3_PLUGIN_SYMBOL},
};

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static const void *tables[2];
static tlw_rpc_observer pending_observer;

/* The module beside libtlw.so, else the one the library search path finds. */
static void *open_module(const char *file, char *why, size_t size)
{
    Dl_info self;
    if (dladdr((void *)tlw_plugin_load, &self) && self.dli_fname) {
        const char *slash = strrchr(self.dli_fname, '/');
        char path[PATH_MAX];
        if (slash && snprintf(path, sizeof path, "%.*s/%s", (int)(slash - self.dli_fname),
                              self.dli_fname, file) < (int)sizeof path) {
            void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
            if (h)
                return h;
            snprintf(why, size, "%s", dlerror());
        }
    }
    void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!h && !why[0])
        snprintf(why, size, "%s", dlerror());
    return h;
}

/* Whether [start, end) overlaps a writable segment or the RELRO range of
 * the object `info` describes: pages there may be relocated copies. */
static bool overlaps_written(const struct dl_phdr_info *info, uintptr_t start, uintptr_t end)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_GNU_RELRO && !(ph->p_type == PT_LOAD && (ph->p_flags & PF_W)))
            continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        if (s < end && start < e)
            return true;
    }
    return false;
}

/* Drops this process's pages of an object's first, read-only segment: the
 * dynamic symbol and relocation tables the loader read to relocate it.
 * With every object bound (RTLD_NOW, -z now) nothing reads them again but
 * dlsym and dladdr, for which they come back from the page cache. */
static int drop_loader_tables(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    if (info->dlpi_name && strstr(info->dlpi_name, "linux-vdso"))
        return 0;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || ph->p_offset != 0 || (ph->p_flags & (PF_W | PF_X)))
            continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        uintptr_t end = (start + ph->p_filesz) & ~(page - 1);
        if (start % page == 0 && end > start && !overlaps_written(info, start, end))
            madvise((void *)start, end - start, MADV_DONTNEED);
    }
    return 0;
}

tlw_status tlw_plugin_load(tlw_plugin which, tlw_error *err)
{
    pthread_mutex_lock(&load_lock);
    tlw_status st = TLW_OK;
    if (!tables[which]) {
        char why[512] = "";
        void *h = open_module(modules[which].file, why, sizeof why);
        const unsigned *table = h ? dlsym(h, modules[which].symbol) : NULL;
        if (!table || *table != TLW_PLUGIN_ABI) {
            if (h && !table)
                snprintf(why, sizeof why, "it has no %s", modules[which].symbol);
            else if (h)
                snprintf(why, sizeof why, "it is from another version of tlw");
            st = tlw_error_set(err, TLW_ERR_INTERNAL,
                               "cannot load %s (%s): it is installed beside libtlw.so (make "
                               "install puts it there; tlw-package puts it in the package's lib/)",
                               modules[which].file, why);
            if (h)
                dlclose(h);
        } else {
            tables[which] = table;
            /* Loading gRPC read some MiB of tables this process (and the
             * slots it forks) has no more use for. */
            dl_iterate_phdr(drop_loader_tables, NULL);
            if (which == TLW_PLUGIN_GRPC && pending_observer)
                ((const tlw_grpc_plugin *)table)->set_observer(pending_observer);
        }
    }
    pthread_mutex_unlock(&load_lock);
    return st;
}

/* The table of a module that is loaded; NULL if it is not. */
static const void *loaded(tlw_plugin which)
{
    pthread_mutex_lock(&load_lock);
    const void *t = tables[which];
    pthread_mutex_unlock(&load_lock);
    return t;
}

/* A client exists only once its module is loaded. */
static const tlw_grpc_plugin *grpc(void)
{
    return loaded(TLW_PLUGIN_GRPC);
}

static const tlw_s3_plugin *s3(void)
{
    return loaded(TLW_PLUGIN_S3);
}

/* ---- worker/rpc.h ---------------------------------------------------------------- */

tlw_status tlw_rpc_client_open(const tlw_rpc_connect_options *opts, tlw_rpc_client **out,
                               tlw_error *err)
{
    *out = NULL;
    tlw_status st = tlw_plugin_load(TLW_PLUGIN_GRPC, err);
    return st ? st : grpc()->client_open(opts, out, err);
}

void tlw_rpc_client_close(tlw_rpc_client *client)
{
    if (client)
        grpc()->client_close(client);
}

const char *tlw_rpc_client_address(const tlw_rpc_client *client)
{
    return grpc()->client_address(client);
}

tlw_status tlw_rpc_call(tlw_rpc_client *client, const char *method, const ProtobufCMessage *request,
                        const ProtobufCMessageDescriptor *response_type,
                        ProtobufCMessage **response, const tlw_rpc_call_options *opts,
                        tlw_error *err)
{
    return grpc()->call(client, method, request, response_type, response, opts, err);
}

void tlw_rpc_set_observer(tlw_rpc_observer observer)
{
    pthread_mutex_lock(&load_lock);
    pending_observer = observer;
    pthread_mutex_unlock(&load_lock);
    if (grpc())
        grpc()->set_observer(observer);
}

/* ---- worker/s3.h ------------------------------------------------------------------ */

tlw_status tlw_s3_open(const tlw_s3_config *config, tlw_s3_client **out, tlw_error *err)
{
    *out = NULL;
    tlw_status st = tlw_plugin_load(TLW_PLUGIN_S3, err);
    return st ? st : s3()->open(config, out, err);
}

void tlw_s3_close(tlw_s3_client *c)
{
    if (c)
        s3()->close(c);
}

tlw_status tlw_s3_head(tlw_s3_client *c, const char *bucket, const char *key, int64_t deadline_ms,
                       bool *exists, tlw_error *err)
{
    return s3()->head(c, bucket, key, deadline_ms, exists, err);
}

tlw_status tlw_s3_put(tlw_s3_client *c, const char *bucket, const char *key, const void *data,
                      size_t len, const char *sha256_hex, int64_t deadline_ms, tlw_error *err)
{
    return s3()->put(c, bucket, key, data, len, sha256_hex, deadline_ms, err);
}

tlw_status tlw_s3_get(tlw_s3_client *c, const char *bucket, const char *key, size_t max,
                      int64_t deadline_ms, tlw_buffer *out, tlw_error *err)
{
    return s3()->get(c, bucket, key, max, deadline_ms, out, err);
}

/* Called after a client was opened (worker/storage.c opens it first). */
void tlw_s3_sha256_hex(const void *bytes, size_t len, char hex[TLW_S3_HEX_SIZE])
{
    s3()->sha256_hex(bytes, len, hex);
}

#endif
