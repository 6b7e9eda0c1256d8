/* bench/bench_broker.c -- sluiced against librdkafka's mock cluster, driven
 * by the same librdkafka producer and consumer code in the same run.
 *
 *   build/bench/bench_broker [--rounds 3] [--scale 1.0] [--only LIST]
 *                            [--e2e-rate 50000] [--e2e-seconds 5]
 *                            [--e2e-linger-ms 0] [--linger-ms 5]
 *                            [--produce-partitions 1] [--consume-partitions 8]
 *                            [--broker-override key=value]... [--no-warm]
 *
 * Workloads (full scale):
 *   p100-acks1    produce 1M x 100 B, acks=1
 *   p100-acksall  produce 1M x 100 B, acks=all
 *   p1k-acks1     produce 200k x 1 KiB, acks=1
 *   p1k-acksall   produce 200k x 1 KiB, acks=all
 *   consume       read 1M x 100 B from an 8-partition topic (pre-filled,
 *                 untimed) from the beginning, every partition assigned
 *   e2e           50k records/s for 5 s, consumer with default settings,
 *                 latency = receive time - send time (in the payload)
 *
 * Every measurement gets a fresh target: a new sluiced process with an empty
 * data directory, or a new mock cluster. Each round runs every workload on
 * both targets; the order sluiced/mock flips every round. Medians over the
 * rounds are printed at the end, with the ratio sluiced/mock and sluiced's
 * CPU seconds (utime+stime from /proc/<pid>/stat) per GB of payload. The
 * exit code is 0 whether or not the targets are met (non-zero only if a
 * workload could not run at all).
 *
 * sluiced is $SLUICE_BUILD/sluiced (default build/sluiced); its data lives
 * in $SLUICE_BENCH_DIR or $SLUICE_BUILD/bench-tmp, in a fresh broker.XXXXXX
 * directory that is removed afterwards. The broker is always killed at exit.
 */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include "bench/support/benchlib.h"

#define MAX_ROUNDS     99

/* ---------------------------------------------------------------- options */

static struct {
    int         rounds;
    double      scale;
    const char *only;
    double      e2e_rate;
    double      e2e_seconds;
    int         e2e_linger_ms;
    int         linger_ms;
    int         produce_partitions;
    int         consume_partitions;
    struct bl_overrides overrides;
    int         verbose;
    const char *debug;
    int         warm;
} opt = { 3, 1.0, NULL, 50000, -1, 0, 5, 1, 8, { { 0 }, 0 }, 0, NULL, 1 };

/* ---------------------------------------------------------------- target */

static rd_kafka_conf_t *
base_conf(const struct bl_target *t)
{
    rd_kafka_conf_t *conf =
        bl_rk_conf(t->bootstrap, opt.debug ? "7" : opt.verbose ? "6" : "3", "bench_broker");
    if (opt.debug)
        bl_rk_set(conf, "debug", opt.debug);
    return conf;
}

/* ------------------------------------------------------------- workloads */

struct result {
    int    ok;
    double secs;
    double msgs;
    double bytes;       /* payload bytes */
    double cpu;         /* sluiced CPU seconds, NAN for mock */
    double client_busy; /* busiest thread of this process, share of one CPU */
    double disk_mbs;    /* acks=all rounds: write()+fdatasync of the same bytes */
    char   client_thread[16];
    double p50, p99, p999, pmax;   /* e2e, ms */
};

static struct bl_dr g_dr;       /* delivery reports of the producer in use */

static rd_kafka_t *
make_producer(const struct bl_target *t, const char *acks, int linger_ms, int only_errors)
{
    char err[512];
    rd_kafka_conf_t *conf = base_conf(t);
    bl_rk_set(conf, "acks", acks);
    bl_rk_set_int(conf, "linger.ms", linger_ms);
    bl_rk_set(conf, "queue.buffering.max.messages", "10000000");
    bl_rk_set(conf, "queue.buffering.max.kbytes", "2097151");
    bl_rk_set(conf, "enable.idempotence", "false");
    if (only_errors)
        bl_rk_set(conf, "delivery.report.only.error", "true");
    rd_kafka_conf_set_dr_msg_cb(conf, bl_rk_dr_cb);
    rd_kafka_conf_set_opaque(conf, &g_dr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk)
        fprintf(stderr, "bench_broker: producer: %s\n", err);
    return rk;
}

