/* tests/test_record.c -- RecordBatch v2 pure functions (storage/record.c):
 * header bounds, zigzag varints, the record iterator on good and malformed
 * input (truncated at every byte, over guard pages so any over-read faults),
 * rec_validate_batch's error codes, and LogAppendTime rewriting.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "storage/err.h"
#include "storage/record.h"
#include "tests/support/batchgen.h"

TestSuite(record, .timeout = 60);

/* Copy src so that it ends right before a PROT_NONE page. */
struct guard { uint8_t *map; size_t maplen; uint8_t *p; };

static uint8_t *
guard_copy(struct guard *g, const void *src, size_t len)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t data_pages = (len + pg - 1) / pg;
    if (data_pages == 0)
        data_pages = 1;
    g->maplen = (data_pages + 1) * pg;
    g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(g->map, MAP_FAILED);
    cr_assert_eq(mprotect(g->map + data_pages * pg, pg, PROT_NONE), 0);
    g->p = g->map + data_pages * pg - len;
    if (len)
        memcpy(g->p, src, len);
    return g->p;
}

static void
guard_free(struct guard *g)
{
    munmap(g->map, g->maplen);
}

static void
fix_crc(uint8_t *b, size_t size)
{
    rec_put_u32(b + REC_OFF_CRC, rec_compute_crc(b, size));
}

/* ---- header ---- */

Test(record, parse_hdr_fields)
{
    struct sl_buf b = SL_BUF_INIT;
    struct rec_batch_hdr h;
    cr_assert_eq(bg_append_simple(&b, 1000, 5, 3, 4, 10, 0, 1), 0);
    rec_set_base_offset(b.data, 77);
    rec_set_leader_epoch(b.data, 9);
    cr_assert_eq(rec_parse_hdr(b.data, b.len, 1 << 20, &h), 0);
    cr_assert_eq(h.base_offset, 77);
    cr_assert_eq(h.leader_epoch, 9);
    cr_assert_eq(h.magic, 2);
    cr_assert_eq(rec_batch_size(&h), b.len);
    cr_assert_eq(h.last_offset_delta, 2);
    cr_assert_eq(rec_last_offset(&h), 79);
    cr_assert_eq(h.record_count, 3);
    cr_assert_eq(h.base_timestamp, 1000);
    cr_assert_eq(h.max_timestamp, 1010);
    cr_assert_eq(h.producer_id, -1);
    cr_assert_eq(h.producer_epoch, -1);
    cr_assert_eq(h.base_sequence, -1);
    cr_assert_eq(h.attributes, 0);
    cr_assert(rec_crc_ok(b.data, b.len), "base offset/epoch are outside the CRC");
    cr_assert_eq(rec_validate_batch(b.data, b.len), 0);
    sl_buf_free(&b);
}

