/* SPDX-License-Identifier: MIT */
/* The sync engine in process, between two memory accounts, with a real state file: what a
 * user checks after each run (every message once on the destination with its bytes, flags
 * and date; nothing twice; the run's counters) through reruns, a lost state, a crash
 * between an APPEND and its record, destinations that rewrite messages, UIDVALIDITY
 * changes, --delete1/--delete2, duplicates on the source and two runs at once. */
#include <glib/gstdio.h>
#include <string.h>

#include "mem-pair.h"
#include "mh-log.h"

/* What a generated message looks like. */
enum msg_kind {
	KIND_PLAIN,
	KIND_8BIT,      /* raw UTF-8 in Subject and From */
	KIND_LONG,      /* long Subject and To, folded by the sender */
	KIND_MULTIPART, /* multipart/mixed with a boundary */
	KIND_NO_CRLF,   /* the last line has no line end */
};

struct seed {
	const char *folder;
	unsigned n;
	enum msg_kind kind;
	const char *flags;
};

/* The source mailbox of every case: three folders, one a special folder, one nested. */
static const struct seed seeds[] = {
	{"INBOX", 1, KIND_PLAIN, "\\Seen"},
	{"INBOX", 2, KIND_8BIT, ""},
	{"INBOX", 3, KIND_LONG, "\\Flagged $Label1"},
	{"INBOX", 4, KIND_MULTIPART, "\\Answered \\Seen"},
	{"INBOX", 5, KIND_NO_CRLF, ""},
	{"INBOX", 6, KIND_PLAIN, "\\Draft"},
	{"Work/2020", 7, KIND_PLAIN, "\\Seen"},
	{"Work/2020", 8, KIND_8BIT, "\\Seen $Label2"},
	{"Work/2020", 9, KIND_LONG, ""},
	{"Sent", 10, KIND_MULTIPART, "\\Seen"},
	{"Sent", 11, KIND_NO_CRLF, "\\Seen"},
};

#define N_SEEDS G_N_ELEMENTS(seeds)

struct totals {
	uint64_t copied, matched, missing, failed, deleted_src, deleted_dst, flag_updates;
	unsigned folders, unfinished;
};

static char *
make_message(unsigned n, enum msg_kind kind)
{
	GString *m = g_string_new(NULL);

	g_string_append_printf(m, "Message-ID: <%u.mem-test@example.com>\r\n", n);
	g_string_append_printf(m, "Date: Mon, 1 Mar 2021 10:%02u:00 +0000\r\n", n % 60);
	switch (kind) {
	case KIND_8BIT:
		g_string_append(m, "From: J\xc3\xbcrgen M\xc3\xbcller <juergen@example.de>\r\n");
		g_string_append(m, "To: Bob Example <bob@example.org>\r\n");
		g_string_append_printf(m,
		                       "Subject: Gr\xc3\xbc\xc3\x9f"
		                       "e aus K\xc3\xb6ln, Nummer %u\r\n",
		                       n);
		break;
	case KIND_LONG:
		g_string_append(m, "From: Alice Example <alice@example.com>\r\n");
		g_string_append(m, "To: Bob Example <bob@example.org>, Carol Example "
		                   "<carol@example.org>, Dave Example <dave@example.org>,\r\n"
		                   " Erin Example <erin@example.org>\r\n");
		g_string_append_printf(m,
		                       "Subject: A rather long subject line number %u that "
		                       "the sender folded once at its own width, as\r\n"
		                       "\tmail programs do when a line grows past the limit\r\n",
		                       n);
		break;
	default:
		g_string_append(m, "From: Alice Example <alice@example.com>\r\n");
		g_string_append(m, "To: Bob Example <bob@example.org>\r\n");
		g_string_append_printf(m, "Subject: Message %u\r\n", n);
		break;
	}
	g_string_append(m, "MIME-Version: 1.0\r\n");
	if (kind == KIND_MULTIPART) {
		g_string_append_printf(
			m, "Content-Type: multipart/mixed; boundary=\"b1_%u\"\r\n\r\n", n);
		g_string_append_printf(
			m,
			"--b1_%u\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
			"The text of message %u.\r\n--b1_%u\r\n"
			"Content-Type: application/octet-stream\r\n"
			"Content-Transfer-Encoding: base64\r\n\r\n"
			"AAECAwQFBgcICQ==\r\n--b1_%u--\r\n",
			n, n, n, n);
		return g_string_free(m, false);
	}
	g_string_append(m, "Content-Type: text/plain; charset=us-ascii\r\n");
	g_string_append(m, "Content-Transfer-Encoding: 7bit\r\n\r\n");
	g_string_append_printf(m, "Hello, this is message %u.\r\nSecond line", n);
	if (kind != KIND_NO_CRLF)
		g_string_append(m, ".\r\n");
	return g_string_free(m, false);
}

