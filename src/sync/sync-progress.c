/* SPDX-License-Identifier: MIT */
/* The progress counters: totals set once before the workers start, from the source's
 * counters of the selected folders (LIST-STATUS, else STATUS pipelined, RFC 3501 6.3.10,
 * RFC 8438 for SIZE), then each folder's share of "to copy" replaced by what its worker
 * finds, so that the totals never grow as folders are looked at. */
#include "mh-log.h"
#include "sync-private.h"

/* The source's counters of the selected folders that @boxes lacks, asked in one go. */
static GHashTable *
progress_status(struct mh_store *src, const GPtrArray *folders, GHashTable *boxes)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	GHashTable *found = NULL;

	for (guint i = 0; i < folders->len; i++) {
		const struct mh_sync_folder_result *res = folders->pdata[i];

		if (!res->container_only &&
		    (boxes == NULL || !g_hash_table_contains(boxes, res->src_name)))
			g_ptr_array_add(names, res->src_name);
	}
	if (names->len == 0)
		return NULL;
	if (src->ops->status_many != NULL) {
		if (!src->ops->status_many(src, names, &found, &error))
			mh_log_debug(MH_LOG_CAT_SYNC, "counting the folders: %s", error->message);
		return found;
	}
	found = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	                              (GDestroyNotify)mh_store_box_free);
	for (guint i = 0; i < names->len; i++) {
		struct mh_store_box *box = g_new0(struct mh_store_box, 1);

		if (!src->ops->status(src, names->pdata[i], box, &error)) {
			mh_log_debug(MH_LOG_CAT_SYNC, "counting the folders: %s", error->message);
			g_clear_error(&error);
			mh_store_box_free(box);
			continue;
		}
		g_clear_pointer(&box->permanentflags, g_ptr_array_unref);
		g_hash_table_insert(found, g_strdup(names->pdata[i]), box);
	}
	return found;
}

void
sync_progress_measure(struct mh_sync_progress *p, GPtrArray *folders, struct mh_store *src,
                      GHashTable **boxes_io, bool counts)
{
	g_autoptr(GHashTable) asked = progress_status(src, folders, *boxes_io);
	GHashTable *boxes;
	GHashTableIter it;
	gpointer key, value;
	gint64 msgs = 0, bytes = 0;
	gint unknown = 0;

	/* What was asked joins the listing's counters: the unchanged-folder check and each
	 * folder's first pass take them from there instead of asking again. */
	if (asked != NULL) {
		if (*boxes_io == NULL)
			*boxes_io = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
			                                  (GDestroyNotify)mh_store_box_free);
		g_hash_table_iter_init(&it, asked);
		while (g_hash_table_iter_next(&it, &key, &value)) {
			g_hash_table_iter_steal(&it);
			g_hash_table_replace(*boxes_io, key, value);
		}
	}
	boxes = *boxes_io;

	for (guint i = 0; i < folders->len; i++) {
		struct mh_sync_folder_result *res = folders->pdata[i];
		const struct mh_store_box *box = NULL;

		if (res->container_only)
			continue;
		if (boxes != NULL)
			box = g_hash_table_lookup(boxes, res->src_name);
		res->plan_msgs = box != NULL ? box->exists : 0;
		res->plan_bytes = box != NULL && box->size_known ? (int64_t)box->size : -1;
		if (box != NULL && counts) {
			res->src_count = box->exists;
			res->src_bytes = box->size_known ? box->size : 0;
			res->listed = true;
		}
		msgs += res->plan_msgs;
		if (res->plan_bytes >= 0)
			bytes += res->plan_bytes;
		else
			unknown++;
	}
	p->msgs_total = p->msgs_copy = msgs;
	p->bytes_total = unknown > 0 ? -1 : bytes;
	p->bytes_copy = bytes;
	p->bytes_unknown = unknown;
}

void
sync_progress_settle(struct mh_sync_progress *p, struct mh_sync_folder_result *res)
{
	__atomic_fetch_sub(&p->msgs_copy, res->plan_msgs, __ATOMIC_RELAXED);
	if (res->plan_bytes >= 0)
		__atomic_fetch_sub(&p->bytes_copy, res->plan_bytes, __ATOMIC_RELAXED);
	else
		g_atomic_int_add(&p->bytes_unknown, -1);
	res->plan_msgs = 0;
	res->plan_bytes = 0;
}

void
sync_progress_plan(struct sync_worker *w, struct mh_sync_folder_result *res, int64_t n,
                   int64_t bytes)
{
	struct mh_sync_progress *p = w->progress;
	int64_t msgs = (int64_t)res->copied + n;
	int64_t b = (int64_t)res->copied_bytes + bytes;

	__atomic_fetch_add(&p->msgs_copy, msgs - res->plan_msgs, __ATOMIC_RELAXED);
	if (res->plan_bytes >= 0) {
		__atomic_fetch_add(&p->bytes_copy, b - res->plan_bytes, __ATOMIC_RELAXED);
	} else {
		__atomic_fetch_add(&p->bytes_copy, b, __ATOMIC_RELAXED);
		g_atomic_int_add(&p->bytes_unknown, -1);
	}
	res->plan_msgs = msgs;
	res->plan_bytes = b;
	if (w->slot != NULL)
		__atomic_store_n(&w->slot->msgs_todo, msgs, __ATOMIC_RELAXED);
}

void
sync_progress_copied(struct sync_worker *w, uint64_t size)
{
	__atomic_fetch_add(&w->progress->msgs_done, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&w->progress->bytes_done, (gint64)size, __ATOMIC_RELAXED);
	if (w->slot != NULL)
		__atomic_fetch_add(&w->slot->msgs_done, 1, __ATOMIC_RELAXED);
}

void
sync_progress_failed(struct mh_sync_progress *p, const struct mh_sync_options *o)
{
	gint64 n = p != NULL ? __atomic_add_fetch(&p->errors, 1, __ATOMIC_RELAXED) : 0;

	if (o->errors_max == 0 || o->interrupted == NULL || (uint64_t)n != o->errors_max)
		return;
	mh_log(MH_LOG_ERROR,
	       "%" G_GINT64_FORMAT " errors, --errorsmax %" G_GUINT64_FORMAT
	       " reached: stopping after the messages in flight",
	       n, o->errors_max);
	*o->interrupted = 1;
}

void
sync_progress_worker(struct sync_worker *w, const struct mh_sync_folder_result *res)
{
	if (w->slot == NULL)
		return;
	__atomic_store_n(&w->slot->msgs_done, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&w->slot->msgs_todo, -1, __ATOMIC_RELAXED);
	__atomic_store_n(&w->slot->folder, res != NULL ? res->src_name : NULL, __ATOMIC_RELEASE);
}

void
sync_progress_slot_todo(struct sync_worker *w, int64_t todo)
{
	if (w->slot != NULL)
		__atomic_store_n(&w->slot->msgs_todo, todo, __ATOMIC_RELAXED);
}
