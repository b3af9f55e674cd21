/* SPDX-License-Identifier: MIT */
/* Content digests and their comparison (sync-content.c) on crafted messages: what servers
 * rewrite (a final CRLF, transfer encodings, charsets, 8-bit header bytes) compares equal
 * by structure, a changed or removed part is named, and hostile input (deep nesting, many
 * parts, broken base64, a huge header, a message spooled to a file) stays bounded. */
#include <string.h>

#include "sync-content.h"

#define HEAD                                                                      \
	"From: a@example.com\r\nTo: b@example.com\r\nSubject: t\r\n"              \
	"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <t@example.com>\r\n" \
	"MIME-Version: 1.0\r\n"

#define MIXED_START                                                  \
	HEAD "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n" \
	     "--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello there\r\n"

#define PDF_PART(data)                                                                  \
	"--B\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n" \
	"Content-Disposition: attachment; filename=\"report.pdf\"\r\n\r\n" data "\r\n"

#define PNG_PART                                                                      \
	"--B\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n" \
	"iVBORw0KGgo=\r\n"

/* "0123456789" and "0123456780": the same size, other bytes */
#define PDF_A "MDEyMzQ1Njc4OQ=="
#define PDF_B "MDEyMzQ1Njc4MA=="

static enum mh_content_verdict
compare(const char *a, size_t alen, const char *b, size_t blen, GPtrArray **diffs_r)
{
	struct mh_content_digest *da = mh_content_digest_of(a, alen);
	struct mh_content_digest *db = mh_content_digest_of(b, blen);
	enum mh_content_verdict v = mh_content_compare(da, db, diffs_r);

	mh_content_digest_free(da);
	mh_content_digest_free(db);
	return v;
}

static enum mh_content_verdict
compare_str(const char *a, const char *b, GPtrArray **diffs_r)
{
	return compare(a, strlen(a), b, strlen(b), diffs_r);
}

static bool
has_diff(GPtrArray *diffs, const char *text)
{
	for (guint i = 0; diffs != NULL && i < diffs->len; i++) {
		if (strcmp(diffs->pdata[i], text) == 0)
			return true;
	}
	return false;
}

static void
test_same_bytes(void)
{
	const char *m = MIXED_START PDF_PART(PDF_A) PNG_PART "--B--\r\n";
	g_autoptr(GPtrArray) diffs = NULL;

	g_assert_cmpint(compare_str(m, m, &diffs), ==, MH_CONTENT_SAME_BYTES);
	g_assert_null(diffs);
}

static void
test_final_crlf_added(void)
{
	const char *src = HEAD "Content-Type: text/plain\r\n\r\nno final line end";
	const char *dst = HEAD "Content-Type: text/plain\r\n\r\nno final line end\r\n";

	g_assert_cmpint(compare_str(src, dst, NULL), ==, MH_CONTENT_SAME_STRUCTURE);
}

static void
test_reencoded_text(void)
{
	/* QP in ISO-8859-1 with trailing blanks and LF, against 8-bit UTF-8 with CRLF */
	const char *src = HEAD "Content-Type: text/plain; charset=iso-8859-1\n"
			       "Content-Transfer-Encoding: quoted-printable\n\n"
			       "Caf=E9 au lait   \nsecond line\t\n\n\n";
	const char *dst = HEAD "Content-Type: text/plain; charset=utf-8\r\n"
			       "Content-Transfer-Encoding: 8bit\r\n\r\n"
			       "Caf\xc3\xa9 au lait\r\nsecond line\r\n";
	const char *b64 = HEAD "Content-Type: text/plain; charset=utf-8\r\n"
			       "Content-Transfer-Encoding: base64\r\n\r\n"
			       "Q2Fmw6kgYXUgbGFpdA0Kc2Vjb25kIGxpbmUNCg==\r\n";

	g_assert_cmpint(compare_str(src, dst, NULL), ==, MH_CONTENT_SAME_STRUCTURE);
	g_assert_cmpint(compare_str(dst, b64, NULL), ==, MH_CONTENT_SAME_STRUCTURE);
}

