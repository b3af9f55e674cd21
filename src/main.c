/* SPDX-License-Identifier: MIT */
/* mailhaul's entry point: subcommand dispatch, global help and version, imapsync-style
 * invocations without a subcommand. Only this layer maps errors to exit codes and
 * prints them. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "cli.h"
#include "mh-log.h"
#include "mh-secret.h"
#include "signin.h"

typedef int cmd_main_fn(int argc, char **argv);

struct command {
	const char *name;
	const char *summary;
	cmd_main_fn *run; /* NULL: not available in this version */
};

static int
run_check(int argc, char **argv)
{
	return mh_cmd_check(argc, argv, false);
}

static int
run_sync(int argc, char **argv)
{
	return mh_cmd_sync(argc, argv, false, false);
}

static int
run_verify(int argc, char **argv)
{
	return mh_cmd_sync(argc, argv, true, false);
}

static const struct command commands[] = {
	{"check", "Connect to a server, log in, show capabilities and folders", run_check},
	{"sync", "Copy a whole mailbox to another server, verify, resync later", run_sync},
	{"verify", "Compare two mailboxes folder by folder without copying", run_verify},
	{"login", "Sign in to an OAuth2 account once and keep the tokens in the keyring",
         mh_cmd_login},
	{"logout", "Forget (and revoke) a stored sign-in", mh_cmd_logout},
	{"accounts", "List the stored sign-ins", mh_cmd_accounts},
	{"token", "Print a fresh OAuth2 access token for an account", mh_cmd_token},
	{"batch", "Migrate many mailboxes listed in a CSV file", mh_cmd_batch},
	{"batch-report", "Merge the summaries of batch directories (shards) into one",
         mh_cmd_batch_report},
	{"provider", "Show a provider profile, or import a Google OAuth client", mh_cmd_provider},
};

static void
print_usage(FILE *out)
{
	fprintf(out, "Usage: mailhaul COMMAND [OPTIONS]\n"
	             "       mailhaul sync [OPTIONS] SOURCE DEST\n"
	             "       mailhaul help COMMAND\n\n"
	             "Moves whole mailboxes between IMAP servers.\n\nCommands:\n");
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  %-12s %s%s\n", commands[i].name, commands[i].summary,
		        commands[i].run == NULL ? " (not yet available)" : "");
	fprintf(out, "  %-12s %s\n", "help", "Show a command's options and examples");
	fprintf(out, "\nimapsync's command lines work as they are: options with no command word\n"
	             "are a sync (`mailhaul --host1 H1 --user1 U1 --host2 H2 --user2 U2 ...`),\n"
	             "and `--justlogin` with one side only checks that side.\n\n"
	             "Options for every command:\n"
	             "  -h, --help     Show the command's options\n"
	             "  --version      Show the version\n"
	             "  --debug CATS   Debug output: imap, wire, sync, auth, http or all\n\n"
	             "Exit codes:\n"
	             "  0    success\n"
	             "  1    differences remain after sync or verify, or a failure not covered "
	             "below\n"
	             "  10   cannot connect: host unknown, refused, timed out, dropped\n"
	             "  12   TLS: certificate not trusted, host name mismatch, no STARTTLS\n"
	             "  16   authentication refused, or no usable mechanism\n"
	             "  17   check --send-test: the submission server refused the test message\n"
	             "  18   check --send-test: the test message did not arrive in time\n"
	             "  64   usage: unknown option, missing or bad value\n"
	             "  66   a file given cannot be read (--passfile)\n"
	             "  69   the command is not available in this version\n"
	             "  70   internal error (a bug in mailhaul: please report it)\n"
	             "  73   an output file (--log, --report) cannot be written\n"
	             "  75   another run is using the account pair (see --wait-lock)\n"
	             "  76   protocol error: the server sent a malformed or oversized response\n"
	             "  111  some messages failed (listed)\n"
	             "  112  stopped by --errorsmax\n"
	             "  113  the destination is over quota\n"
	             "  114  the destination refused an APPEND\n"
	             "  118  stopped by --exitwhenover\n"
	             "  130  interrupted: run the same command again to finish\n");
}

