/* server/produce.h -- Produce replies parked for the group commit.
 * See broker.h: an acks=all produce (with sluice.acks.all.fsync=true)
 * answers only after its loop's before_sleep hook fsynced its partitions. */
#ifndef SL_PRODUCE_H
#define SL_PRODUCE_H

#include "server/broker.h"

/* Complete every reply parked on lc->sync_waiters (after the fsyncs):
 * partitions whose log went offline get KAFKA_STORAGE_ERROR. */
void produce_complete_synced(struct loop_ctx *lc);

#endif