static char *
seed_date(unsigned n)
{
	return g_strdup_printf("%02u-Mar-2021 %02u:30:00 +0000", 1 + n, 8 + n % 10);
}

static void
add_seed(struct mh_mem_account *a, const struct seed *s)
{
	g_autofree char *msg = make_message(s->n, s->kind);
	g_autofree char *date = seed_date(s->n);

	g_assert_cmpuint(mh_mem_account_add(a, s->folder, msg, strlen(msg), s->flags, date), >, 0);
}

static void
log_to_test(enum mh_log_level level, unsigned category, const char *msg, void *ctx)
{
	(void)category;
	(void)ctx;
	if (level <= MH_LOG_WARN)
		g_test_message("log: %s", msg);
}

static void
pair_setup(struct pair *p, gconstpointer data)
{
	(void)data;
	mem_pair_open(p, "mh-engine-XXXXXX");
	g_assert_true(mh_mem_account_create(p->src, "Sent", MH_IMAP_ATTR_SENT));
	g_assert_true(mh_mem_account_create(p->dst, "Sent Items", MH_IMAP_ATTR_SENT));
	for (size_t i = 0; i < N_SEEDS; i++)
		add_seed(p->src, &seeds[i]);
}

static void
state_remove(struct pair *p)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};

	for (size_t i = 0; i < G_N_ELEMENTS(suffixes); i++) {
		g_autofree char *path = g_strconcat(p->state_path, suffixes[i], NULL);

		g_remove(path);
	}
}

static void
pair_teardown(struct pair *p, gconstpointer data)
{
	(void)data;
	mem_pair_close(p);
}

/* The options `mailhaul sync` uses for a generic server (see src/cmd-sync.c). */
static void
options_init(struct mh_sync_options *o, struct pair *p)
{
	*o = (struct mh_sync_options){
		.automap = true,
		.maxage = -1,
		.minage = -1,
		.jobs = 2,
		.state_path = p->state_path,
	};
}

/* Runs the engine and adds up its counters; the run itself must not fail. */
static struct totals
run_with(struct pair *p, const struct mh_sync_options *o, struct mh_sync_result **result_r)
{
	struct mh_sync_progress progress = {0};
	struct mh_sync_result *r = NULL;
	g_autoptr(GError) error = NULL;
	struct totals t = {0};

	g_assert_true(mh_sync_run(o, mem_pair_factory, p, &progress, &r, &error));
	g_assert_no_error(error);
	for (guint i = 0; r != NULL && i < r->folders->len; i++) {
		const struct mh_sync_folder_result *f = r->folders->pdata[i];

		t.folders++;
		t.unfinished += f->unfinished;
		t.copied += f->copied;
		t.matched += f->matched;
		t.missing += f->missing;
		t.failed += f->failed;
		t.deleted_src += f->deleted_src;
		t.deleted_dst += f->deleted_dst;
		t.flag_updates += f->flag_updates;
	}
	g_test_message("%s: copied %" G_GUINT64_FORMAT " matched %" G_GUINT64_FORMAT
	               " missing %" G_GUINT64_FORMAT " failed %" G_GUINT64_FORMAT
	               " unfinished folders %u",
	               o->dry           ? "dry run"
	               : o->verify_only ? "verify"
	                                : "run",
	               t.copied, t.matched, t.missing, t.failed, t.unfinished);
	if (result_r != NULL)
		*result_r = r;
	else
		mh_sync_result_free(r);
	return t;
}

