/* server/loop.c -- the event loop: epoll, a timer heap, before_sleep hooks
 * and a lock-free queue of tasks posted from other threads. See loop.h.
 *
 * Invariants:
 *  - fds[fd].used iff fd is registered with epoll; each registration gets a
 *    new generation, carried in the epoll data next to the fd, so events
 *    collected for an fd that was deleted (and maybe reused) in the same
 *    turn are recognised and dropped.
 *  - heap[] is a binary min-heap on (deadline, seq); heap[i]->lt_slot == i+1.
 *  - posted is a Treiber stack (newest first); whoever pushes onto an
 *    empty stack writes the eventfd, so a non-empty stack always has a
 *    wake-up pending or is about to be drained by the loop thread.
 *
 * Threading: everything but loop_post/loop_stop/loop_in_thread and the
 * clocks runs on the loop thread only; nothing here takes a lock.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "server/loop.h"
#include "storage/err.h"
#include "storage/log.h"

#define LOOP_MAX_EVENTS 256

struct loop_fdw {
    loop_fd_cb *cb;
    void       *arg;
    int         mask;
    int         used;
    uint32_t    gen;
};

struct loop_hook {
    int           prio;
    int           dead;      /* deleted while hooks were running */
    int           fresh;     /* added while hooks were running: skip this run */
    uint64_t      seq;
    loop_hook_cb *cb;
    void         *arg;
};

struct loop {
    int                l_epfd;
    int                l_evfd;
    int64_t            l_now;
    uint64_t           l_turn;
    void              *l_data;

    struct loop_fdw   *l_fds;
    size_t             l_nfds;
    uint32_t           l_gen;

    struct loop_timer **l_heap;
    size_t             l_heap_n;
    size_t             l_heap_cap;
    uint64_t           l_timer_seq;

    struct loop_hook  *l_hooks;
    size_t             l_nhooks;
    size_t             l_hooks_cap;
    uint64_t           l_hook_seq;
    int                l_hooks_running;
    int                l_hooks_dirty;

    _Atomic(struct loop_task *) l_posted;
    atomic_int         l_stop;
    atomic_int         l_running;
    pthread_t          l_thread;
};


static int64_t
clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


int64_t
loop_mono_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}


int64_t
loop_wall_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}


int
loop_create(struct loop **out)
{
    struct loop *l = calloc(1, sizeof(*l));
    if (!l)
        return SL_ERR__NOMEM;
    l->l_evfd = -1;
    l->l_epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->l_epfd < 0) {
        SL_ERROR("loop", "epoll_create1: %s", strerror(errno));
        free(l);
        return SL_ERR__IO;
    }
    l->l_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->l_evfd < 0) {
        SL_ERROR("loop", "eventfd: %s", strerror(errno));
        goto fail;
    }
    /* The eventfd is registered directly (data = all ones), not through the
     * fd table, so it can never collide with a user watch. */
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX };
    if (epoll_ctl(l->l_epfd, EPOLL_CTL_ADD, l->l_evfd, &ev) != 0) {
        SL_ERROR("loop", "epoll_ctl(eventfd): %s", strerror(errno));
        goto fail;
    }
    atomic_init(&l->l_posted, NULL);
    atomic_init(&l->l_stop, 0);
    atomic_init(&l->l_running, 0);
    l->l_now = loop_mono_ms();
    *out = l;
    return 0;
fail:
    loop_destroy(l);
    return SL_ERR__IO;
}


void
loop_destroy(struct loop *l)
{
    if (!l)
        return;
    size_t i;
    for (i = 0; i < l->l_heap_n; i++)
        l->l_heap[i]->lt_slot = 0;
    if (l->l_evfd >= 0)
        close(l->l_evfd);
    if (l->l_epfd >= 0)
        close(l->l_epfd);
    free(l->l_fds);
    free(l->l_heap);
    free(l->l_hooks);
    free(l);
}


int64_t
loop_now_ms(const struct loop *l)
{
    return l->l_now;
}


int64_t
loop_update_now(struct loop *l)
{
    l->l_now = loop_mono_ms();
    return l->l_now;
}


void
loop_set_data(struct loop *l, void *data)
{
    l->l_data = data;
}


void *
loop_data(const struct loop *l)
{
    return l->l_data;
}


