/* SPDX-License-Identifier: MIT */
/* The store interface over one IMAP connection: folders with SPECIAL-USE, metadata
 * fetched in ranges (with Gmail's X-GM-MSGID and X-GM-LABELS where offered), bodies
 * fetched pipelined and streamed through the literal sink, Gmail labels stored, and what
 * the server said about itself. Appends are in sync-store-imap-append.c. */
#include <string.h>

#include "mh-log.h"
#include "mh-secret.h"
#include "sync-error.h"
#include "sync-fingerprint.h"
#include "sync-store-imap-private.h"

/* Bodies per ranged UID FETCH, and ranged FETCHes in flight. A FETCH holds up to 2,000
 * bodies, and more from a big folder (one per five messages it holds, up to 10,000): a server
 * may pay for each command in proportion to the folder's size. Dovecot, a maildir folder of
 * 200,000 messages opened read-only while they are all \Recent (mail delivered and never
 * opened by a client): a FETCH of one body cost 82 ms (3.4 ms once a client had opened the
 * folder), and copying the folder cost the source 24-30 s of CPU in FETCHes of 2,000 and
 * 9-10 s in FETCHes of 10,000 (6-7 s without \Recent messages, either way). */
#define BODY_FETCH_UIDS     2000
#define BODY_FETCH_UIDS_MAX 10000
#define BODY_FETCH_RUNS     1000 /* UID ranges in one FETCH: a short command line */
#define BODY_FETCH_DEPTH    2

void
mh_store_box_free(struct mh_store_box *box)
{
	if (box == NULL)
		return;
	mh_store_box_clear(box);
	g_free(box);
}

void
mh_store_box_clear(struct mh_store_box *box)
{
	if (box->permanentflags != NULL)
		g_ptr_array_free(box->permanentflags, true);
	memset(box, 0, sizeof(*box));
}

static bool
imap_store_connect(struct mh_store *st, GError **error)
{
	struct store_imap *si = store_imap(st);

	si->connected = false;
	g_clear_pointer(&si->selected, g_free);
	g_clear_pointer(&si->reopen, g_free);
	g_clear_pointer(&si->conn, mh_imap_conn_free);
	si->conn = mh_imap_conn_new(&si->set);
	if (!mh_imap_conn_connect(si->conn, error) ||
	    !mh_token_login_imap(si->conn, &si->cred, si->token_cb, si->token_ctx, si->base.label,
	                         error))
		return false;
	if ((si->set.compress == MH_IMAP_COMPRESS_ON ||
	     (si->set.compress == MH_IMAP_COMPRESS_AUTO && !mh_imap_conn_is_loopback(si->conn))) &&
	    !mh_imap_conn_compress(si->conn, error))
		return false;
	if (mh_imap_conn_has_cap(si->conn, "UTF8=ACCEPT") &&
	    !mh_imap_enable(si->conn, "UTF8=ACCEPT", error))
		return false;
	si->connected = true;
	return true;
}

static void
imap_store_abandon(struct mh_store *st, const GError *why)
{
	struct store_imap *si = store_imap(st);

	if (si->conn != NULL)
		mh_imap_conn_abandon(si->conn, why);
}

static const struct mh_store_info *
imap_store_info(struct mh_store *st)
{
	struct store_imap *si = store_imap(st);
	const char *greeting;

	if (!si->connected || si->conn == NULL)
		return NULL;
	/* Re-read each time: capabilities change (ENABLE, a later CAPABILITY) and the
	 * error count grows. */
	greeting = mh_imap_conn_greeting(si->conn);
	si->info.greeting = greeting != NULL ? greeting : "";
	si->info.caps = mh_imap_conn_caps(si->conn);
	si->info.gmail_ext = mh_imap_conn_has_cap(si->conn, "X-GM-EXT-1");
	si->info.condstore = mh_imap_conn_has_cap(si->conn, "CONDSTORE");
	si->info.appendlimit = mh_imap_conn_appendlimit(si->conn);
	si->info.errors = mh_imap_conn_errors(si->conn);
	si->info.last_refusal = mh_imap_conn_last_refusal(si->conn);
	return &si->info;
}

