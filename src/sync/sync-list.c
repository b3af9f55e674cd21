/* SPDX-License-Identifier: MIT */
/* Listing messages for the engine: metadata fetched in ranges into struct sync_msg, UID
 * sets, and the flags a destination keeps (PERMANENTFLAGS, never \\Recent). */
#include <stdio.h>
#include <string.h>

#include "mh-log.h"
#include "sync-fingerprint.h"
#include "sync-private.h"

static const char date_months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* The packed fields, low bits first: day style (0 "07", 1 " 7", 2 "7") 2, day 5, month 4,
 * year 14, hour 5, minute 6, second 6, zone sign 1, zone (hhmm) 14: 57 bits. */
static const unsigned date_bits[] = {2, 5, 4, 14, 5, 6, 6, 1, 14};

static void
date_unpack(uint64_t packed, char buf[SYNC_DATE_LEN])
{
	unsigned f[G_N_ELEMENTS(date_bits)];

	for (guint i = 0; i < G_N_ELEMENTS(date_bits); i++) {
		f[i] = (unsigned)(packed & ((1u << date_bits[i]) - 1));
		packed >>= date_bits[i];
	}
	g_snprintf(buf, SYNC_DATE_LEN,
	           f[0] == 0   ? "%02u-%s-%04u %02u:%02u:%02u %c%04u"
	           : f[0] == 1 ? "%2u-%s-%04u %02u:%02u:%02u %c%04u"
	                       : "%u-%s-%04u %02u:%02u:%02u %c%04u",
	           f[1], date_months[f[2] % 12], f[3], f[4], f[5], f[6], f[7] ? '-' : '+', f[8]);
}

/* @s in 57 bits, or 0 when it is not of the RFC 3501 form (then it is kept as text):
 * whatever is packed reads back exactly as sent. */
static uint64_t
date_pack(const char *s)
{
	unsigned f[G_N_ELEMENTS(date_bits)] = {0};
	char sign = 0, mon[4] = "", back[SYNC_DATE_LEN];
	int end = 0;
	uint64_t packed = 0;

	if (sscanf(s, "%2u-%3c-%4u %2u:%2u:%2u %c%4u%n", &f[1], mon, &f[3], &f[4], &f[5], &f[6],
	           &sign, &f[8], &end) != 8 ||
	    s[end] != '\0' || (sign != '+' && sign != '-'))
		return 0;
	f[0] = s[0] == ' ' ? 1 : s[1] == '-' ? 2 : 0;
	f[2] = 12;
	for (unsigned i = 0; i < 12; i++)
		if (strcmp(mon, date_months[i]) == 0)
			f[2] = i;
	f[7] = sign == '-';
	if (f[2] == 12 || f[1] > 31 || f[3] > 9999 || f[4] > 31 || f[5] > 63 || f[6] > 63 ||
	    f[8] > 9999)
		return 0;
	for (guint i = G_N_ELEMENTS(date_bits); i-- > 0;)
		packed = (packed << date_bits[i]) | f[i];
	date_unpack(packed, back);
	return strcmp(back, s) == 0 ? packed : 0;
}

/* A listed message with its fingerprint: the headers were asked for. */
struct sync_msg_fp {
	struct sync_msg m;
	char *fingerprint; /* owned */
};

G_STATIC_ASSERT(sizeof(struct sync_msg) == 24);

struct sync_msg *
sync_msg_new(uint32_t uid, uint64_t size, const char *flags, const char *date, char *fingerprint)
{
	struct sync_msg *m;

	if (fingerprint != NULL) {
		struct sync_msg_fp *f = g_new0(struct sync_msg_fp, 1);

		f->fingerprint = fingerprint;
		m = &f->m;
		m->with_fingerprint = true;
	} else {
		m = g_new0(struct sync_msg, 1);
	}
	m->uid = uid;
	m->size = size;
	m->flags = g_quark_from_string(flags);
	if (date == NULL)
		return m;
	m->date.packed = date_pack(date);
	m->date_kind = SYNC_DATE_PACKED;
	if (m->date.packed == 0) {
		m->date.text = g_strdup(date);
		m->date_kind = SYNC_DATE_TEXT;
	}
	return m;
}

