/* SPDX-License-Identifier: MIT */
/* Verification that looks both ways: per folder pair, the source messages missing on the
 * destination and the destination messages no source message answers for, counted as
 * multisets of message identities (the fingerprint) and named (UID, Message-ID, Date,
 * Subject, size) for the report. Those are duplicates (more copies than the source has of
 * that message: a difference) or strays (the source has none: the destination's own mail,
 * or another source's, reported but no difference). And --delete2duplicates, which
 * removes destination copies beyond the source's count of the same identity. */
#include <string.h>

#include "mh-log.h"
#include "sync-private.h"

/* --- naming messages --- */

static void
named_free(struct mh_sync_named *n)
{
	g_free(n->message_id);
	g_free(n->date);
	g_free(n->subject);
	g_free(n->reason);
	g_free(n);
}

char *
sync_verify_header_field(const char *h, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = h, *end = h + len;

	while (h != NULL && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *next = eol != NULL ? eol + 1 : end;
		size_t line = (size_t)((eol != NULL ? eol : end) - p);
		g_autoptr(GString) v = NULL;

		if (line == 0 || (line == 1 && *p == '\r'))
			break; /* the end of the header */
		if (line <= nlen || p[nlen] != ':' || g_ascii_strncasecmp(p, name, nlen) != 0) {
			p = next;
			continue;
		}
		v = g_string_new(NULL);
		for (const char *c = p + nlen + 1;; c++) {
			if (c == end ||
			    (*c == '\n' && (c + 1 == end || (c[1] != ' ' && c[1] != '\t'))))
				break;
			if (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n') {
				if (v->len > 0 && v->str[v->len - 1] != ' ')
					g_string_append_c(v, ' ');
			} else {
				g_string_append_c(v, *c != '\0' ? *c : '?');
			}
		}
		if (v->len > 0 && v->str[v->len - 1] == ' ')
			g_string_truncate(v, v->len - 1);
		return v->len > 0 ? g_utf8_make_valid(v->str, (gssize)v->len) : NULL;
	}
	return NULL;
}

static void
on_named_meta(const struct mh_store_meta *m, void *ctx)
{
	GPtrArray *list = ctx;
	struct mh_sync_named *n = g_new0(struct mh_sync_named, 1);

	n->uid = m->uid;
	n->size = m->size;
	n->message_id = sync_verify_header_field(m->headers, m->headers_len, "Message-ID");
	n->date = sync_verify_header_field(m->headers, m->headers_len, "Date");
	n->subject = sync_verify_header_field(m->headers, m->headers_len, "Subject");
	g_ptr_array_add(list, n);
}

