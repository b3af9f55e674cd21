/* SPDX-License-Identifier: MIT */
/* A folder pair's listings: the source's messages (every one, or with CONDSTORE only what
 * is new and what changed, plus the set of all UIDs), the destination's UIDs, and the
 * source's count and size for the table. */
#include "mh-log.h"
#include "sync-folder-private.h"

/* The set of the source's UIDs, from a full listing (sorted, each UID once): made once the
 * copy is done, since until then the listing is that set and the copy is a big folder's
 * peak of memory. An incremental listing made it from UID SEARCH ALL. */
void
sync_folder_index_source(struct folder_run *fr)
{
	if (fr->src_uids != NULL || fr->narrow)
		return;
	fr->src_uids = g_array_sized_new(false, false, sizeof(guint32), fr->msgs->len);
	for (guint i = 0; i < fr->msgs->len; i++)
		g_array_append_val(fr->src_uids, ((struct sync_msg *)fr->msgs->pdata[i])->uid);
}

/* Adds @more to fr->msgs (sorted again), a message listed twice keeping its newest
 * flags. */
static void
folder_merge_msgs(struct folder_run *fr, GPtrArray *more)
{
	guint listed = fr->msgs->len;

	for (guint i = 0; i < more->len; i++) {
		struct sync_msg *m = more->pdata[i];
		struct sync_msg *old = sync_msgs_find(fr->msgs, listed, m->uid);

		if (old != NULL) {
			old->flags = m->flags;
			continue;
		}
		g_ptr_array_add(fr->msgs, m);
		more->pdata[i] = NULL;
	}
	g_ptr_array_set_free_func(more, (GDestroyNotify)sync_msg_free);
	g_ptr_array_sort(fr->msgs, sync_msg_cmp);
}

/* --- the narrow pass ---
 *
 * A rerun where the source only gained messages and changed flags, and the destination is
 * as the last complete pass left it, needs neither side's list of UIDs nor the folder's
 * records: the counters prove what those would show.
 * - The destination has the UIDVALIDITY, UIDNEXT and count the last complete pass
 *   recorded (nothing added, nothing removed), and as many records name one of its UIDs
 *   as it has messages: every message there is a recorded copy (no stray, no duplicate).
 * - The source lists its messages from the recorded UIDNEXT on (new) and those changed
 *   since the recorded HIGHESTMODSEQ, as any incremental pass. Its count at SELECT, less
 *   the new ones it had then, is the recorded count: no message below the recorded
 *   UIDNEXT left (UIDs are never reused), so each still has the record the complete pass
 *   verified it by.
 * Then only new messages can be missing, and the records read are those of the new and
 * the changed messages. After the copy, the destination's counters must show exactly this
 * pass's copies added; otherwise, or when a changed message has no record, the pass is
 * widened: both sides' UIDs are listed and every record read, as in any other pass. On a
 * folder of 200,000 messages this spares a UID SEARCH ALL on each side and reading
 * 200,000 records (0.1 s of a rerun after changes). The counters trusted here are those
 * an unchanged rerun already trusts to skip the folder. */

/* Whether the source may be listed incrementally (after both folders are selected). */
static bool
folder_incremental(const struct folder_run *fr)
{
	return fr->found == 1 && !fr->w->opts->verify_only && fr->sf.src_uidnext > 0 &&
	       fr->sf.src_highestmodseq > 0 && fr->sbox.highestmodseq > 0 &&
	       fr->sf.src_uidvalidity == fr->sbox.uidvalidity;
}

bool
sync_folder_dst_quiet(struct folder_run *fr, GError **error)
{
	struct sync_worker *w = fr->w;
	const struct mh_sync_options *o = w->opts;
	uint64_t mapped = 0;

	fr->dst_quiet = false;
	/* Every mode that deletes, filters by search or merges looks at both sides whole. */
	if (w->state == NULL || !folder_incremental(fr) || !fr->dst_exists || fr->in_doubt ||
	    o->dry || o->delete1 || o->delete2 || o->delete2duplicates || o->expunge1 ||
	    o->search != NULL || fr->res->dst_shared ||
	    (w->shared != NULL && w->shared->labels != NULL) || fr->sf.src_bytes < 0 ||
	    fr->dbox.uidvalidity != fr->sf.dst_uidvalidity ||
	    fr->dbox.uidnext != fr->sf.dst_uidnext || fr->dbox.exists != fr->sf.dst_exists)
		return true;
	if (!mh_state_msgs_mapped(w->state, fr->sf.id, &mapped, error))
		return false;
	fr->dst_quiet = mapped == fr->dbox.exists;
	return true;
}

/* Whether the source's counters prove that it only gained messages (see above); then
 * fr->new_uids is set. */
