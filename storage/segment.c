/* storage/segment.c -- see segment.h. */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "storage/crc32c.h"
#include "storage/err.h"
#include "storage/fsio.h"
#include "storage/log.h"
#include "storage/segment.h"

#define SCAN_CHUNK (1u << 20)

static void
seg_path(const struct seg *s, const char *suffix, char *out, size_t len)
{
    snprintf(out, len, "%s%s", s->prefix, suffix);
}


/* ---- descriptor cache ------------------------------------------------------ */

static pthread_mutex_t fd_mu = PTHREAD_MUTEX_INITIALIZER;
static struct seg *lru_head, *lru_tail;   /* most recently used first */
static int lru_count;
static int fd_max_open = 1024;

void
seg_set_max_open(int n)
{
    pthread_mutex_lock(&fd_mu);
    fd_max_open = n < 4 ? 4 : n;
    pthread_mutex_unlock(&fd_mu);
}

int
seg_open_count(void)
{
    int n;
    pthread_mutex_lock(&fd_mu);
    n = lru_count;
    pthread_mutex_unlock(&fd_mu);
    return n;
}

static void
lru_remove(struct seg *s)
{
    if (!s->in_lru)
        return;
    if (s->lru_prev)
        s->lru_prev->lru_next = s->lru_next;
    else
        lru_head = s->lru_next;
    if (s->lru_next)
        s->lru_next->lru_prev = s->lru_prev;
    else
        lru_tail = s->lru_prev;
    s->lru_prev = s->lru_next = NULL;
    s->in_lru = 0;
    lru_count--;
}

static void
lru_push(struct seg *s)
{
    s->lru_prev = NULL;
    s->lru_next = lru_head;
    if (lru_head)
        lru_head->lru_prev = s;
    lru_head = s;
    if (!lru_tail)
        lru_tail = s;
    s->in_lru = 1;
    lru_count++;
}

/* Close idle descriptors past the cap, least recently used first. */
static void
lru_evict(const struct seg *keep)
{
    struct seg *x = lru_tail;
    while (lru_count > fd_max_open && x) {
        struct seg *prev = x->lru_prev;
        if (x->fd_users == 0 && x != keep) {
            lru_remove(x);
            close(x->fd);
            x->fd = -1;
        }
        x = prev;
    }
}

static int
open_log_fd(struct seg *s)
{
    char path[PATH_MAX + 16];
    seg_path(s, ".log", path, sizeof(path));
    s->fd = open(path, O_RDWR | O_CLOEXEC);
    if (s->fd < 0) {
        SL_ERROR("segment", "open %s: %s", path, strerror(errno));
        return sl_err_from_errno(errno);
    }
    return 0;
}

int
seg_fd_get(struct seg *s, int *fd)
{
    int rc = 0;
    pthread_mutex_lock(&fd_mu);
    if (s->fd < 0) {
        if ((rc = open_log_fd(s)) != 0)
            goto out;
        if (!s->fd_pinned)
            lru_push(s);
    } else if (s->in_lru && lru_head != s) {
        lru_remove(s);
        lru_push(s);
    }
    s->fd_users++;
    *fd = s->fd;
    lru_evict(s);
out:
    pthread_mutex_unlock(&fd_mu);
    return rc;
}

void
seg_fd_put(struct seg *s)
{
    pthread_mutex_lock(&fd_mu);
    s->fd_users--;
    pthread_mutex_unlock(&fd_mu);
}

/* Active segments keep their descriptor out of the cache. */
static int
seg_pin_fd(struct seg *s, int pinned)
{
    int rc = 0;
    pthread_mutex_lock(&fd_mu);
    s->fd_pinned = pinned;
    if (pinned) {
        lru_remove(s);
        if (s->fd < 0)
            rc = open_log_fd(s);
    } else if (s->fd >= 0 && !s->in_lru) {
        lru_push(s);
        lru_evict(NULL);
    }
    pthread_mutex_unlock(&fd_mu);
    return rc;
}

