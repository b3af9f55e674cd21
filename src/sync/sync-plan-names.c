/* SPDX-License-Identifier: MIT */
/* Naming rules of the folder plan: special-use roles (RFC 6154) from attributes or from
 * well-known and localized folder names, and imapsync's --regextrans2 Perl substitutions
 * "s/OLD/NEW/gi" turned into GRegex patterns and replacements. */
#include "sync-plan.h"

#include "sync-error.h"

#include <string.h>

struct mh_plan_regextrans {
	char *spec;        /* owned; as the user wrote it, for messages */
	GRegex *regex;     /* owned */
	char *replacement; /* owned; GRegex replacement syntax */
	bool global;       /* flag g */
};

struct plan_wellknown {
	unsigned role;
	const char *name; /* casefolded, NFC */
};

/* Order matters only for readability; every name is unique. */
static const struct plan_wellknown plan_wellknown_names[] = {
	{MH_IMAP_ATTR_SENT, "sent"},
	{MH_IMAP_ATTR_SENT, "sent items"},
	{MH_IMAP_ATTR_SENT, "sent messages"},
	{MH_IMAP_ATTR_SENT, "sent mail"},
	{MH_IMAP_ATTR_SENT, "gesendet"},
	{MH_IMAP_ATTR_SENT, "gesendete elemente"},
	{MH_IMAP_ATTR_SENT, "éléments envoyés"},
	{MH_IMAP_ATTR_SENT, "envoyés"},
	{MH_IMAP_ATTR_SENT, "elementos enviados"},
	{MH_IMAP_ATTR_SENT, "enviados"},
	{MH_IMAP_ATTR_SENT, "posta inviata"},
	{MH_IMAP_ATTR_SENT, "verzonden items"},
	{MH_IMAP_ATTR_SENT, "itens enviados"},
	{MH_IMAP_ATTR_DRAFTS, "drafts"},
	{MH_IMAP_ATTR_DRAFTS, "draft"},
	{MH_IMAP_ATTR_DRAFTS, "entwürfe"},
	{MH_IMAP_ATTR_DRAFTS, "brouillons"},
	{MH_IMAP_ATTR_DRAFTS, "borradores"},
	{MH_IMAP_ATTR_DRAFTS, "bozze"},
	{MH_IMAP_ATTR_DRAFTS, "concepten"},
	{MH_IMAP_ATTR_DRAFTS, "rascunhos"},
	{MH_IMAP_ATTR_TRASH, "trash"},
	{MH_IMAP_ATTR_TRASH, "deleted items"},
	{MH_IMAP_ATTR_TRASH, "deleted messages"},
	{MH_IMAP_ATTR_TRASH, "bin"},
	{MH_IMAP_ATTR_TRASH, "papierkorb"},
	{MH_IMAP_ATTR_TRASH, "gelöschte elemente"},
	{MH_IMAP_ATTR_TRASH, "corbeille"},
	{MH_IMAP_ATTR_TRASH, "éléments supprimés"},
	{MH_IMAP_ATTR_TRASH, "papelera"},
	{MH_IMAP_ATTR_TRASH, "elementos eliminados"},
	{MH_IMAP_ATTR_TRASH, "cestino"},
	{MH_IMAP_ATTR_TRASH, "posta eliminata"},
	{MH_IMAP_ATTR_TRASH, "prullenbak"},
	{MH_IMAP_ATTR_TRASH, "verwijderde items"},
	{MH_IMAP_ATTR_TRASH, "lixeira"},
	{MH_IMAP_ATTR_TRASH, "itens excluídos"},
	{MH_IMAP_ATTR_JUNK, "junk"},
	{MH_IMAP_ATTR_JUNK, "junk email"},
	{MH_IMAP_ATTR_JUNK, "junk e-mail"},
	{MH_IMAP_ATTR_JUNK, "spam"},
	{MH_IMAP_ATTR_JUNK, "bulk mail"},
	{MH_IMAP_ATTR_JUNK, "junk-e-mail"},
	{MH_IMAP_ATTR_JUNK, "courrier indésirable"},
	{MH_IMAP_ATTR_JUNK, "correo no deseado"},
	{MH_IMAP_ATTR_JUNK, "posta indesiderata"},
	{MH_IMAP_ATTR_JUNK, "ongewenste e-mail"},
	{MH_IMAP_ATTR_JUNK, "lixo eletrônico"},
	{MH_IMAP_ATTR_ARCHIVE, "archive"},
	{MH_IMAP_ATTR_ARCHIVE, "archives"},
	{MH_IMAP_ATTR_ARCHIVE, "archiv"},
};

