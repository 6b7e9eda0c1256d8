/* server/conf.c -- broker and topic configuration (see conf.h).
 *
 * Everything is driven by the two tables below: one row per key with its
 * type, default text, range and offsetof. Setting a key always goes through
 * conf__parse() (defaults included, so the default strings are validated by
 * the same code as user input), and formatting through conf__format().
 * Keys whose value depends on other keys (retention, roll, flush interval,
 * broker id, data dir, advertised listeners) are resolved in conf__finish()
 * after all sources are applied, with Kafka's precedence rules.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "server/conf.h"
#include "storage/err.h"
#include "storage/log.h"

#define LMAX     INT64_MAX
#define IMAX     INT32_MAX
#define LMAX_S   "9223372036854775807"
#define IMAX_S   "2147483647"

static const char *const v_ts_type[] = { "CreateTime", "LogAppendTime", NULL };
static const char *const v_compression[] = {
    "producer", "uncompressed", "gzip", "snappy", "lz4", "zstd", NULL };
static const char *const v_cleanup[] = { "compact", "delete", NULL };
static const char *const v_log_level[] = { "debug", "info", "warn", "error", NULL };

/* ---- broker table ----------------------------------------------------- */

#define B(f)     offsetof(struct sl_conf, f)
#define BSZ(f)   sizeof(((struct sl_conf *)0)->f)
#define SYN(t)   .synonym = t, .scope = CONF_SCOPE_BOTH
#define NOSYN    .scope = CONF_SCOPE_BROKER

#define KI(n, f, d, lo, hi, s, fl, dc) { .name = n, .type = CONF_T_INT, .def = d, .min = lo, \
    .max = hi, .off = B(f), s, .flags = fl, .doc = dc }
#define KL(n, f, d, lo, hi, s, fl, dc) { .name = n, .type = CONF_T_LONG, .def = d, .min = lo, \
    .max = hi, .off = B(f), s, .flags = fl, .doc = dc }
#define KB(n, f, d, s, fl, dc) { .name = n, .type = CONF_T_BOOL, .def = d, .off = B(f), s, \
    .flags = fl, .doc = dc }
#define KD(n, f, d, lo, hi, s, dc) { .name = n, .type = CONF_T_DOUBLE, .def = d, .dmin = lo, \
    .dmax = hi, .off = B(f), s, .doc = dc }
#define KS(n, f, d, fl, dc) { .name = n, .type = CONF_T_STRING, .def = d, .off = B(f), \
    .size = BSZ(f), NOSYN, .flags = fl, .doc = dc }
#define KLS(n, f, d, dc) { .name = n, .type = CONF_T_LIST, .def = d, .off = B(f), \
    .size = BSZ(f), NOSYN, .doc = dc }
#define KLIS(n, f, d, dc) { .name = n, .type = CONF_T_LISTENERS, .def = d, .off = B(f), \
    .size = BSZ(f), NOSYN, .doc = dc }
#define KE(n, f, d, v, s, dc) { .name = n, .type = CONF_T_ENUM, .def = d, .values = v, \
    .off = B(f), s, .doc = dc }
#define KF(n, f, d, v, s, dc) { .name = n, .type = CONF_T_FLAGS, .def = d, .values = v, \
    .off = B(f), s, .doc = dc }

#define U CONF_F_UNUSED