Test(record, parse_hdr_bounds)
{
    struct sl_buf b = SL_BUF_INIT;
    struct rec_batch_hdr h;
    uint8_t hdr[REC_HDR_LEN];
    cr_assert_eq(bg_append_simple(&b, 0, 0, 1, -1, 0, 0, 2), 0);
    memcpy(hdr, b.data, REC_HDR_LEN);

    for (size_t n = 0; n < REC_HDR_LEN; n++)
        cr_assert_eq(rec_parse_hdr(hdr, n, 1 << 20, &h), SL_ERR__UNDERFLOW, "avail %zu", n);
    cr_assert_eq(rec_parse_hdr(hdr, REC_HDR_LEN, 1 << 20, &h), 0, "header alone parses");

    for (int m = -1; m < 5; m++) {
        if (m == 2)
            continue;
        uint8_t x[REC_HDR_LEN];
        memcpy(x, hdr, sizeof(x));
        x[REC_OFF_MAGIC] = (uint8_t)m;
        cr_assert_eq(rec_parse_hdr(x, sizeof(x), 1 << 20, &h), SL_ERR__CORRUPT, "magic %d", m);
    }
    int32_t bad_len[] = { INT32_MIN, -1, 0, 1, 12, REC_MIN_LENGTH - 1 };
    for (size_t i = 0; i < sizeof(bad_len) / sizeof(bad_len[0]); i++) {
        uint8_t x[REC_HDR_LEN];
        memcpy(x, hdr, sizeof(x));
        rec_put_u32(x + REC_OFF_LENGTH, (uint32_t)bad_len[i]);
        cr_assert_eq(rec_parse_hdr(x, sizeof(x), 1 << 20, &h), SL_ERR__CORRUPT, "len %d", bad_len[i]);
    }
    {
        uint8_t x[REC_HDR_LEN];
        memcpy(x, hdr, sizeof(x));
        rec_put_u32(x + REC_OFF_LENGTH, REC_MIN_LENGTH);
        cr_assert_eq(rec_parse_hdr(x, sizeof(x), 1 << 20, &h), 0, "length 49 is the minimum");
        rec_put_u32(x + REC_OFF_LENGTH, 1000 - REC_LOG_OVERHEAD);
        cr_assert_eq(rec_parse_hdr(x, sizeof(x), 1000, &h), 0, "batch of exactly max_batch");
        rec_put_u32(x + REC_OFF_LENGTH, 1000 - REC_LOG_OVERHEAD + 1);
        cr_assert_eq(rec_parse_hdr(x, sizeof(x), 1000, &h), SL_ERR__CORRUPT, "one over max_batch");
        rec_put_u32(x + REC_OFF_LENGTH, INT32_MAX);
        cr_assert_eq(rec_parse_hdr(x, sizeof(x), 1 << 20, &h), SL_ERR__CORRUPT);
    }
    sl_buf_free(&b);
}

/* ---- varints ---- */

static size_t
zigzag_size32(int32_t v)
{
    uint32_t u = ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
    size_t n = 1;
    while (u >= 0x80) { u >>= 7; n++; }
    return n;
}

static size_t
zigzag_size64(int64_t v)
{
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 1;
    while (u >= 0x80) { u >>= 7; n++; }
    return n;
}

Test(record, varint_known_encodings)
{
    uint8_t b[10];
    cr_assert_eq(rec_write_varint(b, 0), 1);  cr_assert_eq(b[0], 0x00);
    cr_assert_eq(rec_write_varint(b, -1), 1); cr_assert_eq(b[0], 0x01);
    cr_assert_eq(rec_write_varint(b, 1), 1);  cr_assert_eq(b[0], 0x02);
    cr_assert_eq(rec_write_varint(b, -64), 1); cr_assert_eq(b[0], 0x7f);
    cr_assert_eq(rec_write_varint(b, 64), 2); cr_assert_eq(b[0], 0x80); cr_assert_eq(b[1], 0x01);
    cr_assert_eq(rec_write_varint(b, 300), 2); cr_assert_eq(b[0], 0xd8); cr_assert_eq(b[1], 0x04);
    cr_assert_eq(rec_write_varint(b, INT32_MAX), 5);
    cr_assert_eq(b[0], 0xfe); cr_assert_eq(b[4], 0x0f);
    cr_assert_eq(rec_write_varint(b, INT32_MIN), 5);
    cr_assert_eq(b[0], 0xff); cr_assert_eq(b[4], 0x0f);
    cr_assert_eq(rec_write_varlong(b, INT64_MIN), 10);
    cr_assert_eq(b[9], 0x01);
}

static void
varint_roundtrip(int32_t v)
{
    uint8_t b[16];
    int32_t out = 0;
    size_t n = rec_write_varint(b, v);
    cr_assert_eq(n, zigzag_size32(v), "size of %d", v);
    cr_assert_eq(rec_read_varint(b, n, &out), n, "read %d", v);
    cr_assert_eq(out, v);
    cr_assert_eq(rec_read_varint(b, sizeof(b), &out), n, "extra bytes after are not consumed");
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(rec_read_varint(b, k, &out), 0, "%d truncated to %zu", v, k);
}

