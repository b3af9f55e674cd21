/* SPDX-License-Identifier: MIT */
#include "mem-pair.h"

#include <glib/gstdio.h>

void
mem_pair_open(struct pair *p, const char *template)
{
	p->dir = g_dir_make_tmp(template, NULL);
	g_assert_nonnull(p->dir);
	p->state_path = g_build_filename(p->dir, "state.sqlite", NULL);
	p->src = mh_mem_account_new("", '/');
	p->dst = mh_mem_account_new("", '.');
	g_assert_true(mh_mem_account_create(p->src, "Work", 0));
	g_assert_true(mh_mem_account_create(p->src, "Work/2020", 0));
}

void
mem_pair_close(struct pair *p)
{
	g_autoptr(GDir) dir = g_dir_open(p->dir, 0, NULL);
	const char *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *path = g_build_filename(p->dir, name, NULL);

		g_remove(path);
	}
	g_rmdir(p->dir);
	g_free(p->dir);
	g_free(p->state_path);
	mh_mem_account_unref(p->src);
	mh_mem_account_unref(p->dst);
}

struct mh_store *
mem_pair_factory(void *ctx, int side)
{
	struct pair *p = ctx;

	return mh_store_mem_new(side == 1 ? p->src : p->dst, side == 1 ? "host1" : "host2");
}
