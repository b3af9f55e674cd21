/* SPDX-License-Identifier: MIT */
/* The copy phase: bodies stream from the source's pipelined UID FETCH straight into the
 * destination's APPEND literal (memory per message is the connection buffers, whatever the
 * message size); each answered APPEND is recorded in the state store at once, committed in
 * small batches, so a killed run resumes without loss or duplicate. */
#include <string.h>

#include "mh-log.h"
#include "sync-private.h"

#define COMMIT_EVERY    100
/* Messages asked from the source at a time: at most this many, and this many bytes
 * unless one message alone is larger (the rest of a part is not read when the folder
 * stops: the source connection is dropped). A part is several FETCH commands, so that the
 * source always has the next one while it answers one (see BODY_FETCH_UIDS). */
#define COPY_PART_MSGS  50000
#define COPY_PART_BYTES (256 * 1024 * 1024)
/* The most of a message held to tell a placeholder: its header is far shorter. */
#define PEEK_MAX        (64 * 1024)

/* A copy that gets \\Flagged by a STORE after its APPEND. */
struct flag_later {
	uint32_t dst_uid;
	uint32_t src_uid;
	char *flags; /* owned; the flags it has then */
};

static void
flag_later_clear(gpointer p)
{
	g_free(((struct flag_later *)p)->flags);
}

/* A Gmail destination's labels to add to one copy once its APPEND is answered. */
struct label_job {
	uint32_t dst_uid;
	uint32_t src_uid;
	GPtrArray *labels; /* owned; char * */
};

static void
label_job_free(struct label_job *j)
{
	g_ptr_array_unref(j->labels);
	g_free(j);
}

void
sync_pace(struct sync_worker *w)
{
	double pace = w->opts->pace;
	gint64 now, gap;

	if (pace <= 0)
		return;
	pace *= g_atomic_int_get(&w->shared->pace_permille) / 1000.0;
	gap = (gint64)(G_USEC_PER_SEC / pace);
	now = g_get_monotonic_time();
	if (w->next_msg_at > now)
		g_usleep((gulong)(w->next_msg_at - now));
	w->next_msg_at = MAX(now, w->next_msg_at) + gap;
}

/* Counts @uid as failed and keeps it from being offered again in this run. */
static void
copy_mark_failed(struct sync_copy *c, uint32_t uid)
{
	struct mh_sync_folder_result *res = c->res;

	res->failed++;
	sync_progress_failed(c->w->progress, c->w->opts);
	if (res->refused == NULL)
		res->refused = g_hash_table_new(NULL, NULL);
	g_hash_table_add(res->refused, GUINT_TO_POINTER(uid));
}

/* The connection failed while the current message was on its way: it is the one to
 * blame if that keeps happening (see worker_drop_strike()). */
static void
copy_blame(struct sync_copy *c)
{
	if (c->cur != NULL && c->res->pass_first_uid == 0) {
		c->res->pass_first_uid = c->cur->uid;
		c->res->pass_first_size = c->cur_size;
	}
}

static void
copy_record_failure(struct sync_copy *c, uint32_t uid, const GError *error)
{
	struct mh_sync_folder_result *res = c->res;

	struct sync_error_class ec;

	sync_error_classify(c->w->opts, error, &ec);
	copy_mark_failed(c, uid);
	if (ec.action == SYNC_ERROR_ACT_QUOTA)
		res->quota = true;
	else
		res->append_refused = true;
	g_ptr_array_add(res->errors, g_strdup_printf("message UID %u: %s", uid, error->message));
	mh_log(MH_LOG_WARN, "%s: message UID %u not copied: %s", res->src_name, uid,
	       error->message);
}

/* The source served a placeholder instead of the message (Exchange, for an item it cannot
 * convert): nothing is copied and nothing recorded, so a rerun tries again. */
