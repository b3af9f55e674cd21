/* SPDX-License-Identifier: MIT */
/* One IMAP connection: state, capabilities, the output buffer, reading and dispatching
 * responses to the queued commands (imap-cmdq.c builds and sends them), waiting, STARTTLS
 * (RFC 3501 6.2.1, re-reading capabilities afterwards) and the greeting. */
#include "imap-private.h"

#include <poll.h>
#include <string.h>

#include "mh-log.h"
#include "mh-secret.h"

#define OUTBUF_SIZE (64 * 1024)
#define READ_CHUNK  (64 * 1024)
#define INBUF_MAX   (16 * 1024 * 1024)

static const char *const state_names[] = {
	[MH_IMAP_STATE_DISCONNECTED] = "disconnected",
	[MH_IMAP_STATE_GREETING] = "greeting",
	[MH_IMAP_STATE_NOT_AUTHENTICATED] = "not authenticated",
	[MH_IMAP_STATE_AUTHENTICATED] = "authenticated",
	[MH_IMAP_STATE_SELECTED] = "selected",
	[MH_IMAP_STATE_LOGOUT] = "logout",
};

static bool conn_pump(struct mh_imap_conn *conn, GError **error);

const char *
imap_conn_label(const struct mh_imap_conn *conn)
{
	return conn->set.label != NULL ? conn->set.label : conn->set.host;
}

void
imap_conn_set_state(struct mh_imap_conn *conn, enum mh_imap_state state)
{
	if (conn->state == state)
		return;
	mh_log_debug(MH_LOG_CAT_IMAP, "%s: %s -> %s", imap_conn_label(conn),
	             state_names[conn->state], state_names[state]);
	conn->state = state;
}

struct mh_imap_conn *
mh_imap_conn_new(const struct mh_imap_settings *set)
{
	struct mh_imap_conn *conn = g_new0(struct mh_imap_conn, 1);

	conn->set = *set;
	conn->set.host = g_strdup(set->host);
	conn->set.cafile = g_strdup(set->cafile);
	conn->set.label = g_strdup(set->label);
	if (conn->set.port == 0)
		conn->set.port = set->tls == MH_IMAP_TLS_IMPLICIT ? 993 : 143;
	if (conn->set.connect_timeout_ms == 0)
		conn->set.connect_timeout_ms = 30000;
	if (conn->set.read_timeout_ms == 0)
		conn->set.read_timeout_ms = 120000;
	if (conn->set.max_pipeline == 0)
		conn->set.max_pipeline = 16;
	conn->net.fd = -1;
	conn->parser = mh_imap_parser_new(&conn->set.limits);
	conn->out = g_malloc(OUTBUF_SIZE);
	conn->in = g_byte_array_new();
	g_queue_init(&conn->pending);
	g_queue_init(&conn->inflight);
	return conn;
}

/* Completes @cmd: calls its done callback and frees it. */
void
imap_cmd_finish(struct mh_imap_conn *conn, struct mh_imap_cmd *cmd, struct mh_imap_response *tagged,
                const GError *error, bool free_tagged)
{
	if (cmd->done != NULL)
		cmd->done(conn, tagged, error, cmd->ctx);
	if (cmd->run != NULL) {
		cmd->run->done = true;
		if (error != NULL && cmd->run->error == NULL)
			cmd->run->error = g_error_copy(error);
	}
	if (cmd->keep_tagged != NULL)
		*cmd->keep_tagged = tagged;
	else if (free_tagged)
		mh_imap_response_free(tagged);
	mh_imap_cmd_free(cmd);
}

/* Marks the connection failed and completes every command with @error. */
void
imap_conn_fail(struct mh_imap_conn *conn, const GError *error)
{
	struct mh_imap_cmd *cmd;

	if (conn->error == NULL)
		conn->error = g_error_copy(error);
	imap_net_close(&conn->net);
	imap_conn_set_state(conn, MH_IMAP_STATE_DISCONNECTED);
	conn->blocked = NULL;
	conn->streaming = NULL;
	conn->open_append = NULL;
	while ((cmd = g_queue_pop_head(&conn->inflight)) != NULL)
		imap_cmd_finish(conn, cmd, NULL, conn->error, false);
	while ((cmd = g_queue_pop_head(&conn->pending)) != NULL)
		imap_cmd_finish(conn, cmd, NULL, conn->error, false);
}

