/* storage/plog.c -- a partition log: segments, roll, retention, recovery,
 * checkpoints and the leader-epoch cache. See plog.h for the contract.
 *
 * Invariants (under mu):
 *   - segs[] is sorted by base offset; segs[nsegs-1] is the active segment,
 *     the only one appended to and the only one with writable indexes;
 *   - log_start <= hw <= leo, recovery_point <= leo;
 *   - a segment's published size covers whole, validated batches only.
 *
 * Files besides segments: sluice.checkpoint (text: version, clean flag,
 * recovery point, log start, high watermark) and leader-epoch-checkpoint
 * (Kafka's text format: "0\n<n>\n<epoch> <offset>\n..."). The clean flag is
 * written as 1 by plog_close and rewritten as 0 by plog_open, so a crash at
 * any time after an open leaves 0 behind and the next open recovers.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "storage/ckpt.h"
#include "storage/err.h"
#include "storage/fsio.h"
#include "storage/log.h"
#include "storage/plog.h"
#include "storage/pstate.h"
#include "storage/segment.h"

#define CKPT_NAME   "sluice.checkpoint"
#define EPOCH_NAME  "leader-epoch-checkpoint"
#define CKPT_MAX    4096
#define EPOCH_MAX_ENTRIES 100000

struct epoch_entry {
    int32_t epoch;
    int64_t start;
};

struct plog {
    pthread_mutex_t     mu;
    char               *dir;
    struct plog_config  cfg;
    struct seg        **segs;
    int                 nsegs, segs_cap;
    _Atomic int64_t     log_start;
    _Atomic int64_t     leo;
    _Atomic int64_t     hw;
    _Atomic int64_t     recovery_point;
    _Atomic int64_t     size_bytes;
    _Atomic int         offline;
    int64_t             unflushed_msgs;
    int64_t             last_flush_ms;
    struct epoch_entry *epochs;
    int                 nepochs, epochs_cap;
    struct pstate       producers;     /* idempotent producer state */
    char                ckpt_last[256];/* the checkpoint file as last written */
    size_t              ckpt_len;
};

void
plog_config_default(struct plog_config *cfg)
{
    cfg->segment_bytes = 1073741824;
    cfg->segment_ms = 7LL * 24 * 3600 * 1000;
    cfg->index_interval_bytes = 4096;
    cfg->segment_index_bytes = 10485760;
    cfg->retention_bytes = -1;
    cfg->retention_ms = 7LL * 24 * 3600 * 1000;
    cfg->flush_messages = INT64_MAX;
    cfg->flush_ms = INT64_MAX;
    cfg->max_batch_bytes = 1048588 + 64 * 1024 * 1024;
}

static void
cfg_sanitize(struct plog_config *c)
{
    if (c->segment_bytes > INT32_MAX)
        c->segment_bytes = INT32_MAX;
    if (c->segment_bytes < REC_HDR_LEN)
        c->segment_bytes = REC_HDR_LEN;
    if (c->index_interval_bytes < 0)
        c->index_interval_bytes = 0;
    if (c->segment_index_bytes < 4 * 12)
        c->segment_index_bytes = 4 * 12;
    if (c->max_batch_bytes < REC_HDR_LEN)
        c->max_batch_bytes = REC_HDR_LEN;
}

/* ---- small helpers (all under mu) ------------------------------------ */

static struct seg *
active_seg(struct plog *log)
{
    return log->segs[log->nsegs - 1];
}

static int
segs_push(struct plog *log, struct seg *s)
{
    if (log->nsegs == log->segs_cap) {
        int cap = log->segs_cap ? log->segs_cap * 2 : 8;
        struct seg **n = realloc(log->segs, (size_t)cap * sizeof(*n));
        if (!n)
            return SL_ERR__NOMEM;
        log->segs = n;
        log->segs_cap = cap;
    }
    log->segs[log->nsegs++] = s;
    return 0;
}

/* Remove segs[i] from the list, unlink its files, drop the log's reference. */
static int
segs_delete(struct plog *log, int i)
{
    struct seg *s = log->segs[i];
    int rc = seg_unlink(s);

    atomic_fetch_sub(&log->size_bytes, s->size);
    memmove(&log->segs[i], &log->segs[i + 1], (size_t)(log->nsegs - i - 1) * sizeof(*log->segs));
    log->nsegs--;
    seg_unref(s);
    return rc;
}

