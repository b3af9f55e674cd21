/* SPDX-License-Identifier: MIT */
/* Gmail's labels are folders: a message with three labels is listed in three folders (and
 * in All Mail). Copied folder by folder it would land three (four) times on the
 * destination. Before the workers start, every selected source folder is listed for its
 * messages' identities (X-GM-MSGID where the server has X-GM-EXT-1, else the header
 * fingerprint), and each identity gets one owner: the folder it was copied into on an
 * earlier run, else its highest-priority label (user labels, then INBOX, Sent, Drafts,
 * the other special folders, All Mail last). The workers copy only what their folder
 * owns and record the rest as "copied under another label". */
#include <inttypes.h>
#include <string.h>

#include "mh-log.h"
#include "sync-private.h"

/* A label record's fingerprint: the identity with this prefix, dst_uid 0. */
#define LABEL_RECORD_PREFIX "label:"

struct sync_label_folder {
	char *src_name;     /* owned */
	char *dst_name;     /* owned */
	unsigned role;      /* special-use role from the plan */
	int rank;           /* lower copies first */
	GHashTable *ids;    /* owned; uid -> identity (char *, owned) */
	GHashTable *placed; /* owned; identities this folder holds a copy of (earlier runs) */
};

struct sync_labels {
	GPtrArray *folders;  /* owned; struct sync_label_folder *, by rank */
	GHashTable *by_name; /* src name -> struct sync_label_folder * (borrowed) */
	GHashTable *owner;   /* identity -> struct sync_label_folder * (borrowed keys) */
	GHashTable *where;   /* identity -> GPtrArray of struct sync_label_folder * */
	enum mh_sync_labels mode;
};

static void
label_folder_free(struct sync_label_folder *f)
{
	g_free(f->src_name);
	g_free(f->dst_name);
	g_clear_pointer(&f->ids, g_hash_table_unref);
	g_clear_pointer(&f->placed, g_hash_table_unref);
	g_free(f);
}

void
sync_labels_free(struct sync_labels *sl)
{
	if (sl == NULL)
		return;
	g_hash_table_unref(sl->owner);
	g_hash_table_unref(sl->where);
	g_hash_table_unref(sl->by_name);
	g_ptr_array_unref(sl->folders);
	g_free(sl);
}

static int
label_rank(const char *name, unsigned role)
{
	if (g_ascii_strcasecmp(name, "INBOX") == 0)
		return 1;
	switch (role) {
	case 0:
		return 0;
	case MH_IMAP_ATTR_SENT:
		return 2;
	case MH_IMAP_ATTR_DRAFTS:
		return 3;
	case MH_IMAP_ATTR_ALL:
		return 9;
	default:
		return 4;
	}
}

static gint
label_folder_cmp(gconstpointer a, gconstpointer b)
{
	const struct sync_label_folder *x = *(struct sync_label_folder *const *)a;
	const struct sync_label_folder *y = *(struct sync_label_folder *const *)b;

	return x->rank - y->rank;
}

struct label_list {
	GHashTable *ids;
};

static void
on_label_meta(const struct mh_store_meta *m, void *ctx)
{
	struct label_list *ll = ctx;

	if (m->gm_msgid != 0)
		g_hash_table_insert(ll->ids, GUINT_TO_POINTER(m->uid),
		                    g_strdup_printf("gm:%" PRIu64, m->gm_msgid));
}

/* Lists the identities of one source folder. */
static bool
labels_list_folder(struct mh_store *st, bool gmail_ext, struct sync_label_folder *f, GError **error)
{
	struct mh_store_box box = {0};
	bool ok;

	if (!st->ops->select(st, f->src_name, false, &box, error))
		return false;
	f->ids = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	if (box.exists == 0) {
		mh_store_box_clear(&box);
		return true;
	}
	mh_store_box_clear(&box);
	if (gmail_ext) {
		struct label_list ll = {.ids = f->ids};

		ok = st->ops->fetch_meta(st, "1:*", MH_STORE_META_GMAIL, 0, on_label_meta, &ll,
		                         error);
	} else {
		g_autoptr(GPtrArray) msgs = sync_list_msgs(
			st, "1:*", MH_STORE_META_HEADERS | MH_STORE_META_SIZE, 0, error);

		ok = msgs != NULL;
		for (guint i = 0; ok && i < msgs->len; i++) {
			struct sync_msg *m = msgs->pdata[i];

			if (sync_msg_fingerprint(m) != NULL)
				g_hash_table_insert(f->ids, GUINT_TO_POINTER(m->uid),
				                    g_strdup(sync_msg_fingerprint(m)));
		}
	}
	return ok;
}

