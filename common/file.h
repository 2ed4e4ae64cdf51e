/* Reading small files whole (certificates, settings). */
#ifndef TLW_COMMON_FILE_H
#define TLW_COMMON_FILE_H

#include <stddef.h>

#include <tlw/lambda_worker.h>

/*
 * Reads the file at `path`, at most `max_bytes`, into a NUL-terminated buffer
 * that the caller frees. `what` names the file in errors ("the server CA
 * certificate"). The file's contents never appear in an error.
 */
tlw_status tlw_read_file(const char *path, const char *what, size_t max_bytes, char **out,
                         size_t *len, tlw_error *err);

#endif
