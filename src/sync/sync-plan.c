/* SPDX-License-Identifier: MIT */
/* The folder plan: selects source folders (--folder, --include, --exclude), names their
 * destination (namespace prefix and separator translation, RFC 2342; special-use mapping,
 * RFC 6154; --regextrans2), and derives the CREATE list, parents first, and the folders to
 * SUBSCRIBE. Names are UTF-8 and compared exactly, INBOX ignoring case (RFC 3501 5.1). */
#include "sync-plan.h"

#include "sync-error.h"

#include <string.h>

struct mh_plan {
	GPtrArray *entries;       /* owned; struct mh_plan_entry * */
	GPtrArray *creates;       /* owned; char * */
	GPtrArray *subscriptions; /* owned; char * */
};

/* One side's naming facts. */
struct plan_side {
	const GPtrArray *folders; /* borrowed; struct mh_imap_folder * */
	const char *prefix;       /* borrowed; never NULL */
	char sep;                 /* '\0': a flat name space */
	unsigned claimed;         /* special-use roles that some folder carries as attribute */
	GHashTable *by_name;      /* owned, source side only: role -> the one folder name
	                             (borrowed) that takes the role by its name, where no folder
	                             has it as attribute; NULL on the destination side */
};

struct plan_ctx {
	const struct mh_plan_options *opts; /* borrowed */
	struct plan_side src;
	struct plan_side dst;
	char dst_join;          /* joins components: dst.sep, or for a flat destination any */
	GPtrArray *include;     /* owned; GRegex * */
	GPtrArray *exclude;     /* owned; GRegex * */
	GPtrArray *rules;       /* owned; struct mh_plan_regextrans * */
	GHashTable *dst_names;  /* owned normalised name -> borrowed struct mh_imap_folder * */
	GHashTable *subscribed; /* owned normalised source names */
	struct mh_plan *plan;   /* owned until returned */
	guint named;            /* source folders that --folder names (all without it) */
	guint included;         /* of those, the ones --include selects (all without it) */
	guint selected;         /* of those, the ones no --exclude leaves out */
};

#define PLAN_ATTR_CONTAINER (MH_IMAP_ATTR_NOSELECT | MH_IMAP_ATTR_NONEXISTENT)

void
mh_plan_options_init(struct mh_plan_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->automap = true;
}

static void
plan_entry_free(gpointer p)
{
	struct mh_plan_entry *e = p;

	g_free(e->src_name);
	g_free(e->dst_name);
	g_free(e->skip_reason);
	g_free(e->note);
	g_free(e);
}

