/* SPDX-License-Identifier: MIT */
/* The IMAP commands a migration needs, on top of the command queue: CAPABILITY, ID
 * (RFC 2971), ENABLE (RFC 5161), STATUS, SELECT/EXAMINE with CONDSTORE (RFC 7162), UID
 * SEARCH with ESEARCH (RFC 4731), UID FETCH, APPEND with APPENDUID (RFC 4315), CREATE,
 * SUBSCRIBE, UID STORE, UID EXPUNGE / EXPUNGE. Listing folders is in imap-list.c. */
#include "imap-private.h"

#include <string.h>

#include "mh-log.h"

#define SEARCH_MAX_UIDS (16u * 1024 * 1024)

/* --- small helpers --- */

static uint32_t
arg_u32(const struct mh_imap_arg *a)
{
	uint64_t v = 0;

	if (a == NULL || !mh_imap_arg_get_uint64(a, &v) || v > G_MAXUINT32)
		return 0;
	return (uint32_t)v;
}

const struct mh_imap_arg *
imap_args_nth(const GPtrArray *args, guint i)
{
	return args != NULL && i < args->len ? args->pdata[i] : NULL;
}

bool
mh_imap_capability(struct mh_imap_conn *conn, GError **error)
{
	return mh_imap_cmd_run(conn, mh_imap_cmd_new(MH_IMAP_CMD_PRELOGIN, "CAPABILITY"), NULL,
	                       error);
}

void
mh_imap_cmd_add_mailbox(struct mh_imap_cmd *cmd, struct mh_imap_conn *conn, const char *name)
{
	g_autofree char *wire = NULL;

	if (g_ascii_strcasecmp(name, "INBOX") == 0 || mh_imap_conn_utf8(conn)) {
		mh_imap_cmd_add_astring(cmd, name);
		return;
	}
	wire = mh_imap_utf7_encode(name, NULL);
	mh_imap_cmd_add_astring(cmd, wire != NULL ? wire : name);
}

/* --- ID, ENABLE --- */

static bool
on_id_untagged(struct mh_imap_conn *conn, const struct mh_imap_response *r, void *ctx)
{
	GHashTable **server = ctx;
	const struct mh_imap_arg *list = imap_args_nth(r->args, 0);

	(void)conn;
	if (r->status != MH_IMAP_STATUS_NONE || g_strcmp0(r->name, "ID") != 0)
		return false;
	if (list == NULL || list->type != MH_IMAP_ARG_LIST)
		return true;
	if (*server == NULL)
		*server = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (guint i = 0; i + 1 < list->list->len; i += 2) {
		const char *k = NULL;
		const char *v = NULL;

		if (mh_imap_arg_get_nstring(list->list->pdata[i], &k, NULL) && k != NULL &&
		    mh_imap_arg_get_nstring(list->list->pdata[i + 1], &v, NULL))
			g_hash_table_insert(*server, g_utf8_make_valid(k, -1),
			                    v != NULL ? g_utf8_make_valid(v, -1) : g_strdup(""));
	}
	return true;
}

bool
mh_imap_id(struct mh_imap_conn *conn, const char *const *client_kv, GHashTable **server_r,
           GError **error)
{
	struct mh_imap_cmd *cmd;

	*server_r = NULL;
	if (!mh_imap_conn_has_cap(conn, "ID"))
		return true;
	cmd = mh_imap_cmd_new(MH_IMAP_CMD_PRELOGIN, "ID (");
	for (size_t i = 0; client_kv != NULL && client_kv[i] != NULL; i++) {
		g_autofree char *q = g_strescape(client_kv[i], NULL);

		/* Our own fixed ASCII words: g_strescape's output is a valid quoted body. */
		mh_imap_cmd_add(cmd, "%s\"%s\"", i > 0 ? " " : "", q);
	}
	mh_imap_cmd_add(cmd, ")");
	mh_imap_cmd_set_callbacks(cmd, on_id_untagged, NULL, server_r);
	if (!mh_imap_cmd_run(conn, cmd, NULL, error)) {
		g_prefix_error(error, "ID failed: ");
		return false;
	}
	return true;
}

