/* SPDX-License-Identifier: MIT */
/* The SASL client mechanism table and the client object that dispatches to a
 * mechanism's vtable. Mechanisms are pure: decoded server bytes in, reply bytes out
 * (RFC 4422 section 3); framing and base64 are the IMAP layer's job. */
#include "sasl-private.h"

#include "mh-secret.h"

#include <string.h>

/* Written out: clang-format would put spaces into G_DEFINE_QUARK's hyphenated name. */
GQuark
mh_auth_error_quark(void)
{
	return g_quark_from_static_string("mh-auth-error-quark");
}

/* Password mechanisms ordered by rank, strongest first, so that mh_sasl_mech_choose()
 * takes the first fit; then the token mechanisms, which it skips. */
static const struct sasl_mech_entry {
	struct mh_sasl_mech mech; /* first: a pointer to it is a pointer to the entry */
	const struct mh_sasl_mech_ops *ops;
} sasl_mechs[] = {
	{{"CRAM-MD5", MH_SASL_MECH_PASSWORD, 30}, &mh_sasl_cram_md5_ops},
	{{"PLAIN", MH_SASL_MECH_PLAINTEXT | MH_SASL_MECH_INITIAL | MH_SASL_MECH_PASSWORD, 20},
         &mh_sasl_plain_ops},
	{{"LOGIN", MH_SASL_MECH_PLAINTEXT | MH_SASL_MECH_PASSWORD, 10}, &mh_sasl_login_ops},
	{{"OAUTHBEARER", MH_SASL_MECH_INITIAL | MH_SASL_MECH_TOKEN, 20}, &mh_sasl_oauthbearer_ops},
	{{"XOAUTH2", MH_SASL_MECH_INITIAL | MH_SASL_MECH_TOKEN, 10}, &mh_sasl_xoauth2_ops},
};

static const struct sasl_mech_entry *
sasl_mech_entry(const struct mh_sasl_mech *mech)
{
	for (size_t i = 0; i < G_N_ELEMENTS(sasl_mechs); i++) {
		if (&sasl_mechs[i].mech == mech)
			return &sasl_mechs[i];
	}
	return NULL;
}

const struct mh_sasl_mech *
mh_sasl_mech_find(const char *name)
{
	g_return_val_if_fail(name != NULL, NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(sasl_mechs); i++) {
		if (g_ascii_strcasecmp(sasl_mechs[i].mech.name, name) == 0)
			return &sasl_mechs[i].mech;
	}
	return NULL;
}

static bool
sasl_mech_offered(const char *name, const char *const *server_mechs)
{
	for (size_t i = 0; server_mechs[i] != NULL; i++) {
		if (g_ascii_strcasecmp(server_mechs[i], name) == 0)
			return true;
	}
	return false;
}

const struct mh_sasl_mech *
mh_sasl_mech_choose(const char *const *server_mechs, bool need_authzid, bool allow_cram_md5)
{
	if (server_mechs == NULL)
		return NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(sasl_mechs); i++) {
		const struct sasl_mech_entry *e = &sasl_mechs[i];

		if ((e->mech.flags & MH_SASL_MECH_PASSWORD) == 0)
			continue;
		if (need_authzid && !e->ops->authzid)
			continue;
		if (!allow_cram_md5 && e->ops == &mh_sasl_cram_md5_ops)
			continue;
		if (sasl_mech_offered(e->mech.name, server_mechs))
			return &e->mech;
	}
	return NULL;
}

static bool
sasl_token_settings_check(const struct mh_sasl_settings *set, GError **error)
{
	if (set->token == NULL || set->token[0] == '\0') {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE, "no access token given");
		return false;
	}
	return mh_sasl_oauth_check_value("user name", set->authid, error) &&
	       mh_sasl_oauth_check_value("access token", set->token, error);
}

