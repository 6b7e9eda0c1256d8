/* storage/codec.c -- gzip, snappy, lz4 and zstd for RecordBatch v2 (see
 * codec.h). Every decoder writes into the caller's sl_buf in bounded steps:
 * before each step it reserves at most what is left of max_out plus one
 * byte, so an input that expands further is caught after at most
 * max_out + 1 bytes of output, never by allocating what it claims.
 */
#define ZLIB_CONST
#include <lz4.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>
#include "storage/codec.h"
#include "storage/err.h"
#include "storage/record.h"
#include "storage/recwalk.h"

#define CODEC_STEP      (256u * 1024u)   /* output reserved per decoder step */
#define LZ4_LEVEL_MAX   12               /* LZ4HC_CLEVEL_MAX */
#define ZSTD_LEVEL_DEF  3

static const uint8_t xerial_magic[8] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0 };
#define XERIAL_HDR_LEN  16               /* magic + int32 version + int32 compat */

static const uint8_t empty_input[1];

const char *
codec_name(int codec)
{
    switch (codec) {
    case REC_CODEC_NONE:   return "none";
    case REC_CODEC_GZIP:   return "gzip";
    case REC_CODEC_SNAPPY: return "snappy";
    case REC_CODEC_LZ4:    return "lz4";
    case REC_CODEC_ZSTD:   return "zstd";
    default:               return "unknown";
    }
}

int
codec_from_name(const char *name)
{
    static const char *const names[] = { "none", "gzip", "snappy", "lz4", "zstd" };
    if (!name)
        return -1;
    if (strcmp(name, "uncompressed") == 0)
        return REC_CODEC_NONE;
    for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

/* Reserve the next output step: *room gets how many bytes the decoder may
 * write at the returned pointer, never more than max_out - produced + 1. */
static uint8_t *
out_step(struct sl_buf *out, size_t produced, size_t max_out, size_t *room)
{
    size_t left = max_out - produced;          /* callers keep produced <= max_out */
    size_t want = left < CODEC_STEP ? left + 1 : CODEC_STEP;
    size_t have;

    if (sl_buf_reserve(out, want) != 0)
        return NULL;
    have = out->cap - out->len;                /* use what doubling already gave */
    *room = left < have ? left + 1 : have;
    return out->data + out->len;
}

/* ---- gzip ---- */

static int
gz_decompress(const uint8_t *in, size_t in_len, struct sl_buf *out, size_t max_out)
{
    z_stream zs;
    size_t produced = 0, room;
    int zr, rc;

    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 16) != Z_OK)    /* gzip wrapper only */
        return SL_ERR__NOMEM;
    for (;;) {
        uInt feed = in_len > UINT_MAX ? UINT_MAX : (uInt)in_len;
        uint8_t *dst = out_step(out, produced, max_out, &room);
        if (!dst) {
            rc = SL_ERR__NOMEM;
            break;
        }
        if (room > UINT_MAX)
            room = UINT_MAX;
        zs.next_in = in;
        zs.avail_in = feed;
        zs.next_out = dst;
        zs.avail_out = (uInt)room;
        zr = inflate(&zs, Z_NO_FLUSH);
        in += feed - zs.avail_in;
        in_len -= feed - zs.avail_in;
        out->len += room - zs.avail_out;
        produced += room - zs.avail_out;
        if (produced > max_out) {
            rc = SL_ERR_CORRUPT_MESSAGE;
            break;
        }
        if (zr == Z_STREAM_END) {
            if (in_len == 0) {
                rc = 0;
                break;
            }
            if (inflateReset(&zs) != Z_OK) {   /* another gzip member follows */
                rc = SL_ERR_CORRUPT_MESSAGE;
                break;
            }
        } else if (zr != Z_OK) {
            /* Z_BUF_ERROR: no progress with room to spare = input ended */
            rc = zr == Z_MEM_ERROR ? SL_ERR__NOMEM : SL_ERR_CORRUPT_MESSAGE;
            break;
        }
    }
    inflateEnd(&zs);
    return rc;
}

