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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
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
#include <librdkafka/rdkafka_mock.h>

#define MAX_ROUNDS     99
#define MAX_OVERRIDES  32

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
    const char *overrides[MAX_OVERRIDES];
    int         noverrides;
    int         verbose;
    const char *debug;
    int         warm;
} opt = { 3, 1.0, NULL, 50000, -1, 0, 5, 1, 8, { 0 }, 0, 0, NULL, 1 };

/* ------------------------------------------------------------------ time */

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double
now_s(void)
{
    return (double)now_ns() / 1e9;
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

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

static void
rm_rf(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
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
        rm_rf(g_dir);
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

/* This VM (virtio-balloon free page reporting) hands memory freed in the
 * guest back to the host a second or two later; touching it again then costs
 * a host page fault per page, which makes the first write of page cache up
 * to ~15x slower (measured: dd of 1 GB 250 MB/s cold, 4 GB/s right after a
 * delete). A long-running broker's page cache is recycled, not freed, so
 * this is not its steady state: before each measured run, write and delete
 * a scratch file of the run's size so the kernel's free lists hold warm
 * pages. Done for both targets (the mock keeps its log in malloc'd memory,
 * which comes from the same free lists). --no-warm turns it off. */
static void
warm_pages(const char *dir, double bytes)
{
    static char buf[1 << 20];
    char path[PATH_MAX + 32];
    int fd;

    snprintf(path, sizeof(path), "%s/warm.tmp", dir);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
        return;
    memset(buf, 1, sizeof(buf));
    for (double done = 0; done < bytes; done += sizeof(buf))
        if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
            break;
    close(fd);
    unlink(path);
}

static void
bench_dir(char *out, size_t n)
{
    const char *build = getenv("SLUICE_BUILD");
    const char *base = getenv("SLUICE_BENCH_DIR");
    if (base && *base)
        snprintf(out, n, "%s", base);
    else
        snprintf(out, n, "%s/bench-tmp", build && *build ? build : "build");
    mkdir_p(out);
}

/* Start build/sluiced on an ephemeral port with a fresh data dir; fills
 * bootstrap ("127.0.0.1:PORT"). 0 or -1. */
static int
sluiced_start(char *bootstrap, size_t bsz)
{
    const char *build = getenv("SLUICE_BUILD");
    const char *base = getenv("SLUICE_BENCH_DIR");
    char bin[PATH_MAX], basebuf[PATH_MAX], logpath[PATH_MAX + 16], datadir[PATH_MAX + 16];
    char ldirs[PATH_MAX + 32];
    const char *argv[8 + 2 * MAX_OVERRIDES];
    int argc = 0;

    if (!build || !*build)
        build = "build";
    snprintf(bin, sizeof(bin), "%s/sluiced", build);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "bench_broker: %s not found (run make, or set SLUICE_BUILD)\n", bin);
        return -1;
    }
    if (!base || !*base) {
        snprintf(basebuf, sizeof(basebuf), "%s/bench-tmp", build);
        base = basebuf;
    }
    mkdir_p(base);
    snprintf(g_dir, sizeof(g_dir), "%s/broker.XXXXXX", base);
    if (!mkdtemp(g_dir)) {
        fprintf(stderr, "bench_broker: mkdtemp %s: %s\n", g_dir, strerror(errno));
        g_dir[0] = 0;
        return -1;
    }
    snprintf(logpath, sizeof(logpath), "%s/sluiced.log", g_dir);
    snprintf(datadir, sizeof(datadir), "%s/data", g_dir);
    snprintf(ldirs, sizeof(ldirs), "log.dirs=%s", datadir);
    argv[argc++] = bin;
    argv[argc++] = "--override";
    argv[argc++] = "listeners=PLAINTEXT://127.0.0.1:0";
    argv[argc++] = "--override";
    argv[argc++] = ldirs;
    for (int i = 0; i < opt.noverrides; i++) {
        argv[argc++] = "--override";
        argv[argc++] = opt.overrides[i];
    }
    argv[argc] = NULL;

    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* dies with us, even if we crash before atexit runs */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
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
        if (f) {
            size_t n = fread(buf, 1, sizeof(buf) - 1, f);
            fclose(f);
            buf[n] = 0;
            const char *p = strstr(buf, "listening on 127.0.0.1:");
            if (p) {
                int port = atoi(p + strlen("listening on 127.0.0.1:"));
                if (port > 0) {
                    snprintf(bootstrap, bsz, "127.0.0.1:%d", port);
                    return 0;
                }
            }
        }
        if (waitpid(pid, &st, WNOHANG) == pid) {
            g_pid = 0;
            fprintf(stderr, "bench_broker: sluiced exited at start:\n%s\n", f ? buf : "");
            sluiced_stop();
            return -1;
        }
        sleep_us(10000);
    }
    fprintf(stderr, "bench_broker: sluiced did not report its port within 10 s\n");
    sluiced_stop();
    return -1;
}

