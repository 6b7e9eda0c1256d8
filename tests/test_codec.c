/* tests/test_codec.c -- storage/codec.c: round trips of every codec over
 * random and repetitive data, truncation at every byte (over guard pages),
 * inputs that lie about sizes, decompression bombs (bounded buffer growth),
 * xerial-framed snappy, bit-flip fuzzing, and batch-level validation and
 * recompression. codec.c parses LZ4 frames itself; the lz4_* tests at the
 * end hold it to liblz4's LZ4F_decompress (same verdict, same bytes) on
 * frames of every option (block sizes, linked blocks, checksums, content
 * size, dict id, stored blocks, skippable and concatenated frames), their
 * truncations and bit flips, every FLG and BD value, and hand-made blocks.
 */
#include <criterion/criterion.h>
#include <lz4.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include <zstd.h>
#include "storage/buf.h"
#include "storage/codec.h"
#include "storage/err.h"
#include "storage/record.h"
#include "tests/support/batchgen.h"
#include "tests/support/guardbuf.h"

TestSuite(codec, .timeout = 120);

static const int codecs[] = { REC_CODEC_GZIP, REC_CODEC_SNAPPY, REC_CODEC_LZ4, REC_CODEC_ZSTD };
#define NCODECS ((int)(sizeof(codecs) / sizeof(codecs[0])))


static uint8_t *
random_data(size_t n, uint64_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    cr_assert(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)bg_rand(&seed);
    return p;
}

/* Text-like data: compresses well but is not trivial. */
static uint8_t *
repetitive_data(size_t n, uint64_t seed)
{
    static const char *words[] = { "kafka ", "sluice ", "record ", "batch ", "offset ",
                                   "partition ", "leader ", "0123456789 " };
    uint8_t *p = malloc(n ? n : 1);
    size_t i = 0;
    cr_assert(p);
    while (i < n) {
        const char *w = words[bg_rand(&seed) % 8];
        for (size_t j = 0; w[j] && i < n; j++)
            p[i++] = (uint8_t)w[j];
    }
    return p;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- round trips ---- */

static void
check_roundtrip(int codec, const uint8_t *data, size_t n, int level)
{
    struct sl_buf c = SL_BUF_INIT, d = SL_BUF_INIT;
    int rc;

    sl_buf_append(&c, "pre", 3);               /* both calls append */
    rc = codec_compress(codec, data, n, &c, level);
    cr_assert_eq(rc, 0, "%s compress %zu: %d", codec_name(codec), n, rc);
    cr_assert_eq(memcmp(c.data, "pre", 3), 0);
    sl_buf_append(&d, "xy", 2);
    rc = codec_decompress(codec, c.data + 3, c.len - 3, &d, n);
    cr_assert_eq(rc, 0, "%s decompress %zu: %d", codec_name(codec), n, rc);
    cr_assert_eq(d.len, n + 2, "%s %zu: got %zu", codec_name(codec), n, d.len - 2);
    cr_assert_eq(memcmp(d.data, "xy", 2), 0);
    cr_assert(n == 0 || memcmp(d.data + 2, data, n) == 0, "%s %zu: content", codec_name(codec), n);
    if (n > 0) {                               /* one byte less of budget: refused */
        rc = codec_decompress(codec, c.data + 3, c.len - 3, &d, n - 1);
        cr_assert_eq(rc, SL_ERR_CORRUPT_MESSAGE, "%s %zu: over budget gave %d",
                     codec_name(codec), n, rc);
        cr_assert_eq(d.len, n + 2, "out->len restored on error");
    }
    sl_buf_free(&c);
    sl_buf_free(&d);
}

Test(codec, roundtrip_sizes)
{
    static const size_t sizes[] = { 0, 1, 100, 65536, 1 << 20 };
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        uint8_t *r = random_data(sizes[s], s + 1);
        uint8_t *t = repetitive_data(sizes[s], s + 7);
        check_roundtrip(REC_CODEC_NONE, r, sizes[s], CODEC_LEVEL_DEFAULT);
        for (int i = 0; i < NCODECS; i++) {
            check_roundtrip(codecs[i], r, sizes[s], CODEC_LEVEL_DEFAULT);
            check_roundtrip(codecs[i], t, sizes[s], CODEC_LEVEL_DEFAULT);
        }
        free(r);
        free(t);
    }
}

Test(codec, roundtrip_levels)
{
    static const int levels[] = { -5, -1, 0, 1, 3, 9, 12, 19, 100 };
    uint8_t *t = repetitive_data(100000, 3);
    for (int i = 0; i < NCODECS; i++)
        for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++)
            check_roundtrip(codecs[i], t, 100000, levels[l]);
    free(t);
}

Test(codec, compression_actually_compresses)
{
    uint8_t *t = repetitive_data(1 << 16, 5);
    for (int i = 0; i < NCODECS; i++) {
        struct sl_buf c = SL_BUF_INIT;
        cr_assert_eq(codec_compress(codecs[i], t, 1 << 16, &c, CODEC_LEVEL_DEFAULT), 0);
        cr_assert_lt(c.len, (1 << 16) / 2, "%s: %zu", codec_name(codecs[i]), c.len);
        sl_buf_free(&c);
    }
    /* format markers other clients rely on */
    {
        struct sl_buf c = SL_BUF_INIT;
        codec_compress(REC_CODEC_GZIP, t, 100, &c, CODEC_LEVEL_DEFAULT);
        cr_assert(c.data[0] == 0x1f && c.data[1] == 0x8b, "gzip header");
        sl_buf_reset(&c);
        codec_compress(REC_CODEC_LZ4, t, 100, &c, CODEC_LEVEL_DEFAULT);
        cr_assert_eq(rec_get_u32(c.data), 0x04224d18u, "lz4 frame magic (LE 0x184D2204)");
        cr_assert_eq(c.data[4] & 0x28, 0x20, "independent blocks, no content size");
        cr_assert_eq((c.data[5] >> 4) & 7, 4, "64 KiB blocks");
        sl_buf_reset(&c);
        codec_compress(REC_CODEC_ZSTD, t, 100, &c, CODEC_LEVEL_DEFAULT);
        cr_assert_eq(rec_get_u32(c.data), 0x28b52ffdu, "zstd magic");
        sl_buf_reset(&c);
        codec_compress(REC_CODEC_SNAPPY, t, 100, &c, CODEC_LEVEL_DEFAULT);
        cr_assert_eq(c.data[0], 100, "raw snappy: varint length first");
        sl_buf_free(&c);
    }
    free(t);
}

