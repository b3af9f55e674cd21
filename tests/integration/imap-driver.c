/* SPDX-License-Identifier: MIT */
/* A test program for the IMAP client library: it connects with the public API of
 * src/imap only, runs operations given on the command line or in a script file and
 * prints one JSON object per result on stdout, for the Python tests in
 * tests/integration and tests/fault to assert. A failed operation prints an "error"
 * object with the GError's code and ends the run with exit status 1. */
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "imap-driver-json.h"
#include "imap.h"
#include "mh-log.h"
#include "mh-secret.h"

static const char usage_text[] =
	"usage: imap-driver [--script FILE] [--max-pipeline N] [--max-literal N] [--timeout MS]\n"
	"         [--debug CATS] HOST PORT ssl|starttls|auto|none CAFILE|- USER\n"
	"         PASSWORD-FILE [OPERATION...]   (or: imap-driver - date IMAP-DATE-TIME...)\n"
	"operations: create|subscribe NAME, lsub, list REF PATTERN,\n"
	"  status|mailbox-id|select|examine NAME,\n"
	"  append|submit-append MAILBOX FILE [FLAGS|-] [DATE|-], submit TEXT, drain,\n"
	"  stream-append MAILBOX FILE [FLAGS|-] [DATE|-] [CHUNK|-] [ABORT-AFTER],\n"
	"  search CRITERIA..., fetch UIDSET ITEMS, fetch-sink UIDSET ITEMS MIN-SIZE,\n"
	"  store UIDSET ACTION FLAGS, expunge [UIDSET], enable CAPS, namespace, id, logout,\n"
	"  date IMAP-DATE-TIME, try OPERATION (report its failure and go on)\n";

/* A literal the sink received. */
struct streamed {
	GChecksum *sum;     /* owned */
	char prev_atom[32]; /* the atom before the literal (truncated), "" for none */
	uint64_t bytes;     /* received through data() */
	unsigned chunks;    /* data() calls */
};

struct sink_state {
	guint64 min_size; /* stream literals of at least this size */
	GQueue streams;   /* struct streamed *, owned, oldest first; the last may be open */
};

struct driver {
	struct mh_imap_conn *conn; /* owned; NULL without a connection */
	unsigned next_id;          /* numbers submitted commands from 1 */
	gint64 batch_start;        /* monotonic time of the first submit since the last drain */
	struct sink_state sink;
};

/* --- helpers --- */

/* argv[i] of a NULL-terminated @argv, or NULL when absent or "-" (omitted). */
static const char *
opt_arg(char **argv, int i)
{
	for (int k = 1; k <= i; k++) {
		if (argv[k] == NULL)
			return NULL;
	}
	return strcmp(argv[i], "-") != 0 ? argv[i] : NULL;
}

/* {"op": argv[0], "args": [argv[1]...]}: the result of an operation that returns nothing. */
static void
out_args(char **argv)
{
	GString *s = out_begin(argv[0]);

	out_strv(s, "args", (const char *const *)argv + 1, -1);
	out_end(s);
}

static void
out_arg_values(GString *s, const char *key, const GPtrArray *args)
{
	g_autoptr(GPtrArray) strs = g_ptr_array_new();

	for (guint i = 0; args != NULL && i < args->len; i++) {
		const char *v = NULL;

		if (mh_imap_arg_get_nstring(args->pdata[i], &v, NULL) && v != NULL)
			g_ptr_array_add(strs, (gpointer)v);
	}
	out_strv(s, key, (const char *const *)strs->pdata, strs->len);
}

/* --- the literal sink --- */

static void
streamed_free(struct streamed *st)
{
	g_checksum_free(st->sum);
	g_free(st);
}

