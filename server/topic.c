/* server/topic.c -- see topic.h. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "server/topic.h"
#include "storage/buf.h"
#include "storage/ckpt.h"
#include "storage/err.h"
#include "storage/log.h"

#define META_NAME "sluice-topics.meta"
#define META_MAX  (64u << 20)
#define MAX_PARTITIONS 100000

struct topics {
    pthread_rwlock_t     lock;
    const struct sl_conf *conf;
    char                 cluster_id[64];
    struct topic       **v;        /* sorted by name */
    int                  n, cap;
    int64_t              last_checkpoint_ms;
    int64_t              last_retention_ms;
};

int
topic_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > TOPIC_NAME_MAX)
        return 0;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

void
topic_plog_config(const struct sl_topic_conf *tc, const struct sl_conf *bc, struct plog_config *out)
{
    plog_config_default(out);
    out->segment_bytes = tc->segment_bytes;
    out->segment_ms = tc->segment_ms;
    out->index_interval_bytes = tc->index_interval_bytes;
    out->segment_index_bytes = tc->segment_index_bytes;
    out->retention_bytes = tc->retention_bytes;
    out->retention_ms = tc->retention_ms;
    /* cleanup.policy=compact alone: Kafka never deletes such a log by age or
     * size (the cleaner keeps the latest record per key). Sluice has no
     * cleaner yet, so it keeps everything: deleting by retention would drop
     * the only record of a key (a group's committed offset, say). */
    if ((tc->cleanup_policy & SL_CLEANUP_COMPACT) && !(tc->cleanup_policy & SL_CLEANUP_DELETE)) {
        out->retention_bytes = -1;
        out->retention_ms = -1;
    }
    out->flush_messages = tc->flush_messages;
    out->flush_ms = tc->flush_ms;
    /* the recovery bound must never cut valid data written under a larger
     * limit: the segment's own size bounds every batch anyway */
    out->max_batch_bytes = INT32_MAX;
    (void)bc;
}

static void
partition_dir(const struct topics *reg, const char *topic, int32_t idx, char *out, size_t len)
{
    snprintf(out, len, "%s/%s-%d", reg->conf->data_dir, topic, idx);
}

/* ---- lookup (caller holds the lock) -------------------------------------- */