/* Index of the segment that would hold offset: the last with base <= offset. */
static int
segs_floor(struct plog *log, int64_t offset)
{
    int lo = 0, hi = log->nsegs;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (log->segs[mid]->base <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

static void
set_offline(struct plog *log, const char *why)
{
    if (!atomic_exchange(&log->offline, 1))
        SL_ERROR("plog", "%s: log offline: %s", log->dir, why);
}

/* ---- checkpoints ----------------------------------------------------- */

static int
write_checkpoint(struct plog *log, int clean)
{
    char path[PATH_MAX], buf[256];
    int n, rc;

    snprintf(path, sizeof(path), "%s/" CKPT_NAME, log->dir);
    n = snprintf(buf, sizeof(buf),
                 "version 1\nclean %d\nrecovery_point %" PRId64 "\nlog_start_offset %" PRId64
                 "\nhigh_watermark %" PRId64 "\n",
                 clean, atomic_load(&log->recovery_point), atomic_load(&log->log_start),
                 atomic_load(&log->hw));
    /* unchanged since the last write: nothing to sync (the periodic pass
     * runs for every partition, busy or not) */
    if ((size_t)n == log->ckpt_len && memcmp(buf, log->ckpt_last, (size_t)n) == 0)
        return 0;
    rc = ckpt_write(path, buf, (size_t)n);
    if (rc == 0 && (size_t)n < sizeof(log->ckpt_last)) {
        memcpy(log->ckpt_last, buf, (size_t)n);
        log->ckpt_len = (size_t)n;
    } else {
        log->ckpt_len = 0;
    }
    return rc;
}

struct ckpt_vals {
    int     found, clean;
    int64_t recovery_point, log_start, hw;
};

static void
read_checkpoint(const char *dir, struct ckpt_vals *v)
{
    char path[PATH_MAX], buf[CKPT_MAX + 1];
    size_t len;
    int version = -1;

    memset(v, 0, sizeof(*v));
    snprintf(path, sizeof(path), "%s/" CKPT_NAME, dir);
    if (ckpt_read(path, buf, CKPT_MAX, &len) != 0)
        return;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char key[32];
        long long val;
        if (sscanf(line, "%31s %lld", key, &val) != 2)
            continue;
        if (!strcmp(key, "version"))
            version = (int)val;
        else if (!strcmp(key, "clean"))
            v->clean = val == 1;
        else if (!strcmp(key, "recovery_point"))
            v->recovery_point = val;
        else if (!strcmp(key, "log_start_offset"))
            v->log_start = val;
        else if (!strcmp(key, "high_watermark"))
            v->hw = val;
    }
    if (version != 1 || v->recovery_point < 0 || v->log_start < 0 || v->hw < 0) {
        SL_WARN("plog", "%s: unreadable checkpoint, recovering everything", dir);
        memset(v, 0, sizeof(*v));
        return;
    }
    v->found = 1;
}

static int
write_epochs(struct plog *log)
{
    char path[PATH_MAX];
    size_t cap = 32 + (size_t)log->nepochs * 40, n;
    char *buf = malloc(cap);
    int rc;

    if (!buf)
        return SL_ERR__NOMEM;
    n = (size_t)snprintf(buf, cap, "0\n%d\n", log->nepochs);
    for (int i = 0; i < log->nepochs; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%d %" PRId64 "\n", log->epochs[i].epoch,
                              log->epochs[i].start);
    snprintf(path, sizeof(path), "%s/" EPOCH_NAME, log->dir);
    rc = ckpt_write(path, buf, n);
    free(buf);
    return rc;
}

static int
epochs_add(struct plog *log, int32_t epoch, int64_t start)
{
    if (epoch < 0)
        return 0;
    if (log->nepochs && log->epochs[log->nepochs - 1].epoch >= epoch)
        return 0;
    if (log->nepochs == log->epochs_cap) {
        int cap = log->epochs_cap ? log->epochs_cap * 2 : 4;
        struct epoch_entry *n = realloc(log->epochs, (size_t)cap * sizeof(*n));
        if (!n)
            return SL_ERR__NOMEM;
        log->epochs = n;
        log->epochs_cap = cap;
    }
    log->epochs[log->nepochs].epoch = epoch;
    log->epochs[log->nepochs].start = start;
    log->nepochs++;
    return 1;
}

static void
read_epochs(struct plog *log)
{
    char path[PATH_MAX];
    size_t max = 64 + EPOCH_MAX_ENTRIES * 32, len;
    char *buf = malloc(max + 1);
    char *save = NULL, *line;
    int version, n;

    if (!buf)
        return;
    snprintf(path, sizeof(path), "%s/" EPOCH_NAME, log->dir);
    if (ckpt_read(path, buf, max, &len) != 0)
        goto out;
    line = strtok_r(buf, "\n", &save);
    if (!line || sscanf(line, "%d", &version) != 1 || version != 0)
        goto bad;
    line = strtok_r(NULL, "\n", &save);
    if (!line || sscanf(line, "%d", &n) != 1 || n < 0 || n > EPOCH_MAX_ENTRIES)
        goto bad;
    for (int i = 0; i < n; i++) {
        int epoch;
        long long start;
        line = strtok_r(NULL, "\n", &save);
        if (!line || sscanf(line, "%d %lld", &epoch, &start) != 2 || start < 0)
            goto bad;
        if (epochs_add(log, epoch, start) < 0)
            goto bad;
    }
    goto out;
bad:
    SL_WARN("plog", "%s: unreadable %s, epoch cache reset", log->dir, EPOCH_NAME);
    log->nepochs = 0;
out:
    free(buf);
}

/* Drop epoch entries starting at or after offset. */
static int
epochs_truncate_from(struct plog *log, int64_t offset)
{
    int n = log->nepochs;
    while (log->nepochs && log->epochs[log->nepochs - 1].start >= offset)
        log->nepochs--;
    return n != log->nepochs;
}

/* ---- open / close ---------------------------------------------------- */


static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Parse "<20 digits><suffix>"; 1 if it matches. */
static int
parse_seg_name(const char *name, const char *suffix, int64_t *base)
{
    size_t n = strlen(name), sl = strlen(suffix);
    char digits[21];

    if (n != 20 + sl || strcmp(name + 20, suffix) != 0)
        return 0;
    for (int i = 0; i < 20; i++)
        if (name[i] < '0' || name[i] > '9')
            return 0;
    memcpy(digits, name, 20);
    digits[20] = '\0';
    errno = 0;
    unsigned long long v = strtoull(digits, NULL, 10);
    if (errno || v > INT64_MAX)
        return 0;
    *base = (int64_t)v;
    return 1;
}

/* The 20-digit offsets of the files in dir named <offset><suffix>, sorted
 * ascending. With remove_tmp, temporary files a crash left behind go too. */
static int
list_by_suffix(const char *dir, const char *suffix, int remove_tmp, int64_t **out, int *n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int cap = 0;

    *out = NULL;
    *n = 0;
    if (!d)
        return sl_err_from_errno(errno);
    while ((de = readdir(d)) != NULL) {
        int64_t off;
        size_t len = strlen(de->d_name);
        if (remove_tmp && len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0) {
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            unlink(path);
            continue;
        }
        if (!parse_seg_name(de->d_name, suffix, &off))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            int64_t *nb = realloc(*out, (size_t)cap * sizeof(int64_t));
            if (!nb) {
                closedir(d);
                return SL_ERR__NOMEM;
            }
            *out = nb;
        }
        (*out)[(*n)++] = off;
    }
    closedir(d);
    if (*n > 1)
        qsort(*out, (size_t)*n, sizeof(int64_t), cmp_i64);
    return 0;
}

/* Segment base offsets; temporary files a crash left behind are removed. */
static int
list_segments(const char *dir, int64_t **bases, int *n)
{
    return list_by_suffix(dir, ".log", 1, bases, n);
}

/* ---- producer state -------------------------------------------------- */

/* Offsets of the .snapshot files in dir, sorted ascending. */
static int
list_snapshots(const char *dir, int64_t **out, int *n)
{
    return list_by_suffix(dir, ".snapshot", 0, out, n);
}

