/* bench/bench_storage.c -- how close plog_append gets to the disk, and what
 * a log costs to read back and to open.
 *
 * Appends SIZE bytes (default 2 GiB) as ~16 KiB batches of 1 KiB records
 * through plog_append (ASSIGN_OFFSETS, default config: 1 GiB segments), and
 * in the same run writes the same bytes with plain sequential write(2) to a
 * file in the same directory. Runs alternate raw, plog, raw, plog, ... so
 * page-cache and device drift hit both alike; medians are reported, with
 * and without a final fdatasync inside the timing. For each plog round it
 * also measures index bytes per log byte, read-back speed through plog_read
 * + plog_slice_copy, the time to open the log after a clean close (median
 * of several opens), the process RSS around an open, and the segment count.
 *
 *   bench_storage [--size 2G] [--rounds 3] [--opens 5] [--dir DIR]
 *
 * DIR defaults to $SLUICE_BENCH_DIR, else <$SLUICE_BUILD or build>/bench-tmp
 * (the same disk as the build); a fresh mkdtemp directory is made inside it
 * and removed at the end. Files are deleted between rounds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bench/support/benchlib.h"
#include "storage/buf.h"
#include "storage/err.h"
#include "storage/log.h"
#include "storage/plog.h"
#include "storage/record.h"

#define RECORDS_PER_BATCH 16
#define VALUE_BYTES       1024

static long long
rss_bytes(void)
{
    long long size = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%lld %lld", &size, &res) != 2)
        res = -1;
    fclose(f);
    return res < 0 ? -1 : res * sysconf(_SC_PAGESIZE);
}

static int64_t
parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    switch (*end) {
    case 'k': case 'K': v *= 1024; break;
    case 'm': case 'M': v *= 1024 * 1024; break;
    case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
    case '\0': break;
    default: return -1;
    }
    return v > 0 ? (int64_t)v : -1;
}

static void
put_varint(struct sl_buf *b, int32_t v)
{
    uint8_t t[5];
    sl_buf_append(b, t, rec_write_varint(t, v));
}

/* One uncompressed batch of RECORDS_PER_BATCH records with VALUE_BYTES values. */
static int
make_batch(struct sl_buf *b)
{
    uint8_t val[VALUE_BYTES], *h;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    int64_t ts = 1700000000000LL;

    for (size_t i = 0; i < sizeof(val); i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        val[i] = (uint8_t)x;
    }
    h = sl_buf_extend(b, REC_HDR_LEN);
    if (!h)
        return -1;
    memset(h, 0, REC_HDR_LEN);
    for (int i = 0; i < RECORDS_PER_BATCH; i++) {
        struct sl_buf r = SL_BUF_INIT;
        char key[16];
        int kl = snprintf(key, sizeof(key), "key-%d", i);
        sl_buf_put_i8(&r, 0);
        put_varint(&r, 0);            /* timestamp delta (varlong 0 = varint 0) */
        put_varint(&r, i);            /* offset delta */
        put_varint(&r, kl);
        sl_buf_append(&r, key, (size_t)kl);
        put_varint(&r, VALUE_BYTES);
        sl_buf_append(&r, val, sizeof(val));
        put_varint(&r, 0);            /* headers */
        put_varint(b, (int32_t)r.len);
        sl_buf_append(b, r.data, r.len);
        sl_buf_free(&r);
    }
    if (b->oom)
        return -1;
    h = b->data;
    rec_put_u32(h + REC_OFF_LENGTH, (uint32_t)(b->len - REC_LOG_OVERHEAD));
    rec_put_u32(h + REC_OFF_LEADER_EPOCH, (uint32_t)-1);
    h[REC_OFF_MAGIC] = REC_MAGIC_V2;
    rec_put_u32(h + REC_OFF_LAST_OFFSET_DELTA, RECORDS_PER_BATCH - 1);
    rec_put_u64(h + REC_OFF_BASE_TIMESTAMP, (uint64_t)ts);
    rec_put_u64(h + REC_OFF_MAX_TIMESTAMP, (uint64_t)ts);
    rec_put_u64(h + REC_OFF_PRODUCER_ID, (uint64_t)-1);
    rec_put_u16(h + REC_OFF_PRODUCER_EPOCH, (uint16_t)-1);
    rec_put_u32(h + REC_OFF_BASE_SEQUENCE, (uint32_t)-1);
    rec_put_u32(h + REC_OFF_RECORD_COUNT, RECORDS_PER_BATCH);
    rec_put_u32(h + REC_OFF_CRC, rec_compute_crc(h, b->len));
    return rec_validate_batch(b->data, b->len) == 0 ? 0 : -1;
}

static void
rm_rf_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[4096];
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

/* Sum of sizes of files in dir ending in suffix. */
static long long
sum_sizes(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    struct stat st;
    char p[4096];
    long long total = 0;
    size_t sl = strlen(suffix);
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name);
        if (nl < sl || strcmp(e->d_name + nl - sl, suffix) != 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (stat(p, &st) == 0)
            total += st.st_size;
    }
    closedir(d);
    return total;
}

