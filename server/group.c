/* server/group.c -- the group coordinator's state machine: groups,
 * members, generations, rebalances, parked Join/Sync replies, session
 * deadlines (the ticker thread). Committed offsets are in group_offsets.c.
 * See group.h for the model; comments below cite Kafka's GroupCoordinator
 * where behaviour follows it.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "server/group_int.h"
#include "server/produce.h"
#include "storage/err.h"
#include "storage/log.h"
#include "storage/record.h"

#define TICK_MS 50

const char *
group_state_name(int state)
{
    static const char *names[] = { "Empty", "PreparingRebalance", "CompletingRebalance",
                                   "Stable", "Dead" };
    return state >= 0 && state <= GS_DEAD ? names[state] : "Unknown";
}

/* ---- small helpers ---------------------------------------------------------- */

char *
grp_sdup(struct sl_slice s)
{
    char *p = malloc(s.len + 1);
    if (p) {
        if (s.len)
            memcpy(p, s.p, s.len);
        p[s.len] = '\0';
    }
    return p;
}

int
grp_seq(const char *a, struct sl_slice s)
{
    /* s.p is NULL for a null string (len 0): no memcmp then */
    return a && strlen(a) == s.len && (s.len == 0 || memcmp(a, s.p, s.len) == 0);
}

int
grp_scmp(const char *a, struct sl_slice s)
{
    size_t al = strlen(a), n = al < s.len ? al : s.len;
    int c = n ? memcmp(a, s.p, n) : 0;   /* s.p may be NULL when n == 0 */
    return c ? c : (al < s.len ? -1 : al > s.len);
}

int32_t
group_partition_for(const struct sl_conf *conf, struct sl_slice group)
{
    int32_t h = 0;
    int32_t n = conf->offsets_topic_num_partitions > 0 ? conf->offsets_topic_num_partitions : 50;
    for (size_t i = 0; i < group.len; i++)
        h = (int32_t)(31u * (uint32_t)h + (uint8_t)group.p[i]);
    /* Kafka: Utils.abs(hash) % n, where abs(MIN_VALUE) is 0 */
    if (h == INT32_MIN)
        h = 0;
    return (h < 0 ? -h : h) % n;
}

