/* SPDX-License-Identifier: MIT */
/* Token grants without a user at the keyboard: refresh (RFC 6749 §6), client credentials
 * (§4.4, Microsoft app-only), JWT bearer (RFC 7523, Google service accounts with
 * domain-wide delegation, RS256 per RFC 7518 §3.3), and revocation (RFC 7009). */
#include "oauth2-private.h"

#include "mh-secret.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#define OAUTH2_JWT_MAX_LIFETIME 3600

bool
mh_oauth2_refresh(const struct mh_oauth2_client *c, struct mh_oauth2_token *token,
                  const char *account, GError **error)
{
	const char *keys[] = {"grant_type", "refresh_token", "client_id", "client_secret"};
	const char *values[] = {"refresh_token", token->refresh_token, c->client_id,
	                        c->client_secret};
	char *form;
	bool ok;

	if (token->refresh_token == NULL) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_DENIED,
		            "no refresh token stored: run `mailhaul login %s` again",
		            account != NULL ? account : "ACCOUNT");
		return false;
	}
	form = mh_oauth2_form_build(keys, values, G_N_ELEMENTS(keys));
	ok = oauth2_token_request(c, c->token_url, form, account, token, NULL, error);
	mh_secret_free(form);
	return ok;
}

struct mh_oauth2_token *
mh_oauth2_client_credentials(const struct mh_oauth2_client *c, GError **error)
{
	const char *keys[] = {"grant_type", "client_id", "client_secret", "scope"};
	const char *values[] = {"client_credentials", c->client_id, c->client_secret, c->scopes};
	struct mh_oauth2_token *t;
	char *form;

	if (c->client_id == NULL || c->client_secret == NULL) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
		            "client credentials need `client-id` and `client-secret`");
		return NULL;
	}
	form = mh_oauth2_form_build(keys, values, G_N_ELEMENTS(keys));
	t = mh_oauth2_token_new();
	if (!oauth2_token_request(c, c->token_url, form, NULL, t, NULL, error))
		g_clear_pointer(&t, mh_oauth2_token_free);
	mh_secret_free(form);
	return t;
}

struct mh_oauth2_sa_key *
mh_oauth2_sa_key_parse(const char *json, size_t len, GError **error)
{
	struct mh_oauth2_sa_key *k = NULL;
	const char *email, *pem;
	json_object *obj;

	obj = oauth2_json_parse(json, len, error);
	if (obj == NULL) {
		g_prefix_error(error, "service account key: ");
		if (error != NULL && *error != NULL)
			(*error)->code = MH_AUTH_ERROR_USAGE;
		return NULL;
	}
	email = oauth2_json_string(obj, "client_email");
	pem = oauth2_json_string(obj, "private_key");
	if (email == NULL || pem == NULL) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
		            "service account key: no %s (is this a service account JSON key?)",
		            email == NULL ? "client_email" : "private_key");
	} else {
		k = g_new0(struct mh_oauth2_sa_key, 1);
		k->client_email = g_strdup(email);
		k->private_key = mh_secret_strdup(pem);
		k->token_uri = g_strdup(oauth2_json_string(obj, "token_uri"));
	}
	json_object_put(obj);
	return k;
}

struct mh_oauth2_sa_key *
mh_oauth2_sa_key_load(const char *path, GError **error)
{
	struct mh_oauth2_sa_key *k;
	GError *local = NULL;
	char *data = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &data, &len, &local)) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE, "%s", local->message);
		g_error_free(local);
		return NULL;
	}
	k = mh_oauth2_sa_key_parse(data, len, error);
	if (k == NULL)
		g_prefix_error(error, "%s: ", path);
	mh_secret_wipe(data, len);
	g_free(data);
	return k;
}

void
mh_oauth2_sa_key_free(struct mh_oauth2_sa_key *k)
{
	if (k == NULL)
		return;
	g_free(k->client_email);
	mh_secret_free(k->private_key);
	g_free(k->token_uri);
	g_free(k);
}

static EVP_PKEY *
oauth2_jwt_load_key(const char *pem, GError **error)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

	BIO_free(bio);
	if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(key);
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
		            "the service account's private_key is not a PEM RSA key");
		return NULL;
	}
	return key;
}

static guint8 *
oauth2_jwt_sign(EVP_PKEY *key, const char *input, size_t *len_r, GError **error)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	guint8 *sig = NULL;
	size_t len = 0;

	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &len, (const guint8 *)input, strlen(input)) != 1)
		goto fail;
	sig = g_malloc(len);
	if (EVP_DigestSign(md, sig, &len, (const guint8 *)input, strlen(input)) != 1)
		goto fail;
	EVP_MD_CTX_free(md);
	*len_r = len;
	return sig;
fail:
	g_free(sig);
	EVP_MD_CTX_free(md);
	g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_MECH, "OpenSSL could not sign the JWT");
	return NULL;
}

