/* SPDX-License-Identifier: MIT */
/* One message through a submission server with libcurl's SMTP (RFC 5321, 6409): STARTTLS
 * (RFC 3207) or implicit TLS (RFC 8314), SMTP AUTH (RFC 4954) with a password, XOAUTH2 or
 * OAUTHBEARER (RFC 7628). libcurl's own verbose output never reaches stderr: a debug
 * callback keeps the server's replies (for error lines) and logs the dialogue with every
 * client line that is not a plain SMTP command replaced by its length. */
#include "smtp.h"

#include <curl/curl.h>
#include <string.h>

#include "mh-log.h"

#define SMTP_TIMEOUT_MS 120000u
#define SMTP_REPLY_MAX  4096 /* bytes of one reply kept for the error line */
#define SMTP_CONNECT_MS 30000L

G_DEFINE_QUARK(mh - smtp - error - quark, mh_smtp_error)

/* What the debug callback learns of the dialogue. */
struct smtp_session {
	GString *reply;   /* owned; the reply being received (continuation lines joined) */
	char *last;       /* owned; the last complete reply, one line */
	char *failed;     /* owned; the first 4xx/5xx reply, one line (QUIT's reply comes after) */
	char *failed_at;  /* owned; the command it answered, "MESSAGE" for the message's data */
	char *verb;       /* owned; the last command sent ("MAIL", "RCPT", "DATA", "AUTH") */
	char *mechanism;  /* owned; the mechanism of the AUTH command sent */
	char *offered;    /* owned; the AUTH mechanisms of the EHLO reply, or NULL */
	bool in_data;     /* DATA got its 354: the next reply is the message's */
	const char *body; /* borrowed: the message, for the read callback */
	size_t body_len;
	size_t body_sent;
};

void
mh_smtp_result_clear(struct mh_smtp_result *r)
{
	g_clear_pointer(&r->mechanism, g_free);
	g_clear_pointer(&r->reply, g_free);
}

uint16_t
mh_smtp_port(const struct mh_smtp_settings *set)
{
	if (set->port != 0)
		return set->port;
	return set->tls == MH_SMTP_TLS_IMPLICIT ? 465 : 587;
}

char *
mh_smtp_redact_line(const char *line, size_t len)
{
	static const char *const plain[] = {"EHLO", "HELO", "STARTTLS", "MAIL", "RCPT",
	                                    "DATA", "QUIT", "RSET",     "NOOP", NULL};
	size_t verb = 0;

	while (verb < len && g_ascii_isalpha(line[verb]))
		verb++;
	if (verb == len || line[verb] == ' ') {
		for (size_t i = 0; plain[i] != NULL; i++) {
			if (verb == strlen(plain[i]) &&
			    g_ascii_strncasecmp(line, plain[i], verb) == 0)
				return g_strndup(line, len);
		}
	}
	if (verb == 4 && verb < len && g_ascii_strncasecmp(line, "AUTH", 4) == 0) {
		size_t mech = verb + 1;

		while (mech < len && line[mech] != ' ')
			mech++;
		if (mech == len)
			return g_strndup(line, len);
		return g_strdup_printf("%.*s <redacted %zu bytes>", (int)mech, line,
		                       len - mech - 1);
	}
	return g_strdup_printf("<redacted %zu bytes>", len);
}

char *
mh_smtp_reply_text(const char *text, size_t len)
{
	g_autoptr(GString) out = g_string_new(NULL);
	const char *end = text + len;
	const char *p = text;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl != NULL ? nl : end) - p);

		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n'))
			n--;
		if (n >= 3 && g_ascii_isdigit(p[0]) && g_ascii_isdigit(p[1]) &&
		    g_ascii_isdigit(p[2]) && (n == 3 || p[3] == ' ' || p[3] == '-')) {
			if (out->len == 0)
				g_string_append_len(out, p, MIN(n, 3));
			if (n > 4)
				g_string_append_printf(out, " %.*s", (int)(n - 4), p + 4);
		}
		if (out->len > SMTP_REPLY_MAX) {
			g_string_truncate(out, SMTP_REPLY_MAX);
			break;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (out->len == 0)
		return NULL;
	return g_string_free(g_steal_pointer(&out), false);
}

