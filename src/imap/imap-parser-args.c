/* SPDX-License-Identifier: MIT */
/* Arguments of parsed IMAP responses: the token scanners the parser builds them with
 * (atoms, quoted strings, literal headers: RFC 3501 section 9, RFC 7888 literals,
 * RFC 3516 literal8), freeing without recursion, and the readers callers use. */
#include <string.h>

#include "imap-parser-private.h"

struct mh_imap_arg *
mh_imap_arg_new(enum mh_imap_arg_type type)
{
	struct mh_imap_arg *a = g_new0(struct mh_imap_arg, 1);

	a->type = type;
	return a;
}

void
mh_imap_arg_free(struct mh_imap_arg *a)
{
	if (a == NULL)
		return;
	mh_imap_args_free(a->list);
	g_free(a->str);
	g_free(a);
}

GPtrArray *
mh_imap_args_new(void)
{
	return g_ptr_array_new();
}

void
mh_imap_args_free(GPtrArray *list)
{
	GPtrArray *todo;

	if (list == NULL)
		return;
	/* An explicit stack of lists still to free: nesting depth costs heap, not C stack. */
	todo = g_ptr_array_new();
	g_ptr_array_add(todo, list);
	while (todo->len > 0) {
		GPtrArray *l = g_ptr_array_steal_index_fast(todo, todo->len - 1);

		for (guint i = 0; i < l->len; i++) {
			struct mh_imap_arg *a = l->pdata[i];

			if (a->list != NULL)
				g_ptr_array_add(todo, a->list);
			g_free(a->str);
			g_free(a);
		}
		g_ptr_array_free(l, TRUE);
	}
	g_ptr_array_free(todo, TRUE);
}

struct mh_imap_response *
mh_imap_response_new(void)
{
	struct mh_imap_response *r = g_new0(struct mh_imap_response, 1);

	r->args = mh_imap_args_new();
	r->code_args = mh_imap_args_new();
	return r;
}

void
mh_imap_response_free(struct mh_imap_response *r)
{
	if (r == NULL)
		return;
	g_free(r->tag);
	g_free(r->name);
	g_free(r->code);
	g_free(r->text);
	mh_imap_args_free(r->code_args);
	mh_imap_args_free(r->args);
	g_free(r);
}

bool
mh_imap_fail(GError **error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_propagate_error(error,
	                  g_error_new_valist(MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL, fmt, ap));
	va_end(ap);
	return false;
}

bool
mh_imap_fail_char(GError **error, const char *where, unsigned char c)
{
	if (c > 0x20 && c < 0x7f)
		return mh_imap_fail(error, "unexpected character '%c' %s", c, where);
	return mh_imap_fail(error, "unexpected byte 0x%02x %s", c, where);
}

bool
mh_imap_is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	switch (c) {
	case '(':
	case ')':
	case '{':
	case '%':
	case '*':
	case '"':
	case '\\':
	case ']':
		return false;
	default:
		return true;
	}
}

bool
mh_imap_is_tag_char(unsigned char c)
{
	return c != '+' && (c == ']' || mh_imap_is_atom_char(c));
}

bool
mh_imap_is_name_char(unsigned char c)
{
	return c != '[' && mh_imap_is_atom_char(c);
}

/* Atom characters we accept in responses: ATOM-CHAR plus list wildcards (LIST
 * names), "]" outside codes, "{" inside codes (their text is free-form) and 8-bit
 * bytes (unquoted UTF-8 names from UTF8=ACCEPT servers). */
static bool
imap_is_arg_atom_char(unsigned char c, enum imap_scan_mode mode)
{
	if (c >= 0x80 || c == '%' || c == '*')
		return true;
	if (c == ']')
		return mode == IMAP_SCAN_DATA;
	if (c == '{')
		return mode == IMAP_SCAN_CODE;
	return mh_imap_is_atom_char(c);
}

/* "BODY[HEADER.FIELDS (DATE)]": from "[" to its matching "]", spaces included. */
static bool
imap_skip_brackets(struct imap_cursor *c, GError **error)
{
	size_t depth = 0;

	for (const unsigned char *q = c->p; q < c->end; q++) {
		if (*q == '[') {
			depth++;
		} else if (*q == ']' && --depth == 0) {
			c->p = q + 1;
			return true;
		}
	}
	g_set_error_literal(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL, "unterminated [ in atom");
	return false;
}

static bool
imap_atom_ends(const struct imap_cursor *c, enum imap_scan_mode mode)
{
	if (c->p == c->end)
		return true;
	switch (*c->p) {
	case ' ':
	case '(':
	case ')':
		return true;
	case ']':
		return mode == IMAP_SCAN_CODE;
	default:
		return false;
	}
}

struct mh_imap_arg *
mh_imap_scan_atom(struct imap_cursor *c, enum imap_scan_mode mode, GError **error)
{
	const unsigned char *start = c->p;
	struct mh_imap_arg *a;
	size_t len;

	if (*c->p == '\\')
		c->p++; /* a flag such as \Seen or \* */
	while (c->p < c->end) {
		if (*c->p == '[' && mode == IMAP_SCAN_DATA) {
			if (!imap_skip_brackets(c, error))
				return NULL;
		} else if (imap_is_arg_atom_char(*c->p, mode)) {
			c->p++;
		} else {
			break;
		}
	}
	len = (size_t)(c->p - start);
	if (len == 0 || (len == 1 && *start == '\\') || !imap_atom_ends(c, mode)) {
		mh_imap_fail_char(error, "in atom", c->p < c->end ? *c->p : *start);
		return NULL;
	}
	if (len == 3 && g_ascii_strncasecmp((const char *)start, "NIL", 3) == 0)
		return mh_imap_arg_new(MH_IMAP_ARG_NIL);
	a = mh_imap_arg_new(MH_IMAP_ARG_ATOM);
	a->str = g_strndup((const char *)start, len);
	a->len = len;
	return a;
}