/* CPU seconds used so far by pid (all its threads, user + system).
 * Sums /proc/<pid>/task/<tid>/schedstat (nanoseconds on CPU) for precision;
 * falls back to utime+stime of /proc/<pid>/stat (clock ticks, usually 10 ms)
 * if schedstat is not available. NAN if unreadable. */
static double
proc_cpu_s(pid_t pid)
{
    char path[96], buf[2048];
    unsigned long long ut = 0, stt = 0;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    if ((d = opendir(path)) != NULL) {
        struct dirent *e;
        unsigned long long sum = 0;
        int n = 0;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char tp[128];
            unsigned long long ns;
            snprintf(tp, sizeof(tp), "/proc/%d/task/%.20s/schedstat", (int)pid, e->d_name);
            FILE *f = fopen(tp, "r");
            if (!f)
                continue;
            if (fscanf(f, "%llu", &ns) == 1) {
                sum += ns;
                n++;
            }
            fclose(f);
        }
        closedir(d);
        if (n > 0)
            return (double)sum / 1e9;
    }
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return NAN;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return NAN;
    /* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2)
        return NAN;
    return (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
}

/* ---------------------------------------------------------------- target */

enum { T_SLUICED = 0, T_MOCK = 1 };
static const char *const tname[] = { "sluiced", "mock" };

struct target {
    int                      kind;
    char                     bootstrap[512];
    rd_kafka_t              *mock_rk;
    rd_kafka_mock_cluster_t *mcluster;
};

static void
target_stop(struct target *t)
{
    if (t->kind == T_SLUICED) {
        sluiced_stop();
    } else {
        if (t->mcluster)
            rd_kafka_mock_cluster_destroy(t->mcluster);
        if (t->mock_rk)
            rd_kafka_destroy(t->mock_rk);
        t->mcluster = NULL;
        t->mock_rk = NULL;
    }
}

static int
target_start(struct target *t, int kind)
{
    memset(t, 0, sizeof(*t));
    t->kind = kind;
    if (kind == T_SLUICED)
        return sluiced_start(t->bootstrap, sizeof(t->bootstrap));

    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    t->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!t->mock_rk) {
        fprintf(stderr, "bench_broker: rd_kafka_new (mock owner): %s\n", err);
        return -1;
    }
    t->mcluster = rd_kafka_mock_cluster_new(t->mock_rk, 1);
    if (!t->mcluster) {
        fprintf(stderr, "bench_broker: rd_kafka_mock_cluster_new failed\n");
        target_stop(t);
        return -1;
    }
    snprintf(t->bootstrap, sizeof(t->bootstrap), "%s", rd_kafka_mock_cluster_bootstraps(t->mcluster));
    return 0;
}

static double
target_cpu(const struct target *t)
{
    return t->kind == T_SLUICED && g_pid > 0 ? proc_cpu_s(g_pid) : NAN;
}

static void
set_conf(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "bench_broker: %s=%s: %s\n", k, v, err);
        exit(1);
    }
}

static rd_kafka_conf_t *
base_conf(const struct target *t)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set_conf(conf, "bootstrap.servers", t->bootstrap);
    set_conf(conf, "log_level", opt.debug ? "7" : opt.verbose ? "6" : "3");
    set_conf(conf, "client.id", "bench_broker");
    if (opt.debug)
        set_conf(conf, "debug", opt.debug);
    return conf;
}

