/* SPDX-License-Identifier: MIT */
/* One folder pair's pass, shared by sync-folder.c (the steps) and sync-folder-list.c (the
 * listings of both sides). */
#ifndef MH_SYNC_FOLDER_PRIVATE_H
#define MH_SYNC_FOLDER_PRIVATE_H

#include "sync-private.h"

struct sync_map;

struct folder_run {
	struct sync_worker *w;
	struct mh_sync_folder_result *res;
	struct mh_store_box sbox, dbox, sstat, dstat;
	bool dst_exists;
	struct mh_state_folder sf;
	int found;
	GPtrArray *msgs;  /* struct sync_msg *, sorted by UID; NULL once copied */
	GArray *src_uids; /* every source UID, sorted (see folder_index_source()) */
	bool incremental; /* msgs holds only new and changed messages (CONDSTORE) */
	bool dst_quiet;   /* the destination as the last complete pass left it, every message
	                     a recorded copy: its UIDs are not listed (sync_folder_dst_quiet()) */
	bool narrow;      /* and the source only gained messages: see sync-folder-list.c */
	GArray *new_uids; /* narrow: the source UIDs listed from the recorded UIDNEXT on */
	uint64_t src_bytes_recorded; /* the source's bytes below sstat.uidnext: recorded with
	                                the counters (see sync_folder_count_source()) */
	struct sync_map *map;
	GArray *dst_uids;                   /* sorted */
	uint32_t copy_from;                 /* the lowest source UID this pass copies (0: none) */
	const struct mh_store_box *pre_src; /* borrowed; counters already read, or NULL */
	const struct mh_store_box *pre_dst;
	bool in_doubt;  /* the last pass left copies in flight (see folder_settle) */
	unsigned items; /* what the source listing asks (MH_STORE_META_*) */
};

/* The set of the source's UIDs (fr->src_uids) from a full listing, once the copy is done;
 * an incremental listing made it already. */
void sync_folder_index_source(struct folder_run *fr);

/* Lists the source folder (selected) with @items (MH_STORE_META_*): only what is new and
 * what changed when the state allows (CONDSTORE, same UIDVALIDITY), else every message. */
bool sync_folder_list_source(struct folder_run *fr, unsigned items, GError **error);

/* The same with fr->items, for sync_both(). */
bool sync_folder_list_source_items(struct folder_run *fr, GError **error);

/* The destination folder's UIDs (fr->dst_uids), sorted; none when it does not exist. */
bool sync_folder_list_dst(struct folder_run *fr, GError **error);

/* In an incremental listing, lists the source messages that have no record and were not
 * listed (a copy that failed last time, a destination message deleted since). */
bool sync_folder_list_unmapped(struct folder_run *fr, GError **error);

/* The source's message count and size into fr->res (while fr->msgs is there). */
void sync_folder_count_source(struct folder_run *fr);

/* Sets fr->dst_quiet (after the folders are selected, before they are listed). */
bool sync_folder_dst_quiet(struct folder_run *fr, GError **error);

/* In a narrow pass, reads the records of the new and the changed messages into a new
 * fr->map: 1 when done; 0 when a changed message has none, and then the pass is widened
 * (fr->map left NULL, both sides' UIDs listed); -1 with @error set. */
int sync_folder_narrow_map(struct folder_run *fr, GError **error);

/* After the copy of a narrow pass, with the destination's counters now in fr->dstat:
 * whether they show exactly this pass's copies added. When not, the pass is widened
 * (both sides' UIDs listed, every record read) for the full verification. */
bool sync_folder_narrow_check(struct folder_run *fr, GError **error);

#endif
