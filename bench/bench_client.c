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
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
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

/* ------------------------------------------------------------------ time */

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
sleep_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------- sluiced process */

static volatile pid_t g_pid;          /* running sluiced, 0 if none */
static char g_dir[PATH_MAX];          /* its temp dir, "" if none */
static char g_bootstrap[64];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

static void
sluiced_stop(void)
{
    pid_t pid = g_pid;

    if (pid > 0) {
        int st;
        kill(pid, SIGTERM);
        for (int i = 0; i < 500; i++) {          /* up to 5 s for a clean stop */
            if (waitpid(pid, &st, WNOHANG) == pid) {
                pid = 0;
                break;
            }
            sleep_us(10000);
        }
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
        }
        g_pid = 0;
    }
    if (g_dir[0]) {
        nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        g_dir[0] = 0;
    }
}

static void
on_signal(int sig)
{
    if (g_pid > 0)
        kill(g_pid, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void
mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
    mkdir(tmp, 0755);
}

/* Write and delete a scratch file of the run's size so the page cache
 * takes warm pages (see bench/README.md, "Page warm-up"). */
static void
warm_pages(double bytes)
{
    static char buf[1 << 20];
    char path[PATH_MAX + 32];
    int fd;

    if (!opt.warm || !g_dir[0])
        return;
    snprintf(path, sizeof(path), "%s/warm.tmp", g_dir);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
        return;
    memset(buf, 1, sizeof(buf));
    for (double done = 0; done < bytes; done += sizeof(buf))
        if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
            break;
    close(fd);
    unlink(path);
}

/* Start sluiced on an ephemeral port with a fresh data dir; fills
 * g_bootstrap. 0 or -1. */
static int
sluiced_start(void)
{
    const char *build = getenv("SLUICE_BUILD");
    const char *base = getenv("SLUICE_BENCH_DIR");
    char bin[PATH_MAX], basebuf[PATH_MAX], logpath[PATH_MAX + 16], ldirs[PATH_MAX + 32];
    const char *argv[8];
    pid_t pid;

    if (!build || !*build)
        build = "build";
    snprintf(bin, sizeof(bin), "%s/sluiced", build);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "bench_client: %s not found (run make, or set SLUICE_BUILD)\n", bin);
        return -1;
    }
    if (!base || !*base) {
        snprintf(basebuf, sizeof(basebuf), "%s/bench-tmp", build);
        base = basebuf;
    }
    mkdir_p(base);
    snprintf(g_dir, sizeof(g_dir), "%s/client.XXXXXX", base);
    if (!mkdtemp(g_dir)) {
        fprintf(stderr, "bench_client: mkdtemp %s: %s\n", g_dir, strerror(errno));
        g_dir[0] = 0;
        return -1;
    }
    snprintf(logpath, sizeof(logpath), "%s/sluiced.log", g_dir);
    snprintf(ldirs, sizeof(ldirs), "log.dirs=%s/data", g_dir);
    argv[0] = bin;
    argv[1] = "--override";
    argv[2] = "listeners=PLAINTEXT://127.0.0.1:0";
    argv[3] = "--override";
    argv[4] = ldirs;
    argv[5] = NULL;

    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);        /* dies with us, even on a crash */
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    g_pid = pid;

    /* wait for "listening on 127.0.0.1:PORT" in its log */
    for (int i = 0; i < 1000; i++) {
        char buf[8192];
        int st;
        FILE *f = fopen(logpath, "r");
        buf[0] = 0;
        if (f) {
            size_t n = fread(buf, 1, sizeof(buf) - 1, f);
            fclose(f);
            buf[n] = 0;
            const char *p = strstr(buf, "listening on 127.0.0.1:");
            if (p) {
                long port = strtol(p + strlen("listening on 127.0.0.1:"), NULL, 10);
                if (port > 0 && port < 65536) {
                    snprintf(g_bootstrap, sizeof(g_bootstrap), "127.0.0.1:%ld", port);
                    return 0;
                }
            }
        }
        if (waitpid(pid, &st, WNOHANG) == pid) {
            g_pid = 0;
            fprintf(stderr, "bench_client: sluiced exited at start:\n%s\n", buf);
            sluiced_stop();
            return -1;
        }
        sleep_us(10000);
    }
    fprintf(stderr, "bench_client: sluiced did not report its port within 10 s\n");
    sluiced_stop();
    return -1;
}

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
    int64_t deadline = now_ns() + 15 * 1000000000LL;
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
        if (now_ns() > deadline) {
            fprintf(stderr, "bench_client: topic %s did not appear in metadata\n", topic);
            sluice_destroy(sl);
            return -1;
        }
        sleep_us(20000);
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

