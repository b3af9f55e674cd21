/* SPDX-License-Identifier: MIT */
/* Provider profiles: the data of generic, gmail and m365 (docs/providers.md),
 * detection, and the folder rules (skipped source folders, source and destination names). */
#include <glib.h>

#include "provider.h"

static void
test_profiles_data(void)
{
	const struct mh_provider *g = mh_provider_find("GMAIL");
	const struct mh_provider *m = mh_provider_find("m365");
	const struct mh_provider *x = mh_provider_generic();

	g_assert_nonnull(g);
	g_assert_nonnull(m);
	g_assert_true(mh_provider_find("nosuch") == NULL);
	g_assert_true(g->labels && g->dst_labels && g->dst_dedups);
	g_assert_false(g->dst_case_insensitive || g->dst_rerenders || g->flagged_after_append);
	g_assert_cmpuint(g->max_connections, ==, 4);
	g_assert_cmpuint(g->max_connections_hard, ==, 15);
	g_assert_cmpuint(g->max_message_size, ==, 35651584);
	g_assert_cmpuint(g->upload_per_day, ==, 500000000);
	g_assert_cmpuint(g->download_per_day, ==, 2500000000u);
	g_assert_cmpfloat(g->pace, ==, 0);
	g_assert_cmpuint(g->fixups, ==, 0);

	g_assert_false(m->labels || m->dst_labels || m->dst_dedups);
	g_assert_true(m->dst_case_insensitive && m->dst_rerenders && m->flagged_after_append);
	g_assert_cmpuint(m->max_connections, ==, 4);
	g_assert_cmpuint(m->max_connections_hard, ==, 20);
	g_assert_cmpuint(m->max_message_size, ==, 35 * 1024 * 1024);
	g_assert_cmpstr(m->drop_keywords, ==, "$MDNSent");
	g_assert_cmpuint(m->fixups, ==,
	                 MH_PROVIDER_FIXUP_RECEIPTS | MH_PROVIDER_FIXUP_WRAP |
	                         MH_PROVIDER_FIXUP_MDNSENT | MH_PROVIDER_FIXUP_FLAGGED);
	g_assert_cmpuint(m->max_line, ==, 10000);
	g_assert_cmpfloat(m->pace, ==, 4.0);
	g_assert_cmpuint(m->errors_per_session, ==, 10);
	g_assert_cmpuint(m->upload_per_day, ==, 0);

	g_assert_cmpstr(x->name, ==, "generic");
	g_assert_false(x->labels || x->dst_labels || x->dst_dedups || x->dst_case_insensitive ||
	               x->dst_rerenders || x->flagged_after_append);
	g_assert_true(x->drop_keywords == NULL);
	g_assert_cmpuint(x->fixups | x->max_connections | x->max_connections_hard |
	                         x->errors_per_session,
	                 ==, 0);
	g_assert_cmpuint(x->max_message_size | x->upload_per_day | x->download_per_day, ==, 0);
	g_assert_cmpfloat(x->pace, ==, 0);
}

static void
test_detect(void)
{
	const char *gcaps[] = {"IMAP4rev1", "UNSELECT", "x-gm-ext-1", NULL};
	const char *ocaps[] = {"IMAP4", "IMAP4rev1", "AUTH=XOAUTH2", NULL};
	const char *why = "unset";
	const struct mh_provider *p;

	p = mh_provider_detect("mail.example.org", "Dovecot ready.", gcaps, &why);
	g_assert_cmpstr(p->name, ==, "gmail");
	g_assert_cmpstr(why, ==, "X-GM-EXT-1 capability");
	p = mh_provider_detect("mx.example.org",
	                       "The Microsoft Exchange IMAP4 service is ready. [TQBXADIAUABS]",
	                       ocaps, &why);
	g_assert_cmpstr(p->name, ==, "m365");
	g_assert_cmpstr(why, ==, "Exchange greeting");
	p = mh_provider_detect("Imap.GoogleMail.com", NULL, NULL, &why);
	g_assert_cmpstr(p->name, ==, "gmail");
	g_assert_cmpstr(why, ==, "host name");
	g_assert_cmpstr(mh_provider_detect("imap.gmail.com.", NULL, NULL, NULL)->name, ==, "gmail");
	for (size_t i = 0; i < 4; i++) {
		const char *hosts[] = {"outlook.office365.com", "OUTLOOK.OFFICE.COM",
		                       "imap-mail.outlook.com", "imap.outlook.com"};

		g_assert_cmpstr(mh_provider_detect(hosts[i], "IMAP ready", ocaps, NULL)->name, ==,
		                "m365");
	}
	/* capabilities beat the host name: a Gmail-like server behind an Outlook host */
	p = mh_provider_detect("outlook.office365.com", NULL, gcaps, NULL);
	g_assert_cmpstr(p->name, ==, "gmail");
	g_assert_null(
		mh_provider_detect("imap.gmail.com.example.org", "Dovecot ready.", ocaps, &why));
	g_assert_null(why);
	g_assert_null(mh_provider_detect(NULL, NULL, NULL, NULL));
}

