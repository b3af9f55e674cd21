/* SPDX-License-Identifier: MIT */
/* The option tables of `mailhaul sync` and `mailhaul verify`, grouped as the help shows
 * them, the checks of the options together, and the engine's options made from them. */
#include <string.h>

#include "cmd-sync-private.h"
#include "config.h"
#include "mh-file.h"
#include "report.h"
#include "sync-help.h"

/* Options only a copying run has (not `verify`). */
static const char *const sync_copy_only[] = {
	"dry",
	"justfolders",
	"justlogin",
	"delete2",
	"delete1",
	"delete2duplicates",
	"delete2folders",
	"maxsize",
	"minsize",
	"maxage",
	"minage",
	"search",

	"subscribeall",
	"subscribe_all",
	"fixups",
	"pace",
	"max-upload-per-day",
	"max-download-per-day",
	"budget-window",
	"max-backoff",
	"max-outage",
	"min-rate",
	"rate-window",
	"wait-lock",
	"state",
	NULL,
};

/* A new group of the context's options, shown under @title in the help. */
static GOptionGroup *
sync_group(GOptionContext *ctx, const char *name, const char *title)
{
	GOptionGroup *g = g_option_group_new(name, title, title, NULL, NULL);

	g_option_context_add_group(ctx, g);
	return g;
}

/* Adds @entries (NULL-terminated) to @g; for `verify`, without the copying options. */
static void
sync_group_add(GOptionGroup *g, const GOptionEntry *entries, bool verify)
{
	g_autoptr(GArray) keep = g_array_new(true, true, sizeof(GOptionEntry));

	for (size_t i = 0; entries[i].long_name != NULL; i++) {
		if (verify && g_strv_contains(sync_copy_only, entries[i].long_name))
			continue;
		g_array_append_val(keep, entries[i]);
	}
	g_option_group_add_entries(g, (const GOptionEntry *)(void *)keep->data);
}

/* imapsync's spellings, mapped onto these options. */
static void
sync_imapsync_group(GOptionContext *ctx, struct sync_cli *o)
{
	o->imapsync.t = (struct cli_imapsync_targets){
		.acct = {&o->a[0], &o->a[1]},
		.gmail = {&o->gmail1, &o->gmail2},
		.office = {&o->office1, &o->office2},
		.provider = {&o->provider1, &o->provider2},
		.search = &o->search,
		.fixups = &o->fixups,
		.debug = &o->debug,
		.log = &o->log,
		.include = &o->include,
		.regextrans2 = &o->regextrans2,
		.pace = &o->pace,
		.jobs = &o->jobs,
	};
	cli_imapsync_add_group(ctx, &o->imapsync);
}

