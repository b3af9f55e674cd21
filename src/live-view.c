/* SPDX-License-Identifier: MIT */
/* The live view that `sync` (progress.c) and `batch` (batch-view.c) draw on stderr: a
 * thread composes the lines, fits them to the terminal (TIOCGWINSZ, read before every
 * drawing) and redraws them in place (cursor up, clear to the end of the screen); log
 * messages go above it through mh_live_print(); elsewhere one plain line every few
 * seconds. */
#include "live-view.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

#define LIVE_BAR_EVERY_US   (G_USEC_PER_SEC / 4)
#define LIVE_PLAIN_EVERY_US (5 * G_USEC_PER_SEC)
#define LIVE_COLUMNS        80 /* when the terminal does not say */

struct mh_live_view {
	enum mh_live_mode mode;
	mh_live_compose_cb *compose;
	void *ctx;
	GThread *thread;
	GMutex wake_lock;
	GCond wake;
	bool stop;
	/* Under live_lock: */
	GPtrArray *frame; /* owned; char *: the lines on the screen now, as fitted */
	unsigned columns; /* the terminal's width */
	unsigned rows;    /* and height */
};

static GMutex live_lock;                  /* stderr, while a view is on it */
static struct mh_live_view *live_current; /* under live_lock */

bool
mh_live_mode_parse(const char *spec, bool quiet, enum mh_live_mode *mode_r, GError **error)
{
	if (spec == NULL || strcmp(spec, "auto") == 0)
		*mode_r = isatty(STDERR_FILENO) ? MH_LIVE_BAR : MH_LIVE_PLAIN;
	else if (strcmp(spec, "bar") == 0)
		*mode_r = MH_LIVE_BAR;
	else if (strcmp(spec, "plain") == 0)
		*mode_r = MH_LIVE_PLAIN;
	else if (strcmp(spec, "none") == 0)
		*mode_r = MH_LIVE_NONE;
	else {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
		            "--progress '%s': say auto, bar, plain or none", spec);
		return false;
	}
	if (quiet)
		*mode_r = MH_LIVE_NONE;
	return true;
}

unsigned
mh_term_columns(int fd)
{
	struct winsize ws;

	if (!isatty(fd) || ioctl(fd, TIOCGWINSZ, &ws) != 0)
		return 0;
	return ws.ws_col > 0 ? ws.ws_col : LIVE_COLUMNS;
}

unsigned
mh_term_width(const char *s)
{
	unsigned w = 0;

	for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p))
		w += g_unichar_iswide(g_utf8_get_char(p)) ? 2 : 1;
	return w;
}

void
mh_live_fit(GString *out, const char *s, unsigned width)
{
	unsigned used = 0;
	const char *p = s;

	if (mh_term_width(s) <= width) {
		g_string_append(out, s);
		return;
	}
	if (width < 3) {
		g_string_append_len(out, "...", width);
		return;
	}
	for (; *p != '\0'; p = g_utf8_next_char(p)) {
		unsigned cw = g_unichar_iswide(g_utf8_get_char(p)) ? 2 : 1;

		if (used + cw > width - 3)
			break;
		used += cw;
	}
	g_string_append_len(out, s, p - s);
	g_string_append(out, "...");
}

/* Appends one line of text (@len bytes, no line break) wrapped to @width. */
static void
live_wrap_line(GString *out, const char *line, gsize len, unsigned width)
{
	g_autofree char *copy = g_strndup(line, len);
	const char *p = copy;
	unsigned indent = 0;

	while (mh_term_width(p) + indent > width) {
		const char *cut = NULL, *q = p;
		unsigned used = indent;

		/* The last space that keeps the part within the width. */
		for (; *q != '\0'; q = g_utf8_next_char(q)) {
			unsigned cw = g_unichar_iswide(g_utf8_get_char(q)) ? 2 : 1;

			if (used + cw > width)
				break;
			if (*q == ' ' && q > p)
				cut = q;
			used += cw;
		}
		if (cut == NULL)
			cut = q > p ? q : g_utf8_next_char(p);
		g_string_append_printf(out, "%*s", (int)indent, "");
		g_string_append_len(out, p, cut - p);
		g_string_append_c(out, '\n');
		p = cut;
		while (*p == ' ')
			p++;
		indent = width > 2 ? 2 : 0;
	}
	if (*p != '\0' || indent == 0) {
		g_string_append_printf(out, "%*s", (int)indent, "");
		g_string_append(out, p);
		g_string_append_c(out, '\n');
	}
}