struct raw_result { double write_s, sync_s; };

static int
run_raw(const char *path, const struct sl_buf *batch, int64_t nbatches, struct raw_result *r)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(path);
        return -1;
    }
    double t0 = bl_now_s();
    for (int64_t i = 0; i < nbatches; i++) {
        size_t done = 0;
        while (done < batch->len) {
            ssize_t n = write(fd, batch->data + done, batch->len - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                perror("write");
                close(fd);
                return -1;
            }
            done += (size_t)n;
        }
    }
    double t1 = bl_now_s();
    if (fdatasync(fd) != 0)
        perror("fdatasync");
    double t2 = bl_now_s();
    close(fd);
    unlink(path);
    r->write_s = t1 - t0;
    r->sync_s = t2 - t1;
    return 0;
}

struct plog_result {
    double append_s, flush_s, read_s, open_s;
    long long log_bytes, index_bytes, rss_before, rss_after;
    int segments;
};

static int
run_plog(const char *dir, struct sl_buf *batch, int64_t nbatches, int opens, struct plog_result *r)
{
    struct plog_config cfg;
    struct plog *log;
    struct plog_append_info info;
    double open_times[64];
    int rc;

    plog_config_default(&cfg);
    if ((rc = plog_open(&log, dir, &cfg, NULL)) != 0) {
        fprintf(stderr, "plog_open: %s\n", sl_strerror(rc));
        return -1;
    }
    double t0 = bl_now_s();
    for (int64_t i = 0; i < nbatches; i++) {
        if ((rc = plog_append(log, batch->data, batch->len, 0, PLOG_APPEND_ASSIGN_OFFSETS,
                              1700000000000LL, &info)) != 0) {
            fprintf(stderr, "plog_append: %s\n", sl_strerror(rc));
            plog_close(log);
            return -1;
        }
    }
    double t1 = bl_now_s();
    if ((rc = plog_flush(log, INT64_MAX)) != 0)
        fprintf(stderr, "plog_flush: %s\n", sl_strerror(rc));
    double t2 = bl_now_s();
    r->append_s = t1 - t0;
    r->flush_s = t2 - t1;
    r->segments = plog_segment_count(log);
    int64_t leo = plog_log_end_offset(log);
    if ((rc = plog_close(log)) != 0)
        fprintf(stderr, "plog_close: %s\n", sl_strerror(rc));
    r->log_bytes = sum_sizes(dir, ".log");
    r->index_bytes = sum_sizes(dir, ".index") + sum_sizes(dir, ".timeindex");

    if (opens < 1)
        opens = 1;
    if (opens > 64)
        opens = 64;
    for (int k = 0; k < opens; k++) {
        struct plog_open_report rep;
        long long before = rss_bytes();
        double o0 = bl_now_s();
        if ((rc = plog_open(&log, dir, &cfg, &rep)) != 0) {
            fprintf(stderr, "reopen: %s\n", sl_strerror(rc));
            return -1;
        }
        open_times[k] = bl_now_s() - o0;
        long long after = rss_bytes();
        if (k == 0) {
            r->rss_before = before;
            r->rss_after = after;
            if (!rep.clean)
                fprintf(stderr, "warning: reopen after a clean close was not clean\n");
        }
        if (k == opens - 1) {
            size_t cap = 1 << 20;
            uint8_t *buf = malloc(cap);
            int64_t off = plog_log_start_offset(log);
            double r0 = bl_now_s();
            while (off < leo) {
                struct plog_slice s;
                if ((rc = plog_read(log, off, cap, leo, &s)) != 0 || s.len == 0) {
                    fprintf(stderr, "plog_read(%" PRId64 "): %s\n", off, sl_strerror(rc));
                    break;
                }
                if (s.len > cap) {
                    cap = s.len;
                    buf = realloc(buf, cap);
                }
                plog_slice_copy(&s, buf);
                size_t len = s.len, pos = 0;
                plog_slice_release(&s);
                while (pos < len) {           /* next offset: after the last whole batch */
                    struct rec_batch_hdr h;
                    if (rec_parse_hdr(buf + pos, len - pos, (size_t)INT32_MAX, &h) != 0 ||
                        rec_batch_size(&h) > len - pos)
                        break;
                    off = rec_last_offset(&h) + 1;
                    pos += rec_batch_size(&h);
                }
            }
            r->read_s = bl_now_s() - r0;
            free(buf);
        }
        plog_close(log);
    }
    r->open_s = bl_median(open_times, opens);
    return plog_destroy_dir(dir) == 0 ? 0 : (rm_rf_files(dir), 0);
}

