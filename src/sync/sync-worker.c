/* SPDX-License-Identifier: MIT */
/* The engine's workers: each runs folder pairs on its own connection pair and state
 * connection, waiting, reconnecting and running a folder again as long as it progresses
 * (see worker_run_folder()); a big folder's copy may start more of them (sync-split.c). */
#include <string.h>

#include "mh-log.h"
#include "sync-engine-private.h"

static bool
worker_reconnect(struct engine *e, struct sync_worker *w, GError **error)
{
	w->split_id = 0;
	sync_close_both(w->src, w->dst);
	return engine_connect_pair(e, w->src, w->dst, true, error);
}

static void
worker_fail_folder(struct engine *e, struct mh_sync_folder_result *res, const GError *error)
{
	g_ptr_array_add(res->errors, g_strdup(error->message));
	res->failed++;
	sync_progress_failed(e->progress, e->opts);
}

/* The folder stays unfinished for connection trouble: no message failed, a rerun resumes. */
static void
worker_drop_folder(struct mh_sync_folder_result *res, const GError *error)
{
	g_ptr_array_add(res->errors, g_strdup(error->message));
	res->dropped = true;
}

/* Stops every worker: @error says why (a server that will not take more now, or that
 * cannot be reached). */
void
engine_give_up(struct engine *e, const GError *error)
{
	g_mutex_lock(&e->lock);
	if (e->gave_up == NULL)
		e->gave_up = g_strdup(error->message);
	g_mutex_unlock(&e->lock);
}

/* A pass that dropped with nothing done while the same message was on its way,
 * ENGINE_MAX_DROPS times in a row: that message is too much for the link. It is
 * left on the source, reported, and the folder goes on without it. True when it is. */
static bool
worker_drop_strike(struct engine *e, struct mh_sync_folder_result *res, uint32_t *uid,
                   unsigned *strikes)
{
	g_autofree char *raw = NULL, *size = NULL;
	g_auto(GStrv) parts = NULL;

	if (res->pass_first_uid == 0)
		return false;
	if (res->pass_first_uid != *uid) {
		*uid = res->pass_first_uid;
		*strikes = 0;
	}
	if (++*strikes < ENGINE_MAX_DROPS)
		return false;
	raw = g_format_size(res->pass_first_size);
	parts = g_strsplit(raw, "\xc2\xa0", -1); /* GLib writes "3.1\u00a0MB": plain text here */
	size = g_strjoinv(" ", parts);
	res->failed++;
	sync_progress_failed(e->progress, e->opts);
	if (res->refused == NULL)
		res->refused = g_hash_table_new(NULL, NULL);
	g_hash_table_add(res->refused, GUINT_TO_POINTER(*uid));
	g_ptr_array_add(res->errors,
	                g_strdup_printf("message UID %u: the connection dropped %u times while "
	                                "copying it (%s), each time before anything else was "
	                                "copied: it stays on the source; run the same command "
	                                "again, over a steadier link if it keeps failing",
	                                *uid, *strikes, size));
	mh_log(MH_LOG_WARN,
	       "%s: message UID %u not copied: the connection dropped %u times while copying it "
	       "(%s)",
	       res->src_name, *uid, *strikes, size);
	*uid = 0;
	*strikes = 0;
	return true;
}

/* Waits before the next pass of a folder as @v asks, after *@waits waits in a row without
 * progress; false when the folder gives up or the wait is
 * interrupted. A folder whose connections keep dropping gives up alone; a server that keeps
 * asking to wait stops every worker. */
static bool
worker_wait(struct engine *e, struct mh_sync_folder_result *res, const struct mh_sync_verdict *v,
            GError **error, unsigned *waits)
{
	bool retry = v->kind == MH_SYNC_VERDICT_RETRY;

	if (engine_enough_waits(e, v, *waits, 0)) {
		g_prefix_error(error, "gave up after %u waits without progress: ", *waits);
		mh_log(MH_LOG_WARN, "%s", (*error)->message);
		if (retry) {
			worker_drop_folder(res, *error);
		} else {
			worker_fail_folder(e, res, *error);
			engine_give_up(e, *error);
		}
		return false;
	}
	++*waits;
	if (retry && *waits == 1) {
		/* After a drop, the first reconnect is at once. */
		mh_log(MH_LOG_WARN, "%s; reconnecting", (*error)->message);
		return true;
	}
	if (!engine_wait(e, v, *error, retry ? *waits - 2 : *waits - 1)) {
		worker_fail_folder(e, res, *error);
		return false;
	}
	return true;
}

/* Runs one folder pair; when a connection fails or a server asks to wait, waits as asked,
 * reconnects and runs it again (the state makes that resume where it stopped), giving up
 * after ENGINE_MAX_WAITS waits in a row without a message done (ENGINE_MAX_RETRIES for
 * dropped connections: then only this folder stops). */
