/* SPDX-License-Identifier: MIT */
/* The sync engine: plans the folders of two stores, then copies every source message the
 * destination lacks (streamed, pipelined, several folder pairs in parallel), carries flag
 * changes over, applies the deletion modes and measures both sides for verification. The
 * state store makes reruns incremental and crashes harmless. */
#ifndef MH_SYNC_ENGINE_H
#define MH_SYNC_ENGINE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sync-error.h"
#include "sync-plan.h"
#include "sync-store.h"

/* How a Gmail source's labels (folders holding the same message) are copied. */
enum mh_sync_labels {
	MH_SYNC_LABELS_NONE,     /* plain folders: every folder copied as it is */
	MH_SYNC_LABELS_ONCE,     /* each message once, into the folder of its first label */
	MH_SYNC_LABELS_COPY,     /* a copy per label folder; \All only for unlabelled mail */
	MH_SYNC_LABELS_KEYWORDS, /* ONCE, with the other labels as keywords on the copy */
};

/* What a server's refusal asks of the engine (the CLI's classifier says). */
enum mh_sync_verdict_kind {
	MH_SYNC_VERDICT_NONE,        /* no rule: the engine's own handling */
	MH_SYNC_VERDICT_RETRY,       /* transient: reconnect and go on */
	MH_SYNC_VERDICT_BACKOFF,     /* throttled: wait, reconnect, go on */
	MH_SYNC_VERDICT_CONNECTIONS, /* too many connections: wait, fewer connections */
	MH_SYNC_VERDICT_BUDGET,      /* a bandwidth budget is spent: pause, then go on */
	MH_SYNC_VERDICT_MESSAGE,     /* this message is refused: report it, go on */
	MH_SYNC_VERDICT_QUOTA,       /* the mailbox is full */
	MH_SYNC_VERDICT_FATAL,       /* a sign-in or setup problem: stop */
};

struct mh_sync_verdict {
	enum mh_sync_verdict_kind kind;
	uint64_t wait_ms;   /* how long the server asks to wait (0: the engine's default) */
	const char *advice; /* static, or NULL */
};

typedef bool mh_sync_classify_cb(void *ctx, const GError *error, struct mh_sync_verdict *v);

/* A rewriter of message bytes on their way to the destination (fix-ups). */
struct mh_sync_fixup_ops {
	void *(*begin)(void *ctx);
	void (*feed)(void *f, const unsigned char *data, size_t len, GByteArray *out);
	void (*finish)(void *f, GByteArray *out);
	/* Frees @f; returns what was changed ("receipts disarmed") or NULL (caller frees). */
	char *(*end)(void *f);
	void *ctx;
};

struct mh_sync_options;

/* One side's account as the user named it, for the same-mailbox check and the locks. */
struct mh_sync_endpoint {
	const char *host; /* as given (a name or an address); NULL: unknown, not checked */
	unsigned port;    /* the port connected to (never 0 when host is set) */
	const char *user; /* the mailbox logged in to */
};

/* Called once both sides are connected: the CLI detects providers from what the servers
 * said and adjusts the options (the engine's own copy). */
typedef void mh_sync_adjust_cb(void *ctx, const struct mh_store_info *src,
                               const struct mh_store_info *dst, struct mh_sync_options *opts);

