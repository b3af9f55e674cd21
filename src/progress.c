/* SPDX-License-Identifier: MIT */
/* The progress display (messages, bytes, rates, ETA) and the run's log file. */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <unistd.h>

#include "mh-file.h"
#include "mh-log.h"
#include "report.h"

struct mh_progress_display {
	struct mh_sync_progress *p; /* borrowed */
	GThread *thread;
	GMutex lock;
	GCond cond;
	bool stop;
	bool tty;
	gint64 start;
};

static void
progress_print(struct mh_progress_display *d, bool final)
{
	gint64 done = __atomic_load_n(&d->p->msgs_done, __ATOMIC_RELAXED);
	gint64 total = __atomic_load_n(&d->p->msgs_total, __ATOMIC_RELAXED);
	gint64 bytes = __atomic_load_n(&d->p->bytes_done, __ATOMIC_RELAXED);
	gint64 btotal = __atomic_load_n(&d->p->bytes_total, __ATOMIC_RELAXED);
	double secs = MAX(0.001, (double)(g_get_monotonic_time() - d->start) / G_USEC_PER_SEC);
	double mbs = (double)bytes / 1e6 / secs;
	double rate = (double)done / secs;
	g_autofree char *eta = NULL;
	const char *current = final ? NULL : g_atomic_pointer_get(&d->p->current);

	if (bytes > 0 && btotal > bytes)
		eta = g_strdup_printf(", ETA %.0f s",
		                      (double)(btotal - bytes) / ((double)bytes / secs));
	fprintf(stderr,
	        "%s%s%sfolders %d/%d, messages %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
	        ", %.1f/%.1f MB, %.0f msgs/s, %.1f MB/s%s%s",
	        d->tty ? "\r\033[K" : "", current != NULL ? current : "",
	        current != NULL ? ": " : "", g_atomic_int_get(&d->p->folders_done),
	        g_atomic_int_get(&d->p->folders_total), done, total, (double)bytes / 1e6,
	        (double)btotal / 1e6, rate, mbs, eta != NULL ? eta : "",
	        d->tty && !final ? "" : "\n");
	fflush(stderr);
}

static gpointer
progress_thread(gpointer data)
{
	struct mh_progress_display *d = data;
	gint64 every = d->tty ? G_USEC_PER_SEC / 4 : 10 * G_USEC_PER_SEC;

	g_mutex_lock(&d->lock);
	while (!d->stop) {
		gint64 until = g_get_monotonic_time() + every;

		while (!d->stop && g_cond_wait_until(&d->cond, &d->lock, until))
			;
		if (!d->stop)
			progress_print(d, false);
	}
	g_mutex_unlock(&d->lock);
	return NULL;
}

struct mh_progress_display *
mh_progress_start(struct mh_sync_progress *p, bool quiet)
{
	struct mh_progress_display *d;

	if (quiet)
		return NULL;
	d = g_new0(struct mh_progress_display, 1);
	d->p = p;
	d->tty = isatty(STDERR_FILENO);
	d->start = g_get_monotonic_time();
	g_mutex_init(&d->lock);
	g_cond_init(&d->cond);
	d->thread = g_thread_new("mh-progress", progress_thread, d);
	return d;
}

void
mh_progress_stop(struct mh_progress_display *d)
{
	if (d == NULL)
		return;
	g_mutex_lock(&d->lock);
	d->stop = true;
	g_cond_signal(&d->cond);
	g_mutex_unlock(&d->lock);
	g_thread_join(d->thread);
	progress_print(d, true);
	g_mutex_clear(&d->lock);
	g_cond_clear(&d->cond);
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
	if (level != MH_LOG_INFO && route == NULL)
		fprintf(stderr, "mailhaul: %s%s%s\n", level == MH_LOG_DEBUG ? "" : names[level],
		        level == MH_LOG_DEBUG ? "debug: " : ": ", msg);
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
