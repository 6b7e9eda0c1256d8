/* tests/test_net.c -- server/loop.c and server/net.c over real sockets.
 *
 * The server runs a test handler speaking a toy protocol on Kafka framing:
 * request = [u32 corr][u8 cmd][3 pad][payload], response = [u32 corr][...].
 *   'E' echo: payload reversed          'W' park until an 'R' arrives
 *   'R' reply "R", then (from a timer) complete parked ones, newest first
 *   'F' [u32 pos][u32 len]: "HEAD" file(pos,len) "MID" file(0,16) file(16,16) "TAIL"
 *   'B' [u32 n]: n pattern bytes         'D' [u32 ms]: echo "D" after ms (timer)
 *   'H' hold: completed only after the peer closed   'X' conn_close   'N' no reply
 * Clients are plain blocking sockets with receive/send timeouts; waits
 * poll a condition against a deadline.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/loop.h"
#include "server/net.h"
#include "storage/buf.h"
#include "storage/err.h"
#include "storage/log.h"

#define WAIT_MS 10000

/* ---- polling helper ------------------------------------------------------ */

static int
wait_for(int (*cond)(void *), void *arg, int64_t ms)
{
    int64_t deadline = loop_mono_ms() + ms;
    struct timespec ts = { 0, 1000000 };
    while (!cond(arg)) {
        if (loop_mono_ms() > deadline)
            return 0;
        nanosleep(&ts, NULL);
    }
    return 1;
}

/* ---- the test handler ---------------------------------------------------- */

static atomic_int g_requests;
static atomic_int g_closes;
static atomic_int g_releases;
static atomic_int g_held_done;
static atomic_int g_big_handled;
static int g_file_fd = -1;
static struct net_server *g_srv;

struct tconn {
    struct resp      *parked[64];
    int               nparked;
    struct resp      *held[8];
    int               nheld;
    struct loop_timer release_t;
    struct loop_timer held_t;
};

struct delayed {
    struct loop_timer t;
    struct resp      *r;
};

static uint32_t
rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
release_cb(void *arg)
{
    (void)arg;
    atomic_fetch_add(&g_releases, 1);
}

static void
release_parked(struct loop *l, struct loop_timer *t, void *arg)
{
    struct tconn *tc = arg;
    (void)l;
    (void)t;
    while (tc->nparked > 0)
        resp_complete(tc->parked[--tc->nparked]);
}

static void
held_done(struct loop *l, struct loop_timer *t, void *arg)
{
    struct tconn *tc = arg;
    (void)l;
    (void)t;
    for (int i = 0; i < tc->nheld; i++) {
        resp_complete(tc->held[i]);
        atomic_fetch_add(&g_held_done, 1);
    }
    free(tc);
}

static void
delayed_done(struct loop *l, struct loop_timer *t, void *arg)
{
    struct delayed *d = arg;
    (void)l;
    (void)t;
    resp_complete(d->r);
    free(d);
}

static void
th_on_request(struct conn *c, uint8_t *frame, size_t len, void *arg)
{
    (void)arg;
    atomic_fetch_add(&g_requests, 1);
    cr_assert_geq(len, 8);
    struct tconn *tc = conn_user(c);
    if (!tc) {
        tc = calloc(1, sizeof(*tc));
        conn_set_user(c, tc);
    }
    uint32_t corr = rd32(frame);
    char cmd = (char)frame[4];
    uint8_t *pl = frame + 8;
    size_t n = len - 8;
    struct resp *r;
    struct sl_buf *b;

    switch (cmd) {
    case 'N':
        return;
    case 'X':
        conn_close(c);
        cr_assert(conn_is_closed(c));
        return;
    default:
        break;
    }
    r = conn_resp_begin(c);
    cr_assert_not_null(r);
    cr_assert_eq(resp_conn(r), c);
    b = resp_buf(r);
    sl_buf_put_i32(b, (int32_t)corr);
    switch (cmd) {
    case 'E':
        for (size_t i = 0; i < n / 2; i++) {        /* patch the frame in place */
            uint8_t x = pl[i];
            pl[i] = pl[n - 1 - i];
            pl[n - 1 - i] = x;
        }
        sl_buf_append(b, pl, n);
        resp_complete(r);
        break;
    case 'W':
        sl_buf_append(b, "W", 1);
        tc->parked[tc->nparked++] = r;
        break;
    case 'R':
        sl_buf_append(b, "R", 1);
        resp_complete(r);
        loop_timer_start(conn_loop(c), &tc->release_t, loop_now_ms(conn_loop(c)),
                         release_parked, tc);
        break;
    case 'F': {
        uint32_t pos = rd32(pl), flen = rd32(pl + 4);
        sl_buf_append(b, "HEAD", 4);
        cr_assert_eq(resp_add_file(r, g_file_fd, pos, flen, release_cb, NULL), 0);
        sl_buf_append(b, "MID", 3);
        cr_assert_eq(resp_add_file(r, g_file_fd, 0, 16, release_cb, NULL), 0);
        cr_assert_eq(resp_add_file(r, g_file_fd, 16, 16, release_cb, NULL), 0);
        sl_buf_append(b, "TAIL", 4);
        cr_assert_eq(resp_len(r), 4 + 4 + flen + 3 + 32 + 4);
        resp_complete(r);
        break;
    }
    case 'B': {
        uint32_t bn = rd32(pl);
        uint8_t *p = sl_buf_extend(b, bn);
        for (uint32_t i = 0; i < bn; i++)
            p[i] = (uint8_t)(i * 31 + corr);
        atomic_fetch_add(&g_big_handled, 1);
        resp_complete(r);
        break;
    }
    case 'D': {
        struct delayed *d = calloc(1, sizeof(*d));
        d->r = r;
        sl_buf_append(b, "D", 1);
        loop_timer_start(conn_loop(c), &d->t, loop_now_ms(conn_loop(c)) + rd32(pl),
                         delayed_done, d);
        break;
    }
    case 'H':
        tc->held[tc->nheld++] = r;
        break;
    default:
        cr_assert_fail("unknown command %c", cmd);
    }
}

