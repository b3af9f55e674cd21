/* SPDX-License-Identifier: MIT */
/* One folder pair: decide what the destination lacks (by the state store's UID map, then
 * by fingerprint for anything unaccounted for), copy it, carry flag changes over (source
 * wins), apply the deletion modes and measure both sides. An unchanged folder (same
 * UIDVALIDITY, UIDNEXT, message count and, with CONDSTORE, HIGHESTMODSEQ on both sides
 * since the last run) is skipped without fetching anything. */
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "mh-log.h"
#include "sync-fingerprint.h"
#include "sync-folder-private.h"
#include "sync-private.h"

/* --- small helpers --- */

void
sync_folder_add_skip(struct mh_sync_folder_result *res, const struct sync_msg *m, const char *why)
{
	struct mh_sync_skip *s = g_new0(struct mh_sync_skip, 1);

	s->uid = m->uid;
	s->size = m->size;
	s->reason = g_strdup(why);
	g_ptr_array_add(res->skipped, s);
}

void
sync_folder_note_labelled(struct mh_sync_folder_result *res, uint32_t uid, const char *owner)
{
	struct mh_sync_labelled *l = g_new0(struct mh_sync_labelled, 1);

	l->uid = uid;
	l->copied_under = g_strdup(owner);
	if (res->labelled_msgs == NULL)
		res->labelled_msgs = g_ptr_array_new();
	g_ptr_array_add(res->labelled_msgs, l);
}

static bool
folder_error(struct sync_worker *w, struct mh_sync_folder_result *res, GError *error,
             GError **fatal)
{
	if (sync_error_is_fatal(error)) {
		g_propagate_prefixed_error(fatal, error, "folder %s: ", res->src_name);
		return false;
	}
	g_ptr_array_add(res->errors, g_strdup(error->message));
	mh_log(MH_LOG_WARN, "folder %s: %s", res->src_name, error->message);
	g_error_free(error);
	res->failed++;
	sync_progress_failed(w->progress, w->opts);
	return true;
}

static bool
folder_unchanged(const struct mh_state_folder *sf, const struct mh_store_box *s,
                 const struct mh_store_box *d)
{
	return sf->src_uidvalidity == s->uidvalidity && sf->src_uidnext == s->uidnext &&
	       sf->src_exists == s->exists && sf->src_highestmodseq == s->highestmodseq &&
	       s->highestmodseq != 0 && sf->dst_uidvalidity == d->uidvalidity &&
	       sf->dst_uidnext == d->uidnext && sf->dst_exists == d->exists &&
	       sf->dst_highestmodseq == d->highestmodseq;
}

static int64_t
days_ago(const char *date)
{
	g_autoptr(GDateTime) dt = date != NULL ? mh_imap_parse_date_time(date) : NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();

	if (dt == NULL)
		return -1;
	return g_date_time_difference(now, dt) / G_TIME_SPAN_DAY;
}

/* Marks the messages to copy among @msgs not in @map, honouring the filters. */
static void
folder_select_new(struct sync_worker *w, struct mh_sync_folder_result *res, GPtrArray *msgs,
                  struct sync_map *map, const GArray *search_hits)
{
	const struct mh_sync_options *o = w->opts;

	for (guint i = 0; i < msgs->len; i++) {
		struct sync_msg *m = msgs->pdata[i];
		char date[SYNC_DATE_LEN];
		int64_t age;

		m->copy = false;
		if (sync_map_find(map, m->uid) != NULL)
			continue;
		if (res->refused != NULL &&
		    g_hash_table_contains(res->refused, GUINT_TO_POINTER(m->uid)))
			continue; /* refused earlier in this run, and reported */
		if (o->skip_deleted && m->flags != 0 &&
		    strstr(sync_msg_flags(m), "\\Deleted") != NULL) {
			sync_folder_add_skip(res, m, "flagged \\Deleted on the source");
			continue;
		}
		if (o->maxsize > 0 && m->size > o->maxsize) {
			sync_folder_add_skip(res, m, "larger than --maxsize");
			continue;
		}
		if (o->minsize > 0 && m->size < o->minsize) {
			sync_folder_add_skip(res, m, "smaller than --minsize");
			continue;
		}
		age = (o->maxage >= 0 || o->minage >= 0) ? days_ago(sync_msg_date(m, date)) : -1;
		if (o->maxage >= 0 && age > o->maxage) {
			sync_folder_add_skip(res, m, "older than --maxage");
			continue;
		}
		if (o->minage >= 0 && age >= 0 && age < o->minage) {
			sync_folder_add_skip(res, m, "newer than --minage");
			continue;
		}
		if (search_hits != NULL && !sync_uids_has(search_hits, m->uid)) {
			sync_folder_add_skip(res, m, "not matched by --search");
			continue;
		}
		m->copy = true;
	}
}

