/* bench/bench_codecs.c -- producer codecs: what they cost the broker.
 *
 *   build/bench/bench_codecs [--rounds 3] [--scale 1.0] [--only validate|produce]
 *
 * 1. validate: one record set, built once -- 400 RecordBatch v2 batches
 *    (x --scale) of 500 records, key "key-NNNNNNNN", ~200 B semi-compressible
 *    value (text words + a 48-byte random tail, about 2x compressible) --
 *    and for each codec:
 *    (a) in process, CPU time of the bench's own thread (CLOCK_THREAD_
 *        CPUTIME_ID, so a pass preempted on a busy machine is not charged
 *        for the wait):
 *      compress   codec_compress of every batch's records section, i.e. the
 *                 system's liblz4 / libsnappy / zlib / libzstd at librdkafka's
 *                 default levels (gzip 6, lz4 fast, zstd 3)
 *      validate   codec_validate_batch of every compressed batch -- the
 *                 broker's Produce-time work: CRC, bounded decompression into
 *                 a reused scratch buffer, check of every record
 *      decompress codec_decompress alone (the floor of any validation)
 *      Passes over all batches (which add up to far more than L2, so input
 *      mostly comes from L3 or memory); each round alternates compress /
 *      validate. Then compress and validate again with each batch read once
 *      (untimed) right before its timed call: "in cache", as a producer
 *      compresses a batch it has just built and a broker validates a
 *      request it has just received -- the like-for-like comparison with
 *      librdkafka's figure (third table).
 *    (b) librdkafka's own compression ("the producer's own compression
 *        time" of the issue): a librdkafka producer sends the same records
 *        (same keys, values and timestamps; batch.num.messages = 500 and
 *        linger.ms = 2000, so its batches are ours: the statistics
 *        confirm 500 records per batch and the compressed sizes match) to
 *        a fresh in-process mock cluster, once with compression.codec =
 *        the codec and once with none. What is measured is the CPU time
 *        (/proc/self/task/TID/schedstat) of the producer's broker threads
 *        (named rdk:broker*, created after the mock's own threads): they
 *        build each batch, compress it, CRC it and send it. The producer's
 *        compression = codec run - none run, taken per pair (the pair's
 *        order alternates by round) and the median over rounds. librdkafka
 *        2.0.2 compresses with its built-in snappy (not libsnappy) and the
 *        system's LZ4F, zlib and zstd. This difference is a lower bound:
 *        the codec run also CRCs and sends fewer bytes. The second table
 *        shows an estimate of the send part (the none run's kernel share,
 *        from tick-sampled utime/stime, x (1 - 1/ratio)) and val/rdk with
 *        it added back; the main table's val/rdk leaves it out.
 *      The main table: val/comp = validate / compress (library) and
 *      val/rdk = validate / librdkafka's compression (both out of cache,
 *      no send correction: the conservative figure); the target
 *      is val/rdk < 30%.
 *    (c) lz4 frame decoding of the same records sections, codec_decompress
 *        (which parses frames itself) vs LZ4F_decompress in bounded steps
 *        (what codec.c used before), for frames with 64 KiB blocks
 *        (what librdkafka and the Java client write), 4 MiB blocks (the
 *        format's largest; LZ4F's context then holds 8 MiB of buffers) and
 *        2 KiB pieces (small batches, where per-call overhead shows).
 *    Figures are MB/s of uncompressed bytes per CPU second, medians.
 * 2. produce: a librdkafka producer (compression.codec = each codec, acks=1,
 *    linger.ms=5) sends 500k x 200 B records (the same value generator) to a
 *    1-partition topic, against a fresh sluiced and a fresh librdkafka mock
 *    cluster (rdkafka_mock.h), alternating which goes first each round;
 *    medians of MB/s of payload (from the first produce to the flush), the
 *    ratio sluiced / mock, and sluiced's CPU seconds per GB of payload
 *    (broker threads' schedstat) -- where the validation cost shows up.
 *    The mock stores batches without decoding them.
 *
 * sluiced is $SLUICE_BUILD/sluiced (default build/sluiced), data in
 * $SLUICE_BENCH_DIR or $SLUICE_BUILD/bench-tmp (a fresh codecs.XXXXXX dir,
 * removed afterwards). The broker is killed at exit. Exit code 0 unless a
 * part could not run at all.
 */
#include <dirent.h>
#include <lz4frame.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include "bench/support/benchlib.h"
#include "storage/buf.h"
#include "storage/codec.h"
#include "storage/crc32c.h"
#include "storage/record.h"

#define MAX_ROUNDS 25

static volatile uint32_t g_sink;     /* keeps the cache warm-up reads */

static struct {
    int         rounds;
    double      scale;
    const char *only;
} opt = { 3, 1.0, NULL };

static const int codec_ids[] = { REC_CODEC_NONE, REC_CODEC_GZIP, REC_CODEC_SNAPPY,
                                 REC_CODEC_LZ4, REC_CODEC_ZSTD };
