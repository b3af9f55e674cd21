/* SPDX-License-Identifier: MIT */
/* Client SASL mechanisms as pure byte-in/byte-out objects (no I/O, no base64, no
 * protocol framing): PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5
 * (RFC 2195). The IMAP layer frames them (AUTHENTICATE, SASL-IR, base64). */
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
	unsigned rank;    /* higher is preferred among password mechanisms */
};

/* What a mechanism needs; all borrowed, only for the duration of mh_sasl_client_new(),
 * which copies what it keeps (secrets into mh_secret buffers). */
struct mh_sasl_settings {
	const char *authid;   /* the user name to authenticate as */
	const char *authzid;  /* optional identity to act as (PLAIN), or NULL */
	const char *password; /* NUL-terminated */
};

/* Returns the mechanism called @name (ignoring case), or NULL. */
const struct mh_sasl_mech *mh_sasl_mech_find(const char *name);

/* Chooses the strongest password mechanism in @server_mechs (NULL-terminated names
 * from AUTH=... capabilities) that we implement: CRAM-MD5 > PLAIN > LOGIN, skipping
 * CRAM-MD5 when @allow_cram_md5 is false and any mechanism other than PLAIN when an
 * authzid is needed (@need_authzid). Returns NULL when none fits. */
const struct mh_sasl_mech *mh_sasl_mech_choose(const char *const *server_mechs, bool need_authzid,
                                               bool allow_cram_md5);

/* Returns a new client for @mech (one from mh_sasl_mech_find() or _choose()), or NULL
 * with MH_AUTH_ERROR_USAGE: "no user name given" (NULL or empty authid), "no password
 * given", or an authzid with a mechanism that cannot carry one (only PLAIN can; an
 * empty authzid counts as none). */
struct mh_sasl_client *mh_sasl_client_new(const struct mh_sasl_mech *mech,
                                          const struct mh_sasl_settings *set, GError **error);

/* Wipes all secrets and frees; NULL is allowed. */
void mh_sasl_client_free(struct mh_sasl_client *c);

/* Gives the mechanism the server's decoded challenge (@len may be 0). Call it once per
 * challenge, then mh_sasl_client_output() for the reply. Returns false with
 * MH_AUTH_ERROR_PROTOCOL when the challenge is not acceptable at this step (any
 * challenge after the last reply, a non-empty one before the PLAIN response, an empty
 * CRAM-MD5 one), or MH_AUTH_ERROR_MECH when OpenSSL cannot compute HMAC-MD5. PLAIN
 * accepts an empty challenge before its response (a server without SASL-IR). */
bool mh_sasl_client_input(struct mh_sasl_client *c, const unsigned char *data, size_t len,
                          GError **error);

/* Produces the next client message (before any input: the initial response, for
 * mechanisms with MH_SASL_MECH_INITIAL). *data_r is borrowed, valid until the next
 * call on @c or its free, and is secret: never log it. Returns false with
 * MH_AUTH_ERROR_PROTOCOL when the mechanism has nothing to send at this step. */
bool mh_sasl_client_output(struct mh_sasl_client *c, const unsigned char **data_r, size_t *len_r,
                           GError **error);

/* g_autoptr() needs a plain type name; code still writes struct mh_sasl_client. */
typedef struct mh_sasl_client mh_sasl_client;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(mh_sasl_client, mh_sasl_client_free)

#endif
