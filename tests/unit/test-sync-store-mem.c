/* SPDX-License-Identifier: MIT */
/* The memory store on its own: what its verbs answer, what each rewrite does to a message
 * (bytes change, the header's meaning stays), and its faults (an APPEND stored whose
 * answer is lost, a refused APPEND, a new UIDVALIDITY, a read-only selection). */
#include <string.h>

#include "sync-fingerprint.h"
#include "sync-store-mem.h"

static const char plain_msg[] =
	"Message-ID: <1@example.com>\r\n"
	"Date: Mon, 1 Mar 2021 10:00:00 +0000\r\n"
	"From: J\xc3\xbcrgen <j@example.de>\r\n"
	"X-Other: not fetched\r\n"
	"Subject: A subject that is long enough to be folded again by a server that re-renders\r\n"
	"\tmessages\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"Body\r\nlast line";

struct appended {
	unsigned calls;
	uint32_t uid;
	GError *error;
};

static void
on_done(uint32_t uidvalidity, uint32_t uid, const GError *error, void *ctx)
{
	struct appended *a = ctx;

	(void)uidvalidity;
	a->calls++;
	a->uid = uid;
	g_clear_error(&a->error);
	a->error = error != NULL ? g_error_copy(error) : NULL;
}

static struct mh_store *
connected(struct mh_mem_account *a)
{
	struct mh_store *st = mh_store_mem_new(a, "host2");
	g_autoptr(GError) error = NULL;

	g_assert_true(st->ops->connect(st, &error));
	g_assert_no_error(error);
	return st;
}

/* APPENDs @msg through @st and flushes; the answer is in @out. */
static bool
append(struct mh_store *st, const char *msg, struct appended *out, GError **error)
{
	size_t len = strlen(msg);

	return st->ops->append_begin(st, "INBOX", "\\Seen", NULL, len, on_done, out, error) &&
	       st->ops->append_write(st, msg, len, error) && st->ops->append_end(st, error) &&
	       st->ops->flush(st, error);
}

static GBytes *
stored(struct mh_mem_account *a, guint i)
{
	g_autoptr(GPtrArray) msgs = mh_mem_account_messages(a, "INBOX");

	g_assert_cmpuint(msgs->len, >, i);
	return g_bytes_ref(((struct mh_mem_msg *)msgs->pdata[i])->bytes);
}

static void
meta_headers(const struct mh_store_meta *m, void *ctx)
{
	g_string_append_len(ctx, m->headers, (gssize)m->headers_len);
}

static void
test_header_fields(void)
{
	struct mh_mem_account *a = mh_mem_account_new("", '/');
	struct mh_store *st = connected(a);
	g_autoptr(GString) got = g_string_new(NULL);
	struct mh_store_box box;
	g_autoptr(GError) error = NULL;

	mh_mem_account_add(a, "INBOX", plain_msg, strlen(plain_msg), NULL, NULL);
	g_assert_true(st->ops->select(st, "INBOX", false, &box, &error));
	mh_store_box_clear(&box);
	g_assert_true(st->ops->fetch_meta(st, "1:*", MH_STORE_META_HEADERS, 0, meta_headers, got,
	                                  &error));
	g_assert_cmpstr(got->str, ==,
	                "Message-ID: <1@example.com>\r\n"
	                "Date: Mon, 1 Mar 2021 10:00:00 +0000\r\n"
	                "From: J\xc3\xbcrgen <j@example.de>\r\n"
	                "Subject: A subject that is long enough to be folded again by a server "
	                "that re-renders\r\n\tmessages\r\n\r\n");
	mh_store_free(st);
	mh_mem_account_unref(a);
}

/* A rewrite changes the bytes (Cyrus's 'X' keeps the size), and keeps the Message-ID and the
 * meaning of the other fields (the same words once unfolded); @expect is a substring it must leave.
 */
