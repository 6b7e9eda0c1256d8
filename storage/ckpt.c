/* storage/ckpt.c -- see ckpt.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "storage/ckpt.h"
#include "storage/err.h"
#include "storage/fsio.h"
#include "storage/log.h"

int
ckpt_write(const char *path, const void *data, size_t len)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    int fd, rc;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return SL_ERR__INVALID_ARG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        SL_ERROR("ckpt", "open %s: %s", tmp, strerror(errno));
        return sl_err_from_errno(errno);
    }
    rc = fsio_pwrite_all(fd, data, len, 0, tmp);
    if (rc == 0)
        rc = fsio_fdatasync(fd, tmp);
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0) {
        SL_ERROR("ckpt", "rename %s: %s", path, strerror(errno));
        rc = sl_err_from_errno(errno);
    }
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    return fsio_fsync_dir(dirname(dir));
}

int
ckpt_read(const char *path, char *buf, size_t max, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    size_t got = 0;

    if (fd < 0)
        return errno == ENOENT ? SL_ERR__NOENT : sl_err_from_errno(errno);
    while (got <= max) {
        n = read(fd, buf + got, max + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (n < 0)
        return SL_ERR__IO;
    if (got > max)
        return SL_ERR__CORRUPT;
    buf[got] = '\0';
    *len = got;
    return 0;
}