static void
snapshot_path(const struct plog *log, int64_t off, char *out, size_t len)
{
    snprintf(out, len, "%s/%020lld.snapshot", log->dir, (long long)off);
}

/* Feed every batch header from offset `from` to the LEO into the state. */
static int
replay_producers(struct plog *log, int64_t from)
{
    int i = segs_floor(log, from);
    int rc = 0;

    for (i = i < 0 ? 0 : i; i < log->nsegs; i++) {
        struct seg *s = log->segs[i];
        struct rec_batch_hdr h;
        int64_t pos;
        rc = seg_find_batch(s, &log->cfg, from, &pos, &h);
        if (rc == SL_ERR__NOENT) {
            rc = 0;
            continue;
        }
        if (rc != 0)
            return rc;
        for (;;) {
            if (h.producer_id >= 0 && !(h.attributes & REC_ATTR_CONTROL) && h.base_offset >= from &&
                (rc = pstate_update(&log->producers, &h)) != 0)
                return rc;
            pos += (int64_t)rec_batch_size(&h);
            if (pos >= s->size)
                break;
            if ((rc = seg_read_hdr(s, pos, &h)) != 0)
                return rc;
        }
    }
    return 0;
}

/* Rebuild the producer state from the newest usable snapshot plus the log
 * after it; drop snapshots past the log end (truncated away). */
static int
rebuild_producers(struct plog *log)
{
    int64_t *snaps, leo = atomic_load(&log->leo), from = log->segs[0]->base;
    int n, rc;

    pstate_clear(&log->producers);
    if ((rc = list_snapshots(log->dir, &snaps, &n)) != 0)
        return rc;
    for (int i = n - 1; i >= 0; i--) {
        char path[PATH_MAX];
        snapshot_path(log, snaps[i], path, sizeof(path));
        if (snaps[i] > leo) {
            unlink(path);
            continue;
        }
        if (pstate_read_snapshot(&log->producers, path) == 0) {
            from = snaps[i];
            break;
        }
        SL_WARN("plog", "%s: unreadable producer snapshot, ignoring it", path);
        unlink(path);
    }
    free(snaps);
    return replay_producers(log, from);
}

/* Snapshot the state as of the LEO; keep only the two newest snapshots. */
static void
snapshot_producers(struct plog *log)
{
    int64_t *snaps;
    int n;

    /* written even when empty: it tells the next open there is nothing to replay */
    if (pstate_write_snapshot(&log->producers, log->dir, atomic_load(&log->leo)) != 0)
        return;
    if (list_snapshots(log->dir, &snaps, &n) != 0)
        return;
    for (int i = 0; i < n - 2; i++) {
        char path[PATH_MAX];
        snapshot_path(log, snaps[i], path, sizeof(path));
        unlink(path);
    }
    free(snaps);
}

void
plog_expire_producers(struct plog *log, int64_t cutoff_ts)
{
    pthread_mutex_lock(&log->mu);
    pstate_expire(&log->producers, cutoff_ts);
    pthread_mutex_unlock(&log->mu);
}

static int
mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    size_t len = strlen(dir);

    if (len >= sizeof(tmp))
        return SL_ERR__INVALID_ARG;
    memcpy(tmp, dir, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return sl_err_from_errno(errno);
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
        return sl_err_from_errno(errno);
    return 0;
}

static int64_t
wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Recover from segment index `from` on; drop everything after a bad byte. */
static int
recover_from(struct plog *log, int from, struct plog_open_report *rep)
{
    int64_t expect = log->segs[from]->base;

    for (int i = from; i < log->nsegs; i++) {
        struct seg *s = log->segs[i];
        struct seg_scan_result r;
        int rc = seg_recover(s, &log->cfg, expect, &r);
        if (rc != 0)
            return rc;
        rep->scanned_bytes += r.scanned_bytes;
        rep->truncated_bytes += r.truncated_bytes;
        rep->rebuilt_indexes++;
        expect = s->next_offset;
        if (i < log->nsegs - 1) {
            if ((rc = seg_deactivate(s)) != 0)
                return rc;
            /* a torn segment ends the log: everything after it goes */
            if (r.truncated_bytes > 0 || log->segs[i + 1]->base < s->next_offset) {
                while (log->nsegs > i + 1) {
                    rep->truncated_bytes += log->segs[log->nsegs - 1]->size;
                    rep->deleted_segments++;
                    segs_delete(log, log->nsegs - 1);
                }
                if ((rc = seg_activate(s, &log->cfg)) != 0)
                    return rc;
                break;
            }
        }
    }
    return 0;
}

int
plog_open(struct plog **out, const char *dir, const struct plog_config *cfg,
          struct plog_open_report *report)
{
    struct plog_open_report rep_local, *rep = report ? report : &rep_local;
    struct plog *log;
    struct ckpt_vals ck;
    int64_t *bases = NULL;
    int nbases = 0, rc, from;
    struct seg *act;

    memset(rep, 0, sizeof(*rep));
    if ((rc = mkdir_p(dir)) != 0)
        return rc;
    log = calloc(1, sizeof(*log));
    if (!log || !(log->dir = strdup(dir))) {
        free(log);
        return SL_ERR__NOMEM;
    }
    pthread_mutex_init(&log->mu, NULL);
    pstate_init(&log->producers);
    log->cfg = *cfg;
    cfg_sanitize(&log->cfg);
    log->last_flush_ms = wall_ms();

    read_checkpoint(dir, &ck);
    read_epochs(log);
    if ((rc = list_segments(dir, &bases, &nbases)) != 0)
        goto fail;
    for (int i = 0; i < nbases; i++) {
        struct seg *s;
        if ((rc = seg_load(&s, dir, bases[i])) != 0)
            goto fail;
        if ((rc = segs_push(log, s)) != 0) {
            seg_unref(s);
            goto fail;
        }
        atomic_fetch_add(&log->size_bytes, s->size);
    }
    free(bases);
    bases = NULL;

