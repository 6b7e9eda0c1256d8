/* server/api_offsets.c -- OffsetCommit (8), OffsetFetch (9), OffsetDelete (47).
 *
 * OffsetCommit checks member and generation with the coordinator, stores
 * every partition's offset in memory and as one record batch in
 * __consumer_offsets, and answers after the loop's group commit fsynced
 * that batch. OffsetFetch answers from memory: a partition with no commit
 * gets offset -1 and empty (not null) metadata, which every client decodes.
 * v8 of OffsetFetch asks for several groups at once.
 */
#include <stdlib.h>
#include <string.h>
#include "server/api.h"
#include "server/group.h"
#include "server/produce.h"
#include "storage/err.h"
#include "storage/record.h"

#define MAX_TOPICS      10000
#define MAX_PARTITIONS  100000
#define MAX_GROUPS      10000

int
api_offset_commit(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    int16_t ver = ctx->hdr.api_version;
    struct sl_slice group, member = { NULL, 0 }, instance = { NULL, 0 };
    int null, instance_null = 1, check;
    int32_t generation = -1, ntopics;
    struct pr_writer w;
    struct resp *resp;
    struct offset_commit_batch *ob = NULL;
    size_t *err_pos = NULL;
    int nerr = 0, cap = 0;
    int64_t now = loop_wall_ms();

    pr_read_string(r, &group, &null);
    if (ver >= 1) {
        generation = pr_read_i32(r);
        pr_read_string(r, &member, &null);
    }
    if (ver >= 7)
        pr_read_string(r, &instance, &instance_null);
    if (ver >= 2 && ver <= 4)
        (void)pr_read_i64(r);   /* retention_time_ms: offsets.retention.minutes applies */
    if (pr_read_array_len(r, &ntopics, MAX_TOPICS) != 0 || ntopics < 0)
        return r->err ? r->err : SL_ERR__CORRUPT;
    if (r->err)
        return r->err;

    check = group_commit_check(ctx->b->coord, group, member, instance, instance_null, generation);
    if (check == 0 && !(ob = group_commit_begin(ctx->b->coord, group)))
        check = SL_ERR_COORDINATOR_NOT_AVAILABLE;
    if (!(resp = api_resp_begin(ctx, &w))) {
        if (ob) {
            struct partition *p;
            group_commit_end(ob, &p);
        }
        return 0;
    }
    if (ver >= 3)
        pr_write_i32(&w, 0);
    pr_write_array_len(&w, ntopics);
    for (int32_t ti = 0; ti < ntopics && !r->err; ti++) {
        struct sl_slice topic;
        int32_t nparts;
        struct topic *t;

        pr_read_string(r, &topic, &null);
        if (pr_read_array_len(r, &nparts, MAX_PARTITIONS) != 0 || nparts < 0)
            break;
        t = topics_get(ctx->b->topics, (const char *)topic.p, topic.len);
        pr_write_string_len(&w, topic.p, topic.len);
        pr_write_array_len(&w, nparts);
        for (int32_t pi = 0; pi < nparts; pi++) {
            int32_t idx = pr_read_i32(r), epoch = -1;
            int64_t offset = pr_read_i64(r);
            struct sl_slice meta;
            int meta_null, err = check;
            if (ver >= 6)
                epoch = pr_read_i32(r);
            if (ver == 1)
                (void)pr_read_i64(r);   /* commit_timestamp */
            pr_read_string(r, &meta, &meta_null);
            if (ctx->flexible)
                pr_skip_tagged_fields(r);
            if (r->err)
                break;
            if (!err && (!t || !topic_partition(t, idx)))
                err = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            if (!err)
                err = group_commit_add(ob, topic, idx, offset, epoch, meta, meta_null, now);
            pr_write_i32(&w, idx);
            if (nerr == cap) {
                cap = cap ? cap * 2 : 16;
                size_t *n = realloc(err_pos, sizeof(*n) * (size_t)cap);
                if (!n)
                    break;
                err_pos = n;
            }
            err_pos[nerr++] = resp_buf(resp)->len;
            pr_write_i16(&w, (int16_t)err);
            pr_write_empty_tags(&w);
        }
        topic_put(t);
        if (ctx->flexible)
            pr_skip_tagged_fields(r);
        pr_write_empty_tags(&w);
    }
    if (r->err) {
        if (ob) {
            struct partition *p;
            group_commit_end(ob, &p);
        }
        free(err_pos);
        resp_discard(resp);
        return r->err;
    }
    pr_write_empty_tags(&w);
    if (ob) {
        struct partition *p = NULL;
        int rc = group_commit_end(ob, &p);
        if (rc != 0) {
            struct sl_buf *b = resp_buf(resp);
            for (int i = 0; i < nerr; i++)
                if (b->data[err_pos[i]] == 0 && b->data[err_pos[i] + 1] == 0)
                    rec_put_u16(b->data + err_pos[i], (uint16_t)rc);
        } else if (p && produce_park_synced(ctx->lc, resp, p, err_pos, nerr) == 0) {
            free(err_pos);
            return 0;       /* answered after the fsync */
        }
    }
    free(err_pos);
    resp_complete(resp);
    return 0;
}

