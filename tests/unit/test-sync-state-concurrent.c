/* SPDX-License-Identifier: MIT */
/* The sync state store under concurrency: a writer waiting for another, connections in
 * several threads writing and opening a new file at once, and a process killed (SIGKILL,
 * _exit) in the middle of a transaction: committed rows stay, uncommitted ones vanish. */
#include "test-sync-state-util.h"

#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct holder {
	const char *path;
	GAsyncQueue *began; /* owned */
};

/* Holds a write transaction for 200 ms on its own connection. */
static gpointer
txn_holder(gpointer data)
{
	struct holder *h = data;
	struct mh_state *st = open_ok(h->path);

	begin_ok(st);
	g_async_queue_push(h->began, GINT_TO_POINTER(1));
	g_usleep(200 * G_TIME_SPAN_MILLISECOND);
	folder_put_ok(st, "From the holder", 1);
	commit_ok(st);
	mh_state_close(st);
	return NULL;
}

static void
test_txn_begin_waits(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	struct holder h = {.path = f->path, .began = g_async_queue_new()};
	GThread *thread = g_thread_new("holder", txn_holder, &h);
	int64_t start;

	g_async_queue_pop(h.began);
	start = g_get_monotonic_time();
	begin_ok(f->st);
	g_assert_cmpint(g_get_monotonic_time() - start, >=, 150 * G_TIME_SPAN_MILLISECOND);
	g_assert_cmpint(folder_id_of(f->st, "From the holder"), >, 0);
	commit_ok(f->st);
	g_thread_join(thread);
	g_async_queue_unref(h.began);
}

#define WRITER_TXNS    20
#define WRITER_PER_TXN 100

struct writer {
	const char *path;
	char name[16];
	gint *go; /* spin until set, so that the threads start together */
};

/* Writes one folder in WRITER_TXNS transactions, with a flag change and a folder
 * update outside any transaction after each, on its own connection. */
static gpointer
writer_run(gpointer data)
{
	struct writer *w = data;
	struct mh_state *st;
	int64_t id;
	uint32_t uid = 1;

	while (!g_atomic_int_get(w->go))
		g_thread_yield();
	st = open_ok(w->path);
	id = folder_put_ok(st, w->name, 1);
	for (int t = 0; t < WRITER_TXNS; t++) {
		g_autoptr(GError) error = NULL;

		begin_ok(st);
		for (int i = 0; i < WRITER_PER_TXN; i++, uid++)
			msg_put_ok(st, id, uid, "\\Seen");
		commit_ok(st);
		g_assert_true(mh_state_msg_set_flags(st, id, uid - 1, "\\Flagged", &error));
		g_assert_no_error(error);
		folder_put_ok(st, w->name, uid);
	}
	mh_state_close(st);
	return NULL;
}

static void
run_writers(const char *path, unsigned n)
{
	g_autofree struct writer *w = g_new0(struct writer, n);
	g_autofree GThread **threads = g_new0(GThread *, n);
	gint go = 0;

	for (unsigned i = 0; i < n; i++) {
		w[i].path = path;
		w[i].go = &go;
		g_snprintf(w[i].name, sizeof(w[i].name), "T%u", i);
		threads[i] = g_thread_new(w[i].name, writer_run, &w[i]);
	}
	g_atomic_int_set(&go, 1);
	for (unsigned i = 0; i < n; i++)
		g_thread_join(threads[i]);
}

static void
check_writers(struct mh_state *st, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		g_autofree char *name = g_strdup_printf("T%u", i);
		g_autoptr(GHashTable) msgs = load_ok(st, folder_id_of(st, name));
		struct mh_state_msg *m;

		g_assert_cmpuint(g_hash_table_size(msgs), ==, WRITER_TXNS * WRITER_PER_TXN);
		m = g_hash_table_lookup(msgs, GUINT_TO_POINTER(WRITER_PER_TXN));
		g_assert_cmpstr(m->flags, ==, "\\Flagged");
	}
}

static void
test_threads_two_writers(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	run_writers(f->path, 2);
	check_writers(f->st, 2);
}

/* Connections opening a file that does not exist yet, all at once: one creates the
 * schema, the others wait for it. */
static void
test_threads_open_race(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	for (int round = 0; round < 2; round++) {
		g_autofree char *path = g_strdup_printf("%s/race-%d/state.db", f->dir, round);
		g_autoptr(mh_state) st = NULL;

		run_writers(path, 4);
		st = open_ok(path);
		check_writers(st, 4);
	}
}

#define CRASH_COMMITTED   100
/* Rows of about 100 bytes: 40,000 of them overflow SQLite's 2 MB page cache, so
 * uncommitted pages reach the WAL file before the crash. */
