/* SPDX-License-Identifier: MIT */
/* Header fingerprints: pinned digests (computed independently with Python's hashlib from
 * the documented serialisation), the normalisations that must not change a fingerprint,
 * the differences that must, Message-ID normalisation, and malformed input. Inputs are
 * copied into exact-size buffers without a terminating NUL, so a read past the end shows
 * up under AddressSanitizer. */
#include "sync-fingerprint.h"

#include <glib.h>
#include <string.h>

#define CANONICAL                                  \
	"Message-ID: <1234@example.com>\r\n"       \
	"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n" \
	"From: Alice <alice@example.com>\r\n"      \
	"To: Bob <bob@example.org>\r\n"            \
	"Cc: Carol <carol@example.net>\r\n"        \
	"Subject: Hello world\r\n"                 \
	"\r\n"

/* sha256("identity\0" "1\0" "2" "mid\0" "18\0" "<1234@example.com>" "date\0" "10\0"
 * "1704103200" "from\0" "17\0" "alice@example.com" ... "subject\0" "11\0" "hello world") */
#define CANONICAL_FP "5e6e685c4dc807b5c2eac4df693da7adff741202bfb9676065467fa9cf9d7da1"
/* sha256 of the version and every field with the empty value ("<name>\0" "0\0"). */
#define EMPTY_FP     "3fd62ba78cb61595717b506f7e150da531a02330353056a8fa24db3bc743107b"

static void
assert_fingerprint_form(const char *fp)
{
	g_assert_nonnull(fp);
	g_assert_cmpuint(strlen(fp), ==, MH_FINGERPRINT_HEX_LEN);
	for (const char *p = fp; *p != '\0'; p++)
		g_assert_true(g_ascii_isdigit(*p) || (*p >= 'a' && *p <= 'f'));
}

static char *
fp_len(const char *headers, size_t len)
{
	g_autofree char *copy = len > 0 ? g_memdup2(headers, len) : NULL;
	char *fp = mh_fingerprint_compute(copy, len);

	assert_fingerprint_form(fp);
	return fp;
}

static char *
fp(const char *headers)
{
	return fp_len(headers, strlen(headers));
}

static char *
mid(const char *headers)
{
	size_t len = strlen(headers);
	g_autofree char *copy = len > 0 ? g_memdup2(headers, len) : NULL;

	return mh_fingerprint_message_id(copy, len);
}

static void
assert_same(const char *a, const char *b)
{
	g_autofree char *fa = fp(a);
	g_autofree char *fb = fp(b);

	g_assert_cmpstr(fa, ==, fb);
}

static void
assert_differ(const char *a, const char *b)
{
	g_autofree char *fa = fp(a);
	g_autofree char *fb = fp(b);

	g_assert_cmpstr(fa, !=, fb);
}

static void
test_known_digest(void)
{
	g_autofree char *canonical = fp(CANONICAL);
	g_autofree char *no_blank = fp("Message-ID: <1234@example.com>\r\n"
	                               "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
	                               "From: Alice <alice@example.com>\r\n"
	                               "To: Bob <bob@example.org>\r\n"
	                               "Cc: Carol <carol@example.net>\r\n"
	                               "Subject: Hello world");

	g_assert_cmpstr(canonical, ==, CANONICAL_FP);
	g_assert_cmpstr(no_blank, ==, CANONICAL_FP);
	g_assert_cmpstr(MH_FINGERPRINT_FIELDS, ==, "MESSAGE-ID DATE FROM TO CC SUBJECT");
}

static void
test_identical(void)
{
	g_autofree char *a = fp(CANONICAL);
	g_autofree char *b = fp(CANONICAL);

	g_assert_cmpstr(a, ==, b);
	assert_same(CANONICAL, CANONICAL);
}

