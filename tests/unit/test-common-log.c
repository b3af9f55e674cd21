/* SPDX-License-Identifier: MIT */
/* Logging: category parsing, filtering, the sink. */
#include <glib.h>

#include "mh-log.h"

struct captured {
	GPtrArray *lines;
};

static void
capture_sink(enum mh_log_level level, unsigned category, const char *msg, void *ctx)
{
	struct captured *c = ctx;

	g_ptr_array_add(c->lines, g_strdup_printf("%d/%u/%s", level, category, msg));
}

static void
test_parse(void)
{
	unsigned mask = 0;
	g_autoptr(GError) error = NULL;

	g_assert_true(mh_log_parse_categories("imap,wire", &mask, NULL));
	g_assert_cmpuint(mask, ==, MH_LOG_CAT_IMAP | MH_LOG_CAT_WIRE);
	g_assert_true(mh_log_parse_categories("all", &mask, NULL));
	g_assert_cmpuint(mask, ==, MH_LOG_CAT_ALL);
	g_assert_true(mh_log_parse_categories("AUTH, http", &mask, NULL));
	g_assert_cmpuint(mask, ==, MH_LOG_CAT_AUTH | MH_LOG_CAT_HTTP);
	g_assert_false(mh_log_parse_categories("imap,bogus", &mask, &error));
	g_assert_nonnull(error);
	g_assert_nonnull(g_strstr_len(error->message, -1, "bogus"));
}

static void
test_filter(void)
{
	struct captured c = {.lines = g_ptr_array_new_with_free_func(g_free)};

	mh_log_set_sink(capture_sink, &c);
	mh_log_set_categories(MH_LOG_CAT_IMAP);
	mh_log_debug(MH_LOG_CAT_IMAP, "shown %d", 1);
	mh_log_debug(MH_LOG_CAT_WIRE, "hidden");
	mh_log_set_level(MH_LOG_WARN);
	mh_log(MH_LOG_INFO, "quiet");
	mh_log(MH_LOG_WARN, "warned");
	mh_log_set_level(MH_LOG_INFO);
	mh_log_set_sink(NULL, NULL);
	mh_log_set_categories(0);
	g_assert_cmpuint(c.lines->len, ==, 2);
	g_assert_cmpstr(c.lines->pdata[0], ==, "3/1/shown 1");
	g_assert_cmpstr(c.lines->pdata[1], ==, "1/0/warned");
	g_assert_false(mh_log_enabled(MH_LOG_CAT_IMAP));
	g_ptr_array_free(c.lines, true);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/common/log/parse", test_parse);
	g_test_add_func("/common/log/filter", test_filter);
	return g_test_run();
}
