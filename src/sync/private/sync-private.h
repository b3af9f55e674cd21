/* SPDX-License-Identifier: MIT */
/* Internals of the sync engine, shared by the files of src/sync only. */
#ifndef MH_SYNC_PRIVATE_H
#define MH_SYNC_PRIVATE_H

#include "sync-engine.h"
#include "sync-state.h"

/* UIDs named in one command (UID FETCH, UID STORE): a bounded command line. */
/* A UID set in one command: at most this many ranges (a short line), and this many UIDs
 * (a big mailbox's listing comes in a few commands, each costing the server about the
 * same whatever it covers). */
#define UIDSET_MAX      1000
#define UIDSET_MAX_UIDS 50000

struct sync_labels;

/* What the workers share beyond the options. */
struct sync_shared {
	const struct sync_labels *labels; /* Gmail label owners, or NULL */
	gint pace_permille; /* the share of opts->pace in force (lowered after throttling) */
	struct sync_budget *budget; /* the daily transfer budgets, or NULL */
	guint waits;                /* back-offs and pauses so far */
	/* Each changed folder's counters from the listing (struct mh_sync_folder_result * ->
	 * struct sync_listed *), taken by its first pass so that it sends no STATUS; a
	 * later pass (after a reconnect) asks again. Guarded by listed_lock. */
	GHashTable *listed;
	GMutex listed_lock;
	gint64 paced_bytes;     /* message bytes started under max_bytes_per_second (atomic) */
	gint64 paced_t0;        /* when the first of them started (monotonic us; atomic, 0: none) */
	struct sync_pool *pool; /* the workers a big folder's copy is shared with, or NULL */
};

struct sync_listed {
	struct mh_store_box src, dst; /* without permanentflags */
};

/* Takes the listing's counters for @res, if any are left (caller frees). */
struct sync_listed *sync_listed_take(struct sync_shared *shared,
                                     const struct mh_sync_folder_result *res);

/* sync-budget.c: the daily transfer budgets, counted across runs */
struct sync_budget;

/* A new budget for the limits in @o, loading what earlier runs moved from o->budget_path;
 * NULL when nothing is copied or counted (no error then), or NULL with @error set. */
struct sync_budget *sync_budget_new(const struct mh_sync_options *o, GError **error);

/* Counts @down bytes fetched from the source and @up bytes appended to the destination.
 * NULL allowed. */
void sync_budget_add(struct sync_budget *b, uint64_t down, uint64_t up);

/* Whether a budget is spent; then *wait_s_r is how long until it has room again and
 * *why_r (a new string) says which, how much and when. NULL allowed (false). */
bool sync_budget_spent(struct sync_budget *b, int64_t *wait_s_r, char **why_r);

/* Saves what is not yet saved and frees @b; NULL allowed. */
void sync_budget_free(struct sync_budget *b);

/* @s seconds for people: "1.5 s", "12 min", "3.5 h"; returns @buf. */
const char *sync_seconds_text(double s, char *buf, size_t len);

/* One worker: a connection pair and its own state database connection. */
struct sync_worker {
	const struct mh_sync_options *opts; /* borrowed */
	struct sync_shared *shared;         /* borrowed */
	gint64 next_msg_at;                 /* pacing: monotonic time of the next message */
	struct mh_store *src;               /* owned */
	struct mh_store *dst;               /* owned */
	struct mh_state *state;             /* owned; NULL with dry or verify_only */
	struct mh_sync_progress *progress;  /* borrowed */
	struct mh_sync_progress_slot *slot; /* borrowed: its line in progress, or NULL */
	guint64 split_id; /* the split copy whose folders its connections have selected (0: none) */
	bool stale;       /* a range of a split copy failed on it: reconnect before more work */
};

/* sync-progress.c: the progress counters */

/* Sets @p's totals from the source's counters of the selected @folders (struct
 * mh_sync_folder_result *): *@boxes_io (from LIST-STATUS, or NULL) and, for the folders
 * it lacks, STATUS on @src, pipelined; those answers are added to *@boxes_io (made when
 * NULL) for the steps that follow. Each folder records its share and, with @counts
 * (--justfolders: no worker counts them), its source counts. Call before the workers
 * start. */
void sync_progress_measure(struct mh_sync_progress *p, GPtrArray *folders, struct mh_store *src,
                           GHashTable **boxes_io, bool counts);

