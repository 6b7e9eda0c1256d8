/* tests/support/tmpdir.c -- mkdtemp + recursive removal for tests.
 * See tmpdir.h. Removal uses nftw (depth first, no symlink following), so a
 * test that leaves nested directories behind still cleans up fully.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tests/support/tmpdir.h"

char tmpdir_path[TMPDIR_PATH_MAX];

int
tmpdir_make(char *out, size_t cap, const char *tag)
{
    const char *base = getenv("TMPDIR");
    int n;

    if (!base || !*base)
        base = "/tmp";
    n = snprintf(out, cap, "%s/sluice-%s.XXXXXX", base, tag ? tag : "test");
    if (n < 0 || (size_t)n >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkdtemp(out) ? 0 : -1;
}

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st; (void)ftw;
    if (type == FTW_DP || type == FTW_D)
        return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int
tmpdir_remove(const char *path)
{
    struct stat st;

    if (!path || !*path)
        return 0;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
tmpdir_setup(void)
{
    if (tmpdir_make(tmpdir_path, sizeof(tmpdir_path), "t") != 0) {
        perror("tmpdir_make");
        abort();
    }
}

void
tmpdir_teardown(void)
{
    if (tmpdir_path[0])
        tmpdir_remove(tmpdir_path);
    tmpdir_path[0] = '\0';
}

char *
tmpdir_join(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
    return out;
}

long long
tmpdir_file_size(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return -1;
    return (long long)st.st_size;
}
