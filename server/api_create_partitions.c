/* server/api_create_partitions.c -- CreatePartitions (key 37), v0-1.
 *
 * Request: topics [name, count int32, assignments nullable [broker_ids
 * [int32]]], timeout_ms int32, validate_only bool (v2+ would be flexible;
 * the decoder already skips tagged fields at struct ends).
 * Response: throttle_time_ms, results [name, error_code, error_message
 * nullable].
 *
 * Every requested topic is echoed (tansu's librdkafka findings: clients
 * wait for each one); a name given twice is answered once, with
 * INVALID_REQUEST. Per topic: UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS
 * (not an increase, over the limit), INVALID_REPLICA_ASSIGNMENT (an
 * assignment must list count - current partitions, each [this node]),
 * INVALID_REQUEST for an internal topic (Sluice's choice: the group
 * coordinator maps groups to __consumer_offsets partitions by count).
 * The decode completes before anything changes; growth is synchronous, so
 * timeout_ms is not needed.
 *
 * Threading: any loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/api.h"
#include "storage/err.h"

#define CP_MAX_TOPICS  100000
#define CP_MAX_ASSIGN  100000
#define CP_MAX_BROKERS 1000

struct cp_topic {
    struct sl_slice  name;
    int32_t          count;
    struct pr_reader assign_r;   /* at the assignments array */
    int              dup;        /* same name as an earlier entry */
    int              dup_first;
};

static int
cp_check_assignments(const struct cp_topic *t, int32_t current, int32_t node_id,
                     char *err, size_t errlen)
{
    struct pr_reader r = t->assign_r;
    int32_t n;

    pr_read_array_len(&r, &n, CP_MAX_ASSIGN);
    if (n < 0)
        return 0;                              /* null: automatic */
    if (n != t->count - current) {
        snprintf(err, errlen, "%d assignment(s) given for %d new partition(s)", n,
                 t->count - current);
        return SL_ERR_INVALID_REPLICA_ASSIGNMENT;
    }
    for (int32_t a = 0; a < n; a++) {
        int32_t nb;
        pr_read_array_len(&r, &nb, CP_MAX_BROKERS);
        if (nb != 1) {
            snprintf(err, errlen, "new partition %d has %d replicas; only 1 broker is available",
                     current + a, nb);
            return SL_ERR_INVALID_REPLICA_ASSIGNMENT;
        }
        int32_t id = pr_read_i32(&r);
        if (id != node_id) {
            snprintf(err, errlen, "unknown broker %d in the assignment of partition %d", id,
                     current + a);
            return SL_ERR_INVALID_REPLICA_ASSIGNMENT;
        }
        pr_skip_tagged_fields(&r);
    }
    return 0;
}

static int
cp_one(struct broker *b, const struct cp_topic *t, int validate_only, char *err, size_t errlen)
{
    struct topic *tp;
    int32_t current;
    int internal, rc;

    err[0] = '\0';
    if (!t->name.p || !(tp = topics_get(b->topics, (const char *)t->name.p, t->name.len))) {
        snprintf(err, errlen, "topic '%.*s' does not exist",
                 (int)(t->name.len > 300 ? 300 : t->name.len),
                 t->name.p ? (const char *)t->name.p : "");
        return SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    current = topic_partition_count(tp);
    internal = tp->internal;
    topic_put(tp);
    if (internal) {
        snprintf(err, errlen, "cannot add partitions to internal topic %.*s",
                 (int)t->name.len, (const char *)t->name.p);
        return SL_ERR_INVALID_REQUEST;
    }
    if (t->count > current &&
        (rc = cp_check_assignments(t, current, b->node_id, err, errlen)) != 0)
        return rc;
    rc = topics_add_partitions(b->topics, (const char *)t->name.p, t->name.len, t->count,
                               validate_only, err, errlen);
    if (rc == SL_ERR_UNKNOWN_TOPIC_OR_PARTITION && !err[0])
        snprintf(err, errlen, "topic '%.*s' does not exist",
                 (int)(t->name.len > 300 ? 300 : t->name.len), (const char *)t->name.p);
    return rc;
}

int
api_create_partitions(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    struct cp_topic *v = NULL;
    struct pr_writer w;
    struct resp *resp;
    int32_t n, nout = 0;
    int validate_only;
    char err[512];

    if (pr_read_array_len(r, &n, CP_MAX_TOPICS) != 0)
        return r->err;
    if (n < 0)
        n = 0;
    if (n > 0 && !(v = calloc((size_t)n, sizeof(*v))))
        return SL_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++) {
        int32_t na;
        pr_read_string(r, &v[i].name, NULL);
        v[i].count = pr_read_i32(r);
        v[i].assign_r = *r;
        pr_read_array_len(r, &na, CP_MAX_ASSIGN);
        for (int32_t a = 0; a < na; a++) {
            int32_t nb;
            pr_read_array_len(r, &nb, CP_MAX_BROKERS);
            for (int32_t k = 0; k < nb; k++)
                pr_read_i32(r);
            pr_skip_tagged_fields(r);
        }
        pr_skip_tagged_fields(r);
        if (r->err)
            break;
    }
    pr_read_i32(r);                            /* timeout_ms */
    validate_only = pr_read_bool(r);
    pr_skip_tagged_fields(r);
    if (r->err) {
        free(v);
        return r->err;
    }
    for (int32_t i = 0; i < n; i++) {
        for (int32_t j = 0; j < i && !v[i].dup; j++)
            if (!v[j].dup && v[i].name.len == v[j].name.len &&
                (v[i].name.len == 0 || memcmp(v[i].name.p, v[j].name.p, v[i].name.len) == 0)) {
                v[i].dup = 1;
                v[j].dup_first = 1;
            }
        nout += !v[i].dup;
    }
    if (!(resp = api_resp_begin(ctx, &w))) {
        free(v);
        return 0;
    }
    pr_write_i32(&w, 0);                       /* throttle_time_ms */
    pr_write_array_len(&w, nout);
    for (int32_t i = 0; i < n; i++) {
        int rc;
        if (v[i].dup)
            continue;
        if (v[i].dup_first) {
            snprintf(err, sizeof(err), "topic appears more than once in the request");
            rc = SL_ERR_INVALID_REQUEST;
        } else {
            rc = cp_one(ctx->b, &v[i], validate_only, err, sizeof(err));
            if (rc < 0) {
                if (!err[0])
                    snprintf(err, sizeof(err), "%s", sl_strerror(rc));
                rc = sl_err_to_wire(rc);
            }
        }
        pr_write_string_len(&w, v[i].name.p, v[i].name.len);
        pr_write_i16(&w, (int16_t)rc);
        pr_write_nullable_string(&w, err, strlen(err), rc == 0);
        pr_write_empty_tags(&w);
    }
    free(v);
    api_resp_finish(resp, &w);
    return 0;
}
