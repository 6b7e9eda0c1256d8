/* storage/buf.c -- see buf.h. */
#include <stdlib.h>
#include "storage/buf.h"
#include "storage/err.h"
#include "storage/record.h"

void
sl_buf_init(struct sl_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

void
sl_buf_free(struct sl_buf *b)
{
    free(b->data);
    sl_buf_init(b);
}

int
sl_buf_reserve(struct sl_buf *b, size_t n)
{
    size_t want, cap;
    uint8_t *p;

    if (b->oom)
        return SL_ERR__NOMEM;
    if (n <= b->cap - b->len)
        return 0;
    if (n > SIZE_MAX / 2 - b->len)
        goto oom;
    want = b->len + n;
    cap = b->cap ? b->cap : 256;
    while (cap < want)
        cap *= 2;
    p = realloc(b->data, cap);
    if (!p)
        goto oom;
    b->data = p;
    b->cap = cap;
    return 0;
oom:
    b->oom = 1;
    return SL_ERR__NOMEM;
}

uint8_t *
sl_buf_extend(struct sl_buf *b, size_t n)
{
    uint8_t *p;
    if (sl_buf_reserve(b, n) != 0)
        return NULL;
    p = b->data + b->len;
    b->len += n;
    return p;
}

uint8_t *
sl_buf_append(struct sl_buf *b, const void *src, size_t n)
{
    uint8_t *p = sl_buf_extend(b, n);
    if (p && n)
        memcpy(p, src, n);
    return p;
}

void
sl_buf_put_i8(struct sl_buf *b, int8_t v)
{
    uint8_t *p = sl_buf_extend(b, 1);
    if (p)
        *p = (uint8_t)v;
}

void
sl_buf_put_i16(struct sl_buf *b, int16_t v)
{
    uint8_t *p = sl_buf_extend(b, 2);
    if (p)
        rec_put_u16(p, (uint16_t)v);
}

void
sl_buf_put_i32(struct sl_buf *b, int32_t v)
{
    uint8_t *p = sl_buf_extend(b, 4);
    if (p)
        rec_put_u32(p, (uint32_t)v);
}

void
sl_buf_put_i64(struct sl_buf *b, int64_t v)
{
    uint8_t *p = sl_buf_extend(b, 8);
    if (p)
        rec_put_u64(p, (uint64_t)v);
}

void
sl_buf_patch_i32(struct sl_buf *b, size_t pos, int32_t v)
{
    if (!b->oom && pos + 4 <= b->len)
        rec_put_u32(b->data + pos, (uint32_t)v);
}
