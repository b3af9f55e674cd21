/* SPDX-License-Identifier: MIT */
/* The batch's final table (batch-view.c): its width from COLUMNS, the order of the rows,
 * and at every width no line wider than asked and every reason whole. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

#define AUTH_REASON                                                                \
	"host1: authentication as someone.with.a.long.name with CRAM-MD5 failed: " \
	"[AUTHENTICATIONFAILED] Authentication failed."
#define LOCK_REASON                                                                         \
	"another mailhaul run (pid 4242, since 2026-12-06 11:23:05) is using this account " \
	"pair (lock /home/admin/.local/state/mailhaul/state/"                               \
	"someone.with.a.long.name@imap.old.example.com_993_to_someone@example.com_993-"     \
	"0123456789abcdef.db.lock): let it finish, or add --wait-lock to wait for it"

static struct batch_row *
row_new(guint line, enum batch_status st, const char *source, const char *reason, int code)
{
	struct batch_row *row = g_new0(struct batch_row, 1);

	row->line = line;
	row->status = st;
	row->source = g_strdup(source);
	row->destination = g_strdup_printf("%.*s@example.com", (int)strcspn(source, "@"), source);
	row->reason = g_strdup(reason);
	row->exit_code = code;
	row->copied = st == BATCH_DONE ? 412 : 7;
	row->seconds = 12;
	return row;
}

static GPtrArray *
rows_new(void)
{
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)batch_row_free);

	g_ptr_array_add(rows, row_new(2, BATCH_DONE, "alice@imap.old.example.com", NULL, 0));
	g_ptr_array_add(rows,
	                row_new(3, BATCH_FAILED, "someone.with.a.long.name@imap.old.example.com",
	                        AUTH_REASON, 16));
	g_ptr_array_add(rows, row_new(4, BATCH_INTERRUPTED, "bob@imap.old.example.com",
	                              "interrupted: run again to finish", 130));
	g_ptr_array_add(rows,
	                row_new(5, BATCH_FAILED, "carol@imap.old.example.com", LOCK_REASON, 75));
	g_ptr_array_add(rows, row_new(6, BATCH_NOT_STARTED, "dave@x.example", NULL, 0));
	return rows;
}

static char *
table_text(const GPtrArray *rows, unsigned width)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	g_assert_nonnull(mem);
	batch_print_table(mem, rows, width);
	fclose(mem);
	return text;
}

/* @s without any white space: what is left of a text wrapped at any width. */
static char *
squeezed(const char *s)
{
	GString *out = g_string_new(NULL);

	for (; *s != '\0'; s++) {
		if (!g_ascii_isspace(*s))
			g_string_append_c(out, *s);
	}
	return g_string_free(out, false);
}

/* @s with every run of white space made one space. */
static char *
joined(const char *s)
{
	g_auto(GStrv) words = g_strsplit_set(s, " \n", -1);
	GString *out = g_string_new(NULL);

	for (guint i = 0; words[i] != NULL; i++) {
		if (*words[i] == '\0')
			continue;
		if (out->len > 0)
			g_string_append_c(out, ' ');
		g_string_append(out, words[i]);
	}
	return g_string_free(out, false);
}

static void
test_widths(void)
{
	static const unsigned widths[] = {30, 50, 69, 70, 80, 100, 132, 200};
	g_autoptr(GPtrArray) rows = rows_new();

	for (size_t w = 0; w < G_N_ELEMENTS(widths); w++) {
		g_autofree char *text = table_text(rows, widths[w]);
		g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
		g_autofree char *flat = squeezed(text);
		g_autofree char *words = joined(text);
		g_autofree char *lock = squeezed(LOCK_REASON);
		const char *failed = strstr(text, "failed");
		const char *interrupted = strstr(text, "interrupted");
		const char *done = strstr(text, "\ndone");

		g_test_message("width %u:\n%s", widths[w], text);
		for (guint i = 0; lines[i] != NULL; i++)
			g_assert_cmpuint(strlen(lines[i]), <=, widths[w]);
		/* Failures first, then the interrupted row, done last. */
		g_assert_nonnull(failed);
		g_assert_true(failed < interrupted && interrupted < done);
		/* A reason of words is whole once the wrapping is undone; one with a word
		 * longer than the line (a path) is cut only inside that word. */
		g_assert_nonnull(strstr(words, "exit 16: " AUTH_REASON));
		g_assert_nonnull(strstr(flat, lock));
		/* So are the accounts. */
		g_assert_nonnull(strstr(flat, "someone.with.a.long.name@imap.old.example.com"));
		g_assert_nonnull(strstr(flat, "->someone.with.a.long.name@example.com"));
		g_assert_true(g_str_has_prefix(text, "Status ") == (widths[w] >= 70));
		g_assert_nonnull(strstr(words, "5 rows: 1 done, 0 differences, 2 failed, 1 "
		                               "interrupted, 1 not started."));
	}
}

/* At 132 columns, a row whose accounts fit takes one line; at 80, the wide header's
 * columns keep their place. */
static void
test_layout(void)
{
	g_autoptr(GPtrArray) rows = rows_new();
	g_autofree char *wide = table_text(rows, 132);
	g_autofree char *narrow = table_text(rows, 80);

	g_assert_nonnull(strstr(wide, "\ndone            2  alice@imap.old.example.com -> "
	                              "alice@example.com "));
	g_assert_true(g_str_has_prefix(narrow, "Status       Line  Source -> Destination    "
	                                       "              Copied  Missing   Time\n"));
	g_assert_nonnull(strstr(narrow,
	                        "\ndone            2  alice@imap.old.example.com                "
	                        "412        0    12s\n"
	                        "                   -> alice@example.com\n"));
}

static void
test_width_from_columns(void)
{
	FILE *mem = tmpfile();

	g_assert_nonnull(mem);
	g_unsetenv("COLUMNS");
	g_assert_cmpuint(batch_table_width(mem), ==, 80);
	g_setenv("COLUMNS", "132", true);
	g_assert_cmpuint(batch_table_width(mem), ==, 132);
	g_setenv("COLUMNS", "wide", true);
	g_assert_cmpuint(batch_table_width(mem), ==, 80);
	g_setenv("COLUMNS", "5", true);
	g_assert_cmpuint(batch_table_width(mem), ==, 80);
	g_unsetenv("COLUMNS");
	fclose(mem);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/batch/table/widths", test_widths);
	g_test_add_func("/batch/table/layout", test_layout);
	g_test_add_func("/batch/table/width-from-columns", test_width_from_columns);
	return g_test_run();
}
