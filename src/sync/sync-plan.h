/* SPDX-License-Identifier: MIT */
/* The folder plan: from both sides' folder lists (LIST, RFC 3501 section 6.3.8, with the
 * special-use attributes of RFC 6154) and the user's options, decide for every source
 * folder its destination name, what must be created (parents first), what is skipped and
 * why, and what to subscribe. Pure code, no I/O. Option meanings follow imapsync
 * (--folder, --include, --exclude, --regextrans2, --automap, --subscribe_all). */
#ifndef MH_SYNC_PLAN_H
#define MH_SYNC_PLAN_H

#include <glib.h>
#include <stdbool.h>

#include "imap.h"

/* Folder naming rules of the providers (each may be NULL). */
struct mh_sync_folder_rules {
	/* Why source folder @name (attributes: enum mh_imap_mbox_attr) is left out, or NULL. */
	const char *(*src_skip)(void *ctx, const char *name, char sep, unsigned attrs);
	/* The source name as other servers should see it (a new string). */
	char *(*src_name)(void *ctx, const char *name, char sep);
	/* A destination name the destination accepts (a new string); *why_r when changed. */
	char *(*dst_name)(void *ctx, const char *name, char sep, const char **why_r);
	void *ctx;
};

/* All pointers are borrowed for the duration of mh_plan_new(). */
struct mh_plan_options {
	const GPtrArray *folders;    /* char *: --folder, exact UTF-8 source names (INBOX in any
	                                case); NULL or empty = every source folder */
	const GPtrArray *include;    /* char *: --include regexes on the source name */
	const GPtrArray *exclude;    /* char *: --exclude regexes on the source name */
	const GPtrArray *regextrans; /* char *: --regextrans2 "s/OLD/NEW/gi", in order */
	bool automap;                /* map special folders (default on) */
	bool subscribe_all;          /* subscribe every copied folder (--subscribe_all) */
	const char *src_prefix;      /* source personal namespace prefix ("INBOX."); NULL = "" */
	char src_sep;                /* source separator; '\0' = taken from the source list */
	const char *dst_prefix;      /* destination personal namespace prefix; NULL = "" */
	char dst_sep;                /* destination separator; '\0' = from the destination list */
	const struct mh_sync_folder_rules *rules; /* the providers' rules, or NULL */
	bool dst_nocase;      /* destination names ignore case: names differing only in case merge,
	                         spelt as the destination (or the first source folder) spells them */
	bool only_subscribed; /* select only folders subscribed on the source (--subscribed) */
	const char *subfolder1; /* UTF-8 source folder whose subtree alone is copied, named as
	                           below it (the folder itself as INBOX); NULL: none */
	const char *subfolder2; /* UTF-8 destination folder every name is put under (with the
	                           destination separator), INBOX included; NULL: none */
};

/* One source folder. */
struct mh_plan_entry {
	char *src_name;       /* owned; UTF-8 source name as listed */
	char *dst_name;       /* owned; UTF-8 destination name; NULL when !selected */
	unsigned src_attrs;   /* enum mh_imap_mbox_attr of the source folder */
	unsigned special_use; /* the MH_IMAP_ATTR_* role found by --automap (attribute or
	                         well-known name), 0 for none or without automap */
	bool selected;        /* copied (or, when container_only, only created) */
	char *skip_reason;    /* owned; why it is not selected, NULL when selected */
	bool container_only;  /* \Noselect or \NonExistent on the source: create, copy nothing */
	bool dst_exists;      /* dst_name is already on the destination */
	bool subscribe;       /* subscribe dst_name: subscribed on the source, or any copied
	                         folder with subscribe_all */
	char *note;           /* owned; remarks for the log ("; "-separated), or NULL */
	bool case_merged;     /* dst_name respelt to match a folder differing only in case */
};

struct mh_plan;

/* Sets the defaults: every field zero/NULL except automap = true. */
void mh_plan_options_init(struct mh_plan_options *opts);

/* Builds the plan. @src and @dst are GPtrArrays of struct mh_imap_folder * (borrowed, as
 * mh_imap_list() returns them); @src_subscribed holds the source's subscribed names
 * (char *, as mh_imap_lsub() returns them) or is NULL; a folder whose attributes carry
 * MH_IMAP_ATTR_SUBSCRIBED counts as subscribed too. A separator given as '\0' is taken
 * from the first folder of its list that has one (none at all: a flat list; an empty
 * list: '/').
 * A destination name is the source name translated (prefix and separator; a component
 * holding the destination separator gets '_' for it), then automapped, then passed
 * through every --regextrans2 in order. Automap finds a role by attribute, or by
 * well-known name for roles that no folder of that side carries as an attribute.
 * Returns a new plan (free with mh_plan_free()), or NULL with MH_SYNC_ERROR_USAGE on a bad
 * --include, --exclude or --regextrans2, on a --folder that names no source folder
 * exactly (INBOX in any case; "Work/projects" for "Work/Projects" is refused), and on an
 * --include / --exclude set that selects no source folder; the message is one line that
 * names the option and the closest source names (mh_plan_closest_names()). */