static bool
sink_begin(void *ctx, G_GNUC_UNUSED const struct mh_imap_response *resp, const char *prev_atom,
           uint64_t size)
{
	struct sink_state *ss = ctx;
	struct streamed *st;

	if (size < ss->min_size)
		return false;
	st = g_new0(struct streamed, 1);
	st->sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_strlcpy(st->prev_atom, prev_atom != NULL ? prev_atom : "", sizeof(st->prev_atom));
	g_queue_push_tail(&ss->streams, st);
	return true;
}

static void
sink_data(void *ctx, const unsigned char *data, size_t len)
{
	struct streamed *st = g_queue_peek_tail(&((struct sink_state *)ctx)->streams);

	g_checksum_update(st->sum, data, (gssize)len);
	st->bytes += len;
	st->chunks++;
}

static void
sink_end(void *ctx)
{
	(void)ctx; /* the digest is read when the FETCH response is complete */
}

static void
sink_reset(struct driver *d)
{
	if (d->conn != NULL)
		mh_imap_conn_set_literal_sink(d->conn, NULL);
	g_queue_clear_full(&d->sink.streams, (GDestroyNotify)streamed_free);
}

/* --- FETCH --- */

/* Appends {"item":..., "len":..., "sha256":..., "streamed":...} to the array text @b. */
static void
fetch_out_body(struct driver *d, GString *b, const struct mh_imap_arg *key,
               const struct mh_imap_arg *val)
{
	struct streamed *st;
	g_autofree char *sum = NULL;

	g_string_append(b, b->len > 0 ? ",{\"item\":" : "{\"item\":");
	json_string(b, key->str);
	out_bool(b, "streamed", val->type == MH_IMAP_ARG_STREAMED);
	if (val->type == MH_IMAP_ARG_STREAMED) {
		st = g_queue_pop_head(&d->sink.streams);
		g_assert(st != NULL);
		out_num(b, "len", val->size);
		out_str(b, "sha256", g_checksum_get_string(st->sum));
		out_num(b, "sink_bytes", st->bytes);
		out_num(b, "sink_chunks", st->chunks);
		out_str(b, "sink_prev_atom", st->prev_atom);
		streamed_free(st);
	} else if (val->type == MH_IMAP_ARG_NIL) {
		out_str(b, "sha256", NULL);
	} else {
		sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)val->str,
		                                  val->len);
		out_num(b, "len", val->len);
		out_str(b, "sha256", sum);
	}
	g_string_append_c(b, '}');
}

static void
fetch_out_date(GString *s, const struct mh_imap_arg *val)
{
	const char *str = NULL;
	g_autoptr(GDateTime) dt = NULL;
	g_autofree char *again = NULL;

	if (!mh_imap_arg_get_nstring(val, &str, NULL) || str == NULL)
		return;
	out_str(s, "internaldate", str);
	dt = mh_imap_parse_date_time(str);
	if (dt == NULL) {
		out_str(s, "internaldate_unix", NULL);
		return;
	}
	again = mh_imap_format_date_time(dt);
	out_num(s, "internaldate_unix", (uint64_t)g_date_time_to_unix(dt));
	out_str(s, "internaldate_formatted", again);
}

static void
fetch_out_item(struct driver *d, GString *s, GString *bodies, const struct mh_imap_arg *key,
               const struct mh_imap_arg *val)
{
	uint64_t n = 0;

	if (key->type == MH_IMAP_ARG_ATOM &&
	    (g_str_has_prefix(key->str, "BODY[") || g_str_has_prefix(key->str, "BINARY[") ||
	     g_ascii_strcasecmp(key->str, "RFC822") == 0)) {
		fetch_out_body(d, bodies, key, val);
	} else if (mh_imap_arg_is_atom(key, "UID") && mh_imap_arg_get_uint64(val, &n)) {
		out_num(s, "uid", n);
	} else if (mh_imap_arg_is_atom(key, "RFC822.SIZE") && mh_imap_arg_get_uint64(val, &n)) {
		out_num(s, "size", n);
	} else if (mh_imap_arg_is_atom(key, "FLAGS") && val->type == MH_IMAP_ARG_LIST) {
		out_arg_values(s, "flags", val->list);
	} else if (mh_imap_arg_is_atom(key, "INTERNALDATE")) {
		fetch_out_date(s, val);
	}
}