struct mh_sync_options {
	bool dry;                  /* change nothing anywhere; count what would be done */
	bool verify_only;          /* compare the two sides by fingerprint; copy nothing */
	bool justfolders;          /* create folders only */
	bool delete1;              /* delete source messages verified on the destination */
	bool delete2;              /* delete destination messages no longer on the source */
	bool delete2folders;       /* delete destination folders absent on the source */
	bool delete2duplicates;    /* delete destination copies beyond the source's count */
	bool expunge1;             /* expunge source messages already flagged \Deleted before
	                              each folder (imapsync's --expunge1) */
	bool delete1_no_expunge;   /* --delete1 flags \Deleted without expunging (imapsync's
	                              --noexpunge1) */
	const char *search2;       /* only destination messages matching these IMAP search keys
	                              may be deleted by delete2 and delete2duplicates (NULL: all) */
	uint64_t errors_max;       /* stop (set *interrupted) once this many messages or folders
	                              failed (0: never; imapsync's --errorsmax) */
	bool automap;              /* map special folders by role */
	bool subscribe_all;        /* subscribe every destination folder */
	uint64_t maxsize;          /* skip larger source messages (0 = no limit) */
	uint64_t minsize;          /* skip smaller source messages */
	int maxage;                /* skip messages older than this many days (-1 = none) */
	int minage;                /* skip messages newer than this many days (-1 = none) */
	const char *search;        /* only source messages matching these IMAP search keys */
	GPtrArray *folders;        /* char *: only these source folders, or NULL */
	GPtrArray *include;        /* char *: regexes on source folder names (--include) */
	GPtrArray *exclude;        /* char *: (--exclude) */
	GPtrArray *regextrans;     /* char *: "s/OLD/NEW/gi" rules (--regextrans2) */
	unsigned jobs;             /* folder pairs in parallel (each with two connections) */
	unsigned split_min;        /* a folder's copy of at least this many messages may be split
	                              over several connection pairs (0: the engine's default);
	                              lowered by tests only, to split a small folder */
	const char *state_path;    /* the state database */
	volatile int *interrupted; /* set by a signal handler: stop after the message in flight */
	/* Provider behaviour (the CLI fills these from the profiles) */
	enum mh_sync_labels labels; /* the source's folders are Gmail labels */
	bool dst_labels;            /* add a Gmail destination's other labels by STORE */
	bool skip_deleted;          /* do not copy source messages flagged \Deleted */
	bool dst_nocase;            /* destination folder names are compared ignoring case */
	bool flagged_after_append;  /* set \Flagged with a STORE after the APPEND */
	const char *drop_keywords;  /* space-separated keywords never set on the destination */
	const struct mh_sync_fixup_ops *fixup;    /* NULL: bytes copied unchanged */
	const struct mh_sync_folder_rules *rules; /* NULL: none */
	mh_sync_classify_cb *classify;            /* NULL: none */
	void *classify_ctx;
	/* Whether the start of a source message (its header at least, or all of it) is the
	 * source server's placeholder for a message it could not serve (Exchange); *done_r
	 * false: more bytes may still decide. NULL: the source sends no placeholders. */
	bool (*src_placeholder)(void *ctx, const unsigned char *head, size_t len, bool *done_r);
	void *src_placeholder_ctx;
	mh_sync_adjust_cb *adjust; /* NULL: none */
	void *adjust_ctx;
	double pace; /* at most this many messages a second per connection (0: no limit) */
	unsigned dst_error_limit;  /* the destination drops a session after this many NO/BAD (0:
	                              never) */
	uint64_t upload_per_day;   /* pause when this many bytes were appended to dst_account
	                              within budget_window (0: no budget) */
	uint64_t download_per_day; /* pause when this many bytes were fetched from src_account
	                              within budget_window (0: no budget) */
	unsigned budget_window;    /* seconds a budget covers (0: a day) */
	const char *src_account;   /* "user@host:port": whose budget a download counts to */
	const char *dst_account;   /* "user@host:port": whose budget an upload counts to */
	const char *budget_path;   /* the state file that keeps the counts across runs and
	                              jobs (NULL: the counts of this run only) */
	unsigned max_backoff;      /* seconds: the longest single wait (0: 3600) */
	unsigned max_outage;       /* seconds a server reached once may stay unreachable before
	                              the run stops (0: 120) */
	uint64_t min_rate;         /* bytes/s: a copy slower than this over rate_window means a
	                              spent budget (Gmail slows down instead of refusing); 0: off */
	unsigned rate_window;      /* seconds over which the rate is measured (0: 120) */
	/* Accounts and locks (sync-accounts.c, sync-lock.c) */
	struct mh_sync_endpoint endpoints[2]; /* source, destination */
	const char *dst_lock_path; /* a writing run also locks this destination account's lock
	                              file (NULL: only the pair's, state_path + ".lock") */
	bool wait_lock;            /* wait for another run's lock instead of failing */
	/* imapsync's folder order and flag rules (src/cli-imapsync.c fills them) */
	GPtrArray *folder_first; /* char *: source folders copied first, in this order */
	GPtrArray *folder_last;  /* char *: source folders copied last, in this order */
	bool only_subscribed;    /* only the folders subscribed on the source */
	const char *subfolder2;  /* every destination folder goes under this one */
	const char *subfolder1;  /* only the source folders under this one, taken from below it
	                            (the folder itself becomes INBOX) */
	uint64_t max_bytes_per_second; /* at most this many message bytes a second over all
	                                  connections, after max_bytes_after (0: no limit) */
	uint64_t max_bytes_after;      /* bytes copied before max_bytes_per_second applies */
	GPtrArray *flag_rules;         /* struct mh_plan_regextrans *: applied in order to each flag
	                                  list bound for the destination (NULL: none) */
	/* verify --content (sync-verify-content.c) */
	bool content;            /* compare paired messages by content too */
	unsigned content_sample; /* only this many pairs per folder (0: see the percentage) */
	double content_percent;  /* only this share of the pairs per folder (0: all) */
	uint64_t content_seed;   /* seeds the choice of the sample */
};