static bool
on_enabled_untagged(struct mh_imap_conn *conn, const struct mh_imap_response *r, void *ctx)
{
	(void)ctx;
	if (r->status != MH_IMAP_STATUS_NONE || g_strcmp0(r->name, "ENABLED") != 0)
		return false;
	for (guint i = 0; r->args != NULL && i < r->args->len; i++) {
		if (mh_imap_arg_is_atom(r->args->pdata[i], "UTF8=ACCEPT"))
			imap_conn_set_utf8(conn, true);
	}
	return true;
}

bool
mh_imap_enable(struct mh_imap_conn *conn, const char *caps, GError **error)
{
	struct mh_imap_cmd *cmd;

	if (!mh_imap_conn_has_cap(conn, "ENABLE"))
		return true;
	cmd = mh_imap_cmd_new(0, "ENABLE %s", caps);
	mh_imap_cmd_set_callbacks(cmd, on_enabled_untagged, NULL, NULL);
	if (!mh_imap_cmd_run(conn, cmd, NULL, error)) {
		g_prefix_error(error, "ENABLE failed: ");
		return false;
	}
	return true;
}

/* --- STATUS --- */

static bool
on_status_untagged(struct mh_imap_conn *conn, const struct mh_imap_response *r, void *ctx)
{
	struct mh_imap_status_info *info = ctx;
	const struct mh_imap_arg *items = imap_args_nth(r->args, 1);

	(void)conn;
	if (r->status != MH_IMAP_STATUS_NONE || g_strcmp0(r->name, "STATUS") != 0)
		return false;
	imap_status_parse_items(items, info);
	return true;
}

void
imap_status_parse_items(const struct mh_imap_arg *items, struct mh_imap_status_info *info)
{
	if (items == NULL || items->type != MH_IMAP_ARG_LIST)
		return;
	info->messages = arg_u32(mh_imap_list_lookup(items->list, "MESSAGES"));
	info->uidnext = arg_u32(mh_imap_list_lookup(items->list, "UIDNEXT"));
	info->uidvalidity = arg_u32(mh_imap_list_lookup(items->list, "UIDVALIDITY"));
	info->unseen = arg_u32(mh_imap_list_lookup(items->list, "UNSEEN"));
	mh_imap_arg_get_uint64(mh_imap_list_lookup(items->list, "HIGHESTMODSEQ"),
	                       &info->highestmodseq);
	mh_imap_arg_get_uint64(mh_imap_list_lookup(items->list, "SIZE"), &info->size);
}

/* The STATUS items mailhaul asks for on @conn. */
const char *
imap_status_items(struct mh_imap_conn *conn)
{
	bool modseq = mh_imap_conn_has_cap(conn, "CONDSTORE");
	bool size = mh_imap_conn_has_cap(conn, "STATUS=SIZE");

	if (modseq && size)
		return "MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE";
	if (modseq)
		return "MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ";
	return size ? "MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE"
	            : "MESSAGES UIDNEXT UIDVALIDITY UNSEEN";
}

bool
mh_imap_status(struct mh_imap_conn *conn, const char *mailbox, struct mh_imap_status_info *info_r,
               GError **error)
{
	struct mh_imap_cmd *cmd = mh_imap_cmd_new(0, "STATUS");

	memset(info_r, 0, sizeof(*info_r));
	mh_imap_cmd_add_mailbox(cmd, conn, mailbox);
	mh_imap_cmd_add(cmd, " (%s)", imap_status_items(conn));
	mh_imap_cmd_set_callbacks(cmd, on_status_untagged, NULL, info_r);
	if (!mh_imap_cmd_run(conn, cmd, NULL, error)) {
		g_prefix_error(error, "STATUS %s failed: ", mailbox);
		return false;
	}
	return true;
}

