/* SPDX-License-Identifier: MIT */
/* Message fix-ups a destination demands (docs/providers.md, "Flags and message fix-ups"):
 * read-receipt requests disarmed (imapsync --disarmreadreceipts: Exchange would send the
 * receipts again) and over-long lines broken (Exchange answers "BAD Command Argument Error.
 * 11"). A streaming rewriter in two stages, receipts then wrap; each holds back at most one
 * field name or max_line + 2 bytes, never the message. Folding follows RFC 5322 2.2.3. */
#include <string.h>

#include "provider.h"

/* The longest field name we rename, plus the ':' or blank after it. */
#define FIXUP_NAME_MAX 32

static const char *const fixup_receipt_fields[] = {"Disposition-Notification-To",
                                                   "Return-Receipt-To"};

struct mh_provider_fixup {
	unsigned fixups;
	size_t max_line; /* 0: no wrapping */
	unsigned applied;
	/* receipts stage: the start of a header line, until we know its field name */
	bool r_headers;
	bool r_collect;
	size_t r_name_len;
	unsigned char r_name[FIXUP_NAME_MAX];
	/* wrap stage: the current line, not yet written */
	bool w_headers;
	bool w_lf; /* the last line ended with a bare LF */
	GByteArray *w_line;
};

static const char *const fixup_names[] = {"receipts", "wrap", "mdnsent", "flagged"};

#define FIXUP_ALL                                                                          \
	(MH_PROVIDER_FIXUP_RECEIPTS | MH_PROVIDER_FIXUP_WRAP | MH_PROVIDER_FIXUP_MDNSENT | \
	 MH_PROVIDER_FIXUP_FLAGGED)

bool
mh_provider_fixups_parse(const char *s, unsigned *fixups_r)
{
	g_auto(GStrv) words = g_strsplit(s, ",", -1);
	unsigned bits = 0;

	for (size_t i = 0; words[i] != NULL; i++) {
		const char *w = g_strstrip(words[i]);
		bool known = false;

		if (*w == '\0' || g_ascii_strcasecmp(w, "none") == 0)
			continue;
		if (g_ascii_strcasecmp(w, "all") == 0) {
			bits |= FIXUP_ALL;
			continue;
		}
		for (size_t j = 0; j < G_N_ELEMENTS(fixup_names); j++) {
			if (g_ascii_strcasecmp(w, fixup_names[j]) == 0) {
				bits |= 1u << j;
				known = true;
			}
		}
		if (!known)
			return false;
	}
	*fixups_r = bits;
	return true;
}

char *
mh_provider_fixups_str(unsigned fixups)
{
	GString *s = g_string_new(NULL);

	for (size_t j = 0; j < G_N_ELEMENTS(fixup_names); j++) {
		if ((fixups & (1u << j)) != 0)
			g_string_append_printf(s, "%s%s", s->len > 0 ? "," : "", fixup_names[j]);
	}
	if (s->len == 0)
		g_string_append(s, "none");
	return g_string_free(s, FALSE);
}

struct mh_provider_fixup *
mh_provider_fixup_new(unsigned fixups, size_t max_line)
{
	struct mh_provider_fixup *f = g_new0(struct mh_provider_fixup, 1);

	f->fixups = fixups;
	/* A break writes max_line bytes and may add a folding blank: 2 is the least that
	 * always makes progress. */
	f->max_line = (fixups & MH_PROVIDER_FIXUP_WRAP) == 0 ? 0 : max_line == 1 ? 2 : max_line;
	f->r_headers = (fixups & MH_PROVIDER_FIXUP_RECEIPTS) != 0;
	f->r_collect = true;
	f->w_headers = true;
	f->w_line = g_byte_array_new();
	return f;
}

void
mh_provider_fixup_free(struct mh_provider_fixup *f)
{
	if (f == NULL)
		return;
	g_byte_array_unref(f->w_line);
	g_free(f);
}

unsigned
mh_provider_fixup_applied(const struct mh_provider_fixup *f)
{
	return f->applied;
}

/* --- wrap stage --- */