/* A reply line from the server: joined into s->reply until its last line (a space after
 * the code), then kept as s->last. */
static void
smtp_on_reply_line(struct smtp_session *s, const char *line, size_t n)
{
	mh_log_debug(MH_LOG_CAT_WIRE, "smtp S: %.*s", (int)n, line);
	if (n >= 9 && g_ascii_strncasecmp(line + 4, "AUTH ", 5) == 0) {
		g_free(s->offered);
		s->offered = g_strndup(line + 9, n - 9);
	}
	if (s->reply->len < SMTP_REPLY_MAX)
		g_string_append_len(s->reply, line, (gssize)n);
	g_string_append_c(s->reply, '\n');
	if (n > 3 && line[3] == '-')
		return;
	g_free(s->last);
	s->last = mh_smtp_reply_text(s->reply->str, s->reply->len);
	g_string_truncate(s->reply, 0);
	if (s->failed == NULL && s->last != NULL && (s->last[0] == '4' || s->last[0] == '5')) {
		s->failed = g_strdup(s->last);
		s->failed_at = g_strdup(s->in_data ? "MESSAGE" : s->verb);
	}
	if (g_strcmp0(s->verb, "DATA") == 0 && g_str_has_prefix(line, "354"))
		s->in_data = true;
}

static void
smtp_on_command_line(struct smtp_session *s, const char *line, size_t n)
{
	g_autofree char *shown = mh_smtp_redact_line(line, n);
	size_t verb = strcspn(shown, " ");

	mh_log_debug(MH_LOG_CAT_WIRE, "smtp C: %s", shown);
	if (shown[0] == '<')
		return; /* a SASL response: the verb stays AUTH */
	g_free(s->verb);
	s->verb = g_ascii_strup(shown, (gssize)verb);
	if (strcmp(s->verb, "AUTH") == 0) {
		const char *m = shown + verb + (shown[verb] == ' ');

		g_free(s->mechanism);
		s->mechanism = g_strndup(m, strcspn(m, " "));
	}
}

