/* SPDX-License-Identifier: MIT */
/* The verification table, the verdict and the exit code of a sync. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report-private.h"

char *
mh_report_bytes(uint64_t bytes)
{
	return g_format_size_full(bytes, G_FORMAT_SIZE_DEFAULT);
}

static char *
report_count(uint64_t n)
{
	return g_strdup_printf("%" G_GUINT64_FORMAT, n);
}

enum {
	COL_FOLDER,
	COL_SMSG,
	COL_SSIZE,
	COL_DMSG,
	COL_DSIZE,
	COL_COPIED,
	COL_LABELLED,
	COL_FLAGS,
	COL_SKIPPED,
	COL_MISSING,
	COL_EXTRA,
	COL_DIFFERS,
	N_COLS
};

static void
report_row(GPtrArray *rows, char **cells)
{
	g_ptr_array_add(rows, g_strdupv(cells));
}

static char *
report_folder_name(const struct mh_sync_folder_result *f)
{
	GString *s = g_string_new(f->src_name);

	if (f->dst_name != NULL && strcmp(f->src_name, f->dst_name) != 0)
		g_string_append_printf(s, " -> %s", f->dst_name);
	if (f->unfinished && !f->not_reached)
		g_string_append(s, " (unfinished)");
	return g_string_free(s, false);
}

/* A row of the table; an unfinished folder's (or total's) counts are not known. */
static void
report_folder_row(GPtrArray *rows, const struct mh_sync_folder_result *f, const char *name)
{
	static const int counted_at_end[] = {COL_SMSG,    COL_SSIZE, COL_DMSG,   COL_DSIZE,
	                                     COL_MISSING, COL_EXTRA, COL_DIFFERS};
	char *cells[N_COLS + 1] = {
		g_strdup(name),
		report_count(f->src_count),
		mh_report_bytes(f->src_bytes),
		report_count(f->dst_count),
		mh_report_bytes(f->dst_bytes),
		f->unchanged ? g_strdup("unchanged") : report_count(f->copied),
		report_count(f->labelled),
		report_count(f->flag_updates),
		report_count(f->skipped->len),
		report_count(f->missing),
		report_count(f->extra),
		report_count(f->content_differs),
		NULL,
	};

	if (f->container_only || f->not_reached) {
		for (int i = 1; i < N_COLS; i++) {
			g_free(cells[i]);
			cells[i] = g_strdup(i != COL_COPIED     ? ""
			                    : f->container_only ? "container"
			                                        : "not reached");
		}
	} else if (f->listed) {
		/* --justfolders: the source's counts from the listing, nothing compared. */
		for (int i = COL_DMSG; i < N_COLS; i++) {
			g_free(cells[i]);
			cells[i] = g_strdup(i == COL_COPIED ? "not looked at" : "");
		}
		if (f->plan_bytes < 0) {
			g_free(cells[COL_SSIZE]);
			cells[COL_SSIZE] = g_strdup("");
		}
	} else if (f->unfinished) {
		for (size_t i = 0; i < G_N_ELEMENTS(counted_at_end); i++) {
			g_free(cells[counted_at_end[i]]);
			cells[counted_at_end[i]] = g_strdup("");
		}
	}
	report_row(rows, cells);
	for (int i = 0; i < N_COLS; i++)
		g_free(cells[i]);
}

/* Terminal columns taken by @s: wide (East Asian) characters take two. */
static long
report_width(const char *s)
{
	long w = 0;

	for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p))
		w += g_unichar_iswide(g_utf8_get_char(p)) ? 2 : 1;
	return w;
}

static void
report_pad(FILE *out, long n)
{
	for (; n > 0; n--)
		fputc(' ', out);
}

/* Prints @rows aligned; columns whose heading (row 0) is empty are left out. */
static void
report_print_rows(FILE *out, GPtrArray *rows, unsigned columns)
{
	long width[N_COLS] = {0};
	char **head = rows->pdata[0];

	long total = 0;

	for (guint r = 0; r < rows->len; r++) {
		char **cells = rows->pdata[r];

		for (int c = 0; c < N_COLS; c++)
			width[c] = MAX(width[c], report_width(cells[c]));
	}
	for (int c = 0; c < N_COLS; c++)
		total += c == 0 ? width[c] : *head[c] != '\0' ? 2 + width[c] : 0;
	/* A terminal narrower than the table gets the narrow layout; a file or a pipe the
	 * table, one line per folder, for scripts. */
	if (columns > 0 && total >= (long)columns) {
		mh_report_print_narrow(out, rows, N_COLS, columns - 1);
		return;
	}
	for (guint r = 0; r < rows->len; r++) {
		char **cells = rows->pdata[r];
		fputs(cells[0], out);
		report_pad(out, width[0] - report_width(cells[0]));
		for (int c = 1; c < N_COLS; c++) {
			if (*head[c] == '\0')
				continue;
			report_pad(out, 2 + width[c] - report_width(cells[c]));
			fputs(cells[c], out);
		}
		fputc('\n', out);
	}
}

