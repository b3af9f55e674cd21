/* SPDX-License-Identifier: MIT */
/* Fuzzes modified UTF-7 both ways: whatever decodes must encode back to the same
 * bytes (only canonical spellings are accepted), and whatever valid UTF-8 encodes
 * must decode back to itself. Any difference aborts. */
#include "imap-utf7.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_utf7_decode_side(const char *input)
{
	g_autofree char *utf8 = mh_imap_utf7_decode(input, NULL);
	g_autofree char *again = NULL;

	if (mh_imap_utf7_valid(input) != (utf8 != NULL))
		abort();
	if (utf8 == NULL)
		return;
	if (!g_utf8_validate(utf8, -1, NULL))
		abort();
	again = mh_imap_utf7_encode(utf8, NULL);
	if (again == NULL || strcmp(again, input) != 0)
		abort();
}

static void
fuzz_utf7_encode_side(const char *input)
{
	g_autofree char *utf7 = NULL;
	g_autofree char *back = NULL;

	if (!g_utf8_validate(input, -1, NULL)) {
		if (mh_imap_utf7_encode(input, NULL) != NULL)
			abort();
		return;
	}
	utf7 = mh_imap_utf7_encode(input, NULL);
	if (utf7 == NULL || !mh_imap_utf7_valid(utf7))
		abort();
	back = mh_imap_utf7_decode(utf7, NULL);
	if (back == NULL || strcmp(back, input) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Mailbox names are C strings here: the input stops at its first NUL. */
	g_autofree char *input = g_strndup((const char *)data, size);

	fuzz_utf7_decode_side(input);
	fuzz_utf7_encode_side(input);
	return 0;
}
