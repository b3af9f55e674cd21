/* SPDX-License-Identifier: MIT */
/* Commands and the queue: building commands from text, astrings, secrets and literals;
 * sending them pipelined (a cap on commands in flight, no pipelining past a command that
 * waits for a continuation); literals per RFC 7888 (LITERAL+/LITERAL-); and APPENDs whose
 * message the caller streams. */
#include "imap-private.h"

#include <string.h>

#include "mh-log.h"
#include "mh-secret.h"

#define LITERAL_MINUS_MAX 4096

/* --- building commands --- */

struct mh_imap_cmd *
mh_imap_cmd_new(unsigned flags, const char *fmt, ...)
{
	struct mh_imap_cmd *cmd = g_new0(struct mh_imap_cmd, 1);
	struct cmd_seg seg = {.type = SEG_TEXT, .text = g_string_new(NULL)};
	va_list ap;

	cmd->flags = flags;
	cmd->segs = g_array_new(false, true, sizeof(struct cmd_seg));
	va_start(ap, fmt);
	g_string_vprintf(seg.text, fmt, ap);
	va_end(ap);
	g_array_append_val(cmd->segs, seg);
	return cmd;
}

/* The trailing text segment, created when the last segment is not text. */
GString *
imap_cmd_text(struct mh_imap_cmd *cmd)
{
	struct cmd_seg *last = &g_array_index(cmd->segs, struct cmd_seg, cmd->segs->len - 1);
	struct cmd_seg seg = {.type = SEG_TEXT};

	if (last->type == SEG_TEXT)
		return last->text;
	seg.text = g_string_new(NULL);
	g_array_append_val(cmd->segs, seg);
	return seg.text;
}

void
mh_imap_cmd_add(struct mh_imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_string_append_vprintf(imap_cmd_text(cmd), fmt, ap);
	va_end(ap);
}

static bool
imap_is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

/* 0: atom, 1: quoted string, 2: needs a literal. */
static int
imap_astring_kind(const char *s, size_t len)
{
	int kind = len == 0 ? 1 : 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' || c == '\n' || c == '\0' || c >= 0x80)
			return 2;
		if (!imap_is_atom_char(c))
			kind = 1;
	}
	if (kind == 0 && len == 3 && g_ascii_strncasecmp(s, "NIL", 3) == 0)
		kind = 1;
	return kind;
}

static void
cmd_append_literal_seg(struct mh_imap_cmd *cmd, GBytes *data, char *secret)
{
	struct cmd_seg seg = {.type = SEG_LITERAL, .literal = data, .secret = secret};

	g_string_append_c(imap_cmd_text(cmd), ' ');
	g_array_append_val(cmd->segs, seg);
}

void
mh_imap_cmd_add_astring(struct mh_imap_cmd *cmd, const char *s)
{
	size_t len = strlen(s);
	GString *text;

	switch (imap_astring_kind(s, len)) {
	case 0:
		g_string_append_printf(imap_cmd_text(cmd), " %s", s);
		break;
	case 1:
		text = imap_cmd_text(cmd);
		g_string_append(text, " \"");
		for (size_t i = 0; i < len; i++) {
			if (s[i] == '"' || s[i] == '\\')
				g_string_append_c(text, '\\');
			g_string_append_c(text, s[i]);
		}
		g_string_append_c(text, '"');
		break;
	default:
		cmd_append_literal_seg(cmd, g_bytes_new(s, len), NULL);
	}
}

void
mh_imap_cmd_add_secret(struct mh_imap_cmd *cmd, const char *secret)
{
	size_t len = strlen(secret);
	size_t quoted = 2;
	struct cmd_seg seg = {.type = SEG_SECRET};
	char *p;

	g_return_if_fail(cmd->flags & MH_IMAP_CMD_SENSITIVE);
	if (imap_astring_kind(secret, len) == 2) {
		cmd_append_literal_seg(cmd, NULL, mh_secret_strndup(secret, len));
		return;
	}
	for (size_t i = 0; i < len; i++)
		quoted += (secret[i] == '"' || secret[i] == '\\') ? 2 : 1;
	seg.secret = p = mh_secret_alloc(quoted);
	*p++ = '"';
	for (size_t i = 0; i < len; i++) {
		if (secret[i] == '"' || secret[i] == '\\')
			*p++ = '\\';
		*p++ = secret[i];
	}
	*p = '"';
	g_string_append_c(imap_cmd_text(cmd), ' ');
	g_array_append_val(cmd->segs, seg);
}

