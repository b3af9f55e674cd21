/* SPDX-License-Identifier: MIT */
/* Fuzzes content digests with arbitrary message bytes: any input is digested without a
 * crash, in bounded time, twice the same; a digest equals itself by bytes; and comparing
 * it with the same message plus a final CRLF (what Courier stores) never fails. */
#include "sync-content.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so a read past the end is caught. */
	g_autofree char *input = size > 0 ? g_memdup2(data, size) : NULL;
	g_autofree char *crlf = g_malloc(size + 2);
	struct mh_content_digest *a = mh_content_digest_of(input, size);
	struct mh_content_digest *b = mh_content_digest_of(input, size);
	struct mh_content_digest *c;
	g_autofree char *da = mh_content_digest_describe(a);
	g_autofree char *db = mh_content_digest_describe(b);
	GPtrArray *diffs = NULL;

	if (size > 0)
		memcpy(crlf, input, size);
	memcpy(crlf + size, "\r\n", 2);
	c = mh_content_digest_of(crlf, size + 2);
	if (strcmp(da, db) != 0 || mh_content_compare(a, b, NULL) != MH_CONTENT_SAME_BYTES ||
	    strlen(mh_content_digest_sha256(a)) != 64 || mh_content_digest_size(a) != size)
		abort();
	if (mh_content_compare(a, c, &diffs) == MH_CONTENT_DIFFERENT && diffs == NULL)
		abort();
	if (diffs != NULL)
		g_ptr_array_unref(diffs);
	mh_content_digest_free(a);
	mh_content_digest_free(b);
	mh_content_digest_free(c);
	return 0;
}
