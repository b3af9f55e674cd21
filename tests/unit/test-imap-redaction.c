/* SPDX-License-Identifier: MIT */
/* What reaches the wire. Redaction by construction: with every debug category on, a
 * password sent with SASL PLAIN (initial response and continuation), SASL LOGIN and the
 * LOGIN command never appears in the log, in clear or base64, while the server does
 * receive it. And no value can end a command line early: a CR or LF in search criteria
 * is refused before anything is sent. The "server" is a scripted thread on a loopback
 * socket in this process. */
#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "imap.h"
#include "mh-log.h"

#define USER     "alice"
#define PASSWORD "Zebra-Canary-9461"

struct script {
	int listen_fd;
	uint16_t port;
	const char *caps;           /* the greeting's capabilities */
	const char *const *answers; /* what to answer to each client line, NULL-terminated */
	GString *received;          /* everything the client sent */
};

static char *
read_line(int fd)
{
	GString *line = g_string_new(NULL);
	char c;

	while (read(fd, &c, 1) == 1) {
		g_string_append_c(line, c);
		if (c == '\n')
			break;
	}
	return g_string_free(line, false);
}

static gpointer
server_thread(gpointer data)
{
	struct script *s = data;
	int fd = accept(s->listen_fd, NULL, NULL);
	g_autofree char *greeting = g_strdup_printf("* OK [CAPABILITY %s] ready\r\n", s->caps);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, greeting, strlen(greeting)), ==, (ssize_t)strlen(greeting));
	for (size_t i = 0; s->answers[i] != NULL; i++) {
		g_autofree char *line = read_line(fd);

		g_string_append(s->received, line);
		g_assert_cmpint(write(fd, s->answers[i], strlen(s->answers[i])), ==,
		                (ssize_t)strlen(s->answers[i]));
	}
	close(fd);
	return NULL;
}

static void
script_listen(struct script *s)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	g_assert_cmpint(s->listen_fd, >=, 0);
	g_assert_cmpint(bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(s->listen_fd, 1), ==, 0);
	g_assert_cmpint(getsockname(s->listen_fd, (struct sockaddr *)&sa, &len), ==, 0);
	s->port = ntohs(sa.sin_port);
	s->received = g_string_new(NULL);
}

static void
capture_sink(enum mh_log_level level, unsigned category, const char *msg, void *ctx)
{
	(void)level;
	(void)category;
	g_string_append_printf(ctx, "%s\n", msg);
}

/* Logs in through a scripted server; returns what was logged and what the server got. */
static void
run_login(const char *caps, const char *const *answers, const char *mech, GString *log,
          GString **received_r)
{
	struct script s = {.caps = caps, .answers = answers};
	struct mh_imap_settings set = {.host = "127.0.0.1", .tls = MH_IMAP_TLS_NONE};
	struct mh_imap_credentials cred = {
		.user = USER, .password = PASSWORD, .mechanism = mech, .cleartext_ok = true};
	g_autoptr(GError) error = NULL;
	struct mh_imap_conn *conn;
	GThread *thread;

	script_listen(&s);
	set.port = s.port;
	thread = g_thread_new("server", server_thread, &s);
	mh_log_set_categories(MH_LOG_CAT_ALL);
	mh_log_set_sink(capture_sink, log);
	conn = mh_imap_conn_new(&set);
	g_assert_true(mh_imap_conn_connect(conn, &error));
	g_assert_no_error(error);
	g_assert_true(mh_imap_conn_login(conn, &cred, &error));
	g_assert_no_error(error);
	mh_imap_conn_free(conn);
	mh_log_set_sink(NULL, NULL);
	mh_log_set_categories(0);
	g_thread_join(thread);
	close(s.listen_fd);
	*received_r = s.received;
}

static void
assert_no_secret(const GString *log)
{
	static const char plain[] = "\0" USER "\0" PASSWORD;
	g_autofree char *b64_plain = g_base64_encode((const guchar *)plain, sizeof(plain) - 1);
	g_autofree char *b64_pw = g_base64_encode((const guchar *)PASSWORD, strlen(PASSWORD));

	g_assert_null(strstr(log->str, PASSWORD));
	g_assert_null(strstr(log->str, b64_plain));
	g_assert_null(strstr(log->str, b64_pw));
	g_assert_nonnull(strstr(log->str, "<redacted"));
}

static void
test_plain_initial_response(void)
{
	static const char plain[] = "\0" USER "\0" PASSWORD;
	static const char *const answers[] = {"A0001 OK [CAPABILITY IMAP4rev1] in\r\n", NULL};
	g_autoptr(GString) log = g_string_new(NULL);
	g_autoptr(GString) received = NULL;
	g_autofree char *b64 = g_base64_encode((const guchar *)plain, sizeof(plain) - 1);
	g_autofree char *expect = g_strdup_printf("A0001 AUTHENTICATE PLAIN %s\r\n", b64);

	run_login("IMAP4rev1 SASL-IR AUTH=PLAIN", answers, NULL, log, &received);
	g_assert_cmpstr(received->str, ==, expect);
	assert_no_secret(log);
}

static void
test_login_mechanism(void)
{
	static const char *const answers[] = {"+ VXNlcm5hbWU6\r\n", "+ UGFzc3dvcmQ6\r\n",
	                                      "A0001 OK [CAPABILITY IMAP4rev1] in\r\n", NULL};
	g_autoptr(GString) log = g_string_new(NULL);
	g_autoptr(GString) received = NULL;
	g_autofree char *b64_user = g_base64_encode((const guchar *)USER, strlen(USER));
	g_autofree char *b64_pw = g_base64_encode((const guchar *)PASSWORD, strlen(PASSWORD));
	g_autofree char *expect =
		g_strdup_printf("A0001 AUTHENTICATE LOGIN\r\n%s\r\n%s\r\n", b64_user, b64_pw);

	run_login("IMAP4rev1 AUTH=LOGIN", answers, "LOGIN", log, &received);
	g_assert_cmpstr(received->str, ==, expect);
	assert_no_secret(log);
}

