/* tests/test_client_batch.c -- libsluice's RecordBatch v2 encoder: records
 * with keys, null keys, null values, headers and timestamps, wrapped in a
 * batch with every codec, must pass the broker's validation
 * (codec_validate_batch: CRC, counts, offset deltas) and decode back to the
 * same records (codec_batch_records + rec_iter). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "client/sluice_int.h"
#include "storage/codec.h"
#include "storage/record.h"

TestSuite(client_batch, .timeout = 60);

#define N 500

static void
roundtrip(int codec)
{
    struct sl_buf recs = SL_BUF_INIT, batch = SL_BUF_INIT, scratch = SL_BUF_INIT;
    struct sluice_header h[2] = { { "trace", "abc", 3 }, { "nullv", NULL, -1 } };
    int64_t base_ts = 1700000000000LL;
    char key[32], val[128];
    int i, rc;

    for (i = 0; i < N; i++) {
        int kl = snprintf(key, sizeof(key), "key-%d", i);
        int vl = snprintf(val, sizeof(val), "value %d repeated repeated repeated", i);
        uint32_t kp, vp;
        slc_batch_append_record(&recs, i, i * 3, i % 7 == 0 ? NULL : key, kl, i % 11 == 0 ? NULL : val, vl,
                                i % 2 ? h : NULL, i % 2 ? 2 : 0, &kp, &vp);
        if (i % 7 != 0)
            cr_assert_eq(memcmp(recs.data + kp, key, (size_t)kl), 0);
    }
    cr_assert(!recs.oom);
    rc = slc_batch_finish(&batch, recs.data, recs.len, N, base_ts, base_ts + (N - 1) * 3, codec);
    cr_assert_eq(rc, 0, "finish codec %d: %d", codec, rc);
    cr_assert_eq(codec_validate_batch(batch.data, batch.len, 1 << 24, &scratch), 0, "codec %d invalid", codec);
    if (codec)
        cr_expect_lt(batch.len, recs.len, "codec %d did not compress", codec);
    {
        struct rec_batch_hdr hdr;
        struct sl_slice section;
        int32_t count;
        struct rec_iter it;
        struct rec_record r;

        cr_assert_eq(rec_parse_hdr(batch.data, batch.len, 1 << 30, &hdr), 0);
        cr_expect_eq(hdr.attributes & REC_ATTR_CODEC_MASK, codec);
        cr_expect_eq(hdr.record_count, N);
        cr_expect_eq(hdr.last_offset_delta, N - 1);
        cr_expect_eq(hdr.base_timestamp, base_ts);
        cr_expect_eq(hdr.max_timestamp, base_ts + (N - 1) * 3);
        cr_expect_eq(hdr.producer_id, -1);
        cr_expect(rec_crc_ok(batch.data, batch.len));
        cr_assert_eq(codec_batch_records(batch.data, batch.len, 1 << 24, &scratch, &section, &count), 0);
        cr_assert_eq(count, N);
        cr_assert_eq(section.len, recs.len);
        cr_assert_eq(memcmp(section.p, recs.data, recs.len), 0);
        rec_iter_init(&it, section.p, section.len, count);
        for (i = 0; i < N; i++) {
            int kl = snprintf(key, sizeof(key), "key-%d", i);
            int vl = snprintf(val, sizeof(val), "value %d repeated repeated repeated", i);
            cr_assert_eq(rec_iter_next(&it, &r), 1);
            cr_expect_eq(r.offset_delta, i);
            cr_expect_eq(r.timestamp_delta, i * 3);
            if (i % 7 == 0) {
                cr_expect_eq(r.key_len, -1);
            } else {
                cr_expect_eq(r.key_len, kl);
                cr_expect_eq(memcmp(r.key, key, (size_t)kl), 0);
            }
            if (i % 11 == 0) {
                cr_expect_eq(r.value_len, -1);
            } else {
                cr_expect_eq(r.value_len, vl);
                cr_expect_eq(memcmp(r.value, val, (size_t)vl), 0);
            }
            cr_expect_eq(r.header_count, i % 2 ? 2 : 0);
        }
        cr_expect_eq(rec_iter_next(&it, &r), 0);
    }
    sl_buf_free(&recs);
    sl_buf_free(&batch);
    sl_buf_free(&scratch);
}

Test(client_batch, roundtrip_none) { roundtrip(REC_CODEC_NONE); }
Test(client_batch, roundtrip_gzip) { roundtrip(REC_CODEC_GZIP); }
Test(client_batch, roundtrip_snappy) { roundtrip(REC_CODEC_SNAPPY); }
Test(client_batch, roundtrip_lz4) { roundtrip(REC_CODEC_LZ4); }
Test(client_batch, roundtrip_zstd) { roundtrip(REC_CODEC_ZSTD); }

Test(client_batch, compress_decompress_seam)
{
    static uint8_t src[100000];
    for (int codec = 1; codec <= 4; codec++) {
        struct sl_buf c = SL_BUF_INIT, d = SL_BUF_INIT;
        for (size_t i = 0; i < sizeof(src); i++)
            src[i] = (uint8_t)("sluice"[i % 6] + (i % 1000 == 0));
        cr_assert_eq(slc_compress(codec, src, sizeof(src), &c), 0);
        cr_assert_eq(slc_decompress(codec, c.data, c.len, &d), 0);
        cr_assert_eq(d.len, sizeof(src));
        cr_assert_eq(memcmp(d.data, src, sizeof(src)), 0);
        /* garbage does not decompress */
        sl_buf_reset(&d);
        cr_expect_neq(slc_decompress(codec, (const uint8_t *)"not compressed at all", 21, &d), 0);
        sl_buf_free(&c);
        sl_buf_free(&d);
    }
}

Test(client_batch, single_empty_record)
{
    struct sl_buf recs = SL_BUF_INIT, batch = SL_BUF_INIT, scratch = SL_BUF_INIT;
    slc_batch_append_record(&recs, 0, 0, NULL, 0, "", 0, NULL, 0, NULL, NULL);
    cr_assert_eq(slc_batch_finish(&batch, recs.data, recs.len, 1, 5, 5, REC_CODEC_NONE), 0);
    cr_assert_eq(codec_validate_batch(batch.data, batch.len, 1 << 20, &scratch), 0);
    sl_buf_free(&recs);
    sl_buf_free(&batch);
    sl_buf_free(&scratch);
}