static void
copy_record_placeholder(struct sync_copy *c)
{
	struct mh_sync_folder_result *res = c->res;
	uint32_t uid = c->cur->uid;

	copy_mark_failed(c, uid);
	g_ptr_array_add(res->errors,
	                g_strdup_printf("message UID %u: the source server sent a placeholder "
	                                "(\"Retrieval using the IMAP4 protocol failed\") instead "
	                                "of the message: it stays on the source; rerun later, or "
	                                "export it with Outlook",
	                                uid));
	mh_log(MH_LOG_WARN,
	       "%s: message UID %u not copied: the source server could not serve it and sent a "
	       "placeholder instead",
	       res->src_name, uid);
}

/* Writes the recorded copies in one short transaction: never one held across network
 * I/O, which would make the other workers wait for the lock. */
static void
copy_commit_maybe(struct sync_copy *c, bool force)
{
	g_autoptr(GError) error = NULL;
	bool ok;

	if (c->w->state == NULL || c->pending->len == 0 ||
	    (!force && c->pending->len < COMMIT_EVERY))
		return;
	ok = mh_state_begin(c->w->state, &error);
	for (guint i = 0; ok && i < c->pending->len; i++)
		ok = mh_state_msg_put(c->w->state, c->folder_id, c->pending->pdata[i], &error);
	if (ok)
		ok = mh_state_commit(c->w->state, &error);
	else
		mh_state_rollback(c->w->state);
	g_ptr_array_set_size(c->pending, 0);
	if (!ok && c->fatal == NULL)
		c->fatal = g_error_copy(error);
}

struct append_rec {
	struct sync_copy *c;
	struct sync_msg *msg;
	char *flags;        /* owned; what the destination will have */
	char *append_flags; /* owned; what the APPEND sets (flags without a later STORE's) */
	bool flag_later;    /* \Flagged is set by a STORE after the APPEND */
	GPtrArray *labels;  /* owned; Gmail labels to add after the APPEND, or NULL */
	uint64_t size;
};

static void
append_rec_free(struct append_rec *rec)
{
	g_free(rec->flags);
	g_free(rec->append_flags);
	if (rec->labels != NULL)
		g_ptr_array_unref(rec->labels);
	g_free(rec);
}

/* The destination connection has had many refusals: a server that ends sessions after a
 * number of errors (Exchange: about ten) is not given the chance. */
static void
copy_check_error_limit(struct sync_copy *c)
{
	const struct mh_store_info *info =
		c->w->dst->ops->info != NULL ? c->w->dst->ops->info(c->w->dst) : NULL;
	unsigned limit = c->w->opts->dst_error_limit;

	if (limit == 0 || info == NULL || info->errors + 2 < limit || c->fatal != NULL)
		return;
	c->fatal = g_error_new(MH_SYNC_ERROR, MH_SYNC_ERROR_RECONNECT,
	                       "%s: %u refusals in this session; reconnecting before the server's "
	                       "limit of %u",
	                       c->w->dst->label, info->errors, limit);
}