static void
imap_store_close(struct mh_store *st)
{
	struct store_imap *si = store_imap(st);

	si->connected = false;
	g_clear_pointer(&si->selected, g_free);
	g_clear_pointer(&si->reopen, g_free);
	if (si->conn != NULL)
		mh_imap_conn_logout(si->conn);
	g_clear_pointer(&si->conn, mh_imap_conn_free);
}

static void
box_fill(struct mh_store_box *box, const struct mh_imap_status_info *info, bool size_known)
{
	box->exists = info->messages;
	box->uidvalidity = info->uidvalidity;
	box->uidnext = info->uidnext;
	box->highestmodseq = info->highestmodseq;
	box->size = info->size;
	box->size_known = size_known;
}

static struct mh_store_box *
box_from_status(const struct mh_imap_status_info *info, bool size_known)
{
	struct mh_store_box *box = g_new0(struct mh_store_box, 1);

	box_fill(box, info, size_known);
	return box;
}

/* Boxes from STATUS answers (LIST-STATUS or STATUS: name -> struct mh_imap_status_info *),
 * but the selected folder's, which STATUS may answer from before our own changes. */
static GHashTable *
boxes_from_status(struct store_imap *si, GHashTable *status)
{
	GHashTable *boxes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	                                          (GDestroyNotify)mh_store_box_free);
	bool size_known = mh_imap_conn_has_cap(si->conn, "STATUS=SIZE");
	GHashTableIter it;
	gpointer key, value;

	g_hash_table_iter_init(&it, status);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		if (si->selected == NULL || strcmp(key, si->selected) != 0)
			g_hash_table_insert(boxes, g_strdup(key),
			                    box_from_status(value, size_known));
	}
	return boxes;
}

/* Moves one STATUS answer into the table @to (for g_hash_table_foreach_steal()). */
static gboolean
status_move(gpointer name, gpointer info, gpointer to)
{
	g_hash_table_replace(to, name, info);
	return true;
}

/* Every folder, and where the server offers LIST-STATUS the counters of every selectable
 * one, asked with STATUS commands rather than in the LIST, INBOX's before the LIST.
 * Dovecot 2.3 (its mailbox list index on, INBOX left out of it: the defaults) opens INBOX
 * with a full sync for LIST-STATUS, and for every STATUS, EXAMINE or SELECT of it after a
 * LIST in the same session; a STATUS before the LIST is a quick one. A maildir INBOX of
 * 200,000 messages: 170-230 ms against 4-6 ms, on every run. Other folders cost the same
 * either way. A server without LIST-STATUS is asked STATUS folder by folder, when each
 * one's turn comes. */
static bool
imap_store_list(struct mh_store *st, GPtrArray **folders_r, GPtrArray **subscribed_r,
                GHashTable **boxes_r, GError **error)
{
	struct store_imap *si = store_imap(st);
	bool counters = mh_imap_conn_has_cap(si->conn, "LIST-STATUS");
	g_autoptr(GHashTable) status = NULL;
	g_autoptr(GHashTable) rest = NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new();

	*boxes_r = NULL;
	g_ptr_array_add(names, "INBOX");
	if (counters && !mh_imap_status_many(si->conn, names, &status, error))
		return false;
	if (!mh_imap_list(si->conn, "", "*", folders_r, error))
		return false;
	if (!mh_imap_lsub(si->conn, subscribed_r, error)) {
		g_clear_pointer(folders_r, g_ptr_array_unref);
		return false;
	}
	if (!counters)
		return true;
	g_ptr_array_set_size(names, 0);
	for (guint i = 0; i < (*folders_r)->len; i++) {
		const struct mh_imap_folder *f = (*folders_r)->pdata[i];

		if ((f->attrs & (MH_IMAP_ATTR_NOSELECT | MH_IMAP_ATTR_NONEXISTENT)) == 0 &&
		    !g_hash_table_contains(status, f->name))
			g_ptr_array_add(names, f->name);
	}
	if (!mh_imap_status_many(si->conn, names, &rest, error)) {
		g_clear_pointer(folders_r, g_ptr_array_unref);
		g_clear_pointer(subscribed_r, g_ptr_array_unref);
		return false;
	}
	g_hash_table_foreach_steal(rest, status_move, status);
	*boxes_r = boxes_from_status(si, status);
	return true;
}