void
mh_imap_conn_free(struct mh_imap_conn *conn)
{
	GError *closed;

	if (conn == NULL)
		return;
	closed = g_error_new(MH_IMAP_ERROR, MH_IMAP_ERROR_DISCONNECTED, "connection closed");
	imap_conn_fail(conn, closed);
	g_error_free(closed);
	mh_imap_parser_free(conn->parser);
	g_clear_error(&conn->stream_error);
	imap_conn_forget_caps(conn);
	mh_secret_wipe(conn->out, OUTBUF_SIZE);
	g_free(conn->out);
	mh_secret_wipe(conn->in->data, conn->in->len);
	g_byte_array_free(conn->in, true);
	g_free(conn->greeting);
	g_free(conn->last_refusal);
	g_clear_error(&conn->abandon);
	g_free(conn->auth_mech);
	g_clear_error(&conn->error);
	g_free((char *)conn->set.host);
	g_free((char *)conn->set.cafile);
	g_free((char *)conn->set.label);
	g_free(conn);
}

bool
imap_conn_check_usable(struct mh_imap_conn *conn, GError **error)
{
	if (conn->error != NULL) {
		g_propagate_error(error, g_error_copy(conn->error));
		return false;
	}
	if (conn->net.fd < 0) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_DISCONNECTED, "not connected");
		return false;
	}
	return true;
}

/* --- output --- */

static bool
conn_flush_some(struct mh_imap_conn *conn, GError **error)
{
	gssize n = imap_net_write(&conn->net, conn->out, conn->out_len, error);

	/* With nothing of ours left, the call only pushes pending compressed bytes. */
	if (n < 0)
		return false;
	if (n > 0) {
		memmove(conn->out, conn->out + n, conn->out_len - (size_t)n);
		conn->out_len -= (size_t)n;
		mh_secret_wipe(conn->out + conn->out_len, (size_t)n);
	}
	return true;
}

/* Reads what the server sent into conn->in without parsing it (no dispatch happens
 * here, so writers can call it safely). */
static bool
conn_read_raw(struct mh_imap_conn *conn, GError **error)
{
	unsigned char buf[READ_CHUNK];
	gssize n;

	if (conn->in->len - conn->in_pos >= INBUF_MAX)
		return true;
	n = imap_net_read(&conn->net, buf, sizeof(buf), error);
	if (n > 0)
		g_byte_array_append(conn->in, buf, (guint)n);
	return n >= 0;
}

/* Writes the whole output buffer, reading (not parsing) input meanwhile so that a
 * server blocked on its own output cannot deadlock us. */
bool
imap_conn_flush(struct mh_imap_conn *conn, GError **error)
{
	while (conn->out_len > 0 || imap_net_has_output(&conn->net)) {
		int ready = imap_net_poll(&conn->net, true, conn->set.read_timeout_ms, error);

		if (ready < 0)
			return false;
		if (ready == 0) {
			g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TIMEOUT,
			            "%s: timed out sending to the server", imap_conn_label(conn));
			return false;
		}
		if ((ready & POLLIN) && !conn_read_raw(conn, error))
			return false;
		if ((ready & POLLOUT) && !conn_flush_some(conn, error))
			return false;
	}
	return true;
}

bool
imap_conn_out(struct mh_imap_conn *conn, const void *data, size_t len, GError **error)
{
	const unsigned char *p = data;

	while (len > 0) {
		size_t room = OUTBUF_SIZE - conn->out_len;
		size_t n = MIN(room, len);

		memcpy(conn->out + conn->out_len, p, n);
		conn->out_len += n;
		p += n;
		len -= n;
		if (conn->out_len == OUTBUF_SIZE && !imap_conn_flush(conn, error))
			return false;
	}
	return true;
}

/* Sends a secret: flushes it at once and wipes it from the buffer. */
bool
imap_conn_out_secret(struct mh_imap_conn *conn, const void *data, size_t len, GError **error)
{
	return imap_conn_out(conn, data, len, error) && imap_conn_flush(conn, error);
}