/* Produce n records of size bytes as fast as the queue allows, flush. */
static int
produce_n(struct bl_target *t, const char *topic, int nparts, long n, int size, const char *acks,
          struct result *res)
{
    static char payload[1 << 16];
    rd_kafka_t *rk = make_producer(t, acks, opt.linger_ms, 1);
    if (!rk)
        return -1;
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (char)('a' + i % 26);
    if (bl_rk_wait_topic(rk, topic, nparts, 15000) != 0) {     /* connects, warms metadata */
        fprintf(stderr, "bench_broker: %s: no metadata\n", topic);
        rd_kafka_destroy(rk);
        return -1;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    memset(&g_dr, 0, sizeof(g_dr));
    struct bl_threads th0, th1;
    bl_threads_snapshot(&th0, 0);
    double cpu0 = bl_target_cpu_s(t);
    int64_t t0 = bl_now_ns();
    for (long i = 0; i < n; i++) {
        if (bl_rk_produce(rk, rkt, (int32_t)(i % nparts), 0, payload, (size_t)size) != 0)
            goto out;
        if ((i & 0x3fff) == 0)
            rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        fprintf(stderr, "bench_broker: flush timed out (%d left)\n", rd_kafka_outq_len(rk));
    int64_t t1 = bl_now_ns();
    double cpu1 = bl_target_cpu_s(t);
    bl_threads_snapshot(&th1, 0);
    res->client_busy = bl_threads_busiest(&th0, &th1, (double)(t1 - t0) / 1e9,
                                          res->client_thread);
    if (g_dr.err)
        fprintf(stderr, "bench_broker: %ld delivery errors (first: %s)\n", g_dr.err,
                g_dr.first_err);
    res->ok = g_dr.err == 0 && rd_kafka_outq_len(rk) == 0;
    res->secs = (double)(t1 - t0) / 1e9;
    res->msgs = (double)n;
    res->bytes = (double)n * size;
    res->cpu = cpu1 - cpu0;
out:
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return res->ok ? 0 : -1;
}

static rd_kafka_t *
make_consumer(const struct bl_target *t)
{
    char err[512];
    rd_kafka_conf_t *conf = base_conf(t);
    /* the mock cluster keeps only ~5 MB per partition (older batches are
     * dropped): an out-of-range offset must restart at the earliest one */
    bl_rk_set(conf, "auto.offset.reset", "earliest");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk)
        fprintf(stderr, "bench_broker: consumer: %s\n", err);
    return rk;
}

/* Start fetching every partition of topic from the beginning into one
 * queue (the simple consumer API: no group coordinator involved). */
static rd_kafka_queue_t *
consume_start(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int nparts)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    for (int p = 0; p < nparts; p++) {
        if (rd_kafka_consume_start_queue(rkt, p, RD_KAFKA_OFFSET_BEGINNING, q) != 0) {
            fprintf(stderr, "bench_broker: consume_start %d: %s\n", p,
                    rd_kafka_err2str(rd_kafka_last_error()));
            rd_kafka_queue_destroy(q);
            return NULL;
        }
    }
    return q;
}

static void
consume_stop(rd_kafka_topic_t *rkt, rd_kafka_queue_t *q, int nparts)
{
    for (int p = 0; p < nparts; p++)
        rd_kafka_consume_stop(rkt, p);
    rd_kafka_queue_destroy(q);
}

struct consume_count {
    long   got;
    double bytes;
    long   per_part[64];
};

static void
count_cb(rd_kafka_message_t *m, void *opaque)
{
    struct consume_count *cc = opaque;
    if (!m->err) {
        cc->got++;
        cc->bytes += (double)m->len;
        if (m->partition >= 0 && m->partition < 64)
            cc->per_part[m->partition]++;
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        fprintf(stderr, "bench_broker: consume: %s\n", rd_kafka_message_errstr(m));
    }
}

