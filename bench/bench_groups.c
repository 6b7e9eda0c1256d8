/* bench/bench_groups.c -- consumer-group benchmarks: sluiced against
 * librdkafka's mock cluster (rd_kafka_mock_cluster_new), in the same run,
 * with the same librdkafka consumers.
 *
 *   build/bench/bench_groups [--rounds 3] [--commit-seconds 3]
 *                            [--session-ms 6000] [--heartbeat-ms 500]
 *                            [--broker-override key=value]...
 *
 * Workloads, per round and target (a fresh sluiced with an empty data
 * directory, or a fresh mock cluster; the order flips every round):
 *   leave    3 members (separate processes: this binary re-executed with
 *            --member) in one group on a 12-partition topic, eager "range"
 *            assignor. Once all 12 partitions are owned, one member gets
 *            SIGTERM and closes its consumer (rd_kafka_consumer_close:
 *            revoke, LeaveGroup). Measured: from the signal until the two
 *            others own all 12 partitions again (their rebalance callbacks
 *            report it with CLOCK_MONOTONIC timestamps through a pipe).
 *   kill     the same, but the member is killed with SIGKILL: the group
 *            only notices when its session timeout (--session-ms) expires.
 *   commit   one consumer in a group, subscribed to the topic, commits
 *            synchronously (rd_kafka_commit async=0) one partition's offset,
 *            incremented every time, as fast as it can for --commit-seconds:
 *            commits per second. sluiced answers a commit only after
 *            __consumer_offsets is fsynced; the mock keeps offsets in memory.
 *
 * Medians over the rounds are printed at the end. The exit code is 0 unless
 * a workload could not run. sluiced is $SLUICE_BUILD/sluiced (default
 * build/sluiced), its data in $SLUICE_BENCH_DIR or $SLUICE_BUILD/bench-tmp
 * (a fresh groups.XXXXXX directory, removed afterwards); it runs with
 * group.initial.rebalance.delay.ms=0 (only makes the setup faster: the
 * measured rebalances are of an existing group). Every child process is
 * killed at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
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
#define NPARTS         12
#define NMEMBERS       3
#define TOPIC          "bench-groups"

static struct {
    int         rounds;
    double      commit_seconds;
    int         session_ms;
    int         heartbeat_ms;
    const char *overrides[MAX_OVERRIDES];
    int         noverrides;
} opt = { 3, 3.0, 6000, 500, { 0 }, 0 };

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void
set_conf(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "bench_groups: %s=%s: %s\n", k, v, err);
        exit(1);
    }
}

static void
set_conf_int(rd_kafka_conf_t *conf, const char *k, int v)
{
    char b[32];
    snprintf(b, sizeof(b), "%d", v);
    set_conf(conf, k, b);
}

/* ------------------------------------------------------------ member child */

static volatile sig_atomic_t g_member_stop;

static void
member_on_term(int sig)
{
    (void)sig;
    g_member_stop = 1;
}

static void
member_report(int owned)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "A %d %lld\n", owned, (long long)now_ns());
    if (write(1, line, (size_t)n) != n)
        _exit(3);
}

static void
member_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                    rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        member_report(parts->cnt);
    } else {
        rd_kafka_assign(rk, NULL);
        member_report(0);
    }
}

/* argv: --member BOOTSTRAP GROUP SESSION_MS HEARTBEAT_MS; reports its
 * assignment on stdout until SIGTERM (close, exit 0) or SIGKILL. */