static bool
sasl_settings_check(const struct mh_sasl_mech *mech, const struct mh_sasl_mech_ops *ops,
                    const struct mh_sasl_settings *set, GError **error)
{
	if (set->authid == NULL || set->authid[0] == '\0') {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE, "no user name given");
		return false;
	}
	if ((mech->flags & MH_SASL_MECH_PASSWORD) != 0 && set->password == NULL) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE, "no password given");
		return false;
	}
	if (set->authzid != NULL && set->authzid[0] != '\0' && !ops->authzid) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
		            "%s cannot carry an authorization identity (authzid)", mech->name);
		return false;
	}
	if ((mech->flags & MH_SASL_MECH_TOKEN) != 0 && !sasl_token_settings_check(set, error))
		return false;
	return ops->check == NULL || ops->check(set, error);
}

struct mh_sasl_client *
mh_sasl_client_new(const struct mh_sasl_mech *mech, const struct mh_sasl_settings *set,
                   GError **error)
{
	const struct sasl_mech_entry *e;
	struct mh_sasl_client *c;

	g_return_val_if_fail(mech != NULL, NULL);
	g_return_val_if_fail(set != NULL, NULL);
	e = sasl_mech_entry(mech);
	g_return_val_if_fail(e != NULL, NULL);

	if (!sasl_settings_check(mech, e->ops, set, error))
		return NULL;
	c = g_new0(struct mh_sasl_client, 1);
	c->mech = mech;
	c->ops = e->ops;
	c->authid = mh_secret_strdup(set->authid);
	if (set->authzid != NULL && set->authzid[0] != '\0')
		c->authzid = mh_secret_strdup(set->authzid);
	if (set->password != NULL && (mech->flags & MH_SASL_MECH_PASSWORD) != 0)
		c->password = mh_secret_strdup(set->password);
	if ((mech->flags & MH_SASL_MECH_TOKEN) != 0) {
		c->token = mh_secret_strdup(set->token);
		c->host = g_strdup(set->host);
		c->port = set->port;
	}
	return c;
}

void
mh_sasl_client_free(struct mh_sasl_client *c)
{
	if (c == NULL)
		return;
	mh_secret_free(c->authid);
	mh_secret_free(c->authzid);
	mh_secret_free(c->password);
	mh_secret_free(c->token);
	g_free(c->host);
	mh_secret_free(c->out);
	mh_sasl_oauth_error_free(c->report);
	mh_secret_wipe(c, sizeof(*c));
	g_free(c);
}

bool
mh_sasl_client_input(struct mh_sasl_client *c, const unsigned char *data, size_t len,
                     GError **error)
{
	g_return_val_if_fail(c != NULL, false);
	g_return_val_if_fail(data != NULL || len == 0, false);
	g_return_val_if_fail(error == NULL || *error == NULL, false);

	return c->ops->input(c, data, len, error);
}

bool
mh_sasl_client_output(struct mh_sasl_client *c, const unsigned char **data_r, size_t *len_r,
                      GError **error)
{
	g_return_val_if_fail(c != NULL, false);
	g_return_val_if_fail(data_r != NULL && len_r != NULL, false);
	g_return_val_if_fail(error == NULL || *error == NULL, false);

	*data_r = NULL;
	*len_r = 0;
	if (!c->ops->output(c, error))
		return false;
	g_assert(c->out != NULL);
	*data_r = c->out;
	*len_r = mh_secret_len(c->out);
	return true;
}

unsigned char *
mh_sasl_client_set_output(struct mh_sasl_client *c, size_t len)
{
	mh_secret_free(c->out);
	c->out = mh_secret_alloc(len);
	return c->out;
}

bool
mh_sasl_protocol_error(const struct mh_sasl_client *c, GError **error, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list args;

	va_start(args, fmt);
	msg = g_strdup_vprintf(fmt, args);
	va_end(args);
	g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROTOCOL, "%s: %s", c->mech->name, msg);
	return false;
}
