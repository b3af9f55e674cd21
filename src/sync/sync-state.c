/* SPDX-License-Identifier: MIT */
/* The sync state store over SQLite: the file and its connection settings (WAL, busy
 * timeout, foreign keys), the versioned schema and its migrations, prepared statements
 * cached per connection, transactions, and the default file name of an account pair.
 * The folder and message rows are in sync-state-rows.c. */
#include "sync-state-private.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mh-file.h"

/* How long a writer waits for another connection's transaction before it fails: far
 * longer than a transaction should last, short enough to report a stuck writer. */
#define STATE_BUSY_TIMEOUT_MS 15000
#define STATE_APPLICATION_ID  0x6d686175 /* "mhau", in the file header */
/* Bytes of each of the four names kept in a default file name: 4 * 48 plus separators,
 * hash and suffix stay well under NAME_MAX (255). */
#define STATE_NAME_PART_MAX   48

/* state_migrations[i] takes the schema from version i to version i + 1; a later
 * version appends its step here and bumps MH_STATE_SCHEMA_VERSION. The folder ids are
 * AUTOINCREMENT so that a deleted folder's id is never reused by another while a
 * worker still holds it. */
static const char *const state_migrations[] = {
	"CREATE TABLE folders ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" src_name TEXT NOT NULL UNIQUE,"
	" dst_name TEXT,"
	" src_uidvalidity INTEGER NOT NULL, dst_uidvalidity INTEGER NOT NULL,"
	" src_uidnext INTEGER NOT NULL, dst_uidnext INTEGER NOT NULL,"
	" src_exists INTEGER NOT NULL, dst_exists INTEGER NOT NULL,"
	" src_highestmodseq INTEGER NOT NULL, dst_highestmodseq INTEGER NOT NULL,"
	" last_sync INTEGER NOT NULL);"
	"CREATE TABLE messages ("
	" folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,"
	" src_uid INTEGER NOT NULL,"
	" dst_uid INTEGER NOT NULL,"
	" flags TEXT NOT NULL,"
	" fingerprint TEXT,"
	" size INTEGER NOT NULL,"
	" PRIMARY KEY (folder_id, src_uid)) WITHOUT ROWID;",
	/* Version 2: bytes moved per account, direction and time slot, for the daily
         * transfer budgets (kept in a file of its own that every job shares). */
	"CREATE TABLE transfers ("
	" account TEXT NOT NULL,"
	" direction INTEGER NOT NULL,"
	" slot INTEGER NOT NULL,"
	" bytes INTEGER NOT NULL,"
	" PRIMARY KEY (account, direction, slot)) WITHOUT ROWID;",
	/* Version 3: folders whose copies were in flight when a run or a connection ended
         * before every APPEND was answered: the next pass waits for the server to settle
         * before it looks for them on the destination. */
	"CREATE TABLE copying ("
	" folder_id INTEGER PRIMARY KEY REFERENCES folders (id) ON DELETE CASCADE,"
	" since INTEGER NOT NULL);",
	/* Version 4: both sides' bytes at the end of the last complete run, so that an
         * unchanged rerun reads no message row (-1: not known, as in rows written before). */
	"ALTER TABLE folders ADD COLUMN src_bytes INTEGER NOT NULL DEFAULT -1;"
	"ALTER TABLE folders ADD COLUMN dst_bytes INTEGER NOT NULL DEFAULT -1;",
};

G_STATIC_ASSERT(G_N_ELEMENTS(state_migrations) == MH_STATE_SCHEMA_VERSION);