void
imap_conn_wire_log(struct mh_imap_conn *conn, const char *dir, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	if (!mh_log_enabled(MH_LOG_CAT_WIRE))
		return;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	mh_log_debug(MH_LOG_CAT_WIRE, "%s %s %s", imap_conn_label(conn), dir, msg);
}

bool
imap_conn_write_line(struct mh_imap_conn *conn, const void *data, size_t len, bool secret,
                     GError **error)
{
	if (secret)
		imap_conn_wire_log(conn, "C:", "<redacted %zu bytes>", len);
	else
		imap_conn_wire_log(conn, "C:", "%.*s", (int)MIN(len, 200), (const char *)data);
	if (secret) {
		if (!imap_conn_out_secret(conn, data, len, error))
			return false;
	} else if (!imap_conn_out(conn, data, len, error)) {
		return false;
	}
	return imap_conn_out(conn, "\r\n", 2, error) && imap_conn_flush(conn, error);
}

/* --- receiving --- */

/* Capability names compare in any case (RFC 3501 9). */
static guint
cap_hash(gconstpointer key)
{
	guint h = 5381;

	for (const char *p = key; *p != '\0'; p++)
		h = h * 33 + (guchar)g_ascii_tolower(*p);
	return h;
}

static gboolean
cap_equal(gconstpointer a, gconstpointer b)
{
	return g_ascii_strcasecmp(a, b) == 0;
}

static void
conn_set_caps(struct mh_imap_conn *conn, const GPtrArray *args)
{
	imap_conn_forget_caps(conn);
	conn->caps = g_ptr_array_new_with_free_func(g_free);
	conn->cap_set = g_hash_table_new(cap_hash, cap_equal);
	for (guint i = 0; args != NULL && i < args->len; i++) {
		const struct mh_imap_arg *a = args->pdata[i];

		if (a->type == MH_IMAP_ARG_ATOM) {
			char *cap = g_strdup(a->str);

			g_ptr_array_add(conn->caps, cap);
			g_hash_table_add(conn->cap_set, cap);
		}
	}
	g_ptr_array_add(conn->caps, NULL);
	conn->caps->len--; /* keep the NULL terminator out of the count */
}

void
imap_conn_forget_caps(struct mh_imap_conn *conn)
{
	g_clear_pointer(&conn->cap_set, g_hash_table_destroy);
	if (conn->caps != NULL)
		g_ptr_array_free(conn->caps, true);
	conn->caps = NULL;
}

static void
conn_apply_code(struct mh_imap_conn *conn, const struct mh_imap_response *r)
{
	if (r->code == NULL)
		return;
	if (strcmp(r->code, "CAPABILITY") == 0)
		conn_set_caps(conn, r->code_args);
	else if (strcmp(r->code, "ALERT") == 0)
		mh_log(MH_LOG_WARN, "%s: the server says: %s", imap_conn_label(conn), r->text);
}

static void
conn_log_response(struct mh_imap_conn *conn, const struct mh_imap_response *r)
{
	const char *who = r->kind == MH_IMAP_RESP_TAGGED     ? r->tag
	                  : r->kind == MH_IMAP_RESP_UNTAGGED ? "*"
	                                                     : "+";

	if (!mh_log_enabled(MH_LOG_CAT_WIRE))
		return;
	if (r->kind == MH_IMAP_RESP_CONTINUATION) {
		imap_conn_wire_log(conn, "S:", "+ %s", r->text);
	} else if (r->status != MH_IMAP_STATUS_NONE) {
		imap_conn_wire_log(conn, "S:", "%s %s%s%s%s %s", who,
		                   mh_imap_status_name(r->status), r->code != NULL ? " [" : "",
		                   r->code != NULL ? r->code : "", r->code != NULL ? "]" : "",
		                   r->text);
	} else if (r->has_number) {
		imap_conn_wire_log(conn, "S:", "* %u %s (%u args)", r->number, r->name,
		                   r->args != NULL ? r->args->len : 0);
	} else {
		imap_conn_wire_log(conn, "S:", "* %s (%u args)", r->name,
		                   r->args != NULL ? r->args->len : 0);
	}
}

