/* client/admin.c -- topic administration: CreateTopics v1, DeleteTopics v1,
 * CreatePartitions v0, DescribeConfigs v1, IncrementalAlterConfigs v0
 * (AlterConfigs v0 as a fallback). Each is one synchronous request to the
 * controller when it is known, else to any broker.
 */
#include <stdlib.h>
#include <string.h>
#include "client/sluice_int.h"

#define RESOURCE_TOPIC 2

static int
admin_broker(struct sluice *sl, int16_t key, int16_t ver, struct slc_broker **out)
{
    int rc = slc_any_broker(sl, out);
    if (rc)
        return rc;
    return slc_check_version(sl, *out, key, ver);
}

static int
topic_error(struct sluice *sl, const char *what, const char *name, int16_t ec, struct sl_slice *msg, int has_msg)
{
    if (ec == 0)
        return 0;
    if (has_msg && msg->len)
        return slc_seterr(sl, ec, "%s '%s': %s: %.*s", what, name, sluice_strerror(ec), (int)msg->len,
                          (const char *)msg->p);
    return slc_seterr(sl, ec, "%s '%s': %s", what, name, sluice_strerror(ec));
}

int
sluice_create_topic(struct sluice *sl, const char *name, int32_t partitions, int16_t rf,
                    const char *const *configs, int nconfigs)
{
    struct slc_broker *b;
    struct pr_writer w;
    struct pr_reader r;
    struct sl_slice s, msg = { 0 };
    int32_t corr, n;
    int16_t ec = 0;
    int rc, i;

    sl->errmsg[0] = 0;
    for (i = 0; i < nconfigs; i++)
        if (!strchr(configs[i], '=') || configs[i][0] == '=')
            return slc_seterr(sl, SLUICE_ERR_INVALID_ARG, "bad config '%s' (want key=value)", configs[i]);
    if ((rc = admin_broker(sl, PR_API_CREATE_TOPICS, SLC_V_CREATE_TOPICS, &b)) != 0)
        return rc;
    sl_buf_reset(&sl->req);
    slc_req_begin(b, &sl->req, &w, PR_API_CREATE_TOPICS, SLC_V_CREATE_TOPICS, sl->client_id, &corr);
    pr_write_array_len(&w, 1);
    pr_write_string(&w, name);
    pr_write_i32(&w, partitions);
    pr_write_i16(&w, rf);
    pr_write_array_len(&w, 0);
    pr_write_array_len(&w, nconfigs);
    for (i = 0; i < nconfigs; i++) {
        const char *eq = strchr(configs[i], '=');
        pr_write_string_len(&w, configs[i], (size_t)(eq - configs[i]));
        pr_write_string(&w, eq + 1);
    }
    pr_write_i32(&w, sl->conf.request_timeout_ms);
    pr_write_bool(&w, 0);
    if ((rc = slc_call(sl, b, corr, &r)) != 0)
        return rc;
    pr_read_array_len(&r, &n, 1000);
    for (i = 0; i < n && !r.err; i++) {
        int isnull;
        pr_read_string(&r, &s, NULL);
        ec = pr_read_i16(&r);
        pr_read_string(&r, &msg, &isnull);
    }
    if (r.err || n != 1)
        return slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad CreateTopics response");
    if (ec == 0)
        sl->md_stale = 1;
    return topic_error(sl, "create topic", name, ec, &msg, 1);
}