/* Makes a new, unconnected store for @side (1 = source, 2 = destination). */
typedef struct mh_store *mh_sync_store_factory(void *ctx, int side);

struct mh_sync_skip {
	uint32_t uid;
	uint64_t size;
	char *reason;     /* owned */
	char *message_id; /* owned; the header fields, as for struct mh_sync_named (NULL: */
	char *date;       /* owned;  absent, or not named: beyond MH_SYNC_NAMED_MAX or the */
	char *subject;    /* owned;  source could not be read again) */
};

/* A message the report names (missing, extra, or a deleted duplicate): the header fields
 * as the server sent them, unfolded, made valid UTF-8; NULL when absent. */
struct mh_sync_named {
	uint32_t uid; /* on the side it was found: source for missing, destination else */
	uint64_t size;
	char *message_id; /* owned */
	char *date;       /* owned; the Date header field */
	char *subject;    /* owned; as sent (RFC 2047 encoded words are not decoded) */
	char *reason;     /* owned; why it failed (failed messages), else NULL */
};

/* At most this many messages of each kind are named per folder (the counts are exact). */
#define MH_SYNC_NAMED_MAX 1000

/* A message pair whose contents differ (verify --content). */
struct mh_sync_content_diff {
	uint32_t src_uid, dst_uid;
	uint64_t src_size, dst_size;
	char *message_id; /* owned; the source's header fields, as for struct mh_sync_named */
	char *date;       /* owned */
	char *subject;    /* owned */
	GPtrArray *what;  /* owned; char *: each difference, a sentence */
};

/* A source message not copied into this folder: it was copied under another label. */
struct mh_sync_labelled {
	uint32_t uid;
	char *copied_under; /* owned; the destination folder that has it */
};

struct mh_sync_folder_result {
	char *src_name; /* owned */
	char *dst_name; /* owned */
	char *note;     /* owned; from the plan (mapping, renaming), or NULL */
	bool container_only;
	bool unchanged;   /* skipped: nothing changed since the last run */
	bool unfinished;  /* the run did not finish this folder (a failure, a stop) */
	bool not_reached; /* nor start it: its counts are unknown */
	bool dropped;     /* unfinished after connections kept dropping (a rerun resumes) */
	bool dst_shared;  /* other source folders are merged into its destination folder:
	                     extras are not counted there, nor duplicates deleted */
	uint64_t src_count, src_bytes;
	uint64_t dst_count, dst_bytes;
	uint64_t copied, copied_bytes;
	uint64_t matched; /* already on the destination (found by fingerprint) */
	uint64_t flag_updates;
	uint64_t deleted_src, deleted_dst;
	uint64_t missing;         /* source messages not on the destination afterwards */
	uint64_t extra;           /* duplicates: destination copies beyond the source's count of
	                             the same message (a difference: the verdict is NOT OK) */
	uint64_t strays;          /* destination messages the source has no copy of at all: mail
	                             the destination had of its own or from another source
	                             (reported, not a difference) */
	GPtrArray *missing_msgs;  /* owned; struct mh_sync_named *, or NULL */
	GPtrArray *extra_msgs;    /* owned; struct mh_sync_named *, or NULL */
	GPtrArray *stray_msgs;    /* owned; struct mh_sync_named *, or NULL */
	GPtrArray *deleted_dups;  /* owned; struct mh_sync_named *: duplicates deleted, or NULL */
	uint64_t failed;          /* messages that failed (listed in errors) */
	GPtrArray *failed_msgs;   /* owned; struct mh_sync_named *: the source messages that
	                             failed or were refused, with their reason, or NULL */
	bool quota;               /* the destination refused for lack of space */
	bool append_refused;      /* the destination refused an APPEND */
	GPtrArray *skipped;       /* owned; struct mh_sync_skip * */
	GPtrArray *errors;        /* owned; char * */
	uint64_t labelled;        /* new messages not copied here: copied under another label */
	GPtrArray *labelled_msgs; /* owned; struct mh_sync_labelled *, or NULL */
	uint64_t fixed_up;        /* messages whose bytes a fix-up changed */
	uint64_t content_paired;  /* verify --content: message pairs found, */
	uint64_t content_checked; /* of which compared (all, or the sample), */
	uint64_t content_same_bytes;     /* found equal byte for byte, */
	uint64_t content_same_structure; /* equal by MIME structure and decoded contents, */
	uint64_t content_differs;        /* different (a difference: the verdict is NOT OK) */
	GPtrArray *content_diffs;        /* owned; struct mh_sync_content_diff *, the first
	                                    MH_SYNC_NAMED_MAX, or NULL */
	GHashTable *refused;      /* owned; UIDs the destination refused in this run (a set) */
	int64_t in_flight_at;     /* monotonic µs when a pass of this run ended with copies in
	                             flight, 0 if none (the engine's own bookkeeping) */
	uint32_t pass_first_uid;  /* the message on its way when a copy pass failed, 0 if */
	uint64_t pass_first_size; /* none, and its size (the engine's own bookkeeping) */
	int64_t plan_msgs;        /* its share of the progress's msgs_copy and bytes_copy, */
	int64_t plan_bytes;       /* plan_bytes -1 when unknown (the engine's own bookkeeping) */
	bool listed;              /* src_count and src_bytes are the listing's (--justfolders) */
	double seconds;
};

