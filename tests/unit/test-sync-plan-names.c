/* SPDX-License-Identifier: MIT */
/* The folder plan's naming of INBOX and its children across every combination of personal
 * namespace prefix ("" or "INBOX" + separator) and separator ('/' or '.') on both sides,
 * with and without a provider rule that renames source folders (the real one always
 * returns a copy); then the refusal of a --folder, --include or --exclude that selects no
 * source folder, and the closest names it suggests; the --regextrans2 parser on its own and
 * its errors, and the well-known special folder names. */
#include "sync-error.h"
#include "sync-plan.h"

#include <glib.h>
#include <string.h>

/* A personal namespace: its prefix and separator. */
struct names_side {
	const char *prefix;
	char sep;
};

static const struct names_side names_sides[] = {
	{"", '/'},
	{"", '.'},
	{"INBOX.", '.'},
	{"INBOX/", '/'},
};

/* A source folder as components below the source's namespace, and where it lands. */
struct names_case {
	const char *comps[4]; /* the components, NULL-terminated */
	bool inbox_child;     /* comps[0] is an INBOX spelling: the folder lies below INBOX */
	const char *want[4];  /* the destination components below the destination prefix,
	                         or, for an INBOX child of a "" source, below INBOX */
};

static const struct names_case names_cases[] = {
	{{"Newsletters"}, true, {"Newsletters"}},
	{{"a", "b"}, true, {"a", "b"}},
	{{"Work", "Projects"}, false, {"Work", "Projects"}},
	{{"INBOXfoo"}, false, {"INBOXfoo"}},
	{{"INBOXfoo", "x"}, false, {"INBOXfoo", "x"}},
};

/* Spellings of the INBOX component of a child ("Inbox/x" is below INBOX too). */
static const char *const names_inbox_spellings[] = {"INBOX", "Inbox", "inbox"};

static char *
names_copy_rule(void *ctx, const char *name, char sep)
{
	(void)ctx;
	(void)sep;
	return g_strdup(name);
}

static const struct mh_sync_folder_rules names_copy_rules = {
	.src_name = names_copy_rule,
};

static struct mh_imap_folder *
names_folder(const char *name, char sep)
{
	struct mh_imap_folder *f = g_new0(struct mh_imap_folder, 1);

	f->name = g_strdup(name);
	f->raw_name = g_strdup(name);
	f->sep = sep;
	return f;
}

static GPtrArray *
names_list(const char *const *names, char sep)
{
	GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)mh_imap_folder_free);

	for (size_t i = 0; names[i] != NULL; i++)
		g_ptr_array_add(a, names_folder(names[i], sep));
	return a;
}

/* @comps joined by @sep after @head (NULL for none). */
static char *
names_join(const char *head, const char *const *comps, char sep)
{
	GString *s = g_string_new(head);

	for (size_t i = 0; comps[i] != NULL; i++) {
		if (i > 0 || head != NULL)
			g_string_append_c(s, sep);
		g_string_append(s, comps[i]);
	}
	return g_string_free(s, false);
}

/* The source name: a child of INBOX is spelt below @inbox (on a prefixed source that is the
 * prefix itself, in any case); any other folder lies below the source's prefix. */
static char *
names_src_name(const struct names_side *src, const struct names_case *c, const char *inbox)
{
	g_autofree char *rel = NULL;

	if (c->inbox_child)
		return names_join(inbox, c->comps, src->sep);
	rel = names_join(NULL, c->comps, src->sep);
	return g_strconcat(src->prefix, rel, NULL);
}

/* Where it must land: a child of INBOX on a "" source stays a child of INBOX; any other
 * name is relative to the namespace, so it gets the destination's prefix. */
static char *
names_want(const struct names_side *src, const struct names_side *dst, const struct names_case *c)
{
	g_autofree char *rel = NULL;

	if (c->inbox_child && src->prefix[0] == '\0')
		return names_join("INBOX", c->want, dst->sep);
	rel = names_join(NULL, c->want, dst->sep);
	return g_strconcat(dst->prefix, rel, NULL);
}

