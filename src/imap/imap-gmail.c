/* SPDX-License-Identifier: MIT */
/* Gmail's IMAP extensions (X-GM-EXT-1, developers.google.com/gmail/imap/imap-extensions):
 * the X-GM-LABELS FETCH item read into UTF-8 names, UID STORE +X-GM-LABELS, and UID SEARCH
 * HEADER (RFC 3501 6.4.4), which a Gmail destination needs to find an appended message
 * because Gmail drops duplicate APPENDs silently. */
#include <string.h>

#include "imap-private.h"
#include "imap.h"

/* An atom needs no quoting: ATOM-CHAR only (RFC 3501 9), plus a leading '\' for the
 * system labels ("\Inbox"), which Gmail writes as flags. */
static bool
gmail_is_atom(const char *s, bool flag)
{
	if (flag && *s == '\\')
		s++;
	if (*s == '\0' || g_ascii_strcasecmp(s, "NIL") == 0)
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

/* Appends @s as an atom (a flag with @flag) or a quoted string; false for bytes no quoted
 * string can carry (CR, LF; 8-bit only with UTF8=ACCEPT). */
static bool
gmail_append_astring(GString *out, const char *s, bool utf8, bool flag)
{
	if (gmail_is_atom(s, flag)) {
		g_string_append(out, s);
		return true;
	}
	g_string_append_c(out, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\r' || c == '\n' || (c >= 0x80 && !utf8))
			return false;
		if (c == '"' || c == '\\')
			g_string_append_c(out, '\\');
		g_string_append_c(out, (char)c);
	}
	g_string_append_c(out, '"');
	return true;
}

GPtrArray *
mh_imap_gm_labels_parse(const struct mh_imap_arg *list, bool utf8)
{
	GPtrArray *labels;

	if (list == NULL || list->type != MH_IMAP_ARG_LIST)
		return NULL;
	labels = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < list->list->len; i++) {
		const struct mh_imap_arg *a = list->list->pdata[i];
		const char *s = NULL;
		char *name;

		if (!mh_imap_arg_get_nstring(a, &s, NULL) || s == NULL || *s == '\0')
			continue;
		if (utf8 || *s == '\\')
			name = g_strdup(s);
		else
			name = mh_imap_utf7_decode(s, NULL);
		/* A name that is not valid modified UTF-7 is kept as sent, not dropped. */
		g_ptr_array_add(labels, name != NULL ? name : g_strdup(s));
	}
	return labels;
}

char *
mh_imap_gm_labels_format(const GPtrArray *labels, bool utf8, GError **error)
{
	g_autoptr(GString) out = g_string_new("(");

	for (guint i = 0; i < labels->len; i++) {
		const char *label = labels->pdata[i];
		g_autofree char *wire = NULL;

		if (*label != '\\' && !utf8) {
			wire = mh_imap_utf7_encode(label, error);
			if (wire == NULL)
				return NULL;
		}
		if (i > 0)
			g_string_append_c(out, ' ');
		if (!gmail_append_astring(out, wire != NULL ? wire : label, utf8, true)) {
			g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
			            "the label %s cannot be sent (line breaks or 8-bit bytes)",
			            label);
			return NULL;
		}
	}
	g_string_append_c(out, ')');
	return g_string_free(g_steal_pointer(&out), false);
}

bool
mh_imap_uid_store_labels(struct mh_imap_conn *conn, const char *uidset, const char *action,
                         const GPtrArray *labels, GError **error)
{
	g_autofree char *list = NULL;
	struct mh_imap_cmd *cmd;

	if (labels->len == 0)
		return true;
	list = mh_imap_gm_labels_format(labels, mh_imap_conn_utf8(conn), error);
	if (list == NULL)
		return false;
	cmd = mh_imap_cmd_new(0, "UID STORE %s %s %s", uidset, action, list);
	if (!mh_imap_cmd_run(conn, cmd, NULL, error)) {
		g_prefix_error(error, "UID STORE %s failed: ", action);
		return false;
	}
	return true;
}

bool
mh_imap_uid_search_header(struct mh_imap_conn *conn, const char *field, const char *value,
                          GArray **uids_r, GError **error)
{
	g_autoptr(GString) criteria = g_string_new("HEADER ");

	if (!gmail_append_astring(criteria, field, false, false) ||
	    (g_string_append_c(criteria, ' '),
	     !gmail_append_astring(criteria, value, false, false))) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
		            "cannot search for a %s header with line breaks or 8-bit bytes", field);
		return false;
	}
	return mh_imap_uid_search(conn, criteria->str, uids_r, error);
}
