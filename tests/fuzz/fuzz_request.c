/* tests/fuzz/fuzz_request.c -- whole request frames (header included) for
 * every API, through the broker's real request path.
 *
 * LLVMFuzzerInitialize starts an in-process broker (broker_start, one
 * network thread, listeners=PLAINTEXT://127.0.0.1:0, data in a temporary
 * directory, small segments and retention so a long run stays small).
 * Each input is sent as one frame, its size prefix being the input length,
 * on a persistent TCP connection, followed by a well-formed ApiVersions v0
 * "sentinel" request; the target reads until the sentinel's response (the
 * fuzzed request has then been handled), EOF (the broker closed the
 * connection, as it must on a malformed request: reconnect next time), or
 * a short timeout (50 ms: a parked Fetch or JoinGroup; drop the connection).
 * Coverage from the broker's loop thread counts: the counters are global.
 *
 * Liveness: every 500 inputs and after 20 timeouts in a row, a fresh connection
 * must get an ApiVersions answer within 10 s, else abort() -- a hung or
 * dead broker is reported as a crash. A crash inside the broker thread
 * kills the process and libFuzzer saves the input being run.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "server/broker.h"
#include "server/conf.h"
#include "storage/err.h"
#include "storage/log.h"
#include "tests/fuzz/fuzz.h"

#define REPLY_TIMEOUT_MS   50
#define HEALTH_TIMEOUT_MS  10000
#define HEALTH_EVERY       500
#define HEALTH_AFTER_TIMEOUTS 20

static struct sl_conf conf;
static struct broker *broker;
static char root[256];
static int port;
static int fd = -1;
static uint32_t corr_seq;
static unsigned long inputs;
static unsigned timeouts;    /* consecutive */

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
cleanup(void)
{
    char cmd[600];

    if (fd >= 0)
        close(fd);
    fd = -1;
    /* The broker is left running at exit unless SLUICE_FUZZ_STOP is set:
     * broker_stop leaks the replies of JoinGroups parked at shutdown
     * (coord_loop_stopping posts them to a loop that no longer runs), which
     * LeakSanitizer would report as a failure of every run. */
    if (broker && getenv("SLUICE_FUZZ_STOP")) {
        broker_stop(broker, 1000);
        broker = NULL;
    }
    if (root[0] && !getenv("SLUICE_KEEP")) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        if (system(cmd) != 0)
            fprintf(stderr, "fuzz_request: could not remove %s\n", root);
    }
}

static void
set(const char *k, const char *v)
{
    char err[256];
    if (conf_broker_set(&conf, k, v, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_request: %s=%s: %s\n", k, v, err);
        abort();
    }
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct stat st;
    char dirs[300];
    int rc;
    (void)argc; (void)argv;

    signal(SIGPIPE, SIG_IGN);
    sl_log_set_level(getenv("SLUICE_FUZZ_LOG") ? SL_LOG_DEBUG : SL_LOG_ERROR);
    const char *base = (stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0)
                       ? "/dev/shm" : "/tmp";
    snprintf(root, sizeof(root), "%s/sluice-fuzz-request-XXXXXX", base);
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        abort();
    }
    snprintf(dirs, sizeof(dirs), "%s/data", root);
    conf_defaults(&conf);
    set("listeners", "PLAINTEXT://127.0.0.1:0");
    set("log.dirs", dirs);
    set("num.network.threads", "1");
    set("group.initial.rebalance.delay.ms", "0");
    set("log.segment.bytes", "262144");
    set("log.retention.bytes", "1048576");
    set("log.retention.check.interval.ms", "1000");
    set("log.index.size.max.bytes", "65536");
    set("sluice.acks.all.fsync", "false");
    set("offsets.topic.num.partitions", "2");
    if ((rc = broker_start(&broker, &conf)) != 0) {
        fprintf(stderr, "fuzz_request: broker_start: %s\n", sl_strerror(rc));
        abort();
    }
    port = broker_port(broker);
    atexit(cleanup);
    return 0;
}

static int
connect_broker(void)
{
    struct sockaddr_in a;
    int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (s < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(s);
        return -1;
    }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return s;
}