Test(codec, unknown_codec_and_names)
{
    struct sl_buf b = SL_BUF_INIT;
    uint8_t x[4] = { 1, 2, 3, 4 };
    for (int c = 5; c < 9; c++) {
        cr_assert_eq(codec_decompress(c, x, 4, &b, 100), SL_ERR_UNSUPPORTED_COMPRESSION_TYPE);
        cr_assert_eq(codec_compress(c, x, 4, &b, 0), SL_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    }
    cr_assert_eq(codec_decompress(-1, x, 4, &b, 100), SL_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(codec_from_name("gzip"), REC_CODEC_GZIP);
    cr_assert_eq(codec_from_name("snappy"), REC_CODEC_SNAPPY);
    cr_assert_eq(codec_from_name("lz4"), REC_CODEC_LZ4);
    cr_assert_eq(codec_from_name("zstd"), REC_CODEC_ZSTD);
    cr_assert_eq(codec_from_name("uncompressed"), REC_CODEC_NONE);
    cr_assert_eq(codec_from_name("none"), REC_CODEC_NONE);
    cr_assert_eq(codec_from_name("producer"), -1);
    cr_assert_eq(codec_from_name(NULL), -1);
    cr_assert_str_eq(codec_name(REC_CODEC_LZ4), "lz4");
    cr_assert_str_eq(codec_name(9), "unknown");
    /* NONE obeys the budget too */
    cr_assert_eq(codec_decompress(REC_CODEC_NONE, x, 4, &b, 3), SL_ERR_CORRUPT_MESSAGE);
    cr_assert_eq(codec_decompress(REC_CODEC_NONE, x, 4, &b, 4), 0);
    sl_buf_free(&b);
}

Test(codec, empty_input_is_corrupt)
{
    struct sl_buf b = SL_BUF_INIT;
    for (int i = 0; i < NCODECS; i++) {
        cr_assert_eq(codec_decompress(codecs[i], NULL, 0, &b, 100), SL_ERR_CORRUPT_MESSAGE,
                     "%s", codec_name(codecs[i]));
        cr_assert_eq(b.len, 0);
    }
    sl_buf_free(&b);
}

/* ---- truncation ---- */

/* Every strict prefix of a valid stream is refused, and no read goes past it. */
Test(codec, truncated_everywhere)
{
    uint8_t *t = repetitive_data(6000, 11);
    uint8_t *r = random_data(3000, 12);
    struct sl_buf src = SL_BUF_INIT, c = SL_BUF_INIT, d = SL_BUF_INIT;
    sl_buf_append(&src, t, 6000);
    sl_buf_append(&src, r, 3000);               /* some literal-heavy blocks too */

    for (int i = 0; i < NCODECS; i++) {
        sl_buf_reset(&c);
        cr_assert_eq(codec_compress(codecs[i], src.data, src.len, &c, CODEC_LEVEL_DEFAULT), 0);
        for (size_t cut = 0; cut < c.len; cut++) {
            struct guardbuf g;
            uint8_t *p = guardbuf_new(&g, c.data, cut);
            cr_assert(p);
            sl_buf_reset(&d);
            int rc = codec_decompress(codecs[i], p, cut, &d, 1 << 20);
            cr_assert_eq(rc, SL_ERR_CORRUPT_MESSAGE, "%s cut at %zu of %zu: %d",
                         codec_name(codecs[i]), cut, c.len, rc);
            cr_assert_eq(d.len, 0);
            guardbuf_free(&g);
        }
        /* and the whole thing, over a guard page, decodes */
        struct guardbuf g;
        uint8_t *p = guardbuf_new(&g, c.data, c.len);
        sl_buf_reset(&d);
        cr_assert_eq(codec_decompress(codecs[i], p, c.len, &d, 1 << 20), 0);
        cr_assert_eq(d.len, src.len);
        cr_assert_eq(memcmp(d.data, src.data, src.len), 0);
        guardbuf_free(&g);
    }
    free(t);
    free(r);
    sl_buf_free(&src);
    sl_buf_free(&c);
    sl_buf_free(&d);
}

/* Random bit flips in valid streams: any result is allowed except a crash,
 * an over-read (ASan) or output past the budget. */
Test(codec, bitflip_fuzz)
{
    uint8_t *t = repetitive_data(20000, 21);
    struct sl_buf c = SL_BUF_INIT, d = SL_BUF_INIT;
    uint64_t seed = 99;

    for (int i = 0; i < NCODECS; i++) {
        sl_buf_reset(&c);
        cr_assert_eq(codec_compress(codecs[i], t, 20000, &c, CODEC_LEVEL_DEFAULT), 0);
        for (int iter = 0; iter < 1500; iter++) {
            struct guardbuf g;
            uint8_t *p = guardbuf_new(&g, c.data, c.len);
            int flips = 1 + (int)(bg_rand(&seed) % 3);
            for (int f = 0; f < flips; f++) {
                size_t at = bg_rand(&seed) % c.len;
                p[at] ^= (uint8_t)(1u << (bg_rand(&seed) % 8));
            }
            sl_buf_reset(&d);
            int rc = codec_decompress(codecs[i], p, c.len, &d, 30000);
            cr_assert(rc == 0 || rc == SL_ERR_CORRUPT_MESSAGE, "rc %d", rc);
            cr_assert_leq(d.len, rc == 0 ? 30000 : 0);
            guardbuf_free(&g);
        }
        /* pure garbage, with and without a plausible magic */
        for (int iter = 0; iter < 500; iter++) {
            size_t n = 1 + bg_rand(&seed) % 200;
            uint8_t *r = random_data(n, bg_rand(&seed));
            if (iter & 1)
                memcpy(r, c.data, n < 6 ? n : 6);
            sl_buf_reset(&d);
            int rc = codec_decompress(codecs[i], r, n, &d, 30000);
            cr_assert(rc == 0 || rc == SL_ERR_CORRUPT_MESSAGE);
            free(r);
        }
    }
    free(t);
    sl_buf_free(&c);
    sl_buf_free(&d);
}

/* ---- inputs that lie about sizes ---- */

Test(codec, snappy_lying_length)
{
    uint8_t *t = repetitive_data(5000, 31);
    struct sl_buf c = SL_BUF_INIT, lie = SL_BUF_INIT, d = SL_BUF_INIT;
    uint8_t v[5];
    size_t hdr;

    cr_assert_eq(codec_compress(REC_CODEC_SNAPPY, t, 5000, &c, 0), 0);
    hdr = c.data[0] & 0x80 ? (c.data[1] & 0x80 ? 3 : 2) : 1;
    cr_assert_eq(hdr, 2, "5000 is a 2-byte varint");

    /* claims 4 GiB - 1: refused before anything is reserved for it */
    v[0] = v[1] = v[2] = v[3] = 0xff;
    v[4] = 0x0f;
    sl_buf_append(&lie, v, 5);
    sl_buf_append(&lie, c.data + hdr, c.len - hdr);
    cr_assert_eq(codec_decompress(REC_CODEC_SNAPPY, lie.data, lie.len, &d, 1 << 20),
                 SL_ERR_CORRUPT_MESSAGE);
    cr_assert_lt(d.cap, 1 << 20, "nothing reserved for the claim (cap %zu)", d.cap);
    /* even with a budget that would allow it, the data does not match */
    cr_assert_eq(codec_decompress(REC_CODEC_SNAPPY, lie.data, lie.len, &d, SIZE_MAX),
                 SL_ERR_CORRUPT_MESSAGE);

    /* claims one byte less / more than it holds */
    for (int delta = -1; delta <= 1; delta += 2) {
        uint32_t n = (uint32_t)(5000 + delta);
        sl_buf_reset(&lie);
        v[0] = (uint8_t)(n | 0x80);
        v[1] = (uint8_t)(n >> 7);
        sl_buf_append(&lie, v, 2);
        sl_buf_append(&lie, c.data + hdr, c.len - hdr);
        sl_buf_reset(&d);
        cr_assert_eq(codec_decompress(REC_CODEC_SNAPPY, lie.data, lie.len, &d, 1 << 20),
                     SL_ERR_CORRUPT_MESSAGE, "delta %d", delta);
        cr_assert_eq(d.len, 0);
    }
    free(t);
    sl_buf_free(&c);
    sl_buf_free(&lie);
    sl_buf_free(&d);
}

/* LZ4 frame with a content-size field: built with the streaming API, which
 * writes whatever content size it is told (end mark appended by hand). */
static void
lz4_frame_with_size(struct sl_buf *out, const uint8_t *data, size_t n, uint64_t claimed)
{
    LZ4F_cctx *cctx;
    LZ4F_preferences_t prefs;
    size_t cap, r;

    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.contentSize = claimed;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    cr_assert(!LZ4F_isError(LZ4F_createCompressionContext(&cctx, LZ4F_VERSION)));
    cap = LZ4F_compressBound(n, &prefs) + LZ4F_HEADER_SIZE_MAX + 16;
    sl_buf_reset(out);
    cr_assert_eq(sl_buf_reserve(out, cap), 0);
    r = LZ4F_compressBegin(cctx, out->data, cap, &prefs);
    cr_assert(!LZ4F_isError(r));
    out->len = r;
    r = LZ4F_compressUpdate(cctx, out->data + out->len, cap - out->len, data, n, NULL);
    cr_assert(!LZ4F_isError(r));
    out->len += r;
    r = LZ4F_flush(cctx, out->data + out->len, cap - out->len, NULL);
    cr_assert(!LZ4F_isError(r));
    out->len += r;
    sl_buf_append(out, "\0\0\0\0", 4);        /* end mark, no content checksum */
    LZ4F_freeCompressionContext(cctx);
}

Test(codec, lz4_lying_content_size)
{
    uint8_t *t = repetitive_data(5000, 41);
    struct sl_buf c = SL_BUF_INIT, d = SL_BUF_INIT;

    lz4_frame_with_size(&c, t, 5000, 5000);    /* truthful: accepted */
    cr_assert_eq(codec_decompress(REC_CODEC_LZ4, c.data, c.len, &d, 1 << 20), 0);
    cr_assert_eq(d.len, 5000);
    cr_assert_eq(memcmp(d.data, t, 5000), 0);

    static const uint64_t lies[] = { 4999, 5001, 1, 1ULL << 40 };
    for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
        lz4_frame_with_size(&c, t, 5000, lies[i]);
        sl_buf_reset(&d);
        cr_assert_eq(codec_decompress(REC_CODEC_LZ4, c.data, c.len, &d, 1 << 20),
                     SL_ERR_CORRUPT_MESSAGE, "claimed %llu", (unsigned long long)lies[i]);
        cr_assert_lt(d.cap, 1 << 20);
    }
    free(t);
    sl_buf_free(&c);
    sl_buf_free(&d);
}

Test(codec, zstd_lying_content_size)
{
    uint8_t *t = repetitive_data(5000, 51);
    struct sl_buf c = SL_BUF_INIT, d = SL_BUF_INIT, x = SL_BUF_INIT;
    uint8_t fhd;
    size_t fcs_at, fcs_len;

    cr_assert_eq(codec_compress(REC_CODEC_ZSTD, t, 5000, &c, 3), 0);
    /* frame header: magic(4) FHD(1) [window(1) unless single segment] [dict id] FCS */
    fhd = c.data[4];
    cr_assert_eq(fhd & 3, 0, "no dictionary id");
    fcs_at = 5 + ((fhd & 0x20) ? 0 : 1);
    fcs_len = (size_t[]){ (fhd & 0x20) ? 1 : 0, 2, 4, 8 }[fhd >> 6];
    cr_assert_eq(fcs_len, 2, "5000 needs the 2-byte field (value - 256)");
    cr_assert_eq(c.data[fcs_at] | c.data[fcs_at + 1] << 8, 5000 - 256);

    static const int lies[] = { 4999, 5001, 300, 65000 };
    for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
        sl_buf_reset(&x);
        sl_buf_append(&x, c.data, c.len);
        x.data[fcs_at] = (uint8_t)(lies[i] - 256);
        x.data[fcs_at + 1] = (uint8_t)((lies[i] - 256) >> 8);
        sl_buf_reset(&d);
        cr_assert_eq(codec_decompress(REC_CODEC_ZSTD, x.data, x.len, &d, 1 << 20),
                     SL_ERR_CORRUPT_MESSAGE, "claimed %d", lies[i]);
        cr_assert_eq(d.len, 0);
    }
    /* a declared size over the budget is refused up front */
    sl_buf_free(&d);
    cr_assert_eq(codec_decompress(REC_CODEC_ZSTD, c.data, c.len, &d, 4999), SL_ERR_CORRUPT_MESSAGE);
    cr_assert_eq(d.cap, 0, "nothing reserved");
    free(t);
    sl_buf_free(&c);
    sl_buf_free(&d);
    sl_buf_free(&x);
}

