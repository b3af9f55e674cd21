/* SPDX-License-Identifier: MIT */
/* Account options shared by commands, password sources, and exit codes. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "config.h"
#include "mh-log.h"
#include "mh-secret.h"
#include "provider.h"
#include "sasl.h"
#include "signin.h"
#include "smtp.h"
#include "sync-error.h"
#include "sync-plan.h"
#include "sync-token.h"

/* Written out: clang-format would put spaces into G_DEFINE_QUARK's hyphenated name. */
GQuark
mh_config_error_quark(void)
{
	return g_quark_from_static_string("mh-config-error-quark");
}

void
cli_account_add_entries(GOptionGroup *group, struct cli_account *a, const char *suffix)
{
	const GOptionEntry base[] = {
		{"host", 0, 0, G_OPTION_ARG_STRING, &a->host, "IMAP server name or address",
	         "HOST"},
		{"port", 0, 0, G_OPTION_ARG_INT, &a->port,
	         "Port (default 993 with --ssl, else 143)", "PORT"},
		{"ssl", 0, 0, G_OPTION_ARG_NONE, &a->ssl, "Implicit TLS from the first byte (993)",
	         NULL},
		{"tls", 0, 0, G_OPTION_ARG_NONE, &a->tls, "STARTTLS, required (port 143)", NULL},
		{"notls", 0, 0, G_OPTION_ARG_NONE, &a->notls,
	         "No encryption at all (passwords travel in clear)", NULL},
		{"user", 0, 0, G_OPTION_ARG_STRING, &a->user, "Mailbox user name", "USER"},
		{"password", 0, 0, G_OPTION_ARG_STRING, &a->password,
	         "Password (visible to other local users: prefer --passfile)", "PASSWORD"},
		{"passfile", 0, 0, G_OPTION_ARG_FILENAME, &a->passfile,
	         "Read the password from the first line of FILE", "FILE"},
		{"authmech", 0, 0, G_OPTION_ARG_STRING, &a->authmech,
	         "CRAM-MD5, PLAIN or LOGIN (default: the strongest offered)", "MECH"},
		{"authuser", 0, 0, G_OPTION_ARG_STRING, &a->authuser,
	         "Authenticate as this admin/master user, acting as --user (PLAIN)", "ADMIN"},
		{"cafile", 0, 0, G_OPTION_ARG_FILENAME, &a->cafile,
	         "Trust the CA certificates in FILE instead of the system store", "FILE"},
		{"insecure", 0, 0, G_OPTION_ARG_NONE, &a->insecure,
	         "Do not verify the server certificate (dangerous)", NULL},
		{"noauthmd5", 0, 0, G_OPTION_ARG_NONE, &a->noauthmd5, "Never use CRAM-MD5", NULL},
		{"service-account", 0, 0, G_OPTION_ARG_FILENAME, &a->service_account,
	         "Sign in as this Google service account (JSON key, domain-wide delegation)",
	         "FILE"},
		{"oauthaccesstoken", 0, 0, G_OPTION_ARG_STRING, &a->oauth_token,
	         "Use this OAuth2 access token (or the token in this file), as imapsync does",
	         "TOKEN|FILE"},
		{"app-only", 0, 0, G_OPTION_ARG_NONE, &a->app_only,
	         "Sign in as the app (client credentials: Microsoft app-only access)", NULL},
		{"timeout", 0, 0, G_OPTION_ARG_INT, &a->timeout,
	         "Seconds to wait for the server (default 120)", "SECONDS"},
	};
	GOptionEntry *entries = g_new0(GOptionEntry, G_N_ELEMENTS(base) + 1);
	size_t n = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(base); i++) {
		/* GOption keeps pointers to the names: the strings live as long as the
		 * process, like the option tables of every command. */
		g_autofree char *name = g_strconcat(base[i].long_name, suffix, NULL);

		/* imapsync spells --noauthmd5 once for both sides. */
		if (*suffix != '\0' && strcmp(base[i].long_name, "noauthmd5") == 0)
			continue;
		entries[n] = base[i];
		entries[n].long_name = g_intern_string(name);
		if (*suffix != '\0') {
			g_autofree char *desc =
				g_strdup_printf("%s (side %s)", base[i].description, suffix);

			entries[n].description = g_intern_string(desc);
		}
		n++;
	}
	g_option_group_add_entries(group, entries);
	g_free(entries);
}

