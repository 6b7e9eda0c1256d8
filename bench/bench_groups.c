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
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include "bench/support/benchlib.h"

#define MAX_ROUNDS     99
#define NPARTS         12
#define NMEMBERS       3
#define TOPIC          "bench-groups"

static struct {
    int         rounds;
    double      commit_seconds;
    int         session_ms;
    int         heartbeat_ms;
    struct bl_overrides overrides;     /* --broker-override's, after our own */
} opt = { 3, 3.0, 6000, 500, { { 0 }, 0 } };

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
    int n = snprintf(line, sizeof(line), "A %d %lld\n", owned, (long long)bl_now_ns());
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
    bl_rk_set(conf, "bootstrap.servers", argv[0]);
    bl_rk_set(conf, "group.id", argv[1]);
    bl_rk_set(conf, "session.timeout.ms", argv[2]);
    bl_rk_set(conf, "heartbeat.interval.ms", argv[3]);
    bl_rk_set(conf, "max.poll.interval.ms", "30000");
    bl_rk_set(conf, "partition.assignment.strategy", "range");
    bl_rk_set(conf, "enable.auto.commit", "false");
    bl_rk_set(conf, "log_level", "3");
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
                bl_sleep_ms(10);
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
    int64_t deadline = bl_now_ns() + (int64_t)timeout_ms * 1000000;
    while (bl_now_ns() < deadline) {
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

/* on a fatal signal (with sluiced): no member outlives us */
static void
members_kill(void)
{
    for (int i = 0; i < NMEMBERS; i++)
        if (g_members[i].pid > 0)
            kill(g_members[i].pid, SIGKILL);
}

/* A fresh target with the NPARTS-partition topic. */
static int
target_start(struct bl_target *t, int kind)
{
    if (bl_target_start(t, kind, "groups", &opt.overrides) != 0)
        return -1;
    if (bl_target_create_topic(t, TOPIC, NPARTS, NULL, 0) != 0) {
        bl_target_stop(t);
        return -1;
    }
    return 0;
}

/* -------------------------------------------------------------- workloads */

/* 3 members, then one leaves (SIGTERM -> close) or dies (SIGKILL). Returns
 * ms from the signal until the two others own all partitions, or -1. */
static double
run_rebalance(struct bl_target *t, const char *group, int sig)
{
    double ms = -1;
    int64_t t0, done;

    for (int i = 0; i < NMEMBERS; i++)
        if (member_spawn(&g_members[i], t->bootstrap, group) != 0)
            goto out;
    if (members_wait_owned((1u << NMEMBERS) - 1, 0, 60000) < 0) {
        fprintf(stderr, "bench_groups: %s: 3 members never owned all partitions\n", bl_tname[t->kind]);
        goto out;
    }
    /* settle: no further reports for 1 s (the group is stable) */
    for (int64_t quiet = bl_now_ns(); bl_now_ns() - quiet < 1000000000LL;) {
        int64_t before[NMEMBERS];
        for (int i = 0; i < NMEMBERS; i++)
            before[i] = g_members[i].last_ns;
        members_pump(50);
        for (int i = 0; i < NMEMBERS; i++)
            if (g_members[i].last_ns != before[i])
                quiet = bl_now_ns();
    }
    t0 = bl_now_ns();
    if (sig == SIGKILL)
        member_reap(&g_members[1], SIGKILL);
    else
        kill(g_members[1].pid, SIGTERM);
    done = members_wait_owned((1u << 0) | (1u << 2), t0, opt.session_ms * 3 + 30000);
    if (done < 0)
        fprintf(stderr, "bench_groups: %s: the others never took over\n", bl_tname[t->kind]);
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
run_commit(struct bl_target *t)
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
    bl_rk_set(conf, "bootstrap.servers", t->bootstrap);
    bl_rk_set(conf, "group.id", "bench-commit");
    bl_rk_set_int(conf, "session.timeout.ms", opt.session_ms);
    bl_rk_set(conf, "enable.auto.commit", "false");
    bl_rk_set(conf, "log_level", "3");
    rd_kafka_conf_set_rebalance_cb(conf, commit_rebalance_cb);
    rd_kafka_conf_set_opaque(conf, &owned);
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))))
        return -1;
    rd_kafka_poll_set_consumer(rk);
    sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, TOPIC, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    deadline = bl_now_ns() + 60000000000LL;
    while (owned != NPARTS && bl_now_ns() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
        if (m)
            rd_kafka_message_destroy(m);
    }
    if (owned != NPARTS) {
        fprintf(stderr, "bench_groups: %s: commit consumer not assigned\n", bl_tname[t->kind]);
        goto out;
    }
    t0 = bl_now_ns();
    deadline = t0 + (int64_t)(opt.commit_seconds * 1e9);
    while (bl_now_ns() < deadline) {
        rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(offs, TOPIC, 0)->offset = n + 1;
        rd_kafka_resp_err_t e = rd_kafka_commit(rk, offs, 0);
        rd_kafka_topic_partition_list_destroy(offs);
        if (e) {
            fprintf(stderr, "bench_groups: %s: commit: %s\n", bl_tname[t->kind], rd_kafka_err2str(e));
            goto out;
        }
        n++;
    }
    rate = (double)n / ((double)(bl_now_ns() - t0) / 1e9);
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

