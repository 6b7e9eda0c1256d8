/* storage/record.c -- RecordBatch v2 header, CRC, varints and record walk.
 * See record.h for the layout. Every length read from the bytes is checked
 * against what remains before it is used.
 */
#include <string.h>
#include "storage/crc32c.h"
#include "storage/err.h"
#include "storage/record.h"
#include "storage/recwalk.h"

int
rec_parse_hdr(const uint8_t *p, size_t avail, size_t max_batch, struct rec_batch_hdr *h)
{
    if (avail < REC_HDR_LEN)
        return SL_ERR__UNDERFLOW;
    h->base_offset = rec_get_i64(p + REC_OFF_BASE_OFFSET);
    h->length = rec_get_i32(p + REC_OFF_LENGTH);
    h->leader_epoch = rec_get_i32(p + REC_OFF_LEADER_EPOCH);
    h->magic = (int8_t)p[REC_OFF_MAGIC];
    h->crc = rec_get_u32(p + REC_OFF_CRC);
    h->attributes = rec_get_i16(p + REC_OFF_ATTRIBUTES);
    h->last_offset_delta = rec_get_i32(p + REC_OFF_LAST_OFFSET_DELTA);
    h->base_timestamp = rec_get_i64(p + REC_OFF_BASE_TIMESTAMP);
    h->max_timestamp = rec_get_i64(p + REC_OFF_MAX_TIMESTAMP);
    h->producer_id = rec_get_i64(p + REC_OFF_PRODUCER_ID);
    h->producer_epoch = rec_get_i16(p + REC_OFF_PRODUCER_EPOCH);
    h->base_sequence = rec_get_i32(p + REC_OFF_BASE_SEQUENCE);
    h->record_count = rec_get_i32(p + REC_OFF_RECORD_COUNT);
    if (h->magic != REC_MAGIC_V2)
        return SL_ERR__CORRUPT;
    if (h->length < REC_MIN_LENGTH)
        return SL_ERR__CORRUPT;
    if ((size_t)h->length > max_batch - REC_LOG_OVERHEAD || max_batch < REC_HDR_LEN)
        return SL_ERR__CORRUPT;
    if (h->last_offset_delta < 0 || h->base_offset < 0)
        return SL_ERR__CORRUPT;
    return 0;
}

uint32_t
rec_compute_crc(const uint8_t *batch, size_t size)
{
    return crc32c(0, batch + REC_OFF_ATTRIBUTES, size - REC_OFF_ATTRIBUTES);
}

int
rec_crc_ok(const uint8_t *batch, size_t size)
{
    if (size < REC_HDR_LEN)
        return 0;
    return rec_compute_crc(batch, size) == rec_get_u32(batch + REC_OFF_CRC);
}

void
rec_set_log_append_time(uint8_t *batch, size_t size, int64_t ts)
{
    uint16_t attr = rec_get_u16(batch + REC_OFF_ATTRIBUTES);
    rec_put_u16(batch + REC_OFF_ATTRIBUTES, attr | REC_ATTR_LOG_APPEND_TIME);
    rec_put_u64(batch + REC_OFF_MAX_TIMESTAMP, (uint64_t)ts);
    rec_put_u32(batch + REC_OFF_CRC, rec_compute_crc(batch, size));
}

static size_t
read_uvarint64(const uint8_t *p, size_t avail, int max_bytes, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < max_bytes && (size_t)i < avail; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *out = v;
            return (size_t)i + 1;
        }
    }
    return 0;
}

size_t
rec_read_varint(const uint8_t *p, size_t avail, int32_t *out)
{
    uint64_t u;
    size_t n = read_uvarint64(p, avail, 5, &u);
    if (n == 0 || u > UINT32_MAX)
        return 0;
    *out = (int32_t)((uint32_t)(u >> 1) ^ -(uint32_t)(u & 1));
    return n;
}

