/* SPDX-License-Identifier: MIT */
/* Internals shared by the IMAP client's files; included only by the files of src/imap. */
#ifndef MH_IMAP_PRIVATE_H
#define MH_IMAP_PRIVATE_H

#include <openssl/ssl.h>
#include <zlib.h>

#include "imap.h"

/* --- socket and TLS (imap-net.c) --- */

struct imap_net {
	int fd;
	SSL_CTX *ctx;          /* owned */
	SSL *ssl;              /* owned; NULL in cleartext */
	bool loopback;         /* the connected peer is a loopback address */
	bool read_wants_write; /* the last SSL_read asked for POLLOUT */
	char peer[64];         /* numeric address, for messages */
	/* COMPRESS=DEFLATE (RFC 4978): raw deflate both ways once started */
	bool compress;
	z_stream zin;            /* inflates what the server sends */
	z_stream zout;           /* deflates what we send */
	unsigned char *zin_buf;  /* owned; compressed bytes read, not yet inflated */
	unsigned char *zout_buf; /* owned; compressed bytes not yet written */
	size_t zout_cap, zout_len, zout_pos;
	bool zin_full; /* inflate filled the caller's buffer: more may be waiting */
};

bool imap_net_connect(struct imap_net *net, const char *host, uint16_t port, unsigned timeout_ms,
                      GError **error);

/* TLS handshake on the connected socket, verifying the chain and @host unless
 * @insecure. */
bool imap_net_start_tls(struct imap_net *net, const char *host, bool insecure, const char *cafile,
                        unsigned timeout_ms, GError **error);

/* Returns bytes read (> 0), 0 when nothing is available now, -1 with an error (EOF is
 * MH_IMAP_ERROR_DISCONNECTED). */
gssize imap_net_read(struct imap_net *net, void *buf, size_t len, GError **error);

/* Returns bytes written (>= 0; 0 when the socket is full), -1 with an error. */
gssize imap_net_write(struct imap_net *net, const void *buf, size_t len, GError **error);

/* Whether decrypted bytes are waiting inside TLS (poll would not see them). */
bool imap_net_pending(const struct imap_net *net);

/* Waits up to @timeout_ms for readability (and writability if @want_write). Returns a
 * mask of POLLIN/POLLOUT, 0 on timeout, -1 with an error. */
int imap_net_poll(struct imap_net *net, bool want_write, unsigned timeout_ms, GError **error);

const char *imap_net_tls_version(const struct imap_net *net);

/* Starts COMPRESS=DEFLATE; @pending holds bytes already read after the server's OK,
 * which are compressed already. */
bool imap_net_start_compress(struct imap_net *net, const void *pending, size_t len, GError **error);

/* Whether compressed output is still waiting to be written (write with len 0 pushes it). */
bool imap_net_has_output(const struct imap_net *net);

void imap_net_close(struct imap_net *net);

/* --- commands (imap-conn.c) --- */

/* Handles a continuation for a command that drives its own exchange (AUTHENTICATE):
 * @text is the text after "+ ". Writes the answer with imap_conn_write_line(). */
typedef bool imap_continuation_cb(struct mh_imap_conn *conn, struct mh_imap_cmd *cmd,
                                  const char *text, void *ctx, GError **error);

/* Appends " " and @secret (an mh_secret buffer, taken) verbatim, e.g. a SASL initial
 * response. */
void imap_cmd_add_secret_raw(struct mh_imap_cmd *cmd, char *secret);

void imap_cmd_set_continuation(struct mh_imap_cmd *cmd, imap_continuation_cb *cb, void *ctx);

/* Writes one line (adding CRLF) for the command that awaits a continuation; @secret
 * lines are wiped from the output buffer once sent and logged redacted. */
bool imap_conn_write_line(struct mh_imap_conn *conn, const void *data, size_t len, bool secret,
                          GError **error);

/* Clears the capability list (it is re-read on demand). */
void imap_conn_forget_caps(struct mh_imap_conn *conn);

/* Sets the state, logging the change. */
void imap_conn_set_state(struct mh_imap_conn *conn, enum mh_imap_state state);

void imap_conn_set_auth_mechanism(struct mh_imap_conn *conn, const char *name);

bool imap_conn_is_secure(const struct mh_imap_conn *conn);

void imap_conn_set_utf8(struct mh_imap_conn *conn, bool on);

/* Settings as given (borrowed from @conn). */
const struct mh_imap_settings *imap_conn_settings(const struct mh_imap_conn *conn);

/* Parses a LIST/XLIST/LSUB response into a folder (caller frees), or NULL. */
struct mh_imap_folder *imap_folder_from_list(struct mh_imap_conn *conn,
                                             const struct mh_imap_response *r);

/* Decodes a mailbox name from the wire to UTF-8 (caller frees). */
char *imap_conn_decode_mailbox(struct mh_imap_conn *conn, const char *raw, GError **error);

/* The @i-th argument of @args, or NULL past the end. */
const struct mh_imap_arg *imap_args_nth(const GPtrArray *args, guint i);

/* The STATUS items (or LIST-STATUS's) this connection asks for, by its capabilities. */
const char *imap_status_items(struct mh_imap_conn *conn);