    if (log->nsegs == 0) {
        struct seg *s;
        int64_t base = ck.found ? ck.log_start : 0;
        if ((rc = seg_create(&s, dir, base, &log->cfg, wall_ms())) != 0)
            goto fail;
        if ((rc = segs_push(log, s)) != 0) {
            seg_unref(s);
            goto fail;
        }
        ck.found = 1;
        ck.clean = 1;
        ck.log_start = base;
        ck.recovery_point = base;
        ck.hw = base;
    }
    rep->clean = ck.found && ck.clean;
    act = active_seg(log);
    if (rep->clean) {
        rc = seg_load_indexes(act, &log->cfg, 1);
        if (rc == 0)
            rc = seg_scan_tail(act, &log->cfg);
        if (rc == SL_ERR__CORRUPT) {
            SL_WARN("plog", "%s: active segment inconsistent after a clean stop, recovering", dir);
            rep->clean = 0;
            ck.recovery_point = act->base;
        } else if (rc != 0) {
            goto fail;
        }
    }
    if (!rep->clean) {
        from = segs_floor(log, ck.found ? ck.recovery_point : 0);
        if (from < 0)
            from = 0;
        if ((rc = recover_from(log, from, rep)) != 0)
            goto fail;
        act = active_seg(log);
        SL_INFO("plog", "%s: recovered from offset %lld: scanned %lld bytes, truncated %lld, "
                "dropped %d segments", dir, (long long)log->segs[from < log->nsegs ? from : 0]->base,
                (long long)rep->scanned_bytes, (long long)rep->truncated_bytes,
                rep->deleted_segments);
    }
    /* rolling time of the active segment: its first batch, else now */
    act->rolling_ts = wall_ms();
    if (act->size > 0) {
        struct rec_batch_hdr h;
        if (seg_read_hdr(act, 0, &h) == 0 && h.max_timestamp > 0)
            act->rolling_ts = h.max_timestamp;
    }
    atomic_store(&log->size_bytes, 0);
    for (int i = 0; i < log->nsegs; i++)
        atomic_fetch_add(&log->size_bytes, log->segs[i]->size);

    int64_t leo = act->next_offset;
    int64_t start = ck.log_start > log->segs[0]->base ? ck.log_start : log->segs[0]->base;
    if (start > leo)
        start = leo;
    atomic_store(&log->leo, leo);
    atomic_store(&log->log_start, start);
    atomic_store(&log->hw, ck.hw < start ? start : ck.hw > leo ? leo : ck.hw);
    atomic_store(&log->recovery_point, rep->clean ? leo : (ck.recovery_point > leo ? leo : ck.recovery_point));
    if (epochs_truncate_from(log, leo))
        write_epochs(log);
    rep->segments = log->nsegs;
    if ((rc = rebuild_producers(log)) != 0)
        SL_WARN("plog", "%s: producer state not rebuilt: %s", dir, sl_strerror(rc));

    if ((rc = write_checkpoint(log, 0)) != 0)
        goto fail;
    *out = log;
    return 0;
fail:
    free(bases);
    plog_abandon(log);
    return rc;
}

int
plog_open_offline(struct plog **out, const char *dir)
{
    struct plog *log = calloc(1, sizeof(*log));
    if (!log || !(log->dir = strdup(dir))) {
        free(log);
        return SL_ERR__NOMEM;
    }
    pthread_mutex_init(&log->mu, NULL);
    pstate_init(&log->producers);
    plog_config_default(&log->cfg);
    atomic_store(&log->offline, 1);
    *out = log;
    return 0;
}

static void
plog_free(struct plog *log)
{
    for (int i = 0; i < log->nsegs; i++)
        seg_unref(log->segs[i]);
    free(log->segs);
    free(log->epochs);
    free(log->dir);
    pstate_free(&log->producers);
    pthread_mutex_destroy(&log->mu);
    free(log);
}

void
plog_abandon(struct plog *log)
{
    if (log)
        plog_free(log);
}

int
plog_close(struct plog *log)
{
    int rc = 0;

    if (!log)
        return 0;
    if (!atomic_load(&log->offline)) {
        rc = plog_flush(log, INT64_MAX);
        pthread_mutex_lock(&log->mu);
        if (rc == 0)
            rc = seg_deactivate(active_seg(log));
        if (rc == 0)
            snapshot_producers(log);
        if (rc == 0)
            rc = write_checkpoint(log, 1);
        pthread_mutex_unlock(&log->mu);
    }
    plog_free(log);
    return rc;
}

void
plog_set_config(struct plog *log, const struct plog_config *cfg)
{
    pthread_mutex_lock(&log->mu);
    log->cfg = *cfg;
    cfg_sanitize(&log->cfg);
    pthread_mutex_unlock(&log->mu);
}

/* ---- append ---------------------------------------------------------- */

static int
roll(struct plog *log, int64_t now_ms)
{
    struct seg *old = active_seg(log), *s;
    int64_t base = atomic_load(&log->leo);
    int rc;

    if ((rc = seg_deactivate(old)) != 0)
        return rc;
    if ((rc = seg_create(&s, log->dir, base, &log->cfg, now_ms)) != 0) {
        seg_activate(old, &log->cfg);
        return rc;
    }
    if ((rc = segs_push(log, s)) != 0) {
        seg_unlink(s);
        seg_unref(s);
        seg_activate(old, &log->cfg);
        return rc;
    }
    snapshot_producers(log);
    SL_DEBUG("plog", "%s: rolled new segment at %lld", log->dir, (long long)base);
    return 0;
}

