/* SPDX-License-Identifier: MIT */
/* The IMAP store's appends: each message streamed in an APPEND with LITERAL+ where
 * offered, and several in one MULTIAPPEND (RFC 3502) where the server takes it, their
 * APPENDUID set mapped back to the messages in order. */
#include <string.h>

#include "sync-error.h"
#include "sync-store-imap-private.h"

/* Messages and bytes per MULTIAPPEND: a refused batch is sent again one by one. A batch
 * holds up to 100 messages, and more into a big folder (one message per hundred it holds,
 * up to 1,000): a server may pay for each command in proportion to the folder's size.
 * Dovecot's imap process spent 51 s of CPU storing 200,000 small messages into one maildir
 * folder in MULTIAPPENDs of 100, and 19-20 s in MULTIAPPENDs of 1,000 or of 4,000. */
#define APPEND_BATCH_MSGS     100
#define APPEND_BATCH_MSGS_MAX 1000
#define APPEND_BATCH_BYTES    (8 * 1024 * 1024)

struct append_ctx {
	mh_store_append_done_cb *done;
	void *ctx;
};

static void
on_append_done(struct mh_imap_conn *conn, const struct mh_imap_response *tagged,
               const GError *error, void *ctx)
{
	struct append_ctx *ac = ctx;
	g_autoptr(GError) refused = NULL;
	uint64_t uidvalidity = 0;
	uint64_t uid = 0;

	(void)conn;
	if (error == NULL && tagged->status != MH_IMAP_STATUS_OK) {
		refused = g_error_new(MH_IMAP_ERROR,
		                      tagged->status == MH_IMAP_STATUS_NO ? MH_IMAP_ERROR_NO
		                                                          : MH_IMAP_ERROR_BAD,
		                      "%s%s%s%s", tagged->code != NULL ? "[" : "",
		                      tagged->code != NULL ? tagged->code : "",
		                      tagged->code != NULL ? "] " : "", tagged->text);
		error = refused;
	}
	if (error == NULL && g_strcmp0(tagged->code, "APPENDUID") == 0 &&
	    tagged->code_args->len >= 2) {
		mh_imap_arg_get_uint64(tagged->code_args->pdata[0], &uidvalidity);
		mh_imap_arg_get_uint64(tagged->code_args->pdata[1], &uid);
	}
	ac->done((uint32_t)uidvalidity, uid <= G_MAXUINT32 ? (uint32_t)uid : 0, error, ac->ctx);
	g_free(ac);
}

/* The messages of one MULTIAPPEND (RFC 3502), answered together. */
struct append_batch {
	struct store_imap *si; /* borrowed; its batch while this one is open */
	GPtrArray *acs;        /* struct append_ctx *, in the order sent */
	char *folder;
	uint64_t bytes;
};

/* Expands a UID set of an APPENDUID code ("7:9,12") into @uids, in order; false when it
 * is not one or holds more than @max. */
static bool
append_uidset_expand(const char *set, guint max, GArray *uids)
{
	g_auto(GStrv) parts = g_strsplit(set != NULL ? set : "", ",", -1);

	for (guint i = 0; parts[i] != NULL; i++) {
		guint64 lo, hi;
		char *end;

		lo = g_ascii_strtoull(parts[i], &end, 10);
		hi = lo;
		if (*end == ':')
			hi = g_ascii_strtoull(end + 1, &end, 10);
		if (*end != '\0' || lo == 0 || hi < lo || hi > G_MAXUINT32 ||
		    uids->len + (hi - lo) >= max)
			return false;
		for (guint64 u = lo; u <= hi; u++)
			g_array_append_val(uids, (guint32){(guint32)u});
	}
	return uids->len == max;
}

static void
on_batch_done(struct mh_imap_conn *conn, const struct mh_imap_response *tagged, const GError *error,
              void *ctx)
{
	struct append_batch *b = ctx;
	g_autoptr(GArray) uids = g_array_new(false, false, sizeof(guint32));
	g_autoptr(GError) refused = NULL;
	uint64_t uidvalidity = 0;
	const char *set = NULL;

	if (b->si->batch == b)
		b->si->batch = NULL;
	if (b->acs->len == 1) {
		/* A batch of one is an APPEND like any other. */
		on_append_done(conn, tagged, error, b->acs->pdata[0]);
		g_ptr_array_free(b->acs, true);
		g_free(b->folder);
		g_free(b);
		return;
	}
	if (error == NULL && tagged->status != MH_IMAP_STATUS_OK) {
		refused = g_error_new(MH_SYNC_ERROR, MH_SYNC_ERROR_BATCH,
		                      "a MULTIAPPEND of %u messages to %s was refused (%s%s%s%s)",
		                      b->acs->len, b->folder, tagged->code != NULL ? "[" : "",
		                      tagged->code != NULL ? tagged->code : "",
		                      tagged->code != NULL ? "] " : "",
		                      tagged->text != NULL ? tagged->text : "");
		error = refused;
	}
	if (error == NULL && g_strcmp0(tagged->code, "APPENDUID") == 0 &&
	    tagged->code_args->len >= 2 &&
	    mh_imap_arg_get_uint64(tagged->code_args->pdata[0], &uidvalidity) &&
	    (!mh_imap_arg_get_nstring(tagged->code_args->pdata[1], &set, NULL) ||
	     !append_uidset_expand(set, b->acs->len, uids)))
		g_array_set_size(uids, 0); /* copies without UIDs: found by fingerprint */
	for (guint i = 0; i < b->acs->len; i++) {
		struct append_ctx *ac = b->acs->pdata[i];

		ac->done(uids->len > 0 ? (uint32_t)uidvalidity : 0,
		         uids->len > 0 ? g_array_index(uids, guint32, i) : 0, error, ac->ctx);
		g_free(ac);
	}
	g_ptr_array_free(b->acs, true);
	g_free(b->folder);
	g_free(b);
}

