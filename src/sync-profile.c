/* SPDX-License-Identifier: MIT */
/* The provider profiles turned into sync engine behaviour: which profile each side uses
 * (named by the account's PROVIDER: prefix, --provider1/2, --gmail1/2, --office1/2, or
 * detected from the server's capabilities and greeting), and the engine options, folder
 * rules, error classification and message fix-ups that follow from it. The user's own
 * options win over a profile's defaults. */
#include <string.h>

#include "cli.h"
#include "mh-log.h"
#include "sync-profile.h"

static unsigned
profile_roles(unsigned attrs)
{
	static const struct {
		unsigned attr, role;
	} map[] = {
		{MH_IMAP_ATTR_NOSELECT, MH_PROVIDER_ROLE_NOSELECT},
		{MH_IMAP_ATTR_NONEXISTENT, MH_PROVIDER_ROLE_NOSELECT},
		{MH_IMAP_ATTR_ALL, MH_PROVIDER_ROLE_ALL},
		{MH_IMAP_ATTR_ARCHIVE, MH_PROVIDER_ROLE_ARCHIVE},
		{MH_IMAP_ATTR_DRAFTS, MH_PROVIDER_ROLE_DRAFTS},
		{MH_IMAP_ATTR_FLAGGED, MH_PROVIDER_ROLE_FLAGGED},
		{MH_IMAP_ATTR_JUNK, MH_PROVIDER_ROLE_JUNK},
		{MH_IMAP_ATTR_SENT, MH_PROVIDER_ROLE_SENT},
		{MH_IMAP_ATTR_TRASH, MH_PROVIDER_ROLE_TRASH},
		{MH_IMAP_ATTR_IMPORTANT, MH_PROVIDER_ROLE_IMPORTANT},
	};

	unsigned roles = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(map); i++) {
		if (attrs & map[i].attr)
			roles |= map[i].role;
	}
	return roles;
}

static const char *
rule_src_skip(void *ctx, const char *name, char sep, unsigned attrs)
{
	struct sync_profiles *sp = ctx;

	return mh_provider_source_skip(sp->p[0], name, sep, profile_roles(attrs), &sp->source);
}

static char *
rule_src_name(void *ctx, const char *name, char sep)
{
	struct sync_profiles *sp = ctx;

	return mh_provider_source_name(sp->p[0], name, sep);
}

static char *
rule_dst_name(void *ctx, const char *name, char sep, const char **why_r)
{
	struct sync_profiles *sp = ctx;

	return mh_provider_dest_name(sp->p[1], name, sep, why_r);
}

static bool
profile_classify(void *ctx, const GError *error, struct mh_sync_verdict *v)
{
	static const enum mh_sync_verdict_kind kinds[] = {
		[MH_PROVIDER_ERR_UNKNOWN] = MH_SYNC_VERDICT_NONE,
		[MH_PROVIDER_ERR_TRANSIENT] = MH_SYNC_VERDICT_RETRY,
		[MH_PROVIDER_ERR_BACKOFF] = MH_SYNC_VERDICT_BACKOFF,
		[MH_PROVIDER_ERR_CONNECTIONS] = MH_SYNC_VERDICT_CONNECTIONS,
		[MH_PROVIDER_ERR_BUDGET] = MH_SYNC_VERDICT_BUDGET,
		[MH_PROVIDER_ERR_MESSAGE] = MH_SYNC_VERDICT_MESSAGE,
		[MH_PROVIDER_ERR_QUOTA] = MH_SYNC_VERDICT_QUOTA,
		[MH_PROVIDER_ERR_RELOGIN] = MH_SYNC_VERDICT_FATAL,
		[MH_PROVIDER_ERR_CONFIG] = MH_SYNC_VERDICT_FATAL,
		[MH_PROVIDER_ERR_FOLDER_NAME] = MH_SYNC_VERDICT_NONE,
		[MH_PROVIDER_ERR_NO_FOLDER] = MH_SYNC_VERDICT_NONE,
	};
	struct sync_profiles *sp = ctx;
	struct mh_provider_verdict pv = {0};
	const char *status = cli_error_status(error);

	memset(v, 0, sizeof(*v));
	if (error->domain != MH_IMAP_ERROR ||
	    !mh_provider_classify(NULL, status, error->message, &pv))
		return false;
	/* The text is a provider's: its advice when one side is that provider's server. */
	for (int i = 0; i < 2 && pv.provider != NULL; i++) {
		if (strcmp(sp->p[i]->name, pv.provider) == 0) {
			mh_provider_classify(sp->p[i], status, error->message, &pv);
			break;
		}
	}
	v->kind = kinds[pv.cls];
	v->wait_ms = pv.backoff_ms;
	v->advice = pv.advice;
	return v->kind != MH_SYNC_VERDICT_NONE;
}