static void
on_fetch(G_GNUC_UNUSED struct mh_imap_conn *conn, uint32_t number, const GPtrArray *items,
         void *ctx)
{
	struct driver *d = ctx;
	GString *s = out_begin("fetch");
	g_autoptr(GString) bodies = g_string_new(NULL);

	out_num(s, "seq", number);
	for (guint i = 0; i + 1 < items->len; i += 2)
		fetch_out_item(d, s, bodies, items->pdata[i], items->pdata[i + 1]);
	out_key(s, "bodies");
	g_string_append_printf(s, "[%s]", bodies->str);
	out_end(s);
}

static bool
op_fetch(struct driver *d, char **argv, GError **error)
{
	struct mh_imap_literal_sink sink = {sink_begin, sink_data, sink_end, &d->sink};
	bool ok;

	if (strcmp(argv[0], "fetch-sink") == 0) {
		if (!g_ascii_string_to_unsigned(argv[3], 10, 0, G_MAXUINT64, &d->sink.min_size,
		                                error))
			return false;
		mh_imap_conn_set_literal_sink(d->conn, &sink);
	}
	ok = mh_imap_uid_fetch(d->conn, argv[1], argv[2], on_fetch, d, error);
	sink_reset(d);
	return ok;
}

/* --- folders --- */

static bool
op_create(struct driver *d, char **argv, GError **error)
{
	if (!(strcmp(argv[0], "create") == 0 ? mh_imap_create(d->conn, argv[1], error)
	                                     : mh_imap_subscribe(d->conn, argv[1], error)))
		return false;
	out_args(argv);
	return true;
}

static bool
op_lsub(struct driver *d, char **argv, GError **error)
{
	g_autoptr(GPtrArray) names = NULL;
	GString *s;

	if (!mh_imap_lsub(d->conn, &names, error))
		return false;
	s = out_begin(argv[0]);
	out_strv(s, "names", (const char *const *)names->pdata, names->len);
	out_end(s);
	return true;
}

static bool
op_list(struct driver *d, char **argv, GError **error)
{
	g_autoptr(GPtrArray) folders = NULL;

	if (!mh_imap_list(d->conn, argv[1], argv[2], &folders, error))
		return false;
	for (guint i = 0; i < folders->len; i++) {
		const struct mh_imap_folder *f = folders->pdata[i];
		g_autofree char *attrs = mh_imap_attrs_to_string(f->attrs);
		char sep[2] = {f->sep, '\0'};
		GString *s = out_begin("list");

		out_str(s, "name", f->name);
		out_str(s, "raw", f->raw_name);
		out_str(s, "sep", f->sep != '\0' ? sep : NULL);
		out_str(s, "attr_names", attrs);
		out_end(s);
	}
	return true;
}

static bool
op_status(struct driver *d, char **argv, GError **error)
{
	struct mh_imap_status_info info;
	GString *s;

	if (!mh_imap_status(d->conn, argv[1], &info, error))
		return false;
	s = out_begin("status");
	out_str(s, "mailbox", argv[1]);
	out_num(s, "messages", info.messages);
	out_num(s, "uidnext", info.uidnext);
	out_num(s, "uidvalidity", info.uidvalidity);
	out_num(s, "unseen", info.unseen);
	out_num(s, "highestmodseq", info.highestmodseq);
	out_num(s, "size", info.size);
	out_end(s);
	return true;
}

static bool
op_mailbox_id(struct driver *d, char **argv, GError **error)
{
	g_autofree char *id = NULL;
	const char *item = NULL;
	GString *s;

	if (!mh_imap_mailbox_id(d->conn, argv[1], &id, &item, error))
		return false;
	s = out_begin("mailbox-id");
	out_str(s, "mailbox", argv[1]);
	out_str(s, "item", item);
	out_str(s, "id", id);
	out_num(s, "errors", mh_imap_conn_errors(d->conn));
	out_end(s);
	return true;
}

