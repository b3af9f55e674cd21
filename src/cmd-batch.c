/* SPDX-License-Identifier: MIT */
/* `mailhaul batch FILE [options]` and `mailhaul batch-report DIR...`: the command lines,
 * the batch directory, resuming (--pending) and sharding (--shard K/N), then the
 * scheduler (batch-run.c). */
#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "cli.h"
#include "mh-log.h"
#include "report.h"

#define BATCH_JOBS_DEFAULT        4
#define BATCH_FOLDER_JOBS_DEFAULT 2

struct batch_cli {
	const char *file;
	unsigned jobs, folder_jobs, max_per_host, shard, shards;
	char *dir; /* owned */
	bool pending, quiet, wait_lock;
	const char *debug;
	const char *progress; /* --progress: auto, bar, plain or none */
	enum mh_live_mode live;
	GPtrArray *common; /* char * (borrowed from argv), NULL-terminated at the end */
};

static const char batch_help[] =
	"Usage: mailhaul batch FILE [OPTIONS] [SYNC OPTIONS]\n\n"
	"Migrates every mailbox listed in FILE: a CSV file with a header line (columns\n"
	"source,destination or host1,user1,host2,user2 with passfile1,passfile2, optional\n"
	"port1,port2, and any sync option as a column for that row only), or imapsync's\n"
	"host1;user1;password1;host2;user2;password2 lines in a file only its owner can read.\n"
	"Sync options given here apply to every row (see `mailhaul sync --help`).\n\n"
	"Options:\n"
	"  --jobs N                      mailboxes at once (default 4)\n"
	"  --folder-jobs N               connection pairs per mailbox: sync's --jobs (default 2)\n"
	"  --max-connections-per-host N  connections per server host across all rows\n"
	"  --dir DIR                     per-row state, log and report, and the summary\n"
	"                                (default ./mailhaul-batch-NAME/)\n"
	"  --pending                     run only rows not yet done (per DIR/summary.json)\n"
	"  --shard K/N                   run only this shard's rows (stable hash of the pair)\n"
	"  --wait-lock                   wait for another run of a row's pair instead of\n"
	"                                failing that row\n"
	"  --progress MODE               the live view on stderr: auto (bar on a\n"
	"                                terminal, plain elsewhere; the default), bar\n"
	"                                (a line per running mailbox and the totals,\n"
	"                                redrawn in place), plain (a totals line every\n"
	"                                5 s and a line per row as it ends: for logs,\n"
	"                                tmux too) or none\n"
	"  -q, --quiet                   no live view (--progress=none) and no line\n"
	"                                naming the batch directory\n\n"
	"The final table on stdout is as wide as COLUMNS says, else as the terminal,\n"
	"else 80 columns; a long reason is wrapped under its row, never cut.\n\n"
	"Exit codes: 0 every row done, 1 some rows have differences or failed (listed),\n"
	"64 usage (also: a bad row, naming its line and column), 66 unreadable file,\n"
	"73 the batch directory cannot be written, 130 interrupted (rerun to finish).\n";

/* Whether argv[*i] is option @name; its value (from "--name=V" or the next argument) in
 * *value_r when @value_r is not NULL. */
static int
batch_opt(int argc, char **argv, int *i, const char *name, const char **value_r, GError **error)
{
	const char *arg = argv[*i];
	size_t n = strlen(name);

	if (strncmp(arg, name, n) != 0 || (arg[n] != '\0' && arg[n] != '='))
		return 0;
	if (value_r == NULL)
		return arg[n] == '\0' ? 1 : (cli_usage(error, "%s takes no value", name), -1);
	if (arg[n] == '=') {
		*value_r = arg + n + 1;
		return 1;
	}
	if (*i + 1 >= argc)
		return cli_usage(error, "%s needs a value", name), -1;
	*value_r = argv[++*i];
	return 1;
}

static bool
batch_number(const char *name, const char *value, unsigned min, unsigned max, unsigned *n_r,
             GError **error)
{
	char *end = NULL;
	guint64 n = g_ascii_strtoull(value, &end, 10);

	if (*value == '\0' || *end != '\0' || n < min || n > max)
		return cli_usage(error, "%s must be a number from %u to %u", name, min, max);
	*n_r = (unsigned)n;
	return true;
}