/* @res needs nothing (unchanged since the last run): its share leaves "to copy". */
void sync_progress_settle(struct mh_sync_progress *p, struct mh_sync_folder_result *res);

/* @w found that @res has @n messages (@bytes) to copy in this pass: they replace its
 * share of "to copy". */
void sync_progress_plan(struct sync_worker *w, struct mh_sync_folder_result *res, int64_t n,
                        int64_t bytes);

/* A message of @size bytes was copied (or, with @size 0, vanished meanwhile). */
void sync_progress_copied(struct sync_worker *w, uint64_t size);

/* A message or a folder failed: counted, and with @o->errors_max reached the run stops
 * after the messages in flight (imapsync's --errorsmax). */
void sync_progress_failed(struct mh_sync_progress *p, const struct mh_sync_options *o);

/* @w starts on @res (NULL: it ended its folder). */
void sync_progress_worker(struct sync_worker *w, const struct mh_sync_folder_result *res);

/* @w's line counts @todo messages to copy (a split copy: its own ranges). */
void sync_progress_slot_todo(struct sync_worker *w, int64_t todo);

/* How a struct sync_msg holds its INTERNALDATE. */
enum sync_date_kind {
	SYNC_DATE_NONE,   /* not listed */
	SYNC_DATE_PACKED, /* date.packed: the fields of the RFC 3501 form, in 57 bits */
	SYNC_DATE_TEXT,   /* date.text: any other form, as sent */
};

/* A message as listed: 24 bytes (a 32-byte block of heap), where separate strings took
 * about 150. A big folder's listing is most of what its pass holds: a folder has few
 * distinct flag sets, so they are quarks (kept for the process's life); the date is packed
 * into 8 bytes when it reads back exactly as sent; a fingerprint, asked for with the
 * headers, makes the block 8 bytes longer. Make one with sync_msg_new(). */
struct sync_msg {
	uint32_t uid;
	GQuark flags; /* as the server sent them, \Recent removed; 0: none (sync_msg_flags()) */

	union {
		uint64_t packed;
		char *text; /* owned */
	} date;             /* see sync_msg_date() */

	uint64_t size : 59;            /* RFC822.SIZE; sizes stay far below 2^59 */
	uint64_t copy : 1;             /* to be copied */
	uint64_t date_kind : 2;        /* enum sync_date_kind */
	uint64_t with_fingerprint : 1; /* the block holds a fingerprint (sync_msg_fingerprint()) */
};

/* A new message record (free with sync_msg_free()); @flags, @date and @fingerprint (taken)
 * may be NULL. */
struct sync_msg *sync_msg_new(uint32_t uid, uint64_t size, const char *flags, const char *date,
                              char *fingerprint);

/* @m's flags (interned), or NULL. */
static inline const char *
sync_msg_flags(const struct sync_msg *m)
{
	return g_quark_to_string(m->flags);
}

/* @m's identity (a hex fingerprint of its headers) when they were listed, else NULL;
 * borrowed from @m. */
const char *sync_msg_fingerprint(const struct sync_msg *m);

/* Room for any INTERNALDATE sync_msg_date() writes into a caller's buffer. */
#define SYNC_DATE_LEN 32

/* @m's INTERNALDATE as listed, or NULL when it was not: borrowed from @m or written into
 * @buf. */
const char *sync_msg_date(const struct sync_msg *m, char buf[SYNC_DATE_LEN]);

/* The message with @uid among the first @n of @msgs (struct sync_msg *, sorted by UID), or
 * NULL: a binary search, where a hash table of a big folder's UIDs took 8 MB. */
/* The index of the first of the @n sorted elements at @base (@stride bytes each, each
 * starting with its uint32 UID; with @indirect, pointers to such elements) whose UID is not
 * below @uid, galloping forward from @from when that one is below it (sync-map.c). */
guint sync_uid_lower_bound(const void *base, gsize stride, bool indirect, guint n, uint32_t uid,
                           guint from);

struct sync_msg *sync_msgs_find(const GPtrArray *msgs, guint n, uint32_t uid);

/* As sync_msgs_find() in all of @msgs, for lookups mostly in ascending order: *@at (0 at
 * first) is where the last one ended. */
