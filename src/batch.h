/* SPDX-License-Identifier: MIT */
/* `mailhaul batch`: many mailboxes from one CSV file, each row a `sync` run by a scheduler
 * in this process (docs/internals/batch.md). The pieces: the CSV reader, the rows (columns
 * to sync options, validation, names, shards), the scheduler, the live view and the final
 * table, the summary files (also merged by `mailhaul batch-report`). */
#ifndef MH_BATCH_H
#define MH_BATCH_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "live-view.h"
#include "sync-engine.h"

/* --- batch-csv.c: RFC 4180 records --- */

struct batch_record {
	guint line;        /* where the record starts, from 1 */
	GPtrArray *fields; /* owned; char * */
};

/* Splits @text into records of fields separated by @sep: fields may be quoted ("a, b",
 * "say ""hi"""), quoted fields may hold line breaks, lines end with CRLF or LF, a UTF-8
 * byte order mark is skipped, empty lines are left out. Returns a new array of struct
 * batch_record * (free with g_ptr_array_unref), or NULL with an error naming the line. */
GPtrArray *batch_csv_parse(const char *text, gsize len, char sep, GError **error);

/* Appends @s to @out as a CSV field (quoted when it holds a comma, a quote or a line
 * break). */
void batch_csv_field(GString *out, const char *s);

/* --- batch-rows.c: the rows of a batch file --- */

enum batch_status {
	BATCH_NOT_STARTED,
	BATCH_RUNNING,
	BATCH_DONE,
	BATCH_DIFFERENCES,
	BATCH_FAILED,
	BATCH_INTERRUPTED, /* stopped by Ctrl-C or SIGTERM while it ran */
};

#define BATCH_STATUSES (BATCH_INTERRUPTED + 1)

/* "not started", "running", "done", "differences", "failed", "interrupted". */
const char *batch_status_name(enum batch_status st);

/* The status named @name, or -1. */
int batch_status_parse(const char *name);

struct batch_row {
	guint line;        /* in the batch file */
	char *source;      /* owned: "user@host" of the source, for people */
	char *destination; /* owned: "user@host" of the destination */
	char *name;        /* owned: the stem of the row's files in the batch directory */
	char *key;         /* owned: the account pair, host:port:user of both sides, lower case */
	char *host[2];     /* owned: the servers' host names as written, lower case */
	char *dst_account; /* owned: the destination account's key (one writer at a time) */
	char *lock_path;   /* owned: the pair lock a single `sync` of this pair takes */
	unsigned folder_jobs; /* connection pairs the row may use */
	GPtrArray *argv;      /* owned; char *: the row's `sync` command line */
	char *password[2];    /* owned mh_secret, or NULL: passwords from the file */
	/* What happened (this run, or an earlier one as the summary says). */
	enum batch_status status;
	char *reason; /* owned, or NULL */
	int exit_code;
	uint64_t copied, copied_bytes, missing, extra, failed;
	double seconds;
	bool ran; /* in this run */
	/* While it runs (the scheduler's) */
	char *waiting; /* owned, or NULL: who holds the pair's lock while the row waits for it */
	struct mh_sync_progress progress;
	gint64 started; /* monotonic µs */
	FILE *log;
};

void batch_row_free(struct batch_row *row);

/* A NULL-terminated copy of the vector @row->argv (the strings are borrowed): GOption
 * rearranges what it parses. Free with g_free(). */
char **batch_row_argv(const struct batch_row *row);

/* What a batch's rows are made of: the file, and the options for every row. */
struct batch_input {
	const char *path;       /* the batch file */
	char **common;          /* NULL-terminated: sync options for every row */
	unsigned folder_jobs;   /* the default per row */
	unsigned max_per_host;  /* connections per server host (0: no cap) */
	const char *dir;        /* the batch directory (state, report per row) */
	unsigned shard, shards; /* this shard K of N (1-based; 0 of 0: all rows) */
};

