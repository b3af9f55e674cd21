/* SPDX-License-Identifier: MIT */
/* Fuzzes the token endpoint answer parser: any bytes, under a success and an error
 * status, into a fresh token and into one holding a refresh token. A success must leave
 * a usable access token and never lose the old refresh token; a failure must leave the
 * token untouched and carry an MH_AUTH_ERROR. Anything else aborts. */
#include "mh-secret.h"
#include "oauth2.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_token_once(const char *body, size_t size, long status)
{
	struct mh_oauth2_token *t = mh_oauth2_token_new();
	GError *error = NULL;
	bool ok;

	t->access_token = mh_secret_strdup("old-access");
	t->refresh_token = mh_secret_strdup("old-refresh");
	ok = mh_oauth2_token_parse(body, size, status, 1700000000, "fuzz:x", t, &error);
	if (ok) {
		if (error != NULL || t->access_token == NULL || t->access_token[0] == '\0' ||
		    strchr(t->access_token, '\x01') != NULL || t->refresh_token == NULL ||
		    t->expires_at < 0)
			abort();
	} else {
		if (error == NULL || error->domain != MH_AUTH_ERROR || error->message[0] == '\0' ||
		    strcmp(t->access_token, "old-access") != 0 ||
		    strcmp(t->refresh_token, "old-refresh") != 0)
			abort();
		g_error_free(error);
	}
	mh_oauth2_token_free(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly @size bytes: the parser must not read past its length. */
	char *body = g_memdup2(data, size);

	fuzz_token_once(body, size, 200);
	fuzz_token_once(body, size, 400);
	g_free(body);
	return 0;
}
