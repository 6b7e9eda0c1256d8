/* server/api_group.c -- FindCoordinator (10), JoinGroup (11), SyncGroup (14),
 * Heartbeat (12), LeaveGroup (13): decode, hand to the coordinator
 * (server/group.c), encode what it answers.
 *
 * This broker is the coordinator of every group (and, for FindCoordinator's
 * transaction key type, of every transactional id; transactions themselves
 * are refused at InitProducerId).
 */
#include <stdlib.h>
#include <string.h>
#include "server/api.h"
#include "server/group.h"
#include "storage/err.h"

#define MAX_PROTOCOLS 64
#define MAX_MEMBERS   100000
#define MAX_KEYS      10000

static void
write_coordinator(struct pr_writer *w, struct broker *b)
{
    pr_write_i32(w, b->node_id);
    pr_write_string(w, b->adv_host);
    pr_write_i32(w, b->adv_port);
}

int
api_find_coordinator(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    int16_t ver = ctx->hdr.api_version;
    struct pr_writer w;
    struct resp *resp;
    int8_t key_type = 0;

    if (ver <= 3) {
        struct sl_slice key;
        int null;
        pr_read_string(r, &key, &null);
        if (ver >= 1)
            key_type = pr_read_i8(r);
        if (r->err)
            return r->err;
        if (!(resp = api_resp_begin(ctx, &w)))
            return 0;
        if (ver >= 1)
            pr_write_i32(&w, 0);
        if (key_type != 0 && key_type != 1) {
            pr_write_i16(&w, SL_ERR_INVALID_REQUEST);
            if (ver >= 1)
                pr_write_string(&w, "unknown key type");
            pr_write_i32(&w, -1);
            pr_write_string(&w, "");
            pr_write_i32(&w, -1);
        } else {
            pr_write_i16(&w, 0);
            if (ver >= 1)
                pr_write_string(&w, NULL);
            write_coordinator(&w, ctx->b);
        }
        api_resp_finish(resp, &w);
        return 0;
    }
    /* v4: batched keys */
    int32_t n;
    key_type = pr_read_i8(r);
    if (pr_read_array_len(r, &n, MAX_KEYS) != 0 || n < 0)
        return r->err ? r->err : SL_ERR__CORRUPT;
    size_t keys_pos = r->pos;
    pr_skip_strings(r, n);
    pr_skip_tagged_fields(r);
    if (r->err)
        return r->err;
    if (!(resp = api_resp_begin(ctx, &w)))
        return 0;
    pr_write_i32(&w, 0);
    pr_write_array_len(&w, n);
    r->pos = keys_pos;
    for (int32_t i = 0; i < n; i++) {
        struct sl_slice k;
        pr_read_string(r, &k, NULL);
        pr_write_string_len(&w, k.p, k.len);
        if (key_type != 0 && key_type != 1) {
            pr_write_i32(&w, -1);
            pr_write_string(&w, "");
            pr_write_i32(&w, -1);
            pr_write_i16(&w, SL_ERR_INVALID_REQUEST);
            pr_write_string(&w, "unknown key type");
        } else {
            write_coordinator(&w, ctx->b);
            pr_write_i16(&w, 0);
            pr_write_string(&w, NULL);
        }
        pr_write_empty_tags(&w);
    }
    api_resp_finish(resp, &w);
    return 0;
}

int
api_join_group(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    int16_t ver = ctx->hdr.api_version;
    struct join_req jr;
    struct join_protocol protos[MAX_PROTOCOLS];
    int null;
    int32_t n;

    memset(&jr, 0, sizeof(jr));
    jr.instance_null = 1;
    pr_read_string(r, &jr.group, &null);
    jr.session_timeout = pr_read_i32(r);
    jr.rebalance_timeout = ver >= 1 ? pr_read_i32(r) : jr.session_timeout;
    pr_read_string(r, &jr.member, &null);
    if (ver >= 5)
        pr_read_string(r, &jr.instance, &jr.instance_null);
    pr_read_string(r, &jr.protocol_type, &null);
    if (pr_read_array_len(r, &n, MAX_PROTOCOLS) != 0 || n < 0)
        return r->err ? r->err : SL_ERR__CORRUPT;
    for (int32_t i = 0; i < n; i++) {
        pr_read_string(r, &protos[i].name, &null);
        pr_read_bytes(r, &protos[i].meta, &null);
        if (ctx->flexible)
            pr_skip_tagged_fields(r);
    }
    if (ver >= 8) {
        struct sl_slice reason;
        pr_read_string(r, &reason, &null);
    }
    if (ctx->flexible)
        pr_skip_tagged_fields(r);
    if (r->err)
        return r->err;
    jr.client_id = ctx->hdr.client_id;
    jr.nprotocols = n;
    jr.protocols = protos;
    group_join(ctx->b->coord, ctx, &jr);
    return 0;
}

