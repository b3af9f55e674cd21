/* SPDX-License-Identifier: MIT */
/* The sync state store: file and directory modes, schema versions, folder and message
 * rows, transactions, default file names, and the speed of bulk inserts. Threads and
 * killed processes are in test-sync-state-concurrent.c. */
#include "test-sync-state-util.h"

#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

static char *xdg_state_home; /* owned: $XDG_STATE_HOME, set in main() */

static void
assert_mode(const char *path, unsigned mode)
{
	GStatBuf sb;

	g_assert_cmpint(g_stat(path, &sb), ==, 0);
	g_assert_cmpuint(sb.st_mode & 07777, ==, mode);
}

static void
test_open_create(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autofree char *a = g_build_filename(f->dir, "a", NULL);
	g_autofree char *b = g_build_filename(f->dir, "a", "b", NULL);
	g_autofree char *wal = g_strconcat(f->path, "-wal", NULL);
	g_autofree char *shm = g_strconcat(f->path, "-shm", NULL);

	g_assert_cmpstr(mh_state_path(f->st), ==, f->path);
	folder_put_ok(f->st, "INBOX", 1);
	assert_mode(a, 0700);
	assert_mode(b, 0700);
	assert_mode(f->path, 0600);
	assert_mode(wal, 0600);
	assert_mode(shm, 0600);
}

/* Outside mailhaul's own directories a missing directory is an error, not created. */
static void
test_open_missing_dir_elsewhere(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *outside = g_dir_make_tmp("mh-test-outside-XXXXXX", NULL);
	g_autofree char *missing = g_build_filename(outside, "no", "such", "state.db", NULL);
	g_autofree char *no = g_build_filename(outside, "no", NULL);
	g_autofree char *direct = g_build_filename(outside, "state.db", NULL);
	struct mh_state *st;

	(void)f;
	g_assert_null(mh_state_open(missing, &error));
	g_assert_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE);
	g_assert_nonnull(strstr(error->message, "does not exist"));
	g_assert_false(g_file_test(no, G_FILE_TEST_EXISTS));
	/* An existing directory anywhere is fine. */
	st = open_ok(direct);
	mh_state_close(st);
	rm_rf(outside);
}

static void
test_open_reopen(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GHashTable) msgs = NULL;
	struct mh_state_msg *m;
	int64_t id = folder_put_ok(f->st, "INBOX", 4);

	for (uint32_t uid = 1; uid <= 3; uid++)
		msg_put_ok(f->st, id, uid, "\\Seen");
	mh_state_close(f->st);
	f->st = open_ok(f->path);
	g_assert_cmpint(folder_id_of(f->st, "INBOX"), ==, id);
	msgs = load_ok(f->st, id);
	g_assert_cmpuint(g_hash_table_size(msgs), ==, 3);
	m = g_hash_table_lookup(msgs, GUINT_TO_POINTER(2));
	g_assert_nonnull(m);
	g_assert_cmpuint(m->dst_uid, ==, 1002);
	g_assert_cmpstr(m->flags, ==, "\\Seen");
	g_assert_cmpstr(m->fingerprint, ==, "fp00000002");
	g_assert_cmpuint(m->size, ==, 102);
}

/* Runs @sql on @path with a plain SQLite connection, as another program would. */
static void
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
	g_assert_cmpint(sqlite3_exec(db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
	sqlite3_close(db);
}

static void
assert_open_fails(const char *path, const char *reason)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *prefix = g_strdup_printf("state database %s: ", path);

	g_assert_null(mh_state_open(path, &error));
	g_assert_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE);
	g_test_message("%s", error->message);
	g_assert_true(g_str_has_prefix(error->message, prefix));
	g_assert_nonnull(strstr(error->message, reason));
}

static void
test_open_newer_schema(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autofree char *sql =
		g_strdup_printf("PRAGMA user_version = %d", MH_STATE_SCHEMA_VERSION + 1);

	folder_put_ok(f->st, "INBOX", 1);
	g_clear_pointer(&f->st, mh_state_close);
	raw_exec(f->path, sql);
	assert_open_fails(f->path, "newer mailhaul");
}

static void
test_open_not_ours(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autofree char *garbage = g_build_filename(f->dir, "garbage.db", NULL);
	g_autofree char *foreign = g_build_filename(f->dir, "foreign.db", NULL);
	g_autofree char *text = g_strnfill(8192, 'x');
	g_autoptr(GError) error = NULL;

	g_assert_true(g_file_set_contents(garbage, text, -1, &error));
	g_assert_no_error(error);
	assert_open_fails(garbage, "not a database");
	raw_exec(foreign, "CREATE TABLE contacts (name TEXT)");
	assert_open_fails(foreign, "not a mailhaul state database");
}

/* A file written by the first version (folders and messages only) is upgraded in place:
 * its rows stay, and the transfer counts work. */