struct sync_msg *sync_msgs_find_at(const GPtrArray *msgs, uint32_t uid, guint *at);

/* --- sync-map.c: the folder's UID map, and sets of UIDs, in sorted arrays --- */

/* One record of the UID map: what the state knows of a source message's copy. */
struct sync_rec {
	uint32_t src_uid;
	uint32_t dst_uid;  /* 0: a copy whose UID the server did not say, or a label record */
	uint64_t size;     /* source RFC822.SIZE */
	const char *flags; /* interned; the flags last carried over; NULL when not loaded */
};

/* The map: records sorted by source UID, 24 bytes each (a hash table of records took about
 * 130 bytes a message). */
struct sync_map;

struct sync_map *sync_map_new(void);

/* NULL allowed. */
void sync_map_free(struct sync_map *map);

/* Adds the state's records of @folder_id with source UIDs from @from on (their flags only
 * @with_flags), replacing those @map has. */
bool sync_map_load(struct sync_map *map, struct mh_state *st, int64_t folder_id, uint32_t from,
                   bool with_flags, GError **error);

/* Adds the records of the source UIDs @uids (one lookup each: for a few). Returns 1 when
 * every one has a record, 0 when some has none, -1 with @error set. */
int sync_map_load_uids(struct sync_map *map, struct mh_state *st, int64_t folder_id,
                       const GArray *uids, GError **error);

/* The record of @src_uid, or NULL; borrowed: valid until @map changes. */
struct sync_rec *sync_map_find(struct sync_map *map, uint32_t src_uid);

/* Adds *@rec (copied), or replaces the record of its source UID. */
void sync_map_put(struct sync_map *map, const struct sync_rec *rec);

/* Every record (struct sync_rec), sorted by source UID; borrowed: valid until @map
 * changes. */
const GArray *sync_map_all(struct sync_map *map);

guint sync_map_size(const struct sync_map *map);

/* As sync_map_find(), for lookups mostly in ascending order: *@at (0 at first) is where
 * the last one ended, and each costs a step or two from there. Merges what was put out of
 * order first. */
struct sync_rec *sync_map_find_at(struct sync_map *map, uint32_t src_uid, guint *at);

/* Drops the records of the source UIDs @uids (sorted). */
void sync_map_drop(struct sync_map *map, const GArray *uids);

/* Whether @uids (guint32, sorted ascending) holds @uid: a binary search, where a hash set
 * of a big folder's UIDs took 4 MB. */
bool sync_uids_has(const GArray *uids, uint32_t uid);

/* As sync_uids_has(), for lookups mostly in ascending order (see sync_map_find_at()). */
bool sync_uids_has_at(const GArray *uids, uint32_t uid, guint *at);

/* Sorts @uids ascending and drops repeats (nothing to do when already so). */
void sync_uids_sort(GArray *uids);

/* What the copy phase needs about the folder. */
struct sync_copy {
	struct sync_worker *w;
	struct mh_sync_folder_result *res;
	const char *dst_name;
	int64_t folder_id;
	const struct mh_store_box *dst_box;
	uint32_t src_uidvalidity; /* the source folder's, as selected */
	const GPtrArray *msgs;    /* borrowed; struct sync_msg *, sorted by UID */
	GPtrArray *pending;       /* owned; struct mh_state_msg * answered, not yet written */
	GError *fatal;            /* owned; a connection failed: stop the folder */
	/* the message being streamed */
	struct sync_msg *cur;
	bool discard;
	bool uploading; /* its APPEND began (it counts to the upload budget) */
	uint64_t cur_size;
	/* a source that sends placeholders: the start of the message is held here until it
	 * tells (then appended, and the rest streams) */
	GByteArray *peek;
	struct append_rec *peek_rec;
	/* fix-ups: the rewritten message is held here, then appended */
	void *fix;
	GByteArray *spool;
	struct append_rec *spool_rec;
	/* STOREs after the APPENDs */
	GArray *flag_later; /* struct flag_later: copies to get \Flagged */
	/* the copy rate over the current window (opts->min_rate) */
	gint64 rate_t0;
	uint64_t rate_bytes;
	GPtrArray *label_jobs; /* struct label_job * */
	GArray *one_by_one;    /* guint32: UIDs of refused MULTIAPPENDs, to send again singly */
	bool src_dropped;      /* the source was abandoned after c->fatal, or for a stop */
	bool stopped;          /* interrupted: the source was abandoned between two messages */
	const gint *stop;      /* borrowed, or NULL; set (atomic) when another connection of the
	                          same split copy failed: this one stops as on its own failure */
};

