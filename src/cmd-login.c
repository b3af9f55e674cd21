/* SPDX-License-Identifier: MIT */
/* `mailhaul login`, `logout`, `accounts` and `token`: signing in once (device code,
 * browser with a loopback redirect, or a pasted redirect), keeping the tokens in the
 * keyring or the file store, and handing fresh access tokens to other tools. */
#include <gio/gunixinputstream.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mh-log.h"
#include "mh-secret.h"
#include "signin.h"

struct login_opts {
	char *config;
	char *flow;
	char *token_store;
	char *debug;
};

static GOptionContext *
login_context(struct login_opts *o, const char *params, const char *summary, bool with_flow)
{
	GOptionContext *ctx = g_option_context_new(params);
	const GOptionEntry entries[] = {
		{"config", 0, 0, G_OPTION_ARG_FILENAME, &o->config,
	         "The config file (default $MAILHAUL_CONFIG, else "
	         "$XDG_CONFIG_HOME/mailhaul/config.ini)",
	         "FILE"},
		{"token-store", 0, 0, G_OPTION_ARG_STRING, &o->token_store,
	         "Where tokens live: keyring (default) or file", "STORE"},
		{"debug", 0, 0, G_OPTION_ARG_STRING, &o->debug,
	         "Debug output: auth, http or all (tokens are never shown)", "CATEGORIES"},
		{NULL},
	};
	const GOptionEntry flow[] = {
		{"flow", 0, 0, G_OPTION_ARG_STRING, &o->flow,
	         "browser, device or paste (default: the provider's)", "FLOW"},
		{NULL},
	};

	g_option_context_set_summary(ctx, summary);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (with_flow)
		g_option_context_add_main_entries(ctx, flow, NULL);
	return ctx;
}

static void
login_opts_clear(struct login_opts *o)
{
	g_free(o->config);
	g_free(o->flow);
	g_free(o->token_store);
	g_free(o->debug);
}

/* Parses options and the one ACCOUNT argument; resolves it. */
static struct mh_account *
login_parse(GOptionContext *ctx, struct login_opts *o, int *argc, char ***argv,
            struct mh_config **cfg_r, GError **error)
{
	if (!g_option_context_parse(ctx, argc, argv, error) || !cli_set_debug(o->debug, error))
		return NULL;
	if (*argc != 2) {
		g_set_error(
			error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
			"give one account, written PROVIDER:USER (e.g. gmail:alice@example.com)");
		return NULL;
	}
	*cfg_r = mh_config_load(o->config, error);
	if (*cfg_r == NULL)
		return NULL;
	return mh_account_resolve(*cfg_r, (*argv)[1], error);
}

/* --- login --- */

static void
on_device_code(const struct mh_oauth2_device_code *dc, void *ctx)
{
	const char *browser = g_getenv("BROWSER");

	(void)ctx;
	printf("To sign in, open %s in a browser and enter the code %s\n", dc->verification_uri,
	       dc->user_code);
	if (dc->verification_uri_complete != NULL)
		printf("(or open %s, which has the code in it)\n", dc->verification_uri_complete);
	printf("Waiting for the sign-in to be approved (the code is valid for %u minutes)...\n",
	       dc->expires_in / 60);
	fflush(stdout);
	if (browser != NULL && *browser != '\0')
		mh_oauth2_browser_open(dc->verification_uri_complete != NULL
		                               ? dc->verification_uri_complete
		                               : dc->verification_uri,
		                       NULL);
}

static void
on_auth_url(const char *url, void *ctx)
{
	bool paste = GPOINTER_TO_INT(ctx);

	if (paste)
		printf("Open this URL in a browser: %s\nThen paste the address the browser ends "
		       "on (or just the code) here:\n",
		       url);
	else
		printf("Opening your browser for the sign-in. If it does not open, open this URL "
		       "(on any machine) and paste the address it ends on here:\n%s\n",
		       url);
	fflush(stdout);
}

/* Whether a device sign-in failed because a Conditional Access policy blocks it (Entra
 * ID errors AADSTS53003, AADSTS50097 and AADSTS50199, or "blocked by Conditional
 * Access"); *why_r gets the provider's own sentence (caller frees). */
