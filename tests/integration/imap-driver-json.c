/* SPDX-License-Identifier: MIT */
/* imap-driver's output: one JSON object per line on stdout (see imap-driver.c). */
#include "imap-driver-json.h"

#include <stdio.h>

#include "imap.h"

static const char *const error_code_names[] = {
	[MH_IMAP_ERROR_RESOLVE] = "RESOLVE", [MH_IMAP_ERROR_CONNECT] = "CONNECT",
	[MH_IMAP_ERROR_TIMEOUT] = "TIMEOUT", [MH_IMAP_ERROR_DISCONNECTED] = "DISCONNECTED",
	[MH_IMAP_ERROR_TLS] = "TLS",         [MH_IMAP_ERROR_NO] = "NO",
	[MH_IMAP_ERROR_BAD] = "BAD",         [MH_IMAP_ERROR_PROTOCOL] = "PROTOCOL",
	[MH_IMAP_ERROR_AUTH] = "AUTH",       [MH_IMAP_ERROR_AUTH_MECH] = "AUTH_MECH",
	[MH_IMAP_ERROR_BYE] = "BYE",         [MH_IMAP_ERROR_USAGE] = "USAGE",
};

void
json_string(GString *s, const char *str)
{
	g_autofree char *valid = NULL;

	if (str == NULL) {
		g_string_append(s, "null");
		return;
	}
	valid = g_utf8_make_valid(str, -1);
	g_string_append_c(s, '"');
	for (const char *p = valid; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\')
			g_string_append_printf(s, "\\%c", c);
		else if (c < 0x20)
			g_string_append_printf(s, "\\u%04x", c);
		else
			g_string_append_c(s, (char)c);
	}
	g_string_append_c(s, '"');
}

GString *
out_begin(const char *op)
{
	GString *s = g_string_new("{\"op\":");

	json_string(s, op);
	return s;
}

void
out_key(GString *s, const char *key)
{
	g_string_append_c(s, ',');
	json_string(s, key);
	g_string_append_c(s, ':');
}

void
out_str(GString *s, const char *key, const char *val)
{
	out_key(s, key);
	json_string(s, val);
}

void
out_num(GString *s, const char *key, uint64_t val)
{
	out_key(s, key);
	g_string_append_printf(s, "%" G_GUINT64_FORMAT, val);
}

void
out_bool(GString *s, const char *key, bool val)
{
	out_key(s, key);
	g_string_append(s, val ? "true" : "false");
}

/* An array of @n strings (n < 0: NULL-terminated). */
void
out_strv(GString *s, const char *key, const char *const *v, gssize n)
{
	out_key(s, key);
	g_string_append_c(s, '[');
	for (gssize i = 0; n < 0 ? v[i] != NULL : i < n; i++) {
		if (i > 0)
			g_string_append_c(s, ',');
		json_string(s, v[i]);
	}
	g_string_append_c(s, ']');
}

void
out_end(GString *s)
{
	g_string_append(s, "}\n");
	fputs(s->str, stdout);
	fflush(stdout);
	g_string_free(s, true);
}

const char *
error_code_name(const GError *error)
{
	if (error->domain == MH_IMAP_ERROR && error->code >= 0 &&
	    (size_t)error->code < G_N_ELEMENTS(error_code_names))
		return error_code_names[error->code];
	return "OTHER";
}

void
out_error_fields(GString *s, const GError *error)
{
	out_str(s, "domain", g_quark_to_string(error->domain));
	out_num(s, "code", (uint64_t)error->code);
	out_str(s, "code_name", error_code_name(error));
	out_str(s, "message", error->message);
}

/* Prints the "error" object for the operation @at and frees @error; also to stderr
 * unless it was tried. Returns @tried: whether the run goes on. */
bool
report_error(const char *at, bool tried, GError *error)
{
	GString *s = out_begin("error");

	out_str(s, "at", at);
	out_bool(s, "tried", tried);
	out_error_fields(s, error);
	out_end(s);
	if (!tried)
		fprintf(stderr, "imap-driver: %s: %s (%s %d)\n", at, error->message,
		        error_code_name(error), error->code);
	g_error_free(error);
	return tried;
}