static char *
names_plan_one(const struct names_side *src, const struct names_side *dst, const char *name,
               const struct mh_sync_folder_rules *rules)
{
	const char *src_names[] = {"INBOX", name, NULL};
	const char *dst_names[] = {"INBOX", NULL};
	g_autoptr(GPtrArray) sl = names_list(src_names, src->sep);
	g_autoptr(GPtrArray) dl = names_list(dst_names, dst->sep);
	g_autoptr(mh_plan) plan = NULL;
	g_autoptr(GError) error = NULL;
	struct mh_plan_options opts;
	const GPtrArray *entries;

	mh_plan_options_init(&opts);
	opts.automap = false;
	opts.src_prefix = src->prefix;
	opts.src_sep = src->sep;
	opts.dst_prefix = dst->prefix;
	opts.dst_sep = dst->sep;
	opts.rules = rules;
	plan = mh_plan_new(sl, NULL, dl, &opts, &error);
	g_assert_no_error(error);
	entries = mh_plan_entries(plan);
	for (guint i = 0; i < entries->len; i++) {
		const struct mh_plan_entry *e = g_ptr_array_index(entries, i);

		if (strcmp(e->src_name, "INBOX") == 0) {
			g_assert_cmpstr(e->dst_name, ==, "INBOX");
			continue;
		}
		g_assert_cmpstr(e->src_name, ==, name);
		g_assert_true(e->selected);
		return g_strdup(e->dst_name);
	}
	g_assert_not_reached();
}

static const struct mh_sync_folder_rules *const names_rules[] = {NULL, &names_copy_rules};

/* One combination, @i counting through sides x sides x cases x spellings x rules; returns
 * false when it does not apply (a spelling of INBOX for a folder not below it). */
static bool
names_check_one(size_t i, unsigned *failed)
{
	size_t r = i % G_N_ELEMENTS(names_rules);
	size_t k = i / G_N_ELEMENTS(names_rules) % G_N_ELEMENTS(names_inbox_spellings);
	size_t rest = i / G_N_ELEMENTS(names_rules) / G_N_ELEMENTS(names_inbox_spellings);
	const struct names_case *nc = &names_cases[rest % G_N_ELEMENTS(names_cases)];
	size_t sd = rest / G_N_ELEMENTS(names_cases);
	const struct names_side *dst = &names_sides[sd % G_N_ELEMENTS(names_sides)];
	const struct names_side *src = &names_sides[sd / G_N_ELEMENTS(names_sides)];
	g_autofree char *name = NULL;
	g_autofree char *want = NULL;
	g_autofree char *got = NULL;

	if (!nc->inbox_child && k > 0)
		return false;
	name = names_src_name(src, nc, names_inbox_spellings[k]);
	want = names_want(src, dst, nc);
	got = names_plan_one(src, dst, name, names_rules[r]);
	if (strcmp(got, want) != 0) {
		(*failed)++;
		g_test_message("'%s' (prefix '%s' sep '%c') -> prefix '%s' sep '%c'%s: got '%s', "
		               "want '%s'",
		               name, src->prefix, src->sep, dst->prefix, dst->sep,
		               names_rules[r] != NULL ? " with rules" : "", got, want);
	}
	return true;
}

/* Every prefix and separator on both sides, every case, each INBOX spelling, with and
 * without the renaming rule: the destination name is the same either way. */
static void
test_inbox_children_matrix(void)
{
	size_t total = G_N_ELEMENTS(names_sides) * G_N_ELEMENTS(names_sides) *
	               G_N_ELEMENTS(names_cases) * G_N_ELEMENTS(names_inbox_spellings) *
	               G_N_ELEMENTS(names_rules);
	unsigned checked = 0, failed = 0;

	for (size_t i = 0; i < total; i++)
		checked += names_check_one(i, &failed);
	g_test_message("%u names checked, %u wrong", checked, failed);
	g_assert_cmpuint(checked, ==, 4 * 4 * (2 * 3 + 3) * 2);
	g_assert_cmpuint(failed, ==, 0);
}

