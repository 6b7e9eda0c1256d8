/* client/client.c -- the sluice handle: configuration, bootstrap, broker
 * table, metadata (Metadata v4) and its per-topic cache, error messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "client/sluice_int.h"

#define SLC_MAX_BROKERS 64

void
sluice_conf_init(struct sluice_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->bootstrap = "localhost:9092";
    c->client_id = "sluice";
    c->linger_ms = 5;
    c->batch_size = 16384;
    c->acks = -1;
    c->retries = 5;
    c->retry_backoff_ms = 100;
    c->request_timeout_ms = 30000;
    c->connect_timeout_ms = 5000;
    c->max_in_flight = 5;
    c->enable_idempotence = 1;
    c->fetch_max_wait_ms = 500;
    c->fetch_max_bytes = 50 * 1024 * 1024;
    c->fetch_partition_max_bytes = 1024 * 1024;
    c->allow_auto_create = 1;
    c->assignor = "range";
    c->session_timeout_ms = 10000;
    c->rebalance_timeout_ms = 30000;
    c->heartbeat_interval_ms = 3000;
    c->auto_offset_reset = SLUICE_OFFSET_END;
}

const char *
sluice_strerror(int err)
{
    switch (err) {
    case SLUICE_ERR_TIMED_OUT: return "timed out";
    case SLUICE_ERR_NO_BROKERS: return "no broker reachable";
    case SLUICE_ERR_UNSUPPORTED: return "unsupported by the broker";
    case SLUICE_ERR_EOF: return "end of partitions";
    case SLUICE_ERR_CODEC: return "compression codec error";
    case SLUICE_ERR_IO: return "broker connection error";
    default: return sl_strerror(err);
    }
}

int
slc_seterr(struct sluice *sl, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sl->errmsg, sizeof(sl->errmsg), fmt, ap);
    va_end(ap);
    return err;
}

const char *
sluice_errmsg(const struct sluice *sl)
{
    return sl ? sl->errmsg : "";
}

char *
slc_strndup(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    if (n)
        memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static char *
xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int
parse_bootstrap(struct sluice *sl, const char *list)
{
    const char *p = list;
    int cap = 0;

    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char item[300];
        char *colon;
        struct slc_broker *b;

        if (n == 0 || n >= sizeof(item)) {
            if (!e) break;
            p = e + 1;
            continue;
        }
        memcpy(item, p, n);
        item[n] = 0;
        if (sl->nboot == cap) {
            cap = cap ? cap * 2 : 4;
            b = realloc(sl->boot, (size_t)cap * sizeof(*b));
            if (!b)
                return SLUICE_ERR_NOMEM;
            sl->boot = b;
        }
        b = &sl->boot[sl->nboot];
        memset(b, 0, sizeof(*b));
        b->id = -1 - sl->nboot;
        b->conn.fd = -1;
        colon = strrchr(item, ':');
        if (colon && strchr(item, ']') == NULL && colon != strchr(item, ':'))
            colon = NULL;                          /* bare IPv6 */
        if (colon) {
            char *end;
            long port = strtol(colon + 1, &end, 10);
            if (*end || port <= 0 || port > 65535)
                return slc_seterr(sl, SLUICE_ERR_INVALID_ARG, "bad bootstrap address '%s'", item);
            *colon = 0;
            b->port = (int)port;
        } else {
            b->port = 9092;
        }
        if (item[0] == '[') {
            size_t l = strlen(item);
            if (l > 2 && item[l - 1] == ']') {
                item[l - 1] = 0;
                memmove(item, item + 1, l - 1);
            }
        }
        snprintf(b->host, sizeof(b->host), "%s", item[0] ? item : "localhost");
        sl->nboot++;
        if (!e)
            break;
        p = e + 1;
    }
    if (sl->nboot == 0)
        return slc_seterr(sl, SLUICE_ERR_INVALID_ARG, "empty bootstrap list '%s'", list);
    return 0;
}