/* Wait until the topic's metadata shows nparts partitions with leaders. */
static int
wait_topic(rd_kafka_t *rk, const char *topic, int nparts, int timeout_ms)
{
    int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int ok = 0;

    while (!ok && now_ns() < deadline) {
        const struct rd_kafka_metadata *md = NULL;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md->topic_cnt == 1 && md->topics[0].err == 0 &&
                md->topics[0].partition_cnt == nparts) {
                ok = 1;
                for (int i = 0; i < nparts; i++)
                    if (md->topics[0].partitions[i].leader < 0)
                        ok = 0;
            }
            rd_kafka_metadata_destroy(md);
        }
        if (!ok)
            sleep_us(50000);
    }
    rd_kafka_topic_destroy(rkt);
    return ok ? 0 : -1;
}

static int
create_topic(struct target *t, const char *topic, int nparts)
{
    if (t->kind == T_MOCK) {
        if (rd_kafka_mock_topic_create(t->mcluster, topic, nparts, 1) != 0) {
            fprintf(stderr, "bench_broker: mock topic create %s failed\n", topic);
            return -1;
        }
        return 0;
    }
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, base_conf(t), err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench_broker: rd_kafka_new: %s\n", err);
        return -1;
    }
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, nparts, 1, err, sizeof(err));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    int rc = -1;
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000);
    if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_CREATETOPICS_RESULT) {
        size_t cnt;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        if (rd_kafka_event_error(ev))
            fprintf(stderr, "bench_broker: CreateTopics: %s\n", rd_kafka_event_error_string(ev));
        else if (cnt == 1 && rd_kafka_topic_result_error(res[0]) != 0)
            fprintf(stderr, "bench_broker: CreateTopics %s: %s\n", topic,
                    rd_kafka_topic_result_error_string(res[0]));
        else
            rc = 0;
    } else {
        fprintf(stderr, "bench_broker: CreateTopics %s: no result\n", topic);
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    if (rc == 0 && wait_topic(rk, topic, nparts, 15000) != 0) {
        fprintf(stderr, "bench_broker: topic %s did not appear in metadata\n", topic);
        rc = -1;
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_destroy(rk);
    return rc;
}

/* ------------------------------------------------------------- workloads */

struct result {
    int    ok;
    double secs;
    double msgs;
    double bytes;       /* payload bytes */
    double cpu;         /* sluiced CPU seconds, NAN for mock */
    double p50, p99, p999, pmax;   /* e2e, ms */
};

static volatile long g_dr_err;
static char g_dr_errstr[256];

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk; (void)opaque;
    if (m->err) {
        if (g_dr_err++ == 0)
            snprintf(g_dr_errstr, sizeof(g_dr_errstr), "%s", rd_kafka_err2str(m->err));
    }
}

static rd_kafka_t *
make_producer(const struct target *t, const char *acks, int linger_ms, int only_errors)
{
    char err[512], v[32];
    rd_kafka_conf_t *conf = base_conf(t);
    set_conf(conf, "acks", acks);
    snprintf(v, sizeof(v), "%d", linger_ms);
    set_conf(conf, "linger.ms", v);
    set_conf(conf, "queue.buffering.max.messages", "10000000");
    set_conf(conf, "queue.buffering.max.kbytes", "2097151");
    set_conf(conf, "enable.idempotence", "false");
    if (only_errors)
        set_conf(conf, "delivery.report.only.error", "true");
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk)
        fprintf(stderr, "bench_broker: producer: %s\n", err);
    return rk;
}