static void
check_rewrite(unsigned how, const char *expect)
{
	struct mh_mem_account *a = mh_mem_account_new("", '/');
	struct mh_store *st = connected(a);
	struct appended out = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) b = NULL;
	g_autofree char *text = NULL;
	g_autofree char *before = NULL;
	g_autofree char *after = NULL;
	const char *data;
	gsize len;

	mh_mem_account_set_rewrite(a, how);
	g_assert_true(append(st, plain_msg, &out, &error));
	g_assert_no_error(out.error);
	b = stored(a, 0);
	data = g_bytes_get_data(b, &len);
	text = g_strndup(data, len);
	g_test_message("stored:\n%s", text);
	g_assert_false(len == strlen(plain_msg) && memcmp(data, plain_msg, len) == 0);
	g_assert_nonnull(strstr(text, "Message-ID: <1@example.com>\r\n"));
	g_assert_nonnull(strstr(text, expect));
	before = mh_fingerprint_message_id(plain_msg, strlen(plain_msg));
	after = mh_fingerprint_message_id(text, len);
	g_assert_cmpstr(before, ==, after);
	mh_store_free(st);
	mh_mem_account_unref(a);
}

static void
test_rewrite_crlf(void)
{
	check_rewrite(MH_MEM_REWRITE_CRLF, "Body\r\nlast line\r\n");
}

static void
test_rewrite_8bit(void)
{
	check_rewrite(MH_MEM_REWRITE_8BIT, "From: JXXrgen <j@example.de>\r\n");
}

static void
test_rewrite_rerender(void)
{
	check_rewrite(MH_MEM_REWRITE_RERENDER, "Content-Transfer-Encoding: base64\r\n\r\n"
	                                       "Qm9keQ0KbGFzdCBsaW5l\r\n");
	/* The subject is folded at other places. */
	check_rewrite(MH_MEM_REWRITE_RERENDER, "Subject: A subject that is long enough to be\r\n"
	                                       " folded again by a server that re-renders\t"
	                                       "messages\r\n");
}

/* The connection drops after the APPEND is stored: the message is there, its answer
 * says the connection went. */
static void
test_fault_outcome_unknown(void)
{
	struct mh_mem_account *a = mh_mem_account_new("", '/');
	struct mh_store *st = connected(a);
	struct appended first = {0}, second = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) msgs = NULL;

	mh_mem_account_fail_after_appends(a, 2);
	g_assert_true(append(st, plain_msg, &first, &error));
	g_assert_no_error(first.error);
	g_assert_cmpuint(first.uid, ==, 1);
	g_assert_false(append(st, plain_msg, &second, &error));
	g_assert_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_DISCONNECTED);
	g_assert_cmpuint(second.calls, ==, 1);
	g_assert_error(second.error, MH_IMAP_ERROR, MH_IMAP_ERROR_DISCONNECTED);
	msgs = mh_mem_account_messages(a, "INBOX");
	g_assert_cmpuint(msgs->len, ==, 2);
	/* Every further command fails until a new connection. */
	g_clear_error(&error);
	g_assert_false(st->ops->flush(st, &error));
	g_clear_error(&error);
	g_assert_true(st->ops->connect(st, &error));
	g_clear_error(&first.error);
	g_clear_error(&second.error);
	mh_store_free(st);
	mh_mem_account_unref(a);
}

static void
test_fault_refusals(void)
{
	struct mh_mem_account *a = mh_mem_account_new("", '/');
	struct mh_store *st = connected(a);
	struct appended out = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) msgs = NULL;

	mh_mem_account_append_no(a, 1, "[OVERQUOTA] Quota exceeded");
	g_assert_true(append(st, plain_msg, &out, &error));
	g_assert_error(out.error, MH_IMAP_ERROR, MH_IMAP_ERROR_NO);
	g_assert_nonnull(strstr(out.error->message, "OVERQUOTA"));
	mh_mem_account_refuse(a, "last line");
	g_assert_true(append(st, plain_msg, &out, &error));
	g_assert_error(out.error, MH_IMAP_ERROR, MH_IMAP_ERROR_NO);
	g_assert_cmpuint(st->ops->info(st)->errors, ==, 2);
	mh_mem_account_refuse(a, NULL);
	g_assert_true(append(st, plain_msg, &out, &error));
	g_assert_no_error(out.error);
	msgs = mh_mem_account_messages(a, "INBOX");
	g_assert_cmpuint(msgs->len, ==, 1);
	mh_store_free(st);
	mh_mem_account_unref(a);
}