static const char *const state_sql[STATE_STMT_COUNT] = {
	[STATE_STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STATE_STMT_COMMIT] = "COMMIT",
	[STATE_STMT_FOLDER_GET] =
		"SELECT " STATE_FOLDER_COLUMNS " FROM folders WHERE src_name = ?1",
	[STATE_STMT_FOLDER_PUT] =
		"INSERT INTO folders (src_name, dst_name, src_uidvalidity, dst_uidvalidity,"
		" src_uidnext, dst_uidnext, src_exists, dst_exists, src_highestmodseq,"
		" dst_highestmodseq, last_sync, src_bytes, dst_bytes)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
		" ON CONFLICT (src_name) DO UPDATE SET dst_name = excluded.dst_name,"
		" src_uidvalidity = excluded.src_uidvalidity,"
		" dst_uidvalidity = excluded.dst_uidvalidity,"
		" src_uidnext = excluded.src_uidnext, dst_uidnext = excluded.dst_uidnext,"
		" src_exists = excluded.src_exists, dst_exists = excluded.dst_exists,"
		" src_highestmodseq = excluded.src_highestmodseq,"
		" dst_highestmodseq = excluded.dst_highestmodseq, last_sync = excluded.last_sync,"
		" src_bytes = excluded.src_bytes, dst_bytes = excluded.dst_bytes"
		" RETURNING id",
	[STATE_STMT_FOLDER_FORGET] = "DELETE FROM messages WHERE folder_id = ?1",
	[STATE_STMT_FOLDER_DELETE] = "DELETE FROM folders WHERE id = ?1",
	[STATE_STMT_FOLDER_LIST] = "SELECT " STATE_FOLDER_COLUMNS " FROM folders ORDER BY src_name",
	[STATE_STMT_MSG_PUT] =
		"INSERT INTO messages (folder_id, src_uid, dst_uid, flags, fingerprint, size)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		" ON CONFLICT (folder_id, src_uid) DO UPDATE SET dst_uid = excluded.dst_uid,"
		" flags = excluded.flags, fingerprint = excluded.fingerprint,"
		" size = excluded.size",
	[STATE_STMT_MSG_SET_FLAGS] =
		"UPDATE messages SET flags = ?3 WHERE folder_id = ?1 AND src_uid = ?2",
	[STATE_STMT_MSG_DELETE] = "DELETE FROM messages WHERE folder_id = ?1 AND src_uid = ?2",
	[STATE_STMT_MSG_GET] =
		"SELECT " STATE_MSG_COLUMNS " FROM messages WHERE folder_id = ?1 AND src_uid = ?2",
	[STATE_STMT_MSG_LOAD] = "SELECT " STATE_MSG_COLUMNS " FROM messages WHERE folder_id = ?1",
	[STATE_STMT_MSG_SCAN] = "SELECT src_uid, dst_uid, size, flags FROM messages "
				"WHERE folder_id = ?1 AND src_uid >= ?2 ORDER BY src_uid",
	[STATE_STMT_MSG_COUNT] =
		"SELECT count(*), coalesce(sum(size), 0) FROM messages WHERE folder_id = ?1",
	[STATE_STMT_MSG_MAPPED] =
		"SELECT count(*) FROM messages WHERE folder_id = ?1 AND dst_uid != 0",
	[STATE_STMT_TRANSFER_ADD] =
		"INSERT INTO transfers (account, direction, slot, bytes) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (account, direction, slot) DO UPDATE SET bytes = bytes + excluded.bytes",
	[STATE_STMT_TRANSFER_LIST] = "SELECT slot, bytes FROM transfers"
				     " WHERE account = ?1 AND direction = ?2 AND slot >= ?3"
				     " ORDER BY slot",
	[STATE_STMT_TRANSFER_PRUNE] = "DELETE FROM transfers WHERE slot < ?1",
	[STATE_STMT_COPYING_SET] = "INSERT INTO copying (folder_id, since) VALUES (?1, ?2)"
				   " ON CONFLICT (folder_id) DO NOTHING",
	[STATE_STMT_COPYING_CLEAR] = "DELETE FROM copying WHERE folder_id = ?1",
	[STATE_STMT_COPYING_GET] = "SELECT since FROM copying WHERE folder_id = ?1",
};

void
mh_state_set_error(struct mh_state *st, GError **error, const char *fmt, ...)
{
	/* Read SQLite's message first: nothing below may touch the connection. */
	const char *reason = sqlite3_errmsg(st->db);
	g_autofree char *what = NULL;
	va_list ap;

	st->last_rc = sqlite3_extended_errcode(st->db);

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE, "state database %s: %s: %s",
	            st->path, what, reason);
}