/* The roles automap knows, in the order a folder with several attributes is classified. */
static const struct {
	unsigned role;
	const char *str;
} plan_roles[] = {
	{MH_IMAP_ATTR_SENT, "\\Sent"},       {MH_IMAP_ATTR_DRAFTS, "\\Drafts"},
	{MH_IMAP_ATTR_TRASH, "\\Trash"},     {MH_IMAP_ATTR_JUNK, "\\Junk"},
	{MH_IMAP_ATTR_ARCHIVE, "\\Archive"}, {MH_IMAP_ATTR_ALL, "\\All"},
	{MH_IMAP_ATTR_FLAGGED, "\\Flagged"}, {MH_IMAP_ATTR_IMPORTANT, "\\Important"},
};

unsigned
mh_plan_special_use_of_attrs(unsigned attrs)
{
	for (size_t i = 0; i < G_N_ELEMENTS(plan_roles); i++) {
		if (attrs & plan_roles[i].role)
			return plan_roles[i].role;
	}
	return 0;
}

const char *
mh_plan_special_use_str(unsigned role)
{
	for (size_t i = 0; i < G_N_ELEMENTS(plan_roles); i++) {
		if (role == plan_roles[i].role)
			return plan_roles[i].str;
	}
	return "";
}

unsigned
mh_plan_special_use_by_name(const char *name, char sep)
{
	return mh_plan_special_use_by_name_ranked(name, sep, NULL);
}

unsigned
mh_plan_special_use_by_name_ranked(const char *name, char sep, int *rank_r)
{
	g_autofree char *folded = NULL;
	g_autofree char *norm = NULL;

	g_return_val_if_fail(name != NULL, 0);
	if (sep != '\0' && g_ascii_strncasecmp(name, "INBOX", 5) == 0 && name[5] == sep)
		name += 6;
	if (!g_utf8_validate(name, -1, NULL))
		return 0;
	/* Casefold first, then compose, so that decomposed input (macOS) matches too. */
	folded = g_utf8_casefold(name, -1);
	norm = g_utf8_normalize(folded, -1, G_NORMALIZE_DEFAULT_COMPOSE);
	if (norm == NULL)
		return 0;
	for (size_t i = 0; i < G_N_ELEMENTS(plan_wellknown_names); i++) {
		if (strcmp(norm, plan_wellknown_names[i].name) == 0) {
			if (rank_r != NULL)
				*rank_r = (int)i;
			return plan_wellknown_names[i].role;
		}
	}
	return 0;
}

/* --- --regextrans2 --- */

/* Sets the usage error for @spec and returns false. */
static bool plan_rt_fail(GError **error, const char *spec, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

static bool
plan_rt_fail(GError **error, const char *spec, const char *fmt, ...)
{
	g_autofree char *why = NULL;
	va_list ap;

	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_USAGE, "bad --regextrans2 '%s': %s", spec,
	            why);
	return false;
}

static char
plan_rt_closing(char open)
{
	switch (open) {
	case '{':
		return '}';
	case '(':
		return ')';
	case '[':
		return ']';
	case '<':
		return '>';
	default:
		return open;
	}
}

/* Reads one delimited part starting just after its opening delimiter @open; *pp ends just
 * after the closing one. Perl's rules: for a plain delimiter, "\" before it is removed;
 * bracket pairs nest and keep their backslashes. Returns false when unterminated. */
