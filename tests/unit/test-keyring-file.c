/* SPDX-License-Identifier: MIT */
/* The file keyring in a temporary directory: the conformance cases (keyring-conformance.c),
 * then what only files have: modes 0600 and 0700, one file per key and no temporary file
 * left, atomic rewrites with a stale temporary file left behind, a directory open to others
 * refused, corrupt files, and the default directory. */
#include "keyring-conformance.h"
#include "keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
	char *tmp; /* owned: the test's temporary directory */
	char *dir; /* owned: the keyring directory inside it */
	struct mh_keyring *kr;
};

/* Opens a file keyring in a new temporary directory @f->tmp. */
static void
fixture_open(struct fixture *f)
{
	g_autoptr(GError) error = NULL;

	f->tmp = g_dir_make_tmp("mh-keyring-file-XXXXXX", &error);
	g_assert_no_error(error);
	f->dir = g_build_filename(f->tmp, "data", "mailhaul", "secrets", NULL);
	f->kr = mh_keyring_file_new(f->dir, &error);
	g_assert_no_error(error);
	g_assert_nonnull(f->kr);
}

static void
fixture_setup(struct fixture *f, gconstpointer data)
{
	(void)data;
	fixture_open(f);
}

static void
remove_tree(const char *path)
{
	GDir *d = g_dir_open(path, 0, NULL);
	const char *name;

	if (d == NULL) {
		(void)g_remove(path);
		return;
	}
	while ((name = g_dir_read_name(d)) != NULL) {
		g_autofree char *child = g_build_filename(path, name, NULL);

		remove_tree(child);
	}
	g_dir_close(d);
	(void)g_chmod(path, 0700);
	(void)g_rmdir(path);
}

static void
fixture_teardown(struct fixture *f, gconstpointer data)
{
	(void)data;
	g_clear_pointer(&f->kr, mh_keyring_free);
	remove_tree(f->tmp);
	g_clear_pointer(&f->dir, g_free);
	g_clear_pointer(&f->tmp, g_free);
}

/* The conformance cases run one at a time: one fixture serves them all. */
static struct mh_keyring *
file_open(void *ctx)
{
	struct fixture *f = ctx;

	fixture_open(f);
	return f->kr;
}

static void
file_close(struct mh_keyring *kr, void *ctx)
{
	struct fixture *f = ctx;

	g_assert_true(kr == f->kr);
	fixture_teardown(f, NULL);
}

static struct fixture conformance_fixture;

static const struct keyring_backend file_backend = {
	.path = "file",
	.name = "file",
	.many = 300,
	.open = file_open,
	.close = file_close,
	.ctx = &conformance_fixture,
};

