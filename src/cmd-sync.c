/* SPDX-License-Identifier: MIT */
/* `mailhaul sync` and `mailhaul verify`, with imapsync's option spellings: connect both
 * sides, run the engine with a progress display, print the verification table, write the
 * JSON report and the log, and exit with the documented code. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli-imapsync.h"
#include "cli.h"
#include "cmd-sync-private.h"
#include "config.h"
#include "mh-file.h"
#include "mh-log.h"
#include "mh-secret.h"
#include "report.h"
#include "sync-engine.h"
#include "sync-help.h"
#include "sync-job.h"
#include "sync-lock.h"
#include "sync-profile.h"
#include "sync-state.h"

/* One sync's options, parsed and checked (sync-job.h). */
struct mh_sync_job {
	struct sync_cli o;
	struct sides s;
	bool verify;
	GOptionContext *ctx; /* owns the option tables' strings until the job is freed */
};

static volatile int sync_interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	if (sync_interrupted)
		_exit(MH_EXIT_INTERRUPTED);
	sync_interrupted = 1;
}

volatile int *
mh_sync_job_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return &sync_interrupted;
}

static struct mh_store *
sync_factory(void *ctx, int side)
{
	struct sides *s = ctx;
	struct mh_store *st = mh_store_imap_new(&s->set[side - 1], &s->cred[side - 1],
	                                        side == 1 ? "host1" : "host2");

	if (s->tokens[side - 1] != NULL)
		mh_store_imap_set_token(st, cli_token_cb, s->tokens[side - 1]);
	return st;
}

/* Accounts written PROVIDER:USER: the two arguments, or --account1 / --account2. */
static bool
sync_use_accounts(struct sync_cli *o, struct sides *s, int argc, char **argv, GError **error)
{
	const char *spec[2] = {o->account1, o->account2};
	g_autoptr(mh_config) cfg = NULL;
	int next = 1;

	for (int i = 0; i < 2; i++) {
		if (spec[i] == NULL && next < argc)
			spec[i] = argv[next++];
	}
	if (next < argc) {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
		            "unexpected argument '%s' (give a source and a destination account)",
		            argv[next]);
		return false;
	}
	if (spec[0] == NULL && spec[1] == NULL)
		return true;
	cfg = mh_config_load(o->config, error);
	if (cfg == NULL)
		return false;
	for (int i = 0; i < 2; i++) {
		if (spec[i] != NULL &&
		    !cli_account_use(&o->a[i], cfg, spec[i], o->token_store, error))
			return false;
		s->tokens[i] = o->a[i].tokens;
	}
	return true;
}

static bool
sync_justlogin(struct sides *s, GError **error)
{
	for (int side = 1; side <= 2; side++) {
		struct mh_store *st = sync_factory(s, side);
		bool ok = st->ops->connect(st, error);

		if (ok)
			printf("host%d: %s logged in\n", side, s->cred[side - 1].user);
		else
			g_prefix_error(error, "host%d: ", side);
		st->ops->close(st);
		mh_store_free(st);
		if (!ok)
			return false;
	}
	return true;
}