/* --- fix-ups --- */

static void *
fixup_begin(void *ctx)
{
	struct sync_profiles *sp = ctx;

	return mh_provider_fixup_new(sp->fixups, sp->max_line);
}

static void
fixup_feed(void *f, const unsigned char *data, size_t len, GByteArray *out)
{
	mh_provider_fixup_feed(f, data, len, out);
}

static void
fixup_finish(void *f, GByteArray *out)
{
	mh_provider_fixup_finish(f, out);
}

static char *
fixup_end(void *f)
{
	unsigned applied = mh_provider_fixup_applied(f);
	GString *what = g_string_new(NULL);

	mh_provider_fixup_free(f);
	if (applied & MH_PROVIDER_FIXUP_RECEIPTS)
		g_string_append(what, "read-receipt request disarmed");
	if (applied & MH_PROVIDER_FIXUP_WRAP)
		g_string_append_printf(what, "%slong lines wrapped", what->len > 0 ? ", " : "");
	if (what->len == 0) {
		g_string_free(what, true);
		return NULL;
	}
	return g_string_free(what, false);
}

/* --- choosing and applying profiles --- */

bool
sync_profiles_init(struct sync_profiles *sp, const char *const names[2],
                   const struct mh_provider *const from_account[2], GError **error)
{
	for (int i = 0; i < 2; i++) {
		sp->p[i] = NULL;
		if (names[i] != NULL) {
			sp->p[i] = mh_provider_find(names[i]);
			if (sp->p[i] == NULL) {
				g_set_error(
					error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
					"unknown provider '%s' for --provider%d (generic, gmail or "
					"m365)",
					names[i], i + 1);
				return false;
			}
		} else if (from_account[i] != NULL) {
			sp->p[i] = from_account[i];
		}
		sp->chosen[i] = sp->p[i] != NULL;
		if (sp->p[i] == NULL)
			sp->p[i] = mh_provider_generic();
	}
	sp->rules = (struct mh_sync_folder_rules){
		.src_skip = rule_src_skip,
		.src_name = rule_src_name,
		.dst_name = rule_dst_name,
		.ctx = sp,
	};
	sp->fixup_ops = (struct mh_sync_fixup_ops){
		.begin = fixup_begin,
		.feed = fixup_feed,
		.finish = fixup_finish,
		.end = fixup_end,
		.ctx = sp,
	};
	return true;
}

static bool
profile_placeholder(void *ctx, const unsigned char *head, size_t len, bool *done_r)
{
	struct sync_profiles *sp = ctx;

	return mh_provider_is_placeholder(sp->p[0], head, len, done_r);
}