sqlite3_stmt *
mh_state_stmt_get(struct mh_state *st, enum state_stmt which, GError **error)
{
	sqlite3_stmt **stmt = &st->stmts[which];

	if (*stmt == NULL &&
	    sqlite3_prepare_v3(st->db, state_sql[which], -1, SQLITE_PREPARE_PERSISTENT, stmt,
	                       NULL) != SQLITE_OK) {
		mh_state_set_error(st, error, "preparing \"%.40s...\"", state_sql[which]);
		*stmt = NULL;
	}
	return *stmt;
}

void
mh_state_stmt_done(sqlite3_stmt *stmt)
{
	/* A statement left unreset would keep its read snapshot open. */
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

bool
mh_state_stmt_run(struct mh_state *st, sqlite3_stmt *stmt, const char *what, GError **error)
{
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		mh_state_set_error(st, error, "%s", what);
	mh_state_stmt_done(stmt);
	return rc == SQLITE_DONE;
}

/* Runs one or more statements without results (schema, pragmas that set); @what
 * names the action in the error message. */
static bool
state_exec(struct mh_state *st, const char *sql, const char *what, GError **error)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK)
		return true;
	mh_state_set_error(st, error, "%s", what);
	return false;
}

/* Switches to WAL and returns the journal mode in force (a new string), or NULL. SQLite
 * does not call the busy handler for every lock this takes: a connection opening a file
 * that another one is switching or creating may get SQLITE_BUSY at once. So this retries
 * itself, within the same timeout. */
static char *
state_set_wal(struct mh_state *st, GError **error)
{
	static const char sql[] = "PRAGMA journal_mode = WAL";
	gint64 deadline = g_get_monotonic_time() + STATE_BUSY_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
	sqlite3_stmt *stmt = NULL;
	char *mode = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		mh_state_set_error(st, error, "switching to WAL journaling");
		return NULL;
	}
	while ((rc = sqlite3_step(stmt) & 0xff) == SQLITE_BUSY &&
	       g_get_monotonic_time() < deadline) {
		sqlite3_reset(stmt);
		g_usleep(5 * G_TIME_SPAN_MILLISECOND);
	}
	if (rc == SQLITE_ROW)
		mode = g_strdup((const char *)sqlite3_column_text(stmt, 0));
	if (mode == NULL)
		mh_state_set_error(st, error, "switching to WAL journaling");
	sqlite3_finalize(stmt);
	return mode;
}

/* Reads the application id, the schema version and the number of schema objects in
 * one statement, so from one snapshot even while another connection creates the schema. */
static bool
state_read_header(struct mh_state *st, int64_t values_r[3], GError **error)
{
	static const char sql[] = "SELECT a.application_id, v.user_version,"
				  " (SELECT count(*) FROM sqlite_schema)"
				  " FROM pragma_application_id AS a, pragma_user_version AS v";
	sqlite3_stmt *stmt = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		mh_state_set_error(st, error, "reading the schema version");
		return false;
	}
	rc = sqlite3_step(stmt);
	for (int i = 0; rc == SQLITE_ROW && i < 3; i++)
		values_r[i] = sqlite3_column_int64(stmt, i);
	if (rc != SQLITE_ROW)
		mh_state_set_error(st, error, "reading the schema version");
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW;
}

/* Creates the missing parent directories (0700, only below mailhaul's own directories:
 * see mh_file_make_parent()) and the file itself (0600). SQLite
 * would create it 0644 less the umask; it gives the -wal and -shm files the mode of the
 * database file, so creating that one here covers all three. An existing file keeps
 * its mode. */
static bool
state_create_file(const char *path, GError **error)
{
	g_autoptr(GError) local = NULL;
	int fd, saved;

	if (!mh_file_make_parent(path, &local)) {
		g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE, "state database %s: %s",
		            path, local->message);
		return false;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		saved = errno;
		g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE,
		            "state database %s: cannot open: %s", path, g_strerror(saved));
		return false;
	}
	close(fd);
	return true;
}

