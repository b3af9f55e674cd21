/* SPDX-License-Identifier: MIT */
/* The rows of the sync state store: one per folder pair, keyed by the source folder
 * name, and one per copied message, keyed by (folder, source UID). Unsigned IMAP
 * numbers are stored in SQLite's signed 64-bit integers: UIDs and counts are 32-bit,
 * mod-sequences are at most 2^63 - 1 (RFC 7162 section 7), sizes stay far below. */
#include "sync-state-private.h"

#include <string.h>

/* Binding fails only on a wrong index or a value over SQLITE_MAX_LENGTH (1 GB); the
 * indexes are fixed here and names and flags are capped far below by the IMAP parser,
 * so the results of sqlite3_bind_*() are not checked. Strings are bound
 * SQLITE_STATIC: the statement is reset before the caller's string can change. */

static void
state_folder_read(sqlite3_stmt *stmt, struct mh_state_folder *f)
{
	f->id = sqlite3_column_int64(stmt, 0);
	f->src_name = g_strdup((const char *)sqlite3_column_text(stmt, 1));
	f->dst_name = g_strdup((const char *)sqlite3_column_text(stmt, 2));
	f->src_uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 3);
	f->dst_uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 4);
	f->src_uidnext = (uint32_t)sqlite3_column_int64(stmt, 5);
	f->dst_uidnext = (uint32_t)sqlite3_column_int64(stmt, 6);
	f->src_exists = (uint32_t)sqlite3_column_int64(stmt, 7);
	f->dst_exists = (uint32_t)sqlite3_column_int64(stmt, 8);
	f->src_highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 9);
	f->dst_highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 10);
	f->last_sync = sqlite3_column_int64(stmt, 11);
	f->src_bytes = sqlite3_column_int64(stmt, 12);
	f->dst_bytes = sqlite3_column_int64(stmt, 13);
}

static struct mh_state_msg *
state_msg_read(sqlite3_stmt *stmt)
{
	struct mh_state_msg *m = g_new0(struct mh_state_msg, 1);
	const char *flags = (const char *)sqlite3_column_text(stmt, 2);

	m->src_uid = (uint32_t)sqlite3_column_int64(stmt, 0);
	m->dst_uid = (uint32_t)sqlite3_column_int64(stmt, 1);
	m->flags = g_strdup(flags != NULL ? flags : "");
	m->fingerprint = g_strdup((const char *)sqlite3_column_text(stmt, 3));
	m->size = (uint64_t)sqlite3_column_int64(stmt, 4);
	return m;
}

static void
state_folder_free_cb(gpointer data)
{
	mh_state_folder_clear(data);
	g_free(data);
}

static void
state_msg_free_cb(gpointer data)
{
	mh_state_msg_free(data);
}

int
mh_state_folder_get(struct mh_state *st, const char *src_name, struct mh_state_folder *f_r,
                    GError **error)
{
	sqlite3_stmt *stmt;
	int rc;

	g_return_val_if_fail(st != NULL && src_name != NULL && f_r != NULL, -1);
	memset(f_r, 0, sizeof(*f_r));
	f_r->src_bytes = f_r->dst_bytes = -1;
	stmt = mh_state_stmt_get(st, STATE_STMT_FOLDER_GET, error);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, src_name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		state_folder_read(stmt, f_r);
	else if (rc != SQLITE_DONE)
		mh_state_set_error(st, error, "reading folder %s", src_name);
	mh_state_stmt_done(stmt);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

bool
mh_state_folder_put(struct mh_state *st, struct mh_state_folder *f, GError **error)
{
	sqlite3_stmt *stmt;
	int rc;

	g_return_val_if_fail(st != NULL && f != NULL && f->src_name != NULL, false);
	stmt = mh_state_stmt_get(st, STATE_STMT_FOLDER_PUT, error);
	if (stmt == NULL)
		return false;
	sqlite3_bind_text(stmt, 1, f->src_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, f->dst_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, f->src_uidvalidity);
	sqlite3_bind_int64(stmt, 4, f->dst_uidvalidity);
	sqlite3_bind_int64(stmt, 5, f->src_uidnext);
	sqlite3_bind_int64(stmt, 6, f->dst_uidnext);
	sqlite3_bind_int64(stmt, 7, f->src_exists);
	sqlite3_bind_int64(stmt, 8, f->dst_exists);
	sqlite3_bind_int64(stmt, 9, (int64_t)f->src_highestmodseq);
	sqlite3_bind_int64(stmt, 10, (int64_t)f->dst_highestmodseq);
	sqlite3_bind_int64(stmt, 11, f->last_sync);
	sqlite3_bind_int64(stmt, 12, f->src_bytes);
	sqlite3_bind_int64(stmt, 13, f->dst_bytes);
	/* The change is made on the first step, which returns the row id (RETURNING). */
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		f->id = sqlite3_column_int64(stmt, 0);
		rc = sqlite3_step(stmt);
	}
	if (rc != SQLITE_DONE)
		mh_state_set_error(st, error, "writing folder %s", f->src_name);
	mh_state_stmt_done(stmt);
	return rc == SQLITE_DONE;
}