static void plan_entry_note(struct mh_plan_entry *e, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Appends a remark for the log to @e->note. */
static void
plan_entry_note(struct mh_plan_entry *e, const char *fmt, ...)
{
	g_autofree char *text = NULL;
	char *joined;
	va_list ap;

	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (e->note == NULL) {
		e->note = g_steal_pointer(&text);
		return;
	}
	joined = g_strconcat(e->note, "; ", text, NULL);
	g_free(e->note);
	e->note = joined;
}

/* Whether @name is INBOX or lies below it (any case). */
static bool
plan_inbox_rooted(const char *name, char sep)
{
	return g_ascii_strncasecmp(name, "INBOX", 5) == 0 &&
	       (name[5] == '\0' || (sep != '\0' && name[5] == sep));
}

static bool
plan_is_inbox(const char *name)
{
	return g_ascii_strcasecmp(name, "INBOX") == 0;
}

/* Returns a new copy of @name with a leading INBOX component spelt "INBOX". */
static char *
plan_norm(const char *name, char sep)
{
	char *n = g_strdup(name);

	if (plan_inbox_rooted(n, sep))
		memcpy(n, "INBOX", 5);
	return n;
}

static bool
plan_names_equal(const char *a, const char *b, char sep)
{
	bool ra = plan_inbox_rooted(a, sep), rb = plan_inbox_rooted(b, sep);

	if (ra != rb)
		return false;
	return ra ? strcmp(a + 5, b + 5) == 0 : strcmp(a, b) == 0;
}

/* @name without the namespace @prefix (whose INBOX part matches in any case), or @name
 * itself when it does not start with it. */
static const char *
plan_strip_prefix(const char *name, const char *prefix)
{
	size_t n = strlen(prefix), ci = 0;

	if (n >= 5 && g_ascii_strncasecmp(prefix, "INBOX", 5) == 0)
		ci = 5;
	if (n == 0 || strlen(name) <= n)
		return name;
	if (g_ascii_strncasecmp(name, prefix, ci) != 0 ||
	    strncmp(name + ci, prefix + ci, n - ci) != 0)
		return name;
	return name + n;
}

/* Without special-use attributes (Courier, old Cyrus) roles are guessed from names, and a
 * mailbox may hold both "Drafts" and "Entwürfe": only one folder per role takes it, the
 * most common spelling (then the first listed), so that two source folders are never
 * merged into one destination folder by a guess. */
static void
plan_side_name_roles(struct plan_side *side)
{
	g_autoptr(GHashTable) ranks = g_hash_table_new(NULL, NULL);

	side->by_name = g_hash_table_new(NULL, NULL);
	for (guint i = 0; i < side->folders->len; i++) {
		const struct mh_imap_folder *f = g_ptr_array_index(side->folders, i);
		int rank = 0;
		unsigned role;
		gpointer key, best;

		if (f->attrs & PLAN_ATTR_CONTAINER)
			continue;
		role = mh_plan_special_use_by_name_ranked(f->name, side->sep, &rank);
		if (role == 0 || (side->claimed & role))
			continue;
		key = GUINT_TO_POINTER(role);
		if (g_hash_table_lookup_extended(ranks, key, NULL, &best) &&
		    GPOINTER_TO_INT(best) <= rank)
			continue;
		g_hash_table_insert(ranks, key, GINT_TO_POINTER(rank));
		g_hash_table_insert(side->by_name, key, (gpointer)f->name);
	}
}

static void
plan_side_init(struct plan_side *side, const GPtrArray *folders, const char *prefix, char sep)
{
	side->folders = folders;
	side->prefix = prefix != NULL ? prefix : "";
	side->sep = sep;
	side->claimed = 0;
	for (guint i = 0; i < folders->len; i++) {
		const struct mh_imap_folder *f = g_ptr_array_index(folders, i);

		if (side->sep == '\0' && sep == '\0')
			side->sep = f->sep;
		side->claimed |= f->attrs & MH_IMAP_ATTR_SPECIAL_USE;
	}
	if (folders->len == 0 && side->sep == '\0')
		side->sep = '/';
}

/* Appends one source name component, with the destination separator replaced by '_' so
 * that it does not create a level (imapsync does the same). */
static void
plan_append_component(const struct plan_ctx *ctx, struct mh_plan_entry *e, GString *out,
                      const char *comp)
{
	char dsep = ctx->dst.sep;
	size_t at = out->len;

	g_string_append(out, comp);
	if (dsep == '\0' || dsep == ctx->src.sep || strchr(comp, dsep) == NULL)
		return;
	for (char *p = out->str + at; *p != '\0'; p++) {
		if (*p == dsep)
			*p = '_';
	}
	plan_entry_note(e, "'%s': the destination separator '%c' became '_'", comp, dsep);
}

/* The source name without its namespace prefix, split by the source separator, joined by
 * the destination's, with the destination prefix. INBOX stays INBOX, and names below the
 * source INBOX do not get a destination "INBOX." prefix twice. Returns a new string. */
static char *
plan_translate(const struct plan_ctx *ctx, struct mh_plan_entry *e)
{
	const char *rel = plan_strip_prefix(e->src_name, ctx->src.prefix);
	/* A name without the source prefix is relative to the namespace: its first
	 * component is never the INBOX. Decided here, before a provider rule returns a copy. */
	bool relative = rel != e->src_name;
	g_autofree char *renamed = NULL;
	g_auto(GStrv) comps = NULL;
	GString *out = g_string_new(NULL);
	bool rooted;

	if (plan_is_inbox(e->src_name))
		return g_string_free(g_string_append(out, "INBOX"), false);
	if (ctx->opts->rules != NULL && ctx->opts->rules->src_name != NULL) {
		renamed = ctx->opts->rules->src_name(ctx->opts->rules->ctx, rel, ctx->src.sep);
		if (strcmp(renamed, rel) != 0)
			plan_entry_note(e, "named '%s' elsewhere", renamed);
		rel = renamed;
	}
	if (ctx->src.sep != '\0') {
		comps = g_strsplit(rel, (char[]){ctx->src.sep, '\0'}, -1);
	} else {
		comps = g_new0(char *, 2);
		comps[0] = g_strdup(rel);
	}
	rooted = !relative && comps[0] != NULL && plan_is_inbox(comps[0]);
	if (!rooted || !plan_inbox_rooted(ctx->dst.prefix, ctx->dst.sep))
		g_string_append(out, ctx->dst.prefix);
	for (guint i = 0; comps[i] != NULL; i++) {
		if (i > 0)
			g_string_append_c(out, ctx->dst_join);
		if (i == 0 && rooted)
			g_string_append(out, "INBOX");
		else
			plan_append_component(ctx, e, out, comps[i]);
	}
	return g_string_free(out, false);
}

/* The source folder's role: its special-use attribute, else a well-known name when no
 * source folder carries that role as an attribute and no better-known name claims it. */
static unsigned
plan_src_role(const struct plan_ctx *ctx, const struct mh_imap_folder *f)
{
	unsigned role = mh_plan_special_use_of_attrs(f->attrs);

	if (role != 0)
		return role;
	role = mh_plan_special_use_by_name(f->name, ctx->src.sep);
	if (role == 0)
		return 0;
	/* by_name holds no role some folder carries as attribute. */
	return g_strcmp0(g_hash_table_lookup(ctx->src.by_name, GUINT_TO_POINTER(role)), f->name) ==
	                       0
	               ? role
	               : 0;
}

/* The destination folder for @role: by attribute when some destination folder carries
 * it, else by well-known name; the one named @translated if it qualifies, else the first. */
static const struct mh_imap_folder *
plan_dst_for_role(const struct plan_ctx *ctx, unsigned role, const char *translated)
{
	const struct mh_imap_folder *first = NULL;
	bool by_attr = (ctx->dst.claimed & role) != 0;

	for (guint i = 0; i < ctx->dst.folders->len; i++) {
		const struct mh_imap_folder *f = g_ptr_array_index(ctx->dst.folders, i);

		if (f->attrs & PLAN_ATTR_CONTAINER)
			continue;
		if (by_attr ? !(f->attrs & role)
		            : mh_plan_special_use_by_name(f->name, ctx->dst.sep) != role)
			continue;
		if (strcmp(f->name, translated) == 0)
			return f;
		if (first == NULL)
			first = f;
	}
	return first;
}

static void
plan_automap(const struct plan_ctx *ctx, struct mh_plan_entry *e, const struct mh_imap_folder *src,
             char **name)
{
	const struct mh_imap_folder *d;

	e->special_use = plan_src_role(ctx, src);
	if (e->special_use == 0)
		return;
	d = plan_dst_for_role(ctx, e->special_use, *name);
	if (d == NULL && e->special_use == MH_IMAP_ATTR_ALL) {
		/* Gmail's All Mail holds what is in no other folder: archived mail. */
		d = plan_dst_for_role(ctx, MH_IMAP_ATTR_ARCHIVE, *name);
		if (d == NULL) {
			plan_entry_note(e, "automap \\All: the destination has no \\All or "
			                   "\\Archive folder: 'Archive'");
			g_free(*name);
			*name = g_strdup("Archive");
			return;
		}
	}
	if (d == NULL) {
		plan_entry_note(e, "automap %s: the destination has none",
		                mh_plan_special_use_str(e->special_use));
		return;
	}
	plan_entry_note(e, "automap %s -> '%s'", mh_plan_special_use_str(e->special_use), d->name);
	g_free(*name);
	*name = g_strdup(d->name);
}

/* @name below --subfolder1 (the part after it and the separator; "" for the folder
 * itself), or NULL when it is not in that folder's subtree. */
static const char *
plan_below_subfolder1(const struct plan_ctx *ctx, const char *name)
{
	const char *top = ctx->opts->subfolder1;
	size_t n = strlen(top);

	if (!plan_names_equal(name, top, ctx->src.sep) &&
	    (strncmp(name, top, n) != 0 || ctx->src.sep == '\0' || name[n] != ctx->src.sep))
		return NULL;
	return name[n] == '\0' ? "" : name + n + 1;
}

/* The translated destination name; below --subfolder1, as if the source folder were
 * named from below it (the folder itself as INBOX). */
static char *
plan_translate_sub(const struct plan_ctx *ctx, struct mh_plan_entry *e)
{
	const char *below;
	char *orig, *name;

	if (ctx->opts->subfolder1 == NULL ||
	    (below = plan_below_subfolder1(ctx, e->src_name)) == NULL)
		return plan_translate(ctx, e);
	orig = e->src_name;
	e->src_name = g_strdup(*below != '\0' ? below : "INBOX");
	name = plan_translate(ctx, e);
	g_free(e->src_name);
	e->src_name = orig;
	return name;
}

/* Sets @e->dst_name: translation, automap, then every --regextrans2 in order. */
static bool
plan_name_entry(const struct plan_ctx *ctx, struct mh_plan_entry *e,
                const struct mh_imap_folder *src, GError **error)
{
	g_autofree char *name = plan_translate_sub(ctx, e);

	if (ctx->opts->automap && !e->container_only && !plan_is_inbox(e->src_name))
		plan_automap(ctx, e, src, &name);
	for (guint i = 0; i < ctx->rules->len; i++) {
		char *next =
			mh_plan_regextrans_apply(g_ptr_array_index(ctx->rules, i), name, error);

		if (next == NULL) {
			g_prefix_error(error, "folder %s: ", e->src_name);
			return false;
		}
		g_free(name);
		name = next;
	}
	if (name[0] == '\0') {
		e->selected = false;
		e->skip_reason = g_strdup("--regextrans2 leaves an empty name");
		return true;
	}
	if (ctx->opts->subfolder2 != NULL) {
		char *under = g_strdup_printf("%s%c%s", ctx->opts->subfolder2, ctx->dst_join, name);

		g_free(name);
		name = under;
	}
	if (ctx->opts->rules != NULL && ctx->opts->rules->dst_name != NULL &&
	    !plan_is_inbox(name)) {
		const char *why = NULL;
		char *clean = ctx->opts->rules->dst_name(ctx->opts->rules->ctx, name, ctx->dst_join,
		                                         &why);

		if (why != NULL)
			plan_entry_note(e, "renamed '%s' (%s)", clean, why);
		g_free(name);
		name = clean;
	}
	e->dst_name = plan_norm(name, ctx->dst.sep);
	return true;
}

/* Why @name is not selected (a new string), or NULL when it is; counts the folders each
 * option lets through. */
static char *
plan_skip_reason(struct plan_ctx *ctx, const char *name)
{
	const GPtrArray *folders = ctx->opts->folders;
	bool named = folders == NULL || folders->len == 0;
	bool included = ctx->include->len == 0;

	for (guint i = 0; !named && i < folders->len; i++)
		named = plan_names_equal(name, g_ptr_array_index(folders, i), ctx->src.sep);
	if (!named)
		return g_strdup("not named by --folder");
	ctx->named++;
	for (guint i = 0; !included && i < ctx->include->len; i++)
		included = g_regex_match(g_ptr_array_index(ctx->include, i), name, 0, NULL);
	if (!included)
		return g_strdup("matches no --include");
	ctx->included++;
	for (guint i = 0; i < ctx->exclude->len; i++) {
		GRegex *re = g_ptr_array_index(ctx->exclude, i);

		if (g_regex_match(re, name, 0, NULL))
			return g_strdup_printf("matches --exclude '%s'", g_regex_get_pattern(re));
	}
	ctx->selected++;
	return NULL;
}

/* Whether --folder names @name: the user asked for it, whatever a provider rule says. */
static bool
plan_named_by_folder(const struct plan_ctx *ctx, const char *name)
{
	const GPtrArray *folders = ctx->opts->folders;

	for (guint i = 0; folders != NULL && i < folders->len; i++) {
		if (plan_names_equal(name, g_ptr_array_index(folders, i), ctx->src.sep))
			return true;
	}
	return false;
}

static bool
plan_add_source(struct plan_ctx *ctx, const struct mh_imap_folder *f, GError **error)
{
	struct mh_plan_entry *e = g_new0(struct mh_plan_entry, 1);

	g_ptr_array_add(ctx->plan->entries, e);
	e->src_name = g_strdup(f->name);
	e->src_attrs = f->attrs;
	e->container_only = (f->attrs & PLAN_ATTR_CONTAINER) != 0;
	e->skip_reason = plan_skip_reason(ctx, f->name);
	if (e->skip_reason == NULL && ctx->opts->only_subscribed && !plan_is_inbox(f->name) &&
	    !g_hash_table_contains(ctx->subscribed, e->src_name) &&
	    !g_hash_table_contains(ctx->subscribed, f->name))
		e->skip_reason = g_strdup("not subscribed on the source (--subscribed)");
	if (e->skip_reason == NULL && ctx->opts->subfolder1 != NULL &&
	    plan_below_subfolder1(ctx, f->name) == NULL)
		e->skip_reason = g_strdup("not under --subfolder1");
	if (e->skip_reason == NULL && ctx->opts->rules != NULL &&
	    ctx->opts->rules->src_skip != NULL && !plan_is_inbox(f->name) &&
	    !plan_named_by_folder(ctx, f->name)) {
		const char *why = ctx->opts->rules->src_skip(ctx->opts->rules->ctx, f->name,
		                                             ctx->src.sep, f->attrs);

		if (why != NULL)
			e->skip_reason = g_strdup(why);
	}
	e->selected = e->skip_reason == NULL;
	if (!e->selected)
		return true;
	return plan_name_entry(ctx, e, f, error);
}

/* The source folders' names, in list order (borrowed). */
static GPtrArray *
plan_src_names(const struct plan_ctx *ctx)
{
	GPtrArray *names = g_ptr_array_new();

	for (guint i = 0; i < ctx->src.folders->len; i++) {
		const struct mh_imap_folder *f = g_ptr_array_index(ctx->src.folders, i);

		g_ptr_array_add(names, f->name);
	}
	return names;
}

/* Appends "; did you mean 'A' or 'B'?" for the names in @close, else the first names the
 * source has, so that the one line says what the user can write instead. */
static void
plan_suggest(const struct plan_ctx *ctx, GString *msg, const GPtrArray *close,
             const char *case_hint)
{
	g_autoptr(GPtrArray) names = plan_src_names(ctx);
	guint shown = MIN(names->len, 5);

	if (close->len > 0) {
		g_string_append(msg, "; did you mean ");
		for (guint i = 0; i < close->len; i++)
			g_string_append_printf(msg, "%s'%s'",
			                       i == 0                ? ""
			                       : i + 1 == close->len ? " or "
			                                             : ", ",
			                       (char *)g_ptr_array_index(close, i));
		g_string_append_printf(msg, "?%s", case_hint != NULL ? case_hint : "");
		return;
	}
	g_string_append(msg, "; the source has ");
	for (guint i = 0; i < shown; i++)
		g_string_append_printf(msg, "%s'%s'", i == 0 ? "" : ", ",
		                       (char *)g_ptr_array_index(names, i));
	if (names->len > shown)
		g_string_append_printf(msg, " and %u more", names->len - shown);
	g_string_append(msg, " (mailhaul check lists them)");
}

/* Whether a source folder has the name @want (INBOX in any case). */
static bool
plan_src_has(const struct plan_ctx *ctx, const char *want)
{
	for (guint i = 0; i < ctx->src.folders->len; i++) {
		const struct mh_imap_folder *f = g_ptr_array_index(ctx->src.folders, i);

		if (plan_names_equal(f->name, want, ctx->src.sep))
			return true;
	}
	return false;
}

/* Every --folder must name a source folder exactly (names are case-sensitive but for
 * INBOX): one that does not, even one differing only in case, is a usage error naming it
 * and the closest names, so that a typo never ends in a run that copies nothing. */
static bool
plan_check_folders(const struct plan_ctx *ctx, GError **error)
{
	const GPtrArray *folders = ctx->opts->folders;
	g_autoptr(GPtrArray) names = plan_src_names(ctx);
	g_autoptr(GString) msg = g_string_new(NULL);

	for (guint i = 0; folders != NULL && i < folders->len; i++) {
		const char *want = g_ptr_array_index(folders, i);
		g_autoptr(GPtrArray) close = NULL;

		if (plan_src_has(ctx, want))
			continue;
		close = mh_plan_closest_names(want, names, ctx->src.sep, 3);
		g_string_append_printf(msg, "%s--folder '%s' names no source folder",
		                       msg->len > 0 ? "; " : "", want);
		plan_suggest(ctx, msg, close,
		             close->len > 0 && mh_plan_name_distance(want, close->pdata[0]) == 0
		                     ? " (folder names are case-sensitive)"
		                     : NULL);
	}
	if (msg->len == 0)
		return true;
	g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_USAGE, "%s", msg->str);
	return false;
}

