/* bench/bench_client.c -- libsluice's producer and consumer against
 * librdkafka's, both talking to the same sluiced in the same run.
 *
 *   build/bench/bench_client [--rounds 3] [--records 1000000] [--size 100]
 *                            [--partitions 1] [--consume-partitions 1]
 *                            [--linger-ms 5] [--batch-bytes 1048576]
 *                            [--only produce|consume] [--no-warm]
 *
 * One sluiced ($SLUICE_BUILD/sluiced, default build/sluiced) is started on
 * 127.0.0.1:0 with a fresh data directory under $SLUICE_BENCH_DIR or
 * $SLUICE_BUILD/bench-tmp (removed afterwards; the broker is killed at exit,
 * also on a signal or a crash). Workloads:
 *
 *   produce   --records records of --size bytes, acks=1, explicit partition
 *             i % --partitions, as fast as the client takes them, timed
 *             until flush returns. Each run gets a fresh topic (deleted
 *             after the run). Both clients: linger 5 ms, batches up to
 *             1 MiB, no compression, no idempotence (acks=1), delivery
 *             reports counted.
 *   consume   one topic filled once beforehand (untimed, by libsluice), then
 *             read from the beginning by manual assignment of every
 *             partition until all records are in, timed from the assign to
 *             the last record.
 *
 * Each round runs libsluice then librdkafka in odd rounds and the other way
 * round in even ones; the table has medians over the rounds, records/s,
 * MB/s (10^6 bytes of payload) and the ratio libsluice/librdkafka. Target:
 * ratio >= 0.9. Prints PASS/MISS and exits 0 whatever the figures (non-zero
 * only when a workload could not run at all). Unknown options (such as
 * --size passed on by scripts/run-bench) are ignored.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <librdkafka/rdkafka.h>
#include "bench/support/benchlib.h"
#include "client/sluice.h"

#define MAX_ROUNDS 99

static struct {
    int         rounds;
    long        records;
    int         size;
    int         partitions;
    int         consume_partitions;
    int         linger_ms;
    int         batch_bytes;
    const char *only;
    int         warm;
} opt = { 3, 1000000, 100, 1, 1, 5, 1048576, NULL, 1 };

static char g_bootstrap[64];

/* ------------------------------------------------------------- libsluice */

static struct sluice *
sl_open(void)
{
    struct sluice_conf conf;
    struct sluice *sl;

    sluice_conf_init(&conf);
    conf.bootstrap = g_bootstrap;
    conf.client_id = "bench_client";
    if (sluice_new(&sl, &conf) != 0) {
        fprintf(stderr, "bench_client: sluice_new: %s\n", sluice_errmsg(sl));
        sluice_destroy(sl);
        return NULL;
    }
    return sl;
}

/* CreateTopics, then wait until Metadata shows it with leaders. */
static int
topic_create(const char *topic, int nparts)
{
    struct sluice *sl = sl_open();
    int64_t deadline = bl_now_ns() + 15 * 1000000000LL;
    int rc;

    if (!sl)
        return -1;
    rc = sluice_create_topic(sl, topic, nparts, 1, NULL, 0);
    if (rc) {
        fprintf(stderr, "bench_client: create %s: %s\n", topic, sluice_errmsg(sl));
        sluice_destroy(sl);
        return -1;
    }
    for (;;) {
        struct sluice_metadata *md = NULL;
        const char *names[1] = { topic };
        int ok = 0;
        if (sluice_metadata(sl, names, 1, &md) == 0) {
            ok = md->topic_count == 1 && md->topics[0].err == 0 &&
                 md->topics[0].partition_count == nparts;
            for (int i = 0; ok && i < nparts; i++)
                ok = md->topics[0].partitions[i].leader >= 0;
            sluice_metadata_free(md);
        }
        if (ok)
            break;
        if (bl_now_ns() > deadline) {
            fprintf(stderr, "bench_client: topic %s did not appear in metadata\n", topic);
            sluice_destroy(sl);
            return -1;
        }
        bl_sleep_us(20000);
    }
    sluice_destroy(sl);
    return 0;
}