static int
gz_compress(const uint8_t *in, size_t in_len, struct sl_buf *out, int level)
{
    z_stream zs;
    uLong bound;
    int rc = 0;

    if (level == CODEC_LEVEL_DEFAULT)
        level = Z_DEFAULT_COMPRESSION;
    else if (level < 0)
        level = 0;
    else if (level > 9)
        level = 9;
    if (in_len > UINT_MAX / 2)
        return SL_ERR__INVALID_ARG;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return SL_ERR__NOMEM;
    bound = deflateBound(&zs, (uLong)in_len);
    if (bound > UINT_MAX) {
        rc = SL_ERR__INVALID_ARG;
    } else if (sl_buf_reserve(out, bound) != 0) {
        rc = SL_ERR__NOMEM;
    } else {
        zs.next_in = in;
        zs.avail_in = (uInt)in_len;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)bound;
        if (deflate(&zs, Z_FINISH) == Z_STREAM_END)
            out->len += bound - zs.avail_out;
        else
            rc = SL_ERR__NOMEM;
    }
    deflateEnd(&zs);
    return rc;
}

/* ---- snappy ---- */

/* One raw snappy block, its declared length checked against the budget. */
static int
snappy_block(const uint8_t *in, size_t in_len, struct sl_buf *out,
             size_t *produced, size_t max_out)
{
    size_t ulen, got;

    if (snappy_uncompressed_length((const char *)in, in_len, &ulen) != SNAPPY_OK)
        return SL_ERR_CORRUPT_MESSAGE;
    if (ulen > max_out - *produced)
        return SL_ERR_CORRUPT_MESSAGE;
    if (sl_buf_reserve(out, ulen ? ulen : 1) != 0)
        return SL_ERR__NOMEM;
    got = ulen;
    if (snappy_uncompress((const char *)in, in_len, (char *)out->data + out->len, &got)
            != SNAPPY_OK || got != ulen)
        return SL_ERR_CORRUPT_MESSAGE;
    out->len += ulen;
    *produced += ulen;
    return 0;
}

static int
snappy_decompress(const uint8_t *in, size_t in_len, struct sl_buf *out, size_t max_out)
{
    size_t produced = 0;
    int rc;

    if (in_len < XERIAL_HDR_LEN || memcmp(in, xerial_magic, sizeof(xerial_magic)) != 0)
        return snappy_block(in, in_len, out, &produced, max_out);
    /* xerial framing; version and compat words are not checked (as librdkafka) */
    in += XERIAL_HDR_LEN;
    in_len -= XERIAL_HDR_LEN;
    while (in_len > 0) {
        uint32_t blen;
        if (in_len < 4)
            return SL_ERR_CORRUPT_MESSAGE;
        blen = rec_get_u32(in);
        in += 4;
        in_len -= 4;
        if (blen > in_len || blen > INT32_MAX)
            return SL_ERR_CORRUPT_MESSAGE;
        if ((rc = snappy_block(in, blen, out, &produced, max_out)) != 0)
            return rc;
        in += blen;
        in_len -= blen;
    }
    return 0;
}

static int
snappy_compress_raw(const uint8_t *in, size_t in_len, struct sl_buf *out)
{
    size_t olen;

    if (in_len > UINT32_MAX)
        return SL_ERR__INVALID_ARG;
    olen = snappy_max_compressed_length(in_len);
    if (sl_buf_reserve(out, olen) != 0)
        return SL_ERR__NOMEM;
    if (snappy_compress((const char *)in, in_len, (char *)out->data + out->len, &olen)
            != SNAPPY_OK)
        return SL_ERR__NOMEM;
    out->len += olen;
    return 0;
}