Test(codec, gzip_trailer_and_members)
{
    uint8_t *t = repetitive_data(5000, 61);
    uint8_t *u = random_data(700, 62);
    struct sl_buf c = SL_BUF_INIT, c2 = SL_BUF_INIT, d = SL_BUF_INIT, x = SL_BUF_INIT;

    cr_assert_eq(codec_compress(REC_CODEC_GZIP, t, 5000, &c, 6), 0);
    /* trailer: CRC32 (LE) then ISIZE (LE); any change is refused */
    for (size_t back = 1; back <= 8; back++) {
        sl_buf_reset(&x);
        sl_buf_append(&x, c.data, c.len);
        x.data[x.len - back] ^= 0x01;
        sl_buf_reset(&d);
        cr_assert_eq(codec_decompress(REC_CODEC_GZIP, x.data, x.len, &d, 1 << 20),
                     SL_ERR_CORRUPT_MESSAGE, "trailer byte -%zu", back);
    }
    /* header: wrong magic, wrong method */
    sl_buf_reset(&x);
    sl_buf_append(&x, c.data, c.len);
    x.data[1] = 0x8c;
    cr_assert_eq(codec_decompress(REC_CODEC_GZIP, x.data, x.len, &d, 1 << 20), SL_ERR_CORRUPT_MESSAGE);
    /* a zlib (not gzip) stream is refused: Java's GZIPInputStream would too */
    {
        uLongf zl = compressBound(5000);
        uint8_t *z = malloc(zl);
        cr_assert_eq(compress2(z, &zl, t, 5000, 6), Z_OK);
        cr_assert_eq(codec_decompress(REC_CODEC_GZIP, z, zl, &d, 1 << 20), SL_ERR_CORRUPT_MESSAGE);
        free(z);
    }

    /* two members decode to the concatenation; trailing garbage is refused */
    cr_assert_eq(codec_compress(REC_CODEC_GZIP, u, 700, &c2, 1), 0);
    sl_buf_reset(&x);
    sl_buf_append(&x, c.data, c.len);
    sl_buf_append(&x, c2.data, c2.len);
    sl_buf_reset(&d);
    cr_assert_eq(codec_decompress(REC_CODEC_GZIP, x.data, x.len, &d, 1 << 20), 0);
    cr_assert_eq(d.len, 5700);
    cr_assert_eq(memcmp(d.data, t, 5000), 0);
    cr_assert_eq(memcmp(d.data + 5000, u, 700), 0);
    sl_buf_reset(&d);
    cr_assert_eq(codec_decompress(REC_CODEC_GZIP, x.data, x.len, &d, 5699), SL_ERR_CORRUPT_MESSAGE);
    sl_buf_reset(&x);
    sl_buf_append(&x, c.data, c.len);
    sl_buf_append(&x, "junk", 4);
    sl_buf_reset(&d);
    cr_assert_eq(codec_decompress(REC_CODEC_GZIP, x.data, x.len, &d, 1 << 20), SL_ERR_CORRUPT_MESSAGE);
    cr_assert_eq(d.len, 0);

    free(t);
    free(u);
    sl_buf_free(&c);
    sl_buf_free(&c2);
    sl_buf_free(&d);
    sl_buf_free(&x);
}

Test(codec, lz4_and_zstd_concatenated_frames)
{
    uint8_t *t = repetitive_data(3000, 71);
    struct sl_buf c = SL_BUF_INIT, d = SL_BUF_INIT;
    int cs[] = { REC_CODEC_LZ4, REC_CODEC_ZSTD };
    for (int i = 0; i < 2; i++) {
        sl_buf_reset(&c);
        codec_compress(cs[i], t, 1000, &c, CODEC_LEVEL_DEFAULT);
        codec_compress(cs[i], t + 1000, 2000, &c, CODEC_LEVEL_DEFAULT);
        sl_buf_reset(&d);
        cr_assert_eq(codec_decompress(cs[i], c.data, c.len, &d, 3000), 0, "%s", codec_name(cs[i]));
        cr_assert_eq(d.len, 3000);
        cr_assert_eq(memcmp(d.data, t, 3000), 0);
        sl_buf_append(&c, "x", 1);             /* a trailing partial frame */
        sl_buf_reset(&d);
        cr_assert_eq(codec_decompress(cs[i], c.data, c.len, &d, 3000), SL_ERR_CORRUPT_MESSAGE);
    }
    free(t);
    sl_buf_free(&c);
    sl_buf_free(&d);
}

/* ---- xerial snappy ---- */

static const uint8_t xerial_hdr[16] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1 };

/* Frame data as snappy-java does: header, then blocks of block_size input. */
static void
xerial_build(struct sl_buf *out, const uint8_t *data, size_t n, size_t block_size,
             size_t *boundaries, size_t *nb)
{
    sl_buf_reset(out);
    sl_buf_append(out, xerial_hdr, sizeof(xerial_hdr));
    *nb = 0;
    for (size_t off = 0; off < n; off += block_size) {
        size_t len = n - off < block_size ? n - off : block_size;
        size_t clen = snappy_max_compressed_length(len);
        size_t at = out->len;
        sl_buf_put_i32(out, 0);
        cr_assert_eq(sl_buf_reserve(out, clen), 0);
        cr_assert_eq(snappy_compress((const char *)data + off, len,
                                     (char *)out->data + out->len, &clen), SNAPPY_OK);
        out->len += clen;
        sl_buf_patch_i32(out, at, (int32_t)clen);
        if (boundaries)
            boundaries[(*nb)++] = out->len;
    }
}