static const struct command *
find_command(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

static int
run_command(const struct command *cmd, int argc, char **argv)
{
	g_autofree char *prog = NULL;

	if (cmd->run == NULL) {
		mh_log(MH_LOG_ERROR,
		       "'%s' is not available in mailhaul %s yet; see "
		       "`mailhaul --help` for what is",
		       cmd->name, MH_VERSION);
		return MH_EXIT_UNAVAILABLE;
	}
	/* GOption prints "Usage: PROG [OPTION...]": name the command in it. */
	prog = g_strdup_printf("mailhaul %s", cmd->name);
	g_set_prgname(prog);
	argv[0] = prog;
	return cmd->run(argc, argv);
}

static int
run_help(int argc, char **argv)
{
	const struct command *cmd;
	char *help_argv[] = {argv[0], "--help", NULL};

	if (argc < 2) {
		print_usage(stdout);
		return MH_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		printf("Usage: mailhaul help [COMMAND]\n\n"
		       "Shows a command's options, examples and exit codes (the same as `mailhaul "
		       "COMMAND --help`);\nwithout a COMMAND, the list of commands and the exit "
		       "codes.\n");
		return MH_EXIT_OK;
	}
	cmd = find_command(argv[1]);
	if (cmd == NULL) {
		mh_log(MH_LOG_ERROR, "unknown command '%s' (see `mailhaul --help`)", argv[1]);
		return MH_EXIT_USAGE;
	}
	if (cmd->run == NULL) {
		printf("mailhaul %s: %s.\nNot available in mailhaul %s yet.\n", cmd->name,
		       cmd->summary, MH_VERSION);
		return MH_EXIT_OK;
	}
	return run_command(cmd, 2, help_argv);
}

static bool
has_arg(int argc, char **argv, const char *prefix)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], prefix) == 0 ||
		    (g_str_has_prefix(argv[i], prefix) && argv[i][strlen(prefix)] == '='))
			return true;
	}
	return false;
}

/* Whether any option of the destination (side 2) is given: a second side. */
static bool
names_side2(int argc, char **argv)
{
	static const char *const side2[] = {"--host2",  "--user2",   "--account2",
	                                    "--gmail2", "--office2", "--exchange2"};

	for (size_t i = 0; i < G_N_ELEMENTS(side2); i++) {
		if (has_arg(argc, argv, side2[i]))
			return true;
	}
	return false;
}

/* Whether @arg names an option whose value is a secret: --password, --password1/2,
 * --oauthaccesstoken, --oauthaccesstoken1/2. Sets *value_r to the value of the
 * "--opt=VALUE" form, else NULL. */
static bool
secret_option(char *arg, char **value_r)
{
	static const char *const names[] = {"--password", "--oauthaccesstoken"};

	*value_r = NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		size_t n = strlen(names[i]);
		char *rest = arg + n;

		if (strncmp(arg, names[i], n) != 0)
			continue;
		if (*rest == '1' || *rest == '2')
			rest++;
		if (*rest == '=')
			*value_r = rest + 1;
		if (*rest == '=' || *rest == '\0')
			return true;
	}
	return false;
}

/* A copy of the arguments that lives as long as the process (main_args owns the strings;
 * main_argv, which the commands parse, is rearranged by GOption). */
static char **main_args;
static char **main_argv;

/* The commands parse a copy of the arguments; the values of secret options are wiped
 * from the original ones at once, which are what /proc/PID/cmdline and ps show to every
 * user of the machine. Returns the copy. */
static char **
scrub_argv(int argc, char **argv)
{
	char **copy = main_argv = g_new0(char *, (gsize)argc + 1);

	main_args = g_new0(char *, (gsize)argc + 1);
	for (int i = 0; i < argc; i++)
		copy[i] = main_args[i] = g_strdup(argv[i]);
	for (int i = 1; i < argc; i++) {
		char *value = NULL;

		if (strcmp(argv[i], "--") == 0)
			break;
		if (!secret_option(argv[i], &value))
			continue;
		if (value == NULL && i + 1 < argc)
			value = argv[++i];
		if (value != NULL)
			mh_secret_wipe(value, strlen(value));
	}
	return copy;
}

int
main(int argc, char **argv)
{
	const struct command *cmd;

	argv = scrub_argv(argc, argv);
	setlocale(LC_ALL, "");
	g_set_prgname("mailhaul");
	if (argc < 2) {
		print_usage(stderr);
		return MH_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return run_help(1, argv);
	if (strcmp(argv[1], "help") == 0)
		return run_help(argc - 1, argv + 1);
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("mailhaul %s\n", MH_VERSION);
		return MH_EXIT_OK;
	}
	if (argv[1][0] == '-') {
		/* imapsync-style invocation: no subcommand. --justlogin with one side only
		 * checks that side; anything else is a sync, whose parser names a wrong
		 * option. */
		if (has_arg(argc, argv, "--justlogin") && !names_side2(argc, argv))
			return mh_cmd_check(argc, argv, true);
		g_set_prgname("mailhaul sync");
		return mh_cmd_sync(argc, argv, false, true);
	}
	cmd = find_command(argv[1]);
	if (cmd == NULL) {
		mh_log(MH_LOG_ERROR, "unknown command '%s' (see `mailhaul --help`)", argv[1]);
		return MH_EXIT_USAGE;
	}
	return run_command(cmd, argc - 1, argv + 1);
}
