/* SPDX-License-Identifier: MIT */
/* OAuth2 client flows for IMAP sign-in: token responses (RFC 6749 §5), refresh, client
 * credentials, JWT bearer (RFC 7523), device authorization (RFC 8628), authorization code
 * with PKCE and a loopback redirect (RFC 7636, RFC 8252), revocation (RFC 7009).
 * Tokens, codes, verifiers and assertions live in mh_secret buffers; bodies are never logged. */
#ifndef MH_OAUTH2_H
#define MH_OAUTH2_H

#include "sasl.h" /* MH_AUTH_ERROR and its codes */

#include <gio/gio.h>
#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/* The HTTP answer of a POST or GET; body is an mh_secret buffer (it may hold tokens). */
struct mh_oauth2_http_response {
	long status; /* HTTP status, e.g. 200 */
	char *body;  /* owned, mh_secret, NUL-terminated; free with mh_secret_free() */
	size_t len;  /* bytes in body */
};

/* Sends one request: @form (NUL-terminated, application/x-www-form-urlencoded, secret;
 * borrowed) as a POST body, or a GET when @form is NULL. Fills *resp_r (caller frees
 * resp_r->body) and returns true for any HTTP status; false only when no answer came.
 * Tests inject one of these instead of a server. */
typedef bool mh_oauth2_transport_cb(const char *url, const char *form,
                                    struct mh_oauth2_http_response *resp_r, void *ctx,
                                    GError **error);

/* An authorization server and our registration there. All fields borrowed: they must
 * outlive every call given this struct. NULL fields are "not available". */
struct mh_oauth2_client {
	const char *token_url;     /* token endpoint: required by every grant */
	const char *auth_url;      /* authorization endpoint (browser and paste flows) */
	const char *device_url;    /* RFC 8628 device authorization endpoint */
	const char *revoke_url;    /* RFC 7009 revocation endpoint */
	const char *client_id;     /* required */
	const char *client_secret; /* sent in the form body when set (Google desktop clients) */
	const char *scopes;        /* space-separated */
	const char *redirect_host; /* "127.0.0.1" (default when NULL) or "localhost" */
	unsigned timeout_s;        /* per HTTP request; 0 means 30 seconds */
	mh_oauth2_transport_cb *transport; /* NULL: libcurl (mh_oauth2_http_send) */
	void *transport_ctx;               /* given to @transport */
};

/* What a token endpoint granted. */
struct mh_oauth2_token {
	char *access_token;  /* owned, mh_secret */
	char *refresh_token; /* owned, mh_secret, or NULL */
	gint64 expires_at;   /* Unix seconds; 0 when the server gave no expires_in */
	char *scope;         /* owned, or NULL when the server did not say */
	char *token_type;    /* owned, or NULL (normally "Bearer") */
};

/* Returns an empty token; free with mh_oauth2_token_free(). */
struct mh_oauth2_token *mh_oauth2_token_new(void);

/* Wipes the secrets and frees; NULL is allowed. */
void mh_oauth2_token_free(struct mh_oauth2_token *t);

/* Parses a token endpoint answer (@body, @len bytes, not necessarily NUL-terminated,
 * with HTTP @status) into @token, in place: on success the access token, expiry
 * (@now + expires_in; 0 when absent), scope and type are replaced; the refresh token is
 * replaced only when the answer has one (Google keeps it, Microsoft rotates it). On an
 * error body ("error", "error_description") @token is untouched and *error carries the
 * mapped message (see mh_oauth2_error_message()) and code (mh_oauth2_error_code());
 * other failures are MH_AUTH_ERROR_PROVIDER. @account fills "mailhaul login ACCOUNT"
 * hints (NULL: "ACCOUNT"). */
bool mh_oauth2_token_parse(const char *body, size_t len, long status, gint64 now,
                           const char *account, struct mh_oauth2_token *token, GError **error);

/* Maps an OAuth2 "error" value to the MH_AUTH_ERROR code: DENIED for invalid_grant and
 * access_denied, TOKEN_EXPIRED for expired_token (a device code timed out: start the sign-in
 * again), PROVIDER for everything else. */
int mh_oauth2_error_code(const char *error_code);

/* Returns a new one-line message for a token endpoint error: a hint for the known codes
 * (invalid_grant, invalid_scope, invalid_client, unauthorized_client, access_denied,
 * expired_token, invalid_request) followed by the server's words, e.g. "the sign-in has
 * expired or was revoked: run `mailhaul login gmail:a@b` again (invalid_grant: Token has
 * been expired or revoked.)". @description may be NULL; control characters in server text
 * are replaced. Caller frees. */