struct mh_plan *mh_plan_new(const GPtrArray *src, const GPtrArray *src_subscribed,
                            const GPtrArray *dst, const struct mh_plan_options *opts,
                            GError **error);

/* NULL is allowed. */
void mh_plan_free(struct mh_plan *plan);

/* g_autoptr() needs a plain type name; code still writes struct mh_plan. */
typedef struct mh_plan mh_plan;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(mh_plan, mh_plan_free)

/* struct mh_plan_entry *, one per source folder, sorted like the source tree: INBOX first, then by
 * name component by component, a parent before its children. Borrowed: valid until mh_plan_free().
 */
const GPtrArray *mh_plan_entries(const struct mh_plan *plan);

/* char *: destination names to CREATE, in order (every parent before its children), no
 * duplicates, none that exists on the destination, never INBOX. Borrowed, as above. */
const GPtrArray *mh_plan_creates(const struct mh_plan *plan);

/* char *: destination names to SUBSCRIBE (the entries with subscribe set), without
 * duplicates, in entry order. Borrowed, as above. */
const GPtrArray *mh_plan_subscriptions(const struct mh_plan *plan);

/* --- special folders (sync-plan-names.c) --- */

/* The special-use role (MH_IMAP_ATTR_SENT, _DRAFTS, _TRASH, _JUNK or _ARCHIVE) of a
 * well-known or localized folder name ("Sent Items", "Gesendet", "Corbeille"), matched
 * ignoring case at the top level or directly under INBOX (separator @sep); 0 if none. */
unsigned mh_plan_special_use_by_name(const char *name, char sep);

/* The same, and in *@rank_r (when not NULL and a role is found) how well-known the name
 * is: 0 for the most common spelling; lower ranks win when several folders look alike. */
unsigned mh_plan_special_use_by_name_ranked(const char *name, char sep, int *rank_r);

/* The special-use role automap maps for @attrs (the first of \Sent \Drafts \Trash \Junk
 * \Archive \All \Flagged \Important present), 0 if none. */
unsigned mh_plan_special_use_of_attrs(unsigned attrs);

/* "\Sent" for MH_IMAP_ATTR_SENT, and so on; "" for 0 or an unknown bit. Static string. */
const char *mh_plan_special_use_str(unsigned role);

/* --- --regextrans2 (sync-plan-names.c) --- */

struct mh_plan_regextrans;

/* Parses a Perl-style substitution "s/OLD/NEW/FLAGS": any non-alphanumeric delimiter
 * ("s#a#b#"; bracket pairs "s{a}{b}" too), a backslash before the delimiter removed, flags
 * g (every match) and i (ignore case); in NEW, $1 ${1} \1 $& are group references and \u
 * \l \U \L \E work as in Perl. Fails with MH_SYNC_ERROR_USAGE ("bad --regextrans2 's/(/x/':
 * ..."). Returns a new rule; free with mh_plan_regextrans_free(). */
struct mh_plan_regextrans *mh_plan_regextrans_parse(const char *spec, GError **error);

/* NULL is allowed. */
void mh_plan_regextrans_free(struct mh_plan_regextrans *rt);

/* For g_autoptr() only. */
typedef struct mh_plan_regextrans mh_plan_regextrans;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(mh_plan_regextrans, mh_plan_regextrans_free)

/* Applies @rt to @name. Returns a new string (caller frees), @name unchanged when the
 * pattern does not match, or NULL with MH_SYNC_ERROR_USAGE when matching fails (a
 * backtracking limit). */
char *mh_plan_regextrans_apply(const struct mh_plan_regextrans *rt, const char *name,
                               GError **error);

/* --- suggestions (sync-plan-suggest.c) --- */

/* The edit distance (Levenshtein) between @a and @b, counted in characters after case
 * folding, so "Work/projects" and "Work/Projects" are 0 apart; G_MAXUINT when either is
 * not UTF-8 or longer than 256 characters. */
unsigned mh_plan_name_distance(const char *a, const char *b);

/* The names of @names (char *) a user probably meant by @want, best first, at most @max:
 * the names equal to @want ignoring case when there are any; else those within an edit
 * distance of max(2, a third of @want's length), of the whole name or, when @want has no
 * @sep, of the name's last level (plus one). Returns a new array of borrowed strings
 * (valid as long as @names), empty when nothing is close. */
GPtrArray *mh_plan_closest_names(const char *want, const GPtrArray *names, char sep, guint max);

#endif