/* Appends the patterns of @specs quoted: "'a', 'b'". */
static void
plan_append_patterns(GString *msg, const GPtrArray *specs)
{
	for (guint i = 0; i < specs->len; i++)
		g_string_append_printf(msg, "%s'%s'", i == 0 ? "" : ", ",
		                       (char *)g_ptr_array_index(specs, i));
}

/* The source folders that an --include would select ignoring case, else the names
 * closest to its text (anchors dropped). Borrowed strings of @names. */
static GPtrArray *
plan_include_close(const struct plan_ctx *ctx, const GPtrArray *names, bool *nocase_r)
{
	const GPtrArray *specs = ctx->opts->include;
	GPtrArray *close = g_ptr_array_new();
	g_autofree char *text = NULL;
	size_t len;

	*nocase_r = true;
	for (guint i = 0; i < specs->len; i++) {
		g_autoptr(GRegex) re =
			g_regex_new(g_ptr_array_index(specs, i), G_REGEX_CASELESS, 0, NULL);

		for (guint j = 0; re != NULL && j < names->len && close->len < 3; j++) {
			if (g_regex_match(re, names->pdata[j], 0, NULL))
				g_ptr_array_add(close, names->pdata[j]);
		}
	}
	if (close->len > 0)
		return close;
	*nocase_r = false;
	g_ptr_array_unref(close);
	text = g_strdup(g_ptr_array_index(specs, 0));
	len = strlen(text);
	if (len > 0 && text[len - 1] == '$')
		text[len - 1] = '\0';
	return mh_plan_closest_names(text[0] == '^' ? text + 1 : text, names, ctx->src.sep, 3);
}

