/* server/api_configs.c -- DescribeConfigs (key 32) v0-3, AlterConfigs (33)
 * v0-1, IncrementalAlterConfigs (44) v0-1.
 *
 * Resource types: 2 TOPIC, 4 BROKER, 8 BROKER_LOGGER. A broker resource is
 * named by the node id in decimal, or "" for this broker; another id gets
 * INVALID_REQUEST (single broker). BROKER_LOGGER is not supported
 * (INVALID_REQUEST with a message); any other type likewise.
 *
 * DescribeConfigs
 *   Request: resources [type int8, name, configuration_keys nullable
 *   [string]], include_synonyms bool (v1+), include_documentation (v3+).
 *   Response: throttle_time_ms, results [error_code, error_message nullable,
 *   type int8, name, configs [name, value nullable, read_only,
 *   is_default (v0), config_source int8 (v1+), is_sensitive,
 *   synonyms (v1+) [name, value nullable, source int8],
 *   config_type int8 (v3+), documentation nullable (v3+)]].
 *   A topic lists every topic key with its effective value (tansu's
 *   librdkafka findings: clients expect the defaults too) and its source:
 *   DYNAMIC_TOPIC_CONFIG for an override, else STATIC_BROKER_CONFIG /
 *   DEFAULT_CONFIG after the broker synonym (conf_topic_describe). Synonyms,
 *   when asked for: the override, then the broker key it falls back to.
 *   A broker lists every broker key (read-only: no dynamic broker configs),
 *   sensitive values as null. configuration_keys filters; unknown names are
 *   left out, as Kafka does. Unknown topic: UNKNOWN_TOPIC_OR_PARTITION;
 *   illegal name: INVALID_TOPIC_EXCEPTION.
 *
 * AlterConfigs
 *   Request: resources [type, name, configs [name, value nullable]],
 *   validate_only. Response: throttle_time_ms, responses [error_code,
 *   error_message nullable, type, name].
 *   A topic's overrides are replaced by exactly the named ones (null values
 *   are dropped, as Kafka's legacy path does); all or nothing per topic.
 *   Broker: INVALID_REQUEST -- dynamic broker configs are not supported
 *   (set them in server.properties or with --override and restart).
 *
 * IncrementalAlterConfigs (v1 is flexible)
 *   Request: resources [type, name, configs [name, op int8, value nullable]],
 *   validate_only. Response as AlterConfigs.
 *   op 0 SET, 1 DELETE (back to the broker default), 2 APPEND, 3 SUBTRACT.
 *   APPEND/SUBTRACT work on list keys only (cleanup.policy), from the
 *   current value, else INVALID_CONFIG. A key named twice, an unknown op or
 *   a null value for anything but DELETE: INVALID_REQUEST. All changes of
 *   a resource apply together or not at all. (APPEND/SUBTRACT read the
 *   current value and then write: two racing admin clients may lose one
 *   change, as they could between two Kafka AlterConfigs.)
 *
 * Every request is decoded completely before anything changes: pass one
 * keeps reader snapshots of the nested arrays, pass two acts.
 *
 * Threading: any loop thread; the topics registry locks itself and the
 * broker config is read-only after start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/api.h"
#include "storage/err.h"

#define CF_RT_TOPIC         2
#define CF_RT_BROKER        4
#define CF_RT_BROKER_LOGGER 8

#define CF_MAX_RESOURCES 100000
#define CF_MAX_KEYS      100000
#define CF_VALUE_MAX     (SL_CONF_PATH_MAX + 64)

enum { CF_OP_SET = 0, CF_OP_DELETE = 1, CF_OP_APPEND = 2, CF_OP_SUBTRACT = 3 };

struct cf_res {
    int8_t           type;
    struct sl_slice  name;
    int              name_null;
    struct pr_reader keys_r;    /* at the first entry of the nested array */
    int32_t          nkeys;     /* -1: null (all keys) */
    size_t           keys_bytes;
};

/* ---- shared ------------------------------------------------------------- */

static int
cf_slice_eq(struct sl_slice a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && (n == 0 || memcmp(a.p, s, n) == 0);
}

