/* server/api_fetch.c -- Fetch (key 1), v4-11, and the fetch purgatory.
 *
 * A Fetch reads every requested partition through plog_read, which returns
 * pinned (fd, position, length) slices; the reply is the encoded header
 * fields with each partition's records queued as a file range, sent with
 * sendfile(2) straight from the segment (no copy through user space).
 *
 * If the data found is less than min_bytes and max_wait_ms > 0 (and no
 * partition has an error), the request parks: its decoded form is kept in a
 * fetch_op on this loop, with a timer for max_wait_ms. broker_wake_fetchers
 * (any append, on any loop) makes the loop re-read its parked fetches;
 * one that now has min_bytes is answered at once, the rest wait for data
 * or their timer. Consumers see data up to the high watermark; with no
 * transactions the last stable offset equals it (read_committed clients
 * need that, PROTOCOL.md §2.2). Fetch sessions are not kept: the reply's
 * session id is 0, which clients take as "send full requests".
 */
#include <stdlib.h>
#include <string.h>
#include "server/api.h"
#include "server/fetch.h"
#include "storage/err.h"
#include "storage/log.h"

#define MAX_TOPICS      10000
#define MAX_PARTITIONS  100000

struct fetch_part {
    struct topic     *t;          /* reference, NULL if unknown */
    struct partition *p;
    int32_t           index;
    int32_t           max_bytes;
    int64_t           offset;
    int32_t           leader_epoch;
    int16_t           err;        /* decided at decode */
};

struct fetch_topic {
    const char *name;             /* t->name, or a copy of the request's */
    size_t      name_len;
    int         first, n;         /* range in parts[] */
};

struct fetch_op {
    struct fetch_op   *prev, *next;
    struct loop_ctx   *lc;
    struct resp       *r;
    struct loop_timer  timer;
    struct req_ctx     ctx;       /* header fields only; reader/frame invalid once parked */
    int32_t            replica_id;
    int32_t            min_bytes;
    int32_t            max_bytes;
    int8_t             isolation;
    int                ntopics, nparts;
    struct fetch_topic *topics;
    struct fetch_part  *parts;
    char              *names;     /* storage for unknown topic names */
};

static void
fetch_op_free(struct fetch_op *op)
{
    for (int i = 0; i < op->nparts; i++)
        if (op->parts[i].t)
            topic_put(op->parts[i].t);
    free(op->topics);
    free(op->parts);
    free(op->names);
    free(op);
}

/* Read what is available for every partition and, if enough (or forced),
 * answer. Returns 1 if answered. */
/* Cheap, lock-free: could any partition have data now? */
static int
fetch_may_have_data(const struct fetch_op *op)
{
    for (int i = 0; i < op->nparts; i++) {
        const struct fetch_part *fp = &op->parts[i];
        if (fp->err || plog_is_offline(fp->p->log))
            return 1;
        int64_t end = op->replica_id >= 0 ? plog_log_end_offset(fp->p->log)
                                          : plog_high_watermark(fp->p->log);
        if (end > fp->offset || fp->offset < plog_log_start_offset(fp->p->log))
            return 1;
    }
    return 0;
}

