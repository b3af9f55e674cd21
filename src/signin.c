/* SPDX-License-Identifier: MIT */
/* Stored sign-ins. A token record is a small text in a secret buffer, never JSON built by a
 * library (its copies could not be wiped):
 *   mailhaul-token 1\naccess_token=...\nrefresh_token=...\nexpires_at=N\nscope=...\n */
#include "signin.h"

#include <string.h>

#include "cli.h"
#include "mh-log.h"
#include "mh-secret.h"
#include "sasl.h"

#define REFRESH_MARGIN_S 120

struct mh_keyring *
mh_signin_open_store(const struct mh_account *a, const char *store_opt, GError **error)
{
	enum mh_token_store store = MH_TOKEN_STORE_KEYRING;

	if (store_opt != NULL) {
		if (!mh_token_store_parse(store_opt, &store)) {
			g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
			            "unknown --token-store '%s' (use keyring or file)", store_opt);
			return NULL;
		}
	} else if (a != NULL && a->set.token_store >= 0) {
		store = (enum mh_token_store)a->set.token_store;
	}
	return store == MH_TOKEN_STORE_FILE ? mh_keyring_file_new(NULL, error)
	                                    : mh_keyring_secret_new(error);
}

bool
mh_signin_client(const struct mh_account *a, struct mh_oauth2_client *c, GError **error)
{
	memset(c, 0, sizeof(*c));
	if (a->set.token_url == NULL) {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
		            "provider %s has no OAuth2 token-url: it signs in with a password",
		            a->provider_name);
		return false;
	}
	if (a->set.client_id == NULL) {
		const char *help =
			a->builtin != NULL && a->builtin->client_help != NULL
				? a->builtin->client_help
				: "Register an OAuth client with the provider.\nThen put "
				  "client-id (and client-secret if it has one) in the config "
				  "file.";
		g_auto(GStrv) lines = g_strsplit(help, "\n", -1);
		g_autofree char *indented = g_strjoinv("\n  ", lines);

		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
		            "no OAuth client id is configured for %s\n  %s", a->provider_name,
		            indented);
		return false;
	}
	c->token_url = a->set.token_url;
	c->auth_url = a->set.auth_url;
	c->device_url = a->set.device_url;
	c->revoke_url = a->set.revoke_url;
	c->client_id = a->set.client_id;
	c->client_secret = a->set.client_secret;
	c->scopes = a->set.scopes;
	/* The redirect URI Microsoft names for desktop apps that use the system browser is
	 * http://localhost (docs/providers.md, Microsoft 365 "Sign-in"). */
	if (g_strcmp0(a->provider_name, "m365") == 0)
		c->redirect_host = "localhost";
	return true;
}

bool
mh_signin_client_for_grant(const struct mh_account *a, bool service_account,
                           struct mh_oauth2_client *c, GError **error)
{
	memset(c, 0, sizeof(*c));
	if (a->set.token_url == NULL) {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
		            "provider %s has no OAuth2 token-url", a->provider_name);
		return false;
	}
	c->token_url = a->set.token_url;
	c->scopes = a->set.scopes;
	c->client_id = a->set.client_id;
	c->client_secret = a->set.client_secret;
	if (service_account)
		return true;
	if (a->set.client_id == NULL || a->set.client_secret == NULL) {
		g_set_error(
			error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
			"app-only access needs client-id and client-secret for %s in the config "
			"file",
			a->provider_name);
		return false;
	}
	/* Microsoft's app-only IMAP token is for the resource, not the delegated scope. */
	if (g_strcmp0(a->provider_name, "m365") == 0)
		c->scopes = "https://outlook.office365.com/.default";
	return true;
}

char *
mh_signin_key(const struct mh_account *a)
{
	return g_strdup_printf("oauth2:%s:%s", a->provider_name, a->user);
}

/* --- the token record --- */

static char *
record_build(const struct mh_oauth2_token *t)
{
	g_autofree char *head =
		g_strdup_printf("mailhaul-token 1\nexpires_at=%" G_GINT64_FORMAT "\nscope=%s\n",
	                        t->expires_at, t->scope != NULL ? t->scope : "");
	const char *rt = t->refresh_token != NULL ? t->refresh_token : "";
	size_t len = strlen(head) + strlen("access_token=\n") + strlen(t->access_token) +
	             strlen("refresh_token=\n") + strlen(rt);
	char *buf = mh_secret_alloc(len);

	g_snprintf(buf, len + 1, "%saccess_token=%s\nrefresh_token=%s\n", head, t->access_token,
	           rt);
	return buf;
}

