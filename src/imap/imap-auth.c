/* SPDX-License-Identifier: MIT */
/* Password authentication for the IMAP client: chooses a SASL mechanism from the
 * server's AUTH= capabilities, frames it as AUTHENTICATE (RFC 3501 6.2.2) with SASL-IR
 * (RFC 4959) when offered, falls back to the LOGIN command, and re-reads capabilities
 * afterwards. Every secret line is sent as a sensitive, redacted segment. */
#include "imap-private.h"

#include <string.h>

#include "mh-log.h"
#include "mh-secret.h"
#include "sasl.h"

struct auth_ctx {
	struct mh_sasl_client *sasl; /* borrowed */
	GError *error;               /* owned; why we cancelled the exchange */
};

/* Returns base64(@data) in a secret buffer of exactly its length; "=" for empty data
 * when @empty_as_equals (RFC 4959's empty initial response). */
static char *
auth_base64_secret(const unsigned char *data, size_t len, bool empty_as_equals)
{
	char *work;
	char *exact;
	gint state = 0;
	gint save = 0;
	gsize n;

	if (len == 0 && empty_as_equals)
		return mh_secret_strdup("=");
	work = mh_secret_alloc((len / 3 + 2) * 4 + 4);
	n = g_base64_encode_step(data, len, false, work, &state, &save);
	n += g_base64_encode_close(false, work + n, &state, &save);
	exact = mh_secret_strndup(work, n);
	mh_secret_free(work);
	return exact;
}

static bool
auth_base64_valid(const char *s)
{
	size_t len = strlen(s);

	if (len % 4 != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!g_ascii_isalnum(s[i]) && s[i] != '+' && s[i] != '/' &&
		    !(s[i] == '=' && i + 2 >= len))
			return false;
	}
	return true;
}

static bool
auth_cancel(struct mh_imap_conn *conn, struct auth_ctx *ac, GError *why, GError **error)
{
	if (ac->error == NULL)
		ac->error = why;
	else
		g_error_free(why);
	return imap_conn_write_line(conn, "*", 1, false, error);
}

static bool
on_auth_continuation(struct mh_imap_conn *conn, struct mh_imap_cmd *cmd, const char *text,
                     void *ctx, GError **error)
{
	struct auth_ctx *ac = ctx;
	g_autofree unsigned char *challenge = NULL;
	const unsigned char *out;
	size_t out_len;
	gsize len = 0;
	GError *why = NULL;
	char *line;
	bool ok;

	(void)cmd;
	if (!auth_base64_valid(text))
		return auth_cancel(conn, ac,
		                   g_error_new(MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL,
		                               "the server's SASL challenge is not base64"),
		                   error);
	challenge = *text != '\0' ? g_base64_decode(text, &len) : NULL;
	if (!mh_sasl_client_input(ac->sasl, challenge, len, &why) ||
	    !mh_sasl_client_output(ac->sasl, &out, &out_len, &why))
		return auth_cancel(conn, ac, why, error);
	line = auth_base64_secret(out, out_len, false);
	ok = imap_conn_write_line(conn, line, strlen(line), true, error);
	mh_secret_free(line);
	return ok;
}

/* Whether a refused AUTHENTICATE (@text as imap_run_check_status words it, "[CODE] text")
 * is about the credentials: no response code, or one of RFC 5530's credential codes. Gmail
 * sends its error challenge before any refusal, also before "[ALERT] Too many simultaneous
 * connections", which says nothing about the token. */
static bool
auth_refusal_is_about_credentials(const char *text)
{
	static const char *const codes[] = {"[AUTHENTICATIONFAILED]", "[AUTHORIZATIONFAILED]",
	                                    "[EXPIRED]"};

	if (text[0] != '[')
		return true;
	for (size_t i = 0; i < G_N_ELEMENTS(codes); i++) {
		if (g_str_has_prefix(text, codes[i]))
			return true;
	}
	return false;
}

/* Passes @local on, but for a token the server explained (its JSON report) gives that
 * explanation and whether a fresh token may help. */
static void
auth_token_error(struct mh_sasl_client *sasl, GError *local, GError **error)
{
	g_autofree char *status = NULL;
	g_autofree char *message = NULL;

	if (local->domain != MH_IMAP_ERROR || local->code != MH_IMAP_ERROR_NO ||
	    !auth_refusal_is_about_credentials(local->message) ||
	    !mh_sasl_client_error(sasl, &status, &message)) {
		g_propagate_error(error, local);
		return;
	}
	g_set_error(error, MH_IMAP_ERROR,
	            mh_sasl_client_token_expired(sasl) ? MH_IMAP_ERROR_TOKEN_EXPIRED
	                                               : MH_IMAP_ERROR_AUTH,
	            "%s (%s)", message, local->message);
	g_error_free(local);
}

