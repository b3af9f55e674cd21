/* SPDX-License-Identifier: MIT */
/* Which built-in profile a server looks like, from what it says before and after login:
 * Gmail's X-GM-EXT-1 capability (Google "IMAP Extensions"), the Exchange greeting
 * ("* OK The Microsoft Exchange IMAP4 service is ready."), else the host name
 * (docs/providers.md, "Recognising a provider"). */
#include <string.h>

#include "provider.h"

static const char *const detect_gmail_hosts[] = {"imap.gmail.com", "imap.googlemail.com", NULL};

static const char *const detect_m365_hosts[] = {"outlook.office365.com", "outlook.office.com",
                                                "imap-mail.outlook.com", "imap.outlook.com", NULL};

/* Whether @host (maybe with a trailing dot) is one of @names, ignoring case. */
static bool
detect_host_in(const char *host, const char *const *names)
{
	size_t len = strlen(host);

	if (len > 0 && host[len - 1] == '.')
		len--;
	for (size_t i = 0; names[i] != NULL; i++) {
		if (strlen(names[i]) == len && g_ascii_strncasecmp(host, names[i], len) == 0)
			return true;
	}
	return false;
}

/* Whether @hay holds @needle, ASCII letters compared ignoring case. */
static bool
detect_contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (const char *p = hay; *p != '\0'; p++) {
		if (g_ascii_strncasecmp(p, needle, n) == 0)
			return true;
	}
	return false;
}

const struct mh_provider *
mh_provider_detect(const char *host, const char *greeting, const char *const *caps,
                   const char **why_r)
{
	const char *why = NULL;
	const struct mh_provider *p = NULL;

	for (size_t i = 0; caps != NULL && caps[i] != NULL && p == NULL; i++) {
		if (g_ascii_strcasecmp(caps[i], "X-GM-EXT-1") == 0) {
			p = mh_provider_find("gmail");
			why = "X-GM-EXT-1 capability";
		}
	}
	if (p == NULL && greeting != NULL && detect_contains(greeting, "Microsoft Exchange")) {
		p = mh_provider_find("m365");
		why = "Exchange greeting";
	}
	if (p == NULL && host != NULL) {
		if (detect_host_in(host, detect_gmail_hosts))
			p = mh_provider_find("gmail");
		else if (detect_host_in(host, detect_m365_hosts))
			p = mh_provider_find("m365");
		if (p != NULL)
			why = "host name";
	}
	if (why_r != NULL)
		*why_r = why;
	return p;
}