int
plog_append(struct plog *log, uint8_t *buf, size_t len, int32_t leader_epoch, int flags,
            int64_t now_ms, struct plog_append_info *info)
{
    struct plog_append_info ai = { -1, -1, -1, -1, 0 };
    int64_t leo, next, records = 0;
    struct seg *act;
    int rc = 0;

    if (len == 0)
        return SL_ERR__INVALID_ARG;
    pthread_mutex_lock(&log->mu);
    if (atomic_load(&log->offline)) {
        rc = SL_ERR__OFFLINE;
        goto out;
    }
    leo = atomic_load(&log->leo);
    next = leo;
    /* first pass: check framing, assign offsets */
    for (size_t off = 0; off < len;) {
        struct rec_batch_hdr h;
        if (rec_parse_hdr(buf + off, len - off, len - off, &h) != 0) {
            rc = SL_ERR__CORRUPT;
            goto out;
        }
        if ((flags & PLOG_APPEND_ASSIGN_OFFSETS) && h.producer_id >= 0 &&
            !(h.attributes & REC_ATTR_CONTROL)) {
            int64_t df, dl;
            rc = pstate_check(&log->producers, &h, &df, &dl);
            if (rc == SL_ERR_DUPLICATE_SEQUENCE_NUMBER) {
                ai.first_offset = df;
                ai.last_offset = dl;
                ai.batches = 1;
                pthread_mutex_unlock(&log->mu);
                if (info)
                    *info = ai;
                return rc;
            }
            if (rc != 0)
                goto out;
        }
        if (flags & PLOG_APPEND_ASSIGN_OFFSETS) {
            rec_set_base_offset(buf + off, next);
            rec_set_leader_epoch(buf + off, leader_epoch);
            h.base_offset = next;
            h.leader_epoch = leader_epoch;
        } else if (h.base_offset != next) {
            rc = SL_ERR__INVALID_ARG;    /* a follower appends exactly at the end */
            goto out;
        }
        if (flags & PLOG_APPEND_LOG_APPEND_TIME) {
            rec_set_log_append_time(buf + off, rec_batch_size(&h), now_ms);
            h.max_timestamp = now_ms;
            ai.log_append_time = now_ms;
        }
        if (ai.first_offset < 0)
            ai.first_offset = h.base_offset;
        if (h.max_timestamp > ai.max_timestamp)
            ai.max_timestamp = h.max_timestamp;
        next = rec_last_offset(&h) + 1;
        records += h.last_offset_delta + 1;
        ai.batches++;
        off += rec_batch_size(&h);
    }
    ai.last_offset = next - 1;

    act = active_seg(log);
    if (act->size > 0 &&
        (act->size + (int64_t)len > log->cfg.segment_bytes ||
         now_ms - act->rolling_ts > log->cfg.segment_ms ||
         seg_needs_roll_for(act, ai.last_offset) ||
         ai.first_offset != act->next_offset)) {
        if ((rc = roll(log, now_ms)) != 0)
            goto out;
        act = active_seg(log);
    }
    if (act->size == 0 && act->base != ai.first_offset) {
        /* an empty active segment whose base does not match (follower jump):
         * replace it so segment names keep matching their first offset */
        if (log->nsegs > 1 || act->base < ai.first_offset) {
            struct seg *s;
            if ((rc = seg_create(&s, log->dir, ai.first_offset, &log->cfg, now_ms)) != 0)
                goto out;
            segs_delete(log, log->nsegs - 1);
            if ((rc = segs_push(log, s)) != 0) {
                seg_unref(s);
                set_offline(log, "out of memory replacing a segment");
                goto out;
            }
            act = s;
        }
    }
    if (act->size == 0)
        act->rolling_ts = now_ms;
    rc = seg_append(act, buf, len, &log->cfg);
    if (rc == SL_ERR__OFFLINE) {
        set_offline(log, "could not cut back a failed write");
        goto out;
    }
    if (rc != 0)
        goto out;
    atomic_fetch_add(&log->size_bytes, (int64_t)len);
    atomic_store(&log->leo, next);
    log->unflushed_msgs += records;
    {
        int changed = 0;
        for (size_t off = 0; off < len;) {
            struct rec_batch_hdr h;
            rec_parse_hdr(buf + off, len - off, len - off, &h);
            if (epochs_add(log, h.leader_epoch, h.base_offset) > 0)
                changed = 1;
            if (h.producer_id >= 0 && !(h.attributes & REC_ATTR_CONTROL))
                pstate_update(&log->producers, &h);
            off += rec_batch_size(&h);
        }
        if (changed)
            write_epochs(log);     /* rare: once per leader change */
    }
out:
    pthread_mutex_unlock(&log->mu);
    if (rc == 0 && info)
        *info = ai;
    return rc;
}

/* ---- read ------------------------------------------------------------ */

/* The limit (len bytes from pos) cuts a batch: end at the last batch
 * boundary below it instead, rather than send a partial batch that the
 * client reads only to drop it (Kafka sends it). From the last batch start
 * the offset index knows below the limit (or the end of the first batch),
 * step over at most WHOLE_BATCH_STEPS more headers. Never less than the
 * first batch (whole bytes); on a read error, the cut stays where it was. */
#define WHOLE_BATCH_STEPS 16
static size_t
whole_batches(struct seg *s, int64_t pos, size_t whole, size_t len)
{
    int64_t limit = pos + (int64_t)len, b = pos + (int64_t)whole;

    if (s->indexes_loaded) {
        int64_t ib = idx_position_at_most(&s->oidx, (uint64_t)limit);
        if (ib > b)
            b = ib;
    }
    for (int i = 0; i < WHOLE_BATCH_STEPS && b < limit; i++) {
        struct rec_batch_hdr h;
        if (seg_read_hdr(s, b, &h) != 0)
            return len;
        if (b + (int64_t)rec_batch_size(&h) > limit)
            break;
        b += (int64_t)rec_batch_size(&h);
    }
    return (size_t)(b - pos);
}

int
plog_read(struct plog *log, int64_t offset, size_t max_bytes, int64_t max_offset,
          struct plog_slice *out)
{
    int rc = 0;

    memset(out, 0, sizeof(*out));
    out->fd = -1;
    pthread_mutex_lock(&log->mu);
    if (atomic_load(&log->offline)) {
        pthread_mutex_unlock(&log->mu);
        return SL_ERR__OFFLINE;
    }
    int64_t leo = atomic_load(&log->leo);
    if (offset < atomic_load(&log->log_start) || offset > leo) {
        rc = SL_ERR_OFFSET_OUT_OF_RANGE;
        goto out;
    }
    if (max_offset > leo)
        max_offset = leo;
    if (offset >= max_offset)
        goto out;
    for (int i = segs_floor(log, offset) < 0 ? 0 : segs_floor(log, offset); i < log->nsegs; i++) {
        struct seg *s = log->segs[i];
        struct rec_batch_hdr h, eh;
        int64_t pos, end = s->size, epos;

        if (s->base >= max_offset)
            break;
        rc = seg_find_batch(s, &log->cfg, offset, &pos, &h);
        if (rc == SL_ERR__NOENT) {
            rc = 0;
            continue;   /* offset falls past this segment's data: try the next */
        }
        if (rc != 0) {
            char why[PATH_MAX + 64];
            snprintf(why, sizeof(why), "%s.log unreadable near offset %lld (%s)", s->prefix,
                     (long long)offset, sl_strerror(rc));
            set_offline(log, why);
            rc = SL_ERR__OFFLINE;
            break;
        }
        if (rec_last_offset(&h) >= max_offset)
            break;      /* the batch reaches max_offset: not all of it is visible yet */
        /* stop before the first batch reaching max_offset */
        if (i == log->nsegs - 1 ? max_offset < leo : max_offset < log->segs[i + 1]->base) {
            if (seg_find_batch(s, &log->cfg, max_offset, &epos, &eh) == 0)
                end = epos;
        }
        size_t whole = rec_batch_size(&h);
        size_t len = (size_t)(end - pos);
        if (len > max_bytes)
            len = max_bytes < whole ? whole : max_bytes;
        if ((int64_t)len > end - pos)
            len = (size_t)(end - pos);
        if ((int64_t)len < end - pos && len > whole)
            len = whole_batches(s, pos, whole, len);
        if ((rc = seg_fd_get(s, &out->fd)) != 0) {
            out->fd = -1;
            break;
        }
        seg_ref(s);
        out->seg = s;
        out->pos = pos;
        out->len = len;
        break;
    }
out:
    pthread_mutex_unlock(&log->mu);
    return rc;
}