static struct mh_imap_cmd *
auth_build_authenticate(struct mh_imap_conn *conn, const struct mh_sasl_mech *mech,
                        struct auth_ctx *ac, GError **error)
{
	struct mh_imap_cmd *cmd = mh_imap_cmd_new(MH_IMAP_CMD_PRELOGIN | MH_IMAP_CMD_SENSITIVE,
	                                          "AUTHENTICATE %s", mech->name);

	if ((mech->flags & MH_SASL_MECH_INITIAL) && mh_imap_conn_has_cap(conn, "SASL-IR")) {
		const unsigned char *out;
		size_t out_len;

		if (!mh_sasl_client_output(ac->sasl, &out, &out_len, error)) {
			mh_imap_cmd_free(cmd);
			return NULL;
		}
		imap_cmd_add_secret_raw(cmd, auth_base64_secret(out, out_len, true));
	}
	imap_cmd_set_continuation(cmd, on_auth_continuation, ac);
	return cmd;
}

static bool
auth_run_sasl(struct mh_imap_conn *conn, const struct mh_sasl_mech *mech,
              const struct mh_imap_credentials *cred, struct mh_imap_response **tagged_r,
              GError **error)
{
	const struct mh_imap_settings *is = imap_conn_settings(conn);
	struct mh_sasl_settings set = {
		.authid = cred->authuser != NULL ? cred->authuser : cred->user,
		.authzid = cred->authuser != NULL ? cred->user : NULL,
		.password = cred->token == NULL ? cred->password : NULL,
		.token = cred->token,
		.host = is->host,
		.port = is->port,
	};
	g_autoptr(mh_sasl_client) sasl = mh_sasl_client_new(mech, &set, error);
	struct auth_ctx ac = {.sasl = sasl};
	GError *local = NULL;
	struct mh_imap_cmd *cmd;
	bool ok;

	if (sasl == NULL)
		return false;
	cmd = auth_build_authenticate(conn, mech, &ac, error);
	if (cmd == NULL)
		return false;
	ok = mh_imap_cmd_run(conn, cmd, tagged_r, &local);
	if (ac.error != NULL) {
		g_clear_error(&local);
		g_propagate_error(error, ac.error);
		return false;
	}
	if (!ok)
		auth_token_error(sasl, local, error);
	return ok;
}

static bool
auth_run_login_command(struct mh_imap_conn *conn, const struct mh_imap_credentials *cred,
                       struct mh_imap_response **tagged_r, GError **error)
{
	struct mh_imap_cmd *cmd =
		mh_imap_cmd_new(MH_IMAP_CMD_PRELOGIN | MH_IMAP_CMD_SENSITIVE, "LOGIN");

	mh_imap_cmd_add_astring(cmd, cred->user);
	mh_imap_cmd_add_secret(cmd, cred->password);
	return mh_imap_cmd_run(conn, cmd, tagged_r, error);
}

/* The server's AUTH= mechanisms as a NULL-terminated array (caller frees). */
static GStrv
auth_server_mechs(struct mh_imap_conn *conn)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();

	for (const char *const *c = mh_imap_conn_caps(conn); *c != NULL; c++) {
		if (g_ascii_strncasecmp(*c, "AUTH=", 5) == 0)
			g_strv_builder_add(b, *c + 5);
	}
	return g_strv_builder_end(b);
}

static void
auth_set_no_mech(struct mh_imap_conn *conn, const char *wanted, GError **error)
{
	g_auto(GStrv) mechs = auth_server_mechs(conn);
	g_autofree char *offered = g_strjoinv(", ", mechs);
	bool login_off = mh_imap_conn_has_cap(conn, "LOGINDISABLED");

	g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_AUTH_MECH,
	            "%s offers none of the allowed mechanisms%s%s (it offers: %s%s%s)",
	            imap_conn_settings(conn)->host, wanted != NULL ? ": asked for " : "",
	            wanted != NULL ? wanted : "", *offered != '\0' ? offered : "no SASL mechanism",
	            login_off ? "; the LOGIN command is disabled" : "",
	            login_off && !imap_conn_is_secure(conn) ? " without TLS" : "");
}

/* For a token: OAUTHBEARER where offered, else XOAUTH2 (Microsoft offers only that). */
static bool
auth_choose_token(struct mh_imap_conn *conn, const struct mh_imap_credentials *cred,
                  const char *const *mechs, const struct mh_sasl_mech **mech_r, GError **error)
{
	static const char *const order[] = {"OAUTHBEARER", "XOAUTH2", NULL};

	for (size_t i = 0; order[i] != NULL; i++) {
		if (cred->mechanism != NULL && g_ascii_strcasecmp(cred->mechanism, order[i]) != 0)
			continue;
		if (g_strv_contains(mechs, order[i])) {
			*mech_r = mh_sasl_mech_find(order[i]);
			return true;
		}
	}
	auth_set_no_mech(conn, cred->mechanism != NULL ? cred->mechanism : "OAUTHBEARER or XOAUTH2",
	                 error);
	return false;
}

