/* SPDX-License-Identifier: MIT */
/* SASL OAUTHBEARER (RFC 7628 section 3.1): a GS2 header (RFC 5801 section 4) naming the
 * user in a= (Dovecot 2.3 requires it), then 0x01-separated host=, port= and
 * auth=Bearer <token>, ending in two 0x01. The answer to the server's error report is
 * a single 0x01 (section 3.2.3). host= is left out when no host is set, port= when
 * the port is 0, as curl does. */
#include "sasl-private.h"

#include <string.h>

static const char oauthbearer_gs2[] = "n,a=";
static const char oauthbearer_host[] = "\001host=";
static const char oauthbearer_port[] = "\001port=";
static const char oauthbearer_auth[] = "\001auth=Bearer ";
static const char oauthbearer_end[] = "\001\001";

#define OAUTHBEARER_PORT_MAX 65535

static bool
sasl_oauthbearer_check(const struct mh_sasl_settings *set, GError **error)
{
	if (set->port > OAUTHBEARER_PORT_MAX) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
		            "port %u is out of range (1-65535)", set->port);
		return false;
	}
	return set->host == NULL || mh_sasl_oauth_check_value("host name", set->host, error);
}

/* The length of @s as a GS2 saslname: "," and "=" take three bytes each. */
static size_t
sasl_oauthbearer_saslname_len(const char *s)
{
	size_t len = 0;

	for (; *s != '\0'; s++)
		len += *s == ',' || *s == '=' ? 3 : 1;
	return len;
}

static unsigned char *
sasl_oauthbearer_put(unsigned char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

static unsigned char *
sasl_oauthbearer_put_saslname(unsigned char *p, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == ',')
			p = sasl_oauthbearer_put(p, "=2C", 3);
		else if (*s == '=')
			p = sasl_oauthbearer_put(p, "=3D", 3);
		else
			*p++ = (unsigned char)*s;
	}
	return p;
}

static void
sasl_oauthbearer_initial(struct mh_sasl_client *c)
{
	bool host = c->host != NULL && c->host[0] != '\0';
	char port[16] = "";
	size_t ulen = sasl_oauthbearer_saslname_len(c->authid);
	size_t hlen = host ? strlen(c->host) : 0;
	size_t plen = 0;
	size_t tlen = strlen(c->token);
	size_t len;
	unsigned char *p;

	if (c->port != 0)
		plen = (size_t)g_snprintf(port, sizeof(port), "%u", c->port);
	len = sizeof(oauthbearer_gs2) - 1 + ulen + 1;
	if (host)
		len += sizeof(oauthbearer_host) - 1 + hlen;
	if (plen > 0)
		len += sizeof(oauthbearer_port) - 1 + plen;
	len += sizeof(oauthbearer_auth) - 1 + tlen + sizeof(oauthbearer_end) - 1;

	p = mh_sasl_client_set_output(c, len);
	p = sasl_oauthbearer_put(p, oauthbearer_gs2, sizeof(oauthbearer_gs2) - 1);
	p = sasl_oauthbearer_put_saslname(p, c->authid);
	*p++ = ',';
	if (host) {
		p = sasl_oauthbearer_put(p, oauthbearer_host, sizeof(oauthbearer_host) - 1);
		p = sasl_oauthbearer_put(p, c->host, hlen);
	}
	if (plen > 0) {
		p = sasl_oauthbearer_put(p, oauthbearer_port, sizeof(oauthbearer_port) - 1);
		p = sasl_oauthbearer_put(p, port, plen);
	}
	p = sasl_oauthbearer_put(p, oauthbearer_auth, sizeof(oauthbearer_auth) - 1);
	p = sasl_oauthbearer_put(p, c->token, tlen);
	sasl_oauthbearer_put(p, oauthbearer_end, sizeof(oauthbearer_end) - 1);
}

static bool
sasl_oauthbearer_output(struct mh_sasl_client *c, GError **error)
{
	return mh_sasl_oauth_output(c, sasl_oauthbearer_initial, "\001", 1, error);
}

const struct mh_sasl_mech_ops mh_sasl_oauthbearer_ops = {
	.authzid = false,
	.check = sasl_oauthbearer_check,
	.input = mh_sasl_oauth_input,
	.output = sasl_oauthbearer_output,
};
