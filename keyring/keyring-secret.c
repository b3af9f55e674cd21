/* SPDX-License-Identifier: MIT */
/* A keyring over the Secret Service API (freedesktop.org) through libsecret's
 * synchronous password calls: schema "org.mailhaul.Secret", attributes "key" and "kind"
 * (never a secret), items in the default collection. A watchdog thread cancels any
 * call that takes longer than MH_KEYRING_SECRET_TIMEOUT_S, so nothing waits forever. */
#include "keyring-private.h"

#include "mh-secret.h"

#include <libsecret/secret.h>
#include <string.h>

#define SECRET_ALTERNATIVE "use --token-store file"

static const SecretSchema keyring_secret_schema = {
	.name = "org.mailhaul.Secret",
	.flags = SECRET_SCHEMA_NONE,
	.attributes =
		{
			{.name = "key", .type = SECRET_SCHEMA_ATTRIBUTE_STRING},
			{.name = "kind", .type = SECRET_SCHEMA_ATTRIBUTE_STRING},
			{.name = NULL, .type = SECRET_SCHEMA_ATTRIBUTE_STRING},
		},
};

struct keyring_secret {
	struct mh_keyring kr;   /* first: the public part */
	SecretService *service; /* owned: keeps the D-Bus connection and session */
};

/* Cancels @cancellable when a call outlives its deadline. */
struct secret_watchdog {
	GCancellable *cancellable; /* owned */
	GThread *thread;           /* owned: joined by secret_watchdog_stop() */
	GMutex lock;
	GCond cond;
	bool done;      /* under @lock: the call returned */
	bool timed_out; /* under @lock: @cancellable was cancelled */
};

static gpointer
secret_watchdog_run(gpointer data)
{
	struct secret_watchdog *w = data;
	gint64 deadline = g_get_monotonic_time() + MH_KEYRING_SECRET_TIMEOUT_S * G_TIME_SPAN_SECOND;

	g_mutex_lock(&w->lock);
	while (!w->done && g_cond_wait_until(&w->cond, &w->lock, deadline))
		;
	if (!w->done) {
		w->timed_out = true;
		g_cancellable_cancel(w->cancellable);
	}
	g_mutex_unlock(&w->lock);
	return NULL;
}

static void
secret_watchdog_start(struct secret_watchdog *w)
{
	memset(w, 0, sizeof(*w));
	g_mutex_init(&w->lock);
	g_cond_init(&w->cond);
	w->cancellable = g_cancellable_new();
	w->thread = g_thread_new("mh-keyring-watchdog", secret_watchdog_run, w);
}

/* Stops the watchdog; returns whether it cancelled the call. */
static bool
secret_watchdog_stop(struct secret_watchdog *w)
{
	bool timed_out;

	g_mutex_lock(&w->lock);
	w->done = true;
	g_cond_signal(&w->cond);
	g_mutex_unlock(&w->lock);
	g_thread_join(w->thread);
	timed_out = w->timed_out;
	g_object_unref(w->cancellable);
	g_cond_clear(&w->cond);
	g_mutex_clear(&w->lock);
	return timed_out;
}

/* Turns a libsecret or D-Bus error (consumed; a call cancelled by the watchdog when
 * @timed_out) into ours, saying that the service is
 * unavailable and naming the alternative. */
static void
keyring_secret_set_error(GError **error, GError *cause, bool timed_out)
{
	const char *reason = cause != NULL ? cause->message : "no reply";

	if (timed_out)
		g_set_error(
			error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_UNAVAILABLE,
			"the system keyring (Secret Service) is not available: no answer within "
			"%d seconds (a locked collection waiting for a prompt?); " SECRET_ALTERNATIVE,
			MH_KEYRING_SECRET_TIMEOUT_S);
	else if (cause != NULL && g_error_matches(cause, SECRET_ERROR, SECRET_ERROR_IS_LOCKED))
		g_set_error(
			error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_UNAVAILABLE,
			"the system keyring (Secret Service) is not available: the collection is "
			"locked and cannot be unlocked without a prompt; " SECRET_ALTERNATIVE);
	else
		g_set_error(
			error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_UNAVAILABLE,
			"the system keyring (Secret Service) is not available: %s; " SECRET_ALTERNATIVE,
			reason);
	if (cause != NULL)
		g_error_free(cause);
}