static void
topic_delete(const char *topic)
{
    struct sluice *sl = sl_open();
    if (sl) {
        sluice_delete_topic(sl, topic);
        sluice_destroy(sl);
    }
}

struct result {
    int    ok;
    double secs;
};

static char g_payload[1 << 16];

static void
sl_dr(void *opaque, const struct sluice_record *rec, int err)
{
    struct bl_dr *c = opaque;
    (void)rec;
    if (err) {
        if (c->err++ == 0)
            snprintf(c->first_err, sizeof(c->first_err), "%s", sluice_strerror(err));
    } else {
        c->ok++;
    }
}

static int
sl_produce(const char *topic, struct result *res)
{
    struct sluice_conf conf;
    struct sluice *sl;
    struct sluice_record rec;
    struct bl_dr dc = { 0, 0, "" };
    int64_t t0, t1;
    int rc;

    sluice_conf_init(&conf);
    conf.bootstrap = g_bootstrap;
    conf.client_id = "bench_client";
    conf.acks = 1;
    conf.linger_ms = opt.linger_ms;
    conf.batch_size = opt.batch_bytes;
    conf.enable_idempotence = 0;
    conf.delivery_cb = sl_dr;
    conf.opaque = &dc;
    if (sluice_new(&sl, &conf) != 0) {
        fprintf(stderr, "bench_client: sluice_new: %s\n", sluice_errmsg(sl));
        sluice_destroy(sl);
        return -1;
    }
    int32_t np;
    if (sluice_partition_count(sl, topic, 0, &np) != 0 || np != opt.partitions) {
        fprintf(stderr, "bench_client: %s: no metadata: %s\n", topic, sluice_errmsg(sl));
        sluice_destroy(sl);
        return -1;
    }
    memset(&rec, 0, sizeof(rec));
    rec.topic = topic;
    rec.value = g_payload;
    rec.value_len = opt.size;
    t0 = bl_now_ns();
    for (long i = 0; i < opt.records; i++) {
        rec.partition = (int32_t)(i % opt.partitions);
        if ((rc = sluice_produce(sl, &rec)) != 0) {
            fprintf(stderr, "bench_client: sluice_produce: %s\n", sluice_errmsg(sl));
            sluice_destroy(sl);
            return -1;
        }
    }
    rc = sluice_flush(sl, 120000);
    t1 = bl_now_ns();
    if (rc)
        fprintf(stderr, "bench_client: sluice_flush: %s\n", sluice_errmsg(sl));
    if (dc.err)
        fprintf(stderr, "bench_client: libsluice: %ld delivery errors (first: %s)\n", dc.err,
                dc.first_err);
    res->ok = rc == 0 && dc.err == 0 && dc.ok == opt.records;
    res->secs = (double)(t1 - t0) / 1e9;
    sluice_destroy(sl);
    return res->ok ? 0 : -1;
}

static int
sl_consume(const char *topic, struct result *res)
{
    struct sluice *sl = sl_open();
    struct sluice_record rec;
    long got = 0;
    double bytes = 0;
    int64_t t0, t1;
    int rc;

    if (!sl)
        return -1;
    t0 = bl_now_ns();
    for (int p = 0; p < opt.consume_partitions; p++)
        if ((rc = sluice_assign(sl, topic, p, SLUICE_OFFSET_BEGINNING)) != 0) {
            fprintf(stderr, "bench_client: sluice_assign: %s\n", sluice_errmsg(sl));
            sluice_destroy(sl);
            return -1;
        }
    while (got < opt.records) {
        rc = sluice_consume(sl, &rec, 10000);
        if (rc) {
            fprintf(stderr, "bench_client: sluice_consume after %ld records: %s\n", got,
                    sluice_errmsg(sl)[0] ? sluice_errmsg(sl) : sluice_strerror(rc));
            break;
        }
        got++;
        bytes += rec.value_len;
    }
    t1 = bl_now_ns();
    res->ok = got == opt.records && bytes == (double)opt.records * opt.size;
    res->secs = (double)(t1 - t0) / 1e9;
    sluice_destroy(sl);
    return res->ok ? 0 : -1;
}