static gint
named_cmp(gconstpointer a, gconstpointer b)
{
	const struct mh_sync_named *x = *(struct mh_sync_named *const *)a;
	const struct mh_sync_named *y = *(struct mh_sync_named *const *)b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Names the messages @uids of the selected folder of @st (the first MH_SYNC_NAMED_MAX) in
 * *list, made when there is any; their header fields are fetched only now, so that
 * listings need not keep them. */
static bool
named_fetch(struct mh_store *st, GArray *uids, GPtrArray **list, GError **error)
{
	guint i = 0;

	g_clear_pointer(list, g_ptr_array_unref);
	if (uids->len == 0)
		return true;
	g_array_sort(uids, sync_uid_cmp);
	if (uids->len > MH_SYNC_NAMED_MAX)
		g_array_set_size(uids, MH_SYNC_NAMED_MAX);
	*list = g_ptr_array_new_with_free_func((GDestroyNotify)named_free);
	while (i < uids->len) {
		g_autofree char *set =
			mh_store_uidset_runs(uids, i, UIDSET_MAX, UIDSET_MAX_UIDS, &i);

		if (!st->ops->fetch_meta(st, set, MH_STORE_META_SIZE | MH_STORE_META_HEADERS, 0,
		                         on_named_meta, *list, error))
			return false;
	}
	g_ptr_array_sort(*list, named_cmp);
	return true;
}

/* The reason recorded for message @uid in @res->errors ("message UID N: why"), or NULL. */
static const char *
named_failure_reason(const struct mh_sync_folder_result *res, uint32_t uid)
{
	g_autofree char *prefix = g_strdup_printf("message UID %u: ", uid);

	for (guint i = 0; i < res->errors->len; i++) {
		const char *e = res->errors->pdata[i];

		if (g_str_has_prefix(e, prefix))
			return e + strlen(prefix);
	}
	return NULL;
}

/* Names the skipped and the failed messages of @res from the selected source folder, for
 * the report and the log. Best effort: a source that cannot be read again leaves them
 * with their UID, size and reason only. */
static void
named_skipped_and_failed(struct mh_store *src, struct mh_sync_folder_result *res)
{
	g_autoptr(GArray) uids = g_array_new(false, false, sizeof(guint32));
	g_autoptr(GPtrArray) named = NULL;
	g_autoptr(GHashTable) by_uid = g_hash_table_new(NULL, NULL);
	g_autoptr(GError) error = NULL;
	GHashTableIter it;
	gpointer key;

	for (guint i = 0; i < res->skipped->len && i < MH_SYNC_NAMED_MAX; i++)
		g_array_append_val(uids, ((struct mh_sync_skip *)res->skipped->pdata[i])->uid);
	if (res->refused != NULL) {
		g_hash_table_iter_init(&it, res->refused);
		while (g_hash_table_iter_next(&it, &key, NULL)) {
			guint32 uid = GPOINTER_TO_UINT(key);

			g_array_append_val(uids, uid);
		}
	}
	if (uids->len == 0)
		return;
	if (!named_fetch(src, uids, &named, &error)) {
		mh_log(MH_LOG_WARN, "%s: cannot name the skipped and failed messages: %s",
		       res->src_name, error->message);
		return;
	}
	for (guint i = 0; named != NULL && i < named->len; i++) {
		struct mh_sync_named *n = named->pdata[i];

		g_hash_table_insert(by_uid, GUINT_TO_POINTER(n->uid), n);
	}
	for (guint i = 0; i < res->skipped->len; i++) {
		struct mh_sync_skip *s = res->skipped->pdata[i];
		struct mh_sync_named *n = g_hash_table_lookup(by_uid, GUINT_TO_POINTER(s->uid));

		if (n == NULL || s->message_id != NULL || s->date != NULL || s->subject != NULL)
			continue;
		s->message_id = g_strdup(n->message_id);
		s->date = g_strdup(n->date);
		s->subject = g_strdup(n->subject);
	}
	g_clear_pointer(&res->failed_msgs, g_ptr_array_unref);
	if (res->refused == NULL)
		return;
	res->failed_msgs = g_ptr_array_new_with_free_func((GDestroyNotify)named_free);
	for (guint i = 0; named != NULL && i < named->len; i++) {
		const struct mh_sync_named *n = named->pdata[i];
		struct mh_sync_named *f;
		const char *why;

		if (!g_hash_table_contains(res->refused, GUINT_TO_POINTER(n->uid)))
			continue;
		why = named_failure_reason(res, n->uid);
		f = g_new0(struct mh_sync_named, 1);
		f->uid = n->uid;
		f->size = n->size;
		f->message_id = g_strdup(n->message_id);
		f->date = g_strdup(n->date);
		f->subject = g_strdup(n->subject);
		f->reason = g_strdup(why != NULL ? why : "failed");
		g_ptr_array_add(res->failed_msgs, f);
	}
}

/* The UIDs of @msgs (struct sync_msg *), a new array. */
static GArray *
named_uids_of(GPtrArray *msgs)
{
	GArray *uids = g_array_new(false, false, sizeof(guint32));

	for (guint i = 0; i < msgs->len; i++)
		g_array_append_val(uids, ((struct sync_msg *)msgs->pdata[i])->uid);
	return uids;
}

static void
verify_reset(struct mh_sync_folder_result *res)
{
	res->missing = 0;
	res->extra = 0;
	res->strays = 0;
	g_clear_pointer(&res->missing_msgs, g_ptr_array_unref);
	g_clear_pointer(&res->extra_msgs, g_ptr_array_unref);
	g_clear_pointer(&res->stray_msgs, g_ptr_array_unref);
	res->content_paired = res->content_checked = 0;
	res->content_same_bytes = res->content_same_structure = res->content_differs = 0;
	g_clear_pointer(&res->content_diffs, g_ptr_array_unref);
}

/* Sorts the destination messages no source message answers for (@unmatched, struct
 * sync_msg *) into duplicates and strays by whether @src has their identity at all,
 * counts them in @res and names them from @dst_store. */
static bool
verify_extras(struct mh_store *dst_store, struct mh_sync_folder_result *res, GPtrArray *src,
              GPtrArray *unmatched, GError **error)
{
	g_autoptr(GHashTable) src_ids = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GArray) dups = g_array_new(false, false, sizeof(guint32));
	g_autoptr(GArray) strays = g_array_new(false, false, sizeof(guint32));

	for (guint i = 0; i < src->len; i++)
		g_hash_table_add(src_ids, (char *)sync_msg_fingerprint(src->pdata[i]));
	for (guint i = 0; i < unmatched->len; i++) {
		const struct sync_msg *d = unmatched->pdata[i];

		g_array_append_val(g_hash_table_contains(src_ids, (char *)sync_msg_fingerprint(d))
		                           ? dups
		                           : strays,
		                   d->uid);
	}
	res->extra = dups->len;
	res->strays = strays->len;
	return named_fetch(dst_store, dups, &res->extra_msgs, error) &&
	       named_fetch(dst_store, strays, &res->stray_msgs, error);
}