Test(codec, xerial_snappy)
{
    uint8_t *t = repetitive_data(10000, 81);
    struct sl_buf x = SL_BUF_INIT, d = SL_BUF_INIT, y = SL_BUF_INIT;
    size_t bounds[16], nb;

    xerial_build(&x, t, 10000, 3000, bounds, &nb);
    cr_assert_eq(nb, 4);
    cr_assert_eq(codec_decompress(REC_CODEC_SNAPPY, x.data, x.len, &d, 10000), 0);
    cr_assert_eq(d.len, 10000);
    cr_assert_eq(memcmp(d.data, t, 10000), 0);
    sl_buf_reset(&d);
    cr_assert_eq(codec_decompress(REC_CODEC_SNAPPY, x.data, x.len, &d, 9999), SL_ERR_CORRUPT_MESSAGE);

    /* header only: empty */
    sl_buf_reset(&d);
    cr_assert_eq(codec_decompress(REC_CODEC_SNAPPY, xerial_hdr, 16, &d, 100), 0);
    cr_assert_eq(d.len, 0);

    /* Truncation anywhere except at a block boundary (the framing has no
     * end mark, so a cut there is a valid shorter stream) is refused. */
    for (size_t cut = 1; cut < x.len; cut++) {
        int boundary = cut == 16;
        for (size_t b = 0; b < nb; b++)
            boundary |= cut == bounds[b];
        struct guardbuf g;
        uint8_t *p = guardbuf_new(&g, x.data, cut);
        sl_buf_reset(&d);
        int rc = codec_decompress(REC_CODEC_SNAPPY, p, cut, &d, 1 << 20);
        if (boundary)
            cr_assert_eq(rc, 0, "cut at boundary %zu", cut);
        else
            cr_assert_eq(rc, SL_ERR_CORRUPT_MESSAGE, "cut at %zu: %d", cut, rc);
        guardbuf_free(&g);
    }

    /* block lengths that lie: past the end, negative, zero */
    static const uint32_t bad[] = { 0xffffffffu, 0x80000000u, 0, 100000 };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sl_buf_reset(&y);
        sl_buf_append(&y, x.data, x.len);
        rec_put_u32(y.data + 16, bad[i]);
        sl_buf_reset(&d);
        cr_assert_eq(codec_decompress(REC_CODEC_SNAPPY, y.data, y.len, &d, 1 << 20),
                     SL_ERR_CORRUPT_MESSAGE, "block length %u", bad[i]);
    }
    /* a block whose inner snappy length lies (claims 2^32 - 1) */
    sl_buf_reset(&y);
    sl_buf_append(&y, xerial_hdr, 16);
    sl_buf_put_i32(&y, 8);
    sl_buf_append(&y, "\xff\xff\xff\xff\x0f\x00\x61\x00", 8);
    sl_buf_free(&d);
    cr_assert_eq(codec_decompress(REC_CODEC_SNAPPY, y.data, y.len, &d, 1 << 20), SL_ERR_CORRUPT_MESSAGE);
    cr_assert_lt(d.cap, 4096);

    /* a batch with xerial-framed records validates */
    {
        struct sl_buf raw = SL_BUF_INIT, bt = SL_BUF_INIT, s = SL_BUF_INIT;
        cr_assert_eq(bg_append_simple(&raw, 1000, 1, 40, 8, 200, 1, 5), 0);
        xerial_build(&x, raw.data + REC_HDR_LEN, raw.len - REC_HDR_LEN, 1024, bounds, &nb);
        sl_buf_append(&bt, raw.data, REC_HDR_LEN);
        sl_buf_append(&bt, x.data, x.len);
        rec_put_u16(bt.data + REC_OFF_ATTRIBUTES, REC_CODEC_SNAPPY);
        rec_put_u32(bt.data + REC_OFF_LENGTH, (uint32_t)(bt.len - REC_LOG_OVERHEAD));
        rec_put_u32(bt.data + REC_OFF_CRC, rec_compute_crc(bt.data, bt.len));
        cr_assert_eq(codec_validate_batch(bt.data, bt.len, 1 << 20, &s), 0);
        cr_assert_eq(s.len, raw.len - REC_HDR_LEN);
        sl_buf_free(&raw);
        sl_buf_free(&bt);
        sl_buf_free(&s);
    }
    free(t);
    sl_buf_free(&x);
    sl_buf_free(&d);
    sl_buf_free(&y);
}

/* ---- decompression bombs ---- */

#define BOMB_SIZE   (100u << 20)
#define BOMB_BUDGET (1u << 20)

static void
check_bomb(int codec, const uint8_t *c, size_t clen, const char *what)
{
    struct sl_buf d = SL_BUF_INIT;
    double t0 = now_s();
    int rc = codec_decompress(codec, c, clen, &d, BOMB_BUDGET);
    double dt = now_s() - t0;
    cr_assert_eq(rc, SL_ERR_CORRUPT_MESSAGE, "%s: %d", what, rc);
    cr_assert_eq(d.len, 0);
    cr_assert_lt(d.cap, 4u << 20, "%s: buffer grew to %zu", what, d.cap);
    cr_assert_lt(dt, 5.0, "%s took %.2fs", what, dt);
    sl_buf_free(&d);
}

Test(codec, decompression_bombs)
{
    uint8_t *zeros = calloc(BOMB_SIZE, 1);
    struct sl_buf c = SL_BUF_INIT;
    size_t bounds[2048], nb;
    cr_assert(zeros);

    for (int i = 0; i < NCODECS; i++) {
        sl_buf_reset(&c);
        cr_assert_eq(codec_compress(codecs[i], zeros, BOMB_SIZE, &c, 1), 0);
        cr_assert_lt(c.len, BOMB_SIZE / 20);
        check_bomb(codecs[i], c.data, c.len, codec_name(codecs[i]));

        /* the same bomb inside a batch */
        struct sl_buf bt = SL_BUF_INIT, s = SL_BUF_INIT;
        cr_assert_eq(bg_append_simple(&bt, 0, 0, 1, 1, 1, 0, 1), 0);
        bt.len = REC_HDR_LEN;
        sl_buf_append(&bt, c.data, c.len);
        rec_put_u16(bt.data + REC_OFF_ATTRIBUTES, (uint16_t)codecs[i]);
        rec_put_u32(bt.data + REC_OFF_LENGTH, (uint32_t)(bt.len - REC_LOG_OVERHEAD));
        rec_put_u32(bt.data + REC_OFF_CRC, rec_compute_crc(bt.data, bt.len));
        cr_assert_eq(codec_validate_batch(bt.data, bt.len, BOMB_BUDGET, &s), SL_ERR_CORRUPT_MESSAGE);
        cr_assert_lt(s.cap, 4u << 20);
        sl_buf_free(&bt);
        sl_buf_free(&s);
    }
    /* xerial: many honest 64 KiB blocks that add up past the budget */
    xerial_build(&c, zeros, 100u << 20, 64u << 10, NULL, &nb);
    (void)bounds;
    check_bomb(REC_CODEC_SNAPPY, c.data, c.len, "xerial");
    free(zeros);
    sl_buf_free(&c);
}

/* ---- batches ---- */

/* Batch with the header fields of hdr_src, the given (already encoded)
 * records payload, codec bits and record count; length and CRC fixed up. */
static void
make_batch(struct sl_buf *out, const uint8_t *hdr_src, int codec,
           const uint8_t *payload, size_t len, int32_t count)
{
    sl_buf_reset(out);
    sl_buf_append(out, hdr_src, REC_HDR_LEN);
    sl_buf_append(out, payload, len);
    rec_put_u16(out->data + REC_OFF_ATTRIBUTES, (uint16_t)codec);
    rec_put_u32(out->data + REC_OFF_RECORD_COUNT, (uint32_t)count);
    rec_put_u32(out->data + REC_OFF_LAST_OFFSET_DELTA, (uint32_t)(count - 1));
    rec_put_u32(out->data + REC_OFF_LENGTH, (uint32_t)(out->len - REC_LOG_OVERHEAD));
    rec_put_u32(out->data + REC_OFF_CRC, rec_compute_crc(out->data, out->len));
}