static void
test_order_and_case(void)
{
	assert_same(CANONICAL, "subject: Hello world\r\n"
	                       "CC: Carol <carol@example.net>\r\n"
	                       "FROM: Alice <alice@example.com>\r\n"
	                       "date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
	                       "tO: Bob <bob@example.org>\r\n"
	                       "MESSAGE-id: <1234@example.com>\r\n");
	/* Obsolete syntax: whitespace between the name and the colon. */
	assert_same(CANONICAL, "Message-ID : <1234@example.com>\r\n"
	                       "Date\t: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
	                       "From: Alice <alice@example.com>\r\n"
	                       "To: Bob <bob@example.org>\r\n"
	                       "Cc: Carol <carol@example.net>\r\n"
	                       "Subject: Hello world\r\n");
}

static void
test_folded(void)
{
	g_autofree char *folded = fp("Message-ID:\r\n <1234@example.com>\r\n"
	                             "Date: Mon, 1 Jan 2024\r\n\t10:00:00 +0000\r\n"
	                             "From: Alice\r\n  <alice@example.com>\r\n"
	                             "To: Bob <bob@example.org>\r\n"
	                             "Cc: Carol\r\n <carol@example.net>\r\n"
	                             "Subject: Hello\r\n world\r\n"
	                             "\r\n");

	g_assert_cmpstr(folded, ==, CANONICAL_FP);
	assert_same("Subject: a long\r\n subject\r\n\r\n", "Subject: a long subject\r\n");
	/* Trimming and collapsing of whitespace runs. */
	assert_same("Subject:   Hello \t  world  \r\n", "Subject: Hello world\r\n");
}

static void
test_crlf_lf(void)
{
	g_autofree char *lf = fp("Message-ID: <1234@example.com>\n"
	                         "Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
	                         "From: Alice <alice@example.com>\n"
	                         "To: Bob <bob@example.org>\n"
	                         "Cc: Carol\n <carol@example.net>\n"
	                         "Subject: Hello world\n"
	                         "\n");

	g_assert_cmpstr(lf, ==, CANONICAL_FP);
}

static void
test_unrelated_ignored(void)
{
	g_autofree char *extra = fp("Return-Path: <bounce@example.com>\r\n"
	                            "Received: from mx.example.com\r\n by mx2 with ESMTP\r\n"
	                            "Message-ID: <1234@example.com>\r\n"
	                            "Resent-Message-ID: <other@example.com>\r\n"
	                            "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
	                            "From: Alice <alice@example.com>\r\n"
	                            "X-From: Mallory <m@example.com>\r\n"
	                            "To: Bob <bob@example.org>\r\n"
	                            "Cc: Carol <carol@example.net>\r\n"
	                            "Subject: Hello world\r\n"
	                            "Content-Type: text/plain\r\n"
	                            "\r\n"
	                            "Subject: body lines are not headers\r\n");

	g_assert_cmpstr(extra, ==, CANONICAL_FP);
}

static void
test_mid_differs(void)
{
	assert_differ(CANONICAL, "Message-ID: <1235@example.com>\r\n"
	                         "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
	                         "From: Alice <alice@example.com>\r\n"
	                         "To: Bob <bob@example.org>\r\n"
	                         "Cc: Carol <carol@example.net>\r\n"
	                         "Subject: Hello world\r\n");
	/* The local part is case-sensitive. */
	assert_differ("Message-ID: <abc@example.com>\r\n", "Message-ID: <ABC@example.com>\r\n");
}

static void
test_same_mid_content_differs(void)
{
	g_autofree char *base = fp(CANONICAL);
	g_autofree char *date = fp("Message-ID: <1234@example.com>\r\n"
	                           "Date: Mon, 1 Jan 2024 10:00:01 +0000\r\n"
	                           "From: Alice <alice@example.com>\r\n"
	                           "To: Bob <bob@example.org>\r\n"
	                           "Cc: Carol <carol@example.net>\r\n"
	                           "Subject: Hello world\r\n");
	g_autofree char *subject = fp("Message-ID: <1234@example.com>\r\n"
	                              "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
	                              "From: Alice <alice@example.com>\r\n"
	                              "To: Bob <bob@example.org>\r\n"
	                              "Cc: Carol <carol@example.net>\r\n"
	                              "Subject: Re: Hello world\r\n");

	g_assert_cmpstr(date, !=, base);
	g_assert_cmpstr(subject, !=, base);
	assert_differ(CANONICAL, "Message-ID: <1234@example.com>\r\n");
}