static void
test_text_changed(void)
{
	const char *src = HEAD "Content-Type: text/plain\r\n\r\nthe meeting is on Monday\r\n";
	const char *dst = HEAD "Content-Type: text/plain\r\n\r\nthe meeting is on Friday\r\n";
	g_autoptr(GPtrArray) diffs = NULL;

	g_assert_cmpint(compare_str(src, dst, &diffs), ==, MH_CONTENT_DIFFERENT);
	g_assert_true(
		has_diff(diffs, "part 1 (text/plain): text differs (same size 24, normalised)"));
}

static void
test_attachment_changed_same_size(void)
{
	const char *src = MIXED_START PDF_PART(PDF_A) PNG_PART "--B--\r\n";
	const char *dst = MIXED_START PDF_PART(PDF_B) PNG_PART "--B--\r\n";
	g_autoptr(GPtrArray) diffs = NULL;

	g_assert_cmpint(compare_str(src, dst, &diffs), ==, MH_CONTENT_DIFFERENT);
	g_assert_cmpuint(diffs->len, ==, 1);
	g_assert_cmpstr(diffs->pdata[0], ==,
	                "attachment report.pdf: SHA-256 differs (same size 10)");
}

static void
test_part_removed(void)
{
	const char *src = MIXED_START PDF_PART(PDF_A) PNG_PART "--B--\r\n";
	const char *dst = MIXED_START PDF_PART(PDF_A) "--B--\r\n";
	const char *dst2 = MIXED_START PNG_PART "--B--\r\n";
	g_autoptr(GPtrArray) diffs = NULL;
	g_autoptr(GPtrArray) diffs2 = NULL;

	g_assert_cmpint(compare_str(src, dst, &diffs), ==, MH_CONTENT_DIFFERENT);
	g_assert_true(has_diff(diffs, "3 parts on the source, 2 on the destination"));
	g_assert_true(has_diff(diffs, "part 3 (image/png) missing on the destination"));
	g_assert_cmpint(compare_str(src, dst2, &diffs2), ==, MH_CONTENT_DIFFERENT);
	g_assert_true(has_diff(diffs2, "attachment report.pdf missing on the destination"));
	/* and the other way */
	g_clear_pointer(&diffs, g_ptr_array_unref);
	g_assert_cmpint(compare_str(dst, src, &diffs), ==, MH_CONTENT_DIFFERENT);
	g_assert_true(has_diff(diffs, "part 3 (image/png) only on the destination"));
}

static void
test_eight_bit_file_name(void)
{
	/* Cyrus stores each raw 8-bit header byte as 'X' */
	const char *src =
		MIXED_START "--B\r\nContent-Type: application/octet-stream\r\n"
			    "Content-Disposition: attachment; filename=\"na\xc3\xafve.bin\""
			    "\r\n\r\nabc\r\n--B--\r\n";
	const char *dst = MIXED_START "--B\r\nContent-Type: application/octet-stream\r\n"
				      "Content-Disposition: attachment; filename=\"naXXve.bin\""
				      "\r\n\r\nabc\r\n--B--\r\n";

	g_assert_cmpint(compare_str(src, dst, NULL), ==, MH_CONTENT_SAME_STRUCTURE);
}

static void
test_boundaries_and_headers_rewritten(void)
{
	/* what a re-renderer does: other boundary, refolded header fields, other preamble */
	const char *src = MIXED_START PDF_PART(PDF_A) "--B--\r\n";
	const char *dst =
		HEAD "Content-Type: multipart/mixed;\r\n\tboundary=\"_000_xyz\"\r\n\r\n"
		     "This is a multi-part message in MIME format.\r\n"
		     "--_000_xyz\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n"
		     "Content-Transfer-Encoding: quoted-printable\r\n\r\nHello there\r\n"
		     "--_000_xyz\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\n"
		     "Content-Disposition: attachment;\r\n filename=\"report.pdf\"; "
		     "size=10\r\nContent-Transfer-Encoding: base64\r\n\r\n"
		     "MDEy\r\nMzQ1\r\nNjc4\r\nOQ==\r\n--_000_xyz--\r\n\r\n";

	g_assert_cmpint(compare_str(src, dst, NULL), ==, MH_CONTENT_SAME_STRUCTURE);
}