/* A wait a server (or a budget) asked for, for the report's timeline. */
struct mh_sync_wait {
	int64_t at;      /* wall clock, µs since the epoch, when the wait began */
	double seconds;  /* how long it lasted (shorter than planned when interrupted) */
	const char *why; /* static: "throttled", "connections", "budget" or "retry" */
	char *reason;    /* owned; what the server (or the budget) said */
};

struct mh_sync_result {
	GPtrArray *folders; /* owned; struct mh_sync_folder_result *, in folder-tree order */
	GPtrArray *created; /* owned; destination folders created (or that would be) */
	GPtrArray *deleted_folders; /* owned */
	double seconds;
	bool interrupted;
	unsigned waits;       /* back-offs and pauses the servers asked for */
	GPtrArray *wait_list; /* owned; struct mh_sync_wait *, the first MH_SYNC_NAMED_MAX */
	char *gave_up; /* owned; a server kept asking to wait (why), folders left unfinished */
	/* verify --content as it ran, for the report (the caller copies them from the
	 * options) */
	bool content;
	unsigned content_sample;
	double content_percent;
	uint64_t content_seed;
};

/* A folder worker's line of the progress display. */
struct mh_sync_progress_slot {
	const char *folder; /* borrowed from the result while a worker runs it, else NULL */
	gint64 msgs_done;   /* copied from it in this run */
	gint64 msgs_todo;   /* to copy from it in this run, -1 until its listing is known */
};

/* Workers that have a line each (--jobs is at most this). */
#define MH_SYNC_PROGRESS_SLOTS 64

/* Progress counters, updated atomically by the engine; read them from any thread. The
 * totals are set once, before the workers start, from the source's counters of the
 * selected folders (LIST-STATUS, else STATUS); totals_known is set after them. */
struct mh_sync_progress {
	gint64 msgs_total;  /* source messages of the selected folders: to look at */
	gint64 bytes_total; /* their bytes; -1: a folder's size is unknown (no STATUS=SIZE) */
	gint64 msgs_copy;   /* to copy: what the folders looked at need, plus every message of
	                       those not looked at yet (so it never grows) */
	gint64 bytes_copy;  /* their bytes, known once bytes_unknown is 0 */
	gint bytes_unknown; /* folders whose share of bytes_copy is not known yet */
	gint64 msgs_done;   /* copied (counted, in a dry run) */
	gint64 errors;      /* messages and folders that failed so far */
	gint64 bytes_done;
	gint folders_total;
	gint folders_done;
	gint totals_known;
	gint64 copy_start;   /* monotonic µs when the totals were set: the copying began */
	const char *current; /* the folder a worker started last (borrowed from the result) */
	struct mh_sync_progress_slot slots[MH_SYNC_PROGRESS_SLOTS];
};

/* Runs a sync (or, with verify_only, a comparison). Returns false only when nothing
 * could be compared at all (a connection or authentication failure, the state database);
 * per-folder and per-message problems are in the result. */
bool mh_sync_run(const struct mh_sync_options *opts, mh_sync_store_factory *factory, void *fctx,
                 struct mh_sync_progress *progress, struct mh_sync_result **result_r,
                 GError **error);

void mh_sync_result_free(struct mh_sync_result *r);

#endif