static struct totals
run(struct pair *p)
{
	struct mh_sync_options o;

	options_init(&o, p);
	return run_with(p, &o, NULL);
}

/* The destination folder a source folder lands in, as the engine planned it. */
static const char *
dst_name_of(const struct mh_sync_result *r, const char *src_name)
{
	for (guint i = 0; i < r->folders->len; i++) {
		const struct mh_sync_folder_result *f = r->folders->pdata[i];

		if (strcmp(f->src_name, src_name) == 0)
			return f->dst_name;
	}
	return NULL;
}

static gint
str_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line per message of @folder, sorted: its bytes (a digest) or, when a server may
 * have rewritten them, its Message-ID; then flags and INTERNALDATE. */
static GPtrArray *
folder_lines(struct mh_mem_account *a, const char *folder, bool exact)
{
	g_autoptr(GPtrArray) msgs = mh_mem_account_messages(a, folder);
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; msgs != NULL && i < msgs->len; i++) {
		const struct mh_mem_msg *m = msgs->pdata[i];
		gsize len;
		const char *data = g_bytes_get_data(m->bytes, &len);
		g_autofree char *id = NULL;

		if (exact) {
			id = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data,
			                                 len);
		} else {
			const char *mid = g_strstr_len(data, (gssize)len, "Message-ID: ");
			size_t n = mid != NULL ? strcspn(mid, "\r\n") : 0;

			id = mid != NULL ? g_strndup(mid, n) : g_strdup("(no Message-ID)");
		}
		g_ptr_array_add(lines, g_strdup_printf("%s | %s | %s", id, m->flags, m->date));
	}
	g_ptr_array_sort(lines, str_cmp);
	return lines;
}

/* Every source message is on the destination once, with its flags and date (and its
 * exact bytes unless @exact is false); nothing else is there. */
static void
assert_mirrored(struct pair *p, const struct mh_sync_result *r, bool exact)
{
	static const char *const folders[] = {"INBOX", "Work/2020", "Sent"};

	for (size_t i = 0; i < G_N_ELEMENTS(folders); i++) {
		const char *dname = dst_name_of(r, folders[i]);
		g_autoptr(GPtrArray) want = folder_lines(p->src, folders[i], exact);
		g_autoptr(GPtrArray) have = NULL;

		g_assert_nonnull(dname);
		if (dname == NULL)
			continue;
		have = folder_lines(p->dst, dname, exact);
		if (want->len != have->len)
			g_test_message("%s -> %s: %u source messages, %u on the destination",
			               folders[i], dname, want->len, have->len);
		g_assert_cmpuint(have->len, ==, want->len);
		for (guint k = 0; have->len == want->len && k < want->len; k++)
			g_assert_cmpstr(have->pdata[k], ==, want->pdata[k]);
	}
}

/* The planned folder names from a run that changes nothing. */
static struct mh_sync_result *
plan_of(struct pair *p)
{
	struct mh_sync_options o;
	struct mh_sync_result *r = NULL;

	options_init(&o, p);
	o.dry = true;
	run_with(p, &o, &r);
	return r;
}

static void
assert_all_mirrored(struct pair *p, bool exact)
{
	struct mh_sync_result *r = plan_of(p);

	assert_mirrored(p, r, exact);
	mh_sync_result_free(r);
}

/* `verify`: the engine's own comparison finds nothing missing. */
static void
assert_verify_clean(struct pair *p)
{
	struct mh_sync_options o;
	struct totals t;

	options_init(&o, p);
	o.verify_only = true;
	t = run_with(p, &o, NULL);
	g_assert_cmpuint(t.missing, ==, 0);
}

/* --- the cases --- */

static void
test_initial_copy_and_unchanged_rerun(struct pair *p, gconstpointer data)
{
	struct totals t;

	(void)data;
	t = run(p);
	g_assert_cmpuint(t.copied, ==, N_SEEDS);
	g_assert_cmpuint(t.missing, ==, 0);
	g_assert_cmpuint(t.failed, ==, 0);
	assert_all_mirrored(p, true);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, 0);
	g_assert_cmpuint(t.matched, ==, 0);
	g_assert_cmpuint(t.missing, ==, 0);
	assert_all_mirrored(p, true);
	assert_verify_clean(p);
}

