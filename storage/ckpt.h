/* storage/ckpt.h -- small state files written atomically.
 *
 * ckpt_write puts the bytes in <path>.tmp, fsyncs it, renames it over
 * <path> and fsyncs the directory (Kafka's CheckpointFile), so a crash
 * leaves either the old file or the new one, never a mix. A stray .tmp
 * left by a crash is ignored by readers and replaced by the next write.
 */
#ifndef SL_CKPT_H
#define SL_CKPT_H

#include <stddef.h>

int ckpt_write(const char *path, const void *data, size_t len);
/* Read a whole file of at most max bytes into buf (NUL-terminated; buf must
 * hold max + 1). SL_ERR__NOENT if absent, SL_ERR__CORRUPT if larger. */
int ckpt_read(const char *path, char *buf, size_t max, size_t *len);

#endif