static bool
op_select(struct driver *d, char **argv, GError **error)
{
	struct mh_imap_mailbox *mb = NULL;
	GString *s;

	if (!mh_imap_select(d->conn, argv[1], strcmp(argv[0], "examine") == 0, &mb, error))
		return false;
	s = out_begin(argv[0]);
	out_str(s, "mailbox", argv[1]);
	out_num(s, "exists", mb->exists);
	out_num(s, "uidvalidity", mb->uidvalidity);
	out_num(s, "uidnext", mb->uidnext);
	out_num(s, "highestmodseq", mb->highestmodseq);
	out_bool(s, "read_only", mb->read_only);
	out_strv(s, "flags", (const char *const *)mb->flags->pdata, mb->flags->len);
	out_strv(s, "permanentflags", (const char *const *)mb->permanentflags->pdata,
	         mb->permanentflags->len);
	out_end(s);
	mh_imap_mailbox_free(mb);
	return true;
}

/* --- APPEND, direct and pipelined --- */

/* The message (argv[2]) and INTERNALDATE (argv[4], may be omitted) of an append. */
static bool
append_args(char **argv, GBytes **msg_r, GDateTime **date_r, GError **error)
{
	const char *date = opt_arg(argv, 4);
	char *data = NULL;
	gsize len = 0;

	*date_r = NULL;
	if (!g_file_get_contents(argv[2], &data, &len, error))
		return false;
	*msg_r = g_bytes_new_take(data, len);
	if (date == NULL || (*date_r = mh_imap_parse_date_time(date)) != NULL)
		return true;
	g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE, "not an IMAP date-time: '%s'", date);
	return false;
}

static bool
op_append(struct driver *d, char **argv, GError **error)
{
	g_autoptr(GBytes) msg = NULL;
	g_autoptr(GDateTime) date = NULL;
	g_autofree char *sum = NULL;
	uint32_t uidvalidity = 0;
	uint32_t uid = 0;
	GString *s;

	if (!append_args(argv, &msg, &date, error) ||
	    !mh_imap_append(d->conn, argv[1], opt_arg(argv, 3), date, msg, &uidvalidity, &uid,
	                    error))
		return false;
	sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
	                                  (const guchar *)g_bytes_get_data(msg, NULL),
	                                  g_bytes_get_size(msg));
	s = out_begin("append");
	out_str(s, "mailbox", argv[1]);
	out_num(s, "uidvalidity", uidvalidity);
	out_num(s, "uid", uid);
	out_num(s, "bytes", g_bytes_get_size(msg));
	out_str(s, "sha256", sum);
	out_end(s);
	return true;
}

static void
on_submitted_done(G_GNUC_UNUSED struct mh_imap_conn *conn, const struct mh_imap_response *tagged,
                  const GError *error, void *ctx)
{
	GString *s = out_begin("done");

	out_num(s, "id", GPOINTER_TO_UINT(ctx));
	if (tagged != NULL) {
		out_str(s, "tag", tagged->tag);
		out_str(s, "status", mh_imap_status_name(tagged->status));
		out_str(s, "code", tagged->code);
		out_arg_values(s, "code_args", tagged->code_args);
		out_str(s, "text", tagged->text);
	} else {
		out_str(s, "status", NULL);
		out_error_fields(s, error);
	}
	out_end(s);
}

static void
driver_submit(struct driver *d, struct mh_imap_cmd *cmd)
{
	if (d->batch_start == 0)
		d->batch_start = g_get_monotonic_time();
	mh_imap_cmd_set_callbacks(cmd, NULL, on_submitted_done, GUINT_TO_POINTER(++d->next_id));
	mh_imap_cmd_submit(d->conn, cmd);
}