void
imap_status_answer_add(struct mh_imap_conn *conn, GHashTable *status,
                       const struct mh_imap_response *r)
{
	const char *raw = NULL;
	struct mh_imap_status_info *info;
	char *name;

	if (!mh_imap_arg_get_nstring(imap_args_nth(r->args, 0), &raw, NULL) || raw == NULL)
		return;
	name = g_ascii_strcasecmp(raw, "INBOX") == 0 ? g_strdup("INBOX")
	                                             : imap_conn_decode_mailbox(conn, raw, NULL);
	if (name == NULL)
		return;
	info = g_new0(struct mh_imap_status_info, 1);
	imap_status_parse_items(imap_args_nth(r->args, 1), info);
	g_hash_table_replace(status, name, info);
}

/* The answers of pipelined STATUS commands, by folder name. */
struct status_many_ctx {
	GHashTable *status; /* UTF-8 name -> struct mh_imap_status_info * */
	guint refused;
};

static bool
on_status_many_untagged(struct mh_imap_conn *conn, const struct mh_imap_response *r, void *ctx)
{
	struct status_many_ctx *sc = ctx;

	if (r->status != MH_IMAP_STATUS_NONE || g_strcmp0(r->name, "STATUS") != 0)
		return false;
	imap_status_answer_add(conn, sc->status, r);
	return true;
}

static void
on_status_many_done(struct mh_imap_conn *conn, const struct mh_imap_response *tagged,
                    const GError *error, void *ctx)
{
	struct status_many_ctx *sc = ctx;

	(void)conn;
	if (error == NULL && tagged != NULL && tagged->status != MH_IMAP_STATUS_OK)
		sc->refused++;
}

bool
mh_imap_status_many(struct mh_imap_conn *conn, const GPtrArray *mailboxes, GHashTable **status_r,
                    GError **error)
{
	struct status_many_ctx sc = {
		.status = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free)};

	for (guint i = 0; i < mailboxes->len; i++) {
		struct mh_imap_cmd *cmd = mh_imap_cmd_new(0, "STATUS");

		mh_imap_cmd_add_mailbox(cmd, conn, mailboxes->pdata[i]);
		mh_imap_cmd_add(cmd, " (%s)", imap_status_items(conn));
		mh_imap_cmd_set_callbacks(cmd, on_status_many_untagged, on_status_many_done, &sc);
		mh_imap_cmd_submit(conn, cmd);
	}
	if (!mh_imap_conn_drain(conn, error)) {
		g_prefix_error(error, "STATUS failed: ");
		g_hash_table_destroy(sc.status);
		return false;
	}
	if (sc.refused > 0)
		mh_log_debug(MH_LOG_CAT_IMAP, "STATUS refused for %u of %u folders", sc.refused,
		             mailboxes->len);
	*status_r = sc.status;
	return true;
}

/* --- a mailbox's identifier --- */

struct mailbox_id_ctx {
	const char *item; /* "MAILBOXID" or "X-GUID" */
	char *id;
};

static bool
on_mailbox_id_untagged(struct mh_imap_conn *conn, const struct mh_imap_response *r, void *ctx)
{
	struct mailbox_id_ctx *mc = ctx;
	const struct mh_imap_arg *items = imap_args_nth(r->args, 1);
	const struct mh_imap_arg *v;
	const char *id = NULL;

	(void)conn;
	if (r->status != MH_IMAP_STATUS_NONE || g_strcmp0(r->name, "STATUS") != 0)
		return false;
	if (items == NULL || items->type != MH_IMAP_ARG_LIST)
		return true;
	v = mh_imap_list_lookup(items->list, mc->item);
	/* MAILBOXID's value is a parenthesized objectid (RFC 8474 section 4.1). */
	if (v != NULL && v->type == MH_IMAP_ARG_LIST && v->list->len == 1)
		v = v->list->pdata[0];
	if (mh_imap_arg_get_nstring(v, &id, NULL) && id != NULL && *id != '\0') {
		g_free(mc->id);
		mc->id = g_strdup(id);
	}
	return true;
}

