/* SPDX-License-Identifier: MIT */
/* A keyring held in process memory, for unit tests of the layers above: a hash
 * table of keys to mh_secret buffers, wiped when replaced, cleared or freed. */
#include "keyring-private.h"

#include "mh-secret.h"

struct keyring_memory {
	struct mh_keyring kr; /* first: the public part */
	GHashTable *secrets;  /* owned: key (g_free) -> secret (mh_secret_free) */
	bool unavailable;     /* fail every call, for callers' error paths */
};

static bool
keyring_memory_check(const struct keyring_memory *km, GError **error)
{
	if (!km->unavailable)
		return true;
	g_set_error(error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_UNAVAILABLE,
	            "memory keyring: made unavailable for a test");
	return false;
}

static bool
keyring_memory_store(struct mh_keyring *kr, const char *key, const char *secret, GError **error)
{
	struct keyring_memory *km = (struct keyring_memory *)kr;

	if (!keyring_memory_check(km, error))
		return false;
	/* Replacing frees, and so wipes, the previous secret. */
	g_hash_table_replace(km->secrets, g_strdup(key), mh_secret_strdup(secret));
	return true;
}

static int
keyring_memory_lookup(struct mh_keyring *kr, const char *key, char **secret_r, GError **error)
{
	struct keyring_memory *km = (struct keyring_memory *)kr;
	const char *secret;

	if (!keyring_memory_check(km, error))
		return -1;
	secret = g_hash_table_lookup(km->secrets, key);
	if (secret == NULL)
		return 0;
	*secret_r = mh_secret_strdup(secret);
	return 1;
}

static int
keyring_memory_clear(struct mh_keyring *kr, const char *key, GError **error)
{
	struct keyring_memory *km = (struct keyring_memory *)kr;

	if (!keyring_memory_check(km, error))
		return -1;
	return g_hash_table_remove(km->secrets, key) ? 1 : 0;
}

static bool
keyring_memory_list(struct mh_keyring *kr, GPtrArray *keys, GError **error)
{
	struct keyring_memory *km = (struct keyring_memory *)kr;
	GHashTableIter iter;
	gpointer key;

	if (!keyring_memory_check(km, error))
		return false;
	g_hash_table_iter_init(&iter, km->secrets);
	while (g_hash_table_iter_next(&iter, &key, NULL))
		g_ptr_array_add(keys, g_strdup(key));
	return true;
}

static void
keyring_memory_close(struct mh_keyring *kr)
{
	struct keyring_memory *km = (struct keyring_memory *)kr;

	g_hash_table_destroy(km->secrets);
	g_free(km);
}

static const struct mh_keyring_ops keyring_memory_ops = {
	.name = "memory",
	.store = keyring_memory_store,
	.lookup = keyring_memory_lookup,
	.clear = keyring_memory_clear,
	.list = keyring_memory_list,
	.close = keyring_memory_close,
};

struct mh_keyring *
mh_keyring_memory_new(void)
{
	struct keyring_memory *km = g_new0(struct keyring_memory, 1);

	km->kr.ops = &keyring_memory_ops;
	km->secrets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, mh_secret_free);
	return &km->kr;
}

void
mh_keyring_memory_set_unavailable(struct mh_keyring *kr, bool unavailable)
{
	g_return_if_fail(kr != NULL && kr->ops == &keyring_memory_ops);

	((struct keyring_memory *)kr)->unavailable = unavailable;
}
