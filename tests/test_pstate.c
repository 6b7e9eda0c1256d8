/* tests/test_pstate.c -- storage/pstate.c, the idempotent producer state
 * machine, alone and through the partition log:
 *
 *   - batches in sequence are accepted; retries of each of the last 5
 *     batches are duplicates answered with their original offsets; a retry
 *     of the 6th-oldest is out of order; gaps and overlaps are out of order
 *   - an older epoch is INVALID_PRODUCER_EPOCH; a newer epoch must start at
 *     sequence 0 and forgets the old epoch's batches
 *   - sequences wrap from INT32_MAX to 0 (also inside one batch)
 *   - an unknown producer is accepted at any sequence (KIP-360)
 *   - expiry forgets exactly the producers last seen before the cutoff
 *   - snapshots round-trip; corrupt, truncated, foreign snapshots are refused
 *   - through plog: duplicates are still detected after a clean close and
 *     reopen, after a crash (plog_abandon) and reopen -- with and without
 *     segment rolls (snapshot + replay), with a corrupt newest snapshot --
 *     and after plog_truncate_to (the state is rebuilt without the removed
 *     batches, snapshots past the new end are dropped)
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "storage/buf.h"
#include "storage/err.h"
#include "storage/log.h"
#include "storage/plog.h"
#include "storage/pstate.h"
#include "storage/record.h"
#include "tests/support/batchgen.h"
#include "tests/support/plogtest.h"
#include "tests/support/tmpdir.h"

static void
suite_init(void)
{
    if (!getenv("SLUICE_TEST_LOG"))
        sl_log_set_level(SL_LOG_ERROR);
    tmpdir_setup();
}

TestSuite(pstate, .init = suite_init, .fini = tmpdir_teardown, .timeout = 60);

#define PID 4242
#define TS0 1700000000000LL

/* ---- the state machine alone ------------------------------------------- */

/* A batch header as pstate sees it: n records from sequence seq at offset. */
static struct rec_batch_hdr
hdr(int64_t pid, int16_t epoch, int32_t seq, int32_t n, int64_t offset, int64_t ts)
{
    struct rec_batch_hdr h;
    memset(&h, 0, sizeof(h));
    h.base_offset = offset;
    h.magic = 2;
    h.last_offset_delta = n - 1;
    h.record_count = n;
    h.base_timestamp = ts;
    h.max_timestamp = ts;
    h.producer_id = pid;
    h.producer_epoch = epoch;
    h.base_sequence = seq;
    return h;
}

static int
check(const struct pstate *ps, const struct rec_batch_hdr *h, int64_t *f, int64_t *l)
{
    int64_t df = -7, dl = -7;
    int rc = pstate_check(ps, h, &df, &dl);
    if (f)
        *f = df;
    if (l)
        *l = dl;
    return rc;
}

/* Check (must accept) and record. */
static void
accept(struct pstate *ps, const struct rec_batch_hdr *h)
{
    int rc = check(ps, h, NULL, NULL);
    cr_assert_eq(rc, 0, "pid %" PRId64 " epoch %d seq %d: check %d (%s), expected accept",
                 h->producer_id, h->producer_epoch, h->base_sequence, rc, sl_strerror(rc));
    cr_assert_eq(pstate_update(ps, h), 0);
}

static void
expect_dup(const struct pstate *ps, const struct rec_batch_hdr *h, int64_t first, int64_t last)
{
    int64_t f, l;
    int rc = check(ps, h, &f, &l);
    cr_assert_eq(rc, SL_ERR_DUPLICATE_SEQUENCE_NUMBER,
                 "seq %d: %d (%s), expected DUPLICATE_SEQUENCE_NUMBER", h->base_sequence, rc,
                 sl_strerror(rc));
    cr_assert_eq(f, first, "dup first offset %" PRId64 ", expected %" PRId64, f, first);
    cr_assert_eq(l, last, "dup last offset %" PRId64 ", expected %" PRId64, l, last);
}

static void
expect_rc(const struct pstate *ps, const struct rec_batch_hdr *h, int want)
{
    int rc = check(ps, h, NULL, NULL);
    cr_assert_eq(rc, want, "epoch %d seq %d: %d (%s), expected %d (%s)", h->producer_epoch,
                 h->base_sequence, rc, sl_strerror(rc), want, sl_strerror(want));
}

static const struct pstate_entry *
entry_of(const struct pstate *ps, int64_t pid)
{
    for (size_t i = 0; i < ps->cap; i++)
        if (ps->slots[i].pid == pid)
            return &ps->slots[i];
    return NULL;
}

