/* server/proto.c -- Kafka protocol primitives (see proto.h for the rules).
 *
 * Reader invariant: pos <= len always; once err is set it stays set and
 * every read returns zero without touching the input. All length checks are
 * done as "n > len - pos" so they cannot overflow.
 */
#include <string.h>
#include "server/proto.h"
#include "storage/err.h"
#include "storage/record.h"

/* ---- API names -------------------------------------------------------- */

static const char *const pr_api_names[PR_API__NUM] = {
    [PR_API_PRODUCE] = "Produce",
    [PR_API_FETCH] = "Fetch",
    [PR_API_LIST_OFFSETS] = "ListOffsets",
    [PR_API_METADATA] = "Metadata",
    [PR_API_LEADER_AND_ISR] = "LeaderAndIsr",
    [PR_API_STOP_REPLICA] = "StopReplica",
    [PR_API_UPDATE_METADATA] = "UpdateMetadata",
    [PR_API_CONTROLLED_SHUTDOWN] = "ControlledShutdown",
    [PR_API_OFFSET_COMMIT] = "OffsetCommit",
    [PR_API_OFFSET_FETCH] = "OffsetFetch",
    [PR_API_FIND_COORDINATOR] = "FindCoordinator",
    [PR_API_JOIN_GROUP] = "JoinGroup",
    [PR_API_HEARTBEAT] = "Heartbeat",
    [PR_API_LEAVE_GROUP] = "LeaveGroup",
    [PR_API_SYNC_GROUP] = "SyncGroup",
    [PR_API_DESCRIBE_GROUPS] = "DescribeGroups",
    [PR_API_LIST_GROUPS] = "ListGroups",
    [PR_API_SASL_HANDSHAKE] = "SaslHandshake",
    [PR_API_API_VERSIONS] = "ApiVersions",
    [PR_API_CREATE_TOPICS] = "CreateTopics",
    [PR_API_DELETE_TOPICS] = "DeleteTopics",
    [PR_API_DELETE_RECORDS] = "DeleteRecords",
    [PR_API_INIT_PRODUCER_ID] = "InitProducerId",
    [PR_API_OFFSET_FOR_LEADER_EPOCH] = "OffsetForLeaderEpoch",
    [PR_API_ADD_PARTITIONS_TO_TXN] = "AddPartitionsToTxn",
    [PR_API_ADD_OFFSETS_TO_TXN] = "AddOffsetsToTxn",
    [PR_API_END_TXN] = "EndTxn",
    [PR_API_WRITE_TXN_MARKERS] = "WriteTxnMarkers",
    [PR_API_TXN_OFFSET_COMMIT] = "TxnOffsetCommit",
    [PR_API_DESCRIBE_ACLS] = "DescribeAcls",
    [PR_API_CREATE_ACLS] = "CreateAcls",
    [PR_API_DELETE_ACLS] = "DeleteAcls",
    [PR_API_DESCRIBE_CONFIGS] = "DescribeConfigs",
    [PR_API_ALTER_CONFIGS] = "AlterConfigs",
    [PR_API_ALTER_REPLICA_LOG_DIRS] = "AlterReplicaLogDirs",
    [PR_API_DESCRIBE_LOG_DIRS] = "DescribeLogDirs",
    [PR_API_SASL_AUTHENTICATE] = "SaslAuthenticate",
    [PR_API_CREATE_PARTITIONS] = "CreatePartitions",
    [PR_API_CREATE_DELEGATION_TOKEN] = "CreateDelegationToken",
    [PR_API_RENEW_DELEGATION_TOKEN] = "RenewDelegationToken",
    [PR_API_EXPIRE_DELEGATION_TOKEN] = "ExpireDelegationToken",
    [PR_API_DESCRIBE_DELEGATION_TOKEN] = "DescribeDelegationToken",
    [PR_API_DELETE_GROUPS] = "DeleteGroups",
    [PR_API_ELECT_LEADERS] = "ElectLeaders",
    [PR_API_INCREMENTAL_ALTER_CONFIGS] = "IncrementalAlterConfigs",
    [PR_API_ALTER_PARTITION_REASSIGNMENTS] = "AlterPartitionReassignments",
    [PR_API_LIST_PARTITION_REASSIGNMENTS] = "ListPartitionReassignments",
    [PR_API_OFFSET_DELETE] = "OffsetDelete",
    [PR_API_DESCRIBE_CLIENT_QUOTAS] = "DescribeClientQuotas",
    [PR_API_ALTER_CLIENT_QUOTAS] = "AlterClientQuotas",
    [PR_API_DESCRIBE_USER_SCRAM_CREDENTIALS] = "DescribeUserScramCredentials",
    [PR_API_ALTER_USER_SCRAM_CREDENTIALS] = "AlterUserScramCredentials",
    [PR_API_VOTE] = "Vote",
    [PR_API_BEGIN_QUORUM_EPOCH] = "BeginQuorumEpoch",
    [PR_API_END_QUORUM_EPOCH] = "EndQuorumEpoch",
    [PR_API_DESCRIBE_QUORUM] = "DescribeQuorum",
    [PR_API_ALTER_PARTITION] = "AlterPartition",
    [PR_API_UPDATE_FEATURES] = "UpdateFeatures",
    [PR_API_ENVELOPE] = "Envelope",
    [PR_API_FETCH_SNAPSHOT] = "FetchSnapshot",
    [PR_API_DESCRIBE_CLUSTER] = "DescribeCluster",
    [PR_API_DESCRIBE_PRODUCERS] = "DescribeProducers",
    [PR_API_BROKER_REGISTRATION] = "BrokerRegistration",
    [PR_API_BROKER_HEARTBEAT] = "BrokerHeartbeat",
    [PR_API_UNREGISTER_BROKER] = "UnregisterBroker",
    [PR_API_DESCRIBE_TRANSACTIONS] = "DescribeTransactions",
    [PR_API_LIST_TRANSACTIONS] = "ListTransactions",
    [PR_API_ALLOCATE_PRODUCER_IDS] = "AllocateProducerIds",
    [PR_API_CONSUMER_GROUP_HEARTBEAT] = "ConsumerGroupHeartbeat",
    [PR_API_CONSUMER_GROUP_DESCRIBE] = "ConsumerGroupDescribe",
    [PR_API_CONTROLLER_REGISTRATION] = "ControllerRegistration",
    [PR_API_GET_TELEMETRY_SUBSCRIPTIONS] = "GetTelemetrySubscriptions",
    [PR_API_PUSH_TELEMETRY] = "PushTelemetry",
    [PR_API_ASSIGN_REPLICAS_TO_DIRS] = "AssignReplicasToDirs",
    [PR_API_LIST_CLIENT_METRICS_RESOURCES] = "ListClientMetricsResources",
    [PR_API_DESCRIBE_TOPIC_PARTITIONS] = "DescribeTopicPartitions",
    [PR_API_SHARE_GROUP_HEARTBEAT] = "ShareGroupHeartbeat",
    [PR_API_SHARE_GROUP_DESCRIBE] = "ShareGroupDescribe",
    [PR_API_SHARE_FETCH] = "ShareFetch",
    [PR_API_SHARE_ACKNOWLEDGE] = "ShareAcknowledge",
    [PR_API_ADD_RAFT_VOTER] = "AddRaftVoter",
    [PR_API_REMOVE_RAFT_VOTER] = "RemoveRaftVoter",
    [PR_API_UPDATE_RAFT_VOTER] = "UpdateRaftVoter",
    [PR_API_INITIALIZE_SHARE_GROUP_STATE] = "InitializeShareGroupState",
    [PR_API_READ_SHARE_GROUP_STATE] = "ReadShareGroupState",
    [PR_API_WRITE_SHARE_GROUP_STATE] = "WriteShareGroupState",
    [PR_API_DELETE_SHARE_GROUP_STATE] = "DeleteShareGroupState",
    [PR_API_READ_SHARE_GROUP_STATE_SUMMARY] = "ReadShareGroupStateSummary",
};