static void
test_skip_gmail(void)
{
	const struct mh_provider *g = mh_provider_find("gmail");
	struct mh_provider_source_opts none = {0}, both = {.spam = true, .trash = true};
	const char *why;

	why = mh_provider_source_skip(g, "[Gmail]", '/', MH_PROVIDER_ROLE_NOSELECT, &none);
	g_assert_nonnull(why);
	g_assert_nonnull(
		mh_provider_source_skip(g, "[Google Mail]", '/', MH_PROVIDER_ROLE_NOSELECT, NULL));
	/* a user's folder that happens to be \Noselect stays, so does a selectable [Gmail] */
	g_assert_null(mh_provider_source_skip(g, "Projects", '/', MH_PROVIDER_ROLE_NOSELECT, NULL));
	g_assert_null(mh_provider_source_skip(g, "[Gmail]", '/', 0, NULL));
	why = mh_provider_source_skip(g, "[Gmail]/Starred", '/', MH_PROVIDER_ROLE_FLAGGED, NULL);
	g_assert_cmpstr(why, ==, "Gmail's Starred view (the star travels as \\Flagged)");
	/* by role, never by name: localized names are skipped, a user "Starred" is not */
	g_assert_nonnull(mh_provider_source_skip(g, "[Gmail]/Markiert", '/',
	                                         MH_PROVIDER_ROLE_FLAGGED, NULL));
	g_assert_null(mh_provider_source_skip(g, "Starred", '/', 0, NULL));
	g_assert_nonnull(mh_provider_source_skip(g, "[Gmail]/Important", '/',
	                                         MH_PROVIDER_ROLE_IMPORTANT, &both));
	g_assert_nonnull(
		mh_provider_source_skip(g, "[Gmail]/Spam", '/', MH_PROVIDER_ROLE_JUNK, &none));
	g_assert_null(
		mh_provider_source_skip(g, "[Gmail]/Spam", '/', MH_PROVIDER_ROLE_JUNK, &both));
	g_assert_nonnull(
		mh_provider_source_skip(g, "[Gmail]/Bin", '/', MH_PROVIDER_ROLE_TRASH, NULL));
	g_assert_null(
		mh_provider_source_skip(g, "[Gmail]/Bin", '/', MH_PROVIDER_ROLE_TRASH, &both));
	g_assert_null(
		mh_provider_source_skip(g, "[Gmail]/All Mail", '/', MH_PROVIDER_ROLE_ALL, &none));
	g_assert_null(
		mh_provider_source_skip(g, "[Gmail]/Sent Mail", '/', MH_PROVIDER_ROLE_SENT, &none));
	g_assert_null(mh_provider_source_skip(g, "INBOX", '/', 0, &none));
	/* generic skips nothing, whatever the roles */
	g_assert_null(mh_provider_source_skip(mh_provider_generic(), "Junk", '/',
	                                      MH_PROVIDER_ROLE_JUNK | MH_PROVIDER_ROLE_FLAGGED,
	                                      NULL));
}

