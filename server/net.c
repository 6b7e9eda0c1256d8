/* server/net.c -- listening socket, loop threads, framing, ordered output
 * of memory and file pieces. See net.h for the contract.
 *
 * Structure: one struct net_worker per loop thread. Worker 0 also owns the
 * listening socket; it accepts, allocates the struct conn and hands it to a
 * worker round-robin (directly, or by loop_post for other workers).
 *
 * Per connection:
 *  - read buffer c_rbuf[0, c_rlen): starts with the unparsed bytes; grows
 *    to hold one whole frame (4 + size), shrinks back to NET_RBUF_INIT
 *    after a large one. Frame sizes are checked before anything is
 *    buffered for them.
 *  - response queue c_head..c_tail, in slot (request) order, doubly linked.
 *    A response is a list of pieces: the 4-byte size prefix (virtual piece
 *    0), then memory ranges of r_buf and file ranges in the order the
 *    handler added them. The send cursor (r_pi, r_off) lives in the head.
 *    Only a completed head is sent; completed responses behind an
 *    uncompleted one wait.
 *  - c_out counts completed, unsent bytes; c_nreserved the reserved,
 *    uncompleted slots. Reading pauses while either is over its limit.
 *
 * Freeing: a closed conn is freed only from the worker's before_sleep hook
 * (the "grave"), once no reserved response is outstanding and it sits on
 * no work list. So a struct conn never disappears inside a callback, and
 * callers never need reference counts.
 *
 * Threading: a conn and its resps belong to their worker's loop thread.
 * Cross-thread state: the open-connection count and the statistics
 * (relaxed atomics), the conn id counter, and the stop handshake.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "server/loop.h"
#include "server/net.h"
#include "storage/err.h"
#include "storage/log.h"

#define NET_RBUF_INIT        (16u * 1024)     /* read buffer of a fresh connection */
#define NET_RBUF_KEEP        (64u * 1024)     /* larger buffers shrink when idle */
#define NET_RBUF_SHRINK_MS   1000             /* ... idle for this long: a producer
                                               * sending 1 MiB requests keeps its buffer
                                               * instead of a realloc pair per request */
#define NET_IOV_MAX          64
#define NET_INLINE_PIECES    3
#define NET_ACCEPT_BATCH     64
#define NET_ACCEPT_RETRY_MS  100              /* after EMFILE & co. */
#define NET_RESP_CACHE       64               /* free resps kept per worker */
#define NET_RESP_BUF_KEEP    (64u * 1024)     /* bigger resp buffers are not cached */

struct resp_piece {
    int     fd;                 /* -1: memory [pos, pos + len) of r_buf */
    off_t   pos;
    size_t  len;
    void  (*release)(void *arg);/* file pieces; NULL once called */
    void   *arg;
};

struct resp {
    struct conn       *r_conn;
    struct resp       *r_prev, *r_next;   /* slot order; r_next: free list */
    struct sl_buf      r_buf;
    size_t             r_mark;            /* r_buf bytes already in pieces */
    size_t             r_filebytes;
    struct resp_piece *r_pieces;
    uint32_t           r_npieces;
    uint32_t           r_piece_cap;
    struct resp_piece  r_inl[NET_INLINE_PIECES];
    uint8_t            r_hdr[4];
    int                r_done;
    uint32_t           r_pi;              /* send cursor: virtual piece ... */
    size_t             r_off;             /* ... and offset inside it */
};

struct net_worker;

struct conn {
    uint64_t           c_id;
    int                c_fd;
    struct net_worker *c_w;
    struct conn       *c_prev, *c_next;   /* worker's list of all conns */
    struct conn       *c_flush_next;      /* worker's flush list */
    struct conn       *c_resume_next;     /* worker's resume list */
    struct conn       *c_grave_next;      /* worker's grave */
    struct loop_task   c_task;            /* hand-off from the acceptor */

    uint8_t           *c_rbuf;
    size_t             c_rlen;
    size_t             c_rcap;
    size_t             c_charged;         /* c_rcap counted in s_queued */
    int64_t            c_big_ms;          /* last time a frame needed a big buffer */

    struct resp       *c_head, *c_tail;
    size_t             c_out;             /* completed, unsent bytes */
    uint32_t           c_nreserved;       /* reserved, uncompleted */

    int                c_mask;            /* interest registered with the loop */
    unsigned           c_closed:1;
    unsigned           c_paused:1;
    unsigned           c_want_write:1;
    unsigned           c_dispatching:1;
    unsigned           c_in_flush:1;
    unsigned           c_in_resume:1;
    unsigned           c_in_grave:1;
    unsigned           c_in_close_cb:1;
    unsigned           c_mem_wait:1;      /* waiting for queued.max.request.bytes room */
    unsigned           c_lingering:1;     /* close once the queued replies are out */
    int64_t            c_last_io;
    void              *c_user;
    char               c_peer[64];
};

struct net_worker {
    struct net_server *w_s;
    int                w_idx;
    struct loop       *w_loop;
    pthread_t          w_thread;
    int                w_thread_started;
    struct conn       *w_conns;           /* all conns, open or closed */
    struct conn       *w_flush;           /* conns with output to try */
    struct conn       *w_resume;          /* conns with buffered frames to dispatch */
    struct conn       *w_grave;           /* closed conns that may be freeable */
    struct resp       *w_free_resps;
    int                w_nfree_resps;
    struct loop_timer  w_sweep;           /* idle connections */
    struct loop_timer  w_kick;            /* dispatch w_resume next turn */
    struct loop_timer  w_drain;           /* drain deadline */
    struct loop_timer  w_accept_retry;    /* worker 0 */
    struct loop_task   w_task;            /* stop-accept / drain */
    int64_t            w_drain_deadline;
    int                w_draining;
    int                w_finished;
    /* statistics, written by this worker only */
    atomic_uint_fast64_t w_accepted;
    atomic_uint_fast64_t w_requests;
    atomic_uint_fast64_t w_out_bytes;
    atomic_uint_fast64_t w_paused;
    atomic_uint_fast64_t w_zombies;
};

