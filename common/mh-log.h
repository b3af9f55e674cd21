/* SPDX-License-Identifier: MIT */
/* Logging for every layer: levels for what a user reads, and debug categories
 * (imap, wire, sync, auth, http) switched on with --debug. Library code logs
 * through here and never writes to stderr itself; the program chooses the sink. */
#ifndef MH_LOG_H
#define MH_LOG_H

#include <glib.h>
#include <stdbool.h>

enum mh_log_level {
	MH_LOG_ERROR,
	MH_LOG_WARN,
	MH_LOG_INFO,
	MH_LOG_DEBUG,
};

enum mh_log_category {
	MH_LOG_CAT_NONE = 0,
	MH_LOG_CAT_IMAP = 1 << 0, /* IMAP events: states, commands, capabilities */
	MH_LOG_CAT_WIRE = 1 << 1, /* raw protocol lines, secrets redacted */
	MH_LOG_CAT_SYNC = 1 << 2, /* sync engine decisions */
	MH_LOG_CAT_AUTH = 1 << 3, /* mechanism choice, token refresh */
	MH_LOG_CAT_HTTP = 1 << 4, /* HTTP to OAuth2 endpoints, no bodies */
	MH_LOG_CAT_ALL = 0x1f,
};

/* Receives each message that passes the filters; @msg is borrowed. Called with a
 * lock held, from any thread. */
typedef void mh_log_sink_cb(enum mh_log_level level, unsigned category, const char *msg, void *ctx);

/* Sets the enabled debug categories (a mask of enum mh_log_category). */
void mh_log_set_categories(unsigned mask);

/* Parses "imap,wire" or "all" into a category mask. */
bool mh_log_parse_categories(const char *spec, unsigned *mask_r, GError **error);

/* Returns whether debug output for @category is on. */
bool mh_log_enabled(unsigned category);

/* Sets the level up to which non-debug messages pass (default MH_LOG_INFO). */
void mh_log_set_level(enum mh_log_level level);

/* Replaces the sink; NULL restores the default (stderr, "mailhaul: warning: ..."). */
void mh_log_set_sink(mh_log_sink_cb *cb, void *ctx);

/* Sets the calling thread's log route: an opaque pointer the sink reads back with
 * mh_log_thread_route() to send a thread's messages somewhere of their own (a batch gives
 * each mailbox its log file). NULL (the default) is the process's route. Threads do not
 * inherit it: code that starts threads for the same work passes it on. */
void mh_log_set_thread_route(void *route);

/* The calling thread's log route, or NULL. */
void *mh_log_thread_route(void);

void mh_log(enum mh_log_level level, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Debug line in @category; formatted only when the category is on. */
void mh_log_debug(unsigned category, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#endif
