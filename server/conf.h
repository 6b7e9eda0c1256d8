/* server/conf.h -- broker and topic configuration, with Kafka's key names.
 *
 * Two tables, one row per key (name, type, default, range, doc, offsetof
 * into the struct): conf_broker_keys() for struct sl_conf and
 * conf_topic_keys() for struct sl_topic_conf. Each topic key names its
 * broker-level synonym (retention.ms <- log.retention.ms), as Kafka's
 * LogConfig does, and conf_topic_defaults() derives a topic's defaults from
 * the broker's effective values.
 *
 * Loading: conf_load() applies the defaults, then the properties file
 * (k=v, k:v or "k v"; # and ! comments; trailing-backslash continuation),
 * then each --override k=v in order. Unknown keys are warned about and
 * ignored; an invalid value fails the load with a message naming the key
 * and value. Afterwards the derived fields are computed (Kafka's rules):
 *
 *   log_retention_ms  = log.retention.ms ?: minutes*60000 ?: hours*3600000
 *                       (negative -> -1, unlimited)
 *   log_roll_ms       = log.roll.ms ?: log.roll.hours*3600000 (jitter alike)
 *   log_flush_interval_ms = log.flush.interval.ms ?: log.flush.scheduler.interval.ms
 *   broker_id         = node.id if set (must agree with broker.id); -1
 *                       becomes 0 when zookeeper.connect is empty
 *   data_dir          = first entry of log.dirs if set, else log.dir
 *   num_network_threads 0 -> number of online CPUs
 *   advertised        = advertised.listeners, else listeners; an empty
 *                       host or 0.0.0.0/:: in a *derived* advertised
 *                       listener becomes "localhost" (Sluice's choice; set
 *                       advertised.listeners for remote clients); an
 *                       explicit advertised 0.0.0.0 is refused, as Kafka
 *                       does. A port of 0 means "the port actually bound":
 *                       the network layer fills it in after bind().
 *
 * cluster.id is empty unless configured: whoever owns the data directory
 * generates one with conf_gen_cluster_id() and persists it.
 * log.level is parsed but not applied: main calls sl_log_set_level().
 *
 * Source tracking: each struct keeps a bitmap of the keys set explicitly
 * (file/override for the broker, AlterConfigs/CreateTopics for a topic);
 * only set topic keys are overrides to persist, and DescribeConfigs reports
 * the source from it (conf_topic_describe()).
 *
 * Threading: loaded once before the loops start, then read-only. A topic's
 * sl_topic_conf is owned by its topic and changed on the loop thread.
 */
#ifndef SL_CONF_H
#define SL_CONF_H

#include <stddef.h>
#include <stdint.h>

#define SL_CONF_MAX_LISTENERS 8
#define SL_CONF_HOST_MAX      256
#define SL_CONF_PATH_MAX      4096

struct sl_listener {
    char name[32];                 /* PLAINTEXT, SSL, SASL_PLAINTEXT, ... */
    char host[SL_CONF_HOST_MAX];   /* "" = all interfaces (0.0.0.0); IPv6 without [] */
    int  port;                     /* 0 = ephemeral */
};

/* enum values as stored (index into the row's allowed words) */
enum sl_ts_type { SL_TS_CREATE_TIME = 0, SL_TS_LOG_APPEND_TIME = 1 };
enum sl_compression {
    SL_COMPRESSION_PRODUCER = 0, SL_COMPRESSION_UNCOMPRESSED, SL_COMPRESSION_GZIP,
    SL_COMPRESSION_SNAPPY, SL_COMPRESSION_LZ4, SL_COMPRESSION_ZSTD,
};
/* cleanup.policy is a set of flags */
#define SL_CLEANUP_COMPACT 0x1
#define SL_CLEANUP_DELETE  0x2

struct sl_conf {
    /* identity and cluster */
    int32_t broker_id;                     /* effective (see above) */
    int32_t node_id;
    char    cluster_id[64];
    char    broker_rack[64];
    char    zookeeper_connect[1024];
    int32_t zookeeper_session_timeout_ms;
    int32_t zookeeper_connection_timeout_ms;
    int     controlled_shutdown_enable;
    int     auto_leader_rebalance_enable;

