/* SPDX-License-Identifier: MIT */
/* `mailhaul check` (and imapsync's --justlogin): connect, authenticate and show what
 * the server offers: greeting, ID, capabilities, namespaces, and every folder with its
 * special-use attributes and message count. */
#include <stdio.h>
#include <string.h>

#include "check-send.h"
#include "cli.h"
#include "config.h"
#include "mh-log.h"
#include "mh-secret.h"
#include "provider.h"

struct check_opts {
	struct cli_account acct;
	char *debug;
	char *config;
	char *token_store;
	gboolean justlogin;
	struct check_send_opts send;
};

static void
check_print_id(struct mh_imap_conn *conn)
{
	static const char *const client_id[] = {"name", "mailhaul", "version", MH_VERSION, NULL};
	g_autoptr(GHashTable) server = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) line = NULL;
	static const char *const keys[] = {"name", "version", "vendor", "os", NULL};

	if (!mh_imap_id(conn, client_id, &server, &error)) {
		mh_log(MH_LOG_WARN, "%s", error->message);
		return;
	}
	if (server == NULL)
		return;
	line = g_string_new("Server ID:");
	for (size_t i = 0; keys[i] != NULL; i++) {
		const char *v = g_hash_table_lookup(server, keys[i]);

		if (v != NULL)
			g_string_append_printf(line, " %s=\"%s\"", keys[i], v);
	}
	printf("%s\n", line->str);
}

static void
check_print_caps(const char *label, struct mh_imap_conn *conn)
{
	g_autofree char *caps = g_strjoinv(" ", (char **)mh_imap_conn_caps(conn));

	printf("%s %s\n", label, caps);
}

static void
check_print_ns_group(GString *out, const char *kind, GPtrArray *group)
{
	for (guint i = 0; i < group->len; i++) {
		const struct mh_imap_namespace *n = group->pdata[i];
		char sep[2] = {n->sep, '\0'};

		g_string_append_printf(out, "%s%s \"%s\" separator %s%s%s",
		                       out->len > 0 ? "; " : "", kind, n->prefix,
		                       n->sep != '\0' ? "\"" : "", n->sep != '\0' ? sep : "NIL",
		                       n->sep != '\0' ? "\"" : "");
	}
}

static bool
check_print_namespaces(struct mh_imap_conn *conn, GError **error)
{
	struct mh_imap_namespaces *ns = NULL;
	g_autoptr(GString) out = g_string_new(NULL);

	if (!mh_imap_namespace(conn, &ns, error))
		return false;
	check_print_ns_group(out, "personal", ns->personal);
	check_print_ns_group(out, "other users", ns->other);
	check_print_ns_group(out, "shared", ns->shared);
	printf("Namespaces: %s\n", out->len > 0 ? out->str : "none");
	mh_imap_namespaces_free(ns);
	return true;
}

