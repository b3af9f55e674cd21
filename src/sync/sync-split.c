/* SPDX-License-Identifier: MIT */
/* One big folder's copy over several connection pairs: the messages to copy are cut into
 * contiguous source UID ranges, which the engine's idle workers take, each over its own
 * source and destination connections (the folder selected on both) and its own state
 * connection. Everything else about the folder (listing, matching, flags, deletions,
 * verification) stays with the worker that owns it, which copies ranges too and waits for
 * every range before it goes on. See "Parallel within a folder" in
 * docs/internals/sync-engine.md. */
#include <string.h>

#include "mh-log.h"
#include "sync-private.h"

/* A copy is split when it holds at least SPLIT_MIN_MSGS messages and one connection
 * would need at least SPLIT_MIN_SECONDS for it, as its first range (copied alone, timed)
 * or the pace says: where a server copies thousands of messages a second on one
 * connection, it is busy itself, and more connections into one folder cost it more than
 * they bring (Dovecot: twice the CPU). opts->split_min splits any copy of that many
 * messages at once. See docs/internals/sync-engine.md for the measurements. */
#define SPLIT_MIN_MSGS       2000
#define SPLIT_MIN_SECONDS    300
/* Ranges per worker that may take part: more than one each, so that a worker that comes
 * late (a connection to open, a folder of its own to finish) still finds work, and the
 * last ranges end close together. */
#define SPLIT_RANGES_PER_JOB 4
/* Messages in a range: at least SPLIT_RANGE_MIN (each range ends with a wait for its last
 * APPENDs), at most SPLIT_RANGE_MAX (the copy's own part). */
#define SPLIT_RANGE_MIN      250
#define SPLIT_RANGE_MAX      10000

struct sync_pool {
	const struct mh_sync_options *opts; /* borrowed */
	sync_pool_spawn_cb *spawn;
	void *spawn_ctx;
	GMutex lock;
	GCond ended;    /* a range ended */
	GQueue pending; /* struct split_range *, oldest first */
	unsigned live;  /* workers counted: at most opts->jobs */
	guint64 last_id;
};

/* One folder's copy, shared; it lives on its owner's stack until every range ended. */
struct sync_split {
	guint64 id;
	struct sync_pool *pool;
	struct mh_sync_folder_result *res; /* borrowed; written by the owner only */
	const char *dst_name;              /* borrowed */
	int64_t folder_id;
	const struct mh_store_box *dst_box; /* borrowed: the owner's SELECT */
	const GPtrArray *msgs;              /* borrowed; read only while ranges run */
	uint32_t src_uidvalidity, dst_uidvalidity;
	guint pending; /* its ranges waiting in the pool */
	guint running; /* its ranges being copied by other workers */
	gint stop;     /* atomic; a range failed: the others stop */
	GError *error; /* owned; the first failure */
	uint32_t blame_uid;
	uint64_t blame_size;
	struct mh_sync_folder_result helped; /* what other workers' ranges did */
};

struct split_range {
	struct sync_split *split; /* borrowed */
	GArray *uids;             /* owned; guint32, ascending */
};

static void
split_range_free(struct split_range *r)
{
	g_array_unref(r->uids);
	g_free(r);
}

struct sync_pool *
sync_pool_new(const struct mh_sync_options *opts, sync_pool_spawn_cb *spawn, void *ctx)
{
	struct sync_pool *p = g_new0(struct sync_pool, 1);

	p->opts = opts;
	p->spawn = spawn;
	p->spawn_ctx = ctx;
	g_mutex_init(&p->lock);
	g_cond_init(&p->ended);
	g_queue_init(&p->pending);
	return p;
}

void
sync_pool_free(struct sync_pool *p)
{
	if (p == NULL)
		return;
	g_assert(g_queue_is_empty(&p->pending));
	g_mutex_clear(&p->lock);
	g_cond_clear(&p->ended);
	g_free(p);
}

void
sync_pool_enter(struct sync_pool *p)
{
	g_mutex_lock(&p->lock);
	p->live++;
	g_mutex_unlock(&p->lock);
}

