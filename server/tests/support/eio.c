/*
 * Fault injection for server/tests/io_errors.rs: loaded into a real `mpaka`
 * process with LD_PRELOAD, it makes write(2), pwrite(2) and fsync(2) on
 * files whose path contains $EIO_MATCH fail with EIO for as long as the file
 * named by $EIO_FLAG exists, the way a failing disk or a dropped iSCSI or
 * SD-card link answers. Everything else passes through to libc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int failing(int fd) {
    const char *flag = getenv("EIO_FLAG");
    const char *match = getenv("EIO_MATCH");
    if (!flag || !match || access(flag, F_OK) != 0) return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return 0;
    path[n] = 0;
    return strstr(path, match) != NULL;
}

#define FAILABLE(ret, name, params, args)                 \
    ret name params {                                     \
        static ret(*real) params;                         \
        if (!real) real = (ret(*) params)dlsym(RTLD_NEXT, #name); \
        if (failing(fd)) {                                \
            errno = EIO;                                  \
            return -1;                                    \
        }                                                 \
        return real args;                                 \
    }

FAILABLE(ssize_t, write, (int fd, const void *buf, size_t n), (fd, buf, n))
FAILABLE(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t at), (fd, buf, n, at))
FAILABLE(ssize_t, pwrite64, (int fd, const void *buf, size_t n, off64_t at), (fd, buf, n, at))
FAILABLE(int, fsync, (int fd), (fd))
FAILABLE(int, fdatasync, (int fd), (fd))
