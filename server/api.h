/* server/api.h -- the Kafka request dispatch table and what handlers share.
 *
 * One row per API key: the version range Sluice implements (exactly what
 * ApiVersions reports), the first flexible version, and the handler. A
 * handler gets a req_ctx with the header parsed and a reader positioned at
 * the body, decodes the body, and either answers (api_resp_begin ... then
 * resp_complete, now or later) or returns an error: a request that cannot be
 * decoded closes the connection, as Kafka does.
 */
#ifndef SL_API_H
#define SL_API_H

#include <stdint.h>
#include "server/broker.h"
#include "server/net.h"
#include "server/proto.h"

struct req_ctx {
    struct broker    *b;
    struct loop_ctx  *lc;
    struct conn      *c;
    struct pr_req_hdr hdr;
    int               flexible;    /* body (and response) use flexible encoding */
    struct pr_reader  r;           /* at the body */
    uint8_t          *frame;       /* whole frame, writable (Produce patches batches) */
    size_t            frame_len;
};

typedef int api_handler_fn(struct req_ctx *ctx);

struct api_def {
    int16_t         min, max;      /* implemented versions; max < 0: not implemented */
    int16_t         flex_min;      /* first flexible version, -1 = never */
    api_handler_fn *fn;
};

/* The table, indexed by API key (PR_API__NUM rows). */
const struct api_def *api_table(void);

/* Route one request frame (net's on_request). */
void api_dispatch(struct broker *b, struct conn *c, uint8_t *frame, size_t len);

/* Reserve the response slot, write the response header for ctx's API and
 * version, and set w up for the body (flexible as the request).
 * NULL if out of memory (the connection is closed). */
struct resp *api_resp_begin(struct req_ctx *ctx, struct pr_writer *w);
/* Write w's closing tags (flexible) and complete the response. */
void api_resp_finish(struct resp *r, struct pr_writer *w);

/* Handlers, one file each (server/api_<name>.c). */
api_handler_fn api_produce, api_fetch, api_list_offsets, api_metadata, api_api_versions,
    api_create_topics, api_delete_topics, api_create_partitions, api_describe_configs,
    api_alter_configs, api_incremental_alter_configs, api_describe_cluster,
    api_find_coordinator, api_join_group, api_sync_group, api_heartbeat, api_leave_group,
    api_offset_commit, api_offset_fetch, api_offset_delete, api_list_groups,
    api_describe_groups, api_delete_groups, api_init_producer_id;

#endif