static struct seg *
seg_alloc(const char *dir, int64_t base)
{
    struct seg *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->base = base;
    s->fd = -1;
    s->oidx.fd = s->tidx.fd = -1;
    s->next_offset = -1;
    s->max_ts = -1;
    s->max_ts_offset = -1;
    s->refs = 1;
    if (snprintf(s->prefix, sizeof(s->prefix), "%s/%020lld", dir, (long long)base)
        >= (int)sizeof(s->prefix)) {
        free(s);
        return NULL;
    }
    return s;
}

static void
seg_free(struct seg *s)
{
    pthread_mutex_lock(&fd_mu);
    lru_remove(s);
    pthread_mutex_unlock(&fd_mu);
    idx_close(&s->oidx);
    idx_close(&s->tidx);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

void
seg_ref(struct seg *s)
{
    __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
}

void
seg_unref(struct seg *s)
{
    if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
        seg_free(s);
}

/* New segment: create the .log (pinned, it is active). Existing one: just
 * learn its size; the descriptor opens on first use. */
static int
seg_open_log(struct seg *s, int create)
{
    char path[PATH_MAX + 16];
    struct stat st;

    seg_path(s, ".log", path, sizeof(path));
    if (create) {
        s->fd = open(path, O_RDWR | O_CLOEXEC | O_CREAT | O_TRUNC, 0644);
        if (s->fd < 0) {
            SL_ERROR("segment", "open %s: %s", path, strerror(errno));
            return sl_err_from_errno(errno);
        }
        s->fd_pinned = 1;
        s->size = s->synced_size = 0;
        return 0;
    }
    if (stat(path, &st) < 0) {
        SL_ERROR("segment", "stat %s: %s", path, strerror(errno));
        return sl_err_from_errno(errno);
    }
    if (!S_ISREG(st.st_mode)) {
        SL_ERROR("segment", "%s is not a regular file", path);
        return SL_ERR__IO;
    }
    s->size = st.st_size;
    s->synced_size = st.st_size;
    return 0;
}

int
seg_load_indexes(struct seg *s, const struct plog_config *cfg, int writable)
{
    char path[PATH_MAX + 16];
    int rc;

    if (s->indexes_loaded) {
        if (writable && !s->active)
            return seg_activate(s, cfg);
        return 0;
    }
    seg_path(s, ".index", path, sizeof(path));
    if ((rc = idx_open(&s->oidx, path, IDX_OFFSET, s->base, (size_t)cfg->segment_index_bytes,
                       writable)) != 0)
        return rc;
    seg_path(s, ".timeindex", path, sizeof(path));
    if ((rc = idx_open(&s->tidx, path, IDX_TIME, s->base, (size_t)cfg->segment_index_bytes,
                       writable)) != 0) {
        idx_close(&s->oidx);
        return rc;
    }
    s->indexes_loaded = 1;
    s->active = writable;
    if (writable && (rc = seg_pin_fd(s, 1)) != 0)
        return rc;
    if (idx_sanity_check(&s->oidx, s->size) != 0 || idx_sanity_check(&s->tidx, s->size) != 0)
        return SL_ERR__CORRUPT;     /* the caller rebuilds (and says so if unexpected) */
    return 0;
}

int
seg_create(struct seg **out, const char *dir, int64_t base, const struct plog_config *cfg,
           int64_t now_ms)
{
    struct seg *s = seg_alloc(dir, base);
    char path[PATH_MAX + 16];
    int rc;

    if (!s)
        return SL_ERR__NOMEM;
    if ((rc = seg_open_log(s, 1)) != 0)
        goto fail;
    /* leftovers of an earlier segment at this base must not be trusted */
    seg_path(s, ".index", path, sizeof(path));
    unlink(path);
    seg_path(s, ".timeindex", path, sizeof(path));
    unlink(path);
    if ((rc = seg_load_indexes(s, cfg, 1)) != 0)
        goto fail;
    s->next_offset = base;
    s->rolling_ts = now_ms;
    *out = s;
    return 0;
fail:
    seg_free(s);
    return rc;
}

int
seg_load(struct seg **out, const char *dir, int64_t base)
{
    struct seg *s = seg_alloc(dir, base);
    int rc;

    if (!s)
        return SL_ERR__NOMEM;
    if ((rc = seg_open_log(s, 0)) != 0) {
        seg_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int
seg_read_hdr(struct seg *s, int64_t pos, struct rec_batch_hdr *hdr)
{
    uint8_t b[REC_HDR_LEN];
    int rc;

    int fd;

    if (pos + REC_HDR_LEN > s->size)
        return SL_ERR__CORRUPT;
    if ((rc = seg_fd_get(s, &fd)) != 0)
        return rc;
    rc = fsio_pread_all(fd, b, sizeof(b), pos, s->prefix);
    seg_fd_put(s);
    if (rc != 0)
        return rc == SL_ERR__UNDERFLOW ? SL_ERR__CORRUPT : rc;
    if (rec_parse_hdr(b, sizeof(b), (size_t)(s->size - pos), hdr) != 0)
        return SL_ERR__CORRUPT;
    return 0;
}

/* Index one batch at pos, as Kafka's LogSegment.append does: an offset
 * entry once more than index_interval_bytes went by since the last one. */
static void
seg_index_batch(struct seg *s, const struct plog_config *cfg, const struct rec_batch_hdr *h,
                int64_t pos)
{
    int64_t last = rec_last_offset(h);

    if (h->max_timestamp > s->max_ts || s->max_ts_offset < 0) {
        s->max_ts = h->max_timestamp;
        s->max_ts_offset = last;
    }
    if (s->bytes_since_index > cfg->index_interval_bytes && s->indexes_loaded) {
        /* an index entry needs its page backed on disk (idx_reserve); if
         * the disk is full the index just stays sparser */
        if (!idx_is_full(&s->oidx) && idx_reserve(&s->oidx, s->oidx.entries + 1) == 0)
            idx_append_offset(&s->oidx, last, (uint32_t)pos);
        if (s->tidx.entries + 1 < s->tidx.max_entries &&   /* keep a slot for the roll entry */
            idx_reserve(&s->tidx, s->tidx.entries + 2) == 0) {
            int64_t t = -1, o;
            if (s->tidx.entries)
                idx_time_entry(&s->tidx, s->tidx.entries - 1, &t, &o);
            if (s->max_ts > t)
                idx_append_time(&s->tidx, s->max_ts, s->max_ts_offset);
        }
        s->bytes_since_index = 0;
    }
    s->bytes_since_index += (int64_t)rec_batch_size(h);
}

int
seg_needs_roll_for(struct seg *s, int64_t last_offset)
{
    if (last_offset - s->base > INT32_MAX)
        return 1;
    if (!s->indexes_loaded)
        return 0;
    return s->oidx.entries + 1 >= s->oidx.max_entries ||
           s->tidx.entries + 2 >= s->tidx.max_entries;
}

int
seg_append(struct seg *s, const uint8_t *buf, size_t len, const struct plog_config *cfg)
{
    int64_t pos = s->size;
    int rc = fsio_pwrite_all(s->fd, buf, len, pos, s->prefix);

    if (rc != 0) {
        /* cut back what part of the write landed; if we cannot, the file
         * holds bytes we did not publish and the log must go offline */
        if (fsio_ftruncate(s->fd, pos, s->prefix) != 0)
            return SL_ERR__OFFLINE;
        return rc;
    }
    for (size_t off = 0; off < len;) {
        struct rec_batch_hdr h;
        rec_parse_hdr(buf + off, len - off, len - off, &h);   /* validated by the caller */
        seg_index_batch(s, cfg, &h, pos + (int64_t)off);
        s->next_offset = rec_last_offset(&h) + 1;
        off += rec_batch_size(&h);
    }
    s->size = pos + (int64_t)len;
    return 0;
}

/* Buffered forward reader over the .log for scans. */
struct scan {
    int      fd;
    uint8_t *buf;
    size_t   cap;
    int64_t  buf_pos;     /* file position of buf[0] */
    size_t   buf_len;
    int64_t  file_size;
};

/* Make [pos, pos+len) available in sc->buf; returns pointer or NULL (short file / io). */
static const uint8_t *
scan_get(struct scan *sc, int64_t pos, size_t len, int *err)
{
    if (pos >= sc->buf_pos && pos + (int64_t)len <= sc->buf_pos + (int64_t)sc->buf_len)
        return sc->buf + (pos - sc->buf_pos);
    if (pos + (int64_t)len > sc->file_size)
        return NULL;
    if (len > sc->cap) {
        uint8_t *nb = realloc(sc->buf, len);
        if (!nb) {
            *err = SL_ERR__NOMEM;
            return NULL;
        }
        sc->buf = nb;
        sc->cap = len;
    }
    size_t want = sc->cap;
    if ((int64_t)want > sc->file_size - pos)
        want = (size_t)(sc->file_size - pos);
    int rc = fsio_pread_all(sc->fd, sc->buf, want, pos, "scan");
    if (rc != 0) {
        if (rc != SL_ERR__UNDERFLOW)
            *err = rc;
        return NULL;
    }
    sc->buf_pos = pos;
    sc->buf_len = want;
    return sc->buf;
}

/* Walk batches from pos. With check, each is validated (CRC, offsets) and
 * indexed; the walk stops at the first bad byte. Returns the position where
 * the valid run ends, or a negative sl_err on I/O failure. */
static int64_t
seg_walk(struct seg *s, const struct plog_config *cfg, int64_t pos, int check,
         int64_t first_offset, int *err)
{
    struct scan sc = { .fd = -1, .buf = NULL, .cap = SCAN_CHUNK, .file_size = s->size };
    int64_t expect = first_offset;

    if ((*err = seg_fd_get(s, &sc.fd)) != 0)
        return pos;
    sc.buf = malloc(sc.cap);
    if (!sc.buf) {
        seg_fd_put(s);
        *err = SL_ERR__NOMEM;
        return pos;
    }
    for (;;) {
        struct rec_batch_hdr h;
        const uint8_t *p = scan_get(&sc, pos, REC_HDR_LEN, err);
        size_t size;

        if (!p)
            break;
        if (rec_parse_hdr(p, REC_HDR_LEN, (size_t)cfg->max_batch_bytes, &h) != 0)
            break;
        size = rec_batch_size(&h);
        if (check) {
            if (h.base_offset < expect || rec_last_offset(&h) - s->base > INT32_MAX ||
                h.record_count < 0)
                break;
            p = scan_get(&sc, pos, size, err);
            if (!p || !rec_crc_ok(p, size))
                break;
            seg_index_batch(s, cfg, &h, pos);
        } else {
            if (pos + (int64_t)size > s->size)
                break;
            if (h.max_timestamp > s->max_ts || s->max_ts_offset < 0) {
                s->max_ts = h.max_timestamp;
                s->max_ts_offset = rec_last_offset(&h);
            }
            s->bytes_since_index += (int64_t)size;
        }
        expect = rec_last_offset(&h) + 1;
        s->next_offset = expect;
        pos += (int64_t)size;
    }
    free(sc.buf);
    seg_fd_put(s);
    return pos;
}

int
seg_recover(struct seg *s, const struct plog_config *cfg, int64_t first_offset,
            struct seg_scan_result *res)
{
    int64_t end;
    int rc, err = 0;

    if (!s->indexes_loaded || !s->active) {
        if (s->indexes_loaded) {
            idx_close(&s->oidx);
            idx_close(&s->tidx);
            s->indexes_loaded = 0;
        }
        rc = seg_load_indexes(s, cfg, 1);
        if (rc != 0 && rc != SL_ERR__CORRUPT)
            return rc;
    }
    idx_reset(&s->oidx);
    idx_reset(&s->tidx);
    s->max_ts = -1;
    s->max_ts_offset = -1;
    s->bytes_since_index = 0;
    s->next_offset = s->base;
    end = seg_walk(s, cfg, 0, 1, first_offset > s->base ? first_offset : s->base, &err);
    if (err)
        return err;
    res->scanned_bytes = end;
    res->truncated_bytes = s->size - end;
    if (end < s->size) {
        SL_WARN("segment", "%s.log: invalid data at byte %lld of %lld, truncating",
                s->prefix, (long long)end, (long long)s->size);
        int fd;
        if ((rc = seg_fd_get(s, &fd)) != 0)
            return rc;
        rc = fsio_ftruncate(fd, end, s->prefix);
        seg_fd_put(s);
        if (rc != 0)
            return rc;
        s->size = end;
    }
    s->synced_size = 0;   /* unknown: the next flush syncs it */
    return 0;
}

int
seg_scan_tail(struct seg *s, const struct plog_config *cfg)
{
    int64_t off = s->base, pos0 = 0, end;
    uint32_t pos = 0;
    int err = 0;

    if (s->indexes_loaded && s->oidx.entries) {
        idx_offset_entry(&s->oidx, s->oidx.entries - 1, &off, &pos);
        pos0 = pos;
    }
    if (s->indexes_loaded && s->tidx.entries) {
        int64_t t, o;
        idx_time_entry(&s->tidx, s->tidx.entries - 1, &t, &o);
        s->max_ts = t;
        s->max_ts_offset = o;
    }
    s->next_offset = s->base;
    s->bytes_since_index = 0;
    end = seg_walk(s, cfg, pos0, 0, 0, &err);
    if (err)
        return err;
    if (end != s->size)
        return SL_ERR__CORRUPT;
    return 0;
}

int
seg_find_batch(struct seg *s, const struct plog_config *cfg, int64_t target, int64_t *pos,
               struct rec_batch_hdr *hdr)
{
    int64_t ioff = s->base, p;
    uint32_t ipos = 0;
    int rc;

    if (!s->indexes_loaded) {
        rc = seg_load_indexes(s, cfg, 0);
        if (rc == SL_ERR__CORRUPT) {
            struct seg_scan_result r;
            SL_WARN("segment", "%s: index failed its sanity check, rebuilding", s->prefix);
            if ((rc = seg_recover(s, cfg, s->base, &r)) != 0)
                return rc;
            if (!s->active && (rc = seg_deactivate(s)) != 0)
                return rc;
        } else if (rc != 0) {
            return rc;
        }
    }
    idx_lookup_offset(&s->oidx, target, &ioff, &ipos);
    p = ipos;
    int have = 0;      /* hdr already holds the batch at p */
    if (p > 0) {
        /* the entry must name a batch ending at ioff: else the index lies */
        if ((rc = seg_read_hdr(s, p, hdr)) != 0 || rec_last_offset(hdr) != ioff) {
            SL_WARN("segment", "%s.index: entry for %lld does not match the log",
                    s->prefix, (long long)ioff);
            p = 0;
        } else {
            have = 1;
        }
    }
    while (p < s->size) {
        if (!have && (rc = seg_read_hdr(s, p, hdr)) != 0)
            return rc;
        have = 0;
        if (rec_last_offset(hdr) >= target) {
            *pos = p;
            return 0;
        }
        p += (int64_t)rec_batch_size(hdr);
    }
    return SL_ERR__NOENT;
}

int
seg_truncate(struct seg *s, const struct plog_config *cfg, int64_t pos)
{
    int rc;

    if ((rc = seg_load_indexes(s, cfg, s->active)) != 0 && rc != SL_ERR__CORRUPT)
        return rc;
    {
        int fd;
        if ((rc = seg_fd_get(s, &fd)) != 0)
            return SL_ERR__OFFLINE;
        rc = fsio_ftruncate(fd, pos, s->prefix);
        seg_fd_put(s);
        if (rc != 0)
            return SL_ERR__OFFLINE;
    }
    s->size = pos;
    s->truncations++;       /* a sync that started before this one covers old bytes */
    if (s->synced_size > pos)
        s->synced_size = pos;
    /* rebuild what the indexes say about the remaining bytes: cheap and exact */
    if (!s->active && (rc = seg_activate(s, cfg)) != 0)
        return rc;
    {
        struct seg_scan_result r;
        if ((rc = seg_recover(s, cfg, s->base, &r)) != 0)
            return rc;
    }
    return 0;
}

int
seg_deactivate(struct seg *s)
{
    int rc;

    if (!s->indexes_loaded)
        return 0;
    if (s->active && s->max_ts_offset >= 0 && s->tidx.entries < s->tidx.max_entries &&
        idx_reserve(&s->tidx, s->tidx.entries + 1) == 0) {
        int64_t t = -1, o;
        if (s->tidx.entries)
            idx_time_entry(&s->tidx, s->tidx.entries - 1, &t, &o);
        if (s->max_ts > t)
            idx_append_time(&s->tidx, s->max_ts, s->max_ts_offset);
    }
    if ((rc = idx_trim(&s->oidx)) != 0)
        return rc;
    if ((rc = idx_trim(&s->tidx)) != 0)
        return rc;
    s->active = 0;
    seg_pin_fd(s, 0);
    return 0;
}

int
seg_activate(struct seg *s, const struct plog_config *cfg)
{
    int rc;

    if (!s->indexes_loaded)
        return seg_load_indexes(s, cfg, 1);
    if ((rc = idx_make_writable(&s->oidx, (size_t)cfg->segment_index_bytes)) != 0)
        return rc;
    if ((rc = idx_make_writable(&s->tidx, (size_t)cfg->segment_index_bytes)) != 0)
        return rc;
    s->active = 1;
    return seg_pin_fd(s, 1);
}

int
seg_sync(struct seg *s, int sync_log, int sync_index)
{
    int rc;

    if (sync_log) {
        int fd;
        if ((rc = seg_fd_get(s, &fd)) != 0)     /* deleted meanwhile: nothing to keep */
            return __atomic_load_n(&s->deleted, __ATOMIC_ACQUIRE) ? 0 : rc;
        rc = fsio_fdatasync(fd, s->prefix);
        seg_fd_put(s);
        if (rc != 0)
            return rc;
    }
    if (sync_index && s->indexes_loaded) {
        if ((rc = idx_sync(&s->oidx)) != 0 || (rc = idx_sync(&s->tidx)) != 0)
            return rc;
    }
    return 0;
}

int
seg_max_timestamp(struct seg *s, const struct plog_config *cfg, int64_t *ts, int64_t *offset)
{
    int rc;

    if (s->max_ts_offset < 0 && s->size > 0) {
        if (!s->indexes_loaded) {
            rc = seg_load_indexes(s, cfg, 0);
            if (rc == SL_ERR__CORRUPT) {
                struct seg_scan_result r;
                if ((rc = seg_recover(s, cfg, s->base, &r)) != 0)
                    return rc;
                if ((rc = seg_deactivate(s)) != 0)
                    return rc;
            } else if (rc != 0) {
                return rc;
            }
        }
        if (s->max_ts_offset < 0 && (rc = seg_scan_tail(s, cfg)) != 0 && rc != SL_ERR__CORRUPT)
            return rc;
    }
    *ts = s->max_ts;
    *offset = s->max_ts_offset;
    return 0;
}

int
seg_unlink(struct seg *s)
{
    static const char *suffixes[] = { ".log", ".index", ".timeindex" };
    char path[PATH_MAX + 16];
    int rc = 0;

    /* first: a seg_sync that cannot reopen the file then knows why */
    __atomic_store_n(&s->deleted, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 3; i++) {
        seg_path(s, suffixes[i], path, sizeof(path));
        if (unlink(path) < 0 && errno != ENOENT) {
            SL_ERROR("segment", "unlink %s: %s", path, strerror(errno));
            rc = sl_err_from_errno(errno);
        }
    }
    return rc;
}