static bool
conn_on_greeting(struct mh_imap_conn *conn, const struct mh_imap_response *r, GError **error)
{
	if (r->kind != MH_IMAP_RESP_UNTAGGED || r->status == MH_IMAP_STATUS_NONE) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL,
		            "%s: the server's greeting is not an IMAP greeting",
		            imap_conn_label(conn));
		return false;
	}
	if (r->status == MH_IMAP_STATUS_BYE) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_BYE,
		            "%s: the server refused the connection: %s", imap_conn_label(conn),
		            r->text);
		return false;
	}
	g_free(conn->greeting);
	conn->greeting = g_strdup(r->text);
	conn_apply_code(conn, r);
	imap_conn_set_state(conn, r->status == MH_IMAP_STATUS_PREAUTH
	                                  ? MH_IMAP_STATE_AUTHENTICATED
	                                  : MH_IMAP_STATE_NOT_AUTHENTICATED);
	return true;
}

static bool
conn_on_untagged(struct mh_imap_conn *conn, const struct mh_imap_response *r, GError **error)
{
	if (conn->state == MH_IMAP_STATE_GREETING)
		return conn_on_greeting(conn, r, error);
	conn_apply_code(conn, r);
	if (r->status == MH_IMAP_STATUS_NONE && g_strcmp0(r->name, "CAPABILITY") == 0)
		conn_set_caps(conn, r->args);
	if (r->status == MH_IMAP_STATUS_BYE && conn->state != MH_IMAP_STATE_LOGOUT) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_BYE,
		            "%s: the server closed the session: %s", imap_conn_label(conn),
		            r->text);
		return false;
	}
	for (GList *l = conn->inflight.head; l != NULL; l = l->next) {
		struct mh_imap_cmd *cmd = l->data;

		if (cmd->untagged != NULL && cmd->untagged(conn, r, cmd->ctx))
			return true;
	}
	return true;
}

static bool
conn_on_continuation(struct mh_imap_conn *conn, const struct mh_imap_response *r, GError **error)
{
	struct mh_imap_cmd *cmd = conn->blocked;

	if (cmd == NULL) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL,
		            "%s: the server asked for a continuation nobody waits for",
		            imap_conn_label(conn));
		return false;
	}
	if (cmd->on_continuation != NULL)
		return cmd->on_continuation(conn, cmd, r->text, cmd->cont_ctx, error);
	conn->blocked = NULL;
	return imap_cmd_send_from(conn, cmd, true, error);
}

/* Takes @r: dispatches and frees it (or hands it to the command's owner). */
static bool
conn_on_tagged(struct mh_imap_conn *conn, struct mh_imap_response *r, GError **error)
{
	struct mh_imap_cmd *cmd = NULL;

	for (GList *l = conn->inflight.head; l != NULL; l = l->next) {
		if (strcmp(((struct mh_imap_cmd *)l->data)->tag, r->tag) == 0) {
			cmd = l->data;
			g_queue_delete_link(&conn->inflight, l);
			break;
		}
	}
	if (cmd == NULL) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL,
		            "%s: the server answered a command never sent (tag %s)",
		            imap_conn_label(conn), r->tag);
		mh_imap_response_free(r);
		return false;
	}
	conn_apply_code(conn, r);
	if ((r->status == MH_IMAP_STATUS_NO || r->status == MH_IMAP_STATUS_BAD) &&
	    !(cmd->flags & MH_IMAP_CMD_PROBE)) {
		conn->errors++;
		g_free(conn->last_refusal);
		conn->last_refusal = g_strdup_printf(
			"%s %s%s%s%s", r->status == MH_IMAP_STATUS_NO ? "NO" : "BAD",
			r->code != NULL ? "[" : "", r->code != NULL ? r->code : "",
			r->code != NULL ? "] " : "", r->text != NULL ? r->text : "");
	}
	if (conn->blocked == cmd)
		conn->blocked = NULL;
	if (conn->streaming == cmd)
		conn->streaming = NULL;
	if (conn->open_append == cmd)
		conn->open_append = NULL;
	if (conn->stream_pending == cmd) {
		conn->stream_pending = NULL;
		conn->wake = true;
		if (r->status != MH_IMAP_STATUS_OK && conn->stream_error == NULL)
			imap_run_check_status(r, &conn->stream_error);
	}
	imap_cmd_finish(conn, cmd, r, NULL, cmd->keep_tagged == NULL);
	return true;
}