static void
test_rerun_without_state_copies_nothing(struct pair *p, gconstpointer data)
{
	struct totals t;

	(void)data;
	t = run(p);
	g_assert_cmpuint(t.copied, ==, N_SEEDS);
	state_remove(p);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, 0);
	g_assert_cmpuint(t.matched, ==, N_SEEDS);
	g_assert_cmpuint(t.missing, ==, 0);
	assert_all_mirrored(p, true);
}

/* The destination stores the third APPEND, then the connection drops before any answer
 * still due arrives: the engine cannot know those copies exist. With @down the server
 * then refuses connections, so the run ends there, as a killed run would. */
static void
crash_case(struct pair *p, bool down)
{
	struct mh_sync_options o;
	struct totals t;

	mh_mem_account_fail_after_appends(p->dst, 3);
	if (down)
		mh_mem_account_set_down_after_fault(p->dst, true);
	options_init(&o, p);
	o.max_outage = 1; /* the server stays down: the run ends there */
	t = run_with(p, &o, NULL);
	g_test_message("first run: %u appends stored", mh_mem_account_appends(p->dst));
	if (down)
		g_assert_cmpuint(t.unfinished, >, 0);
	mh_mem_account_set_down_after_fault(p->dst, false);
	t = run(p);
	g_assert_cmpuint(t.missing, ==, 0);
	g_assert_cmpuint(t.failed, ==, 0);
	assert_all_mirrored(p, true);
	g_assert_cmpuint(mh_mem_account_appends(p->dst), ==, N_SEEDS);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, 0);
	assert_all_mirrored(p, true);
}

static void
test_crash_between_append_and_record(struct pair *p, gconstpointer data)
{
	(void)data;
	crash_case(p, true);
}

static void
test_drop_between_append_and_answer(struct pair *p, gconstpointer data)
{
	(void)data;
	crash_case(p, false);
}

/* The folder result for source folder @name. */
static const struct mh_sync_folder_result *
folder_of(const struct mh_sync_result *r, const char *name)
{
	for (guint i = 0; i < r->folders->len; i++) {
		const struct mh_sync_folder_result *f = r->folders->pdata[i];

		if (strcmp(f->src_name, name) == 0)
			return f;
	}
	g_assert_not_reached();
	return NULL;
}

/* Whether one of @f's errors contains every one of the NULL-ended @words. */
static bool
errors_say(const struct mh_sync_folder_result *f, ...)
{
	for (guint i = 0; i < f->errors->len; i++) {
		const char *e = f->errors->pdata[i];
		bool all = true;
		const char *w;
		va_list ap;

		va_start(ap, f);
		while (all && (w = va_arg(ap, const char *)) != NULL)
			all = strstr(e, w) != NULL;
		va_end(ap);
		if (all)
			return true;
	}
	return false;
}

/* Options with reconnect waits of a second at most, as --max-backoff 1. */
static void
options_quick(struct mh_sync_options *o, struct pair *p)
{
	options_init(o, p);
	o->max_backoff = 1;
}

/* One message the link cannot carry (every APPEND of it loses the connection mid-literal):
 * after three drops in a row with it first in flight it is left on the source and named,
 * everything else is copied once; when the link carries it again a rerun copies it. */
static void
test_message_too_large_for_link(struct pair *p, gconstpointer data)
{
	struct mh_sync_options o;
	struct mh_sync_result *r = NULL;
	const struct mh_sync_folder_result *f;
	struct totals t;

	(void)data;
	mh_mem_account_cut_on(p->dst, "Subject: Message 6\r\n");
	options_quick(&o, p);
	t = run_with(p, &o, &r);
	/* Copies whose answers the drops took are found on the destination, not made again. */
	g_assert_cmpuint(t.copied + t.matched, ==, N_SEEDS - 1);
	g_assert_cmpuint(t.failed, ==, 1);
	g_assert_cmpuint(t.unfinished, ==, 0);
	f = folder_of(r, "INBOX");
	g_assert_true(errors_say(f, "UID 6:", "connection dropped 3 times", NULL));
	g_assert_null(r->gave_up);
	mh_sync_result_free(r);
	g_assert_cmpuint(mh_mem_account_appends(p->dst), ==, N_SEEDS - 1);
	mh_mem_account_cut_on(p->dst, NULL);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, 1);
	g_assert_cmpuint(t.failed, ==, 0);
	assert_all_mirrored(p, true);
	g_assert_cmpuint(mh_mem_account_appends(p->dst), ==, N_SEEDS);
}

