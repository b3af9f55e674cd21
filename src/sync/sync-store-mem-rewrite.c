/* SPDX-License-Identifier: MIT */
/* What the memory store does with message bytes: header fields as RFC 5322 2.2 lays them
 * out (for BODY.PEEK[HEADER.FIELDS] and SEARCH HEADER), UID sets (RFC 3501 9, seq-set),
 * and the rewrites real servers apply on APPEND: Courier's added CRLF, Cyrus's 'X' for
 * 8-bit header bytes, Exchange's re-folded header and re-encoded body. */
#include <string.h>

#include "sync-fingerprint.h"
#include "sync-store-mem-private.h"

#define FOLD_WIDTH 50 /* narrower than any sender folds: re-folding always changes bytes */

/* One header field: its raw bytes, continuation lines and line ends included. */
struct mem_field {
	const char *start;
	size_t len;
};

/* Splits the header of @msg into fields; *body_r is where the body starts (after the
 * empty line), or @len when there is none. */
static GArray *
mem_fields(const char *msg, size_t len, size_t *body_r)
{
	GArray *fields = g_array_new(false, false, sizeof(struct mem_field));
	size_t pos = 0;

	*body_r = len;
	while (pos < len) {
		const char *nl = memchr(msg + pos, '\n', len - pos);
		size_t eol = nl != NULL ? (size_t)(nl - msg) + 1 : len;
		size_t line = eol - pos;

		if ((line == 1 && msg[pos] == '\n') ||
		    (line == 2 && msg[pos] == '\r' && msg[pos + 1] == '\n')) {
			*body_r = eol;
			break;
		}
		if ((msg[pos] == ' ' || msg[pos] == '\t') && fields->len > 0) {
			g_array_index(fields, struct mem_field, fields->len - 1).len += line;
		} else {
			struct mem_field f = {.start = msg + pos, .len = line};

			g_array_append_val(fields, f);
		}
		pos = eol;
	}
	return fields;
}

/* The field's name, when it has one (caller frees); NULL for a line without a colon. */
static char *
mem_field_name(const struct mem_field *f)
{
	const char *colon = memchr(f->start, ':', f->len);

	if (colon == NULL)
		return NULL;
	return g_strchomp(g_strndup(f->start, (gsize)(colon - f->start)));
}

/* The field's value, unfolded (line ends removed), with leading blanks trimmed. */
static char *
mem_field_value(const struct mem_field *f)
{
	const char *colon = memchr(f->start, ':', f->len);
	GString *v = g_string_new(NULL);

	for (const char *p = colon != NULL ? colon + 1 : f->start; p < f->start + f->len; p++) {
		if (*p != '\r' && *p != '\n')
			g_string_append_c(v, *p);
	}
	return g_strchug(g_string_free(v, false));
}

void
sync_mem_header_fields(const char *msg, size_t len, GString *out)
{
	g_auto(GStrv) names = g_strsplit(MH_FINGERPRINT_FIELDS, " ", -1);
	size_t body;
	g_autoptr(GArray) fields = mem_fields(msg, len, &body);

	for (guint i = 0; i < fields->len; i++) {
		const struct mem_field *f = &g_array_index(fields, struct mem_field, i);
		g_autofree char *name = mem_field_name(f);

		for (size_t k = 0; name != NULL && names[k] != NULL; k++) {
			if (g_ascii_strcasecmp(name, names[k]) != 0)
				continue;
			g_string_append_len(out, f->start, (gssize)f->len);
			if (f->len == 0 || f->start[f->len - 1] != '\n')
				g_string_append(out, "\r\n");
			break;
		}
	}
	g_string_append(out, "\r\n");
}

char *
sync_mem_header_value(const char *msg, size_t len, const char *name)
{
	size_t body;
	g_autoptr(GArray) fields = mem_fields(msg, len, &body);

	for (guint i = 0; i < fields->len; i++) {
		const struct mem_field *f = &g_array_index(fields, struct mem_field, i);
		g_autofree char *n = mem_field_name(f);

		if (n != NULL && g_ascii_strcasecmp(n, name) == 0)
			return g_strchomp(mem_field_value(f));
	}
	return NULL;
}

static bool
mem_uid_atom(const char *s, uint32_t max, uint32_t *v_r)
{
	guint64 v;

	if (strcmp(s, "*") == 0) {
		*v_r = max;
		return true;
	}
	if (!g_ascii_string_to_unsigned(s, 10, 1, G_MAXUINT32, &v, NULL))
		return false;
	*v_r = (uint32_t)v;
	return true;
}

bool
sync_mem_uid_in_set(const char *set, uint32_t uid, uint32_t max)
{
	g_auto(GStrv) parts = g_strsplit(set, ",", -1);

	for (size_t i = 0; parts[i] != NULL; i++) {
		g_auto(GStrv) ends = g_strsplit(parts[i], ":", 2);
		uint32_t lo, hi;

		if (!mem_uid_atom(ends[0], max, &lo))
			continue;
		if (ends[1] == NULL)
			hi = lo;
		else if (!mem_uid_atom(ends[1], max, &hi))
			continue;
		if (lo > hi) {
			uint32_t t = lo;

			lo = hi;
			hi = t;
		}
		if (uid >= lo && uid <= hi)
			return true;
	}
	return false;
}

