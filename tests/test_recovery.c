/* tests/test_recovery.c -- opening a partition log after clean and unclean
 * stops: a clean close scans nothing; a kill -9 mid-append leaves a valid
 * prefix; a last segment cut at hundreds of byte positions, or with a bit
 * flipped, recovers exactly the whole batches before the damage and keeps
 * accepting appends; garbage index files are detected and rebuilt.
 * Content is offset-determined (batchgen det), so the recovered log is
 * checked record by record against what must have been written.
 */
#include <criterion/criterion.h>
#include <valgrind/valgrind.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "storage/err.h"
#include "storage/log.h"
#include "storage/plog.h"
#include "storage/record.h"
#include "tests/support/batchgen.h"
#include "tests/support/plogtest.h"
#include "tests/support/tmpdir.h"

/* Quiet the engine's per-event log lines unless SLUICE_TEST_LOG is set. */
static void
suite_init(void)
{
    if (!getenv("SLUICE_TEST_LOG"))
        sl_log_set_level(SL_LOG_ERROR);
    tmpdir_setup();
}

TestSuite(recovery, .init = suite_init, .fini = tmpdir_teardown, .timeout = 60);

/* Under valgrind (make valgrind: a leak check, ~50x slower) the two
 * exhaustive tests sample fewer positions so they fit their timeout; the
 * normal run keeps the full counts. */
static int
light_run(void)
{
    return RUNNING_ON_VALGRIND;
}

#define SEG16K (16 * 1024)
#define VLEN   (-300)       /* value sizes vary with the offset: 1..300 bytes */

static struct plog *
open_at(const char *dir, struct plog_open_report *rep)
{
    struct plog_config cfg;
    struct plog *log = NULL;
    pt_config(&cfg, SEG16K);
    cfg.segment_index_bytes = 64 * 1024;   /* the tests copy whole dirs: keep files small */
    int rc = plog_open(&log, dir, &cfg, rep);
    cr_assert_eq(rc, 0, "plog_open(%s): %d (%s)", dir, rc, sl_strerror(rc));
    return log;
}

static void
check_prefix(struct plog *log, int64_t want_leo)
{
    char err[256];
    cr_assert_eq(plog_log_end_offset(log), want_leo, "LEO %" PRId64 ", want %" PRId64,
                 plog_log_end_offset(log), want_leo);
    long n = pt_read_check(log, plog_log_start_offset(log), want_leo, 1 << 20, NULL, VLEN, err,
                           sizeof(err));
    cr_assert_eq(n, want_leo - plog_log_start_offset(log), "%s", err);
}

/* Append one det batch after whatever is there and read everything back. */
static void
append_and_recheck(struct plog *log)
{
    struct plog_append_info info;
    int64_t leo = plog_log_end_offset(log);
    int rc = pt_append_det(log, NULL, 3, VLEN, 0, &info);
    cr_assert_eq(rc, 0, "append after recovery: %d (%s)", rc, sl_strerror(rc));
    cr_assert_eq(info.first_offset, leo);
    check_prefix(log, leo + 3);
}

static int64_t
dir_log_bytes(const char *dir)
{
    int64_t bases[4096], total = 0;
    char name[64], path[TMPDIR_PATH_MAX + 64];
    int n = pt_list_segments(dir, bases, 4096);
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%020" PRId64 ".log", bases[i]);
        long long sz = tmpdir_file_size(tmpdir_join(path, sizeof(path), dir, name));
        if (sz > 0)
            total += sz;
    }
    return total;
}

static void
copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY), out;
    char buf[65536];
    ssize_t n;
    cr_assert_geq(in, 0, "open %s", src);
    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(out, 0, "create %s", dst);
    while ((n = read(in, buf, sizeof(buf))) > 0)
        cr_assert_eq(write(out, buf, (size_t)n), n);
    cr_assert_eq(n, 0);
    close(in);
    close(out);
}

