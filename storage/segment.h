/* storage/segment.h -- one segment of a partition log: <base>.log plus its
 * offset and time indexes.
 *
 * The .log holds whole record batches back to back, exactly as appended.
 * `size` is the published length: bytes past it (a write in progress, or a
 * torn tail before recovery) are never read. The indexes are loaded lazily
 * (seg_load_indexes) so opening a log with many segments touches only the
 * active one.
 *
 * Recovery (seg_recover) walks every batch from byte 0, validates length,
 * magic, CRC32C and offset order, rebuilds both indexes and truncates the
 * file at the first bad byte (Kafka LogSegment.recover).
 *
 * Lifetime: reference counted. The log holds one reference; a reader that
 * sendfile()s from the fd holds another, so retention can unlink a segment
 * whose bytes are still being sent; the fd closes with the last reference.
 *
 * Descriptors: the active segment keeps its .log open. Older segments open
 * theirs on demand (seg_fd_get / seg_fd_put around every use) and stay open
 * in a process-wide LRU of at most seg_set_max_open() files; the least
 * recently used idle one is closed when a new one opens. A reader holding a
 * slice holds its descriptor too, so it is never closed under a sendfile.
 *
 * Threading: callers serialise everything but seg_ref/seg_unref (atomic)
 * and the descriptor cache (its own mutex).
 */
#ifndef SL_SEGMENT_H
#define SL_SEGMENT_H

#include <limits.h>
#include <stdint.h>
#include "storage/index.h"
#include "storage/plog.h"
#include "storage/record.h"

struct seg {
    int64_t     base;
    char        prefix[PATH_MAX];   /* <dir>/<20-digit base>, no suffix */
    int         fd;
    int64_t     size;               /* published bytes (under the log's lock) */
    int64_t     next_offset;        /* offset after the last batch, -1 unknown */
    int64_t     max_ts;             /* largest batch max timestamp, -1 unknown/none */
    int64_t     max_ts_offset;      /* last offset of that batch */
    int64_t     rolling_ts;         /* segment.ms counts from here */
    int64_t     bytes_since_index;
    int64_t     synced_size;        /* bytes known to be on disk (under the log's lock) */
    uint64_t    truncations;        /* seg_truncate calls so far (under the log's lock) */
    struct idx  oidx;
    struct idx  tidx;
    int         indexes_loaded;
    int         active;             /* indexes writable, preallocated */
    int         deleted;            /* files unlinked */
    int         refs;               /* atomic */
    /* descriptor cache (under the cache's mutex) */
    int         fd_users;           /* seg_fd_get without seg_fd_put */
    int         fd_pinned;          /* active: never closed by the cache */
    struct seg *lru_prev, *lru_next;
    int         in_lru;
};

/* What a recovery scan found. */
struct seg_scan_result {
    int64_t scanned_bytes;
    int64_t truncated_bytes;
};

/* New empty active segment (files created, replacing leftovers). */
int seg_create(struct seg **out, const char *dir, int64_t base, const struct plog_config *cfg,
               int64_t now_ms);
/* Existing segment: opens the .log only. */
int seg_load(struct seg **out, const char *dir, int64_t base);
/* Load the indexes (writable = active). SL_ERR__CORRUPT if they fail the
 * sanity check; the caller then runs seg_recover. */
int seg_load_indexes(struct seg *s, const struct plog_config *cfg, int writable);
/* Validate every batch, rebuild indexes, truncate at the first bad byte.
 * first_offset: the smallest base offset allowed for the first batch. */
int seg_recover(struct seg *s, const struct plog_config *cfg, int64_t first_offset,
                struct seg_scan_result *res);
/* After a clean open: learn next_offset and max_ts by walking headers from
 * the last index entry to the end. */
int seg_scan_tail(struct seg *s, const struct plog_config *cfg);

/* Append len bytes of whole batches (headers already final) at the end,
 * then index them. On a write error the file is cut back to its old size
 * (SL_ERR__IO / SL_ERR__NOSPC); if even that fails, SL_ERR__OFFLINE. */
int seg_append(struct seg *s, const uint8_t *buf, size_t len, const struct plog_config *cfg);

/* Position and header of the first batch whose last offset >= target.
 * SL_ERR__NOENT if the segment has none. */
int seg_find_batch(struct seg *s, const struct plog_config *cfg, int64_t target,
                   int64_t *pos, struct rec_batch_hdr *hdr);
/* Read the header of the batch at pos (pos < size). */
int seg_read_hdr(struct seg *s, int64_t pos, struct rec_batch_hdr *hdr);

/* Cut the segment at pos (a batch boundary) and re-derive its indexes and
 * next offset from what remains. */
int seg_truncate(struct seg *s, const struct plog_config *cfg, int64_t pos);
/* No longer active: final time-index entry, indexes trimmed. */
int seg_deactivate(struct seg *s);
/* Re-activate (truncation made an older segment the active one again). */
int seg_activate(struct seg *s, const struct plog_config *cfg);
/* fdatasync the .log when sync_log, the indexes when sync_index. Takes no
 * lock and touches no field a writer changes, so it can run while appends
 * go on; the caller (plog_flush) decides what needs syncing and records
 * synced_size under the log's lock. */
int seg_sync(struct seg *s, int sync_log, int sync_index);
/* Largest timestamp and its offset, computing it if not known. */
int seg_max_timestamp(struct seg *s, const struct plog_config *cfg, int64_t *ts, int64_t *offset);
/* Index full (or about to be) or relative offsets about to overflow. */
int seg_needs_roll_for(struct seg *s, int64_t last_offset);

/* The .log descriptor, opened if the cache had closed it; every use is
 * bracketed by get and put. 0 or an sl_err code. */
int  seg_fd_get(struct seg *s, int *fd);
void seg_fd_put(struct seg *s);
/* Cap on open descriptors of non-active segments (process-wide, >= 4). */
void seg_set_max_open(int n);
/* Descriptors of non-active segments open now (tests, stats). */
int  seg_open_count(void);

void seg_ref(struct seg *s);
/* Drop a reference; the last one closes and frees. */
void seg_unref(struct seg *s);
/* Unlink the files (the segment stays usable until its last reference). */
int seg_unlink(struct seg *s);

#endif
