/* SPDX-License-Identifier: MIT */
/* Output files that respect what the user points them at: a device, a FIFO or
 * /dev/stdout is written in place (never replaced by a regular file), a symbolic link
 * keeps pointing where it pointed, and directories are created only below mailhaul's
 * own XDG directories. */
#ifndef MH_FILE_H
#define MH_FILE_H

#include <glib.h>
#include <stdbool.h>

/* Makes sure the directory @path goes into exists: creates it (0700, with its parents)
 * when it lies below one of mailhaul's own directories ($XDG_STATE_HOME/mailhaul,
 * $XDG_CONFIG_HOME/mailhaul, $XDG_CACHE_HOME/mailhaul), else fails with G_FILE_ERROR_NOENT
 * naming the missing directory. */
bool mh_file_make_parent(const char *path, GError **error);

/* Writes @len bytes of @data as the whole content of @path. A regular file (or a link to
 * one) is replaced atomically (a temporary file renamed over it, at the link's target, so
 * the link stays); a device, FIFO or socket is opened and written in place; a missing
 * file is created with @mode (its directory as mh_file_make_parent() allows).
 * G_FILE_ERROR on failure, its message naming @path. */
bool mh_file_write(const char *path, const char *data, gsize len, int mode, GError **error);

/* Opens @path for appending (a log): created with @mode when missing (its directory as
 * mh_file_make_parent() allows); devices and FIFOs are opened as they are. Returns the
 * descriptor, or -1 with G_FILE_ERROR. */
int mh_file_open_append(const char *path, int mode, GError **error);

#endif
