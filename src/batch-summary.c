/* SPDX-License-Identifier: MIT */
/* The batch directory's summary: summary.json (json-c) and summary.csv, one entry per row,
 * written as rows end and read back by --pending and `mailhaul batch-report`. */
#include <json-c/json.h>
#include <string.h>

#include "batch.h"
#include "cli.h"
#include "mh-file.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_object, json_object_put)

void
batch_meta_clear(struct batch_meta *m)
{
	g_free(m->file);
	g_free(m->started);
	g_free(m->finished);
	memset(m, 0, sizeof(*m));
}

int
batch_exit_code(const GPtrArray *rows)
{
	for (guint i = 0; i < rows->len; i++) {
		const struct batch_row *row = rows->pdata[i];

		if (row->status != BATCH_DONE)
			return MH_EXIT_FAILURE;
	}
	return MH_EXIT_OK;
}

static json_object *
summary_row_json(const struct batch_row *row)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "line", json_object_new_int((int)row->line));
	json_object_object_add(o, "name", json_object_new_string(row->name));
	json_object_object_add(o, "source", json_object_new_string(row->source));
	json_object_object_add(o, "destination", json_object_new_string(row->destination));
	json_object_object_add(o, "status", json_object_new_string(batch_status_name(row->status)));
	json_object_object_add(o, "reason",
	                       row->reason != NULL ? json_object_new_string(row->reason) : NULL);
	json_object_object_add(o, "messages_copied", json_object_new_uint64(row->copied));
	json_object_object_add(o, "bytes_copied", json_object_new_uint64(row->copied_bytes));
	json_object_object_add(o, "missing", json_object_new_uint64(row->missing));
	json_object_object_add(o, "extra", json_object_new_uint64(row->extra));
	json_object_object_add(o, "failed", json_object_new_uint64(row->failed));
	json_object_object_add(o, "seconds", json_object_new_double(row->seconds));
	json_object_object_add(o, "exit_code",
	                       row->status == BATCH_NOT_STARTED || row->status == BATCH_RUNNING
	                               ? NULL
	                               : json_object_new_int(row->exit_code));
	json_object_object_add(o, "this_run", json_object_new_boolean(row->ran));
	return o;
}

static char *
summary_csv(const GPtrArray *rows)
{
	GString *out = g_string_new("line,source,destination,status,reason,messages_copied,"
	                            "bytes_copied,missing,extra,failed,seconds,exit_code,name\r\n");

	for (guint i = 0; i < rows->len; i++) {
		const struct batch_row *row = rows->pdata[i];
		bool ended = row->status != BATCH_NOT_STARTED && row->status != BATCH_RUNNING;

		g_string_append_printf(out, "%u,", row->line);
		batch_csv_field(out, row->source);
		g_string_append_c(out, ',');
		batch_csv_field(out, row->destination);
		g_string_append_printf(out, ",%s,", batch_status_name(row->status));
		batch_csv_field(out, row->reason);
		g_string_append_printf(out,
		                       ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
		                       ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
		                       ",%" G_GUINT64_FORMAT ",%.1f,",
		                       row->copied, row->copied_bytes, row->missing, row->extra,
		                       row->failed, row->seconds);
		if (ended)
			g_string_append_printf(out, "%d", row->exit_code);
		g_string_append_c(out, ',');
		batch_csv_field(out, row->name);
		g_string_append(out, "\r\n");
	}
	return g_string_free(out, false);
}

