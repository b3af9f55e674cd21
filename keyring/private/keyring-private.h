/* SPDX-License-Identifier: MIT */
/* The back end interface behind struct mh_keyring. Only the .c files in keyring/
 * include this header. A back end embeds struct mh_keyring as the first member of
 * its own struct. */
#ifndef MH_KEYRING_PRIVATE_H
#define MH_KEYRING_PRIVATE_H

#include "keyring.h"

/* keyring.c checks arguments and keys before calling these, so back ends see only
 * valid keys and non-NULL pointers, and fill @error on every failure. */
struct mh_keyring_ops {
	const char *name; /* for messages: "memory", "secret-service", "file" */
	bool (*store)(struct mh_keyring *kr, const char *key, const char *secret, GError **error);
	/* *secret_r: a new mh_secret buffer, set only when returning 1 */
	int (*lookup)(struct mh_keyring *kr, const char *key, char **secret_r, GError **error);
	int (*clear)(struct mh_keyring *kr, const char *key, GError **error);
	/* appends g_strdup()ed keys to @keys, in any order */
	bool (*list)(struct mh_keyring *kr, GPtrArray *keys, GError **error);
	/* releases the back end, wipes what it holds and frees @kr itself */
	void (*close)(struct mh_keyring *kr);
};

struct mh_keyring {
	const struct mh_keyring_ops *ops; /* borrowed: static */
};

#endif