static bool
batch_shard(const char *value, struct batch_cli *o, GError **error)
{
	g_auto(GStrv) parts = g_strsplit(value, "/", 2);

	if (g_strv_length(parts) != 2 ||
	    !batch_number("--shard K", parts[0], 1, 100000, &o->shard, NULL) ||
	    !batch_number("--shard N", parts[1], 1, 100000, &o->shards, NULL) ||
	    o->shard > o->shards)
		return cli_usage(error, "--shard '%s': say K/N with 1 <= K <= N (e.g. 2/3)", value);
	return true;
}

/* One argument after FILE: a batch option, or a sync option for every row. */
static int
batch_arg(int argc, char **argv, int *i, struct batch_cli *o, GError **error)
{
	static const char *const per_row[] = {"--log", "--report", "--state", "--account1",
	                                      "--account2"};
	const char *v = NULL;
	int r;

	if ((r = batch_opt(argc, argv, i, "--jobs", &v, error)) != 0)
		return r < 0 ? -1 : batch_number("--jobs", v, 1, 1000, &o->jobs, error) ? 1 : -1;
	if ((r = batch_opt(argc, argv, i, "--folder-jobs", &v, error)) != 0)
		return r < 0                                                             ? -1
		       : batch_number("--folder-jobs", v, 1, 64, &o->folder_jobs, error) ? 1
		                                                                         : -1;
	if ((r = batch_opt(argc, argv, i, "--max-connections-per-host", &v, error)) != 0)
		return r < 0 ? -1
		       : batch_number("--max-connections-per-host", v, 1, 100000, &o->max_per_host,
		                      error)
		               ? 1
		               : -1;
	if ((r = batch_opt(argc, argv, i, "--shard", &v, error)) != 0)
		return r < 0 ? -1 : batch_shard(v, o, error) ? 1 : -1;
	if ((r = batch_opt(argc, argv, i, "--dir", &v, error)) != 0) {
		if (r > 0)
			o->dir = g_strdup(v);
		return r;
	}
	if ((r = batch_opt(argc, argv, i, "--debug", &o->debug, error)) != 0)
		return r;
	if ((r = batch_opt(argc, argv, i, "--progress", &o->progress, error)) != 0)
		return r;
	if ((r = batch_opt(argc, argv, i, "--pending", NULL, error)) != 0)
		return o->pending = r > 0, r;
	if (strcmp(argv[*i], "-q") == 0 || strcmp(argv[*i], "--quiet") == 0)
		return o->quiet = true, 1;
	for (size_t k = 0; k < G_N_ELEMENTS(per_row); k++) {
		if (batch_opt(argc, argv, i, per_row[k], &v, NULL) != 0)
			return cli_usage(
				       error,
				       "%s is per row in a batch: the batch directory (--dir) holds "
				       "each row's log, report and state%s",
				       per_row[k],
				       k >= 3 ? "; accounts are the file's source and destination "
						"columns"
					      : ""),
			       -1;
	}
	if (batch_opt(argc, argv, i, "--job", &v, NULL) != 0)
		return cli_usage(error, "--job names a job of `mailhaul sync`; a batch takes its "
		                        "rows from FILE"),
		       -1;
	if (strcmp(argv[*i], "--wait-lock") == 0)
		o->wait_lock = true;
	return 0;
}

static bool
batch_parse(int argc, char **argv, struct batch_cli *o, GError **error)
{
	if (argc < 2)
		return cli_usage(error, "give the batch file: mailhaul batch FILE [options]");
	o->file = argv[1];
	if (o->file[0] == '-')
		return cli_usage(error,
		                 "'%s': give the batch file first: mailhaul batch FILE [options]",
		                 o->file);
	o->common = g_ptr_array_new();
	for (int i = 2; i < argc; i++) {
		int r = batch_arg(argc, argv, &i, o, error);

		if (r < 0)
			return false;
		if (r > 0)
			continue;
		g_ptr_array_add(o->common, argv[i]);
	}
	g_ptr_array_add(o->common, NULL);
	if (o->dir == NULL) {
		g_autofree char *base = g_path_get_basename(o->file);
		char *dot = strrchr(base, '.');

		if (dot != NULL && dot != base)
			*dot = '\0';
		o->dir = o->shards > 0 ? g_strdup_printf("mailhaul-batch-%s-shard-%u-of-%u", base,
		                                         o->shard, o->shards)
		                       : g_strdup_printf("mailhaul-batch-%s", base);
	}
	return mh_live_mode_parse(o->progress, o->quiet, &o->live, error) &&
	       cli_set_debug(o->debug, error);
}

