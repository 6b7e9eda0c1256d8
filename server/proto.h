/* server/proto.h -- Kafka protocol primitives: a bounded reader, a writer,
 * request/response headers and the API key table.
 *
 * Every API codec (server/proto_<api>.c) is written from these, once, with
 * version conditions. Encoding rules (Kafka protocol guide, KIP-482):
 *
 *   classic      int16 string len (-1 null), int32 bytes len (-1 null),
 *                int32 array count (-1 null)
 *   flexible     compact forms: uvarint len+1 / count+1 (0 = null), and a
 *                tagged-field section (uvarint count, then tag, size, bytes)
 *                after each struct
 *
 * Reader: every read checks the bytes that remain. The first failure sets
 * r->err (SL_ERR__UNDERFLOW: ran past the end; SL_ERR__CORRUPT: a value no
 * valid encoder produces) and returns a zero value; every later read is a
 * no-op returning zero, so a decoder may check r->err once at the end or
 * jump with PR_CHECK(). Slices point into the input (the request frame):
 * nothing is copied or allocated, and they live as long as the frame.
 *
 * Writer: appends to a struct sl_buf. Allocation failure is sticky in b->oom;
 * a value that cannot be encoded (an int16 string longer than 32767) sets
 * w->err. pr_writer_error() reports either, so encoders check once.
 *
 * Counts not known up front: pr_reserve_array_len() leaves a placeholder and
 * pr_patch_array_len() fills it. Classic: an int32. Flexible: a 5-byte
 * uvarint padded with continuation bits (0x80 0x80 0x80 0x80 0x0N), which
 * Kafka's ByteUtils.readUnsignedVarint and librdkafka both accept, and so
 * does pr_read_uvarint. The same exists for bytes lengths (Fetch records).
 *
 * Threading: no state outside the structs; any thread.
 */
#ifndef SL_PROTO_H
#define SL_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include "storage/buf.h"

/* ---- API keys --------------------------------------------------------- */

