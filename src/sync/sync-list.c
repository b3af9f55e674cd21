/* SPDX-License-Identifier: MIT */
/* Listing messages for the engine: metadata fetched in ranges into struct sync_msg, UID
 * sets, and the flags a destination keeps (PERMANENTFLAGS, never \\Recent). */
#include <string.h>

#include "mh-log.h"
#include "sync-fingerprint.h"
#include "sync-private.h"

void
sync_msg_free(struct sync_msg *m)
{
	if (m == NULL)
		return;
	g_free(m->flags);
	g_free(m->date);
	g_free(m->fingerprint);
	g_free(m);
}

static bool
flag_listed(const GPtrArray *list, const char *flag)
{
	for (guint i = 0; list != NULL && i < list->len; i++) {
		if (g_ascii_strcasecmp(list->pdata[i], flag) == 0)
			return true;
	}
	return false;
}

static gint
flag_cmp(gconstpointer a, gconstpointer b)
{
	return g_ascii_strcasecmp(*(char *const *)a, *(char *const *)b);
}

char *
sync_flags_for_dest(const char *flags, const struct mh_store_box *box, const char *drop)
{
	g_auto(GStrv) dropped = g_strsplit(drop != NULL ? drop : "", " ", -1);
	g_auto(GStrv) words = g_strsplit(flags != NULL ? flags : "", " ", -1);
	g_autoptr(GPtrArray) keep = g_ptr_array_new();
	bool unrestricted = box == NULL || (box->permanentflags == NULL && !box->all_keywords) ||
	                    (box->permanentflags->len == 0 && !box->all_keywords);
	GString *out = g_string_new(NULL);

	for (size_t i = 0; words[i] != NULL; i++) {
		const char *f = words[i];

		if (*f == '\0' || g_ascii_strcasecmp(f, "\\Recent") == 0)
			continue;
		if (drop != NULL && g_strv_contains((const char *const *)dropped, f))
			continue;
		if (!unrestricted && !flag_listed(box->permanentflags, f) &&
		    (f[0] == '\\' || !box->all_keywords))
			continue;
		if (!flag_listed(keep, f))
			g_ptr_array_add(keep, (char *)f);
	}
	g_ptr_array_sort(keep, flag_cmp);
	for (guint i = 0; i < keep->len; i++)
		g_string_append_printf(out, "%s%s", i > 0 ? " " : "", (char *)keep->pdata[i]);
	return g_string_free(out, false);
}

char *
sync_flags_rewrite(const GPtrArray *rules, const char *flags)
{
	char *out = g_strdup(flags != NULL ? flags : "");

	for (guint i = 0; rules != NULL && i < rules->len; i++) {
		g_autoptr(GError) error = NULL;
		char *next = mh_plan_regextrans_apply(rules->pdata[i], out, &error);

		if (next == NULL) {
			mh_log(MH_LOG_WARN, "--regexflag: %s", error->message);
			continue;
		}
		g_free(out);
		out = next;
	}
	return out;
}

struct meta_load {
	GPtrArray *msgs; /* struct sync_msg * */
	bool fingerprints;
};

static void
on_meta(const struct mh_store_meta *m, void *ctx)
{
	struct meta_load *ml = ctx;
	struct sync_msg *msg = g_new0(struct sync_msg, 1);

	msg->uid = m->uid;
	msg->size = m->size;
	msg->flags = g_strdup(m->flags);
	msg->date = g_strdup(m->date);
	if (ml->fingerprints)
		msg->fingerprint = mh_fingerprint_compute(m->headers != NULL ? m->headers : "",
		                                          m->headers != NULL ? m->headers_len : 0);
	g_ptr_array_add(ml->msgs, msg);
}

gint
sync_msg_cmp(gconstpointer a, gconstpointer b)
{
	const struct sync_msg *x = *(struct sync_msg *const *)a;
	const struct sync_msg *y = *(struct sync_msg *const *)b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Lists @uidset ("1:*" or explicit) of the selected folder of @st. */
GPtrArray *
sync_list_msgs(struct mh_store *st, const char *uidset, unsigned items, uint64_t changedsince,
               GError **error)
{
	struct meta_load ml = {
		.msgs = g_ptr_array_new_with_free_func((GDestroyNotify)sync_msg_free),
		.fingerprints = (items & MH_STORE_META_HEADERS) != 0,
	};

	if (!st->ops->fetch_meta(st, uidset, items, changedsince, on_meta, &ml, error)) {
		g_ptr_array_free(ml.msgs, true);
		return NULL;
	}
	g_ptr_array_sort(ml.msgs, sync_msg_cmp);
	return ml.msgs;
}

/* Lists the messages with UIDs @uids (fetched in ranges). */
GPtrArray *
sync_list_uids(struct mh_store *st, const GArray *uids, unsigned items, GError **error)
{
	GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)sync_msg_free);
	guint i = 0;

	while (i < uids->len) {
		g_autofree char *set =
			mh_store_uidset_runs(uids, i, UIDSET_MAX, UIDSET_MAX_UIDS, &i);
		GPtrArray *part = sync_list_msgs(st, set, items, 0, error);

		if (part == NULL) {
			g_ptr_array_free(all, true);
			return NULL;
		}
		g_ptr_array_extend_and_steal(all, part);
	}
	g_ptr_array_sort(all, sync_msg_cmp);
	return all;
}

gint
sync_uid_cmp(gconstpointer a, gconstpointer b)
{
	guint32 x = *(const guint32 *)a;
	guint32 y = *(const guint32 *)b;

	return x < y ? -1 : x > y;
}

struct sync_both_job {
	sync_side_fn *fn;
	void *ctx;
	GError *error;
	bool ok;
};

static gpointer
sync_both_run(gpointer data)
{
	struct sync_both_job *j = data;

	j->ok = j->fn(j->ctx, &j->error);
	return NULL;
}

bool
sync_both(sync_side_fn *a, void *actx, sync_side_fn *b, void *bctx, GError **error)
{
	struct sync_both_job j = {.fn = b, .ctx = bctx};
	GThread *t = g_thread_new("side", sync_both_run, &j);
	bool ok = a(actx, error);

	g_thread_join(t);
	if (ok && !j.ok) {
		g_propagate_error(error, j.error);
		return false;
	}
	g_clear_error(&j.error);
	return ok && j.ok;
}

GHashTable *
sync_uid_set_of(const GArray *uids)
{
	GHashTable *set = g_hash_table_new(NULL, NULL);

	for (guint i = 0; uids != NULL && i < uids->len; i++)
		g_hash_table_add(set, GUINT_TO_POINTER(g_array_index(uids, guint32, i)));
	return set;
}