struct net_server {
    struct net_config  s_cfg;
    char              *s_host;
    struct net_handler s_h;
    int                s_listen_fd;
    int                s_port;
    int                s_nloops;
    struct net_worker *s_w;
    unsigned           s_rr;              /* acceptor only */
    int64_t            s_last_reject_log; /* acceptor only */
    atomic_int_fast64_t s_conns;
    atomic_int_fast64_t s_queued;         /* bytes of request buffers above the initial size */
    atomic_uint_fast64_t s_rejected;
    pthread_mutex_t    s_mu;
    pthread_cond_t     s_cv;
    int                s_accept_stopped;  /* under s_mu */
    int                s_stopped;         /* caller thread */
};

static atomic_uint_fast64_t net_next_conn_id = 1;

static void conn_shut(struct conn *c, const char *why);
static void conn_charge(struct conn *c, size_t rcap);
static void conn_linger_check(struct conn *c);
static void conn_write(struct conn *c);
static void conn_update_interest(struct conn *c);
static void conn_check_resume(struct conn *c);
static void conn_maybe_free(struct conn *c);
static void worker_check_drained(struct net_worker *w);


/* ---- helpers ------------------------------------------------------------- */

static uint32_t
get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}


static void
put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}


static int
errno_is_disconnect(int e)
{
    return e == EPIPE || e == ECONNRESET || e == ECONNABORTED || e == ETIMEDOUT
        || e == EHOSTUNREACH || e == ENETUNREACH || e == ENOTCONN;
}


static void
stat_add(atomic_uint_fast64_t *a, uint64_t v)
{
    atomic_fetch_add_explicit(a, v, memory_order_relaxed);
}


static void
stat_sub(atomic_uint_fast64_t *a, uint64_t v)
{
    atomic_fetch_sub_explicit(a, v, memory_order_relaxed);
}


/* ---- responses ------------------------------------------------------------ */

static struct resp *
resp_alloc(struct net_worker *w)
{
    struct resp *r = w->w_free_resps;
    if (r) {
        w->w_free_resps = r->r_next;
        w->w_nfree_resps--;
        struct sl_buf keep = r->r_buf;
        memset(r, 0, sizeof(*r));
        r->r_buf = keep;
        sl_buf_reset(&r->r_buf);
    } else {
        r = calloc(1, sizeof(*r));
        if (!r)
            return NULL;
        sl_buf_init(&r->r_buf);
    }
    r->r_pieces = r->r_inl;
    r->r_piece_cap = NET_INLINE_PIECES;
    return r;
}


/* Release every file piece not released yet, then recycle r. */
static void
resp_free(struct net_worker *w, struct resp *r)
{
    uint32_t i;
    for (i = 0; i < r->r_npieces; i++) {
        struct resp_piece *p = &r->r_pieces[i];
        if (p->fd >= 0 && p->release) {
            void (*rel)(void *) = p->release;
            p->release = NULL;
            rel(p->arg);
        }
    }
    if (r->r_pieces != r->r_inl)
        free(r->r_pieces);
    r->r_pieces = r->r_inl;
    r->r_npieces = 0;
    if (w && w->w_nfree_resps < NET_RESP_CACHE && r->r_buf.cap <= NET_RESP_BUF_KEEP) {
        r->r_next = w->w_free_resps;
        w->w_free_resps = r;
        w->w_nfree_resps++;
        return;
    }
    sl_buf_free(&r->r_buf);
    free(r);
}


static int
resp_push_piece(struct resp *r, int fd, off_t pos, size_t len,
                void (*release)(void *), void *arg)
{
    if (r->r_npieces == r->r_piece_cap) {
        uint32_t n = r->r_piece_cap * 2;
        struct resp_piece *p = malloc(n * sizeof(*p));
        if (!p)
            return SL_ERR__NOMEM;
        memcpy(p, r->r_pieces, r->r_npieces * sizeof(*p));
        if (r->r_pieces != r->r_inl)
            free(r->r_pieces);
        r->r_pieces = p;
        r->r_piece_cap = n;
    }
    struct resp_piece *p = &r->r_pieces[r->r_npieces++];
    p->fd = fd;
    p->pos = pos;
    p->len = len;
    p->release = release;
    p->arg = arg;
    return 0;
}


/* Close the memory run [r_mark, r_buf.len) into a piece. */
static int
resp_cut_mem(struct resp *r)
{
    if (r->r_buf.len == r->r_mark)
        return 0;
    int rc = resp_push_piece(r, -1, (off_t)r->r_mark, r->r_buf.len - r->r_mark, NULL, NULL);
    if (rc == 0)
        r->r_mark = r->r_buf.len;
    return rc;
}


struct resp *
conn_resp_begin(struct conn *c)
{
    struct resp *r = resp_alloc(c->c_w);
    if (!r)
        return NULL;
    r->r_conn = c;
    r->r_prev = c->c_tail;
    r->r_next = NULL;
    if (c->c_tail)
        c->c_tail->r_next = r;
    else
        c->c_head = r;
    c->c_tail = r;
    c->c_nreserved++;
    return r;
}


struct conn *
resp_conn(const struct resp *r)
{
    return r->r_conn;
}


struct sl_buf *
resp_buf(struct resp *r)
{
    return &r->r_buf;
}


int
resp_add_file(struct resp *r, int fd, off_t pos, size_t len,
              void (*release)(void *arg), void *arg)
{
    if (fd < 0 || pos < 0)
        return SL_ERR__INVALID_ARG;
    uint32_t n = r->r_npieces;
    size_t mark = r->r_mark;
    int rc = resp_cut_mem(r);
    if (rc == 0)
        rc = resp_push_piece(r, fd, pos, len, release, arg);
    if (rc != 0) {          /* undo, so the caller keeps its pin */
        r->r_npieces = n;
        r->r_mark = mark;
        return rc;
    }
    r->r_filebytes += len;
    return 0;
}


size_t
resp_len(const struct resp *r)
{
    return r->r_buf.len + r->r_filebytes;
}


static void
resp_unlink(struct conn *c, struct resp *r)
{
    if (r->r_prev)
        r->r_prev->r_next = r->r_next;
    else
        c->c_head = r->r_next;
    if (r->r_next)
        r->r_next->r_prev = r->r_prev;
    else
        c->c_tail = r->r_prev;
    r->r_prev = r->r_next = NULL;
}


