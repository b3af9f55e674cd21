/* SPDX-License-Identifier: MIT */
/* Verification in process: which destination messages are extra (duplicates beyond the
 * source's count of an identity, strays, never a copy the state maps, highest UIDs
 * first), and the header fields that name a message in the report. Header inputs are
 * copied into exact-size buffers without a terminating NUL. */
#include "sync-private.h"

#include <glib.h>
#include <string.h>

/* A listing: "uid:fingerprint" items; the fingerprint stands for an identity. */
static GPtrArray *
listing(const char *const *items)
{
	GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)sync_msg_free);

	for (size_t i = 0; items[i] != NULL; i++) {
		const char *colon = strchr(items[i], ':');
		struct sync_msg *m;

		g_assert_nonnull(colon);
		m = sync_msg_new((uint32_t)g_ascii_strtoull(items[i], NULL, 10), 0, NULL, NULL,
		                 g_strdup(colon + 1));
		g_ptr_array_add(a, m);
	}
	return a;
}

static GArray *
uid_set(const guint32 *uids, size_t n)
{
	GArray *set = g_array_new(false, false, sizeof(guint32));

	g_array_append_vals(set, uids, (guint)n);
	sync_uids_sort(set);
	return set;
}

/* The UIDs of sync_verify_excess() as "3,5" (caller frees). */
static char *
excess_uids(const char *const *src, const char *const *dst, const guint32 *live, size_t n_live,
            bool strays)
{
	g_autoptr(GPtrArray) s = listing(src);
	g_autoptr(GPtrArray) d = listing(dst);
	g_autoptr(GArray) l = uid_set(live, n_live);
	g_autoptr(GPtrArray) out = sync_verify_excess(s, d, l, strays);
	GString *text = g_string_new(NULL);

	for (guint i = 0; i < out->len; i++)
		g_string_append_printf(text, "%s%u", i > 0 ? "," : "",
		                       ((struct sync_msg *)out->pdata[i])->uid);
	return g_string_free(text, false);
}

static void
test_duplicates_and_strays(void)
{
	/* a on the source once, three times on the destination; b twice on both sides; x
	 * only on the destination; the first sync's copies (1, 2, 3) are mapped. */
	const char *src[] = {"1:a", "2:b", "3:b", NULL};
	const char *dst[] = {"1:a", "2:b", "3:b", "4:a", "5:x", "6:a", NULL};
	const guint32 live[] = {1, 2, 3};
	g_autofree char *all = excess_uids(src, dst, live, G_N_ELEMENTS(live), true);
	g_autofree char *dups = excess_uids(src, dst, live, G_N_ELEMENTS(live), false);

	g_assert_cmpstr(all, ==, "4,5,6");
	g_assert_cmpstr(dups, ==, "4,6");
}

static void
test_mapped_copy_never_extra(void)
{
	/* The source message of copy 7 went (deleted, or moved by --delete1): its copy is
	 * accounted for by its record. */
	const char *src[] = {"1:a", NULL};
	const char *dst[] = {"1:a", "7:gone", NULL};
	const guint32 live[] = {1, 7};
	g_autofree char *all = excess_uids(src, dst, live, G_N_ELEMENTS(live), true);

	g_assert_cmpstr(all, ==, "");
}

static void
test_unmapped_copies_answer_first(void)
{
	/* Without records (a lost state), any copy may answer for the source message: the
	 * lowest UID stays, the others are extra. With the record on the highest UID, that
	 * one stays. */
	const char *src[] = {"1:a", NULL};
	const char *dst[] = {"3:a", "4:a", "5:a", NULL};
	const guint32 live[] = {5};
	g_autofree char *no_state = excess_uids(src, dst, NULL, 0, true);
	g_autofree char *mapped = excess_uids(src, dst, live, G_N_ELEMENTS(live), false);

	g_assert_cmpstr(no_state, ==, "4,5");
	g_assert_cmpstr(mapped, ==, "3,4");
}

static void
test_nothing_in_excess(void)
{
	const char *src[] = {"1:a", "2:b", "3:c", NULL};
	const char *dst[] = {"10:c", "11:a", NULL};
	const char *none[] = {NULL};
	g_autofree char *fewer = excess_uids(src, dst, NULL, 0, true);
	g_autofree char *empty = excess_uids(none, none, NULL, 0, true);

	g_assert_cmpstr(fewer, ==, "");
	g_assert_cmpstr(empty, ==, "");
}

/* sync_verify_header_field() on an exact-size copy of @text. */
static char *
field(const char *text, const char *name)
{
	size_t len = strlen(text);
	g_autofree char *buf = g_memdup2(text, len);

	return sync_verify_header_field(len > 0 ? buf : NULL, len, name);
}

static void
test_header_fields(void)
{
	const char *h = "message-id:   <a@b.example> \r\n"
			"Subject: a folded\r\n"
			"\tsubject  line\r\n"
			"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
			"Subject: a second one\r\n"
			"\r\n"
			"From: after the end\r\n";
	g_autofree char *mid = field(h, "Message-ID");
	g_autofree char *subject = field(h, "Subject");
	g_autofree char *date = field(h, "Date");
	g_autofree char *from = field(h, "From");
	g_autofree char *lf = field("Subject: bare\n line ends\n", "Subject");
	g_autofree char *last = field("Subject: no line end", "Subject");
	g_autofree char *prefix = field("Subjective: no\r\nSubject: yes\r\n", "Subject");

	g_assert_cmpstr(mid, ==, "<a@b.example>");
	g_assert_cmpstr(subject, ==, "a folded subject line");
	g_assert_cmpstr(date, ==, "Mon, 1 Jan 2024 10:00:00 +0000");
	g_assert_null(from);
	g_assert_cmpstr(lf, ==, "bare line ends");
	g_assert_cmpstr(last, ==, "no line end");
	g_assert_cmpstr(prefix, ==, "yes");
}

static void
test_header_fields_hostile(void)
{
	static const char nul[] = "Subject: a\0b\r\n";
	g_autofree char *nul_buf = g_memdup2(nul, sizeof(nul) - 1);
	g_autofree char *with_nul = sync_verify_header_field(nul_buf, sizeof(nul) - 1, "Subject");
	g_autofree char *latin1 = field("Subject: caf\xe9\r\n", "Subject");
	g_autofree char *empty = field("Subject:   \r\n", "Subject");
	g_autofree char *none = field("", "Subject");
	g_autofree char *no_colon = field("Subject\r\n", "Subject");

	g_assert_cmpstr(with_nul, ==, "a?b");
	g_assert_nonnull(latin1);
	g_assert_true(g_utf8_validate(latin1, -1, NULL));
	g_assert_true(g_str_has_prefix(latin1, "caf"));
	g_assert_null(empty);
	g_assert_null(none);
	g_assert_null(no_colon);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sync/verify/duplicates-and-strays", test_duplicates_and_strays);
	g_test_add_func("/sync/verify/mapped-copy-never-extra", test_mapped_copy_never_extra);
	g_test_add_func("/sync/verify/unmapped-copies-answer-first",
	                test_unmapped_copies_answer_first);
	g_test_add_func("/sync/verify/nothing-in-excess", test_nothing_in_excess);
	g_test_add_func("/sync/verify/header-fields", test_header_fields);
	g_test_add_func("/sync/verify/header-fields-hostile", test_header_fields_hostile);
	return g_test_run();
}