    /* network */
    char    listeners_str[1024];
    struct sl_listener listeners[SL_CONF_MAX_LISTENERS];
    int     nlisteners;
    char    advertised_listeners_str[1024];
    struct sl_listener advertised[SL_CONF_MAX_LISTENERS];   /* effective */
    int     nadvertised;
    char    inter_broker_listener_name[32];
    int32_t num_network_threads;
    int32_t num_io_threads;
    int32_t socket_request_max_bytes;
    int32_t socket_send_buffer_bytes;
    int32_t socket_receive_buffer_bytes;
    int32_t max_connections;
    int64_t connections_max_idle_ms;
    int64_t queued_max_request_bytes;
    int32_t message_max_bytes;
    int32_t fetch_max_bytes;

    /* log */
    char    log_dirs[SL_CONF_PATH_MAX];
    char    log_dir[SL_CONF_PATH_MAX];
    char    data_dir[SL_CONF_PATH_MAX];    /* effective: first log dir */
    int32_t num_partitions;
    int32_t default_replication_factor;
    int     auto_create_topics_enable;
    int     delete_topic_enable;
    int32_t log_segment_bytes;
    int64_t log_roll_ms_cfg;
    int32_t log_roll_hours;
    int64_t log_roll_ms;                   /* effective */
    int64_t log_roll_jitter_ms_cfg;
    int32_t log_roll_jitter_hours;
    int64_t log_roll_jitter_ms;            /* effective */
    int64_t log_retention_bytes;
    int64_t log_retention_ms_cfg;
    int32_t log_retention_minutes;
    int32_t log_retention_hours;
    int64_t log_retention_ms;              /* effective, -1 = unlimited */
    int32_t log_index_interval_bytes;
    int32_t log_index_size_max_bytes;
    int64_t log_flush_interval_messages;
    int64_t log_flush_interval_ms_cfg;
    int64_t log_flush_scheduler_interval_ms;
    int64_t log_flush_interval_ms;         /* effective */
    int64_t log_retention_check_interval_ms;
    int64_t log_flush_offset_checkpoint_interval_ms;
    int64_t log_flush_start_offset_checkpoint_interval_ms;
    int64_t log_segment_delete_delay_ms;
    int     log_message_timestamp_type;    /* enum sl_ts_type */
    int64_t log_message_timestamp_difference_max_ms;
    int64_t log_message_timestamp_before_max_ms;
    int64_t log_message_timestamp_after_max_ms;
    int     log_cleanup_policy;            /* SL_CLEANUP_* flags */
    int     compression_type;              /* enum sl_compression */
    int     log_preallocate;
    int     log_message_downconversion_enable;
    int     log_cleaner_enable;
    int32_t log_cleaner_threads;
    int64_t log_cleaner_delete_retention_ms;
    int64_t log_cleaner_min_compaction_lag_ms;
    int64_t log_cleaner_max_compaction_lag_ms;
    double  log_cleaner_min_cleanable_ratio;
    int32_t num_recovery_threads_per_data_dir;

    /* replication */
    int32_t min_insync_replicas;
    int     unclean_leader_election_enable;
    int64_t replica_lag_time_max_ms;
    int32_t num_replica_fetchers;
    int32_t replica_fetch_max_bytes;
    int32_t replica_fetch_min_bytes;
    int32_t replica_fetch_wait_max_ms;
    int32_t replica_fetch_response_max_bytes;
    int32_t replica_socket_timeout_ms;
    int64_t replica_high_watermark_checkpoint_interval_ms;

    /* groups and offsets */
    int32_t group_initial_rebalance_delay_ms;
    int32_t group_min_session_timeout_ms;
    int32_t group_max_session_timeout_ms;
    int32_t group_max_size;
    int32_t offsets_topic_num_partitions;
    int32_t offsets_topic_replication_factor;
    int32_t offsets_topic_segment_bytes;
    int32_t offsets_retention_minutes;
    int64_t offsets_retention_check_interval_ms;
    int32_t offset_metadata_max_bytes;
    int32_t offsets_commit_timeout_ms;

