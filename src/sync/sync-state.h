/* SPDX-License-Identifier: MIT */
/* The sync state store: one SQLite database per account pair recording, per folder
 * pair, which source message was copied to which destination message and with which
 * flags, so that a rerun copies only what is new and a killed run (even SIGKILL)
 * resumes without a duplicate or a loss. See docs/internals/state-store.md.
 *
 * Threads: one struct mh_state is used by one thread at a time. Several connections,
 * in several threads or processes, may use the same file at once; writers serialise
 * on mh_state_begin(), which waits up to 15 s for another writer to commit.
 *
 * Ownership: strings passed in are borrowed for the call and copied when kept. Every
 * function that fails fills @error in MH_SYNC_ERROR_STATE with a message naming the
 * file: "state database FILE: ...". */
#ifndef MH_SYNC_STATE_H
#define MH_SYNC_STATE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sync-error.h"

/* The schema version this build writes; a file with a newer one is refused. */
#define MH_STATE_SCHEMA_VERSION 4

struct mh_state; /* one SQLite connection */

struct mh_state_folder {
	int64_t id;     /* row id; set by mh_state_folder_put() */
	char *src_name; /* owned, UTF-8 source folder name: the key */
	char *dst_name; /* owned, UTF-8 destination folder name; may be NULL */
	uint32_t src_uidvalidity, dst_uidvalidity;
	uint32_t src_uidnext, dst_uidnext;
	uint32_t src_exists, dst_exists;
	uint64_t src_highestmodseq, dst_highestmodseq; /* 0 without CONDSTORE */
	int64_t last_sync; /* unix time of the last completed sync of this folder */
	/* each side's bytes at the end of that sync; -1 when not known (see
	 * mh_state_folder_init()) */
	int64_t src_bytes, dst_bytes;
};

struct mh_state_msg {
	uint32_t src_uid;
	uint32_t dst_uid;  /* 0 when unknown (server without UIDPLUS) */
	char *flags;       /* owned; source flags last carried over, as "\Seen $Label" sorted;
	                      NULL is stored as "" (no flags) and loads back as "" */
	char *fingerprint; /* owned; hex identity from the message headers, may be NULL */
	uint64_t size;     /* source RFC822.SIZE */
};

/* Opens the database at @path, creating the file (mode 0600), its missing parent
 * directories (mode 0700) and the schema, or migrating an older schema. Refuses a
 * file written by a newer mailhaul. Returns a new connection, free with
 * mh_state_close(), or NULL with @error set. */
struct mh_state *mh_state_open(const char *path, GError **error);

/* Rolls back an open transaction, closes the connection and frees @st; NULL allowed. */
void mh_state_close(struct mh_state *st);

/* Returns the file name @st was opened with; borrowed, valid until mh_state_close(). */
const char *mh_state_path(const struct mh_state *st);

/* Returns a new string, caller frees:
 * $XDG_STATE_HOME/mailhaul/state/<name>.db (g_get_user_state_dir()), where <name> is a
 * readable, filesystem-safe rendering of "user1@host1_port1_to_user2@host2_port2"
 * followed by a short hash of the exact six values, so that distinct pairs (also two
 * pairs through one host on different ports, as SSH tunnels are) never share a file.
 * Does not create anything. */
char *mh_state_default_path(const char *user1, const char *host1, unsigned port1, const char *user2,
                            const char *host2, unsigned port2);

/* Returns a new string, caller frees: the default file name of mailhaul 0.1, without the
 * ports ("user1@host1_to_user2@host2-<hash>.db"), which unrelated pairs could share. */
char *mh_state_legacy_path(const char *user1, const char *host1, const char *user2,
                           const char *host2);

/* Moves a state database from @old_path to @path, with its -wal, -shm and -journal
 * files, when @old_path exists and @path does not. Returns 1 when moved, 0 when there
 * was nothing to move, -1 with @error set (MH_SYNC_ERROR_STATE) when a rename failed;
 * nothing is ever deleted. */
int mh_state_adopt(const char *path, const char *old_path, GError **error);

/* Starts a write transaction (BEGIN IMMEDIATE): waits up to 15 s for another
 * connection's write transaction to end, then fails. Transactions do not nest. Keep
 * them short and never hold one across network I/O: every other writer waits for it.
 * Outside a transaction, each call is its own transaction. */
bool mh_state_begin(struct mh_state *st, GError **error);

/* Commits the transaction started by mh_state_begin(). Once this returns true the
 * rows survive a kill of the process. On failure the transaction is rolled back. */
bool mh_state_commit(struct mh_state *st, GError **error);

/* Discards the open transaction, if any; never fails. */
void mh_state_rollback(struct mh_state *st);

/* Looks up the folder pair whose source is @src_name. Returns 1 and fills *f_r (the
 * caller clears it with mh_state_folder_clear()), 0 when there is none (*f_r zeroed),
 * -1 on error. */
int mh_state_folder_get(struct mh_state *st, const char *src_name, struct mh_state_folder *f_r,
                        GError **error);

/* Inserts or updates the folder pair keyed by f->src_name (f->id is ignored) and sets
 * f->id to its row id. */
bool mh_state_folder_put(struct mh_state *st, struct mh_state_folder *f, GError **error);

/* Deletes every message row of the folder, keeping the folder row: for a changed
 * UIDVALIDITY. A folder without messages or an unknown id is not an error. */
bool mh_state_folder_forget_messages(struct mh_state *st, int64_t folder_id, GError **error);

/* Deletes the folder row and, with it, its message rows. An unknown id is not an error. */
bool mh_state_folder_delete(struct mh_state *st, int64_t folder_id, GError **error);