/* Runs a statement whose only parameter ?1 is a folder id. */
static bool
state_folder_run(struct mh_state *st, enum state_stmt which, int64_t folder_id, const char *what,
                 GError **error)
{
	sqlite3_stmt *stmt = mh_state_stmt_get(st, which, error);
	g_autofree char *action = NULL;

	if (stmt == NULL)
		return false;
	sqlite3_bind_int64(stmt, 1, folder_id);
	action = g_strdup_printf("%s of folder id %" G_GINT64_FORMAT, what, folder_id);
	return mh_state_stmt_run(st, stmt, action, error);
}

bool
mh_state_folder_forget_messages(struct mh_state *st, int64_t folder_id, GError **error)
{
	g_return_val_if_fail(st != NULL, false);
	return state_folder_run(st, STATE_STMT_FOLDER_FORGET, folder_id, "deleting the messages",
	                        error);
}

bool
mh_state_folder_delete(struct mh_state *st, int64_t folder_id, GError **error)
{
	g_return_val_if_fail(st != NULL, false);
	return state_folder_run(st, STATE_STMT_FOLDER_DELETE, folder_id, "deleting the row", error);
}

GPtrArray *
mh_state_folder_list(struct mh_state *st, GError **error)
{
	GPtrArray *list;
	sqlite3_stmt *stmt;
	int rc;

	g_return_val_if_fail(st != NULL, NULL);
	stmt = mh_state_stmt_get(st, STATE_STMT_FOLDER_LIST, error);
	if (stmt == NULL)
		return NULL;
	list = g_ptr_array_new_with_free_func(state_folder_free_cb);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct mh_state_folder *f = g_new0(struct mh_state_folder, 1);

		state_folder_read(stmt, f);
		g_ptr_array_add(list, f);
	}
	if (rc != SQLITE_DONE) {
		mh_state_set_error(st, error, "listing folders");
		g_clear_pointer(&list, g_ptr_array_unref);
	}
	mh_state_stmt_done(stmt);
	return list;
}

void
mh_state_folder_clear(struct mh_state_folder *f)
{
	if (f == NULL)
		return;
	g_free(f->src_name);
	g_free(f->dst_name);
	memset(f, 0, sizeof(*f));
}

bool
mh_state_msg_put(struct mh_state *st, int64_t folder_id, const struct mh_state_msg *m,
                 GError **error)
{
	sqlite3_stmt *stmt;
	int rc;

	g_return_val_if_fail(st != NULL && m != NULL, false);
	stmt = mh_state_stmt_get(st, STATE_STMT_MSG_PUT, error);
	if (stmt == NULL)
		return false;
	sqlite3_bind_int64(stmt, 1, folder_id);
	sqlite3_bind_int64(stmt, 2, m->src_uid);
	sqlite3_bind_int64(stmt, 3, m->dst_uid);
	sqlite3_bind_text(stmt, 4, m->flags != NULL ? m->flags : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, m->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, (int64_t)m->size);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		mh_state_set_error(st, error,
		                   "recording UID %" G_GUINT32_FORMAT
		                   " of folder id %" G_GINT64_FORMAT,
		                   m->src_uid, folder_id);
	mh_state_stmt_done(stmt);
	return rc == SQLITE_DONE;
}

bool
mh_state_msg_set_flags(struct mh_state *st, int64_t folder_id, uint32_t src_uid, const char *flags,
                       GError **error)
{
	sqlite3_stmt *stmt;
	int rc, changes;

	g_return_val_if_fail(st != NULL, false);
	stmt = mh_state_stmt_get(st, STATE_STMT_MSG_SET_FLAGS, error);
	if (stmt == NULL)
		return false;
	sqlite3_bind_int64(stmt, 1, folder_id);
	sqlite3_bind_int64(stmt, 2, src_uid);
	sqlite3_bind_text(stmt, 3, flags != NULL ? flags : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	changes = sqlite3_changes(st->db);
	if (rc != SQLITE_DONE)
		mh_state_set_error(st, error,
		                   "setting the flags of UID %" G_GUINT32_FORMAT
		                   " of folder id %" G_GINT64_FORMAT,
		                   src_uid, folder_id);
	else if (changes == 0)
		g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE,
		            "state database %s: setting the flags of UID %" G_GUINT32_FORMAT
		            " of folder id %" G_GINT64_FORMAT ": no such message recorded",
		            st->path, src_uid, folder_id);
	mh_state_stmt_done(stmt);
	return rc == SQLITE_DONE && changes > 0;
}