static const struct conf_key broker_keys[] = {
    /* identity and cluster */
    KI("broker.id", broker_id, "-1", -1, IMAX, NOSYN, 0,
       "Id of this broker; -1 means 0 in single-node mode (no zookeeper.connect)"),
    KI("node.id", node_id, "-1", -1, IMAX, NOSYN, 0, "Alias of broker.id; both must agree if set"),
    KS("cluster.id", cluster_id, NULL, 0,
       "Cluster id; when unset one is generated and kept in the data directory"),
    KS("broker.rack", broker_rack, NULL, 0, "Rack of the broker, for rack-aware assignment"),
    KS("zookeeper.connect", zookeeper_connect, NULL, 0,
       "ZooKeeper connection string (host:port[,host:port][/chroot]); empty = single-node mode"),
    KI("zookeeper.session.timeout.ms", zookeeper_session_timeout_ms, "18000", 1, IMAX, NOSYN, 0,
       "ZooKeeper session timeout"),
    KI("zookeeper.connection.timeout.ms", zookeeper_connection_timeout_ms, NULL, 1, IMAX, NOSYN, 0,
       "Max wait to connect to ZooKeeper; unset = zookeeper.session.timeout.ms"),
    KB("controlled.shutdown.enable", controlled_shutdown_enable, "true", NOSYN, 0,
       "Move leadership away before shutting down"),
    KB("auto.leader.rebalance.enable", auto_leader_rebalance_enable, "true", NOSYN, 0,
       "Move leadership back to preferred replicas periodically"),

    /* network */
    KLIS("listeners", listeners_str, "PLAINTEXT://:9092",
         "Comma-separated NAME://host:port listeners; empty host = all interfaces"),
    KLIS("advertised.listeners", advertised_listeners_str, NULL,
         "Listeners given to clients; unset = listeners (empty or 0.0.0.0 host -> localhost)"),
    KS("inter.broker.listener.name", inter_broker_listener_name, NULL, 0,
       "Listener used between brokers; unset = the first listener"),
    KI("num.network.threads", num_network_threads, "0", 0, 1024, NOSYN, 0,
       "Event-loop threads; 0 = one per online CPU"),
    KI("num.io.threads", num_io_threads, "8", 1, 1024, NOSYN, U,
       "Accepted for compatibility; requests run on the network threads"),
    KI("socket.request.max.bytes", socket_request_max_bytes, "104857600", 1, IMAX, NOSYN, 0,
       "Largest request accepted; bigger frames close the connection"),
    KI("socket.send.buffer.bytes", socket_send_buffer_bytes, "-1", -1, IMAX, NOSYN, 0,
       "SO_SNDBUF of client sockets; -1 = OS default (autotuned)"),
    KI("socket.receive.buffer.bytes", socket_receive_buffer_bytes, "-1", -1, IMAX, NOSYN, 0,
       "SO_RCVBUF of client sockets; -1 = OS default (autotuned)"),
    KI("max.connections", max_connections, IMAX_S, 0, IMAX, NOSYN, 0,
       "Max simultaneous client connections"),
    KL("connections.max.idle.ms", connections_max_idle_ms, "600000", -1, LMAX, NOSYN, 0,
       "Close connections idle this long; -1 = never"),
    KL("queued.max.request.bytes", queued_max_request_bytes, "-1", -1, LMAX, NOSYN, 0,
       "Max bytes of requests queued before reading stops; -1 = no limit"),
    KI("message.max.bytes", message_max_bytes, "1048588", 0, IMAX, SYN("max.message.bytes"), 0,
       "Largest record batch accepted (after compression)"),
    KI("fetch.max.bytes", fetch_max_bytes, "57671680", 1024, IMAX, NOSYN, 0,
       "Largest fetch response the broker returns"),

    /* log */
    KLS("log.dirs", log_dirs, NULL, "Data directories (comma-separated); the first is used"),
    KS("log.dir", log_dir, "/tmp/kafka-logs", 0, "Data directory when log.dirs is unset"),
    KI("num.partitions", num_partitions, "1", 1, IMAX, NOSYN, 0,
       "Partitions of auto-created topics"),
    KI("default.replication.factor", default_replication_factor, "1", 1, IMAX, NOSYN, 0,
       "Replication factor of auto-created topics"),
    KB("auto.create.topics.enable", auto_create_topics_enable, "true", NOSYN, 0,
       "Create a topic on first Metadata/Produce request for it"),
    KB("delete.topic.enable", delete_topic_enable, "true", NOSYN, 0, "Allow DeleteTopics"),
    KI("log.segment.bytes", log_segment_bytes, "1073741824", 14, IMAX, SYN("segment.bytes"), 0,
       "Max size of one segment file"),
    KL("log.roll.ms", log_roll_ms_cfg, NULL, 1, LMAX, SYN("segment.ms"), 0,
       "Roll a segment after this long; overrides log.roll.hours"),
    KI("log.roll.hours", log_roll_hours, "168", 1, IMAX, SYN("segment.ms"), 0,
       "Roll a segment after this many hours"),
    KL("log.roll.jitter.ms", log_roll_jitter_ms_cfg, NULL, 0, LMAX, SYN("segment.jitter.ms"), 0,
       "Max random jitter subtracted from the roll time; overrides log.roll.jitter.hours"),
    KI("log.roll.jitter.hours", log_roll_jitter_hours, "0", 0, IMAX, SYN("segment.jitter.ms"), 0,
       "Max random jitter subtracted from the roll time, in hours"),
    KL("log.retention.bytes", log_retention_bytes, "-1", INT64_MIN, LMAX,
       SYN("retention.bytes"), 0, "Delete old segments beyond this partition size; -1 = no limit"),
    KL("log.retention.ms", log_retention_ms_cfg, NULL, -1, LMAX, SYN("retention.ms"), 0,
       "Delete segments older than this; -1 = forever; overrides minutes and hours"),
    KI("log.retention.minutes", log_retention_minutes, NULL, -1, IMAX, SYN("retention.ms"), 0,
       "Retention in minutes; overrides log.retention.hours"),
    KI("log.retention.hours", log_retention_hours, "168", -1, IMAX, SYN("retention.ms"), 0,
       "Retention in hours"),
    KI("log.index.interval.bytes", log_index_interval_bytes, "4096", 0, IMAX,
       SYN("index.interval.bytes"), 0, "Bytes between offset index entries"),
    KI("log.index.size.max.bytes", log_index_size_max_bytes, "10485760", 4, IMAX,
       SYN("segment.index.bytes"), 0, "Max size of an offset index file"),
    KL("log.flush.interval.messages", log_flush_interval_messages, LMAX_S, 1, LMAX,
       SYN("flush.messages"), 0, "fsync a partition after this many messages"),
    KL("log.flush.interval.ms", log_flush_interval_ms_cfg, NULL, 0, LMAX, SYN("flush.ms"), 0,
       "fsync a partition after this long; unset = log.flush.scheduler.interval.ms"),
    KL("log.flush.scheduler.interval.ms", log_flush_scheduler_interval_ms, LMAX_S, 0, LMAX,
       NOSYN, 0, "How often the flusher checks for partitions to flush"),
    KL("log.retention.check.interval.ms", log_retention_check_interval_ms, "300000", 1, LMAX,
       NOSYN, 0, "How often retention runs"),
    KL("log.flush.offset.checkpoint.interval.ms", log_flush_offset_checkpoint_interval_ms,
       "60000", 0, IMAX, NOSYN, 0, "How often the recovery-point checkpoint is written"),
    KL("log.flush.start.offset.checkpoint.interval.ms",
       log_flush_start_offset_checkpoint_interval_ms, "60000", 0, IMAX, NOSYN, 0,
       "How often the log-start-offset checkpoint is written"),
    KL("log.segment.delete.delay.ms", log_segment_delete_delay_ms, "60000", 0, LMAX,
       SYN("file.delete.delay.ms"), 0, "Wait before deleting a segment file removed from the log"),
    KE("log.message.timestamp.type", log_message_timestamp_type, "CreateTime", v_ts_type,
       SYN("message.timestamp.type"), "CreateTime or LogAppendTime"),
    KL("log.message.timestamp.difference.max.ms", log_message_timestamp_difference_max_ms,
       LMAX_S, 0, LMAX, SYN("message.timestamp.difference.max.ms"), 0,
       "Max difference between a CreateTime timestamp and the broker's clock (deprecated)"),
    KL("log.message.timestamp.before.max.ms", log_message_timestamp_before_max_ms, LMAX_S, 0, LMAX,
       SYN("message.timestamp.before.max.ms"), 0,
       "Max amount a CreateTime timestamp may be behind the broker's clock"),
    KL("log.message.timestamp.after.max.ms", log_message_timestamp_after_max_ms, LMAX_S, 0, LMAX,
       SYN("message.timestamp.after.max.ms"), 0,
       "Max amount a CreateTime timestamp may be ahead of the broker's clock"),
    KF("log.cleanup.policy", log_cleanup_policy, "delete", v_cleanup, SYN("cleanup.policy"),
       "delete, compact, or compact,delete"),
    KE("compression.type", compression_type, "producer", v_compression, SYN("compression.type"),
       "producer (keep as sent), uncompressed, gzip, snappy, lz4 or zstd"),
    KB("log.preallocate", log_preallocate, "false", SYN("preallocate"), 0,
       "Preallocate segment files"),
    KB("log.message.downconversion.enable", log_message_downconversion_enable, "true",
       SYN("message.downconversion.enable"), U, "Down-convert batches for old fetchers"),
    KB("log.cleaner.enable", log_cleaner_enable, "true", NOSYN, 0, "Run the log compactor"),
    KI("log.cleaner.threads", log_cleaner_threads, "1", 0, 64, NOSYN, 0, "Compactor threads"),
    KL("log.cleaner.delete.retention.ms", log_cleaner_delete_retention_ms, "86400000", 0, LMAX,
       SYN("delete.retention.ms"), 0, "How long tombstones are kept in compacted topics"),
    KL("log.cleaner.min.compaction.lag.ms", log_cleaner_min_compaction_lag_ms, "0", 0, LMAX,
       SYN("min.compaction.lag.ms"), 0, "Min age of a record before it can be compacted"),
    KL("log.cleaner.max.compaction.lag.ms", log_cleaner_max_compaction_lag_ms, LMAX_S, 1, LMAX,
       SYN("max.compaction.lag.ms"), 0, "Max time a record stays uncompacted"),
    KD("log.cleaner.min.cleanable.ratio", log_cleaner_min_cleanable_ratio, "0.5", 0.0, 1.0,
       SYN("min.cleanable.dirty.ratio"), "Min dirty ratio before a log is compacted"),
    KI("num.recovery.threads.per.data.dir", num_recovery_threads_per_data_dir, "1", 1, 1024,
       NOSYN, 0, "Threads recovering logs at start"),

    /* replication */
    KI("min.insync.replicas", min_insync_replicas, "1", 1, IMAX, SYN("min.insync.replicas"), 0,
       "Min in-sync replicas for an acks=all write"),
    KB("unclean.leader.election.enable", unclean_leader_election_enable, "false",
       SYN("unclean.leader.election.enable"), 0, "Allow out-of-sync replicas to become leader"),
    KL("replica.lag.time.max.ms", replica_lag_time_max_ms, "30000", 1, LMAX, NOSYN, 0,
       "A follower not caught up for this long leaves the ISR"),
    KI("num.replica.fetchers", num_replica_fetchers, "1", 1, 1024, NOSYN, 0,
       "Fetcher threads per source broker"),
    KI("replica.fetch.max.bytes", replica_fetch_max_bytes, "1048576", 0, IMAX, NOSYN, 0,
       "Bytes per partition a follower asks for"),
    KI("replica.fetch.min.bytes", replica_fetch_min_bytes, "1", 0, IMAX, NOSYN, 0,
       "Min bytes a follower fetch waits for"),
    KI("replica.fetch.wait.max.ms", replica_fetch_wait_max_ms, "500", 0, IMAX, NOSYN, 0,
       "Max wait of a follower fetch"),
    KI("replica.fetch.response.max.bytes", replica_fetch_response_max_bytes, "10485760", 0, IMAX,
       NOSYN, 0, "Max bytes of a whole follower fetch response"),
    KI("replica.socket.timeout.ms", replica_socket_timeout_ms, "30000", 1, IMAX, NOSYN, 0,
       "Socket timeout of follower fetches"),
    KL("replica.high.watermark.checkpoint.interval.ms",
       replica_high_watermark_checkpoint_interval_ms, "5000", 1, LMAX, NOSYN, 0,
       "How often the high watermark is checkpointed"),

    /* groups and offsets */
    KI("group.initial.rebalance.delay.ms", group_initial_rebalance_delay_ms, "3000", 0, IMAX,
       NOSYN, 0, "Wait for more members before the first rebalance of an empty group"),
    KI("group.min.session.timeout.ms", group_min_session_timeout_ms, "6000", 0, IMAX, NOSYN, 0,
       "Min session timeout a member may ask for"),
    KI("group.max.session.timeout.ms", group_max_session_timeout_ms, "1800000", 0, IMAX, NOSYN, 0,
       "Max session timeout a member may ask for"),
    KI("group.max.size", group_max_size, IMAX_S, 1, IMAX, NOSYN, 0, "Max members of a group"),
    KI("offsets.topic.num.partitions", offsets_topic_num_partitions, "50", 1, IMAX, NOSYN, 0,
       "Partitions of __consumer_offsets"),
    KI("offsets.topic.replication.factor", offsets_topic_replication_factor, "3", 1, 32767, NOSYN,
       0, "Replication factor of __consumer_offsets (capped to the live brokers)"),
    KI("offsets.topic.segment.bytes", offsets_topic_segment_bytes, "104857600", 1, IMAX, NOSYN, 0,
       "Segment size of __consumer_offsets"),
    KI("offsets.retention.minutes", offsets_retention_minutes, "10080", 1, IMAX, NOSYN, 0,
       "Keep committed offsets of empty groups this long"),
    KL("offsets.retention.check.interval.ms", offsets_retention_check_interval_ms, "600000", 1,
       LMAX, NOSYN, 0, "How often stale offsets are expired"),
    KI("offset.metadata.max.bytes", offset_metadata_max_bytes, "4096", 0, IMAX, NOSYN, 0,
       "Max size of the metadata string of a committed offset"),
    KI("offsets.commit.timeout.ms", offsets_commit_timeout_ms, "5000", 1, IMAX, NOSYN, 0,
       "Max wait for an offset commit to be replicated"),

    /* transactions */
    KI("transactional.id.expiration.ms", transactional_id_expiration_ms, "604800000", 1, IMAX,
       NOSYN, 0, "Expire a transactional id idle this long"),
    KI("producer.id.expiration.ms", producer_id_expiration_ms, "86400000", 1, IMAX, NOSYN, 0,
       "Forget an idempotent producer's state after this long without writes"),
    KI("transaction.max.timeout.ms", transaction_max_timeout_ms, "900000", 1, IMAX, NOSYN, 0,
       "Max transaction timeout a producer may ask for"),
    KI("transaction.state.log.num.partitions", transaction_state_log_num_partitions, "50", 1,
       IMAX, NOSYN, 0, "Partitions of __transaction_state"),
    KI("transaction.state.log.replication.factor", transaction_state_log_replication_factor, "3",
       1, 32767, NOSYN, 0, "Replication factor of __transaction_state"),
    KI("transaction.state.log.min.isr", transaction_state_log_min_isr, "2", 1, IMAX, NOSYN, 0,
       "min.insync.replicas of __transaction_state"),

    /* Sluice extensions */
    KE("log.level", log_level, "info", v_log_level, NOSYN,
       "Sluice: log threshold, debug|info|warn|error"),
    KB("sluice.acks.all.fsync", acks_all_fsync, "true", NOSYN, 0,
       "Sluice: fsync the leader's log before acknowledging acks=all (false = Kafka behaviour)"),
};

