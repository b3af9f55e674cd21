/* SPDX-License-Identifier: MIT */
/* Run locks over flock(2): take (or wait for) the lock on a file next to the state, write
 * who holds it, say who holds it when it is taken, release it. */
#include "sync-lock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mh-file.h"
#include "mh-log.h"

#define LOCK_POLL_US  200000 /* how often a waiting run tries again */
#define LOCK_TEXT_MAX 128    /* bytes of the holder's text read back */

struct mh_sync_lock {
	int fd;
	char *path; /* owned */
};

/* "pid 1234, since 2026-12-06 11:23:05" from the text the holder wrote, or a vaguer
 * phrase when it has not written it yet. Returns a new string. */
static char *
lock_holder_text(int fd)
{
	char buf[LOCK_TEXT_MAX + 1];
	ssize_t n = pread(fd, buf, LOCK_TEXT_MAX, 0);
	guint64 pid = 0, since = 0;
	char *end;
	g_autoptr(GDateTime) when = NULL;
	g_autofree char *stamp = NULL;

	if (n <= 0)
		return g_strdup("pid unknown");
	buf[n] = '\0';
	if (!g_str_has_prefix(buf, "pid "))
		return g_strdup("pid unknown");
	pid = g_ascii_strtoull(buf + 4, &end, 10);
	if (end == buf + 4 || !g_str_has_prefix(end, " since "))
		return g_strdup("pid unknown");
	since = g_ascii_strtoull(end + 7, &end, 10);
	when = since > 0 && since < G_MAXINT64 ? g_date_time_new_from_unix_local((gint64)since)
	                                       : NULL;
	if (when == NULL)
		return g_strdup_printf("pid %" G_GUINT64_FORMAT, pid);
	stamp = g_date_time_format(when, "%Y-%m-%d %H:%M:%S");
	return g_strdup_printf("pid %" G_GUINT64_FORMAT ", since %s", pid, stamp);
}

static bool
lock_write_holder(int fd, const char *path, GError **error)
{
	g_autofree char *text = g_strdup_printf("pid %ld since %" G_GINT64_FORMAT "\n",
	                                        (long)getpid(), g_get_real_time() / G_USEC_PER_SEC);
	size_t len = strlen(text);

	if (ftruncate(fd, 0) != 0 || pwrite(fd, text, len, 0) != (ssize_t)len) {
		g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE, "lock %s: cannot write: %s",
		            path, g_strerror(errno));
		return false;
	}
	return true;
}

static int
lock_open(const char *path, GError **error)
{
	g_autoptr(GError) local = NULL;
	int fd;

	if (!mh_file_make_parent(path, &local)) {
		g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE, "lock %s: %s", path,
		            local->message);
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE, "lock %s: cannot open: %s",
		            path, g_strerror(errno));
	return fd;
}

/* 1 taken, 0 held by another, -1 error. */
static int
lock_try(int fd, const char *path, GError **error)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 1;
	if (errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_STATE, "lock %s: %s", path,
	            g_strerror(errno));
	return -1;
}

struct mh_sync_lock *
mh_sync_lock_take(const char *path, const char *what, bool wait, volatile int *interrupted,
                  GError **error)
{
	struct mh_sync_lock *lock;
	int fd, got;

	g_return_val_if_fail(path != NULL && what != NULL, NULL);
	fd = lock_open(path, error);
	if (fd < 0)
		return NULL;
	got = lock_try(fd, path, error);
	if (got == 0) {
		g_autofree char *holder = lock_holder_text(fd);

		if (!wait) {
			g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_LOCKED,
			            "another mailhaul run (%s) is using this %s (lock %s): let it "
			            "finish, or add --wait-lock to wait for it",
			            holder, what, path);
			close(fd);
			return NULL;
		}
		mh_log(MH_LOG_WARN, "another mailhaul run (%s) is using this %s (lock %s); waiting",
		       holder, what, path);
	}
	while (got == 0) {
		if (interrupted != NULL && *interrupted) {
			g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_INTERRUPTED,
			            "interrupted while waiting for the lock %s", path);
			close(fd);
			return NULL;
		}
		g_usleep(LOCK_POLL_US);
		got = lock_try(fd, path, error);
	}
	if (got < 0 || !lock_write_holder(fd, path, error)) {
		close(fd);
		return NULL;
	}
	lock = g_new0(struct mh_sync_lock, 1);
	lock->fd = fd;
	lock->path = g_strdup(path);
	return lock;
}

char *
mh_sync_lock_holder(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *holder = NULL;

	g_return_val_if_fail(path != NULL, NULL);
	if (fd < 0)
		return NULL;
	/* A shared lock is refused only while a run holds the lock. */
	if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK)
		holder = lock_holder_text(fd);
	close(fd);
	return holder;
}

void
mh_sync_lock_release(struct mh_sync_lock *lock)
{
	if (lock == NULL)
		return;
	/* Still held: nobody reads the text while it is emptied. */
	if (ftruncate(lock->fd, 0) != 0)
		mh_log(MH_LOG_WARN, "lock %s: cannot empty: %s", lock->path, g_strerror(errno));
	close(lock->fd);
	g_free(lock->path);
	g_free(lock);
}

char *
mh_sync_lock_account_path(const char *user, const char *host, unsigned port)
{
	g_autofree char *key = NULL;
	g_autofree char *name = NULL;
	g_autofree char *sum = NULL;
	g_autoptr(GString) readable = g_string_new("account-");

	g_return_val_if_fail(user != NULL && host != NULL, NULL);
	key = g_strdup_printf("%s\n%s\n%u", user, host, port);
	name = g_ascii_strdown(key, -1);
	sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, name, -1);
	for (const char *p = name; *p != '\0' && readable->len < 100; p++)
		g_string_append_c(readable,
		                  g_ascii_isalnum(*p) || strchr("@.+-", *p) != NULL ? *p : '_');
	g_string_append_printf(readable, "-%.16s.lock", sum);
	return g_build_filename(g_get_user_state_dir(), "mailhaul", "locks", readable->str, NULL);
}