/* An --include / --exclude set that leaves no source folder selected is a usage error
 * too: it names the options and what the user may have meant. */
static bool
plan_check_selection(const struct plan_ctx *ctx, GError **error)
{
	g_autoptr(GPtrArray) names = plan_src_names(ctx);
	g_autoptr(GPtrArray) close = NULL;
	g_autoptr(GString) msg = g_string_new(NULL);
	bool nocase = false;

	if (ctx->selected > 0 || (ctx->include->len == 0 && ctx->exclude->len == 0) ||
	    ctx->named == 0)
		return true;
	if (ctx->included == 0 && ctx->opts->folders != NULL && ctx->opts->folders->len > 0) {
		g_string_append(msg, "--include ");
		plan_append_patterns(msg, ctx->opts->include);
		g_string_append(msg, " selects none of the folders --folder names: ");
		plan_append_patterns(msg, ctx->opts->folders);
	} else if (ctx->included == 0) {
		g_string_append(msg, "--include ");
		plan_append_patterns(msg, ctx->opts->include);
		g_string_append(msg, " selects no source folder");
		close = plan_include_close(ctx, names, &nocase);
		plan_suggest(ctx, msg, close,
		             nocase ? " (--include is case-sensitive; (?i) ignores case)" : NULL);
	} else {
		g_string_append(msg, "--exclude ");
		plan_append_patterns(msg, ctx->opts->exclude);
		g_string_append_printf(msg, " leaves out every source folder (%u selected before)",
		                       ctx->included);
	}
	g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_USAGE, "%s", msg->str);
	return false;
}

