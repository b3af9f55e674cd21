/* SPDX-License-Identifier: MIT */
/* What a batch shows: a live view on stderr (one line per running mailbox and a totals
 * line, redrawn in place on a terminal; a plain totals line every few seconds and a line
 * per finished row elsewhere) and the final summary table on stdout. */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "batch.h"
#include "report.h"

#define VIEW_TTY_EVERY_US   (G_USEC_PER_SEC / 2)
#define VIEW_PLAIN_EVERY_US (5 * G_USEC_PER_SEC)
#define TABLE_WIDTH         80

struct batch_view {
	GPtrArray *rows; /* borrowed */
	GMutex *lock;    /* borrowed: the scheduler's */
	GThread *thread;
	GMutex wake_lock;
	GCond wake;
	bool stop;
	bool tty;
	guint drawn; /* lines of the last drawing, to redraw over them */
	gint64 start;
};

/* Appends @s to @out cut to @width bytes ("..." marks a cut). */
static void
view_fit(GString *out, const char *s, gsize width)
{
	gsize len = strlen(s);

	if (len <= width) {
		g_string_append(out, s);
		return;
	}
	g_string_append_len(out, s, (gssize)(width > 3 ? width - 3 : 0));
	g_string_append(out, "...");
}

static char *
view_duration(double seconds)
{
	guint64 s = (guint64)(seconds + 0.5);

	if (s < 60)
		return g_strdup_printf("%" G_GUINT64_FORMAT "s", s);
	if (s < 3600)
		return g_strdup_printf("%" G_GUINT64_FORMAT "m%02" G_GUINT64_FORMAT "s", s / 60,
		                       s % 60);
	return g_strdup_printf("%" G_GUINT64_FORMAT "h%02" G_GUINT64_FORMAT "m", s / 3600,
	                       s / 60 % 60);
}

static unsigned
view_columns(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return TABLE_WIDTH;
}

/* The totals line: rows by status, messages and bytes copied, rate, ETA. */
static void
view_totals(struct batch_view *v, GString *out)
{
	guint n[BATCH_FAILED + 1] = {0};
	guint64 msgs = 0, bytes = 0;
	double secs = MAX(0.001, (double)(g_get_monotonic_time() - v->start) / G_USEC_PER_SEC);
	guint ended, left;

	for (guint i = 0; i < v->rows->len; i++) {
		const struct batch_row *row = v->rows->pdata[i];

		if (!row->ran && row->status != BATCH_RUNNING)
			continue;
		n[row->status]++;
		msgs += row->status == BATCH_RUNNING
		                ? (guint64)__atomic_load_n(&row->progress.msgs_done,
		                                           __ATOMIC_RELAXED)
		                : row->copied;
		bytes += row->status == BATCH_RUNNING
		                 ? (guint64)__atomic_load_n(&row->progress.bytes_done,
		                                            __ATOMIC_RELAXED)
		                 : row->copied_bytes;
	}
	ended = n[BATCH_DONE] + n[BATCH_DIFFERENCES] + n[BATCH_FAILED];
	left = n[BATCH_NOT_STARTED];
	g_string_append_printf(out,
	                       "rows: %u done, %u differences, %u failed, %u running, %u left; "
	                       "%" G_GUINT64_FORMAT " messages, %.1f MB, %.1f MB/s",
	                       n[BATCH_DONE], n[BATCH_DIFFERENCES], n[BATCH_FAILED],
	                       n[BATCH_RUNNING], left, msgs, (double)bytes / 1e6,
	                       (double)bytes / 1e6 / secs);
	if (ended > 0 && left + n[BATCH_RUNNING] > 0) {
		g_autofree char *eta =
			view_duration(secs / ended * (double)(left + n[BATCH_RUNNING]));

		g_string_append_printf(out, ", ETA %s", eta);
	}
}

