/* SPDX-License-Identifier: MIT */
/* Authorization code grant for native apps (RFC 8252) with PKCE S256 (RFC 7636 §4):
 * verifier and challenge, state, the authorization URL, reading the redirect (from the
 * loopback listener or pasted by the user), launching the browser, and the code exchange. */
#include "oauth2-private.h"

#include "mh-log.h"
#include "mh-secret.h"

#include <openssl/rand.h>
#include <openssl/sha.h>
#include <string.h>

#define OAUTH2_PASTE_MAX      8192
#define OAUTH2_VERIFIER_BYTES 32 /* 43 characters, RFC 7636 §4.1 */

static const char oauth2_b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
oauth2_b64url_encode_to(const guint8 *in, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		guint32 v = (guint32)in[i] << 16 | (guint32)in[i + 1] << 8 | in[i + 2];

		out[o++] = oauth2_b64url[v >> 18];
		out[o++] = oauth2_b64url[(v >> 12) & 63];
		out[o++] = oauth2_b64url[(v >> 6) & 63];
		out[o++] = oauth2_b64url[v & 63];
	}
	if (len - i == 1) {
		out[o++] = oauth2_b64url[in[i] >> 2];
		out[o++] = oauth2_b64url[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		guint32 v = (guint32)in[i] << 8 | in[i + 1];

		out[o++] = oauth2_b64url[v >> 10];
		out[o++] = oauth2_b64url[(v >> 4) & 63];
		out[o++] = oauth2_b64url[(v & 15) << 2];
	}
	out[o] = '\0';
	return o;
}

char *
mh_oauth2_base64url_encode(const void *data, size_t len)
{
	char *out = g_malloc(OAUTH2_B64URL_LEN(len) + 1);

	oauth2_b64url_encode_to(data, len, out);
	return out;
}

guint8 *
mh_oauth2_base64url_decode(const char *s, size_t *len_r)
{
	size_t n = strlen(s), i;
	guint8 *out;
	guint32 acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return NULL;
	out = g_malloc(n * 3 / 4 + 1);
	for (i = 0; i < n; i++) {
		const char *p = s[i] != '\0' ? strchr(oauth2_b64url, s[i]) : NULL;

		if (p == NULL) {
			g_free(out);
			return NULL;
		}
		acc = (acc << 6) | (guint32)(p - oauth2_b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (guint8)(acc >> bits);
		}
	}
	*len_r = o;
	return out;
}

char *
mh_oauth2_pkce_verifier_new(GError **error)
{
	guint8 raw[OAUTH2_VERIFIER_BYTES];
	char *v;

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_MECH,
		            "OpenSSL could not produce random bytes");
		return NULL;
	}
	v = mh_secret_alloc(OAUTH2_B64URL_LEN(sizeof(raw)));
	oauth2_b64url_encode_to(raw, sizeof(raw), v);
	mh_secret_wipe(raw, sizeof(raw));
	return v;
}

char *
mh_oauth2_pkce_challenge(const char *verifier)
{
	guint8 digest[SHA256_DIGEST_LENGTH];

	SHA256((const guint8 *)verifier, strlen(verifier), digest);
	return mh_oauth2_base64url_encode(digest, sizeof(digest));
}

char *
mh_oauth2_state_new(GError **error)
{
	guint8 raw[16];

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_MECH,
		            "OpenSSL could not produce random bytes");
		return NULL;
	}
	return mh_oauth2_base64url_encode(raw, sizeof(raw));
}

char *
mh_oauth2_authcode_url(const struct mh_oauth2_client *c, const char *redirect_uri,
                       const char *state, const char *challenge, GError **error)
{
	const char *keys[] = {"response_type", "client_id",      "redirect_uri",         "scope",
	                      "state",         "code_challenge", "code_challenge_method"};
	const char *values[] = {"code",
	                        c->client_id,
	                        redirect_uri,
	                        c->scopes,
	                        state,
	                        challenge,
	                        challenge != NULL ? "S256" : NULL};
	char *query, *url;

	if (c->auth_url == NULL || c->client_id == NULL) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
		            c->auth_url == NULL ? "this provider has no authorization endpoint"
		                                : "no client id configured");
		return NULL;
	}
	query = mh_oauth2_form_build(keys, values, G_N_ELEMENTS(keys));
	url = g_strconcat(c->auth_url, strchr(c->auth_url, '?') != NULL ? "&" : "?", query, NULL);
	mh_secret_free(query);
	return url;
}