static bool
imap_store_namespace(struct mh_store *st, char **prefix_r, char *sep_r, GError **error)
{
	struct mh_imap_namespaces *ns = NULL;

	if (!mh_imap_namespace(store_imap(st)->conn, &ns, error))
		return false;
	*prefix_r = g_strdup("");
	*sep_r = '/';
	if (ns->personal->len > 0) {
		const struct mh_imap_namespace *n = ns->personal->pdata[0];

		g_free(*prefix_r);
		*prefix_r = g_strdup(n->prefix);
		*sep_r = n->sep;
	}
	mh_imap_namespaces_free(ns);
	return true;
}

static bool
imap_store_select(struct mh_store *st, const char *folder, bool writable,
                  struct mh_store_box *box_r, GError **error)
{
	struct store_imap *si = store_imap(st);
	struct mh_imap_mailbox *mb = NULL;

	memset(box_r, 0, sizeof(*box_r));
	g_clear_pointer(&si->selected, g_free);
	g_clear_pointer(&si->reopen, g_free);
	if (!mh_imap_select(si->conn, folder, !writable, &mb, error))
		return false;
	si->selected = g_strdup(folder);
	si->selected_writable = writable;
	si->selected_msgs = mb->exists;
	si->selected_uidvalidity = mb->uidvalidity;
	box_r->exists = mb->exists;
	box_r->uidvalidity = mb->uidvalidity;
	box_r->uidnext = mb->uidnext;
	box_r->highestmodseq = mb->highestmodseq;
	box_r->permanentflags = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < mb->permanentflags->len; i++) {
		const char *f = mb->permanentflags->pdata[i];

		if (strcmp(f, "\\*") == 0)
			box_r->all_keywords = true;
		else
			g_ptr_array_add(box_r->permanentflags, g_strdup(f));
	}
	mh_imap_mailbox_free(mb);
	return true;
}

static bool
imap_store_status(struct mh_store *st, const char *folder, struct mh_store_box *box_r,
                  GError **error)
{
	struct store_imap *si = store_imap(st);
	struct mh_imap_status_info info;

	memset(box_r, 0, sizeof(*box_r));
	/* STATUS on the selected folder may answer from before our own changes (RFC 3501
	 * 6.3.10; Courier says MESSAGES 0 after APPENDs to it). Dovecot answers it from the
	 * open folder at once, where leaving the folder and asking from outside makes it
	 * read a big maildir's index again (0.15-0.2 s at 200,000 messages after a pass
	 * that wrote to it). So it is asked in place first, and the answer taken only when
	 * its count is the one this session knows (the count when selected, plus every
	 * APPEND since). An answer that passes and is still behind can only hold lower
	 * UIDNEXT and HIGHESTMODSEQ than the folder's: recorded, those make the next run
	 * look at the folder again, never skip a change. A connection whose answer in place
	 * was refused once (Courier's always is) asks from outside from then on, without
	 * the extra round trip. */
	if (si->selected != NULL && strcmp(si->selected, folder) == 0 && !si->status_in_place_off) {
		if (!mh_imap_status(si->conn, folder, &info, error))
			return false;
		if (info.messages == si->selected_msgs &&
		    info.uidvalidity == si->selected_uidvalidity && info.uidvalidity != 0) {
			box_fill(box_r, &info, mh_imap_conn_has_cap(si->conn, "STATUS=SIZE"));
			return true;
		}
		si->status_in_place_off = true;
		mh_log_debug(MH_LOG_CAT_SYNC,
		             "%s: STATUS in place says %u messages where %" G_GUINT64_FORMAT
		             " are known; asking from outside",
		             folder, info.messages, si->selected_msgs);
	}
	/* Where the server can leave it without expunging (UNSELECT), it is left and asked
	 * from outside (and selected again only if a later command needs it): on a big
	 * folder that spares listing every message's size. Elsewhere it is opened afresh,
	 * as it was, and the caller counts the bytes. */
	if (si->selected != NULL && strcmp(si->selected, folder) == 0 &&
	    mh_imap_conn_has_cap(si->conn, "UNSELECT")) {
		if (!mh_imap_unselect(si->conn, error))
			return false;
		si->reopen = g_steal_pointer(&si->selected);
		si->reopen_writable = si->selected_writable;
	}
	if (si->selected != NULL && strcmp(si->selected, folder) == 0) {
		g_autofree char *name = g_strdup(folder);

		if (!imap_store_select(st, name, si->selected_writable, box_r, error))
			return false;
		g_clear_pointer(&box_r->permanentflags, g_ptr_array_unref);
		box_r->all_keywords = false;
		return true;
	}
	if (!mh_imap_status(si->conn, folder, &info, error))
		return false;
	box_fill(box_r, &info, mh_imap_conn_has_cap(si->conn, "STATUS=SIZE"));
	return true;
}