/* What the matching, flag and deletion steps need about a folder (sync-match.c). */
struct match_ctx {
	struct sync_worker *w;
	struct mh_sync_folder_result *res;
	int64_t folder_id;
	struct sync_map *map;   /* borrowed; the folder run's */
	GPtrArray *msgs;        /* borrowed; struct sync_msg *, sorted by UID */
	const GArray *src_uids; /* borrowed; every UID now in the source folder, sorted */
	GHashTable *dst_taken;  /* dst uids accounted for */
	const struct mh_store_box *dst_box;
};

/* --- sync-labels.c --- */

/* Lists the identities of the selected entries (struct mh_plan_entry *) of the source and
 * assigns each message its owner folder; NULL on a listing error. */
struct sync_labels *sync_labels_new(struct mh_store *src, const GPtrArray *entries,
                                    enum mh_sync_labels mode, struct mh_state *state,
                                    GError **error);

void sync_labels_free(struct sync_labels *sl);

/* Whether source folder @folder copies its message @uid; when not, *owner_r names the
 * destination folder that has it and *record_r (caller frees) is the label record's
 * fingerprint. */
bool sync_labels_owns(const struct sync_labels *sl, const char *folder, uint32_t uid,
                      const char **owner_r, char **record_r);

/* The message's other labels (char *): as keywords, or as Gmail label names. */
GPtrArray *sync_labels_others(const struct sync_labels *sl, const char *folder, uint32_t uid,
                              bool keywords);

/* --- sync-list.c --- */

/* Lists @uidset ("1:*" or explicit) of the selected folder of @st with @items
 * (MH_STORE_META_*), fingerprints computed when headers are asked for; with
 * @changedsince only messages changed after it. Sorted by UID; NULL on error. */
GPtrArray *sync_list_msgs(struct mh_store *st, const char *uidset, unsigned items,
                          uint64_t changedsince, GError **error);

/* As sync_list_msgs() for every message ("1:*"), the array made for @expect messages (the
 * folder's count when selected): a big folder's listing does not grow by doubling. */
GPtrArray *sync_list_folder(struct mh_store *st, unsigned items, guint expect, GError **error);

/* Lists the messages with UIDs @uids (sorted), fetched in ranges. */
GPtrArray *sync_list_uids(struct mh_store *st, const GArray *uids, unsigned items, GError **error);

gint sync_msg_cmp(gconstpointer a, gconstpointer b);
gint sync_uid_cmp(gconstpointer a, gconstpointer b);
/* Orders an array of strings (char *), for qsort() and g_ptr_array_sort(). */
gint sync_str_ptr_cmp(gconstpointer a, gconstpointer b);

/* One side's step of sync_both(). */
typedef bool sync_side_fn(void *ctx, GError **error);

/* Runs @b(@bctx) on a thread of its own while @a(@actx) runs here: each side's server
 * takes a while to list or open a big folder, and the two need not wait for each other.
 * False with the first failure (@a's when both fail). Neither may touch the state store. */
bool sync_both(sync_side_fn *a, void *actx, sync_side_fn *b, void *bctx, GError **error);

/* Closes both stores at once. Each LOGOUT waits for the server's answer: a round trip over
 * a network, and on loopback 10-20 ms of Dovecot's time after a run that wrote to a
 * 200,000-message maildir folder. */
void sync_close_both(struct mh_store *a, struct mh_store *b);

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

/* --search2: keeps in @uids (destination UIDs of the selected folder) only those matching
 * the destination's search keys, the ones deletions may touch; all of them without it. */
bool sync_dst_scope(struct sync_worker *w, GArray *uids, GError **error);

/* --delete1: deletes source messages whose copy is present on the destination now. */
bool sync_delete_src(struct match_ctx *mc, GError **error);

/* --- sync-verify.c --- */

/* The unfolded value of the first field @name (case-insensitive) in @h, a header block of
 * @len bytes (not NUL-terminated; CRLF or LF; parsing stops at the empty line), with
 * whitespace runs collapsed, trimmed, NULs as '?', made valid UTF-8. Returns a new string,
 * or NULL when the field is absent or empty. */