static void
test_describe_and_head(void)
{
	const char *m = MIXED_START PDF_PART(PDF_A) PNG_PART "--B--\r\n";
	struct mh_content_digest *d = mh_content_digest_of(m, strlen(m));
	g_autofree char *text = mh_content_digest_describe(d);
	size_t len;
	const char *head = mh_content_digest_head(d, &len);

	g_assert_cmpuint(mh_content_digest_parts(d), ==, 3);
	g_assert_cmpuint(mh_content_digest_size(d), ==, strlen(m));
	g_assert_cmpuint(strlen(mh_content_digest_sha256(d)), ==, 64);
	g_assert_nonnull(strstr(text, "2 application/pdf attachment name=report.pdf size=10 "));
	g_assert_nonnull(strstr(text, "3 image/png size=8 "));
	g_assert_true(len > 0 && len < strlen(m));
	g_autofree char *h = g_strndup(head, len);

	g_assert_true(g_str_has_suffix(h, "boundary=\"B\"\r\n\r\n"));
	mh_content_digest_free(d);
}

/* --- hostile input --- */

static void
test_deep_nesting(void)
{
	GString *m = g_string_new(HEAD);
	gint64 t0 = g_get_monotonic_time();
	struct mh_content_digest *d;

	for (int i = 0; i < 20000; i++)
		g_string_append_printf(m,
		                       "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n"
		                       "--b%d\r\n",
		                       i, i);
	g_string_append(m, "Content-Type: text/plain\r\n\r\ndeep\r\n");
	d = mh_content_digest_of(m->str, m->len);
	g_assert_cmpuint(mh_content_digest_parts(d), <=, 1);
	g_assert_cmpint(mh_content_compare(d, d, NULL), ==, MH_CONTENT_SAME_BYTES);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 20 * G_USEC_PER_SEC);
	mh_content_digest_free(d);
	g_string_free(m, true);
}

static void
test_many_parts(void)
{
	GString *m = g_string_new(HEAD "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n");
	g_autofree char *text = NULL;
	struct mh_content_digest *d;

	for (int i = 0; i < 3000; i++)
		g_string_append(m, "--B\r\nContent-Type: text/plain\r\n\r\nx\r\n");
	g_string_append(m, "--B--\r\n");
	d = mh_content_digest_of(m->str, m->len);
	g_assert_cmpuint(mh_content_digest_parts(d), ==, 3000);
	text = mh_content_digest_describe(d);
	g_assert_nonnull(strstr(text, "truncated at 1000 of 3000 parts"));
	mh_content_digest_free(d);
	g_string_free(m, true);
}

static void
test_broken_base64(void)
{
	const char *src = MIXED_START PDF_PART("MDEy!!!\x01\xff===NDU2Nz=g4OQ=") "--B--\r\n";
	const char *dst = MIXED_START PDF_PART("%%%%") "--B--\r\n";
	g_autoptr(GPtrArray) diffs = NULL;

	g_assert_cmpint(compare_str(src, dst, &diffs), ==, MH_CONTENT_DIFFERENT);
	g_assert_nonnull(diffs);
}

static void
test_huge_header(void)
{
	GString *m = g_string_new("Subject: ");
	struct mh_content_digest *d;
	size_t len;

	for (int i = 0; i < 4 * 1024 * 1024 / 8; i++)
		g_string_append(m, "abcdefg ");
	g_string_append(m, "\r\nX-Folded: a\r\n");
	for (int i = 0; i < 100000; i++)
		g_string_append(m, " more\r\n");
	g_string_append(m, "\r\nbody\r\n");
	d = mh_content_digest_of(m->str, m->len);
	mh_content_digest_head(d, &len);
	g_assert_cmpuint(len, ==, 64 * 1024);
	g_assert_cmpuint(mh_content_digest_parts(d), ==, 1);
	mh_content_digest_free(d);
	g_string_free(m, true);
}