static void
copy_dir(const char *src, const char *dst)
{
    DIR *d = opendir(src);
    struct dirent *e;
    char a[TMPDIR_PATH_MAX + 300], b[TMPDIR_PATH_MAX + 300];
    cr_assert_not_null(d);
    cr_assert(mkdir(dst, 0755) == 0 || errno == EEXIST);
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        snprintf(a, sizeof(a), "%s/%s", src, e->d_name);
        if (stat(a, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        snprintf(b, sizeof(b), "%s/%s", dst, e->d_name);
        copy_file(a, b);
    }
    closedir(d);
}

static uint8_t *
read_whole(const char *path, size_t *len)
{
    long long sz = tmpdir_file_size(path);
    cr_assert_geq(sz, 0, "%s", path);
    uint8_t *p = malloc((size_t)sz + 1);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    cr_assert_eq(fread(p, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *len = (size_t)sz;
    return p;
}

/* The last segment of a golden log: its file name, base, and batch
 * boundaries (pos[i] = start of batch i, pos[n] = size; off[i] = base
 * offset of batch i, off[n] = the LEO). */
struct tailseg {
    char    path[TMPDIR_PATH_MAX + 64];
    char    name[32];
    int64_t base;
    size_t  n;
    size_t  pos[4096];
    int64_t off[4096];
};

static void
scan_tail(const char *dir, struct tailseg *t)
{
    int64_t bases[4096];
    size_t len;
    int n = pt_list_segments(dir, bases, 4096);
    cr_assert_geq(n, 2);
    t->base = bases[n - 1];
    snprintf(t->name, sizeof(t->name), "%020" PRId64 ".log", t->base);
    tmpdir_join(t->path, sizeof(t->path), dir, t->name);
    uint8_t *p = read_whole(t->path, &len);
    size_t pos = 0;
    t->n = 0;
    while (pos < len) {
        struct rec_batch_hdr h;
        cr_assert_eq(rec_parse_hdr(p + pos, len - pos, 1 << 24, &h), 0);
        cr_assert_lt(t->n, 4095);
        t->pos[t->n] = pos;
        t->off[t->n] = h.base_offset;
        t->n++;
        pos += rec_batch_size(&h);
        t->off[t->n] = rec_last_offset(&h) + 1;
    }
    cr_assert_eq(pos, len);
    t->pos[t->n] = len;
    free(p);
}

/* Build a golden log: several 16 KiB segments, the last one holding a
 * dozen or more batches; left unclean (plog_abandon). */
static void
make_golden(const char *dir, int64_t bytes)
{
    struct plog *log = open_at(dir, NULL);
    int i = 0;
    while (plog_size_bytes(log) < bytes)
        cr_assert_eq(pt_append_det(log, NULL, 1 + (i++ % 4), VLEN, 0, NULL), 0);
    plog_abandon(log);
}

static uint64_t
lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* ---- (a) clean close ---- */

Test(recovery, clean_close_scans_nothing)
{
    struct plog_open_report rep;
    struct plog *log = open_at(tmpdir_path, NULL);
    for (int i = 0; i < 300; i++)
        cr_assert_eq(pt_append_det(log, NULL, 1 + i % 4, VLEN, 0, NULL), 0);
    int64_t leo = plog_log_end_offset(log);
    int segs = plog_segment_count(log);
    cr_assert_gt(segs, 2);
    cr_assert_eq(plog_close(log), 0);
    log = open_at(tmpdir_path, &rep);
    cr_assert_eq(rep.clean, 1);
    cr_assert_eq(rep.scanned_bytes, 0);
    cr_assert_eq(rep.truncated_bytes, 0);
    cr_assert_eq(rep.deleted_segments, 0);
    cr_assert_eq(rep.rebuilt_indexes, 0);
    cr_assert_eq(rep.segments, segs);
    check_prefix(log, leo);
    append_and_recheck(log);
    /* the open itself must not leave a clean flag behind: a crash now is unclean */
    plog_abandon(log);
    log = open_at(tmpdir_path, &rep);
    cr_assert_eq(rep.clean, 0, "an abandoned log is not clean");
    check_prefix(log, leo + 3);
    cr_assert_eq(plog_close(log), 0);
}

Test(recovery, unclean_without_damage_keeps_everything)
{
    struct plog_open_report rep;
    char golden[TMPDIR_PATH_MAX + 16];
    snprintf(golden, sizeof(golden), "%s/g", tmpdir_path);
    make_golden(golden, 100 * 1024);
    struct tailseg *t = calloc(1, sizeof(*t));
    scan_tail(golden, t);
    struct plog *log = open_at(golden, &rep);
    cr_assert_eq(rep.clean, 0);
    cr_assert_eq(rep.truncated_bytes, 0);
    cr_assert_eq(rep.deleted_segments, 0);
    cr_assert_gt(rep.scanned_bytes, 0);
    cr_assert_geq(rep.rebuilt_indexes, 1);
    check_prefix(log, t->off[t->n]);
    append_and_recheck(log);
    cr_assert_eq(plog_close(log), 0);
    free(t);
}

/* ---- (b) kill -9 in the middle of appends ---- */

static void __attribute__((noreturn))
child_append_forever(const char *dir, volatile int64_t *last)
{
    struct plog_config cfg;
    struct plog *log;
    pt_config(&cfg, SEG16K);
    if (plog_open(&log, dir, &cfg, NULL) != 0)
        _exit(3);
    for (int i = 0;; i++) {
        struct plog_append_info info;
        if (pt_append_det(log, NULL, 1 + i % 5, VLEN, 0, &info) != 0)
            _exit(4);
        __atomic_store_n(last, info.last_offset, __ATOMIC_SEQ_CST);
    }
}

Test(recovery, kill9_mid_append_leaves_valid_prefix)
{
    volatile int64_t *last = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq((void *)last, MAP_FAILED);
    int64_t prev_leo = 0;

    for (int round = 1; round <= 3; round++) {
        struct plog_open_report rep;
        int status;
        int64_t target = (int64_t)round * 150 * 1024;
        *last = -1;
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0)
            child_append_forever(tmpdir_path, last);
        int64_t deadline = pt_now_ms() + 30000;
        while (dir_log_bytes(tmpdir_path) < target && pt_now_ms() < deadline) {
            if (waitpid(pid, &status, WNOHANG) == pid)
                cr_assert_fail("child exited early: status %d", status);
            struct timespec ts = { 0, 1000000 };
            nanosleep(&ts, NULL);
        }
        cr_assert_eq(kill(pid, SIGKILL), 0);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
        int64_t done = *last;
        cr_assert_geq(dir_log_bytes(tmpdir_path), target, "child too slow: round %d", round);
        cr_assert_geq(done, 0);

        struct plog *log = open_at(tmpdir_path, &rep);
        cr_assert_eq(rep.clean, 0);
        int64_t leo = plog_log_end_offset(log);
        /* every append that returned is in the page cache and survives a
         * process kill; at most the one in flight may be there too */
        cr_assert_geq(leo, done + 1, "lost acknowledged appends: LEO %" PRId64 ", last %" PRId64,
                      leo, done);
        cr_assert_leq(leo, done + 1 + 5);
        cr_assert_gt(leo, prev_leo);
        check_prefix(log, leo);
        prev_leo = leo;
        plog_abandon(log);
    }
    munmap((void *)last, 4096);
}

/* ---- (c) the last segment cut at >= 200 byte positions ---- */

Test(recovery, truncated_tail_at_many_positions)
{
    char golden[TMPDIR_PATH_MAX + 16], work[TMPDIR_PATH_MAX + 16], path[TMPDIR_PATH_MAX + 64];
    struct tailseg *t = calloc(1, sizeof(*t));
    uint64_t seed = 0xC0FFEE;

    snprintf(golden, sizeof(golden), "%s/g", tmpdir_path);
    make_golden(golden, 5 * SEG16K + 12 * 1024);
    scan_tail(golden, t);
    cr_assert_geq(t->n, 10, "last segment has %zu batches", t->n);
    size_t size = t->pos[t->n];

    /* positions: every batch boundary and its neighbours, then random */
    size_t cuts[600];
    int ncuts = 0;
    for (size_t i = 0; i <= t->n; i++) {
        cuts[ncuts++] = t->pos[i];
        if (t->pos[i] > 0)
            cuts[ncuts++] = t->pos[i] - 1;
        if (t->pos[i] + 1 < size)
            cuts[ncuts++] = t->pos[i] + 1;
        if (t->pos[i] + REC_HDR_LEN < size)
            cuts[ncuts++] = t->pos[i] + REC_HDR_LEN;
    }
    while (ncuts < 260)
        cuts[ncuts++] = (size_t)(lcg(&seed) % size);
    cr_assert_geq(ncuts, 200);
    if (light_run())
        ncuts = 12;

    for (int c = 0; c < ncuts; c++) {
        struct plog_open_report rep;
        size_t cut = cuts[c], k = 0;
        while (k < t->n && t->pos[k + 1] <= cut)
            k++;
        /* whole batches 0..k-1 fit: the LEO is off[k], pos[k] bytes kept */
        snprintf(work, sizeof(work), "%s/w%d", tmpdir_path, c);
        copy_dir(golden, work);
        cr_assert_eq(truncate(tmpdir_join(path, sizeof(path), work, t->name), (off_t)cut), 0);
        struct plog *log = open_at(work, &rep);
        cr_assert_eq(rep.clean, 0);
        cr_assert_eq(rep.truncated_bytes, (int64_t)(cut - t->pos[k]),
                     "cut at %zu: truncated %" PRId64 ", want %zu", cut, rep.truncated_bytes,
                     cut - t->pos[k]);
        cr_assert_eq(plog_log_end_offset(log), t->off[k], "cut at %zu of %zu: LEO %" PRId64 ", want %" PRId64,
                     cut, size, plog_log_end_offset(log), t->off[k]);
        check_prefix(log, t->off[k]);
        cr_assert_eq(tmpdir_file_size(path), (long long)t->pos[k], "torn bytes cut off the file");
        append_and_recheck(log);
        if (c % 8 == 0) {
            /* and again after a clean stop (every 8th cut: each costs fsyncs) */
            cr_assert_eq(plog_close(log), 0);
            log = open_at(work, &rep);
            cr_assert_eq(rep.clean, 1);
            check_prefix(log, t->off[k] + 3);
            cr_assert_eq(plog_close(log), 0);
        } else {
            plog_abandon(log);
        }
        cr_assert_eq(tmpdir_remove(work), 0);
    }
    free(t);
}

/* ---- (d) bit flips in the tail ---- */

Test(recovery, bit_flips_in_tail_end_log_before_flipped_batch)
{
    char golden[TMPDIR_PATH_MAX + 16], work[TMPDIR_PATH_MAX + 16], path[TMPDIR_PATH_MAX + 64];
    struct tailseg *t = calloc(1, sizeof(*t));
    uint64_t seed = 0xB17F11B5;

    snprintf(golden, sizeof(golden), "%s/g", tmpdir_path);
    make_golden(golden, 5 * SEG16K + 12 * 1024);
    scan_tail(golden, t);
    size_t size = t->pos[t->n];

    for (int it = 0; it < (light_run() ? 8 : 100); it++) {
        struct plog_open_report rep;
        size_t q, k;
        /* bytes the CRC covers, plus magic and the CRC itself: the flip
         * must be detected. (Base offset and leader epoch are not covered;
         * a flip in the length field is covered by later checks only.) */
        do {
            q = (size_t)(lcg(&seed) % size);
            for (k = 0; k < t->n && t->pos[k + 1] <= q; k++)
                ;
        } while (q - t->pos[k] < REC_OFF_MAGIC);
        int bit = (int)(lcg(&seed) % 8);
        snprintf(work, sizeof(work), "%s/w%d", tmpdir_path, it);
        copy_dir(golden, work);
        tmpdir_join(path, sizeof(path), work, t->name);
        int fd = open(path, O_RDWR);
        uint8_t byte;
        cr_assert_eq(pread(fd, &byte, 1, (off_t)q), 1);
        byte ^= (uint8_t)(1 << bit);
        cr_assert_eq(pwrite(fd, &byte, 1, (off_t)q), 1);
        close(fd);

        struct plog *log = open_at(work, &rep);
        cr_assert_eq(plog_log_end_offset(log), t->off[k],
                     "flip at %zu (batch %zu at %zu): LEO %" PRId64 ", want %" PRId64, q, k, t->pos[k],
                     plog_log_end_offset(log), t->off[k]);
        cr_assert_eq(rep.truncated_bytes, (int64_t)(size - t->pos[k]));
        check_prefix(log, t->off[k]);
        append_and_recheck(log);
        plog_abandon(log);
        if (it % 8 == 0) {
            log = open_at(work, &rep);
            check_prefix(log, t->off[k] + 3);
            cr_assert_eq(plog_close(log), 0);
        }
        cr_assert_eq(tmpdir_remove(work), 0);
    }
    free(t);
}

/* A torn segment that is not the last (its successors were written after
 * it was cut, e.g. by a bad disk): everything after the bad byte goes. */
Test(recovery, torn_middle_segment_drops_later_segments)
{
    struct plog_open_report rep;
    int64_t bases[256];
    char path[TMPDIR_PATH_MAX + 64], name[64];
    make_golden(tmpdir_path, 6 * SEG16K);
    int n = pt_list_segments(tmpdir_path, bases, 256);
    cr_assert_geq(n, 4);
    snprintf(name, sizeof(name), "%020" PRId64 ".log", bases[1]);
    tmpdir_join(path, sizeof(path), tmpdir_path, name);
    long long sz = tmpdir_file_size(path);
    cr_assert_eq(truncate(path, (off_t)(sz - 5)), 0);
    struct plog *log = open_at(tmpdir_path, &rep);
    cr_assert_eq(rep.clean, 0);
    cr_assert_geq(rep.deleted_segments, n - 2);
    cr_assert_lt(plog_log_end_offset(log), bases[2]);
    cr_assert_geq(plog_log_end_offset(log), bases[1]);
    check_prefix(log, plog_log_end_offset(log));
    append_and_recheck(log);
    cr_assert_eq(plog_close(log), 0);
}

/* ---- garbage index files after a clean stop ---- */

static void
write_garbage(const char *path, size_t len, uint64_t seed)
{
    uint8_t *g = malloc(len + 1);
    bg_fill(g, len, seed);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(g, 1, len, f), len);
    fclose(f);
    free(g);
}

static void
check_times(struct plog *log)
{
    int64_t leo = plog_log_end_offset(log), off, ts;
    for (int64_t o = plog_log_start_offset(log); o < leo; o += 7) {
        cr_assert_eq(plog_offset_for_time(log, bg_det_ts(o), &off, &ts), 0);
        cr_assert_eq(off, o, "offset_for_time(ts of %" PRId64 ") = %" PRId64, o, off);
    }
}

Test(recovery, garbage_indexes_detected_and_rebuilt)
{
    int64_t bases[256];
    char path[TMPDIR_PATH_MAX + 64], name[64];
    struct plog_open_report rep;
    struct plog *log = open_at(tmpdir_path, NULL);
    for (int i = 0; i < 400; i++)
        cr_assert_eq(pt_append_det(log, NULL, 1 + i % 4, VLEN, 0, NULL), 0);
    int64_t leo = plog_log_end_offset(log);
    cr_assert_eq(plog_close(log), 0);
    int n = pt_list_segments(tmpdir_path, bases, 256);
    cr_assert_geq(n, 4);

    /* variants over the segments: random bytes (same size), an odd size,
     * zeros, entries pointing past the end; the active segment last */
    for (int v = 0; v < 4; v++) {
        int si = v == 3 ? n - 1 : 1 + v % (n - 2);
        snprintf(name, sizeof(name), "%020" PRId64 ".index", bases[si]);
        tmpdir_join(path, sizeof(path), tmpdir_path, name);
        long long isz = tmpdir_file_size(path);
        cr_assert_geq(isz, 0);
        size_t glen = v == 1 ? (size_t)isz + 5 : (size_t)(isz > 0 ? isz : 64);
        if (v == 2) {
            uint8_t *z = calloc(1, glen);
            FILE *f = fopen(path, "wb");
            fwrite(z, 1, glen, f);
            fclose(f);
            free(z);
        } else if (v == 3) {
            /* plausible-looking entries far beyond the log */
            uint8_t e[64];
            for (int k = 0; k < 8; k++) {
                rec_put_u32(e + k * 8, (uint32_t)(k + 1) * 1000);
                rec_put_u32(e + k * 8 + 4, (uint32_t)(k + 1) * 1000000);
            }
            FILE *f = fopen(path, "wb");
            fwrite(e, 1, sizeof(e), f);
            fclose(f);
        } else {
            write_garbage(path, glen, (uint64_t)v + 77);
        }
        snprintf(name, sizeof(name), "%020" PRId64 ".timeindex", bases[si]);
        tmpdir_join(path, sizeof(path), tmpdir_path, name);
        write_garbage(path, 12 * 5 + (v == 1 ? 3 : 0), (uint64_t)v + 99);

        log = open_at(tmpdir_path, &rep);
        if (v == 3)
            cr_assert_geq(rep.rebuilt_indexes, 1, "the active segment's garbage index is rebuilt");
        check_prefix(log, leo);
        check_times(log);
        for (int64_t o = 0; o < leo; o += 13) {      /* single reads land on the right batch */
            struct plog_slice s;
            struct bg_walk w;
            uint8_t buf[8192];
            cr_assert_eq(plog_read(log, o, 1, INT64_MAX, &s), 0);
            cr_assert_leq(s.len, sizeof(buf));
            cr_assert_eq(plog_slice_copy(&s, buf), 0);
            cr_assert_eq(bg_walk(buf, s.len, 0, &w), 0, "%s", w.msg);
            cr_assert(w.hdrs[0].base_offset <= o && o <= rec_last_offset(&w.hdrs[0]),
                      "variant %d: read(%" PRId64 ") gave batch %" PRId64, v, o, w.hdrs[0].base_offset);
            bg_walk_free(&w);
            plog_slice_release(&s);
        }
        append_and_recheck(log);
        leo += 3;
        cr_assert_eq(plog_close(log), 0);
    }
}
