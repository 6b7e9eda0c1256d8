/* client/consumer.c -- assign/seek, ListOffsets v1, Fetch v4 with
 * pipelining, batch decoding and decompression, record iteration.
 *
 * Each assigned partition has a position (next offset handed to the
 * application) and a fetch position (next offset to ask the broker for).
 * One Fetch per leader broker is in flight at a time, covering every
 * partition it leads whose buffered bytes are below
 * fetch_partition_max_bytes; it is sent as soon as the previous one has
 * been decoded, so the network works while the application reads the
 * previous response (fetch-ahead). A response frame is kept (not copied)
 * and shared, reference-counted, by the batches ("chunks") decoded from
 * it; compressed batches are inflated into memory of their own. A seek
 * clears the partition's chunks and its in-flight marker, so stale data
 * is dropped when it arrives.
 */
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "client/sluice_int.h"

static struct slc_cpart *
cpart_find(struct sluice *sl, const char *topic, size_t tlen, int32_t partition)
{
    int i;
    for (i = 0; i < sl->ncparts; i++) {
        struct slc_cpart *cp = &sl->cparts[i];
        if (cp->partition == partition && strlen(cp->topic) == tlen && memcmp(cp->topic, topic, tlen) == 0)
            return cp;
    }
    return NULL;
}

static void
chunk_free(struct slc_chunk *c)
{
    if (c->rb && --c->rb->refs == 0) {
        sl_buf_free(&c->rb->b);
        free(c->rb);
    }
    free(c->own);
    free(c);
}

/* Drop buffered chunks (of cp, or all when cp is NULL). */
static void
drop_chunks(struct sluice *sl, struct slc_cpart *cp)
{
    struct slc_chunk **pp = &sl->chunks_head, *c;

    sl->chunks_tail = NULL;
    while ((c = *pp) != NULL) {
        if (!cp || c->cp == cp) {
            *pp = c->next;
            if (sl->cur == c)
                sl->cur = NULL;
            if (c->cp)
                c->cp->buffered = 0;
            chunk_free(c);
        } else {
            sl->chunks_tail = c;
            pp = &c->next;
        }
    }
}

int
sluice_list_offset(struct sluice *sl, const char *topic, int32_t partition, int64_t spec, int64_t *out)
{
    struct slc_broker *b;
    struct pr_writer w;
    struct pr_reader r;
    int32_t corr, nt, np;
    int64_t ts = spec;
    int rc, attempt;

    if (spec <= SLUICE_OFFSET_TIMESTAMP_BASE)
        ts = SLUICE_OFFSET_TIMESTAMP_BASE - spec;
    for (attempt = 0;; attempt++) {
        int16_t ec;
        if ((rc = slc_leader(sl, topic, partition, &b)) != 0)
            return rc;
        if ((rc = slc_check_version(sl, b, PR_API_LIST_OFFSETS, SLC_V_LIST_OFFSETS)) != 0)
            return rc;
        slc_req_start(sl, b, &w, PR_API_LIST_OFFSETS, SLC_V_LIST_OFFSETS, &corr);
        pr_write_i32(&w, -1);
        pr_write_array_len(&w, 1);
        pr_write_string(&w, topic);
        pr_write_array_len(&w, 1);
        pr_write_i32(&w, partition);
        pr_write_i64(&w, ts);
        if ((rc = slc_call(sl, b, corr, &r)) != 0) {
            if (attempt < 2)
                continue;
            return rc;
        }
        pr_read_array_len(&r, &nt, 1000);
        if (nt != 1)
            return slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad ListOffsets response");
        pr_read_string(&r, &(struct sl_slice){ 0 }, NULL);
        pr_read_array_len(&r, &np, 1000);
        pr_read_i32(&r);
        ec = pr_read_i16(&r);
        pr_read_i64(&r);
        *out = pr_read_i64(&r);
        if (r.err || np != 1)
            return slc_seterr(sl, SLUICE_ERR_CORRUPT, "bad ListOffsets response");
        if (ec == 0)
            return 0;
        if ((ec == SL_ERR_NOT_LEADER_OR_FOLLOWER || ec == SL_ERR_LEADER_NOT_AVAILABLE ||
             ec == SL_ERR_UNKNOWN_LEADER_EPOCH) && attempt < 5) {
            sl->md_stale = 1;
            continue;
        }
        return slc_seterr(sl, ec, "ListOffsets %s [%d]: %s", topic, partition, sluice_strerror(ec));
    }
}

