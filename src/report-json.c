/* SPDX-License-Identifier: MIT */
/* The report as a JSON tree (json-c): the run (accounts, times, options), every folder's
 * counts and bytes on both sides, and each skipped, failed, missing, extra and different
 * message by name. docs/report-schema.json describes it; the HTML page is drawn from it. */
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "cli.h"
#include "mh-file.h"
#include "report-private.h"

static json_object *
report_str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

/* The named messages of @list (struct mh_sync_named *; NULL: none), in folder @folder. */
static json_object *
report_named_json(const GPtrArray *list, const char *folder)
{
	json_object *a = json_object_new_array();

	for (guint i = 0; list != NULL && i < list->len; i++) {
		const struct mh_sync_named *n = list->pdata[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "folder", json_object_new_string(folder));
		json_object_object_add(o, "uid", json_object_new_uint64(n->uid));
		json_object_object_add(o, "message_id", report_str_or_null(n->message_id));
		json_object_object_add(o, "date", report_str_or_null(n->date));
		json_object_object_add(o, "subject", report_str_or_null(n->subject));
		json_object_object_add(o, "size", json_object_new_uint64(n->size));
		if (n->reason != NULL)
			json_object_object_add(o, "reason", json_object_new_string(n->reason));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *
report_strings(const GPtrArray *list)
{
	json_object *a = json_object_new_array();

	for (guint i = 0; i < list->len; i++)
		json_object_array_add(a, json_object_new_string(list->pdata[i]));
	return a;
}

/* verify --content's counts and differences in folder @f. */
static json_object *
report_content_json(const struct mh_sync_folder_result *f)
{
	json_object *o = json_object_new_object();
	json_object *a = json_object_new_array();

	json_object_object_add(o, "paired", json_object_new_uint64(f->content_paired));
	json_object_object_add(o, "checked", json_object_new_uint64(f->content_checked));
	json_object_object_add(o, "same_bytes", json_object_new_uint64(f->content_same_bytes));
	json_object_object_add(o, "same_structure",
	                       json_object_new_uint64(f->content_same_structure));
	json_object_object_add(o, "different", json_object_new_uint64(f->content_differs));
	for (guint i = 0; f->content_diffs != NULL && i < f->content_diffs->len; i++) {
		const struct mh_sync_content_diff *d = f->content_diffs->pdata[i];
		json_object *j = json_object_new_object();

		json_object_object_add(j, "folder", json_object_new_string(f->src_name));
		json_object_object_add(j, "uid", json_object_new_uint64(d->src_uid));
		json_object_object_add(j, "destination_folder", report_str_or_null(f->dst_name));
		json_object_object_add(j, "destination_uid", json_object_new_uint64(d->dst_uid));
		json_object_object_add(j, "message_id", report_str_or_null(d->message_id));
		json_object_object_add(j, "date", report_str_or_null(d->date));
		json_object_object_add(j, "subject", report_str_or_null(d->subject));
		json_object_object_add(j, "size", json_object_new_uint64(d->src_size));
		json_object_object_add(j, "destination_size", json_object_new_uint64(d->dst_size));
		json_object_object_add(j, "differences", report_strings(d->what));
		json_object_array_add(a, j);
	}
	json_object_object_add(o, "different_messages", a);
	return o;
}

static json_object *
report_folder_json(const struct mh_sync_folder_result *f, bool content)
{
	json_object *o = json_object_new_object();
	json_object *skipped = json_object_new_array();
	json_object *errors = json_object_new_array();

	json_object_object_add(o, "source", json_object_new_string(f->src_name));
	json_object_object_add(o, "destination",
	                       f->dst_name != NULL ? json_object_new_string(f->dst_name) : NULL);
	if (f->note != NULL)
		json_object_object_add(o, "note", json_object_new_string(f->note));
	json_object_object_add(o, "container_only", json_object_new_boolean(f->container_only));
	json_object_object_add(o, "unchanged", json_object_new_boolean(f->unchanged));
	json_object_object_add(o, "unfinished", json_object_new_boolean(f->unfinished));
	json_object_object_add(o, "connection_trouble", json_object_new_boolean(f->dropped));
	json_object_object_add(o, "not_reached", json_object_new_boolean(f->not_reached));
	json_object_object_add(o, "source_messages", json_object_new_uint64(f->src_count));
	json_object_object_add(o, "source_bytes", json_object_new_uint64(f->src_bytes));
	json_object_object_add(o, "destination_messages", json_object_new_uint64(f->dst_count));
	json_object_object_add(o, "destination_bytes", json_object_new_uint64(f->dst_bytes));
	json_object_object_add(o, "copied", json_object_new_uint64(f->copied));
	json_object_object_add(o, "copied_bytes", json_object_new_uint64(f->copied_bytes));
	json_object_object_add(o, "already_present", json_object_new_uint64(f->matched));
	json_object_object_add(o, "labelled_elsewhere", json_object_new_uint64(f->labelled));
	json_object_object_add(o, "fixed_up", json_object_new_uint64(f->fixed_up));
	json_object_object_add(o, "flag_updates", json_object_new_uint64(f->flag_updates));
	json_object_object_add(o, "deleted_on_source", json_object_new_uint64(f->deleted_src));
	json_object_object_add(o, "deleted_on_destination", json_object_new_uint64(f->deleted_dst));
	json_object_object_add(o, "missing", json_object_new_uint64(f->missing));
	json_object_object_add(o, "extra", json_object_new_uint64(f->extra));
	json_object_object_add(o, "strays", json_object_new_uint64(f->strays));
	json_object_object_add(o, "missing_messages",
	                       report_named_json(f->missing_msgs, f->src_name));
	json_object_object_add(
		o, "extra_messages",
		report_named_json(f->extra_msgs, f->dst_name != NULL ? f->dst_name : f->src_name));
	json_object_object_add(
		o, "stray_messages",
		report_named_json(f->stray_msgs, f->dst_name != NULL ? f->dst_name : f->src_name));
	json_object_object_add(o, "deleted_duplicates",
	                       report_named_json(f->deleted_dups,
	                                         f->dst_name != NULL ? f->dst_name : f->src_name));
	json_object_object_add(o, "failed", json_object_new_uint64(f->failed));
	json_object_object_add(o, "failed_messages",
	                       report_named_json(f->failed_msgs, f->src_name));
	if (content)
		json_object_object_add(o, "content", report_content_json(f));
	for (guint i = 0; i < f->skipped->len; i++) {
		const struct mh_sync_skip *s = f->skipped->pdata[i];
		json_object *js = json_object_new_object();

		json_object_object_add(js, "folder", json_object_new_string(f->src_name));
		json_object_object_add(js, "uid", json_object_new_uint64(s->uid));
		json_object_object_add(js, "message_id", report_str_or_null(s->message_id));
		json_object_object_add(js, "date", report_str_or_null(s->date));
		json_object_object_add(js, "subject", report_str_or_null(s->subject));
		json_object_object_add(js, "size", json_object_new_uint64(s->size));
		json_object_object_add(js, "reason", json_object_new_string(s->reason));
		json_object_array_add(skipped, js);
	}
	for (guint i = 0; i < f->errors->len; i++)
		json_object_array_add(errors, json_object_new_string(f->errors->pdata[i]));
	json_object_object_add(o, "skipped", skipped);
	if (f->labelled_msgs != NULL) {
		json_object *labelled = json_object_new_array();

		for (guint i = 0; i < f->labelled_msgs->len; i++) {
			const struct mh_sync_labelled *l = f->labelled_msgs->pdata[i];
			json_object *jl = json_object_new_object();

			json_object_object_add(jl, "uid", json_object_new_uint64(l->uid));
			json_object_object_add(jl, "copied_under",
			                       json_object_new_string(l->copied_under));
			json_object_array_add(labelled, jl);
		}
		json_object_object_add(o, "labelled", labelled);
	}
	json_object_object_add(o, "errors", errors);
	json_object_object_add(o, "seconds", json_object_new_double(f->seconds));
	return o;
}

static const char *
report_time(GDateTime *t, char **keep)
{
	*keep = t != NULL ? g_date_time_format_iso8601(t) : NULL;
	return *keep;
}

static json_object *
report_side_json(const struct mh_report_side *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "user", report_str_or_null(s->user));
	json_object_object_add(o, "host", report_str_or_null(s->host));
	json_object_object_add(o, "port", json_object_new_int((int)s->port));
	json_object_object_add(o, "tls", json_object_new_string(s->tls));
	json_object_object_add(o, "provider", report_str_or_null(s->provider));
	json_object_object_add(o, "provider_detected",
	                       json_object_new_boolean(s->provider_detected));
	return o;
}

static json_object *
report_strv_or_null(const GPtrArray *list)
{
	return list != NULL ? report_strings(list) : NULL;
}

/* The options that change what a run does, as given (null: not given). */
static json_object *
report_options_json(const struct mh_report_run *run)
{
	const struct mh_sync_options *o = run->opts;
	json_object *j = json_object_new_object();

	json_object_object_add(j, "dry", json_object_new_boolean(o->dry));
	json_object_object_add(j, "justfolders", json_object_new_boolean(o->justfolders));
	json_object_object_add(j, "delete1", json_object_new_boolean(o->delete1));
	json_object_object_add(j, "delete2", json_object_new_boolean(o->delete2));
	json_object_object_add(j, "delete2folders", json_object_new_boolean(o->delete2folders));
	json_object_object_add(j, "delete2duplicates",
	                       json_object_new_boolean(o->delete2duplicates));
	json_object_object_add(j, "automap", json_object_new_boolean(o->automap));
	json_object_object_add(j, "folders", report_strv_or_null(o->folders));
	json_object_object_add(j, "include", report_strv_or_null(o->include));
	json_object_object_add(j, "exclude", report_strv_or_null(o->exclude));
	json_object_object_add(j, "regextrans2", report_strv_or_null(o->regextrans));
	json_object_object_add(j, "search", report_str_or_null(o->search));
	json_object_object_add(j, "maxsize",
	                       o->maxsize > 0 ? json_object_new_uint64(o->maxsize) : NULL);
	json_object_object_add(j, "minsize",
	                       o->minsize > 0 ? json_object_new_uint64(o->minsize) : NULL);
	json_object_object_add(j, "maxage", o->maxage >= 0 ? json_object_new_int(o->maxage) : NULL);
	json_object_object_add(j, "minage", o->minage >= 0 ? json_object_new_int(o->minage) : NULL);
	json_object_object_add(j, "jobs", json_object_new_int((int)o->jobs));
	json_object_object_add(j, "pace", o->pace > 0 ? json_object_new_double(o->pace) : NULL);
	json_object_object_add(j, "max_upload_per_day",
	                       o->upload_per_day > 0 ? json_object_new_uint64(o->upload_per_day)
	                                             : NULL);
	json_object_object_add(j, "max_download_per_day",
	                       o->download_per_day > 0 ? json_object_new_uint64(o->download_per_day)
	                                               : NULL);
	json_object_object_add(j, "budget_window",
	                       o->budget_window > 0 ? json_object_new_int((int)o->budget_window)
	                                            : NULL);
	json_object_object_add(j, "min_rate",
	                       o->min_rate > 0 ? json_object_new_uint64(o->min_rate) : NULL);
	json_object_object_add(j, "max_backoff",
	                       o->max_backoff > 0 ? json_object_new_int((int)o->max_backoff)
	                                          : NULL);
	json_object_object_add(j, "max_outage",
	                       o->max_outage > 0 ? json_object_new_int((int)o->max_outage) : NULL);
	json_object_object_add(j, "gmail_labels", report_str_or_null(run->gmail_labels));
	json_object_object_add(j, "fixups", report_str_or_null(run->fixups));
	json_object_object_add(j, "content", json_object_new_boolean(o->content));
	return j;
}

/* The run: when, between which accounts, with which options, and its verdict. */
static void
report_run_json(json_object *root, const struct mh_sync_result *r, const struct mh_report_run *run)
{
	g_autofree char *start = NULL, *end = NULL;
	g_auto(GStrv) lines = mh_report_summary_lines(r, run->dry);
	json_object *accounts = json_object_new_object();
	json_object *summary = json_object_new_array();
	const char *verdict = NULL;

	json_object_object_add(root, "started",
	                       report_str_or_null(report_time(run->start, &start)));
	json_object_object_add(root, "ended", report_str_or_null(report_time(run->end, &end)));
	json_object_object_add(accounts, "source", report_side_json(&run->side[0]));
	json_object_object_add(accounts, "destination", report_side_json(&run->side[1]));
	json_object_object_add(root, "accounts", accounts);
	json_object_object_add(root, "options", report_options_json(run));
	for (size_t i = 0; lines[i] != NULL; i++) {
		if (g_str_has_prefix(lines[i], "Verdict: "))
			verdict = lines[i] + strlen("Verdict: ");
		if (*lines[i] != '\0')
			json_object_array_add(summary, json_object_new_string(lines[i]));
	}
	json_object_object_add(root, "ok", json_object_new_boolean(run->exit_code == 0));
	json_object_object_add(root, "verdict", report_str_or_null(verdict));
	json_object_object_add(root, "summary", summary);
}

/* The waits the servers (or the budgets) asked for, in the order they began. */
static json_object *
report_waits_json(const struct mh_sync_result *r)
{
	json_object *a = json_object_new_array();

	for (guint i = 0; r->wait_list != NULL && i < r->wait_list->len; i++) {
		const struct mh_sync_wait *w = r->wait_list->pdata[i];
		json_object *o = json_object_new_object();
		g_autoptr(GDateTime) sec = g_date_time_new_from_unix_local(w->at / G_USEC_PER_SEC);
		g_autoptr(GDateTime) at = g_date_time_add(sec, w->at % G_USEC_PER_SEC);
		g_autofree char *text = g_date_time_format_iso8601(at);

		json_object_object_add(o, "at", json_object_new_string(text));
		json_object_object_add(o, "seconds", json_object_new_double(w->seconds));
		json_object_object_add(o, "why", json_object_new_string(w->why));
		json_object_object_add(o, "reason", json_object_new_string(w->reason));
		json_object_array_add(a, o);
	}
	return a;
}

json_object *
mh_report_json(const struct mh_sync_result *r, const struct mh_report_run *run)
{
	json_object *root = json_object_new_object();
	json_object *folders = json_object_new_array();
	json_object *totals = json_object_new_object();
	struct mh_sync_folder_result t;
	uint64_t skipped = 0;

	mh_report_totals(r, &t);
	json_object_object_add(root, "mailhaul", json_object_new_string(MH_VERSION));
	json_object_object_add(root, "command", json_object_new_string(run->command));
	json_object_object_add(root, "dry_run", json_object_new_boolean(run->dry));
	json_object_object_add(root, "interrupted", json_object_new_boolean(r->interrupted));
	json_object_object_add(root, "exit_code", json_object_new_int(run->exit_code));
	json_object_object_add(root, "seconds", json_object_new_double(r->seconds));
	report_run_json(root, r, run);
	for (guint i = 0; i < r->folders->len; i++)
		json_object_array_add(folders,
		                      report_folder_json(r->folders->pdata[i], r->content));
	json_object_object_add(root, "folders", folders);
	json_object_object_add(root, "created_folders", report_strings(r->created));
	json_object_object_add(root, "deleted_folders", report_strings(r->deleted_folders));
	json_object_object_add(totals, "source_messages", json_object_new_uint64(t.src_count));
	json_object_object_add(totals, "source_bytes", json_object_new_uint64(t.src_bytes));
	json_object_object_add(totals, "destination_messages", json_object_new_uint64(t.dst_count));
	json_object_object_add(totals, "destination_bytes", json_object_new_uint64(t.dst_bytes));
	json_object_object_add(totals, "copied", json_object_new_uint64(t.copied));
	json_object_object_add(totals, "copied_bytes", json_object_new_uint64(t.copied_bytes));
	json_object_object_add(totals, "flag_updates", json_object_new_uint64(t.flag_updates));
	json_object_object_add(totals, "missing", json_object_new_uint64(t.missing));
	json_object_object_add(totals, "extra", json_object_new_uint64(t.extra));
	json_object_object_add(totals, "strays", json_object_new_uint64(t.strays));
	json_object_object_add(totals, "failed", json_object_new_uint64(t.failed));
	for (guint i = 0; i < r->folders->len; i++)
		skipped +=
			((const struct mh_sync_folder_result *)r->folders->pdata[i])->skipped->len;
	json_object_object_add(totals, "skipped", json_object_new_uint64(skipped));
	json_object_object_add(totals, "labelled_elsewhere", json_object_new_uint64(t.labelled));
	json_object_object_add(totals, "fixed_up", json_object_new_uint64(t.fixed_up));
	json_object_object_add(totals, "unfinished_folders",
	                       json_object_new_uint64(mh_report_unfinished(r)));
	if (r->content) {
		json_object *c = json_object_new_object();

		json_object_object_add(totals, "content_checked",
		                       json_object_new_uint64(t.content_checked));
		json_object_object_add(totals, "content_same_bytes",
		                       json_object_new_uint64(t.content_same_bytes));
		json_object_object_add(totals, "content_same_structure",
		                       json_object_new_uint64(t.content_same_structure));
		json_object_object_add(totals, "content_different",
		                       json_object_new_uint64(t.content_differs));
		json_object_object_add(
			c, "sample",
			r->content_sample > 0 ? json_object_new_uint64(r->content_sample) : NULL);
		json_object_object_add(
			c, "sample_percent",
			r->content_percent > 0 ? json_object_new_double(r->content_percent) : NULL);
		json_object_object_add(c, "seed", json_object_new_uint64(r->content_seed));
		json_object_object_add(root, "content", c);
	}
	json_object_object_add(root, "waits", json_object_new_uint64(r->waits));
	json_object_object_add(root, "wait_timeline", report_waits_json(r));
	json_object_object_add(root, "gave_up", json_object_new_boolean(r->gave_up != NULL));
	if (r->gave_up != NULL)
		json_object_object_add(root, "gave_up_reason", json_object_new_string(r->gave_up));
	json_object_object_add(root, "totals", totals);
	return root;
}

bool
mh_report_check_path(const char *path, GError **error)
{
	g_autofree char *lower = g_ascii_strdown(path, -1);
	g_autofree char *base = g_path_get_basename(path);
	GStatBuf st;

	if (g_str_has_suffix(lower, ".json") || g_str_has_suffix(lower, ".html"))
		return true;
	/* No ending to go by: JSON, as into a pipe (/dev/stdout, a FIFO) or a plain name. */
	if (strchr(base, '.') == NULL || (g_stat(path, &st) == 0 && !S_ISREG(st.st_mode)))
		return true;
	g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
	            "--report %s: the file name must end in .json or .html (the format follows it; "
	            "a name without an ending, or a pipe, gets JSON)",
	            path);
	return false;
}

bool
mh_report_write(const char *path, const struct mh_sync_result *r, const struct mh_report_run *run,
                GError **error)
{
	g_autoptr(json_object) root = mh_report_json(r, run);
	g_autofree char *lower = g_ascii_strdown(path, -1);
	g_autofree char *html = NULL;
	const char *text;

	if (g_str_has_suffix(lower, ".html"))
		text = html = mh_report_html(root);
	else
		text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
		                                                    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!mh_file_write(path, text, strlen(text), 0644, error)) {
		g_prefix_error(error, "cannot write the report: ");
		return false;
	}
	return true;
}

const char *
mh_report_str(json_object *o, const char *key)
{
	json_object *v = json_object_object_get(o, key);

	return v != NULL ? json_object_get_string(v) : NULL;
}

uint64_t
mh_report_num(json_object *o, const char *key)
{
	return (uint64_t)json_object_get_int64(json_object_object_get(o, key));
}