static int
smtp_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ctx)
{
	struct smtp_session *s = ctx;
	const char *end = data + size;
	const char *p = data;

	(void)h;
	if (type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT) {
		/* libcurl's own notes (TLS, connection); not NUL-terminated. */
		if (type == CURLINFO_TEXT) {
			size_t n = 0;

			while (n < size && data[n] != '\r' && data[n] != '\n')
				n++;
			mh_log_debug(MH_LOG_CAT_WIRE, "smtp: %.*s", (int)n, data);
		}
		return 0; /* message data and TLS records are never shown */
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl != NULL ? nl : end) - p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (type == CURLINFO_HEADER_IN)
			smtp_on_reply_line(s, p, n);
		else
			smtp_on_command_line(s, p, n);
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

static size_t
smtp_read(char *buf, size_t size, size_t nitems, void *ctx)
{
	struct smtp_session *s = ctx;
	size_t n = MIN(size * nitems, s->body_len - s->body_sent);

	memcpy(buf, s->body + s->body_sent, n);
	s->body_sent += n;
	return n;
}

/* Whether the mechanism asked for (in @want) is among those the server offered. */
static bool
smtp_offers(const struct smtp_session *s, const char *want)
{
	g_auto(GStrv) names = NULL;

	if (s->offered == NULL || want == NULL)
		return true;
	names = g_strsplit(s->offered, " ", -1);
	for (size_t i = 0; names[i] != NULL; i++) {
		if (g_ascii_strcasecmp(names[i], want) == 0)
			return true;
	}
	return false;
}

/* The error for a failed transfer: the server's own words where it refused something. */
static void
smtp_set_error(const struct mh_smtp_settings *set, const struct mh_smtp_credentials *cred,
               const char *want, const struct smtp_session *s, CURLcode rc, const char *curl_text,
               GError **error)
{
	const char *host = set->host;
	unsigned port = mh_smtp_port(set);
	const char *reply = s->failed != NULL ? s->failed : s->last != NULL ? s->last : curl_text;
	const char *at = s->failed_at != NULL ? s->failed_at : "";
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		g_set_error(error, MH_SMTP_ERROR, MH_SMTP_ERROR_CONNECT,
		            "cannot connect to the submission server %s port %u: %s", host, port,
		            curl_text);
		return;
	case CURLE_OPERATION_TIMEDOUT:
		g_set_error(error, MH_SMTP_ERROR, MH_SMTP_ERROR_TIMEOUT,
		            "the submission server %s port %u did not answer in time (%s)", host,
		            port, curl_text);
		return;
	case CURLE_USE_SSL_FAILED:
		g_set_error(error, MH_SMTP_ERROR, MH_SMTP_ERROR_TLS,
		            "the submission server %s port %u does not offer STARTTLS (use "
		            "--smtp-tls for a port with implicit TLS)",
		            host, port);
		return;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		g_set_error(error, MH_SMTP_ERROR, MH_SMTP_ERROR_TLS,
		            "TLS with the submission server %s port %u failed: %s", host, port,
		            curl_text);
		return;
	case CURLE_LOGIN_DENIED:
		if (!smtp_offers(s, want))
			g_set_error(error, MH_SMTP_ERROR, MH_SMTP_ERROR_AUTH,
			            "the submission server %s offers AUTH %s, not %s", host,
			            s->offered, want);
		else
			g_set_error(error, MH_SMTP_ERROR, MH_SMTP_ERROR_AUTH,
			            "the submission server %s refused the sign-in of %s%s%s: %s",
			            host, cred->user, s->mechanism != NULL ? " with " : "",
			            s->mechanism != NULL ? s->mechanism : "", reply);
		return;
	default:
		break;
	}
	if (s->failed != NULL && (strcmp(at, "MAIL") == 0 || strcmp(at, "RCPT") == 0 ||
	                          strcmp(at, "DATA") == 0 || strcmp(at, "MESSAGE") == 0)) {
		const char *what = strcmp(at, "MAIL") == 0   ? "the sender"
		                   : strcmp(at, "RCPT") == 0 ? "the recipient"
		                                             : "the message";

		g_set_error(error, MH_SMTP_ERROR, MH_SMTP_ERROR_REFUSED,
		            "the submission server %s refused %s: %s", host, what, reply);
		return;
	}
	if (rc == CURLE_WEIRD_SERVER_REPLY || s->failed != NULL)
		g_set_error(error, MH_SMTP_ERROR, MH_SMTP_ERROR_PROTOCOL,
		            "the submission server %s port %u answered %s", host, port, reply);
	else
		g_set_error(error, MH_SMTP_ERROR, MH_SMTP_ERROR_CONNECT,
		            "the connection to the submission server %s port %u failed: %s", host,
		            port, curl_text);
}

/* The AUTH mechanism to ask libcurl for, or NULL for its own choice. */
static const char *
smtp_mechanism(const struct mh_smtp_credentials *cred, GError **error)
{
	static const char *const known[] = {"PLAIN",   "LOGIN",       "CRAM-MD5",
	                                    "XOAUTH2", "OAUTHBEARER", NULL};
	const char *m = cred->mechanism;

	if (m == NULL)
		return cred->token != NULL ? "XOAUTH2" : NULL;
	for (size_t i = 0; known[i] != NULL; i++) {
		bool oauth = i >= 3;

		if (g_ascii_strcasecmp(m, known[i]) != 0)
			continue;
		if (oauth != (cred->token != NULL)) {
			g_set_error(
				error, MH_SMTP_ERROR, MH_SMTP_ERROR_USAGE, "%s needs %s", known[i],
				oauth ? "an OAuth2 sign-in" : "a password, not an OAuth2 token");
			return NULL;
		}
		return known[i];
	}
	g_set_error(error, MH_SMTP_ERROR, MH_SMTP_ERROR_USAGE,
	            "unknown SMTP mechanism '%s' (PLAIN, LOGIN, CRAM-MD5, XOAUTH2 or OAUTHBEARER)",
	            m);
	return NULL;
}