enum pr_api_key {
    PR_API_PRODUCE = 0,
    PR_API_FETCH = 1,
    PR_API_LIST_OFFSETS = 2,
    PR_API_METADATA = 3,
    PR_API_LEADER_AND_ISR = 4,
    PR_API_STOP_REPLICA = 5,
    PR_API_UPDATE_METADATA = 6,
    PR_API_CONTROLLED_SHUTDOWN = 7,
    PR_API_OFFSET_COMMIT = 8,
    PR_API_OFFSET_FETCH = 9,
    PR_API_FIND_COORDINATOR = 10,
    PR_API_JOIN_GROUP = 11,
    PR_API_HEARTBEAT = 12,
    PR_API_LEAVE_GROUP = 13,
    PR_API_SYNC_GROUP = 14,
    PR_API_DESCRIBE_GROUPS = 15,
    PR_API_LIST_GROUPS = 16,
    PR_API_SASL_HANDSHAKE = 17,
    PR_API_API_VERSIONS = 18,
    PR_API_CREATE_TOPICS = 19,
    PR_API_DELETE_TOPICS = 20,
    PR_API_DELETE_RECORDS = 21,
    PR_API_INIT_PRODUCER_ID = 22,
    PR_API_OFFSET_FOR_LEADER_EPOCH = 23,
    PR_API_ADD_PARTITIONS_TO_TXN = 24,
    PR_API_ADD_OFFSETS_TO_TXN = 25,
    PR_API_END_TXN = 26,
    PR_API_WRITE_TXN_MARKERS = 27,
    PR_API_TXN_OFFSET_COMMIT = 28,
    PR_API_DESCRIBE_ACLS = 29,
    PR_API_CREATE_ACLS = 30,
    PR_API_DELETE_ACLS = 31,
    PR_API_DESCRIBE_CONFIGS = 32,
    PR_API_ALTER_CONFIGS = 33,
    PR_API_ALTER_REPLICA_LOG_DIRS = 34,
    PR_API_DESCRIBE_LOG_DIRS = 35,
    PR_API_SASL_AUTHENTICATE = 36,
    PR_API_CREATE_PARTITIONS = 37,
    PR_API_CREATE_DELEGATION_TOKEN = 38,
    PR_API_RENEW_DELEGATION_TOKEN = 39,
    PR_API_EXPIRE_DELEGATION_TOKEN = 40,
    PR_API_DESCRIBE_DELEGATION_TOKEN = 41,
    PR_API_DELETE_GROUPS = 42,
    PR_API_ELECT_LEADERS = 43,
    PR_API_INCREMENTAL_ALTER_CONFIGS = 44,
    PR_API_ALTER_PARTITION_REASSIGNMENTS = 45,
    PR_API_LIST_PARTITION_REASSIGNMENTS = 46,
    PR_API_OFFSET_DELETE = 47,
    PR_API_DESCRIBE_CLIENT_QUOTAS = 48,
    PR_API_ALTER_CLIENT_QUOTAS = 49,
    PR_API_DESCRIBE_USER_SCRAM_CREDENTIALS = 50,
    PR_API_ALTER_USER_SCRAM_CREDENTIALS = 51,
    PR_API_VOTE = 52,
    PR_API_BEGIN_QUORUM_EPOCH = 53,
    PR_API_END_QUORUM_EPOCH = 54,
    PR_API_DESCRIBE_QUORUM = 55,
    PR_API_ALTER_PARTITION = 56,
    PR_API_UPDATE_FEATURES = 57,
    PR_API_ENVELOPE = 58,
    PR_API_FETCH_SNAPSHOT = 59,
    PR_API_DESCRIBE_CLUSTER = 60,
    PR_API_DESCRIBE_PRODUCERS = 61,
    PR_API_BROKER_REGISTRATION = 62,
    PR_API_BROKER_HEARTBEAT = 63,
    PR_API_UNREGISTER_BROKER = 64,
    PR_API_DESCRIBE_TRANSACTIONS = 65,
    PR_API_LIST_TRANSACTIONS = 66,
    PR_API_ALLOCATE_PRODUCER_IDS = 67,
    PR_API_CONSUMER_GROUP_HEARTBEAT = 68,
    PR_API_CONSUMER_GROUP_DESCRIBE = 69,
    PR_API_CONTROLLER_REGISTRATION = 70,
    PR_API_GET_TELEMETRY_SUBSCRIPTIONS = 71,
    PR_API_PUSH_TELEMETRY = 72,
    PR_API_ASSIGN_REPLICAS_TO_DIRS = 73,
    PR_API_LIST_CLIENT_METRICS_RESOURCES = 74,
    PR_API_DESCRIBE_TOPIC_PARTITIONS = 75,
    PR_API_SHARE_GROUP_HEARTBEAT = 76,
    PR_API_SHARE_GROUP_DESCRIBE = 77,
    PR_API_SHARE_FETCH = 78,
    PR_API_SHARE_ACKNOWLEDGE = 79,
    PR_API_ADD_RAFT_VOTER = 80,
    PR_API_REMOVE_RAFT_VOTER = 81,
    PR_API_UPDATE_RAFT_VOTER = 82,
    PR_API_INITIALIZE_SHARE_GROUP_STATE = 83,
    PR_API_READ_SHARE_GROUP_STATE = 84,
    PR_API_WRITE_SHARE_GROUP_STATE = 85,
    PR_API_DELETE_SHARE_GROUP_STATE = 86,
    PR_API_READ_SHARE_GROUP_STATE_SUMMARY = 87,
    PR_API__NUM                          /* one past the highest known key */
};

/* Kafka's name for an API key ("Produce", "ApiVersions"), or "Unknown". */
const char *pr_api_name(int api_key);

/* ---- reader ----------------------------------------------------------- */

struct pr_reader {
    const uint8_t *p;        /* input, borrowed */
    size_t         len;
    size_t         pos;      /* next byte to read */
    int            err;      /* 0, SL_ERR__UNDERFLOW or SL_ERR__CORRUPT (sticky) */
    int            flexible; /* compact strings/bytes/arrays, tagged fields */
};