/* Produce n records of size bytes as fast as the queue allows, flush. */
static int
produce_n(struct target *t, const char *topic, int nparts, long n, int size, const char *acks,
          struct result *res)
{
    static char payload[1 << 16];
    rd_kafka_t *rk = make_producer(t, acks, opt.linger_ms, 1);
    if (!rk)
        return -1;
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (char)('a' + i % 26);
    if (wait_topic(rk, topic, nparts, 15000) != 0) {     /* connects, warms metadata */
        fprintf(stderr, "bench_broker: %s: no metadata\n", topic);
        rd_kafka_destroy(rk);
        return -1;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    g_dr_err = 0;
    double cpu0 = target_cpu(t);
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        while (rd_kafka_produce(rkt, (int32_t)(i % nparts), 0, payload, (size_t)size, NULL, 0,
                                NULL) != 0) {
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "bench_broker: produce: %s\n",
                        rd_kafka_err2str(rd_kafka_last_error()));
                goto out;
            }
            rd_kafka_poll(rk, 1);
        }
        if ((i & 0x3fff) == 0)
            rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        fprintf(stderr, "bench_broker: flush timed out (%d left)\n", rd_kafka_outq_len(rk));
    int64_t t1 = now_ns();
    double cpu1 = target_cpu(t);
    if (g_dr_err)
        fprintf(stderr, "bench_broker: %ld delivery errors (first: %s)\n", (long)g_dr_err,
                g_dr_errstr);
    res->ok = g_dr_err == 0 && rd_kafka_outq_len(rk) == 0;
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
make_consumer(const struct target *t)
{
    char err[512];
    rd_kafka_conf_t *conf = base_conf(t);
    /* the mock cluster keeps only ~5 MB per partition (older batches are
     * dropped): an out-of-range offset must restart at the earliest one */
    set_conf(conf, "auto.offset.reset", "earliest");
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
consume_n(struct target *t, const char *topic, int nparts, long n, int size, struct result *res)
{
    struct result fill = { 0 };
    if (produce_n(t, topic, nparts, n, size, "1", &fill) != 0) {
        fprintf(stderr, "bench_broker: pre-fill failed\n");
        return -1;
    }
    rd_kafka_t *rk = make_consumer(t);
    if (!rk)
        return -1;
    if (wait_topic(rk, topic, nparts, 15000) != 0) {
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
    if (avail != n && t->kind == T_SLUICED)
        fprintf(stderr, "bench_broker: %s holds %ld records, %ld produced\n", topic, avail, n);
    if (avail < n)
        n = avail;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    struct consume_count cc;
    memset(&cc, 0, sizeof(cc));
    double cpu0 = target_cpu(t);
    int64_t t0 = now_ns(), last = t0;
    rd_kafka_queue_t *q = consume_start(rk, rkt, nparts);
    if (!q)
        goto out;
    while (cc.got < n) {
        long before = cc.got;
        /* serves what is queued, waiting only while the queue is empty */
        rd_kafka_consume_callback_queue(q, 100, count_cb, &cc);
        int64_t tn = now_ns();
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
    int64_t t1 = now_ns();
    double cpu1 = target_cpu(t);
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
    int64_t tn = now_ns();
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

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
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
e2e_run(struct target *t, const char *topic, double rate, double secs, struct result *res)
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
    if (!ck || !pk || wait_topic(pk, topic, 1, 15000) != 0 || wait_topic(ck, topic, 1, 15000) != 0) {
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

    g_dr_err = 0;
    double cpu0 = 0;
    int64_t start = now_ns(), mstart = start + (int64_t)(warm_s * 1e9);
    int64_t end = mstart + (int64_t)(secs * 1e9);
    int measuring = 0;
    for (;;) {
        int64_t tn = now_ns();
        if (tn >= end)
            break;
        if (!measuring && tn >= mstart) {
            measuring = 1;
            cpu0 = target_cpu(t);
        }
        long due = (long)((double)(tn - start) / 1e9 * rate);
        while (sent < due) {
            int64_t ts = now_ns();
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
        sleep_us(100);
    }
    rd_kafka_flush(pk, 30000);
    s.expect = measured;
    s.expect_set = 1;
    int64_t deadline = now_ns() + 10 * 1000000000LL;
    while (s.nlat < measured && now_ns() < deadline)
        sleep_us(10000);
    double cpu1 = target_cpu(t);
    s.stop = 1;
    pthread_join(th, NULL);
    if (s.nlat < measured)
        fprintf(stderr, "bench_broker: e2e received %ld of %ld measured records\n", s.nlat, measured);
    qsort(s.lat, (size_t)s.nlat, sizeof(double), cmp_double);
    res->ok = s.nlat >= measured && measured > 0 && g_dr_err == 0;
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
    struct target t;
    char topic[64];
    int rc = -1, nparts;

    memset(res, 0, sizeof(*res));
    snprintf(topic, sizeof(topic), "bench-%s-%d", wname[w], round);
    nparts = w == W_CONSUME ? opt.consume_partitions : w == W_E2E ? 1 : opt.produce_partitions;
    if (opt.warm && w != W_E2E) {
        static const double full[W__NUM] = { 1e8, 1e8, 2048e5, 2048e5, 1e8, 0 };
        char dir[PATH_MAX];
        bench_dir(dir, sizeof(dir));
        warm_pages(dir, full[w] * opt.scale * 1.2);
    }
    if (target_start(&t, kind) != 0)
        return -1;
    if (create_topic(&t, topic, nparts) != 0)
        goto out;
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
    target_stop(&t);
    return rc;
}

static double
median(double *v, int n)
{
    double tmp[MAX_ROUNDS];
    int k = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i]))
            tmp[k++] = v[i];
    if (k == 0)
        return NAN;
    qsort(tmp, (size_t)k, sizeof(double), cmp_double);
    return k % 2 ? tmp[k / 2] : (tmp[k / 2 - 1] + tmp[k / 2]) / 2;
}

enum { M_MSGS, M_MBS, M_CPUGB, M_P50, M_P99, M_P999, M_PMAX, M_CPUPCT };

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
    }
    return NAN;
}

