/* bench/support/benchlib.c -- helpers shared by the benchmark programs in
 * bench/: clock, medians, options, scratch directories, the sluiced child
 * process and librdkafka setup. See benchlib.h.
 */
#include "bench/support/benchlib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *g_prog = "bench";

void
bl_set_prog(const char *prog)
{
    g_prog = prog;
}

const char *
bl_prog(void)
{
    return g_prog;
}

/* ------------------------------------------------------------------ time */

int64_t
bl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

double
bl_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
bl_sleep_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    nanosleep(&ts, NULL);
}

void
bl_sleep_ms(long ms)
{
    bl_sleep_us(ms * 1000);
}

/* ----------------------------------------------------------------- stats */

int
bl_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double
bl_median(const double *v, int n)
{
    double tmp[256];
    int k = 0;
    for (int i = 0; i < n && k < (int)(sizeof(tmp) / sizeof(tmp[0])); i++)
        if (!isnan(v[i]))
            tmp[k++] = v[i];
    if (k == 0)
        return NAN;
    qsort(tmp, (size_t)k, sizeof(double), bl_cmp_double);
    return k % 2 ? tmp[k / 2] : (tmp[k / 2 - 1] + tmp[k / 2]) / 2;
}

/* --------------------------------------------------------------- options */

const char *
bl_arg(int argc, char **argv, int *i, const char *name)
{
    if (strcmp(argv[*i], name) != 0 || *i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

void
bl_arg_unknown(int argc, char **argv, int *i)
{
    fprintf(stderr, "%s: ignoring unknown option %s\n", g_prog, argv[*i]);
    if (*i + 1 < argc && argv[*i + 1][0] != '-')
        ++*i;
}

int
bl_clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void
bl_overrides_add(struct bl_overrides *o, const char *kv)
{
    if (o->n < BL_MAX_OVERRIDES)
        o->kv[o->n++] = kv;
}

/* ---------------------------------------------------------- directories */

void
bl_mkdir_p(const char *path)
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

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

void
bl_rm_rf(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *
build_dir(void)
{
    const char *build = getenv("SLUICE_BUILD");
    return build && *build ? build : "build";
}

void
bl_bench_dir(char *out, size_t n)
{
    const char *base = getenv("SLUICE_BENCH_DIR");
    if (base && *base)
        snprintf(out, n, "%s", base);
    else
        snprintf(out, n, "%s/bench-tmp", build_dir());
    bl_mkdir_p(out);
}

/* This VM (virtio-balloon free page reporting) hands memory freed in the
 * guest back to the host a second or two later; touching it again then costs
 * a host page fault per page, which makes the first write of page cache up
 * to ~15x slower (measured: dd of 1 GB 250 MB/s cold, 4 GB/s right after a
 * delete). A long-running broker's page cache is recycled, not freed, so
 * this is not its steady state: before each measured run, the benchmarks
 * write and delete a scratch file of the run's size so the kernel's free
 * lists hold warm pages (malloc'd memory, such as the mock cluster's log,
 * comes from the same free lists). */
static char g_warm_path[PATH_MAX + 32];

void
bl_warm_pages_keep(const char *dir, double bytes)
{
    static char buf[1 << 20];
    int fd;

    bl_warm_release();
    snprintf(g_warm_path, sizeof(g_warm_path), "%s/warm.tmp", dir);
    if ((fd = open(g_warm_path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
        g_warm_path[0] = 0;
        return;
    }
    memset(buf, 1, sizeof(buf));
    for (double done = 0; done < bytes; done += sizeof(buf))
        if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
            break;
    close(fd);
}

void
bl_warm_release(void)
{
    if (g_warm_path[0])
        unlink(g_warm_path);
    g_warm_path[0] = 0;
}

void
bl_warm_pages(const char *dir, double bytes)
{
    bl_warm_pages_keep(dir, bytes);
    bl_warm_release();
}

/* ------------------------------------------------------- sluiced process */

static volatile pid_t g_pid;          /* running sluiced, 0 if none */
static char g_dir[PATH_MAX];          /* its temp dir, "" if none */
static void (*g_on_signal_also)(void);

pid_t
bl_sluiced_pid(void)
{
    return g_pid;
}

const char *
bl_sluiced_dir(void)
{
    return g_dir;
}

void
bl_sluiced_stop(void)
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
            bl_sleep_us(10000);
        }
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
        }
        g_pid = 0;
    }
    if (g_dir[0]) {
        bl_rm_rf(g_dir);
        g_dir[0] = 0;
    }
}

static void
on_signal(int sig)
{
    if (g_pid > 0)
        kill(g_pid, SIGKILL);
    if (g_on_signal_also)
        g_on_signal_also();
    signal(sig, SIG_DFL);
    raise(sig);
}

void
bl_cleanup_at_exit(void (*also)(void))
{
    g_on_signal_also = also;
    atexit(bl_sluiced_stop);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGPIPE, SIG_IGN);
}