static void
varlong_roundtrip(int64_t v)
{
    uint8_t b[16];
    int64_t out = 0;
    size_t n = rec_write_varlong(b, v);
    cr_assert_eq(n, zigzag_size64(v), "size of %lld", (long long)v);
    cr_assert_eq(rec_read_varlong(b, n, &out), n);
    cr_assert_eq(out, v, "%lld", (long long)v);
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(rec_read_varlong(b, k, &out), 0, "%lld truncated to %zu", (long long)v, k);
}

Test(record, varint_roundtrip_edges_and_random)
{
    int32_t edge[] = { 0, 1, -1, 63, -64, 64, -65, 127, 128, 8191, 8192, -8193,
                       (1 << 20), -(1 << 20), (1 << 27) - 1, 1 << 27, INT32_MAX, INT32_MIN,
                       INT32_MAX - 1, INT32_MIN + 1 };
    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
        varint_roundtrip(edge[i]);
    int64_t ledge[] = { 0, 1, -1, INT32_MAX, INT32_MIN, (int64_t)INT32_MAX + 1,
                        (int64_t)INT32_MIN - 1, INT64_MAX, INT64_MIN, INT64_MAX - 1,
                        INT64_MIN + 1, 1LL << 56, -(1LL << 56), 1LL << 62 };
    for (size_t i = 0; i < sizeof(ledge) / sizeof(ledge[0]); i++)
        varlong_roundtrip(ledge[i]);
    uint64_t r[64];
    for (int round = 0; round < 200; round++) {
        bg_fill((uint8_t *)r, sizeof(r), (uint64_t)round);
        for (int k = 0; k < 64; k++) {
            int shift = k % 64;
            varlong_roundtrip((int64_t)(r[k] >> shift));
            varint_roundtrip((int32_t)(uint32_t)(r[k] >> (shift % 32)));
        }
    }
}

