/* SPDX-License-Identifier: MIT */
/* Logging levels, debug categories and the one sink every message goes through. */
#include "mh-log.h"

#include <stdio.h>

static unsigned log_categories;
static enum mh_log_level log_level = MH_LOG_INFO;
static mh_log_sink_cb *log_sink;
static void *log_sink_ctx;
static GMutex log_lock;
static GPrivate log_route;

static const struct {
	const char *name;
	unsigned mask;
} log_category_names[] = {
	{"imap", MH_LOG_CAT_IMAP}, {"wire", MH_LOG_CAT_WIRE}, {"sync", MH_LOG_CAT_SYNC},
	{"auth", MH_LOG_CAT_AUTH}, {"http", MH_LOG_CAT_HTTP}, {"all", MH_LOG_CAT_ALL},
};

void
mh_log_set_categories(unsigned mask)
{
	g_atomic_int_set((gint *)&log_categories, (gint)mask);
}

bool
mh_log_parse_categories(const char *spec, unsigned *mask_r, GError **error)
{
	g_auto(GStrv) words = g_strsplit_set(spec, ", ", -1);
	unsigned mask = 0;

	for (size_t i = 0; words[i] != NULL; i++) {
		bool found = false;

		if (*words[i] == '\0')
			continue;
		for (size_t j = 0; j < G_N_ELEMENTS(log_category_names); j++) {
			if (g_ascii_strcasecmp(words[i], log_category_names[j].name) == 0) {
				mask |= log_category_names[j].mask;
				found = true;
			}
		}
		if (!found) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			            "unknown debug category '%s' (use imap, wire, sync, auth, http "
			            "or all)",
			            words[i]);
			return false;
		}
	}
	*mask_r = mask;
	return true;
}

bool
mh_log_enabled(unsigned category)
{
	return ((unsigned)g_atomic_int_get((gint *)&log_categories) & category) != 0;
}

void
mh_log_set_level(enum mh_log_level level)
{
	log_level = level;
}

void
mh_log_set_sink(mh_log_sink_cb *cb, void *ctx)
{
	g_mutex_lock(&log_lock);
	log_sink = cb;
	log_sink_ctx = ctx;
	g_mutex_unlock(&log_lock);
}

void
mh_log_set_thread_route(void *route)
{
	g_private_set(&log_route, route);
}

void *
mh_log_thread_route(void)
{
	return g_private_get(&log_route);
}

static void
log_emit(enum mh_log_level level, unsigned category, const char *msg)
{
	static const char *const prefixes[] = {"error: ", "warning: ", "", "debug: "};

	g_mutex_lock(&log_lock);
	if (log_sink != NULL)
		log_sink(level, category, msg, log_sink_ctx);
	else
		fprintf(stderr, "mailhaul: %s%s\n", prefixes[level], msg);
	g_mutex_unlock(&log_lock);
}

void
mh_log(enum mh_log_level level, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	if (level > log_level && level != MH_LOG_DEBUG)
		return;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	log_emit(level, MH_LOG_CAT_NONE, msg);
}

void
mh_log_debug(unsigned category, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	if (!mh_log_enabled(category))
		return;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	log_emit(MH_LOG_DEBUG, category, msg);
}
