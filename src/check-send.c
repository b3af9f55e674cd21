/* SPDX-License-Identifier: MIT */
/* `mailhaul check --send-test`: a short message from the account to itself through its
 * submission server (RFC 6409, see src/smtp), with a unique Message-ID (RFC 5322 3.6.4)
 * that UID SEARCH HEADER (RFC 3501 6.4.4) finds in INBOX once it arrives; the delay is
 * printed and the message removed (UID EXPUNGE, RFC 4315) unless kept. */
#include "check-send.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "mh-log.h"
#include "smtp.h"
#include "sync-token.h"

#define SEND_TIMEOUT_S  120
#define SEND_POLL_FIRST 250000 /* µs before the first look: local delivery is fast */
#define SEND_POLL_MAX   2000000

void
check_send_add_entries(GOptionGroup *group, struct check_send_opts *o)
{
	const GOptionEntry entries[] = {
		{"send-test", 0, 0, G_OPTION_ARG_NONE, &o->enabled,
	         "Send a test message to the account itself and wait for it in INBOX", NULL},
		{"send-timeout", 0, 0, G_OPTION_ARG_INT, &o->timeout,
	         "Seconds to wait for the test message to arrive (default 120)", "SECONDS"},
		{"keep-test-message", 0, 0, G_OPTION_ARG_NONE, &o->keep,
	         "Leave the test message in INBOX", NULL},
		{"smtp-host", 0, 0, G_OPTION_ARG_STRING, &o->smtp_host,
	         "Submission server (default: the provider's, else the IMAP host)", "HOST"},
		{"smtp-port", 0, 0, G_OPTION_ARG_INT, &o->smtp_port,
	         "Submission port (default 465 with --smtp-tls, else 587)", "PORT"},
		{"smtp-tls", 0, 0, G_OPTION_ARG_NONE, &o->smtp_tls,
	         "Implicit TLS to the submission server (port 465)", NULL},
		{"smtp-starttls", 0, 0, G_OPTION_ARG_NONE, &o->smtp_starttls,
	         "STARTTLS, required, to the submission server (port 587; the default)", NULL},
		{"mail-address", 0, 0, G_OPTION_ARG_STRING, &o->address,
	         "The account's mail address, when the user name is not one", "ADDRESS"},
		{NULL},
	};

	g_option_group_add_entries(group, entries);
}

bool
check_send_check(const struct check_send_opts *o, GError **error)
{
	bool any = o->timeout != 0 || o->keep || o->smtp_host != NULL || o->smtp_port != 0 ||
	           o->smtp_tls || o->smtp_starttls || o->address != NULL;

	if (any && !o->enabled)
		return cli_usage(error, "--send-timeout, --keep-test-message, --smtp-* and "
		                        "--mail-address go with --send-test");
	if (o->smtp_tls && o->smtp_starttls)
		return cli_usage(error, "give --smtp-tls or --smtp-starttls, not both");
	if (o->smtp_port < 0 || o->smtp_port > 65535)
		return cli_usage(error, "--smtp-port %d is not a port number", o->smtp_port);
	if (o->timeout < 0)
		return cli_usage(error, "--send-timeout must be a number of seconds");
	return true;
}

/* The submission server: options, else the account's provider, else the IMAP host. */
static void
send_settings(const struct cli_account *acct, const struct check_send_opts *o,
              struct mh_smtp_settings *set)
{
	const struct mh_settings *as = acct->account != NULL ? &acct->account->set : NULL;

	*set = (struct mh_smtp_settings){
		.host = o->smtp_host != NULL                  ? o->smtp_host
	                : as != NULL && as->smtp_host != NULL ? as->smtp_host
	                                                      : acct->host,
		.port = (uint16_t)(o->smtp_port != 0                 ? o->smtp_port
	                           : as != NULL && as->smtp_port > 0 ? as->smtp_port
	                                                             : 0),
		.insecure = acct->insecure,
		.cafile = acct->cafile,
		.timeout_ms = acct->timeout > 0 ? (unsigned)acct->timeout * 1000 : 0,
	};
	if (o->smtp_tls)
		set->tls = MH_SMTP_TLS_IMPLICIT;
	else if (o->smtp_starttls)
		set->tls = MH_SMTP_TLS_STARTTLS;
	else if (as != NULL && as->smtp_tls >= 0 && o->smtp_port == 0)
		set->tls = as->smtp_tls == MH_PROVIDER_TLS_IMPLICIT ? MH_SMTP_TLS_IMPLICIT
		                                                    : MH_SMTP_TLS_STARTTLS;
	else
		set->tls = set->port == 465 ? MH_SMTP_TLS_IMPLICIT : MH_SMTP_TLS_STARTTLS;
}

