/* SPDX-License-Identifier: MIT */
/* The memory store's message verbs: UID SEARCH for the keys the engine sends (RFC 3501
 * 6.4.4), UID FETCH of metadata with CHANGEDSINCE (RFC 7162 3.1.4) and of bodies in
 * chunks, APPEND answered in order with APPENDUID (RFC 4315) and its faults, UID STORE and
 * UID EXPUNGE. */
#include <string.h>

#include "sync-fingerprint.h"
#include "sync-store-mem-private.h"

#define APPEND_DEPTH 4 /* answers held back, as a pipelining server's are in flight */
#define BODY_CHUNK   1000

/* --- search --- */

static bool
mem_flag_has(const char *flags, const char *flag)
{
	g_auto(GStrv) words = g_strsplit(flags, " ", -1);

	for (size_t i = 0; words[i] != NULL; i++) {
		if (g_ascii_strcasecmp(words[i], flag) == 0)
			return true;
	}
	return false;
}

/* Whether @m matches search key @key; -1 for a key this store does not know. */
static int
mem_search_key(const struct mem_msg *m, const char *key)
{
	static const char *const flag_keys[][2] = {
		{"SEEN", "\\Seen"},         {"FLAGGED", "\\Flagged"}, {"DELETED", "\\Deleted"},
		{"ANSWERED", "\\Answered"}, {"DRAFT", "\\Draft"},
	};

	if (g_ascii_strcasecmp(key, "ALL") == 0)
		return 1;
	for (size_t i = 0; i < G_N_ELEMENTS(flag_keys); i++) {
		if (g_ascii_strcasecmp(key, flag_keys[i][0]) == 0)
			return mem_flag_has(m->flags, flag_keys[i][1]);
		if (g_ascii_strncasecmp(key, "UN", 2) == 0 &&
		    g_ascii_strcasecmp(key + 2, flag_keys[i][0]) == 0)
			return !mem_flag_has(m->flags, flag_keys[i][1]);
	}
	return -1;
}

bool
sync_mem_search(struct mh_store *st, const char *criteria, GArray **uids_r, GError **error)
{
	struct store_mem *sm = (struct store_mem *)st;
	g_auto(GStrv) keys = g_strsplit(criteria, " ", -1);
	struct mem_folder *f;
	GArray *uids;

	if (!sync_mem_check(sm, error))
		return false;
	sync_mem_deliver(sm, 0);
	g_mutex_lock(&sm->acct->lock);
	f = sync_mem_selected(sm, error);
	if (f == NULL) {
		g_mutex_unlock(&sm->acct->lock);
		return false;
	}
	uids = g_array_new(false, false, sizeof(guint32));
	for (guint i = 0; i < f->msgs->len; i++) {
		const struct mem_msg *m = f->msgs->pdata[i];
		int match = 1;

		for (size_t k = 0; match == 1 && keys[k] != NULL; k++)
			match = *keys[k] == '\0' ? 1 : mem_search_key(m, keys[k]);
		if (match < 0) {
			g_mutex_unlock(&sm->acct->lock);
			g_array_unref(uids);
			g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_BAD,
			            "%s: search keys not supported by the memory store: %s",
			            st->label, criteria);
			return false;
		}
		if (match == 1)
			g_array_append_val(uids, m->uid);
	}
	g_mutex_unlock(&sm->acct->lock);
	*uids_r = uids;
	return true;
}

bool
sync_mem_find_message_id(struct mh_store *st, const char *message_id, GArray **uids_r,
                         GError **error)
{
	struct store_mem *sm = (struct store_mem *)st;
	g_autofree char *want = g_ascii_strdown(message_id, -1);
	struct mem_folder *f;

	if (!sync_mem_check(sm, error))
		return false;
	g_mutex_lock(&sm->acct->lock);
	f = sync_mem_selected(sm, error);
	if (f == NULL) {
		g_mutex_unlock(&sm->acct->lock);
		return false;
	}
	*uids_r = g_array_new(false, false, sizeof(guint32));
	for (guint i = 0; i < f->msgs->len; i++) {
		const struct mem_msg *m = f->msgs->pdata[i];
		gsize len;
		const char *data = g_bytes_get_data(m->bytes, &len);
		g_autofree char *v = sync_mem_header_value(data, len, "Message-ID");
		g_autofree char *lv = v != NULL ? g_ascii_strdown(v, -1) : NULL;

		/* SEARCH HEADER matches a substring, ignoring case (RFC 3501 6.4.4). */
		if (lv != NULL && *want != '\0' && strstr(lv, want) != NULL)
			g_array_append_val(*uids_r, m->uid);
	}
	g_mutex_unlock(&sm->acct->lock);
	return true;
}