static void
test_no_mid(void)
{
	const char *msg = "Date: Tue, 2 Jan 2024 08:30:00 +0100\r\n"
			  "From: J\xc3\xbcrgen <j@example.de>\r\n"
			  "Subject: Gr\xfc\xdf"
			  "e \xe2\x82\xac\r\n";
	g_autofree char *a = fp(msg);
	g_autofree char *b = fp(msg);
	g_autofree char *empty_mid = NULL;
	g_autofree char *blank_mid = NULL;

	/* Independently computed: mid, to and cc empty, date 1704180600, from "j@example.de",
	 * subject "grxe x" (each 8-bit run one 'x'). */
	g_assert_cmpstr(a, ==, "00acb7b6fe35e8bb5ddfe232d5a1e4e20518f03f4747cb8eb82d115e070b0096");
	g_assert_cmpstr(a, ==, b);
	g_assert_null(mid(msg));
	/* Absent and empty hash the same. */
	empty_mid = fp("Message-ID:\r\n"
	               "Date: Tue, 2 Jan 2024 08:30:00 +0100\r\n"
	               "From: J\xc3\xbcrgen <j@example.de>\r\n"
	               "Subject: Gr\xfc\xdf"
	               "e \xe2\x82\xac\r\n");
	g_assert_cmpstr(empty_mid, ==, a);
	blank_mid = fp("Message-ID:  (no id)  \r\n"
	               "Date: Tue, 2 Jan 2024 08:30:00 +0100\r\n"
	               "From: J\xc3\xbcrgen <j@example.de>\r\n"
	               "Subject: Gr\xfc\xdf"
	               "e \xe2\x82\xac\r\n");
	g_assert_cmpstr(blank_mid, ==, a);
	g_assert_null(mid("Message-ID:  (no id)  \r\n"));
	g_assert_null(mid("Message-ID:\r\n"));
	/* Distinct per content. */
	assert_differ("Date: Tue, 2 Jan 2024 08:30:00 +0100\r\nSubject: one\r\n",
	              "Date: Tue, 2 Jan 2024 08:30:00 +0100\r\nSubject: two\r\n");
	assert_differ("From: a@example.com\r\n", "To: a@example.com\r\n");
}

static void
test_mid_normalised(void)
{
	const char *same[] = {
		"Message-ID: <1234@example.com>\r\n",
		"Message-ID: <1234@example.com> (added by relay)\r\n",
		"Message-ID: (a (nested) comment) <1234@example.com>\r\n",
		"Message-ID: < 1234 @ example.com >\r\n",
		"Message-ID: <1234@(comment)example.com>\r\n",
		"Message-ID: (with \\) escaped paren)<1234@example.com>\r\n",
		"Message-ID:\r\n\t<1234@\r\n example.com>\r\n",
		"message-id: <1234@example.com>\n",
	};
	g_autofree char *quoted = NULL;
	g_autofree char *quoted_fp = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(same); i++) {
		g_autofree char *m = mid(same[i]);

		g_assert_cmpstr(m, ==, "<1234@example.com>");
		assert_same(same[i], same[0]);
	}
	/* Inside a quoted string parentheses are text and whitespace stays (collapsed). */
	quoted = mid("Message-ID: < \"a   b\" @x>\r\n");
	g_assert_cmpstr(quoted, ==, "<\"a b\"@x>");
	quoted_fp = fp("Message-ID: < \"a   b\" @x>\r\n");
	g_assert_cmpstr(quoted_fp, ==,
	                "64255a87a9868b4b03dea2d129164ed0ed390c09b783c41f1fc0c42a3d414bed");
	g_free(quoted);
	quoted = mid("Message-ID: <\"(not a comment)\"@x>\r\n");
	g_assert_cmpstr(quoted, ==, "<\"(not a comment)\"@x>");
	g_free(quoted);
	quoted = mid("Message-ID: <\"a\\\"b\"@x>\r\n");
	g_assert_cmpstr(quoted, ==, "<\"a\\\"b\"@x>");
	g_free(quoted);
	/* A quoted-pair escaping a line break: unfolded and collapsed like other whitespace. */
	quoted = mid("Message-ID: <\"a\\\r\n  b\"@x>\r\n");
	g_assert_cmpstr(quoted, ==, "<\"a\\ b\"@x>");
	g_free(quoted);
	/* No brackets, case kept, outside whitespace collapsed. */
	quoted = mid("Message-ID:   AbC@Example.COM   junk \r\n");
	g_assert_cmpstr(quoted, ==, "AbC@Example.COM junk");
	g_free(quoted);
	/* An unclosed comment swallows the rest; unbalanced brackets are kept as text. */
	quoted = mid("Message-ID: <a@b> (open\r\n");
	g_assert_cmpstr(quoted, ==, "<a@b>");
	g_free(quoted);
	quoted = mid("Message-ID: a@b> <c\r\n");
	g_assert_cmpstr(quoted, ==, "a@b> <c");
}