/* The test message: plain text, CRLF lines, its Message-ID built on @token. */
static GBytes *
send_message(const char *address, const char *token, const char *msgid)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autofree char *date = g_date_time_format(now, "%a, %d %b %Y %H:%M:%S %z");
	char *text = g_strdup_printf(
		"From: <%s>\r\nTo: <%s>\r\nSubject: mailhaul send test %s\r\nDate: %s\r\n"
		"Message-ID: %s\r\nX-Mailhaul-Send-Test: %s\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
		"This message was sent by `mailhaul check --send-test` to check that this "
		"mailbox\r\ncan send and receive mail. mailhaul deletes it once it has arrived.\r\n",
		address, address, token, date, msgid, token);

	return g_bytes_new_take(text, strlen(text));
}

/* One submission, with @token (a stored sign-in's) or the credentials as given. */
struct send_attempt {
	const struct mh_smtp_settings *set;
	const struct mh_smtp_credentials *cred;
	const char *address;
	GBytes *msg;
	struct mh_smtp_result *res;
};

static bool
send_attempt(const char *token, void *ctx, GError **error)
{
	const struct send_attempt *sa = ctx;
	struct mh_smtp_credentials sc = *sa->cred;

	if (token != NULL) {
		sc.token = token;
		sc.password = NULL;
	}
	return mh_smtp_send(sa->set, &sc, sa->address, sa->address, sa->msg, sa->res, error);
}

static void
send_refused(void *ctx)
{
	(void)ctx;
	mh_log_debug(MH_LOG_CAT_AUTH, "the submission server refused the token: refreshing");
}

/* Submits once; with a stored OAuth2 sign-in a refused token is refreshed and tried once
 * more, as the IMAP login does. */
static bool
send_submit(struct cli_account *acct, const struct mh_imap_credentials *cred,
            const struct mh_smtp_settings *set, const char *address, GBytes *msg,
            struct mh_smtp_result *res, GError **error)
{
	const struct mh_smtp_credentials sc = {
		.user = cred->authuser != NULL ? cred->authuser : cred->user,
		.authzid = cred->authuser != NULL ? cred->user : NULL,
		.password = cred->password,
		.token = cred->token,
	};
	struct send_attempt sa = {
		.set = set, .cred = &sc, .address = address, .msg = msg, .res = res};
	const struct mh_token_login l = {
		.get = acct->tokens != NULL ? cli_token_cb : NULL,
		.get_ctx = acct->tokens,
		.attempt = send_attempt,
		.attempt_ctx = &sa,
		.expired_domain = MH_SMTP_ERROR,
		.expired_code = MH_SMTP_ERROR_AUTH,
		.refused = send_refused,
	};
	GError *local = NULL;

	if (mh_token_login_run(&l, &local))
		return true;
	if (g_error_matches(local, MH_SMTP_ERROR, MH_SMTP_ERROR_AUTH)) {
		bool token = acct->tokens != NULL || sc.token != NULL;
		char *m = g_strdup_printf(
			"%s (the IMAP server took the same sign-in: SMTP AUTH may be switched off "
			"for this mailbox%s)",
			local->message,
			token ? ", or the sign-in lacks the provider's SMTP scope" : "");

		g_free(local->message);
		local->message = m;
	}
	g_propagate_error(error, local);
	return false;
}

/* Waits until a message whose Message-ID holds @token is in the selected INBOX: its UID in
 * *uid_r, or 0 when @deadline passed first. */
