/* SPDX-License-Identifier: MIT */
/* verify --content: the message pairs verify found (a source message and the destination
 * message of the same identity) compared by content, all of them or a seeded random
 * sample per folder. Bodies come in ranged UID FETCHes of bounded parts, the source's
 * then the destination's, each message digested as it streams (sync-content.c); only the
 * digests of one part are held. Design: docs/internals/content.md. */
#include <string.h>

#include "mh-log.h"
#include "sync-content.h"
#include "sync-private.h"

/* Pairs per part, and source bytes per part (one message alone may be larger). */
#define CONTENT_PART_MSGS  100
#define CONTENT_PART_BYTES (32 * 1024 * 1024)

static void
content_diff_free(struct mh_sync_content_diff *d)
{
	g_free(d->message_id);
	g_free(d->date);
	g_free(d->subject);
	if (d->what != NULL)
		g_ptr_array_unref(d->what);
	g_free(d);
}

static gint
content_idx_cmp(gconstpointer a, gconstpointer b, gpointer unused)
{
	guint x = *(const guint *)a, y = *(const guint *)b;

	(void)unused;
	return x < y ? -1 : x > y;
}

/* The pairs to compare: all, or a sample of the size the options say, chosen with a
 * generator seeded by the seed and the folder's name (so each folder gets its own, and
 * the same seed the same), in source UID order. A new reference. */
static GArray *
content_sample(const struct mh_sync_options *o, const char *folder, GArray *pairs)
{
	guint n = pairs->len, want = n;
	guint32 seed[3] = {(guint32)o->content_seed, (guint32)(o->content_seed >> 32),
	                   g_str_hash(folder)};
	g_autofree guint *idx = NULL;
	GArray *out;
	GRand *rand;

	if (o->content_sample > 0) {
		want = MIN(n, o->content_sample);
	} else if (o->content_percent > 0) {
		want = (guint)((double)n * o->content_percent / 100.0);
		if ((double)want * 100.0 < (double)n * o->content_percent)
			want++;
		want = MIN(n, want);
	}
	if (want == n)
		return g_array_ref(pairs);
	idx = g_new(guint, n);
	for (guint i = 0; i < n; i++)
		idx[i] = i;
	rand = g_rand_new_with_seed_array(seed, G_N_ELEMENTS(seed));
	for (guint i = 0; i < want; i++) {
		guint j = (guint)g_rand_int_range(rand, (gint32)i, (gint32)n);
		guint t = idx[i];

		idx[i] = idx[j];
		idx[j] = t;
	}
	g_rand_free(rand);
	out = g_array_sized_new(false, false, sizeof(struct sync_pair), want);
	g_qsort_with_data(idx, (gint)want, sizeof(guint), content_idx_cmp, NULL);
	for (guint i = 0; i < want; i++)
		g_array_append_val(out, g_array_index(pairs, struct sync_pair, idx[i]));
	return out;
}

/* --- fetching digests --- */

struct content_fetch {
	GHashTable *digests; /* uid -> struct mh_content_digest * (owned) */
	struct mh_content_reader *cur;
	uint32_t cur_uid;
	volatile int *interrupted;
};

static void
on_content_begin(void *ctx, uint32_t uid, uint64_t size)
{
	struct content_fetch *cf = ctx;

	mh_content_reader_free(cf->cur);
	cf->cur = mh_content_reader_new(size);
	cf->cur_uid = uid;
}

static void
on_content_data(void *ctx, const unsigned char *data, size_t len)
{
	struct content_fetch *cf = ctx;

	if (cf->cur != NULL)
		mh_content_reader_feed(cf->cur, data, len);
}

static void
on_content_end(void *ctx)
{
	struct content_fetch *cf = ctx;

	if (cf->cur == NULL)
		return;
	g_hash_table_replace(cf->digests, GUINT_TO_POINTER(cf->cur_uid),
	                     mh_content_reader_finish(g_steal_pointer(&cf->cur)));
}

static void
on_content_missing(void *ctx, uint32_t uid)
{
	(void)ctx;
	(void)uid; /* no digest: the pair says it vanished */
}

static bool
on_content_more(void *ctx)
{
	struct content_fetch *cf = ctx;

	return cf->interrupted == NULL || !*cf->interrupted;
}

/* Digests of the messages @uids (ascending) of the selected folder of @st: a new table
 * uid -> struct mh_content_digest *, or NULL on error. */
static GHashTable *
content_fetch(struct sync_worker *w, struct mh_store *st, const GArray *uids, GError **error)
{
	struct content_fetch cf = {
		.digests = g_hash_table_new_full(NULL, NULL, NULL,
	                                         (GDestroyNotify)mh_content_digest_free),
		.interrupted = w->opts->interrupted,
	};
	const struct mh_store_body_sink sink = {
		.begin = on_content_begin,
		.data = on_content_data,
		.end = on_content_end,
		.missing = on_content_missing,
		.more = on_content_more,
		.ctx = &cf,
	};
	bool ok = st->ops->fetch_bodies(st, uids, &sink, error);

	mh_content_reader_free(cf.cur);
	if (!ok) {
		g_hash_table_unref(cf.digests);
		return NULL;
	}
	return cf.digests;
}

