/* SPDX-License-Identifier: MIT */
/* What the SASL mechanisms share with sasl.c: the client object and the vtable a
 * mechanism implements. Only auth/sasl*.c include this header. */
#ifndef MH_SASL_PRIVATE_H
#define MH_SASL_PRIVATE_H

#include "sasl.h"

/* A mechanism's behaviour. Each hook may fail with a GError (MH_AUTH_ERROR_PROTOCOL
 * when the server's input makes no sense at this step). */
struct mh_sasl_mech_ops {
	/* whether the mechanism can carry an authorization identity */
	bool authzid;
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
	unsigned step;                      /* the mechanism's own state enum, starts at 0 */
	unsigned char *out;                 /* owned, mh_secret buffer: the last reply */
};

extern const struct mh_sasl_mech_ops mh_sasl_plain_ops;
extern const struct mh_sasl_mech_ops mh_sasl_login_ops;
extern const struct mh_sasl_mech_ops mh_sasl_cram_md5_ops;

/* Wipes and frees the previous reply of @c and returns a new zeroed secret buffer of
 * @len bytes as c->out, for the mechanism to fill. */
unsigned char *mh_sasl_client_set_output(struct mh_sasl_client *c, size_t len);

/* Fails with MH_AUTH_ERROR_PROTOCOL and "MECH: MESSAGE"; always returns false. */
bool mh_sasl_protocol_error(const struct mh_sasl_client *c, GError **error, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

#endif
