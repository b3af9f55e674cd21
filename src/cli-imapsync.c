/* SPDX-License-Identifier: MIT */
/* imapsync's options: mapped onto mailhaul's, accepted with no effect, or refused with a
 * reason. docs/imapsync.md lists every one with what mailhaul does; its test runs each. */
#include "cli-imapsync.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "imap.h"
#include "mh-file.h"
#include "mh-log.h"
#include "sync-plan.h"

/* An imapsync option mailhaul does not map: why, and what to use instead. */
struct imapsync_other {
	const char *name;
	bool value; /* takes a value */
	const char *why;
};

/* Accepted, with no effect; the reason is logged. */
static const struct imapsync_other imapsync_no_effect[] = {
	{"noreleasecheck", false, "mailhaul never checks for new releases"},
	{"releasecheck", false, "mailhaul never checks for new releases"},
	{"nofoldersizes", false,
         "mailhaul counts folders with STATUS and its state, which costs no fetching"},
	{"nofoldersizesatend", false,
         "the final table's counts come from STATUS and the state, which costs no fetching"},
	{"useuid", false, "mailhaul always pairs messages by UID through its state database"},
	{"usecache", false, "the state database is mailhaul's cache, always used"},
	{"nousecache", false, "the state database is how mailhaul avoids duplicates"},
	{"useheader", true,
         "mailhaul recognises messages by a fixed set of headers (Message-ID, Date, From, "
         "To, Cc, Subject) and the size"},
	{"skipsize", false, "sizes are only one part of mailhaul's fingerprint"},
	{"syncinternaldates", false, "mailhaul always keeps each message's arrival date"},
	{"syncduplicates", false, "duplicates on the source are always copied once each"},
	{"tmpdir", true, "mailhaul streams messages and writes no temporary files"},
	{"resyncflags", false, "flag changes are carried over on every run"},
	{"synclabels", false,
         "Gmail labels are kept from Gmail to Gmail (--gmail-labels chooses for other "
         "destinations)"},
	{"resynclabels", false, "Gmail labels are kept from Gmail to Gmail"},
	{"noabletosearch", false,
         "--maxage and --minage always compare the arrival date (INTERNALDATE)"},
	{"noabletosearch1", false,
         "--maxage and --minage always compare the arrival date (INTERNALDATE)"},
	{"noabletosearch2", false,
         "--maxage and --minage always compare the arrival date (INTERNALDATE)"},
	{"noexpungeaftereach", false, "--delete1 expunges per batch of messages"},
	{"skipcrossduplicates", false,
         "a Gmail source's messages are copied once by default (--gmail-labels once)"},
	{"domino1", false, "the folder separator and prefix are read from the server"},
	{"domino2", false, "the folder separator and prefix are read from the server"},
	{"debugmemory", false, "mailhaul's memory does not grow with the mailbox"},
	{"debugssl", true, "TLS errors say what failed; --debug wire shows the exchange"},
	{"keepalive1", false, "connections are kept alive by their own traffic and NOOP"},
	{"keepalive2", false, "connections are kept alive by their own traffic and NOOP"},
	{"maxsleep", true, "mailhaul's pacing waits as long as the pace needs"},
	{NULL, false, NULL},
};