static void
test_open_upgrades_version_1(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GHashTable) msgs = NULL;
	g_autoptr(GArray) rows = NULL;
	g_autoptr(GError) error = NULL;
	int64_t id = folder_put_ok(f->st, "INBOX", 2);

	msg_put_ok(f->st, id, 7, "\\Seen");
	g_clear_pointer(&f->st, mh_state_close);
	raw_exec(f->path, "DROP TABLE transfers; DROP TABLE copying;"
	                  " ALTER TABLE folders DROP COLUMN src_bytes;"
	                  " ALTER TABLE folders DROP COLUMN dst_bytes; PRAGMA user_version = 1");
	f->st = open_ok(f->path);
	g_assert_cmpint(folder_id_of(f->st, "INBOX"), ==, id);
	{
		struct mh_state_folder sf;

		/* Bytes unknown for a folder recorded before they were kept. */
		g_assert_cmpint(mh_state_folder_get(f->st, "INBOX", &sf, &error), ==, 1);
		g_assert_cmpint(sf.src_bytes, ==, -1);
		g_assert_cmpint(sf.dst_bytes, ==, -1);
		mh_state_folder_clear(&sf);
	}
	msgs = load_ok(f->st, id);
	g_assert_cmpuint(g_hash_table_size(msgs), ==, 1);
	g_assert_true(mh_state_transfer_add(f->st, "a@h", MH_STATE_UPLOAD, 600, 5, &error));
	g_assert_no_error(error);
	rows = mh_state_transfer_list(f->st, "a@h", MH_STATE_UPLOAD, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(rows->len, ==, 1);
	g_assert_true(mh_state_copying_set(f->st, id, true, &error));
	g_assert_no_error(error);
}

/* A damaged file is set aside (kept) and a new one made; a healthy one is opened as is. */
static void
test_open_repair(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *aside = NULL;
	g_autofree char *kept = NULL;
	gsize len = 0;
	struct mh_state *st;

	folder_put_ok(f->st, "INBOX", 2);
	g_clear_pointer(&f->st, mh_state_close);
	st = mh_state_open_repair(f->path, &aside, &error);
	g_assert_no_error(error);
	g_assert_null(aside);
	g_assert_cmpint(folder_id_of(st, "INBOX"), >, 0);
	mh_state_close(st);
	g_assert_true(g_file_set_contents(f->path, "not a database, not at all", -1, NULL));
	g_assert_null(mh_state_open(f->path, &error));
	g_clear_error(&error);
	st = mh_state_open_repair(f->path, &aside, &error);
	g_assert_no_error(error);
	g_assert_nonnull(st);
	g_assert_nonnull(aside);
	g_assert_true(g_str_has_prefix(aside, f->path));
	g_assert_true(g_file_get_contents(aside, &kept, &len, NULL));
	g_assert_cmpstr(kept, ==, "not a database, not at all");
	g_assert_cmpint(folder_id_of(st, "INBOX"), ==, 0);
	mh_state_close(st);
}

/* The mark of copies in flight: set, kept with its first time, cleared, gone with its
 * folder, and kept across a reopen (a killed run). */
static void
test_copying(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GError) error = NULL;
	int64_t id = folder_put_ok(f->st, "INBOX", 2);
	int64_t since = 0, again = 0;

	g_assert_cmpint(mh_state_copying_get(f->st, id, &since, &error), ==, 0);
	g_assert_true(mh_state_copying_set(f->st, id, true, &error));
	g_assert_cmpint(mh_state_copying_get(f->st, id, &since, &error), ==, 1);
	g_assert_cmpint(since, >, 0);
	g_assert_true(mh_state_copying_set(f->st, id, true, &error));
	g_assert_cmpint(mh_state_copying_get(f->st, id, &again, &error), ==, 1);
	g_assert_cmpint(again, ==, since);
	g_clear_pointer(&f->st, mh_state_close);
	f->st = open_ok(f->path);
	g_assert_cmpint(mh_state_copying_get(f->st, id, NULL, &error), ==, 1);
	g_assert_true(mh_state_copying_set(f->st, id, false, &error));
	g_assert_cmpint(mh_state_copying_get(f->st, id, NULL, &error), ==, 0);
	g_assert_true(mh_state_copying_set(f->st, id, true, &error));
	g_assert_true(mh_state_folder_delete(f->st, id, &error));
	g_assert_cmpint(mh_state_copying_get(f->st, id, NULL, &error), ==, 0);
	g_assert_no_error(error);
}

static GArray *
transfers_ok(struct mh_state *st, const char *account, enum mh_state_direction dir, int64_t since)
{
	g_autoptr(GError) error = NULL;
	GArray *rows = mh_state_transfer_list(st, account, dir, since, &error);

	g_assert_no_error(error);
	g_assert_nonnull(rows);
	return rows;
}

static void
transfer_add_ok(struct mh_state *st, const char *account, enum mh_state_direction dir, int64_t slot,
                uint64_t bytes)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(mh_state_transfer_add(st, account, dir, slot, bytes, &error));
	g_assert_no_error(error);
}

/* Counts add up per account, direction and slot; a listing starts at its slot; pruning
 * forgets old slots of every account. */
