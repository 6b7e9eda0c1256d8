/* bench/support/benchlib.h -- helpers shared by the benchmark programs in
 * bench/ (linked in as build/libbenchsupport.a):
 *
 *   - monotonic clock and sleeps, medians
 *   - command-line helpers (option values, unknown options, --broker-override)
 *   - the scratch directory ($SLUICE_BENCH_DIR or $SLUICE_BUILD/bench-tmp)
 *     and the page-cache warm-up (bench/README.md, "Page warm-up")
 *   - one sluiced child process: started on 127.0.0.1:0 with a fresh data
 *     directory, its port read from the "listening on" line of its log, its
 *     CPU time read from /proc, stopped (and its directory removed) at exit
 *     or on a fatal signal
 *   - librdkafka: config, topic creation and metadata waits, a produce call
 *     that waits out a full queue, delivery-report counts, and the two
 *     targets the broker is compared on (sluiced and the mock cluster)
 *
 * Diagnostics go to stderr, prefixed with the name given to bl_set_prog().
 */
#ifndef SLUICE_BENCH_BENCHLIB_H
#define SLUICE_BENCH_BENCHLIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define BL_MAX_OVERRIDES 32

/* The program name that prefixes diagnostics ("bench" until set). */
void        bl_set_prog(const char *prog);
const char *bl_prog(void);

/* ------------------------------------------------------------------ time */

int64_t bl_now_ns(void);                 /* CLOCK_MONOTONIC, ns */
double  bl_now_s(void);                  /* CLOCK_MONOTONIC, s */
void    bl_sleep_us(long us);
void    bl_sleep_ms(long ms);

/* ----------------------------------------------------------------- stats */

/* qsort comparator for doubles, ascending. */
int    bl_cmp_double(const void *a, const void *b);
/* Median of the non-NaN values among v[0..n) (v is not changed); NAN if
 * there are none. At most 256 values are looked at. */
double bl_median(const double *v, int n);

/* --------------------------------------------------------------- options */

/* If argv[*i] is name and a value follows: advances *i to the value and
 * returns it; otherwise NULL. */
const char *bl_arg(int argc, char **argv, int *i, const char *name);
/* Reports argv[*i] as ignored and skips its value, if one follows that
 * does not start with '-' (scripts/run-bench passes every benchmark the
 * same arguments). */
void bl_arg_unknown(int argc, char **argv, int *i);
/* v limited to lo..hi. */
int  bl_clamp(int v, int lo, int hi);

/* key=value broker settings, passed to sluiced as --override key=value. */
struct bl_overrides {
    const char *kv[BL_MAX_OVERRIDES];
    int         n;
};
void bl_overrides_add(struct bl_overrides *o, const char *kv);   /* drops past the max */

/* ---------------------------------------------------------- directories */

void bl_mkdir_p(const char *path);
void bl_rm_rf(const char *path);
/* $SLUICE_BENCH_DIR, else $SLUICE_BUILD/bench-tmp (build/bench-tmp),
 * created if missing. */
void bl_bench_dir(char *out, size_t n);
/* Write and delete a scratch file of bytes in dir, so the kernel's free
 * lists hold warm pages before a measured run (bench/README.md). */
void bl_warm_pages(const char *dir, double bytes);
/* The same in two steps: write the scratch file now, delete it with
 * bl_warm_release() right before the timed run, so the pages are free
 * (and still warm) when the run needs them, not seconds earlier. */
void bl_warm_pages_keep(const char *dir, double bytes);
void bl_warm_release(void);

/* ------------------------------------------------------- sluiced process */

/* Start $SLUICE_BUILD/sluiced (default build/sluiced) on an ephemeral port
 * with a fresh data dir TAG.XXXXXX under bl_bench_dir(), passing ov (may be
 * NULL) as --override's. With warm_bytes > 0, bl_warm_pages() runs in that
 * directory before the broker starts. Fills bootstrap ("127.0.0.1:PORT")
 * if not NULL. Returns the port, or -1 (reported on stderr). One at a
 * time. */
int         bl_sluiced_start(const char *tag, const struct bl_overrides *ov, double warm_bytes,
                             char *bootstrap, size_t bsz);
/* SIGTERM (SIGKILL after 5 s), reap, remove the data dir. Safe to repeat. */
void        bl_sluiced_stop(void);
pid_t       bl_sluiced_pid(void);        /* 0 if none */
const char *bl_sluiced_dir(void);        /* its data dir, "" if none */

/* CPU seconds used so far by pid, all threads (schedstat run time, or
 * utime+stime from /proc/<pid>/stat without schedstat); NAN if unreadable. */
