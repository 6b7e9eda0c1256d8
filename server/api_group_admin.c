/* server/api_group_admin.c -- ListGroups (16), DescribeGroups (15),
 * DeleteGroups (42): what kcat -L -G style tools and the admin clients
 * use to look at groups. */
#include <string.h>
#include <strings.h>
#include "server/api.h"
#include "server/group.h"
#include "storage/err.h"

#define MAX_GROUPS 100000

int
api_list_groups(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    int16_t ver = ctx->hdr.api_version;
    struct sl_slice filters[16];
    int nfilters = 0;
    struct group_summary *v;
    int n, count = 0;
    struct pr_writer w;
    struct resp *resp;

    if (ver >= 4) {
        int32_t nf;
        if (pr_read_array_len(r, &nf, 16) != 0)
            return r->err ? r->err : SL_ERR__CORRUPT;
        for (int32_t i = 0; i < nf; i++) {
            int null;
            pr_read_string(r, &filters[nfilters++], &null);
        }
    }
    if (ctx->flexible)
        pr_skip_tagged_fields(r);
    if (r->err)
        return r->err;
    if (group_list(ctx->b->coord, &v, &n) != 0)
        return SL_ERR__NOMEM;
    if (!(resp = api_resp_begin(ctx, &w))) {
        group_list_free(v, n);
        return 0;
    }
    if (ver >= 1)
        pr_write_i32(&w, 0);
    pr_write_i16(&w, 0);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            pr_write_array_len(&w, count);
        for (int i = 0; i < n; i++) {
            int keep = nfilters == 0;
            for (int f = 0; f < nfilters; f++) {
                const char *s = group_state_name(v[i].state);
                if (strlen(s) == filters[f].len && strncasecmp(s, (const char *)filters[f].p, filters[f].len) == 0)
                    keep = 1;
            }
            if (!keep)
                continue;
            if (pass == 0) {
                count++;
                continue;
            }
            pr_write_string(&w, v[i].id);
            pr_write_string(&w, v[i].protocol_type);
            if (ver >= 4)
                pr_write_string(&w, group_state_name(v[i].state));
            pr_write_empty_tags(&w);
        }
    }
    group_list_free(v, n);
    api_resp_finish(resp, &w);
    return 0;
}

int
api_describe_groups(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    int16_t ver = ctx->hdr.api_version;
    int32_t n;
    size_t pos;
    struct pr_writer w;
    struct resp *resp;

    if (pr_read_array_len(r, &n, MAX_GROUPS) != 0 || n < 0)
        return r->err ? r->err : SL_ERR__CORRUPT;
    pos = r->pos;
    pr_skip_strings(r, n);
    if (ver >= 3)
        (void)pr_read_bool(r);
    if (ctx->flexible)
        pr_skip_tagged_fields(r);
    if (r->err)
        return r->err;
    if (!(resp = api_resp_begin(ctx, &w)))
        return 0;
    if (ver >= 1)
        pr_write_i32(&w, 0);
    pr_write_array_len(&w, n);
    r->pos = pos;
    for (int32_t i = 0; i < n; i++) {
        struct sl_slice g;
        pr_read_string(r, &g, NULL);
        group_describe(ctx->b->coord, &w, ver, g);
    }
    api_resp_finish(resp, &w);
    return 0;
}

int
api_delete_groups(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    int32_t n;
    size_t pos;
    struct pr_writer w;
    struct resp *resp;

    if (pr_read_array_len(r, &n, MAX_GROUPS) != 0 || n < 0)
        return r->err ? r->err : SL_ERR__CORRUPT;
    pos = r->pos;
    pr_skip_strings(r, n);
    if (ctx->flexible)
        pr_skip_tagged_fields(r);
    if (r->err)
        return r->err;
    if (!(resp = api_resp_begin(ctx, &w)))
        return 0;
    pr_write_i32(&w, 0);
    pr_write_array_len(&w, n);
    r->pos = pos;
    for (int32_t i = 0; i < n; i++) {
        struct sl_slice g;
        pr_read_string(r, &g, NULL);
        pr_write_string_len(&w, g.p, g.len);
        pr_write_i16(&w, (int16_t)group_delete(ctx->b->coord, g));
        pr_write_empty_tags(&w);
    }
    api_resp_finish(resp, &w);
    return 0;
}