static bool
imap_store_status_many(struct mh_store *st, const GPtrArray *folders, GHashTable **boxes_r,
                       GError **error)
{
	struct store_imap *si = store_imap(st);
	g_autoptr(GHashTable) status = NULL;

	if (!mh_imap_status_many(si->conn, folders, &status, error))
		return false;
	*boxes_r = boxes_from_status(si, status);
	return true;
}

static bool
imap_store_mailbox_id(struct mh_store *st, const char *folder, char **id_r, const char **kind_r,
                      GError **error)
{
	return mh_imap_mailbox_id(store_imap(st)->conn, folder, id_r, kind_r, error);
}

/* Selects again the folder a STATUS left (see imap_store_status()). */
static bool
store_reopen(struct store_imap *si, GError **error)
{
	struct mh_store_box box;
	g_autofree char *name = g_steal_pointer(&si->reopen);
	bool ok;

	if (name == NULL)
		return true;
	ok = imap_store_select(&si->base, name, si->reopen_writable, &box, error);
	mh_store_box_clear(&box);
	return ok;
}

static bool
imap_store_create(struct mh_store *st, const char *folder, GError **error)
{
	return mh_imap_create(store_imap(st)->conn, folder, error);
}

static bool
imap_store_subscribe(struct mh_store *st, const char *folder, GError **error)
{
	return mh_imap_subscribe(store_imap(st)->conn, folder, error);
}

static bool
imap_store_delete_folder(struct mh_store *st, const char *folder, GError **error)
{
	struct mh_imap_cmd *cmd = mh_imap_cmd_new(0, "DELETE");

	mh_imap_cmd_add_mailbox(cmd, store_imap(st)->conn, folder);
	if (!mh_imap_cmd_run(store_imap(st)->conn, cmd, NULL, error)) {
		g_prefix_error(error, "DELETE %s failed: ", folder);
		return false;
	}
	return true;
}

static bool
imap_store_search(struct mh_store *st, const char *criteria, GArray **uids_r, GError **error)
{
	if (!store_reopen(store_imap(st), error))
		return false;
	return mh_imap_uid_search(store_imap(st)->conn, criteria, uids_r, error);
}

/* --- metadata --- */

struct meta_ctx {
	mh_store_meta_cb *cb;
	void *ctx;
	GString *flags;
	bool utf8; /* labels travel as UTF-8 (UTF8=ACCEPT) */
};

static void
meta_join_flags(const struct mh_imap_arg *list, GString *out)
{
	g_string_truncate(out, 0);
	for (guint i = 0; list != NULL && list->type == MH_IMAP_ARG_LIST && i < list->list->len;
	     i++) {
		const struct mh_imap_arg *a = list->list->pdata[i];

		if (a->type != MH_IMAP_ARG_ATOM || g_ascii_strcasecmp(a->str, "\\Recent") == 0)
			continue;
		if (out->len > 0)
			g_string_append_c(out, ' ');
		g_string_append(out, a->str);
	}
}

