/* SPDX-License-Identifier: MIT */
/* One big folder's copy shared by several connection pairs (sync-split.c), in process
 * between two memory accounts with a real state file: the destination's connections that
 * stored messages into the big folder are counted, and a user's checks follow every run
 * (each source message once on the destination with its flags and date, nothing twice, the
 * counters counting each message once), through a drop in one range, a refused message,
 * a run that ends in the middle, and --jobs 1. */
#include <glib/gstdio.h>
#include <string.h>

#include "mem-pair.h"
#include "mh-log.h"

/* Messages in the big folder, and the --split-min the cases use (the default is far
 * larger). */
#define BIG       600
#define SPLIT_MIN 100

static const char *const folders[] = {"INBOX", "Work", "Work/2020"};
static const unsigned counts[] = {BIG, 7, 5};

struct totals {
	uint64_t copied, matched, missing, failed;
	unsigned unfinished;
	gint64 progress_done;
};

static void
log_to_test(enum mh_log_level level, unsigned category, const char *msg, void *ctx)
{
	(void)category;
	(void)ctx;
	if (level <= MH_LOG_INFO)
		g_test_message("log: %s", msg);
}

static void
add_message(struct mh_mem_account *a, const char *folder, unsigned n)
{
	g_autofree char *msg = g_strdup_printf("Message-ID: <%u.split-test@example.com>\r\n"
	                                       "Date: Tue, 2 Mar 2021 %02u:%02u:00 +0000\r\n"
	                                       "From: Alice Example <alice@example.com>\r\n"
	                                       "To: Bob Example <bob@example.org>\r\n"
	                                       "Subject: Message %u\r\n"
	                                       "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
	                                       "Hello, this is message %u%s.\r\n",
	                                       n, n / 60 % 24, n % 60, n, n,
	                                       n % 7 == 0 ? ", with a longer line of text" : "");
	g_autofree char *date = g_strdup_printf("%02u-Mar-2021 %02u:%02u:00 +0000", 1 + n % 28,
	                                        n / 60 % 24, n % 60);
	const char *flags = n % 3 == 0 ? "\\Seen" : n % 5 == 0 ? "\\Flagged $Work" : "";

	g_assert_cmpuint(mh_mem_account_add(a, folder, msg, strlen(msg), flags, date), >, 0);
}

static void
pair_setup(struct pair *p, gconstpointer data)
{
	unsigned n = 0;

	(void)data;
	mem_pair_open(p, "mh-split-XXXXXX");
	for (size_t f = 0; f < G_N_ELEMENTS(folders); f++) {
		for (unsigned i = 0; i < counts[f]; i++)
			add_message(p->src, folders[f], ++n);
	}
	p->total = n;
	/* A round trip per command, so that the connections really overlap. */
	mh_mem_account_set_latency(p->src, 100);
	mh_mem_account_set_latency(p->dst, 100);
}

static void
pair_teardown(struct pair *p, gconstpointer data)
{
	(void)data;
	mem_pair_close(p);
}

/* The options `mailhaul sync --jobs 4 --split-min SPLIT_MIN --max-backoff 1` gives. */
static void
options_init(struct mh_sync_options *o, struct pair *p)
{
	*o = (struct mh_sync_options){
		.automap = true,
		.maxage = -1,
		.minage = -1,
		.jobs = 4,
		.split_min = SPLIT_MIN,
		.max_backoff = 1,
		.state_path = p->state_path,
	};
}

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

		t.unfinished += f->unfinished;
		t.copied += f->copied;
		t.matched += f->matched;
		t.missing += f->missing;
		t.failed += f->failed;
	}
	t.progress_done = progress.msgs_done;
	g_test_message("run: copied %" G_GUINT64_FORMAT " matched %" G_GUINT64_FORMAT
	               " missing %" G_GUINT64_FORMAT " failed %" G_GUINT64_FORMAT
	               " unfinished %u, progress %" G_GINT64_FORMAT " done",
	               t.copied, t.matched, t.missing, t.failed, t.unfinished, t.progress_done);
	if (result_r != NULL)
		*result_r = r;
	else
		mh_sync_result_free(r);
	return t;
}

static gint
str_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line per message of @folder, sorted: a digest of its bytes, its flags and date. */
static GPtrArray *
folder_lines(struct mh_mem_account *a, const char *folder)
{
	g_autoptr(GPtrArray) msgs = mh_mem_account_messages(a, folder);
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; msgs != NULL && i < msgs->len; i++) {
		const struct mh_mem_msg *m = msgs->pdata[i];
		gsize len;
		const guchar *data = g_bytes_get_data(m->bytes, &len);
		g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);

		g_ptr_array_add(lines, g_strdup_printf("%s | %s | %s", sum, m->flags, m->date));
	}
	g_ptr_array_sort(lines, str_cmp);
	return lines;
}