struct fetch_all_ctx {
    struct pr_writer *w;
    int16_t           ver;
    const char       *cur_topic;
    size_t            topics_pos, parts_pos;
    int32_t           ntopics, nparts;
};

/* Groups the (sorted) committed offsets by topic while writing them. */
static void
fetch_all_cb(void *arg, const char *topic, int32_t partition, int64_t offset, int32_t epoch,
             const char *meta)
{
    struct fetch_all_ctx *fc = arg;
    struct pr_writer *w = fc->w;
    if (!fc->cur_topic || strcmp(fc->cur_topic, topic) != 0) {
        if (fc->cur_topic) {
            pr_patch_array_len(w, fc->parts_pos, fc->nparts);
            pr_write_empty_tags(w);
        }
        pr_write_string(w, topic);
        fc->parts_pos = pr_reserve_array_len(w);
        fc->nparts = 0;
        fc->ntopics++;
        fc->cur_topic = topic;
    }
    pr_write_i32(w, partition);
    pr_write_i64(w, offset);
    if (fc->ver >= 5)
        pr_write_i32(w, epoch);
    pr_write_string(w, meta);
    pr_write_i16(w, 0);
    pr_write_empty_tags(w);
    fc->nparts++;
}

/* Write the topics of one group's OffsetFetch answer. The reader is at the
 * topics array (v8: of this group). */
static int
write_group_offsets(struct req_ctx *ctx, struct pr_writer *w, struct sl_slice group, int16_t ver)
{
    struct pr_reader *r = &ctx->r;
    int32_t ntopics;

    if (pr_read_array_len(r, &ntopics, MAX_TOPICS) != 0)
        return r->err ? r->err : SL_ERR__CORRUPT;
    if (ntopics < 0) {
        struct fetch_all_ctx fc = { w, ver, NULL, 0, 0, 0, 0 };
        if (ver < 2)
            return SL_ERR__CORRUPT;
        fc.topics_pos = pr_reserve_array_len(w);
        group_offsets_each(ctx->b->coord, group, fetch_all_cb, &fc);
        if (fc.cur_topic) {
            pr_patch_array_len(w, fc.parts_pos, fc.nparts);
            pr_write_empty_tags(w);
        }
        pr_patch_array_len(w, fc.topics_pos, fc.ntopics);
        return 0;
    }
    pr_write_array_len(w, ntopics);
    for (int32_t ti = 0; ti < ntopics; ti++) {
        struct sl_slice topic;
        int null;
        int32_t nparts;
        pr_read_string(r, &topic, &null);
        if (pr_read_array_len(r, &nparts, MAX_PARTITIONS) != 0 || nparts < 0)
            return r->err ? r->err : SL_ERR__CORRUPT;
        pr_write_string_len(w, topic.p, topic.len);
        pr_write_array_len(w, nparts);
        for (int32_t pi = 0; pi < nparts; pi++) {
            int32_t idx = pr_read_i32(r), epoch = -1;
            int64_t offset = -1;
            char meta[4096];
            size_t mlen = 0;
            if (r->err)
                return r->err;
            if (group_offset_get(ctx->b->coord, group, (const char *)topic.p, topic.len, idx,
                                 &offset, &epoch, meta, sizeof(meta), &mlen) != 0) {
                offset = -1;
                epoch = -1;
                mlen = 0;
            }
            pr_write_i32(w, idx);
            pr_write_i64(w, offset);
            if (ver >= 5)
                pr_write_i32(w, epoch);
            pr_write_string_len(w, meta, mlen);
            pr_write_i16(w, 0);
            pr_write_empty_tags(w);
        }
        if (ctx->flexible)
            pr_skip_tagged_fields(r);
        pr_write_empty_tags(w);
    }
    return 0;
}