static bool
op_submit(struct driver *d, char **argv, G_GNUC_UNUSED GError **error)
{
	driver_submit(d, mh_imap_cmd_new(0, "%s", argv[1]));
	return true;
}

static bool
op_submit_append(struct driver *d, char **argv, GError **error)
{
	g_autoptr(GBytes) msg = NULL;
	g_autoptr(GDateTime) date = NULL;
	const char *flags = opt_arg(argv, 3);
	struct mh_imap_cmd *cmd;

	if (!append_args(argv, &msg, &date, error))
		return false;
	cmd = mh_imap_cmd_new(0, "APPEND");
	mh_imap_cmd_add_mailbox(cmd, d->conn, argv[1]);
	if (flags != NULL)
		mh_imap_cmd_add(cmd, " (%s)", flags);
	if (date != NULL) {
		g_autofree char *text = mh_imap_format_date_time(date);

		mh_imap_cmd_add(cmd, " \"%s\"", text);
	}
	mh_imap_cmd_add_literal(cmd, msg);
	driver_submit(d, cmd);
	return true;
}

/* A streamed APPEND (mh_imap_append_stream_*) written in CHUNK-byte pieces (default
 * 64 KiB) and left in flight, or given up with _abort() after ABORT-AFTER bytes. */
static bool
op_stream_append(struct driver *d, char **argv, GError **error)
{
	g_autoptr(GBytes) msg = NULL;
	g_autoptr(GDateTime) date = NULL;
	const char *chunk_arg = opt_arg(argv, 5);
	const char *abort_arg = opt_arg(argv, 6);
	guint64 chunk = 65536, stop = G_MAXUINT64, n;
	gsize len = 0;
	const guchar *data;

	if (!append_args(argv, &msg, &date, error) ||
	    (chunk_arg != NULL &&
	     !g_ascii_string_to_unsigned(chunk_arg, 10, 1, G_MAXINT32, &chunk, error)) ||
	    (abort_arg != NULL &&
	     !g_ascii_string_to_unsigned(abort_arg, 10, 0, G_MAXUINT64, &stop, error)))
		return false;
	data = g_bytes_get_data(msg, &len);
	if (d->batch_start == 0)
		d->batch_start = g_get_monotonic_time();
	if (!mh_imap_append_stream_begin(d->conn, argv[1], opt_arg(argv, 3), opt_arg(argv, 4), len,
	                                 on_submitted_done, GUINT_TO_POINTER(++d->next_id), error))
		return false;
	for (gsize off = 0; off < len; off += n) {
		n = MIN(chunk, MIN(len - off, stop - off));
		if (n == 0) {
			mh_imap_append_stream_abort(d->conn, "the test stops here");
			out_args(argv);
			return true;
		}
		if (!mh_imap_append_stream_write(d->conn, data + off, n, error))
			return false;
	}
	return mh_imap_append_stream_end(d->conn, error);
}

static bool
op_drain(struct driver *d, char **argv, GError **error)
{
	gint64 start = d->batch_start != 0 ? d->batch_start : g_get_monotonic_time();
	GString *s;

	d->batch_start = 0;
	if (!mh_imap_conn_drain(d->conn, error))
		return false;
	s = out_begin(argv[0]);
	out_num(s, "submitted", d->next_id);
	out_key(s, "seconds");
	g_string_append_printf(s, "%.3f", (double)(g_get_monotonic_time() - start) / 1e6);
	out_end(s);
	return true;
}

/* --- SEARCH, STORE, EXPUNGE --- */

static bool
op_search(struct driver *d, char **argv, GError **error)
{
	g_autofree char *criteria = g_strjoinv(" ", argv + 1);
	g_autoptr(GArray) uids = NULL;
	GString *s;

	if (!mh_imap_uid_search(d->conn, criteria, &uids, error))
		return false;
	s = out_begin("search");
	out_str(s, "criteria", criteria);
	out_key(s, "uids");
	g_string_append_c(s, '[');
	for (guint i = 0; i < uids->len; i++)
		g_string_append_printf(s, "%s%u", i > 0 ? "," : "",
		                       g_array_index(uids, guint32, i));
	g_string_append_c(s, ']');
	out_end(s);
	return true;
}

