/* SPDX-License-Identifier: MIT */
/* The keyring conformance cases: every verb, not found, exact keys, replace, odd secrets,
 * sorted lists of keys without secrets, copies in and out, key checks, distinct keys that
 * look alike, and many keys. Each case starts from an empty keyring of the back end. */
#include "keyring-conformance.h"

#include <string.h>

#include "mh-secret.h"

struct fixture {
	const struct keyring_backend *b; /* borrowed */
	struct mh_keyring *kr;           /* from b->open() */
};

static void
fixture_setup(struct fixture *f, gconstpointer data)
{
	f->b = data;
	f->kr = f->b->open(f->b->ctx);
	g_assert_nonnull(f->kr);
}

static void
fixture_teardown(struct fixture *f, gconstpointer data)
{
	(void)data;
	f->b->close(f->kr, f->b->ctx);
	f->kr = NULL;
}

void
keyring_store_ok(struct mh_keyring *kr, const char *key, const char *secret)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(mh_keyring_store(kr, key, secret, &error));
	g_assert_no_error(error);
}

void
keyring_assert_lookup(struct mh_keyring *kr, const char *key, const char *expected)
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

void
keyring_clear_ok(struct mh_keyring *kr, const char *key, int expected)
{
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(mh_keyring_clear(kr, key, &error), ==, expected);
	g_assert_no_error(error);
}

GPtrArray *
keyring_list_ok(struct mh_keyring *kr)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *keys = NULL;

	g_assert_true(mh_keyring_list(kr, &keys, &error));
	g_assert_no_error(error);
	g_assert_nonnull(keys);
	return keys;
}

void
keyring_round_trip(struct mh_keyring *kr, const struct keyring_entry *entries)
{
	for (const struct keyring_entry *e = entries; e->key != NULL; e++)
		keyring_store_ok(kr, e->key, e->secret);
	for (const struct keyring_entry *e = entries; e->key != NULL; e++)
		keyring_assert_lookup(kr, e->key, e->secret);
}

static void
test_store_lookup(struct fixture *f, gconstpointer data)
{
	static const struct keyring_entry entries[] = {
		{"oauth2:gmail:alice@example.com", "1//refresh-token"},
		{"password:imap.example.com:bob", "hunter2 with spaces"},
		{NULL, NULL},
	};

	(void)data;
	keyring_round_trip(f->kr, entries);
	keyring_assert_lookup(f->kr, "oauth2:gmail:nobody@example.com", NULL);
	/* Keys are compared exactly: no case folding, no prefixes. */
	keyring_assert_lookup(f->kr, "OAUTH2:gmail:alice@example.com", NULL);
	keyring_assert_lookup(f->kr, "oauth2:gmail:alice@example.co", NULL);
	keyring_assert_lookup(f->kr, "oauth2:gmail:alice@example.com ", NULL);
	g_assert_cmpstr(mh_keyring_name(f->kr), ==, f->b->name);
}

static void
test_odd_secrets(struct fixture *f, gconstpointer data)
{
	static const struct keyring_entry entries[] = {
		{"odd:empty", ""},
		{"odd:lines", "line one\nline two\n\n"},
		{"odd:utf8", "pässwörd ✓"},
		{NULL, NULL},
	};

	(void)data;
	keyring_round_trip(f->kr, entries);
}

static void
test_replace(struct fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) keys = NULL;

	(void)data;
	keyring_store_ok(f->kr, "oauth2:gmail:alice@example.com", "a much longer old secret");
	keyring_store_ok(f->kr, "oauth2:gmail:alice@example.com", "new");
	keyring_assert_lookup(f->kr, "oauth2:gmail:alice@example.com", "new");
	keys = keyring_list_ok(f->kr);
	g_assert_cmpuint(keys->len, ==, 1);
}

static void
test_clear(struct fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) keys = NULL;

	(void)data;
	keyring_store_ok(f->kr, "a:1", "one");
	keyring_store_ok(f->kr, "a:2", "two");
	keyring_clear_ok(f->kr, "a:1", 1);
	keyring_assert_lookup(f->kr, "a:1", NULL);
	keyring_assert_lookup(f->kr, "a:2", "two");
	keyring_clear_ok(f->kr, "a:1", 0);
	keyring_clear_ok(f->kr, "never:stored", 0);
	keyring_clear_ok(f->kr, "a:2", 1);
	keys = keyring_list_ok(f->kr);
	g_assert_cmpuint(keys->len, ==, 0);
}

static void
test_list(struct fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) empty = NULL;
	g_autoptr(GPtrArray) keys = NULL;

	(void)data;
	empty = keyring_list_ok(f->kr);
	g_assert_cmpuint(empty->len, ==, 0);
	keyring_store_ok(f->kr, "oauth2:outlook:carol@example.org", "secret-c");
	keyring_store_ok(f->kr, "oauth2:gmail:alice@example.com", "secret-a");
	keyring_store_ok(f->kr, "password:imap.example.com:bob", "secret-b");
	keys = keyring_list_ok(f->kr);
	g_assert_cmpuint(keys->len, ==, 3);
	/* Sorted, keys only: no secret appears. */
	g_assert_cmpstr(keys->pdata[0], ==, "oauth2:gmail:alice@example.com");
	g_assert_cmpstr(keys->pdata[1], ==, "oauth2:outlook:carol@example.org");
	g_assert_cmpstr(keys->pdata[2], ==, "password:imap.example.com:bob");
	for (guint i = 0; i < keys->len; i++)
		g_assert_null(strstr(keys->pdata[i], "secret-"));
}

