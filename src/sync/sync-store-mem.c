/* SPDX-License-Identifier: MIT */
/* The store interface over an account held in memory: folders with separator and
 * special-use (RFC 6154), UIDVALIDITY/UIDNEXT and CONDSTORE mod-sequences (RFC 7162),
 * APPEND with APPENDUID (RFC 4315) answered in order after the message, SEARCH for the
 * keys the engine sends, BODY.PEEK[HEADER.FIELDS] as RFC 3501 6.4.5 returns it, STORE and
 * UID EXPUNGE; plus the faults and rewrites of real servers, for the engine's tests. */
#include <string.h>

#include "sync-private.h"
#include "sync-store-mem-private.h"
#include "sync-store-mem.h"

static const char *const mem_caps[] = {"IMAP4rev1", "LITERAL+", "UIDPLUS", "CONDSTORE", NULL};
static const char *const mem_caps_plain[] = {"IMAP4rev1", "LITERAL+", "CONDSTORE", NULL};

/* --- the account --- */

static void
mem_msg_free_internal(struct mem_msg *m)
{
	g_bytes_unref(m->bytes);
	g_free(m->flags);
	g_free(m->date);
	g_free(m);
}

static void
mem_folder_free(struct mem_folder *f)
{
	g_free(f->name);
	g_ptr_array_unref(f->msgs);
	g_hash_table_unref(f->appenders);
	g_free(f);
}

void
mh_mem_msg_free(struct mh_mem_msg *m)
{
	if (m == NULL)
		return;
	g_bytes_unref(m->bytes);
	g_free(m->flags);
	g_free(m->date);
	g_free(m);
}

char *
sync_mem_flags_norm(const char *flags, const char *more)
{
	g_autofree char *all =
		g_strdup_printf("%s %s", flags != NULL ? flags : "", more != NULL ? more : "");

	/* Without a box: no \Recent, no repeats (ignoring case), sorted. */
	return sync_flags_for_dest(all, NULL, NULL);
}

static struct mem_folder *
mem_folder_new(struct mh_mem_account *a, const char *name, unsigned attrs)
{
	struct mem_folder *f = g_new0(struct mem_folder, 1);

	f->name = g_strdup(name);
	f->attrs = attrs;
	f->uidvalidity = a->next_uidvalidity++;
	f->uidnext = 1;
	f->highestmodseq = 1;
	f->msgs = g_ptr_array_new_with_free_func((GDestroyNotify)mem_msg_free_internal);
	f->appenders = g_hash_table_new(NULL, NULL);
	g_hash_table_insert(a->folders, f->name, f);
	return f;
}

struct mh_mem_account *
mh_mem_account_new(const char *prefix, char sep)
{
	struct mh_mem_account *a = g_new0(struct mh_mem_account, 1);

	a->refs = 1;
	g_mutex_init(&a->lock);
	a->prefix = g_strdup(prefix != NULL ? prefix : "");
	a->sep = sep;
	a->folders = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
	                                   (GDestroyNotify)mem_folder_free);
	a->next_uidvalidity = 1000;
	a->appenduid = true;
	mem_folder_new(a, "INBOX", 0)->subscribed = true;
	return a;
}

struct mh_mem_account *
mh_mem_account_ref(struct mh_mem_account *a)
{
	g_atomic_int_inc(&a->refs);
	return a;
}

void
mh_mem_account_unref(struct mh_mem_account *a)
{
	if (a == NULL || !g_atomic_int_dec_and_test(&a->refs))
		return;
	g_hash_table_unref(a->folders);
	g_mutex_clear(&a->lock);
	g_free(a->prefix);
	g_free(a->no_text);
	g_free(a->refuse);
	g_free(a->cut_on);
	g_free(a->cut_select);
	g_free(a);
}

bool
mh_mem_account_create(struct mh_mem_account *a, const char *name, unsigned attrs)
{
	bool ok;

	g_mutex_lock(&a->lock);
	ok = !g_hash_table_contains(a->folders, name);
	if (ok)
		mem_folder_new(a, name, attrs)->subscribed = true;
	g_mutex_unlock(&a->lock);
	return ok;
}