void
imap_cmd_add_secret_raw(struct mh_imap_cmd *cmd, char *secret)
{
	struct cmd_seg seg = {.type = SEG_SECRET, .secret = secret};

	g_return_if_fail(cmd->flags & MH_IMAP_CMD_SENSITIVE);
	g_string_append_c(imap_cmd_text(cmd), ' ');
	g_array_append_val(cmd->segs, seg);
}

void
mh_imap_cmd_add_literal(struct mh_imap_cmd *cmd, GBytes *data)
{
	cmd_append_literal_seg(cmd, g_bytes_ref(data), NULL);
}

void
mh_imap_cmd_set_callbacks(struct mh_imap_cmd *cmd, mh_imap_untagged_cb *untagged,
                          mh_imap_done_cb *done, void *ctx)
{
	cmd->untagged = untagged;
	cmd->done = done;
	cmd->ctx = ctx;
}

void
imap_cmd_set_continuation(struct mh_imap_cmd *cmd, imap_continuation_cb *cb, void *ctx)
{
	cmd->on_continuation = cb;
	cmd->cont_ctx = ctx;
}

/* Whether a text segment holds CR, LF or NUL: a value that would end the command line
 * early and start another command (values that need them go as literals). */
static const char *
cmd_line_break(const struct mh_imap_cmd *cmd)
{
	for (guint i = 0; i < cmd->segs->len; i++) {
		const struct cmd_seg *seg = &g_array_index(cmd->segs, struct cmd_seg, i);

		if (seg->type == SEG_TEXT &&
		    (memchr(seg->text->str, '\r', seg->text->len) != NULL ||
		     memchr(seg->text->str, '\n', seg->text->len) != NULL ||
		     strlen(seg->text->str) != seg->text->len))
			return seg->text->str;
	}
	return NULL;
}

void
mh_imap_cmd_submit(struct mh_imap_conn *conn, struct mh_imap_cmd *cmd)
{
	const char *broken = cmd_line_break(cmd);

	if (broken != NULL) {
		g_autofree char *verb = g_strndup(broken, strcspn(broken, " \r\n"));
		GError *error = g_error_new(MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
		                            "refusing to send %s: a value holds a line break or "
		                            "NUL, which would end the command early",
		                            verb);

		imap_cmd_finish(conn, cmd, NULL, error, false);
		g_error_free(error);
		return;
	}
	if (conn->error != NULL || conn->net.fd < 0) {
		GError *error = conn->error != NULL
		                        ? g_error_copy(conn->error)
		                        : g_error_new(MH_IMAP_ERROR, MH_IMAP_ERROR_DISCONNECTED,
		                                      "not connected");

		imap_cmd_finish(conn, cmd, NULL, error, false);
		g_error_free(error);
		return;
	}
	if (conn->open_append != NULL) {
		GError *error = NULL;

		/* Another command ends an open MULTIAPPEND first. */
		if (!mh_imap_append_stream_close(conn, &error)) {
			imap_cmd_finish(conn, cmd, NULL, error, false);
			g_error_free(error);
			return;
		}
	}
	g_queue_push_tail(&conn->pending, cmd);
}

/* --- sending --- */

static bool
conn_literal_nonsync(const struct mh_imap_conn *conn, size_t size)
{
	if (mh_imap_conn_has_cap(conn, "LITERAL+"))
		return true;
	return size <= LITERAL_MINUS_MAX && mh_imap_conn_has_cap(conn, "LITERAL-");
}

static bool
cmd_send_literal_header(struct mh_imap_conn *conn, struct mh_imap_cmd *cmd, size_t size,
                        GString *log, bool *wait_r, GError **error)
{
	char header[48];
	bool nonsync = conn_literal_nonsync(conn, size);

	g_snprintf(header, sizeof(header), "{%zu%s}\r\n", size, nonsync ? "+" : "");
	if (log != NULL)
		g_string_append_printf(log, "{%zu%s} ", size, nonsync ? "+" : "");
	*wait_r = !nonsync;
	if (!nonsync)
		conn->blocked = cmd;
	return imap_conn_out(conn, header, strlen(header), error);
}

