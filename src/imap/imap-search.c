/* SPDX-License-Identifier: MIT */
/* Checks a user's IMAP search criteria (imapsync's --search) against the search-key
 * grammar of RFC 3501 section 6.4.4 and 9 (search-key), with RFC 5032's OLDER/YOUNGER,
 * RFC 7162's MODSEQ and Gmail's X-GM-RAW/X-GM-MSGID/X-GM-THRID/X-GM-LABELS, so that only
 * search keys reach the wire: no CR, LF or NUL, balanced parentheses and quotes, every
 * key with the arguments it takes. */
#include <string.h>

#include "imap.h"

enum search_arg {
	ARG_NONE,
	ARG_ASTRING, /* a string: atom or quoted (BODY, FROM, SUBJECT ...) */
	ARG_DATE,    /* date: 1-Jan-2024, quoted or not */
	ARG_NUMBER,  /* number (LARGER, SMALLER, OLDER, YOUNGER) */
	ARG_ATOM,    /* a flag keyword */
	ARG_SET,     /* a sequence set (UID) */
	ARG_HEADER,  /* field name then string */
	ARG_KEY,     /* NOT key */
	ARG_TWO_KEYS /* OR key key */
};

static const struct {
	const char *name;
	enum search_arg arg;
} search_keys[] = {
	{"ALL", ARG_NONE},
	{"ANSWERED", ARG_NONE},
	{"DELETED", ARG_NONE},
	{"DRAFT", ARG_NONE},
	{"FLAGGED", ARG_NONE},
	{"NEW", ARG_NONE},
	{"OLD", ARG_NONE},
	{"RECENT", ARG_NONE},
	{"SEEN", ARG_NONE},
	{"UNANSWERED", ARG_NONE},
	{"UNDELETED", ARG_NONE},
	{"UNDRAFT", ARG_NONE},
	{"UNFLAGGED", ARG_NONE},
	{"UNSEEN", ARG_NONE},
	{"BCC", ARG_ASTRING},
	{"BODY", ARG_ASTRING},
	{"CC", ARG_ASTRING},
	{"FROM", ARG_ASTRING},
	{"SUBJECT", ARG_ASTRING},
	{"TEXT", ARG_ASTRING},
	{"TO", ARG_ASTRING},
	{"X-GM-RAW", ARG_ASTRING},
	{"X-GM-LABELS", ARG_ASTRING},
	{"BEFORE", ARG_DATE},
	{"ON", ARG_DATE},
	{"SINCE", ARG_DATE},
	{"SENTBEFORE", ARG_DATE},
	{"SENTON", ARG_DATE},
	{"SENTSINCE", ARG_DATE},
	{"LARGER", ARG_NUMBER},
	{"SMALLER", ARG_NUMBER},
	{"OLDER", ARG_NUMBER},
	{"YOUNGER", ARG_NUMBER},
	{"MODSEQ", ARG_NUMBER},
	{"X-GM-MSGID", ARG_NUMBER},
	{"X-GM-THRID", ARG_NUMBER},
	{"KEYWORD", ARG_ATOM},
	{"UNKEYWORD", ARG_ATOM},
	{"UID", ARG_SET},
	{"HEADER", ARG_HEADER},
	{"NOT", ARG_KEY},
	{"OR", ARG_TWO_KEYS},
};

#define SEARCH_MAX_DEPTH 32

struct search_scan {
	const char *p;
	const char *error; /* static text, set on the first fault */
	char *near;        /* owned; the token at fault */
	unsigned depth;
};

static void
search_fail(struct search_scan *s, const char *why, const char *tok, size_t len)
{
	if (s->error != NULL)
		return;
	s->error = why;
	s->near = tok != NULL ? g_strndup(tok, len) : NULL;
}

static void
search_skip_space(struct search_scan *s)
{
	while (*s->p == ' ')
		s->p++;
}

/* Reads one token: a quoted string (with its quotes), "(" or ")", or a run of other
 * characters. Returns its start, *len_r its length; NULL at the end. */
static const char *
search_token(struct search_scan *s, size_t *len_r)
{
	const char *start;

	search_skip_space(s);
	start = s->p;
	if (*s->p == '\0')
		return NULL;
	if (*s->p == '(' || *s->p == ')') {
		s->p++;
	} else if (*s->p == '"') {
		for (s->p++; *s->p != '"'; s->p++) {
			if (*s->p == '\0') {
				search_fail(s, "an unclosed quote", start, strlen(start));
				return NULL;
			}
			if (*s->p == '\\' && (s->p[1] == '"' || s->p[1] == '\\'))
				s->p++;
		}
		s->p++;
	} else {
		while (*s->p != '\0' && *s->p != ' ' && *s->p != '(' && *s->p != ')' &&
		       *s->p != '"')
			s->p++;
	}
	*len_r = (size_t)(s->p - start);
	return start;
}