static void
on_appended(uint32_t uidvalidity, uint32_t uid, const GError *error, void *ctx)
{
	struct append_rec *rec = ctx;
	struct sync_copy *c = rec->c;
	struct sync_error_class ec = {0};

	(void)uidvalidity;
	if (error != NULL)
		sync_error_classify(c->w->opts, error, &ec);
	if (g_error_matches(error, MH_SYNC_ERROR, MH_SYNC_ERROR_BATCH)) {
		/* Refused with the others of its MULTIAPPEND: which one, sending them singly
		 * tells. */
		g_array_append_val(c->one_by_one, rec->msg->uid);
	} else if (error != NULL && (ec.ends_connection || ec.action == SYNC_ERROR_ACT_WAIT)) {
		/* The connection went (or the server asks to wait), not the message: the
		 * folder is retried after a reconnect, and this message with it. */
		if (c->fatal == NULL)
			c->fatal = g_error_copy(error);
	} else if (error != NULL) {
		copy_record_failure(c, rec->msg->uid, error);
		copy_check_error_limit(c);
	} else {
		struct mh_state_msg *m = g_new0(struct mh_state_msg, 1);

		m->src_uid = rec->msg->uid;
		m->dst_uid = uid;
		/* What the destination has now; a later STORE records the rest. */
		m->flags = g_strdup(rec->flag_later ? rec->append_flags : rec->flags);
		m->fingerprint = g_strdup(sync_msg_fingerprint(rec->msg));
		m->size = rec->msg->size;
		c->res->copied++;
		c->res->copied_bytes += rec->size;
		g_ptr_array_add(c->pending, m);
		copy_commit_maybe(c, false);
		if (rec->flag_later && uid != 0) {
			struct flag_later fl = {.dst_uid = uid,
			                        .src_uid = rec->msg->uid,
			                        .flags = g_steal_pointer(&rec->flags)};

			g_array_append_val(c->flag_later, fl);
		}
		if (rec->labels != NULL && rec->labels->len > 0) {
			struct label_job *j = g_new0(struct label_job, 1);

			j->dst_uid = uid;
			j->src_uid = rec->msg->uid;
			j->labels = g_steal_pointer(&rec->labels);
			g_ptr_array_add(c->label_jobs, j);
		}
		if (rec->flag_later && uid == 0)
			mh_log(MH_LOG_WARN,
			       "%s: message UID %u: \\Flagged not set (the destination did not say "
			       "which UID the copy got)",
			       c->res->src_name, rec->msg->uid);
	}
	append_rec_free(rec);
}

/* Flags for the APPEND: without \\Flagged where the destination forgets it on APPEND. */
static struct append_rec *
copy_new_rec(struct sync_copy *c, uint64_t size)
{
	const struct mh_sync_options *o = c->w->opts;
	struct append_rec *rec = g_new0(struct append_rec, 1);
	g_autofree char *src_flags = NULL;
	const struct sync_labels *sl = c->w->shared != NULL ? c->w->shared->labels : NULL;

	rec->c = c;
	rec->msg = c->cur;
	rec->size = size;
	src_flags = sync_flags_rewrite(o->flag_rules, sync_msg_flags(c->cur));
	rec->flags = sync_flags_for_dest(src_flags, c->dst_box, o->drop_keywords);
	rec->append_flags = g_strdup(rec->flags);
	if (o->flagged_after_append) {
		g_auto(GStrv) words = g_strsplit(rec->flags, " ", -1);
		GString *keep = g_string_new(NULL);

		for (size_t i = 0; words[i] != NULL; i++) {
			if (g_ascii_strcasecmp(words[i], "\\Flagged") == 0) {
				rec->flag_later = true;
				continue;
			}
			if (*words[i] == '\0')
				continue;
			if (keep->len > 0)
				g_string_append_c(keep, ' ');
			g_string_append(keep, words[i]);
		}
		g_free(rec->append_flags);
		rec->append_flags = g_string_free(keep, false);
	}
	if (sl != NULL && o->dst_labels && o->labels != MH_SYNC_LABELS_COPY)
		rec->labels = sync_labels_others(sl, c->res->src_name, c->cur->uid, false);
	return rec;
}

/* Stops the folder for a pause (c->fatal takes @why): what is still requested from the
 * source would be fetched for nothing, or as slowly again, so the source is dropped. */
static void
copy_pause(struct sync_copy *c, GError *why)
{
	c->fatal = why;
	c->src_dropped = true;
	if (c->w->src->ops->abandon != NULL)
		c->w->src->ops->abandon(c->w->src, c->fatal);
}

/* Whether a daily budget is spent (then c->fatal says so and the engine pauses). */
static bool
copy_budget_spent(struct sync_copy *c)
{
	g_autofree char *why = NULL;

	if (c->w->shared == NULL || !sync_budget_spent(c->w->shared->budget, NULL, &why))
		return false;
	copy_pause(c, g_error_new_literal(MH_SYNC_ERROR, MH_SYNC_ERROR_BUDGET, why));
	return true;
}

/* Whether the copy has been slower than opts->min_rate over a whole window: Gmail's
 * other way of saying a bandwidth budget is spent (then c->fatal says so and the engine
 * pauses). Measured before each further message, so a slow last message costs no pause. */
