/* SPDX-License-Identifier: MIT */
/* Error classification: every server text of docs/providers.md with its class and
 * back-off, then the RFC 5530 codes, texts
 * with a caller's prefix, and what must stay unclassified. */
#include <glib.h>
#include <string.h>

#include "provider.h"

struct errors_case {
	const char *status, *text;
	enum mh_provider_error_class cls;
	uint64_t backoff_ms;
	const char *advice_has; /* a word the advice must hold, or NULL */
};

static const struct errors_case errors_cases[] = {
	/* Gmail 1.5 */
	{"NO", "[ALERT] Too many simultaneous connections. (Failure)", MH_PROVIDER_ERR_CONNECTIONS,
         60000, "--jobs"},
	{NULL, "too many simultaneous connections", MH_PROVIDER_ERR_CONNECTIONS, 60000,
         "other mail clients"},
	{"NO", "[OVERQUOTA] Account exceeded command or bandwidth limits. (Failure)",
         MH_PROVIDER_ERR_BUDGET, 3600000, "pauses"},
	{"BYE", "Session expired, please login again", MH_PROVIDER_ERR_BUDGET, 3600000, NULL},
	{"", "host2: the server closed the session: Session expired, please login again",
         MH_PROVIDER_ERR_BUDGET, 3600000, NULL},
	{"NO", "[THROTTLED]", MH_PROVIDER_ERR_BACKOFF, 60000, NULL},
	{"NO", "[THROTTLED] Slow down", MH_PROVIDER_ERR_BACKOFF, 60000, NULL},
	/* Gmail 1.2 and 1.7 */
	{"NO", "[CANNOT] Folder contains excess whitespace (Failure)", MH_PROVIDER_ERR_FOLDER_NAME,
         0, "blanks"},
	{"NO", "[NONEXISTENT] Unknown Mailbox: [Gmail] (now in authenticated state) (Failure)",
         MH_PROVIDER_ERR_NO_FOLDER, 0, "skipped"},
	{"NO", "[NONEXISTENT] Unknown Mailbox", MH_PROVIDER_ERR_NO_FOLDER, 0, NULL},
	{"NO", "[AUTHENTICATIONFAILED] Invalid credentials (Failure)", MH_PROVIDER_ERR_RELOGIN, 0,
         "mailhaul login"},
	{"NO",
         "Application-specific password required: "
         "https://support.google.com/accounts/answer/185833 (Failure)",
         MH_PROVIDER_ERR_CONFIG, 0, "mailhaul login gmail:USER"},
	{"NO", "[ALERT] Please log in via your web browser", MH_PROVIDER_ERR_CONFIG, 0,
         "mailhaul login gmail:USER"},
	{"NO", "Lookup failed 7c1b2d3e4f", MH_PROVIDER_ERR_RELOGIN, 0, "https://mail.google.com/"},
	/* Microsoft 365 2.2, 2.4 */
	{"NO", "Request is throttled. Suggested Backoff Time: 299609 milliseconds",
         MH_PROVIDER_ERR_BACKOFF, 299609, "waits"},
	{"BAD", "Request is throttled. Suggested Backoff Time: 89117 milliseconds",
         MH_PROVIDER_ERR_BACKOFF, 89117, NULL},
	{NULL, "request is throttled. suggested backoff time:   1500 milliseconds",
         MH_PROVIDER_ERR_BACKOFF, 1500, NULL},
	{"NO", "Request is throttled.", MH_PROVIDER_ERR_BACKOFF, 60000, NULL},
	{"NO", "Request is throttled. Suggested Backoff Time: soon", MH_PROVIDER_ERR_BACKOFF, 60000,
         NULL},
	{"NO", "Request is throttled. Suggested Backoff Time: 999999999999 milliseconds",
         MH_PROVIDER_ERR_BACKOFF, 86400000, NULL},
	{"BYE", "Connection closed. 14", MH_PROVIDER_ERR_TRANSIENT, 0, "reconnects"},
	{"NO", "Server Unavailable. 15", MH_PROVIDER_ERR_QUOTA, 0, "full"},
	{"BAD", "Command Argument Error. 11", MH_PROVIDER_ERR_MESSAGE, 0, "skipped"},
	{"NO", "Maximum size of appendable message has been exceeded", MH_PROVIDER_ERR_MESSAGE, 0,
         "150 MB"},
	{"NO", "Retrieval using the IMAP4 protocol failed for the following message: 367",
         MH_PROVIDER_ERR_MESSAGE, 0, "not a mail message"},
	{"NO", "The server couldn't retrieve the following message", MH_PROVIDER_ERR_MESSAGE, 0,
         NULL},
	{"NO", "Folder name is reserved", MH_PROVIDER_ERR_FOLDER_NAME, 0, "Files"},
	/* Microsoft 365 2.6, 3.2 */
	{"NO", "AUTHENTICATE failed.", MH_PROVIDER_ERR_RELOGIN, 0, "FullAccess"},
	{"BAD", "User is authenticated but not connected.", MH_PROVIDER_ERR_CONFIG, 0,
         "IMAP.AccessAsApp"},
	{"NO", "LOGIN failed.", MH_PROVIDER_ERR_RELOGIN, 0, "basic auth is retired"},
	{"NO", "[UNAVAILABLE] Temporary authentication failure", MH_PROVIDER_ERR_TRANSIENT, 0,
         NULL},
	/* OAuth token endpoints, section 3 */
	{NULL, "invalid_scope: Invalid device flow scope: https://mail.google.com/",
         MH_PROVIDER_ERR_CONFIG, 0, "--flow browser"},
	{NULL, "invalid_request: client_secret is missing.", MH_PROVIDER_ERR_CONFIG, 0,
         "import-google"},
	{NULL, "unauthorized_client: Unauthorized client or scope in request.",
         MH_PROVIDER_ERR_CONFIG, 0, "Domain-wide delegation"},
	{NULL, "invalid_grant: Token has been expired or revoked.", MH_PROVIDER_ERR_RELOGIN, 0,
         "Testing"},
	{NULL, "invalid_grant", MH_PROVIDER_ERR_RELOGIN, 0, "mailhaul login"},
	/* Dovecot's connection limit: the same situation as Gmail's */
	{"NO",
         "[UNAVAILABLE] Maximum number of connections from user+IP exceeded "
         "(mail_max_userip_connections=10)",
         MH_PROVIDER_ERR_CONNECTIONS, 60000, NULL},
	/* RFC 5530, last */
	{"NO", "[OVERQUOTA] Quota exceeded (mailbox for user is full)", MH_PROVIDER_ERR_QUOTA, 0,
         "full"},
	{"NO", "[LIMIT] Too many flags", MH_PROVIDER_ERR_MESSAGE, 0, NULL},
	{"NO", "[TOOBIG] Message too large", MH_PROVIDER_ERR_MESSAGE, 0, NULL},
	{"NO", "[UNAVAILABLE] Internal error occurred.", MH_PROVIDER_ERR_TRANSIENT, 0, NULL},
	{"NO", "[INUSE] Mailbox is locked", MH_PROVIDER_ERR_TRANSIENT, 0, NULL},
	{"NO", "[AUTHENTICATIONFAILED] Authentication failed.", MH_PROVIDER_ERR_RELOGIN, 0, NULL},
	{"NO", "[EXPIRED] Password expired", MH_PROVIDER_ERR_RELOGIN, 0, NULL},
	{"NO", "[AUTHORIZATIONFAILED] No such authorization-ID", MH_PROVIDER_ERR_CONFIG, 0, NULL},
	{"NO", "[PRIVACYREQUIRED] Use TLS", MH_PROVIDER_ERR_CONFIG, 0, "imap-tls"},
	{"NO", "[CONTACTADMIN] Account locked", MH_PROVIDER_ERR_CONFIG, 0, NULL},
	{"NO", "[NONEXISTENT] Mailbox doesn't exist: Foo", MH_PROVIDER_ERR_NO_FOLDER, 0, NULL},
	{"NO", "[NOPERM] Permission denied", MH_PROVIDER_ERR_NO_FOLDER, 0, NULL},
};

