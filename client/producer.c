/* client/producer.c -- batching, partitioning, Produce v7, retries, delivery
 * reports.
 *
 * Records are appended to an open batch per (topic, partition) (records
 * section only). A batch closes when it reaches batch.size or linger.ms
 * passes; closing builds the wire bytes once (header, compression, CRC),
 * and a retry resends exactly those bytes. Closed batches wait in the ready
 * list; a send round groups the sendable ones by leader into one Produce
 * request per broker (one batch per partition per request) while the
 * broker has fewer than max_in_flight requests outstanding. Responses are
 * read whenever the handle is pumped (produce, poll, flush, or any sync
 * request on the same connection). Retriable errors (leader moved, not
 * enough replicas, timeouts, a lost connection) mark metadata stale and
 * put the batch back after retry.backoff.ms, up to `retries` times.
 * Retried batches go back into the ready list in closing order (batch id),
 * and a send round never sends a batch of a partition ahead of an older
 * one it skipped, so records of a partition keep their order.
 *
 * Idempotence (conf.enable_idempotence with acks=all, when the broker has
 * InitProducerId): before the first send the handle gets a producer id and
 * epoch (InitProducerId v1, no transactional id). A batch is stamped when it
 * is first sent: producer id, epoch and the partition's next base sequence
 * (which then advances by the record count, wrapping past INT32_MAX to 0),
 * with the CRC recomputed; a retry resends exactly those bytes. At most 5
 * requests are in flight per connection (the broker remembers the last 5
 * batches per producer and partition). DUPLICATE_SEQUENCE_NUMBER is a
 * success (the broker has the batch already). OUT_OF_ORDER_SEQUENCE_NUMBER
 * or UNKNOWN_PRODUCER_ID for the head batch of a partition (the oldest one
 * not acknowledged) is fatal for that batch: it is reported failed through
 * the delivery callback; for a later batch it means an earlier one is being
 * retried, so it is retried behind it. Any batch that fails for good while
 * stamped starts a producer reset: sending pauses until nothing is in
 * flight, then a new producer id is fetched, every sequence restarts at 0,
 * and batches still waiting are stamped afresh.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include "client/sluice_int.h"

struct produce_ctx {
    int n;
    struct slc_batch *b[];
};

static int64_t
wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static uint32_t
rnd_next(struct sluice *sl)
{
    sl->rnd ^= sl->rnd << 13;
    sl->rnd ^= sl->rnd >> 17;
    sl->rnd ^= sl->rnd << 5;
    return sl->rnd;
}

static void
batch_free(struct slc_batch *b)
{
    if (!b)
        return;
    sl_buf_free(&b->recs);
    sl_buf_free(&b->wire);
    free(b->msgs);
    free(b);
}

static int
retriable(int err)
{
    switch (err) {
    case SL_ERR_CORRUPT_MESSAGE: case SL_ERR_UNKNOWN_TOPIC_OR_PARTITION:
    case SL_ERR_LEADER_NOT_AVAILABLE: case SL_ERR_NOT_LEADER_OR_FOLLOWER:
    case SL_ERR_REQUEST_TIMED_OUT: case SL_ERR_NETWORK_EXCEPTION:
    case SL_ERR_NOT_ENOUGH_REPLICAS: case SL_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case SL_ERR_KAFKA_STORAGE_ERROR: case SL_ERR_FENCED_LEADER_EPOCH:
    case SL_ERR_UNKNOWN_LEADER_EPOCH: case SLUICE_ERR_IO: case SLUICE_ERR_TIMED_OUT:
    case SLUICE_ERR_NO_BROKERS:
        return 1;
    default:
        return 0;
    }
}

static void
deliver(struct sluice *sl, struct slc_batch *b, int err, int64_t base_offset, int64_t append_ts)
{
    int32_t i;

    for (i = 0; i < b->count; i++) {
        struct slc_msg *m = &b->msgs[i];
        if (sl->conf.delivery_cb) {
            struct sluice_record rec;
            memset(&rec, 0, sizeof(rec));
            rec.topic = b->t->name;
            rec.partition = b->partition;
            rec.offset = err || base_offset < 0 ? -1 : base_offset + i;
            rec.timestamp = append_ts >= 0 ? append_ts : m->timestamp;
            rec.timestamp_type = append_ts >= 0;
            rec.key = m->key_len >= 0 ? b->recs.data + m->key_pos : NULL;
            rec.key_len = m->key_len;
            rec.value = m->val_len >= 0 ? b->recs.data + m->val_pos : NULL;
            rec.value_len = m->val_len;
            rec.msg_opaque = m->opaque;
            sl->conf.delivery_cb(sl->conf.opaque, &rec, err);
        }
    }
    sl->outq -= b->count;
    batch_free(b);
}

int32_t
slc_seq_add(int32_t seq, int32_t count)
{
    if (seq > INT32_MAX - count)
        return count - (INT32_MAX - seq) - 1;
    return seq + count;
}

/* Append b (front 0), or put it back in closing order (front 1: a retry). */
static void
ready_push(struct sluice *sl, struct slc_batch *b, int front)
{
    struct slc_batch **pp;

    b->next = NULL;
    if (!sl->ready_head) {
        sl->ready_head = sl->ready_tail = b;
    } else if (front) {
        for (pp = &sl->ready_head; *pp && (*pp)->id < b->id; pp = &(*pp)->next)
            ;
        b->next = *pp;
        *pp = b;
        if (!b->next)
            sl->ready_tail = b;
    } else {
        sl->ready_tail->next = b;
        sl->ready_tail = b;
    }
}