static int
member_main(char **argv)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *sub;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGTERM, member_on_term);
    set_conf(conf, "bootstrap.servers", argv[0]);
    set_conf(conf, "group.id", argv[1]);
    set_conf(conf, "session.timeout.ms", argv[2]);
    set_conf(conf, "heartbeat.interval.ms", argv[3]);
    set_conf(conf, "max.poll.interval.ms", "30000");
    set_conf(conf, "partition.assignment.strategy", "range");
    set_conf(conf, "enable.auto.commit", "false");
    set_conf(conf, "log_level", "3");
    rd_kafka_conf_set_rebalance_cb(conf, member_rebalance_cb);
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)))) {
        fprintf(stderr, "bench_groups member: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, TOPIC, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    while (!g_member_stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
        if (m)
            rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}

/* ---------------------------------------------------------- member handles */

struct member {
    pid_t   pid;
    int     fd;          /* its stdout */
    int     owned;
    int64_t last_ns;     /* time of its last report */
    int     alive;
    char    buf[256];
    size_t  blen;
};

static struct member g_members[NMEMBERS];
static char g_self[PATH_MAX];

static int
member_spawn(struct member *m, const char *bootstrap, const char *group)
{
    int p[2];
    char sess[16], hb[16];

    memset(m, 0, sizeof(*m));
    if (pipe(p) != 0)
        return -1;
    snprintf(sess, sizeof(sess), "%d", opt.session_ms);
    snprintf(hb, sizeof(hb), "%d", opt.heartbeat_ms);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execl(g_self, g_self, "--member", bootstrap, group, sess, hb, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    m->pid = pid;
    m->fd = p[0];
    m->alive = 1;
    return 0;
}

static void
member_reap(struct member *m, int sig)
{
    int st;
    if (m->pid > 0) {
        kill(m->pid, sig);
        if (sig == SIGTERM) {
            for (int i = 0; i < 1000 && waitpid(m->pid, &st, WNOHANG) != m->pid; i++)
                sleep_ms(10);
            kill(m->pid, SIGKILL);
        }
        waitpid(m->pid, &st, 0);
        m->pid = 0;
    }
    if (m->fd >= 0 && m->alive) {
        close(m->fd);
        m->fd = -1;
    }
    m->alive = 0;
}

static void
members_reap_all(void)
{
    for (int i = 0; i < NMEMBERS; i++)
        if (g_members[i].pid > 0)
            member_reap(&g_members[i], SIGKILL);
}

/* Read whatever the members reported, waiting up to ms. */
static void
members_pump(int ms)
{
    struct pollfd pf[NMEMBERS];
    int n = 0, idx[NMEMBERS];

    for (int i = 0; i < NMEMBERS; i++)
        if (g_members[i].alive) {
            pf[n].fd = g_members[i].fd;
            pf[n].events = POLLIN;
            idx[n++] = i;
        }
    if (n == 0 || poll(pf, (nfds_t)n, ms) <= 0)
        return;
    for (int k = 0; k < n; k++) {
        struct member *m = &g_members[idx[k]];
        if (!(pf[k].revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t r = read(m->fd, m->buf + m->blen, sizeof(m->buf) - 1 - m->blen);
        if (r <= 0)
            continue;
        m->blen += (size_t)r;
        m->buf[m->blen] = 0;
        char *line = m->buf, *nl;
        while ((nl = strchr(line, '\n'))) {
            int owned;
            long long t;
            *nl = 0;
            if (sscanf(line, "A %d %lld", &owned, &t) == 2) {
                m->owned = owned;
                m->last_ns = t;
            }
            line = nl + 1;
        }
        m->blen = strlen(line);
        memmove(m->buf, line, m->blen + 1);
    }
}

/* Until the members in mask own all partitions, each a non-empty share,
 * every one of them having reported after since_ns. Returns the time of the
 * last report, or -1 after timeout_ms. */
static int64_t
members_wait_owned(unsigned mask, int64_t since_ns, int timeout_ms)
{
    int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
    while (now_ns() < deadline) {
        int total = 0, ok = 1;
        int64_t last = 0;
        members_pump(20);
        for (int i = 0; i < NMEMBERS; i++) {
            if (!(mask & (1u << i)))
                continue;
            struct member *m = &g_members[i];
            if (m->owned <= 0 || m->last_ns <= since_ns)
                ok = 0;
            total += m->owned;
            if (m->last_ns > last)
                last = m->last_ns;
        }
        if (ok && total == NPARTS)
            return last;
    }
    return -1;
}

/* --------------------------------------------------------------- targets */

static volatile pid_t g_pid;
static char g_dir[PATH_MAX];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

static void
mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, 0755);
            *p = '/';
        }
    mkdir(tmp, 0755);
}

static void
sluiced_stop(void)
{
    int st;
    if (g_pid > 0) {
        kill(g_pid, SIGTERM);
        for (int i = 0; i < 500 && waitpid(g_pid, &st, WNOHANG) != g_pid; i++)
            sleep_ms(10);
        kill(g_pid, SIGKILL);
        waitpid(g_pid, &st, 0);
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
    for (int i = 0; i < NMEMBERS; i++)
        if (g_members[i].pid > 0)
            kill(g_members[i].pid, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int
sluiced_start(char *bootstrap, size_t bsz)
{
    const char *build = getenv("SLUICE_BUILD");
    const char *base = getenv("SLUICE_BENCH_DIR");
    char bin[PATH_MAX], basebuf[PATH_MAX], logpath[PATH_MAX + 16], ldirs[PATH_MAX + 32];
    const char *argv[10 + 2 * MAX_OVERRIDES];
    int argc = 0;

    if (!build || !*build)
        build = "build";
    snprintf(bin, sizeof(bin), "%s/sluiced", build);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "bench_groups: %s not found (run make, or set SLUICE_BUILD)\n", bin);
        return -1;
    }
    if (!base || !*base) {
        snprintf(basebuf, sizeof(basebuf), "%s/bench-tmp", build);
        base = basebuf;
    }
    mkdir_p(base);
    snprintf(g_dir, sizeof(g_dir), "%s/groups.XXXXXX", base);
    if (!mkdtemp(g_dir)) {
        fprintf(stderr, "bench_groups: mkdtemp %s: %s\n", g_dir, strerror(errno));
        g_dir[0] = 0;
        return -1;
    }
    snprintf(logpath, sizeof(logpath), "%s/sluiced.log", g_dir);
    snprintf(ldirs, sizeof(ldirs), "log.dirs=%s/data", g_dir);
    argv[argc++] = bin;
    argv[argc++] = "--override";
    argv[argc++] = "listeners=PLAINTEXT://127.0.0.1:0";
    argv[argc++] = "--override";
    argv[argc++] = ldirs;
    argv[argc++] = "--override";
    argv[argc++] = "group.initial.rebalance.delay.ms=0";
    for (int i = 0; i < opt.noverrides; i++) {
        argv[argc++] = "--override";
        argv[argc++] = opt.overrides[i];
    }
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
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
    for (int i = 0; i < 1000; i++) {
        char buf[8192];
        int st;
        FILE *f = fopen(logpath, "r");
        if (f) {
            size_t n = fread(buf, 1, sizeof(buf) - 1, f);
            fclose(f);
            buf[n] = 0;
            const char *p = strstr(buf, "listening on 127.0.0.1:");
            if (p && atoi(p + strlen("listening on 127.0.0.1:")) > 0) {
                snprintf(bootstrap, bsz, "127.0.0.1:%d", atoi(p + strlen("listening on 127.0.0.1:")));
                return 0;
            }
        }
        if (waitpid(pid, &st, WNOHANG) == pid) {
            g_pid = 0;
            fprintf(stderr, "bench_groups: sluiced exited at start (log %s)\n", logpath);
            return -1;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "bench_groups: sluiced did not report its port within 10 s\n");
    sluiced_stop();
    return -1;
}

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

/* Create the 12-partition topic through the Admin API. */
static int
create_topic(const char *bootstrap)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_NewTopic_t *nt;
    rd_kafka_queue_t *q;
    rd_kafka_event_t *ev;
    int rc = -1;

    set_conf(conf, "bootstrap.servers", bootstrap);
    set_conf(conf, "log_level", "3");
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))))
        return -1;
    nt = rd_kafka_NewTopic_new(TOPIC, NPARTS, 1, err, sizeof(err));
    q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    ev = rd_kafka_queue_poll(q, 30000);
    if (ev) {
        size_t n;
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
        if (tr && n == 1 && (rd_kafka_topic_result_error(tr[0]) == 0 ||
                             rd_kafka_topic_result_error(tr[0]) ==
                                 RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS))
            rc = 0;
        else
            fprintf(stderr, "bench_groups: CreateTopics: %s\n",
                    tr && n ? rd_kafka_topic_result_error_string(tr[0]) : "no result");
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

static int
target_start(struct target *t, int kind)
{
    memset(t, 0, sizeof(*t));
    t->kind = kind;
    if (kind == T_SLUICED) {
        if (sluiced_start(t->bootstrap, sizeof(t->bootstrap)) != 0)
            return -1;
        if (create_topic(t->bootstrap) != 0) {
            target_stop(t);
            return -1;
        }
        return 0;
    }
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set_conf(conf, "log_level", "3");
    if (!(t->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
        fprintf(stderr, "bench_groups: rd_kafka_new (mock owner): %s\n", err);
        return -1;
    }
    if (!(t->mcluster = rd_kafka_mock_cluster_new(t->mock_rk, 1))) {
        target_stop(t);
        return -1;
    }
    rd_kafka_mock_topic_create(t->mcluster, TOPIC, NPARTS, 1);
    snprintf(t->bootstrap, sizeof(t->bootstrap), "%s", rd_kafka_mock_cluster_bootstraps(t->mcluster));
    return 0;
}

/* -------------------------------------------------------------- workloads */

/* 3 members, then one leaves (SIGTERM -> close) or dies (SIGKILL). Returns
 * ms from the signal until the two others own all partitions, or -1. */
static double
run_rebalance(struct target *t, const char *group, int sig)
{
    double ms = -1;
    int64_t t0, done;

    for (int i = 0; i < NMEMBERS; i++)
        if (member_spawn(&g_members[i], t->bootstrap, group) != 0)
            goto out;
    if (members_wait_owned((1u << NMEMBERS) - 1, 0, 60000) < 0) {
        fprintf(stderr, "bench_groups: %s: 3 members never owned all partitions\n", tname[t->kind]);
        goto out;
    }
    /* settle: no further reports for 1 s (the group is stable) */
    for (int64_t quiet = now_ns(); now_ns() - quiet < 1000000000LL;) {
        int64_t before[NMEMBERS];
        for (int i = 0; i < NMEMBERS; i++)
            before[i] = g_members[i].last_ns;
        members_pump(50);
        for (int i = 0; i < NMEMBERS; i++)
            if (g_members[i].last_ns != before[i])
                quiet = now_ns();
    }
    t0 = now_ns();
    if (sig == SIGKILL)
        member_reap(&g_members[1], SIGKILL);
    else
        kill(g_members[1].pid, SIGTERM);
    done = members_wait_owned((1u << 0) | (1u << 2), t0, opt.session_ms * 3 + 30000);
    if (done < 0)
        fprintf(stderr, "bench_groups: %s: the others never took over\n", tname[t->kind]);
    else
        ms = (double)(done - t0) / 1e6;
out:
    members_reap_all();
    return ms;
}

static void
commit_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                    rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    int *owned = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        *owned = parts->cnt;
    } else {
        rd_kafka_assign(rk, NULL);
        *owned = 0;
    }
}