/* Chooses the mechanism: *mech_r NULL with true means the LOGIN command. */
static bool
auth_choose(struct mh_imap_conn *conn, const struct mh_imap_credentials *cred,
            const struct mh_sasl_mech **mech_r, GError **error)
{
	g_auto(GStrv) mechs = auth_server_mechs(conn);
	bool need_authzid = cred->authuser != NULL;
	bool login_ok = !need_authzid && !mh_imap_conn_has_cap(conn, "LOGINDISABLED");
	const struct mh_sasl_mech *m;

	if (cred->token != NULL)
		return auth_choose_token(conn, cred, (const char *const *)mechs, mech_r, error);
	if (cred->mechanism == NULL) {
		*mech_r = mh_sasl_mech_choose((const char *const *)mechs, need_authzid,
		                              cred->allow_cram_md5);
		if (*mech_r != NULL || login_ok)
			return true;
		auth_set_no_mech(conn, NULL, error);
		return false;
	}
	m = mh_sasl_mech_find(cred->mechanism);
	if (m == NULL || !(m->flags & MH_SASL_MECH_PASSWORD)) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
		            "unknown authentication mechanism '%s' for a password (use "
		            "CRAM-MD5, PLAIN or LOGIN)",
		            cred->mechanism);
		return false;
	}
	*mech_r = g_strv_contains((const char *const *)mechs, m->name) ? m : NULL;
	if (*mech_r != NULL || (strcmp(m->name, "LOGIN") == 0 && login_ok))
		return true;
	auth_set_no_mech(conn, m->name, error);
	return false;
}

static bool
auth_check_cleartext(struct mh_imap_conn *conn, const struct mh_imap_credentials *cred,
                     const struct mh_sasl_mech *mech, GError **error)
{
	bool plaintext =
		mech == NULL || (mech->flags & (MH_SASL_MECH_PLAINTEXT | MH_SASL_MECH_TOKEN));

	if (!plaintext || imap_conn_is_secure(conn) || mh_imap_conn_is_loopback(conn) ||
	    cred->cleartext_ok)
		return true;
	g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TLS,
	            "refusing to send the password in clear to %s over an unencrypted "
	            "connection: use --ssl or --tls, or --notls to accept the risk",
	            imap_conn_settings(conn)->host);
	return false;
}

bool
mh_imap_conn_login(struct mh_imap_conn *conn, const struct mh_imap_credentials *cred,
                   GError **error)
{
	const struct mh_sasl_mech *mech = NULL;
	g_autoptr(mh_imap_response) tagged = NULL;
	const char *name;
	GError *local = NULL;

	if (mh_imap_conn_state(conn) == MH_IMAP_STATE_AUTHENTICATED)
		return true; /* PREAUTH */
	g_return_val_if_fail(mh_imap_conn_state(conn) == MH_IMAP_STATE_NOT_AUTHENTICATED, false);
	if (!auth_choose(conn, cred, &mech, error) ||
	    !auth_check_cleartext(conn, cred, mech, error))
		return false;
	name = mech != NULL ? mech->name : "LOGIN command";
	mh_log_debug(MH_LOG_CAT_AUTH, "authenticating as %s%s%s with %s",
	             cred->authuser != NULL ? cred->authuser : cred->user,
	             cred->authuser != NULL ? " for " : "",
	             cred->authuser != NULL ? cred->user : "", name);
	if (!(mech != NULL ? auth_run_sasl(conn, mech, cred, &tagged, &local)
	                   : auth_run_login_command(conn, cred, &tagged, &local))) {
		if (local->domain == MH_IMAP_ERROR &&
		    (local->code == MH_IMAP_ERROR_NO || local->code == MH_IMAP_ERROR_BAD))
			local->code = MH_IMAP_ERROR_AUTH;
		g_propagate_prefixed_error(error, local, "authentication as %s with %s failed: ",
		                           cred->authuser != NULL ? cred->authuser : cred->user,
		                           name);
		return false;
	}
	imap_conn_set_auth_mechanism(conn, name);
	imap_conn_set_state(conn, MH_IMAP_STATE_AUTHENTICATED);
	if (g_strcmp0(tagged->code, "CAPABILITY") == 0)
		return true;
	imap_conn_forget_caps(conn);
	return mh_imap_capability(conn, error);
}
