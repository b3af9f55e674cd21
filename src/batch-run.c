/* SPDX-License-Identifier: MIT */
/* The batch scheduler: --jobs threads take the rows in file order, each row when its
 * servers have room under --max-connections-per-host and no running row writes into its
 * destination account; a row runs the `sync` engine (sync-job.h) with its own log file,
 * progress counters and the batch's stop flag, under the pair lock a single `sync` takes.
 * The summary is written as rows end and at the end. See docs/internals/batch.md. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "cli.h"
#include "mh-file.h"
#include "mh-log.h"
#include "mh-secret.h"
#include "sync-job.h"
#include "sync-lock.h"

#define SCHED_POLL_US    (G_USEC_PER_SEC / 5) /* how often an idle worker looks again */
#define SCHED_SUMMARY_US (2 * G_USEC_PER_SEC) /* the summary is rewritten at most this often */

struct sched {
	struct batch_plan *plan;
	GMutex lock;          /* rows' status and outcome, the two tables below */
	GCond cond;           /* a row ended: room on its servers */
	GHashTable *host_use; /* host -> GUINT_TO_POINTER(connections reserved) */
	GHashTable *dst_busy; /* destination accounts of running rows */
	guint first;          /* rows before it are taken */
	gint64 last_write;
	struct batch_view *view;
};

static volatile int *batch_interrupted; /* the sync jobs' stop flag */

/* Connections @row holds on each of its servers while it runs. */
static void
sched_reserve(struct sched *s, const struct batch_row *row, int sign)
{
	for (int i = 0; i < 2; i++) {
		guint used = GPOINTER_TO_UINT(g_hash_table_lookup(s->host_use, row->host[i]));

		used = sign > 0 ? used + row->folder_jobs : used - row->folder_jobs;
		g_hash_table_insert(s->host_use, row->host[i], GUINT_TO_POINTER(used));
	}
	if (sign > 0)
		g_hash_table_add(s->dst_busy, row->dst_account);
	else
		g_hash_table_remove(s->dst_busy, row->dst_account);
}

static bool
sched_fits(struct sched *s, const struct batch_row *row)
{
	unsigned cap = s->plan->max_per_host;

	if (g_hash_table_contains(s->dst_busy, row->dst_account))
		return false;
	if (cap == 0)
		return true;
	for (int i = 0; i < 2; i++) {
		guint used = GPOINTER_TO_UINT(g_hash_table_lookup(s->host_use, row->host[i]));
		guint need = row->folder_jobs;

		if (strcmp(row->host[0], row->host[1]) == 0)
			need *= 2;
		if (used + need > cap)
			return false;
	}
	return true;
}

/* The next row that may start now (status becomes running), or NULL; *left_r says whether
 * rows are still waiting. Called with the lock held. */
static struct batch_row *
sched_take(struct sched *s, bool *left_r)
{
	GPtrArray *rows = s->plan->rows;

	*left_r = false;
	for (guint i = s->first; i < rows->len; i++) {
		struct batch_row *row = rows->pdata[i];

		if (row->status != BATCH_NOT_STARTED) {
			if (i == s->first)
				s->first++;
			continue;
		}
		*left_r = true;
		if (!sched_fits(s, row))
			continue;
		sched_reserve(s, row, 1);
		row->status = BATCH_RUNNING;
		row->ran = true;
		row->started = g_get_monotonic_time();
		memset(&row->progress, 0, sizeof(row->progress));
		return row;
	}
	return NULL;
}

static void
sched_write_summary(struct sched *s, bool now)
{
	g_autoptr(GError) error = NULL;
	gint64 t = g_get_monotonic_time();

	if (!now && t - s->last_write < SCHED_SUMMARY_US)
		return;
	s->last_write = t;
	if (!batch_summary_write(s->plan->dir, s->plan->meta, s->plan->rows, &error))
		mh_log(MH_LOG_WARN, "%s", error->message);
}

/* The row's status from its exit code: done, differences (the run ended with a result that
 * says what differs), interrupted (stopped by the batch's stop), or failed. */
