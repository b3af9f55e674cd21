/* SPDX-License-Identifier: MIT */
/* Header fingerprints for matching messages without sync state. Scans an RFC 5322
 * header section (section 2.2: fields, section 2.2.3: unfolding) for the first
 * occurrence of each wanted field, normalises the values (section 3.2.2 comments and
 * section 3.6.4 msg-id for Message-ID; sync-fingerprint-norm.c for what servers rewrite)
 * and hashes a length-prefixed serialisation. docs/internals/identity.md explains why. */
#include "sync-fingerprint-private.h"

#include <glib.h>
#include <string.h>

enum sync_fp_field {
	SYNC_FP_MID,
	SYNC_FP_DATE,
	SYNC_FP_FROM,
	SYNC_FP_TO,
	SYNC_FP_CC,
	SYNC_FP_SUBJECT,
	SYNC_FP_COUNT
};

struct sync_fp_def {
	const char *header; /* field name as matched, case-insensitively */
	const char *tag;    /* name in the digest input */
};

static const struct sync_fp_def sync_fp_defs[SYNC_FP_COUNT] = {
	[SYNC_FP_MID] = {"message-id", "mid"}, [SYNC_FP_DATE] = {"date", "date"},
	[SYNC_FP_FROM] = {"from", "from"},     [SYNC_FP_TO] = {"to", "to"},
	[SYNC_FP_CC] = {"cc", "cc"},           [SYNC_FP_SUBJECT] = {"subject", "subject"},
};

/* Where a field's value lies in the caller's buffer: from after the colon to the end of
 * its last continuation line, line breaks included (normalising turns them into spaces,
 * which is what unfolding and whitespace collapsing together amount to). Spans point
 * into the input, so a field of any length costs no copy and needs no cap. */
struct sync_fp_span {
	const char *start; /* borrowed; NULL when the field is absent */
	const char *end;
};

#define SYNC_FP_IS_WSP(c)   ((c) == ' ' || (c) == '\t')
#define SYNC_FP_IS_SPACE(c) (SYNC_FP_IS_WSP(c) || (c) == '\r' || (c) == '\n')

/* Returns the index of the wanted field named [@name, @name + @len), or -1. */
static int
sync_fp_match_name(const char *name, size_t len)
{
	while (len > 0 && SYNC_FP_IS_WSP(name[len - 1]))
		len--; /* obsolete syntax allows WSP before the colon (RFC 5322 4.5) */
	for (int i = 0; i < SYNC_FP_COUNT; i++) {
		const char *want = sync_fp_defs[i].header;

		if (strlen(want) == len && g_ascii_strncasecmp(name, want, len) == 0)
			return i;
	}
	return -1;
}

/* Fills @spans with the first occurrence of each wanted field in @headers. */
static void
sync_fp_scan(const char *headers, size_t len, struct sync_fp_span spans[SYNC_FP_COUNT])
{
	const char *p = headers;
	const char *end;
	struct sync_fp_span *current = NULL;

	memset(spans, 0, sizeof(*spans) * SYNC_FP_COUNT);
	if (len == 0)
		return; /* @headers may be NULL, and NULL + 0 is undefined */
	end = headers + len;
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = lf != NULL ? lf : end;
		const char *next = lf != NULL ? lf + 1 : end;
		const char *colon;
		int field;

		if (line_end > p && line_end[-1] == '\r')
			line_end--;
		if (line_end == p)
			break; /* the empty line ends the header section */
		if (SYNC_FP_IS_WSP(*p)) {
			if (current != NULL)
				current->end = line_end;
			p = next;
			continue;
		}
		current = NULL;
		colon = memchr(p, ':', (size_t)(line_end - p));
		field = colon != NULL ? sync_fp_match_name(p, (size_t)(colon - p)) : -1;
		if (field >= 0 && spans[field].start == NULL) {
			current = &spans[field];
			current->start = colon + 1;
			current->end = line_end;
		}
		p = next;
	}
}

/* Appends @c to @out, writing first the space owed for preceding whitespace, if any and
 * if @out is not empty (so values come out trimmed at both ends). */
static void
sync_fp_put(GString *out, bool *space_owed, char c)
{
	if (*space_owed && out->len > 0)
		g_string_append_c(out, ' ');
	*space_owed = false;
	g_string_append_c(out, c);
}

/* Generic value: trimmed, runs of whitespace (line breaks of folding included) as one space. */
static void
sync_fp_normalise_text(const struct sync_fp_span *span, GString *out)
{
	bool space_owed = false;

	g_string_truncate(out, 0);
	for (const char *p = span->start; p != NULL && p < span->end; p++) {
		if (SYNC_FP_IS_SPACE(*p))
			space_owed = true;
		else
			sync_fp_put(out, &space_owed, *p);
	}
}

struct sync_fp_mid_state {
	unsigned comment; /* nesting depth of comments */
	unsigned angle;   /* nesting depth of '<' */
	bool quoted;      /* inside a quoted-string */
	bool escaped;     /* the previous byte was a backslash in a comment or quoted-string */
	bool space_owed;
};