void
mh_term_wrap(GString *out, const char *text, unsigned width)
{
	const char *p = text;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		gsize len = nl != NULL ? (gsize)(nl - p) : strlen(p);

		live_wrap_line(out, p, len, MAX(width, 4u));
		if (nl == NULL) {
			/* The text did not end with a line break: neither does its wrapping. */
			g_string_truncate(out, out->len - 1);
			break;
		}
		p = nl + 1;
	}
}

char *
mh_live_duration(double seconds)
{
	guint64 s = seconds > 0 ? (guint64)(seconds + 0.5) : 0;

	if (s < 60)
		return g_strdup_printf("%" G_GUINT64_FORMAT "s", s);
	if (s < 3600)
		return g_strdup_printf("%" G_GUINT64_FORMAT "m%02" G_GUINT64_FORMAT "s", s / 60,
		                       s % 60);
	return g_strdup_printf("%" G_GUINT64_FORMAT "h%02" G_GUINT64_FORMAT "m", s / 3600,
	                       s / 60 % 60);
}

/* Measures the terminal, before every drawing and erasing: a resize (SIGWINCH) is seen at
 * the next one, and the terminal has rewrapped what is on the screen by the time its size
 * reads new, where a flag set by a signal handler could still be on its way. Under
 * live_lock. */
static void
live_measure(struct mh_live_view *v)
{
	struct winsize ws;

	v->columns = LIVE_COLUMNS;
	v->rows = 24;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0) {
		if (ws.ws_col > 0)
			v->columns = ws.ws_col;
		if (ws.ws_row > 0)
			v->rows = ws.ws_row;
	}
}

/* Moves the cursor back to the first line of the frame and clears from there. A frame
 * drawn for a wider terminal may have been rewrapped by a narrower one (terminals that
 * reflow: tmux, VTE, kitty): each of its lines then takes several rows. A terminal that
 * rewraps before it reports its new size (tmux delays the report) can still leave one
 * line of a frame drawn in between behind. Under live_lock. */
static void
live_erase(struct mh_live_view *v, GString *out)
{
	unsigned rows = 0;

	for (guint i = 0; i < v->frame->len; i++) {
		unsigned w = mh_term_width(v->frame->pdata[i]);

		rows += w <= v->columns ? 1 : (w + v->columns - 1) / v->columns;
	}
	if (rows > 0)
		g_string_append_printf(out, "\r\033[%uA\033[J", rows);
}

/* Draws @lines (NULL: the frame on the screen before, fitted again) under the cursor,
 * each at most columns - 1 wide (a full-width line would leave the cursor in the last
 * column, where terminals differ), and no more lines than the terminal has rows. Under
 * live_lock. */
static void
live_draw(struct mh_live_view *v, GString *out, GPtrArray *lines)
{
	g_autoptr(GPtrArray) keep = lines != NULL ? g_ptr_array_ref(lines) : v->frame;
	guint max = MAX(1u, v->rows - 1);
	guint n = keep->len;

	if (lines == NULL)
		v->frame = g_ptr_array_new_with_free_func(g_free);
	else
		g_ptr_array_set_size(v->frame, 0);
	for (guint i = 0; i < n; i++) {
		g_autoptr(GString) line = g_string_new(NULL);
		const char *text = keep->pdata[i];
		g_autofree char *more = NULL;

		/* Too many lines: the last ones (the totals) stay, the first are counted. */
		if (n > max && i < n - max)
			continue;
		if (n > max && i == n - max) {
			more = g_strdup_printf("  ... and %u more", n - max + 1);
			text = more;
		}
		mh_live_fit(line, text, v->columns > 1 ? v->columns - 1 : 1);
		g_string_append_len(out, line->str, line->len);
		g_string_append_c(out, '\n');
		g_ptr_array_add(v->frame, g_string_free(g_steal_pointer(&line), false));
	}
}