void
mh_report_totals(const struct mh_sync_result *r, struct mh_sync_folder_result *t)
{
	g_autoptr(GHashTable) measured = g_hash_table_new(g_str_hash, g_str_equal);

	memset(t, 0, sizeof(*t));
	for (guint i = 0; i < r->folders->len; i++) {
		const struct mh_sync_folder_result *f = r->folders->pdata[i];

		t->src_count += f->src_count;
		t->src_bytes += f->src_bytes;
		/* Source folders merged into one destination folder measure it each. */
		if (f->dst_name == NULL || g_hash_table_add(measured, f->dst_name)) {
			t->dst_count += f->dst_count;
			t->dst_bytes += f->dst_bytes;
		}
		t->copied += f->copied;
		t->copied_bytes += f->copied_bytes;
		t->flag_updates += f->flag_updates;
		t->missing += f->missing;
		t->extra += f->extra;
		t->strays += f->strays;
		t->failed += f->failed;
		t->matched += f->matched;
		t->labelled += f->labelled;
		t->fixed_up += f->fixed_up;
		t->deleted_src += f->deleted_src;
		t->deleted_dst += f->deleted_dst;
		t->unfinished |= f->unfinished;
		t->listed |= f->listed;
		if (f->listed && f->plan_bytes < 0)
			t->plan_bytes = -1;
		t->quota |= f->quota;
		t->append_refused |= f->append_refused;
		t->dropped |= f->dropped;
		t->content_paired += f->content_paired;
		t->content_checked += f->content_checked;
		t->content_same_bytes += f->content_same_bytes;
		t->content_same_structure += f->content_same_structure;
		t->content_differs += f->content_differs;
	}
}

guint
mh_report_unfinished(const struct mh_sync_result *r)
{
	guint n = 0;

	for (guint i = 0; i < r->folders->len; i++)
		n += ((const struct mh_sync_folder_result *)r->folders->pdata[i])->unfinished;
	return n;
}