/* The provider profiles of both sides, from the options and the accounts. */
static bool
sync_profiles_setup(struct sync_cli *o, struct sides *s, struct sync_profiles *sp, GError **error)
{
	const char *names[2] = {o->gmail1    ? "gmail"
	                        : o->office1 ? "m365"
	                                     : o->provider1,
	                        o->gmail2    ? "gmail"
	                        : o->office2 ? "m365"
	                                     : o->provider2};
	const struct mh_provider *from_account[2] = {NULL, NULL};

	for (int i = 0; i < 2; i++) {
		if (o->a[i].account != NULL)
			from_account[i] = o->a[i].account->builtin;
		sp->host[i] = s->set[i].host;
	}
	sp->labels = MH_SYNC_LABELS_ONCE;
	if (o->gmail_labels != NULL) {
		static const char *const modes[] = {"none", "once", "copy", "keywords"};
		bool known = false;

		for (size_t i = 1; i < G_N_ELEMENTS(modes); i++) {
			if (g_ascii_strcasecmp(o->gmail_labels, modes[i]) == 0) {
				sp->labels = (enum mh_sync_labels)i;
				known = true;
			}
		}
		if (!known) {
			g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
			            "--gmail-labels '%s': say once, copy or keywords",
			            o->gmail_labels);
			return false;
		}
	}
	if (o->fixups != NULL) {
		if (!mh_provider_fixups_parse(o->fixups, &sp->fixups)) {
			g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
			            "--fixups '%s': say receipts, wrap, mdnsent, flagged (comma-"
			            "separated), all or none",
			            o->fixups);
			return false;
		}
		sp->fixups_set = true;
	}
	sp->source.spam = o->include_spam;
	sp->source.trash = o->include_trash;
	sp->maxsize_set = o->maxsize >= 0;
	sp->pace_set = o->pace >= 0;
	sp->up_set = o->max_upload >= 0;
	sp->down_set = o->max_download >= 0;
	sp->rate_set = o->min_rate >= 0;
	sp->jobs_set = o->jobs > 0;
	return sync_profiles_init(sp, names, from_account, error);
}

/* The port side @i connects to (the settings say 0 for the default). */
static unsigned
sync_port(const struct sides *s, int i)
{
	if (s->set[i].port != 0)
		return s->set[i].port;
	return s->set[i].tls == MH_IMAP_TLS_IMPLICIT ? 993 : 143;
}

/* The default state file of the pair, keyed by host, port and user of both sides; a
 * writing run first moves a file under mailhaul 0.1's name (without the ports) to it. */
static char *
sync_state_path(const struct sides *s, bool writes, GError **error)
{
	char *path = mh_state_default_path(s->cred[0].user, s->set[0].host, sync_port(s, 0),
	                                   s->cred[1].user, s->set[1].host, sync_port(s, 1));
	g_autofree char *old = NULL;
	int moved;

	if (!writes)
		return path;
	old = mh_state_legacy_path(s->cred[0].user, s->set[0].host, s->cred[1].user,
	                           s->set[1].host);
	moved = mh_state_adopt(path, old, error);
	if (moved < 0) {
		g_free(path);
		return NULL;
	}
	if (moved > 0)
		mh_log(MH_LOG_INFO, "state database renamed from %s to %s (now keyed by the ports)",
		       old, path);
	return path;
}

/* "user@host[:port]" of side @i: the key of its transfer budgets. */
static char *
sync_account_key(const struct sides *s, int i)
{
	if (s->set[i].port == 0)
		return g_strdup_printf("%s@%s", s->cred[i].user, s->set[i].host);
	return g_strdup_printf("%s@%s:%u", s->cred[i].user, s->set[i].host, s->set[i].port);
}

/* The outcome's counts and reason from a finished run's result. */
static void
sync_outcome_fill(struct mh_sync_job_outcome *out, const struct mh_sync_result *r)
{
	g_autoptr(GString) why = g_string_new(NULL);

	out->has_result = true;
	for (guint i = 0; i < r->folders->len; i++) {
		const struct mh_sync_folder_result *f = r->folders->pdata[i];

		out->copied += f->copied;
		out->copied_bytes += f->copied_bytes;
		out->missing += f->missing;
		out->extra += f->extra;
		out->failed += f->failed;
		out->unfinished += f->unfinished;
		if (why->len == 0 && f->errors->len > 0)
			g_string_printf(why, "%s: %s", f->src_name, (char *)f->errors->pdata[0]);
	}
	if (r->gave_up != NULL)
		g_string_assign(why, r->gave_up);
	if (r->interrupted)
		g_string_assign(why, "interrupted: run again to finish");
	if (why->len > 0)
		out->reason = g_string_free(g_steal_pointer(&why), false);
}

static const char *
sync_tls_name(enum mh_imap_tls_mode tls)
{
	switch (tls) {
	case MH_IMAP_TLS_IMPLICIT:
		return "implicit";
	case MH_IMAP_TLS_STARTTLS:
		return "starttls";
	case MH_IMAP_TLS_NONE:
		return "none";
	case MH_IMAP_TLS_AUTO:
		break;
	}
	return "auto";
}

