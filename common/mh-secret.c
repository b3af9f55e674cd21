/* SPDX-License-Identifier: MIT */
/* Secret buffers: the allocation keeps its size in front so that the whole of it
 * is wiped on free, whatever the caller wrote into it. */
#include "mh-secret.h"

#include <glib.h>
#include <string.h>

#define SECRET_HEADER sizeof(max_align_t)

void
mh_secret_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		explicit_bzero(p, len);
}

void *
mh_secret_alloc(size_t len)
{
	unsigned char *raw;

	g_return_val_if_fail(len < G_MAXSIZE - SECRET_HEADER - 1, NULL);
	raw = g_malloc0(SECRET_HEADER + len + 1);
	memcpy(raw, &len, sizeof(len));
	return raw + SECRET_HEADER;
}

size_t
mh_secret_len(const void *p)
{
	size_t len;

	memcpy(&len, (const unsigned char *)p - SECRET_HEADER, sizeof(len));
	return len;
}

char *
mh_secret_strndup(const char *s, size_t len)
{
	char *copy = mh_secret_alloc(len);

	memcpy(copy, s, len);
	return copy;
}

char *
mh_secret_strdup(const char *s)
{
	return mh_secret_strndup(s, strlen(s));
}

void
mh_secret_free(void *p)
{
	unsigned char *raw;

	if (p == NULL)
		return;
	raw = (unsigned char *)p - SECRET_HEADER;
	explicit_bzero(raw, SECRET_HEADER + mh_secret_len(p) + 1);
	g_free(raw);
}