/* ---- lz4 frame ----
 *
 * Decoded here rather than with LZ4F_decompress, which allocates a context
 * and two block-sized buffers per call (8 MiB for 4 MiB blocks) and, when
 * the output room is smaller than a block, decodes through its own buffer
 * and copies: the frame is parsed directly (spec: lz4_Frame_format.md,
 * v1.6) and every block goes through LZ4_decompress_safe straight into
 * out. Same speed on large batches of 64 KiB blocks, ~15% faster on small
 * ones (bench_codecs, "lz4 frame decoding"). It accepts exactly
 * what liblz4's LZ4F_decompress (1.9.x) accepts, in a loop over
 * concatenated frames (tests/test_codec.c checks this against LZ4F):
 *
 *   skippable frame  magic 0x184D2A5? + LE32 size + that many bytes
 *   frame            magic 0x184D2204, FLG (version 01, reserved bit 1
 *                    clear), BD (reserved bits clear, block size id 4..7),
 *                    [content size LE64] [dict id LE32, ignored as LZ4F
 *                    does without a dictionary], header checksum
 *                    (second byte of XXH32 of FLG..dict id)
 *   blocks           LE32 header (bit 31: stored uncompressed), size <=
 *                    the block maximum, data, [block checksum XXH32 of the
 *                    data]; each compressed block decodes to at most the
 *                    block maximum; linked blocks may refer to the frame's
 *                    earlier output (at most 64 KiB back)
 *   end mark         LE32 0, then [content checksum XXH32 of the frame's
 *                    output]; a non-zero content size must match the output
 *
 * Output is bounded as in the other decoders: a compressed block gets at
 * most min(block maximum, what is left of max_out + 1) bytes of room, so
 * an input that expands further fails there or is caught by the count. */

#define FR_MAGIC            0x184D2204u
#define FR_SKIPPABLE_MAGIC  0x184D2A50u   /* low 4 bits free */
#define FR_BLOCK_STORED     0x80000000u
#define FR_MIN_HDR          7             /* magic FLG BD HC */

static inline uint32_t
le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint32_t
rotl32(uint32_t x, int r)
{
    return x << r | x >> (32 - r);
}

/* XXH32 (seed 0 in every use here), the frame format's checksum. */
static uint32_t
xxh32(const uint8_t *p, size_t len)
{
    static const uint32_t P1 = 0x9E3779B1u, P2 = 0x85EBCA77u, P3 = 0xC2B2AE3Du,
                          P4 = 0x27D4EB2Fu, P5 = 0x165667B1u;
    const uint8_t *end = p + len;
    uint32_t h;

    if (len >= 16) {
        uint32_t v1 = P1 + P2, v2 = P2, v3 = 0, v4 = 0u - P1;
        const uint8_t *limit = end - 16;
        do {
            v1 = rotl32(v1 + le32(p) * P2, 13) * P1;
            v2 = rotl32(v2 + le32(p + 4) * P2, 13) * P1;
            v3 = rotl32(v3 + le32(p + 8) * P2, 13) * P1;
            v4 = rotl32(v4 + le32(p + 12) * P2, 13) * P1;
            p += 16;
        } while (p <= limit);
        h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
    } else {
        h = P5;
    }
    h += (uint32_t)len;
    for (; end - p >= 4; p += 4)
        h = rotl32(h + le32(p) * P3, 17) * P4;
    for (; p < end; p++)
        h = rotl32(h + *p * P5, 11) * P1;
    h ^= h >> 15;
    h *= P2;
    h ^= h >> 13;
    h *= P3;
    h ^= h >> 16;
    return h;
}

/* One frame at in[*pos..in_len), appended to out; *produced counts the
 * output of every frame so far. */