Test(pstate, in_sequence_batches_are_accepted)
{
    struct pstate ps;
    pstate_init(&ps);
    int64_t off = 0;
    for (int32_t i = 0; i < 20; i++) {
        int32_t n = 1 + i % 4;
        struct rec_batch_hdr h = hdr(PID, 0, (int32_t)off, n, off + 100, TS0 + i);
        accept(&ps, &h);
        off += n;
    }
    const struct pstate_entry *e = entry_of(&ps, PID);
    cr_assert_not_null(e);
    cr_assert_eq(ps.n, 1);
    cr_assert_eq(e->epoch, 0);
    cr_assert_eq(e->nbatches, PSTATE_BATCHES, "only the last 5 batches are kept");
    cr_assert_eq(e->b[PSTATE_BATCHES - 1].last_seq, off - 1);
    cr_assert_eq(e->b[PSTATE_BATCHES - 1].last_offset, off + 99);
    cr_assert_eq(e->last_ts, TS0 + 19);
    pstate_free(&ps);
}

Test(pstate, duplicates_of_each_of_last_5_batches_return_original_offsets)
{
    struct pstate ps;
    struct rec_batch_hdr b[8];
    pstate_init(&ps);
    int32_t seq = 0;
    int64_t off = 1000;
    for (int i = 0; i < 8; i++) {
        int32_t n = 2 + i;                      /* sizes differ: 2..9 records */
        b[i] = hdr(PID, 3, seq, n, off, TS0);
        accept(&ps, &b[i]);
        seq += n;
        off += n + 7;                           /* other producers in between */
    }
    /* the last 5 (3..7): duplicates, with where they were appended. The retry
     * arrives with whatever base offset the client put (0). */
    for (int i = 3; i < 8; i++) {
        struct rec_batch_hdr retry = b[i];
        retry.base_offset = 0;
        expect_dup(&ps, &retry, b[i].base_offset, rec_last_offset(&b[i]));
    }
    /* the 6th-oldest and older: out of order, not duplicates */
    for (int i = 0; i < 3; i++)
        expect_rc(&ps, &b[i], SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* a retry must match a batch exactly: same first seq, different count */
    struct rec_batch_hdr odd = b[5];
    odd.last_offset_delta += 1;
    expect_rc(&ps, &odd, SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* the next batch is still accepted after all those checks */
    struct rec_batch_hdr next = hdr(PID, 3, seq, 1, off, TS0);
    accept(&ps, &next);
    /* now batch 3 fell out of the window */
    expect_rc(&ps, &b[3], SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect_dup(&ps, &b[4], b[4].base_offset, rec_last_offset(&b[4]));
    pstate_free(&ps);
}

Test(pstate, gaps_and_overlaps_are_out_of_order)
{
    struct pstate ps;
    pstate_init(&ps);
    struct rec_batch_hdr a = hdr(PID, 0, 0, 10, 0, TS0);     /* seq 0..9 */
    accept(&ps, &a);
    struct rec_batch_hdr gap = hdr(PID, 0, 11, 1, 0, TS0);   /* 10 missing */
    expect_rc(&ps, &gap, SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    struct rec_batch_hdr far = hdr(PID, 0, 1000000, 1, 0, TS0);
    expect_rc(&ps, &far, SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    struct rec_batch_hdr overlap = hdr(PID, 0, 5, 10, 0, TS0); /* 5..14 */
    expect_rc(&ps, &overlap, SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    struct rec_batch_hdr back = hdr(PID, 0, 9, 1, 0, TS0);
    expect_rc(&ps, &back, SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    struct rec_batch_hdr restart0 = hdr(PID, 0, 0, 1, 0, TS0);  /* seq 0 again, same epoch */
    expect_rc(&ps, &restart0, SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* a refused batch changes nothing: 10 is still next */
    struct rec_batch_hdr ok = hdr(PID, 0, 10, 3, 10, TS0);
    accept(&ps, &ok);
    cr_assert_eq(entry_of(&ps, PID)->nbatches, 2);
    pstate_free(&ps);
}

Test(pstate, old_epoch_is_fenced)
{
    struct pstate ps;
    pstate_init(&ps);
    struct rec_batch_hdr e5 = hdr(PID, 5, 0, 4, 0, TS0);
    accept(&ps, &e5);
    /* older epoch, whatever its sequence: in order, duplicate-looking, gap */
    struct rec_batch_hdr old_next = hdr(PID, 4, 4, 1, 0, TS0);
    expect_rc(&ps, &old_next, SL_ERR_INVALID_PRODUCER_EPOCH);
    struct rec_batch_hdr old_dup = hdr(PID, 4, 0, 4, 0, TS0);
    expect_rc(&ps, &old_dup, SL_ERR_INVALID_PRODUCER_EPOCH);
    struct rec_batch_hdr old_zero = hdr(PID, 0, 0, 1, 0, TS0);
    expect_rc(&ps, &old_zero, SL_ERR_INVALID_PRODUCER_EPOCH);
    /* the current epoch is unaffected */
    struct rec_batch_hdr next = hdr(PID, 5, 4, 1, 4, TS0);
    accept(&ps, &next);
    pstate_free(&ps);
}

Test(pstate, new_epoch_must_start_at_zero_and_resets_the_window)
{
    struct pstate ps;
    pstate_init(&ps);
    struct rec_batch_hdr a = hdr(PID, 1, 0, 5, 0, TS0);
    struct rec_batch_hdr b = hdr(PID, 1, 5, 5, 5, TS0);
    accept(&ps, &a);
    accept(&ps, &b);
    /* epoch bump continuing the old sequence: refused */
    struct rec_batch_hdr cont = hdr(PID, 2, 10, 1, 0, TS0);
    expect_rc(&ps, &cont, SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    struct rec_batch_hdr one = hdr(PID, 2, 1, 1, 0, TS0);
    expect_rc(&ps, &one, SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* the old epoch still works until the new one appends */
    struct rec_batch_hdr c = hdr(PID, 1, 10, 1, 10, TS0);
    accept(&ps, &c);
    /* a jump by more than one epoch is fine if it starts at 0 */
    struct rec_batch_hdr z = hdr(PID, 7, 0, 3, 11, TS0);
    accept(&ps, &z);
    const struct pstate_entry *e = entry_of(&ps, PID);
    cr_assert_eq(e->epoch, 7);
    cr_assert_eq(e->nbatches, 1, "a new epoch forgets the old epoch's batches");
    /* old epoch's batches: fenced, not duplicates */
    expect_rc(&ps, &a, SL_ERR_INVALID_PRODUCER_EPOCH);
    expect_rc(&ps, &c, SL_ERR_INVALID_PRODUCER_EPOCH);
    /* the new epoch's first batch is a duplicate of itself */
    expect_dup(&ps, &z, 11, 13);
    struct rec_batch_hdr n = hdr(PID, 7, 3, 1, 14, TS0);
    accept(&ps, &n);
    pstate_free(&ps);
}

Test(pstate, sequence_wraps_at_int32_max)
{
    struct pstate ps;
    pstate_init(&ps);
    /* an unknown producer may start anywhere: start just below the wrap */
    struct rec_batch_hdr a = hdr(PID, 0, INT32_MAX - 4, 5, 0, TS0);   /* ..INT32_MAX */
    accept(&ps, &a);
    cr_assert_eq(entry_of(&ps, PID)->b[0].last_seq, INT32_MAX);
    struct rec_batch_hdr bad = hdr(PID, 0, INT32_MAX, 1, 0, TS0);
    expect_rc(&ps, &bad, SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    struct rec_batch_hdr b = hdr(PID, 0, 0, 3, 5, TS0);               /* wraps to 0 */
    accept(&ps, &b);
    expect_dup(&ps, &a, 0, 4);
    expect_dup(&ps, &b, 5, 7);

    /* a batch spanning the wrap: INT32_MAX-1 .. 1 (4 records) */
    struct pstate ps2;
    pstate_init(&ps2);
    struct rec_batch_hdr s = hdr(PID, 0, INT32_MAX - 1, 4, 0, TS0);
    accept(&ps2, &s);
    cr_assert_eq(entry_of(&ps2, PID)->b[0].last_seq, 1, "last seq wraps inside the batch");
    expect_dup(&ps2, &s, 0, 3);
    struct rec_batch_hdr zero = hdr(PID, 0, 0, 1, 4, TS0);
    expect_rc(&ps2, &zero, SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    struct rec_batch_hdr two = hdr(PID, 0, 2, 1, 4, TS0);
    accept(&ps2, &two);
    pstate_free(&ps);
    pstate_free(&ps2);
}

Test(pstate, unknown_producer_is_accepted_at_any_sequence)
{
    struct pstate ps;
    pstate_init(&ps);
    int64_t f, l;
    struct rec_batch_hdr h = hdr(PID, 9, 12345, 2, 50, TS0);
    cr_assert_eq(check(&ps, &h, &f, &l), 0, "empty state");
    accept(&ps, &h);
    /* then tracked from there */
    struct rec_batch_hdr gap = hdr(PID, 9, 12348, 1, 52, TS0);
    expect_rc(&ps, &gap, SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    struct rec_batch_hdr next = hdr(PID, 9, 12347, 1, 52, TS0);
    accept(&ps, &next);
    /* another producer id is independent */
    struct rec_batch_hdr other = hdr(PID + 1, 0, 777, 1, 53, TS0);
    accept(&ps, &other);
    cr_assert_eq(ps.n, 2);
    pstate_free(&ps);
}

/* Many producers interleaved: the table grows and every producer keeps its
 * own window. */
Test(pstate, many_producers_are_independent)
{
    enum { NP = 3000, ROUNDS = 6 };
    struct pstate ps;
    pstate_init(&ps);
    int64_t off = 0;
    for (int r = 0; r < ROUNDS; r++)
        for (int64_t p = 0; p < NP; p++) {
            struct rec_batch_hdr h = hdr(p * 7919 + 1, (int16_t)(p % 3), r * 2, 2, off, TS0 + p);
            accept(&ps, &h);
            off += 2;
        }
    cr_assert_eq(ps.n, NP);
    off = 0;
    for (int r = 0; r < ROUNDS; r++)
        for (int64_t p = 0; p < NP; p++, off += 2) {
            struct rec_batch_hdr h = hdr(p * 7919 + 1, (int16_t)(p % 3), r * 2, 2, 0, TS0 + p);
            if (r == 0)
                expect_rc(&ps, &h, SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
            else
                expect_dup(&ps, &h, off, off + 1);
        }
    pstate_free(&ps);
}

Test(pstate, expiry_forgets_only_idle_producers)
{
    enum { NP = 500 };
    struct pstate ps;
    pstate_init(&ps);
    /* producer p last seen at TS0 + p; two batches each */
    for (int64_t p = 0; p < NP; p++) {
        struct rec_batch_hdr a = hdr(p + 1, 0, 0, 1, p * 2, TS0 + p - 100);
        struct rec_batch_hdr b = hdr(p + 1, 0, 1, 1, p * 2 + 1, TS0 + p);
        accept(&ps, &a);
        accept(&ps, &b);
    }
    pstate_expire(&ps, TS0 + 250);      /* forgets p < 250 */
    cr_assert_eq(ps.n, NP - 250, "n = %zu", ps.n);
    for (int64_t p = 0; p < NP; p++) {
        struct rec_batch_hdr retry = hdr(p + 1, 0, 1, 1, 0, TS0 + p);
        struct rec_batch_hdr far = hdr(p + 1, 0, 99, 1, 0, TS0 + p);
        if (p < 250) {
            cr_assert_null(entry_of(&ps, p + 1), "producer %" PRId64 " expired", p + 1);
            /* forgotten: any sequence is a new producer's */
            expect_rc(&ps, &far, 0);
            expect_rc(&ps, &retry, 0);
        } else {
            cr_assert_not_null(entry_of(&ps, p + 1), "producer %" PRId64 " kept", p + 1);
            expect_dup(&ps, &retry, p * 2 + 1, p * 2 + 1);
            expect_rc(&ps, &far, SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
        }
    }
    pstate_expire(&ps, INT64_MAX);
    cr_assert_eq(ps.n, 0);
    pstate_expire(&ps, INT64_MAX);      /* empty: no-op */
    /* usable again after everything expired */
    struct rec_batch_hdr h = hdr(1, 0, 5, 1, 0, TS0);
    accept(&ps, &h);
    pstate_free(&ps);
}

/* ---- snapshots ---------------------------------------------------------- */

static void
snap_path(char *out, size_t cap, int64_t off)
{
    snprintf(out, cap, "%s/%020" PRId64 ".snapshot", tmpdir_path, off);
}

static void
assert_same_state(const struct pstate *a, const struct pstate *b)
{
    cr_assert_eq(a->n, b->n, "%zu producers vs %zu", a->n, b->n);
    for (size_t i = 0; i < a->cap; i++) {
        const struct pstate_entry *x = &a->slots[i], *y;
        if (x->pid < 0)
            continue;
        y = entry_of(b, x->pid);
        cr_assert_not_null(y, "producer %" PRId64 " missing", x->pid);
        cr_assert_eq(x->epoch, y->epoch);
        cr_assert_eq(x->last_ts, y->last_ts);
        cr_assert_eq(x->nbatches, y->nbatches);
        cr_assert_eq(memcmp(x->b, y->b, sizeof(x->b[0]) * (size_t)x->nbatches), 0,
                     "batches of producer %" PRId64 " differ", x->pid);
    }
}

static void
fill_many(struct pstate *ps, int np)
{
    int64_t off = 0;
    for (int r = 0; r < 7; r++)
        for (int64_t p = 0; p < np; p++) {
            if (r > (int)(p % 7))
                continue;       /* 1..7 batches per producer */
            struct rec_batch_hdr h = hdr(p * 31 + 5, (int16_t)(p % 5), r * 3, 3, off,
                                         TS0 + r * 1000 + p);
            accept(ps, &h);
            off += 3;
        }
}

Test(pstate, snapshot_round_trip)
{
    struct pstate a, b;
    char path[1024];
    pstate_init(&a);
    pstate_init(&b);
    fill_many(&a, 700);
    cr_assert_eq(pstate_write_snapshot(&a, tmpdir_path, 123456), 0);
    snap_path(path, sizeof(path), 123456);
    cr_assert_gt(tmpdir_file_size(path), 0, "snapshot named by its offset: %s", path);
    /* read into a state that already holds something: replaced, not merged */
    struct rec_batch_hdr junk = hdr(999999, 0, 0, 1, 0, TS0);
    accept(&b, &junk);
    int rc = pstate_read_snapshot(&b, path);
    cr_assert_eq(rc, 0, "read: %d (%s)", rc, sl_strerror(rc));
    cr_assert_null(entry_of(&b, 999999), "read replaces the state");
    assert_same_state(&a, &b);
    assert_same_state(&b, &a);
    /* and it behaves the same: duplicates and next sequences */
    for (int64_t p = 0; p < 700; p++) {
        const struct pstate_entry *e = entry_of(&a, p * 31 + 5);
        struct pstate_batch last = e->b[e->nbatches - 1];
        struct rec_batch_hdr retry = hdr(e->pid, e->epoch, last.first_seq,
                                         last.last_seq - last.first_seq + 1, 0, TS0);
        expect_dup(&b, &retry, last.first_offset, last.last_offset);
        struct rec_batch_hdr next = hdr(e->pid, e->epoch, last.last_seq + 1, 1, 0, TS0);
        expect_rc(&b, &next, 0);
    }
    /* empty state round trip */
    struct pstate empty, c;
    pstate_init(&empty);
    pstate_init(&c);
    cr_assert_eq(pstate_write_snapshot(&empty, tmpdir_path, 0), 0);
    snap_path(path, sizeof(path), 0);
    cr_assert_eq(pstate_read_snapshot(&c, path), 0);
    cr_assert_eq(c.n, 0);
    pstate_free(&a);
    pstate_free(&b);
    pstate_free(&c);
    pstate_free(&empty);
}

static void *
read_file_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc((size_t)n + 1);
    cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void
write_file_all(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(p, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

/* A damaged snapshot is refused and leaves the state empty (never half
 * loaded); every single-byte flip and every truncation is caught. */
Test(pstate, corrupt_snapshot_is_rejected)
{
    struct pstate a, b;
    char path[1024], bad[1024];
    size_t len;
    pstate_init(&a);
    pstate_init(&b);
    fill_many(&a, 40);
    cr_assert_eq(pstate_write_snapshot(&a, tmpdir_path, 77), 0);
    snap_path(path, sizeof(path), 77);
    uint8_t *orig = read_file_all(path, &len);
    uint8_t *copy = malloc(len);
    snprintf(bad, sizeof(bad), "%s/bad.snapshot", tmpdir_path);

    for (size_t i = 0; i < len; i++) {
        memcpy(copy, orig, len);
        copy[i] ^= (uint8_t)(1u << (i % 8));
        write_file_all(bad, copy, len);
        struct rec_batch_hdr junk = hdr(999999, 0, 0, 1, 0, TS0);
        accept(&b, &junk);
        int rc = pstate_read_snapshot(&b, bad);
        cr_assert_eq(rc, SL_ERR__CORRUPT, "flip at byte %zu/%zu: %d (%s)", i, len, rc,
                     sl_strerror(rc));
        cr_assert_eq(b.n, 0, "flip at %zu: state left with %zu producers", i, b.n);
    }
    for (size_t cut = 0; cut < len; cut += (cut < 64 ? 1 : 37)) {
        write_file_all(bad, orig, cut);
        int rc = pstate_read_snapshot(&b, bad);
        cr_assert_eq(rc, SL_ERR__CORRUPT, "truncated to %zu: %d (%s)", cut, rc, sl_strerror(rc));
        cr_assert_eq(b.n, 0);
    }
    /* trailing garbage after a valid snapshot */
    uint8_t *longer = malloc(len + 8);
    memcpy(longer, orig, len);
    memset(longer + len, 0, 8);
    write_file_all(bad, longer, len + 8);
    cr_assert_eq(pstate_read_snapshot(&b, bad), SL_ERR__CORRUPT);
    /* missing file */
    snprintf(bad, sizeof(bad), "%s/absent.snapshot", tmpdir_path);
    cr_assert_eq(pstate_read_snapshot(&b, bad), SL_ERR__NOENT);
    /* the original still reads */
    cr_assert_eq(pstate_read_snapshot(&b, path), 0);
    assert_same_state(&a, &b);
    free(orig);
    free(copy);
    free(longer);
    pstate_free(&a);
    pstate_free(&b);
}

/* ---- through the partition log ----------------------------------------- */

static struct plog *
open_log(int64_t seg_bytes, struct plog_open_report *rep)
{
    struct plog_config cfg;
    struct plog *log = NULL;
    struct plog_open_report local;
    pt_config(&cfg, seg_bytes);
    int rc = plog_open(&log, tmpdir_path, &cfg, rep ? rep : &local);
    cr_assert_eq(rc, 0, "plog_open: %d (%s)", rc, sl_strerror(rc));
    return log;
}

/* The bytes a producer sends: n records from sequence seq. Deterministic in
 * (pid, epoch, seq, n), so a retry is the same bytes. */
static void
producer_batch(struct sl_buf *out, int64_t pid, int16_t epoch, int32_t seq, int32_t n)
{
    struct bg_batch b;
    struct bg_record r[64];
    char vals[64][32];
    cr_assert_leq(n, 64);
    bg_batch_init(&b, TS0 + seq);
    b.producer_id = pid;
    b.producer_epoch = epoch;
    b.base_sequence = seq;
    for (int32_t i = 0; i < n; i++) {
        int len = snprintf(vals[i], sizeof(vals[i]), "p%" PRId64 "-s%d", pid, seq + i);
        memset(&r[i], 0, sizeof(r[i]));
        r[i].key = NULL;
        r[i].key_len = -1;
        r[i].value = vals[i];
        r[i].value_len = len;
        r[i].ts_delta = i;
    }
    sl_buf_reset(out);
    cr_assert_eq(bg_append(out, &b, r, n, NULL), 0);
}

/* Produce as a leader: returns the plog rc, info filled. */
static int
produce(struct plog *log, int64_t pid, int16_t epoch, int32_t seq, int32_t n,
        struct plog_append_info *info)
{
    struct sl_buf b = SL_BUF_INIT;
    producer_batch(&b, pid, epoch, seq, n);
    memset(info, 0, sizeof(*info));
    int rc = plog_append(log, b.data, b.len, 0, PLOG_APPEND_ASSIGN_OFFSETS, TS0 + seq, info);
    sl_buf_free(&b);
    return rc;
}

/* What the test remembers of one appended producer batch. */
struct sent {
    int64_t pid;
    int16_t epoch;
    int32_t seq, n;
    int64_t first, last;
};

static void
produce_ok(struct plog *log, struct sent *s, int64_t pid, int16_t epoch, int32_t seq, int32_t n)
{
    struct plog_append_info info;
    int64_t leo = plog_log_end_offset(log);
    int rc = produce(log, pid, epoch, seq, n, &info);
    cr_assert_eq(rc, 0, "pid %" PRId64 " seq %d: %d (%s)", pid, seq, rc, sl_strerror(rc));
    cr_assert_eq(info.first_offset, leo);
    cr_assert_eq(info.last_offset, leo + n - 1);
    *s = (struct sent){ pid, epoch, seq, n, info.first_offset, info.last_offset };
}

/* A retry of s: a duplicate answered with s's offsets, nothing appended. */
static void
retry_is_dup(struct plog *log, const struct sent *s)
{
    struct plog_append_info info;
    int64_t leo = plog_log_end_offset(log);
    int rc = produce(log, s->pid, s->epoch, s->seq, s->n, &info);
    cr_assert_eq(rc, SL_ERR_DUPLICATE_SEQUENCE_NUMBER,
                 "retry of pid %" PRId64 " seq %d (offsets %" PRId64 "..%" PRId64 "): %d (%s)",
                 s->pid, s->seq, s->first, s->last, rc, sl_strerror(rc));
    cr_assert_eq(info.first_offset, s->first, "dup first %" PRId64 " want %" PRId64,
                 info.first_offset, s->first);
    cr_assert_eq(info.last_offset, s->last);
    cr_assert_eq(plog_log_end_offset(log), leo, "a duplicate must not be appended");
}

static void
produce_rc(struct plog *log, int64_t pid, int16_t epoch, int32_t seq, int32_t n, int want)
{
    struct plog_append_info info;
    int64_t leo = plog_log_end_offset(log);
    int rc = produce(log, pid, epoch, seq, n, &info);
    cr_assert_eq(rc, want, "pid %" PRId64 " epoch %d seq %d: %d (%s), want %d (%s)", pid, epoch,
                 seq, rc, sl_strerror(rc), want, sl_strerror(want));
    if (rc != 0)
        cr_assert_eq(plog_log_end_offset(log), leo, "a refused batch must not be appended");
}

#define NPROD 3
#define NB    12

/* NB batches from each of NPROD producers, interleaved; sent[p][i]. */
static void
produce_all(struct plog *log, struct sent sent[NPROD][NB], int from, int to)
{
    for (int i = from; i < to; i++)
        for (int p = 0; p < NPROD; p++) {
            int32_t n = 1 + (i + p) % 5;
            int32_t seq = i == 0 ? 0 : sent[p][i - 1].seq + sent[p][i - 1].n;
            produce_ok(log, &sent[p][i], 100 + p, (int16_t)p, seq, n);
        }
}

/* After a reopen: the last 5 of each producer are duplicates, older ones
 * out of order, and the next sequence is accepted. */
static void
check_window(struct plog *log, struct sent sent[NPROD][NB], int upto)
{
    for (int p = 0; p < NPROD; p++) {
        for (int i = upto - PSTATE_BATCHES; i < upto; i++)
            retry_is_dup(log, &sent[p][i]);
        const struct sent *old = &sent[p][upto - PSTATE_BATCHES - 1];
        produce_rc(log, old->pid, old->epoch, old->seq, old->n,
                   SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
        const struct sent *last = &sent[p][upto - 1];
        produce_rc(log, last->pid, last->epoch, last->seq + last->n + 1, 1,
                   SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);             /* gap */
        if (last->epoch > 0)
            produce_rc(log, last->pid, (int16_t)(last->epoch - 1), last->seq + last->n, 1,
                       SL_ERR_INVALID_PRODUCER_EPOCH);
    }
}

static int
count_snapshots(void)
{
    DIR *d = opendir(tmpdir_path);
    struct dirent *de;
    int n = 0;
    cr_assert_not_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 9 && strcmp(de->d_name + l - 9, ".snapshot") == 0)
            n++;
    }
    closedir(d);
    return n;
}

Test(pstate, plog_duplicates_detected_before_restart)
{
    struct sent sent[NPROD][NB];
    struct plog *log = open_log(1 << 20, NULL);
    produce_all(log, sent, 0, NB);
    check_window(log, sent, NB);
    /* a producer with no id is never checked */
    struct plog_append_info info;
    struct sl_buf b = SL_BUF_INIT;
    cr_assert_eq(bg_append_simple(&b, TS0, 1, 3, 4, 10, 0, 1), 0);
    cr_assert_eq(plog_append(log, b.data, b.len, 0, PLOG_APPEND_ASSIGN_OFFSETS, TS0, &info), 0);
    sl_buf_free(&b);
    /* a follower append (no ASSIGN_OFFSETS) is not checked either: it
     * carries the leader's decision */
    struct sl_buf f = SL_BUF_INIT;
    producer_batch(&f, 100, 0, sent[0][0].seq, sent[0][0].n);
    rec_set_base_offset(f.data, plog_log_end_offset(log));
    cr_assert_eq(plog_append(log, f.data, f.len, 0, 0, TS0, &info), 0);
    sl_buf_free(&f);
    cr_assert_eq(plog_close(log), 0);
}

Test(pstate, plog_duplicates_detected_after_clean_reopen)
{
    struct sent sent[NPROD][NB];
    struct plog_open_report rep;
    struct plog *log = open_log(1 << 20, NULL);
    produce_all(log, sent, 0, NB);
    cr_assert_eq(plog_close(log), 0);
    cr_assert_geq(count_snapshots(), 1, "a clean close writes a snapshot");
    log = open_log(1 << 20, &rep);
    cr_assert(rep.clean);
    check_window(log, sent, NB);
    /* and the producers continue */
    struct sent more;
    for (int p = 0; p < NPROD; p++) {
        const struct sent *last = &sent[p][NB - 1];
        produce_ok(log, &more, last->pid, last->epoch, last->seq + last->n, 2);
        retry_is_dup(log, &more);
    }
    cr_assert_eq(plog_close(log), 0);
}

/* Crash (no clean close): small segments so rolls wrote snapshots; the
 * state is the newest snapshot plus the batches after it. */
Test(pstate, plog_duplicates_detected_after_crash_with_rolls)
{
    struct sent sent[NPROD][NB];
    struct plog_open_report rep;
    struct plog *log = open_log(600, NULL);
    produce_all(log, sent, 0, NB);
    cr_assert_gt(plog_segment_count(log), 3, "segments: %d", plog_segment_count(log));
    int snaps = count_snapshots();
    cr_assert_geq(snaps, 1, "rolls write snapshots");
    cr_assert_leq(snaps, 2, "only the two newest snapshots are kept (%d)", snaps);
    plog_abandon(log);
    log = open_log(600, &rep);
    cr_assert_not(rep.clean);
    check_window(log, sent, NB);
    plog_abandon(log);
}

/* Crash with no segment roll: no snapshot at all, the state is the replay
 * of the whole log. */
Test(pstate, plog_duplicates_detected_after_crash_without_snapshot)
{
    struct sent sent[NPROD][NB];
    struct plog *log = open_log(1 << 20, NULL);
    produce_all(log, sent, 0, NB);
    cr_assert_eq(count_snapshots(), 0);
    plog_abandon(log);
    log = open_log(1 << 20, NULL);
    check_window(log, sent, NB);
    plog_abandon(log);
}

/* Clean close, more appends, crash: the close-time snapshot plus replay of
 * what came after it. */
Test(pstate, plog_snapshot_plus_replay_after_crash)
{
    struct sent sent[NPROD][NB];
    struct plog *log = open_log(1 << 20, NULL);
    produce_all(log, sent, 0, NB / 2);
    cr_assert_eq(plog_close(log), 0);
    log = open_log(1 << 20, NULL);
    produce_all(log, sent, NB / 2, NB);
    plog_abandon(log);
    log = open_log(1 << 20, NULL);
    check_window(log, sent, NB);
    plog_abandon(log);
}

/* Every snapshot damaged: ignored (and removed), the log replayed. */
Test(pstate, plog_corrupt_snapshot_falls_back_to_replay)
{
    struct sent sent[NPROD][NB];
    struct plog *log = open_log(600, NULL);
    produce_all(log, sent, 0, NB);
    cr_assert_eq(plog_close(log), 0);
    DIR *d = opendir(tmpdir_path);
    struct dirent *de;
    int damaged = 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 9 && strcmp(de->d_name + l - 9, ".snapshot") == 0) {
            char path[1024];
            size_t len;
            tmpdir_join(path, sizeof(path), tmpdir_path, de->d_name);
            uint8_t *p = read_file_all(path, &len);
            p[len / 2] ^= 0x40;
            write_file_all(path, p, len);
            free(p);
            damaged++;
        }
    }
    closedir(d);
    cr_assert_geq(damaged, 1);
    log = open_log(600, NULL);
    check_window(log, sent, NB);
    plog_abandon(log);
}

/* truncate_to drops the tail: the state forgets the removed batches (their
 * retries are appended again, as new), keeps the ones before. */
static void
truncate_case(int64_t seg_bytes)
{
    struct sent sent[NPROD][NB];
    struct plog *log = open_log(seg_bytes, NULL);
    produce_all(log, sent, 0, NB);
    if (seg_bytes < 4096)       /* a snapshot past the truncation point exists */
        cr_assert_gt(count_snapshots(), 0);
    int keep = 8;               /* batches 0..7 of every producer stay */
    int64_t cut = sent[0][keep].first;   /* producer 0's batch 8 is the first to go */
    cr_assert_eq(plog_truncate_to(log, cut), 0);
    cr_assert_eq(plog_log_end_offset(log), cut);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {        /* the same after a crash and reopen */
            plog_abandon(log);
            log = open_log(seg_bytes, NULL);
        }
        for (int p = 0; p < NPROD; p++) {
            for (int i = keep - PSTATE_BATCHES; i < keep; i++)
                retry_is_dup(log, &sent[p][i]);
            /* batch keep+1 would be a gap now */
            const struct sent *b2 = &sent[p][keep + 1];
            produce_rc(log, b2->pid, b2->epoch, b2->seq, b2->n,
                       SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
        }
    }
    /* the truncated batches, retried, are appended anew */
    for (int p = 0; p < NPROD; p++) {
        struct sent again;
        const struct sent *b = &sent[p][keep];
        produce_ok(log, &again, b->pid, b->epoch, b->seq, b->n);
        cr_assert_geq(again.first, cut);
        retry_is_dup(log, &again);
    }
    cr_assert_eq(plog_close(log), 0);
}

Test(pstate, plog_state_rebuilt_after_truncate_to)
{
    truncate_case(1 << 20);
}

Test(pstate, plog_state_rebuilt_after_truncate_to_past_snapshots)
{
    truncate_case(600);
}

/* Truncating everything forgets every producer. */
Test(pstate, plog_truncate_to_zero_forgets_producers)
{
    struct sent sent[NPROD][NB];
    struct plog *log = open_log(600, NULL);
    produce_all(log, sent, 0, NB);
    cr_assert_eq(plog_truncate_to(log, 0), 0);
    cr_assert_eq(plog_log_end_offset(log), 0);
    cr_assert_eq(count_snapshots(), 0, "snapshots past the log end are removed");
    /* unknown again: a high sequence is accepted */
    struct sent s;
    produce_ok(log, &s, 100, 0, sent[0][NB - 1].seq + 1000, 1);
    plog_abandon(log);
}

Test(pstate, plog_expire_producers_forgets_idle_ones)
{
    struct sent a, b;
    struct plog *log = open_log(1 << 20, NULL);
    produce_ok(log, &a, 1, 0, 0, 2);             /* max ts TS0 + 1 */
    produce_ok(log, &b, 2, 0, 1000, 2);          /* max ts TS0 + 1001 */
    plog_expire_producers(log, TS0 + 500);
    /* 1 forgotten: its retry is a new batch; 2 kept */
    produce_rc(log, 1, 0, 0, 2, 0);
    retry_is_dup(log, &b);
    cr_assert_eq(plog_close(log), 0);
}
