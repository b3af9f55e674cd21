/* SPDX-License-Identifier: MIT */
/* What a batch shows: a live view on stderr (live-view.c: one line per running mailbox and
 * a totals line, redrawn in place on a terminal; a plain totals line every few seconds and
 * a line per finished row elsewhere) and the final summary table on stdout. */
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "live-view.h"
#include "report.h"

struct batch_view {
	GPtrArray *rows; /* borrowed */
	GMutex *lock;    /* borrowed: the scheduler's */
	struct mh_live_view *live;
	enum mh_live_mode mode;
	gint64 start;
};

/* The totals line: rows by status, messages and bytes copied, rate, ETA. */
static void
view_totals(struct batch_view *v, GString *out)
{
	guint n[BATCH_STATUSES] = {0};
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
	ended = n[BATCH_DONE] + n[BATCH_DIFFERENCES] + n[BATCH_FAILED] + n[BATCH_INTERRUPTED];
	left = n[BATCH_NOT_STARTED];
	g_string_append_printf(out, "rows: %u done, %u differences, %u failed, ", n[BATCH_DONE],
	                       n[BATCH_DIFFERENCES], n[BATCH_FAILED]);
	if (n[BATCH_INTERRUPTED] > 0)
		g_string_append_printf(out, "%u interrupted, ", n[BATCH_INTERRUPTED]);
	g_string_append_printf(
		out, "%u running, %u left; %" G_GUINT64_FORMAT " messages, %.1f MB, %.1f MB/s",
		n[BATCH_RUNNING], left, msgs, (double)bytes / 1e6, (double)bytes / 1e6 / secs);
	if (ended > 0 && left + n[BATCH_RUNNING] > 0) {
		g_autofree char *eta =
			mh_live_duration(secs / ended * (double)(left + n[BATCH_RUNNING]));

		g_string_append_printf(out, ", ETA %s", eta);
	}
}

/* One running row: accounts, folder, messages n/N (N known once the row's folders are
 * counted), rate, ETA from the row's totals. Called with the lock held (the folder name is
 * borrowed from the row's engine until it clears it under the lock). */
static char *
view_running(const struct batch_row *row)
{
	const struct mh_sync_progress *p = &row->progress;
	gint64 done = __atomic_load_n(&p->msgs_done, __ATOMIC_RELAXED);
	gint64 total = __atomic_load_n(&p->msgs_copy, __ATOMIC_RELAXED);
	gint64 bytes = __atomic_load_n(&p->bytes_done, __ATOMIC_RELAXED);
	gint64 btotal = __atomic_load_n(&p->bytes_copy, __ATOMIC_RELAXED);
	bool known = g_atomic_int_get(&p->totals_known);
	bool bknown = known && g_atomic_int_get(&p->bytes_unknown) == 0;
	const char *folder = __atomic_load_n(&p->current, __ATOMIC_RELAXED);
	double secs = MAX(0.001, (double)(g_get_monotonic_time() - row->started) / G_USEC_PER_SEC);
	GString *line = g_string_new("  ");

	g_string_append_printf(line, "%s -> %s  ", row->source, row->destination);
	if (row->waiting != NULL) {
		g_string_append_printf(line, "waiting for another run (%s)", row->waiting);
		return g_string_free(line, false);
	}
	if (!known) {
		g_string_append(line, "listing the folders");
		return g_string_free(line, false);
	}
	g_string_append_printf(
		line, "%s  %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " msgs  %.1f MB/s",
		folder != NULL ? folder : "-", done, MAX(done, total), (double)bytes / 1e6 / secs);
	if (bknown && bytes > 0 && btotal > bytes) {
		g_autofree char *eta =
			mh_live_duration((double)(btotal - bytes) * secs / (double)bytes);

		g_string_append_printf(line, "  ETA %s", eta);
	}
	return g_string_free(line, false);
}

static void
view_compose(void *ctx, enum mh_live_mode mode, unsigned columns, GPtrArray *lines)
{
	struct batch_view *v = ctx;
	g_autoptr(GString) totals = g_string_new(NULL);

	(void)columns;
	g_mutex_lock(v->lock);
	for (guint i = 0; mode == MH_LIVE_BAR && i < v->rows->len; i++) {
		const struct batch_row *row = v->rows->pdata[i];

		if (row->status == BATCH_RUNNING)
			g_ptr_array_add(lines, view_running(row));
	}
	view_totals(v, totals);
	g_mutex_unlock(v->lock);
	g_ptr_array_add(lines, g_string_free(g_steal_pointer(&totals), false));
}

