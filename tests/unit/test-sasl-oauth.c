/* SPDX-License-Identifier: MIT */
/* XOAUTH2 and OAUTHBEARER as pure byte exchanges: exact initial responses (curl test
 * 843 form, GS2 escaping), the error-report exchange byte for byte (Gmail's example
 * JSON; empty answer for XOAUTH2, 0x01 for OAUTHBEARER), the messages drawn from the
 * report, refused settings, and that password-mechanism choice never picks them. */
#include "sasl.h"

#include <glib.h>
#include <string.h>

/* A string literal and its length without the final NUL. */
#define BYTES(s) s, sizeof(s) - 1

#define GMAIL_REPORT \
	"{\"status\":\"401\",\"schemes\":\"bearer mac\",\"scope\":\"https://mail.google.com/\"}"

static struct mh_sasl_client *
client_new(const char *mech_name, const char *user, const char *token, const char *host,
           unsigned port)
{
	const struct mh_sasl_mech *mech = mh_sasl_mech_find(mech_name);
	struct mh_sasl_settings set = {
		.authid = user,
		.token = token,
		.host = host,
		.port = port,
	};
	g_autoptr(GError) error = NULL;
	struct mh_sasl_client *c;

	g_assert_nonnull(mech);
	c = mh_sasl_client_new(mech, &set, &error);
	g_assert_no_error(error);
	g_assert_nonnull(c);
	return c;
}

static void
assert_output(struct mh_sasl_client *c, const void *expected, size_t expected_len)
{
	g_autoptr(GError) error = NULL;
	const unsigned char *data = NULL;
	size_t len = 99;

	g_assert_true(mh_sasl_client_output(c, &data, &len, &error));
	g_assert_no_error(error);
	g_assert_nonnull(data);
	g_assert_cmpmem(data, len, expected, expected_len);
}

static void
assert_output_fails(struct mh_sasl_client *c, const char *message)
{
	g_autoptr(GError) error = NULL;
	const unsigned char *data = (const unsigned char *)"x";
	size_t len = 1;

	g_assert_false(mh_sasl_client_output(c, &data, &len, &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROTOCOL);
	g_assert_cmpstr(error->message, ==, message);
	g_assert_null(data);
	g_assert_cmpuint(len, ==, 0);
}

static void
input_ok(struct mh_sasl_client *c, const void *challenge, size_t len)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(mh_sasl_client_input(c, challenge, len, &error));
	g_assert_no_error(error);
}

static void
input_fails(struct mh_sasl_client *c, const char *challenge, const char *message)
{
	g_autoptr(GError) error = NULL;

	g_assert_false(mh_sasl_client_input(c, (const unsigned char *)challenge, strlen(challenge),
	                                    &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROTOCOL);
	g_assert_cmpstr(error->message, ==, message);
}

static void
assert_report(const struct mh_sasl_client *c, const char *status, const char *message)
{
	g_autofree char *status_r = NULL;
	g_autofree char *message_r = NULL;

	g_assert_true(mh_sasl_client_error(c, &status_r, &message_r));
	g_assert_cmpstr(status_r, ==, status);
	g_assert_cmpstr(message_r, ==, message);
}

static void
assert_no_report(const struct mh_sasl_client *c)
{
	char *status = (char *)"x";
	char *message = (char *)"x";

	g_assert_false(mh_sasl_client_error(c, &status, &message));
	g_assert_null(status);
	g_assert_null(message);
	g_assert_false(mh_sasl_client_error(c, NULL, NULL));
	g_assert_false(mh_sasl_client_token_expired(c));
}

static void
new_fails(const char *mech_name, const struct mh_sasl_settings *set, const char *message)
{
	g_autoptr(GError) error = NULL;
	struct mh_sasl_client *c;

	c = mh_sasl_client_new(mh_sasl_mech_find(mech_name), set, &error);
	g_assert_null(c);
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE);
	g_assert_cmpstr(error->message, ==, message);
	/* Long enough not to match an ordinary word of the message. */
	if (set->token != NULL && strlen(set->token) >= 8)
		g_assert_null(strstr(error->message, set->token));
}