static double
med(int w, int kind, int m)
{
    double v[MAX_ROUNDS];
    for (int r = 0; r < opt.rounds; r++)
        v[r] = metric(&results[w][kind][r], m);
    return median(v, opt.rounds);
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

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && v && (i++, 1))
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
        else if (ARG("--broker-override")) {
            if (opt.noverrides < MAX_OVERRIDES)
                opt.overrides[opt.noverrides++] = v;
        } else if (ARG("--debug"))
            opt.debug = v;
        else if (!strcmp(a, "--no-warm"))
            opt.warm = 0;
        else if (!strcmp(a, "-v"))
            opt.verbose = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else {
            /* scripts/run-bench passes its arguments to every benchmark:
             * ignore other benchmarks' options (and their values). */
            fprintf(stderr, "bench_broker: ignoring unknown option %s\n", a);
            if (v && v[0] != '-')
                i++;
        }
#undef ARG
    }
    if (opt.rounds < 1)
        opt.rounds = 1;
    if (opt.rounds > MAX_ROUNDS)
        opt.rounds = MAX_ROUNDS;
    if (opt.scale <= 0)
        opt.scale = 1;

    atexit(sluiced_stop);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGPIPE, SIG_IGN);

    printf("bench_broker: %d rounds, scale %.3g, linger.ms %d (e2e %d), e2e %.0f rec/s, "
           "page warm-up %s, librdkafka %s, %ld CPUs\n",
           opt.rounds, opt.scale, opt.linger_ms, opt.e2e_linger_ms, opt.e2e_rate,
           opt.warm ? "on" : "off", rd_kafka_version_str(), sysconf(_SC_NPROCESSORS_ONLN));
    fflush(stdout);

    for (int r = 0; r < opt.rounds; r++) {
        for (int w = 0; w < W__NUM; w++) {
            if (!selected(w))
                continue;
            for (int k = 0; k < 2; k++) {
                int kind = (r % 2) ? 1 - k : k;     /* alternate who goes first */
                struct result *res = &results[w][kind][r];
                double t0 = now_s();
                if (run_one(w, kind, r, res) != 0) {
                    res->ok = 0;
                    failures++;
                    printf("  round %d %-13s %-7s FAILED\n", r + 1, wname[w], tname[kind]);
                } else if (w == W_E2E) {
                    printf("  round %d %-13s %-7s p50 %.2f p99 %.2f p99.9 %.2f max %.2f ms"
                           " (%.0f rec)  [%.1fs]\n",
                           r + 1, wname[w], tname[kind], res->p50, res->p99, res->p999,
                           res->pmax, res->msgs, now_s() - t0);
                } else {
                    printf("  round %d %-13s %-7s %10.0f msg/s %8.1f MB/s  cpu %.3fs  [%.1fs]\n",
                           r + 1, wname[w], tname[kind], metric(res, M_MSGS),
                           metric(res, M_MBS), res->cpu, now_s() - t0);
                }
                fflush(stdout);
            }
        }
    }

    printf("\nMedians over %d rounds (payload bytes; MB = 1e6 B; CPU = sluiced utime+stime)\n\n",
           opt.rounds);
    printf("%-24s %12s %9s %12s %9s %7s %10s\n", "workload", "sluiced/s", "MB/s", "mock/s", "MB/s",
           "ratio", "CPU-s/GB");
    for (int w = 0; w < W_E2E; w++) {
        if (!selected(w))
            continue;
        double sm = med(w, T_SLUICED, M_MSGS), mm = med(w, T_MOCK, M_MSGS);
        printf("%-24s %12.0f %9.1f %12.0f %9.1f %7.2f %10.2f\n", wdesc[w], sm,
               med(w, T_SLUICED, M_MBS), mm, med(w, T_MOCK, M_MBS), sm / mm,
               med(w, T_SLUICED, M_CPUGB));
    }
    if (selected(W_E2E)) {
        printf("\n%-24s %8s %8s %8s %8s %10s\n", "e2e latency (ms)", "p50", "p99", "p99.9", "max",
               "CPU %");
        for (int k = 0; k < 2; k++)
            printf("%-24s %8.2f %8.2f %8.2f %8.2f %10.1f\n", tname[k], med(W_E2E, k, M_P50),
                   med(W_E2E, k, M_P99), med(W_E2E, k, M_P999), med(W_E2E, k, M_PMAX),
                   med(W_E2E, k, M_CPUPCT));
    }

    printf("\nTargets (sluiced)\n");
    for (int w = W_P100_1; w <= W_P1K_ALL; w++) {
        if (!selected(w))
            continue;
        double ratio = med(w, T_SLUICED, M_MSGS) / med(w, T_MOCK, M_MSGS);
        printf("  %-4s %-24s %.2fx mock (>= 1.0x)\n", verdict(ratio, 1.0, 1), wdesc[w], ratio);
    }
    if (selected(W_CONSUME)) {
        double ratio = med(W_CONSUME, T_SLUICED, M_MSGS) / med(W_CONSUME, T_MOCK, M_MSGS);
        printf("  %-4s %-24s %.2fx mock (>= 1.5x)\n", verdict(ratio, 1.5, 1), wdesc[W_CONSUME],
               ratio);
    }
    if (selected(W_E2E)) {
        double p99 = med(W_E2E, T_SLUICED, M_P99), p999 = med(W_E2E, T_SLUICED, M_P999);
        printf("  %-4s %-24s p99 %.2f ms (<= 3 ms)\n", verdict(p99, 3, 0), "e2e latency", p99);
        printf("  %-4s %-24s p99.9 %.2f ms (<= 10 ms)\n", verdict(p999, 10, 0), "e2e latency",
               p999);
    }
    for (int w = W_P100_1; w <= W_P1K_ALL; w++) {
        if (!selected(w))
            continue;
        double c = med(w, T_SLUICED, M_CPUGB);
        printf("  %-4s %-24s %.2f CPU-s/GB ingested (<= 0.5)\n", verdict(c, 0.5, 0), wdesc[w], c);
    }
    for (int w = W_P100_ALL; w <= W_P1K_ALL; w += 2) {
        if (!selected(w) || !selected(w - 1))
            continue;
        double ratio = med(w, T_SLUICED, M_MSGS) / med(w - 1, T_SLUICED, M_MSGS);
        printf("  %-4s %-24s %.2fx acks=1 (>= 0.8x)\n", verdict(ratio, 0.8, 1), wdesc[w], ratio);
    }
    if (failures)
        printf("\n%d measurement(s) failed (see stderr)\n", failures);
    return 0;
}