_Static_assert(sizeof(broker_keys) / sizeof(broker_keys[0]) <= 256, "set_bits holds 256 keys");

/* ---- topic table ------------------------------------------------------ */

#define T(f)     offsetof(struct sl_topic_conf, f)
#define TK(n, ty, f, bf, lo, hi, syn, dc) { .name = n, .type = ty, .min = lo, .max = hi, \
    .off = T(f), .boff = B(bf), .synonym = syn, .scope = CONF_SCOPE_TOPIC, .doc = dc }
#define TE(n, ty, f, bf, v, syn, dc) { .name = n, .type = ty, .values = v, \
    .off = T(f), .boff = B(bf), .synonym = syn, .scope = CONF_SCOPE_TOPIC, .doc = dc }
#define TD(n, f, bf, lo, hi, syn, dc) { .name = n, .type = CONF_T_DOUBLE, .dmin = lo, .dmax = hi, \
    .off = T(f), .boff = B(bf), .synonym = syn, .scope = CONF_SCOPE_TOPIC, .doc = dc }

static const struct conf_key topic_keys[] = {
    TE("cleanup.policy", CONF_T_FLAGS, cleanup_policy, log_cleanup_policy, v_cleanup,
       "log.cleanup.policy", "delete, compact, or compact,delete"),
    TE("compression.type", CONF_T_ENUM, compression_type, compression_type, v_compression,
       "compression.type", "producer, uncompressed, gzip, snappy, lz4 or zstd"),
    TK("delete.retention.ms", CONF_T_LONG, delete_retention_ms, log_cleaner_delete_retention_ms,
       0, LMAX, "log.cleaner.delete.retention.ms", "How long tombstones are kept when compacting"),
    TK("file.delete.delay.ms", CONF_T_LONG, file_delete_delay_ms, log_segment_delete_delay_ms,
       0, LMAX, "log.segment.delete.delay.ms", "Wait before deleting a removed segment file"),
    TK("flush.messages", CONF_T_LONG, flush_messages, log_flush_interval_messages, 1, LMAX,
       "log.flush.interval.messages", "fsync after this many messages"),
    TK("flush.ms", CONF_T_LONG, flush_ms, log_flush_interval_ms, 0, LMAX,
       "log.flush.interval.ms", "fsync after this long"),
    TK("index.interval.bytes", CONF_T_INT, index_interval_bytes, log_index_interval_bytes, 0,
       IMAX, "log.index.interval.bytes", "Bytes between offset index entries"),
    TK("max.compaction.lag.ms", CONF_T_LONG, max_compaction_lag_ms,
       log_cleaner_max_compaction_lag_ms, 1, LMAX, "log.cleaner.max.compaction.lag.ms",
       "Max time a record stays uncompacted"),
    TK("max.message.bytes", CONF_T_INT, max_message_bytes, message_max_bytes, 0, IMAX,
       "message.max.bytes", "Largest record batch accepted"),
    TK("message.downconversion.enable", CONF_T_BOOL, message_downconversion_enable,
       log_message_downconversion_enable, 0, 0, "log.message.downconversion.enable",
       "Down-convert batches for old fetchers"),
    TK("message.timestamp.after.max.ms", CONF_T_LONG, message_timestamp_after_max_ms,
       log_message_timestamp_after_max_ms, 0, LMAX, "log.message.timestamp.after.max.ms",
       "Max amount a CreateTime timestamp may be ahead of the broker's clock"),
    TK("message.timestamp.before.max.ms", CONF_T_LONG, message_timestamp_before_max_ms,
       log_message_timestamp_before_max_ms, 0, LMAX, "log.message.timestamp.before.max.ms",
       "Max amount a CreateTime timestamp may be behind the broker's clock"),
    TK("message.timestamp.difference.max.ms", CONF_T_LONG, message_timestamp_difference_max_ms,
       log_message_timestamp_difference_max_ms, 0, LMAX,
       "log.message.timestamp.difference.max.ms", "Max CreateTime skew (deprecated)"),
    TE("message.timestamp.type", CONF_T_ENUM, message_timestamp_type, log_message_timestamp_type,
       v_ts_type, "log.message.timestamp.type", "CreateTime or LogAppendTime"),
    TD("min.cleanable.dirty.ratio", min_cleanable_dirty_ratio, log_cleaner_min_cleanable_ratio,
       0.0, 1.0, "log.cleaner.min.cleanable.ratio", "Min dirty ratio before compaction"),
    TK("min.compaction.lag.ms", CONF_T_LONG, min_compaction_lag_ms,
       log_cleaner_min_compaction_lag_ms, 0, LMAX, "log.cleaner.min.compaction.lag.ms",
       "Min age of a record before it can be compacted"),
    TK("min.insync.replicas", CONF_T_INT, min_insync_replicas, min_insync_replicas, 1, IMAX,
       "min.insync.replicas", "Min in-sync replicas for an acks=all write"),
    TK("preallocate", CONF_T_BOOL, preallocate, log_preallocate, 0, 0, "log.preallocate",
       "Preallocate segment files"),
    TK("retention.bytes", CONF_T_LONG, retention_bytes, log_retention_bytes, INT64_MIN, LMAX,
       "log.retention.bytes", "Max partition size before old segments are deleted; -1 = none"),
    TK("retention.ms", CONF_T_LONG, retention_ms, log_retention_ms, -1, LMAX,
       "log.retention.ms", "Delete segments older than this; -1 = forever"),
    TK("segment.bytes", CONF_T_INT, segment_bytes, log_segment_bytes, 14, IMAX,
       "log.segment.bytes", "Max size of one segment file"),
    TK("segment.index.bytes", CONF_T_INT, segment_index_bytes, log_index_size_max_bytes, 4, IMAX,
       "log.index.size.max.bytes", "Max size of an offset index file"),
    TK("segment.jitter.ms", CONF_T_LONG, segment_jitter_ms, log_roll_jitter_ms, 0, LMAX,
       "log.roll.jitter.ms", "Max random jitter subtracted from segment.ms"),
    TK("segment.ms", CONF_T_LONG, segment_ms, log_roll_ms, 1, LMAX, "log.roll.ms",
       "Roll a segment after this long"),
    TK("unclean.leader.election.enable", CONF_T_BOOL, unclean_leader_election_enable,
       unclean_leader_election_enable, 0, 0, "unclean.leader.election.enable",
       "Allow out-of-sync replicas to become leader"),
};

