/* client/sluice.h -- libsluice, Sluice's own Kafka client: the one public header.
 *
 * A small, synchronous C client speaking the Kafka protocol (so it works
 * against Apache Kafka as well as sluiced). One object, struct sluice, is a
 * producer, a consumer and an admin client at once:
 *
 *   struct sluice_conf conf;
 *   struct sluice *sl;
 *   sluice_conf_init(&conf);
 *   conf.bootstrap = "localhost:9092";
 *   if (sluice_new(&sl, &conf) != 0) ...
 *   sluice_produce(sl, &msg);               // queued in a per-partition batch
 *   sluice_flush(sl, 10000);                // send, wait for acks, run callbacks
 *   sluice_assign(sl, "t", 0, SLUICE_OFFSET_BEGINNING);
 *   while (sluice_consume(sl, &rec, 1000) == 0) ...
 *   sluice_destroy(sl);
 *
 * Errors: every function returns int, 0 on success or an error code. Codes
 * >= -1 are Kafka wire error codes (3 UNKNOWN_TOPIC_OR_PARTITION, 6
 * NOT_LEADER_OR_FOLLOWER, 36 TOPIC_ALREADY_EXISTS, ...); codes between -200
 * and -100 are client-side ones (SLUICE_ERR_*). sluice_strerror() names any
 * code; sluice_errmsg() gives the detail of the last failure on a handle
 * (broker address, topic name, the broker's error message).
 *
 * Threads: there is no global state. A struct sluice is NOT thread-safe:
 * use it from one thread at a time (or one handle per thread). Callbacks run
 * inside sluice_poll/sluice_flush/sluice_produce on the calling thread.
 *
 * I/O model: blocking sockets with deadlines and pipelining (several produce
 * requests in flight per broker, the next fetch sent as soon as the previous
 * one answers). Nothing happens in the background: linger.ms is honoured by
 * sluice_poll(), sluice_produce() and sluice_flush().
 */
#ifndef SLUICE_H
#define SLUICE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */

enum {
    SLUICE_ERR_IO = -199,        /* socket error (broker unreachable, reset) */
    SLUICE_ERR_CORRUPT = -197,   /* malformed response / batch (CRC) */
    SLUICE_ERR_NOMEM = -196,
    SLUICE_ERR_UNDERFLOW = -195,
    SLUICE_ERR_INVALID_ARG = -194,
    SLUICE_ERR_NOENT = -191,     /* no such thing (no record, no group member) */
    SLUICE_ERR_TIMED_OUT = -150, /* a client-side deadline passed */
    SLUICE_ERR_NO_BROKERS = -149,/* none of the bootstrap brokers answered */
    SLUICE_ERR_UNSUPPORTED = -148,/* the broker lacks an API/version we need */
    SLUICE_ERR_EOF = -147,       /* consume: end of every assigned partition (exit_at_end) */
    SLUICE_ERR_CODEC = -146,     /* compression / decompression failed */
};

const char *sluice_strerror(int err);

/* ---- configuration ----------------------------------------------------- */

enum sluice_compression {
    SLUICE_COMPRESSION_NONE = 0, SLUICE_COMPRESSION_GZIP = 1, SLUICE_COMPRESSION_SNAPPY = 2,
    SLUICE_COMPRESSION_LZ4 = 3, SLUICE_COMPRESSION_ZSTD = 4,
};

struct sluice_record;
/* Delivery report: err 0 and rec->offset set, or the error that ended the
 * record's retries. rec is valid only during the call. */
typedef void (*sluice_delivery_cb)(void *opaque, const struct sluice_record *rec, int err);