static void
test_mech_find(void)
{
	const struct mh_sasl_mech *x = mh_sasl_mech_find("xoauth2");
	const struct mh_sasl_mech *o = mh_sasl_mech_find("OAuthBearer");

	g_assert_nonnull(x);
	g_assert_cmpstr(x->name, ==, "XOAUTH2");
	g_assert_cmpuint(x->flags, ==, MH_SASL_MECH_INITIAL | MH_SASL_MECH_TOKEN);
	g_assert_nonnull(o);
	g_assert_cmpstr(o->name, ==, "OAUTHBEARER");
	g_assert_cmpuint(o->flags, ==, MH_SASL_MECH_INITIAL | MH_SASL_MECH_TOKEN);
	/* OAUTHBEARER is preferred when offered (issue 4). */
	g_assert_cmpuint(o->rank, >, x->rank);
}

static void
test_mech_choose_never_token(void)
{
	const char *const oauth[] = {"XOAUTH2", "OAUTHBEARER", NULL};
	const char *const gmail[] = {"XOAUTH2", "OAUTHBEARER", "PLAIN", NULL};
	const char *const ms[] = {"XOAUTH2", "LOGIN", NULL};
	const struct mh_sasl_mech *m;

	g_assert_null(mh_sasl_mech_choose(oauth, false, true));
	g_assert_null(mh_sasl_mech_choose(oauth, true, false));
	m = mh_sasl_mech_choose(gmail, false, true);
	g_assert_nonnull(m);
	g_assert_cmpstr(m->name, ==, "PLAIN");
	m = mh_sasl_mech_choose(ms, false, true);
	g_assert_nonnull(m);
	g_assert_cmpstr(m->name, ==, "LOGIN");
}

static void
test_xoauth2_initial_response(void)
{
	static const char expected[] =
		"user=someuser@example.com\001auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\001\001";
	g_autoptr(mh_sasl_client) c =
		client_new("XOAUTH2", "someuser@example.com",
	                   "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg", "imap.gmail.com", 993);

	assert_output(c, expected, sizeof(expected) - 1);
	assert_no_report(c);
	assert_output_fails(c, "XOAUTH2: the initial response was already sent");
}

static void
test_xoauth2_no_sasl_ir(void)
{
	g_autoptr(mh_sasl_client) c = client_new("XOAUTH2", "u", "t", NULL, 0);

	/* Without SASL-IR the server asks for the response with an empty "+ ". */
	input_ok(c, "", 0);
	assert_output(c, BYTES("user=u\001auth=Bearer t\001\001"));
}

static void
test_xoauth2_non_empty_first_challenge(void)
{
	g_autoptr(mh_sasl_client) c = client_new("XOAUTH2", "u", "t", NULL, 0);

	input_fails(c, "hello",
	            "XOAUTH2: server sent a non-empty challenge before the initial response");
}

static void
test_oauthbearer_initial_response(void)
{
	/* curl test 843 */
	static const char expected[] =
		"n,a=user,\001host=127.0.0.1\001port=9843\001auth=Bearer mF_9.B5f-4.1JqM\001\001";
	g_autoptr(mh_sasl_client) c =
		client_new("OAUTHBEARER", "user", "mF_9.B5f-4.1JqM", "127.0.0.1", 9843);

	assert_output(c, expected, sizeof(expected) - 1);
	assert_no_report(c);
	assert_output_fails(c, "OAUTHBEARER: the initial response was already sent");
}

static void
test_oauthbearer_escaping(void)
{
	/* RFC 5801 section 4: "," and "=" in a saslname become "=2C" and "=3D". */
	static const char expected[] =
		"n,a=a=3Db=2Cc=3D=3D@x=2C,\001host=imap.example.com\001port=993\001auth=Bearer tok\001\001";
	g_autoptr(mh_sasl_client) c =
		client_new("OAUTHBEARER", "a=b,c==@x,", "tok", "imap.example.com", 993);

	assert_output(c, expected, sizeof(expected) - 1);
}