bool
batch_summary_write(const char *dir, const struct batch_meta *m, const GPtrArray *rows,
                    GError **error)
{
	g_autoptr(json_object) root = json_object_new_object();
	json_object *list = json_object_new_array();
	g_autofree char *json_path = g_build_filename(dir, "summary.json", NULL);
	g_autofree char *csv_path = g_build_filename(dir, "summary.csv", NULL);
	g_autofree char *csv = summary_csv(rows);
	const char *text;

	json_object_object_add(root, "mailhaul", json_object_new_string(MH_VERSION));
	json_object_object_add(root, "file", json_object_new_string(m->file));
	json_object_object_add(root, "shard",
	                       m->shards > 0 ? json_object_new_int((int)m->shard) : NULL);
	json_object_object_add(root, "shards", json_object_new_int((int)m->shards));
	json_object_object_add(root, "file_rows", json_object_new_int((int)m->file_rows));
	json_object_object_add(root, "started", json_object_new_string(m->started));
	json_object_object_add(root, "finished",
	                       m->finished != NULL ? json_object_new_string(m->finished) : NULL);
	json_object_object_add(root, "interrupted", json_object_new_boolean(m->interrupted));
	json_object_object_add(root, "exit_code",
	                       m->finished != NULL ? json_object_new_int(batch_exit_code(rows))
	                                           : NULL);
	for (guint i = 0; i < rows->len; i++)
		json_object_array_add(list, summary_row_json(rows->pdata[i]));
	json_object_object_add(root, "rows", list);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
	return mh_file_write(json_path, text, strlen(text), 0644, error) &&
	       mh_file_write(csv_path, csv, strlen(csv), 0644, error);
}

static const char *
summary_str(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static guint64
summary_u64(json_object *o, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

/* A row of a summary, or NULL when it lacks what every row has. */
static struct batch_row *
summary_row_parse(json_object *o)
{
	const char *name = summary_str(o, "name");
	const char *status = summary_str(o, "status");
	struct batch_row *row;
	json_object *v = NULL;

	if (name == NULL || status == NULL || batch_status_parse(status) < 0)
		return NULL;
	row = g_new0(struct batch_row, 1);
	row->name = g_strdup(name);
	row->status = (enum batch_status)batch_status_parse(status);
	row->line = (guint)summary_u64(o, "line");
	row->source = g_strdup(summary_str(o, "source"));
	row->destination = g_strdup(summary_str(o, "destination"));
	row->reason = g_strdup(summary_str(o, "reason"));
	row->copied = summary_u64(o, "messages_copied");
	row->copied_bytes = summary_u64(o, "bytes_copied");
	row->missing = summary_u64(o, "missing");
	row->extra = summary_u64(o, "extra");
	row->failed = summary_u64(o, "failed");
	if (json_object_object_get_ex(o, "seconds", &v))
		row->seconds = json_object_get_double(v);
	if (json_object_object_get_ex(o, "exit_code", &v) && v != NULL)
		row->exit_code = json_object_get_int(v);
	return row;
}

GPtrArray *
batch_summary_read(const char *dir, struct batch_meta *m, bool missing_ok, GError **error)
{
	g_autofree char *path = g_build_filename(dir, "summary.json", NULL);
	g_autoptr(json_object) root = NULL;
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)batch_row_free);
	json_object *list = NULL, *v = NULL;

	if (missing_ok && !g_file_test(path, G_FILE_TEST_EXISTS))
		return rows;
	root = json_object_from_file(path);
	if (root == NULL || !json_object_object_get_ex(root, "rows", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_NOINPUT,
		            "cannot read the batch summary %s: %s", path,
		            root == NULL ? "missing or not JSON" : "it has no rows");
		g_ptr_array_unref(rows);
		return NULL;
	}
	m->file = g_strdup(summary_str(root, "file"));
	m->started = g_strdup(summary_str(root, "started"));
	m->finished = g_strdup(summary_str(root, "finished"));
	if (json_object_object_get_ex(root, "shard", &v) && v != NULL)
		m->shard = (unsigned)json_object_get_int(v);
	m->shards = (unsigned)summary_u64(root, "shards");
	m->file_rows = (guint)summary_u64(root, "file_rows");
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct batch_row *row = summary_row_parse(json_object_array_get_idx(list, i));

		if (row != NULL)
			g_ptr_array_add(rows, row);
	}
	return rows;
}
