/* tests/test_client_idempotence.c -- libsluice's idempotent producer
 * bookkeeping: Kafka's sequence arithmetic (base sequence advances by the
 * record count and wraps past INT32_MAX to 0, as the Java client's
 * DefaultRecordBatch.incrementSequence), and stamping a finished batch with
 * producer id, epoch and base sequence (fields set, CRC still valid, the
 * broker's validation passes, for a plain and a compressed batch). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "client/sluice_int.h"
#include "storage/codec.h"
#include "storage/record.h"

TestSuite(client_idempotence, .timeout = 60);

/* The Java client's DefaultRecordBatch.incrementSequence. */
static int32_t
java_increment(int32_t seq, int32_t inc)
{
    if (seq > INT32_MAX - inc)
        return inc - (INT32_MAX - seq) - 1;
    return seq + inc;
}

Test(client_idempotence, seq_add_wraps_like_kafka)
{
    cr_assert_eq(slc_seq_add(0, 1), 1);
    cr_assert_eq(slc_seq_add(0, 0), 0);
    cr_assert_eq(slc_seq_add(41, 10), 51);
    cr_assert_eq(slc_seq_add(INT32_MAX, 1), 0);
    cr_assert_eq(slc_seq_add(INT32_MAX - 5, 5), INT32_MAX);
    cr_assert_eq(slc_seq_add(INT32_MAX - 4, 5), 0);
    cr_assert_eq(slc_seq_add(INT32_MAX - 2, 5), 2);
    cr_assert_eq(slc_seq_add(INT32_MAX, INT32_MAX), INT32_MAX - 1);
    for (int64_t s = INT32_MAX - 1000; s <= INT32_MAX; s += 97)
        for (int32_t c = 1; c < 3000; c += 131)
            cr_assert_eq(slc_seq_add((int32_t)s, c), java_increment((int32_t)s, c), "seq %lld count %d",
                         (long long)s, c);
    for (int64_t s = 0; s < 5000; s += 313)
        cr_assert_eq(slc_seq_add((int32_t)s, 17), (int32_t)s + 17);
}

/* Successive batches of one partition: each base sequence is the previous
 * one plus its record count, modulo 2^31, also across the wrap. */
Test(client_idempotence, batches_chain_across_the_wrap)
{
    int32_t next = INT32_MAX - 250, counts[] = { 100, 100, 100, 1, 500, 7 };
    int64_t total = (int64_t)INT32_MAX - 250;

    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        int32_t base = next;
        cr_assert_eq((int64_t)base, total % ((int64_t)INT32_MAX + 1), "batch %zu", i);
        next = slc_seq_add(base, counts[i]);
        total += counts[i];
    }
    cr_assert_eq(next, (int32_t)(total % ((int64_t)INT32_MAX + 1)));
}

static void
stamp_one(int codec)
{
    struct sl_buf recs = SL_BUF_INIT, batch = SL_BUF_INIT, scratch = SL_BUF_INIT;
    char val[64];
    struct rec_batch_hdr h;
    int i;

    for (i = 0; i < 50; i++) {
        int vl = snprintf(val, sizeof(val), "value %d value value", i);
        slc_batch_append_record(&recs, i, i, NULL, 0, val, vl, NULL, 0, NULL, NULL);
    }
    cr_assert_eq(slc_batch_finish(&batch, recs.data, recs.len, 50, 1000, 1049, codec), 0);
    /* unstamped: no producer */
    cr_assert_eq(rec_get_i64(batch.data + REC_OFF_PRODUCER_ID), -1);
    cr_assert_eq(rec_get_i32(batch.data + REC_OFF_BASE_SEQUENCE), -1);

    slc_batch_stamp(batch.data, batch.len, 123456789012LL, 7, INT32_MAX - 10);
    cr_assert_eq(rec_get_i64(batch.data + REC_OFF_PRODUCER_ID), 123456789012LL);
    cr_assert_eq(rec_get_i16(batch.data + REC_OFF_PRODUCER_EPOCH), 7);
    cr_assert_eq(rec_get_i32(batch.data + REC_OFF_BASE_SEQUENCE), INT32_MAX - 10);
    cr_assert(rec_crc_ok(batch.data, batch.len), "codec %d: CRC not recomputed", codec);
    cr_assert_eq(codec_validate_batch(batch.data, batch.len, 1 << 24, &scratch), 0, "codec %d", codec);
    cr_assert_eq(rec_parse_hdr(batch.data, batch.len, 1 << 24, &h), 0);
    cr_assert_eq(h.producer_id, 123456789012LL);
    cr_assert_eq(h.base_sequence, INT32_MAX - 10);
    cr_assert_eq(h.record_count, 50);

    /* restamped (a new producer id after a reset): the same batch again */
    slc_batch_stamp(batch.data, batch.len, 5, 0, 0);
    cr_assert_eq(rec_get_i64(batch.data + REC_OFF_PRODUCER_ID), 5);
    cr_assert_eq(rec_get_i32(batch.data + REC_OFF_BASE_SEQUENCE), 0);
    cr_assert(rec_crc_ok(batch.data, batch.len));
    sl_buf_free(&recs);
    sl_buf_free(&batch);
    sl_buf_free(&scratch);
}

Test(client_idempotence, stamp_plain)
{
    stamp_one(REC_CODEC_NONE);
}

Test(client_idempotence, stamp_lz4)
{
    stamp_one(REC_CODEC_LZ4);
}

Test(client_idempotence, stamp_zstd)
{
    stamp_one(REC_CODEC_ZSTD);
}
