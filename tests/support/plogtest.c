/* tests/support/plogtest.c -- helpers shared by the partition-log suites;
 * see plogtest.h. Everything checks against offset-determined content
 * (batchgen's det family), so a read-back needs no copy of what was
 * written beyond the batch boundaries in pt_model.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "storage/err.h"
#include "tests/support/batchgen.h"
#include "tests/support/plogtest.h"

void
pt_model_free(struct pt_model *m)
{
    free(m->b);
    memset(m, 0, sizeof(*m));
}

void
pt_model_push(struct pt_model *m, const struct pt_batch *b)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 256;
        m->b = realloc(m->b, m->cap * sizeof(*m->b));
        if (!m->b)
            abort();
    }
    m->b[m->n++] = *b;
}

long
pt_model_find(const struct pt_model *m, int64_t offset)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->b[mid].last < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < m->n && m->b[lo].base <= offset && offset <= m->b[lo].last)
        return (long)lo;
    return -1;
}

void
pt_model_truncate(struct pt_model *m, int64_t offset)
{
    while (m->n > 0 && m->b[m->n - 1].last >= offset)
        m->n--;
}

void
pt_config(struct plog_config *cfg, int64_t segment_bytes)
{
    plog_config_default(cfg);
    cfg->segment_bytes = segment_bytes;
}

int
pt_append_det(struct plog *log, struct pt_model *m, int32_t n, int32_t vlen, int32_t epoch,
              struct plog_append_info *info)
{
    struct sl_buf b = SL_BUF_INIT;
    struct plog_append_info local;
    int64_t first = plog_log_end_offset(log);
    int rc;

    if (!info)
        info = &local;
    if ((rc = bg_append_det(&b, first, n, vlen)) != 0)
        return rc;
    /* ASSIGN_OFFSETS rewrites the base offset: write garbage there to prove it */
    rec_set_base_offset(b.data, 999999999);
    size_t size = b.len;
    rc = plog_append(log, b.data, b.len, epoch, PLOG_APPEND_ASSIGN_OFFSETS, bg_det_ts(first), info);
    sl_buf_free(&b);
    if (rc == 0 && m) {
        struct pt_batch pb = { first, first + n - 1, size, vlen, epoch };
        pt_model_push(m, &pb);
    }
    return rc;
}

long
pt_read_check(struct plog *log, int64_t from, int64_t upto, size_t max_bytes,
              const struct pt_model *m, int32_t vlen, char *err, size_t cap)
{
    int64_t next = from;
    long nrecs = 0;
    size_t bufcap = 0;
    uint8_t *buf = NULL;
    int guard = 0;

    err[0] = '\0';
    while (next < upto) {
        struct plog_slice s;
        struct bg_walk w;
        int rc = plog_read(log, next, max_bytes, upto, &s);
        if (rc != 0) {
            snprintf(err, cap, "plog_read(%" PRId64 ") -> %d (%s)", next, rc, sl_strerror(rc));
            goto fail;
        }
        if (s.len == 0) {
            snprintf(err, cap, "plog_read(%" PRId64 ", upto %" PRId64 ") returned nothing", next, upto);
            goto fail;
        }
        if (s.len > bufcap) {
            bufcap = s.len;
            buf = realloc(buf, bufcap);
        }
        rc = plog_slice_copy(&s, buf);
        size_t len = s.len;
        plog_slice_release(&s);
        if (rc != 0) {
            snprintf(err, cap, "plog_slice_copy at %" PRId64 " -> %d", next, rc);
            goto fail;
        }
        if ((rc = bg_walk(buf, len, 1, &w)) != 0 || w.nbatches == 0) {
            snprintf(err, cap, "slice for %" PRId64 ": %s (%zu batches)", next, w.msg, w.nbatches);
            bg_walk_free(&w);
            goto fail;
        }
        if (w.hdrs[0].base_offset > next || rec_last_offset(&w.hdrs[0]) < next) {
            snprintf(err, cap, "slice for %" PRId64 " starts with batch [%" PRId64 ", %" PRId64 "]",
                     next, w.hdrs[0].base_offset, rec_last_offset(&w.hdrs[0]));
            bg_walk_free(&w);
            goto fail;
        }
        if (w.tail_bytes && len != max_bytes) {
            snprintf(err, cap, "slice for %" PRId64 " ends in a partial batch but is not max_bytes long",
                     next);
            bg_walk_free(&w);
            goto fail;
        }
        for (size_t i = 0; i < w.nrecs; i++) {
            const struct bg_rec *r = &w.recs[i];
            int32_t v = vlen, ep = -2;
            if (r->offset < next)
                continue;
            if (r->offset != next) {
                snprintf(err, cap, "expected offset %" PRId64 ", got %" PRId64, next, r->offset);
                bg_walk_free(&w);
                goto fail;
            }
            if (r->offset >= upto) {
                snprintf(err, cap, "offset %" PRId64 " returned past max_offset %" PRId64, r->offset, upto);
                bg_walk_free(&w);
                goto fail;
            }
            if (m) {
                long k = pt_model_find(m, r->offset);
                if (k < 0) {
                    snprintf(err, cap, "offset %" PRId64 " is not in the model", r->offset);
                    bg_walk_free(&w);
                    goto fail;
                }
                v = m->b[k].vlen;
                ep = m->b[k].epoch;
            }
            if (!bg_det_check(r, v, 1)) {
                snprintf(err, cap, "record %" PRId64 " has the wrong content", r->offset);
                bg_walk_free(&w);
                goto fail;
            }
            if (ep != -2 && r->leader_epoch != ep) {
                snprintf(err, cap, "record %" PRId64 " leader epoch %d, want %d", r->offset,
                         r->leader_epoch, ep);
                bg_walk_free(&w);
                goto fail;
            }
            next++;
            nrecs++;
        }
        bg_walk_free(&w);
        if (++guard > 10000000) {
            snprintf(err, cap, "no progress at %" PRId64, next);
            goto fail;
        }
    }
    free(buf);
    return nrecs;
fail:
    free(buf);
    return -1;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int
pt_list_segments(const char *dir, int64_t *bases, int max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        size_t len = strlen(nm);
        if (len != 24 || strcmp(nm + 20, ".log") != 0)
            continue;
        int digits = 1;
        for (int i = 0; i < 20; i++)
            if (nm[i] < '0' || nm[i] > '9')
                digits = 0;
        if (!digits)
            continue;
        if (n < max)
            bases[n] = strtoll(nm, NULL, 10);
        n++;
    }
    closedir(d);
    if (n > max)
        n = max;
    qsort(bases, (size_t)n, sizeof(*bases), cmp_i64);
    return n;
}

int64_t
pt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
