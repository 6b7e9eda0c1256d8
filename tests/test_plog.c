/* tests/test_plog.c -- the partition log's contract (storage/plog.h):
 * append/read round trips across many segment rolls, the read path's batch
 * alignment, KIP-74 and max_offset bounds, time lookups, retention,
 * truncation, DeleteRecords, checkpoints, the leader epoch cache, follower
 * appends, Kafka file names and index trimming, LogAppendTime.
 * Content is offset-determined (batchgen det), so every read is checked
 * byte for byte without keeping a copy of what was written.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "storage/err.h"
#include "storage/log.h"
#include "storage/plog.h"
#include "storage/record.h"
#include "storage/segment.h"
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

TestSuite(plog, .init = suite_init, .fini = tmpdir_teardown, .timeout = 60);

#define SEG16K (16 * 1024)

static struct plog *
open_log(int64_t seg_bytes, struct plog_open_report *rep)
{
    struct plog_config cfg;
    struct plog *log = NULL;
    struct plog_open_report local;
    pt_config(&cfg, seg_bytes);
    int rc = plog_open(&log, tmpdir_path, &cfg, rep ? rep : &local);
    cr_assert_eq(rc, 0, "plog_open: %d (%s)", rc, sl_strerror(rc));
    cr_assert_not_null(log);
    return log;
}

static void
append_ok(struct plog *log, struct pt_model *m, int32_t n, int32_t vlen, int32_t epoch)
{
    struct plog_append_info info;
    int64_t leo = plog_log_end_offset(log);
    int rc = pt_append_det(log, m, n, vlen, epoch, &info);
    cr_assert_eq(rc, 0, "append at %" PRId64 ": %d (%s)", leo, rc, sl_strerror(rc));
    cr_assert_eq(info.first_offset, leo);
    cr_assert_eq(info.last_offset, leo + n - 1);
    cr_assert_eq(info.batches, 1);
    cr_assert_eq(info.max_timestamp, bg_det_ts(leo + n - 1));
    cr_assert_eq(info.log_append_time, -1);
    cr_assert_eq(plog_log_end_offset(log), leo + n);
}

static void
check_all(struct plog *log, const struct pt_model *m, size_t max_bytes)
{
    char err[256];
    int64_t start = plog_log_start_offset(log), leo = plog_log_end_offset(log);
    long n = pt_read_check(log, start, leo, max_bytes, m, 0, err, sizeof(err));
    cr_assert_eq(n, leo - start, "read back [%" PRId64 ", %" PRId64 "): %s", start, leo, err);
}

/* Fill with batches of 1..maxn records, varying value sizes, until the log
 * holds `bytes`. */
static void
fill(struct plog *log, struct pt_model *m, int64_t bytes, int32_t maxn, int32_t vlen, int32_t epoch)
{
    int i = 0;
    while (plog_size_bytes(log) < bytes)
        append_ok(log, m, 1 + (i++ * 7) % maxn, vlen, epoch);
}

static void
set_hw_leo(struct plog *log)
{
    plog_set_high_watermark(log, plog_log_end_offset(log));
    cr_assert_eq(plog_high_watermark(log), plog_log_end_offset(log));
}

Test(plog, config_defaults_are_kafkas)
{
    struct plog_config c;
    memset(&c, 0xab, sizeof(c));
    plog_config_default(&c);
    cr_assert_eq(c.segment_bytes, 1073741824LL);
    cr_assert_eq(c.segment_ms, 7LL * 24 * 3600 * 1000);
    cr_assert_eq(c.index_interval_bytes, 4096);
    cr_assert_eq(c.segment_index_bytes, 10 * 1024 * 1024);
    cr_assert_eq(c.retention_bytes, -1);
    cr_assert_eq(c.retention_ms, 7LL * 24 * 3600 * 1000);
    cr_assert_eq(c.flush_messages, INT64_MAX);
    cr_assert_eq(c.flush_ms, INT64_MAX);
    cr_assert_gt(c.max_batch_bytes, 0);
}

Test(plog, empty_log)
{
    struct plog *log = open_log(SEG16K, NULL);
    struct plog_slice s;
    int64_t off, ts;
    int32_t ep;

    cr_assert_eq(plog_log_start_offset(log), 0);
    cr_assert_eq(plog_log_end_offset(log), 0);
    cr_assert_eq(plog_high_watermark(log), 0);
    cr_assert_eq(plog_size_bytes(log), 0);
    cr_assert_eq(plog_is_offline(log), 0);
    cr_assert_str_eq(plog_dir(log), tmpdir_path);
    cr_assert_eq(plog_read(log, 0, 1 << 20, 0, &s), 0, "read at LEO of an empty log");
    cr_assert_eq(s.len, 0);
    cr_assert_null(s.seg);
    plog_slice_release(&s);
    cr_assert_eq(plog_read(log, 1, 1 << 20, 1, &s), SL_ERR_OFFSET_OUT_OF_RANGE);
    cr_assert_eq(plog_read(log, -1, 1 << 20, 0, &s), SL_ERR_OFFSET_OUT_OF_RANGE);
    cr_assert_eq(plog_max_timestamp(log, &off, &ts), 0);
    cr_assert_eq(off, -1);
    cr_assert_eq(ts, -1);
    cr_assert_eq(plog_offset_for_time(log, 0, &off, &ts), 0);
    cr_assert_eq(off, -1);
    cr_assert_eq(plog_latest_epoch(log, &ep, &off), 0);
    cr_assert_eq(ep, -1);
    cr_assert_eq(off, -1);
    plog_set_high_watermark(log, 100);
    cr_assert_eq(plog_high_watermark(log), 0, "HW clamped to the LEO");
    cr_assert_eq(plog_close(log), 0);
    cr_assert_eq(plog_close(NULL), 0);
}