/* --- verify: both sides listed --- */

/* A source message no destination message answers for: skipped (flagged \Deleted, where
 * such messages are not copied), copied under another Gmail label, or missing. */
static void
verify_unmatched(struct sync_worker *w, struct mh_sync_folder_result *res, const struct sync_msg *m,
                 GArray *missing)
{
	const struct sync_labels *sl = w->shared != NULL ? w->shared->labels : NULL;
	const char *owner = NULL;
	g_autofree char *record = NULL;

	if (w->opts->skip_deleted && m->flags != 0 &&
	    strstr(sync_msg_flags(m), "\\Deleted") != NULL) {
		sync_folder_add_skip(res, m, "flagged \\Deleted on the source");
	} else if (sl != NULL && !sync_labels_owns(sl, res->src_name, m->uid, &owner, &record)) {
		res->labelled++; /* its copy is in its first label's folder */
		sync_folder_note_labelled(res, m->uid, owner);
	} else {
		res->missing++;
		g_array_append_val(missing, m->uid);
	}
}

/* The destination folder's messages with identities (selecting it), or none. */
static GPtrArray *
verify_list_dst(struct sync_worker *w, struct mh_sync_folder_result *res, bool dst_exists,
                GError **error)
{
	struct mh_store_box box = {0};

	if (!dst_exists)
		return g_ptr_array_new_with_free_func((GDestroyNotify)sync_msg_free);
	if (!w->dst->ops->select(w->dst, res->dst_name, false, &box, error))
		return NULL;
	mh_store_box_clear(&box);
	return sync_list_msgs(w->dst, "1:*", MH_STORE_META_SIZE | MH_STORE_META_HEADERS, 0, error);
}