static void
test_8bit_subject(void)
{
	/* 8-bit bytes are blurred on purpose (Cyrus stores them as 'X'), the rest is not. */
	assert_differ("Message-ID: <x@y>\r\nSubject: Gr\xfc\xdf"
	              "e\r\n",
	              "Message-ID: <x@y>\r\nSubject: Gr\xfc\xdf"
	              "en\r\n");
	/* Bytes 0x80-0xff are not whitespace: nothing trimmed or collapsed around them. */
	assert_differ("Subject: a\xa0"
	              "b\r\n",
	              "Subject: a b\r\n");
	assert_differ("Subject: \xe2\x82\xac\r\n", "Subject:\r\n");
}

/* What servers do to a message they store must not change its identity. */
static void
test_server_rewrites(void)
{
	const char *src = "Message-ID: <caf\xc3\xa9@example.com>\r\n"
			  "Date: Tue, 2 Jan 2024 08:30:00 +0100\r\n"
			  "From: \"J\xc3\xbcrgen M\xc3\xbcller\" <jm@example.de>\r\n"
			  "To: Bob <bob@example.org>, carol@example.net\r\n"
			  "Subject: Gr\xc3\xbc\xc3\x9f"
			  "e aus K\xc3\xb6ln, a long subject that a server may fold\r\n";

	/* Cyrus: every 8-bit header byte stored as 'X'. */
	assert_same(src, "Message-ID: <cafXX@example.com>\r\n"
	                 "Date: Tue, 2 Jan 2024 08:30:00 +0100\r\n"
	                 "From: \"JXXrgen MXXller\" <jm@example.de>\r\n"
	                 "To: Bob <bob@example.org>, carol@example.net\r\n"
	                 "Subject: GrXXXXe aus KXXln, a long subject that a server may fold\r\n");
	/* A re-renderer: encoded words (UTF-8 or Latin-1), re-folded, display names changed,
	 * the date written in another zone and without the day name. */
	assert_same(
		src,
		"Message-ID: <caf\xc3\xa9@example.com>\r\n"
		"Date: 2 Jan 2024 07:30:00 +0000 (UTC)\r\n"
		"From: =?utf-8?Q?J=C3=BCrgen_M=C3=BCller?= <jm@example.de>\r\n"
		"To: \"Bob\" <bob@example.org>,\r\n\t\"Carol\" <carol@example.net>\r\n"
		"Subject: =?ISO-8859-1?B?R3L832U=?= aus\r\n =?iso-8859-1?q?K=F6ln=2C?= a long\r\n"
		" subject that a server may fold\r\n");
	assert_same("Subject: =?utf-8?B?w6k=?= =?utf-8?B?w6k=?=\r\n",
	            "Subject: \xc3\xa9\xc3\xa9\r\n");
	assert_same("Date: Mon, 1 Jan 2024 05:00:00 EST\r\n",
	            "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n");
	assert_same("Date: Mon, 1 Jan 24 10:00 GMT\r\n",
	            "Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n");
	assert_same("From: ALICE@Example.COM\r\n", "From: Alice <alice@example.com>\r\n");
	/* What identifies a message still does. */
	assert_differ(src, "Message-ID: <caf\xc3\xa9@example.com>\r\n"
	                   "Date: Tue, 2 Jan 2024 08:30:01 +0100\r\n"
	                   "From: \"J\xc3\xbcrgen M\xc3\xbcller\" <jm@example.de>\r\n"
	                   "To: Bob <bob@example.org>, carol@example.net\r\n"
	                   "Subject: Gr\xc3\xbc\xc3\x9f"
	                   "e aus K\xc3\xb6ln, a long subject that a server may fold\r\n");
	assert_differ("From: a@example.com\r\n", "From: b@example.com\r\n");
	assert_differ("To: a@example.com, b@example.com\r\n", "To: a@example.com\r\n");
	assert_differ("Subject: invoice 1\r\n", "Subject: invoice 2\r\n");
	/* A malformed encoded word or date is kept as text. */
	assert_differ("Subject: =?utf-8?Q?a?=\r\n", "Subject: =?utf-8?Q?b?=\r\n");
	assert_same("Subject: =?utf-8?X?abc?=\r\n", "Subject: =?UTF-8?x?ABC?=\r\n");
	assert_differ("Date: someday\r\n", "Date: another day\r\n");
}