/* Feeds one byte of a Message-ID value through comment, quote and angle tracking. */
static void
sync_fp_mid_byte(struct sync_fp_mid_state *s, GString *out, char c)
{
	if (s->escaped) {
		/* An escaped line break or blank is still whitespace to unfold and collapse. */
		s->escaped = false;
		if (s->comment > 0)
			return;
		if (SYNC_FP_IS_SPACE(c))
			s->space_owed = true;
		else
			sync_fp_put(out, &s->space_owed, c);
	} else if (c == '\\' && (s->comment > 0 || s->quoted)) {
		s->escaped = true;
		if (s->comment == 0)
			sync_fp_put(out, &s->space_owed, c);
	} else if (s->comment > 0) {
		if (c == '(')
			s->comment++;
		else if (c == ')')
			s->comment--;
	} else if (s->quoted) {
		if (c == '"')
			s->quoted = false;
		if (SYNC_FP_IS_SPACE(c))
			s->space_owed = true;
		else
			sync_fp_put(out, &s->space_owed, c);
	} else if (c == '(') {
		s->comment = 1;
		s->space_owed = s->angle == 0; /* a comment separates like whitespace (CFWS) */
	} else if (SYNC_FP_IS_SPACE(c)) {
		s->space_owed = s->angle == 0;
	} else {
		if (c == '"')
			s->quoted = true;
		else if (c == '<')
			s->angle++;
		else if (c == '>' && s->angle > 0)
			s->angle--;
		sync_fp_put(out, &s->space_owed, c);
	}
}

/* Message-ID value: comments removed, no whitespace inside <>, otherwise as text. */
static void
sync_fp_normalise_mid(const struct sync_fp_span *span, GString *out)
{
	struct sync_fp_mid_state s = {0};

	g_string_truncate(out, 0);
	for (const char *p = span->start; p != NULL && p < span->end; p++)
		sync_fp_mid_byte(&s, out, *p);
}

/* The identity form of a field other than Message-ID: encoded words decoded, folded,
 * lower-cased, 8-bit runs as one 'x'; addresses as their addr-specs, a date as UTC. */
static void
sync_fp_normalise_value(int field, const struct sync_fp_span *span, GString *out)
{
	g_autoptr(GString) text = g_string_new(NULL);

	sync_fp_normalise_text(span, text);
	sync_fp_decode_words(text->str, text->len, out);
	sync_fp_fold(out);
	if (field == SYNC_FP_FROM || field == SYNC_FP_TO || field == SYNC_FP_CC) {
		g_string_truncate(text, 0);
		g_string_append_len(text, out->str, (gssize)out->len);
		sync_fp_addresses(text, out);
	} else if (field == SYNC_FP_DATE) {
		g_string_truncate(text, 0);
		if (sync_fp_date(out, text)) {
			g_string_truncate(out, 0);
			g_string_append_len(out, text->str, (gssize)text->len);
		}
	}
}

static void
sync_fp_digest_field(GChecksum *sum, const char *tag, const char *value, size_t len)
{
	char num[24];

	g_checksum_update(sum, (const guchar *)tag, (gssize)strlen(tag) + 1);
	g_snprintf(num, sizeof(num), "%" G_GSIZE_FORMAT, len);
	g_checksum_update(sum, (const guchar *)num, (gssize)strlen(num) + 1);
	if (len > 0)
		g_checksum_update(sum, (const guchar *)value, (gssize)len);
}

char *
mh_fingerprint_compute(const char *headers, size_t len)
{
	struct sync_fp_span spans[SYNC_FP_COUNT];
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autoptr(GString) value = g_string_new(NULL);

	g_return_val_if_fail(headers != NULL || len == 0, NULL);
	g_return_val_if_fail(len <= G_MAXSSIZE, NULL);

	sync_fp_scan(headers, len, spans);
	sync_fp_digest_field(sum, "identity", "2", 1);
	for (int i = 0; i < SYNC_FP_COUNT; i++) {
		if (i == SYNC_FP_MID) {
			sync_fp_normalise_mid(&spans[i], value);
			sync_fp_mask_8bit(value);
		} else {
			sync_fp_normalise_value(i, &spans[i], value);
		}
		sync_fp_digest_field(sum, sync_fp_defs[i].tag, value->str, value->len);
	}
	return g_strdup(g_checksum_get_string(sum));
}

char *
mh_fingerprint_message_id(const char *headers, size_t len)
{
	struct sync_fp_span spans[SYNC_FP_COUNT];
	GString *value;

	g_return_val_if_fail(headers != NULL || len == 0, NULL);

	sync_fp_scan(headers, len, spans);
	if (spans[SYNC_FP_MID].start == NULL)
		return NULL;
	value = g_string_new(NULL);
	sync_fp_normalise_mid(&spans[SYNC_FP_MID], value);
	if (value->len == 0 || memchr(value->str, '\0', value->len) != NULL) {
		g_string_free(value, TRUE);
		return NULL;
	}
	return g_string_free(value, FALSE);
}
