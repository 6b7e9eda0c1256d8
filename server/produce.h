/* server/produce.h -- Produce replies parked for the group commit.
 * See broker.h: an acks=all produce (with sluice.acks.all.fsync=true)
 * answers only after its loop's before_sleep hook fsynced its partitions. */
#ifndef SL_PRODUCE_H
#define SL_PRODUCE_H

#include "server/broker.h"

/* Complete the replies of a list taken from lc->sync_waiters, after their
 * fsyncs: partitions whose log went offline get KAFKA_STORAGE_ERROR. */
void produce_complete_synced(struct produce_op *list);

/* Park reply r (fully encoded) until lc's group commit has fsynced p; the
 * int16 error codes at the n positions in err_pos become
 * KAFKA_STORAGE_ERROR if that fsync failed. 0 or SL_ERR__NOMEM. */
int produce_park_synced(struct loop_ctx *lc, struct resp *r, struct partition *p,
                        const size_t *err_pos, int n);

#endif
