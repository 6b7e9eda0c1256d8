/* server/group.h -- the group coordinator: consumer groups, their
 * generations and rebalances, and committed offsets.
 *
 * State machine as Kafka's (GroupCoordinator.scala): Empty,
 * PreparingRebalance, CompletingRebalance, Stable, Dead. A JoinGroup parks
 * until every known member has rejoined or the rebalance timeout passes
 * (new empty groups first wait group.initial.rebalance.delay.ms); then the
 * generation advances, the protocol is chosen by vote, the leader gets the
 * member list and everyone gets a reply. SyncGroup replies park until the
 * leader sends the assignments. Heartbeats keep a member's session alive;
 * a member silent past its session timeout is removed and the group
 * rebalances. Static members (group.instance.id) that come back get their
 * place (and, in a stable group, their assignment) without a rebalance.
 *
 * Committed offsets live in memory per group and durably in the internal
 * topic __consumer_offsets (Kafka's record formats: key v1 = group, topic,
 * partition; value v3 = offset, leader epoch, metadata, commit time; a null
 * value deletes), one partition per group by Java hashCode, written through
 * the same storage engine and loaded back at start. An OffsetCommit is
 * answered after the group commit fsynced it.
 *
 * Threading: handlers run on any network loop; all group state is behind
 * one mutex. Parked replies are completed on their own loop (directly when
 * already there, else through loop_post). A coordinator thread ticks every
 * 50 ms for deadlines (sessions, rebalance timeouts, pending member ids)
 * and offsets retention.
 */
#ifndef SL_GROUP_H
#define SL_GROUP_H

#include <stdint.h>
#include "server/api.h"

struct coord;

enum group_state { GS_EMPTY, GS_PREPARING, GS_COMPLETING, GS_STABLE, GS_DEAD };
const char *group_state_name(int state);

int  coord_start(struct coord **out, struct broker *b);
void coord_stop(struct coord *c);
/* A network loop is stopping: answer every reply parked on it now. */
void coord_loop_stopping(struct coord *c, struct loop *l);

/* ---- requests (decoded by server/api_group*.c) ---------------------------- */

struct join_protocol {
    struct sl_slice name;
    struct sl_slice meta;
};

struct join_req {
    struct sl_slice group, member, instance, protocol_type, client_id;
    int             instance_null;
    int32_t         session_timeout, rebalance_timeout;
    int             nprotocols;
    struct join_protocol *protocols;
};
/* Handles the request and answers it (now or later). */
void group_join(struct coord *c, struct req_ctx *ctx, const struct join_req *jr);

struct sync_assignment {
    struct sl_slice member, assignment;
};
struct sync_req {
    struct sl_slice group, member, instance, protocol_type, protocol_name;
    int             instance_null, protocol_type_null, protocol_name_null;
    int32_t         generation;
    int             nassign;
    struct sync_assignment *assign;
};
void group_sync(struct coord *c, struct req_ctx *ctx, const struct sync_req *sr);

/* Heartbeat: returns the error code to send. */
int group_heartbeat(struct coord *c, struct sl_slice group, struct sl_slice member,
                    struct sl_slice instance, int instance_null, int32_t generation);
/* LeaveGroup of one member (member may be empty when instance is given). */
int group_leave(struct coord *c, struct sl_slice group, struct sl_slice member,
                struct sl_slice instance, int instance_null);
/* 0 if the group exists (any state), else GROUP_ID_NOT_FOUND. */
int group_exists(struct coord *c, struct sl_slice group);

/* ---- offsets --------------------------------------------------------------- */

/* Check that member/generation may commit to group (creating an Empty
 * group for a standalone commit). 0 or the error for every partition. */
int group_commit_check(struct coord *c, struct sl_slice group, struct sl_slice member,
                       struct sl_slice instance, int instance_null, int32_t generation);
/* Store one committed offset (in memory and appended to the log buffer
 * out_batch as a record; see group_commit_flush). */
struct offset_commit_batch;
struct offset_commit_batch *group_commit_begin(struct coord *c, struct sl_slice group);
int  group_commit_add(struct offset_commit_batch *ob, struct sl_slice topic, int32_t partition,
                      int64_t offset, int32_t leader_epoch, struct sl_slice metadata,
                      int metadata_null, int64_t now_ms);
/* Append the batch to __consumer_offsets; *part gets the partition to
 * fsync before answering (NULL if nothing was written). Frees ob. */
int  group_commit_end(struct offset_commit_batch *ob, struct partition **part);

/* Look up a committed offset: 0 found, SL_ERR__NOENT if none. metadata is
 * copied into buf (NUL-free bytes, *mlen set). */
int group_offset_get(struct coord *c, struct sl_slice group, const char *topic, size_t tlen,
                     int32_t partition, int64_t *offset, int32_t *leader_epoch,
                     char *mbuf, size_t mcap, size_t *mlen);
/* Every committed (topic, partition) of a group, for OffsetFetch with null
 * topics: calls fn for each. */
void group_offsets_each(struct coord *c, struct sl_slice group,
                        void (*fn)(void *arg, const char *topic, int32_t partition,
                                   int64_t offset, int32_t epoch, const char *meta),
                        void *arg);
/* OffsetDelete of one partition: 0, GROUP_ID_NOT_FOUND, GROUP_SUBSCRIBED_TO_TOPIC. */
int group_offset_delete(struct coord *c, struct sl_slice group, const char *topic, size_t tlen,
                        int32_t partition);
/* OffsetDelete pre-check for the whole group (error for the top level). */
int group_offset_delete_check(struct coord *c, struct sl_slice group);

/* ---- admin ------------------------------------------------------------------ */

struct group_summary {
    char   *id;
    char   *protocol_type;
    int     state;
};
/* Snapshot of all groups (free with group_list_free). */
int  group_list(struct coord *c, struct group_summary **out, int *n);
void group_list_free(struct group_summary *v, int n);
/* DescribeGroups: write one described group (v0-5 layout) into w. */
void group_describe(struct coord *c, struct pr_writer *w, int16_t ver, struct sl_slice group);
/* DeleteGroups: 0, GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP. */
int  group_delete(struct coord *c, struct sl_slice group);

/* The __consumer_offsets partition for a group (Kafka's partitionFor). */
int32_t group_partition_for(const struct sl_conf *conf, struct sl_slice group);

#endif
