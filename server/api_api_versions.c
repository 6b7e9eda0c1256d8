/* server/api_api_versions.c -- ApiVersions (key 18), v0-3.
 *
 * Reports the dispatch table row by row. The response header is v0 at every
 * version (KIP-511): the client has to parse it before it knows anything.
 * v3 bodies are flexible (compact array, tagged fields per entry and at the
 * end); v1+ add ThrottleTimeMs after the array.
 */
#include "server/api.h"
#include "storage/err.h"

int
api_api_versions(struct req_ctx *ctx)
{
    const struct api_def *t = api_table();
    int16_t ver = ctx->hdr.api_version;
    struct pr_writer w;
    struct resp *r;
    int n = 0;

    if (ver >= 3) {
        /* ClientSoftwareName / ClientSoftwareVersion: read to validate framing */
        struct sl_slice s;
        int null;
        pr_read_string(&ctx->r, &s, &null);
        pr_read_string(&ctx->r, &s, &null);
        pr_skip_tagged_fields(&ctx->r);
        if (ctx->r.err)
            return ctx->r.err;
    }
    if (!(r = api_resp_begin(ctx, &w)))
        return 0;
    pr_write_i16(&w, 0);
    for (int k = 0; k < PR_API__NUM; k++)
        if (t[k].fn)
            n++;
    pr_write_array_len(&w, n);
    for (int k = 0; k < PR_API__NUM; k++) {
        if (!t[k].fn)
            continue;
        pr_write_i16(&w, (int16_t)k);
        pr_write_i16(&w, t[k].min);
        pr_write_i16(&w, t[k].max);
        pr_write_empty_tags(&w);
    }
    if (ver >= 1)
        pr_write_i32(&w, 0);   /* throttle */
    api_resp_finish(r, &w);
    return 0;
}