/* The names a user reads in the issue, spelt out. */
static void
test_inbox_children_examples(void)
{
	static const struct {
		struct names_side src, dst;
		const char *name, *want;
	} ex[] = {
		{{"", '/'}, {"INBOX.", '.'}, "INBOX/Newsletters", "INBOX.Newsletters"},
		{{"", '/'}, {"INBOX.", '.'}, "INBOX/a/b", "INBOX.a.b"},
		{{"", '/'}, {"INBOX.", '.'}, "Inbox/x", "INBOX.x"},
		{{"", '/'}, {"INBOX.", '.'}, "INBOXfoo", "INBOX.INBOXfoo"},
		{{"", '/'}, {"INBOX.", '.'}, "Newsletters", "INBOX.Newsletters"},
		{{"", '/'}, {"INBOX/", '/'}, "INBOX/Newsletters", "INBOX/Newsletters"},
		{{"", '.'}, {"INBOX/", '/'}, "INBOX.a.b", "INBOX/a/b"},
		{{"INBOX.", '.'}, {"", '/'}, "INBOX.Newsletters", "Newsletters"},
		{{"INBOX.", '.'}, {"", '/'}, "INBOX.INBOXfoo", "INBOXfoo"},
		{{"INBOX.", '.'}, {"INBOX/", '/'}, "INBOX.a.b", "INBOX/a/b"},
		{{"INBOX/", '/'}, {"INBOX.", '.'}, "INBOX/a/b", "INBOX.a.b"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(ex); i++) {
		g_autofree char *plain = names_plan_one(&ex[i].src, &ex[i].dst, ex[i].name, NULL);
		g_autofree char *ruled =
			names_plan_one(&ex[i].src, &ex[i].dst, ex[i].name, &names_copy_rules);

		g_assert_cmpstr(plain, ==, ex[i].want);
		g_assert_cmpstr(ruled, ==, ex[i].want);
	}
}

/* --- no silent no-ops --- */

static const char *const select_src[] = {"INBOX", "Newsletters",   "Sent",         "Trash",
                                         "Work",  "Work/Projects", "Work/Reports", NULL};

struct select_case {
	const char *folders[3];
	const char *include[3];
	const char *exclude[3];
	const char *message; /* NULL: a plan; else the error message, exactly */
};

static const struct select_case select_cases[] = {
	{.folders = {"Work/Projects"}},
	{.folders = {"inbox"}},
	{.include = {"^Work"}},
	{.include = {"NoMatch", "^Sent$"}},
	{.exclude = {"^Work"}},
	{.folders = {"Work/projects"},
         .message = "--folder 'Work/projects' names no source folder; did you mean "
                    "'Work/Projects'? (folder names are case-sensitive)"},
	{.folders = {"Nonexistent"},
         .message = "--folder 'Nonexistent' names no source folder; the source has 'INBOX', "
                    "'Newsletters', 'Sent', 'Trash', 'Work' and 2 more (mailhaul check lists "
                    "them)"},
	{.folders = {"Work/Projects", "Projets", "Nwesletters"},
         .message = "--folder 'Projets' names no source folder; did you mean 'Work/Projects'?; "
                    "--folder 'Nwesletters' names no source folder; did you mean "
                    "'Newsletters'?"},
	{.folders = {"Work/Report"},
         .message = "--folder 'Work/Report' names no source folder; did you mean "
                    "'Work/Reports'?"},
	{.include = {"NoMatch"},
         .message = "--include 'NoMatch' selects no source folder; the source has 'INBOX', "
                    "'Newsletters', 'Sent', 'Trash', 'Work' and 2 more (mailhaul check lists "
                    "them)"},
	{.include = {"^work/"},
         .message = "--include '^work/' selects no source folder; did you mean 'Work/Projects' "
                    "or 'Work/Reports'? (--include is case-sensitive; (?i) ignores case)"},
	{.include = {"^Trsh$", "^Nope"},
         .message = "--include '^Trsh$', '^Nope' selects no source folder; did you mean "
                    "'Trash'?"},
	{.include = {"^Work"},
         .exclude = {"^Work"},
         .message = "--exclude '^Work' leaves out every source folder (3 selected before)"},
	{.exclude = {"."},
         .message = "--exclude '.' leaves out every source folder (7 selected before)"},
	{.folders = {"Sent"},
         .include = {"^Work"},
         .message = "--include '^Work' selects none of the folders --folder names: 'Sent'"},
};

static GPtrArray *
select_strings(const char *const *s)
{
	GPtrArray *a = g_ptr_array_new();

	for (size_t i = 0; i < 3 && s[i] != NULL; i++)
		g_ptr_array_add(a, (char *)s[i]);
	return a;
}

static void
test_select_refuses_no_ops(void)
{
	const char *dst_names[] = {"INBOX", NULL};
	g_autoptr(GPtrArray) src = names_list(select_src, '/');
	g_autoptr(GPtrArray) dst = names_list(dst_names, '/');

	for (size_t i = 0; i < G_N_ELEMENTS(select_cases); i++) {
		const struct select_case *c = &select_cases[i];
		g_autoptr(GPtrArray) folders = select_strings(c->folders);
		g_autoptr(GPtrArray) include = select_strings(c->include);
		g_autoptr(GPtrArray) exclude = select_strings(c->exclude);
		g_autoptr(mh_plan) plan = NULL;
		g_autoptr(GError) error = NULL;
		struct mh_plan_options opts;

		mh_plan_options_init(&opts);
		opts.folders = folders;
		opts.include = include;
		opts.exclude = exclude;
		plan = mh_plan_new(src, NULL, dst, &opts, &error);
		if (c->message == NULL) {
			g_assert_no_error(error);
			g_assert_nonnull(plan);
			continue;
		}
		g_assert_null(plan);
		g_assert_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_USAGE);
		g_assert_cmpstr(error->message, ==, c->message);
		g_assert_null(strchr(error->message, '\n'));
	}
}