static int
lz4_frame(const uint8_t *in, size_t in_len, size_t *pos, struct sl_buf *out,
          size_t *produced, size_t max_out)
{
    const uint8_t *f = in + *pos;
    size_t left = in_len - *pos, hlen, max_block, frame_start = out->len, p;
    uint64_t content_size = 0;
    unsigned flg, bd;
    int linked, block_sum;

    if (left < FR_MIN_HDR)
        return SL_ERR_CORRUPT_MESSAGE;
    if ((le32(f) & 0xFFFFFFF0u) == FR_SKIPPABLE_MAGIC) {
        uint32_t skip;
        if (left < 8 || (skip = le32(f + 4)) > left - 8)
            return SL_ERR_CORRUPT_MESSAGE;
        *pos += 8 + (size_t)skip;
        return 0;
    }
    flg = f[4];
    bd = f[5];
    if (le32(f) != FR_MAGIC || (flg >> 6) != 1 || (flg & 0x02) || (bd & 0x8F) ||
        ((bd >> 4) & 7) < 4)
        return SL_ERR_CORRUPT_MESSAGE;
    hlen = FR_MIN_HDR + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
    if (left < hlen || ((xxh32(f + 4, hlen - 5) >> 8) & 0xFF) != f[hlen - 1])
        return SL_ERR_CORRUPT_MESSAGE;
    if (flg & 0x08) {
        content_size = (uint64_t)le32(f + 6) | (uint64_t)le32(f + 10) << 32;
        if (content_size > max_out - *produced)   /* can only end over budget */
            return SL_ERR_CORRUPT_MESSAGE;
    }
    linked = !(flg & 0x20);
    block_sum = (flg & 0x10) ? 4 : 0;
    max_block = (size_t)1 << (8 + 2 * ((bd >> 4) & 7));   /* 64 KiB .. 4 MiB */
    p = *pos + hlen;

    for (;;) {
        const uint8_t *src;
        uint32_t bh;
        size_t bsize, room, left_out = max_out - *produced;
        int n;

        if (in_len - p < 4)
            return SL_ERR_CORRUPT_MESSAGE;
        bh = le32(in + p);
        p += 4;
        if (bh == 0)
            break;                             /* end mark */
        bsize = bh & ~FR_BLOCK_STORED;
        if (bsize > max_block || in_len - p < bsize + (size_t)block_sum)
            return SL_ERR_CORRUPT_MESSAGE;
        src = in + p;
        if (block_sum && xxh32(src, bsize) != le32(src + bsize))
            return SL_ERR_CORRUPT_MESSAGE;
        if (bh & FR_BLOCK_STORED) {
            if (bsize > left_out)
                return SL_ERR_CORRUPT_MESSAGE;
            if (bsize && !sl_buf_append(out, src, bsize))
                return SL_ERR__NOMEM;
            n = (int)bsize;
        } else {
            uint8_t *dst;
            size_t dict;
            room = left_out < max_block ? left_out + 1 : max_block;
            if (sl_buf_reserve(out, room) != 0)
                return SL_ERR__NOMEM;
            dst = out->data + out->len;
            dict = linked ? out->len - frame_start : 0;
            if (dict == 0)
                n = LZ4_decompress_safe((const char *)src, (char *)dst, (int)bsize, (int)room);
            else {
                if (dict > 65536)
                    dict = 65536;
                n = LZ4_decompress_safe_usingDict((const char *)src, (char *)dst, (int)bsize,
                                                  (int)room, (const char *)dst - dict, (int)dict);
            }
            if (n < 0 || (size_t)n > left_out)
                return SL_ERR_CORRUPT_MESSAGE;
            out->len += (size_t)n;
        }
        *produced += (size_t)n;
        p += bsize + (size_t)block_sum;
    }
    if (content_size && out->len - frame_start != content_size)
        return SL_ERR_CORRUPT_MESSAGE;
    if (flg & 0x04) {                          /* content checksum */
        const uint8_t *content = out->len > frame_start ? out->data + frame_start : empty_input;
        if (in_len - p < 4 || xxh32(content, out->len - frame_start) != le32(in + p))
            return SL_ERR_CORRUPT_MESSAGE;
        p += 4;
    }
    *pos = p;
    return 0;
}

static int
lz4_decompress(const uint8_t *in, size_t in_len, struct sl_buf *out, size_t max_out)
{
    size_t pos = 0, produced = 0;
    int rc;

    if (in_len == 0)
        return SL_ERR_CORRUPT_MESSAGE;
    while (pos < in_len)
        if ((rc = lz4_frame(in, in_len, &pos, out, &produced, max_out)) != 0)
            return rc;
    return 0;
}

static int
lz4_compress(const uint8_t *in, size_t in_len, struct sl_buf *out, int level)
{
    LZ4F_preferences_t prefs;
    size_t bound, r;

    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.compressionLevel = level == CODEC_LEVEL_DEFAULT ? 0
                           : level > LZ4_LEVEL_MAX ? LZ4_LEVEL_MAX : level;
    bound = LZ4F_compressFrameBound(in_len, &prefs);
    if (LZ4F_isError(bound))
        return SL_ERR__INVALID_ARG;
    if (sl_buf_reserve(out, bound) != 0)
        return SL_ERR__NOMEM;
    r = LZ4F_compressFrame(out->data + out->len, bound, in, in_len, &prefs);
    if (LZ4F_isError(r))
        return SL_ERR__NOMEM;
    out->len += r;
    return 0;
}