/* Refused (exit 64), with the reason and the alternative. */
static const struct imapsync_other imapsync_refused[] = {
	{"addheader", false,
         "mailhaul never modifies messages; it recognises one without a Message-ID by its "
         "other headers and size"},
	{"regexmess", true, "mailhaul never modifies messages"},
	{"pipemess", true, "mailhaul never modifies messages"},
	{"truncmess", true, "mailhaul never modifies messages; skip big ones with --maxsize"},
	{"skipmess", true,
         "mailhaul does not select messages by content; use --search with IMAP search keys"},
	{"maxlinelength", true,
         "mailhaul does not skip messages by line length; a Microsoft 365 destination "
         "gets long lines wrapped (--fixups wrap)"},
	{"showpasswords", false, "mailhaul never prints a password; give --passfile1/2"},
	{"sslargs1", true, "use --cafile1 or --insecure1; TLS 1.2 or later is always required"},
	{"sslargs2", true, "use --cafile2 or --insecure2; TLS 1.2 or later is always required"},
	{"proxyauth1", false,
         "mailhaul logs in as the admin with --authuser1 (SASL PLAIN authorization), not "
         "PROXYAUTH"},
	{"proxyauth2", false,
         "mailhaul logs in as the admin with --authuser2 (SASL PLAIN authorization), not "
         "PROXYAUTH"},
	{"domain1", true, "NTLM is not supported; use --authmech1 PLAIN or OAuth2"},
	{"domain2", true, "NTLM is not supported; use --authmech2 PLAIN or OAuth2"},
	{"oauthdirect1", true,
         "give the access token with --oauthaccesstoken1, or sign in with mailhaul login"},
	{"oauthdirect2", true,
         "give the access token with --oauthaccesstoken2, or sign in with mailhaul login"},
	{"prefix1", true, "prefixes are read from the server's NAMESPACE"},
	{"prefix2", true,
         "prefixes are read from the server's NAMESPACE; to put every folder under one, "
         "use --subfolder2"},
	{"sep1", true, "separators are read from the server's folder list"},
	{"sep2", true, "separators are read from the server's folder list"},
	{"nomixfolders", false,
         "folders differing only in case are merged on such destinations, with a warning; "
         "leave the others out with --exclude"},
	{"skipemptyfolders", false,
         "every selected folder is created; leave folders out with --exclude"},
	{"idatefromheader", false,
         "mailhaul keeps each message's arrival date from the source, never one made from "
         "its Date header"},
	{"noresyncflags", false, "mailhaul carries flag changes over on every run"},
	{"filterbuggyflags", false,
         "mailhaul has no list of bad flags; remove a flag the destination refuses with "
         "--regexflag"},
	{"delete1emptyfolders", false, "mailhaul never deletes source folders"},
	{"delete2foldersonly", true,
         "--delete2folders deletes every destination folder the source lacks; preview it "
         "with --dry --justfolders"},
	{"delete2foldersbutnot", true,
         "--delete2folders deletes every destination folder the source lacks; preview it "
         "with --dry --justfolders"},
	{"debugcontent", false,
         "mailhaul never logs message contents; --debug wire shows the IMAP exchange"},
	{"tests", false, "mailhaul's tests run from its source tree (scripts/test)"},
	{"testslive", false, "mailhaul's tests run from its source tree (scripts/test)"},
	{"testslive6", false, "mailhaul's tests run from its source tree (scripts/test)"},
	{"syncacls", false, "mailhaul does not copy ACLs"},
	{"justconnect", false, "use mailhaul check for each server"},
	{"abort", false, "stop the other run with Ctrl-C or kill; it resumes where it stopped"},
	{NULL, false, NULL},
};

static const struct imapsync_other *
imapsync_find(const struct imapsync_other *table, const char *option)
{
	const char *name = option + strspn(option, "-");

	for (size_t i = 0; table[i].name != NULL; i++) {
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	}
	return NULL;
}

static gboolean
imapsync_on_refused(const char *option, const char *value, gpointer data, GError **error)
{
	const struct imapsync_other *o = imapsync_find(imapsync_refused, option);

	(void)value;
	(void)data;
	g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE, "imapsync's %s is refused: %s",
	            option, o != NULL ? o->why : "not supported");
	return false;
}

static gboolean
imapsync_on_no_effect(const char *option, const char *value, gpointer data, GError **error)
{
	struct cli_imapsync *c = data;
	const struct imapsync_other *o = imapsync_find(imapsync_no_effect, option);

	(void)value;
	(void)error;
	if (c->no_effect == NULL)
		c->no_effect = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(c->no_effect,
	                g_strdup_printf("%s has no effect: %s", option, o != NULL ? o->why : ""));
	return true;
}

static gboolean
imapsync_on_authmd5(const char *option, const char *value, gpointer data, GError **error)
{
	struct cli_imapsync *c = data;
	int side = option[strlen(option) - 1] == '2';

	(void)value;
	(void)error;
	c->authmd5[side] = true;
	return true;
}

/* The hidden entries of @table, calling @cb with @c. */
static void
imapsync_add_others(GOptionGroup *g, const struct imapsync_other *table, GOptionArgFunc cb)
{
	size_t n = 0;
	GOptionEntry *entries;

	while (table[n].name != NULL)
		n++;
	entries = g_new0(GOptionEntry, n + 1);
	for (size_t i = 0; i < n; i++)
		entries[i] = (GOptionEntry){table[i].name,
		                            0,
		                            G_OPTION_FLAG_HIDDEN |
		                                    (table[i].value ? 0 : G_OPTION_FLAG_NO_ARG),
		                            G_OPTION_ARG_CALLBACK,
		                            (gpointer)cb,
		                            NULL,
		                            NULL};
	g_option_group_add_entries(g, entries);
	g_free(entries);
}