bool
sync_verify_compare(struct sync_worker *w, struct mh_sync_folder_result *res, GPtrArray *src,
                    bool dst_exists, GError **error)
{
	g_autoptr(GPtrArray) dst = NULL;
	g_autoptr(GHashTable) pool =
		g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_queue_free);
	g_autoptr(GHashTable) taken = g_hash_table_new(NULL, NULL);
	g_autoptr(GArray) missing = g_array_new(false, false, sizeof(guint32));
	g_autoptr(GPtrArray) extra = g_ptr_array_new();
	g_autoptr(GArray) pairs = g_array_new(false, false, sizeof(struct sync_pair));

	verify_reset(res);
	dst = verify_list_dst(w, res, dst_exists, error);
	if (dst == NULL)
		return false;
	/* Counted from the listing, never from STATUS on a selected folder. */
	res->dst_count = res->dst_bytes = 0;
	for (guint i = 0; i < dst->len; i++) {
		struct sync_msg *d = dst->pdata[i];
		GQueue *q = g_hash_table_lookup(pool, (char *)sync_msg_fingerprint(d));

		if (q == NULL)
			g_hash_table_insert(pool, (char *)sync_msg_fingerprint(d),
			                    q = g_queue_new());
		g_queue_push_tail(q, d);
		res->dst_count++;
		res->dst_bytes += d->size;
	}
	for (guint i = 0; i < src->len; i++) {
		struct sync_msg *m = src->pdata[i];
		GQueue *q = g_hash_table_lookup(pool, (char *)sync_msg_fingerprint(m));

		if (q != NULL && !g_queue_is_empty(q)) {
			struct sync_msg *d = g_queue_pop_head(q); /* the lowest UID answers */

			g_hash_table_add(taken, d);
			g_array_append_val(pairs,
			                   ((struct sync_pair){m->uid, d->uid, m->size, d->size}));
		} else {
			verify_unmatched(w, res, m, missing);
		}
	}
	/* What no source message took is extra, duplicates included; not countable where
	 * other source folders are merged into the destination folder. */
	for (guint i = 0; !res->dst_shared && i < dst->len; i++) {
		struct sync_msg *d = dst->pdata[i];

		if (!g_hash_table_contains(taken, d))
			g_ptr_array_add(extra, d);
	}
	if (!named_fetch(w->src, missing, &res->missing_msgs, error))
		return false;
	named_skipped_and_failed(w->src, res);
	return verify_extras(w->dst, res, src, extra, error) &&
	       (!w->opts->content || sync_verify_content(w, res, pairs, error));
}

/* --- after a sync: the UID map (the state's records and this run's matches and copies)
 * says which destination message answers for which source message --- */

/* The destination UIDs the records map to (sorted). A record whose source message went
 * since (deleted there, or moved by --delete1) still accounts for its copy: that copy is
 * neither a duplicate nor a stray, and --delete2 is what removes it. */
static GArray *
verify_live_dst(struct sync_map *map)
{
	const GArray *recs = sync_map_all(map);
	GArray *live = g_array_sized_new(false, false, sizeof(guint32), recs->len);

	for (guint i = 0; i < recs->len; i++) {
		const struct sync_rec *e = &g_array_index(recs, struct sync_rec, i);

		if (e->dst_uid != 0)
			g_array_append_val(live, e->dst_uid);
	}
	sync_uids_sort(live);
	return live;
}

static GPtrArray *
verify_list_all(struct mh_store *st, GArray *uids, GError **error)
{
	if (uids->len == 0)
		return g_ptr_array_new_with_free_func((GDestroyNotify)sync_msg_free);
	g_array_sort(uids, sync_uid_cmp);
	return sync_list_uids(st, uids, MH_STORE_META_SIZE | MH_STORE_META_HEADERS, error);
}