static struct mh_oauth2_token *
record_parse(const char *text, GError **error)
{
	struct mh_oauth2_token *t = mh_oauth2_token_new();
	const char *p = text;

	if (!g_str_has_prefix(text, "mailhaul-token 1\n")) {
		mh_oauth2_token_free(t);
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_DENIED,
		            "the stored sign-in is not readable");
		return NULL;
	}
	while ((p = strchr(p, '\n')) != NULL && *++p != '\0') {
		size_t n = strcspn(p, "\n");

		if (g_str_has_prefix(p, "access_token="))
			t->access_token = mh_secret_strndup(p + 13, n - 13);
		else if (g_str_has_prefix(p, "refresh_token=") && n > 14)
			t->refresh_token = mh_secret_strndup(p + 14, n - 14);
		else if (g_str_has_prefix(p, "expires_at="))
			t->expires_at = g_ascii_strtoll(p + 11, NULL, 10);
		else if (g_str_has_prefix(p, "scope=") && n > 6)
			t->scope = g_strndup(p + 6, n - 6);
	}
	if (t->access_token == NULL) {
		mh_oauth2_token_free(t);
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_DENIED,
		            "the stored sign-in has no access token");
		return NULL;
	}
	return t;
}

struct mh_oauth2_token *
mh_signin_load(struct mh_keyring *kr, const struct mh_account *a, GError **error)
{
	g_autofree char *key = mh_signin_key(a);
	char *secret = NULL;
	struct mh_oauth2_token *t;
	int rc = mh_keyring_lookup(kr, key, &secret, error);

	if (rc < 0)
		return NULL;
	if (rc == 0) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_DENIED,
		            "%s is not signed in: run `mailhaul login %s`", a->name, a->name);
		return NULL;
	}
	t = record_parse(secret, error);
	mh_secret_free(secret);
	return t;
}

bool
mh_signin_save(struct mh_keyring *kr, const struct mh_account *a, const struct mh_oauth2_token *t,
               GError **error)
{
	g_autofree char *key = mh_signin_key(a);
	char *record;
	bool ok;

	if (strpbrk(t->access_token, "\r\n") != NULL ||
	    (t->refresh_token != NULL && strpbrk(t->refresh_token, "\r\n") != NULL)) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROVIDER,
		            "the token endpoint sent a token with a line break");
		return false;
	}
	record = record_build(t);
	ok = mh_keyring_store(kr, key, record, error);
	mh_secret_free(record);
	return ok;
}

/* A refresh token the token endpoint refused with invalid_grant gets the provider's reasons
 * and the way to avoid them, on the same one line, with the server's own words kept. */
static void
signin_explain_refusal(const struct mh_account *a, GError **error)
{
	const char *help = a->builtin != NULL ? a->builtin->refresh_refused_help : NULL;
	GError *e = error != NULL ? *error : NULL;
	const char *words;
	char *msg;

	if (help == NULL || e == NULL || !g_error_matches(e, MH_AUTH_ERROR, MH_AUTH_ERROR_DENIED))
		return;
	/* mh_oauth2_error_message() ends with " (invalid_grant: the server's words)" */
	words = strstr(e->message, " (invalid_grant");
	if (words == NULL)
		return;
	msg = g_strdup_printf("the sign-in of %s has expired or was revoked%s: %s; then run "
	                      "`mailhaul login %s` again",
	                      a->name, words, help, a->name);
	g_free(e->message);
	e->message = msg;
}

bool
mh_signin_refresh(struct mh_keyring *kr, const struct mh_account *a, struct mh_oauth2_token *t,
                  bool force, bool *refreshed_r, GError **error)
{
	struct mh_oauth2_client c;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	if (refreshed_r != NULL)
		*refreshed_r = false;
	if (!force && (t->expires_at == 0 || t->expires_at - REFRESH_MARGIN_S > now))
		return true;
	if (t->refresh_token == NULL) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_DENIED,
		            "the sign-in of %s has expired and cannot be renewed: run `mailhaul "
		            "login %s` again",
		            a->name, a->name);
		return false;
	}
	if (!mh_signin_client(a, &c, error))
		return false;
	mh_log_debug(MH_LOG_CAT_AUTH, "refreshing the access token of %s", a->name);
	if (!mh_oauth2_refresh(&c, t, a->name, error)) {
		signin_explain_refusal(a, error);
		return false;
	}
	if (refreshed_r != NULL)
		*refreshed_r = true;
	return mh_signin_save(kr, a, t, error);
}

/* --- a token source for long runs --- */

struct mh_token_source {
	struct mh_account *acct;       /* owned */
	struct mh_keyring *kr;         /* owned */
	struct mh_oauth2_token *token; /* owned */
	gint64 refreshed;              /* monotonic µs of the last refresh, 0 = never */
	gint64 lifetime;               /* seconds the token had left when last refreshed */
	struct mh_oauth2_sa_key *sa;   /* owned; a Google service account (JWT bearer) */
	bool app_only;                 /* client credentials (Microsoft app-only) */
	GMutex lock;
};