static const char *const codec_names[] = { "none", "gzip", "snappy", "lz4", "zstd" };
#define NCODECS 5

/* ---- values: text words + a random tail ---------------------------------- */

static uint64_t
splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#define VALUE_LEN 200

/* One ~200 B value: "id=<n> " then words (compressible), then 48 random
 * bytes (not). */
static void
make_value(uint8_t *v, uint64_t n, uint64_t *seed)
{
    static const char *const words[] = {
        "order", "customer", "status", "shipped", "pending", "amount", "currency", "EUR",
        "USD", "warehouse", "region", "north", "south", "priority", "express", "standard",
        "item", "quantity", "price", "discount", "created", "updated", "true", "false",
        "null", "session", "device", "mobile", "desktop", "country", "city", "payment",
    };
    int len = snprintf((char *)v, VALUE_LEN, "id=%llu ", (unsigned long long)n);
    while (len < VALUE_LEN - 48) {
        const char *w = words[splitmix(seed) % 32];
        size_t wl = strlen(w);
        if (len + (int)wl + 1 > VALUE_LEN - 48)
            break;
        memcpy(v + len, w, wl);
        v[len + (int)wl] = ' ';
        len += (int)wl + 1;
    }
    while (len < VALUE_LEN) {
        uint64_t r = splitmix(seed);
        for (int k = 0; k < 8 && len < VALUE_LEN; k++)
            v[len++] = (uint8_t)(r >> (8 * k));
    }
}

/* ---- part 1: validation vs compression, in process ------------------------ */

#define RECS_PER_BATCH 500

struct vbatch {
    struct sl_buf plain;              /* the uncompressed batch */
    struct sl_buf comp[NCODECS];      /* the same batch compressed per codec */
};

/* The records every measurement of part 1 uses: nrec keys and values in
 * batch order, record r of batch i with timestamp ts0 + r. */
struct recset {
    int       nrec;
    char    (*key)[16];
    int      *key_len;
    uint8_t  *value;                  /* nrec x VALUE_LEN */
    int64_t   ts0;
};

/* ---- per-thread CPU time of this process ---- */

/* CPU seconds of the calling thread (what part 1's in-process timings use:
 * a preempted pass on a busy machine is not charged for the wait). */
static double
cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- librdkafka's own compression, measured on its broker threads ---- */

struct rdk_stats {
    double batches, msgs, bytes;      /* summed over the statistics windows */
};

/* "name": { ... "sum":S ... "cnt":C ... } inside js: S and C, or -1. */
static void
stats_window(const char *js, const char *name, double *sum, double *cnt)
{
    char pat[64];
    const char *p, *end, *q;

    *sum = *cnt = -1;
    snprintf(pat, sizeof(pat), "\"%s\":", name);
    if (!(p = strstr(js, pat)) || !(end = strchr(p, '}')))
        return;
    if ((q = strstr(p, "\"sum\":")) && q < end)
        *sum = atof(q + 6);
    if ((q = strstr(p, "\"cnt\":")) && q < end)
        *cnt = atof(q + 6);
}

/* Statistics callback: the topic's batch-size and messages-per-batch
 * windows (each emission rolls them over, so the windows add up). */
static int
rdk_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    struct rdk_stats *st = opaque;
    const char *topic = strstr(json, "\"topics\":");
    double sum, cnt;

    (void)rk;
    (void)len;
    if (!topic)
        return 0;
    stats_window(topic, "batchcnt", &sum, &cnt);
    if (sum >= 0 && cnt >= 0) {
        st->msgs += sum;
        st->batches += cnt;
    }
    stats_window(topic, "batchsize", &sum, &cnt);
    if (sum >= 0)
        st->bytes += sum;
    return 0;
}

static void
rdk_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct bl_dr *dr = m->_private;           /* the per-message opaque */
    (void)rk;
    (void)opaque;
    if (m->err) {
        if (!dr->err++)
            snprintf(dr->first_err, sizeof(dr->first_err), "%s", rd_kafka_err2str(m->err));
    } else {
        dr->ok++;
    }
}

/* Produce every record of rs with librdkafka (compression.codec = codec,
 * batches of RECS_PER_BATCH records, explicit timestamps, so its batches
 * hold the bytes of ours) to a fresh mock cluster; returns the CPU seconds
 * its broker threads ("rdk:broker*", the ones that build, compress and send
 * batches) used from the first produce call to the end of the flush, NAN
 * on failure; their user and kernel ticks are added to *uticks, *sticks.
 * With st, statistics are collected too (an untimed run). */
