/* SPDX-License-Identifier: MIT */
/* The progress display of a sync (a line per running folder worker and a totals line:
 * messages, bytes, rates, elapsed time, ETA, on the live view of live-view.c) and the
 * run's log file, whose warnings are printed above the view. */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <unistd.h>

#include "live-view.h"
#include "mh-file.h"
#include "mh-log.h"
#include "report.h"

struct mh_progress_display {
	struct mh_sync_progress *p; /* borrowed */
	struct mh_live_view *view;
};

/* "12.3 MB", for a progress line. */
static void
progress_mb(GString *out, gint64 bytes)
{
	g_string_append_printf(out, "%.1f", (double)bytes / 1e6);
}

/* The totals line: folders done, n/N messages copied (of M looked at when fewer are to be
 * copied), megabytes, rates, elapsed time and the ETA; without the rates when @columns is
 * too narrow for the whole. */
static char *
progress_totals(struct mh_progress_display *d, unsigned columns)
{
	struct mh_sync_progress *p = d->p;
	gint64 done = __atomic_load_n(&p->msgs_done, __ATOMIC_RELAXED);
	gint64 todo = __atomic_load_n(&p->msgs_copy, __ATOMIC_RELAXED);
	gint64 bytes = __atomic_load_n(&p->bytes_done, __ATOMIC_RELAXED);
	gint64 btodo = __atomic_load_n(&p->bytes_copy, __ATOMIC_RELAXED);
	bool bknown = g_atomic_int_get(&p->bytes_unknown) == 0;
	gint64 now = g_get_monotonic_time();
	double secs = MAX(0.001, (double)(now - p->copy_start) / G_USEC_PER_SEC);
	g_autofree char *elapsed = mh_live_duration(secs);
	g_autofree char *eta = NULL;
	g_autoptr(GString) head = g_string_new(NULL);
	g_autoptr(GString) full = NULL;

	g_string_printf(head, "folders %d/%d, ", g_atomic_int_get(&p->folders_done),
	                p->folders_total);
	todo = MAX(todo, done);
	if (bknown && bytes > 0 && btodo > bytes)
		eta = mh_live_duration((double)(btodo - bytes) * secs / (double)bytes);
	else if (done > 0 && todo > done)
		eta = mh_live_duration((double)(todo - done) * secs / (double)done);
	else if (todo <= done)
		eta = g_strdup("0s");
	g_string_append_printf(head, "%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " msgs", done, todo);
	if (todo < p->msgs_total)
		g_string_append_printf(head, " (of %" G_GINT64_FORMAT ")", p->msgs_total);
	g_string_append(head, ", ");
	progress_mb(head, bytes);
	g_string_append_c(head, '/');
	if (bknown)
		progress_mb(head, MAX(btodo, bytes));
	else
		g_string_append_c(head, '?');
	g_string_append(head, " MB");
	full = g_string_new(head->str);
	g_string_append_printf(full, ", %.0f msgs/s, %.1f MB/s, %s, ETA %s", (double)done / secs,
	                       (double)bytes / 1e6 / secs, elapsed, eta != NULL ? eta : "?");
	if (mh_term_width(full->str) <= columns)
		return g_string_free(g_steal_pointer(&full), false);
	g_string_append_printf(head, ", %s, ETA %s", elapsed, eta != NULL ? eta : "?");
	return g_string_free(g_steal_pointer(&head), false);
}

static void
progress_compose(void *ctx, enum mh_live_mode mode, unsigned columns, GPtrArray *lines)
{
	struct mh_progress_display *d = ctx;
	struct mh_sync_progress *p = d->p;

	if (!g_atomic_int_get(&p->totals_known)) {
		/* Nothing is known yet: no line of zeros. */
		if (mode == MH_LIVE_BAR)
			g_ptr_array_add(lines, g_strdup("connecting, listing the folders..."));
		return;
	}
	for (guint i = 0; mode == MH_LIVE_BAR && i < MH_SYNC_PROGRESS_SLOTS; i++) {
		const struct mh_sync_progress_slot *sl = &p->slots[i];
		const char *folder = __atomic_load_n(&sl->folder, __ATOMIC_ACQUIRE);
		gint64 done = __atomic_load_n(&sl->msgs_done, __ATOMIC_RELAXED);
		gint64 todo = __atomic_load_n(&sl->msgs_todo, __ATOMIC_RELAXED);

		if (folder == NULL)
			continue;
		if (todo < 0)
			g_ptr_array_add(lines, g_strdup_printf("  %s: listing", folder));
		else if (todo == 0)
			g_ptr_array_add(lines, g_strdup_printf("  %s: nothing to copy", folder));
		else
			g_ptr_array_add(lines, g_strdup_printf("  %s: %" G_GINT64_FORMAT
			                                       "/%" G_GINT64_FORMAT " msgs",
			                                       folder, done, MAX(done, todo)));
	}
	g_ptr_array_add(lines, progress_totals(d, columns));
}

struct mh_progress_display *
mh_progress_start(struct mh_sync_progress *p, enum mh_live_mode mode)
{
	struct mh_progress_display *d;

	if (mode == MH_LIVE_NONE)
		return NULL;
	d = g_new0(struct mh_progress_display, 1);
	d->p = p;
	d->view = mh_live_view_start(mode, progress_compose, d);
	return d;
}

void
mh_progress_stop(struct mh_progress_display *d)
{
	if (d == NULL)
		return;
	mh_live_view_stop(d->view);
	g_free(d);
}

/* --- the log file --- */

static FILE *log_file;

static void
log_file_sink(enum mh_log_level level, unsigned category, const char *msg, void *ctx)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autofree char *stamp = g_date_time_format(now, "%Y-%m-%d %H:%M:%S");

	FILE *route = mh_log_thread_route();
	FILE *f = route != NULL ? route : log_file;

	(void)category;
	(void)ctx;
	if (f != NULL) {
		fprintf(f, "%s.%03d %s: %s\n", stamp, g_date_time_get_microsecond(now) / 1000,
		        names[level], msg);
		fflush(f);
	}
	if (level != MH_LOG_INFO && route == NULL) {
		g_autofree char *line = g_strdup_printf(
			"mailhaul: %s%s%s", level == MH_LOG_DEBUG ? "" : names[level],
			level == MH_LOG_DEBUG ? "debug: " : ": ", msg);

		mh_live_print(line);
	}
}

char *
mh_log_file_open(const char *path, const char *command, GError **error)
{
	g_autofree char *chosen = NULL;
	int fd;

	if (path == NULL) {
		g_autoptr(GDateTime) now = g_date_time_new_now_local();
		g_autofree char *stamp = g_date_time_format(now, "%Y%m%d-%H%M%S");
		g_autofree char *name = g_strdup_printf("%s-%s-%d.log", stamp, command, getpid());

		chosen = g_build_filename(g_get_user_state_dir(), "mailhaul", "logs", name, NULL);
	} else {
		chosen = g_strdup(path);
	}
	fd = mh_file_open_append(chosen, 0600, error);
	if (fd < 0) {
		g_prefix_error(error, "the log file: ");
		return NULL;
	}
	log_file = fdopen(fd, "a");
	if (log_file == NULL) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
		            "cannot open the log file %s: %s", chosen, g_strerror(errno));
		close(fd);
		return NULL;
	}
	mh_log_set_sink(log_file_sink, NULL);
	return g_steal_pointer(&chosen);
}

void
mh_log_file_close(void)
{
	mh_log_set_sink(NULL, NULL);
	if (log_file != NULL)
		fclose(log_file);
	log_file = NULL;
}
