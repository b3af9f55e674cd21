/* SPDX-License-Identifier: MIT */
/* A CSV reader and writer after RFC 4180 (GLib has none): quoted fields with doubled
 * quotes, separators and line breaks inside quotes, CRLF or LF line ends. */
#include <string.h>

#include "batch.h"
#include "cli.h"

static void
csv_record_free(struct batch_record *r)
{
	g_ptr_array_unref(r->fields);
	g_free(r);
}

/* Adds the record of @fields starting at @line unless it is an empty line. */
static void
csv_end_record(GPtrArray *records, GPtrArray **fields, guint line)
{
	struct batch_record *r;

	if ((*fields)->len == 1 && *(char *)(*fields)->pdata[0] == '\0') {
		g_ptr_array_set_size(*fields, 0);
		return;
	}
	r = g_new0(struct batch_record, 1);
	r->line = line;
	r->fields = g_steal_pointer(fields);
	g_ptr_array_add(records, r);
	*fields = g_ptr_array_new_with_free_func(g_free);
}

static bool
csv_fail(GError **error, guint line, const char *what)
{
	g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE, "line %u: %s", line, what);
	return false;
}

/* Reads one quoted field starting after its opening quote at *p; leaves *p after the
 * closing quote. */
static bool
csv_quoted(const char **p, const char *end, GString *field, guint *line, GError **error)
{
	guint start = *line;
	const char *s = *p;

	while (s < end) {
		if (*s == '"' && s + 1 < end && s[1] == '"') {
			g_string_append_c(field, '"');
			s += 2;
			continue;
		}
		if (*s == '"') {
			*p = s + 1;
			return true;
		}
		if (*s == '\n')
			(*line)++;
		g_string_append_c(field, *s++);
	}
	return csv_fail(error, start, "a quoted field is not closed (a \" is missing)");
}

GPtrArray *
batch_csv_parse(const char *text, gsize len, char sep, GError **error)
{
	g_autoptr(GPtrArray) records =
		g_ptr_array_new_with_free_func((GDestroyNotify)csv_record_free);
	g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) field = g_string_new(NULL);
	const char *p = text, *end = text + len;
	guint line = 1, record_line = 1;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		if (*p == '"' && field->len == 0) {
			p++;
			if (!csv_quoted(&p, end, field, &line, error))
				return NULL;
			if (p < end && *p != sep && *p != '\r' && *p != '\n') {
				csv_fail(error, line, "a character follows a closing quote");
				return NULL;
			}
			continue;
		}
		if (*p == sep) {
			g_ptr_array_add(fields, g_strdup(field->str));
			g_string_truncate(field, 0);
			p++;
			continue;
		}
		if (*p == '\r' && p + 1 < end && p[1] == '\n')
			p++;
		if (*p == '\n' || *p == '\r') {
			g_ptr_array_add(fields, g_strdup(field->str));
			g_string_truncate(field, 0);
			csv_end_record(records, &fields, record_line);
			record_line = ++line;
			p++;
			continue;
		}
		if (*p == '\0') {
			csv_fail(error, line, "a NUL byte: this is not a text file");
			return NULL;
		}
		g_string_append_c(field, *p++);
	}
	if (field->len > 0 || fields->len > 0) {
		g_ptr_array_add(fields, g_strdup(field->str));
		csv_end_record(records, &fields, record_line);
	}
	return g_steal_pointer(&records);
}

void
batch_csv_field(GString *out, const char *s)
{
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		g_string_append(out, s);
		return;
	}
	g_string_append_c(out, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			g_string_append_c(out, '"');
		g_string_append_c(out, *s);
	}
	g_string_append_c(out, '"');
}