static void
on_meta_fetch(struct mh_imap_conn *conn, uint32_t number, const GPtrArray *items, void *ctx)
{
	struct meta_ctx *mc = ctx;
	struct mh_store_meta m = {0};
	GPtrArray *labels;
	uint64_t v = 0;

	(void)conn;
	(void)number;
	if (!mh_imap_arg_get_uint64(mh_imap_list_lookup(items, "UID"), &v) || v == 0 ||
	    v > G_MAXUINT32)
		return; /* an unsolicited FETCH without UID: not ours */
	m.uid = (uint32_t)v;
	meta_join_flags(mh_imap_list_lookup(items, "FLAGS"), mc->flags);
	m.flags = mc->flags->str;
	mh_imap_arg_get_nstring(mh_imap_list_lookup(items, "INTERNALDATE"), &m.date, NULL);
	mh_imap_arg_get_uint64(mh_imap_list_lookup(items, "RFC822.SIZE"), &m.size);
	mh_imap_arg_get_uint64(mh_imap_list_lookup(items, "X-GM-MSGID"), &m.gm_msgid);
	labels = mh_imap_gm_labels_parse(mh_imap_list_lookup(items, "X-GM-LABELS"), mc->utf8);
	m.gm_labels = labels;
	for (guint i = 0; i + 1 < items->len; i += 2) {
		const struct mh_imap_arg *key = items->pdata[i];

		if (key->type == MH_IMAP_ARG_ATOM &&
		    g_ascii_strncasecmp(key->str, "BODY[HEADER.FIELDS", 18) == 0)
			mh_imap_arg_get_nstring(items->pdata[i + 1], &m.headers, &m.headers_len);
	}
	mc->cb(&m, mc->ctx);
	if (labels != NULL)
		g_ptr_array_free(labels, true);
}

static bool
imap_store_fetch_meta(struct mh_store *st, const char *uidset, unsigned items,
                      uint64_t changedsince, mh_store_meta_cb *cb, void *ctx, GError **error)
{
	if (!store_reopen(store_imap(st), error))
		return false;
	struct mh_imap_conn *conn = store_imap(st)->conn;
	struct meta_ctx mc = {
		.cb = cb, .ctx = ctx, .flags = g_string_new(NULL), .utf8 = mh_imap_conn_utf8(conn)};
	g_autoptr(GString) what = g_string_new("UID");
	bool ok;

	if (items & MH_STORE_META_FLAGS)
		g_string_append(what, " FLAGS");
	if (items & MH_STORE_META_DATE)
		g_string_append(what, " INTERNALDATE");
	if (items & MH_STORE_META_SIZE)
		g_string_append(what, " RFC822.SIZE");
	if (items & MH_STORE_META_HEADERS)
		g_string_append(what, " BODY.PEEK[HEADER.FIELDS (" MH_FINGERPRINT_FIELDS ")]");
	/* Asking a server without X-GM-EXT-1 for these would be a BAD. */
	if ((items & MH_STORE_META_GMAIL) && mh_imap_conn_has_cap(conn, "X-GM-EXT-1"))
		g_string_append(what, " X-GM-MSGID X-GM-LABELS");
	ok = mh_imap_uid_fetch_since(conn, uidset, what->str, changedsince, on_meta_fetch, &mc,
	                             error);
	g_string_free(mc.flags, true);
	return ok;
}

/* --- bodies --- */

/* One ranged UID FETCH of bodies: on a big mailbox each command costs the server about
 * the same whatever it fetches, so bodies are asked for many at a time. */
struct body_cmd {
	struct body_ctx *bc; /* borrowed */
	GArray *uids;        /* owned; guint32, the UIDs it asks for */
};

struct body_ctx {
	struct mh_imap_conn *conn; /* borrowed */
	const struct mh_store_body_sink *sink;
	GHashTable *waiting; /* UIDs requested whose body has not come yet (a set) */
	bool discard;        /* the literal being read belongs to no request */
	GError *refused;     /* owned; the first FETCH the server refused (NO or BAD) */
};

