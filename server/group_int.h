/* server/group_int.h -- the group coordinator's internals, shared by its two
 * files: group.c (membership, rebalances, the ticker) and group_offsets.c
 * (committed offsets: memory, __consumer_offsets, load, retention,
 * deletion). Everything here is used with coord->mu held unless a function
 * says otherwise. Not for use outside the coordinator.
 */
#ifndef SL_GROUP_INT_H
#define SL_GROUP_INT_H

#include <pthread.h>
#include "server/group.h"
#include "storage/buf.h"
#include "storage/record.h"

#define OFFSETS_TOPIC "__consumer_offsets"

struct parked {
    struct coord *c;
    struct resp *r;
    struct loop *l;
    int16_t      version;
    int          flexible;
};

struct gmember {
    char    *id;
    char    *instance;                /* NULL for dynamic members */
    char    *client_id;
    char    *client_host;
    int32_t  session_timeout;
    int32_t  rebalance_timeout;
    int      nprotocols;
    struct { char *name; uint8_t *meta; size_t meta_len; } *protocols;
    uint8_t *assignment;
    size_t   assignment_len;
    struct parked *join;
    struct parked *sync;
    int64_t  deadline;                /* session expiry, monotonic ms */
};

struct goffset {
    char    *topic;
    int32_t  partition;
    int64_t  offset;
    int32_t  leader_epoch;
    char    *metadata;
    int64_t  commit_ts;
};

struct pending_member {
    char   *id;
    int64_t deadline;
};

struct group {
    char           *id;
    int             state;
    char           *protocol_type;
    char           *protocol;
    int32_t         generation;
    char           *leader;
    struct gmember **members;
    int             nmembers;
    struct pending_member *pending;
    int             npending;
    int64_t         rebalance_deadline;   /* join phase ends by then */
    int64_t         initial_delay_until;  /* new group: wait for more members */
    int64_t         empty_since_wall;
    struct goffset *offsets;              /* sorted by (topic, partition) */
    int             noffsets, offsets_cap;
};

struct coord {
    pthread_mutex_t mu;
    struct broker  *b;
    struct group  **groups;              /* sorted by id */
    int             ngroups, cap;
    struct topic   *offsets_topic;       /* reference, NULL until first needed */
    pthread_t       ticker;
    pthread_cond_t  cv;
    int             stopping;
    int64_t         last_retention_check;
    struct loop    *stopped[64];         /* network loops that stopped */
    int             nstopped;
};

struct offset_commit_batch {
    struct coord      *c;
    char              *group;     /* a copy: the group itself may be deleted
                                   * meanwhile, it is looked up under mu */
    struct sl_buf      buf;
    struct rec_builder rb;
    int                n;
};

/* small helpers (group.c) */
char *grp_sdup(struct sl_slice s);
int grp_seq(const char *a, struct sl_slice s);
int grp_scmp(const char *a, struct sl_slice s);
int64_t grp_mono_now(void);
struct group *grp_find_group(struct coord *c, struct sl_slice id, int *slot);
struct group *grp_get_or_create_group(struct coord *c, struct sl_slice id);
void grp_group_free(struct group *g);
struct gmember *grp_find_member(struct group *g, struct sl_slice id, int *idx);
struct gmember *grp_find_static(struct group *g, struct sl_slice instance);
int grp_fenced_instance(struct group *g, struct sl_slice member, struct sl_slice instance,
                        int instance_null);
void grp_touch(struct gmember *m);

/* offsets (group_offsets.c) */
/* Expire the offsets of groups empty for offsets.retention.minutes (mu
 * held). The __consumer_offsets partitions written go to flush[] (at most
 * max, distinct; once it is full the rest waits for the next pass), for
 * the caller to plog_flush after releasing mu. Returns how many. */
int grp_offsets_retention(struct coord *c, int64_t now_wall, struct partition **flush, int max);
/* Replay __consumer_offsets into memory (at start, before the ticker). */
void grp_load_offsets(struct coord *c);

#endif