static double
rdk_produce_cpu(const char *codec, const struct recset *rs, struct rdk_stats *st,
                long *uticks, long *sticks)
{
    static struct bl_threads before, t0, t1;
    struct bl_target tg;
    struct bl_dr dr = { 0, 0, "" };
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    char err[256];
    double cpu = 0;

    if (bl_target_start(&tg, BL_MOCK, "codecs", NULL) != 0 ||
        bl_target_create_topic(&tg, "codecs", 1, NULL, 0) != 0) {
        bl_target_stop(&tg);
        return NAN;
    }
    bl_threads_snapshot(&before, 0);                /* the mock's own threads */
    conf = bl_rk_conf(tg.bootstrap, "3", NULL);
    bl_rk_set(conf, "compression.codec", codec);
    bl_rk_set(conf, "acks", "1");
    bl_rk_set(conf, "linger.ms", "2000");             /* batches close by count */
    bl_rk_set_int(conf, "batch.num.messages", RECS_PER_BATCH);
    bl_rk_set_int(conf, "queue.buffering.max.messages", 10000000);
    bl_rk_set_int(conf, "queue.buffering.max.kbytes", 2097151);
    if (st) {
        memset(st, 0, sizeof(*st));
        bl_rk_set(conf, "statistics.interval.ms", "100");
        rd_kafka_conf_set_stats_cb(conf, rdk_stats_cb);
    }
    rd_kafka_conf_set_dr_msg_cb(conf, rdk_dr_cb);
    rd_kafka_conf_set_opaque(conf, st);         /* for rdk_stats_cb */
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
        fprintf(stderr, "bench_codecs: rd_kafka_new: %s\n", err);
        rd_kafka_conf_destroy(conf);
        bl_target_stop(&tg);
        return NAN;
    }
    if (bl_rk_wait_topic(rk, "codecs", 1, 15000) != 0) {
        rd_kafka_destroy(rk);
        bl_target_stop(&tg);
        return NAN;
    }
    bl_threads_snapshot(&t0, 0);
    for (int i = 0; i < rs->nrec; i++) {
        rd_kafka_resp_err_t e;
        void *v = rs->value + (size_t)i * VALUE_LEN;
        while ((e = rd_kafka_producev(
                    rk, RD_KAFKA_V_TOPIC("codecs"), RD_KAFKA_V_PARTITION(0),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_KEY(rs->key[i], (size_t)rs->key_len[i]),
                    RD_KAFKA_V_VALUE(v, VALUE_LEN),
                    RD_KAFKA_V_TIMESTAMP(rs->ts0 + i % RECS_PER_BATCH),
                    RD_KAFKA_V_OPAQUE(&dr), RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 1);
        if (e) {
            fprintf(stderr, "bench_codecs: producev: %s\n", rd_kafka_err2str(e));
            cpu = NAN;
            break;
        }
        if ((i & 4095) == 0)
            rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 120000);
    bl_threads_snapshot(&t1, 0);
    for (int i = 0; i < t1.n; i++) {
        if (bl_threads_find(&before, t1.tid[i]) >= 0 || strncmp(t1.name[i], "rdk:broker", 10) != 0)
            continue;
        int j = bl_threads_find(&t0, t1.tid[i]);
        cpu += t1.cpu_s[i] - (j >= 0 ? t0.cpu_s[j] : 0);
        *uticks += t1.utick[i] - (j >= 0 ? t0.utick[j] : 0);
        *sticks += t1.stick[i] - (j >= 0 ? t0.stick[j] : 0);
    }
    if (st) {                                   /* the last statistics window */
        double until = bl_now_s() + 0.35;
        while (bl_now_s() < until)
            rd_kafka_poll(rk, 20);
    }
    rd_kafka_destroy(rk);
    bl_target_stop(&tg);
    if (dr.err || dr.ok != rs->nrec) {
        fprintf(stderr, "bench_codecs: librdkafka %s: %ld delivered, %ld failed (%s)\n", codec,
                dr.ok, dr.err, dr.first_err);
        return NAN;
    }
    return cpu;
}

/* ---- lz4 frame decoding: LZ4F_decompress, for reference ---- */

/* What codec.c did before it parsed frames itself: LZ4F_decompress in
 * bounded steps (output appended to out; 0 or -1). */
static int
lz4f_decode(const uint8_t *in, size_t in_len, struct sl_buf *out, size_t max_out)
{
    LZ4F_dctx *dctx;
    size_t pos = 0, produced = 0, r;
    int rc = -1;

    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        return -1;
    for (;;) {
        size_t left = max_out - produced, want = left < (256u << 10) ? left + 1 : 256u << 10;
        size_t dsz, ssz = in_len - pos;
        if (sl_buf_reserve(out, want) != 0)
            break;
        dsz = out->cap - out->len < left + 1 ? out->cap - out->len : left + 1;
        r = LZ4F_decompress(dctx, out->data + out->len, &dsz, in + pos, &ssz, NULL);
        if (LZ4F_isError(r))
            break;
        pos += ssz;
        out->len += dsz;
        produced += dsz;
        if (produced > max_out)
            break;
        if (r == 0 && pos == in_len) {
            rc = 0;
            break;
        }
        if (ssz == 0 && dsz == 0)
            break;
    }
    LZ4F_freeDecompressionContext(dctx);
    return rc;
}

/* LZ4 frames (independent blocks of blockSizeID bsid) of the records
 * sections cut into pieces of at most `piece` bytes; at[] gets every
 * frame's start and, last, the end. Returns the number of frames, -1. */
static int
lz4_frames(const struct vbatch *b, int nbatches, LZ4F_blockSizeID_t bsid, size_t piece,
           struct sl_buf *frames, size_t **at)
{
    LZ4F_preferences_t prefs;
    size_t nf = 0, cap = 0;

    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = bsid;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    for (int i = 0; i < nbatches; i++)
        cap += (b[i].plain.len - REC_HDR_LEN - 1) / piece + 1;   /* sections are not empty */
    if (!(*at = calloc(cap + 1, sizeof(size_t))))
        return -1;
    for (int i = 0; i < nbatches; i++) {
        const uint8_t *p = b[i].plain.data + REC_HDR_LEN;
        size_t left = b[i].plain.len - REC_HDR_LEN;
        while (left > 0) {
            size_t n = left < piece ? left : piece, bound = LZ4F_compressFrameBound(n, &prefs), r;
            (*at)[nf++] = frames->len;
            if (sl_buf_reserve(frames, bound) != 0)
                return -1;
            r = LZ4F_compressFrame(frames->data + frames->len, bound, p, n, &prefs);
            if (LZ4F_isError(r))
                return -1;
            frames->len += r;
            p += n;
            left -= n;
        }
    }
    (*at)[nf] = frames->len;
    return (int)nf;
}

static int
bench_validate(void)
{
    int nbatches = (int)(400 * opt.scale);
    struct vbatch *b;
    struct recset rs;
    struct sl_buf scratch = SL_BUF_INIT, out = SL_BUF_INIT;
    uint64_t seed = 42;
    double plain_bytes = 0, sect_bytes = 0, comp_bytes[NCODECS] = { 0 };
    double t_comp[NCODECS][MAX_ROUNDS], t_val[NCODECS][MAX_ROUNDS], t_dec[NCODECS][MAX_ROUNDS];
    double t_comp_hot[NCODECS][MAX_ROUNDS], t_val_hot[NCODECS][MAX_ROUNDS];
    double rdk_none[NCODECS][MAX_ROUNDS], rdk_codec[NCODECS][MAX_ROUNDS];
    double rdk_diff[NCODECS][MAX_ROUNDS];
    long none_ut = 0, none_st = 0, codec_ut = 0, codec_st = 0;
    double rdk_adj[NCODECS] = { 0 };
    struct rdk_stats shape[NCODECS];
    enum { NLZ4V = 3 };
    static const struct { const char *name; LZ4F_blockSizeID_t bsid; size_t piece; } lz4v[NLZ4V] = {
        { "64 KiB blocks, whole sections", LZ4F_max64KB, SIZE_MAX },
        { "4 MiB blocks, whole sections ", LZ4F_max4MB, SIZE_MAX },
        { "64 KiB blocks, 2 KiB pieces  ", LZ4F_max64KB, 2048 },
    };
    double t_lz4[NLZ4V][2][MAX_ROUNDS];        /* [variant][codec_decompress, LZ4F] */
    int rdk_ok = 1;

    if (nbatches < 4)
        nbatches = 4;
    rs.nrec = nbatches * RECS_PER_BATCH;
    rs.ts0 = 1700000000000LL;
    rs.key = calloc((size_t)rs.nrec, sizeof(*rs.key));
    rs.key_len = calloc((size_t)rs.nrec, sizeof(*rs.key_len));
    rs.value = malloc((size_t)rs.nrec * VALUE_LEN);
    if (!(b = calloc((size_t)nbatches, sizeof(*b))) || !rs.key || !rs.key_len || !rs.value)
        return -1;
    for (int i = 0; i < nbatches; i++) {
        struct rec_builder rb;
        rec_builder_begin(&rb, &b[i].plain, rs.ts0);
        for (int r = 0; r < RECS_PER_BATCH; r++) {
            int k = i * RECS_PER_BATCH + r;
            uint8_t *v = rs.value + (size_t)k * VALUE_LEN;
            rs.key_len[k] = snprintf(rs.key[k], sizeof(rs.key[k]), "key-%08llu",
                                     (unsigned long long)((uint64_t)k % 100000));
            make_value(v, (uint64_t)k, &seed);
            rec_builder_add(&rb, rs.ts0 + r, rs.key[k], rs.key_len[k], v, VALUE_LEN, NULL, 0, 0);
        }
        if (rec_builder_finish(&rb, 0, -1, -1, -1) == 0)
            return -1;
        plain_bytes += (double)b[i].plain.len;
        sect_bytes += (double)(b[i].plain.len - REC_HDR_LEN);
        for (int c = 0; c < NCODECS; c++) {
            int rc = codec_recompress_batch(b[i].plain.data, b[i].plain.len, codec_ids[c],
                                            CODEC_LEVEL_DEFAULT, &b[i].comp[c], &scratch,
                                            64u << 20);
            if (rc != 0) {
                fprintf(stderr, "bench_codecs: recompress to %s: %d\n", codec_names[c], rc);
                return -1;
            }
            comp_bytes[c] += (double)b[i].comp[c].len;
        }
    }

    /* (a) in process: the library's compression, decompression, validation
     * (CPU time of this thread) */
    for (int round = 0; round < opt.rounds; round++) {
        for (int c = 0; c < NCODECS; c++) {
            /* decompression alone (the floor of any validation) */
            double td0 = cpu_now();
            for (int i = 0; i < nbatches; i++) {
                sl_buf_reset(&out);
                if (codec_decompress(codec_ids[c], b[i].comp[c].data + REC_HDR_LEN,
                                     b[i].comp[c].len - REC_HDR_LEN, &out, 64u << 20) != 0) {
                    fprintf(stderr, "bench_codecs: %s decompress failed\n", codec_names[c]);
                    return -1;
                }
            }
            t_dec[c][round] = cpu_now() - td0;
            /* passes 0, 1: over all batches, input mostly out of cache (the
             * batches add up to far more than L2); passes 2, 3: each batch
             * read once (untimed) right before its timed call, as a broker
             * validates a request it has just received and a producer
             * compresses a batch it has just built. Compress and validate
             * alternate which goes first. */
            for (int pass = 0; pass < 4; pass++) {
                int hot = pass >= 2, validate_first = round % 2;
                int doing_validate = pass % 2 == 0 ? validate_first : !validate_first;
                double t = 0, t0 = cpu_now();
                for (int i = 0; i < nbatches; i++) {
                    const struct sl_buf *in = doing_validate ? &b[i].comp[c] : &b[i].plain;
                    double t1 = 0;
                    int rc;
                    if (hot) {
                        g_sink += crc32c(0, in->data, in->len);
                        t1 = cpu_now();
                    }
                    if (doing_validate) {
                        rc = codec_validate_batch(in->data, in->len,
                                                  1u << 20 > in->len ? 1u << 20 : in->len, &scratch);
                    } else {
                        sl_buf_reset(&out);
                        rc = codec_compress(codec_ids[c], in->data + REC_HDR_LEN,
                                            in->len - REC_HDR_LEN, &out, CODEC_LEVEL_DEFAULT);
                    }
                    if (hot)
                        t += cpu_now() - t1;
                    if (rc != 0) {
                        fprintf(stderr, "bench_codecs: %s %s: %d\n", codec_names[c],
                                doing_validate ? "validate" : "compress", rc);
                        return -1;
                    }
                }
                if (!hot)
                    t = cpu_now() - t0;
                if (doing_validate)
                    (hot ? t_val_hot : t_val)[c][round] = t;
                else
                    (hot ? t_comp_hot : t_comp)[c][round] = t;
            }
        }
    }

    /* (c) lz4 frame decoding, codec_decompress vs LZ4F_decompress (what
     * codec.c used before), on the same records in three frame shapes */
    for (int v = 0; v < NLZ4V; v++) {
        struct sl_buf fr = SL_BUF_INIT;
        size_t *at = NULL;
        int nf = lz4_frames(b, nbatches, lz4v[v].bsid, lz4v[v].piece, &fr, &at);
        if (nf < 0)
            return -1;
        for (int round = 0; round < opt.rounds; round++) {
            for (int pass = 0; pass < 2; pass++) {
                int which = (pass + round) % 2;      /* alternate who goes first */
                double total = 0, t0 = cpu_now();
                for (int i = 0; i < nf; i++) {
                    int rc;
                    sl_buf_reset(&out);
                    rc = which == 0
                       ? codec_decompress(REC_CODEC_LZ4, fr.data + at[i], at[i + 1] - at[i],
                                          &out, 1u << 20)
                       : lz4f_decode(fr.data + at[i], at[i + 1] - at[i], &out, 1u << 20);
                    if (rc != 0) {
                        fprintf(stderr, "bench_codecs: lz4 frame decode failed\n");
                        return -1;
                    }
                    total += (double)out.len;
                }
                t_lz4[v][which][round] = cpu_now() - t0;
                if (total != sect_bytes) {
                    fprintf(stderr, "bench_codecs: lz4 frames decoded to %.0f bytes\n", total);
                    return -1;
                }
            }
        }
        sl_buf_free(&fr);
        free(at);
    }

    /* (b) librdkafka's own compression of the same records: CPU of its
     * broker threads with the codec minus without, in pairs whose order
     * alternates; first one untimed run per codec for the batch shape */
    for (int c = 0; c < NCODECS && rdk_ok; c++) {
        long ut = 0, st = 0;
        if (isnan(rdk_produce_cpu(codec_names[c], &rs, &shape[c], &ut, &st)))
            rdk_ok = 0;
    }
    for (int round = 0; round < opt.rounds && rdk_ok; round++) {
        for (int c = 1; c < NCODECS && rdk_ok; c++) {
            for (int k = 0; k < 2; k++) {
                int with_codec = (k + round) % 2;
                double cpu = rdk_produce_cpu(with_codec ? codec_names[c] : "none", &rs, NULL,
                                             with_codec ? &codec_ut : &none_ut,
                                             with_codec ? &codec_st : &none_st);
                if (isnan(cpu))
                    rdk_ok = 0;
                if (with_codec)
                    rdk_codec[c][round] = cpu;
                else
                    rdk_none[c][round] = cpu;
            }
            rdk_diff[c][round] = rdk_codec[c][round] - rdk_none[c][round];
            fprintf(stderr, "  round %d librdkafka broker threads: none %6.1f ms, %-6s %7.1f ms\n",
                    round + 1, rdk_none[c][round] * 1e3, codec_names[c],
                    rdk_codec[c][round] * 1e3);
        }
    }

    printf("validation vs producer compression: %d batches x %d records x %d B values "
           "(%.1f MB uncompressed), %d rounds, medians of CPU time\n\n",
           nbatches, RECS_PER_BATCH, VALUE_LEN, plain_bytes / 1e6, opt.rounds);
    printf("%-7s %6s %9s %10s %10s %9s %8s %8s %8s %10s\n", "codec", "ratio", "compress",
           "librdkafka", "decompress", "validate", "validate", "dec/comp", "val/comp", "val/rdk");
    printf("%-7s %6s %9s %10s %10s %9s %8s %8s %8s %10s\n", "", "in/out", "MB/s", "MB/s",
           "MB/s", "MB/s", "ms/batch", "(lib)", "(lib)", "(producer)");
    for (int c = 0; c < NCODECS; c++) {
        double tc = bl_median(t_comp[c], opt.rounds), tv = bl_median(t_val[c], opt.rounds);
        double td = bl_median(t_dec[c], opt.rounds);
        double tr = rdk_ok && c > 0 ? bl_median(rdk_diff[c], opt.rounds) : NAN;
        char rdk_mbs[16] = "-", val_rdk[16] = "-";
        if (codec_ids[c] == REC_CODEC_NONE) {
            printf("%-7s %6.2f %9s %10s %10s %9.0f %8.3f %8s %8s %10s\n", "none", 1.0, "-", "-",
                   "-", plain_bytes / tv / 1e6, tv * 1e3 / nbatches, "-", "-", "-");
            continue;
        }
        if (tr > 0) {
            snprintf(rdk_mbs, sizeof(rdk_mbs), "%.0f", plain_bytes / tr / 1e6);
            snprintf(val_rdk, sizeof(val_rdk), "%.1f%%", 100.0 * tv / tr);
        }
        printf("%-7s %6.2f %9.0f %10s %10.0f %9.0f %8.3f %7.1f%% %7.1f%% %10s\n", codec_names[c],
               plain_bytes / comp_bytes[c], plain_bytes / tc / 1e6, rdk_mbs,
               plain_bytes / td / 1e6, plain_bytes / tv / 1e6, tv * 1e3 / nbatches,
               100.0 * td / tc, 100.0 * tv / tc, val_rdk);
    }
    printf("\n(MB/s of uncompressed batch bytes per CPU second. compress: codec_compress of\n"
           " each records section with the system's libraries at librdkafka's default\n"
           " levels; librdkafka: the producer's own compression of the same records (its\n"
           " broker threads' CPU with the codec minus without); validate:\n"
           " codec_validate_batch, the broker's work. The issue's target is val/rdk < 30%%.)\n\n");

    if (rdk_ok) {
        double sys_share = none_ut + none_st > 0 ? (double)none_st / (double)(none_ut + none_st) : 0;
        printf("librdkafka %s producer, its broker threads (rdk:broker*), CPU ms per run of all "
               "records\n(medians; pairs none/codec, order alternating):\n\n",
               rd_kafka_version_str());
        printf("%-7s %7s %8s %9s %14s %10s %8s %9s %10s\n", "codec", "none", "codec",
               "compress", "MB/s min..max", "recs/batch", "B/batch", "send adj", "val/rdk");
        printf("%-7s %7s %8s %9s %14s %10s %8s %9s %10s\n", "", "", "", "= c - n", "", "", "",
               "", "with adj");
        for (int c = 1; c < NCODECS; c++) {
            double lo = INFINITY, hi = 0, tv = bl_median(t_val[c], opt.rounds);
            double tn = bl_median(rdk_none[c], opt.rounds), tr = bl_median(rdk_diff[c], opt.rounds);
            for (int r = 0; r < opt.rounds; r++) {
                lo = rdk_diff[c][r] < lo ? rdk_diff[c][r] : lo;
                hi = rdk_diff[c][r] > hi ? rdk_diff[c][r] : hi;
            }
            rdk_adj[c] = tn * sys_share * (1.0 - comp_bytes[c] / plain_bytes);
            printf("%-7s %7.1f %8.1f %9.1f %6.0f..%-6.0f %10.1f %8.0f %9.1f %9.1f%%\n",
                   codec_names[c], tn * 1e3, bl_median(rdk_codec[c], opt.rounds) * 1e3, tr * 1e3,
                   hi > 0 ? plain_bytes / hi / 1e6 : NAN, lo > 0 ? plain_bytes / lo / 1e6 : NAN,
                   shape[c].batches > 0 ? shape[c].msgs / shape[c].batches : NAN,
                   shape[c].batches > 0 ? shape[c].bytes / shape[c].batches : NAN,
                   rdk_adj[c] * 1e3, 100.0 * tv / (tr + rdk_adj[c]));
        }
        printf("%-7s %7s %8s %9s %14s %10.1f %8.0f   (ours: %.0f B/batch)\n\n", "none", "", "",
               "", "", shape[0].batches > 0 ? shape[0].msgs / shape[0].batches : NAN,
               shape[0].batches > 0 ? shape[0].bytes / shape[0].batches : NAN,
               plain_bytes / nbatches);
        printf("(compress = codec - none is a lower bound of librdkafka's compression cost:\n"
               " the codec run also CRCs and sends fewer bytes. send adj estimates the send\n"
               " part: the none run's kernel share (%.0f%%, from %ld tick samples) x\n"
               " (1 - 1/ratio); the last column adds it back.)\n\n",
               100.0 * sys_share, none_ut + none_st);
    } else {
        printf("librdkafka's compression: not measured (mock cluster or producer failed)\n\n");
    }

    printf("the same with each batch in cache (read once, untimed, right before its timed\n"
           "call -- a broker validates a request it has just received; librdkafka compresses\n"
           "a batch it has just built):\n\n");
    printf("%-7s %9s %9s %9s %9s %10s\n", "codec", "compress", "validate", "val/comp", "val/rdk",
           "val/rdk");
    printf("%-7s %9s %9s %9s %9s %10s\n", "", "MB/s", "MB/s", "(lib)", "", "with adj");
    for (int c = 1; c < NCODECS; c++) {
        double tc = bl_median(t_comp_hot[c], opt.rounds), tv = bl_median(t_val_hot[c], opt.rounds);
        double tr = rdk_ok ? bl_median(rdk_diff[c], opt.rounds) : NAN;
        printf("%-7s %9.0f %9.0f %8.1f%% %8.1f%% %9.1f%%\n", codec_names[c], plain_bytes / tc / 1e6,
               plain_bytes / tv / 1e6, 100.0 * tv / tc, 100.0 * tv / tr,
               100.0 * tv / (tr + rdk_adj[c]));
    }
    printf("\n");

    printf("lz4 frame decoding, same records (MB/s of output, CPU time): codec_decompress vs "
           "LZ4F_decompress\n");
    for (int v = 0; v < NLZ4V; v++) {
        double to = bl_median(t_lz4[v][0], opt.rounds), tl = bl_median(t_lz4[v][1], opt.rounds);
        printf("  %s %6.0f vs %6.0f  (%.2fx)\n", lz4v[v].name, sect_bytes / to / 1e6,
               sect_bytes / tl / 1e6, tl / to);
    }
    printf("\n");

    for (int i = 0; i < nbatches; i++) {
        sl_buf_free(&b[i].plain);
        for (int c = 0; c < NCODECS; c++)
            sl_buf_free(&b[i].comp[c]);
    }
    free(b);
    free(rs.key);
    free(rs.key_len);
    free(rs.value);
    sl_buf_free(&scratch);
    sl_buf_free(&out);
    return rdk_ok ? 0 : -1;
}

/* ---- part 2: produce throughput, sluiced vs mock --------------------------- */

#define POOL 65536
static uint8_t *g_pool;      /* POOL values of VALUE_LEN bytes */

/* Produce n records with codec to topic at bootstrap; seconds, NAN on failure. */
static double
produce_run(const char *bootstrap, const char *codec, long n)
{
    char err[256];
    struct bl_dr s = { 0, 0, "" };
    rd_kafka_conf_t *conf = bl_rk_conf(bootstrap, "3", NULL);
    bl_rk_set(conf, "compression.codec", codec);
    bl_rk_set(conf, "acks", "1");
    bl_rk_set(conf, "linger.ms", "5");
    rd_kafka_conf_set_dr_msg_cb(conf, bl_rk_dr_cb);
    rd_kafka_conf_set_opaque(conf, &s);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench_codecs: rd_kafka_new: %s\n", err);
        return NAN;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, "codecs", NULL);
    /* connect and fetch metadata before the clock starts */
    bl_rk_wait_topic(rk, "codecs", 1, 15000);
    double t0 = bl_now_s();
    for (long i = 0; i < n; i++) {
        uint8_t *v = g_pool + (size_t)(i % POOL) * VALUE_LEN;
        if (bl_rk_produce(rk, rkt, 0, 0, v, VALUE_LEN) != 0) {
            rd_kafka_topic_destroy(rkt);
            rd_kafka_destroy(rk);
            return NAN;
        }
        if ((i & 1023) == 0)
            rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 120000);
    double t = bl_now_s() - t0;
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    if (s.err || s.ok != n) {
        fprintf(stderr, "bench_codecs: %s: %ld delivered, %ld failed (%s)\n", codec, s.ok,
                s.err, s.first_err);
        return NAN;
    }
    return t;
}