/* Orders names like a tree: INBOX first, then component by component, so that a folder's
 * children follow it directly ("a", "a/b", "a b"). */
static int
plan_tree_cmp(gconstpointer pa, gconstpointer pb, gpointer data)
{
	const struct mh_plan_entry *ea = *(struct mh_plan_entry *const *)pa;
	const struct mh_plan_entry *eb = *(struct mh_plan_entry *const *)pb;
	const char *a = ea->src_name, *b = eb->src_name;
	char sep = *(const char *)data;
	bool ra = plan_inbox_rooted(a, sep), rb = plan_inbox_rooted(b, sep);

	if (ra != rb)
		return ra ? -1 : 1;
	if (ra) {
		a += 5;
		b += 5;
	}
	/* Rank: end of name 0, separator 1, any other byte above. */
	for (;; a++, b++) {
		unsigned ka = *a == '\0'                   ? 0
		              : (sep != '\0' && *a == sep) ? 1
		                                           : (unsigned char)*a + 2u;
		unsigned kb = *b == '\0'                   ? 0
		              : (sep != '\0' && *b == sep) ? 1
		                                           : (unsigned char)*b + 2u;

		if (ka != kb)
			return ka < kb ? -1 : 1;
		if (ka == 0)
			return 0;
	}
}

/* Calls @fn for each proper ancestor of @name ("a", "a/b" for "a/b/c"), outermost first,
 * leaving out INBOX and the destination namespace root. */
