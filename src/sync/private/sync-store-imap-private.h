/* SPDX-License-Identifier: MIT */
/* The IMAP store's connection state, shared by sync-store-imap.c (folders, listings,
 * bodies, flags) and sync-store-imap-append.c (APPEND and MULTIAPPEND). */
#ifndef MH_SYNC_STORE_IMAP_PRIVATE_H
#define MH_SYNC_STORE_IMAP_PRIVATE_H

#include "sync-store.h"

struct append_batch;

struct store_imap {
	struct mh_store base;
	struct mh_imap_settings set;     /* strings owned */
	struct mh_imap_credentials cred; /* strings owned; password is a secret buffer */
	struct mh_imap_conn *conn;       /* owned */
	mh_token_get_cb *token_cb;       /* NULL: password credentials */
	void *token_ctx;
	struct mh_store_info info; /* strings borrowed from conn; valid while connected */
	bool connected;            /* info is valid */
	char *selected;            /* owned; the folder selected on conn now, or NULL */
	bool selected_writable;
	uint64_t selected_msgs; /* messages in it when selected, plus those appended since */
	uint32_t selected_uidvalidity;
	bool status_in_place_off; /* STATUS on the selected folder was not believed once */
	char *reopen; /* owned; the folder left for a STATUS, selected again before the next
	                 command that needs it, or NULL */
	bool reopen_writable;
	bool batch_off;             /* no MULTIAPPEND, as asked */
	struct append_batch *batch; /* the MULTIAPPEND being sent; valid while the connection
	                               says one is open */
};

static inline struct store_imap *
store_imap(struct mh_store *st)
{
	return (struct store_imap *)st;
}

/* The append verbs of struct mh_store_ops (see sync-store.h). */
bool imap_store_append_begin(struct mh_store *st, const char *folder, const char *flags,
                             const char *date, uint64_t size, mh_store_append_done_cb *done,
                             void *ctx, GError **error);
bool imap_store_append_write(struct mh_store *st, const void *data, size_t len, GError **error);
bool imap_store_append_end(struct mh_store *st, GError **error);
void imap_store_append_batching(struct mh_store *st, bool on);
void imap_store_append_abort(struct mh_store *st, const char *why);
bool imap_store_flush(struct mh_store *st, GError **error);

#endif
