/* storage/index.h -- a segment's sparse offset index or time index.
 *
 * Kafka's formats, big-endian, relative to the segment's base offset:
 *   offset index (.index):     rel offset int32 | file position int32   (8 bytes)
 *   time index (.timeindex):   timestamp int64  | rel offset int32      (12 bytes)
 *
 * An offset entry (o, p) says: the batch starting at position p has last
 * offset o. A time entry (t, o) says: the largest timestamp up to offset o
 * is t. Entries are appended in increasing order, so lookups are binary
 * searches over the mmap.
 *
 * A writable (active) index is preallocated to its maximum size and
 * memory-mapped; idx_trim() cuts the file to the entries actually written
 * (on roll and on clean close), which is also how a reopen knows how many
 * entries there are. An index is derived data: after an unclean stop it is
 * rebuilt from the log, and a failed sanity check means rebuild, not error.
 *
 * Descriptors: a read-only (rolled) index is mapped and its file closed, so a
 * log with many segments holds one descriptor per segment, not three.
 *
 * Threading: no locking here; the owning segment's log serialises access.
 */
#ifndef SL_INDEX_H
#define SL_INDEX_H

#include <stddef.h>
#include <stdint.h>

enum idx_kind { IDX_OFFSET = 0, IDX_TIME = 1 };

struct idx {
    int      fd;           /* open only while writable: a read-only index
                            * keeps its mapping, not a descriptor */
    char     path[4096];
    uint8_t *map;
    size_t   map_len;      /* bytes mapped */
    size_t   entries;
    size_t   max_entries;  /* capacity of the mapping */
    int64_t  base;         /* segment base offset */
    int      kind;
    int      writable;
    size_t   backed;       /* bytes from 0 known to have disk blocks */
};

/* Open (creating) path. Writable: the file is extended to max_bytes and
 * mapped read-write; otherwise mapped read-only at its size. The entry count
 * is file size / entry size of the file as found (a preallocated file after
 * a crash looks full of zero entries: recovery resets it). */
int idx_open(struct idx *x, const char *path, enum idx_kind kind, int64_t base,
             size_t max_bytes, int writable);
void idx_close(struct idx *x);
static inline size_t idx_entry_size(const struct idx *x) { return x->kind == IDX_OFFSET ? 8 : 12; }
static inline int idx_is_full(const struct idx *x) { return x->entries >= x->max_entries; }

/* Make sure the first n entries have disk blocks behind them. A writable
 * index is a sparse file mapped shared: storing into a page the
 * filesystem cannot back (disk full) raises SIGBUS, so every entry is
 * reserved with fallocate first, a chunk at a time. 0 or SL_ERR__NOSPC /
 * SL_ERR__IO. */
int idx_reserve(struct idx *x, size_t n);
/* Append (caller checked !full and monotonicity, and reserved). */
void idx_append_offset(struct idx *x, int64_t offset, uint32_t pos);
void idx_append_time(struct idx *x, int64_t ts, int64_t offset);

/* Entry i. */
void idx_offset_entry(const struct idx *x, size_t i, int64_t *offset, uint32_t *pos);
void idx_time_entry(const struct idx *x, size_t i, int64_t *ts, int64_t *offset);

/* Largest offset entry with offset <= target; (base, 0) if none. */
void idx_lookup_offset(const struct idx *x, int64_t target, int64_t *offset, uint32_t *pos);
/* Largest time entry with timestamp < ts; offset = base if none. */
int64_t idx_lookup_time(const struct idx *x, int64_t ts);
/* The largest log position an offset entry holds that is <= max_pos (a
 * batch start), 0 if none. */
uint32_t idx_position_at_most(const struct idx *x, uint64_t max_pos);

/* Drop entries for offsets >= offset. */
void idx_truncate_offset(struct idx *x, int64_t offset);
void idx_reset(struct idx *x);
/* Cut the file to the entries present and remap read-only. */
int idx_trim(struct idx *x);
/* Make writable again at max_bytes (a trimmed active index reopened). */
int idx_make_writable(struct idx *x, size_t max_bytes);
int idx_sync(struct idx *x);
/* Cheap checks Kafka does at load, on the first and last entries only:
 * they increase, stay above the base, and positions fall inside log_size. 0 ok, SL_ERR__CORRUPT otherwise. */
int idx_sanity_check(const struct idx *x, int64_t log_size);

#endif
