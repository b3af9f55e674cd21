/* SPDX-License-Identifier: MIT */
/* A folder pair's listings: the source's messages (every one, or with CONDSTORE only what
 * is new and what changed, plus the set of all UIDs), the destination's UIDs, and the
 * source's count and size for the table. */
#include "sync-folder-private.h"

/* The set of the source's UIDs, from a full listing (sorted, each UID once): made once the
 * copy is done, since until then the listing is that set and the copy is a big folder's
 * peak of memory. An incremental listing made it from UID SEARCH ALL. */
void
sync_folder_index_source(struct folder_run *fr)
{
	if (fr->src_uids != NULL)
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

/* With CONDSTORE and a previous run in the same UIDVALIDITY, lists only what is new
 * (UIDs from the last UIDNEXT on) and what changed (CHANGEDSINCE the last
 * HIGHESTMODSEQ), plus the set of all UIDs (ESEARCH), instead of every message. */
static bool
folder_list_incremental(struct folder_run *fr, unsigned items, GError **error)
{
	struct sync_worker *w = fr->w;
	g_autofree char *new_set = g_strdup_printf("%u:*", fr->sf.src_uidnext);
	g_autoptr(GPtrArray) changed = NULL;

	if (!w->src->ops->search(w->src, "ALL", &fr->src_uids, error))
		return false;
	sync_uids_sort(fr->src_uids);
	if (fr->src_uids->len == 0) {
		fr->msgs = g_ptr_array_new_with_free_func((GDestroyNotify)sync_msg_free);
		return true;
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
	return true;
}

/* The destination's UIDs (after folder_settle()), sorted. */
bool
sync_folder_list_dst(struct folder_run *fr, GError **error)
{
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

	fr->incremental = fr->found == 1 && !w->opts->verify_only && fr->sf.src_uidnext > 0 &&
	                  fr->sf.src_highestmodseq > 0 && fr->sbox.highestmodseq > 0 &&
	                  fr->sf.src_uidvalidity == fr->sbox.uidvalidity;
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

	if (!fr->incremental)
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

/* The source's message count and size for the table (while fr->msgs is there). */
void
sync_folder_count_source(struct folder_run *fr)
{
	struct mh_sync_folder_result *res = fr->res;
	guint k = 0, at = 0;

	res->src_count = fr->src_uids->len;
	res->src_bytes = 0;
	/* Both sorted: one walk. */
	for (guint i = 0; i < fr->src_uids->len; i++) {
		guint32 uid = g_array_index(fr->src_uids, guint32, i);
		const struct sync_msg *m = NULL;
		const struct sync_rec *e;

		while (k < fr->msgs->len && ((struct sync_msg *)fr->msgs->pdata[k])->uid < uid)
			k++;
		if (k < fr->msgs->len && ((struct sync_msg *)fr->msgs->pdata[k])->uid == uid)
			m = fr->msgs->pdata[k];
		/* A message listed for its changed flags alone comes without its size. */
		if (m != NULL && m->size > 0) {
			res->src_bytes += m->size;
			continue;
		}
		e = fr->map != NULL ? sync_map_find_at(fr->map, uid, &at) : NULL;
		res->src_bytes += e != NULL ? e->size : 0;
	}
}

bool
sync_folder_list_source_items(struct folder_run *fr, GError **error)
{
	return sync_folder_list_source(fr, fr->items, error);
}
