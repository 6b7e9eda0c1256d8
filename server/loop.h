/* server/loop.h -- one event loop: fd readiness, timers, pre-sleep hooks and
 * tasks posted from other threads (the role of Redis's ae.c).
 *
 * Only loop.c knows about epoll. Each loop runs on exactly one thread (the
 * one inside loop_run); every function here must be called on that thread
 * unless it says "@thread any". Before loop_run starts, the creating thread
 * may set the loop up (add fds, timers, hooks).
 *
 * One turn of loop_run:
 *   1. epoll_wait (timeout: 0 if work is pending, else until the earliest
 *      timer, else forever), then refresh loop_now_ms();
 *   2. call the callback of every ready fd;
 *   3. fire due timers, earliest deadline first (ties: first started first);
 *   4. run posted tasks, in the order they were posted;
 *   5. run the before_sleep hooks, by ascending priority (ties: in the order
 *      they were added). Group commit lives here: fsync what this turn
 *      dirtied, then complete the replies that waited for it.
 * A timer started during a turn whose deadline has already passed fires in
 * the next turn (which then does not sleep), so a timer that re-arms itself
 * for "now" cannot starve the loop.
 *
 * Ownership: struct loop_timer and struct loop_task are intrusive and owned
 * by the caller; the loop only links them. They must stay valid while
 * armed / posted.
 */
#ifndef SL_LOOP_H
#define SL_LOOP_H

#include <stddef.h>
#include <stdint.h>

struct loop;

/* Interest / event bits for fd watches. */
#define LOOP_READABLE 0x1
#define LOOP_WRITABLE 0x2
/* Reported only (never requested): EPOLLERR or EPOLLHUP on the fd. Delivered
 * even when the watch's interest mask is 0. */
#define LOOP_ERROR    0x4

/* Priorities for before_sleep hooks: lower runs first. */
#define LOOP_PRIO_DEFAULT 0
#define LOOP_PRIO_FLUSH   1000   /* net: write queued output; runs after the rest */

typedef void loop_fd_cb(struct loop *l, int fd, int events, void *arg);
typedef void loop_hook_cb(struct loop *l, void *arg);

/* A timer. Zero-initialised (or loop_timer_init) means "not armed".
 * Fields are private to loop.c. */
struct loop_timer {
    int64_t  lt_deadline;                 /* monotonic ms */
    uint64_t lt_seq;                      /* start order, for ties */
    size_t   lt_slot;                     /* heap index + 1; 0 = not armed */
    uint64_t lt_turn;                     /* loop turn in which it was started */
    void   (*lt_cb)(struct loop *l, struct loop_timer *t, void *arg);
    void    *lt_arg;
};

/* A task for loop_post. The caller fills cb and arg; next is the loop's. */
struct loop_task {
    void            (*cb)(struct loop *l, void *arg);
    void             *arg;
    struct loop_task *next;
};

/* Monotonic clock in ms (CLOCK_MONOTONIC). @thread any */
int64_t loop_mono_ms(void);
/* Wall clock in ms since the Unix epoch (CLOCK_REALTIME), as Kafka
 * timestamps are. @thread any */
int64_t loop_wall_ms(void);

/* Create a loop (epoll fd + eventfd). 0, SL_ERR__NOMEM or SL_ERR__IO.
 * @returns owned in *out, free with loop_destroy. */
int loop_create(struct loop **out);
/* Free the loop. It must not be running. Tasks still posted are dropped
 * (their callbacks never run); armed timers and fd watches are forgotten
 * (fds are not closed). NULL is fine. */
void loop_destroy(struct loop *l);

/* Run turns until loop_stop. Returns 0 (or SL_ERR__IO if epoll failed).
 * A stop requested before loop_run is entered is honoured (it returns after
 * one turn); the stop request is cleared when loop_run returns. */
int loop_run(struct loop *l);
/* Ask loop_run to return after the current turn. @thread any */
void loop_stop(struct loop *l);
/* Non-zero when called on the thread currently inside loop_run(l). @thread any */
int loop_in_thread(const struct loop *l);

/* Cached monotonic ms, refreshed once per turn after epoll_wait (and at
 * loop_create). Cheap; use it for deadlines of work done in this turn. */
int64_t loop_now_ms(const struct loop *l);
/* Refresh the cache from the clock and return it. */
int64_t loop_update_now(struct loop *l);

/* A user pointer for whoever owns the loop (e.g. per-loop broker state). */
void  loop_set_data(struct loop *l, void *data);
void *loop_data(const struct loop *l);

/* --- fd watches (level-triggered) ---------------------------------------- */
/* Watch fd for mask (LOOP_READABLE|LOOP_WRITABLE, may be 0). cb gets the
 * ready bits (plus LOOP_ERROR). One watch per fd. 0, SL_ERR__EXISTS,
 * SL_ERR__NOMEM or SL_ERR__IO. */
int loop_add_fd(struct loop *l, int fd, int mask, loop_fd_cb *cb, void *arg);
/* Change the interest mask. 0, SL_ERR__NOENT or SL_ERR__IO. */
int loop_mod_fd(struct loop *l, int fd, int mask);
/* Stop watching fd (call before closing it). Events already collected for
 * fd in this turn are dropped, even if the fd number is reused. Safe if
 * fd is not watched. */
void loop_del_fd(struct loop *l, int fd);

/* --- timers (binary heap: start/cancel O(log n), many timers are cheap) --- */
static inline void loop_timer_init(struct loop_timer *t) { t->lt_slot = 0; }
static inline int  loop_timer_armed(const struct loop_timer *t) { return t->lt_slot != 0; }
/* Arm t to call cb(l, t, arg) once at deadline_ms (monotonic ms, e.g.
 * loop_now_ms(l) + 100). Re-arming an armed timer moves it. The timer is
 * disarmed before cb runs, so cb may re-arm or free it.
 * 0 or SL_ERR__NOMEM (heap growth). */
int loop_timer_start(struct loop *l, struct loop_timer *t, int64_t deadline_ms,
                     void (*cb)(struct loop *l, struct loop_timer *t, void *arg),
                     void *arg);
/* Disarm t; safe if it is not armed. */
void loop_timer_cancel(struct loop *l, struct loop_timer *t);
/* Number of armed timers (stats, tests). */
size_t loop_timer_count(const struct loop *l);

/* --- hooks ------------------------------------------------------------------ */
/* Run cb(l, arg) once per turn before sleeping, at LOOP_PRIO_DEFAULT.
 * 0 or SL_ERR__NOMEM. */
int loop_add_before_sleep(struct loop *l, loop_hook_cb *cb, void *arg);
/* The same at a given priority (lower first). */
int loop_add_before_sleep_prio(struct loop *l, int prio, loop_hook_cb *cb, void *arg);
/* Remove the hook added with this cb and arg (first match); safe inside a hook. */
void loop_del_before_sleep(struct loop *l, loop_hook_cb *cb, void *arg);

/* --- cross-thread --------------------------------------------------------- */
/* Queue task to run task->cb(l, task->arg) on the loop thread, in post
 * order, and wake the loop. Lock-free. The task must stay valid until its
 * callback starts, and must not be posted again before then (guard a shared
 * task with an atomic "pending" flag cleared in the callback). The
 * callback may free or re-post it. @thread any */
void loop_post(struct loop *l, struct loop_task *task);

#endif