static void
test_name_distance(void)
{
	g_assert_cmpuint(mh_plan_name_distance("Work/projects", "Work/Projects"), ==, 0);
	g_assert_cmpuint(mh_plan_name_distance("", "abc"), ==, 3);
	g_assert_cmpuint(mh_plan_name_distance("kitten", "sitting"), ==, 3);
	g_assert_cmpuint(mh_plan_name_distance("Projets", "Projects"), ==, 1);
	g_assert_cmpuint(mh_plan_name_distance("Entwürfe", "ENTWÜRFE"), ==, 0);
	g_assert_cmpuint(mh_plan_name_distance("Entwurfe", "Entwürfe"), ==, 1);
	g_assert_cmpuint(mh_plan_name_distance("a", "\xff"), ==, G_MAXUINT);
}

static void
test_closest_names(void)
{
	const char *list[] = {"INBOX", "Sent", "sent", "Work/Projects", "Projects", "Archive"};
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	g_autoptr(GPtrArray) got = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(list); i++)
		g_ptr_array_add(names, (char *)list[i]);
	/* Equal ignoring case wins over anything merely close, in list order. */
	got = mh_plan_closest_names("SENT", names, '/', 3);
	g_assert_cmpuint(got->len, ==, 2);
	g_assert_cmpstr(got->pdata[0], ==, "Sent");
	g_assert_cmpstr(got->pdata[1], ==, "sent");
	g_clear_pointer(&got, g_ptr_array_unref);
	/* A last level counts: "Projects" itself first, then the one below Work. */
	got = mh_plan_closest_names("Projets", names, '/', 3);
	g_assert_cmpuint(got->len, ==, 2);
	g_assert_cmpstr(got->pdata[0], ==, "Projects");
	g_assert_cmpstr(got->pdata[1], ==, "Work/Projects");
	g_clear_pointer(&got, g_ptr_array_unref);
	got = mh_plan_closest_names("Projets", names, '/', 1);
	g_assert_cmpuint(got->len, ==, 1);
	g_clear_pointer(&got, g_ptr_array_unref);
	/* Nothing close: nothing suggested. */
	got = mh_plan_closest_names("Nonexistent", names, '/', 3);
	g_assert_cmpuint(got->len, ==, 0);
}

static const struct {
	const char *spec, *in, *out;
} rt_cases[] = {
	{"s/a/b/", "aaa", "baa"},
	{"s/a/b/g", "aaa", "bbb"},
	{"s/A/b/gi", "aAa", "bbb"},
	{"s/A/b/ig", "aAa", "bbb"},
	{"s/nomatch/x/", "abc", "abc"},
	{"s#^INBOX\\.#Old.#", "INBOX.x", "Old.x"},
	{"s|/|.|g", "a/b/c", "a.b.c"},
	{"s/\\//./g", "a/b", "a.b"},
	{"s{(\\w+)}{<$1>}g", "a b", "<a> <b>"},
	{"s{a} {b}", "a", "b"},
	{"s(a)[b]", "a", "b"},
	{"s/(a)(b)/\\2\\1/", "ab", "ba"},
	{"s/(a)(b)/${2}x$1/", "ab", "bxa"},
	{"s/x/$&$&/", "x", "xx"},
	{"s/(.*)/\\U$1/", "abc", "ABC"},
	{"s/\\./_/g", "a.b", "a_b"},
	{"s/a/\\$/", "a", "$"},
	{"s/a/cost $/", "a", "cost $"},
	{"s/a/\\\\/", "a", "\\"},
	{"s/ü/ue/g", "Grüße", "Grueße"},
	{"s/^/Old\\//", "x", "Old/x"},
	{"s/^(.)(.)(.)(.)(.)(.)(.)(.)(.)(.)$/$10$1/", "abcdefghij", "ja"},
	{"  s/a/b/ g ", "aa", "bb"},
};

static void
test_regextrans_apply(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(rt_cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(mh_plan_regextrans) rt =
			mh_plan_regextrans_parse(rt_cases[i].spec, &error);
		g_autofree char *out = NULL;

		g_test_message("%s", rt_cases[i].spec);
		g_assert_no_error(error);
		out = mh_plan_regextrans_apply(rt, rt_cases[i].in, &error);
		g_assert_no_error(error);
		g_assert_cmpstr(out, ==, rt_cases[i].out);
	}
}

