/* server/broker.c -- wiring: data directory, listener, loops, group commit,
 * fetch wake-ups and housekeeping. See broker.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "server/api.h"
#include "server/broker.h"
#include "server/fetch.h"
#include "server/group.h"
#include "server/produce.h"
#include "server/syncer.h"
#include "storage/err.h"
#include "storage/log.h"

/* ---- per-loop state -------------------------------------------------------- */

void *
broker_scratch(struct loop_ctx *lc, size_t n)
{
    if (n > lc->scratch_cap) {
        size_t cap = lc->scratch_cap ? lc->scratch_cap : 4096;
        while (cap < n)
            cap *= 2;
        void *p = realloc(lc->scratch, cap);
        if (!p)
            return NULL;
        lc->scratch = p;
        lc->scratch_cap = cap;
    }
    return lc->scratch;
}

int
broker_mark_dirty(struct loop_ctx *lc, struct partition *p)
{
    for (int i = 0; i < lc->ndirty; i++)
        if (lc->dirty[i] == p)
            return 0;
    if (lc->ndirty == lc->dirty_cap) {
        int cap = lc->dirty_cap ? lc->dirty_cap * 2 : 16;
        struct partition **np = realloc(lc->dirty, sizeof(*np) * (size_t)cap);
        struct topic **nt = np ? realloc(lc->dirty_topics, sizeof(*nt) * (size_t)cap) : NULL;
        if (np)
            lc->dirty = np;
        if (!nt)
            return SL_ERR__NOMEM;
        lc->dirty_topics = nt;
        lc->dirty_cap = cap;
    }
    topic_ref(p->topic);
    lc->dirty_topics[lc->ndirty] = p->topic;
    lc->dirty[lc->ndirty++] = p;
    return 0;
}

static void
wake_task_cb(struct loop *l, void *arg)
{
    struct loop_ctx *lc = arg;
    __atomic_store_n(&lc->wake_pending, 0, __ATOMIC_RELEASE);
    fetch_recheck_parked(lc);
    (void)l;
}

void
broker_wake_fetchers(struct broker *b)
{
    __atomic_add_fetch(&b->append_seq, 1, __ATOMIC_ACQ_REL);
    for (int i = 0; i < b->nloops; i++) {
        struct loop_ctx *lc = &b->loops[i];
        if (__atomic_load_n(&lc->nparked, __ATOMIC_ACQUIRE) == 0)
            continue;
        if (__atomic_exchange_n(&lc->wake_pending, 1, __ATOMIC_ACQ_REL))
            continue;
        loop_post(lc->l, &lc->wake_task);
    }
}

static void
on_loop_start(struct loop *l, int idx, void *arg)
{
    struct broker *b = arg;
    struct loop_ctx *lc = &b->loops[idx];

    lc->b = b;
    lc->l = l;
    lc->idx = idx;
    lc->wake_task.cb = wake_task_cb;
    lc->wake_task.arg = lc;
    loop_set_data(l, lc);
    if (syncer_start(&lc->syncer, lc) != 0)
        SL_ERROR("broker", "loop %d: cannot start its group commit", idx);
}

static void
on_loop_stop(struct loop *l, int idx, void *arg)
{
    struct broker *b = arg;
    struct loop_ctx *lc = &b->loops[idx];

    syncer_stop(lc->syncer, lc);
    lc->syncer = NULL;
    fetch_abort_parked(lc);
    coord_loop_stopping(b->coord, l);
    free(lc->dirty);
    free(lc->dirty_topics);
    free(lc->scratch);
    sl_buf_free(&lc->codec_scratch);
    sl_buf_free(&lc->recompress_out);
    lc->dirty = NULL;
    lc->dirty_topics = NULL;
    lc->scratch = NULL;
}

static void
on_request(struct conn *c, uint8_t *frame, size_t len, void *arg)
{
    api_dispatch(arg, c, frame, len);
}

/* ---- topics ---------------------------------------------------------------- */

struct topic *
broker_get_or_create_topic(struct broker *b, const char *name, size_t len, int allow_create,
                           int *err)
{
    struct topic *t = topics_get(b->topics, name, len);
    char buf[TOPIC_NAME_MAX + 1], msg[256];
    int rc;

    *err = 0;
    if (t)
        return t;
    if (!topic_name_valid(name, len)) {
        *err = SL_ERR_INVALID_TOPIC_EXCEPTION;
        return NULL;
    }
    if (!allow_create || !b->conf->auto_create_topics_enable) {
        *err = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return NULL;
    }
    memcpy(buf, name, len);
    buf[len] = '\0';
    rc = topics_create(b->topics, buf, -1, -1, 0, NULL, NULL, 0, 0, &t, msg, sizeof(msg));
    if (rc == SL_ERR_TOPIC_ALREADY_EXISTS)   /* another loop won the race */
        return topics_get(b->topics, name, len);
    if (rc != 0) {
        SL_WARN("broker", "auto-create of %s failed: %s", buf, msg);
        *err = rc;
        return NULL;
    }
    return t;
}

