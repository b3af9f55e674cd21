/* SPDX-License-Identifier: MIT */
/* Where secrets live: an interface of five verbs (store, lookup, clear, list, free)
 * over back ends (the Secret Service, a 0600 file per key, memory for tests).
 * Keys are opaque strings such as "oauth2:gmail:alice@example.com"; the keyring knows
 * nothing of what a secret is for. Secrets handed out are mh_secret buffers. */
#ifndef MH_KEYRING_H
#define MH_KEYRING_H

#include <glib.h>
#include <stdbool.h>

#define MH_KEYRING_ERROR (mh_keyring_error_quark())
GQuark mh_keyring_error_quark(void);

enum mh_keyring_error_code {
	MH_KEYRING_ERROR_UNAVAILABLE, /* no back end reachable (no D-Bus, no Secret Service) */
	MH_KEYRING_ERROR_LOCKED,      /* the store is locked and unlocking was refused */
	MH_KEYRING_ERROR_IO,          /* reading or writing the store failed */
	MH_KEYRING_ERROR_CORRUPT,     /* the store's contents cannot be read back */
	MH_KEYRING_ERROR_USAGE,       /* an invalid key: empty, too long, control characters */
};

/* The longest key accepted, in bytes. */
#define MH_KEYRING_KEY_MAX 1024

struct mh_keyring;

/* Returns a new keyring that keeps secrets in this process only (for tests), in
 * mh_secret buffers wiped on clear, replace and free. */
struct mh_keyring *mh_keyring_memory_new(void);

/* Makes every later call on memory keyring @kr fail with MH_KEYRING_ERROR_UNAVAILABLE
 * while @unavailable is true, so that callers' error paths can be tested. */
void mh_keyring_memory_set_unavailable(struct mh_keyring *kr, bool unavailable);

/* Returns a new keyring that keeps one 0600 file per key in directory @dir (NULL for
 * $XDG_DATA_HOME/mailhaul/secrets), created 0700 if missing. Returns NULL with
 * MH_KEYRING_ERROR_IO when the directory cannot be created or opened, or when group or
 * others have any access to it. Temporary files left by an interrupted write are
 * ignored, and removed once they are old. */
struct mh_keyring *mh_keyring_file_new(const char *dir, GError **error);

/* Returns a new keyring over the Secret Service (gnome-keyring, KWallet) through
 * libsecret: items of schema "org.mailhaul.Secret" with attributes "key" and "kind"
 * (the key up to its first ':'), stored in the default collection. Returns NULL with
 * MH_KEYRING_ERROR_UNAVAILABLE when there is no D-Bus session or no Secret Service;
 * every call fails the same way when the service goes away or its collection is locked
 * and cannot be unlocked without a prompt. No call waits longer than
 * MH_KEYRING_SECRET_TIMEOUT_S seconds. */
struct mh_keyring *mh_keyring_secret_new(GError **error);

#define MH_KEYRING_SECRET_TIMEOUT_S 10

/* Returns the back end's name for messages ("memory", ...); static. */
const char *mh_keyring_name(const struct mh_keyring *kr);

/* Returns whether @key is acceptable to every back end: valid UTF-8, 1 to
 * MH_KEYRING_KEY_MAX bytes, no control characters. */
bool mh_keyring_key_valid(const char *key);

/* Stores a copy of the NUL-terminated @secret under @key, replacing (and wiping) any
 * previous one. Returns false with MH_KEYRING_ERROR_USAGE for an invalid key, or a
 * back end error. Neither argument is kept. */
bool mh_keyring_store(struct mh_keyring *kr, const char *key, const char *secret, GError **error);

/* Looks @key up. Returns 1 with *secret_r a new mh_secret buffer (caller
 * mh_secret_free()s), 0 when nothing is stored under @key, or -1 with @error set;
 * *secret_r is NULL unless 1 is returned. */
int mh_keyring_lookup(struct mh_keyring *kr, const char *key, char **secret_r, GError **error);

/* Removes and wipes the secret under @key. Returns 1 when one was removed, 0 when
 * there was none, -1 with @error set. */
int mh_keyring_clear(struct mh_keyring *kr, const char *key, GError **error);

/* Returns in *keys_r a new array of the stored keys (never secrets), sorted, with
 * g_free as its element free function (caller g_ptr_array_unref()s). Returns false
 * with @error set and *keys_r NULL on failure. */
bool mh_keyring_list(struct mh_keyring *kr, GPtrArray **keys_r, GError **error);

/* Closes the back end and frees @kr, wiping the secrets it holds; NULL is allowed. */
void mh_keyring_free(struct mh_keyring *kr);

/* g_autoptr() needs a plain type name; code still writes struct mh_keyring. */
typedef struct mh_keyring mh_keyring;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(mh_keyring, mh_keyring_free)

#endif
