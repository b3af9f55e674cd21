/* SPDX-License-Identifier: MIT */
/* Knowing the accounts: whether the two sides of a run are one mailbox (a copy-pasted
 * --host2 line), decided from what the user gave and what the servers say, so that a sync
 * of a mailbox with itself is refused before anything is written. */
#ifndef MH_SYNC_ACCOUNTS_H
#define MH_SYNC_ACCOUNTS_H

#include <glib.h>
#include <stdbool.h>

#include "sync-engine.h"

/* Whether @a and @b name the same server port and user: the ports are equal, the users
 * equal ignoring case, and the host names equal ignoring case or resolving
 * (getaddrinfo) to at least one common address ("localhost" and "127.0.0.1" do). A host
 * that does not resolve is compared by name only. False when either host is NULL. */
bool mh_sync_endpoints_same(const struct mh_sync_endpoint *a, const struct mh_sync_endpoint *b);

/* The check, once both stores are connected and listed (@src_folders, @dst_folders:
 * struct mh_imap_folder *, borrowed). When the two sides are one mailbox: a run that
 * writes fails with MH_SYNC_ERROR_USAGE and one line saying why it was decided; a
 * verify_only run logs a warning and goes on. Folder counters come from @src_boxes /
 * @dst_boxes (name -> struct mh_store_box, from LIST-STATUS; NULL: none) where they hold
 * the folder, else from STATUS commands to both stores;
 * fails with their error when one fails. */
bool sync_accounts_check(const struct mh_sync_options *opts, struct mh_store *src,
                         const GPtrArray *src_folders, GHashTable *src_boxes, struct mh_store *dst,
                         const GPtrArray *dst_folders, GHashTable *dst_boxes, GError **error);

#endif