/* A stamped batch failed for good: its partition's sequence has a gap, so
 * the producer id must be renewed (once nothing is in flight). */
static void
idem_fail(struct sluice *sl, struct slc_batch *b)
{
    if (sl->idem && b->pid >= 0 && b->pid == sl->pid)
        sl->pid_state = SLC_PID_RESET;
}

/* Build the wire form and move the batch to the ready list. */
static void
batch_close(struct sluice *sl, struct slc_batch *b)
{
    int rc;

    if (b->t->open[b->partition] == b)
        b->t->open[b->partition] = NULL;
    if (b->t->sticky == b->partition && b->t->nparts > 1) {
        int32_t np;
        do
            np = (int32_t)(rnd_next(sl) % (uint32_t)b->t->nparts);
        while (np == b->partition);
        b->t->sticky = np;
    }
    b->id = sl->next_batch_id++;
    rc = slc_batch_finish(&b->wire, b->recs.data, b->recs.len, b->count, b->base_ts, b->max_ts,
                          sl->conf.compression);
    if (rc) {
        slc_seterr(sl, rc, "%s [%d]: cannot encode batch: %s", b->t->name, b->partition,
                   sluice_strerror(rc));
        deliver(sl, b, rc, -1, -1);
        return;
    }
    ready_push(sl, b, 0);
}

static void
retry_or_fail(struct sluice *sl, struct slc_batch *b, int err)
{
    if (sl->destroying) {
        deliver(sl, b, err, -1, -1);
        return;
    }
    if (retriable(err) && b->attempts <= sl->conf.retries) {
        b->retry_at = slc_now_ms() + sl->conf.retry_backoff_ms;
        sl->md_stale = 1;
        ready_push(sl, b, 1);
        return;
    }
    idem_fail(sl, b);
    deliver(sl, b, err, -1, -1);
}

/* A partition error on a stamped batch that only the sequence explains. */
static void
sequence_error(struct sluice *sl, struct slc_batch *b, int ec)
{
    int head = b->pid == sl->pid && b->seq == b->t->seq_acked[b->partition];

    if (head || sl->destroying || b->attempts > sl->conf.retries) {
        idem_fail(sl, b);
        deliver(sl, b, ec, -1, -1);
        return;
    }
    /* an older batch of the partition failed and is being retried: follow it */
    b->retry_at = slc_now_ms();
    ready_push(sl, b, 1);
}