/* --- measuring --- */

/* Counts and sizes of the destination folder into @res and @box_r; where the sizes had to
 * be fetched, *uids_r (caller frees) holds the folder's UIDs, else NULL. */
static bool
folder_measure_dst(struct sync_worker *w, struct mh_sync_folder_result *res, bool exists,
                   struct mh_store_box *box_r, GArray **uids_r, GError **error)
{
	g_autoptr(GArray) uids = NULL;
	g_autoptr(GPtrArray) msgs = NULL;

	*uids_r = NULL;
	memset(box_r, 0, sizeof(*box_r));
	if (!exists)
		return true;
	if (!w->dst->ops->status(w->dst, res->dst_name, box_r, error))
		return false;
	res->dst_count = box_r->exists;
	if (box_r->size_known) {
		res->dst_bytes = box_r->size;
		return true;
	}
	if (!w->dst->ops->search(w->dst, "ALL", &uids, error))
		return false;
	msgs = sync_list_uids(w->dst, uids, MH_STORE_META_SIZE, error);
	if (msgs == NULL)
		return false;
	for (guint i = 0; i < msgs->len; i++)
		res->dst_bytes += ((struct sync_msg *)msgs->pdata[i])->size;
	*uids_r = g_steal_pointer(&uids);
	return true;
}

/* --- the folder --- */

/* How long a server may take to store an APPEND whose literal it had whole when the
 * client went away (killed, or its connection dropped): Dovecot and Cyrus finish such a
 * command after the client is gone, some milliseconds to a second later on an idle
 * machine; a MULTIAPPEND of 100 on a 2-core machine busy with other work was stored more
 * than 2.3 s after a kill (and copied again by the rerun that had waited 2 s). */
#define FOLDER_SETTLE_US (5 * G_USEC_PER_SEC)

static void
folder_run_clear(struct folder_run *fr)
{
	mh_store_box_clear(&fr->sbox);
	mh_store_box_clear(&fr->dbox);
	mh_store_box_clear(&fr->sstat);
	mh_store_box_clear(&fr->dstat);
	mh_state_folder_clear(&fr->sf);
	g_clear_pointer(&fr->src_uids, g_array_unref);
	g_clear_pointer(&fr->msgs, g_ptr_array_unref);
	g_clear_pointer(&fr->map, sync_map_free);
	g_clear_pointer(&fr->dst_uids, g_array_unref);
	g_clear_pointer(&fr->new_uids, g_array_unref);
}

static void
box_copy_counters(struct mh_store_box *to, const struct mh_store_box *from)
{
	*to = *from;
	to->permanentflags = NULL;
}

/* Reads both sides' counters and the state; true with res->unchanged when nothing to do. */
static bool
folder_open(struct folder_run *fr, GError **error)
{
	struct sync_worker *w = fr->w;
	struct mh_sync_folder_result *res = fr->res;
	GError *local = NULL;

	if (fr->pre_src != NULL)
		box_copy_counters(&fr->sstat, fr->pre_src);
	else if (!w->src->ops->status(w->src, res->src_name, &fr->sstat, error))
		return false;
	if (fr->pre_dst != NULL) {
		box_copy_counters(&fr->dstat, fr->pre_dst);
		fr->dst_exists = true;
	} else {
		fr->dst_exists = w->dst->ops->status(w->dst, res->dst_name, &fr->dstat, &local);
	}
	if (!fr->dst_exists) {
		if (sync_error_is_fatal(local) || (!w->opts->dry && !w->opts->verify_only)) {
			g_propagate_error(error, local);
			return false;
		}
		g_clear_error(&local);
	}
	fr->found =
		w->state != NULL ? mh_state_folder_get(w->state, res->src_name, &fr->sf, error) : 0;
	if (fr->found < 0)
		return false;
	if (fr->found == 1 && !w->opts->verify_only && !w->opts->delete1 && !w->opts->delete2 &&
	    !w->opts->expunge1 && folder_unchanged(&fr->sf, &fr->sstat, &fr->dstat))
		res->unchanged = true;
	return true;
}

/* The table's figures for a folder unchanged since its last complete run (which left
 * nothing missing): the listing's counters, and the bytes that run recorded, so that no
 * message row is read. A folder recorded before the bytes were kept has its rows
 * counted by the state store instead. */
