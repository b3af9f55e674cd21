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

/* One case: what the fake token source and server do, and what must come of it. */
struct token_case {
	const char *path;
	int fail[2];       /* per attempt: -1 succeeds, else the error code */
	bool source_fails; /* the forced token cannot be had */
	bool password;     /* no token source: the credentials as given */
	int error;         /* the error code expected, or -1 for success */
	const char *gets;  /* the token requests, in order: "token", "forced" */
	const char *seen;  /* the tokens the attempts got ("-" for none) */
	int refused;       /* calls of the refused hook */
};

static const struct token_case cases[] = {
	{"/sync/token/first-token-taken", {-1, -1}, false, false, -1, "token", "stale", 0},
	{"/sync/token/refused-token-refreshed-once",
         {TEST_REFUSED, -1},
         false,
         false,
         -1,
         "token forced",
         "stale fresh",
         1},
	/* A fresh token refused too ends the sign-in with the second refusal: no third try. */
	{"/sync/token/refused-twice-fails",
         {TEST_REFUSED, TEST_REFUSED},
         false,
         false,
         TEST_REFUSED,
         "token forced",
         "stale fresh",
         1},
	{"/sync/token/other-failure-not-retried",
         {TEST_OTHER, -1},
         false,
         false,
         TEST_OTHER,
         "token",
         "stale",
         0},
	{"/sync/token/source-failure-passed-on",
         {TEST_REFUSED, -1},
         true,
         false,
         TEST_SOURCE,
         "token forced",
         "stale",
         1},
	/* Without a token source the credentials as given are tried once, even when refused. */
	{"/sync/token/password-tried-once",
         {TEST_REFUSED, -1},
         false,
         true,
         TEST_REFUSED,
         "",
         "-",
         0},
};

struct script {
	const struct token_case *tc;
	GString *gets;
	GString *seen;
	unsigned attempts;
	int refused;
};

static void
script_note(GString *s, const char *word)
{
	if (s->len > 0)
		g_string_append_c(s, ' ');
	g_string_append(s, word);
}

static char *
script_get(void *ctx, bool force, GError **error)
{
	struct script *s = ctx;

	script_note(s->gets, force ? "forced" : "token");
	if (force && s->tc->source_fails) {
		g_set_error(error, TEST_ERROR, TEST_SOURCE, "no fresh token");
		return NULL;
	}
	return mh_secret_strdup(force ? "fresh" : "stale");
}

static bool
script_attempt(const char *token, void *ctx, GError **error)
{
	struct script *s = ctx;
	int code = s->tc->fail[MIN(s->attempts, 1)];

	s->attempts++;
	script_note(s->seen, token != NULL ? token : "-");
	if (code < 0)
		return true;
	g_set_error(error, TEST_ERROR, code, "attempt %u failed", s->attempts);
	return false;
}

static void
script_refused(void *ctx)
{
	struct script *s = ctx;

	s->refused++;
}

static void
test_token_case(gconstpointer data)
{
	const struct token_case *tc = data;
	struct script s = {.tc = tc, .gets = g_string_new(NULL), .seen = g_string_new(NULL)};
	const struct mh_token_login l = {
		.get = tc->password ? NULL : script_get,
		.get_ctx = &s,
		.attempt = script_attempt,
		.attempt_ctx = &s,
		.expired_domain = TEST_ERROR,
		.expired_code = TEST_REFUSED,
		.refused = script_refused,
	};
	GError *error = NULL;
	bool ok = mh_token_login_run(&l, &error);

	if (tc->error < 0) {
		g_assert_no_error(error);
		g_assert_true(ok);
	} else {
		g_autofree char *last = g_strdup_printf("attempt %u failed", s.attempts);

		g_assert_error(error, TEST_ERROR, tc->error);
		g_assert_false(ok);
		/* the error of the last step, not of an earlier attempt */
		g_assert_cmpstr(error->message, ==,
		                tc->error == TEST_SOURCE ? "no fresh token" : last);
		g_clear_error(&error);
	}
	g_assert_cmpstr(s.gets->str, ==, tc->gets);
	g_assert_cmpstr(s.seen->str, ==, tc->seen);
	g_assert_cmpint(s.refused, ==, tc->refused);
	g_string_free(s.gets, true);
	g_string_free(s.seen, true);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
		g_test_add_data_func(cases[i].path, &cases[i], test_token_case);
	return g_test_run();
}
