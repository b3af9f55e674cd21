/* SPDX-License-Identifier: MIT */
/* Whether the two sides of a run are one mailbox. Two ways to know:
 * - by address: the same port, the same user (ignoring case) and host names that are
 *   equal or resolve to a common address: one server socket, one mailbox;
 * - by what the servers say, for one server reached through two names or ports (two SSH
 *   tunnels, a proxy), once both sides have the same user, the same greeting and
 *   capabilities and the same folder names:
 *   - where both servers name a folder with an identifier of their own (RFC 8474's
 *     MAILBOXID, Dovecot's X-GUID), INBOX's (or the first folder's) decides, both ways;
 *   - elsewhere, for INBOX and up to SYNC_ACCOUNTS_PROBES - 1 other folders the same
 *     UIDVALIDITY, UIDNEXT, message count and HIGHESTMODSEQ, with at least one folder not
 *     empty. Two distinct servers agree on all of that when one is a copy of the other
 *     made with its UIDs, or when both INBOXes were created in the same second and one
 *     holds a complete copy of the other: that is why the identifier is asked first. An
 *     empty mailbox (nothing to lose) is never called the same by its counters. */
#include "sync-accounts.h"

#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "mh-log.h"
#include "sync-private.h"

#define SYNC_ACCOUNTS_PROBES 8 /* folders whose counters are compared */

static GPtrArray *
accounts_resolve(const char *host)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	GPtrArray *addrs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return addrs;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			const struct sockaddr_in *sin = (const void *)ai->ai_addr;

			g_ptr_array_add(addrs, g_bytes_new(&sin->sin_addr, sizeof(sin->sin_addr)));
		} else if (ai->ai_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const void *)ai->ai_addr;

			g_ptr_array_add(addrs,
			                g_bytes_new(&sin6->sin6_addr, sizeof(sin6->sin6_addr)));
		}
	}
	freeaddrinfo(res);
	return addrs;
}

static bool
accounts_hosts_same(const char *a, const char *b)
{
	g_autoptr(GPtrArray) aa = NULL;
	g_autoptr(GPtrArray) bb = NULL;

	if (g_ascii_strcasecmp(a, b) == 0)
		return true;
	aa = accounts_resolve(a);
	bb = accounts_resolve(b);
	for (guint i = 0; i < aa->len; i++) {
		for (guint j = 0; j < bb->len; j++) {
			if (g_bytes_equal(aa->pdata[i], bb->pdata[j]))
				return true;
		}
	}
	return false;
}

bool
mh_sync_endpoints_same(const struct mh_sync_endpoint *a, const struct mh_sync_endpoint *b)
{
	if (a->host == NULL || b->host == NULL || a->user == NULL || b->user == NULL)
		return false;
	return a->port == b->port && g_ascii_strcasecmp(a->user, b->user) == 0 &&
	       accounts_hosts_same(a->host, b->host);
}

/* Capabilities that differ with how a connection was made rather than with the server. */
static bool
accounts_cap_ignored(const char *cap)
{
	return g_ascii_strcasecmp(cap, "STARTTLS") == 0 ||
	       g_ascii_strcasecmp(cap, "LOGINDISABLED") == 0 ||
	       g_ascii_strncasecmp(cap, "AUTH=", 5) == 0 ||
	       g_ascii_strncasecmp(cap, "COMPRESS=", 9) == 0;
}

static GHashTable *
accounts_cap_set(const char *const *caps)
{
	GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (size_t i = 0; caps != NULL && caps[i] != NULL; i++) {
		if (!accounts_cap_ignored(caps[i]))
			g_hash_table_add(set, g_ascii_strup(caps[i], -1));
	}
	return set;
}

static bool
accounts_sets_equal(GHashTable *a, GHashTable *b)
{
	GHashTableIter it;
	gpointer key;

	if (g_hash_table_size(a) != g_hash_table_size(b))
		return false;
	g_hash_table_iter_init(&it, a);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		if (!g_hash_table_contains(b, key))
			return false;
	}
	return true;
}