int
slc_cpart_add(struct sluice *sl, const char *topic, int32_t partition, int64_t offset)
{
    struct slc_cpart *cp = cpart_find(sl, topic, strlen(topic), partition);

    if (!cp) {
        struct slc_cpart *v = realloc(sl->cparts, (size_t)(sl->ncparts + 1) * sizeof(*v));
        if (!v)
            return SLUICE_ERR_NOMEM;
        /* chunks point at cparts: re-point them after the move */
        if (v != sl->cparts) {
            struct slc_chunk *c;
            for (c = sl->chunks_head; c; c = c->next)
                c->cp = v + (c->cp - sl->cparts);
        }
        sl->cparts = v;
        cp = &sl->cparts[sl->ncparts++];
        memset(cp, 0, sizeof(*cp));
        cp->topic = strdup(topic);
        if (!cp->topic) {
            sl->ncparts--;
            return SLUICE_ERR_NOMEM;
        }
        cp->partition = partition;
        cp->end = -1;
        cp->hw = -1;
    } else {
        drop_chunks(sl, cp);
    }
    cp->pos = offset;
    cp->fetch_pos = offset >= 0 ? offset : -1;
    cp->inflight_off = -1;
    cp->done = cp->end >= 0 && offset >= 0 && offset >= cp->end;
    cp->err = 0;
    return 0;
}

int
sluice_assign(struct sluice *sl, const char *topic, int32_t partition, int64_t offset)
{
    int32_t n;
    int rc;

    sl->errmsg[0] = 0;
    if ((rc = sluice_partition_count(sl, topic, 0, &n)) != 0)
        return rc;
    if (partition < 0 || partition >= n)
        return slc_seterr(sl, SL_ERR_UNKNOWN_TOPIC_OR_PARTITION, "topic '%s' has no partition %d (it has %d)",
                          topic, partition, n);
    return slc_cpart_add(sl, topic, partition, offset);
}

int
sluice_seek(struct sluice *sl, const char *topic, int32_t partition, int64_t offset)
{
    if (!cpart_find(sl, topic, strlen(topic), partition))
        return slc_seterr(sl, SLUICE_ERR_INVALID_ARG, "%s [%d] is not assigned", topic, partition);
    return slc_cpart_add(sl, topic, partition, offset);
}

void
slc_cparts_clear(struct sluice *sl)
{
    int i;
    drop_chunks(sl, NULL);
    for (i = 0; i < sl->ncparts; i++)
        free(sl->cparts[i].topic);
    free(sl->cparts);
    sl->cparts = NULL;
    sl->ncparts = 0;
    sl->cur = NULL;
}

void
sluice_unassign(struct sluice *sl)
{
    slc_cparts_clear(sl);
}

int
sluice_set_end(struct sluice *sl, const char *topic, int32_t partition, int64_t end)
{
    struct slc_cpart *cp = cpart_find(sl, topic, strlen(topic), partition);
    int rc;

    if (!cp)
        return slc_seterr(sl, SLUICE_ERR_INVALID_ARG, "%s [%d] is not assigned", topic, partition);
    if (end < 0 && (rc = sluice_list_offset(sl, topic, partition, SLUICE_OFFSET_END, &end)) != 0)
        return rc;
    cp->end = end;
    cp->done = cp->pos >= 0 && cp->pos >= end;
    return 0;
}

int
sluice_position(struct sluice *sl, const char *topic, int32_t partition, int64_t *out)
{
    struct slc_cpart *cp = cpart_find(sl, topic, strlen(topic), partition);
    if (!cp)
        return slc_seterr(sl, SLUICE_ERR_INVALID_ARG, "%s [%d] is not assigned", topic, partition);
    *out = cp->pos;
    return 0;
}