_Static_assert(sizeof(topic_keys) / sizeof(topic_keys[0]) <= 64, "set_mask holds 64 keys");

#define NBROKER (sizeof(broker_keys) / sizeof(broker_keys[0]))
#define NTOPIC  (sizeof(topic_keys) / sizeof(topic_keys[0]))

const struct conf_key *
conf_broker_keys(size_t *n)
{
    *n = NBROKER;
    return broker_keys;
}

const struct conf_key *
conf_topic_keys(size_t *n)
{
    *n = NTOPIC;
    return topic_keys;
}

int
conf_broker_key_index(const char *name)
{
    for (size_t i = 0; i < NBROKER; i++)
        if (strcmp(broker_keys[i].name, name) == 0)
            return (int)i;
    return -1;
}

int
conf_topic_key_index(const char *name)
{
    for (size_t i = 0; i < NTOPIC; i++)
        if (strcmp(topic_keys[i].name, name) == 0)
            return (int)i;
    return -1;
}

int
conf_key_wire_type(const struct conf_key *k)
{
    switch (k->type) {
    case CONF_T_BOOL:   return 1;
    case CONF_T_INT:    return 3;
    case CONF_T_LONG:   return 5;
    case CONF_T_DOUBLE: return 6;
    case CONF_T_LIST:
    case CONF_T_FLAGS:
    case CONF_T_LISTENERS: return 7;
    default:            return 2;
    }
}