/* Returns all folder pairs, sorted by source name, as a new array of struct
 * mh_state_folder * that the array owns (g_ptr_array_unref() frees them), or NULL. */
GPtrArray *mh_state_folder_list(struct mh_state *st, GError **error);

/* Frees the strings of @f and zeroes it; @f itself is the caller's. NULL allowed. */
void mh_state_folder_clear(struct mh_state_folder *f);

/* Inserts or replaces the row of (@folder_id, m->src_uid). Fails when no folder has
 * @folder_id. */
bool mh_state_msg_put(struct mh_state *st, int64_t folder_id, const struct mh_state_msg *m,
                      GError **error);

/* Sets the flags of a recorded message (NULL = no flags). Fails when the message has no
 * row: recording flags for a copy that was never recorded is a caller bug or a lost row. */
bool mh_state_msg_set_flags(struct mh_state *st, int64_t folder_id, uint32_t src_uid,
                            const char *flags, GError **error);

/* Deletes the row of one message. A message without a row is not an error. */
bool mh_state_msg_delete(struct mh_state *st, int64_t folder_id, uint32_t src_uid, GError **error);

/* Looks up one message. Returns 1 and sets *m_r to a new struct (free with
 * mh_state_msg_free()), 0 when there is no row (*m_r = NULL), -1 on error. */
/* mh_state_open(), and when the file is damaged (not a database, corrupt) it is set
 * aside as PATH.damaged-DATE (kept, with its -wal and -shm) and a new one is made:
 * *aside_r (caller frees) names the kept copy, else NULL. A file that cannot be opened
 * or written gets an error saying what to do. */
struct mh_state *mh_state_open_repair(const char *path, char **aside_r, GError **error);

/* Marks folder @folder_id as having copies in flight (@on; keeps an older mark's time),
 * or clears the mark once every APPEND was answered and recorded. Autocommitted when no
 * transaction is open. */
bool mh_state_copying_set(struct mh_state *st, int64_t folder_id, bool on, GError **error);

/* 1 with *since_r (seconds since the epoch) when folder @folder_id was left with copies
 * in flight (a killed run, a dropped connection), 0 when not, -1 on error. */
int mh_state_copying_get(struct mh_state *st, int64_t folder_id, int64_t *since_r, GError **error);

int mh_state_msg_get(struct mh_state *st, int64_t folder_id, uint32_t src_uid,
                     struct mh_state_msg **m_r, GError **error);

/* Returns all messages of a folder as a new table GUINT_TO_POINTER(src_uid) ->
 * struct mh_state_msg * (owned by the table: g_hash_table_unref() frees them), empty
 * for an unknown folder, or NULL on error. */
GHashTable *mh_state_msgs_load(struct mh_state *st, int64_t folder_id, GError **error);

/* Called by mh_state_msgs_scan() with one message row; @m and its strings are borrowed for
 * the call only. */
typedef void mh_state_msg_cb(const struct mh_state_msg *m, void *ctx);

/* Calls @cb(@ctx) with each message row of @folder_id whose source UID is @from or more, in
 * ascending source UID order, without building anything: m->fingerprint is NULL, and
 * m->flags too unless @with_flags. An unknown folder has no rows. A big folder's records are
 * kept by the caller in whatever form it needs (a hash table of them took about 200 bytes a
 * message). */
bool mh_state_msgs_scan(struct mh_state *st, int64_t folder_id, uint32_t from, bool with_flags,
                        mh_state_msg_cb *cb, void *ctx, GError **error);

/* Counts the message rows of @folder_id and sums their sizes, without loading them. */
bool mh_state_msgs_count(struct mh_state *st, int64_t folder_id, uint64_t *count_r,
                         uint64_t *bytes_r, GError **error);

/* How many records of folder @folder_id name a destination UID (copies whose UID the
 * server said). */
bool mh_state_msgs_mapped(struct mh_state *st, int64_t folder_id, uint64_t *count_r,
                          GError **error);

/* Frees @m and its strings; NULL allowed. */
void mh_state_msg_free(struct mh_state_msg *m);

/* Bytes moved to or from one account in one time slot: the daily transfer budgets.
 * Slots are unix times (the start of a slot); the caller chooses their length. */
struct mh_state_transfer {
	int64_t slot;
	uint64_t bytes;
};

enum mh_state_direction {
	MH_STATE_DOWNLOAD = 0, /* fetched from the account */
	MH_STATE_UPLOAD = 1,   /* appended to the account */
};

/* Adds @bytes to the row of (@account, @dir, @slot), creating it. */
bool mh_state_transfer_add(struct mh_state *st, const char *account, enum mh_state_direction dir,
                           int64_t slot, uint64_t bytes, GError **error);

/* Returns the rows of (@account, @dir) whose slot is @since or later, oldest first, as a
 * new array of struct mh_state_transfer, or NULL on error. */
GArray *mh_state_transfer_list(struct mh_state *st, const char *account,
                               enum mh_state_direction dir, int64_t since, GError **error);

/* Deletes every row whose slot is older than @before, of every account. */
bool mh_state_transfer_prune(struct mh_state *st, int64_t before, GError **error);

/* g_autoptr() / g_auto() need plain type names; code still writes struct mh_state... */
typedef struct mh_state mh_state;
typedef struct mh_state_folder mh_state_folder;
typedef struct mh_state_msg mh_state_msg;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(mh_state, mh_state_close)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(mh_state_folder, mh_state_folder_clear)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(mh_state_msg, mh_state_msg_free)

#endif
