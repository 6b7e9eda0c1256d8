/* bench/bench_loopback.c -- the broker alone against a plain TCP sink.
 *
 *   build/bench/bench_loopback [--rounds 5] [--seconds 10] [--gb 1] [--depth 8]
 *                              [--version 7] [--value-size 1000]
 *                              [--batch-bytes 1048576] [--broker-override k=v]...
 *                              [--no-warm]
 *
 * One client connection sends the same pre-encoded Produce request (v3..v7,
 * acks=1, one topic, partition 0, one RecordBatch v2 of --batch-bytes made of
 * ~1 KiB records, valid CRC32C) over and over, keeping --depth requests in
 * flight and reading (parsing) the responses, for --seconds or --gb,
 * whichever comes first; the clock stops when the last response is in.
 * The default 1 GB stays below the kernel's dirty-page writeback threshold
 * on the development VM, so it measures the broker and not the disk (a
 * longer run converges to the disk's write rate, ~430 MB/s there).
 *
 * The peer is a plain TCP sink in the same process (a thread that accepts
 * one connection and reads and discards everything, 1 MiB per read): the
 * same client code sends the same frames, minus response handling, and the
 * clock stops when the sink has read the last byte. The two alternate,
 * sluiced first in odd rounds, sink first in even ones; each round gets a
 * fresh sluiced with an empty data directory. Printed: MB/s of request bytes
 * (MB = 1e6 B), the ratio sluiced/sink of the medians (target >= 0.5), and
 * sluiced's CPU seconds per GB (sum of its threads' schedstat run time).
 *
 * sluiced is $SLUICE_BUILD/sluiced (default build/sluiced); data lives in a
 * fresh loopback.XXXXXX under $SLUICE_BENCH_DIR or $SLUICE_BUILD/bench-tmp,
 * removed afterwards. The broker is always killed at exit. Exit code 0 unless
 * a measurement could not run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "bench/support/benchlib.h"
#include "storage/crc32c.h"
#include "storage/record.h"

#define MAX_ROUNDS     99
#define TOPIC          "loopback"
#define CLIENT_ID      "bench_loopback"

static struct {
    int         rounds;
    double      seconds;
    double      gb;
    int         depth;
    int         version;
    int         value_size;
    long        batch_bytes;
    struct bl_overrides overrides;
    int         warm;
} opt = { 5, 10, 1, 8, 7, 1000, 1048576, { { 0 }, 0 }, 1 };

/* ------------------------------------------------------------ wire bits */

struct wbuf {
    uint8_t *p;
    size_t   len, cap;
};

static void
wb_need(struct wbuf *w, size_t n)
{
    if (w->len + n <= w->cap)
        return;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n)
        cap *= 2;
    w->p = realloc(w->p, cap);
    if (!w->p) {
        fprintf(stderr, "bench_loopback: out of memory\n");
        exit(1);
    }
    w->cap = cap;
}

static void wb_i8(struct wbuf *w, int8_t v) { wb_need(w, 1); w->p[w->len++] = (uint8_t)v; }
static void wb_i16(struct wbuf *w, int16_t v) { wb_need(w, 2); rec_put_u16(w->p + w->len, (uint16_t)v); w->len += 2; }
static void wb_i32(struct wbuf *w, int32_t v) { wb_need(w, 4); rec_put_u32(w->p + w->len, (uint32_t)v); w->len += 4; }
static void wb_bytes(struct wbuf *w, const void *b, size_t n) { wb_need(w, n); memcpy(w->p + w->len, b, n); w->len += n; }
static void wb_str(struct wbuf *w, const char *s) { wb_i16(w, (int16_t)strlen(s)); wb_bytes(w, s, strlen(s)); }

/* Header v1 (api key, version, correlation id, client id); the frame length
 * is left at 0 and filled by wb_frame_end. */
static void
wb_frame_begin(struct wbuf *w, int16_t key, int16_t ver, int32_t corr)
{
    w->len = 0;
    wb_i32(w, 0);
    wb_i16(w, key);
    wb_i16(w, ver);
    wb_i32(w, corr);
    wb_str(w, CLIENT_ID);
}

static void
wb_frame_end(struct wbuf *w)
{
    rec_put_u32(w->p, (uint32_t)(w->len - 4));
}

/* A reader over one response body, with an error flag instead of checks. */
struct rd {
    const uint8_t *p, *end;
    int            bad;
};