void
plog_slice_release(struct plog_slice *s)
{
    if (s->seg) {
        seg_fd_put(s->seg);
        seg_unref(s->seg);
    }
    s->seg = NULL;
    s->len = 0;
    s->fd = -1;
}

void
plog_set_max_open_files(int n)
{
    seg_set_max_open(n);
}

void
plog_pin_release(void *seg)
{
    seg_fd_put(seg);
    seg_unref(seg);
}

int
plog_slice_copy(const struct plog_slice *s, uint8_t *buf)
{
    if (s->len == 0)
        return 0;
    return fsio_pread_all(s->fd, buf, s->len, s->pos, "slice");
}

/* ---- timestamps ------------------------------------------------------ */

/* Within the batch at pos (header h): offset and timestamp of the first
 * record with timestamp >= ts (whole-batch granularity if compressed). */
static int
batch_first_at_or_after(struct seg *s, int64_t pos, const struct rec_batch_hdr *h, int64_t ts,
                        int64_t *offset, int64_t *found_ts)
{
    size_t size = rec_batch_size(h);
    uint8_t *b;
    struct rec_iter it;
    struct rec_record r;
    int rc;

    if ((h->attributes & REC_ATTR_LOG_APPEND_TIME) || (h->attributes & REC_ATTR_CODEC_MASK)) {
        *offset = h->base_offset;
        *found_ts = h->max_timestamp;
        return 0;
    }
    if (!(b = malloc(size)))
        return SL_ERR__NOMEM;
    {
        int fd;
        if ((rc = seg_fd_get(s, &fd)) != 0) {
            free(b);
            return rc;
        }
        rc = fsio_pread_all(fd, b, size, pos, s->prefix);
        seg_fd_put(s);
        if (rc != 0) {
            free(b);
            return rc;
        }
    }
    *offset = h->base_offset;
    *found_ts = h->max_timestamp;
    rec_iter_init(&it, b + REC_HDR_LEN, size - REC_HDR_LEN, h->record_count);
    while (rec_iter_next(&it, &r) == 1) {
        if (h->base_timestamp + r.timestamp_delta >= ts) {
            *offset = h->base_offset + r.offset_delta;
            *found_ts = h->base_timestamp + r.timestamp_delta;
            break;
        }
    }
    free(b);
    return 0;
}

int
plog_offset_for_time(struct plog *log, int64_t ts, int64_t *offset, int64_t *found_ts)
{
    int rc = 0;

    *offset = -1;
    *found_ts = -1;
    pthread_mutex_lock(&log->mu);
    int64_t start = atomic_load(&log->log_start);
    for (int i = 0; i < log->nsegs; i++) {
        struct seg *s = log->segs[i];
        int64_t mts, mo, pos, from;
        struct rec_batch_hdr h;

        if ((rc = seg_max_timestamp(s, &log->cfg, &mts, &mo)) != 0)
            break;
        if (s->size == 0 || mts < ts)
            continue;
        from = s->indexes_loaded ? idx_lookup_time(&s->tidx, ts) : s->base;
        if (from < start)
            from = start;
        if ((rc = seg_find_batch(s, &log->cfg, from, &pos, &h)) != 0) {
            if (rc == SL_ERR__NOENT) {
                rc = 0;
                continue;
            }
            break;
        }
        for (;;) {
            if (h.max_timestamp >= ts && rec_last_offset(&h) >= start) {
                rc = batch_first_at_or_after(s, pos, &h, ts, offset, found_ts);
                if (*offset < start)
                    *offset = start;
                goto out;
            }
            pos += (int64_t)rec_batch_size(&h);
            if (pos >= s->size)
                break;
            if ((rc = seg_read_hdr(s, pos, &h)) != 0)
                goto out;
        }
    }
out:
    pthread_mutex_unlock(&log->mu);
    return rc;
}

/* Offset of the first record of the batch at pos whose timestamp is ts (the
 * batch's max): exact for uncompressed batches, the last offset otherwise. */
static int64_t
record_with_timestamp(struct seg *s, int64_t pos, const struct rec_batch_hdr *h, int64_t ts)
{
    int64_t off, found;
    if ((h->attributes & (REC_ATTR_LOG_APPEND_TIME | REC_ATTR_CODEC_MASK)) == REC_ATTR_LOG_APPEND_TIME)
        return h->base_offset;
    if (h->attributes & REC_ATTR_CODEC_MASK)
        return rec_last_offset(h);
    if (batch_first_at_or_after(s, pos, h, ts, &off, &found) != 0)
        return rec_last_offset(h);
    return off;
}

int
plog_max_timestamp(struct plog *log, int64_t *offset, int64_t *ts)
{
    struct seg *best = NULL;
    int rc = 0;

    *offset = -1;
    *ts = -1;
    pthread_mutex_lock(&log->mu);
    for (int i = 0; i < log->nsegs; i++) {
        int64_t t, o;
        if ((rc = seg_max_timestamp(log->segs[i], &log->cfg, &t, &o)) != 0)
            break;
        if (o >= 0 && t > *ts) {
            *ts = t;
            *offset = o;
            best = log->segs[i];
        }
    }
    if (rc == 0 && best) {
        /* the index knows the batch; find the record inside it */
        int64_t pos;
        struct rec_batch_hdr h;
        if (seg_find_batch(best, &log->cfg, *offset, &pos, &h) == 0)
            *offset = record_with_timestamp(best, pos, &h, *ts);
    }
    pthread_mutex_unlock(&log->mu);
    return rc;
}

