/* tests/support/plogtest.h -- shared helpers for the partition-log suites
 * (test_plog.c, test_recovery.c): a model of what was appended, det-content
 * appends, a whole-log read-back checker, and segment directory listing.
 */
#ifndef SL_TEST_PLOGTEST_H
#define SL_TEST_PLOGTEST_H

#include <stddef.h>
#include <stdint.h>
#include "storage/plog.h"

/* One appended batch as the test remembers it. */
struct pt_batch {
    int64_t base, last;
    size_t  size;
    int32_t vlen;      /* as given to bg_append_det */
    int32_t epoch;
};

struct pt_model {
    struct pt_batch *b;
    size_t           n, cap;
};

void pt_model_free(struct pt_model *m);
void pt_model_push(struct pt_model *m, const struct pt_batch *b);
/* Index of the batch holding offset, or -1. */
long pt_model_find(const struct pt_model *m, int64_t offset);
/* Drop batches whose base >= offset's batch base (truncate_to semantics). */
void pt_model_truncate(struct pt_model *m, int64_t offset);

/* plog_config_default with segment_bytes set. */
void pt_config(struct plog_config *cfg, int64_t segment_bytes);

/* Append one det batch of n records at the LEO with ASSIGN_OFFSETS at
 * `epoch`, now_ms = the batch's first timestamp. 0 or the plog error.
 * On success the batch is pushed to m (if m). info may be NULL. */
int pt_append_det(struct plog *log, struct pt_model *m, int32_t n, int32_t vlen, int32_t epoch,
                  struct plog_append_info *info);

/* Read [from, upto) back through plog_read/plog_slice_copy, max_bytes per
 * call, and check every record against the det content and the model (when
 * m is non-NULL; vlen is then taken from it, else from vlen). Writes a
 * description of the first problem into err (cap bytes) and returns -1, or
 * returns the number of records read. */
long pt_read_check(struct plog *log, int64_t from, int64_t upto, size_t max_bytes,
                   const struct pt_model *m, int32_t vlen, char *err, size_t cap);

/* Base offsets of the <20 digits>.log files in dir, sorted. Returns count
 * (up to max), -1 on error. */
int pt_list_segments(const char *dir, int64_t *bases, int max);

/* Monotonic milliseconds, for poll deadlines. */
int64_t pt_now_ms(void);

#endif