static void
th_on_close(struct conn *c, void *arg)
{
    (void)arg;
    struct tconn *tc = conn_user(c);
    atomic_fetch_add(&g_closes, 1);
    cr_assert(conn_is_closed(c));
    if (!tc)
        return;
    loop_timer_cancel(conn_loop(c), &tc->release_t);
    release_parked(conn_loop(c), NULL, tc);     /* completing on a dead conn frees */
    if (tc->nheld)
        loop_timer_start(conn_loop(c), &tc->held_t, loop_now_ms(conn_loop(c)) + 20,
                         held_done, tc);
    else
        free(tc);
}

static struct net_handler th = {
    .arg = NULL, .on_request = th_on_request, .on_close = th_on_close,
};

static void
start(struct net_config *cfg)
{
    cfg->host = "127.0.0.1";
    cfg->port = 0;
    cr_assert_eq(net_server_start(&g_srv, cfg, &th), 0);
    cr_assert_gt(net_server_port(g_srv), 0);
}

static void
suite_init(void)
{
    sl_log_set_level(SL_LOG_WARN);
}

static void
suite_fini(void)
{
    net_server_free(g_srv);
    g_srv = NULL;
    if (g_file_fd >= 0)
        close(g_file_fd);
}

/* ---- the test client -------------------------------------------------------- */

static int
cli_connect_buf(int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(net_server_port(g_srv)) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %s", strerror(errno));
    return fd;
}

static int
cli_connect(void)
{
    return cli_connect_buf(0);
}

