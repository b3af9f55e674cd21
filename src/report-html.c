/* SPDX-License-Identifier: MIT */
/* The report as one self-contained HTML page, drawn from the report's JSON tree: the
 * verdict first, the run, the totals, a bar per folder (source against destination, in
 * messages and in bytes; folders with differences first, the others folded), the missing,
 * extra, different, skipped and failed messages, the waits on a timeline, and timings.
 * Inline CSS only: no script, no network (a Content-Security-Policy says so), every text
 * escaped. Figures carry their raw values in data-* attributes for machines. */
#include <string.h>

#include "report-private.h"

/* Folded lists: a list longer than this starts closed. */
#define HTML_OPEN_MAX 100
/* The slowest folders shown under Timings. */
#define HTML_SLOWEST  10

static const char html_css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1em;"
	"color:#222}"
	"h1{margin:.2em 0;font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}"
	".verdict{padding:.8em 1.2em;border-radius:6px;border:2px solid}"
	".ok{background:#e8f6e8;border-color:#2e7d32}.notok{background:#fdecea;"
	"border-color:#c62828}"
	"table{border-collapse:collapse;width:100%}th,td{padding:2px 6px;text-align:left;"
	"vertical-align:top}"
	"tr:nth-child(even) td{background:#f6f6f6}td.n,th.n{text-align:right;"
	"font-variant-numeric:tabular-nums}"
	"table.kv th{width:10em;color:#555}"
	".bars{width:220px}.bar{height:7px;background:#eee;margin:1px 0}"
	".bar span{display:block;height:7px}.src{background:#1565c0}.dst{background:#ef6c00}"
	".sw{display:inline-block;width:1em;height:.7em;margin:0 .3em 0 1em}"
	".diff td{background:#fff4e5!important}"
	".timeline{position:relative;height:24px;background:#eee;border-radius:3px;margin:.5em 0}"
	".timeline span{position:absolute;top:0;height:24px;background:#c62828;min-width:2px;"
	"opacity:.8}"
	"td.subject,td.mid{word-break:break-all}"
	"details>summary{cursor:pointer;margin:.5em 0;font-weight:600}"
	"small{color:#666}";

static bool
html_bool(json_object *o, const char *key)
{
	return json_object_get_boolean(json_object_object_get(o, key));
}

static size_t
html_len(json_object *o, const char *key)
{
	json_object *a = json_object_object_get(o, key);

	return a != NULL && json_object_is_type(a, json_type_array) ? json_object_array_length(a)
	                                                            : 0;
}

/* Appends @s escaped for HTML text and attribute values (NULL: nothing). */
static void
html_esc(GString *out, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&':
			g_string_append(out, "&amp;");
			break;
		case '<':
			g_string_append(out, "&lt;");
			break;
		case '>':
			g_string_append(out, "&gt;");
			break;
		case '"':
			g_string_append(out, "&quot;");
			break;
		case '\'':
			g_string_append(out, "&#39;");
			break;
		default:
			g_string_append_c(out, *s);
		}
	}
}

static void
html_text(GString *out, const char *tag, const char *s)
{
	g_string_append_printf(out, "<%s>", tag);
	html_esc(out, s);
	g_string_append_printf(out, "</%s>", tag);
}

/* A count cell with its raw value. */
static void
html_count(GString *out, const char *key, uint64_t n)
{
	g_string_append_printf(out,
	                       "<td class=\"n\" data-key=\"%s\" data-value=\"%" G_GUINT64_FORMAT
	                       "\">%" G_GUINT64_FORMAT "</td>",
	                       key, n, n);
}

static void
html_bytes(GString *out, const char *key, uint64_t n)
{
	g_autofree char *h = mh_report_bytes(n);

	g_string_append_printf(
		out, "<td class=\"n\" data-key=\"%s\" data-value=\"%" G_GUINT64_FORMAT "\">", key,
		n);
	html_esc(out, h);
	g_string_append(out, "</td>");
}

static void
html_bar(GString *out, const char *cls, uint64_t n, uint64_t max)
{
	double pct = max > 0 ? 100.0 * (double)n / (double)max : 0;

	g_string_append_printf(out,
	                       "<div class=\"bar\"><span class=\"%s\" style=\"width:%.1f%%\">"
	                       "</span></div>",
	                       cls, pct);
}

