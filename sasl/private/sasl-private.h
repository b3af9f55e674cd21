/* SPDX-License-Identifier: MIT */
/* What the SASL mechanisms share with sasl.c: the client object and the vtable a
 * mechanism implements. Only sasl/sasl*.c include this header. */
#ifndef MH_SASL_PRIVATE_H
#define MH_SASL_PRIVATE_H

#include "sasl.h"

/* A mechanism's behaviour. Each hook may fail with a GError (MH_AUTH_ERROR_PROTOCOL
 * when the server's input makes no sense at this step). */
struct mh_sasl_mech_ops {
	/* whether the mechanism can carry an authorization identity */
	bool authzid;
	/* optional: refuses settings the mechanism cannot carry (MH_AUTH_ERROR_USAGE) */
	bool (*check)(const struct mh_sasl_settings *set, GError **error);
	/* takes a decoded server challenge; may already build the reply */
	bool (*input)(struct mh_sasl_client *c, const unsigned char *data, size_t len,
	              GError **error);
	/* leaves the next reply in c->out (see mh_sasl_client_set_output()) */
	bool (*output)(struct mh_sasl_client *c, GError **error);
};

struct mh_sasl_client {
	const struct mh_sasl_mech *mech;    /* borrowed: static table */
	const struct mh_sasl_mech_ops *ops; /* borrowed: static */
	char *authid;                       /* owned, mh_secret buffer */
	char *authzid;                      /* owned, mh_secret buffer; NULL when none */
	char *password;                     /* owned, mh_secret buffer; NULL when unused */
	char *token;                        /* owned, mh_secret buffer; NULL when unused */
	char *host;                         /* owned; NULL when not given */
	unsigned port;                      /* 0 when not given */
	unsigned step;                      /* the mechanism's own state enum, starts at 0 */
	unsigned char *out;                 /* owned, mh_secret buffer: the last reply */
	struct mh_sasl_oauth_error *report; /* owned; NULL until the server reports an error */
};

/* The error report of an XOAUTH2 or OAUTHBEARER server (RFC 7628 section 3.2.2), with
 * the JSON members we use; strings as received, NULL when absent. */
struct mh_sasl_oauth_error {
	bool json;     /* the report was a JSON object */
	char *status;  /* owned; a JSON number is kept in its decimal spelling */
	char *schemes; /* owned */
	char *scope;   /* owned */
};

extern const struct mh_sasl_mech_ops mh_sasl_plain_ops;
extern const struct mh_sasl_mech_ops mh_sasl_login_ops;
extern const struct mh_sasl_mech_ops mh_sasl_cram_md5_ops;
extern const struct mh_sasl_mech_ops mh_sasl_xoauth2_ops;
extern const struct mh_sasl_mech_ops mh_sasl_oauthbearer_ops;

/* Wipes and frees the previous reply of @c and returns a new zeroed secret buffer of
 * @len bytes as c->out, for the mechanism to fill. */
unsigned char *mh_sasl_client_set_output(struct mh_sasl_client *c, size_t len);

/* Fails with MH_AUTH_ERROR_PROTOCOL and "MECH: MESSAGE"; always returns false. */
bool mh_sasl_protocol_error(const struct mh_sasl_client *c, GError **error, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

/* What XOAUTH2 and OAUTHBEARER share (sasl-oauth.c). */

/* Fails with MH_AUTH_ERROR_USAGE when @value (@what: "user name", "access token",
 * "host name") holds a byte the token mechanisms use as separator (0x01, CR, LF);
 * the message names @what, never the value. */
bool mh_sasl_oauth_check_value(const char *what, const char *value, GError **error);

/* The input hook of both: an empty challenge before the initial response (no SASL-IR),
 * then at most one error report, parsed into c->report. */
bool mh_sasl_oauth_input(struct mh_sasl_client *c, const unsigned char *data, size_t len,
                         GError **error);

/* The output hook of both: @build_initial fills c->out with the initial response
 * (through mh_sasl_client_set_output()); after an error report, the reply is the
 * @answer_len bytes of @answer. */
bool mh_sasl_oauth_output(struct mh_sasl_client *c, void (*build_initial)(struct mh_sasl_client *c),
                          const char *answer, size_t answer_len, GError **error);

/* Frees a report; NULL is allowed. */
void mh_sasl_oauth_error_free(struct mh_sasl_oauth_error *report);

#endif