uint32_t
sync_mem_folder_store(struct mem_folder *f, GBytes *bytes, const char *flags, const char *date)
{
	struct mem_msg *m = g_new0(struct mem_msg, 1);

	m->uid = f->uidnext++;
	m->bytes = g_bytes_ref(bytes);
	m->flags = sync_mem_flags_norm(flags, NULL);
	m->date = g_strdup(date != NULL ? date : DEFAULT_DATE);
	m->modseq = ++f->highestmodseq;
	g_ptr_array_add(f->msgs, m);
	return m->uid;
}

uint32_t
mh_mem_account_add(struct mh_mem_account *a, const char *folder, const char *msg, size_t len,
                   const char *flags, const char *date)
{
	g_autoptr(GBytes) bytes = g_bytes_new(msg, len);
	struct mem_folder *f;
	uint32_t uid = 0;

	g_mutex_lock(&a->lock);
	f = g_hash_table_lookup(a->folders, folder);
	if (f != NULL)
		uid = sync_mem_folder_store(f, bytes, flags, date);
	g_mutex_unlock(&a->lock);
	return uid;
}

GPtrArray *
mh_mem_account_messages(struct mh_mem_account *a, const char *folder)
{
	GPtrArray *out = NULL;
	struct mem_folder *f;

	g_mutex_lock(&a->lock);
	f = g_hash_table_lookup(a->folders, folder);
	if (f != NULL) {
		out = g_ptr_array_new_with_free_func((GDestroyNotify)mh_mem_msg_free);
		for (guint i = 0; i < f->msgs->len; i++) {
			const struct mem_msg *m = f->msgs->pdata[i];
			struct mh_mem_msg *c = g_new0(struct mh_mem_msg, 1);

			c->uid = m->uid;
			c->bytes = g_bytes_ref(m->bytes);
			c->flags = g_strdup(m->flags);
			c->date = g_strdup(m->date);
			g_ptr_array_add(out, c);
		}
	}
	g_mutex_unlock(&a->lock);
	return out;
}

uint32_t
mh_mem_account_uidvalidity(struct mh_mem_account *a, const char *folder)
{
	struct mem_folder *f;
	uint32_t v;

	g_mutex_lock(&a->lock);
	f = g_hash_table_lookup(a->folders, folder);
	v = f != NULL ? f->uidvalidity : 0;
	g_mutex_unlock(&a->lock);
	return v;
}

bool
mh_mem_account_renumber(struct mh_mem_account *a, const char *folder)
{
	struct mem_folder *f;

	g_mutex_lock(&a->lock);
	f = g_hash_table_lookup(a->folders, folder);
	if (f != NULL) {
		f->uidvalidity = a->next_uidvalidity++;
		f->uidnext = 1;
		for (guint i = 0; i < f->msgs->len; i++)
			((struct mem_msg *)f->msgs->pdata[i])->uid = f->uidnext++;
		f->highestmodseq++;
	}
	g_mutex_unlock(&a->lock);
	return f != NULL;
}

void
mh_mem_account_set_rewrite(struct mh_mem_account *a, unsigned rewrite)
{
	g_mutex_lock(&a->lock);
	a->rewrite = rewrite;
	g_mutex_unlock(&a->lock);
}

void
mh_mem_account_set_appenduid(struct mh_mem_account *a, bool on)
{
	g_mutex_lock(&a->lock);
	a->appenduid = on;
	g_mutex_unlock(&a->lock);
}

void
mh_mem_account_fail_after_appends(struct mh_mem_account *a, unsigned n)
{
	g_mutex_lock(&a->lock);
	a->fail_after = n;
	g_mutex_unlock(&a->lock);
}

void
mh_mem_account_set_down_after_fault(struct mh_mem_account *a, bool on)
{
	g_mutex_lock(&a->lock);
	a->down_after_fault = on;
	if (!on)
		a->down = false;
	g_mutex_unlock(&a->lock);
}

void
mh_mem_account_set_latency(struct mh_mem_account *a, unsigned usec)
{
	g_atomic_int_set(&a->latency, usec);
}

void
mh_mem_account_append_no(struct mh_mem_account *a, unsigned n, const char *text)
{
	g_mutex_lock(&a->lock);
	a->no_count = n;
	g_free(a->no_text);
	a->no_text = g_strdup(text);
	g_mutex_unlock(&a->lock);
}