    /* transactions / idempotence */
    int32_t transactional_id_expiration_ms;
    int32_t producer_id_expiration_ms;
    int32_t transaction_max_timeout_ms;
    int32_t transaction_state_log_num_partitions;
    int32_t transaction_state_log_replication_factor;
    int32_t transaction_state_log_min_isr;

    /* Sluice extensions */
    int     log_level;                     /* enum sl_log_level */
    int     acks_all_fsync;                /* sluice.acks.all.fsync */

    uint64_t set_bits[4];                  /* per broker-table row: set explicitly */
};

struct sl_topic_conf {
    int     cleanup_policy;                /* SL_CLEANUP_* */
    int     compression_type;              /* enum sl_compression */
    int64_t delete_retention_ms;
    int64_t file_delete_delay_ms;
    int64_t flush_messages;
    int64_t flush_ms;
    int32_t index_interval_bytes;
    int64_t max_compaction_lag_ms;
    int32_t max_message_bytes;
    int     message_downconversion_enable;
    int64_t message_timestamp_difference_max_ms;
    int64_t message_timestamp_before_max_ms;
    int64_t message_timestamp_after_max_ms;
    int     message_timestamp_type;        /* enum sl_ts_type */
    double  min_cleanable_dirty_ratio;
    int64_t min_compaction_lag_ms;
    int32_t min_insync_replicas;
    int     preallocate;
    int64_t retention_bytes;
    int64_t retention_ms;
    int32_t segment_bytes;
    int32_t segment_index_bytes;
    int64_t segment_jitter_ms;
    int64_t segment_ms;
    int     unclean_leader_election_enable;
    uint64_t set_mask;                     /* bit i: topic-table row i overridden */
};

/* ---- the key tables --------------------------------------------------- */

enum conf_type {
    CONF_T_INT,        /* int32_t */
    CONF_T_LONG,       /* int64_t */
    CONF_T_BOOL,       /* int, 0/1; "true"/"false" */
    CONF_T_DOUBLE,     /* double */
    CONF_T_STRING,     /* char[size] */
    CONF_T_LIST,       /* char[size], comma-separated */
    CONF_T_ENUM,       /* int, index into values[] */
    CONF_T_FLAGS,      /* int, bit i = values[i]; comma-separated, non-empty */
    CONF_T_LISTENERS,  /* char[size] + parsed struct sl_listener[] */
};

enum conf_scope { CONF_SCOPE_BROKER = 1, CONF_SCOPE_TOPIC = 2, CONF_SCOPE_BOTH = 3 };

#define CONF_F_READONLY  0x1   /* cannot be altered at runtime */
#define CONF_F_SENSITIVE 0x2   /* value never reported */
#define CONF_F_UNUSED    0x4   /* accepted for compatibility, no effect */

struct conf_key {
    const char        *name;
    enum conf_type     type;
    const char        *def;       /* default as text; NULL = none (null) */
    int64_t            min, max;  /* INT/LONG */
    double             dmin, dmax;/* DOUBLE */
    const char *const *values;    /* ENUM/FLAGS: NULL-terminated allowed words */
    enum conf_scope    scope;     /* BOTH: a broker key that defaults a topic key */
    size_t             off;       /* offsetof into sl_conf / sl_topic_conf */
    size_t             size;      /* STRING/LIST/LISTENERS: buffer size */
    size_t             boff;      /* topic rows: offsetof the broker's effective value */
    const char        *synonym;   /* topic row: broker key; broker row: topic key */
    unsigned           flags;     /* CONF_F_* */
    const char        *doc;
};

/* Tables (static storage); *n gets the row count. */
const struct conf_key *conf_broker_keys(size_t *n);
const struct conf_key *conf_topic_keys(size_t *n);
/* Row index of name, or -1. */
int conf_broker_key_index(const char *name);
int conf_topic_key_index(const char *name);
/* DescribeConfigs config_type: BOOLEAN 1, STRING 2, INT 3, LONG 5,
 * DOUBLE 6, LIST 7. */
int conf_key_wire_type(const struct conf_key *k);

/* ---- broker ----------------------------------------------------------- */

