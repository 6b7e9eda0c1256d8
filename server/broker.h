/* server/broker.h -- the broker: configuration, topics, network, and the
 * per-loop state the request handlers share (group commit, fetch purgatory).
 *
 * Threads: net runs one event loop per thread; each loop has a struct
 * loop_ctx (loop_data(l)) that only its thread touches, except the
 * fetch-wake flag, which appenders on other loops set (see broker_wake_fetchers).
 *
 * Group commit (DESIGN.md, Storage/Durability): an acks=all produce
 * appends, marks its partitions dirty in its loop_ctx and parks its reply;
 * at the end of the turn the loop hands them to its syncer thread
 * (server/syncer.h), which fsyncs each dirty partition once and wakes the
 * loop to complete the parked replies. acks=0/1 never wait for an fsync.
 *
 * Fetch purgatory: a Fetch that has less than min_bytes parks on its loop
 * with a timer for max_wait_ms. Any append anywhere calls
 * broker_wake_fetchers(), which posts one wake task to every loop that has
 * parked fetches (at most one pending per loop); the loop re-reads its
 * parked fetches and answers those that now have enough.
 */
#ifndef SL_BROKER_H
#define SL_BROKER_H

#include <pthread.h>
#include <stdint.h>
#include "server/conf.h"
#include "server/loop.h"
#include "server/net.h"
#include "server/topic.h"
#include "storage/buf.h"

struct broker;
struct coord;
struct fetch_op;
struct produce_op;
struct syncer;

struct loop_ctx {
    struct broker     *b;
    struct loop       *l;
    int                idx;
    /* group commit */
    struct partition **dirty;        /* partitions appended with acks=all this turn */
    struct topic     **dirty_topics; /* a reference for each */
    int                ndirty, dirty_cap;
    struct produce_op *sync_waiters; /* replies waiting for the fsync */
    struct syncer     *syncer;       /* fsyncs off the loop (server/syncer.h) */
    /* fetch purgatory */
    struct fetch_op   *parked;       /* doubly linked */
    int                nparked;
    struct loop_task   wake_task;
    int                wake_pending; /* atomic */
    /* reusable buffers (per loop, so the hot path does not allocate) */
    struct sl_buf      codec_scratch;  /* decompressed records while validating */
    struct sl_buf      recompress_out; /* batches re-encoded for compression.type */
    void              *scratch;
    size_t             scratch_cap;
};

struct broker {
    struct sl_conf    *conf;
    struct topics     *topics;
    struct coord      *coord;        /* group coordinator */
    struct net_server *net;
    struct loop_ctx   *loops;
    int                nloops;
    int32_t            node_id;
    char               adv_host[SL_CONF_HOST_MAX];
    int                adv_port;
    pthread_t          housekeeper;
    int                stopping;     /* atomic */
    uint64_t           append_seq;   /* atomic: bumped by every append */
    int64_t            next_pid;     /* producer ids (api_init_producer_id.c) */
    int64_t            pid_block_end;
    pthread_mutex_t    hk_mu;
    pthread_cond_t     hk_cv;
};

/* Start a broker with conf (kept by pointer; must outlive it): open the
 * data directory, bind the listener, start the loops and housekeeping. */
int broker_start(struct broker **out, struct sl_conf *conf);
/* SIGTERM path: stop accepting, drain in-flight requests (up to drain_ms),
 * flush and close every log cleanly, free. */
void broker_stop(struct broker *b, int64_t drain_ms);
int broker_port(const struct broker *b);

/* Wake parked fetches on every loop (an append happened). @thread any */
void broker_wake_fetchers(struct broker *b);
/* Mark p dirty for this turn's group commit (takes a topic reference). */
int broker_mark_dirty(struct loop_ctx *lc, struct partition *p);
/* Scratch memory of at least n bytes, valid until the next call on this loop. */
void *broker_scratch(struct loop_ctx *lc, size_t n);

/* Look up a topic, creating it when auto.create.topics.enable allows. */
struct topic *broker_get_or_create_topic(struct broker *b, const char *name, size_t len,
                                         int allow_create, int *err);

#endif