/* ---- zstd ---- */

static int
zstd_decompress(const uint8_t *in, size_t in_len, struct sl_buf *out, size_t max_out)
{
    ZSTD_DCtx *dctx;
    ZSTD_inBuffer ib = { in, in_len, 0 };
    unsigned long long fcs;
    size_t produced = 0, room, r;
    int rc;

    /* A first frame that declares more than the budget is refused up front. */
    fcs = ZSTD_getFrameContentSize(in, in_len);
    if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR && fcs > max_out)
        return SL_ERR_CORRUPT_MESSAGE;
    if (!(dctx = ZSTD_createDCtx()))
        return SL_ERR__NOMEM;
    for (;;) {
        size_t before = ib.pos;
        ZSTD_outBuffer ob;
        ob.dst = out_step(out, produced, max_out, &room);
        if (!ob.dst) {
            rc = SL_ERR__NOMEM;
            break;
        }
        ob.size = room;
        ob.pos = 0;
        r = ZSTD_decompressStream(dctx, &ob, &ib);
        if (ZSTD_isError(r)) {
            rc = ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation
               ? SL_ERR__NOMEM : SL_ERR_CORRUPT_MESSAGE;
            break;
        }
        out->len += ob.pos;
        produced += ob.pos;
        if (produced > max_out) {
            rc = SL_ERR_CORRUPT_MESSAGE;
            break;
        }
        if (r == 0 && ib.pos == ib.size) {     /* last frame complete and flushed */
            rc = 0;
            break;
        }
        if (ob.pos == 0 && ib.pos == before) { /* truncated */
            rc = SL_ERR_CORRUPT_MESSAGE;
            break;
        }
    }
    ZSTD_freeDCtx(dctx);
    return rc;
}

static int
zstd_compress(const uint8_t *in, size_t in_len, struct sl_buf *out, int level)
{
    size_t bound = ZSTD_compressBound(in_len), r;

    if (ZSTD_isError(bound) || bound == 0)
        return SL_ERR__INVALID_ARG;
    if (level == CODEC_LEVEL_DEFAULT)
        level = ZSTD_LEVEL_DEF;
    else if (level < ZSTD_minCLevel())
        level = ZSTD_minCLevel();
    else if (level > ZSTD_maxCLevel())
        level = ZSTD_maxCLevel();
    if (sl_buf_reserve(out, bound) != 0)
        return SL_ERR__NOMEM;
    r = ZSTD_compress(out->data + out->len, bound, in, in_len, level);
    if (ZSTD_isError(r))
        return SL_ERR__NOMEM;
    out->len += r;
    return 0;
}

/* ---- public ---- */

int
codec_decompress(int codec, const uint8_t *in, size_t in_len,
                 struct sl_buf *out, size_t max_out)
{
    size_t start = out->len;
    int oom0 = out->oom, rc;

    if (!in) {
        if (in_len)
            return SL_ERR__INVALID_ARG;
        in = empty_input;
    }
    switch (codec) {
    case REC_CODEC_NONE:
        if (in_len > max_out)
            return SL_ERR_CORRUPT_MESSAGE;
        rc = sl_buf_append(out, in, in_len) || in_len == 0 ? 0 : SL_ERR__NOMEM;
        break;
    case REC_CODEC_GZIP:   rc = gz_decompress(in, in_len, out, max_out); break;
    case REC_CODEC_SNAPPY: rc = snappy_decompress(in, in_len, out, max_out); break;
    case REC_CODEC_LZ4:    rc = lz4_decompress(in, in_len, out, max_out); break;
    case REC_CODEC_ZSTD:   rc = zstd_decompress(in, in_len, out, max_out); break;
    default:               return SL_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    }
    if (rc != 0) {
        out->len = start;
        out->oom = oom0;
    }
    return rc;
}

