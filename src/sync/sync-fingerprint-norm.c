/* SPDX-License-Identifier: MIT */
/* The value normalisations behind message identity (docs/internals/identity.md): what a
 * server may rewrite when it stores a message must not change a fingerprint. Encoded
 * words (RFC 2047 section 4, adjacent ones joined as section 6.2 says) are decoded to
 * bytes, every run of 8-bit bytes and of 'X' becomes one 'x' (Cyrus stores 8-bit header
 * bytes as 'X'; a re-encoder may change the charset), addresses keep only their
 * addr-spec (RFC 5322 section 3.4), and dates become UTC (RFC 5322 section 3.3). */
#include "sync-fingerprint-private.h"

#include <string.h>

#define FP_NORM_IS_SPACE(c) ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')

/* Decodes the encoded word at @p (up to @end) into @out; returns the byte after it, or
 * NULL when @p does not start a well-formed encoded word. */
static const char *
fp_norm_decode_word(const char *p, const char *end, GString *out)
{
	const char *cs, *q, *text, *close;
	char enc;

	if (end - p < 8 || p[0] != '=' || p[1] != '?')
		return NULL;
	cs = p + 2;
	q = memchr(cs, '?', (size_t)(end - cs));
	if (q == NULL || q == cs || end - q < 4 || q[2] != '?')
		return NULL;
	enc = g_ascii_toupper(q[1]);
	text = q + 3;
	for (close = text; close + 1 < end; close++) {
		if (close[0] == '?' && close[1] == '=')
			break;
		if (FP_NORM_IS_SPACE(*close))
			return NULL;
	}
	if (close + 1 >= end)
		return NULL;
	if (enc == 'B') {
		g_autofree char *b64 = g_strndup(text, (gsize)(close - text));
		gsize len = 0;
		gint state = 0;
		guint save = 0;
		g_autofree guchar *raw = g_malloc((gsize)(close - text) + 3);

		len = g_base64_decode_step(b64, strlen(b64), raw, &state, &save);
		g_string_append_len(out, (const char *)raw, (gssize)len);
	} else if (enc == 'Q') {
		for (const char *t = text; t < close; t++) {
			if (*t == '_') {
				g_string_append_c(out, ' ');
			} else if (*t == '=' && close - t > 2 && g_ascii_isxdigit(t[1]) &&
			           g_ascii_isxdigit(t[2])) {
				g_string_append_c(out, (char)(g_ascii_xdigit_value(t[1]) * 16 +
				                              g_ascii_xdigit_value(t[2])));
				t += 2;
			} else {
				g_string_append_c(out, *t);
			}
		}
	} else {
		return NULL;
	}
	return close + 2;
}

void
sync_fp_decode_words(const char *in, size_t len, GString *out)
{
	const char *p = in;
	const char *end = in + len;
	const char *after_word = NULL; /* the end of the last encoded word written */

	g_string_truncate(out, 0);
	while (p < end) {
		const char *next = NULL;

		if (*p == '=') {
			gsize mark = out->len;
			const char *q = after_word;

			/* Only whitespace between two encoded words: it goes (RFC 2047 6.2). */
			while (q != NULL && q < p && FP_NORM_IS_SPACE(*q))
				q++;
			if (q == p && after_word != NULL) {
				gsize ws = (gsize)(p - after_word);

				if (out->len >= ws)
					g_string_truncate(out, out->len - ws);
			}
			next = fp_norm_decode_word(p, end, out);
			if (next == NULL)
				g_string_truncate(out, mark);
		}
		if (next != NULL) {
			after_word = next;
			p = next;
			continue;
		}
		g_string_append_c(out, *p);
		p++;
	}
}

void
sync_fp_fold(GString *s)
{
	gsize w = 0;
	bool space = false;

	for (gsize r = 0; r < s->len; r++) {
		unsigned char c = (unsigned char)s->str[r];

		if (FP_NORM_IS_SPACE(c)) {
			space = w > 0;
			continue;
		}
		c = c >= 0x80 ? 'x' : (unsigned char)g_ascii_tolower((gchar)c);
		if (c == 'x' && w > 0 && !space && s->str[w - 1] == 'x')
			continue;
		if (space)
			s->str[w++] = ' ';
		space = false;
		s->str[w++] = (char)c;
	}
	g_string_truncate(s, w);
}

void
sync_fp_mask_8bit(GString *s)
{
	for (gsize i = 0; i < s->len; i++)
		if ((unsigned char)s->str[i] >= 0x80)
			s->str[i] = 'X';
}

/* Skips a comment starting at @p (nested, with quoted-pairs); returns the byte after it. */
static const char *
fp_norm_skip_comment(const char *p, const char *end)
{
	unsigned depth = 0;

	for (; p < end; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
	}
	return end;
}

static const char *
fp_norm_skip_quoted(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return end;
}

static void
fp_norm_add_addr(GString *out, const char *a, size_t len)
{
	while (len > 0 && FP_NORM_IS_SPACE(*a)) {
		a++;
		len--;
	}
	while (len > 0 && FP_NORM_IS_SPACE(a[len - 1]))
		len--;
	if (len == 0 || memchr(a, '@', len) == NULL)
		return;
	if (out->len > 0)
		g_string_append_c(out, ',');
	g_string_append_len(out, a, (gssize)len);
}