static void
test_transfers(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GArray) up = NULL;
	g_autoptr(GArray) down = NULL;
	g_autoptr(GArray) later = NULL;
	g_autoptr(GArray) other = NULL;
	g_autoptr(GError) error = NULL;

	transfer_add_ok(f->st, "a@h", MH_STATE_UPLOAD, 1000, 10);
	transfer_add_ok(f->st, "a@h", MH_STATE_UPLOAD, 1000, 32);
	transfer_add_ok(f->st, "a@h", MH_STATE_UPLOAD, 1600, 5000000000);
	transfer_add_ok(f->st, "a@h", MH_STATE_DOWNLOAD, 1000, 7);
	transfer_add_ok(f->st, "b@h", MH_STATE_UPLOAD, 1000, 1);
	up = transfers_ok(f->st, "a@h", MH_STATE_UPLOAD, 0);
	g_assert_cmpuint(up->len, ==, 2);
	g_assert_cmpint(g_array_index(up, struct mh_state_transfer, 0).slot, ==, 1000);
	g_assert_cmpuint(g_array_index(up, struct mh_state_transfer, 0).bytes, ==, 42);
	g_assert_cmpuint(g_array_index(up, struct mh_state_transfer, 1).bytes, ==, 5000000000);
	down = transfers_ok(f->st, "a@h", MH_STATE_DOWNLOAD, 0);
	g_assert_cmpuint(down->len, ==, 1);
	g_assert_cmpuint(g_array_index(down, struct mh_state_transfer, 0).bytes, ==, 7);
	later = transfers_ok(f->st, "a@h", MH_STATE_UPLOAD, 1001);
	g_assert_cmpuint(later->len, ==, 1);
	g_assert_true(mh_state_transfer_prune(f->st, 1600, &error));
	g_assert_no_error(error);
	g_clear_pointer(&up, g_array_unref);
	up = transfers_ok(f->st, "a@h", MH_STATE_UPLOAD, 0);
	g_assert_cmpuint(up->len, ==, 1);
	other = transfers_ok(f->st, "b@h", MH_STATE_UPLOAD, 0);
	g_assert_cmpuint(other->len, ==, 0);
}

static void
assert_folder_eq(const struct mh_state_folder *a, const struct mh_state_folder *b)
{
	g_assert_cmpint(a->id, ==, b->id);
	g_assert_cmpstr(a->src_name, ==, b->src_name);
	g_assert_cmpstr(a->dst_name, ==, b->dst_name);
	g_assert_cmpuint(a->src_uidvalidity, ==, b->src_uidvalidity);
	g_assert_cmpuint(a->dst_uidvalidity, ==, b->dst_uidvalidity);
	g_assert_cmpuint(a->src_uidnext, ==, b->src_uidnext);
	g_assert_cmpuint(a->dst_uidnext, ==, b->dst_uidnext);
	g_assert_cmpuint(a->src_exists, ==, b->src_exists);
	g_assert_cmpuint(a->dst_exists, ==, b->dst_exists);
	g_assert_cmpuint(a->src_highestmodseq, ==, b->src_highestmodseq);
	g_assert_cmpuint(a->dst_highestmodseq, ==, b->dst_highestmodseq);
	g_assert_cmpint(a->last_sync, ==, b->last_sync);
	g_assert_cmpint(a->src_bytes, ==, b->src_bytes);
	g_assert_cmpint(a->dst_bytes, ==, b->dst_bytes);
}

static void
test_folder_put_get(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GError) error = NULL;
	struct mh_state_folder put = {
		.src_name = (char *)"Entwürfe/Ünïcødé 📁",
		.dst_name = (char *)"[Gmail]/Drafts",
		.src_uidvalidity = G_MAXUINT32,
		.dst_uidvalidity = 1,
		.src_uidnext = 4000000000u,
		.dst_uidnext = 2,
		.src_exists = 123456,
		.dst_exists = 0,
		.src_highestmodseq = G_MAXINT64, /* RFC 7162's largest mod-sequence */
		.dst_highestmodseq = 12345678901234u,
		.last_sync = 1700000000,
		.src_bytes = 5000000000, /* over 32 bits */
		.dst_bytes = 0,
	};
	struct mh_state_folder got;
	int64_t first_id;

	g_assert_true(mh_state_folder_put(f->st, &put, &error));
	g_assert_no_error(error);
	g_assert_cmpint(put.id, >, 0);
	first_id = put.id;
	g_assert_cmpint(mh_state_folder_get(f->st, put.src_name, &got, &error), ==, 1);
	assert_folder_eq(&got, &put);
	mh_state_folder_clear(&got);
	g_assert_null(got.src_name);

	/* The same source name updates the row and keeps its id; NULL names stay NULL. */
	put.id = 0;
	put.dst_name = NULL;
	put.src_uidnext++;
	put.last_sync++;
	g_assert_true(mh_state_folder_put(f->st, &put, &error));
	g_assert_cmpint(put.id, ==, first_id);
	g_assert_cmpint(mh_state_folder_get(f->st, put.src_name, &got, &error), ==, 1);
	assert_folder_eq(&got, &put);
	mh_state_folder_clear(&got);

	g_assert_cmpint(mh_state_folder_get(f->st, "entwürfe/ünïcødé 📁", &got, &error), ==, 0);
	g_assert_no_error(error);
	g_assert_null(got.src_name);
	g_assert_cmpint(got.id, ==, 0);
}