GPtrArray *
sync_verify_excess(GPtrArray *src, GPtrArray *dst, const GArray *live, bool strays)
{
	g_autoptr(GHashTable) src_n = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) dst_n = g_hash_table_new(g_str_hash, g_str_equal);
	GPtrArray *out = g_ptr_array_new();

	for (guint i = 0; i < src->len; i++) {
		const char *fp = sync_msg_fingerprint(src->pdata[i]);
		guint n = GPOINTER_TO_UINT(g_hash_table_lookup(src_n, fp));

		g_hash_table_insert(src_n, (char *)fp, GUINT_TO_POINTER(n + 1));
	}
	for (guint i = 0; i < dst->len; i++) {
		const char *fp = sync_msg_fingerprint(dst->pdata[i]);
		guint n = GPOINTER_TO_UINT(g_hash_table_lookup(dst_n, fp));

		g_hash_table_insert(dst_n, (char *)fp, GUINT_TO_POINTER(n + 1));
	}
	for (guint i = dst->len; i-- > 0;) {
		struct sync_msg *d = dst->pdata[i];
		guint have = GPOINTER_TO_UINT(
			g_hash_table_lookup(dst_n, (char *)sync_msg_fingerprint(d)));
		guint want = GPOINTER_TO_UINT(
			g_hash_table_lookup(src_n, (char *)sync_msg_fingerprint(d)));

		if (have <= want || (want == 0 && !strays) || sync_uids_has(live, d->uid))
			continue;
		g_hash_table_insert(dst_n, (char *)sync_msg_fingerprint(d),
		                    GUINT_TO_POINTER(have - 1));
		g_ptr_array_insert(out, 0, d);
	}
	return out;
}

/* Lists both folders with identities when some destination message is not mapped
 * (*src_r and *dst_r stay NULL when every one is: then nothing is in excess). */
static bool
verify_list_unmapped(struct sync_worker *w, const GArray *live, const GArray *src_uids,
                     const GArray *known_dst, GPtrArray **src_r, GPtrArray **dst_r, GError **error)
{
	g_autoptr(GArray) dst_uids = known_dst != NULL ? g_array_copy((GArray *)known_dst) : NULL;
	g_autoptr(GArray) src_list = NULL;
	bool unmapped = false;

	*src_r = *dst_r = NULL;
	if (dst_uids == NULL && !w->dst->ops->search(w->dst, "ALL", &dst_uids, error))
		return false;
	for (guint i = 0, at = 0; !unmapped && i < dst_uids->len; i++)
		unmapped = !sync_uids_has_at(live, g_array_index(dst_uids, guint32, i), &at);
	if (!unmapped)
		return true;
	src_list = g_array_copy((GArray *)src_uids);
	*src_r = verify_list_all(w->src, src_list, error);
	if (*src_r == NULL)
		return false;
	*dst_r = verify_list_all(w->dst, dst_uids, error);
	if (*dst_r == NULL) {
		g_clear_pointer(src_r, g_ptr_array_unref);
		return false;
	}
	return true;
}

/* The source messages of @src_uids (sorted) that neither @map nor res->skipped nor the
 * refusals account for: counted and named as missing. */
static bool
verify_missing(struct sync_worker *w, struct mh_sync_folder_result *res, struct sync_map *map,
               const GArray *src_uids, GError **error)
{
	g_autoptr(GHashTable) skipped = g_hash_table_new(NULL, NULL);
	g_autoptr(GArray) missing = g_array_new(false, false, sizeof(guint32));

	for (guint i = 0; i < res->skipped->len; i++)
		g_hash_table_add(
			skipped,
			GUINT_TO_POINTER(((struct mh_sync_skip *)res->skipped->pdata[i])->uid));
	for (guint i = 0, at = 0; i < src_uids->len; i++) {
		guint32 uid = g_array_index(src_uids, guint32, i);
		gpointer key = GUINT_TO_POINTER(uid);

		/* A message the destination refused (or that failed) is counted as failed and
		 * named with its reason, not counted again as missing. */
		if (sync_map_find_at(map, uid, &at) == NULL &&
		    !g_hash_table_contains(skipped, key) &&
		    (res->refused == NULL || !g_hash_table_contains(res->refused, key)))
			g_array_append_val(missing, uid);
	}
	res->missing = missing->len;
	if (!named_fetch(w->src, missing, &res->missing_msgs, error))
		return false;
	named_skipped_and_failed(w->src, res);
	return true;
}