static bool
conn_dispatch(struct mh_imap_conn *conn, struct mh_imap_response *r, GError **error)
{
	bool ok;

	conn_log_response(conn, r);
	switch (r->kind) {
	case MH_IMAP_RESP_TAGGED:
		return conn_on_tagged(conn, r, error);
	case MH_IMAP_RESP_CONTINUATION:
		ok = conn_on_continuation(conn, r, error);
		break;
	default:
		ok = conn_on_untagged(conn, r, error);
		break;
	}
	mh_imap_response_free(r);
	return ok;
}

/* Parses and dispatches everything buffered in conn->in. */
static bool
conn_parse_input(struct mh_imap_conn *conn, GError **error)
{
	while (conn->in_pos < conn->in->len) {
		g_autoptr(GError) perr = NULL;
		size_t used = 0;
		enum mh_parse_result res =
			mh_imap_parser_feed(conn->parser, conn->in->data + conn->in_pos,
		                            conn->in->len - conn->in_pos, &used, &perr);

		conn->in_pos += used;
		if (res == MH_PARSE_ERROR) {
			g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL,
			            "%s: protocol error: the server sent a malformed response (%s)",
			            imap_conn_label(conn), perr != NULL ? perr->message : "?");
			return false;
		}
		if (res == MH_PARSE_DONE) {
			struct mh_imap_response *r = mh_imap_parser_take(conn->parser);
			bool tagged = r->kind == MH_IMAP_RESP_TAGGED;

			if (!conn_dispatch(conn, r, error))
				return false;
			if (tagged && conn->hold_input)
				return true;
		}
		if (conn->net.fd < 0)
			break;
	}
	if (conn->in_pos == conn->in->len) {
		g_byte_array_set_size(conn->in, 0);
		conn->in_pos = 0;
	}
	return true;
}

/* One round of I/O: parse what is buffered, else send what may be sent and wait for
 * the socket. */
static bool
conn_pump(struct mh_imap_conn *conn, GError **error)
{
	bool want_write;
	int ready;

	if (conn->in_pos < conn->in->len)
		return conn_parse_input(conn, error);
	if (!imap_conn_send_pending(conn, error))
		return false;
	if (conn->wake) {
		conn->wake = false;
		return true;
	}
	want_write = conn->out_len > 0 || imap_net_has_output(&conn->net);
	if (imap_net_pending(&conn->net)) {
		ready = POLLIN;
	} else {
		ready = imap_net_poll(&conn->net, want_write, conn->set.read_timeout_ms, error);
		if (ready < 0)
			return false;
		if (ready == 0) {
			g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TIMEOUT,
			            "%s: no answer from the server within %u s",
			            imap_conn_label(conn), conn->set.read_timeout_ms / 1000);
			return false;
		}
	}
	if ((ready & POLLOUT) && want_write && !conn_flush_some(conn, error))
		return false;
	if ((ready & POLLIN) && !conn_read_raw(conn, error))
		return false;
	return conn_parse_input(conn, error);
}

/* Fails the connection after *@error broke it. A server that answers and hangs up
 * (Exchange: "NO Request is throttled...", then "* BYE", then the close) can do so while
 * we are still sending: the send fails, or the stream ends, before its last words were
 * parsed. Those words say why and for how long, so what is left is read without waiting
 * and dispatched first: the tagged answers complete their commands, and a BYE replaces
 * *@error with its own text. */
void
imap_conn_broke(struct mh_imap_conn *conn, GError **error)
{
	GError *bye = NULL;

	if (!conn->salvaging && conn->net.fd >= 0 && *error != NULL &&
	    g_error_matches(*error, MH_IMAP_ERROR, MH_IMAP_ERROR_DISCONNECTED)) {
		conn->salvaging = true;
		for (;;) {
			guint before = conn->in->len;
			GError *ignored = NULL;

			if (!conn_read_raw(conn, &ignored) || conn->in->len == before) {
				g_clear_error(&ignored);
				break;
			}
		}
		if (!conn_parse_input(conn, &bye) &&
		    !g_error_matches(bye, MH_IMAP_ERROR, MH_IMAP_ERROR_BYE))
			g_clear_error(&bye);
		conn->salvaging = false;
	}
	if (bye != NULL) {
		g_clear_error(error);
		*error = bye;
	}
	imap_conn_fail(conn, *error);
}