static void
cli_send(int fd, const void *p, size_t n)
{
    const uint8_t *q = p;
    while (n) {
        ssize_t w = send(fd, q, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        cr_assert_gt(w, 0, "send: %s", strerror(errno));
        q += w;
        n -= (size_t)w;
    }
}

/* 0, or -1 on EOF/reset/timeout. */
static int
cli_recv(int fd, void *p, size_t n)
{
    uint8_t *q = p;
    while (n) {
        ssize_t r = recv(fd, q, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        q += r;
        n -= (size_t)r;
    }
    return 0;
}

static void
frame(struct sl_buf *b, uint32_t corr, char cmd, const void *pl, size_t n)
{
    sl_buf_put_i32(b, (int32_t)(8 + n));
    sl_buf_put_i32(b, (int32_t)corr);
    uint8_t hdr[4] = { (uint8_t)cmd, 0, 0, 0 };
    sl_buf_append(b, hdr, 4);
    if (n)
        sl_buf_append(b, pl, n);
}

static void
frame_u32(struct sl_buf *b, uint32_t corr, char cmd, uint32_t v)
{
    uint8_t p[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    frame(b, corr, cmd, p, 4);
}

/* Read one response; returns malloc'd body after corr, *len its size. */
static uint8_t *
cli_resp(int fd, uint32_t want_corr, size_t *len)
{
    uint8_t h[8];
    cr_assert_eq(cli_recv(fd, h, 8), 0, "no response for corr %u", want_corr);
    uint32_t size = rd32(h);
    cr_assert_geq(size, 4);
    cr_assert_eq(rd32(h + 4), want_corr, "got corr %u, want %u", rd32(h + 4), want_corr);
    *len = size - 4;
    uint8_t *p = malloc(*len + 1);
    cr_assert_eq(cli_recv(fd, p, *len), 0);
    return p;
}

static void
cli_send_buf(int fd, struct sl_buf *b)
{
    cli_send(fd, b->data, b->len);
    sl_buf_reset(b);
}

static void
echo_roundtrip(int fd, uint32_t corr)
{
    struct sl_buf b = SL_BUF_INIT;
    frame(&b, corr, 'E', "abc", 3);
    cli_send_buf(fd, &b);
    size_t n;
    uint8_t *p = cli_resp(fd, corr, &n);
    cr_assert_eq(n, 3);
    cr_assert_eq(memcmp(p, "cba", 3), 0);
    free(p);
    sl_buf_free(&b);
}

/* The server closed fd: recv gives EOF or a reset (not a timeout). */
static int
cli_is_closed(int fd)
{
    char x;
    for (;;) {
        ssize_t r = recv(fd, &x, 1, 0);
        if (r == 0)
            return 1;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno == ECONNRESET;
    }
}

static int conn_count_is(void *arg) { return net_server_connection_count(g_srv) == (int64_t)(intptr_t)arg; }

static int
stats_paused(void *arg)
{
    struct net_stats st;
    (void)arg;
    net_server_stats(g_srv, &st);
    return st.paused > 0;
}

static int
stats_rejected(void *arg)
{
    struct net_stats st;
    (void)arg;
    net_server_stats(g_srv, &st);
    return st.rejected > 0;
}

static int
stats_no_zombies(void *arg)
{
    struct net_stats st;
    (void)arg;
    net_server_stats(g_srv, &st);
    return st.zombies == 0;
}

struct at_least { atomic_int *v; int n; };
static int at_least(void *arg) { struct at_least *a = arg; return atomic_load(a->v) >= a->n; }

/* =========================== loop unit tests =============================== */

struct order_rec {
    int order[16];
    int n;
};
struct tmr {
    struct loop_timer t;
    int               id;
    struct order_rec *rec;
    int               last;
};

static void
tmr_cb(struct loop *l, struct loop_timer *t, void *arg)
{
    struct tmr *m = arg;
    cr_assert(!loop_timer_armed(t));
    m->rec->order[m->rec->n++] = m->id;
    if (m->last)
        loop_stop(l);
}

TestSuite(loop, .init = suite_init, .timeout = 30);

Test(loop, timers_fire_in_deadline_order_and_cancel_works)
{
    struct loop *l;
    struct order_rec rec = { .n = 0 };
    struct tmr m[5];
    int delays[5] = { 50, 10, 30, 20, 40 };
    cr_assert_eq(loop_create(&l), 0);
    int64_t now = loop_update_now(l);
    for (int i = 0; i < 5; i++) {
        m[i] = (struct tmr){ .id = delays[i], .rec = &rec, .last = delays[i] == 50 };
        loop_timer_init(&m[i].t);
        cr_assert_eq(loop_timer_start(l, &m[i].t, now + delays[i], tmr_cb, &m[i]), 0);
    }
    struct loop_timer never;
    loop_timer_init(&never);
    loop_timer_cancel(l, &never);                       /* not armed: no-op */
    loop_timer_cancel(l, &m[2].t);                      /* the 30 ms one */
    loop_timer_cancel(l, &m[2].t);                      /* twice is fine */
    cr_assert_eq(loop_timer_count(l), 4);
    /* move the 40 ms one before the 10 ms one */
    cr_assert_eq(loop_timer_start(l, &m[4].t, now + 5, tmr_cb, &m[4]), 0);
    cr_assert_eq(loop_run(l), 0);
    cr_assert_geq(loop_now_ms(l), now + 50);
    cr_assert_eq(rec.n, 4);
    int want[4] = { 40, 10, 20, 50 };
    for (int i = 0; i < 4; i++)
        cr_assert_eq(rec.order[i], want[i], "position %d: %d", i, rec.order[i]);
    cr_assert_eq(loop_timer_count(l), 0);
    loop_destroy(l);
}

struct many {
    struct loop_timer t;
    int64_t           deadline;
};
static int64_t many_last;
static int     many_fired;
static void
many_cb(struct loop *l, struct loop_timer *t, void *arg)
{
    struct many *m = arg;
    (void)t;
    cr_assert_geq(m->deadline, many_last);
    cr_assert_geq(loop_now_ms(l), m->deadline);
    many_last = m->deadline;
    many_fired++;
    if (loop_timer_count(l) == 0)
        loop_stop(l);
}

Test(loop, many_timers)
{
    enum { N = 20000 };
    struct loop *l;
    struct many *m = calloc(N, sizeof(*m));
    cr_assert_eq(loop_create(&l), 0);
    int64_t now = loop_update_now(l);
    srand(7);
    for (int i = 0; i < N; i++) {
        m[i].deadline = now + rand() % 60;
        cr_assert_eq(loop_timer_start(l, &m[i].t, m[i].deadline, many_cb, &m[i]), 0);
    }
    for (int i = 0; i < N; i += 2)
        loop_timer_cancel(l, &m[i].t);
    cr_assert_eq(loop_timer_count(l), N / 2);
    loop_run(l);
    cr_assert_eq(many_fired, N / 2);
    loop_destroy(l);
    free(m);
}

static int rearms;
static void
rearm_cb(struct loop *l, struct loop_timer *t, void *arg)
{
    rearms++;
    loop_timer_start(l, t, loop_now_ms(l), rearm_cb, arg);   /* due again at once */
}
static void
stop_cb(struct loop *l, struct loop_timer *t, void *arg)
{
    (void)t;
    (void)arg;
    loop_stop(l);
}

Test(loop, timer_rearming_for_now_does_not_starve)
{
    struct loop *l;
    struct loop_timer a, b;
    loop_timer_init(&a);
    loop_timer_init(&b);
    cr_assert_eq(loop_create(&l), 0);
    loop_timer_start(l, &a, loop_now_ms(l), rearm_cb, NULL);
    loop_timer_start(l, &b, loop_now_ms(l) + 20, stop_cb, NULL);
    loop_run(l);
    cr_assert_gt(rearms, 1);
    loop_timer_cancel(l, &a);
    loop_destroy(l);
}

struct post_ctx {
    struct loop     *l;
    struct loop_task tasks[100];
    int              ran;
    int              on_loop_thread;
};

static void
post_cb(struct loop *l, void *arg)
{
    struct post_ctx *p = arg;
    p->on_loop_thread &= loop_in_thread(l);
    p->ran++;
    if (p->ran == 100)
        loop_stop(l);
}

static void *
run_thread(void *arg)
{
    loop_run(arg);
    return NULL;
}

struct ordered_task {
    struct loop_task t;
    int              i;
    int             *next;
    int             *bad;
};
static void
ordered_cb(struct loop *l, void *arg)
{
    struct ordered_task *o = arg;
    (void)l;
    if (o->i != *o->next)
        (*o->bad)++;
    (*o->next)++;
}

Test(loop, post_from_another_thread_runs_on_loop_in_order)
{
    struct post_ctx p = { .on_loop_thread = 1 };
    pthread_t th_;
    cr_assert_eq(loop_create(&p.l), 0);
    cr_assert(!loop_in_thread(p.l));
    /* ordered tasks posted before the loop runs */
    struct ordered_task ot[10];
    int next = 0, bad = 0;
    for (int i = 0; i < 10; i++) {
        ot[i] = (struct ordered_task){ .t = { .cb = ordered_cb, .arg = &ot[i] },
                                       .i = i, .next = &next, .bad = &bad };
        loop_post(p.l, &ot[i].t);
    }
    pthread_create(&th_, NULL, run_thread, p.l);
    for (int i = 0; i < 100; i++) {
        p.tasks[i].cb = post_cb;
        p.tasks[i].arg = &p;
        loop_post(p.l, &p.tasks[i]);
    }
    pthread_join(th_, NULL);
    cr_assert_eq(p.ran, 100);
    cr_assert(p.on_loop_thread);
    cr_assert_eq(next, 10);
    cr_assert_eq(bad, 0);
    loop_destroy(p.l);
}

Test(loop, stop_from_another_thread)
{
    struct loop *l;
    pthread_t th_;
    cr_assert_eq(loop_create(&l), 0);
    pthread_create(&th_, NULL, run_thread, l);      /* sleeps forever: no timers */
    loop_stop(l);
    pthread_join(th_, NULL);
    loop_destroy(l);
}

struct hook_rec {
    char seq[16];
    int  n;
};
static void hook_a(struct loop *l, void *arg) { struct hook_rec *h = arg; (void)l; if (h->n < 15) h->seq[h->n++] = 'a'; }
static void hook_b(struct loop *l, void *arg) { struct hook_rec *h = arg; (void)l; if (h->n < 15) h->seq[h->n++] = 'b'; }
static void hook_c(struct loop *l, void *arg)
{
    struct hook_rec *h = arg;
    if (h->n < 15)
        h->seq[h->n++] = 'c';
    loop_del_before_sleep(l, hook_c, arg);          /* one shot, removed from inside */
    loop_stop(l);
}

Test(loop, before_sleep_hooks_by_priority)
{
    struct loop *l;
    struct hook_rec h = { .n = 0 };
    cr_assert_eq(loop_create(&l), 0);
    cr_assert_eq(loop_add_before_sleep_prio(l, LOOP_PRIO_FLUSH, hook_c, &h), 0);
    cr_assert_eq(loop_add_before_sleep(l, hook_b, &h), 0);
    cr_assert_eq(loop_add_before_sleep_prio(l, -5, hook_a, &h), 0);
    loop_run(l);
    cr_assert_str_eq(h.seq, "abc");
    /* run again: c is gone; stop from a timer */
    struct loop_timer t;
    loop_timer_init(&t);
    loop_timer_start(l, &t, loop_now_ms(l), stop_cb, NULL);
    h.n = 0;
    memset(h.seq, 0, sizeof(h.seq));
    loop_run(l);
    cr_assert_eq(strspn(h.seq, "ab"), strlen(h.seq));
    cr_assert_eq(h.seq[0], 'a');
    loop_destroy(l);
}

struct fd_ctx {
    int  rfd;
    char got;
};
static void
fd_cb(struct loop *l, int fd, int events, void *arg)
{
    struct fd_ctx *f = arg;
    cr_assert(events & LOOP_READABLE);
    cr_assert_eq(read(fd, &f->got, 1), 1);
    loop_del_fd(l, fd);
    loop_stop(l);
}
static void *
write_later(void *arg)
{
    int fd = *(int *)arg;
    cr_assert_eq(write(fd, "z", 1), 1);
    return NULL;
}

Test(loop, fd_watch)
{
    struct loop *l;
    int p[2];
    struct fd_ctx f = { 0 };
    pthread_t th_;
    cr_assert_eq(pipe(p), 0);
    f.rfd = p[0];
    cr_assert_eq(loop_create(&l), 0);
    cr_assert_eq(loop_add_fd(l, p[0], LOOP_READABLE, fd_cb, &f), 0);
    cr_assert_eq(loop_add_fd(l, p[0], LOOP_READABLE, fd_cb, &f), SL_ERR__EXISTS);
    cr_assert_eq(loop_mod_fd(l, p[1], LOOP_READABLE), SL_ERR__NOENT);
    pthread_create(&th_, NULL, write_later, &p[1]);
    loop_run(l);
    pthread_join(th_, NULL);
    cr_assert_eq(f.got, 'z');
    loop_destroy(l);
    close(p[0]);
    close(p[1]);
}

Test(loop, clocks)
{
    int64_t a = loop_mono_ms(), b = loop_mono_ms();
    cr_assert_leq(a, b);
    cr_assert_gt(loop_wall_ms(), 1600000000000LL);   /* after 2020 */
}

/* =========================== net tests ====================================== */

TestSuite(net, .init = suite_init, .fini = suite_fini, .timeout = 60);

Test(net, pipelined_requests_answered_in_order)
{
    struct net_config cfg = { .nloops = 2 };
    start(&cfg);
    int fd = cli_connect();
    struct sl_buf b = SL_BUF_INIT;
    enum { N = 200 };
    for (uint32_t i = 0; i < N; i++) {
        char pl[64];
        int n = snprintf(pl, sizeof(pl), "request-%u-%.*s", i, (int)(i % 40), "0123456789012345678901234567890123456789");
        frame(&b, i, 'E', pl, (size_t)n);
    }
    cli_send_buf(fd, &b);
    for (uint32_t i = 0; i < N; i++) {
        char pl[64];
        int n = snprintf(pl, sizeof(pl), "request-%u-%.*s", i, (int)(i % 40), "0123456789012345678901234567890123456789");
        size_t len;
        uint8_t *p = cli_resp(fd, i, &len);
        cr_assert_eq(len, (size_t)n);
        for (int k = 0; k < n; k++)
            cr_assert_eq(p[k], (uint8_t)pl[n - 1 - k]);
        free(p);
    }
    /* byte-at-a-time framing still works */
    frame(&b, 999, 'E', "xyz", 3);
    for (size_t k = 0; k < b.len; k++)
        cli_send(fd, b.data + k, 1);
    sl_buf_reset(&b);
    size_t len;
    uint8_t *p = cli_resp(fd, 999, &len);
    cr_assert_eq(memcmp(p, "zyx", 3), 0);
    free(p);
    /* 'N' gets no answer and takes no slot */
    frame(&b, 1000, 'N', NULL, 0);
    frame(&b, 1001, 'E', "q", 1);
    cli_send_buf(fd, &b);
    p = cli_resp(fd, 1001, &len);
    free(p);
    close(fd);
    sl_buf_free(&b);
}

Test(net, out_of_order_completion_delivered_in_order)
{
    struct net_config cfg = { .nloops = 2 };
    start(&cfg);
    int fd = cli_connect();
    struct sl_buf b = SL_BUF_INIT;
    frame(&b, 1, 'W', NULL, 0);      /* parked */
    frame(&b, 2, 'W', NULL, 0);      /* parked */
    frame(&b, 3, 'E', "ab", 2);      /* completes at once */
    frame(&b, 4, 'R', NULL, 0);      /* completes at once, then 2, then 1 */
    frame(&b, 5, 'D', "\0\0\0\x0a", 4); /* completes 10 ms later */
    frame(&b, 6, 'E', "c", 1);
    cli_send_buf(fd, &b);
    const char *want[] = { "W", "W", "ba", "R", "D", "c" };
    for (uint32_t i = 1; i <= 6; i++) {
        size_t len;
        uint8_t *p = cli_resp(fd, i, &len);
        cr_assert_eq(len, strlen(want[i - 1]));
        cr_assert_eq(memcmp(p, want[i - 1], len), 0);
        free(p);
    }
    close(fd);
    sl_buf_free(&b);
}

static void
make_file(size_t n)
{
    char path[] = "/tmp/test_net_XXXXXX";
    g_file_fd = mkstemp(path);
    cr_assert_geq(g_file_fd, 0);
    unlink(path);
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i % 251);
    cr_assert_eq(write(g_file_fd, p, n), (ssize_t)n);
    free(p);
}

Test(net, file_pieces_between_memory_pieces)
{
    enum { FSZ = 3 << 20 };
    make_file(FSZ);
    struct net_config cfg = { .nloops = 2 };
    start(&cfg);
    int fd = cli_connect();
    struct sl_buf b = SL_BUF_INIT;
    uint32_t spans[][2] = { { 1000, 300000 }, { 0, 0 }, { 7, 1 }, { 0, FSZ }, { 123, 4567 } };
    int ns = (int)(sizeof(spans) / sizeof(spans[0]));
    for (int i = 0; i < ns; i++) {
        uint8_t pl[8] = {
            (uint8_t)(spans[i][0] >> 24), (uint8_t)(spans[i][0] >> 16), (uint8_t)(spans[i][0] >> 8), (uint8_t)spans[i][0],
            (uint8_t)(spans[i][1] >> 24), (uint8_t)(spans[i][1] >> 16), (uint8_t)(spans[i][1] >> 8), (uint8_t)spans[i][1],
        };
        frame(&b, (uint32_t)i, 'F', pl, 8);
        frame(&b, 100 + (uint32_t)i, 'E', "mem", 3);
    }
    cli_send_buf(fd, &b);
    for (int i = 0; i < ns; i++) {
        size_t len;
        uint8_t *p = cli_resp(fd, (uint32_t)i, &len);
        uint32_t pos = spans[i][0], n = spans[i][1];
        cr_assert_eq(len, 4 + n + 3 + 32 + 4);
        cr_assert_eq(memcmp(p, "HEAD", 4), 0);
        for (uint32_t k = 0; k < n; k++)
            if (p[4 + k] != (uint8_t)((pos + k) % 251))
                cr_assert_fail("file byte %u of span %d differs", k, i);
        cr_assert_eq(memcmp(p + 4 + n, "MID", 3), 0);
        for (uint32_t k = 0; k < 32; k++)
            cr_assert_eq(p[4 + n + 3 + k], (uint8_t)(k % 251));
        cr_assert_eq(memcmp(p + 4 + n + 35, "TAIL", 4), 0);
        free(p);
        p = cli_resp(fd, 100 + (uint32_t)i, &len);
        cr_assert_eq(memcmp(p, "mem", 3), 0);
        free(p);
    }
    struct at_least al = { &g_releases, 3 * ns };
    cr_assert(wait_for(at_least, &al, WAIT_MS), "releases: %d", atomic_load(&g_releases));
    close(fd);
    sl_buf_free(&b);
}

Test(net, bad_frame_sizes_close_only_that_connection)
{
    struct net_config cfg = { .nloops = 2, .max_request_bytes = 1 << 20 };
    start(&cfg);
    int good = cli_connect();
    echo_roundtrip(good, 1);
    uint8_t neg[4] = { 0xff, 0xff, 0xff, 0xff };
    uint8_t big[4] = { 0x00, 0x20, 0x00, 0x00 };     /* 2 MiB > max */
    uint8_t tiny[7] = { 0, 0, 0, 3, 'a', 'b', 'c' };
    uint8_t hmin[4] = { 0x80, 0, 0, 0 };              /* INT32_MIN */
    struct { const uint8_t *p; size_t n; } bad[] = {
        { neg, 4 }, { big, 4 }, { tiny, 7 }, { hmin, 4 },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int fd = cli_connect();
        echo_roundtrip(fd, 7);
        cli_send(fd, bad[i].p, bad[i].n);
        cr_assert(cli_is_closed(fd), "bad frame %zu: connection not closed", i);
        close(fd);
        echo_roundtrip(good, 10 + (uint32_t)i);
    }
    /* handler-initiated close (protocol error): nothing after it is answered */
    int fd = cli_connect();
    struct sl_buf b = SL_BUF_INIT;
    frame(&b, 1, 'E', "a", 1);
    frame(&b, 2, 'X', NULL, 0);
    frame(&b, 3, 'E', "b", 1);
    cli_send_buf(fd, &b);
    cr_assert(cli_is_closed(fd));               /* reply 1 may or may not precede EOF */
    close(fd);
    /* a frame of exactly max_request_bytes is fine */
    fd = cli_connect();
    size_t n = (1 << 20) - 8;
    uint8_t *pl = malloc(n);
    memset(pl, 'x', n);
    pl[0] = 'y';
    frame(&b, 5, 'E', pl, n);
    cli_send_buf(fd, &b);
    size_t len;
    uint8_t *p = cli_resp(fd, 5, &len);
    cr_assert_eq(len, n);
    cr_assert_eq(p[n - 1], 'y');
    free(p);
    free(pl);
    echo_roundtrip(fd, 6);
    close(fd);
    echo_roundtrip(good, 99);
    close(good);
    cr_assert(wait_for(conn_count_is, (void *)0, WAIT_MS));
    sl_buf_free(&b);
}

Test(net, max_connections_enforced)
{
    struct net_config cfg = { .nloops = 2, .max_connections = 2 };
    start(&cfg);
    int a = cli_connect(), b = cli_connect();
    echo_roundtrip(a, 1);
    echo_roundtrip(b, 2);
    cr_assert_eq(net_server_connection_count(g_srv), 2);
    int c = cli_connect();                  /* TCP accepts it; the server closes it */
    cr_assert(cli_is_closed(c));
    cr_assert(wait_for(stats_rejected, NULL, WAIT_MS));
    close(c);
    echo_roundtrip(a, 3);
    close(a);
    cr_assert(wait_for(conn_count_is, (void *)1, WAIT_MS));
    int d = cli_connect();
    echo_roundtrip(d, 4);
    echo_roundtrip(b, 5);
    struct net_stats st;
    net_server_stats(g_srv, &st);
    cr_assert_eq(st.connections, 2);
    cr_assert_eq(st.accepted, 3);
    close(b);
    close(d);
}

Test(net, peer_close_with_pending_responses)
{
    make_file(1 << 20);
    struct net_config cfg = { .nloops = 2 };
    start(&cfg);
    for (int round = 0; round < 3; round++) {
        int fd = cli_connect();
        struct sl_buf b = SL_BUF_INIT;
        frame(&b, 1, 'H', NULL, 0);          /* completed 20 ms after the close */
        frame(&b, 2, 'W', NULL, 0);          /* completed inside on_close */
        frame_u32(&b, 3, 'D', 30);           /* completed by a timer later */
        uint8_t pl[8] = { 0, 0, 0, 0, 0, 0x10, 0, 0 };
        frame(&b, 4, 'F', pl, 8);            /* completed, unsent: file released */
        frame_u32(&b, 5, 'B', 1 << 20);
        cli_send_buf(fd, &b);
        struct at_least al = { &g_requests, 5 * (round + 1) };
        cr_assert(wait_for(at_least, &al, WAIT_MS));
        close(fd);
        struct at_least hd = { &g_held_done, round + 1 };
        cr_assert(wait_for(at_least, &hd, WAIT_MS));
        sl_buf_free(&b);
    }
    cr_assert(wait_for(stats_no_zombies, NULL, WAIT_MS));
    cr_assert(wait_for(conn_count_is, (void *)0, WAIT_MS));
    struct at_least rel = { &g_releases, 9 };
    cr_assert(wait_for(at_least, &rel, WAIT_MS), "releases %d", atomic_load(&g_releases));
    cr_assert_eq(atomic_load(&g_closes), 3);
    /* a client that sends lots and closes without reading */
    int fd = cli_connect();
    struct sl_buf b = SL_BUF_INIT;
    for (uint32_t i = 0; i < 50; i++)
        frame_u32(&b, i, 'B', 64 << 10);
    cli_send_buf(fd, &b);
    close(fd);
    cr_assert(wait_for(conn_count_is, (void *)0, WAIT_MS));
    cr_assert(wait_for(stats_no_zombies, NULL, WAIT_MS));
    sl_buf_free(&b);
}

Test(net, slow_reader_is_paused_and_others_keep_working)
{
    enum { N = 500, RSZ = 32 << 10, MAXOUT = 64 << 10 };
    struct net_config cfg = { .nloops = 1, .max_conn_out_bytes = MAXOUT, .sndbuf = 16 << 10 };
    start(&cfg);
    int slow = cli_connect_buf(16 << 10);
    int other = cli_connect();
    echo_roundtrip(other, 1);
    struct sl_buf b = SL_BUF_INIT;
    for (uint32_t i = 0; i < N; i++)
        frame_u32(&b, i, 'B', RSZ);
    cli_send_buf(slow, &b);                 /* 8 KB: fits the socket buffers */
    cr_assert(wait_for(stats_paused, NULL, WAIT_MS));
    /* the same loop keeps serving the other connection */
    for (uint32_t i = 0; i < 50; i++)
        echo_roundtrip(other, 100 + i);
    int handled = atomic_load(&g_big_handled);
    struct net_stats st;
    net_server_stats(g_srv, &st);
    cr_assert_leq(st.out_bytes, MAXOUT + RSZ + 8, "queued %llu", (unsigned long long)st.out_bytes);
    cr_assert_lt(handled, 100, "handled %d of %d without the client reading", handled, N);
    /* now read everything: reading resumes and all arrive in order */
    for (uint32_t i = 0; i < N; i++) {
        size_t len;
        uint8_t *p = cli_resp(slow, i, &len);
        cr_assert_eq(len, RSZ);
        for (uint32_t k = 0; k < RSZ; k += 997)
            cr_assert_eq(p[k], (uint8_t)(k * 31 + i));
        free(p);
    }
    cr_assert_eq(atomic_load(&g_big_handled), N);
    echo_roundtrip(slow, 7);
    close(slow);
    close(other);
    sl_buf_free(&b);
}

Test(net, stuck_reader_closed_after_idle_timeout)
{
    struct net_config cfg = { .nloops = 1, .max_conn_out_bytes = 64 << 10,
                              .sndbuf = 16 << 10, .idle_close_ms = 300 };
    start(&cfg);
    int slow = cli_connect_buf(16 << 10);
    struct sl_buf b = SL_BUF_INIT;
    for (uint32_t i = 0; i < 200; i++)
        frame_u32(&b, i, 'B', 32 << 10);
    cli_send_buf(slow, &b);
    cr_assert(wait_for(stats_paused, NULL, WAIT_MS));
    cr_assert(wait_for(conn_count_is, (void *)0, WAIT_MS));
    cr_assert(wait_for(stats_no_zombies, NULL, WAIT_MS));
    close(slow);
    sl_buf_free(&b);
}

Test(net, idle_connection_closed)
{
    struct net_config cfg = { .nloops = 1, .idle_close_ms = 100 };
    start(&cfg);
    int fd = cli_connect();
    echo_roundtrip(fd, 1);
    cr_assert(cli_is_closed(fd));
    cr_assert(wait_for(conn_count_is, (void *)0, WAIT_MS));
    close(fd);
}

struct stopper {
    int64_t drain_ms;
    int64_t took;
};
static void *
stop_thread(void *arg)
{
    struct stopper *s = arg;
    int64_t t0 = loop_mono_ms();
    net_server_stop(g_srv, s->drain_ms);
    s->took = loop_mono_ms() - t0;
    return NULL;
}

Test(net, stop_drains_pending_responses)
{
    struct net_config cfg = { .nloops = 2 };
    start(&cfg);
    int fd = cli_connect();
    int idle = cli_connect();
    echo_roundtrip(idle, 1);
    struct sl_buf b = SL_BUF_INIT;
    frame_u32(&b, 1, 'D', 200);
    frame_u32(&b, 2, 'B', 4 << 20);
    cli_send_buf(fd, &b);
    struct at_least al = { &g_requests, 3 };
    cr_assert(wait_for(at_least, &al, WAIT_MS));
    struct stopper st = { .drain_ms = 20000 };
    pthread_t t;
    pthread_create(&t, NULL, stop_thread, &st);
    size_t len;
    uint8_t *p = cli_resp(fd, 1, &len);
    cr_assert_eq(len, 1);
    free(p);
    p = cli_resp(fd, 2, &len);
    cr_assert_eq(len, 4u << 20);
    free(p);
    cr_assert(cli_is_closed(fd));
    cr_assert(cli_is_closed(idle));
    pthread_join(t, NULL);
    cr_assert_lt(st.took, 15000);
    cr_assert_eq(net_server_connection_count(g_srv), 0);
    close(fd);
    close(idle);
    sl_buf_free(&b);
}

Test(net, stop_gives_up_after_drain_ms)
{
    struct net_config cfg = { .nloops = 2 };
    start(&cfg);
    int fd = cli_connect();
    struct sl_buf b = SL_BUF_INIT;
    frame(&b, 1, 'W', NULL, 0);             /* never released by the client */
    cli_send_buf(fd, &b);
    struct at_least al = { &g_requests, 1 };
    cr_assert(wait_for(at_least, &al, WAIT_MS));
    int64_t t0 = loop_mono_ms();
    net_server_stop(g_srv, 100);
    cr_assert_geq(loop_mono_ms() - t0, 90);
    cr_assert(cli_is_closed(fd));
    cr_assert_eq(atomic_load(&g_closes), 1);
    net_server_stop(g_srv, 100);            /* idempotent */
    close(fd);
    sl_buf_free(&b);
}

static atomic_int g_loop_starts, g_loop_stops;
static void ls_start(struct loop *l, int idx, void *arg) { (void)l; (void)idx; (void)arg; atomic_fetch_add(&g_loop_starts, 1); }
static void ls_stop(struct loop *l, int idx, void *arg) { (void)l; (void)idx; (void)arg; atomic_fetch_add(&g_loop_stops, 1); }

Test(net, loop_start_stop_hooks_and_accessors)
{
    struct net_handler h = th;
    h.on_loop_start = ls_start;
    h.on_loop_stop = ls_stop;
    struct net_config cfg = { .host = "127.0.0.1", .nloops = 3 };
    cr_assert_eq(net_server_start(&g_srv, &cfg, &h), 0);
    cr_assert_eq(net_server_nloops(g_srv), 3);
    cr_assert_not_null(net_server_loop(g_srv, 2));
    cr_assert_null(net_server_loop(g_srv, 3));
    int fds[6];
    for (int i = 0; i < 6; i++) {
        fds[i] = cli_connect();
        echo_roundtrip(fds[i], (uint32_t)i);
    }
    struct at_least al = { &g_loop_starts, 3 };
    cr_assert(wait_for(at_least, &al, WAIT_MS));
    net_server_stop(g_srv, 1000);
    cr_assert_eq(atomic_load(&g_loop_stops), 3);
    for (int i = 0; i < 6; i++) {
        cr_assert(cli_is_closed(fds[i]));
        close(fds[i]);
    }
}

Test(net, bind_failure_reported)
{
    struct net_config cfg = { .nloops = 1 };
    start(&cfg);
    struct net_server *s2 = NULL;
    struct net_config c2 = { .host = "127.0.0.1", .port = net_server_port(g_srv), .nloops = 1 };
    sl_log_set_level(SL_LOG_ERROR + 1);         /* the bind error is expected */
    cr_assert_neq(net_server_start(&s2, &c2, &th), 0);
    cr_assert_null(s2);
}

static void
cli_reset(int fd)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);                              /* sends RST */
}