static void
test_every_text(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(errors_cases); i++) {
		const struct errors_case *c = &errors_cases[i];
		struct mh_provider_verdict v = {.backoff_ms = 4711};
		bool ok = mh_provider_classify(NULL, c->status, c->text, &v);

		/* A provider's text as that provider's server sends it: with its advice. */
		if (ok && v.provider != NULL)
			ok = mh_provider_classify(mh_provider_find(v.provider), c->status, c->text,
			                          &v);

		if (!ok || v.cls != c->cls || v.backoff_ms != c->backoff_ms)
			g_error("\"%s\": %s %s backoff %" G_GUINT64_FORMAT
			        ", want %s %" G_GUINT64_FORMAT,
			        c->text, ok ? "true" : "false", mh_provider_error_class_name(v.cls),
			        v.backoff_ms, mh_provider_error_class_name(c->cls), c->backoff_ms);
		if (c->advice_has != NULL &&
		    (v.advice == NULL || g_strstr_len(v.advice, -1, c->advice_has) == NULL))
			g_error("\"%s\": advice \"%s\" lacks \"%s\"", c->text,
			        v.advice != NULL ? v.advice : "(none)", c->advice_has);
	}
}

static void
test_app_only_prerequisites(void)
{
	const struct mh_provider *m365 = mh_provider_find("m365");
	struct mh_provider_verdict v;

	g_assert_true(mh_provider_classify(
		m365, "BAD", "host2: SELECT INBOX: User is authenticated but not connected.", &v));
	g_assert_cmpint(v.cls, ==, MH_PROVIDER_ERR_CONFIG);
	g_assert_nonnull(g_strstr_len(v.advice, -1, "IMAP.AccessAsApp"));
	g_assert_nonnull(g_strstr_len(v.advice, -1, "admin consent"));
	g_assert_nonnull(g_strstr_len(v.advice, -1, "New-ServicePrincipal"));
	g_assert_nonnull(g_strstr_len(v.advice, -1, "Enterprise Application's object id"));
	g_assert_nonnull(g_strstr_len(v.advice, -1, "Add-MailboxPermission"));
	g_assert_nonnull(g_strstr_len(v.advice, -1, "FullAccess"));
	g_assert_true(mh_provider_classify(m365, "NO", "AUTHENTICATE failed.", &v));
	g_assert_nonnull(g_strstr_len(v.advice, -1, "scope"));
	g_assert_nonnull(g_strstr_len(v.advice, -1, "service principal"));
	g_assert_nonnull(g_strstr_len(v.advice, -1, "IMAP is enabled"));
}

