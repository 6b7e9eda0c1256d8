/* client/group.c -- consumer groups (the classic protocol) and group admin.
 *
 * subscribe: FindCoordinator v1, then JoinGroup v2 ("consumer" protocol,
 * ConsumerProtocolSubscription v0 metadata: int16 version, topics, null
 * user data) with one protocol per supported assignor, the configured one
 * first. The leader computes the assignment (range or roundrobin, as
 * Kafka's RangeAssignor / RoundRobinAssignor) and hands it out with
 * SyncGroup v1 (ConsumerProtocolAssignment v0). Positions start at the
 * committed offset (OffsetFetch v1), else auto_offset_reset. Heartbeat v1
 * runs from sluice_consume every heartbeat interval; REBALANCE_IN_PROGRESS,
 * ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID commit what was consumed (when
 * still allowed) and rejoin. Offsets are committed with OffsetCommit v2
 * every 5 s (async) and on sluice_commit / unsubscribe / destroy.
 *
 * The coordinator gets a connection of its own, so a JoinGroup that waits
 * for the rebalance, or a heartbeat, never queues behind a long-poll Fetch.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client/sluice_int.h"

#define AUTO_COMMIT_MS 5000

struct slc_group {
    char   **topics;
    int      ntopics;
    struct slc_broker coord;
    int      have_coord;
    char    *member_id;
    int32_t  generation;
    int      joined;
    int      assigned;              /* an assignment was received */
    int64_t  next_hb;
    int64_t  next_commit;
    int      commit_err;
};

/* The next string of r, as a C string. */
static char *
read_strdup(struct pr_reader *r)
{
    struct sl_slice s;
    pr_read_string(r, &s, NULL);
    return slc_strndup(s.p, s.len);
}

/* ---- coordinator --------------------------------------------------------- */

static int
find_coordinator(struct sluice *sl, const char *group, struct slc_broker *out)
{
    struct slc_broker *b;
    struct pr_writer w;
    struct pr_reader r;
    struct sl_slice host, msg;
    int32_t corr, node, port;
    int16_t ec;
    int rc, attempt, isnull;

    for (attempt = 0;; attempt++) {
        if ((rc = slc_any_request(sl, PR_API_FIND_COORDINATOR, SLC_V_FIND_COORD, &b, &w, &corr)) != 0)
            return rc;
        pr_write_string(&w, group);
        pr_write_i8(&w, 0);
        if ((rc = slc_call(sl, b, corr, &r)) != 0)
            return rc;
        pr_read_i32(&r);
        ec = pr_read_i16(&r);
        pr_read_string(&r, &msg, &isnull);
        node = pr_read_i32(&r);
        pr_read_string(&r, &host, NULL);
        port = pr_read_i32(&r);
        if (r.err)
            return slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad FindCoordinator response");
        if (ec == SL_ERR_COORDINATOR_NOT_AVAILABLE || ec == SL_ERR_COORDINATOR_LOAD_IN_PROGRESS ||
            ec == SL_ERR_NOT_COORDINATOR) {
            if (attempt >= 50)
                return slc_seterr(sl, ec, "group '%s': %s", group, sluice_strerror(ec));
            poll(NULL, 0, sl->conf.retry_backoff_ms);
            continue;
        }
        if (ec)
            return slc_seterr(sl, ec, "group '%s': FindCoordinator: %s", group, sluice_strerror(ec));
        if (out->conn.fd >= 0)
            slc_disconnect(sl, out, SLUICE_ERR_IO);
        memset(out, 0, sizeof(*out));
        out->conn.fd = -1;
        out->id = node;
        snprintf(out->host, sizeof(out->host), "%.*s", (int)host.len, (const char *)host.p);
        out->port = port;
        return slc_connect(sl, out);
    }
}

/* The member's own coordinator, found (again) when not connected. */
static int
ensure_coord(struct sluice *sl)
{
    struct slc_group *g = sl->grp;
    int rc;

    if (g->have_coord && g->coord.conn.fd >= 0)
        return 0;
    if ((rc = find_coordinator(sl, sl->group_id, &g->coord)) != 0)
        return rc;
    g->have_coord = 1;
    return 0;
}

/* A connection to the coordinator of group (a temporary one for admin). */
static int
coord_call_begin(struct sluice *sl, const char *group, struct slc_broker *tmp, struct slc_broker **out)
{
    struct slc_group *g = sl->grp;
    int rc;

    if (g && sl->group_id && !strcmp(sl->group_id, group)) {
        if ((rc = ensure_coord(sl)) != 0)
            return rc;
        *out = &g->coord;
        return 0;
    }
    memset(tmp, 0, sizeof(*tmp));
    tmp->conn.fd = -1;
    if ((rc = find_coordinator(sl, group, tmp)) != 0)
        return rc;
    *out = tmp;
    return 0;
}

static void
coord_call_end(struct sluice *sl, struct slc_broker *tmp, struct slc_broker *used)
{
    if (used == tmp && tmp->conn.fd >= 0)
        slc_disconnect(sl, tmp, SLUICE_ERR_IO);
}

/* coord_call_begin, then a sync request for key at ver started in sl->req;
 * on failure nothing is left to end. */
static int
coord_request(struct sluice *sl, const char *group, int16_t key, int16_t ver, struct slc_broker *tmp,
              struct slc_broker **b, struct pr_writer *w, int32_t *corr)
{
    int rc;

    if ((rc = coord_call_begin(sl, group, tmp, b)) != 0)
        return rc;
    if ((rc = slc_check_version(sl, *b, key, ver)) != 0) {
        coord_call_end(sl, tmp, *b);
        return rc;
    }
    slc_req_start(sl, *b, w, key, ver, corr);
    return 0;
}