static bool
check_print_folders(struct mh_imap_conn *conn, GError **error)
{
	g_autoptr(GPtrArray) folders = NULL;
	g_autoptr(GHashTable) listed = NULL;
	g_autoptr(GPtrArray) attrs = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GArray) counts = g_array_new(false, true, sizeof(guint32));
	long name_w = 0, attr_w = 0;
	int count_w = 1;

	/* With LIST-STATUS the counts come with the list: one round trip, not one a folder. */
	if (!mh_imap_list_status(conn, "", "*", &folders, &listed, error))
		return false;
	g_array_set_size(counts, folders->len);
	for (guint i = 0; i < folders->len; i++) {
		const struct mh_imap_folder *f = folders->pdata[i];
		struct mh_imap_status_info st;
		const struct mh_imap_status_info *known =
			listed != NULL ? g_hash_table_lookup(listed, f->name) : NULL;
		char *a = mh_imap_attrs_to_string(f->attrs);

		name_w = MAX(name_w, g_utf8_strlen(f->name, -1));
		attr_w = MAX(attr_w, (long)strlen(a));
		g_ptr_array_add(attrs, a);
		if (f->attrs & (MH_IMAP_ATTR_NOSELECT | MH_IMAP_ATTR_NONEXISTENT))
			continue;
		if (known != NULL)
			st = *known;
		else if (!mh_imap_status(conn, f->name, &st, error))
			return false;
		g_array_index(counts, guint32, i) = st.messages;
		count_w = MAX(count_w, g_snprintf(NULL, 0, "%u", st.messages));
	}
	printf("Folders (%u):\n", folders->len);
	for (guint i = 0; i < folders->len; i++) {
		const struct mh_imap_folder *f = folders->pdata[i];
		const char *a = attrs->pdata[i];
		long pad = name_w - g_utf8_strlen(f->name, -1);

		printf("  %s%*s  %-*s  ", f->name, (int)pad, "", (int)attr_w, a);
		if (f->attrs & (MH_IMAP_ATTR_NOSELECT | MH_IMAP_ATTR_NONEXISTENT))
			printf("(container)\n");
		else
			printf("%*u message%s\n", count_w, g_array_index(counts, guint32, i),
			       g_array_index(counts, guint32, i) == 1 ? "" : "s");
	}
	return true;
}

/* The provider profile mailhaul uses for this server: the account's, else detected. */
static void
check_print_provider(struct mh_imap_conn *conn, const struct mh_imap_settings *set,
                     const struct cli_account *acct)
{
	const char *why = NULL;
	const struct mh_provider *p;

	if (acct->account != NULL && acct->account->builtin != NULL) {
		printf("Provider: %s (from the account)\n", acct->account->builtin->name);
		return;
	}
	p = mh_provider_detect(set->host, mh_imap_conn_greeting(conn), mh_imap_conn_caps(conn),
	                       &why);
	if (p != NULL)
		printf("Provider: %s (detected: %s)\n", p->name, why);
	else
		printf("Provider: generic\n");
}

static bool
check_run(struct mh_imap_conn *conn, const struct mh_imap_settings *set, struct cli_account *acct,
          const struct mh_imap_credentials *cred, const struct check_send_opts *send,
          GError **error)
{
	const char *tls;

	if (!mh_imap_conn_connect(conn, error))
		return false;
	tls = mh_imap_conn_tls_version(conn);
	printf("Connected to %s port %u (%s%s%s)\n", set->host,
	       set->port != 0                     ? set->port
	       : set->tls == MH_IMAP_TLS_IMPLICIT ? 993u
	                                          : 143u,
	       mh_imap_conn_transport(conn), tls != NULL ? ", " : "", tls != NULL ? tls : "");
	printf("Greeting: %s\n", mh_imap_conn_greeting(conn));
	check_print_id(conn);
	check_print_caps("Capabilities before login:", conn);
	if (!cli_login(conn, acct, cred, error))
		return false;
	if (cred->authuser != NULL)
		printf("Authenticated as %s (by %s) with %s\n", cred->user, cred->authuser,
		       mh_imap_conn_auth_mechanism(conn));
	else
		printf("Authenticated as %s with %s\n", cred->user,
		       mh_imap_conn_auth_mechanism(conn));
	check_print_caps("Capabilities:", conn);
	check_print_provider(conn, set, acct);
	if (mh_imap_conn_has_cap(conn, "UTF8=ACCEPT") &&
	    !mh_imap_enable(conn, "UTF8=ACCEPT", error))
		return false;
	if (!check_print_namespaces(conn, error) || !check_print_folders(conn, error))
		return false;
	return !send->enabled || check_send_run(conn, acct, cred, send, error);
}