static bool
folder_narrow_source(struct folder_run *fr)
{
	g_autoptr(GArray) fresh = g_array_new(false, false, sizeof(guint32));
	uint64_t had = 0;

	for (guint i = 0; i < fr->msgs->len; i++) {
		const struct sync_msg *m = fr->msgs->pdata[i];

		if (m->uid < fr->sf.src_uidnext)
			continue;
		g_array_append_val(fresh, m->uid);
		had += m->uid < fr->sbox.uidnext;
	}
	if ((uint64_t)fr->sbox.exists != (uint64_t)fr->sf.src_exists + had)
		return false;
	fr->new_uids = g_steal_pointer(&fresh);
	return true;
}

/* Lists what the narrow pass did not: both sides' UIDs (the destination's with
 * @dst_too), and leaves the narrow pass. */
static bool
folder_widen(struct folder_run *fr, bool dst_too, GError **error)
{
	mh_log_debug(MH_LOG_CAT_SYNC, "%s: the counters do not settle it; listing both sides",
	             fr->res->src_name);
	fr->narrow = false;
	fr->dst_quiet = false;
	g_clear_pointer(&fr->new_uids, g_array_unref);
	if (!fr->w->src->ops->search(fr->w->src, "ALL", &fr->src_uids, error))
		return false;
	sync_uids_sort(fr->src_uids);
	return !dst_too || sync_folder_list_dst(fr, error);
}

int
sync_folder_narrow_map(struct folder_run *fr, GError **error)
{
	g_autoptr(GArray) changed = g_array_new(false, false, sizeof(guint32));
	int all;

	for (guint i = 0; i < fr->msgs->len; i++) {
		guint32 uid = ((struct sync_msg *)fr->msgs->pdata[i])->uid;

		if (uid < fr->sf.src_uidnext)
			g_array_append_val(changed, uid);
	}
	fr->map = sync_map_new();
	if (!sync_map_load(fr->map, fr->w->state, fr->sf.id, fr->sf.src_uidnext, true, error))
		return -1;
	all = sync_map_load_uids(fr->map, fr->w->state, fr->sf.id, changed, error);
	if (all == 1)
		return 1;
	g_clear_pointer(&fr->map, sync_map_free);
	if (all < 0 || !folder_widen(fr, true, error))
		return -1;
	return 0;
}

bool
sync_folder_narrow_check(struct folder_run *fr, GError **error)
{
	const struct mh_store_box *now = &fr->dstat;
	const GArray *recs;
	uint64_t ours = 0;
	bool holds;

	if (!fr->narrow)
		return true;
	recs = sync_map_all(fr->map);
	holds = now->uidvalidity == fr->dbox.uidvalidity && now->uidnext >= fr->dbox.uidnext;
	for (guint i = 0; holds && i < recs->len; i++) {
		const struct sync_rec *e = &g_array_index(recs, struct sync_rec, i);

		/* A copy whose UID the server did not say proves nothing. */
		holds = e->src_uid < fr->sf.src_uidnext || e->dst_uid != 0;
		ours += e->dst_uid >= fr->dbox.uidnext && e->dst_uid < now->uidnext;
	}
	if (holds && ours == (uint64_t)(now->uidnext - fr->dbox.uidnext) &&
	    (uint64_t)now->exists == (uint64_t)fr->dbox.exists + ours)
		return true;
	return folder_widen(fr, false, error) &&
	       sync_map_load(fr->map, fr->w->state, fr->sf.id, 0, true, error);
}

/* With CONDSTORE and a previous run in the same UIDVALIDITY, lists only what is new
 * (UIDs from the last UIDNEXT on) and what changed (CHANGEDSINCE the last
 * HIGHESTMODSEQ), plus the set of all UIDs (ESEARCH), instead of every message; in a
 * narrow pass (see above) not the set of all UIDs. */
static bool
folder_list_incremental(struct folder_run *fr, unsigned items, GError **error)
{
	struct sync_worker *w = fr->w;
	g_autofree char *new_set = g_strdup_printf("%u:*", fr->sf.src_uidnext);
	g_autoptr(GPtrArray) changed = NULL;

	if (!fr->dst_quiet) {
		if (!w->src->ops->search(w->src, "ALL", &fr->src_uids, error))
			return false;
		sync_uids_sort(fr->src_uids);
		if (fr->src_uids->len == 0) {
			fr->msgs = g_ptr_array_new_with_free_func((GDestroyNotify)sync_msg_free);
			return true;
		}
	}
	fr->msgs = sync_list_msgs(w->src, new_set, items, 0, error);
	if (fr->msgs == NULL)
		return false;
	changed =
		sync_list_msgs(w->src, "1:*", MH_STORE_META_FLAGS, fr->sf.src_highestmodseq, error);
	if (changed == NULL)
		return false;
	/* "N:*" names the last message even when N is past it: that one is known and only
	 * gets its flags compared. */
	folder_merge_msgs(fr, changed);
	if (fr->dst_quiet && folder_narrow_source(fr)) {
		fr->narrow = true;
		return true;
	}
	if (fr->src_uids != NULL)
		return true;
	if (!w->src->ops->search(w->src, "ALL", &fr->src_uids, error))
		return false;
	sync_uids_sort(fr->src_uids);
	return true;
}

