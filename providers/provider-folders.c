/* SPDX-License-Identifier: MIT */
/* Folder rules of the profiles (docs/providers.md, "Folders are labels" and "Folders"): which
 * source folders are not mail or not worth copying (Gmail's views, Microsoft 365's calendar,
 * contacts and other non-mail folders, English and localized names), and how a folder name
 * is rewritten for a destination that refuses some names (Gmail's blanks and '^', Microsoft
 * 365's trailing dots and reserved "Files"). */
#include <string.h>

#include "provider.h"

/* Microsoft 365 non-mail folders, by top-level name: English, then de fr es it nl pt
 * (pt-BR and pt-PT). Outlook's /resetfoldernames localizes them in the mailbox. */
struct folders_nonmail {
	const char *reason;
	const char *const names[16];
};

static const struct folders_nonmail folders_m365_nonmail[] = {
	{"a Microsoft 365 calendar folder, not mail",
         {"Calendar", "Kalender", "Calendrier", "Calendario", "Agenda", "Calendário", NULL}},
	{"a Microsoft 365 contacts folder, not mail",
         {"Contacts", "Kontakte", "Contactos", "Contatti", "Contactpersonen", "Contatos", NULL}},
	{"a Microsoft 365 tasks folder, not mail",
         {"Tasks", "Aufgaben", "Tâches", "Tareas", "Attività", "Taken", "Tarefas", NULL}},
	{"a Microsoft 365 notes folder, not mail",
         {"Notes", "Notizen", "Notas", "Note", "Notities", "Anotações", NULL}},
	{"a Microsoft 365 journal folder, not mail",
         {"Journal", "Diario", "Logboek", "Diário", NULL}},
	{"Microsoft 365's conversation history (chats), not mail",
         {"Conversation History", "Unterhaltungsverlauf", "Historique des conversations",
          "Historial de conversaciones", "Cronologia conversazioni", "Gespreksgeschiedenis",
          "Histórico de Conversas", "Histórico de conversações", NULL}},
	{"Outlook's synchronisation logs, not mail",
         {"Sync Issues", "Synchronisierungsprobleme", "Problèmes de synchronisation",
          "Problemas de sincronización", "Problemi di sincronizzazione", "Synchronisatieproblemen",
          "Problemas de Sincronização", NULL}},
	{"Outlook's RSS feeds, not mail",
         {"RSS Feeds", "RSS-Feeds", "Flux RSS", "Fuentes RSS", "Feed RSS", "Feeds RSS", NULL}},
	{"the Microsoft 365 Outbox (unsent mail)",
         {"Outbox", "Postausgang", "Boîte d'envoi", "Boîte d’envoi", "Bandeja de salida",
          "Posta in uscita", "Postvak UIT", "Caixa de Saída", "A Enviar", NULL}},
	{"Microsoft 365's Files (attachments without a message)", {"Files", NULL}},
};

/* @s[0..len) case-folded and composed, so "TÂCHES" and a decomposed "Tâches" match. */
static char *
folders_fold(const char *s, gssize len)
{
	g_autofree char *nfc = g_utf8_normalize(s, len, G_NORMALIZE_DEFAULT_COMPOSE);

	if (nfc == NULL) /* not UTF-8: compare bytes ignoring ASCII case */
		return g_ascii_strdown(s, len);
	return g_utf8_casefold(nfc, -1);
}

static const char *
folders_m365_skip(const char *name, char sep)
{
	const char *end = sep != '\0' ? strchr(name, sep) : NULL;
	g_autofree char *top = folders_fold(name, end != NULL ? end - name : -1);

	for (size_t i = 0; i < G_N_ELEMENTS(folders_m365_nonmail); i++) {
		const struct folders_nonmail *n = &folders_m365_nonmail[i];

		for (size_t j = 0; n->names[j] != NULL; j++) {
			g_autofree char *folded = folders_fold(n->names[j], -1);

			if (strcmp(top, folded) == 0)
				return n->reason;
		}
	}
	return NULL;
}

static const char *
folders_gmail_skip(const char *name, unsigned roles, const struct mh_provider_source_opts *o)
{
	if ((roles & MH_PROVIDER_ROLE_NOSELECT) != 0 &&
	    (strcmp(name, "[Gmail]") == 0 || strcmp(name, "[Google Mail]") == 0))
		return "Gmail's [Gmail] container, not a folder";
	if ((roles & MH_PROVIDER_ROLE_FLAGGED) != 0)
		return "Gmail's Starred view (the star travels as \\Flagged)";
	if ((roles & MH_PROVIDER_ROLE_IMPORTANT) != 0)
		return "Gmail's Important view (Gmail sets it itself)";
	if ((roles & MH_PROVIDER_ROLE_JUNK) != 0 && (o == NULL || !o->spam))
		return "Gmail's Spam (copied only when asked for)";
	if ((roles & MH_PROVIDER_ROLE_TRASH) != 0 && (o == NULL || !o->trash))
		return "Gmail's Trash (copied only when asked for)";
	return NULL;
}