int
loop_in_thread(const struct loop *l)
{
    return atomic_load(&((struct loop *)l)->l_running)
        && pthread_equal(l->l_thread, pthread_self());
}


/* ---- fd watches ------------------------------------------------------- */

static uint32_t
ep_events(int mask)
{
    uint32_t e = 0;
    if (mask & LOOP_READABLE)
        e |= EPOLLIN;
    if (mask & LOOP_WRITABLE)
        e |= EPOLLOUT;
    return e;
}


int
loop_add_fd(struct loop *l, int fd, int mask, loop_fd_cb *cb, void *arg)
{
    if (fd < 0 || !cb)
        return SL_ERR__INVALID_ARG;
    if ((size_t)fd >= l->l_nfds) {
        size_t n = l->l_nfds ? l->l_nfds : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct loop_fdw *p = realloc(l->l_fds, n * sizeof(*p));
        if (!p)
            return SL_ERR__NOMEM;
        memset(p + l->l_nfds, 0, (n - l->l_nfds) * sizeof(*p));
        l->l_fds = p;
        l->l_nfds = n;
    }
    struct loop_fdw *w = &l->l_fds[fd];
    if (w->used)
        return SL_ERR__EXISTS;
    uint32_t gen = ++l->l_gen;
    struct epoll_event ev = {
        .events = ep_events(mask),
        .data.u64 = ((uint64_t)gen << 32) | (uint32_t)fd,
    };
    if (epoll_ctl(l->l_epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        SL_WARN("loop", "epoll_ctl(ADD, %d): %s", fd, strerror(errno));
        return SL_ERR__IO;
    }
    w->cb = cb;
    w->arg = arg;
    w->mask = mask & (LOOP_READABLE | LOOP_WRITABLE);
    w->used = 1;
    w->gen = gen;
    return 0;
}


int
loop_mod_fd(struct loop *l, int fd, int mask)
{
    if (fd < 0 || (size_t)fd >= l->l_nfds || !l->l_fds[fd].used)
        return SL_ERR__NOENT;
    struct loop_fdw *w = &l->l_fds[fd];
    mask &= LOOP_READABLE | LOOP_WRITABLE;
    if (mask == w->mask)
        return 0;
    struct epoll_event ev = {
        .events = ep_events(mask),
        .data.u64 = ((uint64_t)w->gen << 32) | (uint32_t)fd,
    };
    if (epoll_ctl(l->l_epfd, EPOLL_CTL_MOD, fd, &ev) != 0) {
        SL_WARN("loop", "epoll_ctl(MOD, %d): %s", fd, strerror(errno));
        return SL_ERR__IO;
    }
    w->mask = mask;
    return 0;
}


void
loop_del_fd(struct loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->l_nfds || !l->l_fds[fd].used)
        return;
    epoll_ctl(l->l_epfd, EPOLL_CTL_DEL, fd, NULL);
    l->l_fds[fd].used = 0;
    l->l_fds[fd].mask = 0;
    l->l_fds[fd].cb = NULL;
    l->l_fds[fd].arg = NULL;
}


/* ---- timers ------------------------------------------------------------- */

static int
timer_less(const struct loop_timer *a, const struct loop_timer *b)
{
    if (a->lt_deadline != b->lt_deadline)
        return a->lt_deadline < b->lt_deadline;
    return a->lt_seq < b->lt_seq;
}


static void
heap_set(struct loop *l, size_t i, struct loop_timer *t)
{
    l->l_heap[i] = t;
    t->lt_slot = i + 1;
}


static void
heap_up(struct loop *l, size_t i)
{
    struct loop_timer *t = l->l_heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!timer_less(t, l->l_heap[p]))
            break;
        heap_set(l, i, l->l_heap[p]);
        i = p;
    }
    heap_set(l, i, t);
}


static void
heap_down(struct loop *l, size_t i)
{
    struct loop_timer *t = l->l_heap[i];
    size_t n = l->l_heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && timer_less(l->l_heap[c + 1], l->l_heap[c]))
            c++;
        if (!timer_less(l->l_heap[c], t))
            break;
        heap_set(l, i, l->l_heap[c]);
        i = c;
    }
    heap_set(l, i, t);
}


