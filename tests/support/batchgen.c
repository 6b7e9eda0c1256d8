/* tests/support/batchgen.c -- RecordBatch v2 builders and a checking walker
 * for tests (see batchgen.h). Records are encoded exactly as Kafka clients
 * encode them: a varint length, then attributes, timestamp delta (varlong),
 * offset delta, key, value and headers (varint lengths, -1 = null).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "storage/err.h"
#include "tests/support/batchgen.h"

void
bg_batch_init(struct bg_batch *b, int64_t base_timestamp)
{
    b->base_offset = 0;
    b->leader_epoch = -1;
    b->attributes = 0;
    b->base_timestamp = base_timestamp;
    b->producer_id = -1;
    b->producer_epoch = -1;
    b->base_sequence = -1;
}

void
bg_put_varint(struct sl_buf *o, int32_t v)
{
    uint8_t tmp[5];
    sl_buf_append(o, tmp, rec_write_varint(tmp, v));
}

void
bg_put_varlong(struct sl_buf *o, int64_t v)
{
    uint8_t tmp[10];
    sl_buf_append(o, tmp, rec_write_varlong(tmp, v));
}

uint64_t
bg_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void
put_bytes(struct sl_buf *o, const void *p, int32_t len)
{
    bg_put_varint(o, len < 0 ? -1 : len);
    if (len > 0)
        sl_buf_append(o, p, (size_t)len);
}

int
bg_append(struct sl_buf *out, const struct bg_batch *b, const struct bg_record *recs,
          int32_t n, size_t *pos)
{
    struct sl_buf body = SL_BUF_INIT;
    size_t start = out->len;
    int64_t max_ts;
    uint8_t *h;

    if (n < 1)
        return SL_ERR__INVALID_ARG;
    h = sl_buf_extend(out, REC_HDR_LEN);
    if (!h)
        return SL_ERR__NOMEM;
    memset(h, 0, REC_HDR_LEN);
    max_ts = b->base_timestamp + recs[0].ts_delta;
    for (int32_t i = 0; i < n; i++) {
        const struct bg_record *r = &recs[i];
        int64_t ts = b->base_timestamp + r->ts_delta;
        if (ts > max_ts)
            max_ts = ts;
        sl_buf_reset(&body);
        sl_buf_put_i8(&body, 0);
        bg_put_varlong(&body, r->ts_delta);
        bg_put_varint(&body, i);
        put_bytes(&body, r->key, r->key_len);
        put_bytes(&body, r->value, r->value_len);
        bg_put_varint(&body, r->header_count);
        for (int32_t k = 0; k < r->header_count; k++) {
            put_bytes(&body, r->headers[k].key, r->headers[k].key_len);
            put_bytes(&body, r->headers[k].value, r->headers[k].value_len);
        }
        if (body.oom)
            break;
        bg_put_varint(out, (int32_t)body.len);
        sl_buf_append(out, body.data, body.len);
    }
    sl_buf_free(&body);
    if (out->oom || body.oom)
        return SL_ERR__NOMEM;
    h = out->data + start;
    rec_put_u64(h + REC_OFF_BASE_OFFSET, (uint64_t)b->base_offset);
    rec_put_u32(h + REC_OFF_LENGTH, (uint32_t)(out->len - start - REC_LOG_OVERHEAD));
    rec_put_u32(h + REC_OFF_LEADER_EPOCH, (uint32_t)b->leader_epoch);
    h[REC_OFF_MAGIC] = REC_MAGIC_V2;
    rec_put_u16(h + REC_OFF_ATTRIBUTES, (uint16_t)b->attributes);
    rec_put_u32(h + REC_OFF_LAST_OFFSET_DELTA, (uint32_t)(n - 1));
    rec_put_u64(h + REC_OFF_BASE_TIMESTAMP, (uint64_t)b->base_timestamp);
    rec_put_u64(h + REC_OFF_MAX_TIMESTAMP, (uint64_t)max_ts);
    rec_put_u64(h + REC_OFF_PRODUCER_ID, (uint64_t)b->producer_id);
    rec_put_u16(h + REC_OFF_PRODUCER_EPOCH, (uint16_t)b->producer_epoch);
    rec_put_u32(h + REC_OFF_BASE_SEQUENCE, (uint32_t)b->base_sequence);
    rec_put_u32(h + REC_OFF_RECORD_COUNT, (uint32_t)n);
    rec_put_u32(h + REC_OFF_CRC, rec_compute_crc(h, out->len - start));
    if (pos)
        *pos = start;
    return 0;
}

/* splitmix64: a tiny, good, seedable generator. */
static uint64_t
mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void
bg_fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t s = mix64(seed * 0x2545F4914F6CDD1Dull + 1);
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w = mix64(s + i);
        size_t k = n - i < 8 ? n - i : 8;
        memcpy(p + i, &w, k);
    }
}

