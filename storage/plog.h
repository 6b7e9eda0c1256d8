/* storage/plog.h -- a partition log: the storage engine's public face.
 *
 * A partition is a directory <topic>-<partition>/ holding segments named by
 * their 20-digit base offset, as Kafka lays them out:
 *
 *   00000000000000000000.log        record batches, exactly as on the wire
 *   00000000000000000000.index      sparse offset index (rel offset, position)
 *   00000000000000000000.timeindex  time index (timestamp, rel offset)
 *   leader-epoch-checkpoint         epoch -> start offset (Kafka's format)
 *   sluice.checkpoint               recovery point, log start, high watermark,
 *                                   clean-shutdown flag
 *
 * Offsets: the log holds [log_start_offset, log_end_offset). The high
 * watermark (HW) is set by the caller (the broker knows replication); reads
 * for consumers are bounded by it. The recovery point is the offset below
 * which everything is known to be fsynced.
 *
 * Threading: every call is safe from any thread. Appends, rolls, retention
 * and truncation serialise on the log's mutex; plog_read holds it only to
 * find the bytes and pins the segment, so the caller can sendfile() without
 * it. The offset getters read atomics and take no lock.
 *
 * Errors: 0 or an sl_err code (storage/err.h). An I/O error while writing
 * (other than a clean ENOSPC rollback) takes the log offline: every later
 * write returns SL_ERR__OFFLINE, as Kafka takes a log dir offline.
 */
#ifndef SL_PLOG_H
#define SL_PLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct plog;
struct seg;

struct plog_config {
    int64_t segment_bytes;        /* segment.bytes, roll past this (<= INT32_MAX) */
    int64_t segment_ms;           /* segment.ms, roll a segment this old */
    int32_t index_interval_bytes; /* index.interval.bytes, 4096 */
    int32_t segment_index_bytes;  /* segment.index.bytes, 10 MiB, preallocated */
    int64_t retention_bytes;      /* retention.bytes, -1 = unlimited */
    int64_t retention_ms;         /* retention.ms, -1 = unlimited */
    int64_t flush_messages;       /* flush.messages: fsync after this many (INT64_MAX = never) */
    int64_t flush_ms;             /* flush.ms: fsync data older than this (INT64_MAX = never) */
    int32_t max_batch_bytes;      /* largest batch accepted at recovery (sanity bound) */
};

/* Kafka's defaults. */
void plog_config_default(struct plog_config *cfg);

/* What opening found. */
struct plog_open_report {
    int      clean;              /* 1 if the last stop was clean (nothing scanned) */
    int      segments;           /* segments in the log */
    int64_t  scanned_bytes;      /* bytes validated by recovery */
    int64_t  truncated_bytes;    /* bytes dropped from the tail (torn/corrupt) */
    int      deleted_segments;   /* whole segments dropped after the first bad byte */
    int      rebuilt_indexes;    /* indexes rebuilt (recovery or failed sanity check) */
};

/* Open (creating if absent) the log in dir. cfg is copied. report may be NULL.
 * @returns owned *out, to be closed with plog_close. */
int plog_open(struct plog **out, const char *dir, const struct plog_config *cfg,
              struct plog_open_report *report);

/* A log that could not be opened, kept so its partition can be reported
 * offline: every call on it fails with SL_ERR__OFFLINE (getters give 0). */
int plog_open_offline(struct plog **out, const char *dir);

/* Clean stop: flush, trim indexes, write checkpoints with the clean flag,
 * free. The next open scans nothing. Accepts NULL. */
int plog_close(struct plog *log);

/* Free without the clean-stop work (as if the process died). Tests use it. */
void plog_abandon(struct plog *log);

/* Replace the configuration (topic config changed). Takes effect at the
 * next append/roll/retention pass. */
void plog_set_config(struct plog *log, const struct plog_config *cfg);

/* What an append did. */
struct plog_append_info {
    int64_t first_offset;     /* offset given to the first record */
    int64_t last_offset;      /* offset of the last record */
    int64_t max_timestamp;    /* largest batch max timestamp appended */
    int64_t log_append_time;  /* the time set when LOG_APPEND_TIME, else -1 */
    int     batches;
};

#define PLOG_APPEND_ASSIGN_OFFSETS  0x1  /* leader: rewrite base offsets from the LEO */
#define PLOG_APPEND_LOG_APPEND_TIME 0x2  /* rewrite max timestamp := now (recomputes CRC) */

/* Append one or more whole, already validated batches (len bytes at buf).
 * With ASSIGN_OFFSETS each batch's base offset becomes the next offset and
 * its leader epoch `leader_epoch` (the buffer is modified in place: no
 * copy). Without it (a follower) the batches keep their offsets, which must
 * start at the log end offset. The bytes go to the page cache; call
 * plog_flush for durability. Rolls the segment first when needed.
 * Nothing is visible to readers unless the whole append succeeded. */
int plog_append(struct plog *log, uint8_t *buf, size_t len, int32_t leader_epoch,
                int flags, int64_t now_ms, struct plog_append_info *info);