/* Connections during AUTHENTICATE must never read as a bad password (MailKit#377). */
static void
test_connections_not_credentials(void)
{
	struct mh_provider_verdict v;

	g_assert_true(mh_provider_classify(
		NULL, "NO",
		"[ALERT] Too many simultaneous connections. (Failure) [AUTHENTICATIONFAILED]", &v));
	g_assert_cmpint(v.cls, ==, MH_PROVIDER_ERR_CONNECTIONS);
	/* Gmail's bandwidth words beat the standard [OVERQUOTA] */
	g_assert_true(mh_provider_classify(
		NULL, "NO", "[OVERQUOTA] Account exceeded command or bandwidth limits. (Failure)",
		&v));
	g_assert_cmpint(v.cls, ==, MH_PROVIDER_ERR_BUDGET);
}

static void
test_unclassified(void)
{
	const char *const texts[] = {"Mailbox already exists",     "[ALREADYEXISTS] Mailbox exists",
	                             "Command Argument Error. 12", "Server Unavailable.",
	                             "Some unknown complaint",     "",
	                             "Connection closed"};
	struct mh_provider_verdict v;

	for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
		v.cls = MH_PROVIDER_ERR_QUOTA;
		if (mh_provider_classify(NULL, "NO", texts[i], &v) ||
		    v.cls != MH_PROVIDER_ERR_UNKNOWN)
			g_error("\"%s\" classified as %s", texts[i],
			        mh_provider_error_class_name(v.cls));
	}
	/* an existing folder is fine for the engine: no class, but a word for the log */
	g_assert_false(
		mh_provider_classify(mh_provider_find("m365"), "NO", "Mailbox already exists", &v));
	g_assert_nonnull(g_strstr_len(v.advice, -1, "ignoring case"));
	g_assert_false(mh_provider_classify(NULL, "NO", "Mailbox already exists", &v));
	g_assert_nonnull(g_strstr_len(v.advice, -1, "messages go into it"));
	g_assert_null(g_strstr_len(v.advice, -1, "Microsoft"));
	g_assert_false(mh_provider_classify(NULL, NULL, NULL, &v));
	g_assert_cmpint(v.cls, ==, MH_PROVIDER_ERR_UNKNOWN);
}