void
cli_imapsync_add_group(GOptionContext *ctx, struct cli_imapsync *c)
{
	const GOptionEntry mapped[] = {
		{"nossl1", 0, 0, G_OPTION_ARG_NONE, &c->nossl[0],
	         "No implicit TLS on side 1: port 143, STARTTLS when offered", NULL},
		{"nossl2", 0, 0, G_OPTION_ARG_NONE, &c->nossl[1],
	         "No implicit TLS on side 2: port 143, STARTTLS when offered", NULL},
		{"authmd51", 0, G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK,
	         (gpointer)imapsync_on_authmd5,
	         "Log in to side 1 with CRAM-MD5 (--authmech1 CRAM-MD5)", NULL},
		{"authmd52", 0, G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK,
	         (gpointer)imapsync_on_authmd5,
	         "Log in to side 2 with CRAM-MD5 (--authmech2 CRAM-MD5)", NULL},
		{"exchange1", 0, 0, G_OPTION_ARG_NONE, &c->exchange[0],
	         "The source is Exchange (--provider1 m365, the host as given)", NULL},
		{"exchange2", 0, 0, G_OPTION_ARG_NONE, &c->exchange[1],
	         "The destination is Exchange (--provider2 m365, the host as given)", NULL},
		{"logfile", 0, 0, G_OPTION_ARG_FILENAME, &c->logfile,
	         "Log to FILE (in --logdir when given; same as --log)", "FILE"},
		{"logdir", 0, 0, G_OPTION_ARG_FILENAME, &c->logdir,
	         "Write the log file into DIR (created if missing)", "DIR"},
		{"nolog", 0, 0, G_OPTION_ARG_NONE, &c->nolog, "Write no log file", NULL},
		{"pidfile", 0, 0, G_OPTION_ARG_FILENAME, &c->pidfile,
	         "Write the process id to FILE while the run lasts", "FILE"},
		{"pidfilelocking", 0, 0, G_OPTION_ARG_NONE, &c->pidfilelocking,
	         "Stop with exit 75 when --pidfile names a running process (the account pair is "
	         "always locked too)",
	         NULL},
		{"maxmessagespersecond", 0, 0, G_OPTION_ARG_DOUBLE, &c->maxmessagespersecond,
	         "At most N messages a second in all (--pace N shared by the --jobs)", "N"},
		{"disarmreadreceipts", 0, 0, G_OPTION_ARG_NONE, &c->disarmreadreceipts,
	         "Disarm read-receipt requests on the copies (--fixups receipts)", NULL},
		{"justfoldersizes", 0, 0, G_OPTION_ARG_NONE, &c->justfoldersizes,
	         "Only count the folders of both sides and compare them (mailhaul verify)", NULL},
		{"folderrec", 0, 0, G_OPTION_ARG_STRING_ARRAY, &c->folderrec,
	         "This source folder and all below it (repeatable; an --include)", "FOLDER"},
		{"folderfirst", 0, 0, G_OPTION_ARG_STRING_ARRAY, &c->folderfirst,
	         "Copy this source folder before the others (repeatable, in order)", "FOLDER"},
		{"folderlast", 0, 0, G_OPTION_ARG_STRING_ARRAY, &c->folderlast,
	         "Copy this source folder after the others (repeatable, in order)", "FOLDER"},
		{"subscribed", 0, 0, G_OPTION_ARG_NONE, &c->subscribed,
	         "Only the folders subscribed on the source", NULL},
		{"subscribe", 0, 0, G_OPTION_ARG_NONE, &c->subscribe,
	         "Subscribe the copies of subscribed folders (always done)", NULL},
		{"f1f2", 0, 0, G_OPTION_ARG_STRING_ARRAY, &c->f1f2,
	         "Copy source folder SRC into destination folder DST (repeatable; a "
	         "--regextrans2 applied first)",
	         "SRC=DST"},
		{"subfolder2", 0, 0, G_OPTION_ARG_STRING, &c->subfolder2,
	         "Put every folder under this destination folder", "FOLDER"},
		{"subfolder1", 0, 0, G_OPTION_ARG_STRING, &c->subfolder1,
	         "Copy only this source folder and those below it, as if they were the top "
	         "(the folder itself into INBOX)",
	         "FOLDER"},
		{"maxbytespersecond", 0, 0, G_OPTION_ARG_INT64, &c->maxbytespersecond,
	         "At most BYTES of messages a second, over all connections together", "BYTES"},
		{"maxbytesafter", 0, 0, G_OPTION_ARG_INT64, &c->maxbytesafter,
	         "Start --maxbytespersecond only after this many bytes", "BYTES"},
		{"search1", 0, 0, G_OPTION_ARG_STRING, &c->search1,
	         "Only source messages matching these IMAP SEARCH keys (--search)", "'KEYS'"},
		{"regexflag", 0, 0, G_OPTION_ARG_STRING_ARRAY, &c->regexflag,
	         "Rewrite each message's flag list for the destination with s/OLD/NEW/ "
	         "(repeatable, in order)",
	         "'s/OLD/NEW/'"},
		{"exitwhenover", 0, 0, G_OPTION_ARG_INT64, &c->exitwhenover,
	         "Stop after copying BYTES (the messages in flight finish) with exit 118", "BYTES"},
		{"errorsmax", 0, 0, G_OPTION_ARG_INT64, &c->errorsmax,
	         "Stop once N messages or folders have failed (the messages in flight finish), "
	         "with exit 112",
	         "N"},
		{"expunge1", 0, 0, G_OPTION_ARG_NONE, &c->expunge1,
	         "Expunge the source messages already flagged \\Deleted before copying each "
	         "folder",
	         NULL},
		{"noexpunge1", 0, 0, G_OPTION_ARG_NONE, &c->noexpunge1,
	         "With --delete1, flag the source messages \\Deleted without expunging them", NULL},
		{"search2", 0, 0, G_OPTION_ARG_STRING, &c->search2,
	         "Only destination messages matching these IMAP SEARCH keys may be deleted "
	         "(--delete2, --delete2duplicates)",
	         "'KEYS'"},
		{"debugimap", 0, 0, G_OPTION_ARG_NONE, &c->debugimap[2],
	         "Show the IMAP commands of both sides (--debug imap,wire)", NULL},
		{"debugimap1", 0, 0, G_OPTION_ARG_NONE, &c->debugimap[0],
	         "Show the IMAP commands (--debug imap,wire; lines name host1 or host2)", NULL},
		{"debugimap2", 0, 0, G_OPTION_ARG_NONE, &c->debugimap[1],
	         "Show the IMAP commands (--debug imap,wire; lines name host1 or host2)", NULL},
		{"debugflags", 0, 0, G_OPTION_ARG_NONE, &c->debugflags,
	         "Show the engine's decisions, flags included (--debug sync)", NULL},
		{"debugfolders", 0, 0, G_OPTION_ARG_NONE, &c->debugflags,
	         "Show the engine's decisions, folders included (--debug sync)", NULL},
		{NULL},
	};
	GOptionGroup *g = g_option_group_new(
		"imapsync", "imapsync's spellings (every other one: see docs/imapsync.md):",
		"imapsync's spellings", c, NULL);

	g_option_group_add_entries(g, mapped);
	imapsync_add_others(g, imapsync_no_effect, imapsync_on_no_effect);
	imapsync_add_others(g, imapsync_refused, imapsync_on_refused);
	g_option_context_add_group(ctx, g);
}