/* A folder whose connection drops at every SELECT gives up alone after its waits: the
 * other folders finish, nothing fails, the run does not stop; a rerun finishes it. */
static void
test_folder_that_cannot_progress(struct pair *p, gconstpointer data)
{
	struct mh_sync_options o;
	struct mh_sync_result *r = NULL;
	const struct mh_sync_folder_result *f;
	struct totals t;

	(void)data;
	mh_mem_account_cut_select(p->src, "Work/2020");
	options_quick(&o, p);
	t = run_with(p, &o, &r);
	g_assert_cmpuint(t.copied, ==, N_SEEDS - 3);
	g_assert_cmpuint(t.failed, ==, 0);
	g_assert_cmpuint(t.unfinished, ==, 1);
	f = folder_of(r, "Work/2020");
	g_assert_true(f->unfinished && f->dropped);
	g_assert_true(errors_say(f, "gave up after 8 waits without progress", NULL));
	g_assert_true(!folder_of(r, "INBOX")->unfinished && !folder_of(r, "Sent")->unfinished);
	g_assert_null(r->gave_up);
	mh_sync_result_free(r);
	mh_mem_account_cut_select(p->src, NULL);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, 3);
	assert_all_mirrored(p, true);
	g_assert_cmpuint(mh_mem_account_appends(p->dst), ==, N_SEEDS);
}

/* The destination drops a connection with APPENDs in flight and then refuses connections
 * for a while (a restart): the run waits, growing, reconnects and finishes in one go. */
static void
test_outage_is_waited_out(struct pair *p, gconstpointer data)
{
	struct mh_sync_options o;
	struct totals t;

	(void)data;
	mh_mem_account_fail_after_appends(p->dst, 3);
	mh_mem_account_refuse_connects_after_fault(p->dst, 5);
	options_quick(&o, p);
	t = run_with(p, &o, NULL);
	g_assert_cmpuint(t.unfinished, ==, 0);
	g_assert_cmpuint(t.failed, ==, 0);
	g_assert_cmpuint(t.missing, ==, 0);
	assert_all_mirrored(p, true);
	g_assert_cmpuint(mh_mem_account_appends(p->dst), ==, N_SEEDS);
}

/* A destination that stores messages differently from what it was given: the copy, an
 * unchanged rerun, `verify` and a rerun after a lost state all agree that every message
 * is there once. */
static void
rewrite_case(struct pair *p, unsigned how)
{
	struct totals t;

	mh_mem_account_set_rewrite(p->dst, how);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, N_SEEDS);
	assert_all_mirrored(p, false);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, 0);
	assert_verify_clean(p);
	state_remove(p);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, 0);
	g_assert_cmpuint(t.matched, ==, N_SEEDS);
	assert_all_mirrored(p, false);
	g_assert_cmpuint(mh_mem_account_appends(p->dst), ==, N_SEEDS);
}

static void
test_rewrite_added_crlf(struct pair *p, gconstpointer data)
{
	(void)data;
	rewrite_case(p, MH_MEM_REWRITE_CRLF);
}

static void
test_rewrite_8bit_header(struct pair *p, gconstpointer data)
{
	(void)data;
	rewrite_case(p, MH_MEM_REWRITE_8BIT);
}

static void
test_rewrite_rerendered(struct pair *p, gconstpointer data)
{
	(void)data;
	rewrite_case(p, MH_MEM_REWRITE_RERENDER);
}