static bool
state_configure(struct mh_state *st, GError **error)
{
	g_autofree char *mode = NULL;

	sqlite3_extended_result_codes(st->db, 1);
	/* Before the first pragma: even switching to WAL may wait for another connection. */
	sqlite3_busy_timeout(st->db, STATE_BUSY_TIMEOUT_MS);
	/* WAL lets one writer and any number of readers work at once, across threads and
	 * processes. With synchronous=NORMAL, COMMIT returns once the transaction is written
	 * to the WAL file (in the kernel, not yet fsynced), so a commit survives the kill of
	 * the process, even by SIGKILL; only a power loss or a kernel crash may lose the last
	 * commits, and never corrupts the file. */
	mode = state_set_wal(st, error);
	if (mode == NULL)
		return false;
	if (g_ascii_strcasecmp(mode, "wal") != 0) {
		g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE,
		            "state database %s: the file system does not support WAL journaling "
		            "(journal mode stays \"%s\"); keep the state on a local disk",
		            st->path, mode);
		return false;
	}
	/* A page cache of 512 KiB, not SQLite's 2 MB: records are appended in UID order and
	 * read back in scans, and the interior pages of a folder of 200,000 records are about
	 * fifty; each worker has a connection of its own. */
	return state_exec(st,
	                  "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; "
	                  "PRAGMA cache_size = -512",
	                  "setting up the connection", error);
}

/* Checks that the file is ours (or empty) and not from a newer mailhaul. */
static bool
state_check_version(struct mh_state *st, int64_t *version_r, GError **error)
{
	int64_t header[3], app_id, tables;

	if (!state_read_header(st, header, error))
		return false;
	app_id = header[0];
	*version_r = header[1];
	tables = header[2];
	if (app_id != STATE_APPLICATION_ID && (app_id != 0 || *version_r != 0 || tables != 0)) {
		g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE,
		            "state database %s: not a mailhaul state database (an SQLite file "
		            "of another program)",
		            st->path);
		return false;
	}
	if (*version_r > MH_STATE_SCHEMA_VERSION) {
		g_set_error(
			error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE,
			"state database %s: written by a newer mailhaul (schema version %" PRId64
			", this one knows up to %d); use that version",
			st->path, *version_r, MH_STATE_SCHEMA_VERSION);
		return false;
	}
	return true;
}

/* Creates or upgrades the schema. BEGIN IMMEDIATE makes connections that open a new
 * file at the same time take turns, so exactly one of them creates the tables. */
static bool
state_migrate(struct mh_state *st, GError **error)
{
	g_autofree char *set_version = NULL;
	int64_t version;

	/* The usual case, an up-to-date file, needs no write lock. */
	if (!state_check_version(st, &version, error))
		return false;
	if (version == MH_STATE_SCHEMA_VERSION)
		return true;
	if (!mh_state_begin(st, error))
		return false;
	if (!state_check_version(st, &version, error))
		goto fail;
	for (; version < MH_STATE_SCHEMA_VERSION; version++) {
		if (sqlite3_exec(st->db, state_migrations[version], NULL, NULL, NULL) !=
		    SQLITE_OK) {
			mh_state_set_error(st, error, "upgrading to schema version %" PRId64,
			                   version + 1);
			goto fail;
		}
	}
	set_version = g_strdup_printf("PRAGMA user_version = %d; PRAGMA application_id = %d",
	                              MH_STATE_SCHEMA_VERSION, STATE_APPLICATION_ID);
	if (!state_exec(st, set_version, "setting the schema version", error))
		goto fail;
	return mh_state_commit(st, error);
fail:
	mh_state_rollback(st);
	return false;
}

/* Opens @path; on failure *rc_r (when not NULL) is SQLite's code for it (0 when the
 * failure was not SQLite's). */
