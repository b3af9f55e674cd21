/* SPDX-License-Identifier: MIT */
/* What the engine does to messages already accounted for: matching new source messages to
 * unaccounted destination messages by fingerprint (multiplicity counted), carrying flag
 * changes over (source wins), and the deletion modes --delete2 and --delete1. State writes
 * happen in short transactions of their own. */
#include <string.h>

#include "mh-log.h"
#include "sync-private.h"

bool
sync_state_begin(struct sync_worker *w, GError **error)
{
	return w->state == NULL || mh_state_begin(w->state, error);
}

/* Commits when @ok, else rolls back; returns @ok and the commit's outcome. */
bool
sync_state_end(struct sync_worker *w, bool ok, GError **error)
{
	if (w->state == NULL)
		return ok;
	if (ok)
		return mh_state_commit(w->state, error);
	mh_state_rollback(w->state);
	return false;
}

static void
match_record(struct match_ctx *mc, struct sync_msg *src, const char *fingerprint,
             const struct sync_msg *dst, GError **error)
{
	g_autofree char *flags =
		sync_flags_for_dest(sync_msg_flags(dst), mc->dst_box, mc->w->opts->drop_keywords);
	struct sync_rec r = {
		.src_uid = src->uid,
		.dst_uid = dst->uid,
		.size = src->size,
		.flags = g_intern_string(flags),
	};
	struct mh_state_msg e = {
		.src_uid = src->uid,
		.dst_uid = dst->uid,
		.flags = flags,
		.fingerprint = (char *)fingerprint,
		.size = src->size,
	};

	src->copy = false;
	mc->res->matched++;
	g_hash_table_add(mc->dst_taken, GUINT_TO_POINTER(dst->uid));
	if (mc->w->state != NULL && (error == NULL || *error == NULL))
		mh_state_msg_put(mc->w->state, mc->folder_id, &e, error);
	sync_map_put(mc->map, &r);
}

/* Records that destination message @d answers for listed source message @h. */
static void
match_pair(struct match_ctx *mc, const struct sync_msg *h, const struct sync_msg *d, GError **error)
{
	struct sync_msg *m = sync_msgs_find(mc->msgs, mc->msgs->len, h->uid);

	if (m == NULL)
		return;
	match_record(mc, m, sync_msg_fingerprint(h), d, error);
}

static uint64_t
match_gap(const struct sync_msg *a, const struct sync_msg *b)
{
	return a->size > b->size ? a->size - b->size : b->size - a->size;
}

/* Pairs the source messages @srcs (of one identity) with the destination messages @q of
 * the same identity. Servers change sizes (an added CRLF, re-rendered MIME), so the size
 * only decides between messages of equal identity: equal sizes first, then, again and
 * again, the remaining pair nearest in size, so that a source message the destination
 * lacks (refused, say) cannot take the copy of another. Very large groups are paired in
 * order, to stay fast. */
static void
match_group(struct match_ctx *mc, GPtrArray *srcs, GQueue *q, GError **error)
{
	guint left = srcs->len;

	for (guint i = 0; i < srcs->len && !g_queue_is_empty(q); i++) {
		const struct sync_msg *h = srcs->pdata[i];

		for (GList *l = q->head; l != NULL; l = l->next) {
			if (((const struct sync_msg *)l->data)->size != h->size)
				continue;
			match_pair(mc, h, l->data, error);
			g_queue_delete_link(q, l);
			srcs->pdata[i] = NULL;
			left--;
			break;
		}
	}
	while (left > 0 && !g_queue_is_empty(q)) {
		bool small = (guint64)left * g_queue_get_length(q) <= 4096;
		guint best_i = 0;
		GList *best_l = NULL;
		uint64_t best_gap = G_MAXUINT64;

		for (guint i = 0; i < srcs->len; i++) {
			if (srcs->pdata[i] == NULL)
				continue;
			for (GList *l = q->head; l != NULL; l = small ? l->next : NULL) {
				uint64_t gap = match_gap(srcs->pdata[i], l->data);

				if (best_l == NULL || gap < best_gap) {
					best_i = i;
					best_l = l;
					best_gap = gap;
				}
			}
			if (!small)
				break;
		}
		if (best_l == NULL)
			break; /* cannot be: left > 0 and q not empty */
		match_pair(mc, srcs->pdata[best_i], best_l->data, error);
		g_queue_delete_link(q, best_l);
		srcs->pdata[best_i] = NULL;
		left--;
	}
}

