/* server/api.c -- the dispatch table and request routing.
 *
 * The table is the single source of truth for what Sluice speaks:
 * ApiVersions reports it row by row, and dispatch refuses anything outside
 * it. Version floors follow PROTOCOL.md §1.7: every group API,
 * FindCoordinator and InitProducerId start at 0 (librdkafka's feature
 * probes), and so does Produce (librdkafka compresses only then; v0-2
 * requests are answered, their legacy message sets refused); Fetch starts
 * at 4, so no client asks for the legacy MessageSet formats.
 */
#include <string.h>
#include "server/api.h"
#include "storage/err.h"
#include "storage/log.h"

static const struct api_def table[PR_API__NUM] = {
    [PR_API_PRODUCE]                   = { 0, 8, 9, api_produce },
    [PR_API_FETCH]                     = { 4, 11, 12, api_fetch },
    [PR_API_LIST_OFFSETS]              = { 0, 7, 6, api_list_offsets },
    [PR_API_METADATA]                  = { 0, 8, 9, api_metadata },
    [PR_API_API_VERSIONS]              = { 0, 3, 3, api_api_versions },
    [PR_API_FIND_COORDINATOR]          = { 0, 4, 3, api_find_coordinator },
    [PR_API_JOIN_GROUP]                = { 0, 7, 6, api_join_group },
    [PR_API_SYNC_GROUP]                = { 0, 5, 4, api_sync_group },
    [PR_API_HEARTBEAT]                 = { 0, 4, 4, api_heartbeat },
    [PR_API_LEAVE_GROUP]               = { 0, 4, 4, api_leave_group },
    [PR_API_OFFSET_COMMIT]             = { 0, 8, 8, api_offset_commit },
    [PR_API_OFFSET_FETCH]              = { 0, 8, 6, api_offset_fetch },
    [PR_API_OFFSET_DELETE]             = { 0, 0, -1, api_offset_delete },
    [PR_API_LIST_GROUPS]               = { 0, 4, 3, api_list_groups },
    [PR_API_DESCRIBE_GROUPS]           = { 0, 5, 5, api_describe_groups },
    [PR_API_DELETE_GROUPS]             = { 0, 2, 2, api_delete_groups },
    [PR_API_INIT_PRODUCER_ID]          = { 0, 4, 2, api_init_producer_id },
    [PR_API_CREATE_TOPICS]             = { 0, 4, 5, api_create_topics },
    [PR_API_DELETE_TOPICS]             = { 0, 3, 4, api_delete_topics },
    [PR_API_DESCRIBE_CONFIGS]          = { 0, 3, 4, api_describe_configs },
    [PR_API_ALTER_CONFIGS]             = { 0, 1, 2, api_alter_configs },
    [PR_API_CREATE_PARTITIONS]         = { 0, 1, 2, api_create_partitions },
    [PR_API_INCREMENTAL_ALTER_CONFIGS] = { 0, 1, 1, api_incremental_alter_configs },
    [PR_API_DESCRIBE_CLUSTER]          = { 0, 0, 0, api_describe_cluster },
};

const struct api_def *
api_table(void)
{
    return table;
}

struct resp *
api_resp_begin(struct req_ctx *ctx, struct pr_writer *w)
{
    const struct api_def *d = &table[ctx->hdr.api_key];
    struct resp *r = conn_resp_begin(ctx->c);

    if (!r) {
        conn_close(ctx->c);
        return NULL;
    }
    pr_writer_init(w, resp_buf(r), 0);
    pr_write_resp_hdr(w, ctx->hdr.correlation_id,
                      pr_resp_header_version(ctx->hdr.api_key, ctx->hdr.api_version, d->flex_min));
    w->flexible = ctx->flexible;
    return r;
}

void
api_resp_finish(struct resp *r, struct pr_writer *w)
{
    pr_write_empty_tags(w);
    resp_complete(r);
}

/* An ApiVersions request at a version we do not know: answer in v0 with
 * UNSUPPORTED_VERSION and our ApiVersions range, so the client can retry
 * (KIP-511; librdkafka falls back this way). */
static void
unsupported_api_versions(struct conn *c, int32_t corr)
{
    struct resp *r = conn_resp_begin(c);
    struct pr_writer w;

    if (!r) {
        conn_close_after_replies(c);
        return;
    }
    pr_writer_init(&w, resp_buf(r), 0);
    pr_write_i32(&w, corr);
    pr_write_i16(&w, SL_ERR_UNSUPPORTED_VERSION);
    pr_write_array_len(&w, 1);
    pr_write_i16(&w, PR_API_API_VERSIONS);
    pr_write_i16(&w, table[PR_API_API_VERSIONS].min);
    pr_write_i16(&w, table[PR_API_API_VERSIONS].max);
    resp_complete(r);
}

void
api_dispatch(struct broker *b, struct conn *c, uint8_t *frame, size_t len)
{
    struct req_ctx ctx;
    const struct api_def *d;
    int16_t key, ver;
    int rc;

    if (pr_peek_req_key(frame, len, &key, &ver) != 0) {
        conn_close_after_replies(c);
        return;
    }
    if (key < 0 || key >= PR_API__NUM || !table[key].fn) {
        SL_DEBUG("api", "%s: unknown API key %d, closing", conn_peer(c), key);
        conn_close_after_replies(c);
        return;
    }
    d = &table[key];
    memset(&ctx, 0, sizeof(ctx));
    ctx.b = b;
    ctx.lc = loop_data(conn_loop(c));
    ctx.c = c;
    ctx.frame = frame;
    ctx.frame_len = len;
    if (ver < d->min || ver > d->max) {
        if (key == PR_API_API_VERSIONS) {
            struct pr_reader r;
            pr_reader_init(&r, frame, len, 0);
            if (pr_parse_req_hdr(&r, 1, &ctx.hdr) != 0 && len >= 8) {
                ctx.hdr.correlation_id = (int32_t)((uint32_t)frame[4] << 24 | (uint32_t)frame[5] << 16 |
                                                   (uint32_t)frame[6] << 8 | frame[7]);
            }
            unsupported_api_versions(c, ctx.hdr.correlation_id);
            return;
        }
        SL_DEBUG("api", "%s: %s v%d not supported, closing", conn_peer(c), pr_api_name(key), ver);
        conn_close_after_replies(c);
        return;
    }
    pr_reader_init(&ctx.r, frame, len, 0);
    if (pr_parse_req_hdr(&ctx.r, pr_req_header_version(key, ver, d->flex_min), &ctx.hdr) != 0) {
        conn_close_after_replies(c);
        return;
    }
    ctx.flexible = d->flex_min >= 0 && ver >= d->flex_min;
    ctx.r.flexible = ctx.flexible;
    rc = d->fn(&ctx);
    if (rc != 0) {
        SL_DEBUG("api", "%s: bad %s v%d request (%s), closing", conn_peer(c), pr_api_name(key),
                 ver, sl_strerror(rc));
        conn_close_after_replies(c);
    }
}