/* Creates the batch directory (not its parents: a typo should not make a tree). */
static bool
batch_make_dir(const char *dir, GError **error)
{
	if (g_mkdir(dir, 0700) == 0 || (errno == EEXIST && g_file_test(dir, G_FILE_TEST_IS_DIR)))
		return true;
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
	            "cannot create the batch directory %s: %s", dir, g_strerror(errno));
	return false;
}

/* Opens DIR/batch.log: the batch's own messages; each row logs to its own file. */
static char *
batch_log_open(const char *dir, GError **error)
{
	g_autofree char *path = g_build_filename(dir, "batch.log", NULL);

	return mh_log_file_open(path, "batch", error);
}

/* With --pending, rows the last run finished OK keep that outcome and are not run. */
static bool
batch_carry_over(struct batch_cli *o, GPtrArray *rows, GError **error)
{
	struct batch_meta old = {0};
	g_autoptr(GPtrArray) before = NULL;
	g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash, g_str_equal);
	guint kept = 0;

	if (!o->pending)
		return true;
	before = batch_summary_read(o->dir, &old, true, error);
	batch_meta_clear(&old);
	if (before == NULL)
		return false;
	for (guint i = 0; i < before->len; i++) {
		struct batch_row *b = before->pdata[i];

		g_hash_table_insert(by_name, b->name, b);
	}
	for (guint i = 0; i < rows->len; i++) {
		struct batch_row *row = rows->pdata[i];
		struct batch_row *b = g_hash_table_lookup(by_name, row->name);

		if (b == NULL || b->status != BATCH_DONE)
			continue;
		row->status = BATCH_DONE;
		row->exit_code = b->exit_code;
		row->copied = b->copied;
		row->copied_bytes = b->copied_bytes;
		row->seconds = b->seconds;
		kept++;
	}
	mh_log(MH_LOG_INFO, "--pending: %u of %u rows were done before and are not run", kept,
	       rows->len);
	return true;
}

int
mh_cmd_batch(int argc, char **argv)
{
	struct batch_cli o = {.jobs = BATCH_JOBS_DEFAULT, .folder_jobs = BATCH_FOLDER_JOBS_DEFAULT};
	struct batch_meta meta = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) rows = NULL;
	struct batch_input in;
	struct batch_plan plan;
	g_autofree char *log_path = NULL;
	int rc = MH_EXIT_OK;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(batch_help, stdout);
		return MH_EXIT_OK;
	}
	if (!batch_parse(argc, argv, &o, &error) || !batch_make_dir(o.dir, &error) ||
	    (log_path = batch_log_open(o.dir, &error)) == NULL)
		goto out;
	in = (struct batch_input){.path = o.file,
	                          .common = (char **)o.common->pdata,
	                          .folder_jobs = o.folder_jobs,
	                          .max_per_host = o.max_per_host,
	                          .dir = o.dir,
	                          .shard = o.shard,
	                          .shards = o.shards};
	rows = batch_rows_load(&in, &meta.file_rows, &error);
	if (rows == NULL || !batch_carry_over(&o, rows, &error))
		goto out;
	meta.file = g_strdup(o.file);
	meta.shard = o.shard;
	meta.shards = o.shards;
	if (!o.quiet)
		fprintf(stderr, "mailhaul: batch directory: %s (%u rows%s)\n", o.dir, rows->len,
		        o.shards > 0 ? " in this shard" : "");
	plan = (struct batch_plan){.rows = rows,
	                           .jobs = o.jobs,
	                           .max_per_host = o.max_per_host,
	                           .wait_lock = o.wait_lock,
	                           .pending = o.pending,
	                           .live = o.live,
	                           .dir = o.dir,
	                           .meta = &meta};
	rc = batch_run(&plan);
	mh_log(MH_LOG_INFO, "exit code %d", rc);
