/* SPDX-License-Identifier: MIT */
/* Secret buffers: sizes, NUL termination, copies. */
#include <glib.h>
#include <string.h>

#include "mh-secret.h"

static void
test_alloc(void)
{
	unsigned char *p = mh_secret_alloc(17);

	g_assert_nonnull(p);
	g_assert_cmpuint(mh_secret_len(p), ==, 17);
	for (size_t i = 0; i <= 17; i++)
		g_assert_cmpuint(p[i], ==, 0);
	memset(p, 0xAA, 17);
	g_assert_cmpuint(p[17], ==, 0);
	mh_secret_free(p);
	mh_secret_free(NULL);
}

static void
test_strdup(void)
{
	char *s = mh_secret_strdup("hunter2");
	char *t = mh_secret_strndup("abc\0def", 7);

	g_assert_cmpstr(s, ==, "hunter2");
	g_assert_cmpuint(mh_secret_len(s), ==, 7);
	g_assert_cmpuint(mh_secret_len(t), ==, 7);
	g_assert_cmpmem(t, 7, "abc\0def", 7);
	g_assert_cmpuint(t[7], ==, 0);
	mh_secret_free(s);
	mh_secret_free(t);
}

static void
test_wipe(void)
{
	char buf[8] = "secret!";

	mh_secret_wipe(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		g_assert_cmpint(buf[i], ==, 0);
	mh_secret_wipe(NULL, 5);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/common/secret/alloc", test_alloc);
	g_test_add_func("/common/secret/strdup", test_strdup);
	g_test_add_func("/common/secret/wipe", test_wipe);
	return g_test_run();
}
