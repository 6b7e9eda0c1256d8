/* client/sluice_int.h -- libsluice internals shared by the client/ sources.
 *
 * Modules: conn.c (sockets, framing, request headers, ApiVersions),
 * client.c (handle, bootstrap, metadata cache, errors), batch.c
 * (RecordBatch v2 encode/decode, compression seam), producer.c,
 * consumer.c, group.c, admin.c, murmur2.c.
 *
 * Every protocol version libsluice sends is a non-flexible one (classic
 * encoding), chosen per API below and checked against the broker's
 * ApiVersions range.
 */
#ifndef SLUICE_INT_H
#define SLUICE_INT_H

#include <stdarg.h>
#include <stdint.h>
#include "client/sluice.h"
#include "server/proto.h"
#include "storage/buf.h"
#include "storage/err.h"
#include "storage/record.h"

/* versions we speak */
#define SLC_V_PRODUCE        7
#define SLC_V_FETCH          4
#define SLC_V_LIST_OFFSETS   1
#define SLC_V_METADATA       4
#define SLC_V_API_VERSIONS   0
#define SLC_V_CREATE_TOPICS  1
#define SLC_V_DELETE_TOPICS  1
#define SLC_V_CREATE_PARTS   0
#define SLC_V_DESCRIBE_CONFIGS 1
#define SLC_V_ALTER_CONFIGS  0
#define SLC_V_INC_ALTER_CONFIGS 0
#define SLC_V_FIND_COORD     1
#define SLC_V_JOIN_GROUP     2
#define SLC_V_SYNC_GROUP     1
#define SLC_V_HEARTBEAT      1
#define SLC_V_LEAVE_GROUP    1
#define SLC_V_OFFSET_COMMIT  2
#define SLC_V_OFFSET_FETCH   1
#define SLC_V_LIST_GROUPS    1
#define SLC_V_DESCRIBE_GROUPS 1
#define SLC_V_DELETE_GROUPS  0
#define SLC_V_INIT_PRODUCER_ID 1

int64_t slc_now_ms(void);

/* ---- connections ------------------------------------------------------- */

enum slc_kind { SLC_K_SYNC = 0, SLC_K_PRODUCE, SLC_K_FETCH, SLC_K_IGNORE, SLC_K_COMMIT };

struct slc_inflight {
    int32_t corr;
    int     kind;
    void   *ctx;
};

#define SLC_MAX_INFLIGHT 64

struct slc_conn {
    int      fd;                  /* -1 when closed */
    int32_t  next_corr;
    int      versions_known;
    int16_t  vmin[PR_API__NUM], vmax[PR_API__NUM]; /* -1: unsupported */
    struct slc_inflight q[SLC_MAX_INFLIGHT];
    int      qhead, qlen;
};

struct slc_broker {
    int32_t id;                   /* -1.. for bootstrap entries */
    char    host[256];
    int     port;
    struct slc_conn conn;
    int     fetch_inflight;       /* a Fetch is outstanding */
    int     produce_inflight;     /* Produce requests outstanding */
};

/* ---- topics / producer state ------------------------------------------ */

struct slc_msg {                  /* one queued record, for its delivery report */
    void    *opaque;
    int64_t  timestamp;
    uint32_t key_pos; int32_t key_len;     /* into batch->recs */
    uint32_t val_pos; int32_t val_len;
};

struct slc_batch {
    struct slc_batch *next;
    struct slc_topic *t;
    int32_t  partition;
    struct sl_buf recs;           /* uncompressed records section */
    int32_t  count;
    int64_t  base_ts, max_ts;
    int64_t  created_ms;
    struct slc_msg *msgs; int32_t msgs_cap;
    struct sl_buf wire;           /* finished batch (header + maybe compressed records) */
    int      attempts;
    int64_t  retry_at;
    uint64_t id;                  /* closing order: retries go back in this order */
    int64_t  pid;                 /* idempotence: stamped producer id, -1 none */
    int16_t  epoch;
    int32_t  seq;                 /* base sequence, -1 before stamping */
};

struct slc_topic {
    char    *name;
    int16_t  err;
    int32_t  nparts;
    int32_t *leaders;             /* per partition, -1 unknown */
    struct slc_batch **open;      /* producer: per-partition open batch */
    int32_t  sticky;              /* sticky partition for null keys, -1 none */
    int32_t *seq_next;            /* idempotence, per partition: next base sequence */
    int32_t *seq_acked;           /* ... and the one the broker expects next (head) */
};

