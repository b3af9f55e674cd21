/* SPDX-License-Identifier: MIT */
/* Run locks (sync-lock.c) and how the two sides of a run are told apart
 * (sync-accounts.c): a held lock names its holder, a released or dead holder's lock is
 * taken, a waiting run gets it when it is free, and addresses are compared as resolved. */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sync-accounts.h"
#include "sync-lock.h"

struct fixture {
	char *dir;  /* owned: a fresh temporary directory */
	char *path; /* owned: DIR/locks/pair.lock (the parent does not exist yet) */
};

static void
fixture_setup(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	/* Below $XDG_STATE_HOME/mailhaul (set in main), where missing folders are made. */
	g_autofree char *base = g_build_filename(g_get_user_state_dir(), "mailhaul", NULL);
	g_autofree char *tmpl = g_build_filename(base, "lock-XXXXXX", NULL);

	g_assert_cmpint(g_mkdir_with_parents(base, 0700), ==, 0);
	f->dir = g_mkdtemp(g_steal_pointer(&tmpl));
	g_assert_nonnull(f->dir);
	f->path = g_build_filename(f->dir, "locks", "pair.lock", NULL);
}

static void
fixture_teardown(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autofree char *locks = g_path_get_dirname(f->path);

	g_unlink(f->path);
	g_rmdir(locks);
	g_rmdir(f->dir);
	g_free(f->path);
	g_free(f->dir);
}

static struct mh_sync_lock *
take_ok(const char *path)
{
	g_autoptr(GError) error = NULL;
	struct mh_sync_lock *lock = mh_sync_lock_take(path, "account pair", false, NULL, &error);

	g_assert_no_error(error);
	g_assert_nonnull(lock);
	return lock;
}

/* Two takers in one process (two engines) exclude each other, and the second learns who
 * holds the lock and since when. */
static void
test_held_names_holder(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	struct mh_sync_lock *lock = take_ok(f->path);
	g_autoptr(GError) error = NULL;
	g_autofree char *pid = g_strdup_printf("(pid %ld, since ", (long)getpid());
	g_autofree char *text = NULL;
	GStatBuf sb;

	g_assert_null(mh_sync_lock_take(f->path, "account pair", false, NULL, &error));
	g_assert_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_LOCKED);
	g_test_message("%s", error->message);
	g_assert_nonnull(strstr(error->message, pid));
	g_assert_nonnull(strstr(error->message, f->path));
	g_assert_nonnull(strstr(error->message, "--wait-lock"));
	g_assert_null(strchr(error->message, '\n'));
	g_assert_cmpint(g_stat(f->path, &sb), ==, 0);
	g_assert_cmpuint(sb.st_mode & 0777, ==, 0600);
	text = mh_sync_lock_holder(f->path);
	g_assert_nonnull(text);
	g_assert_true(g_str_has_prefix(text, pid + 1));
	g_clear_pointer(&text, g_free);
	mh_sync_lock_release(lock);
	/* Released: nobody holds it, it is taken again, and the released lock's text is gone. */
	g_assert_null(mh_sync_lock_holder(f->path));
	g_assert_true(g_file_get_contents(f->path, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "");
	lock = take_ok(f->path);
	mh_sync_lock_release(lock);
}

/* A lock file whose text names a process that is gone does not block anyone. */
static void
test_stale_text(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autofree char *dir = g_path_get_dirname(f->path);
	g_autofree char *text = NULL;
	g_autofree char *mine = g_strdup_printf("pid %ld since ", (long)getpid());
	struct mh_sync_lock *lock;

	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	g_assert_true(g_file_set_contents(f->path, "pid 999999 since 1600000000\n", -1, NULL));
	lock = take_ok(f->path);
	g_assert_true(g_file_get_contents(f->path, &text, NULL, NULL));
	g_assert_true(g_str_has_prefix(text, mine));
	mh_sync_lock_release(lock);
}

