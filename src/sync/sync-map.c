/* SPDX-License-Identifier: MIT */
/* The folder's UID map in memory: the state's records of one folder pair (source UID ->
 * destination UID, size, flags last carried), and this pass's matches, as one array of
 * 24-byte records sorted by source UID, searched by bisection. A big folder's map was a
 * hash table of malloc'd records with their strings: about 130 bytes a message, 26 MB at
 * 200,000. */
#include "sync-private.h"

/* Records put out of order wait here (sorted) until this many, then are merged in: a pass
 * adds few (matches, labels), a reload many but in order. */
#define MAP_ADDED_MAX 1024

struct sync_map {
	GArray *recs;  /* struct sync_rec, sorted by src_uid, unique */
	GArray *added; /* struct sync_rec, sorted, none in recs: put out of order */
};

struct sync_map *
sync_map_new(void)
{
	struct sync_map *map = g_new0(struct sync_map, 1);

	map->recs = g_array_new(false, false, sizeof(struct sync_rec));
	map->added = g_array_new(false, false, sizeof(struct sync_rec));
	return map;
}

void
sync_map_free(struct sync_map *map)
{
	if (map == NULL)
		return;
	g_array_unref(map->recs);
	g_array_unref(map->added);
	g_free(map);
}

/* The index of the first of the @n elements at @base (@stride bytes each, sorted by the
 * uint32 each starts with; with @indirect, pointers to such elements) whose key is not
 * below @key. The search starts at @from when
 * that key is below @key, galloping forward: the lookups of a pass mostly come in
 * ascending order, and then each costs a step or two instead of a bisection of the whole
 * array (on a rerun of a folder of 200,000 messages, bisections were a third of the
 * engine's own time). */
