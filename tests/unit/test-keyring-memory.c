/* SPDX-License-Identifier: MIT */
/* The keyring interface over its memory back end: every verb, replace, not found,
 * key checks, and the unavailable switch that upper layers' tests rely on. */
#include "keyring.h"
#include "mh-secret.h"

#include <glib.h>
#include <string.h>

struct fixture {
	struct mh_keyring *kr;
};

static void
fixture_setup(struct fixture *f, gconstpointer data)
{
	(void)data;
	f->kr = mh_keyring_memory_new();
	g_assert_nonnull(f->kr);
}

static void
fixture_teardown(struct fixture *f, gconstpointer data)
{
	(void)data;
	g_clear_pointer(&f->kr, mh_keyring_free);
}

static void
store_ok(struct mh_keyring *kr, const char *key, const char *secret)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(mh_keyring_store(kr, key, secret, &error));
	g_assert_no_error(error);
}

static void
assert_lookup(struct mh_keyring *kr, const char *key, const char *expected)
{
	g_autoptr(GError) error = NULL;
	char *secret = (char *)"junk";
	int ret = mh_keyring_lookup(kr, key, &secret, &error);

	g_assert_no_error(error);
	if (expected == NULL) {
		g_assert_cmpint(ret, ==, 0);
		g_assert_null(secret);
		return;
	}
	g_assert_cmpint(ret, ==, 1);
	g_assert_cmpstr(secret, ==, expected);
	g_assert_cmpuint(mh_secret_len(secret), ==, strlen(expected));
	mh_secret_free(secret);
}

static GPtrArray *
list_ok(struct mh_keyring *kr)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *keys = NULL;

	g_assert_true(mh_keyring_list(kr, &keys, &error));
	g_assert_no_error(error);
	g_assert_nonnull(keys);
	return keys;
}

static void
test_store_lookup(struct fixture *f, gconstpointer data)
{
	(void)data;
	store_ok(f->kr, "oauth2:gmail:alice@example.com", "1//refresh-token");
	store_ok(f->kr, "password:imap.example.com:bob", "hunter2");
	assert_lookup(f->kr, "oauth2:gmail:alice@example.com", "1//refresh-token");
	assert_lookup(f->kr, "password:imap.example.com:bob", "hunter2");
}

static void
test_lookup_not_found(struct fixture *f, gconstpointer data)
{
	(void)data;
	assert_lookup(f->kr, "oauth2:gmail:alice@example.com", NULL);
	store_ok(f->kr, "oauth2:gmail:alice@example.com", "t");
	/* Keys are compared exactly: no case folding, no prefixes. */
	assert_lookup(f->kr, "OAUTH2:gmail:alice@example.com", NULL);
	assert_lookup(f->kr, "oauth2:gmail:alice@example.co", NULL);
	assert_lookup(f->kr, "oauth2:gmail:alice@example.com ", NULL);
}

static void
test_replace(struct fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) keys = NULL;

	(void)data;
	store_ok(f->kr, "k", "old secret");
	store_ok(f->kr, "k", "new");
	assert_lookup(f->kr, "k", "new");
	keys = list_ok(f->kr);
	g_assert_cmpuint(keys->len, ==, 1);
}

static void
test_clear(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	(void)data;
	store_ok(f->kr, "a", "1");
	store_ok(f->kr, "b", "2");
	g_assert_cmpint(mh_keyring_clear(f->kr, "a", &error), ==, 1);
	g_assert_no_error(error);
	assert_lookup(f->kr, "a", NULL);
	assert_lookup(f->kr, "b", "2");
	g_assert_cmpint(mh_keyring_clear(f->kr, "a", &error), ==, 0);
	g_assert_no_error(error);
}

static void
test_clear_not_found(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	(void)data;
	g_assert_cmpint(mh_keyring_clear(f->kr, "never-stored", &error), ==, 0);
	g_assert_no_error(error);
}

static void
test_list(struct fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) empty = NULL;
	g_autoptr(GPtrArray) keys = NULL;

	(void)data;
	empty = list_ok(f->kr);
	g_assert_cmpuint(empty->len, ==, 0);
	store_ok(f->kr, "oauth2:outlook:carol@example.org", "secret-c");
	store_ok(f->kr, "oauth2:gmail:alice@example.com", "secret-a");
	store_ok(f->kr, "password:imap.example.com:bob", "secret-b");
	keys = list_ok(f->kr);
	g_assert_cmpuint(keys->len, ==, 3);
	/* Sorted, keys only: no secret appears. */
	g_assert_cmpstr(keys->pdata[0], ==, "oauth2:gmail:alice@example.com");
	g_assert_cmpstr(keys->pdata[1], ==, "oauth2:outlook:carol@example.org");
	g_assert_cmpstr(keys->pdata[2], ==, "password:imap.example.com:bob");
}

static void
test_list_sorted(struct fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) keys = NULL;

	(void)data;
	for (int i = 20; i > 0; i--) {
		g_autofree char *key = g_strdup_printf("key-%02d", i * 7 % 23);

		store_ok(f->kr, key, "s");
	}
	keys = list_ok(f->kr);
	g_assert_cmpuint(keys->len, ==, 20);
	for (guint i = 1; i < keys->len; i++)
		g_assert_cmpstr(keys->pdata[i - 1], <, keys->pdata[i]);
}