int
api_offset_fetch(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    int16_t ver = ctx->hdr.api_version;
    struct pr_writer w;
    struct resp *resp;
    int rc = 0, null;

    if (!(resp = api_resp_begin(ctx, &w)))
        return 0;
    if (ver >= 3)
        pr_write_i32(&w, 0);
    if (ver <= 7) {
        struct sl_slice group;
        pr_read_string(r, &group, &null);
        if ((rc = write_group_offsets(ctx, &w, group, ver)) != 0)
            goto bad;
        if (ver >= 7)
            (void)pr_read_bool(r);   /* require_stable: nothing is ever unstable here */
        if (ver >= 2)
            pr_write_i16(&w, 0);
    } else {
        int32_t ngroups;
        if (pr_read_array_len(r, &ngroups, MAX_GROUPS) != 0 || ngroups < 0)
            goto bad;
        pr_write_array_len(&w, ngroups);
        for (int32_t gi = 0; gi < ngroups; gi++) {
            struct sl_slice group;
            pr_read_string(r, &group, &null);
            if (ver >= 9) {
                struct sl_slice mid;
                pr_read_string(r, &mid, &null);
                (void)pr_read_i32(r);
            }
            pr_write_string_len(&w, group.p, group.len);
            if ((rc = write_group_offsets(ctx, &w, group, ver)) != 0)
                goto bad;
            pr_skip_tagged_fields(r);
            pr_write_i16(&w, 0);
            pr_write_empty_tags(&w);
        }
        (void)pr_read_bool(r);
    }
    if (ctx->flexible)
        pr_skip_tagged_fields(r);
    if (r->err)
        goto bad;
    api_resp_finish(resp, &w);
    return 0;
bad:
    resp_discard(resp);
    return r->err ? r->err : (rc ? rc : SL_ERR__CORRUPT);
}

int
api_offset_delete(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    struct sl_slice group;
    int null, top;
    int32_t ntopics;
    struct pr_writer w;
    struct resp *resp;

    pr_read_string(r, &group, &null);
    if (pr_read_array_len(r, &ntopics, MAX_TOPICS) != 0 || ntopics < 0)
        return r->err ? r->err : SL_ERR__CORRUPT;
    top = group_offset_delete_check(ctx->b->coord, group);
    if (!(resp = api_resp_begin(ctx, &w)))
        return 0;
    pr_write_i16(&w, (int16_t)top);
    pr_write_i32(&w, 0);
    pr_write_array_len(&w, top ? 0 : ntopics);
    for (int32_t ti = 0; ti < ntopics; ti++) {
        struct sl_slice topic;
        int32_t nparts;
        pr_read_string(r, &topic, &null);
        if (pr_read_array_len(r, &nparts, MAX_PARTITIONS) != 0 || nparts < 0)
            break;
        if (!top) {
            pr_write_string_len(&w, topic.p, topic.len);
            pr_write_array_len(&w, nparts);
        }
        for (int32_t pi = 0; pi < nparts; pi++) {
            int32_t idx = pr_read_i32(r);
            if (r->err || top)
                continue;
            pr_write_i32(&w, idx);
            pr_write_i16(&w, (int16_t)group_offset_delete(ctx->b->coord, group,
                                                          (const char *)topic.p, topic.len, idx));
        }
    }
    if (r->err) {
        resp_discard(resp);
        return r->err;
    }
    resp_complete(resp);
    return 0;
}
