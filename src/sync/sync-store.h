/* SPDX-License-Identifier: MIT */
/* The mailbox store interface the sync engine works against (isync's driver.h shape):
 * folders, message metadata, streamed message bodies, streamed appends, flags and
 * deletion. The engine never calls the IMAP client directly; sync-store-imap.c adapts
 * it. All callbacks receive borrowed data, valid for the duration of the call. */
#ifndef MH_SYNC_STORE_H
#define MH_SYNC_STORE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "imap.h"
#include "sync-token.h"

struct mh_store;

/* One message's metadata, borrowed for the callback. */
struct mh_store_meta {
	uint32_t uid;
	const char *flags;   /* "\Seen $Label", never NULL */
	const char *date;    /* INTERNALDATE as the server wrote it, or NULL */
	uint64_t size;       /* RFC822.SIZE */
	const char *headers; /* the fingerprint header fields, when asked for; else NULL */
	size_t headers_len;
	uint64_t gm_msgid;          /* X-GM-MSGID, when asked for and sent; else 0 */
	const GPtrArray *gm_labels; /* X-GM-LABELS (char *, UTF-8, system labels as "\\Inbox"),
	                               when asked for and sent; else NULL */
};

enum mh_store_meta_items {
	MH_STORE_META_FLAGS = 1 << 0,
	MH_STORE_META_DATE = 1 << 1,
	MH_STORE_META_SIZE = 1 << 2,
	MH_STORE_META_HEADERS = 1 << 3, /* the fields of MH_FINGERPRINT_FIELDS */
	MH_STORE_META_GMAIL = 1 << 4,   /* X-GM-MSGID and X-GM-LABELS (only with X-GM-EXT-1) */
};

/* What a connected store learnt about its server. */
struct mh_store_info {
	const char *greeting;     /* the greeting's text, or "" */
	const char *const *caps;  /* capability atoms after login, NULL-terminated */
	bool gmail_ext;           /* X-GM-EXT-1 */
	bool condstore;           /* CONDSTORE */
	uint64_t appendlimit;     /* APPENDLIMIT=N, 0 when not sent */
	unsigned errors;          /* NO and BAD answers since this connection was made */
	const char *last_refusal; /* the last of them, "NO [CODE] text", or NULL */
};

typedef void mh_store_meta_cb(const struct mh_store_meta *m, void *ctx);

/* Receives message bodies as they stream from the server. begin() says which message and
 * its size, data() the bytes in chunks, end() closes it. A message that vanished before
 * its body was sent gets missing() instead. */
struct mh_store_body_sink {
	void (*begin)(void *ctx, uint32_t uid, uint64_t size);
	void (*data)(void *ctx, const unsigned char *data, size_t len);
	void (*end)(void *ctx);
	void (*missing)(void *ctx, uint32_t uid);
	/* Asked before each further message is requested: false stops requesting (messages
	 * already requested still arrive). */
	bool (*more)(void *ctx);
	void *ctx;
};

/* Called when the server answered an append: @uid is the new message's UID (0 when the
 * server does not say), @error NULL on success. */
typedef void mh_store_append_done_cb(uint32_t uidvalidity, uint32_t uid, const GError *error,
                                     void *ctx);

struct mh_store_box {
	uint32_t exists;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint64_t size; /* total bytes when the server says (STATUS=SIZE), else 0 */
	bool size_known;
	bool all_keywords;         /* PERMANENTFLAGS has \* */
	GPtrArray *permanentflags; /* owned; char * */
};

void mh_store_box_clear(struct mh_store_box *box);

/* Frees a box from a list's *boxes_r. */
void mh_store_box_free(struct mh_store_box *box);