static int
consume_n(struct bl_target *t, const char *topic, int nparts, long n, int size, struct result *res)
{
    struct result fill = { 0 };
    if (produce_n(t, topic, nparts, n, size, "1", &fill) != 0) {
        fprintf(stderr, "bench_broker: pre-fill failed\n");
        return -1;
    }
    rd_kafka_t *rk = make_consumer(t);
    if (!rk)
        return -1;
    if (bl_rk_wait_topic(rk, topic, nparts, 15000) != 0) {
        rd_kafka_destroy(rk);
        return -1;
    }
    /* what is there to read: n for sluiced, less for the mock (see above) */
    long avail = 0;
    for (int p = 0; p < nparts; p++) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000) != 0) {
            fprintf(stderr, "bench_broker: watermarks of %s-%d unavailable\n", topic, p);
            rd_kafka_destroy(rk);
            return -1;
        }
        avail += (long)(hi - lo);
    }
    if (avail != n && t->kind == BL_SLUICED)
        fprintf(stderr, "bench_broker: %s holds %ld records, %ld produced\n", topic, avail, n);
    if (avail < n)
        n = avail;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    struct consume_count cc;
    memset(&cc, 0, sizeof(cc));
    struct bl_threads th0, th1;
    bl_threads_snapshot(&th0, 0);
    double cpu0 = bl_target_cpu_s(t);
    int64_t t0 = bl_now_ns(), last = t0;
    rd_kafka_queue_t *q = consume_start(rk, rkt, nparts);
    if (!q)
        goto out;
    while (cc.got < n) {
        long before = cc.got;
        /* serves what is queued, waiting only while the queue is empty */
        rd_kafka_consume_callback_queue(q, 100, count_cb, &cc);
        int64_t tn = bl_now_ns();
        if (cc.got > before)
            last = tn;
        else if (tn - last > 30 * 1000000000LL) {
            fprintf(stderr, "bench_broker: consume stalled at %ld/%ld\n", cc.got, n);
            for (int p = 0; p < nparts && p < 64; p++) {
                int64_t lo = -1, hi = -1;
                rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000);
                fprintf(stderr, "  partition %d: consumed %ld, watermarks %lld..%lld\n", p,
                        cc.per_part[p], (long long)lo, (long long)hi);
            }
            break;
        }
    }
    long got = cc.got;
    double bytes = cc.bytes;
    int64_t t1 = bl_now_ns();
    double cpu1 = bl_target_cpu_s(t);
    bl_threads_snapshot(&th1, 0);
    res->client_busy = bl_threads_busiest(&th0, &th1, (double)(t1 - t0) / 1e9,
                                          res->client_thread);
    res->ok = got >= n;
    res->secs = (double)(t1 - t0) / 1e9;
    res->msgs = (double)got;
    res->bytes = bytes;
    res->cpu = cpu1 - cpu0;
    consume_stop(rkt, q, nparts);
out:
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return res->ok ? 0 : -1;
}

/* end to end */

struct e2e_state {
    rd_kafka_queue_t *q;
    volatile int      stop;
    long              expect;     /* measured records sent (set when known) */
    volatile int      expect_set;
    double           *lat;        /* ms */
    long              nlat, cap;
    long              warm;
};

static void
e2e_cb(rd_kafka_message_t *m, void *opaque)
{
    struct e2e_state *s = opaque;
    int64_t tn = bl_now_ns();
    if (!m->err && m->len >= 9) {
        int64_t sent;
        const char *p = m->payload;
        memcpy(&sent, p, 8);
        if (p[8] == 1) {
            if (s->nlat < s->cap)
                s->lat[s->nlat++] = (double)(tn - sent) / 1e6;
        } else {
            s->warm++;
        }
    }
}

static void *
e2e_consumer(void *arg)
{
    struct e2e_state *s = arg;
    while (!s->stop) {
        rd_kafka_consume_callback_queue(s->q, 50, e2e_cb, s);
        if (s->expect_set && s->nlat >= s->expect)
            break;
    }
    return NULL;
}

static double
pctl(const double *v, long n, double q)
{
    if (n <= 0)
        return NAN;
    long i = (long)ceil(q * (double)n) - 1;
    if (i < 0)
        i = 0;
    if (i >= n)
        i = n - 1;
    return v[i];
}