int
sluice_delete_topic(struct sluice *sl, const char *name)
{
    struct slc_broker *b;
    struct pr_writer w;
    struct pr_reader r;
    struct sl_slice s;
    int32_t corr, n;
    int16_t ec = 0;
    int rc, i;

    sl->errmsg[0] = 0;
    if ((rc = admin_broker(sl, PR_API_DELETE_TOPICS, SLC_V_DELETE_TOPICS, &b)) != 0)
        return rc;
    sl_buf_reset(&sl->req);
    slc_req_begin(b, &sl->req, &w, PR_API_DELETE_TOPICS, SLC_V_DELETE_TOPICS, sl->client_id, &corr);
    pr_write_array_len(&w, 1);
    pr_write_string(&w, name);
    pr_write_i32(&w, sl->conf.request_timeout_ms);
    if ((rc = slc_call(sl, b, corr, &r)) != 0)
        return rc;
    pr_read_i32(&r);
    pr_read_array_len(&r, &n, 1000);
    for (i = 0; i < n && !r.err; i++) {
        pr_read_string(&r, &s, NULL);
        ec = pr_read_i16(&r);
    }
    if (r.err || n != 1)
        return slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad DeleteTopics response");
    sl->md_stale = 1;
    return topic_error(sl, "delete topic", name, ec, NULL, 0);
}

int
sluice_create_partitions(struct sluice *sl, const char *name, int32_t total)
{
    struct slc_broker *b;
    struct pr_writer w;
    struct pr_reader r;
    struct sl_slice s, msg = { 0 };
    int32_t corr, n;
    int16_t ec = 0;
    int rc, i;

    sl->errmsg[0] = 0;
    if ((rc = admin_broker(sl, PR_API_CREATE_PARTITIONS, SLC_V_CREATE_PARTS, &b)) != 0)
        return rc;
    sl_buf_reset(&sl->req);
    slc_req_begin(b, &sl->req, &w, PR_API_CREATE_PARTITIONS, SLC_V_CREATE_PARTS, sl->client_id, &corr);
    pr_write_array_len(&w, 1);
    pr_write_string(&w, name);
    pr_write_i32(&w, total);
    pr_write_array_len(&w, -1);
    pr_write_i32(&w, sl->conf.request_timeout_ms);
    pr_write_bool(&w, 0);
    if ((rc = slc_call(sl, b, corr, &r)) != 0)
        return rc;
    pr_read_i32(&r);
    pr_read_array_len(&r, &n, 1000);
    for (i = 0; i < n && !r.err; i++) {
        int isnull;
        pr_read_string(&r, &s, NULL);
        ec = pr_read_i16(&r);
        pr_read_string(&r, &msg, &isnull);
    }
    if (r.err || n != 1)
        return slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad CreatePartitions response");
    sl->md_stale = 1;
    return topic_error(sl, "create partitions for", name, ec, &msg, 1);
}

void
sluice_configs_free(struct sluice_config_entry *e, int n)
{
    int i;
    if (!e)
        return;
    for (i = 0; i < n; i++) {
        free(e[i].name);
        free(e[i].value);
    }
    free(e);
}

int
sluice_describe_topic_configs(struct sluice *sl, const char *name, struct sluice_config_entry **out, int *nout)
{
    struct slc_broker *b;
    struct pr_writer w;
    struct pr_reader r;
    struct sl_slice s, msg;
    int32_t corr, n, nc, i, j, ns;
    int16_t ec = 0;
    int rc, isnull;
    struct sluice_config_entry *e = NULL;

    *out = NULL;
    *nout = 0;
    sl->errmsg[0] = 0;
    if ((rc = admin_broker(sl, PR_API_DESCRIBE_CONFIGS, SLC_V_DESCRIBE_CONFIGS, &b)) != 0)
        return rc;
    sl_buf_reset(&sl->req);
    slc_req_begin(b, &sl->req, &w, PR_API_DESCRIBE_CONFIGS, SLC_V_DESCRIBE_CONFIGS, sl->client_id, &corr);
    pr_write_array_len(&w, 1);
    pr_write_i8(&w, RESOURCE_TOPIC);
    pr_write_string(&w, name);
    pr_write_array_len(&w, -1);
    pr_write_bool(&w, 0);
    if ((rc = slc_call(sl, b, corr, &r)) != 0)
        return rc;
    pr_read_i32(&r);
    pr_read_array_len(&r, &n, 1000);
    if (n != 1)
        return slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad DescribeConfigs response");
    ec = pr_read_i16(&r);
    pr_read_string(&r, &msg, &isnull);
    pr_read_i8(&r);
    pr_read_string(&r, &s, NULL);
    if (ec)
        return topic_error(sl, "describe configs of", name, ec, &msg, !isnull);
    pr_read_array_len(&r, &nc, 100000);
    if (nc > 0) {
        e = calloc((size_t)nc, sizeof(*e));
        if (!e)
            return SLUICE_ERR_NOMEM;
    }
    for (i = 0; i < nc && !r.err; i++) {
        int8_t src;
        pr_read_string(&r, &s, NULL);
        e[i].name = slc_strndup(s.p, s.len);
        pr_read_string(&r, &s, &isnull);
        e[i].value = isnull ? NULL : slc_strndup(s.p, s.len);
        e[i].read_only = pr_read_bool(&r);
        src = pr_read_i8(&r);
        e[i].is_default = src == 5 || src == -1;   /* DEFAULT_CONFIG */
        e[i].is_sensitive = pr_read_bool(&r);
        pr_read_array_len(&r, &ns, 10000);
        for (j = 0; j < ns && !r.err; j++) {
            pr_read_string(&r, &s, NULL);
            pr_read_string(&r, &s, NULL);
            pr_read_i8(&r);
        }
    }
    if (r.err) {
        sluice_configs_free(e, nc);
        return slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad DescribeConfigs response");
    }
    *out = e;
    *nout = nc;
    return 0;
}