bool
mh_imap_mailbox_id(struct mh_imap_conn *conn, const char *mailbox, char **id_r, const char **item_r,
                   GError **error)
{
	struct mailbox_id_ctx mc = {.item = mh_imap_conn_has_cap(conn, "OBJECTID") ? "MAILBOXID"
	                                                                           : "X-GUID"};
	struct mh_imap_cmd *cmd = mh_imap_cmd_new(MH_IMAP_CMD_PROBE, "STATUS");
	GError *local = NULL;

	*id_r = NULL;
	*item_r = mc.item;
	mh_imap_cmd_add_mailbox(cmd, conn, mailbox);
	mh_imap_cmd_add(cmd, " (%s)", mc.item);
	mh_imap_cmd_set_callbacks(cmd, on_mailbox_id_untagged, NULL, &mc);
	if (!mh_imap_cmd_run(conn, cmd, NULL, &local)) {
		g_free(mc.id);
		if (g_error_matches(local, MH_IMAP_ERROR, MH_IMAP_ERROR_NO) ||
		    g_error_matches(local, MH_IMAP_ERROR, MH_IMAP_ERROR_BAD)) {
			mh_log_debug(MH_LOG_CAT_IMAP, "no %s for %s: %s", mc.item, mailbox,
			             local->message);
			g_error_free(local);
			return true;
		}
		g_propagate_prefixed_error(error, local, "STATUS %s failed: ", mailbox);
		return false;
	}
	*id_r = mc.id;
	return true;
}

/* --- SELECT / EXAMINE --- */

void
mh_imap_mailbox_free(struct mh_imap_mailbox *mb)
{
	if (mb == NULL)
		return;
	g_ptr_array_free(mb->flags, true);
	g_ptr_array_free(mb->permanentflags, true);
	g_free(mb);
}

static void
select_copy_flags(const struct mh_imap_arg *list, GPtrArray *out)
{
	g_ptr_array_set_size(out, 0);
	for (guint i = 0; list != NULL && list->type == MH_IMAP_ARG_LIST && i < list->list->len;
	     i++) {
		const struct mh_imap_arg *a = list->list->pdata[i];

		if (a->type == MH_IMAP_ARG_ATOM)
			g_ptr_array_add(out, g_strdup(a->str));
	}
}

static bool
on_select_untagged(struct mh_imap_conn *conn, const struct mh_imap_response *r, void *ctx)
{
	struct mh_imap_mailbox *mb = ctx;

	(void)conn;
	if (r->status == MH_IMAP_STATUS_OK && r->code != NULL) {
		const struct mh_imap_arg *a = imap_args_nth(r->code_args, 0);

		if (strcmp(r->code, "UIDVALIDITY") == 0)
			mb->uidvalidity = arg_u32(a);
		else if (strcmp(r->code, "UIDNEXT") == 0)
			mb->uidnext = arg_u32(a);
		else if (strcmp(r->code, "HIGHESTMODSEQ") == 0)
			mh_imap_arg_get_uint64(a, &mb->highestmodseq);
		else if (strcmp(r->code, "PERMANENTFLAGS") == 0)
			select_copy_flags(a, mb->permanentflags);
		else
			return false;
		return true;
	}
	if (r->status != MH_IMAP_STATUS_NONE)
		return false;
	if (r->has_number && g_strcmp0(r->name, "EXISTS") == 0) {
		mb->exists = r->number;
		return true;
	}
	if (g_strcmp0(r->name, "FLAGS") == 0) {
		select_copy_flags(imap_args_nth(r->args, 0), mb->flags);
		return true;
	}
	return r->has_number && g_strcmp0(r->name, "RECENT") == 0;
}

bool
mh_imap_select(struct mh_imap_conn *conn, const char *mailbox, bool read_only,
               struct mh_imap_mailbox **mb_r, GError **error)
{
	struct mh_imap_mailbox *mb = g_new0(struct mh_imap_mailbox, 1);
	struct mh_imap_cmd *cmd = mh_imap_cmd_new(0, "%s", read_only ? "EXAMINE" : "SELECT");
	g_autoptr(mh_imap_response) tagged = NULL;