static void
test_folder_list(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) list = NULL;
	const char *const names[] = {"Sent", "INBOX", "Archive/2024"};
	const struct mh_state_folder *folder;

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		folder_put_ok(f->st, names[i], 1);
	list = mh_state_folder_list(f->st, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(list->len, ==, 3);
	g_assert_cmpstr(((struct mh_state_folder *)list->pdata[0])->src_name, ==, "Archive/2024");
	g_assert_cmpstr(((struct mh_state_folder *)list->pdata[1])->src_name, ==, "INBOX");
	folder = list->pdata[2];
	g_assert_cmpstr(folder->src_name, ==, "Sent");
	g_assert_cmpstr(folder->dst_name, ==, "dst/Sent");
	g_assert_cmpint(folder->id, ==, folder_id_of(f->st, "Sent"));
}

static void
test_msg_put_load(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) msgs = NULL;
	struct mh_state_msg bare = {.src_uid = G_MAXUINT32, .size = G_GUINT64_CONSTANT(1) << 40};
	struct mh_state_msg *m;
	int64_t id = folder_put_ok(f->st, "INBOX", 1);
	int64_t other = folder_put_ok(f->st, "Other", 1);

	msg_put_ok(f->st, id, 1, "\\Seen");
	msg_put_ok(f->st, id, 2, "$Label \\Flagged");
	msg_put_ok(f->st, other, 1, "\\Deleted");
	g_assert_true(mh_state_msg_put(f->st, id, &bare, &error));
	g_assert_no_error(error);
	/* A second put of the same UID replaces the row. */
	msg_put_ok(f->st, id, 2, "\\Answered");

	msgs = load_ok(f->st, id);
	g_assert_cmpuint(g_hash_table_size(msgs), ==, 3);
	m = g_hash_table_lookup(msgs, GUINT_TO_POINTER(1));
	g_assert_cmpuint(m->src_uid, ==, 1);
	g_assert_cmpstr(m->flags, ==, "\\Seen");
	m = g_hash_table_lookup(msgs, GUINT_TO_POINTER(2));
	g_assert_cmpstr(m->flags, ==, "\\Answered");
	g_assert_cmpuint(m->dst_uid, ==, 1002);
	m = g_hash_table_lookup(msgs, GUINT_TO_POINTER(G_MAXUINT32));
	g_assert_cmpuint(m->src_uid, ==, G_MAXUINT32);
	g_assert_cmpuint(m->dst_uid, ==, 0);
	g_assert_cmpstr(m->flags, ==, "");
	g_assert_null(m->fingerprint);
	g_assert_cmpuint(m->size, ==, G_GUINT64_CONSTANT(1) << 40);

	g_assert_cmpuint(count_msgs(f->st, other + 100), ==, 0);
	{
		uint64_t rows = 0, bytes = 0, sum = 0;
		GHashTableIter it;
		gpointer value;

		g_hash_table_iter_init(&it, msgs);
		while (g_hash_table_iter_next(&it, NULL, &value))
			sum += ((struct mh_state_msg *)value)->size;
		g_assert_true(mh_state_msgs_count(f->st, id, &rows, &bytes, &error));
		g_assert_no_error(error);
		g_assert_cmpuint(rows, ==, 3);
		g_assert_cmpuint(bytes, ==, sum);
		g_assert_true(mh_state_msgs_count(f->st, other + 100, &rows, &bytes, &error));
		g_assert_cmpuint(rows, ==, 0);
		g_assert_cmpuint(bytes, ==, 0);
	}
}

static void
on_scanned(const struct mh_state_msg *m, void *ctx)
{
	g_string_append_printf(ctx, "%u>%u %" G_GUINT64_FORMAT " %s%s;", m->src_uid, m->dst_uid,
	                       m->size, m->flags != NULL ? m->flags : "(none)",
	                       m->fingerprint != NULL ? " fp" : "");
}

/* Rows come in ascending source UID order, from the UID asked, of that folder only,
 * without fingerprints, and with flags only when asked. */