static void
folder_fill_unchanged(struct folder_run *fr)
{
	struct mh_sync_folder_result *res = fr->res;
	uint64_t rows = fr->sstat.exists, bytes = 0;

	if (fr->sf.src_bytes < 0 || fr->sf.dst_bytes < 0)
		(void)mh_state_msgs_count(fr->w->state, fr->sf.id, &rows, &bytes, NULL);
	res->src_count = fr->sstat.exists;
	res->src_bytes = fr->sstat.size_known    ? fr->sstat.size
	                 : fr->sf.src_bytes >= 0 ? (uint64_t)fr->sf.src_bytes
	                                         : bytes;
	res->dst_count = fr->dstat.exists;
	res->dst_bytes = fr->dstat.size_known    ? fr->dstat.size
	                 : fr->sf.dst_bytes >= 0 ? (uint64_t)fr->sf.dst_bytes
	                                         : bytes;
	if (rows < fr->sstat.exists)
		res->missing = fr->sstat.exists - (uint32_t)rows;
}

/* One side's step of folder_both(), for sync_both(). */
struct folder_side {
	struct folder_run *fr;
	bool (*fn)(struct folder_run *fr, GError **error);
};

static bool
folder_side_run(void *ctx, GError **error)
{
	struct folder_side *side = ctx;

	return side->fn(side->fr, error);
}

/* Runs @other on the destination's connection in a thread of its own while @mine runs
 * here (sync_both()). */
static bool
folder_both(struct folder_run *fr, bool (*mine)(struct folder_run *fr, GError **error),
            bool (*other)(struct folder_run *fr, GError **error), GError **error)
{
	struct folder_side a = {.fr = fr, .fn = mine}, b = {.fr = fr, .fn = other};

	return sync_both(folder_side_run, &a, folder_side_run, &b, error);
}

static bool
folder_select_src(struct folder_run *fr, GError **error)
{
	const struct mh_sync_options *o = fr->w->opts;

	return fr->w->src->ops->select(fr->w->src, fr->res->src_name,
	                               (o->delete1 || o->expunge1) && !o->dry, &fr->sbox, error);
}

/* --expunge1: the source messages already flagged \Deleted (by the user's mail program)
 * are expunged before the folder is listed, as imapsync does; they are counted as deleted
 * on the source, and a dry run only counts them. */
static bool
folder_expunge_src(struct folder_run *fr, GError **error)
{
	struct sync_worker *w = fr->w;
	struct mh_sync_folder_result *res = fr->res;
	g_autoptr(GArray) uids = NULL;
	guint i = 0;

	if (!w->src->ops->search(w->src, "DELETED", &uids, error))
		return false;
	if (uids->len == 0)
		return true;
	res->deleted_src += uids->len;
	mh_log(MH_LOG_INFO, "%s: %s %u source messages flagged \\Deleted (--expunge1)",
	       res->src_name, w->opts->dry ? "would expunge" : "expunging", uids->len);
	while (!w->opts->dry && i < uids->len) {
		g_autofree char *set =
			mh_store_uidset_runs(uids, i, UIDSET_MAX, UIDSET_MAX_UIDS, &i);

		if (!w->src->ops->delete_msgs(w->src, set, error))
			return false;
	}
	if (w->opts->dry)
		return true;
	mh_store_box_clear(&fr->sstat);
	return w->src->ops->status(w->src, res->src_name, &fr->sstat, error);
}

static bool
folder_select_dst(struct folder_run *fr, GError **error)
{
	const struct mh_sync_options *o = fr->w->opts;

	return !fr->dst_exists || o->verify_only ||
	       fr->w->dst->ops->select(fr->w->dst, fr->res->dst_name, !o->dry, &fr->dbox, error);
}

/* Selects both folders and checks UIDVALIDITY against the state. */
static bool
folder_select(struct folder_run *fr, GError **error)
{
	struct sync_worker *w = fr->w;
	struct mh_sync_folder_result *res = fr->res;

	if (!folder_both(fr, folder_select_src, folder_select_dst, error))
		return false;
	if (fr->found == 1 && (fr->sf.src_uidvalidity != fr->sbox.uidvalidity ||
	                       fr->sf.dst_uidvalidity != fr->dbox.uidvalidity)) {
		mh_log(MH_LOG_WARN,
		       "%s: UIDVALIDITY changed since the last run; matching messages "
		       "by their headers instead",
		       res->src_name);
		if (!mh_state_folder_forget_messages(w->state, fr->sf.id, error))
			return false;
	}
	return true;
}

