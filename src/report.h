/* SPDX-License-Identifier: MIT */
/* What a sync or verify tells the user: the verification table on stdout, the JSON report
 * file, the progress display on stderr, and the run's log file. */
#ifndef MH_REPORT_H
#define MH_REPORT_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

#include "live-view.h"
#include "sync-engine.h"

/* Prints the per-folder table (tree order, aligned, totals last) and the verdict. */
void mh_report_print_table(FILE *out, const struct mh_sync_result *r, bool dry, bool verify);

/* One side of a run as the report names it (never a secret). */
struct mh_report_side {
	const char *user;       /* borrowed */
	const char *host;       /* borrowed */
	unsigned port;          /* the port connected to */
	const char *tls;        /* static: "implicit", "starttls", "auto" or "none" */
	const char *provider;   /* borrowed: the profile's name ("generic", "gmail", "m365") */
	bool provider_detected; /* found once connected, not named by the user */
};

/* What the report tells of a run beyond the engine's result. */
struct mh_report_run {
	const char *command; /* "sync" or "verify" */
	bool dry;
	int exit_code;
	GDateTime *start, *end; /* borrowed; local time with its offset */
	struct mh_report_side side[2];
	const struct mh_sync_options *opts; /* borrowed: the options the run was given */
	const char *gmail_labels;           /* borrowed: --gmail-labels, or NULL */
	const char *fixups;                 /* borrowed: --fixups, or NULL */
};

/* Whether @path names a report format mailhaul writes: a name ending in .json or .html
 * (any case). Otherwise a usage error (MH_CONFIG_ERROR_USAGE) naming the file. */
bool mh_report_check_path(const char *path, GError **error);

/* Writes the report of @r to @path atomically: JSON (docs/report-schema.json) or a
 * self-contained HTML page, after the file name's ending. */
bool mh_report_write(const char *path, const struct mh_sync_result *r,
                     const struct mh_report_run *run, GError **error);

/* Writes what the run did to the log (mh_log, level info): each folder's counts, every
 * skipped, failed, missing and extra message, the totals, the duration and the verdict. */
void mh_report_log(const struct mh_sync_result *r, const struct mh_report_run *run);

/* Prints the table's @rows (char *[@ncols] each, headings first) one folder after the
 * other, its counts wrapped to @width columns: the layout for a narrow terminal. */
void mh_report_print_narrow(FILE *out, GPtrArray *rows, int ncols, unsigned width);

/* The exit code a result calls for (README "Exit codes"). */
int mh_report_exit_code(const struct mh_sync_result *r);

/* Starts a thread that shows @p on stderr until mh_progress_stop(), in @mode: a line per
 * running folder worker and a totals line redrawn in place, or a plain totals line every
 * few seconds. NULL for MH_LIVE_NONE. */
struct mh_progress_display *mh_progress_start(struct mh_sync_progress *p, enum mh_live_mode mode);

void mh_progress_stop(struct mh_progress_display *d);

/* Formats a byte count for people ("1.4 MB"). Caller frees. */
char *mh_report_bytes(uint64_t bytes);

/* Sends every log message also to @path (created with its parents), with timestamps;
 * @path NULL picks $XDG_STATE_HOME/mailhaul/logs/<time>-<command>.log. A thread whose log
 * route (mh_log_set_thread_route) is a FILE * (a batch's row) logs to that file instead,
 * and never to stderr. Returns the path used (caller frees) or NULL with @error. */
char *mh_log_file_open(const char *path, const char *command, GError **error);

void mh_log_file_close(void);

#endif