/* ---- value parsing and formatting ------------------------------------- */

static void __attribute__((format(printf, 5, 6)))
conf__bad(char *err, size_t errlen, const char *name, const char *value, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "invalid value '%s' for %s: %s", value, name, why);
}

static int
conf__parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;
    if (!*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* Split off the next comma-separated item of *s, trimmed, into item. */
static int
conf__next_item(const char **s, char *item, size_t itemlen)
{
    const char *p = *s, *e;
    size_t n;
    if (!*p)
        return 0;
    e = strchr(p, ',');
    if (!e)
        e = p + strlen(p);
    *s = *e ? e + 1 : e;
    while (p < e && isspace((unsigned char)*p))
        p++;
    while (e > p && isspace((unsigned char)e[-1]))
        e--;
    n = (size_t)(e - p);
    if (n >= itemlen)
        n = itemlen - 1;
    memcpy(item, p, n);
    item[n] = 0;
    return 1;
}

static int
conf__enum_index(const char *const *values, const char *s)
{
    for (int i = 0; values[i]; i++)
        if (strcasecmp(values[i], s) == 0)
            return i;
    return -1;
}

static void
conf__enum_list(const char *const *values, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; values[i] && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", values[i]);
}

/* Parse value for row k into base + k->off. Nothing is stored on error. */
static int
conf__parse(const struct conf_key *k, void *base, const char *value, char *err, size_t errlen)
{
    char *field = (char *)base + k->off;
    int64_t v;
    char tmp[256];

    switch (k->type) {
    case CONF_T_INT:
    case CONF_T_LONG: {
        int is_int = k->type == CONF_T_INT;
        if (conf__parse_i64(value, &v) != 0 || (is_int && (v < INT32_MIN || v > INT32_MAX))) {
            conf__bad(err, errlen, k->name, value, is_int ? "not an integer" : "not a long");
            return SL_ERR_INVALID_CONFIG;
        }
        if (v < k->min) {
            conf__bad(err, errlen, k->name, value, "must be at least %lld", (long long)k->min);
            return SL_ERR_INVALID_CONFIG;
        }
        if (v > k->max) {
            conf__bad(err, errlen, k->name, value, "must be at most %lld", (long long)k->max);
            return SL_ERR_INVALID_CONFIG;
        }
        if (is_int) {
            int32_t i = (int32_t)v;
            memcpy(field, &i, sizeof(i));
        } else {
            memcpy(field, &v, sizeof(v));
        }
        return 0;
    }
    case CONF_T_BOOL: {
        int b;
        if (strcasecmp(value, "true") == 0)
            b = 1;
        else if (strcasecmp(value, "false") == 0)
            b = 0;
        else {
            conf__bad(err, errlen, k->name, value, "expected true or false");
            return SL_ERR_INVALID_CONFIG;
        }
        memcpy(field, &b, sizeof(b));
        return 0;
    }
    case CONF_T_DOUBLE: {
        char *end;
        double d;
        errno = 0;
        d = *value ? strtod(value, &end) : 0;
        if (!*value || errno || *end || !isfinite(d)) {
            conf__bad(err, errlen, k->name, value, "not a number");
            return SL_ERR_INVALID_CONFIG;
        }
        if (d < k->dmin || d > k->dmax) {
            conf__bad(err, errlen, k->name, value, "must be between %g and %g", k->dmin, k->dmax);
            return SL_ERR_INVALID_CONFIG;
        }
        memcpy(field, &d, sizeof(d));
        return 0;
    }
    case CONF_T_ENUM: {
        int i = conf__enum_index(k->values, value);
        if (i < 0) {
            conf__enum_list(k->values, tmp, sizeof(tmp));
            conf__bad(err, errlen, k->name, value, "must be one of %s", tmp);
            return SL_ERR_INVALID_CONFIG;
        }
        memcpy(field, &i, sizeof(i));
        return 0;
    }
    case CONF_T_FLAGS: {
        const char *p = value;
        char item[64];
        int flags = 0, any = 0;
        while (conf__next_item(&p, item, sizeof(item))) {
            int i = conf__enum_index(k->values, item);
            if (i < 0) {
                conf__enum_list(k->values, tmp, sizeof(tmp));
                conf__bad(err, errlen, k->name, value, "items must be among %s", tmp);
                return SL_ERR_INVALID_CONFIG;
            }
            flags |= 1 << i;
            any = 1;
        }
        if (!any) {
            conf__bad(err, errlen, k->name, value, "must not be empty");
            return SL_ERR_INVALID_CONFIG;
        }
        memcpy(field, &flags, sizeof(flags));
        return 0;
    }
    case CONF_T_LISTENERS: {
        struct sl_listener ls[SL_CONF_MAX_LISTENERS];
        int n = conf_parse_listeners(value, ls, SL_CONF_MAX_LISTENERS, tmp, sizeof(tmp));
        if (n < 0) {
            conf__bad(err, errlen, k->name, value, "%s", tmp);
            return SL_ERR_INVALID_CONFIG;
        }
        if (strcmp(k->name, "advertised.listeners") == 0) {
            for (int i = 0; i < n; i++) {
                if (strcmp(ls[i].host, "0.0.0.0") == 0 || strcmp(ls[i].host, "::") == 0) {
                    conf__bad(err, errlen, k->name, value,
                              "cannot advertise the non-routable address %s", ls[i].host);
                    return SL_ERR_INVALID_CONFIG;
                }
            }
        }
        /* keep the text; conf__finish() parses it again */
        __attribute__((fallthrough));
    }
    case CONF_T_STRING:
    case CONF_T_LIST:
        if (strlen(value) >= k->size) {
            conf__bad(err, errlen, k->name, value, "longer than %zu bytes", k->size - 1);
            return SL_ERR_INVALID_CONFIG;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    }
    conf__bad(err, errlen, k->name, value, "unsupported type");
    return SL_ERR_INVALID_CONFIG;
}

/* Shortest %g that reads back as the same double (Java's Double.toString
 * gives "0.5", "1.0E-4"; close enough for round trips). */
static void
conf__fmt_double(double d, char *buf, size_t len)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
}

static void
conf__format(const struct conf_key *k, const void *base, char *buf, size_t len)
{
    const char *field = (const char *)base + k->off;
    int32_t i32;
    int64_t i64;
    int i;
    double d;

    if (!len)
        return;
    buf[0] = 0;
    switch (k->type) {
    case CONF_T_INT:
        memcpy(&i32, field, sizeof(i32));
        snprintf(buf, len, "%d", (int)i32);
        break;
    case CONF_T_LONG:
        memcpy(&i64, field, sizeof(i64));
        snprintf(buf, len, "%lld", (long long)i64);
        break;
    case CONF_T_BOOL:
        memcpy(&i, field, sizeof(i));
        snprintf(buf, len, "%s", i ? "true" : "false");
        break;
    case CONF_T_DOUBLE:
        memcpy(&d, field, sizeof(d));
        conf__fmt_double(d, buf, len);
        break;
    case CONF_T_ENUM:
        memcpy(&i, field, sizeof(i));
        snprintf(buf, len, "%s", k->values[i]);
        break;
    case CONF_T_FLAGS: {
        size_t used = 0;
        memcpy(&i, field, sizeof(i));
        for (int b = 0; k->values[b] && used < len; b++)
            if (i & (1 << b))
                used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "",
                                         k->values[b]);
        break;
    }
    case CONF_T_STRING:
    case CONF_T_LIST:
    case CONF_T_LISTENERS:
        snprintf(buf, len, "%s", field);
        break;
    }
}