/* Sync commits per second from one group member; -1 on failure. */
static double
run_commit(struct target *t)
{
    char err[256];
    static int owned;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *sub;
    double rate = -1;
    long n = 0;
    int64_t deadline, t0;

    owned = 0;
    set_conf(conf, "bootstrap.servers", t->bootstrap);
    set_conf(conf, "group.id", "bench-commit");
    set_conf_int(conf, "session.timeout.ms", opt.session_ms);
    set_conf(conf, "enable.auto.commit", "false");
    set_conf(conf, "log_level", "3");
    rd_kafka_conf_set_rebalance_cb(conf, commit_rebalance_cb);
    rd_kafka_conf_set_opaque(conf, &owned);
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))))
        return -1;
    rd_kafka_poll_set_consumer(rk);
    sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, TOPIC, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    deadline = now_ns() + 60000000000LL;
    while (owned != NPARTS && now_ns() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
        if (m)
            rd_kafka_message_destroy(m);
    }
    if (owned != NPARTS) {
        fprintf(stderr, "bench_groups: %s: commit consumer not assigned\n", tname[t->kind]);
        goto out;
    }
    t0 = now_ns();
    deadline = t0 + (int64_t)(opt.commit_seconds * 1e9);
    while (now_ns() < deadline) {
        rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(offs, TOPIC, 0)->offset = n + 1;
        rd_kafka_resp_err_t e = rd_kafka_commit(rk, offs, 0);
        rd_kafka_topic_partition_list_destroy(offs);
        if (e) {
            fprintf(stderr, "bench_groups: %s: commit: %s\n", tname[t->kind], rd_kafka_err2str(e));
            goto out;
        }
        n++;
    }
    rate = (double)n / ((double)(now_ns() - t0) / 1e9);