int
bg_append_simple(struct sl_buf *out, int64_t base_ts, int64_t ts_step, int32_t n,
                 int32_t key_len, int32_t value_len, int32_t hdrs, uint64_t seed)
{
    struct bg_batch b;
    struct bg_record *recs = calloc((size_t)(n > 0 ? n : 1), sizeof(*recs));
    struct bg_header *hv = calloc((size_t)(hdrs > 0 ? hdrs : 1), sizeof(*hv));
    size_t klen = key_len > 0 ? (size_t)key_len : 0, vlen = value_len > 0 ? (size_t)value_len : 0;
    uint8_t *kbuf = malloc((size_t)(n > 0 ? n : 1) * (klen + 1));
    uint8_t *vbuf = malloc((size_t)(n > 0 ? n : 1) * (vlen + 1));
    static const char hk[] = "hdr-key", hvv[] = "hdr-value";
    int rc;

    if (!recs || !hv || !kbuf || !vbuf) {
        rc = SL_ERR__NOMEM;
        goto out;
    }
    for (int32_t k = 0; k < hdrs; k++) {
        hv[k].key = hk; hv[k].key_len = (int32_t)strlen(hk);
        hv[k].value = hvv; hv[k].value_len = (k % 3 == 2) ? -1 : (int32_t)strlen(hvv);
    }
    for (int32_t i = 0; i < n; i++) {
        uint8_t *kp = kbuf + (size_t)i * (klen + 1), *vp = vbuf + (size_t)i * (vlen + 1);
        bg_fill(kp, klen, seed * 1000003u + (uint64_t)i * 2);
        bg_fill(vp, vlen, seed * 1000003u + (uint64_t)i * 2 + 1);
        recs[i].key = key_len >= 0 ? kp : NULL;
        recs[i].key_len = key_len;
        recs[i].value = value_len >= 0 ? vp : NULL;
        recs[i].value_len = value_len;
        recs[i].ts_delta = (int64_t)i * ts_step;
        recs[i].headers = hv;
        recs[i].header_count = hdrs;
    }
    bg_batch_init(&b, base_ts);
    rc = bg_append(out, &b, recs, n, NULL);
out:
    free(recs);
    free(hv);
    free(kbuf);
    free(vbuf);
    return rc;
}

int64_t
bg_det_ts(int64_t offset)
{
    return BG_DET_TS0 + offset * BG_DET_TS_STEP;
}

size_t
bg_det_value_len(int64_t offset, int32_t vlen)
{
    if (vlen >= 0)
        return (size_t)vlen;
    return 1 + (size_t)(mix64((uint64_t)offset) % (uint64_t)(-(int64_t)vlen));
}

int
bg_append_det(struct sl_buf *out, int64_t first, int32_t n, int32_t vlen)
{
    struct bg_batch b;
    struct bg_record *recs;
    char (*keys)[24];
    uint8_t **vals;
    int rc = SL_ERR__NOMEM;

    if (n < 1)
        return SL_ERR__INVALID_ARG;
    recs = calloc((size_t)n, sizeof(*recs));
    keys = calloc((size_t)n, sizeof(*keys));
    vals = calloc((size_t)n, sizeof(*vals));
    if (!recs || !keys || !vals)
        goto out;
    for (int32_t i = 0; i < n; i++) {
        int64_t o = first + i;
        size_t vl = bg_det_value_len(o, vlen);
        vals[i] = malloc(vl ? vl : 1);
        if (!vals[i])
            goto out;
        bg_fill(vals[i], vl, (uint64_t)o);
        snprintf(keys[i], sizeof(keys[i]), "k%" PRId64, o);
        recs[i].key = keys[i];
        recs[i].key_len = (int32_t)strlen(keys[i]);
        recs[i].value = vals[i];
        recs[i].value_len = (int32_t)vl;
        recs[i].ts_delta = bg_det_ts(o) - bg_det_ts(first);
    }
    bg_batch_init(&b, bg_det_ts(first));
    b.base_offset = first;
    rc = bg_append(out, &b, recs, n, NULL);
out:
    if (vals)
        for (int32_t i = 0; i < n; i++)
            free(vals[i]);
    free(vals);
    free(keys);
    free(recs);
    return rc;
}

