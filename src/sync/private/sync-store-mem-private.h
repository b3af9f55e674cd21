/* SPDX-License-Identifier: MIT */
/* Internals of the memory store, shared by sync-store-mem*.c only. */
#ifndef MH_SYNC_STORE_MEM_PRIVATE_H
#define MH_SYNC_STORE_MEM_PRIVATE_H

#include "sync-store-mem.h"

#define DEFAULT_DATE "01-Jan-2020 12:00:00 +0000"

struct mem_msg {
	uint32_t uid;
	GBytes *bytes;
	char *flags;
	char *date;
	uint64_t modseq;
};

struct mem_folder {
	char *name;
	unsigned attrs;
	bool subscribed;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	GPtrArray *msgs;       /* struct mem_msg *, ascending UIDs */
	GHashTable *appenders; /* the ids of the connections that stored APPENDs here (a set) */
};

struct mh_mem_account {
	gint refs;
	GMutex lock;
	char *prefix;
	char sep;
	GHashTable *folders; /* name -> struct mem_folder * */
	uint32_t next_uidvalidity;
	unsigned rewrite;
	bool appenduid;
	unsigned fail_after; /* drop after this many more stored appends (0: never) */
	bool down_after_fault;
	bool down;        /* connecting fails */
	unsigned latency; /* microseconds added to every command */
	unsigned no_count;
	char *no_text;
	char *refuse;
	char *cut_on;                /* drop mid-APPEND for a message containing this, or NULL */
	char *cut_select;            /* drop at every SELECT of this folder, or NULL */
	unsigned refuse_next;        /* connections still to refuse (an outage) */
	unsigned refuse_after_fault; /* refuse_next once the fail_after fault fires */
	unsigned appends;
	unsigned last_store_id;
	unsigned sessions;      /* connected stores now */
	unsigned peak_sessions; /* the most at once */
	unsigned selects;       /* SELECT and EXAMINE commands answered */
};

/* An APPEND whose answer is still due. */
struct mem_answer {
	mh_store_append_done_cb *done;
	void *ctx;
	uint32_t uidvalidity;
	uint32_t uid;
	GError *error; /* owned; NULL for OK */
};

struct store_mem {
	struct mh_store base;
	struct mh_mem_account *acct; /* a reference */
	unsigned id;                 /* tells the account's connections apart */
	bool connected;
	GError *dropped; /* owned; the connection dropped: every call fails so until connect */
	char *selected;  /* owned; the selected folder, or NULL */
	bool writable;
	/* the APPEND being written */
	GByteArray *app;
	char *app_folder;
	char *app_flags;
	char *app_date;
	uint64_t app_size;
	mh_store_append_done_cb *app_done;
	void *app_ctx;
	GQueue answers; /* struct mem_answer * */
	struct mh_store_info info;
	char *last_refusal;
};

/* Fails with the state of the connection: dropped, or never connected. */
bool sync_mem_check(struct store_mem *sm, GError **error);

/* Refuses a command as a server's tagged NO does, counting it in the session's errors;
 * returns false. */
bool sync_mem_no(struct store_mem *sm, GError **error, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Returns the APPEND answers still due, oldest first, down to @keep of them. */
void sync_mem_deliver(struct store_mem *sm, guint keep);

/* The connection drops: answers still due fail (their messages may be stored). */
void sync_mem_drop(struct store_mem *sm, const char *why);

/* Ends the APPEND being written, if any: its answer is queued without a result, for
 * sync_mem_drop() to fail. */
void sync_mem_append_cancel(struct store_mem *sm);

/* The selected folder (the account lock held), or NULL with a BAD. */
struct mem_folder *sync_mem_selected(struct store_mem *sm, GError **error);

/* @flags plus @more as the server keeps them: unique, sorted, no \Recent. Caller frees. */
char *sync_mem_flags_norm(const char *flags, const char *more);

/* Stores @bytes in @f (the lock held); returns the new UID. */
uint32_t sync_mem_folder_store(struct mem_folder *f, GBytes *bytes, const char *flags,
                               const char *date);

/* sync-store-mem-msgs.c: the message verbs of the ops table. */
bool sync_mem_search(struct mh_store *st, const char *criteria, GArray **uids_r, GError **error);
bool sync_mem_fetch_meta(struct mh_store *st, const char *uidset, unsigned items,
                         uint64_t changedsince, mh_store_meta_cb *cb, void *ctx, GError **error);
bool sync_mem_fetch_bodies(struct mh_store *st, const GArray *uids,
                           const struct mh_store_body_sink *sink, GError **error);
bool sync_mem_append_begin(struct mh_store *st, const char *folder, const char *flags,
                           const char *date, uint64_t size, mh_store_append_done_cb *done,
                           void *ctx, GError **error);
bool sync_mem_append_write(struct mh_store *st, const void *data, size_t len, GError **error);
bool sync_mem_append_end(struct mh_store *st, GError **error);
void sync_mem_append_abort(struct mh_store *st, const char *why);
bool sync_mem_flush(struct mh_store *st, GError **error);
bool sync_mem_add_flags(struct mh_store *st, const char *uidset, const char *flags, GError **error);
bool sync_mem_remove_flags(struct mh_store *st, const char *uidset, const char *flags,
                           GError **error);
bool sync_mem_delete_msgs(struct mh_store *st, const char *uidset, GError **error);
bool sync_mem_add_labels(struct mh_store *st, const char *uidset, const GPtrArray *labels,
                         GError **error);
bool sync_mem_find_message_id(struct mh_store *st, const char *message_id, GArray **uids_r,
                              GError **error);

/* sync-store-mem-rewrite.c */

/* Rewrites the message in @msg as enum mh_mem_rewrite @how says. */
void sync_mem_rewrite(GByteArray *msg, unsigned how);

/* Appends to @out the raw lines (continuations included) of the header fields named in
 * MH_FINGERPRINT_FIELDS, in message order, then the empty line, as a server answers
 * BODY.PEEK[HEADER.FIELDS (...)]. */
void sync_mem_header_fields(const char *msg, size_t len, GString *out);

/* The value of the first header field @name of @msg, unfolded (caller frees), or NULL. */
char *sync_mem_header_value(const char *msg, size_t len, const char *name);

/* Whether @uid is in IMAP sequence set @set ("1:5,7,9:*"), "*" being @max. */
bool sync_mem_uid_in_set(const char *set, uint32_t uid, uint32_t max);

#endif