/* One running row: accounts, folder, messages n/N, rate, ETA. Called with the lock held
 * (the folder name is borrowed from the row's engine until it clears it under the lock). */
static void
view_running(const struct batch_row *row, GString *out, unsigned width)
{
	gint64 done = __atomic_load_n(&row->progress.msgs_done, __ATOMIC_RELAXED);
	gint64 total = __atomic_load_n(&row->progress.msgs_total, __ATOMIC_RELAXED);
	gint64 bytes = __atomic_load_n(&row->progress.bytes_done, __ATOMIC_RELAXED);
	gint64 btotal = __atomic_load_n(&row->progress.bytes_total, __ATOMIC_RELAXED);
	const char *folder = __atomic_load_n(&row->progress.current, __ATOMIC_RELAXED);
	double secs = MAX(0.001, (double)(g_get_monotonic_time() - row->started) / G_USEC_PER_SEC);
	g_autoptr(GString) line = g_string_new("  ");

	g_string_append_printf(
		line, "%s -> %s  %s  %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " msgs  %.1f MB/s",
		row->source, row->destination, folder != NULL ? folder : "-", done, total,
		(double)bytes / 1e6 / secs);
	if (bytes > 0 && btotal > bytes) {
		g_autofree char *eta =
			view_duration((double)(btotal - bytes) * secs / (double)bytes);

		g_string_append_printf(line, "  ETA %s", eta);
	}
	view_fit(out, line->str, width - 1);
}

static void
view_draw(struct batch_view *v)
{
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GString) totals = g_string_new(NULL);
	unsigned width = view_columns();
	guint lines = 0;

	g_mutex_lock(v->lock);
	if (v->tty) {
		if (v->drawn > 0)
			g_string_append_printf(text, "\033[%uA", v->drawn);
		for (guint i = 0; i < v->rows->len; i++) {
			const struct batch_row *row = v->rows->pdata[i];

			if (row->status != BATCH_RUNNING)
				continue;
			g_string_append(text, "\r\033[K");
			view_running(row, text, width);
			g_string_append_c(text, '\n');
			lines++;
		}
	}
	view_totals(v, totals);
	g_mutex_unlock(v->lock);
	if (v->tty) {
		g_string_append(text, "\r\033[K");
		view_fit(text, totals->str, width - 1);
		g_string_append(text, "\n\033[J");
		v->drawn = lines + 1;
	} else {
		g_string_append_printf(text, "mailhaul: %s\n", totals->str);
	}
	fputs(text->str, stderr);
	fflush(stderr);
}

static gpointer
view_thread(gpointer data)
{
	struct batch_view *v = data;
	gint64 every = v->tty ? VIEW_TTY_EVERY_US : VIEW_PLAIN_EVERY_US;

	g_mutex_lock(&v->wake_lock);
	while (!v->stop) {
		gint64 until = g_get_monotonic_time() + every;

		while (!v->stop && g_cond_wait_until(&v->wake, &v->wake_lock, until))
			;
		if (v->stop)
			break;
		g_mutex_unlock(&v->wake_lock);
		view_draw(v);
		g_mutex_lock(&v->wake_lock);
	}
	g_mutex_unlock(&v->wake_lock);
	return NULL;
}

struct batch_view *
batch_view_start(GPtrArray *rows, GMutex *lock, bool quiet)
{
	struct batch_view *v;

	if (quiet)
		return NULL;
	v = g_new0(struct batch_view, 1);
	v->rows = rows;
	v->lock = lock;
	v->tty = isatty(STDERR_FILENO);
	v->start = g_get_monotonic_time();
	g_mutex_init(&v->wake_lock);
	g_cond_init(&v->wake);
	v->thread = g_thread_new("mh-batch-view", view_thread, v);
	return v;
}