size_t
rec_read_varlong(const uint8_t *p, size_t avail, int64_t *out)
{
    uint64_t u;
    size_t n = read_uvarint64(p, avail, 10, &u);
    if (n == 0)
        return 0;
    *out = (int64_t)((u >> 1) ^ -(u & 1));
    return n;
}

static size_t
write_uvarint64(uint8_t *p, uint64_t u)
{
    size_t n = 0;
    while (u >= 0x80) {
        p[n++] = (uint8_t)(u | 0x80);
        u >>= 7;
    }
    p[n++] = (uint8_t)u;
    return n;
}

size_t
rec_write_varint(uint8_t *p, int32_t v)
{
    return write_uvarint64(p, (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31)));
}

size_t
rec_write_varlong(uint8_t *p, int64_t v)
{
    return write_uvarint64(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void
rec_iter_init(struct rec_iter *it, const uint8_t *records, size_t len, int32_t count)
{
    it->p = records;
    it->end = records + len;
    it->remaining = count;
}

/* Reads a varint length (-1 = null) and the bytes it announces. */
static int
read_len_bytes(const uint8_t **pp, const uint8_t *end, const uint8_t **data, int32_t *len)
{
    size_t n = rec_read_varint(*pp, (size_t)(end - *pp), len);
    if (n == 0)
        return -1;
    *pp += n;
    if (*len < -1)
        return -1;
    if (*len == -1) {
        *data = NULL;
        return 0;
    }
    if ((size_t)*len > (size_t)(end - *pp))
        return -1;
    *data = *pp;
    *pp += *len;
    return 0;
}

int
rec_iter_next(struct rec_iter *it, struct rec_record *r)
{
    const uint8_t *p = it->p, *rend;
    int32_t rec_len;
    size_t n;

    if (it->remaining <= 0)
        return 0;
    n = rec_read_varint(p, (size_t)(it->end - p), &rec_len);
    if (n == 0 || rec_len < 0)
        return -1;
    p += n;
    if ((size_t)rec_len > (size_t)(it->end - p) || rec_len < 1)
        return -1;
    rend = p + rec_len;
    r->attributes = (int8_t)*p++;
    if ((n = rec_read_varlong(p, (size_t)(rend - p), &r->timestamp_delta)) == 0)
        return -1;
    p += n;
    if ((n = rec_read_varint(p, (size_t)(rend - p), &r->offset_delta)) == 0)
        return -1;
    p += n;
    if (read_len_bytes(&p, rend, &r->key, &r->key_len) < 0)
        return -1;
    if (read_len_bytes(&p, rend, &r->value, &r->value_len) < 0)
        return -1;
    if ((n = rec_read_varint(p, (size_t)(rend - p), &r->header_count)) == 0 || r->header_count < 0)
        return -1;
    p += n;
    r->headers = p;
    for (int32_t i = 0; i < r->header_count; i++) {
        const uint8_t *hk, *hv;
        int32_t hkl, hvl;
        if (read_len_bytes(&p, rend, &hk, &hkl) < 0 || hkl < 0)
            return -1;
        if (read_len_bytes(&p, rend, &hv, &hvl) < 0)
            return -1;
    }
    if (p != rend)
        return -1;
    r->headers_len = (size_t)(p - r->headers);
    it->p = rend;
    it->remaining--;
    return 1;
}

int
rec_validate_batch(const uint8_t *batch, size_t size)
{
    struct rec_batch_hdr h;

    if (rec_parse_hdr(batch, size, size, &h) != 0)
        return SL_ERR_CORRUPT_MESSAGE;
    if (rec_batch_size(&h) != size)
        return SL_ERR_CORRUPT_MESSAGE;
    if (!rec_crc_ok(batch, size))
        return SL_ERR_CORRUPT_MESSAGE;
    if (h.record_count <= 0 || h.record_count - 1 != h.last_offset_delta)
        return SL_ERR_INVALID_RECORD;
    if ((h.attributes & REC_ATTR_CODEC_MASK) == REC_CODEC_NONE) {
        /* every record's framing, and offset deltas 0..count-1 */
        return recwalk_check(batch + REC_HDR_LEN, size - REC_HDR_LEN, h.record_count);
    } else if ((h.attributes & REC_ATTR_CODEC_MASK) > REC_CODEC_ZSTD) {
        return SL_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    }
    return 0;
}

void
rec_builder_begin(struct rec_builder *rb, struct sl_buf *b, int64_t base_ts)
{
    rb->b = b;
    rb->start = b->len;
    rb->count = 0;
    rb->base_ts = base_ts;
    rb->max_ts = base_ts;
    sl_buf_extend(b, REC_HDR_LEN);
}

void
rec_builder_add(struct rec_builder *rb, int64_t ts, const void *key, int32_t key_len,
                const void *value, int32_t value_len, const void *headers, size_t headers_len,
                int32_t nheaders)
{
    uint8_t tmp[64];
    size_t n = 0, body;

    /* body length first: attributes + varints + payloads */
    n += 1;
    n += rec_write_varlong(tmp, ts - rb->base_ts);
    n += rec_write_varint(tmp, rb->count);
    n += rec_write_varint(tmp, key ? key_len : -1) + (key ? (size_t)key_len : 0);
    n += rec_write_varint(tmp, value ? value_len : -1) + (value ? (size_t)value_len : 0);
    n += rec_write_varint(tmp, nheaders) + headers_len;
    body = n;
    n = rec_write_varint(tmp, (int32_t)body);
    sl_buf_append(rb->b, tmp, n);
    tmp[0] = 0;
    n = 1;
    n += rec_write_varlong(tmp + n, ts - rb->base_ts);
    n += rec_write_varint(tmp + n, rb->count);
    n += rec_write_varint(tmp + n, key ? key_len : -1);
    sl_buf_append(rb->b, tmp, n);
    if (key && key_len)
        sl_buf_append(rb->b, key, (size_t)key_len);
    n = rec_write_varint(tmp, value ? value_len : -1);
    sl_buf_append(rb->b, tmp, n);
    if (value && value_len)
        sl_buf_append(rb->b, value, (size_t)value_len);
    n = rec_write_varint(tmp, nheaders);
    sl_buf_append(rb->b, tmp, n);
    if (headers_len)
        sl_buf_append(rb->b, headers, headers_len);
    if (ts > rb->max_ts)
        rb->max_ts = ts;
    rb->count++;
}

size_t
rec_builder_finish(struct rec_builder *rb, int16_t attributes, int64_t producer_id,
                   int16_t producer_epoch, int32_t base_sequence)
{
    size_t size = rb->b->len - rb->start;
    uint8_t *h;

    if (rb->b->oom)
        return 0;
    h = rb->b->data + rb->start;
    rec_put_u64(h + REC_OFF_BASE_OFFSET, 0);
    rec_put_u32(h + REC_OFF_LENGTH, (uint32_t)(size - REC_LOG_OVERHEAD));
    rec_put_u32(h + REC_OFF_LEADER_EPOCH, (uint32_t)-1);
    h[REC_OFF_MAGIC] = REC_MAGIC_V2;
    rec_put_u16(h + REC_OFF_ATTRIBUTES, (uint16_t)attributes);
    rec_put_u32(h + REC_OFF_LAST_OFFSET_DELTA, (uint32_t)(rb->count - 1));
    rec_put_u64(h + REC_OFF_BASE_TIMESTAMP, (uint64_t)rb->base_ts);
    rec_put_u64(h + REC_OFF_MAX_TIMESTAMP, (uint64_t)rb->max_ts);
    rec_put_u64(h + REC_OFF_PRODUCER_ID, (uint64_t)producer_id);
    rec_put_u16(h + REC_OFF_PRODUCER_EPOCH, (uint16_t)producer_epoch);
    rec_put_u32(h + REC_OFF_BASE_SEQUENCE, (uint32_t)base_sequence);
    rec_put_u32(h + REC_OFF_RECORD_COUNT, (uint32_t)rb->count);
    rec_put_u32(h + REC_OFF_CRC, rec_compute_crc(h, size));
    return size;
}