static void
make_compressed(struct sl_buf *out, const uint8_t *hdr_src, int codec,
                const uint8_t *recs, size_t len, int32_t count)
{
    struct sl_buf c = SL_BUF_INIT;
    cr_assert_eq(codec_compress(codec, recs, len, &c, CODEC_LEVEL_DEFAULT), 0);
    make_batch(out, hdr_src, codec, c.data, c.len, count);
    sl_buf_free(&c);
}

Test(codec, compressed_batches_validate)
{
    struct sl_buf raw = SL_BUF_INIT, bt = SL_BUF_INIT, s = SL_BUF_INIT;
    struct sl_slice recs;
    int32_t n;

    cr_assert_eq(bg_append_simple(&raw, 1700000000000LL, 3, 50, 6, 120, 2, 9), 0);
    cr_assert_eq(codec_validate_batch(raw.data, raw.len, 1 << 20, &s), 0, "uncompressed");
    cr_assert_eq(codec_batch_records(raw.data, raw.len, 1 << 20, &s, &recs, &n), 0);
    cr_assert_eq(recs.p, raw.data + REC_HDR_LEN, "uncompressed: points into the batch");
    cr_assert_eq(n, 50);

    for (int i = 0; i < NCODECS; i++) {
        sl_buf_reset(&bt);
        cr_assert_eq(codec_recompress_batch(raw.data, raw.len, codecs[i], CODEC_LEVEL_DEFAULT,
                                            &bt, &s, 1 << 20), 0);
        cr_assert_eq(rec_get_u16(bt.data + REC_OFF_ATTRIBUTES) & REC_ATTR_CODEC_MASK, codecs[i]);
        cr_assert_lt(bt.len, raw.len, "%s compresses", codec_name(codecs[i]));
        cr_assert_eq(rec_validate_batch(bt.data, bt.len), 0);
        cr_assert_eq(codec_validate_batch(bt.data, bt.len, 1 << 20, &s), 0, "%s", codec_name(codecs[i]));
        cr_assert_eq(codec_batch_records(bt.data, bt.len, 1 << 20, &s, &recs, &n), 0);
        cr_assert_eq(n, 50);
        cr_assert_eq(recs.len, raw.len - REC_HDR_LEN);
        cr_assert_eq(memcmp(recs.p, raw.data + REC_HDR_LEN, recs.len), 0);
        /* budget below the records size: refused */
        cr_assert_eq(codec_validate_batch(bt.data, bt.len, raw.len - REC_HDR_LEN - 1, &s),
                     SL_ERR_CORRUPT_MESSAGE);
        /* a corrupted CRC is still caught first */
        bt.data[bt.len - 1] ^= 1;
        cr_assert_eq(codec_validate_batch(bt.data, bt.len, 1 << 20, &s), SL_ERR_CORRUPT_MESSAGE);
    }
    /* codec bits 5..7 */
    for (int c = 5; c < 8; c++) {
        make_batch(&bt, raw.data, c, raw.data + REC_HDR_LEN, raw.len - REC_HDR_LEN, 50);
        cr_assert_eq(codec_validate_batch(bt.data, bt.len, 1 << 20, &s),
                     SL_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    }
    sl_buf_free(&raw);
    sl_buf_free(&bt);
    sl_buf_free(&s);
}

Test(codec, bad_records_inside_compressed_batch)
{
    struct sl_buf raw = SL_BUF_INIT, bt = SL_BUF_INIT, s = SL_BUF_INIT, x = SL_BUF_INIT;
    const uint8_t *recs;
    size_t len;

    /* 3 small records (1-byte length varints), timestamp deltas 0 */
    cr_assert_eq(bg_append_simple(&raw, 1000, 0, 3, 4, 10, 0, 3), 0);
    recs = raw.data + REC_HDR_LEN;
    len = raw.len - REC_HDR_LEN;
    cr_assert_lt(recs[0], 0x80);
    cr_assert_eq(recs[3], 0, "record 0 offset delta");

    for (int i = 0; i < NCODECS; i++) {
        const char *cn = codec_name(codecs[i]);
        make_compressed(&bt, raw.data, codecs[i], recs, len, 3);
        cr_assert_eq(codec_validate_batch(bt.data, bt.len, 1 << 20, &s), 0, "%s", cn);
        /* header count 4 / 2 while the payload holds 3 */
        make_compressed(&bt, raw.data, codecs[i], recs, len, 4);
        cr_assert_eq(codec_validate_batch(bt.data, bt.len, 1 << 20, &s), SL_ERR_CORRUPT_MESSAGE, "%s", cn);
        make_compressed(&bt, raw.data, codecs[i], recs, len, 2);
        cr_assert_eq(codec_validate_batch(bt.data, bt.len, 1 << 20, &s), SL_ERR_CORRUPT_MESSAGE, "%s", cn);
        /* offset deltas 1,1,2 */
        sl_buf_reset(&x);
        sl_buf_append(&x, recs, len);
        x.data[3] = 2;                         /* zigzag 1 */
        make_compressed(&bt, raw.data, codecs[i], x.data, x.len, 3);
        cr_assert_eq(codec_validate_batch(bt.data, bt.len, 1 << 20, &s), SL_ERR_INVALID_RECORD, "%s", cn);
        /* trailing byte after the last record */
        sl_buf_reset(&x);
        sl_buf_append(&x, recs, len);
        sl_buf_append(&x, "", 1);
        make_compressed(&bt, raw.data, codecs[i], x.data, x.len, 3);
        cr_assert_eq(codec_validate_batch(bt.data, bt.len, 1 << 20, &s), SL_ERR_CORRUPT_MESSAGE, "%s", cn);
        /* record truncated inside the compressed stream */
        make_compressed(&bt, raw.data, codecs[i], recs, len - 1, 3);
        cr_assert_eq(codec_validate_batch(bt.data, bt.len, 1 << 20, &s), SL_ERR_CORRUPT_MESSAGE, "%s", cn);
        /* compressed bytes that are not a valid stream (CRC is fine) */
        make_batch(&bt, raw.data, codecs[i], recs, len, 3);
        cr_assert_eq(codec_validate_batch(bt.data, bt.len, 1 << 20, &s), SL_ERR_CORRUPT_MESSAGE, "%s", cn);
        /* recompressing a bad batch fails and leaves out alone */
        make_compressed(&bt, raw.data, codecs[i], recs, len, 4);
        sl_buf_reset(&x);
        cr_assert_eq(codec_recompress_batch(bt.data, bt.len, REC_CODEC_NONE, 0, &x, &s, 1 << 20),
                     SL_ERR_CORRUPT_MESSAGE);
        cr_assert_eq(x.len, 0);
    }
    sl_buf_free(&raw);
    sl_buf_free(&bt);
    sl_buf_free(&s);
    sl_buf_free(&x);
}

Test(codec, recompress_round_trip)
{
    struct sl_buf raw = SL_BUF_INIT, a = SL_BUF_INIT, b = SL_BUF_INIT, s = SL_BUF_INIT;
    struct bg_batch bb;
    struct bg_record recs[20];
    struct bg_header hd = { "h", 1, "v", 1 };
    char vals[20][64];

    bg_batch_init(&bb, 1700000000000LL);
    bb.base_offset = 1234;
    bb.leader_epoch = 7;
    bb.producer_id = 42;
    bb.producer_epoch = 3;
    bb.base_sequence = 100;
    bb.attributes = REC_ATTR_TRANSACTIONAL;
    for (int i = 0; i < 20; i++) {
        snprintf(vals[i], sizeof(vals[i]), "value number %d of the round trip", i);
        recs[i] = (struct bg_record){ "key", 3, vals[i], (int32_t)strlen(vals[i]), i * 5,
                                      i % 3 ? &hd : NULL, i % 3 ? 1 : 0 };
    }
    recs[4].key_len = -1;                      /* null key */
    recs[5].value_len = -1;                    /* tombstone */
    cr_assert_eq(bg_append(&raw, &bb, recs, 20, NULL), 0);
    cr_assert_eq(rec_validate_batch(raw.data, raw.len), 0);

    /* none -> gzip -> zstd -> snappy -> lz4 -> none */
    static const int chain[] = { REC_CODEC_GZIP, REC_CODEC_ZSTD, REC_CODEC_SNAPPY,
                                 REC_CODEC_LZ4, REC_CODEC_NONE };
    sl_buf_append(&a, raw.data, raw.len);
    for (size_t i = 0; i < sizeof(chain) / sizeof(chain[0]); i++) {
        sl_buf_reset(&b);
        sl_buf_append(&b, "prefix", 6);        /* appends after what is there */
        cr_assert_eq(codec_recompress_batch(a.data, a.len, chain[i], CODEC_LEVEL_DEFAULT,
                                            &b, &s, 1 << 20), 0, "to %s", codec_name(chain[i]));
        cr_assert_eq(memcmp(b.data, "prefix", 6), 0);
        sl_buf_reset(&a);
        sl_buf_append(&a, b.data + 6, b.len - 6);
        cr_assert_eq(codec_validate_batch(a.data, a.len, 1 << 20, &s), 0);
        struct rec_batch_hdr h;
        cr_assert_eq(rec_parse_hdr(a.data, a.len, a.len, &h), 0);
        cr_assert_eq(h.base_offset, 1234);
        cr_assert_eq(h.leader_epoch, 7);
        cr_assert_eq(h.producer_id, 42);
        cr_assert_eq(h.producer_epoch, 3);
        cr_assert_eq(h.base_sequence, 100);
        cr_assert_eq(h.record_count, 20);
        cr_assert_eq(h.attributes, REC_ATTR_TRANSACTIONAL | chain[i]);
    }
    cr_assert_eq(a.len, raw.len);
    cr_assert_eq(memcmp(a.data, raw.data, raw.len), 0, "byte-identical after the chain");

    cr_assert_eq(codec_recompress_batch(raw.data, raw.len, 5, 0, &b, &s, 1 << 20),
                 SL_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    cr_assert_eq(codec_recompress_batch(raw.data, raw.len, REC_CODEC_GZIP, 0, &s, &s, 1 << 20),
                 SL_ERR__INVALID_ARG);
    sl_buf_free(&raw);
    sl_buf_free(&a);
    sl_buf_free(&b);
    sl_buf_free(&s);
}

/* A 1 MiB lz4 batch validates; the scratch buffer is reused across calls. */
Test(codec, lz4_one_mib_batch)
{
    struct sl_buf raw = SL_BUF_INIT, bt = SL_BUF_INIT, s = SL_BUF_INIT;
    size_t cap;

    cr_assert_eq(bg_append_simple(&raw, 1700000000000LL, 1, 1024, 16, 1000, 1, 77), 0);
    cr_assert_gt(raw.len, 1 << 20);
    cr_assert_eq(codec_recompress_batch(raw.data, raw.len, REC_CODEC_LZ4, CODEC_LEVEL_DEFAULT,
                                        &bt, &s, 2 << 20), 0);
    cr_assert_eq(codec_validate_batch(bt.data, bt.len, 2 << 20, &s), 0);
    cr_assert_eq(s.len, raw.len - REC_HDR_LEN);
    cap = s.cap;
    for (int i = 0; i < 5; i++)
        cr_assert_eq(codec_validate_batch(bt.data, bt.len, 2 << 20, &s), 0);
    cr_assert_eq(s.cap, cap, "warm scratch does not grow");
    cr_assert_eq(codec_validate_batch(bt.data, bt.len, 1 << 20, &s), SL_ERR_CORRUPT_MESSAGE,
                 "records larger than the bound");
    sl_buf_free(&raw);
    sl_buf_free(&bt);
    sl_buf_free(&s);
}

/* ---- lz4 frames: codec.c's own frame parser against liblz4's LZ4F ---- */

/* The reference: codec.c's former decoder, LZ4F_decompress in a loop over
 * bounded output steps (concatenated frames, nothing after the last). */
#define REF_STEP (256u * 1024u)

static int
lz4f_reference(const uint8_t *in, size_t in_len, struct sl_buf *out, size_t max_out)
{
    LZ4F_dctx *dctx;
    size_t pos = 0, produced = 0, start = out->len, r;
    int rc;

    cr_assert(!LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)));
    for (;;) {
        size_t left = max_out - produced, want = left < REF_STEP ? left + 1 : REF_STEP;
        size_t dsz, ssz;
        cr_assert_eq(sl_buf_reserve(out, want), 0);
        dsz = out->cap - out->len;
        if (left < dsz)
            dsz = left + 1;
        ssz = in_len - pos;
        r = LZ4F_decompress(dctx, out->data + out->len, &dsz, in + pos, &ssz, NULL);
        if (LZ4F_isError(r)) {
            rc = SL_ERR_CORRUPT_MESSAGE;
            break;
        }
        pos += ssz;
        out->len += dsz;
        produced += dsz;
        if (produced > max_out) {
            rc = SL_ERR_CORRUPT_MESSAGE;
            break;
        }
        if (r == 0 && pos == in_len) {
            rc = 0;
            break;
        }
        if (ssz == 0 && dsz == 0) {
            rc = SL_ERR_CORRUPT_MESSAGE;
            break;
        }
    }
    LZ4F_freeDecompressionContext(dctx);
    if (rc)
        out->len = start;
    return rc;
}