static bool
login_device_blocked(const GError *error, char **why_r)
{
	static const char *const marks[] = {"AADSTS53003", "AADSTS50097", "AADSTS50199",
	                                    "Conditional Access", "conditional access"};
	static const char *const cuts[] = {" Trace ID", ")"};
	const char *at = NULL;

	for (size_t i = 0; error != NULL && at == NULL && i < G_N_ELEMENTS(marks); i++)
		at = strstr(error->message, marks[i]);
	if (at == NULL)
		return false;
	/* From the AADSTS code (when there is one) to the end of its sentences, without
	 * the trace and correlation ids that follow. */
	if (strstr(error->message, "AADSTS") != NULL)
		at = strstr(error->message, "AADSTS");
	*why_r = g_strdup(at);
	for (size_t i = 0; i < G_N_ELEMENTS(cuts); i++) {
		char *p = strstr(*why_r, cuts[i]);

		if (p != NULL)
			*p = '\0';
	}
	g_strchomp(*why_r);
	return true;
}

/* Says which registration the sign-in uses, before the browser or the code: the client
 * id, the tenant (Microsoft) and the scopes; of the client secret only whether there is
 * one. */
static void
login_show_client(const struct mh_account *a, const struct mh_oauth2_client *c)
{
	printf("Signing in to %s\n", a->name);
	printf("  client id:     %s\n", c->client_id);
	if (c->client_secret != NULL)
		printf("  client secret: configured (not shown)\n");
	if (a->set.tenant != NULL)
		printf("  tenant:        %s\n", a->set.tenant);
	printf("  scopes:        %s\n", c->scopes != NULL ? c->scopes : "(none)");
	fflush(stdout);
}

static struct mh_oauth2_token *
login_oauth2(const struct mh_account *a, enum mh_provider_flow flow, GError **error)
{
	struct mh_oauth2_client c;
	g_autoptr(GInputStream) in = g_unix_input_stream_new(STDIN_FILENO, false);

	if (!mh_signin_client(a, &c, error))
		return NULL;
	login_show_client(a, &c);
	if (flow == MH_PROVIDER_FLOW_DEVICE) {
		struct mh_oauth2_device_opts dopts = {.show = on_device_code, .account = a->name};

		if (c.device_url == NULL) {
			g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
			            "%s does not offer the device flow for mail%s: use --flow "
			            "browser (or --flow paste over SSH)",
			            a->provider_name,
			            g_strcmp0(a->provider_name, "gmail") == 0
			                    ? " (Google refuses it for mail scopes)"
			                    : "");
			return NULL;
		}
		struct mh_oauth2_token *t = NULL;
		GError *local = NULL;

		g_autofree char *why = NULL;

		t = mh_oauth2_device_login(&c, &dopts, &local);
		if (t != NULL || !login_device_blocked(local, &why)) {
			if (local != NULL)
				g_propagate_error(error, local);
			return t;
		}
		/* Conditional Access may forbid the device code flow (Microsoft recommends
		 * blocking it): the browser sign-in is allowed where it is not. */
		mh_log(MH_LOG_WARN,
		       "your organisation blocks the device code sign-in (%s); trying the browser "
		       "sign-in instead",
		       why);
		g_error_free(local);
		flow = MH_PROVIDER_FLOW_BROWSER;
	}
	{
		struct mh_oauth2_authcode_opts aopts = {
			.mode = flow == MH_PROVIDER_FLOW_PASTE ? MH_OAUTH2_AUTHCODE_PASTE
		                                               : MH_OAUTH2_AUTHCODE_BROWSER,
			.show_url = on_auth_url,
			.show_ctx = GINT_TO_POINTER(flow == MH_PROVIDER_FLOW_PASTE),
			.paste_in =
				flow == MH_PROVIDER_FLOW_PASTE || isatty(STDIN_FILENO) ? in : NULL,
			.account = a->name,
		};

		return mh_oauth2_authcode_login(&c, &aopts, error);
	}
}

/* A password account: the password asked without echo (or from $MAILHAUL_PASSWORD),
 * stored under password:PROVIDER:USER for check and sync. */