static void
conn_schedule_flush(struct conn *c)
{
    struct net_worker *w = c->c_w;
    if (c->c_in_flush || c->c_closed || c->c_want_write)
        return;
    c->c_in_flush = 1;
    c->c_flush_next = w->w_flush;
    w->w_flush = c;
}


void
resp_complete(struct resp *r)
{
    struct conn *c = r->r_conn;
    struct net_worker *w = c->c_w;

    c->c_nreserved--;
    if (c->c_closed) {
        resp_unlink(c, r);
        resp_free(w, r);
        conn_maybe_free(c);
        return;
    }
    size_t total = r->r_buf.len + r->r_filebytes;
    if (r->r_buf.oom || resp_cut_mem(r) != 0 || total > INT32_MAX) {
        SL_ERROR("net", "%s: cannot build a %zu-byte response (%s); closing",
                 c->c_peer, total, r->r_buf.oom ? "out of memory" : "too large");
        resp_unlink(c, r);
        resp_free(w, r);
        conn_shut(c, NULL);
        return;
    }
    put_be32(r->r_hdr, (uint32_t)total);
    r->r_done = 1;
    c->c_out += 4 + total;
    stat_add(&w->w_out_bytes, 4 + total);
    if (c->c_head == r)
        conn_schedule_flush(c);
    conn_check_resume(c);
}


void
resp_discard(struct resp *r)
{
    struct conn *c = r->r_conn;
    struct net_worker *w = c->c_w;
    int was_head = c->c_head == r;

    c->c_nreserved--;
    resp_unlink(c, r);
    resp_free(w, r);
    if (c->c_closed) {
        conn_maybe_free(c);
        return;
    }
    if (was_head && c->c_head && c->c_head->r_done)
        conn_schedule_flush(c);
    conn_check_resume(c);
    conn_linger_check(c);
}


/* Virtual piece i of r: 0 is the size prefix. Returns the piece length and
 * sets *mem (memory) or *fp (file). */
static size_t
resp_vpiece(struct resp *r, uint32_t i, const uint8_t **mem, struct resp_piece **fp)
{
    if (i == 0) {
        *mem = r->r_hdr;
        *fp = NULL;
        return 4;
    }
    struct resp_piece *p = &r->r_pieces[i - 1];
    if (p->fd < 0) {
        *mem = r->r_buf.data + p->pos;
        *fp = NULL;
    } else {
        *mem = NULL;
        *fp = p;
    }
    return p->len;
}


/* ---- connections: small accessors ---------------------------------------- */

struct loop *
conn_loop(const struct conn *c)
{
    return c->c_w->w_loop;
}


uint64_t
conn_id(const struct conn *c)
{
    return c->c_id;
}


const char *
conn_peer(const struct conn *c)
{
    return c->c_peer;
}


void
conn_set_user(struct conn *c, void *user)
{
    c->c_user = user;
}


void *
conn_user(const struct conn *c)
{
    return c->c_user;
}


int
conn_is_closed(const struct conn *c)
{
    return c->c_closed;
}


size_t
conn_out_bytes(const struct conn *c)
{
    return c->c_out;
}


void
conn_close(struct conn *c)
{
    conn_shut(c, NULL);
}

/* Lingering: nothing more is read or dispatched; close once every reply
 * reserved so far has been completed and sent. */
static void
conn_linger_check(struct conn *c)
{
    if (c->c_lingering && !c->c_closed && !c->c_head && c->c_nreserved == 0)
        conn_shut(c, "closed after its replies");
}

void
conn_close_after_replies(struct conn *c)
{
    if (c->c_closed || c->c_lingering)
        return;
    c->c_lingering = 1;
    conn_update_interest(c);
    conn_linger_check(c);
}


/* ---- connections: lifetime ------------------------------------------------- */

static void
conn_maybe_free(struct conn *c)
{
    struct net_worker *w = c->c_w;
    if (!c->c_closed || c->c_nreserved || c->c_in_grave)
        return;
    c->c_in_grave = 1;
    c->c_grave_next = w->w_grave;
    w->w_grave = c;
}


/* Unlink and free; the socket is closed already. Frees responses still
 * queued (only at server teardown can uncompleted ones remain). */
static void
conn_destroy(struct conn *c)
{
    struct net_worker *w = c->c_w;
    if (c->c_prev)
        c->c_prev->c_next = c->c_next;
    else
        w->w_conns = c->c_next;
    if (c->c_next)
        c->c_next->c_prev = c->c_prev;
    while (c->c_head) {
        struct resp *r = c->c_head;
        resp_unlink(c, r);
        resp_free(w, r);
    }
    if (c->c_fd >= 0) {             /* teardown of a never-closed conn */
        close(c->c_fd);
        atomic_fetch_sub(&w->w_s->s_conns, 1);
    } else {
        stat_sub(&w->w_zombies, 1);
    }
    conn_charge(c, 0);
    free(c->c_rbuf);
    free(c);
}


static void
worker_bury(struct net_worker *w)
{
    struct conn *c = w->w_grave;
    w->w_grave = NULL;
    while (c) {
        struct conn *next = c->c_grave_next;
        c->c_in_grave = 0;
        if (c->c_closed && !c->c_nreserved && !c->c_in_flush && !c->c_in_resume)
            conn_destroy(c);
        c = next;
    }
}


/* Close the socket now; drop unsent output; run on_close. why != NULL is
 * logged at debug level. */
static void
conn_shut(struct conn *c, const char *why)
{
    struct net_worker *w = c->c_w;
    struct net_server *s = w->w_s;
    struct resp *r, *next;

    if (c->c_closed)
        return;
    c->c_closed = 1;
    if (why)
        SL_DEBUG("net", "closing %s (id %llu): %s", c->c_peer,
                 (unsigned long long)c->c_id, why);
    loop_del_fd(w->w_loop, c->c_fd);
    close(c->c_fd);
    c->c_fd = -1;
    atomic_fetch_sub(&s->s_conns, 1);
    stat_add(&w->w_zombies, 1);
    for (r = c->c_head; r; r = next) {
        next = r->r_next;
        if (r->r_done) {
            resp_unlink(c, r);
            resp_free(w, r);
        }
    }
    stat_sub(&w->w_out_bytes, c->c_out);
    c->c_out = 0;
    c->c_want_write = 0;
    c->c_mask = 0;
    if (!c->c_dispatching) {
        conn_charge(c, 0);
        free(c->c_rbuf);
        c->c_rbuf = NULL;
        c->c_rlen = c->c_rcap = 0;
    }
    if (s->s_h.on_close && !c->c_in_close_cb) {
        c->c_in_close_cb = 1;
        s->s_h.on_close(c, s->s_h.arg);
    }
    conn_maybe_free(c);
}


