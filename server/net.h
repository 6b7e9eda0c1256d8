/* server/net.h -- the broker's network layer: listening socket, event-loop
 * threads, Kafka framing (4-byte big-endian size prefix) and ordered,
 * zero-copy responses. Protocol-agnostic above the frame.
 *
 * Threads: net_server_start starts nloops threads, each running one
 * struct loop (server/loop.h). Loop 0 also accepts and hands connections
 * out round-robin. A connection lives on one loop for its whole life: its
 * handler callbacks run there, and every conn_* / resp_* call for it must
 * be made on that loop's thread (conn_loop(c)). To act on a connection from
 * another thread, loop_post() a task to conn_loop(c).
 *
 * Requests and responses:
 *  - on_request(c, frame, len) gets one whole frame, without the size
 *    prefix. The bytes are writable (patch them in place) and valid only
 *    until on_request returns.
 *  - A request that is answered calls conn_resp_begin(c) exactly once,
 *    inside on_request; that reserves the next slot in the connection's
 *    response order. A request that gets no answer (Produce acks=0)
 *    reserves nothing.
 *  - The handler writes the response header and body (not the size prefix)
 *    with resp_buf(r) and resp_add_file(), then calls resp_complete(r),
 *    at once or later (from a timer, a before_sleep hook, a posted task),
 *    on the same loop thread. Responses go out in slot order, whatever
 *    order they complete in.
 *  - Output is written from a before_sleep hook at LOOP_PRIO_FLUSH (after
 *    hooks at default priority, so replies completed by a group-commit hook
 *    leave in the same turn) and on writability: writev for memory,
 *    sendfile(2) for file ranges, at most NET_WRITE_BUDGET bytes per
 *    connection per turn.
 *
 * Connection lifetime: the socket closes on EOF, a socket error, a bad
 * frame size, idleness, conn_close() or server stop; on_close runs then
 * (once). The struct conn stays allocated until every reserved response has
 * been completed; completing a response of a closed connection just frees
 * it. So the handler never needs to know whether the peer went away.
 *
 * Backpressure: while a connection's completed-but-unsent output exceeds
 * max_conn_out_bytes (or NET_MAX_INFLIGHT responses are reserved and not
 * completed), net stops reading and dispatching its requests; it resumes at
 * half the limit. If such a connection makes no write progress for
 * idle_close_ms, it is closed.
 */
#ifndef SL_NET_H
#define SL_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "server/loop.h"
#include "storage/buf.h"

struct net_server;
struct conn;
struct resp;

#define NET_WRITE_BUDGET   (1u << 20)  /* bytes per connection per turn */
#define NET_MAX_INFLIGHT   1024        /* reserved, uncompleted responses per connection */
#define NET_MIN_FRAME      8           /* api_key + api_version + correlation_id */

/* Every field: 0 means "the default" shown. */
struct net_config {
    const char *host;              /* bind address; NULL or "" = 0.0.0.0 */
    int         port;              /* 0 = ephemeral (see net_server_port) */
    int         nloops;            /* event-loop threads; default: online CPUs */
    int         max_connections;   /* default: unlimited; extra ones are accepted and closed */
    size_t      max_request_bytes; /* socket.request.max.bytes; default 104857600 */
    size_t      max_conn_out_bytes;/* queued unsent output before reading pauses; default 16 MiB */
    int64_t     idle_close_ms;     /* connections.max.idle.ms; default 600000; < 0: never */
    int         sndbuf;            /* socket.send.buffer.bytes; default (0): OS default */
    int         rcvbuf;            /* socket.receive.buffer.bytes; default (0): OS default */
    int         backlog;           /* listen(2) backlog; default 1024 */
    int64_t     max_queued_bytes;  /* queued.max.request.bytes: request buffers of all
                                    * connections together; reading pauses above it;
                                    * default (<= 0): unlimited */
};

struct net_handler {
    void *arg;
    /* One whole request frame (see above). @thread the connection's loop */
    void (*on_request)(struct conn *c, uint8_t *frame, size_t len, void *arg);
    /* Optional: the connection's socket has closed (any reason). Runs once,
     * on its loop; conn_user(c) is still readable. Responses reserved
     * earlier may (and must, eventually) still be completed. */
    void (*on_close)(struct conn *c, void *arg);
    /* Optional: run on each loop's thread before it serves anything (set up
     * per-loop state: loop_set_data, before_sleep hooks, timers) ... */
    void (*on_loop_start)(struct loop *l, int idx, void *arg);
    /* ... and after it stopped and closed its connections, before the
     * thread exits: the place to complete parked responses and cancel
     * timers. */
    void (*on_loop_stop)(struct loop *l, int idx, void *arg);
};