	mb->flags = g_ptr_array_new_with_free_func(g_free);
	mb->permanentflags = g_ptr_array_new_with_free_func(g_free);
	mh_imap_cmd_add_mailbox(cmd, conn, mailbox);
	if (mh_imap_conn_has_cap(conn, "CONDSTORE"))
		mh_imap_cmd_add(cmd, " (CONDSTORE)");
	mh_imap_cmd_set_callbacks(cmd, on_select_untagged, NULL, mb);
	if (!mh_imap_cmd_run(conn, cmd, &tagged, error)) {
		g_prefix_error(error, "cannot open folder %s: ", mailbox);
		mh_imap_mailbox_free(mb);
		imap_conn_set_state(conn, MH_IMAP_STATE_AUTHENTICATED);
		return false;
	}
	mb->read_only = read_only || g_strcmp0(tagged->code, "READ-ONLY") == 0;
	imap_conn_set_state(conn, MH_IMAP_STATE_SELECTED);
	*mb_r = mb;
	return true;
}

bool
mh_imap_unselect(struct mh_imap_conn *conn, GError **error)
{
	if (!mh_imap_cmd_run(conn, mh_imap_cmd_new(0, "UNSELECT"), NULL, error))
		return false;
	imap_conn_set_state(conn, MH_IMAP_STATE_AUTHENTICATED);
	return true;
}

/* --- UID SEARCH --- */

/* Appends the UIDs of sequence set @set ("1:3,7") to @uids. */
static bool
search_add_set(GArray *uids, const char *set)
{
	g_auto(GStrv) parts = g_strsplit(set, ",", -1);

	for (size_t i = 0; parts[i] != NULL; i++) {
		char *end = NULL;
		guint64 lo = g_ascii_strtoull(parts[i], &end, 10);
		guint64 hi = lo;

		if (end == parts[i])
			return false;
		if (*end == ':') {
			const char *p = end + 1;

			hi = g_ascii_strtoull(p, &end, 10);
			if (end == p)
				return false;
		}
		if (*end != '\0' || lo == 0 || hi == 0 || lo > G_MAXUINT32 || hi > G_MAXUINT32)
			return false;
		if (lo > hi) {
			guint64 t = lo;

			lo = hi;
			hi = t;
		}
		if (uids->len + (hi - lo + 1) > SEARCH_MAX_UIDS)
			return false;
		for (guint64 u = lo; u <= hi; u++) {
			guint32 v = (guint32)u;

			g_array_append_val(uids, v);
		}
	}
	return true;
}

struct search_ctx {
	GArray *uids;
	bool bad;
};

static bool
on_search_untagged(struct mh_imap_conn *conn, const struct mh_imap_response *r, void *ctx)
{
	struct search_ctx *sc = ctx;

	(void)conn;
	if (r->status != MH_IMAP_STATUS_NONE)
		return false;
	if (g_strcmp0(r->name, "SEARCH") == 0) {
		for (guint i = 0; r->args != NULL && i < r->args->len; i++) {
			guint32 v = arg_u32(r->args->pdata[i]);

			if (v != 0)
				g_array_append_val(sc->uids, v);
		}
		return true;
	}
	if (g_strcmp0(r->name, "ESEARCH") == 0) {
		for (guint i = 0; r->args != NULL && i + 1 < r->args->len; i++) {
			const struct mh_imap_arg *v = r->args->pdata[i + 1];

			if (mh_imap_arg_is_atom(r->args->pdata[i], "ALL") &&
			    (v->type != MH_IMAP_ARG_ATOM || !search_add_set(sc->uids, v->str)))
				sc->bad = true;
		}
		return true;
	}
	return false;
}

static gint
uid_cmp(gconstpointer a, gconstpointer b)
{
	guint32 x = *(const guint32 *)a;
	guint32 y = *(const guint32 *)b;

	return x < y ? -1 : x > y;
}

