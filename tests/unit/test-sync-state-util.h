/* SPDX-License-Identifier: MIT */
/* Helpers shared by the state store's unit tests: a fixture with a fresh temporary
 * directory and an open store, and calls that assert success. */
#ifndef MH_TEST_SYNC_STATE_UTIL_H
#define MH_TEST_SYNC_STATE_UTIL_H

#include "sync-state.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>

struct fixture {
	char *dir;           /* owned: a fresh temporary directory */
	char *path;          /* owned: DIR/a/b/state.db, whose parents do not exist yet (DIR is
	                        below $XDG_STATE_HOME/mailhaul, where they may be created) */
	struct mh_state *st; /* owned: open on @path */
};

static inline void
rm_rf(const char *path)
{
	GDir *dir = g_dir_open(path, 0, NULL);
	const char *name;

	if (dir == NULL) {
		g_unlink(path);
		return;
	}
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *child = g_build_filename(path, name, NULL);

		rm_rf(child);
	}
	g_dir_close(dir);
	g_rmdir(path);
}

static inline struct mh_state *
open_ok(const char *path)
{
	g_autoptr(GError) error = NULL;
	struct mh_state *st = mh_state_open(path, &error);

	g_assert_no_error(error);
	g_assert_nonnull(st);
	return st;
}

static char *test_state_home; /* owned: $XDG_STATE_HOME for the whole test program */

static inline void
test_state_home_remove(void)
{
	rm_rf(test_state_home);
	g_free(test_state_home);
}

/* A private $XDG_STATE_HOME, set before GLib first reads it (it caches the value):
 * mailhaul creates missing directories only below its own state directory. */
static inline const char *
test_state_home_get(void)
{
	const char *set = g_getenv("XDG_STATE_HOME");

	if (test_state_home == NULL && set != NULL && g_str_has_prefix(set, g_get_tmp_dir())) {
		/* The test program chose one already (and removes it). */
		test_state_home = g_strdup(set);
	} else if (test_state_home == NULL) {
		test_state_home = g_dir_make_tmp("mh-test-xdg-XXXXXX", NULL);
		g_assert_nonnull(test_state_home);
		g_setenv("XDG_STATE_HOME", test_state_home, TRUE);
		atexit(test_state_home_remove);
	}
	return test_state_home;
}

static inline void
fixture_setup(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autofree char *base = g_build_filename(test_state_home_get(), "mailhaul", NULL);
	g_autofree char *tmpl = g_build_filename(base, "state-XXXXXX", NULL);

	g_assert_cmpint(g_mkdir_with_parents(base, 0700), ==, 0);
	f->dir = g_mkdtemp(g_steal_pointer(&tmpl));
	g_assert_nonnull(f->dir);
	g_assert_cmpstr(g_get_user_state_dir(), ==, test_state_home);
	f->path = g_build_filename(f->dir, "a", "b", "state.db", NULL);
	f->st = open_ok(f->path);
}

static inline void
fixture_teardown(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_clear_pointer(&f->st, mh_state_close);
	rm_rf(f->dir);
	g_clear_pointer(&f->dir, g_free);
	g_clear_pointer(&f->path, g_free);
}

static inline int64_t
folder_put_ok(struct mh_state *st, const char *src_name, uint32_t uidnext)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dst_name = g_strconcat("dst/", src_name, NULL);
	struct mh_state_folder folder = {
		.src_name = (char *)src_name,
		.dst_name = dst_name,
		.src_uidvalidity = 7,
		.dst_uidvalidity = 9,
		.src_uidnext = uidnext,
	};

	g_assert_true(mh_state_folder_put(st, &folder, &error));
	g_assert_no_error(error);
	g_assert_cmpint(folder.id, >, 0);
	return folder.id;
}

static inline void
msg_put_ok(struct mh_state *st, int64_t folder_id, uint32_t src_uid, const char *flags)
{
	g_autoptr(GError) error = NULL;
	char fingerprint[32];
	struct mh_state_msg m = {
		.src_uid = src_uid,
		.dst_uid = src_uid + 1000,
		.flags = (char *)flags,
		.fingerprint = fingerprint,
		.size = 100 + src_uid,
	};

	g_snprintf(fingerprint, sizeof(fingerprint), "fp%08x", src_uid);
	g_assert_true(mh_state_msg_put(st, folder_id, &m, &error));
	g_assert_no_error(error);
}

static inline GHashTable *
load_ok(struct mh_state *st, int64_t folder_id)
{
	g_autoptr(GError) error = NULL;
	GHashTable *msgs = mh_state_msgs_load(st, folder_id, &error);

	g_assert_no_error(error);
	g_assert_nonnull(msgs);
	return msgs;
}

static inline guint
count_msgs(struct mh_state *st, int64_t folder_id)
{
	g_autoptr(GHashTable) msgs = load_ok(st, folder_id);

	return g_hash_table_size(msgs);
}

static inline void
begin_ok(struct mh_state *st)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(mh_state_begin(st, &error));
	g_assert_no_error(error);
}

static inline void
commit_ok(struct mh_state *st)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(mh_state_commit(st, &error));
	g_assert_no_error(error);
}

/* Returns the folder's id, or 0 when it has no row. */
static inline int64_t
folder_id_of(struct mh_state *st, const char *src_name)
{
	g_autoptr(GError) error = NULL;
	g_auto(mh_state_folder) folder = {0};
	int ret = mh_state_folder_get(st, src_name, &folder, &error);

	g_assert_no_error(error);
	g_assert_cmpint(ret, >=, 0);
	return ret == 1 ? folder.id : 0;
}

#endif