/* Matches new source messages against destination messages nobody accounts for
 * (a first run into a non-empty destination, a lost state, a crash before a record),
 * counting multiplicity: each destination message answers for one source message. */
bool
sync_match_unknown(struct match_ctx *mc, GPtrArray *msgs, GArray *dst_unknown, GError **error)
{
	struct sync_worker *w = mc->w;
	g_autoptr(GArray) src_new = g_array_new(false, false, sizeof(guint32));
	g_autoptr(GPtrArray) src_h = NULL;
	g_autoptr(GPtrArray) dst_h = NULL;
	g_autoptr(GHashTable) pool = NULL;
	g_autoptr(GHashTable) groups = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
	                                                     (GDestroyNotify)g_ptr_array_unref);
	g_autoptr(GPtrArray) order = g_ptr_array_new(); /* identities, as first listed */
	GError *local = NULL;

	for (guint i = 0; i < msgs->len; i++) {
		struct sync_msg *m = msgs->pdata[i];

		if (m->copy)
			g_array_append_val(src_new, m->uid);
	}
	if (src_new->len == 0 || dst_unknown->len == 0)
		return true;
	src_h = sync_list_uids(w->src, src_new, MH_STORE_META_SIZE | MH_STORE_META_HEADERS, error);
	if (src_h == NULL)
		return false;
	dst_h = sync_list_uids(w->dst, dst_unknown,
	                       MH_STORE_META_FLAGS | MH_STORE_META_SIZE | MH_STORE_META_HEADERS,
	                       error);
	if (dst_h == NULL)
		return false;
	pool = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_queue_free);
	for (guint i = 0; i < dst_h->len; i++) {
		struct sync_msg *d = dst_h->pdata[i];
		GQueue *q = g_hash_table_lookup(pool, (char *)sync_msg_fingerprint(d));

		if (q == NULL)
			g_hash_table_insert(pool, (char *)sync_msg_fingerprint(d),
			                    q = g_queue_new());
		g_queue_push_tail(q, d);
	}
	if (!sync_state_begin(w, error))
		return false;
	for (guint i = 0; i < src_h->len; i++) {
		struct sync_msg *h = src_h->pdata[i];
		GPtrArray *group;

		if (!g_hash_table_contains(pool, (char *)sync_msg_fingerprint(h)))
			continue;
		group = g_hash_table_lookup(groups, (char *)sync_msg_fingerprint(h));
		if (group == NULL) {
			group = g_ptr_array_new();
			g_hash_table_insert(groups, (char *)sync_msg_fingerprint(h), group);
			g_ptr_array_add(order, (char *)sync_msg_fingerprint(h));
		}
		g_ptr_array_add(group, h);
	}
	for (guint i = 0; i < order->len && local == NULL; i++)
		match_group(mc, g_hash_table_lookup(groups, order->pdata[i]),
		            g_hash_table_lookup(pool, order->pdata[i]), &local);
	if (!sync_state_end(w, local == NULL, local == NULL ? &local : NULL)) {
		g_propagate_error(error, local != NULL
		                                 ? local
		                                 : g_error_new(MH_SYNC_ERROR, MH_SYNC_ERROR_STATE,
		                                               "cannot record matches"));
		return false;
	}
	if (mc->res->matched > 0)
		mh_log_debug(MH_LOG_CAT_SYNC,
		             "%s: %" G_GUINT64_FORMAT " messages already on the "
		             "destination, found by fingerprint",
		             mc->res->src_name, mc->res->matched);
	return true;
}

enum chunk_op {
	CHUNK_DELETE,
	CHUNK_ADD,
	CHUNK_REMOVE
};

static bool
store_in_chunks(struct mh_store *st, GArray *uids, const char *flags, enum chunk_op op,
                GError **error)
{
	guint i = 0;

	g_array_sort(uids, sync_uid_cmp);
	while (i < uids->len) {
		g_autofree char *set =
			mh_store_uidset_runs(uids, i, UIDSET_MAX, UIDSET_MAX_UIDS, &i);
		bool ok = op == CHUNK_DELETE ? st->ops->delete_msgs(st, set, error)
		          : op == CHUNK_ADD  ? st->ops->add_flags(st, set, flags, error)
		                             : st->ops->remove_flags(st, set, flags, error);

		if (!ok)
			return false;
	}
	return true;
}

/* The flags a copy should have after a flag change on the source: the source's. With
 * --delete1, though, \\Deleted stays as the copy has it: on the source it is (or may be)
 * our own mark of a move interrupted between its STORE and its EXPUNGE, and carrying it
 * over would mark the only remaining copy for deletion. Caller frees. */