static bool
folder_record_state(struct folder_run *fr, bool final, GError **error)
{
	struct mh_state_folder *sf = &fr->sf;

	if (fr->w->state == NULL)
		return true;
	if (sf->src_name == NULL)
		sf->src_name = g_strdup(fr->res->src_name);
	g_free(sf->dst_name);
	sf->dst_name = g_strdup(fr->res->dst_name);
	if (final) {
		sf->src_uidvalidity = fr->sstat.uidvalidity;
		sf->src_uidnext = fr->sstat.uidnext;
		sf->src_exists = fr->sstat.exists;
		sf->src_highestmodseq = fr->sstat.highestmodseq;
		sf->dst_uidvalidity = fr->dstat.uidvalidity;
		sf->dst_uidnext = fr->dstat.uidnext;
		sf->dst_exists = fr->dstat.exists;
		sf->dst_highestmodseq = fr->dstat.highestmodseq;
		sf->last_sync = g_get_real_time() / G_USEC_PER_SEC;
		sf->src_bytes = (int64_t)fr->src_bytes_recorded;
		sf->dst_bytes = (int64_t)fr->res->dst_bytes;
	} else {
		sf->src_uidvalidity = fr->sbox.uidvalidity;
		sf->dst_uidvalidity = fr->dbox.uidvalidity;
	}
	return mh_state_folder_put(fr->w->state, sf, error);
}

/* Loads the UID map, dropping entries whose messages left either side. */
static bool
folder_load_map(struct folder_run *fr, GError **error)
{
	struct sync_worker *w = fr->w;
	g_autoptr(GArray) stale = g_array_new(false, false, sizeof(guint32));
	const GArray *recs;
	int narrow = fr->narrow ? sync_folder_narrow_map(fr, error) : 0;

	if (narrow != 0)
		return narrow > 0;
	fr->map = sync_map_new();
	if (w->state != NULL && !sync_map_load(fr->map, w->state, fr->sf.id, 0, true, error))
		return false;
	recs = sync_map_all(fr->map);
	for (guint i = 0, at = 0; i < recs->len; i++) {
		const struct sync_rec *e = &g_array_index(recs, struct sync_rec, i);
		bool dst_gone = e->dst_uid != 0 && !sync_uids_has_at(fr->dst_uids, e->dst_uid, &at);

		/* Only a vanished copy ends a record. A record whose source message went keeps
		 * its copy accounted for: otherwise a later identical message on the source
		 * would be "found" in it (fingerprints match), and --delete1 would then remove
		 * the only original of a duplicate. --delete2 deletes such copies. */
		if (dst_gone)
			g_array_append_val(stale, e->src_uid);
	}
	if (stale->len > 0 && !sync_state_begin(w, error))
		return false;
	sync_map_drop(fr->map, stale);
	for (guint i = 0; i < stale->len; i++) {
		guint32 uid = g_array_index(stale, guint32, i);

		if (w->state != NULL && !mh_state_msg_delete(w->state, fr->sf.id, uid, error)) {
			sync_state_end(w, false, NULL);
			return false;
		}
	}
	return stale->len == 0 || sync_state_end(w, true, error);
}

/* The destination UIDs the records map to, sorted (a new array). */
static GArray *
folder_mapped_dst(struct folder_run *fr)
{
	const GArray *recs = sync_map_all(fr->map);
	GArray *known = g_array_sized_new(false, false, sizeof(guint32), recs->len);

	for (guint i = 0; i < recs->len; i++)
		g_array_append_val(known, g_array_index(recs, struct sync_rec, i).dst_uid);
	sync_uids_sort(known);
	return known;
}

static GArray *
folder_unknown_dst(struct folder_run *fr)
{
	g_autoptr(GArray) known = NULL;
	GArray *unknown = g_array_new(false, false, sizeof(guint32));

	if (fr->narrow)
		return unknown; /* every destination message is a recorded copy */
	known = folder_mapped_dst(fr);
	for (guint i = 0, at = 0; i < fr->dst_uids->len; i++) {
		guint32 uid = g_array_index(fr->dst_uids, guint32, i);

		if (!sync_uids_has_at(known, uid, &at))
			g_array_append_val(unknown, uid);
	}
	return unknown;
}