/* ---- consumer state ---------------------------------------------------- */

struct slc_respbuf {              /* a fetch response, shared by chunks */
    struct sl_buf b;
    int refs;
};

struct slc_chunk {                /* one batch (decompressed) waiting to be read */
    struct slc_chunk *next;
    struct slc_cpart *cp;
    struct slc_respbuf *rb;       /* holds the bytes (refcounted) */
    uint8_t *own;                 /* or owned decompressed records */
    const uint8_t *recs; size_t recs_len;
    int32_t  count, remaining;
    int64_t  base_offset, base_ts, max_ts;
    int      ts_type;
    size_t   wire_size;           /* batch size, counted in cp->buffered */
    const uint8_t *p, *end;
};

struct slc_cpart {
    char    *topic;
    int32_t  partition;
    int64_t  pos;                 /* next offset to return, or a SLUICE_OFFSET_* spec */
    int64_t  fetch_pos;           /* next offset to fetch */
    int64_t  end;                 /* stop here (exclusive); -1 none; -2 resolve (HW) */
    int64_t  hw;
    int      done;
    int64_t  inflight_off;        /* offset of the Fetch in flight, -1 none */
    size_t   buffered;            /* bytes of chunks queued for it */
    int      err;                 /* sticky partition error to report */
};

struct slc_group;

struct sluice {
    struct sluice_conf conf;
    char    *bootstrap, *client_id, *group_id, *assignor;
    char     errmsg[512];
    struct slc_broker *brokers;   /* known brokers (by id) */
    int      nbrokers;
    struct slc_broker *boot;      /* bootstrap entries */
    int      nboot;
    struct slc_topic **topics;
    int      ntopics;
    struct slc_topic *last_topic;
    int      md_stale;
    int      destroying;
    struct sl_buf *steal;         /* dispatch: the frame a handler may keep */
    /* producer */
    struct slc_batch *ready_head, *ready_tail;
    int64_t  outq;
    int64_t  next_linger_check;
    uint32_t rnd;
    uint64_t next_batch_id;
    /* idempotence (producer id from InitProducerId) */
    int      idem;                /* on for this handle (conf + acks=all) */
    int      pid_state;           /* SLC_PID_* */
    int64_t  pid;
    int16_t  epoch;
    int64_t  pid_retry_at;
    int      pid_failures;
    /* consumer */
    struct slc_cpart *cparts;
    int      ncparts;
    struct slc_chunk *chunks_head, *chunks_tail;
    struct slc_chunk *cur;        /* chunk of the last returned record */
    struct slc_group *grp;
    /* scratch */
    struct sl_buf req, resp;
    uint8_t *scratch; size_t scratch_cap;
};