#define CRASH_UNCOMMITTED 40000

enum crash_end {
	CRASH_SIGKILL, /* kill -9 of itself in the middle of a transaction */
	CRASH_EXIT,    /* _exit() in the middle of a transaction, nothing closed */
};

/* The child: no g_assert() here (its output would mix with the parent's TAP stream);
 * each failure exits with its own status. Commits CRASH_COMMITTED messages, then in a
 * second transaction changes a flag, adds a folder and CRASH_UNCOMMITTED messages,
 * reports the size of the WAL file on @report_fd and dies. */
static void G_GNUC_NORETURN
crash_child(const char *path, enum crash_end end, int report_fd)
{
	g_autofree char *wal = g_strconcat(path, "-wal", NULL);
	struct mh_state_folder folder = {.src_name = (char *)"Committed", .src_uidnext = 1};
	struct mh_state_folder lost = {.src_name = (char *)"Uncommitted"};
	char fingerprint[72];
	struct mh_state_msg m = {.flags = (char *)"\\Seen", .fingerprint = fingerprint};
	struct mh_state *st = mh_state_open(path, NULL);
	GStatBuf sb;
	gint64 size;

	if (st == NULL || !mh_state_begin(st, NULL))
		_exit(10);
	for (; folder.src_uidnext <= CRASH_COMMITTED; folder.src_uidnext++) {
		m.src_uid = folder.src_uidnext;
		g_snprintf(fingerprint, sizeof(fingerprint), "%064x", m.src_uid);
		if (!mh_state_folder_put(st, &folder, NULL) || !mh_state_msg_put(st, 1, &m, NULL))
			_exit(11);
	}
	if (!mh_state_folder_put(st, &folder, NULL) || !mh_state_commit(st, NULL))
		_exit(12);
	if (!mh_state_begin(st, NULL) || !mh_state_folder_put(st, &lost, NULL) ||
	    !mh_state_msg_set_flags(st, folder.id, 1, "\\Deleted", NULL))
		_exit(13);
	for (; folder.src_uidnext <= CRASH_COMMITTED + CRASH_UNCOMMITTED; folder.src_uidnext++) {
		m.src_uid = folder.src_uidnext;
		g_snprintf(fingerprint, sizeof(fingerprint), "%064x", m.src_uid);
		if (!mh_state_msg_put(st, folder.id, &m, NULL))
			_exit(14);
	}
	if (!mh_state_folder_put(st, &folder, NULL) || g_stat(wal, &sb) != 0)
		_exit(15);
	size = sb.st_size;
	if (write(report_fd, &size, sizeof(size)) != sizeof(size))
		_exit(16);
	if (end == CRASH_SIGKILL)
		kill(getpid(), SIGKILL);
	_exit(0);
}

static void
assert_integrity(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;

	g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
	g_assert_cmpint(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, NULL), ==,
	                SQLITE_OK);
	g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_ROW);
	g_assert_cmpstr((const char *)sqlite3_column_text(stmt, 0), ==, "ok");
	sqlite3_finalize(stmt);
	sqlite3_close(db);
}

/* Forks @child_fn-style children: returns the pid, with the read end of a pipe whose
 * write end the child holds. No connection of ours may cross the fork. */
static pid_t
fork_child(int *read_fd_r, int *write_fd_r)
{
	int fds[2];
	pid_t pid;

	g_assert_cmpint(pipe(fds), ==, 0);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		close(fds[0]);
		*write_fd_r = fds[1];
		return 0;
	}
	close(fds[1]);
	*read_fd_r = fds[0];
	return pid;
}

static void
test_crash(struct fixture *f, gconstpointer data)
{
	enum crash_end end = GPOINTER_TO_INT(data);
	g_autoptr(GHashTable) msgs = NULL;
	struct mh_state_msg *m;
	int rfd = -1, wfd = -1, status;
	gint64 wal_size = 0;
	ssize_t got;
	pid_t pid;

	g_clear_pointer(&f->st, mh_state_close);
	pid = fork_child(&rfd, &wfd);
	if (pid == 0)
		crash_child(f->path, end, wfd);
	got = read(rfd, &wal_size, sizeof(wal_size));
	close(rfd);
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	if (WIFEXITED(status))
		g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	if (end == CRASH_SIGKILL)
		g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	g_assert_cmpint(got, ==, sizeof(wal_size));
	g_test_message("WAL file when the child died: %" G_GINT64_FORMAT " bytes", wal_size);
	g_assert_cmpint(wal_size, >, 1024 * 1024);

	f->st = open_ok(f->path);
	g_assert_cmpint(folder_id_of(f->st, "Uncommitted"), ==, 0);
	msgs = load_ok(f->st, folder_id_of(f->st, "Committed"));
	g_assert_cmpuint(g_hash_table_size(msgs), ==, CRASH_COMMITTED);
	for (uint32_t uid = 1; uid <= CRASH_COMMITTED; uid++)
		g_assert_true(g_hash_table_contains(msgs, GUINT_TO_POINTER(uid)));
	m = g_hash_table_lookup(msgs, GUINT_TO_POINTER(1));
	g_assert_cmpstr(m->flags, ==, "\\Seen");
	assert_integrity(f->path);
	/* No lock survives the dead process. */
	begin_ok(f->st);
	folder_put_ok(f->st, "After", 1);
	commit_ok(f->st);
}

