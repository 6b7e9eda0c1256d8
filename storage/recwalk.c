/* storage/recwalk.c -- check-only record walk (see recwalk.h).
 *
 * Accepts and rejects exactly what rec_iter_next + the offset-delta check
 * do (tests/test_recwalk.c compares the two on random and mutated input).
 * The varint readers mirror rec_read_varint / rec_read_varlong: a varint
 * is at most 5 bytes and its unsigned value fits 32 bits (5th byte <= 0x0f),
 * a varlong at most 10 bytes (value bits past 64 ignored, as there). Each
 * reader takes the end of the enclosing record and returns the position
 * after the field, or NULL; 1- and 2-byte varints, which are nearly all of
 * them, take no loop.
 */
#include "storage/err.h"
#include "storage/recwalk.h"

#define LIKELY(x)   __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

static inline int32_t
zigzag32(uint32_t u)
{
    return (int32_t)((u >> 1) ^ -(u & 1));
}

static const uint8_t *
uvarint32_slow(const uint8_t *p, const uint8_t *end, uint32_t *out)
{
    size_t avail = (size_t)(end - p);
    uint32_t v = 0;

    for (size_t i = 0; i < 5 && i < avail; i++) {
        uint32_t b = p[i];
        if (i == 4) {                          /* bits 28..31 only, no continuation */
            if (b > 0x0f)
                return NULL;
            *out = v | b << 28;
            return p + 5;
        }
        v |= (b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return p + i + 1;
        }
    }
    return NULL;
}

/* Unsigned varint of at most 5 bytes that fits 32 bits. 1- and 2-byte
 * ones take no loop, including the 1-byte header count that ends nearly
 * every record (only that byte is left before the record's end). */
static inline const uint8_t *
uvarint32(const uint8_t *p, const uint8_t *end, uint32_t *out)
{
    if (LIKELY(end - p >= 2)) {
        if (p[0] < 0x80) {
            *out = p[0];
            return p + 1;
        }
        if (p[1] < 0x80) {
            *out = (uint32_t)(p[0] & 0x7f) | (uint32_t)p[1] << 7;
            return p + 2;
        }
    } else if (end - p == 1 && p[0] < 0x80) {
        *out = p[0];
        return p + 1;
    }
    return uvarint32_slow(p, end, out);
}

/* A varlong whose value is not needed. */
static inline const uint8_t *
skip_varlong(const uint8_t *p, const uint8_t *end)
{
    size_t avail = (size_t)(end - p), n = avail < 10 ? avail : 10;

    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x80)
            return p + i + 1;
    return NULL;
}

/* A varint length >= min_len (-1 = null: no bytes), then that many bytes. */
static inline const uint8_t *
skip_len_bytes(const uint8_t *p, const uint8_t *end, int32_t min_len)
{
    uint32_t u;
    int32_t len;

    if (UNLIKELY(!(p = uvarint32(p, end, &u))))
        return NULL;
    len = zigzag32(u);
    if (UNLIKELY(len < min_len))
        return NULL;
    if (len > 0) {
        if (UNLIKELY((size_t)len > (size_t)(end - p)))
            return NULL;
        p += len;
    }
    return p;
}

int
recwalk_check(const uint8_t *p, size_t len, int32_t count)
{
    const uint8_t *end = p + len;

    if (len == 0 || count <= 0)
        return SL_ERR_CORRUPT_MESSAGE;
    for (int32_t i = 0; i < count; i++) {
        const uint8_t *rend;
        uint32_t u;
        int32_t rec_len, delta, nh;

        if (UNLIKELY(!(p = uvarint32(p, end, &u))))
            return SL_ERR_CORRUPT_MESSAGE;
        rec_len = zigzag32(u);
        if (UNLIKELY(rec_len < 1 || (size_t)rec_len > (size_t)(end - p)))
            return SL_ERR_CORRUPT_MESSAGE;
        rend = p + rec_len;
        p++;                                   /* attributes */
        if (UNLIKELY(!(p = skip_varlong(p, rend))))
            return SL_ERR_CORRUPT_MESSAGE;     /* timestampDelta */
        if (UNLIKELY(!(p = uvarint32(p, rend, &u))))
            return SL_ERR_CORRUPT_MESSAGE;
        delta = zigzag32(u);
        if (UNLIKELY(!(p = skip_len_bytes(p, rend, -1))))      /* key */
            return SL_ERR_CORRUPT_MESSAGE;
        if (UNLIKELY(!(p = skip_len_bytes(p, rend, -1))))      /* value */
            return SL_ERR_CORRUPT_MESSAGE;
        if (UNLIKELY(!(p = uvarint32(p, rend, &u))))
            return SL_ERR_CORRUPT_MESSAGE;
        nh = zigzag32(u);
        if (UNLIKELY(nh < 0))
            return SL_ERR_CORRUPT_MESSAGE;
        /* each header takes >= 2 bytes, so a huge count runs out of record */
        for (int32_t h = 0; h < nh; h++) {
            if (!(p = skip_len_bytes(p, rend, 0)) || !(p = skip_len_bytes(p, rend, -1)))
                return SL_ERR_CORRUPT_MESSAGE;
        }
        if (UNLIKELY(p != rend))
            return SL_ERR_CORRUPT_MESSAGE;
        if (UNLIKELY(delta != i))
            return SL_ERR_INVALID_RECORD;
    }
    return p == end ? 0 : SL_ERR_CORRUPT_MESSAGE;
}