int
sluice_alter_topic_configs(struct sluice *sl, const char *name, const char *const *configs, int nconfigs)
{
    struct slc_broker *b;
    struct pr_writer w;
    struct pr_reader r;
    struct sl_slice s, msg;
    int32_t corr, n;
    int16_t ec;
    int rc, i, isnull, incremental = 1;

    sl->errmsg[0] = 0;
    for (i = 0; i < nconfigs; i++)
        if (!strchr(configs[i], '=') || configs[i][0] == '=')
            return slc_seterr(sl, SLUICE_ERR_INVALID_ARG, "bad config '%s' (want key=value)", configs[i]);
    if ((rc = slc_any_broker(sl, &b)) != 0)
        return rc;
    if (slc_check_version(sl, b, PR_API_INCREMENTAL_ALTER_CONFIGS, SLC_V_INC_ALTER_CONFIGS) != 0) {
        incremental = 0;
        if ((rc = slc_check_version(sl, b, PR_API_ALTER_CONFIGS, SLC_V_ALTER_CONFIGS)) != 0)
            return rc;
    }
    sl_buf_reset(&sl->req);
    slc_req_begin(b, &sl->req, &w, incremental ? PR_API_INCREMENTAL_ALTER_CONFIGS : PR_API_ALTER_CONFIGS,
                  incremental ? SLC_V_INC_ALTER_CONFIGS : SLC_V_ALTER_CONFIGS, sl->client_id, &corr);
    pr_write_array_len(&w, 1);
    pr_write_i8(&w, RESOURCE_TOPIC);
    pr_write_string(&w, name);
    pr_write_array_len(&w, nconfigs);
    for (i = 0; i < nconfigs; i++) {
        const char *eq = strchr(configs[i], '=');
        pr_write_string_len(&w, configs[i], (size_t)(eq - configs[i]));
        if (incremental)
            pr_write_i8(&w, 0);                    /* SET */
        pr_write_string(&w, eq + 1);
    }
    pr_write_bool(&w, 0);
    if ((rc = slc_call(sl, b, corr, &r)) != 0)
        return rc;
    pr_read_i32(&r);
    pr_read_array_len(&r, &n, 1000);
    if (n != 1)
        return slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad AlterConfigs response");
    ec = pr_read_i16(&r);
    pr_read_string(&r, &msg, &isnull);
    pr_read_i8(&r);
    pr_read_string(&r, &s, NULL);
    if (r.err)
        return slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad AlterConfigs response");
    return topic_error(sl, "alter configs of", name, ec, &msg, !isnull);
}