static void
worker_run_folder(struct engine *e, struct sync_worker *w, struct mh_sync_folder_result *res)
{
	unsigned waits = 0, plain_retries = 0, strikes = 0;
	uint32_t strike_uid = 0;

	if (res->container_only)
		return;
	g_atomic_pointer_set(&e->progress->current, res->src_name);
	mh_log(MH_LOG_INFO, "%s: started", res->src_name);
	res->not_reached = false;
	for (;;) {
		g_autoptr(GError) error = NULL;
		uint64_t before = res->copied + res->matched + res->labelled;
		struct mh_sync_verdict v;
		bool known, progressed;

		res->pass_first_uid = 0;
		if (sync_folder(w, res, NULL, &error)) {
			res->unfinished = false;
			break;
		}
		progressed = res->copied + res->matched + res->labelled > before;
		if (progressed) {
			waits = 0;
			strikes = 0;
		}
		if (engine_interrupted(e)) {
			/* A stop is no failure of the folder: it stays unfinished for the next
			 * run, which resumes it. */
			if (!g_error_matches(error, MH_SYNC_ERROR, MH_SYNC_ERROR_INTERRUPTED))
				worker_fail_folder(e, res, error);
			return;
		}
		/* After a drop, the refusal just before it says why and how long (Exchange
		 * throttles with a NO or BAD, then closes the session). */
		known = (error->domain == MH_IMAP_ERROR &&
		         (error->code == MH_IMAP_ERROR_BYE ||
		          error->code == MH_IMAP_ERROR_DISCONNECTED) &&
		         (engine_classify_last_refusal(e, w->dst, &v) ||
		          engine_classify_last_refusal(e, w->src, &v))) ||
		        engine_classify(e, error, &v);
		if (!known) {
			/* An unexpected failure: one more try on fresh connections. */
			mh_log(MH_LOG_WARN, "%s", error->message);
			if (plain_retries++ > 0) {
				worker_fail_folder(e, res, error);
				return;
			}
			v.kind = MH_SYNC_VERDICT_RETRY;
			v.wait_ms = 1;
		} else if (v.kind == MH_SYNC_VERDICT_RETRY && !progressed &&
		           worker_drop_strike(e, res, &strike_uid, &strikes)) {
			waits = 0; /* the folder goes on without that message */
			mh_log(MH_LOG_WARN, "%s; reconnecting", error->message);
		} else if (!worker_wait(e, res, &v, &error, &waits)) {
			return;
		}
		g_clear_error(&error);
		if (!worker_reconnect(e, w, &error)) {
			if (g_error_matches(error, MH_IMAP_ERROR, MH_IMAP_ERROR_CONNECT) ||
			    (engine_classify(e, error, &v) && v.kind == MH_SYNC_VERDICT_RETRY)) {
				/* The server cannot be reached: no folder can progress now. */
				worker_drop_folder(res, error);
				engine_give_up(e, error);
			} else {
				worker_fail_folder(e, res, error);
			}
			return;
		}
	}
	if (w->opts->dst_error_limit > 0 && w->dst->ops->info != NULL) {
		const struct mh_store_info *info = w->dst->ops->info(w->dst);
		g_autoptr(GError) error = NULL;

		/* A fresh session before the server's error limit ends this one. */
		if (info != NULL && info->errors + 3 >= w->opts->dst_error_limit &&
		    !worker_reconnect(e, w, &error))
			mh_log(MH_LOG_WARN, "%s", error->message);
	}
}

struct worker_arg {
	struct engine *e;
	struct sync_worker w;
	GThread *thread;
	bool own_stores; /* the stores are new (connect them first) and the worker's */
	int slot;        /* its line in the progress, or -1 */
	GError *error;
};

/* A worker whose connections a failed range of a split copy left in doubt connects
 * afresh before it takes more work; false when it cannot. */
static bool
worker_refresh(struct engine *e, struct sync_worker *w, GError **error)
{
	if (!w->stale)
		return true;
	w->stale = false;
	w->split_id = 0;
	sync_close_both(w->src, w->dst);
	if (engine_interrupted(e) || !engine_connect_pair(NULL, w->src, w->dst, false, error))
		return false;
	if (w->state == NULL && !e->opts->dry && !e->opts->verify_only)
		w->state = mh_state_open(e->opts->state_path, error);
	return w->state != NULL || e->opts->dry || e->opts->verify_only;
}

/* Ends a worker's sessions before it stops counting in the pool: a worker started for a
 * split copy may take its place at once, and the connections open stay within
 * opts->jobs pairs. */
static void
worker_close(struct sync_worker *w)
{
	w->split_id = 0;
	sync_close_both(w->src, w->dst);
	g_clear_pointer(&w->state, mh_state_close);
}

/* Takes ranges of a split copy first (their folder's owner waits for them), then the next
 * folder; ends when there is neither. */