int
sluice_new(struct sluice **out, const struct sluice_conf *conf)
{
    struct sluice *sl = calloc(1, sizeof(*sl));
    struct slc_broker *b;
    int rc;

    *out = sl;
    if (!sl)
        return SLUICE_ERR_NOMEM;
    sl->conf = *conf;
    sl->bootstrap = xstrdup(conf->bootstrap ? conf->bootstrap : "localhost:9092");
    sl->client_id = xstrdup(conf->client_id ? conf->client_id : "sluice");
    sl->group_id = xstrdup(conf->group_id);
    sl->assignor = xstrdup(conf->assignor ? conf->assignor : "range");
    sl->conf.bootstrap = sl->bootstrap;
    sl->conf.client_id = sl->client_id;
    sl->conf.group_id = sl->group_id;
    sl->conf.assignor = sl->assignor;
    if (sl->conf.max_in_flight < 1)
        sl->conf.max_in_flight = 1;
    if (sl->conf.max_in_flight > SLC_MAX_INFLIGHT / 2)
        sl->conf.max_in_flight = SLC_MAX_INFLIGHT / 2;
    /* idempotence needs acks=all (as the Java client: acks 0/1 turn it off) */
    sl->idem = sl->conf.enable_idempotence && sl->conf.acks == -1;
    sl->pid = -1;
    sl->epoch = -1;
    if (sl->idem && sl->conf.max_in_flight > 5)
        sl->conf.max_in_flight = 5;     /* the broker dedups the last 5 batches */
    if (sl->conf.batch_size < 64)
        sl->conf.batch_size = 64;
    sl->rnd = (uint32_t)time(NULL) ^ (uint32_t)getpid() ^ (uint32_t)(uintptr_t)sl;
    sl->brokers = calloc(SLC_MAX_BROKERS, sizeof(*sl->brokers));
    if (!sl->bootstrap || !sl->client_id || !sl->assignor || !sl->brokers)
        return SLUICE_ERR_NOMEM;
    if ((rc = parse_bootstrap(sl, sl->bootstrap)) != 0)
        return rc;
    /* connect to one bootstrap broker and learn the cluster */
    if ((rc = slc_any_broker(sl, &b)) != 0)
        return rc;
    return slc_refresh_topic(sl, NULL, 0, NULL);
}

void
sluice_destroy(struct sluice *sl)
{
    int i;

    if (!sl)
        return;
    slc_group_destroy(sl);
    sl->destroying = 1;
    for (i = 0; i < sl->nbrokers; i++)
        if (sl->brokers[i].conn.fd >= 0)
            slc_disconnect(sl, &sl->brokers[i], SLUICE_ERR_IO);
    for (i = 0; i < sl->nboot; i++)
        if (sl->boot[i].conn.fd >= 0)
            slc_disconnect(sl, &sl->boot[i], SLUICE_ERR_IO);
    slc_consumer_destroy(sl);
    slc_producer_destroy(sl);
    for (i = 0; i < sl->ntopics; i++) {
        struct slc_topic *t = sl->topics[i];
        slc_topic_free_batches(t);
        free(t->name);
        free(t->leaders);
        free(t->open);
        free(t->seq_next);
        free(t->seq_acked);
        free(t);
    }
    free(sl->topics);
    free(sl->brokers);
    free(sl->boot);
    free(sl->bootstrap);
    free(sl->client_id);
    free(sl->group_id);
    free(sl->assignor);
    sl_buf_free(&sl->req);
    sl_buf_free(&sl->resp);
    free(sl->scratch);
    free(sl);
}

struct slc_broker *
slc_broker_by_id(struct sluice *sl, int32_t id)
{
    int i;
    for (i = 0; i < sl->nbrokers; i++)
        if (sl->brokers[i].id == id)
            return &sl->brokers[i];
    return NULL;
}

int
slc_any_broker(struct sluice *sl, struct slc_broker **out)
{
    int i, rc = SLUICE_ERR_NO_BROKERS;
    char first[512] = "";

    for (i = 0; i < sl->nbrokers; i++)
        if (sl->brokers[i].conn.fd >= 0) {
            *out = &sl->brokers[i];
            return 0;
        }
    for (i = 0; i < sl->nboot; i++)
        if (sl->boot[i].conn.fd >= 0) {
            *out = &sl->boot[i];
            return 0;
        }
    for (i = 0; i < sl->nbrokers; i++)
        if (slc_connect(sl, &sl->brokers[i]) == 0) {
            *out = &sl->brokers[i];
            return 0;
        }
    for (i = 0; i < sl->nboot; i++) {
        if ((rc = slc_connect(sl, &sl->boot[i])) == 0) {
            *out = &sl->boot[i];
            return 0;
        }
        if (!first[0])
            snprintf(first, sizeof(first), "%s", sl->errmsg);
    }
    return slc_seterr(sl, SLUICE_ERR_NO_BROKERS, "%s", first[0] ? first : "no broker reachable");
}