static void
test_msg_scan(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) seen = g_string_new(NULL);
	int64_t id = folder_put_ok(f->st, "INBOX", 1);
	int64_t other = folder_put_ok(f->st, "Other", 1);
	struct mh_state_msg bare = {.src_uid = 7, .dst_uid = 70, .size = 5};

	msg_put_ok(f->st, id, 30, "\\Seen");
	msg_put_ok(f->st, id, 2, "$Label \\Flagged");
	msg_put_ok(f->st, other, 5, "\\Deleted");
	g_assert_true(mh_state_msg_put(f->st, id, &bare, &error));
	g_assert_no_error(error);

	g_assert_true(mh_state_msgs_scan(f->st, id, 0, true, on_scanned, seen, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(seen->str, ==, "2>1002 102 $Label \\Flagged;7>70 5 ;30>1030 130 \\Seen;");
	g_string_truncate(seen, 0);
	g_assert_true(mh_state_msgs_scan(f->st, id, 7, false, on_scanned, seen, &error));
	g_assert_cmpstr(seen->str, ==, "7>70 5 (none);30>1030 130 (none);");
	g_string_truncate(seen, 0);
	g_assert_true(mh_state_msgs_scan(f->st, other + 100, 0, true, on_scanned, seen, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(seen->str, ==, "");
}

/* Only records that name a destination UID count as copies, of their own folder only. */
static void
test_msg_mapped(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GError) error = NULL;
	int64_t id = folder_put_ok(f->st, "INBOX", 1);
	int64_t other = folder_put_ok(f->st, "Other", 1);
	struct mh_state_msg unknown = {.src_uid = 9, .dst_uid = 0, .size = 5};
	uint64_t n = 99;

	msg_put_ok(f->st, id, 1, "\\Seen");
	msg_put_ok(f->st, id, 2, "");
	msg_put_ok(f->st, id, 3, "");
	msg_put_ok(f->st, other, 4, "");
	g_assert_true(mh_state_msg_put(f->st, id, &unknown, &error));
	g_assert_no_error(error);
	g_assert_true(mh_state_msgs_mapped(f->st, id, &n, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(n, ==, 3);
	g_assert_true(mh_state_msgs_mapped(f->st, other, &n, &error));
	g_assert_cmpuint(n, ==, 1);
	g_assert_true(mh_state_msgs_mapped(f->st, other + 100, &n, &error));
	g_assert_cmpuint(n, ==, 0);
}

static void
test_msg_get_delete(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) msgs = NULL;
	struct mh_state_msg *m = NULL;
	int64_t id = folder_put_ok(f->st, "INBOX", 1);

	msg_put_ok(f->st, id, 1, "\\Seen");
	msg_put_ok(f->st, id, 2, "");
	g_assert_cmpint(mh_state_msg_get(f->st, id, 2, &m, &error), ==, 1);
	g_assert_cmpuint(m->src_uid, ==, 2);
	g_assert_cmpstr(m->fingerprint, ==, "fp00000002");
	g_clear_pointer(&m, mh_state_msg_free);

	g_assert_true(mh_state_msg_delete(f->st, id, 2, &error));
	g_assert_no_error(error);
	g_assert_cmpint(mh_state_msg_get(f->st, id, 2, &m, &error), ==, 0);
	g_assert_null(m);
	/* Deleting what is gone already is not an error. */
	g_assert_true(mh_state_msg_delete(f->st, id, 2, &error));
	g_assert_no_error(error);
	msgs = load_ok(f->st, id);
	g_assert_cmpuint(g_hash_table_size(msgs), ==, 1);
	g_assert_true(g_hash_table_contains(msgs, GUINT_TO_POINTER(1)));
}

static void
test_msg_set_flags(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(mh_state_msg) m = NULL;
	int64_t id = folder_put_ok(f->st, "INBOX", 1);

	msg_put_ok(f->st, id, 5, "\\Seen");
	g_assert_true(mh_state_msg_set_flags(f->st, id, 5, "$Label \\Flagged \\Seen", &error));
	g_assert_no_error(error);
	g_assert_cmpint(mh_state_msg_get(f->st, id, 5, &m, &error), ==, 1);
	g_assert_cmpstr(m->flags, ==, "$Label \\Flagged \\Seen");
	g_assert_cmpuint(m->dst_uid, ==, 1005);
	g_clear_pointer(&m, mh_state_msg_free);

	g_assert_true(mh_state_msg_set_flags(f->st, id, 5, NULL, &error));
	g_assert_cmpint(mh_state_msg_get(f->st, id, 5, &m, &error), ==, 1);
	g_assert_cmpstr(m->flags, ==, "");

	g_assert_false(mh_state_msg_set_flags(f->st, id, 6, "\\Seen", &error));
	g_assert_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE);
	g_assert_nonnull(strstr(error->message, "no such message"));
}

static void
test_msg_unknown_folder(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GError) error = NULL;
	struct mh_state_msg m = {.src_uid = 1, .flags = (char *)"\\Seen"};
	int64_t id = folder_put_ok(f->st, "INBOX", 1);

	g_assert_false(mh_state_msg_put(f->st, id + 1, &m, &error));
	g_assert_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE);
	g_test_message("%s", error->message);
	g_assert_nonnull(strstr(error->message, "FOREIGN KEY"));
}

static void
test_folder_forget_messages(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GError) error = NULL;
	int64_t a = folder_put_ok(f->st, "A", 1);
	int64_t b = folder_put_ok(f->st, "B", 1);

	for (uint32_t uid = 1; uid <= 10; uid++) {
		msg_put_ok(f->st, a, uid, "");
		msg_put_ok(f->st, b, uid, "");
	}
	g_assert_true(mh_state_folder_forget_messages(f->st, a, &error));
	g_assert_no_error(error);
	g_assert_cmpint(folder_id_of(f->st, "A"), ==, a);
	g_assert_cmpuint(count_msgs(f->st, a), ==, 0);
	g_assert_cmpuint(count_msgs(f->st, b), ==, 10);
	g_assert_true(mh_state_folder_forget_messages(f->st, a, &error));
	g_assert_no_error(error);
}