static int
fetch_try_answer(struct fetch_op *op, int force)
{
    if (!force && op->min_bytes > 0 && !fetch_may_have_data(op))
        return 0;
    struct plog_slice *slices = calloc((size_t)(op->nparts ? op->nparts : 1), sizeof(*slices));
    int16_t *errs = calloc((size_t)(op->nparts ? op->nparts : 1), sizeof(*errs));
    int16_t ver = op->ctx.hdr.api_version;
    int64_t total = 0, remaining = op->max_bytes;
    int any_err = 0;
    struct pr_writer w;

    if (!slices || !errs) {
        free(slices);
        free(errs);
        return 0;
    }
    for (int i = 0; i < op->nparts; i++) {
        struct fetch_part *fp = &op->parts[i];
        int64_t limit;
        int rc;

        slices[i].fd = -1;
        errs[i] = fp->err;
        if (fp->err) {
            any_err = 1;
            continue;
        }
        if (plog_is_offline(fp->p->log)) {
            errs[i] = SL_ERR_KAFKA_STORAGE_ERROR;
            any_err = 1;
            continue;
        }
        if (remaining <= 0 && total > 0)
            continue;                            /* max_bytes reached */
        limit = op->replica_id >= 0 ? INT64_MAX : plog_high_watermark(fp->p->log);
        rc = plog_read(fp->p->log, fp->offset,
                       (size_t)(fp->max_bytes < remaining ? fp->max_bytes : (remaining > 0 ? remaining : 1)),
                       limit, &slices[i]);
        if (rc != 0) {
            errs[i] = (int16_t)(rc == SL_ERR_OFFSET_OUT_OF_RANGE ? rc : SL_ERR_KAFKA_STORAGE_ERROR);
            any_err = 1;
            continue;
        }
        total += (int64_t)slices[i].len;
        remaining -= (int64_t)slices[i].len;
    }
    if (!force && !any_err && total < op->min_bytes) {
        for (int i = 0; i < op->nparts; i++)
            plog_slice_release(&slices[i]);
        free(slices);
        free(errs);
        return 0;
    }

    pr_writer_init(&w, resp_buf(op->r), op->ctx.flexible);
    pr_write_i32(&w, 0);                 /* throttle_time_ms */
    if (ver >= 7) {
        pr_write_i16(&w, 0);             /* error_code */
        pr_write_i32(&w, 0);             /* session_id: no sessions */
    }
    pr_write_array_len(&w, op->ntopics);
    for (int ti = 0; ti < op->ntopics; ti++) {
        struct fetch_topic *ft = &op->topics[ti];
        pr_write_string_len(&w, ft->name, ft->name_len);
        pr_write_array_len(&w, ft->n);
        for (int i = ft->first; i < ft->first + ft->n; i++) {
            struct fetch_part *fp = &op->parts[i];
            int64_t hw = -1, start = -1;
            if (fp->p && errs[i] != SL_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
                hw = plog_high_watermark(fp->p->log);
                start = plog_log_start_offset(fp->p->log);
            }
            pr_write_i32(&w, fp->index);
            pr_write_i16(&w, errs[i]);
            pr_write_i64(&w, hw);
            pr_write_i64(&w, hw);        /* last_stable_offset: no open transactions */
            if (ver >= 5)
                pr_write_i64(&w, start);
            pr_write_array_len(&w, 0);   /* aborted_transactions */
            if (ver >= 11)
                pr_write_i32(&w, -1);    /* preferred_read_replica */
            if (slices[i].len > 0) {
                if (w.flexible)
                    pr_write_uvarint(&w, (uint32_t)slices[i].len + 1);
                else
                    pr_write_i32(&w, (int32_t)slices[i].len);
                if (resp_add_file(op->r, slices[i].fd, slices[i].pos, slices[i].len,
                                  plog_pin_release, slices[i].seg) != 0) {
                    plog_slice_release(&slices[i]);
                    conn_close(resp_conn(op->r));
                }
                slices[i].seg = NULL;    /* the pin now belongs to the reply */
            } else {
                pr_write_bytes(&w, NULL, 0, 0);   /* empty records */
            }
            pr_write_empty_tags(&w);
        }
        pr_write_empty_tags(&w);
    }
    for (int i = 0; i < op->nparts; i++)
        if (slices[i].seg)
            plog_slice_release(&slices[i]);
    free(slices);
    free(errs);
    api_resp_finish(op->r, &w);
    op->r = NULL;
    return 1;
}

static void
unpark(struct fetch_op *op)
{
    struct loop_ctx *lc = op->lc;
    if (op->prev)
        op->prev->next = op->next;
    else
        lc->parked = op->next;
    if (op->next)
        op->next->prev = op->prev;
    __atomic_sub_fetch(&lc->nparked, 1, __ATOMIC_RELEASE);
    loop_timer_cancel(lc->l, &op->timer);
}

static void
fetch_timeout(struct loop *l, struct loop_timer *t, void *arg)
{
    struct fetch_op *op = arg;
    unpark(op);
    fetch_try_answer(op, 1);
    fetch_op_free(op);
    (void)l;
    (void)t;
}

void
fetch_recheck_parked(struct loop_ctx *lc)
{
    struct fetch_op *op = lc->parked, *next;
    for (; op; op = next) {
        next = op->next;
        if (conn_is_closed(resp_conn(op->r))) {
            unpark(op);
            resp_discard(op->r);           /* nobody to answer */
            fetch_op_free(op);
        } else if (fetch_try_answer(op, 0)) {
            unpark(op);
            fetch_op_free(op);
        }
    }
}

void
fetch_abort_parked(struct loop_ctx *lc)
{
    while (lc->parked) {
        struct fetch_op *op = lc->parked;
        unpark(op);
        fetch_try_answer(op, 1);
        fetch_op_free(op);
    }
}

