/* SPDX-License-Identifier: MIT */
/* --search criteria: what is accepted as IMAP search keys and what is refused before it
 * could reach a server (line breaks that would start a second command above all). */
#include <string.h>

#include "imap.h"

static void
assert_ok(const char *criteria)
{
	g_autoptr(GError) error = NULL;

	if (!mh_imap_search_check(criteria, &error))
		g_error("refused \"%s\": %s", criteria, error->message);
}

static void
assert_refused(const char *criteria, const char *why)
{
	g_autoptr(GError) error = NULL;

	g_assert_false(mh_imap_search_check(criteria, &error));
	g_assert_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE);
	if (strstr(error->message, why) == NULL)
		g_error("\"%s\": \"%s\" does not say \"%s\"", criteria, error->message, why);
	g_assert_null(strchr(error->message, '\r'));
	g_assert_null(strchr(error->message, '\n'));
}

static void
test_accepted(void)
{
	assert_ok("ALL");
	assert_ok("all");
	assert_ok("SINCE 1-Jan-2020");
	assert_ok("SINCE \"01-Feb-2021\" BEFORE 1-Mar-2021");
	assert_ok("NOT DELETED");
	assert_ok("OR SEEN FLAGGED");
	assert_ok("OR (FROM alice SINCE 1-Jan-2020) (TO bob)");
	assert_ok("FROM \"Alice \\\"A\\\" Smith\"");
	assert_ok("HEADER X-Spam-Flag YES");
	assert_ok("LARGER 10000 SMALLER 5000000");
	assert_ok("UID 1:100,200:*");
	assert_ok("1:50");
	assert_ok("KEYWORD $Important UNKEYWORD $Junk");
	assert_ok("YOUNGER 86400");
	assert_ok("X-GM-RAW \"has:attachment larger:5M\"");
	assert_ok("  ALL  ");
	assert_ok("SUBJECT \"Gr\xc3\xbc\xc3\x9f"
	          "e\"");
}

static void
test_refused(void)
{
	/* The injection the CLI must never pass on. */
	assert_refused("ALL\r\nX1 CREATE chaos-inj", "line break");
	assert_refused("ALL\nX1 DELETE INBOX", "line break");
	assert_refused("ALL\rX", "line break");
	assert_refused("SUBJECT \"a\r\nb\"", "line break");
	assert_refused("ALL\tSEEN", "tab");
	assert_refused("ALL \x01", "control character");
	/* Not search keys. */
	assert_refused("", "ends too early");
	assert_refused("EVERYTHING", "not an IMAP search key near \"EVERYTHING\"");
	assert_refused("SINCE", "without its argument");
	assert_refused("SINCE yesterday", "not a date");
	assert_refused("SINCE 1-Foo-2020", "not a date");
	assert_refused("LARGER big", "not a number");
	assert_refused("UID all", "not a UID set");
	assert_refused("(SEEN", "unclosed parenthesis");
	assert_refused("SEEN)", "closing parenthesis");
	assert_refused("FROM \"alice", "unclosed quote");
	assert_refused("OR SEEN", "ends too early");
	assert_refused("NOT", "ends too early");
	assert_refused("KEYWORD \"x\"", "cannot be quoted");
	assert_refused("ALL X1 CREATE chaos", "not an IMAP search key near \"X1\"");
}

static void
test_deep_nesting(void)
{
	GString *s = g_string_new(NULL);

	for (int i = 0; i < 100; i++)
		g_string_append_c(s, '(');
	g_string_append(s, "ALL");
	for (int i = 0; i < 100; i++)
		g_string_append_c(s, ')');
	assert_refused(s->str, "nested too deep");
	g_string_free(s, true);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/imap/search/accepted", test_accepted);
	g_test_add_func("/imap/search/refused", test_refused);
	g_test_add_func("/imap/search/deep-nesting", test_deep_nesting);
	return g_test_run();
}