/* ---- housekeeping thread ----------------------------------------------------- */

static void *
housekeeper_main(void *arg)
{
    struct broker *b = arg;

    pthread_mutex_lock(&b->hk_mu);
    while (!__atomic_load_n(&b->stopping, __ATOMIC_ACQUIRE)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&b->hk_cv, &b->hk_mu, &ts);
        if (__atomic_load_n(&b->stopping, __ATOMIC_ACQUIRE))
            break;
        pthread_mutex_unlock(&b->hk_mu);
        topics_housekeeping(b->topics, loop_wall_ms());
        pthread_mutex_lock(&b->hk_mu);
    }
    pthread_mutex_unlock(&b->hk_mu);
    return NULL;
}

/* ---- start / stop ------------------------------------------------------------ */

int
broker_start(struct broker **out, struct sl_conf *conf)
{
    struct broker *b = calloc(1, sizeof(*b));
    struct net_config nc;
    struct net_handler h;
    const struct sl_listener *lst;
    int rc;

    if (!b)
        return SL_ERR__NOMEM;
    b->conf = conf;
    b->node_id = conf->broker_id < 0 ? 0 : conf->broker_id;
    b->next_pid = -1;
    pthread_mutex_init(&b->hk_mu, NULL);
    pthread_cond_init(&b->hk_cv, NULL);
    if ((rc = topics_open(&b->topics, conf)) != 0) {
        SL_ERROR("broker", "cannot open data directory %s: %s", conf->data_dir, sl_strerror(rc));
        goto fail;
    }
    if ((rc = coord_start(&b->coord, b)) != 0)
        goto fail;
    lst = &conf->listeners[0];
    memset(&nc, 0, sizeof(nc));
    nc.host = lst->host[0] ? lst->host : NULL;
    nc.port = lst->port;
    nc.nloops = conf->num_network_threads;
    nc.max_connections = conf->max_connections;
    nc.max_request_bytes = (size_t)conf->socket_request_max_bytes;
    nc.idle_close_ms = conf->connections_max_idle_ms;
    nc.max_queued_bytes = conf->queued_max_request_bytes;
    nc.sndbuf = conf->socket_send_buffer_bytes > 0 ? conf->socket_send_buffer_bytes : 0;
    nc.rcvbuf = conf->socket_receive_buffer_bytes > 0 ? conf->socket_receive_buffer_bytes : 0;
    b->nloops = nc.nloops > 0 ? nc.nloops : 1;
    b->loops = calloc((size_t)b->nloops, sizeof(*b->loops));
    if (!b->loops) {
        rc = SL_ERR__NOMEM;
        goto fail;
    }
    memset(&h, 0, sizeof(h));
    h.arg = b;
    h.on_request = on_request;
    h.on_loop_start = on_loop_start;
    h.on_loop_stop = on_loop_stop;
    if ((rc = net_server_start(&b->net, &nc, &h)) != 0) {
        SL_ERROR("broker", "cannot listen on %s:%d: %s", lst->host[0] ? lst->host : "0.0.0.0",
                 lst->port, sl_strerror(rc));
        goto fail;
    }
    snprintf(b->adv_host, sizeof(b->adv_host), "%s", conf->advertised[0].host);
    b->adv_port = conf->advertised[0].port ? conf->advertised[0].port : net_server_port(b->net);
    if ((rc = pthread_create(&b->housekeeper, NULL, housekeeper_main, b)) != 0) {
        rc = SL_ERR__NOMEM;
        goto fail;
    }
    SL_INFO("broker", "node %d listening on %s:%d (advertised %s:%d), %d network thread(s)",
            b->node_id, lst->host[0] ? lst->host : "0.0.0.0", net_server_port(b->net),
            b->adv_host, b->adv_port, net_server_nloops(b->net));
    *out = b;
    return 0;
fail:
    if (b->net)
        net_server_free(b->net);
    coord_stop(b->coord);
    topics_close(b->topics);
    free(b->loops);
    free(b);
    return rc;
}

int
broker_port(const struct broker *b)
{
    return net_server_port(b->net);
}

void
broker_stop(struct broker *b, int64_t drain_ms)
{
    SL_INFO("broker", "stopping: draining requests");
    net_server_stop(b->net, drain_ms);
    pthread_mutex_lock(&b->hk_mu);
    __atomic_store_n(&b->stopping, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&b->hk_cv);
    pthread_mutex_unlock(&b->hk_mu);
    pthread_join(b->housekeeper, NULL);
    net_server_free(b->net);
    coord_stop(b->coord);
    topics_close(b->topics);
    SL_INFO("broker", "stopped cleanly");
    pthread_mutex_destroy(&b->hk_mu);
    pthread_cond_destroy(&b->hk_cv);
    free(b->loops);
    free(b);
}