void
mh_mem_account_refuse(struct mh_mem_account *a, const char *needle)
{
	g_mutex_lock(&a->lock);
	g_free(a->refuse);
	a->refuse = g_strdup(needle);
	g_mutex_unlock(&a->lock);
}

void
mh_mem_account_cut_on(struct mh_mem_account *a, const char *needle)
{
	g_mutex_lock(&a->lock);
	g_free(a->cut_on);
	a->cut_on = g_strdup(needle);
	g_mutex_unlock(&a->lock);
}

void
mh_mem_account_cut_select(struct mh_mem_account *a, const char *folder)
{
	g_mutex_lock(&a->lock);
	g_free(a->cut_select);
	a->cut_select = g_strdup(folder);
	g_mutex_unlock(&a->lock);
}

void
mh_mem_account_refuse_connects_after_fault(struct mh_mem_account *a, unsigned n)
{
	g_mutex_lock(&a->lock);
	a->refuse_after_fault = n;
	g_mutex_unlock(&a->lock);
}

/* One of @a's counters, read under its lock (the connections write them). */
static unsigned
account_read(struct mh_mem_account *a, const unsigned *counter)
{
	unsigned n;

	g_mutex_lock(&a->lock);
	n = *counter;
	g_mutex_unlock(&a->lock);
	return n;
}

unsigned
mh_mem_account_peak_sessions(struct mh_mem_account *a)
{
	return account_read(a, &a->peak_sessions);
}

unsigned
mh_mem_account_selects(struct mh_mem_account *a)
{
	return account_read(a, &a->selects);
}

unsigned
mh_mem_account_appenders(struct mh_mem_account *a, const char *folder)
{
	const struct mem_folder *f;
	unsigned n;

	g_mutex_lock(&a->lock);
	f = g_hash_table_lookup(a->folders, folder);
	n = f != NULL ? g_hash_table_size(f->appenders) : 0;
	g_mutex_unlock(&a->lock);
	return n;
}

unsigned
mh_mem_account_appends(struct mh_mem_account *a)
{
	return account_read(a, &a->appends);
}

/* --- a connection --- */

static struct store_mem *
store_mem(struct mh_store *st)
{
	return (struct store_mem *)st;
}

bool
sync_mem_check(struct store_mem *sm, GError **error)
{
	unsigned latency = g_atomic_int_get(&sm->acct->latency);

	if (latency > 0)
		g_usleep(latency);
	if (sm->dropped != NULL) {
		g_propagate_error(error, g_error_copy(sm->dropped));
		return false;
	}
	if (!sm->connected) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_DISCONNECTED, "%s: not connected",
		            sm->base.label);
		return false;
	}
	return true;
}

/* Refuses a command as a server's tagged NO does, counting it in the session's errors. */
bool sync_mem_no(struct store_mem *sm, GError **error, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

bool
sync_mem_no(struct store_mem *sm, GError **error, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	sm->info.errors++;
	g_free(sm->last_refusal);
	sm->last_refusal = g_strdup_printf("NO %s", text);
	sm->info.last_refusal = sm->last_refusal;
	g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_NO, "%s", text);
	g_free(text);
	return false;
}

void
sync_mem_deliver(struct store_mem *sm, guint keep)
{
	while (g_queue_get_length(&sm->answers) > keep) {
		struct mem_answer *ans = g_queue_pop_head(&sm->answers);

		ans->done(ans->uidvalidity, ans->uid, ans->error, ans->ctx);
		g_clear_error(&ans->error);
		g_free(ans);
	}
}

/* The connection drops: answers still due fail with @why (their messages may be stored:
 * that is the outcome-unknown case). */
/* The connection is made (@on) or gone: the account counts its sessions. */
static void
mem_session(struct store_mem *sm, bool on)
{
	struct mh_mem_account *a = sm->acct;

	if (sm->connected == on)
		return;
	sm->connected = on;
	g_mutex_lock(&a->lock);
	if (on) {
		a->sessions++;
		a->peak_sessions = MAX(a->peak_sessions, a->sessions);
	} else {
		a->sessions--;
	}
	g_mutex_unlock(&a->lock);
}