/* Turn a SLUICE_OFFSET_* position into an offset. */
static int
resolve(struct sluice *sl, struct slc_cpart *cp)
{
    int64_t off;
    int rc;

    if (cp->pos == SLUICE_OFFSET_STORED)
        cp->pos = sl->conf.auto_offset_reset;
    rc = sluice_list_offset(sl, cp->topic, cp->partition, cp->pos, &off);
    if (rc)
        return rc;
    if (off < 0)                                    /* timestamp past the end */
        if ((rc = sluice_list_offset(sl, cp->topic, cp->partition, SLUICE_OFFSET_END, &off)) != 0)
            return rc;
    cp->pos = cp->fetch_pos = off;
    cp->done = cp->end >= 0 && off >= cp->end;
    return 0;
}

/* Keep the response frame and decode each partition's batches into chunks. */
void
slc_fetch_response(struct sluice *sl, struct slc_broker *b, void *ctx, struct pr_reader *r, int err)
{
    struct slc_respbuf *rb = NULL;
    int32_t nt, np, i, j;
    int k;

    (void)ctx;
    b->fetch_inflight = 0;
    if (!r || err) {
        /* the fetch is lost: fetch those partitions again */
        for (k = 0; k < sl->ncparts; k++)
            sl->cparts[k].inflight_off = -1;
        sl->md_stale = 1;
        return;
    }
    if (sl->steal && sl->steal->data) {
        rb = calloc(1, sizeof(*rb));
        if (rb) {
            rb->b = *sl->steal;
            *sl->steal = (struct sl_buf)SL_BUF_INIT;
            rb->refs = 1;                           /* ours until the end */
        }
    }
    pr_read_i32(r);                                 /* throttle */
    pr_read_array_len(r, &nt, 100000);
    for (i = 0; i < nt && !r->err; i++) {
        struct sl_slice tname;
        pr_read_string(r, &tname, NULL);
        pr_read_array_len(r, &np, 1000000);
        for (j = 0; j < np && !r->err; j++) {
            int32_t part = pr_read_i32(r), na;
            int16_t ec = pr_read_i16(r);
            int64_t hw = pr_read_i64(r);
            struct sl_slice recs;
            int isnull;
            struct slc_cpart *cp;
            const uint8_t *p, *end;

            pr_read_i64(r);                         /* last stable offset */
            pr_read_array_len(r, &na, 1000000);
            for (k = 0; k < na; k++) {
                pr_read_i64(r);
                pr_read_i64(r);
            }
            pr_read_bytes(r, &recs, &isnull);
            if (r->err)
                break;
            cp = cpart_find(sl, (const char *)tname.p, tname.len, part);
            if (!cp || cp->inflight_off < 0 || cp->inflight_off != cp->fetch_pos)
                continue;                           /* seeked or unassigned meanwhile */
            cp->inflight_off = -1;
            cp->hw = hw;
            if (ec) {
                if (ec == SL_ERR_OFFSET_OUT_OF_RANGE) {
                    cp->pos = sl->conf.auto_offset_reset;
                    cp->fetch_pos = -1;
                } else if (ec == SL_ERR_NOT_LEADER_OR_FOLLOWER || ec == SL_ERR_LEADER_NOT_AVAILABLE ||
                           ec == SL_ERR_UNKNOWN_TOPIC_OR_PARTITION || ec == SL_ERR_FENCED_LEADER_EPOCH ||
                           ec == SL_ERR_UNKNOWN_LEADER_EPOCH || ec == SL_ERR_KAFKA_STORAGE_ERROR) {
                    sl->md_stale = 1;
                } else {
                    cp->err = ec;
                }
                continue;
            }
            p = recs.p;
            end = recs.p + recs.len;
            while (p && end - p >= REC_HDR_LEN) {
                struct rec_batch_hdr h;
                struct slc_chunk *c;
                size_t size;
                int codec;

                if (rec_parse_hdr(p, (size_t)(end - p), (size_t)1 << 30, &h) != 0) {
                    if (p[REC_OFF_MAGIC] != REC_MAGIC_V2)
                        cp->err = SL_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
                    break;
                }
                size = rec_batch_size(&h);
                if (size > (size_t)(end - p))
                    break;                          /* partial batch at the end */
                if (rec_last_offset(&h) < cp->fetch_pos || (h.attributes & REC_ATTR_CONTROL) ||
                    h.record_count <= 0) {
                    if (rec_last_offset(&h) >= cp->fetch_pos)
                        cp->fetch_pos = rec_last_offset(&h) + 1;
                    p += size;
                    continue;
                }
                if (!rec_crc_ok(p, size)) {
                    cp->err = SL_ERR_CORRUPT_MESSAGE;
                    slc_seterr(sl, SL_ERR_CORRUPT_MESSAGE, "%s [%d]: CRC mismatch at offset %lld",
                               cp->topic, cp->partition, (long long)h.base_offset);
                    break;
                }
                c = calloc(1, sizeof(*c));
                if (!c)
                    break;
                c->cp = cp;
                c->count = c->remaining = h.record_count;
                c->base_offset = h.base_offset;
                c->base_ts = h.base_timestamp;
                c->max_ts = h.max_timestamp;
                c->ts_type = (h.attributes & REC_ATTR_LOG_APPEND_TIME) ? 1 : 0;
                codec = h.attributes & REC_ATTR_CODEC_MASK;
                if (codec) {
                    struct sl_buf out = SL_BUF_INIT;
                    if (slc_decompress(codec, p + REC_HDR_LEN, size - REC_HDR_LEN, &out) != 0) {
                        sl_buf_free(&out);
                        free(c);
                        cp->err = SLUICE_ERR_CODEC;
                        slc_seterr(sl, SLUICE_ERR_CODEC, "%s [%d]: cannot decompress batch at offset %lld",
                                   cp->topic, cp->partition, (long long)h.base_offset);
                        break;
                    }
                    c->own = out.data;
                    c->recs = out.data;
                    c->recs_len = out.len;
                } else {
                    c->recs = p + REC_HDR_LEN;
                    c->recs_len = size - REC_HDR_LEN;
                    if (rb) {
                        c->rb = rb;
                        rb->refs++;
                    } else {
                        c->own = malloc(c->recs_len ? c->recs_len : 1);
                        if (!c->own) {
                            free(c);
                            break;
                        }
                        memcpy(c->own, c->recs, c->recs_len);
                        c->recs = c->own;
                    }
                }
                c->p = c->recs;
                c->end = c->recs + c->recs_len;
                if (sl->chunks_tail)
                    sl->chunks_tail->next = c;
                else
                    sl->chunks_head = c;
                sl->chunks_tail = c;
                c->wire_size = size;
                cp->buffered += size;
                cp->fetch_pos = rec_last_offset(&h) + 1;
                p += size;
            }
        }
    }
    if (rb && --rb->refs == 0) {
        sl_buf_free(&rb->b);
        free(rb);
    }
}

