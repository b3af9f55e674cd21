/* SPDX-License-Identifier: MIT */
/* Listing folders: LIST with SPECIAL-USE (RFC 6154) and LIST-STATUS (RFC 5819), or XLIST,
 * LSUB, and NAMESPACE (RFC 2342); mailbox names are decoded from modified UTF-7 unless
 * UTF8=ACCEPT is on. */
#include "imap-private.h"

#include <string.h>

#include "mh-log.h"

/* --- LIST, XLIST, LSUB --- */

static const struct {
	const char *name;
	unsigned attr;
} folder_attr_names[] = {
	{"\\Noselect", MH_IMAP_ATTR_NOSELECT},
	{"\\NoInferiors", MH_IMAP_ATTR_NOINFERIORS},
	{"\\NonExistent", MH_IMAP_ATTR_NONEXISTENT},
	{"\\HasChildren", MH_IMAP_ATTR_HASCHILDREN},
	{"\\HasNoChildren", MH_IMAP_ATTR_HASNOCHILDREN},
	{"\\Subscribed", MH_IMAP_ATTR_SUBSCRIBED},
	{"\\All", MH_IMAP_ATTR_ALL},
	{"\\Archive", MH_IMAP_ATTR_ARCHIVE},
	{"\\Drafts", MH_IMAP_ATTR_DRAFTS},
	{"\\Flagged", MH_IMAP_ATTR_FLAGGED},
	{"\\Junk", MH_IMAP_ATTR_JUNK},
	{"\\Sent", MH_IMAP_ATTR_SENT},
	{"\\Trash", MH_IMAP_ATTR_TRASH},
	{"\\Important", MH_IMAP_ATTR_IMPORTANT},
	{"\\Inbox", MH_IMAP_ATTR_INBOX},
	/* XLIST's names (Gmail before SPECIAL-USE) */
	{"\\AllMail", MH_IMAP_ATTR_ALL},
	{"\\Spam", MH_IMAP_ATTR_JUNK},
	{"\\Starred", MH_IMAP_ATTR_FLAGGED},
};

static unsigned
folder_parse_attrs(const struct mh_imap_arg *list)
{
	unsigned attrs = 0;

	for (guint i = 0; list != NULL && list->type == MH_IMAP_ARG_LIST && i < list->list->len;
	     i++) {
		const struct mh_imap_arg *a = list->list->pdata[i];

		for (size_t j = 0; j < G_N_ELEMENTS(folder_attr_names); j++) {
			if (mh_imap_arg_is_atom(a, folder_attr_names[j].name))
				attrs |= folder_attr_names[j].attr;
		}
	}
	return attrs;
}

unsigned
mh_imap_attr_from_name(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(folder_attr_names); i++) {
		if (g_ascii_strcasecmp(name, folder_attr_names[i].name) == 0)
			return folder_attr_names[i].attr;
	}
	return 0;
}

char *
mh_imap_attrs_to_string(unsigned attrs)
{
	static const unsigned shown[] = {
		MH_IMAP_ATTR_SENT,    MH_IMAP_ATTR_DRAFTS,    MH_IMAP_ATTR_TRASH,
		MH_IMAP_ATTR_JUNK,    MH_IMAP_ATTR_ARCHIVE,   MH_IMAP_ATTR_ALL,
		MH_IMAP_ATTR_FLAGGED, MH_IMAP_ATTR_IMPORTANT, MH_IMAP_ATTR_NOSELECT,
	};
	GString *s = g_string_new(NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(shown); i++) {
		if (!(attrs & shown[i]))
			continue;
		for (size_t j = 0; j < G_N_ELEMENTS(folder_attr_names); j++) {
			if (folder_attr_names[j].attr == shown[i]) {
				if (s->len > 0)
					g_string_append_c(s, ' ');
				g_string_append(s, folder_attr_names[j].name);
				break;
			}
		}
	}
	return g_string_free(s, false);
}

