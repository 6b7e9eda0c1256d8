/* tests/support/batchgen.h -- build and check RecordBatch v2 bytes in tests.
 *
 * Builders append valid, uncompressed batches (correct length, CRC32C,
 * last offset delta, max timestamp) to a struct sl_buf, so tests can feed
 * plog_append and rec_validate_batch without a client. The "det" family
 * makes content a pure function of the record's offset, so any byte read
 * back from a log (after a crash, a truncation, a roll) can be checked
 * without remembering what was written. bg_walk decodes a run of batches
 * read back from a log and checks every CRC and record.
 */
#ifndef SL_TEST_BATCHGEN_H
#define SL_TEST_BATCHGEN_H

#include <stddef.h>
#include <stdint.h>
#include "storage/buf.h"
#include "storage/record.h"

struct bg_header {
    const void *key;   int32_t key_len;      /* key_len >= 0 */
    const void *value; int32_t value_len;    /* -1 = null */
};

struct bg_record {
    const void *key;   int32_t key_len;      /* -1 = null key */
    const void *value; int32_t value_len;    /* -1 = null value */
    int64_t ts_delta;                        /* timestamp - base timestamp */
    const struct bg_header *headers;
    int32_t header_count;
};

/* Batch-level fields. bg_batch_init gives Kafka client defaults. */
struct bg_batch {
    int64_t base_offset;      /* 0 */
    int32_t leader_epoch;     /* -1 */
    int16_t attributes;       /* 0: uncompressed, CreateTime */
    int64_t base_timestamp;
    int64_t producer_id;      /* -1 */
    int16_t producer_epoch;   /* -1 */
    int32_t base_sequence;    /* -1 */
};

void bg_batch_init(struct bg_batch *b, int64_t base_timestamp);

/* Append one batch of n >= 1 records to out. *pos (may be NULL) gets the
 * batch's start position in out. 0 or SL_ERR__NOMEM / SL_ERR__INVALID_ARG. */
int bg_append(struct sl_buf *out, const struct bg_batch *b,
              const struct bg_record *recs, int32_t n, size_t *pos);

/* n records with key_len/value_len bytes of seeded filler (len -1: null),
 * timestamps base_ts + i * ts_step, hdrs headers per record. */
int bg_append_simple(struct sl_buf *out, int64_t base_ts, int64_t ts_step, int32_t n,
                     int32_t key_len, int32_t value_len, int32_t hdrs, uint64_t seed);

/* Append a zigzag varint / varlong (hand-made records in tests). */
void bg_put_varint(struct sl_buf *o, int32_t v);
void bg_put_varlong(struct sl_buf *o, int64_t v);

/* splitmix64: the next pseudo-random value of stream *state. */
uint64_t bg_rand(uint64_t *state);

/* Deterministic filler: byte i of stream `seed`. */
void bg_fill(uint8_t *p, size_t n, uint64_t seed);

/* ---- offset-determined content ----
 * The record at offset o has timestamp bg_det_ts(o), key "k<o>" and a value
 * of bg_det_value_len(o, vlen) bytes of bg_fill(seed o). vlen >= 0 fixes the
 * value size; vlen < 0 makes it vary with the offset (1..-vlen bytes). */
#define BG_DET_TS0 1700000000000LL
#define BG_DET_TS_STEP 10
int64_t bg_det_ts(int64_t offset);
size_t  bg_det_value_len(int64_t offset, int32_t vlen);
/* One batch for offsets [first, first + n). Base offset is written as
 * `first` (followers keep it; leaders overwrite it). */
int bg_append_det(struct sl_buf *out, int64_t first, int32_t n, int32_t vlen);

/* ---- decoding what a log returns ---- */
struct bg_rec {
    int64_t        offset;
    int64_t        timestamp;     /* per record, or the batch max under LogAppendTime */
    const uint8_t *key;   int32_t key_len;
    const uint8_t *value; int32_t value_len;
    int32_t        header_count;
    int32_t        leader_epoch;  /* of its batch */
};

struct bg_walk {
    size_t               nbatches;
    struct rec_batch_hdr *hdrs;       /* nbatches headers */
    size_t               *batch_pos;  /* start of each batch in the input */
    size_t               nrecs;
    struct bg_rec        *recs;       /* slices point into the walked bytes */
    size_t               whole_bytes; /* bytes covered by whole batches */
    size_t               tail_bytes;  /* bytes of a partial trailing batch */
    int                  has_tail_hdr; /* the partial tail has a whole header */
    struct rec_batch_hdr tail_hdr;
    int                  contiguous;  /* each batch starts at the previous last + 1 */
    char                 msg[160];    /* why bg_walk failed */
};

/* Walk the batches in p[0..len): header bounds, CRC, rec_validate_batch,
 * record decoding. A partial trailing batch is an error unless
 * allow_partial_tail. 0, or an SL_ERR code with w->msg saying where. The
 * walk is owned by the caller: bg_walk_free. */
int bg_walk(const uint8_t *p, size_t len, int allow_partial_tail, struct bg_walk *w);
void bg_walk_free(struct bg_walk *w);

/* 1 if r holds exactly the det content for its offset (with vlen as given
 * to bg_append_det), 0 otherwise. Checks the timestamp unless check_ts is 0. */
int bg_det_check(const struct bg_rec *r, int32_t vlen, int check_ts);

#endif