int
slc_any_request(struct sluice *sl, int16_t key, int16_t ver, struct slc_broker **out, struct pr_writer *w,
                int32_t *corr_out)
{
    int rc;

    if ((rc = slc_any_broker(sl, out)) != 0)
        return rc;
    if ((rc = slc_check_version(sl, *out, key, ver)) != 0)
        return rc;
    slc_req_start(sl, *out, w, key, ver, corr_out);
    return 0;
}

void
slc_update_broker(struct sluice *sl, int32_t id, const char *host, int32_t port)
{
    struct slc_broker *b = slc_broker_by_id(sl, id);

    if (b) {
        if (strcmp(b->host, host) == 0 && b->port == port)
            return;
        if (b->conn.fd >= 0)
            slc_disconnect(sl, b, SLUICE_ERR_IO);
    } else {
        if (sl->nbrokers >= SLC_MAX_BROKERS)
            return;
        b = &sl->brokers[sl->nbrokers++];
        memset(b, 0, sizeof(*b));
        b->conn.fd = -1;
        b->id = id;
    }
    snprintf(b->host, sizeof(b->host), "%s", host);
    b->port = port;
}

static struct slc_topic *
topic_find(struct sluice *sl, const char *name)
{
    int i;
    if (sl->last_topic && strcmp(sl->last_topic->name, name) == 0)
        return sl->last_topic;
    for (i = 0; i < sl->ntopics; i++)
        if (strcmp(sl->topics[i]->name, name) == 0)
            return sl->last_topic = sl->topics[i];
    return NULL;
}

struct slc_topic *
slc_topic_get(struct sluice *sl, const char *name)
{
    return topic_find(sl, name);
}

static struct slc_topic *
topic_add(struct sluice *sl, const char *name)
{
    struct slc_topic *t = topic_find(sl, name), **v;

    if (t)
        return t;
    t = calloc(1, sizeof(*t));
    v = realloc(sl->topics, (size_t)(sl->ntopics + 1) * sizeof(*v));
    if (!t || !v) {
        free(t);
        if (v)
            sl->topics = v;
        return NULL;
    }
    sl->topics = v;
    t->name = strdup(name);
    t->sticky = -1;
    if (!t->name) {
        free(t);
        return NULL;
    }
    sl->topics[sl->ntopics++] = t;
    return t;
}

/* Apply one topic's metadata to the cache. Partition count only grows
 * (open producer batches are indexed by partition). */
static void
cache_topic(struct sluice *sl, const struct sluice_topic_md *tm)
{
    struct slc_topic *t = topic_add(sl, tm->name);
    int32_t i;

    if (!t)
        return;
    t->err = tm->err;
    if (tm->err)
        return;
    if (tm->partition_count > t->nparts) {
        int32_t *l = realloc(t->leaders, (size_t)tm->partition_count * sizeof(*l));
        struct slc_batch **o = realloc(t->open, (size_t)tm->partition_count * sizeof(*o));
        int32_t *sn, *sa;
        if (l)
            t->leaders = l;
        if (o)
            t->open = o;
        if (!l || !o)
            return;
        sn = realloc(t->seq_next, (size_t)tm->partition_count * sizeof(*sn));
        if (sn)
            t->seq_next = sn;
        sa = realloc(t->seq_acked, (size_t)tm->partition_count * sizeof(*sa));
        if (sa)
            t->seq_acked = sa;
        if (!sn || !sa)
            return;
        for (i = t->nparts; i < tm->partition_count; i++) {
            t->leaders[i] = -1;
            t->open[i] = NULL;
            t->seq_next[i] = t->seq_acked[i] = 0;
        }
        t->nparts = tm->partition_count;
    }
    for (i = 0; i < tm->partition_count; i++) {
        const struct sluice_partition_md *pm = &tm->partitions[i];
        if (pm->id >= 0 && pm->id < t->nparts)
            t->leaders[pm->id] = pm->err && pm->leader < 0 ? -1 : pm->leader;
    }
}

