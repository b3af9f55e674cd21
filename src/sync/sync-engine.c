/* SPDX-License-Identifier: MIT */
/* The engine's outer loop: connect, list both sides, plan the folders, create what is
 * missing, then run the folder pairs on --jobs workers, each with its own connection
 * pair and state connection, reconnecting once when a connection fails. */
#include <string.h>

#include "mh-log.h"
#include "sync-plan.h"
#include "sync-private.h"

struct engine {
	const struct mh_sync_options *opts;
	mh_sync_store_factory *factory;
	void *fctx;
	struct mh_sync_progress *progress;
	struct mh_sync_result *result;
	GPtrArray *work; /* struct mh_sync_folder_result *, borrowed from result */
	gint next;       /* index of the next folder to take */
};

static void
folder_result_free(struct mh_sync_folder_result *r)
{
	g_free(r->src_name);
	g_free(r->dst_name);
	g_free(r->note);
	for (guint i = 0; i < r->skipped->len; i++) {
		struct mh_sync_skip *s = r->skipped->pdata[i];

		g_free(s->reason);
		g_free(s);
	}
	g_ptr_array_free(r->skipped, true);
	g_ptr_array_free(r->errors, true);
	g_free(r);
}

void
mh_sync_result_free(struct mh_sync_result *r)
{
	if (r == NULL)
		return;
	g_ptr_array_free(r->folders, true);
	g_ptr_array_free(r->created, true);
	g_ptr_array_free(r->deleted_folders, true);
	g_free(r);
}

static bool
engine_interrupted(const struct engine *e)
{
	return e->opts->interrupted != NULL && *e->opts->interrupted;
}

static bool
engine_connect(struct mh_store *st, GError **error)
{
	if (st->ops->connect(st, error))
		return true;
	g_prefix_error(error, "%s: ", st->label);
	return false;
}

/* --- one worker --- */

static bool
worker_reconnect(struct sync_worker *w, GError **error)
{
	mh_log(MH_LOG_WARN, "reconnecting after a connection failure");
	return engine_connect(w->src, error) && engine_connect(w->dst, error);
}

static void
worker_run_folder(struct engine *e, struct sync_worker *w, struct mh_sync_folder_result *res)
{
	g_autoptr(GError) error = NULL;

	if (res->container_only)
		return;
	g_atomic_pointer_set(&e->progress->current, res->src_name);
	if (sync_folder(w, res, NULL, &error))
		return;
	mh_log(MH_LOG_WARN, "%s", error->message);
	g_clear_error(&error);
	if (engine_interrupted(e) || !worker_reconnect(w, &error) ||
	    !sync_folder(w, res, NULL, &error)) {
		if (error != NULL) {
			g_ptr_array_add(res->errors, g_strdup(error->message));
			res->failed++;
		}
	}
}

struct worker_arg {
	struct engine *e;
	struct sync_worker w;
	bool connect; /* the stores are new: connect them first */
	GError *error;
};

static gpointer
worker_thread(gpointer data)
{
	struct worker_arg *wa = data;
	struct engine *e = wa->e;
	struct sync_worker *w = &wa->w;

	if (wa->connect &&
	    (!engine_connect(w->src, &wa->error) || !engine_connect(w->dst, &wa->error)))
		return NULL;
	if (!e->opts->dry && !e->opts->verify_only) {
		w->state = mh_state_open(e->opts->state_path, &wa->error);
		if (w->state == NULL)
			return NULL;
	}
	for (;;) {
		gint i = g_atomic_int_add(&e->next, 1);

		if (i >= (gint)e->work->len || engine_interrupted(e))
			break;
		worker_run_folder(e, w, e->work->pdata[i]);
		g_atomic_int_inc(&e->progress->folders_done);
	}
	return NULL;
}