static bool
op_store(struct driver *d, char **argv, GError **error)
{
	if (!mh_imap_uid_store(d->conn, argv[1], argv[2], argv[3], error))
		return false;
	out_args(argv);
	return true;
}

static bool
op_expunge(struct driver *d, char **argv, GError **error)
{
	if (!mh_imap_expunge(d->conn, opt_arg(argv, 1), error))
		return false;
	out_args(argv);
	return true;
}

/* --- session-wide commands --- */

static bool
op_enable(struct driver *d, char **argv, GError **error)
{
	GString *s;

	if (!mh_imap_enable(d->conn, argv[1], error))
		return false;
	s = out_begin("enable");
	out_bool(s, "utf8", mh_imap_conn_utf8(d->conn));
	out_end(s);
	return true;
}

static void
out_namespaces(GString *s, const char *key, const GPtrArray *list)
{
	out_key(s, key);
	g_string_append_c(s, '[');
	for (guint i = 0; i < list->len; i++) {
		const struct mh_imap_namespace *n = list->pdata[i];
		char sep[2] = {n->sep, '\0'};

		g_string_append(s, i > 0 ? ",{\"prefix\":" : "{\"prefix\":");
		json_string(s, n->prefix);
		out_str(s, "sep", n->sep != '\0' ? sep : NULL);
		g_string_append_c(s, '}');
	}
	g_string_append_c(s, ']');
}

static bool
op_namespace(struct driver *d, char **argv, GError **error)
{
	struct mh_imap_namespaces *ns = NULL;
	GString *s;

	if (!mh_imap_namespace(d->conn, &ns, error))
		return false;
	s = out_begin(argv[0]);
	out_namespaces(s, "personal", ns->personal);
	out_namespaces(s, "other", ns->other);
	out_namespaces(s, "shared", ns->shared);
	out_end(s);
	mh_imap_namespaces_free(ns);
	return true;
}

static bool
op_id(struct driver *d, char **argv, GError **error)
{
	static const char *const client_kv[] = {"name", "mailhaul-imap-driver", "version",
	                                        MH_VERSION, NULL};
	g_autoptr(GHashTable) server = NULL;
	GString *s;

	if (!mh_imap_id(d->conn, client_kv, &server, error))
		return false;
	s = out_begin(argv[0]);
	out_num(s, "server_fields", server != NULL ? g_hash_table_size(server) : 0);
	out_str(s, "server_name", server != NULL ? g_hash_table_lookup(server, "name") : NULL);
	out_end(s);
	return true;
}

static bool
op_date(G_GNUC_UNUSED struct driver *d, char **argv, GError **error)
{
	g_autoptr(GDateTime) dt = mh_imap_parse_date_time(argv[1]);
	g_autofree char *text = NULL;
	GString *s;

	if (dt == NULL) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE, "not an IMAP date-time");
		return false;
	}
	text = mh_imap_format_date_time(dt);
	s = out_begin("date");
	out_str(s, "input", argv[1]);
	out_str(s, "formatted", text);
	out_num(s, "unix", (uint64_t)g_date_time_to_unix(dt));
	out_end(s);
	return true;
}

static bool
op_logout(struct driver *d, char **argv, G_GNUC_UNUSED GError **error)
{
	mh_imap_conn_logout(d->conn);
	out_args(argv);
	return true;
}

/* --- dispatch --- */

typedef bool op_fn(struct driver *d, char **argv, GError **error);