static void
test_oauthbearer_no_host_port(void)
{
	static const char expected[] = "n,a=user@example.com,\001auth=Bearer tok\001\001";
	g_autoptr(mh_sasl_client) c = client_new("OAUTHBEARER", "user@example.com", "tok", "", 0);

	assert_output(c, expected, sizeof(expected) - 1);
}

static void
test_oauthbearer_utf8_user(void)
{
	static const char expected[] = "n,a=j\xc3\xbcrgen,\001port=143\001auth=Bearer t\001\001";
	g_autoptr(mh_sasl_client) c = client_new("OAUTHBEARER", "j\xc3\xbcrgen", "t", NULL, 143);

	assert_output(c, expected, sizeof(expected) - 1);
}

static void
test_xoauth2_error_exchange(void)
{
	g_autoptr(mh_sasl_client) c = client_new("XOAUTH2", "someuser@example.com", "tok", NULL, 0);

	assert_output(c, BYTES("user=someuser@example.com\001auth=Bearer tok\001\001"));
	input_ok(c, GMAIL_REPORT, strlen(GMAIL_REPORT));
	/* The answer is empty: the IMAP layer sends a bare CRLF, then the server sends NO. */
	assert_output(c, BYTES(""));
	assert_report(c, "401",
	              "the server rejected the access token (status 401, scope "
	              "https://mail.google.com/)");
	g_assert_true(mh_sasl_client_token_expired(c));
	assert_output_fails(c, "XOAUTH2: the error report was already answered");
	input_fails(c, GMAIL_REPORT, "XOAUTH2: server sent a second error report");
}

static void
test_oauthbearer_error_exchange(void)
{
	/* curl test 845 / RFC 7628 section 3.2.2, Gmail's JSON */
	g_autoptr(mh_sasl_client) c = client_new("OAUTHBEARER", "user", "tok", "127.0.0.1", 9845);
	const unsigned char *data = NULL;
	size_t len = 0;

	assert_output(c,
	              BYTES("n,a=user,\001host=127.0.0.1\001port=9845\001auth=Bearer tok\001\001"));
	input_ok(c, GMAIL_REPORT, strlen(GMAIL_REPORT));
	g_assert_true(mh_sasl_client_output(c, &data, &len, NULL));
	g_assert_cmpuint(len, ==, 1);
	g_assert_cmpuint(data[0], ==, 0x01);
	assert_report(c, "401",
	              "the server rejected the access token (status 401, scope "
	              "https://mail.google.com/)");
	g_assert_true(mh_sasl_client_token_expired(c));
	input_fails(c, "{}", "OAUTHBEARER: server sent a second error report");
	assert_output_fails(c, "OAUTHBEARER: the error report was already answered");
}

static void
test_oauthbearer_invalid_token(void)
{
	static const char report[] =
		"{\"status\":\"invalid_token\",\"scope\":\"mail\","
		"\"openid-configuration\":\"https://example.com/.well-known/openid-configuration\"}";
	g_autoptr(mh_sasl_client) c = client_new("OAUTHBEARER", "user", "tok", NULL, 0);

	assert_output(c, BYTES("n,a=user,\001auth=Bearer tok\001\001"));
	input_ok(c, report, strlen(report));
	assert_output(c, BYTES("\001"));
	assert_report(c, "invalid_token",
	              "the server rejected the access token (status invalid_token, scope mail)");
	g_assert_true(mh_sasl_client_token_expired(c));
}