/* client.c */
int  slc_seterr(struct sluice *sl, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
struct slc_broker *slc_broker_by_id(struct sluice *sl, int32_t id);
void slc_update_broker(struct sluice *sl, int32_t id, const char *host, int32_t port);
/* any reachable broker (connects on demand) */
int  slc_any_broker(struct sluice *sl, struct slc_broker **out);
/* any reachable broker that speaks key at ver, with a sync request started
 * in sl->req (slc_req_start) */
int  slc_any_request(struct sluice *sl, int16_t key, int16_t ver, struct slc_broker **out, struct pr_writer *w,
                     int32_t *corr_out);
struct slc_topic *slc_topic_get(struct sluice *sl, const char *name);
/* refresh metadata for topic (NULL: all known topics). */
int  slc_refresh_topic(struct sluice *sl, const char *name, int auto_create, struct slc_topic **out);
int  slc_leader(struct sluice *sl, const char *topic, int32_t partition, struct slc_broker **out);
char *slc_strndup(const uint8_t *p, size_t n);

/* conn.c */
int  slc_connect(struct sluice *sl, struct slc_broker *b);
void slc_disconnect(struct sluice *sl, struct slc_broker *b, int err);
/* Start a request: header into sl->req (or buf); returns writer positioned at the body. */
void slc_req_begin(struct slc_broker *b, struct sl_buf *buf, struct pr_writer *w,
                   int16_t key, int16_t ver, const char *client_id, int32_t *corr_out);
/* Start a sync request in sl->req (reset first); writer at the body. */
void slc_req_start(struct sluice *sl, struct slc_broker *b, struct pr_writer *w, int16_t key, int16_t ver,
                   int32_t *corr_out);
/* Finish (patch the size), send it, and record it in flight. */
int  slc_req_send(struct sluice *sl, struct slc_broker *b, struct sl_buf *buf, int32_t corr,
                  int kind, void *ctx);
/* Wait for the response to corr (dispatching earlier async responses) into
 * sl->resp; *r positioned after the response header. */
int  slc_req_wait(struct sluice *sl, struct slc_broker *b, int32_t corr, struct pr_reader *r,
                  int timeout_ms);
/* Send a sync request built in sl->req and wait for its answer in sl->resp. */
int  slc_call(struct sluice *sl, struct slc_broker *b, int32_t corr, struct pr_reader *r);
int  slc_send_and_wait(struct sluice *sl, struct slc_broker *b, int32_t corr, struct pr_reader *r,
                       int timeout_ms);
/* Read and dispatch one async response if one arrives within timeout_ms.
 * Returns 1 if one was handled, 0 if none, or an error. */
int  slc_pump(struct sluice *sl, struct slc_broker *b, int timeout_ms);
/* Wait until any of the brokers with outstanding requests has data; 0 or timed out. */
int  slc_wait_any(struct sluice *sl, int timeout_ms);
/* 0 if b supports API key at version ver (connecting if needed). */
int  slc_check_version(struct sluice *sl, struct slc_broker *b, int16_t key, int16_t ver);
/* Pick the highest version <= want the broker supports, >= minv; or UNSUPPORTED. */
int  slc_pick_version(struct sluice *sl, struct slc_broker *b, int16_t key, int16_t minv,
                      int16_t want, int16_t *out);
/* Frame from wire: reads a whole response into buf. */
int  slc_read_frame(struct slc_conn *c, struct sl_buf *buf, int64_t deadline);

/* batch.c */
void slc_batch_append_record(struct sl_buf *recs, int32_t offset_delta, int64_t ts_delta,
                             const void *key, int32_t key_len, const void *val, int32_t val_len,
                             const struct sluice_header *h, int32_t nh,
                             uint32_t *key_pos, uint32_t *val_pos);
/* Build a whole RecordBatch v2 from an uncompressed records section. */
int  slc_batch_finish(struct sl_buf *out, const uint8_t *recs, size_t recs_len, int32_t count,
                      int64_t base_ts, int64_t max_ts, int codec);
/* The one compression seam: compress src with codec into out / decompress. */
int  slc_compress(int codec, const uint8_t *src, size_t len, struct sl_buf *out);
/* Set producer id, epoch and base sequence in a finished batch (at the
 * start of wire) and recompute its CRC. */
void slc_batch_stamp(uint8_t *wire, size_t len, int64_t pid, int16_t epoch, int32_t seq);
int  slc_decompress(int codec, const uint8_t *src, size_t len, struct sl_buf *out);
int  slc_codec_available(int codec);

/* producer.c */
enum { SLC_PID_NONE = 0, SLC_PID_OK, SLC_PID_RESET };
/* Kafka's sequence arithmetic: seq + count, wrapping past INT32_MAX to 0. */
int32_t slc_seq_add(int32_t seq, int32_t count);
void slc_produce_response(struct sluice *sl, struct slc_broker *b, void *ctx, struct pr_reader *r, int err);
void slc_producer_destroy(struct sluice *sl);
void slc_topic_free_batches(struct slc_topic *t);

/* consumer.c */
void slc_fetch_response(struct sluice *sl, struct slc_broker *b, void *ctx, struct pr_reader *r, int err);
void slc_consumer_destroy(struct sluice *sl);
int  slc_cpart_add(struct sluice *sl, const char *topic, int32_t partition, int64_t offset);
void slc_cparts_clear(struct sluice *sl);

/* group.c */
int  slc_group_tick(struct sluice *sl);       /* heartbeat / rejoin from consume */
void slc_group_destroy(struct sluice *sl);
void slc_commit_response(struct sluice *sl, struct pr_reader *r, int err);

#endif
