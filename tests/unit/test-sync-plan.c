/* SPDX-License-Identifier: MIT */
/* The folder plan: a table of folder lists and options, each pinned to its exact
 * destination names, CREATE order and subscriptions (separator and prefix translation,
 * special folders, selection, --regextrans2, containers, merges, UTF-8 names). */
#include "sync-error.h"
#include "sync-plan.h"

#include <glib.h>
#include <string.h>

#define N 12

struct plan_case {
	const char *path;
	const char *src[N]; /* "name" or "name\tattributes": \Sent ... \Subscribed, or "lsub" */
	const char *dst[N];
	char src_sep;
	char dst_sep;
	const char *src_prefix;
	const char *dst_prefix;
	const char *folders[4];
	const char *include[4];
	const char *exclude[4];
	const char *regextrans[4];
	bool no_automap;
	bool subscribe_all;
	bool dst_nocase;        /* the destination ignores case in folder names */
	bool test_rules;        /* the test's provider rules (test_rules below) */
	bool only_subscribed;   /* --subscribed */
	const char *subfolder1; /* --subfolder1 */
	const char *subfolder2; /* --subfolder2 */
	const char *want[N];    /* "SRC -> DST", "SRC -> DST [container]" or "SRC skipped" */
	const char *creates[N]; /* in order */
	const char *subs[N];    /* in order */
	const char *note;       /* "SRC|text the entry's note contains" */
	const char *reason;     /* "SRC|text the entry's skip reason contains" */
};

static const char *
rule_skip(void *ctx, const char *name, char sep, unsigned attrs)
{
	(void)ctx;
	(void)sep;
	(void)attrs;
	return strcmp(name, "Calendar") == 0 ? "a calendar, not mail" : NULL;
}

static char *
rule_src_name(void *ctx, const char *name, char sep)
{
	(void)ctx;
	(void)sep;
	return g_strdup(g_str_has_prefix(name, "[Gmail]/") ? name + 8 : name);
}

static char *
rule_dst_name(void *ctx, const char *name, char sep, const char **why_r)
{
	char *out = g_strdup(name);

	(void)ctx;
	(void)sep;
	*why_r = NULL;
	for (char *p = out; *p != '\0'; p++) {
		if (*p == '^') {
			*p = '_';
			*why_r = "refused character";
		}
	}
	return out;
}

static const struct mh_sync_folder_rules test_rules = {
	.src_skip = rule_skip,
	.src_name = rule_src_name,
	.dst_name = rule_dst_name,
};