/* Both decoders on in[0..n) (over a guard page): same verdict, same bytes. */
static int
lz4_same(const uint8_t *in, size_t n, size_t max_out, const char *what, size_t at)
{
    struct sl_buf a = SL_BUF_INIT, b = SL_BUF_INIT;
    struct guardbuf g;
    uint8_t *p = guardbuf_new(&g, in, n);
    int ra, rb;

    cr_assert(p);
    ra = codec_decompress(REC_CODEC_LZ4, n ? p : NULL, n, &a, max_out);
    rb = lz4f_reference(p, n, &b, max_out);
    cr_assert(ra == 0 || ra == SL_ERR_CORRUPT_MESSAGE, "%s @%zu: rc %d", what, at, ra);
    cr_assert_eq(ra, rb, "%s @%zu (len %zu, budget %zu): ours %d, LZ4F %d", what, at, n,
                 max_out, ra, rb);
    if (ra == 0) {
        cr_assert_eq(a.len, b.len, "%s @%zu: %zu vs %zu bytes", what, at, a.len, b.len);
        cr_assert(a.len == 0 || memcmp(a.data, b.data, a.len) == 0, "%s @%zu: content", what, at);
    } else {
        cr_assert_eq(a.len, 0);
    }
    guardbuf_free(&g);
    sl_buf_free(&a);
    sl_buf_free(&b);
    return ra;
}

/* A frame written by LZ4F's streaming API with the given settings, data
 * fed in chunks of `chunk` bytes. */
static void
lz4f_build(struct sl_buf *out, const uint8_t *data, size_t n, LZ4F_blockSizeID_t bsid,
           int linked, int content_sum, int block_sum, int with_size, unsigned dict_id,
           size_t chunk)
{
    LZ4F_cctx *cctx;
    LZ4F_preferences_t prefs;
    size_t cap, r;

    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = bsid;
    prefs.frameInfo.blockMode = linked ? LZ4F_blockLinked : LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = content_sum ? LZ4F_contentChecksumEnabled : 0;
    prefs.frameInfo.blockChecksumFlag = block_sum ? LZ4F_blockChecksumEnabled : 0;
    prefs.frameInfo.contentSize = with_size ? n : 0;
    prefs.frameInfo.dictID = dict_id;
    cr_assert(!LZ4F_isError(LZ4F_createCompressionContext(&cctx, LZ4F_VERSION)));
    cap = LZ4F_compressBound(n, &prefs) + LZ4F_HEADER_SIZE_MAX + 64 + n / 16;
    cr_assert_eq(sl_buf_reserve(out, cap), 0);
    r = LZ4F_compressBegin(cctx, out->data + out->len, cap, &prefs);
    cr_assert(!LZ4F_isError(r));
    out->len += r;
    for (size_t off = 0; off < n; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk;
        cr_assert_eq(sl_buf_reserve(out, LZ4F_compressBound(len, &prefs)), 0);
        r = LZ4F_compressUpdate(cctx, out->data + out->len, out->cap - out->len, data + off, len,
                                NULL);
        cr_assert(!LZ4F_isError(r), "%s", LZ4F_getErrorName(r));
        out->len += r;
    }
    cr_assert_eq(sl_buf_reserve(out, LZ4F_compressBound(0, &prefs) + 8), 0);
    r = LZ4F_compressEnd(cctx, out->data + out->len, out->cap - out->len, NULL);
    cr_assert(!LZ4F_isError(r));
    out->len += r;
    LZ4F_freeCompressionContext(cctx);
}

