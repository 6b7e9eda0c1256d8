/* server/syncer.c -- see syncer.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "server/produce.h"
#include "server/syncer.h"
#include "storage/err.h"
#include "storage/log.h"

struct syncer {
    struct loop_ctx   *lc;
    pthread_t          thread;
    pthread_mutex_t    mu;
    pthread_cond_t     cv;
    int                efd;
    int                stopping;      /* under mu */
    int                handed;        /* a batch is with the thread (under mu) */
    int                done;          /* ... and it has finished (under mu) */
    int                inflight;      /* loop side: a batch is out */
    /* the batch: partitions to fsync (a topic reference each) and replies */
    struct partition **parts;
    struct topic     **topics;
    int                n, cap;
    struct produce_op *waiters;
};

/* fsync every partition of the batch (syncer thread, or the loop at stop). */
static void
sync_batch(struct syncer *s)
{
    for (int i = 0; i < s->n; i++) {
        int rc = plog_flush(s->parts[i]->log, INT64_MAX);
        if (rc != 0)
            SL_ERROR("broker", "%s-%d: fsync failed: %s", s->topics[i]->name,
                     s->parts[i]->index, sl_strerror(rc));
    }
}

/* Answer the batch's replies and release its partitions (loop thread). */
static void
finish_batch(struct syncer *s)
{
    struct produce_op *w = s->waiters;
    s->waiters = NULL;
    produce_complete_synced(w);
    for (int i = 0; i < s->n; i++)
        topic_put(s->topics[i]);
    s->n = 0;
    s->inflight = 0;
}

static void *
syncer_main(void *arg)
{
    struct syncer *s = arg;
    uint64_t one = 1;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->handed && !s->stopping)
            pthread_cond_wait(&s->cv, &s->mu);
        if (!s->handed)
            break;
        pthread_mutex_unlock(&s->mu);
        sync_batch(s);
        pthread_mutex_lock(&s->mu);
        s->handed = 0;
        s->done = 1;
        if (write(s->efd, &one, sizeof(one)) < 0) {
            /* the loop also checks `done` when it stops */
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Swap the loop's accumulated dirty set and waiters into the batch. */
static void
take_accumulated(struct syncer *s)
{
    struct loop_ctx *lc = s->lc;
    struct partition **p = s->parts;
    struct topic **t = s->topics;
    int cap = s->cap;

    s->parts = lc->dirty;
    s->topics = lc->dirty_topics;
    s->n = lc->ndirty;
    s->cap = lc->dirty_cap;
    s->waiters = lc->sync_waiters;
    lc->dirty = p;
    lc->dirty_topics = t;
    lc->dirty_cap = cap;
    lc->ndirty = 0;
    lc->sync_waiters = NULL;
}

void
syncer_kick(struct syncer *s)
{
    struct loop_ctx *lc = s->lc;

    if (s->inflight || (lc->ndirty == 0 && !lc->sync_waiters))
        return;
    take_accumulated(s);
    s->inflight = 1;
    pthread_mutex_lock(&s->mu);
    s->handed = 1;
    s->done = 0;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void
on_wake(struct loop *l, int fd, int events, void *arg)
{
    struct syncer *s = arg;
    uint64_t v;
    int done;

    (void)l;
    (void)events;
    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        SL_WARN("broker", "syncer eventfd: %s", strerror(errno));
    pthread_mutex_lock(&s->mu);
    done = s->done;
    s->done = 0;
    pthread_mutex_unlock(&s->mu);
    if (done && s->inflight) {
        finish_batch(s);
        syncer_kick(s);   /* what piled up meanwhile goes now */
    }
}

static void
before_sleep(struct loop *l, void *arg)
{
    (void)l;
    syncer_kick(arg);
}

/* Fallback without a thread (it could not be started): fsync and answer
 * in the loop, as a before_sleep hook. */
static void
inline_commit(struct loop *l, void *arg)
{
    struct loop_ctx *lc = arg;
    struct produce_op *w = lc->sync_waiters;
    (void)l;
    if (lc->ndirty == 0 && !w)
        return;
    lc->sync_waiters = NULL;
    for (int i = 0; i < lc->ndirty; i++)
        plog_flush(lc->dirty[i]->log, INT64_MAX);
    produce_complete_synced(w);
    for (int i = 0; i < lc->ndirty; i++)
        topic_put(lc->dirty_topics[i]);
    lc->ndirty = 0;
}

int
syncer_start(struct syncer **out, struct loop_ctx *lc)
{
    struct syncer *s = calloc(1, sizeof(*s));
    if (!s)
        return SL_ERR__NOMEM;
    s->lc = lc;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->efd < 0 || loop_add_fd(lc->l, s->efd, LOOP_READABLE, on_wake, s) != 0 ||
        loop_add_before_sleep(lc->l, before_sleep, s) != 0 ||
        pthread_create(&s->thread, NULL, syncer_main, s) != 0) {
        if (s->efd >= 0) {
            loop_del_fd(lc->l, s->efd);
            close(s->efd);
        }
        loop_del_before_sleep(lc->l, before_sleep, s);
        free(s);
        SL_ERROR("broker", "no syncer thread: acks=all fsyncs run in the loop");
        *out = NULL;
        return loop_add_before_sleep(lc->l, inline_commit, lc);
    }
    *out = s;
    return 0;
}

void
syncer_stop(struct syncer *s, struct loop_ctx *lc)
{
    if (!s) {
        inline_commit(lc->l, lc);    /* the fallback's last turn */
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    if (s->inflight)
        finish_batch(s);          /* the thread synced it before it exited */
    take_accumulated(s);          /* the rest: synchronously */
    sync_batch(s);
    finish_batch(s);
    loop_del_fd(s->lc->l, s->efd);
    loop_del_before_sleep(s->lc->l, before_sleep, s);
    close(s->efd);
    free(s->parts);
    free(s->topics);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
