/* SPDX-License-Identifier: MIT */
/* Output files: see mh-file.h. */
#include "mh-file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool
file_fail(GError **error, int saved, const char *what, const char *path)
{
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "cannot %s %s: %s", what,
	            path, g_strerror(saved));
	return false;
}

/* Whether @dir is @base or below it (both absolute, @base without a trailing slash). */
static bool
file_is_below(const char *dir, const char *base)
{
	size_t n = strlen(base);

	return strncmp(dir, base, n) == 0 && (dir[n] == '\0' || dir[n] == '/');
}

bool
mh_file_make_parent(const char *path, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *abs = g_canonicalize_filename(dir, NULL);
	const char *bases[] = {g_get_user_state_dir(), g_get_user_config_dir(),
	                       g_get_user_cache_dir()};

	if (g_file_test(dir, G_FILE_TEST_IS_DIR))
		return true;
	for (gsize i = 0; i < G_N_ELEMENTS(bases); i++) {
		g_autofree char *own = g_build_filename(bases[i], "mailhaul", NULL);
		g_autofree char *own_abs = g_canonicalize_filename(own, NULL);

		if (!file_is_below(abs, own_abs))
			continue;
		if (g_mkdir_with_parents(dir, 0700) != 0)
			return file_fail(error, errno, "create the directory", dir);
		return true;
	}
	g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
	            "cannot write %s: the directory %s does not exist (create it first)", path,
	            dir);
	return false;
}

static bool
file_write_all(int fd, const char *data, gsize len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= (gsize)n;
	}
	return true;
}

/* The descriptor @path names when it is one of the process's own (/dev/stdout,
 * /dev/stderr, /dev/fd/N, /proc/self/fd/N), else -1. Writing to it rather than to a new
 * open of the same file keeps its offset: a new open of a redirected stdout would write
 * from the start of the file, over what the process printed. */
static int
file_own_fd(const char *path)
{
	const char *num = NULL;
	guint64 fd;
	char *end = NULL;

	if (strcmp(path, "/dev/stdout") == 0)
		return STDOUT_FILENO;
	if (strcmp(path, "/dev/stderr") == 0)
		return STDERR_FILENO;
	if (g_str_has_prefix(path, "/dev/fd/"))
		num = path + strlen("/dev/fd/");
	else if (g_str_has_prefix(path, "/proc/self/fd/"))
		num = path + strlen("/proc/self/fd/");
	if (num == NULL || !g_ascii_isdigit(*num))
		return -1;
	fd = g_ascii_strtoull(num, &end, 10);
	return *end == '\0' && fd <= G_MAXINT && fcntl((int)fd, F_GETFD) >= 0 ? (int)fd : -1;
}

bool
mh_file_write(const char *path, const char *data, gsize len, int mode, GError **error)
{
	struct stat st;
	g_autofree char *target = NULL;
	int own = file_own_fd(path);

	if (own >= 0) {
		fflush(own == STDERR_FILENO ? stderr : stdout);
		if (!file_write_all(own, data, len))
			return file_fail(error, errno, "write", path);
		return true;
	}

	/* Devices and FIFOs, and /dev/stdout and its kin even when they lead to a regular
	 * file (the shell's redirection): written in place. */
	if (stat(path, &st) == 0 && (!S_ISREG(st.st_mode) || g_str_has_prefix(path, "/dev/") ||
	                             g_str_has_prefix(path, "/proc/"))) {
		int fd;
		bool ok;

		if (S_ISDIR(st.st_mode))
			return file_fail(error, EISDIR, "write", path);
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return file_fail(error, errno, "open", path);
		ok = file_write_all(fd, data, len);
		if (!ok) {
			int saved = errno;

			close(fd);
			return file_fail(error, saved, "write", path);
		}
		if (close(fd) != 0)
			return file_fail(error, errno, "write", path);
		return true;
	}
	/* A link to a regular file: replace the file it points at, not the link. */
	target = realpath(path, NULL);
	if (target == NULL && lstat(path, &st) == 0) /* a link to nowhere: keep the link */
		return file_fail(error, ENOENT, "write through the link", path);
	if (target == NULL && !mh_file_make_parent(path, error))
		return false;
	if (!g_file_set_contents_full(target != NULL ? target : path, data, (gssize)len,
	                              G_FILE_SET_CONTENTS_CONSISTENT, mode, error)) {
		g_prefix_error(error, "%s: ", path);
		return false;
	}
	return true;
}

int
mh_file_open_append(const char *path, int mode, GError **error)
{
	int fd;

	if (!g_file_test(path, G_FILE_TEST_EXISTS) && !mh_file_make_parent(path, error))
		return -1;
	fd = g_open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0)
		file_fail(error, errno, "open", path);
	return fd;
}
