/* SPDX-License-Identifier: MIT */
/* The libsecret keyring against a real gnome-keyring, run by with-keyring.sh inside a
 * private D-Bus session: the conformance cases (tests/unit/keyring-conformance.c), then
 * what only the Secret Service has: items that show no secret outside their secret (checked
 * with secret-tool, which shows every attribute), kinds, a locked collection, and an
 * unreachable bus failing at once with MH_KEYRING_ERROR_UNAVAILABLE naming --token-store
 * file. */
#include "keyring-conformance.h"
#include "keyring.h"

#include <gio/gio.h>
#include <glib.h>
#include <string.h>

static struct mh_keyring *kr;

static void
clear_all(void)
{
	g_autoptr(GPtrArray) keys = keyring_list_ok(kr);

	for (guint i = 0; i < keys->len; i++)
		keyring_clear_ok(kr, keys->pdata[i], 1);
}

/* The conformance cases share the one connection, emptied before and after each. */
static struct mh_keyring *
secret_open(void *ctx)
{
	(void)ctx;
	clear_all();
	return kr;
}

static void
secret_close(struct mh_keyring *k, void *ctx)
{
	(void)ctx;
	g_assert_true(k == kr);
	clear_all();
}

static const struct keyring_backend secret_backend = {
	.path = "secret",
	.name = "secret-service",
	.many = 50,
	.open = secret_open,
	.close = secret_close,
};

/* Returns what `secret-tool search --all xdg:schema org.mailhaul.Secret` prints on
 * stdout and stderr (attributes go to stderr; caller frees), or NULL when secret-tool is not
 * installed. */
static char *
secret_tool_search(void)
{
	const char *argv[] = {"secret-tool",         "search", "--all", "xdg:schema",
	                      "org.mailhaul.Secret", NULL};
	g_autoptr(GError) error = NULL;
	g_autofree char *err = NULL;
	g_autofree char *path = g_find_program_in_path("secret-tool");
	g_autofree char *out = NULL;
	int status;

	if (path == NULL)
		return NULL;
	g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
	                           &err, &status, &error));
	g_assert_no_error(error);
	g_assert_true(g_spawn_check_wait_status(status, NULL));
	return g_strconcat(out, err, NULL);
}

static void
test_items_without_secrets(void)
{
	static const char *const secrets[] = {"SECRET-c-0xdeadbeef", "SECRET-a-0xfeedface",
	                                      "SECRET-b-0xcafebabe"};
	g_autofree char *out = NULL;
	g_auto(GStrv) lines = NULL;
	guint attributes = 0, secret_lines = 0;

	clear_all();
	keyring_store_ok(kr, "oauth2:outlook:carol@example.org", secrets[0]);
	keyring_store_ok(kr, "oauth2:gmail:alice@example.com", secrets[1]);
	keyring_store_ok(kr, "password:imap.example.com:bob", secrets[2]);
	out = secret_tool_search();
	if (out == NULL) {
		g_test_skip("secret-tool is not installed (libsecret-tools)");
		return;
	}
	/* secret-tool shows every item's label, attributes and secret: the secret may
	 * appear on its "secret = " line only. */
	lines = g_strsplit(out, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (g_str_has_prefix(lines[i], "secret = ")) {
			secret_lines++;
			continue;
		}
		if (g_str_has_prefix(lines[i], "attribute."))
			attributes++;
		for (guint j = 0; j < G_N_ELEMENTS(secrets); j++)
			g_assert_null(strstr(lines[i], secrets[j]));
	}
	g_assert_cmpuint(secret_lines, ==, 3);
	g_assert_cmpuint(attributes, ==, 6); /* key and kind, for each */
	g_assert_nonnull(strstr(out, "label = mailhaul: oauth2:gmail:alice@example.com\n"));
}

static void
test_kinds(void)
{
	static const struct keyring_entry entries[] = {
		{"oauth2:gmail:alice@example.com", "token"},
		{"password:imap.example.com:alice@example.com", "password"},
		{"plainkey", "other"},
		{NULL, NULL},
	};
	g_autofree char *out = NULL;

	clear_all();
	keyring_round_trip(kr, entries);
	out = secret_tool_search();
	if (out == NULL) {
		g_test_skip("secret-tool is not installed (libsecret-tools)");
		return;
	}
	g_assert_nonnull(strstr(out, "attribute.kind = oauth2\n"));
	g_assert_nonnull(strstr(out, "attribute.kind = password\n"));
	g_assert_nonnull(strstr(out, "attribute.kind = other\n"));
	g_assert_nonnull(
		strstr(out, "attribute.key = password:imap.example.com:alice@example.com\n"));
}