bool
sync_pool_leave(struct sync_pool *p, bool force)
{
	bool leave;

	g_mutex_lock(&p->lock);
	/* Checked under the lock that posting takes: a range posted now either sees this
	 * worker gone (and starts another) or is found here. */
	leave = force || g_queue_is_empty(&p->pending);
	if (leave)
		p->live--;
	g_mutex_unlock(&p->lock);
	return leave;
}

/* --- a part's counters --- */

/* @part counts what one range did, apart from the folder's result that its owner writes. */
static void
split_part_init(struct mh_sync_folder_result *part, const struct mh_sync_folder_result *res)
{
	memset(part, 0, sizeof(*part));
	part->src_name = res->src_name; /* borrowed here, for messages */
	part->dst_name = res->dst_name;
	part->skipped = g_ptr_array_new();
	part->errors = g_ptr_array_new_with_free_func(g_free);
}

/* Moves what @from counted (copies, failures and their reasons, skips) into @to. */
static void
split_merge(struct mh_sync_folder_result *to, struct mh_sync_folder_result *from)
{
	GHashTableIter it;
	gpointer key;

	to->copied += from->copied;
	to->copied_bytes += from->copied_bytes;
	to->failed += from->failed;
	to->fixed_up += from->fixed_up;
	to->quota = to->quota || from->quota;
	to->append_refused = to->append_refused || from->append_refused;
	for (guint i = 0; i < from->errors->len; i++)
		g_ptr_array_add(to->errors, g_steal_pointer(&from->errors->pdata[i]));
	g_ptr_array_set_size(from->errors, 0);
	for (guint i = 0; i < from->skipped->len; i++)
		g_ptr_array_add(to->skipped, from->skipped->pdata[i]);
	g_ptr_array_set_size(from->skipped, 0);
	if (from->refused == NULL)
		return;
	if (to->refused == NULL)
		to->refused = g_hash_table_new(NULL, NULL);
	g_hash_table_iter_init(&it, from->refused);
	while (g_hash_table_iter_next(&it, &key, NULL))
		g_hash_table_add(to->refused, key);
	g_clear_pointer(&from->refused, g_hash_table_unref);
}

static void
split_part_clear(struct mh_sync_folder_result *part)
{
	g_ptr_array_unref(part->errors);
	g_ptr_array_unref(part->skipped);
	g_clear_pointer(&part->refused, g_hash_table_unref);
}

/* --- cutting --- */

static uint64_t
split_size_of(const GPtrArray *msgs, guint32 uid)
{
	const struct sync_msg *m = sync_msgs_find(msgs, msgs->len, uid);

	return m != NULL ? m->size : 0;
}

/* @uids cut into contiguous ranges (GArray *) of about the same count and bytes, about
 * SPLIT_RANGES_PER_JOB for each of @jobs workers, within the range bounds. */
static GPtrArray *
split_cut(const GPtrArray *msgs, const GArray *uids, unsigned jobs)
{
	GPtrArray *ranges = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
	guint want = jobs * SPLIT_RANGES_PER_JOB;
	guint each = CLAMP((uids->len + want - 1) / want, SPLIT_RANGE_MIN, SPLIT_RANGE_MAX);
	GArray *cur = NULL;
	uint64_t total = 0, cur_bytes = 0;
	double bytes_each;

	for (guint i = 0; i < uids->len; i++)
		total += split_size_of(msgs, g_array_index(uids, guint32, i));
	/* The bytes a range of @each messages holds on average: a run of large messages
	 * makes shorter ranges. */
	bytes_each = MAX(1.0, (double)total * each / uids->len);
	for (guint i = 0; i < uids->len; i++) {
		guint32 uid = g_array_index(uids, guint32, i);

		if (cur == NULL) {
			cur = g_array_sized_new(false, false, sizeof(guint32), each);
			g_ptr_array_add(ranges, cur);
			cur_bytes = 0;
		}
		g_array_append_val(cur, uid);
		cur_bytes += split_size_of(msgs, uid);
		if (cur->len >= each || (double)cur_bytes >= bytes_each)
			cur = NULL;
	}
	return ranges;
}