/* Same greeting text and capabilities (both sides logged in). */
static bool
accounts_servers_alike(struct mh_store *src, struct mh_store *dst)
{
	const struct mh_store_info *si = src->ops->info != NULL ? src->ops->info(src) : NULL;
	const struct mh_store_info *di = dst->ops->info != NULL ? dst->ops->info(dst) : NULL;
	g_autoptr(GHashTable) sc = NULL;
	g_autoptr(GHashTable) dc = NULL;

	if (si == NULL || di == NULL || g_strcmp0(si->greeting, di->greeting) != 0)
		return false;
	sc = accounts_cap_set(si->caps);
	dc = accounts_cap_set(di->caps);
	return accounts_sets_equal(sc, dc);
}

static GHashTable *
accounts_folder_set(const GPtrArray *folders)
{
	GHashTable *set = g_hash_table_new(g_str_hash, g_str_equal);

	for (guint i = 0; folders != NULL && i < folders->len; i++) {
		const struct mh_imap_folder *f = folders->pdata[i];

		if (!(f->attrs & (MH_IMAP_ATTR_NOSELECT | MH_IMAP_ATTR_NONEXISTENT)))
			g_hash_table_add(set, f->name);
	}
	return set;
}

/* A folder's counters: from the listing (LIST-STATUS) where it gave them, else STATUS. */
static bool
accounts_box(struct mh_store *st, GHashTable *listed, const char *name, struct mh_store_box *box_r,
             GError **error)
{
	const struct mh_store_box *b = listed != NULL ? g_hash_table_lookup(listed, name) : NULL;

	if (b == NULL)
		return st->ops->status(st, name, box_r, error);
	*box_r = (struct mh_store_box){.exists = b->exists,
	                               .uidvalidity = b->uidvalidity,
	                               .uidnext = b->uidnext,
	                               .highestmodseq = b->highestmodseq};
	return true;
}

/* 1 when every probed folder has the same counters on both sides and one is not empty,
 * 0 when not, -1 on a STATUS failure. *probed_r: how many folders were compared. */
static int
accounts_boxes_alike(struct mh_store *src, GHashTable *src_boxes, struct mh_store *dst,
                     GHashTable *dst_boxes, GHashTable *names, guint *probed_r, GError **error)
{
	g_autoptr(GPtrArray) probe = g_ptr_array_new();
	bool some_mail = false;

	if (g_hash_table_contains(names, "INBOX"))
		g_ptr_array_add(probe, "INBOX");
	{
		g_autofree gpointer *keys = g_hash_table_get_keys_as_array(names, NULL);
		g_autoptr(GPtrArray) rest = g_ptr_array_new();

		for (guint i = 0; keys[i] != NULL; i++) {
			if (strcmp(keys[i], "INBOX") != 0)
				g_ptr_array_add(rest, keys[i]);
		}
		g_ptr_array_sort(rest, sync_str_ptr_cmp);
		for (guint i = 0; i < rest->len && probe->len < SYNC_ACCOUNTS_PROBES; i++)
			g_ptr_array_add(probe, rest->pdata[i]);
	}
	*probed_r = probe->len;
	for (guint i = 0; i < probe->len; i++) {
		struct mh_store_box a = {0}, b = {0};
		bool same;

		if (!accounts_box(src, src_boxes, probe->pdata[i], &a, error) ||
		    !accounts_box(dst, dst_boxes, probe->pdata[i], &b, error)) {
			mh_store_box_clear(&a);
			mh_store_box_clear(&b);
			return -1;
		}
		same = a.uidvalidity == b.uidvalidity && a.uidnext == b.uidnext &&
		       a.exists == b.exists && a.highestmodseq == b.highestmodseq;
		some_mail = some_mail || a.exists > 0;
		mh_store_box_clear(&a);
		mh_store_box_clear(&b);
		if (!same)
			return 0;
	}
	return some_mail ? 1 : 0;
}

/* By the servers' own identifiers of the first of @names (INBOX first): 1 (the same;
 * *how_r a new string saying so), 0 (not), 2 (a side gives none) or -1. */