struct mh_token_source *
mh_token_source_new(struct mh_account *a, const char *store_opt, GError **error)
{
	struct mh_token_source *ts = g_new0(struct mh_token_source, 1);

	ts->acct = a;
	g_mutex_init(&ts->lock);
	ts->kr = mh_signin_open_store(a, store_opt, error);
	if (ts->kr != NULL)
		ts->token = mh_signin_load(ts->kr, a, error);
	if (ts->token == NULL) {
		ts->acct = NULL; /* the caller keeps it on failure */
		mh_token_source_free(ts);
		return NULL;
	}
	return ts;
}

static char *token_source_get_stored(struct mh_token_source *ts, bool force, GError **error);

struct mh_token_source *
mh_token_source_new_minted(struct mh_account *a, const char *sa_key_file, GError **error)
{
	struct mh_token_source *ts;
	struct mh_oauth2_client c;

	if (!mh_signin_client_for_grant(a, sa_key_file != NULL, &c, error))
		return NULL;
	ts = g_new0(struct mh_token_source, 1);
	g_mutex_init(&ts->lock);
	if (sa_key_file != NULL) {
		ts->sa = mh_oauth2_sa_key_load(sa_key_file, error);
		if (ts->sa == NULL) {
			mh_token_source_free(ts);
			return NULL;
		}
	} else {
		ts->app_only = true;
	}
	ts->acct = a;
	return ts;
}

/* A new token by the service account or the client credentials; under ts->lock. */
static bool
token_source_mint(struct mh_token_source *ts, GError **error)
{
	struct mh_oauth2_client c;
	struct mh_oauth2_token *t;

	if (!mh_signin_client_for_grant(ts->acct, ts->sa != NULL, &c, error))
		return false;
	mh_log_debug(MH_LOG_CAT_AUTH, "getting an access token for %s (%s)", ts->acct->name,
	             ts->sa != NULL ? "service account" : "app-only client credentials");
	t = ts->sa != NULL ? mh_oauth2_jwt_bearer(&c, ts->sa, ts->acct->user, error)
	                   : mh_oauth2_client_credentials(&c, error);
	if (t == NULL)
		return false;
	mh_oauth2_token_free(ts->token);
	ts->token = t;
	return true;
}

char *
mh_token_source_get(struct mh_token_source *ts, bool force, GError **error)
{
	if (ts->sa != NULL || ts->app_only) {
		gint64 now = g_get_real_time() / G_USEC_PER_SEC;
		char *copy = NULL;

		g_mutex_lock(&ts->lock);
		if (!force && ts->token != NULL &&
		    (ts->token->expires_at == 0 || ts->token->expires_at - 60 > now))
			copy = mh_secret_strdup(ts->token->access_token);
		else if (token_source_mint(ts, error))
			copy = mh_secret_strdup(ts->token->access_token);
		g_mutex_unlock(&ts->lock);
		return copy;
	}
	return token_source_get_stored(ts, force, error);
}

/* Whether the token refreshed last is still good for a new connection: it has more than
 * a third of its lifetime left, or REFRESH_MARGIN_S when that is less. A short-lived token
 * (minutes, or seconds in tests) is then refreshed in time for every login, and a long one
 * is not refreshed at every connection (which would only rotate the refresh token). */
static bool
token_source_fresh(const struct mh_token_source *ts)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	gint64 margin = MIN(REFRESH_MARGIN_S, ts->lifetime / 3);

	return ts->refreshed != 0 && ts->token->expires_at != 0 &&
	       ts->token->expires_at - margin > now;
}

static char *
token_source_get_stored(struct mh_token_source *ts, bool force, GError **error)
{
	bool refreshed = false;
	char *copy = NULL;

	g_mutex_lock(&ts->lock);
	if ((!force && token_source_fresh(ts)) ||
	    mh_signin_refresh(ts->kr, ts->acct, ts->token, force, &refreshed, error)) {
		if (refreshed) {
			ts->refreshed = g_get_monotonic_time();
			ts->lifetime = ts->token->expires_at - g_get_real_time() / G_USEC_PER_SEC;
		}
		copy = mh_secret_strdup(ts->token->access_token);
	}
	g_mutex_unlock(&ts->lock);
	return copy;
}

void
mh_token_source_free(struct mh_token_source *ts)
{
	if (ts == NULL)
		return;
	mh_oauth2_token_free(ts->token);
	mh_oauth2_sa_key_free(ts->sa);
	mh_keyring_free(ts->kr);
	mh_account_free(ts->acct);
	g_mutex_clear(&ts->lock);
	g_free(ts);
}