static int
find_slot(const struct topics *reg, const char *name, size_t len, int *found)
{
    int lo = 0, hi = reg->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        const char *m = reg->v[mid]->name;
        size_t ml = strlen(m);
        int c = memcmp(m, name, ml < len ? ml : len);
        if (c == 0)
            c = ml < len ? -1 : ml > len;
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

void
topic_ref(struct topic *t)
{
    __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
}

static void hex_id(const uint8_t id[16], char out[33]);

static void
topic_destroy(struct topic *t)
{
    for (int32_t i = 0; i < t->nparts; i++) {
        struct partition *p = t->parts[i];
        if (!p)
            continue;
        if (t->deleted) {
            char dir[PATH_MAX + 64], hid[33];
            hex_id(t->id, hid);
            if (t->renamed)
                snprintf(dir, sizeof(dir), "%s.%s-delete", plog_dir(p->log), hid);
            else
                snprintf(dir, sizeof(dir), "%s", plog_dir(p->log));
            plog_abandon(p->log);
            plog_destroy_dir(dir);
        } else {
            plog_close(p->log);
        }
        free(p);
    }
    free(t->parts);
    free(t);
}

void
topic_put(struct topic *t)
{
    if (t && __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0)
        topic_destroy(t);
}

struct topic *
topics_get(struct topics *reg, const char *name, size_t len)
{
    struct topic *t = NULL;
    int found, i;

    pthread_rwlock_rdlock(&reg->lock);
    i = find_slot(reg, name, len, &found);
    if (found) {
        t = reg->v[i];
        topic_ref(t);
    }
    pthread_rwlock_unlock(&reg->lock);
    return t;
}

struct partition *
topic_partition(struct topic *t, int32_t idx)
{
    struct partition *p = NULL;
    pthread_rwlock_rdlock(&t->reg->lock);
    if (idx >= 0 && idx < t->nparts)
        p = t->parts[idx];
    pthread_rwlock_unlock(&t->reg->lock);
    return p;
}

int32_t
topic_partition_count(struct topic *t)
{
    int32_t n;
    pthread_rwlock_rdlock(&t->reg->lock);
    n = t->nparts;
    pthread_rwlock_unlock(&t->reg->lock);
    return n;
}

void
topics_conf_copy(struct topic *t, struct sl_topic_conf *out)
{
    pthread_rwlock_rdlock(&t->reg->lock);
    *out = t->conf;
    pthread_rwlock_unlock(&t->reg->lock);
}

const char *
topics_cluster_id(const struct topics *reg)
{
    return reg->cluster_id;
}

int
topics_list(struct topics *reg, struct topic ***out, int *n)
{
    struct topic **v;

    pthread_rwlock_rdlock(&reg->lock);
    v = malloc(sizeof(*v) * (size_t)(reg->n ? reg->n : 1));
    if (!v) {
        pthread_rwlock_unlock(&reg->lock);
        return SL_ERR__NOMEM;
    }
    for (int i = 0; i < reg->n; i++) {
        v[i] = reg->v[i];
        topic_ref(v[i]);
    }
    *n = reg->n;
    pthread_rwlock_unlock(&reg->lock);
    *out = v;
    return 0;
}

void
topics_list_free(struct topic **list, int n)
{
    for (int i = 0; i < n; i++)
        topic_put(list[i]);
    free(list);
}

/* ---- metadata file --------------------------------------------------------- */

static void
hex_id(const uint8_t id[16], char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

/* Rewrite the metadata file from the registry. Caller holds the lock. */
static int
meta_save(struct topics *reg)
{
    struct sl_buf b = SL_BUF_INIT;
    char line[1024], path[PATH_MAX];
    size_t nkeys;
    const struct conf_key *keys = conf_topic_keys(&nkeys);
    int rc;

    snprintf(line, sizeof(line), "version 1\ncluster_id %s\n", reg->cluster_id);
    sl_buf_append(&b, line, strlen(line));
    for (int i = 0; i < reg->n; i++) {
        struct topic *t = reg->v[i];
        char hid[33];
        hex_id(t->id, hid);
        snprintf(line, sizeof(line), "topic %s %s %d %d\n", t->name, hid, t->nparts, t->internal);
        sl_buf_append(&b, line, strlen(line));
        for (size_t k = 0; k < nkeys; k++) {
            char val[512];
            if (!(t->conf.set_mask & (1ull << k)))
                continue;
            if (conf_topic_get(&t->conf, keys[k].name, val, sizeof(val)) != 0)
                continue;
            snprintf(line, sizeof(line), "config %s %s %s\n", t->name, keys[k].name, val);
            sl_buf_append(&b, line, strlen(line));
        }
    }
    if (b.oom) {
        sl_buf_free(&b);
        return SL_ERR__NOMEM;
    }
    snprintf(path, sizeof(path), "%s/" META_NAME, reg->conf->data_dir);
    rc = ckpt_write(path, b.data, b.len);
    sl_buf_free(&b);
    if (rc != 0)
        SL_ERROR("topic", "could not write %s: %s", path, sl_strerror(rc));
    return rc;
}

static int
parse_hex_id(const char *s, uint8_t id[16])
{
    if (strlen(s) != 32)
        return -1;
    for (int i = 0; i < 16; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        id[i] = (uint8_t)v;
    }
    return 0;
}

/* Open partition idx of t (creating its directory). */
static int
partition_open(struct topics *reg, struct topic *t, int32_t idx, struct partition **out)
{
    struct partition *p = calloc(1, sizeof(*p));
    struct plog_config pc;
    struct plog_open_report rep;
    char dir[PATH_MAX];
    int rc;

    if (!p)
        return SL_ERR__NOMEM;
    p->topic = t;
    p->index = idx;
    p->leader_epoch = 0;
    partition_dir(reg, t->name, idx, dir, sizeof(dir));
    topic_plog_config(&t->conf, reg->conf, &pc);
    if ((rc = plog_open(&p->log, dir, &pc, &rep)) != 0) {
        /* one bad partition must not stop the broker: it stays, offline */
        SL_ERROR("topic", "cannot open %s: %s; partition %s-%d is offline", dir,
                 sl_strerror(rc), t->name, idx);
        if ((rc = plog_open_offline(&p->log, dir)) != 0) {
            free(p);
            return rc;
        }
        *out = p;
        return 0;
    }
    /* the only replica: everything in the log is committed, whatever the
     * checkpoint (written periodically) last said */
    plog_set_high_watermark(p->log, plog_log_end_offset(p->log));
    if (!rep.clean && rep.scanned_bytes > 0)
        SL_INFO("topic", "%s-%d: recovered %lld bytes, truncated %lld", t->name, idx,
                (long long)rep.scanned_bytes, (long long)rep.truncated_bytes);
    *out = p;
    return 0;
}

static struct topic *
topic_new(struct topics *reg, const char *name, int internal)
{
    struct topic *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    snprintf(t->name, sizeof(t->name), "%s", name);
    conf_topic_defaults(reg->conf, &t->conf);
    t->internal = internal;
    t->refs = 1;   /* the registry's */
    t->reg = reg;
    return t;
}

static int
topic_grow(struct topics *reg, struct topic *t, int32_t total)
{
    struct partition **np;
    int rc = 0;

    np = realloc(t->parts, sizeof(*np) * (size_t)total);
    if (!np)
        return SL_ERR__NOMEM;
    t->parts = np;
    while (t->nparts < total) {
        if ((rc = partition_open(reg, t, t->nparts, &t->parts[t->nparts])) != 0)
            return rc;
        t->nparts++;
    }
    return 0;
}

static int
registry_insert(struct topics *reg, struct topic *t)
{
    int found, i = find_slot(reg, t->name, strlen(t->name), &found);
    if (found)
        return SL_ERR__EXISTS;
    if (reg->n == reg->cap) {
        int cap = reg->cap ? reg->cap * 2 : 16;
        struct topic **nv = realloc(reg->v, sizeof(*nv) * (size_t)cap);
        if (!nv)
            return SL_ERR__NOMEM;
        reg->v = nv;
        reg->cap = cap;
    }
    memmove(&reg->v[i + 1], &reg->v[i], sizeof(*reg->v) * (size_t)(reg->n - i));
    reg->v[i] = t;
    reg->n++;
    return 0;
}

static int
meta_load(struct topics *reg)
{
    char path[PATH_MAX];
    char *buf = malloc(META_MAX + 1), *save = NULL;
    size_t len;
    int rc;

    if (!buf)
        return SL_ERR__NOMEM;
    snprintf(path, sizeof(path), "%s/" META_NAME, reg->conf->data_dir);
    rc = ckpt_read(path, buf, META_MAX, &len);
    if (rc == SL_ERR__NOENT) {
        free(buf);
        return 0;
    }
    if (rc != 0)
        goto out;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[TOPIC_NAME_MAX + 1], hid[64], key[256];
        int nparts, internal = 0, off = 0;
        if (sscanf(line, "cluster_id %63s", reg->cluster_id) == 1)
            continue;
        if (sscanf(line, "topic %249s %63s %d %d", name, hid, &nparts, &internal) >= 3) {
            struct topic *t;
            if (!topic_name_valid(name, strlen(name)) || nparts < 1 || nparts > MAX_PARTITIONS) {
                SL_ERROR("topic", "%s: bad line '%s'", path, line);
                rc = SL_ERR__CORRUPT;
                goto out;
            }
            if (!(t = topic_new(reg, name, internal))) {
                rc = SL_ERR__NOMEM;
                goto out;
            }
            parse_hex_id(hid, t->id);
            t->want_parts = nparts;   /* opened after configs are read */
            if ((rc = registry_insert(reg, t)) != 0) {
                free(t);
                goto out;
            }
            continue;
        }
        if (sscanf(line, "config %249s %255s %n", name, key, &off) == 2 && off > 0) {
            int found, i = find_slot(reg, name, strlen(name), &found);
            char err[256];
            if (found && conf_topic_set(&reg->v[i]->conf, key, line + off, err, sizeof(err)) != 0)
                SL_WARN("topic", "%s: ignoring config of %s: %s", path, name, err);
            continue;
        }
    }
    /* now open every partition with its final config */
    for (int i = 0; i < reg->n; i++) {
        struct topic *t = reg->v[i];
        if ((rc = topic_grow(reg, t, t->want_parts)) != 0)
            goto out;
    }
out:
    free(buf);
    return rc;
}

/* Remove directories of topics deleted before a crash. */
static void
sweep_deleted(const char *data_dir)
{
    DIR *d = opendir(data_dir);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 7 && strcmp(de->d_name + n - 7, "-delete") == 0) {
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/%s", data_dir, de->d_name);
            plog_destroy_dir(path);
        }
    }
    closedir(d);
}