const char *
sync_msg_fingerprint(const struct sync_msg *m)
{
	return m->with_fingerprint ? ((const struct sync_msg_fp *)m)->fingerprint : NULL;
}

const char *
sync_msg_date(const struct sync_msg *m, char buf[SYNC_DATE_LEN])
{
	switch (m->date_kind) {
	case SYNC_DATE_PACKED:
		date_unpack(m->date.packed, buf);
		return buf;
	case SYNC_DATE_TEXT:
		return m->date.text;
	default:
		return NULL;
	}
}

void
sync_msg_free(struct sync_msg *m)
{
	if (m == NULL)
		return;
	if (m->date_kind == SYNC_DATE_TEXT)
		g_free(m->date.text);
	if (m->with_fingerprint)
		g_free(((struct sync_msg_fp *)m)->fingerprint);
	g_free(m);
}

struct sync_msg *
sync_msgs_find_at(const GPtrArray *msgs, uint32_t uid, guint *at)
{
	*at = sync_uid_lower_bound(msgs->pdata, 0, true, msgs->len, uid, *at);
	return *at < msgs->len && ((struct sync_msg *)msgs->pdata[*at])->uid == uid
	               ? msgs->pdata[*at]
	               : NULL;
}

struct sync_msg *
sync_msgs_find(const GPtrArray *msgs, guint n, uint32_t uid)
{
	guint m = MIN(n, msgs->len);
	guint at = sync_uid_lower_bound(msgs->pdata, 0, true, m, uid, m);

	return at < m && ((struct sync_msg *)msgs->pdata[at])->uid == uid ? msgs->pdata[at] : NULL;
}

static bool
flag_listed(const GPtrArray *list, const char *flag)
{
	for (guint i = 0; list != NULL && i < list->len; i++) {
		if (g_ascii_strcasecmp(list->pdata[i], flag) == 0)
			return true;
	}
	return false;
}

static gint
flag_cmp(gconstpointer a, gconstpointer b)
{
	return g_ascii_strcasecmp(*(char *const *)a, *(char *const *)b);
}

char *
sync_flags_for_dest(const char *flags, const struct mh_store_box *box, const char *drop)
{
	g_auto(GStrv) dropped = g_strsplit(drop != NULL ? drop : "", " ", -1);
	g_auto(GStrv) words = g_strsplit(flags != NULL ? flags : "", " ", -1);
	g_autoptr(GPtrArray) keep = g_ptr_array_new();
	bool unrestricted = box == NULL || (box->permanentflags == NULL && !box->all_keywords) ||
	                    (box->permanentflags->len == 0 && !box->all_keywords);
	GString *out = g_string_new(NULL);

	for (size_t i = 0; words[i] != NULL; i++) {
		const char *f = words[i];

		if (*f == '\0' || g_ascii_strcasecmp(f, "\\Recent") == 0)
			continue;
		if (drop != NULL && g_strv_contains((const char *const *)dropped, f))
			continue;
		if (!unrestricted && !flag_listed(box->permanentflags, f) &&
		    (f[0] == '\\' || !box->all_keywords))
			continue;
		if (!flag_listed(keep, f))
			g_ptr_array_add(keep, (char *)f);
	}
	g_ptr_array_sort(keep, flag_cmp);
	for (guint i = 0; i < keep->len; i++)
		g_string_append_printf(out, "%s%s", i > 0 ? " " : "", (char *)keep->pdata[i]);
	return g_string_free(out, false);
}

char *
sync_flags_rewrite(const GPtrArray *rules, const char *flags)
{
	char *out = g_strdup(flags != NULL ? flags : "");

	for (guint i = 0; rules != NULL && i < rules->len; i++) {
		g_autoptr(GError) error = NULL;
		char *next = mh_plan_regextrans_apply(rules->pdata[i], out, &error);

		if (next == NULL) {
			mh_log(MH_LOG_WARN, "--regexflag: %s", error->message);
			continue;
		}
		g_free(out);
		out = next;
	}
	return out;
}

struct meta_load {
	GPtrArray *msgs; /* struct sync_msg * */
	bool fingerprints;
};