static bool
plan_rt_read_part(const char **pp, char open, GString *out)
{
	char close = plan_rt_closing(open);
	const char *p = *pp;
	unsigned depth = 0;

	for (; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			if (open == close && p[1] == close) {
				g_string_append_c(out, close);
			} else {
				g_string_append_c(out, '\\');
				g_string_append_c(out, p[1]);
			}
			p++;
			continue;
		}
		if (open != close && *p == open) {
			depth++;
		} else if (*p == close) {
			if (depth == 0) {
				*pp = p + 1;
				return true;
			}
			depth--;
		}
		g_string_append_c(out, *p);
	}
	return false;
}

/* Reads a group number of at most two digits at *pp (GRegex knows \0 to \99). */
static int
plan_rt_group(const char **pp)
{
	int n = 0;

	for (int i = 0; i < 2 && g_ascii_isdigit(**pp); i++, (*pp)++)
		n = n * 10 + (**pp - '0');
	return n;
}

/* Appends the GRegex form of the Perl escape "\@c" in a replacement. */
static void
plan_rt_escape(char c, GString *out)
{
	switch (c) {
	case 'u':
	case 'l':
	case 'U':
	case 'L':
	case 'E':
	case '\\':
		g_string_append_c(out, '\\');
		g_string_append_c(out, c);
		break;
	case 't':
		g_string_append_c(out, '\t');
		break;
	case 'n':
		g_string_append_c(out, '\n');
		break;
	case 'r':
		g_string_append_c(out, '\r');
		break;
	default:
		/* Perl drops the backslash of an escape with no meaning ("\." is "."). */
		g_string_append_c(out, c);
		break;
	}
}

/* Turns a Perl replacement (a double-quoted string) into GRegex syntax; *max_ref_r gets
 * the highest group referenced. */
static void
plan_rt_replacement(const char *in, GString *out, int *max_ref_r)
{
	const char *p = in;
	int ref;

	*max_ref_r = 0;
	while (*p != '\0') {
		ref = -1;
		if (p[0] == '$' && g_ascii_isdigit(p[1])) {
			p++;
			ref = plan_rt_group(&p);
		} else if (p[0] == '$' && p[1] == '{' && g_ascii_isdigit(p[2])) {
			const char *q = p + 2;

			ref = plan_rt_group(&q);
			if (*q != '}') {
				ref = -1;
			} else {
				p = q + 1;
			}
		} else if (p[0] == '$' && p[1] == '&') {
			ref = 0;
			p += 2;
		} else if (p[0] == '\\' && g_ascii_isdigit(p[1])) {
			p++;
			ref = plan_rt_group(&p);
		}
		if (ref >= 0) {
			g_string_append_printf(out, "\\g<%d>", ref);
			*max_ref_r = MAX(*max_ref_r, ref);
			continue;
		}
		if (p[0] == '\\' && p[1] != '\0') {
			plan_rt_escape(p[1], out);
			p += 2;
			continue;
		}
		if (p[0] == '\\')
			g_string_append_c(out, '\\');
		g_string_append_c(out, *p++);
	}
}

static bool
plan_rt_flags(struct mh_plan_regextrans *rt, const char *flags, GRegexCompileFlags *cflags_r,
              GError **error)
{
	*cflags_r = 0;
	for (const char *f = flags; *f != '\0'; f++) {
		if (g_ascii_isspace(*f))
			continue;
		if (*f == 'g') {
			rt->global = true;
		} else if (*f == 'i') {
			*cflags_r |= G_REGEX_CASELESS;
		} else {
			return plan_rt_fail(error, rt->spec, "unknown flag '%c' (only g and i)",
			                    *f);
		}
	}
	return true;
}