void
cli_imapsync_rewrite_argv(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		/* imapsync's --debug takes no value; mailhaul's takes the categories. */
		if (strcmp(argv[i], "--debug") == 0 && (i + 1 == argc || argv[i + 1][0] == '-'))
			argv[i] = (char *)"--debug=sync";
	}
}

/* "^NAME(/|.|$)": a folder and what is below it, for the usual separators. */
static char *
imapsync_folderrec_regex(const char *name)
{
	g_autofree char *quoted = g_regex_escape_string(name, -1);

	return g_strdup_printf("^%s([/.]|$)", quoted);
}

/* Escapes '/' (the delimiter of the rule) in @s. */
static char *
imapsync_escape_slash(const char *s)
{
	GString *out = g_string_new(NULL);

	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '/')
			g_string_append_c(out, '\\');
		g_string_append_c(out, *p);
	}
	return g_string_free(out, false);
}

/* "s/^SRC$/DST/" for --regextrans2, SRC matched literally. */
static char *
imapsync_f1f2_rule(const char *spec, GError **error)
{
	const char *eq = strchr(spec, '=');
	g_autofree char *src = NULL;
	g_autofree char *quoted = NULL;
	g_autofree char *pattern = NULL;
	g_autofree char *dst = NULL;

	if (eq == NULL || eq == spec || eq[1] == '\0') {
		cli_usage(error, "--f1f2 '%s': write SOURCE=DESTINATION", spec);
		return NULL;
	}
	src = g_strndup(spec, (gsize)(eq - spec));
	quoted = g_regex_escape_string(src, -1);
	pattern = imapsync_escape_slash(quoted);
	dst = imapsync_escape_slash(eq + 1);
	return g_strdup_printf("s/^%s$/%s/", pattern, dst);
}

