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

static void
route_sink(enum mh_log_level level, unsigned category, const char *msg, void *ctx)
{
	struct captured *c = ctx;
	const char *route = mh_log_thread_route();

	(void)level;
	(void)category;
	g_ptr_array_add(c->lines, g_strdup_printf("%s:%s", route != NULL ? route : "-", msg));
}

static gpointer
route_thread(gpointer data)
{
	g_assert_null(mh_log_thread_route()); /* not inherited */
	mh_log_set_thread_route(data);
	mh_log(MH_LOG_WARN, "from the thread");
	return NULL;
}

/* Each thread's messages carry its own route to the sink. */
static void
test_route(void)
{
	struct captured c = {.lines = g_ptr_array_new_with_free_func(g_free)};
	GThread *t;

	mh_log_set_sink(route_sink, &c);
	mh_log_set_thread_route("main");
	t = g_thread_new("route", route_thread, "row");
	g_thread_join(t);
	mh_log(MH_LOG_WARN, "from main");
	mh_log_set_thread_route(NULL);
	mh_log(MH_LOG_WARN, "unrouted");
	mh_log_set_sink(NULL, NULL);
	g_assert_cmpuint(c.lines->len, ==, 3);
	g_assert_cmpstr(c.lines->pdata[0], ==, "row:from the thread");
	g_assert_cmpstr(c.lines->pdata[1], ==, "main:from main");
	g_assert_cmpstr(c.lines->pdata[2], ==, "-:unrouted");
	g_ptr_array_free(c.lines, true);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/common/log/parse", test_parse);
	g_test_add_func("/common/log/filter", test_filter);
	g_test_add_func("/common/log/route", test_route);
	return g_test_run();
}