struct sluice_conf {
    const char *bootstrap;        /* "host:port[,host:port...]" (copied) */
    const char *client_id;        /* default "sluice" */
    int   linger_ms;              /* default 5 */
    int   batch_size;             /* bytes per partition batch, default 16384 */
    int   acks;                   /* 0, 1 or -1 (all); default -1 */
    int   compression;            /* enum sluice_compression; default NONE */
    int   retries;                /* default 5 */
    int   retry_backoff_ms;       /* default 100 */
    int   request_timeout_ms;     /* default 30000 */
    int   connect_timeout_ms;     /* default 5000 */
    int   max_in_flight;          /* produce requests per broker, default 5 */
    int   enable_idempotence;     /* default 1: see "Idempotence" below */
    int   fetch_max_wait_ms;      /* default 500 */
    int   fetch_max_bytes;        /* per request, default 50 MB */
    int   fetch_partition_max_bytes; /* default 1 MB */
    int   allow_auto_create;      /* Metadata may auto-create topics; default 1 */
    sluice_delivery_cb delivery_cb;
    void *opaque;                 /* passed to callbacks */
    /* consumer groups */
    const char *group_id;         /* needed by sluice_subscribe / commit */
    const char *assignor;         /* "range" (default) or "roundrobin" */
    int   session_timeout_ms;     /* default 10000 */
    int   rebalance_timeout_ms;   /* default 30000 */
    int   heartbeat_interval_ms;  /* default 3000 */
    int   auto_offset_reset;      /* SLUICE_OFFSET_BEGINNING or _END (default) */
};

void sluice_conf_init(struct sluice_conf *conf);

/* ---- handle ------------------------------------------------------------- */

struct sluice;

/* Connects to a bootstrap broker and fetches metadata. On failure *out is
 * still set (so sluice_errmsg works) and must be destroyed. */
int  sluice_new(struct sluice **out, const struct sluice_conf *conf);
/* Leaves the group if any, closes every connection. Does not flush. */
void sluice_destroy(struct sluice *sl);
/* Detail of the last error on this handle ("" if none). */
const char *sluice_errmsg(const struct sluice *sl);

/* ---- records ------------------------------------------------------------ */

struct sluice_header {
    const char *key;              /* NUL-terminated */
    const void *value;            /* NULL = null value */
    int32_t     value_len;
};

struct sluice_record {
    const char *topic;
    int32_t     partition;        /* produce: -1 = use the partitioner */
    int64_t     offset;           /* consume / delivery report */
    int64_t     timestamp;        /* ms since epoch; produce: 0 = now */
    int         timestamp_type;   /* 0 create time, 1 log append time */
    const void *key;              /* NULL = null key */
    int32_t     key_len;
    const void *value;            /* NULL = null value */
    int32_t     value_len;
    const struct sluice_header *headers;
    int32_t     header_count;
    void       *msg_opaque;       /* produce: handed back in the delivery report */
};

/* ---- metadata ----------------------------------------------------------- */

struct sluice_partition_md {
    int32_t id;
    int16_t err;
    int32_t leader;
    int32_t replica_count, isr_count;
    int32_t replicas[16], isr[16];  /* first 16 only */
};
struct sluice_topic_md {
    char   *name;
    int16_t err;
    int     is_internal;
    int32_t partition_count;
    struct sluice_partition_md *partitions;
};
struct sluice_broker_md { int32_t id; char *host; int32_t port; };
struct sluice_metadata {
    int32_t controller_id;
    char   *cluster_id;
    int     broker_count;
    struct sluice_broker_md *brokers;
    int     topic_count;
    struct sluice_topic_md *topics;
};

/* topics NULL/0 = all topics. Never auto-creates. Caller frees with
 * sluice_metadata_free. A missing topic is reported per topic (err 3). */
int  sluice_metadata(struct sluice *sl, const char *const *topics, int ntopics,
                     struct sluice_metadata **out);
void sluice_metadata_free(struct sluice_metadata *md);
/* Number of partitions of topic (refreshing metadata if unknown). 0 or error
 * (UNKNOWN_TOPIC_OR_PARTITION). auto_create: let Metadata create it. */
int  sluice_partition_count(struct sluice *sl, const char *topic, int auto_create, int32_t *out);

/* ---- producer ----------------------------------------------------------- */

/* Queue one record. Key, value and headers are copied. partition -1 picks
 * one: murmur2(key) for keyed records (as Kafka's Java client), the sticky
 * partition for null keys. Sends full/lingered batches on the way, and may
 * block while max_in_flight requests are outstanding. */