/* Appends @add (owned) to the string vector *@v. */
static void
imapsync_strv_push(char ***v, char *add)
{
	guint n = *v != NULL ? g_strv_length(*v) : 0;

	*v = g_renew(char *, *v, n + 2);
	(*v)[n] = add;
	(*v)[n + 1] = NULL;
}

/* Prepends @add (owned) to the string vector *@v. */
static void
imapsync_strv_unshift(char ***v, char *add)
{
	guint n = *v != NULL ? g_strv_length(*v) : 0;
	char **nv = g_new(char *, n + 2);

	nv[0] = add;
	for (guint i = 0; i < n; i++)
		nv[i + 1] = (*v)[i];
	nv[n + 1] = NULL;
	g_free(*v);
	*v = nv;
}

/* --gmailN, --officeN without --hostN: the provider's server, port and TLS. */
static void
imapsync_provider_host(struct cli_imapsync *c, int i)
{
	struct cli_account *a = c->t.acct[i];
	const char *host = *c->t.gmail[i] ? "imap.gmail.com" : "outlook.office365.com";

	if (a->host != NULL || a->account != NULL || (!*c->t.gmail[i] && !*c->t.office[i]))
		return;
	a->host = g_strdup(host);
	if (a->port == 0)
		a->port = 993;
	if (!a->tls && !a->notls)
		a->ssl = true;
}

static bool
imapsync_apply_side(struct cli_imapsync *c, int i, GError **error)
{
	struct cli_account *a = c->t.acct[i];
	const char *n = i == 0 ? "1" : "2";

	if (c->nossl[i]) {
		if (a->ssl)
			return cli_usage(error, "--nossl%s and --ssl%s exclude each other", n, n);
		if (a->port == 0)
			a->port = 143;
	}
	if (c->authmd5[i]) {
		if (a->authmech != NULL)
			return cli_usage(error, "--authmd5%s and --authmech%s exclude each other",
			                 n, n);
		a->authmech = g_strdup("CRAM-MD5");
	}
	if (c->exchange[i]) {
		if (*c->t.provider[i] != NULL || *c->t.gmail[i] || *c->t.office[i])
			return cli_usage(error, "--exchange%s names a second provider for side %s",
			                 n, n);
		*c->t.provider[i] = g_strdup("m365");
	}
	imapsync_provider_host(c, i);
	return true;
}

