/* client/batch.c -- RecordBatch v2 on the client side: encode records into
 * a records section, wrap a section into a whole batch (header, optional
 * compression, CRC32C), and the compression seam (storage/codec.h).
 *
 * Record layout (DefaultRecord): varint length, int8 attributes (0),
 * varlong timestamp delta, varint offset delta, varint key length (-1
 * null) + key, varint value length + value, varint header count, then per
 * header varint key length + key, varint value length (-1 null) + value.
 */
#include <string.h>
#include "client/sluice_int.h"
#include "storage/codec.h"

static size_t
varint_size(int64_t v)
{
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 1;
    while (u >= 0x80) {
        u >>= 7;
        n++;
    }
    return n;
}

void
slc_batch_append_record(struct sl_buf *recs, int32_t offset_delta, int64_t ts_delta,
                        const void *key, int32_t key_len, const void *val, int32_t val_len,
                        const struct sluice_header *h, int32_t nh,
                        uint32_t *key_pos, uint32_t *val_pos)
{
    size_t body = 1, total, i;
    int32_t kl = key ? key_len : -1, vl = val ? val_len : -1;
    uint8_t *p;

    body += varint_size(ts_delta) + varint_size(offset_delta);
    body += varint_size(kl) + (kl > 0 ? (size_t)kl : 0);
    body += varint_size(vl) + (vl > 0 ? (size_t)vl : 0);
    body += varint_size(nh);
    for (i = 0; i < (size_t)nh; i++) {
        size_t hk = strlen(h[i].key);
        int32_t hv = h[i].value ? h[i].value_len : -1;
        body += varint_size((int64_t)hk) + hk + varint_size(hv) + (hv > 0 ? (size_t)hv : 0);
    }
    total = varint_size((int64_t)body) + body;
    p = sl_buf_extend(recs, total);
    if (!p)
        return;
    p += rec_write_varint(p, (int32_t)body);
    *p++ = 0;
    p += rec_write_varlong(p, ts_delta);
    p += rec_write_varint(p, offset_delta);
    p += rec_write_varint(p, kl);
    if (key_pos)
        *key_pos = (uint32_t)(p - recs->data);
    if (kl > 0) {
        memcpy(p, key, (size_t)kl);
        p += kl;
    }
    p += rec_write_varint(p, vl);
    if (val_pos)
        *val_pos = (uint32_t)(p - recs->data);
    if (vl > 0) {
        memcpy(p, val, (size_t)vl);
        p += vl;
    }
    p += rec_write_varint(p, nh);
    for (i = 0; i < (size_t)nh; i++) {
        size_t hk = strlen(h[i].key);
        int32_t hv = h[i].value ? h[i].value_len : -1;
        p += rec_write_varint(p, (int32_t)hk);
        memcpy(p, h[i].key, hk);
        p += hk;
        p += rec_write_varint(p, hv);
        if (hv > 0) {
            memcpy(p, h[i].value, (size_t)hv);
            p += hv;
        }
    }
}

int
slc_codec_available(int codec)
{
    return codec >= REC_CODEC_NONE && codec <= REC_CODEC_ZSTD;
}

int
slc_compress(int codec, const uint8_t *src, size_t len, struct sl_buf *out)
{
    int rc = codec_compress(codec, src, len, out, CODEC_LEVEL_DEFAULT);
    return rc ? SLUICE_ERR_CODEC : 0;
}

int
slc_decompress(int codec, const uint8_t *src, size_t len, struct sl_buf *out)
{
    int rc = codec_decompress(codec, src, len, out, (size_t)256 * 1024 * 1024);
    return rc ? SLUICE_ERR_CODEC : 0;
}

int
slc_batch_finish(struct sl_buf *out, const uint8_t *recs, size_t recs_len, int32_t count,
                 int64_t base_ts, int64_t max_ts, int codec)
{
    size_t start = out->len, size;
    uint8_t *h;
    int rc;

    if (!sl_buf_extend(out, REC_HDR_LEN))
        return SLUICE_ERR_NOMEM;
    if (codec != REC_CODEC_NONE) {
        if ((rc = slc_compress(codec, recs, recs_len, out)) != 0) {
            out->len = start;
            return rc;
        }
    } else if (!sl_buf_append(out, recs, recs_len)) {
        return SLUICE_ERR_NOMEM;
    }
    size = out->len - start;
    h = out->data + start;
    rec_put_u64(h + REC_OFF_BASE_OFFSET, 0);
    rec_put_u32(h + REC_OFF_LENGTH, (uint32_t)(size - REC_LOG_OVERHEAD));
    rec_put_u32(h + REC_OFF_LEADER_EPOCH, (uint32_t)-1);
    h[REC_OFF_MAGIC] = REC_MAGIC_V2;
    rec_put_u16(h + REC_OFF_ATTRIBUTES, (uint16_t)(codec & REC_ATTR_CODEC_MASK));
    rec_put_u32(h + REC_OFF_LAST_OFFSET_DELTA, (uint32_t)(count - 1));
    rec_put_u64(h + REC_OFF_BASE_TIMESTAMP, (uint64_t)base_ts);
    rec_put_u64(h + REC_OFF_MAX_TIMESTAMP, (uint64_t)max_ts);
    rec_put_u64(h + REC_OFF_PRODUCER_ID, (uint64_t)-1);
    rec_put_u16(h + REC_OFF_PRODUCER_EPOCH, (uint16_t)-1);
    rec_put_u32(h + REC_OFF_BASE_SEQUENCE, (uint32_t)-1);
    rec_put_u32(h + REC_OFF_RECORD_COUNT, (uint32_t)count);
    rec_put_u32(h + REC_OFF_CRC, rec_compute_crc(h, size));
    return out->oom ? SLUICE_ERR_NOMEM : 0;
}

void
slc_batch_stamp(uint8_t *h, size_t len, int64_t pid, int16_t epoch, int32_t seq)
{
    rec_put_u64(h + REC_OFF_PRODUCER_ID, (uint64_t)pid);
    rec_put_u16(h + REC_OFF_PRODUCER_EPOCH, (uint16_t)epoch);
    rec_put_u32(h + REC_OFF_BASE_SEQUENCE, (uint32_t)seq);
    rec_put_u32(h + REC_OFF_CRC, rec_compute_crc(h, len));
}