void
batch_view_row_done(struct batch_view *v, const struct batch_row *row)
{
	g_autofree char *took = NULL;

	if (v == NULL || v->tty)
		return;
	took = view_duration(row->seconds);
	fprintf(stderr,
	        "mailhaul: line %u %s: %s -> %s, %" G_GUINT64_FORMAT " messages copied, %s%s%s\n",
	        row->line, batch_status_name(row->status), row->source, row->destination,
	        row->copied, took, row->reason != NULL ? "; " : "",
	        row->reason != NULL ? row->reason : "");
	fflush(stderr);
}

void
batch_view_stop(struct batch_view *v)
{
	if (v == NULL)
		return;
	g_mutex_lock(&v->wake_lock);
	v->stop = true;
	g_cond_signal(&v->wake);
	g_mutex_unlock(&v->wake_lock);
	g_thread_join(v->thread);
	view_draw(v);
	g_mutex_clear(&v->wake_lock);
	g_cond_clear(&v->wake);
	g_free(v);
}

/* --- the final table --- */

static int
table_rank(enum batch_status st)
{
	static const int rank[] = {[BATCH_FAILED] = 0,
	                           [BATCH_DIFFERENCES] = 1,
	                           [BATCH_RUNNING] = 2,
	                           [BATCH_NOT_STARTED] = 3,
	                           [BATCH_DONE] = 4};

	return rank[st];
}

static gint
table_order(gconstpointer a, gconstpointer b)
{
	const struct batch_row *x = *(const struct batch_row *const *)a;
	const struct batch_row *y = *(const struct batch_row *const *)b;
	int d = table_rank(x->status) - table_rank(y->status);

	if (d != 0)
		return d;
	return x->line < y->line ? -1 : x->line > y->line;
}

void
batch_print_table(FILE *out, const GPtrArray *rows)
{
	g_autoptr(GPtrArray) sorted = g_ptr_array_sized_new(rows->len);
	guint n[BATCH_FAILED + 1] = {0};
	guint64 msgs = 0, bytes = 0;
	g_autofree char *total_bytes = NULL;

	for (guint i = 0; i < rows->len; i++)
		g_ptr_array_add(sorted, rows->pdata[i]);
	g_ptr_array_sort(sorted, table_order);
	fprintf(out, "%-11s %5s  %-36s %8s %8s %6s\n", "Status", "Line", "Source -> Destination",
	        "Copied", "Missing", "Time");
	for (guint i = 0; i < sorted->len; i++) {
		const struct batch_row *row = sorted->pdata[i];
		g_autoptr(GString) pair = g_string_new(NULL);
		g_autoptr(GString) reason = g_string_new(NULL);
		g_autofree char *both = g_strdup_printf("%s -> %s", row->source, row->destination);
		g_autofree char *took = view_duration(row->seconds);

		n[row->status]++;
		msgs += row->copied;
		bytes += row->copied_bytes;
		view_fit(pair, both, 36);
		fprintf(out, "%-11s %5u  %-36s %8" G_GUINT64_FORMAT " %8" G_GUINT64_FORMAT " %6s\n",
		        batch_status_name(row->status), row->line, pair->str, row->copied,
		        row->missing, took);
		if (row->status != BATCH_FAILED && row->status != BATCH_DIFFERENCES)
			continue;
		g_string_printf(reason, "exit %d: %s", row->exit_code,
		                row->reason != NULL ? row->reason : "differences remain");
		g_string_truncate(pair, 0);
		view_fit(pair, reason->str, TABLE_WIDTH - 6);
		fprintf(out, "      %s\n", pair->str);
	}
	total_bytes = mh_report_bytes(bytes);
	fprintf(out, "%u rows: %u done, %u differences, %u failed, %u not started.\n", rows->len,
	        n[BATCH_DONE], n[BATCH_DIFFERENCES], n[BATCH_FAILED],
	        n[BATCH_NOT_STARTED] + n[BATCH_RUNNING]);
	fprintf(out, "Copied: %" G_GUINT64_FORMAT " messages (%s).\n", msgs, total_bytes);
}