/* Splits @spec into pattern and Perl replacement; *rest_r points at the flags. */
static bool
plan_rt_split(const char *spec, GString *pattern, GString *repl, const char **rest_r,
              GError **error)
{
	const char *p = spec;
	char open;

	while (g_ascii_isspace(*p))
		p++;
	if (*p != 's' || p[1] == '\0' || g_ascii_isalnum(p[1]) || g_ascii_isspace(p[1]) ||
	    p[1] == '\\')
		return plan_rt_fail(error, spec, "expected s/OLD/NEW/ with flags g or i");
	open = p[1];
	p += 2;
	if (!plan_rt_read_part(&p, open, pattern))
		return plan_rt_fail(error, spec, "missing closing '%c'", plan_rt_closing(open));
	if (open != plan_rt_closing(open)) {
		while (g_ascii_isspace(*p))
			p++;
		if (*p == '\0' || g_ascii_isalnum(*p) || *p == '\\')
			return plan_rt_fail(error, spec, "missing NEW part");
		open = *p++;
	}
	if (!plan_rt_read_part(&p, open, repl))
		return plan_rt_fail(error, spec, "missing closing '%c'", plan_rt_closing(open));
	*rest_r = p;
	return true;
}

/* Compiles the parts split from @rt->spec into @rt. */
static bool
plan_rt_compile(struct mh_plan_regextrans *rt, const char *pattern, const char *perl_repl,
                GRegexCompileFlags cflags, GError **error)
{
	g_autoptr(GString) repl = g_string_new(NULL);
	g_autoptr(GError) local = NULL;
	int max_ref, groups;

	if (pattern[0] == '\0')
		return plan_rt_fail(error, rt->spec, "empty OLD pattern");
	rt->regex = g_regex_new(pattern, cflags, 0, &local);
	if (rt->regex == NULL)
		return plan_rt_fail(error, rt->spec, "%s", local->message);
	plan_rt_replacement(perl_repl, repl, &max_ref);
	groups = g_regex_get_capture_count(rt->regex);
	if (max_ref > groups)
		return plan_rt_fail(error, rt->spec, "NEW refers to group %d but OLD has %d",
		                    max_ref, groups);
	if (!g_regex_check_replacement(repl->str, NULL, &local))
		return plan_rt_fail(error, rt->spec, "%s", local->message);
	rt->replacement = g_string_free(g_steal_pointer(&repl), false);
	return true;
}

struct mh_plan_regextrans *
mh_plan_regextrans_parse(const char *spec, GError **error)
{
	g_autoptr(mh_plan_regextrans) rt = NULL;
	g_autoptr(GString) pattern = g_string_new(NULL);
	g_autoptr(GString) perl_repl = g_string_new(NULL);
	GRegexCompileFlags cflags;
	const char *flags = "";

	g_return_val_if_fail(spec != NULL, NULL);
	rt = g_new0(struct mh_plan_regextrans, 1);
	rt->spec = g_strdup(spec);
	if (!plan_rt_split(spec, pattern, perl_repl, &flags, error) ||
	    !plan_rt_flags(rt, flags, &cflags, error) ||
	    !plan_rt_compile(rt, pattern->str, perl_repl->str, cflags, error))
		return NULL;
	return g_steal_pointer(&rt);
}

void
mh_plan_regextrans_free(struct mh_plan_regextrans *rt)
{
	if (rt == NULL)
		return;
	g_clear_pointer(&rt->regex, g_regex_unref);
	g_free(rt->replacement);
	g_free(rt->spec);
	g_free(rt);
}

char *
mh_plan_regextrans_apply(const struct mh_plan_regextrans *rt, const char *name, GError **error)
{
	g_autoptr(GMatchInfo) mi = NULL;
	g_autoptr(GError) local = NULL;
	g_autofree char *expanded = NULL;
	char *out = NULL;
	int start, end;

	g_return_val_if_fail(rt != NULL && name != NULL, NULL);
	if (rt->global) {
		out = g_regex_replace(rt->regex, name, -1, 0, rt->replacement, 0, &local);
	} else if (!g_regex_match_full(rt->regex, name, -1, 0, 0, &mi, &local)) {
		if (local == NULL)
			return g_strdup(name);
	} else {
		expanded = g_match_info_expand_references(mi, rt->replacement, &local);
		if (expanded != NULL && g_match_info_fetch_pos(mi, 0, &start, &end))
			out = g_strdup_printf("%.*s%s%s", start, name, expanded, name + end);
	}
	if (out == NULL)
		g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_USAGE,
		            "--regextrans2 '%s' on '%s': %s", rt->spec, name,
		            local != NULL ? local->message : "no match position");
	return out;
}