static const struct plan_case plan_cases[] = {
	{
		.path = "/sync/plan/imapsync/subscribed",
		.src = {"INBOX", "a\tlsub", "b", "a/c"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '/',
		.only_subscribed = true,
		.want = {"INBOX -> INBOX", "a -> a", "a/c skipped", "b skipped"},
		.creates = {"a"},
		.subs = {"a"},
		.reason = "b|not subscribed",
	},
	{
		.path = "/sync/plan/imapsync/subfolder2",
		.src = {"INBOX", "a", "a/b"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '.',
		.subfolder2 = "Old",
		.want = {"INBOX -> Old.INBOX", "a -> Old.a", "a/b -> Old.a.b"},
		.creates = {"Old", "Old.INBOX", "Old.a", "Old.a.b"},
	},
	{
		.path = "/sync/plan/imapsync/subfolder1",
		.src = {"INBOX", "Old", "Old/INBOX", "Old/a", "Old/a/b", "Older"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '.',
		.subfolder1 = "Old",
		.want = {"INBOX skipped", "Old -> INBOX", "Old/INBOX -> INBOX", "Old/a -> a",
                         "Old/a/b -> a.b", "Older skipped"},
		.creates = {"a", "a.b"},
		.reason = "Older|not under --subfolder1",
	},
	{
		.path = "/sync/plan/translate/slash-to-dot",
		.src = {"INBOX", "a", "a/b", "a/b/c"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '.',
		.want = {"INBOX -> INBOX", "a -> a", "a/b -> a.b", "a/b/c -> a.b.c"},
		.creates = {"a", "a.b", "a.b.c"},
	},
	{
		.path = "/sync/plan/translate/dot-to-slash",
		.src = {"INBOX", "INBOX.a", "INBOX.a.b", "INBOX.c"},
		.dst = {"INBOX", "c"},
		.src_sep = '.',
		.dst_sep = '/',
		.src_prefix = "INBOX.",
		.want = {"INBOX -> INBOX", "INBOX.a -> a", "INBOX.a.b -> a/b", "INBOX.c -> c"},
		.creates = {"a", "a/b"},
	},
	{
		.path = "/sync/plan/prefix/add-inbox",
		.src = {"INBOX", "Work", "Work/2024"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '.',
		.dst_prefix = "INBOX.",
		.want = {"INBOX -> INBOX", "Work -> INBOX.Work", "Work/2024 -> INBOX.Work.2024"},
		.creates = {"INBOX.Work", "INBOX.Work.2024"},
	},
	{
		.path = "/sync/plan/prefix/inbox-both-sides",
		.src = {"INBOX", "INBOX.a", "INBOX.a.b"},
		.dst = {"INBOX", "INBOX.a"},
		.src_sep = '.',
		.dst_sep = '.',
		.src_prefix = "INBOX.",
		.dst_prefix = "INBOX.",
		.want = {"INBOX -> INBOX", "INBOX.a -> INBOX.a", "INBOX.a.b -> INBOX.a.b"},
		.creates = {"INBOX.a.b"},
	},
	{
		.path = "/sync/plan/prefix/inbox-any-case-and-children",
		.src = {"Sub", "Inbox/Sub", "inbox"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '.',
		.dst_prefix = "INBOX.",
		.want = {"inbox -> INBOX", "Inbox/Sub -> INBOX.Sub", "Sub -> INBOX.Sub"},
		.creates = {"INBOX.Sub"},
		.note = "Sub|merged with 'Inbox/Sub' into 'INBOX.Sub'",
	},
	{
		.path = "/sync/plan/separator/in-component",
		.src = {"INBOX", "a.b", "x/y.z"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '.',
		.want = {"INBOX -> INBOX", "a.b -> a_b", "x/y.z -> x.y_z"},
		.creates = {"a_b", "x", "x.y_z"},
		.note = "a.b|'a.b': the destination separator '.' became '_'",
	},
	{
		.path = "/sync/plan/separator/in-component-from-dot",
		.src = {"INBOX", "INBOX.a/b", "INBOX.c.d/e"},
		.dst = {"INBOX"},
		.src_sep = '.',
		.dst_sep = '/',
		.src_prefix = "INBOX.",
		.want = {"INBOX -> INBOX", "INBOX.a/b -> a_b", "INBOX.c.d/e -> c/d_e"},
		.creates = {"a_b", "c", "c/d_e"},
	},
	{
		.path = "/sync/plan/automap/by-attribute",
		.src = {"INBOX", "Sent\t\\Sent", "Trash\t\\Trash"},
		.dst = {"INBOX", "Deleted Items\t\\Trash", "Sent Items\t\\Sent"},
		.src_sep = '/',
		.dst_sep = '/',
		.want = {"INBOX -> INBOX", "Sent -> Sent Items", "Trash -> Deleted Items"},
		.note = "Sent|automap \\Sent -> 'Sent Items'",
	},
	{
		.path = "/sync/plan/automap/to-gmail",
		.src = {"INBOX", "INBOX.Sent\t\\Sent", "INBOX.Drafts\t\\Drafts",
                        "INBOX.Junk\t\\Junk", "INBOX.Projects"},
		.dst = {"INBOX", "[Gmail]\t\\Noselect", "[Gmail]/Drafts\t\\Drafts",
                        "[Gmail]/Sent Mail\t\\Sent", "[Gmail]/Spam\t\\Junk",
                        "[Gmail]/Trash\t\\Trash"},
		.src_sep = '.',
		.dst_sep = '/',
		.src_prefix = "INBOX.",
		.want = {"INBOX -> INBOX", "INBOX.Drafts -> [Gmail]/Drafts",
                         "INBOX.Junk -> [Gmail]/Spam", "INBOX.Projects -> Projects",
                         "INBOX.Sent -> [Gmail]/Sent Mail"},
		.creates = {"Projects"},
	},
	{
		.path = "/sync/plan/automap/from-gmail",
		.src = {"INBOX", "[Gmail]\t\\Noselect", "[Gmail]/All Mail\t\\All",
                        "[Gmail]/Sent Mail\t\\Sent", "[Gmail]/Starred\t\\Flagged",
                        "[Gmail]/Trash\t\\Trash", "Label"},
		.dst = {"INBOX", "Archive\t\\Archive", "Deleted Items\t\\Trash",
                        "Sent Items\t\\Sent"},
		.src_sep = '/',
		.dst_sep = '/',
		.want = {"INBOX -> INBOX", "Label -> Label", "[Gmail] -> [Gmail] [container]",
                         "[Gmail]/All Mail -> Archive", "[Gmail]/Sent Mail -> Sent Items",
                         "[Gmail]/Starred -> [Gmail]/Starred", "[Gmail]/Trash -> Deleted Items"},
		/* All Mail (\All) goes to the destination's \Archive when it has no \All. */
		.creates = {"Label", "[Gmail]", "[Gmail]/Starred"},
	},
	{
		/* Microsoft 365: names differing only in case are one folder, spelt as the
                 * destination spells it, else as the first source folder does. */
		.path = "/sync/plan/nocase/merge-into-existing",
		.src = {"INBOX", "projects", "Projects", "Trash", "trash/old", "New", "NEW/sub"},
		.dst = {"INBOX", "Projects", "TRASH"},
		.src_sep = '/',
		.dst_sep = '/',
		.no_automap = true,
		.dst_nocase = true,
		/* In tree order "NEW/sub" comes first, so its spelling of the level wins. */
		.want = {"INBOX -> INBOX", "NEW/sub -> NEW/sub", "New -> NEW",
                         "Projects -> Projects", "Trash -> TRASH", "projects -> Projects",
                         "trash/old -> TRASH/old"},
		.creates = {"NEW", "NEW/sub", "TRASH/old"},
		.note = "projects|joins 'Projects'",
	},
	{
		.path = "/sync/plan/nocase/off-keeps-case",
		.src = {"INBOX", "projects"},
		.dst = {"INBOX", "Projects"},
		.src_sep = '/',
		.dst_sep = '/',
		.want = {"INBOX -> INBOX", "projects -> projects"},
		.creates = {"projects"},
	},
	{
		/* Provider rules: a source folder left out, a source prefix dropped, a
                 * destination name cleaned. */
		.path = "/sync/plan/rules/skip-rename-clean",
		.src = {"INBOX", "Calendar", "[Gmail]/Odd^Name", "Keep"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '/',
		.test_rules = true,
		.want = {"INBOX -> INBOX", "Calendar skipped", "Keep -> Keep",
                         "[Gmail]/Odd^Name -> Odd_Name"},
		.creates = {"Keep", "Odd_Name"},
		.reason = "Calendar|not mail",
		.note = "[Gmail]/Odd^Name|renamed 'Odd_Name' (refused character)",
	},
	{
		/* --folder names a folder a provider rule leaves out: the user wins. */
		.path = "/sync/plan/rules/folder-option-wins",
		.src = {"INBOX", "Calendar", "Keep"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '/',
		.folders = {"Calendar"},
		.test_rules = true,
		.want = {"INBOX skipped", "Calendar -> Calendar", "Keep skipped"},
		.creates = {"Calendar"},
	},
	{
		.path = "/sync/plan/automap/all-mail-without-archive",
		.src = {"INBOX", "[Gmail]/All Mail\t\\All"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '/',
		.want = {"INBOX -> INBOX", "[Gmail]/All Mail -> Archive"},
		.creates = {"Archive"},
	},
	{
		.path = "/sync/plan/automap/by-name-on-source",
		.src = {"INBOX", "Sent Messages", "Deleted Messages", "Junk", "Drafts"},
		.dst = {"INBOX", "Deleted Items\t\\Trash", "Drafts\t\\Drafts", "Junk Email\t\\Junk",
                        "Sent Items\t\\Sent"},
		.src_sep = '/',
		.dst_sep = '/',
		.want = {"INBOX -> INBOX", "Deleted Messages -> Deleted Items", "Drafts -> Drafts",
                         "Junk -> Junk Email", "Sent Messages -> Sent Items"},
	},
	{
		.path = "/sync/plan/automap/localized-names-both-sides",
		.src = {"INBOX", "Gesendet", "Papierkorb", "Entwürfe", "SPAM"},
		.dst = {"INBOX", "Deleted Items", "Drafts", "Junk E-mail", "Sent Items"},
		.src_sep = '/',
		.dst_sep = '/',
		.want = {"INBOX -> INBOX", "Entwürfe -> Drafts", "Gesendet -> Sent Items",
                         "Papierkorb -> Deleted Items", "SPAM -> Junk E-mail"},
	},
	{
		/* No attributes (Courier) and two folders that look like Drafts: only the
                 * best-known name takes the role, the other keeps its own name (no merge). */
		.path = "/sync/plan/automap/two-names-for-one-role",
		.src = {"INBOX", "INBOX.Entwürfe", "INBOX.Drafts", "INBOX.Gesendet", "INBOX.Sent"},
		.dst = {"INBOX", "Drafts\t\\Drafts", "Sent\t\\Sent"},
		.src_sep = '.',
		.dst_sep = '/',
		.src_prefix = "INBOX.",
		.want = {"INBOX -> INBOX", "INBOX.Drafts -> Drafts", "INBOX.Entwürfe -> Entwürfe",
                         "INBOX.Gesendet -> Gesendet", "INBOX.Sent -> Sent"},
		.creates = {"Entwürfe", "Gesendet"},
	},
	{
		.path = "/sync/plan/automap/localized-under-inbox",
		.src = {"INBOX", "INBOX.Éléments envoyés", "INBOX.Corbeille",
                        "INBOX.Courrier indésirable", "INBOX.Brouillons"},
		.dst = {"INBOX", "Junk\t\\Junk", "Sent\t\\Sent", "Trash\t\\Trash"},
		.src_sep = '.',
		.dst_sep = '/',
		.src_prefix = "INBOX.",
		.want = {"INBOX -> INBOX", "INBOX.Brouillons -> Brouillons",
                         "INBOX.Corbeille -> Trash", "INBOX.Courrier indésirable -> Junk",
                         "INBOX.Éléments envoyés -> Sent"},
		.creates = {"Brouillons"},
	},
	{
		.path = "/sync/plan/automap/destination-lacks-role",
		.src = {"INBOX", "Archive\t\\Archive", "Sent\t\\Sent"},
		.dst = {"INBOX", "Sent Items\t\\Sent"},
		.src_sep = '/',
		.dst_sep = '/',
		.want = {"INBOX -> INBOX", "Archive -> Archive", "Sent -> Sent Items"},
		.creates = {"Archive"},
		.note = "Archive|automap \\Archive: the destination has none",
	},
	{
		.path = "/sync/plan/automap/off",
		.src = {"INBOX", "Sent\t\\Sent", "Trash\t\\Trash"},
		.dst = {"INBOX", "Deleted Items\t\\Trash", "Sent Items\t\\Sent"},
		.src_sep = '/',
		.dst_sep = '/',
		.no_automap = true,
		.want = {"INBOX -> INBOX", "Sent -> Sent", "Trash -> Trash"},
		.creates = {"Sent", "Trash"},
	},
	{
		.path = "/sync/plan/automap/prefers-the-same-name",
		.src = {"INBOX", "Sent\t\\Sent"},
		.dst = {"INBOX", "Outbox Sent\t\\Sent", "Sent\t\\Sent"},
		.src_sep = '/',
		.dst_sep = '/',
		.want = {"INBOX -> INBOX", "Sent -> Sent"},
	},
	{
		.path = "/sync/plan/automap/names-ignored-where-attributes-claim-the-role",
		.src = {"INBOX", "[Gmail]/Sent Mail\t\\Sent", "Sent"},
		.dst = {"INBOX", "Sent Items"},
		.src_sep = '/',
		.dst_sep = '/',
		.want = {"INBOX -> INBOX", "Sent -> Sent", "[Gmail]/Sent Mail -> Sent Items"},
		.creates = {"Sent"},
	},
	{
		.path = "/sync/plan/select/include",
		.src = {"INBOX", "Work", "Work/a", "Private", "Archive/Work"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '/',
		.include = {"^Work"},
		.want = {"INBOX skipped", "Archive/Work skipped", "Private skipped", "Work -> Work",
                         "Work/a -> Work/a"},
		.creates = {"Work", "Work/a"},
		.reason = "Private|matches no --include",
	},
	{
		.path = "/sync/plan/select/exclude",
		.src = {"INBOX", "Junk", "Trash", "Trash/Old", "Keep"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '/',
		.exclude = {"^Junk$", "^Trash"},
		.want = {"INBOX -> INBOX", "Junk skipped", "Keep -> Keep", "Trash skipped",
                         "Trash/Old skipped"},
		.creates = {"Keep"},
		.reason = "Trash/Old|matches --exclude '^Trash'",
	},
	{
		.path = "/sync/plan/select/include-and-exclude",
		.src = {"INBOX", "Projects", "Projects/Old", "Projects/New", "Other"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '/',
		.include = {"^Projects", "^NotThere"},
		.exclude = {"Old$"},
		.want = {"INBOX skipped", "Other skipped", "Projects -> Projects",
                         "Projects/New -> Projects/New", "Projects/Old skipped"},
		.creates = {"Projects", "Projects/New"},
	},
	{
		.path = "/sync/plan/select/folder",
		.src = {"INBOX", "a", "a/b", "c"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '.',
		.folders = {"a/b", "INBOX"},
		.want = {"INBOX -> INBOX", "a skipped", "a/b -> a.b", "c skipped"},
		.creates = {"a", "a.b"},
		.reason = "c|not named by --folder",
	},
	{
		.path = "/sync/plan/select/folder-inbox-any-case",
		.src = {"INBOX", "Other"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '/',
		.folders = {"inbox"},
		.want = {"INBOX -> INBOX", "Other skipped"},
		.reason = "Other|not named by --folder",
	},
	{
		.path = "/sync/plan/regextrans/global",
		.src = {"INBOX", "My Folder Name", "Two Words/Sub Folder"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '/',
		.regextrans = {"s/ /_/g"},
		.want = {"INBOX -> INBOX", "My Folder Name -> My_Folder_Name",
                         "Two Words/Sub Folder -> Two_Words/Sub_Folder"},
		.creates = {"My_Folder_Name", "Two_Words", "Two_Words/Sub_Folder"},
	},
	{
		.path = "/sync/plan/regextrans/first-match-only",
		.src = {"INBOX", "banana"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '/',
		.regextrans = {"s/a/X/"},
		.want = {"INBOX -> INBOX", "banana -> bXnana"},
		.creates = {"bXnana"},
	},
	{
		.path = "/sync/plan/regextrans/ignore-case-backref-delimiter",
		.src = {"INBOX", "old-2019", "Old-2020"},
		.dst = {"INBOX", "Archive"},
		.src_sep = '/',
		.dst_sep = '/',
		.regextrans = {"s#^OLD-(.*)$#Archive/$1#i"},
		.want = {"INBOX -> INBOX", "Old-2020 -> Archive/2020", "old-2019 -> Archive/2019"},
		.creates = {"Archive/2020", "Archive/2019"},
	},
	{
		.path = "/sync/plan/regextrans/in-order-after-translation",
		.src = {"INBOX", "INBOX.Lists.gnome", "INBOX.Lists.kde"},
		.dst = {"INBOX"},
		.src_sep = '.',
		.dst_sep = '/',
		.src_prefix = "INBOX.",
		.regextrans = {"s{^Lists/}{Mail/}", "s|Mail/(.*)|Mail/\\1 list|"},
		.want = {"INBOX -> INBOX", "INBOX.Lists.gnome -> Mail/gnome list",
                         "INBOX.Lists.kde -> Mail/kde list"},
		.creates = {"Mail", "Mail/gnome list", "Mail/kde list"},
	},
	{
		.path = "/sync/plan/regextrans/after-automap",
		.src = {"INBOX", "Sent\t\\Sent"},
		.dst = {"INBOX", "INBOX.Sent Items\t\\Sent"},
		.src_sep = '/',
		.dst_sep = '.',
		.dst_prefix = "INBOX.",
		.regextrans = {"s/ Items$//"},
		.want = {"INBOX -> INBOX", "Sent -> INBOX.Sent"},
		.creates = {"INBOX.Sent"},
	},
	{
		.path = "/sync/plan/regextrans/empty-name-skipped",
		.src = {"INBOX", "Tmp", "Keep"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '/',
		.regextrans = {"s/^Tmp.*//"},
		.want = {"INBOX -> INBOX", "Keep -> Keep", "Tmp skipped"},
		.creates = {"Keep"},
		.reason = "Tmp|--regextrans2 leaves an empty name",
	},
	{
		.path = "/sync/plan/container/noselect",
		.src = {"INBOX", "Projects\t\\Noselect", "Projects/A", "Projects/B\t\\Noselect",
                        "Projects/B/C"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '.',
		.want = {"INBOX -> INBOX", "Projects -> Projects [container]",
                         "Projects/A -> Projects.A", "Projects/B -> Projects.B [container]",
                         "Projects/B/C -> Projects.B.C"},
		.creates = {"Projects", "Projects.A", "Projects.B", "Projects.B.C"},
	},
	{
		.path = "/sync/plan/container/nothing-below",
		.src = {"INBOX", "Empty\t\\Noselect", "Gone\t\\NonExistent", "Gone/x\t\\Noselect",
                        "Kept\t\\NonExistent", "Kept/y"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '/',
		.want = {"INBOX -> INBOX", "Empty skipped", "Gone skipped", "Gone/x skipped",
                         "Kept -> Kept [container]", "Kept/y -> Kept/y"},
		.creates = {"Kept", "Kept/y"},
		.reason = "Empty|container with nothing below it to copy",
	},
	{
		.path = "/sync/plan/create/parents-first",
		.src = {"INBOX", "a/b/c", "a/x", "z/y", "z"},
		.dst = {"INBOX", "a", "a.x"},
		.src_sep = '/',
		.dst_sep = '.',
		.want = {"INBOX -> INBOX", "a/b/c -> a.b.c", "a/x -> a.x", "z -> z", "z/y -> z.y"},
		.creates = {"a.b", "a.b.c", "z", "z.y"},
	},
	{
		.path = "/sync/plan/create/nonexistent-parent",
		.src = {"INBOX", "p/1", "q/2"},
		.dst = {"INBOX", "p\t\\NonExistent", "q\t\\Noselect"},
		.src_sep = '/',
		.dst_sep = '/',
		.want = {"INBOX -> INBOX", "p/1 -> p/1", "q/2 -> q/2"},
		.creates = {"p", "p/1", "q/2"},
	},
	{
		.path = "/sync/plan/merge/two-sources-one-destination",
		.src = {"INBOX", "Sent\t\\Sent", "Sent Items"},
		.dst = {"INBOX", "Sent Items\t\\Sent"},
		.src_sep = '/',
		.dst_sep = '/',
		.want = {"INBOX -> INBOX", "Sent -> Sent Items", "Sent Items -> Sent Items"},
		.note = "Sent Items|merged with 'Sent' into 'Sent Items'",
	},
	{
		.path = "/sync/plan/subscribe/from-source",
		.src = {"INBOX\tlsub", "a\tlsub", "b", "c\t\\Subscribed", "d\tlsub"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '.',
		.dst_prefix = "INBOX.",
		.exclude = {"^d$"},
		.want = {"INBOX -> INBOX", "a -> INBOX.a", "b -> INBOX.b", "c -> INBOX.c",
                         "d skipped"},
		.creates = {"INBOX.a", "INBOX.b", "INBOX.c"},
		.subs = {"INBOX", "INBOX.a", "INBOX.c"},
	},
	{
		.path = "/sync/plan/subscribe/all",
		.src = {"INBOX", "box\t\\Noselect", "box/a", "b"},
		.dst = {"INBOX", "b"},
		.src_sep = '/',
		.dst_sep = '/',
		.subscribe_all = true,
		.want = {"INBOX -> INBOX", "b -> b", "box -> box [container]", "box/a -> box/a"},
		.creates = {"box", "box/a"},
		.subs = {"INBOX", "b", "box/a"},
	},
	{
		.path = "/sync/plan/utf8/non-ascii-names",
		.src = {"INBOX", "Доклады", "Доклады/2024", "日本語", "Ärger.alt"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '.',
		.want = {"INBOX -> INBOX", "Ärger.alt -> Ärger_alt", "Доклады -> Доклады",
                         "Доклады/2024 -> Доклады.2024", "日本語 -> 日本語"},
		.creates = {"Ärger_alt", "Доклады", "Доклады.2024", "日本語"},
	},
	{
		.path = "/sync/plan/sort/tree-order",
		.src = {"a b", "a/b", "a", "INBOX/x", "INBOX", "A"},
		.dst = {"INBOX"},
		.src_sep = '/',
		.dst_sep = '/',
		.want = {"INBOX -> INBOX", "INBOX/x -> INBOX/x", "A -> A", "a -> a", "a/b -> a/b",
                         "a b -> a b"},
		.creates = {"INBOX/x", "A", "a", "a/b", "a b"},
	},
};

static struct mh_imap_folder *
folder_new(const char *spec, char sep, GPtrArray *lsub)
{
	struct mh_imap_folder *f = g_new0(struct mh_imap_folder, 1);
	g_auto(GStrv) parts = g_strsplit(spec, "\t", 2);
	g_auto(GStrv) attrs = NULL;

	f->name = g_strdup(parts[0]);
	f->raw_name = g_strdup(parts[0]);
	f->sep = sep;
	attrs = g_strsplit(parts[1] != NULL ? parts[1] : "", " ", -1);
	for (char **w = attrs; *w != NULL; w++) {
		bool known = strcmp(*w, "lsub") == 0;

		if (known)
			g_ptr_array_add(lsub, g_strdup(f->name));
		if (!known && mh_imap_attr_from_name(*w) != 0) {
			f->attrs |= mh_imap_attr_from_name(*w);
			known = true;
		}
		g_assert_true(known);
	}
	return f;
}

static GPtrArray *
folders_new(const char *const *specs, char sep, GPtrArray *lsub)
{
	GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)mh_imap_folder_free);

	for (size_t i = 0; i < N && specs[i] != NULL; i++)
		g_ptr_array_add(a, folder_new(specs[i], sep, lsub));
	return a;
}

/* NULL for an empty list, as a caller without the option passes it. */
static GPtrArray *
strings_new(const char *const *s, size_t n)
{
	GPtrArray *a;

	if (s[0] == NULL)
		return NULL;
	a = g_ptr_array_new();
	for (size_t i = 0; i < n && s[i] != NULL; i++)
		g_ptr_array_add(a, (char *)s[i]);
	return a;
}

static char *
render_entry(const struct mh_plan_entry *e)
{
	if (!e->selected)
		return g_strdup_printf("%s skipped", e->src_name);
	return g_strdup_printf("%s -> %s%s", e->src_name, e->dst_name,
	                       e->container_only ? " [container]" : "");
}

static void
assert_strings(const GPtrArray *got, const char *const *want, const char *what)
{
	size_t n = 0;

	while (n < N && want[n] != NULL)
		n++;
	for (guint i = 0; i < got->len || i < n; i++) {
		const char *g = i < got->len ? g_ptr_array_index(got, i) : "(none)";
		const char *w = i < n ? want[i] : "(none)";

		if (strcmp(g, w) != 0)
			g_test_message("%s %u: got '%s', want '%s'", what, i, g, w);
		g_assert_cmpstr(g, ==, w);
	}
}

static const struct mh_plan_entry *
find_entry(const struct mh_plan *plan, const char *src_name)
{
	const GPtrArray *entries = mh_plan_entries(plan);

	for (guint i = 0; i < entries->len; i++) {
		const struct mh_plan_entry *e = g_ptr_array_index(entries, i);

		if (strcmp(e->src_name, src_name) == 0)
			return e;
	}
	g_assert_not_reached();
}

/* "SRC|text": the entry SRC's @field contains text. */
static void
assert_text(const struct mh_plan *plan, const char *spec, bool reason)
{
	g_auto(GStrv) parts = g_strsplit(spec, "|", 2);
	const struct mh_plan_entry *e = find_entry(plan, parts[0]);
	const char *text = reason ? e->skip_reason : e->note;

	g_assert_nonnull(text);
	if (strstr(text, parts[1]) == NULL)
		g_test_message("'%s' lacks '%s'", text, parts[1]);
	g_assert_nonnull(strstr(text, parts[1]));
}

static void
test_plan_case(gconstpointer data)
{
	const struct plan_case *c = data;
	g_autoptr(GPtrArray) lsub = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) src = folders_new(c->src, c->src_sep, lsub);
	g_autoptr(GPtrArray) dst = folders_new(c->dst, c->dst_sep, lsub);
	g_autoptr(GPtrArray) folders = strings_new(c->folders, 4);
	g_autoptr(GPtrArray) include = strings_new(c->include, 4);
	g_autoptr(GPtrArray) exclude = strings_new(c->exclude, 4);
	g_autoptr(GPtrArray) regextrans = strings_new(c->regextrans, 4);
	g_autoptr(GPtrArray) rendered = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(mh_plan) plan = NULL;
	g_autoptr(GError) error = NULL;
	struct mh_plan_options opts;
	const GPtrArray *entries;

	mh_plan_options_init(&opts);
	opts.folders = folders;
	opts.include = include;
	opts.exclude = exclude;
	opts.regextrans = regextrans;
	opts.automap = !c->no_automap;
	opts.subscribe_all = c->subscribe_all;
	opts.src_prefix = c->src_prefix;
	opts.dst_prefix = c->dst_prefix;
	opts.dst_nocase = c->dst_nocase;
	opts.only_subscribed = c->only_subscribed;
	opts.subfolder1 = c->subfolder1;
	opts.subfolder2 = c->subfolder2;
	if (c->test_rules)
		opts.rules = &test_rules;
	plan = mh_plan_new(src, lsub->len > 0 ? lsub : NULL, dst, &opts, &error);
	g_assert_no_error(error);
	g_assert_nonnull(plan);
	entries = mh_plan_entries(plan);
	for (guint i = 0; i < entries->len; i++)
		g_ptr_array_add(rendered, render_entry(g_ptr_array_index(entries, i)));
	assert_strings(rendered, c->want, "entry");
	assert_strings(mh_plan_creates(plan), c->creates, "create");
	assert_strings(mh_plan_subscriptions(plan), c->subs, "subscribe");
	if (c->note != NULL)
		assert_text(plan, c->note, false);
	if (c->reason != NULL)
		assert_text(plan, c->reason, true);
}

/* Field by field on one plan: what the engine reads besides the names. */
static void
test_entry_fields(void)
{
	g_autoptr(GPtrArray) lsub = g_ptr_array_new_with_free_func(g_free);
	const char *src_specs[N] = {"INBOX", "Sent\t\\Sent lsub", "Box\t\\Noselect", "Box/a",
	                            "Gesendet"};
	const char *dst_specs[N] = {"INBOX", "Sent Items\t\\Sent", "Box"};
	g_autoptr(GPtrArray) src = folders_new(src_specs, '/', lsub);
	g_autoptr(GPtrArray) dst = folders_new(dst_specs, '/', lsub);
	g_autoptr(mh_plan) plan = NULL;
	const struct mh_plan_entry *e;
	struct mh_plan_options opts;

	mh_plan_options_init(&opts);
	g_assert_true(opts.automap);
	plan = mh_plan_new(src, lsub, dst, &opts, NULL);
	g_assert_nonnull(plan);

	e = find_entry(plan, "Sent");
	g_assert_cmpuint(e->src_attrs, ==, MH_IMAP_ATTR_SENT);
	g_assert_cmpuint(e->special_use, ==, MH_IMAP_ATTR_SENT);
	g_assert_true(e->selected && e->dst_exists && e->subscribe && !e->container_only);
	g_assert_null(e->skip_reason);

	/* The source claims \Sent by attribute, so a folder named "Gesendet" is no role. */
	e = find_entry(plan, "Gesendet");
	g_assert_cmpuint(e->special_use, ==, 0);
	g_assert_cmpstr(e->dst_name, ==, "Gesendet");
	g_assert_false(e->dst_exists);
	g_assert_false(e->subscribe);

	e = find_entry(plan, "Box");
	g_assert_true(e->selected && e->container_only && e->dst_exists);
	g_assert_cmpuint(e->src_attrs, ==, MH_IMAP_ATTR_NOSELECT);
	g_assert_cmpstr(e->dst_name, ==, "Box");

	e = find_entry(plan, "INBOX");
	g_assert_true(e->dst_exists);
	g_assert_cmpuint(e->special_use, ==, 0);
	assert_strings(mh_plan_creates(plan), (const char *[N]){"Box/a", "Gesendet"}, "create");
}

/* Separators from the options win over the lists'; a flat list has none. */
static void
test_explicit_and_flat_separators(void)
{
	const char *src_specs[N] = {"INBOX", "a.b", "c/d"};
	const char *dst_specs[N] = {"INBOX"};
	g_autoptr(GPtrArray) src = folders_new(src_specs, '\0', NULL);
	g_autoptr(GPtrArray) dst = folders_new(dst_specs, '/', NULL);
	g_autoptr(GPtrArray) rendered = g_ptr_array_new_with_free_func(g_free);
	struct mh_plan_options opts;
	struct mh_plan *plan;
	const GPtrArray *entries;

	/* Flat source: "c/d" is one name, and its '/' must not become a level. */
	mh_plan_options_init(&opts);
	plan = mh_plan_new(src, NULL, dst, &opts, NULL);
	entries = mh_plan_entries(plan);
	for (guint i = 0; i < entries->len; i++)
		g_ptr_array_add(rendered, render_entry(g_ptr_array_index(entries, i)));
	assert_strings(rendered, (const char *[N]){"INBOX -> INBOX", "a.b -> a.b", "c/d -> c_d"},
	               "entry");
	g_clear_pointer(&plan, mh_plan_free);

	/* The same source declared '.'-separated, to a destination declared '.'. */
	opts.src_sep = '.';
	opts.dst_sep = '.';
	opts.dst_prefix = "INBOX.";
	plan = mh_plan_new(src, NULL, dst, &opts, NULL);
	assert_strings(mh_plan_creates(plan),
	               (const char *[N]){"INBOX.a", "INBOX.a.b", "INBOX.c/d"}, "create");
	g_clear_pointer(&plan, mh_plan_free);
}

static void
test_bad_options(void)
{
	static const struct {
		const char *include, *exclude, *regextrans, *message;
	} bad[] = {
		{"a(", NULL, NULL, "bad --include 'a(': "},
		{NULL, "[z-a]", NULL, "bad --exclude '[z-a]': "},
		{NULL, NULL, "s/(/x/", "bad --regextrans2 's/(/x/': "},
	};

	const char *specs[N] = {"INBOX"};
	g_autoptr(GPtrArray) src = folders_new(specs, '/', NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GPtrArray) inc = strings_new((const char *[]){bad[i].include, NULL}, 1);
		g_autoptr(GPtrArray) exc = strings_new((const char *[]){bad[i].exclude, NULL}, 1);
		g_autoptr(GPtrArray) rt = strings_new((const char *[]){bad[i].regextrans, NULL}, 1);
		g_autoptr(GError) error = NULL;
		struct mh_plan_options opts;

		mh_plan_options_init(&opts);
		opts.include = inc;
		opts.exclude = exc;
		opts.regextrans = rt;
		g_assert_null(mh_plan_new(src, NULL, src, &opts, &error));
		g_assert_error(error, MH_SYNC_ERROR, MH_SYNC_ERROR_USAGE);
		g_assert_true(g_str_has_prefix(error->message, bad[i].message));
	}
}

static void
test_free_null(void)
{
	mh_plan_free(NULL);
	mh_plan_regextrans_free(NULL);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(plan_cases); i++)
		g_test_add_data_func(plan_cases[i].path, &plan_cases[i], test_plan_case);
	g_test_add_func("/sync/plan/entry-fields", test_entry_fields);
	g_test_add_func("/sync/plan/separator/explicit-and-flat",
	                test_explicit_and_flat_separators);
	g_test_add_func("/sync/plan/bad-options", test_bad_options);
	g_test_add_func("/sync/plan/free-null", test_free_null);
	return g_test_run();
}