static bool
login_password(struct mh_keyring *kr, const struct mh_account *a, GError **error)
{
	g_autofree char *key = g_strdup_printf("password:%s", a->name);
	const char *env = g_getenv("MAILHAUL_PASSWORD");
	char *password = NULL;
	bool ok;

	if (env != NULL && *env != '\0')
		password = mh_secret_strdup(env);
	else if (!cli_prompt_password(a->user,
	                              a->set.imap_host != NULL ? a->set.imap_host : "the server",
	                              &password, error))
		return false;
	ok = mh_keyring_store(kr, key, password, error);
	mh_secret_free(password);
	if (ok)
		printf("Stored the password of %s in the %s store.\n", a->name,
		       mh_keyring_name(kr));
	return ok;
}

int
mh_cmd_login(int argc, char **argv)
{
	struct login_opts o = {0};
	g_autoptr(GOptionContext) ctx = login_context(
		&o, "ACCOUNT",
		"Sign in to an account once; later commands use the stored tokens without asking.",
		true);
	g_autoptr(GError) error = NULL;
	g_autoptr(mh_config) cfg = NULL;
	g_autoptr(mh_account) a = login_parse(ctx, &o, &argc, &argv, &cfg, &error);
	g_autoptr(mh_keyring) kr = NULL;
	struct mh_oauth2_token *t = NULL;
	enum mh_provider_flow flow;

	if (a == NULL)
		goto out;
	flow = a->set.flow >= 0 ? (enum mh_provider_flow)a->set.flow : MH_PROVIDER_FLOW_NONE;
	if (o.flow != NULL && !mh_provider_flow_parse(o.flow, &flow)) {
		g_set_error(&error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
		            "unknown --flow '%s' (use browser, device or paste)", o.flow);
		goto out;
	}
	kr = mh_signin_open_store(a, o.token_store, &error);
	if (kr == NULL)
		goto out;
	if (flow == MH_PROVIDER_FLOW_NONE) {
		login_password(kr, a, &error);
		goto out;
	}
	t = login_oauth2(a, flow, &error);
	if (t == NULL || !mh_signin_save(kr, a, t, &error))
		goto out;
	printf("Signed in as %s (%s); the tokens are in the %s store.\n", a->user, a->provider_name,
	       mh_keyring_name(kr));
out:
	mh_oauth2_token_free(t);
	login_opts_clear(&o);
	return cli_finish(error, MH_EXIT_OK);
}

/* --- token, logout, accounts --- */

int
mh_cmd_token(int argc, char **argv)
{
	struct login_opts o = {0};
	g_autoptr(GOptionContext) ctx = login_context(
		&o, "ACCOUNT",
		"Print a fresh access token of a signed-in account (for other tools).", false);
	g_autoptr(GError) error = NULL;
	g_autoptr(mh_config) cfg = NULL;
	g_autoptr(mh_account) a = login_parse(ctx, &o, &argc, &argv, &cfg, &error);
	g_autoptr(mh_keyring) kr = NULL;
	struct mh_oauth2_token *t = NULL;

	if (a == NULL || (kr = mh_signin_open_store(a, o.token_store, &error)) == NULL ||
	    (t = mh_signin_load(kr, a, &error)) == NULL ||
	    !mh_signin_refresh(kr, a, t, false, NULL, &error))
		goto out;
	printf("%s\n", t->access_token);
out:
	mh_oauth2_token_free(t);
	login_opts_clear(&o);
	return cli_finish(error, MH_EXIT_OK);
}

