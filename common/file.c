#include "config.h"

#include "common/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buffer.h"
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
    tlw_buffer buf = {0};
    tlw_status st = TLW_OK;
    for (;;) {
        if (!tlw_buffer_reserve(&buf, 4096)) {
            st = tlw_error_set(err, TLW_ERR_NOMEM, "out of memory reading %s %s", what, path);
            break;
        }
        size_t n = fread(buf.data + buf.len, 1, tlw_buffer_room(&buf), f);
        tlw_buffer_added(&buf, n);
        if (buf.len > max_bytes) {
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
    if (st != TLW_OK) {
        tlw_buffer_free(&buf);
        return st;
    }
    *out = buf.data;
    if (len)
        *len = buf.len;
    return TLW_OK;
}