/* Percent-decodes @len bytes ('+' is a space) into a new secret buffer of exact size. */
static char *
oauth2_query_unescape(const char *s, size_t len)
{
	size_t n = 0, i, o = 0;
	char *out;

	for (i = 0; i < len; i++, n++)
		if (s[i] == '%' && i + 2 < len && g_ascii_isxdigit(s[i + 1]) &&
		    g_ascii_isxdigit(s[i + 2]))
			i += 2;
	out = mh_secret_alloc(n);
	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && g_ascii_isxdigit(s[i + 1]) &&
		    g_ascii_isxdigit(s[i + 2])) {
			out[o++] = (char)(g_ascii_xdigit_value(s[i + 1]) << 4 |
			                  g_ascii_xdigit_value(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	return out;
}

/* Returns the decoded value of @key in the query @q (mh_secret), or NULL. */
static char *
oauth2_query_get(const char *q, const char *key)
{
	size_t klen = strlen(key);

	while (*q != '\0') {
		size_t len = strcspn(q, "&#");

		if (len > klen && strncmp(q, key, klen) == 0 && q[klen] == '=')
			return oauth2_query_unescape(q + klen + 1, len - klen - 1);
		q += len;
		if (*q == '#')
			break;
		if (*q == '&')
			q++;
	}
	return NULL;
}

static char *
oauth2_redirect_error(const char *query, const char *account, GError **error)
{
	char *err = oauth2_query_get(query, "error");
	char *desc = oauth2_query_get(query, "error_description");
	g_autofree char *msg = mh_oauth2_error_message(err, desc, account);

	g_set_error_literal(error, MH_AUTH_ERROR, mh_oauth2_error_code(err), msg);
	mh_secret_free(err);
	mh_secret_free(desc);
	return NULL;
}

char *
mh_oauth2_redirect_parse(const char *text, const char *state, const char *account, GError **error)
{
	const char *query = strchr(text, '?');
	char *code, *got_state;
	bool state_ok;

	query = query != NULL ? query + 1 : text;
	if (strchr(text, '=') == NULL && strchr(text, '?') == NULL) {
		/* A bare code pasted by the user: no state to check. */
		if (text[0] == '\0' || strpbrk(text, " \t\r\n#&") != NULL) {
			g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
			            "this is neither the redirected URL nor a code");
			return NULL;
		}
		return mh_secret_strdup(text);
	}
	got_state = oauth2_query_get(query, "state");
	state_ok = got_state != NULL && state != NULL && strcmp(got_state, state) == 0;
	mh_secret_free(got_state);
	if (!state_ok) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROTOCOL,
		            "the redirect's state does not match this sign-in (an old or forged "
		            "redirect): try again");
		return NULL;
	}
	code = oauth2_query_get(query, "code");
	if (code != NULL && code[0] != '\0')
		return code;
	mh_secret_free(code);
	if (strstr(query, "error=") != NULL)
		return oauth2_redirect_error(query, account, error);
	g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROTOCOL,
	            "the redirect carries neither a code nor an error");
	return NULL;
}

char *
mh_oauth2_paste_read(GInputStream *in, const char *state, const char *account, GError **error)
{
	char *line = mh_secret_alloc(OAUTH2_PASTE_MAX);
	char *code = NULL;
	size_t len = 0;
	gssize n;

	/* Byte by byte: never read past the line, the stream may be the terminal. */
	while (len < OAUTH2_PASTE_MAX) {
		n = g_input_stream_read(in, line + len, 1, NULL, error);
		if (n < 0)
			goto out;
		if (n == 0 || line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	if (len == OAUTH2_PASTE_MAX) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
		            "the pasted line is too long");
		goto out;
	}
	g_strstrip(line);
	code = mh_oauth2_redirect_parse(line, state, account, error);
out:
	mh_secret_free(line);
	return code;
}