static int
accounts_ids_same(struct mh_store *src, struct mh_store *dst, GHashTable *names, char **how_r,
                  GError **error)
{
	g_autofree char *sid = NULL;
	g_autofree char *did = NULL;
	const char *skind = NULL, *dkind = NULL;
	const char *name = NULL;

	if (src->ops->mailbox_id == NULL || dst->ops->mailbox_id == NULL)
		return 2;
	if (g_hash_table_contains(names, "INBOX")) {
		name = "INBOX";
	} else {
		GHashTableIter it;
		gpointer key;

		g_hash_table_iter_init(&it, names);
		while (g_hash_table_iter_next(&it, &key, NULL)) {
			if (name == NULL || strcmp(key, name) < 0)
				name = key;
		}
	}
	if (name == NULL)
		return 2;
	if (!src->ops->mailbox_id(src, name, &sid, &skind, error) ||
	    !dst->ops->mailbox_id(dst, name, &did, &dkind, error))
		return -1;
	if (sid == NULL || did == NULL || g_strcmp0(skind, dkind) != 0)
		return 2;
	mh_log_debug(MH_LOG_CAT_SYNC, "%s's %s: %s on host1, %s on host2", name, skind, sid, did);
	if (strcmp(sid, did) != 0)
		return 0;
	*how_r = g_strdup_printf("%s has the same %s on both", name, skind);
	return 1;
}

/* Returns 1 (same; *why_r a new string saying how that was decided), 0 or -1. */
static int
accounts_same(const struct mh_sync_options *opts, struct mh_store *src,
              const GPtrArray *src_folders, GHashTable *src_boxes, struct mh_store *dst,
              const GPtrArray *dst_folders, GHashTable *dst_boxes, char **why_r, GError **error)
{
	const struct mh_sync_endpoint *a = &opts->endpoints[0], *b = &opts->endpoints[1];
	g_autoptr(GHashTable) sn = NULL;
	g_autoptr(GHashTable) dn = NULL;
	g_autofree char *how = NULL;
	guint probed = 0;
	int alike;

	if (a->host == NULL || b->host == NULL || a->user == NULL || b->user == NULL)
		return 0;
	if (mh_sync_endpoints_same(a, b)) {
		*why_r = g_strdup_printf("user %s on %s port %u and on %s port %u: the same "
		                         "address, port and user",
		                         a->user, a->host, a->port, b->host, b->port);
		return 1;
	}
	if (g_ascii_strcasecmp(a->user, b->user) != 0 || !accounts_servers_alike(src, dst))
		return 0;
	sn = accounts_folder_set(src_folders);
	dn = accounts_folder_set(dst_folders);
	if (!accounts_sets_equal(sn, dn))
		return 0;
	alike = accounts_ids_same(src, dst, sn, &how, error);
	if (alike == 1)
		*why_r = g_strdup_printf("user %s on %s port %u and on %s port %u: the same "
		                         "server greeting, capabilities and folders, and %s",
		                         a->user, a->host, a->port, b->host, b->port, how);
	if (alike != 2)
		return alike;
	alike = accounts_boxes_alike(src, src_boxes, dst, dst_boxes, sn, &probed, error);
	if (alike == 1)
		*why_r = g_strdup_printf(
			"user %s on %s port %u and on %s port %u: the same server greeting and "
			"capabilities, the same folders, and the same UIDVALIDITY, UIDNEXT and "
			"message counts in INBOX and %u other folders",
			a->user, a->host, a->port, b->host, b->port, probed > 0 ? probed - 1 : 0);
	return alike;
}

bool
sync_accounts_check(const struct mh_sync_options *opts, struct mh_store *src,
                    const GPtrArray *src_folders, GHashTable *src_boxes, struct mh_store *dst,
                    const GPtrArray *dst_folders, GHashTable *dst_boxes, GError **error)
{
	g_autofree char *why = NULL;
	int same = accounts_same(opts, src, src_folders, src_boxes, dst, dst_folders, dst_boxes,
	                         &why, error);

	if (same < 0) {
		g_prefix_error(error, "comparing the two accounts: ");
		return false;
	}
	if (same == 0)
		return true;
	if (opts->verify_only) {
		mh_log(MH_LOG_WARN,
		       "host1 and host2 are the same mailbox (%s): comparing it with "
		       "itself",
		       why);
		return true;
	}
	g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_USAGE,
	            "host1 and host2 are the same mailbox (%s); a sync of a mailbox with itself "
	            "is refused and nothing was changed: check --host2, --port2 and --user2",
	            why);
	return false;
}