GOptionContext *
cmd_sync_context(struct sync_cli *o, bool verify)
{
	GOptionContext *ctx = g_option_context_new("SOURCE DEST");
	GOptionGroup *g;
	const GOptionEntry accounts[] = {
		{"account1", 0, 0, G_OPTION_ARG_STRING, &o->account1,
	         "The source as PROVIDER:USER (or give it as the first argument)", "ACCOUNT"},
		{"account2", 0, 0, G_OPTION_ARG_STRING, &o->account2,
	         "The destination as PROVIDER:USER (or the second argument)", "ACCOUNT"},
		{"config", 0, 0, G_OPTION_ARG_FILENAME, &o->config,
	         "The config file (for accounts written PROVIDER:USER)", "FILE"},
		{"token-store", 0, 0, G_OPTION_ARG_STRING, &o->token_store,
	         "Where the accounts' tokens live: keyring (default) or file", "STORE"},
		{"noauthmd5", 0, 0, G_OPTION_ARG_NONE, &o->noauthmd5, "Never use CRAM-MD5", NULL},
		{NULL},
	};
	const GOptionEntry selection[] = {
		{"dry", 0, 0, G_OPTION_ARG_NONE, &o->dry,
	         "Change nothing anywhere; show what would be done", NULL},
		{"justfolders", 0, 0, G_OPTION_ARG_NONE, &o->justfolders, "Only create the folders",
	         NULL},
		{"justlogin", 0, 0, G_OPTION_ARG_NONE, &o->justlogin, "Only log in to both sides",
	         NULL},
		{"folder", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->folder,
	         "Only this source folder (repeatable)", "FOLDER"},
		{"include", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->include,
	         "Only source folders matching this regex (repeatable)", "REGEX"},
		{"exclude", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->exclude,
	         "Skip source folders matching this regex (repeatable)", "REGEX"},
		{"regextrans2", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->regextrans2,
	         "Rename destination folders with s/OLD/NEW/ (repeatable)", "'s/OLD/NEW/'"},
		{"automap", 0, 0, G_OPTION_ARG_NONE, &o->automap,
	         "Map special folders (Sent, Trash...) by role (the default)", NULL},
		{"noautomap", 0, 0, G_OPTION_ARG_NONE, &o->noautomap,
	         "Do not map special folders; only translate names", NULL},
		{"subscribeall", 0, 0, G_OPTION_ARG_NONE, &o->subscribeall,
	         "Subscribe every destination folder", NULL},
		{"subscribe_all", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &o->subscribeall,
	         NULL, NULL},
		{"maxsize", 0, 0, G_OPTION_ARG_INT64, &o->maxsize,
	         "Skip messages larger than N bytes", "N"},
		{"minsize", 0, 0, G_OPTION_ARG_INT64, &o->minsize,
	         "Skip messages smaller than N bytes", "N"},
		{"maxage", 0, 0, G_OPTION_ARG_INT, &o->maxage, "Skip messages older than DAYS",
	         "DAYS"},
		{"minage", 0, 0, G_OPTION_ARG_INT, &o->minage, "Skip messages newer than DAYS",
	         "DAYS"},
		{"search", 0, 0, G_OPTION_ARG_STRING, &o->search,
	         "Only source messages matching these IMAP SEARCH keys", "'KEYS'"},
		{NULL},
	};
	const GOptionEntry deletion[] = {
		{"delete2", 0, 0, G_OPTION_ARG_NONE, &o->delete2,
	         "Delete destination messages that are not on the source", NULL},
		{"delete2duplicates", 0, 0, G_OPTION_ARG_NONE, &o->delete2duplicates,
	         "Delete destination copies beyond the source's count of the same message", NULL},
		{"delete2folders", 0, 0, G_OPTION_ARG_NONE, &o->delete2folders,
	         "Delete destination folders that are not on the source", NULL},
		{"delete1", 0, 0, G_OPTION_ARG_NONE, &o->delete1,
	         "Delete source messages once verified on the destination", NULL},
		{NULL},
	};
	const GOptionEntry speed[] = {
		{"jobs", 0, 0, G_OPTION_ARG_INT, &o->jobs,
	         "Folder pairs in parallel, each with two connections (default 4, or the "
	         "providers' connection limit)",
	         "N"},
		/* For tests only, hence hidden: a folder's copy of at least N messages is split
	         * over several connection pairs (the engine's default is tens of thousands), so
	         * that a test folder of a few thousand takes that path. */
		{"split-min", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &o->split_min, NULL, NULL},
		{"compress", 0, 0, G_OPTION_ARG_NONE, &o->compress,
	         "COMPRESS=DEFLATE where offered, also on loopback (default: except loopback)",
	         NULL},
		{"nocompress", 0, 0, G_OPTION_ARG_NONE, &o->nocompress, "Never COMPRESS=DEFLATE",
	         NULL},
		{"pace", 0, 0, G_OPTION_ARG_DOUBLE, &o->pace,
	         "At most N messages a second per connection (default: the profile's; 4 for "
	         "m365, 0 = no limit)",
	         "N"},
		{"max-upload-per-day", 0, 0, G_OPTION_ARG_INT64, &o->max_upload,
	         "Pause after appending this many bytes (default: the profile's; 500 MB for "
	         "gmail, 0 = no budget)",
	         "BYTES"},
		{"max-download-per-day", 0, 0, G_OPTION_ARG_INT64, &o->max_download,
	         "Pause after fetching this many bytes (default: the profile's; 2500 MB for "
	         "gmail, 0 = no budget)",
	         "BYTES"},
		{"budget-window", 0, 0, G_OPTION_ARG_INT, &o->budget_window,
	         "The period the two budgets above cover, counted across runs (default 86400: "
	         "the last 24 hours)",
	         "SECONDS"},
		{"max-backoff", 0, 0, G_OPTION_ARG_INT, &o->max_backoff,
	         "The longest single wait when a server throttles or a budget is spent "
	         "(default 3600)",
	         "SECONDS"},
		{"max-outage", 0, 0, G_OPTION_ARG_INT, &o->max_outage,
	         "How long a server reached once may stay unreachable (refused, down) before "
	         "the run stops; meanwhile it is tried again with growing waits (default 120)",
	         "SECONDS"},
		{"min-rate", 0, 0, G_OPTION_ARG_INT64, &o->min_rate,
	         "Pause when copying is slower than BYTES a second over --rate-window (a spent "
	         "budget; default: the profile's, 1024 for gmail; 0 = never)",
	         "BYTES"},
		{"rate-window", 0, 0, G_OPTION_ARG_INT, &o->rate_window,
	         "Seconds over which --min-rate is measured (default 120)", "SECONDS"},
		{"wait-lock", 0, 0, G_OPTION_ARG_NONE, &o->wait_lock,
	         "When another run is using this account pair or destination account, wait for "
	         "it to finish instead of exiting with 75",
	         NULL},
		{NULL},
	};
	const GOptionEntry providers[] = {
		{"provider1", 0, 0, G_OPTION_ARG_STRING, &o->provider1,
	         "The source's provider profile: generic, gmail or m365 (default: detected)",
	         "NAME"},
		{"provider2", 0, 0, G_OPTION_ARG_STRING, &o->provider2,
	         "The destination's provider profile (default: detected)", "NAME"},
		{"gmail1", 0, 0, G_OPTION_ARG_NONE, &o->gmail1,
	         "The source is Gmail (--provider1 gmail)", NULL},
		{"gmail2", 0, 0, G_OPTION_ARG_NONE, &o->gmail2,
	         "The destination is Gmail (--provider2 gmail)", NULL},
		{"office1", 0, 0, G_OPTION_ARG_NONE, &o->office1,
	         "The source is Microsoft 365 (--provider1 m365)", NULL},
		{"office2", 0, 0, G_OPTION_ARG_NONE, &o->office2,
	         "The destination is Microsoft 365 (--provider2 m365)", NULL},
		{"gmail-labels", 0, 0, G_OPTION_ARG_STRING, &o->gmail_labels,
	         "Gmail source: once (each message once, in its first label's folder; the "
	         "default), copy (a copy per label) or keywords (once, other labels as keywords)",
	         "MODE"},
		{"include-spam", 0, 0, G_OPTION_ARG_NONE, &o->include_spam,
	         "Gmail source: copy Spam too", NULL},
		{"include-trash", 0, 0, G_OPTION_ARG_NONE, &o->include_trash,
	         "Gmail source: copy Trash too", NULL},
		{"fixups", 0, 0, G_OPTION_ARG_STRING, &o->fixups,
	         "Message fix-ups for the destination: receipts,wrap,mdnsent,flagged, all or "
	         "none (default: the destination profile's; all for m365)",
	         "LIST"},
		{NULL},
	};
	const GOptionEntry output[] = {
		{"report", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o->report,
	         "Write a report to FILE: JSON (FILE.json) or a web page (FILE.html); repeatable",
	         "FILE"},
		{"log", 0, 0, G_OPTION_ARG_FILENAME, &o->log,
	         "Log to FILE (default: under $XDG_STATE_HOME/mailhaul/logs/)", "FILE"},
		{"state", 0, 0, G_OPTION_ARG_FILENAME, &o->state,
	         "The sync state database (default: one per account pair under "
	         "$XDG_STATE_HOME/mailhaul/state/)",
	         "FILE"},
		{"quiet", 'q', 0, G_OPTION_ARG_NONE, &o->quiet, "No progress display", NULL},
		{"progress", 0, 0, G_OPTION_ARG_STRING, &o->progress,
	         "The progress display: auto (the default: bar on a terminal, plain elsewhere), bar "
	         "(redrawn in place), plain (a line every few seconds) or none",
	         "MODE"},
		{"debug", 0, 0, G_OPTION_ARG_STRING, &o->debug,
	         "Debug output: imap, wire, sync, auth or all (secrets are redacted)",
	         "CATEGORIES"},
		{"job", 0, 0, G_OPTION_ARG_STRING, &o->job,
	         "Run the config file's [job NAME]: its accounts and options (those given here "
	         "win)",
	         "NAME"},
		{NULL},
	};
	const GOptionEntry content[] = {
		{"content", 0, 0, G_OPTION_ARG_NONE, &o->content,
	         "Also compare the messages found on both sides by content: their bytes, else "
	         "their MIME parts",
	         NULL},
		{"sample", 0, 0, G_OPTION_ARG_STRING, &o->sample,
	         "With --content, compare only N messages (or P% of them) per folder, chosen at "
	         "random",
	         "N|P%"},
		{"seed", 0, 0, G_OPTION_ARG_INT64, &o->seed,
	         "The seed of --sample's choice (printed by every sampled run)", "N"},
		{NULL},
	};
	g_option_context_set_summary(
		ctx,
		verify ? "Compare the source mailbox (side 1) with the destination (side 2) "
			 "folder by folder, without copying anything."
		       : "Copy every message of the source mailbox (side 1) that the "
			 "destination (side 2) lacks, with its flags and date; carry flag "
			 "changes over; verify. Rerun it any time: only what changed is done.");
	g_option_context_set_description(ctx, mh_sync_help_epilogue(verify));
	g = sync_group(ctx, "accounts",
	               "Accounts (options ending in 1 are the source, in 2 the destination):");
	cli_account_add_entries(g, &o->a[0], "1");
	cli_account_add_entries(g, &o->a[1], "2");
	sync_group_add(g, accounts, verify);
	sync_group_add(sync_group(ctx, "selection", "What is copied:"), selection, verify);
	if (!verify)
		sync_group_add(
			sync_group(ctx, "deletion", "Deleting (never without one of these):"),
			deletion, verify);
	sync_group_add(sync_group(ctx, "speed", "Speed, limits and waits:"), speed, verify);
	sync_group_add(sync_group(ctx, "providers", "Providers (Gmail, Microsoft 365):"), providers,
	               verify);
	sync_group_add(sync_group(ctx, "output", "Output and files:"), output, verify);
	if (verify)
		sync_group_add(sync_group(ctx, "content", "Comparing contents:"), content, verify);
	sync_imapsync_group(ctx, o);
	return ctx;
}