static void
plan_each_ancestor(struct plan_ctx *ctx, const char *name,
                   void (*fn)(struct plan_ctx *ctx, const char *ancestor, void *data), void *data)
{
	size_t root = strlen(ctx->dst.prefix);
	char sep = ctx->dst.sep;

	if (sep == '\0')
		return;
	if (root > 0 && ctx->dst.prefix[root - 1] == sep)
		root--;
	for (const char *p = strchr(name, sep); p != NULL; p = strchr(p + 1, sep)) {
		g_autofree char *anc = g_strndup(name, p - name);

		if (anc[0] == '\0' || plan_is_inbox(anc))
			continue;
		if ((size_t)(p - name) == root && strncmp(name, ctx->dst.prefix, root) == 0)
			continue;
		fn(ctx, anc, data);
	}
}

static void
plan_collect_ancestor(struct plan_ctx *ctx, const char *ancestor, void *data)
{
	g_hash_table_add(data, plan_norm(ancestor, ctx->dst.sep));
}

/* A container is created only when something copied lies below it. */
static void
plan_prune_containers(struct plan_ctx *ctx)
{
	GPtrArray *entries = ctx->plan->entries;
	g_autoptr(GHashTable) above = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (guint i = 0; i < entries->len; i++) {
		struct mh_plan_entry *e = g_ptr_array_index(entries, i);

		if (e->selected && !e->container_only)
			plan_each_ancestor(ctx, e->dst_name, plan_collect_ancestor, above);
	}
	for (guint i = 0; i < entries->len; i++) {
		struct mh_plan_entry *e = g_ptr_array_index(entries, i);

		if (!e->selected || !e->container_only || g_hash_table_contains(above, e->dst_name))
			continue;
		e->selected = false;
		e->skip_reason = g_strdup("container with nothing below it to copy");
		g_clear_pointer(&e->dst_name, g_free);
	}
}

/* For a destination that ignores case: every destination name spelt like the folder of
 * the same name (ignoring case) that exists, or that an earlier entry uses, level by
 * level, so that "projects" joins "Projects" instead of failing on CREATE. */