static bool
copy_rate_collapsed(struct sync_copy *c)
{
	const struct mh_sync_options *o = c->w->opts;
	gint64 window = (gint64)(o->rate_window > 0 ? o->rate_window : 120) * G_USEC_PER_SEC;
	gint64 now = g_get_monotonic_time();
	double rate;

	if (o->min_rate == 0 || now - c->rate_t0 < window)
		return false;
	rate = (double)c->rate_bytes * G_USEC_PER_SEC / (double)(now - c->rate_t0);
	c->rate_t0 = now;
	c->rate_bytes = 0;
	if (rate >= (double)o->min_rate)
		return false;
	copy_pause(c,
	           g_error_new(MH_SYNC_ERROR, MH_SYNC_ERROR_BUDGET,
	                       "the transfer rate fell to %.0f bytes/s (below %" G_GUINT64_FORMAT
	                       " bytes/s, --min-rate): the server's bandwidth budget looks spent",
	                       rate, o->min_rate));
	return true;
}

/* Starts the APPEND of the current message; false when it cannot start. */
static bool
copy_append_begin(struct sync_copy *c, struct append_rec *rec, uint64_t size)
{
	g_autoptr(GError) error = NULL;
	char date[SYNC_DATE_LEN];

	if (!c->w->dst->ops->append_begin(c->w->dst, c->dst_name, rec->append_flags,
	                                  sync_msg_date(c->cur, date), size, on_appended, rec,
	                                  &error)) {
		/* A refusal before the literal has already been reported by on_appended. */
		if (sync_error_is_fatal(error) && c->fatal == NULL)
			c->fatal = g_error_copy(error);
		return false;
	}
	return true;
}

/* Interrupted (Ctrl-C, SIGTERM): no further message is appended, and the rest of a large
 * ranged FETCH is not read (it could take minutes); the APPENDs in flight are still
 * answered and recorded. Called between two messages, so nothing is half sent. */
static bool
copy_stop_now(struct sync_copy *c)
{
	g_autoptr(GError) why = NULL;

	if (c->stopped)
		return true;
	if (c->w->opts->interrupted == NULL || !*c->w->opts->interrupted)
		return false;
	c->stopped = true;
	if (c->src_dropped || c->w->src->ops->abandon == NULL)
		return true;
	why = g_error_new_literal(MH_SYNC_ERROR, MH_SYNC_ERROR_INTERRUPTED, "interrupted");
	c->src_dropped = true;
	c->w->src->ops->abandon(c->w->src, why);
	return true;
}

/* Another connection of the same split copy failed: this one stops as on its own failure
 * (the folder's pass ends, and is run again after the reconnect). */
static void
copy_check_stop(struct sync_copy *c)
{
	if (c->stop != NULL && c->fatal == NULL && g_atomic_int_get(c->stop))
		c->fatal = g_error_new_literal(MH_SYNC_ERROR, MH_SYNC_ERROR_INTERRUPTED,
		                               "stopped with the folder's other connections");
}

