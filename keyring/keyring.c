/* SPDX-License-Identifier: MIT */
/* The keyring front: checks arguments and keys once for every back end, then
 * dispatches through struct mh_keyring_ops. */
#include "keyring-private.h"

#include "mh-secret.h"

#include <string.h>

/* Written out: clang-format would put spaces into G_DEFINE_QUARK's hyphenated name. */
GQuark
mh_keyring_error_quark(void)
{
	return g_quark_from_static_string("mh-keyring-error-quark");
}

bool
mh_keyring_key_valid(const char *key)
{
	size_t len;

	if (key == NULL)
		return false;
	len = strlen(key);
	if (len == 0 || len > MH_KEYRING_KEY_MAX || !g_utf8_validate(key, (gssize)len, NULL))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)key[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static bool
keyring_check_key(const char *key, GError **error)
{
	if (mh_keyring_key_valid(key))
		return true;
	if (key == NULL || key[0] == '\0')
		g_set_error(error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_USAGE, "empty keyring key");
	else
		g_set_error(error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_USAGE,
		            "invalid keyring key: longer than %d bytes, not UTF-8, or with "
		            "control characters",
		            MH_KEYRING_KEY_MAX);
	return false;
}

const char *
mh_keyring_name(const struct mh_keyring *kr)
{
	g_return_val_if_fail(kr != NULL, NULL);

	return kr->ops->name;
}

bool
mh_keyring_store(struct mh_keyring *kr, const char *key, const char *secret, GError **error)
{
	g_return_val_if_fail(kr != NULL, false);
	g_return_val_if_fail(secret != NULL, false);
	g_return_val_if_fail(error == NULL || *error == NULL, false);

	if (!keyring_check_key(key, error))
		return false;
	return kr->ops->store(kr, key, secret, error);
}

int
mh_keyring_lookup(struct mh_keyring *kr, const char *key, char **secret_r, GError **error)
{
	int ret;

	g_return_val_if_fail(kr != NULL, -1);
	g_return_val_if_fail(secret_r != NULL, -1);
	g_return_val_if_fail(error == NULL || *error == NULL, -1);

	*secret_r = NULL;
	if (!keyring_check_key(key, error))
		return -1;
	ret = kr->ops->lookup(kr, key, secret_r, error);
	g_assert(ret == 1 ? *secret_r != NULL : *secret_r == NULL);
	return ret;
}

int
mh_keyring_clear(struct mh_keyring *kr, const char *key, GError **error)
{
	g_return_val_if_fail(kr != NULL, -1);
	g_return_val_if_fail(error == NULL || *error == NULL, -1);

	if (!keyring_check_key(key, error))
		return -1;
	return kr->ops->clear(kr, key, error);
}

static gint
keyring_key_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool
mh_keyring_list(struct mh_keyring *kr, GPtrArray **keys_r, GError **error)
{
	GPtrArray *keys;

	g_return_val_if_fail(kr != NULL, false);
	g_return_val_if_fail(keys_r != NULL, false);
	g_return_val_if_fail(error == NULL || *error == NULL, false);

	*keys_r = NULL;
	keys = g_ptr_array_new_with_free_func(g_free);
	if (!kr->ops->list(kr, keys, error)) {
		g_ptr_array_unref(keys);
		return false;
	}
	g_ptr_array_sort(keys, keyring_key_cmp);
	*keys_r = keys;
	return true;
}

void
mh_keyring_free(struct mh_keyring *kr)
{
	if (kr == NULL)
		return;
	kr->ops->close(kr);
}