static void
plan_fold_case(struct plan_ctx *ctx)
{
	GPtrArray *entries = ctx->plan->entries;
	g_autoptr(GHashTable) spelt =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	char sep = ctx->dst_join;
	GHashTableIter it;
	gpointer key;

	g_hash_table_iter_init(&it, ctx->dst_names);
	while (g_hash_table_iter_next(&it, &key, NULL))
		g_hash_table_insert(spelt, g_utf8_casefold(key, -1), g_strdup(key));
	for (guint i = 0; i < entries->len; i++) {
		struct mh_plan_entry *e = g_ptr_array_index(entries, i);
		g_auto(GStrv) comps = NULL;
		GString *out;

		if (!e->selected || e->dst_name == NULL || plan_is_inbox(e->dst_name))
			continue;
		comps = g_strsplit(e->dst_name, (char[]){sep, '\0'}, -1);
		out = g_string_new(NULL);
		for (guint c = 0; comps[c] != NULL; c++) {
			g_autofree char *folded = NULL;
			const char *known;
			size_t at = out->len;

			if (c > 0)
				g_string_append_c(out, sep);
			g_string_append(out, comps[c]);
			folded = g_utf8_casefold(out->str, -1);
			known = g_hash_table_lookup(spelt, folded);
			if (known == NULL) {
				g_hash_table_insert(spelt, g_steal_pointer(&folded),
				                    g_strdup(out->str));
			} else if (strcmp(known, out->str) != 0) {
				g_string_truncate(out, at);
				g_string_assign(out, known);
			}
		}
		if (strcmp(out->str, e->dst_name) != 0) {
			plan_entry_note(e,
			                "'%s' joins '%s' (the destination ignores case in names)",
			                e->dst_name, out->str);
			e->case_merged = true;
			g_free(e->dst_name);
			e->dst_name = g_string_free(out, false);
		} else {
			g_string_free(out, true);
		}
	}
}

/* Notes each destination that several source folders are copied into (they merge). */
static void
plan_note_merges(struct plan_ctx *ctx)
{
	GPtrArray *entries = ctx->plan->entries;
	g_autoptr(GHashTable) first = g_hash_table_new(g_str_hash, g_str_equal);

	for (guint i = 0; i < entries->len; i++) {
		struct mh_plan_entry *e = g_ptr_array_index(entries, i);
		struct mh_plan_entry *other;

		if (!e->selected || e->container_only)
			continue;
		other = g_hash_table_lookup(first, e->dst_name);
		if (other == NULL) {
			g_hash_table_insert(first, e->dst_name, e);
			continue;
		}
		plan_entry_note(other, "merged with '%s' into '%s'", e->src_name, e->dst_name);
		plan_entry_note(e, "merged with '%s' into '%s'", other->src_name, e->dst_name);
	}
}

static void
plan_queue_create(struct plan_ctx *ctx, const char *name, void *data)
{
	GHashTable *queued = data;

	if (g_hash_table_contains(ctx->dst_names, name) || g_hash_table_contains(queued, name))
		return;
	g_hash_table_add(queued, g_strdup(name));
	g_ptr_array_add(ctx->plan->creates, g_strdup(name));
}

/* Sets dst_exists and subscribe, and fills the CREATE and SUBSCRIBE lists. */
static void
plan_finish(struct plan_ctx *ctx)
{
	GPtrArray *entries = ctx->plan->entries;
	g_autoptr(GHashTable) queued = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GHashTable) subs = g_hash_table_new(g_str_hash, g_str_equal);

	for (guint i = 0; i < entries->len; i++) {
		struct mh_plan_entry *e = g_ptr_array_index(entries, i);
		const struct mh_imap_folder *d;
		g_autofree char *src_norm = NULL;

		if (!e->selected)
			continue;
		d = g_hash_table_lookup(ctx->dst_names, e->dst_name);
		e->dst_exists = d != NULL || plan_is_inbox(e->dst_name);
		if (d != NULL && (d->attrs & MH_IMAP_ATTR_NOSELECT) && !e->container_only)
			plan_entry_note(e, "'%s' is \\Noselect on the destination", d->name);
		if (!e->dst_exists) {
			plan_each_ancestor(ctx, e->dst_name, plan_queue_create, queued);
			plan_queue_create(ctx, e->dst_name, queued);
		}
		src_norm = plan_norm(e->src_name, ctx->src.sep);
		e->subscribe = g_hash_table_contains(ctx->subscribed, src_norm) ||
		               (ctx->opts->subscribe_all && !e->container_only);
		if (e->subscribe && !g_hash_table_contains(subs, e->dst_name)) {
			g_hash_table_add(subs, e->dst_name);
			g_ptr_array_add(ctx->plan->subscriptions, g_strdup(e->dst_name));
		}
	}
}

static GPtrArray *
plan_compile_regexes(const GPtrArray *specs, const char *option, GError **error)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)g_regex_unref);

	for (guint i = 0; specs != NULL && i < specs->len; i++) {
		const char *spec = g_ptr_array_index(specs, i);
		g_autoptr(GError) local = NULL;
		GRegex *re = g_regex_new(spec, 0, 0, &local);

		if (re == NULL) {
			g_set_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_USAGE, "bad %s '%s': %s",
			            option, spec, local->message);
			return NULL;
		}
		g_ptr_array_add(out, re);
	}
	return g_steal_pointer(&out);
}