/* --- metadata and bodies --- */

/* What one FETCH response carries, copied out so callbacks run without the lock. */
struct mem_meta {
	uint32_t uid;
	char *flags;
	char *date;
	GBytes *bytes;
};

static void
mem_meta_free(struct mem_meta *mm)
{
	g_free(mm->flags);
	g_free(mm->date);
	g_bytes_unref(mm->bytes);
	g_free(mm);
}

/* The messages of the selected folder in @uidset (changed after @changedsince, when not
 * 0), copied out; NULL with @error when nothing is selected. */
static GPtrArray *
mem_collect(struct store_mem *sm, const char *uidset, uint64_t changedsince, GError **error)
{
	struct mem_folder *f;
	GPtrArray *out;
	uint32_t max;

	g_mutex_lock(&sm->acct->lock);
	f = sync_mem_selected(sm, error);
	if (f == NULL) {
		g_mutex_unlock(&sm->acct->lock);
		return NULL;
	}
	out = g_ptr_array_new_with_free_func((GDestroyNotify)mem_meta_free);
	max = f->msgs->len > 0 ? ((struct mem_msg *)f->msgs->pdata[f->msgs->len - 1])->uid : 0;
	for (guint i = 0; i < f->msgs->len; i++) {
		const struct mem_msg *m = f->msgs->pdata[i];
		struct mem_meta *mm;

		if (!sync_mem_uid_in_set(uidset, m->uid, max) ||
		    (changedsince > 0 && m->modseq <= changedsince))
			continue;
		mm = g_new0(struct mem_meta, 1);
		mm->uid = m->uid;
		mm->flags = g_strdup(m->flags);
		mm->date = g_strdup(m->date);
		mm->bytes = g_bytes_ref(m->bytes);
		g_ptr_array_add(out, mm);
	}
	g_mutex_unlock(&sm->acct->lock);
	return out;
}

bool
sync_mem_fetch_meta(struct mh_store *st, const char *uidset, unsigned items, uint64_t changedsince,
                    mh_store_meta_cb *cb, void *ctx, GError **error)
{
	struct store_mem *sm = (struct store_mem *)st;
	g_autoptr(GPtrArray) found = NULL;
	g_autoptr(GString) headers = g_string_new(NULL);

	if (!sync_mem_check(sm, error))
		return false;
	sync_mem_deliver(sm, 0);
	found = mem_collect(sm, uidset, changedsince, error);
	if (found == NULL)
		return false;
	for (guint i = 0; i < found->len; i++) {
		const struct mem_meta *mm = found->pdata[i];
		struct mh_store_meta m = {.uid = mm->uid, .flags = mm->flags};
		gsize len;
		const char *data = g_bytes_get_data(mm->bytes, &len);

		if (items & MH_STORE_META_DATE)
			m.date = mm->date;
		if (items & MH_STORE_META_SIZE)
			m.size = len;
		if (items & MH_STORE_META_HEADERS) {
			g_string_truncate(headers, 0);
			sync_mem_header_fields(data, len, headers);
			m.headers = headers->str;
			m.headers_len = headers->len;
		}
		cb(&m, ctx);
	}
	return true;
}

/* Streams one message to @sink in chunks; false when the sink abandoned the connection. */
static bool
mem_stream_body(struct store_mem *sm, const struct mem_meta *mm,
                const struct mh_store_body_sink *sink)
{
	gsize len;
	const unsigned char *data = g_bytes_get_data(mm->bytes, &len);

	sink->begin(sink->ctx, mm->uid, len);
	for (gsize at = 0; at < len; at += BODY_CHUNK) {
		if (sm->dropped != NULL)
			return false;
		sink->data(sink->ctx, data + at, MIN(BODY_CHUNK, len - at));
	}
	if (sm->dropped != NULL)
		return false;
	sink->end(sink->ctx);
	return true;
}

bool
sync_mem_fetch_bodies(struct mh_store *st, const GArray *uids,
                      const struct mh_store_body_sink *sink, GError **error)
{
	struct store_mem *sm = (struct store_mem *)st;

	if (!sync_mem_check(sm, error))
		return false;
	for (guint i = 0; i < uids->len && sink->more(sink->ctx); i++) {
		guint32 uid = g_array_index(uids, guint32, i);
		g_autofree char *set = g_strdup_printf("%u", uid);
		g_autoptr(GPtrArray) one = mem_collect(sm, set, 0, error);

		if (one == NULL)
			return false;
		if (one->len == 0)
			sink->missing(sink->ctx, uid);
		else if (!mem_stream_body(sm, one->pdata[0], sink))
			break;
	}
	return sync_mem_check(sm, error);
}