bool
cli_imapsync_apply(struct cli_imapsync *c, bool *verify_r, GError **error)
{
	for (int i = 0; i < 2; i++) {
		if (!imapsync_apply_side(c, i, error))
			return false;
	}
	if (c->search1 != NULL) {
		if (*c->t.search != NULL)
			return cli_usage(error, "--search and --search1 exclude each other");
		*c->t.search = g_strdup(c->search1);
	}
	for (size_t i = 0; c->folderrec != NULL && c->folderrec[i] != NULL; i++)
		imapsync_strv_push(c->t.include, imapsync_folderrec_regex(c->folderrec[i]));
	/* --f1f2 comes before every --regextrans2, as imapsync lets it win. */
	for (size_t i = c->f1f2 != NULL ? g_strv_length(c->f1f2) : 0; i-- > 0;) {
		char *rule = imapsync_f1f2_rule(c->f1f2[i], error);

		if (rule == NULL)
			return false;
		imapsync_strv_unshift(c->t.regextrans2, rule);
	}
	if (c->disarmreadreceipts) {
		char *old = *c->t.fixups;

		*c->t.fixups =
			old == NULL ? g_strdup("receipts") : g_strconcat(old, ",receipts", NULL);
		g_free(old);
	}
	if (c->maxmessagespersecond < 0 || c->exitwhenover < 0 || c->maxbytespersecond < 0 ||
	    c->maxbytesafter < 0 || c->errorsmax < 0)
		return cli_usage(error,
		                 "--maxmessagespersecond, --maxbytespersecond, --maxbytesafter, "
		                 "--exitwhenover and --errorsmax must not be negative");
	if (c->expunge1 && c->noexpunge1)
		return cli_usage(error, "--expunge1 and --noexpunge1 exclude each other");
	if (c->search2 != NULL) {
		g_autoptr(GError) local = NULL;

		if (!mh_imap_search_check(c->search2, &local))
			return cli_usage(error, "--search2: %s", local->message);
	}
	if (c->maxmessagespersecond > 0) {
		int jobs = *c->t.jobs > 0 ? *c->t.jobs : 4;

		if (*c->t.pace >= 0)
			return cli_usage(error,
			                 "--maxmessagespersecond and --pace exclude each other");
		*c->t.pace = c->maxmessagespersecond / jobs;
	}
	if (c->debugimap[0] || c->debugimap[1] || c->debugimap[2] || c->debugflags) {
		const char *cats =
			c->debugflags && (c->debugimap[0] || c->debugimap[1] || c->debugimap[2])
				? "imap,wire,sync"
			: c->debugflags ? "sync"
					: "imap,wire";
		char *old = *c->t.debug;

		*c->t.debug = old == NULL ? g_strdup(cats) : g_strconcat(old, ",", cats, NULL);
		g_free(old);
	}
	if (c->logfile != NULL && *c->t.log != NULL)
		return cli_usage(error, "--log and --logfile exclude each other");
	if (c->nolog && (c->logfile != NULL || c->logdir != NULL || *c->t.log != NULL))
		return cli_usage(error, "--nolog excludes --log, --logfile and --logdir");
	if (c->pidfilelocking && c->pidfile == NULL)
		return cli_usage(error, "--pidfilelocking needs --pidfile FILE");
	*verify_r = c->justfoldersizes;
	return true;
}

static GPtrArray *
imapsync_strv_array(char **v)
{
	GPtrArray *a = g_ptr_array_new();

	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		g_ptr_array_add(a, v[i]);
	return a;
}

bool
cli_imapsync_fill(const struct cli_imapsync *c, struct mh_sync_options *so, GError **error)
{
	if (c->folderfirst != NULL)
		so->folder_first = imapsync_strv_array(c->folderfirst);
	if (c->folderlast != NULL)
		so->folder_last = imapsync_strv_array(c->folderlast);
	so->only_subscribed = c->subscribed;
	so->expunge1 = c->expunge1;
	so->delete1_no_expunge = c->noexpunge1;
	so->search2 = c->search2;
	so->errors_max = (uint64_t)c->errorsmax;
	so->subfolder2 = c->subfolder2;
	so->subfolder1 = c->subfolder1;
	so->max_bytes_per_second = (uint64_t)c->maxbytespersecond;
	so->max_bytes_after = (uint64_t)c->maxbytesafter;
	if (c->regexflag != NULL) {
		so->flag_rules =
			g_ptr_array_new_with_free_func((GDestroyNotify)mh_plan_regextrans_free);
		for (size_t i = 0; c->regexflag[i] != NULL; i++) {
			struct mh_plan_regextrans *rt =
				mh_plan_regextrans_parse(c->regexflag[i], error);

			if (rt == NULL) {
				g_prefix_error(error, "--regexflag: ");
				return false;
			}
			g_ptr_array_add(so->flag_rules, rt);
		}
	}
	return true;
}

void
cli_imapsync_fill_clear(struct mh_sync_options *so)
{
	g_clear_pointer(&so->folder_first, g_ptr_array_unref);
	g_clear_pointer(&so->folder_last, g_ptr_array_unref);
	g_clear_pointer(&so->flag_rules, g_ptr_array_unref);
}

void
cli_imapsync_log_no_effect(const struct cli_imapsync *c)
{
	for (guint i = 0; c->no_effect != NULL && i < c->no_effect->len; i++)
		mh_log(MH_LOG_INFO, "%s", (char *)c->no_effect->pdata[i]);
}