static void
test_skip_m365(void)
{
	const struct mh_provider *m = mh_provider_find("m365");
	const char *const skipped[] = {
		"Calendar", "Calendar/Birthdays", "Calendar/United States holidays", "Contacts",
		"Tasks", "Notes", "Journal", "Conversation History", "Sync Issues",
		"Sync Issues/Conflicts", "Sync Issues/Local Failures",
		"Sync Issues/Server Failures", "RSS Feeds", "Outbox", "Files", "files", "CALENDAR",
		/* de */
		"Kalender", "Kontakte", "Aufgaben", "Notizen", "Postausgang",
		"Synchronisierungsprobleme", "Synchronisierungsprobleme/Konflikte",
		"Unterhaltungsverlauf", "RSS-Feeds",
		/* fr */
		"Calendrier", "Tâches", "TÂCHES", "Boîte d'envoi", "Problèmes de synchronisation",
		"Historique des conversations",
		/* es */
		"Calendario", "Contactos", "Tareas", "Notas", "Bandeja de salida",
		/* it */
		"Contatti", "Attività", "Note", "Posta in uscita",
		/* nl */
		"Agenda", "Contactpersonen", "Taken", "Notities", "Postvak UIT", "postvak uit",
		/* pt */
		"Calendário", "Contatos", "Tarefas", "Anotações", "Caixa de Saída", "A Enviar",
		/* decomposed: "Ta" U+0302 "ches" */
		"Ta\xcc\x82"
		"ches"};
	const char *const kept[] = {"INBOX",      "Inbox/Calendar", "Projects/Tasks",
	                            "Sent Items", "Deleted Items",  "Junk Email",
	                            "Archive",    "Drafts",         "Calendars",
	                            "Files old",  "Notes2",         "Filesystem"};

	for (size_t i = 0; i < G_N_ELEMENTS(skipped); i++) {
		const char *why = mh_provider_source_skip(m, skipped[i], '/', 0, NULL);

		if (why == NULL)
			g_error("m365 source folder \"%s\" is not skipped", skipped[i]);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(kept); i++) {
		const char *why = mh_provider_source_skip(m, kept[i], '/', 0, NULL);

		if (why != NULL)
			g_error("m365 source folder \"%s\" skipped: %s", kept[i], why);
	}
	g_assert_cmpstr(mh_provider_source_skip(m, "Calendar", '/', 0, NULL), ==,
	                "a Microsoft 365 calendar folder, not mail");
	/* another separator: "Calendar.Birthdays" is under Calendar, "Calendar/x" is not */
	g_assert_nonnull(mh_provider_source_skip(m, "Calendar.Birthdays", '.', 0, NULL));
	g_assert_null(mh_provider_source_skip(m, "Calendar/Birthdays", '.', 0, NULL));
	/* a name that is not UTF-8 still compares, ASCII case ignored */
	g_assert_null(mh_provider_source_skip(m,
	                                      "T\xe2"
	                                      "ches",
	                                      '/', 0, NULL));
	g_assert_nonnull(mh_provider_source_skip(m, "NOTES", '\0', 0, NULL));
	g_assert_null(mh_provider_source_skip_summary(mh_provider_generic()));
	g_assert_nonnull(g_strstr_len(mh_provider_source_skip_summary(m), -1, "Calendar"));
	g_assert_nonnull(g_strstr_len(mh_provider_source_skip_summary(mh_provider_find("gmail")),
	                              -1, "Starred"));
}

