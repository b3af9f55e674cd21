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

/* Prints the table's @rows (char *[@ncols] each, headings first) one folder after the
 * other, its counts wrapped to @width columns: the layout for a narrow terminal. */
void mh_report_print_narrow(FILE *out, GPtrArray *rows, int ncols, unsigned width);

/* Writes the JSON report to @path atomically. */
bool mh_report_write_json(const char *path, const struct mh_sync_result *r, const char *command,
                          bool dry, int exit_code, GError **error);

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