/* Send a Fetch to every leader with no fetch in flight. */
static int
send_fetches(struct sluice *sl)
{
    int i, rc, k;

    if (sl->md_stale) {
        rc = slc_refresh_topic(sl, NULL, 0, NULL);
        if (rc)
            return rc;
    }
    for (i = 0; i < sl->ncparts; i++) {
        struct slc_cpart *cp = &sl->cparts[i];
        if (!cp->done && cp->fetch_pos < 0 && (rc = resolve(sl, cp)) != 0)
            return rc;
    }
    for (k = 0; k < sl->nbrokers; k++) {
        struct slc_broker *b = &sl->brokers[k];
        struct pr_writer w;
        struct sl_buf buf = SL_BUF_INIT;
        int32_t corr;
        size_t tpos = 0;
        int ntopics = 0, nparts = 0;
        const char *cur_topic = NULL;
        size_t ppos = 0;

        if (b->fetch_inflight)
            continue;
        for (i = 0; i < sl->ncparts; i++) {
            struct slc_cpart *cp = &sl->cparts[i];
            struct slc_broker *lb;
            if (cp->done || cp->err || cp->fetch_pos < 0 || cp->inflight_off >= 0 ||
                cp->buffered >= (size_t)sl->conf.fetch_partition_max_bytes ||
                (cp->end >= 0 && cp->fetch_pos >= cp->end))
                continue;
            if (slc_leader(sl, cp->topic, cp->partition, &lb) != 0 || lb != b)
                continue;
            if (!ntopics && !nparts) {
                if ((rc = slc_check_version(sl, b, PR_API_FETCH, SLC_V_FETCH)) != 0)
                    return rc;
                slc_req_begin(b, &buf, &w, PR_API_FETCH, SLC_V_FETCH, sl->client_id, &corr);
                pr_write_i32(&w, -1);
                pr_write_i32(&w, sl->conf.fetch_max_wait_ms);
                pr_write_i32(&w, 1);
                pr_write_i32(&w, sl->conf.fetch_max_bytes);
                pr_write_i8(&w, 0);
                tpos = pr_reserve_array_len(&w);
            }
            if (!cur_topic || strcmp(cur_topic, cp->topic) != 0) {
                if (cur_topic)
                    pr_patch_array_len(&w, ppos, nparts);
                cur_topic = cp->topic;
                pr_write_string(&w, cp->topic);
                ppos = pr_reserve_array_len(&w);
                nparts = 0;
                ntopics++;
            }
            pr_write_i32(&w, cp->partition);
            pr_write_i64(&w, cp->fetch_pos);
            pr_write_i32(&w, sl->conf.fetch_partition_max_bytes);
            nparts++;
            cp->inflight_off = cp->fetch_pos;
        }
        if (!ntopics)
            continue;
        pr_patch_array_len(&w, ppos, nparts);
        pr_patch_array_len(&w, tpos, ntopics);
        rc = slc_req_send(sl, b, &buf, corr, SLC_K_FETCH, NULL);
        sl_buf_free(&buf);
        if (rc) {
            for (i = 0; i < sl->ncparts; i++)
                sl->cparts[i].inflight_off = -1;
            sl->md_stale = 1;
            continue;
        }
        b->fetch_inflight = 1;
    }
    return 0;
}

