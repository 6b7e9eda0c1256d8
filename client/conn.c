/* client/conn.c -- one TCP connection per broker: connect with a deadline,
 * framing (int32 size + body), request headers (v1: classic client id),
 * in-order response matching, ApiVersions negotiation.
 *
 * Sockets are blocking-mode-free: non-blocking fds driven by poll() with a
 * deadline, so no call blocks longer than the configured timeouts. Kafka
 * answers requests in order per connection, so in-flight requests are a
 * FIFO; responses to async requests (Produce, Fetch) are dispatched to
 * their handler whenever they are read, including while a sync request
 * waits behind them.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "client/sluice_int.h"

int64_t
slc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - slc_now_ms();
        struct pollfd p = { .fd = fd, .events = ev };
        int n;
        if (left < 0)
            left = 0;
        n = poll(&p, 1, (int)left);
        if (n > 0)
            return 0;
        if (n == 0)
            return SLUICE_ERR_TIMED_OUT;
        if (errno != EINTR)
            return SLUICE_ERR_IO;
    }
}

static int
api_versions(struct sluice *sl, struct slc_broker *b)
{
    struct pr_writer w;
    struct pr_reader r;
    int32_t corr, n, i;
    int16_t ec;
    int rc;

    slc_req_start(sl, b, &w, PR_API_API_VERSIONS, SLC_V_API_VERSIONS, &corr);
    if ((rc = slc_call(sl, b, corr, &r)) != 0)
        return rc;
    ec = pr_read_i16(&r);
    if (ec != 0)
        return slc_seterr(sl, ec, "%s:%d: ApiVersions failed: %s", b->host, b->port, sluice_strerror(ec));
    for (i = 0; i < PR_API__NUM; i++)
        b->conn.vmin[i] = b->conn.vmax[i] = -1;
    pr_read_array_len(&r, &n, 10000);
    for (i = 0; i < n && !r.err; i++) {
        int16_t k = pr_read_i16(&r), mn = pr_read_i16(&r), mx = pr_read_i16(&r);
        if (k >= 0 && k < PR_API__NUM) {
            b->conn.vmin[k] = mn;
            b->conn.vmax[k] = mx;
        }
    }
    if (r.err)
        return slc_seterr(sl, SLUICE_ERR_CORRUPT, "%s:%d: bad ApiVersions response", b->host, b->port);
    b->conn.versions_known = 1;
    return 0;
}

int
slc_connect(struct sluice *sl, struct slc_broker *b)
{
    struct addrinfo hints, *res = NULL, *ai;
    char port[16];
    int fd = -1, rc, one = 1;
    int64_t deadline = slc_now_ms() + sl->conf.connect_timeout_ms;

    if (b->conn.fd >= 0)
        return 0;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", b->port);
    rc = getaddrinfo(b->host, port, &hints, &res);
    if (rc != 0)
        return slc_seterr(sl, SLUICE_ERR_IO, "broker %s:%d: cannot resolve host: %s", b->host, b->port,
                          gai_strerror(rc));
    rc = SLUICE_ERR_IO;
    for (ai = res; ai; ai = ai->ai_next) {
        int soerr = 0;
        socklen_t sl_len = sizeof(soerr);
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl_len) == 0 && soerr == 0)
            break;
        if (soerr)
            errno = soerr;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return slc_seterr(sl, rc, "broker %s:%d unreachable: %s", b->host, b->port,
                          errno ? strerror(errno) : "connect timed out");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    b->conn.fd = fd;
    b->conn.qhead = b->conn.qlen = 0;
    b->conn.versions_known = 0;
    b->fetch_inflight = b->produce_inflight = 0;
    if ((rc = api_versions(sl, b)) != 0) {
        slc_disconnect(sl, b, rc);
        return rc;
    }
    return 0;
}

/* Close the socket; every async request in flight fails with err. */
void
slc_disconnect(struct sluice *sl, struct slc_broker *b, int err)
{
    struct slc_conn *c = &b->conn;

    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    while (c->qlen > 0) {
        struct slc_inflight f = c->q[c->qhead];
        c->qhead = (c->qhead + 1) % SLC_MAX_INFLIGHT;
        c->qlen--;
        if (f.kind == SLC_K_PRODUCE)
            slc_produce_response(sl, b, f.ctx, NULL, err ? err : SLUICE_ERR_IO);
        else if (f.kind == SLC_K_FETCH)
            slc_fetch_response(sl, b, f.ctx, NULL, err ? err : SLUICE_ERR_IO);
        else if (f.kind == SLC_K_COMMIT)
            slc_commit_response(sl, NULL, err ? err : SLUICE_ERR_IO);
    }
    b->fetch_inflight = b->produce_inflight = 0;
    sl->md_stale = 1;
}

void
slc_req_begin(struct slc_broker *b, struct sl_buf *buf, struct pr_writer *w,
              int16_t key, int16_t ver, const char *client_id, int32_t *corr_out)
{
    int32_t corr = ++b->conn.next_corr;

    if (corr <= 0)
        corr = b->conn.next_corr = 1;
    pr_writer_init(w, buf, 0);
    pr_write_i32(w, 0);                 /* size, patched */
    pr_write_i16(w, key);
    pr_write_i16(w, ver);
    pr_write_i32(w, corr);
    pr_write_string16(w, client_id, strlen(client_id), 0);
    *corr_out = corr;
}