/* Returns the names in @dir (caller frees with g_strfreev). */
static char **
dir_names(const char *dir)
{
	GPtrArray *names = g_ptr_array_new();
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;

	g_assert_nonnull(d);
	while ((name = g_dir_read_name(d)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	g_dir_close(d);
	g_ptr_array_add(names, NULL);
	return (char **)g_ptr_array_free(names, FALSE);
}

/* Returns the path of the only file in @dir whose name does not start with '.'. */
static char *
only_file(const char *dir)
{
	g_auto(GStrv) names = dir_names(dir);
	char *found = NULL;

	for (guint i = 0; names[i] != NULL; i++) {
		if (names[i][0] == '.')
			continue;
		g_assert_null(found);
		found = g_build_filename(dir, names[i], NULL);
	}
	g_assert_nonnull(found);
	return found;
}

/* A key is one file: a replace leaves no temporary file behind, a clear removes it. */
static void
test_one_file_per_key(struct fixture *f, gconstpointer data)
{
	g_auto(GStrv) replaced = NULL;
	g_auto(GStrv) cleared = NULL;

	(void)data;
	keyring_store_ok(f->kr, "k", "a much longer old secret");
	keyring_store_ok(f->kr, "k", "new");
	replaced = dir_names(f->dir);
	g_assert_cmpuint(g_strv_length(replaced), ==, 1);
	keyring_clear_ok(f->kr, "k", 1);
	cleared = dir_names(f->dir);
	g_assert_cmpuint(g_strv_length(cleared), ==, 0);
}

static void
test_modes(struct fixture *f, gconstpointer data)
{
	g_autofree char *parent = g_path_get_dirname(f->dir);
	g_autofree char *file = NULL;
	struct stat st;
	mode_t old = umask(0);

	(void)data;
	/* Even with an umask that lets everything through. */
	keyring_store_ok(f->kr, "oauth2:gmail:alice@example.com", "secret");
	umask(old);
	g_assert_cmpint(stat(f->dir, &st), ==, 0);
	g_assert_true(S_ISDIR(st.st_mode));
	g_assert_cmpint(st.st_mode & 07777, ==, 0700);
	g_assert_cmpint(stat(parent, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 077, ==, 0);
	file = only_file(f->dir);
	g_assert_cmpint(stat(file, &st), ==, 0);
	g_assert_true(S_ISREG(st.st_mode));
	g_assert_cmpint(st.st_mode & 07777, ==, 0600);

	/* A rewrite keeps 0600 even over a file that someone loosened. */
	g_assert_cmpint(chmod(file, 0644), ==, 0);
	keyring_store_ok(f->kr, "oauth2:gmail:alice@example.com", "secret 2");
	g_assert_cmpint(stat(file, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0600);
}

static void
test_file_name(struct fixture *f, gconstpointer data)
{
	g_autofree char *file = NULL;
	g_autofree char *base = NULL;
	g_autofree char *contents = NULL;

	(void)data;
	keyring_store_ok(f->kr, "oauth2:gmail:alice@example.com", "the-secret");
	file = only_file(f->dir);
	base = g_path_get_basename(file);
	/* Readable, safe in a file system, and keeps the key inside. */
	g_assert_true(g_str_has_prefix(base, "oauth2_gmail_alice@example.com-"));
	g_assert_true(g_str_has_suffix(base, ".secret"));
	g_assert_null(strchr(base, ':'));
	g_assert_true(g_file_get_contents(file, &contents, NULL, NULL));
	g_assert_nonnull(strstr(contents, "oauth2:gmail:alice@example.com\n"));
}

static char *
write_tmp_file(const char *dir, const char *name, const char *contents, time_t age)
{
	char *path = g_build_filename(dir, name, NULL);
	struct timespec times[2];

	g_assert_true(
		g_file_set_contents_full(path, contents, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
	if (age > 0) {
		times[0].tv_sec = times[1].tv_sec = time(NULL) - age;
		times[0].tv_nsec = times[1].tv_nsec = 0;
		g_assert_cmpint(utimensat(AT_FDCWD, path, times, 0), ==, 0);
	}
	return path;
}

static void
test_interrupted_write(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) keys = NULL;
	g_autofree char *stale = NULL;
	g_autofree char *fresh = NULL;

	(void)data;
	keyring_store_ok(f->kr, "oauth2:gmail:alice@example.com", "old secret");
	/* A writer killed between creating its temporary file and the rename leaves the
	 * new contents half written beside the old file. */
	stale = write_tmp_file(f->dir, ".tmp-0123456789abcdef",
	                       "mailhaul-secret 1\noauth2:gmail:alice@example.com\nnew se", 3600);
	fresh = write_tmp_file(f->dir, ".tmp-fedcba9876543210", "mailhaul-secret 1\nk\n", 0);
	keyring_assert_lookup(f->kr, "oauth2:gmail:alice@example.com", "old secret");
	keys = keyring_list_ok(f->kr);
	g_assert_cmpuint(keys->len, ==, 1);
	g_assert_cmpstr(keys->pdata[0], ==, "oauth2:gmail:alice@example.com");

	/* Opening the store again removes the stale one; a recent one may belong to a
	 * writer at work and stays, ignored. */
	g_clear_pointer(&f->kr, mh_keyring_free);
	f->kr = mh_keyring_file_new(f->dir, &error);
	g_assert_no_error(error);
	g_assert_false(g_file_test(stale, G_FILE_TEST_EXISTS));
	g_assert_true(g_file_test(fresh, G_FILE_TEST_EXISTS));
	keyring_assert_lookup(f->kr, "oauth2:gmail:alice@example.com", "old secret");
	keyring_store_ok(f->kr, "oauth2:gmail:alice@example.com", "new secret");
	keyring_assert_lookup(f->kr, "oauth2:gmail:alice@example.com", "new secret");
}

static void
test_dir_open_to_others(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	struct mh_keyring *kr;

	(void)data;
	for (guint i = 0; i < 3; i++) {
		static const mode_t modes[] = {0755, 0750, 0701};

		g_assert_cmpint(chmod(f->dir, modes[i]), ==, 0);
		kr = mh_keyring_file_new(f->dir, &error);
		g_assert_null(kr);
		g_assert_error(error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_IO);
		g_assert_nonnull(strstr(error->message, f->dir));
		g_assert_nonnull(strstr(error->message, "0700"));
		g_test_message("refused: %s", error->message);
		g_clear_error(&error);
	}
	g_assert_cmpint(chmod(f->dir, 0700), ==, 0);
	kr = mh_keyring_file_new(f->dir, &error);
	g_assert_no_error(error);
	mh_keyring_free(kr);
}

static void
test_not_a_dir(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *path = g_build_filename(f->tmp, "plain-file", NULL);

	(void)data;
	g_assert_true(g_file_set_contents(path, "x", -1, NULL));
	g_assert_null(mh_keyring_file_new(path, &error));
	g_assert_error(error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_IO);
}

static void
assert_corrupt(struct mh_keyring *kr, const char *key, int code)
{
	g_autoptr(GError) e1 = NULL;
	g_autoptr(GError) e2 = NULL;
	GPtrArray *keys = NULL;
	char *secret = NULL;

	g_assert_cmpint(mh_keyring_lookup(kr, key, &secret, &e1), ==, -1);
	g_assert_error(e1, MH_KEYRING_ERROR, code);
	g_assert_null(secret);
	g_assert_false(mh_keyring_list(kr, &keys, &e2));
	g_assert_error(e2, MH_KEYRING_ERROR, code);
	g_test_message("%s", e1->message);
}

static void
test_corrupt(struct fixture *f, gconstpointer data)
{
	g_autofree char *file = NULL;

	(void)data;
	keyring_store_ok(f->kr, "k", "s");
	file = only_file(f->dir);

	g_assert_true(g_file_set_contents(file, "garbage", -1, NULL));
	assert_corrupt(f->kr, "k", MH_KEYRING_ERROR_CORRUPT);
	g_assert_true(g_file_set_contents(file, "mailhaul-secret 1\nk", -1, NULL));
	assert_corrupt(f->kr, "k", MH_KEYRING_ERROR_CORRUPT);
	/* A file holding another key than its name says (copied by hand). */
	g_assert_true(g_file_set_contents(file, "mailhaul-secret 1\nother\ns", -1, NULL));
	assert_corrupt(f->kr, "k", MH_KEYRING_ERROR_CORRUPT);
	g_assert_true(g_file_set_contents(file, "mailhaul-secret 1\nbad\001key\ns", -1, NULL));
	assert_corrupt(f->kr, "k", MH_KEYRING_ERROR_CORRUPT);

	/* A store repairs it. */
	keyring_store_ok(f->kr, "k", "s2");
	keyring_assert_lookup(f->kr, "k", "s2");

	if (geteuid() != 0) {
		/* Unreadable (root reads anything, so only as a user). */
		g_assert_cmpint(chmod(file, 0), ==, 0);
		assert_corrupt(f->kr, "k", MH_KEYRING_ERROR_IO);
		g_assert_cmpint(chmod(file, 0600), ==, 0);
	}
	/* A directory where a file should be. */
	g_assert_cmpint(g_remove(file), ==, 0);
	g_assert_cmpint(g_mkdir(file, 0700), ==, 0);
	assert_corrupt(f->kr, "k", MH_KEYRING_ERROR_CORRUPT);
	g_assert_cmpint(g_rmdir(file), ==, 0);
	keyring_assert_lookup(f->kr, "k", NULL);
}

static void
test_store_fails(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	(void)data;
	if (geteuid() == 0) {
		g_test_skip("root writes into a read-only directory");
		return;
	}
	keyring_store_ok(f->kr, "k", "old");
	g_assert_cmpint(chmod(f->dir, 0500), ==, 0);
	g_assert_false(mh_keyring_store(f->kr, "k", "new", &error));
	g_assert_error(error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_IO);
	g_assert_cmpint(chmod(f->dir, 0700), ==, 0);
	keyring_assert_lookup(f->kr, "k", "old");
}

static void
test_default_dir(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *tmp = NULL;
	g_autofree char *file = NULL;
	g_autofree char *dir = NULL;
	struct mh_keyring *kr;

	/* Runs in a subprocess: g_get_user_data_dir() reads the environment only once. */
	if (g_test_subprocess()) {
		g_assert_nonnull(g_getenv("XDG_DATA_HOME"));
		kr = mh_keyring_file_new(NULL, &error);
		g_assert_no_error(error);
		keyring_store_ok(kr, "k", "s");
		mh_keyring_free(kr);
		return;
	}
	tmp = g_dir_make_tmp("mh-keyring-xdg-XXXXXX", NULL);
	g_assert_nonnull(tmp);
	g_setenv("XDG_DATA_HOME", tmp, TRUE);
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
	g_test_trap_assert_passed();
	dir = g_build_filename(tmp, "mailhaul", "secrets", NULL);
	file = only_file(dir);
	g_assert_cmpint(g_remove(file), ==, 0);
	remove_tree(tmp);
}

#define ADD(path, fn) g_test_add(path, struct fixture, NULL, fixture_setup, fn, fixture_teardown)

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	keyring_conformance_add(&file_backend);
	ADD("/keyring/file/one-file-per-key", test_one_file_per_key);
	ADD("/keyring/file/modes", test_modes);
	ADD("/keyring/file/file-name", test_file_name);
	ADD("/keyring/file/interrupted-write", test_interrupted_write);
	ADD("/keyring/file/dir-open-to-others", test_dir_open_to_others);
	ADD("/keyring/file/not-a-dir", test_not_a_dir);
	ADD("/keyring/file/corrupt", test_corrupt);
	ADD("/keyring/file/store-fails", test_store_fails);
	g_test_add_func("/keyring/file/default-dir", test_default_dir);
	return g_test_run();
}