static void
test_folder_delete_cascades(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GError) error = NULL;
	int64_t a = folder_put_ok(f->st, "A", 1);
	int64_t b = folder_put_ok(f->st, "B", 1);

	for (uint32_t uid = 1; uid <= 10; uid++) {
		msg_put_ok(f->st, a, uid, "");
		msg_put_ok(f->st, b, uid, "");
	}
	g_assert_true(mh_state_folder_delete(f->st, b, &error));
	g_assert_no_error(error);
	g_assert_cmpint(folder_id_of(f->st, "B"), ==, 0);
	g_assert_cmpuint(count_msgs(f->st, a), ==, 10);
	g_assert_cmpuint(count_msgs(f->st, b), ==, 0);
	g_assert_true(mh_state_folder_delete(f->st, b, &error));
	g_assert_no_error(error);
	/* A deleted folder's id is never handed out again. */
	g_assert_cmpint(folder_put_ok(f->st, "C", 1), >, b);
}

static void
test_txn_rollback(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	int64_t kept = folder_put_ok(f->st, "Kept", 1);
	g_autoptr(GHashTable) msgs = NULL;

	begin_ok(f->st);
	folder_put_ok(f->st, "Gone", 1);
	msg_put_ok(f->st, kept, 1, "");
	mh_state_rollback(f->st);
	g_assert_cmpint(folder_id_of(f->st, "Gone"), ==, 0);
	/* Rolling back outside a transaction does nothing. */
	mh_state_rollback(f->st);

	/* Closing with a transaction open discards it too. */
	begin_ok(f->st);
	folder_put_ok(f->st, "Gone too", 1);
	mh_state_close(f->st);
	f->st = open_ok(f->path);
	g_assert_cmpint(folder_id_of(f->st, "Gone too"), ==, 0);

	begin_ok(f->st);
	msg_put_ok(f->st, kept, 2, "");
	commit_ok(f->st);
	msgs = load_ok(f->st, kept);
	g_assert_cmpuint(g_hash_table_size(msgs), ==, 1);
	g_assert_true(g_hash_table_contains(msgs, GUINT_TO_POINTER(2)));
}

static void
assert_safe_name(const char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *expected_dir = g_build_filename(xdg_state_home, "mailhaul", "state", NULL);

	g_assert_cmpstr(dir, ==, expected_dir);
	g_assert_true(g_utf8_validate(base, -1, NULL));
	g_assert_cmpuint(strlen(base), <=, 255);
	g_assert_true(base[0] != '.' && base[0] != '-');
	g_assert_true(g_str_has_suffix(base, ".db"));
	for (const char *p = base; *p != '\0'; p++)
		g_assert_true(*p != '/' && *p != ' ' && !g_ascii_iscntrl(*p));
}

static void
test_path_default(void)
{
	g_autofree char *path = mh_state_default_path("alice@example.com", "imap.gmail.com", 993,
	                                              "Bob Smith", "outlook.office365.com", 993);
	g_autofree char *again = mh_state_default_path("alice@example.com", "imap.gmail.com", 993,
	                                               "Bob Smith", "outlook.office365.com", 993);
	const char *prefix =
		"alice@example.com@imap.gmail.com_993_to_Bob_Smith@outlook.office365.com_993-";
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *state_dir = g_path_get_dirname(path);
	g_autofree char *mailhaul_dir = g_path_get_dirname(state_dir);
	struct mh_state *st;

	g_test_message("%s", path);
	assert_safe_name(path);
	g_assert_cmpstr(path, ==, again);
	g_assert_true(g_str_has_prefix(base, prefix));
	g_assert_cmpuint(strlen(base), ==, strlen(prefix) + 16 + strlen(".db"));
	for (size_t i = strlen(prefix); i < strlen(prefix) + 16; i++)
		g_assert_true(g_ascii_isxdigit(base[i]));

	st = open_ok(path);
	mh_state_close(st);
	assert_mode(mailhaul_dir, 0700);
	assert_mode(state_dir, 0700);
	assert_mode(path, 0600);
}

static void
test_path_distinct(void)
{
	const char *const pairs[][4] = {
		{"a", "b@c", "x", "y"},
		{"a@b", "c", "x", "y"}, /* same text as the first once joined with '@' */
		{"a b", "h", "u", "h"},
		{"a_b", "h", "u", "h"}, /* same readable rendering as the one before */
		{"u", "h", "a_b", "h"}, /* the other direction */
		{"a/b", "h", "u", "h"},
		{"Alice", "h", "u", "h"}, /* user names are case-sensitive on many servers */
		{"alice", "h", "u", "h"},
	};
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(pairs); i++) {
		char *path = mh_state_default_path(pairs[i][0], pairs[i][1], 993, pairs[i][2],
		                                   pairs[i][3], 993);

		assert_safe_name(path);
		g_assert_false(g_hash_table_contains(seen, path));
		g_hash_table_add(seen, path);
	}
}

static void
test_path_hostile(void)
{
	g_autofree char *long_user = g_strnfill(1000, 'u');
	const char *const users[] = {"../../etc/passwd", "/",       ".hidden", "-rf",
	                             "\xff\xfe",         "a\nb\tc", "jürgen",  long_user};

	for (size_t i = 0; i < G_N_ELEMENTS(users); i++) {
		g_autofree char *path = mh_state_default_path(users[i], "h", 143, "u", "h", 143);
		g_autofree char *base = g_path_get_basename(path);

		g_test_message("%s", base);
		assert_safe_name(path);
		if (g_str_equal(users[i], "jürgen"))
			g_assert_true(g_str_has_prefix(base, "jürgen@h_143_to_u@h_143-"));
	}
}