/* The log's account of the run, then each --report. */
static bool
sync_write_reports(const struct sync_cli *o, const struct sides *s, const struct sync_profiles *sp,
                   struct mh_report_run *run, const struct mh_sync_result *result, GError **error)
{
	run->gmail_labels = o->gmail_labels;
	run->fixups = o->fixups;
	for (int i = 0; i < 2; i++)
		run->side[i] = (struct mh_report_side){
			.user = s->cred[i].user,
			.host = s->set[i].host,
			.port = sync_port(s, i),
			.tls = sync_tls_name(s->set[i].tls),
			.provider = sp->p[i] != NULL ? sp->p[i]->name : NULL,
			.provider_detected = !sp->chosen[i],
		};
	mh_report_log(result, run);
	for (size_t i = 0; o->report != NULL && o->report[i] != NULL; i++) {
		if (!mh_report_write(o->report[i], result, run, error))
			return false;
	}
	return true;
}

static int
sync_execute(struct sync_cli *o, struct sides *s, bool verify, const struct mh_sync_job_io *io,
             struct mh_sync_job_outcome *out, GError **error)
{
	struct sync_profiles sp = {0};
	bool writes = !verify && !o->dry;
	g_autofree char *state_path =
		o->state != NULL ? g_strdup(o->state) : sync_state_path(s, writes, error);
	g_autofree char *dst_lock = NULL;
	struct mh_sync_options so;
	struct mh_sync_progress own_progress = {0};
	struct mh_sync_progress *progress = io->progress != NULL ? io->progress : &own_progress;
	struct mh_sync_result *result = NULL;
	struct mh_progress_display *display = NULL;
	g_autoptr(GDateTime) start = NULL;
	g_autoptr(GDateTime) end = NULL;
	struct cli_imapsync_watch *watch;
	bool ran, over;
	int rc;

	g_autofree char *budget_path =
		g_build_filename(g_get_user_state_dir(), "mailhaul", "transfers.db", NULL);
	g_autofree char *src_account = NULL;
	g_autofree char *dst_account = NULL;

