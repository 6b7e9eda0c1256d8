/* tests/test_recwalk.c -- storage/recwalk.c, the check-only record walk.
 *
 * Its contract is to answer exactly what walking with rec_iter_next and
 * checking offset deltas answers (the walk codec.c did before), so most
 * tests compare the two: on valid sections of many shapes, on every
 * truncation (over a guard page, so an over-read faults), on every
 * single-byte change at every position, and on random bytes. Then the
 * malformed cases one by one with their expected codes.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "storage/buf.h"
#include "storage/err.h"
#include "storage/record.h"
#include "storage/recwalk.h"
#include "tests/support/batchgen.h"
#include "tests/support/guardbuf.h"

TestSuite(recwalk, .timeout = 120);

/* The reference: rec_iter walk with the same verdicts (codec.c's old walk). */
static int
ref_walk(const uint8_t *p, size_t len, int32_t count)
{
    struct rec_iter it;
    struct rec_record r;
    int32_t expect = 0;
    int got;

    if (len == 0)
        return SL_ERR_CORRUPT_MESSAGE;
    rec_iter_init(&it, p, len, count);
    while ((got = rec_iter_next(&it, &r)) == 1) {
        if (r.offset_delta != expect++)
            return SL_ERR_INVALID_RECORD;
    }
    if (got < 0 || it.p != it.end || expect != count)
        return SL_ERR_CORRUPT_MESSAGE;
    return 0;
}


/* Both walks over a guarded copy; they must agree. Returns the verdict. */
static int
same_verdict(const uint8_t *p, size_t len, int32_t count, const char *what, size_t at)
{
    struct guardbuf g;
    uint8_t *q = guardbuf_new(&g, p, len);
    int want, got;

    cr_assert(q);
    want = ref_walk(q, len, count);
    got = recwalk_check(q, len, count);
    cr_assert_eq(got, want, "%s (at %zu, len %zu, count %d): recwalk %d, rec_iter %d",
                 what, at, len, count, got, want);
    guardbuf_free(&g);
    return got;
}

/* A records section (no batch header) of varied records. */
static void
varied_section(struct sl_buf *out, int32_t n, uint64_t seed, int small)
{
    struct sl_buf b = SL_BUF_INIT;
    struct bg_batch bb;
    struct bg_record *recs = calloc((size_t)n, sizeof(*recs));
    static const struct bg_header hdrs[3] = {
        { "trace", 5, "abc", 3 }, { "", 0, NULL, -1 }, { "k", 1, "", 0 },
    };
    static uint8_t blob[20000];
    cr_assert(recs);
    bg_fill(blob, sizeof(blob), seed);
    bg_batch_init(&bb, 1700000000000LL);
    for (int32_t i = 0; i < n; i++) {
        uint64_t r = bg_rand(&seed);
        recs[i].key = blob;
        recs[i].key_len = (int32_t)(r % 5) == 0 ? -1 : (int32_t)(r % 40);
        recs[i].value = blob + 100;
        switch ((r >> 8) % 6) {
        case 0: recs[i].value_len = -1; break;                       /* tombstone */
        case 1: recs[i].value_len = 0; break;
        case 2: recs[i].value_len = 63; break;                       /* 1-byte varint edge */
        case 3: recs[i].value_len = 64; break;                       /* 2-byte varint */
        case 4:                                                      /* 3-byte */
            recs[i].value_len = !small ? 8192 + (int32_t)(r >> 20) % 9000 : i == 3 ? 8192 : 100;
            break;
        default: recs[i].value_len = (int32_t)((r >> 16) % 300); break;
        }
        /* timestamp deltas: 0, small, negative, large (long varlongs) */
        recs[i].ts_delta = (r >> 24) % 4 == 0 ? 0 : (r >> 24) % 4 == 1 ? (int64_t)i
                         : (r >> 24) % 4 == 2 ? -(int64_t)(r >> 40) : (int64_t)(r >> 3);
        recs[i].headers = hdrs;
        recs[i].header_count = (int32_t)((r >> 32) % 4);
    }
    cr_assert_eq(bg_append(&b, &bb, recs, n, NULL), 0);
    sl_buf_reset(out);
    sl_buf_append(out, b.data + REC_HDR_LEN, b.len - REC_HDR_LEN);
    sl_buf_free(&b);
    free(recs);
}

