/* SPDX-License-Identifier: MIT */
/* SASL PLAIN (RFC 4616): one message, authzid NUL authid NUL password, sent as the
 * initial response or after an empty challenge from a server without SASL-IR. */
#include "sasl-private.h"

#include <string.h>

enum sasl_plain_step {
	SASL_PLAIN_INIT = 0, /* nothing sent yet */
	SASL_PLAIN_SENT,     /* the response went out; only the tagged result may follow */
};

static bool
sasl_plain_input(struct mh_sasl_client *c, const unsigned char *data, size_t len, GError **error)
{
	(void)data;
	if (c->step == SASL_PLAIN_SENT)
		return mh_sasl_protocol_error(c, error,
		                              "server sent a challenge after the response");
	if (len > 0)
		return mh_sasl_protocol_error(c, error, "server sent a non-empty challenge");
	/* An empty challenge: the server does not do SASL-IR and asks for the response. */
	return true;
}

static bool
sasl_plain_output(struct mh_sasl_client *c, GError **error)
{
	size_t zlen = c->authzid != NULL ? strlen(c->authzid) : 0;
	size_t ulen = strlen(c->authid);
	size_t plen = strlen(c->password);
	unsigned char *p;

	if (c->step == SASL_PLAIN_SENT)
		return mh_sasl_protocol_error(c, error, "the response was already sent");
	p = mh_sasl_client_set_output(c, zlen + 1 + ulen + 1 + plen);
	/* The buffer is zeroed: the two separators are already NUL. */
	if (zlen > 0)
		memcpy(p, c->authzid, zlen);
	memcpy(p + zlen + 1, c->authid, ulen);
	memcpy(p + zlen + 1 + ulen + 1, c->password, plen);
	c->step = SASL_PLAIN_SENT;
	return true;
}

const struct mh_sasl_mech_ops mh_sasl_plain_ops = {
	.authzid = true,
	.input = sasl_plain_input,
	.output = sasl_plain_output,
};