static void
assert_unavailable(const GError *error, double started)
{
	g_assert_error(error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_UNAVAILABLE);
	g_assert_true(g_str_has_prefix(error->message,
	                               "the system keyring (Secret Service) is not available: "));
	g_assert_true(g_str_has_suffix(error->message, "; use --token-store file"));
	g_assert_null(strchr(error->message, '\n'));
	g_test_message("%s (%.2f s)", error->message, g_get_monotonic_time() / 1e6 - started);
}

static void
test_no_bus(void)
{
	g_autoptr(GError) error = NULL;
	double started;
	struct mh_keyring *none;

	if (g_test_subprocess()) {
		/* Before anything connects: GDBus keeps the first session bus it finds. */
		g_setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/mailhaul-test/bus",
		         TRUE);
		started = g_get_monotonic_time() / 1e6;
		none = mh_keyring_secret_new(&error);
		g_assert_null(none);
		assert_unavailable(error, started);
		/* Fails at once: connecting to a missing socket needs no timeout. */
		g_assert_cmpfloat(g_get_monotonic_time() / 1e6 - started, <, 2.0);
		return;
	}
	started = g_get_monotonic_time() / 1e6;
	g_test_trap_subprocess(NULL, 20 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
	g_test_trap_assert_passed();
	g_assert_cmpfloat(g_get_monotonic_time() / 1e6 - started, <, 5.0);
}

/* Locks the login collection over D-Bus, as a screen locker would; gnome-keyring locks
 * without a prompt (secret-tool lock crashes in libsecret 0.20.5). */
static void
lock_login_collection(void)
{
	const char *collection = "/org/freedesktop/secrets/collection/login";
	g_autoptr(GDBusConnection) bus = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;

	bus = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, &error);
	g_assert_no_error(error);
	reply = g_dbus_connection_call_sync(
		bus, "org.freedesktop.secrets", "/org/freedesktop/secrets",
		"org.freedesktop.Secret.Service", "Lock",
		g_variant_new_parsed("([%o],)", collection), G_VARIANT_TYPE("(aoo)"),
		G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
	g_assert_no_error(error);
}

static void
test_locked(void)
{
	g_autoptr(GError) e1 = NULL;
	g_autoptr(GError) e2 = NULL;
	char *secret = NULL;
	double started;

	keyring_store_ok(kr, "oauth2:gmail:locked@example.com", "locked secret");
	lock_login_collection();
	/* A lookup would need a prompt, which cannot be shown: an error, not "not found",
	 * and no hang. */
	started = g_get_monotonic_time() / 1e6;
	g_assert_cmpint(mh_keyring_lookup(kr, "oauth2:gmail:locked@example.com", &secret, &e1), ==,
	                -1);
	g_assert_null(secret);
	assert_unavailable(e1, started);
	g_assert_cmpfloat(g_get_monotonic_time() / 1e6 - started, <,
	                  MH_KEYRING_SECRET_TIMEOUT_S + 5);
	started = g_get_monotonic_time() / 1e6;
	g_assert_false(mh_keyring_store(kr, "oauth2:gmail:new@example.com", "s", &e2));
	assert_unavailable(e2, started);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	int ret;

	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/keyring/secret/no-bus", test_no_bus);
	if (!g_test_subprocess()) {
		kr = mh_keyring_secret_new(&error);
		if (kr == NULL)
			g_error("%s (run through with-keyring.sh)", error->message);
		keyring_conformance_add(&secret_backend);
		g_test_add_func("/keyring/secret/items-without-secrets",
		                test_items_without_secrets);
		g_test_add_func("/keyring/secret/kinds", test_kinds);
		/* Last: the collection stays locked. */
		g_test_add_func("/keyring/secret/locked", test_locked);
	}
	ret = g_test_run();
	g_clear_pointer(&kr, mh_keyring_free);
	return ret;
}