/* Median of the successful (>= 0) results; -1 if none. */
static double
median_ok(const double *v, int n)
{
    double s[MAX_ROUNDS];
    for (int i = 0; i < n; i++)
        s[i] = v[i] >= 0 ? v[i] : NAN;
    double m = bl_median(s, n);
    return isnan(m) ? -1 : m;
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

    bl_set_prog("bench_groups");
    if (argc >= 6 && strcmp(argv[1], "--member") == 0)
        return member_main(argv + 2);
    if (readlink("/proc/self/exe", g_self, sizeof(g_self) - 1) < 0) {
        perror("readlink /proc/self/exe");
        return 1;
    }
    /* only makes the setup faster: the measured rebalances are of an
     * existing group */
    bl_overrides_add(&opt.overrides, "group.initial.rebalance.delay.ms=0");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if ((v = bl_arg(argc, argv, &i, "--rounds")))
            opt.rounds = atoi(v);
        else if ((v = bl_arg(argc, argv, &i, "--commit-seconds")))
            opt.commit_seconds = atof(v);
        else if ((v = bl_arg(argc, argv, &i, "--session-ms")))
            opt.session_ms = atoi(v);
        else if ((v = bl_arg(argc, argv, &i, "--heartbeat-ms")))
            opt.heartbeat_ms = atoi(v);
        else if ((v = bl_arg(argc, argv, &i, "--broker-override")))
            bl_overrides_add(&opt.overrides, v);
        else if (bl_arg(argc, argv, &i, "--size"))
            continue;   /* run-bench passes the same arguments to every bench */
        else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            usage();
        else
            bl_arg_unknown(argc, argv, &i);     /* other benchmarks' options */
    }
    if (opt.rounds < 1 || opt.rounds > MAX_ROUNDS)
        usage();
    bl_cleanup_at_exit(members_kill);
    atexit(members_reap_all);

    printf("bench_groups: 3-member group on a %d-partition topic, eager range assignor,\n"
           "session.timeout.ms=%d heartbeat.interval.ms=%d, %d round(s), commits for %.1f s\n",
           NPARTS, opt.session_ms, opt.heartbeat_ms, opt.rounds, opt.commit_seconds);
    fflush(stdout);
    for (int r = 0; r < opt.rounds; r++) {
        for (int k = 0; k < 2; k++) {
            int kind = (r % 2 == 0) ? k : 1 - k;
            struct bl_target t;
            char group[64];
            for (int w = 0; w < W__NUM; w++)
                results[w][kind][r] = -1;
            if (target_start(&t, kind) != 0) {
                fprintf(stderr, "bench_groups: cannot start %s\n", bl_tname[kind]);
                failed = 1;
                continue;
            }
            snprintf(group, sizeof(group), "bench-leave-%d", r);
            results[W_LEAVE][kind][r] = run_rebalance(&t, group, SIGTERM);
            snprintf(group, sizeof(group), "bench-kill-%d", r);
            results[W_KILL][kind][r] = run_rebalance(&t, group, SIGKILL);
            results[W_COMMIT][kind][r] = run_commit(&t);
            bl_target_stop(&t);
            printf("round %d %-8s leave %8.1f ms   kill %8.1f ms   commits %8.1f/s\n", r + 1,
                   bl_tname[kind], results[W_LEAVE][kind][r], results[W_KILL][kind][r],
                   results[W_COMMIT][kind][r]);
            fflush(stdout);
            for (int w = 0; w < W__NUM; w++)
                if (results[w][kind][r] < 0)
                    failed = 1;
        }
    }
    printf("\n%-48s %12s %12s %8s\n", "median", "sluiced", "mock", "ratio");
    for (int w = 0; w < W__NUM; w++) {
        double s = median_ok(results[w][BL_SLUICED], opt.rounds);
        double m = median_ok(results[w][BL_MOCK], opt.rounds);
        printf("%-48s %12.1f %12.1f %8.2f\n", wname[w], s, m, s > 0 && m > 0 ? s / m : 0.0);
    }
    return failed;
}