static void
test_empty(void)
{
	g_autofree char *null_input = mh_fingerprint_compute(NULL, 0);
	g_autofree char *empty = fp("");
	g_autofree char *blank = fp("\r\n");
	g_autofree char *blank_first = fp("\r\nSubject: after the end\r\n");
	g_autofree char *unrelated = fp("X-Foo: bar\r\n\r\n");

	g_assert_cmpstr(null_input, ==, EMPTY_FP);
	g_assert_cmpstr(empty, ==, EMPTY_FP);
	g_assert_cmpstr(blank, ==, EMPTY_FP);
	g_assert_cmpstr(blank_first, ==, EMPTY_FP);
	g_assert_cmpstr(unrelated, ==, EMPTY_FP);
	g_assert_null(mh_fingerprint_message_id(NULL, 0));
	g_assert_null(mid(""));
}

static void
test_repeated(void)
{
	g_autofree char *m = NULL;

	assert_same("Subject: first\r\nSubject: second\r\n", "Subject: first\r\n");
	assert_differ("Subject: first\r\nSubject: second\r\n", "Subject: second\r\n");
	/* A continuation of the second occurrence does not extend the first. */
	assert_same("Subject: first\r\nSubject: second\r\n more\r\n", "Subject: first\r\n");
	m = mid("Message-ID: <one@x>\r\nMessage-ID: <two@x>\r\n");
	g_assert_cmpstr(m, ==, "<one@x>");
}

static void
test_boundaries_not_forged(void)
{
	/* With bare NUL separators ("from\0<v>\0to\0<v>\0cc...") these two would collide:
	 * both would read "from\0x\0to\0y\0to\0\0cc\0...". */
	static const char a[] = "From: x\r\nTo: y\0to\0\r\n";
	static const char b[] = "From: x\0to\0y\r\nTo:\r\n";
	g_autofree char *fa = fp_len(a, sizeof(a) - 1);
	g_autofree char *fb = fp_len(b, sizeof(b) - 1);

	g_assert_cmpstr(fa, !=, fb);
	assert_differ("From: x y\r\n", "From: x\r\nTo: y\r\n");
	assert_differ("Subject: 1234\r\n", "Subject:\r\n");
	assert_differ("To: 1@b\r\n", "To: 1@b,\r\nCc: 1@b\r\n");
}