/* Runs the folder pairs on up to opts->jobs workers; the first reuses @src and @dst. */
static void
engine_run_workers(struct engine *e, struct mh_store *src, struct mh_store *dst)
{
	guint n = MAX(1u, MIN(e->opts->jobs, e->work->len));
	g_autoptr(GPtrArray) threads = g_ptr_array_new();
	struct worker_arg *args = g_new0(struct worker_arg, n);

	for (guint i = 0; i < n; i++) {
		args[i].e = e;
		args[i].w.opts = e->opts;
		args[i].w.progress = e->progress;
		args[i].connect = i > 0;
		args[i].w.src = i == 0 ? src : e->factory(e->fctx, 1);
		args[i].w.dst = i == 0 ? dst : e->factory(e->fctx, 2);
		g_ptr_array_add(threads, g_thread_new("mh-sync", worker_thread, &args[i]));
	}
	for (guint i = 0; i < n; i++) {
		g_thread_join(threads->pdata[i]);
		if (args[i].error != NULL) {
			mh_log(MH_LOG_WARN, "a parallel connection failed: %s",
			       args[i].error->message);
			g_error_free(args[i].error);
		}
		mh_state_close(args[i].w.state);
		if (i > 0) {
			args[i].w.src->ops->close(args[i].w.src);
			args[i].w.dst->ops->close(args[i].w.dst);
			mh_store_free(args[i].w.src);
			mh_store_free(args[i].w.dst);
		}
	}
	g_free(args);
}

struct side {
	struct mh_store *st;
	GPtrArray *folders;    /* struct mh_imap_folder * */
	GPtrArray *subscribed; /* char * */
	GHashTable *boxes;     /* name -> struct mh_store_box *, when LIST gave counters */
	char *prefix;
	char sep;
};

/* The folders that need a worker: containers and folders unchanged on both sides since
 * the last run are settled here with STATUS alone, so an unchanged rerun opens no
 * further connections. */
static GPtrArray *
engine_changed_folders(struct engine *e, struct side *src, struct side *dst)
{
	GPtrArray *work = g_ptr_array_new();
	struct sync_worker w = {
		.opts = e->opts, .src = src->st, .dst = dst->st, .progress = e->progress};

	if (!e->opts->dry && !e->opts->verify_only && !e->opts->delete1 && !e->opts->delete2)
		w.state = mh_state_open(e->opts->state_path, NULL);
	for (guint i = 0; i < e->result->folders->len; i++) {
		struct mh_sync_folder_result *res = e->result->folders->pdata[i];
		const struct mh_store_box *sbox =
			src->boxes != NULL ? g_hash_table_lookup(src->boxes, res->src_name) : NULL;
		const struct mh_store_box *dbox =
			dst->boxes != NULL ? g_hash_table_lookup(dst->boxes, res->dst_name) : NULL;

		if (res->container_only ||
		    (w.state != NULL && sync_folder_check_unchanged(&w, res, sbox, dbox)))
			g_atomic_int_inc(&e->progress->folders_done);
		else
			g_ptr_array_add(work, res);
	}
	mh_state_close(w.state);
	return work;
}

/* --- planning --- */

static struct mh_sync_folder_result *
engine_folder_result(const struct mh_plan_entry *pe)
{
	struct mh_sync_folder_result *r = g_new0(struct mh_sync_folder_result, 1);

	r->src_name = g_strdup(pe->src_name);
	r->dst_name = g_strdup(pe->dst_name);
	r->note = g_strdup(pe->note);
	r->container_only = pe->container_only;
	r->skipped = g_ptr_array_new();
	r->errors = g_ptr_array_new_with_free_func(g_free);
	return r;
}

static void
side_clear(struct side *s)
{
	g_clear_pointer(&s->folders, g_ptr_array_unref);
	g_clear_pointer(&s->subscribed, g_ptr_array_unref);
	g_clear_pointer(&s->boxes, g_hash_table_unref);
	g_clear_pointer(&s->prefix, g_free);
}

static bool
side_list(struct side *s, GError **error)
{
	if (!s->st->ops->list(s->st, &s->folders, &s->subscribed, &s->boxes, error) ||
	    !s->st->ops->namespace(s->st, &s->prefix, &s->sep, error)) {
		g_prefix_error(error, "%s: ", s->st->label);
		return false;
	}
	return true;
}