static struct mh_state *
state_open(const char *path, int *rc_r, GError **error)
{
	struct mh_state *st;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;

	g_return_val_if_fail(path != NULL, NULL);
	if (sqlite3_threadsafe() == 0) {
		g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE,
		            "state database %s: SQLite was built without thread support", path);
		return NULL;
	}
	if (!state_create_file(path, error))
		return NULL;
	st = g_new0(struct mh_state, 1);
	st->path = g_strdup(path);
	/* sqlite3_errmsg() of a failed open explains it, even with st->db == NULL. */
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
		mh_state_set_error(st, error, "cannot open");
		goto fail;
	}
	if (!state_configure(st, error) || !state_migrate(st, error))
		goto fail;
	return st;
fail:
	if (rc_r != NULL)
		*rc_r = st->last_rc;
	mh_state_close(st);
	return NULL;
}

struct mh_state *
mh_state_open(const char *path, GError **error)
{
	return state_open(path, NULL, error);
}

static int state_move_files(const char *from, const char *to, GError **error);

struct mh_state *
mh_state_open_repair(const char *path, char **aside_r, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(GDateTime) now = NULL;
	g_autofree char *stamp = NULL;
	struct mh_state *st;
	int rc = 0;

	*aside_r = NULL;
	st = state_open(path, &rc, &local);
	if (st != NULL)
		return st;
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		break;
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE,
		            "%s: make the file and its folder writable, or give another file with "
		            "--state",
		            local->message);
		return NULL;
	default:
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	now = g_date_time_new_now_local();
	stamp = g_date_time_format(now, "%Y%m%d-%H%M%S");
	*aside_r = g_strdup_printf("%s.damaged-%s", path, stamp);
	if (state_move_files(path, *aside_r, error) < 0) {
		g_prefix_error(error,
		               "state database %s is damaged and cannot be set aside "
		               "(move it away yourself and run again): ",
		               path);
		g_clear_pointer(aside_r, g_free);
		return NULL;
	}
	st = state_open(path, NULL, error);
	if (st == NULL)
		g_clear_pointer(aside_r, g_free);
	return st;
}

void
mh_state_close(struct mh_state *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < G_N_ELEMENTS(st->stmts); i++)
		sqlite3_finalize(st->stmts[i]);
	/* Rolls back an open transaction. */
	sqlite3_close_v2(st->db);
	g_free(st->path);
	g_free(st);
}

const char *
mh_state_path(const struct mh_state *st)
{
	g_return_val_if_fail(st != NULL, NULL);
	return st->path;
}

bool
mh_state_begin(struct mh_state *st, GError **error)
{
	sqlite3_stmt *stmt;

	g_return_val_if_fail(st != NULL, false);
	stmt = mh_state_stmt_get(st, STATE_STMT_BEGIN, error);
	return stmt != NULL && mh_state_stmt_run(st, stmt, "starting a transaction", error);
}

bool
mh_state_commit(struct mh_state *st, GError **error)
{
	sqlite3_stmt *stmt;

	g_return_val_if_fail(st != NULL, false);
	stmt = mh_state_stmt_get(st, STATE_STMT_COMMIT, error);
	if (stmt != NULL && mh_state_stmt_run(st, stmt, "committing", error))
		return true;
	mh_state_rollback(st);
	return false;
}