/* Returns new attributes {key: @key} and, when @with_kind, {kind: the part of @key
 * before its first ':', or "other"}. The table borrows @key. */
static GHashTable *
keyring_secret_attributes(const char *key, bool with_kind)
{
	GHashTable *attrs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	const char *colon = strchr(key, ':');

	g_hash_table_insert(attrs, (gpointer) "key", g_strdup(key));
	if (with_kind)
		g_hash_table_insert(attrs, (gpointer) "kind",
		                    colon != NULL && colon != key
		                            ? g_strndup(key, (gsize)(colon - key))
		                            : g_strdup("other"));
	return attrs;
}

static bool
keyring_secret_store(struct mh_keyring *kr, const char *key, const char *secret, GError **error)
{
	g_autoptr(GHashTable) attrs = keyring_secret_attributes(key, true);
	g_autofree char *label = g_strdup_printf("mailhaul: %s", key);
	struct secret_watchdog w;
	GError *cause = NULL;
	bool timed_out;
	gboolean ok;

	(void)kr;
	secret_watchdog_start(&w);
	/* Storing again with the same attributes replaces the item. */
	ok = secret_password_storev_sync(&keyring_secret_schema, attrs, SECRET_COLLECTION_DEFAULT,
	                                 label, secret, w.cancellable, &cause);
	timed_out = secret_watchdog_stop(&w);
	if (!ok) {
		keyring_secret_set_error(error, cause, timed_out);
		return false;
	}
	return true;
}

/* Returns whether an item for @key exists but is locked (-1 on error). */
static int
keyring_secret_is_locked(const char *key, GError **error)
{
	g_autoptr(GHashTable) attrs = keyring_secret_attributes(key, false);
	struct secret_watchdog w;
	GError *cause = NULL;
	GList *items;
	bool timed_out;
	int locked = 0;

	secret_watchdog_start(&w);
	items = secret_password_searchv_sync(&keyring_secret_schema, attrs, SECRET_SEARCH_ALL,
	                                     w.cancellable, &cause);
	timed_out = secret_watchdog_stop(&w);
	if (cause != NULL) {
		g_list_free_full(items, g_object_unref);
		keyring_secret_set_error(error, cause, timed_out);
		return -1;
	}
	for (GList *l = items; l != NULL; l = l->next)
		if (SECRET_IS_ITEM(l->data) && secret_item_get_locked(l->data))
			locked = 1;
	g_list_free_full(items, g_object_unref);
	return locked;
}

static int
keyring_secret_lookup(struct mh_keyring *kr, const char *key, char **secret_r, GError **error)
{
	g_autoptr(GHashTable) attrs = keyring_secret_attributes(key, false);
	struct secret_watchdog w;
	GError *cause = NULL;
	bool timed_out;
	char *secret;

	(void)kr;
	secret_watchdog_start(&w);
	/* From libsecret's locked (non-pageable) memory; secret_password_free() wipes it. */
	secret = secret_password_lookupv_nonpageable_sync(&keyring_secret_schema, attrs,
	                                                  w.cancellable, &cause);
	timed_out = secret_watchdog_stop(&w);
	if (cause != NULL) {
		secret_password_free(secret);
		keyring_secret_set_error(error, cause, timed_out);
		return -1;
	}
	if (secret == NULL) {
		/* libsecret answers "nothing" for an item it could not unlock. */
		switch (keyring_secret_is_locked(key, error)) {
		case 0:
			return 0;
		case 1:
			keyring_secret_set_error(
				error, g_error_new(SECRET_ERROR, SECRET_ERROR_IS_LOCKED, "locked"),
				false);
			return -1;
		default:
			return -1;
		}
	}
	*secret_r = mh_secret_strdup(secret);
	secret_password_free(secret);
	return 1;
}

