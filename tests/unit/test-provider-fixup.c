/* SPDX-License-Identifier: MIT */
/* Message fix-ups: read-receipt headers disarmed (headers only), long lines folded in
 * headers and broken in the body, CRLF or LF kept. Every input is also fed at every split
 * point and byte by byte, and must come out the same; what is held back stays bounded. */
#include <glib.h>
#include <string.h>

#include "provider.h"

#define R MH_PROVIDER_FIXUP_RECEIPTS
#define W MH_PROVIDER_FIXUP_WRAP

struct fixup_case {
	const char *name;
	unsigned fixups;
	size_t max_line;
	const char *in, *out;
	unsigned applied;
};

static const struct fixup_case fixup_cases[] = {
	{"receipts", R, 0,
         "From: a\r\nDisposition-Notification-To: <a@b>\r\nreturn-receipt-to: c\r\n"
         "X-Disposition-Notification-To: old\r\nDisposition-Notification-Top: no\r\n"
         "Subject: x\r\n Disposition-Notification-To: folded\r\n"
         "DISPOSITION-NOTIFICATION-TO : obs\r\n\r\n"
         "Disposition-Notification-To: body\r\n",
         "From: a\r\nX-Disposition-Notification-To: <a@b>\r\nX-return-receipt-to: c\r\n"
         "X-Disposition-Notification-To: old\r\nDisposition-Notification-Top: no\r\n"
         "Subject: x\r\n Disposition-Notification-To: folded\r\n"
         "X-DISPOSITION-NOTIFICATION-TO : obs\r\n\r\n"
         "Disposition-Notification-To: body\r\n",
         R},
	{"receipts-lf-body", R, 0, "A: b\n\nDisposition-Notification-To: x\n",
         "A: b\n\nDisposition-Notification-To: x\n", 0},
	{"receipts-empty-line-crlf", R, 0, "\r\nReturn-Receipt-To: x\r\n",
         "\r\nReturn-Receipt-To: x\r\n", 0},
	{"receipts-first-line", R, 0, "Return-Receipt-To:x\n\n", "X-Return-Receipt-To:x\n\n", R},
	{"receipts-cut-at-eof", R, 0, "Disposition-Notif", "Disposition-Notif", 0},
	{"receipts-name-at-eof", R, 0, "Return-Receipt-To:", "X-Return-Receipt-To:", R},
	{"receipts-off", W, 100, "Disposition-Notification-To: x\r\n\r\n",
         "Disposition-Notification-To: x\r\n\r\n", 0},
	{"wrap-body-blank", W, 10, "S: x\n\naaaa bbbb cccc dddd\n",
         "S: x\n\naaaa bbbb \ncccc dddd\n", W},
	{"wrap-body-cut", W, 10, "S: x\r\n\r\n0123456789abcdefghij\r\n",
         "S: x\r\n\r\n0123456789\r\nabcdefghij\r\n", W},
	{"wrap-exact-fits", W, 10, "S: x\r\n\r\n0123456789\r\n0123456789\n0123456789",
         "S: x\r\n\r\n0123456789\r\n0123456789\n0123456789", 0},
	{"wrap-one-over", W, 10, "S: x\n\n0123456789A\n", "S: x\n\n0123456789\nA\n", W},
	{"wrap-bare-cr-counts", W, 10, "S: x\r\n\r\n0123456789\rA\r\n",
         "S: x\r\n\r\n0123456789\r\n\rA\r\n", W},
	{"wrap-header-fold", W, 20, "Subject: one two three four five\r\n\r\nbody\r\n",
         "Subject: one two\r\n three four five\r\n\r\nbody\r\n", W},
	{"wrap-header-cut", W, 10, "A: b\nX-Long: abcdefghijklmnopqrstuvwxyz\n\n",
         "A: b\nX-Long:\n abcdefghi\n jklmnopqr\n stuvwxyz\n\n", W},
	{"wrap-header-ends-body-breaks", W, 8, "A: b\n\n  x y z w v u\n",
         "A: b\n\n  x y z \nw v u\n", W},
	{"wrap-lf-kept", W, 5, "A: b\nB: c\n\nabc def ghi\n", "A: b\nB: c\n\nabc \ndef \nghi\n", W},
	{"wrap-no-line-end", W, 4, "A: b\n\nabcdefghij", "A: b\n\nabcd\nefgh\nij", W},
	{"receipts-and-wrap", R | W, 40,
         "Disposition-Notification-To: <someone@example.org>\r\n\r\n",
         "X-Disposition-Notification-To:\r\n <someone@example.org>\r\n\r\n", R | W},
	{"flag-bits-only", MH_PROVIDER_FIXUP_MDNSENT | MH_PROVIDER_FIXUP_FLAGGED, 10,
         "Return-Receipt-To: x\r\n\r\n0123456789abcdef\r\n",
         "Return-Receipt-To: x\r\n\r\n0123456789abcdef\r\n", 0},
};

