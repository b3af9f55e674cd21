/* SPDX-License-Identifier: MIT */
/* The compact forms of a big folder's pass: the UID map in sorted arrays (records put in
 * order and out of order, past the merge threshold too, replaced, found, dropped, and read
 * from a state file for a few UIDs), sorted UID sets, and listed messages' dates packed,
 * which must read back exactly as sent. */
#include "sync-private.h"

#include <glib.h>
#include <glib/gstdio.h>

#include "sync-state.h"

static void
put(struct sync_map *map, uint32_t src_uid, uint32_t dst_uid)
{
	struct sync_rec r = {.src_uid = src_uid, .dst_uid = dst_uid, .size = src_uid * 10u};

	sync_map_put(map, &r);
}

/* Every record comes back once, sorted, whatever the order of the puts. */
static void
check_sorted(struct sync_map *map, guint want)
{
	const GArray *all = sync_map_all(map);

	g_assert_cmpuint(all->len, ==, want);
	g_assert_cmpuint(sync_map_size(map), ==, want);
	for (guint i = 1; i < all->len; i++)
		g_assert_cmpuint(g_array_index(all, struct sync_rec, i - 1).src_uid, <,
		                 g_array_index(all, struct sync_rec, i).src_uid);
}

static void
test_put_find(void)
{
	struct sync_map *map = sync_map_new();
	g_autoptr(GArray) gone = g_array_new(false, false, sizeof(guint32));
	struct sync_rec *r;

	for (uint32_t uid = 2; uid <= 6000; uid += 2)
		put(map, uid, uid + 100000);
	/* Out of order: odd UIDs, more than wait unmerged, and some replaced. */
	for (int uid = 4999; uid >= 1; uid -= 2)
		put(map, (uint32_t)uid, (uint32_t)uid + 200000);
	put(map, 10, 7);
	put(map, 11, 8);
	g_assert_cmpuint(sync_map_size(map), ==, 5500);
	r = sync_map_find(map, 10);
	g_assert_nonnull(r);
	g_assert_cmpuint(r->dst_uid, ==, 7);
	g_assert_cmpuint(sync_map_find(map, 11)->dst_uid, ==, 8);
	g_assert_cmpuint(sync_map_find(map, 4999)->dst_uid, ==, 204999);
	g_assert_cmpuint(sync_map_find(map, 6000)->size, ==, 60000);
	g_assert_null(sync_map_find(map, 5001));
	g_assert_null(sync_map_find(map, 0));
	check_sorted(map, 5500);

	for (guint32 uid = 1; uid <= 100; uid++)
		g_array_append_val(gone, uid);
	sync_map_drop(map, gone);
	g_assert_null(sync_map_find(map, 10));
	g_assert_nonnull(sync_map_find(map, 101));
	check_sorted(map, 5400);
	sync_map_free(map);
}

static void
test_uids(void)
{
	g_autoptr(GArray) uids = g_array_new(false, false, sizeof(guint32));
	const guint32 in[] = {9, 3, 3, 7, 1, 9};

	g_array_append_vals(uids, in, G_N_ELEMENTS(in));
	sync_uids_sort(uids);
	g_assert_cmpuint(uids->len, ==, 4);
	g_assert_cmpuint(g_array_index(uids, guint32, 0), ==, 1);
	g_assert_cmpuint(g_array_index(uids, guint32, 3), ==, 9);
	g_assert_true(sync_uids_has(uids, 7));
	g_assert_false(sync_uids_has(uids, 8));
	g_assert_false(sync_uids_has(uids, 0));
	g_assert_false(sync_uids_has(uids, 10));
}

static void
test_msg_date(void)
{
	const char *const dates[] = {
		"07-Jul-2020 10:00:00 +0200",
		" 7-Jul-2020 10:00:00 -0000",
		"7-Jul-2020 23:59:60 -1230",
		"31-Dec-9999 00:00:00 +9959",
		"07-jul-2020 10:00:00 +0200",
		"Tue, 7 Jul 2020 10:00:00 +0200",
		"07-Jul-2020 10:00:00 +0200 ",
		"07-Jul-2020 10:00:00 +02",
		"",
	};

	for (guint i = 0; i < G_N_ELEMENTS(dates); i++) {
		char buf[SYNC_DATE_LEN];
		struct sync_msg *m = sync_msg_new(1, 2, "\\Seen", dates[i], NULL);

		g_assert_cmpstr(sync_msg_date(m, buf), ==, dates[i]);
		g_assert_cmpuint(m->date_kind, ==, i < 4 ? SYNC_DATE_PACKED : SYNC_DATE_TEXT);
		sync_msg_free(m);
	}
	{
		char buf[SYNC_DATE_LEN];
		struct sync_msg *m = sync_msg_new(1, 2, NULL, NULL, NULL);

		g_assert_null(sync_msg_date(m, buf));
		g_assert_null(sync_msg_flags(m));
		sync_msg_free(m);
	}
}