static void
heap_remove(struct loop *l, struct loop_timer *t)
{
    size_t i = t->lt_slot - 1;
    struct loop_timer *last = l->l_heap[--l->l_heap_n];
    t->lt_slot = 0;
    if (last == t)
        return;
    heap_set(l, i, last);
    if (i > 0 && timer_less(last, l->l_heap[(i - 1) / 2]))
        heap_up(l, i);
    else
        heap_down(l, i);
}


int
loop_timer_start(struct loop *l, struct loop_timer *t, int64_t deadline_ms,
                 void (*cb)(struct loop *l, struct loop_timer *t, void *arg),
                 void *arg)
{
    if (t->lt_slot)
        heap_remove(l, t);
    if (l->l_heap_n == l->l_heap_cap) {
        size_t n = l->l_heap_cap ? l->l_heap_cap * 2 : 64;
        struct loop_timer **h = realloc(l->l_heap, n * sizeof(*h));
        if (!h)
            return SL_ERR__NOMEM;
        l->l_heap = h;
        l->l_heap_cap = n;
    }
    t->lt_deadline = deadline_ms;
    t->lt_seq = ++l->l_timer_seq;
    t->lt_turn = l->l_turn;
    t->lt_cb = cb;
    t->lt_arg = arg;
    l->l_heap[l->l_heap_n] = t;
    l->l_heap_n++;
    heap_up(l, l->l_heap_n - 1);
    return 0;
}


void
loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
    if (t->lt_slot)
        heap_remove(l, t);
}


size_t
loop_timer_count(const struct loop *l)
{
    return l->l_heap_n;
}


static void
fire_timers(struct loop *l)
{
    while (l->l_heap_n > 0) {
        struct loop_timer *t = l->l_heap[0];
        if (t->lt_deadline > l->l_now || t->lt_turn == l->l_turn)
            break;      /* not due, or started this turn: next turn */
        heap_remove(l, t);
        t->lt_cb(l, t, t->lt_arg);
    }
}


/* ---- hooks -------------------------------------------------------------- */

static int
hook_cmp(const void *a, const void *b)
{
    const struct loop_hook *x = a, *y = b;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}


static void
hooks_tidy(struct loop *l)
{
    size_t i, j = 0;
    for (i = 0; i < l->l_nhooks; i++) {
        if (l->l_hooks[i].dead)
            continue;
        l->l_hooks[i].fresh = 0;
        l->l_hooks[j++] = l->l_hooks[i];
    }
    l->l_nhooks = j;
    qsort(l->l_hooks, l->l_nhooks, sizeof(*l->l_hooks), hook_cmp);
    l->l_hooks_dirty = 0;
}


int
loop_add_before_sleep_prio(struct loop *l, int prio, loop_hook_cb *cb, void *arg)
{
    if (l->l_nhooks == l->l_hooks_cap) {
        size_t n = l->l_hooks_cap ? l->l_hooks_cap * 2 : 4;
        struct loop_hook *h = realloc(l->l_hooks, n * sizeof(*h));
        if (!h)
            return SL_ERR__NOMEM;
        l->l_hooks = h;
        l->l_hooks_cap = n;
    }
    struct loop_hook *h = &l->l_hooks[l->l_nhooks++];
    h->prio = prio;
    h->dead = 0;
    h->fresh = l->l_hooks_running;
    h->seq = ++l->l_hook_seq;
    h->cb = cb;
    h->arg = arg;
    if (l->l_hooks_running)
        l->l_hooks_dirty = 1;
    else
        hooks_tidy(l);
    return 0;
}


int
loop_add_before_sleep(struct loop *l, loop_hook_cb *cb, void *arg)
{
    return loop_add_before_sleep_prio(l, LOOP_PRIO_DEFAULT, cb, arg);
}


void
loop_del_before_sleep(struct loop *l, loop_hook_cb *cb, void *arg)
{
    size_t i;
    for (i = 0; i < l->l_nhooks; i++) {
        struct loop_hook *h = &l->l_hooks[i];
        if (!h->dead && h->cb == cb && h->arg == arg) {
            h->dead = 1;
            if (l->l_hooks_running)
                l->l_hooks_dirty = 1;
            else
                hooks_tidy(l);
            return;
        }
    }
}