/* The longest first line a password file may have. */
#define PASSFILE_MAX 4096

/* Reads the first line of @path, a regular file, in bounded memory: a FIFO with no writer
 * would hang and /dev/urandom would never end. A file others may read is used, with a
 * warning. */
static bool
cli_read_passfile(const char *path, char **password_r, GError **error)
{
	char *buf = mh_secret_alloc(PASSFILE_MAX + 1);
	struct stat st;
	ssize_t got = 0;
	size_t line;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	bool ok = false;

	if (fd < 0 || fstat(fd, &st) != 0) {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_NOINPUT,
		            "cannot read the password file %s: %s", path, g_strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_NOINPUT,
		            "the password file %s is not a regular file: give a file whose first "
		            "line is the password",
		            path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		mh_log(MH_LOG_WARN, "the password file %s can be read by other users: chmod 600 %s",
		       path, path);
	while (got < PASSFILE_MAX) {
		ssize_t n = read(fd, buf + got, (size_t)(PASSFILE_MAX - got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_NOINPUT,
			            "cannot read the password file %s: %s", path,
			            g_strerror(errno));
			goto out;
		}
		if (n == 0 || memchr(buf + got, '\n', (size_t)n) != NULL) {
			got += n;
			break;
		}
		got += n;
	}
	for (line = 0; line < (size_t)got && buf[line] != '\r' && buf[line] != '\n'; line++)
		;
	if (line == (size_t)PASSFILE_MAX) {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
		            "the password file %s has no line break in its first %d bytes: its "
		            "first line must hold the password",
		            path, PASSFILE_MAX);
	} else if (line == 0) {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
		            "the password file %s is empty: its first line must hold the password",
		            path);
	} else if (memchr(buf, '\0', line) != NULL) {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
		            "the password file %s holds a NUL byte in its first line: it is not a "
		            "text file",
		            path);
	} else {
		*password_r = mh_secret_strndup(buf, line);
		ok = true;
	}
out:
	if (fd >= 0)
		close(fd);
	mh_secret_free(buf);
	return ok;
}

bool
cli_prompt_password(const char *user, const char *host, char **password_r, GError **error)
{
	struct termios old, quiet;
	char buf[1024];
	bool ok;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &old) != 0) {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
		            "no password for %s: give --passfile FILE or set MAILHAUL_PASSWORD",
		            user);
		return false;
	}
	fprintf(stderr, "Password for %s on %s: ", user, host);
	fflush(stderr);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	ok = fgets(buf, sizeof(buf), stdin) != NULL;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	if (ok)
		*password_r = mh_secret_strndup(buf, strcspn(buf, "\r\n"));
	mh_secret_wipe(buf, sizeof(buf));
	if (!ok)
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE, "no password given");
	return ok;
}

static bool
cli_password(struct cli_account *a, const char *suffix, char **password_r, GError **error)
{
	const char *env = g_getenv("MAILHAUL_PASSWORD");
	const char *who = a->authuser != NULL ? a->authuser : a->user;

	if (a->given_password != NULL) {
		*password_r = mh_secret_strdup(a->given_password);
		return true;
	}
	if (a->password != NULL) {
		mh_log(MH_LOG_WARN,
		       "--password%s is visible to other users of this machine in "
		       "the process list: prefer --passfile%s or MAILHAUL_PASSWORD",
		       suffix, suffix);
		*password_r = mh_secret_strdup(a->password);
		mh_secret_wipe(a->password, strlen(a->password));
		return true;
	}
	if (a->passfile != NULL)
		return cli_read_passfile(a->passfile, password_r, error);
	if (env != NULL) {
		*password_r = mh_secret_strdup(env);
		return true;
	}
	return cli_prompt_password(who, a->host, password_r, error);
}

bool
cli_usage(GError **error, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE, msg);
	return false;
}