/* Feeds @in in pieces that end at each offset of @cuts (ascending, the last = len). */
static GByteArray *
fixup_run(unsigned fixups, size_t max_line, const char *in, const size_t *cuts, size_t ncuts,
          unsigned *applied_r)
{
	struct mh_provider_fixup *f = mh_provider_fixup_new(fixups, max_line);
	GByteArray *out = g_byte_array_new();
	size_t at = 0;

	for (size_t i = 0; i < ncuts; i++) {
		mh_provider_fixup_feed(f, (const unsigned char *)in + at, cuts[i] - at, out);
		at = cuts[i];
	}
	mh_provider_fixup_finish(f, out);
	if (applied_r != NULL)
		*applied_r = mh_provider_fixup_applied(f);
	mh_provider_fixup_free(f);
	return out;
}

static bool
fixup_same(const GByteArray *a, const GByteArray *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* One-shot, at every @stride-th split point, and byte by byte: all the same. */
static GByteArray *
fixup_run_splits(unsigned fixups, size_t max_line, const char *in, size_t len, size_t stride,
                 unsigned *applied_r)
{
	GByteArray *whole = fixup_run(fixups, max_line, in, &len, 1, applied_r);
	size_t *bytes = g_new(size_t, len + 1);

	for (size_t k = 0; k <= len; k++) {
		size_t cuts[2] = {k, len};
		g_autoptr(GByteArray) split = NULL;

		bytes[k] = k + 1;
		if (k % stride != 0)
			continue;
		split = fixup_run(fixups, max_line, in, cuts, 2, NULL);

		if (!fixup_same(whole, split))
			g_error("split at %zu differs: \"%.*s\" vs \"%.*s\"", k, (int)split->len,
			        (const char *)split->data, (int)whole->len,
			        (const char *)whole->data);
	}
	if (len > 0) {
		g_autoptr(GByteArray) one = fixup_run(fixups, max_line, in, bytes, len, NULL);

		g_assert_true(fixup_same(whole, one));
	}
	g_free(bytes);
	return whole;
}

static void
test_cases(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(fixup_cases); i++) {
		const struct fixup_case *c = &fixup_cases[i];
		unsigned applied = 99;
		g_autoptr(GByteArray) out =
			fixup_run_splits(c->fixups, c->max_line, c->in, strlen(c->in), 1, &applied);

		if (out->len != strlen(c->out) || memcmp(out->data, c->out, out->len) != 0)
			g_error("%s: got \"%.*s\"", c->name, (int)out->len,
			        (const char *)out->data);
		if (applied != c->applied)
			g_error("%s: applied %u, want %u", c->name, applied, c->applied);
	}
}

/* Longest line of @out, its line end excluded. */
static size_t
fixup_longest(const GByteArray *out)
{
	size_t longest = 0, start = 0;

	for (size_t i = 0; i <= out->len; i++) {
		if (i == out->len || out->data[i] == '\n') {
			size_t n = i - start;

			if (n > 0 && i < out->len && out->data[i - 1] == '\r')
				n--;
			longest = MAX(longest, n);
			start = i + 1;
		}
	}
	return longest;
}

/* @s without its line ends. */
static GString *
fixup_unbroken(const guint8 *s, size_t len)
{
	GString *u = g_string_sized_new(len);

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' || (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n'))
			continue;
		g_string_append_c(u, (char)s[i]);
	}
	return u;
}

/* Random messages: headers with blanks (so they fold, never cut), bodies with and without
 * blanks. No line longer than max_line comes out, and without the line ends nothing was
 * lost or added. */
static void
test_random(void)
{
	static const size_t max_lines[] = {2, 3, 7, 20, 78, 500};
	GRand *rand = g_rand_new_with_seed(20261124);

	for (unsigned round = 0; round < 200; round++) {
		GString *in = g_string_new(NULL);
		const char *eol = g_rand_boolean(rand) ? "\r\n" : "\n";
		size_t max = max_lines[round % G_N_ELEMENTS(max_lines)];
		int lines = g_rand_int_range(rand, 1, 12);

		for (int l = 0; l < lines; l++) {
			int words = g_rand_int_range(rand, 1, 40);

			g_string_append(in, "H:");
			for (int w = 0; w < words; w++)
				g_string_append_printf(in, " %.*s", (int)MIN(max - 1, 6), "abcdef");
			g_string_append(in, eol);
		}
		g_string_append(in, eol);
		for (int l = g_rand_int_range(rand, 0, 12); l > 0; l--) {
			int n = g_rand_int_range(rand, 0, 2000);

			for (int k = 0; k < n; k++)
				g_string_append_c(in,
				                  g_rand_int_range(rand, 0, 5) == 0 ? ' ' : 'x');
			g_string_append(in, eol);
		}
		{
			unsigned applied;
			g_autoptr(GByteArray) out = fixup_run_splits(W | R, max, in->str, in->len,
			                                             in->len / 37 + 1, &applied);
			GString *a = fixup_unbroken((const guint8 *)in->str, in->len);
			GString *b = fixup_unbroken(out->data, out->len);

			g_assert_cmpuint(fixup_longest(out), <=, max);
			g_assert_cmpstr(a->str, ==, b->str);
			g_string_free(a, TRUE);
			g_string_free(b, TRUE);
		}
		g_string_free(in, TRUE);
	}
	g_rand_free(rand);
}

