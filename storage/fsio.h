/* storage/fsio.h -- the only place segment data is written, read or synced.
 *
 * Thin wrappers over pwrite/pread/fdatasync that retry EINTR and short
 * transfers and turn errno into an sl_err code (logging the errno where it
 * happened). They are also the fault-injection seam (SQLite's VFS idea): a
 * test can make the Nth write or sync fail with a chosen errno, or write
 * only part of the bytes first, and assert what the log does about it.
 */
#ifndef SL_FSIO_H
#define SL_FSIO_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Write all len bytes at pos. On failure some prefix may have been written. */
int fsio_pwrite_all(int fd, const void *buf, size_t len, off_t pos, const char *what);
/* Read exactly len bytes at pos; SL_ERR__UNDERFLOW if the file is shorter. */
int fsio_pread_all(int fd, void *buf, size_t len, off_t pos, const char *what);
int fsio_fdatasync(int fd, const char *what);
int fsio_ftruncate(int fd, off_t len, const char *what);
/* fsync a directory (after creating, renaming or unlinking in it). */
int fsio_fsync_dir(const char *dir);

/* Fault injection (tests): make the nth (1-based) call of op from now on
 * fail with errnum; partial_bytes > 0 makes a failing write first write that
 * many bytes. op: "write" or "sync". fsio_fault_clear() disarms. */
void fsio_fault_arm(const char *op, long nth, int errnum, size_t partial_bytes);
void fsio_fault_clear(void);

#endif