/* A group admin request on just [group] (DescribeGroups, DeleteGroups):
 * sent to the coordinator and answered; *r is past the throttle time and
 * *n is the length of the results array. On success the caller ends the
 * call (coord_call_end); on failure nothing is left to end. */
static int
one_group_call(struct sluice *sl, const char *group, int16_t key, int16_t ver, struct slc_broker *tmp,
               struct slc_broker **b, struct pr_reader *r, int32_t *n)
{
    struct pr_writer w;
    int32_t corr;
    int rc;

    if ((rc = coord_request(sl, group, key, ver, tmp, b, &w, &corr)) != 0)
        return rc;
    pr_write_array_len(&w, 1);
    pr_write_string(&w, group);
    if ((rc = slc_call(sl, *b, corr, r)) != 0) {
        coord_call_end(sl, tmp, *b);
        return rc;
    }
    pr_read_i32(r);
    pr_read_array_len(r, n, 1000);
    return 0;
}

/* ---- assignment ---------------------------------------------------------- */

struct member {
    char   *id;
    char  **topics;
    int     ntopics;
    struct sl_buf assign;       /* topic -> partitions, built below */
    /* (topic, partition) pairs assigned */
    int     n, cap;
    const char **atopic;
    int32_t *apart;
};

static int
member_subscribed(const struct member *m, const char *t)
{
    int i;
    for (i = 0; i < m->ntopics; i++)
        if (!strcmp(m->topics[i], t))
            return 1;
    return 0;
}

static int
member_add(struct member *m, const char *t, int32_t p)
{
    if (m->n == m->cap) {
        int cap = m->cap ? m->cap * 2 : 16;
        const char **a = realloc(m->atopic, (size_t)cap * sizeof(*a));
        int32_t *b;
        if (!a)
            return SLUICE_ERR_NOMEM;
        m->atopic = a;
        b = realloc(m->apart, (size_t)cap * sizeof(*b));
        if (!b)
            return SLUICE_ERR_NOMEM;
        m->apart = b;
        m->cap = cap;
    }
    m->atopic[m->n] = t;
    m->apart[m->n] = p;
    m->n++;
    return 0;
}

static int
cmp_member(const void *a, const void *b)
{
    return strcmp(((const struct member *)a)->id, ((const struct member *)b)->id);
}

static int
cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Encode ConsumerProtocolAssignment v0 of m into m->assign. */
static void
encode_assignment(struct member *m)
{
    struct pr_writer w;
    int i, j, nt = 0;
    size_t tpos;

    pr_writer_init(&w, &m->assign, 0);
    pr_write_i16(&w, 0);
    tpos = pr_reserve_array_len(&w);
    for (i = 0; i < m->n; i = j) {
        for (j = i; j < m->n && !strcmp(m->atopic[j], m->atopic[i]); j++)
            ;
        pr_write_string(&w, m->atopic[i]);
        pr_write_array_len(&w, j - i);
        for (int k = i; k < j; k++)
            pr_write_i32(&w, m->apart[k]);
        nt++;
    }
    pr_patch_array_len(&w, tpos, nt);
    pr_write_bytes(&w, NULL, 0, 1);
}

/* Leader: assign every subscribed topic's partitions to the members. */
static int
compute_assignment(struct sluice *sl, struct member *m, int nm, const char *protocol)
{
    char **topics = NULL;
    int nt = 0, i, j, rc = 0;
    int roundrobin = !strcmp(protocol, "roundrobin");

    qsort(m, (size_t)nm, sizeof(*m), cmp_member);
    for (i = 0; i < nm; i++)
        for (j = 0; j < m[i].ntopics; j++) {
            int k, dup = 0;
            for (k = 0; k < nt; k++)
                dup |= !strcmp(topics[k], m[i].topics[j]);
            if (!dup) {
                char **v = realloc(topics, (size_t)(nt + 1) * sizeof(*v));
                if (!v) {
                    free(topics);
                    return SLUICE_ERR_NOMEM;
                }
                topics = v;
                topics[nt++] = m[i].topics[j];
            }
        }
    qsort(topics, (size_t)nt, sizeof(*topics), cmp_cstr);
    if (roundrobin) {
        int next = 0;
        for (i = 0; i < nt; i++) {
            int32_t np = 0, p;
            if (sluice_partition_count(sl, topics[i], 0, &np) != 0)
                continue;
            for (p = 0; p < np; p++) {
                int tries;
                for (tries = 0; tries < nm; tries++) {
                    struct member *c = &m[next];
                    next = (next + 1) % nm;
                    if (member_subscribed(c, topics[i])) {
                        if ((rc = member_add(c, topics[i], p)) != 0)
                            goto out;
                        break;
                    }
                }
            }
        }
    } else {
        for (i = 0; i < nt; i++) {
            int32_t np = 0, p = 0, per, extra;
            int subs = 0, k;
            if (sluice_partition_count(sl, topics[i], 0, &np) != 0)
                continue;
            for (j = 0; j < nm; j++)
                subs += member_subscribed(&m[j], topics[i]);
            if (!subs)
                continue;
            per = np / subs;
            extra = np % subs;
            for (j = 0, k = 0; j < nm; j++) {
                int32_t cnt, q;
                if (!member_subscribed(&m[j], topics[i]))
                    continue;
                cnt = per + (k < extra ? 1 : 0);
                for (q = 0; q < cnt; q++)
                    if ((rc = member_add(&m[j], topics[i], p++)) != 0)
                        goto out;
                k++;
            }
        }
    }
    for (i = 0; i < nm; i++)
        encode_assignment(&m[i]);
out:
    free(topics);
    return rc;
}

