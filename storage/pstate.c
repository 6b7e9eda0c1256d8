/* storage/pstate.c -- see pstate.h. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include "storage/buf.h"
#include "storage/ckpt.h"
#include "storage/crc32c.h"
#include "storage/err.h"
#include "storage/pstate.h"

#define SNAP_MAGIC   0x534c5053u   /* "SLPS" */
#define SNAP_VERSION 1
#define SNAP_MAX     (256u << 20)

void
pstate_init(struct pstate *ps)
{
    ps->slots = NULL;
    ps->cap = ps->n = 0;
}

void
pstate_free(struct pstate *ps)
{
    free(ps->slots);
    pstate_init(ps);
}

void
pstate_clear(struct pstate *ps)
{
    for (size_t i = 0; i < ps->cap; i++)
        ps->slots[i].pid = -1;
    ps->n = 0;
}

static size_t
slot_of(const struct pstate *ps, int64_t pid)
{
    uint64_t h = (uint64_t)pid * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (ps->cap - 1);
}

static struct pstate_entry *
find(const struct pstate *ps, int64_t pid)
{
    if (!ps->cap)
        return NULL;
    for (size_t i = slot_of(ps, pid);; i = (i + 1) & (ps->cap - 1)) {
        if (ps->slots[i].pid == pid)
            return &ps->slots[i];
        if (ps->slots[i].pid == -1)
            return NULL;
    }
}

static int
grow(struct pstate *ps)
{
    size_t cap = ps->cap ? ps->cap * 2 : 64;
    struct pstate_entry *old = ps->slots, *n = malloc(sizeof(*n) * cap);
    size_t oldcap = ps->cap;

    if (!n)
        return SL_ERR__NOMEM;
    for (size_t i = 0; i < cap; i++)
        n[i].pid = -1;
    ps->slots = n;
    ps->cap = cap;
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].pid < 0)
            continue;
        size_t j = slot_of(ps, old[i].pid);
        while (n[j].pid != -1)
            j = (j + 1) & (cap - 1);
        n[j] = old[i];
    }
    free(old);
    return 0;
}

static struct pstate_entry *
insert(struct pstate *ps, int64_t pid)
{
    struct pstate_entry *e = find(ps, pid);
    if (e)
        return e;
    if ((ps->n + 1) * 4 > ps->cap * 3 && grow(ps) != 0)
        return NULL;
    size_t i = slot_of(ps, pid);
    while (ps->slots[i].pid != -1)
        i = (i + 1) & (ps->cap - 1);
    e = &ps->slots[i];
    memset(e, 0, sizeof(*e));
    e->pid = pid;
    e->epoch = -1;
    ps->n++;
    return e;
}

/* Remove slot i, re-placing the cluster after it (linear probing delete). */
static void
erase(struct pstate *ps, size_t i)
{
    ps->slots[i].pid = -1;
    ps->n--;
    for (size_t j = (i + 1) & (ps->cap - 1); ps->slots[j].pid != -1; j = (j + 1) & (ps->cap - 1)) {
        struct pstate_entry e = ps->slots[j];
        ps->slots[j].pid = -1;
        size_t k = slot_of(ps, e.pid);
        while (ps->slots[k].pid != -1)
            k = (k + 1) & (ps->cap - 1);
        ps->slots[k] = e;
    }
}

static int32_t
last_seq_of(const struct rec_batch_hdr *h)
{
    int64_t s = (int64_t)h->base_sequence + h->last_offset_delta;
    return (int32_t)(s > INT32_MAX ? s - INT32_MAX - 1 : s);   /* wraps to 0 */
}

int
pstate_check(const struct pstate *ps, const struct rec_batch_hdr *h, int64_t *dup_first,
             int64_t *dup_last)
{
    const struct pstate_entry *e = find(ps, h->producer_id);
    int32_t first = h->base_sequence, last = last_seq_of(h);

    if (!e || e->epoch < 0)
        return 0;                        /* unknown producer: start tracking (KIP-360) */
    if (h->producer_epoch == e->epoch) {
        for (int i = 0; i < e->nbatches; i++)
            if (e->b[i].first_seq == first && e->b[i].last_seq == last) {
                *dup_first = e->b[i].first_offset;
                *dup_last = e->b[i].last_offset;
                return SL_ERR_DUPLICATE_SEQUENCE_NUMBER;
            }
    }
    if (h->producer_epoch < e->epoch)
        return SL_ERR_INVALID_PRODUCER_EPOCH;
    if (h->producer_epoch > e->epoch)
        return first == 0 ? 0 : SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    if (e->nbatches == 0)
        return 0;
    int32_t prev = e->b[e->nbatches - 1].last_seq;
    /* prev == INT32_MAX: the next is 0 (no prev + 1 there: signed overflow
     * is undefined and let the compiler drop the wrap test) */
    if (prev == INT32_MAX ? first == 0 : first == prev + 1)
        return 0;
    return SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
}

