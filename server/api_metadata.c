/* server/api_metadata.c -- Metadata (key 3), v0-8.
 *
 * One broker (this one, at its advertised address), which is leader and
 * sole in-sync replica of every partition. Requested topics that do not
 * exist are created when auto.create.topics.enable is on and the request
 * allows it (always for v0-3, the AllowAutoTopicCreation flag from v4);
 * clients that produce to a new topic rely on that.
 *
 * v0: an empty topic list means all topics; v1+: null means all, empty
 * means none.
 */
#include <string.h>
#include "server/api.h"
#include "storage/err.h"

#define MAX_TOPICS 10000

static void
write_topic(struct pr_writer *w, int16_t ver, int16_t err, const char *name, size_t name_len,
            struct topic *t, int32_t node)
{
    int32_t np = t ? topic_partition_count(t) : 0;

    pr_write_i16(w, err);
    pr_write_string_len(w, name, name_len);
    if (ver >= 1)
        pr_write_bool(w, t ? t->internal : 0);
    pr_write_array_len(w, np);
    for (int32_t i = 0; i < np; i++) {
        struct partition *p = topic_partition(t, i);
        /* a partition whose log failed (I/O error, corruption) is offline:
         * no leader, no in-sync replica, this broker's replica offline */
        int offline = !p || plog_is_offline(p->log);
        pr_write_i16(w, offline ? SL_ERR_KAFKA_STORAGE_ERROR : 0);
        pr_write_i32(w, i);
        pr_write_i32(w, offline ? -1 : node);        /* leader */
        if (ver >= 7)
            pr_write_i32(w, p ? p->leader_epoch : 0);
        pr_write_array_len(w, 1);                    /* replicas */
        pr_write_i32(w, node);
        pr_write_array_len(w, offline ? 0 : 1);      /* isr */
        if (!offline)
            pr_write_i32(w, node);
        if (ver >= 5) {
            pr_write_array_len(w, offline ? 1 : 0);  /* offline replicas */
            if (offline)
                pr_write_i32(w, node);
        }
        pr_write_empty_tags(w);
    }
    if (ver >= 8)
        pr_write_i32(w, INT32_MIN);                  /* authorized operations: not requested */
    pr_write_empty_tags(w);
}

int
api_metadata(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    struct broker *b = ctx->b;
    int16_t ver = ctx->hdr.api_version;
    int32_t ntopics;
    int allow_create = 1, all;
    size_t topics_pos;
    struct pr_writer w;
    struct resp *resp;

    if (pr_read_array_len(r, &ntopics, MAX_TOPICS) != 0)
        return r->err ? r->err : SL_ERR__CORRUPT;
    topics_pos = r->pos;
    for (int32_t i = 0; i < ntopics; i++) {   /* skip names now, reread below */
        struct sl_slice s;
        int null;
        pr_read_string(r, &s, &null);
        if (ctx->flexible)
            pr_skip_tagged_fields(r);
    }
    if (ver >= 4)
        allow_create = pr_read_bool(r);
    if (ver >= 8) {
        (void)pr_read_bool(r);
        (void)pr_read_bool(r);
    }
    if (r->err)
        return r->err;
    all = ntopics < 0 || (ver == 0 && ntopics == 0);

    if (!(resp = api_resp_begin(ctx, &w)))
        return 0;
    if (ver >= 3)
        pr_write_i32(&w, 0);                         /* throttle */
    pr_write_array_len(&w, 1);                       /* brokers */
    pr_write_i32(&w, b->node_id);
    pr_write_string(&w, b->adv_host);
    pr_write_i32(&w, b->adv_port);
    if (ver >= 1)
        pr_write_nullable_string(&w, NULL, 0, 1);    /* rack */
    pr_write_empty_tags(&w);
    if (ver >= 2)
        pr_write_string(&w, topics_cluster_id(b->topics));
    if (ver >= 1)
        pr_write_i32(&w, b->node_id);                /* controller */

    if (all) {
        struct topic **list;
        int n;
        if (topics_list(b->topics, &list, &n) != 0) {
            resp_discard(resp);
            conn_close(ctx->c);
            return 0;
        }
        pr_write_array_len(&w, n);
        for (int i = 0; i < n; i++)
            write_topic(&w, ver, 0, list[i]->name, strlen(list[i]->name), list[i], b->node_id);
        topics_list_free(list, n);
    } else {
        pr_write_array_len(&w, ntopics);
        r->pos = topics_pos;
        for (int32_t i = 0; i < ntopics; i++) {
            struct sl_slice s;
            int null, err = 0;
            struct topic *t = NULL;
            pr_read_string(r, &s, &null);
            if (ctx->flexible)
                pr_skip_tagged_fields(r);
            if (null)
                err = SL_ERR_INVALID_TOPIC_EXCEPTION;
            else
                t = broker_get_or_create_topic(b, (const char *)s.p, s.len, allow_create, &err);
            write_topic(&w, ver, (int16_t)(t ? 0 : err), (const char *)s.p, s.len, t, b->node_id);
            topic_put(t);
        }
    }
    if (ver >= 8)
        pr_write_i32(&w, INT32_MIN);                 /* cluster authorized operations */
    api_resp_finish(resp, &w);
    return 0;
}
