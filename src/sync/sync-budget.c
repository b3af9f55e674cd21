/* SPDX-License-Identifier: MIT */
/* The daily transfer budgets (--max-upload-per-day, --max-download-per-day; Gmail's 500 MB
 * up and 2,500 MB down a day): bytes appended to the destination account and fetched from
 * the source account, counted over a sliding window (a day) in slots. The counts live in a
 * state database that every job shares (the "transfers" table), keyed by account, so a
 * rerun, or another job into the same account, counts what earlier runs moved; every run
 * that copies counts, with a limit or without. When a budget is spent the answer says
 * when the oldest slots leave the window and make room.
 *
 * Threads: every function takes the budget's lock; workers add and ask concurrently.
 * Counts reach the file at most BUDGET_SAVE_US after they were added and when the budget
 * is freed: a killed run may forget its last half minute, never more. */
#include "mh-log.h"
#include "sync-private.h"

#define BUDGET_SLOTS   144 /* a window is counted in this many slots (10 min for a day) */
#define BUDGET_SAVE_US (30 * G_USEC_PER_SEC)
#define BUDGET_KEEP_S  (8 * 86400) /* rows older than this are pruned on open */

struct budget_slot {
	int64_t start;    /* unix time */
	uint64_t bytes;   /* in this slot, by any run */
	uint64_t unsaved; /* of which this run has not yet written to the file */
};

struct budget_side {
	const char *what;   /* "upload", "download" */
	const char *option; /* the option that sets the limit */
	char *account;      /* owned */
	enum mh_state_direction dir;
	uint64_t limit; /* 0: none (the bytes are still counted) */
	GArray *slots;  /* struct budget_slot, oldest first */
};

struct sync_budget {
	GMutex lock;
	struct mh_state *ledger; /* owned; NULL: counts of this run only */
	int64_t window, slot_len;
	gint64 saved_at; /* monotonic */
	bool save_failed;
	struct budget_side side[2];
	unsigned nsides;
};

const char *
sync_seconds_text(double s, char *buf, size_t len)
{
	if (s >= 2 * 3600)
		g_snprintf(buf, len, (uint64_t)s % 3600 == 0 ? "%.0f h" : "%.1f h", s / 3600);
	else if (s >= 120)
		g_snprintf(buf, len, "%.0f min", s / 60);
	else
		g_snprintf(buf, len, "%.1f s", s);
	return buf;
}