static char *
carry_flags_wanted(const char *src_flags, const char *recorded, const struct mh_store_box *box,
                   const char *drop, bool delete1)
{
	if (!delete1)
		return sync_flags_for_dest(src_flags, box, drop);
	g_autofree char *dropped = g_strconcat(drop != NULL ? drop : "", " \\Deleted", NULL);
	g_autofree char *base = sync_flags_for_dest(src_flags, box, dropped);
	g_auto(GStrv) had = g_strsplit(recorded != NULL ? recorded : "", " ", -1);
	g_autofree char *with = NULL;

	if (!g_strv_contains((const char *const *)had, "\\Deleted"))
		return g_steal_pointer(&base);
	with = g_strconcat(base, *base != '\0' ? " " : "", "\\Deleted", NULL);
	return sync_flags_for_dest(with, box, drop);
}

static bool
carry_has(const char *const *flags, const char *flag)
{
	for (size_t i = 0; flags[i] != NULL; i++) {
		if (g_ascii_strcasecmp(flags[i], flag) == 0)
			return true;
	}
	return false;
}

/* Adds @uid to the UIDs of each flag of @flags that @other lacks, by flag. Flags are
 * compared ignoring case, as IMAP servers compare them: a keyword whose case alone
 * changed is neither added nor removed, where adding then removing it would lose it. */
static void
carry_diff(GHashTable *by_flag, const char *const *flags, const char *const *other, guint32 uid)
{
	for (size_t i = 0; flags[i] != NULL; i++) {
		GArray *uids;

		if (*flags[i] == '\0' || carry_has(other, flags[i]))
			continue;
		uids = g_hash_table_lookup(by_flag, flags[i]);
		if (uids == NULL)
			g_hash_table_insert(by_flag, g_strdup(flags[i]),
			                    uids = g_array_new(false, false, sizeof(guint32)));
		g_array_append_val(uids, uid);
	}
}

/* One UID STORE per flag of @by_flag (in name order), adding or removing it. */
static bool
carry_store(struct mh_store *st, GHashTable *by_flag, enum chunk_op op, GError **error)
{
	g_autofree gpointer *names = g_hash_table_get_keys_as_array(by_flag, NULL);
	guint n = g_hash_table_size(by_flag);

	qsort(names, n, sizeof(*names), sync_str_ptr_cmp);
	for (guint i = 0; i < n; i++) {
		if (!store_in_chunks(st, g_hash_table_lookup(by_flag, names[i]), names[i], op,
		                     error))
			return false;
	}
	return true;
}

/* Carries flag changes from the source over to mapped destination messages: each flag the
 * source set or cleared since the copy's recorded flags is set or cleared on the copy, one
 * UID STORE per flag and direction for all the messages it concerns (a hundred messages
 * flagged: one command, whatever flags each had before). A flag changed on the source
 * wins; one the destination's user changed on their own is left as it is. */
bool
sync_carry_flags(struct match_ctx *mc, GPtrArray *msgs, GError **error)
{
	struct sync_worker *w = mc->w;
	g_autoptr(GHashTable) add = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	                                                  (GDestroyNotify)g_array_unref);
	g_autoptr(GHashTable) remove = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	                                                     (GDestroyNotify)g_array_unref);
	g_autoptr(GArray) changed = g_array_new(false, false, sizeof(guint32));
	bool ok;

	for (guint i = 0; i < msgs->len; i++) {
		struct sync_msg *m = msgs->pdata[i];
		struct sync_rec *e = sync_map_find(mc->map, m->uid);
		g_autofree char *src_flags = NULL;
		g_autofree char *want = NULL;
		g_auto(GStrv) want_v = NULL;
		g_auto(GStrv) had_v = NULL;

		if (e == NULL || e->dst_uid == 0)
			continue;
		src_flags = sync_flags_rewrite(mc->w->opts->flag_rules, sync_msg_flags(m));
		want = carry_flags_wanted(src_flags, e->flags, mc->dst_box,
		                          mc->w->opts->drop_keywords, mc->w->opts->delete1);
		if (g_strcmp0(want, e->flags != NULL ? e->flags : "") == 0)
			continue;
		want_v = g_strsplit(want, " ", -1);
		had_v = g_strsplit(e->flags != NULL ? e->flags : "", " ", -1);
		carry_diff(add, (const char *const *)want_v, (const char *const *)had_v,
		           e->dst_uid);
		carry_diff(remove, (const char *const *)had_v, (const char *const *)want_v,
		           e->dst_uid);
		g_array_append_val(changed, m->uid);
		e->flags = g_intern_string(want);
	}
	mc->res->flag_updates += changed->len;
	if (!w->opts->dry && (!carry_store(w->dst, add, CHUNK_ADD, error) ||
	                      !carry_store(w->dst, remove, CHUNK_REMOVE, error)))
		return false;
	if (w->state == NULL || w->opts->dry || changed->len == 0)
		return true;
	ok = sync_state_begin(w, error);
	for (guint i = 0; ok && i < changed->len; i++) {
		guint32 uid = g_array_index(changed, guint32, i);
		const struct sync_rec *e = sync_map_find(mc->map, uid);

		ok = mh_state_msg_set_flags(w->state, mc->folder_id, uid, e->flags, error);
	}
	return sync_state_end(w, ok, ok ? error : NULL);
}

