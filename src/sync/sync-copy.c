/* SPDX-License-Identifier: MIT */
/* The copy phase: bodies stream from the source's pipelined UID FETCH straight into the
 * destination's APPEND literal (memory per message is the connection buffers, whatever the
 * message size); each answered APPEND is recorded in the state store at once, committed in
 * small batches, so a killed run resumes without loss or duplicate. */
#include <string.h>

#include "mh-log.h"
#include "sync-private.h"

#define COMMIT_EVERY 100

bool
sync_error_is_quota(const GError *error)
{
	g_autofree char *lower = g_ascii_strdown(error->message, -1);

	return strstr(lower, "overquota") != NULL || strstr(lower, "quota") != NULL;
}

bool
sync_error_is_fatal(const GError *error)
{
	if (error->domain != MH_IMAP_ERROR)
		return error->domain == MH_SYNC_ERROR && error->code == MH_SYNC_ERROR_STATE;
	return error->code != MH_IMAP_ERROR_NO && error->code != MH_IMAP_ERROR_BAD;
}

static void
copy_record_failure(struct sync_copy *c, uint32_t uid, const GError *error)
{
	struct mh_sync_folder_result *res = c->res;

	res->failed++;
	if (sync_error_is_quota(error))
		res->quota = true;
	else
		res->append_refused = true;
	g_ptr_array_add(res->errors, g_strdup_printf("message UID %u: %s", uid, error->message));
	mh_log(MH_LOG_WARN, "%s: message UID %u not copied: %s", res->src_name, uid,
	       error->message);
}

/* Writes the recorded copies in one short transaction: never one held across network
 * I/O, which would make the other workers wait for the lock. */
static void
copy_commit_maybe(struct sync_copy *c, bool force)
{
	g_autoptr(GError) error = NULL;
	bool ok;

	if (c->w->state == NULL || c->pending->len == 0 ||
	    (!force && c->pending->len < COMMIT_EVERY))
		return;
	ok = mh_state_begin(c->w->state, &error);
	for (guint i = 0; ok && i < c->pending->len; i++)
		ok = mh_state_msg_put(c->w->state, c->folder_id, c->pending->pdata[i], &error);
	if (ok)
		ok = mh_state_commit(c->w->state, &error);
	else
		mh_state_rollback(c->w->state);
	g_ptr_array_set_size(c->pending, 0);
	if (!ok && c->fatal == NULL)
		c->fatal = g_error_copy(error);
}

struct append_rec {
	struct sync_copy *c;
	struct sync_msg *msg;
	char *flags; /* owned; what was set on the destination */
	uint64_t size;
};

static void
on_appended(uint32_t uidvalidity, uint32_t uid, const GError *error, void *ctx)
{
	struct append_rec *rec = ctx;
	struct sync_copy *c = rec->c;
	(void)uidvalidity;
	if (error != NULL && sync_error_is_fatal(error)) {
		/* The connection went, not the message: the folder is retried after a
		 * reconnect, and this message with it. */
		if (c->fatal == NULL)
			c->fatal = g_error_copy(error);
	} else if (error != NULL) {
		copy_record_failure(c, rec->msg->uid, error);
	} else {
		struct mh_state_msg *m = g_new0(struct mh_state_msg, 1);

		m->src_uid = rec->msg->uid;
		m->dst_uid = uid;
		m->flags = g_strdup(rec->flags);
		m->fingerprint = g_strdup(rec->msg->fingerprint);
		m->size = rec->msg->size;
		c->res->copied++;
		c->res->copied_bytes += rec->size;
		g_ptr_array_add(c->pending, m);
		copy_commit_maybe(c, false);
	}
	g_free(rec->flags);
	g_free(rec);
}

static void
on_body_begin(void *ctx, uint32_t uid, uint64_t size)
{
	struct sync_copy *c = ctx;
	struct append_rec *rec;
	g_autoptr(GError) error = NULL;

	c->cur = g_hash_table_lookup(c->by_uid, GUINT_TO_POINTER(uid));
	c->cur_size = size;
	c->discard = true;
	if (c->cur == NULL || c->fatal != NULL)
		return;
	rec = g_new0(struct append_rec, 1);
	rec->c = c;
	rec->msg = c->cur;
	rec->size = size;
	rec->flags = sync_flags_for_dest(c->cur->flags, c->dst_box);
	if (!c->w->dst->ops->append_begin(c->w->dst, c->dst_name, rec->flags, c->cur->date, size,
	                                  on_appended, rec, &error)) {
		/* A refusal before the literal has already been reported by on_appended. */
		if (sync_error_is_fatal(error))
			c->fatal = g_error_copy(error);
		return;
	}
	c->discard = false;
}