const char *
mh_provider_source_skip(const struct mh_provider *p, const char *name, char sep, unsigned roles,
                        const struct mh_provider_source_opts *o)
{
	if (p == NULL || name == NULL)
		return NULL;
	if (strcmp(p->name, "gmail") == 0)
		return folders_gmail_skip(name, roles, o);
	if (strcmp(p->name, "m365") == 0)
		return folders_m365_skip(name, sep);
	return NULL;
}

const char *
mh_provider_source_skip_summary(const struct mh_provider *p)
{
	if (p != NULL && strcmp(p->name, "gmail") == 0)
		return "the [Gmail] container, Starred, Important, Spam and Trash (by role)";
	if (p != NULL && strcmp(p->name, "m365") == 0)
		return "Calendar, Contacts, Tasks, Notes, Journal, Conversation History, Sync "
		       "Issues, RSS Feeds, Outbox, Files and their subfolders (also by their de fr "
		       "es it nl pt names)";
	return NULL;
}

char *
mh_provider_source_name(const struct mh_provider *p, const char *name, char sep)
{
	static const char *const prefixes[] = {"[Gmail]", "[Google Mail]"};

	if (p == NULL || strcmp(p->name, "gmail") != 0 || sep == '\0')
		return g_strdup(name);
	for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++) {
		size_t n = strlen(prefixes[i]);

		if (strncmp(name, prefixes[i], n) == 0 && name[n] == sep && name[n + 1] != '\0')
			return g_strdup(name + n + 1);
	}
	return g_strdup(name);
}

static bool
folders_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Gmail: no leading, trailing or repeated blanks; '^' refused, and ' " \ mapped to '_' as
 * imapsync does (s/['\\^"]/_/g). */
static void
folders_gmail_component(GString *out, const char *s, size_t len)
{
	bool blank = false;
	size_t start = out->len;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (folders_blank(c)) {
			blank = out->len > start;
			continue;
		}
		if (blank)
			g_string_append_c(out, ' ');
		blank = false;
		g_string_append_c(out, strchr("^\"\\'", c) != NULL ? '_' : c);
	}
}

/* Microsoft 365: no trailing blanks or dots; "Files" at the top level is reserved. */
static void
folders_m365_component(GString *out, const char *s, size_t len, bool top, bool *files_r)
{
	while (len > 0 && (folders_blank(s[len - 1]) || s[len - 1] == '.'))
		len--;
	g_string_append_len(out, s, (gssize)len);
	if (top && len == 5 && g_ascii_strncasecmp(s, "Files", 5) == 0) {
		g_string_append(out, "_renamed");
		*files_r = true;
	}
}

char *
mh_provider_dest_name(const struct mh_provider *p, const char *name, char sep, const char **why_r)
{
	bool gmail = p != NULL && strcmp(p->name, "gmail") == 0;
	bool m365 = p != NULL && strcmp(p->name, "m365") == 0;
	bool files = false;
	GString *out = g_string_sized_new(strlen(name) + 16);
	const char *s = name;

	while (gmail || m365) {
		const char *end = sep != '\0' ? strchr(s, sep) : NULL;
		size_t len = end != NULL ? (size_t)(end - s) : strlen(s);
		size_t before = out->len;

		if (gmail)
			folders_gmail_component(out, s, len);
		else
			folders_m365_component(out, s, len, s == name, &files);
		if (out->len == before && len > 0) /* nothing left of the component */
			g_string_append_c(out, '_');
		if (end == NULL)
			break;
		g_string_append_c(out, sep);
		s = end + 1;
	}
	if (!gmail && !m365)
		g_string_append(out, name);
	if (why_r != NULL) {
		*why_r = NULL;
		if (strcmp(out->str, name) != 0)
			*why_r =
				files   ? "\"Files\" is reserved on Microsoft 365"
				: gmail ? "Gmail refuses extra blanks and ^ ' \" \\ in folder names"
					: "Microsoft 365 drops trailing blanks and dots of folder names";
	}
	return g_string_free(out, FALSE);
}