static int
conn_should_pause(const struct conn *c)
{
    const struct net_worker *w = c->c_w;
    return w->w_draining || c->c_lingering || c->c_out > w->w_s->s_cfg.max_conn_out_bytes
        || c->c_nreserved >= NET_MAX_INFLIGHT;
}


static void
conn_update_interest(struct conn *c)
{
    if (c->c_closed)
        return;
    int mask = (c->c_paused || c->c_mem_wait || c->c_lingering ? 0 : LOOP_READABLE) |
               (c->c_want_write ? LOOP_WRITABLE : 0);
    if (mask == c->c_mask)
        return;
    if (loop_mod_fd(c->c_w->w_loop, c->c_fd, mask) != 0) {
        conn_shut(c, "epoll_ctl failed");
        return;
    }
    c->c_mask = mask;
}


static void
conn_pause(struct conn *c)
{
    if (c->c_paused)
        return;
    c->c_paused = 1;
    stat_add(&c->c_w->w_paused, 1);
    conn_update_interest(c);
}


static void kick_cb(struct loop *l, struct loop_timer *t, void *arg);

static void
conn_check_resume(struct conn *c)
{
    struct net_worker *w = c->c_w;
    size_t max = w->w_s->s_cfg.max_conn_out_bytes;
    if (!c->c_paused || c->c_closed || w->w_draining)
        return;
    if (c->c_out > max / 2 || c->c_nreserved >= NET_MAX_INFLIGHT / 2)
        return;
    c->c_paused = 0;
    conn_update_interest(c);
    /* Frames may already sit in the buffer: no epoll event will announce
     * them, so dispatch them next turn (never re-entrantly from here). */
    if (c->c_rlen >= 4 && !c->c_in_resume) {
        c->c_in_resume = 1;
        c->c_resume_next = w->w_resume;
        w->w_resume = c;
        if (!loop_timer_armed(&w->w_kick))
            loop_timer_start(w->w_loop, &w->w_kick, loop_now_ms(w->w_loop), kick_cb, w);
    }
}


/* ---- reading and dispatch --------------------------------------------------- */

/* Validate the frame size at the start of the buffer. 0 ok, -1 closed. */
static int
conn_check_size(struct conn *c, uint32_t size)
{
    const struct net_config *cfg = &c->c_w->w_s->s_cfg;
    if (size > INT32_MAX || size > cfg->max_request_bytes || size < NET_MIN_FRAME) {
        SL_WARN("net", "%s: bad request size %d (max %zu); closing", c->c_peer,
                (int32_t)size, cfg->max_request_bytes);
        /* replies to the requests before it still go out */
        conn_close_after_replies(c);
        return -1;
    }
    return 0;
}


/* Account c's read buffer (beyond the initial size every connection has)
 * against queued.max.request.bytes. */
static void
conn_charge(struct conn *c, size_t rcap)
{
    size_t charge = rcap > NET_RBUF_INIT ? rcap : 0;
    atomic_fetch_add(&c->c_w->w_s->s_queued, (int_fast64_t)charge - (int_fast64_t)c->c_charged);
    c->c_charged = charge;
}

/* May c grow its buffer to want bytes? Always when no other connection
 * holds request memory, so one request larger than the limit still goes. */
static int
conn_may_grow(const struct conn *c, size_t want)
{
    struct net_server *s = c->c_w->w_s;
    int64_t limit = s->s_cfg.max_queued_bytes;
    int64_t others = (int64_t)atomic_load(&s->s_queued) - (int64_t)c->c_charged;
    return limit <= 0 || want <= NET_RBUF_INIT || others <= 0 || others + (int64_t)want <= limit;
}


/* Dispatch every whole frame in the buffer (until paused or closed), then
 * compact and size the buffer for the next frame. */
static void
conn_process(struct conn *c)
{
    struct net_server *s = c->c_w->w_s;
    size_t pos = 0;

    c->c_dispatching = 1;
    while (!c->c_closed) {
        if (conn_should_pause(c)) {
            conn_pause(c);
            break;
        }
        size_t avail = c->c_rlen - pos;
        if (avail < 4)
            break;
        uint32_t size = get_be32(c->c_rbuf + pos);
        if (conn_check_size(c, size) != 0)
            break;
        if (avail < 4 + (size_t)size)
            break;
        stat_add(&c->c_w->w_requests, 1);
        s->s_h.on_request(c, c->c_rbuf + pos + 4, size, s->s_h.arg);
        pos += 4 + (size_t)size;
    }
    c->c_dispatching = 0;
    if (c->c_closed) {
        conn_charge(c, 0);
        free(c->c_rbuf);
        c->c_rbuf = NULL;
        c->c_rlen = c->c_rcap = 0;
        return;
    }
    if (pos > 0) {
        memmove(c->c_rbuf, c->c_rbuf + pos, c->c_rlen - pos);
        c->c_rlen -= pos;
    }
    size_t need = 4;
    if (c->c_rlen >= 4) {
        uint32_t size = get_be32(c->c_rbuf);
        if (conn_check_size(c, size) != 0)
            return;
        need = 4 + (size_t)size;
    }
    size_t want = 0;
    if (need > c->c_rcap)
        want = need;                            /* grow to hold the frame */
    else if (c->c_rcap > NET_RBUF_KEEP && need <= NET_RBUF_INIT && c->c_rlen <= NET_RBUF_INIT &&
             loop_now_ms(c->c_w->w_loop) - c->c_big_ms > NET_RBUF_SHRINK_MS)
        want = NET_RBUF_INIT;                   /* shrink once big frames stopped coming */
    if (need > NET_RBUF_KEEP)
        c->c_big_ms = loop_now_ms(c->c_w->w_loop);
    if (want > c->c_rcap && !conn_may_grow(c, want)) {
        /* no room under queued.max.request.bytes: stop reading, retry soon */
        struct net_worker *w = c->c_w;
        if (!c->c_mem_wait) {
            c->c_mem_wait = 1;
            conn_update_interest(c);
        }
        if (!c->c_in_resume) {
            c->c_in_resume = 1;
            c->c_resume_next = w->w_resume;
            w->w_resume = c;
        }
        loop_timer_start(w->w_loop, &w->w_kick, loop_now_ms(w->w_loop) + 5, kick_cb, w);
        return;
    }
    if (c->c_mem_wait) {
        c->c_mem_wait = 0;
        conn_update_interest(c);
    }
    if (want) {
        uint8_t *p = realloc(c->c_rbuf, want);
        if (!p) {
            if (want > c->c_rcap) {
                SL_ERROR("net", "%s: no memory for a %zu-byte request; closing",
                         c->c_peer, need);
                conn_shut(c, NULL);
            }
            return;
        }
        c->c_rbuf = p;
        c->c_rcap = want;
        conn_charge(c, want);
    }
}