int
topics_open(struct topics **out, const struct sl_conf *conf)
{
    struct topics *reg = calloc(1, sizeof(*reg));
    int rc;

    if (!reg)
        return SL_ERR__NOMEM;
    pthread_rwlock_init(&reg->lock, NULL);
    reg->conf = conf;
    if (mkdir(conf->data_dir, 0755) < 0 && errno != EEXIST) {
        SL_ERROR("topic", "cannot create data directory %s: %s", conf->data_dir, strerror(errno));
        rc = sl_err_from_errno(errno);
        goto fail;
    }
    sweep_deleted(conf->data_dir);
    if ((rc = meta_load(reg)) != 0)
        goto fail;
    if (!reg->cluster_id[0]) {
        if (conf->cluster_id[0])
            snprintf(reg->cluster_id, sizeof(reg->cluster_id), "%s", conf->cluster_id);
        else
            conf_gen_cluster_id(reg->cluster_id);
        if ((rc = meta_save(reg)) != 0)
            goto fail;
    }
    SL_INFO("topic", "data directory %s: %d topic(s), cluster id %s", conf->data_dir, reg->n,
            reg->cluster_id);
    *out = reg;
    return 0;
fail:
    topics_close(reg);
    return rc;
}

void
topics_close(struct topics *reg)
{
    if (!reg)
        return;
    for (int i = 0; i < reg->n; i++)
        topic_put(reg->v[i]);
    free(reg->v);
    pthread_rwlock_destroy(&reg->lock);
    free(reg);
}