int
api_fetch(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    int16_t ver = ctx->hdr.api_version;
    struct fetch_op *op = calloc(1, sizeof(*op));
    int32_t ntopics, max_wait;
    size_t names_len = 0;
    uint64_t seq;

    if (!op)
        return SL_ERR__NOMEM;
    op->ctx = *ctx;
    op->lc = ctx->lc;
    op->replica_id = pr_read_i32(r);
    max_wait = pr_read_i32(r);
    op->min_bytes = pr_read_i32(r);
    op->max_bytes = pr_read_i32(r);
    op->isolation = pr_read_i8(r);
    if (ver >= 7) {
        (void)pr_read_i32(r);   /* session_id */
        (void)pr_read_i32(r);   /* session_epoch */
    }
    if (pr_read_array_len(r, &ntopics, MAX_TOPICS) != 0 || ntopics < 0)
        goto bad;
    if (op->max_bytes <= 0)
        op->max_bytes = 1;
    op->topics = calloc((size_t)(ntopics ? ntopics : 1), sizeof(*op->topics));
    op->names = malloc(ctx->frame_len ? ctx->frame_len : 1);
    if (!op->topics || !op->names)
        goto oom;
    for (int32_t ti = 0; ti < ntopics; ti++) {
        struct fetch_topic *ft = &op->topics[ti];
        struct sl_slice name;
        int name_null;
        int32_t nparts;
        struct topic *t;

        pr_read_string(r, &name, &name_null);
        if (pr_read_array_len(r, &nparts, MAX_PARTITIONS) != 0 || nparts < 0)
            goto bad;
        {
            struct fetch_part *np = realloc(op->parts, sizeof(*np) * (size_t)(op->nparts + nparts + 1));
            if (!np)
                goto oom;
            op->parts = np;
        }
        if (name.len)    /* a null name: p NULL, len 0 */
            memcpy(op->names + names_len, name.p, name.len);
        ft->name = op->names + names_len;    /* fixed up below if names moves: it does not */
        ft->name_len = name.len;
        names_len += name.len;
        ft->first = op->nparts;
        ft->n = nparts;
        op->ntopics++;
        t = name_null ? NULL : topics_get(ctx->b->topics, (const char *)name.p, name.len);
        for (int32_t pi = 0; pi < nparts; pi++) {
            struct fetch_part *fp = &op->parts[op->nparts];
            memset(fp, 0, sizeof(*fp));
            fp->index = pr_read_i32(r);
            fp->leader_epoch = ver >= 9 ? pr_read_i32(r) : -1;
            fp->offset = pr_read_i64(r);
            if (ver >= 5)
                (void)pr_read_i64(r);  /* log_start_offset (followers) */
            fp->max_bytes = pr_read_i32(r);
            if (ctx->flexible)
                pr_skip_tagged_fields(r);
            if (t && (fp->p = topic_partition(t, fp->index)) != NULL) {
                topic_ref(t);
                fp->t = t;
                if (fp->leader_epoch >= 0 && fp->leader_epoch != fp->p->leader_epoch)
                    fp->err = fp->leader_epoch > fp->p->leader_epoch ? SL_ERR_UNKNOWN_LEADER_EPOCH
                                                                    : SL_ERR_FENCED_LEADER_EPOCH;
                else if (fp->max_bytes < 0)
                    fp->err = SL_ERR_INVALID_REQUEST;
            } else {
                fp->err = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            }
            op->nparts++;
            if (r->err)
                break;
        }
        if (t)
            topic_put(t);
        if (ctx->flexible)
            pr_skip_tagged_fields(r);
        if (r->err)
            goto bad;
    }
    /* forgotten_topics_data (v7+) and rack_id (v11+): read to check framing */
    if (ver >= 7) {
        int32_t nf;
        if (pr_read_array_len(r, &nf, MAX_TOPICS) != 0)
            goto bad;
        for (int32_t i = 0; i < nf; i++) {
            struct sl_slice s;
            int null;
            int32_t np;
            pr_read_string(r, &s, &null);
            if (pr_read_array_len(r, &np, MAX_PARTITIONS) != 0)
                goto bad;
            for (int32_t k = 0; k < np; k++)
                (void)pr_read_i32(r);
        }
    }
    if (ver >= 11) {
        struct sl_slice s;
        int null;
        pr_read_string(r, &s, &null);
    }
    if (r->err)
        goto bad;

    if (!(op->r = api_resp_begin(ctx, &(struct pr_writer){0}))) {
        fetch_op_free(op);
        return 0;
    }
    /* api_resp_begin wrote the header; the body is written at answer time */
    seq = __atomic_load_n(&ctx->b->append_seq, __ATOMIC_ACQUIRE);
    if (fetch_try_answer(op, max_wait <= 0)) {
        fetch_op_free(op);
        return 0;
    }
    /* park */
    op->next = ctx->lc->parked;
    if (op->next)
        op->next->prev = op;
    ctx->lc->parked = op;
    __atomic_add_fetch(&ctx->lc->nparked, 1, __ATOMIC_RELEASE);
    loop_timer_start(ctx->lc->l, &op->timer, loop_now_ms(ctx->lc->l) + max_wait, fetch_timeout, op);
    /* data may have landed between our read and the parking: look again */
    if (__atomic_load_n(&ctx->b->append_seq, __ATOMIC_ACQUIRE) != seq &&
        !__atomic_exchange_n(&ctx->lc->wake_pending, 1, __ATOMIC_ACQ_REL))
        loop_post(ctx->lc->l, &ctx->lc->wake_task);
    return 0;
oom:
    fetch_op_free(op);
    return SL_ERR__NOMEM;
bad:
    {
        int rc = r->err ? r->err : SL_ERR__CORRUPT;
        fetch_op_free(op);
        return rc;
    }
}
