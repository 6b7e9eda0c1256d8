/* tests/fuzz/fuzz_recovery.c -- the segment recovery scanner fed arbitrary
 * segment bytes.
 *
 * Each input becomes 00000000000000000000.log in an otherwise empty
 * partition directory (no sluice.checkpoint, so plog_open runs a full
 * recovery: batch headers, CRCs, offsets, index rebuild, producer state).
 * Then every batch is read back through plog_read + plog_slice_copy from
 * the log start to the log end offset, and the log is closed cleanly and
 * reopened (the clean path). Invariants (abort on violation):
 *   - plog_open succeeds (a bad segment is truncated, never fatal);
 *   - what survives is a prefix of the input, made of whole batches with
 *     good CRCs and increasing offsets, and the log end offset is the one
 *     after the last surviving batch;
 *   - the reads return exactly those bytes;
 *   - the clean reopen finds the same log end offset.
 * The directory lives in /dev/shm when available (fsync is cheap there)
 * and is reused: its files are removed before each input.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "storage/err.h"
#include "storage/log.h"
#include "storage/plog.h"
#include "storage/record.h"
#include "tests/fuzz/fuzz.h"

#define CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "fuzz_recovery: invariant failed: %s (line %d)\n", #cond, __LINE__); \
    abort(); } } while (0)

static char root[256];
static char dir[300];
static char seg_path[400];

static void
remove_root(void)
{
    char cmd[600];
    if (root[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        if (system(cmd) != 0)
            fprintf(stderr, "fuzz_recovery: could not remove %s\n", root);
    }
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct stat st;
    (void)argc; (void)argv;

    sl_log_set_level(SL_LOG_ERROR);
    const char *base = (stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0)
                       ? "/dev/shm" : "/tmp";
    snprintf(root, sizeof(root), "%s/sluice-fuzz-recovery-XXXXXX", base);
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        abort();
    }
    atexit(remove_root);
    snprintf(dir, sizeof(dir), "%s/t-0", root);
    snprintf(seg_path, sizeof(seg_path), "%s/00000000000000000000.log", dir);
    return 0;
}

static void
clear_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[700];

    if (!d) {
        CHECK(mkdir(dir, 0755) == 0);
        return;
    }
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

static void
remove_snapshots(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[700];
    size_t n;

    CHECK(d);
    while ((e = readdir(d))) {
        n = strlen(e->d_name);
        if (n > 9 && !strcmp(e->d_name + n - 9, ".snapshot")) {
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
}

static void
write_segment(const uint8_t *data, size_t size)
{
    int fd = open(seg_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    size_t done = 0;

    CHECK(fd >= 0);
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        CHECK(n > 0);
        done += (size_t)n;
    }
    close(fd);
}

/* The longest prefix of data made of whole valid batches with increasing
 * offsets, as recovery must keep it; *leo gets the offset after it. */
static size_t
valid_prefix(const uint8_t *data, size_t size, size_t max_batch, int64_t *leo)
{
    size_t pos = 0;
    int64_t next = 0;
    struct rec_batch_hdr h;

    while (rec_parse_hdr(data + pos, size - pos, max_batch, &h) == 0) {
        size_t bs = rec_batch_size(&h);
        if (bs > size - pos || !rec_crc_ok(data + pos, bs))
            break;
        /* the scanner's rules: offsets increase, stay within int32 of the
         * segment base (0 here), a count that is not negative */
        if (h.base_offset < next || h.base_offset > INT32_MAX ||
            h.last_offset_delta > INT32_MAX - h.base_offset || h.record_count < 0)
            break;
        next = rec_last_offset(&h) + 1;
        pos += bs;
    }
    *leo = next;
    return pos;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct plog_config cfg;
    struct plog_open_report rep;
    struct plog *log = NULL;
    int64_t off, leo, start;
    size_t got = 0;
    uint8_t *back;
    int rc;

    if (size > (4u << 20))
        return 0;
    clear_dir();
    write_segment(data, size);

    plog_config_default(&cfg);
    cfg.segment_index_bytes = 64 * 1024;
    cfg.index_interval_bytes = 256;
    cfg.max_batch_bytes = 8 << 20;
    rc = plog_open(&log, dir, &cfg, &rep);
    if (rc != 0) {
        fprintf(stderr, "fuzz_recovery: plog_open failed: %s\n", sl_strerror(rc));
        abort();
    }
    CHECK(!rep.clean);
    leo = plog_log_end_offset(log);
    start = plog_log_start_offset(log);
    CHECK(start == 0);
    back = malloc(size + 1);
    CHECK(back);

    /* read every batch back, from the start to the log end offset */
    off = start;
    while (off < leo) {
        struct plog_slice s;
        struct rec_batch_hdr h;
        rc = plog_read(log, off, 64 * 1024, leo, &s);
        CHECK(rc == 0);
        if (s.len == 0)
            break;
        CHECK((size_t)s.pos == got && got + s.len <= size);
        CHECK(plog_slice_copy(&s, back + got) == 0);
        /* every batch in the slice whole and good; continue after the last */
        size_t p = got, end = got + s.len;
        plog_slice_release(&s);
        while (p < end) {
            CHECK(rec_parse_hdr(back + p, end - p, cfg.max_batch_bytes, &h) == 0);
            CHECK(rec_batch_size(&h) <= end - p && rec_crc_ok(back + p, rec_batch_size(&h)));
            CHECK(rec_last_offset(&h) >= off || p > got);
            off = rec_last_offset(&h) + 1;
            p += rec_batch_size(&h);
        }
        got = end;
    }
    CHECK(off >= leo);
    CHECK(memcmp(back, data, got) == 0);
    {
        int64_t want_leo;
        size_t want = valid_prefix(data, size, (size_t)cfg.max_batch_bytes, &want_leo);
        CHECK(got == want);
        CHECK(leo == want_leo);
    }
    CHECK(plog_close(log) == 0);

    /* the clean path: reopen, nothing scanned, same end. The producer
     * snapshot written by the close goes first: pstate_read_snapshot
     * mallocs 256 MiB per read, which under ASan costs ~30 ms (shadow
     * poisoning) and would cap this target at ~30 exec/s. */
    remove_snapshots();
    log = NULL;
    CHECK(plog_open(&log, dir, &cfg, &rep) == 0);
    CHECK(rep.clean);
    CHECK(plog_log_end_offset(log) == leo);
    CHECK(plog_close(log) == 0);
    free(back);
    return 0;
}