struct mh_store_ops {
	bool (*connect)(struct mh_store *st, GError **error);
	void (*close)(struct mh_store *st);
	/* Frees the store (closing it first when still open); see mh_store_free(). */
	void (*free)(struct mh_store *st);
	/* Folders (struct mh_imap_folder *) and the subscribed names (char *), owned; and,
	 * where the server can say so in the same round trip, each folder's counters
	 * (*boxes_r: name -> struct mh_store_box *, owned; else NULL). */
	bool (*list)(struct mh_store *st, GPtrArray **folders_r, GPtrArray **subscribed_r,
	             GHashTable **boxes_r, GError **error);
	/* The personal namespace: prefix (caller frees) and separator. */
	bool (*namespace)(struct mh_store *st, char **prefix_r, char *sep_r, GError **error);
	/* Counters without selecting: exists, uidvalidity, uidnext, highestmodseq, size. For
	 * the folder selected now, never from STATUS, which may answer from before this
	 * connection's own changes (RFC 3501 6.3.10): the IMAP store selects it afresh in the
	 * same mode (size_known is then false). */
	bool (*status)(struct mh_store *st, const char *folder, struct mh_store_box *box_r,
	               GError **error);
	/* Counters of @folders (char *), pipelined, without selecting: *boxes_r maps the
	 * folders answered to struct mh_store_box * (owned; a folder the server refused, or
	 * the one selected now, is left out). Optional: NULL asks status() one by one. */
	bool (*status_many)(struct mh_store *st, const GPtrArray *folders, GHashTable **boxes_r,
	                    GError **error);
	/* The server's own lasting identifier of @folder, which no other folder anywhere
	 * shares (MAILBOXID, Dovecot's X-GUID): *id_r (caller frees) NULL when it gives
	 * none; *kind_r names it ("X-GUID"). Optional. */
	bool (*mailbox_id)(struct mh_store *st, const char *folder, char **id_r,
	                   const char **kind_r, GError **error);
	bool (*select)(struct mh_store *st, const char *folder, bool writable,
	               struct mh_store_box *box_r, GError **error);
	bool (*create)(struct mh_store *st, const char *folder, GError **error);
	bool (*subscribe)(struct mh_store *st, const char *folder, GError **error);
	bool (*delete_folder)(struct mh_store *st, const char *folder, GError **error);
	/* UIDs of the selected folder matching IMAP search keys @criteria ("ALL"), in
	 * ascending order (GArray of guint32). */
	bool (*search)(struct mh_store *st, const char *criteria, GArray **uids_r, GError **error);
	/* Metadata of @uidset ("1:*", "5,7:9") in the selected folder; with @changedsince
	 * (CONDSTORE) only messages whose flags changed after that modification sequence. */
	bool (*fetch_meta)(struct mh_store *st, const char *uidset, unsigned items,
	                   uint64_t changedsince, mh_store_meta_cb *cb, void *ctx, GError **error);
	/* Streams the bodies of @uids (ascending) to @sink, pipelined. */
	bool (*fetch_bodies)(struct mh_store *st, const GArray *uids,
	                     const struct mh_store_body_sink *sink, GError **error);
	/* A streamed append into @folder; see mh_imap_append_stream_begin(). */
	bool (*append_begin)(struct mh_store *st, const char *folder, const char *flags,
	                     const char *date, uint64_t size, mh_store_append_done_cb *done,
	                     void *ctx, GError **error);
	bool (*append_write)(struct mh_store *st, const void *data, size_t len, GError **error);
	bool (*append_end)(struct mh_store *st, GError **error);
	void (*append_abort)(struct mh_store *st, const char *why);
	/* Waits until every append and command in flight is answered. */
	bool (*flush)(struct mh_store *st, GError **error);
	/* Whether APPENDs may go several per command (MULTIAPPEND, where the server offers it;
	 * on by default). A message of a refused batch fails with MH_SYNC_ERROR_BATCH: send
	 * it again with batching off. Optional. */
	void (*append_batching)(struct mh_store *st, bool on);
	/* Marks @uidset \Deleted and expunges them (only them where the server can). */
	bool (*delete_msgs)(struct mh_store *st, const char *uidset, GError **error);
	/* Adds @flags to @uidset in the selected folder (UID STORE +FLAGS.SILENT). */
	bool (*add_flags)(struct mh_store *st, const char *uidset, const char *flags,
	                  GError **error);
	/* Removes @flags from @uidset in the selected folder (UID STORE -FLAGS.SILENT). */
	bool (*remove_flags)(struct mh_store *st, const char *uidset, const char *flags,
	                     GError **error);
	/* Adds Gmail labels (char *, UTF-8) to @uidset in the selected folder (UID STORE
	 * +X-GM-LABELS, names in modified UTF-7). */
	bool (*add_labels)(struct mh_store *st, const char *uidset, const GPtrArray *labels,
	                   GError **error);
	/* UIDs in the selected folder whose Message-ID header is @message_id (UID SEARCH
	 * HEADER Message-ID), ascending (GArray of guint32). For servers that do not say
	 * which UID an APPEND got. */
	bool (*find_message_id)(struct mh_store *st, const char *message_id, GArray **uids_r,
	                        GError **error);
	/* Valid while connected; NULL before. */
	const struct mh_store_info *(*info)(struct mh_store *st);
	/* From a body sink callback: stop reading what was requested and drop the
	 * connection; fetch_bodies then fails with @why. */
	void (*abandon)(struct mh_store *st, const GError *why);
};

struct mh_store {
	const struct mh_store_ops *ops;
	char *label; /* owned; "host1" / "host2" for messages */
};

/* A store over one IMAP connection with @set and @cred (both copied, the password into a
 * secret buffer). */
struct mh_store *mh_store_imap_new(const struct mh_imap_settings *set,
                                   const struct mh_imap_credentials *cred, const char *label);

/* Makes an IMAP store authenticate with tokens from @cb (XOAUTH2/OAUTHBEARER), asking for
 * a fresh one at every connect and once more when the server refuses it as expired. */
void mh_store_imap_set_token(struct mh_store *st, mh_token_get_cb *cb, void *ctx);

/* Closes and frees; NULL is allowed. */
void mh_store_free(struct mh_store *st);

/* The longest UID set written into one command: Exchange refuses lines of more than
 * about 9,900 bytes (on premises; 10,500 in Microsoft 365), and the rest of a command
 * (tag, verb, items, flags) stays well under the difference. */
#define MH_STORE_UIDSET_BYTES 8000

/* Formats sorted UIDs as a compact UID set ("1:5,7"), at most @max UIDs from @from;
 * *next_r is the index after the last one used. Caller frees. */
char *mh_store_uidset(const GArray *uids, guint from, guint max, guint *next_r);

/* Like mh_store_uidset(), bounded by the runs written ("7:9" is one) and the UIDs they
 * hold: a command line of at most @max_runs ranges, however many UIDs they cover. A set
 * is never longer than MH_STORE_UIDSET_BYTES either, whatever the bounds. */
char *mh_store_uidset_runs(const GArray *uids, guint from, guint max_runs, guint max_uids,
                           guint *next_r);

#endif