/* A destination that never says which UID an APPEND got. */
static void
test_no_appenduid(struct pair *p, gconstpointer data)
{
	struct totals t;

	(void)data;
	mh_mem_account_set_appenduid(p->dst, false);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, N_SEEDS);
	assert_all_mirrored(p, true);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, 0);
	state_remove(p);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, 0);
	assert_all_mirrored(p, true);
}

static void
test_uidvalidity_change_source(struct pair *p, gconstpointer data)
{
	struct totals t;

	(void)data;
	run(p);
	g_assert_true(mh_mem_account_renumber(p->src, "INBOX"));
	t = run(p);
	g_assert_cmpuint(t.copied, ==, 0);
	g_assert_cmpuint(t.missing, ==, 0);
	assert_all_mirrored(p, true);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, 0);
	g_assert_cmpuint(t.matched, ==, 0);
	assert_all_mirrored(p, true);
}

static void
test_uidvalidity_change_destination(struct pair *p, gconstpointer data)
{
	struct totals t;

	(void)data;
	run(p);
	g_assert_true(mh_mem_account_renumber(p->dst, "INBOX"));
	g_assert_true(mh_mem_account_renumber(p->dst, "Sent Items"));
	t = run(p);
	g_assert_cmpuint(t.copied, ==, 0);
	g_assert_cmpuint(t.missing, ==, 0);
	assert_all_mirrored(p, true);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, 0);
	g_assert_cmpuint(t.matched, ==, 0);
	assert_all_mirrored(p, true);
}

/* --delete2: a stray message on the destination and the copy of a message deleted from
 * the source both go; the rest stays. */
static void
test_delete2(struct pair *p, gconstpointer data)
{
	g_autofree char *stray = make_message(99, KIND_PLAIN);
	g_autoptr(GPtrArray) src_inbox = NULL;
	struct mh_sync_options o;
	struct mh_store *st;
	struct mh_store_box box;
	g_autoptr(GError) error = NULL;
	struct totals t;

	(void)data;
	run(p);
	g_assert_cmpuint(mh_mem_account_add(p->dst, "INBOX", stray, strlen(stray), "", NULL), >, 0);
	/* Delete source INBOX message 1 as a user's mail program would. */
	st = mh_store_mem_new(p->src, "host1");
	g_assert_true(st->ops->connect(st, &error));
	g_assert_true(st->ops->select(st, "INBOX", true, &box, &error));
	mh_store_box_clear(&box);
	g_assert_true(st->ops->delete_msgs(st, "1", &error));
	g_assert_no_error(error);
	mh_store_free(st);
	options_init(&o, p);
	o.delete2 = true;
	t = run_with(p, &o, NULL);
	g_assert_cmpuint(t.deleted_dst, ==, 2);
	g_assert_cmpuint(t.copied, ==, 0);
	assert_all_mirrored(p, true);
	src_inbox = mh_mem_account_messages(p->src, "INBOX");
	g_assert_cmpuint(src_inbox->len, ==, 5);
}

static guint
count_of(struct mh_mem_account *a, const char *folder)
{
	g_autoptr(GPtrArray) msgs = mh_mem_account_messages(a, folder);

	return msgs != NULL ? msgs->len : 0;
}

/* Folders empty on both sides are settled from their counters, neither side selected,
 * and skipped as unchanged next time; a folder empty on the source only is still opened
 * (its destination may hold messages --delete2 removes). */