char *mh_oauth2_error_message(const char *error_code, const char *description, const char *account);

/* HTTP (oauth2-http.c) */

/* Returns whether requests may go to @url: https:// anywhere, http:// only to loopback
 * hosts (127.0.0.0/8, ::1, localhost). Otherwise false with MH_AUTH_ERROR_USAGE. */
bool mh_oauth2_url_allowed(const char *url, GError **error);

/* The libcurl transport (an mh_oauth2_transport_cb; @ctx is a `const unsigned *` timeout
 * in seconds, or NULL for 30). Verifies certificates, follows no redirects, caps the
 * answer at 64 KiB, and logs "POST URL-without-query -> STATUS" under MH_LOG_CAT_HTTP. */
bool mh_oauth2_http_send(const char *url, const char *form, struct mh_oauth2_http_response *resp_r,
                         void *ctx, GError **error);

/* Returns a new form body (mh_secret, caller frees with mh_secret_free()) of @n pairs,
 * keys and values percent-encoded; pairs with a NULL value are left out. */
char *mh_oauth2_form_build(const char *const *keys, const char *const *values, size_t n);

/* Grants (oauth2-grants.c). Each POSTs to client->token_url and returns a new token
 * (caller frees) or NULL with an MH_AUTH_ERROR. */

/* Refresh grant: updates @token in place (a new access token; the refresh token only when
 * the server sent a new one: store it then, Microsoft rotates on every use). */
bool mh_oauth2_refresh(const struct mh_oauth2_client *c, struct mh_oauth2_token *token,
                       const char *account, GError **error);

/* Client credentials with client_id and client_secret (Microsoft app-only). */
struct mh_oauth2_token *mh_oauth2_client_credentials(const struct mh_oauth2_client *c,
                                                     GError **error);

/* A Google service-account key file: borrowed by the calls below. */
struct mh_oauth2_sa_key {
	char *client_email; /* owned */
	char *private_key;  /* owned, mh_secret, PEM */
	char *token_uri;    /* owned, or NULL */
};

/* Reads a service-account JSON key file (private_key, client_email, token_uri). Returns a
 * new key (free with mh_oauth2_sa_key_free()) or NULL with MH_AUTH_ERROR_USAGE. */
struct mh_oauth2_sa_key *mh_oauth2_sa_key_load(const char *path, GError **error);

/* Same from memory (@json, @len bytes). */
struct mh_oauth2_sa_key *mh_oauth2_sa_key_parse(const char *json, size_t len, GError **error);

/* Wipes and frees; NULL is allowed. */
void mh_oauth2_sa_key_free(struct mh_oauth2_sa_key *k);

/* Returns a new RS256 JWT (mh_secret, caller frees) with header {"alg":"RS256","typ":"JWT"}
 * and claims iss, sub (left out when NULL), scope, aud, iat, exp = iat + @lifetime_s
 * (capped at 3600), signed with the PEM key @pem_key. NULL with MH_AUTH_ERROR_USAGE when
 * the key does not load or is not RSA. */
char *mh_oauth2_jwt_build(const char *pem_key, const char *iss, const char *sub, const char *scope,
                          const char *aud, gint64 iat, unsigned lifetime_s, GError **error);

/* JWT bearer grant (RFC 7523) for @sub (the mailbox to act as), signed by @key; aud and
 * the endpoint are client->token_url, else key->token_uri. */
struct mh_oauth2_token *mh_oauth2_jwt_bearer(const struct mh_oauth2_client *c,
                                             const struct mh_oauth2_sa_key *key, const char *sub,
                                             GError **error);

/* RFC 7009: revokes @token_value (@hint "refresh_token", "access_token" or NULL) at
 * client->revoke_url. Fails with MH_AUTH_ERROR_USAGE when there is no revoke_url. */
bool mh_oauth2_revoke(const struct mh_oauth2_client *c, const char *token_value, const char *hint,
                      GError **error);

/* Device authorization grant (oauth2-device.c, RFC 8628) */

struct mh_oauth2_device_code {
	char *device_code;               /* owned, mh_secret */
	char *user_code;                 /* owned: show it to the user */
	char *verification_uri;          /* owned ("verification_url" from Google too) */
	char *verification_uri_complete; /* owned, or NULL (Microsoft never sends it) */
	unsigned interval;               /* seconds between polls; 5 when not given */
	unsigned expires_in;             /* seconds the code lives; 900 when not given */
};

