/* storage/fsio.c -- see fsio.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include "storage/err.h"
#include "storage/fsio.h"
#include "storage/log.h"

enum { FAULT_NONE, FAULT_WRITE, FAULT_SYNC };
static _Atomic int fault_op;
static _Atomic long fault_countdown;
static int fault_errno;
static size_t fault_partial;

void
fsio_fault_arm(const char *op, long nth, int errnum, size_t partial_bytes)
{
    fault_errno = errnum;
    fault_partial = partial_bytes;
    atomic_store(&fault_countdown, nth);
    atomic_store(&fault_op, strcmp(op, "sync") == 0 ? FAULT_SYNC : FAULT_WRITE);
}

void
fsio_fault_clear(void)
{
    atomic_store(&fault_op, FAULT_NONE);
}

/* 1 if this call of op is the one armed to fail. */
static int
fault_hit(int op)
{
    if (atomic_load_explicit(&fault_op, memory_order_relaxed) != op)
        return 0;
    if (atomic_fetch_sub(&fault_countdown, 1) != 1)
        return 0;
    atomic_store(&fault_op, FAULT_NONE);
    return 1;
}

static int
fail(const char *call, const char *what, int errnum)
{
    SL_ERROR("fsio", "%s %s: %s", call, what, strerror(errnum));
    return sl_err_from_errno(errnum);
}

int
fsio_pwrite_all(int fd, const void *buf, size_t len, off_t pos, const char *what)
{
    const char *p = buf;

    if (fault_hit(FAULT_WRITE)) {
        size_t part = fault_partial < len ? fault_partial : len;
        if (part && pwrite(fd, p, part, pos) < 0)
            return fail("pwrite", what, errno);
        return fail("pwrite", what, fault_errno);
    }
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, pos);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail("pwrite", what, errno);
        }
        if (n == 0)
            return fail("pwrite", what, EIO);
        p += n;
        pos += n;
        len -= (size_t)n;
    }
    return 0;
}

int
fsio_pread_all(int fd, void *buf, size_t len, off_t pos, const char *what)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = pread(fd, p, len, pos);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail("pread", what, errno);
        }
        if (n == 0)
            return SL_ERR__UNDERFLOW;
        p += n;
        pos += n;
        len -= (size_t)n;
    }
    return 0;
}

int
fsio_fdatasync(int fd, const char *what)
{
    if (fault_hit(FAULT_SYNC))
        return fail("fdatasync", what, fault_errno);
    if (fdatasync(fd) < 0)
        return fail("fdatasync", what, errno);
    return 0;
}

int
fsio_ftruncate(int fd, off_t len, const char *what)
{
    while (ftruncate(fd, len) < 0) {
        if (errno != EINTR)
            return fail("ftruncate", what, errno);
    }
    return 0;
}

int
fsio_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return fail("open", dir, errno);
    if (fsync(fd) < 0)
        rc = fail("fsync", dir, errno);
    close(fd);
    return rc;
}