struct batch_view *
batch_view_start(GPtrArray *rows, GMutex *lock, enum mh_live_mode mode)
{
	struct batch_view *v;

	if (mode == MH_LIVE_NONE)
		return NULL;
	v = g_new0(struct batch_view, 1);
	v->rows = rows;
	v->lock = lock;
	v->mode = mode;
	v->start = g_get_monotonic_time();
	v->live = mh_live_view_start(mode, view_compose, v);
	return v;
}

void
batch_view_row_waiting(struct batch_view *v, const struct batch_row *row)
{
	g_autofree char *line = NULL;

	if (v == NULL)
		return;
	line = g_strdup_printf("mailhaul: line %u: waiting for another mailhaul run (%s) of "
	                       "%s -> %s to end (--wait-lock)",
	                       row->line, row->waiting, row->source, row->destination);
	mh_live_print(line);
}

void
batch_view_row_done(struct batch_view *v, const struct batch_row *row)
{
	g_autofree char *took = NULL;
	g_autofree char *line = NULL;

	if (v == NULL || v->mode != MH_LIVE_PLAIN)
		return;
	took = mh_live_duration(row->seconds);
	line = g_strdup_printf("mailhaul: line %u %s: %s -> %s, %" G_GUINT64_FORMAT
	                       " messages copied, %s%s%s",
	                       row->line, batch_status_name(row->status), row->source,
	                       row->destination, row->copied, took, row->reason != NULL ? "; " : "",
	                       row->reason != NULL ? row->reason : "");
	mh_live_print(line);
}

void
batch_view_stop(struct batch_view *v)
{
	g_autoptr(GString) totals = g_string_new("mailhaul: ");

	if (v == NULL)
		return;
	mh_live_view_stop(v->live);
	/* Elsewhere than on a terminal, the last totals line says how the batch ended. */
	if (v->mode == MH_LIVE_PLAIN) {
		g_mutex_lock(v->lock);
		view_totals(v, totals);
		g_mutex_unlock(v->lock);
		mh_live_print(totals->str);
	}
	g_free(v);
}

/* --- the final table --- */

#define TABLE_WIDTH    80 /* when COLUMNS says nothing and the output is not a terminal */
#define TABLE_FIXED    44 /* columns of a wide line besides the accounts */
#define TABLE_MIN_PAIR 26 /* fewer left for the accounts: the narrow layout */
#define TABLE_PAIR_AT  19 /* where the accounts start on a wide line */
#define TABLE_INDENT   6  /* of a reason under its row */

unsigned
batch_table_width(FILE *out)
{
	const char *env = g_getenv("COLUMNS");
	unsigned term = mh_term_columns(fileno(out));
	char *end = NULL;
	guint64 n;

	if (env != NULL && *env != '\0') {
		n = g_ascii_strtoull(env, &end, 10);
		if (*end == '\0' && n >= 20 && n <= 10000)
			return (unsigned)n;
	}
	/* Not the last column of a terminal: some wrap as soon as it is written. */
	if (term > 0)
		return MAX(term, 21u) - 1;
	return TABLE_WIDTH;
}