/* ---- listeners -------------------------------------------------------- */

static int __attribute__((format(printf, 3, 4)))
conf__lerr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int
conf_parse_listeners(const char *s, struct sl_listener *out, int max, char *err, size_t errlen)
{
    char item[512];
    int n = 0;

    while (conf__next_item(&s, item, sizeof(item))) {
        struct sl_listener l;
        char *sep, *host, *hend, *port, *end;
        long pv;

        memset(&l, 0, sizeof(l));
        if (!*item)
            continue;
        sep = strstr(item, "://");
        if (!sep || sep == item)
            return conf__lerr(err, errlen, "listener '%s' is not NAME://host:port", item);
        if ((size_t)(sep - item) >= sizeof(l.name))
            return conf__lerr(err, errlen, "listener name too long in '%s'", item);
        for (char *c = item; c < sep; c++) {
            if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
                return conf__lerr(err, errlen, "bad listener name in '%s'", item);
            l.name[c - item] = (char)toupper((unsigned char)*c);
        }
        host = sep + 3;
        if (*host == '[') {
            hend = strchr(host, ']');
            if (!hend || hend[1] != ':')
                return conf__lerr(err, errlen, "bad IPv6 address in '%s'", item);
            host++;
            port = hend + 2;
        } else {
            hend = strrchr(host, ':');
            if (!hend)
                return conf__lerr(err, errlen, "listener '%s' has no port", item);
            port = hend + 1;
        }
        if ((size_t)(hend - host) >= sizeof(l.host))
            return conf__lerr(err, errlen, "host name too long in '%s'", item);
        memcpy(l.host, host, (size_t)(hend - host));
        for (char *c = l.host; *c; c++)
            if (!isalnum((unsigned char)*c) && !strchr("-._:%", *c))
                return conf__lerr(err, errlen, "bad host in '%s'", item);
        errno = 0;
        pv = *port ? strtol(port, &end, 10) : -1;
        if (!*port || errno || *end || !isdigit((unsigned char)*port) || pv > 65535)
            return conf__lerr(err, errlen, "bad port in '%s' (0-65535)", item);
        l.port = (int)pv;
        for (int i = 0; i < n; i++)
            if (strcmp(out[i].name, l.name) == 0)
                return conf__lerr(err, errlen, "listener name %s used twice", l.name);
        if (n >= max)
            return conf__lerr(err, errlen, "more than %d listeners", max);
        out[n++] = l;
    }
    if (n == 0)
        return conf__lerr(err, errlen, "no listener given");
    return n;
}

void
conf_gen_cluster_id(char out[23])
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t u[18];

    do {
        memset(u, 0, sizeof(u));
        if (getrandom(u, 16, 0) != 16) {
            /* no entropy source: time and pid are still unique enough */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
            memcpy(u, &x, 8);
            x ^= (uint64_t)getpid() << 32;
            memcpy(u + 8, &x, 8);
        }
        u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);   /* version 4 */
        u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);   /* IETF variant */
        for (int i = 0, o = 0; i < 18; i += 3) {
            uint32_t v = (uint32_t)u[i] << 16 | (uint32_t)u[i + 1] << 8 | u[i + 2];
            for (int j = 3; j >= 0 && o < 22; j--)
                out[o++] = b64[(v >> (6 * j)) & 63];
        }
        out[22] = 0;
    } while (out[0] == '-');                      /* as Kafka's Uuid.randomUuid */
}

/* ---- broker ----------------------------------------------------------- */

static int
conf__is_set(const uint64_t *bits, size_t i)
{
    return (bits[i / 64] >> (i % 64)) & 1;
}

static int
conf__key_set(const struct sl_conf *c, const char *name)
{
    int i = conf_broker_key_index(name);
    return i >= 0 && conf__is_set(c->set_bits, (size_t)i);
}

static void
conf__derive_advertised(struct sl_conf *c)
{
    const char *src = c->advertised_listeners_str[0] ? c->advertised_listeners_str
                                                     : c->listeners_str;
    int n = conf_parse_listeners(src, c->advertised, SL_CONF_MAX_LISTENERS, NULL, 0);
    c->nadvertised = n < 0 ? 0 : n;
    for (int i = 0; i < c->nadvertised; i++) {
        char *h = c->advertised[i].host;
        if (!h[0] || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0)
            snprintf(h, SL_CONF_HOST_MAX, "localhost");
    }
}