out:
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rate;
}

/* ---------------------------------------------------------------- report */

enum { W_LEAVE, W_KILL, W_COMMIT, W__NUM };
static const char *const wname[W__NUM] = {
    "rebalance after close() (LeaveGroup), ms",
    "rebalance after kill -9 (session timeout), ms",
    "sync offset commits/s (1 consumer)",
};
static double results[W__NUM][2][MAX_ROUNDS];

static int
cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
median(const double *v, int n)
{
    double s[MAX_ROUNDS];
    int k = 0;
    for (int i = 0; i < n; i++)
        if (v[i] >= 0)
            s[k++] = v[i];
    if (k == 0)
        return -1;
    qsort(s, (size_t)k, sizeof(double), cmp_d);
    return k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
}

static void
usage(void)
{
    fprintf(stderr, "usage: bench_groups [--rounds N] [--commit-seconds S] [--session-ms MS]\n"
                    "                    [--heartbeat-ms MS] [--broker-override key=value]...\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    int failed = 0;

    if (argc >= 6 && strcmp(argv[1], "--member") == 0)
        return member_main(argv + 2);
    if (readlink("/proc/self/exe", g_self, sizeof(g_self) - 1) < 0) {
        perror("readlink /proc/self/exe");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--rounds") && v)
            opt.rounds = atoi(v), i++;
        else if (!strcmp(a, "--commit-seconds") && v)
            opt.commit_seconds = atof(v), i++;
        else if (!strcmp(a, "--session-ms") && v)
            opt.session_ms = atoi(v), i++;
        else if (!strcmp(a, "--heartbeat-ms") && v)
            opt.heartbeat_ms = atoi(v), i++;
        else if (!strcmp(a, "--broker-override") && v && opt.noverrides < MAX_OVERRIDES)
            opt.overrides[opt.noverrides++] = v, i++;
        else if (!strcmp(a, "--size") && v)
            i++;        /* run-bench passes the same arguments to every bench */
        else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            usage();
        else
            fprintf(stderr, "bench_groups: ignoring argument %s\n", a);
    }
    if (opt.rounds < 1 || opt.rounds > MAX_ROUNDS)
        usage();
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    atexit(sluiced_stop);
    atexit(members_reap_all);

    printf("bench_groups: 3-member group on a %d-partition topic, eager range assignor,\n"
           "session.timeout.ms=%d heartbeat.interval.ms=%d, %d round(s), commits for %.1f s\n",
           NPARTS, opt.session_ms, opt.heartbeat_ms, opt.rounds, opt.commit_seconds);
    fflush(stdout);
    for (int r = 0; r < opt.rounds; r++) {
        for (int k = 0; k < 2; k++) {
            int kind = (r % 2 == 0) ? k : 1 - k;
            struct target t;
            char group[64];
            for (int w = 0; w < W__NUM; w++)
                results[w][kind][r] = -1;
            if (target_start(&t, kind) != 0) {
                fprintf(stderr, "bench_groups: cannot start %s\n", tname[kind]);
                failed = 1;
                continue;
            }
            snprintf(group, sizeof(group), "bench-leave-%d", r);
            results[W_LEAVE][kind][r] = run_rebalance(&t, group, SIGTERM);
            snprintf(group, sizeof(group), "bench-kill-%d", r);
            results[W_KILL][kind][r] = run_rebalance(&t, group, SIGKILL);
            results[W_COMMIT][kind][r] = run_commit(&t);
            target_stop(&t);
            printf("round %d %-8s leave %8.1f ms   kill %8.1f ms   commits %8.1f/s\n", r + 1,
                   tname[kind], results[W_LEAVE][kind][r], results[W_KILL][kind][r],
                   results[W_COMMIT][kind][r]);
            fflush(stdout);
            for (int w = 0; w < W__NUM; w++)
                if (results[w][kind][r] < 0)
                    failed = 1;
        }
    }
    printf("\n%-48s %12s %12s %8s\n", "median", "sluiced", "mock", "ratio");
    for (int w = 0; w < W__NUM; w++) {
        double s = median(results[w][T_SLUICED], opt.rounds);
        double m = median(results[w][T_MOCK], opt.rounds);
        printf("%-48s %12.1f %12.1f %8.2f\n", wname[w], s, m, s > 0 && m > 0 ? s / m : 0.0);
    }
    return failed;
}