static int
send_all(int s, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(s, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* An ApiVersions v0 request with correlation id corr, size prefix included. */
static size_t
api_versions_frame(uint8_t out[32], uint32_t corr)
{
    static const char id[] = "fuzz";
    size_t n = 0;
    uint32_t len = 2 + 2 + 4 + 2 + (uint32_t)(sizeof(id) - 1);

    out[n++] = (uint8_t)(len >> 24); out[n++] = (uint8_t)(len >> 16);
    out[n++] = (uint8_t)(len >> 8);  out[n++] = (uint8_t)len;
    out[n++] = 0; out[n++] = 18;     /* ApiVersions */
    out[n++] = 0; out[n++] = 0;      /* v0 */
    out[n++] = (uint8_t)(corr >> 24); out[n++] = (uint8_t)(corr >> 16);
    out[n++] = (uint8_t)(corr >> 8);  out[n++] = (uint8_t)corr;
    out[n++] = 0; out[n++] = (uint8_t)(sizeof(id) - 1);
    memcpy(out + n, id, sizeof(id) - 1);
    return n + sizeof(id) - 1;
}

/* Read response frames on s until one carries correlation id corr.
 * 1: found; 0: EOF or error (connection gone); -1: timeout. */
static int
await_corr(int s, uint32_t corr, int timeout_ms)
{
    static uint8_t *buf;
    static size_t cap;
    size_t have = 0;
    int64_t deadline = now_ms() + timeout_ms;

    if (!buf) {
        cap = 1 << 16;
        buf = malloc(cap);
        if (!buf)
            abort();
    }
    for (;;) {
        /* consume whole frames */
        while (have >= 8) {
            uint32_t len = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
                           (uint32_t)buf[2] << 8 | buf[3];
            uint32_t c = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 |
                         (uint32_t)buf[6] << 8 | buf[7];
            if (c == corr && len >= 4)
                return 1;
            if (have < 4 + (size_t)len) {
                /* the rest of a big response: skip it as it arrives */
                if (4 + (size_t)len > cap) {
                    size_t skip = 4 + (size_t)len;
                    while (have < skip) {
                        struct pollfd p = { .fd = s, .events = POLLIN };
                        int64_t left = deadline - now_ms();
                        if (left <= 0)
                            return -1;
                        if (poll(&p, 1, (int)left) <= 0)
                            return -1;
                        size_t want = skip - have < cap ? skip - have : cap;
                        ssize_t r = recv(s, buf, want, 0);
                        if (r <= 0)
                            return 0;
                        have += (size_t)r;
                    }
                    have = 0;
                    continue;
                }
                break;
            }
            memmove(buf, buf + 4 + len, have - 4 - len);
            have -= 4 + (size_t)len;
        }
        struct pollfd p = { .fd = s, .events = POLLIN };
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return -1;
        int pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return -1;
        ssize_t r = recv(s, buf + have, cap - have, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        have += (size_t)r;
    }
}

/* A fresh connection must get an ApiVersions answer: else the broker is
 * dead or hung, which is a bug to report. */
static void
health_check(void)
{
    uint8_t f[32];
    uint32_t corr = 0x48000000u | (corr_seq++ & 0xffffff);
    size_t n = api_versions_frame(f, corr);
    int s = -1, ok = 0;
    int64_t deadline = now_ms() + HEALTH_TIMEOUT_MS;

    while (!ok && now_ms() < deadline) {
        if ((s = connect_broker()) < 0) {
            usleep(10000);
            continue;
        }
        ok = send_all(s, f, n) == 0 && await_corr(s, corr, (int)(deadline - now_ms())) == 1;
        close(s);
    }
    if (!ok) {
        fprintf(stderr, "fuzz_request: broker no longer answers ApiVersions after %lu inputs\n",
                inputs);
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t sentinel[32], *frame;
    uint32_t corr;
    size_t sn;
    int rc;

    if (size > (1u << 20))
        return 0;
    inputs++;
    if (fd < 0 && (fd = connect_broker()) < 0) {
        health_check();
        if ((fd = connect_broker()) < 0)
            abort();
    }
    frame = malloc(size + 4);
    if (!frame)
        abort();
    frame[0] = (uint8_t)(size >> 24); frame[1] = (uint8_t)(size >> 16);
    frame[2] = (uint8_t)(size >> 8);  frame[3] = (uint8_t)size;
    memcpy(frame + 4, data, size);
    corr = 0x53000000u | (corr_seq++ & 0xffffff);
    sn = api_versions_frame(sentinel, corr);
    rc = send_all(fd, frame, size + 4) == 0 && send_all(fd, sentinel, sn) == 0
         ? await_corr(fd, corr, REPLY_TIMEOUT_MS) : 0;
    free(frame);
    if (rc != 1) {
        close(fd);
        fd = -1;
    }
    timeouts = rc < 0 ? timeouts + 1 : 0;
    if (timeouts >= HEALTH_AFTER_TIMEOUTS || inputs % HEALTH_EVERY == 0) {
        health_check();
        timeouts = 0;
    }
    return 0;
}
