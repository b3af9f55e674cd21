/* SPDX-License-Identifier: MIT */
/* What a server's NO, BAD or BYE means for the run: the exact texts Gmail and Microsoft 365
 * send (docs/providers.md, the sections on limits, sign-in and folders), then the
 * standard response codes of RFC 5530 (and [TOOBIG], RFC 7889) for every other server.
 * Texts match ignoring case, anywhere in the message, so a caller may add a prefix. */
#include <string.h>

#include "provider.h"

#define ERRORS_MINUTE 60000ULL
#define ERRORS_HOUR   3600000ULL
#define ERRORS_DAY    86400000ULL

struct errors_rule {
	const char *text; /* a substring, compared ignoring case */
	enum mh_provider_error_class cls;
	uint64_t backoff_ms;
	const char *advice;
	const char *provider; /* whose text and advice this is ("gmail", "m365"); NULL: any */
};

/* The advice for a provider's text when another server sent it: the class's meaning
 * without the provider's names, limits or commands. Sign-in refusals get none: the caller
 * knows what was refused (a password, a token) and on which side. */
static const char *const errors_generic_advice[] = {
	[MH_PROVIDER_ERR_UNKNOWN] = NULL,
	[MH_PROVIDER_ERR_TRANSIENT] = NULL,
	[MH_PROVIDER_ERR_BACKOFF] = "The server throttles this account: mailhaul waits, "
				    "reconnects and goes on more slowly.",
	[MH_PROVIDER_ERR_CONNECTIONS] = "The server allows no more connections for this user: "
					"lower --jobs or close other mail clients; mailhaul "
					"waits and retries with fewer.",
	[MH_PROVIDER_ERR_BUDGET] = "The server limits this account's traffic: mailhaul pauses "
				   "and resumes where it stopped.",
	[MH_PROVIDER_ERR_MESSAGE] = "The server refused this message: it is skipped and "
				    "reported.",
	[MH_PROVIDER_ERR_QUOTA] = "The mailbox is probably full: free space or raise its quota.",
	[MH_PROVIDER_ERR_RELOGIN] = NULL,
	[MH_PROVIDER_ERR_CONFIG] = NULL,
	[MH_PROVIDER_ERR_FOLDER_NAME] = "The server refuses this folder name: rename the folder.",
	[MH_PROVIDER_ERR_NO_FOLDER] = "The folder cannot be selected: it is skipped.",
};

static const char errors_budget[] =
	"The account's IMAP bandwidth for the day is spent (Gmail: 500 MB up, 2,500 MB down): "
	"mailhaul pauses for hours and resumes where it stopped.";

static const char errors_gmail_password[] =
	"Gmail no longer takes the account password over IMAP: sign in with OAuth2: `mailhaul "
	"login gmail:USER`.";

static const char errors_m365_app_only[] =
	"Microsoft 365 accepted the token but not the mailbox: check that user= is the mailbox "
	"and IMAP is enabled for it (Set-CASMailbox -ImapEnabled $true); for app-only access an "
	"administrator must (1) grant IMAP.AccessAsApp with admin consent, (2) run "
	"New-ServicePrincipal with the Enterprise Application's object id (not the app "
	"registration's), (3) run Add-MailboxPermission -AccessRights FullAccess for the service "
	"principal on each mailbox.";