static void
on_body_begin(void *ctx, uint32_t uid, uint64_t size)
{
	struct sync_copy *c = ctx;
	const struct mh_sync_options *o = c->w->opts;
	struct append_rec *rec;
	gint64 paced;

	c->discard = true;
	c->uploading = false;
	if (copy_stop_now(c)) {
		c->cur = NULL;
		c->cur_size = 0;
		return;
	}
	c->cur = sync_msgs_find(c->msgs, c->msgs->len, uid);
	c->cur_size = size;
	copy_check_stop(c);
	if (c->fatal != NULL && !c->src_dropped && c->w->src->ops->abandon != NULL) {
		/* The folder stops: the rest of a large ranged FETCH would be read for
		 * nothing. The pass reconnects both sides anyway. */
		c->src_dropped = true;
		c->w->src->ops->abandon(c->w->src, c->fatal);
	}
	if (c->cur == NULL || c->fatal != NULL || copy_budget_spent(c) || copy_rate_collapsed(c))
		return;
	paced = g_get_monotonic_time();
	sync_pace(c->w);
	sync_pace_bytes(c->w, size);
	c->rate_t0 += g_get_monotonic_time() - paced; /* our own pacing is no slow server */
	rec = copy_new_rec(c, size);
	if (o->fixup != NULL) {
		/* The rewritten size is known only at the end: hold the message. */
		c->fix = o->fixup->begin(o->fixup->ctx);
		c->spool = g_byte_array_sized_new((guint)MIN(size + size / 64 + 64, 1u << 26));
		c->spool_rec = rec;
		c->discard = false;
		c->uploading = true;
		return;
	}
	if (o->src_placeholder != NULL) {
		/* Appended once its start shows it is no placeholder. */
		c->peek = g_byte_array_new();
		c->peek_rec = rec;
		c->discard = false;
		return;
	}
	if (!copy_append_begin(c, rec, size))
		return;
	c->discard = false;
	c->uploading = true;
}

/* Decides on the held start of the message: a placeholder is dropped, anything else is
 * appended and the rest streams after it. @complete: the whole message is held. */
static void
copy_peek_decide(struct sync_copy *c, bool complete)
{
	const struct mh_sync_options *o = c->w->opts;
	g_autoptr(GByteArray) peek = NULL;
	g_autoptr(GError) error = NULL;
	struct append_rec *rec;
	bool done = false;
	bool placeholder =
		o->src_placeholder(o->src_placeholder_ctx, c->peek->data, c->peek->len, &done);

	if (!placeholder && !done && !complete && c->peek->len < PEEK_MAX)
		return;
	peek = g_steal_pointer(&c->peek);
	rec = g_steal_pointer(&c->peek_rec);
	c->discard = true;
	if (placeholder) {
		copy_record_placeholder(c);
		append_rec_free(rec);
		return;
	}
	if (!copy_append_begin(c, rec, c->cur_size))
		return;
	c->discard = false;
	c->uploading = true;
	if (!c->w->dst->ops->append_write(c->w->dst, peek->data, peek->len, &error)) {
		c->discard = true;
		copy_blame(c);
		if (c->fatal == NULL)
			c->fatal = g_error_copy(error);
	}
}

static void
on_body_data(void *ctx, const unsigned char *data, size_t len)
{
	struct sync_copy *c = ctx;
	g_autoptr(GError) error = NULL;

	if (c->discard)
		return;
	if (c->peek != NULL) {
		g_byte_array_append(c->peek, data, (guint)len);
		copy_peek_decide(c, false);
		return;
	}
	if (c->spool != NULL) {
		c->w->opts->fixup->feed(c->fix, data, len, c->spool);
		return;
	}
	if (!c->w->dst->ops->append_write(c->w->dst, data, len, &error)) {
		c->discard = true;
		copy_blame(c);
		if (c->fatal == NULL)
			c->fatal = g_error_copy(error);
	}
}

/* Appends the rewritten message held in the spool. */
static void
copy_spooled(struct sync_copy *c)
{
	const struct mh_sync_fixup_ops *fx = c->w->opts->fixup;
	struct append_rec *rec = g_steal_pointer(&c->spool_rec);
	g_autoptr(GByteArray) spool = g_steal_pointer(&c->spool);
	g_autofree char *changed = NULL;
	g_autoptr(GError) error = NULL;

	fx->finish(c->fix, spool);
	changed = fx->end(g_steal_pointer(&c->fix));
	if (changed != NULL) {
		c->res->fixed_up++;
		mh_log(MH_LOG_INFO, "%s: message UID %u: %s", c->res->src_name, c->cur->uid,
		       changed);
	}
	if (c->fatal != NULL) {
		append_rec_free(rec);
		return;
	}
	if (c->w->opts->src_placeholder != NULL &&
	    c->w->opts->src_placeholder(c->w->opts->src_placeholder_ctx, spool->data, spool->len,
	                                &(bool){false})) {
		copy_record_placeholder(c);
		append_rec_free(rec);
		c->uploading = false;
		return;
	}
	rec->size = spool->len;
	if (!copy_append_begin(c, rec, spool->len))
		return;
	if (!c->w->dst->ops->append_write(c->w->dst, spool->data, spool->len, &error) ||
	    !c->w->dst->ops->append_end(c->w->dst, &error)) {
		copy_blame(c);
		if (c->fatal == NULL)
			c->fatal = g_error_copy(error);
	}
}