/* A pass that ended with copies in flight (its mark is still in the state) may have left
 * messages the server stores only now: wait for it before selecting (and so listing) the
 * destination, so that they are found by fingerprint instead of copied twice. Only a
 * folder the state knows (fr->found) can carry the mark. */
static bool
folder_settle(struct folder_run *fr, GError **error)
{
	struct sync_worker *w = fr->w;
	int64_t left;
	int found;

	if (w->state == NULL || w->opts->dry || fr->found != 1)
		return true;
	found = mh_state_copying_get(w->state, fr->sf.id, NULL, error);
	if (found <= 0)
		return found == 0;
	fr->in_doubt = true;
	/* After a pass of this run, the wait before the reconnect counts: settle only for
	 * what is left. After another run, it ended at an unknown time: the whole of it. */
	left = FOLDER_SETTLE_US;
	/* --max-backoff bounds every wait of a run, this one too. */
	if (w->opts->max_backoff > 0)
		left = MIN(left, (int64_t)w->opts->max_backoff * G_USEC_PER_SEC);
	if (fr->res->in_flight_at != 0)
		left -= g_get_monotonic_time() - fr->res->in_flight_at;
	if (left <= 0)
		return true;
	mh_log(MH_LOG_INFO,
	       "%s: the last pass ended with copies in flight; waiting %.1f s for the destination "
	       "to store them before looking for them",
	       fr->res->src_name, (double)left / G_USEC_PER_SEC);
	g_usleep((gulong)left);
	return true;
}

static bool
folder_copy(struct folder_run *fr, GError **error)
{
	struct sync_worker *w = fr->w;
	struct mh_sync_folder_result *res = fr->res;
	struct sync_copy c = {
		.w = w,
		.res = res,
		.dst_name = res->dst_name,
		.folder_id = fr->sf.id,
		.dst_box = &fr->dbox,
		.src_uidvalidity = fr->sbox.uidvalidity,
		.msgs = fr->msgs,
	};
	gint64 n = 0, bytes = 0;

	for (guint i = 0; i < fr->msgs->len; i++) {
		struct sync_msg *m = fr->msgs->pdata[i];

		if (m->copy) {
			if (n == 0)
				fr->copy_from = m->uid;
			n++;
			bytes += (gint64)m->size;
		}
	}
	sync_progress_plan(w, res, n, bytes);
	if (w->opts->dry) {
		res->copied += (uint64_t)n;
		res->copied_bytes += (uint64_t)bytes;
		for (guint i = 0; i < fr->msgs->len; i++) {
			const struct sync_msg *m = fr->msgs->pdata[i];

			if (m->copy)
				sync_progress_copied(w, m->size);
		}
		return true;
	}
	/* The mark stays when the copy ends early (a kill, a drop): the next pass settles. */
	if (w->state != NULL && n > 0 && !mh_state_copying_set(w->state, fr->sf.id, true, error))
		return false;
	if (!sync_copy_messages(&c, fr->msgs, error)) {
		res->in_flight_at = g_get_monotonic_time();
		return false;
	}
	return w->state == NULL || (n == 0 && !fr->in_doubt) ||
	       mh_state_copying_set(w->state, fr->sf.id, false, error);
}

/* Gmail labels: a new message that another folder owns is not copied here but recorded
 * as copied under that label (dst_uid 0, a "label:" fingerprint), so reruns and the
 * missing count know it. With --gmail-labels keywords, every listed message carries its
 * other labels as keywords (also when flags are compared on later runs). */
