/* SPDX-License-Identifier: MIT */
/* `mailhaul sync` and `verify`: the parsed command line and the connection settings of the
 * two sides, shared by the command (cmd-sync.c) and its option tables (cmd-sync-options.c). */
#ifndef MH_CMD_SYNC_PRIVATE_H
#define MH_CMD_SYNC_PRIVATE_H

#include "cli-imapsync.h"
#include "cli.h"
#include "live-view.h"
#include "sync-engine.h"

struct sync_cli {
	struct cli_account a[2];
	gboolean dry, justfolders, justlogin, delete1, delete2, delete2folders, delete2duplicates;
	gboolean automap, noautomap, subscribeall, quiet, noauthmd5;
	gboolean compress, nocompress, wait_lock;
	char **folder, **include, **exclude, **regextrans2;
	gint64 maxsize, minsize;
	int maxage, minage, jobs;
	int split_min; /* --split-min, hidden: for tests only (see its entry) */
	char **report;
	char *search, *log, *state, *debug;
	char *config, *token_store, *account1, *account2;
	char *job;      /* --job: its options were put into the command line (cmd-sync-job.c) */
	char *progress; /* --progress: bar, plain or none */
	enum mh_live_mode live;
	/* providers */
	char *provider1, *provider2, *gmail_labels, *fixups;
	gboolean gmail1, gmail2, office1, office2, include_spam, include_trash;
	double pace;
	gint64 max_upload, max_download;
	int max_backoff;
	int max_outage;
	gint64 min_rate;
	int rate_window;
	int budget_window;
	/* verify --content */
	gboolean content;
	char *sample;
	gint64 seed;
	unsigned content_sample;
	double content_percent;
	struct cli_imapsync imapsync; /* imapsync's spellings (cli-imapsync.c) */
};

struct sides {
	struct mh_imap_settings set[2];
	struct mh_imap_credentials cred[2];
	char *password[2];                     /* mh_secret buffers */
	struct mh_token_source *tokens[2];     /* borrowed: OAuth2 sides */
	const struct mh_provider *detected[2]; /* borrowed: profiles detected once connected */
};

/* The option tables of `sync` (or, with @verify, `verify`: without the copying options),
 * imapsync's spellings included, filling @o. */
GOptionContext *cmd_sync_context(struct sync_cli *o, bool verify);

/* Checks the parsed options together, and that the output files can be written; sets
 * @error (a usage error) on the first problem. */
bool cmd_sync_check_options(struct sync_cli *o, GError **error);

/* The engine's options from @o; @so borrows @o's strings and @state_path, and gets the
 * run's stop flag @interrupted. Clear with cmd_sync_options_clear(). */
void cmd_sync_fill_options(struct sync_cli *o, bool verify, char *state_path,
                           volatile int *interrupted, struct mh_sync_options *so);

void cmd_sync_options_clear(struct mh_sync_options *so);

#endif