static void
members_free(struct member *m, int nm)
{
    int i, j;
    for (i = 0; i < nm; i++) {
        free(m[i].id);
        for (j = 0; j < m[i].ntopics; j++)
            free(m[i].topics[j]);
        free(m[i].topics);
        free(m[i].atopic);
        free(m[i].apart);
        sl_buf_free(&m[i].assign);
    }
    free(m);
}

/* Decode ConsumerProtocolSubscription (any version: topics come first). */
static void
decode_subscription(struct member *m, const uint8_t *p, size_t len)
{
    struct pr_reader r;
    int32_t n, i;
    pr_reader_init(&r, p, len, 0);
    pr_read_i16(&r);
    pr_read_array_len(&r, &n, 100000);
    if (r.err || n <= 0)
        return;
    m->topics = calloc((size_t)n, sizeof(*m->topics));
    if (!m->topics)
        return;
    for (i = 0; i < n && !r.err; i++) {
        struct sl_slice s;
        pr_read_string(&r, &s, NULL);
        if (!r.err)
            m->topics[m->ntopics++] = slc_strndup(s.p, s.len);
    }
}

/* ---- committed offsets --------------------------------------------------- */

static int
offset_fetch(struct sluice *sl, const char *group, const char *topic, int n, const int32_t *parts,
             int64_t *offs)
{
    struct slc_broker tmp, *b;
    struct pr_writer w;
    struct pr_reader r;
    int32_t corr, nt, np, i, j, k;
    int rc;

    for (k = 0; k < n; k++)
        offs[k] = -1;
    if ((rc = coord_request(sl, group, PR_API_OFFSET_FETCH, SLC_V_OFFSET_FETCH, &tmp, &b, &w, &corr)) != 0)
        return rc;
    pr_write_string(&w, group);
    pr_write_array_len(&w, 1);
    pr_write_string(&w, topic);
    pr_write_array_len(&w, n);
    for (k = 0; k < n; k++)
        pr_write_i32(&w, parts[k]);
    if ((rc = slc_call(sl, b, corr, &r)) != 0)
        goto out;
    pr_read_array_len(&r, &nt, 100000);
    for (i = 0; i < nt && !r.err; i++) {
        struct sl_slice s;
        pr_read_string(&r, &s, NULL);
        pr_read_array_len(&r, &np, 1000000);
        for (j = 0; j < np && !r.err; j++) {
            int32_t p = pr_read_i32(&r);
            int64_t off = pr_read_i64(&r);
            int16_t ec;
            pr_read_string(&r, &s, NULL);
            ec = pr_read_i16(&r);
            if (ec && ec != SL_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
                rc = slc_seterr(sl, ec, "group '%s': OffsetFetch %s [%d]: %s", group, topic, p,
                                sluice_strerror(ec));
                goto out;
            }
            for (k = 0; k < n; k++)
                if (parts[k] == p)
                    offs[k] = off;
        }
    }
    if (r.err)
        rc = slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad OffsetFetch response");
out:
    coord_call_end(sl, &tmp, b);
    return rc;
}

int
sluice_committed(struct sluice *sl, const char *group, const char *topic, int n, int64_t *offs)
{
    int32_t *parts = malloc((size_t)(n > 0 ? n : 1) * sizeof(*parts));
    int rc, i;
    if (!parts)
        return SLUICE_ERR_NOMEM;
    for (i = 0; i < n; i++)
        parts[i] = i;
    rc = offset_fetch(sl, group, topic, n, parts, offs);
    free(parts);
    return rc;
}

void
sluice_committed_free(struct sluice_committed_offset *o, int n)
{
    int i;
    if (!o)
        return;
    for (i = 0; i < n; i++)
        free(o[i].topic);
    free(o);
}