bool
mh_oauth2_browser_open(const char *url, GError **error)
{
	const char *browser = g_getenv("BROWSER");
	const char *cmds[] = {browser != NULL && browser[0] != '\0' ? browser : NULL, "xdg-open"};

	for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
		char *argv[] = {(char *)cmds[i], (char *)url, NULL};

		if (cmds[i] == NULL)
			continue;
		if (g_spawn_async(NULL, argv, NULL,
		                  G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
		                          G_SPAWN_STDERR_TO_DEV_NULL,
		                  NULL, NULL, NULL, NULL)) {
			mh_log_debug(MH_LOG_CAT_AUTH, "started %s for the sign-in page", cmds[i]);
			return true;
		}
	}
	g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
	            "could not start a browser ($BROWSER or xdg-open): open the URL yourself");
	return false;
}

struct mh_oauth2_token *
mh_oauth2_authcode_exchange(const struct mh_oauth2_client *c, const char *code,
                            const char *redirect_uri, const char *verifier, const char *account,
                            GError **error)
{
	const char *keys[] = {"grant_type", "code",          "redirect_uri",
	                      "client_id",  "code_verifier", "client_secret"};
	const char *values[] = {"authorization_code", code,     redirect_uri,
	                        c->client_id,         verifier, c->client_secret};
	struct mh_oauth2_token *t = mh_oauth2_token_new();
	char *form = mh_oauth2_form_build(keys, values, G_N_ELEMENTS(keys));

	if (!oauth2_token_request(c, c->token_url, form, account, t, NULL, error))
		g_clear_pointer(&t, mh_oauth2_token_free);
	mh_secret_free(form);
	return t;
}

static char *
oauth2_authcode_get_code(const struct mh_oauth2_authcode_opts *opts, struct mh_oauth2_loopback *l,
                         const char *url, const char *state, GError **error)
{
	GError *local = NULL;

	opts->show_url(url, opts->show_ctx);
	if (opts->mode == MH_OAUTH2_AUTHCODE_PASTE) {
		if (opts->paste_in == NULL) {
			g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
			            "paste mode needs an input stream");
			return NULL;
		}
		oauth2_loopback_close(l);
		return mh_oauth2_paste_read(opts->paste_in, state, opts->account, error);
	}
	if (!opts->no_browser && !mh_oauth2_browser_open(url, &local)) {
		mh_log(MH_LOG_WARN, "%s", local->message);
		g_error_free(local);
	}
	return mh_oauth2_loopback_wait(l, state, opts->timeout_s > 0 ? opts->timeout_s : 300,
	                               opts->paste_in, opts->account, error);
}

struct mh_oauth2_token *
mh_oauth2_authcode_login(const struct mh_oauth2_client *c,
                         const struct mh_oauth2_authcode_opts *opts, GError **error)
{
	g_autoptr(mh_oauth2_loopback) l = NULL;
	g_autofree char *state = NULL, *challenge = NULL, *url = NULL;
	struct mh_oauth2_token *t = NULL;
	char *verifier = NULL, *code = NULL;

	g_return_val_if_fail(opts != NULL && opts->show_url != NULL, NULL);
	/* Paste mode too uses a loopback redirect URI: providers accept no other for desktop
	 * clients, and the browser's failed redirect leaves the code in its address bar. */
	l = mh_oauth2_loopback_new(c->redirect_host, error);
	if (l == NULL)
		return NULL;
	verifier = mh_oauth2_pkce_verifier_new(error);
	state = verifier != NULL ? mh_oauth2_state_new(error) : NULL;
	if (state == NULL)
		goto out;
	challenge = mh_oauth2_pkce_challenge(verifier);
	url = mh_oauth2_authcode_url(c, mh_oauth2_loopback_redirect_uri(l), state, challenge,
	                             error);
	if (url == NULL)
		goto out;
	code = oauth2_authcode_get_code(opts, l, url, state, error);
	if (code != NULL)
		t = mh_oauth2_authcode_exchange(c, code, mh_oauth2_loopback_redirect_uri(l),
		                                verifier, opts->account, error);
out:
	mh_secret_free(code);
	mh_secret_free(verifier);
	return t;
}
