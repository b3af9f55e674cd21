/* SPDX-License-Identifier: MIT */
/* Fuzzes header fingerprints with arbitrary header bytes: both functions must accept any
 * input, the fingerprint must be 64 lowercase hex digits and depend on nothing but the
 * input, and a Message-ID, when found, must be non-empty, trimmed, and hold no whitespace
 * but single spaces. */
#include "sync-fingerprint.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fp_check_hex(const char *fp)
{
	if (fp == NULL || strlen(fp) != MH_FINGERPRINT_HEX_LEN)
		abort();
	for (const char *p = fp; *p != '\0'; p++) {
		if (!g_ascii_isdigit(*p) && !(*p >= 'a' && *p <= 'f'))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so a read past the end is caught even when the fuzzer's
	 * buffer is followed by more mapped bytes. */
	g_autofree char *input = size > 0 ? g_memdup2(data, size) : NULL;
	g_autofree char *fp = mh_fingerprint_compute(input, size);
	g_autofree char *again = mh_fingerprint_compute(input, size);
	g_autofree char *mid = mh_fingerprint_message_id(input, size);

	fuzz_fp_check_hex(fp);
	if (strcmp(fp, again) != 0)
		abort();
	if (mid != NULL) {
		size_t n = strlen(mid);

		if (n == 0 || mid[0] == ' ' || mid[n - 1] == ' ' || strstr(mid, "  ") != NULL ||
		    strpbrk(mid, "\t\r\n") != NULL)
			abort();
	}
	return 0;
}