/* ------------------------------------------------------------ librdkafka */

static int
rdk_produce(const char *topic, struct result *res)
{
    char err[512];
    struct bl_dr dc = { 0, 0, "" };
    rd_kafka_conf_t *conf = bl_rk_conf(g_bootstrap, "3", "bench_client");
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    int64_t t0, t1;

    bl_rk_set(conf, "acks", "1");
    bl_rk_set_int(conf, "linger.ms", opt.linger_ms);
    bl_rk_set_int(conf, "batch.size", opt.batch_bytes);
    bl_rk_set(conf, "batch.num.messages", "1000000");    /* let batch.size decide */
    bl_rk_set(conf, "queue.buffering.max.messages", "10000000");
    bl_rk_set(conf, "queue.buffering.max.kbytes", "2097151");
    bl_rk_set(conf, "enable.idempotence", "false");
    bl_rk_set(conf, "compression.codec", "none");
    rd_kafka_conf_set_dr_msg_cb(conf, bl_rk_dr_cb);
    rd_kafka_conf_set_opaque(conf, &dc);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench_client: rd_kafka_new: %s\n", err);
        return -1;
    }
    if (bl_rk_wait_topic(rk, topic, opt.partitions, 15000) != 0) {
        fprintf(stderr, "bench_client: librdkafka: %s: no metadata\n", topic);
        rd_kafka_destroy(rk);
        return -1;
    }
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    t0 = bl_now_ns();
    for (long i = 0; i < opt.records; i++) {
        if (bl_rk_produce(rk, rkt, (int32_t)(i % opt.partitions), 0, g_payload,
                          (size_t)opt.size) != 0) {
            rd_kafka_topic_destroy(rkt);
            rd_kafka_destroy(rk);
            return -1;
        }
        if ((i & 0x3fff) == 0)
            rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        fprintf(stderr, "bench_client: rd_kafka_flush timed out (%d left)\n", rd_kafka_outq_len(rk));
    t1 = bl_now_ns();
    if (dc.err)
        fprintf(stderr, "bench_client: librdkafka: %ld delivery errors (first: %s)\n", dc.err,
                dc.first_err);
    res->ok = dc.err == 0 && dc.ok == opt.records && rd_kafka_outq_len(rk) == 0;
    res->secs = (double)(t1 - t0) / 1e9;
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return res->ok ? 0 : -1;
}

