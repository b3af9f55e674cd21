/* SPDX-License-Identifier: MIT */
/* SASL XOAUTH2 as Google and Microsoft define it: one initial response,
 * "user=" authid 0x01 "auth=Bearer " token 0x01 0x01. user= names the mailbox (for
 * Microsoft the identity to act as, which may differ from the token's user). On failure
 * Gmail sends a JSON error report as a challenge and waits for an empty reply. */
#include "sasl-private.h"

#include <string.h>

static const char xoauth2_user[] = "user=";
static const char xoauth2_auth[] = "\001auth=Bearer ";
static const char xoauth2_end[] = "\001\001";

static unsigned char *
sasl_xoauth2_put(unsigned char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

static void
sasl_xoauth2_initial(struct mh_sasl_client *c)
{
	size_t ulen = strlen(c->authid);
	size_t tlen = strlen(c->token);
	unsigned char *p;

	p = mh_sasl_client_set_output(c, sizeof(xoauth2_user) - 1 + ulen + sizeof(xoauth2_auth) -
	                                         1 + tlen + sizeof(xoauth2_end) - 1);
	p = sasl_xoauth2_put(p, xoauth2_user, sizeof(xoauth2_user) - 1);
	p = sasl_xoauth2_put(p, c->authid, ulen);
	p = sasl_xoauth2_put(p, xoauth2_auth, sizeof(xoauth2_auth) - 1);
	p = sasl_xoauth2_put(p, c->token, tlen);
	sasl_xoauth2_put(p, xoauth2_end, sizeof(xoauth2_end) - 1);
}

static bool
sasl_xoauth2_output(struct mh_sasl_client *c, GError **error)
{
	/* The answer to an error report is empty (Google's XOAUTH2 page). */
	return mh_sasl_oauth_output(c, sasl_xoauth2_initial, "", 0, error);
}

const struct mh_sasl_mech_ops mh_sasl_xoauth2_ops = {
	.authzid = false,
	.input = mh_sasl_oauth_input,
	.output = sasl_xoauth2_output,
};