static void
on_body_end(void *ctx)
{
	struct sync_copy *c = ctx;
	g_autoptr(GError) error = NULL;
	struct sync_shared *sh = c->w->shared;

	if (c->peek != NULL)
		copy_peek_decide(c, true);
	if (c->spool != NULL)
		copy_spooled(c);
	else if (!c->discard && !c->w->dst->ops->append_end(c->w->dst, &error)) {
		copy_blame(c);
		if (c->fatal == NULL)
			c->fatal = g_error_copy(error);
	}
	sync_progress_copied(c->w, c->cur_size);
	c->rate_bytes += c->cur_size;
	if (sh != NULL)
		sync_budget_add(sh->budget, c->cur_size, c->uploading ? c->cur_size : 0);
	c->uploading = false;
	c->cur = NULL;
	c->discard = false;
}

static void
on_body_missing(void *ctx, uint32_t uid)
{
	struct sync_copy *c = ctx;
	struct mh_sync_skip *skip = g_new0(struct mh_sync_skip, 1);

	skip->uid = uid;
	skip->reason = g_strdup("vanished from the source during the copy");
	g_ptr_array_add(c->res->skipped, skip);
	sync_progress_copied(c->w, 0);
}

static bool
on_body_more(void *ctx)
{
	struct sync_copy *c = ctx;

	copy_check_stop(c);
	return c->fatal == NULL && (c->w->opts->interrupted == NULL || !*c->w->opts->interrupted);
}

/* A Gmail destination's further labels: one UID STORE per distinct label set (most
 * messages share theirs), not one per message. A refusal is a warning. */
static void
copy_add_labels(struct sync_copy *c, GError **error)
{
	struct mh_store *dst = c->w->dst;
	g_autoptr(GHashTable) sets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	                                                   (GDestroyNotify)g_array_unref);
	g_autoptr(GHashTable) labels_of = g_hash_table_new(g_str_hash, g_str_equal);
	GHashTableIter it;
	gpointer key, value;

	for (guint i = 0; i < c->label_jobs->len; i++) {
		struct label_job *j = c->label_jobs->pdata[i];
		char *joined;
		GArray *uids;

		if (j->dst_uid == 0) {
			mh_log(MH_LOG_WARN,
			       "%s: message UID %u: its other labels were not added (the destination "
			       "did not say which UID the copy got)",
			       c->res->src_name, j->src_uid);
			continue;
		}
		g_ptr_array_add(j->labels, NULL);
		joined = g_strjoinv("\n", (char **)j->labels->pdata);
		g_ptr_array_remove_index(j->labels, j->labels->len - 1);
		uids = g_hash_table_lookup(sets, joined);
		if (uids == NULL) {
			uids = g_array_new(false, false, sizeof(guint32));
			g_hash_table_insert(sets, joined, uids);
			g_hash_table_insert(labels_of, joined, j->labels);
		} else {
			g_free(joined);
		}
		g_array_append_val(uids, j->dst_uid);
	}
	g_hash_table_iter_init(&it, sets);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		GArray *uids = value;
		const GPtrArray *labels = g_hash_table_lookup(labels_of, key);
		guint at = 0;

		g_array_sort(uids, sync_uid_cmp);
		while (at < uids->len) {
			g_autofree char *set = mh_store_uidset(uids, at, 500, &at);
			g_autoptr(GError) local = NULL;

			if (dst->ops->add_labels(dst, set, labels, &local))
				continue;
			mh_log(MH_LOG_WARN, "%s: adding labels to %s: %s", c->res->dst_name, set,
			       local->message);
			if (sync_error_is_fatal(local) && error != NULL && *error == NULL) {
				g_propagate_error(error, g_steal_pointer(&local));
				return;
			}
		}
	}
}

