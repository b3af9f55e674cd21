/* SPDX-License-Identifier: MIT */
/* The engine's outer loop: connect, list both sides, plan the folders, create what is
 * missing, then run the folder pairs on --jobs workers, each with its own connection
 * pair and state connection. A folder whose connection fails is reconnected and run
 * again as long as it progresses: at once, then after doubling waits, up to
 * ENGINE_MAX_RETRIES passes in a row without a message done (see worker_run_folder()). */
#include <string.h>

#include "mh-log.h"
#include "sync-accounts.h"
#include "sync-engine-private.h"
#include "sync-lock.h"
#include "sync-plan.h"

static void
folder_result_free(struct mh_sync_folder_result *r)
{
	g_free(r->src_name);
	g_free(r->dst_name);
	g_free(r->note);
	for (guint i = 0; i < r->skipped->len; i++) {
		struct mh_sync_skip *s = r->skipped->pdata[i];

		g_free(s->reason);
		g_free(s->message_id);
		g_free(s->date);
		g_free(s->subject);
		g_free(s);
	}
	g_ptr_array_free(r->skipped, true);
	g_ptr_array_free(r->errors, true);
	g_clear_pointer(&r->refused, g_hash_table_unref);
	for (guint i = 0; r->labelled_msgs != NULL && i < r->labelled_msgs->len; i++) {
		struct mh_sync_labelled *l = r->labelled_msgs->pdata[i];

		g_free(l->copied_under);
		g_free(l);
	}
	g_clear_pointer(&r->labelled_msgs, g_ptr_array_unref);
	g_clear_pointer(&r->missing_msgs, g_ptr_array_unref);
	g_clear_pointer(&r->extra_msgs, g_ptr_array_unref);
	g_clear_pointer(&r->stray_msgs, g_ptr_array_unref);
	g_clear_pointer(&r->deleted_dups, g_ptr_array_unref);
	g_clear_pointer(&r->failed_msgs, g_ptr_array_unref);
	g_clear_pointer(&r->content_diffs, g_ptr_array_unref); /* frees its entries */
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
	g_clear_pointer(&r->wait_list, g_ptr_array_unref);
	g_free(r->gave_up);
	g_free(r);
}

static void
wait_free(struct mh_sync_wait *w)
{
	g_free(w->reason);
	g_free(w);
}

/* Keeps a wait for the report's timeline (the first MH_SYNC_NAMED_MAX). */
static void
engine_note_wait(struct engine *e, const struct mh_sync_verdict *v, const GError *error, gint64 at,
                 gint64 began)
{
	struct mh_sync_wait *w;

	g_mutex_lock(&e->lock);
	if (e->result->wait_list->len < MH_SYNC_NAMED_MAX) {
		w = g_new0(struct mh_sync_wait, 1);
		w->at = at;
		w->seconds = (double)(g_get_monotonic_time() - began) / G_USEC_PER_SEC;
		w->why = v->kind == MH_SYNC_VERDICT_BACKOFF       ? "throttled"
		         : v->kind == MH_SYNC_VERDICT_CONNECTIONS ? "connections"
		         : v->kind == MH_SYNC_VERDICT_BUDGET      ? "budget"
		                                                  : "retry";
		w->reason = g_strdup(error->message);
		g_ptr_array_add(e->result->wait_list, w);
	}
	g_mutex_unlock(&e->lock);
}

bool
engine_interrupted(struct engine *e)
{
	bool gave_up;

	g_mutex_lock(&e->lock);
	gave_up = e->gave_up != NULL;
	g_mutex_unlock(&e->lock);
	return gave_up || (e->opts->interrupted != NULL && *e->opts->interrupted);
}

/* --- waiting when a server asks for it --- */

/* Waits as @v asks (the server's suggestion, or a default that doubles with each of
 * @attempt earlier waits in a row, with up to 10% jitter, capped by --max-backoff), telling
 * the user why; false when interrupted. */