/* --- the shared copy --- */

/* A range of @s failed with @error (taken): the first failure is the folder's; the other
 * ranges stop, and those not begun never are. */
static void
split_fail_locked(struct sync_split *s, GError *error, uint32_t blame_uid, uint64_t blame_size)
{
	struct sync_pool *p = s->pool;

	if (s->error == NULL) {
		s->error = error;
		s->blame_uid = blame_uid;
		s->blame_size = blame_size;
	} else {
		g_error_free(error);
	}
	g_atomic_int_set(&s->stop, 1);
	for (GList *l = p->pending.head, *next; l != NULL; l = next) {
		struct split_range *r = l->data;

		next = l->next;
		if (r->split != s)
			continue;
		g_queue_delete_link(&p->pending, l);
		split_range_free(r);
		s->pending--;
	}
}

/* The next range of @s nobody took yet (the owner copies it itself), or NULL. */
static struct split_range *
split_take_own(struct sync_split *s)
{
	struct sync_pool *p = s->pool;
	struct split_range *r = NULL;

	g_mutex_lock(&p->lock);
	for (GList *l = p->pending.head; l != NULL && !g_atomic_int_get(&s->stop); l = l->next) {
		if (((struct split_range *)l->data)->split != s)
			continue;
		r = l->data;
		g_queue_delete_link(&p->pending, l);
		s->pending--;
		break;
	}
	g_mutex_unlock(&p->lock);
	return r;
}

/* Posts ranges 1.. of @ranges for other workers, and starts as many more workers as
 * opts->jobs allows (one per range at most). */
static void
split_post(struct sync_split *s, GPtrArray *ranges, guint n)
{
	struct sync_pool *p = s->pool;
	unsigned spawn = 0, jobs = p->opts->jobs, live;

	g_mutex_lock(&p->lock);
	s->id = ++p->last_id;
	for (guint i = 1; i < ranges->len; i++) {
		struct split_range *r = g_new0(struct split_range, 1);

		r->split = s;
		r->uids = g_array_ref(ranges->pdata[i]);
		g_queue_push_tail(&p->pending, r);
	}
	s->pending = ranges->len - 1;
	if (p->live < jobs)
		spawn = MIN(jobs - p->live, s->pending);
	p->live += spawn;
	live = p->live;
	g_mutex_unlock(&p->lock);
	mh_log(MH_LOG_INFO,
	       "%s: %u messages to copy, in %u UID ranges shared by up to %u connection pairs "
	       "(%u working now)",
	       s->res->src_name, n, ranges->len, jobs, live);
	for (unsigned i = 0; i < spawn; i++)
		p->spawn(p->spawn_ctx);
}

static bool
split_run(struct sync_pool *p, struct sync_copy *c, GPtrArray *ranges, guint uids_len,
          GError **error)
{
	struct sync_split s = {
		.pool = p,
		.res = c->res,
		.dst_name = c->dst_name,
		.folder_id = c->folder_id,
		.dst_box = c->dst_box,
		.msgs = c->msgs,
		.src_uidvalidity = c->src_uidvalidity,
		.dst_uidvalidity = c->dst_box->uidvalidity,
	};
	GArray *range = ranges->pdata[0];
	int64_t own = (int64_t)c->res->copied + range->len;
	struct split_range *next = NULL;

	split_part_init(&s.helped, c->res);
	split_post(&s, ranges, uids_len);
	c->stop = &s.stop;
	sync_progress_slot_todo(c->w, own);
	for (;;) {
		GError *local = NULL;

		if (!sync_copy_uids(c, range, &local)) {
			g_mutex_lock(&p->lock);
			split_fail_locked(&s, local, c->res->pass_first_uid,
			                  c->res->pass_first_size);
			g_mutex_unlock(&p->lock);
		}
		g_clear_pointer(&next, split_range_free);
		next = split_take_own(&s);
		if (next == NULL)
			break;
		range = next->uids;
		own += range->len;
		sync_progress_slot_todo(c->w, own);
	}
	g_mutex_lock(&p->lock);
	while (s.running > 0 || s.pending > 0)
		g_cond_wait(&p->ended, &p->lock);
	g_mutex_unlock(&p->lock);
	c->stop = NULL;
	split_merge(c->res, &s.helped);
	split_part_clear(&s.helped);
	if (s.error == NULL)
		return true;
	/* The message on its way where the folder failed, not where it stopped with it. */
	c->res->pass_first_uid = s.blame_uid;
	c->res->pass_first_size = s.blame_size;
	g_propagate_error(error, s.error);
	return false;
}