/* Every source message is on the destination once, with its bytes, flags and date, and
 * nothing else is there. */
static void
assert_mirrored(struct pair *p)
{
	static const char *const dst_names[] = {"INBOX", "Work", "Work.2020"};

	for (size_t i = 0; i < G_N_ELEMENTS(folders); i++) {
		g_autoptr(GPtrArray) want = folder_lines(p->src, folders[i]);
		g_autoptr(GPtrArray) have = folder_lines(p->dst, dst_names[i]);

		if (want->len != have->len)
			g_test_message("%s: %u source messages, %u on the destination", folders[i],
			               want->len, have->len);
		g_assert_cmpuint(have->len, ==, want->len);
		for (guint k = 0; have->len == want->len && k < want->len; k++)
			g_assert_cmpstr(have->pdata[k], ==, want->pdata[k]);
	}
}

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

static void
assert_rerun_copies_nothing(struct pair *p)
{
	struct mh_sync_options o;
	struct totals t;

	options_init(&o, p);
	t = run_with(p, &o, NULL);
	g_assert_cmpuint(t.copied, ==, 0);
	g_assert_cmpuint(t.matched, ==, 0);
	g_assert_cmpuint(t.missing, ==, 0);
	assert_mirrored(p);
}

/* The big folder goes over several connections; each message is copied and counted once:
 * in the folder's result, the totals and the progress. */
static void
test_big_folder_shared(struct pair *p, gconstpointer data)
{
	struct mh_sync_options o;
	struct mh_sync_result *r = NULL;
	struct totals t;

	(void)data;
	options_init(&o, p);
	t = run_with(p, &o, &r);
	g_test_message("connections that stored into INBOX: %u",
	               mh_mem_account_appenders(p->dst, "INBOX"));
	g_assert_cmpuint(mh_mem_account_appenders(p->dst, "INBOX"), >=, 2);
	g_assert_cmpuint(mh_mem_account_appenders(p->dst, "INBOX"), <=, 4);
	/* Never more connections to a side than --jobs. */
	g_assert_cmpuint(mh_mem_account_peak_sessions(p->src), <=, 4);
	g_assert_cmpuint(mh_mem_account_peak_sessions(p->dst), <=, 4);
	g_assert_cmpuint(t.copied, ==, p->total);
	g_assert_cmpint(t.progress_done, ==, p->total);
	g_assert_cmpuint(folder_of(r, "INBOX")->copied, ==, BIG);
	g_assert_cmpuint(folder_of(r, "INBOX")->dst_count, ==, BIG);
	g_assert_cmpuint(t.failed + t.missing + t.unfinished, ==, 0);
	g_assert_cmpuint(mh_mem_account_appends(p->dst), ==, p->total);
	mh_sync_result_free(r);
	assert_mirrored(p);
	assert_rerun_copies_nothing(p);
}

/* --jobs 2 with the big folder last: a worker that found no folder left ends its sessions
 * before a worker for the split copy starts, so that each side never sees more than two
 * connections. */
static void
test_connections_stay_within_jobs(struct pair *p, gconstpointer data)
{
	g_autoptr(GPtrArray) last = g_ptr_array_new();
	struct mh_sync_options o;
	struct totals t;

	(void)data;
	g_ptr_array_add(last, "INBOX");
	options_init(&o, p);
	o.jobs = 2;
	o.folder_last = last;
	t = run_with(p, &o, NULL);
	g_assert_cmpuint(mh_mem_account_appenders(p->dst, "INBOX"), ==, 2);
	g_assert_cmpuint(mh_mem_account_peak_sessions(p->src), <=, 2);
	g_assert_cmpuint(mh_mem_account_peak_sessions(p->dst), <=, 2);
	g_assert_cmpuint(t.copied, ==, p->total);
	assert_mirrored(p);
}

/* --jobs 1: one connection pair, never more. */
static void
test_one_job_never_splits(struct pair *p, gconstpointer data)
{
	struct mh_sync_options o;
	struct totals t;

	(void)data;
	options_init(&o, p);
	o.jobs = 1;
	t = run_with(p, &o, NULL);
	g_assert_cmpuint(mh_mem_account_appenders(p->dst, "INBOX"), ==, 1);
	g_assert_cmpuint(t.copied, ==, p->total);
	assert_mirrored(p);
}

/* Without --split-min, a copy that one connection makes in a moment is not split. */
static void
test_fast_copy_not_split(struct pair *p, gconstpointer data)
{
	struct mh_sync_options o;
	struct totals t;

	(void)data;
	for (unsigned i = 0; i < 2000; i++)
		add_message(p->src, "INBOX", ++p->total);
	options_init(&o, p);
	o.split_min = 0;
	t = run_with(p, &o, NULL);
	g_assert_cmpuint(mh_mem_account_appenders(p->dst, "INBOX"), ==, 1);
	g_assert_cmpuint(t.copied, ==, p->total);
	assert_mirrored(p);
}