int  sluice_produce(struct sluice *sl, const struct sluice_record *rec);
/* Send what is due, read responses, run delivery callbacks; waits at most
 * timeout_ms for something to happen. Returns the number of reports run. */
int  sluice_poll(struct sluice *sl, int timeout_ms);
/* Send everything now and wait until every record is acknowledged or has
 * failed (callbacks run). SLUICE_ERR_TIMED_OUT if records remain. */
int  sluice_flush(struct sluice *sl, int timeout_ms);
/* Records queued or in flight. */
int64_t sluice_outq_len(const struct sluice *sl);

/* Idempotence: with conf.enable_idempotence (the default) and acks=all
 * (the default; acks 0 or 1 turn it off, as in the Java client), when the
 * broker's ApiVersions lists InitProducerId, the producer gets a producer
 * id and epoch before its first send and stamps every batch with them and
 * a per-partition base sequence (advancing by the record count, wrapping
 * past INT32_MAX to 0). max_in_flight is capped at 5. A retry resends the
 * same bytes, so the broker drops a batch it already has
 * (DUPLICATE_SEQUENCE_NUMBER is reported as success) and records of a
 * partition are written once and in order across lost connections and
 * broker restarts, as long as retries last. OUT_OF_ORDER_SEQUENCE_NUMBER
 * (or UNKNOWN_PRODUCER_ID) on the oldest unacknowledged batch of a
 * partition fails that batch (delivery callback); after any batch fails for
 * good the producer drains what is in flight, takes a new producer id and
 * restarts its sequences. Without InitProducerId the producer is simply not
 * idempotent. */

/* Kafka's partitioner: murmur2 (Java Utils.murmur2) and
 * toPositive(murmur2(key)) % n. */
int32_t sluice_murmur2(const void *key, size_t len);
int32_t sluice_partition_for_key(const void *key, size_t len, int32_t partition_count);

/* ---- consumer ----------------------------------------------------------- */

#define SLUICE_OFFSET_BEGINNING  (-2)
#define SLUICE_OFFSET_END        (-1)
#define SLUICE_OFFSET_STORED     (-1000)   /* group: committed offset */
/* SLUICE_OFFSET_TIMESTAMP(ms): first offset with timestamp >= ms */
#define SLUICE_OFFSET_TIMESTAMP_BASE (-1000000000000000LL)
#define SLUICE_OFFSET_TIMESTAMP(ms)  (SLUICE_OFFSET_TIMESTAMP_BASE - (int64_t)(ms))

/* Add (topic, partition) to the manual assignment at offset, which may be an
 * absolute offset or one of the SLUICE_OFFSET_* forms (resolved with
 * ListOffsets on first fetch). UNKNOWN_TOPIC_OR_PARTITION if it does not
 * exist. Re-assigning a partition seeks it. */
int  sluice_assign(struct sluice *sl, const char *topic, int32_t partition, int64_t offset);
int  sluice_seek(struct sluice *sl, const char *topic, int32_t partition, int64_t offset);
/* Drop every assignment (and buffered records). */
void sluice_unassign(struct sluice *sl);
/* Stop fetching (topic, partition) once it reaches end_offset (exclusive);
 * -1 = the high watermark seen at the first fetch. Used for "read to the
 * end and exit". When every assigned partition has reached its end,
 * sluice_consume returns SLUICE_ERR_EOF. */
int  sluice_set_end(struct sluice *sl, const char *topic, int32_t partition, int64_t end_offset);
/* Next record, waiting up to timeout_ms. *rec and the memory it points to
 * stay valid until the next sluice_consume / assignment change.
 * SLUICE_ERR_TIMED_OUT when nothing arrived, SLUICE_ERR_EOF (see above). */
int  sluice_consume(struct sluice *sl, struct sluice_record *rec, int timeout_ms);
/* Current fetch position (next offset to return) of an assigned partition. */
int  sluice_position(struct sluice *sl, const char *topic, int32_t partition, int64_t *out);

