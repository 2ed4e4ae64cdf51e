#include "config.h"

#include "common/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

tlw_status tlw_read_file(const char *path, const char *what, size_t max_bytes, char **out,
                         size_t *len, tlw_error *err)
{
    *out = NULL;
    if (len)
        *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return tlw_error_set(err, TLW_ERR_IO, "cannot open %s %s: %s", what, path,
                             strerror(errno));
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap);
    tlw_status st = TLW_OK;
    while (buf) {
        if (used + 1 >= cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + used, 1, cap - used - 1, f);
        used += n;
        if (used > max_bytes) {
            st = tlw_error_set(err, TLW_ERR_INVALID, "%s %s is larger than %zu bytes", what, path,
                               max_bytes);
            break;
        }
        if (n == 0) {
            if (ferror(f))
                st = tlw_error_set(err, TLW_ERR_IO, "cannot read %s %s: %s", what, path,
                                   strerror(errno));
            break;
        }
    }
    fclose(f);
    if (!buf)
        return tlw_error_set(err, TLW_ERR_NOMEM, "out of memory reading %s %s", what, path);
    if (st != TLW_OK) {
        free(buf);
        return st;
    }
    buf[used] = '\0';
    *out = buf;
    if (len)
        *len = used;
    return TLW_OK;
}