static void
conn_read(struct conn *c)
{
    ssize_t n;
    if (c->c_rlen == c->c_rcap)
        return;             /* cannot happen: conn_process sized the buffer */
    do {
        n = read(c->c_fd, c->c_rbuf + c->c_rlen, c->c_rcap - c->c_rlen);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (!errno_is_disconnect(errno))
            SL_INFO("net", "%s: read: %s", c->c_peer, strerror(errno));
        conn_shut(c, "read error");
        return;
    }
    if (n == 0) {
        conn_shut(c, "peer closed");
        return;
    }
    c->c_rlen += (size_t)n;
    c->c_last_io = loop_now_ms(c->c_w->w_loop);
    conn_process(c);
}


/* ---- writing --------------------------------------------------------------- */

/* Move the send cursor n bytes on, through completed responses; release
 * file pieces and free responses that are fully sent. n == 0 just steps
 * over empty pieces. */
static void
conn_advance(struct conn *c, size_t n)
{
    struct net_worker *w = c->c_w;
    struct resp *r;
    const uint8_t *mem;
    struct resp_piece *fp;

    if (n) {
        c->c_out -= n;
        stat_sub(&w->w_out_bytes, n);
    }
    while ((r = c->c_head) != NULL && r->r_done) {
        if (r->r_pi > r->r_npieces) {
            resp_unlink(c, r);
            resp_free(w, r);
            continue;
        }
        size_t len = resp_vpiece(r, r->r_pi, &mem, &fp);
        size_t rem = len - r->r_off;
        if (n < rem) {
            r->r_off += n;
            return;
        }
        n -= rem;
        if (fp && fp->release) {
            void (*rel)(void *) = fp->release;
            fp->release = NULL;
            rel(fp->arg);
        }
        r->r_pi++;
        r->r_off = 0;
    }
}


/* Gather memory pieces from the cursor on, across completed responses, up
 * to a file piece, NET_IOV_MAX entries or budget bytes. *more is set when a
 * file piece follows (so the run is sent with MSG_MORE). */
static int
conn_gather(struct conn *c, struct iovec *iov, size_t budget, size_t *bytes, int *more)
{
    int n = 0;
    struct resp *r;
    size_t total = 0;
    const uint8_t *mem;
    struct resp_piece *fp;

    *more = 0;
    for (r = c->c_head; r && r->r_done; r = r->r_next) {
        uint32_t i = (r == c->c_head) ? r->r_pi : 0;
        size_t off = (r == c->c_head) ? r->r_off : 0;
        for (; i <= r->r_npieces; i++, off = 0) {
            size_t len = resp_vpiece(r, i, &mem, &fp);
            if (fp) {
                *more = len > 0;
                goto out;
            }
            if (n == NET_IOV_MAX || total >= budget)
                goto out;
            size_t take = len - off;
            if (take > budget - total)
                take = budget - total;
            iov[n].iov_base = (void *)(mem + off);
            iov[n].iov_len = take;
            n++;
            total += take;
        }
    }
out:
    *bytes = total;
    return n;
}


static void
conn_write_error(struct conn *c, const char *what, int e)
{
    if (!errno_is_disconnect(e))
        SL_INFO("net", "%s: %s: %s", c->c_peer, what, strerror(e));
    conn_shut(c, "write error");
}


/* Send what can be sent now, at most NET_WRITE_BUDGET bytes. */
static void
conn_write(struct conn *c)
{
    struct iovec iov[NET_IOV_MAX];
    size_t budget = NET_WRITE_BUDGET;
    size_t sent_total = 0;
    int blocked = 0;

    c->c_want_write = 0;
    conn_advance(c, 0);
    while (!c->c_closed && c->c_head && c->c_head->r_done && budget > 0) {
        struct resp *r = c->c_head;
        const uint8_t *mem;
        struct resp_piece *fp;
        size_t len = resp_vpiece(r, r->r_pi, &mem, &fp);
        ssize_t n;

        if (fp) {
            size_t want = len - r->r_off;
            if (want > budget)
                want = budget;
            off_t off = fp->pos + (off_t)r->r_off;
            do {
                n = sendfile(c->c_fd, fp->fd, &off, want);
            } while (n < 0 && errno == EINTR);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    blocked = 1;
                    break;
                }
                conn_write_error(c, "sendfile", errno);
                return;
            }
            if (n == 0) {
                SL_WARN("net", "%s: file range ended early (fd %d, pos %lld, %zu left); closing",
                        c->c_peer, fp->fd, (long long)off, want);
                conn_shut(c, NULL);
                return;
            }
        } else {
            size_t bytes;
            int more;
            int cnt = conn_gather(c, iov, budget, &bytes, &more);
            struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };
            do {
                n = sendmsg(c->c_fd, &msg, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
            } while (n < 0 && errno == EINTR);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    blocked = 1;
                    break;
                }
                conn_write_error(c, "write", errno);
                return;
            }
            if ((size_t)n < bytes)
                blocked = 1;        /* the socket buffer is full */
        }
        budget -= (size_t)n;
        sent_total += (size_t)n;
        conn_advance(c, (size_t)n);
        if (blocked)
            break;
    }
    if (c->c_closed)
        return;
    if (sent_total)
        c->c_last_io = loop_now_ms(c->c_w->w_loop);
    /* Blocked, or out of budget with more to send: wait for writability
     * (which, for the budget case, is immediate: the next turn). */
    c->c_want_write = c->c_head && c->c_head->r_done && (blocked || budget == 0);
    conn_update_interest(c);
    if (sent_total)
        conn_check_resume(c);
    conn_linger_check(c);
}