void
sync_mem_drop(struct store_mem *sm, const char *why)
{
	if (sm->dropped == NULL)
		sm->dropped = g_error_new(MH_IMAP_ERROR, MH_IMAP_ERROR_DISCONNECTED,
		                          "%s: connection lost: %s", sm->base.label, why);
	for (GList *l = sm->answers.head; l != NULL; l = l->next) {
		struct mem_answer *ans = l->data;

		g_clear_error(&ans->error);
		ans->error = g_error_copy(sm->dropped);
		ans->uid = ans->uidvalidity = 0;
	}
	sync_mem_deliver(sm, 0);
	mem_session(sm, false);
}

void
sync_mem_append_cancel(struct store_mem *sm)
{
	if (sm->app_done != NULL) {
		struct mem_answer *ans = g_new0(struct mem_answer, 1);

		ans->done = sm->app_done;
		ans->ctx = sm->app_ctx;
		g_queue_push_tail(&sm->answers, ans);
	}
	g_clear_pointer(&sm->app, g_byte_array_unref);
	g_clear_pointer(&sm->app_folder, g_free);
	g_clear_pointer(&sm->app_flags, g_free);
	g_clear_pointer(&sm->app_date, g_free);
	sm->app_done = NULL;
	sm->app_ctx = NULL;
}

static void
mem_close(struct mh_store *st)
{
	struct store_mem *sm = store_mem(st);

	if (sm->app_done != NULL) {
		/* LOGOUT in the middle of a literal: the session is cut. */
		sync_mem_append_cancel(sm);
		sync_mem_drop(sm, "closed during an APPEND");
	}
	sync_mem_deliver(sm, 0);
	g_clear_pointer(&sm->selected, g_free);
	mem_session(sm, false);
}

static bool
mem_connect(struct mh_store *st, GError **error)
{
	struct store_mem *sm = store_mem(st);

	bool down;

	mem_close(st); /* a new session ends the old one */
	g_clear_error(&sm->dropped);
	g_mutex_lock(&sm->acct->lock);
	down = sm->acct->down || sm->acct->refuse_next > 0;
	if (sm->acct->refuse_next > 0)
		sm->acct->refuse_next--;
	g_mutex_unlock(&sm->acct->lock);
	if (down) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_CONNECT,
		            "%s: connection refused (the server is down)", st->label);
		return false;
	}
	g_mutex_lock(&sm->acct->lock);
	sm->info.caps = (const char *const *)(sm->acct->appenduid ? mem_caps : mem_caps_plain);
	g_mutex_unlock(&sm->acct->lock);
	sm->info.greeting = "mailhaul memory store ready";
	sm->info.condstore = true;
	sm->info.errors = 0;
	sm->info.last_refusal = NULL;
	mem_session(sm, true);
	return true;
}

static const struct mh_store_info *
mem_info(struct mh_store *st)
{
	struct store_mem *sm = store_mem(st);

	return sm->connected ? &sm->info : NULL;
}

static void
mem_abandon(struct mh_store *st, const GError *why)
{
	struct store_mem *sm = store_mem(st);

	if (sm->dropped == NULL)
		sm->dropped = g_error_copy(why);
	sync_mem_drop(sm, why->message);
}

static void
mem_free(struct mh_store *st)
{
	struct store_mem *sm = store_mem(st);

	mem_close(st);
	g_clear_error(&sm->dropped);
	mh_mem_account_unref(sm->acct);
	g_free(sm->last_refusal);
	g_free(st->label);
	g_free(sm);
}

/* --- folders --- */

static bool
mem_has_children(struct mh_mem_account *a, const char *name)
{
	g_autofree char *prefix = g_strdup_printf("%s%c", name, a->sep);
	GHashTableIter it;
	gpointer key;

	g_hash_table_iter_init(&it, a->folders);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		if (g_str_has_prefix(key, prefix))
			return true;
	}
	return false;
}

static gint
mem_folder_cmp(gconstpointer a, gconstpointer b)
{
	const struct mh_imap_folder *x = *(struct mh_imap_folder *const *)a;
	const struct mh_imap_folder *y = *(struct mh_imap_folder *const *)b;

	return strcmp(x->name, y->name);
}