static bool
search_all(const char *t, size_t len, const char *allowed)
{
	for (size_t i = 0; i < len; i++)
		if (strchr(allowed, t[i]) == NULL)
			return false;
	return len > 0;
}

static bool
search_is_date(const char *t, size_t len)
{
	static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
	                                     "jul", "aug", "sep", "oct", "nov", "dec"};
	g_autofree char *d = NULL;
	g_auto(GStrv) parts = NULL;

	if (len >= 2 && t[0] == '"' && t[len - 1] == '"') {
		t++;
		len -= 2;
	}
	d = g_ascii_strdown(t, (gssize)len);
	parts = g_strsplit(d, "-", -1);
	if (g_strv_length(parts) != 3 || !search_all(parts[0], strlen(parts[0]), "0123456789") ||
	    strlen(parts[0]) > 2 || strlen(parts[2]) != 4 || !search_all(parts[2], 4, "0123456789"))
		return false;
	for (gsize i = 0; i < G_N_ELEMENTS(months); i++)
		if (strcmp(parts[1], months[i]) == 0)
			return true;
	return false;
}

static bool search_key(struct search_scan *s);

/* One argument of the kind @arg after the key @key. */
static bool
search_arg(struct search_scan *s, enum search_arg arg, const char *key)
{
	size_t len = 0;
	const char *t;

	if (arg == ARG_KEY)
		return search_key(s);
	if (arg == ARG_TWO_KEYS)
		return search_key(s) && search_key(s);
	t = search_token(s, &len);
	if (t == NULL || *t == '(' || *t == ')') {
		search_fail(s, "a search key without its argument", key, strlen(key));
		return false;
	}
	switch (arg) {
	case ARG_DATE:
		if (!search_is_date(t, len))
			search_fail(s, "not a date like 1-Jan-2024", t, len);
		break;
	case ARG_NUMBER:
		if (!search_all(t, len, "0123456789"))
			search_fail(s, "not a number", t, len);
		break;
	case ARG_SET:
		if (!search_all(t, len, "0123456789:,*"))
			search_fail(s, "not a UID set like 1:100,200", t, len);
		break;
	case ARG_ATOM:
		if (*t == '"')
			search_fail(s, "a keyword cannot be quoted", t, len);
		break;
	case ARG_HEADER:
		return search_arg(s, ARG_ASTRING, key);
	default:
		break;
	}
	return s->error == NULL;
}

/* One search key (or a parenthesised list of them). */
static bool
search_key(struct search_scan *s)
{
	size_t len = 0;
	const char *t = search_token(s, &len);
	g_autofree char *name = NULL;

	if (t == NULL) {
		search_fail(s, "a search that ends too early", NULL, 0);
		return false;
	}
	if (*t == '(') {
		if (++s->depth > SEARCH_MAX_DEPTH) {
			search_fail(s, "parentheses nested too deep", t, 1);
			return false;
		}
		do {
			if (!search_key(s))
				return false;
			search_skip_space(s);
		} while (*s->p != ')' && *s->p != '\0');
		if (*s->p != ')') {
			search_fail(s, "an unclosed parenthesis", t, strlen(t));
			return false;
		}
		s->p++;
		s->depth--;
		return true;
	}
	if (search_all(t, len, "0123456789:,*"))
		return true; /* a sequence set */
	name = g_ascii_strup(t, (gssize)len);
	for (gsize i = 0; i < G_N_ELEMENTS(search_keys); i++)
		if (strcmp(name, search_keys[i].name) == 0)
			return search_keys[i].arg == ARG_NONE ||
			       search_arg(s, search_keys[i].arg, search_keys[i].name);
	search_fail(s, "not an IMAP search key", t, len);
	return false;
}

bool
mh_imap_search_check(const char *criteria, GError **error)
{
	struct search_scan s = {.p = criteria};
	const char *bad = strpbrk(criteria, "\r\n\t");
	bool ok;

	if (bad != NULL) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
		            "the search criteria hold a %s: only one line of IMAP search keys "
		            "can be sent",
		            *bad == '\t' ? "tab" : "line break (CR or LF)");
		return false;
	}
	for (const char *p = criteria; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
			            "the search criteria hold a control character");
			return false;
		}
	}
	ok = search_key(&s);
	while (ok) {
		search_skip_space(&s);
		if (*s.p == '\0')
			break;
		if (*s.p == ')') {
			search_fail(&s, "a closing parenthesis without its opening one", s.p, 1);
			ok = false;
			break;
		}
		ok = search_key(&s);
	}
	if (!ok) {
		if (s.near != NULL)
			g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
			            "the search criteria are not IMAP search keys: %s near \"%s\"",
			            s.error, s.near);
		else
			g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
			            "the search criteria are not IMAP search keys: %s", s.error);
	}
	g_free(s.near);
	return ok;
}