/* The UID a FETCH body belongs to, from the UID before it in the same response (servers
 * answer in any order and may interleave other responses), or 0 when it was not asked
 * for or came already. */
static uint32_t
body_find_uid(struct body_ctx *bc)
{
	const GPtrArray *siblings = mh_imap_conn_literal_siblings(bc->conn);
	uint64_t uid = 0;

	if (siblings == NULL ||
	    !mh_imap_arg_get_uint64(mh_imap_list_lookup(siblings, "UID"), &uid) ||
	    uid > G_MAXUINT32 || !g_hash_table_remove(bc->waiting, GUINT_TO_POINTER(uid)))
		return 0;
	return (uint32_t)uid;
}

static bool
on_body_literal_begin(void *ctx, const struct mh_imap_response *resp, const char *prev_atom,
                      uint64_t size)
{
	struct body_ctx *bc = ctx;
	uint32_t uid;

	if (resp->kind != MH_IMAP_RESP_UNTAGGED || g_strcmp0(resp->name, "FETCH") != 0 ||
	    prev_atom == NULL || g_ascii_strncasecmp(prev_atom, "BODY[]", 6) != 0)
		return false;
	uid = body_find_uid(bc);
	bc->discard = uid == 0;
	if (uid == 0) {
		mh_log(MH_LOG_WARN, "the server sent a message body without the UID it belongs "
		                    "to before it, or one not asked for; skipping it");
		return true;
	}
	bc->sink->begin(bc->sink->ctx, uid, size);
	return true;
}

static void
on_body_literal_data(void *ctx, const unsigned char *data, size_t len)
{
	struct body_ctx *bc = ctx;

	if (!bc->discard)
		bc->sink->data(bc->sink->ctx, data, len);
}

static void
on_body_literal_end(void *ctx)
{
	struct body_ctx *bc = ctx;

	if (!bc->discard)
		bc->sink->end(bc->sink->ctx);
	bc->discard = false;
}

static void
on_body_fetch_done(struct mh_imap_conn *conn, const struct mh_imap_response *tagged,
                   const GError *error, void *ctx)
{
	struct body_cmd *bcmd = ctx;
	struct body_ctx *bc = bcmd->bc;
	bool refused = error == NULL && tagged != NULL && tagged->status != MH_IMAP_STATUS_OK;

	(void)conn;
	if (refused && bc->refused == NULL) {
		/* Refused (throttled, say): not vanished messages. */
		bc->refused = g_error_new(
			MH_IMAP_ERROR,
			tagged->status == MH_IMAP_STATUS_NO ? MH_IMAP_ERROR_NO : MH_IMAP_ERROR_BAD,
			"%s%s%s%s", tagged->code != NULL ? "[" : "",
			tagged->code != NULL ? tagged->code : "", tagged->code != NULL ? "] " : "",
			tagged->text != NULL ? tagged->text : "");
	}
	for (guint i = 0; i < bcmd->uids->len; i++) {
		uint32_t uid = g_array_index(bcmd->uids, guint32, i);

		/* Asked for, answered OK, and no body: expunged meanwhile. */
		if (g_hash_table_remove(bc->waiting, GUINT_TO_POINTER(uid)) && error == NULL &&
		    !refused)
			bc->sink->missing(bc->sink->ctx, uid);
	}
	g_array_unref(bcmd->uids);
	g_free(bcmd);
}

