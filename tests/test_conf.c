/* tests/test_conf.c -- server/conf.c: defaults, file and override
 * precedence, Kafka's retention/roll precedence, refused values naming the
 * key, listeners, topic-level keys (set/get/reset/describe), the sample
 * config/server.properties.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "server/conf.h"
#include "storage/err.h"
#include "storage/log.h"

TestSuite(conf, .timeout = 10);

static char tmpfile_path[64];

static const char *
write_tmp(const char *text)
{
    int fd;
    snprintf(tmpfile_path, sizeof(tmpfile_path), "/tmp/sluice-conf-XXXXXX");
    fd = mkstemp(tmpfile_path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return tmpfile_path;
}

static int
load_text(struct sl_conf *c, const char *text, int n, const char **ov, char *err, size_t errlen)
{
    const char *p = write_tmp(text);
    int rc = conf_load(c, p, n, ov, err, errlen);
    unlink(p);
    return rc;
}

Test(conf, defaults)
{
    struct sl_conf c;
    char err[256];
    cr_assert_eq(conf_load(&c, NULL, 0, NULL, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(c.broker_id, 0, "-1 becomes 0 without zookeeper");
    cr_assert_eq(c.nlisteners, 1);
    cr_assert_str_eq(c.listeners[0].name, "PLAINTEXT");
    cr_assert_str_eq(c.listeners[0].host, "");
    cr_assert_eq(c.listeners[0].port, 9092);
    cr_assert_eq(c.nadvertised, 1);
    cr_assert_str_eq(c.advertised[0].host, "localhost");
    cr_assert_eq(c.advertised[0].port, 9092);
    cr_assert_str_eq(c.data_dir, "/tmp/kafka-logs");
    cr_assert_geq(c.num_network_threads, 1);
    cr_assert_eq(c.num_partitions, 1);
    cr_assert_eq(c.default_replication_factor, 1);
    cr_assert_eq(c.auto_create_topics_enable, 1);
    cr_assert_eq(c.delete_topic_enable, 1);
    cr_assert_eq(c.log_segment_bytes, 1073741824);
    cr_assert_eq(c.log_roll_ms, 168LL * 3600000);
    cr_assert_eq(c.log_retention_ms, 168LL * 3600000);
    cr_assert_eq(c.log_retention_bytes, -1);
    cr_assert_eq(c.log_index_interval_bytes, 4096);
    cr_assert_eq(c.log_index_size_max_bytes, 10485760);
    cr_assert_eq(c.log_flush_interval_messages, INT64_MAX);
    cr_assert_eq(c.log_flush_interval_ms, INT64_MAX);
    cr_assert_eq(c.log_retention_check_interval_ms, 300000);
    cr_assert_eq(c.log_flush_offset_checkpoint_interval_ms, 60000);
    cr_assert_eq(c.message_max_bytes, 1048588);
    cr_assert_eq(c.log_message_timestamp_type, SL_TS_CREATE_TIME);
    cr_assert_eq(c.log_message_timestamp_difference_max_ms, INT64_MAX);
    cr_assert_eq(c.log_cleanup_policy, SL_CLEANUP_DELETE);
    cr_assert_eq(c.compression_type, SL_COMPRESSION_PRODUCER);
    cr_assert_eq(c.min_insync_replicas, 1);
    cr_assert_eq(c.socket_request_max_bytes, 104857600);
    cr_assert_eq(c.max_connections, INT32_MAX);
    cr_assert_eq(c.connections_max_idle_ms, 600000);
    cr_assert_eq(c.queued_max_request_bytes, -1);
    cr_assert_eq(c.group_initial_rebalance_delay_ms, 3000);
    cr_assert_eq(c.group_min_session_timeout_ms, 6000);
    cr_assert_eq(c.group_max_session_timeout_ms, 1800000);
    cr_assert_eq(c.group_max_size, INT32_MAX);
    cr_assert_eq(c.offsets_topic_num_partitions, 50);
    cr_assert_eq(c.offsets_retention_minutes, 10080);
    cr_assert_eq(c.offset_metadata_max_bytes, 4096);
    cr_assert_eq(c.transactional_id_expiration_ms, 604800000);
    cr_assert_eq(c.producer_id_expiration_ms, 86400000);
    cr_assert_str_eq(c.zookeeper_connect, "");
    cr_assert_str_eq(c.cluster_id, "");
    cr_assert_eq(c.log_level, SL_LOG_INFO);
    cr_assert_eq(c.acks_all_fsync, 1);
    cr_assert_eq(c.zookeeper_connection_timeout_ms, c.zookeeper_session_timeout_ms);

    struct sl_conf d;
    conf_defaults(&d);
    cr_assert_eq(d.log_retention_ms, c.log_retention_ms);
    cr_assert_eq(d.broker_id, 0);
}

Test(conf, every_default_formats_back)
{
    struct sl_conf c;
    size_t n;
    const struct conf_key *k = conf_broker_keys(&n);
    char buf[4096];
    int is_null;

    conf_defaults(&c);
    cr_assert_gt(n, 80);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(conf_broker_get(&c, k[i].name, buf, sizeof(buf), &is_null), 0);
        cr_assert_not_null(k[i].doc);
        if (!k[i].def) {
            cr_assert(is_null, "%s", k[i].name);
            continue;
        }
        if (!strcmp(k[i].name, "broker.id") || !strcmp(k[i].name, "num.network.threads"))
            continue;                       /* resolved at load */
        cr_assert_str_eq(buf, k[i].def, "%s", k[i].name);
        cr_assert_eq(conf_broker_is_set(&c, k[i].name), 0);
    }
}