double bl_proc_cpu_s(pid_t pid);
/* The same for the running sluiced; NAN if none. */
double bl_sluiced_cpu_s(void);

/* Per-thread CPU of this process, to tell which side of a benchmark is the
 * bottleneck: a client thread near 100% of a CPU caps the rate whatever
 * the broker does. */
#define BL_MAX_THREADS 128
struct bl_threads {
    int    n;
    int    tid[BL_MAX_THREADS];
    double cpu_s[BL_MAX_THREADS];     /* schedstat run time (else utime+stime) */
    long   utick[BL_MAX_THREADS];     /* utime / stime clock ticks (sampled, coarse) */
    long   stick[BL_MAX_THREADS];
    char   name[BL_MAX_THREADS][16];
};
/* How many CPUs' worth of work two busy threads get done at once,
 * against one alone (1.0 .. 2.0). This VM's two vCPUs sometimes share one
 * host CPU; a run's ratios mean different things then, so benchmarks
 * print it. Takes about half a second. */
double bl_parallel_cpus(void);

/* The disk's rate for what acks=all with fsync must do: write `bytes`
 * (1 MiB write()s) to a new file in dir and fdatasync it; MB/s, NAN on
 * error. The file is removed. */
double bl_raw_sync_write_mbs(const char *dir, double bytes);

/* pid 0: this process */
void   bl_threads_snapshot(struct bl_threads *s, pid_t pid);
/* Index of thread tid in s, or -1. */
int    bl_threads_find(const struct bl_threads *s, int tid);
/* The thread of `after` that used the most CPU since `before`, as a share
 * of one CPU over secs (0..1); its name goes to name. NAN if none. */
double bl_threads_busiest(const struct bl_threads *before, const struct bl_threads *after,
                          double secs, char name[16]);

/* atexit(bl_sluiced_stop); SIGINT, SIGTERM and SIGHUP kill sluiced (and
 * call also(), if not NULL: it must be async-signal-safe), then end the
 * process as the signal would; SIGPIPE is ignored. */
void bl_cleanup_at_exit(void (*also)(void));

/* ------------------------------------------------------------ librdkafka */

/* rd_kafka_conf_set, exits with a message on failure. */
void bl_rk_set(rd_kafka_conf_t *conf, const char *k, const char *v);
void bl_rk_set_int(rd_kafka_conf_t *conf, const char *k, long v);
/* A new config with bootstrap.servers, log_level and (if not NULL) client.id. */
rd_kafka_conf_t *bl_rk_conf(const char *bootstrap, const char *log_level, const char *client_id);

/* Wait until the topic's metadata shows nparts partitions, every one with
 * a leader (connects too). 0, or -1 after timeout_ms. */
int bl_rk_wait_topic(rd_kafka_t *rk, const char *topic, int nparts, int timeout_ms);
/* CreateTopics (replication 1) through a client made from conf (taken
 * over); an existing topic is fine. With wait_ms > 0, then waits that long
 * for bl_rk_wait_topic. 0 or -1 (reported). */
int bl_rk_create_topic(rd_kafka_conf_t *conf, const char *topic, int nparts, int wait_ms);

/* rd_kafka_produce, polling while the queue is full. 0, or -1 on any other
 * error (reported). */
int bl_rk_produce(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t partition, int msgflags,
                  void *payload, size_t len);

/* Delivery reports counted into the struct bl_dr given as the client's
 * opaque (rd_kafka_conf_set_opaque). */
struct bl_dr {
    long ok, err;
    char first_err[256];       /* the first error's text */
};
void bl_rk_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

/* --------------------------------------------------------------- targets */

/* What a librdkafka client is pointed at: a fresh sluiced, or a fresh
 * librdkafka mock cluster (1 broker). */
enum { BL_SLUICED = 0, BL_MOCK = 1 };
extern const char *const bl_tname[2];     /* "sluiced", "mock" */

struct bl_target {
    int                      kind;
    char                     bootstrap[512];
    rd_kafka_t              *mock_rk;
    rd_kafka_mock_cluster_t *mcluster;
};

/* tag and ov are for bl_sluiced_start. 0 or -1 (reported). */
int    bl_target_start(struct bl_target *t, int kind, const char *tag,
                       const struct bl_overrides *ov);
void   bl_target_stop(struct bl_target *t);
/* The mock's own topic creation, or bl_rk_create_topic with conf (NULL: a
 * plain bl_rk_conf; destroyed if unused) and wait_ms. 0 or -1. */
int    bl_target_create_topic(struct bl_target *t, const char *topic, int nparts,
                              rd_kafka_conf_t *conf, int wait_ms);
/* sluiced's CPU seconds so far; NAN for the mock. */
double bl_target_cpu_s(const struct bl_target *t);

#endif