static bool
send_await(struct mh_imap_conn *conn, const char *token, gint64 deadline, uint32_t *uid_r,
           GError **error)
{
	gulong pause = SEND_POLL_FIRST;

	*uid_r = 0;
	for (;;) {
		g_autoptr(GArray) uids = NULL;
		gint64 left;

		if (!mh_imap_uid_search_header(conn, "Message-ID", token, &uids, error))
			return false;
		if (uids->len > 0) {
			*uid_r = g_array_index(uids, guint32, uids->len - 1);
			return true;
		}
		left = deadline - g_get_monotonic_time();
		if (left <= 0)
			return true;
		g_usleep(MIN((gint64)pause, left));
		pause = MIN(pause * 2, SEND_POLL_MAX);
		/* NOOP lets servers that report new mail only between commands say so. */
		if (!mh_imap_cmd_run(conn, mh_imap_cmd_new(0, "NOOP"), NULL, error))
			return false;
	}
}

static bool
send_remove(struct mh_imap_conn *conn, uint32_t uid, GError **error)
{
	char set[16];

	g_snprintf(set, sizeof(set), "%u", uid);
	if (!mh_imap_uid_store(conn, set, "+FLAGS.SILENT", "\\Deleted", error))
		return false;
	/* Without UIDPLUS, EXPUNGE would also remove whatever else the user marked deleted. */
	if (!mh_imap_conn_has_cap(conn, "UIDPLUS")) {
		printf("Send test: marked deleted, not expunged (the server lacks UIDPLUS)\n");
		return true;
	}
	if (!mh_imap_expunge(conn, set, error))
		return false;
	printf("Send test: removed from INBOX\n");
	return true;
}

static const char *
send_address(const struct check_send_opts *o, const struct mh_imap_credentials *cred,
             GError **error)
{
	if (o->address != NULL)
		return o->address;
	if (strchr(cred->user, '@') != NULL)
		return cred->user;
	cli_usage(error,
	          "the user name %s is not a mail address: give the account's address "
	          "with --mail-address",
	          cred->user);
	return NULL;
}

bool
check_send_run(struct mh_imap_conn *conn, struct cli_account *acct,
               const struct mh_imap_credentials *cred, const struct check_send_opts *o,
               GError **error)
{
	struct mh_smtp_settings set;
	struct mh_smtp_result res = {0};
	struct mh_imap_mailbox *mb = NULL;
	g_autofree char *token = g_uuid_string_random();
	g_autofree char *msgid = NULL;
	g_autoptr(GBytes) msg = NULL;
	const char *address = send_address(o, cred, error);
	int timeout = o->timeout > 0 ? o->timeout : SEND_TIMEOUT_S;
	gint64 start;
	uint32_t uid = 0;
	bool ok = false;

	if (address == NULL)
		return false;
	send_settings(acct, o, &set);
	msgid = g_strdup_printf("<mailhaul-send-test-%s@%s>", token, strchr(address, '@') + 1);
	msg = send_message(address, token, msgid);
	if (!mh_imap_select(conn, "INBOX", false, &mb, error))
		return false;
	mh_imap_mailbox_free(mb);
	printf("Send test: %s to itself through %s port %u (%s)\n", address, set.host,
	       mh_smtp_port(&set), set.tls == MH_SMTP_TLS_IMPLICIT ? "implicit TLS" : "STARTTLS");
	fflush(stdout);
	start = g_get_monotonic_time();
	if (!send_submit(acct, cred, &set, address, msg, &res, error))
		goto out;
	printf("Send test: accepted %s with %s: %s\n", msgid,
	       res.mechanism != NULL ? res.mechanism : "no authentication",
	       res.reply != NULL ? res.reply : "");
	fflush(stdout);
	if (!send_await(conn, token, start + (gint64)timeout * G_USEC_PER_SEC, &uid, error))
		goto out;
	if (uid == 0) {
		g_set_error(error, MH_SMTP_ERROR, MH_SMTP_ERROR_UNDELIVERED,
		            "the test message %s was accepted by %s but did not arrive in INBOX "
		            "within %d s (see --send-timeout)",
		            msgid, set.host, timeout);
		goto out;
	}
	printf("Send test: arrived in INBOX after %.1f s (UID %u)\n",
	       (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC, uid);
	if (o->keep)
		printf("Send test: kept in INBOX (--keep-test-message)\n");
	ok = o->keep || send_remove(conn, uid, error);
out:
	mh_smtp_result_clear(&res);
	return ok;
}

void
check_send_clear(struct check_send_opts *o)
{
	g_free(o->smtp_host);
	g_free(o->address);
	memset(o, 0, sizeof(*o));
}
