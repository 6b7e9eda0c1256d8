/* client/admin.c -- topic administration: CreateTopics v1, DeleteTopics v1,
 * CreatePartitions v0, DescribeConfigs v1, IncrementalAlterConfigs v0
 * (AlterConfigs v0 as a fallback). Each is one synchronous request to the
 * controller when it is known, else to any broker.
 */
#include <stdlib.h>
#include <string.h>
#include "client/sluice_int.h"

#define RESOURCE_TOPIC 2

/* Every configs[i] must be key=value with a non-empty key. */
static int
check_configs(struct sluice *sl, const char *const *configs, int nconfigs)
{
    int i;
    for (i = 0; i < nconfigs; i++)
        if (!strchr(configs[i], '=') || configs[i][0] == '=')
            return slc_seterr(sl, SLUICE_ERR_INVALID_ARG, "bad config '%s' (want key=value)", configs[i]);
    return 0;
}

/* The configs (checked) as an array of key, [op SET,] value. */
static void
write_configs(struct pr_writer *w, const char *const *configs, int nconfigs, int with_op)
{
    int i;
    pr_write_array_len(w, nconfigs);
    for (i = 0; i < nconfigs; i++) {
        const char *eq = strchr(configs[i], '=');
        pr_write_string_len(w, configs[i], (size_t)(eq - configs[i]));
        if (with_op)
            pr_write_i8(w, 0);                     /* SET */
        pr_write_string(w, eq + 1);
    }
}

/* Send the one-topic request in sl->req and walk its answer: (throttle
 * time,) then a results array of name, error code and (has_msg) error
 * message; *ec and *msg are the last entry's. */
static int
call_topic_results(struct sluice *sl, struct slc_broker *b, int32_t corr, const char *api, int throttle,
                   int has_msg, int16_t *ec, struct sl_slice *msg)
{
    struct pr_reader r;
    struct sl_slice s;
    int32_t n, i;
    int rc;

    if ((rc = slc_call(sl, b, corr, &r)) != 0)
        return rc;
    if (throttle)
        pr_read_i32(&r);
    pr_read_array_len(&r, &n, 1000);
    for (i = 0; i < n && !r.err; i++) {
        int isnull;
        pr_read_string(&r, &s, NULL);
        *ec = pr_read_i16(&r);
        if (has_msg)
            pr_read_string(&r, msg, &isnull);
    }
    if (r.err || n != 1)
        return slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad %s response", api);
    return 0;
}

/* Head of a one-resource Describe/AlterConfigs response: throttle, then
 * the resource's error code, message, type and name. */
static int
read_resource_head(struct sluice *sl, struct pr_reader *r, const char *api, int16_t *ec, struct sl_slice *msg,
                   int *isnull)
{
    struct sl_slice s;
    int32_t n;

    pr_read_i32(r);
    pr_read_array_len(r, &n, 1000);
    if (n != 1)
        return slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad %s response", api);
    *ec = pr_read_i16(r);
    pr_read_string(r, msg, isnull);
    pr_read_i8(r);
    pr_read_string(r, &s, NULL);
    return 0;
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
    struct sl_slice msg = { 0 };
    int32_t corr;
    int16_t ec = 0;
    int rc;

    sl->errmsg[0] = 0;
    if ((rc = check_configs(sl, configs, nconfigs)) != 0)
        return rc;
    if ((rc = slc_any_request(sl, PR_API_CREATE_TOPICS, SLC_V_CREATE_TOPICS, &b, &w, &corr)) != 0)
        return rc;
    pr_write_array_len(&w, 1);
    pr_write_string(&w, name);
    pr_write_i32(&w, partitions);
    pr_write_i16(&w, rf);
    pr_write_array_len(&w, 0);
    write_configs(&w, configs, nconfigs, 0);
    pr_write_i32(&w, sl->conf.request_timeout_ms);
    pr_write_bool(&w, 0);
    if ((rc = call_topic_results(sl, b, corr, "CreateTopics", 0, 1, &ec, &msg)) != 0)
        return rc;
    if (ec == 0)
        sl->md_stale = 1;
    return topic_error(sl, "create topic", name, ec, &msg, 1);
}

