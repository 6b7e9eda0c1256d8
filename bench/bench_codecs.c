/* bench/bench_codecs.c -- producer codecs: what they cost the broker.
 *
 *   build/bench/bench_codecs [--rounds 3] [--scale 1.0] [--only validate|produce]
 *
 * 1. validate (in-process, no network): the same records, built once as
 *    RecordBatch v2 batches of 500 records x ~200 B semi-compressible values
 *    (text words + a random tail, about 2-3x compressible), for each codec:
 *      compress   codec_compress of every batch's records section -- the
 *                 producer's own work for those bytes (default levels: gzip
 *                 6, lz4 fast, zstd 3 -- librdkafka's defaults)
 *      validate   codec_validate_batch of every compressed batch -- the
 *                 broker's Produce-time work: CRC, bounded decompression into
 *                 a reused scratch buffer, walk of every record
 *      decompress codec_decompress alone (the floor of any validation)
 *      ratio      validate / compress; the target is < 30%
 *    plus the uncompressed batches' validation for reference. Timed passes
 *    over all batches, rounds alternate compress/validate; medians.
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
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include "bench/support/benchlib.h"
#include "storage/buf.h"
#include "storage/codec.h"
#include "storage/record.h"

#define MAX_ROUNDS 25

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

static int
bench_validate(void)
{
    int nbatches = (int)(400 * opt.scale);
    struct vbatch *b;
    struct sl_buf scratch = SL_BUF_INIT, out = SL_BUF_INIT;
    uint64_t seed = 42;
    uint8_t value[VALUE_LEN];
    char key[32];
    double plain_bytes = 0, comp_bytes[NCODECS] = { 0 };
    double t_comp[NCODECS][MAX_ROUNDS], t_val[NCODECS][MAX_ROUNDS], t_dec[NCODECS][MAX_ROUNDS];
    int64_t ts = 1700000000000LL;

    if (nbatches < 4)
        nbatches = 4;
    if (!(b = calloc((size_t)nbatches, sizeof(*b))))
        return -1;
    for (int i = 0; i < nbatches; i++) {
        struct rec_builder rb;
        rec_builder_begin(&rb, &b[i].plain, ts);
        for (int r = 0; r < RECS_PER_BATCH; r++) {
            uint64_t n = (uint64_t)i * RECS_PER_BATCH + (uint64_t)r;
            int kl = snprintf(key, sizeof(key), "key-%08llu", (unsigned long long)(n % 100000));
            make_value(value, n, &seed);
            rec_builder_add(&rb, ts + r, key, kl, value, VALUE_LEN, NULL, 0, 0);
        }
        if (rec_builder_finish(&rb, 0, -1, -1, -1) == 0)
            return -1;
        plain_bytes += (double)b[i].plain.len;
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

    for (int round = 0; round < opt.rounds; round++) {
        for (int c = 0; c < NCODECS; c++) {
            /* decompression alone (the floor of any validation) */
            double td0 = bl_now_s();
            for (int i = 0; i < nbatches; i++) {
                sl_buf_reset(&out);
                if (codec_decompress(codec_ids[c], b[i].comp[c].data + REC_HDR_LEN,
                                     b[i].comp[c].len - REC_HDR_LEN, &out, 64u << 20) != 0) {
                    fprintf(stderr, "bench_codecs: %s decompress failed\n", codec_names[c]);
                    return -1;
                }
            }
            t_dec[c][round] = bl_now_s() - td0;
            for (int pass = 0; pass < 2; pass++) {
                int validate_first = round % 2;
                int doing_validate = pass == 0 ? validate_first : !validate_first;
                double t0 = bl_now_s();
                for (int i = 0; i < nbatches; i++) {
                    int rc;
                    if (doing_validate) {
                        rc = codec_validate_batch(b[i].comp[c].data, b[i].comp[c].len,
                                                  1u << 20 > b[i].comp[c].len ? 1u << 20 : b[i].comp[c].len,
                                                  &scratch);
                    } else {
                        sl_buf_reset(&out);
                        rc = codec_compress(codec_ids[c], b[i].plain.data + REC_HDR_LEN,
                                            b[i].plain.len - REC_HDR_LEN, &out,
                                            CODEC_LEVEL_DEFAULT);
                    }
                    if (rc != 0) {
                        fprintf(stderr, "bench_codecs: %s %s: %d\n", codec_names[c],
                                doing_validate ? "validate" : "compress", rc);
                        return -1;
                    }
                }
                double t = bl_now_s() - t0;
                if (doing_validate)
                    t_val[c][round] = t;
                else
                    t_comp[c][round] = t;
            }
        }
    }

    printf("validation vs producer compression: %d batches x %d records x %d B values "
           "(%.1f MB uncompressed), %d rounds, medians\n\n",
           nbatches, RECS_PER_BATCH, VALUE_LEN, plain_bytes / 1e6, opt.rounds);
    printf("%-8s %7s %11s %11s %11s %10s %9s %9s\n", "codec", "ratio", "compress", "decompress",
           "validate", "validate", "dec/comp", "val/comp");
    printf("%-8s %7s %11s %11s %11s %10s %9s %9s\n", "", "in/out", "MB/s (in)", "MB/s (in)",
           "MB/s (in)", "ms/batch", "", "");
    for (int c = 0; c < NCODECS; c++) {
        double tc = bl_median(t_comp[c], opt.rounds), tv = bl_median(t_val[c], opt.rounds);
        double td = bl_median(t_dec[c], opt.rounds);
        if (codec_ids[c] == REC_CODEC_NONE)
            printf("%-8s %7.2f %11s %11s %11.0f %10.3f %9s %9s\n", "none", 1.0, "-", "-",
                   plain_bytes / tv / 1e6, tv * 1e3 / nbatches, "-", "-");
        else
            printf("%-8s %7.2f %11.0f %11.0f %11.0f %10.3f %8.1f%% %8.1f%%\n", codec_names[c],
                   plain_bytes / comp_bytes[c], plain_bytes / tc / 1e6, plain_bytes / td / 1e6,
                   plain_bytes / tv / 1e6, tv * 1e3 / nbatches, 100.0 * td / tc, 100.0 * tv / tc);
    }
    printf("\n(compress = codec_compress of the records section, the producer's work;\n"
           " validate = codec_validate_batch of the compressed batch, the broker's work;\n"
           " both per uncompressed MB. Target: val/comp < 30%%.)\n\n");

    for (int i = 0; i < nbatches; i++) {
        sl_buf_free(&b[i].plain);
        for (int c = 0; c < NCODECS; c++)
            sl_buf_free(&b[i].comp[c]);
    }
    free(b);
    sl_buf_free(&scratch);
    sl_buf_free(&out);
    return 0;
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
