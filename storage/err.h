/* storage/err.h -- the one error space of Sluice.
 *
 * Values >= -1 are Kafka wire error codes and may be sent to a client as
 * they are. Internal codes sit between SL_ERR__BEGIN and SL_ERR__END (as
 * librdkafka fences its own), are never put on the wire, and are mapped to a
 * wire code in exactly one place: sl_err_to_wire().
 *
 * Convention: functions return int, 0 on success or one of these codes;
 * results go through OUT parameters.
 */
#ifndef SL_ERR_H
#define SL_ERR_H

enum sl_err {
    SL_ERR__BEGIN = -200,
    SL_ERR__IO,            /* a read/write/sync failed (errno logged where it happened) */
    SL_ERR__NOSPC,         /* ENOSPC / EDQUOT */
    SL_ERR__CORRUPT,       /* bytes on disk or wire fail a check */
    SL_ERR__NOMEM,
    SL_ERR__UNDERFLOW,     /* a decoder ran past the end of its input */
    SL_ERR__INVALID_ARG,   /* caller passed something out of range */
    SL_ERR__OFFLINE,       /* the log had a fatal I/O error earlier (sticky) */
    SL_ERR__EXISTS,
    SL_ERR__NOENT,
    SL_ERR__END = -100,

    SL_ERR_UNKNOWN_SERVER = -1,
    SL_ERR_NONE = 0,
    SL_ERR_OFFSET_OUT_OF_RANGE = 1,
    SL_ERR_CORRUPT_MESSAGE = 2,
    SL_ERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
    SL_ERR_INVALID_FETCH_SIZE = 4,
    SL_ERR_LEADER_NOT_AVAILABLE = 5,
    SL_ERR_NOT_LEADER_OR_FOLLOWER = 6,
    SL_ERR_REQUEST_TIMED_OUT = 7,
    SL_ERR_MESSAGE_TOO_LARGE = 10,
    SL_ERR_OFFSET_METADATA_TOO_LARGE = 12,
    SL_ERR_NETWORK_EXCEPTION = 13,
    SL_ERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
    SL_ERR_COORDINATOR_NOT_AVAILABLE = 15,
    SL_ERR_NOT_COORDINATOR = 16,
    SL_ERR_INVALID_TOPIC_EXCEPTION = 17,
    SL_ERR_RECORD_LIST_TOO_LARGE = 18,
    SL_ERR_NOT_ENOUGH_REPLICAS = 19,
    SL_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20,
    SL_ERR_INVALID_REQUIRED_ACKS = 21,
    SL_ERR_ILLEGAL_GENERATION = 22,
    SL_ERR_INCONSISTENT_GROUP_PROTOCOL = 23,
    SL_ERR_INVALID_GROUP_ID = 24,
    SL_ERR_UNKNOWN_MEMBER_ID = 25,
    SL_ERR_INVALID_SESSION_TIMEOUT = 26,
    SL_ERR_REBALANCE_IN_PROGRESS = 27,
    SL_ERR_INVALID_COMMIT_OFFSET_SIZE = 28,
    SL_ERR_TOPIC_AUTHORIZATION_FAILED = 29,
    SL_ERR_CLUSTER_AUTHORIZATION_FAILED = 31,
    SL_ERR_INVALID_TIMESTAMP = 32,
    SL_ERR_UNSUPPORTED_VERSION = 35,
    SL_ERR_TOPIC_ALREADY_EXISTS = 36,
    SL_ERR_INVALID_PARTITIONS = 37,
    SL_ERR_INVALID_REPLICATION_FACTOR = 38,
    SL_ERR_INVALID_REPLICA_ASSIGNMENT = 39,
    SL_ERR_INVALID_CONFIG = 40,
    SL_ERR_NOT_CONTROLLER = 41,
    SL_ERR_INVALID_REQUEST = 42,
    SL_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT = 43,
    SL_ERR_POLICY_VIOLATION = 44,
    SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
    SL_ERR_DUPLICATE_SEQUENCE_NUMBER = 46,
    SL_ERR_INVALID_PRODUCER_EPOCH = 47,
    SL_ERR_INVALID_TXN_STATE = 48,
    SL_ERR_INVALID_PRODUCER_ID_MAPPING = 49,
    SL_ERR_INVALID_TRANSACTION_TIMEOUT = 50,
    SL_ERR_CONCURRENT_TRANSACTIONS = 51,
    SL_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53,
    SL_ERR_SECURITY_DISABLED = 54,
    SL_ERR_KAFKA_STORAGE_ERROR = 56,
    SL_ERR_LOG_DIR_NOT_FOUND = 57,
    SL_ERR_UNKNOWN_PRODUCER_ID = 59,
    SL_ERR_NON_EMPTY_GROUP = 68,
    SL_ERR_GROUP_ID_NOT_FOUND = 69,
    SL_ERR_FENCED_LEADER_EPOCH = 74,
    SL_ERR_UNKNOWN_LEADER_EPOCH = 75,
    SL_ERR_UNSUPPORTED_COMPRESSION_TYPE = 76,
    SL_ERR_MEMBER_ID_REQUIRED = 79,
    SL_ERR_GROUP_MAX_SIZE_REACHED = 81,
    SL_ERR_FENCED_INSTANCE_ID = 82,
    SL_ERR_GROUP_SUBSCRIBED_TO_TOPIC = 86,
    SL_ERR_INVALID_RECORD = 87,
    SL_ERR_UNSTABLE_OFFSET_COMMIT = 88,
    SL_ERR_PRODUCER_FENCED = 90,
    SL_ERR_UNKNOWN_TOPIC_ID = 100,
};

/* Human-readable name of any code above ("OFFSET_OUT_OF_RANGE", "io error"). */
const char *sl_strerror(int err);

/* The wire code to send for err: internal codes become the nearest Kafka
 * code (I/O, space, offline -> KAFKA_STORAGE_ERROR; corrupt -> CORRUPT_MESSAGE). */
int sl_err_to_wire(int err);

/* Internal code for an errno value seen at a syscall (ENOSPC -> SL_ERR__NOSPC, ...). */
int sl_err_from_errno(int errnum);

#endif