static void
split_count(const GPtrArray *msgs, GPtrArray *ranges, guint from, guint *msgs_r, uint64_t *bytes_r)
{
	*msgs_r = 0;
	*bytes_r = 0;
	for (guint i = from; i < ranges->len; i++) {
		const GArray *r = ranges->pdata[i];

		*msgs_r += r->len;
		for (guint k = 0; k < r->len; k++)
			*bytes_r += split_size_of(msgs, g_array_index(r, guint32, k));
	}
}

/* Whether one connection would need SPLIT_MIN_SECONDS or more for ranges @from.. of
 * @ranges, at the pace set (@secs 0) or at the rate its first range was copied in @secs. */
static bool
split_worth(struct sync_copy *c, GPtrArray *ranges, guint from, double secs)
{
	const struct mh_sync_options *o = c->w->opts;
	guint msgs, done_msgs;
	uint64_t bytes, done_bytes;
	double pace, t;

	split_count(c->msgs, ranges, from, &msgs, &bytes);
	if (secs <= 0) {
		pace = o->pace * g_atomic_int_get(&c->w->shared->pace_permille) / 1000.0;
		t = pace > 0 ? msgs / pace : 0;
	} else {
		/* By count and by bytes, half each: small messages cost per command, large
		 * ones per byte. */
		split_count(c->msgs, ranges, 0, &done_msgs, &done_bytes);
		done_msgs -= msgs;
		done_bytes -= bytes;
		t = secs *
		    ((double)msgs / MAX(done_msgs, 1u) +
		     (done_bytes > 0 ? (double)bytes / (double)done_bytes
		                     : (double)msgs / MAX(done_msgs, 1u))) /
		    2;
	}
	mh_log_debug(MH_LOG_CAT_SYNC,
	             "%s: one connection would copy %u more messages in about %.0f s",
	             c->res->src_name, msgs, t);
	return t >= SPLIT_MIN_SECONDS;
}