static void
usage(void)
{
    fprintf(stderr, "usage: bench_storage [--size BYTES[K|M|G]] [--rounds N] [--opens N] [--dir DIR]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    int64_t size = 2LL << 30;
    int rounds = 3, opens = 5;
    const char *base = NULL;
    char defbase[4096], top[4096], rawpath[4200], logdir[4200];
    struct sl_buf batch = SL_BUF_INIT;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc) {
            if ((size = parse_size(argv[++i])) <= 0)
                usage();
        } else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--opens") && i + 1 < argc) {
            opens = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            base = argv[++i];
        } else {
            usage();
        }
    }
    if (rounds < 1 || rounds > 64)
        usage();
    if (!base) {
        bl_bench_dir(defbase, sizeof(defbase));
        base = defbase;
    }
    if (mkdir(base, 0755) != 0 && errno != EEXIST) {
        perror(base);
        return 1;
    }
    snprintf(top, sizeof(top), "%s/storage.XXXXXX", base);
    if (!mkdtemp(top)) {
        perror(top);
        return 1;
    }
    snprintf(rawpath, sizeof(rawpath), "%s/raw.bin", top);
    snprintf(logdir, sizeof(logdir), "%s/bench-0", top);
    sl_log_set_level(SL_LOG_WARN);

    if (make_batch(&batch) != 0) {
        fprintf(stderr, "could not build a batch\n");
        return 1;
    }
    int64_t nbatches = size / (int64_t)batch.len;
    if (nbatches < 1)
        nbatches = 1;
    double bytes = (double)nbatches * (double)batch.len;
    printf("Storage bench: %" PRId64 " batches x %zu bytes (%d records x %d B values) = %.0f MiB, "
           "%d rounds, dir %s\n", nbatches, batch.len, RECORDS_PER_BATCH, VALUE_BYTES,
           bytes / 1048576, rounds, top);
    fflush(stdout);

    double raw_w[64], raw_ws[64], pl_w[64], pl_ws[64], rd[64], op[64], ixr[64];
    struct plog_result last = { 0 };
    int ok = 1;
    for (int r = 0; r < rounds && ok; r++) {
        struct raw_result rr;
        struct plog_result pr = { 0 };
        if (run_raw(rawpath, &batch, nbatches, &rr) != 0) { ok = 0; break; }
        raw_w[r] = bytes / rr.write_s / 1e6;
        raw_ws[r] = bytes / (rr.write_s + rr.sync_s) / 1e6;
        printf("  round %d raw : %8.1f MB/s write, %8.1f MB/s write+fdatasync\n", r + 1, raw_w[r], raw_ws[r]);
        fflush(stdout);
        if (run_plog(logdir, &batch, nbatches, opens, &pr) != 0) { ok = 0; break; }
        pl_w[r] = bytes / pr.append_s / 1e6;
        pl_ws[r] = bytes / (pr.append_s + pr.flush_s) / 1e6;
        rd[r] = bytes / pr.read_s / 1e6;
        op[r] = pr.open_s * 1e3;
        ixr[r] = pr.log_bytes > 0 ? (double)pr.index_bytes / (double)pr.log_bytes : 0;
        last = pr;
        printf("  round %d plog: %8.1f MB/s append, %8.1f MB/s append+flush, read %8.1f MB/s, "
               "open %.2f ms, %d segments\n", r + 1, pl_w[r], pl_ws[r], rd[r], op[r], pr.segments);
        fflush(stdout);
    }
    rmdir(logdir);
    rmdir(top);
    if (!ok)
        return 1;

    double mw = bl_median(raw_w, rounds), mws = bl_median(raw_ws, rounds);
    double pw = bl_median(pl_w, rounds), pws = bl_median(pl_ws, rounds);
    printf("\n%-44s %12s\n", "Storage (median of rounds)", "value");
    printf("%-44s %12s\n", "--------------------------------------------", "------------");
    printf("%-44s %9.1f MB/s\n", "raw write()", mw);
    printf("%-44s %9.1f MB/s\n", "plog_append", pw);
    printf("%-44s %11.3f\n", "plog / raw (page cache)", pw / mw);
    printf("%-44s %9.1f MB/s\n", "raw write() + final fdatasync", mws);
    printf("%-44s %9.1f MB/s\n", "plog_append + final plog_flush", pws);
    printf("%-44s %11.3f\n", "plog / raw (with fdatasync)", pws / mws);
    printf("%-44s %11.5f\n", "index bytes / log bytes (after close)", bl_median(ixr, rounds));
    printf("%-44s %9.1f MB/s\n", "read back (plog_read + plog_slice_copy)", bl_median(rd, rounds));
    printf("%-44s %9.2f ms\n", "open after clean close (median)", bl_median(op, rounds));
    printf("%-44s %9.1f MiB\n", "RSS before open", (double)last.rss_before / 1048576);
    printf("%-44s %9.1f MiB\n", "RSS after open", (double)last.rss_after / 1048576);
    printf("%-44s %12d\n", "segments", last.segments);
    printf("%-44s %12lld\n", "log bytes", last.log_bytes);
    printf("%-44s %12lld\n", "index bytes (.index + .timeindex)", last.index_bytes);
    sl_buf_free(&batch);
    return 0;
}