/* The identities this folder already holds a copy of, from the state (its records other
 * than label records). */
static bool
labels_load_placed(struct mh_state *state, struct sync_label_folder *f, GError **error)
{
	struct mh_state_folder sf = {0};
	g_autoptr(GHashTable) map = NULL;
	GHashTableIter it;
	gpointer key, value;
	int found;

	f->placed = g_hash_table_new(g_str_hash, g_str_equal);
	if (state == NULL)
		return true;
	found = mh_state_folder_get(state, f->src_name, &sf, error);
	if (found < 0)
		return false;
	if (found == 0) {
		mh_state_folder_clear(&sf);
		return true;
	}
	map = mh_state_msgs_load(state, sf.id, error);
	mh_state_folder_clear(&sf);
	if (map == NULL)
		return false;
	g_hash_table_iter_init(&it, f->ids);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		const struct mh_state_msg *rec = g_hash_table_lookup(map, key);

		if (rec != NULL &&
		    !g_str_has_prefix(rec->fingerprint != NULL ? rec->fingerprint : "",
		                      LABEL_RECORD_PREFIX))
			g_hash_table_add(f->placed, value);
	}
	return true;
}

static void
labels_assign(struct sync_labels *sl)
{
	/* Earlier runs' copies first: a message stays where it was copied. */
	for (guint i = 0; i < sl->folders->len; i++) {
		struct sync_label_folder *f = sl->folders->pdata[i];
		GHashTableIter it;
		gpointer id;

		g_hash_table_iter_init(&it, f->placed);
		while (g_hash_table_iter_next(&it, &id, NULL)) {
			if (!g_hash_table_contains(sl->owner, id))
				g_hash_table_insert(sl->owner, id, f);
		}
	}
	for (guint i = 0; i < sl->folders->len; i++) {
		struct sync_label_folder *f = sl->folders->pdata[i];
		GHashTableIter it;
		gpointer id;

		g_hash_table_iter_init(&it, f->ids);
		while (g_hash_table_iter_next(&it, NULL, &id)) {
			GPtrArray *w = g_hash_table_lookup(sl->where, id);

			if (!g_hash_table_contains(sl->owner, id))
				g_hash_table_insert(sl->owner, id, f);
			if (w == NULL) {
				w = g_ptr_array_new();
				g_hash_table_insert(sl->where, id, w);
			}
			if (!g_ptr_array_find(w, f, NULL))
				g_ptr_array_add(w, f);
		}
	}
}

struct sync_labels *
sync_labels_new(struct mh_store *src, const GPtrArray *entries, enum mh_sync_labels mode,
                struct mh_state *state, GError **error)
{
	struct sync_labels *sl = g_new0(struct sync_labels, 1);
	const struct mh_store_info *info = src->ops->info != NULL ? src->ops->info(src) : NULL;
	bool gmail_ext = info != NULL && info->gmail_ext;
	g_autoptr(GTimer) timer = g_timer_new();
	guint n = 0;

	sl->mode = mode;
	sl->folders = g_ptr_array_new_with_free_func((GDestroyNotify)label_folder_free);
	sl->by_name = g_hash_table_new(g_str_hash, g_str_equal);
	sl->owner = g_hash_table_new(g_str_hash, g_str_equal);
	sl->where = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
	                                  (GDestroyNotify)g_ptr_array_unref);
	for (guint i = 0; i < entries->len; i++) {
		const struct mh_plan_entry *pe = entries->pdata[i];
		struct sync_label_folder *f;

		if (!pe->selected || pe->container_only)
			continue;
		f = g_new0(struct sync_label_folder, 1);
		f->src_name = g_strdup(pe->src_name);
		f->dst_name = g_strdup(pe->dst_name);
		f->role = mh_plan_special_use_of_attrs(pe->src_attrs);
		f->rank = label_rank(pe->src_name, f->role);
		g_ptr_array_add(sl->folders, f);
		g_hash_table_insert(sl->by_name, f->src_name, f);
	}
	/* A stable sort keeps the plan's order within a rank. */
	g_ptr_array_sort(sl->folders, label_folder_cmp);
	for (guint i = 0; i < sl->folders->len; i++) {
		struct sync_label_folder *f = sl->folders->pdata[i];

		if (!labels_list_folder(src, gmail_ext, f, error) ||
		    !labels_load_placed(state, f, error)) {
			g_prefix_error(error, "%s: listing the labels of %s: ", src->label,
			               f->src_name);
			sync_labels_free(sl);
			return NULL;
		}
		n += g_hash_table_size(f->ids);
	}
	labels_assign(sl);
	mh_log(MH_LOG_INFO,
	       "Gmail labels: %u messages in %u folders are %u distinct messages (identity by "
	       "%s, %.2f s)",
	       n, sl->folders->len, g_hash_table_size(sl->where),
	       gmail_ext ? "X-GM-MSGID" : "message headers", g_timer_elapsed(timer, NULL));
	return sl;
}