/* Fills @info from a STATUS answer's item list. */
void imap_status_parse_items(const struct mh_imap_arg *items, struct mh_imap_status_info *info);

/* Adds an untagged STATUS answer @r (alone, or inside LIST-STATUS, RFC 5819) to @status
 * (UTF-8 name -> struct mh_imap_status_info *); a malformed one is ignored. */
void imap_status_answer_add(struct mh_imap_conn *conn, GHashTable *status,
                            const struct mh_imap_response *r);

/* --- connection internals, shared by imap-conn.c and imap-cmdq.c --- */

enum cmd_seg_type {
	SEG_TEXT,
	SEG_SECRET,  /* quoted secret, wiped after sending */
	SEG_LITERAL, /* {n} + bytes, possibly secret */
	SEG_STREAM,  /* {n} + bytes the caller writes (mh_imap_append_stream_*) */
};

struct cmd_seg {
	enum cmd_seg_type type;
	GString *text;   /* owned; SEG_TEXT */
	char *secret;    /* owned mh_secret; SEG_SECRET, or a secret SEG_LITERAL */
	GBytes *literal; /* owned; SEG_LITERAL when not secret */
	uint64_t size;   /* SEG_STREAM */
};

struct mh_imap_cmd {
	char tag[16];
	unsigned flags;
	GArray *segs;      /* owned; struct cmd_seg */
	unsigned next_seg; /* the next segment to send */
	mh_imap_untagged_cb *untagged;
	mh_imap_done_cb *done;
	void *ctx;
	imap_continuation_cb *on_continuation;
	void *cont_ctx;
	struct mh_imap_response **keep_tagged; /* borrowed: where run() wants the reply */
	struct run_ctx *run;                   /* borrowed: mh_imap_cmd_run()'s state */
	uint64_t stream_left;                  /* SEG_STREAM bytes still to write */
};

struct run_ctx {
	bool done;
	GError *error;
};

struct mh_imap_conn {
	struct mh_imap_settings set; /* strings owned (host, cafile, label) */
	struct imap_net net;
	enum mh_imap_state state;
	bool secure;
	bool starttls_done;
	struct mh_imap_parser *parser; /* owned */
	GPtrArray *caps;               /* owned; char *, NULL-terminated */
	GHashTable *cap_set; /* owned; the strings of caps, looked up in any case; NULL with caps */
	char *greeting;      /* owned */
	unsigned errors;     /* tagged NO and BAD answers since connecting */
	GError *abandon;     /* owned; set by mh_imap_conn_abandon(), or NULL */
	char *last_refusal;  /* owned; the last tagged NO or BAD, as "NO [CODE] text" */
	char *auth_mech;     /* owned */
	GError *error;       /* owned; set once the connection failed */
	unsigned tag_counter;
	GQueue pending;              /* struct mh_imap_cmd *, not yet sent */
	GQueue inflight;             /* sent, waiting for the tagged reply */
	struct mh_imap_cmd *blocked; /* borrowed; in flight, waiting for "+" */
	unsigned char *out;          /* owned; fixed OUTBUF_SIZE, wiped on free */
	size_t out_len;
	GByteArray *in; /* owned; read but not yet parsed */
	size_t in_pos;
	bool utf8;
	bool hold_input;                    /* stop parsing after a tagged reply (STARTTLS) */
	bool salvaging;                     /* reading what a broken connection left */
	bool wake;                          /* the caller can proceed: stop pumping */
	struct mh_imap_cmd *stream_pending; /* borrowed; APPEND waiting to stream */
	struct mh_imap_cmd *streaming;      /* borrowed; APPEND whose bytes we write */
	struct mh_imap_cmd *open_append;    /* borrowed; MULTIAPPEND awaiting its next message */
	GError *stream_error;               /* owned; why stream_pending ended early */
};

/* imap-conn.c */
const char *imap_conn_label(const struct mh_imap_conn *conn);
bool imap_conn_out(struct mh_imap_conn *conn, const void *data, size_t len, GError **error);
bool imap_conn_out_secret(struct mh_imap_conn *conn, const void *data, size_t len, GError **error);
bool imap_conn_flush(struct mh_imap_conn *conn, GError **error);
void imap_conn_wire_log(struct mh_imap_conn *conn, const char *dir, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);
void imap_conn_fail(struct mh_imap_conn *conn, const GError *error);
void imap_conn_broke(struct mh_imap_conn *conn, GError **error);
bool imap_conn_step(struct mh_imap_conn *conn, GError **error);
bool imap_conn_check_usable(struct mh_imap_conn *conn, GError **error);
void imap_cmd_finish(struct mh_imap_conn *conn, struct mh_imap_cmd *cmd,
                     struct mh_imap_response *tagged, const GError *error, bool free_tagged);
bool imap_run_check_status(const struct mh_imap_response *r, GError **error);

/* imap-cmdq.c */
GString *imap_cmd_text(struct mh_imap_cmd *cmd);
bool imap_cmd_send_from(struct mh_imap_conn *conn, struct mh_imap_cmd *cmd, bool header_sent,
                        GError **error);
bool imap_conn_send_pending(struct mh_imap_conn *conn, GError **error);

#endif