static bool
plan_ctx_init(struct plan_ctx *ctx, const GPtrArray *src, const GPtrArray *src_subscribed,
              const GPtrArray *dst, const struct mh_plan_options *opts, GError **error)
{
	ctx->opts = opts;
	plan_side_init(&ctx->src, src, opts->src_prefix, opts->src_sep);
	plan_side_name_roles(&ctx->src);
	plan_side_init(&ctx->dst, dst, opts->dst_prefix, opts->dst_sep);
	ctx->dst_join = ctx->dst.sep ? ctx->dst.sep : ctx->src.sep ? ctx->src.sep : '/';
	ctx->dst_names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < dst->len; i++) {
		struct mh_imap_folder *f = g_ptr_array_index(dst, i);

		if (!(f->attrs & MH_IMAP_ATTR_NONEXISTENT))
			g_hash_table_insert(ctx->dst_names, plan_norm(f->name, ctx->dst.sep), f);
	}
	ctx->subscribed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; src_subscribed != NULL && i < src_subscribed->len; i++)
		g_hash_table_add(ctx->subscribed,
		                 plan_norm(g_ptr_array_index(src_subscribed, i), ctx->src.sep));
	for (guint i = 0; i < src->len; i++) {
		struct mh_imap_folder *f = g_ptr_array_index(src, i);

		if (f->attrs & MH_IMAP_ATTR_SUBSCRIBED)
			g_hash_table_add(ctx->subscribed, plan_norm(f->name, ctx->src.sep));
	}
	ctx->rules = g_ptr_array_new_with_free_func((GDestroyNotify)mh_plan_regextrans_free);
	for (guint i = 0; opts->regextrans != NULL && i < opts->regextrans->len; i++) {
		struct mh_plan_regextrans *rt =
			mh_plan_regextrans_parse(g_ptr_array_index(opts->regextrans, i), error);

		if (rt == NULL)
			return false;
		g_ptr_array_add(ctx->rules, rt);
	}
	ctx->include = plan_compile_regexes(opts->include, "--include", error);
	ctx->exclude = ctx->include != NULL
	                       ? plan_compile_regexes(opts->exclude, "--exclude", error)
	                       : NULL;
	return ctx->exclude != NULL;
}

static void
plan_ctx_clear(struct plan_ctx *ctx)
{
	g_clear_pointer(&ctx->include, g_ptr_array_unref);
	g_clear_pointer(&ctx->exclude, g_ptr_array_unref);
	g_clear_pointer(&ctx->rules, g_ptr_array_unref);
	g_clear_pointer(&ctx->dst_names, g_hash_table_unref);
	g_clear_pointer(&ctx->subscribed, g_hash_table_unref);
	g_clear_pointer(&ctx->src.by_name, g_hash_table_unref);
	g_clear_pointer(&ctx->plan, mh_plan_free);
}

struct mh_plan *
mh_plan_new(const GPtrArray *src, const GPtrArray *src_subscribed, const GPtrArray *dst,
            const struct mh_plan_options *opts, GError **error)
{
	struct plan_ctx ctx = {0};
	struct mh_plan *plan = NULL;

	g_return_val_if_fail(src != NULL && dst != NULL && opts != NULL, NULL);
	ctx.plan = g_new0(struct mh_plan, 1);
	ctx.plan->entries = g_ptr_array_new_with_free_func(plan_entry_free);
	ctx.plan->creates = g_ptr_array_new_with_free_func(g_free);
	ctx.plan->subscriptions = g_ptr_array_new_with_free_func(g_free);
	if (!plan_ctx_init(&ctx, src, src_subscribed, dst, opts, error))
		goto out;
	for (guint i = 0; i < src->len; i++) {
		if (!plan_add_source(&ctx, g_ptr_array_index(src, i), error))
			goto out;
	}
	if (!plan_check_folders(&ctx, error) || !plan_check_selection(&ctx, error))
		goto out;
	g_ptr_array_sort_with_data(ctx.plan->entries, plan_tree_cmp, &ctx.src.sep);
	if (opts->dst_nocase)
		plan_fold_case(&ctx);
	plan_prune_containers(&ctx);
	plan_note_merges(&ctx);
	plan_finish(&ctx);
	plan = g_steal_pointer(&ctx.plan);
out:
	plan_ctx_clear(&ctx);
	return plan;
}

void
mh_plan_free(struct mh_plan *plan)
{
	if (plan == NULL)
		return;
	g_ptr_array_unref(plan->entries);
	g_ptr_array_unref(plan->creates);
	g_ptr_array_unref(plan->subscriptions);
	g_free(plan);
}

const GPtrArray *
mh_plan_entries(const struct mh_plan *plan)
{
	return plan->entries;
}

const GPtrArray *
mh_plan_creates(const struct mh_plan *plan)
{
	return plan->creates;
}

const GPtrArray *
mh_plan_subscriptions(const struct mh_plan *plan)
{
	return plan->subscriptions;
}