void
cli_option_suggest(GOptionContext *ctx, GError *error)
{
	g_autofree char *help = NULL;
	g_autoptr(GRegex) re = NULL;
	g_autoptr(GMatchInfo) m = NULL;
	g_autofree char *best = NULL;
	const char *given;
	unsigned best_d = G_MAXUINT;
	char *old;

	if (error == NULL || !g_error_matches(error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION))
		return;
	given = strstr(error->message, "--");
	if (given == NULL)
		return;
	help = g_option_context_get_help(ctx, false, NULL);
	re = g_regex_new("^  (?:-., )?(--[a-z0-9_-]+)", G_REGEX_MULTILINE, 0, NULL);
	g_regex_match(re, help, 0, &m);
	for (; g_match_info_matches(m); g_match_info_next(m, NULL)) {
		g_autofree char *name = g_match_info_fetch(m, 1);
		unsigned d = mh_plan_name_distance(given, name);

		if (d < best_d) {
			best_d = d;
			g_free(best);
			best = g_steal_pointer(&name);
		}
	}
	if (best == NULL || best_d > MAX(2u, (unsigned)strlen(given) / 3))
		return;
	old = error->message;
	error->message = g_strdup_printf("%s (did you mean %s?)", old, best);
	g_free(old);
}

bool
cli_account_check(const struct cli_account *a, const char *s, GError **error)
{
	if ((a->service_account != NULL || a->app_only) && a->account == NULL)
		return cli_usage(error,
		                 "--service-account%s and --app-only%s need the account "
		                 "written PROVIDER:USER",
		                 s, s);
	if (a->host == NULL || *a->host == '\0')
		return cli_usage(error, "missing --host%s: which IMAP server?", s);
	if (a->user == NULL || *a->user == '\0')
		return cli_usage(error, "missing --user%s: which mailbox?", s);
	if ((a->ssl ? 1 : 0) + (a->tls ? 1 : 0) + (a->notls ? 1 : 0) > 1)
		return cli_usage(error, "--ssl%s, --tls%s and --notls%s exclude each other", s, s,
		                 s);
	if (a->port < 0 || a->port > 65535)
		return cli_usage(error, "--port%s must be between 1 and 65535", s);
	if (a->timeout < 0)
		return cli_usage(error, "--timeout%s must be a number of seconds", s);
	if (a->authmech != NULL && mh_sasl_mech_find(a->authmech) == NULL)
		return cli_usage(error, "unknown --authmech%s '%s' (use CRAM-MD5, PLAIN or LOGIN)",
		                 s, a->authmech);
	if (a->authuser != NULL && a->authmech != NULL &&
	    g_ascii_strcasecmp(a->authmech, "PLAIN") != 0)
		return cli_usage(error, "--authuser%s needs --authmech%s PLAIN", s, s);
	return true;
}

static enum mh_imap_tls_mode
cli_tls_mode(const struct cli_account *a)
{
	if (a->ssl)
		return MH_IMAP_TLS_IMPLICIT;
	if (a->tls)
		return MH_IMAP_TLS_STARTTLS;
	if (a->notls)
		return MH_IMAP_TLS_NONE;
	return a->port == 0 || a->port == 993 ? MH_IMAP_TLS_IMPLICIT : MH_IMAP_TLS_AUTO;
}

/* --oauthaccesstoken: the token itself, or a file whose first line holds it. */
static bool
cli_read_token(const char *value, char **token_r, GError **error)
{
	if (g_file_test(value, G_FILE_TEST_IS_REGULAR))
		return cli_read_passfile(value, token_r, error);
	*token_r = mh_secret_strdup(value);
	return true;
}

/* A password stored with `mailhaul login` for an account written PROVIDER:USER, when no
 * other source was given. */
static bool
cli_stored_password(struct cli_account *a, char **password_r)
{
	g_autoptr(mh_keyring) kr = NULL;
	g_autofree char *key = NULL;

	if (a->account == NULL || a->password != NULL || a->passfile != NULL ||
	    a->given_password != NULL || g_getenv("MAILHAUL_PASSWORD") != NULL)
		return false;
	kr = mh_signin_open_store(a->account, NULL, NULL);
	key = g_strdup_printf("password:%s", a->account->name);
	return kr != NULL && mh_keyring_lookup(kr, key, password_r, NULL) > 0;
}

