/* server/api_describe_cluster.c -- DescribeCluster (key 60), v0 (flexible).
 *
 * Request: include_cluster_authorized_operations bool, tags.
 * Response: throttle_time_ms, error_code, error_message nullable,
 * cluster_id, controller_id, brokers [broker_id, host, port, rack nullable,
 * tags], cluster_authorized_operations int32, tags.
 *
 * Single broker: it is the controller and the only broker, at its
 * advertised address. There is no authorizer, so when asked, every cluster
 * operation is authorized (Kafka's bit field: ALTER 4, CREATE 5,
 * CLUSTER_ACTION 7, DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11,
 * IDEMPOTENT_WRITE 12); otherwise INT32_MIN, "not requested".
 *
 * Threading: any loop thread.
 */
#include <stdint.h>
#include "server/api.h"
#include "storage/err.h"

#define DCL_OPS_ALL ((1 << 4) | (1 << 5) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11) | (1 << 12))

int
api_describe_cluster(struct req_ctx *ctx)
{
    struct broker *b = ctx->b;
    const char *rack = b->conf->broker_rack;
    struct pr_writer w;
    struct resp *resp;
    int include_ops;

    include_ops = pr_read_bool(&ctx->r);
    pr_skip_tagged_fields(&ctx->r);
    if (ctx->r.err)
        return ctx->r.err;
    if (!(resp = api_resp_begin(ctx, &w)))
        return 0;
    pr_write_i32(&w, 0);                       /* throttle_time_ms */
    pr_write_i16(&w, 0);                       /* error_code */
    pr_write_string(&w, NULL);                 /* error_message */
    pr_write_string(&w, topics_cluster_id(b->topics));
    pr_write_i32(&w, b->node_id);              /* controller_id */
    pr_write_array_len(&w, 1);
    pr_write_i32(&w, b->node_id);
    pr_write_string(&w, b->adv_host);
    pr_write_i32(&w, b->adv_port);
    pr_write_string(&w, rack[0] ? rack : NULL);
    pr_write_empty_tags(&w);
    pr_write_i32(&w, include_ops ? DCL_OPS_ALL : INT32_MIN);
    api_resp_finish(resp, &w);
    return 0;
}