static void
conn_on_event(struct loop *l, int fd, int events, void *arg)
{
    struct conn *c = arg;
    (void)l;
    (void)fd;
    if (events & LOOP_ERROR) {
        /* RST or a socket error: nothing more can be delivered */
        conn_shut(c, "socket error/hangup");
        return;
    }
    if (events & LOOP_READABLE)
        conn_read(c);
    if (!c->c_closed && (events & LOOP_WRITABLE))
        conn_write(c);
}


/* ---- worker hooks and timers ------------------------------------------------ */

static void
kick_cb(struct loop *l, struct loop_timer *t, void *arg)
{
    struct net_worker *w = arg;
    struct conn *c = w->w_resume;
    (void)l;
    (void)t;
    w->w_resume = NULL;
    while (c) {
        struct conn *next = c->c_resume_next;
        c->c_in_resume = 0;
        if (!c->c_closed && !c->c_paused)
            conn_process(c);
        conn_maybe_free(c);
        c = next;
    }
}


/* before_sleep at LOOP_PRIO_FLUSH: write what completed this turn, then
 * free connections that are done. */
static void
flush_hook(struct loop *l, void *arg)
{
    struct net_worker *w = arg;
    struct conn *c;
    (void)l;
    while ((c = w->w_flush) != NULL) {
        w->w_flush = c->c_flush_next;
        c->c_in_flush = 0;
        if (!c->c_closed && !c->c_want_write)
            conn_write(c);
        conn_maybe_free(c);
    }
    if (w->w_draining)
        worker_check_drained(w);
    worker_bury(w);
}


static void
sweep_cb(struct loop *l, struct loop_timer *t, void *arg)
{
    struct net_worker *w = arg;
    int64_t idle = w->w_s->s_cfg.idle_close_ms;
    int64_t now = loop_now_ms(l);
    struct conn *c;

    for (c = w->w_conns; c; c = c->c_next) {
        if (c->c_closed || now - c->c_last_io < idle)
            continue;
        /* waiting on us (a parked request, nothing to send) is not idle */
        if (c->c_nreserved && !c->c_out)
            continue;
        SL_INFO("net", "%s: idle for %lld ms%s; closing", c->c_peer, (long long)(now - c->c_last_io),
                c->c_out ? " with output pending" : "");
        conn_shut(c, NULL);
    }
    int64_t period = idle / 4;
    if (period < 10)
        period = 10;
    if (period > 1000)
        period = 1000;
    loop_timer_start(l, t, now + period, sweep_cb, w);
}


/* ---- accepting --------------------------------------------------------------- */

static void
conn_attach(struct conn *c)
{
    struct net_worker *w = c->c_w;
    if (w->w_draining || w->w_finished) {
        close(c->c_fd);
        atomic_fetch_sub(&w->w_s->s_conns, 1);
        free(c->c_rbuf);
        free(c);
        return;
    }
    c->c_next = w->w_conns;
    if (w->w_conns)
        w->w_conns->c_prev = c;
    w->w_conns = c;
    c->c_last_io = loop_now_ms(w->w_loop);
    if (loop_add_fd(w->w_loop, c->c_fd, LOOP_READABLE, conn_on_event, c) != 0) {
        conn_shut(c, "epoll_ctl failed");
        return;
    }
    c->c_mask = LOOP_READABLE;
    stat_add(&w->w_accepted, 1);
    SL_DEBUG("net", "accepted %s (id %llu) on loop %d", c->c_peer,
             (unsigned long long)c->c_id, w->w_idx);
}


static void
attach_task(struct loop *l, void *arg)
{
    (void)l;
    conn_attach(arg);
}


static void
format_peer(char *out, size_t n, const struct sockaddr_storage *ss)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        snprintf(out, n, "%s:%u", ip, ntohs(a->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        snprintf(out, n, "[%s]:%u", ip, ntohs(a->sin6_port));
    } else {
        snprintf(out, n, "unknown");
    }
}


static void on_accept(struct loop *l, int fd, int events, void *arg);

static void
accept_retry_cb(struct loop *l, struct loop_timer *t, void *arg)
{
    struct net_worker *w = arg;
    (void)t;
    if (w->w_s->s_listen_fd >= 0 && !w->w_draining)
        loop_add_fd(l, w->w_s->s_listen_fd, LOOP_READABLE, on_accept, w);
}


static void
on_accept(struct loop *l, int fd, int events, void *arg)
{
    struct net_worker *w = arg;
    struct net_server *s = w->w_s;
    int i;
    (void)events;

    for (i = 0; i < NET_ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            int e = errno;
            if (e == EINTR || e == ECONNABORTED || e == EPROTO)
                continue;
            if (e == EAGAIN || e == EWOULDBLOCK)
                return;
            /* EMFILE, ENFILE, ENOBUFS, ENOMEM: back off instead of spinning */
            SL_WARN("net", "accept: %s; pausing accepts for %d ms", strerror(e),
                    NET_ACCEPT_RETRY_MS);
            loop_del_fd(l, fd);
            loop_timer_start(l, &w->w_accept_retry, loop_now_ms(l) + NET_ACCEPT_RETRY_MS,
                             accept_retry_cb, w);
            return;
        }
        if (s->s_cfg.max_connections > 0
            && atomic_load(&s->s_conns) >= s->s_cfg.max_connections) {
            close(cfd);
            atomic_fetch_add_explicit(&s->s_rejected, 1, memory_order_relaxed);
            if (loop_now_ms(l) - s->s_last_reject_log >= 1000) {
                s->s_last_reject_log = loop_now_ms(l);
                SL_WARN("net", "max_connections (%d) reached; refusing connections",
                        s->s_cfg.max_connections);
            }
            continue;
        }
        struct conn *c = calloc(1, sizeof(*c));
        uint8_t *rbuf = malloc(NET_RBUF_INIT);
        if (!c || !rbuf) {
            SL_ERROR("net", "accept: out of memory");
            free(c);
            free(rbuf);
            close(cfd);
            continue;
        }
        atomic_fetch_add(&s->s_conns, 1);
        int one = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (s->s_cfg.sndbuf > 0)
            setsockopt(cfd, SOL_SOCKET, SO_SNDBUF, &s->s_cfg.sndbuf, sizeof(int));
        if (s->s_cfg.rcvbuf > 0)
            setsockopt(cfd, SOL_SOCKET, SO_RCVBUF, &s->s_cfg.rcvbuf, sizeof(int));
        c->c_fd = cfd;
        c->c_rbuf = rbuf;
        c->c_rcap = NET_RBUF_INIT;
        c->c_id = atomic_fetch_add(&net_next_conn_id, 1);
        format_peer(c->c_peer, sizeof(c->c_peer), &ss);
        struct net_worker *t = &s->s_w[s->s_rr++ % (unsigned)s->s_nloops];
        c->c_w = t;
        if (t == w) {
            conn_attach(c);
        } else {
            c->c_task.cb = attach_task;
            c->c_task.arg = c;
            loop_post(t->w_loop, &c->c_task);
        }
    }
}