/* Resolve keys that depend on other keys; Kafka's precedence. */
static int
conf__finish(struct sl_conf *c, char *err, size_t errlen)
{
    int n;
    long ncpu;

    if (conf__key_set(c, "node.id")) {
        if (conf__key_set(c, "broker.id") && c->broker_id != c->node_id) {
            snprintf(err, errlen, "broker.id (%d) and node.id (%d) must match",
                     (int)c->broker_id, (int)c->node_id);
            return SL_ERR_INVALID_CONFIG;
        }
        c->broker_id = c->node_id;
    }
    if (c->broker_id == -1 && !c->zookeeper_connect[0])
        c->broker_id = 0;

    if (!conf__key_set(c, "zookeeper.connection.timeout.ms"))
        c->zookeeper_connection_timeout_ms = c->zookeeper_session_timeout_ms;

    if (conf__key_set(c, "log.retention.ms"))
        c->log_retention_ms = c->log_retention_ms_cfg;
    else if (conf__key_set(c, "log.retention.minutes"))
        c->log_retention_ms = (int64_t)c->log_retention_minutes * 60000;
    else
        c->log_retention_ms = (int64_t)c->log_retention_hours * 3600000;
    if (c->log_retention_ms < 0)
        c->log_retention_ms = -1;

    c->log_roll_ms = conf__key_set(c, "log.roll.ms") ? c->log_roll_ms_cfg
                                                     : (int64_t)c->log_roll_hours * 3600000;
    c->log_roll_jitter_ms = conf__key_set(c, "log.roll.jitter.ms")
                                ? c->log_roll_jitter_ms_cfg
                                : (int64_t)c->log_roll_jitter_hours * 3600000;
    c->log_flush_interval_ms = conf__key_set(c, "log.flush.interval.ms")
                                   ? c->log_flush_interval_ms_cfg
                                   : c->log_flush_scheduler_interval_ms;

    if (c->log_dirs[0]) {
        const char *p = c->log_dirs;
        char first[SL_CONF_PATH_MAX];
        c->data_dir[0] = 0;
        while (conf__next_item(&p, first, sizeof(first)))
            if (first[0]) {
                snprintf(c->data_dir, sizeof(c->data_dir), "%s", first);
                break;
            }
    } else {
        snprintf(c->data_dir, sizeof(c->data_dir), "%s", c->log_dir);
    }
    if (!c->data_dir[0]) {
        snprintf(err, errlen, "invalid value '%s' for log.dirs: no directory", c->log_dirs);
        return SL_ERR_INVALID_CONFIG;
    }

    n = conf_parse_listeners(c->listeners_str, c->listeners, SL_CONF_MAX_LISTENERS, NULL, 0);
    c->nlisteners = n < 0 ? 0 : n;
    conf__derive_advertised(c);

    if (c->num_network_threads == 0) {
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        c->num_network_threads = ncpu > 0 ? (int32_t)(ncpu > 1024 ? 1024 : ncpu) : 1;
    }
    return 0;
}

static void
conf__apply_defaults(struct sl_conf *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < NBROKER; i++) {
        char e[256];
        if (broker_keys[i].def && conf__parse(&broker_keys[i], c, broker_keys[i].def, e,
                                              sizeof(e)) != 0)
            SL_ERROR("conf", "bad built-in default: %s", e);   /* a bug in the table */
    }
}

void
conf_defaults(struct sl_conf *out)
{
    char e[256];
    conf__apply_defaults(out);
    (void)conf__finish(out, e, sizeof(e));
}

/* Set one key during loading. Unknown keys warn and are ignored. */
static int
conf__set_loading(struct sl_conf *c, const char *key, const char *value, const char *where,
                  char *err, size_t errlen)
{
    int i = conf_broker_key_index(key);
    int rc;
    if (i < 0) {
        SL_WARN("conf", "%s: unknown config key '%s' ignored", where, key);
        return 0;
    }
    rc = conf__parse(&broker_keys[i], c, value, err, errlen);
    if (rc == 0)
        c->set_bits[i / 64] |= (uint64_t)1 << (i % 64);
    return rc;
}

static char *
conf__trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

/* 1 if the line ends in an odd number of backslashes (continuation). */
static int
conf__continues(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && s[len - 1 - n] == '\\')
        n++;
    return n & 1;
}

/* One logical line "key=value", "key: value" or "key value" (modified in place). */
static int
conf__load_line(struct sl_conf *c, char *line, const char *path, int lineno, char *err,
                size_t errlen)
{
    char where[256], msg[512], *key, *value, *p;
    int rc;

    /* key ends at the first '=', ':' or whitespace; after whitespace an
     * optional '=' or ':' still separates (Java properties) */
    key = p = line;
    while (*p && *p != '=' && *p != ':' && !isspace((unsigned char)*p))
        p++;
    if (*p == '=' || *p == ':') {
        *p = 0;
        value = p + 1;
    } else if (*p) {
        *p = 0;
        value = conf__trim(p + 1);
        if (*value == '=' || *value == ':')
            value++;
    } else {
        value = p;
    }
    value = conf__trim(value);
    snprintf(where, sizeof(where), "%s:%d", path, lineno);
    rc = conf__set_loading(c, key, value, where, msg, sizeof(msg));
    if (rc)
        snprintf(err, errlen, "%s: %s", where, msg);
    return rc;
}

static int
conf__load_file(struct sl_conf *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, *logical = NULL;
    size_t cap = 0, llen = 0;
    ssize_t got;
    int lineno = 0, start = 0, rc = 0;

    if (!f) {
        snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
        return SL_ERR__IO;
    }
    while ((got = getline(&line, &cap, f)) >= 0) {
        char *seg = line, *tmp;
        size_t slen;
        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = 0;
        if (!logical) {
            start = lineno;
            seg = conf__trim(line);
            if (!*seg || *seg == '#' || *seg == '!')
                continue;
        } else {
            while (isspace((unsigned char)*seg))
                seg++;
        }
        slen = strlen(seg);
        tmp = realloc(logical, llen + slen + 1);
        if (!tmp) {
            snprintf(err, errlen, "out of memory reading %s", path);
            rc = SL_ERR__NOMEM;
            break;
        }
        logical = tmp;
        memcpy(logical + llen, seg, slen + 1);
        llen += slen;
        if (conf__continues(logical, llen)) {
            logical[--llen] = 0;
            continue;
        }
        rc = conf__load_line(c, logical, path, start, err, errlen);
        if (rc)
            break;
        free(logical);
        logical = NULL;
        llen = 0;
    }
    if (!rc && logical)                         /* file ended inside a continuation */
        rc = conf__load_line(c, logical, path, start, err, errlen);
    free(logical);
    free(line);
    fclose(f);
    return rc;
}

int
conf_load(struct sl_conf *out, const char *path, int noverrides, const char **overrides,
          char *err, size_t errlen)
{
    char msg[512];
    int rc;

    if (err && errlen)
        err[0] = 0;
    conf__apply_defaults(out);
    if (path && (rc = conf__load_file(out, path, err, errlen)) != 0)
        return rc;
    for (int i = 0; i < noverrides; i++) {
        char kv[8192], *eq, *key, *value;
        if (snprintf(kv, sizeof(kv), "%s", overrides[i]) >= (int)sizeof(kv) ||
            !(eq = strchr(kv, '='))) {
            snprintf(err, errlen, "invalid override '%s': expected key=value", overrides[i]);
            return SL_ERR_INVALID_CONFIG;
        }
        *eq = 0;
        key = conf__trim(kv);
        value = conf__trim(eq + 1);
        if ((rc = conf__set_loading(out, key, value, "--override", msg, sizeof(msg))) != 0) {
            snprintf(err, errlen, "%s", msg);
            return rc;
        }
    }
    return conf__finish(out, err, errlen);
}

