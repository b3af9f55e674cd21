/* SPDX-License-Identifier: MIT */
/* Client SASL mechanisms as pure byte-in/byte-out objects (no I/O, no base64, no
 * protocol framing): PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5
 * (RFC 2195), and with an OAuth2 access token XOAUTH2 (Google, Microsoft) and
 * OAUTHBEARER (RFC 7628). The IMAP layer frames them (AUTHENTICATE, SASL-IR, base64). */
#ifndef MH_SASL_H
#define MH_SASL_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#define MH_AUTH_ERROR (mh_auth_error_quark())
GQuark mh_auth_error_quark(void);

enum mh_auth_error_code {
	MH_AUTH_ERROR_DENIED,        /* credentials refused: re-login needed */
	MH_AUTH_ERROR_TOKEN_EXPIRED, /* refresh and retry once */
	MH_AUTH_ERROR_PROVIDER,      /* token endpoint error, its text kept */
	MH_AUTH_ERROR_PROTOCOL,      /* the server's challenge makes no sense */
	MH_AUTH_ERROR_MECH,          /* unknown or unusable mechanism */
	MH_AUTH_ERROR_USAGE,         /* a missing or invalid setting */
};

enum mh_sasl_mech_flags {
	MH_SASL_MECH_PLAINTEXT = 1 << 0, /* the secret travels in clear inside the exchange */
	MH_SASL_MECH_INITIAL = 1 << 1,   /* has an initial response (usable with SASL-IR) */
	MH_SASL_MECH_PASSWORD = 1 << 2,  /* uses a password */
	MH_SASL_MECH_TOKEN = 1 << 3,     /* uses an OAuth2 access token */
};

struct mh_sasl_mech {
	const char *name; /* as in AUTH=NAME, upper case */
	unsigned flags;   /* enum mh_sasl_mech_flags */
	unsigned rank;    /* higher is preferred, among password or among token mechanisms */
};

/* What a mechanism needs; all borrowed, only for the duration of mh_sasl_client_new(),
 * which copies what it keeps (secrets into mh_secret buffers). */
struct mh_sasl_settings {
	const char *authid;   /* the user name to authenticate as (XOAUTH2 user=, OAUTHBEARER a=) */
	const char *authzid;  /* optional identity to act as (PLAIN), or NULL */
	const char *password; /* NUL-terminated; password mechanisms only */
	const char *token;    /* the OAuth2 access token; token mechanisms only */
	const char *host;     /* OAUTHBEARER host=: the server name connected to, or NULL */
	unsigned port;        /* OAUTHBEARER port=: the server port, or 0 to leave it out */
};

/* Returns the mechanism called @name (ignoring case), or NULL. */
const struct mh_sasl_mech *mh_sasl_mech_find(const char *name);

/* Chooses the strongest password mechanism in @server_mechs (NULL-terminated names
 * from AUTH=... capabilities) that we implement: CRAM-MD5 > PLAIN > LOGIN, skipping
 * CRAM-MD5 when @allow_cram_md5 is false and any mechanism other than PLAIN when an
 * authzid is needed (@need_authzid). Token mechanisms (XOAUTH2, OAUTHBEARER) are never
 * chosen here: the caller picks them by name. Returns NULL when none fits. */
const struct mh_sasl_mech *mh_sasl_mech_choose(const char *const *server_mechs, bool need_authzid,
                                               bool allow_cram_md5);

/* Returns a new client for @mech (one from mh_sasl_mech_find() or _choose()), or NULL
 * with MH_AUTH_ERROR_USAGE: "no user name given" (NULL or empty authid), "no password
 * given", an authzid with a mechanism that cannot carry one (only PLAIN can; an
 * empty authzid counts as none), "no access token given" (token mechanisms), or a user
 * name, access token or host containing a byte the token mechanisms use as separator
 * (0x01, CR or LF; the message never quotes the value), or a port above 65535. */
struct mh_sasl_client *mh_sasl_client_new(const struct mh_sasl_mech *mech,
                                          const struct mh_sasl_settings *set, GError **error);

/* Wipes all secrets and frees; NULL is allowed. */
void mh_sasl_client_free(struct mh_sasl_client *c);

/* Gives the mechanism the server's decoded challenge (@len may be 0). Call it once per
 * challenge, then mh_sasl_client_output() for the reply. Returns false with
 * MH_AUTH_ERROR_PROTOCOL when the challenge is not acceptable at this step (any
 * challenge after the last reply, a non-empty one before the PLAIN, XOAUTH2 or
 * OAUTHBEARER initial response, an empty CRAM-MD5 one, a second XOAUTH2 or OAUTHBEARER
 * error report), or MH_AUTH_ERROR_MECH when OpenSSL cannot compute HMAC-MD5. PLAIN,
 * XOAUTH2 and OAUTHBEARER accept an empty challenge before their initial response (a
 * server without SASL-IR).
 * A challenge after the XOAUTH2 or OAUTHBEARER initial response is the server's error
 * report (JSON, RFC 7628 section 3.2.2): it is accepted once, even when it is not
 * valid JSON, and the next output is the answer that lets the server finish with a
 * tagged NO: empty for XOAUTH2, the single byte 0x01 for OAUTHBEARER. Then see
 * mh_sasl_client_error() and mh_sasl_client_token_expired(). */
bool mh_sasl_client_input(struct mh_sasl_client *c, const unsigned char *data, size_t len,
                          GError **error);

/* Produces the next client message (before any input: the initial response, for
 * mechanisms with MH_SASL_MECH_INITIAL). *data_r is borrowed, valid until the next
 * call on @c or its free, and is secret: never log it. *len_r may be 0 (the XOAUTH2
 * answer to an error report: the IMAP layer sends an empty line). Returns false with
 * MH_AUTH_ERROR_PROTOCOL when the mechanism has nothing to send at this step. */
bool mh_sasl_client_output(struct mh_sasl_client *c, const unsigned char **data_r, size_t *len_r,
                           GError **error);

/* Returns whether the server answered the XOAUTH2 or OAUTHBEARER initial response with
 * an error report; always false for password mechanisms. When it did, *status_r (if
 * @status_r is not NULL) is a new string with the report's "status" ("401",
 * "invalid_token"; NULL when the report had none or was not JSON), and *message_r (if
 * not NULL) a new one-line message for the user, such as "the server rejected the
 * access token (status 401, scope https://mail.google.com/)"; caller frees both. Server
 * text in them is cut short and stripped of control characters. When it did not, both
 * are set to NULL. */
bool mh_sasl_client_error(const struct mh_sasl_client *c, char **status_r, char **message_r);

/* Returns whether the error report says the access token is invalid or has expired
 * (status "401", as Gmail's XOAUTH2 sends, or "invalid_token", RFC 7628 and RFC 6750):
 * the caller then refreshes the token once and authenticates again with a new client.
 * False when there was no report or it was not JSON. */
bool mh_sasl_client_token_expired(const struct mh_sasl_client *c);

/* g_autoptr() needs a plain type name; code still writes struct mh_sasl_client. */
typedef struct mh_sasl_client mh_sasl_client;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(mh_sasl_client, mh_sasl_client_free)

#endif