static int
e2e_run(struct bl_target *t, const char *topic, double rate, double secs, struct result *res)
{
    const double warm_s = 0.5;
    char payload[100];
    struct e2e_state s;
    pthread_t th;
    long sent = 0, measured = 0;

    memset(&s, 0, sizeof(s));
    memset(payload, 'x', sizeof(payload));
    s.cap = (long)(rate * secs * 1.1) + 1000;
    s.lat = malloc((size_t)s.cap * sizeof(double));
    if (!s.lat)
        return -1;

    rd_kafka_t *ck = make_consumer(t);
    rd_kafka_t *pk = make_producer(t, "1", opt.e2e_linger_ms, 1);
    if (!ck || !pk || bl_rk_wait_topic(pk, topic, 1, 15000) != 0 || bl_rk_wait_topic(ck, topic, 1, 15000) != 0) {
        if (ck) rd_kafka_destroy(ck);
        if (pk) rd_kafka_destroy(pk);
        free(s.lat);
        return -1;
    }
    rd_kafka_topic_t *crkt = rd_kafka_topic_new(ck, topic, NULL);
    rd_kafka_topic_t *prkt = rd_kafka_topic_new(pk, topic, NULL);
    s.q = consume_start(ck, crkt, 1);
    if (!s.q)
        goto out;
    pthread_create(&th, NULL, e2e_consumer, &s);

    memset(&g_dr, 0, sizeof(g_dr));
    double cpu0 = 0;
    int64_t start = bl_now_ns(), mstart = start + (int64_t)(warm_s * 1e9);
    int64_t end = mstart + (int64_t)(secs * 1e9);
    int measuring = 0;
    for (;;) {
        int64_t tn = bl_now_ns();
        if (tn >= end)
            break;
        if (!measuring && tn >= mstart) {
            measuring = 1;
            cpu0 = bl_target_cpu_s(t);
        }
        long due = (long)((double)(tn - start) / 1e9 * rate);
        while (sent < due) {
            int64_t ts = bl_now_ns();
            memcpy(payload, &ts, 8);
            payload[8] = (char)(ts >= mstart);
            if (rd_kafka_produce(prkt, 0, RD_KAFKA_MSG_F_COPY, payload, sizeof(payload), NULL, 0,
                                 NULL) != 0) {
                rd_kafka_poll(pk, 1);
                continue;
            }
            sent++;
            if (payload[8])
                measured++;
        }
        rd_kafka_poll(pk, 0);
        bl_sleep_us(100);
    }
    rd_kafka_flush(pk, 30000);
    s.expect = measured;
    s.expect_set = 1;
    int64_t deadline = bl_now_ns() + 10 * 1000000000LL;
    while (s.nlat < measured && bl_now_ns() < deadline)
        bl_sleep_us(10000);
    double cpu1 = bl_target_cpu_s(t);
    s.stop = 1;
    pthread_join(th, NULL);
    if (s.nlat < measured)
        fprintf(stderr, "bench_broker: e2e received %ld of %ld measured records\n", s.nlat, measured);
    qsort(s.lat, (size_t)s.nlat, sizeof(double), bl_cmp_double);
    res->ok = s.nlat >= measured && measured > 0 && g_dr.err == 0;
    res->secs = secs;
    res->msgs = (double)measured;
    res->bytes = (double)measured * sizeof(payload);
    res->cpu = cpu1 - cpu0;
    res->p50 = pctl(s.lat, s.nlat, 0.50);
    res->p99 = pctl(s.lat, s.nlat, 0.99);
    res->p999 = pctl(s.lat, s.nlat, 0.999);
    res->pmax = s.nlat ? s.lat[s.nlat - 1] : NAN;
    consume_stop(crkt, s.q, 1);
out:
    rd_kafka_topic_destroy(crkt);
    rd_kafka_topic_destroy(prkt);
    rd_kafka_destroy(pk);
    rd_kafka_destroy(ck);
    free(s.lat);
    return res->ok ? 0 : -1;
}

/* ---------------------------------------------------------------- driver */

enum { W_P100_1, W_P100_ALL, W_P1K_1, W_P1K_ALL, W_CONSUME, W_E2E, W__NUM };
static const char *const wname[W__NUM] = {
    "p100-acks1", "p100-acksall", "p1k-acks1", "p1k-acksall", "consume", "e2e",
};
static const char *const wdesc[W__NUM] = {
    "produce 100 B acks=1", "produce 100 B acks=all", "produce 1 KiB acks=1",
    "produce 1 KiB acks=all", "consume 100 B, 8 part.", "e2e 100 B",
};

static struct result results[W__NUM][2][MAX_ROUNDS];