struct net_stats {
    int64_t  connections;   /* open sockets now */
    uint64_t accepted;      /* connections accepted and served, ever */
    uint64_t rejected;      /* closed at accept because of max_connections */
    uint64_t requests;      /* frames dispatched to on_request */
    uint64_t out_bytes;     /* completed response bytes not yet sent, all connections */
    uint64_t paused;        /* times a connection stopped reading for backpressure */
    uint64_t zombies;       /* closed connections kept until their reserved
                               responses complete */
};

/* --- server ------------------------------------------------------------- */
/* Bind, listen, start the loop threads. cfg and h are copied (cfg->host
 * too). Ignores SIGPIPE for the process. 0, SL_ERR__INVALID_ARG,
 * SL_ERR__IO (bind/listen failed; logged) or SL_ERR__NOMEM.
 * @returns owned in *out: net_server_stop, then net_server_free. */
int net_server_start(struct net_server **out, const struct net_config *cfg,
                     const struct net_handler *h);
/* The bound TCP port (the real one when cfg->port was 0). @thread any */
int net_server_port(const struct net_server *s);
/* Number of loops, and loop i (0 <= i < n). @thread any */
int net_server_nloops(const struct net_server *s);
struct loop *net_server_loop(const struct net_server *s, int i);
/* Stop accepting; stop reading requests; let responses already reserved
 * complete and queued output drain, for at most drain_ms; then close every
 * connection (on_close), run on_loop_stop and join the threads. Must not be
 * called from a loop thread. Idempotent. */
void net_server_stop(struct net_server *s, int64_t drain_ms);
/* Stop (drain 0) if still running, then free everything, including
 * connections whose reserved responses were never completed: resp pointers
 * the handler still holds are invalid afterwards. NULL is fine. */
void net_server_free(struct net_server *s);
/* Open connections now. @thread any */
int64_t net_server_connection_count(const struct net_server *s);
/* Counters (relaxed reads; exact once the server is quiet). @thread any */
void net_server_stats(const struct net_server *s, struct net_stats *out);

/* --- connections (all: @thread the connection's loop) --------------------- */
struct loop *conn_loop(const struct conn *c);
/* Unique for the life of the process, never 0. @thread any */
uint64_t conn_id(const struct conn *c);
/* "ip:port" of the peer ("[v6]:port" for IPv6). @returns borrowed, valid
 * as long as c. */
const char *conn_peer(const struct conn *c);
void  conn_set_user(struct conn *c, void *user);
void *conn_user(const struct conn *c);
/* Non-zero once the socket has closed. */
int conn_is_closed(const struct conn *c);
/* Close now, sending nothing more (protocol error). Queued output is
 * dropped; on_close runs (not re-entrantly if called from on_close).
 * Safe to call inside on_request: no further frames are dispatched. */
void conn_close(struct conn *c);
/* Stop reading and dispatching; close once every reply reserved so far has
 * been completed and sent (a protocol error after pipelined requests: their
 * replies still go out, nothing after the bad frame is read). */
void conn_close_after_replies(struct conn *c);
/* Completed response bytes not yet sent (file ranges included). */
size_t conn_out_bytes(const struct conn *c);

/* --- responses (all: @thread the connection's loop) ----------------------- */
/* Reserve the next response slot of c. Call at most once per request, from
 * on_request. Works on a closed connection too (the response is discarded
 * on completion). NULL only when out of memory: then conn_close(c).
 * @returns borrowed: valid until resp_complete(r). */
struct resp *conn_resp_begin(struct conn *c);
/* The connection of r. */
struct conn *resp_conn(const struct resp *r);
/* Where the handler appends the response (header + body, no size prefix).
 * Starts empty; append/patch freely (sl_buf_put_*, sl_buf_patch_i32), but
 * do not sl_buf_free it. An allocation failure (b->oom) is noticed at
 * resp_complete and closes the connection. @returns borrowed, valid until
 * resp_complete(r). */
struct sl_buf *resp_buf(struct resp *r);
/* Append len bytes of fd from pos, sent with sendfile(2) after the bytes
 * appended to resp_buf so far and before the ones appended later. fd must
 * stay open and the range readable until release(arg) is called: exactly
 * once, on the loop thread, after the range was sent or when it will never
 * be (connection closed, server freed). release may be NULL.
 * 0 or SL_ERR__NOMEM (then release is not called: the caller still owns
 * the pin). If the file turns out shorter than pos + len when sent, the
 * connection is closed (a short response would desynchronise the client). */
int resp_add_file(struct resp *r, int fd, off_t pos, size_t len,
                  void (*release)(void *arg), void *arg);
/* Bytes in the response so far (memory + file ranges, without the prefix). */
size_t resp_len(const struct resp *r);
/* Give up a reserved response: nothing is sent for it (the request turned
 * out malformed and the connection is closing). r is invalid afterwards. */
void resp_discard(struct resp *r);
/* The response is complete: queue it (it is sent when every earlier slot of
 * its connection has been). r is invalid afterwards. On a closed
 * connection this frees r (and releases its file ranges). */
void resp_complete(struct resp *r);

#endif