static const struct {
	const char *spec, *why;
} rt_bad[] = {
	{"s/(/x/", "Error while compiling"},
	{"s/a/b", "missing closing '/'"},
	{"s/a", "missing closing '/'"},
	{"y/a/b/", "expected s/OLD/NEW/"},
	{"sxaxbx", "expected s/OLD/NEW/"},
	{"s a b ", "expected s/OLD/NEW/"},
	{"", "expected s/OLD/NEW/"},
	{"s/a/b/e", "unknown flag 'e'"},
	{"s//b/", "empty OLD pattern"},
	{"s/(a)/$2/", "NEW refers to group 2 but OLD has 1"},
	{"s/a/\\1/", "NEW refers to group 1 but OLD has 0"},
	{"s{a}", "missing NEW part"},
	{"s{a{b}c/", "missing closing '}'"},
};

static void
test_regextrans_errors(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(rt_bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *prefix =
			g_strdup_printf("bad --regextrans2 '%s': ", rt_bad[i].spec);

		g_assert_null(mh_plan_regextrans_parse(rt_bad[i].spec, &error));
		g_assert_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_USAGE);
		g_test_message("%s", error->message);
		g_assert_true(g_str_has_prefix(error->message, prefix));
		g_assert_nonnull(strstr(error->message, rt_bad[i].why));
	}
}

static void
test_special_use_names(void)
{
	static const struct {
		const char *name;
		char sep;
		unsigned role;
	} names[] = {
		{"Sent", '/', MH_IMAP_ATTR_SENT},
		{"SENT ITEMS", '/', MH_IMAP_ATTR_SENT},
		{"INBOX.Sent Messages", '.', MH_IMAP_ATTR_SENT},
		{"inbox/Gesendete Elemente", '/', MH_IMAP_ATTR_SENT},
		{"ÉLÉMENTS ENVOYÉS", '/', MH_IMAP_ATTR_SENT},
		{"Entwu\xcc\x88rfe", '/', MH_IMAP_ATTR_DRAFTS}, /* decomposed ü */
		{"Rascunhos", '/', MH_IMAP_ATTR_DRAFTS},
		{"Gelöschte Elemente", '/', MH_IMAP_ATTR_TRASH},
		{"Itens excluídos", '/', MH_IMAP_ATTR_TRASH},
		{"Bin", '/', MH_IMAP_ATTR_TRASH},
		{"Junk-E-Mail", '/', MH_IMAP_ATTR_JUNK},
		{"Lixo eletrônico", '/', MH_IMAP_ATTR_JUNK},
		{"Archiv", '/', MH_IMAP_ATTR_ARCHIVE},
		{"Sentinel", '/', 0},
		{"Work/Sent", '/', 0},
		{"INBOX/Work/Sent", '/', 0},
		{"INBOX.Sent", '/', 0},
		{"INBOX", '/', 0},
		{"\xff", '/', 0},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		g_test_message("name %zu", i);
		g_assert_cmpuint(mh_plan_special_use_by_name(names[i].name, names[i].sep), ==,
		                 names[i].role);
	}
	g_assert_cmpuint(mh_plan_special_use_of_attrs(MH_IMAP_ATTR_NOSELECT | MH_IMAP_ATTR_JUNK),
	                 ==, MH_IMAP_ATTR_JUNK);
	g_assert_cmpuint(mh_plan_special_use_of_attrs(MH_IMAP_ATTR_HASCHILDREN), ==, 0);
	g_assert_cmpstr(mh_plan_special_use_str(MH_IMAP_ATTR_ALL), ==, "\\All");
	g_assert_cmpstr(mh_plan_special_use_str(0), ==, "");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sync/plan/inbox-children/matrix", test_inbox_children_matrix);
	g_test_add_func("/sync/plan/inbox-children/examples", test_inbox_children_examples);
	g_test_add_func("/sync/plan/select/refuses-no-ops", test_select_refuses_no_ops);
	g_test_add_func("/sync/plan/suggest/distance", test_name_distance);
	g_test_add_func("/sync/plan/suggest/closest", test_closest_names);
	g_test_add_func("/sync/plan/regextrans/apply", test_regextrans_apply);
	g_test_add_func("/sync/plan/regextrans/errors", test_regextrans_errors);
	g_test_add_func("/sync/plan/special-use/names", test_special_use_names);
	return g_test_run();
}