/* Parse the header section of a record into sl->scratch as sluice_header[]
 * followed by the NUL-terminated keys. */
static int
decode_headers(struct sluice *sl, const struct rec_record *rr, const struct sluice_header **out)
{
    size_t need = (size_t)rr->header_count * sizeof(struct sluice_header) + rr->headers_len + (size_t)rr->header_count + 1;
    struct sluice_header *h;
    char *keys;
    const uint8_t *p = rr->headers, *end = rr->headers + rr->headers_len;
    int32_t i;

    if (need > sl->scratch_cap) {
        uint8_t *n = realloc(sl->scratch, need * 2);
        if (!n)
            return SLUICE_ERR_NOMEM;
        sl->scratch = n;
        sl->scratch_cap = need * 2;
    }
    h = (struct sluice_header *)sl->scratch;
    keys = (char *)(h + rr->header_count);
    for (i = 0; i < rr->header_count; i++) {
        int32_t kl, vl;
        size_t n = rec_read_varint(p, (size_t)(end - p), &kl);
        if (!n || kl < 0 || kl > end - p - (ptrdiff_t)n)
            return SLUICE_ERR_CORRUPT;
        p += n;
        memcpy(keys, p, (size_t)kl);
        keys[kl] = 0;
        h[i].key = keys;
        keys += kl + 1;
        p += kl;
        n = rec_read_varint(p, (size_t)(end - p), &vl);
        if (!n || vl < -1 || vl > end - p - (ptrdiff_t)n)
            return SLUICE_ERR_CORRUPT;
        p += n;
        h[i].value = vl >= 0 ? p : NULL;
        h[i].value_len = vl;
        if (vl > 0)
            p += vl;
    }
    *out = h;
    return 0;
}

static int
all_done(struct sluice *sl)
{
    int i;
    if (sl->ncparts == 0)
        return 0;
    for (i = 0; i < sl->ncparts; i++)
        if (!sl->cparts[i].done)
            return 0;
    return 1;
}

/* Unlink the head chunk (fully read) and free it. */
static void
pop_head(struct sluice *sl)
{
    struct slc_chunk *c = sl->chunks_head;
    struct slc_cpart *cp = c->cp;

    if (cp)
        cp->buffered = cp->buffered >= c->wire_size ? cp->buffered - c->wire_size : 0;
    sl->chunks_head = c->next;
    if (!sl->chunks_head)
        sl->chunks_tail = NULL;
    if (sl->cur == c)
        sl->cur = NULL;
    chunk_free(c);
}