void
sluice_metadata_free(struct sluice_metadata *md)
{
    int i;
    if (!md)
        return;
    for (i = 0; i < md->broker_count; i++)
        free(md->brokers[i].host);
    for (i = 0; i < md->topic_count; i++) {
        free(md->topics[i].name);
        free(md->topics[i].partitions);
    }
    free(md->brokers);
    free(md->topics);
    free(md->cluster_id);
    free(md);
}

static int
read_i32_list(struct pr_reader *r, int32_t *dst, int32_t *count)
{
    int32_t n, i;
    pr_read_array_len(r, &n, 100000);
    if (n < 0)
        n = 0;
    for (i = 0; i < n; i++) {
        int32_t v = pr_read_i32(r);
        if (i < 16)
            dst[i] = v;
    }
    *count = n < 16 ? n : 16;
    return r->err;
}

static int
metadata_request(struct sluice *sl, const char *const *topics, int ntopics, int auto_create,
                 struct sluice_metadata **out)
{
    struct slc_broker *b;
    struct pr_writer w;
    struct pr_reader r;
    struct sluice_metadata *md;
    int32_t corr, n, i, j;
    struct sl_slice s;
    int isnull, rc, attempt;

    *out = NULL;
    for (attempt = 0;; attempt++) {
        if ((rc = slc_any_broker(sl, &b)) != 0)
            return rc;
        if ((rc = slc_check_version(sl, b, PR_API_METADATA, SLC_V_METADATA)) != 0) {
            if (rc == SLUICE_ERR_UNSUPPORTED || attempt > 0)
                return rc;
            continue;
        }
        slc_req_start(sl, b, &w, PR_API_METADATA, SLC_V_METADATA, &corr);
        if (topics) {
            pr_write_array_len(&w, ntopics);
            for (i = 0; i < ntopics; i++)
                pr_write_string(&w, topics[i]);
        } else {
            pr_write_array_len(&w, -1);
        }
        pr_write_bool(&w, auto_create);
        rc = slc_call(sl, b, corr, &r);
        if (rc == 0)
            break;
        if (attempt > 0)
            return rc;
    }
    md = calloc(1, sizeof(*md));
    if (!md)
        return SLUICE_ERR_NOMEM;
    pr_read_i32(&r);                        /* throttle */
    pr_read_array_len(&r, &n, 100000);
    md->brokers = calloc((size_t)(n > 0 ? n : 1), sizeof(*md->brokers));
    if (!md->brokers)
        goto nomem;
    for (i = 0; i < n && !r.err; i++) {
        struct sluice_broker_md *bm = &md->brokers[md->broker_count++];
        bm->id = pr_read_i32(&r);
        pr_read_string(&r, &s, &isnull);
        bm->host = slc_strndup(s.p, s.len);
        bm->port = pr_read_i32(&r);
        pr_read_string(&r, &s, &isnull);     /* rack */
    }
    pr_read_string(&r, &s, &isnull);
    md->cluster_id = isnull ? NULL : slc_strndup(s.p, s.len);
    md->controller_id = pr_read_i32(&r);
    pr_read_array_len(&r, &n, 100000);
    md->topics = calloc((size_t)(n > 0 ? n : 1), sizeof(*md->topics));
    if (!md->topics)
        goto nomem;
    for (i = 0; i < n && !r.err; i++) {
        struct sluice_topic_md *tm = &md->topics[md->topic_count++];
        int32_t np;
        tm->err = pr_read_i16(&r);
        pr_read_string(&r, &s, &isnull);
        tm->name = slc_strndup(s.p, s.len);
        tm->is_internal = pr_read_bool(&r);
        pr_read_array_len(&r, &np, 1000000);
        tm->partitions = calloc((size_t)(np > 0 ? np : 1), sizeof(*tm->partitions));
        if (!tm->partitions || !tm->name)
            goto nomem;
        for (j = 0; j < np && !r.err; j++) {
            struct sluice_partition_md *pm = &tm->partitions[j];
            pm->err = pr_read_i16(&r);
            pm->id = pr_read_i32(&r);
            pm->leader = pr_read_i32(&r);
            read_i32_list(&r, pm->replicas, &pm->replica_count);
            read_i32_list(&r, pm->isr, &pm->isr_count);
        }
        tm->partition_count = np > 0 ? np : 0;
        /* order partitions by id for the caller */
        for (j = 1; j < tm->partition_count; j++) {
            struct sluice_partition_md tmp = tm->partitions[j];
            int32_t k = j - 1;
            while (k >= 0 && tm->partitions[k].id > tmp.id) {
                tm->partitions[k + 1] = tm->partitions[k];
                k--;
            }
            tm->partitions[k + 1] = tmp;
        }
    }
    if (r.err) {
        sluice_metadata_free(md);
        return slc_seterr(sl, SLUICE_ERR_CORRUPT, "malformed Metadata response");
    }
    for (i = 0; i < md->broker_count; i++)
        if (md->brokers[i].host)
            slc_update_broker(sl, md->brokers[i].id, md->brokers[i].host, md->brokers[i].port);
    for (i = 0; i < md->topic_count; i++)
        if (md->topics[i].name)
            cache_topic(sl, &md->topics[i]);
    *out = md;
    return 0;
nomem:
    sluice_metadata_free(md);
    return SLUICE_ERR_NOMEM;
}