/* Offsets of every block header of the (valid) frames in in[0..n). */
static size_t
lz4_block_headers(const uint8_t *in, size_t n, size_t *at, size_t max)
{
    size_t pos = 0, k = 0;
    while (pos + 7 <= n && k < max) {
        uint8_t flg = in[pos + 4];
        if (in[pos] >= 0x50 && in[pos] <= 0x5f && in[pos + 1] == 0x2a) {   /* skippable */
            pos += 8 + ((size_t)in[pos + 4] | (size_t)in[pos + 5] << 8 |
                        (size_t)in[pos + 6] << 16 | (size_t)in[pos + 7] << 24);
            continue;
        }
        size_t bmax = (size_t)1 << (8 + 2 * ((in[pos + 5] >> 4) & 7));
        pos += 7 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
        for (;;) {
            uint32_t bh = (uint32_t)in[pos] | (uint32_t)in[pos + 1] << 8 |
                          (uint32_t)in[pos + 2] << 16 | (uint32_t)in[pos + 3] << 24;
            at[k++] = pos;
            pos += 4;
            if (bh == 0 || k == max)
                break;
            cr_assert_leq(bh & 0x7fffffffu, bmax);
            pos += (bh & 0x7fffffffu) + ((flg & 0x10) ? 4 : 0);
        }
        pos += (flg & 0x04) ? 4 : 0;
    }
    return k;
}

/* Replace the header checksum byte of the frame at f (header length hlen)
 * with the one LZ4F accepts, if any; 1 if found. */
static int
lz4_fix_hc(uint8_t *f, size_t hlen)
{
    for (int hc = 0; hc < 256; hc++) {
        LZ4F_dctx *d;
        LZ4F_frameInfo_t fi;
        size_t sz = hlen;
        f[hlen - 1] = (uint8_t)hc;
        cr_assert(!LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)));
        size_t r = LZ4F_getFrameInfo(d, &fi, f, &sz);
        LZ4F_freeDecompressionContext(d);
        if (!LZ4F_isError(r))
            return 1;
    }
    return 0;
}

/* The differential battery on one valid input: whole (with tight budgets),
 * truncations, every bit of the headers and block headers, random flips. */
static void
lz4_battery(const uint8_t *in, size_t n, size_t content, const char *what, uint64_t seed)
{
    struct sl_buf m = SL_BUF_INIT;
    size_t heads[512], nh, step = n > 4000 ? n / 1500 : 1;

    cr_assert_eq(lz4_same(in, n, content, what, 0), 0, "%s: whole", what);
    cr_assert_eq(lz4_same(in, n, 1 << 24, what, 0), 0);
    if (content > 0)
        cr_assert_eq(lz4_same(in, n, content - 1, what, 1), SL_ERR_CORRUPT_MESSAGE);
    for (size_t cut = 0; cut < n; cut += (cut < 64 || n - cut < 64) ? 1 : step)
        lz4_same(in, cut, 1 << 24, "truncated", cut);
    nh = lz4_block_headers(in, n, heads, 512);
    sl_buf_append(&m, in, n);
    for (size_t at = 0; at < n; at++) {
        int near_hdr = at < 24;
        for (size_t k = 0; k < nh && !near_hdr; k++)
            near_hdr = at >= heads[k] && at < heads[k] + 4;
        if (!near_hdr)
            continue;
        for (int bit = 0; bit < 8; bit++) {
            m.data[at] ^= (uint8_t)(1u << bit);
            lz4_same(m.data, n, 1 << 24, "flipped header bit", at * 8 + (size_t)bit);
            m.data[at] ^= (uint8_t)(1u << bit);
        }
    }
    for (int iter = 0; iter < 400; iter++) {
        size_t at = bg_rand(&seed) % n;
        uint8_t old = m.data[at];
        m.data[at] ^= (uint8_t)(1u << (bg_rand(&seed) % 8));
        lz4_same(m.data, n, content + 16, "flipped bit", at);
        m.data[at] = old;
    }
    sl_buf_free(&m);
}

Test(codec, lz4_frames_match_lz4f)
{
    size_t n = 300000;
    uint8_t *t = repetitive_data(n, 91), *r = random_data(n, 92), *mix = malloc(n);
    struct sl_buf c = SL_BUF_INIT;
    cr_assert(mix);
    for (size_t i = 0; i < n; i += 50000)          /* compressible and stored blocks */
        memcpy(mix + i, (i / 50000) % 2 ? r + i : t + i, n - i < 50000 ? n - i : 50000);

    struct { const char *name; const uint8_t *data; size_t len; LZ4F_blockSizeID_t bsid;
             int linked, csum, bsum, size; unsigned dict; size_t chunk; } v[] = {
        { "default",         t,   5000,   LZ4F_max64KB,  0, 0, 0, 0, 0, 5000 },
        { "independent 64K", mix, n,      LZ4F_max64KB,  0, 0, 0, 0, 0, 7000 },
        { "linked 64K",      t,   200000, LZ4F_max64KB,  1, 0, 0, 0, 0, 3000 },
        { "checksums",       mix, 200000, LZ4F_max64KB,  0, 1, 1, 0, 0, 9999 },
        { "linked sums size",mix, n,      LZ4F_max256KB, 1, 1, 1, 1, 0, 65536 },
        { "size + dict id",  t,   70000,  LZ4F_max64KB,  0, 0, 0, 1, 77, 70000 },
        { "1 MiB blocks",    mix, n,      LZ4F_max1MB,   0, 0, 1, 0, 0, 100000 },
        { "4 MiB blocks",    t,   n,      LZ4F_max4MB,   0, 1, 0, 1, 0, n },
        /* checksum of no content, into a buffer that never got memory */
        { "empty",           t,   0,      LZ4F_max64KB,  0, 1, 0, 0, 0, 1 },
        { "tiny",            r,   3,      LZ4F_max64KB,  1, 1, 1, 1, 0, 1 },
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        sl_buf_reset(&c);
        lz4f_build(&c, v[i].data, v[i].len, v[i].bsid, v[i].linked, v[i].csum, v[i].bsum,
                   v[i].size, v[i].dict, v[i].chunk);
        lz4_battery(c.data, c.len, v[i].len, v[i].name, i + 1);
    }
    /* concatenated frames of different kinds, with skippable frames between */
    sl_buf_reset(&c);
    sl_buf_append(&c, "\x5f\x2a\x4d\x18\x03\x00\x00\x00xyz", 11);   /* skippable, 3 bytes */
    lz4f_build(&c, t, 70000, LZ4F_max64KB, 1, 1, 0, 1, 0, 4096);
    sl_buf_append(&c, "\x50\x2a\x4d\x18\x00\x00\x00\x00", 8);       /* skippable, empty */
    lz4f_build(&c, r, 1000, LZ4F_max4MB, 0, 0, 1, 0, 0, 1000);
    lz4_battery(c.data, c.len, 71000, "concatenated", 99);
    /* only a skippable frame: no output, accepted by both */
    cr_assert_eq(lz4_same((const uint8_t *)"\x5a\x2a\x4d\x18\x01\x00\x00\x00!", 9, 100,
                          "skippable only", 0), 0);
    free(t);
    free(r);
    free(mix);
    sl_buf_free(&c);
}