/* ---- truncation, deletion, retention ---------------------------------- */

int
plog_truncate_to(struct plog *log, int64_t offset)
{
    int rc = 0;

    pthread_mutex_lock(&log->mu);
    if (atomic_load(&log->offline)) {
        rc = SL_ERR__OFFLINE;
        goto out;
    }
    if (offset >= atomic_load(&log->leo))
        goto out;
    if (offset <= log->segs[0]->base || offset <= atomic_load(&log->log_start)) {
        /* nothing left: start over with an empty log at offset */
        struct seg *s;
        int64_t base = offset < 0 ? 0 : offset;
        while (log->nsegs > 0)
            segs_delete(log, log->nsegs - 1);
        if ((rc = seg_create(&s, log->dir, base, &log->cfg, wall_ms())) != 0 ||
            (rc = segs_push(log, s)) != 0) {
            set_offline(log, "could not recreate a segment after truncation");
            goto out;
        }
        atomic_store(&log->log_start, base);
        atomic_store(&log->leo, base);
    } else {
        struct seg *s;
        int64_t pos;
        struct rec_batch_hdr h;
        while (log->nsegs > 1 && active_seg(log)->base >= offset)
            segs_delete(log, log->nsegs - 1);
        s = active_seg(log);
        if (!s->active && (rc = seg_activate(s, &log->cfg)) != 0)
            goto out;
        /* cut at the first batch reaching offset (a straddling batch goes too) */
        rc = seg_find_batch(s, &log->cfg, offset, &pos, &h);
        if (rc == SL_ERR__NOENT) {
            rc = 0;     /* the segment ends before offset */
            pos = s->size;
        } else if (rc != 0) {
            goto out;
        }
        if ((rc = seg_truncate(s, &log->cfg, pos)) != 0) {
            set_offline(log, "truncation failed");
            goto out;
        }
        atomic_store(&log->leo, s->next_offset);
    }
    atomic_store(&log->size_bytes, 0);
    for (int i = 0; i < log->nsegs; i++)
        atomic_fetch_add(&log->size_bytes, log->segs[i]->size);
    {
        int64_t leo = atomic_load(&log->leo);
        if (atomic_load(&log->hw) > leo)
            atomic_store(&log->hw, leo);
        if (atomic_load(&log->recovery_point) > leo)
            atomic_store(&log->recovery_point, leo);
        if (epochs_truncate_from(log, leo))
            write_epochs(log);
        rebuild_producers(log);
    }
    rc = write_checkpoint(log, 0);
out:
    pthread_mutex_unlock(&log->mu);
    return rc;
}

/* Delete leading segments wholly below `below` (never the active one). */
static int
delete_segments_below(struct plog *log, int64_t below)
{
    int n = 0;
    while (log->nsegs > 1 && log->segs[1]->base <= below) {
        segs_delete(log, 0);
        n++;
    }
    return n;
}

int
plog_delete_records(struct plog *log, int64_t offset)
{
    int rc = 0;

    pthread_mutex_lock(&log->mu);
    if (atomic_load(&log->offline)) {
        rc = SL_ERR__OFFLINE;
        goto out;
    }
    if (offset > atomic_load(&log->hw) || offset < 0) {
        rc = SL_ERR_OFFSET_OUT_OF_RANGE;
        goto out;
    }
    if (offset > atomic_load(&log->log_start)) {
        atomic_store(&log->log_start, offset);
        delete_segments_below(log, offset);
        rc = write_checkpoint(log, 0);
    }
out:
    pthread_mutex_unlock(&log->mu);
    return rc;
}

int
plog_enforce_retention(struct plog *log, int64_t now_ms, int *deleted)
{
    int n = 0, rc = 0;

    pthread_mutex_lock(&log->mu);
    if (atomic_load(&log->offline)) {
        rc = SL_ERR__OFFLINE;
        goto out;
    }
    int64_t hw = atomic_load(&log->hw);
    /* by time: whole segments whose newest record is older than retention.ms */
    if (log->cfg.retention_ms >= 0) {
        for (;;) {
            struct seg *s = log->segs[0];
            int64_t mts, mo;
            int is_active = log->nsegs == 1;
            if (s->size == 0)
                break;
            if ((rc = seg_max_timestamp(s, &log->cfg, &mts, &mo)) != 0)
                goto out;
            if (now_ms - mts <= log->cfg.retention_ms)
                break;
            if (is_active) {
                if (s->next_offset > hw)
                    break;              /* never delete what consumers cannot read yet */
                if ((rc = roll(log, now_ms)) != 0)
                    goto out;
            } else if (log->segs[1]->base > hw) {
                break;
            }
            segs_delete(log, 0);
            n++;
        }
    }
    /* by size: drop the oldest while the rest still exceeds retention.bytes */
    if (log->cfg.retention_bytes >= 0) {
        while (log->nsegs > 1 && log->segs[1]->base <= hw &&
               atomic_load(&log->size_bytes) - log->segs[0]->size >= log->cfg.retention_bytes) {
            segs_delete(log, 0);
            n++;
        }
    }
    if (n > 0) {
        int64_t base = log->segs[0]->base;
        if (base > atomic_load(&log->log_start))
            atomic_store(&log->log_start, base);
        rc = write_checkpoint(log, 0);
        SL_INFO("plog", "%s: retention deleted %d segment(s), log start now %lld", log->dir, n,
                (long long)atomic_load(&log->log_start));
    }
out:
    pthread_mutex_unlock(&log->mu);
    if (deleted)
        *deleted = n;
    return rc;
}

/* ---- durability ------------------------------------------------------ */

