/* server/api_create_topics.c -- CreateTopics (key 19), v0-4.
 *
 * Request (Kafka's CreateTopicsRequest.json; v5+ would be flexible, the
 * decoder already skips tagged fields at every struct end):
 *   topics [name, num_partitions int32, replication_factor int16,
 *           assignments [partition_index int32, broker_ids [int32]],
 *           configs [name, value nullable]]
 *   timeout_ms int32, validate_only bool (v1+)
 * Response: throttle_time_ms (v2+), topics [name, error_code,
 *           error_message nullable (v1+)].
 *
 * The request is decoded completely before anything is created (validate_only
 * comes last, and a malformed request must change nothing): pass one records
 * each topic's scalars and a reader snapshot of its assignments and configs;
 * pass two creates.
 *
 * Decisions (single broker):
 *  - Manual assignments are honoured when they describe partitions
 *    0..n-1 exactly once, each on [this node]; num_partitions and
 *    replication_factor must then be -1 (INVALID_REQUEST otherwise, as
 *    Kafka). Any other broker id, replica count or partition numbering ->
 *    INVALID_REPLICA_ASSIGNMENT.
 *  - A topic named twice in one request gets INVALID_REQUEST, reported once
 *    (Kafka's response is keyed by name; librdkafka rejects a repeated name).
 *  - Creation is synchronous, so the result is final whatever timeout_ms says
 *    (Kafka answers REQUEST_TIMED_OUT for timeout <= 0 while the creation
 *    goes on; librdkafka hides that code anyway).
 *
 * Threading: any loop thread; the topics registry locks itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/api.h"
#include "storage/err.h"

#define CT_MAX_TOPICS   100000
#define CT_MAX_ASSIGN   100000
#define CT_MAX_BROKERS  1000
#define CT_MAX_CONFIGS  10000

struct ct_topic {
    struct sl_slice  name;
    int              name_null;
    int32_t          nparts;
    int16_t          rf;
    struct pr_reader assign_r;    /* at the assignments array */
    int32_t          nassign;
    struct pr_reader conf_r;      /* at the first config entry */
    int32_t          nconf;
    size_t           conf_bytes;  /* bytes of the configs entries */
    int              dup;         /* 1: same name as an earlier entry */
    int              dup_first;   /* 1: first of a repeated name */
};

/* Pass one: the whole body, every length checked. */
static int
ct_decode(struct pr_reader *r, int16_t ver, struct ct_topic **out, int32_t *n_out,
          int *validate_only)
{
    struct ct_topic *v = NULL;
    int32_t n;

    *out = NULL;
    *n_out = 0;
    if (pr_read_array_len(r, &n, CT_MAX_TOPICS) != 0)
        return r->err;
    if (n < 0)
        n = 0;
    if (n > 0 && !(v = calloc((size_t)n, sizeof(*v))))
        return SL_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++) {
        struct ct_topic *t = &v[i];
        size_t start;
        pr_read_string(r, &t->name, &t->name_null);
        t->nparts = pr_read_i32(r);
        t->rf = pr_read_i16(r);
        t->assign_r = *r;
        pr_read_array_len(r, &t->nassign, CT_MAX_ASSIGN);
        for (int32_t a = 0; a < t->nassign; a++) {
            int32_t nb;
            pr_read_i32(r);
            pr_read_array_len(r, &nb, CT_MAX_BROKERS);
            for (int32_t k = 0; k < nb; k++)
                pr_read_i32(r);
            pr_skip_tagged_fields(r);
        }
        pr_read_array_len(r, &t->nconf, CT_MAX_CONFIGS);
        t->conf_r = *r;
        start = r->pos;
        for (int32_t c = 0; c < t->nconf; c++) {
            struct sl_slice s;
            pr_read_string(r, &s, NULL);
            pr_read_string(r, &s, NULL);
            pr_skip_tagged_fields(r);
        }
        t->conf_bytes = r->pos - start;
        pr_skip_tagged_fields(r);
        PR_CHECK(r, fail);
    }
    pr_read_i32(r);                            /* timeout_ms */
    *validate_only = ver >= 1 ? pr_read_bool(r) : 0;
    pr_skip_tagged_fields(r);
    PR_CHECK(r, fail);
    *out = v;
    *n_out = n;
    return 0;
fail:
    free(v);
    return r->err;
}

/* Manual assignment: the partition count it describes, or an error. */
static int
ct_check_assignments(const struct ct_topic *t, int32_t node_id, int32_t *nparts,
                     char *err, size_t errlen)
{
    struct pr_reader r = t->assign_r;
    int32_t n, np;
    uint8_t *seen;
    int rc = 0;

    pr_read_array_len(&r, &n, CT_MAX_ASSIGN);
    if (t->nparts != -1 || t->rf != -1) {
        snprintf(err, errlen, "both num_partitions or replication_factor and manual "
                              "assignments were set; use one or the other");
        return SL_ERR_INVALID_REQUEST;
    }
    np = n;
    if (!(seen = calloc((size_t)np, 1)))
        return SL_ERR__NOMEM;
    for (int32_t a = 0; a < n && rc == 0; a++) {
        int32_t p = pr_read_i32(&r), nb;
        pr_read_array_len(&r, &nb, CT_MAX_BROKERS);
        if (p < 0 || p >= np || seen[p]) {
            snprintf(err, errlen, "partitions must be numbered 0..%d, each once (got %d)",
                     np - 1, p);
            rc = SL_ERR_INVALID_REPLICA_ASSIGNMENT;
        } else if (nb != 1) {
            snprintf(err, errlen, "partition %d has %d replicas; only 1 broker is available",
                     p, nb);
            rc = SL_ERR_INVALID_REPLICA_ASSIGNMENT;
        } else {
            seen[p] = 1;
        }
        for (int32_t k = 0; k < nb; k++) {
            int32_t id = pr_read_i32(&r);
            if (rc == 0 && id != node_id) {
                snprintf(err, errlen, "unknown broker %d in the assignment of partition %d",
                         id, p);
                rc = SL_ERR_INVALID_REPLICA_ASSIGNMENT;
            }
        }
        pr_skip_tagged_fields(&r);
    }
    free(seen);
    *nparts = np;
    return rc;
}