int
bl_sluiced_start(const char *tag, const struct bl_overrides *ov, double warm_bytes,
                 char *bootstrap, size_t bsz)
{
    static const char listening[] = "listening on 127.0.0.1:";
    char bin[PATH_MAX], base[PATH_MAX], logpath[PATH_MAX + 16], ldirs[PATH_MAX + 32];
    const char *argv[6 + 2 * BL_MAX_OVERRIDES];
    int argc = 0;

    snprintf(bin, sizeof(bin), "%s/sluiced", build_dir());
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "%s: %s not found (run make, or set SLUICE_BUILD)\n", g_prog, bin);
        return -1;
    }
    bl_bench_dir(base, sizeof(base));
    snprintf(g_dir, sizeof(g_dir), "%s/%s.XXXXXX", base, tag);
    if (!mkdtemp(g_dir)) {
        fprintf(stderr, "%s: mkdtemp %s: %s\n", g_prog, g_dir, strerror(errno));
        g_dir[0] = 0;
        return -1;
    }
    snprintf(logpath, sizeof(logpath), "%s/sluiced.log", g_dir);
    snprintf(ldirs, sizeof(ldirs), "log.dirs=%s/data", g_dir);
    if (warm_bytes > 0)
        bl_warm_pages(g_dir, warm_bytes);
    argv[argc++] = bin;
    argv[argc++] = "--override";
    argv[argc++] = "listeners=PLAINTEXT://127.0.0.1:0";
    argv[argc++] = "--override";
    argv[argc++] = ldirs;
    for (int i = 0; ov && i < ov->n; i++) {
        argv[argc++] = "--override";
        argv[argc++] = ov->kv[i];
    }
    argv[argc] = NULL;

    pid_t pid = fork();
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
            const char *p = strstr(buf, listening);
            if (p) {
                long port = strtol(p + strlen(listening), NULL, 10);
                if (port > 0 && port < 65536) {
                    if (bootstrap)
                        snprintf(bootstrap, bsz, "127.0.0.1:%ld", port);
                    return (int)port;
                }
            }
        }
        if (waitpid(pid, &st, WNOHANG) == pid) {
            g_pid = 0;
            fprintf(stderr, "%s: sluiced exited at start:\n%s\n", g_prog, buf);
            bl_sluiced_stop();
            return -1;
        }
        bl_sleep_us(10000);
    }
    fprintf(stderr, "%s: sluiced did not report its port within 10 s\n", g_prog);
    bl_sluiced_stop();
    return -1;
}

static void *
spin_work(void *arg)
{
    volatile uint64_t x = 0;
    for (uint64_t i = 0; i < 150000000u; i++)
        x += i;
    *(double *)arg = (double)x;     /* keeps the loop */
    return NULL;
}

double
bl_raw_sync_write_mbs(const char *dir, double bytes)
{
    static char buf[1 << 20];
    char path[PATH_MAX + 32];
    double done = 0, t0;
    int fd, ok = 1;

    snprintf(path, sizeof(path), "%s/rawsync.tmp", dir);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
        return NAN;
    memset(buf, 7, sizeof(buf));
    t0 = bl_now_s();
    for (; done < bytes; done += sizeof(buf))
        if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
            ok = 0;
            break;
        }
    if (ok && fdatasync(fd) != 0)
        ok = 0;
    double secs = bl_now_s() - t0;
    close(fd);
    unlink(path);
    return ok && secs > 0 ? done / secs / 1e6 : NAN;
}

double
bl_parallel_cpus(void)
{
    double sink[2];
    pthread_t th[2];
    double t0 = bl_now_s();
    spin_work(&sink[0]);
    double one = bl_now_s() - t0;
    t0 = bl_now_s();
    for (int i = 0; i < 2; i++)
        if (pthread_create(&th[i], NULL, spin_work, &sink[i]) != 0)
            return NAN;
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    double two = bl_now_s() - t0;
    double r = two > 0 ? 2 * one / two : NAN;
    return r < 1 ? 1 : r > 2 ? 2 : r;
}