static const struct {
	const char *name;
	int min_args; /* after the name */
	int max_args; /* -1: any */
	bool needs_conn;
	op_fn *fn;
} ops[] = {
	{"create", 1, 1, true, op_create},
	{"subscribe", 1, 1, true, op_create},
	{"lsub", 0, 0, true, op_lsub},
	{"list", 2, 2, true, op_list},
	{"status", 1, 1, true, op_status},
	{"mailbox-id", 1, 1, true, op_mailbox_id},
	{"select", 1, 1, true, op_select},
	{"examine", 1, 1, true, op_select},
	{"append", 2, 4, true, op_append},
	{"submit", 1, 1, true, op_submit},
	{"submit-append", 2, 4, true, op_submit_append},
	{"stream-append", 2, 6, true, op_stream_append},
	{"drain", 0, 0, true, op_drain},
	{"search", 1, -1, true, op_search},
	{"fetch", 2, 2, true, op_fetch},
	{"fetch-sink", 3, 3, true, op_fetch},
	{"store", 3, 3, true, op_store},
	{"expunge", 0, 1, true, op_expunge},
	{"enable", 1, 1, true, op_enable},
	{"namespace", 0, 0, true, op_namespace},
	{"id", 0, 0, true, op_id},
	{"date", 1, 1, false, op_date},
	{"logout", 0, 0, true, op_logout},
};

static bool
run_op(struct driver *d, char **argv, GError **error)
{
	int nargs = (int)g_strv_length(argv) - 1;

	for (size_t i = 0; i < G_N_ELEMENTS(ops); i++) {
		if (strcmp(argv[0], ops[i].name) != 0)
			continue;
		if (nargs < ops[i].min_args || (ops[i].max_args >= 0 && nargs > ops[i].max_args)) {
			g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
			            "%s: wrong number of arguments (%d)", argv[0], nargs);
			return false;
		}
		if (ops[i].needs_conn && d->conn == NULL) {
			g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
			            "%s needs a connection", argv[0]);
			return false;
		}
		return ops[i].fn(d, argv, error);
	}
	g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE, "unknown operation '%s'", argv[0]);
	return false;
}

/* Runs one operation line; on failure prints the error object and returns false, or
 * true when the line starts with "try" (the run goes on). */
static bool
run_line(struct driver *d, const char *line)
{
	g_auto(GStrv) argv = NULL;
	gint argc = 0;
	GError *error = NULL;
	bool try = false;

	if (g_shell_parse_argv(line, &argc, &argv, &error)) {
		try = argc > 1 && strcmp(argv[0], "try") == 0;
		if (run_op(d, argv + try, &error))
			return true;
	}
	return report_error(line, try, error);
}

static bool
run_script(struct driver *d, const char *path)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	GError *error = NULL;

	if (!g_file_get_contents(path, &text, NULL, &error)) {
		fprintf(stderr, "imap-driver: %s\n", error->message);
		g_error_free(error);
		return false;
	}
	lines = g_strsplit(text, "\n", -1);
	for (size_t i = 0; lines[i] != NULL; i++) {
		const char *line = g_strstrip(lines[i]);

		if (*line == '\0' || *line == '#')
			continue;
		if (!run_line(d, line))
			return false;
	}
	return true;
}

/* --- connecting --- */

struct options {
	char *script;
	gint max_pipeline;
	gint64 max_literal;
	gint timeout_ms;
	char *debug;
};

static bool
driver_login(struct driver *d, char **args, GError **error)
{
	struct mh_imap_credentials cred = {
		.user = args[4],
		.allow_cram_md5 = true,
		.cleartext_ok = true,
	};
	char *text = NULL;
	gsize len = 0;
	GString *s;
	bool ok;

	if (!g_file_get_contents(args[5], &text, &len, error))
		return false;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	cred.password = mh_secret_strndup(text, len);
	mh_secret_wipe(text, len);
	g_free(text);
	ok = mh_imap_conn_login(d->conn, &cred, error);
	mh_secret_free((char *)cred.password);
	if (!ok)
		return false;
	s = out_begin("login");
	out_str(s, "mechanism", mh_imap_conn_auth_mechanism(d->conn));
	out_strv(s, "caps", mh_imap_conn_caps(d->conn), -1);
	out_end(s);
	return true;
}