static int
table_rank(enum batch_status st)
{
	static const int rank[] = {
		[BATCH_FAILED] = 0,  [BATCH_DIFFERENCES] = 1, [BATCH_INTERRUPTED] = 2,
		[BATCH_RUNNING] = 3, [BATCH_NOT_STARTED] = 4, [BATCH_DONE] = 5};

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

/* Prints @text wrapped to @width at @indent (its continuations two further in): a long
 * reason is kept whole, on as many lines as it takes. */
static void
table_wrapped(FILE *out, const char *text, unsigned indent, unsigned width)
{
	g_autoptr(GString) wrapped = g_string_new(NULL);
	g_auto(GStrv) lines = NULL;

	mh_term_wrap(wrapped, text, width > indent + 10 ? width - indent : 10);
	lines = g_strsplit(wrapped->str, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++)
		fprintf(out, "%*s%s\n", (int)indent, "", lines[i]);
}

/* The reason of a row that did not end done, or NULL. Returns a new string. */
static char *
table_reason(const struct batch_row *row)
{
	if (row->status != BATCH_FAILED && row->status != BATCH_DIFFERENCES &&
	    row->status != BATCH_INTERRUPTED)
		return NULL;
	return g_strdup_printf("exit %d: %s", row->exit_code,
	                       row->reason != NULL ? row->reason : "differences remain");
}

/* A row on a line of @width >= TABLE_FIXED + TABLE_MIN_PAIR: the accounts in their
 * column, or the source there and "-> destination" under it when both do not fit (the
 * whole pair under the row when the source alone does not), then the reason. */
static void
table_row_wide(FILE *out, const struct batch_row *row, unsigned width)
{
	unsigned pairw = width - TABLE_FIXED;
	g_autofree char *both = g_strdup_printf("%s -> %s", row->source, row->destination);
	g_autofree char *took = mh_live_duration(row->seconds);
	g_autofree char *reason = table_reason(row);
	g_autofree char *under = NULL;
	g_autoptr(GString) cell = g_string_new(NULL);
	unsigned under_at = TABLE_PAIR_AT;

	if (mh_term_width(both) <= pairw) {
		g_string_append(cell, both);
	} else if (mh_term_width(row->source) <= pairw) {
		g_string_append(cell, row->source);
		under = g_strdup_printf("-> %s", row->destination);
	} else {
		mh_live_fit(cell, row->source, pairw);
		under = g_steal_pointer(&both);
		under_at = TABLE_INDENT;
	}
	fprintf(out, "%-11s %5u  %s%*s %8" G_GUINT64_FORMAT " %8" G_GUINT64_FORMAT " %6s\n",
	        batch_status_name(row->status), row->line, cell->str,
	        (int)(pairw - mh_term_width(cell->str)), "", row->copied, row->missing, took);
	if (under != NULL)
		table_wrapped(out, under, under_at, width);
	if (reason != NULL)
		table_wrapped(out, reason, TABLE_INDENT, width);
}

/* A row when the accounts would get too narrow a column: its status and counts on one
 * line, the accounts and the reason under it. */
static void
table_row_narrow(FILE *out, const struct batch_row *row, unsigned width)
{
	g_autofree char *took = mh_live_duration(row->seconds);
	g_autofree char *reason = table_reason(row);
	g_autofree char *head = g_strdup_printf(
		"%s, line %u: %" G_GUINT64_FORMAT " copied, %" G_GUINT64_FORMAT " missing, %s",
		batch_status_name(row->status), row->line, row->copied, row->missing, took);
	g_autofree char *both = g_strdup_printf("%s -> %s", row->source, row->destination);

	table_wrapped(out, head, 0, width);
	table_wrapped(out, both, 2, width);
	if (reason != NULL)
		table_wrapped(out, reason, 2, width);
}

void
batch_print_table(FILE *out, const GPtrArray *rows, unsigned width)
{
	g_autoptr(GPtrArray) sorted = g_ptr_array_sized_new(rows->len);
	guint n[BATCH_STATUSES] = {0};
	guint64 msgs = 0, bytes = 0;
	g_autofree char *total_bytes = NULL;
	g_autofree char *totals = NULL;
	g_autofree char *copied = NULL;
	bool wide = width >= TABLE_FIXED + TABLE_MIN_PAIR;

	for (guint i = 0; i < rows->len; i++)
		g_ptr_array_add(sorted, rows->pdata[i]);
	g_ptr_array_sort(sorted, table_order);
	if (wide)
		fprintf(out, "%-11s %5s  %-*s %8s %8s %6s\n", "Status", "Line",
		        (int)(width - TABLE_FIXED), "Source -> Destination", "Copied", "Missing",
		        "Time");
	for (guint i = 0; i < sorted->len; i++) {
		const struct batch_row *row = sorted->pdata[i];

		n[row->status]++;
		msgs += row->copied;
		bytes += row->copied_bytes;
		if (wide)
			table_row_wide(out, row, width);
		else
			table_row_narrow(out, row, width);
	}
	total_bytes = mh_report_bytes(bytes);
	if (n[BATCH_INTERRUPTED] > 0)
		totals = g_strdup_printf("%u rows: %u done, %u differences, %u failed, %u "
		                         "interrupted, %u not started.",
		                         rows->len, n[BATCH_DONE], n[BATCH_DIFFERENCES],
		                         n[BATCH_FAILED], n[BATCH_INTERRUPTED],
		                         n[BATCH_NOT_STARTED] + n[BATCH_RUNNING]);
	else
		totals = g_strdup_printf("%u rows: %u done, %u differences, %u failed, %u not "
		                         "started.",
		                         rows->len, n[BATCH_DONE], n[BATCH_DIFFERENCES],
		                         n[BATCH_FAILED], n[BATCH_NOT_STARTED] + n[BATCH_RUNNING]);
	copied = g_strdup_printf("Copied: %" G_GUINT64_FORMAT " messages (%s).", msgs, total_bytes);
	table_wrapped(out, totals, 0, width);
	table_wrapped(out, copied, 0, width);
}