Test(net, reset_while_output_queued_or_request_partial)
{
    struct net_config cfg = { .nloops = 1, .max_conn_out_bytes = 64 << 10, .sndbuf = 16 << 10 };
    start(&cfg);
    int other = cli_connect();
    /* reset with output queued: the write side sees the error */
    int slow = cli_connect_buf(16 << 10);
    struct sl_buf b = SL_BUF_INIT;
    for (uint32_t i = 0; i < 100; i++)
        frame_u32(&b, i, 'B', 32 << 10);
    cli_send_buf(slow, &b);
    cr_assert(wait_for(stats_paused, NULL, WAIT_MS));
    cli_reset(slow);
    /* reset in the middle of a request: the read side sees it */
    int half = cli_connect();
    echo_roundtrip(half, 1);
    frame(&b, 2, 'E', "abcdef", 6);
    cli_send(half, b.data, b.len - 3);
    sl_buf_reset(&b);
    cli_reset(half);
    cr_assert(wait_for(conn_count_is, (void *)1, WAIT_MS));
    cr_assert(wait_for(stats_no_zombies, NULL, WAIT_MS));
    echo_roundtrip(other, 3);
    close(other);
    sl_buf_free(&b);
}

Test(net, file_shorter_than_promised_closes_connection)
{
    make_file(4096);
    struct net_config cfg = { .nloops = 1 };
    start(&cfg);
    int other = cli_connect();
    int fd = cli_connect();
    struct sl_buf b = SL_BUF_INIT;
    uint8_t pl[8] = { 0, 0, 0x0f, 0xa0, 0, 0, 0x10, 0 };   /* pos 4000, len 4096 */
    frame(&b, 1, 'F', pl, 8);
    cli_send_buf(fd, &b);
    cr_assert(cli_is_closed(fd));           /* after "HEAD" + 96 bytes: never a short frame */
    close(fd);
    struct at_least al = { &g_releases, 3 };
    cr_assert(wait_for(at_least, &al, WAIT_MS));
    echo_roundtrip(other, 2);
    close(other);
    sl_buf_free(&b);
}