/* Reads the batch file (CSV with a header, or imapsync's FAQ format `host1;user1;
 * password1;host2;user2;password2`, only from a file its owner alone can read), checks
 * every row as `sync` would (usage errors name the file, the line and the column) and
 * that no account pair appears twice. Returns the rows of this shard (struct batch_row *,
 * in file order; *total_r counts all rows of the file), or NULL with an error
 * (MH_CONFIG_ERROR: usage 64, unreadable file 66). */
GPtrArray *batch_rows_load(const struct batch_input *in, guint *total_r, GError **error);

/* The shard (0 .. @shards-1) of account pair @key: the first 8 bytes of its SHA-256 as a
 * big-endian number, modulo @shards. Stable across versions and machines. */
unsigned batch_shard_of(const char *key, unsigned shards);

/* --- batch-summary.c: summary.json, summary.csv --- */

struct batch_meta {
	char *file;     /* owned: the batch file as given */
	unsigned shard; /* 1-based, 0 when not sharded */
	unsigned shards;
	guint file_rows; /* rows in the whole file */
	char *started;   /* owned: ISO 8601 */
	char *finished;  /* owned: ISO 8601, or NULL while it runs */
	bool interrupted;
};

void batch_meta_clear(struct batch_meta *m);

/* Writes DIR/summary.json and DIR/summary.csv (each replaced whole). */
bool batch_summary_write(const char *dir, const struct batch_meta *m, const GPtrArray *rows,
                         GError **error);

/* Reads DIR/summary.json: its rows (struct batch_row *, with the fields a summary holds),
 * or NULL with an error; 0 rows and no error when there is no summary yet and @missing_ok. */
GPtrArray *batch_summary_read(const char *dir, struct batch_meta *m, bool missing_ok,
                              GError **error);

/* The exit code a set of rows calls for: 0 when every row is done, else 1. */
int batch_exit_code(const GPtrArray *rows);

/* --- batch-view.c: what the user sees --- */

struct batch_view;

/* Starts the live view of @rows on stderr (a thread) in @mode (--progress): bar, one line
 * per running row and a totals line, redrawn in place; plain, a totals line every 5 s and
 * one per row as it ends. @lock is held while it reads the rows. NULL for MH_LIVE_NONE. */
struct batch_view *batch_view_start(GPtrArray *rows, GMutex *lock, enum mh_live_mode mode);

/* A row waits for another run to release its pair's lock (@row->waiting says who holds
 * it): one line saying so, in every mode but none. Call with the lock held. */
void batch_view_row_waiting(struct batch_view *v, const struct batch_row *row);

/* A row ended: one line for it when stderr is not a terminal. Call with the lock held. */
void batch_view_row_done(struct batch_view *v, const struct batch_row *row);

void batch_view_stop(struct batch_view *v);

/* The width of the final table on @out: COLUMNS when it holds a number (20 or more), else
 * the terminal's width less one when @out is a terminal, else 80. */
unsigned batch_table_width(FILE *out);

/* Prints the summary table of @rows (failures first, then differences, interrupted, not
 * started, done) and the totals, no line wider than @width: a long reason is wrapped under
 * its row, never cut; under 70 columns, each row's accounts go on a line of their own. */
void batch_print_table(FILE *out, const GPtrArray *rows, unsigned width);

/* --- batch-run.c: the scheduler --- */

struct batch_plan {
	GPtrArray *rows;        /* struct batch_row *: the rows to report */
	unsigned jobs;          /* rows at once */
	unsigned max_per_host;  /* connections per server host (0: no cap) */
	bool wait_lock;         /* wait for another run's pair lock */
	bool pending;           /* run only rows not done */
	enum mh_live_mode live; /* --progress */
	const char *dir;
	struct batch_meta *meta;
};

/* Runs the rows, writing the summary as rows end and at the end. Returns the batch's exit
 * code (0, 1, or 130 when interrupted). */
int batch_run(struct batch_plan *plan);

int mh_cmd_batch(int argc, char **argv);
int mh_cmd_batch_report(int argc, char **argv);

#endif