static void
on_body_data(void *ctx, const unsigned char *data, size_t len)
{
	struct sync_copy *c = ctx;
	g_autoptr(GError) error = NULL;

	if (c->discard)
		return;
	if (!c->w->dst->ops->append_write(c->w->dst, data, len, &error)) {
		c->discard = true;
		if (c->fatal == NULL)
			c->fatal = g_error_copy(error);
	}
}

static void
on_body_end(void *ctx)
{
	struct sync_copy *c = ctx;
	g_autoptr(GError) error = NULL;

	if (!c->discard && !c->w->dst->ops->append_end(c->w->dst, &error) && c->fatal == NULL)
		c->fatal = g_error_copy(error);
	__atomic_fetch_add(&c->w->progress->msgs_done, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->w->progress->bytes_done, (gint64)c->cur_size, __ATOMIC_RELAXED);
	c->cur = NULL;
	c->discard = false;
}

static void
on_body_missing(void *ctx, uint32_t uid)
{
	struct sync_copy *c = ctx;
	struct mh_sync_skip *skip = g_new0(struct mh_sync_skip, 1);

	skip->uid = uid;
	skip->reason = g_strdup("vanished from the source during the copy");
	g_ptr_array_add(c->res->skipped, skip);
	__atomic_fetch_add(&c->w->progress->msgs_done, 1, __ATOMIC_RELAXED);
}

static bool
on_body_more(void *ctx)
{
	struct sync_copy *c = ctx;

	return c->fatal == NULL && (c->w->opts->interrupted == NULL || !*c->w->opts->interrupted);
}

bool
sync_copy_messages(struct sync_copy *c, GPtrArray *msgs, GError **error)
{
	const struct mh_store_body_sink sink = {
		.begin = on_body_begin,
		.data = on_body_data,
		.end = on_body_end,
		.missing = on_body_missing,
		.more = on_body_more,
		.ctx = c,
	};
	g_autoptr(GArray) uids = g_array_new(false, false, sizeof(guint32));
	GError *local = NULL;
	bool ok;

	for (guint i = 0; i < msgs->len; i++) {
		struct sync_msg *m = msgs->pdata[i];

		if (m->copy)
			g_array_append_val(uids, m->uid);
	}
	if (uids->len == 0)
		return true;
	c->pending = g_ptr_array_new_with_free_func((GDestroyNotify)mh_state_msg_free);
	for (guint i = 0; i < uids->len; i += 50) {
		guint n = MIN(50, uids->len - i);
		g_autoptr(GArray) part = g_array_sized_new(false, false, sizeof(guint32), n);

		if (!on_body_more(c))
			break;
		g_array_append_vals(part, &g_array_index(uids, guint32, i), n);
		ok = c->w->src->ops->fetch_bodies(c->w->src, part, &sink, &local);
		if (!ok || c->fatal != NULL)
			break;
	}
	if (local != NULL && c->cur != NULL && !c->discard) {
		/* A message half sent: the destination cannot take anything else now. */
		c->w->dst->ops->append_abort(c->w->dst, "the source connection failed");
	} else {
		g_autoptr(GError) ferr = NULL;

		/* Every APPEND in flight is answered (and recorded) before @c goes away: their
		 * callbacks point at it. A failing destination completes them with its error. */
		if (!c->w->dst->ops->flush(c->w->dst, &ferr) && local == NULL)
			local = g_steal_pointer(&ferr);
	}
	if (local == NULL && c->fatal != NULL)
		local = g_steal_pointer(&c->fatal);
	g_clear_error(&c->fatal);
	copy_commit_maybe(c, true);
	g_clear_pointer(&c->pending, g_ptr_array_unref);
	if (local == NULL && c->fatal != NULL)
		local = g_steal_pointer(&c->fatal);
	g_clear_error(&c->fatal);
	if (local != NULL) {
		g_propagate_error(error, local);
		return false;
	}
	return true;
}