bool
sync_split_copy(struct sync_copy *c, GArray *uids, GError **error)
{
	const struct mh_sync_options *o = c->w->opts;
	struct sync_pool *p = c->w->shared != NULL ? c->w->shared->pool : NULL;
	unsigned min = o->split_min > 0 ? o->split_min : SPLIT_MIN_MSGS;
	g_autoptr(GPtrArray) ranges = NULL;
	guint probe;
	gint64 t0;

	if (p == NULL || o->jobs < 2 || uids->len < MAX(min, 2u))
		return sync_copy_uids(c, uids, error);
	ranges = split_cut(c->msgs, uids, o->jobs);
	if (ranges->len < 2)
		return sync_copy_uids(c, uids, error);
	if (o->split_min > 0 || split_worth(c, ranges, 0, 0))
		return split_run(p, c, ranges, uids->len, error);
	/* How fast one connection copies here, the first range tells. */
	probe = ((GArray *)ranges->pdata[0])->len;
	t0 = g_get_monotonic_time();
	if (!sync_copy_uids(c, ranges->pdata[0], error))
		return false;
	if ((o->interrupted == NULL || !*o->interrupted) &&
	    split_worth(c, ranges, 1, (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC)) {
		g_ptr_array_remove_index(ranges, 0);
		if (ranges->len < 2)
			return sync_copy_uids(c, ranges->pdata[0], error);
		return split_run(p, c, ranges, uids->len - probe, error);
	}
	/* The rest on this connection: what is left of @uids, without a copy of it. */
	g_clear_pointer(&ranges, g_ptr_array_unref);
	g_array_remove_range(uids, 0, probe);
	return sync_copy_uids(c, uids, error);
}

/* --- another worker's turn --- */

/* Selects the split's folders on @w's connections, unless they are from its last range. */
static bool
split_select(struct sync_worker *w, const struct sync_split *s, GError **error)
{
	struct mh_store_box sbox = {0}, dbox = {0};
	bool ok;

	if (w->split_id == s->id)
		return true;
	w->split_id = 0;
	ok = w->src->ops->select(w->src, s->res->src_name, false, &sbox, error) &&
	     w->dst->ops->select(w->dst, s->dst_name, true, &dbox, error);
	if (ok &&
	    (sbox.uidvalidity != s->src_uidvalidity || dbox.uidvalidity != s->dst_uidvalidity)) {
		/* The UIDs of the listing name other messages now: the folder is listed
		 * again (a RECONNECT error makes its owner run it anew). */
		g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_RECONNECT,
		            "%s: UIDVALIDITY changed during the copy; looking at the folder again",
		            s->res->src_name);
		ok = false;
	}
	mh_store_box_clear(&sbox);
	mh_store_box_clear(&dbox);
	if (ok)
		w->split_id = s->id;
	return ok;
}

bool
sync_split_help(struct sync_pool *p, struct sync_worker *w)
{
	struct mh_sync_folder_result part;
	struct split_range *r;
	struct sync_split *s;
	GError *error = NULL;
	bool ok;

	if (p == NULL)
		return false;
	g_mutex_lock(&p->lock);
	r = g_queue_pop_head(&p->pending);
	if (r != NULL) {
		r->split->pending--;
		r->split->running++;
	}
	g_mutex_unlock(&p->lock);
	if (r == NULL)
		return false;
	s = r->split;
	split_part_init(&part, s->res);
	sync_progress_worker(w, s->res);
	sync_progress_slot_todo(w, r->uids->len);
	mh_log_debug(MH_LOG_CAT_SYNC, "%s: copying UIDs %u:%u (%u messages) on another connection",
	             s->res->src_name, g_array_index(r->uids, guint32, 0),
	             g_array_index(r->uids, guint32, r->uids->len - 1), r->uids->len);
	ok = split_select(w, s, &error);
	if (ok) {
		struct sync_copy c = {
			.w = w,
			.res = &part,
			.dst_name = s->dst_name,
			.folder_id = s->folder_id,
			.dst_box = s->dst_box,
			.msgs = s->msgs,
			.src_uidvalidity = s->src_uidvalidity,
			.stop = &s->stop,
		};

		ok = sync_copy_uids(&c, r->uids, &error);
	}
	sync_progress_worker(w, NULL);
	if (!ok && error->domain == MH_IMAP_ERROR &&
	    (error->code == MH_IMAP_ERROR_BYE || error->code == MH_IMAP_ERROR_DISCONNECTED)) {
		struct mh_sync_verdict v;
		GError *refusal = sync_error_last_refusal(w->opts, w->dst, &v);

		/* The refusal just before the drop says why and how long: the owner waits as
		 * it says, as for a drop on its own connections. */
		if (refusal == NULL)
			refusal = sync_error_last_refusal(w->opts, w->src, &v);
		if (refusal != NULL) {
			g_error_free(error);
			error = refusal;
		}
	}
	if (!ok) {
		w->stale = true;
		w->split_id = 0;
	}
	g_mutex_lock(&p->lock);
	split_merge(&s->helped, &part);
	if (!ok)
		split_fail_locked(s, error, part.pass_first_uid, part.pass_first_size);
	s->running--;
	g_cond_broadcast(&p->ended);
	g_mutex_unlock(&p->lock);
	/* @s may be gone from here on: its owner goes on once running and pending are 0. */
	split_part_clear(&part);
	split_range_free(r);
	return true;
}