static void
report_print_verdict(FILE *out, const struct mh_sync_result *r,
                     const struct mh_sync_folder_result *t, guint skipped, bool dry)
{
	guint unfinished = mh_report_unfinished(r);

	if (t->listed) {
		fprintf(out, "Verdict: folders only (--justfolders); the messages were not "
		             "compared.\n");
		return;
	}
	if (dry)
		fprintf(out,
		        "Dry run: nothing was changed. %" G_GUINT64_FORMAT
		        " messages would be copied, %" G_GUINT64_FORMAT " flag updates made.\n",
		        t->copied, t->flag_updates);
	if (r->interrupted)
		fprintf(out, "Interrupted: run the same command again to finish; nothing is "
		             "copied twice.\n");
	if (t->deleted_dst > 0 || t->deleted_src > 0)
		fprintf(out,
		        "Deleted: %" G_GUINT64_FORMAT " on the destination, %" G_GUINT64_FORMAT
		        " on the source%s.\n",
		        t->deleted_dst, t->deleted_src, dry ? " (would be)" : "");
	if (skipped > 0)
		fprintf(out, "Skipped on purpose: %u messages (see the log or the report).\n",
		        skipped);
	if (t->strays > 0)
		fprintf(out,
		        "Not on the source: %" G_GUINT64_FORMAT
		        " destination messages (its own mail "
		        "or another source's: no difference; named in the report, --delete2 removes "
		        "them).\n",
		        t->strays);
	if (t->labelled > 0)
		fprintf(out,
		        "Gmail labels: %" G_GUINT64_FORMAT " folder entries are further labels of "
		        "messages copied once, under their first label (--gmail-labels).\n",
		        t->labelled);
	if (t->fixed_up > 0)
		fprintf(out,
		        "Fix-ups: %" G_GUINT64_FORMAT " messages were adapted for the destination "
		        "(see the log; --fixups).\n",
		        t->fixed_up);
	if (unfinished > 0 && t->missing > 0)
		fprintf(out,
		        "Verdict: NOT OK, %u folder(s) unfinished and %" G_GUINT64_FORMAT
		        " source messages missing on the destination; run the same command "
		        "again to finish.\n",
		        unfinished, t->missing);
	else if (unfinished > 0)
		fprintf(out,
		        "Verdict: NOT OK, %u folder(s) unfinished; run the same command again to "
		        "finish.\n",
		        unfinished);
	else if (t->missing == 0 && t->failed == 0 && t->extra == 0 && t->content_differs > 0)
		fprintf(out,
		        "Verdict: NOT OK, %" G_GUINT64_FORMAT " messages differ in content between "
		        "the source and the destination (listed above and in the report).\n",
		        t->content_differs);
	else if (t->missing == 0 && t->failed == 0 && t->extra == 0 && r->content)
		fprintf(out,
		        "Verdict: OK, all %" G_GUINT64_FORMAT " source messages are on the "
		        "destination, and the %" G_GUINT64_FORMAT " compared have the same "
		        "content.\n",
		        t->src_count - skipped, t->content_checked);
	else if (t->missing == 0 && t->failed == 0 && t->extra == 0)
		fprintf(out,
		        "Verdict: OK, all %" G_GUINT64_FORMAT " source messages are on the "
		        "destination.\n",
		        t->src_count - skipped);
	else if (t->missing == 0 && t->extra == 0)
		fprintf(out,
		        "Verdict: NOT OK, %" G_GUINT64_FORMAT " source messages failed or were "
		        "refused (see the errors above and the report); every other source message "
		        "is on the destination.\n",
		        t->failed);
	else if (t->missing == 0 && t->failed == 0)
		fprintf(out,
		        "Verdict: NOT OK, %" G_GUINT64_FORMAT " destination messages are "
		        "duplicates (named in the report; --delete2duplicates removes them).\n",
		        t->extra);
	else
		fprintf(out,
		        "Verdict: NOT OK, %" G_GUINT64_FORMAT " source messages are missing "
		        "on the destination%s%s.\n",
		        t->missing, t->failed > 0 ? " (some failed: see the errors above)" : "",
		        t->extra > 0 ? ", and some destination messages are duplicates" : "");
}

/* verify --content: what was compared, how, and each difference. */
static void
report_print_content(FILE *out, const struct mh_sync_result *r,
                     const struct mh_sync_folder_result *t)
{
	for (guint i = 0; i < r->folders->len; i++) {
		const struct mh_sync_folder_result *f = r->folders->pdata[i];

		for (guint j = 0; f->content_diffs != NULL && j < f->content_diffs->len; j++) {
			const struct mh_sync_content_diff *d = f->content_diffs->pdata[j];

			fprintf(out,
			        "Differs: %s UID %u, %s UID %u: Message-ID %s, Date %s, Subject %s\n",
			        f->src_name, d->src_uid, f->dst_name != NULL ? f->dst_name : "",
			        d->dst_uid, d->message_id != NULL ? d->message_id : "(none)",
			        d->date != NULL ? d->date : "(none)",
			        d->subject != NULL ? d->subject : "(none)");
			for (guint k = 0; k < d->what->len; k++)
				fprintf(out, "  - %s\n", (const char *)d->what->pdata[k]);
		}
	}
	fprintf(out,
	        "Content: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
	        " message pairs compared: %" G_GUINT64_FORMAT " the same bytes, %" G_GUINT64_FORMAT
	        " the same MIME structure and contents, %" G_GUINT64_FORMAT " different.\n",
	        t->content_checked, t->content_paired, t->content_same_bytes,
	        t->content_same_structure, t->content_differs);
	if (r->content_sample > 0 || r->content_percent > 0) {
		g_autofree char *size = r->content_sample > 0
		                                ? g_strdup_printf("%u", r->content_sample)
		                                : g_strdup_printf("%g%%", r->content_percent);

		fprintf(out,
		        "Sample: %s of the pairs per folder, seed %" G_GUINT64_FORMAT
		        " (--seed %" G_GUINT64_FORMAT " picks the same messages again).\n",
		        size, r->content_seed, r->content_seed);
	}
}

