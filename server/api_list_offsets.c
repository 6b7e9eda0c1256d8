/* server/api_list_offsets.c -- ListOffsets (key 2), v0-7.
 *
 * Timestamp -2: the log start offset; -1: the end as consumers see it (the
 * high watermark; the last stable offset is the same with no open
 * transactions); -3 (v7+): the record with the largest timestamp; any other
 * value: the first offset whose timestamp is >= it (offset -1 if none).
 * v0 answers with an array of "old style" offsets.
 */
#include "server/api.h"
#include "storage/err.h"

#define MAX_TOPICS      10000
#define MAX_PARTITIONS  100000

int
api_list_offsets(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    int16_t ver = ctx->hdr.api_version;
    int32_t ntopics;
    struct pr_writer w;
    struct resp *resp;

    (void)pr_read_i32(r);                            /* replica_id */
    if (ver >= 2)
        (void)pr_read_i8(r);                         /* isolation level */
    if (pr_read_array_len(r, &ntopics, MAX_TOPICS) != 0 || ntopics < 0)
        return r->err ? r->err : SL_ERR__CORRUPT;
    if (!(resp = api_resp_begin(ctx, &w)))
        return 0;
    if (ver >= 2)
        pr_write_i32(&w, 0);                         /* throttle */
    pr_write_array_len(&w, ntopics);
    for (int32_t ti = 0; ti < ntopics; ti++) {
        struct sl_slice name;
        int null;
        int32_t nparts;
        struct topic *t;

        pr_read_string(r, &name, &null);
        if (pr_read_array_len(r, &nparts, MAX_PARTITIONS) != 0 || nparts < 0)
            goto bad;
        t = null ? NULL : topics_get(ctx->b->topics, (const char *)name.p, name.len);
        pr_write_string_len(&w, name.p, name.len);
        pr_write_array_len(&w, nparts);
        for (int32_t pi = 0; pi < nparts; pi++) {
            int32_t idx = pr_read_i32(r), epoch = -1;
            int64_t ts, offset = -1, found_ts = -1;
            int16_t err = 0;
            struct partition *p;

            if (ver >= 4)
                epoch = pr_read_i32(r);
            ts = pr_read_i64(r);
            if (ver == 0)
                (void)pr_read_i32(r);                /* max_num_offsets */
            if (ctx->flexible)
                pr_skip_tagged_fields(r);
            if (r->err) {
                topic_put(t);
                goto bad;
            }
            if (!t || !(p = topic_partition(t, idx))) {
                err = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            } else if (plog_is_offline(p->log)) {
                err = SL_ERR_KAFKA_STORAGE_ERROR;
            } else if (epoch >= 0 && epoch != p->leader_epoch) {
                err = epoch > p->leader_epoch ? SL_ERR_UNKNOWN_LEADER_EPOCH : SL_ERR_FENCED_LEADER_EPOCH;
            } else if (ts == -2) {
                offset = plog_log_start_offset(p->log);
            } else if (ts == -1) {
                offset = plog_high_watermark(p->log);
            } else if (ts == -3 && ver >= 7) {
                if (plog_max_timestamp(p->log, &offset, &found_ts) != 0)
                    err = SL_ERR_KAFKA_STORAGE_ERROR;
            } else if (ts < 0) {
                err = SL_ERR_INVALID_REQUEST;
            } else {
                if (plog_offset_for_time(p->log, ts, &offset, &found_ts) != 0)
                    err = SL_ERR_KAFKA_STORAGE_ERROR;
                else if (offset >= plog_high_watermark(p->log))
                    offset = found_ts = -1;
            }
            pr_write_i32(&w, idx);
            pr_write_i16(&w, err);
            if (ver == 0) {
                if (!err && offset >= 0) {
                    pr_write_array_len(&w, 1);
                    pr_write_i64(&w, offset);
                } else {
                    pr_write_array_len(&w, 0);
                }
            } else {
                pr_write_i64(&w, err ? -1 : found_ts);
                pr_write_i64(&w, err ? -1 : offset);
                if (ver >= 4)
                    pr_write_i32(&w, err || offset < 0 ? -1 : p->leader_epoch);
            }
            pr_write_empty_tags(&w);
        }
        topic_put(t);
        if (ctx->flexible)
            pr_skip_tagged_fields(r);
        pr_write_empty_tags(&w);
    }
    if (r->err)
        goto bad;
    api_resp_finish(resp, &w);
    return 0;
bad:
    resp_discard(resp);
    return r->err ? r->err : SL_ERR__CORRUPT;
}