static void *
client_thread(void *arg)
{
    int fd = cli_connect();
    uint32_t base = (uint32_t)(intptr_t)arg * 100000;
    struct sl_buf b = SL_BUF_INIT;
    for (uint32_t round = 0; round < 50; round++) {
        for (uint32_t k = 0; k < 8; k++)         /* 8 pipelined, one parked */
            frame(&b, base + round * 8 + k, k == 3 ? 'W' : 'E', "hello", 5);
        frame(&b, base + round * 8 + 8, 'R', NULL, 0);
        cli_send_buf(fd, &b);
        for (uint32_t k = 0; k < 9; k++) {
            size_t len;
            uint8_t *p = cli_resp(fd, base + round * 8 + k, &len);
            free(p);
        }
    }
    close(fd);
    sl_buf_free(&b);
    return NULL;
}

Test(net, concurrent_clients_on_several_loops)
{
    enum { T = 8 };
    struct net_config cfg = { .nloops = 3 };
    start(&cfg);
    pthread_t t[T];
    for (intptr_t i = 0; i < T; i++)
        pthread_create(&t[i], NULL, client_thread, (void *)i);
    for (int i = 0; i < T; i++)
        pthread_join(t[i], NULL);
    cr_assert(wait_for(conn_count_is, (void *)0, WAIT_MS));
    struct net_stats st;
    net_server_stats(g_srv, &st);
    cr_assert_eq(st.accepted, T);
    cr_assert_eq(st.requests, T * 50 * 9);
}