/* --search reaches the wire: only IMAP search keys, on one line, are sent. */
static bool
sync_check_search(const char *search, GError **error)
{
	g_autoptr(GError) local = NULL;

	if (search == NULL || mh_imap_search_check(search, &local))
		return true;
	g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE, "--search: %s", local->message);
	return false;
}

/* --sample N or P%: into content_sample or content_percent. */
static bool
sync_check_sample(struct sync_cli *o)
{
	char *end = NULL;
	double v;

	if (o->sample == NULL)
		return o->seed == -1;
	v = g_ascii_strtod(o->sample, &end);
	if (!o->content || end == o->sample || !(v > 0) || o->seed < -1)
		return false;
	if (o->seed == -1) /* printed with the result, so a rerun can pick the same */
		o->seed = g_random_int_range(1, G_MAXINT32);
	if (strcmp(end, "%") == 0 && v <= 100) {
		o->content_percent = v;
		return true;
	}
	if (*end != '\0' || v != (double)(unsigned)v)
		return false;
	o->content_sample = (unsigned)v;
	return true;
}

/* Each --report names a format by its ending and a directory that can be made. */
static bool
sync_check_reports(char **reports, GError **error)
{
	for (size_t i = 0; reports != NULL && reports[i] != NULL; i++) {
		if (!mh_report_check_path(reports[i], error) ||
		    !mh_file_make_parent(reports[i], error))
			return false;
	}
	return true;
}

