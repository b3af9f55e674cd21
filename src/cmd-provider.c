/* SPDX-License-Identifier: MIT */
/* `mailhaul provider show NAME` (a profile's effective settings, config file included) and
 * `mailhaul provider import-google FILE` (a Google "Desktop app" OAuth client, as the
 * Cloud console downloads it, written into the config file's [provider gmail] section). */
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "mh-log.h"
#include "mh-secret.h"

static const char *const tls_names[] = {"ssl", "starttls", "none"};

static void
show_line(const char *key, const char *value)
{
	printf("  %-18s %s\n", key, value != NULL ? value : "-");
}

static void
show_yes(const char *key, bool yes, const char *what)
{
	g_autofree char *v = yes ? g_strdup_printf("yes (%s)", what) : NULL;

	show_line(key, yes ? v : "no");
}

/* "35651584 bytes (34.0 MiB)", or NULL for 0 (none). */
static char *
show_bytes(uint64_t n, const char *per)
{
	g_autofree char *human = g_format_size_full(n, G_FORMAT_SIZE_IEC_UNITS);

	if (n == 0)
		return NULL;
	return g_strdup_printf("%" G_GUINT64_FORMAT " bytes (%s)%s", n, human, per);
}

/* Limits, pacing, budgets and destination quirks of the built-in profile @p. */
static void
show_behaviour(const struct mh_provider *p)
{
	g_autofree char *conns = NULL, *size = NULL, *pace = NULL, *errors = NULL;
	g_autofree char *up = show_bytes(p->upload_per_day, " a day");
	g_autofree char *down = show_bytes(p->download_per_day, " a day");
	g_autofree char *fixups = mh_provider_fixups_str(p->fixups);
	g_autofree char *max_line = NULL;
	g_autofree char *min_rate = NULL;

	if (p->max_connections > 0 && p->max_connections_hard > 0)
		conns = g_strdup_printf("%u (the server allows %u)", p->max_connections,
		                        p->max_connections_hard);
	else if (p->max_connections > 0)
		conns = g_strdup_printf("%u", p->max_connections);
	size = show_bytes(p->max_message_size, "");
	if (p->pace > 0)
		pace = g_strdup_printf("%g messages/s per connection", p->pace);
	if (p->errors_per_session > 0)
		errors = g_strdup_printf("%u (then the server drops the session)",
		                         p->errors_per_session);
	if ((p->fixups & MH_PROVIDER_FIXUP_WRAP) != 0 && p->max_line > 0)
		max_line = g_strdup_printf("%zu", p->max_line);
	show_line("max-connections", conns);
	show_line("max-message-size", size);
	show_line("pace", p->pace > 0 ? pace : "unpaced");
	show_line("errors-per-session", errors);
	show_line("upload-per-day", up);
	show_line("download-per-day", down);
	if (p->min_rate > 0)
		min_rate = g_strdup_printf("%" G_GUINT64_FORMAT " bytes/s (slower: a spent budget, "
		                           "pause)",
		                           p->min_rate);
	show_line("min-rate", min_rate);
	show_yes("labels", p->labels, "folders are labels: one message may sit in several");
	show_yes("dst-labels", p->dst_labels, "more labels added with STORE +X-GM-LABELS");
	show_yes("dst-dedups", p->dst_dedups, "duplicate APPENDs dropped: identity by Message-ID");
	show_yes("case-insensitive", p->dst_case_insensitive, "folder names ignore case");
	show_yes("rerenders", p->dst_rerenders, "never compared by size or bytes");
	show_yes("flagged-by-store", p->flagged_after_append,
	         "\\Flagged set by a STORE after the APPEND");
	show_line("drop-keywords", p->drop_keywords);
	show_line("fixups", fixups);
	show_line("max-line", max_line);
	show_line("skipped-folders", mh_provider_source_skip_summary(p));
	show_line("placeholder", p->placeholder_subject);
}

static int
provider_show(const struct mh_config *cfg, const char *name, GError **error)
{
	g_autofree char *spec = g_strdup_printf("%s:USER", name);
	g_autoptr(mh_account) a = mh_account_resolve(cfg, spec, error);
	char port[16];

	if (a == NULL)
		return -1;
	printf("provider %s%s\n", a->provider_name,
	       a->builtin != NULL ? "" : " (defined in the config file)");
	if (a->builtin != NULL)
		show_line("description", a->builtin->description);
	show_line("config file", cfg != NULL ? mh_config_path(cfg) : NULL);
	show_line("imap-host", a->set.imap_host);
	g_snprintf(port, sizeof(port), "%d", a->set.imap_port);
	show_line("imap-port", a->set.imap_port > 0 ? port : NULL);
	show_line("imap-tls", a->set.imap_tls >= 0 ? tls_names[a->set.imap_tls] : NULL);
	show_line("smtp-host", a->set.smtp_host);
	g_snprintf(port, sizeof(port), "%d", a->set.smtp_port);
	show_line("smtp-port", a->set.smtp_port > 0 ? port : NULL);
	show_line("smtp-tls", a->set.smtp_tls >= 0 ? tls_names[a->set.smtp_tls] : NULL);
	show_line("auth-url", a->set.auth_url);
	show_line("token-url", a->set.token_url);
	show_line("device-url", a->set.device_url);
	show_line("revoke-url", a->set.revoke_url);
	show_line("scopes", a->set.scopes);
	show_line("tenant", a->set.tenant);
	show_line("flow", a->set.flow >= 0 ? mh_provider_flow_name(a->set.flow) : "password");
	show_line("client-id", a->set.client_id);
	show_line("client-secret", a->set.client_secret != NULL ? "(set)" : NULL);
	/* A provider of the config file behaves as the standards say: generic's behaviour. */
	show_behaviour(a->builtin != NULL ? a->builtin : mh_provider_generic());
	if (a->set.client_id == NULL && a->builtin != NULL && a->builtin->client_help != NULL)
		printf("\n%s\n", a->builtin->client_help);
	return MH_EXIT_OK;
}