Test(plog, roundtrip_across_many_rolls)
{
    struct pt_model m = { 0 };
    struct plog_open_report rep;
    struct plog *log = open_log(SEG16K, NULL);
    int64_t bases[1024];

    fill(log, &m, 400 * 1024, 10, -200, 0);
    int nseg = plog_segment_count(log);
    cr_assert_geq(nseg, 400 / 16, "%d segments for 400 KiB at 16 KiB", nseg);
    int nfiles = pt_list_segments(tmpdir_path, bases, 1024);
    cr_assert_eq(nfiles, nseg);
    cr_assert_eq(bases[0], 0);
    /* every segment starts at a batch boundary and is no larger than needed */
    for (int i = 0; i < nfiles; i++)
        cr_assert_geq(pt_model_find(&m, bases[i]), 0);
    for (int i = 1; i < nfiles; i++) {
        long k = pt_model_find(&m, bases[i]);
        cr_assert_eq(m.b[k].base, bases[i], "segment %d base %" PRId64 " mid-batch", i, bases[i]);
    }
    int64_t total = 0;
    for (size_t i = 0; i < m.n; i++)
        total += (int64_t)m.b[i].size;
    cr_assert_eq(plog_size_bytes(log), total, "size is the sum of the batches");

    check_all(log, &m, 1 << 20);
    check_all(log, &m, 3000);
    check_all(log, &m, 1);

    /* several batches in one append */
    {
        struct sl_buf b = SL_BUF_INIT;
        struct plog_append_info info;
        int64_t leo = plog_log_end_offset(log);
        size_t s0, s1;
        bg_append_det(&b, leo, 3, 50);
        s0 = b.len;
        bg_append_det(&b, leo + 3, 4, 60);
        s1 = b.len - s0;
        bg_append_det(&b, leo + 7, 1, 70);
        cr_assert_eq(plog_append(log, b.data, b.len, 0, PLOG_APPEND_ASSIGN_OFFSETS,
                                 bg_det_ts(leo), &info), 0);
        cr_assert_eq(info.batches, 3);
        cr_assert_eq(info.first_offset, leo);
        cr_assert_eq(info.last_offset, leo + 7);
        cr_assert_eq(info.max_timestamp, bg_det_ts(leo + 7));
        struct pt_batch pb0 = { leo, leo + 2, s0, 50, 0 }, pb1 = { leo + 3, leo + 6, s1, 60, 0 },
                        pb2 = { leo + 7, leo + 7, b.len - s0 - s1, 70, 0 };
        pt_model_push(&m, &pb0);
        pt_model_push(&m, &pb1);
        pt_model_push(&m, &pb2);
        sl_buf_free(&b);
    }
    check_all(log, &m, 1 << 20);

    int64_t leo = plog_log_end_offset(log), size = plog_size_bytes(log);
    cr_assert_eq(plog_close(log), 0);
    log = open_log(SEG16K, &rep);
    cr_assert_eq(rep.clean, 1);
    cr_assert_eq(rep.scanned_bytes, 0);
    cr_assert_eq(rep.truncated_bytes, 0);
    cr_assert_eq(rep.segments, plog_segment_count(log));
    cr_assert_eq(plog_log_end_offset(log), leo);
    cr_assert_eq(plog_size_bytes(log), size);
    check_all(log, &m, 1 << 20);
    /* appends continue after a reopen */
    append_ok(log, &m, 5, 33, 0);
    check_all(log, &m, 7000);
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

/* Read at every offset with several max_bytes and max_offset bounds. */
Test(plog, read_at_every_offset)
{
    struct pt_model m = { 0 };
    struct plog *log = open_log(SEG16K, NULL);
    uint8_t *buf = malloc(1 << 20);
    size_t maxb[] = { 1, 100, 4000, 1 << 20 };

    fill(log, &m, 60 * 1024, 9, -300, 0);
    int64_t leo = plog_log_end_offset(log);
    /* max_offset at a few batch boundaries, and the LEO */
    int64_t bounds[4] = { m.b[m.n / 3].base, m.b[m.n / 2].base, m.b[m.n - 1].base, leo };

    for (int bi = 0; bi < 4; bi++) {
        int64_t mo = bounds[bi];
        for (int64_t o = 0; o <= leo; o++) {
            for (size_t k = 0; k < 4; k++) {
                struct plog_slice s;
                struct bg_walk w;
                int rc = plog_read(log, o, maxb[k], mo, &s);
                cr_assert_eq(rc, 0, "read %" PRId64 " max_offset %" PRId64 ": %d", o, mo, rc);
                if (o >= mo) {
                    cr_assert_eq(s.len, 0, "offset %" PRId64 " >= max_offset %" PRId64 " returns nothing",
                                 o, mo);
                    plog_slice_release(&s);
                    continue;
                }
                cr_assert_gt(s.len, 0, "offset %" PRId64 " < max_offset has data", o);
                cr_assert_not_null(s.seg);
                cr_assert_geq(s.fd, 0);
                cr_assert_eq(plog_slice_copy(&s, buf), 0);
                size_t len = s.len;
                plog_slice_release(&s);
                long bk = pt_model_find(&m, o);
                const struct pt_batch *want = &m.b[bk];
                cr_assert_eq(bg_walk(buf, len, 1, &w), 0, "offset %" PRId64 ": %s", o, w.msg);
                cr_assert_geq(w.nbatches, 1, "offset %" PRId64 ": first batch is whole (KIP-74)", o);
                cr_assert_eq(w.hdrs[0].base_offset, want->base,
                             "offset %" PRId64 ": slice starts at batch %" PRId64 ", want %" PRId64,
                             o, w.hdrs[0].base_offset, want->base);
                cr_assert_eq(rec_batch_size(&w.hdrs[0]), want->size);
                if (maxb[k] < want->size)
                    cr_assert_eq(len, want->size, "tiny max_bytes: exactly the first batch");
                else
                    cr_assert_leq(len, maxb[k]);
                if (w.tail_bytes)
                    cr_assert_eq(len, maxb[k], "a partial tail only where max_bytes cut it");
                for (size_t i = 0; i < w.nbatches; i++)
                    cr_assert_lt(rec_last_offset(&w.hdrs[i]), mo, "batch past max_offset %" PRId64, mo);
                if (w.has_tail_hdr)
                    cr_assert_lt(w.tail_hdr.base_offset, mo);
                for (size_t i = 0; i < w.nrecs; i++) {
                    long rb = pt_model_find(&m, w.recs[i].offset);
                    cr_assert_geq(rb, 0);
                    cr_assert(bg_det_check(&w.recs[i], m.b[rb].vlen, 1), "record %" PRId64,
                              w.recs[i].offset);
                }
                cr_assert(w.contiguous);
                bg_walk_free(&w);
            }
        }
    }
    struct plog_slice s;
    cr_assert_eq(plog_read(log, leo + 1, 1000, leo + 1, &s), SL_ERR_OFFSET_OUT_OF_RANGE);
    cr_assert_eq(plog_read(log, leo + 1000, 1000, INT64_MAX, &s), SL_ERR_OFFSET_OUT_OF_RANGE);
    cr_assert_eq(plog_read(log, -5, 1000, leo, &s), SL_ERR_OFFSET_OUT_OF_RANGE);
    free(buf);
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

/* max_bytes that cuts a batch: the slice ends at the last batch boundary
 * below it, never with a partial batch, and holds every whole batch that
 * fits (batches from 128 B up: the index interval is 4 KiB, and up to 16
 * headers past the last index entry are read). */
Test(plog, read_limit_ends_at_a_batch_boundary)
{
    struct pt_model m = { 0 };
    struct plog *log = open_log(1 << 20, NULL);
    uint8_t *buf = malloc(1 << 20);
    for (int i = 0; i < 12; i++)
        append_ok(log, &m, 1 + i % 3, i < 8 ? 5000 : 900, 0);   /* 5-15 KB, then ~1-3 KB */
    for (size_t start = 0; start < 10; start++) {
        for (size_t extra = 1; extra < 4000; extra += 997) {
            size_t two = m.b[start].size + m.b[start + 1].size, limit = two + extra;
            struct plog_slice s;
            struct bg_walk w;
            cr_assert_eq(plog_read(log, m.b[start].base, limit, INT64_MAX, &s), 0);
            cr_assert_eq(plog_slice_copy(&s, buf), 0);
            size_t len = s.len;
            plog_slice_release(&s);
            cr_assert_leq(len, limit);
            cr_assert_eq(bg_walk(buf, len, 1, &w), 0, "%s", w.msg);
            cr_assert_eq(w.tail_bytes, 0, "partial batch at the end (start %zu, limit %zu)",
                         start, limit);
            cr_assert_eq(w.hdrs[0].base_offset, m.b[start].base);
            size_t want = 0, sum = 0;       /* every whole batch that fits */
            while (start + want < m.n && sum + m.b[start + want].size <= limit)
                sum += m.b[start + want++].size;
            cr_assert_eq(w.nbatches, want, "start %zu limit %zu: %zu batches, want %zu", start,
                         limit, w.nbatches, want);
            cr_assert_eq(len, sum);
            bg_walk_free(&w);
        }
    }
    free(buf);
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

/* A batch bigger than max_bytes and than a segment: returned whole. */
Test(plog, kip74_large_batch)
{
    struct pt_model m = { 0 };
    struct plog *log = open_log(SEG16K, NULL);
    append_ok(log, &m, 2, 10, 0);
    append_ok(log, &m, 3, 20000, 0);   /* 60 KB batch in 16 KiB segments */
    append_ok(log, &m, 2, 10, 0);
    check_all(log, &m, 1);
    check_all(log, &m, 1000);
    struct plog_slice s;
    cr_assert_eq(plog_read(log, 3, 10, INT64_MAX, &s), 0);
    cr_assert_eq(s.len, m.b[1].size);
    plog_slice_release(&s);
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

Test(plog, high_watermark_bounds_consumer_reads)
{
    struct pt_model m = { 0 };
    struct plog *log = open_log(SEG16K, NULL);
    fill(log, &m, 30000, 5, 100, 0);
    int64_t hw = m.b[m.n / 2].base;
    plog_set_high_watermark(log, hw);
    cr_assert_eq(plog_high_watermark(log), hw);
    char err[256];
    cr_assert_eq(pt_read_check(log, 0, hw, 5000, &m, 0, err, sizeof(err)), hw, "%s", err);
    plog_set_high_watermark(log, -10);
    cr_assert_eq(plog_high_watermark(log), 0, "clamped to the log start");
    plog_set_high_watermark(log, INT64_MAX);
    cr_assert_eq(plog_high_watermark(log), plog_log_end_offset(log), "clamped to the LEO");
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

Test(plog, offset_for_time_exact)
{
    struct pt_model m = { 0 };
    struct plog *log = open_log(SEG16K, NULL);
    int64_t off, ts;

    fill(log, &m, 100 * 1024, 10, -150, 0);
    int64_t leo = plog_log_end_offset(log);
    for (int64_t q = BG_DET_TS0 - 25; q <= bg_det_ts(leo - 1) + 25; q += 3) {
        int64_t want = q <= BG_DET_TS0 ? 0 : (q - BG_DET_TS0 + BG_DET_TS_STEP - 1) / BG_DET_TS_STEP;
        cr_assert_eq(plog_offset_for_time(log, q, &off, &ts), 0);
        if (want >= leo) {
            cr_assert_eq(off, -1, "ts %" PRId64 " past the end", q);
        } else {
            cr_assert_eq(off, want, "ts %" PRId64 ": offset %" PRId64 ", want %" PRId64, q, off, want);
            cr_assert_eq(ts, bg_det_ts(want));
        }
    }
    cr_assert_eq(plog_offset_for_time(log, INT64_MAX, &off, &ts), 0);
    cr_assert_eq(off, -1);
    cr_assert_eq(plog_max_timestamp(log, &off, &ts), 0);
    cr_assert_eq(off, leo - 1);
    cr_assert_eq(ts, bg_det_ts(leo - 1));

    /* the same after a clean reopen */
    cr_assert_eq(plog_close(log), 0);
    log = open_log(SEG16K, NULL);
    cr_assert_eq(plog_max_timestamp(log, &off, &ts), 0);
    cr_assert_eq(off, leo - 1);
    cr_assert_eq(ts, bg_det_ts(leo - 1));
    for (int64_t o = 0; o < leo; o += 17) {
        cr_assert_eq(plog_offset_for_time(log, bg_det_ts(o), &off, &ts), 0);
        cr_assert_eq(off, o);
        cr_assert_eq(plog_offset_for_time(log, bg_det_ts(o) - 1, &off, &ts), 0);
        cr_assert_eq(off, o);
    }
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

/* Timestamps out of order: the first offset (in offset order) whose
 * timestamp is >= the target; max timestamp names the record holding it. */
Test(plog, offset_for_time_unordered)
{
    struct plog *log = open_log(SEG16K, NULL);
    struct sl_buf b = SL_BUF_INIT;
    struct bg_batch bb;
    struct bg_record r[3] = { { "a", 1, "1", 1, 0, NULL, 0 }, { "b", 1, "2", 1, 800, NULL, 0 },
                              { "c", 1, "3", 1, 100, NULL, 0 } };
    struct plog_append_info info;
    int64_t off, ts;

    bg_batch_init(&bb, 1000);                 /* offsets 0..2: 1000, 1800, 1100 */
    bg_append(&b, &bb, r, 3, NULL);
    r[0].ts_delta = 0; r[1].ts_delta = 200; r[2].ts_delta = 50;
    bg_batch_init(&bb, 1200);                 /* offsets 3..5: 1200, 1400, 1250 */
    bg_append(&b, &bb, r, 3, NULL);
    cr_assert_eq(plog_append(log, b.data, b.len, 0, PLOG_APPEND_ASSIGN_OFFSETS, 2000, &info), 0);
    cr_assert_eq(info.max_timestamp, 1800);
    struct { int64_t q, off, ts; } cases[] = {
        { 0, 0, 1000 }, { 1000, 0, 1000 }, { 1001, 1, 1800 }, { 1150, 1, 1800 },
        { 1800, 1, 1800 }, { 1801, -1, -1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_assert_eq(plog_offset_for_time(log, cases[i].q, &off, &ts), 0);
        cr_assert_eq(off, cases[i].off, "ts %" PRId64 ": %" PRId64, cases[i].q, off);
        if (cases[i].off >= 0)
            cr_assert_eq(ts, cases[i].ts);
    }
    cr_assert_eq(plog_max_timestamp(log, &off, &ts), 0);
    cr_assert_eq(ts, 1800);
    cr_assert_eq(off, 1, "the record with the largest timestamp is offset 1, got %" PRId64, off);
    sl_buf_free(&b);
    cr_assert_eq(plog_close(log), 0);
}

Test(plog, retention_by_size)
{
    struct pt_model m = { 0 };
    struct plog_config cfg;
    struct plog *log = open_log(SEG16K, NULL);
    int deleted = -1;
    int64_t bases[256];

    fill(log, &m, 200 * 1024, 8, 200, 0);
    int before = plog_segment_count(log);
    pt_config(&cfg, SEG16K);
    cfg.retention_bytes = 50 * 1024;
    plog_set_config(log, &cfg);

    plog_set_high_watermark(log, 0);
    cr_assert_eq(plog_enforce_retention(log, bg_det_ts(plog_log_end_offset(log)), &deleted), 0);
    cr_assert_eq(deleted, 0, "nothing at or above the HW (0) is deleted");
    cr_assert_eq(plog_log_start_offset(log), 0);

    set_hw_leo(log);
    cr_assert_eq(plog_enforce_retention(log, bg_det_ts(plog_log_end_offset(log)), &deleted), 0);
    cr_assert_gt(deleted, 0);
    cr_assert_eq(plog_segment_count(log), before - deleted);
    int64_t size = plog_size_bytes(log);
    cr_assert_geq(size, cfg.retention_bytes, "deleted too much: %" PRId64, size);
    cr_assert_lt(size, cfg.retention_bytes + SEG16K + 4096, "kept too much: %" PRId64, size);
    int n = pt_list_segments(tmpdir_path, bases, 256);
    cr_assert_eq(n, plog_segment_count(log));
    cr_assert_eq(plog_log_start_offset(log), bases[0]);
    struct plog_slice s;
    cr_assert_eq(plog_read(log, bases[0] - 1, 1000, INT64_MAX, &s), SL_ERR_OFFSET_OUT_OF_RANGE);
    check_all(log, &m, 8000);
    /* a second pass finds nothing more */
    cr_assert_eq(plog_enforce_retention(log, bg_det_ts(plog_log_end_offset(log)), &deleted), 0);
    cr_assert_eq(deleted, 0);
    /* the start survives a reopen */
    int64_t start = plog_log_start_offset(log);
    cr_assert_eq(plog_close(log), 0);
    log = open_log(SEG16K, NULL);
    cr_assert_eq(plog_log_start_offset(log), start);
    check_all(log, &m, 8000);
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

Test(plog, retention_by_time)
{
    struct pt_model m = { 0 };
    struct plog_config cfg;
    struct plog *log = open_log(SEG16K, NULL);
    int deleted = -1;
    int64_t bases[256];

    fill(log, &m, 150 * 1024, 8, 200, 0);
    int nb = pt_list_segments(tmpdir_path, bases, 256);
    cr_assert_geq(nb, 6);
    set_hw_leo(log);
    pt_config(&cfg, SEG16K);
    cfg.retention_ms = 1000;
    plog_set_config(log, &cfg);

    /* now - retention falls inside segment 3: segments 0..2 have every
     * timestamp older than that and go; segment 3 holds newer ones. */
    int64_t cut = bases[3] + 2;
    int64_t now = bg_det_ts(cut) + cfg.retention_ms;
    cr_assert_eq(plog_enforce_retention(log, now, &deleted), 0);
    cr_assert_eq(deleted, 3);
    cr_assert_eq(plog_log_start_offset(log), bases[3]);
    check_all(log, &m, 1 << 20);
    int64_t left[256];
    cr_assert_eq(pt_list_segments(tmpdir_path, left, 256), nb - 3);
    cr_assert_eq(left[0], bases[3]);

    /* far in the future everything has expired: the active segment is
     * rolled and, by the next pass at the latest, deleted */
    int64_t leo = plog_log_end_offset(log);
    now = bg_det_ts(leo) + 100 * cfg.retention_ms;
    cr_assert_eq(plog_enforce_retention(log, now, &deleted), 0);
    cr_assert_eq(plog_enforce_retention(log, now, NULL), 0);
    cr_assert_eq(plog_log_end_offset(log), leo);
    cr_assert_eq(plog_log_start_offset(log), leo);
    cr_assert_eq(plog_size_bytes(log), 0);
    struct plog_slice s;
    cr_assert_eq(plog_read(log, leo, 1000, INT64_MAX, &s), 0);
    cr_assert_eq(s.len, 0);
    cr_assert_eq(plog_read(log, leo - 1, 1000, INT64_MAX, &s), SL_ERR_OFFSET_OUT_OF_RANGE);
    append_ok(log, &m, 3, 10, 0);
    check_all(log, &m, 1000);
    cr_assert_eq(plog_close(log), 0);
    log = open_log(SEG16K, NULL);
    cr_assert_eq(plog_log_start_offset(log), leo);
    cr_assert_eq(plog_log_end_offset(log), leo + 3);
    check_all(log, &m, 1000);
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

static void
expect_epoch(struct plog *log, int32_t ask, int32_t ep, int64_t end)
{
    int32_t e = -9;
    int64_t o = -9;
    cr_assert_eq(plog_epoch_end_offset(log, ask, &e, &o), 0);
    cr_assert_eq(e, ep, "epoch_end_offset(%d): epoch %d, want %d", ask, e, ep);
    cr_assert_eq(o, end, "epoch_end_offset(%d): offset %" PRId64 ", want %" PRId64, ask, o, end);
}

static void
expect_latest(struct plog *log, int32_t ep, int64_t start)
{
    int32_t e = -9;
    int64_t o = -9;
    cr_assert_eq(plog_latest_epoch(log, &e, &o), 0);
    cr_assert_eq(e, ep, "latest epoch %d, want %d", e, ep);
    cr_assert_eq(o, start, "latest epoch start %" PRId64 ", want %" PRId64, o, start);
}

Test(plog, truncate_to)
{
    struct pt_model m = { 0 };
    struct plog *log = open_log(SEG16K, NULL);
    int64_t bases[256];

    for (int i = 0; i < 20; i++)                /* batches of 5: [0..4] .. [95..99] */
        append_ok(log, &m, 5, 500, i < 10 ? 1 : 3);
    cr_assert_geq(plog_segment_count(log), 4);
    expect_latest(log, 3, 50);
    set_hw_leo(log);

    /* mid-batch: the straddling batch [75..79] goes too */
    cr_assert_eq(plog_truncate_to(log, 77), 0);
    cr_assert_eq(plog_log_end_offset(log), 75);
    cr_assert_leq(plog_high_watermark(log), 75);
    pt_model_truncate(&m, 77);
    check_all(log, &m, 1 << 20);
    expect_latest(log, 3, 50);

    /* across segments and epochs */
    cr_assert_eq(plog_truncate_to(log, 37), 0);
    cr_assert_eq(plog_log_end_offset(log), 35);
    pt_model_truncate(&m, 37);
    check_all(log, &m, 1 << 20);
    expect_latest(log, 1, 0);
    expect_epoch(log, 1, 1, 35);
    int n = pt_list_segments(tmpdir_path, bases, 256);
    cr_assert_eq(n, plog_segment_count(log));
    cr_assert_leq(bases[n - 1], 35);
    int64_t total = 0;
    for (size_t i = 0; i < m.n; i++)
        total += (int64_t)m.b[i].size;
    cr_assert_eq(plog_size_bytes(log), total);
    int64_t off, ts;
    cr_assert_eq(plog_max_timestamp(log, &off, &ts), 0);
    cr_assert_eq(ts, bg_det_ts(34));
    cr_assert_eq(plog_offset_for_time(log, bg_det_ts(35), &off, &ts), 0);
    cr_assert_eq(off, -1, "truncated records are not found by time");

    /* beyond the LEO: nothing happens */
    cr_assert_eq(plog_truncate_to(log, 1000), 0);
    cr_assert_eq(plog_log_end_offset(log), 35);

    /* append continues at the new LEO, new epoch */
    append_ok(log, &m, 4, 30, 4);
    cr_assert_eq(m.b[m.n - 1].base, 35);
    expect_latest(log, 4, 35);
    expect_epoch(log, 1, 1, 35);
    expect_epoch(log, 3, 1, 35);
    expect_epoch(log, 4, 4, 39);
    check_all(log, &m, 1 << 20);

    /* survives a reopen, clean and not */
    cr_assert_eq(plog_close(log), 0);
    log = open_log(SEG16K, NULL);
    cr_assert_eq(plog_log_end_offset(log), 39);
    expect_latest(log, 4, 35);
    check_all(log, &m, 1 << 20);
    plog_abandon(log);
    log = open_log(SEG16K, NULL);
    cr_assert_eq(plog_log_end_offset(log), 39);
    expect_latest(log, 4, 35);
    expect_epoch(log, 3, 1, 35);
    check_all(log, &m, 1 << 20);

    /* to a segment base, then to zero */
    n = pt_list_segments(tmpdir_path, bases, 256);
    if (n > 1) {
        cr_assert_eq(plog_truncate_to(log, bases[1]), 0);
        cr_assert_eq(plog_log_end_offset(log), bases[1]);
        cr_assert_eq(plog_segment_count(log), pt_list_segments(tmpdir_path, bases, 256));
    }
    cr_assert_eq(plog_truncate_to(log, 0), 0);
    cr_assert_eq(plog_log_end_offset(log), 0);
    cr_assert_eq(plog_size_bytes(log), 0);
    expect_latest(log, -1, -1);
    pt_model_truncate(&m, 0);
    append_ok(log, &m, 2, 5, 7);
    expect_latest(log, 7, 0);
    check_all(log, &m, 100);
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

Test(plog, delete_records)
{
    struct pt_model m = { 0 };
    struct plog *log = open_log(SEG16K, NULL);
    int64_t bases[256];
    struct plog_slice s;

    fill(log, &m, 100 * 1024, 6, 300, 0);
    int nb = pt_list_segments(tmpdir_path, bases, 256);
    cr_assert_geq(nb, 4);
    int64_t leo = plog_log_end_offset(log);
    plog_set_high_watermark(log, bases[2] + 1);
    cr_assert_neq(plog_delete_records(log, bases[2] + 2), 0, "beyond the HW is refused");
    cr_assert_eq(plog_log_start_offset(log), 0);

    set_hw_leo(log);
    int64_t target = bases[2] + 1;          /* just inside segment 2 */
    cr_assert_eq(plog_delete_records(log, target), 0);
    cr_assert_eq(plog_log_start_offset(log), target);
    cr_assert_eq(plog_segment_count(log), nb - 2, "segments wholly below the start are deleted");
    cr_assert_eq(pt_list_segments(tmpdir_path, bases, 256), nb - 2);
    cr_assert_eq(plog_read(log, target - 1, 1000, INT64_MAX, &s), SL_ERR_OFFSET_OUT_OF_RANGE);
    cr_assert_eq(plog_read(log, target, 1000, INT64_MAX, &s), 0);
    cr_assert_gt(s.len, 0);
    plog_slice_release(&s);
    check_all(log, &m, 5000);
    /* going backwards does not move the start */
    plog_delete_records(log, target - 1);
    cr_assert_eq(plog_log_start_offset(log), target);

    /* persisted before return: survives a crash right after */
    plog_abandon(log);
    log = open_log(SEG16K, NULL);
    cr_assert_eq(plog_log_start_offset(log), target);
    cr_assert_eq(plog_log_end_offset(log), leo);
    check_all(log, &m, 5000);
    /* and a clean stop */
    cr_assert_eq(plog_delete_records(log, target + 3), 0);
    cr_assert_eq(plog_close(log), 0);
    log = open_log(SEG16K, NULL);
    cr_assert_eq(plog_log_start_offset(log), target + 3);
    check_all(log, &m, 5000);
    /* up to the LEO: empty but offsets kept */
    set_hw_leo(log);
    cr_assert_eq(plog_delete_records(log, leo), 0);
    cr_assert_eq(plog_log_start_offset(log), leo);
    cr_assert_eq(plog_log_end_offset(log), leo);
    append_ok(log, &m, 2, 10, 0);
    check_all(log, &m, 5000);
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

Test(plog, checkpoints_survive_reopen)
{
    struct pt_model m = { 0 };
    struct plog_open_report rep;
    struct plog *log = open_log(SEG16K, NULL);
    char path[TMPDIR_PATH_MAX + 64];

    fill(log, &m, 50 * 1024, 5, 100, 2);
    int64_t leo = plog_log_end_offset(log);
    cr_assert_eq(plog_flush(log, INT64_MAX), 0);
    cr_assert_eq(plog_recovery_point(log), leo);
    plog_set_high_watermark(log, leo - 7);
    cr_assert_eq(plog_delete_records(log, 10), 0);
    cr_assert_eq(plog_checkpoint(log), 0);
    cr_assert_geq(tmpdir_file_size(tmpdir_join(path, sizeof(path), tmpdir_path, "sluice.checkpoint")), 1);
    cr_assert_eq(plog_close(log), 0);

    log = open_log(SEG16K, &rep);
    cr_assert_eq(rep.clean, 1);
    cr_assert_eq(rep.scanned_bytes, 0);
    cr_assert_eq(plog_high_watermark(log), leo - 7);
    cr_assert_eq(plog_log_start_offset(log), 10);
    cr_assert_eq(plog_log_end_offset(log), leo);
    cr_assert_eq(plog_recovery_point(log), leo);
    check_all(log, &m, 1 << 20);

    /* a crash after a checkpoint keeps HW and start from it */
    append_ok(log, &m, 3, 100, 2);
    plog_set_high_watermark(log, leo);
    cr_assert_eq(plog_checkpoint(log), 0);
    plog_abandon(log);
    log = open_log(SEG16K, &rep);
    cr_assert_eq(rep.clean, 0);
    cr_assert_eq(plog_log_start_offset(log), 10);
    cr_assert_eq(plog_high_watermark(log), leo);
    cr_assert_eq(plog_log_end_offset(log), leo + 3);
    check_all(log, &m, 1 << 20);
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

Test(plog, leader_epoch_cache)
{
    struct pt_model m = { 0 };
    struct plog *log = open_log(SEG16K, NULL);
    char path[TMPDIR_PATH_MAX + 64];

    expect_latest(log, -1, -1);
    append_ok(log, &m, 10, 50, 1);
    append_ok(log, &m, 10, 50, 1);
    append_ok(log, &m, 10, 50, 3);
    expect_latest(log, 3, 20);
    expect_epoch(log, 1, 1, 20);
    expect_epoch(log, 2, 1, 20);
    expect_epoch(log, 3, 3, 30);
    check_all(log, &m, 1 << 20);   /* records carry their batch's epoch */
    cr_assert_eq(plog_close(log), 0);

    /* Kafka's leader-epoch-checkpoint: version, count, "epoch offset" lines */
    FILE *f = fopen(tmpdir_join(path, sizeof(path), tmpdir_path, "leader-epoch-checkpoint"), "r");
    cr_assert_not_null(f);
    char text[256] = { 0 };
    size_t got = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    cr_assert_gt(got, 0);
    cr_assert_str_eq(text, "0\n2\n1 0\n3 20\n");

    log = open_log(SEG16K, NULL);
    expect_latest(log, 3, 20);
    expect_epoch(log, 1, 1, 20);
    expect_epoch(log, 3, 3, 30);
    append_ok(log, &m, 5, 50, 3);
    expect_epoch(log, 3, 3, 35);
    plog_abandon(log);
    log = open_log(SEG16K, NULL);
    expect_latest(log, 3, 20);
    expect_epoch(log, 2, 1, 20);
    expect_epoch(log, 3, 3, 35);
    append_ok(log, &m, 1, 50, 5);
    expect_latest(log, 5, 35);
    expect_epoch(log, 4, 3, 35);
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

Test(plog, follower_append_requires_leo)
{
    struct pt_model m = { 0 };
    struct plog *log = open_log(SEG16K, NULL);
    struct sl_buf b = SL_BUF_INIT;
    struct plog_append_info info;

    append_ok(log, &m, 4, 20, 2);
    int64_t leo = plog_log_end_offset(log);
    int64_t wrong[] = { leo - 1, 0 };
    for (size_t i = 0; i < 2; i++) {
        sl_buf_reset(&b);
        bg_append_det(&b, wrong[i], 3, 20);
        rec_set_leader_epoch(b.data, 2);
        cr_assert_neq(plog_append(log, b.data, b.len, 2, 0, bg_det_ts(leo), &info), 0,
                      "follower batch at %" PRId64 " with LEO %" PRId64, wrong[i], leo);
        cr_assert_eq(plog_log_end_offset(log), leo);
    }
    check_all(log, &m, 1 << 20);
    /* two batches, keeping their offsets and epochs */
    sl_buf_reset(&b);
    bg_append_det(&b, leo, 3, 20);
    rec_set_leader_epoch(b.data, 2);
    size_t s0 = b.len;
    bg_append_det(&b, leo + 3, 2, 20);
    rec_set_leader_epoch(b.data + s0, 6);
    cr_assert_eq(plog_append(log, b.data, b.len, 6, 0, bg_det_ts(leo), &info), 0);
    cr_assert_eq(info.first_offset, leo);
    cr_assert_eq(info.last_offset, leo + 4);
    cr_assert_eq(info.batches, 2);
    struct pt_batch p0 = { leo, leo + 2, s0, 20, 2 }, p1 = { leo + 3, leo + 4, b.len - s0, 20, 6 };
    pt_model_push(&m, &p0);
    pt_model_push(&m, &p1);
    cr_assert_eq(plog_log_end_offset(log), leo + 5);
    check_all(log, &m, 1 << 20);
    expect_latest(log, 6, leo + 3);
    expect_epoch(log, 2, 2, leo + 3);
    sl_buf_free(&b);
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

/* plog.h: a follower's batches "must start at the log end offset", so a
 * gap (base > LEO) is refused too. (Kafka's appendAsFollower only refuses
 * base < LEO; if plog.h is relaxed to match, drop this test.) */
Test(plog, follower_append_gap_refused)
{
    struct pt_model m = { 0 };
    struct plog *log = open_log(SEG16K, NULL);
    struct sl_buf b = SL_BUF_INIT;
    struct plog_append_info info;

    append_ok(log, &m, 4, 20, 2);
    int64_t leo = plog_log_end_offset(log);
    bg_append_det(&b, leo + 5, 3, 20);
    cr_assert_neq(plog_append(log, b.data, b.len, 2, 0, bg_det_ts(leo), &info), 0,
                  "follower batch at %" PRId64 " with LEO %" PRId64, leo + 5, leo);
    cr_assert_eq(plog_log_end_offset(log), leo);
    sl_buf_free(&b);
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

/* Kafka file names; indexes trimmed to whole entries once not active. */
Test(plog, index_files_named_and_trimmed)
{
    struct pt_model m = { 0 };
    struct plog *log = open_log(64 * 1024, NULL);
    int64_t bases[256];
    char path[TMPDIR_PATH_MAX + 64], name[64];

    fill(log, &m, 300 * 1024, 6, 400, 0);
    int n = pt_list_segments(tmpdir_path, bases, 256);
    cr_assert_geq(n, 4);
    cr_assert_eq(plog_close(log), 0);
    for (int i = 0; i < n; i++) {
        long long lsz, isz, tsz;
        snprintf(name, sizeof(name), "%020" PRId64 ".log", bases[i]);
        lsz = tmpdir_file_size(tmpdir_join(path, sizeof(path), tmpdir_path, name));
        snprintf(name, sizeof(name), "%020" PRId64 ".index", bases[i]);
        isz = tmpdir_file_size(tmpdir_join(path, sizeof(path), tmpdir_path, name));
        cr_assert_geq(isz, 0, "%s exists", name);
        cr_assert_eq(isz % 8, 0, "%s: %lld bytes", name, isz);
        cr_assert_leq(isz, (lsz / 4096 + 1) * 8, "%s trimmed: %lld bytes for a %lld-byte log", name,
                      isz, lsz);
        if (lsz > 3 * 4096)
            cr_assert_gt(isz, 0, "%s has entries (log %lld bytes)", name, lsz);
        snprintf(name, sizeof(name), "%020" PRId64 ".timeindex", bases[i]);
        tsz = tmpdir_file_size(tmpdir_join(path, sizeof(path), tmpdir_path, name));
        cr_assert_geq(tsz, 0, "%s exists", name);
        cr_assert_eq(tsz % 12, 0, "%s: %lld bytes", name, tsz);
        cr_assert_leq(tsz, (lsz / 4096 + 2) * 12, "%s trimmed: %lld bytes", name, tsz);

        /* offset index entries: increasing, each pointing at a batch start
         * holding the offset it names */
        uint8_t *idx = malloc((size_t)isz + 1), *lg = malloc((size_t)lsz + 1);
        snprintf(name, sizeof(name), "%020" PRId64 ".index", bases[i]);
        FILE *f = fopen(tmpdir_join(path, sizeof(path), tmpdir_path, name), "rb");
        cr_assert_eq(fread(idx, 1, (size_t)isz, f), (size_t)isz);
        fclose(f);
        snprintf(name, sizeof(name), "%020" PRId64 ".log", bases[i]);
        f = fopen(tmpdir_join(path, sizeof(path), tmpdir_path, name), "rb");
        cr_assert_eq(fread(lg, 1, (size_t)lsz, f), (size_t)lsz);
        fclose(f);
        uint32_t prev_rel = 0, prev_pos = 0;
        for (long long e = 0; e < isz / 8; e++) {
            uint32_t rel = rec_get_u32(idx + e * 8), pos = rec_get_u32(idx + e * 8 + 4);
            struct rec_batch_hdr h;
            if (e > 0) {
                cr_assert_gt(rel, prev_rel);
                cr_assert_gt(pos, prev_pos);
            }
            cr_assert_lt((long long)pos, lsz);
            cr_assert_eq(rec_parse_hdr(lg + pos, (size_t)(lsz - pos), 1 << 24, &h), 0,
                         "index entry %lld points at a batch", e);
            cr_assert(h.base_offset <= bases[i] + rel && bases[i] + rel <= rec_last_offset(&h),
                      "entry %lld: offset %" PRId64 " not in batch at %u", e, bases[i] + rel, pos);
            prev_rel = rel;
            prev_pos = pos;
        }
        free(idx);
        free(lg);
    }
    /* reopen after the trim: all still readable, and appends still index */
    log = open_log(64 * 1024, NULL);
    check_all(log, &m, 1 << 20);
    fill(log, &m, 400 * 1024, 6, 400, 0);
    check_all(log, &m, 1 << 20);
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

Test(plog, log_append_time)
{
    struct plog *log = open_log(SEG16K, NULL);
    struct sl_buf b = SL_BUF_INIT;
    struct plog_append_info info;
    struct plog_slice s;
    struct bg_walk w;
    const int64_t lat = 1900000000000LL;
    int64_t off, ts;

    bg_append_det(&b, 0, 4, 30);
    cr_assert_eq(plog_append(log, b.data, b.len, 1, PLOG_APPEND_ASSIGN_OFFSETS, bg_det_ts(0), &info), 0);
    sl_buf_reset(&b);
    bg_append_det(&b, 4, 3, 30);
    cr_assert_eq(plog_append(log, b.data, b.len, 1,
                             PLOG_APPEND_ASSIGN_OFFSETS | PLOG_APPEND_LOG_APPEND_TIME, lat, &info), 0);
    cr_assert_eq(info.first_offset, 4);
    cr_assert_eq(info.last_offset, 6);
    cr_assert_eq(info.log_append_time, lat);
    cr_assert_eq(info.max_timestamp, lat);

    uint8_t *buf = malloc(1 << 16);
    cr_assert_eq(plog_read(log, 4, 1 << 16, INT64_MAX, &s), 0);
    cr_assert_eq(plog_slice_copy(&s, buf), 0);
    size_t len = s.len;
    plog_slice_release(&s);
    cr_assert_eq(bg_walk(buf, len, 0, &w), 0, "%s", w.msg);
    cr_assert_eq(w.nbatches, 1);
    cr_assert(w.hdrs[0].attributes & REC_ATTR_LOG_APPEND_TIME);
    cr_assert_eq(w.hdrs[0].max_timestamp, lat);
    cr_assert_eq(w.hdrs[0].base_timestamp, bg_det_ts(4), "base timestamp as the producer sent it");
    cr_assert(rec_crc_ok(buf, len), "CRC recomputed");
    for (size_t i = 0; i < w.nrecs; i++)
        cr_assert(bg_det_check(&w.recs[i], 30, 0));
    bg_walk_free(&w);
    /* the first batch untouched */
    cr_assert_eq(plog_read(log, 0, 1, INT64_MAX, &s), 0);
    cr_assert_eq(plog_slice_copy(&s, buf), 0);
    len = s.len;
    plog_slice_release(&s);
    cr_assert_eq(bg_walk(buf, len, 0, &w), 0, "%s", w.msg);
    cr_assert_eq(w.hdrs[0].attributes & REC_ATTR_LOG_APPEND_TIME, 0);
    bg_walk_free(&w);

    cr_assert_eq(plog_max_timestamp(log, &off, &ts), 0);
    cr_assert_eq(ts, lat);
    cr_assert(off >= 4 && off <= 6);
    cr_assert_eq(plog_offset_for_time(log, lat, &off, &ts), 0);
    cr_assert_eq(off, 4);
    cr_assert_eq(ts, lat);
    cr_assert_eq(plog_offset_for_time(log, bg_det_ts(2), &off, &ts), 0);
    cr_assert_eq(off, 2);
    free(buf);
    sl_buf_free(&b);
    cr_assert_eq(plog_close(log), 0);
}

Test(plog, flush_advances_recovery_point)
{
    struct pt_model m = { 0 };
    struct plog_config cfg;
    struct plog *log = open_log(SEG16K, NULL);

    fill(log, &m, 40 * 1024, 5, 100, 0);
    int64_t leo = plog_log_end_offset(log);
    cr_assert_leq(plog_recovery_point(log), leo);
    cr_assert_eq(plog_flush(log, INT64_MAX), 0);
    cr_assert_eq(plog_recovery_point(log), leo);
    /* flush.messages = 1: maybe_flush syncs everything */
    pt_config(&cfg, SEG16K);
    cfg.flush_messages = 1;
    plog_set_config(log, &cfg);
    append_ok(log, &m, 3, 10, 0);
    cr_assert_eq(plog_maybe_flush(log, bg_det_ts(leo + 3)), 0);
    cr_assert_eq(plog_recovery_point(log), leo + 3);
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

/* segment.ms: a segment whose first batch is older than segment_ms rolls. */
Test(plog, roll_by_time)
{
    struct pt_model m = { 0 };
    struct plog_config cfg;
    struct plog *log;
    struct sl_buf b = SL_BUF_INIT;
    struct plog_append_info info;

    pt_config(&cfg, 1 << 30);
    cfg.segment_ms = 60000;
    cr_assert_eq(plog_open(&log, tmpdir_path, &cfg, NULL), 0);
    append_ok(log, &m, 2, 10, 0);
    append_ok(log, &m, 2, 10, 0);
    cr_assert_eq(plog_segment_count(log), 1);
    int64_t leo = plog_log_end_offset(log);
    bg_append_det(&b, leo, 1, 10);
    cr_assert_eq(plog_append(log, b.data, b.len, 0, PLOG_APPEND_ASSIGN_OFFSETS,
                             bg_det_ts(leo) + 10 * 60000, &info), 0);
    struct pt_batch pb = { leo, leo, b.len, 10, 0 };
    pt_model_push(&m, &pb);
    cr_assert_eq(plog_segment_count(log), 2, "rolled after segment.ms");
    int64_t bases[8];
    cr_assert_eq(pt_list_segments(tmpdir_path, bases, 8), 2);
    cr_assert_eq(bases[1], leo);
    check_all(log, &m, 1 << 20);
    sl_buf_free(&b);
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}

Test(plog, destroy_dir)
{
    struct pt_model m = { 0 };
    char sub[TMPDIR_PATH_MAX + 32];
    struct plog_config cfg;
    struct plog *log;
    snprintf(sub, sizeof(sub), "%s/topic-0", tmpdir_path);
    pt_config(&cfg, SEG16K);
    cr_assert_eq(plog_open(&log, sub, &cfg, NULL), 0, "creates a missing directory");
    fill(log, &m, 40 * 1024, 5, 100, 0);
    cr_assert_eq(plog_close(log), 0);
    cr_assert_eq(plog_destroy_dir(sub), 0);
    cr_assert_eq(tmpdir_file_size(sub), -1);
    pt_model_free(&m);
}

/* Readers race an appender that rolls segments; every slice must hold
 * whole, valid batches with the right content. */
struct race {
    struct plog *log;
    volatile int stop;
    char err[256];
    long reads;
};

static void *
race_reader(void *arg)
{
    struct race *r = arg;
    uint64_t x = 12345;
    while (!r->stop) {
        int64_t leo = plog_log_end_offset(r->log);
        if (leo == 0)
            continue;
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int64_t from = (int64_t)((x >> 33) % (uint64_t)leo);
        int64_t upto = leo;   /* max_offset must sit on a batch boundary: a LEO does */
        long n = pt_read_check(r->log, from, upto, 3000, NULL, -200, r->err, sizeof(r->err));
        if (n != upto - from) {
            r->stop = 2;
            break;
        }
        r->reads++;
    }
    return NULL;
}

Test(plog, concurrent_readers_during_appends_and_rolls)
{
    struct plog *log = open_log(SEG16K, NULL);
    struct race r = { .log = log };
    pthread_t th;

    cr_assert_eq(pthread_create(&th, NULL, race_reader, &r), 0);
    for (int i = 0; i < 1500 && r.stop == 0; i++)
        cr_assert_eq(pt_append_det(log, NULL, 1 + i % 7, -200, 0, NULL), 0);
    int64_t deadline = pt_now_ms() + 20000;
    while (r.reads < 50 && r.stop == 0 && pt_now_ms() < deadline)
        sched_yield();
    if (r.stop == 0)
        r.stop = 1;
    pthread_join(th, NULL);
    cr_assert_neq(r.stop, 2, "reader: %s", r.err);
    cr_assert_gt(r.reads, 0);
    cr_assert_eq(plog_close(log), 0);
}

/* Rolled segments open their files on demand, and no more than the cap stay
 * open: reading every offset of a 40-segment log with a cap of 4 works and
 * leaves at most 4 descriptors of rolled segments open. */
Test(plog, rolled_segment_descriptors_are_capped)
{
    struct pt_model m = { 0 };
    struct plog *log = open_log(SEG16K, NULL);

    for (int i = 0; i < 400; i++)
        append_ok(log, &m, 3, 300, 1);
    cr_assert_geq(plog_segment_count(log), 20, "%d segments", plog_segment_count(log));
    plog_set_max_open_files(4);
    int64_t leo = plog_log_end_offset(log);
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t o = 0; o < leo; o += 5) {
            struct plog_slice s;
            cr_assert_eq(plog_read(log, o, 1, leo, &s), 0, "offset %" PRId64, o);
            cr_assert_gt(s.len, 0);
            uint8_t *buf = malloc(s.len);
            cr_assert_eq(plog_slice_copy(&s, buf), 0);
            struct rec_batch_hdr h;
            cr_assert_eq(rec_parse_hdr(buf, s.len, s.len, &h), 0);
            cr_assert(h.base_offset <= o && o <= rec_last_offset(&h));
            free(buf);
            plog_slice_release(&s);
            cr_assert_leq(seg_open_count(), 4, "%d rolled segment files open", seg_open_count());
        }
    }
    plog_set_max_open_files(1024);
    cr_assert_eq(plog_close(log), 0);
    pt_model_free(&m);
}