struct dr_count {
    long ok, err;
    int  first_err;
};

static void
sl_dr(void *opaque, const struct sluice_record *rec, int err)
{
    struct dr_count *c = opaque;
    (void)rec;
    if (err) {
        if (c->err++ == 0)
            c->first_err = err;
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
    struct dr_count dc = { 0, 0, 0 };
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
    t0 = now_ns();
    for (long i = 0; i < opt.records; i++) {
        rec.partition = (int32_t)(i % opt.partitions);
        if ((rc = sluice_produce(sl, &rec)) != 0) {
            fprintf(stderr, "bench_client: sluice_produce: %s\n", sluice_errmsg(sl));
            sluice_destroy(sl);
            return -1;
        }
    }
    rc = sluice_flush(sl, 120000);
    t1 = now_ns();
    if (rc)
        fprintf(stderr, "bench_client: sluice_flush: %s\n", sluice_errmsg(sl));
    if (dc.err)
        fprintf(stderr, "bench_client: libsluice: %ld delivery errors (first: %s)\n", dc.err,
                sluice_strerror(dc.first_err));
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
    t0 = now_ns();
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
    t1 = now_ns();
    res->ok = got == opt.records && bytes == (double)opt.records * opt.size;
    res->secs = (double)(t1 - t0) / 1e9;
    sluice_destroy(sl);
    return res->ok ? 0 : -1;
}

/* ------------------------------------------------------------ librdkafka */

static void
set_conf(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "bench_client: %s=%s: %s\n", k, v, err);
        exit(1);
    }
}

static rd_kafka_conf_t *
rdk_conf(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set_conf(conf, "bootstrap.servers", g_bootstrap);
    set_conf(conf, "log_level", "3");
    set_conf(conf, "client.id", "bench_client");
    return conf;
}

static void
rdk_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct dr_count *c = rd_kafka_opaque(rk);
    (void)opaque;
    if (m->err) {
        if (c->err++ == 0)
            c->first_err = m->err;
    } else {
        c->ok++;
    }
}

/* Wait until the topic's metadata shows its partitions (connects too). */
static int
rdk_wait_topic(rd_kafka_t *rk, const char *topic, int nparts)
{
    int64_t deadline = now_ns() + 15 * 1000000000LL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int ok = 0;

    while (!ok && now_ns() < deadline) {
        const struct rd_kafka_metadata *md = NULL;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            ok = md->topic_cnt == 1 && md->topics[0].err == 0 &&
                 md->topics[0].partition_cnt == nparts;
            rd_kafka_metadata_destroy(md);
        }
        if (!ok)
            sleep_us(20000);
    }
    rd_kafka_topic_destroy(rkt);
    return ok ? 0 : -1;
}