static bool
folder_apply_labels(struct folder_run *fr, GError **error)
{
	struct sync_worker *w = fr->w;
	const struct sync_labels *sl = w->shared != NULL ? w->shared->labels : NULL;
	struct mh_sync_folder_result *res = fr->res;
	g_autoptr(GArray) records = g_array_new(false, false, sizeof(struct sync_rec));
	g_autoptr(GPtrArray) label_fps = g_ptr_array_new_with_free_func(g_free);
	bool ok = true;

	if (sl == NULL)
		return true;
	for (guint i = 0; i < fr->msgs->len; i++) {
		struct sync_msg *m = fr->msgs->pdata[i];
		const char *owner = NULL;
		char *record = NULL;
		struct sync_rec r = {0};

		if (w->opts->labels == MH_SYNC_LABELS_KEYWORDS) {
			g_autoptr(GPtrArray) kw =
				sync_labels_others(sl, res->src_name, m->uid, true);

			for (guint k = 0; k < kw->len; k++) {
				const char *had = sync_msg_flags(m);
				g_autofree char *more = g_strconcat(had != NULL ? had : "",
				                                    had != NULL && *had ? " " : "",
				                                    (char *)kw->pdata[k], NULL);

				m->flags = g_quark_from_string(more);
			}
		}
		if (!m->copy || sync_labels_owns(sl, res->src_name, m->uid, &owner, &record))
			continue;
		m->copy = false;
		res->labelled++;
		sync_folder_note_labelled(res, m->uid, owner);
		mh_log_debug(MH_LOG_CAT_SYNC, "%s: UID %u is copied under '%s'", res->src_name,
		             m->uid, owner);
		r.src_uid = m->uid;
		r.flags = g_intern_static_string("");
		r.size = m->size;
		g_array_append_val(records, r);
		g_ptr_array_add(label_fps, record);
	}
	if (w->state == NULL || records->len == 0)
		return true;
	if (!sync_state_begin(w, error))
		return false;
	for (guint i = 0; ok && i < records->len; i++) {
		const struct sync_rec *r = &g_array_index(records, struct sync_rec, i);
		struct mh_state_msg e = {
			.src_uid = r->src_uid,
			.flags = (char *)r->flags,
			.fingerprint = label_fps->pdata[i],
			.size = r->size,
		};

		ok = mh_state_msg_put(w->state, fr->sf.id, &e, error);
		if (ok)
			sync_map_put(fr->map, r);
	}
	return sync_state_end(w, ok, error) && ok;
}

/* A listing this long is worth handing its memory back when it goes. */
#define FOLDER_RELEASE_MSGS 10000

/* Frees the listing. Its blocks were scattered through the heap, whose pages stay with the
 * process when they are freed, and the records read back next are one big array that
 * comes on top of them: at 200,000 messages that made the end of a first copy its peak
 * (4.7 MB more). glibc's malloc_trim() hands the free pages back. */
static void
folder_free_listing(struct folder_run *fr)
{
	bool big = fr->msgs != NULL && fr->msgs->len >= FOLDER_RELEASE_MSGS;

	g_clear_pointer(&fr->msgs, g_ptr_array_unref);
#ifdef __GLIBC__
	if (big)
		malloc_trim(0);
#else
	(void)big;
#endif
}

/* Everything after the folders are selected and the source is listed. */
static bool
folder_sync_messages(struct folder_run *fr, GError **error)
{
	struct sync_worker *w = fr->w;
	const struct mh_sync_options *o = w->opts;
	g_autoptr(GArray) hits = NULL;
	g_autoptr(GArray) unknown = NULL;
	struct match_ctx mc = {.w = w,
	                       .res = fr->res,
	                       .msgs = fr->msgs,
	                       .src_uids = fr->src_uids,
	                       .dst_box = &fr->dbox};

	if (!folder_record_state(fr, false, error) || !folder_load_map(fr, error) ||
	    !sync_folder_list_unmapped(fr, error))
		return false;
	mc.folder_id = fr->sf.id;
	mc.map = fr->map;
	mc.dst_taken = g_hash_table_new(NULL, NULL);
	if (o->search != NULL) {
		if (!w->src->ops->search(w->src, o->search, &hits, error))
			goto fail;
		sync_uids_sort(hits);
	}
	folder_select_new(w, fr->res, fr->msgs, fr->map, hits);
	if (!folder_apply_labels(fr, error))
		goto fail;
	unknown = folder_unknown_dst(fr);
	if (!sync_match_unknown(&mc, fr->msgs, unknown, error) || !folder_copy(fr, error))
		goto fail;
	sync_folder_index_source(fr);
	mc.src_uids = fr->src_uids;
	if (!sync_carry_flags(&mc, fr->msgs, error) ||
	    (o->delete2 && !sync_delete_dst(&mc, fr->dst_uids, error)))
		goto fail;
	/* What is left needs the source's counts and the records' UIDs only: on a big
	 * folder the listing is most of the memory held, so it goes, and the records of this
	 * pass's copies are read back (all of them come from UID copy_from on). */
	sync_folder_count_source(fr);
	folder_free_listing(fr);
	mc.msgs = NULL;
	if (w->state != NULL && fr->copy_from != 0 &&
	    !sync_map_load(fr->map, w->state, fr->sf.id, fr->copy_from, false, error))
		goto fail;
	if (o->delete1 && !sync_delete_src(&mc, error))
		goto fail;
	g_hash_table_unref(mc.dst_taken);
	return true;
fail:
	g_hash_table_unref(mc.dst_taken);
	return false;
}

