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
#include "sync-store.h"

struct mh_sync_options {
	bool dry;               /* change nothing anywhere; count what would be done */
	bool verify_only;       /* compare the two sides by fingerprint; copy nothing */
	bool justfolders;       /* create folders only */
	bool delete1;           /* delete source messages verified on the destination */
	bool delete2;           /* delete destination messages no longer on the source */
	bool delete2folders;    /* delete destination folders absent on the source */
	bool automap;           /* map special folders by role */
	bool subscribe_all;     /* subscribe every destination folder */
	bool size_in_identity;  /* use RFC822.SIZE in fingerprints (off where servers re-render) */
	uint64_t maxsize;       /* skip larger source messages (0 = no limit) */
	uint64_t minsize;       /* skip smaller source messages */
	int maxage;             /* skip messages older than this many days (-1 = none) */
	int minage;             /* skip messages newer than this many days (-1 = none) */
	const char *search;     /* only source messages matching these IMAP search keys */
	GPtrArray *folders;     /* char *: only these source folders, or NULL */
	GPtrArray *include;     /* char *: regexes on source folder names (--include) */
	GPtrArray *exclude;     /* char *: (--exclude) */
	GPtrArray *regextrans;  /* char *: "s/OLD/NEW/gi" rules (--regextrans2) */
	unsigned jobs;          /* folder pairs in parallel (each with two connections) */
	const char *state_path; /* the state database */
	volatile int *interrupted; /* set by a signal handler: stop after the message in flight */
};

/* Makes a new, unconnected store for @side (1 = source, 2 = destination). */
typedef struct mh_store *mh_sync_store_factory(void *ctx, int side);

struct mh_sync_skip {
	uint32_t uid;
	uint64_t size;
	char *reason; /* owned */
};

struct mh_sync_folder_result {
	char *src_name; /* owned */
	char *dst_name; /* owned */
	char *note;     /* owned; from the plan (mapping, renaming), or NULL */
	bool container_only;
	bool unchanged; /* skipped: nothing changed since the last run */
	uint64_t src_count, src_bytes;
	uint64_t dst_count, dst_bytes;
	uint64_t copied, copied_bytes;
	uint64_t matched; /* already on the destination (found by fingerprint) */
	uint64_t flag_updates;
	uint64_t deleted_src, deleted_dst;
	uint64_t missing;    /* source messages not on the destination afterwards */
	uint64_t failed;     /* messages that failed (listed in errors) */
	bool quota;          /* the destination refused for lack of space */
	bool append_refused; /* the destination refused an APPEND */
	GPtrArray *skipped;  /* owned; struct mh_sync_skip * */
	GPtrArray *errors;   /* owned; char * */
	double seconds;
};

struct mh_sync_result {
	GPtrArray *folders; /* owned; struct mh_sync_folder_result *, in folder-tree order */
	GPtrArray *created; /* owned; destination folders created (or that would be) */
	GPtrArray *deleted_folders; /* owned */
	double seconds;
	bool interrupted;
};

/* Progress counters, updated atomically by the workers; read them from any thread. */
struct mh_sync_progress {
	gint64 msgs_total; /* source messages to copy, as known so far */
	gint64 msgs_done;
	gint64 bytes_total;
	gint64 bytes_done;
	gint folders_total;
	gint folders_done;
	const char *current; /* the folder a worker started last (borrowed from the result) */
};

/* Runs a sync (or, with verify_only, a comparison). Returns false only when nothing
 * could be compared at all (a connection or authentication failure, the state database);
 * per-folder and per-message problems are in the result. */
bool mh_sync_run(const struct mh_sync_options *opts, mh_sync_store_factory *factory, void *fctx,
                 struct mh_sync_progress *progress, struct mh_sync_result **result_r,
                 GError **error);

void mh_sync_result_free(struct mh_sync_result *r);

#endif
