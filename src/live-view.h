/* SPDX-License-Identifier: MIT */
/* The live view on stderr that `sync` and `batch` share: on a terminal a few lines
 * redrawn in place, never wider than the terminal (measured with TIOCGWINSZ before every
 * drawing, so a resize is followed within a quarter second), with log messages printed
 * above them; elsewhere one plain line every few seconds. */
#ifndef MH_LIVE_VIEW_H
#define MH_LIVE_VIEW_H

#include <glib.h>
#include <stdbool.h>

enum mh_live_mode {
	MH_LIVE_NONE,  /* nothing shown (--quiet, --progress=none) */
	MH_LIVE_PLAIN, /* a line every few seconds (the default when stderr is not a terminal) */
	MH_LIVE_BAR,   /* redrawn in place (the default on a terminal) */
};

/* Fills @lines (char *, owned by the array) with what to show now: in bar mode every line
 * of the view (fitted to @columns by the view, with an ellipsis), in plain mode the lines to
 * print; none while there is nothing to say. Called from the view's thread, without any
 * lock of the view held. */
typedef void mh_live_compose_cb(void *ctx, enum mh_live_mode mode, unsigned columns,
                                GPtrArray *lines);

struct mh_live_view;

/* The mode --progress @spec asks for ("plain", "bar", "none"; "auto" or NULL: bar when
 * stderr is a terminal, else plain); @quiet means none. False with a usage error for
 * another word. */
bool mh_live_mode_parse(const char *spec, bool quiet, enum mh_live_mode *mode_r, GError **error);

/* Starts the view in @mode (a thread calling @compose). NULL for MH_LIVE_NONE. */
struct mh_live_view *mh_live_view_start(enum mh_live_mode mode, mh_live_compose_cb *compose,
                                        void *ctx);

/* Stops the view: a bar is erased (nothing of it stays on the screen). NULL allowed. */
void mh_live_view_stop(struct mh_live_view *v);

/* Prints @line (no line break) and a line break on stderr, above the running view if
 * there is one (the view is erased, the line printed, the view drawn again). */
void mh_live_print(const char *line);

/* The width of the terminal on @fd, or 0 when @fd is not a terminal. */
unsigned mh_term_columns(int fd);

/* Terminal columns taken by @s (UTF-8; wide characters take two). */
unsigned mh_term_width(const char *s);

/* Appends @s to @out cut to @width terminal columns, "..." marking a cut. */
void mh_live_fit(GString *out, const char *s, unsigned width);

/* Appends @text to @out with each line longer than @width columns broken at spaces (or
 * anywhere, for a word longer than the width), the continuations indented by two. */
void mh_term_wrap(GString *out, const char *text, unsigned width);

/* @seconds for a progress line: "42s", "3m07s", "2h05m". Caller frees. */
char *mh_live_duration(double seconds);

#endif