bool
mh_imap_uid_search(struct mh_imap_conn *conn, const char *criteria, GArray **uids_r, GError **error)
{
	struct search_ctx sc = {.uids = g_array_new(false, false, sizeof(guint32))};
	bool esearch = mh_imap_conn_has_cap(conn, "ESEARCH");
	struct mh_imap_cmd *cmd =
		mh_imap_cmd_new(0, "UID SEARCH %s%s", esearch ? "RETURN (ALL) " : "", criteria);

	mh_imap_cmd_set_callbacks(cmd, on_search_untagged, NULL, &sc);
	if (!mh_imap_cmd_run(conn, cmd, NULL, error) ||
	    (sc.bad && (g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL,
	                            "malformed or oversized ESEARCH result"),
	                true))) {
		g_prefix_error(error, "UID SEARCH failed: ");
		g_array_free(sc.uids, true);
		return false;
	}
	/* Servers answer in ascending order (ESEARCH ranges, Dovecot's SEARCH): a big
	 * folder's 200,000 UIDs need no sort then. */
	for (guint i = 1; i < sc.uids->len; i++) {
		if (g_array_index(sc.uids, guint32, i - 1) > g_array_index(sc.uids, guint32, i)) {
			g_array_sort(sc.uids, uid_cmp);
			break;
		}
	}
	*uids_r = sc.uids;
	return true;
}

/* --- UID FETCH --- */

struct fetch_ctx {
	mh_imap_fetch_cb *cb;
	void *ctx;
};

static bool
on_fetch_untagged(struct mh_imap_conn *conn, const struct mh_imap_response *r, void *ctx)
{
	struct fetch_ctx *fc = ctx;
	const struct mh_imap_arg *items = imap_args_nth(r->args, 0);

	if (r->status != MH_IMAP_STATUS_NONE || !r->has_number || g_strcmp0(r->name, "FETCH") != 0)
		return false;
	if (items != NULL && items->type == MH_IMAP_ARG_LIST)
		fc->cb(conn, r->number, items->list, fc->ctx);
	return true;
}

bool
mh_imap_uid_fetch_since(struct mh_imap_conn *conn, const char *uidset, const char *items,
                        uint64_t changedsince, mh_imap_fetch_cb *cb, void *ctx, GError **error)
{
	struct fetch_ctx fc = {.cb = cb, .ctx = ctx};
	struct mh_imap_cmd *cmd = mh_imap_cmd_new(0, "UID FETCH %s (%s)", uidset, items);

	if (changedsince > 0)
		mh_imap_cmd_add(cmd, " (CHANGEDSINCE %" G_GUINT64_FORMAT ")", changedsince);
	mh_imap_cmd_set_callbacks(cmd, on_fetch_untagged, NULL, &fc);
	if (!mh_imap_cmd_run(conn, cmd, NULL, error)) {
		g_prefix_error(error, "UID FETCH failed: ");
		return false;
	}
	return true;
}

bool
mh_imap_uid_fetch(struct mh_imap_conn *conn, const char *uidset, const char *items,
                  mh_imap_fetch_cb *cb, void *ctx, GError **error)
{
	return mh_imap_uid_fetch_since(conn, uidset, items, 0, cb, ctx, error);
}

/* --- APPEND, CREATE, SUBSCRIBE, STORE, EXPUNGE --- */

static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

char *
mh_imap_format_date_time(GDateTime *dt)
{
	GTimeSpan off = g_date_time_get_utc_offset(dt) / G_TIME_SPAN_MINUTE;
	long aoff = off < 0 ? -off : off;

	return g_strdup_printf(
		"%02d-%s-%04d %02d:%02d:%02d %c%02ld%02ld", g_date_time_get_day_of_month(dt),
		month_names[g_date_time_get_month(dt) - 1], g_date_time_get_year(dt),
		g_date_time_get_hour(dt), g_date_time_get_minute(dt), g_date_time_get_second(dt),
		off < 0 ? '-' : '+', aoff / 60, aoff % 60);
}

GDateTime *
mh_imap_parse_date_time(const char *s)
{
	int day, year, hh, mm, ss, zone;
	char mon[4];
	char sign;
	g_autoptr(GTimeZone) tz = NULL;
	char tzs[8];

	if (sscanf(s, "%2d-%3s-%4d %2d:%2d:%2d %c%4d", &day, mon, &year, &hh, &mm, &ss, &sign,
	           &zone) != 8 ||
	    (sign != '+' && sign != '-'))
		return NULL;
	for (int m = 0; m < 12; m++) {
		if (g_ascii_strcasecmp(mon, month_names[m]) != 0)
			continue;
		g_snprintf(tzs, sizeof(tzs), "%c%02d:%02d", sign, zone / 100, zone % 100);
		tz = g_time_zone_new_identifier(tzs);
		if (tz == NULL)
			return NULL;
		return g_date_time_new(tz, year, m + 1, day, hh, mm, ss);
	}
	return NULL;
}