static void
new_member_id(const char *client_id, char *out, size_t len)
{
    uint8_t u[16];
    if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u))
        memset(u, 0x42, sizeof(u));
    snprintf(out, len, "%s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             client_id && *client_id ? client_id : "member", u[0], u[1], u[2], u[3], u[4], u[5],
             u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* ---- parked replies ----------------------------------------------------------- */

struct post_complete {
    struct loop_task task;
    struct resp     *r;
    struct sl_buf    body;
};

static void
post_complete_cb(struct loop *l, void *arg)
{
    struct post_complete *pc = arg;
    struct sl_buf *b = resp_buf(pc->r);
    sl_buf_append(b, pc->body.data, pc->body.len);
    resp_complete(pc->r);
    sl_buf_free(&pc->body);
    free(pc);
    (void)l;
}

/* Complete a parked reply with body (taken). Any thread; caller holds mu. */
static void
parked_finish(struct parked *p, struct sl_buf *body)
{
    struct coord *c = p->c;
    for (int i = 0; i < c->nstopped; i++) {
        if (c->stopped[i] == p->l) {
            /* its loop has stopped: nothing can be sent any more, and the
             * network layer frees the reserved reply with the connection */
            sl_buf_free(body);
            free(p);
            return;
        }
    }
    if (loop_in_thread(p->l)) {
        sl_buf_append(resp_buf(p->r), body->data, body->len);
        resp_complete(p->r);
        sl_buf_free(body);
    } else {
        struct post_complete *pc = malloc(sizeof(*pc));
        if (!pc) {
            sl_buf_free(body);
            free(p);
            return;    /* the reply is lost; the client times out and retries */
        }
        pc->task.cb = post_complete_cb;
        pc->task.arg = pc;
        pc->r = p->r;
        pc->body = *body;
        loop_post(p->l, &pc->task);
    }
    free(p);
}

static struct parked *
park(struct req_ctx *ctx)
{
    struct parked *p = malloc(sizeof(*p));
    struct pr_writer w;
    if (!p)
        return NULL;
    if (!(p->r = api_resp_begin(ctx, &w))) {
        free(p);
        return NULL;
    }
    p->l = conn_loop(ctx->c);
    p->c = ctx->b->coord;
    p->version = ctx->hdr.api_version;
    p->flexible = ctx->flexible;
    return p;
}

/* m's metadata for the group's chosen protocol (NULL, 0 if none). */
static const uint8_t *
member_meta(const struct gmember *m, const char *protocol, size_t *len)
{
    for (int k = 0; protocol && k < m->nprotocols; k++)
        if (!strcmp(m->protocols[k].name, protocol)) {
            *len = m->protocols[k].meta_len;
            return m->protocols[k].meta;
        }
    *len = 0;
    return NULL;
}

/* JoinGroup reply body (v0-7). members: NULL for followers. */
static void
finish_join(struct parked *p, struct group *g, int16_t err, const char *member_id, int leader_view)
{
    struct sl_buf body = SL_BUF_INIT;
    struct pr_writer w;
    int16_t v = p->version;

    pr_writer_init(&w, &body, p->flexible);
    if (v >= 2)
        pr_write_i32(&w, 0);
    pr_write_i16(&w, err);
    pr_write_i32(&w, err ? -1 : g->generation);
    if (v >= 7)
        pr_write_string(&w, err ? NULL : g->protocol_type);
    if (v >= 7)
        pr_write_string(&w, err ? NULL : g->protocol);
    else
        pr_write_string(&w, err || !g->protocol ? "" : g->protocol);
    pr_write_string(&w, err || !g->leader ? "" : g->leader);
    pr_write_string(&w, member_id ? member_id : "");
    if (!err && leader_view) {
        pr_write_array_len(&w, g->nmembers);
        for (int i = 0; i < g->nmembers; i++) {
            struct gmember *m = g->members[i];
            size_t mlen;
            const uint8_t *meta = member_meta(m, g->protocol, &mlen);
            pr_write_string(&w, m->id);
            if (v >= 5)
                pr_write_string(&w, m->instance);
            pr_write_bytes(&w, meta, mlen, 0);
            pr_write_empty_tags(&w);
        }
    } else {
        pr_write_array_len(&w, 0);
    }
    pr_write_empty_tags(&w);
    parked_finish(p, &body);
}

/* SyncGroup reply body (v0-5). */
static void
finish_sync(struct parked *p, struct group *g, int16_t err, const uint8_t *assign, size_t len)
{
    struct sl_buf body = SL_BUF_INIT;
    struct pr_writer w;
    int16_t v = p->version;

    pr_writer_init(&w, &body, p->flexible);
    if (v >= 1)
        pr_write_i32(&w, 0);
    pr_write_i16(&w, err);
    if (v >= 5) {
        pr_write_string(&w, err ? NULL : g->protocol_type);
        pr_write_string(&w, err ? NULL : g->protocol);
    }
    pr_write_bytes(&w, err ? NULL : assign, err ? 0 : len, 0);
    pr_write_empty_tags(&w);
    parked_finish(p, &body);
}

/* ---- groups and members --------------------------------------------------------- */

struct group *
grp_find_group(struct coord *c, struct sl_slice id, int *slot)
{
    int lo = 0, hi = c->ngroups;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int cmp = grp_scmp(c->groups[mid]->id, id);
        if (cmp == 0) {
            if (slot)
                *slot = mid;
            return c->groups[mid];
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (slot)
        *slot = lo;
    return NULL;
}

struct group *
grp_get_or_create_group(struct coord *c, struct sl_slice id)
{
    int slot;
    struct group *g = grp_find_group(c, id, &slot);
    if (g)
        return g;
    if (!(g = calloc(1, sizeof(*g))) || !(g->id = grp_sdup(id))) {
        free(g);
        return NULL;
    }
    g->state = GS_EMPTY;
    g->empty_since_wall = loop_wall_ms();
    if (c->ngroups == c->cap) {
        int cap = c->cap ? c->cap * 2 : 16;
        struct group **ng = realloc(c->groups, sizeof(*ng) * (size_t)cap);
        if (!ng) {
            free(g->id);
            free(g);
            return NULL;
        }
        c->groups = ng;
        c->cap = cap;
    }
    memmove(&c->groups[slot + 1], &c->groups[slot], sizeof(*c->groups) * (size_t)(c->ngroups - slot));
    c->groups[slot] = g;
    c->ngroups++;
    return g;
}

static void
member_free(struct gmember *m)
{
    for (int i = 0; i < m->nprotocols; i++) {
        free(m->protocols[i].name);
        free(m->protocols[i].meta);
    }
    free(m->protocols);
    free(m->id);
    free(m->instance);
    free(m->client_id);
    free(m->client_host);
    free(m->assignment);
    free(m);
}

void
grp_group_free(struct group *g)
{
    for (int i = 0; i < g->nmembers; i++)
        member_free(g->members[i]);
    for (int i = 0; i < g->npending; i++)
        free(g->pending[i].id);
    for (int i = 0; i < g->noffsets; i++) {
        free(g->offsets[i].topic);
        free(g->offsets[i].metadata);
    }
    free(g->members);
    free(g->pending);
    free(g->offsets);
    free(g->id);
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader);
    free(g);
}

struct gmember *
grp_find_member(struct group *g, struct sl_slice id, int *idx)
{
    for (int i = 0; i < g->nmembers; i++)
        if (grp_seq(g->members[i]->id, id)) {
            if (idx)
                *idx = i;
            return g->members[i];
        }
    return NULL;
}

struct gmember *
grp_find_static(struct group *g, struct sl_slice instance)
{
    for (int i = 0; i < g->nmembers; i++)
        if (g->members[i]->instance && grp_seq(g->members[i]->instance, instance))
            return g->members[i];
    return NULL;
}

/* KIP-345: a request naming a static instance whose current member id is
 * not the one it carries comes from a replaced (fenced) process. */
int
grp_fenced_instance(struct group *g, struct sl_slice member, struct sl_slice instance, int instance_null)
{
    struct gmember *s;
    if (instance_null)
        return 0;
    s = grp_find_static(g, instance);
    return s && !grp_seq(s->id, member);
}

static int
find_pending(struct group *g, struct sl_slice id)
{
    for (int i = 0; i < g->npending; i++)
        if (grp_seq(g->pending[i].id, id))
            return i;
    return -1;
}

static void
remove_pending(struct group *g, int i)
{
    free(g->pending[i].id);
    g->pending[i] = g->pending[--g->npending];
}

static int
set_protocols(struct gmember *m, const struct join_req *jr)
{
    for (int i = 0; i < m->nprotocols; i++) {
        free(m->protocols[i].name);
        free(m->protocols[i].meta);
    }
    free(m->protocols);
    m->nprotocols = 0;
    m->protocols = calloc((size_t)(jr->nprotocols ? jr->nprotocols : 1), sizeof(*m->protocols));
    if (!m->protocols)
        return SL_ERR__NOMEM;
    for (int i = 0; i < jr->nprotocols; i++) {
        m->protocols[i].name = grp_sdup(jr->protocols[i].name);
        m->protocols[i].meta = malloc(jr->protocols[i].meta.len + 1);
        if (!m->protocols[i].name || !m->protocols[i].meta)
            return SL_ERR__NOMEM;
        if (jr->protocols[i].meta.len)    /* null metadata: p NULL, len 0 */
            memcpy(m->protocols[i].meta, jr->protocols[i].meta.p, jr->protocols[i].meta.len);
        m->protocols[i].meta_len = jr->protocols[i].meta.len;
        m->nprotocols++;
    }
    m->session_timeout = jr->session_timeout;
    m->rebalance_timeout = jr->rebalance_timeout;
    return 0;
}

static int
same_protocols(const struct gmember *m, const struct join_req *jr)
{
    if (m->nprotocols != jr->nprotocols)
        return 0;
    for (int i = 0; i < jr->nprotocols; i++)
        if (!grp_seq(m->protocols[i].name, jr->protocols[i].name) ||
            m->protocols[i].meta_len != jr->protocols[i].meta.len ||
            (jr->protocols[i].meta.len &&
             memcmp(m->protocols[i].meta, jr->protocols[i].meta.p, jr->protocols[i].meta.len)))
            return 0;
    return 1;
}

/* 1 if every member (and the joiner) supports at least one common protocol. */
static int
protocols_compatible(struct group *g, const struct join_req *jr, const struct gmember *self)
{
    for (int k = 0; k < jr->nprotocols; k++) {
        int all = 1;
        for (int i = 0; i < g->nmembers && all; i++) {
            struct gmember *m = g->members[i];
            int has = 0;
            if (m == self)
                continue;
            for (int j = 0; j < m->nprotocols; j++)
                if (grp_seq(m->protocols[j].name, jr->protocols[k].name))
                    has = 1;
            all = has;
        }
        if (all)
            return 1;
    }
    return jr->nprotocols > 0 && g->nmembers == 0;
}

/* Kafka's selectProtocol: candidates supported by all; each member votes
 * for its first candidate; most votes wins (ties: first candidate). */
static void
select_protocol(struct group *g)
{
    struct gmember *m0 = g->members[0];
    const char *best = NULL;
    int best_votes = -1;

    for (int k = 0; k < m0->nprotocols; k++) {
        const char *cand = m0->protocols[k].name;
        int all = 1, votes = 0;
        for (int i = 0; i < g->nmembers && all; i++) {
            int has = 0;
            for (int j = 0; j < g->members[i]->nprotocols; j++)
                if (!strcmp(g->members[i]->protocols[j].name, cand))
                    has = 1;
            all = has;
        }
        if (!all)
            continue;
        for (int i = 0; i < g->nmembers; i++) {
            struct gmember *m = g->members[i];
            for (int j = 0; j < m->nprotocols; j++) {
                const char *n = m->protocols[j].name;
                int supported_by_all = 1;
                for (int x = 0; x < g->nmembers && supported_by_all; x++) {
                    int has = 0;
                    for (int y = 0; y < g->members[x]->nprotocols; y++)
                        if (!strcmp(g->members[x]->protocols[y].name, n))
                            has = 1;
                    supported_by_all = has;
                }
                if (supported_by_all) {
                    if (!strcmp(n, cand))
                        votes++;
                    break;      /* a member votes for its first candidate only */
                }
            }
        }
        if (votes > best_votes) {
            best = cand;
            best_votes = votes;
        }
    }
    free(g->protocol);
    g->protocol = best ? strdup(best) : NULL;
}

int64_t
grp_mono_now(void)
{
    return loop_mono_ms();
}

void
grp_touch(struct gmember *m)
{
    m->deadline = grp_mono_now() + m->session_timeout;
}

static void
clear_assignments(struct group *g)
{
    for (int i = 0; i < g->nmembers; i++) {
        free(g->members[i]->assignment);
        g->members[i]->assignment = NULL;
        g->members[i]->assignment_len = 0;
    }
}

/* Answer parked SyncGroups with err (the group moved on). */
static void
fail_parked_syncs(struct group *g, int16_t err)
{
    for (int i = 0; i < g->nmembers; i++) {
        if (g->members[i]->sync) {
            finish_sync(g->members[i]->sync, g, err, NULL, 0);
            g->members[i]->sync = NULL;
        }
    }
}

static void
prepare_rebalance(struct coord *c, struct group *g)
{
    int32_t rt = 0;

    if (g->state == GS_COMPLETING) {
        clear_assignments(g);
        fail_parked_syncs(g, SL_ERR_REBALANCE_IN_PROGRESS);
    }
    for (int i = 0; i < g->nmembers; i++)
        if (g->members[i]->rebalance_timeout > rt)
            rt = g->members[i]->rebalance_timeout;
    if (g->state == GS_EMPTY && c->b->conf->group_initial_rebalance_delay_ms > 0) {
        int32_t d = c->b->conf->group_initial_rebalance_delay_ms;
        g->initial_delay_until = grp_mono_now() + (d < rt || rt == 0 ? d : rt);
    } else {
        g->initial_delay_until = 0;
    }
    g->rebalance_deadline = grp_mono_now() + (rt > 0 ? rt : 1000);
    g->state = GS_PREPARING;
    SL_DEBUG("group", "%s: preparing rebalance (generation %d, %d members)", g->id,
             g->generation, g->nmembers);
}

static void
maybe_prepare_rebalance(struct coord *c, struct group *g)
{
    if (g->state == GS_STABLE || g->state == GS_COMPLETING || g->state == GS_EMPTY)
        prepare_rebalance(c, g);
}

static void
remove_member(struct group *g, int idx)
{
    struct gmember *m = g->members[idx];
    if (m->join)
        finish_join(m->join, g, SL_ERR_UNKNOWN_MEMBER_ID, m->id, 0);
    if (m->sync)
        finish_sync(m->sync, g, SL_ERR_UNKNOWN_MEMBER_ID, NULL, 0);
    m->join = m->sync = NULL;
    if (g->leader && !strcmp(g->leader, m->id)) {
        free(g->leader);
        g->leader = NULL;
    }
    member_free(m);
    memmove(&g->members[idx], &g->members[idx + 1], sizeof(*g->members) * (size_t)(g->nmembers - idx - 1));
    g->nmembers--;
}

/* The join phase ends: everyone joined, or the deadline passed. */
static void
complete_join(struct coord *c, struct group *g)
{
    /* members that did not rejoin are out (Kafka removes them) */
    for (int i = g->nmembers - 1; i >= 0; i--)
        if (!g->members[i]->join)
            remove_member(g, i);
    g->initial_delay_until = 0;
    if (g->nmembers == 0) {
        g->generation++;
        g->state = GS_EMPTY;
        g->empty_since_wall = loop_wall_ms();
        free(g->protocol);
        g->protocol = NULL;
        SL_INFO("group", "%s: generation %d is empty", g->id, g->generation);
        return;
    }
    g->generation++;
    select_protocol(g);
    if (!g->leader)
        g->leader = strdup(g->members[0]->id);
    g->state = GS_COMPLETING;
    SL_INFO("group", "%s: generation %d with %d member(s), protocol %s, leader %s", g->id,
            g->generation, g->nmembers, g->protocol ? g->protocol : "-", g->leader);
    for (int i = 0; i < g->nmembers; i++) {
        struct gmember *m = g->members[i];
        finish_join(m->join, g, 0, m->id, !strcmp(m->id, g->leader));
        m->join = NULL;
        grp_touch(m);
    }
    (void)c;
}

static void
maybe_complete_join(struct coord *c, struct group *g)
{
    if (g->state != GS_PREPARING)
        return;
    if (g->initial_delay_until && grp_mono_now() < g->initial_delay_until)
        return;
    for (int i = 0; i < g->nmembers; i++)
        if (!g->members[i]->join)
            return;
    if (g->npending > 0 && grp_mono_now() < g->rebalance_deadline)
        return;    /* members told MEMBER_ID_REQUIRED are on their way back */
    complete_join(c, g);
}

/* ---- JoinGroup ---------------------------------------------------------------- */

static struct gmember *
add_member(struct group *g, const struct join_req *jr, const char *id, struct req_ctx *ctx)
{
    struct gmember *m = calloc(1, sizeof(*m));
    struct gmember **nm = realloc(g->members, sizeof(*nm) * (size_t)(g->nmembers + 1));
    if (!m || !nm) {
        free(m);
        if (nm)
            g->members = nm;
        return NULL;
    }
    g->members = nm;
    m->id = strdup(id);
    m->instance = jr->instance_null ? NULL : grp_sdup(jr->instance);
    m->client_id = grp_sdup(jr->client_id);
    m->client_host = strdup(conn_peer(ctx->c));
    if (set_protocols(m, jr) != 0 || !m->id || !m->client_id || !m->client_host) {
        member_free(m);
        return NULL;
    }
    grp_touch(m);
    g->members[g->nmembers++] = m;
    return m;
}

static void
join_reply_now(struct req_ctx *ctx, struct group *g, int16_t err, const char *member_id, int leader)
{
    struct parked *p = park(ctx);
    if (p)
        finish_join(p, g, err, member_id, leader);
}

void
group_join(struct coord *c, struct req_ctx *ctx, const struct join_req *jr)
{
    const struct sl_conf *conf = c->b->conf;
    struct group *g;
    struct gmember *m;
    char idbuf[512];

    pthread_mutex_lock(&c->mu);
    if (jr->group.len == 0) {
        join_reply_now(ctx, NULL, SL_ERR_INVALID_GROUP_ID, NULL, 0);
        goto out;
    }
    if (jr->session_timeout < conf->group_min_session_timeout_ms ||
        jr->session_timeout > conf->group_max_session_timeout_ms) {
        join_reply_now(ctx, NULL, SL_ERR_INVALID_SESSION_TIMEOUT, NULL, 0);
        goto out;
    }
    g = grp_find_group(c, jr->group, NULL);
    if (!g) {
        if (jr->member.len > 0) {
            join_reply_now(ctx, NULL, SL_ERR_UNKNOWN_MEMBER_ID, NULL, 0);
            goto out;
        }
        if (!(g = grp_get_or_create_group(c, jr->group))) {
            join_reply_now(ctx, NULL, SL_ERR_COORDINATOR_NOT_AVAILABLE, NULL, 0);
            goto out;
        }
    }
    if (g->state == GS_DEAD) {
        join_reply_now(ctx, NULL, SL_ERR_COORDINATOR_NOT_AVAILABLE, NULL, 0);
        goto out;
    }
    /* protocol type and protocols must match the group's */
    if (jr->nprotocols == 0 ||
        (g->nmembers > 0 && g->protocol_type && !grp_seq(g->protocol_type, jr->protocol_type))) {
        join_reply_now(ctx, NULL, SL_ERR_INCONSISTENT_GROUP_PROTOCOL, NULL, 0);
        goto out;
    }

    if (jr->member.len == 0) {
        /* a new member, or a static member coming back */
        if (!jr->instance_null) {
            struct gmember *old = grp_find_static(g, jr->instance);
            {
                char tmp[512];
                snprintf(tmp, sizeof(tmp), "%.*s", (int)jr->client_id.len, jr->client_id.p);
                new_member_id(tmp, idbuf, sizeof(idbuf));
            }
            if (old) {
                /* KIP-345: the new id replaces the old, which is fenced */
                int was_leader = g->leader && !strcmp(g->leader, old->id);
                if (!protocols_compatible(g, jr, old)) {
                    join_reply_now(ctx, g, SL_ERR_INCONSISTENT_GROUP_PROTOCOL, NULL, 0);
                    goto out;
                }
                if (old->join)
                    finish_join(old->join, g, SL_ERR_FENCED_INSTANCE_ID, old->id, 0);
                if (old->sync)
                    finish_sync(old->sync, g, SL_ERR_FENCED_INSTANCE_ID, NULL, 0);
                old->join = old->sync = NULL;
                free(old->id);
                old->id = strdup(idbuf);
                if (was_leader) {
                    free(g->leader);
                    g->leader = strdup(idbuf);
                }
                if (g->state == GS_STABLE && same_protocols(old, jr)) {
                    /* no rebalance: it gets the current generation and, through
                     * SyncGroup, its previous assignment */
                    grp_touch(old);
                    join_reply_now(ctx, g, 0, old->id, was_leader);
                    goto out;
                }
                set_protocols(old, jr);
                old->join = park(ctx);
                grp_touch(old);
                if (g->state != GS_PREPARING)
                    maybe_prepare_rebalance(c, g);
                maybe_complete_join(c, g);
                goto out;
            }
            if (g->nmembers >= conf->group_max_size) {
                join_reply_now(ctx, g, SL_ERR_GROUP_MAX_SIZE_REACHED, NULL, 0);
                goto out;
            }
            if (!protocols_compatible(g, jr, NULL)) {
                join_reply_now(ctx, g, SL_ERR_INCONSISTENT_GROUP_PROTOCOL, NULL, 0);
                goto out;
            }
            goto add_and_join;
        }
        {
            char tmp[512];
            snprintf(tmp, sizeof(tmp), "%.*s", (int)jr->client_id.len, jr->client_id.p);
            new_member_id(tmp, idbuf, sizeof(idbuf));
        }
        if (g->nmembers + g->npending >= conf->group_max_size) {
            join_reply_now(ctx, g, SL_ERR_GROUP_MAX_SIZE_REACHED, NULL, 0);
            goto out;
        }
        if (!protocols_compatible(g, jr, NULL)) {
            join_reply_now(ctx, g, SL_ERR_INCONSISTENT_GROUP_PROTOCOL, NULL, 0);
            goto out;
        }
        if (ctx->hdr.api_version >= 4) {
            /* KIP-394: hand out the id and let the client come back with it */
            struct pending_member *np = realloc(g->pending, sizeof(*np) * (size_t)(g->npending + 1));
            if (np) {
                g->pending = np;
                g->pending[g->npending].id = strdup(idbuf);
                g->pending[g->npending].deadline = grp_mono_now() + jr->session_timeout;
                g->npending++;
            }
            join_reply_now(ctx, g, SL_ERR_MEMBER_ID_REQUIRED, idbuf, 0);
            goto out;
        }
        goto add_and_join;
    }

    /* a known member id */
    {
        int pi = find_pending(g, jr->member);
        if (pi >= 0) {
            snprintf(idbuf, sizeof(idbuf), "%s", g->pending[pi].id);
            remove_pending(g, pi);
            goto add_and_join;
        }
    }
    m = grp_find_member(g, jr->member, NULL);
    if (!m) {
        join_reply_now(ctx, g, SL_ERR_UNKNOWN_MEMBER_ID, NULL, 0);
        goto out;
    }
    if (m->instance && (jr->instance_null || !grp_seq(m->instance, jr->instance))) {
        join_reply_now(ctx, g, SL_ERR_FENCED_INSTANCE_ID, NULL, 0);
        goto out;
    }
    if (!jr->instance_null && !m->instance) {
        struct gmember *s = grp_find_static(g, jr->instance);
        if (s && s != m) {
            join_reply_now(ctx, g, SL_ERR_FENCED_INSTANCE_ID, NULL, 0);
            goto out;
        }
    }
    if (!protocols_compatible(g, jr, m)) {
        join_reply_now(ctx, g, SL_ERR_INCONSISTENT_GROUP_PROTOCOL, NULL, 0);
        goto out;
    }
    switch (g->state) {
    case GS_PREPARING:
        set_protocols(m, jr);
        if (m->join)     /* a retry: the old request is answered by the new */
            finish_join(m->join, g, SL_ERR_REBALANCE_IN_PROGRESS, m->id, 0);
        m->join = park(ctx);
        grp_touch(m);
        maybe_complete_join(c, g);
        break;
    case GS_COMPLETING:
        if (same_protocols(m, jr)) {
            /* its join reply got lost: resend the current generation */
            grp_touch(m);
            join_reply_now(ctx, g, 0, m->id, g->leader && !strcmp(g->leader, m->id));
        } else {
            set_protocols(m, jr);
            m->join = park(ctx);
            prepare_rebalance(c, g);
            maybe_complete_join(c, g);
        }
        break;
    case GS_STABLE:
        if ((g->leader && !strcmp(g->leader, m->id)) || !same_protocols(m, jr)) {
            /* the leader rejoining (metadata change) or a new subscription */
            set_protocols(m, jr);
            m->join = park(ctx);
            prepare_rebalance(c, g);
            maybe_complete_join(c, g);
        } else {
            grp_touch(m);
            join_reply_now(ctx, g, 0, m->id, 0);
        }
        break;
    default:
        join_reply_now(ctx, g, SL_ERR_UNKNOWN_MEMBER_ID, NULL, 0);
        break;
    }
    goto out;

add_and_join:
    m = add_member(g, jr, idbuf, ctx);
    if (!m) {
        join_reply_now(ctx, g, SL_ERR_COORDINATOR_NOT_AVAILABLE, NULL, 0);
        goto out;
    }
    if (!g->protocol_type || g->nmembers == 1) {
        free(g->protocol_type);
        g->protocol_type = grp_sdup(jr->protocol_type);
    }
    m->join = park(ctx);
    maybe_prepare_rebalance(c, g);
    maybe_complete_join(c, g);
out:
    pthread_mutex_unlock(&c->mu);
}

/* ---- SyncGroup -------------------------------------------------------------------- */

void
group_sync(struct coord *c, struct req_ctx *ctx, const struct sync_req *sr)
{
    struct group *g;
    struct gmember *m;
    struct parked *p;
    int16_t err = 0;

    pthread_mutex_lock(&c->mu);
    p = park(ctx);
    if (!p)
        goto out;
    g = grp_find_group(c, sr->group, NULL);
    m = g ? grp_find_member(g, sr->member, NULL) : NULL;
    if (sr->group.len == 0)
        err = SL_ERR_INVALID_GROUP_ID;
    else if (g && grp_fenced_instance(g, sr->member, sr->instance, sr->instance_null))
        err = SL_ERR_FENCED_INSTANCE_ID;
    else if (!g || !m)
        err = SL_ERR_UNKNOWN_MEMBER_ID;
    else if (m->instance && (sr->instance_null || !grp_seq(m->instance, sr->instance)))
        err = SL_ERR_FENCED_INSTANCE_ID;
    else if (sr->generation != g->generation)
        err = SL_ERR_ILLEGAL_GENERATION;
    else if ((!sr->protocol_type_null && g->protocol_type && !grp_seq(g->protocol_type, sr->protocol_type)) ||
             (!sr->protocol_name_null && g->protocol && !grp_seq(g->protocol, sr->protocol_name)))
        err = SL_ERR_INCONSISTENT_GROUP_PROTOCOL;
    else if (g->state == GS_PREPARING)
        err = SL_ERR_REBALANCE_IN_PROGRESS;
    else if (g->state != GS_COMPLETING && g->state != GS_STABLE)
        err = SL_ERR_UNKNOWN_MEMBER_ID;
    if (err) {
        finish_sync(p, g, err, NULL, 0);
        goto out;
    }
    grp_touch(m);
    if (g->state == GS_STABLE) {
        finish_sync(p, g, 0, m->assignment, m->assignment_len);
        goto out;
    }
    /* CompletingRebalance: wait for the leader's assignments */
    if (m->sync)
        finish_sync(m->sync, g, SL_ERR_REBALANCE_IN_PROGRESS, NULL, 0);
    m->sync = p;
    if (g->leader && !strcmp(g->leader, m->id)) {
        clear_assignments(g);
        for (int i = 0; i < sr->nassign; i++) {
            struct gmember *t = grp_find_member(g, sr->assign[i].member, NULL);
            if (!t)
                continue;
            free(t->assignment);
            t->assignment = malloc(sr->assign[i].assignment.len + 1);
            if (t->assignment) {
                if (sr->assign[i].assignment.len)   /* null assignment: p NULL */
                    memcpy(t->assignment, sr->assign[i].assignment.p, sr->assign[i].assignment.len);
                t->assignment_len = sr->assign[i].assignment.len;
            }
        }
        g->state = GS_STABLE;
        for (int i = 0; i < g->nmembers; i++) {
            struct gmember *t = g->members[i];
            if (t->sync) {
                finish_sync(t->sync, g, 0, t->assignment, t->assignment_len);
                t->sync = NULL;
            }
        }
        SL_DEBUG("group", "%s: generation %d stable", g->id, g->generation);
    }
out:
    pthread_mutex_unlock(&c->mu);
}

/* ---- Heartbeat / LeaveGroup ------------------------------------------------------------ */

int
group_heartbeat(struct coord *c, struct sl_slice group, struct sl_slice member,
                struct sl_slice instance, int instance_null, int32_t generation)
{
    struct group *g;
    struct gmember *m;
    int err = 0;

    if (group.len == 0)
        return SL_ERR_INVALID_GROUP_ID;
    pthread_mutex_lock(&c->mu);
    g = grp_find_group(c, group, NULL);
    m = g ? grp_find_member(g, member, NULL) : NULL;
    if (g && grp_fenced_instance(g, member, instance, instance_null))
        err = SL_ERR_FENCED_INSTANCE_ID;
    else if (!g || !m || g->state == GS_EMPTY || g->state == GS_DEAD)
        err = SL_ERR_UNKNOWN_MEMBER_ID;
    else if (m->instance && (instance_null || !grp_seq(m->instance, instance)))
        err = SL_ERR_FENCED_INSTANCE_ID;
    else if (generation != g->generation)
        err = SL_ERR_ILLEGAL_GENERATION;
    else {
        grp_touch(m);
        if (g->state == GS_PREPARING)
            err = SL_ERR_REBALANCE_IN_PROGRESS;
    }
    pthread_mutex_unlock(&c->mu);
    return err;
}

int
group_leave(struct coord *c, struct sl_slice group, struct sl_slice member,
            struct sl_slice instance, int instance_null)
{
    struct group *g;
    int idx = -1, err = 0;

    pthread_mutex_lock(&c->mu);
    g = grp_find_group(c, group, NULL);
    if (!g) {
        err = SL_ERR_UNKNOWN_MEMBER_ID;
        goto out;
    }
    if (!instance_null) {
        struct gmember *s = grp_find_static(g, instance);
        if (!s) {
            err = SL_ERR_UNKNOWN_MEMBER_ID;
            goto out;
        }
        if (member.len && !grp_seq(s->id, member)) {
            err = SL_ERR_FENCED_INSTANCE_ID;
            goto out;
        }
        grp_find_member(g, (struct sl_slice){ (const uint8_t *)s->id, strlen(s->id) }, &idx);
    } else {
        int pi = find_pending(g, member);
        if (pi >= 0) {
            remove_pending(g, pi);
            maybe_complete_join(c, g);
            goto out;
        }
        if (!grp_find_member(g, member, &idx)) {
            err = SL_ERR_UNKNOWN_MEMBER_ID;
            goto out;
        }
    }
    SL_INFO("group", "%s: member %s left", g->id, g->members[idx]->id);
    remove_member(g, idx);
    if (g->state == GS_PREPARING)
        maybe_complete_join(c, g);
    else
        maybe_prepare_rebalance(c, g);
    if (g->state == GS_PREPARING && g->nmembers == 0 && g->npending == 0)
        complete_join(c, g);
out:
    pthread_mutex_unlock(&c->mu);
    return err;
}

int
group_exists(struct coord *c, struct sl_slice group)
{
    int found;
    pthread_mutex_lock(&c->mu);
    found = grp_find_group(c, group, NULL) != NULL;
    pthread_mutex_unlock(&c->mu);
    return found ? 0 : SL_ERR_GROUP_ID_NOT_FOUND;
}

/* ---- deadlines ---------------------------------------------------------------------- */

static void
expire(struct coord *c, int64_t now)
{
    for (int gi = 0; gi < c->ngroups; gi++) {
        struct group *g = c->groups[gi];
        int changed = 0;
        for (int i = g->npending - 1; i >= 0; i--)
            if (now >= g->pending[i].deadline) {
                remove_pending(g, i);
                changed = 1;
            }
        for (int i = g->nmembers - 1; i >= 0; i--) {
            struct gmember *m = g->members[i];
            if (m->join || m->sync) {
                grp_touch(m);      /* waiting on us: alive (Kafka's shouldKeepAlive) */
                continue;
            }
            if (now >= m->deadline) {
                SL_INFO("group", "%s: member %s session timed out", g->id, m->id);
                remove_member(g, i);
                changed = 1;
            }
        }
        if (g->state == GS_PREPARING) {
            if (now >= g->rebalance_deadline)
                complete_join(c, g);
            else
                maybe_complete_join(c, g);
        } else if (changed) {
            maybe_prepare_rebalance(c, g);
            if (g->state == GS_PREPARING && g->nmembers == 0)
                complete_join(c, g);
        }
    }
}

/* ---- admin -------------------------------------------------------------------------- */

int
group_list(struct coord *c, struct group_summary **out, int *n)
{
    struct group_summary *v;
    pthread_mutex_lock(&c->mu);
    v = calloc((size_t)(c->ngroups ? c->ngroups : 1), sizeof(*v));
    if (!v) {
        pthread_mutex_unlock(&c->mu);
        return SL_ERR__NOMEM;
    }
    for (int i = 0; i < c->ngroups; i++) {
        v[i].id = strdup(c->groups[i]->id);
        v[i].protocol_type = strdup(c->groups[i]->protocol_type ? c->groups[i]->protocol_type : "");
        v[i].state = c->groups[i]->state;
    }
    *n = c->ngroups;
    pthread_mutex_unlock(&c->mu);
    *out = v;
    return 0;
}

void
group_list_free(struct group_summary *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].id);
        free(v[i].protocol_type);
    }
    free(v);
}

