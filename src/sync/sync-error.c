/* SPDX-License-Identifier: MIT */
/* The MH_SYNC_ERROR domain, and the engine's error policy in one place: every error a
 * worker meets is classified once here into what the engine does with it (go on without
 * the message, stop for quota, reconnect, wait as the server asks, or stop the run). The
 * provider rules (opts->classify) are asked first; what they do not know falls back on
 * the error's domain and code. */
#include <string.h>

#include "sync-private.h"

GQuark
mh_sync_error_quark(void)
{
	return g_quark_from_static_string("mh-sync-error-quark");
}

/* Whether a connection that produced @error can still be used: only a refused command
 * (NO, BAD) and the engine's own non-state errors leave it usable. A stop (Ctrl-C) drops
 * the source in the middle of a FETCH: that connection is gone. */
static bool
sync_error_ends_connection(const GError *error)
{
	if (error->domain != MH_IMAP_ERROR)
		return error->domain == MH_SYNC_ERROR && (error->code == MH_SYNC_ERROR_STATE ||
		                                          error->code == MH_SYNC_ERROR_INTERRUPTED);
	return error->code != MH_IMAP_ERROR_NO && error->code != MH_IMAP_ERROR_BAD;
}

static bool
sync_error_text_is_quota(const GError *error)
{
	g_autofree char *lower = g_ascii_strdown(error->message, -1);

	return strstr(lower, "quota") != NULL;
}

void
sync_error_classify(const struct mh_sync_options *o, const GError *error,
                    struct sync_error_class *c_r)
{
	struct mh_sync_verdict v = {0};
	bool ruled = o != NULL && o->classify != NULL && o->classify(o->classify_ctx, error, &v);

	memset(c_r, 0, sizeof(*c_r));
	c_r->ends_connection = sync_error_ends_connection(error);
	if (error->domain == MH_SYNC_ERROR && error->code == MH_SYNC_ERROR_BUDGET) {
		c_r->action = SYNC_ERROR_ACT_WAIT;
		c_r->v.kind = MH_SYNC_VERDICT_BUDGET;
		return;
	}
	if (error->domain == MH_SYNC_ERROR && error->code == MH_SYNC_ERROR_RECONNECT) {
		c_r->action = SYNC_ERROR_ACT_WAIT;
		c_r->v.kind = MH_SYNC_VERDICT_RETRY;
		return;
	}
	if (ruled) {
		c_r->v = v;
		switch (v.kind) {
		case MH_SYNC_VERDICT_RETRY:
		case MH_SYNC_VERDICT_BACKOFF:
		case MH_SYNC_VERDICT_CONNECTIONS:
		case MH_SYNC_VERDICT_BUDGET:
			c_r->action = SYNC_ERROR_ACT_WAIT;
			return;
		default:
			break;
		}
	}
	/* A lost connection is reconnected whatever the rules say of its last words. */
	if (error->domain == MH_IMAP_ERROR &&
	    (error->code == MH_IMAP_ERROR_DISCONNECTED || error->code == MH_IMAP_ERROR_BYE ||
	     error->code == MH_IMAP_ERROR_TIMEOUT)) {
		c_r->action = SYNC_ERROR_ACT_RETRY;
		c_r->v.kind = MH_SYNC_VERDICT_RETRY;
		return;
	}
	if (ruled && v.kind == MH_SYNC_VERDICT_QUOTA)
		c_r->action = SYNC_ERROR_ACT_QUOTA;
	else if ((ruled && v.kind == MH_SYNC_VERDICT_FATAL) || c_r->ends_connection)
		c_r->action = SYNC_ERROR_ACT_STOP;
	else if (!ruled && sync_error_text_is_quota(error))
		c_r->action = SYNC_ERROR_ACT_QUOTA; /* a refused command about quota */
	else
		c_r->action = SYNC_ERROR_ACT_MESSAGE; /* this message's (or folder's) alone */
}

bool
sync_error_wants_wait(const struct mh_sync_options *o, const GError *error,
                      struct mh_sync_verdict *v)
{
	struct sync_error_class c;

	sync_error_classify(o, error, &c);
	*v = c.v;
	if (c.action != SYNC_ERROR_ACT_WAIT)
		memset(v, 0, sizeof(*v));
	return c.action == SYNC_ERROR_ACT_WAIT;
}

bool
sync_error_is_fatal(const GError *error)
{
	return sync_error_ends_connection(error);
}

GError *
sync_error_last_refusal(const struct mh_sync_options *o, struct mh_store *st,
                        struct mh_sync_verdict *v)
{
	const struct mh_store_info *info =
		st != NULL && st->ops->info != NULL ? st->ops->info(st) : NULL;
	GError *refusal;

	if (info == NULL || info->last_refusal == NULL)
		return NULL;
	refusal = g_error_new(MH_IMAP_ERROR,
	                      g_str_has_prefix(info->last_refusal, "NO") ? MH_IMAP_ERROR_NO
	                                                                 : MH_IMAP_ERROR_BAD,
	                      "%s: %s", st->label, info->last_refusal);
	if (sync_error_wants_wait(o, refusal, v) && v->kind != MH_SYNC_VERDICT_RETRY)
		return refusal;
	g_error_free(refusal);
	return NULL;
}