static int
rdk_consume(const char *topic, struct result *res)
{
    char err[512];
    rd_kafka_conf_t *conf = bl_rk_conf(g_bootstrap, "3", "bench_client");
    rd_kafka_topic_partition_list_t *parts;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    static rd_kafka_message_t *msgs[10000];
    long got = 0;
    double bytes = 0;
    int64_t t0, t1, last;

    /* a group id is needed by the consumer API; nothing is committed and
     * rd_kafka_assign() never joins the group */
    bl_rk_set(conf, "group.id", "bench_client");
    bl_rk_set(conf, "enable.auto.commit", "false");
    bl_rk_set(conf, "enable.auto.offset.store", "false");
    bl_rk_set(conf, "auto.offset.reset", "earliest");
    /* the default (100000) makes the fetcher pause when the application
     * queue is "full", and resume up to a second later: runs were bimodal
     * (1.0 or 3-4 M records/s); with room for the whole run they are not */
    bl_rk_set(conf, "queued.min.messages", "1000000");
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench_client: rd_kafka_new (consumer): %s\n", err);
        return -1;
    }
    if (bl_rk_wait_topic(rk, topic, opt.consume_partitions, 15000) != 0) {
        rd_kafka_destroy(rk);
        return -1;
    }
    parts = rd_kafka_topic_partition_list_new(opt.consume_partitions);
    for (int p = 0; p < opt.consume_partitions; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    t0 = last = bl_now_ns();
    if (rd_kafka_assign(rk, parts) != 0) {
        fprintf(stderr, "bench_client: rd_kafka_assign failed\n");
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_destroy(rk);
        return -1;
    }
    /* librdkafka's fastest read path: whole batches off the consumer queue */
    q = rd_kafka_queue_get_consumer(rk);
    while (got < opt.records && bl_now_ns() - last < 10 * 1000000000LL) {
        ssize_t n = rd_kafka_consume_batch_queue(q, 1000, msgs, sizeof(msgs) / sizeof(msgs[0]));
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = msgs[i];
            if (!m->err) {
                got++;
                bytes += (double)m->len;
                last = bl_now_ns();
            } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                fprintf(stderr, "bench_client: librdkafka consume: %s\n", rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
        }
    }
    rd_kafka_queue_destroy(q);
    t1 = bl_now_ns();
    if (got < opt.records)
        fprintf(stderr, "bench_client: librdkafka consumed %ld of %ld records\n", got, opt.records);
    res->ok = got == opt.records && bytes == (double)opt.records * opt.size;
    res->secs = (double)(t1 - t0) / 1e9;
    rd_kafka_assign(rk, NULL);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return res->ok ? 0 : -1;
}

/* ----------------------------------------------------------------- main */

enum { C_SLUICE = 0, C_RDK = 1 };
static const char *const cname[] = { "libsluice", "librdkafka" };

static int
wants(const char *w)
{
    return !opt.only || strstr(opt.only, w) != NULL;
}

static void
parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-warm")) {
            opt.warm = 0;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: bench_client [--rounds N] [--records N] [--size BYTES] [--partitions N]\n"
                   "                    [--consume-partitions N] [--linger-ms MS] [--batch-bytes N]\n"
                   "                    [--only produce|consume] [--no-warm]\n");
            exit(0);
        } else if (v && !strcmp(a, "--rounds")) {
            opt.rounds = atoi(v), i++;
        } else if (v && !strcmp(a, "--records")) {
            opt.records = atol(v), i++;
        } else if (v && !strcmp(a, "--size") && strspn(v, "0123456789") == strlen(v)) {
            opt.size = atoi(v), i++;            /* run-bench's --size 256M is not ours */
        } else if (v && !strcmp(a, "--partitions")) {
            opt.partitions = atoi(v), i++;
        } else if (v && !strcmp(a, "--consume-partitions")) {
            opt.consume_partitions = atoi(v), i++;
        } else if (v && !strcmp(a, "--linger-ms")) {
            opt.linger_ms = atoi(v), i++;
        } else if (v && !strcmp(a, "--batch-bytes")) {
            opt.batch_bytes = atoi(v), i++;
        } else if (v && !strcmp(a, "--only")) {
            opt.only = v, i++;
        }
        /* anything else is ignored (options meant for other benchmarks) */
    }
    opt.rounds = bl_clamp(opt.rounds, 1, MAX_ROUNDS);
    if (opt.records < 1) opt.records = 1;
    if (opt.size < 1 || opt.size > (int)sizeof(g_payload)) opt.size = 100;
    if (opt.partitions < 1) opt.partitions = 1;
    if (opt.consume_partitions < 1) opt.consume_partitions = 1;
}

