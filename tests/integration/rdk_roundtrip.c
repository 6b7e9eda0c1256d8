/* tests/integration/rdk_roundtrip.c -- librdkafka produce/consume round trip.
 *
 *   rdk_roundtrip BOOTSTRAP TOPIC [COUNT [PARTITIONS]]
 *
 * 1. Creates TOPIC with PARTITIONS partitions (CreateTopics; if the broker
 *    does not offer it, Metadata auto-creation, for which the broker must run
 *    with num.partitions=PARTITIONS) and checks the partition count.
 * 2. Produces COUNT keyed records with acks=all (other settings default):
 *    key "k<i mod COUNT/4>" (every key is sent 4 times, to check that a key
 *    always lands on the same partition), a value with i and a pseudo-random
 *    payload, two headers and an explicit CreateTime timestamp. Every
 *    delivery report must succeed; partition and offset are recorded.
 * 3. Checks the watermarks of every partition (low 0, high = delivered).
 * 4. Consumes everything back with an assign()-based consumer from the
 *    beginning and checks: exactly COUNT records, no duplicates, offsets
 *    contiguous from 0 per partition and in produce order, key, value,
 *    headers and timestamp identical, partition+offset equal to the delivery
 *    report, each key on one partition, and that partition equal to
 *    librdkafka's consistent_random choice (CRC32 of the key mod count).
 *
 * Exits 0 when all is well, 1 with a message on stderr on any mismatch.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <librdkafka/rdkafka.h>

static const char *g_topic;
static int g_count = 100000;
static int g_parts = 6;
static int64_t g_ts0;

static int32_t *dr_part;
static int64_t *dr_off;
static int dr_done, dr_failed;

static void
die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rdk_roundtrip: FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the record for index i, regenerated on both sides ---- */

static size_t
make_key(int i, char *buf)
{
    int keys = g_count / 4 > 0 ? g_count / 4 : 1;
    return (size_t)sprintf(buf, "k%d", i % keys);
}

static size_t
make_value(int i, unsigned char *buf)
{
    size_t n = (size_t)sprintf((char *)buf, "v%d:", i);
    size_t plen = 8 + (size_t)((unsigned)i * 7919u % 300u);
    uint32_t x = (uint32_t)i * 2654435761u + 1;
    for (size_t k = 0; k < plen; k++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        buf[n + k] = (unsigned char)x;        /* binary, zeros included */
    }
    return n + plen;
}

static size_t
make_h1(int i, char *buf)
{
    return (size_t)sprintf(buf, "hv-%d", i);
}

static void
make_h2(int i, unsigned char *buf)
{
    buf[0] = (unsigned char)(i >> 24); buf[1] = (unsigned char)(i >> 16);
    buf[2] = (unsigned char)(i >> 8);  buf[3] = (unsigned char)i;
}

static int64_t
make_ts(int i)
{
    return g_ts0 + i * 3;
}

/* zlib-compatible CRC32, as librdkafka's consistent partitioner uses */
static uint32_t
crc32_ieee(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

/* ---- producer ---- */

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    int i = (int)(intptr_t)m->_private;
    (void)rk; (void)opaque;
    if (i < 0 || i >= g_count)
        die("delivery report with bad opaque %d", i);
    if (m->err) {
        if (dr_failed < 10)
            fprintf(stderr, "rdk_roundtrip: delivery of record %d failed: %s\n", i,
                    rd_kafka_err2str(m->err));
        dr_failed++;
    } else {
        dr_part[i] = m->partition;
        dr_off[i] = m->offset;
    }
    dr_done++;
}

static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= 4)
        fprintf(stderr, "rdk_roundtrip: librdkafka %d %s: %s\n", level, fac, buf);
}

static rd_kafka_conf_t *
base_conf(const char *bootstrap)
{
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        die("conf: %s", err);
    rd_kafka_conf_set_log_cb(c, log_cb);
    return c;
}