int
api_sync_group(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    int16_t ver = ctx->hdr.api_version;
    struct sync_req sr;
    int null;
    int32_t n;

    memset(&sr, 0, sizeof(sr));
    sr.instance_null = sr.protocol_type_null = sr.protocol_name_null = 1;
    pr_read_string(r, &sr.group, &null);
    sr.generation = pr_read_i32(r);
    pr_read_string(r, &sr.member, &null);
    if (ver >= 3)
        pr_read_string(r, &sr.instance, &sr.instance_null);
    if (ver >= 5) {
        pr_read_string(r, &sr.protocol_type, &sr.protocol_type_null);
        pr_read_string(r, &sr.protocol_name, &sr.protocol_name_null);
    }
    if (pr_read_array_len(r, &n, MAX_MEMBERS) != 0 || n < 0)
        return r->err ? r->err : SL_ERR__CORRUPT;
    sr.assign = calloc((size_t)(n ? n : 1), sizeof(*sr.assign));
    if (!sr.assign)
        return SL_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++) {
        pr_read_string(r, &sr.assign[i].member, &null);
        pr_read_bytes(r, &sr.assign[i].assignment, &null);
        if (ctx->flexible)
            pr_skip_tagged_fields(r);
    }
    if (ctx->flexible)
        pr_skip_tagged_fields(r);
    if (r->err) {
        free(sr.assign);
        return r->err;
    }
    sr.nassign = n;
    group_sync(ctx->b->coord, ctx, &sr);
    free(sr.assign);
    return 0;
}

int
api_heartbeat(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    int16_t ver = ctx->hdr.api_version;
    struct sl_slice group, member, instance = { NULL, 0 };
    int null, instance_null = 1, err;
    int32_t generation;
    struct pr_writer w;
    struct resp *resp;

    pr_read_string(r, &group, &null);
    generation = pr_read_i32(r);
    pr_read_string(r, &member, &null);
    if (ver >= 3)
        pr_read_string(r, &instance, &instance_null);
    if (ctx->flexible)
        pr_skip_tagged_fields(r);
    if (r->err)
        return r->err;
    err = group_heartbeat(ctx->b->coord, group, member, instance, instance_null, generation);
    if (!(resp = api_resp_begin(ctx, &w)))
        return 0;
    if (ver >= 1)
        pr_write_i32(&w, 0);
    pr_write_i16(&w, (int16_t)err);
    api_resp_finish(resp, &w);
    return 0;
}

int
api_leave_group(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    int16_t ver = ctx->hdr.api_version;
    struct sl_slice group, member;
    int null;
    struct pr_writer w;
    struct resp *resp;

    pr_read_string(r, &group, &null);
    if (ver <= 2) {
        pr_read_string(r, &member, &null);
        if (r->err)
            return r->err;
        int err = group_leave(ctx->b->coord, group, member, (struct sl_slice){ NULL, 0 }, 1);
        if (!(resp = api_resp_begin(ctx, &w)))
            return 0;
        if (ver >= 1)
            pr_write_i32(&w, 0);
        pr_write_i16(&w, (int16_t)err);
        api_resp_finish(resp, &w);
        return 0;
    }
    int32_t n;
    if (pr_read_array_len(r, &n, MAX_MEMBERS) != 0 || n < 0)
        return r->err ? r->err : SL_ERR__CORRUPT;
    size_t members_pos = r->pos;
    for (int32_t i = 0; i < n; i++) {   /* validate framing first */
        struct sl_slice m, inst, reason;
        int in;
        pr_read_string(r, &m, &null);
        pr_read_string(r, &inst, &in);
        if (ver >= 5)
            pr_read_string(r, &reason, &null);
        if (ctx->flexible)
            pr_skip_tagged_fields(r);
    }
    if (ctx->flexible)
        pr_skip_tagged_fields(r);
    if (r->err)
        return r->err;
    if (!(resp = api_resp_begin(ctx, &w)))
        return 0;
    pr_write_i32(&w, 0);
    pr_write_i16(&w, n == 0 ? SL_ERR_INVALID_REQUEST : 0);
    pr_write_array_len(&w, n);
    r->pos = members_pos;
    for (int32_t i = 0; i < n; i++) {
        struct sl_slice m, inst, reason;
        int in;
        pr_read_string(r, &m, &null);
        pr_read_string(r, &inst, &in);
        if (ver >= 5)
            pr_read_string(r, &reason, &null);
        if (ctx->flexible)
            pr_skip_tagged_fields(r);
        int err = group_leave(ctx->b->coord, group, m, inst, in);
        pr_write_string_len(&w, m.p, m.len);
        pr_write_nullable_string(&w, inst.p, inst.len, in);
        pr_write_i16(&w, (int16_t)err);
        pr_write_empty_tags(&w);
    }
    api_resp_finish(resp, &w);
    return 0;
}
