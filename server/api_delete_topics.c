/* server/api_delete_topics.c -- DeleteTopics (key 20), v0-3.
 *
 * Request: topic_names [string], timeout_ms int32 (v4+ would be flexible;
 * v6 switches to topics [name, topic_id]).
 * Response: throttle_time_ms (v1+), responses [name, error_code].
 *
 * Per name: UNKNOWN_TOPIC_OR_PARTITION if there is no such topic (an
 * over-long or illegal name cannot exist, so it gets the same answer),
 * TOPIC_DELETION_DISABLED (73) when delete.topic.enable=false,
 * INVALID_REQUEST for an internal topic (__consumer_offsets: Sluice's choice;
 * deleting it would lose every committed offset). A name given twice is
 * answered once (Kafka's response is keyed by name). The topic leaves
 * lookups at once; its directories are renamed now and removed when the last
 * reference goes (server/topic.h), so the answer is final whatever
 * timeout_ms says.
 *
 * Threading: any loop thread.
 */
#include <stdlib.h>
#include <string.h>
#include "server/api.h"
#include "storage/err.h"

#define DT_MAX_TOPICS 100000
#define DT_ERR_TOPIC_DELETION_DISABLED 73

static int
dt_one(struct broker *b, struct sl_slice name)
{
    struct topic *t;
    int internal;

    if (!b->conf->delete_topic_enable)
        return DT_ERR_TOPIC_DELETION_DISABLED;
    if (!name.p)                               /* null name: no such topic */
        return SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (!(t = topics_get(b->topics, (const char *)name.p, name.len)))
        return SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    internal = t->internal;
    topic_put(t);
    if (internal)
        return SL_ERR_INVALID_REQUEST;
    return sl_err_to_wire(topics_delete(b->topics, (const char *)name.p, name.len));
}

int
api_delete_topics(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    int16_t ver = ctx->hdr.api_version;
    struct sl_slice *names = NULL;
    struct pr_writer w;
    struct resp *resp;
    int32_t n, nout = 0;
    uint8_t *dup = NULL;

    if (pr_read_array_len(r, &n, DT_MAX_TOPICS) != 0)
        return r->err;
    if (n < 0)
        n = 0;
    if (n > 0 && (!(names = calloc((size_t)n, sizeof(*names))) || !(dup = calloc((size_t)n, 1)))) {
        free(names);
        return SL_ERR__NOMEM;
    }
    for (int32_t i = 0; i < n; i++)
        pr_read_string(r, &names[i], NULL);
    pr_read_i32(r);                            /* timeout_ms */
    pr_skip_tagged_fields(r);
    if (r->err) {
        free(names);
        free(dup);
        return r->err;
    }
    for (int32_t i = 0; i < n; i++) {
        for (int32_t j = 0; j < i && !dup[i]; j++)
            if (!dup[j] && names[i].len == names[j].len &&
                (names[i].len == 0 || memcmp(names[i].p, names[j].p, names[i].len) == 0))
                dup[i] = 1;
        nout += !dup[i];
    }
    if (!(resp = api_resp_begin(ctx, &w))) {
        free(names);
        free(dup);
        return 0;
    }
    if (ver >= 1)
        pr_write_i32(&w, 0);                   /* throttle_time_ms */
    pr_write_array_len(&w, nout);
    for (int32_t i = 0; i < n; i++) {
        if (dup[i])
            continue;
        pr_write_string_len(&w, names[i].p, names[i].len);
        pr_write_i16(&w, (int16_t)dt_one(ctx->b, names[i]));
        pr_write_empty_tags(&w);
    }
    free(names);
    free(dup);
    api_resp_finish(resp, &w);
    return 0;
}