static void
create_topic(rd_kafka_t *rk)
{
    char err[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(g_topic, g_parts, 1, err, sizeof(err));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_event_t *ev;

    if (!nt)
        die("NewTopic: %s", err);
    rd_kafka_AdminOptions_set_request_timeout(opt, 15000, err, sizeof(err));
    rd_kafka_CreateTopics(rk, &nt, 1, opt, q);
    ev = rd_kafka_queue_poll(q, 30000);
    if (!ev) {
        fprintf(stderr, "rdk_roundtrip: CreateTopics: no result, relying on auto-creation\n");
    } else if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "rdk_roundtrip: CreateTopics: %s (relying on auto-creation)\n",
                rd_kafka_event_error_string(ev));
    } else {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t n;
        const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
        if (n != 1)
            die("CreateTopics returned %zu topic results", n);
        if (rd_kafka_topic_result_error(tr[0]) &&
            rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            die("CreateTopics %s: %s", g_topic, rd_kafka_err2str(rd_kafka_topic_result_error(tr[0])));
        fprintf(stderr, "rdk_roundtrip: CreateTopics %s: %s\n", g_topic,
                rd_kafka_err2str(rd_kafka_topic_result_error(tr[0])));
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
}

/* Metadata for the topic (auto-creating it); waits until it has partitions. */
static int
topic_partitions(rd_kafka_t *rk)
{
    int64_t deadline = mono_ms() + 30000;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, g_topic, NULL);
    int n = -1;

    while (mono_ms() < deadline) {
        const struct rd_kafka_metadata *md;
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md->topic_cnt == 1 && md->topics[0].err == 0 && md->topics[0].partition_cnt > 0) {
                n = md->topics[0].partition_cnt;
                for (int p = 0; p < n; p++)
                    if (md->topics[0].partitions[p].leader != 0 || md->topics[0].partitions[p].id != p)
                        die("metadata: partition %d: id %d leader %d", p,
                            md->topics[0].partitions[p].id, md->topics[0].partitions[p].leader);
            }
            rd_kafka_metadata_destroy(md);
            if (n > 0)
                break;
        }
    }
    rd_kafka_topic_destroy(rkt);
    return n;
}

static void
produce_all(const char *bootstrap)
{
    char err[512];
    rd_kafka_conf_t *c = base_conf(bootstrap);
    rd_kafka_t *rk;
    int64_t t0, deadline;
    int np;

    if (rd_kafka_conf_set(c, "acks", "all", err, sizeof(err)) != RD_KAFKA_CONF_OK)
        die("conf: %s", err);
    rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err))))
        die("producer: %s", err);

    create_topic(rk);
    np = topic_partitions(rk);
    if (np != g_parts)
        die("topic %s has %d partitions, expected %d", g_topic, np, g_parts);

    t0 = mono_ms();
    for (int i = 0; i < g_count; i++) {
        char key[32], h1[32];
        unsigned char val[512], h2[4];
        size_t kl = make_key(i, key), vl = make_value(i, val), h1l = make_h1(i, h1);
        rd_kafka_resp_err_t e;
        make_h2(i, h2);
        for (;;) {
            e = rd_kafka_producev(rk,
                                  RD_KAFKA_V_TOPIC(g_topic),
                                  RD_KAFKA_V_KEY(key, kl),
                                  RD_KAFKA_V_VALUE(val, vl),
                                  RD_KAFKA_V_HEADER("h1", h1, (ssize_t)h1l),
                                  RD_KAFKA_V_HEADER("h2", h2, 4),
                                  RD_KAFKA_V_TIMESTAMP(make_ts(i)),
                                  RD_KAFKA_V_OPAQUE((void *)(intptr_t)i),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_END);
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                break;
            rd_kafka_poll(rk, 50);
        }
        if (e)
            die("producev %d: %s", i, rd_kafka_err2str(e));
        rd_kafka_poll(rk, 0);
    }
    deadline = mono_ms() + 120000;
    while (dr_done < g_count && mono_ms() < deadline)
        rd_kafka_poll(rk, 100);
    if (dr_done < g_count)
        die("only %d of %d delivery reports within 120 s", dr_done, g_count);
    if (dr_failed)
        die("%d of %d deliveries failed", dr_failed, g_count);
    fprintf(stderr, "rdk_roundtrip: produced %d records in %" PRId64 " ms, all acknowledged\n",
            g_count, mono_ms() - t0);
    rd_kafka_flush(rk, 10000);
    rd_kafka_destroy(rk);
}

/* ---- consumer ---- */

