/* SPDX-License-Identifier: MIT */
/* Run locks: one run per account pair, and one writer per destination account. A lock is
 * an flock(2) on a small file that also says who holds it ("pid PID since EPOCH"), for the
 * message a second run prints. flock locks belong to the open file description, so two
 * engines in one process exclude each other as two processes do, and the kernel releases
 * a lock when its holder dies (even by SIGKILL): the text a dead holder left is only ever
 * read while the lock is held by a live one, so it cannot block anyone. */
#ifndef MH_SYNC_LOCK_H
#define MH_SYNC_LOCK_H

#include <glib.h>
#include <stdbool.h>

#include "sync-error.h"

struct mh_sync_lock;

/* Takes the lock on @path (created mode 0600, with missing parent directories 0700) for
 * @what ("account pair", "destination account"), a phrase for messages. When another
 * holds it: without @wait fails with MH_SYNC_ERROR_LOCKED, "another mailhaul run (pid N,
 * since TIME) is using this WHAT (lock PATH): ..."; with @wait logs one line saying so and
 * waits, polling, until the lock is free or *@interrupted (may be NULL) is set (then
 * MH_SYNC_ERROR_INTERRUPTED). Other failures are MH_SYNC_ERROR_STATE. Returns a new lock,
 * free with mh_sync_lock_release(). */
struct mh_sync_lock *mh_sync_lock_take(const char *path, const char *what, bool wait,
                                       volatile int *interrupted, GError **error);

/* Who holds the lock on @path now, as the message above names the holder ("pid N, since
 * TIME"), or NULL when nobody does (or the file cannot be read). Takes nothing: a holder
 * found may be gone the moment after. Returns a new string, caller frees. */
char *mh_sync_lock_holder(const char *path);

/* Empties the lock file's text and releases the lock; NULL allowed. The file stays (an
 * unlinked lock file would let a waiter and a newcomer lock two different files). */
void mh_sync_lock_release(struct mh_sync_lock *lock);

/* Returns a new string, caller frees: the lock file of the destination account
 * @user on @host port @port, $XDG_STATE_HOME/mailhaul/locks/account-<name>-<hash>.lock,
 * where the host and user are compared ignoring case. */
char *mh_sync_lock_account_path(const char *user, const char *host, unsigned port);

#endif
