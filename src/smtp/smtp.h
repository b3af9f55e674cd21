/* SPDX-License-Identifier: MIT */
/* Mail submission (RFC 6409) over libcurl's SMTP: one message, STARTTLS (RFC 3207) or
 * implicit TLS (RFC 8314), SMTP AUTH (RFC 4954) with a password or an OAuth2 token
 * (XOAUTH2, OAUTHBEARER RFC 7628). Knows nothing of IMAP, accounts or tokens' origin. */
#ifndef MH_SMTP_H
#define MH_SMTP_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define MH_SMTP_ERROR (mh_smtp_error_quark())
GQuark mh_smtp_error_quark(void);

enum mh_smtp_error_code {
	MH_SMTP_ERROR_CONNECT,     /* cannot reach the server, or it dropped the connection */
	MH_SMTP_ERROR_TLS,         /* TLS failed, certificate refused, or no STARTTLS */
	MH_SMTP_ERROR_AUTH,        /* the server refused the sign-in, or offers no mechanism */
	MH_SMTP_ERROR_REFUSED,     /* the server refused the sender, a recipient or the message */
	MH_SMTP_ERROR_TIMEOUT,     /* the server did not answer in time */
	MH_SMTP_ERROR_PROTOCOL,    /* the server broke the protocol */
	MH_SMTP_ERROR_UNDELIVERED, /* accepted, but never arrived (set by callers that wait) */
	MH_SMTP_ERROR_USAGE,       /* a bad setting (address, mechanism) */
};

enum mh_smtp_tls {
	MH_SMTP_TLS_STARTTLS, /* STARTTLS required before anything else (port 587) */
	MH_SMTP_TLS_IMPLICIT, /* TLS from the first byte (port 465) */
};

struct mh_smtp_settings {
	const char *host; /* name or address literal (borrowed) */
	uint16_t port;    /* 0 = 465 for IMPLICIT, else 587 */
	enum mh_smtp_tls tls;
	bool insecure;       /* skip certificate and host name checks */
	const char *cafile;  /* trust these CAs instead of the system store, or NULL */
	unsigned timeout_ms; /* the whole submission; 0 = 120 s */
};

/* Credentials, borrowed for the call; secrets are never logged. */
struct mh_smtp_credentials {
	const char *user;      /* the SASL user name */
	const char *authzid;   /* act as this user (PLAIN with an admin's @user), or NULL */
	const char *password;  /* or NULL with @token */
	const char *token;     /* an OAuth2 access token, or NULL */
	const char *mechanism; /* "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER"; NULL =
	                          XOAUTH2 with a token, else the strongest the server offers */
};

/* What a successful submission reports. */
struct mh_smtp_result {
	char *mechanism; /* owned; the AUTH mechanism used */
	char *reply;     /* owned; the server's answer to the message ("250 2.0.0 Ok: queued...") */
};

void mh_smtp_result_clear(struct mh_smtp_result *r);

/* The port used for @set: its own, or 465 / 587 by the TLS mode. */
uint16_t mh_smtp_port(const struct mh_smtp_settings *set);

/* Submits @message (CRLF lines, headers included) from @from to @to (bare addresses, no
 * angle brackets). Blocks until the server accepted or refused it. On failure the error
 * names the step and carries the server's own reply text when it sent one, e.g. "the
 * server refused the recipient: 553 5.7.1 ...". The SMTP dialogue is logged under the wire
 * debug category with AUTH payloads replaced by their length. */
bool mh_smtp_send(const struct mh_smtp_settings *set, const struct mh_smtp_credentials *cred,
                  const char *from, const char *to, GBytes *message,
                  struct mh_smtp_result *result_r, GError **error);

/* The one-line reply of the last SMTP response in @text (a dialogue's last lines):
 * "535 5.7.8 Error: authentication failed", the continuation lines joined. Returns a new
 * string, or NULL when @text holds no reply. Pure; exposed for tests. */
char *mh_smtp_reply_text(const char *text, size_t len);

/* How the wire log shows one client line @line (@len bytes, no CRLF): SMTP commands as
 * sent, "AUTH MECH <redacted N bytes>" for AUTH, and any other line
 * (SASL responses, message data) as "<redacted N bytes>". Returns a new string. Pure;
 * exposed for tests. */
char *mh_smtp_redact_line(const char *line, size_t len);

#endif