static bool
fixup_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* The line's length without a CR that may turn out to be the line end. */
static size_t
fixup_content_len(const GByteArray *line)
{
	return line->len > 0 && line->data[line->len - 1] == '\r' ? line->len - 1 : line->len;
}

static void
fixup_emit(struct mh_provider_fixup *f, size_t cut, GByteArray *out)
{
	g_byte_array_append(out, f->w_line->data, (guint)cut);
	if (f->w_lf)
		g_byte_array_append(out, (const guint8 *)"\n", 1);
	else
		g_byte_array_append(out, (const guint8 *)"\r\n", 2);
	g_byte_array_remove_range(f->w_line, 0, (guint)cut);
	f->applied |= MH_PROVIDER_FIXUP_WRAP;
}

/* Breaks the held line, longer than max_line. A header is folded before its last blank
 * at or before max_line (the blank starts the continuation); body text breaks after its
 * last blank; without a blank the line is cut at max_line. */
static void
fixup_break(struct mh_provider_fixup *f, GByteArray *out)
{
	const unsigned char *s = f->w_line->data;
	size_t max = f->max_line, cut = max;

	if (f->w_headers) {
		size_t first = 0;

		while (first < f->w_line->len && fixup_blank(s[first]))
			first++;
		for (size_t i = max; i > first; i--) {
			if (fixup_blank(s[i])) {
				cut = i;
				break;
			}
		}
		fixup_emit(f, cut, out);
		if (!fixup_blank(f->w_line->data[0]))
			g_byte_array_prepend(f->w_line, (const guint8 *)" ", 1);
		return;
	}
	for (size_t i = max; i-- > 0;) {
		if (fixup_blank(s[i])) {
			cut = i + 1;
			break;
		}
	}
	fixup_emit(f, cut, out);
}

static void
fixup_line_end(struct mh_provider_fixup *f, GByteArray *out)
{
	GByteArray *line = f->w_line;

	f->w_lf = line->len == 0 || line->data[line->len - 1] != '\r';
	if (f->w_headers && fixup_content_len(line) == 0)
		f->w_headers = false;
	g_byte_array_append(out, line->data, line->len);
	g_byte_array_append(out, (const guint8 *)"\n", 1);
	g_byte_array_set_size(line, 0);
}

static void
fixup_wrap_feed(struct mh_provider_fixup *f, const unsigned char *data, size_t len, GByteArray *out)
{
	GByteArray *line = f->w_line;

	if (f->max_line == 0) {
		g_byte_array_append(out, data, (guint)len);
		return;
	}
	while (len > 0) {
		/* Bulk: bytes that can neither end the line nor make it too long. */
		if (line->len < f->max_line) {
			size_t n = MIN(len, f->max_line - line->len);
			const unsigned char *nl = memchr(data, '\n', n);

			if (nl != NULL)
				n = (size_t)(nl - data);
			g_byte_array_append(line, data, (guint)n);
			data += n;
			len -= n;
			if (len == 0)
				break;
		}
		if (*data == '\n') {
			fixup_line_end(f, out);
		} else {
			g_byte_array_append(line, data, 1);
			while (fixup_content_len(line) > f->max_line)
				fixup_break(f, out);
		}
		data++;
		len--;
	}
}

/* --- receipts stage --- */

/* 1: @name starts a field to rename; 0: not known yet; -1: it does not. */
static int
fixup_receipt_match(const unsigned char *name, size_t n)
{
	if (n == 1 && name[0] == '\r') /* maybe the empty line */
		return 0;
	for (size_t i = 0; i < G_N_ELEMENTS(fixup_receipt_fields); i++) {
		const char *field = fixup_receipt_fields[i];
		size_t fl = strlen(field);

		if (g_ascii_strncasecmp((const char *)name, field, MIN(n, fl)) != 0)
			continue;
		if (n <= fl)
			return 0;
		if (name[fl] == ':' || fixup_blank(name[fl]))
			return 1;
	}
	return -1;
}