static void
delivered(struct sluice *sl, struct slc_batch *b, int64_t base, int64_t lat)
{
    if (b->pid >= 0 && b->pid == sl->pid)
        b->t->seq_acked[b->partition] = slc_seq_add(b->seq, b->count);
    deliver(sl, b, 0, base, lat);
}

void
slc_produce_response(struct sluice *sl, struct slc_broker *br, void *vctx, struct pr_reader *r, int err)
{
    struct produce_ctx *ctx = vctx;
    int32_t nt, np, i, j, k;

    if (br->produce_inflight > 0)
        br->produce_inflight--;
    if (!r || err) {
        for (k = 0; k < ctx->n; k++)
            retry_or_fail(sl, ctx->b[k], err ? err : SLUICE_ERR_IO);
        free(ctx);
        return;
    }
    pr_read_array_len(r, &nt, 100000);
    for (i = 0; i < nt && !r->err; i++) {
        struct sl_slice name;
        pr_read_string(r, &name, NULL);
        pr_read_array_len(r, &np, 1000000);
        for (j = 0; j < np && !r->err; j++) {
            int32_t part = pr_read_i32(r);
            int16_t ec = pr_read_i16(r);
            int64_t base = pr_read_i64(r);
            int64_t lat = pr_read_i64(r);
            pr_read_i64(r);                     /* log start offset (v5+) */
            if (r->err)
                break;
            for (k = 0; k < ctx->n; k++) {
                struct slc_batch *b = ctx->b[k];
                if (!b || b->partition != part || strlen(b->t->name) != name.len ||
                    memcmp(b->t->name, name.p, name.len) != 0)
                    continue;
                ctx->b[k] = NULL;
                if (ec == SL_ERR_DUPLICATE_SEQUENCE_NUMBER && b->pid >= 0) {
                    delivered(sl, b, base, lat);    /* the broker has it already */
                } else if ((ec == SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER || ec == SL_ERR_UNKNOWN_PRODUCER_ID) &&
                           b->pid >= 0) {
                    slc_seterr(sl, ec, "produce to %s [%d] failed: %s", b->t->name, part,
                               sluice_strerror(ec));
                    sequence_error(sl, b, ec);
                } else if (ec) {
                    slc_seterr(sl, ec, "produce to %s [%d] failed: %s", b->t->name, part,
                               sluice_strerror(ec));
                    retry_or_fail(sl, b, ec);
                } else {
                    delivered(sl, b, base, lat);
                }
                break;
            }
        }
    }
    for (k = 0; k < ctx->n; k++)
        if (ctx->b[k])
            retry_or_fail(sl, ctx->b[k], r->err ? SLUICE_ERR_CORRUPT : SL_ERR_UNKNOWN_SERVER);
    free(ctx);
}