/* --- comparing --- */

static void
content_note(struct mh_sync_folder_result *res, const struct sync_pair *p,
             const struct mh_content_digest *sd, GPtrArray *what)
{
	struct mh_sync_content_diff *d;
	const char *head = NULL;
	size_t len = 0;

	res->content_differs++;
	for (guint i = 0; i < what->len; i++)
		mh_log(MH_LOG_WARN, "%s: UID %u (destination UID %u) differs: %s", res->src_name,
		       p->src_uid, p->dst_uid, (const char *)what->pdata[i]);
	if (res->content_diffs == NULL)
		res->content_diffs =
			g_ptr_array_new_with_free_func((GDestroyNotify)content_diff_free);
	if (res->content_diffs->len >= MH_SYNC_NAMED_MAX)
		return;
	d = g_new0(struct mh_sync_content_diff, 1);
	d->src_uid = p->src_uid;
	d->dst_uid = p->dst_uid;
	d->src_size = p->src_size;
	d->dst_size = p->dst_size;
	if (sd != NULL)
		head = mh_content_digest_head(sd, &len);
	if (head != NULL) {
		d->message_id = sync_verify_header_field(head, len, "Message-ID");
		d->date = sync_verify_header_field(head, len, "Date");
		d->subject = sync_verify_header_field(head, len, "Subject");
	}
	d->what = g_ptr_array_ref(what);
	g_ptr_array_add(res->content_diffs, d);
}

static void
content_compare_pair(struct mh_sync_folder_result *res, const struct sync_pair *p,
                     const struct mh_content_digest *sd, const struct mh_content_digest *dd)
{
	g_autoptr(GPtrArray) what = NULL;

	res->content_checked++;
	if (sd == NULL || dd == NULL) {
		what = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(what, g_strdup_printf("the message vanished from the %s while it "
		                                      "was compared",
		                                      sd == NULL ? "source" : "destination"));
		content_note(res, p, sd, what);
		return;
	}
	switch (mh_content_compare(sd, dd, &what)) {
	case MH_CONTENT_SAME_BYTES:
		res->content_same_bytes++;
		break;
	case MH_CONTENT_SAME_STRUCTURE:
		res->content_same_structure++;
		break;
	case MH_CONTENT_DIFFERENT:
		content_note(res, p, sd, what);
		break;
	}
}

/* Compares the pairs [@from, @to) of @pairs: the source's bodies, then the
 * destination's. */
static bool
content_part(struct sync_worker *w, struct mh_sync_folder_result *res, GArray *pairs, guint from,
             guint to, GError **error)
{
	g_autoptr(GArray) src_uids = g_array_sized_new(false, false, sizeof(guint32), to - from);
	g_autoptr(GArray) dst_uids = g_array_sized_new(false, false, sizeof(guint32), to - from);
	g_autoptr(GHashTable) src = NULL;
	g_autoptr(GHashTable) dst = NULL;

	for (guint i = from; i < to; i++) {
		const struct sync_pair *p = &g_array_index(pairs, struct sync_pair, i);

		g_array_append_val(src_uids, p->src_uid);
		g_array_append_val(dst_uids, p->dst_uid);
	}
	g_array_sort(dst_uids, sync_uid_cmp);
	src = content_fetch(w, w->src, src_uids, error);
	if (src == NULL)
		return false;
	dst = content_fetch(w, w->dst, dst_uids, error);
	if (dst == NULL)
		return false;
	for (guint i = from; i < to; i++) {
		const struct sync_pair *p = &g_array_index(pairs, struct sync_pair, i);

		content_compare_pair(res, p, g_hash_table_lookup(src, GUINT_TO_POINTER(p->src_uid)),
		                     g_hash_table_lookup(dst, GUINT_TO_POINTER(p->dst_uid)));
	}
	return true;
}

bool
sync_verify_content(struct sync_worker *w, struct mh_sync_folder_result *res, GArray *pairs,
                    GError **error)
{
	g_autoptr(GArray) sample = content_sample(w->opts, res->src_name, pairs);
	guint i = 0;

	res->content_paired = pairs->len;
	while (i < sample->len) {
		guint to = i;
		uint64_t bytes = 0;

		if (w->opts->interrupted != NULL && *w->opts->interrupted)
			break;
		while (to < sample->len && to - i < CONTENT_PART_MSGS &&
		       (to == i || bytes + g_array_index(sample, struct sync_pair, to).src_size <=
		                           CONTENT_PART_BYTES)) {
			bytes += g_array_index(sample, struct sync_pair, to).src_size;
			to++;
		}
		if (!content_part(w, res, sample, i, to, error))
			return false;
		i = to;
	}
	mh_log(MH_LOG_INFO,
	       "%s: content compared for %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
	       " message pairs: %" G_GUINT64_FORMAT " the same bytes, %" G_GUINT64_FORMAT
	       " the same structure, %" G_GUINT64_FORMAT " different",
	       res->src_name, res->content_checked, res->content_paired, res->content_same_bytes,
	       res->content_same_structure, res->content_differs);
	return true;
}