static struct mh_plan *
engine_plan(struct engine *e, struct side *src, struct side *dst, GError **error)
{
	struct mh_plan_options po;

	mh_plan_options_init(&po);
	po.folders = e->opts->folders;
	po.include = e->opts->include;
	po.exclude = e->opts->exclude;
	po.regextrans = e->opts->regextrans;
	po.automap = e->opts->automap;
	po.subscribe_all = e->opts->subscribe_all;
	po.src_prefix = src->prefix;
	po.src_sep = src->sep;
	po.dst_prefix = dst->prefix;
	po.dst_sep = dst->sep;
	return mh_plan_new(src->folders, src->subscribed, dst->folders, &po, error);
}

static bool
engine_apply_folders(struct engine *e, struct mh_plan *plan, struct side *dst, GError **error)
{
	const GPtrArray *creates = mh_plan_creates(plan);
	const GPtrArray *subs = mh_plan_subscriptions(plan);
	bool write = !e->opts->dry && !e->opts->verify_only;

	for (guint i = 0; i < creates->len; i++) {
		g_ptr_array_add(e->result->created, g_strdup(creates->pdata[i]));
		if (write && !dst->st->ops->create(dst->st, creates->pdata[i], error))
			return false;
	}
	for (guint i = 0; write && i < subs->len; i++) {
		const char *name = subs->pdata[i];
		guint at;

		if (dst->subscribed != NULL &&
		    g_ptr_array_find_with_equal_func(dst->subscribed, name, g_str_equal, &at))
			continue; /* already subscribed */
		if (!dst->st->ops->subscribe(dst->st, name, error))
			return false;
	}
	return true;
}

/* Deletes one destination folder; a folder already gone (an implicit parent that went
 * with its children) is fine, a refusal is a warning. */
static bool
engine_delete_folder(struct engine *e, struct mh_store *dst, const char *name, GError **error)
{
	GError *local = NULL;

	if (dst->ops->delete_folder(dst, name, &local)) {
		g_ptr_array_add(e->result->deleted_folders, g_strdup(name));
		return true;
	}
	if (local->domain == MH_IMAP_ERROR && local->code == MH_IMAP_ERROR_NO) {
		if (strstr(local->message, "[NONEXISTENT]") == NULL)
			mh_log(MH_LOG_WARN, "%s", local->message);
		g_error_free(local);
		return true;
	}
	g_propagate_error(error, local);
	return false;
}

/* --delete2folders: destination folders no source folder maps to (never INBOX nor a
 * parent of a mapped folder). */
static bool
engine_delete_folders(struct engine *e, struct mh_plan *plan, struct side *dst, GError **error)
{
	const GPtrArray *entries = mh_plan_entries(plan);
	g_autoptr(GHashTable) keep = g_hash_table_new(g_str_hash, g_str_equal);

	for (guint i = 0; i < entries->len; i++) {
		const struct mh_plan_entry *pe = entries->pdata[i];

		if (pe->dst_name != NULL)
			g_hash_table_add(keep, pe->dst_name);
	}
	for (guint i = dst->folders->len; i-- > 0;) {
		const struct mh_imap_folder *f = dst->folders->pdata[i];
		g_autofree char *prefix = g_strdup_printf("%s%c", f->name, f->sep);
		bool parent = false;
		GHashTableIter it;
		gpointer key;

		if (strcmp(f->name, "INBOX") == 0 || g_hash_table_contains(keep, f->name) ||
		    (f->attrs & MH_IMAP_ATTR_NONEXISTENT))
			continue;
		g_hash_table_iter_init(&it, keep);
		while (!parent && g_hash_table_iter_next(&it, &key, NULL))
			parent = f->sep != '\0' && g_str_has_prefix(key, prefix);
		if (parent)
			continue;
		if (e->opts->dry)
			g_ptr_array_add(e->result->deleted_folders, g_strdup(f->name));
		else if (!engine_delete_folder(e, dst->st, f->name, error))
			return false;
	}
	return true;
}