/* How long the run took, from the first connection to the last answer. */
static void
report_print_time(FILE *out, const struct mh_sync_result *r)
{
	guint64 s = (guint64)(r->seconds + 0.5);

	if (r->seconds < 60)
		fprintf(out, "Time: %.1f s.\n", r->seconds);
	else
		fprintf(out, "Time: %" G_GUINT64_FORMAT " min %02" G_GUINT64_FORMAT " s.\n", s / 60,
		        s % 60);
}

static void
report_print_table(FILE *out, const struct mh_sync_result *r, bool dry, bool verify,
                   unsigned columns)
{
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	struct mh_sync_folder_result t;
	char *head[N_COLS + 1] = {"Folder",   "Src msgs",
	                          "Src size", "Dst msgs",
	                          "Dst size", verify ? "" : (dry ? "To copy" : "Copied"),
	                          "",         verify ? "" : "Flags",
	                          "Skipped",  "Missing",
	                          "Extra",    "",
	                          NULL};
	guint skipped = 0;

	mh_report_totals(r, &t);
	if (t.labelled > 0 && !verify)
		head[COL_LABELLED] = "Labelled";
	if (r->content)
		head[COL_DIFFERS] = "Differs";
	report_row(rows, head);
	for (guint i = 0; i < r->folders->len; i++) {
		const struct mh_sync_folder_result *f = r->folders->pdata[i];

		g_autofree char *name = report_folder_name(f);

		report_folder_row(rows, f, name);
		skipped += f->skipped->len;
	}
	mh_report_totals(r, &t);
	t.skipped = g_ptr_array_new();
	g_ptr_array_set_size(t.skipped, skipped);
	report_folder_row(rows, &t, "Total");
	g_ptr_array_free(t.skipped, true);
	report_print_rows(out, rows, columns);
	for (guint i = 0; i < r->folders->len; i++) {
		const struct mh_sync_folder_result *f = r->folders->pdata[i];

		for (guint j = 0; j < f->errors->len; j++)
			fprintf(out, "Error: %s: %s\n", f->src_name, (char *)f->errors->pdata[j]);
	}
	if (r->content)
		report_print_content(out, r, &t);
	report_print_verdict(out, r, &t, skipped, dry);
	report_print_time(out, r);
}

void
mh_report_print_table(FILE *out, const struct mh_sync_result *r, bool dry, bool verify)
{
	unsigned columns = mh_term_columns(fileno(out));
	g_autoptr(GString) wrapped = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;

	if (columns == 0) {
		report_print_table(out, r, dry, verify, 0);
		return;
	}
	/* On a terminal, the sentences below the table are wrapped to its width too. */
	mem = open_memstream(&text, &len);
	if (mem == NULL) {
		report_print_table(out, r, dry, verify, columns);
		return;
	}
	report_print_table(mem, r, dry, verify, columns);
	fclose(mem);
	wrapped = g_string_sized_new(len);
	mh_term_wrap(wrapped, text, columns - 1);
	fputs(wrapped->str, out);
	free(text);
}

int
mh_report_exit_code(const struct mh_sync_result *r)
{
	struct mh_sync_folder_result t;

	mh_report_totals(r, &t);
	if (r->interrupted)
		return MH_EXIT_INTERRUPTED;
	if (t.quota)
		return MH_EXIT_QUOTA;
	if (t.append_refused)
		return MH_EXIT_APPEND;
	if (t.failed > 0)
		return MH_EXIT_MESSAGES;
	if (t.dropped)
		return MH_EXIT_CONNECT; /* connections kept dropping: a rerun resumes */
	if (t.missing > 0 || t.extra > 0 || t.content_differs > 0 || t.unfinished)
		return MH_EXIT_FAILURE; /* also with --dry: differences remain */
	return MH_EXIT_OK;
}

char **
mh_report_summary_lines(const struct mh_sync_result *r, bool dry)
{
	struct mh_sync_folder_result t;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	guint skipped = 0;
	char **lines;

	g_assert(out != NULL);
	mh_report_totals(r, &t);
	for (guint i = 0; i < r->folders->len; i++)
		skipped +=
			((const struct mh_sync_folder_result *)r->folders->pdata[i])->skipped->len;
	report_print_verdict(out, r, &t, skipped, dry);
	fclose(out);
	g_strchomp(text);
	lines = g_strsplit(text, "\n", -1);
	free(text);
	return lines;
}