static void
test_login_command(void)
{
	static const char *const answers[] = {"A0001 OK [CAPABILITY IMAP4rev1] in\r\n", NULL};
	g_autoptr(GString) log = g_string_new(NULL);
	g_autoptr(GString) received = NULL;

	run_login("IMAP4rev1", answers, NULL, log, &received);
	g_assert_cmpstr(received->str, ==, "A0001 LOGIN " USER " \"" PASSWORD "\"\r\n");
	assert_no_secret(log);
	g_assert_nonnull(strstr(log->str, "LOGIN " USER));
}

/* The error report of a refused token: the exact answer each mechanism owes the server
 * (an empty line for XOAUTH2, "AQ==" = base64 of 0x01 for OAUTHBEARER), the token kept out
 * of the log, and the login failing as "token expired" for status 401. */
static void
token_error_exchange(const char *mech, const char *caps, const char *answer_line)
{
	static const char *const answers[] = {
		"+ eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIn0=\r\n",
		"A0001 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", NULL};
	struct script s = {.caps = caps, .answers = answers};
	struct mh_imap_settings set = {.host = "127.0.0.1", .tls = MH_IMAP_TLS_NONE};
	struct mh_imap_credentials cred = {
		.user = USER, .token = PASSWORD, .mechanism = mech, .cleartext_ok = true};
	g_autoptr(GString) log = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	g_autofree char *expect_tail = g_strdup_printf("\r\n%s\r\n", answer_line);
	struct mh_imap_conn *conn;
	GThread *thread;

	script_listen(&s);
	set.port = s.port;
	thread = g_thread_new("server", server_thread, &s);
	mh_log_set_categories(MH_LOG_CAT_ALL);
	mh_log_set_sink(capture_sink, log);
	conn = mh_imap_conn_new(&set);
	g_assert_true(mh_imap_conn_connect(conn, &error));
	g_assert_false(mh_imap_conn_login(conn, &cred, &error));
	g_assert_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TOKEN_EXPIRED);
	g_assert_nonnull(strstr(error->message, "401"));
	mh_imap_conn_free(conn);
	mh_log_set_sink(NULL, NULL);
	mh_log_set_categories(0);
	g_thread_join(thread);
	close(s.listen_fd);
	g_assert_true(g_str_has_prefix(s.received->str, "A0001 AUTHENTICATE "));
	g_assert_true(g_str_has_suffix(s.received->str, expect_tail));
	g_assert_null(strstr(log->str, PASSWORD));
	g_string_free(s.received, true);
}

static void
test_xoauth2_error_answer(void)
{
	token_error_exchange("XOAUTH2", "IMAP4rev1 SASL-IR AUTH=XOAUTH2", "");
}

static void
test_oauthbearer_error_answer(void)
{
	token_error_exchange("OAUTHBEARER", "IMAP4rev1 SASL-IR AUTH=OAUTHBEARER", "AQ==");
}

/* A user value with CRLF in a command line never reaches the server; the connection stays
 * usable and the next command is the next thing the server reads. */
static void
test_no_line_break_on_the_wire(void)
{
	static const char *const answers[] = {"A0001 OK [CAPABILITY IMAP4rev1] in\r\n",
	                                      "A0002 OK created\r\n", NULL};
	struct script s = {.caps = "IMAP4rev1 SASL-IR AUTH=PLAIN", .answers = answers};
	struct mh_imap_settings set = {.host = "127.0.0.1", .tls = MH_IMAP_TLS_NONE};
	struct mh_imap_credentials cred = {
		.user = USER, .password = PASSWORD, .cleartext_ok = true};
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) uids = NULL;
	struct mh_imap_conn *conn;
	GThread *thread;

	script_listen(&s);
	set.port = s.port;
	thread = g_thread_new("server", server_thread, &s);
	conn = mh_imap_conn_new(&set);
	g_assert_true(mh_imap_conn_connect(conn, &error));
	g_assert_true(mh_imap_conn_login(conn, &cred, &error));
	g_assert_false(mh_imap_uid_search(conn, "ALL\r\nX1 CREATE chaos-inj", &uids, &error));
	g_assert_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE);
	g_assert_nonnull(strstr(error->message, "line break"));
	g_clear_error(&error);
	g_assert_true(mh_imap_create(conn, "Next", &error));
	g_assert_no_error(error);
	mh_imap_conn_free(conn);
	g_thread_join(thread);
	close(s.listen_fd);
	g_assert_null(strstr(s.received->str, "chaos"));
	g_assert_nonnull(strstr(s.received->str, "\r\nA0002 CREATE Next\r\n"));
	g_string_free(s.received, true);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/imap/redaction/plain-initial-response", test_plain_initial_response);
	g_test_add_func("/imap/redaction/login-mechanism", test_login_mechanism);
	g_test_add_func("/imap/redaction/login-command", test_login_command);
	g_test_add_func("/imap/oauth/xoauth2-error-answer", test_xoauth2_error_answer);
	g_test_add_func("/imap/oauth/oauthbearer-error-answer", test_oauthbearer_error_answer);
	g_test_add_func("/imap/wire/no-line-break", test_no_line_break_on_the_wire);
	return g_test_run();
}
