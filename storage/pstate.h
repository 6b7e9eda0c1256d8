/* storage/pstate.h -- idempotent producer state of one partition.
 *
 * For each producer id: its epoch, the last timestamp seen, and the last 5
 * batches appended (first/last sequence, first/last offset) -- Kafka's
 * ProducerStateEntry, whose 5 matches the 5 requests a producer may have
 * in flight. pstate_check decides, before an append, whether a batch is
 * the next in sequence, a duplicate of one of those 5 (answered with its
 * original offsets, not appended again), out of order, or from a fenced
 * epoch; pstate_update records an appended batch.
 *
 * Durability: the state is derived from the log. plog writes a snapshot
 * (<20-digit offset>.snapshot: the state as of that offset) when a segment
 * rolls and at a clean close, and rebuilds at open from the newest
 * snapshot not past the log end plus the batches after it, so a restart
 * neither forgets recent sequences nor rescans the whole log.
 *
 * Threading: none; the partition log's mutex covers it.
 */
#ifndef SL_PSTATE_H
#define SL_PSTATE_H

#include <stddef.h>
#include <stdint.h>
#include "storage/record.h"

#define PSTATE_BATCHES 5

struct pstate_batch {
    int32_t first_seq, last_seq;
    int64_t first_offset, last_offset;
};

struct pstate_entry {
    int64_t pid;                    /* -1 = empty slot */
    int16_t epoch;
    int64_t last_ts;
    int     nbatches;               /* newest last */
    struct pstate_batch b[PSTATE_BATCHES];
};

struct pstate {
    struct pstate_entry *slots;     /* open addressing, power of two */
    size_t               cap, n;
};

void pstate_init(struct pstate *ps);
void pstate_free(struct pstate *ps);
void pstate_clear(struct pstate *ps);

/* Check the batch described by h (its producer id >= 0) before an append.
 * 0: append it. SL_ERR_DUPLICATE_SEQUENCE_NUMBER: already appended,
 * dup_first and dup_last get its offsets. SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
 * SL_ERR_INVALID_PRODUCER_EPOCH: refuse. */
int pstate_check(const struct pstate *ps, const struct rec_batch_hdr *h,
                 int64_t *dup_first, int64_t *dup_last);
/* Record an appended batch (h with its final base offset). */
int pstate_update(struct pstate *ps, const struct rec_batch_hdr *h);
/* Forget producers whose last timestamp is before cutoff_ts. */
void pstate_expire(struct pstate *ps, int64_t cutoff_ts);

/* Snapshot file of the state as of `offset` in dir; read one back. */
int pstate_write_snapshot(const struct pstate *ps, const char *dir, int64_t offset);
int pstate_read_snapshot(struct pstate *ps, const char *path);

#endif