int
bg_det_check(const struct bg_rec *r, int32_t vlen, int check_ts)
{
    char key[24];
    size_t vl = bg_det_value_len(r->offset, vlen);
    uint8_t stackbuf[256], *want = vl <= sizeof(stackbuf) ? stackbuf : malloc(vl);
    int ok;

    if (!want)
        return 0;
    snprintf(key, sizeof(key), "k%" PRId64, r->offset);
    bg_fill(want, vl, (uint64_t)r->offset);
    ok = r->key_len == (int32_t)strlen(key) && memcmp(r->key, key, strlen(key)) == 0 &&
         r->value_len == (int32_t)vl && (vl == 0 || memcmp(r->value, want, vl) == 0) &&
         (!check_ts || r->timestamp == bg_det_ts(r->offset));
    if (want != stackbuf)
        free(want);
    return ok;
}

static int
walk_fail(struct bg_walk *w, int rc, const char *what, size_t pos)
{
    snprintf(w->msg, sizeof(w->msg), "%s at byte %zu", what, pos);
    return rc;
}

static int
grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 64;
    while (nc < need)
        nc *= 2;
    void *np = realloc(*p, nc * elem);
    if (!np)
        return -1;
    *p = np;
    *cap = nc;
    return 0;
}

int
bg_walk(const uint8_t *p, size_t len, int allow_partial_tail, struct bg_walk *w)
{
    size_t pos = 0, bcap = 0, pcap = 0, rcap = 0;
    int64_t prev_last = -1;

    memset(w, 0, sizeof(*w));
    w->contiguous = 1;
    while (pos < len) {
        struct rec_batch_hdr h;
        size_t size;
        int rc = rec_parse_hdr(p + pos, len - pos, (size_t)INT32_MAX, &h);
        if (rc == SL_ERR__UNDERFLOW) {
            if (!allow_partial_tail)
                return walk_fail(w, SL_ERR__UNDERFLOW, "partial batch header", pos);
            w->tail_bytes = len - pos;
            break;
        }
        if (rc != 0)
            return walk_fail(w, SL_ERR__CORRUPT, "bad batch header", pos);
        size = rec_batch_size(&h);
        if (size > len - pos) {
            if (!allow_partial_tail)
                return walk_fail(w, SL_ERR__UNDERFLOW, "partial batch", pos);
            w->tail_bytes = len - pos;
            w->has_tail_hdr = 1;       /* callers check a partial tail's offsets */
            w->tail_hdr = h;
            break;
        }
        if (!rec_crc_ok(p + pos, size))
            return walk_fail(w, SL_ERR_CORRUPT_MESSAGE, "bad CRC in batch", pos);
        if ((rc = rec_validate_batch(p + pos, size)) != 0)
            return walk_fail(w, rc, "rec_validate_batch failed for batch", pos);
        if (prev_last >= 0 && h.base_offset != prev_last + 1)
            w->contiguous = 0;
        prev_last = rec_last_offset(&h);
        if (grow((void **)&w->hdrs, &bcap, w->nbatches + 1, sizeof(*w->hdrs)) ||
            grow((void **)&w->batch_pos, &pcap, w->nbatches + 1, sizeof(*w->batch_pos)))
            return walk_fail(w, SL_ERR__NOMEM, "out of memory", pos);
        w->hdrs[w->nbatches] = h;
        w->batch_pos[w->nbatches] = pos;
        w->nbatches++;
        if ((h.attributes & REC_ATTR_CODEC_MASK) == REC_CODEC_NONE) {
            struct rec_iter it;
            struct rec_record r;
            int got;
            rec_iter_init(&it, p + pos + REC_HDR_LEN, size - REC_HDR_LEN, h.record_count);
            while ((got = rec_iter_next(&it, &r)) == 1) {
                struct bg_rec *o;
                if (grow((void **)&w->recs, &rcap, w->nrecs + 1, sizeof(*w->recs)))
                    return walk_fail(w, SL_ERR__NOMEM, "out of memory", pos);
                o = &w->recs[w->nrecs++];
                o->offset = h.base_offset + r.offset_delta;
                o->timestamp = (h.attributes & REC_ATTR_LOG_APPEND_TIME)
                                   ? h.max_timestamp : h.base_timestamp + r.timestamp_delta;
                o->key = r.key; o->key_len = r.key_len;
                o->value = r.value; o->value_len = r.value_len;
                o->header_count = r.header_count;
                o->leader_epoch = h.leader_epoch;
            }
            if (got < 0)
                return walk_fail(w, SL_ERR__CORRUPT, "bad record in batch", pos);
        }
        pos += size;
        w->whole_bytes = pos;
    }
    return 0;
}

void
bg_walk_free(struct bg_walk *w)
{
    free(w->hdrs);
    free(w->batch_pos);
    free(w->recs);
    memset(w, 0, sizeof(*w));
}