Test(conf, file_then_overrides)
{
    struct sl_conf c;
    char err[256];
    const char *ov[] = { "num.partitions=7", " log.segment.bytes = 2048 " };
    int rc = load_text(&c,
                       "# comment\n"
                       "! also a comment\n"
                       "\n"
                       "num.partitions=3\n"
                       "default.replication.factor : 2\n"
                       "  log.dirs   /var/a , /var/b  \n"
                       "log.segment.bytes=4096\r\n"
                       "zookeeper.connect=zk1:2181,\\\n"
                       "    zk2:2181/sluice\n"
                       "compression.type=ZSTD\n",
                       2, ov, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(c.num_partitions, 7, "override wins over file");
    cr_assert_eq(c.log_segment_bytes, 2048);
    cr_assert_eq(c.default_replication_factor, 2);
    cr_assert_str_eq(c.log_dirs, "/var/a , /var/b");
    cr_assert_str_eq(c.data_dir, "/var/a");
    cr_assert_str_eq(c.zookeeper_connect, "zk1:2181,zk2:2181/sluice");
    cr_assert_eq(c.broker_id, -1, "zookeeper mode keeps -1");
    cr_assert_eq(c.compression_type, SL_COMPRESSION_ZSTD);
    cr_assert(conf_broker_is_set(&c, "num.partitions"));
    cr_assert(!conf_broker_is_set(&c, "num.io.threads"));

    char buf[64];
    cr_assert_eq(conf_broker_get(&c, "compression.type", buf, sizeof(buf), NULL), 0);
    cr_assert_str_eq(buf, "zstd");
    cr_assert_eq(conf_broker_get(&c, "no.such.key", buf, sizeof(buf), NULL), SL_ERR_INVALID_CONFIG);
}

Test(conf, retention_precedence)
{
    struct sl_conf c;
    char err[256];
    const char *h[] = { "log.retention.hours=1" };
    const char *hm[] = { "log.retention.hours=1", "log.retention.minutes=5" };
    const char *hmm[] = { "log.retention.ms=42", "log.retention.hours=1", "log.retention.minutes=5" };
    const char *inf[] = { "log.retention.ms=-1" };
    const char *infh[] = { "log.retention.hours=-1" };
    const char *roll[] = { "log.roll.hours=2" };
    const char *rollms[] = { "log.roll.ms=1234", "log.roll.hours=2" };
    const char *flush[] = { "log.flush.interval.ms=250" };

    cr_assert_eq(conf_load(&c, NULL, 1, h, err, sizeof(err)), 0);
    cr_assert_eq(c.log_retention_ms, 3600000);
    cr_assert_eq(conf_load(&c, NULL, 2, hm, err, sizeof(err)), 0);
    cr_assert_eq(c.log_retention_ms, 300000, "minutes override hours");
    cr_assert_eq(conf_load(&c, NULL, 3, hmm, err, sizeof(err)), 0);
    cr_assert_eq(c.log_retention_ms, 42, "ms overrides minutes and hours");
    cr_assert_eq(conf_load(&c, NULL, 1, inf, err, sizeof(err)), 0);
    cr_assert_eq(c.log_retention_ms, -1);
    cr_assert_eq(conf_load(&c, NULL, 1, infh, err, sizeof(err)), 0);
    cr_assert_eq(c.log_retention_ms, -1);
    cr_assert_eq(conf_load(&c, NULL, 1, roll, err, sizeof(err)), 0);
    cr_assert_eq(c.log_roll_ms, 7200000);
    cr_assert_eq(conf_load(&c, NULL, 2, rollms, err, sizeof(err)), 0);
    cr_assert_eq(c.log_roll_ms, 1234);
    cr_assert_eq(conf_load(&c, NULL, 1, flush, err, sizeof(err)), 0);
    cr_assert_eq(c.log_flush_interval_ms, 250);

    struct sl_topic_conf t;
    cr_assert_eq(conf_load(&c, NULL, 2, hm, err, sizeof(err)), 0);
    conf_topic_defaults(&c, &t);
    cr_assert_eq(t.retention_ms, 300000);
}

static void
expect_refused(const char *kv, const char *key, const char *val)
{
    struct sl_conf c;
    char err[512] = "";
    const char *ov[] = { kv };
    int rc = conf_load(&c, NULL, 1, ov, err, sizeof(err));
    cr_assert_eq(rc, SL_ERR_INVALID_CONFIG, "%s accepted", kv);
    cr_assert(strstr(err, key) != NULL, "'%s' does not name %s", err, key);
    if (val)
        cr_assert(strstr(err, val) != NULL, "'%s' does not show %s", err, val);
}

Test(conf, invalid_values_refused)
{
    struct sl_conf c;
    char err[512];

    expect_refused("log.segment.bytes=abc", "log.segment.bytes", "'abc'");
    expect_refused("log.segment.bytes=10", "log.segment.bytes", "at least 14");
    expect_refused("num.partitions=0", "num.partitions", "'0'");
    expect_refused("num.partitions=99999999999", "num.partitions", "not an integer");
    expect_refused("num.partitions=", "num.partitions", NULL);
    expect_refused("num.partitions=1x", "num.partitions", NULL);
    expect_refused("log.retention.bytes=1.5", "log.retention.bytes", "not a long");
    expect_refused("log.retention.ms=-2", "log.retention.ms", NULL);
    expect_refused("auto.create.topics.enable=yes", "auto.create.topics.enable", "'yes'");
    expect_refused("compression.type=brotli", "compression.type", "brotli");
    expect_refused("log.message.timestamp.type=Now", "log.message.timestamp.type", NULL);
    expect_refused("log.cleanup.policy=remove", "log.cleanup.policy", NULL);
    expect_refused("log.cleanup.policy=", "log.cleanup.policy", NULL);
    expect_refused("log.cleaner.min.cleanable.ratio=1.5", "log.cleaner.min.cleanable.ratio", NULL);
    expect_refused("listeners=localhost:9092", "listeners", NULL);
    expect_refused("listeners=PLAINTEXT://h:99999", "listeners", NULL);
    expect_refused("advertised.listeners=PLAINTEXT://0.0.0.0:9092", "advertised.listeners", NULL);
    expect_refused("log.level=loud", "log.level", NULL);

    const char *noeq[] = { "num.partitions" };
    cr_assert_eq(conf_load(&c, NULL, 1, noeq, err, sizeof(err)), SL_ERR_INVALID_CONFIG);
    cr_assert(strstr(err, "num.partitions") != NULL);

    /* in a file: path and line number too */
    cr_assert_eq(load_text(&c, "num.partitions=2\n\nlog.segment.bytes=abc\n", 0, NULL, err,
                           sizeof(err)), SL_ERR_INVALID_CONFIG);
    cr_assert(strstr(err, ":3:") != NULL, "%s", err);
    cr_assert(strstr(err, "invalid value 'abc' for log.segment.bytes: not an integer"), "%s", err);

    cr_assert_eq(conf_load(&c, "/nonexistent/sluice.properties", 0, NULL, err, sizeof(err)),
                 SL_ERR__IO);

    const char *ids[] = { "broker.id=1", "node.id=2" };
    cr_assert_eq(conf_load(&c, NULL, 2, ids, err, sizeof(err)), SL_ERR_INVALID_CONFIG);
    cr_assert(strstr(err, "node.id") != NULL);
}

Test(conf, unknown_key_warns_and_loads)
{
    struct sl_conf c;
    char err[256];
    const char *ov[] = { "totally.unknown.key=5", "num.partitions=4" };
    cr_assert_eq(load_text(&c, "some.other.key=x\nnum.io.threads=16\n", 2, ov, err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(c.num_partitions, 4);
    cr_assert_eq(c.num_io_threads, 16);
}

Test(conf, ids)
{
    struct sl_conf c;
    char err[256];
    const char *n[] = { "node.id=3" };
    const char *b[] = { "broker.id=5" };
    const char *same[] = { "broker.id=5", "node.id=5" };
    cr_assert_eq(conf_load(&c, NULL, 1, n, err, sizeof(err)), 0);
    cr_assert_eq(c.broker_id, 3);
    cr_assert_eq(conf_load(&c, NULL, 1, b, err, sizeof(err)), 0);
    cr_assert_eq(c.broker_id, 5);
    cr_assert_eq(conf_load(&c, NULL, 2, same, err, sizeof(err)), 0);
    cr_assert_eq(c.broker_id, 5);
}

Test(conf, listeners_parse)
{
    struct sl_listener l[SL_CONF_MAX_LISTENERS];
    char err[256];
    int n;

    n = conf_parse_listeners("PLAINTEXT://127.0.0.1:0", l, SL_CONF_MAX_LISTENERS, err, sizeof(err));
    cr_assert_eq(n, 1, "%s", err);
    cr_assert_str_eq(l[0].name, "PLAINTEXT");
    cr_assert_str_eq(l[0].host, "127.0.0.1");
    cr_assert_eq(l[0].port, 0);

    n = conf_parse_listeners("PLAINTEXT://:9092", l, SL_CONF_MAX_LISTENERS, err, sizeof(err));
    cr_assert_eq(n, 1);
    cr_assert_str_eq(l[0].host, "");
    cr_assert_eq(l[0].port, 9092);

    n = conf_parse_listeners(" plaintext://[::1]:9093 , SSL://broker-1.example.com:9094 ", l,
                             SL_CONF_MAX_LISTENERS, err, sizeof(err));
    cr_assert_eq(n, 2, "%s", err);
    cr_assert_str_eq(l[0].name, "PLAINTEXT");
    cr_assert_str_eq(l[0].host, "::1");
    cr_assert_eq(l[0].port, 9093);
    cr_assert_str_eq(l[1].name, "SSL");
    cr_assert_str_eq(l[1].host, "broker-1.example.com");
    cr_assert_eq(l[1].port, 9094);

    static const char *bad[] = {
        "", " , ", "localhost:9092", "://h:1", "PLAINTEXT://host", "PLAINTEXT://h:70000",
        "PLAINTEXT://h:-1", "PLAINTEXT://h:abc", "PLAINTEXT://h:", "PLAINTEXT://[::1:9092",
        "PLAINTEXT://a:1,PLAINTEXT://b:2", "PLAIN TEXT://h:1", "PLAINTEXT://h h:1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        cr_assert_eq(conf_parse_listeners(bad[i], l, SL_CONF_MAX_LISTENERS, err, sizeof(err)), -1,
                     "accepted '%s'", bad[i]);
        cr_assert_neq(err[0], 0);
    }
    cr_assert_eq(conf_parse_listeners("A://h:1,B://h:2,C://h:3", l, 2, err, sizeof(err)), -1);
}

Test(conf, advertised_listeners)
{
    struct sl_conf c;
    char err[256];
    const char *any[] = { "listeners=PLAINTEXT://0.0.0.0:19092" };
    const char *adv[] = { "listeners=PLAINTEXT://:0", "advertised.listeners=PLAINTEXT://kafka.local:29092" };
    int is_null = 0;
    char buf[128];

    cr_assert_eq(conf_load(&c, NULL, 1, any, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(c.listeners[0].host, "0.0.0.0");
    cr_assert_str_eq(c.advertised[0].host, "localhost");
    cr_assert_eq(c.advertised[0].port, 19092);
    cr_assert_eq(conf_broker_get(&c, "advertised.listeners", buf, sizeof(buf), &is_null), 0);
    cr_assert(is_null);

    cr_assert_eq(conf_load(&c, NULL, 2, adv, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(c.listeners[0].port, 0);
    cr_assert_str_eq(c.advertised[0].host, "kafka.local");
    cr_assert_eq(c.advertised[0].port, 29092);
}

Test(conf, log_dir_fallback)
{
    struct sl_conf c;
    char err[256];
    const char *d[] = { "log.dir=/srv/one" };
    const char *both[] = { "log.dir=/srv/one", "log.dirs=/srv/two" };
    const char *empty[] = { "log.dirs= , " };
    cr_assert_eq(conf_load(&c, NULL, 1, d, err, sizeof(err)), 0);
    cr_assert_str_eq(c.data_dir, "/srv/one");
    cr_assert_eq(conf_load(&c, NULL, 2, both, err, sizeof(err)), 0);
    cr_assert_str_eq(c.data_dir, "/srv/two");
    cr_assert_eq(conf_load(&c, NULL, 1, empty, err, sizeof(err)), SL_ERR_INVALID_CONFIG);
    cr_assert(strstr(err, "log.dirs"));
}

Test(conf, broker_set)
{
    struct sl_conf c;
    char err[256];
    conf_defaults(&c);
    cr_assert_eq(conf_broker_set(&c, "log.retention.minutes", "10", err, sizeof(err)), 0);
    cr_assert_eq(c.log_retention_ms, 600000);
    cr_assert_eq(conf_broker_set(&c, "log.retention.minutes", "x", err, sizeof(err)),
                 SL_ERR_INVALID_CONFIG);
    cr_assert_eq(c.log_retention_ms, 600000, "unchanged after a refused set");
    cr_assert_eq(conf_broker_set(&c, "nope", "1", err, sizeof(err)), SL_ERR_INVALID_CONFIG);
    cr_assert(strstr(err, "unknown config"));
}

/* A valid non-default value for a topic key, by type. */
static const char *
valid_value(const struct conf_key *k, char *buf, size_t len, int alt)
{
    switch (k->type) {
    case CONF_T_INT:
    case CONF_T_LONG:
        snprintf(buf, len, "%lld", (long long)(k->min > 0 ? k->min + 1000 + alt : 12345 + alt));
        return buf;
    case CONF_T_BOOL:   return alt ? "false" : "true";
    case CONF_T_DOUBLE: return alt ? "0.125" : "0.75";
    case CONF_T_ENUM:   return k->values[alt ? 0 : 1];
    case CONF_T_FLAGS:  return alt ? "compact" : "compact,delete";
    default:            return "x";
    }
}

Test(conf, topic_set_get_every_key)
{
    struct sl_conf c;
    struct sl_topic_conf t;
    size_t n;
    const struct conf_key *k = conf_topic_keys(&n);
    char buf[128], vbuf[64], err[256], desc_buf[128];

    conf_defaults(&c);
    conf_topic_defaults(&c, &t);
    cr_assert_geq(n, 20);
    for (size_t i = 0; i < n; i++) {
        for (int alt = 0; alt <= 1; alt++) {
            const char *v = valid_value(&k[i], vbuf, sizeof(vbuf), alt);
            cr_assert_eq(conf_topic_set(&t, k[i].name, v, err, sizeof(err)), 0, "%s=%s: %s",
                         k[i].name, v, err);
            cr_assert_eq(conf_topic_get(&t, k[i].name, buf, sizeof(buf)), 0);
            cr_assert_str_eq(buf, v, "%s", k[i].name);
            cr_assert(conf_topic_is_set(&t, k[i].name));
        }
        struct conf_desc d;
        cr_assert_eq(conf_topic_describe(&c, &t, i, desc_buf, sizeof(desc_buf), &d), 0);
        cr_assert_eq(d.source, CONF_SRC_DYNAMIC_TOPIC);
        cr_assert_eq(d.is_default, 0);
        cr_assert_not_null(d.synonym);
        cr_assert_geq(conf_broker_key_index(d.synonym), 0, "synonym %s unknown", d.synonym);
        cr_assert_geq(conf_key_wire_type(&k[i]), 1);
        /* the broker synonym's effective value is what a reset restores */
        cr_assert_eq(conf_topic_reset(&t, &c, k[i].name), 0);
        cr_assert(!conf_topic_is_set(&t, k[i].name));
    }
    struct sl_topic_conf fresh;
    conf_topic_defaults(&c, &fresh);
    cr_assert_eq(memcmp(&fresh, &t, sizeof(t)), 0, "reset of every key gives the defaults");

    /* canonical list order, whitespace and case */
    cr_assert_eq(conf_topic_set(&t, "cleanup.policy", "delete, compact", err, sizeof(err)), 0);
    conf_topic_get(&t, "cleanup.policy", buf, sizeof(buf));
    cr_assert_str_eq(buf, "compact,delete");
    cr_assert_eq(t.cleanup_policy, SL_CLEANUP_COMPACT | SL_CLEANUP_DELETE);
    cr_assert_eq(conf_topic_set(&t, "retention.ms", " 86400000 ", err, sizeof(err)), 0);
    cr_assert_eq(t.retention_ms, 86400000);
    cr_assert_eq(conf_topic_set(&t, "min.cleanable.dirty.ratio", "0.1", err, sizeof(err)), 0);
    conf_topic_get(&t, "min.cleanable.dirty.ratio", buf, sizeof(buf));
    cr_assert_str_eq(buf, "0.1");
}

Test(conf, topic_invalid_rejected)
{
    struct sl_conf c;
    struct sl_topic_conf t, before;
    char err[256];
    static const struct { const char *k, *v; } bad[] = {
        { "retention.ms", "abc" }, { "retention.ms", "-2" }, { "segment.bytes", "13" },
        { "segment.bytes", "3000000000" }, { "segment.ms", "0" }, { "max.message.bytes", "-1" },
        { "min.insync.replicas", "0" }, { "cleanup.policy", "" }, { "cleanup.policy", "compact,x" },
        { "compression.type", "brotli" }, { "message.timestamp.type", "Other" },
        { "preallocate", "1" }, { "unclean.leader.election.enable", "maybe" },
        { "min.cleanable.dirty.ratio", "1.01" }, { "min.cleanable.dirty.ratio", "nan" },
        { "flush.messages", "0" }, { "segment.index.bytes", "3" }, { "index.interval.bytes", "-5" },
        { "retention.bytes", "12x" },
    };
    conf_defaults(&c);
    conf_topic_defaults(&c, &t);
    before = t;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        cr_assert_eq(conf_topic_set(&t, bad[i].k, bad[i].v, err, sizeof(err)),
                     SL_ERR_INVALID_CONFIG, "%s=%s accepted", bad[i].k, bad[i].v);
        cr_assert(strstr(err, bad[i].k), "'%s' does not name the key", err);
    }
    cr_assert_eq(memcmp(&before, &t, sizeof(t)), 0, "refused sets change nothing");
    cr_assert_eq(conf_topic_set(&t, "retention.hours", "1", err, sizeof(err)), SL_ERR_INVALID_CONFIG);
    cr_assert(strstr(err, "unknown config"));
    cr_assert_eq(conf_topic_get(&t, "nope", err, sizeof(err)), SL_ERR_INVALID_CONFIG);
    cr_assert_eq(conf_topic_reset(&t, &c, "nope"), SL_ERR_INVALID_CONFIG);
}

Test(conf, topic_defaults_and_sources)
{
    struct sl_conf c;
    struct sl_topic_conf t;
    struct conf_desc d;
    char err[256], buf[128];
    const char *ov[] = { "log.retention.hours=1", "log.segment.bytes=1048576",
                         "log.cleanup.policy=compact", "message.max.bytes=2000000",
                         "log.message.timestamp.type=LogAppendTime", "min.insync.replicas=2" };

    cr_assert_eq(conf_load(&c, NULL, 6, ov, err, sizeof(err)), 0, "%s", err);
    conf_topic_defaults(&c, &t);
    cr_assert_eq(t.retention_ms, 3600000);
    cr_assert_eq(t.segment_bytes, 1048576);
    cr_assert_eq(t.cleanup_policy, SL_CLEANUP_COMPACT);
    cr_assert_eq(t.max_message_bytes, 2000000);
    cr_assert_eq(t.message_timestamp_type, SL_TS_LOG_APPEND_TIME);
    cr_assert_eq(t.min_insync_replicas, 2);
    cr_assert_eq(t.segment_ms, 168LL * 3600000);
    cr_assert_eq(t.segment_index_bytes, 10485760);
    cr_assert_eq(t.flush_ms, INT64_MAX);
    cr_assert_eq(t.min_cleanable_dirty_ratio, 0.5);
    cr_assert_eq(t.set_mask, 0);

    int ri = conf_topic_key_index("retention.ms");
    cr_assert_geq(ri, 0);
    cr_assert_eq(conf_topic_describe(&c, &t, (size_t)ri, buf, sizeof(buf), &d), 0);
    cr_assert_str_eq(d.value, "3600000");
    cr_assert_eq(d.source, CONF_SRC_STATIC_BROKER);
    cr_assert_str_eq(d.synonym, "log.retention.hours");
    cr_assert_eq(d.is_default, 0);

    int si = conf_topic_key_index("segment.index.bytes");
    cr_assert_eq(conf_topic_describe(&c, &t, (size_t)si, buf, sizeof(buf), &d), 0);
    cr_assert_eq(d.source, CONF_SRC_DEFAULT);
    cr_assert_eq(d.is_default, 1);
    cr_assert_str_eq(d.value, "10485760");
    cr_assert_eq(d.read_only, 0);

    cr_assert_eq(conf_topic_set(&t, "retention.ms", "5000", err, sizeof(err)), 0);
    cr_assert_eq(conf_topic_describe(&c, &t, (size_t)ri, buf, sizeof(buf), &d), 0);
    cr_assert_eq(d.source, CONF_SRC_DYNAMIC_TOPIC);
    cr_assert_str_eq(d.value, "5000");
    cr_assert_eq(conf_topic_reset(&t, &c, "retention.ms"), 0);
    cr_assert_eq(t.retention_ms, 3600000);

    size_t nt;
    conf_topic_keys(&nt);
    cr_assert_eq(conf_topic_describe(&c, &t, nt, buf, sizeof(buf), &d), SL_ERR__INVALID_ARG);

    size_t nb;
    conf_broker_keys(&nb);
    int bi = conf_broker_key_index("log.segment.bytes");
    cr_assert_eq(conf_broker_describe(&c, (size_t)bi, buf, sizeof(buf), &d), 0);
    cr_assert_eq(d.source, CONF_SRC_STATIC_BROKER);
    cr_assert_str_eq(d.value, "1048576");
    cr_assert_eq(d.read_only, 1);
    cr_assert_eq(conf_broker_describe(&c, nb, buf, sizeof(buf), &d), SL_ERR__INVALID_ARG);
}

Test(conf, sample_server_properties_loads)
{
    struct sl_conf c;
    char path[1024], err[512];
    const char *root = getenv("SLUICE_ROOT");
    const char *ov[] = { "log.dirs=/tmp/x" };

    snprintf(path, sizeof(path), "%s/config/server.properties", root ? root : ".");
    cr_assert_eq(conf_load(&c, path, 0, NULL, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(c.nlisteners, 1);
    cr_assert_str_eq(c.listeners[0].host, "localhost");
    cr_assert_eq(c.listeners[0].port, 9092);
    cr_assert_str_eq(c.advertised[0].host, "localhost");
    cr_assert_str_eq(c.data_dir, "./data");
    cr_assert_eq(c.offsets_topic_replication_factor, 1);
    cr_assert_eq(c.broker_id, 0);
    /* as `make run` starts it */
    cr_assert_eq(conf_load(&c, path, 1, ov, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(c.data_dir, "/tmp/x");
}

Test(conf, cluster_id)
{
    char a[23], b[23];
    conf_gen_cluster_id(a);
    conf_gen_cluster_id(b);
    cr_assert_eq(strlen(a), 22);
    cr_assert_neq(a[0], '-');
    cr_assert_str_neq(a, b);
    for (int i = 0; i < 22; i++)
        cr_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]));
}