int
pstate_update(struct pstate *ps, const struct rec_batch_hdr *h)
{
    struct pstate_entry *e = insert(ps, h->producer_id);
    if (!e)
        return SL_ERR__NOMEM;
    if (h->producer_epoch != e->epoch) {
        e->epoch = h->producer_epoch;
        e->nbatches = 0;
    }
    if (e->nbatches == PSTATE_BATCHES) {
        memmove(&e->b[0], &e->b[1], sizeof(e->b[0]) * (PSTATE_BATCHES - 1));
        e->nbatches--;
    }
    e->b[e->nbatches].first_seq = h->base_sequence;
    e->b[e->nbatches].last_seq = last_seq_of(h);
    e->b[e->nbatches].first_offset = h->base_offset;
    e->b[e->nbatches].last_offset = rec_last_offset(h);
    e->nbatches++;
    if (h->max_timestamp > e->last_ts)
        e->last_ts = h->max_timestamp;
    return 0;
}

void
pstate_expire(struct pstate *ps, int64_t cutoff_ts)
{
    for (size_t i = 0; i < ps->cap;) {
        if (ps->slots[i].pid >= 0 && ps->slots[i].last_ts < cutoff_ts)
            erase(ps, i);     /* the slot may now hold a moved entry: look again */
        else
            i++;
    }
}

int
pstate_write_snapshot(const struct pstate *ps, const char *dir, int64_t offset)
{
    struct sl_buf b = SL_BUF_INIT;
    char path[4200];
    int rc;

    sl_buf_put_i32(&b, (int32_t)SNAP_MAGIC);
    sl_buf_put_i16(&b, SNAP_VERSION);
    sl_buf_put_i64(&b, offset);
    sl_buf_put_i32(&b, (int32_t)ps->n);
    for (size_t i = 0; i < ps->cap; i++) {
        const struct pstate_entry *e = &ps->slots[i];
        if (e->pid < 0)
            continue;
        sl_buf_put_i64(&b, e->pid);
        sl_buf_put_i16(&b, e->epoch);
        sl_buf_put_i64(&b, e->last_ts);
        sl_buf_put_i8(&b, (int8_t)e->nbatches);
        for (int k = 0; k < e->nbatches; k++) {
            sl_buf_put_i32(&b, e->b[k].first_seq);
            sl_buf_put_i32(&b, e->b[k].last_seq);
            sl_buf_put_i64(&b, e->b[k].first_offset);
            sl_buf_put_i64(&b, e->b[k].last_offset);
        }
    }
    sl_buf_put_i32(&b, (int32_t)crc32c(0, b.data, b.len));
    if (b.oom) {
        sl_buf_free(&b);
        return SL_ERR__NOMEM;
    }
    snprintf(path, sizeof(path), "%s/%020lld.snapshot", dir, (long long)offset);
    rc = ckpt_write(path, b.data, b.len);
    sl_buf_free(&b);
    return rc;
}

int
pstate_read_snapshot(struct pstate *ps, const char *path)
{
    struct stat st;
    char *buf;
    const uint8_t *p, *end;
    size_t len;
    int rc;
    int32_t n;

    /* size the buffer by the file (bounded), not by the largest allowed */
    if (stat(path, &st) != 0)
        return errno == ENOENT ? SL_ERR__NOENT : SL_ERR__IO;
    if (st.st_size < 0 || (uint64_t)st.st_size > SNAP_MAX)
        return SL_ERR__CORRUPT;
    if (!(buf = malloc((size_t)st.st_size + 1)))
        return SL_ERR__NOMEM;
    if ((rc = ckpt_read(path, buf, (size_t)st.st_size, &len)) != 0)
        goto out;
    rc = SL_ERR__CORRUPT;
    p = (const uint8_t *)buf;
    end = p + len;
    if (len < 22 || rec_get_u32(end - 4) != crc32c(0, buf, len - 4) ||
        rec_get_u32(p) != SNAP_MAGIC || rec_get_i16(p + 4) != SNAP_VERSION)
        goto out;
    n = rec_get_i32(p + 14);
    p += 18;
    end -= 4;
    pstate_clear(ps);
    for (int32_t i = 0; i < n; i++) {
        struct pstate_entry *e;
        int nb;
        if (end - p < 19)
            goto out;
        if (!(e = insert(ps, rec_get_i64(p))))
            goto out;
        e->epoch = rec_get_i16(p + 8);
        e->last_ts = rec_get_i64(p + 10);
        nb = p[18];
        p += 19;
        if (nb < 0 || nb > PSTATE_BATCHES || end - p < nb * 24)
            goto out;
        e->nbatches = nb;
        for (int k = 0; k < nb; k++, p += 24) {
            e->b[k].first_seq = rec_get_i32(p);
            e->b[k].last_seq = rec_get_i32(p + 4);
            e->b[k].first_offset = rec_get_i64(p + 8);
            e->b[k].last_offset = rec_get_i64(p + 16);
        }
    }
    rc = p == end ? 0 : SL_ERR__CORRUPT;
out:
    if (rc != 0 && rc != SL_ERR__NOENT)
        pstate_clear(ps);
    free(buf);
    return rc;
}