static void
test_report_not_expired(void)
{
	/* Gmail's 400 (MailKit#377 capture) and RFC 7628's insufficient_scope: no refresh. */
	static const char gmail400[] =
		"{\"status\":\"400\",\"schemes\":\"Bearer\",\"scope\":\"https://mail.google.com/\"}";
	static const char scope[] = "{\"status\":\"insufficient_scope\",\"scope\":\"imap\"}";
	g_autoptr(mh_sasl_client) x = client_new("XOAUTH2", "u", "t", NULL, 0);
	g_autoptr(mh_sasl_client) o = client_new("OAUTHBEARER", "u", "t", NULL, 0);

	assert_output(x, BYTES("user=u\001auth=Bearer t\001\001"));
	input_ok(x, gmail400, strlen(gmail400));
	assert_output(x, BYTES(""));
	assert_report(x, "400",
	              "the server rejected the access token (status 400, scope "
	              "https://mail.google.com/)");
	g_assert_false(mh_sasl_client_token_expired(x));

	assert_output(o, BYTES("n,a=u,\001auth=Bearer t\001\001"));
	input_ok(o, scope, strlen(scope));
	assert_output(o, BYTES("\001"));
	assert_report(o, "insufficient_scope",
	              "the access token does not grant the scope the server requires "
	              "(status insufficient_scope, scope imap)");
	g_assert_false(mh_sasl_client_token_expired(o));
}

static void
test_report_numeric_status(void)
{
	static const char report[] = "{\"status\":401}";
	g_autoptr(mh_sasl_client) c = client_new("XOAUTH2", "u", "t", NULL, 0);

	assert_output(c, BYTES("user=u\001auth=Bearer t\001\001"));
	input_ok(c, report, strlen(report));
	assert_output(c, BYTES(""));
	assert_report(c, "401", "the server rejected the access token (status 401)");
	g_assert_true(mh_sasl_client_token_expired(c));
}

static void
test_report_malformed(void)
{
	static const char *const reports[] = {
		"{\"status\":\"401\"",           /* cut short */
		"not json",                      /* text */
		"[\"status\",\"401\"]",          /* not an object */
		"{\"status\":\"401\"} trailing", /* bytes after the object */
		"",                              /* empty */
	};

	for (size_t i = 0; i < G_N_ELEMENTS(reports); i++) {
		g_autoptr(mh_sasl_client) x = client_new("XOAUTH2", "u", "t", NULL, 0);
		g_autoptr(mh_sasl_client) o = client_new("OAUTHBEARER", "u", "t", NULL, 0);
		size_t len = strlen(reports[i]);

		assert_output(x, BYTES("user=u\001auth=Bearer t\001\001"));
		input_ok(x, reports[i], len);
		assert_output(x, BYTES(""));
		assert_report(x, NULL,
		              "the server rejected the access token (its error report is not valid "
		              "JSON)");
		g_assert_false(mh_sasl_client_token_expired(x));

		assert_output(o, BYTES("n,a=u,\001auth=Bearer t\001\001"));
		input_ok(o, reports[i], len);
		assert_output(o, BYTES("\001"));
		assert_report(o, NULL,
		              "the server rejected the access token (its error report is not valid "
		              "JSON)");
		g_assert_false(mh_sasl_client_token_expired(o));
	}
}

static void
test_report_with_nul(void)
{
	/* Reports are bytes with a length: a NUL, after or inside, makes them unreadable. */
	static const char after[] = "{\"status\":\"401\"}\0";
	static const char inside[] = "{\"status\":\"401\0\"}";
	static const char *const reports[] = {after, inside};
	static const size_t lens[] = {sizeof(after) - 1, sizeof(inside) - 1};

	for (size_t i = 0; i < G_N_ELEMENTS(reports); i++) {
		g_autoptr(mh_sasl_client) c = client_new("OAUTHBEARER", "u", "t", NULL, 0);

		assert_output(c, BYTES("n,a=u,\001auth=Bearer t\001\001"));
		input_ok(c, reports[i], lens[i]);
		assert_output(c, BYTES("\001"));
		assert_report(c, NULL,
		              "the server rejected the access token (its error report is not "
		              "valid JSON)");
		g_assert_false(mh_sasl_client_token_expired(c));
	}
}