void
mh_state_rollback(struct mh_state *st)
{
	g_return_if_fail(st != NULL);
	/* SQLite rolls back by itself after some errors (disk full, I/O). */
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Appends @s, keeping ASCII letters, digits and "@.+-_" and non-ASCII letters and
 * digits, and replacing every other character (or invalid byte) by '_'. */
static void
state_name_append(GString *out, const char *s)
{
	size_t start = out->len;

	while (*s != '\0' && out->len - start < STATE_NAME_PART_MAX) {
		gunichar c = g_utf8_get_char_validated(s, -1);
		const char *next = g_utf8_next_char(s);

		if (c == (gunichar)-1 || c == (gunichar)-2) {
			g_string_append_c(out, '_');
			s++;
		} else if (c < 0x80) {
			g_string_append_c(
				out, g_ascii_isalnum(*s) || strchr("@.+-_", *s) != NULL ? *s : '_');
			s++;
		} else {
			if (g_unichar_isalnum(c))
				g_string_append_len(out, s, next - s);
			else
				g_string_append_c(out, '_');
			s = next;
		}
	}
}

/* $XDG_STATE_HOME/mailhaul/state/<readable name>-<hash of the parts>.db */
static char *
state_pair_path(const char *const *parts, const char *const *seps, size_t n)
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autoptr(GString) name = g_string_new(NULL);

	for (size_t i = 0; i < n; i++) {
		state_name_append(name, parts[i]);
		g_string_append(name, seps[i]);
		/* With the NUL, ("a", "b@c") and ("a@b", "c") hash differently. */
		g_checksum_update(sum, (const guchar *)parts[i], strlen(parts[i]) + 1);
	}
	/* No hidden file, no name that reads as an option. */
	if (name->str[0] == '.' || name->str[0] == '-')
		name->str[0] = '_';
	g_string_append_printf(name, "-%.16s.db", g_checksum_get_string(sum));
	return g_build_filename(g_get_user_state_dir(), "mailhaul", "state", name->str, NULL);
}

char *
mh_state_default_path(const char *user1, const char *host1, unsigned port1, const char *user2,
                      const char *host2, unsigned port2)
{
	char p1[16], p2[16];
	const char *const parts[] = {user1, host1, p1, user2, host2, p2};
	const char *const seps[] = {"@", "_", "_to_", "@", "_", ""};

	g_return_val_if_fail(user1 != NULL && host1 != NULL, NULL);
	g_return_val_if_fail(user2 != NULL && host2 != NULL, NULL);
	g_snprintf(p1, sizeof(p1), "%u", port1);
	g_snprintf(p2, sizeof(p2), "%u", port2);
	return state_pair_path(parts, seps, G_N_ELEMENTS(parts));
}

char *
mh_state_legacy_path(const char *user1, const char *host1, const char *user2, const char *host2)
{
	const char *const parts[] = {user1, host1, user2, host2};
	const char *const seps[] = {"@", "_to_", "@", ""};

	g_return_val_if_fail(user1 != NULL && host1 != NULL, NULL);
	g_return_val_if_fail(user2 != NULL && host2 != NULL, NULL);
	return state_pair_path(parts, seps, G_N_ELEMENTS(parts));
}

/* Renames @from to @to when @from exists: 1 renamed, 0 absent, -1 failed. */
static int
state_rename(const char *from, const char *to, GError **error)
{
	struct stat sb;

	if (rename(from, to) == 0)
		return 1;
	if (errno == ENOENT && lstat(from, &sb) != 0)
		return 0;
	g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE,
	            "state database %s: cannot rename it to %s: %s", from, to, g_strerror(errno));
	return -1;
}

/* Moves the database @from and its companions (-wal, -shm, -journal) to @to: the
 * companions first, so that a crash in between leaves the database under its old name
 * with nothing lost, and a stale journal never meets a new database. 1 moved, 0 absent
 * (another run may have moved it just now), -1 failed. */
static int
state_move_files(const char *from, const char *to, GError **error)
{
	static const char *const companions[] = {"-wal", "-shm", "-journal"};

	for (size_t i = 0; i < G_N_ELEMENTS(companions); i++) {
		g_autofree char *cfrom = g_strconcat(from, companions[i], NULL);
		g_autofree char *cto = g_strconcat(to, companions[i], NULL);

		if (state_rename(cfrom, cto, error) < 0)
			return -1;
	}
	return state_rename(from, to, error);
}

int
mh_state_adopt(const char *path, const char *old_path, GError **error)
{
	struct stat sb;

	g_return_val_if_fail(path != NULL && old_path != NULL, -1);
	if (strcmp(path, old_path) == 0 || lstat(path, &sb) == 0 || lstat(old_path, &sb) != 0)
		return 0;
	return state_move_files(old_path, path, error);
}