/* The collected start of a line is decided: writes it on, renamed when @match. */
static void
fixup_receipt_decided(struct mh_provider_fixup *f, int match, GByteArray *out)
{
	const unsigned char *name = f->r_name;
	size_t n = f->r_name_len;

	if (match > 0) {
		fixup_wrap_feed(f, (const unsigned char *)"X-", 2, out);
		f->applied |= MH_PROVIDER_FIXUP_RECEIPTS;
	}
	fixup_wrap_feed(f, name, n, out);
	f->r_collect = false;
	f->r_name_len = 0;
	if (name[n - 1] != '\n')
		return;
	f->r_collect = true;
	if (n == 1 || (n == 2 && name[0] == '\r'))
		f->r_headers = false;
}

static void
fixup_receipts_feed(struct mh_provider_fixup *f, const unsigned char *data, size_t len,
                    GByteArray *out)
{
	while (len > 0 && f->r_headers) {
		if (f->r_collect) {
			int match;

			f->r_name[f->r_name_len++] = *data++;
			len--;
			match = fixup_receipt_match(f->r_name, f->r_name_len);
			if (match != 0)
				fixup_receipt_decided(f, match, out);
		} else {
			const unsigned char *nl = memchr(data, '\n', len);
			size_t n = nl != NULL ? (size_t)(nl - data) + 1 : len;

			fixup_wrap_feed(f, data, n, out);
			data += n;
			len -= n;
			f->r_collect = nl != NULL;
		}
	}
	if (len > 0)
		fixup_wrap_feed(f, data, len, out);
}

void
mh_provider_fixup_feed(struct mh_provider_fixup *f, const unsigned char *data, size_t len,
                       GByteArray *out)
{
	fixup_receipts_feed(f, data, len, out);
}

void
mh_provider_fixup_finish(struct mh_provider_fixup *f, GByteArray *out)
{
	if (f->r_headers && f->r_collect && f->r_name_len > 0)
		fixup_receipt_decided(f, -1, out);
	g_byte_array_append(out, f->w_line->data, f->w_line->len);
	g_byte_array_set_size(f->w_line, 0);
}

/* --- the placeholder of a message the server could not convert --- */

/* The unfolded value of the header line starting at @line (after "Subject:"), blanks
 * collapsed, at most @cap bytes; NULL when the header may continue past @end. */
static GString *
placeholder_unfold(const unsigned char *line, const unsigned char *end, size_t cap)
{
	GString *v = g_string_new(NULL);
	bool blank = true; /* drop leading blanks */

	for (const unsigned char *q = line; v->len < cap; q++) {
		if (q == end) {
			g_string_free(v, true);
			return NULL;
		}
		if (*q == '\r')
			continue;
		if (*q == '\n') {
			if (q + 1 == end) {
				g_string_free(v, true);
				return NULL; /* a continuation line may follow */
			}
			if (q[1] != ' ' && q[1] != '\t')
				break;
			continue;
		}
		if (*q == ' ' || *q == '\t') {
			if (!blank)
				g_string_append_c(v, ' ');
			blank = true;
			continue;
		}
		g_string_append_c(v, (char)*q);
		blank = false;
	}
	return v;
}

bool
mh_provider_is_placeholder(const struct mh_provider *p, const unsigned char *head, size_t len,
                           bool *header_done_r)
{
	size_t want = p->placeholder_subject != NULL ? strlen(p->placeholder_subject) : 0;
	const unsigned char *end = head + len;

	*header_done_r = true;
	if (want == 0)
		return false;
	for (const unsigned char *line = head; line < end;) {
		const unsigned char *nl = memchr(line, '\n', (size_t)(end - line));
		g_autoptr(GString) value = NULL;

		if (nl == NULL)
			break;
		if (nl == line || (nl == line + 1 && line[0] == '\r'))
			return false; /* the end of the header: no placeholder subject */
		if (nl - line >= 8 && g_ascii_strncasecmp((const char *)line, "Subject:", 8) == 0) {
			value = placeholder_unfold(line + 8, end, want);
			if (value == NULL)
				break;
			return value->len >= want &&
			       g_ascii_strncasecmp(value->str, p->placeholder_subject, want) == 0;
		}
		line = nl + 1;
	}
	*header_done_r = false;
	return false;
}