static void
test_copies(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	char key[] = "key";
	char secret[] = "secret";
	char *got = NULL;

	(void)data;
	store_ok(f->kr, key, secret);
	memset(secret, 'X', strlen(secret));
	assert_lookup(f->kr, "key", "secret");
	g_assert_cmpint(mh_keyring_lookup(f->kr, "key", &got, &error), ==, 1);
	got[0] = 'Z';
	mh_secret_free(got);
	assert_lookup(f->kr, "key", "secret");
	key[0] = 'X';
	assert_lookup(f->kr, "key", "secret");
}

static void
test_empty_secret(struct fixture *f, gconstpointer data)
{
	(void)data;
	store_ok(f->kr, "k", "");
	assert_lookup(f->kr, "k", "");
}

static void
assert_key_refused(struct mh_keyring *kr, const char *key)
{
	g_autoptr(GError) e1 = NULL;
	g_autoptr(GError) e2 = NULL;
	g_autoptr(GError) e3 = NULL;
	char *secret = (char *)"junk";

	g_assert_false(mh_keyring_key_valid(key));
	g_assert_false(mh_keyring_store(kr, key, "s", &e1));
	g_assert_error(e1, MH_KEYRING_ERROR, MH_KEYRING_ERROR_USAGE);
	g_assert_cmpint(mh_keyring_lookup(kr, key, &secret, &e2), ==, -1);
	g_assert_error(e2, MH_KEYRING_ERROR, MH_KEYRING_ERROR_USAGE);
	g_assert_null(secret);
	g_assert_cmpint(mh_keyring_clear(kr, key, &e3), ==, -1);
	g_assert_error(e3, MH_KEYRING_ERROR, MH_KEYRING_ERROR_USAGE);
}

static void
test_invalid_keys(struct fixture *f, gconstpointer data)
{
	g_autofree char *longest = g_strnfill(MH_KEYRING_KEY_MAX, 'k');
	g_autofree char *too_long = g_strnfill(MH_KEYRING_KEY_MAX + 1, 'k');
	g_autoptr(GPtrArray) keys = NULL;

	(void)data;
	assert_key_refused(f->kr, "");
	assert_key_refused(f->kr, "a\tb");
	assert_key_refused(f->kr, "a\nb");
	assert_key_refused(f->kr, "a\x7f");
	assert_key_refused(f->kr, "caf\xe9");
	assert_key_refused(f->kr, too_long);
	keys = list_ok(f->kr);
	g_assert_cmpuint(keys->len, ==, 0);

	store_ok(f->kr, longest, "s");
	store_ok(f->kr, "oauth2:gmail:jürgen@example.de", "s");
	store_ok(f->kr, "with space", "s");
}

static void
test_unavailable(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) e1 = NULL;
	g_autoptr(GError) e2 = NULL;
	g_autoptr(GError) e3 = NULL;
	g_autoptr(GError) e4 = NULL;
	GPtrArray sentinel = {0};
	GPtrArray *keys = &sentinel;
	char *secret = (char *)"junk";

	(void)data;
	store_ok(f->kr, "k", "s");
	mh_keyring_memory_set_unavailable(f->kr, true);
	g_assert_false(mh_keyring_store(f->kr, "k", "other", &e1));
	g_assert_error(e1, MH_KEYRING_ERROR, MH_KEYRING_ERROR_UNAVAILABLE);
	g_assert_cmpint(mh_keyring_lookup(f->kr, "k", &secret, &e2), ==, -1);
	g_assert_error(e2, MH_KEYRING_ERROR, MH_KEYRING_ERROR_UNAVAILABLE);
	g_assert_null(secret);
	g_assert_cmpint(mh_keyring_clear(f->kr, "k", &e3), ==, -1);
	g_assert_error(e3, MH_KEYRING_ERROR, MH_KEYRING_ERROR_UNAVAILABLE);
	g_assert_false(mh_keyring_list(f->kr, &keys, &e4));
	g_assert_error(e4, MH_KEYRING_ERROR, MH_KEYRING_ERROR_UNAVAILABLE);
	g_assert_null(keys);

	mh_keyring_memory_set_unavailable(f->kr, false);
	assert_lookup(f->kr, "k", "s");
}

static void
test_name(struct fixture *f, gconstpointer data)
{
	(void)data;
	g_assert_cmpstr(mh_keyring_name(f->kr), ==, "memory");
}

static void
test_free(void)
{
	g_autoptr(mh_keyring) kr = mh_keyring_memory_new();

	store_ok(kr, "a", "secret one");
	store_ok(kr, "b", "secret two");
	mh_keyring_free(NULL);
}

#define ADD(path, fn) g_test_add(path, struct fixture, NULL, fixture_setup, fn, fixture_teardown)

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ADD("/keyring/memory/store-lookup", test_store_lookup);
	ADD("/keyring/memory/lookup-not-found", test_lookup_not_found);
	ADD("/keyring/memory/replace", test_replace);
	ADD("/keyring/memory/clear", test_clear);
	ADD("/keyring/memory/clear-not-found", test_clear_not_found);
	ADD("/keyring/memory/list", test_list);
	ADD("/keyring/memory/list-sorted", test_list_sorted);
	ADD("/keyring/memory/copies", test_copies);
	ADD("/keyring/memory/empty-secret", test_empty_secret);
	ADD("/keyring/memory/invalid-keys", test_invalid_keys);
	ADD("/keyring/memory/unavailable", test_unavailable);
	ADD("/keyring/memory/name", test_name);
	g_test_add_func("/keyring/memory/free", test_free);
	return g_test_run();
}