/* Two migrations through SSH tunnels: every server is 127.0.0.1, only the ports differ. */
static void
test_path_ports(void)
{
	const unsigned ports[][2] = {
		{1143, 2143}, {3143, 4143}, {2143, 1143}, {1143, 21430}, {11430, 2143}};
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autofree char *legacy = mh_state_legacy_path("alice", "127.0.0.1", "alice", "127.0.0.1");
	g_autofree char *legacy_base = g_path_get_basename(legacy);

	for (size_t i = 0; i < G_N_ELEMENTS(ports); i++) {
		char *path = mh_state_default_path("alice", "127.0.0.1", ports[i][0], "alice",
		                                   "127.0.0.1", ports[i][1]);

		assert_safe_name(path);
		g_assert_cmpstr(path, !=, legacy);
		g_assert_false(g_hash_table_contains(seen, path));
		g_hash_table_add(seen, path);
	}
	/* mailhaul 0.1's name, so that its files are found again */
	g_assert_true(g_str_has_prefix(legacy_base, "alice@127.0.0.1_to_alice@127.0.0.1-"));
	assert_safe_name(legacy);
}

static void
write_file(const char *path, const char *text)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(g_file_set_contents(path, text, -1, &error));
	g_assert_no_error(error);
}

static char *
read_file(const char *path)
{
	char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	return text;
}

static void
copy_file(const char *from, const char *to)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *data = NULL;
	gsize len;

	g_assert_true(g_file_get_contents(from, &data, &len, &error));
	g_assert_true(g_file_set_contents(to, data, (gssize)len, &error));
	g_assert_no_error(error);
}

/* A state file under the old name is moved once, with its companions, rows intact. */
static void
test_adopt_moves_once(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autofree char *old_path = g_build_filename(f->dir, "old.db", NULL);
	g_autofree char *new_path = g_build_filename(f->dir, "new.db", NULL);
	g_autofree char *wal = g_strconcat(f->path, "-wal", NULL);
	g_autofree char *old_wal = g_strconcat(old_path, "-wal", NULL);
	g_autofree char *new_wal = g_strconcat(new_path, "-wal", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) msgs = NULL;
	int64_t id = folder_put_ok(f->st, "INBOX", 4);
	struct mh_state *st;

	for (uint32_t uid = 1; uid <= 3; uid++)
		msg_put_ok(f->st, id, uid, "\\Seen");
	/* What a killed run leaves: the rows are still in the -wal file only. */
	copy_file(f->path, old_path);
	copy_file(wal, old_wal);
	g_assert_cmpint(mh_state_adopt(new_path, old_path, &error), ==, 1);
	g_assert_no_error(error);
	g_assert_false(g_file_test(old_path, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(old_wal, G_FILE_TEST_EXISTS));
	g_assert_true(g_file_test(new_wal, G_FILE_TEST_EXISTS));
	st = open_ok(new_path);
	msgs = load_ok(st, folder_id_of(st, "INBOX"));
	g_assert_cmpuint(g_hash_table_size(msgs), ==, 3);
	mh_state_close(st);
	/* Once: nothing left to move, and a second call changes nothing. */
	g_assert_cmpint(mh_state_adopt(new_path, old_path, &error), ==, 0);
	g_assert_no_error(error);
	g_assert_true(g_file_test(new_path, G_FILE_TEST_EXISTS));
}

/* Never over a file that exists under the new name: both stay as they are. */
static void
test_adopt_keeps_newer(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autofree char *old_path = g_build_filename(f->dir, "old.db", NULL);
	g_autofree char *old_wal = g_strconcat(old_path, "-wal", NULL);
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;

	write_file(old_path, "old database");
	write_file(old_wal, "old wal");
	g_assert_cmpint(mh_state_adopt(f->path, old_path, &error), ==, 0);
	g_assert_no_error(error);
	text = read_file(old_path);
	g_assert_cmpstr(text, ==, "old database");
	g_clear_pointer(&text, g_free);
	text = read_file(old_wal);
	g_assert_cmpstr(text, ==, "old wal");
	/* Nothing under either name: nothing to do. */
	g_assert_cmpint(mh_state_adopt(f->path, "/nonexistent/old.db", &error), ==, 0);
	g_assert_no_error(error);
}

/* A failed rename is an error naming the file, not a silent fresh start. */
static void
test_adopt_failure(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autofree char *old_path = g_build_filename(f->dir, "old.db", NULL);
	g_autofree char *new_path = g_build_filename(f->dir, "missing-dir", "new.db", NULL);
	g_autoptr(GError) error = NULL;

	write_file(old_path, "old database");
	g_assert_cmpint(mh_state_adopt(new_path, old_path, &error), ==, -1);
	g_assert_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE);
	g_assert_nonnull(strstr(error->message, old_path));
	g_assert_true(g_file_test(old_path, G_FILE_TEST_EXISTS));
}

#define BULK_ROWS 50000