bool
sync_dst_scope(struct sync_worker *w, GArray *uids, GError **error)
{
	g_autoptr(GArray) found = NULL;
	guint kept = 0;

	if (w->opts->search2 == NULL || uids->len == 0)
		return true;
	if (!w->dst->ops->search(w->dst, w->opts->search2, &found, error))
		return false;
	sync_uids_sort(found);
	for (guint i = 0; i < uids->len; i++) {
		guint32 uid = g_array_index(uids, guint32, i);

		if (sync_uids_has(found, uid))
			g_array_index(uids, guint32, kept++) = uid;
	}
	g_array_set_size(uids, kept);
	return true;
}

/* --delete2: destination messages that answer for no current source message. */
bool
sync_delete_dst(struct match_ctx *mc, const GArray *dst_uids, GError **error)
{
	g_autoptr(GArray) doomed = g_array_new(false, false, sizeof(guint32));
	g_autoptr(GArray) live = g_array_new(false, false, sizeof(guint32));
	const GArray *recs = sync_map_all(mc->map);

	for (guint i = 0, at = 0; i < recs->len; i++) {
		const struct sync_rec *e = &g_array_index(recs, struct sync_rec, i);

		if (sync_uids_has_at(mc->src_uids, e->src_uid, &at))
			g_array_append_val(live, e->dst_uid);
	}
	sync_uids_sort(live);
	for (guint i = 0, at = 0; i < dst_uids->len; i++) {
		guint32 uid = g_array_index(dst_uids, guint32, i);

		if (!sync_uids_has_at(live, uid, &at))
			g_array_append_val(doomed, uid);
	}
	if (!sync_dst_scope(mc->w, doomed, error))
		return false;
	mc->res->deleted_dst += doomed->len;
	if (doomed->len == 0 || mc->w->opts->dry)
		return true;
	return store_in_chunks(mc->w->dst, doomed, NULL, CHUNK_DELETE, error);
}

/* --delete1: source messages whose copy is verified present on the destination. */
bool
sync_delete_src(struct match_ctx *mc, GError **error)
{
	struct sync_worker *w = mc->w;
	g_autoptr(GArray) present = NULL;
	g_autoptr(GArray) doomed = g_array_new(false, false, sizeof(guint32));
	const GArray *recs;

	if (!w->dst->ops->search(w->dst, "ALL", &present, error))
		return false;
	sync_uids_sort(present);
	recs = sync_map_all(mc->map);
	for (guint i = 0, at = 0, sat = 0; i < recs->len; i++) {
		const struct sync_rec *e = &g_array_index(recs, struct sync_rec, i);

		if (e->dst_uid != 0 && sync_uids_has_at(present, e->dst_uid, &at) &&
		    sync_uids_has_at(mc->src_uids, e->src_uid, &sat))
			g_array_append_val(doomed, e->src_uid);
	}
	mc->res->deleted_src += doomed->len;
	if (doomed->len == 0 || w->opts->dry)
		return true;
	/* --noexpunge1: flagged for deletion only; the user's mail program expunges. */
	for (guint i = 0; w->opts->delete1_no_expunge && i < doomed->len;) {
		g_autofree char *set =
			mh_store_uidset_runs(doomed, i, UIDSET_MAX, UIDSET_MAX_UIDS, &i);

		if (!w->src->ops->add_flags(w->src, set, "\\Deleted", error))
			return false;
	}
	if (w->opts->delete1_no_expunge)
		return true;
	return store_in_chunks(w->src, doomed, NULL, CHUNK_DELETE, error);
}