bool
cmd_sync_check_options(struct sync_cli *o, GError **error)
{
	const char *bad = NULL;

	if (o->jobs < 0 || o->jobs > 64)
		bad = "--jobs must be between 1 and 64";
	else if (o->maxsize < -1 || o->minsize < 0)
		bad = "--maxsize and --minsize must be positive numbers of bytes";
	else if (o->maxage < -1 || o->minage < -1)
		bad = "--maxage and --minage must be positive numbers of days";
	else if (o->automap && o->noautomap)
		bad = "--automap and --noautomap exclude each other";
	else if (o->compress && o->nocompress)
		bad = "--compress and --nocompress exclude each other";
	else if (o->delete1 && o->delete2)
		bad = "--delete1 and --delete2 together would empty both sides: choose one";
	else if ((o->gmail1 && o->office1) || (o->gmail2 && o->office2))
		bad = "--gmailN and --officeN name two providers for one side";
	else if ((o->gmail1 || o->office1) && o->provider1 != NULL)
		bad = "--provider1 and --gmail1/--office1 exclude each other";
	else if ((o->gmail2 || o->office2) && o->provider2 != NULL)
		bad = "--provider2 and --gmail2/--office2 exclude each other";
	else if (o->pace < -1 || o->max_upload < -1 || o->max_download < -1 || o->max_backoff < 0 ||
	         o->max_outage < 0 || o->min_rate < -1 || o->rate_window < 0)
		bad = "--pace, --max-upload-per-day, --max-download-per-day, --max-backoff and "
		      "--max-outage must not be negative";
	else if (o->budget_window < 0 || o->budget_window > 7 * 86400)
		bad = "--budget-window must be between 1 and 604800 seconds (7 days)";
	else if (!mh_live_mode_parse(o->progress, o->quiet, &o->live, error))
		return false;
	else if (!sync_check_sample(o))
		bad = "--sample takes a number of messages (at least 1) or a percentage (\"10%\"), "
		      "and goes with --content; --seed goes with --sample";
	if (bad != NULL) {
		g_set_error_literal(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE, bad);
		return false;
	}
	/* Output files are checked before anything connects: a missing directory found
	 * after a long run would lose its report. */
	return sync_check_search(o->search, error) && sync_check_reports(o->report, error) &&
	       (o->state == NULL || mh_file_make_parent(o->state, error));
}