/* Runs one pump round; on failure fails the whole connection. */
bool
imap_conn_step(struct mh_imap_conn *conn, GError **error)
{
	GError *local = NULL;

	if (conn_pump(conn, &local))
		return true;
	imap_conn_broke(conn, &local);
	g_propagate_error(error, local);
	return false;
}

bool
mh_imap_conn_wait_below(struct mh_imap_conn *conn, unsigned n, GError **error)
{
	while (g_queue_get_length(&conn->pending) + g_queue_get_length(&conn->inflight) > n) {
		if (conn->abandon != NULL) {
			/* Outside any callback: the commands in flight end with the reason. */
			g_autoptr(GError) why = g_steal_pointer(&conn->abandon);

			imap_conn_fail(conn, why);
			g_propagate_error(error, g_error_copy(why));
			return false;
		}
		if (!imap_conn_check_usable(conn, error) || !imap_conn_step(conn, error))
			return false;
	}
	return true;
}

void
mh_imap_conn_abandon(struct mh_imap_conn *conn, const GError *why)
{
	if (conn->abandon == NULL)
		conn->abandon = g_error_copy(why);
}

bool
mh_imap_conn_drain(struct mh_imap_conn *conn, GError **error)
{
	return mh_imap_conn_wait_below(conn, 0, error);
}

bool
imap_run_check_status(const struct mh_imap_response *r, GError **error)
{
	if (r->status == MH_IMAP_STATUS_OK)
		return true;
	g_set_error(error, MH_IMAP_ERROR,
	            r->status == MH_IMAP_STATUS_NO ? MH_IMAP_ERROR_NO : MH_IMAP_ERROR_BAD,
	            "%s%s%s%s", r->code != NULL ? "[" : "", r->code != NULL ? r->code : "",
	            r->code != NULL ? "] " : "", r->text);
	return false;
}

bool
mh_imap_cmd_run(struct mh_imap_conn *conn, struct mh_imap_cmd *cmd,
                struct mh_imap_response **tagged_r, GError **error)
{
	struct run_ctx rc = {0};
	struct mh_imap_response *tagged = NULL;
	bool ok;

	cmd->run = &rc;
	cmd->keep_tagged = &tagged;
	mh_imap_cmd_submit(conn, cmd);
	while (!rc.done) {
		if (!imap_conn_step(conn, NULL))
			break;
	}
	if (rc.error != NULL) {
		g_propagate_error(error, rc.error);
		return false;
	}
	ok = imap_run_check_status(tagged, error);
	if (tagged_r != NULL)
		*tagged_r = tagged;
	else
		mh_imap_response_free(tagged);
	return ok;
}

/* --- connecting --- */

static bool
conn_read_greeting(struct mh_imap_conn *conn, GError **error)
{
	unsigned saved = conn->set.read_timeout_ms;
	GError *local = NULL;
	bool ok = true;

	/* A server greets at once; silence usually means a TLS port spoken to in cleartext. */
	conn->set.read_timeout_ms = MIN(saved, 30000u);
	imap_conn_set_state(conn, MH_IMAP_STATE_GREETING);
	while (ok && conn->state == MH_IMAP_STATE_GREETING)
		ok = imap_conn_step(conn, &local);
	conn->set.read_timeout_ms = saved;
	if (ok)
		return true;
	if (g_error_matches(local, MH_IMAP_ERROR, MH_IMAP_ERROR_TIMEOUT) && !conn->secure) {
		g_set_error(
			error, MH_IMAP_ERROR, MH_IMAP_ERROR_TIMEOUT,
			"%s port %u sent no greeting within %u s: if this port expects TLS from "
			"the first byte (usually 993), use --ssl",
			conn->set.host, conn->set.port, MIN(saved, 30000u) / 1000);
		g_error_free(local);
		return false;
	}
	g_propagate_error(error, local);
	return false;
}