guint
sync_uid_lower_bound(const void *base, gsize stride, bool indirect, guint n, uint32_t key,
                     guint from)
{
#define KEY_AT(i)                                                                            \
	(indirect ? **(const uint32_t *const *)(const void *)((const char *)base +           \
	                                                      (gsize)(i) * sizeof(gpointer)) \
	          : *(const uint32_t *)(const void *)((const char *)base + (gsize)(i)*stride))
	guint lo = 0, hi = MIN(from, n), step = 1;

	if (from < n && KEY_AT(from) < key) {
		/* Every key before lo is below @key. */
		lo = from + 1;
		hi = lo;
		while (hi < n && KEY_AT(hi) < key) {
			lo = hi + 1;
			hi = hi + step < n ? hi + step : n;
			step *= 2;
		}
	} else if (from < n && KEY_AT(from) == key) {
		return from;
	}
	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;

		if (KEY_AT(mid) < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
#undef KEY_AT
}

bool
sync_uids_has_at(const GArray *uids, uint32_t uid, guint *at)
{
	*at = sync_uid_lower_bound(uids->data, sizeof(guint32), false, uids->len, uid, *at);
	return *at < uids->len && g_array_index(uids, guint32, *at) == uid;
}

struct sync_rec *
sync_map_find_at(struct sync_map *map, uint32_t src_uid, guint *at)
{
	const GArray *recs = sync_map_all(map);

	*at = sync_uid_lower_bound(recs->data, sizeof(struct sync_rec), false, recs->len, src_uid,
	                           *at);
	return *at < recs->len && g_array_index(recs, struct sync_rec, *at).src_uid == src_uid
	               ? &g_array_index(recs, struct sync_rec, *at)
	               : NULL;
}

/* The index of @uid in @a, or where it would go (*found_r false). */
static guint
map_search(const GArray *a, uint32_t uid, bool *found_r)
{
	guint i =
		sync_uid_lower_bound(a->data, sizeof(struct sync_rec), false, a->len, uid, a->len);

	*found_r = i < a->len && g_array_index(a, struct sync_rec, i).src_uid == uid;
	return i;
}

static void
map_merge(struct sync_map *map)
{
	GArray *all;
	guint i = 0, k = 0;

	if (map->added->len == 0)
		return;
	all = g_array_sized_new(false, false, sizeof(struct sync_rec),
	                        map->recs->len + map->added->len);
	while (i < map->recs->len || k < map->added->len) {
		const struct sync_rec *a =
			i < map->recs->len ? &g_array_index(map->recs, struct sync_rec, i) : NULL;
		const struct sync_rec *b =
			k < map->added->len ? &g_array_index(map->added, struct sync_rec, k) : NULL;

		if (b == NULL || (a != NULL && a->src_uid < b->src_uid)) {
			g_array_append_vals(all, a, 1);
			i++;
		} else {
			g_array_append_vals(all, b, 1);
			k++;
		}
	}
	g_array_unref(map->recs);
	map->recs = all;
	g_array_set_size(map->added, 0);
}

struct sync_rec *
sync_map_find(struct sync_map *map, uint32_t src_uid)
{
	bool found;
	guint i = map_search(map->recs, src_uid, &found);

	if (found)
		return &g_array_index(map->recs, struct sync_rec, i);
	i = map_search(map->added, src_uid, &found);
	return found ? &g_array_index(map->added, struct sync_rec, i) : NULL;
}

void
sync_map_put(struct sync_map *map, const struct sync_rec *rec)
{
	struct sync_rec *old;
	bool found;
	guint i;

	/* Past every record: a load, in order. */
	if (map->added->len == 0 &&
	    (map->recs->len == 0 ||
	     g_array_index(map->recs, struct sync_rec, map->recs->len - 1).src_uid <
	             rec->src_uid)) {
		g_array_append_vals(map->recs, rec, 1);
		return;
	}
	old = sync_map_find(map, rec->src_uid);
	if (old != NULL) {
		*old = *rec;
		return;
	}
	i = map_search(map->added, rec->src_uid, &found);
	g_array_insert_vals(map->added, i, rec, 1);
	if (map->added->len >= MAP_ADDED_MAX)
		map_merge(map);
}

const GArray *
sync_map_all(struct sync_map *map)
{
	map_merge(map);
	return map->recs;
}

guint
sync_map_size(const struct sync_map *map)
{
	return map->recs->len + map->added->len;
}

void
sync_map_drop(struct sync_map *map, const GArray *uids)
{
	GArray *recs;
	guint kept = 0;

	if (uids->len == 0)
		return;
	recs = (GArray *)sync_map_all(map);
	for (guint i = 0; i < recs->len; i++) {
		const struct sync_rec *r = &g_array_index(recs, struct sync_rec, i);

		if (!sync_uids_has(uids, r->src_uid))
			g_array_index(recs, struct sync_rec, kept++) = *r;
	}
	g_array_set_size(recs, kept);
}

static void
map_on_row(const struct mh_state_msg *m, void *ctx)
{
	struct sync_rec r = {
		.src_uid = m->src_uid,
		.dst_uid = m->dst_uid,
		.size = m->size,
		.flags = g_intern_string(m->flags),
	};

	sync_map_put(ctx, &r);
}

bool
sync_map_load(struct sync_map *map, struct mh_state *st, int64_t folder_id, uint32_t from,
              bool with_flags, GError **error)
{
	return mh_state_msgs_scan(st, folder_id, from, with_flags, map_on_row, map, error);
}

int
sync_map_load_uids(struct sync_map *map, struct mh_state *st, int64_t folder_id, const GArray *uids,
                   GError **error)
{
	int all = 1;

	for (guint i = 0; i < uids->len; i++) {
		struct mh_state_msg *m = NULL;
		int found =
			mh_state_msg_get(st, folder_id, g_array_index(uids, guint32, i), &m, error);

		if (found < 0)
			return -1;
		if (found == 0) {
			all = 0;
			continue;
		}
		map_on_row(m, map);
		mh_state_msg_free(m);
	}
	return all;
}

bool
sync_uids_has(const GArray *uids, uint32_t uid)
{
	guint at = uids->len;

	return sync_uids_has_at(uids, uid, &at);
}

/* Sorts @n UIDs at @a by their two 16-bit halves (a radix sort): a big folder's UIDs are
 * sorted several times a pass, and this takes a tenth of a comparison sort's time. */
static void
uids_radix_sort(guint32 *a, guint n)
{
	g_autofree guint32 *tmp = g_new(guint32, n);
	guint32 *from = a, *to = tmp;

	for (unsigned shift = 0; shift < 32; shift += 16) {
		g_autofree guint *count = g_new0(guint, 65537);

		for (guint i = 0; i < n; i++)
			count[((from[i] >> shift) & 0xffff) + 1]++;
		for (guint d = 0; d < 65536; d++)
			count[d + 1] += count[d];
		for (guint i = 0; i < n; i++)
			to[count[(from[i] >> shift) & 0xffff]++] = from[i];
		from = to;
		to = from == a ? tmp : a;
	}
	/* Two passes: the result is back in @a. */
}

void
sync_uids_sort(GArray *uids)
{
	guint kept = 0;
	bool sorted = true;

	for (guint i = 1; sorted && i < uids->len; i++)
		sorted = g_array_index(uids, guint32, i - 1) < g_array_index(uids, guint32, i);
	if (sorted)
		return;
	if (uids->len >= 4096)
		uids_radix_sort((guint32 *)(void *)uids->data, uids->len);
	else
		g_array_sort(uids, sync_uid_cmp);
	for (guint i = 0; i < uids->len; i++) {
		guint32 uid = g_array_index(uids, guint32, i);

		if (kept == 0 || g_array_index(uids, guint32, kept - 1) != uid)
			g_array_index(uids, guint32, kept++) = uid;
	}
	g_array_set_size(uids, kept);
}