static void
test_empty_folders_not_opened(struct pair *p, gconstpointer data)
{
	g_autofree char *stray = make_message(98, KIND_PLAIN);
	struct mh_sync_options o;
	struct mh_sync_result *r = NULL;
	unsigned selects;
	struct totals t;

	(void)data;
	g_assert_true(mh_mem_account_create(p->src, "Empty", 0));
	g_assert_true(mh_mem_account_create(p->src, "Gone", 0));
	g_assert_true(mh_mem_account_create(p->dst, "Gone", 0));
	g_assert_cmpuint(mh_mem_account_add(p->dst, "Gone", stray, strlen(stray), "", NULL), >, 0);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, N_SEEDS);
	g_assert_cmpuint(t.missing, ==, 0);
	/* INBOX, Work/2020 and Sent hold messages, Gone holds one on the destination; Work
	 * and Empty are empty on both sides. */
	g_assert_cmpuint(mh_mem_account_selects(p->src), ==, 4);
	g_assert_cmpuint(mh_mem_account_selects(p->dst), ==, 4);
	g_assert_cmpuint(count_of(p->dst, "Empty"), ==, 0);
	g_assert_cmpuint(count_of(p->dst, "Gone"), ==, 1);
	assert_all_mirrored(p, true);
	/* The empty pairs were recorded: a rerun skips them as unchanged, as the others. */
	options_init(&o, p);
	selects = mh_mem_account_selects(p->src);
	t = run_with(p, &o, &r);
	g_assert_cmpuint(t.copied, ==, 0);
	g_assert_cmpuint(mh_mem_account_selects(p->src), ==, selects);
	for (guint i = 0; i < r->folders->len; i++) {
		const struct mh_sync_folder_result *f = r->folders->pdata[i];

		if (strcmp(f->src_name, "Empty") == 0 || strcmp(f->src_name, "Work") == 0)
			g_assert_true(f->unchanged);
	}
	mh_sync_result_free(r);
	/* With --delete2 the stray in the folder empty on the source goes. */
	options_init(&o, p);
	o.delete2 = true;
	t = run_with(p, &o, NULL);
	g_assert_cmpuint(t.deleted_dst, ==, 1);
	g_assert_cmpuint(count_of(p->dst, "Gone"), ==, 0);
	assert_all_mirrored(p, true);
	assert_verify_clean(p);
}

/* --delete1: the source is emptied, and only of what is on the destination. */
static void
test_delete1(struct pair *p, gconstpointer data)
{
	g_autoptr(GPtrArray) before = folder_lines(p->src, "INBOX", true);
	g_autoptr(GPtrArray) after = NULL;
	g_autoptr(GPtrArray) inbox = NULL;
	struct mh_sync_options o;
	struct totals t;

	(void)data;
	mh_mem_account_refuse(p->dst, "Message 6");
	options_init(&o, p);
	o.delete1 = true;
	t = run_with(p, &o, NULL);
	g_assert_cmpuint(t.copied, ==, N_SEEDS - 1);
	g_assert_cmpuint(t.failed, ==, 1);
	g_assert_cmpuint(t.deleted_src, ==, N_SEEDS - 1);
	/* The refused message stays on the source, alone. */
	after = mh_mem_account_messages(p->src, "INBOX");
	g_assert_cmpuint(after->len, ==, 1);
	g_assert_cmpuint(count_of(p->src, "Work/2020"), ==, 0);
	g_assert_cmpuint(count_of(p->src, "Sent"), ==, 0);
	inbox = folder_lines(p->dst, "INBOX", true);
	g_assert_cmpuint(inbox->len, ==, before->len - 1);
	/* No copy carries the \Deleted of the move. */
	for (guint i = 0; i < inbox->len; i++)
		g_assert_null(strstr(inbox->pdata[i], "\\Deleted"));
}

/* Two identical messages on the source are two on the destination, also after an
 * unchanged rerun and a rerun without state. */
static void
test_duplicates_on_source(struct pair *p, gconstpointer data)
{
	struct totals t;

	(void)data;
	add_seed(p->src, &seeds[0]);
	add_seed(p->src, &seeds[2]);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, N_SEEDS + 2);
	assert_all_mirrored(p, true);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, 0);
	assert_all_mirrored(p, true);
	state_remove(p);
	t = run(p);
	g_assert_cmpuint(t.copied, ==, 0);
	g_assert_cmpuint(t.matched, ==, N_SEEDS + 2);
	assert_all_mirrored(p, true);
}

struct concurrent {
	struct pair *p;
	gint *go;
	struct totals t;
	bool ok;
	char *error;
};