static CURL *
smtp_handle(const struct mh_smtp_settings *set, struct smtp_session *s, char *errbuf)
{
	static gsize done;
	CURL *h;

	if (g_once_init_enter(&done)) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		g_once_init_leave(&done, 1);
	}
	h = curl_easy_init();
	g_assert(h != NULL);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, SMTP_CONNECT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
	                 (long)(set->timeout_ms != 0 ? set->timeout_ms : SMTP_TIMEOUT_MS));
	if (set->tls == MH_SMTP_TLS_STARTTLS)
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (set->cafile != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, set->cafile);
	if (set->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	/* Verbose only feeds our callback, which redacts; libcurl prints nothing itself. */
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, smtp_debug);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, s);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, smtp_read);
	curl_easy_setopt(h, CURLOPT_READDATA, s);
	return h;
}

static bool
smtp_check_address(const char *what, const char *a, GError **error)
{
	if (a == NULL || *a == '\0' || strpbrk(a, "<>\r\n \t") != NULL || strchr(a, '@') == NULL) {
		g_set_error(error, MH_SMTP_ERROR, MH_SMTP_ERROR_USAGE,
		            "'%s' is not a mail address for the %s", a != NULL ? a : "", what);
		return false;
	}
	return true;
}

bool
mh_smtp_send(const struct mh_smtp_settings *set, const struct mh_smtp_credentials *cred,
             const char *from, const char *to, GBytes *message, struct mh_smtp_result *result_r,
             GError **error)
{
	struct smtp_session s = {.reply = g_string_new(NULL)};
	char errbuf[CURL_ERROR_SIZE] = "";
	g_autofree char *url = NULL;
	g_autofree char *mail_from = NULL;
	g_autofree char *login_options = NULL;
	struct curl_slist *rcpt = NULL;
	const char *want = NULL;
	GError *local = NULL;
	CURL *h = NULL;
	CURLcode rc;
	bool ok = false;

	memset(result_r, 0, sizeof(*result_r));
	if (!smtp_check_address("sender", from, error) ||
	    !smtp_check_address("recipient", to, error))
		goto out;
	want = smtp_mechanism(cred, &local);
	if (local != NULL) {
		g_propagate_error(error, local);
		goto out;
	}
	s.body = g_bytes_get_data(message, &s.body_len);
	h = smtp_handle(set, &s, errbuf);
	url = g_strdup_printf("%s://%s%s%s:%u", set->tls == MH_SMTP_TLS_IMPLICIT ? "smtps" : "smtp",
	                      strchr(set->host, ':') != NULL ? "[" : "", set->host,
	                      strchr(set->host, ':') != NULL ? "]" : "", mh_smtp_port(set));
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_USERNAME, cred->user);
	if (cred->authzid != NULL)
		curl_easy_setopt(h, CURLOPT_SASL_AUTHZID, cred->authzid);
	if (cred->token != NULL)
		curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, cred->token);
	else
		curl_easy_setopt(h, CURLOPT_PASSWORD, cred->password);
	if (want != NULL) {
		login_options = g_strdup_printf("AUTH=%s", want);
		curl_easy_setopt(h, CURLOPT_LOGIN_OPTIONS, login_options);
	}
	mail_from = g_strdup_printf("<%s>", from);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from);
	rcpt = curl_slist_append(NULL, to);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	mh_log_debug(MH_LOG_CAT_WIRE, "smtp: submitting %zu bytes to %s as %s", s.body_len, url,
	             cred->user);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		smtp_set_error(set, cred, want, &s, rc,
		               errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc), error);
		goto out;
	}
	result_r->mechanism = g_strdup(s.mechanism);
	result_r->reply = g_strdup(s.last);
	ok = true;
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	curl_slist_free_all(rcpt);
	g_string_free(s.reply, true);
	g_free(s.last);
	g_free(s.failed);
	g_free(s.failed_at);
	g_free(s.verb);
	g_free(s.mechanism);
	g_free(s.offered);
	return ok;
}