static long
scaled(long full)
{
    long n = (long)((double)full * opt.scale);
    return n < 1000 ? 1000 : n;
}

static int
run_one(int w, int kind, int round, struct result *res)
{
    struct bl_target t;
    char topic[64];
    int rc = -1, nparts;

    memset(res, 0, sizeof(*res));
    snprintf(topic, sizeof(topic), "bench-%s-%d", wname[w], round);
    nparts = w == W_CONSUME ? opt.consume_partitions : w == W_E2E ? 1 : opt.produce_partitions;
    static const double full[W__NUM] = { 1e8, 1e8, 2048e5, 2048e5, 1e8, 0 };
    char dir[PATH_MAX];
    bl_bench_dir(dir, sizeof(dir));
    if (opt.warm && w != W_E2E)
        bl_warm_pages_keep(dir, full[w] * opt.scale * 1.2);
    if (bl_target_start(&t, kind, "broker", &opt.overrides) != 0) {
        bl_warm_release();
        return -1;
    }
    if (bl_target_create_topic(&t, topic, nparts, base_conf(&t), 15000) != 0)
        goto out;
    bl_warm_release();      /* warm free pages now, not seconds before the run */
    switch (w) {
    case W_P100_1:   rc = produce_n(&t, topic, nparts, scaled(1000000), 100, "1", res); break;
    case W_P100_ALL: rc = produce_n(&t, topic, nparts, scaled(1000000), 100, "all", res); break;
    case W_P1K_1:    rc = produce_n(&t, topic, nparts, scaled(200000), 1024, "1", res); break;
    case W_P1K_ALL:  rc = produce_n(&t, topic, nparts, scaled(200000), 1024, "all", res); break;
    case W_CONSUME:  rc = consume_n(&t, topic, nparts, scaled(1000000), 100, res); break;
    case W_E2E: {
        double secs = opt.e2e_seconds > 0 ? opt.e2e_seconds : 5.0 * (opt.scale < 1 ? opt.scale : 1);
        if (secs < 1)
            secs = 1;
        rc = e2e_run(&t, topic, opt.e2e_rate, secs, res);
        break;
    }
    }
out:
    bl_warm_release();
    bl_target_stop(&t);
    if (rc == 0 && kind == BL_SLUICED && (w == W_P100_ALL || w == W_P1K_ALL))
        res->disk_mbs = bl_raw_sync_write_mbs(dir, full[w] * opt.scale);
    return rc;
}

enum { M_MSGS, M_MBS, M_CPUGB, M_P50, M_P99, M_P999, M_PMAX, M_CPUPCT, M_CLIENT };

static double
metric(const struct result *r, int m)
{
    if (!r->ok)
        return NAN;
    switch (m) {
    case M_MSGS:  return r->msgs / r->secs;
    case M_MBS:   return r->bytes / r->secs / 1e6;
    case M_CPUGB: return r->cpu / (r->bytes / 1e9);
    case M_P50:   return r->p50;
    case M_P99:   return r->p99;
    case M_P999:  return r->p999;
    case M_PMAX:  return r->pmax;
    case M_CPUPCT: return r->cpu / r->secs * 100;
    case M_CLIENT: return r->client_busy * 100;
    }
    return NAN;
}

static double
med(int w, int kind, int m)
{
    double v[MAX_ROUNDS];
    for (int r = 0; r < opt.rounds; r++)
        v[r] = metric(&results[w][kind][r], m);
    return bl_median(v, opt.rounds);
}

static int
selected(int w)
{
    if (!opt.only)
        return 1;
    const char *p = opt.only;
    size_t len = strlen(wname[w]);
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == len && !strncmp(p, wname[w], l))
            return 1;
        if (l && !strncmp(p, "produce", l) && w <= W_P1K_ALL)
            return 1;
        p += l + (e ? 1 : 0);
    }
    return 0;
}

static const char *
verdict(double v, double goal, int ge)
{
    if (isnan(v))
        return "n/a ";
    return (ge ? v >= goal : v <= goal) ? "PASS" : "MISS";
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: bench_broker [--rounds N] [--scale F] [--only W1,W2...]\n"
            "                    [--e2e-rate R] [--e2e-seconds S] [--e2e-linger-ms MS]\n"
            "                    [--linger-ms MS] [--produce-partitions N]\n"
            "                    [--consume-partitions N] [--broker-override k=v]...\n"
            "                    [--debug librdkafka-debug-contexts] [--no-warm] [-v]\n"
            "workloads: p100-acks1 p100-acksall p1k-acks1 p1k-acksall consume e2e (or 'produce')\n"
            "Full run: build/bench/bench_broker --rounds 3 --scale 1\n");
}