static gpointer
concurrent_run(gpointer data)
{
	struct concurrent *c = data;
	struct mh_sync_options o;
	struct mh_sync_progress progress = {0};
	struct mh_sync_result *r = NULL;
	GError *error = NULL;

	options_init(&o, c->p);
	while (!g_atomic_int_get(c->go))
		;
	c->ok = mh_sync_run(&o, mem_pair_factory, c->p, &progress, &r, &error);
	if (error != NULL) {
		c->error = g_strdup(error->message);
		g_error_free(error);
	}
	for (guint i = 0; r != NULL && i < r->folders->len; i++)
		c->t.copied += ((struct mh_sync_folder_result *)r->folders->pdata[i])->copied;
	mh_sync_result_free(r);
	return NULL;
}

/* Two runs of the same pair at once (overlapping cron jobs): each message ends up on the
 * destination once, whichever run copied it (the second may also refuse to start). */
static void
test_two_engines_at_once(struct pair *p, gconstpointer data)
{
	gint go = 0;
	struct concurrent c[2] = {{.p = p, .go = &go}, {.p = p, .go = &go}};
	GThread *threads[2];

	struct mh_sync_options o;

	(void)data;
	/* The folders exist, so that both runs get as far as copying. */
	options_init(&o, p);
	o.justfolders = true;
	run_with(p, &o, NULL);
	mh_mem_account_set_latency(p->src, 1000);
	mh_mem_account_set_latency(p->dst, 1000);
	for (int i = 0; i < 2; i++)
		threads[i] = g_thread_new("engine", concurrent_run, &c[i]);
	g_atomic_int_set(&go, 1);
	for (int i = 0; i < 2; i++) {
		g_thread_join(threads[i]);
		g_test_message("engine %d: %s, copied %" G_GUINT64_FORMAT "%s%s", i,
		               c[i].ok ? "ran" : "refused", c[i].t.copied,
		               c[i].error != NULL ? ": " : "",
		               c[i].error != NULL ? c[i].error : "");
		g_free(c[i].error);
	}
	g_assert_true(c[0].ok || c[1].ok);
	g_test_message("destination appends: %u for %zu source messages",
	               mh_mem_account_appends(p->dst), (size_t)N_SEEDS);
	g_assert_cmpuint(c[0].t.copied + c[1].t.copied, ==, N_SEEDS);
	assert_all_mirrored(p, true);
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(struct pair *, gconstpointer);
	} cases[] = {
		{"/sync-engine/initial-copy-and-unchanged-rerun",
	         test_initial_copy_and_unchanged_rerun},
		{"/sync-engine/rerun-without-state-copies-nothing",
	         test_rerun_without_state_copies_nothing},
		{"/sync-engine/crash-between-append-and-record",
	         test_crash_between_append_and_record},
		{"/sync-engine/drop-between-append-and-answer",
	         test_drop_between_append_and_answer},
		{"/sync-engine/message-too-large-for-link", test_message_too_large_for_link},
		{"/sync-engine/folder-that-cannot-progress", test_folder_that_cannot_progress},
		{"/sync-engine/outage-is-waited-out", test_outage_is_waited_out},
		{"/sync-engine/rewrite-added-crlf", test_rewrite_added_crlf},
		{"/sync-engine/rewrite-8bit-header", test_rewrite_8bit_header},
		{"/sync-engine/rewrite-rerendered", test_rewrite_rerendered},
		{"/sync-engine/no-appenduid", test_no_appenduid},
		{"/sync-engine/uidvalidity-change-source", test_uidvalidity_change_source},
		{"/sync-engine/uidvalidity-change-destination",
	         test_uidvalidity_change_destination},
		{"/sync-engine/delete2", test_delete2},
		{"/sync-engine/delete1", test_delete1},
		{"/sync-engine/duplicates-on-source", test_duplicates_on_source},
		{"/sync-engine/two-engines-at-once", test_two_engines_at_once},
		{"/sync-engine/empty-folders-not-opened", test_empty_folders_not_opened},
	};

	g_test_init(&argc, &argv, NULL);
	/* Every case reports its figures, also after a failed check. */
	g_test_set_nonfatal_assertions();
	mh_log_set_sink(log_to_test, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		g_test_add(cases[i].name, struct pair, NULL, pair_setup, cases[i].fn,
		           pair_teardown);
	return g_test_run();
}
