/* SPDX-License-Identifier: MIT */
/* Signing in with an OAuth2 access token that may have expired since it was handed out:
 * one attempt with the current token and, when the server refuses it as expired or
 * invalid (RFC 6750 section 3.1, invalid_token), one more with a fresh one. The same
 * policy for IMAP logins (the sync stores, `check`) and SMTP submission (`check
 * --send-test`); where tokens come from (keyring, refresh) is the caller's. */
#ifndef MH_SYNC_TOKEN_H
#define MH_SYNC_TOKEN_H

#include <glib.h>
#include <stdbool.h>

#include "imap.h"

/* Returns an OAuth2 access token (an mh_secret buffer the caller frees); with @force a new
 * one (the server refused the last). Called from any worker thread. */
typedef char *mh_token_get_cb(void *ctx, bool force, GError **error);

/* One sign-in with @token (borrowed and secret: never log it), or with the caller's own
 * credentials when @token is NULL. */
typedef bool mh_token_attempt_cb(const char *token, void *ctx, GError **error);

/* Told that the server refused the token, before a fresh one is asked for. */
typedef void mh_token_refused_cb(void *ctx);

/* How to sign in; everything borrowed for the call. */
struct mh_token_login {
	mh_token_get_cb *get; /* NULL: one attempt with a NULL token (password credentials) */
	void *get_ctx;
	mh_token_attempt_cb *attempt; /* required */
	void *attempt_ctx;            /* given to @attempt and @refused */
	GQuark expired_domain;        /* the error of @attempt that means "token refused" */
	int expired_code;
	mh_token_refused_cb *refused; /* optional, e.g. to log the retry */
};

/* Gets a token, attempts the sign-in with it and, when that fails with
 * expired_domain/expired_code, calls @refused and tries once more with a token got with
 * force. Returns false with the error of the token source or of the last attempt. */
bool mh_token_login_run(const struct mh_token_login *l, GError **error);

/* Logs in on @conn with @cred or, when @get is not NULL, with tokens from it instead of
 * the password (mh_token_login_run() over mh_imap_conn_login(), retrying on
 * MH_IMAP_ERROR_TOKEN_EXPIRED). With @label not NULL, a refused token is reported at info
 * level as "LABEL: the access token was refused; getting a fresh one". */
bool mh_token_login_imap(struct mh_imap_conn *conn, const struct mh_imap_credentials *cred,
                         mh_token_get_cb *get, void *get_ctx, const char *label, GError **error);

#endif