/* Shows the code; @dc borrowed for the call. */
typedef void mh_oauth2_device_show_cb(const struct mh_oauth2_device_code *dc, void *ctx);

/* Returns monotonic seconds. */
typedef gint64 mh_oauth2_clock_cb(void *ctx);

/* Waits @seconds. */
typedef void mh_oauth2_sleep_cb(unsigned seconds, void *ctx);

/* How to wait and whom to tell; any NULL field takes the default. */
struct mh_oauth2_device_opts {
	mh_oauth2_device_show_cb *show; /* NULL: no display (caller shows dc itself) */
	void *show_ctx;
	mh_oauth2_clock_cb *clock; /* NULL: g_get_monotonic_time() in seconds */
	mh_oauth2_sleep_cb *sleep; /* NULL: g_usleep() */
	void *clock_ctx;           /* given to clock and sleep */
	const char *account;       /* for error hints; NULL: "ACCOUNT" */
};

/* Asks client->device_url for a code (client_id, scope). Returns a new code (free with
 * mh_oauth2_device_code_free()) or NULL with an MH_AUTH_ERROR (invalid_scope from Google
 * for mail scopes: see mh_oauth2_error_message()). */
struct mh_oauth2_device_code *mh_oauth2_device_start(const struct mh_oauth2_client *c,
                                                     GError **error);

/* Wipes and frees; NULL is allowed. */
void mh_oauth2_device_code_free(struct mh_oauth2_device_code *dc);

/* Polls the token endpoint every interval (plus 5 s after each slow_down) until the user
 * approves, declines (DENIED), or the code expires (TOKEN_EXPIRED, whether the server says
 * expired_token or our own clock passes expires_in). Returns a new token or NULL. */
struct mh_oauth2_token *mh_oauth2_device_poll(const struct mh_oauth2_client *c,
                                              const struct mh_oauth2_device_code *dc,
                                              const struct mh_oauth2_device_opts *opts,
                                              GError **error);

/* mh_oauth2_device_start(), opts->show, then mh_oauth2_device_poll(). */
struct mh_oauth2_token *mh_oauth2_device_login(const struct mh_oauth2_client *c,
                                               const struct mh_oauth2_device_opts *opts,
                                               GError **error);

/* Authorization code with PKCE (oauth2-authcode.c) */

/* Returns new base64url text without padding of @len bytes; caller g_free()s. */
char *mh_oauth2_base64url_encode(const void *data, size_t len);

/* Decodes base64url (padding optional). Returns new bytes (caller g_free()s) and their
 * length in *len_r, or NULL when @s is not base64url. */
guint8 *mh_oauth2_base64url_decode(const char *s, size_t *len_r);

/* Returns a new PKCE code verifier: 43 characters from 32 OpenSSL random bytes
 * (mh_secret, caller frees), or NULL with MH_AUTH_ERROR_MECH when RAND fails. */
char *mh_oauth2_pkce_verifier_new(GError **error);

/* Returns the S256 challenge of @verifier (43 characters; caller g_free()s). */
char *mh_oauth2_pkce_challenge(const char *verifier);

/* Returns a new random state value (22 characters; caller g_free()s). */
char *mh_oauth2_state_new(GError **error);

/* Returns the new authorization URL (caller g_free()s): client->auth_url plus
 * response_type=code, client_id, redirect_uri, scope, state, code_challenge and
 * code_challenge_method=S256, percent-encoded; NULL with MH_AUTH_ERROR_USAGE when there is
 * no auth_url or client_id. */
char *mh_oauth2_authcode_url(const struct mh_oauth2_client *c, const char *redirect_uri,
                             const char *state, const char *challenge, GError **error);

/* Finds code and state in a redirect URL or bare query ("code=..&state=.." or
 * "http://127.0.0.1:1234/?code=..") or takes @text as the code itself when it has no
 * '=' (a pasted code). Checks state when the text has one (a pasted URL must have it).
 * Returns the code (mh_secret, caller frees), or NULL: MH_AUTH_ERROR_DENIED for
 * error=access_denied, PROVIDER for another error=, PROTOCOL for a wrong state. */
char *mh_oauth2_redirect_parse(const char *text, const char *state, const char *account,
                               GError **error);

