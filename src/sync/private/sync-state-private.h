/* SPDX-License-Identifier: MIT */
/* Internals of the state store shared by sync-state.c (connection, schema,
 * transactions) and sync-state-rows.c (folder and message rows). */
#ifndef MH_SYNC_STATE_PRIVATE_H
#define MH_SYNC_STATE_PRIVATE_H

#include <sqlite3.h>

#include "sync-state.h"

/* The statements each connection prepares once, on first use. */
enum state_stmt {
	STATE_STMT_BEGIN,
	STATE_STMT_COMMIT,
	STATE_STMT_FOLDER_GET,
	STATE_STMT_FOLDER_PUT,
	STATE_STMT_FOLDER_FORGET,
	STATE_STMT_FOLDER_DELETE,
	STATE_STMT_FOLDER_LIST,
	STATE_STMT_MSG_PUT,
	STATE_STMT_MSG_SET_FLAGS,
	STATE_STMT_MSG_DELETE,
	STATE_STMT_MSG_GET,
	STATE_STMT_MSG_LOAD,
	STATE_STMT_MSG_SCAN,
	STATE_STMT_MSG_COUNT,
	STATE_STMT_MSG_MAPPED,
	STATE_STMT_TRANSFER_ADD,
	STATE_STMT_TRANSFER_LIST,
	STATE_STMT_TRANSFER_PRUNE,
	STATE_STMT_COPYING_SET,
	STATE_STMT_COPYING_CLEAR,
	STATE_STMT_COPYING_GET,
	STATE_STMT_COUNT,
};

/* Column lists in the order state_folder_read() and state_msg_read() expect. */
#define STATE_FOLDER_COLUMNS                                                                   \
	"id, src_name, dst_name, src_uidvalidity, dst_uidvalidity, src_uidnext, dst_uidnext,"  \
	" src_exists, dst_exists, src_highestmodseq, dst_highestmodseq, last_sync, src_bytes," \
	" dst_bytes"
#define STATE_MSG_COLUMNS "src_uid, dst_uid, flags, fingerprint, size"

struct mh_state {
	sqlite3 *db;                           /* owned */
	char *path;                            /* owned */
	sqlite3_stmt *stmts[STATE_STMT_COUNT]; /* owned; NULL until first used */
	int last_rc;                           /* SQLite's code behind the last error */
};

/* Sets @error to "state database PATH: WHAT: SQLite's message for the last call". */
void mh_state_set_error(struct mh_state *st, GError **error, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

/* Returns the cached statement, reset and unbound (borrowed), or NULL with @error set. */
sqlite3_stmt *mh_state_stmt_get(struct mh_state *st, enum state_stmt which, GError **error);

/* Resets @stmt and clears its bindings, ending its read of the database. */
void mh_state_stmt_done(sqlite3_stmt *stmt);

/* Steps @stmt to its end, ignoring rows, then mh_state_stmt_done(); @what names the
 * action in the error message. */
bool mh_state_stmt_run(struct mh_state *st, sqlite3_stmt *stmt, const char *what, GError **error);

#endif