/* Next record from the buffered chunks: 1 found, 0 none, <0 error. */
static int
next_buffered(struct sluice *sl, struct sluice_record *rec)
{
    struct slc_chunk *c;

    if (sl->cur) {
        /* the chunk of the last record: free it once fully read */
        c = sl->cur;
        sl->cur = NULL;
        if ((c->remaining == 0 || c->p >= c->end) && c == sl->chunks_head)
            pop_head(sl);
    }
    while ((c = sl->chunks_head) != NULL) {
        struct slc_cpart *cp = c->cp;
        while (c->remaining > 0 && c->p < c->end) {
            struct rec_iter it;
            struct rec_record rr;
            int64_t off;
            int rc;

            rec_iter_init(&it, c->p, (size_t)(c->end - c->p), c->remaining);
            if (rec_iter_next(&it, &rr) != 1) {
                c->remaining = 0;
                cp->err = SL_ERR_CORRUPT_MESSAGE;
                break;
            }
            c->p = it.p;
            c->remaining--;
            off = c->base_offset + rr.offset_delta;
            if (off < cp->pos)
                continue;
            if (cp->done || (cp->end >= 0 && off >= cp->end)) {
                cp->done = 1;
                c->remaining = 0;
                break;
            }
            memset(rec, 0, sizeof(*rec));
            rec->topic = cp->topic;
            rec->partition = cp->partition;
            rec->offset = off;
            rec->timestamp_type = c->ts_type;
            rec->timestamp = c->ts_type ? c->max_ts : c->base_ts + rr.timestamp_delta;
            rec->key = rr.key;
            rec->key_len = rr.key_len;
            rec->value = rr.value;
            rec->value_len = rr.value_len;
            rec->header_count = rr.header_count;
            if (rr.header_count > 0 && (rc = decode_headers(sl, &rr, &rec->headers)) != 0)
                return rc;
            cp->pos = off + 1;
            if (cp->end >= 0 && cp->pos >= cp->end)
                cp->done = 1;
            sl->cur = c;
            return 1;
        }
        /* chunk exhausted */
        pop_head(sl);
    }
    return 0;
}

int
sluice_consume(struct sluice *sl, struct sluice_record *rec, int timeout_ms)
{
    int64_t deadline = slc_now_ms() + timeout_ms;
    int rc, i;

    for (;;) {
        if (sl->grp && (rc = slc_group_tick(sl)) != 0)
            return rc;
        rc = next_buffered(sl, rec);
        if (rc != 0)
            return rc < 0 ? rc : 0;
        for (i = 0; i < sl->ncparts; i++) {
            struct slc_cpart *cp = &sl->cparts[i];
            if (cp->err) {
                int e = cp->err;
                cp->err = 0;
                cp->done = 1;
                if (!sl->errmsg[0] || e != SLUICE_ERR_CODEC)
                    slc_seterr(sl, e, "%s [%d]: %s", cp->topic, cp->partition, sluice_strerror(e));
                return e;
            }
        }
        if (all_done(sl))
            return SLUICE_ERR_EOF;
        if ((rc = send_fetches(sl)) != 0)
            return rc;
        {
            int64_t left = deadline - slc_now_ms();
            int got = 0, k;
            if (left < 0)
                left = 0;
            if (sl->grp && left > 200)
                left = 200;                      /* keep heartbeating */
            if (slc_wait_any(sl, (int)left) == 0) {
                for (k = 0; k < sl->nbrokers; k++)
                    while (sl->brokers[k].conn.fd >= 0 && slc_pump(sl, &sl->brokers[k], 0) == 1)
                        got++;
            } else if (left > 0) {
                int outstanding = 0;
                for (k = 0; k < sl->nbrokers; k++)
                    outstanding |= sl->brokers[k].conn.fd >= 0 && sl->brokers[k].conn.qlen > 0;
                if (!outstanding)                /* nothing to wait for: back off a little */
                    poll(NULL, 0, left < 50 ? (int)left : 50);
            }
            if (!got && slc_now_ms() >= deadline && !sl->chunks_head)
                return SLUICE_ERR_TIMED_OUT;
            if (!got && sl->ncparts == 0 && !sl->grp && slc_now_ms() >= deadline)
                return SLUICE_ERR_TIMED_OUT;
        }
    }
}

void
slc_consumer_destroy(struct sluice *sl)
{
    slc_cparts_clear(sl);
}