static void
test_renumber_and_no_appenduid(void)
{
	struct mh_mem_account *a = mh_mem_account_new("", '/');
	struct mh_store *st = connected(a);
	struct appended out = {0};
	struct mh_store_box box;
	g_autoptr(GError) error = NULL;
	uint32_t v = mh_mem_account_uidvalidity(a, "INBOX");
	g_autoptr(GPtrArray) msgs = NULL;

	mh_mem_account_add(a, "INBOX", plain_msg, strlen(plain_msg), NULL, NULL);
	mh_mem_account_add(a, "INBOX", plain_msg, strlen(plain_msg), NULL, NULL);
	g_assert_true(st->ops->select(st, "INBOX", true, &box, &error));
	mh_store_box_clear(&box);
	g_assert_true(st->ops->delete_msgs(st, "1", &error));
	g_assert_true(mh_mem_account_renumber(a, "INBOX"));
	g_assert_cmpuint(mh_mem_account_uidvalidity(a, "INBOX"), !=, v);
	msgs = mh_mem_account_messages(a, "INBOX");
	g_assert_cmpuint(msgs->len, ==, 1);
	g_assert_cmpuint(((struct mh_mem_msg *)msgs->pdata[0])->uid, ==, 1);
	mh_mem_account_set_appenduid(a, false);
	g_assert_true(st->ops->connect(st, &error));
	g_assert_true(append(st, plain_msg, &out, &error));
	g_assert_no_error(out.error);
	g_assert_cmpuint(out.uid, ==, 0);
	mh_store_free(st);
	mh_mem_account_unref(a);
}

/* Each connection that stored into a folder is counted once; a refused APPEND stores
 * nothing and counts nobody. */
static void
test_appenders(void)
{
	struct mh_mem_account *a = mh_mem_account_new("", '/');
	struct mh_store *one = connected(a), *two = connected(a);
	struct appended out = {0};
	g_autoptr(GError) error = NULL;

	g_assert_cmpuint(mh_mem_account_appenders(a, "INBOX"), ==, 0);
	g_assert_cmpuint(mh_mem_account_appenders(a, "Nowhere"), ==, 0);
	g_assert_true(append(one, plain_msg, &out, &error));
	g_assert_true(append(one, plain_msg, &out, &error));
	g_assert_cmpuint(mh_mem_account_appenders(a, "INBOX"), ==, 1);
	mh_mem_account_refuse(a, "last line");
	g_assert_true(append(two, plain_msg, &out, &error));
	g_assert_error(out.error, MH_IMAP_ERROR, MH_IMAP_ERROR_NO);
	g_assert_cmpuint(mh_mem_account_appenders(a, "INBOX"), ==, 1);
	mh_mem_account_refuse(a, NULL);
	g_assert_true(append(two, plain_msg, &out, &error));
	g_assert_no_error(out.error);
	g_assert_cmpuint(mh_mem_account_appenders(a, "INBOX"), ==, 2);
	g_assert_cmpuint(mh_mem_account_appends(a), ==, 3);
	g_clear_error(&out.error);
	mh_store_free(one);
	mh_store_free(two);
	mh_mem_account_unref(a);
}

/* Sessions are counted while connected; a dropped one ends its session. */
static void
test_peak_sessions(void)
{
	struct mh_mem_account *a = mh_mem_account_new("", '/');
	struct mh_store *one = connected(a), *two = connected(a), *three;
	struct appended out = {0};
	g_autoptr(GError) error = NULL;

	g_assert_cmpuint(mh_mem_account_peak_sessions(a), ==, 2);
	one->ops->close(one);
	one->ops->close(one);
	three = connected(a);
	g_assert_cmpuint(mh_mem_account_peak_sessions(a), ==, 2);
	mh_mem_account_fail_after_appends(a, 1);
	g_assert_false(append(two, plain_msg, &out, &error));
	g_clear_error(&out.error);
	g_assert_true(one->ops->connect(one, &error));
	g_assert_cmpuint(mh_mem_account_peak_sessions(a), ==, 2);
	g_assert_true(two->ops->connect(two, &error));
	g_assert_cmpuint(mh_mem_account_peak_sessions(a), ==, 3);
	mh_store_free(one);
	mh_store_free(two);
	mh_store_free(three);
	mh_mem_account_unref(a);
}