bool
engine_wait(struct engine *e, const struct mh_sync_verdict *v, const GError *error,
            unsigned attempt)
{
	uint64_t cap = (uint64_t)(e->opts->max_backoff > 0 ? e->opts->max_backoff : 3600) * 1000;
	uint64_t ms = v->wait_ms;
	int64_t room_s;
	char buf[32];
	gint64 until, began, at;

	/* A budget of our own knows when it has room again: wait that long, however long,
	 * unless --max-backoff says otherwise. */
	if (v->kind == MH_SYNC_VERDICT_BUDGET &&
	    g_error_matches(error, MH_SYNC_ERROR, MH_SYNC_ERROR_BUDGET) &&
	    sync_budget_spent(e->shared.budget, &room_s, NULL)) {
		ms = (uint64_t)room_s * 1000;
		if (e->opts->max_backoff == 0)
			cap = G_MAXUINT64;
	}
	if (ms == 0) {
		ms = v->kind == MH_SYNC_VERDICT_BUDGET        ? 3600000
		     : v->kind == MH_SYNC_VERDICT_CONNECTIONS ? 60000
		     : v->kind == MH_SYNC_VERDICT_BACKOFF     ? 30000
		                                              : 1000;
		if (v->kind == MH_SYNC_VERDICT_RETRY)
			ms = MIN(ms << MIN(attempt, 16u), ENGINE_RETRY_CAP_MS);
		else if (v->kind != MH_SYNC_VERDICT_BUDGET)
			ms <<= MIN(attempt, 4u);
	}
	ms += (uint64_t)g_random_int_range(0, (gint32)MIN(ms / 10 + 1, G_MAXINT32));
	ms = MIN(ms, cap);
	sync_seconds_text(ms / 1000.0, buf, sizeof(buf));
	switch (v->kind) {
	case MH_SYNC_VERDICT_BACKOFF:
		mh_log(MH_LOG_WARN, "throttled by the server (%s); waiting %s, then reconnecting",
		       error->message, buf);
		break;
	case MH_SYNC_VERDICT_CONNECTIONS:
		mh_log(MH_LOG_WARN,
		       "too many simultaneous connections (%s); waiting %s with fewer connections",
		       error->message, buf);
		break;
	case MH_SYNC_VERDICT_BUDGET:
		mh_log(MH_LOG_WARN, "pausing for %s: %s%s%s (Ctrl-C stops; a rerun resumes)", buf,
		       error->message, v->advice != NULL ? "; " : "",
		       v->advice != NULL ? v->advice : "");
		break;
	default:
		mh_log(MH_LOG_WARN, "%s; reconnecting in %s", error->message, buf);
		break;
	}
	g_atomic_int_inc(&e->shared.waits);
	if (v->kind == MH_SYNC_VERDICT_BACKOFF && e->opts->pace > 0) {
		gint p = g_atomic_int_get(&e->shared.pace_permille);

		g_atomic_int_set(&e->shared.pace_permille, MAX(100, p * 3 / 4));
	}
	began = g_get_monotonic_time();
	at = g_get_real_time();
	until = began + (gint64)ms * 1000;
	while (g_get_monotonic_time() < until) {
		if (engine_interrupted(e)) {
			engine_note_wait(e, v, error, at, began);
			return false;
		}
		g_usleep((gulong)MIN(100000, until - g_get_monotonic_time() + 1));
	}
	engine_note_wait(e, v, error, at, began);
	return true;
}

/* A session that ended (BYE, a drop) right after a refusal that asks to wait (Exchange
 * throttles with a NO or BAD, then closes): the refusal says how long. */
bool
engine_classify_last_refusal(struct engine *e, struct mh_store *st, struct mh_sync_verdict *v)
{
	g_autoptr(GError) refusal = sync_error_last_refusal(e->opts, st, v);

	return refusal != NULL;
}

bool
engine_classify(struct engine *e, const GError *error, struct mh_sync_verdict *v)
{
	struct sync_error_class ec;

	sync_error_classify(e->opts, error, &ec);
	*v = ec.v;
	return ec.action == SYNC_ERROR_ACT_WAIT || ec.action == SYNC_ERROR_ACT_RETRY;
}

/* Whether a folder that has waited @waits times in a row for @v should give up; for a
 * reconnect (@since: when its first attempt failed, monotonic µs, or 0), a server that
 * cannot be reached is tried for --max-outage seconds. */
bool
engine_enough_waits(struct engine *e, const struct mh_sync_verdict *v, unsigned waits, gint64 since)
{
	gint64 outage = (gint64)(e->opts->max_outage > 0 ? e->opts->max_outage : ENGINE_OUTAGE_S) *
	                G_USEC_PER_SEC;

	if (v->kind != MH_SYNC_VERDICT_RETRY)
		return waits >= ENGINE_MAX_WAITS;
	if (since != 0)
		return g_get_monotonic_time() - since >= outage;
	return waits >= ENGINE_MAX_RETRIES;
}