Test(recwalk, valid_sections_accepted)
{
    struct sl_buf s = SL_BUF_INIT;
    static const int32_t counts[] = { 1, 2, 7, 64, 200, 1000 };

    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        for (uint64_t seed = 1; seed <= 5; seed++) {
            varied_section(&s, counts[c], seed * 31 + (uint64_t)c, 0);
            cr_assert_eq(same_verdict(s.data, s.len, counts[c], "valid", 0), 0);
            /* the wrong count either way */
            cr_assert_eq(same_verdict(s.data, s.len, counts[c] + 1, "count+1", 0),
                         SL_ERR_CORRUPT_MESSAGE);
            cr_assert_eq(same_verdict(s.data, s.len, counts[c] - 1, "count-1", 0),
                         SL_ERR_CORRUPT_MESSAGE);
        }
    }
    /* the simple generator too (what the other suites use) */
    sl_buf_reset(&s);
    cr_assert_eq(bg_append_simple(&s, 1000, 3, 300, 8, 200, 2, 7), 0);
    cr_assert_eq(recwalk_check(s.data + REC_HDR_LEN, s.len - REC_HDR_LEN, 300), 0);
    sl_buf_free(&s);
}

Test(recwalk, truncated_at_every_byte)
{
    struct sl_buf s = SL_BUF_INIT;

    varied_section(&s, 40, 77, 0);
    for (size_t cut = 0; cut < s.len; cut++)
        cr_assert_eq(same_verdict(s.data, cut, 40, "truncated", cut), SL_ERR_CORRUPT_MESSAGE);
    sl_buf_free(&s);
}

/* Every position, a set of replacement bytes that hit every varint form;
 * and a byte inserted or removed there. Each input ends at a guard page
 * (one mapping per length, changed in place). */
Test(recwalk, every_byte_changed)
{
    static const uint8_t vals[] = { 0x00, 0x01, 0x02, 0x03, 0x7e, 0x7f, 0x80, 0x81, 0x8f,
                                    0x0f, 0x10, 0xfe, 0xff };
    struct sl_buf s = SL_BUF_INIT;
    struct guardbuf g0, gi, gr;
    uint8_t *p0, *pi, *pr;
    int verdicts[3] = { 0, 0, 0 };

    varied_section(&s, 24, 5, 1);
    cr_assert_eq(ref_walk(s.data, s.len, 24), 0);
    p0 = guardbuf_new(&g0, s.data, s.len);
    pi = guardbuf_new(&gi, s.data, s.len + 1);    /* contents rewritten below */
    pr = guardbuf_new(&gr, s.data, s.len - 1);
    cr_assert(p0 && pi && pr);
    for (size_t at = 0; at < s.len; at++) {
        uint8_t orig = p0[at];
        for (size_t v = 0; v < sizeof(vals); v++) {
            if (orig == vals[v])
                continue;
            p0[at] = vals[v];
            int want = ref_walk(p0, s.len, 24), rc = recwalk_check(p0, s.len, 24);
            cr_assert_eq(rc, want, "byte %zu = 0x%02x: recwalk %d, rec_iter %d", at, vals[v],
                         rc, want);
            verdicts[rc == 0 ? 0 : rc == SL_ERR_INVALID_RECORD ? 1 : 2]++;
        }
        p0[at] = orig;
        memcpy(pi, s.data, at);
        pi[at] = 0x02;
        memcpy(pi + at + 1, s.data + at, s.len - at);
        cr_assert_eq(recwalk_check(pi, s.len + 1, 24), ref_walk(pi, s.len + 1, 24),
                     "inserted at %zu", at);
        memcpy(pr, s.data, at);
        memcpy(pr + at, s.data + at + 1, s.len - at - 1);
        cr_assert_eq(recwalk_check(pr, s.len - 1, 24), ref_walk(pr, s.len - 1, 24),
                     "removed at %zu", at);
    }
    /* the mutations reached all three verdicts */
    cr_assert_gt(verdicts[0], 0);
    cr_assert_gt(verdicts[1], 0);
    cr_assert_gt(verdicts[2], 0);
    guardbuf_free(&g0);
    guardbuf_free(&gi);
    guardbuf_free(&gr);
    sl_buf_free(&s);
}