/* A holder killed with SIGKILL leaves its lock free (the kernel releases it). */
static void
test_killed_holder(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	int ready[2];
	char c;
	pid_t child;
	int status;
	g_autoptr(GError) error = NULL;
	struct mh_sync_lock *lock;

	g_assert_cmpint(pipe(ready), ==, 0);
	child = fork();
	g_assert_cmpint(child, >=, 0);
	if (child == 0) {
		lock = mh_sync_lock_take(f->path, "account pair", false, NULL, NULL);
		if (write(ready[1], lock != NULL ? "y" : "n", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	g_assert_cmpint(read(ready[0], &c, 1), ==, 1);
	g_assert_cmpint(c, ==, 'y');
	g_assert_null(mh_sync_lock_take(f->path, "account pair", false, NULL, &error));
	g_assert_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_LOCKED);
	g_clear_error(&error);
	kill(child, SIGKILL);
	g_assert_cmpint(waitpid(child, &status, 0), ==, child);
	lock = take_ok(f->path);
	mh_sync_lock_release(lock);
	close(ready[0]);
	close(ready[1]);
}

static gpointer
release_later(gpointer data)
{
	g_usleep(G_USEC_PER_SEC / 2);
	mh_sync_lock_release(data);
	return NULL;
}

/* --wait-lock: the second run waits until the first is done, then has the lock. */
static void
test_wait(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	struct mh_sync_lock *lock = take_ok(f->path);
	g_autoptr(GError) error = NULL;
	gint64 start = g_get_monotonic_time();
	GThread *t = g_thread_new("holder", release_later, lock);
	struct mh_sync_lock *second;

	second = mh_sync_lock_take(f->path, "account pair", true, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(second);
	g_assert_cmpint(g_get_monotonic_time() - start, >=, G_USEC_PER_SEC / 3);
	g_thread_join(t);
	mh_sync_lock_release(second);
}

/* Ctrl-C while waiting stops the wait. */
static void
test_wait_interrupted(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	struct mh_sync_lock *lock = take_ok(f->path);
	g_autoptr(GError) error = NULL;
	volatile int interrupted = 1;

	g_assert_null(mh_sync_lock_take(f->path, "account pair", true, &interrupted, &error));
	g_assert_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_INTERRUPTED);
	mh_sync_lock_release(lock);
}

static void
test_account_path(void)
{
	g_autofree char *a = mh_sync_lock_account_path("Alice", "IMAP.example.com", 993);
	g_autofree char *b = mh_sync_lock_account_path("alice", "imap.example.com", 993);
	g_autofree char *c = mh_sync_lock_account_path("alice", "imap.example.com", 143);
	g_autofree char *d = mh_sync_lock_account_path("bob", "imap.example.com", 993);
	g_autofree char *evil = mh_sync_lock_account_path("../../x", "/etc", 1);
	g_autofree char *base = g_path_get_basename(evil);
	g_autofree char *dir = g_path_get_dirname(evil);

	g_assert_cmpstr(a, ==, b);
	g_assert_cmpstr(a, !=, c);
	g_assert_cmpstr(a, !=, d);
	g_assert_true(g_str_has_suffix(dir, "/mailhaul/locks"));
	g_assert_null(strchr(base, '/'));
	g_assert_true(g_str_has_prefix(base, "account-"));
}

static void
test_endpoints(void)
{
	const struct mh_sync_endpoint lo = {"localhost", 1143, "alice"};
	const struct mh_sync_endpoint ip = {"127.0.0.1", 1143, "Alice"};
	const struct mh_sync_endpoint other_port = {"127.0.0.1", 2143, "alice"};
	const struct mh_sync_endpoint other_user = {"127.0.0.1", 1143, "bob"};
	const struct mh_sync_endpoint other_host = {"127.0.0.2", 1143, "alice"};
	const struct mh_sync_endpoint unknown = {NULL, 1143, "alice"};
	const struct mh_sync_endpoint upper = {"LOCALHOST", 1143, "alice"};

	g_assert_true(mh_sync_endpoints_same(&lo, &ip));
	g_assert_true(mh_sync_endpoints_same(&ip, &lo));
	g_assert_true(mh_sync_endpoints_same(&lo, &upper));
	g_assert_false(mh_sync_endpoints_same(&ip, &other_port));
	g_assert_false(mh_sync_endpoints_same(&ip, &other_user));
	g_assert_false(mh_sync_endpoints_same(&ip, &other_host));
	g_assert_false(mh_sync_endpoints_same(&unknown, &unknown));
}

#define ADD(name, fn) g_test_add(name, struct fixture, NULL, fixture_setup, fn, fixture_teardown)

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *tmp = g_dir_make_tmp("mh-test-xdg-XXXXXX", &error);

	g_assert_no_error(error);
	g_setenv("XDG_STATE_HOME", tmp, TRUE);
	g_test_init(&argc, &argv, NULL);
	ADD("/sync/lock/held-names-holder", test_held_names_holder);
	ADD("/sync/lock/stale-text", test_stale_text);
	ADD("/sync/lock/killed-holder", test_killed_holder);
	ADD("/sync/lock/wait", test_wait);
	ADD("/sync/lock/wait-interrupted", test_wait_interrupted);
	g_test_add_func("/sync/lock/account-path", test_account_path);
	g_test_add_func("/sync/accounts/endpoints", test_endpoints);
	{
		int rc = g_test_run();
		g_autofree char *own = g_build_filename(tmp, "mailhaul", NULL);

		g_rmdir(own);
		g_rmdir(tmp);
		return rc;
	}
}