/* The destination folder's UIDs after the copy, when they are known without asking: the
 * UIDs it had when selected, plus the copies' (every UID from the one it predicted next
 * up to the one it predicts now is a copy of ours, so nobody else added a message),
 * and the count it says now is the count of those (so nobody removed one). NULL when
 * that cannot be told (then the caller lists them). */
static GArray *
folder_known_dst(struct folder_run *fr, const struct mh_store_box *now)
{
	const struct mh_sync_options *o = fr->w->opts;
	g_autoptr(GArray) known = NULL;
	const GArray *recs;
	guint64 ours = 0, had = 0;

	if (fr->dst_uids == NULL || fr->map == NULL || o->delete2 || o->delete2duplicates ||
	    o->dry || fr->dbox.uidnext == 0 || now->uidnext < fr->dbox.uidnext ||
	    now->uidvalidity != fr->dbox.uidvalidity)
		return NULL;
	recs = sync_map_all(fr->map);
	known = g_array_sized_new(false, false, sizeof(guint32), fr->dst_uids->len + recs->len);
	g_array_append_vals(known, fr->dst_uids->data, fr->dst_uids->len);
	for (guint i = 0; i < recs->len; i++) {
		uint32_t uid = g_array_index(recs, struct sync_rec, i).dst_uid;

		if (uid == 0)
			return NULL; /* a copy whose UID the server did not say */
		g_array_append_val(known, uid);
	}
	sync_uids_sort(known);
	/* Ours: the mapped UIDs in the new range that the folder did not have. */
	for (guint i = 0; i < fr->dst_uids->len; i++) {
		guint32 uid = g_array_index(fr->dst_uids, guint32, i);

		had += uid >= fr->dbox.uidnext && uid < now->uidnext;
	}
	for (guint i = 0; i < known->len; i++) {
		guint32 uid = g_array_index(known, guint32, i);

		ours += uid >= fr->dbox.uidnext && uid < now->uidnext;
	}
	ours -= had;
	if (ours != (guint64)(now->uidnext - fr->dbox.uidnext) || known->len != now->exists)
		return NULL;
	return g_steal_pointer(&known);
}

/* Whether the counters say both folders are empty, with no copy of an earlier pass still
 * in doubt: then there is nothing to list, copy, carry or delete in any mode. */
static bool
folder_both_empty(struct folder_run *fr)
{
	const struct mh_sync_options *o = fr->w->opts;

	if (!fr->dst_exists || o->verify_only || fr->sstat.exists != 0 || fr->dstat.exists != 0 ||
	    fr->sstat.uidvalidity == 0 || fr->dstat.uidvalidity == 0)
		return false;
	return fr->w->state == NULL || o->dry || fr->found != 1 ||
	       mh_state_copying_get(fr->w->state, fr->sf.id, NULL, NULL) == 0;
}

/* Both folders are empty: neither is selected (on a small mailbox, opening its empty
 * special folders was most of a first run's time). Records of messages gone from both
 * sides are dropped, and the counters recorded, so the next run skips the pair as
 * unchanged. */
static bool
folder_settle_empty(struct folder_run *fr, GError **error)
{
	struct sync_worker *w = fr->w;

	sync_progress_plan(w, fr->res, 0, 0);
	fr->res->src_count = fr->res->dst_count = 0;
	fr->res->src_bytes = fr->res->dst_bytes = 0;
	if (w->state == NULL)
		return true;
	if (fr->found == 1 && !mh_state_folder_forget_messages(w->state, fr->sf.id, error))
		return false;
	return folder_record_state(fr, true, error);
}