/* ---- changes --------------------------------------------------------------- */

int
topics_create(struct topics *reg, const char *name, int32_t nparts, int32_t rf, int nconf,
              const char *const *keys, const char *const *values, int validate_only,
              int internal, struct topic **out, char *err, size_t errlen)
{
    struct topic *t;
    int found, rc;

    err[0] = '\0';
    if (!topic_name_valid(name, strlen(name))) {
        snprintf(err, errlen, "topic name '%s' is illegal: use 1-249 of [a-zA-Z0-9._-]", name);
        return SL_ERR_INVALID_TOPIC_EXCEPTION;
    }
    if (nparts == -1)
        nparts = reg->conf->num_partitions;
    if (rf == -1)
        rf = (int32_t)reg->conf->default_replication_factor;
    if (nparts < 1 || nparts > MAX_PARTITIONS) {
        snprintf(err, errlen, "number of partitions must be between 1 and %d", MAX_PARTITIONS);
        return SL_ERR_INVALID_PARTITIONS;
    }
    if (rf != 1) {
        snprintf(err, errlen, "replication factor %d is larger than the 1 available broker", rf);
        return SL_ERR_INVALID_REPLICATION_FACTOR;
    }
    if (!(t = topic_new(reg, name, internal)))
        return SL_ERR__NOMEM;
    for (int i = 0; i < nconf; i++) {
        if (conf_topic_set(&t->conf, keys[i], values[i], err, errlen) != 0) {
            free(t);
            return SL_ERR_INVALID_CONFIG;
        }
    }
    pthread_rwlock_wrlock(&reg->lock);
    find_slot(reg, name, strlen(name), &found);
    if (found) {
        pthread_rwlock_unlock(&reg->lock);
        free(t);
        snprintf(err, errlen, "topic '%s' already exists", name);
        return SL_ERR_TOPIC_ALREADY_EXISTS;
    }
    if (validate_only) {
        pthread_rwlock_unlock(&reg->lock);
        free(t);
        return 0;
    }
    if (getrandom(t->id, sizeof(t->id), 0) != (ssize_t)sizeof(t->id))
        memset(t->id, 0x5a, sizeof(t->id));
    t->id[6] = (uint8_t)((t->id[6] & 0x0f) | 0x40);   /* a version-4 UUID */
    t->id[8] = (uint8_t)((t->id[8] & 0x3f) | 0x80);
    if ((rc = topic_grow(reg, t, nparts)) != 0 || (rc = registry_insert(reg, t)) != 0) {
        pthread_rwlock_unlock(&reg->lock);
        t->deleted = 1;
        topic_destroy(t);
        snprintf(err, errlen, "cannot create the partition logs: %s", sl_strerror(rc));
        return sl_err_to_wire(rc) == SL_ERR_UNKNOWN_SERVER ? SL_ERR_KAFKA_STORAGE_ERROR
                                                           : sl_err_to_wire(rc);
    }
    rc = meta_save(reg);
    if (out) {
        topic_ref(t);
        *out = t;
    }
    pthread_rwlock_unlock(&reg->lock);
    SL_INFO("topic", "created topic %s with %d partition(s)", name, nparts);
    return rc == 0 ? 0 : SL_ERR_KAFKA_STORAGE_ERROR;
}