/* Provider texts first, most specific first; then RFC 5530 codes. */
static const struct errors_rule errors_rules[] = {
	/* Gmail, docs/providers.md "Limits and throttling": also inside AUTHENTICATE, never a
         * bad password */
	{"Too many simultaneous connections", MH_PROVIDER_ERR_CONNECTIONS, ERRORS_MINUTE,
         "The account has too many IMAP connections open (Gmail allows 15): lower --jobs or "
         "close other mail clients; mailhaul waits and retries with fewer.",
         "gmail"},
	/* Dovecot's mail_max_userip_connections, the same situation */
	{"Maximum number of connections", MH_PROVIDER_ERR_CONNECTIONS, ERRORS_MINUTE,
         "The server allows no more connections for this user: lower --jobs or close other "
         "mail clients; mailhaul waits and retries with fewer.",
         NULL},
	{"Account exceeded command or bandwidth limits", MH_PROVIDER_ERR_BUDGET, ERRORS_HOUR,
         errors_budget, "gmail"},
	{"Session expired, please login again", MH_PROVIDER_ERR_BUDGET, ERRORS_HOUR, errors_budget,
         "gmail"},
	/* Microsoft 365, docs/providers.md "Limits and throttling": the backoff is parsed from
         * the text */
	{"Request is throttled", MH_PROVIDER_ERR_BACKOFF, ERRORS_MINUTE,
         "Microsoft 365 throttles this mailbox: mailhaul waits as long as it asks, reconnects "
         "and goes on more slowly.",
         "m365"},
	{"[THROTTLED]", MH_PROVIDER_ERR_BACKOFF, ERRORS_MINUTE,
         "The server throttles this account: mailhaul waits, reconnects and goes on more "
         "slowly.",
         NULL},
	{"Connection closed. 14", MH_PROVIDER_ERR_TRANSIENT, 0,
         "Microsoft 365 closed the session after too many errors or throttling: mailhaul "
         "reconnects.",
         "m365"},
	{"Server Unavailable. 15", MH_PROVIDER_ERR_QUOTA, 0,
         "The Microsoft 365 mailbox is probably full: free space or raise its quota; nothing "
         "more is appended to it in this run.",
         "m365"},
	{"Command Argument Error. 11", MH_PROVIDER_ERR_MESSAGE, 0,
         "Exchange refused this message (too big, over-long lines, quota or Gmail-only data): "
         "it is skipped and reported.",
         "m365"},
	{"Maximum size of appendable message has been exceeded", MH_PROVIDER_ERR_MESSAGE, 0,
         "The message is larger than the mailbox accepts (Microsoft 365: 35 MB unless an "
         "administrator raises it with Set-Mailbox -MaxReceiveSize, up to 150 MB): it is "
         "skipped and reported.",
         "m365"},
	{"Retrieval using the IMAP4 protocol failed", MH_PROVIDER_ERR_MESSAGE, 0,
         "Microsoft 365 cannot export this item over IMAP (it is not a mail message): it is "
         "skipped.",
         "m365"},
	{"couldn't retrieve the following message", MH_PROVIDER_ERR_MESSAGE, 0,
         "Microsoft 365 cannot export this item over IMAP (it is not a mail message): it is "
         "skipped.",
         "m365"},
	/* Microsoft 365 sign-in, docs/providers.md "Sign-in" and "App-only access" */
	{"User is authenticated but not connected", MH_PROVIDER_ERR_CONFIG, 0, errors_m365_app_only,
         "m365"},
	{"AUTHENTICATE failed", MH_PROVIDER_ERR_RELOGIN, 0,
         "Microsoft 365 refused the token: check its scope (IMAP.AccessAsUser.All, or "
         "https://outlook.office365.com/.default for app-only), for app-only the service "
         "principal and its FullAccess permission on the mailbox, and that IMAP is enabled for "
         "the mailbox.",
         "m365"},
	{"LOGIN failed", MH_PROVIDER_ERR_RELOGIN, 0,
         "The password was refused; Microsoft 365 no longer accepts passwords over IMAP (basic "
         "auth is retired): sign in with OAuth2: `mailhaul login m365:USER`.",
         "m365"},
	/* Gmail sign-in, docs/providers.md "Sign-in" and "Google refresh tokens" */
	{"Invalid credentials", MH_PROVIDER_ERR_RELOGIN, 0,
         "The server refused the credentials: after one token refresh, sign in again with "
         "`mailhaul login`.",
         "gmail"},
	{"Application-specific password required", MH_PROVIDER_ERR_CONFIG, 0, errors_gmail_password,
         "gmail"},
	{"Please log in via your web browser", MH_PROVIDER_ERR_CONFIG, 0, errors_gmail_password,
         "gmail"},
	{"Lookup failed", MH_PROVIDER_ERR_RELOGIN, 0,
         "Gmail refused the token, probably for its scope: sign in again so that it carries "
         "https://mail.google.com/.",
         "gmail"},
	{"Invalid device flow scope", MH_PROVIDER_ERR_CONFIG, 0,
         "Google refuses the device flow for mail scopes: use --flow browser (or paste).", "gmail"},
	{"client_secret is missing", MH_PROVIDER_ERR_CONFIG, 0,
         "Google wants the client secret too: import the client file with `mailhaul provider "
         "import-google client_secret.json` or set client-secret in [provider gmail].",
         "gmail"},
	{"Unauthorized client or scope in request", MH_PROVIDER_ERR_CONFIG, 0,
         "The Workspace administrator must authorize the service account's client id and "
         "scope in the Admin console (Security, API controls, Domain-wide delegation).",
         "gmail"},
	{"Token has been expired or revoked", MH_PROVIDER_ERR_RELOGIN, 0,
         "The refresh token is dead (revoked, unused for 6 months, a password change, or a "
         "Google app still in Testing, whose tokens last 7 days): sign in again with "
         "`mailhaul login`.",
         "gmail"},
	{"invalid_grant", MH_PROVIDER_ERR_RELOGIN, 0,
         "The refresh token is no longer accepted: sign in again with `mailhaul login`.", NULL},
	{"Temporary authentication failure", MH_PROVIDER_ERR_TRANSIENT, 0, NULL, NULL},
	/* Folder names, docs/providers.md "Folders are labels" and "Folders" */
	{"Folder contains excess whitespace", MH_PROVIDER_ERR_FOLDER_NAME, 0,
         "Gmail refuses leading, trailing and repeated blanks in folder names: rename the "
         "folder.",
         "gmail"},
	{"Folder name is reserved", MH_PROVIDER_ERR_FOLDER_NAME, 0,
         "The folder name is reserved on this server (Microsoft 365: Files): rename the "
         "folder.",
         "m365"},
	{"Unknown Mailbox", MH_PROVIDER_ERR_NO_FOLDER, 0,
         "The folder cannot be selected (a container such as [Gmail], or it is gone): it is "
         "skipped.",
         "gmail"},
	/* RFC 5530 response codes, and [TOOBIG] from RFC 7889 */
	{"[OVERQUOTA]", MH_PROVIDER_ERR_QUOTA, 0,
         "The mailbox is full: free space or raise its quota.", NULL},
	{"[TOOBIG]", MH_PROVIDER_ERR_MESSAGE, 0,
         "The message is larger than the server accepts: it is skipped and reported.", NULL},
	{"[LIMIT]", MH_PROVIDER_ERR_MESSAGE, 0,
         "The message runs into a server limit: it is skipped and reported.", NULL},
	{"[UNAVAILABLE]", MH_PROVIDER_ERR_TRANSIENT, 0, NULL, NULL},
	{"[INUSE]", MH_PROVIDER_ERR_TRANSIENT, 0, NULL, NULL},
	/* No advice: the caller knows whether a password or a token was refused, and where. */
	{"[AUTHENTICATIONFAILED]", MH_PROVIDER_ERR_RELOGIN, 0, NULL, NULL},
	{"[EXPIRED]", MH_PROVIDER_ERR_RELOGIN, 0,
         "The credentials have expired: renew them, then sign in again.", NULL},
	{"[AUTHORIZATIONFAILED]", MH_PROVIDER_ERR_CONFIG, 0,
         "The account may not act as this user: check the user name and its permissions.", NULL},
	{"[PRIVACYREQUIRED]", MH_PROVIDER_ERR_CONFIG, 0,
         "The server wants an encrypted connection: use imap-tls = ssl or starttls.", NULL},
	{"[CONTACTADMIN]", MH_PROVIDER_ERR_CONFIG, 0,
         "The server asks the user to contact its administrator.", NULL},
	{"[NONEXISTENT]", MH_PROVIDER_ERR_NO_FOLDER, 0,
         "The folder does not exist or cannot be selected: it is skipped.", NULL},
	{"[NOPERM]", MH_PROVIDER_ERR_NO_FOLDER, 0,
         "The account has no right to this folder: it is skipped.", NULL},
};