/* ListOffsets: spec is SLUICE_OFFSET_BEGINNING, _END, or
 * SLUICE_OFFSET_TIMESTAMP(ms). -1 (for a timestamp after the last record)
 * means "none"; the end offset is then the usual answer. */
int  sluice_list_offset(struct sluice *sl, const char *topic, int32_t partition,
                        int64_t spec, int64_t *out);

/* ---- consumer groups ---------------------------------------------------- */

/* Join conf.group_id subscribed to topics; partitions are assigned by the
 * group leader with conf.assignor; positions start at the committed offset,
 * else conf.auto_offset_reset. Rebalances are handled inside
 * sluice_consume. */
int  sluice_subscribe(struct sluice *sl, const char *const *topics, int ntopics);
/* Commit the current positions (of every assigned partition). async: send
 * and do not wait for the answer (errors surface in sluice_errmsg). */
int  sluice_commit(struct sluice *sl, int async);
/* Commit explicit offsets for the group (no membership needed when the
 * group is empty, as kafka-consumer-groups --reset-offsets does). */
int  sluice_commit_offsets(struct sluice *sl, const char *group, const char *topic,
                           int n, const int32_t *partitions, const int64_t *offsets);
/* Committed offsets (-1 = none) of partitions 0..n-1 of topic. */
int  sluice_committed(struct sluice *sl, const char *group, const char *topic,
                      int n, int64_t *offsets_out);
/* 1 when the group has assigned partitions to this member and every one of
 * them has been read up to the high watermark of its last fetch. */
int  sluice_group_at_end(struct sluice *sl);
struct sluice_committed_offset { char *topic; int32_t partition; int64_t offset; };
/* Every committed offset of group (OffsetFetch with all topics), sorted by
 * topic and partition. Free with sluice_committed_free. */
int  sluice_group_offsets(struct sluice *sl, const char *group,
                          struct sluice_committed_offset **out, int *n);
void sluice_committed_free(struct sluice_committed_offset *o, int n);
/* Leave the group (done by sluice_destroy too). */
int  sluice_unsubscribe(struct sluice *sl);

struct sluice_group_member {
    char *member_id, *client_id, *client_host;
    int   assignment_count;              /* (topic, partition) pairs */
    char **assigned_topics;
    int32_t *assigned_partitions;
};
struct sluice_group {
    char *group_id, *state, *protocol_type, *protocol;
    int16_t err;
    int   member_count;
    struct sluice_group_member *members;
};
/* ListGroups: *out is an array of n groups (only group_id, protocol_type,
 * state set). DescribeGroups fills everything. Free with sluice_groups_free. */
int  sluice_list_groups(struct sluice *sl, struct sluice_group **out, int *n);
int  sluice_describe_group(struct sluice *sl, const char *group, struct sluice_group **out);
void sluice_groups_free(struct sluice_group *g, int n);
int  sluice_delete_group(struct sluice *sl, const char *group);

/* ---- admin -------------------------------------------------------------- */

struct sluice_config_entry {
    char *name, *value;       /* value NULL = null */
    int   read_only, is_default, is_sensitive;
};

/* configs: "key=value" strings. */
int  sluice_create_topic(struct sluice *sl, const char *name, int32_t partitions,
                         int16_t replication_factor, const char *const *configs, int nconfigs);
int  sluice_delete_topic(struct sluice *sl, const char *name);
int  sluice_create_partitions(struct sluice *sl, const char *name, int32_t total_count);
/* Topic configs (DescribeConfigs). Free with sluice_configs_free. */
int  sluice_describe_topic_configs(struct sluice *sl, const char *name,
                                   struct sluice_config_entry **out, int *n);
void sluice_configs_free(struct sluice_config_entry *e, int n);
/* Set "key=value" configs on a topic (IncrementalAlterConfigs SET, falling
 * back to AlterConfigs if the broker lacks it). */
int  sluice_alter_topic_configs(struct sluice *sl, const char *name,
                                const char *const *configs, int nconfigs);

#ifdef __cplusplus
}
#endif
#endif
