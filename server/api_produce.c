/* server/api_produce.c -- Produce (key 0), v0-8.
 *
 * Every request version is decoded and answered, but the records must be
 * RecordBatch v2: the legacy v0/v1 message sets that Produce v0-2 were made
 * for are refused per partition with UNSUPPORTED_FOR_MESSAGE_FORMAT. (v0
 * has to be in the advertised range anyway: librdkafka 2.0.2 compresses
 * with gzip, snappy or lz4 only when the broker's Produce range includes
 * v0 -- librdkafka#4956, the reason for Kafka 4.0's KAFKA-18659 -- and it
 * uses v3+ with RecordBatch v2 whenever the range reaches it.)
 *
 * Each partition's records must be exactly one RecordBatch v2, no
 * larger than the topic's max.message.bytes, and pass rec_validate_batch
 * (sizes, CRC32C, record count, every record's framing). The batch is
 * appended where it sits in the request frame: the log rewrites its base
 * offset and leader epoch in place and writes it with one pwrite.
 *
 * acks=0: no reply (an error closes the connection, as Kafka does);
 * acks=1: reply now; acks=-1: reply after the loop's group commit fsynced
 * the partitions (unless sluice.acks.all.fsync=false).
 *
 * The reply is encoded while the request is processed (response order
 * equals request order), remembering where each error code sits so the
 * group commit can patch in KAFKA_STORAGE_ERROR if an fsync fails.
 */
#include <stdlib.h>
#include <string.h>
#include "server/api.h"
#include "server/produce.h"
#include "storage/err.h"
#include "storage/log.h"
#include "storage/codec.h"
#include "storage/record.h"

#define MAX_TOPICS      10000
#define MAX_PARTITIONS  100000

struct produce_op {
    struct produce_op *next;
    struct resp       *r;
    int                n;
    struct { struct partition *p; size_t err_pos; } parts[];
};

/* Check one partition's records; 0 or a wire error. */
static int
check_batch(const struct req_ctx *ctx, const struct sl_topic_conf *tc, const uint8_t *rec,
            size_t len, int64_t now_ms, struct sl_buf *scratch)
{
    struct rec_batch_hdr h;
    int rc;

    if (len == 0)
        return SL_ERR_INVALID_RECORD;
    if (len > REC_OFF_MAGIC && rec[REC_OFF_MAGIC] != REC_MAGIC_V2)
        return SL_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
    if (len > (size_t)tc->max_message_bytes)
        return SL_ERR_MESSAGE_TOO_LARGE;
    if (rec_parse_hdr(rec, len, len, &h) != 0)
        return SL_ERR_CORRUPT_MESSAGE;
    if (rec_batch_size(&h) != len)
        return SL_ERR_INVALID_RECORD;      /* v3+: exactly one batch */
    /* full validation, compressed payloads decoded (bounded) and dropped */
    if ((rc = codec_validate_batch(rec, len, (size_t)tc->max_message_bytes > len ? (size_t)tc->max_message_bytes : len,
                                   scratch)) != 0)
        return rc == SL_ERR__NOMEM ? SL_ERR_KAFKA_STORAGE_ERROR : rc;
    if (h.attributes & REC_ATTR_CONTROL)
        return SL_ERR_INVALID_RECORD;
    if (h.attributes & REC_ATTR_TRANSACTIONAL)
        return SL_ERR_INVALID_TXN_STATE;   /* transactions are not supported (yet) */
    if (h.producer_id >= 0 && h.base_sequence < 0)
        return SL_ERR_INVALID_RECORD;
    if ((h.attributes & REC_ATTR_CODEC_MASK) == REC_CODEC_ZSTD && ctx->hdr.api_version < 7)
        return SL_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    if (h.attributes & REC_ATTR_LOG_APPEND_TIME)
        return SL_ERR_INVALID_TIMESTAMP;
    if (tc->message_timestamp_type == SL_TS_CREATE_TIME) {
        int64_t d = tc->message_timestamp_difference_max_ms;
        if (d < INT64_MAX &&
            (h.max_timestamp - now_ms > d || now_ms - h.base_timestamp > d ||
             h.base_timestamp - now_ms > d))
            return SL_ERR_INVALID_TIMESTAMP;
    }
    return 0;
}

/* Topic compression.type is a codec (or uncompressed): re-encode the batch
 * when the producer used another one. data and len then point into the
 * loop's reusable buffer. */