/* --- rewrites --- */

static void
mem_rewrite_8bit(GByteArray *msg)
{
	size_t body;
	g_autoptr(GArray) fields = mem_fields((const char *)msg->data, msg->len, &body);

	for (size_t i = 0; i < body; i++) {
		if (msg->data[i] >= 0x80)
			msg->data[i] = 'X';
	}
}

/* Writes "Name: value" folded at blanks to lines of about FOLD_WIDTH. */
static void
mem_fold(GString *out, const char *name, const char *value)
{
	g_autofree char *line = g_strdup_printf("%s: %s", name, value);
	const char *p = line;
	size_t min = strlen(name) + 2;

	while (strlen(p) > FOLD_WIDTH) {
		const char *cut = NULL;

		for (const char *q = p + min; *q != '\0' && (cut == NULL || q <= p + FOLD_WIDTH);
		     q++) {
			if (*q == ' ' || *q == '\t')
				cut = q;
		}
		if (cut == NULL)
			break;
		g_string_append_len(out, p, cut - p);
		g_string_append(out, "\r\n");
		p = cut;
		min = 1;
	}
	g_string_append_printf(out, "%s\r\n", p);
}

/* The boundary parameter of a Content-Type value (caller frees), or NULL. */
static char *
mem_boundary(const char *ctype)
{
	g_autofree char *lower = g_ascii_strdown(ctype, -1);
	const char *at = strstr(lower, "boundary=");
	const char *v;
	size_t n;

	if (at == NULL)
		return NULL;
	v = ctype + (at - lower) + strlen("boundary=");
	if (*v == '"')
		return g_strndup(v + 1, strcspn(v + 1, "\""));
	n = strcspn(v, "; \t");
	return n > 0 ? g_strndup(v, n) : NULL;
}

/* Re-renders as Exchange does: every header field unfolded and folded again, a
 * multipart's boundary renamed, a single part's body re-encoded as base64. */
static void
mem_rewrite_rerender(GByteArray *msg)
{
	size_t body_at;
	g_autoptr(GArray) fields = mem_fields((const char *)msg->data, msg->len, &body_at);
	g_autofree char *body = g_strndup((const char *)msg->data + body_at, msg->len - body_at);
	g_autofree char *boundary = NULL;
	GString *out = g_string_new(NULL);
	bool base64 = false;

	for (guint i = 0; i < fields->len; i++) {
		const struct mem_field *f = &g_array_index(fields, struct mem_field, i);
		g_autofree char *name = mem_field_name(f);
		g_autofree char *value = mem_field_value(f);

		if (name != NULL && g_ascii_strcasecmp(name, "Content-Type") == 0)
			boundary = mem_boundary(value);
		if (name != NULL && g_ascii_strcasecmp(name, "Content-Transfer-Encoding") == 0)
			base64 = strstr(value, "base64") != NULL;
	}
	for (guint i = 0; i < fields->len; i++) {
		const struct mem_field *f = &g_array_index(fields, struct mem_field, i);
		g_autofree char *name = mem_field_name(f);
		g_autofree char *value = mem_field_value(f);

		if (name == NULL)
			continue;
		if (boundary == NULL && !base64 &&
		    g_ascii_strcasecmp(name, "Content-Transfer-Encoding") == 0)
			continue;
		if (boundary != NULL && g_ascii_strcasecmp(name, "Content-Type") == 0) {
			g_autofree char *renamed = g_strconcat("_000_", boundary, "_", NULL);
			g_autoptr(GString) v = g_string_new(value);

			g_string_replace(v, boundary, renamed, 0);
			mem_fold(out, name, v->str);
			continue;
		}
		mem_fold(out, name, g_strchomp(value));
	}
	if (boundary == NULL && !base64)
		g_string_append(out, "Content-Transfer-Encoding: base64\r\n");
	g_string_append(out, "\r\n");
	if (boundary != NULL) {
		g_autofree char *from = g_strconcat("--", boundary, NULL);
		g_autofree char *to = g_strconcat("--_000_", boundary, "_", NULL);
		g_autoptr(GString) b = g_string_new(body);

		g_string_replace(b, from, to, 0);
		g_string_append_len(out, b->str, (gssize)b->len);
	} else if (!base64) {
		g_autofree char *enc = g_base64_encode((const guchar *)body, strlen(body));
		size_t n = strlen(enc);

		for (size_t at = 0; at < n; at += 76) {
			g_string_append_len(out, enc + at, (gssize)MIN(76, n - at));
			g_string_append(out, "\r\n");
		}
	} else {
		g_string_append(out, body);
	}
	g_byte_array_set_size(msg, 0);
	g_byte_array_append(msg, (const guint8 *)out->str, (guint)out->len);
	g_string_free(out, true);
}

void
sync_mem_rewrite(GByteArray *msg, unsigned how)
{
	if (how & MH_MEM_REWRITE_8BIT)
		mem_rewrite_8bit(msg);
	if (how & MH_MEM_REWRITE_RERENDER)
		mem_rewrite_rerender(msg);
	if ((how & MH_MEM_REWRITE_CRLF) &&
	    (msg->len < 2 || msg->data[msg->len - 2] != '\r' || msg->data[msg->len - 1] != '\n'))
		g_byte_array_append(msg, (const guint8 *)"\r\n", 2);
}