bool
cli_account_resolve(struct cli_account *a, const char *suffix, struct mh_imap_settings *set_r,
                    struct mh_imap_credentials *cred_r, char **password_r, GError **error)
{
	if (!cli_account_check(a, suffix, error))
		return false;
	*set_r = (struct mh_imap_settings){
		.host = a->host,
		.port = (uint16_t)a->port,
		.tls = cli_tls_mode(a),
		.insecure = a->insecure,
		.cafile = a->cafile,
		.read_timeout_ms = (unsigned)a->timeout * 1000,
		.label = *suffix != '\0' ? (*suffix == '1' ? "host1" : "host2") : NULL,
	};
	if (a->insecure)
		mh_log(MH_LOG_WARN,
		       "--insecure%s: the certificate of %s is not checked; anyone "
		       "on the path can read the password and the mail",
		       suffix, a->host);
	*password_r = NULL;
	if (a->tokens == NULL && a->oauth_token == NULL && !cli_stored_password(a, password_r) &&
	    !cli_password(a, suffix, password_r, error))
		return false;
	if (a->oauth_token != NULL && !cli_read_token(a->oauth_token, password_r, error))
		return false;
	*cred_r = (struct mh_imap_credentials){
		.user = a->user,
		.authuser = a->authuser,
		.password = a->oauth_token == NULL ? *password_r : NULL,
		.token = a->oauth_token != NULL ? *password_r : NULL,
		.mechanism = a->authmech,
		.allow_cram_md5 = !a->noauthmd5,
		.cleartext_ok = a->notls,
	};
	return true;
}

void
cli_account_clear(struct cli_account *a)
{
	g_free(a->host);
	g_free(a->user);
	if (a->password != NULL)
		mh_secret_wipe(a->password, strlen(a->password));
	g_free(a->password);
	g_free(a->passfile);
	g_free(a->authmech);
	g_free(a->authuser);
	g_free(a->cafile);
	g_free(a->service_account);
	if (a->oauth_token != NULL)
		mh_secret_wipe(a->oauth_token, strlen(a->oauth_token));
	g_free(a->oauth_token);
	mh_secret_free(a->given_password);
	mh_token_source_free(a->tokens);
	mh_account_free(a->account);
	memset(a, 0, sizeof(*a));
}

bool
cli_set_debug(const char *spec, GError **error)
{
	unsigned mask = 0;

	if (spec == NULL)
		return true;
	if (!mh_log_parse_categories(spec, &mask, error))
		return false;
	mh_log_set_categories(mask);
	return true;
}

static int
cli_imap_exit_code(int code)
{
	switch (code) {
	case MH_IMAP_ERROR_RESOLVE:
	case MH_IMAP_ERROR_CONNECT:
	case MH_IMAP_ERROR_TIMEOUT:
	case MH_IMAP_ERROR_DISCONNECTED:
	case MH_IMAP_ERROR_BYE:
		return MH_EXIT_CONNECT;
	case MH_IMAP_ERROR_TLS:
		return MH_EXIT_TLS;
	case MH_IMAP_ERROR_AUTH:
	case MH_IMAP_ERROR_AUTH_MECH:
	case MH_IMAP_ERROR_TOKEN_EXPIRED:
		return MH_EXIT_AUTH;
	case MH_IMAP_ERROR_PROTOCOL:
		return MH_EXIT_PROTOCOL;
	case MH_IMAP_ERROR_USAGE:
		return MH_EXIT_USAGE;
	default:
		return MH_EXIT_FAILURE;
	}
}