static int
rd_has(struct rd *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return 0;
    }
    return 1;
}
static int16_t rd_i16(struct rd *r) { if (!rd_has(r, 2)) return 0; int16_t v = rec_get_i16(r->p); r->p += 2; return v; }
static int32_t rd_i32(struct rd *r) { if (!rd_has(r, 4)) return 0; int32_t v = rec_get_i32(r->p); r->p += 4; return v; }
static void rd_skip(struct rd *r, size_t n) { if (rd_has(r, n)) r->p += n; }
static void rd_skip_str(struct rd *r) { int16_t n = rd_i16(r); if (n > 0) rd_skip(r, (size_t)n); }

static int
write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int
read_all(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k <= 0) {
            if (k < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Read one whole response frame into *buf (grown as needed); its length. */
static ssize_t
read_frame(int fd, uint8_t **buf, size_t *cap)
{
    uint8_t l[4];
    if (read_all(fd, l, 4) != 0)
        return -1;
    size_t n = rec_get_u32(l);
    if (n > 64u << 20)
        return -1;
    if (n > *cap) {
        uint8_t *nb = realloc(*buf, n);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = n;
    }
    if (read_all(fd, *buf, n) != 0)
        return -1;
    return (ssize_t)n;
}

static int
connect_to(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Metadata v4 for TOPIC with allow_auto_topic_creation until the topic
 * exists with a leader for partition 0. */
static int
create_topic(int fd)
{
    struct wbuf w = { 0 };
    uint8_t *rb = NULL;
    size_t rcap = 0;
    int ok = 0;

    for (int attempt = 0; attempt < 100 && !ok; attempt++) {
        wb_frame_begin(&w, 3 /* Metadata */, 4, 1000 + attempt);
        wb_i32(&w, 1);
        wb_str(&w, TOPIC);
        wb_i8(&w, 1);                  /* allow_auto_topic_creation */
        wb_frame_end(&w);
        if (write_all(fd, w.p, w.len) != 0)
            break;
        ssize_t n = read_frame(fd, &rb, &rcap);
        if (n < 0)
            break;
        struct rd r = { rb, rb + n, 0 };
        rd_i32(&r);                    /* correlation id */
        rd_i32(&r);                    /* throttle */
        int32_t nb = rd_i32(&r);
        for (int i = 0; i < nb && !r.bad; i++) {
            rd_i32(&r);                /* node id */
            rd_skip_str(&r);           /* host */
            rd_i32(&r);                /* port */
            rd_skip_str(&r);           /* rack */
        }
        rd_skip_str(&r);               /* cluster id */
        rd_i32(&r);                    /* controller */
        int32_t nt = rd_i32(&r);
        for (int i = 0; i < nt && !r.bad; i++) {
            int16_t terr = rd_i16(&r);
            rd_skip_str(&r);           /* name */
            rd_skip(&r, 1);            /* is_internal */
            int32_t np = rd_i32(&r);
            int leader0 = -1;
            for (int j = 0; j < np && !r.bad; j++) {
                int16_t perr = rd_i16(&r);
                int32_t idx = rd_i32(&r);
                int32_t leader = rd_i32(&r);
                int32_t k = rd_i32(&r);
                rd_skip(&r, 4 * (size_t)(k > 0 ? k : 0));
                k = rd_i32(&r);
                rd_skip(&r, 4 * (size_t)(k > 0 ? k : 0));
                if (idx == 0 && perr == 0)
                    leader0 = leader;
            }
            if (!r.bad && terr == 0 && np >= 1 && leader0 >= 0)
                ok = 1;
        }
        if (!ok)
            bl_sleep_us(50000);
    }
    free(w.p);
    free(rb);
    if (!ok)
        fprintf(stderr, "bench_loopback: topic %s not created\n", TOPIC);
    return ok ? 0 : -1;
}

/* The Produce request: one RecordBatch v2 of about opt.batch_bytes. */
static void
build_produce(struct wbuf *w, long *nrecords)
{
    size_t cap = (size_t)opt.batch_bytes;
    uint8_t *batch = calloc(1, cap);
    uint8_t *value = malloc((size_t)opt.value_size);
    size_t pos = REC_HDR_LEN;
    int32_t count = 0;
    struct timespec ts;

    if (!batch || !value) {
        fprintf(stderr, "bench_loopback: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < opt.value_size; i++)
        value[i] = (uint8_t)("sluice-loopback-"[i % 16]);
    for (;;) {
        uint8_t body[64];
        size_t b = 0;
        body[b++] = 0;                                  /* attributes */
        b += rec_write_varlong(body + b, 0);            /* timestamp delta */
        b += rec_write_varint(body + b, count);         /* offset delta */
        b += rec_write_varint(body + b, -1);            /* key: null */
        b += rec_write_varint(body + b, opt.value_size);
        size_t reclen = b + (size_t)opt.value_size + 1; /* + header count */
        uint8_t lenbuf[8];
        size_t lb = rec_write_varint(lenbuf, (int32_t)reclen);
        if (pos + lb + reclen > cap)
            break;
        memcpy(batch + pos, lenbuf, lb);
        pos += lb;
        memcpy(batch + pos, body, b);
        pos += b;
        memcpy(batch + pos, value, (size_t)opt.value_size);
        pos += (size_t)opt.value_size;
        batch[pos++] = 0;                               /* header count 0 */
        count++;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    rec_put_u64(batch + REC_OFF_BASE_OFFSET, 0);
    rec_put_u32(batch + REC_OFF_LENGTH, (uint32_t)(pos - REC_LOG_OVERHEAD));
    rec_put_u32(batch + REC_OFF_LEADER_EPOCH, (uint32_t)-1);
    batch[REC_OFF_MAGIC] = REC_MAGIC_V2;
    rec_put_u16(batch + REC_OFF_ATTRIBUTES, 0);
    rec_put_u32(batch + REC_OFF_LAST_OFFSET_DELTA, (uint32_t)(count - 1));
    rec_put_u64(batch + REC_OFF_BASE_TIMESTAMP, (uint64_t)now_ms);
    rec_put_u64(batch + REC_OFF_MAX_TIMESTAMP, (uint64_t)now_ms);
    rec_put_u64(batch + REC_OFF_PRODUCER_ID, (uint64_t)-1);
    rec_put_u16(batch + REC_OFF_PRODUCER_EPOCH, (uint16_t)-1);
    rec_put_u32(batch + REC_OFF_BASE_SEQUENCE, (uint32_t)-1);
    rec_put_u32(batch + REC_OFF_RECORD_COUNT, (uint32_t)count);
    rec_put_u32(batch + REC_OFF_CRC, crc32c(0, batch + REC_OFF_ATTRIBUTES, pos - REC_OFF_ATTRIBUTES));
    if (rec_validate_batch(batch, pos) != 0) {
        fprintf(stderr, "bench_loopback: built an invalid batch\n");
        exit(1);
    }

    wb_frame_begin(w, 0 /* Produce */, (int16_t)opt.version, 0);
    wb_i16(w, -1);                     /* transactional id: null */
    wb_i16(w, 1);                      /* acks */
    wb_i32(w, 30000);                  /* timeout */
    wb_i32(w, 1);
    wb_str(w, TOPIC);
    wb_i32(w, 1);
    wb_i32(w, 0);                      /* partition */
    wb_i32(w, (int32_t)pos);
    wb_bytes(w, batch, pos);
    wb_frame_end(w);
    *nrecords = count;
    free(batch);
    free(value);
}

/* Check one Produce response (v3..v7): every partition error 0. */
static int
parse_produce_resp(const uint8_t *p, size_t n, int32_t want_corr, int ver)
{
    struct rd r = { p, p + n, 0 };
    int err = 0;
    if (rd_i32(&r) != want_corr)
        return -1;
    int32_t nt = rd_i32(&r);
    for (int i = 0; i < nt && !r.bad; i++) {
        rd_skip_str(&r);
        int32_t np = rd_i32(&r);
        for (int j = 0; j < np && !r.bad; j++) {
            rd_i32(&r);                /* index */
            int16_t e = rd_i16(&r);
            rd_skip(&r, 8 + 8 + (ver >= 5 ? 8 : 0));   /* base offset, append time, log start */
            if (e != 0 && !err)
                err = e;
        }
    }
    rd_i32(&r);                        /* throttle */
    if (r.bad)
        return -1;
    if (err) {
        fprintf(stderr, "bench_loopback: produce error code %d\n", err);
        return -1;
    }
    return 0;
}

struct run {
    double secs, bytes, cpu;
    int    ok;
    double client_busy, broker_busy;     /* busiest thread, share of one CPU */
    char   client_name[16], broker_name[16];
};

/* The client loop shared by both peers. With responses, keeps opt.depth
 * requests in flight and checks every response; without (the sink), just
 * writes. Stops after opt.seconds or opt.gb. Returns bytes written. */
static int
client_loop(int fd, struct wbuf *frame, int responses, double *bytes_out, int64_t *t_end)
{
    int64_t t0 = bl_now_ns(), stop = t0 + (int64_t)(opt.seconds * 1e9);
    double limit = opt.gb * 1e9, bytes = 0;
    int32_t corr = 1, next_resp = 1;
    int inflight = 0;
    uint8_t *rb = NULL;
    size_t rcap = 0;
    int rc = 0;

    for (;;) {
        int more = bl_now_ns() < stop && bytes + (double)frame->len <= limit;
        if (responses && (inflight >= opt.depth || (!more && inflight > 0))) {
            ssize_t n = read_frame(fd, &rb, &rcap);
            if (n < 0 || parse_produce_resp(rb, (size_t)n, next_resp, opt.version) != 0) {
                fprintf(stderr, "bench_loopback: bad or missing response %d\n", next_resp);
                rc = -1;
                break;
            }
            next_resp++;
            inflight--;
            continue;
        }
        if (!more)
            break;
        rec_put_u32(frame->p + 8, (uint32_t)corr++);
        if (write_all(fd, frame->p, frame->len) != 0) {
            fprintf(stderr, "bench_loopback: write: %s\n", strerror(errno));
            rc = -1;
            break;
        }
        bytes += (double)frame->len;
        if (responses)
            inflight++;
    }
    *t_end = bl_now_ns();
    *bytes_out = bytes;
    free(rb);
    return rc;
}

/* ------------------------------------------------------------------ sink */

struct sink {
    int          lfd, port;
    volatile double received;
    volatile int64_t last_ns;
    pthread_t    th;
};

static void *
sink_thread(void *arg)
{
    struct sink *s = arg;
    size_t cap = 1 << 20;
    uint8_t *buf = malloc(cap);
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0 || !buf) {
        free(buf);
        return NULL;
    }
    for (;;) {
        ssize_t n = read(fd, buf, cap);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            break;
        }
        s->received += (double)n;
        s->last_ns = bl_now_ns();
    }
    close(fd);
    free(buf);
    return NULL;
}

static int
sink_start(struct sink *s)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    memset(s, 0, sizeof(*s));
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->lfd, 4) != 0 ||
        getsockname(s->lfd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->th, NULL, sink_thread, s);
}

/* ---------------------------------------------------------------- rounds */

static int
run_sink(struct wbuf *frame, struct run *res)
{
    struct sink s;
    double sent;
    int64_t t_end;

    memset(res, 0, sizeof(*res));
    if (sink_start(&s) != 0) {
        fprintf(stderr, "bench_loopback: sink: %s\n", strerror(errno));
        return -1;
    }
    int fd = connect_to(s.port);
    if (fd < 0)
        return -1;
    int64_t t0 = bl_now_ns();
    int rc = client_loop(fd, frame, 0, &sent, &t_end);
    while (s.received < sent && bl_now_ns() - t_end < 10 * 1000000000LL)
        bl_sleep_us(100);
    int64_t t1 = s.last_ns;
    close(fd);
    pthread_join(s.th, NULL);
    close(s.lfd);
    res->ok = rc == 0 && s.received >= sent;
    res->secs = (double)(t1 - t0) / 1e9;
    res->bytes = sent;
    res->cpu = NAN;
    return res->ok ? 0 : -1;
}

static int
run_sluiced(struct wbuf *frame, struct run *res)
{
    int port, rc = -1;
    double sent;
    int64_t t_end;

    memset(res, 0, sizeof(*res));
    if ((port = bl_sluiced_start("loopback", &opt.overrides, 0, NULL, 0)) < 0)
        return -1;
    int fd = connect_to(port);
    if (fd < 0) {
        fprintf(stderr, "bench_loopback: connect to sluiced: %s\n", strerror(errno));
        goto out;
    }
    if (create_topic(fd) != 0)
        goto out;
    if (opt.warm) {
        bl_warm_pages_keep(bl_sluiced_dir(), opt.gb * 1e9 * 1.1);
        bl_warm_release();
    }
    struct bl_threads me0, me1, br0, br1;
    bl_threads_snapshot(&me0, 0);
    bl_threads_snapshot(&br0, bl_sluiced_pid());
    double cpu0 = bl_sluiced_cpu_s();
    int64_t t0 = bl_now_ns();
    rc = client_loop(fd, frame, 1, &sent, &t_end);
    double cpu1 = bl_sluiced_cpu_s();
    bl_threads_snapshot(&me1, 0);
    bl_threads_snapshot(&br1, bl_sluiced_pid());
    res->client_busy = bl_threads_busiest(&me0, &me1, (double)(t_end - t0) / 1e9, res->client_name);
    res->broker_busy = bl_threads_busiest(&br0, &br1, (double)(t_end - t0) / 1e9, res->broker_name);
    res->ok = rc == 0;
    res->secs = (double)(t_end - t0) / 1e9;
    res->bytes = sent;
    res->cpu = cpu1 - cpu0;
out:
    if (fd >= 0)
        close(fd);
    bl_sluiced_stop();
    return res->ok ? 0 : -1;
}

int
main(int argc, char **argv)
{
    static double mbs[2][MAX_ROUNDS], cpugb[MAX_ROUNDS];
    static const char *const name[2] = { "sluiced", "tcp sink" };
    struct wbuf frame = { 0 };
    long nrec;
    int failures = 0;

    bl_set_prog("bench_loopback");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define ARG(n) (v = bl_arg(argc, argv, &i, n))
        if (ARG("--rounds"))
            opt.rounds = atoi(v);
        else if (ARG("--seconds"))
            opt.seconds = atof(v);
        else if (ARG("--gb"))
            opt.gb = atof(v);
        else if (ARG("--depth"))
            opt.depth = atoi(v);
        else if (ARG("--version"))
            opt.version = atoi(v);
        else if (ARG("--value-size"))
            opt.value_size = atoi(v);
        else if (ARG("--batch-bytes"))
            opt.batch_bytes = atol(v);
        else if (ARG("--broker-override"))
            bl_overrides_add(&opt.overrides, v);
        else if (!strcmp(a, "--no-warm")) {
            opt.warm = 0;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: bench_loopback [--rounds 5] [--seconds 10] [--gb 1] [--depth 8]\n"
                   "         [--version 3..7] [--value-size 1000] [--batch-bytes 1048576]\n"
                   "         [--broker-override key=value]... [--no-warm]\n");
            return 0;
        } else {
            bl_arg_unknown(argc, argv, &i);     /* other benchmarks' options */
        }
#undef ARG
    }
    opt.rounds = bl_clamp(opt.rounds, 1, MAX_ROUNDS);
    if (opt.version < 3) opt.version = 3;
    if (opt.version > 7) opt.version = 7;
    if (opt.depth < 1) opt.depth = 1;
    if (opt.batch_bytes < 4096) opt.batch_bytes = 4096;
    if (opt.value_size < 1 || opt.value_size > opt.batch_bytes / 2) opt.value_size = 1000;

    bl_cleanup_at_exit(NULL);

    build_produce(&frame, &nrec);
    printf("bench_loopback: Produce v%d acks=1, %zu-byte requests (%ld records of %d B value), "
           "%d in flight, %.3g s or %.3g GB per run, %d rounds, page warm-up %s, %ld CPUs "
           "(parallel capacity now %.2f)\n",
           opt.version, frame.len, nrec, opt.value_size, opt.depth, opt.seconds, opt.gb,
           opt.rounds, opt.warm ? "on" : "off", sysconf(_SC_NPROCESSORS_ONLN), bl_parallel_cpus());
    fflush(stdout);

    for (int r = 0; r < opt.rounds; r++) {
        for (int k = 0; k < 2; k++) {
            int who = (r % 2) ? 1 - k : k;
            struct run res;
            sync();     /* the previous run's dirty pages are written back now,
                         * not by kernel threads during this one */
            int rc = who == 0 ? run_sluiced(&frame, &res) : run_sink(&frame, &res);
            if (rc != 0) {
                failures++;
                mbs[who][r] = NAN;
                if (who == 0)
                    cpugb[r] = NAN;
                printf("  round %d %-8s FAILED\n", r + 1, name[who]);
            } else {
                mbs[who][r] = res.bytes / res.secs / 1e6;
                if (who == 0)
                    cpugb[r] = res.cpu / (res.bytes / 1e9);
                printf("  round %d %-8s %9.1f MB/s  (%.2f GB in %.2f s)", r + 1, name[who],
                       mbs[who][r], res.bytes / 1e9, res.secs);
                if (who == 0)
                    printf("  cpu %.2f s = %.3f CPU-s/GB  busiest: client %.0f%%, %s %.0f%%",
                           res.cpu, cpugb[r], res.client_busy * 100, res.broker_name,
                           res.broker_busy * 100);
                printf("\n");
            }
            fflush(stdout);
        }
    }
    double ms = bl_median(mbs[0], opt.rounds), mt = bl_median(mbs[1], opt.rounds);
    printf("\nMedians over %d rounds (request bytes, MB = 1e6 B)\n", opt.rounds);
    printf("  sluiced   %9.1f MB/s   %.3f CPU-s/GB\n", ms, bl_median(cpugb, opt.rounds));
    printf("  tcp sink  %9.1f MB/s\n", mt);
    printf("  ratio     %9.2f        %s (target >= 0.50 of the plain loopback rate)\n", ms / mt,
           isnan(ms / mt) ? "n/a" : ms / mt >= 0.5 ? "PASS" : "MISS");
    if (failures)
        printf("%d run(s) failed (see stderr)\n", failures);
    free(frame.p);
    return 0;
}