static void
sched_settle(struct batch_row *row, int rc, struct mh_sync_job_outcome *out)
{
	bool differs = rc == MH_EXIT_FAILURE || rc == MH_EXIT_MESSAGES || rc == MH_EXIT_QUOTA ||
	               rc == MH_EXIT_APPEND;

	row->exit_code = rc;
	row->status = rc == MH_EXIT_OK                                  ? BATCH_DONE
	              : rc == MH_EXIT_INTERRUPTED && *batch_interrupted ? BATCH_INTERRUPTED
	              : out->has_result && differs                      ? BATCH_DIFFERENCES
	                                                                : BATCH_FAILED;
	row->copied = out->copied;
	row->copied_bytes = out->copied_bytes;
	row->missing = out->missing;
	row->extra = out->extra;
	row->failed = out->failed;
	g_free(row->reason);
	row->reason = g_steal_pointer(&out->reason);
	if (row->reason == NULL && row->status == BATCH_DIFFERENCES)
		row->reason =
			g_strdup_printf("%" G_GUINT64_FORMAT " missing, %" G_GUINT64_FORMAT
		                        " extra, %" G_GUINT64_FORMAT " failed, %" G_GUINT64_FORMAT
		                        " folders unfinished",
		                        out->missing, out->extra, out->failed, out->unfinished);
}

/* Takes the lock of the pair's own state, which a manual `sync` of the same pair takes
 * too. With --wait-lock, a row that finds it held says so (stderr, the view) and waits. */
static struct mh_sync_lock *
sched_lock_pair(struct sched *s, struct batch_row *row, GError **error)
{
	struct mh_sync_lock *pair;
	char *holder;

	pair = mh_sync_lock_take(row->lock_path, "account pair", false, batch_interrupted, error);
	if (pair != NULL || !s->plan->wait_lock ||
	    !g_error_matches(*error, MH_SYNC_ERROR, MH_SYNC_ERROR_LOCKED))
		return pair;
	g_clear_error(error);
	holder = mh_sync_lock_holder(row->lock_path);
	g_mutex_lock(&s->lock);
	row->waiting = holder != NULL ? holder : g_strdup("pid unknown");
	batch_view_row_waiting(s->view, row);
	g_mutex_unlock(&s->lock);
	pair = mh_sync_lock_take(row->lock_path, "account pair", true, batch_interrupted, error);
	g_mutex_lock(&s->lock);
	g_clear_pointer(&row->waiting, g_free);
	g_mutex_unlock(&s->lock);
	return pair;
}

/* Runs the `sync` of @row (in a worker, without the lock). */
static int
sched_run_row(struct sched *s, struct batch_row *row, struct mh_sync_job_outcome *out)
{
	struct mh_sync_lock *pair = NULL;
	struct mh_sync_job *job = NULL;
	struct mh_sync_job_io io = {.interrupted = batch_interrupted,
	                            .progress = &row->progress,
	                            .progress_lock = &s->lock};
	GError *error = NULL;
	int rc;

	mh_log(MH_LOG_INFO, "mailhaul %s batch %s line %u: %s to %s", MH_VERSION,
	       s->plan->meta->file, row->line, row->source, row->destination);
	pair = sched_lock_pair(s, row, &error);
	if (pair != NULL) {
		g_autofree char **argv = batch_row_argv(row);

		g_mutex_lock(&s->lock);
		job = mh_sync_job_parse((int)row->argv->len, argv, false, &error);
		g_mutex_unlock(&s->lock);
	}
	if (job == NULL) {
		rc = cli_finish(error, MH_EXIT_OK);
		out->reason = g_strdup(error->message);
		g_error_free(error);
		mh_sync_lock_release(pair);
		return rc;
	}
	for (int i = 0; i < 2; i++) {
		if (row->password[i] != NULL)
			mh_sync_job_account(job, i + 1)->given_password =
				mh_secret_strdup(row->password[i]);
	}
	io.table = row->log;
	rc = mh_sync_job_run(job, &io, out);
	mh_sync_job_free(job);
	mh_sync_lock_release(pair);
	return rc;
}