/* Jump to label once the reader has failed: PR_CHECK(r, err_parse); */
#define PR_CHECK(r, label) do { if ((r)->err) goto label; } while (0)

void pr_reader_init(struct pr_reader *r, const void *p, size_t len, int flexible);
static inline size_t pr_remaining(const struct pr_reader *r)
{ return r->err ? 0 : r->len - r->pos; }

int8_t   pr_read_i8(struct pr_reader *r);
int16_t  pr_read_i16(struct pr_reader *r);
int32_t  pr_read_i32(struct pr_reader *r);
int64_t  pr_read_i64(struct pr_reader *r);
uint32_t pr_read_u32(struct pr_reader *r);
/* Unsigned varint (flexible encoding): at most 5 bytes, value < 2^32. */
uint32_t pr_read_uvarint(struct pr_reader *r);
/* Zigzag varint (<= 5 bytes) / varlong (<= 10 bytes), as in records. */
int32_t  pr_read_varint(struct pr_reader *r);
int64_t  pr_read_varlong(struct pr_reader *r);
/* Boolean: 0 -> 0, anything else -> 1 (Kafka reads byte != 0). */
int      pr_read_bool(struct pr_reader *r);
/* 16 raw bytes into out. */
void     pr_read_uuid(struct pr_reader *r, uint8_t out[16]);
/* n raw bytes as a slice into the input. */
void     pr_read_raw(struct pr_reader *r, size_t n, struct sl_slice *out);
void     pr_skip(struct pr_reader *r, size_t n);

/* String: int16 length (-1 null) or, when r->flexible, compact (uvarint
 * len+1, 0 null). OUT: *out (p NULL, len 0 when null), *is_null (may be
 * NULL if the caller does not care). Lengths below -1 are CORRUPT. */
void pr_read_string(struct pr_reader *r, struct sl_slice *out, int *is_null);
/* The classic int16 form whatever r->flexible says (request header v1/v2). */
void pr_read_string16(struct pr_reader *r, struct sl_slice *out, int *is_null);
/* Bytes: int32 length (-1 null) or compact uvarint len+1. */
void pr_read_bytes(struct pr_reader *r, struct sl_slice *out, int *is_null);

/* Array count: int32 (-1 null) or compact uvarint n+1 (0 null); a null
 * array gives *n = -1. Rejects n < -1 and n > max (CORRUPT) and n greater
 * than the bytes remaining (UNDERFLOW: every element takes >= 1 byte), so
 * a decoder may allocate n elements without amplification. On error *n = 0.
 * Returns 0 or the error. */
int pr_read_array_len(struct pr_reader *r, int32_t *n, int32_t max);

/* Skip a tagged-field section (no-op unless r->flexible). */
void pr_skip_tagged_fields(struct pr_reader *r);
/* Read past n strings (validating their framing), for decoders that check a
 * whole request before answering and then walk the array again from the
 * position saved before the call. */
void pr_skip_strings(struct pr_reader *r, int32_t n);
/* Read a tagged-field section, calling cb for each field with a sub-reader
 * bounded to the field's bytes (flexible). The outer reader moves past the
 * field whatever cb consumed; an unknown tag is simply ignored by cb
 * (return 0). A non-zero return from cb, or a failed sub-reader, becomes
 * r->err. No-op unless r->flexible. */
typedef int (*pr_tag_cb)(void *arg, uint32_t tag, struct pr_reader *field);
void pr_read_tagged_fields(struct pr_reader *r, pr_tag_cb cb, void *arg);

/* ---- writer ----------------------------------------------------------- */

struct pr_writer {
    struct sl_buf *b;        /* borrowed */
    int            flexible;
    int            err;      /* SL_ERR__INVALID_ARG: a value could not be encoded */
};

void pr_writer_init(struct pr_writer *w, struct sl_buf *b, int flexible);
/* 0, SL_ERR__NOMEM (buffer out of memory) or w->err. */
int  pr_writer_error(const struct pr_writer *w);