static int
recompress(struct loop_ctx *lc, const struct sl_topic_conf *tc, uint8_t **data, size_t *len)
{
    static const int codec_of[] = {
        [SL_COMPRESSION_UNCOMPRESSED] = REC_CODEC_NONE, [SL_COMPRESSION_GZIP] = REC_CODEC_GZIP,
        [SL_COMPRESSION_SNAPPY] = REC_CODEC_SNAPPY, [SL_COMPRESSION_LZ4] = REC_CODEC_LZ4,
        [SL_COMPRESSION_ZSTD] = REC_CODEC_ZSTD,
    };
    int want = codec_of[tc->compression_type];
    int rc;

    if ((rec_get_u16(*data + REC_OFF_ATTRIBUTES) & REC_ATTR_CODEC_MASK) == want)
        return 0;
    sl_buf_reset(&lc->recompress_out);
    rc = codec_recompress_batch(*data, *len, want, CODEC_LEVEL_DEFAULT, &lc->recompress_out,
                                &lc->codec_scratch, (size_t)tc->max_message_bytes * 4);
    if (rc != 0)
        return rc == SL_ERR__NOMEM ? SL_ERR_KAFKA_STORAGE_ERROR : rc;
    *data = lc->recompress_out.data;
    *len = lc->recompress_out.len;
    return 0;
}

int
api_produce(struct req_ctx *ctx)
{
    struct pr_reader *r = &ctx->r;
    struct broker *b = ctx->b;
    int16_t ver = ctx->hdr.api_version, acks;
    struct sl_slice txn_id;
    int txn_null, any_err = 0, appended = 0, wait_sync;
    int32_t ntopics;
    struct pr_writer w;
    struct resp *resp = NULL;
    struct produce_op *op = NULL;
    int64_t now = loop_wall_ms();
    int nparts_total = 0;

    txn_null = 1;
    if (ver >= 3)
        pr_read_string(r, &txn_id, &txn_null);
    acks = pr_read_i16(r);
    (void)pr_read_i32(r);   /* timeout_ms: replies never wait on replicas here */
    if (pr_read_array_len(r, &ntopics, MAX_TOPICS) != 0 || ntopics < 0)
        return r->err ? r->err : SL_ERR__CORRUPT;
    wait_sync = acks == -1 && b->conf->acks_all_fsync;
    if (acks != 0) {
        if (!(resp = api_resp_begin(ctx, &w)))
            return 0;
        pr_write_array_len(&w, ntopics);
    }
    for (int32_t ti = 0; ti < ntopics; ti++) {
        struct sl_slice name;
        int name_null, err;
        int32_t nparts;
        struct topic *t;
        struct sl_topic_conf tc;

        pr_read_string(r, &name, &name_null);
        if (pr_read_array_len(r, &nparts, MAX_PARTITIONS) != 0 || nparts < 0)
            goto bad;
        t = name_null ? NULL : topics_get(b->topics, (const char *)name.p, name.len);
        if (t)
            topics_conf_copy(t, &tc);
        if (resp) {
            pr_write_string_len(&w, name.p, name.len);
            pr_write_array_len(&w, nparts);
        }
        for (int32_t pi = 0; pi < nparts; pi++) {
            int32_t idx = pr_read_i32(r);
            struct sl_slice rec;
            int rec_null;
            struct partition *p = NULL;
            struct plog_append_info ai = { -1, -1, -1, -1, 0 };
            int64_t log_start = -1;

            pr_read_bytes(r, &rec, &rec_null);
            if (r->err)
                goto bad_put;
            if (!txn_null)
                err = SL_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
            else if (acks != 0 && acks != 1 && acks != -1)
                err = SL_ERR_INVALID_REQUIRED_ACKS;
            else if (!t || !(p = topic_partition(t, idx)))
                err = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if (rec_null)
                err = SL_ERR_INVALID_RECORD;
            else
                err = check_batch(ctx, &tc, rec.p, rec.len, now, &ctx->lc->codec_scratch);
            if (err == 0) {
                int flags = PLOG_APPEND_ASSIGN_OFFSETS;
                uint8_t *data = (uint8_t *)rec.p;
                size_t dlen = rec.len;
                if (tc.message_timestamp_type == SL_TS_LOG_APPEND_TIME)
                    flags |= PLOG_APPEND_LOG_APPEND_TIME;
                if (tc.compression_type != SL_COMPRESSION_PRODUCER) {
                    err = recompress(ctx->lc, &tc, &data, &dlen);
                    if (err)
                        goto appended;
                }
                err = plog_append(p->log, data, dlen, p->leader_epoch, flags, now, &ai);
                if (err == SL_ERR_DUPLICATE_SEQUENCE_NUMBER) {
                    err = 0;    /* a retry of an appended batch: its original offsets */
                    ai.log_append_time = -1;
                    /* the original may still be waiting for its fsync on another
                     * loop: this reply waits for one of its own */
                    if (wait_sync && broker_mark_dirty(ctx->lc, p) != 0)
                        err = SL_ERR_KAFKA_STORAGE_ERROR;
                } else if (err == SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER ||
                           err == SL_ERR_INVALID_PRODUCER_EPOCH) {
                    /* refused, nothing appended */
                } else if (err == 0) {
                    /* single broker: the high watermark is the log end */
                    plog_set_high_watermark(p->log, plog_log_end_offset(p->log));
                    appended = 1;
                    if (wait_sync && broker_mark_dirty(ctx->lc, p) != 0)
                        err = SL_ERR_KAFKA_STORAGE_ERROR;
                } else {
                    SL_WARN("produce", "%s-%d: append failed: %s", t->name, idx, sl_strerror(err));
                    err = sl_err_to_wire(err);
                    if (err == SL_ERR_UNKNOWN_SERVER || err == SL_ERR_CORRUPT_MESSAGE)
                        err = SL_ERR_KAFKA_STORAGE_ERROR;
                }
            }
appended:
            if (err)
                any_err = 1;
            if (p)
                log_start = plog_log_start_offset(p->log);
            if (!resp)
                continue;
            pr_write_i32(&w, idx);
            if (wait_sync && err == 0) {
                if (!op || op->n % 16 == 0) {
                    struct produce_op *nop = realloc(op, sizeof(*op) + sizeof(op->parts[0]) *
                                                     (size_t)((op ? op->n : 0) + 16));
                    if (!nop) {
                        topic_put(t);
                        goto oom;
                    }
                    if (!op)
                        nop->n = 0;
                    op = nop;
                }
                op->parts[op->n].p = p;
                op->parts[op->n].err_pos = resp_buf(resp)->len;
                op->n++;
            }
            pr_write_i16(&w, (int16_t)err);
            pr_write_i64(&w, err ? -1 : ai.first_offset);
            if (ver >= 2)
                pr_write_i64(&w, err ? -1 : ai.log_append_time);
            if (ver >= 5)
                pr_write_i64(&w, log_start);
            if (ver >= 8) {
                pr_write_array_len(&w, 0);     /* record_errors */
                pr_write_nullable_string(&w, NULL, 0, 1);
            }
            nparts_total++;
        }
        topic_put(t);
        continue;
bad_put:
        topic_put(t);
        goto bad;
    }
    if (r->err)
        goto bad;
    if (appended)
        broker_wake_fetchers(b);
    if (!resp) {
        if (any_err)
            conn_close_after_replies(ctx->c);   /* acks=0: the only way to report an error */
        return 0;
    }
    if (ver >= 1)
        pr_write_i32(&w, 0);   /* throttle_time_ms */
    if (op) {
        op->r = resp;
        op->next = ctx->lc->sync_waiters;
        ctx->lc->sync_waiters = op;
    } else {
        resp_complete(resp);
    }
    return 0;
oom:
    free(op);
    if (resp)
        resp_discard(resp);
    conn_close(ctx->c);
    return 0;
bad:
    free(op);
    if (appended)
        broker_wake_fetchers(b);
    if (resp) {
        resp_discard(resp);
    }
    return r->err ? r->err : SL_ERR__CORRUPT;
}