/* Opens the row's log (DIR/NAME.log) and routes its thread's messages there. */
static void
sched_row_log(struct sched *s, struct batch_row *row, bool open)
{
	g_autofree char *path = NULL;
	g_autoptr(GError) error = NULL;
	int fd;

	if (!open) {
		mh_log_set_thread_route(NULL);
		if (row->log != NULL)
			fclose(row->log);
		row->log = NULL;
		return;
	}
	path = g_strdup_printf("%s/%s.log", s->plan->dir, row->name);
	fd = mh_file_open_append(path, 0600, &error);
	row->log = fd >= 0 ? fdopen(fd, "a") : NULL;
	if (row->log == NULL)
		mh_log(MH_LOG_WARN, "line %u: no log file: %s", row->line,
		       error != NULL ? error->message : g_strerror(errno));
	mh_log_set_thread_route(row->log);
}

static gpointer
sched_worker(gpointer data)
{
	struct sched *s = data;

	g_mutex_lock(&s->lock);
	while (!*batch_interrupted) {
		struct mh_sync_job_outcome out = {0};
		bool left;
		struct batch_row *row = sched_take(s, &left);
		int rc;

		if (row == NULL && !left)
			break;
		if (row == NULL) {
			g_cond_wait_until(&s->cond, &s->lock,
			                  g_get_monotonic_time() + SCHED_POLL_US);
			continue;
		}
		g_mutex_unlock(&s->lock);
		sched_row_log(s, row, true);
		rc = sched_run_row(s, row, &out);
		mh_log(MH_LOG_INFO, "exit code %d", rc);
		sched_row_log(s, row, false);
		g_mutex_lock(&s->lock);
		row->seconds = (double)(g_get_monotonic_time() - row->started) / G_USEC_PER_SEC;
		sched_settle(row, rc, &out);
		g_free(out.reason);
		sched_reserve(s, row, -1);
		batch_view_row_done(s->view, row);
		sched_write_summary(s, false);
		g_cond_broadcast(&s->cond);
	}
	g_mutex_unlock(&s->lock);
	return NULL;
}

static char *
batch_now(void)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_local();

	return g_date_time_format_iso8601(now);
}

int
batch_run(struct batch_plan *plan)
{
	struct sched s = {.plan = plan};
	g_autoptr(GPtrArray) threads = g_ptr_array_new();
	guint todo = 0;

	for (guint i = 0; i < plan->rows->len; i++)
		todo += ((struct batch_row *)plan->rows->pdata[i])->status == BATCH_NOT_STARTED;
	batch_interrupted = mh_sync_job_signals();
	g_mutex_init(&s.lock);
	g_cond_init(&s.cond);
	s.host_use = g_hash_table_new(g_str_hash, g_str_equal);
	s.dst_busy = g_hash_table_new(g_str_hash, g_str_equal);
	plan->meta->started = batch_now();
	mh_log(MH_LOG_INFO, "batch %s: %u rows, %u to run, %u at once", plan->meta->file,
	       plan->rows->len, todo, plan->jobs);
	sched_write_summary(&s, true);
	s.view = batch_view_start(plan->rows, &s.lock, plan->live);
	for (guint i = 0; i < MIN(plan->jobs, todo); i++)
		g_ptr_array_add(threads, g_thread_new("mh-batch", sched_worker, &s));
	for (guint i = 0; i < threads->len; i++)
		g_thread_join(threads->pdata[i]);
	batch_view_stop(s.view);
	plan->meta->interrupted = *batch_interrupted != 0;
	plan->meta->finished = batch_now();
	sched_write_summary(&s, true);
	mh_log(MH_LOG_INFO, "batch %s ended%s", plan->meta->file,
	       *batch_interrupted ? " (interrupted)" : "");
	batch_print_table(stdout, plan->rows, batch_table_width(stdout));
	g_hash_table_unref(s.host_use);
	g_hash_table_unref(s.dst_busy);
	g_mutex_clear(&s.lock);
	g_cond_clear(&s.cond);
	if (*batch_interrupted) {
		fprintf(stdout, "Interrupted: run the same command again to finish.\n");
		return MH_EXIT_INTERRUPTED;
	}
	return batch_exit_code(plan->rows);
}