static char *
oauth2_jwt_claims(const char *iss, const char *sub, const char *scope, const char *aud, gint64 iat,
                  unsigned lifetime_s)
{
	json_object *claims = json_object_new_object();
	char *s;

	json_object_object_add(claims, "iss", json_object_new_string(iss));
	if (sub != NULL)
		json_object_object_add(claims, "sub", json_object_new_string(sub));
	if (scope != NULL)
		json_object_object_add(claims, "scope", json_object_new_string(scope));
	json_object_object_add(claims, "aud", json_object_new_string(aud));
	json_object_object_add(claims, "iat", json_object_new_int64(iat));
	json_object_object_add(
		claims, "exp",
		json_object_new_int64(iat + MIN(lifetime_s, OAUTH2_JWT_MAX_LIFETIME)));
	s = g_strdup(json_object_to_json_string_ext(
		claims, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(claims);
	return s;
}

char *
mh_oauth2_jwt_build(const char *pem_key, const char *iss, const char *sub, const char *scope,
                    const char *aud, gint64 iat, unsigned lifetime_s, GError **error)
{
	static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	g_autofree char *claims = NULL, *h64 = NULL, *c64 = NULL, *input = NULL;
	g_autofree guint8 *sig = NULL;
	size_t sig_len = 0, in_len;
	EVP_PKEY *key;
	char *jwt;

	g_return_val_if_fail(iss != NULL && aud != NULL, NULL);
	key = oauth2_jwt_load_key(pem_key, error);
	if (key == NULL)
		return NULL;
	claims = oauth2_jwt_claims(iss, sub, scope, aud, iat, lifetime_s);
	h64 = mh_oauth2_base64url_encode(header, strlen(header));
	c64 = mh_oauth2_base64url_encode(claims, strlen(claims));
	input = g_strconcat(h64, ".", c64, NULL);
	sig = oauth2_jwt_sign(key, input, &sig_len, error);
	EVP_PKEY_free(key);
	if (sig == NULL)
		return NULL;
	in_len = strlen(input);
	jwt = mh_secret_alloc(in_len + 1 + OAUTH2_B64URL_LEN(sig_len));
	memcpy(jwt, input, in_len);
	jwt[in_len] = '.';
	oauth2_b64url_encode_to(sig, sig_len, jwt + in_len + 1);
	return jwt;
}

struct mh_oauth2_token *
mh_oauth2_jwt_bearer(const struct mh_oauth2_client *c, const struct mh_oauth2_sa_key *key,
                     const char *sub, GError **error)
{
	const char *url = c->token_url != NULL ? c->token_url : key->token_uri;
	const char *keys[] = {"grant_type", "assertion"};
	const char *values[] = {"urn:ietf:params:oauth:grant-type:jwt-bearer", NULL};
	struct mh_oauth2_token *t;
	char *jwt, *form;

	if (url == NULL) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
		            "no token endpoint: neither `token-url` nor the key's token_uri");
		return NULL;
	}
	jwt = mh_oauth2_jwt_build(key->private_key, key->client_email, sub, c->scopes, url,
	                          oauth2_now(), OAUTH2_JWT_MAX_LIFETIME, error);
	if (jwt == NULL)
		return NULL;
	values[1] = jwt;
	form = mh_oauth2_form_build(keys, values, G_N_ELEMENTS(keys));
	mh_secret_free(jwt);
	t = mh_oauth2_token_new();
	if (!oauth2_token_request(c, url, form, sub, t, NULL, error))
		g_clear_pointer(&t, mh_oauth2_token_free);
	mh_secret_free(form);
	return t;
}

bool
mh_oauth2_revoke(const struct mh_oauth2_client *c, const char *token_value, const char *hint,
                 GError **error)
{
	const char *keys[] = {"token", "token_type_hint", "client_id", "client_secret"};
	const char *values[] = {token_value, hint, c->client_id, c->client_secret};
	struct mh_oauth2_http_response resp;
	char *form;
	bool ok;

	if (c->revoke_url == NULL) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
		            "this provider has no revocation endpoint");
		return false;
	}
	form = mh_oauth2_form_build(keys, values, G_N_ELEMENTS(keys));
	ok = oauth2_send(c, c->revoke_url, form, &resp, error);
	mh_secret_free(form);
	if (!ok)
		return false;
	/* RFC 7009 §2.2: 200 also for tokens that were already invalid. */
	if (resp.status != 200) {
		json_object *obj = oauth2_json_parse(resp.body, resp.len, NULL);
		const char *code = obj != NULL ? oauth2_json_string(obj, "error") : NULL;

		if (code != NULL) {
			g_autofree char *msg = mh_oauth2_error_message(
				code, oauth2_json_string(obj, "error_description"), NULL);

			g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROVIDER,
			            "revocation failed: %s", msg);
		} else {
			g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROVIDER,
			            "revocation failed: HTTP %ld", resp.status);
		}
		if (obj != NULL)
			json_object_put(obj);
		ok = false;
	}
	mh_secret_free(resp.body);
	return ok;
}