/* ---- stop ------------------------------------------------------------------ */

static void
worker_close_all(struct net_worker *w)
{
    struct conn *c;
    for (c = w->w_conns; c; c = c->c_next)
        if (!c->c_closed)
            conn_shut(c, "server stopping");
}


static void
worker_finish(struct net_worker *w)
{
    if (w->w_finished)
        return;
    w->w_finished = 1;
    worker_close_all(w);
    loop_timer_cancel(w->w_loop, &w->w_sweep);
    loop_timer_cancel(w->w_loop, &w->w_drain);
    loop_timer_cancel(w->w_loop, &w->w_kick);
    loop_timer_cancel(w->w_loop, &w->w_accept_retry);
    loop_stop(w->w_loop);
}


static void
worker_check_drained(struct net_worker *w)
{
    struct conn *c;
    if (w->w_finished)
        return;
    for (c = w->w_conns; c; c = c->c_next)
        if (!c->c_closed && (c->c_nreserved || c->c_out))
            return;
    worker_finish(w);
}


static void
drain_timeout_cb(struct loop *l, struct loop_timer *t, void *arg)
{
    struct net_worker *w = arg;
    (void)l;
    (void)t;
    struct conn *c;
    for (c = w->w_conns; c; c = c->c_next)
        if (!c->c_closed && (c->c_nreserved || c->c_out))
            SL_INFO("net", "%s: drain timed out (%u responses pending, %zu bytes unsent)",
                    c->c_peer, c->c_nreserved, c->c_out);
    worker_finish(w);
}


static void
drain_task(struct loop *l, void *arg)
{
    struct net_worker *w = arg;
    struct conn *c;
    w->w_draining = 1;
    for (c = w->w_conns; c; c = c->c_next)
        if (!c->c_closed)
            conn_pause(c);
    if (w->w_drain_deadline <= loop_now_ms(l)) {
        worker_finish(w);
        return;
    }
    loop_timer_start(l, &w->w_drain, w->w_drain_deadline, drain_timeout_cb, w);
    worker_check_drained(w);
}


static void
stop_accept_task(struct loop *l, void *arg)
{
    struct net_worker *w = arg;
    struct net_server *s = w->w_s;
    if (s->s_listen_fd >= 0) {
        loop_del_fd(l, s->s_listen_fd);
        close(s->s_listen_fd);
        s->s_listen_fd = -1;
    }
    loop_timer_cancel(l, &w->w_accept_retry);
    pthread_mutex_lock(&s->s_mu);
    s->s_accept_stopped = 1;
    pthread_cond_broadcast(&s->s_cv);
    pthread_mutex_unlock(&s->s_mu);
}


static void *
worker_main(void *arg)
{
    struct net_worker *w = arg;
    struct net_server *s = w->w_s;
    char name[16];

    snprintf(name, sizeof(name), "sluice-net-%d", w->w_idx);
    pthread_setname_np(pthread_self(), name);
    if (s->s_h.on_loop_start)
        s->s_h.on_loop_start(w->w_loop, w->w_idx, s->s_h.arg);
    loop_run(w->w_loop);
    w->w_finished = 1;
    worker_close_all(w);
    if (s->s_h.on_loop_stop)
        s->s_h.on_loop_stop(w->w_loop, w->w_idx, s->s_h.arg);
    worker_bury(w);
    return NULL;
}


/* ---- server ----------------------------------------------------------------- */

static int
listen_socket(struct net_server *s)
{
    struct addrinfo hints, *res = NULL, *ai;
    char port[16];
    const char *host = s->s_host && s->s_host[0] ? s->s_host : "0.0.0.0";
    int fd = -1, rc, one = 1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%d", s->s_cfg.port);
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        SL_ERROR("net", "cannot resolve %s: %s", host, gai_strerror(rc));
        return SL_ERR__INVALID_ARG;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0
            && listen(fd, s->s_cfg.backlog) == 0)
            break;
        SL_ERROR("net", "bind/listen %s:%s: %s", host, port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return SL_ERR__IO;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        close(fd);
        return SL_ERR__IO;
    }
    s->s_port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    s->s_listen_fd = fd;
    return 0;
}


