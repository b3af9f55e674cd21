/* SPDX-License-Identifier: MIT */
/* The engine's state, shared by its outer loop (sync-engine.c) and its workers
 * (sync-worker.c); nothing else includes this. */
#ifndef MH_SYNC_ENGINE_PRIVATE_H
#define MH_SYNC_ENGINE_PRIVATE_H

#include "sync-private.h"

/* Waits in a row without progress before a folder gives up: a server that asks to wait
 * (throttling, too many connections) is asked again for long; a dropped connection is
 * retried with waits of 1 s, 2 s, 4 s ... (ENGINE_RETRY_CAP_MS at most). */
#define ENGINE_MAX_WAITS    5
#define ENGINE_MAX_RETRIES  8
#define ENGINE_RETRY_CAP_MS 60000
/* A server that cannot be reached is tried for this long at least (a restart, an outage)
 * before the run stops, unless --max-outage says otherwise. */
#define ENGINE_OUTAGE_S     120
/* Passes in a row that drop while the same message is on its way, nothing
 * copied, before that message is left on the source (too large for the link). */
#define ENGINE_MAX_DROPS    3

struct engine {
	const struct mh_sync_options *opts; /* &own */
	struct mh_sync_options own;         /* the caller's, as adjusted for the servers */
	struct sync_shared shared;
	struct sync_labels *labels; /* owned, or NULL */
	bool adjusted;
	mh_sync_store_factory *factory;
	void *fctx;
	struct mh_sync_progress *progress;
	struct mh_sync_result *result;
	GPtrArray *work;      /* struct mh_sync_folder_result *, borrowed from result */
	guint busy;           /* folders of work with messages on a side, or not counted */
	gint next;            /* index of the next folder to take */
	char *gave_up;        /* owned; why a server kept asking to wait, or NULL */
	struct mh_plan *plan; /* owned; the folder plan, once made */
	GPtrArray *workers;   /* struct worker_arg *, owned; guarded by lock */
	bool slot_used[MH_SYNC_PROGRESS_SLOTS];
	void *log_route; /* the engine's thread's (mh_log_thread_route) */
	GMutex lock;
};

/* sync-engine.c: waiting and connecting */

/* Whether the run stops: interrupted, or a server kept asking to wait (engine_give_up()). */
bool engine_interrupted(struct engine *e);

/* Waits as @v asks after @error (the @attempt-th wait in a row); false when interrupted. */
bool engine_wait(struct engine *e, const struct mh_sync_verdict *v, const GError *error,
                 unsigned attempt);

/* Whether @st's session ended right after a refusal that asks to wait (Exchange
 * throttles with a NO or BAD, then closes); *@v says how long. */
bool engine_classify_last_refusal(struct engine *e, struct mh_store *st, struct mh_sync_verdict *v);

/* Whether @error asks for a wait or a retry; *@v says which and how long. */
bool engine_classify(struct engine *e, const GError *error, struct mh_sync_verdict *v);

/* Whether @waits waits in a row without progress are enough to give up (@since: when the
 * first attempt failed, monotonic µs, or 0). */
bool engine_enough_waits(struct engine *e, const struct mh_sync_verdict *v, unsigned waits,
                         gint64 since);

/* Connects @st, waiting and trying again as the server asks (and, with @retry_transient,
 * after a failure that may pass). */
bool engine_connect_waiting(struct engine *e, struct mh_store *st, bool retry_transient,
                            GError **error);

/* Connects @src and @dst at once (engine_connect_waiting() on two threads; @e may be
 * NULL); when both fail, @src's error is the one given. */
bool engine_connect_pair(struct engine *e, struct mh_store *src, struct mh_store *dst,
                         bool retry_transient, GError **error);

/* sync-worker.c: the workers */

/* Stops every worker: @error says why (a server that will not take more now, or that
 * cannot be reached). */
void engine_give_up(struct engine *e, const GError *error);

/* Runs the folder pairs of e->work on up to opts->jobs workers; the first reuses @src and
 * @dst. */
void engine_run_workers(struct engine *e, struct mh_store *src, struct mh_store *dst);

#endif
