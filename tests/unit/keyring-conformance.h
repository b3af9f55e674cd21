/* SPDX-License-Identifier: MIT */
/* What every keyring back end must do, as one set of g_test cases run against each (memory
 * and file in tests/unit, the Secret Service in tests/integration), plus the assertions
 * their back-end-specific cases share. */
#ifndef MH_TEST_KEYRING_CONFORMANCE_H
#define MH_TEST_KEYRING_CONFORMANCE_H

#include <glib.h>

#include "keyring.h"

/* A back end under test. Borrowed by keyring_conformance_add(): it must outlive
 * g_test_run(). */
struct keyring_backend {
	const char *path; /* the cases are /keyring/PATH/CASE */
	const char *name; /* what mh_keyring_name() says */
	unsigned many;    /* keys the many-keys case stores */
	/* before each case: an empty keyring */
	struct mh_keyring *(*open)(void *ctx);
	/* after each case: frees @kr, or empties it when it is shared */
	void (*close)(struct mh_keyring *kr, void *ctx);
	void *ctx;
};

/* Adds the conformance cases for @b, in a fixed order, to the cases run by g_test_run(). */
void keyring_conformance_add(const struct keyring_backend *b);

/* Stores @secret under @key and asserts it worked. */
void keyring_store_ok(struct mh_keyring *kr, const char *key, const char *secret);

/* Asserts that @key holds @expected, or nothing when @expected is NULL. */
void keyring_assert_lookup(struct mh_keyring *kr, const char *key, const char *expected);

/* Clears @key and asserts the result (1: one was removed, 0: there was none). */
void keyring_clear_ok(struct mh_keyring *kr, const char *key, int expected);

/* Lists the keys and asserts it worked; caller unrefs. */
GPtrArray *keyring_list_ok(struct mh_keyring *kr);

struct keyring_entry {
	const char *key;
	const char *secret;
};

/* Stores every entry of @entries (ended by a NULL key), then asserts each reads back. */
void keyring_round_trip(struct mh_keyring *kr, const struct keyring_entry *entries);

#endif