static void
test_list_sorted(struct fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) keys = NULL;

	(void)data;
	for (int i = 20; i > 0; i--) {
		g_autofree char *key = g_strdup_printf("key-%02d", i * 7 % 23);

		keyring_store_ok(f->kr, key, "s");
	}
	keys = keyring_list_ok(f->kr);
	g_assert_cmpuint(keys->len, ==, 20);
	for (guint i = 1; i < keys->len; i++)
		g_assert_cmpstr(keys->pdata[i - 1], <, keys->pdata[i]);
}

/* The keyring keeps copies of what it is given and hands out copies of what it keeps. */
static void
test_copies(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	char key[] = "key";
	char secret[] = "secret";
	char *got = NULL;

	(void)data;
	keyring_store_ok(f->kr, key, secret);
	memset(secret, 'X', strlen(secret));
	keyring_assert_lookup(f->kr, "key", "secret");
	g_assert_cmpint(mh_keyring_lookup(f->kr, "key", &got, &error), ==, 1);
	got[0] = 'Z';
	mh_secret_free(got);
	keyring_assert_lookup(f->kr, "key", "secret");
	key[0] = 'X';
	keyring_assert_lookup(f->kr, "key", "secret");
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
	keys = keyring_list_ok(f->kr);
	g_assert_cmpuint(keys->len, ==, 0);

	keyring_store_ok(f->kr, longest, "s");
	keyring_store_ok(f->kr, "oauth2:gmail:jürgen@example.de", "s");
	keyring_store_ok(f->kr, "with space", "s");
	keyring_assert_lookup(f->kr, longest, "s");
	keyring_assert_lookup(f->kr, "oauth2:gmail:jürgen@example.de", "s");
}

/* Keys that differ only in punctuation, or late in a long key, stay apart (the file back
 * end's names share their readable part). */
static void
test_distinct_keys(struct fixture *f, gconstpointer data)
{
	static const char *const keys_in[] = {"a:b", "a/b", "a b", "a_b", "../a", ".hidden"};
	g_autoptr(GPtrArray) keys = NULL;
	g_autofree char *long_a = g_strnfill(MH_KEYRING_KEY_MAX, 'a');
	g_autofree char *long_b = g_strnfill(MH_KEYRING_KEY_MAX, 'a');

	(void)data;
	long_b[MH_KEYRING_KEY_MAX - 1] = 'b';
	for (guint i = 0; i < G_N_ELEMENTS(keys_in); i++) {
		g_autofree char *secret = g_strdup_printf("%u", i);

		keyring_store_ok(f->kr, keys_in[i], secret);
	}
	keyring_store_ok(f->kr, long_a, "long a");
	keyring_store_ok(f->kr, long_b, "long b");
	for (guint i = 0; i < G_N_ELEMENTS(keys_in); i++) {
		g_autofree char *secret = g_strdup_printf("%u", i);

		keyring_assert_lookup(f->kr, keys_in[i], secret);
	}
	keyring_assert_lookup(f->kr, long_a, "long a");
	keyring_assert_lookup(f->kr, long_b, "long b");
	keys = keyring_list_ok(f->kr);
	g_assert_cmpuint(keys->len, ==, G_N_ELEMENTS(keys_in) + 2);
}

static char *
many_key(unsigned i)
{
	return g_strdup_printf("oauth2:test:user%03u@example.com", i);
}

static void
test_many_keys(struct fixture *f, gconstpointer data)
{
	const unsigned n = f->b->many;
	g_autoptr(GPtrArray) keys = NULL;

	(void)data;
	for (unsigned i = 0; i < n; i++) {
		g_autofree char *key = many_key(i);
		g_autofree char *secret = g_strdup_printf("secret %u", i);

		keyring_store_ok(f->kr, key, secret);
	}
	keys = keyring_list_ok(f->kr);
	g_assert_cmpuint(keys->len, ==, n);
	for (unsigned i = 0; i < n; i += 7) {
		g_autofree char *key = many_key(i);
		g_autofree char *secret = g_strdup_printf("secret %u", i);

		g_assert_cmpstr(keys->pdata[i], ==, key);
		keyring_assert_lookup(f->kr, key, secret);
	}
	for (unsigned i = 0; i < n; i += 2) {
		g_autofree char *key = many_key(i);

		keyring_clear_ok(f->kr, key, 1);
	}
	g_clear_pointer(&keys, g_ptr_array_unref);
	keys = keyring_list_ok(f->kr);
	g_assert_cmpuint(keys->len, ==, n / 2);
}

typedef void keyring_case_fn(struct fixture *f, gconstpointer data);

void
keyring_conformance_add(const struct keyring_backend *b)
{
	static const struct {
		const char *name;
		keyring_case_fn *fn;
	} cases[] = {
		{"store-lookup", test_store_lookup},
		{"odd-secrets", test_odd_secrets},
		{"replace", test_replace},
		{"clear", test_clear},
		{"list", test_list},
		{"list-sorted", test_list_sorted},
		{"copies", test_copies},
		{"invalid-keys", test_invalid_keys},
		{"distinct-keys", test_distinct_keys},
		{"many-keys", test_many_keys},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *path = g_strdup_printf("/keyring/%s/%s", b->path, cases[i].name);

		g_test_add(path, struct fixture, b, fixture_setup, cases[i].fn, fixture_teardown);
	}
}
