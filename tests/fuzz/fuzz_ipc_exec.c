/*
 * Fuzzes the decoder of executor -> slot messages. Besides "never crash",
 * it checks that whatever it accepts is a canonical message: written again
 * with tlw_ipc_exec_write, it gives exactly the bytes it was decoded from.
 */
#define _GNU_SOURCE
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ipc/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlw_ipc_exec_msg msg;
    size_t used = 0;
    tlw_error err;
    if (tlw_ipc_exec_decode(data, size, &used, &msg, &err) != TLW_OK || used == 0)
        return 0;
    if (used > size)
        abort();
    static int fd = -1;
    if (fd < 0)
        fd = memfd_create("exec", 0);
    if (fd < 0 || ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
        abort();
    if (tlw_ipc_exec_write(fd, &msg, &err) != TLW_OK)
        abort();
    off_t written = lseek(fd, 0, SEEK_CUR);
    if (written != (off_t)used)
        abort();
    uint8_t *again = malloc(used);
    if (pread(fd, again, used, 0) != (ssize_t)used || memcmp(again, data, used) != 0)
        abort();
    free(again);
    return 0;
}