int
net_server_start(struct net_server **out, const struct net_config *cfg,
                 const struct net_handler *h)
{
    struct net_server *s;
    int i, rc;

    if (!cfg || !h || !h->on_request || cfg->port < 0 || cfg->port > 65535)
        return SL_ERR__INVALID_ARG;
    signal(SIGPIPE, SIG_IGN);
    s = calloc(1, sizeof(*s));
    if (!s)
        return SL_ERR__NOMEM;
    s->s_cfg = *cfg;
    s->s_h = *h;
    s->s_listen_fd = -1;
    pthread_mutex_init(&s->s_mu, NULL);
    pthread_cond_init(&s->s_cv, NULL);
    if (cfg->host) {
        s->s_host = strdup(cfg->host);
        if (!s->s_host) {
            rc = SL_ERR__NOMEM;
            goto fail;
        }
    }
    s->s_cfg.host = s->s_host;
    if (s->s_cfg.nloops <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->s_cfg.nloops = n > 0 ? (int)n : 1;
    }
    if (s->s_cfg.max_request_bytes == 0)
        s->s_cfg.max_request_bytes = 104857600;
    if (s->s_cfg.max_conn_out_bytes == 0)
        s->s_cfg.max_conn_out_bytes = 16u << 20;
    if (s->s_cfg.idle_close_ms == 0)
        s->s_cfg.idle_close_ms = 600000;
    if (s->s_cfg.backlog <= 0)
        s->s_cfg.backlog = 1024;
    s->s_nloops = s->s_cfg.nloops;

    if ((rc = listen_socket(s)) != 0)
        goto fail;
    s->s_w = calloc((size_t)s->s_nloops, sizeof(*s->s_w));
    if (!s->s_w) {
        rc = SL_ERR__NOMEM;
        goto fail;
    }
    for (i = 0; i < s->s_nloops; i++) {
        struct net_worker *w = &s->s_w[i];
        w->w_s = s;
        w->w_idx = i;
        if ((rc = loop_create(&w->w_loop)) != 0)
            goto fail;
        if ((rc = loop_add_before_sleep_prio(w->w_loop, LOOP_PRIO_FLUSH, flush_hook, w)) != 0)
            goto fail;
        if (s->s_cfg.idle_close_ms > 0
            && (rc = loop_timer_start(w->w_loop, &w->w_sweep, loop_now_ms(w->w_loop),
                                      sweep_cb, w)) != 0)
            goto fail;
    }
    if ((rc = loop_add_fd(s->s_w[0].w_loop, s->s_listen_fd, LOOP_READABLE, on_accept,
                          &s->s_w[0])) != 0)
        goto fail;
    for (i = 0; i < s->s_nloops; i++) {
        struct net_worker *w = &s->s_w[i];
        if (pthread_create(&w->w_thread, NULL, worker_main, w) != 0) {
            SL_ERROR("net", "pthread_create failed");
            rc = SL_ERR__NOMEM;
            goto fail;
        }
        w->w_thread_started = 1;
    }
    SL_INFO("net", "listening on %s:%d with %d loops", s->s_host ? s->s_host : "0.0.0.0",
            s->s_port, s->s_nloops);
    *out = s;
    return 0;
fail:
    net_server_free(s);
    return rc;
}


int
net_server_port(const struct net_server *s)
{
    return s->s_port;
}


int
net_server_nloops(const struct net_server *s)
{
    return s->s_nloops;
}


struct loop *
net_server_loop(const struct net_server *s, int i)
{
    if (i < 0 || i >= s->s_nloops)
        return NULL;
    return s->s_w[i].w_loop;
}


void
net_server_stop(struct net_server *s, int64_t drain_ms)
{
    int i;
    if (!s || s->s_stopped)
        return;
    s->s_stopped = 1;
    if (!s->s_w)
        return;
    /* 1. Stop accepting, and wait: after this no hand-off can be posted,
     *    so the drain tasks below run after every pending hand-off. */
    if (s->s_w[0].w_thread_started) {
        struct loop_task t = { .cb = stop_accept_task, .arg = &s->s_w[0] };
        loop_post(s->s_w[0].w_loop, &t);
        pthread_mutex_lock(&s->s_mu);
        while (!s->s_accept_stopped)
            pthread_cond_wait(&s->s_cv, &s->s_mu);
        pthread_mutex_unlock(&s->s_mu);
    }
    /* 2. Drain each loop, then close everything and stop it. */
    int64_t deadline = loop_mono_ms() + (drain_ms > 0 ? drain_ms : 0);
    for (i = 0; i < s->s_nloops; i++) {
        struct net_worker *w = &s->s_w[i];
        if (!w->w_thread_started)
            continue;
        w->w_drain_deadline = deadline;
        w->w_task.cb = drain_task;
        w->w_task.arg = w;
        loop_post(w->w_loop, &w->w_task);
    }
    for (i = 0; i < s->s_nloops; i++) {
        if (s->s_w[i].w_thread_started) {
            pthread_join(s->s_w[i].w_thread, NULL);
            s->s_w[i].w_thread_started = 0;
        }
    }
    SL_INFO("net", "stopped (port %d)", s->s_port);
}


void
net_server_free(struct net_server *s)
{
    int i;
    if (!s)
        return;
    net_server_stop(s, 0);
    if (s->s_w) {
        for (i = 0; i < s->s_nloops; i++) {
            struct net_worker *w = &s->s_w[i];
            while (w->w_conns) {
                struct conn *c = w->w_conns;
                if (!c->c_closed) {         /* never attached to a running loop */
                    c->c_closed = 1;
                }
                conn_destroy(c);
            }
            while (w->w_free_resps) {
                struct resp *r = w->w_free_resps;
                w->w_free_resps = r->r_next;
                sl_buf_free(&r->r_buf);
                free(r);
            }
            loop_destroy(w->w_loop);
        }
        free(s->s_w);
    }
    if (s->s_listen_fd >= 0)
        close(s->s_listen_fd);
    pthread_mutex_destroy(&s->s_mu);
    pthread_cond_destroy(&s->s_cv);
    free(s->s_host);
    free(s);
}


int64_t
net_server_connection_count(const struct net_server *s)
{
    return atomic_load(&((struct net_server *)s)->s_conns);
}


void
net_server_stats(const struct net_server *s, struct net_stats *out)
{
    struct net_server *m = (struct net_server *)s;
    int i;
    memset(out, 0, sizeof(*out));
    out->connections = atomic_load(&m->s_conns);
    out->rejected = atomic_load_explicit(&m->s_rejected, memory_order_relaxed);
    for (i = 0; i < s->s_nloops; i++) {
        struct net_worker *w = &m->s_w[i];
        out->accepted += atomic_load_explicit(&w->w_accepted, memory_order_relaxed);
        out->requests += atomic_load_explicit(&w->w_requests, memory_order_relaxed);
        out->out_bytes += atomic_load_explicit(&w->w_out_bytes, memory_order_relaxed);
        out->paused += atomic_load_explicit(&w->w_paused, memory_order_relaxed);
        out->zombies += atomic_load_explicit(&w->w_zombies, memory_order_relaxed);
    }
}
