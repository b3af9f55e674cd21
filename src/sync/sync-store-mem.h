/* SPDX-License-Identifier: MIT */
/* A mailbox store held in process memory, behind struct mh_store_ops, so the engine's
 * crash, duplicate and rewrite cases run as unit tests. An account (folders, messages)
 * is an object of its own that several stores point at, as several IMAP connections
 * reach one mailbox; it has a lock, so engine workers may use it from their threads.
 * Knobs make it behave like servers that rewrite what they store, forget APPENDUID,
 * change UIDVALIDITY, drop a connection or refuse a message. */
#ifndef MH_SYNC_STORE_MEM_H
#define MH_SYNC_STORE_MEM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sync-store.h"

struct mh_mem_account;

/* How an account changes a message it is given by APPEND (flag enum). Messages added
 * with mh_mem_account_add() are stored as given. */
enum mh_mem_rewrite {
	MH_MEM_REWRITE_NONE = 0,
	MH_MEM_REWRITE_CRLF = 1 << 0,     /* adds CRLF to a message not ending in one (Courier) */
	MH_MEM_REWRITE_8BIT = 1 << 1,     /* replaces 8-bit bytes in the header with 'X' (Cyrus) */
	MH_MEM_REWRITE_RERENDER = 1 << 2, /* re-folds header fields and re-encodes the body
	                                     (base64, or a new MIME boundary) (Exchange) */
};

/* One stored message, as mh_mem_account_messages() returns it (all owned). */
struct mh_mem_msg {
	uint32_t uid;
	GBytes *bytes;
	char *flags; /* sorted, space-separated, never NULL */
	char *date;  /* INTERNALDATE, "01-Jan-2020 12:00:00 +0000" */
};

void mh_mem_msg_free(struct mh_mem_msg *m);

/* A new account with INBOX, personal namespace @prefix ("" or "INBOX.") and hierarchy
 * separator @sep. Reference counted; free with mh_mem_account_unref(). */
struct mh_mem_account *mh_mem_account_new(const char *prefix, char sep);

struct mh_mem_account *mh_mem_account_ref(struct mh_mem_account *a);

void mh_mem_account_unref(struct mh_mem_account *a);

/* Creates folder @name with special-use attributes @attrs (MH_IMAP_ATTR_*, 0 for none);
 * false when it exists. */
bool mh_mem_account_create(struct mh_mem_account *a, const char *name, unsigned attrs);

/* Stores a message as given (no rewrite, no fault) with @flags (may be NULL) and
 * INTERNALDATE @date (NULL: 01-Jan-2020 12:00:00 +0000); returns its UID, 0 when the
 * folder does not exist. */
uint32_t mh_mem_account_add(struct mh_mem_account *a, const char *folder, const char *msg,
                            size_t len, const char *flags, const char *date);

/* The messages of @folder in UID order (struct mh_mem_msg *; caller unrefs), or NULL when
 * the folder does not exist. */
GPtrArray *mh_mem_account_messages(struct mh_mem_account *a, const char *folder);

/* The folder's UIDVALIDITY, 0 when it does not exist. */
uint32_t mh_mem_account_uidvalidity(struct mh_mem_account *a, const char *folder);

/* Gives @folder a new UIDVALIDITY and renumbers its messages from UID 1 (a server that
 * rebuilt its index); false when the folder does not exist. */
bool mh_mem_account_renumber(struct mh_mem_account *a, const char *folder);

/* What APPEND does to messages from now on (enum mh_mem_rewrite bits). */
void mh_mem_account_set_rewrite(struct mh_mem_account *a, unsigned rewrite);

/* Whether an APPEND's answer says which UID the message got (APPENDUID; default on). */
void mh_mem_account_set_appenduid(struct mh_mem_account *a, bool on);

/* Fault: once @n more APPENDs have been stored, the connection that stored the last of
 * them drops before any answer still due is returned (the outcome-unknown case: those
 * appends fail with MH_IMAP_ERROR_DISCONNECTED although their messages are stored).
 * One shot; 0 disarms. */
void mh_mem_account_fail_after_appends(struct mh_mem_account *a, unsigned n);

/* With @on, the fault of mh_mem_account_fail_after_appends() also takes the server down:
 * connecting fails (MH_IMAP_ERROR_CONNECT) until this is called with false, so the run
 * ends there, as a killed one does. */
void mh_mem_account_set_down_after_fault(struct mh_mem_account *a, bool on);

/* Makes every command of the account's stores take @usec microseconds more (a network
 * round trip), so that runs in parallel really overlap. */
void mh_mem_account_set_latency(struct mh_mem_account *a, unsigned usec);

/* Fault: the next @n APPENDs are answered "NO @text" and not stored. */
void mh_mem_account_append_no(struct mh_mem_account *a, unsigned n, const char *text);

/* Fault: every APPEND of a message containing @needle is answered NO ("Message contains
 * invalid header", as Cyrus) and not stored, for good; NULL stops refusing. */
void mh_mem_account_refuse(struct mh_mem_account *a, const char *needle);

/* Fault: every APPEND of a message containing @needle loses the connection in the middle
 * of the literal (the message is not stored), for good: a link that cannot carry it. NULL
 * stops. */
void mh_mem_account_cut_on(struct mh_mem_account *a, const char *needle);

/* Fault: every SELECT (or EXAMINE) of @folder loses the connection, for good: a folder
 * that cannot progress. NULL stops. */
void mh_mem_account_cut_select(struct mh_mem_account *a, const char *folder);

/* With the fault of mh_mem_account_fail_after_appends() armed: once it fires, the next @n
 * connections are refused (MH_IMAP_ERROR_CONNECT), as during a server restart. */
void mh_mem_account_refuse_connects_after_fault(struct mh_mem_account *a, unsigned n);

/* The most connections (stores) that were connected to the account at once. */
unsigned mh_mem_account_peak_sessions(struct mh_mem_account *a);

/* How many SELECT and EXAMINE commands the account has answered. */
unsigned mh_mem_account_selects(struct mh_mem_account *a);

/* How many connections (stores) have stored APPENDs into @folder; 0 when none, or when
 * the folder does not exist. */
unsigned mh_mem_account_appenders(struct mh_mem_account *a, const char *folder);

/* How many APPENDs the account has stored (including outcome-unknown ones). */
unsigned mh_mem_account_appends(struct mh_mem_account *a);

/* A new, unconnected store on @a (which it references) labelled @label ("host1"). Each
 * store is one connection: its own selected folder and its own appends in flight.
 * Free with mh_store_free(). */
struct mh_store *mh_store_mem_new(struct mh_mem_account *a, const char *label);

#endif