static bool
conn_starttls(struct mh_imap_conn *conn, GError **error)
{
	struct mh_imap_cmd *cmd = mh_imap_cmd_new(MH_IMAP_CMD_PRELOGIN, "STARTTLS");
	GError *local = NULL;
	bool ok;

	conn->hold_input = true;
	ok = mh_imap_cmd_run(conn, cmd, NULL, error);
	conn->hold_input = false;
	if (!ok) {
		g_prefix_error(error, "%s: STARTTLS refused: ", imap_conn_label(conn));
		return false;
	}
	/* Bytes after the OK arrived in cleartext and could be injected (CVE-2011-0411
	 * family): a well-behaved server sends nothing before the handshake. */
	if (conn->in_pos < conn->in->len) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL,
		            "%s: protocol error: data after the STARTTLS answer",
		            imap_conn_label(conn));
		return false;
	}
	imap_conn_forget_caps(conn);
	if (!imap_net_start_tls(&conn->net, conn->set.host, conn->set.insecure, conn->set.cafile,
	                        conn->set.read_timeout_ms, &local)) {
		imap_conn_fail(conn, local);
		g_propagate_error(error, local);
		return false;
	}
	conn->secure = true;
	conn->starttls_done = true;
	return mh_imap_capability(conn, error);
}

bool
mh_imap_conn_compress(struct mh_imap_conn *conn, GError **error)
{
	struct mh_imap_cmd *cmd;
	GError *local = NULL;
	bool ok;

	if (conn->net.compress || !mh_imap_conn_has_cap(conn, "COMPRESS=DEFLATE"))
		return true;
	cmd = mh_imap_cmd_new(0, "COMPRESS DEFLATE");
	conn->hold_input = true;
	ok = mh_imap_cmd_run(conn, cmd, NULL, error);
	conn->hold_input = false;
	if (!ok) {
		g_prefix_error(error, "%s: COMPRESS refused: ", imap_conn_label(conn));
		return false;
	}
	/* What arrived after the OK is compressed already: hand it to the inflater. */
	if (!imap_net_start_compress(&conn->net, conn->in->data + conn->in_pos,
	                             conn->in->len - conn->in_pos, &local)) {
		imap_conn_fail(conn, local);
		g_propagate_error(error, local);
		return false;
	}
	g_byte_array_set_size(conn->in, 0);
	conn->in_pos = 0;
	mh_log_debug(MH_LOG_CAT_IMAP, "%s: COMPRESS=DEFLATE on", imap_conn_label(conn));
	return true;
}

static bool
conn_negotiate_tls(struct mh_imap_conn *conn, GError **error)
{
	bool offered;

	if (conn->caps == NULL && !mh_imap_capability(conn, error))
		return false;
	offered = mh_imap_conn_has_cap(conn, "STARTTLS");
	if (offered)
		return conn_starttls(conn, error);
	if (conn->set.tls == MH_IMAP_TLS_AUTO && conn->net.loopback) {
		mh_log_debug(MH_LOG_CAT_IMAP,
		             "%s: no STARTTLS on a loopback server, staying in "
		             "cleartext",
		             imap_conn_label(conn));
		return true;
	}
	g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TLS,
	            "%s does not offer STARTTLS: use --ssl for implicit TLS (port 993), or "
	            "--notls to connect without encryption",
	            conn->set.host);
	return false;
}

bool
mh_imap_conn_connect(struct mh_imap_conn *conn, GError **error)
{
	GError *local = NULL;

	g_return_val_if_fail(conn->net.fd < 0 && conn->error == NULL, false);
	if (!imap_net_connect(&conn->net, conn->set.host, conn->set.port,
	                      conn->set.connect_timeout_ms, &local))
		goto fail;
	if (conn->set.tls == MH_IMAP_TLS_IMPLICIT) {
		if (!imap_net_start_tls(&conn->net, conn->set.host, conn->set.insecure,
		                        conn->set.cafile, conn->set.connect_timeout_ms, &local))
			goto fail;
		conn->secure = true;
	}
	if (!conn_read_greeting(conn, error))
		return false;
	if (conn->set.tls == MH_IMAP_TLS_IMPLICIT || conn->set.tls == MH_IMAP_TLS_NONE)
		return conn->caps != NULL || mh_imap_capability(conn, error);
	if (conn->state != MH_IMAP_STATE_NOT_AUTHENTICATED) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TLS,
		            "%s: the server skipped login (PREAUTH) before STARTTLS could run",
		            conn->set.host);
		return false;
	}
	return conn_negotiate_tls(conn, error);
