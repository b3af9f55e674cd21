/* SPDX-License-Identifier: MIT */
/* The help text of `mailhaul sync` and `mailhaul verify`. */
#ifndef MH_SYNC_HELP_H
#define MH_SYNC_HELP_H

#include <glib.h>
#include <stdbool.h>

/* The text after the options: worked examples and every exit code (static). */
const char *mh_sync_help_epilogue(bool verify);

/* Prints the help of @ctx (sync's or verify's options) on stdout: every group with its
 * heading, both usage lines and the epilogue. Disables GOption's own help options. */
void mh_sync_help_print(GOptionContext *ctx, bool verify);

#endif
