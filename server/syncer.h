/* server/syncer.h -- the group commit, off the event loop.
 *
 * acks=all replies wait for an fsync of the partitions they wrote. Doing
 * that fdatasync inside the loop would stall the loop for the disk's whole
 * latency: no reading, no appending meanwhile. Each loop therefore has a
 * syncer thread. At the end of every loop turn (before_sleep) the loop
 * hands the partitions it dirtied and the replies that wait for them to its
 * syncer -- unless a sync is already running, in which case they keep
 * accumulating and go as the next batch the moment it finishes. The syncer
 * fsyncs each partition once, then wakes the loop (eventfd), which
 * completes the replies. Disk and network work overlap; every reply still
 * leaves only after its bytes are on disk (one fsync covers everything
 * appended before it started).
 *
 * Threading: syncer_kick and the completion run on the loop thread; the
 * syncer thread touches only the batch it was handed.
 */
#ifndef SL_SYNCER_H
#define SL_SYNCER_H

#include "server/broker.h"

struct syncer;

/* Start the syncer of loop lc (on the loop thread, from on_loop_start).
 * If its thread cannot start, *out is NULL and the loop fsyncs inline. */
int  syncer_start(struct syncer **out, struct loop_ctx *lc);
/* before_sleep: hand over what this turn dirtied, if the syncer is idle. */
void syncer_kick(struct syncer *s);
/* Loop stopping (on its thread): finish the running sync, then fsync and
 * answer whatever is still waiting, synchronously; free. */
void syncer_stop(struct syncer *s, struct loop_ctx *lc);

#endif
