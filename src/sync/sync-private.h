/* SPDX-License-Identifier: MIT */
/* Internals of the sync engine, shared by the files of src/sync only. */
#ifndef MH_SYNC_PRIVATE_H
#define MH_SYNC_PRIVATE_H

#include "sync-engine.h"
#include "sync-state.h"

/* One worker: a connection pair and its own state database connection. */
struct sync_worker {
	const struct mh_sync_options *opts; /* borrowed */
	struct mh_store *src;               /* owned */
	struct mh_store *dst;               /* owned */
	struct mh_state *state;             /* owned; NULL with dry or verify_only */
	struct mh_sync_progress *progress;  /* borrowed */
};

/* A source message as listed. */
struct sync_msg {
	uint32_t uid;
	uint64_t size;
	char *flags;       /* owned; as the server sent them, \Recent removed */
	char *date;        /* owned; INTERNALDATE, may be NULL */
	char *fingerprint; /* owned; only when needed */
	bool copy;         /* to be copied */
};

/* What the copy phase needs about the folder. */
struct sync_copy {
	struct sync_worker *w;
	struct mh_sync_folder_result *res;
	const char *dst_name;
	int64_t folder_id;
	const struct mh_store_box *dst_box;
	GHashTable *by_uid; /* borrowed; uid -> struct sync_msg * */
	GPtrArray *pending; /* owned; struct mh_state_msg * answered, not yet written */
	GError *fatal;      /* owned; a connection failed: stop the folder */
	/* the message being streamed */
	struct sync_msg *cur;
	bool discard;
	uint64_t cur_size;
};

/* What the matching, flag and deletion steps need about a folder (sync-match.c). */
struct match_ctx {
	struct sync_worker *w;
	struct mh_sync_folder_result *res;
	int64_t folder_id;
	GHashTable *map;       /* src uid -> struct mh_state_msg * (owned by the folder run) */
	GHashTable *by_uid;    /* src uid -> struct sync_msg * (borrowed) */
	GHashTable *src_uids;  /* every UID now in the source folder (borrowed) */
	GHashTable *dst_taken; /* dst uids accounted for */
	const struct mh_store_box *dst_box;
};

/* --- sync-list.c --- */

/* Lists @uidset ("1:*" or explicit) of the selected folder of @st with @items
 * (MH_STORE_META_*), fingerprints computed when headers are asked for; with
 * @changedsince only messages changed after it. Sorted by UID; NULL on error. */
GPtrArray *sync_list_msgs(struct mh_store *st, const char *uidset, unsigned items, bool use_size,
                          uint64_t changedsince, GError **error);

/* Lists the messages with UIDs @uids (sorted), fetched in ranges. */
GPtrArray *sync_list_uids(struct mh_store *st, const GArray *uids, unsigned items, bool use_size,
                          GError **error);

gint sync_msg_cmp(gconstpointer a, gconstpointer b);
gint sync_uid_cmp(gconstpointer a, gconstpointer b);

/* A set (GUINT_TO_POINTER keys) of the guint32 UIDs in @uids; caller unrefs. */
GHashTable *sync_uid_set_of(const GArray *uids);

/* --- sync-match.c --- */

/* Short state transactions: begin, then end committing when @ok (else rolling back).
 * Both are no-ops without a state store. */
bool sync_state_begin(struct sync_worker *w, GError **error);
bool sync_state_end(struct sync_worker *w, bool ok, GError **error);

/* Matches new source messages (copy set) to destination messages in @dst_unknown by
 * fingerprint; a match is recorded and no longer copied. */
bool sync_match_unknown(struct match_ctx *mc, GPtrArray *msgs, GArray *dst_unknown, GError **error);

/* Carries changed source flags over to the mapped destination messages (source wins). */
bool sync_carry_flags(struct match_ctx *mc, GPtrArray *msgs, GError **error);

/* --delete2: deletes destination messages that answer for no current source message. */
bool sync_delete_dst(struct match_ctx *mc, const GArray *dst_uids, GError **error);

/* --delete1: deletes source messages whose copy is present on the destination now. */
bool sync_delete_src(struct match_ctx *mc, GError **error);

/* Syncs (or compares) one folder pair; false only on a failure that ends the worker's
 * connections (they must be reconnected). Folder-level problems go into job's result. */
bool sync_folder(struct sync_worker *w, struct mh_sync_folder_result *res, int64_t *folder_id,
                 GError **error);

/* Whether the folder pair is unchanged since the last run on both sides (STATUS only);
 * then fills @res with what the state knows. Errors count as "changed". @src_box and
 * @dst_box, when not NULL, are counters just read (LIST-STATUS) that spare a STATUS. */
bool sync_folder_check_unchanged(struct sync_worker *w, struct mh_sync_folder_result *res,
                                 const struct mh_store_box *src_box,
                                 const struct mh_store_box *dst_box);

/* Copies the messages marked copy in @msgs (ascending UIDs), streaming and pipelined. */
bool sync_copy_messages(struct sync_copy *c, GPtrArray *msgs, GError **error);

/* @flags restricted to what the destination keeps (PERMANENTFLAGS), sorted, without
 * \Recent. Caller frees. */
char *sync_flags_for_dest(const char *flags, const struct mh_store_box *dst_box);

void sync_msg_free(struct sync_msg *m);

/* Classifies a destination's refusal: quota or a per-message refusal. */
bool sync_error_is_quota(const GError *error);

/* Whether an error ends the connection (as opposed to a refused command). */
bool sync_error_is_fatal(const GError *error);

#endif
