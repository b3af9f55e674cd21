/* SPDX-License-Identifier: MIT */
/* Token endpoint answers (RFC 6749 §5.1 success, §5.2 errors, RFC 8628 §3.5 device
 * errors): the token struct, parsing into it, and the messages the user reads when an
 * endpoint says no. */
#include "oauth2-private.h"

#include "mh-secret.h"

#include <string.h>

struct mh_oauth2_token *
mh_oauth2_token_new(void)
{
	return g_new0(struct mh_oauth2_token, 1);
}

void
mh_oauth2_token_free(struct mh_oauth2_token *t)
{
	if (t == NULL)
		return;
	mh_secret_free(t->access_token);
	mh_secret_free(t->refresh_token);
	g_free(t->scope);
	g_free(t->token_type);
	g_free(t);
}

gint64
oauth2_now(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

json_object *
oauth2_json_parse(const char *body, size_t len, GError **error)
{
	json_tokener *tok;
	json_object *obj;

	if (len > OAUTH2_BODY_MAX) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROVIDER,
		            "the answer is larger than %d bytes", OAUTH2_BODY_MAX);
		return NULL;
	}
	if (len == 0 || memchr(body, '\0', len) != NULL) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROVIDER, "the answer is not JSON");
		return NULL;
	}
	tok = json_tokener_new_ex(32);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	if (obj != NULL && json_tokener_get_error(tok) == json_tokener_success) {
		size_t end = json_tokener_get_parse_end(tok);

		while (end < len && g_ascii_isspace(body[end]))
			end++;
		if (end != len)
			g_clear_pointer(&obj, json_object_put);
	} else {
		g_clear_pointer(&obj, json_object_put);
	}
	json_tokener_free(tok);
	if (obj == NULL) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROVIDER, "the answer is not JSON");
		return NULL;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROVIDER,
		            "the answer is not a JSON object");
		return NULL;
	}
	return obj;
}