static int
cli_smtp_exit_code(int code)
{
	switch (code) {
	case MH_SMTP_ERROR_CONNECT:
	case MH_SMTP_ERROR_TIMEOUT:
		return MH_EXIT_CONNECT;
	case MH_SMTP_ERROR_TLS:
		return MH_EXIT_TLS;
	case MH_SMTP_ERROR_AUTH:
		return MH_EXIT_AUTH;
	case MH_SMTP_ERROR_REFUSED:
		return MH_EXIT_SEND_REFUSED;
	case MH_SMTP_ERROR_UNDELIVERED:
		return MH_EXIT_NOT_DELIVERED;
	case MH_SMTP_ERROR_PROTOCOL:
		return MH_EXIT_PROTOCOL;
	default:
		return MH_EXIT_USAGE;
	}
}

const char *
cli_error_status(const GError *error)
{
	if (error->domain != MH_IMAP_ERROR)
		return "";
	switch (error->code) {
	case MH_IMAP_ERROR_NO:
		return "NO";
	case MH_IMAP_ERROR_BAD:
		return "BAD";
	case MH_IMAP_ERROR_BYE:
		return "BYE";
	default:
		return "";
	}
}

/* What a provider's error text means for the exit code: a server that refuses
 * connections or throttles is a connection problem (never a wrong password), a sign-in
 * or setup refusal an authentication problem; -1 when the text is no provider's. The
 * advice is @profile's (see mh_provider_classify()). */
static int
cli_provider_exit_code(const GError *error, const struct mh_provider *profile,
                       const char **advice_r)
{
	struct mh_provider_verdict v = {0};

	*advice_r = NULL;
	if (error->domain != MH_IMAP_ERROR ||
	    !mh_provider_classify(profile, cli_error_status(error), error->message, &v))
		return -1;
	*advice_r = v.advice;
	switch (v.cls) {
	case MH_PROVIDER_ERR_CONNECTIONS:
	case MH_PROVIDER_ERR_BACKOFF:
	case MH_PROVIDER_ERR_BUDGET:
		return MH_EXIT_CONNECT;
	case MH_PROVIDER_ERR_RELOGIN:
	case MH_PROVIDER_ERR_CONFIG:
		return MH_EXIT_AUTH;
	default:
		return -1;
	}
}

/* What to check when the server of @side refused its sign-in (a new string), or NULL. */
static char *
cli_signin_advice(const struct cli_side *side)
{
	const struct cli_account *a = side->acct;
	const char *sfx = side->suffix != NULL ? side->suffix : "";
	const char *who = strcmp(sfx, "1") == 0   ? " for the source"
	                  : strcmp(sfx, "2") == 0 ? " for the destination"
	                                          : "";

	if (a == NULL || a->service_account != NULL || a->app_only)
		return NULL;
	if (a->oauth_token != NULL)
		return g_strdup_printf("Check the user%s and the access token given with "
		                       "--oauthaccesstoken%s (it may have expired).",
		                       who, sfx);
	if (a->tokens != NULL && a->account != NULL)
		return g_strdup_printf("Sign in again with `mailhaul login %s`.", a->account->name);
	if (a->tokens != NULL)
		return NULL;
	if (a->account != NULL && a->password == NULL && a->passfile == NULL)
		return g_strdup_printf("Check the user and password%s: the one stored for %s "
		                       "(`mailhaul login %s` stores a new one), or give --user%s "
		                       "and --passfile%s.",
		                       who, a->account->name, a->account->name, sfx, sfx);
	if (sfx[0] == '\0')
		return g_strdup("Check the user and password given (--user, and --password, "
		                "--passfile or MAILHAUL_PASSWORD).");
	return g_strdup_printf("Check the user and password given%s (--user%s, and --password%s "
	                       "or --passfile%s).",
	                       who, sfx, sfx, sfx);
}

int
cli_finish_side(const GError *error, int rc, const struct cli_side *side)
{
	g_autofree char *own = NULL;
	const char *advice = NULL;
	int code;

	if (error == NULL)
		return rc;
	fflush(stdout);
	code = cli_provider_exit_code(error, side != NULL ? side->profile : NULL, &advice);
	if (advice == NULL && side != NULL && error->domain == MH_IMAP_ERROR &&
	    error->code == MH_IMAP_ERROR_AUTH)
		advice = own = cli_signin_advice(side);
	if (advice != NULL && strstr(error->message, advice) == NULL) {
		size_t n = strlen(error->message);
		bool stop = n > 0 && strchr(".!?", error->message[n - 1]) != NULL;

		mh_log(MH_LOG_ERROR, "%s%s %s", error->message, stop ? "" : ":", advice);
	} else
		mh_log(MH_LOG_ERROR, "%s", error->message);
	return code >= 0 ? code : cli_exit_code(error);
}

