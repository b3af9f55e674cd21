/* SPDX-License-Identifier: MIT */
/* The run's account in the log, drawn from the report's JSON tree so that the log, the
 * JSON and the HTML page say the same: the accounts and options, one line per folder,
 * one per skipped, failed, missing, extra, stray or different message, the waits, the
 * totals, the duration and the verdict. The log's sink adds the timestamps. */
#include <string.h>

#include "mh-log.h"
#include "report-private.h"

/* @s for one log line: control characters (a hostile subject's ESC, CR, LF) become '?'. */
static char *
log_clean(const char *s)
{
	char *c = g_strdup(s != NULL ? s : "(none)");

	for (char *p = c; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return c;
}

static void
log_side(GString *line, json_object *side)
{
	g_string_append_printf(
		line, "%s@%s:%d (TLS %s, %s%s)", mh_report_str(side, "user"),
		mh_report_str(side, "host"),
		json_object_get_int(json_object_object_get(side, "port")),
		mh_report_str(side, "tls"), mh_report_str(side, "provider"),
		json_object_get_boolean(json_object_object_get(side, "provider_detected"))
			? ", detected"
			: "");
}

/* The options that were given: booleans that are on, values that are set. */
static void
log_options(json_object *opts)
{
	g_autoptr(GString) line = g_string_new(NULL);

	json_object_object_foreach(opts, key, val)
	{
		if (val == NULL ||
		    (json_object_is_type(val, json_type_boolean) && !json_object_get_boolean(val)))
			continue;
		if (strcmp(key, "jobs") == 0 || strcmp(key, "automap") == 0)
			continue; /* always set: said when they differ from the default below */
		g_string_append_printf(line, "%s%s", line->len > 0 ? ", " : "", key);
		if (!json_object_is_type(val, json_type_boolean))
			g_string_append_printf(
				line, "=%s",
				json_object_to_json_string_ext(
					val,
					JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	if (!json_object_get_boolean(json_object_object_get(opts, "automap")))
		g_string_append_printf(line, "%snoautomap", line->len > 0 ? ", " : "");
	mh_log(MH_LOG_INFO, "options: %s; %d folder pairs in parallel",
	       line->len > 0 ? line->str : "none that change what is copied",
	       json_object_get_int(json_object_object_get(opts, "jobs")));
}

static void
log_folder(json_object *f)
{
	const char *src = mh_report_str(f, "source"), *dst = mh_report_str(f, "destination");
	g_autofree char *sb = mh_report_bytes(mh_report_num(f, "source_bytes"));
	g_autofree char *db = mh_report_bytes(mh_report_num(f, "destination_bytes"));
	g_autofree char *cb = mh_report_bytes(mh_report_num(f, "copied_bytes"));
	json_object *sk = json_object_object_get(f, "skipped");
	const char *state = json_object_get_boolean(json_object_object_get(f, "container_only"))
	                            ? " (container only)"
	                    : json_object_get_boolean(json_object_object_get(f, "not_reached"))
	                            ? " (not reached)"
	                    : json_object_get_boolean(json_object_object_get(f, "unfinished"))
	                            ? " (unfinished)"
	                    : json_object_get_boolean(json_object_object_get(f, "unchanged"))
	                            ? " (unchanged since the last run)"
	                            : "";

	mh_log(MH_LOG_INFO,
	       "folder %s%s%s%s: source %" G_GUINT64_FORMAT " messages %s, destination "
	       "%" G_GUINT64_FORMAT " messages %s; copied %" G_GUINT64_FORMAT " (%s), already "
	       "there %" G_GUINT64_FORMAT ", flag updates %" G_GUINT64_FORMAT ", skipped %zu, "
	       "failed %" G_GUINT64_FORMAT ", missing %" G_GUINT64_FORMAT
	       ", extra %" G_GUINT64_FORMAT ", not on the source %" G_GUINT64_FORMAT "; %.1f s",
	       src, dst != NULL && strcmp(dst, src) != 0 ? " -> " : "",
	       dst != NULL && strcmp(dst, src) != 0 ? dst : "", state,
	       mh_report_num(f, "source_messages"), sb, mh_report_num(f, "destination_messages"),
	       db, mh_report_num(f, "copied"), cb, mh_report_num(f, "already_present"),
	       mh_report_num(f, "flag_updates"), sk != NULL ? json_object_array_length(sk) : 0,
	       mh_report_num(f, "failed"), mh_report_num(f, "missing"), mh_report_num(f, "extra"),
	       mh_report_num(f, "strays"),
	       json_object_get_double(json_object_object_get(f, "seconds")));
}

/* One line per message of list @key in folder @f, under the heading @what. */
static void
log_messages(json_object *f, const char *key, const char *what)
{
	json_object *a = json_object_object_get(f, key);

	for (size_t i = 0; a != NULL && i < json_object_array_length(a); i++) {
		json_object *m = json_object_array_get_idx(a, i);
		g_autofree char *mid = log_clean(mh_report_str(m, "message_id"));
		g_autofree char *date = log_clean(mh_report_str(m, "date"));
		g_autofree char *subject = log_clean(mh_report_str(m, "subject"));
		g_autofree char *reason = log_clean(mh_report_str(m, "reason"));
		g_autofree char *size = mh_report_bytes(mh_report_num(m, "size"));

		mh_log(MH_LOG_INFO,
		       "%s: %s UID %" G_GUINT64_FORMAT " (%s): Message-ID %s, Date %s, Subject "
		       "%s%s%s",
		       what, mh_report_str(m, "folder"), mh_report_num(m, "uid"), size, mid, date,
		       subject, mh_report_str(m, "reason") != NULL ? ": " : "",
		       mh_report_str(m, "reason") != NULL ? reason : "");
	}
}

static void
log_content(json_object *f)
{
	json_object *c = json_object_object_get(f, "content");
	json_object *a = c != NULL ? json_object_object_get(c, "different_messages") : NULL;

	for (size_t i = 0; a != NULL && i < json_object_array_length(a); i++) {
		json_object *m = json_object_array_get_idx(a, i);
		json_object *what = json_object_object_get(m, "differences");
		g_autofree char *mid = log_clean(mh_report_str(m, "message_id"));
		g_autofree char *subject = log_clean(mh_report_str(m, "subject"));
		g_autoptr(GString) why = g_string_new(NULL);

		for (size_t k = 0; what != NULL && k < json_object_array_length(what); k++)
			g_string_append_printf(
				why, "%s%s", k > 0 ? "; " : "",
				json_object_get_string(json_object_array_get_idx(what, k)));
		mh_log(MH_LOG_INFO,
		       "different: %s UID %" G_GUINT64_FORMAT ", %s UID %" G_GUINT64_FORMAT
		       ": Message-ID %s, Subject %s: %s",
		       mh_report_str(m, "folder"), mh_report_num(m, "uid"),
		       mh_report_str(m, "destination_folder"), mh_report_num(m, "destination_uid"),
		       mid, subject, why->str);
	}
}

static void
log_totals(json_object *root)
{
	json_object *t = json_object_object_get(root, "totals");
	g_autofree char *sb = mh_report_bytes(mh_report_num(t, "source_bytes"));
	g_autofree char *db = mh_report_bytes(mh_report_num(t, "destination_bytes"));
	g_autofree char *cb = mh_report_bytes(mh_report_num(t, "copied_bytes"));

	mh_log(MH_LOG_INFO,
	       "totals: %zu folders; source %" G_GUINT64_FORMAT " messages %s, destination "
	       "%" G_GUINT64_FORMAT " messages %s; copied %" G_GUINT64_FORMAT " (%s), skipped "
	       "%" G_GUINT64_FORMAT ", failed %" G_GUINT64_FORMAT ", missing %" G_GUINT64_FORMAT
	       ", extra %" G_GUINT64_FORMAT ", not on the source %" G_GUINT64_FORMAT
	       ", unfinished folders %" G_GUINT64_FORMAT,
	       json_object_array_length(json_object_object_get(root, "folders")),
	       mh_report_num(t, "source_messages"), sb, mh_report_num(t, "destination_messages"),
	       db, mh_report_num(t, "copied"), cb, mh_report_num(t, "skipped"),
	       mh_report_num(t, "failed"), mh_report_num(t, "missing"), mh_report_num(t, "extra"),
	       mh_report_num(t, "strays"), mh_report_num(t, "unfinished_folders"));
}

void
mh_report_log(const struct mh_sync_result *r, const struct mh_report_run *run)
{
	g_autoptr(json_object) root = mh_report_json(r, run);
	json_object *folders = json_object_object_get(root, "folders");
	json_object *accounts = json_object_object_get(root, "accounts");
	json_object *waits = json_object_object_get(root, "wait_timeline");
	json_object *summary = json_object_object_get(root, "summary");
	g_autoptr(GString) line = g_string_new(NULL);

	g_string_append_printf(line, "run: mailhaul %s %s%s from ", mh_report_str(root, "mailhaul"),
	                       run->command, run->dry ? " (dry run)" : "");
	log_side(line, json_object_object_get(accounts, "source"));
	g_string_append(line, " to ");
	log_side(line, json_object_object_get(accounts, "destination"));
	mh_log(MH_LOG_INFO, "%s", line->str);
	log_options(json_object_object_get(root, "options"));
	for (size_t i = 0; i < json_object_array_length(folders); i++) {
		json_object *f = json_object_array_get_idx(folders, i);
		json_object *errors = json_object_object_get(f, "errors");

		log_folder(f);
		log_messages(f, "skipped", "skipped");
		log_messages(f, "failed_messages", "failed");
		log_messages(f, "missing_messages", "missing");
		log_messages(f, "extra_messages", "extra (a duplicate)");
		log_messages(f, "stray_messages", "not on the source");
		log_messages(f, "deleted_duplicates", "deleted duplicate");
		log_content(f);
		for (size_t k = 0; k < json_object_array_length(errors); k++)
			mh_log(MH_LOG_INFO, "error: %s: %s", mh_report_str(f, "source"),
			       json_object_get_string(json_object_array_get_idx(errors, k)));
	}
	for (size_t i = 0; i < json_object_array_length(waits); i++) {
		json_object *w = json_object_array_get_idx(waits, i);

		mh_log(MH_LOG_INFO, "waited %.1f s from %s (%s): %s",
		       json_object_get_double(json_object_object_get(w, "seconds")),
		       mh_report_str(w, "at"), mh_report_str(w, "why"), mh_report_str(w, "reason"));
	}
	log_totals(root);
	mh_log(MH_LOG_INFO, "duration: %.1f s, from %s to %s", r->seconds,
	       mh_report_str(root, "started"), mh_report_str(root, "ended"));
	for (size_t i = 0; i < json_object_array_length(summary); i++)
		mh_log(MH_LOG_INFO, "%s",
		       json_object_get_string(json_object_array_get_idx(summary, i)));
}
