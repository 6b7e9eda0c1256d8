/* tests/fuzz/fuzz_record.c -- RecordBatch v2 validation and decoding on
 * arbitrary bytes: rec_parse_hdr, rec_validate_batch, codec_validate_batch
 * (gzip, snappy incl. xerial, lz4, zstd decompression, bounded at 1 MiB),
 * codec_batch_records + rec_iter, codec_recompress_batch.
 *
 * The input is one batch. It is checked twice: as given, then as a copy
 * whose length field and CRC are made to agree with the bytes, so that
 * mutated payloads get past the CRC check and reach the decompressors and
 * the record parser. Invariants (abort on violation):
 *   - codec_validate_batch accepting a batch implies rec_validate_batch does;
 *   - a validated batch iterates to exactly its record count, and its
 *     offset deltas are 0,1,2,...;
 *   - recompressing a validated batch gives a batch that validates again.
 * Seeds: corpus/fuzz_record/, batches of every codec from real clients.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "storage/buf.h"
#include "storage/codec.h"
#include "storage/err.h"
#include "storage/record.h"
#include "tests/fuzz/fuzz.h"

#define MAX_UNCOMPRESSED (1u << 20)

static struct sl_buf scratch = SL_BUF_INIT, out = SL_BUF_INIT, scratch2 = SL_BUF_INIT;

#define CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "fuzz_record: invariant failed: %s (line %d)\n", #cond, __LINE__); \
    abort(); } } while (0)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    return 0;
}

static void
walk_records(const uint8_t *p, size_t len, int32_t count, int strict)
{
    struct rec_iter it;
    struct rec_record r;
    int32_t n = 0;
    int rc;

    rec_iter_init(&it, p, len, count);
    while ((rc = rec_iter_next(&it, &r)) == 1) {
        if (strict)
            CHECK(r.offset_delta == n);
        /* touch every byte the iterator hands out (ASan checks the bounds) */
        volatile uint8_t sink = 0;
        if (r.key_len > 0) sink ^= r.key[0] ^ r.key[r.key_len - 1];
        if (r.value_len > 0) sink ^= r.value[0] ^ r.value[r.value_len - 1];
        if (r.headers_len > 0) sink ^= r.headers[0] ^ r.headers[r.headers_len - 1];
        (void)sink;
        n++;
        CHECK(n <= count);
    }
    if (strict)
        CHECK(rc == 0 && n == count);
}

static void
check_batch(const uint8_t *b, size_t size)
{
    struct rec_batch_hdr h;
    struct sl_slice recs;
    int32_t count = 0;
    int rv, cv, hv;

    hv = rec_parse_hdr(b, size, size, &h);
    rv = rec_validate_batch(b, size);
    cv = codec_validate_batch(b, size, MAX_UNCOMPRESSED, &scratch);
    if (cv == 0)
        CHECK(rv == 0 && hv == 0);
    if (hv == 0 && size >= REC_HDR_LEN) {
        /* the iterator on whatever follows the header, valid or not */
        int32_t c = h.record_count;
        if (c < 0 || c > 100000)
            c = 100000;
        walk_records(b + REC_HDR_LEN, size - REC_HDR_LEN, c, 0);
    }
    if (codec_batch_records(b, size, MAX_UNCOMPRESSED, &scratch, &recs, &count) == 0) {
        CHECK(cv == 0);
        walk_records(recs.p, recs.len, count, 1);
    } else {
        CHECK(cv != 0);
    }
    if (cv == 0) {
        int codecs[2] = { REC_CODEC_NONE, (int)(h.crc % 5) };
        for (int i = 0; i < 2; i++) {
            sl_buf_reset(&out);
            int rc = codec_recompress_batch(b, size, codecs[i], CODEC_LEVEL_DEFAULT, &out,
                                            &scratch, MAX_UNCOMPRESSED);
            if (rc == 0)
                CHECK(codec_validate_batch(out.data, out.len, MAX_UNCOMPRESSED, &scratch2) == 0);
            else
                CHECK(rc == SL_ERR__NOMEM || rc == SL_ERR_CORRUPT_MESSAGE || rc == SL_ERR_MESSAGE_TOO_LARGE);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);

    if (!copy)
        return 0;
    memcpy(copy, data, size);
    check_batch(copy, size);
    if (size >= REC_HDR_LEN && size - REC_LOG_OVERHEAD <= INT32_MAX) {
        /* make length and CRC agree, and magic 2, so the body gets parsed */
        rec_put_u32(copy + REC_OFF_LENGTH, (uint32_t)(size - REC_LOG_OVERHEAD));
        copy[REC_OFF_MAGIC] = REC_MAGIC_V2;
        rec_put_u32(copy + REC_OFF_CRC, rec_compute_crc(copy, size));
        check_batch(copy, size);
    }
    free(copy);
    return 0;
}