bool
mh_state_msg_delete(struct mh_state *st, int64_t folder_id, uint32_t src_uid, GError **error)
{
	sqlite3_stmt *stmt;
	int rc;

	g_return_val_if_fail(st != NULL, false);
	stmt = mh_state_stmt_get(st, STATE_STMT_MSG_DELETE, error);
	if (stmt == NULL)
		return false;
	sqlite3_bind_int64(stmt, 1, folder_id);
	sqlite3_bind_int64(stmt, 2, src_uid);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		mh_state_set_error(st, error,
		                   "deleting UID %" G_GUINT32_FORMAT
		                   " of folder id %" G_GINT64_FORMAT,
		                   src_uid, folder_id);
	mh_state_stmt_done(stmt);
	return rc == SQLITE_DONE;
}

int
mh_state_msg_get(struct mh_state *st, int64_t folder_id, uint32_t src_uid,
                 struct mh_state_msg **m_r, GError **error)
{
	sqlite3_stmt *stmt;
	int rc;

	g_return_val_if_fail(st != NULL && m_r != NULL, -1);
	*m_r = NULL;
	stmt = mh_state_stmt_get(st, STATE_STMT_MSG_GET, error);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, folder_id);
	sqlite3_bind_int64(stmt, 2, src_uid);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*m_r = state_msg_read(stmt);
	else if (rc != SQLITE_DONE)
		mh_state_set_error(st, error,
		                   "reading UID %" G_GUINT32_FORMAT
		                   " of folder id %" G_GINT64_FORMAT,
		                   src_uid, folder_id);
	mh_state_stmt_done(stmt);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

GHashTable *
mh_state_msgs_load(struct mh_state *st, int64_t folder_id, GError **error)
{
	GHashTable *msgs;
	sqlite3_stmt *stmt;
	int rc;

	g_return_val_if_fail(st != NULL, NULL);
	stmt = mh_state_stmt_get(st, STATE_STMT_MSG_LOAD, error);
	if (stmt == NULL)
		return NULL;
	msgs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, state_msg_free_cb);
	sqlite3_bind_int64(stmt, 1, folder_id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct mh_state_msg *m = state_msg_read(stmt);

		g_hash_table_insert(msgs, GUINT_TO_POINTER(m->src_uid), m);
	}
	if (rc != SQLITE_DONE) {
		mh_state_set_error(st, error, "loading the messages of folder id %" G_GINT64_FORMAT,
		                   folder_id);
		g_clear_pointer(&msgs, g_hash_table_unref);
	}
	mh_state_stmt_done(stmt);
	return msgs;
}

bool
mh_state_msgs_scan(struct mh_state *st, int64_t folder_id, uint32_t from, bool with_flags,
                   mh_state_msg_cb *cb, void *ctx, GError **error)
{
	sqlite3_stmt *stmt;
	int rc;

	g_return_val_if_fail(st != NULL && cb != NULL, false);
	stmt = mh_state_stmt_get(st, STATE_STMT_MSG_SCAN, error);
	if (stmt == NULL)
		return false;
	sqlite3_bind_int64(stmt, 1, folder_id);
	sqlite3_bind_int64(stmt, 2, from);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct mh_state_msg m = {
			.src_uid = (uint32_t)sqlite3_column_int64(stmt, 0),
			.dst_uid = (uint32_t)sqlite3_column_int64(stmt, 1),
			.size = (uint64_t)sqlite3_column_int64(stmt, 2),
		};

		if (with_flags) {
			const char *flags = (const char *)sqlite3_column_text(stmt, 3);

			m.flags = (char *)(flags != NULL ? flags : "");
		}
		cb(&m, ctx);
	}
	if (rc != SQLITE_DONE)
		mh_state_set_error(st, error, "reading the messages of folder id %" G_GINT64_FORMAT,
		                   folder_id);
	mh_state_stmt_done(stmt);
	return rc == SQLITE_DONE;
}

bool
mh_state_msgs_count(struct mh_state *st, int64_t folder_id, uint64_t *count_r, uint64_t *bytes_r,
                    GError **error)
{
	sqlite3_stmt *stmt;
	int rc;

	g_return_val_if_fail(st != NULL && count_r != NULL && bytes_r != NULL, false);
	stmt = mh_state_stmt_get(st, STATE_STMT_MSG_COUNT, error);
	if (stmt == NULL)
		return false;
	sqlite3_bind_int64(stmt, 1, folder_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*count_r = (uint64_t)sqlite3_column_int64(stmt, 0);
		*bytes_r = (uint64_t)sqlite3_column_int64(stmt, 1);
	} else {
		mh_state_set_error(st, error,
		                   "counting the messages of folder id %" G_GINT64_FORMAT,
		                   folder_id);
	}
	mh_state_stmt_done(stmt);
	return rc == SQLITE_ROW;
}