static bool
imap_store_fetch_bodies(struct mh_store *st, const GArray *uids,
                        const struct mh_store_body_sink *sink, GError **error)
{
	if (!store_reopen(store_imap(st), error))
		return false;
	struct mh_imap_conn *conn = store_imap(st)->conn;
	struct body_ctx bc = {.conn = conn, .sink = sink};
	struct mh_imap_literal_sink lsink = {
		.begin = on_body_literal_begin,
		.data = on_body_literal_data,
		.end = on_body_literal_end,
		.ctx = &bc,
	};
	/* The selected folder's size (the FETCHes name UIDs in it). */
	guint max = (guint)CLAMP(store_imap(st)->selected_msgs / 5, BODY_FETCH_UIDS,
	                         BODY_FETCH_UIDS_MAX);
	bool ok = true;

	bc.waiting = g_hash_table_new(NULL, NULL);
	mh_imap_conn_set_literal_sink(conn, &lsink);
	for (guint i = 0; ok && i < uids->len && sink->more(sink->ctx);) {
		struct body_cmd *bcmd = g_new0(struct body_cmd, 1);
		g_autofree char *set = NULL;
		struct mh_imap_cmd *cmd;
		guint next;

		set = mh_store_uidset_runs(uids, i, BODY_FETCH_RUNS, max, &next);
		bcmd->bc = &bc;
		bcmd->uids = g_array_sized_new(false, false, sizeof(guint32), next - i);
		g_array_append_vals(bcmd->uids, &g_array_index(uids, guint32, i), next - i);
		for (; i < next; i++)
			g_hash_table_add(bc.waiting,
			                 GUINT_TO_POINTER(g_array_index(uids, guint32, i)));
		cmd = mh_imap_cmd_new(0, "UID FETCH %s (UID BODY.PEEK[])", set);
		mh_imap_cmd_set_callbacks(cmd, NULL, on_body_fetch_done, bcmd);
		mh_imap_cmd_submit(conn, cmd);
		ok = mh_imap_conn_wait_below(conn, BODY_FETCH_DEPTH, error);
	}
	if (ok)
		ok = mh_imap_conn_drain(conn, error);
	mh_imap_conn_set_literal_sink(conn, NULL);
	/* Commands still queued (after a failure) were completed by the connection, which
	 * freed them. */
	g_hash_table_unref(bc.waiting);
	if (bc.refused != NULL) {
		/* The refusal says why (a throttled server closes the session after it). */
		if (error != NULL) {
			g_clear_error(error);
			g_propagate_error(error, g_steal_pointer(&bc.refused));
		}
		g_clear_error(&bc.refused);
		return false;
	}
	return ok;
}

/* --- flags, deletion --- */

static bool
imap_store_delete_msgs(struct mh_store *st, const char *uidset, GError **error)
{
	if (!store_reopen(store_imap(st), error))
		return false;
	struct mh_imap_conn *conn = store_imap(st)->conn;

	return mh_imap_uid_store(conn, uidset, "+FLAGS.SILENT", "\\Deleted", error) &&
	       mh_imap_expunge(conn, uidset, error);
}

static bool
imap_store_add_flags(struct mh_store *st, const char *uidset, const char *flags, GError **error)
{
	if (!store_reopen(store_imap(st), error))
		return false;
	return mh_imap_uid_store(store_imap(st)->conn, uidset, "+FLAGS.SILENT", flags, error);
}

static bool
imap_store_remove_flags(struct mh_store *st, const char *uidset, const char *flags, GError **error)
{
	if (!store_reopen(store_imap(st), error))
		return false;
	return mh_imap_uid_store(store_imap(st)->conn, uidset, "-FLAGS.SILENT", flags, error);
}

static bool
imap_store_add_labels(struct mh_store *st, const char *uidset, const GPtrArray *labels,
                      GError **error)
{
	if (!store_reopen(store_imap(st), error))
		return false;
	struct mh_imap_conn *conn = store_imap(st)->conn;

	if (!mh_imap_conn_has_cap(conn, "X-GM-EXT-1")) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
		            "%s does not offer X-GM-EXT-1: labels cannot be added", st->label);
		return false;
	}
	return mh_imap_uid_store_labels(conn, uidset, "+X-GM-LABELS", labels, error);
}

static bool
imap_store_find_message_id(struct mh_store *st, const char *message_id, GArray **uids_r,
                           GError **error)
{
	if (!store_reopen(store_imap(st), error))
		return false;
	return mh_imap_uid_search_header(store_imap(st)->conn, "Message-ID", message_id, uids_r,
	                                 error);
}