const char *
pr_api_name(int api_key)
{
    if (api_key < 0 || api_key >= PR_API__NUM || !pr_api_names[api_key])
        return "Unknown";
    return pr_api_names[api_key];
}

/* ---- reader ----------------------------------------------------------- */

void
pr_reader_init(struct pr_reader *r, const void *p, size_t len, int flexible)
{
    r->p = p;
    r->len = p ? len : 0;
    r->pos = 0;
    r->err = 0;
    r->flexible = flexible;
}

static inline void
pr__fail(struct pr_reader *r, int err)
{
    if (!r->err)
        r->err = err;
}

/* Pointer to the next n bytes and advance, or NULL (err set). */
static inline const uint8_t *
pr__take(struct pr_reader *r, size_t n)
{
    const uint8_t *p;
    if (r->err)
        return NULL;
    if (n > r->len - r->pos) {
        r->err = SL_ERR__UNDERFLOW;
        return NULL;
    }
    p = r->p + r->pos;
    r->pos += n;
    return p;
}

int8_t
pr_read_i8(struct pr_reader *r)
{
    const uint8_t *p = pr__take(r, 1);
    return p ? (int8_t)p[0] : 0;
}

int16_t
pr_read_i16(struct pr_reader *r)
{
    const uint8_t *p = pr__take(r, 2);
    return p ? rec_get_i16(p) : 0;
}

