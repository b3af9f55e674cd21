/* SPDX-License-Identifier: MIT */
/* The engine's error policy (src/sync/sync-error.c): each kind of error a worker meets,
 * with and without provider rules, and what the engine does with it. */
#include <string.h>

#include "sync-private.h"

struct policy_case {
	GQuark domain;
	int code;
	const char *text;
	enum sync_error_action action;
	bool ends_connection;
};

static void
check_case(const struct mh_sync_options *o, const struct policy_case *pc)
{
	g_autoptr(GError) e = g_error_new_literal(pc->domain, pc->code, pc->text);
	struct sync_error_class ec;
	struct mh_sync_verdict v;
	bool waits;

	sync_error_classify(o, e, &ec);
	if (g_test_verbose())
		g_test_message("%s -> %d", pc->text, ec.action);
	g_assert_cmpint(ec.action, ==, pc->action);
	g_assert_cmpint(ec.ends_connection, ==, pc->ends_connection);
	g_assert_cmpint(sync_error_is_fatal(e), ==, pc->ends_connection);
	waits = sync_error_wants_wait(o, e, &v);
	g_assert_cmpint(waits, ==, pc->action == SYNC_ERROR_ACT_WAIT);
	if (!waits)
		g_assert_cmpint(v.kind, ==, MH_SYNC_VERDICT_NONE);
}

static void
test_without_rules(void)
{
	const struct policy_case cases[] = {
		{MH_IMAP_ERROR, MH_IMAP_ERROR_DISCONNECTED, "host1: the connection dropped",
	         SYNC_ERROR_ACT_RETRY, true},
		{MH_IMAP_ERROR, MH_IMAP_ERROR_BYE, "host2: BYE shutting down", SYNC_ERROR_ACT_RETRY,
	         true},
		{MH_IMAP_ERROR, MH_IMAP_ERROR_TIMEOUT, "host1: no answer in 120 s",
	         SYNC_ERROR_ACT_RETRY, true},
		{MH_IMAP_ERROR, MH_IMAP_ERROR_NO, "APPEND: NO [TOOBIG] message too large",
	         SYNC_ERROR_ACT_MESSAGE, false},
		{MH_IMAP_ERROR, MH_IMAP_ERROR_BAD, "APPEND: BAD invalid header",
	         SYNC_ERROR_ACT_MESSAGE, false},
		{MH_IMAP_ERROR, MH_IMAP_ERROR_NO, "APPEND: NO [OVERQUOTA] Quota exceeded",
	         SYNC_ERROR_ACT_QUOTA, false},
		{MH_IMAP_ERROR, MH_IMAP_ERROR_TLS, "certificate verify failed", SYNC_ERROR_ACT_STOP,
	         true},
		{MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL, "a line over 64 KiB", SYNC_ERROR_ACT_STOP,
	         true},
		{MH_IMAP_ERROR, MH_IMAP_ERROR_AUTH, "LOGIN failed", SYNC_ERROR_ACT_STOP, true},
		{MH_SYNC_ERROR, MH_SYNC_ERROR_STATE, "state database is locked",
	         SYNC_ERROR_ACT_STOP, true},
		{MH_SYNC_ERROR, MH_SYNC_ERROR_INTERRUPTED, "UID FETCH failed: interrupted",
	         SYNC_ERROR_ACT_STOP, true},
		{MH_SYNC_ERROR, MH_SYNC_ERROR_BUDGET, "the daily upload budget is spent",
	         SYNC_ERROR_ACT_WAIT, false},
		{MH_SYNC_ERROR, MH_SYNC_ERROR_RECONNECT, "near the server's error limit",
	         SYNC_ERROR_ACT_WAIT, false},
		{MH_SYNC_ERROR, MH_SYNC_ERROR_MESSAGE, "message UID 7 vanished",
	         SYNC_ERROR_ACT_MESSAGE, false},
	};
	struct mh_sync_options o = {0};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		check_case(&o, &cases[i]);
		check_case(NULL, &cases[i]);
	}
}

/* Provider rules in the shape of providers/provider-errors.c: a few texts with verdicts. */
static bool
rules(void *ctx, const GError *error, struct mh_sync_verdict *v)
{
	(void)ctx;
	if (strstr(error->message, "throttled") != NULL) {
		v->kind = MH_SYNC_VERDICT_BACKOFF;
		v->wait_ms = 1200;
		return true;
	}
	if (strstr(error->message, "Too many simultaneous") != NULL) {
		v->kind = MH_SYNC_VERDICT_CONNECTIONS;
		return true;
	}
	if (strstr(error->message, "mailbox is full") != NULL) {
		v->kind = MH_SYNC_VERDICT_QUOTA;
		return true;
	}
	if (strstr(error->message, "not connected") != NULL) {
		v->kind = MH_SYNC_VERDICT_FATAL;
		return true;
	}
	if (strstr(error->message, "quota-like but per message") != NULL) {
		v->kind = MH_SYNC_VERDICT_MESSAGE;
		return true;
	}
	return false;
}

static void
test_with_rules(void)
{
	const struct policy_case cases[] = {
		{MH_IMAP_ERROR, MH_IMAP_ERROR_NO, "NO Request is throttled", SYNC_ERROR_ACT_WAIT,
	         false},
		{MH_IMAP_ERROR, MH_IMAP_ERROR_BAD, "BAD Request is throttled", SYNC_ERROR_ACT_WAIT,
	         false},
		{MH_IMAP_ERROR, MH_IMAP_ERROR_AUTH, "NO [ALERT] Too many simultaneous connections",
	         SYNC_ERROR_ACT_WAIT, true},
		{MH_IMAP_ERROR, MH_IMAP_ERROR_NO, "NO the mailbox is full", SYNC_ERROR_ACT_QUOTA,
	         false},
		/* The rules win over the text. */
		{MH_IMAP_ERROR, MH_IMAP_ERROR_NO, "NO quota-like but per message",
	         SYNC_ERROR_ACT_MESSAGE, false},
		{MH_IMAP_ERROR, MH_IMAP_ERROR_BAD, "BAD User is authenticated but not connected",
	         SYNC_ERROR_ACT_STOP, false},
		/* A lost connection is reconnected whatever its last words were. */
		{MH_IMAP_ERROR, MH_IMAP_ERROR_BYE, "BYE User is authenticated but not connected",
	         SYNC_ERROR_ACT_RETRY, true},
		/* Texts the rules do not know: as without rules. */
		{MH_IMAP_ERROR, MH_IMAP_ERROR_NO, "NO [OVERQUOTA] Quota exceeded",
	         SYNC_ERROR_ACT_QUOTA, false},
		{MH_IMAP_ERROR, MH_IMAP_ERROR_DISCONNECTED, "the connection dropped",
	         SYNC_ERROR_ACT_RETRY, true},
	};
	struct mh_sync_options o = {.classify = rules};
	g_autoptr(GError) throttled =
		g_error_new_literal(MH_IMAP_ERROR, MH_IMAP_ERROR_NO, "NO Request is throttled");
	struct sync_error_class ec;

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		check_case(&o, &cases[i]);
	/* The wait the server asked for reaches the engine. */
	sync_error_classify(&o, throttled, &ec);
	g_assert_cmpint(ec.v.kind, ==, MH_SYNC_VERDICT_BACKOFF);
	g_assert_cmpuint(ec.v.wait_ms, ==, 1200);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sync/error/without-rules", test_without_rules);
	g_test_add_func("/sync/error/with-rules", test_with_rules);
	return g_test_run();
}