	if (state_path == NULL)
		return -1;
	if (io->interrupted != NULL && (o->imapsync.exitwhenover > 0 || o->imapsync.errorsmax > 0))
		return cli_usage(error, "--exitwhenover and --errorsmax stop a single sync, not a "
		                        "batch's rows")
		               ? 0
		               : -1;
	cmd_sync_fill_options(o, verify, state_path, &sync_interrupted, &so);
	if (!cli_imapsync_fill(&o->imapsync, &so, error)) {
		cmd_sync_options_clear(&so);
		return -1;
	}
	for (int i = 0; i < 2; i++)
		so.endpoints[i] = (struct mh_sync_endpoint){
			.host = s->set[i].host, .port = sync_port(s, i), .user = s->cred[i].user};
	if (writes) {
		dst_lock =
			mh_sync_lock_account_path(s->cred[1].user, s->set[1].host, sync_port(s, 1));
		so.dst_lock_path = dst_lock;
	}
	so.wait_lock = o->wait_lock;
	/* Whose budgets the bytes count to: every job into or out of an account shares them. */
	src_account = sync_account_key(s, 0);
	dst_account = sync_account_key(s, 1);
	so.src_account = src_account;
	so.dst_account = dst_account;
	so.budget_path = budget_path;
	if (!sync_profiles_setup(o, s, &sp, error)) {
		cmd_sync_options_clear(&so);
		return -1;
	}
	sync_profiles_apply(&sp, &so);
	sync_profiles_hook(&sp, &so);
	if (io->interrupted != NULL)
		so.interrupted = io->interrupted;
	else
		mh_sync_job_signals();
	if (io->progress == NULL)
		display = mh_progress_start(progress, verify ? MH_LIVE_NONE : o->live);
	start = g_date_time_new_now_local();
	watch = cli_imapsync_watch_start(&o->imapsync, progress, so.interrupted);
	ran = mh_sync_run(&so, sync_factory, s, progress, &result, error);
	over = cli_imapsync_watch_end(watch);
	if (!ran) {
		for (int i = 0; i < 2 && sp.connected; i++)
			s->detected[i] = sp.p[i];
		mh_progress_stop(display);
		cmd_sync_options_clear(&so);
		return -1;
	}
	end = g_date_time_new_now_local();
	mh_progress_stop(display);
	result->content = so.content;
	result->content_sample = so.content_sample;
	result->content_percent = so.content_percent;
	result->content_seed = so.content_seed;
	if (io->table != NULL)
		mh_report_print_table(io->table, result, o->dry, verify);
	rc = mh_report_exit_code(result);
	if (over && rc == MH_EXIT_INTERRUPTED) {
		rc = MH_EXIT_OVER;
		mh_log(MH_LOG_ERROR,
		       "stopped after %" G_GINT64_FORMAT
		       " bytes were copied (--exitwhenover): run the "
		       "same command again to go on",
		       (gint64)progress->bytes_done);
	} else if (so.errors_max > 0 && (uint64_t)progress->errors >= so.errors_max) {
		rc = MH_EXIT_ERRORSMAX;
		mh_log(MH_LOG_ERROR,
		       "stopped after %" G_GINT64_FORMAT
		       " errors (--errorsmax): the failures are listed above and in the report; "
		       "run the same command again to go on",
		       (gint64)progress->errors);
	}
	if (result->gave_up != NULL && rc != MH_EXIT_INTERRUPTED) {
		rc = MH_EXIT_CONNECT;
		mh_log(MH_LOG_ERROR,
		       "%s; some folders are unfinished: run the same command later to resume",
		       result->gave_up);
	} else if (rc == MH_EXIT_CONNECT) {
		g_autoptr(GString) names = g_string_new(NULL);

		for (guint i = 0; i < result->folders->len; i++) {
			const struct mh_sync_folder_result *f = result->folders->pdata[i];

			if (f->dropped)
				g_string_append_printf(names, "%s'%s'", names->len > 0 ? ", " : "",
				                       f->src_name);
		}
		mh_log(MH_LOG_ERROR,
		       "the connection kept dropping in %s, left unfinished (the other folders went "
		       "on): run the same command later to resume",
		       names->str);
	}
	if (!sync_write_reports(o, s, &sp,
	                        &(struct mh_report_run){.command = verify ? "verify" : "sync",
	                                                .dry = o->dry,
	                                                .exit_code = rc,
	                                                .start = start,
	                                                .end = end,
	                                                .opts = &so},
	                        result, error))
		rc = -1;
	cmd_sync_options_clear(&so);
	sync_outcome_fill(out, result);
	/* The display of a batch reads the folder name (borrowed from the result) under
	 * this lock. */
	if (io->progress_lock != NULL)
		g_mutex_lock(io->progress_lock);
	progress->current = NULL;
	memset(progress->slots, 0, sizeof(progress->slots));
	if (io->progress_lock != NULL)
		g_mutex_unlock(io->progress_lock);
	mh_sync_result_free(result);
	return rc;
}

static void
sync_cli_clear(struct sync_cli *o, struct sides *s)
{
	for (int i = 0; i < 2; i++) {
		cli_account_clear(&o->a[i]);
		mh_secret_free(s->password[i]);
	}
	g_strfreev(o->folder);
	g_strfreev(o->include);
	g_strfreev(o->exclude);
	g_strfreev(o->regextrans2);
	g_free(o->search);
	g_strfreev(o->report);
	g_free(o->log);
	g_free(o->state);
	g_free(o->debug);
	g_free(o->config);
	g_free(o->token_store);
	g_free(o->account1);
	g_free(o->account2);
	g_free(o->job);
	g_free(o->provider1);
	g_free(o->provider2);
	g_free(o->gmail_labels);
	g_free(o->fixups);
	g_free(o->sample);
	cli_imapsync_clear(&o->imapsync);
	g_free(o->progress);
}