static bool
mem_list(struct mh_store *st, GPtrArray **folders_r, GPtrArray **subscribed_r, GHashTable **boxes_r,
         GError **error)
{
	struct store_mem *sm = store_mem(st);
	struct mh_mem_account *a = sm->acct;
	GHashTableIter it;
	gpointer value;

	*boxes_r = NULL;
	if (!sync_mem_check(sm, error))
		return false;
	*folders_r = g_ptr_array_new_with_free_func((GDestroyNotify)mh_imap_folder_free);
	*subscribed_r = g_ptr_array_new_with_free_func(g_free);
	g_mutex_lock(&a->lock);
	g_hash_table_iter_init(&it, a->folders);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct mem_folder *f = value;
		struct mh_imap_folder *out = g_new0(struct mh_imap_folder, 1);

		out->name = g_strdup(f->name);
		out->raw_name = g_strdup(f->name);
		out->sep = a->sep;
		out->attrs = f->attrs | (mem_has_children(a, f->name) ? MH_IMAP_ATTR_HASCHILDREN
		                                                      : MH_IMAP_ATTR_HASNOCHILDREN);
		g_ptr_array_add(*folders_r, out);
		if (f->subscribed)
			g_ptr_array_add(*subscribed_r, g_strdup(f->name));
	}
	g_mutex_unlock(&a->lock);
	g_ptr_array_sort(*folders_r, mem_folder_cmp);
	return true;
}

static bool
mem_namespace(struct mh_store *st, char **prefix_r, char *sep_r, GError **error)
{
	struct store_mem *sm = store_mem(st);

	if (!sync_mem_check(sm, error))
		return false;
	*prefix_r = g_strdup(sm->acct->prefix);
	*sep_r = sm->acct->sep;
	return true;
}

/* Fills @box_r from folder @name (the lock held); false when it does not exist. */
static bool
mem_box(struct mh_mem_account *a, const char *name, struct mh_store_box *box_r)
{
	const struct mem_folder *f = g_hash_table_lookup(a->folders, name);

	memset(box_r, 0, sizeof(*box_r));
	if (f == NULL)
		return false;
	box_r->exists = f->msgs->len;
	box_r->uidvalidity = f->uidvalidity;
	box_r->uidnext = f->uidnext;
	box_r->highestmodseq = f->highestmodseq;
	box_r->size_known = true;
	for (guint i = 0; i < f->msgs->len; i++)
		box_r->size += g_bytes_get_size(((struct mem_msg *)f->msgs->pdata[i])->bytes);
	return true;
}

static bool
mem_status(struct mh_store *st, const char *folder, struct mh_store_box *box_r, GError **error)
{
	struct store_mem *sm = store_mem(st);
	bool found;

	memset(box_r, 0, sizeof(*box_r));
	if (!sync_mem_check(sm, error))
		return false;
	sync_mem_deliver(sm, 0);
	g_mutex_lock(&sm->acct->lock);
	found = mem_box(sm->acct, folder, box_r);
	g_mutex_unlock(&sm->acct->lock);
	return found || sync_mem_no(sm, error, "[NONEXISTENT] Mailbox doesn't exist: %s", folder);
}

static bool
mem_select(struct mh_store *st, const char *folder, bool writable, struct mh_store_box *box_r,
           GError **error)
{
	static const char *const permanent[] = {"\\Answered", "\\Flagged", "\\Deleted", "\\Seen",
	                                        "\\Draft"};
	struct store_mem *sm = store_mem(st);
	bool found, cut;

	memset(box_r, 0, sizeof(*box_r));
	if (!sync_mem_check(sm, error))
		return false;
	sync_mem_deliver(sm, 0);
	g_clear_pointer(&sm->selected, g_free);
	g_mutex_lock(&sm->acct->lock);
	sm->acct->selects++;
	found = mem_box(sm->acct, folder, box_r);
	cut = sm->acct->cut_select != NULL && strcmp(sm->acct->cut_select, folder) == 0;
	g_mutex_unlock(&sm->acct->lock);
	if (cut) {
		sync_mem_drop(sm, "connection lost at SELECT (test fault)");
		return sync_mem_check(sm, error);
	}
	if (!found)
		return sync_mem_no(sm, error, "[NONEXISTENT] Mailbox doesn't exist: %s", folder);
	/* RFC 3501 6.3.1: SELECT gives no size. */
	box_r->size = 0;
	box_r->size_known = false;
	box_r->all_keywords = true;
	box_r->permanentflags = g_ptr_array_new_with_free_func(g_free);
	for (size_t i = 0; i < G_N_ELEMENTS(permanent); i++)
		g_ptr_array_add(box_r->permanentflags, g_strdup(permanent[i]));
	sm->selected = g_strdup(folder);
	sm->writable = writable;
	return true;
}

