/* SPDX-License-Identifier: MIT */
/* The live view's pieces that need no terminal: lines cut to a width with an ellipsis,
 * text wrapped to a width, durations, the --progress words, and the table's narrow layout. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "live-view.h"
#include "report.h"

static char *
fit(const char *s, unsigned width)
{
	GString *out = g_string_new(NULL);

	mh_live_fit(out, s, width);
	return g_string_free(out, false);
}

static void
test_fit(void)
{
	g_autofree char *same = fit("INBOX: 12/800 msgs", 18);
	g_autofree char *cut = fit("INBOX: 12/800 msgs", 12);
	g_autofree char *wide = fit("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e folder", 8);
	g_autofree char *tiny = fit("abcdef", 2);

	g_assert_cmpstr(same, ==, "INBOX: 12/800 msgs");
	g_assert_cmpstr(cut, ==, "INBOX: 12...");
	g_assert_cmpuint(mh_term_width(cut), ==, 12);
	/* Three wide characters take six columns: two fit before the ellipsis. */
	g_assert_cmpstr(wide, ==, "\xe6\x97\xa5\xe6\x9c\xac...");
	g_assert_cmpuint(mh_term_width(wide), <=, 8);
	g_assert_cmpstr(tiny, ==, "..");
}

static void
test_wrap(void)
{
	g_autoptr(GString) out = g_string_new(NULL);
	g_auto(GStrv) lines = NULL;

	mh_term_wrap(out,
	             "Verdict: OK, all 2000 source messages are on the destination.\n"
	             "short\n"
	             "averyveryveryverylongwordwithoutspaces\n",
	             20);
	lines = g_strsplit(out->str, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++)
		g_assert_cmpuint(mh_term_width(lines[i]), <=, 20);
	g_assert_cmpstr(lines[0], ==, "Verdict: OK, all");
	g_assert_cmpstr(lines[1], ==, "  2000 source");
	g_assert_true(g_str_has_suffix(out->str, "\n"));
	g_assert_nonnull(strstr(out->str, "\nshort\n"));
}

static void
test_duration(void)
{
	g_autofree char *s = mh_live_duration(42.4);
	g_autofree char *m = mh_live_duration(187);
	g_autofree char *h = mh_live_duration(7500);

	g_assert_cmpstr(s, ==, "42s");
	g_assert_cmpstr(m, ==, "3m07s");
	g_assert_cmpstr(h, ==, "2h05m");
}

static void
test_mode(void)
{
	enum mh_live_mode mode;
	g_autoptr(GError) error = NULL;

	g_assert_true(mh_live_mode_parse("plain", false, &mode, NULL));
	g_assert_cmpint(mode, ==, MH_LIVE_PLAIN);
	g_assert_true(mh_live_mode_parse("bar", false, &mode, NULL));
	g_assert_cmpint(mode, ==, MH_LIVE_BAR);
	g_assert_true(mh_live_mode_parse("bar", true, &mode, NULL));
	g_assert_cmpint(mode, ==, MH_LIVE_NONE);
	g_assert_true(mh_live_mode_parse("auto", false, &mode, NULL));
	g_assert_cmpint(mode, ==, isatty(STDERR_FILENO) ? MH_LIVE_BAR : MH_LIVE_PLAIN);
	g_assert_false(mh_live_mode_parse("fancy", false, &mode, &error));
	g_assert_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE);
}

static void
test_narrow(void)
{
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	const char *head[] = {"Folder", "Src msgs", "Src size", "Copied", "Missing", NULL};
	const char *inbox[] = {
		"Archive/2019/a-rather-long-folder-name", "800", "218.1 kB", "800", "0", NULL};
	const char *work[] = {"Work", "", "", "container", "", NULL};
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	g_ptr_array_add(rows, g_strdupv((char **)head));
	g_ptr_array_add(rows, g_strdupv((char **)inbox));
	g_ptr_array_add(rows, g_strdupv((char **)work));
	mh_report_print_narrow(mem, rows, 5, 30);
	fclose(mem);
	g_assert_cmpstr(text, ==,
	                "Archive/2019/a-rather-long-...\n"
	                "  Src 800 msgs 218.1 kB\n"
	                "  Copied 800  Missing 0\n"
	                "Work\n"
	                "  container\n");
	free(text);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/live-view/fit", test_fit);
	g_test_add_func("/live-view/wrap", test_wrap);
	g_test_add_func("/live-view/duration", test_duration);
	g_test_add_func("/live-view/mode", test_mode);
	g_test_add_func("/report/narrow", test_narrow);
	return g_test_run();
}