out:
	rc = cli_finish(error, rc);
	if (log_path != NULL)
		mh_log_file_close();
	batch_meta_clear(&meta);
	if (o.common != NULL)
		g_ptr_array_unref(o.common);
	g_free(o.dir);
	return rc;
}

/* --- batch-report --- */

static gint
report_by_line(gconstpointer a, gconstpointer b)
{
	const struct batch_row *x = *(const struct batch_row *const *)a;
	const struct batch_row *y = *(const struct batch_row *const *)b;

	return x->line < y->line ? -1 : x->line > y->line;
}

/* Adds the rows of the summary in @dir to @all (a row already there is kept, with a
 * warning) and notes its shard in @shards. */
static bool
report_add(const char *dir, GPtrArray *all, GHashTable *names, struct batch_meta *merged,
           GHashTable *shards, GError **error)
{
	struct batch_meta m = {0};
	GPtrArray *rows = batch_summary_read(dir, &m, false, error);

	if (rows == NULL)
		return false;
	if (merged->file == NULL) {
		merged->file = g_strdup(m.file);
		merged->shards = m.shards;
		merged->file_rows = m.file_rows;
		merged->started = g_strdup(m.started);
	}
	if (m.shards > 0 && m.shards != merged->shards)
		mh_log(MH_LOG_WARN, "%s is shard %u of %u, the first directory of %u shards", dir,
		       m.shard, m.shards, merged->shards);
	if (m.shard > 0 && !g_hash_table_add(shards, GUINT_TO_POINTER(m.shard)))
		mh_log(MH_LOG_WARN, "shard %u is given twice (again in %s)", m.shard, dir);
	if (m.finished == NULL)
		mh_log(MH_LOG_WARN, "%s: that batch has not finished (or was killed)", dir);
	merged->interrupted |= m.interrupted || m.finished == NULL;
	while (rows->len > 0) {
		struct batch_row *row = g_ptr_array_steal_index(rows, 0);

		if (!g_hash_table_add(names, row->name)) {
			mh_log(MH_LOG_WARN,
			       "%s: line %u (%s) is in another directory too: kept once", dir,
			       row->line, row->source);
			batch_row_free(row);
			continue;
		}
		g_ptr_array_add(all, row);
	}
	g_ptr_array_unref(rows);
	batch_meta_clear(&m);
	return true;
}

int
mh_cmd_batch_report(int argc, char **argv)
{
	g_autofree char *output = NULL;
	g_auto(GStrv) dirs = NULL;
	const GOptionEntry entries[] = {
		{"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
	         "Write the merged summary.json and summary.csv into DIR (default "
	         "./mailhaul-batch-report)",
	         "DIR"},
		{G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &dirs, NULL, NULL},
		{NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("DIR...");
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func((GDestroyNotify)batch_row_free);
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) shards = g_hash_table_new(NULL, NULL);
	struct batch_meta merged = {0};
	int rc = MH_EXIT_OK;

	g_option_context_set_summary(ctx, "Merges the summaries of batch directories (the shards "
	                                  "of one batch file) into one: JSON, CSV and the table.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		goto out;
	if (dirs == NULL) {
		cli_usage(&error, "give the batch directories to merge");
		goto out;
	}
	for (size_t i = 0; dirs[i] != NULL; i++) {
		if (!report_add(dirs[i], all, names, &merged, shards, &error))
			goto out;
	}
	for (unsigned k = 1; k <= merged.shards; k++) {
		if (!g_hash_table_contains(shards, GUINT_TO_POINTER(k)))
			mh_log(MH_LOG_WARN,
			       "shard %u of %u is missing: its rows are not in the report", k,
			       merged.shards);
	}
	g_ptr_array_sort(all, report_by_line);
	merged.shards = 0; /* the merged summary is the whole file's */
	merged.finished = merged.interrupted ? NULL : g_strdup(merged.started);
	if (output == NULL)
		output = g_strdup("mailhaul-batch-report");
	if (!batch_make_dir(output, &error) || !batch_summary_write(output, &merged, all, &error))
		goto out;
	batch_print_table(stdout, all, batch_table_width(stdout));
	rc = batch_exit_code(all);
	if (all->len < merged.file_rows)
		rc = MH_EXIT_FAILURE;
out:
	batch_meta_clear(&merged);
	return cli_finish(error, rc);
}
