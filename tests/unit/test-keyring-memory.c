/* SPDX-License-Identifier: MIT */
/* The keyring interface over its memory back end: the conformance cases
 * (keyring-conformance.c), and the unavailable switch that upper layers' tests rely on. */
#include "keyring-conformance.h"
#include "keyring.h"

#include <glib.h>

static struct mh_keyring *
memory_open(void *ctx)
{
	(void)ctx;
	return mh_keyring_memory_new();
}

static void
memory_close(struct mh_keyring *kr, void *ctx)
{
	(void)ctx;
	mh_keyring_free(kr);
}

static const struct keyring_backend memory_backend = {
	.path = "memory",
	.name = "memory",
	.many = 300,
	.open = memory_open,
	.close = memory_close,
};

static void
test_unavailable(void)
{
	g_autoptr(mh_keyring) kr = mh_keyring_memory_new();
	g_autoptr(GError) e1 = NULL;
	g_autoptr(GError) e2 = NULL;
	g_autoptr(GError) e3 = NULL;
	g_autoptr(GError) e4 = NULL;
	GPtrArray sentinel = {0};
	GPtrArray *keys = &sentinel;
	char *secret = (char *)"junk";

	keyring_store_ok(kr, "k", "s");
	mh_keyring_memory_set_unavailable(kr, true);
	g_assert_false(mh_keyring_store(kr, "k", "other", &e1));
	g_assert_error(e1, MH_KEYRING_ERROR, MH_KEYRING_ERROR_UNAVAILABLE);
	g_assert_cmpint(mh_keyring_lookup(kr, "k", &secret, &e2), ==, -1);
	g_assert_error(e2, MH_KEYRING_ERROR, MH_KEYRING_ERROR_UNAVAILABLE);
	g_assert_null(secret);
	g_assert_cmpint(mh_keyring_clear(kr, "k", &e3), ==, -1);
	g_assert_error(e3, MH_KEYRING_ERROR, MH_KEYRING_ERROR_UNAVAILABLE);
	g_assert_false(mh_keyring_list(kr, &keys, &e4));
	g_assert_error(e4, MH_KEYRING_ERROR, MH_KEYRING_ERROR_UNAVAILABLE);
	g_assert_null(keys);

	mh_keyring_memory_set_unavailable(kr, false);
	keyring_assert_lookup(kr, "k", "s");
}

static void
test_free(void)
{
	g_autoptr(mh_keyring) kr = mh_keyring_memory_new();

	keyring_store_ok(kr, "a", "secret one");
	keyring_store_ok(kr, "b", "secret two");
	mh_keyring_free(NULL);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	keyring_conformance_add(&memory_backend);
	g_test_add_func("/keyring/memory/unavailable", test_unavailable);
	g_test_add_func("/keyring/memory/free", test_free);
	return g_test_run();
}