static int
cmp_batch_topic(const void *a, const void *b)
{
    const struct slc_batch *x = *(struct slc_batch *const *)a, *y = *(struct slc_batch *const *)b;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* Send one Produce request to broker br with the given batches. */
static int
send_request(struct sluice *sl, struct slc_broker *br, struct slc_batch **v, int n)
{
    struct produce_ctx *ctx;
    struct pr_writer w;
    struct sl_buf buf = SL_BUF_INIT;
    int32_t corr;
    int i, j, rc, acks0 = sl->conf.acks == 0;

    qsort(v, (size_t)n, sizeof(*v), cmp_batch_topic);
    ctx = malloc(sizeof(*ctx) + (size_t)n * sizeof(ctx->b[0]));
    if (!ctx)
        return SLUICE_ERR_NOMEM;
    ctx->n = n;
    memcpy(ctx->b, v, (size_t)n * sizeof(*v));
    slc_req_begin(br, &buf, &w, PR_API_PRODUCE, SLC_V_PRODUCE, sl->client_id, &corr);
    pr_write_i16(&w, -1);                         /* transactional id: null */
    pr_write_i16(&w, (int16_t)sl->conf.acks);
    pr_write_i32(&w, sl->conf.request_timeout_ms);
    {
        int ntopics = 0;
        for (i = 0; i < n; i++)
            if (i == 0 || v[i]->t != v[i - 1]->t)
                ntopics++;
        pr_write_array_len(&w, ntopics);
    }
    for (i = 0; i < n; i = j) {
        for (j = i; j < n && v[j]->t == v[i]->t; j++)
            ;
        pr_write_string(&w, v[i]->t->name);
        pr_write_array_len(&w, j - i);
        for (int k = i; k < j; k++) {
            pr_write_i32(&w, v[k]->partition);
            pr_write_bytes(&w, v[k]->wire.data, v[k]->wire.len, 0);
            v[k]->attempts++;
        }
    }
    rc = slc_req_send(sl, br, &buf, corr, acks0 ? SLC_K_IGNORE : SLC_K_PRODUCE, ctx);
    sl_buf_free(&buf);
    if (rc) {
        /* the request never left: nothing is in flight for it */
        for (i = 0; i < n; i++)
            retry_or_fail(sl, v[i], rc);
        free(ctx);
        return rc;
    }
    if (acks0) {
        for (i = 0; i < n; i++)
            deliver(sl, v[i], 0, -1, -1);
        free(ctx);
    } else {
        br->produce_inflight++;
    }
    return 0;
}

#define REQ_MAX_BYTES (16 * 1024 * 1024)

/* InitProducerId v0/v1 (no transactional id) on any broker. 0, or an
 * error (UNSUPPORTED when the broker lacks the API). */
static int
init_producer_id(struct sluice *sl)
{
    struct slc_broker *b;
    struct pr_writer w;
    struct pr_reader r;
    int32_t corr;
    int16_t ver, ec, epoch;
    int64_t pid;
    int rc;

    if ((rc = slc_any_broker(sl, &b)) != 0)
        return rc;
    if ((rc = slc_pick_version(sl, b, PR_API_INIT_PRODUCER_ID, 0, SLC_V_INIT_PRODUCER_ID, &ver)) != 0)
        return rc;
    slc_req_start(sl, b, &w, PR_API_INIT_PRODUCER_ID, ver, &corr);
    pr_write_i16(&w, -1);                         /* transactional id: null */
    pr_write_i32(&w, sl->conf.request_timeout_ms);
    if ((rc = slc_call(sl, b, corr, &r)) != 0)
        return rc;
    pr_read_i32(&r);                              /* throttle */
    ec = pr_read_i16(&r);
    pid = pr_read_i64(&r);
    epoch = pr_read_i16(&r);
    if (r.err)
        return slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad InitProducerId response");
    if (ec)
        return slc_seterr(sl, ec, "InitProducerId failed: %s", sluice_strerror(ec));
    if (pid < 0)
        return slc_seterr(sl, SLUICE_ERR_CORRUPT, "InitProducerId: no producer id");
    sl->pid = pid;
    sl->epoch = epoch;
    return 0;
}

/* Fail every ready batch with err (the producer id cannot be had). */
static void
fail_ready(struct sluice *sl, int err)
{
    struct slc_batch *b;
    while ((b = sl->ready_head) != NULL) {
        sl->ready_head = b->next;
        deliver(sl, b, err, -1, -1);
    }
    sl->ready_tail = NULL;
}

/* Idempotence: have a producer id before sending. 1 = send, 0 = not now. */
static int
idem_ready(struct sluice *sl, int64_t now)
{
    int i, rc;

    if (!sl->idem || sl->pid_state == SLC_PID_OK)
        return 1;
    if (sl->pid_state == SLC_PID_RESET) {
        for (i = 0; i < sl->nbrokers; i++)
            if (sl->brokers[i].conn.fd >= 0 && sl->brokers[i].produce_inflight > 0)
                return 0;                       /* drain first */
    }
    if (now < sl->pid_retry_at)
        return 0;
    rc = init_producer_id(sl);
    if (rc == SLUICE_ERR_UNSUPPORTED) {
        sl->idem = 0;                           /* the broker has no idempotence */
        sl->errmsg[0] = 0;
        return 1;
    }
    if (rc) {
        sl->pid_retry_at = now + sl->conf.retry_backoff_ms;
        if (++sl->pid_failures > sl->conf.retries) {
            sl->pid_failures = 0;
            fail_ready(sl, rc);
        }
        return 0;
    }
    sl->pid_failures = 0;
    sl->pid_state = SLC_PID_OK;
    for (i = 0; i < sl->ntopics; i++) {
        struct slc_topic *t = sl->topics[i];
        int32_t p;
        for (p = 0; t->seq_next && p < t->nparts; p++)
            t->seq_next[p] = t->seq_acked[p] = 0;
    }
    return 1;
}

/* Stamp b with the producer id and its partition's next sequence, unless it
 * carries the current producer id already (a retry: same bytes). */
static void
stamp(struct sluice *sl, struct slc_batch *b)
{
    struct slc_topic *t = b->t;

    if (!sl->idem || (b->pid == sl->pid && b->pid >= 0))
        return;
    b->pid = sl->pid;
    b->epoch = sl->epoch;
    b->seq = t->seq_next[b->partition];
    t->seq_next[b->partition] = slc_seq_add(b->seq, b->count);
    slc_batch_stamp(b->wire.data, b->wire.len, b->pid, b->epoch, b->seq);
}

#define MAX_BLOCKED 1024

/* Send every sendable ready batch. A batch that must wait (backoff, broker
 * busy, one per partition per request) holds back the later batches of its
 * partition in this round, so a partition's batches leave in order. */
static void
send_ready(struct sluice *sl)
{
    int64_t now = slc_now_ms();
    struct slc_batch *b, **pp;
    int progress = 1;

    if (sl->md_stale && sl->ready_head) {
        if (slc_refresh_topic(sl, NULL, 0, NULL) != 0)
            sl->md_stale = 1;
    }
    if (sl->ready_head && !idem_ready(sl, now))
        return;
    while (progress) {
        struct slc_broker *target = NULL;
        struct slc_batch *v[256];
        struct { struct slc_topic *t; int32_t p; } blocked[MAX_BLOCKED];
        int n = 0, nblocked = 0, full = 0;
        size_t bytes = 0;

        progress = 0;
        for (pp = &sl->ready_head; (b = *pp) != NULL;) {
            struct slc_broker *br = NULL;
            int rc, hold = 0, i;
            for (i = 0; i < nblocked && !hold; i++)
                hold = blocked[i].t == b->t && blocked[i].p == b->partition;
            if (hold) {
                pp = &b->next;
                continue;
            }
            if (full || b->retry_at > now || n == 256) {
                hold = 1;
            } else if ((rc = slc_leader(sl, b->t->name, b->partition, &br)) != 0) {
                *pp = b->next;
                sl->ready_tail = NULL;
                b->attempts++;
                retry_or_fail(sl, b, rc);
                /* the list changed: restart */
                progress = 1;
                break;
            } else if (br->produce_inflight >= sl->conf.max_in_flight || (target && br != target)) {
                hold = 1;
            } else {
                for (i = 0; i < n && !hold; i++)
                    hold = v[i]->t == b->t && v[i]->partition == b->partition;
                if (!hold && n > 0 && bytes + b->wire.len > REQ_MAX_BYTES)
                    hold = 1;
            }
            if (hold) {
                if (nblocked < MAX_BLOCKED) {
                    blocked[nblocked].t = b->t;
                    blocked[nblocked].p = b->partition;
                    nblocked++;
                } else {
                    full = 1;                   /* hold everything after this */
                }
                pp = &b->next;
                continue;
            }
            stamp(sl, b);
            target = br;
            v[n++] = b;
            bytes += b->wire.len;
            *pp = b->next;
        }
        /* repair the tail */
        sl->ready_tail = NULL;
        for (b = sl->ready_head; b; b = b->next)
            sl->ready_tail = b;
        if (n > 0) {
            send_request(sl, target, v, n);
            progress = 1;
            now = slc_now_ms();
        }
    }
}

static void
linger_check(struct sluice *sl, int force)
{
    int64_t now = slc_now_ms(), next = INT64_MAX;
    int i;
    int32_t p;

    if (!force && now < sl->next_linger_check)
        return;
    for (i = 0; i < sl->ntopics; i++) {
        struct slc_topic *t = sl->topics[i];
        if (!t->open)
            continue;
        for (p = 0; p < t->nparts; p++) {
            struct slc_batch *b = t->open[p];
            if (!b)
                continue;
            if (force || now - b->created_ms >= sl->conf.linger_ms)
                batch_close(sl, b);
            else if (b->created_ms + sl->conf.linger_ms < next)
                next = b->created_ms + sl->conf.linger_ms;
        }
    }
    sl->next_linger_check = next;
}

/* Read every response already available; wait up to timeout_ms for one. */
static int
pump_all(struct sluice *sl, int timeout_ms)
{
    int i, got = 0;

    if (timeout_ms > 0 && slc_wait_any(sl, timeout_ms) != 0)
        return 0;
    for (i = 0; i < sl->nbrokers; i++) {
        struct slc_broker *b = &sl->brokers[i];
        while (b->conn.fd >= 0 && b->conn.qlen > 0 && slc_pump(sl, b, 0) == 1)
            got++;
    }
    return got;
}

static int64_t
ready_wait_ms(struct sluice *sl, int64_t now)
{
    struct slc_batch *b;
    int64_t w = INT64_MAX;
    for (b = sl->ready_head; b; b = b->next)
        if (b->retry_at - now < w)
            w = b->retry_at - now;
    return w < 0 ? 0 : w;
}

static int
service(struct sluice *sl, int timeout_ms)
{
    int64_t now, wait;
    int got;

    linger_check(sl, 0);
    send_ready(sl);
    got = pump_all(sl, 0);
    if (got || timeout_ms <= 0)
        return got;
    now = slc_now_ms();
    wait = timeout_ms;
    if (sl->next_linger_check != INT64_MAX && sl->next_linger_check - now < wait)
        wait = sl->next_linger_check - now;
    if (sl->ready_head && ready_wait_ms(sl, now) < wait)
        wait = ready_wait_ms(sl, now);
    if (wait < 0)
        wait = 0;
    got = pump_all(sl, (int)wait);
    linger_check(sl, 0);
    send_ready(sl);
    return got;
}

int
sluice_produce(struct sluice *sl, const struct sluice_record *rec)
{
    struct slc_topic *t;
    struct slc_batch *b;
    int32_t part;
    int64_t ts;
    size_t est;
    int rc, i;

    if (!rec || !rec->topic)
        return SLUICE_ERR_INVALID_ARG;
    t = slc_topic_get(sl, rec->topic);
    if (!t || t->err || t->nparts == 0) {
        if ((rc = slc_refresh_topic(sl, rec->topic, sl->conf.allow_auto_create, &t)) != 0)
            return rc;
        if (t->nparts == 0)
            return slc_seterr(sl, SL_ERR_UNKNOWN_TOPIC_OR_PARTITION, "unknown topic '%s'", rec->topic);
    }
    if (rec->partition >= 0) {
        if (rec->partition >= t->nparts)
            return slc_seterr(sl, SL_ERR_UNKNOWN_TOPIC_OR_PARTITION, "topic '%s' has no partition %d",
                              rec->topic, rec->partition);
        part = rec->partition;
    } else if (rec->key) {
        part = sluice_partition_for_key(rec->key, (size_t)rec->key_len, t->nparts);
    } else {
        if (t->sticky < 0 || t->sticky >= t->nparts)
            t->sticky = (int32_t)(rnd_next(sl) % (uint32_t)t->nparts);
        part = t->sticky;
    }
    ts = rec->timestamp > 0 ? rec->timestamp : wall_ms();
    est = 32 + (rec->key ? (size_t)rec->key_len : 0) + (rec->value ? (size_t)rec->value_len : 0);
    for (i = 0; i < rec->header_count; i++)
        est += 16 + strlen(rec->headers[i].key) + (rec->headers[i].value ? (size_t)rec->headers[i].value_len : 0);
    b = t->open[part];
    if (b && b->recs.len + est > (size_t)sl->conf.batch_size) {
        batch_close(sl, b);
        b = NULL;
        if (rec->partition < 0 && !rec->key)
            part = t->sticky;               /* the sticky partition moved on */
        b = t->open[part];
    }
    if (!b) {
        b = calloc(1, sizeof(*b));
        if (!b)
            return SLUICE_ERR_NOMEM;
        b->t = t;
        b->partition = part;
        b->pid = -1;
        b->seq = -1;
        b->created_ms = slc_now_ms();
        b->base_ts = ts;
        b->max_ts = ts;
        sl_buf_reserve(&b->recs, est < (size_t)sl->conf.batch_size ? (size_t)sl->conf.batch_size : est);
        t->open[part] = b;
        if (b->created_ms + sl->conf.linger_ms < sl->next_linger_check || sl->next_linger_check == 0)
            sl->next_linger_check = b->created_ms + sl->conf.linger_ms;
    }
    if (b->count == b->msgs_cap) {
        int32_t cap = b->msgs_cap ? b->msgs_cap * 2 : 64;
        struct slc_msg *m = realloc(b->msgs, (size_t)cap * sizeof(*m));
        if (!m)
            return SLUICE_ERR_NOMEM;
        b->msgs = m;
        b->msgs_cap = cap;
    }
    {
        struct slc_msg *m = &b->msgs[b->count];
        m->opaque = rec->msg_opaque;
        m->timestamp = ts;
        m->key_len = rec->key ? rec->key_len : -1;
        m->val_len = rec->value ? rec->value_len : -1;
        m->key_pos = m->val_pos = 0;
        slc_batch_append_record(&b->recs, b->count, ts - b->base_ts, rec->key, rec->key_len,
                                rec->value, rec->value_len, rec->headers, rec->header_count,
                                &m->key_pos, &m->val_pos);
        if (b->recs.oom)
            return SLUICE_ERR_NOMEM;
    }
    if (ts > b->max_ts)
        b->max_ts = ts;
    b->count++;
    sl->outq++;
    if (b->recs.len >= (size_t)sl->conf.batch_size)
        batch_close(sl, b);
    /* back-pressure: don't let closed batches pile up without bound */
    if (sl->ready_head) {
        int64_t deadline = slc_now_ms() + sl->conf.request_timeout_ms;
        send_ready(sl);
        pump_all(sl, 0);
        while (sl->ready_head && sl->outq > 1000000 && slc_now_ms() < deadline)
            service(sl, 100);
    } else if (slc_now_ms() >= sl->next_linger_check) {
        service(sl, 0);
    }
    return 0;
}

int
sluice_poll(struct sluice *sl, int timeout_ms)
{
    return service(sl, timeout_ms);
}

int
sluice_flush(struct sluice *sl, int timeout_ms)
{
    int64_t deadline = slc_now_ms() + timeout_ms;

    linger_check(sl, 1);
    while (sl->outq > 0) {
        int64_t left = deadline - slc_now_ms();
        if (left <= 0)
            return slc_seterr(sl, SLUICE_ERR_TIMED_OUT, "flush: %lld record(s) still queued",
                              (long long)sl->outq);
        service(sl, (int)(left < 100 ? left : 100));
        linger_check(sl, 1);
    }
    return 0;
}

int64_t
sluice_outq_len(const struct sluice *sl)
{
    return sl->outq;
}

void
slc_topic_free_batches(struct slc_topic *t)
{
    int32_t p;
    if (!t->open)
        return;
    for (p = 0; p < t->nparts; p++) {
        batch_free(t->open[p]);
        t->open[p] = NULL;
    }
}

void
slc_producer_destroy(struct sluice *sl)
{
    struct slc_batch *b = sl->ready_head, *n;
    for (; b; b = n) {
        n = b->next;
        batch_free(b);
    }
    sl->ready_head = sl->ready_tail = NULL;
}