int
produce_park_synced(struct loop_ctx *lc, struct resp *r, struct partition *p,
                    const size_t *err_pos, int n)
{
    struct produce_op *op = malloc(sizeof(*op) + sizeof(op->parts[0]) * (size_t)(n ? n : 1));
    if (!op || broker_mark_dirty(lc, p) != 0) {
        free(op);
        return SL_ERR__NOMEM;
    }
    op->r = r;
    op->n = n;
    for (int i = 0; i < n; i++) {
        op->parts[i].p = p;
        op->parts[i].err_pos = err_pos[i];
    }
    op->next = lc->sync_waiters;
    lc->sync_waiters = op;
    return 0;
}

void
produce_complete_synced(struct produce_op *list)
{
    struct produce_op *op = list, *next;

    /* replies were pushed newest first; complete them oldest first (order
     * on the wire is kept by net anyway) */
    struct produce_op *rev = NULL;
    for (; op; op = next) {
        next = op->next;
        op->next = rev;
        rev = op;
    }
    for (op = rev; op; op = next) {
        struct sl_buf *b = resp_buf(op->r);
        next = op->next;
        for (int i = 0; i < op->n; i++) {
            if (plog_is_offline(op->parts[i].p->log) && op->parts[i].err_pos + 2 <= b->len)
                rec_put_u16(b->data + op->parts[i].err_pos, SL_ERR_KAFKA_STORAGE_ERROR);
        }
        resp_complete(op->r);
        free(op);
    }
}
