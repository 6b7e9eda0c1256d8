/* server/api_init_producer_id.c -- InitProducerId (key 22), v0-4, and the
 * producer id allocator.
 *
 * Idempotent producers (transactional id null) get a fresh producer id at
 * epoch 0; a v3+ request that names its current id and epoch gets the same
 * id at epoch + 1 (KIP-360), or a new id when the epoch would overflow.
 * Producer ids are unique across restarts: they are handed out from blocks
 * of PID_BLOCK, and the end of the current block is persisted (atomically)
 * in <data dir>/sluice-producer-ids before any id of it is used, so a crash
 * skips the rest of a block, never reuses one (Kafka's AllocateProducerIds).
 *
 * Transactions are not supported: a transactional id is refused with
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which clients report as fatal
 * instead of retrying.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "server/api.h"
#include "storage/ckpt.h"
#include "storage/err.h"
#include "storage/log.h"

#define PID_BLOCK 1000

static pthread_mutex_t pid_mu = PTHREAD_MUTEX_INITIALIZER;

/* Next producer id; 0 or a storage error. */
static int
allocate_pid(struct broker *b, int64_t *out)
{
    char path[SL_CONF_PATH_MAX + 64], buf[64];
    int rc = 0;

    snprintf(path, sizeof(path), "%s/sluice-producer-ids", b->conf->data_dir);
    pthread_mutex_lock(&pid_mu);
    if (b->next_pid < 0) {
        size_t len;
        long long v = 0;
        if (ckpt_read(path, buf, sizeof(buf) - 1, &len) == 0 && sscanf(buf, "%lld", &v) == 1 && v >= 0)
            b->next_pid = b->pid_block_end = v;
        else
            b->next_pid = b->pid_block_end = 0;
    }
    if (b->next_pid >= b->pid_block_end) {
        int n = snprintf(buf, sizeof(buf), "%" PRId64 "\n", b->pid_block_end + PID_BLOCK);
        if ((rc = ckpt_write(path, buf, (size_t)n)) == 0)
            b->pid_block_end += PID_BLOCK;
    }
    if (rc == 0)
        *out = b->next_pid++;
    pthread_mutex_unlock(&pid_mu);
    return rc;
}

int
api_init_producer_id(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    int16_t ver = ctx->hdr.api_version;
    struct sl_slice txn;
    int txn_null, rc = 0;
    int64_t pid = -1, cur_pid = -1;
    int16_t epoch = -1, cur_epoch = -1;
    struct pr_writer w;
    struct resp *resp;

    pr_read_string(r, &txn, &txn_null);
    (void)pr_read_i32(r);             /* transaction_timeout_ms */
    if (ver >= 3) {
        cur_pid = pr_read_i64(r);
        cur_epoch = pr_read_i16(r);
    }
    if (ctx->flexible)
        pr_skip_tagged_fields(r);
    if (r->err)
        return r->err;
    if (!txn_null) {
        rc = SL_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    } else if (cur_pid >= 0 && cur_epoch >= 0 && cur_epoch < INT16_MAX - 1) {
        pid = cur_pid;
        epoch = (int16_t)(cur_epoch + 1);
    } else if (allocate_pid(ctx->b, &pid) == 0) {
        epoch = 0;
    } else {
        rc = SL_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    if (!(resp = api_resp_begin(ctx, &w)))
        return 0;
    pr_write_i32(&w, 0);
    pr_write_i16(&w, (int16_t)rc);
    pr_write_i64(&w, rc ? -1 : pid);
    pr_write_i16(&w, rc ? -1 : epoch);
    api_resp_finish(resp, &w);
    return 0;
}