/* Finds the closing quote; returns its position or NULL, and the unescaped length. */
static const unsigned char *
imap_quoted_end(const struct imap_cursor *c, size_t *len_r, bool *escaped_r, GError **error)
{
	size_t n = 0;

	for (const unsigned char *q = c->p + 1; q < c->end; q++, n++) {
		if (*q == '"') {
			*len_r = n;
			return q;
		}
		if (*q != '\\')
			continue;
		if (q + 1 == c->end)
			break;
		q++;
		if (*q != '"' && *q != '\\') {
			mh_imap_fail_char(error, "in quoted string escape", *q);
			return NULL;
		}
		*escaped_r = true;
	}
	g_set_error_literal(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL,
	                    "unterminated quoted string");
	return NULL;
}

struct mh_imap_arg *
mh_imap_scan_quoted(struct imap_cursor *c, GError **error)
{
	const unsigned char *s = c->p + 1, *close;
	struct mh_imap_arg *a;
	bool escaped = false;
	size_t len = 0;

	close = imap_quoted_end(c, &len, &escaped, error);
	if (close == NULL)
		return NULL;
	a = mh_imap_arg_new(MH_IMAP_ARG_STRING);
	a->str = g_malloc(len + 1);
	a->len = len;
	if (!escaped) {
		memcpy(a->str, s, len);
	} else {
		char *d = a->str;

		for (const unsigned char *q = s; q < close; q++) {
			if (*q == '\\')
				q++;
			*d++ = (char)*q;
		}
	}
	a->str[len] = '\0';
	c->p = close + 1;
	return a;
}

bool
mh_imap_scan_literal_header(struct imap_cursor *c, uint64_t *size_r, GError **error)
{
	const unsigned char *q = c->p;
	uint64_t size = 0;
	size_t digits = 0;

	if (*q == '~')
		q++; /* literal8 (RFC 3516): same framing, binary content */
	q++;         /* "{" */
	for (; q < c->end && g_ascii_isdigit(*q); q++, digits++) {
		unsigned d = (unsigned)(*q - '0');

		if (size > ((uint64_t)INT64_MAX - d) / 10)
			return mh_imap_fail(error, "literal size larger than 2^63-1");
		size = size * 10 + d;
	}
	if (digits == 0)
		return mh_imap_fail(error, "literal size is not a number");
	if (q < c->end && *q == '+')
		q++; /* LITERAL+ / LITERAL- syntax, harmless from a server */
	if (q == c->end || *q != '}')
		return mh_imap_fail(error, "unterminated literal header");
	if (q + 1 != c->end)
		return mh_imap_fail(error, "literal header not followed by CRLF");
	c->p = c->end;
	*size_r = size;
	return true;
}

bool
mh_imap_arg_get_nstring(const struct mh_imap_arg *a, const char **str_r, size_t *len_r)
{
	const char *str = NULL;
	size_t len = 0;

	if (a == NULL)
		return false;
	switch (a->type) {
	case MH_IMAP_ARG_ATOM:
	case MH_IMAP_ARG_STRING:
	case MH_IMAP_ARG_LITERAL:
		str = a->str;
		len = a->len;
		break;
	case MH_IMAP_ARG_NIL:
		break;
	default:
		return false;
	}
	if (str_r != NULL)
		*str_r = str;
	if (len_r != NULL)
		*len_r = len;
	return true;
}

bool
mh_imap_arg_get_uint64(const struct mh_imap_arg *a, uint64_t *value_r)
{
	uint64_t v = 0;

	if (a == NULL || a->type != MH_IMAP_ARG_ATOM || a->len == 0)
		return false;
	for (size_t i = 0; i < a->len; i++) {
		unsigned char ch = (unsigned char)a->str[i];
		unsigned d;

		if (!g_ascii_isdigit(ch))
			return false;
		d = (unsigned)(ch - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*value_r = v;
	return true;
}

bool
mh_imap_arg_is_atom(const struct mh_imap_arg *a, const char *atom)
{
	if (a == NULL || a->type != MH_IMAP_ARG_ATOM)
		return false;
	return a->len == strlen(atom) && g_ascii_strncasecmp(a->str, atom, a->len) == 0;
}

const struct mh_imap_arg *
mh_imap_list_lookup(const GPtrArray *list, const char *name)
{
	if (list == NULL)
		return NULL;
	/* Keys sit at even positions: stepping by two keeps an atom value that
	 * happens to spell a key name from being taken for that key. */
	for (guint i = 0; i + 1 < list->len; i += 2) {
		if (mh_imap_arg_is_atom(list->pdata[i], name))
			return list->pdata[i + 1];
	}
	return NULL;
}

const char *
mh_imap_status_name(enum mh_imap_status status)
{
	static const char *const names[] = {
		[MH_IMAP_STATUS_NONE] = "NONE",       [MH_IMAP_STATUS_OK] = "OK",
		[MH_IMAP_STATUS_NO] = "NO",           [MH_IMAP_STATUS_BAD] = "BAD",
		[MH_IMAP_STATUS_PREAUTH] = "PREAUTH", [MH_IMAP_STATUS_BYE] = "BYE",
	};

	if ((size_t)status >= G_N_ELEMENTS(names))
		return "UNKNOWN";
	return names[status];
}