int
mh_cmd_logout(int argc, char **argv)
{
	struct login_opts o = {0};
	g_autoptr(GOptionContext) ctx = login_context(
		&o, "ACCOUNT", "Forget an account's stored sign-in (and revoke it where possible).",
		false);
	g_autoptr(GError) error = NULL;
	g_autoptr(mh_config) cfg = NULL;
	g_autoptr(mh_account) a = login_parse(ctx, &o, &argc, &argv, &cfg, &error);
	g_autoptr(mh_keyring) kr = NULL;
	g_autofree char *key = NULL;
	struct mh_oauth2_token *t = NULL;
	struct mh_oauth2_client c;
	int rc;

	if (a == NULL || (kr = mh_signin_open_store(a, o.token_store, &error)) == NULL)
		goto out;
	t = mh_signin_load(kr, a, NULL);
	if (t != NULL && a->set.revoke_url != NULL && mh_signin_client(a, &c, NULL)) {
		g_autoptr(GError) rerr = NULL;

		if (!mh_oauth2_revoke(
			    &c, t->refresh_token != NULL ? t->refresh_token : t->access_token,
			    t->refresh_token != NULL ? "refresh_token" : "access_token", &rerr))
			mh_log(MH_LOG_WARN, "could not revoke the sign-in at the provider: %s",
			       rerr->message);
	}
	key = mh_signin_key(a);
	rc = mh_keyring_clear(kr, key, &error);
	if (rc > 0)
		printf("Signed out of %s.\n", a->name);
	else if (rc == 0)
		printf("%s was not signed in.\n", a->name);
out:
	mh_oauth2_token_free(t);
	login_opts_clear(&o);
	return cli_finish(error, MH_EXIT_OK);
}

static void
accounts_print(struct mh_keyring *kr, const char *key)
{
	g_autoptr(GError) error = NULL;
	char *secret = NULL;
	const char *account = key + strlen("oauth2:");
	g_autofree char *expiry = g_strdup("unknown");
	const char *p;

	if (mh_keyring_lookup(kr, key, &secret, &error) > 0 &&
	    (p = strstr(secret, "\nexpires_at=")) != NULL) {
		gint64 at = g_ascii_strtoll(p + 12, NULL, 10);
		g_autoptr(GDateTime) dt = at > 0 ? g_date_time_new_from_unix_local(at) : NULL;

		g_free(expiry);
		expiry = dt == NULL
		                 ? g_strdup("no expiry")
		                 : g_date_time_format(
					   dt, at < g_get_real_time() / G_USEC_PER_SEC
						       ? "expired %Y-%m-%d %H:%M (renewed on use)"
						       : "access token until %Y-%m-%d %H:%M");
	}
	mh_secret_free(secret);
	printf("%-40s  oauth2  %-7s  %s\n", account, mh_keyring_name(kr), expiry);
}

/* Lists one store's sign-ins; returns how many. */
static guint
accounts_list_store(struct mh_keyring *kr, GError **error)
{
	g_autoptr(GPtrArray) keys = NULL;
	guint n = 0;

	if (!mh_keyring_list(kr, &keys, error))
		return 0;
	for (guint i = 0; i < keys->len; i++) {
		if (g_str_has_prefix(keys->pdata[i], "oauth2:")) {
			accounts_print(kr, keys->pdata[i]);
			n++;
		} else if (g_str_has_prefix(keys->pdata[i], "password:")) {
			printf("%-40s  password  %-7s\n",
			       (char *)keys->pdata[i] + strlen("password:"), mh_keyring_name(kr));
			n++;
		}
	}
	return n;
}

int
mh_cmd_accounts(int argc, char **argv)
{
	struct login_opts o = {0};
	g_autoptr(GOptionContext) ctx = login_context(
		&o, NULL,
		"List the stored sign-ins of both stores, the keyring and the file store (never a "
		"secret).",
		false);
	g_autoptr(GError) error = NULL;
	static const char *const stores[] = {"keyring", "file"};
	guint found = 0;

	if (!g_option_context_parse(ctx, &argc, &argv, &error) || !cli_set_debug(o.debug, &error))
		goto out;
	for (size_t i = 0; i < G_N_ELEMENTS(stores); i++) {
		g_autoptr(GError) serr = NULL;
		g_autoptr(mh_keyring) kr = NULL;

		if (o.token_store != NULL && g_ascii_strcasecmp(o.token_store, stores[i]) != 0)
			continue;
		kr = mh_signin_open_store(NULL, stores[i], &serr);
		if (kr != NULL)
			found += accounts_list_store(kr, &serr);
		if (serr == NULL)
			continue;
		if (o.token_store != NULL) {
			g_propagate_error(&error, g_steal_pointer(&serr));
			goto out;
		}
		/* Both stores asked: say why one could not be read, and go on. */
		mh_log(MH_LOG_WARN, "%s", serr->message);
	}
	if (found == 0)
		printf("No stored sign-ins.\n");
out:
	login_opts_clear(&o);
	return cli_finish(error, MH_EXIT_OK);
}