static int
cmp_committed(const void *a, const void *b)
{
    const struct sluice_committed_offset *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

int
sluice_group_offsets(struct sluice *sl, const char *group, struct sluice_committed_offset **out, int *nout)
{
    struct slc_broker tmp, *b;
    struct pr_writer w;
    struct pr_reader r;
    int32_t corr, nt, np, i, j;
    int rc, n = 0, cap = 0;
    struct sluice_committed_offset *o = NULL;

    *out = NULL;
    *nout = 0;
    sl->errmsg[0] = 0;
    if ((rc = coord_request(sl, group, PR_API_OFFSET_FETCH, 2, &tmp, &b, &w, &corr)) != 0)
        return rc;
    pr_write_string(&w, group);
    pr_write_array_len(&w, -1);                   /* all topics */
    if ((rc = slc_call(sl, b, corr, &r)) != 0)
        goto out;
    pr_read_array_len(&r, &nt, 100000);
    for (i = 0; i < nt && !r.err; i++) {
        struct sl_slice t, s;
        pr_read_string(&r, &t, NULL);
        pr_read_array_len(&r, &np, 1000000);
        for (j = 0; j < np && !r.err; j++) {
            int32_t p = pr_read_i32(&r);
            int64_t off = pr_read_i64(&r);
            pr_read_string(&r, &s, NULL);
            pr_read_i16(&r);
            if (r.err || off < 0)
                continue;
            if (n == cap) {
                struct sluice_committed_offset *v;
                cap = cap ? cap * 2 : 16;
                v = realloc(o, (size_t)cap * sizeof(*v));
                if (!v) {
                    rc = SLUICE_ERR_NOMEM;
                    goto out;
                }
                o = v;
            }
            o[n].topic = slc_strndup(t.p, t.len);
            o[n].partition = p;
            o[n].offset = off;
            n++;
        }
    }
    {
        int16_t ec = pr_read_i16(&r);
        if (r.err)
            rc = slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad OffsetFetch response");
        else if (ec)
            rc = slc_seterr(sl, ec, "group '%s': OffsetFetch: %s", group, sluice_strerror(ec));
    }
out:
    coord_call_end(sl, &tmp, b);
    if (rc) {
        sluice_committed_free(o, n);
        return rc;
    }
    if (n > 1)
        qsort(o, (size_t)n, sizeof(*o), cmp_committed);
    *out = o;
    *nout = n;
    return 0;
}

/* Build an OffsetCommit v2 request into buf. */
static void
build_commit(struct sluice *sl, struct slc_broker *b, struct sl_buf *buf, int32_t *corr, const char *group,
             int32_t generation, const char *member, int ncp, const char *const *topics,
             const int32_t *parts, const int64_t *offs)
{
    struct pr_writer w;
    int i, j, nt = 0;
    size_t tpos;

    slc_req_begin(b, buf, &w, PR_API_OFFSET_COMMIT, SLC_V_OFFSET_COMMIT, sl->client_id, corr);
    pr_write_string(&w, group);
    pr_write_i32(&w, generation);
    pr_write_string(&w, member);
    pr_write_i64(&w, -1);                          /* retention: broker default */
    tpos = pr_reserve_array_len(&w);
    for (i = 0; i < ncp; i = j) {
        for (j = i; j < ncp && !strcmp(topics[j], topics[i]); j++)
            ;
        pr_write_string(&w, topics[i]);
        pr_write_array_len(&w, j - i);
        for (int k = i; k < j; k++) {
            pr_write_i32(&w, parts[k]);
            pr_write_i64(&w, offs[k]);
            pr_write_string(&w, "");
        }
        nt++;
    }
    pr_patch_array_len(&w, tpos, nt);
}

static int
parse_commit(struct sluice *sl, struct pr_reader *r)
{
    int32_t nt, np, i, j;
    int rc = 0;
    pr_read_array_len(r, &nt, 100000);
    for (i = 0; i < nt && !r->err; i++) {
        struct sl_slice s;
        pr_read_string(r, &s, NULL);
        pr_read_array_len(r, &np, 1000000);
        for (j = 0; j < np && !r->err; j++) {
            int32_t p = pr_read_i32(r);
            int16_t ec = pr_read_i16(r);
            if (ec && !rc)
                rc = slc_seterr(sl, ec, "commit %.*s [%d]: %s", (int)s.len, (const char *)s.p, p,
                                sluice_strerror(ec));
        }
    }
    if (r->err)
        return slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad OffsetCommit response");
    return rc;
}

void
slc_commit_response(struct sluice *sl, struct pr_reader *r, int err)
{
    int rc = err ? err : parse_commit(sl, r);
    if (rc && sl->grp)
        sl->grp->commit_err = rc;
}

int
sluice_commit_offsets(struct sluice *sl, const char *group, const char *topic, int n, const int32_t *parts,
                      const int64_t *offs)
{
    struct slc_broker tmp, *b;
    struct pr_reader r;
    const char **topics;
    int32_t corr;
    int rc, i;

    sl->errmsg[0] = 0;
    topics = malloc((size_t)(n > 0 ? n : 1) * sizeof(*topics));
    if (!topics)
        return SLUICE_ERR_NOMEM;
    for (i = 0; i < n; i++)
        topics[i] = topic;
    if ((rc = coord_call_begin(sl, group, &tmp, &b)) != 0)
        goto out;
    if ((rc = slc_check_version(sl, b, PR_API_OFFSET_COMMIT, SLC_V_OFFSET_COMMIT)) == 0) {
        sl_buf_reset(&sl->req);
        build_commit(sl, b, &sl->req, &corr, group, -1, "", n, topics, parts, offs);
        if ((rc = slc_call(sl, b, corr, &r)) == 0)
            rc = parse_commit(sl, &r);
        if (rc == SL_ERR_UNKNOWN_MEMBER_ID || rc == SL_ERR_ILLEGAL_GENERATION ||
            rc == SL_ERR_REBALANCE_IN_PROGRESS)
            rc = slc_seterr(sl, rc, "group '%s' has active members: stop its consumers first (%s)", group,
                            sluice_strerror(rc));
    }
    coord_call_end(sl, &tmp, b);
out:
    free(topics);
    return rc;
}

/* Commit the positions of every assigned partition (group member). */
static int
commit_positions(struct sluice *sl, int async)
{
    struct slc_group *g = sl->grp;
    const char **topics;
    int32_t *parts;
    int64_t *offs;
    int n = 0, i, rc;
    int32_t corr;
    struct pr_reader r;

    if (!g || !g->joined || sl->ncparts == 0)
        return 0;
    topics = malloc((size_t)sl->ncparts * sizeof(*topics));
    parts = malloc((size_t)sl->ncparts * sizeof(*parts));
    offs = malloc((size_t)sl->ncparts * sizeof(*offs));
    if (!topics || !parts || !offs) {
        rc = SLUICE_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < sl->ncparts; i++) {
        struct slc_cpart *cp = &sl->cparts[i];
        if (cp->pos < 0)
            continue;                              /* nothing consumed yet */
        topics[n] = cp->topic;
        parts[n] = cp->partition;
        offs[n] = cp->pos;
        n++;
    }
    rc = 0;
    if (n == 0)
        goto out;
    if ((rc = ensure_coord(sl)) != 0)
        goto out;
    if (async) {
        struct sl_buf buf = SL_BUF_INIT;
        build_commit(sl, &g->coord, &buf, &corr, sl->group_id, g->generation, g->member_id, n, topics, parts,
                     offs);
        rc = slc_req_send(sl, &g->coord, &buf, corr, SLC_K_COMMIT, NULL);
        sl_buf_free(&buf);
    } else {
        sl_buf_reset(&sl->req);
        build_commit(sl, &g->coord, &sl->req, &corr, sl->group_id, g->generation, g->member_id, n, topics,
                     parts, offs);
        if ((rc = slc_call(sl, &g->coord, corr, &r)) == 0)
            rc = parse_commit(sl, &r);
    }
out:
    free(topics);
    free(parts);
    free(offs);
    return rc;
}

int
sluice_commit(struct sluice *sl, int async)
{
    if (!sl->grp)
        return slc_seterr(sl, SLUICE_ERR_INVALID_ARG, "commit: not subscribed to a group");
    return commit_positions(sl, async);
}

/* ---- join / sync --------------------------------------------------------- */

static void
sub_metadata(struct slc_group *g, struct sl_buf *buf)
{
    struct pr_writer w;
    int i;
    pr_writer_init(&w, buf, 0);
    pr_write_i16(&w, 0);
    pr_write_array_len(&w, g->ntopics);
    for (i = 0; i < g->ntopics; i++)
        pr_write_string(&w, g->topics[i]);
    pr_write_bytes(&w, NULL, 0, 1);
}

static int
apply_assignment(struct sluice *sl, const uint8_t *p, size_t len)
{
    struct pr_reader r;
    int32_t nt, np, i, j;
    int rc = 0;

    slc_cparts_clear(sl);
    sl->grp->assigned = 1;
    if (len == 0)
        return 0;
    pr_reader_init(&r, p, len, 0);
    pr_read_i16(&r);
    pr_read_array_len(&r, &nt, 100000);
    for (i = 0; i < nt && !r.err; i++) {
        char *topic;
        int32_t *parts;
        int64_t *offs;
        topic = read_strdup(&r);
        pr_read_array_len(&r, &np, 1000000);
        parts = calloc((size_t)(np > 0 ? np : 1), sizeof(*parts));
        offs = calloc((size_t)(np > 0 ? np : 1), sizeof(*offs));
        if (!topic || !parts || !offs) {
            free(topic);
            free(parts);
            free(offs);
            return SLUICE_ERR_NOMEM;
        }
        for (j = 0; j < np; j++)
            parts[j] = pr_read_i32(&r);
        if (!r.err && np > 0)
            rc = offset_fetch(sl, sl->group_id, topic, np, parts, offs);
        for (j = 0; j < np && !r.err && rc == 0; j++)
            rc = slc_cpart_add(sl, topic, parts[j], offs[j] >= 0 ? offs[j] : SLUICE_OFFSET_STORED);
        free(topic);
        free(parts);
        free(offs);
        if (rc)
            return rc;
    }
    return r.err ? slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad group assignment") : 0;
}

/* The member id the coordinator gave (NULL: none, join afresh). */
static void
set_member_id(struct slc_group *g, const struct sl_slice *id)
{
    free(g->member_id);
    g->member_id = id ? slc_strndup(id->p, id->len) : NULL;
}

/* Send the JoinGroup / SyncGroup in sl->req and wait as long as a rebalance
 * may take; *ec is the response's error code (after the throttle time). */
static int
rebalance_call(struct sluice *sl, int32_t corr, struct pr_reader *r, int16_t *ec)
{
    int rc = slc_send_and_wait(sl, &sl->grp->coord, corr, r, sl->conf.rebalance_timeout_ms + 10000);
    if (rc)
        return rc;
    pr_read_i32(r);
    *ec = pr_read_i16(r);
    return 0;
}

static int
join_group(struct sluice *sl)
{
    struct slc_group *g = sl->grp;
    struct sl_buf meta = SL_BUF_INIT;
    int attempt, rc = 0;
    const char *protos[2];

    protos[0] = !strcmp(sl->assignor, "roundrobin") ? "roundrobin" : "range";
    protos[1] = !strcmp(protos[0], "range") ? "roundrobin" : "range";
    sub_metadata(g, &meta);
    g->joined = 0;
    for (attempt = 0; attempt < 100; attempt++) {
        struct pr_writer w;
        struct pr_reader r;
        struct sl_slice proto, leader, mid;
        struct member *members = NULL;
        int32_t corr, nm = 0, i;
        int16_t ec;
        int is_leader;
        char protocol[64];

        if (attempt)
            poll(NULL, 0, sl->conf.retry_backoff_ms);
        if ((rc = ensure_coord(sl)) != 0)
            break;
        if ((rc = slc_check_version(sl, &g->coord, PR_API_JOIN_GROUP, SLC_V_JOIN_GROUP)) != 0 ||
            (rc = slc_check_version(sl, &g->coord, PR_API_SYNC_GROUP, SLC_V_SYNC_GROUP)) != 0)
            break;
        slc_req_start(sl, &g->coord, &w, PR_API_JOIN_GROUP, SLC_V_JOIN_GROUP, &corr);
        pr_write_string(&w, sl->group_id);
        pr_write_i32(&w, sl->conf.session_timeout_ms);
        pr_write_i32(&w, sl->conf.rebalance_timeout_ms);
        pr_write_string(&w, g->member_id ? g->member_id : "");
        pr_write_string(&w, "consumer");
        pr_write_array_len(&w, 2);
        for (i = 0; i < 2; i++) {
            pr_write_string(&w, protos[i]);
            pr_write_bytes(&w, meta.data, meta.len, 0);
        }
        if ((rc = rebalance_call(sl, corr, &r, &ec)) != 0) {
            if (rc == SLUICE_ERR_IO || rc == SLUICE_ERR_TIMED_OUT)
                continue;
            break;
        }
        g->generation = pr_read_i32(&r);
        pr_read_string(&r, &proto, NULL);
        pr_read_string(&r, &leader, NULL);
        pr_read_string(&r, &mid, NULL);
        if (r.err) {
            rc = slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad JoinGroup response");
            break;
        }
        if (ec == SL_ERR_UNKNOWN_MEMBER_ID) {
            set_member_id(g, NULL);
            continue;
        }
        if (ec == SL_ERR_MEMBER_ID_REQUIRED) {
            set_member_id(g, &mid);
            continue;
        }
        if (ec == SL_ERR_COORDINATOR_NOT_AVAILABLE || ec == SL_ERR_NOT_COORDINATOR ||
            ec == SL_ERR_COORDINATOR_LOAD_IN_PROGRESS) {
            g->have_coord = 0;
            continue;
        }
        if (ec == SL_ERR_REBALANCE_IN_PROGRESS)
            continue;
        if (ec) {
            rc = slc_seterr(sl, ec, "group '%s': JoinGroup: %s", sl->group_id, sluice_strerror(ec));
            break;
        }
        set_member_id(g, &mid);
        snprintf(protocol, sizeof(protocol), "%.*s", (int)proto.len, (const char *)proto.p);
        is_leader = leader.len == mid.len && memcmp(leader.p, mid.p, mid.len) == 0;
        pr_read_array_len(&r, &nm, 100000);
        if (is_leader && nm > 0) {
            members = calloc((size_t)nm, sizeof(*members));
            if (!members) {
                rc = SLUICE_ERR_NOMEM;
                break;
            }
            for (i = 0; i < nm && !r.err; i++) {
                struct sl_slice md;
                pr_read_string(&r, &mid, NULL);
                pr_read_bytes(&r, &md, NULL);
                members[i].id = slc_strndup(mid.p, mid.len);
                decode_subscription(&members[i], md.p, md.len);
            }
            /* metadata for every subscribed topic */
            if ((rc = compute_assignment(sl, members, nm, protocol)) != 0) {
                members_free(members, nm);
                break;
            }
        } else {
            nm = 0;
        }
        /* SyncGroup */
        slc_req_start(sl, &g->coord, &w, PR_API_SYNC_GROUP, SLC_V_SYNC_GROUP, &corr);
        pr_write_string(&w, sl->group_id);
        pr_write_i32(&w, g->generation);
        pr_write_string(&w, g->member_id);
        pr_write_array_len(&w, nm);
        for (i = 0; i < nm; i++) {
            pr_write_string(&w, members[i].id);
            pr_write_bytes(&w, members[i].assign.data, members[i].assign.len, 0);
        }
        if (members)
            members_free(members, nm);
        if ((rc = rebalance_call(sl, corr, &r, &ec)) != 0) {
            if (rc == SLUICE_ERR_IO || rc == SLUICE_ERR_TIMED_OUT)
                continue;
            break;
        }
        if (ec == SL_ERR_REBALANCE_IN_PROGRESS || ec == SL_ERR_ILLEGAL_GENERATION)
            continue;
        if (ec == SL_ERR_UNKNOWN_MEMBER_ID) {
            set_member_id(g, NULL);
            continue;
        }
        if (ec == SL_ERR_COORDINATOR_NOT_AVAILABLE || ec == SL_ERR_NOT_COORDINATOR) {
            g->have_coord = 0;
            continue;
        }
        if (ec) {
            rc = slc_seterr(sl, ec, "group '%s': SyncGroup: %s", sl->group_id, sluice_strerror(ec));
            break;
        }
        {
            struct sl_slice asg;
            int isnull;
            pr_read_bytes(&r, &asg, &isnull);
            if (r.err) {
                rc = slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad SyncGroup response");
                break;
            }
            /* the reader points into sl->resp, which offset_fetch reuses: copy */
            {
                uint8_t *copy = malloc(asg.len ? asg.len : 1);
                if (!copy) {
                    rc = SLUICE_ERR_NOMEM;
                    break;
                }
                memcpy(copy, asg.p, asg.len);
                rc = apply_assignment(sl, copy, isnull ? 0 : asg.len);
                free(copy);
            }
        }
        if (rc)
            break;
        g->joined = 1;
        g->next_hb = slc_now_ms() + sl->conf.heartbeat_interval_ms;
        g->next_commit = slc_now_ms() + AUTO_COMMIT_MS;
        break;
    }
    sl_buf_free(&meta);
    if (!g->joined && rc == 0)
        rc = slc_seterr(sl, SLUICE_ERR_TIMED_OUT, "group '%s': could not join", sl->group_id);
    return rc;
}

int
sluice_subscribe(struct sluice *sl, const char *const *topics, int ntopics)
{
    struct slc_group *g;
    int i, rc;
    int32_t n;

    sl->errmsg[0] = 0;
    if (!sl->group_id || !*sl->group_id)
        return slc_seterr(sl, SLUICE_ERR_INVALID_ARG, "subscribe needs conf.group_id");
    if (ntopics <= 0)
        return slc_seterr(sl, SLUICE_ERR_INVALID_ARG, "subscribe needs at least one topic");
    for (i = 0; i < ntopics; i++)
        if ((rc = sluice_partition_count(sl, topics[i], 0, &n)) != 0)
            return rc;
    if (sl->grp)
        sluice_unsubscribe(sl);
    g = calloc(1, sizeof(*g));
    if (!g)
        return SLUICE_ERR_NOMEM;
    g->coord.conn.fd = -1;
    g->topics = calloc((size_t)ntopics, sizeof(*g->topics));
    if (!g->topics) {
        free(g);
        return SLUICE_ERR_NOMEM;
    }
    for (i = 0; i < ntopics; i++)
        g->topics[i] = strdup(topics[i]);
    g->ntopics = ntopics;
    sl->grp = g;
    slc_cparts_clear(sl);
    return join_group(sl);
}

static int
heartbeat(struct sluice *sl)
{
    struct slc_group *g = sl->grp;
    struct pr_writer w;
    struct pr_reader r;
    int32_t corr;
    int rc;

    slc_req_start(sl, &g->coord, &w, PR_API_HEARTBEAT, SLC_V_HEARTBEAT, &corr);
    pr_write_string(&w, sl->group_id);
    pr_write_i32(&w, g->generation);
    pr_write_string(&w, g->member_id);
    if ((rc = slc_send_and_wait(sl, &g->coord, corr, &r, sl->conf.session_timeout_ms)) != 0)
        return rc;
    pr_read_i32(&r);
    return pr_read_i16(&r);
}

int
slc_group_tick(struct sluice *sl)
{
    struct slc_group *g = sl->grp;
    int64_t now = slc_now_ms();
    int rc;

    if (!g)
        return 0;
    if (g->coord.conn.fd >= 0 && g->coord.conn.qlen > 0)
        while (slc_pump(sl, &g->coord, 0) == 1)
            ;
    if (g->commit_err) {
        g->commit_err = 0;                     /* reported through errmsg only */
    }
    if (!g->joined)
        return join_group(sl);
    if (now >= g->next_commit) {
        g->next_commit = now + AUTO_COMMIT_MS;
        commit_positions(sl, 1);
    }
    if (now < g->next_hb)
        return 0;
    g->next_hb = now + sl->conf.heartbeat_interval_ms;
    rc = heartbeat(sl);
    if (rc == 0)
        return 0;
    if (rc == SL_ERR_REBALANCE_IN_PROGRESS) {
        commit_positions(sl, 0);
        return join_group(sl);
    }
    if (rc == SL_ERR_UNKNOWN_MEMBER_ID)
        set_member_id(g, NULL);
    if (rc == SL_ERR_NOT_COORDINATOR || rc == SL_ERR_COORDINATOR_NOT_AVAILABLE || rc == SLUICE_ERR_IO ||
        rc == SLUICE_ERR_TIMED_OUT)
        g->have_coord = 0;
    return join_group(sl);
}

int
sluice_group_at_end(struct sluice *sl)
{
    int i;
    if (!sl->grp || !sl->grp->joined || !sl->grp->assigned)
        return 0;
    for (i = 0; i < sl->ncparts; i++) {
        struct slc_cpart *cp = &sl->cparts[i];
        if (cp->hw < 0 || cp->pos < 0 || cp->pos < cp->hw)
            return 0;
    }
    return 1;
}

int
sluice_unsubscribe(struct sluice *sl)
{
    struct slc_group *g = sl->grp;
    int i;

    if (!g)
        return 0;
    if (g->joined) {
        struct pr_writer w;
        struct pr_reader r;
        int32_t corr;
        commit_positions(sl, 0);
        slc_req_start(sl, &g->coord, &w, PR_API_LEAVE_GROUP, SLC_V_LEAVE_GROUP, &corr);
        pr_write_string(&w, sl->group_id);
        pr_write_string(&w, g->member_id);
        slc_send_and_wait(sl, &g->coord, corr, &r, 5000);
    }
    if (g->coord.conn.fd >= 0)
        slc_disconnect(sl, &g->coord, SLUICE_ERR_IO);
    for (i = 0; i < g->ntopics; i++)
        free(g->topics[i]);
    free(g->topics);
    free(g->member_id);
    free(g);
    sl->grp = NULL;
    slc_cparts_clear(sl);
    return 0;
}

void
slc_group_destroy(struct sluice *sl)
{
    sluice_unsubscribe(sl);
}

/* ---- group admin --------------------------------------------------------- */

void
sluice_groups_free(struct sluice_group *g, int n)
{
    int i, j, k;
    if (!g)
        return;
    for (i = 0; i < n; i++) {
        free(g[i].group_id);
        free(g[i].state);
        free(g[i].protocol_type);
        free(g[i].protocol);
        for (j = 0; j < g[i].member_count; j++) {
            struct sluice_group_member *m = &g[i].members[j];
            free(m->member_id);
            free(m->client_id);
            free(m->client_host);
            for (k = 0; k < m->assignment_count; k++)
                free(m->assigned_topics[k]);
            free(m->assigned_topics);
            free(m->assigned_partitions);
        }
        free(g[i].members);
    }
    free(g);
}

int
sluice_list_groups(struct sluice *sl, struct sluice_group **out, int *nout)
{
    struct slc_broker *b;
    struct pr_writer w;
    struct pr_reader r;
    int32_t corr, n, i;
    int16_t ec;
    int rc;
    struct sluice_group *g;

    *out = NULL;
    *nout = 0;
    sl->errmsg[0] = 0;
    if ((rc = slc_any_request(sl, PR_API_LIST_GROUPS, SLC_V_LIST_GROUPS, &b, &w, &corr)) != 0)
        return rc;
    if ((rc = slc_call(sl, b, corr, &r)) != 0)
        return rc;
    pr_read_i32(&r);
    ec = pr_read_i16(&r);
    if (ec)
        return slc_seterr(sl, ec, "ListGroups: %s", sluice_strerror(ec));
    pr_read_array_len(&r, &n, 1000000);
    g = calloc((size_t)(n > 0 ? n : 1), sizeof(*g));
    if (!g)
        return SLUICE_ERR_NOMEM;
    for (i = 0; i < n && !r.err; i++) {
        g[i].group_id = read_strdup(&r);
        g[i].protocol_type = read_strdup(&r);
    }
    if (r.err) {
        sluice_groups_free(g, n);
        return slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad ListGroups response");
    }
    for (i = 1; i < n; i++) {                     /* sort by name */
        struct sluice_group t = g[i];
        int32_t k = i - 1;
        while (k >= 0 && strcmp(g[k].group_id, t.group_id) > 0) {
            g[k + 1] = g[k];
            k--;
        }
        g[k + 1] = t;
    }
    *out = g;
    *nout = n;
    return 0;
}

static void
decode_member_assignment(struct sluice_group_member *m, const uint8_t *p, size_t len)
{
    struct pr_reader r;
    int32_t nt, np, i, j;
    if (len == 0)
        return;
    pr_reader_init(&r, p, len, 0);
    pr_read_i16(&r);
    pr_read_array_len(&r, &nt, 100000);
    for (i = 0; i < nt && !r.err; i++) {
        struct sl_slice s;
        pr_read_string(&r, &s, NULL);
        pr_read_array_len(&r, &np, 1000000);
        if (r.err || np <= 0)
            continue;
        {
            char **t = realloc(m->assigned_topics, (size_t)(m->assignment_count + np) * sizeof(*t));
            int32_t *pp;
            if (!t)
                return;
            m->assigned_topics = t;
            pp = realloc(m->assigned_partitions, (size_t)(m->assignment_count + np) * sizeof(*pp));
            if (!pp)
                return;
            m->assigned_partitions = pp;
        }
        for (j = 0; j < np && !r.err; j++) {
            m->assigned_topics[m->assignment_count] = slc_strndup(s.p, s.len);
            m->assigned_partitions[m->assignment_count] = pr_read_i32(&r);
            m->assignment_count++;
        }
    }
}

int
sluice_describe_group(struct sluice *sl, const char *group, struct sluice_group **out)
{
    struct slc_broker tmp, *b;
    struct pr_reader r;
    int32_t n, nm, i;
    int rc;
    struct sluice_group *g = NULL;

    *out = NULL;
    sl->errmsg[0] = 0;
    if ((rc = one_group_call(sl, group, PR_API_DESCRIBE_GROUPS, SLC_V_DESCRIBE_GROUPS, &tmp, &b, &r, &n)) != 0)
        return rc;
    if (n != 1) {
        rc = slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad DescribeGroups response");
        goto out;
    }
    g = calloc(1, sizeof(*g));
    if (!g) {
        rc = SLUICE_ERR_NOMEM;
        goto out;
    }
    g->err = pr_read_i16(&r);
    g->group_id = read_strdup(&r);
    g->state = read_strdup(&r);
    g->protocol_type = read_strdup(&r);
    g->protocol = read_strdup(&r);
    pr_read_array_len(&r, &nm, 100000);
    if (nm > 0) {
        g->members = calloc((size_t)nm, sizeof(*g->members));
        if (!g->members) {
            rc = SLUICE_ERR_NOMEM;
            goto out;
        }
    }
    for (i = 0; i < nm && !r.err; i++) {
        struct sluice_group_member *m = &g->members[g->member_count++];
        struct sl_slice md;
        m->member_id = read_strdup(&r);
        m->client_id = read_strdup(&r);
        m->client_host = read_strdup(&r);
        pr_read_bytes(&r, &md, NULL);
        pr_read_bytes(&r, &md, NULL);
        if (!r.err)
            decode_member_assignment(m, md.p, md.len);
    }
    if (r.err) {
        rc = slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad DescribeGroups response");
        goto out;
    }
    if (g->err) {
        rc = slc_seterr(sl, g->err, "group '%s': %s", group, sluice_strerror(g->err));
        goto out;
    }
    if (!strcmp(g->state, "Dead")) {
        rc = slc_seterr(sl, SL_ERR_GROUP_ID_NOT_FOUND, "unknown group '%s'", group);
        goto out;
    }
out:
    coord_call_end(sl, &tmp, b);
    if (rc) {
        sluice_groups_free(g, g ? 1 : 0);
        return rc;
    }
    *out = g;
    return 0;
}

int
sluice_delete_group(struct sluice *sl, const char *group)
{
    struct slc_broker tmp, *b;
    struct pr_reader r;
    int32_t n, i;
    int16_t ec = 0;
    int rc;

    sl->errmsg[0] = 0;
    if ((rc = one_group_call(sl, group, PR_API_DELETE_GROUPS, SLC_V_DELETE_GROUPS, &tmp, &b, &r, &n)) != 0)
        return rc;
    for (i = 0; i < n && !r.err; i++) {
        struct sl_slice s;
        pr_read_string(&r, &s, NULL);
        ec = pr_read_i16(&r);
    }
    if (r.err || n != 1)
        rc = slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad DeleteGroups response");
    else if (ec == SL_ERR_GROUP_ID_NOT_FOUND)
        rc = slc_seterr(sl, ec, "unknown group '%s'", group);
    else if (ec == SL_ERR_NON_EMPTY_GROUP)
        rc = slc_seterr(sl, ec, "group '%s' still has members: stop its consumers first", group);
    else if (ec)
        rc = slc_seterr(sl, ec, "group '%s': %s", group, sluice_strerror(ec));
    coord_call_end(sl, &tmp, b);
    return rc;
}
