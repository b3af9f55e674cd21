/* SPDX-License-Identifier: MIT */
/* The batch file's CSV reader and writer, and the stable shard hash. */
#include <glib.h>
#include <string.h>

#include "batch.h"

static const char *
field(GPtrArray *records, guint r, guint f)
{
	const struct batch_record *rec = records->pdata[r];

	return rec->fields->pdata[f];
}

static void
test_parse(void)
{
	const char text[] = "\xef\xbb\xbfsource,destination,exclude\r\n"
			    "a:1,b:1,\"^(Junk|Spam)$, really\"\r\n"
			    "\r\n"
			    "a:2,\"say \"\"hi\"\"\",\"two\nlines\"\n"
			    "a:3,b:3,";
	g_autoptr(GPtrArray) records = batch_csv_parse(text, strlen(text), ',', NULL);
	const struct batch_record *last;

	g_assert_nonnull(records);
	g_assert_cmpuint(records->len, ==, 4);
	g_assert_cmpstr(field(records, 0, 0), ==, "source");
	g_assert_cmpstr(field(records, 1, 2), ==, "^(Junk|Spam)$, really");
	g_assert_cmpuint(((struct batch_record *)records->pdata[2])->line, ==, 4);
	g_assert_cmpstr(field(records, 2, 1), ==, "say \"hi\"");
	g_assert_cmpstr(field(records, 2, 2), ==, "two\nlines");
	last = records->pdata[3];
	g_assert_cmpuint(last->line, ==, 6);
	g_assert_cmpuint(last->fields->len, ==, 3);
	g_assert_cmpstr(field(records, 3, 2), ==, "");
}

static void
test_errors(void)
{
	const char open[] = "a,b\n1,\"never closed\n2,3\n";
	const char after[] = "a,b\n1,\"x\"y\n";
	g_autoptr(GError) error = NULL;

	g_assert_null(batch_csv_parse(open, strlen(open), ',', &error));
	g_assert_nonnull(strstr(error->message, "line 2"));
	g_clear_error(&error);
	g_assert_null(batch_csv_parse(after, strlen(after), ',', &error));
	g_assert_nonnull(strstr(error->message, "line 2"));
}

static void
test_write(void)
{
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(GPtrArray) back = NULL;

	batch_csv_field(out, "plain");
	g_string_append_c(out, ',');
	batch_csv_field(out, "a, \"b\"\nc");
	g_string_append_c(out, '\n');
	g_assert_cmpstr(out->str, ==, "plain,\"a, \"\"b\"\"\nc\"\n");
	back = batch_csv_parse(out->str, out->len, ',', NULL);
	g_assert_cmpuint(back->len, ==, 1);
	g_assert_cmpstr(field(back, 0, 1), ==, "a, \"b\"\nc");
}

/* Pinned values: the hash is documented (SHA-256, first 8 bytes big-endian, modulo N) and
 * must not change between versions, or shards would move. */
static void
test_shard(void)
{
	const char *key = "imap.a:993:alice\nimap.b:993:alice";

	g_assert_cmpuint(batch_shard_of(key, 3), ==, 2);
	g_assert_cmpuint(batch_shard_of(key, 7), ==, 1);
	g_assert_cmpuint(batch_shard_of(key, 1000), ==, 248);
	g_assert_cmpuint(batch_shard_of(key, 1), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/batch/csv/parse", test_parse);
	g_test_add_func("/batch/csv/errors", test_errors);
	g_test_add_func("/batch/csv/write", test_write);
	g_test_add_func("/batch/shard", test_shard);
	return g_test_run();
}