static GPtrArray *
strv_array(char **v)
{
	GPtrArray *a;

	if (v == NULL)
		return NULL;
	a = g_ptr_array_new();
	for (size_t i = 0; v[i] != NULL; i++)
		g_ptr_array_add(a, v[i]);
	return a;
}

void
cmd_sync_fill_options(struct sync_cli *o, bool verify, char *state_path, volatile int *interrupted,
                      struct mh_sync_options *so)
{
	*so = (struct mh_sync_options){
		.dry = o->dry,
		.verify_only = verify,
		.justfolders = o->justfolders,
		.delete1 = o->delete1,
		.delete2 = o->delete2,
		.delete2folders = o->delete2folders,
		.delete2duplicates = o->delete2duplicates,
		.automap = !o->noautomap,
		.subscribe_all = o->subscribeall,
		.maxsize = o->maxsize > 0 ? (uint64_t)o->maxsize : 0,
		.minsize = (uint64_t)o->minsize,
		.maxage = o->maxage,
		.minage = o->minage,
		.search = o->search,
		.folders = strv_array(o->folder),
		.include = strv_array(o->include),
		.exclude = strv_array(o->exclude),
		.regextrans = strv_array(o->regextrans2),
		.jobs = o->jobs > 0 ? (unsigned)o->jobs : 4,
		.split_min = o->split_min > 0 ? (unsigned)o->split_min : 0,
		.pace = o->pace > 0 ? o->pace : 0,
		.upload_per_day = o->max_upload > 0 ? (uint64_t)o->max_upload : 0,
		.download_per_day = o->max_download > 0 ? (uint64_t)o->max_download : 0,
		.max_backoff = (unsigned)o->max_backoff,
		.max_outage = (unsigned)o->max_outage,
		.min_rate = o->min_rate > 0 ? (uint64_t)o->min_rate : 0,
		.rate_window = (unsigned)o->rate_window,
		.budget_window = (unsigned)o->budget_window,
		.state_path = state_path,
		.interrupted = interrupted,
		.content = o->content,
		.content_sample = o->content_sample,
		.content_percent = o->content_percent,
		.content_seed = o->seed > 0 ? (uint64_t)o->seed : 0,
	};
}

void
cmd_sync_options_clear(struct mh_sync_options *so)
{
	cli_imapsync_fill_clear(so);
	g_clear_pointer(&so->folders, g_ptr_array_unref);
	g_clear_pointer(&so->include, g_ptr_array_unref);
	g_clear_pointer(&so->exclude, g_ptr_array_unref);
	g_clear_pointer(&so->regextrans, g_ptr_array_unref);
}