static bool
engine_prepare(struct engine *e, struct side *src, struct side *dst, GError **error)
{
	g_autoptr(mh_plan) plan = NULL;
	const GPtrArray *entries;

	if (!side_list(src, error) || !side_list(dst, error))
		return false;
	plan = engine_plan(e, src, dst, error);
	if (plan == NULL || !engine_apply_folders(e, plan, dst, error) ||
	    (e->opts->delete2folders && !engine_delete_folders(e, plan, dst, error)))
		return false;
	entries = mh_plan_entries(plan);
	for (guint i = 0; i < entries->len; i++) {
		const struct mh_plan_entry *pe = entries->pdata[i];

		if (!pe->selected) {
			mh_log_debug(MH_LOG_CAT_SYNC, "%s: skipped (%s)", pe->src_name,
			             pe->skip_reason);
			continue;
		}
		if (pe->note != NULL)
			mh_log(MH_LOG_INFO, "%s -> %s: %s", pe->src_name, pe->dst_name, pe->note);
		g_ptr_array_add(e->result->folders, engine_folder_result(pe));
	}
	e->progress->folders_total = (gint)e->result->folders->len;
	return true;
}

static bool
engine_error_is_transient(const GError *error)
{
	return error->domain == MH_IMAP_ERROR &&
	       (error->code == MH_IMAP_ERROR_DISCONNECTED || error->code == MH_IMAP_ERROR_BYE ||
	        error->code == MH_IMAP_ERROR_TIMEOUT);
}

/* Connects, lists and plans; a connection lost on the way (servers drop idle or busy
 * sessions) gets one more try from scratch. */
static bool
engine_start(struct engine *e, struct side *src, struct side *dst, GError **error)
{
	GError *local = NULL;

	if (engine_connect(src->st, &local) && engine_connect(dst->st, &local) &&
	    engine_prepare(e, src, dst, &local))
		return true;
	if (!engine_error_is_transient(local) || engine_interrupted(e)) {
		g_propagate_error(error, local);
		return false;
	}
	mh_log(MH_LOG_WARN, "%s; connecting again", local->message);
	g_clear_error(&local);
	side_clear(src);
	side_clear(dst);
	g_ptr_array_set_size(e->result->folders, 0);
	g_ptr_array_set_size(e->result->created, 0);
	g_ptr_array_set_size(e->result->deleted_folders, 0);
	return engine_connect(src->st, error) && engine_connect(dst->st, error) &&
	       engine_prepare(e, src, dst, error);
}

bool
mh_sync_run(const struct mh_sync_options *opts, mh_sync_store_factory *factory, void *fctx,
            struct mh_sync_progress *progress, struct mh_sync_result **result_r, GError **error)
{
	struct engine e = {.opts = opts, .factory = factory, .fctx = fctx, .progress = progress};
	struct side src = {.st = factory(fctx, 1)};
	struct side dst = {.st = factory(fctx, 2)};
	g_autoptr(GTimer) timer = g_timer_new();
	bool ok;

	e.result = g_new0(struct mh_sync_result, 1);
	e.result->folders = g_ptr_array_new_with_free_func((GDestroyNotify)folder_result_free);
	e.result->created = g_ptr_array_new_with_free_func(g_free);
	e.result->deleted_folders = g_ptr_array_new_with_free_func(g_free);
	ok = engine_start(&e, &src, &dst, error);
	if (ok && !opts->justfolders) {
		e.work = engine_changed_folders(&e, &src, &dst);
		if (e.work->len > 0)
			engine_run_workers(&e, src.st, dst.st);
		g_ptr_array_unref(e.work);
	}
	src.st->ops->close(src.st);
	dst.st->ops->close(dst.st);
	mh_store_free(src.st);
	mh_store_free(dst.st);
	side_clear(&src);
	side_clear(&dst);
	e.result->seconds = g_timer_elapsed(timer, NULL);
	e.result->interrupted = engine_interrupted(&e);
	if (!ok) {
		mh_sync_result_free(e.result);
		return false;
	}
	*result_r = e.result;
	return true;
}
