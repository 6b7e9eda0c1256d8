/* tests/test_proto.c -- server/proto.c: primitives round-trip in classic and
 * flexible modes, boundaries, hostile counts and lengths, truncation at
 * every byte over guard-page buffers, tagged fields, request headers.
 */
#include <criterion/criterion.h>
#include <string.h>
#include "server/proto.h"
#include "storage/err.h"
#include "tests/support/guardbuf.h"

static struct sl_buf buf;

static void setup(void) { sl_buf_init(&buf); }
static void teardown(void) { sl_buf_free(&buf); }

TestSuite(proto, .init = setup, .fini = teardown, .timeout = 10);

/* Reader over the buffer's bytes, copied to a guard page (kept in *g). */
static void
reader_over(struct pr_reader *r, struct guardbuf *g, const void *p, size_t len, int flex)
{
    uint8_t *q = guardbuf_new(g, p, len);
    cr_assert_not_null(q);
    pr_reader_init(r, q, len, flex);
}

static void
roundtrip_all(int flex)
{
    struct pr_writer w;
    struct pr_reader r;
    struct guardbuf g;
    struct sl_slice s;
    int isnull;
    uint8_t uuid[16], uuid2[16];
    char longstr[1000];
    int32_t n;

    for (int i = 0; i < 16; i++)
        uuid[i] = (uint8_t)(i * 17 + 1);
    memset(longstr, 'x', sizeof(longstr) - 1);
    longstr[sizeof(longstr) - 1] = 0;

    sl_buf_reset(&buf);
    pr_writer_init(&w, &buf, flex);
    pr_write_i8(&w, -128);
    pr_write_i8(&w, 127);
    pr_write_i16(&w, INT16_MIN);
    pr_write_i16(&w, INT16_MAX);
    pr_write_i32(&w, INT32_MIN);
    pr_write_i32(&w, INT32_MAX);
    pr_write_i64(&w, INT64_MIN);
    pr_write_i64(&w, INT64_MAX);
    pr_write_u32(&w, UINT32_MAX);
    pr_write_uvarint(&w, 0);
    pr_write_uvarint(&w, 127);
    pr_write_uvarint(&w, 128);
    pr_write_uvarint(&w, UINT32_MAX);
    pr_write_varint(&w, 0);
    pr_write_varint(&w, -1);
    pr_write_varint(&w, INT32_MIN);
    pr_write_varint(&w, INT32_MAX);
    pr_write_varlong(&w, INT64_MIN);
    pr_write_varlong(&w, INT64_MAX);
    pr_write_varlong(&w, -300);
    pr_write_bool(&w, 1);
    pr_write_bool(&w, 0);
    pr_write_uuid(&w, uuid);
    pr_write_string(&w, NULL);
    pr_write_string(&w, "");
    pr_write_string(&w, "hello");
    pr_write_string(&w, longstr);
    pr_write_string_len(&w, "abcdef", 3);
    pr_write_nullable_string(&w, NULL, 0, 1);
    pr_write_bytes(&w, NULL, 0, 1);
    pr_write_bytes(&w, "", 0, 0);
    pr_write_bytes(&w, "\x00\x01\x02", 3, 0);
    pr_write_array_len(&w, -1);
    pr_write_array_len(&w, 0);
    pr_write_array_len(&w, 2);
    pr_write_i8(&w, 1);
    pr_write_i8(&w, 2);
    pr_write_empty_tags(&w);
    pr_write_i32(&w, 0x5eadbeef);
    cr_assert_eq(pr_writer_error(&w), 0);

    reader_over(&r, &g, buf.data, buf.len, flex);
    cr_assert_eq(pr_read_i8(&r), -128);
    cr_assert_eq(pr_read_i8(&r), 127);
    cr_assert_eq(pr_read_i16(&r), INT16_MIN);
    cr_assert_eq(pr_read_i16(&r), INT16_MAX);
    cr_assert_eq(pr_read_i32(&r), INT32_MIN);
    cr_assert_eq(pr_read_i32(&r), INT32_MAX);
    cr_assert_eq(pr_read_i64(&r), INT64_MIN);
    cr_assert_eq(pr_read_i64(&r), INT64_MAX);
    cr_assert_eq(pr_read_u32(&r), UINT32_MAX);
    cr_assert_eq(pr_read_uvarint(&r), 0);
    cr_assert_eq(pr_read_uvarint(&r), 127);
    cr_assert_eq(pr_read_uvarint(&r), 128);
    cr_assert_eq(pr_read_uvarint(&r), UINT32_MAX);
    cr_assert_eq(pr_read_varint(&r), 0);
    cr_assert_eq(pr_read_varint(&r), -1);
    cr_assert_eq(pr_read_varint(&r), INT32_MIN);
    cr_assert_eq(pr_read_varint(&r), INT32_MAX);
    cr_assert_eq(pr_read_varlong(&r), INT64_MIN);
    cr_assert_eq(pr_read_varlong(&r), INT64_MAX);
    cr_assert_eq(pr_read_varlong(&r), -300);
    cr_assert_eq(pr_read_bool(&r), 1);
    cr_assert_eq(pr_read_bool(&r), 0);
    pr_read_uuid(&r, uuid2);
    cr_assert_eq(memcmp(uuid, uuid2, 16), 0);

    pr_read_string(&r, &s, &isnull);
    cr_assert(isnull && s.p == NULL && s.len == 0);
    pr_read_string(&r, &s, &isnull);
    cr_assert(!isnull && s.len == 0);
    pr_read_string(&r, &s, &isnull);
    cr_assert(!isnull && s.len == 5 && memcmp(s.p, "hello", 5) == 0);
    pr_read_string(&r, &s, &isnull);
    cr_assert(!isnull && s.len == 999 && memcmp(s.p, longstr, 999) == 0);
    pr_read_string(&r, &s, NULL);
    cr_assert(s.len == 3 && memcmp(s.p, "abc", 3) == 0);
    pr_read_string(&r, &s, &isnull);
    cr_assert(isnull);

    pr_read_bytes(&r, &s, &isnull);
    cr_assert(isnull && s.p == NULL);
    pr_read_bytes(&r, &s, &isnull);
    cr_assert(!isnull && s.len == 0);
    pr_read_bytes(&r, &s, &isnull);
    cr_assert(!isnull && s.len == 3 && memcmp(s.p, "\x00\x01\x02", 3) == 0);

    cr_assert_eq(pr_read_array_len(&r, &n, 10), 0);
    cr_assert_eq(n, -1);
    cr_assert_eq(pr_read_array_len(&r, &n, 10), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(pr_read_array_len(&r, &n, 10), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(pr_read_i8(&r), 1);
    cr_assert_eq(pr_read_i8(&r), 2);
    pr_skip_tagged_fields(&r);
    cr_assert_eq(pr_read_i32(&r), 0x5eadbeef);
    cr_assert_eq(r.err, 0);
    cr_assert_eq(pr_remaining(&r), 0);
    /* one more read: underflow, zero, and sticky */
    cr_assert_eq(pr_read_i8(&r), 0);
    cr_assert_eq(r.err, SL_ERR__UNDERFLOW);
    cr_assert_eq(pr_read_uvarint(&r), 0);
    cr_assert_eq(r.err, SL_ERR__UNDERFLOW);
    guardbuf_free(&g);
}

Test(proto, roundtrip_classic) { roundtrip_all(0); }
Test(proto, roundtrip_flexible) { roundtrip_all(1); }

Test(proto, encodings_exact)
{
    struct pr_writer w;
    pr_writer_init(&w, &buf, 0);
    pr_write_string(&w, "ab");
    pr_write_string(&w, NULL);
    pr_write_bytes(&w, "z", 1, 0);
    pr_write_bytes(&w, NULL, 0, 1);
    pr_write_array_len(&w, -1);
    pr_write_empty_tags(&w);           /* nothing when classic */
    const uint8_t classic[] = { 0, 2, 'a', 'b', 0xff, 0xff, 0, 0, 0, 1, 'z',
                                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    cr_assert_eq(buf.len, sizeof(classic));
    cr_assert_eq(memcmp(buf.data, classic, sizeof(classic)), 0);

    sl_buf_reset(&buf);
    pr_writer_init(&w, &buf, 1);
    pr_write_string(&w, "ab");
    pr_write_string(&w, NULL);
    pr_write_bytes(&w, "z", 1, 0);
    pr_write_bytes(&w, NULL, 0, 1);
    pr_write_array_len(&w, -1);
    pr_write_array_len(&w, 3);
    pr_write_empty_tags(&w);
    pr_write_uvarint(&w, 300);
    pr_write_varint(&w, -2);
    const uint8_t flex[] = { 3, 'a', 'b', 0, 2, 'z', 0, 0, 4, 0, 0xac, 0x02, 3 };
    cr_assert_eq(buf.len, sizeof(flex));
    cr_assert_eq(memcmp(buf.data, flex, sizeof(flex)), 0);
}

Test(proto, uvarint_boundaries_and_overlong)
{
    struct pr_reader r;
    struct guardbuf g;
    static const struct { uint8_t b[6]; size_t n; uint32_t v; int err; } cases[] = {
        { { 0x00 }, 1, 0, 0 },
        { { 0x7f }, 1, 127, 0 },
        { { 0x80, 0x01 }, 2, 128, 0 },
        { { 0xff, 0xff, 0xff, 0xff, 0x0f }, 5, UINT32_MAX, 0 },
        { { 0x80, 0x80, 0x80, 0x80, 0x00 }, 5, 0, 0 },          /* padded zero */
        { { 0x81, 0x80, 0x80, 0x80, 0x00 }, 5, 1, 0 },          /* padded one */
        { { 0xff, 0xff, 0xff, 0xff, 0x1f }, 5, 0, SL_ERR__CORRUPT }, /* > 32 bits */
        { { 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 }, 6, 0, SL_ERR__CORRUPT }, /* 6 bytes */
        { { 0x80 }, 1, 0, SL_ERR__UNDERFLOW },
        { { 0xff, 0xff }, 2, 0, SL_ERR__UNDERFLOW },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reader_over(&r, &g, cases[i].b, cases[i].n, 1);
        uint32_t v = pr_read_uvarint(&r);
        cr_assert_eq(r.err, cases[i].err, "case %zu", i);
        cr_assert_eq(v, cases[i].v, "case %zu", i);
        guardbuf_free(&g);
    }
}

Test(proto, varlong_overlong_rejected)
{
    struct pr_reader r;
    struct guardbuf g;
    uint8_t ok[10], bad11[11], bad10[10];
    memset(ok, 0xff, 9);
    ok[9] = 0x01;              /* zigzag UINT64_MAX -> INT64_MIN */
    memset(bad11, 0x80, 10);
    bad11[10] = 0;
    memset(bad10, 0xff, 9);
    bad10[9] = 0x02;           /* bit 64 */

    reader_over(&r, &g, ok, 10, 0);
    cr_assert_eq(pr_read_varlong(&r), INT64_MIN);
    cr_assert_eq(r.err, 0);
    guardbuf_free(&g);
    reader_over(&r, &g, bad11, 11, 0);
    pr_read_varlong(&r);
    cr_assert_eq(r.err, SL_ERR__CORRUPT);
    guardbuf_free(&g);
    reader_over(&r, &g, bad10, 10, 0);
    pr_read_varlong(&r);
    cr_assert_eq(r.err, SL_ERR__CORRUPT);
    guardbuf_free(&g);
}

Test(proto, strings_bad_lengths)
{
    struct pr_reader r;
    struct guardbuf g;
    struct sl_slice s;
    int isnull = 7;

    /* int16 length -2 */
    reader_over(&r, &g, "\xff\xfe", 2, 0);
    pr_read_string(&r, &s, &isnull);
    cr_assert_eq(r.err, SL_ERR__CORRUPT);
    cr_assert(s.p == NULL && s.len == 0);
    guardbuf_free(&g);
    /* length 5, 2 bytes present */
    reader_over(&r, &g, "\x00\x05" "ab", 4, 0);
    pr_read_string(&r, &s, &isnull);
    cr_assert_eq(r.err, SL_ERR__UNDERFLOW);
    guardbuf_free(&g);
    /* compact length 40000 (> int16 max) */
    reader_over(&r, &g, "\xc1\xb8\x02", 3, 1);
    pr_read_string(&r, &s, &isnull);
    cr_assert_eq(r.err, SL_ERR__CORRUPT);
    guardbuf_free(&g);
    /* bytes int32 length -5, and 2^31-1 with nothing after */
    reader_over(&r, &g, "\xff\xff\xff\xfb", 4, 0);
    pr_read_bytes(&r, &s, &isnull);
    cr_assert_eq(r.err, SL_ERR__CORRUPT);
    guardbuf_free(&g);
    reader_over(&r, &g, "\x7f\xff\xff\xff", 4, 0);
    pr_read_bytes(&r, &s, &isnull);
    cr_assert_eq(r.err, SL_ERR__UNDERFLOW);
    guardbuf_free(&g);
    /* compact bytes with uvarint 2^32-1 */
    reader_over(&r, &g, "\xff\xff\xff\xff\x0f", 5, 1);
    pr_read_bytes(&r, &s, &isnull);
    cr_assert_neq(r.err, 0);
    guardbuf_free(&g);
}

Test(proto, writer_rejects_unencodable)
{
    struct pr_writer w;
    static char big[40000];
    memset(big, 'a', sizeof(big) - 1);
    pr_writer_init(&w, &buf, 0);
    pr_write_string(&w, big);
    cr_assert_eq(pr_writer_error(&w), SL_ERR__INVALID_ARG);
    pr_writer_init(&w, &buf, 1);
    pr_write_array_len(&w, -2);
    cr_assert_eq(pr_writer_error(&w), SL_ERR__INVALID_ARG);
}

Test(proto, array_counts_hostile)
{
    struct pr_reader r;
    struct guardbuf g;
    int32_t n = 99;
    uint8_t tail[16] = { 0 };
    uint8_t in[20];

    /* -2 */
    reader_over(&r, &g, "\xff\xff\xff\xfe", 4, 0);
    cr_assert_eq(pr_read_array_len(&r, &n, 100), SL_ERR__CORRUPT);
    cr_assert_eq(n, 0);
    guardbuf_free(&g);
    /* 3 billion as int32 (negative) */
    uint32_t three_bn = 3000000000u;
    in[0] = (uint8_t)(three_bn >> 24); in[1] = (uint8_t)(three_bn >> 16);
    in[2] = (uint8_t)(three_bn >> 8);  in[3] = (uint8_t)three_bn;
    reader_over(&r, &g, in, 4, 0);
    cr_assert_eq(pr_read_array_len(&r, &n, INT32_MAX), SL_ERR__CORRUPT);
    guardbuf_free(&g);
    /* 3 billion + 1 compact */
    {
        struct pr_writer w;
        pr_writer_init(&w, &buf, 1);
        pr_write_uvarint(&w, three_bn + 1);
        reader_over(&r, &g, buf.data, buf.len, 1);
        cr_assert_eq(pr_read_array_len(&r, &n, INT32_MAX), SL_ERR__CORRUPT);
        guardbuf_free(&g);
    }
    /* above max */
    reader_over(&r, &g, "\x00\x00\x00\x0b" "0123456789abcdef", 20, 0);
    cr_assert_eq(pr_read_array_len(&r, &n, 10), SL_ERR__CORRUPT);
    guardbuf_free(&g);
    /* larger than the bytes remaining: 100 elements, 16 bytes left */
    memcpy(in, "\x00\x00\x00\x64", 4);
    memcpy(in + 4, tail, 16);
    reader_over(&r, &g, in, 20, 0);
    cr_assert_eq(pr_read_array_len(&r, &n, 1000), SL_ERR__UNDERFLOW);
    guardbuf_free(&g);
    /* exactly as many as bytes remain is fine */
    memcpy(in, "\x00\x00\x00\x10", 4);
    reader_over(&r, &g, in, 20, 0);
    cr_assert_eq(pr_read_array_len(&r, &n, 1000), 0);
    cr_assert_eq(n, 16);
    guardbuf_free(&g);
}

Test(proto, reserve_and_patch)
{
    for (int flex = 0; flex <= 1; flex++) {
        struct pr_writer w;
        struct pr_reader r;
        struct guardbuf g;
        struct sl_slice s;
        int32_t n;
        int isnull;

        sl_buf_reset(&buf);
        pr_writer_init(&w, &buf, flex);
        size_t pos = pr_reserve_array_len(&w);
        for (int i = 0; i < 300; i++)
            pr_write_i8(&w, (int8_t)i);
        pr_patch_array_len(&w, pos, 300);
        size_t bpos = pr_reserve_bytes_len(&w);
        pr_write_raw(&w, "hello", 5);
        pr_patch_bytes_len(&w, bpos, 5);
        size_t npos = pr_reserve_array_len(&w);
        pr_patch_array_len(&w, npos, -1);
        cr_assert_eq(pr_writer_error(&w), 0);

        reader_over(&r, &g, buf.data, buf.len, flex);
        cr_assert_eq(pr_read_array_len(&r, &n, 1000), 0);
        cr_assert_eq(n, 300);
        for (int i = 0; i < 300; i++)
            cr_assert_eq(pr_read_i8(&r), (int8_t)i);
        pr_read_bytes(&r, &s, &isnull);
        cr_assert(!isnull && s.len == 5 && memcmp(s.p, "hello", 5) == 0);
        cr_assert_eq(pr_read_array_len(&r, &n, 1000), 0);
        cr_assert_eq(n, -1);
        cr_assert_eq(r.err, 0);
        cr_assert_eq(pr_remaining(&r), 0);
        guardbuf_free(&g);
    }
}

struct tag_seen { int n; uint32_t tags[8]; int32_t val; };

static int
tag_cb(void *arg, uint32_t tag, struct pr_reader *f)
{
    struct tag_seen *ts = arg;
    ts->tags[ts->n++] = tag;
    if (tag == 1)
        ts->val = pr_read_i32(f);        /* known tag: decode */
    return 0;                            /* unknown: ignore */
}

Test(proto, tagged_fields)
{
    struct pr_writer w;
    struct pr_reader r;
    struct guardbuf g;
    struct tag_seen ts = { 0 };

    pr_writer_init(&w, &buf, 1);
    pr_write_uvarint(&w, 3);                 /* three fields */
    pr_write_uvarint(&w, 0);                 /* tag 0, 2 unknown bytes */
    pr_write_uvarint(&w, 2);
    pr_write_i16(&w, 7);
    pr_write_uvarint(&w, 1);                 /* tag 1, int32 */
    pr_write_uvarint(&w, 4);
    pr_write_i32(&w, 4242);
    pr_write_uvarint(&w, 1000);              /* tag 1000, 200 bytes */
    pr_write_uvarint(&w, 200);
    for (int i = 0; i < 200; i++)
        pr_write_i8(&w, 1);
    pr_write_i32(&w, 99);                    /* the field after */

    reader_over(&r, &g, buf.data, buf.len, 1);
    pr_skip_tagged_fields(&r);
    cr_assert_eq(pr_read_i32(&r), 99);
    cr_assert_eq(r.err, 0);
    guardbuf_free(&g);

    reader_over(&r, &g, buf.data, buf.len, 1);
    pr_read_tagged_fields(&r, tag_cb, &ts);
    cr_assert_eq(ts.n, 3);
    cr_assert_eq(ts.tags[2], 1000);
    cr_assert_eq(ts.val, 4242);
    cr_assert_eq(pr_read_i32(&r), 99);
    cr_assert_eq(r.err, 0);
    guardbuf_free(&g);

    /* classic reader: no tag section at all */
    reader_over(&r, &g, "\x00\x00\x00\x05", 4, 0);
    pr_skip_tagged_fields(&r);
    cr_assert_eq(pr_read_i32(&r), 5);
    guardbuf_free(&g);

    /* truncation at every byte never reads out of bounds */
    for (size_t cut = 0; cut < buf.len - 4; cut++) {
        reader_over(&r, &g, buf.data, cut, 1);
        pr_skip_tagged_fields(&r);
        cr_assert_neq(r.err, 0, "cut %zu", cut);
        guardbuf_free(&g);
    }

    /* size larger than what remains; huge field count */
    reader_over(&r, &g, "\x01\x00\x7f\x00", 4, 1);
    pr_skip_tagged_fields(&r);
    cr_assert_eq(r.err, SL_ERR__UNDERFLOW);
    guardbuf_free(&g);
    reader_over(&r, &g, "\xff\xff\xff\xff\x0f", 5, 1);
    pr_skip_tagged_fields(&r);
    cr_assert_neq(r.err, 0);
    guardbuf_free(&g);
}

static int
bad_tag_cb(void *arg, uint32_t tag, struct pr_reader *f)
{
    (void)arg; (void)tag;
    pr_read_i64(f);          /* more than the 2-byte field: sub-reader fails */
    return 0;
}

Test(proto, tagged_field_reader_bounded)
{
    struct pr_reader r;
    struct guardbuf g;
    reader_over(&r, &g, "\x01\x05\x02\x00\x00\xaa\xbb\xcc\xdd\xee\xff", 11, 1);
    pr_read_tagged_fields(&r, bad_tag_cb, NULL);
    cr_assert_eq(r.err, SL_ERR__UNDERFLOW);
    guardbuf_free(&g);
}

/* Header v1 + a few body fields, as a non-flexible request would carry. */
static void
build_sample_request(struct sl_buf *b)
{
    struct pr_writer w;
    pr_writer_init(&w, b, 0);
    pr_write_i16(&w, PR_API_METADATA);
    pr_write_i16(&w, 4);
    pr_write_i32(&w, 12345);
    pr_write_string(&w, "client-1");
    pr_write_array_len(&w, 2);
    pr_write_string(&w, "topic-a");
    pr_write_string(&w, "b");
    pr_write_bool(&w, 1);
}

static int
decode_sample(struct pr_reader *r, struct pr_req_hdr *h, struct sl_slice topics[2], int *autoc)
{
    int32_t n;
    if (pr_parse_req_hdr(r, 1, h))
        return r->err;
    if (pr_read_array_len(r, &n, 100))
        return r->err;
    for (int32_t i = 0; i < n && i < 2; i++)
        pr_read_string(r, &topics[i], NULL);
    *autoc = pr_read_bool(r);
    PR_CHECK(r, err_parse);
    return 0;
err_parse:
    return r->err;
}

Test(proto, request_header_v1_and_truncation)
{
    struct pr_reader r;
    struct guardbuf g;
    struct pr_req_hdr h;
    struct sl_slice topics[2];
    int autoc = 0;

    build_sample_request(&buf);
    reader_over(&r, &g, buf.data, buf.len, 0);
    cr_assert_eq(decode_sample(&r, &h, topics, &autoc), 0);
    cr_assert_eq(h.api_key, PR_API_METADATA);
    cr_assert_eq(h.api_version, 4);
    cr_assert_eq(h.correlation_id, 12345);
    cr_assert(!h.client_id_null && h.client_id.len == 8 && memcmp(h.client_id.p, "client-1", 8) == 0);
    cr_assert(topics[0].len == 7 && memcmp(topics[0].p, "topic-a", 7) == 0);
    cr_assert(topics[1].len == 1 && topics[1].p[0] == 'b');
    cr_assert_eq(autoc, 1);
    cr_assert_eq(pr_remaining(&r), 0);
    guardbuf_free(&g);

    for (size_t cut = 0; cut < buf.len; cut++) {
        reader_over(&r, &g, buf.data, cut, 0);
        int rc = decode_sample(&r, &h, topics, &autoc);
        cr_assert_neq(rc, 0, "cut at %zu accepted", cut);
        cr_assert(rc == SL_ERR__UNDERFLOW || rc == SL_ERR__CORRUPT, "cut %zu rc %d", cut, rc);
        cr_assert(r.pos <= cut);
        guardbuf_free(&g);
    }
}

Test(proto, header_versions)
{
    cr_assert_eq(pr_req_header_version(PR_API_PRODUCE, 7, 9), 1);
    cr_assert_eq(pr_req_header_version(PR_API_PRODUCE, 9, 9), 2);
    cr_assert_eq(pr_req_header_version(PR_API_API_VERSIONS, 3, 3), 2);
    cr_assert_eq(pr_req_header_version(PR_API_API_VERSIONS, 2, 3), 1);
    cr_assert_eq(pr_req_header_version(PR_API_CONTROLLED_SHUTDOWN, 0, 3), 0);
    cr_assert_eq(pr_req_header_version(PR_API_CONTROLLED_SHUTDOWN, 1, 3), 1);
    cr_assert_eq(pr_req_header_version(PR_API_OFFSET_DELETE, 0, -1), 1);
    cr_assert_eq(pr_resp_header_version(PR_API_API_VERSIONS, 3, 3), 0);
    cr_assert_eq(pr_resp_header_version(PR_API_OFFSET_FETCH, 6, 6), 1);
    cr_assert_eq(pr_resp_header_version(PR_API_OFFSET_FETCH, 5, 6), 0);
    cr_assert_eq(pr_resp_header_version(PR_API_SASL_HANDSHAKE, 1, -1), 0);
}

Test(proto, request_header_v0_and_v2)
{
    struct pr_reader r;
    struct guardbuf g;
    struct pr_req_hdr h;
    static const uint8_t v0[] = { 0, 7, 0, 0, 0, 0, 0, 9, 0xaa };
    reader_over(&r, &g, v0, sizeof(v0), 0);
    cr_assert_eq(pr_parse_req_hdr(&r, 0, &h), 0);
    cr_assert_eq(h.api_key, 7);
    cr_assert_eq(h.correlation_id, 9);
    cr_assert_eq(h.client_id_null, 1);
    cr_assert_eq(pr_remaining(&r), 1);
    guardbuf_free(&g);

    /* v2 with a null client id and an unknown header tag */
    static const uint8_t v2[] = { 0, 9, 0, 6, 0, 0, 0, 1, 0xff, 0xff, 1, 5, 2, 0xab, 0xcd, 0x42 };
    reader_over(&r, &g, v2, sizeof(v2), 0);
    cr_assert_eq(pr_parse_req_hdr(&r, 2, &h), 0);
    cr_assert_eq(h.client_id_null, 1);
    cr_assert_eq(r.flexible, 1);
    cr_assert_eq(pr_read_i8(&r), 0x42);
    cr_assert_eq(r.err, 0);
    guardbuf_free(&g);
}

Test(proto, librdkafka_api_versions_v3)
{
    /* As librdkafka 2.0.2 sends it (after the int32 frame size). */
    static const uint8_t req[] = {
        0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,      /* key 18, v3, corr 1 */
        0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',       /* client id, int16 */
        0x00,                                                /* header tags */
        0x0b, 'l', 'i', 'b', 'r', 'd', 'k', 'a', 'f', 'k', 'a', /* compact "librdkafka" */
        0x06, '2', '.', '0', '.', '2',                       /* compact "2.0.2" */
        0x00,                                                /* body tags */
    };
    struct pr_reader r;
    struct guardbuf g;
    struct pr_req_hdr h;
    struct sl_slice name, ver;
    int16_t key, v;

    cr_assert_eq(pr_peek_req_key(req, sizeof(req), &key, &v), 0);
    cr_assert_eq(key, PR_API_API_VERSIONS);
    cr_assert_eq(pr_req_header_version(key, v, 3), 2);

    for (size_t cut = 0; cut <= sizeof(req); cut++) {
        int rc;
        reader_over(&r, &g, req, cut, 0);
        rc = pr_parse_req_hdr(&r, 2, &h);
        if (!rc) {
            pr_read_string(&r, &name, NULL);
            pr_read_string(&r, &ver, NULL);
            pr_skip_tagged_fields(&r);
            rc = r.err;
        }
        if (cut < sizeof(req)) {
            cr_assert_neq(rc, 0, "cut %zu", cut);
        } else {
            cr_assert_eq(rc, 0);
            cr_assert_eq(h.api_key, 18);
            cr_assert_eq(h.api_version, 3);
            cr_assert_eq(h.correlation_id, 1);
            cr_assert(h.client_id.len == 7 && memcmp(h.client_id.p, "rdkafka", 7) == 0);
            cr_assert(name.len == 10 && memcmp(name.p, "librdkafka", 10) == 0);
            cr_assert(ver.len == 5 && memcmp(ver.p, "2.0.2", 5) == 0);
            cr_assert_eq(pr_remaining(&r), 0);
        }
        guardbuf_free(&g);
    }
}

Test(proto, response_header)
{
    struct pr_writer w;
    pr_writer_init(&w, &buf, 1);
    pr_write_resp_hdr(&w, 77, 0);
    pr_write_resp_hdr(&w, 78, 1);
    const uint8_t want[] = { 0, 0, 0, 77, 0, 0, 0, 78, 0 };
    cr_assert_eq(buf.len, sizeof(want));
    cr_assert_eq(memcmp(buf.data, want, sizeof(want)), 0);
}

Test(proto, api_names)
{
    cr_assert_str_eq(pr_api_name(PR_API_PRODUCE), "Produce");
    cr_assert_str_eq(pr_api_name(18), "ApiVersions");
    cr_assert_str_eq(pr_api_name(75), "DescribeTopicPartitions");
    cr_assert_str_eq(pr_api_name(-1), "Unknown");
    cr_assert_str_eq(pr_api_name(PR_API__NUM), "Unknown");
    for (int k = 0; k < PR_API__NUM; k++)
        cr_assert_str_neq(pr_api_name(k), "Unknown", "key %d", k);
}