static int
bench_produce(void)
{
    long n = (long)(500000 * opt.scale);
    double mbs[NCODECS][2][MAX_ROUNDS], cpu[NCODECS][MAX_ROUNDS];
    uint64_t seed = 7;
    int failures = 0;

    if (n < 1000)
        n = 1000;
    if (!(g_pool = malloc((size_t)POOL * VALUE_LEN)))
        return -1;
    for (int i = 0; i < POOL; i++)
        make_value(g_pool + (size_t)i * VALUE_LEN, (uint64_t)i, &seed);
    double payload = (double)n * VALUE_LEN;

    for (int round = 0; round < opt.rounds; round++) {
        for (int c = 0; c < NCODECS; c++) {
            for (int k = 0; k < 2; k++) {
                int mock = (k + round + c) % 2;      /* alternate who goes first */
                struct bl_target tg;
                double cpu0, t;

                if (bl_target_start(&tg, mock ? BL_MOCK : BL_SLUICED, "codecs", NULL) != 0 ||
                    bl_target_create_topic(&tg, "codecs", 1, NULL, 0) != 0) {
                    fprintf(stderr, "bench_codecs: %s\n",
                            mock ? "mock cluster failed" : "sluiced start / topic failed");
                    bl_target_stop(&tg);
                    return -1;
                }
                cpu0 = bl_target_cpu_s(&tg);
                t = produce_run(tg.bootstrap, codec_names[c], n);
                if (isnan(t))
                    failures++;
                mbs[c][mock][round] = payload / t / 1e6;
                if (!mock)
                    cpu[c][round] = (bl_target_cpu_s(&tg) - cpu0) / (payload / 1e9);
                bl_target_stop(&tg);
                fprintf(stderr, "  round %d %-6s %-7s %8.1f MB/s\n", round + 1, codec_names[c],
                        mock ? "mock" : "sluiced", payload / t / 1e6);
            }
        }
    }
    printf("produce throughput: %ld x %d B records per run (%.0f MB payload), 1 partition, "
           "acks=1, linger.ms=5, librdkafka %s; %d rounds, medians\n\n",
           n, VALUE_LEN, payload / 1e6, rd_kafka_version_str(), opt.rounds);
    printf("%-8s %14s %14s %9s %14s\n", "codec", "sluiced MB/s", "mock MB/s", "s/m", "sluiced CPU");
    printf("%-8s %14s %14s %9s %14s\n", "", "", "", "", "s per GB");
    for (int c = 0; c < NCODECS; c++) {
        double s = bl_median(mbs[c][0], opt.rounds), m = bl_median(mbs[c][1], opt.rounds);
        printf("%-8s %14.1f %14.1f %9.2f %14.2f\n", codec_names[c], s, m, s / m,
               bl_median(cpu[c], opt.rounds));
    }
    printf("\n");
    free(g_pool);
    return failures ? -1 : 0;
}

int
main(int argc, char **argv)
{
    int rc = 0;
    const char *v;

    bl_set_prog("bench_codecs");
    for (int i = 1; i < argc; i++) {
        if ((v = bl_arg(argc, argv, &i, "--rounds")))
            opt.rounds = atoi(v);
        else if ((v = bl_arg(argc, argv, &i, "--scale")))
            opt.scale = atof(v);
        else if ((v = bl_arg(argc, argv, &i, "--only")))
            opt.only = v;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: %s [--rounds 3] [--scale 1.0] [--only validate|produce]\n", argv[0]);
            return 0;
        }
        /* other arguments (scripts/run-bench passes them to every bench): ignored */
    }
    opt.rounds = bl_clamp(opt.rounds, 1, MAX_ROUNDS);
    if (opt.scale <= 0)
        opt.scale = 1.0;
    bl_cleanup_at_exit(NULL);

    if (!opt.only || !strcmp(opt.only, "validate"))
        if (bench_validate() != 0)
            rc = 1;
    if (!opt.only || !strcmp(opt.only, "produce"))
        if (bench_produce() != 0)
            rc = 1;
    return rc;
}