/* The profile of side @i's server for the advice on an error line: as the user named it
 * (--providerN, --gmailN, --officeN, the account's PROVIDER:), else as detected once
 * connected, else by host name; NULL for a plain server. */
static const struct mh_provider *
sync_side_profile(const struct sync_cli *o, const struct sides *s, int i)
{
	const char *name = (i == 0 ? o->gmail1 : o->gmail2) ? "gmail"
	                   : (i == 0 ? o->office1 : o->office2)
	                           ? "m365"
	                           : (i == 0 ? o->provider1 : o->provider2);

	if (name != NULL)
		return mh_provider_find(name);
	if (o->a[i].account != NULL && o->a[i].account->builtin != NULL)
		return o->a[i].account->builtin;
	if (s->detected[i] != NULL)
		return s->detected[i];
	return mh_provider_detect(s->set[i].host, NULL, NULL, NULL);
}

/* Ends the command: an error about one side ("host1: ...", "host2: ...", as the stores
 * and --justlogin prefix them) gets that side's advice. */
static int
sync_finish(const struct sync_cli *o, const struct sides *s, const GError *error, int rc)
{
	struct cli_side side;
	int i;

	if (error == NULL)
		return rc;
	if (g_str_has_prefix(error->message, "host1: "))
		i = 0;
	else if (g_str_has_prefix(error->message, "host2: "))
		i = 1;
	else
		return cli_finish(error, rc);
	side = (struct cli_side){
		.acct = &o->a[i],
		.suffix = i == 0 ? "1" : "2",
		.profile = sync_side_profile(o, s, i),
	};
	return cli_finish_side(error, rc, &side);
}

struct mh_sync_job *
mh_sync_job_parse(int argc, char **argv, bool verify, GError **error)
{
	struct mh_sync_job *job = g_new0(struct mh_sync_job, 1);
	bool foldersizes = false;

	job->o = (struct sync_cli){.maxage = -1,
	                           .minage = -1,
	                           .maxsize = -1,
	                           .pace = -1,
	                           .max_upload = -1,
	                           .max_download = -1,
	                           .min_rate = -1,
	                           .seed = -1};
	job->verify = verify;
	job->ctx = cmd_sync_context(&job->o, verify);
	cli_imapsync_rewrite_argv(argc, argv);
	if (!g_option_context_parse(job->ctx, &argc, &argv, error) ||
	    !sync_use_accounts(&job->o, &job->s, argc, argv, error) ||
	    !cli_imapsync_apply(&job->o.imapsync, &foldersizes, error)) {
		cli_option_suggest(job->ctx, error != NULL ? *error : NULL);
		mh_sync_job_free(job);
		return NULL;
	}
	job->verify = job->verify || foldersizes;
	job->o.a[0].noauthmd5 = job->o.a[1].noauthmd5 = job->o.noauthmd5;
	if (!cmd_sync_check_options(&job->o, error)) {
		mh_sync_job_free(job);
		return NULL;
	}
	return job;
}

void
mh_sync_job_free(struct mh_sync_job *job)
{
	if (job == NULL)
		return;
	sync_cli_clear(&job->o, &job->s);
	g_clear_pointer(&job->ctx, g_option_context_free);
	g_free(job);
}

struct cli_account *
mh_sync_job_account(struct mh_sync_job *job, int side)
{
	return &job->o.a[side - 1];
}

unsigned
mh_sync_job_port(const struct mh_sync_job *job, int side)
{
	const struct cli_account *a = &job->o.a[side - 1];

	if (a->port > 0)
		return (unsigned)a->port;
	/* As cli_account_resolve() chooses: implicit TLS unless --tls or --notls. */
	return a->tls || a->notls ? 143 : 993;
}

bool
mh_sync_job_check(const struct mh_sync_job *job, GError **error)
{
	return cli_account_check(&job->o.a[0], "1", error) &&
	       cli_account_check(&job->o.a[1], "2", error);
}

