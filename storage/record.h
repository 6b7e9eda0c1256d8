/* storage/record.h -- RecordBatch v2 (magic 2): the on-wire and on-disk format.
 *
 * Pure functions over bytes, no I/O. Layout (big-endian, 61-byte header):
 *
 *   off  field                 CRC?   off  field             CRC?
 *    0   base offset  int64    no      27  base timestamp    yes
 *    8   length       int32    no      35  max timestamp     yes
 *   12   leader epoch int32    no      43  producer id       yes
 *   16   magic        int8     no      51  producer epoch    yes
 *   17   crc (32C)    uint32   -       53  base sequence     yes
 *   21   attributes   int16    yes     57  record count      yes
 *   23   last offset delta     yes     61  records ...       yes
 *
 * length counts the bytes after itself, so a batch occupies length + 12.
 * The CRC covers bytes 21..end: base offset and leader epoch can be set by
 * the broker without touching it. Fields are read and written at fixed
 * offsets with rec_get/put_*, never by casting a struct over the bytes.
 */
#ifndef SL_RECORD_H
#define SL_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "storage/buf.h"

#define REC_HDR_LEN          61   /* whole fixed header */
#define REC_LOG_OVERHEAD     12   /* base offset + length */
#define REC_MIN_LENGTH       (REC_HDR_LEN - REC_LOG_OVERHEAD)   /* 49 */
#define REC_MAGIC_V2         2

enum {
    REC_OFF_BASE_OFFSET = 0, REC_OFF_LENGTH = 8, REC_OFF_LEADER_EPOCH = 12,
    REC_OFF_MAGIC = 16, REC_OFF_CRC = 17, REC_OFF_ATTRIBUTES = 21,
    REC_OFF_LAST_OFFSET_DELTA = 23, REC_OFF_BASE_TIMESTAMP = 27,
    REC_OFF_MAX_TIMESTAMP = 35, REC_OFF_PRODUCER_ID = 43,
    REC_OFF_PRODUCER_EPOCH = 51, REC_OFF_BASE_SEQUENCE = 53,
    REC_OFF_RECORD_COUNT = 57,
};

/* attribute bits */
#define REC_ATTR_CODEC_MASK     0x07
#define REC_ATTR_LOG_APPEND_TIME 0x08
#define REC_ATTR_TRANSACTIONAL  0x10
#define REC_ATTR_CONTROL        0x20
#define REC_ATTR_DELETE_HORIZON 0x40

enum rec_codec { REC_CODEC_NONE = 0, REC_CODEC_GZIP = 1, REC_CODEC_SNAPPY = 2,
                 REC_CODEC_LZ4 = 3, REC_CODEC_ZSTD = 4 };

struct rec_batch_hdr {
    int64_t  base_offset;
    int32_t  length;
    int32_t  leader_epoch;
    int8_t   magic;
    uint32_t crc;
    int16_t  attributes;
    int32_t  last_offset_delta;
    int64_t  base_timestamp;
    int64_t  max_timestamp;
    int64_t  producer_id;
    int16_t  producer_epoch;
    int32_t  base_sequence;
    int32_t  record_count;
};

