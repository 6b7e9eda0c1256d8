/* storage/index.c -- see index.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "storage/err.h"
#include "storage/fsio.h"
#include "storage/index.h"
#include "storage/log.h"
#include "storage/record.h"

static int
idx_map(struct idx *x, size_t len, int writable)
{
    if (x->map) {
        munmap(x->map, x->map_len);
        x->map = NULL;
        x->map_len = 0;
    }
    x->writable = writable;
    x->backed = 0;
    x->max_entries = len / idx_entry_size(x);
    if (len == 0)
        return 0;
    x->map = mmap(NULL, len, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, x->fd, 0);
    if (x->map == MAP_FAILED) {
        x->map = NULL;
        SL_ERROR("index", "mmap: %s", strerror(errno));
        return sl_err_from_errno(errno);
    }
    x->map_len = len;
    return 0;
}

int
idx_open(struct idx *x, const char *path, enum idx_kind kind, int64_t base,
         size_t max_bytes, int writable)
{
    struct stat st;
    size_t es;
    int rc;

    memset(x, 0, sizeof(*x));
    x->fd = -1;
    x->kind = kind;
    x->base = base;
    es = idx_entry_size(x);
    snprintf(x->path, sizeof(x->path), "%s", path);
    x->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (x->fd < 0) {
        SL_ERROR("index", "open %s: %s", path, strerror(errno));
        return sl_err_from_errno(errno);
    }
    if (fstat(x->fd, &st) < 0) {
        rc = sl_err_from_errno(errno);
        goto fail;
    }
    x->entries = (size_t)st.st_size / es;
    if (writable) {
        size_t len = max_bytes / es * es;
        if (len < es)
            len = es;
        if (len < (size_t)st.st_size)
            len = (size_t)st.st_size / es * es;
        if ((size_t)st.st_size != len && (rc = fsio_ftruncate(x->fd, (off_t)len, path)) != 0)
            goto fail;
        rc = idx_map(x, len, 1);
    } else {
        rc = idx_map(x, x->entries * es, 0);
    }
    if (rc != 0)
        goto fail;
    if (x->entries > x->max_entries)
        x->entries = x->max_entries;
    if (!writable) {
        close(x->fd);
        x->fd = -1;
    }
    return 0;
fail:
    idx_close(x);
    return rc;
}

void
idx_close(struct idx *x)
{
    if (x->map)
        munmap(x->map, x->map_len);
    if (x->fd >= 0)
        close(x->fd);
    x->map = NULL;
    x->map_len = 0;
    x->fd = -1;
    x->entries = 0;
}

void
idx_append_offset(struct idx *x, int64_t offset, uint32_t pos)
{
    uint8_t *p = x->map + x->entries * 8;
    rec_put_u32(p, (uint32_t)(offset - x->base));
    rec_put_u32(p + 4, pos);
    x->entries++;
}

void
idx_append_time(struct idx *x, int64_t ts, int64_t offset)
{
    uint8_t *p = x->map + x->entries * 12;
    rec_put_u64(p, (uint64_t)ts);
    rec_put_u32(p + 8, (uint32_t)(offset - x->base));
    x->entries++;
}

void
idx_offset_entry(const struct idx *x, size_t i, int64_t *offset, uint32_t *pos)
{
    const uint8_t *p = x->map + i * 8;
    *offset = x->base + rec_get_u32(p);
    *pos = rec_get_u32(p + 4);
}

void
idx_time_entry(const struct idx *x, size_t i, int64_t *ts, int64_t *offset)
{
    const uint8_t *p = x->map + i * 12;
    *ts = rec_get_i64(p);
    *offset = x->base + rec_get_u32(p + 8);
}

/* How many offset entries have an offset (by_pos: a position) <= key.
 * Both grow along the index, so this is a binary search. */