int
mh_sync_job_run(struct mh_sync_job *job, const struct mh_sync_job_io *io,
                struct mh_sync_job_outcome *out)
{
	struct sync_cli *o = &job->o;
	struct sides *s = &job->s;
	g_autoptr(GError) error = NULL;
	int rc = MH_EXIT_OK;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < 2; i++) {
		if (!cli_account_resolve(&o->a[i], i == 0 ? "1" : "2", &s->set[i], &s->cred[i],
		                         &s->password[i], &error))
			goto out;
	}
	for (int i = 0; i < 2; i++)
		s->set[i].compress = o->compress     ? MH_IMAP_COMPRESS_ON
		                     : o->nocompress ? MH_IMAP_COMPRESS_OFF
		                                     : MH_IMAP_COMPRESS_AUTO;
	mh_log(MH_LOG_INFO, "mailhaul %s %s: %s on %s to %s on %s", MH_VERSION,
	       job->verify ? "verify" : "sync", s->cred[0].user, s->set[0].host, s->cred[1].user,
	       s->set[1].host);
	if (io->log_path != NULL && !o->quiet)
		fprintf(stderr, "mailhaul: log: %s\n", io->log_path);
	if (o->justlogin)
		rc = sync_justlogin(s, &error) ? MH_EXIT_OK : -1;
	else
		rc = sync_execute(o, s, job->verify, io, out, &error);
out:
	rc = sync_finish(o, s, error, rc);
	if (error != NULL) {
		g_free(out->reason);
		out->reason = g_strdup(error->message);
	}
	out->exit_code = rc;
	return rc;
}

/* Whether the command line asks for the help (before any "--"). */
static bool
sync_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help-all") == 0)
			return true;
	}
	return false;
}

/* Prints every group of options with its heading (GOption's own --help shows only the
 * names of the groups). */
static int
sync_print_help(bool verify)
{
	struct sync_cli o = {0};
	GOptionContext *ctx = cmd_sync_context(&o, verify);

	mh_sync_help_print(ctx, verify);
	g_option_context_free(ctx);
	return MH_EXIT_OK;
}

int
mh_cmd_sync(int argc, char **argv, bool verify, bool imapsync_style)
{
	struct mh_sync_job *job;
	struct mh_sync_job_outcome out = {0};
	struct mh_sync_job_io io = {.table = stdout};
	g_autoptr(GError) error = NULL;
	g_autofree char *log_path = NULL;
	g_autofree char *wanted_log = NULL;
	g_auto(GStrv) job_args = NULL;     /* --job: owns the strings */
	g_autofree char **job_argv = NULL; /* the same, rearranged by GOption */
	int rc;

	(void)imapsync_style;
	if (sync_wants_help(argc, argv))
		return sync_print_help(verify);
	if (!verify) {
		job_args = mh_sync_job_args(argc, argv, &argc, &error);
		if (error != NULL)
			return cli_finish(error, 0);
		if (job_args != NULL)
			argv = job_argv = g_memdup2(job_args, sizeof(char *) * ((gsize)argc + 1));
	}
	job = mh_sync_job_parse(argc, argv, verify, &error);
	if (job == NULL || !cli_set_debug(job->o.debug, &error))
		goto out;
	if (!cli_imapsync_log_path(&job->o.imapsync, &wanted_log, &error)) {
		if (error != NULL)
			goto out;
		log_path = mh_log_file_open(wanted_log != NULL ? wanted_log : job->o.log,
		                            verify ? "verify" : "sync", &error);
		if (log_path == NULL)
			goto out;
	}
	if (!cli_imapsync_pidfile_start(&job->o.imapsync, &error))
		goto out;
	cli_imapsync_log_no_effect(&job->o.imapsync);
	io.log_path = log_path;
	rc = mh_sync_job_run(job, &io, &out);
	g_free(out.reason);
	mh_log(MH_LOG_INFO, "exit code %d", rc);
	mh_log_file_close();
	mh_sync_job_free(job);
	return rc;
out:
	/* Before the log file, the error line says it all. */
	rc = job != NULL ? sync_finish(&job->o, &job->s, error, MH_EXIT_OK) : cli_finish(error, 0);
	mh_log_file_close();
	mh_sync_job_free(job);
	return rc;
}