/* Whether @hay holds @needle, ASCII letters compared ignoring case. */
static bool
errors_contains(const char *hay, const char *needle, const char **at_r)
{
	size_t n = strlen(needle);

	for (const char *p = hay; *p != '\0'; p++) {
		if (g_ascii_strncasecmp(p, needle, n) == 0) {
			if (at_r != NULL)
				*at_r = p + n;
			return true;
		}
	}
	return false;
}

/* The milliseconds of "Suggested Backoff Time: 299609 milliseconds", or 0. */
static uint64_t
errors_backoff(const char *text)
{
	const char *p;
	char *end;
	guint64 ms;

	if (!errors_contains(text, "Suggested Backoff Time:", &p))
		return 0;
	while (*p == ' ')
		p++;
	if (!g_ascii_isdigit(*p))
		return 0;
	ms = g_ascii_strtoull(p, &end, 10);
	if (end == p || ms == 0)
		return 0;
	return MIN(ms, (guint64)ERRORS_DAY);
}

/* Whether @p is the provider named @name. */
static bool
errors_is(const struct mh_provider *p, const char *name)
{
	return p != NULL && name != NULL && strcmp(p->name, name) == 0;
}

bool
mh_provider_classify(const struct mh_provider *p, const char *status, const char *text,
                     struct mh_provider_verdict *v)
{
	(void)status; /* every text above means the same after NO, BAD or BYE */
	*v = (struct mh_provider_verdict){.cls = MH_PROVIDER_ERR_UNKNOWN};
	if (text == NULL)
		return false;
	/* Not an error for the run: the folder is there (on Microsoft 365 maybe in another
	 * case), and the engine appends into it. */
	if (errors_contains(text, "already exists", NULL) ||
	    errors_contains(text, "[ALREADYEXISTS]", NULL)) {
		v->advice = errors_is(p, "m365")
		                    ? "The folder exists already (Microsoft 365 "
		                      "compares names ignoring case): messages go "
		                      "into it."
		                    : "The folder exists already: messages go into it.";
		return false;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(errors_rules); i++) {
		const struct errors_rule *r = &errors_rules[i];

		if (!errors_contains(text, r->text, NULL))
			continue;
		v->cls = r->cls;
		v->backoff_ms = r->backoff_ms;
		v->provider = r->provider;
		v->advice = r->provider == NULL || errors_is(p, r->provider)
		                    ? r->advice
		                    : errors_generic_advice[r->cls];
		if (r->cls == MH_PROVIDER_ERR_BACKOFF && errors_backoff(text) > 0)
			v->backoff_ms = errors_backoff(text);
		return true;
	}
	return false;
}

static const char *const errors_class_names[] = {
	[MH_PROVIDER_ERR_UNKNOWN] = "unknown",     [MH_PROVIDER_ERR_TRANSIENT] = "transient",
	[MH_PROVIDER_ERR_BACKOFF] = "backoff",     [MH_PROVIDER_ERR_CONNECTIONS] = "connections",
	[MH_PROVIDER_ERR_BUDGET] = "budget",       [MH_PROVIDER_ERR_MESSAGE] = "message",
	[MH_PROVIDER_ERR_QUOTA] = "quota",         [MH_PROVIDER_ERR_RELOGIN] = "relogin",
	[MH_PROVIDER_ERR_CONFIG] = "config",       [MH_PROVIDER_ERR_FOLDER_NAME] = "folder-name",
	[MH_PROVIDER_ERR_NO_FOLDER] = "no-folder",
};

const char *
mh_provider_error_class_name(enum mh_provider_error_class cls)
{
	if ((size_t)cls >= G_N_ELEMENTS(errors_class_names))
		return "unknown";
	return errors_class_names[cls];
}