/* Connects @st; a server that asks to wait (too many connections, throttling), even in
 * answer to the login, is waited for, up to ENGINE_MAX_WAITS times; with
 * @retry_transient, one that cannot be reached is tried again with growing waits, for
 * --max-outage seconds (ENGINE_OUTAGE_S by default). */
bool
engine_connect_waiting(struct engine *e, struct mh_store *st, bool retry_transient, GError **error)
{
	gint64 since = g_get_monotonic_time();

	for (unsigned waits = 0;; waits++) {
		GError *local = NULL;
		struct mh_sync_verdict v;

		if (st->ops->connect(st, &local))
			return true;
		g_prefix_error(&local, "%s: ", st->label);
		/* Refused or unreachable, after it was reached once: a restart, an outage. */
		if (retry_transient && g_error_matches(local, MH_IMAP_ERROR, MH_IMAP_ERROR_CONNECT))
			v = (struct mh_sync_verdict){.kind = MH_SYNC_VERDICT_RETRY};
		else if (e == NULL || !engine_classify(e, local, &v))
			v.kind = MH_SYNC_VERDICT_NONE;
		if (e == NULL || engine_interrupted(e) || v.kind == MH_SYNC_VERDICT_NONE ||
		    (v.kind == MH_SYNC_VERDICT_RETRY && !retry_transient) ||
		    engine_enough_waits(e, &v, waits, since)) {
			if (e != NULL && waits > 0)
				g_prefix_error(&local, "gave up after %u waits: ", waits);
			g_propagate_error(error, local);
			return false;
		}
		st->ops->close(st);
		if (!engine_wait(e, &v, local, waits)) {
			g_propagate_error(error, local);
			return false;
		}
		g_error_free(local);
	}
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
	struct sync_worker w = {.opts = e->opts,
	                        .shared = &e->shared,
	                        .src = src->st,
	                        .dst = dst->st,
	                        .progress = e->progress};

	if (!e->opts->dry && !e->opts->verify_only && !e->opts->delete1 && !e->opts->delete2)
		w.state = mh_state_open(e->opts->state_path, NULL);
	for (guint i = 0; i < e->result->folders->len; i++) {
		struct mh_sync_folder_result *res = e->result->folders->pdata[i];
		const struct mh_store_box *sbox =
			src->boxes != NULL ? g_hash_table_lookup(src->boxes, res->src_name) : NULL;
		const struct mh_store_box *dbox =
			dst->boxes != NULL ? g_hash_table_lookup(dst->boxes, res->dst_name) : NULL;

		if (res->container_only ||
		    (w.state != NULL && sync_folder_check_unchanged(&w, res, sbox, dbox))) {
			if (!res->container_only)
				sync_progress_settle(e->progress, res);
			g_atomic_int_inc(&e->progress->folders_done);
			continue;
		}
		res->unfinished = res->not_reached = true;
		g_ptr_array_add(work, res);
		/* Idle only when both sides were counted empty (or the destination folder is
		 * not there yet: it is made empty). */
		if (sbox == NULL || sbox->exists > 0 || (dbox != NULL && dbox->exists > 0) ||
		    (dbox == NULL && dst->boxes == NULL))
			e->busy++;
		if (sbox != NULL && dbox != NULL) {
			struct sync_listed *l = g_new0(struct sync_listed, 1);

			l->src = *sbox;
			l->src.permanentflags = NULL;
			l->dst = *dbox;
			l->dst.permanentflags = NULL;
			g_hash_table_insert(e->shared.listed, res, l);
		}
	}
	mh_state_close(w.state);
	return work;
}