/* The destination's UIDs (after folder_settle()), sorted. */
bool
sync_folder_list_dst(struct folder_run *fr, GError **error)
{
	if (fr->dst_quiet)
		return true; /* listed after the source only if the pass is not narrow */
	if (!fr->dst_exists) {
		fr->dst_uids = g_array_new(false, false, sizeof(guint32));
		return true;
	}
	if (!fr->w->dst->ops->search(fr->w->dst, "ALL", &fr->dst_uids, error))
		return false;
	sync_uids_sort(fr->dst_uids);
	return true;
}

bool
sync_folder_list_source(struct folder_run *fr, unsigned items, GError **error)
{
	struct sync_worker *w = fr->w;

	fr->incremental = folder_incremental(fr);
	if (fr->incremental)
		return folder_list_incremental(fr, items, error);
	fr->msgs = fr->sbox.exists > 0
	                   ? sync_list_folder(w->src, items, fr->sbox.exists, error)
	                   : g_ptr_array_new_with_free_func((GDestroyNotify)sync_msg_free);
	return fr->msgs != NULL;
}

/* In an incremental listing, source messages with no record and not listed (a copy that
 * failed last time, a destination message deleted since) are listed now. */
bool
sync_folder_list_unmapped(struct folder_run *fr, GError **error)
{
	g_autoptr(GArray) want = g_array_new(false, false, sizeof(guint32));
	g_autoptr(GPtrArray) more = NULL;

	if (!fr->incremental || fr->narrow)
		return true;
	for (guint i = 0, at = 0, mat = 0; i < fr->src_uids->len; i++) {
		guint32 uid = g_array_index(fr->src_uids, guint32, i);

		if (sync_map_find_at(fr->map, uid, &at) == NULL &&
		    sync_msgs_find_at(fr->msgs, uid, &mat) == NULL)
			g_array_append_val(want, uid);
	}
	if (want->len == 0)
		return true;
	more = sync_list_uids(fr->w->src, want,
	                      MH_STORE_META_FLAGS | MH_STORE_META_DATE | MH_STORE_META_SIZE, error);
	if (more == NULL)
		return false;
	folder_merge_msgs(fr, more);
	return true;
}

/* Whether @uid counts in the bytes recorded with the counters: those of the messages below
 * the UIDNEXT recorded with them (the listing's), so that a narrow pass, which adds the
 * messages from that UIDNEXT on, counts none twice. */
static bool
folder_uid_recorded(const struct folder_run *fr, uint32_t uid)
{
	return fr->sstat.uidnext == 0 || uid < fr->sstat.uidnext;
}

/* The source's message count and size for the table (while fr->msgs is there), and the
 * bytes recorded with the counters (fr->src_bytes_recorded). */
void
sync_folder_count_source(struct folder_run *fr)
{
	struct mh_sync_folder_result *res = fr->res;
	guint k = 0, at = 0;

	if (fr->narrow) {
		/* The recorded figures and the new messages (of which the listing is all). */
		res->src_count = fr->sf.src_exists + fr->new_uids->len;
		res->src_bytes = fr->src_bytes_recorded = (uint64_t)fr->sf.src_bytes;
		for (guint i = 0; i < fr->msgs->len; i++) {
			const struct sync_msg *m = fr->msgs->pdata[i];

			if (m->uid < fr->sf.src_uidnext)
				continue;
			res->src_bytes += m->size;
			fr->src_bytes_recorded += folder_uid_recorded(fr, m->uid) ? m->size : 0;
		}
		return;
	}
	res->src_count = fr->src_uids->len;
	res->src_bytes = fr->src_bytes_recorded = 0;
	/* Both sorted: one walk. */
	for (guint i = 0; i < fr->src_uids->len; i++) {
		guint32 uid = g_array_index(fr->src_uids, guint32, i);
		const struct sync_msg *m = NULL;
		const struct sync_rec *e;
		uint64_t size;

		while (k < fr->msgs->len && ((struct sync_msg *)fr->msgs->pdata[k])->uid < uid)
			k++;
		if (k < fr->msgs->len && ((struct sync_msg *)fr->msgs->pdata[k])->uid == uid)
			m = fr->msgs->pdata[k];
		/* A message listed for its changed flags alone comes without its size. */
		if (m != NULL && m->size > 0) {
			size = m->size;
		} else {
			e = fr->map != NULL ? sync_map_find_at(fr->map, uid, &at) : NULL;
			size = e != NULL ? e->size : 0;
		}
		res->src_bytes += size;
		fr->src_bytes_recorded += folder_uid_recorded(fr, uid) ? size : 0;
	}
}

bool
sync_folder_list_source_items(struct folder_run *fr, GError **error)
{
	return sync_folder_list_source(fr, fr->items, error);
}
