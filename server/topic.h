/* server/topic.h -- the broker's topics and partitions, and their metadata
 * on disk.
 *
 * A topic has a name, a 16-byte id, a config (server/conf.h: broker
 * defaults plus per-topic overrides) and N partitions, each backed by a
 * partition log (storage/plog.h) in <data dir>/<topic>-<partition>/.
 *
 * Metadata survives restarts in <data dir>/sluice-topics.meta, rewritten
 * atomically (storage/ckpt.h) on every change:
 *
 *   version 1
 *   cluster_id <id>
 *   topic <name> <32 hex id> <partitions>
 *   config <name> <key> <value>
 *
 * Threading: the registry is shared by every loop thread. Lookups take a
 * read lock; create/delete/alter take the write lock. A looked-up topic is
 * reference counted (topic_put): a deleted topic disappears from lookups at
 * once, its logs are closed and its directories removed when the last
 * reference goes (a parked fetch may still hold one). Partitions live as
 * long as their topic. A topic's config is read with topics_conf_copy()
 * (under the lock), never through the pointer, since AlterConfigs may
 * change it from another thread.
 */
#ifndef SL_TOPIC_H
#define SL_TOPIC_H

#include <stdint.h>
#include "server/conf.h"
#include "storage/plog.h"

#define TOPIC_NAME_MAX 249

struct topic;
struct topics;

struct partition {
    struct topic *topic;       /* not a reference: the partition lives in it */
    int32_t       index;
    struct plog  *log;
    int32_t       leader_epoch;
};

struct topic {
    char               name[TOPIC_NAME_MAX + 1];
    uint8_t            id[16];
    int32_t            nparts;
    int32_t            want_parts;  /* while loading: partitions to open */
    struct partition **parts;     /* read under the registry lock */
    struct sl_topic_conf conf;    /* read with topics_conf_copy */
    int                internal;  /* __consumer_offsets and the like */
    int                refs;      /* atomic */
    int                deleted;
    int                renamed;   /* directories moved to <dir>.<id>-delete */
    struct topics     *reg;
};

/* Open the registry in conf->data_dir: read the metadata file, open every
 * partition log (recovering those that stopped uncleanly). The cluster id
 * is created and persisted on first start. conf must outlive the registry. */
int topics_open(struct topics **out, const struct sl_conf *conf);
/* Clean stop: close every log (flush, checkpoints, clean flag). */
void topics_close(struct topics *reg);

const char *topics_cluster_id(const struct topics *reg);

/* Kafka's rule: 1..249 chars of [a-zA-Z0-9._-], not "." or "..". */
int topic_name_valid(const char *name, size_t len);

/* @returns a reference (topic_put it) or NULL if there is no such topic. */
struct topic *topics_get(struct topics *reg, const char *name, size_t len);
void topic_ref(struct topic *t);
void topic_put(struct topic *t);
/* Partition idx of t, or NULL if out of range. Valid while t is held. */
struct partition *topic_partition(struct topic *t, int32_t idx);
int32_t topic_partition_count(struct topic *t);
/* Copy of t's current config. */
void topics_conf_copy(struct topic *t, struct sl_topic_conf *out);

/* All topics, referenced, in name order; free with topics_list_free. */
int topics_list(struct topics *reg, struct topic ***out, int *n);
void topics_list_free(struct topic **list, int n);

/* Create a topic. nparts -1 / rf -1: broker defaults. configs are nconf
 * key/value pairs validated with conf_topic_set. 0 or a wire error code
 * (TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS,
 * INVALID_REPLICATION_FACTOR, INVALID_CONFIG, KAFKA_STORAGE_ERROR) with a
 * message in err. validate_only: check, create nothing. out may be NULL;
 * else it gets a reference to the new topic. */
int topics_create(struct topics *reg, const char *name, int32_t nparts, int32_t rf,
                  int nconf, const char *const *keys, const char *const *values,
                  int validate_only, int internal, struct topic **out,
                  char *err, size_t errlen);
/* Delete: gone from lookups now, data removed when unreferenced. */
int topics_delete(struct topics *reg, const char *name, size_t len);
/* Grow to total partitions (CreatePartitions). */
int topics_add_partitions(struct topics *reg, const char *name, size_t len, int32_t total,
                          int validate_only, char *err, size_t errlen);

/* One config change for topics_alter_config. */
enum topic_conf_op { TOPIC_CONF_SET = 0, TOPIC_CONF_DELETE = 1 };
struct topic_conf_change {
    const char *key;
    const char *value;    /* NULL for DELETE */
    int         op;
};
/* Apply changes atomically (all or none). replace_all: AlterConfigs
 * semantics, every override not named is dropped. Persisted, and the
 * partition logs get the new storage settings. */
int topics_alter_config(struct topics *reg, const char *name, size_t len,
                        const struct topic_conf_change *ch, int n, int replace_all,
                        int validate_only, char *err, size_t errlen);

/* Housekeeping, called from one thread periodically: retention, flush
 * policy, checkpoints (every checkpoint_interval_ms). */
void topics_housekeeping(struct topics *reg, int64_t now_ms);

/* The storage settings of a topic config. */
void topic_plog_config(const struct sl_topic_conf *tc, const struct sl_conf *bc,
                       struct plog_config *out);

#endif