/* The STOREs that follow the APPENDs: \\Flagged where the destination forgets it on
 * APPEND, and a Gmail destination's further labels. A refusal is a warning. */
static void
copy_after_append(struct sync_copy *c, GError **error)
{
	struct mh_store *dst = c->w->dst;

	if (c->flag_later->len > 0) {
		g_autoptr(GArray) uids = g_array_new(false, false, sizeof(guint32));
		bool all = true;
		guint at = 0;

		for (guint i = 0; i < c->flag_later->len; i++)
			g_array_append_val(
				uids, g_array_index(c->flag_later, struct flag_later, i).dst_uid);
		g_array_sort(uids, sync_uid_cmp);
		while (at < uids->len) {
			g_autofree char *set = mh_store_uidset(uids, at, 500, &at);
			g_autoptr(GError) local = NULL;

			if (dst->ops->add_flags(dst, set, "\\Flagged", &local))
				continue;
			all = false;
			mh_log(MH_LOG_WARN, "%s: setting \\Flagged on %s: %s", c->res->src_name,
			       set, local->message);
			if (sync_error_is_fatal(local) && error != NULL && *error == NULL) {
				g_propagate_error(error, g_steal_pointer(&local));
				return;
			}
		}
		/* Recorded only once set: else the next pass carries the flag over. */
		if (all && c->w->state != NULL && mh_state_begin(c->w->state, NULL)) {
			bool ok = true;

			for (guint i = 0; ok && i < c->flag_later->len; i++) {
				struct flag_later *fl =
					&g_array_index(c->flag_later, struct flag_later, i);

				ok = mh_state_msg_set_flags(c->w->state, c->folder_id, fl->src_uid,
				                            fl->flags, NULL);
			}
			if (!ok || !mh_state_commit(c->w->state, NULL))
				mh_state_rollback(c->w->state);
		}
	}
	copy_add_labels(c, error);
}

/* Fetches @uids from the source and appends them, then waits for every answer. */
static void
copy_fetch(struct sync_copy *c, const GArray *uids, GError **local)
{
	const struct mh_store_body_sink sink = {
		.begin = on_body_begin,
		.data = on_body_data,
		.end = on_body_end,
		.missing = on_body_missing,
		.more = on_body_more,
		.ctx = c,
	};

	for (guint i = 0, n; i < uids->len; i += n) {
		g_autoptr(GArray) part = NULL;
		uint64_t bytes = 0;

		/* A part at a time, bounded by count and bytes: the source is asked for it in
		 * few commands, and a stop (a pause, a refusal that ends the folder) wastes
		 * little of what is already on its way. */
		for (n = 0;
		     i + n < uids->len && n < COPY_PART_MSGS && (n == 0 || bytes < COPY_PART_BYTES);
		     n++) {
			const struct sync_msg *m = sync_msgs_find(
				c->msgs, c->msgs->len, g_array_index(uids, guint32, i + n));

			bytes += m != NULL ? m->size : 0;
		}
		if (!on_body_more(c))
			break;
		part = g_array_sized_new(false, false, sizeof(guint32), n);
		g_array_append_vals(part, &g_array_index(uids, guint32, i), n);
		if (!c->w->src->ops->fetch_bodies(c->w->src, part, &sink, local) ||
		    c->fatal != NULL)
			break;
	}
	/* Dropped for a stop, between two messages: not a failure of the source. */
	if (c->stopped && g_error_matches(*local, MH_SYNC_ERROR, MH_SYNC_ERROR_INTERRUPTED))
		g_clear_error(local);
	if (*local != NULL)
		copy_blame(c); /* the source failed in the middle of it */
	if (*local != NULL && c->cur != NULL && !c->discard) {
		/* A message half sent: the destination cannot take anything else now. */
		c->w->dst->ops->append_abort(c->w->dst, "the source connection failed");
	} else {
		g_autoptr(GError) ferr = NULL;

		/* Every APPEND in flight is answered (and recorded) before @c goes away: their
		 * callbacks point at it. A failing destination completes them with its error. */
		if (!c->w->dst->ops->flush(c->w->dst, &ferr) && *local == NULL)
			*local = g_steal_pointer(&ferr);
	}
}