/* How many messages a MULTIAPPEND to @folder may hold: more as the selected folder grows
 * (see APPEND_BATCH_MSGS). */
static guint
append_batch_max(const struct store_imap *si, const char *folder)
{
	uint64_t held =
		si->selected != NULL && strcmp(si->selected, folder) == 0 ? si->selected_msgs : 0;

	return (guint)CLAMP(held / 100, APPEND_BATCH_MSGS, APPEND_BATCH_MSGS_MAX);
}

/* Whether the next APPEND to @folder of @size bytes can join the MULTIAPPEND being sent. */
static bool
append_batch_joins(struct store_imap *si, const char *folder, uint64_t size)
{
	return mh_imap_append_stream_is_open(si->conn) && si->batch != NULL &&
	       strcmp(si->batch->folder, folder) == 0 &&
	       si->batch->acs->len < append_batch_max(si, folder) &&
	       si->batch->bytes + size <= APPEND_BATCH_BYTES;
}

bool
imap_store_append_begin(struct mh_store *st, const char *folder, const char *flags,
                        const char *date, uint64_t size, mh_store_append_done_cb *done, void *ctx,
                        GError **error)
{
	struct store_imap *si = store_imap(st);
	struct append_ctx *ac = g_new0(struct append_ctx, 1);
	struct append_batch *b;

	ac->done = done;
	ac->ctx = ctx;
	if (si->selected != NULL && strcmp(si->selected, folder) == 0)
		si->selected_msgs++;
	if (si->batch_off || !mh_imap_conn_has_cap(si->conn, "MULTIAPPEND") ||
	    !mh_imap_conn_has_cap(si->conn, "LITERAL+")) {
		si->batch = NULL;
		return mh_imap_append_stream_begin(si->conn, folder, flags, date, size,
		                                   on_append_done, ac, error);
	}
	if (append_batch_joins(si, folder, size)) {
		GError *local = NULL;

		g_ptr_array_add(si->batch->acs, ac);
		si->batch->bytes += size;
		if (mh_imap_append_stream_next(si->conn, flags, date, size, &local))
			return true;
		/* A failed connection answered the batch, this message with it; otherwise it
		 * was never sent: answer it here, as a refusal before the literal is. */
		if (si->batch != NULL && g_ptr_array_remove(si->batch->acs, ac)) {
			si->batch->bytes -= size;
			ac->done(0, 0, local, ac->ctx);
			g_free(ac);
		}
		g_propagate_error(error, local);
		return false;
	}
	/* A new batch (the connection ends the open one first). */
	b = g_new0(struct append_batch, 1);
	b->si = si;
	b->acs = g_ptr_array_new();
	b->folder = g_strdup(folder);
	b->bytes = size;
	g_ptr_array_add(b->acs, ac);
	si->batch = b;
	if (!mh_imap_append_stream_begin(si->conn, folder, flags, date, size, on_batch_done, b,
	                                 error)) {
		si->batch = NULL; /* answered (and freed) already */
		return false;
	}
	return true;
}

bool
imap_store_append_write(struct mh_store *st, const void *data, size_t len, GError **error)
{
	return mh_imap_append_stream_write(store_imap(st)->conn, data, len, error);
}

bool
imap_store_append_end(struct mh_store *st, GError **error)
{
	struct store_imap *si = store_imap(st);

	if (si->batch == NULL)
		return mh_imap_append_stream_end(si->conn, error);
	if (si->batch->acs->len >= append_batch_max(si, si->batch->folder) ||
	    si->batch->bytes >= APPEND_BATCH_BYTES) {
		si->batch = NULL;
		return mh_imap_append_stream_end(si->conn, error);
	}
	return mh_imap_append_stream_end_more(si->conn, error);
}

void
imap_store_append_batching(struct mh_store *st, bool on)
{
	struct store_imap *si = store_imap(st);

	si->batch_off = !on;
}

void
imap_store_append_abort(struct mh_store *st, const char *why)
{
	mh_imap_append_stream_abort(store_imap(st)->conn, why);
}

bool
imap_store_flush(struct mh_store *st, GError **error)
{
	struct store_imap *si = store_imap(st);

	si->batch = NULL;
	return mh_imap_append_stream_close(si->conn, error) && mh_imap_conn_drain(si->conn, error);
}