static void
test_report_cleaned(void)
{
	/* Server text reaches a one-line message: no line breaks, no control characters. */
	static const char report[] =
		"{\"status\":\"4\\n01\",\"scope\":\"a\\u0007b\\u2028c\",\"schemes\":\"bearer\"}";
	g_autoptr(mh_sasl_client) c = client_new("XOAUTH2", "u", "t", NULL, 0);

	assert_output(c, BYTES("user=u\001auth=Bearer t\001\001"));
	input_ok(c, report, strlen(report));
	assert_output(c, BYTES(""));
	assert_report(c, "4?01", "the server rejected the access token (status 4?01, scope a?b?c)");
	g_assert_false(mh_sasl_client_token_expired(c));
}

static void
test_report_long_field(void)
{
	g_autofree char *scope = g_strnfill(500, 's');
	g_autofree char *report = g_strdup_printf("{\"scope\":\"%s\"}", scope);
	g_autofree char *message = NULL;
	g_autoptr(mh_sasl_client) c = client_new("XOAUTH2", "u", "t", NULL, 0);

	assert_output(c, BYTES("user=u\001auth=Bearer t\001\001"));
	input_ok(c, report, strlen(report));
	assert_output(c, BYTES(""));
	g_assert_true(mh_sasl_client_error(c, NULL, &message));
	g_assert_cmpuint(strlen(message), <, 200);
	g_assert_true(g_str_has_suffix(message, "sss...)"));
	g_assert_null(strchr(message, '\n'));
}

static void
test_challenge_before_answer(void)
{
	g_autoptr(mh_sasl_client) c = client_new("OAUTHBEARER", "u", "t", NULL, 0);

	assert_output(c, BYTES("n,a=u,\001auth=Bearer t\001\001"));
	input_ok(c, GMAIL_REPORT, strlen(GMAIL_REPORT));
	input_fails(c, GMAIL_REPORT,
	            "OAUTHBEARER: challenge received before the last reply was sent");
	assert_output(c, BYTES("\001"));
}

static void
test_password_mech_has_no_report(void)
{
	struct mh_sasl_settings set = {.authid = "tim", .password = "pw"};
	g_autoptr(GError) error = NULL;
	g_autoptr(mh_sasl_client) c = mh_sasl_client_new(mh_sasl_mech_find("PLAIN"), &set, &error);

	g_assert_no_error(error);
	assert_no_report(c);
	assert_output(c, BYTES("\0tim\0pw"));
	assert_no_report(c);
}

static void
test_new_refused(void)
{
	struct mh_sasl_settings set = {.authid = "u", .token = "ya29.sec\001ret"};
	static const char *const mechs[] = {"XOAUTH2", "OAUTHBEARER"};

	for (size_t i = 0; i < G_N_ELEMENTS(mechs); i++) {
		set = (struct mh_sasl_settings){.authid = "u", .token = "ya29.sec\001ret"};
		new_fails(mechs[i], &set,
		          "the access token contains a control character (0x01, CR or LF) that "
		          "XOAUTH2 and OAUTHBEARER cannot carry");
		set.token = "ya29.secret\r\n";
		new_fails(mechs[i], &set,
		          "the access token contains a control character (0x01, CR or LF) that "
		          "XOAUTH2 and OAUTHBEARER cannot carry");
		set.token = "ya29.sec\nret";
		new_fails(mechs[i], &set,
		          "the access token contains a control character (0x01, CR or LF) that "
		          "XOAUTH2 and OAUTHBEARER cannot carry");
		set.token = "ya29.secret";
		set.authid = "u\001auth=Bearer x";
		new_fails(mechs[i], &set,
		          "the user name contains a control character (0x01, CR or LF) that "
		          "XOAUTH2 and OAUTHBEARER cannot carry");
		set.authid = "u\r";
		new_fails(mechs[i], &set,
		          "the user name contains a control character (0x01, CR or LF) that "
		          "XOAUTH2 and OAUTHBEARER cannot carry");
		set.authid = "u";
		set.token = NULL;
		new_fails(mechs[i], &set, "no access token given");
		set.token = "";
		new_fails(mechs[i], &set, "no access token given");
		set.token = "ya29.secret";
		set.authid = "";
		new_fails(mechs[i], &set, "no user name given");
		set.authid = "u";
		set.authzid = "other";
		g_autofree char *authzid = g_strdup_printf(
			"%s cannot carry an authorization identity (authzid)", mechs[i]);
		new_fails(mechs[i], &set, authzid);
	}
	set = (struct mh_sasl_settings){.authid = "u", .token = "t", .host = "h\001port=1"};
	new_fails("OAUTHBEARER", &set,
	          "the host name contains a control character (0x01, CR or LF) that XOAUTH2 and "
	          "OAUTHBEARER cannot carry");
	set = (struct mh_sasl_settings){.authid = "u", .token = "t", .port = 65536};
	new_fails("OAUTHBEARER", &set, "port 65536 is out of range (1-65535)");
}