static void
html_side(GString *out, const char *heading, json_object *side)
{
	g_string_append_printf(out, "<tr><th>%s</th><td class=\"account\">", heading);
	html_esc(out, mh_report_str(side, "user"));
	g_string_append(out, " on ");
	html_esc(out, mh_report_str(side, "host"));
	g_string_append_printf(out, " port %d, TLS %s, profile ",
	                       json_object_get_int(json_object_object_get(side, "port")),
	                       mh_report_str(side, "tls"));
	html_esc(out, mh_report_str(side, "provider"));
	if (html_bool(side, "provider_detected"))
		g_string_append(out, " (detected)");
	g_string_append(out, "</td></tr>");
}

static void
html_verdict(GString *out, json_object *root)
{
	json_object *summary = json_object_object_get(root, "summary");
	const char *verdict = mh_report_str(root, "verdict");
	bool ok = html_bool(root, "ok");

	g_string_append_printf(out,
	                       "<header id=\"verdict\" class=\"verdict %s\" data-ok=\"%s\" "
	                       "data-exit-code=\"%d\"><h1>%s</h1><p class=\"verdict-text\">",
	                       ok ? "ok" : "notok", ok ? "true" : "false",
	                       json_object_get_int(json_object_object_get(root, "exit_code")),
	                       ok ? "OK" : "NOT OK");
	html_esc(out, verdict != NULL ? verdict : "no verdict");
	g_string_append(out, "</p>");
	for (size_t i = 0; i < json_object_array_length(summary); i++) {
		const char *line = json_object_get_string(json_object_array_get_idx(summary, i));

		if (!g_str_has_prefix(line, "Verdict: "))
			html_text(out, "p", line);
	}
	g_string_append(out, "</header>");
}