void
sync_fp_addresses(const GString *value, GString *out)
{
	const char *p = value->str;
	const char *end = p + value->len;
	const char *word = p; /* start of the current bare token */
	bool angled = false;

	g_string_truncate(out, 0);
	while (p < end) {
		if (*p == '(' || *p == '"') {
			fp_norm_add_addr(out, word, angled ? 0 : (size_t)(p - word));
			p = *p == '(' ? fp_norm_skip_comment(p, end) : fp_norm_skip_quoted(p, end);
			word = p;
			angled = false;
		} else if (*p == '<') {
			const char *close = memchr(p, '>', (size_t)(end - p));
			const char *stop = close != NULL ? close : end;

			fp_norm_add_addr(out, p + 1, (size_t)(stop - p - 1));
			p = close != NULL ? close + 1 : end;
			word = p;
			angled = true;
		} else if (*p == ',' || *p == ' ' || *p == ':' || *p == ';') {
			fp_norm_add_addr(out, word, angled ? 0 : (size_t)(p - word));
			word = ++p;
			angled = false;
		} else {
			p++;
		}
	}
	fp_norm_add_addr(out, word, angled ? 0 : (size_t)(p - word));
	/* No address at all (a group with no members, garbage): the folded text itself. */
	if (out->len == 0)
		g_string_append_len(out, value->str, (gssize)value->len);
}

static const char *const fp_norm_months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                             "jul", "aug", "sep", "oct", "nov", "dec"};

/* Obsolete zone names (RFC 5322 4.3); military zones and unknown names mean -0000. */
static int
fp_norm_zone_minutes(const char *z)
{
	static const struct {
		const char *name;
		int hours;
	} zones[] = {{"ut", 0},   {"gmt", 0},  {"utc", 0},  {"z", 0},    {"est", -5}, {"edt", -4},
	             {"cst", -6}, {"cdt", -5}, {"mst", -7}, {"mdt", -6}, {"pst", -8}, {"pdt", -7}};

	if ((z[0] == '+' || z[0] == '-') && strlen(z) == 5 && g_ascii_isdigit(z[1]) &&
	    g_ascii_isdigit(z[2]) && g_ascii_isdigit(z[3]) && g_ascii_isdigit(z[4])) {
		int m = (z[1] - '0') * 600 + (z[2] - '0') * 60 + (z[3] - '0') * 10 + (z[4] - '0');

		return z[0] == '-' ? -m : m;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(zones); i++)
		if (strcmp(z, zones[i].name) == 0)
			return zones[i].hours * 60;
	return 0;
}

static bool
fp_norm_number(const char *s, int min, int max, int *out)
{
	guint64 v;
	char *end = NULL;

	if (!g_ascii_isdigit(*s))
		return false;
	v = g_ascii_strtoull(s, &end, 10);
	if (end == s || *end != '\0' || v < (guint64)min || v > (guint64)max)
		return false;
	*out = (int)v;
	return true;
}

bool
sync_fp_date(const GString *value, GString *out)
{
	/* Folded and lower-cased already: "[day,] dd mon yyyy hh:mm[:ss] zone [(comment)]". */
	g_auto(GStrv) tok = g_strsplit_set(value->str, " ,", -1);
	const char *f[5] = {0};
	int n = 0, day, mon = -1, year, hh, mm, ss = 0;
	g_auto(GStrv) hms = NULL;
	guint nhms;

	for (int i = 0; tok[i] != NULL && n < 5; i++) {
		if (tok[i][0] == '\0' || (n == 0 && g_ascii_isalpha(tok[i][0])))
			continue; /* empty pieces, and the day name before the date */
		f[n++] = tok[i];
	}
	if (n < 4)
		return false;
	for (int i = 0; i < 12; i++)
		if (g_str_has_prefix(f[1], fp_norm_months[i]))
			mon = i + 1;
	hms = g_strsplit(f[3], ":", -1);
	nhms = g_strv_length(hms);
	if (mon < 0 || !fp_norm_number(f[0], 1, 31, &day) ||
	    !fp_norm_number(f[2], 0, 9999, &year) || nhms < 2 || nhms > 3 ||
	    !fp_norm_number(hms[0], 0, 23, &hh) || !fp_norm_number(hms[1], 0, 59, &mm) ||
	    (nhms == 3 && !fp_norm_number(hms[2], 0, 60, &ss)))
		return false;
	if (strlen(f[2]) <= 2)
		year += year < 50 ? 2000 : 1900; /* obs-year, RFC 5322 4.3 */
	else if (strlen(f[2]) == 3)
		year += 1900;
	{
		int zone = n >= 5 ? fp_norm_zone_minutes(f[4]) : 0;
		g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
		g_autoptr(GDateTime) local =
			g_date_time_new(utc, year, mon, day, hh, mm, ss == 60 ? 59 : ss);
		g_autoptr(GDateTime) at = NULL;

		if (local == NULL)
			return false;
		at = g_date_time_add_minutes(local, -zone);
		if (at == NULL)
			return false;
		g_string_printf(out, "%" G_GINT64_FORMAT, g_date_time_to_unix(at));
	}
	return true;
}
