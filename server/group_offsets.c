/* server/group_offsets.c -- committed offsets of consumer groups.
 *
 * In memory: per group, a sorted array of (topic, partition) -> offset,
 * leader epoch, metadata, commit time. On disk: the internal topic
 * __consumer_offsets in Kafka's record formats (key v1 = group, topic,
 * partition; value v3 = offset, leader epoch, metadata, commit time; a null
 * value deletes), one partition per group (Java hashCode of the group id),
 * created on first use and replayed into memory at start. DeleteGroups,
 * OffsetDelete and offsets retention write deletions (tombstones).
 *
 * Threading: under coord->mu (group_int.h), except where a function takes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/group_int.h"
#include "server/produce.h"
#include "storage/err.h"
#include "storage/log.h"

/* ---- offsets: storage ------------------------------------------------------------- */

static int
off_find(struct group *g, const char *topic, size_t tlen, int32_t partition, int *slot)
{
    int lo = 0, hi = g->noffsets;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        struct goffset *o = &g->offsets[mid];
        size_t ol = strlen(o->topic);
        int cmp = memcmp(o->topic, topic, ol < tlen ? ol : tlen);
        if (cmp == 0)
            cmp = ol < tlen ? -1 : ol > tlen;
        if (cmp == 0)
            cmp = o->partition < partition ? -1 : o->partition > partition;
        if (cmp == 0) {
            *slot = mid;
            return 1;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *slot = lo;
    return 0;
}

static int
off_put(struct group *g, const char *topic, size_t tlen, int32_t partition, int64_t offset,
        int32_t epoch, const char *meta, size_t mlen, int64_t ts)
{
    int slot;
    struct goffset *o;
    char *m = malloc(mlen + 1);

    if (!m)
        return SL_ERR__NOMEM;
    memcpy(m, meta, mlen);
    m[mlen] = '\0';
    if (!off_find(g, topic, tlen, partition, &slot)) {
        if (g->noffsets == g->offsets_cap) {
            int cap = g->offsets_cap ? g->offsets_cap * 2 : 16;
            struct goffset *n = realloc(g->offsets, sizeof(*n) * (size_t)cap);
            if (!n) {
                free(m);
                return SL_ERR__NOMEM;
            }
            g->offsets = n;
            g->offsets_cap = cap;
        }
        memmove(&g->offsets[slot + 1], &g->offsets[slot], sizeof(*g->offsets) * (size_t)(g->noffsets - slot));
        o = &g->offsets[slot];
        memset(o, 0, sizeof(*o));
        if (!(o->topic = malloc(tlen + 1))) {
            memmove(&g->offsets[slot], &g->offsets[slot + 1], sizeof(*g->offsets) * (size_t)(g->noffsets - slot));
            free(m);
            return SL_ERR__NOMEM;
        }
        memcpy(o->topic, topic, tlen);
        o->topic[tlen] = '\0';
        o->partition = partition;
        g->noffsets++;
    }
    o = &g->offsets[slot];
    free(o->metadata);
    o->metadata = m;
    o->offset = offset;
    o->leader_epoch = epoch;
    o->commit_ts = ts;
    return 0;
}

static void
off_del(struct group *g, const char *topic, size_t tlen, int32_t partition)
{
    int slot;
    if (!off_find(g, topic, tlen, partition, &slot))
        return;
    free(g->offsets[slot].topic);
    free(g->offsets[slot].metadata);
    memmove(&g->offsets[slot], &g->offsets[slot + 1], sizeof(*g->offsets) * (size_t)(g->noffsets - slot - 1));
    g->noffsets--;
}

/* The internal topic, created on first use. Caller holds mu. */
static struct topic *
offsets_topic(struct coord *c)
{
    char err[256];
    const char *keys[] = { "cleanup.policy", "segment.bytes" };
    const char *vals[] = { "compact", "104857600" };
    int rc;

    if (c->offsets_topic)
        return c->offsets_topic;
    c->offsets_topic = topics_get(c->b->topics, OFFSETS_TOPIC, strlen(OFFSETS_TOPIC));
    if (c->offsets_topic)
        return c->offsets_topic;
    rc = topics_create(c->b->topics, OFFSETS_TOPIC,
                       c->b->conf->offsets_topic_num_partitions > 0 ? c->b->conf->offsets_topic_num_partitions : 50,
                       1, 2, keys, vals, 0, 1, &c->offsets_topic, err, sizeof(err));
    if (rc != 0 && rc != SL_ERR_TOPIC_ALREADY_EXISTS) {
        SL_ERROR("group", "cannot create %s: %s", OFFSETS_TOPIC, err);
        return NULL;
    }
    if (!c->offsets_topic)
        c->offsets_topic = topics_get(c->b->topics, OFFSETS_TOPIC, strlen(OFFSETS_TOPIC));
    return c->offsets_topic;
}

/* Key v1 (group, topic, partition); value v3 or NULL (tombstone). */
static void
add_offset_record(struct rec_builder *rb, struct sl_buf *scratch, struct sl_slice group,
                  const char *topic, size_t tlen, int32_t partition, int64_t offset,
                  int32_t epoch, const char *meta, size_t mlen, int64_t ts, int tombstone)
{
    struct pr_writer w;
    size_t klen;

    sl_buf_reset(scratch);
    pr_writer_init(&w, scratch, 0);
    pr_write_i16(&w, 1);
    pr_write_string_len(&w, group.p, group.len);
    pr_write_string_len(&w, topic, tlen);
    pr_write_i32(&w, partition);
    klen = scratch->len;
    if (!tombstone) {
        pr_write_i16(&w, 3);
        pr_write_i64(&w, offset);
        pr_write_i32(&w, epoch);
        pr_write_string_len(&w, meta, mlen);
        pr_write_i64(&w, ts);
    }
    rec_builder_add(rb, ts, scratch->data, (int32_t)klen,
                    tombstone ? NULL : scratch->data + klen,
                    tombstone ? -1 : (int32_t)(scratch->len - klen), NULL, 0, 0);
}

/* Append an offsets batch for group; *part = the partition written. */
static int
append_offsets(struct coord *c, struct sl_slice group, struct sl_buf *batch, size_t size,
               struct partition **part)
{
    struct topic *t = offsets_topic(c);
    struct partition *p;
    int rc;

    *part = NULL;
    if (!t)
        return SL_ERR_COORDINATOR_NOT_AVAILABLE;
    p = topic_partition(t, group_partition_for(c->b->conf, group));
    if (!p)
        return SL_ERR_COORDINATOR_NOT_AVAILABLE;
    rc = plog_append(p->log, batch->data, size, p->leader_epoch, PLOG_APPEND_ASSIGN_OFFSETS,
                     loop_wall_ms(), NULL);
    if (rc != 0)
        return SL_ERR_KAFKA_STORAGE_ERROR;
    plog_set_high_watermark(p->log, plog_log_end_offset(p->log));
    *part = p;
    return 0;
}

int
group_commit_check(struct coord *c, struct sl_slice group, struct sl_slice member,
                   struct sl_slice instance, int instance_null, int32_t generation)
{
    struct group *g;
    struct gmember *m;
    int err = 0;

    if (group.len == 0)
        return SL_ERR_INVALID_GROUP_ID;
    pthread_mutex_lock(&c->mu);
    g = grp_find_group(c, group, NULL);
    if (!g) {
        if (generation < 0 && member.len == 0) {
            if (!grp_get_or_create_group(c, group))
                err = SL_ERR_COORDINATOR_NOT_AVAILABLE;
        } else {
            err = SL_ERR_UNKNOWN_MEMBER_ID;    /* Kafka: ILLEGAL_GENERATION in newer versions */
        }
        goto out;
    }
    if (grp_fenced_instance(g, member, instance, instance_null)) {
        err = SL_ERR_FENCED_INSTANCE_ID;
        goto out;
    }
    if (generation < 0 && member.len == 0 && g->state == GS_EMPTY)
        goto out;     /* a standalone commit (assign() consumers, admin tools) */
    if (g->state == GS_EMPTY && generation < 0 && member.len == 0)
        goto out;
    m = grp_find_member(g, member, NULL);
    if (!m)
        err = SL_ERR_UNKNOWN_MEMBER_ID;
    else if (m->instance && (instance_null || !grp_seq(m->instance, instance)))
        err = SL_ERR_FENCED_INSTANCE_ID;
    else if (generation != g->generation)
        err = SL_ERR_ILLEGAL_GENERATION;
    else if (g->state == GS_COMPLETING)
        err = SL_ERR_REBALANCE_IN_PROGRESS;
    else
        grp_touch(m);
out:
    pthread_mutex_unlock(&c->mu);
    return err;
}

struct offset_commit_batch *
group_commit_begin(struct coord *c, struct sl_slice group)
{
    struct offset_commit_batch *ob = calloc(1, sizeof(*ob));
    if (!ob || !(ob->group = grp_sdup(group))) {
        free(ob);
        return NULL;
    }
    ob->c = c;
    sl_buf_init(&ob->buf);
    rec_builder_begin(&ob->rb, &ob->buf, loop_wall_ms());
    return ob;
}

static struct sl_slice
ob_group(const struct offset_commit_batch *ob)
{
    return (struct sl_slice){ (const uint8_t *)ob->group, strlen(ob->group) };
}

int
group_commit_add(struct offset_commit_batch *ob, struct sl_slice topic, int32_t partition,
                 int64_t offset, int32_t leader_epoch, struct sl_slice metadata, int metadata_null,
                 int64_t now_ms)
{
    struct sl_buf scratch = SL_BUF_INIT;
    struct coord *c = ob->c;
    struct group *g;
    int rc = SL_ERR_COORDINATOR_NOT_AVAILABLE;

    if (metadata.len > (size_t)c->b->conf->offset_metadata_max_bytes)
        return SL_ERR_OFFSET_METADATA_TOO_LARGE;
    pthread_mutex_lock(&c->mu);
    if ((g = grp_get_or_create_group(c, ob_group(ob))) != NULL)
        rc = off_put(g, (const char *)topic.p, topic.len, partition, offset, leader_epoch,
                     metadata_null ? "" : (const char *)metadata.p, metadata_null ? 0 : metadata.len,
                     now_ms);
    pthread_mutex_unlock(&c->mu);
    if (rc != 0)
        return SL_ERR_COORDINATOR_NOT_AVAILABLE;
    add_offset_record(&ob->rb, &scratch, ob_group(ob), (const char *)topic.p, topic.len, partition,
                      offset, leader_epoch, metadata_null ? "" : (const char *)metadata.p,
                      metadata_null ? 0 : metadata.len, now_ms, 0);
    sl_buf_free(&scratch);
    ob->n++;
    return 0;
}

int
group_commit_end(struct offset_commit_batch *ob, struct partition **part)
{
    int rc = 0;
    *part = NULL;
    if (ob->n > 0) {
        size_t size = rec_builder_finish(&ob->rb, 0, -1, -1, -1);
        pthread_mutex_lock(&ob->c->mu);
        rc = size ? append_offsets(ob->c, ob_group(ob), &ob->buf, size, part)
                  : SL_ERR_COORDINATOR_NOT_AVAILABLE;
        pthread_mutex_unlock(&ob->c->mu);
    }
    sl_buf_free(&ob->buf);
    free(ob->group);
    free(ob);
    return rc;
}

int
group_offset_get(struct coord *c, struct sl_slice group, const char *topic, size_t tlen,
                 int32_t partition, int64_t *offset, int32_t *leader_epoch, char *mbuf,
                 size_t mcap, size_t *mlen)
{
    struct group *g;
    int slot, rc = SL_ERR__NOENT;

    pthread_mutex_lock(&c->mu);
    g = grp_find_group(c, group, NULL);
    if (g && off_find(g, topic, tlen, partition, &slot)) {
        struct goffset *o = &g->offsets[slot];
        size_t n = strlen(o->metadata);
        *offset = o->offset;
        *leader_epoch = o->leader_epoch;
        if (n > mcap)
            n = mcap;
        memcpy(mbuf, o->metadata, n);
        *mlen = n;
        rc = 0;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void
group_offsets_each(struct coord *c, struct sl_slice group,
                   void (*fn)(void *arg, const char *topic, int32_t partition, int64_t offset,
                              int32_t epoch, const char *meta),
                   void *arg)
{
    struct group *g;
    pthread_mutex_lock(&c->mu);
    g = grp_find_group(c, group, NULL);
    for (int i = 0; g && i < g->noffsets; i++) {
        struct goffset *o = &g->offsets[i];
        fn(arg, o->topic, o->partition, o->offset, o->leader_epoch, o->metadata);
    }
    pthread_mutex_unlock(&c->mu);
}

/* Does any member's consumer subscription name topic? (ConsumerProtocol
 * subscription: version int16, topics [string], ...) */
static int
group_subscribed(struct group *g, const char *topic, size_t tlen)
{
    if (!g->protocol_type || strcmp(g->protocol_type, "consumer") != 0)
        return 0;
    for (int i = 0; i < g->nmembers; i++) {
        struct gmember *m = g->members[i];
        for (int k = 0; k < m->nprotocols; k++) {
            struct pr_reader r;
            int32_t n;
            if (g->protocol && strcmp(m->protocols[k].name, g->protocol) != 0)
                continue;
            pr_reader_init(&r, m->protocols[k].meta, m->protocols[k].meta_len, 0);
            (void)pr_read_i16(&r);
            if (pr_read_array_len(&r, &n, 100000) != 0)
                continue;
            for (int32_t j = 0; j < n; j++) {
                struct sl_slice s;
                int null;
                pr_read_string(&r, &s, &null);
                if (!r.err && s.len == tlen && (tlen == 0 || memcmp(s.p, topic, tlen) == 0))
                    return 1;
            }
        }
    }
    return 0;
}

int
group_offset_delete_check(struct coord *c, struct sl_slice group)
{
    return group_exists(c, group);
}

int
group_offset_delete(struct coord *c, struct sl_slice group, const char *topic, size_t tlen,
                    int32_t partition)
{
    struct group *g;
    struct partition *flush = NULL;
    int rc = 0;

    pthread_mutex_lock(&c->mu);
    g = grp_find_group(c, group, NULL);
    if (!g) {
        rc = SL_ERR_GROUP_ID_NOT_FOUND;
    } else if (g->state != GS_EMPTY && group_subscribed(g, topic, tlen)) {
        rc = SL_ERR_GROUP_SUBSCRIBED_TO_TOPIC;
    } else {
        int slot;
        if (off_find(g, topic, tlen, partition, &slot)) {
            struct sl_buf b = SL_BUF_INIT, scratch = SL_BUF_INIT;
            struct rec_builder rb;
            struct partition *p;
            size_t size;
            rec_builder_begin(&rb, &b, loop_wall_ms());
            add_offset_record(&rb, &scratch, group, topic, tlen, partition, 0, -1, "", 0,
                              loop_wall_ms(), 1);
            size = rec_builder_finish(&rb, 0, -1, -1, -1);
            if (size && append_offsets(c, group, &b, size, &p) == 0)
                flush = p;
            sl_buf_free(&b);
            sl_buf_free(&scratch);
            off_del(g, topic, tlen, partition);
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (flush)      /* outside mu: the other groups need not wait for the disk */
        plog_flush(flush->log, INT64_MAX);
    return rc;
}

/* Delete group g (at slot) with its offsets: tombstones to the log. mu
 * held. Returns the __consumer_offsets partition the tombstones went to,
 * to be flushed once mu is released (NULL: nothing written). Partitions
 * of the internal topic live as long as the coordinator's reference. */
static struct partition *
group_delete_locked(struct coord *c, struct group *g, int slot)
{
    struct sl_slice group = { (const uint8_t *)g->id, strlen(g->id) };
    struct partition *flush = NULL;
    if (g->noffsets > 0) {
        struct sl_buf b = SL_BUF_INIT, scratch = SL_BUF_INIT;
        struct rec_builder rb;
        struct partition *p;
        size_t size;
        rec_builder_begin(&rb, &b, loop_wall_ms());
        for (int i = 0; i < g->noffsets; i++)
            add_offset_record(&rb, &scratch, group, g->offsets[i].topic,
                              strlen(g->offsets[i].topic), g->offsets[i].partition, 0, -1,
                              "", 0, loop_wall_ms(), 1);
        size = rec_builder_finish(&rb, 0, -1, -1, -1);
        if (size && append_offsets(c, group, &b, size, &p) == 0)
            flush = p;
        sl_buf_free(&b);
        sl_buf_free(&scratch);
    }
    memmove(&c->groups[slot], &c->groups[slot + 1], sizeof(*c->groups) * (size_t)(c->ngroups - slot - 1));
    c->ngroups--;
    grp_group_free(g);
    return flush;
}

int
group_delete(struct coord *c, struct sl_slice group)
{
    struct group *g;
    struct partition *flush = NULL;
    int slot, rc = 0;

    pthread_mutex_lock(&c->mu);
    g = grp_find_group(c, group, &slot);
    if (!g)
        rc = SL_ERR_GROUP_ID_NOT_FOUND;
    else if (g->state != GS_EMPTY || g->nmembers > 0)
        rc = SL_ERR_NON_EMPTY_GROUP;
    else
        flush = group_delete_locked(c, g, slot);
    pthread_mutex_unlock(&c->mu);
    if (flush)
        plog_flush(flush->log, INT64_MAX);
    return rc;
}

/* ---- retention of offsets of empty groups ------------------------------------------------ */

int
grp_offsets_retention(struct coord *c, int64_t now_wall, struct partition **flush, int max)
{
    int64_t keep = (int64_t)c->b->conf->offsets_retention_minutes * 60000;
    int n = 0;
    for (int gi = c->ngroups - 1; gi >= 0 && n < max; gi--) {
        struct group *g = c->groups[gi];
        if (g->state != GS_EMPTY || now_wall - g->empty_since_wall < keep)
            continue;
        int all_old = 1;
        for (int i = 0; i < g->noffsets; i++)
            if (now_wall - g->offsets[i].commit_ts < keep)
                all_old = 0;
        if (!all_old)
            continue;
        SL_INFO("group", "%s: offsets expired after %d minutes empty", g->id,
                c->b->conf->offsets_retention_minutes);
        struct partition *p = group_delete_locked(c, g, gi);   /* indexes stay valid */
        int seen = 0;
        for (int i = 0; i < n; i++)
            seen |= flush[i] == p;
        if (p && !seen)
            flush[n++] = p;
    }
    return n;
}

/* ---- loading __consumer_offsets at start ------------------------------------------------- */

static void
load_record(struct coord *c, const struct rec_record *r)
{
    struct pr_reader kr, vr;
    struct sl_slice group, topic, meta;
    int16_t kv, vv;
    int32_t partition, epoch = -1;
    int64_t offset, ts = 0;
    int null;
    struct group *g;

    if (!r->key || r->key_len < 2)
        return;
    pr_reader_init(&kr, r->key, (size_t)r->key_len, 0);
    kv = pr_read_i16(&kr);
    if (kv != 0 && kv != 1)
        return;    /* group metadata (v2) is not kept: members rejoin after a restart */
    pr_read_string(&kr, &group, &null);
    pr_read_string(&kr, &topic, &null);
    partition = pr_read_i32(&kr);
    if (kr.err)
        return;
    if (!r->value) {
        /* a deletion: never brings a group back to life */
        if ((g = grp_find_group(c, group, NULL)) != NULL)
            off_del(g, (const char *)topic.p, topic.len, partition);
        return;
    }
    g = grp_get_or_create_group(c, group);
    if (!g)
        return;
    pr_reader_init(&vr, r->value, (size_t)r->value_len, 0);
    vv = pr_read_i16(&vr);
    offset = pr_read_i64(&vr);
    if (vv >= 3)
        epoch = pr_read_i32(&vr);
    pr_read_string(&vr, &meta, &null);
    ts = pr_read_i64(&vr);
    if (vr.err)
        return;
    off_put(g, (const char *)topic.p, topic.len, partition, offset, epoch,
            null ? "" : (const char *)meta.p, null ? 0 : meta.len, ts);
}

void
grp_load_offsets(struct coord *c)
{
    struct topic *t = topics_get(c->b->topics, OFFSETS_TOPIC, strlen(OFFSETS_TOPIC));
    size_t loaded = 0;

    if (!t)
        return;
    c->offsets_topic = t;
    for (int32_t pi = 0; pi < topic_partition_count(t); pi++) {
        struct partition *p = topic_partition(t, pi);
        int64_t off = plog_log_start_offset(p->log);
        int64_t end = plog_log_end_offset(p->log);
        while (off < end) {
            struct plog_slice s;
            uint8_t *buf;
            if (plog_read(p->log, off, 1 << 20, end, &s) != 0 || s.len == 0)
                break;
            buf = malloc(s.len);
            if (!buf || plog_slice_copy(&s, buf) != 0) {
                free(buf);
                plog_slice_release(&s);
                break;
            }
            size_t len = s.len;     /* plog_slice_release zeroes s.len */
            plog_slice_release(&s);
            size_t pos = 0;
            int64_t next = off;
            while (pos + REC_HDR_LEN <= len) {
                struct rec_batch_hdr h;
                if (rec_parse_hdr(buf + pos, len - pos, len - pos, &h) != 0 ||
                    rec_batch_size(&h) > len - pos)
                    break;
                if (!(h.attributes & (REC_ATTR_CODEC_MASK | REC_ATTR_CONTROL))) {
                    struct rec_iter it;
                    struct rec_record r;
                    rec_iter_init(&it, buf + pos + REC_HDR_LEN, rec_batch_size(&h) - REC_HDR_LEN,
                                  h.record_count);
                    while (rec_iter_next(&it, &r) == 1) {
                        load_record(c, &r);
                        loaded++;
                    }
                }
                next = rec_last_offset(&h) + 1;
                pos += rec_batch_size(&h);
            }
            free(buf);
            if (next <= off)
                break;
            off = next;
        }
    }
    /* groups whose every offset was deleted afterwards are gone */
    for (int i = c->ngroups - 1; i >= 0; i--) {
        if (c->groups[i]->noffsets == 0) {
            grp_group_free(c->groups[i]);
            memmove(&c->groups[i], &c->groups[i + 1], sizeof(*c->groups) * (size_t)(c->ngroups - i - 1));
            c->ngroups--;
        }
    }
    for (int i = 0; i < c->ngroups; i++)
        c->groups[i]->empty_since_wall = loop_wall_ms();
    SL_INFO("group", "loaded %zu offset record(s) of %d group(s) from %s", loaded, c->ngroups,
            OFFSETS_TOPIC);
}