Test(recwalk, random_bytes)
{
    uint64_t seed = 12345;
    struct guardbuf g;
    uint8_t zero[96] = { 0 };
    uint8_t *buf = guardbuf_new(&g, zero, sizeof(zero));   /* one mapping, reused */

    cr_assert(buf);
    for (int iter = 0; iter < 200000; iter++) {
        size_t n = 1 + bg_rand(&seed) % sizeof(zero);
        uint8_t *p = buf + sizeof(zero) - n;               /* ends at the guard page */
        int32_t count = 1 + (int32_t)(bg_rand(&seed) % 4);
        for (size_t i = 0; i < n; i++) {
            uint64_t r = bg_rand(&seed);
            /* mostly small bytes, so that records often parse a while */
            p[i] = (uint8_t)((r & 3) == 0 ? r >> 8 : (r >> 8) % 24);
        }
        cr_assert_eq(recwalk_check(p, n, count), ref_walk(p, n, count), "random %d", iter);
    }
    guardbuf_free(&g);
}

/* ---- hand-made records ---- */


/* One record: body fields given as raw bytes, length prefix computed
 * (plus len_adjust, to lie about it). */
static void
put_rec(struct sl_buf *out, const struct sl_buf *body, int32_t len_adjust)
{
    bg_put_varint(out, (int32_t)body->len + len_adjust);
    sl_buf_append(out, body->data, body->len);
}

/* A well-formed body: attributes 0, ts delta 0, offset delta, key "k",
 * value "val", no headers. */
static void
good_body(struct sl_buf *b, int32_t delta)
{
    sl_buf_reset(b);
    sl_buf_append(b, "\0", 1);
    bg_put_varlong(b, 0);
    bg_put_varint(b, delta);
    bg_put_varint(b, 1);
    sl_buf_append(b, "k", 1);
    bg_put_varint(b, 3);
    sl_buf_append(b, "val", 3);
    bg_put_varint(b, 0);
}

static int
check(const struct sl_buf *s, int32_t count)
{
    return same_verdict(s->data, s->len, count, "hand-made", 0);
}