/* STORE in a folder selected read-only is refused; SEARCH answers flag keys. */
static void
test_read_only_and_search(void)
{
	struct mh_mem_account *a = mh_mem_account_new("", '/');
	struct mh_store *st = connected(a);
	struct mh_store_box box;
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) uids = NULL;

	mh_mem_account_add(a, "INBOX", plain_msg, strlen(plain_msg), "\\Seen", NULL);
	mh_mem_account_add(a, "INBOX", plain_msg, strlen(plain_msg), NULL, NULL);
	g_assert_true(st->ops->select(st, "INBOX", false, &box, &error));
	g_assert_true(box.all_keywords);
	g_assert_cmpuint(box.exists, ==, 2);
	mh_store_box_clear(&box);
	g_assert_false(st->ops->add_flags(st, "1:*", "\\Flagged", &error));
	g_assert_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_NO);
	g_clear_error(&error);
	g_assert_true(st->ops->search(st, "UNSEEN", &uids, &error));
	g_assert_cmpuint(uids->len, ==, 1);
	g_assert_cmpuint(g_array_index(uids, guint32, 0), ==, 2);
	g_assert_false(st->ops->search(st, "FROM alice", &(GArray *){NULL}, &error));
	g_assert_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_BAD);
	mh_store_free(st);
	mh_mem_account_unref(a);
}

static void
meta_flags(const struct mh_store_meta *m, void *ctx)
{
	g_ptr_array_add(ctx, g_strdup(m->flags));
}

/* +FLAGS and -FLAGS change only the flags named (ignoring case), as a server's do. */
static void
test_add_and_remove_flags(void)
{
	struct mh_mem_account *a = mh_mem_account_new("", '/');
	struct mh_store *st = connected(a);
	g_autoptr(GPtrArray) flags = g_ptr_array_new_with_free_func(g_free);
	struct mh_store_box box;
	g_autoptr(GError) error = NULL;

	mh_mem_account_add(a, "INBOX", plain_msg, strlen(plain_msg), "\\Seen $Work", NULL);
	mh_mem_account_add(a, "INBOX", plain_msg, strlen(plain_msg), "\\Answered", NULL);
	g_assert_true(st->ops->select(st, "INBOX", true, &box, &error));
	mh_store_box_clear(&box);
	g_assert_true(st->ops->add_flags(st, "1:2", "\\Flagged", &error));
	g_assert_true(st->ops->remove_flags(st, "1:2", "\\seen \\Answered", &error));
	g_assert_true(
		st->ops->fetch_meta(st, "1:*", MH_STORE_META_FLAGS, 0, meta_flags, flags, &error));
	g_assert_cmpuint(flags->len, ==, 2);
	g_assert_cmpstr(flags->pdata[0], ==, "$Work \\Flagged");
	g_assert_cmpstr(flags->pdata[1], ==, "\\Flagged");
	mh_store_free(st);
	mh_mem_account_unref(a);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sync-store-mem/header-fields", test_header_fields);
	g_test_add_func("/sync-store-mem/rewrite-crlf", test_rewrite_crlf);
	g_test_add_func("/sync-store-mem/rewrite-8bit", test_rewrite_8bit);
	g_test_add_func("/sync-store-mem/rewrite-rerender", test_rewrite_rerender);
	g_test_add_func("/sync-store-mem/fault-outcome-unknown", test_fault_outcome_unknown);
	g_test_add_func("/sync-store-mem/fault-refusals", test_fault_refusals);
	g_test_add_func("/sync-store-mem/renumber-and-no-appenduid",
	                test_renumber_and_no_appenduid);
	g_test_add_func("/sync-store-mem/read-only-and-search", test_read_only_and_search);
	g_test_add_func("/sync-store-mem/add-and-remove-flags", test_add_and_remove_flags);
	g_test_add_func("/sync-store-mem/appenders", test_appenders);
	g_test_add_func("/sync-store-mem/peak-sessions", test_peak_sessions);
	return g_test_run();
}