char *
imap_conn_decode_mailbox(struct mh_imap_conn *conn, const char *raw, GError **error)
{
	if (mh_imap_conn_utf8(conn)) {
		if (g_utf8_validate(raw, -1, NULL))
			return g_strdup(raw);
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL,
		            "mailbox name is not valid UTF-8");
		return NULL;
	}
	return mh_imap_utf7_decode(raw, error);
}

void
mh_imap_folder_free(struct mh_imap_folder *f)
{
	if (f == NULL)
		return;
	g_free(f->name);
	g_free(f->raw_name);
	g_free(f);
}

struct mh_imap_folder *
imap_folder_from_list(struct mh_imap_conn *conn, const struct mh_imap_response *r)
{
	const struct mh_imap_arg *sep = imap_args_nth(r->args, 1);
	const char *raw = NULL;
	const char *sep_str = NULL;
	struct mh_imap_folder *f;
	g_autoptr(GError) error = NULL;

	if (!mh_imap_arg_get_nstring(imap_args_nth(r->args, 2), &raw, NULL) || raw == NULL ||
	    !mh_imap_arg_get_nstring(sep, &sep_str, NULL))
		return NULL;
	f = g_new0(struct mh_imap_folder, 1);
	f->attrs = folder_parse_attrs(imap_args_nth(r->args, 0));
	f->sep = sep_str != NULL ? sep_str[0] : '\0';
	f->raw_name = g_ascii_strcasecmp(raw, "INBOX") == 0 ? g_strdup("INBOX") : g_strdup(raw);
	f->name = imap_conn_decode_mailbox(conn, f->raw_name, &error);
	if (f->name == NULL) {
		mh_log(MH_LOG_WARN,
		       "folder name '%s' is not valid modified UTF-7 (%s); using it "
		       "as it is",
		       raw, error->message);
		f->name = g_utf8_make_valid(raw, -1);
	}
	return f;
}

struct list_ctx {
	const char *verb;   /* "LIST", "XLIST", "LSUB" */
	GHashTable *byraw;  /* raw name -> struct mh_imap_folder *, owned */
	GHashTable *status; /* UTF-8 name -> struct mh_imap_status_info *, with LIST-STATUS */
};

static bool
on_list_untagged(struct mh_imap_conn *conn, const struct mh_imap_response *r, void *ctx)
{
	struct list_ctx *lc = ctx;
	struct mh_imap_folder *f, *old;

	if (r->status == MH_IMAP_STATUS_NONE && lc->status != NULL &&
	    g_strcmp0(r->name, "STATUS") == 0) {
		imap_status_answer_add(conn, lc->status, r);
		return true;
	}
	if (r->status != MH_IMAP_STATUS_NONE || g_strcmp0(r->name, lc->verb) != 0)
		return false;
	f = imap_folder_from_list(conn, r);
	if (f == NULL) {
		mh_log(MH_LOG_WARN, "ignoring a malformed %s response", lc->verb);
		return true;
	}
	old = g_hash_table_lookup(lc->byraw, f->raw_name);
	if (old != NULL) {
		old->attrs |= f->attrs; /* XLIST adds to what LIST said */
		mh_imap_folder_free(f);
	} else {
		g_hash_table_insert(lc->byraw, f->raw_name, f);
	}
	return true;
}

static bool
list_run(struct mh_imap_conn *conn, struct list_ctx *lc, const char *reference, const char *pattern,
         const char *tail, GError **error)
{
	struct mh_imap_cmd *cmd = mh_imap_cmd_new(0, "%s", lc->verb);

	mh_imap_cmd_add_mailbox(cmd, conn, reference);
	mh_imap_cmd_add_mailbox(cmd, conn, pattern);
	if (tail != NULL)
		mh_imap_cmd_add(cmd, "%s", tail);
	mh_imap_cmd_set_callbacks(cmd, on_list_untagged, NULL, lc);
	if (!mh_imap_cmd_run(conn, cmd, NULL, error)) {
		g_prefix_error(error, "%s failed: ", lc->verb);
		return false;
	}
	return true;
}