void
bl_threads_snapshot(struct bl_threads *s, pid_t pid)
{
    char dir[64];
    DIR *d;
    struct dirent *e;

    s->n = 0;
    if (pid > 0)
        snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
    else
        snprintf(dir, sizeof(dir), "/proc/self/task");
    d = opendir(dir);
    if (!d)
        return;
    while ((e = readdir(d)) != NULL && s->n < BL_MAX_THREADS) {
        char path[128], buf[1024];
        unsigned long long ns, ut = 0, st = 0;
        FILE *f;
        if (e->d_name[0] == '.')
            continue;
        int i = s->n, ok = 0;
        s->cpu_s[i] = NAN;
        s->utick[i] = s->stick[i] = 0;
        /* stat: after the ")" ending comm, utime and stime are fields 12, 13 */
        snprintf(path, sizeof(path), "%s/%.20s/stat", dir, e->d_name);
        if ((f = fopen(path, "r")) != NULL) {
            size_t n = fread(buf, 1, sizeof(buf) - 1, f);
            fclose(f);
            buf[n] = 0;
            char *p = strrchr(buf, ')');
            if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                            &ut, &st) == 2) {
                s->utick[i] = (long)ut;
                s->stick[i] = (long)st;
                s->cpu_s[i] = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
                ok = 1;
            }
        }
        snprintf(path, sizeof(path), "%s/%.20s/schedstat", dir, e->d_name);
        if ((f = fopen(path, "r")) != NULL) {
            if (fscanf(f, "%llu", &ns) == 1) {
                s->cpu_s[i] = (double)ns / 1e9;
                ok = 1;
            }
            fclose(f);
        }
        if (!ok)
            continue;           /* gone meanwhile */
        s->n++;
        s->tid[i] = atoi(e->d_name);
        s->name[i][0] = 0;
        snprintf(path, sizeof(path), "%s/%.20s/comm", dir, e->d_name);
        if ((f = fopen(path, "r")) != NULL) {
            if (fgets(s->name[i], sizeof(s->name[i]), f))
                s->name[i][strcspn(s->name[i], "\n")] = 0;
            fclose(f);
        }
    }
    closedir(d);
}

int
bl_threads_find(const struct bl_threads *s, int tid)
{
    for (int i = 0; i < s->n; i++)
        if (s->tid[i] == tid)
            return i;
    return -1;
}

double
bl_threads_busiest(const struct bl_threads *before, const struct bl_threads *after,
                   double secs, char name[16])
{
    double best = -1;

    name[0] = 0;
    for (int i = 0; i < after->n; i++) {
        int j = bl_threads_find(before, after->tid[i]);
        double used = after->cpu_s[i] - (j >= 0 ? before->cpu_s[j] : 0);
        if (used > best) {
            best = used;
            snprintf(name, 16, "%s", after->name[i]);
        }
    }
    return best < 0 || secs <= 0 ? NAN : best / secs;
}

double
bl_proc_cpu_s(pid_t pid)
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

double
bl_sluiced_cpu_s(void)
{
    return g_pid > 0 ? bl_proc_cpu_s(g_pid) : NAN;
}

/* ------------------------------------------------------------ librdkafka */

void
bl_rk_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s: %s=%s: %s\n", g_prog, k, v, err);
        exit(1);
    }
}

void
bl_rk_set_int(rd_kafka_conf_t *conf, const char *k, long v)
{
    char b[32];
    snprintf(b, sizeof(b), "%ld", v);
    bl_rk_set(conf, k, b);
}

rd_kafka_conf_t *
bl_rk_conf(const char *bootstrap, const char *log_level, const char *client_id)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    bl_rk_set(conf, "bootstrap.servers", bootstrap);
    bl_rk_set(conf, "log_level", log_level);
    if (client_id)
        bl_rk_set(conf, "client.id", client_id);
    return conf;
}

int
bl_rk_wait_topic(rd_kafka_t *rk, const char *topic, int nparts, int timeout_ms)
{
    int64_t deadline = bl_now_ns() + (int64_t)timeout_ms * 1000000;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int ok = 0;

    while (!ok && bl_now_ns() < deadline) {
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
            bl_sleep_us(50000);
    }
    rd_kafka_topic_destroy(rkt);
    return ok ? 0 : -1;
}