/* A destination connection drops after storing a message, in the middle of the shared
 * copy (the answers still due are lost with it): the folder's pass stops on all its
 * connections, is run again after the reconnect, and the copies whose answers were lost
 * are found, not made again. */
static void
test_drop_in_one_range(struct pair *p, gconstpointer data)
{
	struct mh_sync_options o;
	struct totals t;

	(void)data;
	mh_mem_account_fail_after_appends(p->dst, BIG / 2);
	options_init(&o, p);
	t = run_with(p, &o, NULL);
	g_assert_cmpuint(mh_mem_account_appenders(p->dst, "INBOX"), >=, 2);
	g_assert_cmpuint(mh_mem_account_peak_sessions(p->dst), <=, 4);
	g_assert_cmpuint(t.copied + t.matched, ==, p->total);
	g_assert_cmpuint(t.failed + t.missing + t.unfinished, ==, 0);
	g_assert_cmpuint(mh_mem_account_appends(p->dst), ==, p->total);
	assert_mirrored(p);
	assert_rerun_copies_nothing(p);
}

/* The run ends in the middle of the shared copy (the server goes away after a drop, as
 * after a kill): the next run copies only what is missing, nothing twice. */
static void
test_run_ends_in_the_middle(struct pair *p, gconstpointer data)
{
	struct mh_sync_options o;
	struct totals t;
	unsigned stored;

	(void)data;
	mh_mem_account_fail_after_appends(p->dst, BIG / 3);
	mh_mem_account_set_down_after_fault(p->dst, true);
	options_init(&o, p);
	o.max_outage = 1;
	t = run_with(p, &o, NULL);
	stored = mh_mem_account_appends(p->dst);
	g_test_message("first run: %u appends stored", stored);
	g_assert_cmpuint(t.unfinished, >, 0);
	g_assert_cmpuint(stored, <, p->total);
	mh_mem_account_set_down_after_fault(p->dst, false);
	t = run_with(p, &o, NULL);
	g_assert_cmpuint(t.failed + t.missing + t.unfinished, ==, 0);
	g_assert_cmpuint(mh_mem_account_appends(p->dst), ==, p->total);
	assert_mirrored(p);
	assert_rerun_copies_nothing(p);
}

/* The destination refuses one message of the big folder: it alone is counted as failed and
 * named, once; the others are copied; a rerun once it is accepted copies just that one. */
static void
test_refused_message_named(struct pair *p, gconstpointer data)
{
	struct mh_sync_options o;
	struct mh_sync_result *r = NULL;
	const struct mh_sync_folder_result *f;
	struct totals t;
	guint named = 0;

	(void)data;
	mh_mem_account_refuse(p->dst, "Subject: Message 450\r\n");
	options_init(&o, p);
	t = run_with(p, &o, &r);
	g_assert_cmpuint(mh_mem_account_appenders(p->dst, "INBOX"), >=, 2);
	g_assert_cmpuint(t.copied, ==, p->total - 1);
	g_assert_cmpuint(t.failed, ==, 1);
	f = folder_of(r, "INBOX");
	g_assert_cmpuint(f->failed, ==, 1);
	for (guint i = 0; i < f->errors->len; i++)
		named += strstr(f->errors->pdata[i], "UID 450:") != NULL;
	g_assert_cmpuint(named, ==, 1);
	mh_sync_result_free(r);
	mh_mem_account_refuse(p->dst, NULL);
	t = run_with(p, &o, NULL);
	g_assert_cmpuint(t.copied, ==, 1);
	g_assert_cmpuint(t.failed, ==, 0);
	assert_mirrored(p);
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(struct pair *, gconstpointer);
	} cases[] = {
		{"/sync-split/big-folder-shared", test_big_folder_shared},
		{"/sync-split/connections-stay-within-jobs", test_connections_stay_within_jobs},
		{"/sync-split/one-job-never-splits", test_one_job_never_splits},
		{"/sync-split/fast-copy-not-split", test_fast_copy_not_split},
		{"/sync-split/drop-in-one-range", test_drop_in_one_range},
		{"/sync-split/run-ends-in-the-middle", test_run_ends_in_the_middle},
		{"/sync-split/refused-message-named", test_refused_message_named},
	};

	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	mh_log_set_sink(log_to_test, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		g_test_add(cases[i].name, struct pair, NULL, pair_setup, cases[i].fn,
		           pair_teardown);
	return g_test_run();
}
