/* SPDX-License-Identifier: MIT */
/* One `sync` as a unit of work: its command line parsed and checked now, run later, as
 * often as needed. `mailhaul sync` runs one; `mailhaul batch` runs one per row of its file
 * on its own threads, each with its own progress counters and its own stop flag. */
#ifndef MH_SYNC_JOB_H
#define MH_SYNC_JOB_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "sync-engine.h"

struct mh_sync_job;

/* How a job runs: everything may be zero (then as `mailhaul sync` does). */
struct mh_sync_job_io {
	volatile int *interrupted; /* stop flag set by the caller's signal handler; NULL: the
	                              job installs its own SIGINT/SIGTERM handler */
	struct mh_sync_progress *progress; /* counters the caller shows; NULL: the job shows
	                                      its own progress display on stderr */
	GMutex *progress_lock; /* held by the job while it clears progress->current (before
	                          the folder names it borrows are freed); may be NULL */
	FILE *table;           /* where the verification table goes; NULL: nowhere */
	const char *log_path;  /* the log file, said on stderr before the run; NULL: not said */
};

/* What a run did, for a summary. */
struct mh_sync_job_outcome {
	int exit_code;
	char *reason; /* owned: why it failed or what differs (the error line, a folder's
	                 first error), or NULL */
	bool has_result;
	uint64_t copied, copied_bytes, missing, extra, failed, unfinished;
};

/* Parses a `sync` (or, with @verify, `verify`) command line, argv[0] being the command's
 * name, and checks the options that need no server and no password; accounts written
 * PROVIDER:USER are resolved (config file, token source). Returns a new job, or NULL with
 * @error (exit code via cli_exit_code()). */
struct mh_sync_job *mh_sync_job_parse(int argc, char **argv, bool verify, GError **error);

/* The options of side @side (1: source, 2: destination), borrowed: a caller may give a
 * password with cli_account.given_password before running the job. */
struct cli_account *mh_sync_job_account(struct mh_sync_job *job, int side);

/* The port side @side connects to (the default one when none was given). */
unsigned mh_sync_job_port(const struct mh_sync_job *job, int side);

/* Checks both sides' account options (host, user, TLS flags, mechanism) as the run will,
 * without reading a password or connecting. */
bool mh_sync_job_check(const struct mh_sync_job *job, GError **error);

/* Runs the job once: reads the passwords, connects, syncs, writes the report; the error
 * line (if any) goes to the log as mh_log(MH_LOG_ERROR). Fills @out (free out->reason)
 * and returns the exit code (README "Exit codes"). Thread-safe for distinct jobs when
 * @io gives the stop flag and the progress counters. */
int mh_sync_job_run(struct mh_sync_job *job, const struct mh_sync_job_io *io,
                    struct mh_sync_job_outcome *out);

void mh_sync_job_free(struct mh_sync_job *job);

/* How `sync` takes the option --@name: 0 not at all, 1 as a flag, 2 with a value. */
int mh_sync_option_arity(const char *name);

/* `sync --job NAME`: a new argument vector (g_strfreev) made of argv[0], the options of
 * the config file's [job NAME] that the command line does not give, the default report
 * $XDG_STATE_HOME/mailhaul/reports/NAME.json unless the job or the command line names one,
 * then argv[1..], with its length in *argc_r. Returns NULL with @error unset when argv has
 * no --job, or NULL with @error for a config file, job or key that is wrong. */
char **mh_sync_job_args(int argc, char **argv, int *argc_r, GError **error);

/* Installs the SIGINT and SIGTERM handlers of a sync (the first signal sets the returned
 * flag, which stops a run after the messages in flight; the second exits with 130) and
 * ignores SIGPIPE. Returns the flag, for mh_sync_job_io.interrupted. */
volatile int *mh_sync_job_signals(void);

#endif