bool
sync_copy_messages(struct sync_copy *c, GPtrArray *msgs, GError **error)
{
	g_autoptr(GArray) uids = NULL;
	guint n = 0;

	for (guint i = 0; i < msgs->len; i++)
		n += ((struct sync_msg *)msgs->pdata[i])->copy;
	uids = g_array_sized_new(false, false, sizeof(guint32), n);
	for (guint i = 0; i < msgs->len; i++) {
		struct sync_msg *m = msgs->pdata[i];

		if (m->copy)
			g_array_append_val(uids, m->uid);
	}
	if (uids->len == 0)
		return true;
	return sync_split_copy(c, uids, error);
}

bool
sync_copy_uids(struct sync_copy *c, const GArray *uids, GError **error)
{
	GError *local = NULL;

	if (uids->len == 0)
		return true;
	c->pending = g_ptr_array_new_with_free_func((GDestroyNotify)mh_state_msg_free);
	c->flag_later = g_array_new(false, false, sizeof(struct flag_later));
	g_array_set_clear_func(c->flag_later, flag_later_clear);
	c->label_jobs = g_ptr_array_new_with_free_func((GDestroyNotify)label_job_free);
	c->one_by_one = g_array_new(false, false, sizeof(guint32));
	c->rate_t0 = g_get_monotonic_time();
	c->rate_bytes = 0;
	copy_fetch(c, uids, &local);
	if (local == NULL && c->fatal == NULL && c->one_by_one->len > 0 &&
	    c->w->dst->ops->append_batching != NULL) {
		g_autoptr(GArray) again = g_steal_pointer(&c->one_by_one);

		/* A MULTIAPPEND is all or nothing: one refused message refuses the batch. */
		mh_log(MH_LOG_INFO,
		       "%s: the destination refused a MULTIAPPEND of %u messages; sending them "
		       "one by one",
		       c->res->src_name, again->len);
		c->one_by_one = g_array_new(false, false, sizeof(guint32));
		c->w->dst->ops->append_batching(c->w->dst, false);
		copy_fetch(c, again, &local);
		c->w->dst->ops->append_batching(c->w->dst, true);
	}
	g_clear_pointer(&c->one_by_one, g_array_unref);
	if (c->fatal != NULL) {
		struct mh_sync_verdict v;

		/* A refusal that asks to wait says more than the drop that follows it. */
		if (local == NULL || sync_error_wants_wait(c->w->opts, c->fatal, &v)) {
			g_clear_error(&local);
			local = g_steal_pointer(&c->fatal);
		}
	}
	g_clear_error(&c->fatal);
	if (c->spool != NULL) {
		/* The source failed in the middle of a held message. */
		g_clear_pointer(&c->spool, g_byte_array_unref);
		g_free(c->w->opts->fixup->end(g_steal_pointer(&c->fix)));
		g_clear_pointer(&c->spool_rec, append_rec_free);
	}
	g_clear_pointer(&c->peek, g_byte_array_unref);
	g_clear_pointer(&c->peek_rec, append_rec_free);
	copy_commit_maybe(c, true);
	if (local == NULL || !sync_error_is_fatal(local))
		copy_after_append(c, local == NULL ? &local : NULL);
	g_clear_pointer(&c->flag_later, g_array_unref);
	g_clear_pointer(&c->label_jobs, g_ptr_array_unref);
	g_clear_pointer(&c->pending, g_ptr_array_unref);
	if (local == NULL && c->fatal != NULL)
		local = g_steal_pointer(&c->fatal);
	g_clear_error(&c->fatal);
	if (local != NULL) {
		g_propagate_error(error, local);
		return false;
	}
	return true;
}