static void
test_garbage_and_empty(void)
{
	static const unsigned char junk[] = {0, 1, 2, 0xff, '\n', '-', '-', '\r', 0};
	struct mh_content_digest *e = mh_content_digest_of("", 0);
	struct mh_content_digest *j = mh_content_digest_of(junk, sizeof(junk));
	g_autoptr(GPtrArray) diffs = NULL;

	g_assert_cmpuint(mh_content_digest_size(e), ==, 0);
	g_assert_cmpint(mh_content_compare(e, j, &diffs), ==, MH_CONTENT_DIFFERENT);
	g_assert_nonnull(diffs);
	mh_content_digest_free(e);
	mh_content_digest_free(j);
}

/* A message over MH_CONTENT_MEMORY_MAX goes through a temporary file, fed in uneven
 * chunks; its digest is that of the same bytes held in memory. */
static void
test_spooled_to_file(void)
{
	GString *m = g_string_new(HEAD "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
	                               "--B\r\nContent-Type: application/zip\r\n"
	                               "Content-Transfer-Encoding: base64\r\n"
	                               "Content-Disposition: attachment; filename=big.zip\r\n\r\n");
	struct mh_content_reader *r;
	struct mh_content_digest *file, *mem;
	g_autofree char *a = NULL;
	g_autofree char *b = NULL;

	while (m->len < 3 * MH_CONTENT_MEMORY_MAX)
		g_string_append(m,
		                "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJz\r\n");
	g_string_append(m, "--B--\r\n");
	r = mh_content_reader_new(m->len);
	for (size_t off = 0, step = 1; off < m->len; off += step, step = step * 3 + 1)
		mh_content_reader_feed(r, m->str + off, MIN(step, m->len - off));
	file = mh_content_reader_finish(r);
	r = mh_content_reader_new(0); /* announced small: held in memory */
	mh_content_reader_feed(r, m->str, m->len);
	mem = mh_content_reader_finish(r);
	a = mh_content_digest_describe(file);
	b = mh_content_digest_describe(mem);
	g_assert_cmpstr(a, ==, b);
	g_assert_nonnull(strstr(a, "1 application/zip attachment name=big.zip size="));
	g_assert_cmpint(mh_content_compare(file, mem, NULL), ==, MH_CONTENT_SAME_BYTES);
	mh_content_digest_free(file);
	mh_content_digest_free(mem);
	mh_content_reader_free(mh_content_reader_new(10 * MH_CONTENT_MEMORY_MAX)); /* abandoned */
	g_string_free(m, true);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sync/content/same-bytes", test_same_bytes);
	g_test_add_func("/sync/content/final-crlf-added", test_final_crlf_added);
	g_test_add_func("/sync/content/reencoded-text", test_reencoded_text);
	g_test_add_func("/sync/content/text-changed", test_text_changed);
	g_test_add_func("/sync/content/attachment-changed-same-size",
	                test_attachment_changed_same_size);
	g_test_add_func("/sync/content/part-removed", test_part_removed);
	g_test_add_func("/sync/content/eight-bit-file-name", test_eight_bit_file_name);
	g_test_add_func("/sync/content/boundaries-and-headers-rewritten",
	                test_boundaries_and_headers_rewritten);
	g_test_add_func("/sync/content/describe-and-head", test_describe_and_head);
	g_test_add_func("/sync/content/hostile/deep-nesting", test_deep_nesting);
	g_test_add_func("/sync/content/hostile/many-parts", test_many_parts);
	g_test_add_func("/sync/content/hostile/broken-base64", test_broken_base64);
	g_test_add_func("/sync/content/hostile/huge-header", test_huge_header);
	g_test_add_func("/sync/content/hostile/garbage-and-empty", test_garbage_and_empty);
	g_test_add_func("/sync/content/spooled-to-file", test_spooled_to_file);
	return g_test_run();
}