void
group_describe(struct coord *c, struct pr_writer *w, int16_t ver, struct sl_slice group)
{
    struct group *g;

    pthread_mutex_lock(&c->mu);
    g = grp_find_group(c, group, NULL);
    if (!g) {
        /* Kafka describes an unknown group as Dead with no error */
        pr_write_i16(w, 0);
        pr_write_string_len(w, group.p, group.len);
        pr_write_string(w, "Dead");
        pr_write_string(w, "");
        pr_write_string(w, "");
        pr_write_array_len(w, 0);
    } else {
        int stable = g->state == GS_STABLE;
        pr_write_i16(w, 0);
        pr_write_string(w, g->id);
        pr_write_string(w, group_state_name(g->state));
        pr_write_string(w, g->protocol_type ? g->protocol_type : "");
        pr_write_string(w, stable && g->protocol ? g->protocol : "");
        pr_write_array_len(w, g->nmembers);
        for (int i = 0; i < g->nmembers; i++) {
            struct gmember *m = g->members[i];
            size_t mlen;
            const uint8_t *meta = member_meta(m, g->protocol, &mlen);
            pr_write_string(w, m->id);
            if (ver >= 4)
                pr_write_string(w, m->instance);
            pr_write_string(w, m->client_id);
            pr_write_string(w, m->client_host);
            pr_write_bytes(w, stable ? meta : NULL, stable ? mlen : 0, 0);
            pr_write_bytes(w, stable ? m->assignment : NULL, stable ? m->assignment_len : 0, 0);
            pr_write_empty_tags(w);
        }
    }
    if (ver >= 3)
        pr_write_i32(w, INT32_MIN);
    pr_write_empty_tags(w);
    pthread_mutex_unlock(&c->mu);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static void *
ticker_main(void *arg)
{
    struct coord *c = arg;

    pthread_mutex_lock(&c->mu);
    while (!c->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
        if (c->stopping)
            break;
        expire(c, grp_mono_now());
        int64_t wall = loop_wall_ms();
        if (wall - c->last_retention_check >= c->b->conf->offsets_retention_check_interval_ms) {
            struct partition *flush[16];
            c->last_retention_check = wall;
            int n = grp_offsets_retention(c, wall, flush, 16);
            if (n > 0) {
                /* the fsyncs without mu: heartbeats and commits go on */
                pthread_mutex_unlock(&c->mu);
                for (int i = 0; i < n; i++)
                    plog_flush(flush[i]->log, INT64_MAX);
                pthread_mutex_lock(&c->mu);
            }
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int
coord_start(struct coord **out, struct broker *b)
{
    struct coord *c = calloc(1, sizeof(*c));
    if (!c)
        return SL_ERR__NOMEM;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->b = b;
    c->last_retention_check = loop_wall_ms();
    grp_load_offsets(c);
    if (pthread_create(&c->ticker, NULL, ticker_main, c) != 0) {
        topic_put(c->offsets_topic);
        free(c);
        return SL_ERR__NOMEM;
    }
    *out = c;
    return 0;
}

void
coord_loop_stopping(struct coord *c, struct loop *l)
{
    pthread_mutex_lock(&c->mu);
    if (c->nstopped < (int)(sizeof(c->stopped) / sizeof(c->stopped[0])))
        c->stopped[c->nstopped++] = l;
    for (int gi = 0; gi < c->ngroups; gi++) {
        struct group *g = c->groups[gi];
        for (int i = 0; i < g->nmembers; i++) {
            struct gmember *m = g->members[i];
            if (m->join && m->join->l == l) {
                finish_join(m->join, g, SL_ERR_COORDINATOR_NOT_AVAILABLE, m->id, 0);
                m->join = NULL;
            }
            if (m->sync && m->sync->l == l) {
                finish_sync(m->sync, g, SL_ERR_COORDINATOR_NOT_AVAILABLE, NULL, 0);
                m->sync = NULL;
            }
        }
    }
    pthread_mutex_unlock(&c->mu);
}

void
coord_stop(struct coord *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->ticker, NULL);
    for (int i = 0; i < c->ngroups; i++)
        grp_group_free(c->groups[i]);
    free(c->groups);
    topic_put(c->offsets_topic);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}