/* Reads one line (at most 8 KiB) from @in and returns mh_oauth2_redirect_parse() of it. */
char *mh_oauth2_paste_read(GInputStream *in, const char *state, const char *account,
                           GError **error);

/* Launches $BROWSER, else xdg-open, with @url as its one argument (no shell). Returns
 * false with MH_AUTH_ERROR_USAGE when neither could be started. */
bool mh_oauth2_browser_open(const char *url, GError **error);

/* Exchanges @code at client->token_url with the same @redirect_uri and @verifier as the
 * authorization request (and client_secret when set). Returns a new token or NULL. */
struct mh_oauth2_token *mh_oauth2_authcode_exchange(const struct mh_oauth2_client *c,
                                                    const char *code, const char *redirect_uri,
                                                    const char *verifier, const char *account,
                                                    GError **error);

/* The loopback redirect listener (oauth2-loopback.c, RFC 8252 §7.3) */

struct mh_oauth2_loopback;

/* Listens on 127.0.0.1 on a free port. The redirect URI names @redirect_host ("127.0.0.1"
 * when NULL, or "localhost"). Returns a new listener (free with mh_oauth2_loopback_free())
 * or NULL with MH_AUTH_ERROR_USAGE. */
struct mh_oauth2_loopback *mh_oauth2_loopback_new(const char *redirect_host, GError **error);

/* Returns the redirect URI "http://HOST:PORT/"; borrowed, valid until the free. */
const char *mh_oauth2_loopback_redirect_uri(const struct mh_oauth2_loopback *l);

/* Returns the port listened on. */
guint16 mh_oauth2_loopback_port(const struct mh_oauth2_loopback *l);

/* Accepts browser requests until one carries code= or error= (others get a 404), answers
 * it with a short HTML page, and returns mh_oauth2_redirect_parse() of its query. When
 * @paste_in (borrowed, may be NULL) is a pollable stream (a GUnixInputStream on the
 * terminal), a line pasted there is taken instead (mh_oauth2_paste_read()): the user on SSH
 * whose browser cannot reach us. After @timeout_s seconds without either: NULL with
 * MH_AUTH_ERROR_DENIED "no answer from the browser within N s". */
char *mh_oauth2_loopback_wait(struct mh_oauth2_loopback *l, const char *state, unsigned timeout_s,
                              GInputStream *paste_in, const char *account, GError **error);

/* Closes the socket and frees; NULL is allowed. */
void mh_oauth2_loopback_free(struct mh_oauth2_loopback *l);

/* Shows the authorization URL (the browser may not open: SSH); @url borrowed. */
typedef void mh_oauth2_show_url_cb(const char *url, void *ctx);

enum mh_oauth2_authcode_mode {
	MH_OAUTH2_AUTHCODE_BROWSER, /* loopback listener + browser (+ paste_in if pollable) */
	MH_OAUTH2_AUTHCODE_PASTE,   /* print the URL, read the redirected URL or code back; no
	                             * listener, so a local browser's redirect fails visibly */
};

struct mh_oauth2_authcode_opts {
	enum mh_oauth2_authcode_mode mode;
	mh_oauth2_show_url_cb *show_url; /* required: print the URL for the user */
	void *show_ctx;
	GInputStream *paste_in; /* where a pasted URL or code is read from (borrowed): required
	                         * in paste mode; in browser mode read too when pollable */
	bool no_browser;        /* browser mode without launching one (tests) */
	unsigned timeout_s;     /* browser mode: wait at most this long; 0 means 300 */
	const char *account;    /* for error hints */
};

/* The whole authorization code flow: verifier, state, URL, browser or paste, exchange.
 * Returns a new token or NULL with an MH_AUTH_ERROR. */
struct mh_oauth2_token *mh_oauth2_authcode_login(const struct mh_oauth2_client *c,
                                                 const struct mh_oauth2_authcode_opts *opts,
                                                 GError **error);

typedef struct mh_oauth2_token mh_oauth2_token;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(mh_oauth2_token, mh_oauth2_token_free)
typedef struct mh_oauth2_device_code mh_oauth2_device_code;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(mh_oauth2_device_code, mh_oauth2_device_code_free)
typedef struct mh_oauth2_sa_key mh_oauth2_sa_key;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(mh_oauth2_sa_key, mh_oauth2_sa_key_free)
typedef struct mh_oauth2_loopback mh_oauth2_loopback;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(mh_oauth2_loopback, mh_oauth2_loopback_free)

#endif