static int
cf_slices_eq(struct sl_slice a, struct sl_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* A BROKER resource name is this broker: "" or the node id in decimal. */
static int
cf_broker_name_ok(const struct broker *b, struct sl_slice name, char *err, size_t errlen)
{
    char id[16];
    if (name.len == 0)
        return 1;
    snprintf(id, sizeof(id), "%d", b->node_id);
    if (cf_slice_eq(name, id))
        return 1;
    snprintf(err, errlen, "unexpected broker id '%.*s': this is broker %d (or use \"\")",
             (int)(name.len > 32 ? 32 : name.len), (const char *)name.p, b->node_id);
    return 0;
}

/* Topic name check for a resource: 0 or a wire error with err filled. */
static int
cf_topic_name_check(struct sl_slice name, char *err, size_t errlen)
{
    if (!name.p || name.len > TOPIC_NAME_MAX ||
        !topic_name_valid((const char *)name.p, name.len)) {
        snprintf(err, errlen, "topic name '%.*s' is illegal",
                 (int)(name.len > 300 ? 300 : name.len), name.p ? (const char *)name.p : "");
        return SL_ERR_INVALID_TOPIC_EXCEPTION;
    }
    return 0;
}

static int
cf_unsupported_type(const struct cf_res *res, char *err, size_t errlen)
{
    if (res->type == CF_RT_BROKER_LOGGER)
        snprintf(err, errlen, "BROKER_LOGGER resources are not supported by Sluice");
    else
        snprintf(err, errlen, "unsupported resource type %d", res->type);
    return SL_ERR_INVALID_REQUEST;
}

/* ---- DescribeConfigs ---------------------------------------------------- */

struct dc_opts {
    int16_t ver;
    int     synonyms;
    int     docs;
};

static int
dc_wanted(const struct cf_res *res, const char *name)
{
    struct pr_reader r = res->keys_r;
    if (res->nkeys < 0)
        return 1;
    for (int32_t i = 0; i < res->nkeys; i++) {
        struct sl_slice s;
        pr_read_string(&r, &s, NULL);
        if (cf_slice_eq(s, name))
            return 1;
    }
    return 0;
}

static void
dc_write_synonym(struct pr_writer *w, const char *name, const char *value, int is_null,
                 int source)
{
    pr_write_string(w, name);
    pr_write_nullable_string(w, value, is_null ? 0 : strlen(value), is_null);
    pr_write_i8(w, (int8_t)source);
    pr_write_empty_tags(w);
}

/* The broker key a topic value falls back to, and its value. An unset key
 * without a default (log.retention.ms) hands over to the next broker key of
 * the same topic key that has a value (log.retention.hours), as Kafka lists
 * the default synonym. */
static const char *
dc_broker_synonym(const struct broker *b, const struct conf_desc *d, char *buf, size_t len,
                  int *is_null)
{
    const struct conf_key *rows;
    size_t nrows;

    if (conf_broker_get(b->conf, d->synonym, buf, len, is_null) != 0)
        *is_null = 1;
    if (!*is_null || d->synonym_source != CONF_SRC_DEFAULT)
        return d->synonym;
    rows = conf_broker_keys(&nrows);
    for (size_t i = 0; i < nrows; i++) {
        int null = 1;
        if (rows[i].synonym && strcmp(rows[i].synonym, d->key->name) == 0 &&
            conf_broker_get(b->conf, rows[i].name, buf, len, &null) == 0 && !null) {
            *is_null = 0;
            return rows[i].name;
        }
    }
    buf[0] = '\0';
    *is_null = 1;
    return d->synonym;
}

/* One DescribeConfigsResourceResult entry. */
static void
dc_write_entry(struct pr_writer *w, const struct dc_opts *o, const struct broker *b,
               const struct conf_desc *d, int is_topic)
{
    const struct conf_key *k = d->key;
    int vnull = d->is_null || d->sensitive;

    pr_write_string(w, k->name);
    pr_write_nullable_string(w, d->value, vnull ? 0 : strlen(d->value), vnull);
    pr_write_bool(w, d->read_only);
    if (o->ver == 0)
        pr_write_bool(w, d->is_default);
    else
        pr_write_i8(w, (int8_t)d->source);
    pr_write_bool(w, d->sensitive);
    if (o->ver >= 1) {
        if (!o->synonyms) {
            pr_write_array_len(w, 0);
        } else if (is_topic) {
            int n = (d->source == CONF_SRC_DYNAMIC_TOPIC) + (d->synonym != NULL);
            pr_write_array_len(w, n);
            if (d->source == CONF_SRC_DYNAMIC_TOPIC)
                dc_write_synonym(w, k->name, d->value, d->is_null, CONF_SRC_DYNAMIC_TOPIC);
            if (d->synonym) {
                char sbuf[CF_VALUE_MAX];
                int snull = 0;
                const char *sname = dc_broker_synonym(b, d, sbuf, sizeof(sbuf), &snull);
                dc_write_synonym(w, sname, sbuf, snull, d->synonym_source);
            }
        } else {
            pr_write_array_len(w, 1);
            dc_write_synonym(w, k->name, d->value, vnull, d->source);
        }
    }
    if (o->ver >= 3) {
        pr_write_i8(w, (int8_t)conf_key_wire_type(k));
        if (o->docs && k->doc)
            pr_write_string(w, k->doc);
        else
            pr_write_string(w, NULL);
    }
    pr_write_empty_tags(w);
}

/* Resolve a resource: 0 with *tc filled for a topic, or a wire error. */
static int
dc_resolve(struct broker *b, const struct cf_res *res, struct sl_topic_conf *tc,
           char *err, size_t errlen)
{
    struct topic *t;
    int rc;

    err[0] = '\0';
    switch (res->type) {
    case CF_RT_TOPIC:
        if ((rc = cf_topic_name_check(res->name, err, errlen)) != 0)
            return rc;
        if (!(t = topics_get(b->topics, (const char *)res->name.p, res->name.len))) {
            snprintf(err, errlen, "topic '%.*s' does not exist", (int)res->name.len,
                     (const char *)res->name.p);
            return SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
        topics_conf_copy(t, tc);
        topic_put(t);
        return 0;
    case CF_RT_BROKER:
        return cf_broker_name_ok(b, res->name, err, errlen) ? 0 : SL_ERR_INVALID_REQUEST;
    default:
        return cf_unsupported_type(res, err, errlen);
    }
}

int
api_describe_configs(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    struct dc_opts o = { .ver = ctx->hdr.api_version };
    struct cf_res *v = NULL;
    struct pr_writer w;
    struct resp *resp;
    int32_t n;
    char err[512];

    if (pr_read_array_len(r, &n, CF_MAX_RESOURCES) != 0)
        return r->err;
    if (n < 0)
        n = 0;
    if (n > 0 && !(v = calloc((size_t)n, sizeof(*v))))
        return SL_ERR__NOMEM;
    for (int32_t i = 0; i < n && !r->err; i++) {
        struct sl_slice s;
        v[i].type = pr_read_i8(r);
        pr_read_string(r, &v[i].name, &v[i].name_null);
        pr_read_array_len(r, &v[i].nkeys, CF_MAX_KEYS);
        v[i].keys_r = *r;
        for (int32_t k = 0; k < v[i].nkeys; k++)
            pr_read_string(r, &s, NULL);
        pr_skip_tagged_fields(r);
    }
    if (o.ver >= 1)
        o.synonyms = pr_read_bool(r);
    if (o.ver >= 3)
        o.docs = pr_read_bool(r);
    pr_skip_tagged_fields(r);
    if (r->err) {
        free(v);
        return r->err;
    }
    if (!(resp = api_resp_begin(ctx, &w))) {
        free(v);
        return 0;
    }
    pr_write_i32(&w, 0);                       /* throttle_time_ms */
    pr_write_array_len(&w, n);
    for (int32_t i = 0; i < n; i++) {
        const struct cf_res *res = &v[i];
        struct sl_topic_conf tc;
        char buf[CF_VALUE_MAX];
        struct conf_desc d;
        size_t nrows, pos;
        int32_t cnt = 0;
        int rc = dc_resolve(ctx->b, res, &tc, err, sizeof(err));

        pr_write_i16(&w, (int16_t)rc);
        pr_write_nullable_string(&w, err, strlen(err), rc == 0);
        pr_write_i8(&w, res->type);
        pr_write_nullable_string(&w, res->name.p, res->name.len, res->name_null);
        if (rc != 0) {
            pr_write_array_len(&w, 0);
            pr_write_empty_tags(&w);
            continue;
        }
        pos = pr_reserve_array_len(&w);
        if (res->type == CF_RT_TOPIC) {
            conf_topic_keys(&nrows);
            for (size_t k = 0; k < nrows; k++) {
                if (conf_topic_describe(ctx->b->conf, &tc, k, buf, sizeof(buf), &d) != 0 ||
                    !dc_wanted(res, d.key->name))
                    continue;
                dc_write_entry(&w, &o, ctx->b, &d, 1);
                cnt++;
            }
        } else {
            conf_broker_keys(&nrows);
            for (size_t k = 0; k < nrows; k++) {
                if (conf_broker_describe(ctx->b->conf, k, buf, sizeof(buf), &d) != 0 ||
                    !dc_wanted(res, d.key->name))
                    continue;
                dc_write_entry(&w, &o, ctx->b, &d, 0);
                cnt++;
            }
        }
        pr_patch_array_len(&w, pos, cnt);
        pr_write_empty_tags(&w);
    }
    free(v);
    api_resp_finish(resp, &w);
    return 0;
}

/* ---- AlterConfigs / IncrementalAlterConfigs ----------------------------- */

/* Pass one for both: resources [type, name, configs [name, (op,) value]],
 * validate_only. */
static int
ac_decode(struct pr_reader *r, int incremental, struct cf_res **out, int32_t *n_out,
          int *validate_only)
{
    struct cf_res *v = NULL;
    int32_t n;

    *out = NULL;
    *n_out = 0;
    if (pr_read_array_len(r, &n, CF_MAX_RESOURCES) != 0)
        return r->err;
    if (n < 0)
        n = 0;
    if (n > 0 && !(v = calloc((size_t)n, sizeof(*v))))
        return SL_ERR__NOMEM;
    for (int32_t i = 0; i < n && !r->err; i++) {
        size_t start;
        v[i].type = pr_read_i8(r);
        pr_read_string(r, &v[i].name, &v[i].name_null);
        pr_read_array_len(r, &v[i].nkeys, CF_MAX_KEYS);
        v[i].keys_r = *r;
        start = r->pos;
        for (int32_t k = 0; k < v[i].nkeys; k++) {
            struct sl_slice s;
            pr_read_string(r, &s, NULL);
            if (incremental)
                pr_read_i8(r);
            pr_read_string(r, &s, NULL);
            pr_skip_tagged_fields(r);
        }
        v[i].keys_bytes = r->pos - start;
        if (v[i].nkeys < 0)
            v[i].nkeys = 0;
        pr_skip_tagged_fields(r);
    }
    *validate_only = pr_read_bool(r);
    pr_skip_tagged_fields(r);
    if (r->err) {
        free(v);
        return r->err;
    }
    *out = v;
    *n_out = n;
    return 0;
}

/* Copy a slice into the arena as a C string; NULL if it holds a NUL byte. */
static const char *
ac_cstr(char **ap, struct sl_slice s)
{
    char *p = *ap;
    if (s.len && memchr(s.p, 0, s.len))
        return NULL;
    if (s.len)
        memcpy(p, s.p, s.len);
    p[s.len] = '\0';
    *ap = p + s.len + 1;
    return p;
}

/* Is item (len n) in the comma-separated list? */
static int
ac_list_has(const char *list, const char *item, size_t n)
{
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        while (l && (*p == ' ' || *p == '\t')) {
            p++;
            l--;
        }
        while (l && (p[l - 1] == ' ' || p[l - 1] == '\t'))
            l--;
        if (l == n && memcmp(p, item, n) == 0)
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

/* APPEND (add the items of arg not yet in cur) or SUBTRACT (drop the items
 * of arg) on a comma-separated list; result into out (cap bytes). */
static int
ac_list_op(const char *cur, const char *arg, int op, char *out, size_t cap)
{
    size_t len = 0;

    out[0] = '\0';
    /* pass 0: the current items (minus arg's when subtracting);
     * pass 1 (APPEND): arg's items not there yet */
    for (int pass = 0; pass < (op == CF_OP_APPEND ? 2 : 1); pass++) {
        const char *p = pass == 0 ? cur : arg;
        while (*p) {
            const char *e = strchr(p, ',');
            size_t l = e ? (size_t)(e - p) : strlen(p);
            const char *q = p;
            while (l && (*q == ' ' || *q == '\t')) {
                q++;
                l--;
            }
            while (l && (q[l - 1] == ' ' || q[l - 1] == '\t'))
                l--;
            if (l > 0) {
                int keep = pass == 0 ? op == CF_OP_APPEND || !ac_list_has(arg, q, l)
                                     : !ac_list_has(out, q, l);
                if (keep) {
                    if (len + l + 2 > cap)
                        return -1;
                    if (len)
                        out[len++] = ',';
                    memcpy(out + len, q, l);
                    len += l;
                    out[len] = '\0';
                }
            }
            if (!e)
                break;
            p = e + 1;
        }
    }
    return 0;
}

/* Build the change list of one topic resource and apply it. 0 or a wire
 * error with err filled. */
static int
ac_topic(struct broker *b, const struct cf_res *res, int incremental, int validate_only,
         char *err, size_t errlen)
{
    struct topic_conf_change *ch = NULL;
    struct sl_topic_conf cur;
    struct pr_reader r = res->keys_r;
    struct sl_slice *names = NULL;
    struct topic *t;
    char *arena = NULL, *ap;
    int nch = 0, rc = 0;

    if ((rc = cf_topic_name_check(res->name, err, errlen)) != 0)
        return rc;
    if (!(t = topics_get(b->topics, (const char *)res->name.p, res->name.len))) {
        snprintf(err, errlen, "topic '%.*s' does not exist", (int)res->name.len,
                 (const char *)res->name.p);
        return SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    topics_conf_copy(t, &cur);
    topic_put(t);
    if (res->nkeys > 0) {
        /* each change: key and value strings, plus room for a list result */
        size_t cap = res->keys_bytes + (size_t)res->nkeys * (2 + CF_VALUE_MAX);
        ch = calloc((size_t)res->nkeys, sizeof(*ch));
        names = calloc((size_t)res->nkeys, sizeof(*names));
        arena = malloc(cap);
        if (!ch || !names || !arena) {
            rc = SL_ERR__NOMEM;
            goto out;
        }
    }
    ap = arena;
    for (int32_t k = 0; k < res->nkeys; k++) {
        struct sl_slice kn, kv;
        int op = CF_OP_SET, vnull;
        const char *key, *val = NULL;

        pr_read_string(&r, &kn, NULL);
        if (incremental)
            op = pr_read_i8(&r);
        pr_read_string(&r, &kv, &vnull);
        pr_skip_tagged_fields(&r);
        names[k] = kn;
        if (!(key = ac_cstr(&ap, kn)) || (!vnull && !(val = ac_cstr(&ap, kv)))) {
            snprintf(err, errlen, "NUL byte in config name or value");
            rc = SL_ERR_INVALID_CONFIG;
            goto out;
        }
        if (!incremental) {
            if (vnull)
                continue;                      /* dropped, as Kafka's legacy path */
            ch[nch++] = (struct topic_conf_change){ key, val, TOPIC_CONF_SET };
            continue;
        }
        for (int32_t j = 0; j < k; j++)
            if (cf_slices_eq(names[j], kn)) {
                snprintf(err, errlen, "config %s appears more than once", key);
                rc = SL_ERR_INVALID_REQUEST;
                goto out;
            }
        if (op < CF_OP_SET || op > CF_OP_SUBTRACT) {
            snprintf(err, errlen, "unknown config operation %d for %s", op, key);
            rc = SL_ERR_INVALID_REQUEST;
            goto out;
        }
        if (op != CF_OP_DELETE && vnull) {
            snprintf(err, errlen, "null value not supported for %s", key);
            rc = SL_ERR_INVALID_REQUEST;
            goto out;
        }
        if (op == CF_OP_SET) {
            ch[nch++] = (struct topic_conf_change){ key, val, TOPIC_CONF_SET };
        } else if (op == CF_OP_DELETE) {
            ch[nch++] = (struct topic_conf_change){ key, NULL, TOPIC_CONF_DELETE };
        } else {
            size_t nrows;
            const struct conf_key *rows = conf_topic_keys(&nrows);
            int idx = conf_topic_key_index(key);
            char curv[CF_VALUE_MAX];
            if (idx < 0) {
                snprintf(err, errlen, "unknown config %s", key);
                rc = SL_ERR_INVALID_CONFIG;
                goto out;
            }
            if (rows[idx].type != CONF_T_LIST && rows[idx].type != CONF_T_FLAGS) {
                snprintf(err, errlen, "config %s is not a list: APPEND/SUBTRACT do not apply",
                         key);
                rc = SL_ERR_INVALID_CONFIG;
                goto out;
            }
            if (conf_topic_get(&cur, key, curv, sizeof(curv)) != 0)
                curv[0] = '\0';
            if (ac_list_op(curv, val, op, ap, CF_VALUE_MAX) != 0) {
                snprintf(err, errlen, "value of %s too long", key);
                rc = SL_ERR_INVALID_CONFIG;
                goto out;
            }
            ch[nch++] = (struct topic_conf_change){ key, ap, TOPIC_CONF_SET };
            ap += strlen(ap) + 1;
        }
    }
    rc = topics_alter_config(b->topics, (const char *)res->name.p, res->name.len, ch, nch,
                             !incremental, validate_only, err, errlen);
    if (rc == SL_ERR_UNKNOWN_TOPIC_OR_PARTITION && !err[0])
        snprintf(err, errlen, "topic '%.*s' does not exist", (int)res->name.len,
                 (const char *)res->name.p);
out:
    free(ch);
    free(names);
    free(arena);
    return rc;
}

static int
ac_handle(struct req_ctx *ctx, int incremental)
{
    struct pr_writer w;
    struct cf_res *v;
    struct resp *resp;
    int32_t n;
    int validate_only = 0, rc;
    char err[512];

    if ((rc = ac_decode(&ctx->r, incremental, &v, &n, &validate_only)) != 0)
        return rc;
    if (!(resp = api_resp_begin(ctx, &w))) {
        free(v);
        return 0;
    }
    pr_write_i32(&w, 0);                       /* throttle_time_ms */
    pr_write_array_len(&w, n);
    for (int32_t i = 0; i < n; i++) {
        const struct cf_res *res = &v[i];
        err[0] = '\0';
        if (res->type == CF_RT_TOPIC) {
            rc = ac_topic(ctx->b, res, incremental, validate_only, err, sizeof(err));
        } else if (res->type == CF_RT_BROKER) {
            if (cf_broker_name_ok(ctx->b, res->name, err, sizeof(err)))
                snprintf(err, sizeof(err), "dynamic broker configs are not supported: set "
                         "them in server.properties or with --override and restart");
            rc = SL_ERR_INVALID_REQUEST;
        } else {
            rc = cf_unsupported_type(res, err, sizeof(err));
        }
        if (rc < 0) {
            if (!err[0])
                snprintf(err, sizeof(err), "%s", sl_strerror(rc));
            rc = sl_err_to_wire(rc);
        }
        pr_write_i16(&w, (int16_t)rc);
        pr_write_nullable_string(&w, err, strlen(err), rc == 0);
        pr_write_i8(&w, res->type);
        pr_write_nullable_string(&w, res->name.p, res->name.len, res->name_null);
        pr_write_empty_tags(&w);
    }
    free(v);
    api_resp_finish(resp, &w);
    return 0;
}

int
api_alter_configs(struct req_ctx *ctx)
{
    return ac_handle(ctx, 0);
}

int
api_incremental_alter_configs(struct req_ctx *ctx)
{
    return ac_handle(ctx, 1);
}