int32_t
pr_read_i32(struct pr_reader *r)
{
    const uint8_t *p = pr__take(r, 4);
    return p ? rec_get_i32(p) : 0;
}

int64_t
pr_read_i64(struct pr_reader *r)
{
    const uint8_t *p = pr__take(r, 8);
    return p ? rec_get_i64(p) : 0;
}

uint32_t
pr_read_u32(struct pr_reader *r)
{
    const uint8_t *p = pr__take(r, 4);
    return p ? rec_get_u32(p) : 0;
}

/* Unsigned base-128 varint of at most maxbytes bytes; the last byte may
 * only carry the bits that fit in `bits`. */
static uint64_t
pr__read_uvar(struct pr_reader *r, int maxbytes, int bits)
{
    uint64_t v = 0;
    int i;

    if (r->err)
        return 0;
    for (i = 0; i < maxbytes; i++) {
        uint8_t b;
        int shift = 7 * i;
        if (r->pos >= r->len) {
            r->err = SL_ERR__UNDERFLOW;
            return 0;
        }
        b = r->p[r->pos++];
        if (i == maxbytes - 1) {
            /* last allowed byte: no continuation, no bits past `bits` */
            if ((b & 0x80) || (bits - shift < 7 && (b >> (bits - shift)) != 0)) {
                r->err = SL_ERR__CORRUPT;
                return 0;
            }
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->err = SL_ERR__CORRUPT;   /* not reached: loop returns or fails */
    return 0;
}

uint32_t
pr_read_uvarint(struct pr_reader *r)
{
    return (uint32_t)pr__read_uvar(r, 5, 32);
}

int32_t
pr_read_varint(struct pr_reader *r)
{
    uint32_t u = (uint32_t)pr__read_uvar(r, 5, 32);
    return (int32_t)((u >> 1) ^ (~(u & 1) + 1));
}

int64_t
pr_read_varlong(struct pr_reader *r)
{
    uint64_t u = pr__read_uvar(r, 10, 64);
    return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

int
pr_read_bool(struct pr_reader *r)
{
    return pr_read_i8(r) != 0;
}

void
pr_read_uuid(struct pr_reader *r, uint8_t out[16])
{
    const uint8_t *p = pr__take(r, 16);
    if (p)
        memcpy(out, p, 16);
    else
        memset(out, 0, 16);
}

void
pr_read_raw(struct pr_reader *r, size_t n, struct sl_slice *out)
{
    const uint8_t *p = pr__take(r, n);
    out->p = p;
    out->len = p ? n : 0;
}

void
pr_skip(struct pr_reader *r, size_t n)
{
    (void)pr__take(r, n);
}

static void
pr__set_null(struct sl_slice *out, int *is_null, int null)
{
    out->p = NULL;
    out->len = 0;
    if (is_null)
        *is_null = null;
}

/* Shared tail of the string/bytes readers: len is the decoded length, -1
 * for null. */
static void
pr__read_sized(struct pr_reader *r, int64_t len, struct sl_slice *out, int *is_null)
{
    if (r->err) {
        pr__set_null(out, is_null, 0);
        return;
    }
    if (len < -1) {
        r->err = SL_ERR__CORRUPT;
        pr__set_null(out, is_null, 0);
        return;
    }
    if (len == -1) {
        pr__set_null(out, is_null, 1);
        return;
    }
    pr_read_raw(r, (size_t)len, out);
    if (is_null)
        *is_null = 0;
}

void
pr_read_string16(struct pr_reader *r, struct sl_slice *out, int *is_null)
{
    int16_t n = pr_read_i16(r);
    pr__read_sized(r, n, out, is_null);
}

void
pr_read_string(struct pr_reader *r, struct sl_slice *out, int *is_null)
{
    if (r->flexible) {
        uint32_t n = pr_read_uvarint(r);
        /* compact string length is an int32 in Kafka, cap it likewise */
        if (!r->err && n - 1 > INT16_MAX && n != 0)
            pr__fail(r, SL_ERR__CORRUPT);
        pr__read_sized(r, (int64_t)n - 1, out, is_null);
    } else {
        pr_read_string16(r, out, is_null);
    }
}

void
pr_read_bytes(struct pr_reader *r, struct sl_slice *out, int *is_null)
{
    int64_t n;
    if (r->flexible) {
        uint32_t u = pr_read_uvarint(r);
        if (!r->err && u > (uint32_t)INT32_MAX + 1u)
            pr__fail(r, SL_ERR__CORRUPT);
        n = (int64_t)u - 1;
    } else {
        n = pr_read_i32(r);
    }
    pr__read_sized(r, n, out, is_null);
}

int
pr_read_array_len(struct pr_reader *r, int32_t *n, int32_t max)
{
    int64_t cnt;

    *n = 0;
    if (r->flexible)
        cnt = (int64_t)pr_read_uvarint(r) - 1;
    else
        cnt = pr_read_i32(r);
    if (r->err)
        return r->err;
    if (cnt < -1 || cnt > max) {
        r->err = SL_ERR__CORRUPT;
        return r->err;
    }
    if (cnt > 0 && (uint64_t)cnt > r->len - r->pos) {
        r->err = SL_ERR__UNDERFLOW;
        return r->err;
    }
    *n = (int32_t)cnt;
    return 0;
}

void
pr_read_tagged_fields(struct pr_reader *r, pr_tag_cb cb, void *arg)
{
    uint32_t count, i;

    if (!r->flexible || r->err)
        return;
    count = pr_read_uvarint(r);
    /* each field is at least a tag byte and a size byte */
    if (!r->err && count > (r->len - r->pos) / 2) {
        r->err = (count > r->len) ? SL_ERR__CORRUPT : SL_ERR__UNDERFLOW;
        return;
    }
    for (i = 0; i < count && !r->err; i++) {
        uint32_t tag = pr_read_uvarint(r);
        uint32_t size = pr_read_uvarint(r);
        const uint8_t *p = pr__take(r, size);
        if (!p)
            return;
        if (cb) {
            struct pr_reader sub;
            int rc;
            pr_reader_init(&sub, p, size, 1);
            rc = cb(arg, tag, &sub);
            if (rc)
                pr__fail(r, rc);
            else if (sub.err)
                pr__fail(r, sub.err);
        }
    }
}

void
pr_skip_tagged_fields(struct pr_reader *r)
{
    pr_read_tagged_fields(r, NULL, NULL);
}

/* ---- writer ----------------------------------------------------------- */

void
pr_writer_init(struct pr_writer *w, struct sl_buf *b, int flexible)
{
    w->b = b;
    w->flexible = flexible;
    w->err = 0;
}

int
pr_writer_error(const struct pr_writer *w)
{
    if (w->b->oom)
        return SL_ERR__NOMEM;
    return w->err;
}

void pr_write_i8(struct pr_writer *w, int8_t v)   { sl_buf_put_i8(w->b, v); }
void pr_write_i16(struct pr_writer *w, int16_t v) { sl_buf_put_i16(w->b, v); }
void pr_write_i32(struct pr_writer *w, int32_t v) { sl_buf_put_i32(w->b, v); }
void pr_write_i64(struct pr_writer *w, int64_t v) { sl_buf_put_i64(w->b, v); }
void pr_write_u32(struct pr_writer *w, uint32_t v) { sl_buf_put_i32(w->b, (int32_t)v); }
void pr_write_bool(struct pr_writer *w, int v)    { sl_buf_put_i8(w->b, v ? 1 : 0); }

static void
pr__write_uvar(struct pr_writer *w, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    sl_buf_append(w->b, tmp, n);
}

void
pr_write_uvarint(struct pr_writer *w, uint32_t v)
{
    pr__write_uvar(w, v);
}

void
pr_write_varint(struct pr_writer *w, int32_t v)
{
    pr__write_uvar(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void
pr_write_varlong(struct pr_writer *w, int64_t v)
{
    pr__write_uvar(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void
pr_write_uuid(struct pr_writer *w, const uint8_t uuid[16])
{
    sl_buf_append(w->b, uuid, 16);
}

void
pr_write_raw(struct pr_writer *w, const void *p, size_t len)
{
    if (len)
        sl_buf_append(w->b, p, len);
}

void
pr_write_string16(struct pr_writer *w, const void *p, size_t len, int is_null)
{
    if (is_null) {
        sl_buf_put_i16(w->b, -1);
        return;
    }
    if (len > INT16_MAX) {
        if (!w->err)
            w->err = SL_ERR__INVALID_ARG;
        return;
    }
    sl_buf_put_i16(w->b, (int16_t)len);
    pr_write_raw(w, p, len);
}

void
pr_write_nullable_string(struct pr_writer *w, const void *p, size_t len, int is_null)
{
    if (!w->flexible) {
        pr_write_string16(w, p, len, is_null);
        return;
    }
    if (is_null) {
        pr__write_uvar(w, 0);
        return;
    }
    if (len > INT16_MAX) {        /* Kafka caps strings at Short.MAX_VALUE */
        if (!w->err)
            w->err = SL_ERR__INVALID_ARG;
        return;
    }
    pr__write_uvar(w, (uint64_t)len + 1);
    pr_write_raw(w, p, len);
}

void
pr_write_string(struct pr_writer *w, const char *s)
{
    pr_write_nullable_string(w, s, s ? strlen(s) : 0, s == NULL);
}

void
pr_write_string_len(struct pr_writer *w, const void *p, size_t len)
{
    pr_write_nullable_string(w, p, len, 0);
}

void
pr_write_bytes(struct pr_writer *w, const void *p, size_t len, int is_null)
{
    if (!is_null && len > INT32_MAX - 1) {
        if (!w->err)
            w->err = SL_ERR__INVALID_ARG;
        return;
    }
    if (w->flexible)
        pr__write_uvar(w, is_null ? 0 : (uint64_t)len + 1);
    else
        sl_buf_put_i32(w->b, is_null ? -1 : (int32_t)len);
    if (!is_null)
        pr_write_raw(w, p, len);
}

void
pr_write_array_len(struct pr_writer *w, int32_t n)
{
    if (n < -1) {
        if (!w->err)
            w->err = SL_ERR__INVALID_ARG;
        return;
    }
    if (w->flexible)
        pr__write_uvar(w, (uint64_t)((int64_t)n + 1));
    else
        sl_buf_put_i32(w->b, n);
}

void
pr_write_empty_tags(struct pr_writer *w)
{
    if (w->flexible)
        sl_buf_put_i8(w->b, 0);
}

/* 5-byte padded uvarint placeholder / patch. */
static size_t
pr__reserve(struct pr_writer *w)
{
    size_t pos = w->b->len;
    uint8_t *p = sl_buf_extend(w->b, w->flexible ? 5 : 4);
    if (p)
        memset(p, 0, w->flexible ? 5 : 4);
    return pos;
}

static void
pr__patch_uvar5(struct pr_writer *w, size_t pos, uint32_t v)
{
    uint8_t *p;
    if (w->b->oom || pos + 5 > w->b->len)
        return;
    p = w->b->data + pos;
    p[0] = (uint8_t)(v | 0x80);
    p[1] = (uint8_t)((v >> 7) | 0x80);
    p[2] = (uint8_t)((v >> 14) | 0x80);
    p[3] = (uint8_t)((v >> 21) | 0x80);
    p[4] = (uint8_t)(v >> 28);
}

size_t
pr_reserve_array_len(struct pr_writer *w)
{
    return pr__reserve(w);
}

void
pr_patch_array_len(struct pr_writer *w, size_t pos, int32_t n)
{
    if (n < -1) {
        if (!w->err)
            w->err = SL_ERR__INVALID_ARG;
        return;
    }
    if (w->flexible)
        pr__patch_uvar5(w, pos, (uint32_t)((int64_t)n + 1));
    else
        sl_buf_patch_i32(w->b, pos, n);
}

size_t
pr_reserve_bytes_len(struct pr_writer *w)
{
    return pr__reserve(w);
}

void
pr_patch_bytes_len(struct pr_writer *w, size_t pos, int32_t len)
{
    pr_patch_array_len(w, pos, len);   /* same encodings: int32 / uvarint n+1 */
}

/* ---- headers ---------------------------------------------------------- */

int
pr_req_header_version(int api_key, int api_version, int flexible_min)
{
    if (flexible_min >= 0 && api_version >= flexible_min)
        return 2;
    if (api_key == PR_API_CONTROLLED_SHUTDOWN && api_version == 0)
        return 0;
    return 1;
}

int
pr_resp_header_version(int api_key, int api_version, int flexible_min)
{
    if (api_key == PR_API_API_VERSIONS)
        return 0;
    return (flexible_min >= 0 && api_version >= flexible_min) ? 1 : 0;
}

int
pr_peek_req_key(const uint8_t *p, size_t len, int16_t *api_key, int16_t *api_version)
{
    if (len < 4)
        return SL_ERR__UNDERFLOW;
    *api_key = rec_get_i16(p);
    *api_version = rec_get_i16(p + 2);
    return 0;
}

int
pr_parse_req_hdr(struct pr_reader *r, int header_version, struct pr_req_hdr *out)
{
    memset(out, 0, sizeof(*out));
    out->client_id_null = 1;
    out->api_key = pr_read_i16(r);
    out->api_version = pr_read_i16(r);
    out->correlation_id = pr_read_i32(r);
    if (header_version >= 1)
        pr_read_string16(r, &out->client_id, &out->client_id_null);
    r->flexible = header_version >= 2;
    if (header_version >= 2)
        pr_skip_tagged_fields(r);
    if (r->err) {
        out->client_id.p = NULL;
        out->client_id.len = 0;
        out->client_id_null = 1;
    }
    return r->err;
}

void
pr_write_resp_hdr(struct pr_writer *w, int32_t correlation_id, int header_version)
{
    sl_buf_put_i32(w->b, correlation_id);
    if (header_version >= 1)
        sl_buf_put_i8(w->b, 0);
}

void
pr_skip_strings(struct pr_reader *r, int32_t n)
{
    struct sl_slice s;
    for (int32_t i = 0; i < n && !r->err; i++)
        pr_read_string(r, &s, NULL);
}
