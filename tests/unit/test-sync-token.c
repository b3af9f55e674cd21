/* SPDX-License-Identifier: MIT */
/* Signing in with a token that may have expired (sync-token.c): one attempt, one more with
 * a forced fresh token only when the attempt fails with the "token refused" error, the
 * token source's own failure passed on, and password credentials tried once. */
#include "mh-secret.h"
#include "sync-token.h"

#define TEST_ERROR (g_quark_from_static_string("test-sync-token"))

enum {
	TEST_REFUSED, /* the token was refused */
	TEST_OTHER,   /* any other failure */
	TEST_SOURCE,  /* the token source failed */
};

/* What the fake token source and server do, and what they saw. */
struct script {
	int fail[2];       /* per attempt: -1 succeeds, else the error code */
	bool source_fails; /* the forced token cannot be had */
	GPtrArray *gets;   /* "token" or "forced", in order */
	GPtrArray *seen;   /* the tokens the attempts got ("(none)" for NULL) */
	int refused;       /* calls of the refused hook */
};

static char *
script_get(void *ctx, bool force, GError **error)
{
	struct script *s = ctx;

	g_ptr_array_add(s->gets, g_strdup(force ? "forced" : "token"));
	if (force && s->source_fails) {
		g_set_error(error, TEST_ERROR, TEST_SOURCE, "no fresh token");
		return NULL;
	}
	return mh_secret_strdup(force ? "fresh" : "stale");
}

static bool
script_attempt(const char *token, void *ctx, GError **error)
{
	struct script *s = ctx;
	int code = s->fail[MIN(s->seen->len, 1)];

	g_ptr_array_add(s->seen, g_strdup(token != NULL ? token : "(none)"));
	if (code < 0)
		return true;
	g_set_error(error, TEST_ERROR, code, "attempt %u failed", s->seen->len);
	return false;
}

static void
script_refused(void *ctx)
{
	struct script *s = ctx;

	s->refused++;
}

/* Runs mh_token_login_run() over @s (with a token source unless @password); returns its
 * result, the error in *error_r. */
static bool
script_run(struct script *s, bool password, GError **error_r)
{
	const struct mh_token_login l = {
		.get = password ? NULL : script_get,
		.get_ctx = s,
		.attempt = script_attempt,
		.attempt_ctx = s,
		.expired_domain = TEST_ERROR,
		.expired_code = TEST_REFUSED,
		.refused = script_refused,
	};

	s->gets = g_ptr_array_new_with_free_func(g_free);
	s->seen = g_ptr_array_new_with_free_func(g_free);
	return mh_token_login_run(&l, error_r);
}

static void
script_clear(struct script *s)
{
	g_ptr_array_unref(s->gets);
	g_ptr_array_unref(s->seen);
}

static void
assert_strv(GPtrArray *got, const char *const *want)
{
	g_ptr_array_add(got, NULL);
	g_assert_cmpstrv((char **)got->pdata, want);
	g_ptr_array_remove_index(got, got->len - 1);
}

static void
test_first_token_taken(void)
{
	struct script s = {.fail = {-1, -1}};
	GError *error = NULL;

	g_assert_true(script_run(&s, false, &error));
	g_assert_no_error(error);
	assert_strv(s.gets, (const char *const[]){"token", NULL});
	assert_strv(s.seen, (const char *const[]){"stale", NULL});
	g_assert_cmpint(s.refused, ==, 0);
	script_clear(&s);
}

static void
test_refused_token_refreshed_once(void)
{
	struct script s = {.fail = {TEST_REFUSED, -1}};
	GError *error = NULL;

	g_assert_true(script_run(&s, false, &error));
	g_assert_no_error(error);
	assert_strv(s.gets, (const char *const[]){"token", "forced", NULL});
	assert_strv(s.seen, (const char *const[]){"stale", "fresh", NULL});
	g_assert_cmpint(s.refused, ==, 1);
	script_clear(&s);
}

/* A fresh token refused too ends the sign-in with the second refusal: no third try. */
static void
test_refused_twice_fails(void)
{
	struct script s = {.fail = {TEST_REFUSED, TEST_REFUSED}};
	GError *error = NULL;

	g_assert_false(script_run(&s, false, &error));
	g_assert_error(error, TEST_ERROR, TEST_REFUSED);
	g_assert_cmpstr(error->message, ==, "attempt 2 failed");
	assert_strv(s.gets, (const char *const[]){"token", "forced", NULL});
	g_assert_cmpint(s.refused, ==, 1);
	g_clear_error(&error);
	script_clear(&s);
}

static void
test_other_failure_not_retried(void)
{
	struct script s = {.fail = {TEST_OTHER, -1}};
	GError *error = NULL;

	g_assert_false(script_run(&s, false, &error));
	g_assert_error(error, TEST_ERROR, TEST_OTHER);
	assert_strv(s.gets, (const char *const[]){"token", NULL});
	g_assert_cmpint(s.refused, ==, 0);
	g_clear_error(&error);
	script_clear(&s);
}

static void
test_source_failure_passed_on(void)
{
	struct script s = {.fail = {TEST_REFUSED, -1}, .source_fails = true};
	GError *error = NULL;

	g_assert_false(script_run(&s, false, &error));
	g_assert_error(error, TEST_ERROR, TEST_SOURCE);
	assert_strv(s.seen, (const char *const[]){"stale", NULL});
	g_clear_error(&error);
	script_clear(&s);
}

/* Without a token source the credentials as given are tried once, even when refused. */
static void
test_password_tried_once(void)
{
	struct script s = {.fail = {TEST_REFUSED, -1}};
	GError *error = NULL;

	g_assert_false(script_run(&s, true, &error));
	g_assert_error(error, TEST_ERROR, TEST_REFUSED);
	assert_strv(s.gets, (const char *const[]){NULL});
	assert_strv(s.seen, (const char *const[]){"(none)", NULL});
	g_assert_cmpint(s.refused, ==, 0);
	g_clear_error(&error);
	script_clear(&s);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sync/token/first-token-taken", test_first_token_taken);
	g_test_add_func("/sync/token/refused-token-refreshed-once",
	                test_refused_token_refreshed_once);
	g_test_add_func("/sync/token/refused-twice-fails", test_refused_twice_fails);
	g_test_add_func("/sync/token/other-failure-not-retried", test_other_failure_not_retried);
	g_test_add_func("/sync/token/source-failure-passed-on", test_source_failure_passed_on);
	g_test_add_func("/sync/token/password-tried-once", test_password_tried_once);
	return g_test_run();
}
