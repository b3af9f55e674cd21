/* SPDX-License-Identifier: MIT */
/* Shared pieces of the command line: account options (plain and imapsync's numbered
 * spellings), reading passwords, error domain and the mapping to exit codes. */
#ifndef MH_CLI_H
#define MH_CLI_H

#include <glib.h>
#include <stdbool.h>

#include "imap.h"

#define MH_CONFIG_ERROR (mh_config_error_quark())
GQuark mh_config_error_quark(void);

enum mh_config_error_code {
	MH_CONFIG_ERROR_USAGE,       /* bad or missing option: exit 64 */
	MH_CONFIG_ERROR_NOINPUT,     /* a file given cannot be read: exit 66 */
	MH_CONFIG_ERROR_UNAVAILABLE, /* the command is not available yet: exit 69 */
};

/* Exit codes, documented in README.md and `mailhaul --help`. imapsync's codes where it
 * has one, sysexits.h otherwise. */
enum mh_exit {
	MH_EXIT_OK = 0,
	MH_EXIT_FAILURE = 1,
	MH_EXIT_CONNECT = 10,
	MH_EXIT_TLS = 12,
	MH_EXIT_AUTH = 16,
	MH_EXIT_SEND_REFUSED = 17,  /* check --send-test: the submission server refused it */
	MH_EXIT_NOT_DELIVERED = 18, /* check --send-test: accepted, never arrived in INBOX */
	MH_EXIT_USAGE = 64,
	MH_EXIT_NOINPUT = 66,
	MH_EXIT_UNAVAILABLE = 69,
	MH_EXIT_SOFTWARE = 70,
	MH_EXIT_CANTCREAT = 73, /* an output file (log, report) cannot be written (EX_CANTCREAT) */
	MH_EXIT_LOCKED = 75,    /* another run is using the account pair (EX_TEMPFAIL) */
	MH_EXIT_PROTOCOL = 76,
	MH_EXIT_MESSAGES = 111,  /* some messages failed (listed) */
	MH_EXIT_QUOTA = 113,     /* the destination is over quota */
	MH_EXIT_APPEND = 114,    /* the destination refused an APPEND */
	MH_EXIT_ERRORSMAX = 112, /* stopped by --errorsmax (imapsync's code) */
	MH_EXIT_OVER = 118,      /* stopped by --exitwhenover (imapsync's code) */
	MH_EXIT_INTERRUPTED = 130,
};

/* One side's options, as given (strings owned by GOption, freed by cli_account_clear). */
struct cli_account {
	char *host;
	int port;
	gboolean ssl;
	gboolean tls;
	gboolean notls;
	char *user;
	char *password;
	char *passfile;
	char *authmech;
	char *authuser;
	char *cafile;
	gboolean insecure;
	gboolean noauthmd5;
	int timeout;
	char *service_account; /* Google service-account key file (JWT bearer), or NULL */
	gboolean app_only;     /* client credentials (Microsoft app-only) */
	char *oauth_token;     /* imapsync's --oauthaccesstoken: a token, or a file holding one */
	char *given_password;  /* owned mh_secret: a password the program was given (a batch
	                          file's column), used before any other source */
	struct mh_account *account;     /* owned; given as PROVIDER:USER, or NULL */
	struct mh_token_source *tokens; /* owned; OAuth2 accounts: where tokens come from */
};

struct mh_config;

/* Takes the settings of account @spec (PROVIDER:USER) for what the options left unset:
 * host, port, TLS mode, CA file, user; OAuth2 accounts get their stored sign-in as the
 * token source (no password then). */
bool cli_account_use(struct cli_account *acct, const struct mh_config *cfg, const char *spec,
                     const char *token_store, GError **error);

/* Prompts for a password without echo (a terminal is needed); *password_r is a secret. */
bool cli_prompt_password(const char *user, const char *host, char **password_r, GError **error);

/* Logs in with the account's password or tokens (a fresh token once more when the
 * server refuses the first as expired). */
bool cli_login(struct mh_imap_conn *conn, struct cli_account *acct,
               const struct mh_imap_credentials *cred, GError **error);

/* A token callback over acct->tokens, for mh_store_imap_set_token() and
 * mh_token_login_run(). */
char *cli_token_cb(void *ctx, bool force, GError **error);

/* Adds the account options to @group, with @suffix ("", "1" or "2") after each long
 * name as imapsync spells them (--host1). */
void cli_account_add_entries(GOptionGroup *group, struct cli_account *acct, const char *suffix);

/* Checks the options and fills connection settings and credentials. The password
 * comes from --password (warned about), --passfile, $MAILHAUL_PASSWORD, or a prompt on
 * a terminal; *password_r is an mh_secret buffer the caller frees. */
bool cli_account_resolve(struct cli_account *acct, const char *suffix,
                         struct mh_imap_settings *set_r, struct mh_imap_credentials *cred_r,
                         char **password_r, GError **error);

void cli_account_clear(struct cli_account *acct);

/* When @error is GOption's "Unknown option --x", adds the closest option of @ctx's help
 * ("did you mean --y?") when one is close enough (an edit distance of at most a third of
 * the name, and at least 2). */
void cli_option_suggest(GOptionContext *ctx, GError *error);

/* Sets a usage error (MH_CONFIG_ERROR_USAGE, exit 64) with the formatted message; returns
 * false. */
bool cli_usage(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Checks the options of one side (@suffix as in cli_account_add_entries) as
 * cli_account_resolve() does first: host and user given, TLS flags, port, mechanism. */
bool cli_account_check(const struct cli_account *acct, const char *suffix, GError **error);

/* Ends a command: without @error returns @rc; else prints the one error line (after
 * what stdout holds) and returns the error's exit code. Same as cli_finish_side() with
 * no side: no provider's advice, and no advice for a refused sign-in. */
int cli_finish(const GError *error, int rc);

struct mh_provider;

/* The account an error is about, for the advice on its error line (all borrowed). */
struct cli_side {
	const struct cli_account *acct;    /* its options */
	const char *suffix;                /* of its options: "1", "2" or "" (check) */
	const struct mh_provider *profile; /* of its server (chosen or detected), or NULL */
};

/* As cli_finish(), for an error about @side (NULL: about no one account): a provider's
 * advice only when @side's profile is that provider; a sign-in the server refused says
 * what to check for that side: the user and password given (--userN, --passwordN or
 * --passfileN), or to sign in again (`mailhaul login ACCOUNT`) for a stored OAuth2 sign-in. */
int cli_finish_side(const GError *error, int rc, const struct cli_side *side);

/* "NO", "BAD" or "BYE" for a server's refusal from the IMAP layer, else "" (what the
 * providers' error rules are keyed on). */
const char *cli_error_status(const GError *error);

/* Maps an error to the documented exit code. */
int cli_exit_code(const GError *error);

/* Parses --debug's value and switches the categories on. */
bool cli_set_debug(const char *spec, GError **error);

int mh_cmd_check(int argc, char **argv, bool imapsync_style);

/* provider show NAME | provider import-google FILE */
int mh_cmd_provider(int argc, char **argv);

/* sync and verify; @imapsync_style: invoked without a subcommand. */
int mh_cmd_sync(int argc, char **argv, bool verify, bool imapsync_style);

#endif
