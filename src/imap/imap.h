/* SPDX-License-Identifier: MIT */
/* mailhaul's IMAP4rev1 client (RFC 3501, RFC 9051): one connection over TCP with
 * implicit TLS, STARTTLS or cleartext, a pipelined command queue, SASL framing and
 * the commands a migration needs. Blocking I/O with timeouts; one connection is
 * used by one thread at a time.
 *
 * Ownership rules: strings passed in are borrowed for the call and copied when kept.
 * Responses handed to callbacks are borrowed for the duration of the callback. A
 * submitted command belongs to the connection, which frees it after its done
 * callback has run. */
#ifndef MH_IMAP_H
#define MH_IMAP_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "imap-error.h"
#include "imap-parser.h"
#include "imap-utf7.h"

enum mh_imap_tls_mode {
	MH_IMAP_TLS_AUTO,     /* STARTTLS if offered; cleartext only on loopback */
	MH_IMAP_TLS_IMPLICIT, /* TLS from the first byte (port 993) */
	MH_IMAP_TLS_STARTTLS, /* STARTTLS required */
	MH_IMAP_TLS_NONE,     /* cleartext, explicitly asked for (--notls) */
};

enum mh_imap_compress {
	MH_IMAP_COMPRESS_AUTO, /* COMPRESS=DEFLATE when offered, except on loopback */
	MH_IMAP_COMPRESS_OFF,
	MH_IMAP_COMPRESS_ON, /* when offered, loopback included */
};

struct mh_imap_settings {
	const char *host; /* name or address literal */
	uint16_t port;    /* 0 = 993 for IMPLICIT, else 143 */
	enum mh_imap_tls_mode tls;
	bool insecure;                  /* skip certificate and host name checks */
	const char *cafile;             /* trust these CAs instead of the system store */
	unsigned connect_timeout_ms;    /* 0 = 30 s */
	unsigned read_timeout_ms;       /* 0 = 120 s (servers delay failed logins 15 s) */
	unsigned max_pipeline;          /* commands in flight at once; 0 = 16 */
	const char *label;              /* prefix for log lines, e.g. "host1"; may be NULL */
	enum mh_imap_compress compress; /* for mh_imap_conn_compress() callers */
	struct mh_imap_parser_limits limits;
};

enum mh_imap_state {
	MH_IMAP_STATE_DISCONNECTED,
	MH_IMAP_STATE_GREETING,
	MH_IMAP_STATE_NOT_AUTHENTICATED,
	MH_IMAP_STATE_AUTHENTICATED,
	MH_IMAP_STATE_SELECTED,
	MH_IMAP_STATE_LOGOUT,
};

/* Credentials for mh_imap_conn_login(); all borrowed for the call. */
struct mh_imap_credentials {
	const char *user;      /* the mailbox to log in to */
	const char *authuser;  /* authenticate as this admin/master user, acting as @user
	                          (PLAIN with authzid), or NULL */
	const char *password;  /* of @authuser when set, else of @user */
	const char *mechanism; /* force "PLAIN", "LOGIN", "CRAM-MD5"; NULL = strongest */
	bool allow_cram_md5;   /* false: never CRAM-MD5 (imapsync --noauthmd5) */
	bool cleartext_ok;     /* the user asked for --notls: allow passwords in clear */
	const char *token;     /* an OAuth2 access token: OAUTHBEARER or XOAUTH2 instead of a
	                          password (@user is the mailbox) */
};

struct mh_imap_conn;
struct mh_imap_cmd;

/* Called for each untagged response while the command is in flight, oldest command
 * first; return true when the response was for this command (consumed). */
typedef bool mh_imap_untagged_cb(struct mh_imap_conn *conn, const struct mh_imap_response *r,
                                 void *ctx);

/* Called once when the command completed: @tagged is the tagged response (NULL when
 * the connection failed, then @error says why). */
typedef void mh_imap_done_cb(struct mh_imap_conn *conn, const struct mh_imap_response *tagged,
                             const GError *error, void *ctx);