static void
html_options(GString *out, json_object *opts)
{
	g_autoptr(GString) given = g_string_new(NULL);

	json_object_object_foreach(opts, key, val)
	{
		if (val == NULL ||
		    (json_object_is_type(val, json_type_boolean) &&
		     !json_object_get_boolean(val)) ||
		    strcmp(key, "automap") == 0 || strcmp(key, "jobs") == 0)
			continue;
		g_string_append_printf(given, "%s%s", given->len > 0 ? ", " : "", key);
		if (!json_object_is_type(val, json_type_boolean))
			g_string_append_printf(
				given, " %s",
				json_object_to_json_string_ext(
					val,
					JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	if (!html_bool(opts, "automap"))
		g_string_append_printf(given, "%snoautomap", given->len > 0 ? ", " : "");
	g_string_append(out, "<tr><th>Options</th><td id=\"options\">");
	html_esc(out, given->len > 0 ? given->str : "none that change what is copied");
	g_string_append_printf(out, " <small>(%d folder pairs in parallel)</small></td></tr>",
	                       json_object_get_int(json_object_object_get(opts, "jobs")));
}

static void
html_run(GString *out, json_object *root)
{
	json_object *accounts = json_object_object_get(root, "accounts");
	double secs = json_object_get_double(json_object_object_get(root, "seconds"));

	g_string_append(out, "<section id=\"run\"><h2>Run</h2><table class=\"kv\">");
	g_string_append(out, "<tr><th>Command</th><td>mailhaul ");
	html_esc(out, mh_report_str(root, "command"));
	g_string_append_printf(out, "%s <small>version ",
	                       html_bool(root, "dry_run") ? " --dry" : "");
	html_esc(out, mh_report_str(root, "mailhaul"));
	g_string_append_printf(out, ", exit code %d</small></td></tr>",
	                       json_object_get_int(json_object_object_get(root, "exit_code")));
	html_side(out, "Source", json_object_object_get(accounts, "source"));
	html_side(out, "Destination", json_object_object_get(accounts, "destination"));
	g_string_append(out, "<tr><th>Started</th><td id=\"started\">");
	html_esc(out, mh_report_str(root, "started"));
	g_string_append(out, "</td></tr><tr><th>Ended</th><td id=\"ended\">");
	html_esc(out, mh_report_str(root, "ended"));
	g_string_append_printf(out,
	                       "</td></tr><tr><th>Duration</th><td id=\"duration\" "
	                       "data-value=\"%.3f\">%.1f s</td></tr>",
	                       secs, secs);
	html_options(out, json_object_object_get(root, "options"));
	g_string_append(out, "</table></section>");
}

static const struct {
	const char *key;
	const char *heading;
	bool bytes;
} html_total_cols[] = {
	{"source_messages", "Source messages", false},
	{"source_bytes", "Source size", true},
	{"destination_messages", "Destination messages", false},
	{"destination_bytes", "Destination size", true},
	{"copied", "Copied", false},
	{"copied_bytes", "Copied size", true},
	{"skipped", "Skipped", false},
	{"failed", "Failed", false},
	{"missing", "Missing", false},
	{"extra", "Extra", false},
	{"strays", "Not on the source", false},
};

static void
html_totals(GString *out, json_object *root)
{
	json_object *t = json_object_object_get(root, "totals");

	g_string_append(out, "<section id=\"totals\"><h2>Totals</h2><table><tr>");
	for (size_t i = 0; i < G_N_ELEMENTS(html_total_cols); i++)
		g_string_append_printf(out, "<th class=\"n\">%s</th>", html_total_cols[i].heading);
	g_string_append(out, "</tr><tr class=\"total\">");
	for (size_t i = 0; i < G_N_ELEMENTS(html_total_cols); i++) {
		if (html_total_cols[i].bytes)
			html_bytes(out, html_total_cols[i].key,
			           mh_report_num(t, html_total_cols[i].key));
		else
			html_count(out, html_total_cols[i].key,
			           mh_report_num(t, html_total_cols[i].key));
	}
	g_string_append(out, "</tr></table></section>");
}

static uint64_t
html_differs(json_object *f)
{
	json_object *c = json_object_object_get(f, "content");

	return c != NULL ? mh_report_num(c, "different") : 0;
}

/* Whether folder @f needs a look: anything missing, extra, failed, skipped, different or
 * unfinished. */
static bool
html_folder_notable(json_object *f)
{
	return mh_report_num(f, "missing") > 0 || mh_report_num(f, "extra") > 0 ||
	       mh_report_num(f, "failed") > 0 || html_len(f, "skipped") > 0 ||
	       html_differs(f) > 0 || html_bool(f, "unfinished") || html_len(f, "errors") > 0;
}

static const char html_folder_head[] =
	"<table class=\"folders\"><thead><tr><th>Folder</th><th class=\"bars\">Messages "
	"(source, destination)</th><th class=\"n\">Source</th><th class=\"n\">Destination</th>"
	"<th class=\"bars\">Bytes</th><th class=\"n\">Source</th><th class=\"n\">Destination</th>"
	"<th class=\"n\">Copied</th><th class=\"n\">Skipped</th><th class=\"n\">Failed</th>"
	"<th class=\"n\">Missing</th><th class=\"n\">Extra</th><th class=\"n\">Differs</th>"
	"<th class=\"n\">Seconds</th></tr></thead><tbody>";

static void
html_folder_row(GString *out, json_object *f, uint64_t max_msgs, uint64_t max_bytes)
{
	const char *src = mh_report_str(f, "source"), *dst = mh_report_str(f, "destination");
	uint64_t sm = mh_report_num(f, "source_messages"),
		 dm = mh_report_num(f, "destination_messages");
	uint64_t sb = mh_report_num(f, "source_bytes"), db = mh_report_num(f, "destination_bytes");
	double secs = json_object_get_double(json_object_object_get(f, "seconds"));

	g_string_append_printf(out, "<tr class=\"folder%s\" data-folder=\"",
	                       html_folder_notable(f) ? " diff" : "");
	html_esc(out, src);
	g_string_append(out, "\"><td>");
	html_esc(out, src);
	if (dst != NULL && strcmp(dst, src) != 0) {
		g_string_append(out, " &rarr; ");
		html_esc(out, dst);
	}
	if (html_bool(f, "container_only"))
		g_string_append(out, " <small>(container)</small>");
	else if (html_bool(f, "not_reached"))
		g_string_append(out, " <small>(not reached)</small>");
	else if (html_bool(f, "unfinished"))
		g_string_append(out, " <small>(unfinished)</small>");
	else if (html_bool(f, "unchanged"))
		g_string_append(out, " <small>(unchanged)</small>");
	g_string_append(out, "</td><td class=\"bars\">");
	html_bar(out, "src", sm, max_msgs);
	html_bar(out, "dst", dm, max_msgs);
	g_string_append(out, "</td>");
	html_count(out, "source_messages", sm);
	html_count(out, "destination_messages", dm);
	g_string_append(out, "<td class=\"bars\">");
	html_bar(out, "src", sb, max_bytes);
	html_bar(out, "dst", db, max_bytes);
	g_string_append(out, "</td>");
	html_bytes(out, "source_bytes", sb);
	html_bytes(out, "destination_bytes", db);
	html_count(out, "copied", mh_report_num(f, "copied"));
	html_count(out, "skipped", html_len(f, "skipped"));
	html_count(out, "failed", mh_report_num(f, "failed"));
	html_count(out, "missing", mh_report_num(f, "missing"));
	html_count(out, "extra", mh_report_num(f, "extra"));
	html_count(out, "differs", html_differs(f));
	g_string_append_printf(out,
	                       "<td class=\"n\" data-key=\"seconds\" data-value=\"%.3f\">%.1f"
	                       "</td></tr>",
	                       secs, secs);
}

static void
html_folders(GString *out, json_object *folders)
{
	size_t n = json_object_array_length(folders), quiet = 0, notable = 0;
	uint64_t max_msgs = 0, max_bytes = 0;

	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(folders, i);

		max_msgs = MAX(max_msgs, MAX(mh_report_num(f, "source_messages"),
		                             mh_report_num(f, "destination_messages")));
		max_bytes = MAX(max_bytes, MAX(mh_report_num(f, "source_bytes"),
		                               mh_report_num(f, "destination_bytes")));
		if (html_folder_notable(f))
			notable++;
	}
	g_string_append_printf(out,
	                       "<section id=\"folders\" data-count=\"%zu\"><h2>Folders (%zu)</h2>"
	                       "<p><span class=\"sw src\"></span>source<span class=\"sw dst\">"
	                       "</span>destination; bars are to scale within each column.</p>",
	                       n, n);
	if (notable > 0) {
		g_string_append_printf(out, "<h3 id=\"folders-notable\">%zu with differences</h3>",
		                       notable);
		g_string_append(out, html_folder_head);
		for (size_t i = 0; i < n; i++) {
			json_object *f = json_object_array_get_idx(folders, i);

			if (html_folder_notable(f))
				html_folder_row(out, f, max_msgs, max_bytes);
		}
		g_string_append(out, "</tbody></table>");
	}
	quiet = n - notable;
	if (quiet > 0) {
		g_string_append_printf(out,
		                       "<details id=\"folders-same\"%s><summary>%zu folder%s "
		                       "without differences</summary>",
		                       quiet <= HTML_OPEN_MAX ? " open" : "", quiet,
		                       quiet == 1 ? "" : "s");
		g_string_append(out, html_folder_head);
		for (size_t i = 0; i < n; i++) {
			json_object *f = json_object_array_get_idx(folders, i);

			if (!html_folder_notable(f))
				html_folder_row(out, f, max_msgs, max_bytes);
		}
		g_string_append(out, "</tbody></table></details>");
	}
	g_string_append(out, "</section>");
}

static void
html_message_row(GString *out, const char *kind, json_object *m, bool content)
{
	g_string_append_printf(out,
	                       "<tr data-kind=\"%s\" data-uid=\"%" G_GUINT64_FORMAT
	                       "\" data-size=\"%" G_GUINT64_FORMAT "\" data-folder=\"",
	                       kind, mh_report_num(m, "uid"), mh_report_num(m, "size"));
	html_esc(out, mh_report_str(m, "folder"));
	g_string_append(out, "\"><td>");
	html_esc(out, mh_report_str(m, "folder"));
	g_string_append_printf(out, "</td><td class=\"n\">%" G_GUINT64_FORMAT,
	                       mh_report_num(m, "uid"));
	if (content)
		g_string_append_printf(out, " / %" G_GUINT64_FORMAT,
		                       mh_report_num(m, "destination_uid"));
	g_string_append(out, "</td><td class=\"mid\">");
	html_esc(out, mh_report_str(m, "message_id"));
	g_string_append(out, "</td><td>");
	html_esc(out, mh_report_str(m, "date"));
	g_string_append(out, "</td><td class=\"subject\">");
	html_esc(out, mh_report_str(m, "subject"));
	g_string_append(out, "</td>");
	html_bytes(out, "size", mh_report_num(m, "size"));
	g_string_append(out, "<td class=\"reason\">");
	if (content) {
		json_object *what = json_object_object_get(m, "differences");

		for (size_t k = 0; what != NULL && k < json_object_array_length(what); k++) {
			g_string_append(out, k > 0 ? "<br>" : "");
			html_esc(out, json_object_get_string(json_object_array_get_idx(what, k)));
		}
	} else {
		html_esc(out, mh_report_str(m, "reason"));
	}
	g_string_append(out, "</td></tr>");
}

/* The array @key of each folder (or, with @content, of its "content" entry). */
static json_object *
html_list_of(json_object *f, const char *key, bool content)
{
	if (content) {
		json_object *c = json_object_object_get(f, "content");

		return c != NULL ? json_object_object_get(c, key) : NULL;
	}
	return json_object_object_get(f, key);
}

static void
html_messages(GString *out, json_object *folders, const char *id, const char *key,
              const char *title, const char *none)
{
	bool content = strcmp(key, "different_messages") == 0;
	size_t n = 0, nf = json_object_array_length(folders);

	for (size_t i = 0; i < nf; i++) {
		json_object *a = html_list_of(json_object_array_get_idx(folders, i), key, content);

		n += a != NULL ? json_object_array_length(a) : 0;
	}
	g_string_append_printf(out, "<section id=\"%s\" data-count=\"%zu\"><h2>%s (%zu)</h2>", id,
	                       n, title, n);
	if (n == 0) {
		g_string_append_printf(out, "<p>%s</p></section>", none);
		return;
	}
	g_string_append_printf(out,
	                       "<details%s><summary>%zu message%s</summary><table class=\"msgs\">"
	                       "<thead><tr><th>Folder</th><th class=\"n\">UID</th><th>Message-ID"
	                       "</th><th>Date</th><th>Subject</th><th class=\"n\">Size</th><th>"
	                       "%s</th></tr></thead><tbody>",
	                       n <= HTML_OPEN_MAX ? " open" : "", n, n == 1 ? "" : "s",
	                       content ? "Differences" : "Reason");
	for (size_t i = 0; i < nf; i++) {
		json_object *a = html_list_of(json_object_array_get_idx(folders, i), key, content);

		for (size_t k = 0; a != NULL && k < json_object_array_length(a); k++)
			html_message_row(out, id, json_object_array_get_idx(a, k), content);
	}
	g_string_append(out, "</tbody></table></details></section>");
}

/* The waits on a line from the start to the end of the run, and listed. */
static void
html_waits(GString *out, json_object *root)
{
	json_object *waits = json_object_object_get(root, "wait_timeline");
	const char *started = mh_report_str(root, "started");
	double secs = MAX(0.001, json_object_get_double(json_object_object_get(root, "seconds")));
	g_autoptr(GDateTime) t0 =
		started != NULL ? g_date_time_new_from_iso8601(started, NULL) : NULL;
	size_t n = json_object_array_length(waits);

	g_string_append_printf(out,
	                       "<section id=\"waits\" data-count=\"%zu\"><h2>Waits the "
	                       "servers asked for (%zu)</h2>",
	                       n, n);
	if (n == 0) {
		g_string_append(out,
		                "<p>None: no server throttled or paused the run.</p></section>");
		return;
	}
	g_string_append(out, "<div class=\"timeline\" title=\"the run, from start to end\">");
	for (size_t i = 0; i < n; i++) {
		json_object *w = json_object_array_get_idx(waits, i);
		g_autoptr(GDateTime) at =
			g_date_time_new_from_iso8601(mh_report_str(w, "at"), NULL);
		double from = t0 != NULL && at != NULL
		                      ? (double)g_date_time_difference(at, t0) / G_USEC_PER_SEC
		                      : 0;
		double len = json_object_get_double(json_object_object_get(w, "seconds"));

		from = CLAMP(from, 0, secs);
		g_string_append_printf(out, "<span style=\"left:%.2f%%;width:%.2f%%\" title=\"",
		                       100 * from / secs,
		                       MIN(100 * len / secs, 100 - 100 * from / secs));
		html_esc(out, mh_report_str(w, "why"));
		g_string_append(out, ": ");
		html_esc(out, mh_report_str(w, "reason"));
		g_string_append(out, "\"></span>");
	}
	g_string_append(out, "</div><table><thead><tr><th>Began</th><th class=\"n\">Seconds</th>"
	                     "<th>Why</th><th>What was said</th></tr></thead><tbody>");
	for (size_t i = 0; i < n; i++) {
		json_object *w = json_object_array_get_idx(waits, i);
		double len = json_object_get_double(json_object_object_get(w, "seconds"));

		g_string_append(out, "<tr class=\"wait\" data-at=\"");
		html_esc(out, mh_report_str(w, "at"));
		g_string_append_printf(out, "\" data-seconds=\"%.3f\"><td>", len);
		html_esc(out, mh_report_str(w, "at"));
		g_string_append_printf(out, "</td><td class=\"n\">%.1f</td><td>", len);
		html_esc(out, mh_report_str(w, "why"));
		g_string_append(out, "</td><td>");
		html_esc(out, mh_report_str(w, "reason"));
		g_string_append(out, "</td></tr>");
	}
	g_string_append(out, "</tbody></table></section>");
}

static gint
html_by_seconds(gconstpointer a, gconstpointer b)
{
	double x = json_object_get_double(json_object_object_get(*(json_object **)a, "seconds"));
	double y = json_object_get_double(json_object_object_get(*(json_object **)b, "seconds"));

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The duration and the slowest folders. */
static void
html_timings(GString *out, json_object *root, json_object *folders)
{
	g_autoptr(GPtrArray) by_time = g_ptr_array_new();
	double secs = json_object_get_double(json_object_object_get(root, "seconds"));
	double top;

	for (size_t i = 0; i < json_object_array_length(folders); i++)
		g_ptr_array_add(by_time, json_object_array_get_idx(folders, i));
	g_ptr_array_sort(by_time, html_by_seconds);
	g_string_append_printf(out,
	                       "<section id=\"timings\"><h2>Timings</h2><p>The run took "
	                       "%.1f s; folders run in parallel, so their times add up to "
	                       "more.</p>",
	                       secs);
	if (by_time->len == 0) {
		g_string_append(out, "</section>");
		return;
	}
	top = MAX(0.001,
	          json_object_get_double(json_object_object_get(by_time->pdata[0], "seconds")));
	g_string_append(out, "<table><thead><tr><th>Slowest folders</th><th class=\"n\">Seconds"
	                     "</th><th class=\"bars\"></th></tr></thead><tbody>");
	for (guint i = 0; i < by_time->len && i < HTML_SLOWEST; i++) {
		json_object *f = by_time->pdata[i];
		double s = json_object_get_double(json_object_object_get(f, "seconds"));

		g_string_append(out, "<tr><td>");
		html_esc(out, mh_report_str(f, "source"));
		g_string_append_printf(out, "</td><td class=\"n\">%.1f</td><td class=\"bars\">", s);
		html_bar(out, "src", (uint64_t)(s * 1000 + 0.5), (uint64_t)(top * 1000 + 0.5));
		g_string_append(out, "</td></tr>");
	}
	g_string_append(out, "</tbody></table></section>");
}

char *
mh_report_html(json_object *root)
{
	GString *out = g_string_sized_new(64 * 1024);
	json_object *folders = json_object_object_get(root, "folders");
	json_object *accounts = json_object_object_get(root, "accounts");

	g_string_append(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	                     "<meta name=\"viewport\" content=\"width=device-width, "
	                     "initial-scale=1\"><meta http-equiv=\"Content-Security-Policy\" "
	                     "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
	                     "<title>mailhaul ");
	html_esc(out, mh_report_str(root, "command"));
	g_string_append(out, ": ");
	html_esc(out, mh_report_str(json_object_object_get(accounts, "source"), "user"));
	g_string_append(out, " to ");
	html_esc(out, mh_report_str(json_object_object_get(accounts, "destination"), "user"));
	g_string_append_printf(out, "</title><style>%s</style></head>\n<body>", html_css);
	html_verdict(out, root);
	html_run(out, root);
	html_totals(out, root);
	html_folders(out, folders);
	html_messages(out, folders, "missing", "missing_messages", "Missing on the destination",
	              "None: every source message is there.");
	html_messages(out, folders, "extra", "extra_messages", "Extra on the destination",
	              "None: no destination message is a duplicate.");
	html_messages(out, folders, "different", "different_messages", "Different in content",
	              "None found (or the contents were not compared: verify --content).");
	html_messages(out, folders, "skipped", "skipped", "Skipped on purpose", "None.");
	html_messages(out, folders, "failed", "failed_messages", "Failed", "None.");
	html_messages(out, folders, "strays", "stray_messages",
	              "On the destination only (no difference)", "None.");
	html_waits(out, root);
	html_timings(out, root, folders);
	g_string_append(out, "<footer><small>Written by mailhaul ");
	html_esc(out, mh_report_str(root, "mailhaul"));
	g_string_append(out, "; the same figures are in the JSON report (--report FILE.json)."
	                     "</small></footer></body></html>\n");
	return g_string_free(out, false);
}