static void
run_hooks(struct loop *l)
{
    size_t i;
    l->l_hooks_running = 1;
    for (i = 0; i < l->l_nhooks; i++) {
        /* copy: a hook may add another and move the array */
        struct loop_hook h = l->l_hooks[i];
        if (!h.dead && !h.fresh)
            h.cb(l, h.arg);
    }
    l->l_hooks_running = 0;
    if (l->l_hooks_dirty)
        hooks_tidy(l);
}


/* ---- cross-thread ------------------------------------------------------- */

static void
wake(struct loop *l)
{
    uint64_t one = 1;
    ssize_t n;
    do {
        n = write(l->l_evfd, &one, sizeof(one));
    } while (n < 0 && errno == EINTR);
    /* EAGAIN: the counter is saturated, so a wake-up is pending anyway. */
}


void
loop_post(struct loop *l, struct loop_task *task)
{
    struct loop_task *head = atomic_load_explicit(&l->l_posted, memory_order_relaxed);
    do {
        task->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&l->l_posted, &head, task,
                                                    memory_order_release,
                                                    memory_order_relaxed));
    if (head == NULL)
        wake(l);
}


void
loop_stop(struct loop *l)
{
    atomic_store(&l->l_stop, 1);
    wake(l);
}


static void
drain_eventfd(struct loop *l)
{
    uint64_t v;
    ssize_t n;
    do {
        n = read(l->l_evfd, &v, sizeof(v));
    } while (n < 0 && errno == EINTR);
}


static void
run_posted(struct loop *l)
{
    struct loop_task *t = atomic_exchange_explicit(&l->l_posted, NULL,
                                                   memory_order_acquire);
    struct loop_task *fifo = NULL;
    while (t) {                 /* the stack is newest first: reverse it */
        struct loop_task *next = t->next;
        t->next = fifo;
        fifo = t;
        t = next;
    }
    while (fifo) {
        struct loop_task *next = fifo->next;
        fifo->next = NULL;
        fifo->cb(l, fifo->arg);  /* may free or re-post fifo */
        fifo = next;
    }
}


/* ---- the loop ------------------------------------------------------------ */

static int
sleep_timeout(struct loop *l)
{
    if (atomic_load_explicit(&l->l_posted, memory_order_relaxed) != NULL)
        return 0;
    if (l->l_heap_n == 0)
        return -1;
    int64_t d = l->l_heap[0]->lt_deadline - loop_mono_ms();
    if (d <= 0)
        return 0;
    return d > INT_MAX ? INT_MAX : (int)d;
}


int
loop_run(struct loop *l)
{
    struct epoll_event evs[LOOP_MAX_EVENTS];
    int rc = 0;

    l->l_thread = pthread_self();
    atomic_store(&l->l_running, 1);
    for (;;) {
        run_hooks(l);
        if (atomic_load(&l->l_stop))
            break;
        int n = epoll_wait(l->l_epfd, evs, LOOP_MAX_EVENTS, sleep_timeout(l));
        if (n < 0) {
            if (errno == EINTR)
                n = 0;
            else {
                SL_ERROR("loop", "epoll_wait: %s", strerror(errno));
                rc = SL_ERR__IO;
                break;
            }
        }
        l->l_turn++;
        l->l_now = loop_mono_ms();
        for (int i = 0; i < n; i++) {
            uint64_t data = evs[i].data.u64;
            if (data == UINT64_MAX) {
                drain_eventfd(l);
                continue;
            }
            int fd = (int)(uint32_t)data;
            uint32_t gen = (uint32_t)(data >> 32);
            if ((size_t)fd >= l->l_nfds)
                continue;
            struct loop_fdw *w = &l->l_fds[fd];
            if (!w->used || w->gen != gen)
                continue;       /* deleted earlier in this turn */
            int ev = 0;
            if (evs[i].events & EPOLLIN)
                ev |= LOOP_READABLE;
            if (evs[i].events & EPOLLOUT)
                ev |= LOOP_WRITABLE;
            if (evs[i].events & (EPOLLERR | EPOLLHUP))
                ev |= LOOP_ERROR | w->mask;
            ev &= w->mask | LOOP_ERROR;
            if (ev)
                w->cb(l, fd, ev, w->arg);
        }
        fire_timers(l);
        run_posted(l);
    }
    atomic_store(&l->l_running, 0);
    atomic_store(&l->l_stop, 0);
    return rc;
}