/* The identity of @uid in source folder @folder, or NULL (a message that arrived after
 * the listing: its folder owns it). */
static const char *
labels_identity(const struct sync_labels *sl, const char *folder, uint32_t uid,
                const struct sync_label_folder **f_r)
{
	const struct sync_label_folder *f = g_hash_table_lookup(sl->by_name, folder);

	*f_r = f;
	return f != NULL ? g_hash_table_lookup(f->ids, GUINT_TO_POINTER(uid)) : NULL;
}

bool
sync_labels_owns(const struct sync_labels *sl, const char *folder, uint32_t uid,
                 const char **owner_r, char **record_r)
{
	const struct sync_label_folder *f;
	const char *id = labels_identity(sl, folder, uid, &f);
	const struct sync_label_folder *owner;
	GPtrArray *w;

	*owner_r = NULL;
	*record_r = NULL;
	if (id == NULL)
		return true;
	if (sl->mode == MH_SYNC_LABELS_COPY) {
		/* One copy per label; All Mail adds only what has no label. */
		w = g_hash_table_lookup(sl->where, id);
		if (f->role != MH_IMAP_ATTR_ALL || w == NULL || w->len < 2)
			return true;
		for (guint i = 0; i < w->len; i++) {
			const struct sync_label_folder *o = w->pdata[i];

			if (o != f) {
				*owner_r = o->dst_name;
				break;
			}
		}
	} else {
		owner = g_hash_table_lookup(sl->owner, id);
		if (owner == NULL || owner == f)
			return true;
		*owner_r = owner->dst_name;
	}
	*record_r = g_strconcat(LABEL_RECORD_PREFIX, id, NULL);
	return false;
}

/* A keyword from a label name: the characters IMAP atoms cannot hold become '_'. */
static char *
labels_keyword(const char *name)
{
	GString *out = g_string_new(NULL);

	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p <= ' ' || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			g_string_append_c(out, '_');
		else
			g_string_append_c(out, (char)*p);
	}
	return g_string_free(out, false);
}

/* Gmail's name for the label a folder stands for on a Gmail destination. */
static char *
labels_gmail_name(const struct sync_label_folder *f)
{
	if (g_ascii_strcasecmp(f->src_name, "INBOX") == 0)
		return g_strdup("\\Inbox");
	switch (f->role) {
	case MH_IMAP_ATTR_SENT:
		return g_strdup("\\Sent");
	case MH_IMAP_ATTR_DRAFTS:
		return g_strdup("\\Draft");
	case MH_IMAP_ATTR_TRASH:
		return g_strdup("\\Trash");
	case MH_IMAP_ATTR_JUNK:
		return g_strdup("\\Spam");
	case MH_IMAP_ATTR_FLAGGED:
		return g_strdup("\\Starred");
	case MH_IMAP_ATTR_IMPORTANT:
		return g_strdup("\\Important");
	default:
		return g_strdup(f->dst_name);
	}
}

GPtrArray *
sync_labels_others(const struct sync_labels *sl, const char *folder, uint32_t uid, bool keywords)
{
	const struct sync_label_folder *f;
	const char *id = labels_identity(sl, folder, uid, &f);
	GPtrArray *w = id != NULL ? g_hash_table_lookup(sl->where, id) : NULL;
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; w != NULL && i < w->len; i++) {
		const struct sync_label_folder *o = w->pdata[i];

		if (o == f || o->role == MH_IMAP_ATTR_ALL)
			continue;
		g_ptr_array_add(out, keywords ? labels_keyword(o->dst_name) : labels_gmail_name(o));
	}
	return out;
}