static void
check_msg(const rd_kafka_message_t *m, unsigned char *seen, int64_t *next_off, int *last_i,
          int32_t *key_part)
{
    rd_kafka_headers_t *hdrs = NULL;
    const void *hv;
    size_t hl;
    int i;
    char key[32], h1[32];
    unsigned char val[512], h2[4];
    size_t kl, vl, h1l;
    rd_kafka_timestamp_type_t tst;
    int64_t ts;
    int32_t p = m->partition;
    int keys = g_count / 4 > 0 ? g_count / 4 : 1;

    if (p < 0 || p >= g_parts)
        die("record from partition %d", p);
    if (rd_kafka_message_headers(m, &hdrs) != 0 || !hdrs)
        die("%d@%" PRId64 ": no headers", p, m->offset);
    if (rd_kafka_header_cnt(hdrs) != 2)
        die("%d@%" PRId64 ": %zu headers, expected 2", p, m->offset, rd_kafka_header_cnt(hdrs));
    if (rd_kafka_header_get(hdrs, 0, "h2", &hv, &hl) != 0 || hl != 4)
        die("%d@%" PRId64 ": header h2 missing or not 4 bytes", p, m->offset);
    i = (int)((uint32_t)((const unsigned char *)hv)[0] << 24 | (uint32_t)((const unsigned char *)hv)[1] << 16 |
              (uint32_t)((const unsigned char *)hv)[2] << 8 | ((const unsigned char *)hv)[3]);
    if (i < 0 || i >= g_count)
        die("%d@%" PRId64 ": record index %d out of range", p, m->offset, i);
    if (seen[i])
        die("%d@%" PRId64 ": record %d consumed twice", p, m->offset, i);
    seen[i] = 1;
    if (m->offset != next_off[p])
        die("partition %d: offset %" PRId64 " where %" PRId64 " was expected (gap or reorder)",
            p, m->offset, next_off[p]);
    next_off[p]++;
    if (i <= last_i[p])
        die("partition %d: record %d at offset %" PRId64 " after record %d (not in produce order)",
            p, i, m->offset, last_i[p]);
    last_i[p] = i;
    if (dr_part[i] != p || dr_off[i] != m->offset)
        die("record %d: consumed at %d@%" PRId64 ", delivery report said %d@%" PRId64,
            i, p, m->offset, dr_part[i], dr_off[i]);

    kl = make_key(i, key);
    vl = make_value(i, val);
    h1l = make_h1(i, h1);
    make_h2(i, h2);
    if (!m->key || m->key_len != kl || memcmp(m->key, key, kl) != 0)
        die("record %d: key mismatch (len %zu, expected %zu)", i, m->key_len, kl);
    if (!m->payload || m->len != vl || memcmp(m->payload, val, vl) != 0)
        die("record %d: value mismatch (len %zu, expected %zu)", i, m->len, vl);
    {
        const char *n0;
        const void *v0;
        size_t l0;
        if (rd_kafka_header_get_all(hdrs, 0, &n0, &v0, &l0) != 0 || strcmp(n0, "h1") != 0 ||
            l0 != h1l || memcmp(v0, h1, h1l) != 0)
            die("record %d: first header is not h1=%s", i, h1);
        if (rd_kafka_header_get_all(hdrs, 1, &n0, &v0, &l0) != 0 || strcmp(n0, "h2") != 0 ||
            l0 != 4 || memcmp(v0, h2, 4) != 0)
            die("record %d: second header is not h2", i);
    }
    ts = rd_kafka_message_timestamp(m, &tst);
    if (tst != RD_KAFKA_TIMESTAMP_CREATE_TIME || ts != make_ts(i))
        die("record %d: timestamp %" PRId64 " type %d, expected CreateTime %" PRId64, i, ts,
            (int)tst, make_ts(i));
    if (key_part[i % keys] == -1)
        key_part[i % keys] = p;
    else if (key_part[i % keys] != p)
        die("key %s on partition %d and %d", key, key_part[i % keys], p);
    if ((int32_t)(crc32_ieee((const unsigned char *)key, kl) % (uint32_t)g_parts) != p)
        die("key %s on partition %d, consistent_random says %u", key, p,
            crc32_ieee((const unsigned char *)key, kl) % (uint32_t)g_parts);
}