bool
mh_state_msgs_mapped(struct mh_state *st, int64_t folder_id, uint64_t *count_r, GError **error)
{
	sqlite3_stmt *stmt;
	int rc;

	g_return_val_if_fail(st != NULL && count_r != NULL, false);
	stmt = mh_state_stmt_get(st, STATE_STMT_MSG_MAPPED, error);
	if (stmt == NULL)
		return false;
	sqlite3_bind_int64(stmt, 1, folder_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*count_r = (uint64_t)sqlite3_column_int64(stmt, 0);
	else
		mh_state_set_error(st, error, "counting the copies of folder id %" G_GINT64_FORMAT,
		                   folder_id);
	mh_state_stmt_done(stmt);
	return rc == SQLITE_ROW;
}

void
mh_state_msg_free(struct mh_state_msg *m)
{
	if (m == NULL)
		return;
	g_free(m->flags);
	g_free(m->fingerprint);
	g_free(m);
}

/* --- transfers --- */

bool
mh_state_transfer_add(struct mh_state *st, const char *account, enum mh_state_direction dir,
                      int64_t slot, uint64_t bytes, GError **error)
{
	sqlite3_stmt *stmt = mh_state_stmt_get(st, STATE_STMT_TRANSFER_ADD, error);

	if (stmt == NULL)
		return false;
	sqlite3_bind_text(stmt, 1, account, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(stmt, 2, (int)dir);
	sqlite3_bind_int64(stmt, 3, slot);
	sqlite3_bind_int64(stmt, 4, (sqlite3_int64)bytes);
	return mh_state_stmt_run(st, stmt, "recording bytes moved", error);
}

GArray *
mh_state_transfer_list(struct mh_state *st, const char *account, enum mh_state_direction dir,
                       int64_t since, GError **error)
{
	sqlite3_stmt *stmt = mh_state_stmt_get(st, STATE_STMT_TRANSFER_LIST, error);
	GArray *rows;
	int rc;

	if (stmt == NULL)
		return NULL;
	rows = g_array_new(false, false, sizeof(struct mh_state_transfer));
	sqlite3_bind_text(stmt, 1, account, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(stmt, 2, (int)dir);
	sqlite3_bind_int64(stmt, 3, since);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct mh_state_transfer t = {
			.slot = sqlite3_column_int64(stmt, 0),
			.bytes = (uint64_t)MAX(0, sqlite3_column_int64(stmt, 1)),
		};

		g_array_append_val(rows, t);
	}
	if (rc != SQLITE_DONE) {
		mh_state_set_error(st, error, "reading the bytes moved for %s", account);
		g_clear_pointer(&rows, g_array_unref);
	}
	mh_state_stmt_done(stmt);
	return rows;
}

bool
mh_state_transfer_prune(struct mh_state *st, int64_t before, GError **error)
{
	sqlite3_stmt *stmt = mh_state_stmt_get(st, STATE_STMT_TRANSFER_PRUNE, error);

	if (stmt == NULL)
		return false;
	sqlite3_bind_int64(stmt, 1, before);
	return mh_state_stmt_run(st, stmt, "forgetting old transfer counts", error);
}

bool
mh_state_copying_set(struct mh_state *st, int64_t folder_id, bool on, GError **error)
{
	sqlite3_stmt *stmt;

	g_return_val_if_fail(st != NULL, false);
	stmt = mh_state_stmt_get(st, on ? STATE_STMT_COPYING_SET : STATE_STMT_COPYING_CLEAR, error);
	if (stmt == NULL)
		return false;
	sqlite3_bind_int64(stmt, 1, folder_id);
	if (on)
		sqlite3_bind_int64(stmt, 2, g_get_real_time() / G_USEC_PER_SEC);
	return mh_state_stmt_run(st, stmt,
	                         on ? "marking copies in flight"
	                            : "clearing the mark "
	                              "of copies in flight",
	                         error);
}

int
mh_state_copying_get(struct mh_state *st, int64_t folder_id, int64_t *since_r, GError **error)
{
	sqlite3_stmt *stmt;
	int rc;

	g_return_val_if_fail(st != NULL, -1);
	stmt = mh_state_stmt_get(st, STATE_STMT_COPYING_GET, error);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, folder_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && since_r != NULL)
		*since_r = sqlite3_column_int64(stmt, 0);
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		mh_state_set_error(st, error, "reading the mark of copies in flight");
	mh_state_stmt_done(stmt);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}
