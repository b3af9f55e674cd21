/* SPDX-License-Identifier: MIT */
/* The verification table's narrow layout, for a terminal narrower than the wide table: each
 * folder on a line of its own (cut with an ellipsis when longer than the terminal), then its
 * counts as "Heading value" pairs ("Src 800 msgs 218.1 kB" for a side), wrapped to the
 * width. */
#include <string.h>

#include "live-view.h"
#include "report.h"

/* Appends @item to @line, or prints @line and starts a new one when it would not fit. */
static void
narrow_add(FILE *out, GString *line, const char *item, unsigned width)
{
	if (line->len > 2 && mh_term_width(line->str) + 2 + mh_term_width(item) > width) {
		fprintf(out, "%s\n", line->str);
		g_string_assign(line, "  ");
	} else if (line->len > 2) {
		g_string_append(line, "  ");
	}
	g_string_append(line, item);
}

/* Whether headings @a and @b are one side's messages and size ("Src msgs", "Src size"). */
static bool
narrow_side(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n > 5 && g_str_has_suffix(a, " msgs") && g_str_has_suffix(b, " size") &&
	       strlen(b) == n && strncmp(a, b, n - 5) == 0;
}

void
mh_report_print_narrow(FILE *out, GPtrArray *rows, int ncols, unsigned width)
{
	char **head = rows->pdata[0];

	for (guint r = 1; r < rows->len; r++) {
		char **cells = rows->pdata[r];
		g_autoptr(GString) name = g_string_new(NULL);
		g_autoptr(GString) line = g_string_new("  ");

		mh_live_fit(name, cells[0], width);
		fprintf(out, "%s\n", name->str);
		for (int c = 1; c < ncols; c++) {
			g_autofree char *item = NULL;

			if (*head[c] == '\0' || *cells[c] == '\0')
				continue;
			if (c + 1 < ncols && narrow_side(head[c], head[c + 1])) {
				/* "Src msgs" and "Src size": "Src 800 msgs 218.1 kB". */
				item = g_strdup_printf("%.*s %s msgs%s%s",
				                       (int)(strlen(head[c]) - strlen(" msgs")),
				                       head[c], cells[c], *cells[c + 1] ? " " : "",
				                       cells[c + 1]);
				c++;
			} else if (g_ascii_isdigit(*cells[c])) {
				item = g_strdup_printf("%s %s", head[c], cells[c]);
			} else {
				/* A word instead of a count ("unchanged", "not reached") says it.
				 */
				item = g_strdup(cells[c]);
			}
			narrow_add(out, line, item, width);
		}
		if (line->len > 2)
			fprintf(out, "%s\n", line->str);
	}
}