static int
rdk_produce(const char *topic, struct result *res)
{
    char err[512], v[32];
    struct dr_count dc = { 0, 0, 0 };
    rd_kafka_conf_t *conf = rdk_conf();
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    int64_t t0, t1;

    set_conf(conf, "acks", "1");
    snprintf(v, sizeof(v), "%d", opt.linger_ms);
    set_conf(conf, "linger.ms", v);
    snprintf(v, sizeof(v), "%d", opt.batch_bytes);
    set_conf(conf, "batch.size", v);
    set_conf(conf, "batch.num.messages", "1000000");    /* let batch.size decide */
    set_conf(conf, "queue.buffering.max.messages", "10000000");
    set_conf(conf, "queue.buffering.max.kbytes", "2097151");
    set_conf(conf, "enable.idempotence", "false");
    set_conf(conf, "compression.codec", "none");
    rd_kafka_conf_set_dr_msg_cb(conf, rdk_dr);
    rd_kafka_conf_set_opaque(conf, &dc);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench_client: rd_kafka_new: %s\n", err);
        return -1;
    }
    if (rdk_wait_topic(rk, topic, opt.partitions) != 0) {
        fprintf(stderr, "bench_client: librdkafka: %s: no metadata\n", topic);
        rd_kafka_destroy(rk);
        return -1;
    }
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    t0 = now_ns();
    for (long i = 0; i < opt.records; i++) {
        while (rd_kafka_produce(rkt, (int32_t)(i % opt.partitions), 0, g_payload, (size_t)opt.size,
                                NULL, 0, NULL) != 0) {
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "bench_client: rd_kafka_produce: %s\n",
                        rd_kafka_err2str(rd_kafka_last_error()));
                rd_kafka_topic_destroy(rkt);
                rd_kafka_destroy(rk);
                return -1;
            }
            rd_kafka_poll(rk, 1);
        }
        if ((i & 0x3fff) == 0)
            rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        fprintf(stderr, "bench_client: rd_kafka_flush timed out (%d left)\n", rd_kafka_outq_len(rk));
    t1 = now_ns();
    if (dc.err)
        fprintf(stderr, "bench_client: librdkafka: %ld delivery errors (first: %s)\n", dc.err,
                rd_kafka_err2str((rd_kafka_resp_err_t)dc.first_err));
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
    rd_kafka_conf_t *conf = rdk_conf();
    rd_kafka_topic_partition_list_t *parts;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    static rd_kafka_message_t *msgs[10000];
    long got = 0;
    double bytes = 0;
    int64_t t0, t1, last;

    /* a group id is needed by the consumer API; nothing is committed and
     * rd_kafka_assign() never joins the group */
    set_conf(conf, "group.id", "bench_client");
    set_conf(conf, "enable.auto.commit", "false");
    set_conf(conf, "enable.auto.offset.store", "false");
    set_conf(conf, "auto.offset.reset", "earliest");
    /* the default (100000) makes the fetcher pause when the application
     * queue is "full", and resume up to a second later: runs were bimodal
     * (1.0 or 3-4 M records/s); with room for the whole run they are not */
    set_conf(conf, "queued.min.messages", "1000000");
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench_client: rd_kafka_new (consumer): %s\n", err);
        return -1;
    }
    if (rdk_wait_topic(rk, topic, opt.consume_partitions) != 0) {
        rd_kafka_destroy(rk);
        return -1;
    }
    parts = rd_kafka_topic_partition_list_new(opt.consume_partitions);
    for (int p = 0; p < opt.consume_partitions; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    t0 = last = now_ns();
    if (rd_kafka_assign(rk, parts) != 0) {
        fprintf(stderr, "bench_client: rd_kafka_assign failed\n");
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_destroy(rk);
        return -1;
    }
    /* librdkafka's fastest read path: whole batches off the consumer queue */
    q = rd_kafka_queue_get_consumer(rk);
    while (got < opt.records && now_ns() - last < 10 * 1000000000LL) {
        ssize_t n = rd_kafka_consume_batch_queue(q, 1000, msgs, sizeof(msgs) / sizeof(msgs[0]));
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = msgs[i];
            if (!m->err) {
                got++;
                bytes += (double)m->len;
                last = now_ns();
            } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                fprintf(stderr, "bench_client: librdkafka consume: %s\n", rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
        }
    }
    rd_kafka_queue_destroy(q);
    t1 = now_ns();
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
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
    if (n == 0)
        return 0;
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

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
    if (opt.rounds < 1) opt.rounds = 1;
    if (opt.rounds > MAX_ROUNDS) opt.rounds = MAX_ROUNDS;
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

    parse_args(argc, argv);
    for (size_t i = 0; i < sizeof(g_payload); i++)
        g_payload[i] = (char)('a' + i % 26);
    payload = (double)opt.records * opt.size;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    atexit(sluiced_stop);
    if (sluiced_start() != 0)
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
                warm_pages(payload * 1.2);
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
        s = (double)opt.records / median(secs[C_SLUICE], n[C_SLUICE]);
        k = (double)opt.records / median(secs[C_RDK], n[C_RDK]);
        ratio = s / k;
        printf("%-10s %14.0f %9.1f %14.0f %9.1f %7.2f   %s\n", name, s, s * opt.size / 1e6, k,
               k * opt.size / 1e6, ratio, ratio >= 0.9 ? "PASS" : "MISS");
    }
    fflush(stdout);
    sluiced_stop();
    (void)failed;
    return 0;
}
