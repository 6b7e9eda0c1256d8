/* storage/buf.h -- an owned, growable byte buffer (and a borrowed slice).
 *
 * sl_buf is what encoders write into: append at the end, remember a
 * position, patch a length or CRC there later (librdkafka's
 * rd_kafka_buf_update_i32). Growth doubles; sl_buf_reset keeps the memory
 * so a buffer reused per connection or per request stops allocating once
 * warm. Allocation failure is sticky in b->oom: writers keep going as
 * no-ops and the caller checks once at the end.
 *
 * sl_slice is a borrowed view; whoever hands one out says how long it lives.
 */
#ifndef SL_BUF_H
#define SL_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sl_slice {
    const uint8_t *p;
    size_t         len;
};

struct sl_buf {
    uint8_t *data;
    size_t   len;
    size_t   cap;
    int      oom;
};

#define SL_BUF_INIT { NULL, 0, 0, 0 }

void sl_buf_init(struct sl_buf *b);
void sl_buf_free(struct sl_buf *b);
static inline void sl_buf_reset(struct sl_buf *b) { b->len = 0; b->oom = 0; }
/* Ensure room for n more bytes; 0 or SL_ERR__NOMEM (and b->oom set). */
int sl_buf_reserve(struct sl_buf *b, size_t n);
/* Append n bytes; returns a pointer to them inside the buffer (valid until
 * the next growth), or NULL when out of memory. */
uint8_t *sl_buf_append(struct sl_buf *b, const void *src, size_t n);
/* Grow by n uninitialised bytes; pointer to them or NULL. */
uint8_t *sl_buf_extend(struct sl_buf *b, size_t n);
/* Big-endian appends. */
void sl_buf_put_i8(struct sl_buf *b, int8_t v);
void sl_buf_put_i16(struct sl_buf *b, int16_t v);
void sl_buf_put_i32(struct sl_buf *b, int32_t v);
void sl_buf_put_i64(struct sl_buf *b, int64_t v);
/* Patch a big-endian int32 at pos (already written). */
void sl_buf_patch_i32(struct sl_buf *b, size_t pos, int32_t v);

#endif