int
sluice_metadata(struct sluice *sl, const char *const *topics, int ntopics, struct sluice_metadata **out)
{
    sl->errmsg[0] = 0;
    return metadata_request(sl, ntopics > 0 ? topics : NULL, ntopics, 0, out);
}

int
slc_refresh_topic(struct sluice *sl, const char *name, int auto_create, struct slc_topic **out)
{
    struct sluice_metadata *md = NULL;
    const char *one[1] = { name };
    const char **names = NULL;
    int n = 0, rc, i;

    if (name) {
        names = one;
        n = 1;
    } else if (sl->ntopics > 0) {
        names = malloc((size_t)sl->ntopics * sizeof(*names));
        if (!names)
            return SLUICE_ERR_NOMEM;
        for (i = 0; i < sl->ntopics; i++)
            names[i] = sl->topics[i]->name;
        n = sl->ntopics;
    } else {
        names = one;                          /* empty list: brokers only */
        n = 0;
    }
    rc = metadata_request(sl, names, n, auto_create, &md);
    if (names != one)
        free(names);
    if (rc)
        return rc;
    sluice_metadata_free(md);
    sl->md_stale = 0;
    if (out) {
        struct slc_topic *t = name ? topic_find(sl, name) : NULL;
        *out = t;
        if (!t)
            return slc_seterr(sl, SL_ERR_UNKNOWN_TOPIC_OR_PARTITION, "unknown topic '%s'", name);
        if (t->err)
            return slc_seterr(sl, t->err, "topic '%s': %s", name, sluice_strerror(t->err));
    }
    return 0;
}

int
sluice_partition_count(struct sluice *sl, const char *topic, int auto_create, int32_t *out)
{
    struct slc_topic *t = topic_find(sl, topic);
    int rc;

    if (!t || t->err || t->nparts == 0) {
        if ((rc = slc_refresh_topic(sl, topic, auto_create, &t)) != 0)
            return rc;
    }
    if (t->nparts == 0)
        return slc_seterr(sl, SL_ERR_UNKNOWN_TOPIC_OR_PARTITION, "unknown topic '%s'", topic);
    *out = t->nparts;
    return 0;
}

int
slc_leader(struct sluice *sl, const char *topic, int32_t partition, struct slc_broker **out)
{
    struct slc_topic *t = topic_find(sl, topic);
    struct slc_broker *b;
    int rc;

    if (!t || t->err || partition >= t->nparts || t->leaders[partition] < 0 || sl->md_stale) {
        if ((rc = slc_refresh_topic(sl, topic, 0, &t)) != 0)
            return rc;
    }
    if (partition < 0 || partition >= t->nparts)
        return slc_seterr(sl, SL_ERR_UNKNOWN_TOPIC_OR_PARTITION, "topic '%s' has no partition %d",
                          topic, partition);
    if (t->leaders[partition] < 0)
        return slc_seterr(sl, SL_ERR_LEADER_NOT_AVAILABLE, "%s [%d]: no leader", topic, partition);
    b = slc_broker_by_id(sl, t->leaders[partition]);
    if (!b)
        return slc_seterr(sl, SL_ERR_LEADER_NOT_AVAILABLE, "%s [%d]: leader %d unknown", topic,
                          partition, t->leaders[partition]);
    *out = b;
    return 0;
}