bool
cli_imapsync_log_path(const struct cli_imapsync *c, char **path_r, GError **error)
{
	g_autoptr(GDateTime) now = NULL;
	g_autofree char *stamp = NULL;

	*path_r = NULL;
	if (c->nolog)
		return true;
	if (c->logdir == NULL) {
		*path_r = g_strdup(c->logfile);
		return false;
	}
	if (g_mkdir_with_parents(c->logdir, 0700) != 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
		            "cannot create the log directory %s: %s", c->logdir, g_strerror(errno));
		return false;
	}
	if (c->logfile != NULL) {
		*path_r = g_build_filename(c->logdir, c->logfile, NULL);
		return false;
	}
	now = g_date_time_new_now_local();
	stamp = g_date_time_format(now, "%Y-%m-%d_%H-%M-%S");
	*path_r = g_strdup_printf("%s/%s-%d-sync.log", c->logdir, stamp, (int)getpid());
	return false;
}

bool
cli_imapsync_pidfile_start(struct cli_imapsync *c, GError **error)
{
	g_autofree char *old = NULL;
	g_autofree char *pid = NULL;

	if (c->pidfile == NULL)
		return true;
	if (c->pidfilelocking && g_file_get_contents(c->pidfile, &old, NULL, NULL)) {
		long other = strtol(old, NULL, 10);

		if (other > 0 && other != (long)getpid() && kill((pid_t)other, 0) == 0) {
			g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_LOCKED,
			            "the pid file %s names process %ld, which is running "
			            "(--pidfilelocking): run later",
			            c->pidfile, other);
			return false;
		}
	}
	pid = g_strdup_printf("%d\n", (int)getpid());
	if (!g_file_set_contents(c->pidfile, pid, -1, error))
		return false;
	c->pidfile_written = g_strdup(c->pidfile);
	return true;
}

void
cli_imapsync_pidfile_end(struct cli_imapsync *c)
{
	if (c->pidfile_written != NULL)
		unlink(c->pidfile_written);
	g_clear_pointer(&c->pidfile_written, g_free);
}

struct cli_imapsync_watch {
	GThread *thread;
	const struct mh_sync_progress *progress;
	volatile int *stop;
	gint64 bytes_limit; /* --exitwhenover */
	gint done;          /* set to end the watcher */
	gint fired;         /* the watcher stopped the run */
};

static gpointer
imapsync_watch(gpointer data)
{
	struct cli_imapsync_watch *w = data;

	while (!g_atomic_int_get(&w->done)) {
		gint64 bytes = __atomic_load_n(&w->progress->bytes_done, __ATOMIC_RELAXED);

		if (bytes >= w->bytes_limit) {
			mh_log(MH_LOG_INFO,
			       "%" G_GINT64_FORMAT " bytes copied, --exitwhenover %" G_GINT64_FORMAT
			       " reached: stopping after the messages in flight",
			       bytes, w->bytes_limit);
			g_atomic_int_set(&w->fired, 1);
			*w->stop = 1;
			break;
		}
		g_usleep(20000);
	}
	return NULL;
}

struct cli_imapsync_watch *
cli_imapsync_watch_start(const struct cli_imapsync *c, const struct mh_sync_progress *p,
                         volatile int *stop)
{
	struct cli_imapsync_watch *w;

	if (c->exitwhenover <= 0)
		return NULL;
	w = g_new0(struct cli_imapsync_watch, 1);
	w->progress = p;
	w->stop = stop;
	w->bytes_limit = c->exitwhenover;
	w->thread = g_thread_new("exitwhenover", imapsync_watch, w);
	return w;
}

bool
cli_imapsync_watch_end(struct cli_imapsync_watch *w)
{
	bool fired;

	if (w == NULL)
		return false;
	g_atomic_int_set(&w->done, 1);
	g_thread_join(w->thread);
	fired = g_atomic_int_get(&w->fired) != 0;
	g_free(w);
	return fired;
}

void
cli_imapsync_clear(struct cli_imapsync *c)
{
	cli_imapsync_pidfile_end(c);
	g_free(c->logfile);
	g_free(c->logdir);
	g_free(c->pidfile);
	g_free(c->search1);
	g_free(c->search2);
	g_free(c->subfolder2);
	g_free(c->subfolder1);
	g_strfreev(c->folderrec);
	g_strfreev(c->folderfirst);
	g_strfreev(c->folderlast);
	g_strfreev(c->f1f2);
	g_strfreev(c->regexflag);
	if (c->no_effect != NULL)
		g_ptr_array_unref(c->no_effect);
	memset(c, 0, sizeof(*c));
}
