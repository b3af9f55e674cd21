/* SPDX-License-Identifier: MIT */
/* Modified UTF-7 for mailbox names (RFC 3501 section 5.1.3; RFC 2152 for the UTF-7
 * it modifies): printable US-ASCII stands for itself, '&' is "&-", anything else is
 * UTF-16 in base64 with ',' for '/' between '&' and '-'. Decoding accepts only the
 * canonical form our encoder produces, so decode and encode are exact inverses. */
#include "imap-utf7.h"

#include "imap-error.h"

#include <string.h>

#define UTF7_IS_DIRECT(c)      ((c) >= 0x20 && (c) <= 0x7e)
#define UTF7_HIGH_SURROGATE(u) ((u) >= 0xd800 && (u) <= 0xdbff)
#define UTF7_LOW_SURROGATE(u)  ((u) >= 0xdc00 && (u) <= 0xdfff)

static const char utf7_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

struct utf7_bits {
	unsigned value;   /* pending bits, the last @count of them */
	unsigned count;   /* 0..21 */
	gunichar high;    /* a high surrogate waiting for its low half, or 0 */
	GString *out;     /* borrowed; NULL when only validating */
	size_t run_start; /* offset of the run's '&', for messages */
};

static void
utf7_encode_unit(GString *out, struct utf7_bits *b, unsigned unit)
{
	b->value = (b->value << 16) | unit;
	b->count += 16;
	while (b->count >= 6) {
		b->count -= 6;
		g_string_append_c(out, utf7_alphabet[(b->value >> b->count) & 0x3f]);
	}
	b->value &= (1u << b->count) - 1;
}

/* Encodes the non-direct characters starting at @p as one run; returns the end. */
static const char *
utf7_encode_run(GString *out, const char *p)
{
	struct utf7_bits b = {0};

	g_string_append_c(out, '&');
	while (*p != '\0' && !UTF7_IS_DIRECT((unsigned char)*p)) {
		gunichar c = g_utf8_get_char(p);

		p = g_utf8_next_char(p);
		if (c >= 0x10000) {
			c -= 0x10000;
			utf7_encode_unit(out, &b, 0xd800 | (c >> 10));
			utf7_encode_unit(out, &b, 0xdc00 | (c & 0x3ff));
		} else {
			utf7_encode_unit(out, &b, c);
		}
	}
	if (b.count > 0)
		g_string_append_c(out, utf7_alphabet[(b.value << (6 - b.count)) & 0x3f]);
	g_string_append_c(out, '-');
	return p;
}

char *
mh_imap_utf7_encode(const char *utf8, GError **error)
{
	const char *end;
	GString *out;

	g_return_val_if_fail(utf8 != NULL, NULL);

	if (!g_utf8_validate(utf8, -1, &end)) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
		            "mailbox name is not valid UTF-8 (byte %zu)", (size_t)(end - utf8));
		return NULL;
	}
	out = g_string_sized_new(strlen(utf8) + 8);
	while (*utf8 != '\0') {
		if (*utf8 == '&') {
			g_string_append(out, "&-");
			utf8++;
		} else if (UTF7_IS_DIRECT((unsigned char)*utf8)) {
			g_string_append_c(out, *utf8++);
		} else {
			utf8 = utf7_encode_run(out, utf8);
		}
	}
	return g_string_free(out, FALSE);
}

static bool G_GNUC_PRINTF(3, 4) utf7_fail(GError **error, size_t offset, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list args;

	va_start(args, fmt);
	msg = g_strdup_vprintf(fmt, args);
	va_end(args);
	g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL,
	            "invalid modified UTF-7 mailbox name at byte %zu: %s", offset, msg);
	return false;
}

