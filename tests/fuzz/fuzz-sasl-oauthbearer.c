/* SPDX-License-Identifier: MIT */
/* Fuzzes the server side of OAUTHBEARER and XOAUTH2 (RFC 7628 section 3.2.2): arbitrary
 * bytes as the challenge after the initial response must be accepted as an error
 * report, answered with exactly 0x01 (OAUTHBEARER) or nothing (XOAUTH2), and turned
 * into a one-line message without control characters; a second challenge must fail.
 * Any difference aborts. */
#include "sasl.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_line(const char *s)
{
	if (s == NULL)
		return;
	if (!g_utf8_validate(s, -1, NULL))
		abort();
	for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar ch = g_utf8_get_char(p);

		if (g_unichar_iscntrl(ch) || ch == 0x2028 || ch == 0x2029)
			abort();
	}
}

static void
fuzz_exchange(const char *mech_name, const uint8_t *data, size_t size, const char *answer,
              size_t answer_len)
{
	struct mh_sasl_settings set = {
		.authid = "user@example.com",
		.token = "fuzz-token",
		.host = "imap.example.com",
		.port = 993,
	};
	g_autoptr(mh_sasl_client) c = mh_sasl_client_new(mh_sasl_mech_find(mech_name), &set, NULL);
	g_autofree char *status = NULL;
	g_autofree char *message = NULL;
	const unsigned char *out;
	size_t len;

	if (c == NULL || !mh_sasl_client_output(c, &out, &len, NULL))
		abort();
	if (mh_sasl_client_error(c, NULL, NULL) || mh_sasl_client_token_expired(c))
		abort();
	if (!mh_sasl_client_input(c, data, size, NULL))
		abort();
	if (!mh_sasl_client_output(c, &out, &len, NULL) || len != answer_len ||
	    memcmp(out, answer, len) != 0)
		abort();
	if (!mh_sasl_client_error(c, &status, &message) || message == NULL)
		abort();
	fuzz_check_line(status);
	fuzz_check_line(message);
	if (strstr(message, "fuzz-token") != NULL && memmem(data, size, "fuzz-token", 10) == NULL)
		abort();
	if (mh_sasl_client_token_expired(c) && status == NULL)
		abort();
	if (mh_sasl_client_input(c, data, size, NULL) || mh_sasl_client_output(c, &out, &len, NULL))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_exchange("OAUTHBEARER", data, size, "\001", 1);
	fuzz_exchange("XOAUTH2", data, size, "", 0);
	return 0;
}