/* AddressSanitizer makes SQLite about three times slower. */
#if defined(__SANITIZE_ADDRESS__)
#define BULK_BOUND_US (3 * G_USEC_PER_SEC)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BULK_BOUND_US (3 * G_USEC_PER_SEC)
#endif
#endif
#ifndef BULK_BOUND_US
#define BULK_BOUND_US G_USEC_PER_SEC
#endif

/* 50,000 rows in one transaction, as the engine records a large folder, then loaded
 * back. Measured on a 2-vCPU AMD EPYC VM, ext4: 150 ms to insert (3 us a row, commit
 * included) and 33 ms to load in the debugoptimized build; 295 ms and 70 ms under
 * ASan+UBSan (twice that with the machine busy). The bound, one second (three with
 * ASan), leaves room for slower machines. */
static void
test_bulk(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) msgs = NULL;
	char fingerprint[72];
	struct mh_state_msg m = {.flags = (char *)"$Label \\Seen", .fingerprint = fingerprint};
	int64_t id = folder_put_ok(f->st, "[Gmail]/All Mail", 1);
	gint64 start, inserted_us, loaded_us;
	bool ok = true;

	start = g_get_monotonic_time();
	begin_ok(f->st);
	for (uint32_t uid = 1; ok && uid <= BULK_ROWS; uid++) {
		m.src_uid = uid;
		m.dst_uid = uid + 7;
		m.size = 3000 + uid;
		g_snprintf(fingerprint, sizeof(fingerprint), "%064x", uid);
		ok = mh_state_msg_put(f->st, id, &m, &error);
	}
	g_assert_no_error(error);
	commit_ok(f->st);
	inserted_us = g_get_monotonic_time() - start;

	start = g_get_monotonic_time();
	msgs = load_ok(f->st, id);
	loaded_us = g_get_monotonic_time() - start;
	g_test_message("%d rows: inserted in %" G_GINT64_FORMAT " ms, loaded in %" G_GINT64_FORMAT
	               " ms",
	               BULK_ROWS, inserted_us / 1000, loaded_us / 1000);
	g_assert_cmpuint(g_hash_table_size(msgs), ==, BULK_ROWS);
	g_assert_cmpint(inserted_us, <, BULK_BOUND_US);
	g_assert_cmpint(loaded_us, <, BULK_BOUND_US);
}

#define ADD(name, fn, data) \
	g_test_add(name, struct fixture, data, fixture_setup, fn, fixture_teardown)

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *tmp = g_dir_make_tmp("mh-test-xdg-XXXXXX", &error);
	int ret;

	g_assert_no_error(error);
	/* Before anything calls g_get_user_state_dir(), which reads it once. */
	xdg_state_home = g_build_filename(tmp, "state-home", NULL);
	g_setenv("XDG_STATE_HOME", xdg_state_home, TRUE);
	g_test_init(&argc, &argv, NULL);

	ADD("/sync/state/open/create", test_open_create, NULL);
	ADD("/sync/state/open/missing-dir-elsewhere", test_open_missing_dir_elsewhere, NULL);
	ADD("/sync/state/open/reopen", test_open_reopen, NULL);
	ADD("/sync/state/open/newer-schema", test_open_newer_schema, NULL);
	ADD("/sync/state/open/not-ours", test_open_not_ours, NULL);
	ADD("/sync/state/open/upgrades-version-1", test_open_upgrades_version_1, NULL);
	ADD("/sync/state/transfers", test_transfers, NULL);
	ADD("/sync/state/copying", test_copying, NULL);
	ADD("/sync/state/open/repair", test_open_repair, NULL);
	ADD("/sync/state/folder/put-get", test_folder_put_get, NULL);
	ADD("/sync/state/folder/list", test_folder_list, NULL);
	ADD("/sync/state/folder/forget-messages", test_folder_forget_messages, NULL);
	ADD("/sync/state/folder/delete-cascades", test_folder_delete_cascades, NULL);
	ADD("/sync/state/msg/put-load", test_msg_put_load, NULL);
	ADD("/sync/state/msg/scan", test_msg_scan, NULL);
	ADD("/sync/state/msg/mapped", test_msg_mapped, NULL);
	ADD("/sync/state/msg/get-delete", test_msg_get_delete, NULL);
	ADD("/sync/state/msg/set-flags", test_msg_set_flags, NULL);
	ADD("/sync/state/msg/unknown-folder", test_msg_unknown_folder, NULL);
	ADD("/sync/state/txn/rollback", test_txn_rollback, NULL);
	g_test_add_func("/sync/state/path/default", test_path_default);
	g_test_add_func("/sync/state/path/distinct", test_path_distinct);
	g_test_add_func("/sync/state/path/hostile", test_path_hostile);
	g_test_add_func("/sync/state/path/ports", test_path_ports);
	ADD("/sync/state/adopt/moves-once", test_adopt_moves_once, NULL);
	ADD("/sync/state/adopt/keeps-newer", test_adopt_keeps_newer, NULL);
	ADD("/sync/state/adopt/failure", test_adopt_failure, NULL);
	ADD("/sync/state/bulk/50000", test_bulk, NULL);

	ret = g_test_run();
	rm_rf(tmp);
	g_free(xdg_state_home);
	return ret;
}