static GOptionContext *
check_context(struct check_opts *o, bool imapsync_style)
{
	const char *suffix = imapsync_style ? "1" : "";
	GOptionContext *ctx = g_option_context_new(imapsync_style ? "--justlogin" : "[ACCOUNT]");
	GOptionGroup *main_group = g_option_group_new(NULL, NULL, NULL, NULL, NULL);
	const GOptionEntry extra[] = {
		{"debug", 0, 0, G_OPTION_ARG_STRING, &o->debug,
	         "Debug output: imap, wire, auth or all (secrets are redacted)", "CATEGORIES"},
		{"config", 0, 0, G_OPTION_ARG_FILENAME, &o->config,
	         "The config file (for an account written PROVIDER:USER)", "FILE"},
		{"token-store", 0, 0, G_OPTION_ARG_STRING, &o->token_store,
	         "Where the account's tokens live: keyring (default) or file", "STORE"},
		{"justlogin", 0, imapsync_style ? 0 : G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE,
	         &o->justlogin, "Only log in and show the server (imapsync spelling)", NULL},
		{NULL},
	};

	g_option_context_set_summary(ctx, "Connect to one IMAP server, log in, and show its "
	                                  "capabilities, namespaces and folders.");
	g_option_context_set_description(
		ctx, "The password comes from --passfile FILE, the MAILHAUL_PASSWORD environment "
		     "variable, --password, or a prompt on a terminal.\n"
		     "Exit codes: 0 ok, 10 connection, 12 TLS, 16 authentication, 17 the "
		     "submission server refused the test message, 18 the test message did not "
		     "arrive in time, 64 usage, 66 unreadable file, 70 internal error, 76 protocol "
		     "error.");
	cli_account_add_entries(main_group, &o->acct, suffix);
	g_option_group_add_entries(main_group, extra);
	if (!imapsync_style)
		check_send_add_entries(main_group, &o->send);
	if (imapsync_style) {
		const GOptionEntry md5[] = {
			{"noauthmd5", 0, 0, G_OPTION_ARG_NONE, &o->acct.noauthmd5,
		         "Never use CRAM-MD5", NULL},
			{NULL},
		};

		g_option_group_add_entries(main_group, md5);
	}
	g_option_context_set_main_group(ctx, main_group);
	return ctx;
}

int
mh_cmd_check(int argc, char **argv, bool imapsync_style)
{
	struct check_opts o = {0};
	g_autoptr(GOptionContext) ctx = check_context(&o, imapsync_style);
	g_autoptr(GError) error = NULL;
	struct mh_imap_settings set;
	struct mh_imap_credentials cred;
	char *password = NULL;
	struct mh_imap_conn *conn = NULL;
	struct cli_side side = {.acct = &o.acct, .suffix = imapsync_style ? "1" : ""};
	int rc = MH_EXIT_OK;

	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		cli_option_suggest(ctx, error);
		goto out;
	}
	if (argc > 2 || (argc == 2 && imapsync_style)) {
		g_set_error(&error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
		            "unexpected argument '%s'", argv[argc - 1]);
		goto out;
	}
	if (argc == 2) {
		g_autoptr(mh_config) cfg = mh_config_load(o.config, &error);

		if (cfg == NULL || !cli_account_use(&o.acct, cfg, argv[1], o.token_store, &error))
			goto out;
	}
	if (!cli_set_debug(o.debug, &error) || !check_send_check(&o.send, &error) ||
	    !cli_account_resolve(&o.acct, imapsync_style ? "1" : "", &set, &cred, &password,
	                         &error))
		goto out;
	conn = mh_imap_conn_new(&set);
	if (check_run(conn, &set, &o.acct, &cred, &o.send, &error))
		mh_imap_conn_logout(conn);
out:
	/* Closing may log (debug); the error line comes last. */
	mh_imap_conn_free(conn);
	side.profile = o.acct.account != NULL && o.acct.account->builtin != NULL
	                       ? o.acct.account->builtin
	                       : mh_provider_detect(o.acct.host, NULL, NULL, NULL);
	rc = cli_finish_side(error, rc, &side);
	mh_secret_free(password);
	cli_account_clear(&o.acct);
	g_free(o.debug);
	g_free(o.config);
	g_free(o.token_store);
	check_send_clear(&o.send);
	return rc;
}