int
bl_rk_create_topic(rd_kafka_conf_t *conf, const char *topic, int nparts, int wait_ms)
{
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "%s: rd_kafka_new: %s\n", g_prog, err);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, nparts, 1, err, sizeof(err));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    int rc = -1;
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_CREATETOPICS_RESULT) {
        size_t cnt = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        rd_kafka_resp_err_t terr = cnt == 1 ? rd_kafka_topic_result_error(res[0])
                                            : RD_KAFKA_RESP_ERR__FAIL;
        if (rd_kafka_event_error(ev))
            fprintf(stderr, "%s: CreateTopics: %s\n", g_prog, rd_kafka_event_error_string(ev));
        else if (terr != 0 && terr != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            fprintf(stderr, "%s: CreateTopics %s: %s\n", g_prog, topic,
                    cnt == 1 ? rd_kafka_topic_result_error_string(res[0]) : "no result");
        else
            rc = 0;
    } else {
        fprintf(stderr, "%s: CreateTopics %s: no result\n", g_prog, topic);
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    if (rc == 0 && wait_ms > 0 && bl_rk_wait_topic(rk, topic, nparts, wait_ms) != 0) {
        fprintf(stderr, "%s: topic %s did not appear in metadata\n", g_prog, topic);
        rc = -1;
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_destroy(rk);
    return rc;
}

int
bl_rk_produce(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t partition, int msgflags,
              void *payload, size_t len)
{
    while (rd_kafka_produce(rkt, partition, msgflags, payload, len, NULL, 0, NULL) != 0) {
        if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "%s: produce: %s\n", g_prog, rd_kafka_err2str(rd_kafka_last_error()));
            return -1;
        }
        rd_kafka_poll(rk, 1);
    }
    return 0;
}

void
bl_rk_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct bl_dr *d = opaque;
    (void)rk;
    if (m->err) {
        if (d->err++ == 0)
            snprintf(d->first_err, sizeof(d->first_err), "%s", rd_kafka_err2str(m->err));
    } else {
        d->ok++;
    }
}

/* --------------------------------------------------------------- targets */

const char *const bl_tname[2] = { "sluiced", "mock" };

void
bl_target_stop(struct bl_target *t)
{
    if (t->kind == BL_SLUICED) {
        bl_sluiced_stop();
    } else {
        if (t->mcluster)
            rd_kafka_mock_cluster_destroy(t->mcluster);
        if (t->mock_rk)
            rd_kafka_destroy(t->mock_rk);
        t->mcluster = NULL;
        t->mock_rk = NULL;
    }
}

int
bl_target_start(struct bl_target *t, int kind, const char *tag, const struct bl_overrides *ov)
{
    memset(t, 0, sizeof(*t));
    t->kind = kind;
    if (kind == BL_SLUICED)
        return bl_sluiced_start(tag, ov, 0, t->bootstrap, sizeof(t->bootstrap)) > 0 ? 0 : -1;

    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    bl_rk_set(conf, "log_level", "3");
    t->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!t->mock_rk) {
        fprintf(stderr, "%s: rd_kafka_new (mock owner): %s\n", g_prog, err);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    t->mcluster = rd_kafka_mock_cluster_new(t->mock_rk, 1);
    if (!t->mcluster) {
        fprintf(stderr, "%s: rd_kafka_mock_cluster_new failed\n", g_prog);
        bl_target_stop(t);
        return -1;
    }
    snprintf(t->bootstrap, sizeof(t->bootstrap), "%s",
             rd_kafka_mock_cluster_bootstraps(t->mcluster));
    return 0;
}

int
bl_target_create_topic(struct bl_target *t, const char *topic, int nparts, rd_kafka_conf_t *conf,
                       int wait_ms)
{
    if (t->kind == BL_MOCK) {
        if (conf)
            rd_kafka_conf_destroy(conf);
        if (rd_kafka_mock_topic_create(t->mcluster, topic, nparts, 1) != 0) {
            fprintf(stderr, "%s: mock topic create %s failed\n", g_prog, topic);
            return -1;
        }
        return 0;
    }
    if (!conf)
        conf = bl_rk_conf(t->bootstrap, "3", NULL);
    return bl_rk_create_topic(conf, topic, nparts, wait_ms);
}

double
bl_target_cpu_s(const struct bl_target *t)
{
    return t->kind == BL_SLUICED ? bl_sluiced_cpu_s() : NAN;
}