/* args: HOST PORT MODE CAFILE USER PASSWORD-FILE. */
static bool
driver_connect(struct driver *d, char **args, const struct options *o, GError **error)
{
	struct mh_imap_settings set = {
		.host = args[0],
		.cafile = strcmp(args[3], "-") != 0 ? args[3] : NULL,
		.connect_timeout_ms = (unsigned)o->timeout_ms,
		.read_timeout_ms = (unsigned)o->timeout_ms,
		.max_pipeline = (unsigned)o->max_pipeline,
		.label = "driver",
		.limits = {.max_literal = (size_t)o->max_literal},
	};
	static const char *const modes[] = {
		[MH_IMAP_TLS_AUTO] = "auto",
		[MH_IMAP_TLS_IMPLICIT] = "ssl",
		[MH_IMAP_TLS_STARTTLS] = "starttls",
		[MH_IMAP_TLS_NONE] = "none",
	};
	guint64 port = 0;
	GString *s;

	if (!g_ascii_string_to_unsigned(args[1], 10, 1, G_MAXUINT16, &port, error))
		return false;
	set.tls = MH_IMAP_TLS_AUTO;
	while (set.tls < G_N_ELEMENTS(modes) && strcmp(args[2], modes[set.tls]) != 0)
		set.tls++;
	if (set.tls == G_N_ELEMENTS(modes)) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE, "unknown mode '%s'",
		            args[2]);
		return false;
	}
	set.port = (uint16_t)port;
	d->conn = mh_imap_conn_new(&set);
	if (!mh_imap_conn_connect(d->conn, error))
		return false;
	s = out_begin("connect");
	out_strv(s, "caps", mh_imap_conn_caps(d->conn), -1);
	out_end(s);
	return driver_login(d, args, error);
}

static bool
parse_options(int *argc, char ***argv, struct options *o)
{
	const GOptionEntry entries[] = {
		{"script", 0, 0, G_OPTION_ARG_FILENAME, &o->script, "operations, one a line", "F"},
		{"max-pipeline", 0, 0, G_OPTION_ARG_INT, &o->max_pipeline, "commands in flight",
	         "N"},
		{"max-literal", 0, 0, G_OPTION_ARG_INT64, &o->max_literal,
	         "bytes of a literal kept in memory", "N"},
		{"timeout", 0, 0, G_OPTION_ARG_INT, &o->timeout_ms, "connect/read timeout", "MS"},
		{"debug", 0, 0, G_OPTION_ARG_STRING, &o->debug, "log categories", "CATS"},
		G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("HOST PORT MODE CAFILE USER PWFILE");
	g_autoptr(GError) error = NULL;
	unsigned mask = 0;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, argc, argv, &error) ||
	    (o->debug != NULL && !mh_log_parse_categories(o->debug, &mask, &error))) {
		fprintf(stderr, "imap-driver: %s\n%s", error->message, usage_text);
		return false;
	}
	mh_log_set_categories(mask);
	return true;
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	struct driver d = {0};
	GError *error = NULL;
	int first_op;
	bool ok = true;

	if (!parse_options(&argc, &argv, &o))
		return 64; /* EX_USAGE */
	first_op = argc > 1 && strcmp(argv[1], "-") == 0 ? 2 : 7;
	if (argc < first_op) {
		fputs(usage_text, stderr);
		return 64; /* EX_USAGE */
	}
	g_queue_init(&d.sink.streams);
	if (first_op == 7 && !driver_connect(&d, argv + 1, &o, &error))
		ok = report_error("connect", false, error);
	for (int i = first_op; ok && i < argc; i++)
		ok = run_line(&d, argv[i]);
	if (ok && o.script != NULL)
		ok = run_script(&d, o.script);
	sink_reset(&d);
	mh_imap_conn_free(d.conn);
	g_free(o.script);
	g_free(o.debug);
	return ok ? 0 : 1;
}