/* Big sets take another sort: the same result. */
static void
test_uids_big(void)
{
	g_autoptr(GArray) uids = g_array_new(false, false, sizeof(guint32));
	GRand *r = g_rand_new_with_seed(7);

	for (guint i = 0; i < 50000; i++) {
		guint32 uid = g_rand_int(r) % 3 == 0 ? g_rand_int(r)
		                                     : (guint32)g_rand_int_range(r, 1, 70000);

		g_array_append_val(uids, uid);
	}
	g_rand_free(r);
	sync_uids_sort(uids);
	g_assert_cmpuint(uids->len, >, 30000);
	for (guint i = 1; i < uids->len; i++)
		g_assert_cmpuint(g_array_index(uids, guint32, i - 1), <,
		                 g_array_index(uids, guint32, i));
	g_assert_true(sync_uids_has(uids, g_array_index(uids, guint32, 12345)));
}

/* Lookups from a cursor answer as plain ones, whatever order they come in. */
static void
test_lookup_at(void)
{
	g_autoptr(GArray) uids = g_array_new(false, false, sizeof(guint32));
	g_autoptr(GPtrArray) msgs = g_ptr_array_new_with_free_func((GDestroyNotify)sync_msg_free);
	struct sync_map *map = sync_map_new();
	GRand *r = g_rand_new_with_seed(11);
	guint at = 0, mat = 0, rat = 0;

	for (guint32 uid = 3; uid < 30000; uid += 1 + uid % 7) {
		g_array_append_val(uids, uid);
		g_ptr_array_add(msgs, sync_msg_new(uid, 1, NULL, NULL, NULL));
		put(map, uid, uid);
	}
	for (guint i = 0; i < 60000; i++) {
		/* Mostly ascending, now and then anywhere. */
		guint32 q = i % 97 == 0 ? (guint32)g_rand_int_range(r, 0, 31000) : i / 2;
		bool want = sync_uids_has(uids, q);

		g_assert_cmpint(sync_uids_has_at(uids, q, &at), ==, want);
		g_assert_cmpint(sync_msgs_find_at(msgs, q, &mat) != NULL, ==, want);
		g_assert_cmpint(sync_map_find_at(map, q, &rat) != NULL, ==, want);
	}
	g_rand_free(r);
	sync_map_free(map);
}

/* The UIDs a set written by mh_store_uidset_runs() names, appended to @out. */
static void
uidset_expand(const char *set, GArray *out)
{
	g_auto(GStrv) runs = g_strsplit(set, ",", -1);

	for (size_t i = 0; runs[i] != NULL; i++) {
		char *colon = strchr(runs[i], ':');
		guint32 lo = (guint32)g_ascii_strtoull(runs[i], NULL, 10);
		guint32 hi = colon != NULL ? (guint32)g_ascii_strtoull(colon + 1, NULL, 10) : lo;

		for (guint32 u = lo; u <= hi; u++)
			g_array_append_val(out, u);
	}
}