int
main(int argc, char **argv)
{
    static double psecs[2][MAX_ROUNDS], csecs[2][MAX_ROUNDS];
    int pn[2] = { 0, 0 }, cn[2] = { 0, 0 }, failed = 0;
    double payload;
    const char *ctopic = "bench-consume";

    bl_set_prog("bench_client");
    parse_args(argc, argv);
    for (size_t i = 0; i < sizeof(g_payload); i++)
        g_payload[i] = (char)('a' + i % 26);
    payload = (double)opt.records * opt.size;
    bl_cleanup_at_exit(NULL);
    if (bl_sluiced_start("client", NULL, 0, g_bootstrap, sizeof(g_bootstrap)) < 0)
        return 1;
    printf("bench_client: sluiced at %s; %ld records x %d B, %d round(s), linger %d ms, "
           "batch %d B, acks=1\n", g_bootstrap, opt.records, opt.size, opt.rounds, opt.linger_ms,
           opt.batch_bytes);
    fflush(stdout);

    if (wants("consume")) {
        struct result fill = { 0, 0 };
        int save = opt.partitions;
        opt.partitions = opt.consume_partitions;
        if (topic_create(ctopic, opt.consume_partitions) != 0 || sl_produce(ctopic, &fill) != 0) {
            fprintf(stderr, "bench_client: cannot fill %s\n", ctopic);
            return 1;
        }
        opt.partitions = save;
    }

    for (int r = 0; r < opt.rounds; r++) {
        for (int k = 0; k < 2; k++) {
            int c = (r % 2 == 0) ? k : 1 - k;
            struct result res = { 0, 0 };
            char topic[64];
            if (wants("produce")) {
                snprintf(topic, sizeof(topic), "bench-produce-%d-%s", r, cname[c]);
                if (topic_create(topic, opt.partitions) != 0) {
                    failed = 1;
                    continue;
                }
                if (opt.warm)
                    bl_warm_pages(bl_sluiced_dir(), payload * 1.2);
                if ((c == C_SLUICE ? sl_produce : rdk_produce)(topic, &res) == 0) {
                    psecs[c][pn[c]++] = res.secs;
                    printf("round %d  produce  %-10s  %9.0f rec/s  %7.1f MB/s\n", r + 1, cname[c],
                           (double)opt.records / res.secs, payload / res.secs / 1e6);
                } else {
                    printf("round %d  produce  %-10s  FAILED\n", r + 1, cname[c]);
                    failed = 1;
                }
                fflush(stdout);
                topic_delete(topic);
            }
            if (wants("consume")) {
                if ((c == C_SLUICE ? sl_consume : rdk_consume)(ctopic, &res) == 0) {
                    csecs[c][cn[c]++] = res.secs;
                    printf("round %d  consume  %-10s  %9.0f rec/s  %7.1f MB/s\n", r + 1, cname[c],
                           (double)opt.records / res.secs, payload / res.secs / 1e6);
                } else {
                    printf("round %d  consume  %-10s  FAILED\n", r + 1, cname[c]);
                    failed = 1;
                }
                fflush(stdout);
            }
        }
    }

    printf("\n%-10s %14s %9s %14s %9s %7s   target >= 0.90\n", "workload", "libsluice/s", "MB/s",
           "librdkafka/s", "MB/s", "ratio");
    for (int w = 0; w < 2; w++) {
        double (*secs)[MAX_ROUNDS] = w == 0 ? psecs : csecs;
        int *n = w == 0 ? pn : cn;
        const char *name = w == 0 ? "produce" : "consume";
        double s, k, ratio;
        if (!wants(name))
            continue;
        if (n[C_SLUICE] == 0 || n[C_RDK] == 0) {
            printf("%-10s %14s   (no complete run)   MISS\n", name, "-");
            continue;
        }
        s = (double)opt.records / bl_median(secs[C_SLUICE], n[C_SLUICE]);
        k = (double)opt.records / bl_median(secs[C_RDK], n[C_RDK]);
        ratio = s / k;
        printf("%-10s %14.0f %9.1f %14.0f %9.1f %7.2f   %s\n", name, s, s * opt.size / 1e6, k,
               k * opt.size / 1e6, ratio, ratio >= 0.9 ? "PASS" : "MISS");
    }
    fflush(stdout);
    bl_sluiced_stop();
    (void)failed;
    return 0;
}