/* Create (or validate) one topic. 0 or a wire error with err filled. */
static int
ct_create_one(struct broker *b, const struct ct_topic *t, int validate_only,
              char *err, size_t errlen)
{
    char name[TOPIC_NAME_MAX + 1];
    int32_t nparts = t->nparts, rf = t->rf;
    const char **keys = NULL, **values = NULL;
    char *arena = NULL, *ap;
    int rc;

    err[0] = '\0';
    if (t->name_null || t->name.len > TOPIC_NAME_MAX ||
        !topic_name_valid((const char *)t->name.p, t->name.len)) {
        snprintf(err, errlen, "topic name '%.*s' is illegal: use 1-%d of [a-zA-Z0-9._-]",
                 (int)(t->name.len > 300 ? 300 : t->name.len),
                 t->name.p ? (const char *)t->name.p : "", TOPIC_NAME_MAX);
        return SL_ERR_INVALID_TOPIC_EXCEPTION;
    }
    memcpy(name, t->name.p, t->name.len);
    name[t->name.len] = '\0';
    if (t->nassign > 0) {
        if ((rc = ct_check_assignments(t, b->node_id, &nparts, err, errlen)) != 0)
            return rc;
        rf = 1;
    }
    if (t->nconf > 0) {
        struct pr_reader r = t->conf_r;
        keys = calloc((size_t)t->nconf, sizeof(*keys));
        values = calloc((size_t)t->nconf, sizeof(*values));
        arena = malloc(t->conf_bytes + 2 * (size_t)t->nconf);
        if (!keys || !values || !arena) {
            rc = SL_ERR__NOMEM;
            goto out;
        }
        ap = arena;
        for (int32_t c = 0; c < t->nconf; c++) {
            struct sl_slice k, v;
            int vnull;
            pr_read_string(&r, &k, NULL);
            pr_read_string(&r, &v, &vnull);
            pr_skip_tagged_fields(&r);
            if (k.len)    /* a null name: p NULL, len 0 */
                memcpy(ap, k.p, k.len);
            ap[k.len] = '\0';
            keys[c] = ap;
            ap += k.len + 1;
            if (vnull) {
                values[c] = NULL;
            } else {
                if (v.len)
                    memcpy(ap, v.p, v.len);
                ap[v.len] = '\0';
                values[c] = ap;
                ap += v.len + 1;
            }
            if (strlen(keys[c]) != k.len || (values[c] && strlen(values[c]) != v.len)) {
                snprintf(err, errlen, "config %s: NUL byte in name or value", keys[c]);
                rc = SL_ERR_INVALID_CONFIG;
                goto out;
            }
        }
    }
    rc = topics_create(b->topics, name, nparts, rf, t->nconf > 0 ? t->nconf : 0, keys, values, validate_only,
                       0, NULL, err, errlen);
out:
    free(keys);
    free(values);
    free(arena);
    return rc;
}

static int
slice_eq(struct sl_slice a, struct sl_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

int
api_create_topics(struct req_ctx *ctx)
{
    int16_t ver = ctx->hdr.api_version;
    struct ct_topic *v;
    struct pr_writer w;
    struct resp *resp;
    int32_t n;
    int validate_only = 0, rc;
    char err[512];

    if ((rc = ct_decode(&ctx->r, ver, &v, &n, &validate_only)) != 0)
        return rc;
    for (int32_t i = 0; i < n; i++)
        for (int32_t j = 0; j < i && !v[i].dup; j++)
            if (!v[j].dup && slice_eq(v[i].name, v[j].name)) {
                v[i].dup = 1;
                v[j].dup_first = 1;
            }
    if (!(resp = api_resp_begin(ctx, &w))) {
        free(v);
        return 0;
    }
    if (ver >= 2)
        pr_write_i32(&w, 0);                   /* throttle_time_ms */
    {
        int32_t nout = 0;
        for (int32_t i = 0; i < n; i++)
            nout += !v[i].dup;
        pr_write_array_len(&w, nout);
    }
    for (int32_t i = 0; i < n; i++) {
        const struct ct_topic *t = &v[i];
        if (t->dup)
            continue;
        if (t->dup_first) {
            snprintf(err, sizeof(err), "topic '%.*s' appears more than once in the request",
                     (int)(t->name.len > 300 ? 300 : t->name.len),
                     t->name.p ? (const char *)t->name.p : "");
            rc = SL_ERR_INVALID_REQUEST;
        } else {
            rc = ct_create_one(ctx->b, t, validate_only, err, sizeof(err));
            if (rc < 0) {                      /* internal code: map it */
                if (!err[0])
                    snprintf(err, sizeof(err), "%s", sl_strerror(rc));
                rc = sl_err_to_wire(rc);
            }
        }
        pr_write_string_len(&w, t->name.p, t->name.len);
        pr_write_i16(&w, (int16_t)rc);
        if (ver >= 1)
            pr_write_nullable_string(&w, err, strlen(err), rc == 0);
        pr_write_empty_tags(&w);
    }
    free(v);
    api_resp_finish(resp, &w);
    return 0;
}