static bool
mem_create(struct mh_store *st, const char *folder, GError **error)
{
	struct store_mem *sm = store_mem(st);
	bool ok;

	if (!sync_mem_check(sm, error))
		return false;
	g_mutex_lock(&sm->acct->lock);
	ok = !g_hash_table_contains(sm->acct->folders, folder);
	if (ok)
		mem_folder_new(sm->acct, folder, 0);
	g_mutex_unlock(&sm->acct->lock);
	return ok || sync_mem_no(sm, error, "[ALREADYEXISTS] Mailbox already exists: %s", folder);
}

static bool
mem_subscribe(struct mh_store *st, const char *folder, GError **error)
{
	struct store_mem *sm = store_mem(st);
	struct mem_folder *f;

	if (!sync_mem_check(sm, error))
		return false;
	g_mutex_lock(&sm->acct->lock);
	f = g_hash_table_lookup(sm->acct->folders, folder);
	if (f != NULL)
		f->subscribed = true;
	g_mutex_unlock(&sm->acct->lock);
	return true;
}

static bool
mem_delete_folder(struct mh_store *st, const char *folder, GError **error)
{
	struct store_mem *sm = store_mem(st);
	bool ok;

	if (!sync_mem_check(sm, error))
		return false;
	g_mutex_lock(&sm->acct->lock);
	ok = g_hash_table_remove(sm->acct->folders, folder);
	g_mutex_unlock(&sm->acct->lock);
	if (ok && g_strcmp0(sm->selected, folder) == 0)
		g_clear_pointer(&sm->selected, g_free);
	return ok || sync_mem_no(sm, error, "[NONEXISTENT] Mailbox doesn't exist: %s", folder);
}

struct mem_folder *
sync_mem_selected(struct store_mem *sm, GError **error)
{
	struct mem_folder *f =
		sm->selected != NULL ? g_hash_table_lookup(sm->acct->folders, sm->selected) : NULL;

	if (f == NULL)
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_BAD, "%s: no mailbox selected",
		            sm->base.label);
	return f;
}

static const struct mh_store_ops store_mem_ops = {
	.connect = mem_connect,
	.close = mem_close,
	.free = mem_free,
	.list = mem_list,
	.namespace = mem_namespace,
	.status = mem_status,
	.select = mem_select,
	.create = mem_create,
	.subscribe = mem_subscribe,
	.delete_folder = mem_delete_folder,
	.search = sync_mem_search,
	.fetch_meta = sync_mem_fetch_meta,
	.fetch_bodies = sync_mem_fetch_bodies,
	.append_begin = sync_mem_append_begin,
	.append_write = sync_mem_append_write,
	.append_end = sync_mem_append_end,
	.append_abort = sync_mem_append_abort,
	.flush = sync_mem_flush,
	.delete_msgs = sync_mem_delete_msgs,
	.add_flags = sync_mem_add_flags,
	.remove_flags = sync_mem_remove_flags,
	.add_labels = sync_mem_add_labels,
	.find_message_id = sync_mem_find_message_id,
	.info = mem_info,
	.abandon = mem_abandon,
};

struct mh_store *
mh_store_mem_new(struct mh_mem_account *a, const char *label)
{
	struct store_mem *sm = g_new0(struct store_mem, 1);

	sm->base.ops = &store_mem_ops;
	sm->base.label = g_strdup(label);
	sm->acct = mh_mem_account_ref(a);
	g_mutex_lock(&a->lock);
	sm->id = ++a->last_store_id;
	g_mutex_unlock(&a->lock);
	g_queue_init(&sm->answers);
	return &sm->base;
}