enum mh_imap_cmd_flags {
	MH_IMAP_CMD_PRELOGIN = 1 << 0,  /* allowed before authentication */
	MH_IMAP_CMD_SENSITIVE = 1 << 1, /* carries secrets: the wire log redacts it */
	MH_IMAP_CMD_RETRIABLE = 1 << 2, /* safe to resend after a reconnect */
	MH_IMAP_CMD_PROBE = 1 << 3,     /* asks what the server may not know: a NO or BAD
	                                   answers it and is not counted as a refusal */
};

/* --- connection (imap-conn.c) --- */

/* Returns a new, unconnected connection; @set is copied. */
struct mh_imap_conn *mh_imap_conn_new(const struct mh_imap_settings *set);

/* Closes the socket without LOGOUT and frees; NULL is allowed. */
void mh_imap_conn_free(struct mh_imap_conn *conn);

/* Resolves, connects, negotiates TLS (implicit or STARTTLS as set), reads the greeting
 * and the capabilities (again after STARTTLS). */
bool mh_imap_conn_connect(struct mh_imap_conn *conn, GError **error);

/* Authenticates with a password (imap-auth.c): SASL CRAM-MD5 > PLAIN > LOGIN as both
 * sides allow, SASL-IR when offered, the LOGIN command as last resort; re-reads the
 * capabilities afterwards. Fails with MH_IMAP_ERROR_AUTH_MECH when no allowed
 * mechanism fits, MH_IMAP_ERROR_AUTH with the server's text when refused. */
bool mh_imap_conn_login(struct mh_imap_conn *conn, const struct mh_imap_credentials *cred,
                        GError **error);

/* Starts COMPRESS=DEFLATE (RFC 4978) when the server offers it; a no-op otherwise. */
bool mh_imap_conn_compress(struct mh_imap_conn *conn, GError **error);

/* Sends LOGOUT, waits for the answer (briefly), closes. */
void mh_imap_conn_logout(struct mh_imap_conn *conn);

enum mh_imap_state mh_imap_conn_state(const struct mh_imap_conn *conn);

/* Whether the server advertises capability @cap (ignoring case; "AUTH=PLAIN" works). */
bool mh_imap_conn_has_cap(const struct mh_imap_conn *conn, const char *cap);

/* The current capability list, borrowed until the capabilities change. */
const char *const *mh_imap_conn_caps(const struct mh_imap_conn *conn);

/* The greeting's human-readable text (borrowed), or NULL before connecting. */
const char *mh_imap_conn_greeting(const struct mh_imap_conn *conn);

/* Tagged NO and BAD answers received since the connection was made (Exchange ends a
 * session after about ten; callers reconnect before that). */
unsigned mh_imap_conn_errors(const struct mh_imap_conn *conn);

/* Gives up on the connection from inside a callback: the next wait closes it, and the
 * commands in flight (and the wait) end with @why, instead of reading every answer still
 * due. For a server that has become too slow to wait for. */
void mh_imap_conn_abandon(struct mh_imap_conn *conn, const GError *why);

/* The last tagged NO or BAD of the connection ("NO [CODE] text"), or NULL. */
const char *mh_imap_conn_last_refusal(const struct mh_imap_conn *conn);

/* APPENDLIMIT=N (RFC 7889) from the current capabilities, or 0 when not announced (or
 * announced without a number, which only limits per mailbox). */
uint64_t mh_imap_conn_appendlimit(const struct mh_imap_conn *conn);

/* "TLSv1.3" etc. when the connection is encrypted, else NULL. */
const char *mh_imap_conn_tls_version(const struct mh_imap_conn *conn);

/* How the connection was secured: "implicit TLS", "STARTTLS" or "cleartext". */
const char *mh_imap_conn_transport(const struct mh_imap_conn *conn);

/* Whether the peer address is a loopback address. */
bool mh_imap_conn_is_loopback(const struct mh_imap_conn *conn);

/* The mechanism that authenticated the session ("PLAIN", "LOGIN command"), or NULL. */
const char *mh_imap_conn_auth_mechanism(const struct mh_imap_conn *conn);

/* Whether UTF8=ACCEPT is enabled: mailbox names then travel as UTF-8. */
bool mh_imap_conn_utf8(const struct mh_imap_conn *conn);

/* Streams large literals (message bodies) to @sink instead of memory; NULL removes. */
void mh_imap_conn_set_literal_sink(struct mh_imap_conn *conn,
                                   const struct mh_imap_literal_sink *sink);