/* A 1 MB line in 1000-byte pieces: never more than about max_line bytes held back. */
static void
test_bounded(void)
{
	const size_t total = 1000000, piece = 1000;
	const unsigned modes[] = {W, R, R | W, 0};
	unsigned char *line = g_malloc(piece);

	memset(line, 'a', piece);
	for (size_t m = 0; m < G_N_ELEMENTS(modes); m++) {
		struct mh_provider_fixup *f = mh_provider_fixup_new(modes[m], 100);
		g_autoptr(GByteArray) out = g_byte_array_new();
		size_t fed = 0;

		mh_provider_fixup_feed(f, (const unsigned char *)"X-A: b\r\n\r\n", 10, out);
		fed += 10;
		for (size_t i = 0; i < total / piece; i++) {
			mh_provider_fixup_feed(f, line, piece, out);
			fed += piece;
			g_assert_cmpuint(out->len + 102, >=, fed);
		}
		mh_provider_fixup_finish(f, out);
		g_assert_cmpuint(out->len, >=, fed);
		if ((modes[m] & W) != 0)
			g_assert_cmpuint(fixup_longest(out), ==, 100);
		else
			g_assert_cmpuint(out->len, ==, fed);
		mh_provider_fixup_free(f);
	}
	/* a header line that never ends: held back as little with receipts alone */
	{
		struct mh_provider_fixup *f = mh_provider_fixup_new(R, 0);
		g_autoptr(GByteArray) out = g_byte_array_new();

		for (size_t i = 0; i < 100; i++)
			mh_provider_fixup_feed(f, line, piece, out);
		g_assert_cmpuint(out->len, ==, 100 * piece);
		mh_provider_fixup_free(f);
	}
	g_free(line);
	mh_provider_fixup_free(NULL);
}

/* Exchange's placeholder for an item it cannot convert is recognised by its subject, also
 * folded or in other case; nothing else is, and a header cut short may still decide. */
static void
test_placeholder(void)
{
	static const struct {
		const char *head;
		bool placeholder, done;
	} cases[] = {
		{"From: Microsoft Exchange Server\r\nSubject: Retrieval using the IMAP4 protocol failed "
	         "for the following message: 752\r\n\r\nThe server couldn't retrieve ...",
	         true, true},
		{"Subject: Retrieval using the IMAP4 protocol failed for the\r\n following message: "
	         "367\r\nFrom: x\r\n\r\n",
	         true, true},
		{"subject:retrieval using the imap4  protocol failed for the following message: 1\n\n",
	         true, true},
		{"Subject: Fwd: Retrieval using the IMAP4 protocol failed for the following message: "
	         "7\r\n\r\n",
	         false, true},
		{"Subject: Retrieval using the IMAP4 protocol\r\n\r\n", false, true},
		{"From: a@example.com\r\nSubject: Lunch\r\n\r\nRetrieval using the IMAP4 protocol "
	         "failed for the following message: 3",
	         false, true},
		{"From: a@example.com\r\n\r\nSubject: Retrieval using the IMAP4 protocol failed for the "
	         "following message: 3\r\n",
	         false, true},
		{"From: a@example.com\r\nSubj", false, false},
		{"Subject: Retrieval using the IMAP4 protocol failed for the\r\n", false, false},
	};
	const struct mh_provider *m365 = mh_provider_find("m365");
	bool done;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const unsigned char *h = (const unsigned char *)cases[i].head;

		g_test_message("case %zu", i);
		g_assert_cmpint(mh_provider_is_placeholder(m365, h, strlen(cases[i].head), &done),
		                ==, cases[i].placeholder);
		g_assert_cmpint(done, ==, cases[i].done);
	}
	g_assert_false(mh_provider_is_placeholder(mh_provider_generic(),
	                                          (const unsigned char *)cases[0].head,
	                                          strlen(cases[0].head), &done));
	g_assert_true(done);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/provider/fixup/cases", test_cases);
	g_test_add_func("/provider/fixup/random", test_random);
	g_test_add_func("/provider/fixup/bounded", test_bounded);
	g_test_add_func("/provider/fixup/placeholder", test_placeholder);
	return g_test_run();
}