void pr_write_i8(struct pr_writer *w, int8_t v);
void pr_write_i16(struct pr_writer *w, int16_t v);
void pr_write_i32(struct pr_writer *w, int32_t v);
void pr_write_i64(struct pr_writer *w, int64_t v);
void pr_write_u32(struct pr_writer *w, uint32_t v);
void pr_write_uvarint(struct pr_writer *w, uint32_t v);
void pr_write_varint(struct pr_writer *w, int32_t v);     /* zigzag */
void pr_write_varlong(struct pr_writer *w, int64_t v);    /* zigzag */
void pr_write_bool(struct pr_writer *w, int v);
void pr_write_uuid(struct pr_writer *w, const uint8_t uuid[16]);
void pr_write_raw(struct pr_writer *w, const void *p, size_t len);

/* NUL-terminated string; s == NULL writes null. int16 or compact per w. */
void pr_write_string(struct pr_writer *w, const char *s);
/* Non-null string of len bytes (p may be NULL when len is 0). */
void pr_write_string_len(struct pr_writer *w, const void *p, size_t len);
/* String that is null when is_null, else len bytes at p. */
void pr_write_nullable_string(struct pr_writer *w, const void *p, size_t len, int is_null);
/* Classic int16 string whatever w->flexible says (header client id). */
void pr_write_string16(struct pr_writer *w, const void *p, size_t len, int is_null);
/* Bytes: int32 length or compact; null when is_null. */
void pr_write_bytes(struct pr_writer *w, const void *p, size_t len, int is_null);
/* Array count: int32 or compact n+1; n = -1 writes a null array. */
void pr_write_array_len(struct pr_writer *w, int32_t n);
/* Empty tagged-field section (one 0 byte) when flexible; else nothing. */
void pr_write_empty_tags(struct pr_writer *w);

/* Placeholder for an array count / bytes length known only later. Returns
 * its position in w->b; patch it with the matching call. The writer's
 * flexible mode must not change in between. Patching an array count of -1
 * writes null. */
size_t pr_reserve_array_len(struct pr_writer *w);
void   pr_patch_array_len(struct pr_writer *w, size_t pos, int32_t n);
size_t pr_reserve_bytes_len(struct pr_writer *w);
void   pr_patch_bytes_len(struct pr_writer *w, size_t pos, int32_t len);

/* ---- headers ---------------------------------------------------------- */

struct pr_req_hdr {
    int16_t         api_key;
    int16_t         api_version;
    int32_t         correlation_id;
    struct sl_slice client_id;       /* into the frame; empty when null or v0 */
    int             client_id_null;  /* 1 when null (or header v0) */
};

/* Request header version for an API version. flexible_min: the API's first
 * flexible version, or -1 if it never is. 2 when flexible, else 1;
 * ControlledShutdown v0 uses header 0. */
int pr_req_header_version(int api_key, int api_version, int flexible_min);
/* Response header version: 1 when flexible, else 0; ApiVersions is always 0
 * (a client must read it before it knows what the broker speaks). */
int pr_resp_header_version(int api_key, int api_version, int flexible_min);

/* Read api_key and api_version from the first 4 bytes of a request frame
 * (after the int32 size) so the caller can pick the header version.
 * Returns 0 or SL_ERR__UNDERFLOW. */
int pr_peek_req_key(const uint8_t *p, size_t len, int16_t *api_key, int16_t *api_version);

/* Parse a request header of the given version (0: key, version, corr id;
 * 1: + int16 nullable client id; 2: v1 + tagged fields, the client id stays
 * non-compact). Afterwards r->flexible = (header_version >= 2), which is the
 * body's encoding. Returns 0 or r->err. */
int pr_parse_req_hdr(struct pr_reader *r, int header_version, struct pr_req_hdr *out);

/* Response header: correlation id, then (version >= 1) an empty tag section. */
void pr_write_resp_hdr(struct pr_writer *w, int32_t correlation_id, int header_version);

#endif