int
main(int argc, char **argv)
{
    int failures = 0;

    bl_set_prog("bench_broker");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define ARG(name) (v = bl_arg(argc, argv, &i, name))
        if (ARG("--rounds"))
            opt.rounds = atoi(v);
        else if (ARG("--scale"))
            opt.scale = atof(v);
        else if (ARG("--only"))
            opt.only = v;
        else if (ARG("--e2e-rate"))
            opt.e2e_rate = atof(v);
        else if (ARG("--e2e-seconds"))
            opt.e2e_seconds = atof(v);
        else if (ARG("--e2e-linger-ms"))
            opt.e2e_linger_ms = atoi(v);
        else if (ARG("--linger-ms"))
            opt.linger_ms = atoi(v);
        else if (ARG("--produce-partitions"))
            opt.produce_partitions = atoi(v);
        else if (ARG("--consume-partitions"))
            opt.consume_partitions = atoi(v);
        else if (ARG("--broker-override"))
            bl_overrides_add(&opt.overrides, v);
        else if (ARG("--debug"))
            opt.debug = v;
        else if (!strcmp(a, "--no-warm"))
            opt.warm = 0;
        else if (!strcmp(a, "-v"))
            opt.verbose = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else {
            bl_arg_unknown(argc, argv, &i);     /* other benchmarks' options */
        }
#undef ARG
    }
    opt.rounds = bl_clamp(opt.rounds, 1, MAX_ROUNDS);
    if (opt.scale <= 0)
        opt.scale = 1;

    bl_cleanup_at_exit(NULL);

    printf("bench_broker: %d rounds, scale %.3g, linger.ms %d (e2e %d), e2e %.0f rec/s, "
           "page warm-up %s, librdkafka %s, %ld CPUs (parallel capacity now %.2f)\n",
           opt.rounds, opt.scale, opt.linger_ms, opt.e2e_linger_ms, opt.e2e_rate,
           opt.warm ? "on" : "off", rd_kafka_version_str(), sysconf(_SC_NPROCESSORS_ONLN),
           bl_parallel_cpus());
    fflush(stdout);

    for (int r = 0; r < opt.rounds; r++) {
        for (int w = 0; w < W__NUM; w++) {
            if (!selected(w))
                continue;
            for (int k = 0; k < 2; k++) {
                int kind = (r % 2) ? 1 - k : k;     /* alternate who goes first */
                struct result *res = &results[w][kind][r];
                double t0 = bl_now_s();
                if (run_one(w, kind, r, res) != 0) {
                    res->ok = 0;
                    failures++;
                    printf("  round %d %-13s %-7s FAILED\n", r + 1, wname[w], bl_tname[kind]);
                } else if (w == W_E2E) {
                    printf("  round %d %-13s %-7s p50 %.2f p99 %.2f p99.9 %.2f max %.2f ms"
                           " (%.0f rec)  [%.1fs]\n",
                           r + 1, wname[w], bl_tname[kind], res->p50, res->p99, res->p999,
                           res->pmax, res->msgs, bl_now_s() - t0);
                } else {
                    printf("  round %d %-13s %-7s %10.0f msg/s %8.1f MB/s  cpu %.3fs  "
                           "client %s %.0f%%  [%.1fs]\n",
                           r + 1, wname[w], bl_tname[kind], metric(res, M_MSGS),
                           metric(res, M_MBS), res->cpu, res->client_thread,
                           metric(res, M_CLIENT), bl_now_s() - t0);
                }
                fflush(stdout);
            }
        }
    }

    printf("\nMedians over %d rounds (payload bytes; MB = 1e6 B; CPU = sluiced utime+stime)\n\n",
           opt.rounds);
    printf("%-24s %12s %9s %12s %9s %7s %10s %9s %9s\n", "workload", "sluiced/s", "MB/s",
           "mock/s", "MB/s", "ratio", "CPU-s/GB", "client%", "client%");
    printf("%-24s %12s %9s %12s %9s %7s %10s %9s %9s\n", "", "", "", "", "", "", "",
           "(sluiced)", "(mock)");
    for (int w = 0; w < W_E2E; w++) {
        if (!selected(w))
            continue;
        double sm = med(w, BL_SLUICED, M_MSGS), mm = med(w, BL_MOCK, M_MSGS);
        printf("%-24s %12.0f %9.1f %12.0f %9.1f %7.2f %10.2f %9.0f %9.0f\n", wdesc[w], sm,
               med(w, BL_SLUICED, M_MBS), mm, med(w, BL_MOCK, M_MBS), sm / mm,
               med(w, BL_SLUICED, M_CPUGB), med(w, BL_SLUICED, M_CLIENT),
               med(w, BL_MOCK, M_CLIENT));
    }
    if (selected(W_E2E)) {
        printf("\n%-24s %8s %8s %8s %8s %10s\n", "e2e latency (ms)", "p50", "p99", "p99.9", "max",
               "CPU %");
        for (int k = 0; k < 2; k++)
            printf("%-24s %8.2f %8.2f %8.2f %8.2f %10.1f\n", bl_tname[k], med(W_E2E, k, M_P50),
                   med(W_E2E, k, M_P99), med(W_E2E, k, M_P999), med(W_E2E, k, M_PMAX),
                   med(W_E2E, k, M_CPUPCT));
    }

    printf("\n(client%% = the busiest thread of this process -- librdkafka's, or the mock\n"
           " cluster's own -- in %% of one CPU, median; near 100 the client caps the rate)\n");
    printf("\nTargets (sluiced)\n");
    for (int w = W_P100_1; w <= W_P1K_ALL; w++) {
        if (!selected(w))
            continue;
        double ratio = med(w, BL_SLUICED, M_MSGS) / med(w, BL_MOCK, M_MSGS);
        printf("  %-4s %-24s %.2fx mock (>= 1.0x)\n", verdict(ratio, 1.0, 1), wdesc[w], ratio);
    }
    if (selected(W_CONSUME)) {
        double ratio = med(W_CONSUME, BL_SLUICED, M_MSGS) / med(W_CONSUME, BL_MOCK, M_MSGS);
        printf("  %-4s %-24s %.2fx mock (>= 1.5x)\n", verdict(ratio, 1.5, 1), wdesc[W_CONSUME],
               ratio);
    }
    if (selected(W_E2E)) {
        double p99 = med(W_E2E, BL_SLUICED, M_P99), p999 = med(W_E2E, BL_SLUICED, M_P999);
        printf("  %-4s %-24s p99 %.2f ms (<= 3 ms)\n", verdict(p99, 3, 0), "e2e latency", p99);
        printf("  %-4s %-24s p99.9 %.2f ms (<= 10 ms)\n", verdict(p999, 10, 0), "e2e latency",
               p999);
    }
    for (int w = W_P100_1; w <= W_P1K_ALL; w++) {
        if (!selected(w))
            continue;
        double c = med(w, BL_SLUICED, M_CPUGB);
        printf("  %-4s %-24s %.2f CPU-s/GB ingested (<= 0.5)\n", verdict(c, 0.5, 0), wdesc[w], c);
    }
    for (int w = W_P100_ALL; w <= W_P1K_ALL; w += 2) {
        if (!selected(w))
            continue;
        double d[MAX_ROUNDS];
        for (int r = 0; r < opt.rounds; r++)
            d[r] = results[w][BL_SLUICED][r].ok ? results[w][BL_SLUICED][r].disk_mbs : NAN;
        double disk = bl_median(d, opt.rounds), mbs = med(w, BL_SLUICED, M_MBS);
        printf("  info %-24s %.0f MB/s = %.2fx the disk's write()+fdatasync of the same "
               "bytes (%.0f MB/s)\n", wdesc[w], mbs, mbs / disk, disk);
        if (!selected(w - 1))
            continue;
        double ratio = med(w, BL_SLUICED, M_MSGS) / med(w - 1, BL_SLUICED, M_MSGS);
        printf("  %-4s %-24s %.2fx acks=1 (>= 0.8x)\n", verdict(ratio, 0.8, 1), wdesc[w], ratio);
    }
    if (failures)
        printf("\n%d measurement(s) failed (see stderr)\n", failures);
    return 0;
}