void
slc_req_start(struct sluice *sl, struct slc_broker *b, struct pr_writer *w, int16_t key, int16_t ver,
              int32_t *corr_out)
{
    sl_buf_reset(&sl->req);
    slc_req_begin(b, &sl->req, w, key, ver, sl->client_id, corr_out);
}

/* After a send/recv that moved nothing (n <= 0): 0 to try again (EINTR, or
 * the socket became ready for ev), else the error. */
static int
io_retry(struct slc_conn *c, ssize_t n, short ev, int64_t deadline)
{
    if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK))
        return SLUICE_ERR_IO;
    if (errno == EINTR)
        return 0;
    return wait_fd(c->fd, ev, deadline);
}

static int
write_all(struct slc_conn *c, const uint8_t *p, size_t len, int64_t deadline)
{
    int rc;

    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if ((rc = io_retry(c, n, POLLOUT, deadline)) != 0)
            return rc;
    }
    return 0;
}

int
slc_req_send(struct sluice *sl, struct slc_broker *b, struct sl_buf *buf, int32_t corr,
             int kind, void *ctx)
{
    struct slc_conn *c = &b->conn;
    int rc;

    if (buf->oom)
        return slc_seterr(sl, SLUICE_ERR_NOMEM, "out of memory building a request");
    if (c->fd < 0 && (rc = slc_connect(sl, b)) != 0)
        return rc;
    if (kind == SLC_K_IGNORE)
        goto send;
    if (c->qlen >= SLC_MAX_INFLIGHT)
        return slc_seterr(sl, SLUICE_ERR_INVALID_ARG, "too many requests in flight");
send:
    sl_buf_patch_i32(buf, 0, (int32_t)(buf->len - 4));
    rc = write_all(c, buf->data, buf->len, slc_now_ms() + sl->conf.request_timeout_ms);
    if (rc) {
        slc_seterr(sl, rc, "broker %s:%d: send failed: %s", b->host, b->port,
                   rc == SLUICE_ERR_TIMED_OUT ? "timed out" : strerror(errno));
        slc_disconnect(sl, b, rc);
        return rc;
    }
    if (kind == SLC_K_IGNORE)
        return 0;                       /* acks=0: no response will come */
    c->q[(c->qhead + c->qlen) % SLC_MAX_INFLIGHT] = (struct slc_inflight){ corr, kind, ctx };
    c->qlen++;
    return 0;
}