char *sync_verify_header_field(const char *h, size_t len, const char *name);

/* The destination messages in excess: per identity (fingerprint), the copies of @dst
 * beyond @src's count of it that @live (a set of destination UIDs the records map) does
 * (sorted) does not hold, highest UIDs first; a mapped copy is never in excess, whatever became of
 * its source message. With @strays false, only identities @src has (duplicates). Returns a new
 * array of struct sync_msg * borrowed from @dst, in ascending UID order. */
GPtrArray *sync_verify_excess(GPtrArray *src, GPtrArray *dst, const GArray *live, bool strays);

/* verify: lists the destination folder (selecting it) and compares it with @src (the
 * source listing, with fingerprints and headers) as multisets of identities: fills the
 * destination counts, missing and extra messages (named), labelled and skipped ones. */
bool sync_verify_compare(struct sync_worker *w, struct mh_sync_folder_result *res, GPtrArray *src,
                         bool dst_exists, GError **error);

/* After a sync, both folders still selected: counts and names the source messages of
 * @src_uids (sorted) that neither @map nor res->skipped accounts
 * for (missing), and the destination messages in excess of the source's count of their
 * identity that no record maps (extra: duplicates and strays; a copy whose source
 * message went since is not extra here). Identities are fetched only when some
 * destination message is not mapped. @dst_uids: the destination folder's UIDs when the
 * caller just listed them (else NULL: they are searched). */
bool sync_verify_after_sync(struct sync_worker *w, struct mh_sync_folder_result *res,
                            struct sync_map *map, const GArray *src_uids, bool dst_exists,
                            const GArray *dst_uids, GError **error);

/* After a narrow pass (see sync-folder-list.c), where the counts proved every older
 * source message mapped and the destination holding only mapped messages: counts and
 * names as missing the source messages of @new_uids (sorted; those from the recorded
 * UIDNEXT on) that @map, res->skipped and the refusals do not account for. Nothing is
 * extra. */
bool sync_verify_after_narrow(struct sync_worker *w, struct mh_sync_folder_result *res,
                              struct sync_map *map, const GArray *new_uids, GError **error);

/* --- sync-verify-content.c --- */

/* A source message and the destination message that answers for it. */
struct sync_pair {
	uint32_t src_uid, dst_uid;
	uint64_t src_size, dst_size;
};

/* verify --content: compares the pairs of @pairs (struct sync_pair, sorted by source UID;
 * both folders selected), all or a sample as the options say, by the messages' bytes and
 * else their MIME structure, counting and naming the differences in @res. */
bool sync_verify_content(struct sync_worker *w, struct mh_sync_folder_result *res, GArray *pairs,
                         GError **error);

/* --delete2duplicates: deletes (or, dry, counts) the destination copies of an identity
 * the source has beyond the source's count of it, keeping those @map maps; strays are
 * left alone, and so are destination folders other source folders are merged into. */
bool sync_delete_duplicates(struct sync_worker *w, struct mh_sync_folder_result *res,
                            struct sync_map *map, const GArray *src_uids, GError **error);

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

/* Copies the messages marked copy in @msgs (ascending UIDs), streaming and pipelined; a
 * big copy may be shared with other workers (sync_split_copy()). */
bool sync_copy_messages(struct sync_copy *c, GPtrArray *msgs, GError **error);

/* Copies @uids (ascending; each in c->msgs) over @c's connection pair, streaming and
 * pipelined, recording each answered APPEND in c->res and the state. */
bool sync_copy_uids(struct sync_copy *c, const GArray *uids, GError **error);

/* --- sync-split.c: one big folder's copy over several connection pairs --- */

struct sync_pool;

/* Starts one more worker (a thread with its own connection pair and state connection)
 * that takes ranges first, then folders; sync_pool_enter() is already counted for it. */
typedef void sync_pool_spawn_cb(void *ctx);

/* The engine's workers, for sharing: at most opts->jobs at once (already capped by the
 * providers' connection limits). @spawn starts one more. Free with sync_pool_free(). */
struct sync_pool *sync_pool_new(const struct mh_sync_options *opts, sync_pool_spawn_cb *spawn,
                                void *ctx);

/* NULL allowed; every worker has left, and no range is pending. */
void sync_pool_free(struct sync_pool *p);