static void
test_new_copies_token(void)
{
	char token[] = "tok";
	char host[] = "h";
	struct mh_sasl_settings set = {
		.authid = "u", .password = "unused", .token = token, .host = host, .port = 1};
	g_autoptr(GError) error = NULL;
	g_autoptr(mh_sasl_client) c = NULL;

	c = mh_sasl_client_new(mh_sasl_mech_find("OAUTHBEARER"), &set, &error);
	g_assert_no_error(error);
	memset(token, 'X', 3);
	host[0] = 'Y';
	assert_output(c, BYTES("n,a=u,\001host=h\001port=1\001auth=Bearer tok\001\001"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/auth/sasl-oauth/mech/find", test_mech_find);
	g_test_add_func("/auth/sasl-oauth/mech/choose-never-token", test_mech_choose_never_token);
	g_test_add_func("/auth/sasl-oauth/xoauth2/initial-response", test_xoauth2_initial_response);
	g_test_add_func("/auth/sasl-oauth/xoauth2/no-sasl-ir", test_xoauth2_no_sasl_ir);
	g_test_add_func("/auth/sasl-oauth/xoauth2/non-empty-first-challenge",
	                test_xoauth2_non_empty_first_challenge);
	g_test_add_func("/auth/sasl-oauth/oauthbearer/initial-response",
	                test_oauthbearer_initial_response);
	g_test_add_func("/auth/sasl-oauth/oauthbearer/escaping", test_oauthbearer_escaping);
	g_test_add_func("/auth/sasl-oauth/oauthbearer/no-host-port", test_oauthbearer_no_host_port);
	g_test_add_func("/auth/sasl-oauth/oauthbearer/utf8-user", test_oauthbearer_utf8_user);
	g_test_add_func("/auth/sasl-oauth/xoauth2/error-exchange", test_xoauth2_error_exchange);
	g_test_add_func("/auth/sasl-oauth/oauthbearer/error-exchange",
	                test_oauthbearer_error_exchange);
	g_test_add_func("/auth/sasl-oauth/oauthbearer/invalid-token",
	                test_oauthbearer_invalid_token);
	g_test_add_func("/auth/sasl-oauth/report/not-expired", test_report_not_expired);
	g_test_add_func("/auth/sasl-oauth/report/numeric-status", test_report_numeric_status);
	g_test_add_func("/auth/sasl-oauth/report/malformed", test_report_malformed);
	g_test_add_func("/auth/sasl-oauth/report/with-nul", test_report_with_nul);
	g_test_add_func("/auth/sasl-oauth/report/cleaned", test_report_cleaned);
	g_test_add_func("/auth/sasl-oauth/report/long-field", test_report_long_field);
	g_test_add_func("/auth/sasl-oauth/challenge-before-answer", test_challenge_before_answer);
	g_test_add_func("/auth/sasl-oauth/password-mech-has-no-report",
	                test_password_mech_has_no_report);
	g_test_add_func("/auth/sasl-oauth/new/refused", test_new_refused);
	g_test_add_func("/auth/sasl-oauth/new/copies-token", test_new_copies_token);
	return g_test_run();
}
