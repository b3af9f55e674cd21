/* SPDX-License-Identifier: MIT */
/* SASL mechanisms as pure byte exchanges: exact reply bytes (NULs included), the
 * RFC 2195 CRAM-MD5 example, step errors, and mechanism choice by capability. */
#include "sasl.h"

#include <glib.h>
#include <string.h>

static struct mh_sasl_client *
client_new(const char *mech_name, const char *authid, const char *authzid, const char *password)
{
	const struct mh_sasl_mech *mech = mh_sasl_mech_find(mech_name);
	struct mh_sasl_settings set = {
		.authid = authid,
		.authzid = authzid,
		.password = password,
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
	size_t len = 0;

	g_assert_true(mh_sasl_client_output(c, &data, &len, &error));
	g_assert_no_error(error);
	g_assert_nonnull(data);
	g_assert_cmpmem(data, len, expected, expected_len);
}

static void
assert_output_fails(struct mh_sasl_client *c)
{
	g_autoptr(GError) error = NULL;
	const unsigned char *data = (const unsigned char *)"x";
	size_t len = 1;

	g_assert_false(mh_sasl_client_output(c, &data, &len, &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROTOCOL);
	g_assert_null(data);
	g_assert_cmpuint(len, ==, 0);
}

static void
input_ok(struct mh_sasl_client *c, const char *challenge)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(mh_sasl_client_input(c, (const unsigned char *)challenge, strlen(challenge),
	                                   &error));
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
new_fails(const char *mech_name, const struct mh_sasl_settings *set, const char *message)
{
	g_autoptr(GError) error = NULL;
	struct mh_sasl_client *c;

	c = mh_sasl_client_new(mh_sasl_mech_find(mech_name), set, &error);
	g_assert_null(c);
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE);
	g_assert_cmpstr(error->message, ==, message);
}

static void
test_mech_find(void)
{
	const struct mh_sasl_mech *m;

	m = mh_sasl_mech_find("plain");
	g_assert_nonnull(m);
	g_assert_cmpstr(m->name, ==, "PLAIN");
	g_assert_cmpuint(m->flags, ==,
	                 MH_SASL_MECH_PLAINTEXT | MH_SASL_MECH_INITIAL | MH_SASL_MECH_PASSWORD);
	g_assert_cmpuint(m->rank, ==, 20);

	m = mh_sasl_mech_find("Login");
	g_assert_nonnull(m);
	g_assert_cmpstr(m->name, ==, "LOGIN");
	g_assert_cmpuint(m->flags, ==, MH_SASL_MECH_PLAINTEXT | MH_SASL_MECH_PASSWORD);
	g_assert_cmpuint(m->rank, ==, 10);

	m = mh_sasl_mech_find("CRAM-md5");
	g_assert_nonnull(m);
	g_assert_cmpstr(m->name, ==, "CRAM-MD5");
	g_assert_cmpuint(m->flags, ==, MH_SASL_MECH_PASSWORD);
	g_assert_cmpuint(m->rank, ==, 30);

	g_assert_null(mh_sasl_mech_find("DIGEST-MD5"));
	g_assert_null(mh_sasl_mech_find("PLAINX"));
	g_assert_null(mh_sasl_mech_find(""));
}

static const char *
choose(const char *const *mechs, bool need_authzid, bool allow_cram_md5)
{
	const struct mh_sasl_mech *m = mh_sasl_mech_choose(mechs, need_authzid, allow_cram_md5);

	return m != NULL ? m->name : NULL;
}

static void
test_mech_choose(void)
{
	const char *const all[] = {"LOGIN", "PLAIN", "CRAM-MD5", NULL};
	const char *const lower[] = {"login", "cram-md5", NULL};
	const char *const plain_login[] = {"LOGIN", "PLAIN", NULL};
	const char *const login[] = {"LOGIN", NULL};
	const char *const oauth[] = {"XOAUTH2", "OAUTHBEARER", NULL};
	const char *const gmail[] = {"XOAUTH2",     "PLAIN",  "PLAIN-CLIENTTOKEN",
	                             "OAUTHBEARER", "XOAUTH", NULL};
	const char *const none[] = {NULL};

	g_assert_cmpstr(choose(all, false, true), ==, "CRAM-MD5");
	g_assert_cmpstr(choose(all, false, false), ==, "PLAIN");
	g_assert_cmpstr(choose(all, true, true), ==, "PLAIN");
	g_assert_cmpstr(choose(lower, false, true), ==, "CRAM-MD5");
	g_assert_cmpstr(choose(lower, false, false), ==, "LOGIN");
	g_assert_null(choose(lower, true, true));
	g_assert_cmpstr(choose(plain_login, false, true), ==, "PLAIN");
	g_assert_cmpstr(choose(login, false, true), ==, "LOGIN");
	g_assert_null(choose(login, true, false));
	g_assert_null(choose(oauth, false, true));
	g_assert_cmpstr(choose(gmail, false, true), ==, "PLAIN");
	g_assert_null(choose(none, false, true));
	g_assert_null(choose(NULL, false, true));
}

static void
test_plain_initial_response(void)
{
	g_autoptr(mh_sasl_client) c = client_new("PLAIN", "tim", NULL, "tanstaaftanstaaf");

	assert_output(c, "\0tim\0tanstaaftanstaaf", 21);
}

static void
test_plain_authzid(void)
{
	g_autoptr(mh_sasl_client) c = client_new("PLAIN", "admin", "alice@example.com", "s3cr3t");

	assert_output(c, "alice@example.com\0admin\0s3cr3t", 30);
}

static void
test_plain_empty_authzid(void)
{
	g_autoptr(mh_sasl_client) c = client_new("PLAIN", "tim", "", "pw");

	assert_output(c, "\0tim\0pw", 7);
}

static void
test_plain_utf8(void)
{
	/* RFC 4616 section 2: UTF-8 as is, no transformation. */
	g_autoptr(mh_sasl_client) c = client_new("PLAIN", "jürgen", NULL, "pässwörd");

	assert_output(c, "\0j\xc3\xbcrgen\0p\xc3\xa4ssw\xc3\xb6rd", 19);
}

static void
test_plain_empty_challenge(void)
{
	g_autoptr(mh_sasl_client) c = client_new("PLAIN", "tim", NULL, "pw");

	/* A server without SASL-IR answers AUTHENTICATE PLAIN with an empty "+ ". */
	input_ok(c, "");
	assert_output(c, "\0tim\0pw", 7);
}

static void
test_plain_non_empty_challenge(void)
{
	g_autoptr(mh_sasl_client) c = client_new("PLAIN", "tim", NULL, "pw");

	input_fails(c, "hello", "PLAIN: server sent a non-empty challenge");
}

static void
test_plain_challenge_after_response(void)
{
	g_autoptr(mh_sasl_client) c = client_new("PLAIN", "tim", NULL, "pw");

	assert_output(c, "\0tim\0pw", 7);
	input_fails(c, "", "PLAIN: server sent a challenge after the response");
	input_fails(c, "more", "PLAIN: server sent a challenge after the response");
	assert_output_fails(c);
}

static void
test_login_two_steps(void)
{
	g_autoptr(mh_sasl_client) c = client_new("LOGIN", "tim", NULL, "tanstaaftanstaaf");

	input_ok(c, "Username:");
	assert_output(c, "tim", 3);
	input_ok(c, "Password:");
	assert_output(c, "tanstaaftanstaaf", 16);
}

static void
test_login_lenient_prompts(void)
{
	g_autoptr(mh_sasl_client) c = client_new("LOGIN", "tim", NULL, "pw");

	/* Prompt wording varies ("User Name", localised, empty): the step decides. */
	input_ok(c, "Password:");
	assert_output(c, "tim", 3);
	input_ok(c, "");
	assert_output(c, "pw", 2);
}

static void
test_login_third_challenge(void)
{
	g_autoptr(mh_sasl_client) c = client_new("LOGIN", "tim", NULL, "pw");

	input_ok(c, "User Name");
	assert_output(c, "tim", 3);
	input_ok(c, "Password");
	assert_output(c, "pw", 2);
	input_fails(c, "Password:", "LOGIN: server sent a third challenge");
	assert_output_fails(c);
}

static void
test_login_no_initial_response(void)
{
	g_autoptr(mh_sasl_client) c = client_new("LOGIN", "tim", NULL, "pw");

	assert_output_fails(c);
	input_ok(c, "Username:");
	assert_output(c, "tim", 3);
	/* A second reply needs a second challenge first. */
	assert_output_fails(c);
}

static void
test_login_double_challenge(void)
{
	g_autoptr(mh_sasl_client) c = client_new("LOGIN", "tim", NULL, "pw");

	input_ok(c, "Username:");
	input_fails(c, "Password:", "LOGIN: challenge received before the last reply was sent");
}

static void
test_cram_md5_rfc2195(void)
{
	static const char challenge[] = "<1896.697170952@postoffice.reston.mci.net>";
	static const char response[] = "tim b913a602c7eda7a495b4e6e7334d3890";
	g_autoptr(mh_sasl_client) c = client_new("CRAM-MD5", "tim", NULL, "tanstaaftanstaaf");

	assert_output_fails(c);
	input_ok(c, challenge);
	assert_output(c, response, strlen(response));
}

static void
test_cram_md5_rfc2104(void)
{
	/* RFC 2104 appendix test vector 2 (key "Jefe"), as a CRAM-MD5 exchange. */
	static const char response[] = "jefe 750c783e6ab0b503eaa86e310a5db738";
	g_autoptr(mh_sasl_client) c = client_new("CRAM-MD5", "jefe", NULL, "Jefe");

	input_ok(c, "what do ya want for nothing?");
	assert_output(c, response, strlen(response));
}

static void
test_cram_md5_empty_challenge(void)
{
	g_autoptr(mh_sasl_client) c = client_new("CRAM-MD5", "tim", NULL, "pw");

	input_fails(c, "", "CRAM-MD5: server sent an empty challenge");
}

static void
test_cram_md5_challenge_after_response(void)
{
	g_autoptr(mh_sasl_client) c = client_new("CRAM-MD5", "tim", NULL, "tanstaaftanstaaf");

	input_ok(c, "<1896.697170952@postoffice.reston.mci.net>");
	input_fails(c, "<again@example>",
	            "CRAM-MD5: challenge received before the last reply was sent");
	assert_output(c, "tim b913a602c7eda7a495b4e6e7334d3890", 36);
	input_fails(c, "<again@example>", "CRAM-MD5: server sent a challenge after the response");
	assert_output_fails(c);
}

static void
test_new_no_user(void)
{
	struct mh_sasl_settings set = {.password = "pw"};

	new_fails("PLAIN", &set, "no user name given");
	set.authid = "";
	new_fails("LOGIN", &set, "no user name given");
	new_fails("CRAM-MD5", &set, "no user name given");
}

static void
test_new_no_password(void)
{
	struct mh_sasl_settings set = {.authid = "tim"};

	new_fails("PLAIN", &set, "no password given");
	new_fails("LOGIN", &set, "no password given");
	new_fails("CRAM-MD5", &set, "no password given");
}

static void
test_new_authzid_refused(void)
{
	struct mh_sasl_settings set = {.authid = "admin", .authzid = "alice", .password = "pw"};

	new_fails("LOGIN", &set, "LOGIN cannot carry an authorization identity (authzid)");
	new_fails("CRAM-MD5", &set, "CRAM-MD5 cannot carry an authorization identity (authzid)");
}

static void
test_new_copies_settings(void)
{
	char user[] = "tim";
	char password[] = "pw";
	struct mh_sasl_settings set = {.authid = user, .password = password};
	g_autoptr(GError) error = NULL;
	g_autoptr(mh_sasl_client) c = NULL;

	c = mh_sasl_client_new(mh_sasl_mech_find("PLAIN"), &set, &error);
	g_assert_no_error(error);
	memset(user, 'X', 3);
	memset(password, 'Y', 2);
	assert_output(c, "\0tim\0pw", 7);
	mh_sasl_client_free(NULL);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/auth/sasl/mech/find", test_mech_find);
	g_test_add_func("/auth/sasl/mech/choose", test_mech_choose);
	g_test_add_func("/auth/sasl/plain/initial-response", test_plain_initial_response);
	g_test_add_func("/auth/sasl/plain/authzid", test_plain_authzid);
	g_test_add_func("/auth/sasl/plain/empty-authzid", test_plain_empty_authzid);
	g_test_add_func("/auth/sasl/plain/utf8", test_plain_utf8);
	g_test_add_func("/auth/sasl/plain/empty-challenge", test_plain_empty_challenge);
	g_test_add_func("/auth/sasl/plain/non-empty-challenge", test_plain_non_empty_challenge);
	g_test_add_func("/auth/sasl/plain/challenge-after-response",
	                test_plain_challenge_after_response);
	g_test_add_func("/auth/sasl/login/two-steps", test_login_two_steps);
	g_test_add_func("/auth/sasl/login/lenient-prompts", test_login_lenient_prompts);
	g_test_add_func("/auth/sasl/login/third-challenge", test_login_third_challenge);
	g_test_add_func("/auth/sasl/login/no-initial-response", test_login_no_initial_response);
	g_test_add_func("/auth/sasl/login/double-challenge", test_login_double_challenge);
	g_test_add_func("/auth/sasl/cram-md5/rfc2195", test_cram_md5_rfc2195);
	g_test_add_func("/auth/sasl/cram-md5/rfc2104", test_cram_md5_rfc2104);
	g_test_add_func("/auth/sasl/cram-md5/empty-challenge", test_cram_md5_empty_challenge);
	g_test_add_func("/auth/sasl/cram-md5/challenge-after-response",
	                test_cram_md5_challenge_after_response);
	g_test_add_func("/auth/sasl/new/no-user", test_new_no_user);
	g_test_add_func("/auth/sasl/new/no-password", test_new_no_password);
	g_test_add_func("/auth/sasl/new/authzid-refused", test_new_authzid_refused);
	g_test_add_func("/auth/sasl/new/copies-settings", test_new_copies_settings);
	return g_test_run();
}