bool
sync_verify_after_narrow(struct sync_worker *w, struct mh_sync_folder_result *res,
                         struct sync_map *map, const GArray *new_uids, GError **error)
{
	verify_reset(res);
	return verify_missing(w, res, map, new_uids, error);
}

bool
sync_verify_after_sync(struct sync_worker *w, struct mh_sync_folder_result *res,
                       struct sync_map *map, const GArray *src_uids, bool dst_exists,
                       const GArray *dst_uids, GError **error)
{
	g_autoptr(GArray) live = NULL;
	g_autoptr(GPtrArray) src = NULL;
	g_autoptr(GPtrArray) dst = NULL;
	g_autoptr(GPtrArray) extra = NULL;

	verify_reset(res);
	if (!verify_missing(w, res, map, src_uids, error))
		return false;
	if (!dst_exists || res->dst_shared)
		return true;
	live = verify_live_dst(map);
	if (!verify_list_unmapped(w, live, src_uids, dst_uids, &src, &dst, error))
		return false;
	if (dst == NULL)
		return true;
	extra = sync_verify_excess(src, dst, live, true);
	if (!verify_extras(w->dst, res, src, extra, error))
		return false;
	if (res->extra > 0)
		mh_log(MH_LOG_WARN,
		       "%s: %" G_GUINT64_FORMAT " destination messages are duplicates (named in "
		       "the report; --delete2duplicates removes them)",
		       res->src_name, res->extra);
	if (res->strays > 0)
		mh_log(MH_LOG_INFO,
		       "%s: %" G_GUINT64_FORMAT " destination messages are not on the source "
		       "(named in the report; --delete2 removes them)",
		       res->src_name, res->strays);
	return true;
}

/* --- --delete2duplicates --- */

bool
sync_delete_duplicates(struct sync_worker *w, struct mh_sync_folder_result *res,
                       struct sync_map *map, const GArray *src_uids, GError **error)
{
	g_autoptr(GArray) live = verify_live_dst(map);
	g_autoptr(GPtrArray) src = NULL;
	g_autoptr(GPtrArray) dst = NULL;
	g_autoptr(GPtrArray) dups = NULL;
	g_autoptr(GArray) doomed = NULL;
	g_autoptr(GArray) named = NULL;
	guint i = 0;

	if (res->dst_shared) {
		mh_log(MH_LOG_WARN,
		       "%s: --delete2duplicates leaves '%s' alone: other source folders are merged "
		       "into it",
		       res->src_name, res->dst_name);
		return true;
	}
	if (!verify_list_unmapped(w, live, src_uids, NULL, &src, &dst, error))
		return false;
	if (dst == NULL)
		return true;
	dups = sync_verify_excess(src, dst, live, false);
	doomed = named_uids_of(dups);
	if (!sync_dst_scope(w, doomed, error))
		return false;
	named = g_array_copy(doomed);
	for (guint k = 0; k < doomed->len; k++)
		mh_log(MH_LOG_INFO, "%s: %s duplicate UID %u", res->dst_name,
		       w->opts->dry ? "would delete" : "deleting",
		       g_array_index(doomed, guint32, k));
	res->deleted_dst += doomed->len;
	/* named while they are still there */
	if (!named_fetch(w->dst, named, &res->deleted_dups, error))
		return false;
	if (doomed->len == 0 || w->opts->dry)
		return true;
	while (i < doomed->len) {
		g_autofree char *set =
			mh_store_uidset_runs(doomed, i, UIDSET_MAX, UIDSET_MAX_UIDS, &i);

		if (!w->dst->ops->delete_msgs(w->dst, set, error))
			return false;
	}
	return true;
}