static void
test_malformed(void)
{
	static const char nul[] = "Subject: a\0b\r\nFrom: c\r\n";
	static const char nul_cut[] = "Subject: a\r\nFrom: c\r\n";
	static const char nul_mid[] = "Message-ID: <a\0b>\r\n";
	g_autofree char *big = NULL;
	g_autofree char *big2 = NULL;
	GString *s = g_string_new("Message-ID: <x@y>\r\nSubject: ");
	g_autofree char *with_nul = fp_len(nul, sizeof(nul) - 1);
	g_autofree char *without = fp_len(nul_cut, sizeof(nul_cut) - 1);

	g_assert_cmpstr(with_nul, !=, without);
	g_assert_null(mh_fingerprint_message_id(nul_mid, sizeof(nul_mid) - 1));
	/* Lines without a colon and leading continuations are skipped. */
	assert_same("no colon here\r\n continued\r\nSubject: s\r\n\x01\xff\xfe junk\r\n",
	            "Subject: s\r\n");
	assert_same(" leading continuation\r\nSubject: s\r\n", "Subject: s\r\n");
	assert_same("Subject: s\r\nbroken line\r\n continued\r\n", "Subject: s\r\n");
	assert_same("Subject: s\r\r\n", "Subject: s\r\n");
	assert_same(":\r\n:::\r\nSubject:s", "Subject: s\r\n");
	/* A field line over 64 KiB is hashed whole. */
	for (int i = 0; i < 100000; i++)
		g_string_append_c(s, (char)('a' + i % 26));
	big = fp_len(s->str, s->len);
	s->str[s->len - 1] = 'Z';
	big2 = fp_len(s->str, s->len);
	g_assert_cmpstr(big, !=, big2);
	g_string_free(s, TRUE);
}

static void
test_every_prefix(void)
{
	const size_t len = strlen(CANONICAL);

	/* Every truncation parses without reading past its end; the full block is pinned. */
	for (size_t i = 0; i <= len; i++) {
		g_autofree char *f = fp_len(CANONICAL, i);
		g_autofree char *m = NULL;
		g_autofree char *copy = i > 0 ? g_memdup2(CANONICAL, i) : NULL;

		m = mh_fingerprint_message_id(copy, i);
		if (i >= len - 2)
			g_assert_cmpstr(f, ==, CANONICAL_FP);
		if (i > strlen("Message-ID: <1234@example.com>"))
			g_assert_cmpstr(m, ==, "<1234@example.com>");
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sync/fingerprint/known-digest", test_known_digest);
	g_test_add_func("/sync/fingerprint/identical", test_identical);
	g_test_add_func("/sync/fingerprint/order-and-case", test_order_and_case);
	g_test_add_func("/sync/fingerprint/folded", test_folded);
	g_test_add_func("/sync/fingerprint/crlf-lf", test_crlf_lf);
	g_test_add_func("/sync/fingerprint/unrelated-ignored", test_unrelated_ignored);
	g_test_add_func("/sync/fingerprint/mid-differs", test_mid_differs);
	g_test_add_func("/sync/fingerprint/same-mid-content-differs",
	                test_same_mid_content_differs);
	g_test_add_func("/sync/fingerprint/no-mid", test_no_mid);
	g_test_add_func("/sync/fingerprint/mid-normalised", test_mid_normalised);
	g_test_add_func("/sync/fingerprint/8bit-subject", test_8bit_subject);
	g_test_add_func("/sync/fingerprint/server-rewrites", test_server_rewrites);
	g_test_add_func("/sync/fingerprint/empty", test_empty);
	g_test_add_func("/sync/fingerprint/repeated", test_repeated);
	g_test_add_func("/sync/fingerprint/boundaries-not-forged", test_boundaries_not_forged);
	g_test_add_func("/sync/fingerprint/malformed", test_malformed);
	g_test_add_func("/sync/fingerprint/every-prefix", test_every_prefix);
	return g_test_run();
}