/* Counts a worker the engine starts itself. */
void sync_pool_enter(struct sync_pool *p);

/* A worker found no folder left: true when it may end (it is no longer counted), false
 * when a range came meanwhile (it takes that first). With @force it ends anyway. */
bool sync_pool_leave(struct sync_pool *p, bool force);

/* Copies c->res's messages @uids, split into contiguous UID ranges that idle workers take
 * over their own connection pairs when the copy is big enough and opts->jobs allows more
 * than one; @c's own connections take ranges too. Returns when every range has ended,
 * with the counters of all of them in c->res, false with the first failure (the others
 * stop with it, as one connection would). @uids may be shortened meanwhile (what one
 * connection copies after its first range is what is left of it, not a copy). */
bool sync_split_copy(struct sync_copy *c, GArray *uids, GError **error);

/* Runs one pending range of another worker's split copy on @w's connection pair: true
 * when it ran one (it may have failed: then w->stale is set), false when none waits. */
bool sync_split_help(struct sync_pool *p, struct sync_worker *w);

/* @flags restricted to what the destination keeps (PERMANENTFLAGS), sorted, without
 * \Recent and the keywords of @drop (space-separated, may be NULL). Caller frees. */
char *sync_flags_for_dest(const char *flags, const struct mh_store_box *dst_box, const char *drop);

/* @flags (a space-separated list) rewritten by each of @rules (struct mh_plan_regextrans *,
 * --regexflag) in order; a copy when @rules is NULL. A new string. */
char *sync_flags_rewrite(const GPtrArray *rules, const char *flags);

/* Waits before the next message as opts->pace says. */
void sync_pace(struct sync_worker *w);

/* Waits before a message of @size bytes as long as max_bytes_per_second asks: the bytes
 * of every connection together keep to that rate (sync-budget.c). */
void sync_pace_bytes(struct sync_worker *w, uint64_t size);

void sync_msg_free(struct sync_msg *m);

/* --- sync-folder.c --- */

/* Counts @m as skipped on purpose, for @why (a static text, copied). */
void sync_folder_add_skip(struct mh_sync_folder_result *res, const struct sync_msg *m,
                          const char *why);

/* Notes that message @uid is not copied here: its copy is under the label @owner. */
void sync_folder_note_labelled(struct mh_sync_folder_result *res, uint32_t uid, const char *owner);

/* --- sync-error.c: the error policy --- */

/* What the engine does with an error. */
enum sync_error_action {
	SYNC_ERROR_ACT_MESSAGE, /* a refused command: this message (or folder) only, go on */
	SYNC_ERROR_ACT_QUOTA,   /* the destination is full: no more copies into it */
	SYNC_ERROR_ACT_RETRY,   /* the connection went (drop, BYE, timeout): reconnect, resume */
	SYNC_ERROR_ACT_WAIT,    /* the server (or a budget) asks to wait: wait, reconnect, resume */
	SYNC_ERROR_ACT_STOP,    /* nothing a retry mends (sign-in, TLS, state, protocol): stop */
};

struct sync_error_class {
	enum sync_error_action action;
	bool ends_connection;     /* the connection that met it cannot be used any more */
	struct mh_sync_verdict v; /* for WAIT and RETRY: what to wait, and the advice */
};

/* Classifies @error once: the provider rules of @o (may be NULL) first, then the error's
 * domain and code. */
void sync_error_classify(const struct mh_sync_options *o, const GError *error,
                         struct sync_error_class *c_r);

/* Whether @error asks for a wait and a reconnect (throttling, too many connections, a
 * spent budget, a transient failure by the rules); fills @v. */
bool sync_error_wants_wait(const struct mh_sync_options *o, const GError *error,
                           struct mh_sync_verdict *v);

/* Whether an error ends the connection (as opposed to a refused command). */
bool sync_error_is_fatal(const GError *error);

/* The last refusal on @st (NULL allowed) as an error, when it asks to wait (a session that
 * ended, BYE or a drop, right after a NO or BAD that throttles it, as Exchange does); fills
 * @v. Returns a new error, or NULL when there is none or it asks for no wait. */
GError *sync_error_last_refusal(const struct mh_sync_options *o, struct mh_store *st,
                                struct mh_sync_verdict *v);

#endif
