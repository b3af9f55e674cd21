/* SPDX-License-Identifier: MIT */
/* SASL LOGIN (draft-murchison-sasl-login): the server asks for the user name, then
 * the password. Servers word the prompts differently ("Username:", "User Name",
 * localised text), so the reply depends on the step, never on the prompt text. */
#include "sasl-private.h"

#include <string.h>

enum sasl_login_step {
	SASL_LOGIN_INIT = 0,   /* no prompt yet: LOGIN has no initial response */
	SASL_LOGIN_USER_ASKED, /* first prompt received */
	SASL_LOGIN_USER_SENT,
	SASL_LOGIN_PASS_ASKED, /* second prompt received */
	SASL_LOGIN_PASS_SENT,  /* only the tagged result may follow */
};

static bool
sasl_login_input(struct mh_sasl_client *c, const unsigned char *data, size_t len, GError **error)
{
	(void)data;
	(void)len;
	switch (c->step) {
	case SASL_LOGIN_INIT:
		c->step = SASL_LOGIN_USER_ASKED;
		return true;
	case SASL_LOGIN_USER_SENT:
		c->step = SASL_LOGIN_PASS_ASKED;
		return true;
	case SASL_LOGIN_PASS_SENT:
		return mh_sasl_protocol_error(c, error, "server sent a third challenge");
	default:
		return mh_sasl_protocol_error(c, error,
		                              "challenge received before the last reply was sent");
	}
}

static void
sasl_login_reply(struct mh_sasl_client *c, const char *value)
{
	size_t len = strlen(value);

	memcpy(mh_sasl_client_set_output(c, len), value, len);
}

static bool
sasl_login_output(struct mh_sasl_client *c, GError **error)
{
	switch (c->step) {
	case SASL_LOGIN_USER_ASKED:
		sasl_login_reply(c, c->authid);
		c->step = SASL_LOGIN_USER_SENT;
		return true;
	case SASL_LOGIN_PASS_ASKED:
		sasl_login_reply(c, c->password);
		c->step = SASL_LOGIN_PASS_SENT;
		return true;
	case SASL_LOGIN_INIT:
		return mh_sasl_protocol_error(c, error,
		                              "no initial response: wait for a challenge");
	default:
		return mh_sasl_protocol_error(c, error,
		                              "nothing to send before the next challenge");
	}
}

const struct mh_sasl_mech_ops mh_sasl_login_ops = {
	.authzid = false,
	.input = sasl_login_input,
	.output = sasl_login_output,
};