/* Defaults, then the file (path NULL: none), then overrides ("k=v" each).
 * Returns 0, SL_ERR_INVALID_CONFIG (bad value, bad override, conflicting
 * keys) or SL_ERR__IO (file unreadable); err gets a one-line message
 * ("invalid value 'abc' for log.segment.bytes: not an integer"). */
int conf_load(struct sl_conf *out, const char *path, int noverrides,
              const char **overrides, char *err, size_t errlen);
/* Defaults only, derived fields computed (as conf_load(c, NULL, 0, ...)). */
void conf_defaults(struct sl_conf *out);
/* Set one broker key on a loaded conf, then recompute derived fields.
 * Unknown key -> SL_ERR_INVALID_CONFIG "unknown config". */
int conf_broker_set(struct sl_conf *c, const char *name, const char *value,
                    char *err, size_t errlen);
/* Format a broker key's value as Kafka does. 0; SL_ERR_INVALID_CONFIG if
 * unknown; a key without value (null default, unset) gives "" and *is_null
 * = 1 (is_null may be NULL). Sensitive keys are formatted too; the caller
 * decides whether to report them. */
int conf_broker_get(const struct sl_conf *c, const char *name, char *buf, size_t len,
                    int *is_null);
/* 1 if the key was set by the file or an override. */
int conf_broker_is_set(const struct sl_conf *c, const char *name);

/* Parse a listeners list ("PLAINTEXT://host:port,SSL://[::1]:9093").
 * Returns the count or -1 with err filled; at most max entries. */
int conf_parse_listeners(const char *s, struct sl_listener *out, int max,
                         char *err, size_t errlen);

/* A random cluster id as Kafka makes them: 22 chars of URL-safe base64 of
 * a 16-byte UUID. out must hold 23 bytes. */
void conf_gen_cluster_id(char out[23]);

/* ---- topic ------------------------------------------------------------ */

/* All topic keys at the broker's defaults, no overrides. */
void conf_topic_defaults(const struct sl_conf *broker, struct sl_topic_conf *out);
/* Validate and set one topic key (marks it overridden). Unknown key or bad
 * value -> SL_ERR_INVALID_CONFIG with a message; *out unchanged then. */
int conf_topic_set(struct sl_topic_conf *t, const char *name, const char *value,
                   char *err, size_t errlen);
/* Drop an override: back to the broker default, unmarked. 0 or
 * SL_ERR_INVALID_CONFIG if the key is unknown. */
int conf_topic_reset(struct sl_topic_conf *t, const struct sl_conf *broker, const char *name);
/* Format a topic key's value. 0 or SL_ERR_INVALID_CONFIG (unknown key). */
int conf_topic_get(const struct sl_topic_conf *t, const char *name, char *buf, size_t len);
int conf_topic_is_set(const struct sl_topic_conf *t, const char *name);

/* DescribeConfigs config_source values */
enum conf_source {
    CONF_SRC_UNKNOWN = 0, CONF_SRC_DYNAMIC_TOPIC = 1, CONF_SRC_DYNAMIC_BROKER = 2,
    CONF_SRC_DYNAMIC_DEFAULT_BROKER = 3, CONF_SRC_STATIC_BROKER = 4,
    CONF_SRC_DEFAULT = 5, CONF_SRC_DYNAMIC_BROKER_LOGGER = 6,
};

/* One DescribeConfigs entry. value points into the caller's buffer. */
struct conf_desc {
    const struct conf_key *key;
    const char *value;         /* formatted; "" when is_null */
    int         is_null;
    int         source;        /* enum conf_source */
    int         is_default;    /* source == CONF_SRC_DEFAULT (v0 is_default) */
    int         read_only;
    int         sensitive;
    const char *synonym;       /* broker key a topic value falls back to, or NULL */
    int         synonym_source;/* STATIC_BROKER if that key is set, else DEFAULT */
};

/* Describe topic-table row idx / broker-table row idx, formatting the
 * value into buf. 0, or SL_ERR__INVALID_ARG for a bad index. */
int conf_topic_describe(const struct sl_conf *broker, const struct sl_topic_conf *t,
                        size_t idx, char *buf, size_t len, struct conf_desc *out);
int conf_broker_describe(const struct sl_conf *c, size_t idx, char *buf, size_t len,
                         struct conf_desc *out);

#endif
