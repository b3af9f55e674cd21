/* SPDX-License-Identifier: MIT */
/* Two memory accounts and a state file in a scratch directory: the pair of servers the
 * engine's in-process tests (test-sync-engine, test-sync-split) run between. */
#ifndef MH_TEST_MEM_PAIR_H
#define MH_TEST_MEM_PAIR_H

#include "sync-engine.h"
#include "sync-store-mem.h"

struct pair {
	struct mh_mem_account *src; /* '/' separator, with Work and Work/2020 */
	struct mh_mem_account *dst; /* '.' separator, empty */
	char *dir;                  /* the scratch directory */
	char *state_path;           /* the state file in it */
	unsigned total;             /* free for the test: what it put on the source */
};

/* Makes the scratch directory (named after @template, "mh-NAME-XXXXXX"), the accounts
 * and the source's two folders. */
void mem_pair_open(struct pair *p, const char *template);

/* Removes the directory and everything in it, and frees the accounts. */
void mem_pair_close(struct pair *p);

/* mh_sync_store_factory over @ctx, a struct pair *: side 1 is the source. */
struct mh_store *mem_pair_factory(void *ctx, int side);

#endif