void
sync_profiles_apply(struct sync_profiles *sp, struct mh_sync_options *so)
{
	const struct mh_provider *src = sp->p[0], *dst = sp->p[1];
	bool copying = !so->verify_only;

	so->rules = &sp->rules;
	so->classify = profile_classify;
	so->classify_ctx = sp;
	so->labels = src->labels ? sp->labels : MH_SYNC_LABELS_NONE;
	so->skip_deleted = src->labels || dst->dst_dedups;
	so->dst_labels = dst->dst_labels && sp->dst_gmail_ext;
	if (src->labels && dst->dst_labels && !sp->dst_gmail_ext &&
	    so->labels != MH_SYNC_LABELS_COPY && copying && sp->connected) {
		/* Without X-GM-EXT-1 labels cannot be added by STORE; appending into each
		 * label folder is how Gmail itself adds a label to a message it has. */
		so->labels = MH_SYNC_LABELS_COPY;
		mh_log(MH_LOG_INFO, "host2 is Gmail without X-GM-EXT-1: each label gets its copy");
	}
	so->src_placeholder = src->placeholder_subject != NULL ? profile_placeholder : NULL;
	so->src_placeholder_ctx = sp;
	so->dst_nocase = dst->dst_case_insensitive;
	/* Every destination quirk below is a fix-up bit: the profile's, or --fixups. */
	if (!sp->fixups_set)
		sp->fixups = dst->fixups;
	sp->max_line = dst->max_line > 0 ? dst->max_line : 10000;
	so->flagged_after_append = (sp->fixups & MH_PROVIDER_FIXUP_FLAGGED) != 0;
	so->drop_keywords = !(sp->fixups & MH_PROVIDER_FIXUP_MDNSENT) ? NULL
	                    : dst->drop_keywords != NULL              ? dst->drop_keywords
	                                                              : "$MDNSent";
	so->fixup = (sp->fixups & (MH_PROVIDER_FIXUP_RECEIPTS | MH_PROVIDER_FIXUP_WRAP))
	                    ? &sp->fixup_ops
	                    : NULL;
	if (!sp->maxsize_set)
		so->maxsize = dst->max_message_size;
	if (!sp->pace_set)
		so->pace = MAX(src->pace, dst->pace);
	if (!sp->up_set)
		so->upload_per_day = dst->upload_per_day;
	if (!sp->down_set)
		so->download_per_day = src->download_per_day;
	so->dst_error_limit = dst->errors_per_session;
	if (!sp->rate_set)
		so->min_rate = MAX(src->min_rate, dst->min_rate);
	for (int i = 0; i < 2; i++) {
		/* Each job holds one connection to each side. By default a provider's share
		 * (leaving room for the user's own clients); never more than its limit. */
		unsigned cap =
			sp->jobs_set ? sp->p[i]->max_connections_hard : sp->p[i]->max_connections;

		if (cap == 0 || so->jobs <= cap)
			continue;
		if (sp->jobs_set)
			mh_log(MH_LOG_WARN,
			       "--jobs %u: %s allows %u connections per account; using %u",
			       so->jobs, sp->p[i]->name, cap, cap);
		so->jobs = cap;
	}
}

static void
profile_adjust(void *ctx, const struct mh_store_info *src, const struct mh_store_info *dst,
               struct mh_sync_options *so)
{
	struct sync_profiles *sp = ctx;
	const struct mh_store_info *info[2] = {src, dst};

	for (int i = 0; i < 2; i++) {
		const char *why = NULL;
		const struct mh_provider *p;

		if (sp->chosen[i] || info[i] == NULL)
			continue;
		p = mh_provider_detect(sp->host[i], info[i]->greeting, info[i]->caps, &why);
		if (p == NULL || p == sp->p[i])
			continue;
		sp->p[i] = p;
		mh_log(MH_LOG_INFO, "host%d looks like %s (%s): using the %s profile", i + 1,
		       p->description, why, p->name);
	}
	sp->dst_gmail_ext = dst != NULL && dst->gmail_ext;
	sp->connected = true;
	sync_profiles_apply(sp, so);
	mh_log(MH_LOG_INFO, "profiles: host1 %s, host2 %s", sp->p[0]->name, sp->p[1]->name);
}

void
sync_profiles_hook(struct sync_profiles *sp, struct mh_sync_options *so)
{
	so->adjust = profile_adjust;
	so->adjust_ctx = sp;
}