static int
read_full(struct slc_conn *c, uint8_t *p, size_t len, int64_t deadline)
{
    int rc;

    while (len > 0) {
        ssize_t n = recv(c->fd, p, len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if ((rc = io_retry(c, n, POLLIN, deadline)) != 0)
            return rc;
    }
    return 0;
}

int
slc_read_frame(struct slc_conn *c, struct sl_buf *buf, int64_t deadline)
{
    uint8_t hdr[4];
    int32_t size;
    int rc;

    if ((rc = read_full(c, hdr, 4, deadline)) != 0)
        return rc;
    size = (int32_t)((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3]);
    if (size < 4 || size > 512 * 1024 * 1024)
        return SLUICE_ERR_CORRUPT;
    sl_buf_reset(buf);
    if (!sl_buf_extend(buf, (size_t)size))
        return SLUICE_ERR_NOMEM;
    return read_full(c, buf->data, (size_t)size, deadline);
}

/* Read one response and pop its in-flight entry. */
static int
read_one(struct sluice *sl, struct slc_broker *b, struct sl_buf *buf, struct slc_inflight *f,
         int64_t deadline)
{
    struct slc_conn *c = &b->conn;
    int rc;
    int32_t corr;

    if (c->qlen == 0)
        return SLUICE_ERR_INVALID_ARG;
    rc = slc_read_frame(c, buf, deadline);
    if (rc) {
        slc_seterr(sl, rc, "broker %s:%d: %s", b->host, b->port,
                   rc == SLUICE_ERR_TIMED_OUT ? "request timed out" : "connection lost");
        slc_disconnect(sl, b, rc);
        return rc;
    }
    *f = c->q[c->qhead];
    c->qhead = (c->qhead + 1) % SLC_MAX_INFLIGHT;
    c->qlen--;
    corr = rec_get_i32(buf->data);
    if (corr != f->corr) {
        slc_seterr(sl, SLUICE_ERR_CORRUPT, "broker %s:%d: response out of order (%d, expected %d)",
                   b->host, b->port, corr, f->corr);
        /* put it back so disconnect fails it properly */
        c->qhead = (c->qhead + SLC_MAX_INFLIGHT - 1) % SLC_MAX_INFLIGHT;
        c->qlen++;
        slc_disconnect(sl, b, SLUICE_ERR_CORRUPT);
        return SLUICE_ERR_CORRUPT;
    }
    return 0;
}

static void
dispatch(struct sluice *sl, struct slc_broker *b, struct slc_inflight *f, struct sl_buf *buf)
{
    struct pr_reader r;

    pr_reader_init(&r, buf->data, buf->len, 0);
    pr_skip(&r, 4);
    sl->steal = buf;
    if (f->kind == SLC_K_PRODUCE)
        slc_produce_response(sl, b, f->ctx, &r, 0);
    else if (f->kind == SLC_K_FETCH)
        slc_fetch_response(sl, b, f->ctx, &r, 0);
    else if (f->kind == SLC_K_COMMIT)
        slc_commit_response(sl, &r, 0);
}

int
slc_req_wait(struct sluice *sl, struct slc_broker *b, int32_t corr, struct pr_reader *r, int timeout_ms)
{
    int64_t deadline = slc_now_ms() + timeout_ms;
    struct sl_buf tmp = SL_BUF_INIT;

    for (;;) {
        struct slc_inflight f;
        int rc;
        if (b->conn.fd < 0 || b->conn.qlen == 0) {
            sl_buf_free(&tmp);
            return sl->errmsg[0] ? SLUICE_ERR_IO : slc_seterr(sl, SLUICE_ERR_IO, "connection lost");
        }
        if (b->conn.q[b->conn.qhead].corr == corr) {
            rc = read_one(sl, b, &sl->resp, &f, deadline);
            sl_buf_free(&tmp);
            if (rc)
                return rc;
            pr_reader_init(r, sl->resp.data, sl->resp.len, 0);
            pr_skip(r, 4);
            return 0;
        }
        rc = read_one(sl, b, &tmp, &f, deadline);
        if (rc) {
            sl_buf_free(&tmp);
            return rc;
        }
        dispatch(sl, b, &f, &tmp);
    }
}

int
slc_call(struct sluice *sl, struct slc_broker *b, int32_t corr, struct pr_reader *r)
{
    int rc = slc_req_send(sl, b, &sl->req, corr, SLC_K_SYNC, NULL);
    if (rc)
        return rc;
    return slc_req_wait(sl, b, corr, r, sl->conf.request_timeout_ms + 5000);
}

int
slc_send_and_wait(struct sluice *sl, struct slc_broker *b, int32_t corr, struct pr_reader *r, int timeout_ms)
{
    int rc = slc_req_send(sl, b, &sl->req, corr, SLC_K_SYNC, NULL);
    if (rc)
        return rc;
    return slc_req_wait(sl, b, corr, r, timeout_ms);
}

int
slc_pump(struct sluice *sl, struct slc_broker *b, int timeout_ms)
{
    struct slc_inflight f;
    struct sl_buf buf = SL_BUF_INIT;
    int rc;

    if (b->conn.fd < 0 || b->conn.qlen == 0)
        return 0;
    if (b->conn.q[b->conn.qhead].kind == SLC_K_SYNC)
        return 0;
    if (wait_fd(b->conn.fd, POLLIN, slc_now_ms() + timeout_ms) != 0)
        return 0;
    /* data is there: the frame should follow promptly */
    rc = read_one(sl, b, &buf, &f, slc_now_ms() + sl->conf.request_timeout_ms);
    if (rc == 0)
        dispatch(sl, b, &f, &buf);
    sl_buf_free(&buf);
    return rc ? rc : 1;
}

int
slc_wait_any(struct sluice *sl, int timeout_ms)
{
    struct pollfd pf[256];
    int n = 0, i, rc;

    for (i = 0; i < sl->nbrokers && n < 256; i++) {
        struct slc_broker *b = &sl->brokers[i];
        if (b->conn.fd >= 0 && b->conn.qlen > 0) {
            pf[n].fd = b->conn.fd;
            pf[n].events = POLLIN;
            pf[n].revents = 0;
            n++;
        }
    }
    if (n == 0)
        return SLUICE_ERR_TIMED_OUT;
    do
        rc = poll(pf, (nfds_t)n, timeout_ms < 0 ? 0 : timeout_ms);
    while (rc < 0 && errno == EINTR);
    return rc > 0 ? 0 : SLUICE_ERR_TIMED_OUT;
}

int
slc_check_version(struct sluice *sl, struct slc_broker *b, int16_t key, int16_t ver)
{
    int16_t v;
    return slc_pick_version(sl, b, key, ver, ver, &v);
}

int
slc_pick_version(struct sluice *sl, struct slc_broker *b, int16_t key, int16_t minv, int16_t want,
                 int16_t *out)
{
    int rc;

    if (b->conn.fd < 0 && (rc = slc_connect(sl, b)) != 0)
        return rc;
    if (b->conn.vmax[key] < 0 || b->conn.vmax[key] < minv || b->conn.vmin[key] > want)
        return slc_seterr(sl, SLUICE_ERR_UNSUPPORTED, "broker %s:%d does not support %s v%d-%d",
                          b->host, b->port, pr_api_name(key), minv, want);
    *out = b->conn.vmax[key] < want ? b->conn.vmax[key] : want;
    return 0;
}