static int
utf7_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* Takes one decoded UTF-16 unit of a run at byte @offset. */
static bool
utf7_decode_unit(struct utf7_bits *b, gunichar unit, size_t offset, GError **error)
{
	gunichar c = unit;

	if (b->high != 0) {
		if (!UTF7_LOW_SURROGATE(unit))
			return utf7_fail(error, offset, "high surrogate without its low half");
		c = 0x10000 + ((b->high - 0xd800) << 10) + (unit - 0xdc00);
		b->high = 0;
	} else if (UTF7_HIGH_SURROGATE(unit)) {
		b->high = unit;
		return true;
	} else if (UTF7_LOW_SURROGATE(unit)) {
		return utf7_fail(error, offset, "low surrogate without its high half");
	} else if (unit == 0) {
		return utf7_fail(error, offset, "encoded NUL character");
	} else if (UTF7_IS_DIRECT(unit)) {
		/* It must stand for itself: accepting it would give a name two spellings. */
		return utf7_fail(error, offset, "encoded printable ASCII character '%c'",
		                 (char)unit);
	}
	if (b->out != NULL)
		g_string_append_unichar(b->out, c);
	return true;
}

/* Decodes the run whose '&' is at s[*pos], up to and including its '-'. */
static bool
utf7_decode_run(const char *s, size_t *pos, GString *out, GError **error)
{
	struct utf7_bits b = {.out = out, .run_start = *pos};
	size_t i;

	for (i = *pos + 1; s[i] != '-'; i++) {
		int v = utf7_b64_value((unsigned char)s[i]);

		if (s[i] == '\0')
			return utf7_fail(error, b.run_start, "unterminated '&' run");
		if (v < 0)
			return utf7_fail(error, i, "byte 0x%02x is not modified base64",
			                 (unsigned char)s[i]);
		b.value = (b.value << 6) | (unsigned)v;
		b.count += 6;
		if (b.count < 16)
			continue;
		b.count -= 16;
		if (!utf7_decode_unit(&b, (b.value >> b.count) & 0xffff, i, error))
			return false;
		b.value &= (1u << b.count) - 1;
	}
	if (b.count >= 6)
		return utf7_fail(error, i, "'&' run ends inside a UTF-16 unit");
	if (b.value != 0)
		return utf7_fail(error, i, "'&' run ends with non-zero padding bits");
	if (b.high != 0)
		return utf7_fail(error, i, "'&' run ends after a high surrogate");
	*pos = i + 1;
	return true;
}

/* Decodes @s into @out, or only checks it when @out is NULL. */
static bool
utf7_decode(const char *s, GString *out, GError **error)
{
	size_t i = 0;

	while (s[i] != '\0') {
		unsigned char c = (unsigned char)s[i];

		if (c == '&' && s[i + 1] == '-') {
			if (out != NULL)
				g_string_append_c(out, '&');
			i += 2;
		} else if (c == '&') {
			if (!utf7_decode_run(s, &i, out, error))
				return false;
			/* Our encoder merges neighbours into one run, and so does Dovecot's,
			 * which rejects "&...-&...-" too: keep one spelling per name. */
			if (s[i] == '&' && s[i + 1] != '-')
				return utf7_fail(error, i, "'&' run directly after another");
		} else if (UTF7_IS_DIRECT(c)) {
			if (out != NULL)
				g_string_append_c(out, (char)c);
			i++;
		} else {
			return utf7_fail(error, i, "raw %s byte 0x%02x",
			                 c >= 0x80 ? "non-ASCII" : "control", c);
		}
	}
	return true;
}

char *
mh_imap_utf7_decode(const char *utf7, GError **error)
{
	GString *out;

	g_return_val_if_fail(utf7 != NULL, NULL);

	out = g_string_sized_new(strlen(utf7));
	if (!utf7_decode(utf7, out, error)) {
		g_string_free(out, TRUE);
		return NULL;
	}
	return g_string_free(out, FALSE);
}

bool
mh_imap_utf7_valid(const char *s)
{
	g_return_val_if_fail(s != NULL, false);

	return utf7_decode(s, NULL, NULL);
}