static gint
folder_cmp(gconstpointer a, gconstpointer b)
{
	const struct mh_imap_folder *fa = *(struct mh_imap_folder *const *)a;
	const struct mh_imap_folder *fb = *(struct mh_imap_folder *const *)b;
	bool ia = strcmp(fa->name, "INBOX") == 0;
	bool ib = strcmp(fb->name, "INBOX") == 0;

	if (ia != ib)
		return ia ? -1 : 1;
	return strcmp(fa->name, fb->name);
}

static GPtrArray *
list_take_sorted(GHashTable *byraw)
{
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)mh_imap_folder_free);
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, byraw);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		g_ptr_array_add(out, value);
		g_hash_table_iter_steal(&it);
	}
	g_ptr_array_sort(out, folder_cmp);
	return out;
}

static bool
imap_list_all(struct mh_imap_conn *conn, const char *reference, const char *pattern,
              GPtrArray **folders_r, GHashTable **status_r, GError **error)
{
	struct list_ctx lc = {.verb = "LIST"};
	bool special_use = mh_imap_conn_has_cap(conn, "SPECIAL-USE");
	bool extended = special_use && mh_imap_conn_has_cap(conn, "LIST-EXTENDED");
	g_autofree char *tail = NULL;
	bool ok;

	if (status_r != NULL && mh_imap_conn_has_cap(conn, "LIST-STATUS")) {
		lc.status = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
		tail = g_strdup_printf(" RETURN (%sSTATUS (%s))", extended ? "SPECIAL-USE " : "",
		                       imap_status_items(conn));
	} else if (extended) {
		tail = g_strdup(" RETURN (SPECIAL-USE)");
	}
	lc.byraw = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
	                                 (GDestroyNotify)mh_imap_folder_free);
	ok = list_run(conn, &lc, reference, pattern, tail, error);
	if (ok && !special_use && mh_imap_conn_has_cap(conn, "XLIST")) {
		lc.verb = "XLIST";
		ok = list_run(conn, &lc, reference, pattern, NULL, error);
	}
	if (ok)
		*folders_r = list_take_sorted(lc.byraw);
	g_hash_table_destroy(lc.byraw);
	if (status_r != NULL)
		*status_r = ok ? lc.status : NULL;
	if (!ok && lc.status != NULL)
		g_hash_table_destroy(lc.status);
	return ok;
}

bool
mh_imap_list(struct mh_imap_conn *conn, const char *reference, const char *pattern,
             GPtrArray **folders_r, GError **error)
{
	return imap_list_all(conn, reference, pattern, folders_r, NULL, error);
}

bool
mh_imap_list_status(struct mh_imap_conn *conn, const char *reference, const char *pattern,
                    GPtrArray **folders_r, GHashTable **status_r, GError **error)
{
	return imap_list_all(conn, reference, pattern, folders_r, status_r, error);
}

bool
mh_imap_lsub(struct mh_imap_conn *conn, GPtrArray **names_r, GError **error)
{
	struct list_ctx lc = {.verb = "LSUB"};
	g_autoptr(GPtrArray) folders = NULL;
	bool ok;

	lc.byraw = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
	                                 (GDestroyNotify)mh_imap_folder_free);
	ok = list_run(conn, &lc, "", "*", NULL, error);
	if (ok) {
		folders = list_take_sorted(lc.byraw);
		*names_r = g_ptr_array_new_with_free_func(g_free);
		for (guint i = 0; i < folders->len; i++) {
			struct mh_imap_folder *f = folders->pdata[i];

			g_ptr_array_add(*names_r, g_strdup(f->name));
		}
	}
	g_hash_table_destroy(lc.byraw);
	return ok;
}

/* --- NAMESPACE --- */