static void
live_write(GString *out)
{
	if (out->len == 0)
		return;
	fwrite(out->str, 1, out->len, stderr);
	fflush(stderr);
}

static void
live_tick(struct mh_live_view *v)
{
	g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) out = g_string_new(NULL);
	unsigned columns;

	g_mutex_lock(&live_lock);
	live_measure(v);
	columns = v->columns;
	g_mutex_unlock(&live_lock);
	v->compose(v->ctx, v->mode, columns > 1 ? columns - 1 : 1, lines);
	g_mutex_lock(&live_lock);
	if (v->mode == MH_LIVE_BAR) {
		live_measure(v);
		live_erase(v, out);
		live_draw(v, out, lines);
	} else {
		for (guint i = 0; i < lines->len; i++)
			g_string_append_printf(out, "mailhaul: %s\n", (char *)lines->pdata[i]);
	}
	live_write(out);
	g_mutex_unlock(&live_lock);
}

static gpointer
live_thread(gpointer data)
{
	struct mh_live_view *v = data;
	gint64 every = v->mode == MH_LIVE_BAR ? LIVE_BAR_EVERY_US : LIVE_PLAIN_EVERY_US;

	g_mutex_lock(&v->wake_lock);
	while (!v->stop) {
		gint64 until = g_get_monotonic_time() + every;

		while (!v->stop && g_cond_wait_until(&v->wake, &v->wake_lock, until))
			;
		if (v->stop)
			break;
		g_mutex_unlock(&v->wake_lock);
		live_tick(v);
		g_mutex_lock(&v->wake_lock);
	}
	g_mutex_unlock(&v->wake_lock);
	return NULL;
}

struct mh_live_view *
mh_live_view_start(enum mh_live_mode mode, mh_live_compose_cb *compose, void *ctx)
{
	struct mh_live_view *v;

	if (mode == MH_LIVE_NONE)
		return NULL;
	v = g_new0(struct mh_live_view, 1);
	v->mode = mode;
	v->compose = compose;
	v->ctx = ctx;
	v->frame = g_ptr_array_new_with_free_func(g_free);
	g_mutex_init(&v->wake_lock);
	g_cond_init(&v->wake);
	g_mutex_lock(&live_lock);
	live_current = v;
	g_mutex_unlock(&live_lock);
	v->thread = g_thread_new("mh-live-view", live_thread, v);
	return v;
}

void
mh_live_view_stop(struct mh_live_view *v)
{
	g_autoptr(GString) out = g_string_new(NULL);

	if (v == NULL)
		return;
	g_mutex_lock(&v->wake_lock);
	v->stop = true;
	g_cond_signal(&v->wake);
	g_mutex_unlock(&v->wake_lock);
	g_thread_join(v->thread);
	g_mutex_lock(&live_lock);
	if (v->mode == MH_LIVE_BAR) {
		live_measure(v);
		live_erase(v, out);
		g_ptr_array_set_size(v->frame, 0);
		live_write(out);
	}
	live_current = NULL;
	g_mutex_unlock(&live_lock);
	g_ptr_array_unref(v->frame);
	g_mutex_clear(&v->wake_lock);
	g_cond_clear(&v->wake);
	g_free(v);
}

void
mh_live_print(const char *line)
{
	g_autoptr(GString) out = g_string_new(NULL);
	struct mh_live_view *v;

	g_mutex_lock(&live_lock);
	v = live_current;
	if (v != NULL && v->mode == MH_LIVE_BAR) {
		live_measure(v);
		live_erase(v, out);
	}
	g_string_append(out, line);
	g_string_append_c(out, '\n');
	if (v != NULL && v->mode == MH_LIVE_BAR)
		live_draw(v, out, NULL);
	live_write(out);
	g_mutex_unlock(&live_lock);
}
