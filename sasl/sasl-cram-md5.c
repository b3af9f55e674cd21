/* SPDX-License-Identifier: MIT */
/* SASL CRAM-MD5 (RFC 2195): the reply to the server's challenge is the user name, a
 * space and the lower-case hex HMAC-MD5 (RFC 2104) of the challenge keyed with the
 * password. HMAC goes through OpenSSL 3's EVP_MAC interface. */
#include "sasl-private.h"

#include "mh-secret.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <string.h>

#define CRAM_MD5_DIGEST_LEN 16

enum sasl_cram_md5_step {
	SASL_CRAM_MD5_INIT = 0, /* waiting for the challenge */
	SASL_CRAM_MD5_READY,    /* reply computed, not yet sent */
	SASL_CRAM_MD5_SENT,     /* only the tagged result may follow */
};

static bool
sasl_cram_md5_hmac(const char *key, const unsigned char *data, size_t len,
                   unsigned char digest[CRAM_MD5_DIGEST_LEN])
{
	char md5[] = "MD5";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, md5, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	size_t out_len = 0;
	bool ok = false;

	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac != NULL)
		ctx = EVP_MAC_CTX_new(mac);
	if (ctx != NULL && EVP_MAC_init(ctx, (const unsigned char *)key, strlen(key), params) &&
	    EVP_MAC_update(ctx, data, len) &&
	    EVP_MAC_final(ctx, digest, &out_len, CRAM_MD5_DIGEST_LEN))
		ok = out_len == CRAM_MD5_DIGEST_LEN;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok;
}

static bool
sasl_cram_md5_input(struct mh_sasl_client *c, const unsigned char *data, size_t len, GError **error)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char digest[CRAM_MD5_DIGEST_LEN];
	size_t ulen = strlen(c->authid);
	unsigned char *p;

	if (c->step == SASL_CRAM_MD5_SENT)
		return mh_sasl_protocol_error(c, error,
		                              "server sent a challenge after the response");
	if (c->step != SASL_CRAM_MD5_INIT)
		return mh_sasl_protocol_error(c, error,
		                              "challenge received before the last reply was sent");
	if (len == 0)
		return mh_sasl_protocol_error(c, error, "server sent an empty challenge");
	if (!sasl_cram_md5_hmac(c->password, data, len, digest)) {
		mh_secret_wipe(digest, sizeof(digest));
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_MECH,
		            "CRAM-MD5: HMAC-MD5 is not available from OpenSSL");
		return false;
	}
	p = mh_sasl_client_set_output(c, ulen + 1 + 2 * CRAM_MD5_DIGEST_LEN);
	memcpy(p, c->authid, ulen);
	p += ulen;
	*p++ = ' ';
	for (size_t i = 0; i < CRAM_MD5_DIGEST_LEN; i++) {
		*p++ = hex[digest[i] >> 4];
		*p++ = hex[digest[i] & 0x0f];
	}
	mh_secret_wipe(digest, sizeof(digest));
	c->step = SASL_CRAM_MD5_READY;
	return true;
}

static bool
sasl_cram_md5_output(struct mh_sasl_client *c, GError **error)
{
	if (c->step == SASL_CRAM_MD5_INIT)
		return mh_sasl_protocol_error(c, error,
		                              "no initial response: wait for a challenge");
	if (c->step == SASL_CRAM_MD5_SENT)
		return mh_sasl_protocol_error(c, error, "the response was already sent");
	c->step = SASL_CRAM_MD5_SENT;
	return true;
}

const struct mh_sasl_mech_ops mh_sasl_cram_md5_ops = {
	.authzid = false,
	.input = sasl_cram_md5_input,
	.output = sasl_cram_md5_output,
};
