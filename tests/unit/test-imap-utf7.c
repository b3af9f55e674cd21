/* SPDX-License-Identifier: MIT */
/* Modified UTF-7 (RFC 3501 section 5.1.3): the RFC's example, pinned encodings, round
 * trips, and the non-canonical or broken spellings the decoder must refuse. */
#include "imap-error.h"
#include "imap-utf7.h"

#include <glib.h>
#include <string.h>

struct utf7_pair {
	const char *utf8;
	const char *utf7;
};

/* Checked against an independent encoder (UTF-16BE, base64, '/' -> ',', no '='). */
static const struct utf7_pair utf7_pairs[] = {
	{"INBOX", "INBOX"},
	{"Sent Items", "Sent Items"},
	{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
	{"&", "&-"},
	{"a&b&&c", "a&-b&-&-c"},
	{"Entwürfe", "Entw&APw-rfe"},
	{"é&", "&AOk-&-"},
	{"&é", "&-&AOk-"},
	{"é-", "&AOk--"},
	{"ééé", "&AOkA6QDp-"},
	{"Корзина", "&BBoEPgRABDcEOAQ9BDA-"},
	{"已发送", "&XfJT0ZAB-"},
	{"[Gmail]/Все письма", "[Gmail]/&BBIEQQQ1- &BD8EOARBBEwEPAQw-"},
	{"😀", "&2D3eAA-"},
	{"a😀b😀", "a&2D3eAA-b&2D3eAA-"},
	{"ü😀ü", "&APzYPd4AAPw-"},
	{"\U0010FFFF", "&2,,f,w-"},
	{"\uFFFD", "&,,0-"},
	{"x\ty", "x&AAk-y"},
	{"\x01", "&AAE-"},
	{"\x7f", "&AH8-"},
	{"", ""},
};

static void
test_pairs(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(utf7_pairs); i++) {
		const struct utf7_pair *p = &utf7_pairs[i];
		g_autoptr(GError) error = NULL;
		g_autofree char *enc = NULL;
		g_autofree char *dec = NULL;

		enc = mh_imap_utf7_encode(p->utf8, &error);
		g_assert_no_error(error);
		g_assert_cmpstr(enc, ==, p->utf7);
		dec = mh_imap_utf7_decode(p->utf7, &error);
		g_assert_no_error(error);
		g_assert_cmpstr(dec, ==, p->utf8);
		g_assert_true(mh_imap_utf7_valid(p->utf7));
	}
}