static void
worker_loop(struct engine *e, struct sync_worker *w, GError **error)
{
	for (;;) {
		gint i;

		if (engine_interrupted(e) || !worker_refresh(e, w, error))
			break;
		if (sync_split_help(e->shared.pool, w))
			continue;
		i = g_atomic_int_add(&e->next, 1);
		if (i >= (gint)e->work->len) {
			worker_close(w);
			if (sync_pool_leave(e->shared.pool, false))
				return;
			w->stale = true; /* a range was posted meanwhile: connect again for it */
			continue;
		}
		sync_progress_worker(w, e->work->pdata[i]);
		worker_run_folder(e, w, e->work->pdata[i]);
		sync_progress_worker(w, NULL);
		g_atomic_int_inc(&e->progress->folders_done);
	}
	worker_close(w);
	sync_pool_leave(e->shared.pool, true);
}

static gpointer
worker_thread(gpointer data)
{
	struct worker_arg *wa = data;
	struct engine *e = wa->e;
	struct sync_worker *w = &wa->w;

	mh_log_set_thread_route(e->log_route);
	if ((wa->own_stores && !engine_connect_pair(NULL, w->src, w->dst, false, &wa->error)) ||
	    (!e->opts->dry && !e->opts->verify_only &&
	     (w->state = mh_state_open(e->opts->state_path, &wa->error)) == NULL)) {
		/* fewer connections: the others take the folders */
		worker_close(w);
		sync_pool_leave(e->shared.pool, true);
		return NULL;
	}
	worker_loop(e, w, &wa->error);
	return NULL;
}

/* Starts a worker thread; the first reuses the engine's own stores @src and @dst. The
 * caller has counted it in the pool. */
static void
engine_start_worker(struct engine *e, struct mh_store *src, struct mh_store *dst)
{
	struct worker_arg *wa = g_new0(struct worker_arg, 1);

	wa->e = e;
	wa->w.opts = e->opts;
	wa->w.shared = &e->shared;
	wa->w.progress = e->progress;
	wa->own_stores = src == NULL;
	wa->w.src = src != NULL ? src : e->factory(e->fctx, 1);
	wa->w.dst = dst != NULL ? dst : e->factory(e->fctx, 2);
	wa->slot = -1;
	g_mutex_lock(&e->lock);
	for (int i = 0; i < MH_SYNC_PROGRESS_SLOTS && wa->slot < 0; i++) {
		if (!e->slot_used[i]) {
			e->slot_used[i] = true;
			wa->slot = i;
		}
	}
	wa->w.slot = wa->slot >= 0 ? &e->progress->slots[wa->slot] : NULL;
	g_ptr_array_add(e->workers, wa);
	wa->thread = g_thread_new("mh-sync", worker_thread, wa);
	g_mutex_unlock(&e->lock);
}

/* sync_pool_spawn_cb: one more worker for a split copy. */
static void
engine_spawn(void *ctx)
{
	engine_start_worker(ctx, NULL, NULL);
}

static void
worker_arg_free(struct engine *e, struct worker_arg *wa)
{
	if (wa->error != NULL) {
		mh_log(MH_LOG_WARN, "a parallel connection failed: %s", wa->error->message);
		g_error_free(wa->error);
	}
	mh_state_close(wa->w.state);
	if (wa->own_stores) {
		wa->w.src->ops->close(wa->w.src);
		wa->w.dst->ops->close(wa->w.dst);
		mh_store_free(wa->w.src);
		mh_store_free(wa->w.dst);
	}
	g_mutex_lock(&e->lock);
	if (wa->slot >= 0)
		e->slot_used[wa->slot] = false;
	g_mutex_unlock(&e->lock);
	g_free(wa);
}

/* Runs the folder pairs on up to opts->jobs workers; the first reuses @src and @dst. No
 * more workers than folders with messages to begin with: an empty folder pair is settled in
 * a few milliseconds, less than a new connection pair takes (TLS, login, a server process),
 * so a mailbox whose messages are all in INBOX starts on the listing's connections alone. A
 * big folder's copy may start more (sync-split.c), never more than opts->jobs at once. */
void
engine_run_workers(struct engine *e, struct mh_store *src, struct mh_store *dst)
{
	guint n = MAX(1u, MIN(e->opts->jobs, MIN(e->work->len, e->busy)));

	e->workers = g_ptr_array_new();
	e->log_route = mh_log_thread_route();
	e->shared.pool = sync_pool_new(e->opts, engine_spawn, e);
	for (guint i = 0; i < n; i++) {
		sync_pool_enter(e->shared.pool);
		engine_start_worker(e, i == 0 ? src : NULL, i == 0 ? dst : NULL);
	}
	/* Once the loop reaches the end, every worker has ended: none is left to start
	 * another. */
	for (guint i = 0;; i++) {
		struct worker_arg *wa;

		g_mutex_lock(&e->lock);
		wa = i < e->workers->len ? e->workers->pdata[i] : NULL;
		g_mutex_unlock(&e->lock);
		if (wa == NULL)
			break;
		g_thread_join(wa->thread);
		worker_arg_free(e, wa);
	}
	g_clear_pointer(&e->workers, g_ptr_array_unref);
	g_clear_pointer(&e->shared.pool, sync_pool_free);
}