static void
test_source_name(void)
{
	const struct mh_provider *g = mh_provider_find("gmail");

	const struct {
		const char *in, *out;
	} cases[] = {
		{"[Gmail]/Sent Mail", "Sent Mail"},
		{"[Google Mail]/Bin", "Bin"},
		{"[Gmail]/All Mail/x", "All Mail/x"},
		{"[Gmail]", "[Gmail]"},
		{"[Gmail]/", "[Gmail]/"},
		{"[Gmail]x/y", "[Gmail]x/y"},
		{"INBOX", "INBOX"},
		{"Work/[Gmail]/a", "Work/[Gmail]/a"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *s = mh_provider_source_name(g, cases[i].in, '/');

		g_assert_cmpstr(s, ==, cases[i].out);
	}
	{
		g_autofree char *s = mh_provider_source_name(g, "[Gmail].Spam", '.');
		g_autofree char *t =
			mh_provider_source_name(mh_provider_find("m365"), "[Gmail]/Spam", '/');

		g_assert_cmpstr(s, ==, "Spam");
		g_assert_cmpstr(t, ==, "[Gmail]/Spam");
	}
}

struct dest_case {
	const char *provider, *in, *out;
	char sep;
	bool changed;
};

static void
test_dest_name(void)
{
	const struct dest_case cases[] = {
		{"gmail", "  Projects  ", "Projects", '/', true},
		{"gmail", "a  b\t c", "a b c", '/', true},
		{"gmail", " Work / 2024  Q1 /x", "Work/2024 Q1/x", '/', true},
		{"gmail", "a^b", "a_b", '/', true},
		{"gmail", "it's \"quoted\" \\ back", "it_s _quoted_ _ back", '/', true},
		{"gmail", "[Gmail]/Sent Mail", "[Gmail]/Sent Mail", '/', false},
		{"gmail", "[Google Mail]/Drafts", "[Google Mail]/Drafts", '/', false},
		{"gmail", "Ünïcødé Folder", "Ünïcødé Folder", '/', false},
		{"gmail", "a/   /b", "a/_/b", '/', true},
		{"gmail", "a.b . c", "a.b . c", '/', false},
		{"gmail", "x . y ", "x.y", '.', true},
		{"m365", "Notes. ", "Notes", '/', true},
		{"m365", "a.../b ./c", "a/b/c", '/', true},
		{"m365", "  lead", "  lead", '/', false},
		{"m365", "Files", "Files_renamed", '/', true},
		{"m365", "files", "files_renamed", '/', true},
		{"m365", "Files/sub", "Files_renamed/sub", '/', true},
		{"m365", "Archive/Files", "Archive/Files", '/', false},
		{"m365", "Files.", "Files_renamed", '/', true},
		{"m365", "Filesystem", "Filesystem", '/', false},
		{"m365", "...", "_", '/', true},
		{"generic", "  odd^name. ", "  odd^name. ", '/', false},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const struct dest_case *c = &cases[i];
		const char *why = "unset";
		g_autofree char *s =
			mh_provider_dest_name(mh_provider_find(c->provider), c->in, c->sep, &why);

		if (g_strcmp0(s, c->out) != 0 || (why != NULL) != c->changed)
			g_error("%s: \"%s\" -> \"%s\" (%s), want \"%s\"", c->provider, c->in, s,
			        why != NULL ? why : "unchanged", c->out);
	}
	{
		const char *why = NULL;
		g_autofree char *s =
			mh_provider_dest_name(mh_provider_find("m365"), "Files", '/', &why);

		g_assert_cmpstr(why, ==, "\"Files\" is reserved on Microsoft 365");
		g_free(mh_provider_dest_name(mh_provider_find("gmail"), "a^", '/', NULL));
	}
}

static void
test_fixups_words(void)
{
	unsigned bits = 99;

	g_assert_true(mh_provider_fixups_parse("receipts,wrap", &bits));
	g_assert_cmpuint(bits, ==, MH_PROVIDER_FIXUP_RECEIPTS | MH_PROVIDER_FIXUP_WRAP);
	g_assert_true(mh_provider_fixups_parse(" MDNSent , flagged ", &bits));
	g_assert_cmpuint(bits, ==, MH_PROVIDER_FIXUP_MDNSENT | MH_PROVIDER_FIXUP_FLAGGED);
	g_assert_true(mh_provider_fixups_parse("all", &bits));
	g_assert_cmpuint(bits, ==, mh_provider_find("m365")->fixups);
	g_assert_true(mh_provider_fixups_parse("none", &bits));
	g_assert_cmpuint(bits, ==, 0);
	bits = 7;
	g_assert_false(mh_provider_fixups_parse("wrap,bogus", &bits));
	g_assert_cmpuint(bits, ==, 7);
	for (unsigned b = 0; b < 16; b++) {
		g_autofree char *s = mh_provider_fixups_str(b);

		g_assert_true(mh_provider_fixups_parse(s, &bits));
		g_assert_cmpuint(bits, ==, b);
	}
	{
		g_autofree char *all = mh_provider_fixups_str(15);
		g_autofree char *none = mh_provider_fixups_str(0);

		g_assert_cmpstr(all, ==, "receipts,wrap,mdnsent,flagged");
		g_assert_cmpstr(none, ==, "none");
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/provider/profiles/data", test_profiles_data);
	g_test_add_func("/provider/detect", test_detect);
	g_test_add_func("/provider/folders/skip-gmail", test_skip_gmail);
	g_test_add_func("/provider/folders/skip-m365", test_skip_m365);
	g_test_add_func("/provider/folders/source-name", test_source_name);
	g_test_add_func("/provider/folders/dest-name", test_dest_name);
	g_test_add_func("/provider/fixups/words", test_fixups_words);
	return g_test_run();
}