fail:
	imap_conn_fail(conn, local);
	g_propagate_error(error, local);
	return false;
}

void
mh_imap_conn_logout(struct mh_imap_conn *conn)
{
	struct mh_imap_cmd *cmd;
	unsigned saved = conn->set.read_timeout_ms;

	if (conn->net.fd < 0 || conn->error != NULL)
		return;
	imap_conn_set_state(conn, MH_IMAP_STATE_LOGOUT);
	conn->set.read_timeout_ms = MIN(saved, 5000u);
	cmd = mh_imap_cmd_new(MH_IMAP_CMD_PRELOGIN, "LOGOUT");
	mh_imap_cmd_run(conn, cmd, NULL, NULL);
	conn->set.read_timeout_ms = saved;
	imap_net_close(&conn->net);
	imap_conn_set_state(conn, MH_IMAP_STATE_DISCONNECTED);
}

/* --- accessors --- */

enum mh_imap_state
mh_imap_conn_state(const struct mh_imap_conn *conn)
{
	return conn->state;
}

bool
mh_imap_conn_has_cap(const struct mh_imap_conn *conn, const char *cap)
{
	return conn->cap_set != NULL && g_hash_table_contains(conn->cap_set, cap);
}

const char *const *
mh_imap_conn_caps(const struct mh_imap_conn *conn)
{
	static const char *const none[] = {NULL};

	return conn->caps != NULL ? (const char *const *)conn->caps->pdata : none;
}

const char *
mh_imap_conn_greeting(const struct mh_imap_conn *conn)
{
	return conn->greeting;
}

unsigned
mh_imap_conn_errors(const struct mh_imap_conn *conn)
{
	return conn->errors;
}

const char *
mh_imap_conn_last_refusal(const struct mh_imap_conn *conn)
{
	return conn->last_refusal;
}

uint64_t
mh_imap_conn_appendlimit(const struct mh_imap_conn *conn)
{
	static const char prefix[] = "APPENDLIMIT=";
	guint64 v = 0;
	char *end = NULL;

	if (conn->caps == NULL)
		return 0;
	for (guint i = 0; i < conn->caps->len; i++) {
		const char *c = conn->caps->pdata[i];

		if (g_ascii_strncasecmp(c, prefix, sizeof(prefix) - 1) != 0)
			continue;
		v = g_ascii_strtoull(c + sizeof(prefix) - 1, &end, 10);
		if (end == c + sizeof(prefix) - 1 || *end != '\0')
			return 0;
		return v;
	}
	return 0;
}

const char *
mh_imap_conn_tls_version(const struct mh_imap_conn *conn)
{
	return imap_net_tls_version(&conn->net);
}

const char *
mh_imap_conn_transport(const struct mh_imap_conn *conn)
{
	if (!conn->secure)
		return "cleartext";
	return conn->starttls_done ? "STARTTLS" : "implicit TLS";
}

bool
mh_imap_conn_is_loopback(const struct mh_imap_conn *conn)
{
	return conn->net.loopback;
}

bool
imap_conn_is_secure(const struct mh_imap_conn *conn)
{
	return conn->secure;
}

const char *
mh_imap_conn_auth_mechanism(const struct mh_imap_conn *conn)
{
	return conn->auth_mech;
}

void
imap_conn_set_auth_mechanism(struct mh_imap_conn *conn, const char *name)
{
	g_free(conn->auth_mech);
	conn->auth_mech = g_strdup(name);
}

bool
mh_imap_conn_utf8(const struct mh_imap_conn *conn)
{
	return conn->utf8;
}

void
imap_conn_set_utf8(struct mh_imap_conn *conn, bool on)
{
	conn->utf8 = on;
}

const struct mh_imap_settings *
imap_conn_settings(const struct mh_imap_conn *conn)
{
	return &conn->set;
}

const GPtrArray *
mh_imap_conn_literal_siblings(const struct mh_imap_conn *conn)
{
	return mh_imap_parser_literal_siblings(conn->parser);
}

void
mh_imap_conn_set_literal_sink(struct mh_imap_conn *conn, const struct mh_imap_literal_sink *sink)
{
	mh_imap_parser_set_sink(conn->parser, sink);
}