/* Headers and blocks built by hand: each must get LZ4F's verdict. */
Test(codec, lz4_hand_made_frames)
{
    uint8_t *t = repetitive_data(100000, 95);
    struct sl_buf c = SL_BUF_INIT, x = SL_BUF_INIT;
    uint8_t blk[LZ4_COMPRESSBOUND(100000)];
    int blen;

    /* a minimal frame: magic, FLG (version 01, independent), BD (64 KiB), HC */
    static const uint8_t hdr[7] = { 0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0 };

    /* every FLG / BD value, header checksum made right where LZ4F allows */
    for (int which = 0; which < 2; which++) {
        for (int val = 0; val < 256; val++) {
            sl_buf_reset(&x);
            sl_buf_append(&x, hdr, 7);
            x.data[4 + which] = (uint8_t)val;
            size_t hlen = 7 + ((x.data[4] & 0x08) ? 8 : 0) + ((x.data[4] & 0x01) ? 4 : 0);
            while (x.len < hlen)                   /* content size 0, dict id 0 */
                sl_buf_append(&x, "\0", 1);
            int fixed = lz4_fix_hc(x.data, hlen);
            sl_buf_append(&x, "\x05\x00\x00\x80hello\0\0\0\0", 13);   /* stored block, end */
            if (x.data[4] & 0x04)
                sl_buf_append(&x, "\0\0\0\0", 4);   /* a (wrong) content checksum */
            if (fixed) {
                lz4_same(x.data, x.len, 1 << 20, which ? "BD" : "FLG", (size_t)val);
                continue;
            }
            /* LZ4F refuses every checksum: so must we, the right one included */
            for (int hc = 0; hc < 256; hc++) {
                x.data[hlen - 1] = (uint8_t)hc;
                cr_assert_eq(lz4_same(x.data, x.len, 1 << 20, which ? "BD" : "FLG",
                                      (size_t)(val * 256 + hc)), SL_ERR_CORRUPT_MESSAGE);
            }
        }
    }
    /* content size field 0 with content: LZ4F reads 0 as unknown, accepts */
    sl_buf_reset(&x);
    sl_buf_append(&x, "\x04\x22\x4d\x18\x68\x40\0\0\0\0\0\0\0\0\0", 15);
    cr_assert(lz4_fix_hc(x.data, 15));
    sl_buf_append(&x, "\x05\x00\x00\x80hello\0\0\0\0", 13);
    cr_assert_eq(lz4_same(x.data, x.len, 100, "content size 0", 0), 0);
    /* content size 4 and 6 with 5 bytes of content: refused */
    for (int cs = 4; cs <= 6; cs += 2) {
        x.data[6] = (uint8_t)cs;
        cr_assert(lz4_fix_hc(x.data, 15));
        cr_assert_eq(lz4_same(x.data, x.len, 100, "content size", (size_t)cs),
                     SL_ERR_CORRUPT_MESSAGE);
    }
    /* a content size over the budget is refused before anything is reserved */
    {
        struct sl_buf d = SL_BUF_INIT;
        x.data[6] = 0;
        x.data[13] = 1;                        /* 2^56 */
        cr_assert(lz4_fix_hc(x.data, 15));
        cr_assert_eq(codec_decompress(REC_CODEC_LZ4, x.data, x.len, &d, 1 << 20),
                     SL_ERR_CORRUPT_MESSAGE);
        cr_assert_eq(d.cap, 0);
        sl_buf_free(&d);
    }

    /* block sizes around the maximum: a stored block of 64 KiB is fine,
     * 64 KiB + 1 is not; an empty stored block (0x80000000) is fine */
    for (int over = 0; over <= 1; over++) {
        uint32_t bs = 65536u + (uint32_t)over;
        sl_buf_reset(&x);
        sl_buf_append(&x, hdr, 7);
        lz4_fix_hc(x.data, 7);
        sl_buf_append(&x, (uint8_t[]){ (uint8_t)bs, (uint8_t)(bs >> 8), (uint8_t)(bs >> 16), 0x80 }, 4);
        sl_buf_append(&x, t, bs);
        sl_buf_append(&x, "\0\0\0\0", 4);
        cr_assert_eq(lz4_same(x.data, x.len, 1 << 20, "stored block size", bs),
                     over ? SL_ERR_CORRUPT_MESSAGE : 0);
    }
    sl_buf_reset(&x);
    sl_buf_append(&x, hdr, 7);
    lz4_fix_hc(x.data, 7);
    sl_buf_append(&x, "\x00\x00\x00\x80\x00\x00\x00\x80\x00\x00\x00\x00", 12);
    cr_assert_eq(lz4_same(x.data, x.len, 0, "empty stored blocks", 0), 0);

    /* a compressed block that decodes past the 64 KiB block maximum */
    blen = LZ4_compress_default((const char *)t, (char *)blk, 100000, (int)sizeof(blk));
    cr_assert_gt(blen, 0);
    cr_assert_lt(blen, 65536);
    sl_buf_reset(&x);
    sl_buf_append(&x, hdr, 7);
    lz4_fix_hc(x.data, 7);
    sl_buf_append(&x, (uint8_t[]){ (uint8_t)blen, (uint8_t)(blen >> 8), 0, 0 }, 4);
    sl_buf_append(&x, blk, (size_t)blen);
    sl_buf_append(&x, "\0\0\0\0", 4);
    cr_assert_eq(lz4_same(x.data, x.len, 1 << 20, "block over its maximum", 0),
                 SL_ERR_CORRUPT_MESSAGE);
    /* ... which is fine in a 256 KiB-block frame */
    x.data[5] = 0x50;
    lz4_fix_hc(x.data, 7);
    cr_assert_eq(lz4_same(x.data, x.len, 1 << 20, "block in 256 KiB frame", 0), 0);

    /* a linked frame whose blocks refer back, relabelled independent: refused */
    sl_buf_reset(&c);
    lz4f_build(&c, t, 100000, LZ4F_max64KB, 1, 0, 0, 0, 0, 100000);
    cr_assert_eq(lz4_same(c.data, c.len, 100000, "linked", 0), 0);
    c.data[4] |= 0x20;
    cr_assert(lz4_fix_hc(c.data, 7));
    cr_assert_eq(lz4_same(c.data, c.len, 100000, "linked as independent", 0),
                 SL_ERR_CORRUPT_MESSAGE);

    /* garbage after a frame, a second frame cut short, a bad skippable size */
    sl_buf_reset(&c);
    lz4f_build(&c, t, 1000, LZ4F_max64KB, 0, 0, 0, 0, 0, 1000);
    for (size_t extra = 1; extra <= 8; extra++) {
        sl_buf_reset(&x);
        sl_buf_append(&x, c.data, c.len);
        sl_buf_append(&x, c.data, extra);
        lz4_same(x.data, x.len, 1 << 20, "frame + prefix of another", extra);
    }
    sl_buf_reset(&x);
    sl_buf_append(&x, "\x50\x2a\x4d\x18\x05\x00\x00\x00" "abcd", 12);
    cr_assert_eq(lz4_same(x.data, x.len, 100, "skippable short", 0), SL_ERR_CORRUPT_MESSAGE);

    free(t);
    sl_buf_free(&c);
    sl_buf_free(&x);
}

/* Memory stays bounded by the budget with 4 MiB blocks too: a bomb in one
 * big block gets at most budget + 1 bytes of room. */
Test(codec, lz4_big_block_bomb_bounded)
{
    size_t n = 4u << 20;
    uint8_t *zeros = calloc(n, 1);
    struct sl_buf c = SL_BUF_INIT, d = SL_BUF_INIT;

    cr_assert(zeros);
    lz4f_build(&c, zeros, n, LZ4F_max4MB, 0, 0, 0, 0, 0, n);
    cr_assert_lt(c.len, 20000);
    cr_assert_eq(codec_decompress(REC_CODEC_LZ4, c.data, c.len, &d, 64 << 10),
                 SL_ERR_CORRUPT_MESSAGE);
    cr_assert_lt(d.cap, 256u << 10, "buffer grew to %zu", d.cap);
    cr_assert_eq(d.len, 0);
    sl_buf_reset(&d);
    cr_assert_eq(codec_decompress(REC_CODEC_LZ4, c.data, c.len, &d, n), 0);
    cr_assert_eq(d.len, n);
    free(zeros);
    sl_buf_free(&c);
    sl_buf_free(&d);
}