/* big-endian accessors */
static inline uint16_t rec_get_u16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rec_get_u32(const uint8_t *p)
{ return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline uint64_t rec_get_u64(const uint8_t *p)
{ return (uint64_t)rec_get_u32(p) << 32 | rec_get_u32(p + 4); }
static inline int16_t rec_get_i16(const uint8_t *p) { return (int16_t)rec_get_u16(p); }
static inline int32_t rec_get_i32(const uint8_t *p) { return (int32_t)rec_get_u32(p); }
static inline int64_t rec_get_i64(const uint8_t *p) { return (int64_t)rec_get_u64(p); }
static inline void rec_put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void rec_put_u32(uint8_t *p, uint32_t v)
{ p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
static inline void rec_put_u64(uint8_t *p, uint64_t v)
{ rec_put_u32(p, (uint32_t)(v >> 32)); rec_put_u32(p + 4, (uint32_t)v); }

/* Decode the 61-byte header at p (avail bytes readable). Checks magic == 2
 * and REC_MIN_LENGTH <= length <= max_batch - 12. Does not check the CRC.
 * Returns 0, SL_ERR__UNDERFLOW if avail < 61, SL_ERR__CORRUPT otherwise. */
int rec_parse_hdr(const uint8_t *p, size_t avail, size_t max_batch, struct rec_batch_hdr *out);

/* Whole size of the batch whose header is h. */
static inline size_t rec_batch_size(const struct rec_batch_hdr *h)
{ return (size_t)h->length + REC_LOG_OVERHEAD; }
static inline int64_t rec_last_offset(const struct rec_batch_hdr *h)
{ return h->base_offset + h->last_offset_delta; }

/* CRC-32C of the covered part of a whole batch (bytes 21..size). */
uint32_t rec_compute_crc(const uint8_t *batch, size_t size);
/* 1 if the stored CRC matches. */
int rec_crc_ok(const uint8_t *batch, size_t size);

/* In-place rewrites. The first two leave the CRC alone (fields not covered). */
static inline void rec_set_base_offset(uint8_t *b, int64_t off)
{ rec_put_u64(b + REC_OFF_BASE_OFFSET, (uint64_t)off); }
static inline void rec_set_leader_epoch(uint8_t *b, int32_t epoch)
{ rec_put_u32(b + REC_OFF_LEADER_EPOCH, (uint32_t)epoch); }
/* Marks the batch LogAppendTime with max timestamp ts and recomputes the CRC. */
void rec_set_log_append_time(uint8_t *batch, size_t size, int64_t ts);

/* Zigzag varints as records use them. Return bytes consumed, or 0 if the
 * input ends early or the varint is longer than its type allows. */
size_t rec_read_varint(const uint8_t *p, size_t avail, int32_t *out);
size_t rec_read_varlong(const uint8_t *p, size_t avail, int64_t *out);
/* Write a zigzag varint/varlong; returns bytes written (<= 5 / <= 10). */
size_t rec_write_varint(uint8_t *p, int32_t v);
size_t rec_write_varlong(uint8_t *p, int64_t v);

/* One record inside an uncompressed records section. Slices point into the
 * batch and stay valid as long as it does. Null key/value: ptr NULL, len -1. */
struct rec_record {
    int8_t         attributes;
    int64_t        timestamp_delta;
    int32_t        offset_delta;
    const uint8_t *key;     int32_t key_len;
    const uint8_t *value;   int32_t value_len;
    const uint8_t *headers; size_t headers_len;  /* raw header section */
    int32_t        header_count;
};

struct rec_iter {
    const uint8_t *p, *end;
    int32_t        remaining;
};

/* Iterate the records of an uncompressed section (bytes after the header). */
void rec_iter_init(struct rec_iter *it, const uint8_t *records, size_t len, int32_t count);
/* 1 and *r filled; 0 at the end; -1 (SL_ERR__CORRUPT is implied) if malformed. */
int rec_iter_next(struct rec_iter *it, struct rec_record *r);

/* Full validation of one client batch of exactly size bytes, as a broker
 * does on Produce: header bounds, magic, CRC, record count == last offset
 * delta + 1 > 0, and, for uncompressed batches, every record well formed
 * with offset deltas 0,1,2..., the count matching and no trailing bytes.
 * Compressed payloads are checked at header level only (the codec module
 * decodes them). */
int rec_validate_batch(const uint8_t *batch, size_t size);

/* Building an uncompressed batch into a buffer (broker-internal records,
 * tools, tests): begin, add records, finish (header fields, CRC). */
struct rec_builder {
    struct sl_buf *b;
    size_t         start;      /* where the batch begins in b */
    int32_t        count;
    int64_t        base_ts;
    int64_t        max_ts;
};
void rec_builder_begin(struct rec_builder *rb, struct sl_buf *b, int64_t base_ts);
/* key/value NULL with len -1 for null. headers: raw header section of
 * nheaders entries (NULL, 0, 0 for none). */
void rec_builder_add(struct rec_builder *rb, int64_t ts, const void *key, int32_t key_len,
                     const void *value, int32_t value_len, const void *headers,
                     size_t headers_len, int32_t nheaders);
/* Fill in the header; returns the batch size (0 if the buffer ran out of memory). */
size_t rec_builder_finish(struct rec_builder *rb, int16_t attributes, int64_t producer_id,
                          int16_t producer_epoch, int32_t base_sequence);

#endif