/* --- appends --- */

bool
sync_mem_append_begin(struct mh_store *st, const char *folder, const char *flags, const char *date,
                      uint64_t size, mh_store_append_done_cb *done, void *ctx, GError **error)
{
	struct store_mem *sm = (struct store_mem *)st;

	if (!sync_mem_check(sm, error))
		return false;
	if (sm->app != NULL) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
		            "%s: an APPEND is already being written", st->label);
		return false;
	}
	sm->app = g_byte_array_sized_new((guint)MIN(size, 1u << 20));
	sm->app_folder = g_strdup(folder);
	sm->app_flags = g_strdup(flags);
	sm->app_date = g_strdup(date);
	sm->app_size = size;
	sm->app_done = done;
	sm->app_ctx = ctx;
	return true;
}

bool
sync_mem_append_write(struct mh_store *st, const void *data, size_t len, GError **error)
{
	struct store_mem *sm = (struct store_mem *)st;

	if (!sync_mem_check(sm, error))
		return false;
	if (sm->app == NULL || sm->app->len + len > sm->app_size) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
		            "%s: APPEND data beyond the announced literal", st->label);
		return false;
	}
	g_byte_array_append(sm->app, data, (guint)len);
	return true;
}

void
sync_mem_append_abort(struct mh_store *st, const char *why)
{
	struct store_mem *sm = (struct store_mem *)st;

	/* A literal cannot be taken back: the connection goes, as over IMAP, and every
	 * APPEND still unanswered, this one last, fails with it. */
	sync_mem_append_cancel(sm);
	sync_mem_drop(sm, why);
}

/* Stores the written APPEND (the lock held); returns the answer, or NULL after a fault
 * that drops the connection once the answer is queued (*drop_r). */
static struct mem_answer *
mem_append_store(struct store_mem *sm, bool *drop_r)
{
	struct mh_mem_account *a = sm->acct;
	struct mem_answer *ans = g_new0(struct mem_answer, 1);
	struct mem_folder *f = g_hash_table_lookup(a->folders, sm->app_folder);
	g_autoptr(GBytes) bytes = NULL;

	ans->done = sm->app_done;
	ans->ctx = sm->app_ctx;
	*drop_r = false;
	if (f == NULL) {
		ans->error = g_error_new(MH_IMAP_ERROR, MH_IMAP_ERROR_NO,
		                         "[TRYCREATE] Mailbox doesn't exist: %s", sm->app_folder);
		return ans;
	}
	if (a->no_count > 0) {
		a->no_count--;
		ans->error = g_error_new(MH_IMAP_ERROR, MH_IMAP_ERROR_NO, "%s",
		                         a->no_text != NULL ? a->no_text : "APPEND refused");
		return ans;
	}
	if (a->refuse != NULL &&
	    g_strstr_len((const char *)sm->app->data, sm->app->len, a->refuse) != NULL) {
		ans->error = g_error_new(MH_IMAP_ERROR, MH_IMAP_ERROR_NO,
		                         "Message contains invalid header");
		return ans;
	}
	sync_mem_rewrite(sm->app, a->rewrite);
	bytes = g_byte_array_free_to_bytes(g_steal_pointer(&sm->app));
	ans->uid = sync_mem_folder_store(f, bytes, sm->app_flags, sm->app_date);
	ans->uidvalidity = f->uidvalidity;
	if (!a->appenduid)
		ans->uid = ans->uidvalidity = 0;
	a->appends++;
	g_hash_table_add(f->appenders, GUINT_TO_POINTER(sm->id));
	if (a->fail_after > 0 && --a->fail_after == 0) {
		*drop_r = true;
		a->down = a->down_after_fault;
		a->refuse_next = a->refuse_after_fault;
	}
	return ans;
}

bool
sync_mem_append_end(struct mh_store *st, GError **error)
{
	struct store_mem *sm = (struct store_mem *)st;
	struct mem_answer *ans;
	bool drop, cut;

	if (!sync_mem_check(sm, error))
		return false;
	if (sm->app == NULL || sm->app->len != sm->app_size) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
		            "%s: APPEND ended before its announced size", st->label);
		return false;
	}
	g_mutex_lock(&sm->acct->lock);
	cut = sm->acct->cut_on != NULL &&
	      g_strstr_len((const char *)sm->app->data, sm->app->len, sm->acct->cut_on) != NULL;
	ans = cut ? NULL : mem_append_store(sm, &drop);
	g_mutex_unlock(&sm->acct->lock);
	if (cut) {
		/* The literal never arrived whole: nothing is stored. */
		sync_mem_append_abort(st,
		                      "connection lost in the middle of an APPEND (test fault)");
		return sync_mem_check(sm, error);
	}
	g_clear_pointer(&sm->app, g_byte_array_unref);
	g_clear_pointer(&sm->app_folder, g_free);
	g_clear_pointer(&sm->app_flags, g_free);
	g_clear_pointer(&sm->app_date, g_free);
	sm->app_done = NULL;
	if (ans->error != NULL) {
		sm->info.errors++;
		g_free(sm->last_refusal);
		sm->last_refusal = g_strdup_printf("NO %s", ans->error->message);
		sm->info.last_refusal = sm->last_refusal;
	}
	g_queue_push_tail(&sm->answers, ans);
	if (drop) {
		sync_mem_drop(sm, "dropped after storing an APPEND (test fault)");
		return sync_mem_check(sm, error);
	}
	sync_mem_deliver(sm, APPEND_DEPTH);
	return true;
}