#define ANYWHERE_BATCH 50

/* The child: appends batches of ANYWHERE_BATCH messages, each in a transaction that
 * also advances the folder's src_uidnext, until killed (10 s at most). Writes one
 * byte to @report_fd after its first commit. */
static void G_GNUC_NORETURN
anywhere_child(const char *path, int report_fd)
{
	struct mh_state_folder folder = {0};
	struct mh_state_msg m = {.flags = (char *)"\\Seen"};
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	struct mh_state *st = mh_state_open(path, NULL);
	bool told = false;

	if (st == NULL || mh_state_folder_get(st, "Folder", &folder, NULL) < 0)
		_exit(10);
	if (folder.src_name == NULL) {
		folder.src_name = g_strdup("Folder");
		folder.src_uidnext = 1;
		if (!mh_state_folder_put(st, &folder, NULL))
			_exit(15);
	}
	while (g_get_monotonic_time() < deadline) {
		if (!mh_state_begin(st, NULL))
			_exit(11);
		for (int i = 0; i < ANYWHERE_BATCH; i++) {
			m.src_uid = folder.src_uidnext++;
			if (!mh_state_msg_put(st, folder.id, &m, NULL))
				_exit(12);
		}
		if (!mh_state_folder_put(st, &folder, NULL) || !mh_state_commit(st, NULL))
			_exit(13);
		if (!told && write(report_fd, "x", 1) != 1)
			_exit(14);
		told = true;
	}
	_exit(0);
}

/* SIGKILL at arbitrary points of a stream of transactions, resuming each time: what
 * survives is always whole transactions, the folder row agreeing with its messages. */
static void
test_crash_anywhere(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	const unsigned delays_ms[] = {0, 2, 5, 13, 31};
	uint32_t last_uidnext = 1;

	g_clear_pointer(&f->st, mh_state_close);
	for (size_t i = 0; i < G_N_ELEMENTS(delays_ms); i++) {
		g_auto(mh_state_folder) folder = {0};
		g_autoptr(GHashTable) msgs = NULL;
		g_autoptr(mh_state) st = NULL;
		int rfd = -1, wfd = -1, status;
		char byte;
		pid_t pid = fork_child(&rfd, &wfd);

		if (pid == 0)
			anywhere_child(f->path, wfd);
		g_assert_cmpint(read(rfd, &byte, 1), ==, 1);
		close(rfd);
		g_usleep(delays_ms[i] * G_TIME_SPAN_MILLISECOND);
		kill(pid, SIGKILL);
		g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
		g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

		st = open_ok(f->path);
		g_assert_cmpint(mh_state_folder_get(st, "Folder", &folder, NULL), ==, 1);
		msgs = load_ok(st, folder.id);
		g_test_message("killed after %u ms: %u messages", delays_ms[i],
		               g_hash_table_size(msgs));
		g_assert_cmpuint(folder.src_uidnext, >, last_uidnext);
		g_assert_cmpuint(g_hash_table_size(msgs), ==, folder.src_uidnext - 1);
		g_assert_cmpuint(g_hash_table_size(msgs) % ANYWHERE_BATCH, ==, 0);
		last_uidnext = folder.src_uidnext;
	}
	assert_integrity(f->path);
}

#define ADD(name, fn, data) \
	g_test_add(name, struct fixture, data, fixture_setup, fn, fixture_teardown)

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ADD("/sync/state/txn/begin-waits", test_txn_begin_waits, NULL);
	ADD("/sync/state/threads/two-writers", test_threads_two_writers, NULL);
	ADD("/sync/state/threads/open-race", test_threads_open_race, NULL);
	ADD("/sync/state/crash/sigkill", test_crash, GINT_TO_POINTER(CRASH_SIGKILL));
	ADD("/sync/state/crash/exit", test_crash, GINT_TO_POINTER(CRASH_EXIT));
	ADD("/sync/state/crash/kill-anywhere", test_crash_anywhere, NULL);
	return g_test_run();
}