static bool
folder_run_all(struct folder_run *fr, GError **error)
{
	struct sync_worker *w = fr->w;
	struct mh_sync_folder_result *res = fr->res;
	unsigned items = MH_STORE_META_FLAGS | MH_STORE_META_DATE | MH_STORE_META_SIZE;
	g_autoptr(GArray) measured = NULL; /* destination UIDs, when measuring listed them */

	if (!folder_open(fr, error))
		return false;
	if (res->unchanged) {
		folder_fill_unchanged(fr);
		return true;
	}
	if (folder_both_empty(fr))
		return folder_settle_empty(fr, error);
	/* Copies whose answers a drop took must have landed before the destination is
	 * selected (see folder_settle()): a session's UID SEARCH does not see what other
	 * sessions stored after its SELECT (Dovecot reports them with EXISTS only once the
	 * command is done). */
	if (!folder_settle(fr, error) || !folder_select(fr, error))
		return false;
	if (w->opts->expunge1 && !w->opts->verify_only && !folder_expunge_src(fr, error))
		return false;
	if (w->opts->verify_only)
		items = MH_STORE_META_SIZE | MH_STORE_META_HEADERS |
		        (w->opts->skip_deleted ? MH_STORE_META_FLAGS : 0);
	if (w->opts->verify_only) {
		if (!sync_folder_list_source(fr, items, error))
			return false;
		sync_folder_index_source(fr);
		sync_folder_count_source(fr);
		return sync_verify_compare(w, res, fr->msgs, fr->dst_exists, error);
	}
	/* Both sides are listed at once; a destination that may not need listing, only if
	 * the pass does not go narrow after all. */
	fr->items = items;
	if (!sync_folder_dst_quiet(fr, error) ||
	    !folder_both(fr, sync_folder_list_source_items, sync_folder_list_dst, error))
		return false;
	if (fr->dst_quiet && !fr->narrow) {
		fr->dst_quiet = false;
		if (!sync_folder_list_dst(fr, error))
			return false;
	}
	if (!folder_sync_messages(fr, error))
		return false;
	if (w->opts->delete2duplicates && fr->dst_exists &&
	    !sync_delete_duplicates(w, res, fr->map, fr->src_uids, error))
		return false;
	if (!folder_measure_dst(w, res, fr->dst_exists || !w->opts->dry, &fr->dstat, &measured,
	                        error))
		return false;
	if (!sync_folder_narrow_check(fr, error))
		return false;
	if (measured == NULL && fr->dst_exists)
		measured = folder_known_dst(fr, &fr->dstat);
	if (w->opts->delete1 && !w->opts->dry) {
		mh_store_box_clear(&fr->sstat);
		if (!w->src->ops->status(w->src, res->src_name, &fr->sstat, error))
			return false;
	}
	if (fr->narrow ? !sync_verify_after_narrow(w, res, fr->map, fr->new_uids, error)
	               : !sync_verify_after_sync(w, res, fr->map, fr->src_uids, fr->dst_exists,
	                                         measured, error))
		return false;
	/* The counters that let the next run skip this folder are recorded only when it is
	 * complete: an interrupted or failed folder is looked at again. */
	/* A folder with messages skipped on purpose is looked at again too: only a listing
	 * tells them from missing ones. */
	/* And one with extra messages, so that they are counted again. */
	return folder_record_state(fr,
	                           res->missing == 0 && res->extra == 0 && res->failed == 0 &&
	                                   res->skipped->len == 0,
	                           error);
}

bool
sync_folder_check_unchanged(struct sync_worker *w, struct mh_sync_folder_result *res,
                            const struct mh_store_box *src_box, const struct mh_store_box *dst_box)
{
	struct folder_run fr = {.w = w, .res = res, .pre_src = src_box, .pre_dst = dst_box};
	g_autoptr(GError) error = NULL;
	bool unchanged = false;

	if (w->state != NULL && !res->container_only && folder_open(&fr, &error) &&
	    res->unchanged) {
		folder_fill_unchanged(&fr);
		unchanged = true;
	}
	res->unchanged = unchanged;
	folder_run_clear(&fr);
	return unchanged;
}

bool
sync_folder(struct sync_worker *w, struct mh_sync_folder_result *res, int64_t *folder_id,
            GError **error)
{
	struct folder_run fr = {.w = w, .res = res};
	g_autofree struct sync_listed *listed = sync_listed_take(w->shared, res);
	g_autoptr(GTimer) timer = g_timer_new();
	GError *local = NULL;
	struct sync_error_class ec;
	bool ok;

	/* The folders of a split copy it helped with are selected no more. */
	w->split_id = 0;
	if (listed != NULL) {
		fr.pre_src = &listed->src;
		fr.pre_dst = &listed->dst;
	}
	/* State writes happen in short transactions of their own (never across network
	 * I/O); what was copied is recorded whatever fails afterwards. */
	ok = folder_run_all(&fr, &local);
	if (folder_id != NULL)
		*folder_id = fr.sf.id;
	folder_run_clear(&fr);
	res->seconds += g_timer_elapsed(timer, NULL);
	if (ok)
		return true;
	sync_error_classify(w->opts, local, &ec);
	if (!ec.ends_connection && ec.action == SYNC_ERROR_ACT_WAIT) {
		/* The engine waits, reconnects and runs the folder again. */
		g_propagate_prefixed_error(error, local, "folder %s: ", res->src_name);
		return false;
	}
	return folder_error(w, res, local, error);
}