bool
sync_mem_flush(struct mh_store *st, GError **error)
{
	struct store_mem *sm = (struct store_mem *)st;

	if (!sync_mem_check(sm, error))
		return false;
	sync_mem_deliver(sm, 0);
	return true;
}

/* --- flags and deletion --- */

enum mem_store_op {
	MEM_STORE_ADD,
	MEM_STORE_REMOVE,
	MEM_STORE_EXPUNGE,
};

/* @flags without those in @less (ignoring case), normalised; a new string. */
static char *
mem_flags_without(const char *flags, const char *less)
{
	g_auto(GStrv) have = g_strsplit(flags != NULL ? flags : "", " ", -1);
	g_auto(GStrv) drop = g_strsplit(less != NULL ? less : "", " ", -1);
	g_autoptr(GString) kept = g_string_new(NULL);

	for (size_t i = 0; have[i] != NULL; i++) {
		bool gone = false;

		for (size_t j = 0; drop[j] != NULL && !gone; j++)
			gone = g_ascii_strcasecmp(have[i], drop[j]) == 0;
		if (!gone && *have[i] != '\0')
			g_string_append_printf(kept, "%s%s", kept->len > 0 ? " " : "", have[i]);
	}
	return sync_mem_flags_norm(kept->str, NULL);
}

static bool
mem_store(struct mh_store *st, const char *uidset, const char *flags, enum mem_store_op op,
          GError **error)
{
	struct store_mem *sm = (struct store_mem *)st;
	struct mem_folder *f;
	uint32_t max;

	if (!sync_mem_check(sm, error))
		return false;
	sync_mem_deliver(sm, 0);
	if (!sm->writable)
		return sync_mem_no(sm, error, "[READ-ONLY] Mailbox is read-only");
	g_mutex_lock(&sm->acct->lock);
	f = sync_mem_selected(sm, error);
	if (f == NULL) {
		g_mutex_unlock(&sm->acct->lock);
		return false;
	}
	max = f->msgs->len > 0 ? ((struct mem_msg *)f->msgs->pdata[f->msgs->len - 1])->uid : 0;
	for (guint i = f->msgs->len; i-- > 0;) {
		struct mem_msg *m = f->msgs->pdata[i];
		char *now;

		if (!sync_mem_uid_in_set(uidset, m->uid, max))
			continue;
		f->highestmodseq++;
		if (op == MEM_STORE_EXPUNGE) {
			g_ptr_array_remove_index(f->msgs, i);
			continue;
		}
		now = op == MEM_STORE_REMOVE ? mem_flags_without(m->flags, flags)
		                             : sync_mem_flags_norm(m->flags, flags);
		g_free(m->flags);
		m->flags = now;
		m->modseq = f->highestmodseq;
	}
	g_mutex_unlock(&sm->acct->lock);
	return true;
}

bool
sync_mem_add_flags(struct mh_store *st, const char *uidset, const char *flags, GError **error)
{
	return mem_store(st, uidset, flags, MEM_STORE_ADD, error);
}

bool
sync_mem_remove_flags(struct mh_store *st, const char *uidset, const char *flags, GError **error)
{
	return mem_store(st, uidset, flags, MEM_STORE_REMOVE, error);
}

bool
sync_mem_delete_msgs(struct mh_store *st, const char *uidset, GError **error)
{
	return mem_store(st, uidset, "\\Deleted", MEM_STORE_ADD, error) &&
	       mem_store(st, uidset, NULL, MEM_STORE_EXPUNGE, error);
}

bool
sync_mem_add_labels(struct mh_store *st, const char *uidset, const GPtrArray *labels,
                    GError **error)
{
	(void)uidset;
	(void)labels;
	g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_USAGE,
	            "%s does not offer X-GM-EXT-1: labels cannot be added", st->label);
	return false;
}
