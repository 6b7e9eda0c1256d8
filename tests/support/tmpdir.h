/* tests/support/tmpdir.h -- temporary directories for tests.
 *
 * Every test that touches the disk gets a fresh mkdtemp() directory under
 * /tmp (or $TMPDIR) and removes it, recursively, when done. The Criterion
 * hooks tmpdir_setup/tmpdir_teardown fill the global tmpdir_path for suites
 * that need one directory per test.
 */
#ifndef SL_TEST_TMPDIR_H
#define SL_TEST_TMPDIR_H

#include <stddef.h>

#define TMPDIR_PATH_MAX 512

/* Create a fresh directory named <base>/<tag>.XXXXXX, base being $TMPDIR or
 * /tmp. Writes its path into out (cap bytes). 0 or -1 (errno set). */
int tmpdir_make(char *out, size_t cap, const char *tag);

/* rm -rf path (files, subdirectories, then path itself). 0 or -1. Missing
 * path is not an error. */
int tmpdir_remove(const char *path);

/* The per-test directory filled by tmpdir_setup. */
extern char tmpdir_path[TMPDIR_PATH_MAX];

/* Criterion .init / .fini hooks: make and remove tmpdir_path. */
void tmpdir_setup(void);
void tmpdir_teardown(void);

/* Join dir and name into out (cap bytes); returns out. */
char *tmpdir_join(char *out, size_t cap, const char *dir, const char *name);

/* Size of a file in bytes, or -1 if it cannot be stat()ed. */
long long tmpdir_file_size(const char *path);

#endif