/* Sends @cmd from its next segment up to the end or up to a synchronising literal. */
bool
imap_cmd_send_from(struct mh_imap_conn *conn, struct mh_imap_cmd *cmd, bool header_sent,
                   GError **error)
{
	g_autoptr(GString) log = mh_log_enabled(MH_LOG_CAT_WIRE) ? g_string_new(NULL) : NULL;
	bool ok = true;

	if (log != NULL && cmd->next_seg == 0)
		g_string_append_printf(log, "%s ", cmd->tag);
	for (; ok && cmd->next_seg < cmd->segs->len; cmd->next_seg++) {
		struct cmd_seg *seg = &g_array_index(cmd->segs, struct cmd_seg, cmd->next_seg);
		size_t size;
		bool wait = false;

		if (seg->type == SEG_TEXT) {
			if (log != NULL)
				g_string_append_len(log, seg->text->str, (gssize)seg->text->len);
			ok = imap_conn_out(conn, seg->text->str, seg->text->len, error);
			continue;
		}
		if (seg->type == SEG_SECRET) {
			if (log != NULL)
				g_string_append_printf(log, "<redacted %zu bytes>",
				                       mh_secret_len(seg->secret));
			ok = imap_conn_out_secret(conn, seg->secret, mh_secret_len(seg->secret),
			                          error);
			continue;
		}
		if (seg->type == SEG_STREAM) {
			if (!header_sent)
				ok = cmd_send_literal_header(conn, cmd, seg->size, log, &wait,
				                             error);
			if (ok && !wait) {
				if (log != NULL)
					g_string_append_printf(
						log, "<%" G_GUINT64_FORMAT " bytes streamed>",
						seg->size);
				conn->blocked = cmd;
				conn->streaming = cmd;
				cmd->stream_left = seg->size;
				conn->wake = true;
			}
			break;
		}
		size = seg->secret != NULL ? mh_secret_len(seg->secret)
		                           : g_bytes_get_size(seg->literal);
		if (!header_sent) {
			ok = cmd_send_literal_header(conn, cmd, size, log, &wait, error);
			if (ok && wait)
				break;
		}
		header_sent = false;
		if (log != NULL)
			g_string_append_printf(log, "<%s%zu bytes>",
			                       seg->secret != NULL ? "redacted " : "", size);
		if (seg->secret != NULL)
			ok = imap_conn_out_secret(conn, seg->secret, size, error);
		else
			ok = imap_conn_out(conn, g_bytes_get_data(seg->literal, NULL), size, error);
	}
	if (ok && cmd->next_seg == cmd->segs->len)
		ok = imap_conn_out(conn, "\r\n", 2, error);
	if (log != NULL && log->len > 0)
		imap_conn_wire_log(conn, "C:", "%s", log->str);
	return ok;
}

bool
imap_conn_send_pending(struct mh_imap_conn *conn, GError **error)
{
	while (conn->blocked == NULL && !g_queue_is_empty(&conn->pending) &&
	       g_queue_get_length(&conn->inflight) < conn->set.max_pipeline) {
		struct mh_imap_cmd *cmd = g_queue_pop_head(&conn->pending);

		g_snprintf(cmd->tag, sizeof(cmd->tag), "A%04u", ++conn->tag_counter);
		g_queue_push_tail(&conn->inflight, cmd);
		if (!imap_conn_out(conn, cmd->tag, strlen(cmd->tag), error) ||
		    !imap_conn_out(conn, " ", 1, error) ||
		    !imap_cmd_send_from(conn, cmd, false, error))
			return false;
		if (cmd->on_continuation != NULL)
			conn->blocked = cmd;
	}
	return true;
}

void
mh_imap_cmd_free(struct mh_imap_cmd *cmd)
{
	if (cmd == NULL)
		return;
	for (guint i = 0; i < cmd->segs->len; i++) {
		struct cmd_seg *seg = &g_array_index(cmd->segs, struct cmd_seg, i);

		if (seg->text != NULL)
			g_string_free(seg->text, true);
		mh_secret_free(seg->secret);
		if (seg->literal != NULL)
			g_bytes_unref(seg->literal);
	}
	g_array_free(cmd->segs, true);
	g_free(cmd);
}

/* --- streamed APPEND --- */

bool
mh_imap_append_stream_begin(struct mh_imap_conn *conn, const char *mailbox, const char *flags,
                            const char *date, uint64_t size, mh_imap_done_cb *done, void *ctx,
                            GError **error)
{
	struct mh_imap_cmd *cmd = mh_imap_cmd_new(0, "APPEND");
	struct cmd_seg seg = {.type = SEG_STREAM, .size = size};

	g_return_val_if_fail(conn->streaming == NULL && conn->stream_pending == NULL, false);
	mh_imap_cmd_add_mailbox(cmd, conn, mailbox);
	if (flags != NULL)
		mh_imap_cmd_add(cmd, " (%s)", flags);
	if (date != NULL)
		mh_imap_cmd_add(cmd, " \"%s\"", date);
	g_string_append_c(imap_cmd_text(cmd), ' ');
	g_array_append_val(cmd->segs, seg);
	mh_imap_cmd_set_callbacks(cmd, NULL, done, ctx);
	g_clear_error(&conn->stream_error);
	conn->stream_pending = cmd;
	mh_imap_cmd_submit(conn, cmd);
	while (conn->streaming != cmd) {
		if (conn->stream_pending == NULL) {
			/* The server answered before the literal (NO [OVERQUOTA]...). */
			GError *why = g_steal_pointer(&conn->stream_error);

			if (why == NULL)
				why = g_error_new(MH_IMAP_ERROR, MH_IMAP_ERROR_NO, "refused");
			g_propagate_prefixed_error(error, why, "APPEND to %s refused: ", mailbox);
			return false;
		}
		if (!imap_conn_check_usable(conn, error) || !imap_conn_step(conn, error))
			return false;
	}
	conn->stream_pending = NULL;
	return true;
}