int
topics_delete(struct topics *reg, const char *name, size_t len)
{
    struct topic *t;
    int found, i, rc;

    pthread_rwlock_wrlock(&reg->lock);
    i = find_slot(reg, name, len, &found);
    if (!found) {
        pthread_rwlock_unlock(&reg->lock);
        return SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    t = reg->v[i];
    memmove(&reg->v[i], &reg->v[i + 1], sizeof(*reg->v) * (size_t)(reg->n - i - 1));
    reg->n--;
    t->deleted = 1;
    rc = meta_save(reg);
    pthread_rwlock_unlock(&reg->lock);
    /* rename the directories now so a new topic of the same name starts clean */
    for (int32_t p = 0; p < t->nparts; p++) {
        char from[PATH_MAX], to[PATH_MAX + 64], hid[33];
        partition_dir(reg, t->name, p, from, sizeof(from));
        hex_id(t->id, hid);
        snprintf(to, sizeof(to), "%s.%s-delete", from, hid);
        if (rename(from, to) < 0)
            SL_WARN("topic", "rename %s: %s", from, strerror(errno));
    }
    t->renamed = 1;
    SL_INFO("topic", "deleted topic %s", t->name);
    topic_put(t);
    return rc == 0 ? 0 : SL_ERR_KAFKA_STORAGE_ERROR;
}

int
topics_add_partitions(struct topics *reg, const char *name, size_t len, int32_t total,
                      int validate_only, char *err, size_t errlen)
{
    struct topic *t;
    int found, i, rc = 0;

    err[0] = '\0';
    pthread_rwlock_wrlock(&reg->lock);
    i = find_slot(reg, name, len, &found);
    if (!found) {
        rc = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        goto out;
    }
    t = reg->v[i];
    if (total <= t->nparts) {
        snprintf(err, errlen, "topic currently has %d partitions, %d would not be an increase",
                 t->nparts, total);
        rc = SL_ERR_INVALID_PARTITIONS;
        goto out;
    }
    if (total > MAX_PARTITIONS) {
        snprintf(err, errlen, "at most %d partitions", MAX_PARTITIONS);
        rc = SL_ERR_INVALID_PARTITIONS;
        goto out;
    }
    if (validate_only)
        goto out;
    if ((rc = topic_grow(reg, t, total)) != 0) {
        snprintf(err, errlen, "cannot create partition logs: %s", sl_strerror(rc));
        rc = SL_ERR_KAFKA_STORAGE_ERROR;
    }
    if (meta_save(reg) != 0 && rc == 0)
        rc = SL_ERR_KAFKA_STORAGE_ERROR;
out:
    pthread_rwlock_unlock(&reg->lock);
    return rc;
}

int
topics_alter_config(struct topics *reg, const char *name, size_t len,
                    const struct topic_conf_change *ch, int n, int replace_all,
                    int validate_only, char *err, size_t errlen)
{
    struct sl_topic_conf nc;
    struct topic *t;
    int found, i, rc = 0;

    err[0] = '\0';
    pthread_rwlock_wrlock(&reg->lock);
    i = find_slot(reg, name, len, &found);
    if (!found) {
        rc = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        goto out;
    }
    t = reg->v[i];
    if (replace_all)
        conf_topic_defaults(reg->conf, &nc);
    else
        nc = t->conf;
    for (int k = 0; k < n; k++) {
        if (ch[k].op == TOPIC_CONF_DELETE) {
            if (conf_topic_reset(&nc, reg->conf, ch[k].key) != 0) {
                snprintf(err, errlen, "unknown config %s", ch[k].key);
                rc = SL_ERR_INVALID_CONFIG;
                goto out;
            }
        } else if (conf_topic_set(&nc, ch[k].key, ch[k].value ? ch[k].value : "", err, errlen) != 0) {
            rc = SL_ERR_INVALID_CONFIG;
            goto out;
        }
    }
    if (validate_only)
        goto out;
    t->conf = nc;
    {
        struct plog_config pc;
        topic_plog_config(&nc, reg->conf, &pc);
        for (int32_t p = 0; p < t->nparts; p++)
            plog_set_config(t->parts[p]->log, &pc);
    }
    if (meta_save(reg) != 0)
        rc = SL_ERR_KAFKA_STORAGE_ERROR;
out:
    pthread_rwlock_unlock(&reg->lock);
    return rc;
}

void
topics_housekeeping(struct topics *reg, int64_t now_ms)
{
    struct topic **list;
    int n, retention, checkpoint;

    retention = now_ms - reg->last_retention_ms >= reg->conf->log_retention_check_interval_ms;
    checkpoint = now_ms - reg->last_checkpoint_ms >= reg->conf->log_flush_offset_checkpoint_interval_ms;
    if (topics_list(reg, &list, &n) != 0)
        return;
    for (int i = 0; i < n; i++) {
        int32_t np = topic_partition_count(list[i]);
        for (int32_t p = 0; p < np; p++) {
            struct partition *part = topic_partition(list[i], p);
            if (!part)
                continue;
            plog_maybe_flush(part->log, now_ms);
            if (retention)
                plog_expire_producers(part->log, now_ms - reg->conf->producer_id_expiration_ms);
            if (retention)
                plog_enforce_retention(part->log, now_ms, NULL);
            if (checkpoint)
                plog_checkpoint(part->log);
        }
    }
    topics_list_free(list, n);
    if (retention)
        reg->last_retention_ms = now_ms;
    if (checkpoint)
        reg->last_checkpoint_ms = now_ms;
}
