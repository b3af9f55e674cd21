/* SPDX-License-Identifier: MIT */
/* Signing in with an OAuth2 access token, refreshed once when the server refuses it as
 * expired or invalid (RFC 6750 section 3.1; RFC 7628 section 3.2.2 for the SASL error
 * report that says so). */
#include "sync-token.h"

#include "mh-log.h"
#include "mh-secret.h"

bool
mh_token_login_run(const struct mh_token_login *l, GError **error)
{
	GError *local = NULL;

	if (l->get == NULL)
		return l->attempt(NULL, l->attempt_ctx, error);
	for (int attempt = 0; attempt < 2; attempt++) {
		char *token = l->get(l->get_ctx, attempt > 0, error);
		bool ok;

		if (token == NULL)
			return false;
		ok = l->attempt(token, l->attempt_ctx, &local);
		mh_secret_free(token);
		if (ok)
			return true;
		if (attempt > 0 || !g_error_matches(local, l->expired_domain, l->expired_code))
			break;
		if (l->refused != NULL)
			l->refused(l->attempt_ctx);
		g_clear_error(&local);
	}
	g_propagate_error(error, local);
	return false;
}

struct token_imap {
	struct mh_imap_conn *conn;
	const struct mh_imap_credentials *cred;
	const char *label;
};

static bool
token_imap_attempt(const char *token, void *ctx, GError **error)
{
	const struct token_imap *ti = ctx;
	struct mh_imap_credentials cred = *ti->cred;

	if (token != NULL) {
		cred.token = token;
		cred.password = NULL;
	}
	return mh_imap_conn_login(ti->conn, &cred, error);
}

static void
token_imap_refused(void *ctx)
{
	const struct token_imap *ti = ctx;

	mh_log(MH_LOG_INFO, "%s: the access token was refused; getting a fresh one", ti->label);
}

bool
mh_token_login_imap(struct mh_imap_conn *conn, const struct mh_imap_credentials *cred,
                    mh_token_get_cb *get, void *get_ctx, const char *label, GError **error)
{
	struct token_imap ti = {.conn = conn, .cred = cred, .label = label};
	const struct mh_token_login l = {
		.get = get,
		.get_ctx = get_ctx,
		.attempt = token_imap_attempt,
		.attempt_ctx = &ti,
		.expired_domain = MH_IMAP_ERROR,
		.expired_code = MH_IMAP_ERROR_TOKEN_EXPIRED,
		.refused = label != NULL ? token_imap_refused : NULL,
	};

	return mh_token_login_run(&l, error);
}
