/* SPDX-License-Identifier: MIT */
/* Gmail's X-GM-LABELS (imap-gmail.c): a FETCH value read into UTF-8 names, as Gmail
 * writes it (system labels as atoms or as quoted strings with an escaped backslash,
 * names in modified UTF-7), and the exact bytes of the list UID STORE +X-GM-LABELS sends. */
#include "imap.h"

#include <glib.h>
#include <string.h>

/* Parses one untagged FETCH line and returns its X-GM-LABELS as "a|b|c". */
static char *
labels_of(const char *line, bool utf8)
{
	struct mh_imap_parser *p = mh_imap_parser_new(NULL);
	struct mh_imap_response *r;
	const struct mh_imap_arg *items;
	GPtrArray *labels;
	GError *error = NULL;
	size_t used = 0;
	char *joined;

	g_assert_cmpint(
		mh_imap_parser_feed(p, (const unsigned char *)line, strlen(line), &used, &error),
		==, MH_PARSE_DONE);
	g_assert_no_error(error);
	r = mh_imap_parser_take(p);
	items = r->args->pdata[0];
	g_assert_cmpint(items->type, ==, MH_IMAP_ARG_LIST);
	labels = mh_imap_gm_labels_parse(mh_imap_list_lookup(items->list, "X-GM-LABELS"), utf8);
	g_assert_nonnull(labels);
	g_ptr_array_add(labels, NULL);
	joined = g_strjoinv("|", (char **)labels->pdata);
	g_ptr_array_free(labels, true);
	mh_imap_response_free(r);
	mh_imap_parser_free(p);
	return joined;
}

static void
test_parse_atoms_and_strings(void)
{
	g_autofree char *a = labels_of("* 1 FETCH (X-GM-LABELS (\\Inbox \\Sent Important "
	                               "\"Muy Importante\") UID 1)\r\n",
	                               false);
	g_autofree char *b = labels_of("* 2 FETCH (UID 9 X-GM-LABELS (\"\\\\Inbox\" "
	                               "\"\\\\Starred\" \"Work\"))\r\n",
	                               false);
	g_autofree char *c = labels_of("* 3 FETCH (X-GM-LABELS () UID 3)\r\n", false);

	g_assert_cmpstr(a, ==, "\\Inbox|\\Sent|Important|Muy Importante");
	g_assert_cmpstr(b, ==, "\\Inbox|\\Starred|Work");
	g_assert_cmpstr(c, ==, "");
}

static void
test_parse_utf7(void)
{
	g_autofree char *a =
		labels_of("* 1 FETCH (X-GM-LABELS (\"Entw&APw-rfe\" &BBoEPgRABDcEOAQ9BDA-) "
	                  "UID 1)\r\n",
	                  false);
	g_autofree char *b = labels_of("* 1 FETCH (X-GM-LABELS (\"Entwürfe\") UID 1)\r\n", true);
	/* Not valid modified UTF-7: kept as sent rather than dropped. */
	g_autofree char *c = labels_of("* 1 FETCH (X-GM-LABELS (\"a&b\") UID 1)\r\n", false);

	g_assert_cmpstr(a, ==, "Entwürfe|Корзина");
	g_assert_cmpstr(b, ==, "Entwürfe");
	g_assert_cmpstr(c, ==, "a&b");
}

static void
test_parse_not_a_list(void)
{
	g_assert_null(mh_imap_gm_labels_parse(NULL, false));
}

static char *
format(bool utf8, GError **error, ...)
{
	GPtrArray *labels = g_ptr_array_new();
	const char *s;
	va_list ap;
	char *out;

	va_start(ap, error);
	while ((s = va_arg(ap, const char *)) != NULL)
		g_ptr_array_add(labels, (char *)s);
	va_end(ap);
	out = mh_imap_gm_labels_format(labels, utf8, error);
	g_ptr_array_free(labels, true);
	return out;
}

static void
test_format_exact_bytes(void)
{
	GError *error = NULL;
	g_autofree char *a = format(false, &error, "\\Inbox", "Work", "My Label", "Entwürfe",
	                            "a\"b\\c", "NIL", "x(y)", "\\Starred", NULL);
	g_autofree char *b = format(true, &error, "Entwürfe", NULL);
	g_autofree char *c = format(false, &error, NULL);

	g_assert_no_error(error);
	g_assert_cmpstr(a, ==,
	                "(\\Inbox Work \"My Label\" Entw&APw-rfe \"a\\\"b\\\\c\" \"NIL\" \"x(y)\" "
	                "\\Starred)");
	g_assert_cmpstr(b, ==, "(\"Entwürfe\")");
	g_assert_cmpstr(c, ==, "()");
}

static void
test_format_refuses_line_breaks(void)
{
	GError *error = NULL;
	/* Modified UTF-7 encodes control characters, so nothing raw reaches the wire... */
	g_autofree char *encoded = format(false, &error, "bad\r\nA1 LOGOUT", NULL);
	/* ...but with UTF8=ACCEPT names travel as they are, and a quoted string cannot
	 * carry a line break. */
	char *out = format(true, &error, "ok", "bad\r\nA1 LOGOUT", NULL);

	g_assert_cmpstr(encoded, ==, "(\"bad&AA0ACg-A1 LOGOUT\")");
	g_assert_null(out);
	g_assert_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE);
	g_clear_error(&error);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/imap/gmail/parse-atoms-and-strings", test_parse_atoms_and_strings);
	g_test_add_func("/imap/gmail/parse-utf7", test_parse_utf7);
	g_test_add_func("/imap/gmail/parse-not-a-list", test_parse_not_a_list);
	g_test_add_func("/imap/gmail/format-exact-bytes", test_format_exact_bytes);
	g_test_add_func("/imap/gmail/format-refuses-line-breaks", test_format_refuses_line_breaks);
	return g_test_run();
}