Test(record, varint_overlong_rejected)
{
    int32_t v;
    int64_t lv;
    /* 6-byte varint (continuation on byte 5) */
    uint8_t six[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
    cr_assert_eq(rec_read_varint(six, sizeof(six), &v), 0);
    /* 5-byte varint carrying bits above 32 */
    uint8_t big[] = { 0xff, 0xff, 0xff, 0xff, 0x1f };
    cr_assert_eq(rec_read_varint(big, sizeof(big), &v), 0);
    uint8_t big2[] = { 0x80, 0x80, 0x80, 0x80, 0x10 };
    cr_assert_eq(rec_read_varint(big2, sizeof(big2), &v), 0);
    /* the largest legal 5-byte value */
    uint8_t max5[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
    cr_assert_eq(rec_read_varint(max5, sizeof(max5), &v), 5);
    cr_assert_eq(v, INT32_MIN);
    /* 11-byte varlong */
    uint8_t eleven[11];
    memset(eleven, 0x80, 10);
    eleven[10] = 0x00;
    cr_assert_eq(rec_read_varlong(eleven, sizeof(eleven), &lv), 0);
    /* all continuation bytes, input ends */
    uint8_t cont[10];
    memset(cont, 0xff, sizeof(cont));
    cr_assert_eq(rec_read_varint(cont, sizeof(cont), &v), 0);
    cr_assert_eq(rec_read_varlong(cont, sizeof(cont), &lv), 0);
}

/* ---- record iterator ---- */

Test(record, iterator_good_batch)
{
    struct sl_buf b = SL_BUF_INIT;
    struct bg_batch bb;
    struct bg_header hv[2] = { { "a", 1, "xyz", 3 }, { "b", 1, NULL, -1 } };
    struct bg_record recs[4] = {
        { "key0", 4, "value0", 6, 0, NULL, 0 },
        { NULL, -1, "v1", 2, -5, hv, 2 },
        { "k2", 2, NULL, -1, 1LL << 40, NULL, 0 },
        { "", 0, "", 0, 7, hv, 1 },
    };
    struct rec_batch_hdr h;
    struct rec_iter it;
    struct rec_record r;

    bg_batch_init(&bb, 5000);
    cr_assert_eq(bg_append(&b, &bb, recs, 4, NULL), 0);
    cr_assert_eq(rec_validate_batch(b.data, b.len), 0);
    cr_assert_eq(rec_parse_hdr(b.data, b.len, b.len, &h), 0);
    cr_assert_eq(h.max_timestamp, 5000 + (1LL << 40));
    rec_iter_init(&it, b.data + REC_HDR_LEN, b.len - REC_HDR_LEN, h.record_count);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(rec_iter_next(&it, &r), 1, "record %d", i);
        cr_assert_eq(r.offset_delta, i);
        cr_assert_eq(r.timestamp_delta, recs[i].ts_delta);
        cr_assert_eq(r.key_len, recs[i].key_len);
        cr_assert_eq(r.value_len, recs[i].value_len);
        if (recs[i].key_len < 0) cr_assert_null(r.key);
        else cr_assert_eq(memcmp(r.key, recs[i].key, (size_t)r.key_len), 0);
        if (recs[i].value_len < 0) cr_assert_null(r.value);
        else cr_assert_eq(memcmp(r.value, recs[i].value, (size_t)r.value_len), 0);
        cr_assert_eq(r.header_count, recs[i].header_count);
    }
    /* headers of record 1: "a"->"xyz", "b"->null = 1+1+1+3 + 1+1+1 bytes */
    cr_assert_eq(rec_iter_next(&it, &r), 0, "end");
    cr_assert_eq(rec_iter_next(&it, &r), 0, "end stays end");
    sl_buf_free(&b);
}

Test(record, iterator_header_bytes)
{
    struct sl_buf b = SL_BUF_INIT;
    struct bg_batch bb;
    struct bg_header hv[2] = { { "a", 1, "xyz", 3 }, { "b", 1, NULL, -1 } };
    struct bg_record rec = { "k", 1, "v", 1, 0, hv, 2 };
    struct rec_iter it;
    struct rec_record r;
    bg_batch_init(&bb, 1);
    cr_assert_eq(bg_append(&b, &bb, &rec, 1, NULL), 0);
    rec_iter_init(&it, b.data + REC_HDR_LEN, b.len - REC_HDR_LEN, 1);
    cr_assert_eq(rec_iter_next(&it, &r), 1);
    const uint8_t want[] = { 0x02, 'a', 0x06, 'x', 'y', 'z', 0x02, 'b', 0x01 };
    cr_assert_eq(r.headers_len, sizeof(want));
    cr_assert_eq(memcmp(r.headers, want, sizeof(want)), 0);
    sl_buf_free(&b);
}

/* Truncate the records section at every byte: records wholly inside the
 * cut decode, the next call fails, nothing reads past the end. */
Test(record, iterator_truncated_at_every_byte)
{
    struct sl_buf b = SL_BUF_INIT;
    struct rec_batch_hdr h;
    cr_assert_eq(bg_append_simple(&b, 1, 1, 6, 5, 20, 2, 3), 0);
    cr_assert_eq(rec_parse_hdr(b.data, b.len, b.len, &h), 0);
    const uint8_t *sec = b.data + REC_HDR_LEN;
    size_t seclen = b.len - REC_HDR_LEN;
    /* record end positions */
    size_t ends[6];
    {
        struct rec_iter it;
        struct rec_record r;
        rec_iter_init(&it, sec, seclen, 6);
        for (int i = 0; i < 6; i++) {
            cr_assert_eq(rec_iter_next(&it, &r), 1);
            ends[i] = (size_t)(it.p - sec);
        }
        cr_assert_eq(ends[5], seclen);
    }
    for (size_t cut = 0; cut < seclen; cut++) {
        struct guard g;
        const uint8_t *p = guard_copy(&g, sec, cut);
        struct rec_iter it;
        struct rec_record r;
        int whole = 0, rc;
        while (whole < 6 && ends[whole] <= cut)
            whole++;
        rec_iter_init(&it, p, cut, 6);
        int got = 0;
        while ((rc = rec_iter_next(&it, &r)) == 1)
            got++;
        cr_assert_eq(got, whole, "cut %zu: %d records decoded, %d whole", cut, got, whole);
        cr_assert_eq(rc, -1, "cut %zu must end in an error", cut);
        guard_free(&g);
    }
    sl_buf_free(&b);
}

/* Encode one record body by hand. */
static size_t
raw_record(uint8_t *out, const uint8_t *body, size_t bodylen)
{
    size_t n = rec_write_varint(out, (int32_t)bodylen);
    memcpy(out + n, body, bodylen);
    return n + bodylen;
}

static int
iter_one(const uint8_t *p, size_t len, struct rec_record *r)
{
    struct guard g;
    struct rec_iter it;
    const uint8_t *gp = guard_copy(&g, p, len);
    rec_iter_init(&it, gp, len, 1);
    int rc = rec_iter_next(&it, r);
    guard_free(&g);
    return rc;
}

Test(record, iterator_malformed_records)
{
    struct rec_record r;
    uint8_t rec[64];
    /* good: attr 0, ts 0, od 0, key null, value "v", 0 headers */
    const uint8_t good[] = { 0x00, 0x00, 0x00, 0x01, 0x02, 'v', 0x00 };
    cr_assert_eq(iter_one(rec, raw_record(rec, good, sizeof(good)), &r), 1);
    cr_assert_eq(r.key_len, -1);
    cr_assert_eq(r.value_len, 1);

    const uint8_t neg_len[] = { 0x01 };                     /* record length -1 */
    cr_assert_eq(iter_one(neg_len, sizeof(neg_len), &r), -1);
    const uint8_t zero_len[] = { 0x00 };                    /* record length 0 */
    cr_assert_eq(iter_one(zero_len, sizeof(zero_len), &r), -1);
    const uint8_t key_m2[] = { 0x00, 0x00, 0x00, 0x03, 0x01, 0x00 };  /* key length -2 */
    cr_assert_eq(iter_one(rec, raw_record(rec, key_m2, sizeof(key_m2)), &r), -1);
    const uint8_t key_long[] = { 0x00, 0x00, 0x00, 0x14, 'a', 'b', 0x01, 0x00 }; /* key 10 > rest */
    cr_assert_eq(iter_one(rec, raw_record(rec, key_long, sizeof(key_long)), &r), -1);
    const uint8_t val_long[] = { 0x00, 0x00, 0x00, 0x01, 0x7e, 'v', 0x00 };    /* value 63 */
    cr_assert_eq(iter_one(rec, raw_record(rec, val_long, sizeof(val_long)), &r), -1);
    const uint8_t hdr_neg[] = { 0x00, 0x00, 0x00, 0x01, 0x01, 0x01 };          /* header count -1 */
    cr_assert_eq(iter_one(rec, raw_record(rec, hdr_neg, sizeof(hdr_neg)), &r), -1);
    const uint8_t hdr_nullkey[] = { 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x01, 0x01 }; /* header key null */
    cr_assert_eq(iter_one(rec, raw_record(rec, hdr_nullkey, sizeof(hdr_nullkey)), &r), -1);
    const uint8_t hdr_missing[] = { 0x00, 0x00, 0x00, 0x01, 0x01, 0x04, 0x02, 'a', 0x01 }; /* 2 hdrs, 1 there */
    cr_assert_eq(iter_one(rec, raw_record(rec, hdr_missing, sizeof(hdr_missing)), &r), -1);
    const uint8_t trailing[] = { 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0xAA };   /* byte left in record */
    cr_assert_eq(iter_one(rec, raw_record(rec, trailing, sizeof(trailing)), &r), -1);
    /* record length larger than the section */
    uint8_t over[] = { 0x7e, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00 };
    cr_assert_eq(iter_one(over, sizeof(over), &r), -1);
    /* overlong varint in the timestamp delta: 11 continuation bytes */
    uint8_t badts[20];
    size_t n = 0;
    badts[n++] = 0x00;
    for (int i = 0; i < 11; i++) badts[n++] = 0x80;
    badts[n++] = 0x00;
    badts[n++] = 0x00; badts[n++] = 0x01; badts[n++] = 0x01; badts[n++] = 0x00;
    cr_assert_eq(iter_one(rec, raw_record(rec, badts, n), &r), -1);
    /* empty section but count 1 */
    cr_assert_eq(iter_one(rec, 0, &r), -1);
}

/* ---- rec_validate_batch ---- */

Test(record, validate_good_variants)
{
    struct sl_buf b = SL_BUF_INIT;
    int32_t ns[] = { 1, 2, 17, 500 };
    for (size_t i = 0; i < 4; i++) {
        for (int32_t kl = -1; kl <= 8; kl += 9) {
            for (int32_t vl = -1; vl <= 300; vl += 301) {
                sl_buf_reset(&b);
                cr_assert_eq(bg_append_simple(&b, 1234, 3, ns[i], kl, vl, (int32_t)i, ns[i]), 0);
                cr_assert_eq(rec_validate_batch(b.data, b.len), 0, "n %d kl %d vl %d", ns[i], kl, vl);
            }
        }
    }
    sl_buf_free(&b);
}

Test(record, validate_rejects)
{
    struct sl_buf b = SL_BUF_INIT;
    cr_assert_eq(bg_append_simple(&b, 1234, 3, 4, 3, 10, 1, 9), 0);
    size_t size = b.len;
    uint8_t *x = malloc(size + 16);

    /* bad CRC: flip each covered byte in turn */
    for (size_t i = REC_OFF_ATTRIBUTES; i < size; i += 3) {
        memcpy(x, b.data, size);
        x[i] ^= 0x10;
        cr_assert_eq(rec_validate_batch(x, size), SL_ERR_CORRUPT_MESSAGE, "flip at %zu", i);
    }
    memcpy(x, b.data, size);
    x[REC_OFF_CRC] ^= 1;
    cr_assert_eq(rec_validate_batch(x, size), SL_ERR_CORRUPT_MESSAGE, "stored CRC wrong");

    /* base offset and leader epoch are not covered */
    memcpy(x, b.data, size);
    rec_set_base_offset(x, 123456789);
    rec_set_leader_epoch(x, 42);
    cr_assert_eq(rec_validate_batch(x, size), 0);

    /* record count != last offset delta + 1 */
    memcpy(x, b.data, size);
    rec_put_u32(x + REC_OFF_RECORD_COUNT, 5);
    fix_crc(x, size);
    cr_assert_eq(rec_validate_batch(x, size), SL_ERR_INVALID_RECORD);
    memcpy(x, b.data, size);
    rec_put_u32(x + REC_OFF_LAST_OFFSET_DELTA, 2);
    fix_crc(x, size);
    cr_assert_eq(rec_validate_batch(x, size), SL_ERR_INVALID_RECORD);
    memcpy(x, b.data, size);
    rec_put_u32(x + REC_OFF_RECORD_COUNT, 0);
    rec_put_u32(x + REC_OFF_LAST_OFFSET_DELTA, 0);
    fix_crc(x, size);
    cr_assert_neq(rec_validate_batch(x, size), 0, "zero records");

    /* declared 5 (consistently) but 4 present */
    memcpy(x, b.data, size);
    rec_put_u32(x + REC_OFF_RECORD_COUNT, 5);
    rec_put_u32(x + REC_OFF_LAST_OFFSET_DELTA, 4);
    fix_crc(x, size);
    int rc = rec_validate_batch(x, size);
    cr_assert(rc == SL_ERR_CORRUPT_MESSAGE || rc == SL_ERR_INVALID_RECORD, "fewer records: %d", rc);
    /* declared 3 but 4 present */
    memcpy(x, b.data, size);
    rec_put_u32(x + REC_OFF_RECORD_COUNT, 3);
    rec_put_u32(x + REC_OFF_LAST_OFFSET_DELTA, 2);
    fix_crc(x, size);
    rc = rec_validate_batch(x, size);
    cr_assert(rc == SL_ERR_CORRUPT_MESSAGE || rc == SL_ERR_INVALID_RECORD, "more records: %d", rc);

    /* trailing garbage inside the batch length */
    memcpy(x, b.data, size);
    x[size] = 0x00;
    rec_put_u32(x + REC_OFF_LENGTH, (uint32_t)(size + 1 - REC_LOG_OVERHEAD));
    fix_crc(x, size + 1);
    rc = rec_validate_batch(x, size + 1);
    cr_assert(rc == SL_ERR_CORRUPT_MESSAGE || rc == SL_ERR_INVALID_RECORD, "trailing byte: %d", rc);

    /* size given disagrees with length field */
    cr_assert_eq(rec_validate_batch(b.data, size - 1), SL_ERR_CORRUPT_MESSAGE);
    memcpy(x, b.data, size);
    x[size] = 0;
    cr_assert_eq(rec_validate_batch(x, size + 1), SL_ERR_CORRUPT_MESSAGE);
    /* shorter than a header */
    for (size_t n = 0; n < REC_HDR_LEN; n++)
        cr_assert_eq(rec_validate_batch(b.data, n), SL_ERR_CORRUPT_MESSAGE, "size %zu", n);
    /* bad magic */
    memcpy(x, b.data, size);
    x[REC_OFF_MAGIC] = 1;
    cr_assert_eq(rec_validate_batch(x, size), SL_ERR_CORRUPT_MESSAGE);
    free(x);
    sl_buf_free(&b);
}

Test(record, validate_offset_deltas)
{
    struct sl_buf b = SL_BUF_INIT;
    struct bg_batch bb;
    struct bg_record recs[2] = { { NULL, -1, "a", 1, 0, NULL, 0 }, { NULL, -1, "b", 1, 0, NULL, 0 } };
    bg_batch_init(&bb, 0);
    cr_assert_eq(bg_append(&b, &bb, recs, 2, NULL), 0);
    /* record 0: [len][attr][ts][od][key -1][vlen][v][hc] = body 7 bytes */
    size_t r1 = REC_HDR_LEN + 1 + 7;
    cr_assert_eq(b.data[REC_HDR_LEN], 7 << 1);
    cr_assert_eq(b.data[r1 + 3], 0x02, "offset delta 1");
    b.data[r1 + 3] = 0x0a;                       /* offset delta 5 */
    fix_crc(b.data, b.len);
    cr_assert_eq(rec_validate_batch(b.data, b.len), SL_ERR_INVALID_RECORD);
    b.data[r1 + 3] = 0x00;                       /* duplicate delta 0 */
    fix_crc(b.data, b.len);
    cr_assert_eq(rec_validate_batch(b.data, b.len), SL_ERR_INVALID_RECORD);
    sl_buf_free(&b);
}

Test(record, validate_compressed_header_only)
{
    struct sl_buf b = SL_BUF_INIT;
    cr_assert_eq(bg_append_simple(&b, 0, 0, 3, 2, 2, 0, 5), 0);
    /* gzip attribute over an uncompressed payload: checked at header level only */
    rec_put_u16(b.data + REC_OFF_ATTRIBUTES, REC_CODEC_GZIP);
    fix_crc(b.data, b.len);
    cr_assert_eq(rec_validate_batch(b.data, b.len), 0);
    rec_put_u16(b.data + REC_OFF_ATTRIBUTES, 5);
    fix_crc(b.data, b.len);
    cr_assert_eq(rec_validate_batch(b.data, b.len), SL_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    rec_put_u16(b.data + REC_OFF_ATTRIBUTES, 7);
    fix_crc(b.data, b.len);
    cr_assert_eq(rec_validate_batch(b.data, b.len), SL_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    sl_buf_free(&b);
}

/* Validation runs over exact-size guard copies of truncations: never faults. */
Test(record, validate_truncated_never_overreads)
{
    struct sl_buf b = SL_BUF_INIT;
    cr_assert_eq(bg_append_simple(&b, 0, 1, 5, 4, 30, 1, 6), 0);
    for (size_t n = 0; n < b.len; n++) {
        struct guard g;
        uint8_t *p = guard_copy(&g, b.data, n);
        cr_assert_neq(rec_validate_batch(p, n), 0, "truncated to %zu", n);
        struct rec_batch_hdr h;
        int rc = rec_parse_hdr(p, n, 1 << 20, &h);
        cr_assert_eq(rc, n < REC_HDR_LEN ? SL_ERR__UNDERFLOW : 0, "n %zu", n);
        cr_assert_eq(rec_crc_ok(p, n), 0);
        guard_free(&g);
    }
    sl_buf_free(&b);
}

Test(record, log_append_time_keeps_crc)
{
    struct sl_buf b = SL_BUF_INIT;
    struct rec_batch_hdr h;
    cr_assert_eq(bg_append_simple(&b, 1000, 1, 3, 1, 4, 0, 8), 0);
    rec_put_u16(b.data + REC_OFF_ATTRIBUTES, REC_ATTR_TRANSACTIONAL);
    fix_crc(b.data, b.len);
    rec_set_log_append_time(b.data, b.len, 987654321);
    cr_assert(rec_crc_ok(b.data, b.len));
    cr_assert_eq(rec_validate_batch(b.data, b.len), 0);
    cr_assert_eq(rec_parse_hdr(b.data, b.len, b.len, &h), 0);
    cr_assert_eq(h.max_timestamp, 987654321);
    cr_assert_eq(h.base_timestamp, 1000, "base timestamp untouched");
    cr_assert(h.attributes & REC_ATTR_LOG_APPEND_TIME);
    cr_assert(h.attributes & REC_ATTR_TRANSACTIONAL, "other bits kept");
    cr_assert_eq(h.attributes & REC_ATTR_CODEC_MASK, 0);
    /* idempotent */
    rec_set_log_append_time(b.data, b.len, 5);
    cr_assert(rec_crc_ok(b.data, b.len));
    cr_assert_eq(rec_parse_hdr(b.data, b.len, b.len, &h), 0);
    cr_assert_eq(h.max_timestamp, 5);
    sl_buf_free(&b);
}

Test(record, accessors_big_endian)
{
    uint8_t b[8];
    rec_put_u64(b, 0x0102030405060708ull);
    cr_assert_eq(b[0], 1);
    cr_assert_eq(b[7], 8);
    cr_assert_eq(rec_get_u64(b), 0x0102030405060708ull);
    cr_assert_eq(rec_get_i64(b), 0x0102030405060708ll);
    rec_put_u32(b, 0xfffffffe);
    cr_assert_eq(rec_get_i32(b), -2);
    rec_put_u16(b, 0x8001);
    cr_assert_eq(rec_get_i16(b), (int16_t)0x8001);
    cr_assert_eq(rec_get_u16(b), 0x8001);
}

/* The support walker itself: what later suites rely on. */
Test(record, batchgen_walk_det)
{
    struct sl_buf b = SL_BUF_INIT;
    struct bg_walk w;
    cr_assert_eq(bg_append_det(&b, 0, 3, 10), 0);
    cr_assert_eq(bg_append_det(&b, 3, 5, -100), 0);
    cr_assert_eq(bg_walk(b.data, b.len, 0, &w), 0, "%s", w.msg);
    cr_assert_eq(w.nbatches, 2);
    cr_assert_eq(w.nrecs, 8);
    cr_assert(w.contiguous);
    for (size_t i = 0; i < 8; i++) {
        cr_assert_eq(w.recs[i].offset, (int64_t)i);
        cr_assert(bg_det_check(&w.recs[i], i < 3 ? 10 : -100, 1), "rec %zu", i);
    }
    cr_assert_eq(w.hdrs[1].max_timestamp, bg_det_ts(7));
    bg_walk_free(&w);
    cr_assert_neq(bg_walk(b.data, b.len - 1, 0, &w), 0);
    bg_walk_free(&w);
    cr_assert_eq(bg_walk(b.data, b.len - 1, 1, &w), 0);
    cr_assert_eq(w.nbatches, 1);
    cr_assert(w.has_tail_hdr);
    cr_assert_eq(w.tail_hdr.base_offset, 3);
    bg_walk_free(&w);
    sl_buf_free(&b);
}