int
cli_finish(const GError *error, int rc)
{
	return cli_finish_side(error, rc, NULL);
}

int
cli_exit_code(const GError *error)
{
	if (error->domain == G_OPTION_ERROR)
		return MH_EXIT_USAGE;
	if (error->domain == MH_CONFIG_ERROR) {
		if (error->code == MH_CONFIG_ERROR_NOINPUT)
			return MH_EXIT_NOINPUT;
		if (error->code == MH_CONFIG_ERROR_UNAVAILABLE)
			return MH_EXIT_UNAVAILABLE;
		return MH_EXIT_USAGE;
	}
	if (error->domain == MH_IMAP_ERROR)
		return cli_imap_exit_code(error->code);
	if (error->domain == MH_SYNC_ERROR)
		return error->code == MH_SYNC_ERROR_USAGE         ? MH_EXIT_USAGE
		       : error->code == MH_SYNC_ERROR_LOCKED      ? MH_EXIT_LOCKED
		       : error->code == MH_SYNC_ERROR_INTERRUPTED ? MH_EXIT_INTERRUPTED
		                                                  : MH_EXIT_FAILURE;
	if (error->domain == MH_AUTH_ERROR)
		return error->code == MH_AUTH_ERROR_USAGE ? MH_EXIT_USAGE : MH_EXIT_AUTH;
	if (error->domain == MH_SMTP_ERROR)
		return cli_smtp_exit_code(error->code);
	if (error->domain == G_FILE_ERROR) /* an output file: the log, the report */
		return MH_EXIT_CANTCREAT;
	return MH_EXIT_FAILURE;
}

/* --- accounts written PROVIDER:USER --- */

bool
cli_account_use(struct cli_account *a, const struct mh_config *cfg, const char *spec,
                const char *token_store, GError **error)
{
	static const char *const tls_flag[] = {"ssl", "tls", "notls"};
	struct mh_account *acct = mh_account_resolve(cfg, spec, error);
	struct mh_account *for_tokens;

	if (acct == NULL)
		return false;
	a->account = acct;
	if (a->host == NULL)
		a->host = g_strdup(acct->set.imap_host);
	if (a->port == 0 && acct->set.imap_port > 0)
		a->port = acct->set.imap_port;
	if (!a->ssl && !a->tls && !a->notls && acct->set.imap_tls >= 0) {
		const char *f = tls_flag[acct->set.imap_tls];

		a->ssl = f[0] == 's';
		a->tls = f[0] == 't';
		a->notls = f[0] == 'n';
	}
	if (a->cafile == NULL)
		a->cafile = g_strdup(acct->set.cafile);
	if (a->user == NULL)
		a->user = g_strdup(acct->user);
	if (acct->set.token_url == NULL || acct->set.flow < 0)
		return true; /* a password account */
	for_tokens = mh_account_resolve(cfg, spec, error);
	if (for_tokens == NULL)
		return false;
	a->tokens = a->service_account != NULL || a->app_only
	                    ? mh_token_source_new_minted(for_tokens, a->service_account, error)
	                    : mh_token_source_new(for_tokens, token_store, error);
	if (a->tokens == NULL) {
		mh_account_free(for_tokens);
		return false;
	}
	return true;
}

char *
cli_token_cb(void *ctx, bool force, GError **error)
{
	return mh_token_source_get(ctx, force, error);
}

bool
cli_login(struct mh_imap_conn *conn, struct cli_account *a, const struct mh_imap_credentials *cred,
          GError **error)
{
	return mh_token_login_imap(conn, cred, a->tokens != NULL ? cli_token_cb : NULL, a->tokens,
	                           NULL, error);
}