int
conf_broker_set(struct sl_conf *c, const char *name, const char *value, char *err,
                size_t errlen)
{
    int i = conf_broker_key_index(name);
    struct sl_conf tmp;
    int rc;
    if (i < 0) {
        snprintf(err, errlen, "unknown config %s", name);
        return SL_ERR_INVALID_CONFIG;
    }
    tmp = *c;
    if ((rc = conf__parse(&broker_keys[i], &tmp, value, err, errlen)) != 0)
        return rc;
    tmp.set_bits[i / 64] |= (uint64_t)1 << (i % 64);
    if ((rc = conf__finish(&tmp, err, errlen)) != 0)
        return rc;
    *c = tmp;
    return 0;
}

int
conf_broker_get(const struct sl_conf *c, const char *name, char *buf, size_t len, int *is_null)
{
    int i = conf_broker_key_index(name);
    if (is_null)
        *is_null = 0;
    if (i < 0) {
        if (len)
            buf[0] = 0;
        return SL_ERR_INVALID_CONFIG;
    }
    if (!broker_keys[i].def && !conf__is_set(c->set_bits, (size_t)i)) {
        if (len)
            buf[0] = 0;
        if (is_null)
            *is_null = 1;
        return 0;
    }
    conf__format(&broker_keys[i], c, buf, len);
    return 0;
}

int
conf_broker_is_set(const struct sl_conf *c, const char *name)
{
    return conf__key_set(c, name);
}

int
conf_broker_describe(const struct sl_conf *c, size_t idx, char *buf, size_t len,
                     struct conf_desc *out)
{
    const struct conf_key *k;
    if (idx >= NBROKER)
        return SL_ERR__INVALID_ARG;
    k = &broker_keys[idx];
    memset(out, 0, sizeof(*out));
    out->key = k;
    conf_broker_get(c, k->name, buf, len, &out->is_null);
    out->value = buf;
    out->source = conf__is_set(c->set_bits, idx) ? CONF_SRC_STATIC_BROKER : CONF_SRC_DEFAULT;
    out->is_default = out->source == CONF_SRC_DEFAULT;
    out->read_only = 1;                    /* no dynamic broker configs */
    out->sensitive = (k->flags & CONF_F_SENSITIVE) != 0;
    return 0;
}

/* ---- topic ------------------------------------------------------------ */

static size_t
conf__type_size(enum conf_type t)
{
    switch (t) {
    case CONF_T_INT:    return sizeof(int32_t);
    case CONF_T_LONG:   return sizeof(int64_t);
    case CONF_T_DOUBLE: return sizeof(double);
    default:            return sizeof(int);     /* BOOL, ENUM, FLAGS */
    }
}

static void
conf__topic_default_one(const struct sl_conf *b, struct sl_topic_conf *t, size_t i)
{
    const struct conf_key *k = &topic_keys[i];
    memcpy((char *)t + k->off, (const char *)b + k->boff, conf__type_size(k->type));
}

void
conf_topic_defaults(const struct sl_conf *broker, struct sl_topic_conf *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < NTOPIC; i++)
        conf__topic_default_one(broker, out, i);
    out->set_mask = 0;
}

int
conf_topic_set(struct sl_topic_conf *t, const char *name, const char *value, char *err,
               size_t errlen)
{
    int i = conf_topic_key_index(name);
    int rc;
    if (i < 0) {
        if (err && errlen)
            snprintf(err, errlen, "unknown config %s", name);
        return SL_ERR_INVALID_CONFIG;
    }
    if (!value) {
        if (err && errlen)
            snprintf(err, errlen, "null value for %s", name);
        return SL_ERR_INVALID_CONFIG;
    }
    {
        /* parse trimmed, as Kafka's ConfigDef does for typed values */
        char v[512];
        if (strlen(value) >= sizeof(v)) {
            conf__bad(err, errlen, name, value, "too long");
            return SL_ERR_INVALID_CONFIG;
        }
        snprintf(v, sizeof(v), "%s", value);
        rc = conf__parse(&topic_keys[i], t, conf__trim(v), err, errlen);
    }
    if (rc == 0)
        t->set_mask |= (uint64_t)1 << i;
    return rc;
}

int
conf_topic_reset(struct sl_topic_conf *t, const struct sl_conf *broker, const char *name)
{
    int i = conf_topic_key_index(name);
    if (i < 0)
        return SL_ERR_INVALID_CONFIG;
    conf__topic_default_one(broker, t, (size_t)i);
    t->set_mask &= ~((uint64_t)1 << i);
    return 0;
}

int
conf_topic_get(const struct sl_topic_conf *t, const char *name, char *buf, size_t len)
{
    int i = conf_topic_key_index(name);
    if (i < 0) {
        if (len)
            buf[0] = 0;
        return SL_ERR_INVALID_CONFIG;
    }
    conf__format(&topic_keys[i], t, buf, len);
    return 0;
}

int
conf_topic_is_set(const struct sl_topic_conf *t, const char *name)
{
    int i = conf_topic_key_index(name);
    return i >= 0 && ((t->set_mask >> i) & 1);
}

int
conf_topic_describe(const struct sl_conf *broker, const struct sl_topic_conf *t, size_t idx,
                    char *buf, size_t len, struct conf_desc *out)
{
    const struct conf_key *k;
    if (idx >= NTOPIC)
        return SL_ERR__INVALID_ARG;
    k = &topic_keys[idx];
    memset(out, 0, sizeof(*out));
    out->key = k;
    conf__format(k, t, buf, len);
    out->value = buf;
    out->synonym = k->synonym;
    out->synonym_source = CONF_SRC_DEFAULT;
    /* a topic key falls back to the first of its broker synonyms that is set */
    for (size_t i = 0; i < NBROKER; i++) {
        if (broker_keys[i].synonym && strcmp(broker_keys[i].synonym, k->name) == 0 &&
            conf__is_set(broker->set_bits, i)) {
            out->synonym = broker_keys[i].name;
            out->synonym_source = CONF_SRC_STATIC_BROKER;
            break;
        }
    }
    if ((t->set_mask >> idx) & 1)
        out->source = CONF_SRC_DYNAMIC_TOPIC;
    else
        out->source = out->synonym_source;
    out->is_default = out->source == CONF_SRC_DEFAULT;
    out->read_only = 0;
    out->sensitive = 0;
    return 0;
}
