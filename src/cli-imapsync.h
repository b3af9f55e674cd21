/* SPDX-License-Identifier: MIT */
/* imapsync's options that mailhaul spells its own way: each is mapped onto a sync option,
 * accepted with no effect (logged, with the reason), or refused with the reason and what
 * to use instead. docs/imapsync.md is the table of all of them. */
#ifndef MH_CLI_IMAPSYNC_H
#define MH_CLI_IMAPSYNC_H

#include <glib.h>
#include <stdbool.h>

#include "cli.h"
#include "sync-engine.h"

/* The sync options the mapped ones write to (all borrowed from the sync command). */
struct cli_imapsync_targets {
	struct cli_account *acct[2];
	gboolean *gmail[2], *office[2];
	char **provider[2];
	char **search, **fixups, **debug, **log;
	char ***include, ***regextrans2;
	double *pace;
	int *jobs;
};

struct cli_imapsync {
	struct cli_imapsync_targets t;
	gboolean nossl[2], exchange[2], authmd5[2], debugimap[3];
	gboolean nolog, pidfilelocking, disarmreadreceipts, justfoldersizes, subscribed;
	gboolean subscribe, debugflags, expunge1, noexpunge1;
	char *logfile, *logdir, *pidfile, *search1, *search2, *subfolder2, *subfolder1;
	char **folderrec, **folderfirst, **folderlast, **f1f2, **regexflag;
	double maxmessagespersecond;
	gint64 exitwhenover, errorsmax, maxbytespersecond, maxbytesafter;
	GPtrArray *no_effect;  /* char *: "--NAME: why", for the log */
	char *pidfile_written; /* owned: the pid file this process wrote */
};

/* Adds imapsync's options to @ctx, as a group "imapsync" (mapped ones described, the
 * others hidden: see docs/imapsync.md). @c->t must be filled first. */
void cli_imapsync_add_group(GOptionContext *ctx, struct cli_imapsync *c);

/* Rewrites imapsync spellings GOption cannot take as they are (--debug without a
 * category) in @argv, in place (the strings are borrowed, the array is @argv's). */
void cli_imapsync_rewrite_argv(int argc, char **argv);

/* After parsing: maps the options onto the sync's (see the targets); @verify_r is set
 * for --justfoldersizes. Fails with a usage error on a bad value. */
bool cli_imapsync_apply(struct cli_imapsync *c, bool *verify_r, GError **error);

/* Fills the engine options the mapped options need (folder order, flag rules...). */
bool cli_imapsync_fill(const struct cli_imapsync *c, struct mh_sync_options *so, GError **error);

/* Frees what cli_imapsync_fill() allocated in @so. */
void cli_imapsync_fill_clear(struct mh_sync_options *so);

/* Logs a line for each option given that has no effect in mailhaul. */
void cli_imapsync_log_no_effect(const struct cli_imapsync *c);

/* Whether no log file is wanted (--nolog); *path_r: the log file --logdir and --logfile
 * name (a new string), or NULL for the default. */
bool cli_imapsync_log_path(const struct cli_imapsync *c, char **path_r, GError **error);

/* --pidfile and --pidfilelocking: writes this process's id; with locking, a pid file
 * naming a running process is an error (exit 75). */
bool cli_imapsync_pidfile_start(struct cli_imapsync *c, GError **error);

/* Removes the pid file written by cli_imapsync_pidfile_start(). */
void cli_imapsync_pidfile_end(struct cli_imapsync *c);

/* --exitwhenover: a watcher that sets *@stop once @p->bytes_done reaches the limit;
 * NULL when the option was not given. */
struct cli_imapsync_watch *cli_imapsync_watch_start(const struct cli_imapsync *c,
                                                    const struct mh_sync_progress *p,
                                                    volatile int *stop);

/* Stops the watcher; returns whether it stopped the run. NULL is allowed. */
bool cli_imapsync_watch_end(struct cli_imapsync_watch *w);

void cli_imapsync_clear(struct cli_imapsync *c);

#endif