/* Inside a literal sink's begin(): the arguments before the literal in its list (see
 * mh_imap_parser_literal_siblings()). */
const GPtrArray *mh_imap_conn_literal_siblings(const struct mh_imap_conn *conn);

/* --- commands and the queue (imap-conn.c) --- */

/* Returns a new command; @fmt is printf-like text after the tag ("SELECT", "NOOP").
 * Append arguments with the mh_imap_cmd_add_* functions. */
struct mh_imap_cmd *mh_imap_cmd_new(unsigned flags, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Frees a command that was never submitted; NULL is allowed. */
void mh_imap_cmd_free(struct mh_imap_cmd *cmd);

/* Appends text verbatim (printf-like). */
void mh_imap_cmd_add(struct mh_imap_cmd *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Appends " " and @s as an atom, a quoted string or a literal, as needed. */
void mh_imap_cmd_add_astring(struct mh_imap_cmd *cmd, const char *s);

/* Appends " " and a mailbox name given in UTF-8 (encoded as modified UTF-7 unless
 * UTF8=ACCEPT is enabled on @conn). */
void mh_imap_cmd_add_mailbox(struct mh_imap_cmd *cmd, struct mh_imap_conn *conn, const char *name);

/* Appends " " and a secret astring (quoted or literal) in a wiped buffer; the command
 * must be MH_IMAP_CMD_SENSITIVE. */
void mh_imap_cmd_add_secret(struct mh_imap_cmd *cmd, const char *secret);

/* Appends " " and a literal with @data (a reference is taken): non-synchronising when
 * LITERAL+ (or LITERAL- for up to 4096 bytes) is offered, else after the server's
 * continuation. */
void mh_imap_cmd_add_literal(struct mh_imap_cmd *cmd, GBytes *data);

void mh_imap_cmd_set_callbacks(struct mh_imap_cmd *cmd, mh_imap_untagged_cb *untagged,
                               mh_imap_done_cb *done, void *ctx);

/* Queues @cmd (taking it); it is sent as soon as the pipeline allows. */
void mh_imap_cmd_submit(struct mh_imap_conn *conn, struct mh_imap_cmd *cmd);

/* Runs I/O until no command is queued or in flight. False when the connection
 * failed (every pending command's done callback has then run with the error). */
bool mh_imap_conn_drain(struct mh_imap_conn *conn, GError **error);

/* Runs I/O until at most @n commands are queued or in flight. */
bool mh_imap_conn_wait_below(struct mh_imap_conn *conn, unsigned n, GError **error);

/* Submits @cmd and waits for it. Returns true on OK; false with MH_IMAP_ERROR_NO or
 * _BAD and the server's text on NO/BAD, or the connection's error. When @tagged_r is
 * not NULL it receives the tagged response (caller frees), also on NO/BAD. */
bool mh_imap_cmd_run(struct mh_imap_conn *conn, struct mh_imap_cmd *cmd,
                     struct mh_imap_response **tagged_r, GError **error);

/* Starts an APPEND of @size bytes that the caller streams (RFC 3501 6.3.11): sends the
 * command up to the literal, waiting for the server's continuation when LITERAL+ is not
 * offered. @flags ("\\Seen $Label") and @date (an IMAP date-time as the source server
 * sent it) may be NULL. Then write exactly @size bytes with mh_imap_append_stream_write()
 * and finish with mh_imap_append_stream_end(); @done runs when the server answers (the
 * APPENDUID code is in the tagged response). Returns false with MH_IMAP_ERROR_NO when the
 * server refused before the literal (e.g. [OVERQUOTA]); @done has then already run. */
bool mh_imap_append_stream_begin(struct mh_imap_conn *conn, const char *mailbox, const char *flags,
                                 const char *date, uint64_t size, mh_imap_done_cb *done, void *ctx,
                                 GError **error);

/* Writes the next @len bytes of the streamed message. */
bool mh_imap_append_stream_write(struct mh_imap_conn *conn, const void *data, size_t len,
                                 GError **error);

/* Ends the streamed message; the command stays in flight until the server answers. */
bool mh_imap_append_stream_end(struct mh_imap_conn *conn, GError **error);

/* Gives up on a streamed message (the source failed): the connection cannot be used
 * again, as the server still expects bytes. */
void mh_imap_append_stream_abort(struct mh_imap_conn *conn, const char *why);

/* MULTIAPPEND (RFC 3502), only with LITERAL+: ends the streamed message like
 * mh_imap_append_stream_end() but keeps the command open for another message, which
 * mh_imap_append_stream_next() adds; nothing else is sent meanwhile. The command ends
 * with mh_imap_append_stream_close(); its @done then runs once for all its messages (the
 * APPENDUID code carries a UID set). */
bool mh_imap_append_stream_end_more(struct mh_imap_conn *conn, GError **error);

/* Adds the next message of an open MULTIAPPEND: @flags and @date as for
 * mh_imap_append_stream_begin(), then @size bytes to write as before. */
bool mh_imap_append_stream_next(struct mh_imap_conn *conn, const char *flags, const char *date,
                                uint64_t size, GError **error);

/* Ends an open MULTIAPPEND (no-op when none is open). */
bool mh_imap_append_stream_close(struct mh_imap_conn *conn, GError **error);

/* Whether a MULTIAPPEND is open, awaiting its next message. */
bool mh_imap_append_stream_is_open(const struct mh_imap_conn *conn);

/* --- commands (imap-cmd.c) --- */

enum mh_imap_mbox_attr {
	MH_IMAP_ATTR_NOSELECT = 1 << 0,
	MH_IMAP_ATTR_NOINFERIORS = 1 << 1,
	MH_IMAP_ATTR_NONEXISTENT = 1 << 2,
	MH_IMAP_ATTR_HASCHILDREN = 1 << 3,
	MH_IMAP_ATTR_HASNOCHILDREN = 1 << 4,
	MH_IMAP_ATTR_SUBSCRIBED = 1 << 5,
	MH_IMAP_ATTR_ALL = 1 << 8, /* special-use, RFC 6154 */
	MH_IMAP_ATTR_ARCHIVE = 1 << 9,
	MH_IMAP_ATTR_DRAFTS = 1 << 10,
	MH_IMAP_ATTR_FLAGGED = 1 << 11,
	MH_IMAP_ATTR_JUNK = 1 << 12,
	MH_IMAP_ATTR_SENT = 1 << 13,
	MH_IMAP_ATTR_TRASH = 1 << 14,
	MH_IMAP_ATTR_IMPORTANT = 1 << 15, /* Gmail, RFC 8457 */
	MH_IMAP_ATTR_INBOX = 1 << 16,     /* XLIST's \Inbox */
};

#define MH_IMAP_ATTR_SPECIAL_USE 0x1ff00u

struct mh_imap_folder {
	char *name;     /* owned; UTF-8 */
	char *raw_name; /* owned; as on the wire (modified UTF-7 unless UTF8=ACCEPT) */
	char sep;       /* hierarchy separator, '\0' for NIL */
	unsigned attrs; /* enum mh_imap_mbox_attr */
};

void mh_imap_folder_free(struct mh_imap_folder *f);

/* The attribute a LIST or XLIST answer names @name ("\Sent", "\Noselect", XLIST's
 * "\AllMail"; any case), or 0 for one mailhaul does not use. */
unsigned mh_imap_attr_from_name(const char *name);

/* Writes the special-use and \Noselect attributes of @attrs as "\Sent \Noselect". */
char *mh_imap_attrs_to_string(unsigned attrs);

/* LIST (with RETURN (SPECIAL-USE) where offered, XLIST as fallback for special
 * folders). Returns folders sorted by name in *folders_r (caller frees the array). */
bool mh_imap_list(struct mh_imap_conn *conn, const char *reference, const char *pattern,
                  GPtrArray **folders_r, GError **error);

/* LIST, and with LIST-STATUS (RFC 5819) each selectable folder's STATUS in the same
 * round trip: *status_r maps UTF-8 names to struct mh_imap_status_info * (caller frees),
 * or is NULL when the server lacks LIST-STATUS. */
bool mh_imap_list_status(struct mh_imap_conn *conn, const char *reference, const char *pattern,
                         GPtrArray **folders_r, GHashTable **status_r, GError **error);

/* LSUB: the subscribed folders' UTF-8 names (caller frees the array). */
bool mh_imap_lsub(struct mh_imap_conn *conn, GPtrArray **names_r, GError **error);

struct mh_imap_namespace {
	char *prefix; /* owned; UTF-8 */
	char sep;
};

struct mh_imap_namespaces {
	GPtrArray *personal; /* owned; struct mh_imap_namespace * */
	GPtrArray *other;
	GPtrArray *shared;
};

void mh_imap_namespaces_free(struct mh_imap_namespaces *ns);

/* NAMESPACE (RFC 2342); without the capability, one personal namespace "" with the
 * separator from LIST "" "". */
bool mh_imap_namespace(struct mh_imap_conn *conn, struct mh_imap_namespaces **ns_r, GError **error);

/* ID (RFC 2971): sends @client_kv (NULL-terminated key, value pairs) and returns the
 * server's pairs in *server_r (caller frees; NULL when the server sends NIL or lacks
 * the capability). */
bool mh_imap_id(struct mh_imap_conn *conn, const char *const *client_kv, GHashTable **server_r,
                GError **error);

/* ENABLE (RFC 5161) of space-separated @caps, when the server offers ENABLE. */
bool mh_imap_enable(struct mh_imap_conn *conn, const char *caps, GError **error);

/* CAPABILITY. */
bool mh_imap_capability(struct mh_imap_conn *conn, GError **error);

struct mh_imap_status_info {
	uint32_t messages;
	uint32_t uidnext;
	uint32_t uidvalidity;
	uint32_t unseen;
	uint64_t highestmodseq; /* 0 without CONDSTORE */
	uint64_t size;          /* STATUS=SIZE (RFC 8438), 0 when not offered */
};

/* STATUS with MESSAGES UIDNEXT UIDVALIDITY UNSEEN (+ HIGHESTMODSEQ with CONDSTORE). */
bool mh_imap_status(struct mh_imap_conn *conn, const char *mailbox,
                    struct mh_imap_status_info *info_r, GError **error);

/* STATUS of each of @mailboxes (char *, UTF-8), pipelined: *status_r maps the names
 * answered to struct mh_imap_status_info * (caller frees); a folder the server refused
 * (NO) is left out. False only when the connection failed. */
bool mh_imap_status_many(struct mh_imap_conn *conn, const GPtrArray *mailboxes,
                         GHashTable **status_r, GError **error);

/* The server's own lasting identifier of @mailbox, which no other mailbox shares: RFC
 * 8474's MAILBOXID where the server offers OBJECTID, else Dovecot's STATUS item X-GUID
 * (not announced; a server that does not know it refuses it, which is not counted as a
 * refusal). *id_r (caller frees) is NULL when the server gives none; *item_r names the
 * item asked. False only when the connection failed. */
bool mh_imap_mailbox_id(struct mh_imap_conn *conn, const char *mailbox, char **id_r,
                        const char **item_r, GError **error);

struct mh_imap_mailbox {
	uint32_t exists;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq; /* 0: no CONDSTORE or NOMODSEQ */
	bool read_only;
	GPtrArray *flags;          /* owned; char *, from FLAGS */
	GPtrArray *permanentflags; /* owned; char *, "\*" included when offered */
};

void mh_imap_mailbox_free(struct mh_imap_mailbox *mb);

/* SELECT (or EXAMINE when @read_only), with (CONDSTORE) where offered. */
bool mh_imap_select(struct mh_imap_conn *conn, const char *mailbox, bool read_only,
                    struct mh_imap_mailbox **mb_r, GError **error);

/* UNSELECT (RFC 3691; the caller checks the capability): leaves the selected mailbox
 * without expunging anything, as CLOSE would. */
bool mh_imap_unselect(struct mh_imap_conn *conn, GError **error);

/* Whether @criteria (a user's --search) are IMAP search keys (RFC 3501 6.4.4, with
 * OLDER/YOUNGER, MODSEQ and Gmail's X-GM-* keys) on one line: no CR, LF, NUL or other
 * control character, quotes and parentheses balanced, every key with its arguments.
 * MH_IMAP_ERROR_USAGE naming the fault otherwise. */
bool mh_imap_search_check(const char *criteria, GError **error);

/* UID SEARCH @criteria (raw search keys, e.g. "ALL" or "SINCE 1-Jan-2020"). Returns
 * ascending UIDs in *uids_r (GArray of guint32, caller frees). */
bool mh_imap_uid_search(struct mh_imap_conn *conn, const char *criteria, GArray **uids_r,
                        GError **error);

/* Receives each FETCH response (borrowed): @number is the sequence number, @items the
 * FETCH list. */
typedef void mh_imap_fetch_cb(struct mh_imap_conn *conn, uint32_t number, const GPtrArray *items,
                              void *ctx);

/* UID FETCH @uidset (@items), calling @cb for each message; waits for completion. */
bool mh_imap_uid_fetch(struct mh_imap_conn *conn, const char *uidset, const char *items,
                       mh_imap_fetch_cb *cb, void *ctx, GError **error);

/* UID FETCH with the CONDSTORE modifier (CHANGEDSINCE @changedsince, RFC 7162) when
 * @changedsince is not 0: only messages changed after that modification sequence. */
bool mh_imap_uid_fetch_since(struct mh_imap_conn *conn, const char *uidset, const char *items,
                             uint64_t changedsince, mh_imap_fetch_cb *cb, void *ctx,
                             GError **error);

/* APPEND @message to @mailbox with @flags ("\Seen $Label", may be NULL or "") and
 * @internaldate (NULL: the server's clock). *uidvalidity_r and *uid_r get APPENDUID's
 * values, or 0 when the server does not say. */
bool mh_imap_append(struct mh_imap_conn *conn, const char *mailbox, const char *flags,
                    GDateTime *internaldate, GBytes *message, uint32_t *uidvalidity_r,
                    uint32_t *uid_r, GError **error);

/* CREATE; an existing mailbox ([ALREADYEXISTS]) is not an error. */
bool mh_imap_create(struct mh_imap_conn *conn, const char *mailbox, GError **error);

/* SUBSCRIBE. */
bool mh_imap_subscribe(struct mh_imap_conn *conn, const char *mailbox, GError **error);

/* UID STORE @uidset @action (@flags), e.g. action "+FLAGS.SILENT". */
bool mh_imap_uid_store(struct mh_imap_conn *conn, const char *uidset, const char *action,
                       const char *flags, GError **error);

/* UID EXPUNGE @uidset with UIDPLUS, else EXPUNGE (all \Deleted messages). */
bool mh_imap_expunge(struct mh_imap_conn *conn, const char *uidset, GError **error);

/* --- Gmail's X-GM-EXT-1 and header search (imap-gmail.c) --- */

/* The labels of an X-GM-LABELS FETCH value (a list of atoms and strings) as UTF-8 names
 * (modified UTF-7 decoded unless @utf8; system labels such as "\\Inbox" as sent). Returns
 * a new array of char * (caller frees), or NULL when @list is not a list. */
GPtrArray *mh_imap_gm_labels_parse(const struct mh_imap_arg *list, bool utf8);

/* Formats UTF-8 @labels as the parenthesised list UID STORE X-GM-LABELS takes: system
 * labels ("\\Starred") as flags, the others modified UTF-7 (unless @utf8) as atoms or
 * quoted strings. Returns a new string (caller frees), or NULL with MH_IMAP_ERROR_USAGE
 * for a label no quoted string can carry. */
char *mh_imap_gm_labels_format(const GPtrArray *labels, bool utf8, GError **error);

/* UID STORE @uidset @action (@labels), @action being "+X-GM-LABELS", "-X-GM-LABELS" or
 * "X-GM-LABELS"; labels are UTF-8 (char *). Nothing is sent for no labels. */
bool mh_imap_uid_store_labels(struct mh_imap_conn *conn, const char *uidset, const char *action,
                              const GPtrArray *labels, GError **error);

/* UID SEARCH HEADER @field @value (both 7-bit; quoted as needed): ascending UIDs in
 * *uids_r (GArray of guint32, caller frees). MH_IMAP_ERROR_USAGE for 8-bit or line breaks. */
bool mh_imap_uid_search_header(struct mh_imap_conn *conn, const char *field, const char *value,
                               GArray **uids_r, GError **error);

/* Formats @dt as an IMAP date-time ("17-Jul-1996 02:44:25 -0700"); caller frees. */
char *mh_imap_format_date_time(GDateTime *dt);

/* Parses an IMAP date-time; NULL when malformed. Caller unrefs. */
GDateTime *mh_imap_parse_date_time(const char *s);

#endif