int
codec_compress(int codec, const uint8_t *in, size_t in_len, struct sl_buf *out, int level)
{
    size_t start = out->len;
    int oom0 = out->oom, rc;

    if (!in) {
        if (in_len)
            return SL_ERR__INVALID_ARG;
        in = empty_input;
    }
    switch (codec) {
    case REC_CODEC_NONE:
        rc = sl_buf_append(out, in, in_len) || in_len == 0 ? 0 : SL_ERR__NOMEM;
        break;
    case REC_CODEC_GZIP:   rc = gz_compress(in, in_len, out, level); break;
    case REC_CODEC_SNAPPY: rc = snappy_compress_raw(in, in_len, out); break;
    case REC_CODEC_LZ4:    rc = lz4_compress(in, in_len, out, level); break;
    case REC_CODEC_ZSTD:   rc = zstd_compress(in, in_len, out, level); break;
    default:               return SL_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    }
    if (rc != 0) {
        out->len = start;
        out->oom = oom0;
    }
    return rc;
}

int
codec_batch_records(const uint8_t *batch, size_t size, size_t max_uncompressed,
                    struct sl_buf *scratch, struct sl_slice *records, int32_t *count)
{
    int codec, rc;
    int32_t n;

    sl_buf_reset(scratch);
    if ((rc = rec_validate_batch(batch, size)) != 0)
        return rc;                             /* uncompressed: fully checked here */
    codec = rec_get_u16(batch + REC_OFF_ATTRIBUTES) & REC_ATTR_CODEC_MASK;
    n = rec_get_i32(batch + REC_OFF_RECORD_COUNT);
    if (codec == REC_CODEC_NONE) {
        records->p = batch + REC_HDR_LEN;
        records->len = size - REC_HDR_LEN;
    } else {
        rc = codec_decompress(codec, batch + REC_HDR_LEN, size - REC_HDR_LEN,
                              scratch, max_uncompressed);
        if (rc != 0)
            return rc;
        if ((rc = recwalk_check(scratch->data, scratch->len, n)) != 0)
            return rc;
        records->p = scratch->data;
        records->len = scratch->len;
    }
    *count = n;
    return 0;
}

int
codec_validate_batch(const uint8_t *batch, size_t size, size_t max_uncompressed,
                     struct sl_buf *scratch)
{
    struct sl_slice recs;
    int32_t n;
    return codec_batch_records(batch, size, max_uncompressed, scratch, &recs, &n);
}

int
codec_recompress_batch(const uint8_t *batch, size_t size, int new_codec, int level,
                       struct sl_buf *out, struct sl_buf *scratch,
                       size_t max_uncompressed)
{
    struct sl_slice recs;
    size_t start = out->len, bsize;
    uint8_t *b;
    int32_t n;
    int rc;

    if (new_codec < REC_CODEC_NONE || new_codec > REC_CODEC_ZSTD)
        return SL_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    if (out == scratch)
        return SL_ERR__INVALID_ARG;
    rc = codec_batch_records(batch, size, max_uncompressed, scratch, &recs, &n);
    if (rc != 0)
        return rc;
    if (!sl_buf_append(out, batch, REC_HDR_LEN)) {
        out->len = start;
        out->oom = 0;
        return SL_ERR__NOMEM;
    }
    if ((rc = codec_compress(new_codec, recs.p, recs.len, out, level)) != 0) {
        out->len = start;
        return rc;
    }
    bsize = out->len - start;
    if (bsize - REC_LOG_OVERHEAD > INT32_MAX) {
        out->len = start;
        return SL_ERR_MESSAGE_TOO_LARGE;
    }
    b = out->data + start;
    rec_put_u16(b + REC_OFF_ATTRIBUTES, (uint16_t)
                ((rec_get_u16(b + REC_OFF_ATTRIBUTES) & ~REC_ATTR_CODEC_MASK) | new_codec));
    rec_put_u32(b + REC_OFF_LENGTH, (uint32_t)(bsize - REC_LOG_OVERHEAD));
    rec_put_u32(b + REC_OFF_CRC, rec_compute_crc(b, bsize));
    return 0;
}