static void
on_meta(const struct mh_store_meta *m, void *ctx)
{
	struct meta_load *ml = ctx;
	char *fp = ml->fingerprints
	                   ? mh_fingerprint_compute(m->headers != NULL ? m->headers : "",
	                                            m->headers != NULL ? m->headers_len : 0)
	                   : NULL;

	g_ptr_array_add(ml->msgs, sync_msg_new(m->uid, m->size, m->flags, m->date, fp));
}

gint
sync_msg_cmp(gconstpointer a, gconstpointer b)
{
	const struct sync_msg *x = *(struct sync_msg *const *)a;
	const struct sync_msg *y = *(struct sync_msg *const *)b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* A listing is sized for this many messages at most before it starts (a server's count
 * is not trusted further); beyond, it grows as it comes. */
#define LIST_EXPECT_MAX (1u << 22)

static GPtrArray *
list_msgs(struct mh_store *st, const char *uidset, unsigned items, uint64_t changedsince,
          guint expect, GError **error)
{
	struct meta_load ml = {
		.msgs = g_ptr_array_new_full(MIN(expect, LIST_EXPECT_MAX),
	                                     (GDestroyNotify)sync_msg_free),
		.fingerprints = (items & MH_STORE_META_HEADERS) != 0,
	};

	if (!st->ops->fetch_meta(st, uidset, items, changedsince, on_meta, &ml, error)) {
		g_ptr_array_free(ml.msgs, true);
		return NULL;
	}
	g_ptr_array_sort(ml.msgs, sync_msg_cmp);
	return ml.msgs;
}

/* Lists @uidset ("1:*" or explicit) of the selected folder of @st. */
GPtrArray *
sync_list_msgs(struct mh_store *st, const char *uidset, unsigned items, uint64_t changedsince,
               GError **error)
{
	return list_msgs(st, uidset, items, changedsince, 0, error);
}

GPtrArray *
sync_list_folder(struct mh_store *st, unsigned items, guint expect, GError **error)
{
	return list_msgs(st, "1:*", items, 0, expect, error);
}

/* Lists the messages with UIDs @uids (fetched in ranges). */
GPtrArray *
sync_list_uids(struct mh_store *st, const GArray *uids, unsigned items, GError **error)
{
	GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)sync_msg_free);
	guint i = 0;

	while (i < uids->len) {
		g_autofree char *set =
			mh_store_uidset_runs(uids, i, UIDSET_MAX, UIDSET_MAX_UIDS, &i);
		GPtrArray *part = sync_list_msgs(st, set, items, 0, error);

		if (part == NULL) {
			g_ptr_array_free(all, true);
			return NULL;
		}
		g_ptr_array_extend_and_steal(all, part);
	}
	g_ptr_array_sort(all, sync_msg_cmp);
	return all;
}

gint
sync_uid_cmp(gconstpointer a, gconstpointer b)
{
	guint32 x = *(const guint32 *)a;
	guint32 y = *(const guint32 *)b;

	return x < y ? -1 : x > y;
}

gint
sync_str_ptr_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct sync_both_job {
	sync_side_fn *fn;
	void *ctx;
	void *log_route; /* the caller's (mh_log_thread_route()) */
	GError *error;
	bool ok;
};

static gpointer
sync_both_run(gpointer data)
{
	struct sync_both_job *j = data;

	mh_log_set_thread_route(j->log_route);
	j->ok = j->fn(j->ctx, &j->error);
	return NULL;
}

bool
sync_both(sync_side_fn *a, void *actx, sync_side_fn *b, void *bctx, GError **error)
{
	struct sync_both_job j = {.fn = b, .ctx = bctx, .log_route = mh_log_thread_route()};
	GThread *t = g_thread_new("side", sync_both_run, &j);
	bool ok = a(actx, error);

	g_thread_join(t);
	if (ok && !j.ok) {
		g_propagate_error(error, j.error);
		return false;
	}
	g_clear_error(&j.error);
	return ok && j.ok;
}

static bool
close_side(void *ctx, GError **error)
{
	struct mh_store *st = ctx;

	(void)error;
	st->ops->close(st);
	return true;
}

void
sync_close_both(struct mh_store *a, struct mh_store *b)
{
	(void)sync_both(close_side, a, close_side, b, NULL);
}