static int64_t
budget_now(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

static bool
budget_load(struct sync_budget *b, struct budget_side *side, int64_t now, GError **error)
{
	g_autoptr(GArray) rows = NULL;

	if (b->ledger == NULL || side->limit == 0) /* counted, never asked */
		return true;
	rows = mh_state_transfer_list(b->ledger, side->account, side->dir,
	                              now - b->window - b->slot_len, error);
	if (rows == NULL)
		return false;
	for (guint i = 0; i < rows->len; i++) {
		const struct mh_state_transfer *t =
			&g_array_index(rows, struct mh_state_transfer, i);
		struct budget_slot s = {.start = t->slot, .bytes = t->bytes};

		g_array_append_val(side->slots, s);
	}
	return true;
}

static void
budget_add_side(struct sync_budget *b, const char *what, const char *option, const char *account,
                enum mh_state_direction dir, uint64_t limit)
{
	struct budget_side *side = &b->side[b->nsides++];

	side->what = what;
	side->option = option;
	side->account = g_strdup(account != NULL ? account : "?");
	side->dir = dir;
	side->limit = limit;
	side->slots = g_array_new(false, false, sizeof(struct budget_slot));
}

struct sync_budget *
sync_budget_new(const struct mh_sync_options *o, GError **error)
{
	struct sync_budget *b;
	int64_t now = budget_now();

	/* Counted even without a limit, so that a later run with one knows. */
	if (o->dry || o->verify_only || o->justfolders ||
	    (o->budget_path == NULL && o->upload_per_day == 0 && o->download_per_day == 0))
		return NULL;
	b = g_new0(struct sync_budget, 1);
	g_mutex_init(&b->lock);
	b->window = o->budget_window > 0 ? o->budget_window : 86400;
	b->slot_len = MAX(1, b->window / BUDGET_SLOTS);
	b->saved_at = g_get_monotonic_time();
	budget_add_side(b, "upload", "--max-upload-per-day", o->dst_account, MH_STATE_UPLOAD,
	                o->upload_per_day);
	budget_add_side(b, "download", "--max-download-per-day", o->src_account, MH_STATE_DOWNLOAD,
	                o->download_per_day);
	if (o->budget_path != NULL) {
		b->ledger = mh_state_open(o->budget_path, error);
		if (b->ledger == NULL ||
		    !mh_state_transfer_prune(b->ledger, now - BUDGET_KEEP_S, error))
			goto fail;
		for (unsigned i = 0; i < b->nsides; i++) {
			if (!budget_load(b, &b->side[i], now, error))
				goto fail;
		}
	}
	return b;
fail:
	g_prefix_error(error, "the transfer budgets: ");
	sync_budget_free(b);
	return NULL;
}

/* Writes the counts not yet in the file; called with the lock held. A failure is told
 * once and leaves the counts of this run in force. */
static void
budget_save(struct sync_budget *b)
{
	g_autoptr(GError) error = NULL;

	b->saved_at = g_get_monotonic_time();
	if (b->ledger == NULL || b->save_failed)
		return;
	if (!mh_state_begin(b->ledger, &error))
		goto fail;
	for (unsigned i = 0; i < b->nsides; i++) {
		struct budget_side *side = &b->side[i];

		for (guint j = 0; j < side->slots->len; j++) {
			struct budget_slot *s = &g_array_index(side->slots, struct budget_slot, j);

			if (s->unsaved > 0 &&
			    !mh_state_transfer_add(b->ledger, side->account, side->dir, s->start,
			                           s->unsaved, &error)) {
				mh_state_rollback(b->ledger);
				goto fail;
			}
		}
	}
	if (!mh_state_commit(b->ledger, &error))
		goto fail;
	for (unsigned i = 0; i < b->nsides; i++) {
		GArray *slots = b->side[i].slots;

		for (guint j = 0; j < slots->len; j++)
			g_array_index(slots, struct budget_slot, j).unsaved = 0;
	}
	return;
fail:
	b->save_failed = true;
	mh_log(MH_LOG_WARN, "%s; later runs will not count what this one moves", error->message);
}

void
sync_budget_add(struct sync_budget *b, uint64_t down, uint64_t up)
{
	int64_t now = budget_now();

	if (b == NULL || (down == 0 && up == 0))
		return;
	g_mutex_lock(&b->lock);
	for (unsigned i = 0; i < b->nsides; i++) {
		uint64_t bytes = b->side[i].dir == MH_STATE_UPLOAD ? up : down;
		GArray *slots = b->side[i].slots;
		int64_t start = now - now % b->slot_len;
		struct budget_slot *last =
			slots->len > 0 ? &g_array_index(slots, struct budget_slot, slots->len - 1)
				       : NULL;

		if (bytes == 0)
			continue;
		if (last == NULL || last->start != start) {
			struct budget_slot s = {.start = start};

			g_array_append_val(slots, s);
			last = &g_array_index(slots, struct budget_slot, slots->len - 1);
		}
		last->bytes += bytes;
		last->unsaved += bytes;
	}
	if (g_get_monotonic_time() - b->saved_at >= BUDGET_SAVE_US)
		budget_save(b);
	g_mutex_unlock(&b->lock);
}

/* Seconds until @side has room again at @now (0: it has room now); *spent_r: the bytes
 * in the window. */
static int64_t
budget_side_wait(const struct sync_budget *b, const struct budget_side *side, int64_t now,
                 uint64_t *spent_r)
{
	uint64_t spent = 0, left;
	guint first = 0;

	*spent_r = 0;
	if (side->limit == 0)
		return 0;
	/* A slot is in the window while any of it is. */
	while (first < side->slots->len &&
	       g_array_index(side->slots, struct budget_slot, first).start + b->slot_len <=
	               now - b->window)
		first++;
	for (guint j = first; j < side->slots->len; j++)
		spent += g_array_index(side->slots, struct budget_slot, j).bytes;
	*spent_r = spent;
	if (spent < side->limit)
		return 0;
	left = spent;
	for (guint j = first; j < side->slots->len; j++) {
		const struct budget_slot *s = &g_array_index(side->slots, struct budget_slot, j);

		left -= s->bytes;
		if (left < side->limit)
			return MAX(1, s->start + b->slot_len + b->window - now);
	}
	return 1; /* not reached: left ends at 0 */
}

bool
sync_budget_spent(struct sync_budget *b, int64_t *wait_s_r, char **why_r)
{
	int64_t now = budget_now(), wait = 0;
	const struct budget_side *worst = NULL;
	uint64_t worst_spent = 0;
	char window[32], room[32];

	if (b == NULL)
		return false;
	g_mutex_lock(&b->lock);
	for (unsigned i = 0; i < b->nsides; i++) {
		uint64_t spent;
		int64_t w = budget_side_wait(b, &b->side[i], now, &spent);

		if (w > wait) {
			wait = w;
			worst = &b->side[i];
			worst_spent = spent;
		}
	}
	if (worst != NULL && why_r != NULL) {
		*why_r = g_strdup_printf(
			"the daily %s budget of %s is spent: %" G_GUINT64_FORMAT
			" bytes in the last %s (%s %" G_GUINT64_FORMAT "); room again in %s",
			worst->what, worst->account, worst_spent,
			sync_seconds_text((double)b->window, window, sizeof(window)), worst->option,
			worst->limit, sync_seconds_text((double)wait, room, sizeof(room)));
	}
	g_mutex_unlock(&b->lock);
	if (wait_s_r != NULL)
		*wait_s_r = wait;
	return worst != NULL;
}

void
sync_budget_free(struct sync_budget *b)
{
	if (b == NULL)
		return;
	g_mutex_lock(&b->lock);
	budget_save(b);
	g_mutex_unlock(&b->lock);
	for (unsigned i = 0; i < b->nsides; i++) {
		g_free(b->side[i].account);
		g_array_unref(b->side[i].slots);
	}
	mh_state_close(b->ledger);
	g_mutex_clear(&b->lock);
	g_free(b);
}

void
sync_pace_bytes(struct sync_worker *w, uint64_t size)
{
	const struct mh_sync_options *o = w->opts;
	gint64 now = g_get_monotonic_time(), zero = 0, t0, before, due;

	if (o->max_bytes_per_second == 0)
		return;
	__atomic_compare_exchange_n(&w->shared->paced_t0, &zero, now, false, __ATOMIC_ACQ_REL,
	                            __ATOMIC_ACQUIRE);
	t0 = __atomic_load_n(&w->shared->paced_t0, __ATOMIC_ACQUIRE);
	before = __atomic_fetch_add(&w->shared->paced_bytes, (gint64)size, __ATOMIC_ACQ_REL);
	if ((uint64_t)before < o->max_bytes_after)
		return;
	/* This message may start once the bytes before it (beyond the free ones) fit the
	 * rate since the first message. */
	due = t0 + (gint64)((double)((uint64_t)before - o->max_bytes_after) * G_USEC_PER_SEC /
	                    (double)o->max_bytes_per_second);
	if (due > now)
		g_usleep((gulong)(due - now));
}