static int
keyring_secret_clear(struct mh_keyring *kr, const char *key, GError **error)
{
	g_autoptr(GHashTable) attrs = keyring_secret_attributes(key, false);
	struct secret_watchdog w;
	GError *cause = NULL;
	bool timed_out;
	gboolean removed;

	(void)kr;
	secret_watchdog_start(&w);
	removed = secret_password_clearv_sync(&keyring_secret_schema, attrs, w.cancellable, &cause);
	timed_out = secret_watchdog_stop(&w);
	if (cause != NULL) {
		keyring_secret_set_error(error, cause, timed_out);
		return -1;
	}
	return removed ? 1 : 0;
}

static bool
keyring_secret_list(struct mh_keyring *kr, GPtrArray *keys, GError **error)
{
	g_autoptr(GHashTable) attrs = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	struct secret_watchdog w;
	GError *cause = NULL;
	bool timed_out;
	GList *items;

	(void)kr;
	secret_watchdog_start(&w);
	/* Attributes only: SECRET_SEARCH_LOAD_SECRETS is not asked for. */
	items = secret_password_searchv_sync(&keyring_secret_schema, attrs, SECRET_SEARCH_ALL,
	                                     w.cancellable, &cause);
	timed_out = secret_watchdog_stop(&w);
	if (cause != NULL) {
		g_list_free_full(items, g_object_unref);
		keyring_secret_set_error(error, cause, timed_out);
		return false;
	}
	for (GList *l = items; l != NULL; l = l->next) {
		g_autoptr(GHashTable) item_attrs = secret_retrievable_get_attributes(l->data);
		const char *key = g_hash_table_lookup(item_attrs, "key");

		/* The same key in two collections is listed once. */
		if (key != NULL && mh_keyring_key_valid(key) &&
		    g_hash_table_add(seen, g_strdup(key)))
			g_ptr_array_add(keys, g_strdup(key));
	}
	g_list_free_full(items, g_object_unref);
	return true;
}

static void
keyring_secret_close(struct mh_keyring *kr)
{
	struct keyring_secret *ks = (struct keyring_secret *)kr;

	g_clear_object(&ks->service);
	g_free(ks);
}

static const struct mh_keyring_ops keyring_secret_ops = {
	.name = "secret-service",
	.store = keyring_secret_store,
	.lookup = keyring_secret_lookup,
	.clear = keyring_secret_clear,
	.list = keyring_secret_list,
	.close = keyring_secret_close,
};

struct mh_keyring *
mh_keyring_secret_new(GError **error)
{
	g_autoptr(GDBusConnection) bus = NULL;
	struct keyring_secret *ks;
	struct secret_watchdog w;
	SecretService *service;
	GError *cause = NULL;
	bool timed_out;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	/* Connects to the session bus (at once, or fails at once: a socket or nothing),
	 * then opens a session with the service, which fails when no Secret Service runs
	 * or can be started. */
	bus = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, &cause);
	if (bus == NULL) {
		g_prefix_error(&cause, "no D-Bus session bus: ");
		keyring_secret_set_error(error, cause, false);
		return NULL;
	}
	secret_watchdog_start(&w);
	service = secret_service_get_sync(SECRET_SERVICE_OPEN_SESSION, w.cancellable, &cause);
	timed_out = secret_watchdog_stop(&w);
	if (service == NULL) {
		keyring_secret_set_error(error, cause, timed_out);
		return NULL;
	}
	ks = g_new0(struct keyring_secret, 1);
	ks->kr.ops = &keyring_secret_ops;
	ks->service = service;
	return &ks->kr;
}