int
plog_flush(struct plog *log, int64_t offset)
{
    /* a segment as it was when the flush began, under the lock */
    struct sync_note { struct seg *seg; int64_t size; uint64_t truncations; int need; } *notes;
    int n = 0, rc = 0;
    int64_t target;

    pthread_mutex_lock(&log->mu);
    if (atomic_load(&log->offline)) {
        pthread_mutex_unlock(&log->mu);
        return SL_ERR__OFFLINE;
    }
    target = atomic_load(&log->leo);
    if (offset < target)
        target = offset;
    if (target <= atomic_load(&log->recovery_point)) {
        pthread_mutex_unlock(&log->mu);
        return 0;
    }
    int from = segs_floor(log, atomic_load(&log->recovery_point));
    if (from < 0)
        from = 0;
    /* what each segment holds now, and whether it is on disk already: the
     * syncs below cover at least that; later appends may or may not be */
    if (!(notes = malloc((size_t)(log->nsegs - from) * sizeof(*notes)))) {
        pthread_mutex_unlock(&log->mu);
        return SL_ERR__NOMEM;
    }
    for (int i = from; i < log->nsegs; i++) {
        struct seg *sg = log->segs[i];
        seg_ref(sg);
        notes[n++] = (struct sync_note){ sg, sg->size, sg->truncations,
                                         sg->synced_size < sg->size && !sg->deleted };
    }
    int64_t msgs = log->unflushed_msgs;
    pthread_mutex_unlock(&log->mu);

    /* the syncs run without the lock: appends go on meanwhile */
    for (int i = 0; i < n && rc == 0; i++) {
        int not_active = i < n - 1;
        if (notes[i].need || not_active)
            rc = seg_sync(notes[i].seg, notes[i].need, not_active);
    }

    pthread_mutex_lock(&log->mu);
    for (int i = 0; i < n; i++) {
        struct seg *sg = notes[i].seg;
        /* a truncation since the snapshot may have cut and rewritten those
         * bytes: then the sync proves nothing about them */
        if (rc == 0 && notes[i].need && sg->truncations == notes[i].truncations &&
            sg->synced_size < notes[i].size)
            sg->synced_size = notes[i].size;
        seg_unref(sg);
    }
    free(notes);
    if (rc != 0) {
        /* a failed fsync is never retried: the page cache may have dropped
         * the data already (the "fsyncgate" lesson) */
        set_offline(log, "fdatasync failed");
        rc = SL_ERR__OFFLINE;
    } else {
        if (target > atomic_load(&log->recovery_point))
            atomic_store(&log->recovery_point, target);
        log->unflushed_msgs -= msgs;
        if (log->unflushed_msgs < 0)
            log->unflushed_msgs = 0;
        log->last_flush_ms = wall_ms();
    }
    pthread_mutex_unlock(&log->mu);
    return rc;
}

int
plog_maybe_flush(struct plog *log, int64_t now_ms)
{
    int due;

    pthread_mutex_lock(&log->mu);
    due = log->unflushed_msgs > 0 &&
          (log->unflushed_msgs >= log->cfg.flush_messages ||
           (log->cfg.flush_ms != INT64_MAX && now_ms - log->last_flush_ms >= log->cfg.flush_ms));
    pthread_mutex_unlock(&log->mu);
    return due ? plog_flush(log, INT64_MAX) : 0;
}

int
plog_checkpoint(struct plog *log)
{
    int rc;
    pthread_mutex_lock(&log->mu);
    rc = atomic_load(&log->offline) ? SL_ERR__OFFLINE : write_checkpoint(log, 0);
    pthread_mutex_unlock(&log->mu);
    return rc;
}

/* ---- getters --------------------------------------------------------- */

int64_t plog_log_start_offset(const struct plog *log) { return atomic_load(&((struct plog *)log)->log_start); }
int64_t plog_log_end_offset(const struct plog *log) { return atomic_load(&((struct plog *)log)->leo); }
int64_t plog_high_watermark(const struct plog *log) { return atomic_load(&((struct plog *)log)->hw); }
int64_t plog_recovery_point(const struct plog *log) { return atomic_load(&((struct plog *)log)->recovery_point); }
int64_t plog_size_bytes(const struct plog *log) { return atomic_load(&((struct plog *)log)->size_bytes); }
int plog_is_offline(const struct plog *log) { return atomic_load(&((struct plog *)log)->offline); }
const char *plog_dir(const struct plog *log) { return log->dir; }

int
plog_segment_count(const struct plog *log)
{
    struct plog *l = (struct plog *)log;
    int n;
    pthread_mutex_lock(&l->mu);
    n = l->nsegs;
    pthread_mutex_unlock(&l->mu);
    return n;
}

void
plog_set_high_watermark(struct plog *log, int64_t hw)
{
    int64_t start = atomic_load(&log->log_start), leo = atomic_load(&log->leo);
    if (hw < start)
        hw = start;
    if (hw > leo)
        hw = leo;
    atomic_store(&log->hw, hw);
}

int
plog_latest_epoch(struct plog *log, int32_t *epoch, int64_t *start_offset)
{
    pthread_mutex_lock(&log->mu);
    if (log->nepochs) {
        *epoch = log->epochs[log->nepochs - 1].epoch;
        *start_offset = log->epochs[log->nepochs - 1].start;
    } else {
        *epoch = -1;
        *start_offset = -1;
    }
    pthread_mutex_unlock(&log->mu);
    return 0;
}

int
plog_epoch_end_offset(struct plog *log, int32_t epoch, int32_t *end_epoch, int64_t *end_offset)
{
    pthread_mutex_lock(&log->mu);
    *end_epoch = -1;
    *end_offset = -1;
    for (int i = log->nepochs - 1; i >= 0; i--) {
        if (log->epochs[i].epoch <= epoch) {
            *end_epoch = log->epochs[i].epoch;
            *end_offset = i == log->nepochs - 1 ? atomic_load(&log->leo) : log->epochs[i + 1].start;
            break;
        }
    }
    pthread_mutex_unlock(&log->mu);
    return 0;
}

int
plog_destroy_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = 0;

    if (!d)
        return errno == ENOENT ? 0 : sl_err_from_errno(errno);
    while ((de = readdir(d)) != NULL) {
        char path[PATH_MAX];
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (unlink(path) < 0 && errno != ENOENT)
            rc = sl_err_from_errno(errno);
    }
    closedir(d);
    if (rmdir(dir) < 0 && errno != ENOENT)
        rc = sl_err_from_errno(errno);
    return rc;
}