const char *
oauth2_json_string(json_object *obj, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool
oauth2_json_uint(json_object *obj, const char *key, gint64 *value_r)
{
	json_object *v;
	const char *s, *end;
	guint64 n;

	if (!json_object_object_get_ex(obj, key, &v))
		return false;
	if (json_object_is_type(v, json_type_int)) {
		gint64 i = json_object_get_int64(v);

		/* Bounded so that now + value cannot overflow. */
		if (i < 0 || i > G_MAXINT32)
			return false;
		*value_r = i;
		return true;
	}
	/* Older Azure AD endpoints sent expires_in as a string. */
	if (!json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	if (!g_ascii_isdigit(s[0]))
		return false;
	n = g_ascii_strtoull(s, (char **)&end, 10);
	if (*end != '\0' || n > G_MAXINT32)
		return false;
	*value_r = (gint64)n;
	return true;
}

int
mh_oauth2_error_code(const char *error_code)
{
	if (g_strcmp0(error_code, "invalid_grant") == 0 ||
	    g_strcmp0(error_code, "access_denied") == 0)
		return MH_AUTH_ERROR_DENIED;
	if (g_strcmp0(error_code, "expired_token") == 0)
		return MH_AUTH_ERROR_TOKEN_EXPIRED;
	return MH_AUTH_ERROR_PROVIDER;
}

static char *
oauth2_clean_text(const char *s, size_t max)
{
	GString *out = g_string_new(NULL);

	for (; *s != '\0' && out->len < max; s++)
		g_string_append_c(out, (guchar)*s < 0x20 || *s == 0x7f ? ' ' : *s);
	if (!g_utf8_validate(out->str, -1, NULL)) {
		char *valid = g_utf8_make_valid(out->str, -1);

		g_string_free(out, TRUE);
		return valid;
	}
	return g_string_free(out, FALSE);
}

static char *
oauth2_error_hint(const char *code, const char *account)
{
	const char *acc = account != NULL ? account : "ACCOUNT";

	if (g_strcmp0(code, "invalid_grant") == 0)
		return g_strdup_printf(
			"the sign-in has expired or was revoked: run `mailhaul login "
			"%s` again",
			acc);
	if (g_strcmp0(code, "expired_token") == 0)
		return g_strdup_printf("the code expired before the sign-in was completed: run "
		                       "`mailhaul login %s` again and finish within its lifetime",
		                       acc);
	if (g_strcmp0(code, "access_denied") == 0)
		return g_strdup_printf("the sign-in was declined: run `mailhaul login %s` again "
		                       "and approve access",
		                       acc);
	if (g_strcmp0(code, "invalid_scope") == 0)
		return g_strdup(
			"the provider refused the requested scopes: check `scopes` (Google's "
			"device flow cannot grant mail scopes: use the browser flow)");
	if (g_strcmp0(code, "invalid_client") == 0)
		return g_strdup("the provider does not accept this client: check `client-id` and "
		                "`client-secret`");
	if (g_strcmp0(code, "unauthorized_client") == 0)
		return g_strdup(
			"this client may not use this sign-in method or scope: check the app "
			"registration (public client flows, or domain-wide delegation for a "
			"service account)");
	if (g_strcmp0(code, "invalid_request") == 0)
		return g_strdup("the provider rejected the request: check the provider settings "
		                "(Google desktop clients need `client-secret`)");
	return g_strdup("the token endpoint refused the request");
}

char *
mh_oauth2_error_message(const char *error_code, const char *description, const char *account)
{
	g_autofree char *hint = oauth2_error_hint(error_code, account);
	g_autofree char *code = oauth2_clean_text(error_code != NULL ? error_code : "", 64);
	g_autofree char *desc = NULL;

	if (description == NULL || description[0] == '\0')
		return g_strdup_printf("%s (%s)", hint, code);
	desc = oauth2_clean_text(description, 300);
	return g_strdup_printf("%s (%s: %s)", hint, code, desc);
}

static bool
oauth2_token_error_body(json_object *obj, const char *account, char **server_error_r,
                        GError **error)
{
	const char *code = oauth2_json_string(obj, "error");
	g_autofree char *msg = NULL;

	if (code == NULL)
		return false;
	msg = mh_oauth2_error_message(code, oauth2_json_string(obj, "error_description"), account);
	g_set_error_literal(error, MH_AUTH_ERROR, mh_oauth2_error_code(code), msg);
	if (server_error_r != NULL)
		*server_error_r = g_strdup(code);
	return true;
}

static void
oauth2_token_fill(json_object *obj, const char *access, gint64 now, struct mh_oauth2_token *token)
{
	const char *refresh = oauth2_json_string(obj, "refresh_token");
	const char *scope = oauth2_json_string(obj, "scope");
	const char *type = oauth2_json_string(obj, "token_type");
	gint64 expires_in;

	mh_secret_free(token->access_token);
	token->access_token = mh_secret_strdup(access);
	if (refresh != NULL && refresh[0] != '\0') {
		mh_secret_free(token->refresh_token);
		token->refresh_token = mh_secret_strdup(refresh);
	}
	token->expires_at = 0;
	if (oauth2_json_uint(obj, "expires_in", &expires_in))
		token->expires_at = now + expires_in;
	g_free(token->scope);
	token->scope = g_strdup(scope);
	g_free(token->token_type);
	token->token_type = g_strdup(type);
}

bool
oauth2_token_parse_full(const char *body, size_t len, long status, gint64 now, const char *account,
                        struct mh_oauth2_token *token, char **server_error_r, GError **error)
{
	json_object *obj;
	const char *access, *type;
	bool ok = false;

	obj = oauth2_json_parse(body, len, NULL);
	if (obj == NULL) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROVIDER,
		            "the token endpoint answered HTTP %ld without a JSON object", status);
		return false;
	}
	if (oauth2_token_error_body(obj, account, server_error_r, error))
		goto out;
	access = oauth2_json_string(obj, "access_token");
	type = oauth2_json_string(obj, "token_type");
	if (status < 200 || status > 299) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROVIDER,
		            "the token endpoint answered HTTP %ld", status);
	} else if (access == NULL || access[0] == '\0' || strchr(access, '\x01') != NULL) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROVIDER,
		            "the token endpoint's answer has no usable access_token");
	} else if (type != NULL && g_ascii_strcasecmp(type, "bearer") != 0) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROVIDER,
		            "the token endpoint granted a token of another type than Bearer");
	} else {
		oauth2_token_fill(obj, access, now, token);
		ok = true;
	}
out:
	json_object_put(obj);
	return ok;
}

bool
mh_oauth2_token_parse(const char *body, size_t len, long status, gint64 now, const char *account,
                      struct mh_oauth2_token *token, GError **error)
{
	return oauth2_token_parse_full(body, len, status, now, account, token, NULL, error);
}