/* Sets bounded by runs, UIDs and bytes, which together name every UID once, in order. */
static void
test_uidset_bounds(void)
{
	g_autoptr(GArray) uids = g_array_new(false, false, sizeof(guint32));
	g_autoptr(GArray) back = g_array_new(false, false, sizeof(guint32));
	static const guint32 few[] = {1, 2, 3, 4, 5, 7, 9, 10};
	g_autofree char *set = NULL;
	guint next = 0, sets = 0;

	g_array_append_vals(uids, few, G_N_ELEMENTS(few));
	set = mh_store_uidset_runs(uids, 0, 1000, 50000, &next);
	g_assert_cmpstr(set, ==, "1:5,7,9:10");
	g_assert_cmpuint(next, ==, G_N_ELEMENTS(few));
	g_clear_pointer(&set, g_free);
	set = mh_store_uidset_runs(uids, 0, 2, 50000, &next);
	g_assert_cmpstr(set, ==, "1:5,7");
	g_assert_cmpuint(next, ==, 6);
	g_clear_pointer(&set, g_free);
	set = mh_store_uidset_runs(uids, 0, 1000, 3, &next);
	g_assert_cmpstr(set, ==, "1:3");
	g_assert_cmpuint(next, ==, 3);
	/* Scattered pairs of 7-digit UIDs: 1,000 runs would take 16 KB. */
	g_array_set_size(uids, 0);
	for (guint32 u = 1000000; u < 1000000 + 4 * 3000; u += 4) {
		guint32 v = u + 1;

		g_array_append_val(uids, u);
		g_array_append_val(uids, v);
	}
	next = 0;
	while (next < uids->len) {
		guint from = next;

		g_clear_pointer(&set, g_free);
		set = mh_store_uidset_runs(uids, from, 1000, 50000, &next);
		g_assert_cmpuint(strlen(set), <=, MH_STORE_UIDSET_BYTES);
		g_assert_cmpuint(next, >, from);
		uidset_expand(set, back);
		sets++;
		/* Cut by bytes (16 per run), before 1,000 runs (2,000 UIDs). */
		if (next < uids->len) {
			g_assert_cmpuint(strlen(set), >, MH_STORE_UIDSET_BYTES - 20);
			g_assert_cmpuint(next - from, ==, 1000);
		}
	}
	g_assert_cmpuint(sets, ==, 6);
	g_assert_cmpuint(back->len, ==, uids->len);
	g_assert_cmpmem(back->data, back->len * sizeof(guint32), uids->data,
	                uids->len * sizeof(guint32));
}

/* The records of a few UIDs, read one by one from a state file: those found are added
 * (the map's own replaced), and the answer says whether every one was there. */
static void
test_load_uids(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("mh-test-map-XXXXXX", &error);
	g_autofree char *path = NULL;
	g_autoptr(GArray) uids = g_array_new(false, false, sizeof(guint32));
	struct mh_state_folder sf = {.src_name = (char *)"INBOX"};
	struct mh_state *st;
	struct sync_map *map = sync_map_new();
	const guint32 want[] = {3, 40};
	struct sync_rec *r;

	g_assert_no_error(error);
	path = g_build_filename(dir, "state.sqlite", NULL);
	st = mh_state_open(path, &error);
	g_assert_no_error(error);
	g_assert_true(mh_state_folder_put(st, &sf, &error));
	for (guint32 uid = 1; uid <= 50; uid++) {
		struct mh_state_msg m = {.src_uid = uid,
		                         .dst_uid = uid + 500,
		                         .flags = (char *)"\\Seen",
		                         .size = uid};

		g_assert_true(mh_state_msg_put(st, sf.id, &m, &error));
	}
	put(map, 40, 1); /* replaced by the state's record */
	g_array_append_vals(uids, want, G_N_ELEMENTS(want));
	g_assert_cmpint(sync_map_load_uids(map, st, sf.id, uids, &error), ==, 1);
	g_assert_no_error(error);
	check_sorted(map, 2);
	r = sync_map_find(map, 40);
	g_assert_nonnull(r);
	g_assert_cmpuint(r->dst_uid, ==, 540);
	g_assert_cmpstr(r->flags, ==, "\\Seen");
	g_assert_null(sync_map_find(map, 4));
	g_array_append_val(uids, (guint32){77});
	g_assert_cmpint(sync_map_load_uids(map, st, sf.id, uids, &error), ==, 0);
	g_assert_no_error(error);
	check_sorted(map, 2);
	sync_map_free(map);
	mh_state_close(st);
	g_unlink(path);
	{
		g_autofree char *wal = g_strconcat(path, "-wal", NULL);
		g_autofree char *shm = g_strconcat(path, "-shm", NULL);

		g_unlink(wal);
		g_unlink(shm);
	}
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sync/map/put-find", test_put_find);
	g_test_add_func("/sync/map/uids", test_uids);
	g_test_add_func("/sync/map/uids-big", test_uids_big);
	g_test_add_func("/sync/map/lookup-at", test_lookup_at);
	g_test_add_func("/sync/msg/date", test_msg_date);
	g_test_add_func("/sync/uidset/bounds", test_uidset_bounds);
	g_test_add_func("/sync/map/load-uids", test_load_uids);
	return g_test_run();
}