struct sync_listed *
sync_listed_take(struct sync_shared *shared, const struct mh_sync_folder_result *res)
{
	struct sync_listed *l = NULL;

	if (shared == NULL || shared->listed == NULL)
		return NULL;
	g_mutex_lock(&shared->listed_lock);
	if (!g_hash_table_steal_extended(shared->listed, res, NULL, (gpointer *)&l))
		l = NULL;
	g_mutex_unlock(&shared->listed_lock);
	return l;
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

/* Marks the folders whose destination folder another source folder shares (merged). */
static void
engine_mark_shared(GPtrArray *folders)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

	for (guint i = 0; i < folders->len; i++) {
		struct mh_sync_folder_result *r = folders->pdata[i];
		struct mh_sync_folder_result *first;

		if (r->dst_name == NULL || r->container_only)
			continue;
		first = g_hash_table_lookup(seen, r->dst_name);
		if (first == NULL) {
			g_hash_table_insert(seen, r->dst_name, r);
			continue;
		}
		first->dst_shared = r->dst_shared = true;
	}
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

static bool
side_list_cb(void *ctx, GError **error)
{
	return side_list(ctx, error);
}

/* Lists both sides at once: on a big mailbox the first listing of a session costs the
 * server most of the time an unchanged rerun takes (Dovecot, one folder of 200,000
 * messages: 0.18 s each). */
static bool
sides_list(struct side *src, struct side *dst, GError **error)
{
	return sync_both(side_list_cb, src, side_list_cb, dst, error);
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
	po.rules = e->opts->rules;
	po.dst_nocase = e->opts->dst_nocase;
	po.only_subscribed = e->opts->only_subscribed;
	po.subfolder2 = e->opts->subfolder2;
	po.subfolder1 = e->opts->subfolder1;
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

/* The rank of source folder @name in the order --folderfirst / --folderlast ask for:
 * the first ones by their position, then the others (0), then the last ones. */
static int
engine_folder_rank(const struct mh_sync_options *o, const char *name)
{
	guint at;

	if (o->folder_first != NULL &&
	    g_ptr_array_find_with_equal_func(o->folder_first, name, g_str_equal, &at))
		return (int)at - (int)o->folder_first->len;
	if (o->folder_last != NULL &&
	    g_ptr_array_find_with_equal_func(o->folder_last, name, g_str_equal, &at))
		return (int)at + 1;
	return 0;
}

static gint
engine_rank_cmp(gconstpointer a, gconstpointer b, gpointer data)
{
	const struct mh_sync_folder_result *x = *(struct mh_sync_folder_result *const *)a;
	const struct mh_sync_folder_result *y = *(struct mh_sync_folder_result *const *)b;
	int rx = engine_folder_rank(data, x->src_name), ry = engine_folder_rank(data, y->src_name);

	return rx < ry ? -1 : rx > ry;
}

/* Puts the folders named by --folderfirst first and those named by --folderlast last,
 * each in the order given; the others keep the plan's order (the sort is stable). */
static void
engine_order_folders(const struct mh_sync_options *o, GPtrArray *folders)
{
	if (o->folder_first == NULL && o->folder_last == NULL)
		return;
	g_ptr_array_sort_with_data(folders, engine_rank_cmp, (gpointer)o);
}

static bool
engine_prepare(struct engine *e, struct side *src, struct side *dst, GError **error)
{
	struct mh_plan *plan;
	const GPtrArray *entries;

	g_clear_pointer(&e->plan, mh_plan_free);
	if (!sides_list(src, dst, error))
		return false;
	/* Before anything is written: never a sync of a mailbox with itself. */
	if (!sync_accounts_check(e->opts, src->st, src->folders, src->boxes, dst->st, dst->folders,
	                         dst->boxes, error))
		return false;
	plan = e->plan = engine_plan(e, src, dst, error);
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
			mh_log(pe->case_merged ? MH_LOG_WARN : MH_LOG_INFO, "%s -> %s: %s",
			       pe->src_name, pe->dst_name, pe->note);
		g_ptr_array_add(e->result->folders, engine_folder_result(pe));
	}
	engine_order_folders(e->opts, e->result->folders);
	engine_mark_shared(e->result->folders);
	e->progress->folders_total = (gint)e->result->folders->len;
	return true;
}

/* Gmail labels: before the workers start (and only when some folder needs one), every
 * selected source folder is listed for its messages' identities, so that each message
 * has one owner folder. */
static bool
engine_labels(struct engine *e, struct side *src, GError **error)
{
	bool stateless = e->opts->dry || e->opts->verify_only;
	struct mh_state *state = NULL;

	if (e->opts->labels == MH_SYNC_LABELS_NONE)
		return true;
	if (!stateless) {
		state = mh_state_open(e->opts->state_path, error);
		if (state == NULL)
			return false;
	}
	e->labels =
		sync_labels_new(src->st, mh_plan_entries(e->plan), e->opts->labels, state, error);
	mh_state_close(state);
	e->shared.labels = e->labels;
	return e->labels != NULL;
}

/* Once both sides are connected: the caller's adjustments (provider detection), and the
 * destination's APPENDLIMIT as the largest message. */
static void
engine_adjust(struct engine *e, struct side *src, struct side *dst)
{
	const struct mh_store_info *si =
		src->st->ops->info != NULL ? src->st->ops->info(src->st) : NULL;
	const struct mh_store_info *di =
		dst->st->ops->info != NULL ? dst->st->ops->info(dst->st) : NULL;

	if (e->adjusted)
		return;
	e->adjusted = true;
	if (e->own.adjust != NULL)
		e->own.adjust(e->own.adjust_ctx, si, di, &e->own);
	if (di != NULL && di->appendlimit > 0 &&
	    (e->own.maxsize == 0 || di->appendlimit < e->own.maxsize)) {
		mh_log(MH_LOG_INFO,
		       "%s takes messages up to %" G_GUINT64_FORMAT
		       " bytes (APPENDLIMIT); larger ones are skipped and reported",
		       dst->st->label, di->appendlimit);
		e->own.maxsize = di->appendlimit;
	}
}

static bool
engine_error_is_transient(const GError *error)
{
	return error->domain == MH_IMAP_ERROR &&
	       (error->code == MH_IMAP_ERROR_DISCONNECTED || error->code == MH_IMAP_ERROR_BYE ||
	        error->code == MH_IMAP_ERROR_TIMEOUT);
}

struct connect_side {
	struct engine *e;
	struct mh_store *st;
	bool retry_transient;
};

static bool
connect_side_cb(void *ctx, GError **error)
{
	struct connect_side *c = ctx;

	return engine_connect_waiting(c->e, c->st, c->retry_transient, error);
}

/* Each side costs a TCP and TLS handshake and a login (and may refresh an OAuth2 token
 * first), round trips that need not wait for the other side's. */
bool
engine_connect_pair(struct engine *e, struct mh_store *src, struct mh_store *dst,
                    bool retry_transient, GError **error)
{
	struct connect_side a = {.e = e, .st = src, .retry_transient = retry_transient};
	struct connect_side b = {.e = e, .st = dst, .retry_transient = retry_transient};

	return sync_both(connect_side_cb, &a, connect_side_cb, &b, error);
}

/* Connects, lists and plans; a connection lost on the way (servers drop idle or busy
 * sessions) gets one more try from scratch. */
static bool
engine_start(struct engine *e, struct side *src, struct side *dst, GError **error)
{
	GError *local = NULL;

	if (engine_connect_pair(e, src->st, dst->st, false, &local)) {
		engine_adjust(e, src, dst);
		if (engine_prepare(e, src, dst, &local))
			return true;
	}
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
	if (!engine_connect_pair(e, src->st, dst->st, false, error))
		return false;
	engine_adjust(e, src, dst);
	return engine_prepare(e, src, dst, error);
}

/* A run that writes owns its account pair, and its destination account, for its whole
 * length: two runs at once would both copy what neither has recorded yet. Taken before
 * connecting, pair first, so that two runs never wait for each other in a circle. */
static bool
engine_lock(const struct mh_sync_options *opts, struct mh_sync_lock **pair_r,
            struct mh_sync_lock **dst_r, GError **error)
{
	g_autofree char *pair_path = NULL;

	if (opts->dry || opts->verify_only || opts->state_path == NULL)
		return true;
	pair_path = g_strconcat(opts->state_path, ".lock", NULL);
	*pair_r = mh_sync_lock_take(pair_path, "account pair", opts->wait_lock, opts->interrupted,
	                            error);
	if (*pair_r == NULL)
		return false;
	if (opts->dst_lock_path == NULL)
		return true;
	*dst_r = mh_sync_lock_take(opts->dst_lock_path, "destination account", opts->wait_lock,
	                           opts->interrupted, error);
	if (*dst_r == NULL) {
		g_clear_pointer(pair_r, mh_sync_lock_release);
		return false;
	}
	return true;
}

/* Opens the state once before anything connects, under the pair lock: a damaged file is
 * set aside (kept) and rebuilt from the destination, whose messages are then found by
 * fingerprint; one that cannot be opened stops the run with one line saying what to do
 * (instead of every worker failing on its own). */
static bool
engine_check_state(const struct mh_sync_options *opts, GError **error)
{
	g_autofree char *aside = NULL;
	struct mh_state *st;

	/* A missing file is made later, once the sides are known to be two mailboxes. */
	if (opts->dry || opts->verify_only || opts->state_path == NULL ||
	    !g_file_test(opts->state_path, G_FILE_TEST_EXISTS))
		return true;
	st = mh_state_open_repair(opts->state_path, &aside, error);
	if (st == NULL)
		return false;
	mh_state_close(st);
	if (aside != NULL)
		mh_log(MH_LOG_WARN,
		       "the state database %s was damaged: it is kept as %s, and a new one is built "
		       "from what the destination holds (its messages are found by fingerprint, "
		       "none is copied again)",
		       opts->state_path, aside);
	return true;
}

bool
mh_sync_run(const struct mh_sync_options *opts, mh_sync_store_factory *factory, void *fctx,
            struct mh_sync_progress *progress, struct mh_sync_result **result_r, GError **error)
{
	struct engine e = {.own = *opts, .factory = factory, .fctx = fctx, .progress = progress};
	struct mh_sync_lock *pair_lock = NULL, *dst_lock = NULL;
	struct side src = {0}, dst = {0};
	g_autoptr(GTimer) timer = g_timer_new();
	bool ok;

	if (!engine_lock(opts, &pair_lock, &dst_lock, error) || !engine_check_state(opts, error)) {
		mh_sync_lock_release(dst_lock);
		mh_sync_lock_release(pair_lock);
		return false;
	}
	src.st = factory(fctx, 1);
	dst.st = factory(fctx, 2);
	e.opts = &e.own;
	e.shared.pace_permille = 1000;
	e.shared.listed = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	g_mutex_init(&e.shared.listed_lock);
	g_mutex_init(&e.lock);
	e.result = g_new0(struct mh_sync_result, 1);
	e.result->folders = g_ptr_array_new_with_free_func((GDestroyNotify)folder_result_free);
	e.result->created = g_ptr_array_new_with_free_func(g_free);
	e.result->deleted_folders = g_ptr_array_new_with_free_func(g_free);
	e.result->wait_list = g_ptr_array_new_with_free_func((GDestroyNotify)wait_free);
	ok = engine_start(&e, &src, &dst, error);
	if (ok)
		sync_progress_measure(progress, e.result->folders, src.st, &src.boxes,
		                      opts->justfolders);
	if (ok && !opts->justfolders) {
		e.work = engine_changed_folders(&e, &src, &dst);
		progress->copy_start = g_get_monotonic_time();
		g_atomic_int_set(&progress->totals_known, 1);
		if (e.work->len > 0) {
			GError *local = NULL;

			/* After engine_start(): the profiles found on connecting set the limits. */
			e.shared.budget = sync_budget_new(e.opts, &local);
			if (local != NULL)
				g_propagate_error(error, local);
			ok = local == NULL && engine_labels(&e, &src, error);
			if (ok)
				engine_run_workers(&e, src.st, dst.st);
			g_clear_pointer(&e.shared.budget, sync_budget_free);
		}
		g_ptr_array_unref(e.work);
	}
	sync_close_both(src.st, dst.st);
	mh_store_free(src.st);
	mh_store_free(dst.st);
	side_clear(&src);
	side_clear(&dst);
	g_hash_table_unref(e.shared.listed);
	g_mutex_clear(&e.shared.listed_lock);
	e.result->seconds = g_timer_elapsed(timer, NULL);
	e.result->interrupted = opts->interrupted != NULL && *opts->interrupted;
	e.result->waits = g_atomic_int_get(&e.shared.waits);
	e.result->gave_up = g_steal_pointer(&e.gave_up);
	g_mutex_clear(&e.lock);
	g_clear_pointer(&e.labels, sync_labels_free);
	g_clear_pointer(&e.plan, mh_plan_free);
	mh_sync_lock_release(dst_lock);
	mh_sync_lock_release(pair_lock);
	if (!ok) {
		mh_sync_result_free(e.result);
		return false;
	}
	*result_r = e.result;
	return true;
}