Test(recwalk, hand_made_cases)
{
    struct sl_buf s = SL_BUF_INIT, b = SL_BUF_INIT;

    /* two good records */
    good_body(&b, 0);
    put_rec(&s, &b, 0);
    good_body(&b, 1);
    put_rec(&s, &b, 0);
    cr_assert_eq(check(&s, 2), 0);

    /* empty section, zero / negative count */
    cr_assert_eq(recwalk_check(s.data, 0, 1), SL_ERR_CORRUPT_MESSAGE);
    cr_assert_eq(recwalk_check(s.data, s.len, 0), SL_ERR_CORRUPT_MESSAGE);
    cr_assert_eq(recwalk_check(s.data, s.len, -1), SL_ERR_CORRUPT_MESSAGE);

    /* offset delta 1 for the first record: INVALID_RECORD */
    sl_buf_reset(&s);
    good_body(&b, 1);
    put_rec(&s, &b, 0);
    cr_assert_eq(check(&s, 1), SL_ERR_INVALID_RECORD);
    /* ... but a record that is also malformed is CORRUPT (parsed first) */
    sl_buf_reset(&s);
    good_body(&b, 1);
    sl_buf_append(&b, "x", 1);                 /* a byte past the headers */
    put_rec(&s, &b, 0);
    cr_assert_eq(check(&s, 1), SL_ERR_CORRUPT_MESSAGE);
    /* a good record with a wrong delta before a malformed one: INVALID */
    sl_buf_reset(&s);
    good_body(&b, 5);
    put_rec(&s, &b, 0);
    sl_buf_append(&s, "\xff\xff", 2);
    cr_assert_eq(check(&s, 2), SL_ERR_INVALID_RECORD);
    /* negative offset delta */
    sl_buf_reset(&s);
    good_body(&b, -1);
    put_rec(&s, &b, 0);
    cr_assert_eq(check(&s, 1), SL_ERR_INVALID_RECORD);

    /* record length lies: one short, one long, zero, negative */
    for (int adj = -1; adj <= 1; adj += 2) {
        sl_buf_reset(&s);
        good_body(&b, 0);
        put_rec(&s, &b, adj);
        sl_buf_append(&s, "\0", 1);
        cr_assert_eq(check(&s, 1), SL_ERR_CORRUPT_MESSAGE, "adj %d", adj);
    }
    sl_buf_reset(&s);
    bg_put_varint(&s, 0);
    cr_assert_eq(check(&s, 1), SL_ERR_CORRUPT_MESSAGE);
    sl_buf_reset(&s);
    bg_put_varint(&s, -5);
    sl_buf_append(&s, "\0\0\0\0\0", 5);
    cr_assert_eq(check(&s, 1), SL_ERR_CORRUPT_MESSAGE);

    /* varint forms of the length: 5 bytes fitting 32 bits (ok as a form,
     * too long here), 5th byte 0x10 (> 32 bits), 6 bytes */
    sl_buf_reset(&s);
    sl_buf_append(&s, "\x80\x80\x80\x80\x0f", 5);
    cr_assert_eq(check(&s, 1), SL_ERR_CORRUPT_MESSAGE);
    sl_buf_reset(&s);
    sl_buf_append(&s, "\x80\x80\x80\x80\x10", 5);
    cr_assert_eq(check(&s, 1), SL_ERR_CORRUPT_MESSAGE);
    /* an overlong but valid encoding of a small length is accepted by both */
    sl_buf_reset(&s);
    good_body(&b, 0);
    sl_buf_append(&s, (uint8_t[]){ (uint8_t)(b.len * 2) | 0x80, 0x80, 0x80, 0x80, 0x00 }, 5);
    sl_buf_append(&s, b.data, b.len);
    cr_assert_eq(check(&s, 1), 0);

    /* offset delta as an overlong 5-byte varint: accepted form */
    sl_buf_reset(&s);
    sl_buf_reset(&b);
    sl_buf_append(&b, "\0", 1);
    bg_put_varlong(&b, 0);
    sl_buf_append(&b, "\x80\x80\x80\x80\x00", 5);   /* 0 */
    bg_put_varint(&b, -1);                                 /* null key */
    bg_put_varint(&b, -1);                                 /* null value */
    bg_put_varint(&b, 0);
    put_rec(&s, &b, 0);
    cr_assert_eq(check(&s, 1), 0);
    /* ... as 5 bytes whose value needs 33 bits (5th byte 0x10, low 32
     * bits 0): corrupt */
    sl_buf_reset(&s);
    sl_buf_reset(&b);
    sl_buf_append(&b, "\0", 1);
    bg_put_varlong(&b, 0);
    sl_buf_append(&b, "\x80\x80\x80\x80\x10", 5);
    bg_put_varint(&b, -1);
    bg_put_varint(&b, -1);
    bg_put_varint(&b, 0);
    put_rec(&s, &b, 0);
    cr_assert_eq(check(&s, 1), SL_ERR_CORRUPT_MESSAGE);
    /* ... and as a 6-byte one: corrupt */
    sl_buf_reset(&s);
    sl_buf_reset(&b);
    sl_buf_append(&b, "\0", 1);
    bg_put_varlong(&b, 0);
    sl_buf_append(&b, "\x80\x80\x80\x80\x80\x00", 6);
    bg_put_varint(&b, -1);
    bg_put_varint(&b, -1);
    bg_put_varint(&b, 0);
    put_rec(&s, &b, 0);
    cr_assert_eq(check(&s, 1), SL_ERR_CORRUPT_MESSAGE);

    /* timestamp delta: 10-byte varlong ok, 11 bytes corrupt */
    for (int extra = 0; extra <= 1; extra++) {
        sl_buf_reset(&s);
        sl_buf_reset(&b);
        sl_buf_append(&b, "\0", 1);
        sl_buf_append(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff", 9);
        if (extra)
            sl_buf_append(&b, "\xff", 1);
        sl_buf_append(&b, "\x01", 1);
        bg_put_varint(&b, 0);
        bg_put_varint(&b, -1);
        bg_put_varint(&b, -1);
        bg_put_varint(&b, 0);
        put_rec(&s, &b, 0);
        cr_assert_eq(check(&s, 1), extra ? SL_ERR_CORRUPT_MESSAGE : 0, "extra %d", extra);
    }

    /* key length -2, key longer than the record */
    for (int k = 0; k < 2; k++) {
        sl_buf_reset(&s);
        sl_buf_reset(&b);
        sl_buf_append(&b, "\0", 1);
        bg_put_varlong(&b, 0);
        bg_put_varint(&b, 0);
        bg_put_varint(&b, k == 0 ? -2 : 50);
        bg_put_varint(&b, -1);
        bg_put_varint(&b, 0);
        put_rec(&s, &b, 0);
        sl_buf_append(&s, "0123456789012345678901234567890123456789012345678901234567", 58);
        cr_assert_eq(check(&s, 1), SL_ERR_CORRUPT_MESSAGE, "key case %d", k);
    }

    /* headers: null value ok, null key corrupt, negative count corrupt,
     * huge count corrupt, header running past the record corrupt */
    for (int h = 0; h < 5; h++) {
        sl_buf_reset(&s);
        sl_buf_reset(&b);
        sl_buf_append(&b, "\0", 1);
        bg_put_varlong(&b, 0);
        bg_put_varint(&b, 0);
        bg_put_varint(&b, -1);
        bg_put_varint(&b, -1);
        switch (h) {
        case 0: bg_put_varint(&b, 1); bg_put_varint(&b, 1); sl_buf_append(&b, "h", 1); bg_put_varint(&b, -1); break;
        case 1: bg_put_varint(&b, 1); bg_put_varint(&b, -1); bg_put_varint(&b, 0); break;
        case 2: bg_put_varint(&b, -1); break;
        case 3: bg_put_varint(&b, INT32_MAX); bg_put_varint(&b, 0); bg_put_varint(&b, 0); break;
        default: bg_put_varint(&b, 1); bg_put_varint(&b, 1); sl_buf_append(&b, "h", 1); bg_put_varint(&b, 9); break;
        }
        put_rec(&s, &b, 0);
        cr_assert_eq(check(&s, 1), h == 0 ? 0 : SL_ERR_CORRUPT_MESSAGE, "header case %d", h);
    }

    /* trailing byte after the last record; one record missing */
    sl_buf_reset(&s);
    good_body(&b, 0);
    put_rec(&s, &b, 0);
    sl_buf_append(&s, "\0", 1);
    cr_assert_eq(check(&s, 1), SL_ERR_CORRUPT_MESSAGE);
    s.len--;
    cr_assert_eq(check(&s, 2), SL_ERR_CORRUPT_MESSAGE);
    sl_buf_free(&s);
    sl_buf_free(&b);
}