/* Reads client_id and client_secret from Google's client_secret.json. */
static bool
import_read_google(const char *file, char **id_r, char **secret_r, GError **error)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) local = NULL;
	json_object *root, *inst = NULL, *id = NULL, *secret = NULL;
	bool ok;

	if (!g_file_get_contents(file, &text, NULL, &local)) {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_NOINPUT, "%s", local->message);
		return false;
	}
	root = json_tokener_parse(text);
	mh_secret_wipe(text, strlen(text));
	ok = root != NULL &&
	     (json_object_object_get_ex(root, "installed", &inst) ||
	      json_object_object_get_ex(root, "web", &inst)) &&
	     json_object_object_get_ex(inst, "client_id", &id) &&
	     json_object_object_get_ex(inst, "client_secret", &secret);
	if (ok) {
		*id_r = g_strdup(json_object_get_string(id));
		*secret_r = mh_secret_strdup(json_object_get_string(secret));
	} else {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
		            "%s is not a Google OAuth client file (no installed.client_id and "
		            "client_secret): download it from the Cloud console's Credentials page",
		            file);
	}
	json_object_put(root);
	return ok;
}

static int
provider_import_google(const char *cfg_path, const char *file, GError **error)
{
	g_autofree char *id = NULL;
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *dir = g_path_get_dirname(cfg_path);
	g_autofree char *data = NULL;
	char *secret = NULL;
	g_autoptr(GError) local = NULL;
	bool ok;

	if (!import_read_google(file, &id, &secret, error))
		return -1;
	if (g_file_test(cfg_path, G_FILE_TEST_EXISTS) &&
	    !g_key_file_load_from_file(kf, cfg_path, G_KEY_FILE_KEEP_COMMENTS, &local)) {
		/* Reading: exit 66 (a G_FILE_ERROR would say an output file failed). */
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_NOINPUT,
		            "cannot read the config file %s: %s", cfg_path, local->message);
		mh_secret_free(secret);
		return -1;
	}
	g_key_file_set_string(kf, "provider gmail", "client-id", id);
	g_key_file_set_string(kf, "provider gmail", "client-secret", secret);
	mh_secret_free(secret);
	data = g_key_file_to_data(kf, NULL, NULL);
	ok = g_mkdir_with_parents(dir, 0700) == 0 &&
	     g_file_set_contents_full(cfg_path, data, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
	                              error);
	mh_secret_wipe(data, strlen(data));
	if (!ok) {
		if (error != NULL && *error == NULL)
			g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_NOINPUT,
			            "cannot create %s", dir);
		return -1;
	}
	printf("Imported the Google client %s into %s ([provider gmail]).\n", id, cfg_path);
	return MH_EXIT_OK;
}

int
mh_cmd_provider(int argc, char **argv)
{
	g_autofree char *config = NULL;
	const GOptionEntry entries[] = {
		{"config", 0, 0, G_OPTION_ARG_FILENAME, &config,
	         "The config file (default $MAILHAUL_CONFIG, else "
	         "$XDG_CONFIG_HOME/mailhaul/config.ini)",
	         "FILE"},
		{NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("show NAME | import-google FILE");
	g_autoptr(GError) error = NULL;
	g_autoptr(mh_config) cfg = NULL;
	int rc = -1;

	g_option_context_set_summary(ctx, "Show a provider profile's effective settings, or "
	                                  "import a Google OAuth client file.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		goto out;
	if (argc != 3 || (strcmp(argv[1], "show") != 0 && strcmp(argv[1], "import-google") != 0)) {
		g_set_error(&error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
		            "usage: mailhaul provider show NAME | import-google FILE");
		goto out;
	}
	cfg = mh_config_load(config, &error);
	if (cfg == NULL)
		goto out;
	if (strcmp(argv[1], "show") == 0) {
		rc = provider_show(cfg, argv[2], &error);
	} else {
		g_autofree char *target =
			mh_config_path(cfg) != NULL
				? g_strdup(mh_config_path(cfg))
				: g_build_filename(g_get_user_config_dir(), "mailhaul",
		                                   "config.ini", NULL);

		rc = provider_import_google(target, argv[2], &error);
	}
out:
	rc = cli_finish(error, rc);
	return rc;
}