static size_t
count_at_most(const struct idx *x, int64_t key, int by_pos)
{
    size_t lo = 0, hi = x->entries;
    int64_t o;
    uint32_t p;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        idx_offset_entry(x, mid, &o, &p);
        if ((by_pos ? (int64_t)p : o) <= key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void
idx_lookup_offset(const struct idx *x, int64_t target, int64_t *offset, uint32_t *pos)
{
    size_t n = count_at_most(x, target, 0);

    if (n == 0) {
        *offset = x->base;
        *pos = 0;
        return;
    }
    idx_offset_entry(x, n - 1, offset, pos);
}

uint32_t
idx_position_at_most(const struct idx *x, uint64_t max_pos)
{
    size_t n = count_at_most(x, max_pos > INT64_MAX ? INT64_MAX : (int64_t)max_pos, 1);
    int64_t o;
    uint32_t p = 0;

    if (n > 0)
        idx_offset_entry(x, n - 1, &o, &p);
    return p;
}

int64_t
idx_lookup_time(const struct idx *x, int64_t ts)
{
    size_t lo = 0, hi = x->entries;   /* first entry with timestamp >= ts */
    int64_t t, o;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        idx_time_entry(x, mid, &t, &o);
        if (t < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return x->base;
    idx_time_entry(x, lo - 1, &t, &o);
    return o;
}

void
idx_truncate_offset(struct idx *x, int64_t offset)
{
    while (x->entries > 0) {
        int64_t o, t;
        uint32_t p;
        if (x->kind == IDX_OFFSET)
            idx_offset_entry(x, x->entries - 1, &o, &p);
        else
            idx_time_entry(x, x->entries - 1, &t, &o);
        if (o < offset)
            break;
        x->entries--;
    }
}

void
idx_reset(struct idx *x)
{
    x->entries = 0;
}

int
idx_trim(struct idx *x)
{
    size_t len = x->entries * idx_entry_size(x);
    int rc;

    if (x->fd < 0)
        return 0;
    if (x->map && x->writable)
        msync(x->map, x->map_len, MS_SYNC);
    if ((rc = fsio_ftruncate(x->fd, (off_t)len, "index")) != 0)
        return rc;
    rc = idx_map(x, len, 0);
    x->max_entries = x->entries;
    close(x->fd);
    x->fd = -1;
    return rc;
}

int
idx_make_writable(struct idx *x, size_t max_bytes)
{
    size_t es = idx_entry_size(x);
    size_t len = max_bytes / es * es;
    int rc;

    if (len < x->entries * es)
        len = x->entries * es;
    if (len < es)
        len = es;
    if (x->fd < 0 && (x->fd = open(x->path, O_RDWR | O_CLOEXEC)) < 0) {
        SL_ERROR("index", "open %s: %s", x->path, strerror(errno));
        return sl_err_from_errno(errno);
    }
    if ((rc = fsio_ftruncate(x->fd, (off_t)len, "index")) != 0)
        return rc;
    return idx_map(x, len, 1);
}

int
idx_reserve(struct idx *x, size_t n)
{
    size_t need = n * idx_entry_size(x), upto;
    int rc;

    if (need <= x->backed)
        return 0;
    if (x->fd < 0 || !x->writable)
        return SL_ERR__INVALID_ARG;
    upto = (need + 65535) & ~(size_t)65535;       /* 64 KiB at a time */
    if (upto > x->map_len)
        upto = x->map_len;
    if (upto < need)
        return SL_ERR__INVALID_ARG;
    do {
        rc = fallocate(x->fd, 0, (off_t)x->backed, (off_t)(upto - x->backed));
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        if (errno == EOPNOTSUPP) {
            /* no fallocate here: write zeros through the descriptor instead */
            static const uint8_t zeros[4096];
            /* pages holding entries were stored into after their reserve,
             * so they are backed: start past them, never over an entry */
            size_t used = (x->entries * idx_entry_size(x) + 4095) & ~(size_t)4095;
            for (size_t pos = x->backed > used ? x->backed : used; pos < upto; pos += sizeof(zeros)) {
                size_t len = upto - pos < sizeof(zeros) ? upto - pos : sizeof(zeros);
                if ((rc = fsio_pwrite_all(x->fd, zeros, len, (off_t)pos, "index")) != 0)
                    return rc;
            }
        } else {
            int e = errno;
            if (e != ENOSPC && e != EDQUOT)
                SL_ERROR("index", "fallocate %s: %s", x->path, strerror(e));
            return sl_err_from_errno(e);
        }
    }
    x->backed = upto;
    return 0;
}

int
idx_sync(struct idx *x)
{
    if (x->map && x->writable && msync(x->map, x->map_len, MS_SYNC) < 0) {
        SL_ERROR("index", "msync: %s", strerror(errno));
        return sl_err_from_errno(errno);
    }
    return 0;
}

int
idx_sanity_check(const struct idx *x, int64_t log_size)
{
    int64_t first_o, last_o, first_t, last_t;
    uint32_t first_p, last_p;

    /* O(1), like Kafka's sanityCheck: the ends only, so opening a large log
     * touches no index pages. A wrong interior entry is caught where it is
     * used (the batch found at its position must match) and causes a rebuild. */
    if (x->entries == 0)
        return 0;
    if (x->kind == IDX_OFFSET) {
        idx_offset_entry(x, 0, &first_o, &first_p);
        idx_offset_entry(x, x->entries - 1, &last_o, &last_p);
        if (first_o < x->base || last_o < first_o || (int64_t)last_p >= log_size ||
            last_p < first_p || (x->entries > 1 && last_o == first_o))
            return SL_ERR__CORRUPT;
    } else {
        idx_time_entry(x, 0, &first_t, &first_o);
        idx_time_entry(x, x->entries - 1, &last_t, &last_o);
        if (first_o < x->base || last_o < first_o || last_t < first_t)
            return SL_ERR__CORRUPT;
    }
    return 0;
}