static void
test_rfc3501_example(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dec = NULL;
	g_autofree char *enc = NULL;

	dec = mh_imap_utf7_decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(
		dec, ==,
		"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	enc = mh_imap_utf7_encode(dec, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(enc, ==, "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
}

static void
test_ascii_unchanged(void)
{
	char ascii[0x7f - 0x20 + 1];
	g_autoptr(GError) error = NULL;
	g_autofree char *enc = NULL;
	g_autofree char *dec = NULL;
	size_t n = 0;

	for (int c = 0x20; c <= 0x7e; c++) {
		if (c != '&')
			ascii[n++] = (char)c;
	}
	ascii[n] = '\0';
	enc = mh_imap_utf7_encode(ascii, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(enc, ==, ascii);
	dec = mh_imap_utf7_decode(ascii, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(dec, ==, ascii);
}

static void
test_non_bmp_round_trip(void)
{
	/* U+1F600, U+10000 and U+10FFFF: surrogate pairs at the edges of the range. */
	static const char *const names[] = {"\xf0\x9f\x98\x80", "\xf0\x90\x80\x80",
	                                    "\xf4\x8f\xbf\xbf", "x\xf0\x9f\x98\x80y&z"};

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *enc = mh_imap_utf7_encode(names[i], &error);
		g_autofree char *dec = NULL;

		g_assert_no_error(error);
		g_assert_true(mh_imap_utf7_valid(enc));
		dec = mh_imap_utf7_decode(enc, &error);
		g_assert_no_error(error);
		g_assert_cmpstr(dec, ==, names[i]);
	}
}

static void
test_round_trip_table(void)
{
	static const char *const names[] = {
		"Drafts",        "Papierkorb",  "Éléments envoyés",
		"Boîte d'envoi", "Спам",        "迷惑メール",
		"보낸편지함",    "Κάδος",       "קבלות",
		"مسودات",        "a/b/c&d/é/ü", "\xe2\x80\x8b",
		"tab\there",     "ends-with-é", "é",
		"&&&",           "-",           "&-&-",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *enc = mh_imap_utf7_encode(names[i], &error);
		g_autofree char *dec = NULL;

		g_assert_no_error(error);
		for (const char *p = enc; *p != '\0'; p++)
			g_assert_true(*p >= 0x20 && *p <= 0x7e);
		dec = mh_imap_utf7_decode(enc, &error);
		g_assert_no_error(error);
		g_assert_cmpstr(dec, ==, names[i]);
	}
}

struct utf7_invalid {
	const char *utf7;
	const char *problem; /* part of the message */
};

static const struct utf7_invalid utf7_invalid[] = {
	{"&", "unterminated '&' run"},
	{"abc&AOk", "unterminated '&' run"},
	{"&U,BTFw", "unterminated '&' run"},
	{"&AO/-", "byte 0x2f is not modified base64"},
	{"&AOk=-", "byte 0x3d is not modified base64"},
	{"&AO k-", "byte 0x20 is not modified base64"},
	{"&AOl-", "non-zero padding bits"},
	{"&APx-", "non-zero padding bits"},
	{"&A-", "ends inside a UTF-16 unit"},
	{"&AOkA-", "ends inside a UTF-16 unit"},
	{"&AOkA6QD-", "ends inside a UTF-16 unit"},
	{"&AEE-", "encoded printable ASCII character 'A'"},
	{"&ACY-", "encoded printable ASCII character '&'"},
	{"&ACA-", "encoded printable ASCII character ' '"},
	{"&AH4-", "encoded printable ASCII character '~'"},
	{"&AAA-", "encoded NUL character"},
	{"&2D0-", "ends after a high surrogate"},
	{"&2D0-&3gA-", "ends after a high surrogate"},
	{"&3gA-", "low surrogate without its high half"},
	{"&3gDYPQ-", "low surrogate without its high half"},
	{"&2D0A6Q-", "high surrogate without its low half"},
	{"&2D3YPQ-", "high surrogate without its low half"},
	{"caf\xc3\xa9", "raw non-ASCII byte 0xc3"},
	{"a\tb", "raw control byte 0x09"},
	{"a\x7f", "raw control byte 0x7f"},
	{"\r\n", "raw control byte 0x0d"},
	{"&AOk-&AOk-", "'&' run directly after another"},
	{"x&APw-&APw-y", "'&' run directly after another"},
};

static void
test_invalid(gconstpointer data)
{
	const struct utf7_invalid *t = data;
	g_autoptr(GError) error = NULL;
	char *dec = mh_imap_utf7_decode(t->utf7, &error);

	g_assert_null(dec);
	g_assert_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL);
	g_assert_nonnull(strstr(error->message, t->problem));
	g_assert_null(strchr(error->message, '\n'));
	g_assert_false(mh_imap_utf7_valid(t->utf7));
}

static void
test_error_offset(void)
{
	g_autoptr(GError) error = NULL;
	char *dec = mh_imap_utf7_decode("INBOX/&AOl-", &error);

	g_assert_null(dec);
	g_assert_cmpstr(error->message, ==,
	                "invalid modified UTF-7 mailbox name at byte 10: '&' run ends with "
	                "non-zero padding bits");
}

static void
test_adjacent_escapes(void)
{
	/* "&-" next to a run is canonical ("é&" and "&é"); only run after run is not. */
	g_assert_true(mh_imap_utf7_valid("&AOk-&-"));
	g_assert_true(mh_imap_utf7_valid("&-&AOk-"));
	g_assert_true(mh_imap_utf7_valid("&AOk-&-&AOk-"));
	g_assert_true(mh_imap_utf7_valid("&AOk--&AOk-"));
	g_assert_false(mh_imap_utf7_valid("&AOk-&AOk-"));
}

static void
test_encode_invalid_utf8(void)
{
	static const char *const bad[] = {
		"caf\xe9",          /* Latin-1 */
		"\xc3",             /* truncated */
		"\xc0\xaf",         /* overlong '/' */
		"\xed\xa0\xbd",     /* UTF-8 encoded surrogate */
		"\xf4\x90\x80\x80", /* above U+10FFFF */
		"ok\xff",           /* never valid */
	};

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		char *enc = mh_imap_utf7_encode(bad[i], &error);

		g_assert_null(enc);
		g_assert_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/imap/utf7/pairs", test_pairs);
	g_test_add_func("/imap/utf7/rfc3501-example", test_rfc3501_example);
	g_test_add_func("/imap/utf7/ascii-unchanged", test_ascii_unchanged);
	g_test_add_func("/imap/utf7/non-bmp-round-trip", test_non_bmp_round_trip);
	g_test_add_func("/imap/utf7/round-trip-table", test_round_trip_table);
	for (size_t i = 0; i < G_N_ELEMENTS(utf7_invalid); i++) {
		g_autofree char *path = g_strdup_printf("/imap/utf7/invalid/%02zu", i);

		g_test_add_data_func(path, &utf7_invalid[i], test_invalid);
	}
	g_test_add_func("/imap/utf7/error-offset", test_error_offset);
	g_test_add_func("/imap/utf7/adjacent-escapes", test_adjacent_escapes);
	g_test_add_func("/imap/utf7/encode-invalid-utf8", test_encode_invalid_utf8);
	return g_test_run();
}