int
sluice_delete_topic(struct sluice *sl, const char *name)
{
    struct slc_broker *b;
    struct pr_writer w;
    int32_t corr;
    int16_t ec = 0;
    int rc;

    sl->errmsg[0] = 0;
    if ((rc = slc_any_request(sl, PR_API_DELETE_TOPICS, SLC_V_DELETE_TOPICS, &b, &w, &corr)) != 0)
        return rc;
    pr_write_array_len(&w, 1);
    pr_write_string(&w, name);
    pr_write_i32(&w, sl->conf.request_timeout_ms);
    if ((rc = call_topic_results(sl, b, corr, "DeleteTopics", 1, 0, &ec, NULL)) != 0)
        return rc;
    sl->md_stale = 1;
    return topic_error(sl, "delete topic", name, ec, NULL, 0);
}

int
sluice_create_partitions(struct sluice *sl, const char *name, int32_t total)
{
    struct slc_broker *b;
    struct pr_writer w;
    struct sl_slice msg = { 0 };
    int32_t corr;
    int16_t ec = 0;
    int rc;

    sl->errmsg[0] = 0;
    if ((rc = slc_any_request(sl, PR_API_CREATE_PARTITIONS, SLC_V_CREATE_PARTS, &b, &w, &corr)) != 0)
        return rc;
    pr_write_array_len(&w, 1);
    pr_write_string(&w, name);
    pr_write_i32(&w, total);
    pr_write_array_len(&w, -1);
    pr_write_i32(&w, sl->conf.request_timeout_ms);
    pr_write_bool(&w, 0);
    if ((rc = call_topic_results(sl, b, corr, "CreatePartitions", 1, 1, &ec, &msg)) != 0)
        return rc;
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
    int32_t corr, nc, i, j, ns;
    int16_t ec = 0;
    int rc, isnull;
    struct sluice_config_entry *e = NULL;

    *out = NULL;
    *nout = 0;
    sl->errmsg[0] = 0;
    if ((rc = slc_any_request(sl, PR_API_DESCRIBE_CONFIGS, SLC_V_DESCRIBE_CONFIGS, &b, &w, &corr)) != 0)
        return rc;
    pr_write_array_len(&w, 1);
    pr_write_i8(&w, RESOURCE_TOPIC);
    pr_write_string(&w, name);
    pr_write_array_len(&w, -1);
    pr_write_bool(&w, 0);
    if ((rc = slc_call(sl, b, corr, &r)) != 0)
        return rc;
    if ((rc = read_resource_head(sl, &r, "DescribeConfigs", &ec, &msg, &isnull)) != 0)
        return rc;
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
    struct sl_slice msg;
    int32_t corr;
    int16_t ec;
    int rc, isnull, incremental = 1;

    sl->errmsg[0] = 0;
    if ((rc = check_configs(sl, configs, nconfigs)) != 0)
        return rc;
    if ((rc = slc_any_broker(sl, &b)) != 0)
        return rc;
    if (slc_check_version(sl, b, PR_API_INCREMENTAL_ALTER_CONFIGS, SLC_V_INC_ALTER_CONFIGS) != 0) {
        incremental = 0;
        if ((rc = slc_check_version(sl, b, PR_API_ALTER_CONFIGS, SLC_V_ALTER_CONFIGS)) != 0)
            return rc;
    }
    slc_req_start(sl, b, &w, incremental ? PR_API_INCREMENTAL_ALTER_CONFIGS : PR_API_ALTER_CONFIGS,
                  incremental ? SLC_V_INC_ALTER_CONFIGS : SLC_V_ALTER_CONFIGS, &corr);
    pr_write_array_len(&w, 1);
    pr_write_i8(&w, RESOURCE_TOPIC);
    pr_write_string(&w, name);
    write_configs(&w, configs, nconfigs, incremental);
    pr_write_bool(&w, 0);
    if ((rc = slc_call(sl, b, corr, &r)) != 0)
        return rc;
    if ((rc = read_resource_head(sl, &r, "AlterConfigs", &ec, &msg, &isnull)) != 0)
        return rc;
    if (r.err)
        return slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad AlterConfigs response");
    return topic_error(sl, "alter configs of", name, ec, &msg, !isnull);
}
