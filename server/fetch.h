/* server/fetch.h -- the fetch purgatory: Fetch requests waiting for
 * min_bytes or max_wait_ms (see broker.h). */
#ifndef SL_FETCH_H
#define SL_FETCH_H

#include "server/broker.h"

/* Re-evaluate this loop's parked fetches; answer those that have enough. */
void fetch_recheck_parked(struct loop_ctx *lc);
/* Loop stopping: answer every parked fetch with what it has now. */
void fetch_abort_parked(struct loop_ctx *lc);

#endif