static void
consume_all(const char *bootstrap)
{
    char err[512];
    rd_kafka_conf_t *c = base_conf(bootstrap);
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(g_parts);
    unsigned char *seen = calloc((size_t)g_count, 1);
    int64_t *next_off = calloc((size_t)g_parts, sizeof(int64_t));
    int64_t *expect_end = calloc((size_t)g_parts, sizeof(int64_t));
    int *last_i = malloc(sizeof(int) * (size_t)g_parts);
    int *eof = calloc((size_t)g_parts, sizeof(int));
    int keys = g_count / 4 > 0 ? g_count / 4 : 1;
    int32_t *key_part = malloc(sizeof(int32_t) * (size_t)keys);
    int got = 0, neof = 0;
    int64_t t0 = mono_ms(), deadline = t0 + 180000;

    for (int p = 0; p < g_parts; p++)
        last_i[p] = -1;
    for (int k = 0; k < keys; k++)
        key_part[k] = -1;
    for (int i = 0; i < g_count; i++)
        if (dr_off[i] + 1 > expect_end[dr_part[i]])
            expect_end[dr_part[i]] = dr_off[i] + 1;

    if (rd_kafka_conf_set(c, "enable.partition.eof", "true", err, sizeof(err)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "auto.offset.reset", "error", err, sizeof(err)) != RD_KAFKA_CONF_OK ||
        /* assign() needs a group; nothing is committed or subscribed */
        rd_kafka_conf_set(c, "group.id", "rdk-roundtrip", err, sizeof(err)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof(err)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "enable.auto.offset.store", "false", err, sizeof(err)) != RD_KAFKA_CONF_OK)
        die("conf: %s", err);
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err))))
        die("consumer: %s", err);

    /* watermarks: ListOffsets earliest/latest */
    for (int p = 0; p < g_parts; p++) {
        int64_t lo = -1, hi = -1;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, g_topic, p, &lo, &hi, 10000);
        if (e)
            die("watermarks of partition %d: %s", p, rd_kafka_err2str(e));
        if (lo != 0 || hi != expect_end[p])
            die("partition %d: watermarks %" PRId64 "..%" PRId64 ", expected 0..%" PRId64,
                p, lo, hi, expect_end[p]);
        fprintf(stderr, "rdk_roundtrip: partition %d: %" PRId64 " records\n", p, hi);
    }

    for (int p = 0; p < g_parts; p++)
        rd_kafka_topic_partition_list_add(tl, g_topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    {
        rd_kafka_resp_err_t e = rd_kafka_assign(rk, tl);
        if (e)
            die("assign: %s", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(tl);

    while (neof < g_parts && mono_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            int p = m->partition;
            if (p >= 0 && p < g_parts && m->offset >= expect_end[p] && !eof[p]) {
                if (m->offset != expect_end[p])
                    die("partition %d: EOF at %" PRId64 ", expected %" PRId64, p, m->offset,
                        expect_end[p]);
                eof[p] = 1;
                neof++;
            }
        } else if (m->err) {
            die("consume error: %s", rd_kafka_message_errstr(m));
        } else {
            check_msg(m, seen, next_off, last_i, key_part);
            got++;
        }
        rd_kafka_message_destroy(m);
    }
    if (neof < g_parts)
        die("timed out consuming: %d records, %d of %d partitions at end", got, neof, g_parts);
    if (got != g_count)
        die("consumed %d records, expected %d", got, g_count);
    for (int p = 0; p < g_parts; p++)
        if (next_off[p] != expect_end[p])
            die("partition %d: consumed up to %" PRId64 ", expected %" PRId64, p, next_off[p],
                expect_end[p]);
    for (int i = 0; i < g_count; i++)
        if (!seen[i])
            die("record %d never consumed", i);
    fprintf(stderr, "rdk_roundtrip: consumed and verified %d records in %" PRId64 " ms\n", got,
            mono_ms() - t0);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    free(seen); free(next_off); free(expect_end); free(last_i); free(eof); free(key_part);
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s BOOTSTRAP TOPIC [COUNT [PARTITIONS]]\n", argv[0]);
        return 2;
    }
    g_topic = argv[2];
    if (argc > 3)
        g_count = atoi(argv[3]);
    if (argc > 4)
        g_parts = atoi(argv[4]);
    if (g_count <= 0 || g_parts <= 0)
        die("bad arguments");
    g_ts0 = now_ms() - 10LL * 60 * 1000;     /* ten minutes ago, 3 ms apart */
    dr_part = malloc(sizeof(int32_t) * (size_t)g_count);
    dr_off = malloc(sizeof(int64_t) * (size_t)g_count);
    for (int i = 0; i < g_count; i++) {
        dr_part[i] = -1;
        dr_off[i] = -1;
    }
    produce_all(argv[1]);
    consume_all(argv[1]);
    free(dr_part);
    free(dr_off);
    printf("rdk_roundtrip: OK (%d records, %d partitions)\n", g_count, g_parts);
    return 0;
}