bool
mh_imap_append(struct mh_imap_conn *conn, const char *mailbox, const char *flags,
               GDateTime *internaldate, GBytes *message, uint32_t *uidvalidity_r, uint32_t *uid_r,
               GError **error)
{
	struct mh_imap_cmd *cmd = mh_imap_cmd_new(0, "APPEND");
	g_autoptr(mh_imap_response) tagged = NULL;

	mh_imap_cmd_add_mailbox(cmd, conn, mailbox);
	if (flags != NULL)
		mh_imap_cmd_add(cmd, " (%s)", flags);
	if (internaldate != NULL) {
		g_autofree char *d = mh_imap_format_date_time(internaldate);

		mh_imap_cmd_add(cmd, " \"%s\"", d);
	}
	mh_imap_cmd_add_literal(cmd, message);
	*uidvalidity_r = 0;
	*uid_r = 0;
	if (!mh_imap_cmd_run(conn, cmd, &tagged, error)) {
		g_prefix_error(error, "APPEND to %s refused: ", mailbox);
		return false;
	}
	if (g_strcmp0(tagged->code, "APPENDUID") == 0) {
		*uidvalidity_r = arg_u32(imap_args_nth(tagged->code_args, 0));
		*uid_r = arg_u32(imap_args_nth(tagged->code_args, 1));
	}
	return true;
}

static bool
run_mailbox_cmd(struct mh_imap_conn *conn, const char *verb, const char *mailbox,
                struct mh_imap_response **tagged_r, GError **error)
{
	struct mh_imap_cmd *cmd = mh_imap_cmd_new(0, "%s", verb);

	mh_imap_cmd_add_mailbox(cmd, conn, mailbox);
	if (!mh_imap_cmd_run(conn, cmd, tagged_r, error)) {
		g_prefix_error(error, "%s %s failed: ", verb, mailbox);
		return false;
	}
	return true;
}

bool
mh_imap_create(struct mh_imap_conn *conn, const char *mailbox, GError **error)
{
	g_autoptr(mh_imap_response) tagged = NULL;
	GError *local = NULL;

	if (run_mailbox_cmd(conn, "CREATE", mailbox, &tagged, &local))
		return true;
	if (tagged != NULL && g_strcmp0(tagged->code, "ALREADYEXISTS") == 0) {
		g_error_free(local);
		return true;
	}
	g_propagate_error(error, local);
	return false;
}

bool
mh_imap_subscribe(struct mh_imap_conn *conn, const char *mailbox, GError **error)
{
	return run_mailbox_cmd(conn, "SUBSCRIBE", mailbox, NULL, error);
}

bool
mh_imap_uid_store(struct mh_imap_conn *conn, const char *uidset, const char *action,
                  const char *flags, GError **error)
{
	struct mh_imap_cmd *cmd = mh_imap_cmd_new(0, "UID STORE %s %s (%s)", uidset, action, flags);

	if (!mh_imap_cmd_run(conn, cmd, NULL, error)) {
		g_prefix_error(error, "UID STORE failed: ");
		return false;
	}
	return true;
}

bool
mh_imap_expunge(struct mh_imap_conn *conn, const char *uidset, GError **error)
{
	struct mh_imap_cmd *cmd = uidset != NULL && mh_imap_conn_has_cap(conn, "UIDPLUS")
	                                  ? mh_imap_cmd_new(0, "UID EXPUNGE %s", uidset)
	                                  : mh_imap_cmd_new(0, "EXPUNGE");

	if (!mh_imap_cmd_run(conn, cmd, NULL, error)) {
		g_prefix_error(error, "EXPUNGE failed: ");
		return false;
	}
	return true;
}