/* Sends @cmd from its next segment; a failure breaks the connection (a literal cannot be
 * taken back). */
static bool
append_send_rest(struct mh_imap_conn *conn, struct mh_imap_cmd *cmd, GError **error)
{
	GError *local = NULL;

	if (imap_cmd_send_from(conn, cmd, false, &local))
		return true;
	imap_conn_broke(conn, &local);
	g_propagate_error(error, local);
	return false;
}

/* No APPEND is streaming: the connection failed meanwhile (its error), or a misuse. */
static bool
append_stream_gone(struct mh_imap_conn *conn, GError **error)
{
	if (imap_conn_check_usable(conn, error))
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE, "no APPEND is being sent");
	return false;
}

bool
mh_imap_append_stream_write(struct mh_imap_conn *conn, const void *data, size_t len, GError **error)
{
	struct mh_imap_cmd *cmd = conn->streaming;
	GError *local = NULL;

	if (cmd == NULL)
		return append_stream_gone(conn, error);
	g_return_val_if_fail(len <= cmd->stream_left, false);
	cmd->stream_left -= len;
	if (imap_conn_out(conn, data, len, &local))
		return true;
	imap_conn_broke(conn, &local);
	g_propagate_error(error, local);
	return false;
}

bool
mh_imap_append_stream_end(struct mh_imap_conn *conn, GError **error)
{
	struct mh_imap_cmd *cmd = conn->streaming;

	if (cmd == NULL)
		return append_stream_gone(conn, error);
	g_return_val_if_fail(cmd->stream_left == 0, false);
	conn->streaming = NULL;
	conn->blocked = NULL;
	cmd->next_seg++;
	return append_send_rest(conn, cmd, error);
}

void
mh_imap_append_stream_abort(struct mh_imap_conn *conn, const char *why)
{
	GError *error = g_error_new(MH_IMAP_ERROR, MH_IMAP_ERROR_DISCONNECTED,
	                            "message transfer aborted: %s", why);

	imap_conn_fail(conn, error);
	g_error_free(error);
}

bool
mh_imap_append_stream_end_more(struct mh_imap_conn *conn, GError **error)
{
	struct mh_imap_cmd *cmd = conn->streaming;

	if (cmd == NULL)
		return append_stream_gone(conn, error);
	g_return_val_if_fail(cmd->stream_left == 0 && mh_imap_conn_has_cap(conn, "LITERAL+"),
	                     false);
	conn->streaming = NULL;
	conn->open_append = cmd; /* conn->blocked stays: nothing else goes out meanwhile */
	cmd->next_seg++;
	return true;
}

bool
mh_imap_append_stream_next(struct mh_imap_conn *conn, const char *flags, const char *date,
                           uint64_t size, GError **error)
{
	struct mh_imap_cmd *cmd = conn->open_append;
	struct cmd_seg seg = {.type = SEG_STREAM, .size = size};
	GString *text;

	g_return_val_if_fail(cmd != NULL && conn->streaming == NULL, false);
	if ((flags != NULL && strpbrk(flags, "\r\n") != NULL) ||
	    (date != NULL && strpbrk(date, "\r\n") != NULL)) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
		            "%s: a line break in the flags or date of an APPEND",
		            imap_conn_label(conn));
		return false;
	}
	conn->open_append = NULL;
	text = imap_cmd_text(cmd);
	if (flags != NULL)
		g_string_append_printf(text, " (%s)", flags);
	if (date != NULL)
		g_string_append_printf(text, " \"%s\"", date);
	g_string_append_c(text, ' ');
	g_array_append_val(cmd->segs, seg);
	return append_send_rest(conn, cmd, error);
}

bool
mh_imap_append_stream_close(struct mh_imap_conn *conn, GError **error)
{
	struct mh_imap_cmd *cmd = conn->open_append;

	if (cmd == NULL)
		return true;
	conn->open_append = NULL;
	conn->blocked = NULL;
	return append_send_rest(conn, cmd, error);
}

bool
mh_imap_append_stream_is_open(const struct mh_imap_conn *conn)
{
	return conn->open_append != NULL;
}
