/* SPDX-License-Identifier: MIT */
/* Which existing folder names a user probably meant when a --folder or --include names
 * none: the names equal ignoring case first, else the names within a small edit distance
 * (Levenshtein, on case-folded characters), of the whole name or of its last level. */
#include "sync-plan.h"

#include <string.h>

/* Names longer than this are never suggested: the distance table stays small. */
#define SUGGEST_MAX_CHARS 256

struct suggest_candidate {
	const char *name; /* borrowed */
	guint distance;
	guint order;
};

/* Levenshtein distance between two UCS-4 strings. */
static guint
suggest_distance(const gunichar *a, glong na, const gunichar *b, glong nb)
{
	g_autofree guint *row = g_new(guint, nb + 1);

	for (glong j = 0; j <= nb; j++)
		row[j] = (guint)j;
	for (glong i = 1; i <= na; i++) {
		guint diag = row[0];

		row[0] = (guint)i;
		for (glong j = 1; j <= nb; j++) {
			guint up = row[j];
			guint best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);

			best = MIN(best, up + 1);
			best = MIN(best, row[j - 1] + 1);
			diag = up;
			row[j] = best;
		}
	}
	return row[nb];
}

/* Case-folded UCS-4 form of @s; NULL when it is not UTF-8 or too long. */
static gunichar *
suggest_fold(const char *s, glong *len_r)
{
	g_autofree char *folded = NULL;

	if (!g_utf8_validate(s, -1, NULL) || g_utf8_strlen(s, -1) > SUGGEST_MAX_CHARS)
		return NULL;
	folded = g_utf8_casefold(s, -1);
	return g_utf8_to_ucs4_fast(folded, -1, len_r);
}

unsigned
mh_plan_name_distance(const char *a, const char *b)
{
	glong na = 0, nb = 0;
	g_autofree gunichar *ua = suggest_fold(a, &na);
	g_autofree gunichar *ub = suggest_fold(b, &nb);

	if (ua == NULL || ub == NULL)
		return G_MAXUINT;
	return suggest_distance(ua, na, ub, nb);
}

/* The distance of @name from @want: of the whole name, or, when @want is one level, of
 * the name's last level plus one (so "Projects" finds "Work/Projects"). */
static guint
suggest_score(const char *want, const char *name, char sep)
{
	guint whole = mh_plan_name_distance(want, name);
	const char *leaf = sep != '\0' ? strrchr(name, sep) : NULL;

	if (leaf == NULL || strchr(want, sep) != NULL)
		return whole;
	return MIN(whole, mh_plan_name_distance(want, leaf + 1) + 1);
}

static int
suggest_cmp(gconstpointer pa, gconstpointer pb)
{
	const struct suggest_candidate *a = pa, *b = pb;

	if (a->distance != b->distance)
		return a->distance < b->distance ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

GPtrArray *
mh_plan_closest_names(const char *want, const GPtrArray *names, char sep, guint max)
{
	g_autoptr(GArray) cands = g_array_new(false, false, sizeof(struct suggest_candidate));
	GPtrArray *out = g_ptr_array_new();
	glong want_len = g_utf8_validate(want, -1, NULL) ? g_utf8_strlen(want, -1) : 0;
	guint limit = MAX(2, (guint)want_len / 3);
	bool exact_case = false;

	for (guint i = 0; i < names->len; i++) {
		const char *name = g_ptr_array_index(names, i);
		struct suggest_candidate c = {name, suggest_score(want, name, sep), i};

		if (c.distance == 0)
			exact_case = true;
		if (c.distance <= limit)
			g_array_append_val(cands, c);
	}
	g_array_sort(cands, suggest_cmp);
	for (guint i = 0; i < cands->len && out->len < max; i++) {
		const struct suggest_candidate *c =
			&g_array_index(cands, struct suggest_candidate, i);

		/* Names equal ignoring case are the answer when there are any. */
		if (exact_case && c->distance > 0)
			break;
		g_ptr_array_add(out, (char *)c->name);
	}
	return out;
}