static void
imap_store_free(struct mh_store *st)
{
	struct store_imap *si = store_imap(st);

	g_clear_pointer(&si->conn, mh_imap_conn_free);
	g_free(si->selected);
	g_free((char *)si->set.host);
	g_free((char *)si->set.cafile);
	g_free((char *)si->set.label);
	g_free((char *)si->cred.user);
	g_free((char *)si->cred.authuser);
	g_free((char *)si->cred.mechanism);
	mh_secret_free((char *)si->cred.password);
	g_free(st->label);
	g_free(si);
}

static const struct mh_store_ops store_imap_ops = {
	.connect = imap_store_connect,
	.close = imap_store_close,
	.free = imap_store_free,
	.list = imap_store_list,
	.namespace = imap_store_namespace,
	.status = imap_store_status,
	.status_many = imap_store_status_many,
	.mailbox_id = imap_store_mailbox_id,
	.select = imap_store_select,
	.create = imap_store_create,
	.subscribe = imap_store_subscribe,
	.delete_folder = imap_store_delete_folder,
	.search = imap_store_search,
	.fetch_meta = imap_store_fetch_meta,
	.fetch_bodies = imap_store_fetch_bodies,
	.append_begin = imap_store_append_begin,
	.append_write = imap_store_append_write,
	.append_end = imap_store_append_end,
	.append_abort = imap_store_append_abort,
	.flush = imap_store_flush,
	.append_batching = imap_store_append_batching,
	.delete_msgs = imap_store_delete_msgs,
	.add_flags = imap_store_add_flags,
	.remove_flags = imap_store_remove_flags,
	.add_labels = imap_store_add_labels,
	.find_message_id = imap_store_find_message_id,
	.info = imap_store_info,
	.abandon = imap_store_abandon,
};

struct mh_store *
mh_store_imap_new(const struct mh_imap_settings *set, const struct mh_imap_credentials *cred,
                  const char *label)
{
	struct store_imap *si = g_new0(struct store_imap, 1);

	si->base.ops = &store_imap_ops;
	si->base.label = g_strdup(label);
	si->set = *set;
	si->set.host = g_strdup(set->host);
	si->set.cafile = g_strdup(set->cafile);
	si->set.label = g_strdup(label);
	si->cred = *cred;
	si->cred.user = g_strdup(cred->user);
	si->cred.authuser = g_strdup(cred->authuser);
	si->cred.mechanism = g_strdup(cred->mechanism);
	si->cred.password = cred->password != NULL ? mh_secret_strdup(cred->password) : NULL;
	return &si->base;
}

void
mh_store_imap_set_token(struct mh_store *st, mh_token_get_cb *cb, void *ctx)
{
	struct store_imap *si = store_imap(st);

	si->token_cb = cb;
	si->token_ctx = ctx;
}

void
mh_store_free(struct mh_store *st)
{
	if (st != NULL)
		st->ops->free(st);
}

char *
mh_store_uidset(const GArray *uids, guint from, guint max, guint *next_r)
{
	return mh_store_uidset_runs(uids, from, max, max, next_r);
}

char *
mh_store_uidset_runs(const GArray *uids, guint from, guint max_runs, guint max_uids, guint *next_r)
{
	GString *s = g_string_new(NULL);
	guint i = from;
	guint used = 0, runs = 0;

	while (i < uids->len && used < max_uids && runs < max_runs) {
		guint32 lo = g_array_index(uids, guint32, i);
		guint32 hi = lo;
		guint start = i, before = used;
		char run[24];

		i++;
		used++;
		while (i < uids->len && used < max_uids &&
		       g_array_index(uids, guint32, i) == hi + 1) {
			hi++;
			i++;
			used++;
		}
		if (lo == hi)
			g_snprintf(run, sizeof(run), "%s%u", s->len > 0 ? "," : "", lo);
		else
			g_snprintf(run, sizeof(run), "%s%u:%u", s->len > 0 ? "," : "", lo, hi);
		if (s->len > 0 && s->len + strlen(run) > MH_STORE_UIDSET_BYTES) {
			i = start;
			used = before;
			break;
		}
		g_string_append(s, run);
		runs++;
	}
	*next_r = i;
	return g_string_free(s, false);
}