/* A range of a segment file, pinned until plog_slice_release. */
struct plog_slice {
    int         fd;        /* segment .log descriptor, valid while pinned */
    off_t       pos;       /* first byte: the start of the batch holding the offset */
    size_t      len;       /* 0 when there is nothing to read yet */
    struct seg *seg;       /* the pin; NULL when len == 0 */
};

/* Find the data for `offset`: the slice starts at the batch containing it
 * and holds at most max_bytes, but always one whole batch when any exists
 * below max_offset (KIP-74: a batch larger than max_bytes is returned
 * whole). Data at or above max_offset (the HW for consumers, the LEO for
 * followers) is not returned. A slice covers one segment; read on from
 * the end of it for more. Returns SL_ERR_OFFSET_OUT_OF_RANGE if offset is
 * below the log start or above the log end offset. */
int plog_read(struct plog *log, int64_t offset, size_t max_bytes, int64_t max_offset,
              struct plog_slice *out);
void plog_slice_release(struct plog_slice *s);
/* Release the pin of a slice by its seg pointer alone (a release callback
 * for a file range queued for sendfile). */
void plog_pin_release(void *seg);

/* Copy a slice's bytes into buf (len >= s->len); a convenience for tools and
 * tests, the broker sendfile()s instead. */
int plog_slice_copy(const struct plog_slice *s, uint8_t *buf);

/* First offset whose timestamp is >= ts, for ListOffsets and replays, and
 * that record's timestamp. *offset = -1 if no record has such a timestamp.
 * Exact per record for uncompressed batches; for compressed batches the
 * batch's base offset (its records are not decoded here). */
int plog_offset_for_time(struct plog *log, int64_t ts, int64_t *offset, int64_t *found_ts);
/* Offset and timestamp of the record with the largest timestamp (-1, -1 if empty). */
int plog_max_timestamp(struct plog *log, int64_t *offset, int64_t *ts);

/* Remove every batch from offset on (follower after a leader change).
 * offset is rounded to a batch boundary: batches that straddle it go too,
 * so the new log end offset may be <= offset. */
int plog_truncate_to(struct plog *log, int64_t offset);

/* Advance the log start offset (DeleteRecords); deletes segments wholly
 * below it. offset must be <= the high watermark. Persisted before return. */
int plog_delete_records(struct plog *log, int64_t offset);

/* Apply retention.ms / retention.bytes: delete whole segments from the
 * front (never data at or above the HW), roll an expired active segment.
 * *deleted (may be NULL) gets the number of segments removed. */
int plog_enforce_retention(struct plog *log, int64_t now_ms, int *deleted);

/* fsync everything below `offset` (INT64_MAX: all) and advance the
 * recovery point. Group commit is the caller's: call once per loop turn. */
int plog_flush(struct plog *log, int64_t offset);
/* Applies flush.messages / flush.ms; call periodically and after appends. */
int plog_maybe_flush(struct plog *log, int64_t now_ms);

/* Write the checkpoint file (recovery point, log start, HW) atomically. */
int plog_checkpoint(struct plog *log);

/* Offsets (lock-free reads). */
int64_t plog_log_start_offset(const struct plog *log);
int64_t plog_log_end_offset(const struct plog *log);
int64_t plog_high_watermark(const struct plog *log);
int64_t plog_recovery_point(const struct plog *log);
void    plog_set_high_watermark(struct plog *log, int64_t hw);  /* clamped to [start, LEO] */
int64_t plog_size_bytes(const struct plog *log);
int     plog_segment_count(const struct plog *log);
int     plog_is_offline(const struct plog *log);
const char *plog_dir(const struct plog *log);

/* Leader epoch cache: epoch -> first offset written in that epoch. */
/* The largest epoch known and its start offset (-1, -1 if none). */
int plog_latest_epoch(struct plog *log, int32_t *epoch, int64_t *start_offset);
/* End offset of `epoch` (OffsetForLeaderEpoch): the start offset of the
 * next larger epoch, or the LEO for the latest; *end_epoch is the largest
 * epoch <= the one asked. (-1, -1) if unknown. */
int plog_epoch_end_offset(struct plog *log, int32_t epoch, int32_t *end_epoch, int64_t *end_offset);

/* Idempotent producers: a leader append (ASSIGN_OFFSETS) of a batch with a
 * producer id is checked against the partition's producer state first
 * (storage/pstate.h): a retry of one of the producer's last 5 batches
 * returns SL_ERR_DUPLICATE_SEQUENCE_NUMBER with info->first/last_offset set
 * to where it was appended (the caller answers success with them); a gap
 * or an old epoch returns SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER or
 * SL_ERR_INVALID_PRODUCER_EPOCH. The state survives restarts (snapshots
 * plus replay). Forget producers last seen before cutoff_ts: */
void plog_expire_producers(struct plog *log, int64_t cutoff_ts);

/* Descriptors of rolled segments are opened on demand and cached, at most
 * n open across all logs of the process (least recently used closed first);
 * active segments always stay open. Default 1024. */
void plog_set_max_open_files(int n);

/* Delete the log directory and everything in it (after plog_close or on
 * an unopened dir). */
int plog_destroy_dir(const char *dir);

#endif