/* Words that only belong in a provider's own advice. */
static const char *const errors_provider_words[] = {
	"Microsoft", "Exchange", "Gmail", "Google", "mailhaul login", "OAuth2", "m365", "gmail",
};

static void
errors_assert_plain(const char *text, const char *profile, const struct mh_provider_verdict *v)
{
	for (size_t i = 0; v->advice != NULL && i < G_N_ELEMENTS(errors_provider_words); i++) {
		if (g_strstr_len(v->advice, -1, errors_provider_words[i]) != NULL)
			g_error("\"%s\" from a %s server: advice \"%s\" names \"%s\"", text,
			        profile, v->advice, errors_provider_words[i]);
	}
}

/* A provider's text from another server (a plain IMAP server whose "NO Login failed." reads
 * like Exchange's, or the other provider) classifies the same, but its advice names no
 * provider; from that provider's own server the advice stays. */
static void
test_advice_only_for_its_provider(void)
{
	const char *const others[] = {NULL, "generic", "gmail", "m365"};
	unsigned tagged = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(errors_cases); i++) {
		const struct errors_case *c = &errors_cases[i];
		struct mh_provider_verdict own, v;

		g_assert_true(mh_provider_classify(NULL, c->status, c->text, &own));
		for (size_t k = 0; k < G_N_ELEMENTS(others); k++) {
			const struct mh_provider *p =
				others[k] != NULL ? mh_provider_find(others[k]) : NULL;

			if (own.provider != NULL && others[k] != NULL &&
			    strcmp(own.provider, others[k]) == 0)
				continue;
			g_assert_true(mh_provider_classify(p, c->status, c->text, &v));
			g_assert_cmpint(v.cls, ==, own.cls);
			g_assert_cmpuint(v.backoff_ms, ==, own.backoff_ms);
			if (own.provider != NULL)
				errors_assert_plain(c->text, others[k] ? others[k] : "unknown", &v);
		}
		tagged += own.provider != NULL;
	}
	g_assert_cmpuint(tagged, >, 20);
}

/* The texts of the issue: a wrong password on a plain server. */
static void
test_wrong_password_on_a_plain_server(void)
{
	const char *const texts[] = {"Login failed.", "LOGIN failed.",
	                             "[AUTHENTICATIONFAILED] Authentication failed.",
	                             "[AUTHENTICATIONFAILED] Invalid credentials (Failure)"};
	const struct mh_provider *generic = mh_provider_find("generic");
	struct mh_provider_verdict v;

	for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
		g_assert_true(mh_provider_classify(generic, "NO", texts[i], &v));
		g_assert_cmpint(v.cls, ==, MH_PROVIDER_ERR_RELOGIN);
		/* No advice: the caller says which side's user and password to check. */
		g_assert_null(v.advice);
		g_assert_true(mh_provider_classify(NULL, "NO", texts[i], &v));
		g_assert_null(v.advice);
	}
	g_assert_true(mh_provider_classify(mh_provider_find("m365"), "NO", "LOGIN failed.", &v));
	g_assert_nonnull(g_strstr_len(v.advice, -1, "mailhaul login m365:USER"));
	g_assert_cmpstr(v.provider, ==, "m365");
}

static void
test_class_names(void)
{
	g_assert_cmpstr(mh_provider_error_class_name(MH_PROVIDER_ERR_UNKNOWN), ==, "unknown");
	g_assert_cmpstr(mh_provider_error_class_name(MH_PROVIDER_ERR_BACKOFF), ==, "backoff");
	g_assert_cmpstr(mh_provider_error_class_name(MH_PROVIDER_ERR_NO_FOLDER), ==, "no-folder");
	g_assert_cmpstr(mh_provider_error_class_name((enum mh_provider_error_class)99), ==,
	                "unknown");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/provider/errors/every-text", test_every_text);
	g_test_add_func("/provider/errors/app-only-prerequisites", test_app_only_prerequisites);
	g_test_add_func("/provider/errors/connections-not-credentials",
	                test_connections_not_credentials);
	g_test_add_func("/provider/errors/unclassified", test_unclassified);
	g_test_add_func("/provider/errors/class-names", test_class_names);
	g_test_add_func("/provider/errors/advice-only-for-its-provider",
	                test_advice_only_for_its_provider);
	g_test_add_func("/provider/errors/wrong-password-on-a-plain-server",
	                test_wrong_password_on_a_plain_server);
	return g_test_run();
}