void
mh_imap_namespaces_free(struct mh_imap_namespaces *ns)
{
	if (ns == NULL)
		return;
	g_ptr_array_free(ns->personal, true);
	g_ptr_array_free(ns->other, true);
	g_ptr_array_free(ns->shared, true);
	g_free(ns);
}

static void
namespace_free(struct mh_imap_namespace *n)
{
	g_free(n->prefix);
	g_free(n);
}

static void
namespace_parse(struct mh_imap_conn *conn, const struct mh_imap_arg *a, GPtrArray *out)
{
	for (guint i = 0; a != NULL && a->type == MH_IMAP_ARG_LIST && i < a->list->len; i++) {
		const struct mh_imap_arg *desc = a->list->pdata[i];
		const char *prefix = NULL;
		const char *sep = NULL;
		struct mh_imap_namespace *n;

		if (desc->type != MH_IMAP_ARG_LIST ||
		    !mh_imap_arg_get_nstring(imap_args_nth(desc->list, 0), &prefix, NULL) ||
		    prefix == NULL ||
		    !mh_imap_arg_get_nstring(imap_args_nth(desc->list, 1), &sep, NULL))
			continue;
		n = g_new0(struct mh_imap_namespace, 1);
		n->prefix = imap_conn_decode_mailbox(conn, prefix, NULL);
		if (n->prefix == NULL)
			n->prefix = g_utf8_make_valid(prefix, -1);
		n->sep = sep != NULL ? sep[0] : '\0';
		g_ptr_array_add(out, n);
	}
}

struct namespace_ctx {
	struct mh_imap_namespaces *ns;
	char sep;
	bool got;
};

static bool
on_namespace_untagged(struct mh_imap_conn *conn, const struct mh_imap_response *r, void *ctx)
{
	struct namespace_ctx *nc = ctx;

	if (r->status != MH_IMAP_STATUS_NONE)
		return false;
	if (g_strcmp0(r->name, "NAMESPACE") == 0) {
		namespace_parse(conn, imap_args_nth(r->args, 0), nc->ns->personal);
		namespace_parse(conn, imap_args_nth(r->args, 1), nc->ns->other);
		namespace_parse(conn, imap_args_nth(r->args, 2), nc->ns->shared);
		return true;
	}
	if (g_strcmp0(r->name, "LIST") == 0) {
		const char *sep = NULL;

		if (mh_imap_arg_get_nstring(imap_args_nth(r->args, 1), &sep, NULL) && sep != NULL)
			nc->sep = sep[0];
		nc->got = true;
		return true;
	}
	return false;
}

bool
mh_imap_namespace(struct mh_imap_conn *conn, struct mh_imap_namespaces **ns_r, GError **error)
{
	struct namespace_ctx nc = {.ns = g_new0(struct mh_imap_namespaces, 1)};
	struct mh_imap_cmd *cmd;

	nc.ns->personal = g_ptr_array_new_with_free_func((GDestroyNotify)namespace_free);
	nc.ns->other = g_ptr_array_new_with_free_func((GDestroyNotify)namespace_free);
	nc.ns->shared = g_ptr_array_new_with_free_func((GDestroyNotify)namespace_free);
	if (mh_imap_conn_has_cap(conn, "NAMESPACE")) {
		cmd = mh_imap_cmd_new(0, "NAMESPACE");
	} else {
		cmd = mh_imap_cmd_new(0, "LIST \"\" \"\"");
	}
	mh_imap_cmd_set_callbacks(cmd, on_namespace_untagged, NULL, &nc);
	if (!mh_imap_cmd_run(conn, cmd, NULL, error)) {
		g_prefix_error(error, "NAMESPACE failed: ");
		mh_imap_namespaces_free(nc.ns);
		return false;
	}
	if (nc.got) {
		struct mh_imap_namespace *n = g_new0(struct mh_imap_namespace, 1);

		n->prefix = g_strdup("");
		n->sep = nc.sep;
		g_ptr_array_add(nc.ns->personal, n);
	}
	*ns_r = nc.ns;
	return true;
}
